//! `grader check` enforces ARCHITECTURE.md's recipe "Add an exercise": each
//! convention is broken in a copy of this course, one at a time, and the
//! check names the broken file with how to fix it. Most read the files only
//! (`conventions::read` and `findings`, what `grader check` runs first); one
//! runs the binary end to end on a one-exercise copy with a broken manifest.

use grader::commands::check::conventions;
use grader::commands::check::Finding;
use std::fs;
use std::path::Path;

mod support;
use support::{copy_tree, grader_check, repo_root};

/// A copy of this course (manifests, course.yaml, exercises, solutions)
/// without its builds.
fn course_copy() -> tempfile::TempDir {
    let copy = tempfile::Builder::new()
        .prefix("conventions-course-")
        .tempdir()
        .unwrap();
    let repo = repo_root();
    for file in ["Cargo.toml", "Cargo.lock", "course.yaml"] {
        fs::copy(repo.join(file), copy.path().join(file)).unwrap();
    }
    for dir in ["exercises", "solutions"] {
        copy_tree(&repo.join(dir), &copy.path().join(dir));
    }
    copy
}

/// Replace the first `from` in the course's `file` with `to`.
fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} is not in {file}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn findings(root: &Path) -> Vec<Finding> {
    let course = grader::course::Course::load(&root.join("course.yaml")).unwrap();
    conventions::findings(&conventions::read(&course).unwrap())
}

#[test]
fn this_course_follows_every_convention() {
    for finding in findings(&repo_root()) {
        assert_eq!(finding.problems, Vec::<String>::new(), "{}", finding.what);
    }
}

/// One broken convention: the edit, the group that must fail (a word of its
/// line) and what its problem must say.
struct Break {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    group: &'static str,
    says: &'static str,
}

const BREAKS: &[Break] = &[
    Break {
        file: "exercises/ex01-serial-map/Cargo.toml",
        from: "[lints]\nworkspace = true\n",
        to: "",
        group: "unsafe code",
        says: "exercises/ex01-serial-map/Cargo.toml: no `[lints] workspace = true`; add it",
    },
    Break {
        file: "solutions/ex04-speedup-sweep/Cargo.toml",
        from: "[lints]\nworkspace = true\n",
        to: "",
        group: "unsafe code",
        says: "solutions/ex04-speedup-sweep/Cargo.toml: no `[lints] workspace = true`; add it",
    },
    Break {
        file: "solutions/Cargo.toml",
        from: "unsafe_code = \"forbid\"",
        to: "unsafe_code = \"warn\"",
        group: "unsafe code",
        says: "solutions/Cargo.toml: `[workspace.lints.rust]` does not set `unsafe_code = \"forbid\"`; add it",
    },
    Break {
        file: "solutions/ex01-serial-map/Cargo.toml",
        from: "path = \"../../exercises/ex01-serial-map/tests/ex01.rs\"",
        to: "path = \"tests/ex01.rs\"",
        group: "own tests and harness",
        says: "`[[test]]` `ex01` runs \"tests/ex01.rs\"; set `path = \"../../exercises/ex01-serial-map/tests/ex01.rs\"`",
    },
    Break {
        file: "solutions/ex02-threaded-query/Cargo.toml",
        from: "../../exercises/ex02-threaded-query/benches/observe.rs",
        to: "benches/observe.rs",
        group: "own tests and harness",
        says: "`[[bench]]` `observe` runs \"benches/observe.rs\"; set `path = \"../../exercises/ex02-threaded-query/benches/observe.rs\"`",
    },
    Break {
        file: "solutions/ex03-process-crunch/Cargo.toml",
        from: "[[bin]]\nname = \"misbehaving-worker\"",
        to: "[[example]]\nname = \"misbehaving-worker\"",
        group: "test-support programs",
        says: "solutions/ex03-process-crunch/Cargo.toml: no `[[bin]] name = \"misbehaving-worker\"`; add it with `path = \"../../exercises/ex03-process-crunch/tests/support/misbehaving-worker.rs\"` and `test = false`",
    },
    Break {
        file: "exercises/ex03-process-crunch/Cargo.toml",
        from: "[[bin]]\nname = \"misbehaving-worker\"",
        to: "[[example]]\nname = \"misbehaving-worker\"",
        group: "test-support programs",
        says: "exercises/ex03-process-crunch/Cargo.toml: no `[[bin]] name = \"misbehaving-worker\"`, which solutions/ex03-process-crunch/Cargo.toml builds from the exercise's tests/support/misbehaving-worker.rs; add it with `path = \"tests/support/misbehaving-worker.rs\"` and `test = false`",
    },
    Break {
        file: "course.yaml",
        from: "    dir: exercises/ex03-process-crunch\n    starts_processes: true\n",
        to: "    dir: exercises/ex03-process-crunch\n",
        group: "starts_processes",
        says: "ex03: the reference solution starts processes (solutions/ex03-process-crunch/src/lib.rs:",
    },
    Break {
        file: "course.yaml",
        from: "    dir: exercises/ex02-threaded-query\n",
        to: "    dir: exercises/ex02-threaded-query\n    starts_processes: true\n",
        group: "starts_processes",
        says: "ex02: course.yaml says `starts_processes: true`, but the reference solution starts no process",
    },
    Break {
        file: "solutions/ex01-serial-map/src/lib.rs",
        from: "pub fn do_science",
        to: "pub fn list() {\n    let _ = std::process::Command::new(\"ls\").spawn();\n}\n\npub fn do_science",
        group: "starts_processes",
        says: "course.yaml's ex01 has no `starts_processes: true`; add it",
    },
    Break {
        file: "exercises/ex04-speedup-sweep/src/lib.rs",
        from: "section \\\"Amdahl's law\\\"",
        to: "section \\\"Amdahl\\\"",
        group: "todo!()",
        says: "todo!() names section \"Amdahl\", which exercises/ex04-speedup-sweep/README.md does not have; name one of its headings, or add that heading",
    },
    Break {
        file: "exercises/ex01-serial-map/README.md",
        from: "## Lazy iterators\n",
        to: "## Iterators that wait\n",
        group: "todo!()",
        says: "todo!() names section \"Lazy iterators\", which exercises/ex01-serial-map/README.md does not have",
    },
    Break {
        file: "exercises/ex02-threaded-query/src/lib.rs",
        from: "todo!(\"ex02 pool_map: see README.md, section \\\"A pool of your own\\\"\")",
        to: "todo!(\"write pool_map\")",
        group: "todo!()",
        says: "a todo!() that names no section; write `todo!(\"ex02 <function>: see README.md, section \\\"<heading>\\\"\")`",
    },
];

