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

/// Every point course.yaml gives, read from the YAML itself.
fn course_maximum() -> f64 {
    let text = fs::read_to_string(repo_root().join("course.yaml")).unwrap();
    let course: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let exercises = course["exercises"].as_sequence().unwrap();
    let points = |v: &serde_yaml::Value| v.as_f64().unwrap();
    exercises
        .iter()
        .map(|ex| {
            let observations = ex["observations"].as_sequence().map_or(0.0, |os| {
                os.iter().map(|o| points(&o["points"])).sum::<f64>()
            });
            points(&ex["test_points"]) + observations
        })
        .sum()
}

/// A result as the reporter reads it: base64 of JSON.
fn decoded(base64: &str) -> Value {
    let mut decode = std::process::Command::new("base64");
    decode.arg("-d").stdin(std::process::Stdio::piped());
    decode.stdout(std::process::Stdio::piped());
    let mut child = decode.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), base64.as_bytes()).unwrap();
    #[allow(clippy::disallowed_methods)] // base64 of a short text ends by itself
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A result that records 0 of the course's maximum, saying `why`.
fn assert_zero_of_the_maximum(result: &Value, why: &str) {
    assert_eq!(result["status"], "error", "{result}");
    assert_eq!(
        result["max_score"].as_f64(),
        Some(course_maximum()),
        "{result}"
    );
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1, "{result}");
    assert_eq!(
        (&tests[0]["status"], tests[0]["score"].as_f64()),
        (&Value::from("error"), Some(0.0))
    );
    let message = tests[0]["message"].as_str().unwrap();
    assert!(message.contains(why), "{message}");
}

/// When the grader does not build, the workflow's Grade step fails but still
/// hands Classroom's reporter 0 of the course's maximum and why; when the
/// step does not finish at all, the reporter's own fallback does.
// The workflow runs on GitHub's Linux runners; the stand-in cargo is a shell script.
#[cfg(unix)]
#[test]
fn the_classroom_workflow_reports_zero_of_the_maximum_when_it_cannot_grade() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student-repo");
    release(&out);
    let text = fs::read_to_string(out.join(".github/workflows/classroom.yml")).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = workflow["jobs"]["run-autograding-tests"]["steps"]
        .as_sequence()
        .unwrap();
    let grade = steps.iter().find(|s| s["id"] == "grader").unwrap();
    assert_eq!(grade["shell"], "bash");

    // A cargo that cannot build the grader, first on PATH.
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    fs::write(
        &cargo,
        "#!/bin/sh\necho 'error: could not compile `grader`' >&2\nexit 101\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&cargo, fs::Permissions::from_mode(0o755)).unwrap();
    let github_env = dir.path().join("github_env");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    // As GitHub runs `shell: bash`.
    let step = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(grade["run"].as_str().unwrap())
        .current_dir(&out)
        .env("PATH", path)
        .env("GITHUB_ENV", &github_env)
        .env_remove("CARGO_TARGET_DIR")
        .assert()
        .code(1);
    let said = String::from_utf8_lossy(&step.get_output().stdout).to_string();
    assert!(said.contains("The grader did not build"), "{said}");

    let env = fs::read_to_string(&github_env).unwrap();
    let variable = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {env}"))
            .to_owned()
    };
    assert_eq!(variable("GRADER_RUNNERS"), "grading");
    assert_zero_of_the_maximum(&decoded(&variable("GRADING_RESULTS")), "did not build");

    let reporter = steps.last().unwrap();
    assert_eq!(reporter["if"], "always()");
    assert_eq!(
        reporter["with"]["runners"],
        "${{ env.GRADER_RUNNERS || 'notrun' }}"
    );
    let not_run = reporter["env"]["NOTRUN_RESULTS"].as_str().unwrap();
    assert_zero_of_the_maximum(&decoded(not_run), "did not run or did not finish");
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
