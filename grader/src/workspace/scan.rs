//! What a sandbox cannot stop: student code shares its process with the
//! instructor's test and harness, so it could speak for them (write
//! libtest's lines to the real stdout and exit, read the measurements path).
//! This reads every source file of a submission's exercise as tokens (the
//! lexer `syn` parses with, so macro bodies are read too) and flags each use
//! of what such a forgery needs, with file and line. Grading decides what a
//! flag costs (`--strict`); the scan only finds.

use crate::model::SourceFlag;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use walkdir::WalkDir;

/// What an exercise's lesson allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// The lesson starts processes (`std::process::Command` is expected).
    pub starts_processes: bool,
    /// The file is a program of its own (`src/main.rs`, `src/bin/**`), such
    /// as ex03's worker: its stdout is its answer, not the test's.
    pub program: bool,
}

const EXIT: &str = "process exit or abort";
const EXEC: &str = "exec of another program";
const RAW_OUTPUT: &str = "direct use of stdout or stderr (print! and friends are fine)";
const ARGS: &str = "std::env::args (the command line is the grader's)";
const PROC_PATH: &str = "a /proc, /dev/fd or /dev/std* path";
const OUTSIDE_SRC: &str = "include!/include_str!/include_bytes!/#[path] reaching outside src/";
const COMPUTED_INCLUDE: &str = "include!/include_str!/include_bytes! of a computed path";
const LIBTEST_WORDS_FOUND: &str = "libtest's own report lines in a string";
const EXTERN: &str = "an extern block or function";
const LINKER: &str = "#[link_section], #[no_mangle] or #[export_name]";
const COMMAND: &str = "std::process::Command in an exercise whose lesson starts no processes";

/// Flag every `.rs` file under `src_dir`, except the `given` files (the
/// instructor's, absolute paths). Paths in flags are relative to `root`.
pub fn scan_src(root: &Path, src_dir: &Path, given: &[PathBuf], rules: Rules) -> Vec<SourceFlag> {
    let mut flags = Vec::new();
    for entry in WalkDir::new(src_dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let path = entry.path();
        let is_source = entry.file_type().is_file() && path.extension().is_some_and(|e| e == "rs");
        if !is_source || given.iter().any(|g| g == path) {
            continue;
        }
        let file = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let Ok(text) = std::fs::read_to_string(path) else {
            flags.push(SourceFlag {
                file,
                line: 1,
                what: "a source file that is not UTF-8 text".to_owned(),
            });
            continue;
        };
        let dir = path.parent().unwrap_or(src_dir);
        let program = path == src_dir.join("main.rs") || path.starts_with(src_dir.join("bin"));
        let rules = Rules { program, ..rules };
        for (line, what) in scan_source(&text, dir, src_dir, rules) {
            flags.push(SourceFlag {
                file: file.clone(),
                line,
                what: what.to_owned(),
            });
        }
    }
    flags
}

/// One token of a flattened stream: groups become open and close marks.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Punct(char),
    Literal(String),
    Open(Delimiter),
    Close,
}

fn flatten(stream: TokenStream, into: &mut Vec<(Token, usize)>) {
    for tree in stream {
        let line = tree.span().start().line;
        match tree {
            TokenTree::Ident(ident) => into.push((Token::Ident(ident.to_string()), line)),
            TokenTree::Punct(punct) => into.push((Token::Punct(punct.as_char()), line)),
            TokenTree::Literal(literal) => into.push((Token::Literal(literal.to_string()), line)),
            TokenTree::Group(group) => {
                into.push((Token::Open(group.delimiter()), line));
                flatten(group.stream(), into);
                into.push((Token::Close, group.span_close().start().line));
            }
        }
    }
}

