//! The grader's command line, end to end: every subcommand and flag, the exit
//! codes, and one clear line for every kind of bad course.yaml.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

mod support;
use support::repo_root;

fn course() -> PathBuf {
    repo_root().join("course.yaml")
}

/// The grader, run from the course root, without colour or a terminal.
fn grader() -> Command {
    let mut cmd = Command::cargo_bin("grader").unwrap();
    cmd.current_dir(repo_root())
        .env_remove("COURSE_TIME_UNIT_MS")
        .env_remove("COURSE_REPEATS")
        .env("NO_COLOR", "1");
    cmd
}

/// `grader` with `--course` pointing at the real course.
fn graded(args: &[&str]) -> Command {
    let mut cmd = grader();
    let (subcommand, args) = match args {
        ["grade", rest @ ..] => (Some("grade"), rest),
        _ => (None, args),
    };
    cmd.args(subcommand)
        .arg("--course")
        .arg(course())
        .args(args);
    cmd
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("the report is JSON")
}

// ---- usage -----------------------------------------------------------------

#[test]
fn help_names_every_subcommand_and_flag() {
    let out = grader().arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for word in [
        "grade",
        "check",
        "list",
        "hint",
        "doctor",
        "--exercise",
        "--solutions",
        "--submission",
        "--format",
        "--out",
        "--course",
        "--repeats",
        "--no-observations",
        "--min-score",
    ] {
        assert!(
            text.contains(word),
            "--help does not mention {word}:\n{text}"
        );
    }
    grader()
        .args(["grade", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--submission"));
    grader()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("grader "));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--no-such-flag"][..],
        &["--solutions", "--submission", "somewhere"],
        &["--repeats", "0"],
        &["--repeats", "many"],
        &["--format", "xml"],
        &["--min-score", "lots"],
        &["hint"],
        &["frobnicate"],
    ] {
        grader().args(args).assert().code(2);
    }
}

#[test]
fn an_unknown_exercise_lists_the_known_ones() {
    graded(&["--exercise", "ex99"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no exercise `ex99` in the course; known: ex01, ex02",
        ));
}

#[test]
fn a_missing_submission_is_a_usage_error() {
    graded(&["--submission", "/no/such/submission"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: the submission `/no/such/submission` is not a directory",
        ));
}

#[test]
fn environment_errors_exit_2_with_one_line() {
    graded(&["--exercise", "ex01"])
        .env("CARGO", "/no/such/cargo")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: cannot run cargo (/no/such/cargo)",
        ));
    graded(&["--exercise", "ex01"])
        .env("COURSE_TIME_UNIT_MS", "fast")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "COURSE_TIME_UNIT_MS must be a positive number",
        ));
    graded(&["--exercise", "ex01"])
        .env("COURSE_REPEATS", "0")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: COURSE_REPEATS must be a whole number of runs, at least 1, not \"0\"",
        ));
}

// ---- bad course.yaml ---------------------------------------------------------

/// A one-exercise course in a temporary directory, with an exercise crate
/// whose harness records `a_seconds`.
fn course_dir(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("exercises/ex01");
    std::fs::create_dir_all(ex.join("tests")).unwrap();
    std::fs::create_dir_all(ex.join("benches")).unwrap();
    std::fs::write(ex.join("Cargo.toml"), "[package]\nname = \"ex01\"\n").unwrap();
    std::fs::write(
        ex.join("benches/observe.rs"),
        "fn main() { o.time(\"a_seconds\", f); }\n",
    )
    .unwrap();
    std::fs::write(ex.join("tests/ex01.rs"), "#[test]\nfn it_is_fast() {}\n").unwrap();
    std::fs::write(dir.path().join("course.yaml"), yaml).unwrap();
    dir
}

const GOOD: &str = "\
title: T
defaults:
  time_unit_ms: 50
  repeats: 3
  max_spread: 0.25
  test_timeout_seconds: 60
  observe_timeout_seconds: 180
