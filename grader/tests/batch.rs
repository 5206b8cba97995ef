//! `grader batch`: a small class built two submissions at a time and graded
//! one at a time (the log's order of events), its gradebook against single
//! gradings, resuming, a submission that costs only itself, `--merge`, and
//! report.html rendered in headless Chromium.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it).

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

mod support;
use support::{copy_tree, repo_root};

/// `grader SUBCOMMAND --course <the course>`.
fn grader(subcommand: &str) -> Command {
    let mut cmd = Command::cargo_bin("grader").unwrap();
    cmd.current_dir(repo_root())
        .env_remove("COURSE_TIME_UNIT_MS")
        .env("NO_COLOR", "1")
        .arg(subcommand)
        .arg("--course")
        .arg(repo_root().join("course.yaml"));
    cmd
}

/// A repository with ex01's `src` from `from` (the solutions or the stubs).
fn submission(class: &Path, name: &str, from: &Path) -> PathBuf {
    let dir = class.join(name);
    copy_tree(from, &dir.join("exercises/ex01-serial-map/src"));
    dir
}

fn gradebook(dir: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(dir.join("gradebook.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn test_statuses(report: &Value) -> Vec<(String, String)> {
    report["exercises"][0]["tests"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].to_string(), t["status"].to_string()))
        .collect()
}

fn modified(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

/// The class: the reference, the stubs, one that does not compile, one missing.
struct Class {
    reference: PathBuf,
    stubs: PathBuf,
    broken: PathBuf,
    missing: PathBuf,
}

fn class(dir: &Path) -> Class {
    let class = dir.join("class");
    let solution = repo_root().join("solutions/ex01-serial-map/src");
    let broken = submission(&class, "broken", &solution);
    let lib = broken.join("exercises/ex01-serial-map/src/lib.rs");
    fs::write(
        &lib,
        fs::read_to_string(&lib).unwrap() + "\npub fn broken( {\n",
    )
    .unwrap();
    Class {
        reference: submission(&class, "reference", &solution),
        stubs: submission(
            &class,
            "stubs",
            &repo_root().join("exercises/ex01-serial-map/src"),
        ),
        broken,
        missing: class.join("missing"),
    }
}

/// `grader batch` over `inputs`, two builds at once: its log lines (stderr
/// is not a terminal), without the `grader batch: ` prefix.
fn batch(inputs: &[&Path], out: &Path) -> Vec<String> {
    let done = grader("batch")
        .args(inputs)
        .args([
            "--exercise",
            "ex01",
            "--no-observations",
            "--build-jobs",
            "2",
            "--out",
        ])
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&done.get_output().stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("grader batch: "))
        .map(str::to_owned)
        .collect()
}

/// What a batch's log says happened, in order: `build <ids>`, `built
/// <ids>`, `grade <id>` (done, graded or not).
fn events(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix("building ") {
                let ids = rest.split_once(": ").map_or(rest, |(_, ids)| ids);
                Some(format!("build {ids}"))
            } else if let Some(rest) = line.strip_prefix("built ") {
                Some(format!("built {}", rest.split(" in ").next().unwrap()))
            } else {
                let (count, rest) = line.split_once(' ')?;
                count.contains('/').then(|| {
                    let id = rest.split(':').next().unwrap();
                    format!("grade {id}")
                })
            }
        })
        .collect()
}

#[test]
fn a_class_is_graded_resumed_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let c = class(dir.path());
    let out = dir.path().join("out");
    let log = batch(&[&c.reference, &c.stubs, &c.broken, &c.missing], &out);
    builds_happen_in_rounds_apart_from_grading(&log);
    let rows = gradebook(&out);
    assert_eq!(rows[0], ["id", "ex01", "total", "max", "flags"]);
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    assert_eq!(row("reference")[1..4], ["10", "10", "10"]);
    assert_eq!(row("stubs")[1..4], ["0", "0", "10"]);
    assert_eq!(row("broken")[1], "0");
    assert!(row("broken")[4].contains("does-not-build:ex01"), "{rows:?}");
    assert_eq!(
        row("missing")[4],
        "not-graded",
        "a missing submission costs only itself"
    );
    assert!(fs::read_to_string(out.join("missing.error"))
        .unwrap()
        .contains("not a directory"));

    each_report_matches_grading_alone(&c, &out);
    resuming_grades_only_what_changed(&c, &out);
    merging_gives_the_same_gradebook(dir.path(), &out);
}