/// The flags of one file's text: (line, what). `dir` is the file's
/// directory, `src_dir` the exercise's `src`.
pub fn scan_source(
    text: &str,
    dir: &Path,
    src_dir: &Path,
    rules: Rules,
) -> Vec<(usize, &'static str)> {
    let Ok(stream) = TokenStream::from_str(text) else {
        // The compiler will reject it; nothing here can run.
        return Vec::new();
    };
    let mut tokens = Vec::new();
    flatten(stream, &mut tokens);
    let mut flags: Vec<(usize, &'static str)> = Vec::new();
    for index in 0..tokens.len() {
        let (token, line) = &tokens[index];
        let found = match token {
            Token::Ident(ident) => flag_ident(&tokens, index, ident, dir, src_dir, rules),
            Token::Literal(literal) => flag_literal(literal),
            _ => None,
        };
        if let Some(what) = found {
            if !flags.contains(&(*line, what)) {
                flags.push((*line, what));
            }
        }
    }
    flags
}

fn ident_at(tokens: &[(Token, usize)], index: Option<usize>) -> Option<&str> {
    match tokens.get(index?) {
        Some((Token::Ident(ident), _)) => Some(ident),
        _ => None,
    }
}

fn punct_at(tokens: &[(Token, usize)], index: Option<usize>, c: char) -> bool {
    index.and_then(|i| tokens.get(i)).map(|(t, _)| t) == Some(&Token::Punct(c))
}

fn flag_ident(
    tokens: &[(Token, usize)],
    index: usize,
    ident: &str,
    dir: &Path,
    src_dir: &Path,
    rules: Rules,
) -> Option<&'static str> {
    let before = |n: usize| index.checked_sub(n);
    let after = |n: usize| Some(index + n);
    let path_segment_after_env =
        punct_at(tokens, before(1), ':') && ident_at(tokens, before(3)) == Some("env");
    match ident {
        "exit" | "abort" | "_exit" => Some(EXIT),
        "exec" | "execv" | "execve" | "execvp" | "execvpe" | "fexecve" => Some(EXEC),
        // `.stdout(...)` configures a child process; `io::stdout()` is the
        // process's own stream.
        "stdout" | "stderr" | "Stdout" | "Stderr" | "StdoutLock" | "StderrLock"
            if !punct_at(tokens, before(1), '.') && !rules.program =>
        {
            Some(RAW_OUTPUT)
        }
        "args" | "args_os" if path_segment_after_env => Some(ARGS),
        "include" | "include_str" | "include_bytes" if punct_at(tokens, after(1), '!') => {
            match tokens.get(index + 3) {
                Some((Token::Literal(literal), _)) => {
                    leaves_src(literal, dir, src_dir).then_some(OUTSIDE_SRC)
                }
                _ => Some(COMPUTED_INCLUDE),
            }
        }
        "path" if punct_at(tokens, after(1), '=') => match tokens.get(index + 2) {
            Some((Token::Literal(literal), _))
                if !matches!(ident_at(tokens, before(1)), Some("let" | "mut")) =>
            {
                leaves_src(literal, dir, src_dir).then_some(OUTSIDE_SRC)
            }
            _ => None,
        },
        "extern" => match tokens.get(index + 1) {
            Some((Token::Literal(_), _)) | Some((Token::Open(Delimiter::Brace), _)) => Some(EXTERN),
            _ => None,
        },
        "link_section" | "no_mangle" | "export_name" => Some(LINKER),
        "Command" | "CommandExt" if !rules.starts_processes => Some(COMMAND),
        _ => None,
    }
}

fn flag_literal(literal: &str) -> Option<&'static str> {
    const PATHS: &[&str] = &["/proc", "/dev/fd", "/dev/std", "/dev/tty", "/dev/pts"];
    const LIBTEST_WORDS: &[&str] = &["test result", "... ok", "running 1 test"];
    if PATHS.iter().any(|p| literal.contains(p)) {
        Some(PROC_PATH)
    } else if LIBTEST_WORDS.iter().any(|w| literal.contains(w)) {
        Some(LIBTEST_WORDS_FOUND)
    } else {
        None
    }
}

