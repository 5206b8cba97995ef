//! What the grader's integration tests share: where this course is, its
//! course.yaml, and copying a tree. Each test file uses some of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The repository this grader belongs to: the course the tests grade.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// This course's course.yaml, loaded.
pub fn course() -> grader::course::Course {
    grader::course::Course::load(&repo_root().join("course.yaml")).unwrap()
}

/// Copy every file under `from` to the same place under `to`, leaving out
/// `target` directories (builds).
pub fn copy_tree(from: &Path, to: &Path) {
    let walk = walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != "target");
    for entry in walk {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `../shared/tools/dockerlike` beside this repository (CI has `shared/`
/// beside the clone): runs a command as in a default Docker container
/// (root, Docker's default capabilities, no new namespaces).
pub fn dockerlike() -> PathBuf {
    repo_root().join("../shared/tools/dockerlike")
}

/// Why dockerlike cannot run here (it needs Debian's python3-seccomp and
/// installs it when it may), or `None` when it can.
pub fn dockerlike_unavailable() -> Option<String> {
    let script = dockerlike();
    if !script.is_file() {
        return Some(format!("{} is missing", script.display()));
    }
    // It may install python3-seccomp first.
    let output = assert_cmd::Command::new(&script)
        .arg("true")
        .timeout(std::time::Duration::from_secs(600))
        .output();
    match output {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        Err(error) => Some(format!("cannot run {}: {error}", script.display())),
    }
}

/// Whether these tests grade as in a default Docker container
/// (`GRADER_TESTS_DOCKERLIKE=1`): the grader runs under [`dockerlike`], where
/// bubblewrap cannot make namespaces and student code goes into the uid box.
pub fn in_dockerlike() -> bool {
    std::env::var_os("GRADER_TESTS_DOCKERLIKE").is_some_and(|v| v == "1")
}

/// The grader, run as these tests run it: under [`dockerlike`] when
/// [`in_dockerlike`].
pub fn grader_command() -> assert_cmd::Command {
    as_these_tests_run(env!("CARGO_BIN_EXE_grader"))
}

/// `program`, under [`dockerlike`] when [`in_dockerlike`] (which must then
/// work: these tests were asked for).
pub fn as_these_tests_run(program: &str) -> assert_cmd::Command {
    if !in_dockerlike() {
        return assert_cmd::Command::new(program);
    }
    if let Some(why) = dockerlike_unavailable() {
        panic!("GRADER_TESTS_DOCKERLIKE=1 but dockerlike cannot run: {why}");
    }
    let mut command = assert_cmd::Command::new(dockerlike());
    command.arg(program);
    command
}

/// `grader check` of the course at `root`, from there, in a clean
/// environment (no time unit or repeats of the caller's), without colour.
pub fn grader_check(root: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("grader")
        .unwrap()
        .current_dir(root)
        .env_remove("COURSE_TIME_UNIT_MS")
        .env_remove("COURSE_REPEATS")
        .env("NO_COLOR", "1")
        .args(["check", "--course"])
        .arg(root.join("course.yaml"))
        .output()
        .unwrap()
}
