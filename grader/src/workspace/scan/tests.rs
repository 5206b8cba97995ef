//! The scan's corpus: for each rule, honest code that shares a name with a
//! forbidden item (never flagged), and the forbidden item written directly,
//! fully qualified, through `use ... as ...`, through a glob and inside a
//! macro call (always flagged).

use super::*;
use Rule::*;

/// Scan `files` (paths relative to `src`) as an exercise's `src`: each
/// flag as (file, line, rule).
fn scan_files(files: &[(&str, &[u8])], rules: Rules) -> Vec<(String, usize, Rule)> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (name, text) in files {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    scan_package(&src, &[], rules)
        .into_iter()
        .map(|f| {
            let file = f.file.strip_prefix(&src).unwrap().display().to_string();
            (file, f.line, f.rule)
        })
        .collect()
}

/// The rules `source`, as `src/lib.rs`, breaks, in order.
fn flags_with(source: &str, rules: Rules) -> Vec<Rule> {
    scan_files(&[("lib.rs", source.as_bytes())], rules)
        .into_iter()
        .map(|(_, _, rule)| rule)
        .collect()
}

fn lib(source: &str) -> Vec<Rule> {
    flags_with(source, Rules::default())
}

/// With processes allowed, as in ex03 and ex04.
fn processes(source: &str) -> Vec<Rule> {
    flags_with(
        source,
        Rules {
            starts_processes: true,
        },
    )
}

/// `source` as `src/lib.rs`: (line, rule) for each flag.
fn lines(source: &str) -> Vec<(usize, Rule)> {
    scan_files(&[("lib.rs", source.as_bytes())], Rules::default())
        .into_iter()
        .map(|(_, line, rule)| (line, rule))
        .collect()
}

/// Each case must be flagged with `rule` exactly, in every line it is used.
fn assert_each(cases: &[&str], scan: fn(&str) -> Vec<Rule>, rule: Rule) {
    for case in cases {
        let found = scan(case);
        assert!(
            !found.is_empty() && found.iter().all(|r| *r == rule),
            "{rule:?} expected for:\n{case}\nfound {found:?}"
        );
    }
}

fn assert_honest(cases: &[&str], scan: fn(&str) -> Vec<Rule>) {
    for case in cases {
        assert_eq!(scan(case), [], "honest code flagged:\n{case}");
    }
}

#[test]
fn exit_shares_its_name_with_honest_code() {
    assert_honest(
        &[
            "/// Calls std::process::exit when done; a comment is never flagged.
            pub struct Pool { exit: bool, abort: u8 }
            impl Pool {
                pub fn exit(&mut self) -> bool { self.exit }
                pub fn abort(&self) -> u8 { self.abort }
            }
            pub fn run(pool: &mut Pool, abort: u8) -> u8 {
                let exit = pool.exit();
                if exit { pool.abort() } else { abort }
            }",
            // A function of the crate's own shadows the glob's.
            "use std::process::*;
            fn exit(code: i32) -> i32 { code }
            pub fn f() -> i32 { exit(1) }",
            "pub fn f(exit: fn(i32) -> i32) -> i32 { exit(0) }",
            "pub fn f() -> std::process::ExitCode { std::process::ExitCode::SUCCESS }",
        ],
        lib,
    );
}

#[test]
fn exit_is_flagged_however_it_is_named() {
    assert_each(
        &[
            "use std::process::exit;\npub fn f() { exit(1) }",
            "pub fn f() { std::process::exit(1) }",
            "pub fn f() -> ! { ::std::process::abort() }",
            "use std::process::exit as quit;\npub fn f() { quit(0) }",
            "use std::process as p;\npub fn f() { p::exit(0) }",
            "use std::{io, process::{self as p}};\npub fn f() { p::abort() }",
            "use std::process::*;\npub fn f() { exit(0) }",
            "extern crate std as s;\npub fn f() { s::process::exit(0) }",
            "pub fn f() { assert!(true, \"{:?}\", std::process::exit(0)) }",
            "pub fn f() { let _ = vec![std::process::abort()]; }",
            "macro_rules! quit { () => { ::std::process::exit(0) } }",
            "use std::process::*;\nmacro_rules! quit { ($code:expr) => { exit($code) } }",
            "pub fn f() { let leave: fn(i32) -> ! = std::process::exit; leave(0) }",
            // Through the crate's own modules.
            "mod inner { pub use std::process::*; }\npub fn f() { crate::inner::exit(0) }",
            "mod inner { pub fn f() { super::exit(0) } }\nuse std::process::*;",
            "mod inner { use super::*; pub fn f() { exit(0) } }\nuse std::process::*;",
            // A module of the same name does not hide the function.
            "use std::process::*;\nmod exit {}\npub fn f() { exit(0) }",
            // A local variable out of scope does not either.
            "use std::process::*;\npub fn f() { { let exit = 1; } exit(0) }",
        ],
        lib,
        Exit,
    );
}

