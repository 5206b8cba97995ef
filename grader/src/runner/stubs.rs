//! An exercise whose `src` is still the course's stubs, byte for byte,
//! fails every test by construction (`grader check` makes sure: the stubs
//! compile and every test fails on them, each at the `todo!()` predicted
//! here). Grading it needs no build: each test fails at the first `todo!()`
//! it reaches, and the report says that the tests were not run. A new
//! student's first report is all stubs, so it comes in seconds instead of
//! after four builds.
//!
//! The course's own exercises are graded in place, where nothing else
//! remembers the stubs: `exercises/stubs.sha256` (`sha256sum`'s format)
//! lists every stub file with its SHA-256, and `grader check` and the
//! grader's tests keep it true.

use crate::course::Exercise;
use crate::model::{TestResult, TestStatus};
use crate::runner::libtest;
use crate::workspace::manifest::{sha256_hex, Manifest};
use crate::workspace::GradedTree;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The stubs' checksums, relative to the course root.
pub const CHECKSUMS_FILE: &str = "exercises/stubs.sha256";

/// Why a stub's tests were not run, for every report.
pub const NOT_RUN: &str = "not run: src/ is still the course's stubs";

/// The files under `dir` (relative to `root`, `/`-separated), sorted; links
/// and other non-regular files count as files too, so they never match.
fn files_under(root: &Path, dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = WalkDir::new(root.join(dir))
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .filter_map(|e| {
            let relative = e.path().strip_prefix(root).ok()?;
            Some(relative.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    files.sort();
    files
}

/// The checksum file's text for the stubs in `exercise_dirs` (relative to
/// `course_root`) as they are now.
pub fn checksums(course_root: &Path, exercise_dirs: &[PathBuf]) -> anyhow::Result<String> {
    let mut entries = Vec::new();
    for dir in exercise_dirs {
        for path in files_under(course_root, &dir.join("src")) {
            let full = course_root.join(&path);
            let bytes =
                std::fs::read(&full).with_context(|| format!("cannot read {}", full.display()))?;
            entries.push((path, sha256_hex(&bytes)));
        }
    }
    Ok(Manifest { entries }.render())
}

/// The stub files the course at `course_root` lists for `exercise_dir`,
/// with their SHA-256; empty without a checksum file.
fn listed(course_root: &Path, exercise_dir: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(course_root.join(CHECKSUMS_FILE)) else {
        return BTreeMap::new();
    };
    let Ok(manifest) = Manifest::parse(&text) else {
        return BTreeMap::new();
    };
    let src = format!("{}/src/", exercise_dir.to_string_lossy().replace('\\', "/"));
    manifest
        .entries
        .into_iter()
        .filter(|(path, _)| path.starts_with(&src))
        .collect()
}

/// Whether `exercise_dir/src` in `tree_root` holds exactly the stub files
/// the course at `course_root` lists for it, with their bytes.
pub fn is_stub_src(course_root: &Path, tree_root: &Path, exercise_dir: &Path) -> bool {
    let listed = listed(course_root, exercise_dir);
    let present = files_under(tree_root, &exercise_dir.join("src"));
    !listed.is_empty()
        && present.len() == listed.len()
        && present.iter().all(|path| {
            let Some(expected) = listed.get(path) else {
                return false;
            };
            let full = tree_root.join(path);
            let regular = full.symlink_metadata().is_ok_and(|m| m.is_file());
            regular && std::fs::read(&full).is_ok_and(|bytes| &sha256_hex(&bytes) == expected)
        })
}

/// Every test the instructor's test files define (`test_files`: each test
/// target's name and file), failed as it fails on the stubs in `src`:
/// at the first `todo!()` it reaches. `None` when a test file cannot be
/// read this way (then only building and running tells).
pub fn failing_tests(test_files: &[(String, PathBuf)], src: &Path) -> Option<Vec<TestResult>> {
    let mut todos = BTreeMap::new();
    for entry in WalkDir::new(src).sort_by_file_name().into_iter().flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            for (name, message) in super::test_sources::todo_functions(&text) {
                todos.entry(name).or_insert(message);
            }
        }
    }
    let mut tests = Vec::new();
    for (target, file) in test_files {
        let functions =
            super::test_sources::test_file_functions(&std::fs::read_to_string(file).ok()?)?;
        for test in functions.iter().filter(|f| f.test) {
            let reached = super::test_sources::first_stub_reached(test, &functions, &todos);
            tests.push(failed(format!("{target}::{}", test.name), reached));
        }
    }
    (!tests.is_empty()).then_some(tests)
}

/// When exercise `ex` of `tree` is still the course's stubs (by the copy
/// a submission was made from, or by the checksum file of the course at
/// `course_root`): its tests, failed without building them. `None` for the
/// reference solutions, a `src` with any change, or test files this
/// reading cannot follow.
pub fn failing_unbuilt(
    course_root: &Path,
    tree: &GradedTree,
    ex: &Exercise,
) -> Option<Vec<TestResult>> {
    let src = tree.student_src(&ex.dir)?;
    let stubs = tree.has_stub_src(&ex.dir) || is_stub_src(course_root, tree.root(), &ex.dir);
    if !stubs {
        return None;
    }
    failing_tests(&libtest::test_files(tree, &ex.id), &src)
}

/// Where the tests failed without building them (`predicted`) disagree
/// with the same tests built and run on the stubs (`ran`): a test only one
/// side has, or one whose real failure does not say the `todo!()` message
/// predicted. `grader check` reports these.
pub fn disagreements(predicted: &[TestResult], ran: &[TestResult]) -> Vec<String> {
    let mut found = Vec::new();
    for test in ran {
        let Some(guess) = predicted.iter().find(|p| p.name == test.name) else {
            found.push(format!(
                "{} runs but is not found in the test file",
                test.name
            ));
            continue;
        };
        let said = guess.failure.as_deref().unwrap_or_default();
        let todo = said.lines().next().unwrap_or_default();
        let real = test.failure.as_deref().unwrap_or_default();
        if todo.starts_with("not yet implemented") && !real.contains(todo) {
            found.push(format!(
                "{} fails with `{}`, not at the todo!() its source reaches first (`{todo}`)",
                test.name,
                real.lines().next().unwrap_or_default()
            ));
        }
    }
    for guess in predicted
        .iter()
        .filter(|p| !ran.iter().any(|t| t.name == p.name))
    {
        found.push(format!(
            "{} is in the test file but does not run",
            guess.name
        ));
    }
    found
}

/// A test failed on the stubs, at the `todo!()` message `reached` when known.
fn failed(name: String, reached: Option<String>) -> TestResult {
    let failure = match reached {
        Some(message) => format!("{message}\n({NOT_RUN}; the first todo!() this test reaches)"),
        None => format!("fails on the stubs ({NOT_RUN}: every test fails on them)"),
    };
    TestResult {
        name,
        status: TestStatus::Failed,
        seconds: 0.0,
        points: 0.0,
        max_points: 0.0,
        output: failure.clone(),
        failure: Some(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_checksum_file_lists_the_stubs_as_they_are() {
        let root = course_root();
        let course = crate::course::Course::load(&root.join("course.yaml")).unwrap();
        let dirs: Vec<PathBuf> = course.exercises.iter().map(|e| e.dir.clone()).collect();
        let now = checksums(&root, &dirs).unwrap();
        let kept = std::fs::read_to_string(root.join(CHECKSUMS_FILE)).unwrap_or_default();
        assert!(
            kept == now,
            "{CHECKSUMS_FILE} does not match the stubs; write it again with:\n\
             (cd {} && find exercises/ex*/src -type f | LC_ALL=C sort | xargs sha256sum > {CHECKSUMS_FILE})\n\
             It should read:\n{now}",
            root.display()
        );
        for ex in &course.exercises {
            assert!(is_stub_src(&root, &root, &ex.dir), "{}", ex.id);
        }
    }

    #[test]
    fn a_src_is_the_stubs_only_with_the_same_files_and_bytes() {
        let course = tempfile::tempdir().unwrap();
        let ex = Path::new("exercises/ex01-a");
        write(&course.path().join(ex).join("src/lib.rs"), "// stub\n");
        write(&course.path().join(ex).join("src/part/mod.rs"), "// part\n");
        let sums = checksums(course.path(), &[ex.to_path_buf()]).unwrap();
        write(&course.path().join(CHECKSUMS_FILE), &sums);
        assert!(is_stub_src(course.path(), course.path(), ex));

        let copy = tempfile::tempdir().unwrap();
        let lib = copy.path().join(ex).join("src/lib.rs");
        write(&lib, "// stub\n");
        assert!(
            !is_stub_src(course.path(), copy.path(), ex),
            "a file missing"
        );
        write(&copy.path().join(ex).join("src/part/mod.rs"), "// part\n");
        assert!(is_stub_src(course.path(), copy.path(), ex));
        write(&lib, "// stub, edited\n");
        assert!(!is_stub_src(course.path(), copy.path(), ex), "edited");
        write(&lib, "// stub\n");
        write(&copy.path().join(ex).join("src/extra.rs"), "\n");
        assert!(!is_stub_src(course.path(), copy.path(), ex), "a file added");
        let other = Path::new("exercises/ex02-b");
        assert!(
            !is_stub_src(course.path(), copy.path(), other),
            "not listed"
        );
    }

    #[test]
    fn a_prediction_disagrees_when_a_test_fails_elsewhere_or_is_missing() {
        let predicted = vec![
            failed("ex::a".into(), Some("not yet implemented: ex a".into())),
            failed("ex::b".into(), None),
            failed("ex::gone".into(), None),
        ];
        let ran = |name: &str, failure: &str| TestResult {
            failure: Some(failure.to_owned()),
            ..failed(name.to_owned(), None)
        };
        let agree = [
            ran("ex::a", "not yet implemented: ex a"),
            ran("ex::b", "anything"),
            ran("ex::gone", "x"),
        ];
        assert!(disagreements(&predicted, &agree).is_empty());
        let differ = [
            ran("ex::a", "assertion failed"),
            ran("ex::b", "anything"),
            ran("ex::new", "x"),
        ];
        let found = disagreements(&predicted, &differ);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("ex::a fails with `assertion failed`"));
    }

    #[test]
    fn each_course_test_fails_at_a_todo_named_in_its_stubs() {
        let root = course_root();
        let file = root.join("exercises/ex01-serial-map/tests/ex01.rs");
        let src = root.join("exercises/ex01-serial-map/src");
        let tests = failing_tests(&[("ex01".to_owned(), file)], &src).unwrap();
        assert_eq!(
            tests[0].name, "ex01::do_science_squares",
            "the lesson's order"
        );
        let first = tests[0].failure.as_deref().unwrap();
        assert!(
            first.starts_with("not yet implemented: ex01 do_science: see README.md"),
            "{first}"
        );
        assert!(first.contains(NOT_RUN), "{first}");
        assert!(tests.iter().all(|t| t.status == TestStatus::Failed));

        let course = crate::course::Course::load(&root.join("course.yaml")).unwrap();
        for ex in &course.exercises {
            let file = (ex.id.clone(), root.join(ex.test_file()));
            let tests = failing_tests(&[file], &root.join(&ex.dir).join("src"));
            assert!(tests.is_some_and(|t| t.len() > 5), "{}", ex.id);
        }
    }
}