/// Two submissions are built at once, and both builds are over before the
/// first of them is graded (measured, had observations been asked for);
/// the next round's builds start only once the last grading is done.
fn builds_happen_in_rounds_apart_from_grading(log: &[String]) {
    assert_eq!(
        events(log),
        [
            "build reference, stubs",
            "built reference, stubs",
            "grade reference",
            "grade stubs",
            "build broken, missing",
            "built broken, missing",
            "grade broken",
            "grade missing",
        ],
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("broken: does not build: ex01: error")),
        "a build error is seen as the round is built: {log:#?}"
    );
    for slot in ["grader-submissions", "grader-submissions-2"] {
        let built = repo_root().join("target").join(slot).join("debug/deps");
        let ex01 = fs::read_dir(&built).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("ex01-") && !name.contains('.')
            })
        });
        assert!(ex01, "each build of a round has its own directory: {slot}");
    }
}

fn each_report_matches_grading_alone(c: &Class, out: &Path) {
    for (id, dir) in [
        ("reference", &c.reference),
        ("stubs", &c.stubs),
        ("broken", &c.broken),
    ] {
        let alone = grader("grade")
            .arg("--submission")
            .arg(dir)
            .args([
                "--exercise",
                "ex01",
                "--no-observations",
                "--format",
                "json",
            ])
            .assert()
            .success();
        let alone: Value = serde_json::from_slice(&alone.get_output().stdout).unwrap();
        let batched: Value =
            serde_json::from_str(&fs::read_to_string(out.join(format!("{id}.json"))).unwrap())
                .unwrap();
        assert_eq!(alone["score"], batched["score"], "{id}");
        assert_eq!(test_statuses(&alone), test_statuses(&batched), "{id}");
    }
}

fn resuming_grades_only_what_changed(c: &Class, out: &Path) {
    let before = (
        modified(&out.join("reference.json")),
        modified(&out.join("stubs.json")),
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    let stub_lib = c.stubs.join("exercises/ex01-serial-map/src/lib.rs");
    fs::write(&stub_lib, fs::read_to_string(&stub_lib).unwrap() + "\n").unwrap();
    let log = batch(&[&c.reference, &c.stubs, &c.broken], out);
    assert_eq!(
        events(&log),
        [
            "grade reference",
            "grade broken",
            "build stubs",
            "built stubs",
            "grade stubs"
        ],
        "only the changed submission is built again: {log:#?}"
    );
    assert_eq!(modified(&out.join("reference.json")), before.0);
    assert_ne!(modified(&out.join("stubs.json")), before.1);
}

fn merging_gives_the_same_gradebook(dir: &Path, out: &Path) {
    let merged = dir.join("merged");
    grader("batch")
        .arg("--merge")
        .args(["reference", "stubs", "broken"].map(|id| out.join(format!("{id}.json"))))
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    let graded_rows: Vec<_> = gradebook(out)
        .into_iter()
        .filter(|r| r[0] != "missing")
        .collect();
    assert_eq!(gradebook(&merged), graded_rows);

    let html = fs::read_to_string(merged.join("report.html")).unwrap();
    for part in [
        "<svg",
        "Tests",
        "Observations",
        "ex04",
        "reference",
        "cores",
    ] {
        assert!(html.contains(part), "report.html lacks {part}");
    }
    for network in ["<script", "<link", "src=\"http", "url(http"] {
        assert!(
            !html.contains(network),
            "report.html must open offline: {network}"
        );
    }
    let console = chromium_console(&merged.join("report.html"));
    assert!(console.is_empty(), "console errors: {console:?}");
}

#[test]
fn the_chromium_check_sees_console_errors() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><body><script>console.error('broken page')</script></body></html>",
    )
    .unwrap();
    let console = chromium_console(&page);
    assert!(
        console.iter().any(|l| l.contains("broken page")),
        "{console:?}"
    );
}

/// The console errors Chromium reports while loading `page` headless.
fn chromium_console(page: &Path) -> Vec<String> {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| which(name))
        .expect(
            "this test needs Debian's chromium: apt-get install -y chromium (.ci/run installs it)",
        );
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect()
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}