#[test]
fn lines_and_import_sites_are_reported() {
    let source = "use std::process::exit as quit;\n\npub fn f() {\n    quit(0)\n}\n";
    assert_eq!(lines(source), [(1, Exit), (4, Exit)]);
    let source = "fn f() {\n    std::io::stdout().write_all(b\"test x ... ok\").unwrap();\n    std::process::exit(0);\n}\n";
    assert_eq!(
        lines(source),
        [(2, RawOutput), (2, LibtestWords), (3, Exit)]
    );
}

const HONEST_PIPES: &str = r#"
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Reads from the worker's stdout (a debugger shows it in /proc/<pid>/fd).
pub struct Pipes { stdout: BufReader<ChildStdout>, stderr: Option<u8> }

pub fn start(program: &str) -> io::Result<Child> {
    Command::new(program).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()
}

pub fn pipes(child: &mut Child) -> Pipes {
    let stdout = child.stdout.take().expect("piped");
    Pipes { stdout: BufReader::new(stdout), stderr: None }
}

pub fn answer(pipes: &mut Pipes) -> io::Result<String> {
    let mut line = String::new();
    pipes.stdout.read_line(&mut line)?;
    let Pipes { stdout, stderr } = pipes;
    let _ = (stdout, stderr);
    Ok(line)
}

pub fn report(stdout: &mut impl Write, stderr: &mut impl Write) -> io::Result<()> {
    writeln!(stdout, "done")?;
    writeln!(stderr, "{}", "also done")
}
"#;

#[test]
fn stdout_shares_its_name_with_honest_code() {
    assert_honest(
        &[
            HONEST_PIPES,
            "use std::io::*;
            pub fn f(child: &mut std::process::Child) -> Option<std::process::ChildStdout> {
                let stdout = child.stdout.take();
                stdout
            }",
            "use std::io::*;
            pub fn f(outputs: Vec<Option<u8>>) -> usize {
                let lengths = outputs.iter().map(|stdout| stdout.is_some()).count();
                for stderr in &outputs { let _ = stderr; }
                match outputs.first() { Some(Some(stdout)) => *stdout as usize, _ => lengths }
            }",
            "use std::io::*;
            pub fn f(o: Option<u8>) -> u8 { if let Some(stdout) = o { stdout } else { 0 } }",
            "use std::io::*;
            pub fn f<Stdout: Write>(out: Stdout) -> Stdout { out }",
            "pub fn f() { println!(\"to stdout\"); eprintln!(\"to stderr\"); }",
        ],
        processes,
    );
}

#[test]
fn stdout_is_flagged_however_it_is_named() {
    assert_each(
        &[
            "use std::io::stdout;\npub fn f() { let _ = stdout(); }",
            "pub fn f() { let _ = std::io::stdout().lock(); }",
            "pub fn f() { let _ = ::std::io::stderr(); }",
            "pub fn f(out: std::io::StdoutLock<'_>) { drop(out) }",
            "use std::io as out;\npub fn f() { let _ = out::stdout(); }",
            "use std::io::{stderr as e};",
            "use std::io::*;\npub fn f() { let _ = stdout(); }",
            "use std::io::*;\npub fn f() -> Stdout { todo!() }",
            "pub fn f() { let _ = vec![std::io::stdout()]; }",
            "use std::io::Write;\npub fn f() { let _ = write!(std::io::stdout(), \"x\"); }",
            "use std::io::*;\npub fn f() { { let stdout = 1; } let _ = stdout(); }",
            "pub fn f() { let _ = <std::io::Stdout>::lock; }",
        ],
        lib,
        RawOutput,
    );
}

#[test]
fn a_program_of_its_own_may_use_its_stdout_exit_and_arguments() {
    let program = b"fn main() {
        let _ = std::io::stdout().lock();
        let _ = std::env::args().count();
        std::process::exit(2)
    }";
    let found = scan_files(
        &[("bin/worker.rs", program), ("main.rs", program)],
        Rules::default(),
    );
    assert_eq!(found, []);
    let found = scan_files(&[("lib.rs", program)], Rules::default());
    let rules: Vec<Rule> = found.into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(rules, [RawOutput, Args, Exit]);
}

