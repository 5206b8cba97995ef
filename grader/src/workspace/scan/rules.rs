//! What the scan flags: the forbidden items by the path they resolve to,
//! the strings that name the process's own files, and for each rule why it
//! matters and how honest code avoids it.

use std::path::{Component, Path};

/// One kind of flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Exit,
    Exec,
    RawOutput,
    Args,
    ProcPath,
    LibtestWords,
    OutsideSrc,
    ComputedInclude,
    Extern,
    Linker,
    Command,
    Unparsable,
    TooDeep,
    NotUtf8,
}

impl Rule {
    /// What was found, in a few words.
    pub fn what(self) -> &'static str {
        match self {
            Rule::Exit => "process exit or abort",
            Rule::Exec => "exec of another program",
            Rule::RawOutput => "direct use of stdout or stderr (print! and friends are fine)",
            Rule::Args => "std::env::args (the command line is the grader's)",
            Rule::ProcPath => "a /proc, /dev/fd or /dev/std* path in a string",
            Rule::LibtestWords => "libtest's own report lines in a string",
            Rule::OutsideSrc => {
                "include!/include_str!/include_bytes!/#[path] reaching outside src/"
            }
            Rule::ComputedInclude => "include!/include_str!/include_bytes! of a computed path",
            Rule::Extern => "an extern block",
            Rule::Linker => "#[link_section], #[no_mangle] or #[export_name]",
            Rule::Command => {
                "std::process::Command in an exercise whose lesson starts no processes"
            }
            Rule::Unparsable => "a source file that does not parse as Rust",
            Rule::TooDeep => "a source file nested too deeply for the scan to read",
            Rule::NotUtf8 => "a source file that is not UTF-8 text",
        }
    }

    /// How honest code avoids the flag.
    pub fn advice(self) -> &'static str {
        match self {
            Rule::Exit => "return from the function, or panic! with a message: the test process is the test runner's to end (a function, variable or method of your own named exit is fine)",
            Rule::Exec => "start the program with Command::spawn and wait for it; `.exec()` is flagged wherever std::os::unix::process::CommandExt is imported, since the scan cannot see what it is called on: drop that import",
            Rule::RawOutput => "call print!/println! (eprint!/eprintln! for errors), which the test captures; a variable, field or method of your own named stdout is fine, such as `let stdout = child.stdout.take()`",
            Rule::Args => "take what the function needs as parameters: the command line belongs to the test runner (a variable named args is fine)",
            Rule::ProcPath => "remove the path from the string: the process's own files belong to the test (comments may name them)",
            Rule::LibtestWords => "reword the string: lines such as `test result: ok` or `... ok` are what the grader reads from the test runner",
            Rule::OutsideSrc => "keep every file you include, or name with #[path], inside src/: only src/ is your submission",
            Rule::ComputedInclude => "include a file inside src/ by a plain string literal",
            Rule::Extern => "call Rust's standard library instead of declaring foreign functions",
            Rule::Linker => "remove the attribute: it places code where it runs outside your functions",
            Rule::Command => "compute the answer in this process: this exercise's lesson starts no programs",
            Rule::Unparsable => "fix the syntax error `cargo build` shows: the compiler rejects this file too",
            Rule::TooDeep => "split the deeply nested expression into named steps (nothing in this course needs hundreds of levels)",
            Rule::NotUtf8 => "save the file as UTF-8 text: the compiler reads only that",
        }
    }
}

/// What a flagged file may do: a program of its own (`src/main.rs`,
/// `src/bin/**`, such as ex03's worker) runs in a process of its own, so its
/// stdout, exit and command line are its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    pub starts_processes: bool,
    pub program: bool,
}

/// The forbidden items, by the path they resolve to; the more specific
/// first, since a path names every item it starts with.
const ITEMS: &[(&str, Rule)] = &[
    ("std::os::unix::process::CommandExt::exec", Rule::Exec),
    ("std::os::unix::prelude::CommandExt::exec", Rule::Exec),
    ("std::process::Command::exec", Rule::Exec),
    ("std::process::exit", Rule::Exit),
    ("std::process::abort", Rule::Exit),
    ("libc::exit", Rule::Exit),
    ("libc::_exit", Rule::Exit),
    ("libc::_Exit", Rule::Exit),
    ("libc::abort", Rule::Exit),
    ("libc::quick_exit", Rule::Exit),
    ("nix::unistd::_exit", Rule::Exit),
    ("libc::execv", Rule::Exec),
    ("libc::execve", Rule::Exec),
    ("libc::execvp", Rule::Exec),
    ("libc::execvpe", Rule::Exec),
    ("libc::execl", Rule::Exec),
    ("libc::execle", Rule::Exec),
    ("libc::execlp", Rule::Exec),
    ("libc::fexecve", Rule::Exec),
    ("nix::unistd::execv", Rule::Exec),
    ("nix::unistd::execve", Rule::Exec),
    ("nix::unistd::execvp", Rule::Exec),
    ("nix::unistd::execvpe", Rule::Exec),
    ("nix::unistd::fexecve", Rule::Exec),
    ("nix::unistd::execveat", Rule::Exec),
    ("std::io::stdout", Rule::RawOutput),
    ("std::io::stderr", Rule::RawOutput),
    ("std::io::Stdout", Rule::RawOutput),
    ("std::io::Stderr", Rule::RawOutput),
    ("std::io::StdoutLock", Rule::RawOutput),
    ("std::io::StderrLock", Rule::RawOutput),
    ("std::env::args", Rule::Args),
    ("std::env::args_os", Rule::Args),
    ("std::process::Command", Rule::Command),
    ("std::os::unix::process::CommandExt", Rule::Command),
    ("std::os::unix::prelude::CommandExt", Rule::Command),
];

