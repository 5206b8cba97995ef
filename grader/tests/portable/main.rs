//! The grader and every exercise build on macOS and Windows: code that only
//! Unix-like systems have (`std::os::unix`, `nix`, `libc`, `landlock`,
//! process groups, `/proc`) sits under a `#[cfg]` that keeps it there, and
//! the crates that only build there are target-specific dependencies.
//!
//! No other target's standard library can be installed where the tests run,
//! so this reads the sources instead of building them: every `.rs` file of
//! the grader's `src/` and of the exercises' and solutions' `src/`,
//! `tests/` and `benches/`, parsed with `syn`, and every manifest.

mod cfg;
mod manifests;
mod uses;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The directories whose Rust files are read, under the course's root
/// (`*`: every directory there).
const SOURCE_DIRS: &[&str] = &[
    "grader/src",
    "exercises/*/src",
    "exercises/*/tests",
    "exercises/*/benches",
    "solutions/*/src",
    "solutions/*/tests",
];
/// The manifests whose dependencies are checked.
const MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "grader/Cargo.toml",
    "exercises/*/Cargo.toml",
    "solutions/Cargo.toml",
    "solutions/*/Cargo.toml",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `pattern` under `root`, its `*` standing for every directory there.
fn expand(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let Some((before, after)) = pattern.split_once("/*/") else {
        return vec![root.join(pattern)];
    };
    let Ok(entries) = fs::read_dir(root.join(before)) else {
        return Vec::new(); // a student's release has no solutions/
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.path().join(after))
        .collect();
    found.sort();
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name() != "target" {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Every Unix-only use outside a Unix `#[cfg]`, as `file:line: what`, in
/// `files` (paths shown relative to `root`).
pub fn ungated_uses(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let texts: BTreeMap<&PathBuf, String> = files
        .iter()
        .map(|f| (f, fs::read_to_string(f).unwrap()))
        .collect();
    let first = |f: &PathBuf, gated: &[String]| uses::read(f, &texts[f], gated).unwrap();
    let declarations: Vec<uses::Declared> =
        files.iter().flat_map(|f| first(f, &[]).modules).collect();
    let gated_names = gated_module_names(&declarations);
    let read: BTreeMap<&PathBuf, uses::FileUses> =
        files.iter().map(|f| (f, first(f, &gated_names))).collect();
    let tree = ModuleTree::new(&read);
    let relative = |f: &Path| f.strip_prefix(root).unwrap_or(f).display().to_string();
    let mut found = Vec::new();
    for (file, uses) in &read {
        if tree.any_ancestor(file, &|f| tree.gated_here(f, &read)) {
            continue;
        }
        for the_use in uses.uses.iter().filter(|u| !u.gated) {
            found.push(format!(
                "{}:{}: {}",
                relative(file),
                the_use.line,
                the_use.what
            ));
        }
    }
    found
}

/// Names of modules declared only under a Unix `#[cfg]` (`uid_box`): a
/// path through one is a Unix-only use too.
fn gated_module_names(declarations: &[uses::Declared]) -> Vec<String> {
    let names = |gated: bool| -> BTreeSet<String> {
        declarations
            .iter()
            .filter(|d| d.gated == gated)
            .map(|d| d.name.clone())
            .collect()
    };
    names(true).difference(&names(false)).cloned().collect()
}

/// Which file declares which as `mod x;`, and whether under a Unix gate.
struct ModuleTree {
    parent: BTreeMap<PathBuf, (PathBuf, bool)>,
}

impl ModuleTree {
    fn new(read: &BTreeMap<&PathBuf, uses::FileUses>) -> ModuleTree {
        let mut parent = BTreeMap::new();
        for (file, uses) in read {
            for declared in uses
                .modules
                .iter()
                .filter(|d| !d.file.as_os_str().is_empty())
            {
                parent.insert(declared.file.clone(), ((*file).clone(), declared.gated));
            }
        }
        ModuleTree { parent }
    }

    /// The file is gated by its own `#![cfg]` or by its `mod` declaration.
    fn gated_here(&self, file: &Path, read: &BTreeMap<&PathBuf, uses::FileUses>) -> bool {
        let inside = read
            .iter()
            .find(|(f, _)| f.as_path() == file)
            .is_some_and(|(_, uses)| uses.gated_inside);
        inside || self.parent.get(file).is_some_and(|(_, gated)| *gated)
    }

    /// Whether `test` holds for `file` or a file that declares it, up to
    /// the crate's root.
    fn any_ancestor(&self, file: &Path, test: &dyn Fn(&Path) -> bool) -> bool {
        let mut current = file.to_path_buf();
        for _ in 0..64 {
            if test(&current) {
                return true;
            }
            match self.parent.get(&current) {
                Some((parent, _)) => current = parent.clone(),
                None => return false,
            }
        }
        false
    }
}

#[test]
fn every_unix_only_use_is_gated() {
    let root = repo_root();
    let mut files = Vec::new();
    for pattern in SOURCE_DIRS {
        for dir in expand(&root, pattern) {
            rust_files(&dir, &mut files);
        }
    }
    files.sort();
    assert!(files.len() > 50, "read only {} files", files.len());
    let found = ungated_uses(&root, &files);
    assert!(
        found.is_empty(),
        "these build only on Unix-like systems; put them under #[cfg(unix)] or \
         #[cfg(target_os = \"linux\")] with a fallback for other systems:\n{}",
        found.join("\n")
    );
}

#[test]
fn unix_only_crates_are_target_dependencies() {
    let root = repo_root();
    let mut found = Vec::new();
    for pattern in MANIFESTS {
        for manifest in expand(&root, pattern).into_iter().filter(|m| m.is_file()) {
            let text = fs::read_to_string(&manifest).unwrap();
            let shown = manifest.strip_prefix(&root).unwrap().display().to_string();
            found.extend(
                manifests::ungated(&text)
                    .into_iter()
                    .map(|f| format!("{shown}:{f}")),
            );
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

// ------------------------------------------------------ the checks themselves

/// The ungated uses `source` has, as `line: what`, read as the file `lib.rs`.
fn check(source: &str) -> Vec<String> {
    check_files(&[("lib.rs", source)])
}

/// The ungated uses of these files (the first is the crate's root).
fn check_files(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        paths.push(path);
    }
    ungated_uses(dir.path(), &paths)
}

#[test]
fn gated_items_statements_and_blocks_pass() {
    let gated = [
        "#[cfg(unix)] use std::os::unix::fs::PermissionsExt;",
        "#[cfg(target_os = \"linux\")] fn f() { nix::unistd::geteuid(); }",
        "#[cfg(all(test, target_os = \"linux\"))] mod tests { use nix::unistd::Pid; }",
        "#[cfg(any(target_os = \"linux\", target_os = \"macos\"))] fn f() { libc::getpid(); }",
        "#[cfg(target_family = \"unix\")] fn f() { landlock::ABI::V1; }",
        "fn f() { #[cfg(unix)] let m = std::os::unix::process::parent_id(); }",
        "fn f() { #[cfg(unix)] { std::os::unix::fs::symlink(\"a\", \"b\").unwrap(); } }",
        "fn f(c: &mut Command) { #[cfg(unix)] std::os::unix::process::CommandExt::process_group(c, 0); }",
        "fn f() -> u32 { match 1 { #[cfg(unix)] 1 => std::os::unix::process::parent_id(), _ => 0 } }",
        "struct S { #[cfg(unix)] lock: nix::fcntl::Flock<File> }",
        "impl S { #[cfg(unix)] fn mode(&self) { use std::os::unix::fs::MetadataExt; } }",
        "#![cfg(unix)]\nfn f() { nix::unistd::geteuid(); }",
        "#[cfg(target_os = \"linux\")] fn f() { std::fs::read_to_string(\"/proc/cpuinfo\"); }",
    ];
    for source in gated {
        assert_eq!(check(source), Vec::<String>::new(), "{source}");
    }
}

/// Sources each with the one ungated use reported, as `line: what`.
const UNGATED: &[(&str, &str)] = &[
    (
        "use std::os::unix::fs::PermissionsExt;",
        "1: `std::os::unix::fs::PermissionsExt`",
    ),
    (
        "use std::os::{unix::process::CommandExt};",
        "1: `std::os::unix::process::CommandExt`",
    ),
    (
        "fn f() {\n    nix::unistd::geteuid();\n}",
        "2: `nix::unistd::geteuid`",
    ),
    (
        "fn f() { let _ = libc::O_NOFOLLOW; }",
        "1: `libc::O_NOFOLLOW`",
    ),
    (
        "fn f() -> Option<::landlock::ABI> { None }",
        "1: `landlock::ABI`",
    ),
    (
        "fn f() { std::os::fd::AsRawFd::as_raw_fd(&x); }",
        "1: `std::os::fd::AsRawFd::as_raw_fd`",
    ),
    (
        "fn f(c: &mut Command) { c.process_group(0); }",
        "1: `.process_group()` (CommandExt)",
    ),
    (
        "fn f() { std::fs::read_dir(\"/proc\"); }",
        "1: reads \"/proc\"",
    ),
    (
        "fn f() { Path::new(\"/proc/self/status\"); }",
        "1: reads \"/proc/self/status\"",
    ),
    (
        "fn f() { let p = format!(\"/proc/{}/children\", 1); }",
        "1: reads \"/proc/{}/children\"",
    ),
    (
        "fn f() { assert!(nix::unistd::geteuid().is_root()); }",
        "1: `nix::unistd::geteuid`",
    ),
    (
        "fn f() { vec![nix::unistd::getpid(); 2]; }",
        "1: `nix::unistd::getpid`",
    ),
    // Neither gate holds only on Unix.
    (
        "#[cfg(any(unix, windows))] use nix::unistd;",
        "1: `nix::unistd`",
    ),
    ("#[cfg(not(windows))] use nix::unistd;", "1: `nix::unistd`"),
    (
        "#[cfg(test)] mod tests { use std::os::unix::fs::symlink; }",
        "1: `std::os::unix::fs::symlink`",
    ),
];

#[test]
fn ungated_uses_are_named_by_line() {
    for &(source, expected) in UNGATED {
        let shown = check(source)
            .into_iter()
            .map(|f| f.replacen("lib.rs:", "", 1))
            .collect::<Vec<_>>();
        assert_eq!(shown, [expected], "{source}");
    }
}

#[test]
fn words_about_proc_are_not_reads() {
    let prose = [
        "/// Reads /proc/stat.\nfn f() {}",
        "fn f() -> String { format!(\"others' CPU: /proc/stat {}\", 1) }",
        "fn f() -> Option<String> { Some(\"/proc/pressure/cpu\".into()) }",
        "fn f() { let args = [\"--proc\", \"/proc\"]; }",
        "fn f() { let p = \"/processes\"; read(p); }",
        // Not a read by itself (see uses::Reader::argument).
        "const STAT: &str = \"/proc/stat\";",
    ];
    for source in prose {
        assert_eq!(check(source), Vec::<String>::new(), "{source}");
    }
}

#[test]
fn a_module_file_is_gated_by_its_declaration() {
    let root = "#[cfg(target_os = \"linux\")]\nmod boxed;\nmod plain;\n";
    let inside = "pub fn f() { nix::unistd::geteuid(); }";
    let files = [
        ("lib.rs", root),
        ("boxed.rs", inside),
        ("boxed/inner.rs", inside),
        ("plain.rs", "mod inner;\npub fn g() { crate::boxed::f(); }"),
        ("plain/inner.rs", inside),
    ];
    let mut files = files.to_vec();
    files[1] = (
        "boxed.rs",
        "mod inner;\npub fn f() { nix::unistd::geteuid(); }",
    );
    assert_eq!(
        check_files(&files),
        [
            "plain/inner.rs:1: `nix::unistd::geteuid`",
            "plain.rs:2: `crate::boxed::f`",
        ]
    );
}