#[test]
fn arguments_share_their_name_with_honest_code() {
    assert_honest(
        &[
            "/// Unlike std::env::args, takes its arguments as a parameter.
            pub fn f(args: &[String]) -> usize { args.len() }
            pub fn g(x: Vec<u8>) -> usize { let args = x; args.len() }",
            "use std::env;\npub fn h() -> Option<String> { env::var(\"HOME\").ok() }",
            "pub struct Call { args: Vec<u8> }\npub fn f(c: &Call) -> usize { c.args.len() }",
            "use std::env::*;\npub fn f(args: u8) -> u8 { args }",
        ],
        lib,
    );
}

#[test]
fn arguments_are_flagged_however_they_are_named() {
    assert_each(
        &[
            "use std::env::args;\npub fn f() -> usize { args().count() }",
            "pub fn f() -> usize { std::env::args().count() }",
            "pub fn f() -> usize { std::env::args_os().count() }",
            "use std::env as environment;\npub fn f() -> usize { environment::args().count() }",
            "use std::env::args_os as a;\npub fn f() -> usize { a().count() }",
            "use std::env::*;\npub fn f() -> usize { args().count() }",
            "pub fn f() { println!(\"{:?}\", std::env::args().collect::<Vec<_>>()); }",
        ],
        lib,
        Args,
    );
}

