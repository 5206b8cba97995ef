//! `grader release`: the student repository builds without the solutions, its
//! own `cargo test` passes, its stubs fail their tests, and an edited
//! instructor file shows in the report.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

mod support;
use support::repo_root;

fn grader() -> Command {
    let mut cmd = Command::cargo_bin("grader").unwrap();
    cmd.current_dir(repo_root())
        .env_remove("COURSE_TIME_UNIT_MS")
        .env("NO_COLOR", "1");
    cmd
}

fn release(into: &Path) {
    grader()
        .args(["release", "--course"])
        .arg(repo_root().join("course.yaml"))
        .arg("--out")
        .arg(into)
        .assert()
        .success();
}

/// Cargo in the release, with a build directory kept between runs of this
/// test (the release's path changes every time, its dependencies do not).
fn cargo(release: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(release)
        .env("CARGO_TARGET_DIR", repo_root().join("target/release-check"))
        .env_remove("COURSE_TIME_UNIT_MS");
    cmd
}

fn graded_json(args: &[&str], course: &Path) -> Value {
    let out = grader()
        .arg("grade")
        .arg("--course")
        .arg(course)
        .args(args)
        .args(["--format", "json", "--no-observations"])
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn the_release_holds_what_students_need_and_no_solutions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student-repo");
    release(&out);
    for present in [
        "README.md",
        "course.yaml",
        "Cargo.toml",
        "Cargo.lock",
        "grader/src/main.rs",
        "exercises/ex01-serial-map/src/lib.rs",
        "exercises/ex01-serial-map/tests/ex01.rs",
        "exercises/ex01-serial-map/benches/observe.rs",
        ".github/workflows/classroom.yml",
        "instructor-files.sha256",
    ] {
        assert!(out.join(present).is_file(), "{present} is missing");
    }
    for absent in ["solutions", "grader/tests", "target", ".ci"] {
        assert!(!out.join(absent).exists(), "{absent} must stay out");
    }
    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("cargo test -p ex01"));
    assert!(!readme.contains("solutions"), "{readme}");

    let manifest = fs::read_to_string(out.join("instructor-files.sha256")).unwrap();
    let listed: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
    for instructor in [
        "course.yaml",
        "grader/src/main.rs",
        "exercises/ex01-serial-map/tests/ex01.rs",
        "exercises/ex01-serial-map/benches/observe.rs",
        "exercises/ex01-serial-map/Cargo.toml",
        "exercises/common/src/lib.rs",
        "exercises/ex04-speedup-sweep/src/main.rs", // given complete
        ".github/workflows/classroom.yml",
    ] {
        assert!(listed.contains(&instructor), "{instructor} is not listed");
    }
    assert!(!listed.contains(&"exercises/ex01-serial-map/src/lib.rs"));

    // Writing over an earlier release is refused, not merged.
    grader()
        .args(["release", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not empty"));
}

#[test]
fn the_release_passes_its_own_tests_and_its_stubs_fail_theirs() {
    // Where a student clones it: not under /tmp, which the sandbox's own
    // tests (part of this `cargo test`) replace inside their box.
    let parent = repo_root().join("target");
    std::fs::create_dir_all(&parent).unwrap();
    let dir = tempfile::tempdir_in(parent).unwrap();
    let out = dir.path().join("student-repo");
    release(&out);
    // `cargo test`: the grader's own tests, none of which need the solutions.
    cargo(&out).args(["test", "--locked"]).assert().success();
    let stubs = cargo(&out)
        .args(["test", "--locked", "-p", "ex01"])
        .assert()
        .failure();
    let text = String::from_utf8_lossy(&stubs.get_output().stdout).to_string();
    assert!(text.contains("see README.md, section"), "{text}");
}

#[test]
fn an_edited_instructor_file_shows_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student-repo");
    release(&out);
    let test_file = "exercises/ex01-serial-map/tests/ex01.rs";
    let untouched = graded_json(&["--exercise", "ex01"], &out.join("course.yaml"));
    let files = &untouched["instructor_files"];
    assert!(files["checked"].as_u64().unwrap() > 10, "{files}");
    assert_eq!(files["changed"], serde_json::json!([]));

    // A student who "fixes" the tests: in place the manifest names the file,
    // and graded as a submission the instructor's copy of the test runs.
    fs::write(out.join(test_file), "#[test]\nfn always() {}\n").unwrap();
    let in_place = graded_json(&["--exercise", "ex01"], &out.join("course.yaml"));
    assert_eq!(
        in_place["instructor_files"]["changed"],
        serde_json::json!([test_file])
    );
    let submitted = graded_json(
        &["--exercise", "ex01", "--submission", out.to_str().unwrap()],
        &repo_root().join("course.yaml"),
    );
    assert_eq!(
        submitted["instructor_files"]["changed"],
        serde_json::json!([test_file])
    );
    assert_eq!(submitted["score"], 0.0, "the stubs earn nothing");
    assert!(
        submitted["exercises"][0]["tests"]["tests"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );
}

#[test]
fn a_submission_of_src_alone_is_not_missing_the_instructors_files() {
    // What a submission is: the student's `exercises/*/src/**`, nothing else.
    let dir = tempfile::tempdir().unwrap();
    let src = "exercises/ex01-serial-map/src/lib.rs";
    fs::create_dir_all(dir.path().join(src).parent().unwrap()).unwrap();
    fs::copy(repo_root().join(src), dir.path().join(src)).unwrap();
    let submission = dir.path().to_str().unwrap();
    let args = ["--exercise", "ex01", "--submission", submission];
    let graded = graded_json(&args, &repo_root().join("course.yaml"));
    let files = &graded["instructor_files"];
    assert_eq!(files["changed"], serde_json::json!([]), "{files}");
    assert_eq!(files["missing"], serde_json::json!([]), "{files}");
    assert_eq!(files["not_sent"], files["checked"], "{files}");

    let human = grader()
        .arg("grade")
        .arg("--course")
        .arg(repo_root().join("course.yaml"))
        .args(args)
        .arg("--no-observations")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&human.get_output().stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with("Instructor files"))
        .unwrap_or_else(|| panic!("no instructor-files line in\n{text}"));
    assert!(
        line.starts_with("Instructor files: none changed (0 of "),
        "{line}"
    );
}