#[test]
fn each_broken_convention_is_named_with_its_fix_and_nothing_else() {
    for broken in BREAKS {
        let copy = course_copy();
        edit(copy.path(), broken.file, broken.from, broken.to);
        let failing: Vec<Finding> = findings(copy.path())
            .into_iter()
            .filter(|f| !f.problems.is_empty())
            .collect();
        let about = format!("{} broken: {failing:#?}", broken.file);
        assert_eq!(failing.len(), 1, "{about}");
        assert!(failing[0].what.contains(broken.group), "{about}");
        assert!(
            failing[0].problems.iter().any(|p| p.contains(broken.says)),
            "{about}"
        );
    }
}

/// `grader check` itself, on a copy of the course cut to ex01 without its
/// observations (so it builds and tests one exercise twice, and measures
/// nothing), whose manifest has lost its lints and whose stubs are the
/// solution: every test passes on them.
#[test]
fn grader_check_names_a_manifest_without_lints_and_stubs_that_pass_with_their_fixes() {
    let copy = course_copy();
    let root = copy.path();
    // Only the exercises as members: the copy has no grader.
    edit(
        root,
        "Cargo.toml",
        "members = [\"exercises/*\", \"grader\"]",
        "members = [\"exercises/*\"]",
    );
    edit(root, "Cargo.toml", "default-members = [\"grader\"]\n", "");
    let yaml = fs::read_to_string(root.join("course.yaml")).unwrap();
    let (ex01, _) = yaml.split_once("  - id: ex02\n").unwrap();
    let (ex01, _) = ex01.split_once("    observations:\n").unwrap();
    fs::write(root.join("course.yaml"), ex01).unwrap();
    edit(
        root,
        "exercises/ex01-serial-map/Cargo.toml",
        "[lints]\nworkspace = true\n",
        "",
    );
    fs::copy(
        root.join("solutions/ex01-serial-map/src/lib.rs"),
        root.join("exercises/ex01-serial-map/src/lib.rs"),
    )
    .unwrap();

    let output = grader_check(root);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let about = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{about}");
    for line in [
        "FAIL every exercise and solution forbids unsafe code (`[lints] workspace = true`)",
        "       - exercises/ex01-serial-map/Cargo.toml: no `[lints] workspace = true`; add it: it is the only thing that makes the workspace's `unsafe_code = \"forbid\"` hold for this crate",
        "ok   the solutions run their exercise's own tests and harness",
        "ok   every todo!() of the stubs names a section of its README",
        "ok   the solutions earn 10 of 10 points",
        "FAIL the stubs compile and all 11 tests fail on them (no test points)",
        "       - ex01: 10 test points on the stub; these tests pass without any work: ex01::",
        "2 of 9 checks found problems.",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "no line {line:?} in:\n{about}"
        );
    }
    assert!(
        stdout
            .contains(". Make each call what the student writes (a stub's todo!() then fails it)"),
        "{about}"
    );
}