exercises:
  - id: ex01
    dir: exercises/ex01
    title: One
    test_points: 10
    hints: [\"Start here.\"]
    observations:
      - id: fast
        claim: It is fast.
        points: 2
        checks:
          - { metric: a_seconds, per: unit, at_most: 3 }
        hint: Go faster.
";

/// `grader hint ex01` on `yaml`: the course is loaded and validated, and
/// nothing is built.
fn hint_with(yaml: &str) -> assert_cmd::assert::Assert {
    let dir = course_dir(yaml);
    let mut cmd = grader();
    cmd.current_dir(dir.path())
        .args(["hint", "ex01", "--course", "course.yaml"]);
    let assert = cmd.assert();
    drop(dir);
    assert
}

#[test]
fn a_good_small_course_loads() {
    hint_with(GOOD)
        .success()
        .stdout(predicate::str::contains("Start here."));
    let tested = GOOD.replace(
        "hint: Go faster.",
        "hint: Go faster.\n        tested_by: [it_is_fast]",
    );
    hint_with(&tested).success();
}

#[test]
fn bad_course_files_name_file_line_column_and_what_was_expected() {
    let cases = [
        (
            GOOD.replace("points: 2", "pointz: 2"),
            "error: course.yaml:17:9: exercises[0].observations[0]: unknown field `pointz`, expected one of `id`, `claim`, `points`",
        ),
        (
            GOOD.replace("test_points: 10", "test_points: ten"),
            "error: course.yaml:12:18: exercises[0].test_points: invalid type: string \"ten\", expected f64",
        ),
        (
            GOOD.replace("dir: exercises/ex01", "dir: exercises/ex09"),
            "error: course.yaml:10:5: exercises[0].dir: directory `exercises/ex09` does not exist",
        ),
        (
            GOOD.replace("metric: a_seconds", "metric: b_seconds"),
            "error: course.yaml:19:15: exercises[0].observations[0].checks[0]: metric `b_seconds` is not recorded by exercises/ex01/benches/observe.rs",
        ),
        (
            GOOD.replace("hint: Go faster.", "hint: Go faster.\n        tested_by: [it_is_slow]"),
            "error: course.yaml:21:9: exercises[0].observations[0].tested_by: test `it_is_slow` is not in exercises/ex01/tests/ex01.rs: `tested_by` names tests of the exercise's test file",
        ),
        (String::new(), "error: course.yaml: the file is empty; expected a mapping with `title`, `defaults` and `exercises`"),
        ("title: \"no closing quote\n".to_owned(), "error: course.yaml:2:1: found unexpected end of stream"),
        ("\tindented: with a tab\n".to_owned(), "error: course.yaml:1:1: found character that cannot start any token"),
        ("just a sentence\n".to_owned(), "error: course.yaml:1:1: invalid type: string \"just a sentence\", expected struct Course"),
        (GOOD.replace("  repeats: 3\n", ""), "error: course.yaml:3:3: defaults: missing field `repeats`"),
    ];
    for (yaml, expected) in cases {
        let out = hint_with(&yaml).code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(expected),
            "expected `{expected}`, got:\n{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_missing_course_file_exits_2() {
    grader()
        .args(["hint", "ex01", "--course", "/no/such/course.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: /no/such/course.yaml: cannot read the course file",
        ));
}

// ---- grading the stubs ---------------------------------------------------------

#[test]
fn the_stubs_get_a_friendly_report_and_exit_0() {
    let out = graded(&["--exercise", "ex01"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    insta::with_settings!({filters => vec![
        (r"machine: .*(\n  \S.*)*", "machine: [this machine]"),
        (r"\d+ cores?", "[cores]"),
        (r"Time: .*(\n  \S.*)*", "Time: [timings]"),
        (r"first failure: .*(\n {6}\S.*)*", "first failure: [the stub's todo! message]"),
        (r"sandbox: .*(\n  \S.*)*", "sandbox: [isolated or not, and how]"),
    ]}, {
        insta::assert_snapshot!("stubs_ex01_human", stdout);
    });
}

#[test]
fn every_format_reports_the_stubs() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["json", "junit", "gradescope", "github", "html"] {
        let file = dir.path().join(format!("report.{format}"));
        graded(&["--exercise", "ex01", "--format", format, "--out"])
            .arg(&file)
            .assert()
            .success()
            .stdout(predicate::str::is_empty());
        let text = std::fs::read_to_string(&file).unwrap();
        match format {
            "junit" => assert!(
                text.starts_with("<?xml") && text.contains("<testcase"),
                "{text}"
            ),
            "json" => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["format_version"], 1);
                assert_eq!(v["target"], "exercises");
                assert_eq!(v["score"], 0.0);
                assert_eq!(v["max_score"], 14.0);
                let ex = &v["exercises"][0];
                assert_eq!(ex["id"], "ex01");
                assert!(ex["tests"]["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["status"] == "failed"));
                assert!(ex["observations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|o| o["verdict"] == "fail"));
            }
            "gradescope" => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["score"], 0.0);
                assert!(v["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["status"] == "failed"));
            }
            "github" => {
                // $GITHUB_ENV lines: the runners, then each one's results.
                let mut lines = text.lines();
                let runners = lines.next().unwrap().strip_prefix("GRADER_RUNNERS=");
                let runners: Vec<&str> = runners.unwrap().split(',').collect();
                assert!(runners.contains(&"ex01test1") && runners.contains(&"ex01obs1"));
                let results: Vec<&str> = lines.map(|l| l.split('=').next().unwrap()).collect();
                assert_eq!(results.len(), runners.len(), "{text}");
                assert_eq!(results[0], "EX01TEST1_RESULTS");
            }
            "html" => assert!(
                text.starts_with("<!DOCTYPE html>")
                    && text.contains(r#"<section id="ex01">"#)
                    && text.contains("0 / 14 points"),
                "{text}"
            ),
            _ => unreachable!(),
        }
    }
}

#[test]
fn build_stubs_runs_the_tests_a_stub_otherwise_fails_unbuilt() {
    let tests = |extra: &[&str]| -> Value {
        let mut args = vec![
            "--exercise",
            "ex01",
            "--no-observations",
            "--format",
            "json",
        ];
        args.extend(extra);
        let out = graded(&args).assert().success().get_output().stdout.clone();
        let report: Value = serde_json::from_slice(&out).unwrap();
        report["exercises"][0]["tests"].clone()
    };
    let first_words = |tests: &Value| -> Vec<String> {
        let all = tests["tests"].as_array().unwrap();
        all.iter()
            .map(|t| {
                t["failure"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let unbuilt = tests(&[]);
    assert_eq!(unbuilt["stub_src"], true);
    let built = tests(&["--build-stubs"]);
    assert!(built.get("stub_src").is_none(), "{built}");
    // Run or not, each test fails with the same todo!() message.
    assert_eq!(first_words(&unbuilt), first_words(&built));
}

#[test]
fn out_says_where_the_report_went() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grade.html");
    graded(&["--exercise", "ex01", "--format", "html", "--out"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::ends_with(format!(
            "grader: wrote the report to {}\n",
            file.display()
        )));
}

#[test]
fn min_score_decides_exit_code_1() {
    graded(&[
        "--exercise",
        "ex01",
        "--no-observations",
        "--min-score",
        "1",
        "--format",
        "json",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("score 0 is below --min-score 1"));
    graded(&[
        "grade",
        "--exercise",
        "ex01",
        "--no-observations",
        "--min-score",
        "0",
        "--format",
        "json",
    ])
    .assert()
    .success();
}

#[test]
fn no_observations_grades_tests_only() {
    let out = graded(&["-e", "ex01", "--no-observations", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v = json(&out.stdout);
    assert_eq!(v["observations_measured"], false);
    assert_eq!(v["max_score"], 10.0);
    assert!(v["exercises"][0]["observations"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn list_marks_the_first_unfinished_exercise() {
    grader()
        .args(["list", "--course"])
        .arg(course())
        .assert()
        .success()
        .stdout(predicate::str::contains("-> ex01"))
        .stdout(predicate::str::contains(
            "Next: ex01 (Serial map): read exercises/ex01-serial-map/README.md",
        ));
}

#[test]
fn hint_prints_the_exercises_hints() {
    grader()
        .args(["hint", "ex02", "--course"])
        .arg(course())
        .assert()
        .success()
        .stdout(predicate::str::contains("pool_map"))
        .stdout(predicate::str::contains("threads-overlap"));
    grader()
        .args(["hint", "ex99", "--course"])
        .arg(course())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no exercise `ex99`"));
}

#[test]
fn doctor_reports_the_machine_and_exits_0_also_on_one_core() {
    let out = grader()
        .args(["doctor", "--course"])
        .arg(course())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for line in [
        "cores ",
        "affinity ",
        "CPU quota ",
        "time unit ",
        "right now ",
        "read from   others' CPU: /proc/stat cpu",
        "verdict ",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    // One core, as `taskset -c 0` gives (util-linux, on every Linux CI image).
    let out = Command::new("taskset")
        .args(["-c", "0"])
        .arg(env!("CARGO_BIN_EXE_grader"))
        .args(["doctor", "--course"])
        .arg(course())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("cores       1 usable"), "{text}");
    // Only CPU 0 is shared with what runs there.
    assert!(
        text.contains(
            "others' CPU: /proc/stat cpu0 (the CPUs this process may run on), out of 1 core"
        ),
        "{text}"
    );
    assert!(
        text.contains("too few cores for threads-crunch-in-parallel"),
        "{text}"
    );
}

// ---- solutions and submissions -----------------------------------------------------

#[test]
fn the_solutions_earn_every_test_point() {
    let out = graded(&[
        "--solutions",
        "--exercise",
        "ex01",
        "--repeats",
        "1",
        "--format",
        "json",
    ])
    .assert()
    .success()
    .get_output()
    .clone();
    let v = json(&out.stdout);
    assert_eq!(v["target"], "solutions");
    assert_eq!(v["machine"]["repeats"], 1);
    let ex = &v["exercises"][0];
    assert_eq!(ex["tests"]["points"], ex["tests"]["max_points"]);
    // Timing is judged elsewhere (the self-check); here every observation
    // must at least have been measured and judged.
    for o in ex["observations"].as_array().unwrap() {
        assert!(
            !o["reason"].as_str().unwrap().starts_with("not measured"),
            "{o}"
        );
    }
    assert!(v["timings"]["harness_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_submission_is_graded_from_its_sources() {
    let submission = tempfile::tempdir().unwrap();
    let src = submission.path().join("exercises/ex01-serial-map/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(
        repo_root().join("solutions/ex01-serial-map/src/lib.rs"),
        src.join("lib.rs"),
    )
    .unwrap();
    let out = graded(&[
        "--no-observations",
        "--exercise",
        "ex01",
        "--format",
        "json",
        "--submission",
    ])
    .arg(submission.path())
    .assert()
    .success()
    .get_output()
    .clone();
    let v = json(&out.stdout);
    assert!(
        v["target"].as_str().unwrap().starts_with("submission "),
        "{}",
        v["target"]
    );
    assert_eq!(v["score"], 10.0);
}