#[test]
fn exec_shares_its_name_with_honest_code() {
    assert_honest(
        &[
            "pub struct Db;
            impl Db { pub fn exec(&self, _query: &str) {} }
            pub fn exec(db: &Db) { db.exec(\"select 1\") }",
            // CommandExt without exec (its other methods are fine).
            "use std::os::unix::process::CommandExt;
            pub fn f(c: &mut std::process::Command) { c.process_group(0); }",
        ],
        processes,
    );
}

#[test]
fn exec_is_flagged_however_it_is_named() {
    assert_each(
        &[
            "use std::os::unix::process::CommandExt;\npub fn f(c: &mut std::process::Command) { c.exec(); }",
            "pub fn f(c: &mut std::process::Command) { std::os::unix::process::CommandExt::exec(c); }",
            "use std::os::unix::process::CommandExt as _;\npub fn f(c: &mut std::process::Command) { c.exec(); }",
            "use std::os::unix::process::CommandExt as Ext;\npub fn f(c: &mut std::process::Command) { Ext::exec(c); }",
            "use std::os::unix::process::*;\npub fn f(c: &mut std::process::Command) { c.exec(); }",
            "use std::os::unix::prelude::*;\npub fn f(c: &mut std::process::Command) { c.exec(); }",
            "use std::os::unix::process::CommandExt;\npub fn f(c: &mut std::process::Command) { let _ = vec![c.exec()]; }",
            "use std::process::Command;\nuse std::os::unix::process::CommandExt;\npub fn f(c: &mut Command) { <Command as CommandExt>::exec(c); }",
            "use std::process::Command;\nuse std::os::unix::process::CommandExt;\npub fn f(c: &mut Command) { Command::exec(c); }",
        ],
        processes,
        Exec,
    );
}

#[test]
fn command_shares_its_name_with_honest_code() {
    assert_honest(
        &["pub struct Command { name: String }
            pub enum Step { Command(Command), Stop }
            pub fn run(c: &Command) -> &str { &c.name }
            pub fn command(step: &Step) -> Option<&Command> {
                match step { Step::Command(command) => Some(command), Step::Stop => None }
            }"],
        lib,
    );
}

#[test]
fn command_is_flagged_where_the_lesson_starts_no_processes() {
    let cases = [
        "use std::process::Command;",
        "pub fn f() { let _ = std::process::Command::new(\"ls\"); }",
        "use std::process::Command as Cmd;\npub fn f() { let _ = Cmd::new(\"ls\"); }",
        "use std::process::*;\npub fn f() { let _ = Command::new(\"ls\"); }",
        "pub fn f() { let _ = vec![std::process::Command::new(\"ls\")]; }",
        "use std::os::unix::process::CommandExt;",
    ];
    assert_each(&cases, lib, Command);
    assert_honest(&cases, processes);
}

#[test]
fn strings_name_the_process_files_comments_do_not() {
    assert_honest(
        &["// Reads /proc/self/status, and /dev/fd/1 is stdout.
            /// See /proc/cpuinfo; write to /dev/stdout.
            #[doc = \"/dev/fd\"]
            pub fn f() -> &'static str { \"/processes/and/proc_macro\" }"],
        lib,
    );
    assert_each(
        &[
            "pub fn f() { let _ = std::fs::read(\"/proc/self/fd/1\"); }",
            "pub fn f() { let _ = std::fs::File::create(\"/dev/stdout\"); }",
            "pub fn f() -> &'static str { r\"/dev/fd/1\" }",
            "pub fn f() -> &'static str { \"\\x2fproc/self/mem\" }",
            "pub fn f() -> &'static [u8] { b\"/proc\" }",
            "pub fn f() { println!(\"{}\", \"/dev/fd/2\"); }",
            "pub fn f() -> &'static str { concat!(\"/pro\", \"c/self\") }",
            "#[derive(Debug)]\npub enum E { #[doc = \"x\"] A }\nconst P: &str = \"/proc\";",
        ],
        lib,
        ProcPath,
    );
}

#[test]
fn libtest_report_lines_in_strings_are_flagged() {
    assert_each(
        &[
            "pub fn f() { println!(\"test result: ok. 1 passed\"); }",
            "pub const LINE: &str = \"test it ... ok\";",
        ],
        lib,
        LibtestWords,
    );
}

#[test]
fn linker_attributes_and_extern_blocks_are_flagged() {
    assert_each(
        &[
            "#[no_mangle] pub fn main() {}",
            "#[unsafe(no_mangle)] pub fn main() {}",
            "#[cfg_attr(all(), export_name = \"main\")] pub fn f() {}",
            "#[link_section = \".init_array\"] static X: u8 = 0;",
            "macro_rules! m { () => { #[no_mangle] pub fn g() {} } }",
        ],
        lib,
        Linker,
    );
    assert_each(
        &[
            "extern \"C\" { fn write(fd: i32); }",
            "unsafe extern \"C\" { fn write(fd: i32); }",
            "pub fn f() { extern { fn exit(code: i32); } }",
        ],
        lib,
        Extern,
    );
    assert_honest(
        &[
            "pub fn no_mangle() -> u8 { let export_name = 1; export_name }",
            "extern crate std as standard;\npub extern \"C\" fn callback() {}",
            "#[allow(clippy::no_mangle_with_rust_abi)] pub fn f() {}",
        ],
        lib,
    );
}

#[test]
fn reaching_outside_src_is_flagged() {
    assert_eq!(
        lib("#[path = \"/course/solutions/ex01/src/lib.rs\"] mod reference;"),
        [OutsideSrc]
    );
    assert_eq!(lib("#[path = \"../../x.rs\"] mod up;"), [OutsideSrc]);
    assert_eq!(
        lib("#[cfg_attr(all(), path = \"../x.rs\")] mod up;"),
        [OutsideSrc]
    );
    assert_eq!(
        lib("const T: &str = include_str!(\"../Cargo.toml\");"),
        [OutsideSrc]
    );
    assert_eq!(
        lib("#![doc = include_str!(\"../README.md\")]"),
        [OutsideSrc]
    );
    assert_eq!(
        lib("use std::include_bytes as bytes;\nconst T: &[u8] = bytes!(\"../x\");"),
        [OutsideSrc]
    );
    assert_eq!(
        lib("const T: &[u8] = include_bytes!(concat!(\"/\", \"etc\"));"),
        [ComputedInclude]
    );
    let honest = "#[path = \"other/name.rs\"] mod renamed;
        const TEXT: &str = include_str!(\"words.txt\");
        include!(\"sub/../part.rs\");";
    assert_eq!(lib(honest), []);
}

#[test]
fn modules_and_included_files_are_read_in_their_crate() {
    let lib: &[u8] = b"mod helpers;\nmod nested;\npub use std::process::*;\ninclude!(\"part.rs\");";
    let helpers: &[u8] = b"pub fn f() {\n    crate::exit(0)\n}\n";
    let nested: &[u8] = b"mod deeper;";
    let deeper: &[u8] = b"use crate::*;\npub fn g() { abort() }";
    let part: &[u8] = b"pub fn h() { exit(1) }";
    let data: &[u8] = b"/proc/self/fd/1";
    let user: &[u8] = b"pub const D: &str = include_str!(\"../data.txt\");";
    let found = scan_files(
        &[
            ("lib.rs", lib),
            ("helpers.rs", helpers),
            ("nested/mod.rs", nested),
            ("nested/deeper.rs", deeper),
            ("part.rs", part),
            ("data.txt", data),
            ("bin/user.rs", user),
        ],
        Rules::default(),
    );
    let expected = [
        ("bin/user.rs", 1, ProcPath),
        ("helpers.rs", 2, Exit),
        ("nested/deeper.rs", 2, Exit),
        ("part.rs", 1, Exit),
    ];
    let expected: Vec<(String, usize, Rule)> = expected
        .iter()
        .map(|(f, l, r)| (f.to_string(), *l, *r))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn files_that_do_not_parse_are_flagged_where_they_are_compiled() {
    assert_eq!(lib("pub fn f( {"), [Unparsable]);
    let found = scan_files(
        &[("lib.rs", b"mod broken;"), ("broken.rs", b"fn (")],
        Rules::default(),
    );
    assert_eq!(found, [("broken.rs".to_owned(), 1, Unparsable)]);
    // A file no crate compiles is read alone if it parses, else left: the
    // compiler never reads it.
    let found = scan_files(
        &[
            ("lib.rs", b""),
            ("notes.rs", b"fn ("),
            ("scratch.rs", b"fn f() { std::process::exit(0) }"),
        ],
        Rules::default(),
    );
    assert_eq!(found, [("scratch.rs".to_owned(), 1, Exit)]);
    let found = scan_files(&[("lib.rs", b"pub fn f() {}\n\xff\xfe")], Rules::default());
    assert_eq!(found, [("lib.rs".to_owned(), 1, NotUtf8)]);
}

#[test]
fn unit_tests_are_not_what_grading_builds() {
    let source = "pub fn f() -> u8 { 1 }
        #[cfg(test)]
        mod tests {
            #[test]
            fn prints() { use std::io::Write; writeln!(std::io::stdout(), \"{}\", super::f()).unwrap(); }
        }
        #[cfg(not(test))]
        pub fn g() { std::process::exit(0) }";
    assert_eq!(lib(source), [Exit]);
}

#[test]
fn cycles_of_globs_end() {
    let source = "mod a { pub use super::b::*; pub use super::c::*; }
        mod b { pub use super::a::*; pub use super::c::*; }
        mod c { pub use super::a::*; pub use super::b::*; pub use std::process::*; }
        pub fn f() { a::exit(0); b::c::a::x(); }";
    assert_eq!(lib(source), [Exit]);
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
        };
        let given: Vec<PathBuf> = ex.given_files().iter().map(|f| root.join(f)).collect();
        let stubs = scan_src(&root, &root.join(&ex.dir).join("src"), &given, rules);
        assert_eq!(stubs, [], "{}", ex.id);
        let dir = ex.dir.file_name().unwrap();
        let solution = root.join("solutions").join(dir).join("src");
        // The solutions reach the given files by #[path]; a student's copy
        // has them beside its own.
        let given: Vec<PathBuf> = ex
            .given
            .iter()
            .map(|f| root.join("solutions").join(dir).join(f))
            .collect();
        let flags: Vec<SourceFlag> = scan_src(&root, &solution, &given, rules)
            .into_iter()
            .filter(|f| !f.what.starts_with(OutsideSrc.what()))
            .collect();
        assert_eq!(flags, [], "{}", ex.id);
    }
}

#[test]
fn each_flag_says_how_to_avoid_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "use std::io as out;\npub fn f() { let _ = out::stdout(); }",
    )
    .unwrap();
    let flags = scan_src(dir.path(), &src, &[], Rules::default());
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].file, "src/lib.rs");
    assert_eq!(flags[0].line, 2);
    assert!(
        flags[0].what.ends_with("`out::stdout` is std::io::stdout"),
        "{}",
        flags[0].what
    );
    assert!(flags[0].advice.contains("println!"), "{}", flags[0].advice);
}

#[test]
fn files_nested_too_deeply_are_flagged_not_a_crash() {
    // Each at the limit is read; far past it, flagged without parsing (a
    // parser recursing once per level would overflow any stack).
    let at_limit = [
        format!(
            "pub fn f() -> u8 {{ {}1{} }}",
            "(".repeat(250),
            ")".repeat(250)
        ),
        format!("pub fn f() -> bool {{ {}true }}", "!".repeat(1000)),
        format!("pub fn f() -> u8 {{ ({})() }}", "|| ".repeat(500) + "1"),
    ];
    for source in &at_limit {
        assert_eq!(scan_on_its_own_stack_of(source), [], "{}", &source[..40]);
    }
    for n in [300, 100_000] {
        let parens = format!("pub fn f() -> u8 {{ {}1{} }}", "(".repeat(n), ")".repeat(n));
        assert_eq!(scan_on_its_own_stack_of(&parens), [TooDeep]);
    }
    let nots = format!("pub fn f() -> bool {{ {}true }}", "!".repeat(100_000));
    assert_eq!(scan_on_its_own_stack_of(&nots), [TooDeep]);
}

/// `source` as `src/lib.rs`, scanned as grading scans: on its own stack.
fn scan_on_its_own_stack_of(source: &str) -> Vec<Rule> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("lib.rs"), source).unwrap();
    scan_on_its_own_stack(&src, &[], Rules::default())
        .into_iter()
        .map(|f| f.rule)
        .collect()
}