/// The trait whose `exec` method replaces the process, as a path.
pub const COMMAND_EXT: [&str; 5] = ["std", "os", "unix", "process", "CommandExt"];

/// Modules a glob import brings `CommandExt` in from.
pub const COMMAND_EXT_MODULES: [&[&str]; 2] = [
    &["std", "os", "unix", "process"],
    &["std", "os", "unix", "prelude"],
];

/// The rule a resolved path breaks, if any, for code allowed `allowed`.
pub fn forbidden(path: &[String], allowed: Allowed) -> Option<Rule> {
    let (_, rule) = ITEMS.iter().find(|(item, _)| {
        let item: Vec<&str> = item.split("::").collect();
        path.len() >= item.len() && path.iter().zip(&item).all(|(a, b)| a == b)
    })?;
    let permitted = match rule {
        Rule::Command => allowed.starts_processes,
        Rule::RawOutput | Rule::Exit | Rule::Args => allowed.program,
        _ => false,
    };
    (!permitted).then_some(*rule)
}

/// Whether `path` is the `CommandExt` trait, under either of its names.
pub fn is_command_ext(path: &[String]) -> bool {
    let prelude = ["std", "os", "unix", "prelude", "CommandExt"];
    path == COMMAND_EXT || path == prelude
}

/// The rule a string's value breaks, if any: a path to the process's own
/// files, or libtest's report lines.
pub fn literal(value: &str) -> Option<Rule> {
    const PATHS: &[&str] = &["/proc", "/dev/fd", "/dev/std", "/dev/tty", "/dev/pts"];
    const LIBTEST_WORDS: &[&str] = &["test result", "... ok", "running 1 test"];
    if PATHS.iter().any(|p| names_path(value, p)) {
        Some(Rule::ProcPath)
    } else if LIBTEST_WORDS.iter().any(|w| value.contains(w)) {
        Some(Rule::LibtestWords)
    } else {
        None
    }
}

/// Whether `value` names `prefix` as a path: `/proc` or `/proc/...`, not
/// `/processes`; `/dev/std` is itself a prefix (`/dev/stdout`).
fn names_path(value: &str, prefix: &str) -> bool {
    value.match_indices(prefix).any(|(at, _)| {
        let rest = &value[at + prefix.len()..];
        prefix == "/dev/std"
            || rest.is_empty()
            || !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

/// Whether `path` (as written in a file in `dir`) names a file outside
/// `src_dir`. Lexical: `..` pops a component.
pub fn leaves_src(path: &str, dir: &Path, src_dir: &Path) -> bool {
    let path = Path::new(path);
    if path.is_absolute() {
        return true;
    }
    let mut resolved = dir.to_path_buf();
    for component in path.components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !resolved.pop() {
                    return true;
                }
            }
            _ => return true,
        }
    }
    !resolved.starts_with(src_dir)
}

/// The file `path` (as written in a file in `dir`) names, lexically.
pub fn joined(dir: &Path, path: &str) -> std::path::PathBuf {
    let mut resolved = dir.to_path_buf();
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved
}

/// How deep brackets may nest in a file the scan reads, and how many
/// tokens may follow one another without a bracket, literal, `,` or `;`
/// (prefix operators and closures nest without brackets). The parser
/// recurses once per level; far past what honest code writes, and well
/// within the scan's stack.
const MAX_NESTING: usize = 256;
const MAX_RUN: usize = 1024;

/// The line where `text` nests deeper than the scan reads, if it does.
pub fn too_deep(text: &str) -> Option<usize> {
    use proc_macro2::{TokenStream, TokenTree};
    let stream: TokenStream = text.parse().ok()?;
    // Iterative: the check must not itself recurse once per level.
    let mut stack = vec![(stream.into_iter(), 0usize)];
    while let Some((trees, run)) = stack.last_mut() {
        let Some(tree) = trees.next() else {
            stack.pop();
            continue;
        };
        let line = tree.span().start().line;
        match tree {
            TokenTree::Group(group) => {
                *run = 0;
                if stack.len() >= MAX_NESTING {
                    return Some(line);
                }
                stack.push((group.stream().into_iter(), 0));
            }
            TokenTree::Literal(_) => *run = 0,
            TokenTree::Punct(p) if matches!(p.as_char(), ',' | ';') => *run = 0,
            _ => {
                *run += 1;
                if *run > MAX_RUN {
                    return Some(line);
                }
            }
        }
    }
    None
}