/// Whether the string literal (as written, quotes included) names a file
/// outside `src_dir`, from a file in `dir`.
fn leaves_src(literal: &str, dir: &Path, src_dir: &Path) -> bool {
    let Some(path) = string_value(literal) else {
        return true;
    };
    let path = Path::new(&path);
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

/// The value of a plain string literal; None for raw, byte or escaped ones
/// (the caller treats those as leaving src).
fn string_value(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(source: &str, rules: Rules) -> Vec<&'static str> {
        let src = Path::new("/course/exercises/ex01/src");
        scan_source(source, src, src, rules)
            .into_iter()
            .map(|(_, what)| what)
            .collect()
    }

    fn plain(source: &str) -> Vec<&'static str> {
        flags(source, Rules::default())
    }

    #[test]
    fn honest_code_is_not_flagged() {
        let source = r#"
            use std::io::Write;
            pub fn f(items: &[u32]) -> Vec<u32> {
                println!("working");
                eprintln!("still working");
                let path = "data.txt";
                items.iter().map(|x| x * x).collect()
            }
            mod helpers;
            #[path = "other/name.rs"]
            mod renamed;
            const TEXT: &str = include_str!("words.txt");
        "#;
        assert_eq!(plain(source), Vec::<&str>::new());
    }

    #[test]
    fn forgery_tools_are_flagged_with_their_line() {
        let source = "fn f() {\n    std::io::stdout().write_all(b\"test x ... ok\").unwrap();\n    std::process::exit(0);\n}\n";
        let src = Path::new("/c/src");
        assert_eq!(
            scan_source(source, src, src, Rules::default()),
            vec![(2, RAW_OUTPUT), (2, LIBTEST_WORDS_FOUND), (3, EXIT)]
        );
        assert_eq!(plain("use std::io::{stderr as e};"), [RAW_OUTPUT]);
        assert_eq!(plain("fn f() { std::process::abort() }"), [EXIT]);
        assert_eq!(plain("use std::os::unix::process::CommandExt;"), [COMMAND]);
        assert_eq!(
            plain("fn f() { let a: Vec<_> = std::env::args().collect(); }"),
            [ARGS]
        );
        assert_eq!(
            plain(r#"fn f() { std::fs::read("/proc/self/fd/1"); }"#),
            [PROC_PATH]
        );
        assert_eq!(
            plain(r#"fn f() { std::fs::File::create("/dev/stdout"); }"#),
            [PROC_PATH]
        );
        assert_eq!(plain(r#"extern "C" { fn write(); }"#), [EXTERN]);
        assert_eq!(plain("#[no_mangle] pub fn main() {}"), [LINKER]);
        assert_eq!(
            plain("#[link_section = \".init_array\"] static X: u8 = 0;"),
            [LINKER]
        );
    }

    #[test]
    fn macros_are_read_too() {
        assert_eq!(
            plain("macro_rules! quit { () => { ::std::process::exit(0) } }"),
            [EXIT]
        );
        assert_eq!(plain("fn f() { vec![std::io::stdout()]; }"), [RAW_OUTPUT]);
        assert_eq!(
            plain(r#"fn f() { println!("test result: ok. 1 passed"); }"#),
            [LIBTEST_WORDS_FOUND]
        );
    }

    #[test]
    fn reaching_outside_src_is_flagged() {
        assert_eq!(
            plain("#[path = \"/course/solutions/ex01/src/lib.rs\"] mod reference;"),
            [OUTSIDE_SRC]
        );
        assert_eq!(plain("#[path = \"../../x.rs\"] mod up;"), [OUTSIDE_SRC]);
        assert_eq!(
            plain("const T: &str = include_str!(\"../Cargo.toml\");"),
            [OUTSIDE_SRC]
        );
        assert_eq!(
            plain("const T: &[u8] = include_bytes!(concat!(\"/\", \"etc\"));"),
            [COMPUTED_INCLUDE]
        );
        assert_eq!(plain("include!(\"sub/../part.rs\");"), Vec::<&str>::new());
    }

    /// The course's stubs and reference solutions, scanned as a student's
    /// submission would be: honest code earns no flag.
    #[test]
    fn the_stubs_and_the_solutions_are_not_flagged() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = crate::course::Course::load(&root.join("course.yaml")).unwrap();
        for ex in &course.exercises {
            let rules = Rules {
                starts_processes: ex.starts_processes,
                program: false,
            };
            let given: Vec<PathBuf> = ex.given_files().iter().map(|f| root.join(f)).collect();
            let stubs = scan_src(&root, &root.join(&ex.dir).join("src"), &given, rules);
            assert_eq!(stubs, [], "{}", ex.id);
            let dir = ex.dir.file_name().unwrap();
            let solution = root.join("solutions").join(dir).join("src");
            // The solutions reach the given files by #[path]; a student's
            // copy has them beside its own.
            let given: Vec<PathBuf> = ex
                .given
                .iter()
                .map(|f| root.join("solutions").join(dir).join(f))
                .collect();
            let flags: Vec<SourceFlag> = scan_src(&root, &solution, &given, rules)
                .into_iter()
                .filter(|f| f.what != OUTSIDE_SRC)
                .collect();
            assert_eq!(flags, [], "{}", ex.id);
        }
    }

    #[test]
    fn a_program_of_its_own_may_write_to_its_stdout() {
        let source = "fn main() { let out = std::io::stdout().lock(); }";
        let program = Rules {
            program: true,
            ..Rules::default()
        };
        assert_eq!(flags(source, program), Vec::<&str>::new());
        assert_eq!(plain(source), [RAW_OUTPUT]);
    }

    #[test]
    fn child_processes_are_allowed_where_the_lesson_starts_them() {
        let source = "fn f() { let c = std::process::Command::new(\"w\").stdout(std::process::Stdio::piped()).spawn(); let o = c.unwrap().stdout.take(); }";
        assert_eq!(plain(source), [COMMAND]);
        let allowed = flags(
            source,
            Rules {
                starts_processes: true,
                program: false,
            },
        );
        assert_eq!(allowed, Vec::<&str>::new());
    }
}
