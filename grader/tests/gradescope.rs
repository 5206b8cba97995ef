//! `grader gradescope`: the autograder zip, unpacked into a directory that
//! stands in for `/autograder`, set up and run end to end as Gradescope would:
//! on a submission that cannot be graded, on the reference solutions and on
//! the stubs. results.json is checked against Gradescope's specification.
//!
//! Grading runs as this test's user (`AUTOGRADER_USER` empty): the switch to
//! an unprivileged user needs a toolchain outside root's home, as setup.sh
//! installs on Gradescope's image.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `bash SCRIPT ARGS` with `/autograder` at `autograder`.
fn script(autograder: &Path, script: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(autograder.join(script))
        .current_dir(autograder)
        .env("AUTOGRADER_ROOT", autograder)
        .env("AUTOGRADER_USER", "")
        // The grader's own build is kept between runs of this test.
        .env("CARGO_TARGET_DIR", root().join("target/gradescope-check"))
        .env_remove("COURSE_TIME_UNIT_MS")
        .env("NO_COLOR", "1");
    cmd
}

/// Unzip as Gradescope does: the zip into `source/`, run_autograder beside it.
fn unpack(zip_path: &Path, autograder: &Path) {
    let file = fs::File::open(zip_path).unwrap();
    zip::ZipArchive::new(file)
        .unwrap()
        .extract(autograder.join("source"))
        .unwrap();
    fs::copy(
        autograder.join("source/run_autograder"),
        autograder.join("run_autograder"),
    )
    .unwrap();
}

fn results(autograder: &Path) -> Value {
    let path = autograder.join("results/results.json");
    let text = fs::read_to_string(&path).expect("run_autograder always writes results.json");
    fs::remove_file(&path).unwrap();
    serde_json::from_str(&text).expect("results.json is JSON")
}

fn run(autograder: &Path, submission: Option<&Path>) -> Value {
    let dir = autograder.join("submission");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    if let Some(from) = submission {
        copy_tree(from, &dir);
    }
    let started = Instant::now();
    script(autograder, "run_autograder").assert().success();
    eprintln!("run_autograder: {:.0} s", started.elapsed().as_secs_f64());
    results(autograder)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir(from) {
        let relative = entry.strip_prefix(from).unwrap();
        let target = to.join(relative);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&entry, &target).unwrap();
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A student repository holding the reference solutions' sources.
fn reference_submission(into: &Path) {
    for entry in fs::read_dir(root().join("solutions")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            let name = src.parent().unwrap().file_name().unwrap();
            copy_tree(&src, &into.join("exercises").join(name).join("src"));
        }
    }
}

/// What Gradescope's specification asks of results.json, and that the
/// tests' scores add up to the total.
fn check_spec(results: &Value) -> Vec<&Value> {
    assert_eq!(results["output_format"], "text", "{results}");
    assert!(results["output"].as_str().is_some_and(|o| !o.is_empty()));
    let score = results["score"].as_f64().expect("a numeric score");
    let tests = results["tests"].as_array().expect("a tests array");
    let mut sum = 0.0;
    for test in tests {
        assert!(
            test["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{test}"
        );
        let (got, max) = (
            test["score"].as_f64().unwrap(),
            test["max_score"].as_f64().unwrap(),
        );
        assert!((0.0..=max + 1e-9).contains(&got), "{test}");
        assert!(["passed", "failed"].contains(&test["status"].as_str().unwrap()));
        assert!(["visible", "hidden", "after_due_date", "after_published"]
            .contains(&test["visibility"].as_str().unwrap()));
        assert!(test["output"].is_string());
        sum += got;
    }
    assert!(
        (sum - score).abs() < 1e-6,
        "tests add up to {sum}, score is {score}"
    );
    tests.iter().collect()
}

#[test]
fn the_autograder_grades_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("autograder.zip");
    Command::cargo_bin("grader")
        .unwrap()
        .current_dir(root())
        .args(["gradescope", "--out"])
        .arg(&zip_path)
        .assert()
        .success();
    let size = fs::metadata(&zip_path).unwrap().len();
    eprintln!("autograder.zip: {:.2} MB", size as f64 / 1e6);
    let autograder = dir.path().join("autograder");
    unpack(&zip_path, &autograder);
    assert!(!autograder.join("source/course/solutions").exists());

    // Before setup there is no grader: results.json still says why.
    let unset = run(&autograder, None);
    assert_eq!(unset["score"], 0.0);
    assert!(
        unset["output"].as_str().unwrap().contains("setup.sh"),
        "{unset}"
    );

    let started = Instant::now();
    script(&autograder, "source/setup.sh").assert().success();
    eprintln!("setup.sh: {:.0} s", started.elapsed().as_secs_f64());

    // A submission without the repository's layout.
    let empty = run(&autograder, None);
    check_spec(&empty);
    assert!(
        empty["output"].as_str().unwrap().contains("exercises/"),
        "{empty}"
    );

    // The stubs: valid results, no points.
    let stubs_repo = dir.path().join("stubs");
    copy_tree(&root().join("exercises"), &stubs_repo.join("exercises"));
    let stubs = run(&autograder, Some(&stubs_repo));
    check_spec(&stubs);
    assert_eq!(stubs["score"], 0.0, "{stubs}");

    // The reference solutions: every test passes; an observation that does
    // not is only ever the machine's limit, never a failure.
    let reference = dir.path().join("reference");
    reference_submission(&reference);
    let graded = run(&autograder, Some(&reference));
    for test in check_spec(&graded) {
        let output = test["output"].as_str().unwrap();
        if test["status"] == "failed" {
            assert!(
                output.contains("skipped") || output.contains("inconclusive"),
                "the reference failed {test}"
            );
        }
    }
    let tests_only: f64 = graded["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["tags"][1] == "test")
        .map(|t| t["score"].as_f64().unwrap() - t["max_score"].as_f64().unwrap())
        .sum();
    assert!(tests_only.abs() < 1e-9, "the reference lost test points");
}
