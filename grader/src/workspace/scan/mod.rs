//! What a sandbox cannot stop: student code shares its process with the
//! instructor's test and harness, so it could speak for them (write
//! libtest's lines to the real stdout and exit, read the command line or
//! the process's own files). This reads a submission's exercise as rustc
//! does, with `syn`: each crate (the library, each program) from its root
//! down its modules, macro bodies included, and flags each use of what
//! such a forgery needs by what the path resolves to, through the file's
//! `use` items, with file and line and how honest code avoids it. A local
//! variable, field, parameter, method or comment that merely shares a name
//! is never flagged. Grading decides what a flag costs (`--strict`); the
//! scan only finds.
//!
//! What it cannot see: paths and strings built at run time (`"/pro"` +
//! `"c"`), and names inside a macro body that does not parse as Rust, which
//! are resolved without the body's own local variables.

mod macros;
mod names;
mod package;
mod rules;
mod walk;

#[cfg(test)]
mod tests;

use crate::model::SourceFlag;
use package::{Found, Package};
use std::path::{Path, PathBuf};

pub use rules::Rule;

/// What an exercise's lesson allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// The lesson starts processes (`std::process::Command` is expected).
    pub starts_processes: bool,
}

/// Flag every crate under `src_dir` (`lib.rs`, `main.rs`, `bin/**`), with
/// their modules and included files, except the `given` files (the
/// instructor's, absolute paths: read for their names, never flagged).
/// Paths in flags are relative to `root`.
pub fn scan_src(root: &Path, src_dir: &Path, given: &[PathBuf], rules: Rules) -> Vec<SourceFlag> {
    let found = scan_on_its_own_stack(src_dir, given, rules);
    found
        .into_iter()
        .map(|f| {
            let file = f
                .file
                .strip_prefix(root)
                .unwrap_or(&f.file)
                .display()
                .to_string();
            let what = if f.detail.is_empty() {
                f.rule.what().to_owned()
            } else {
                format!("{}: {}", f.rule.what(), f.detail)
            };
            SourceFlag {
                file,
                line: f.line,
                what,
                advice: f.rule.advice().to_owned(),
            }
        })
        .collect()
}

/// The parser recurses once per level of nesting: the scan gets a stack
/// of its own, large enough for the deepest file it reads (`rules::too_deep`),
/// whatever thread grades (the watch grades on a thread of 2 MiB).
const SCAN_STACK_BYTES: usize = 512 << 20;

/// [`scan_package`] on a thread with [`SCAN_STACK_BYTES`] of stack. Should
/// the scan itself fail, the exercise is flagged rather than passed.
fn scan_on_its_own_stack(src_dir: &Path, given: &[PathBuf], rules: Rules) -> Vec<Found> {
    let (src, owned_given) = (src_dir.to_path_buf(), given.to_vec());
    let scanned = std::thread::Builder::new()
        .name("source scan".to_owned())
        .stack_size(SCAN_STACK_BYTES)
        .spawn(move || scan_package(&src, &owned_given, rules))
        .map(|thread| thread.join());
    match scanned {
        Ok(Ok(found)) => found,
        // No thread could be made: the grading thread's stack, then.
        Err(_) => scan_package(src_dir, given, rules),
        Ok(Err(_)) => vec![Found {
            file: src_dir.to_path_buf(),
            line: 0,
            rule: Rule::Unparsable,
            detail: "the scan could not read this exercise".to_owned(),
        }],
    }
}

/// What the scan finds in `src_dir`, one flag per file, line and rule, in order.
fn scan_package(src_dir: &Path, given: &[PathBuf], rules: Rules) -> Vec<Found> {
    let allowed = rules::Allowed {
        starts_processes: rules.starts_processes,
        program: false,
    };
    let mut pkg = Package::new(src_dir, given, allowed);
    for (file, program) in crate_roots(src_dir) {
        if let Some(root) = pkg.add_crate(&file) {
            walk::Walk::crate_root(&mut pkg, root, program);
        }
    }
    // A file no crate compiles is read as a library of its own, if it
    // parses (if it does not, the compiler never reads it either).
    for file in pkg.source_files() {
        if pkg.reached.contains(&file) || pkg.is_given(&file) {
            continue;
        }
        if pkg.parses_alone(&file) {
            if let Some(root) = pkg.add_crate(&file) {
                walk::Walk::crate_root(&mut pkg, root, false);
            }
        }
    }
    if pkg.command_ext_imported {
        let calls = std::mem::take(&mut pkg.exec_calls);
        for (file, line) in calls {
            let detail =
                "`.exec()` where std::os::unix::process::CommandExt is imported".to_owned();
            pkg.flag(&file, line, Rule::Exec, detail);
        }
    }
    let mut found = pkg.found;
    found.sort();
    found.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.rule == b.rule);
    found
}

/// The crate roots cargo finds in `src`: the library, the main program,
/// and each program under `bin/` (`bin/x.rs`, `bin/x/main.rs`). True for a
/// program.
fn crate_roots(src_dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut roots = Vec::new();
    let lib = src_dir.join("lib.rs");
    if lib.is_file() {
        roots.push((lib, false));
    }
    let main = src_dir.join("main.rs");
    if main.is_file() {
        roots.push((main, true));
    }
    let mut bins: Vec<PathBuf> = std::fs::read_dir(src_dir.join("bin"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            if p.extension().is_some_and(|e| e == "rs") && p.is_file() {
                Some(p)
            } else {
                let main = p.join("main.rs");
                main.is_file().then_some(main)
            }
        })
        .collect();
    bins.sort();
    roots.extend(bins.into_iter().map(|b| (b, true)));
    roots
}
