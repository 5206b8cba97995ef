//! Correctness: build a package's integration tests, list the tests the
//! instructor's test files define, run each in a process of its own and
//! judge it from what libtest itself reported.

use super::cargo::{self, Executable};
use super::test_sources;
use super::timeouts::{TestClock, Timeout};
use super::{launch, RunLimits, Steps, TestsOutcome};
use crate::model::{TestResult, TestStatus};
use crate::sandbox::isolation::Activity;
use crate::sandbox::{self, RunOutput};
use crate::workspace::GradedTree;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines of a failing test's output kept as its failure message.
const FAILURE_LINES: usize = 3;
/// Test processes run at once (the machines this runs on have 2 cores).
const MAX_PARALLEL_TESTS: usize = 2;

/// One test to run: which binary, the copy that runs, which test in it.
struct Case<'a> {
    binary: &'a Executable,
    copy: &'a Path,
    name: String,
}

/// A neutral copy of each test binary ([`launch::neutral_copy`]).
fn copies(
    tree: &GradedTree,
    binaries: &[&Executable],
    package: &str,
) -> std::io::Result<Vec<launch::NeutralCopy>> {
    binaries
        .iter()
        .map(|binary| launch::neutral_copy(&tree.target_dir, &binary.path, package))
        .collect()
}

/// Build the package's integration tests (`tests/*.rs` only).
pub(super) fn build(tree: &GradedTree, package: &str) -> cargo::Build {
    let mut build = cargo::command(tree, "test");
    // `--test '*'`: only the integration tests (tests/*.rs), not unit tests a
    // student may have added in src.
    build.args([
        "--no-run",
        "--message-format=json",
        "-p",
        package,
        "--test",
        "*",
    ]);
    cargo::build(tree.confine(&build, Activity::Build))
}

/// The test executables of a build.
pub(super) fn binaries(build: &cargo::Build) -> Vec<&Executable> {
    build
        .executables
        .iter()
        .filter(|e| e.kind == "test")
        .collect()
}

pub(super) fn run(
    tree: &GradedTree,
    package: &str,
    limits: &RunLimits,
    clock: &TestClock,
    steps: &dyn Steps,
) -> TestsOutcome {
    let build = build(tree, package);
    let start = Instant::now();
    let mut outcome = TestsOutcome {
        build_error: build.error.clone(),
        tests: Vec::new(),
        build_seconds: build.seconds,
        test_seconds: 0.0,
        binaries: Vec::new(),
    };
    let binaries = binaries(&build);
    outcome.binaries = binaries.iter().map(|e| e.path.clone()).collect();
    if outcome.build_error.is_none() && binaries.is_empty() {
        outcome.build_error = Some(format!("package {package} has no integration tests"));
    }
    if outcome.build_error.is_some() {
        outcome.tests = tests_in_sources(tree, package)
            .into_iter()
            .map(|name| not_run(name, "not run: the tests did not build"))
            .collect();
        return outcome;
    }

    // Each test runs from a copy of its binary under a neutral name, as the
    // harness does (see `launch`).
    let copies = match copies(tree, &binaries, package) {
        Ok(copies) => copies,
        Err(error) => {
            outcome.build_error = Some(format!("could not copy the tests to run them: {error}"));
            return outcome;
        }
    };
    let mut cases = Vec::new();
    for (binary, copy) in binaries.iter().zip(&copies) {
        match list_tests(tree, binary, limits) {
            Ok(names) => cases.extend(names.into_iter().map(|name| Case {
                binary,
                copy: &copy.path,
                name,
            })),
            Err(error) => {
                outcome.build_error = Some(format!(
                    "could not list the tests of {}: {error}",
                    binary.target_name
                ));
            }
        }
    }
    in_source_order(&mut cases);
    outcome.tests = run_cases(tree, &cases, limits, clock, steps);
    outcome.test_seconds = start.elapsed().as_secs_f64();
    outcome
}

/// The cases in the order their test files define them, which is the
/// lesson's (libtest lists them alphabetically): the first failure a report
/// shows is then the lesson's first unfinished step. Tests the files do not
/// show in a way [`test_sources`] reads keep libtest's order, after them.
fn in_source_order(cases: &mut [Case]) {
    let mut orders: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for case in cases.iter() {
        let source = &case.binary.source;
        if !orders.iter().any(|(path, _)| path == source) {
            let names = std::fs::read_to_string(source)
                .ok()
                .and_then(|text| test_sources::test_file_functions(&text))
                .map(|fns| fns.into_iter().filter(|f| f.test).map(|f| f.name).collect())
                .unwrap_or_default();
            orders.push((source.clone(), names));
        }
    }
    let position = |case: &Case| {
        let file = orders
            .iter()
            .position(|(path, _)| *path == case.binary.source)
            .unwrap_or_default();
        let names = &orders[file].1;
        let test = names.iter().position(|n| *n == case.name);
        (file, test.unwrap_or(usize::MAX))
    };
    cases.sort_by_key(position);
}

/// Why a test binary could not list its tests.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot start {binary}: {source}")]
    Start {
        binary: String,
        source: std::io::Error,
    },
    #[error("{end}: {stderr}")]
    Failed { end: String, stderr: String },
}

/// The test names `binary` defines (the instructor's file), without the
/// ignored ones.
fn list_tests(
    tree: &GradedTree,
    binary: &Executable,
    limits: &RunLimits,
) -> Result<Vec<String>, ListError> {
    let all = list(tree, binary, limits, false)?;
    let ignored = list(tree, binary, limits, true)?;
    Ok(all
        .into_iter()
        .filter(|name| !ignored.contains(name))
        .collect())
}

fn list(
    tree: &GradedTree,
    binary: &Executable,
    limits: &RunLimits,
    ignored: bool,
) -> Result<Vec<String>, ListError> {
    let mut command = launch::bare_command(&binary.path, &binary.package_dir);
    command.args(["--list", "--format", "terse"]);
    if ignored {
        command.arg("--ignored");
    }
    let mut command = tree.confine(&command, Activity::Run { writable: &[] });
    let output = sandbox::run_confined(
        &mut command,
        None,
        limits.test_timeout,
        limits.output_cap_bytes,
    )
    .map_err(|source| ListError::Start {
        binary: binary.path.display().to_string(),
        source,
    })?;
    if !output.success() {
        return Err(ListError::Failed {
            end: output.describe_end(limits.test_timeout),
            stderr: output.stderr.tail_text(1000).trim().to_owned(),
        });
    }
    Ok(output
        .stdout
        .text()
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect())
}

/// Run every case, a few at a time, keeping the cases' order; each case's
/// limit is the clock's when it starts.
fn run_cases(
    tree: &GradedTree,
    cases: &[Case],
    limits: &RunLimits,
    clock: &TestClock,
    steps: &dyn Steps,
) -> Vec<TestResult> {
    let results: Mutex<Vec<Option<TestResult>>> = Mutex::new(vec![None; cases.len()]);
    let (next, done) = (AtomicUsize::new(0), AtomicUsize::new(0));
    steps.tests_run(0, cases.len());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_PARALLEL_TESTS);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(index) else { break };
                let result = run_case(tree, case, limits, clock);
                results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                steps.tests_run(done.fetch_add(1, Ordering::Relaxed) + 1, cases.len());
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

fn run_case(tree: &GradedTree, case: &Case, limits: &RunLimits, clock: &TestClock) -> TestResult {
    let full_name = format!("{}::{}", case.binary.target_name, case.name);
    let timeout = clock.timeout(&full_name);
    // No --nocapture: what the student prints stays in libtest's capture and
    // cannot pose as libtest's own report.
    let command = launch::command(case.copy, &case.binary.package_dir, &case.name);
    // A scratch directory and an empty pipe on stdin, as the harness gets
    // (see `launch`): student code cannot tell a test from the harness by them.
    let scratch = match launch::scratch_dir(tree) {
        Ok(dir) => dir,
        Err(error) => return not_run(full_name, &format!("could not start the test: {error}")),
    };
    let writable = [scratch.path().to_path_buf()];
    let mut command = tree.confine(
        &command,
        Activity::Run {
            writable: &writable,
        },
    );
    let no_input = Some(&[][..]);
    match sandbox::run_confined(
        &mut command,
        no_input,
        timeout.limit,
        limits.output_cap_bytes,
    ) {
        Ok(output) => {
            clock.record(output.elapsed, output.timed_out);
            judge(full_name, &case.name, &output, &timeout, limits)
        }
        Err(error) => not_run(full_name, &format!("could not start the test: {error}")),
    }
}

/// A test passed only when its process exited 0 and libtest itself reported
/// it: `test <name> ... ok` followed by a summary of exactly one passed test.
fn judge(
    full_name: String,
    name: &str,
    output: &RunOutput,
    timeout: &Timeout,
    limits: &RunLimits,
) -> TestResult {
    let stdout = output.stdout.text();
    let reported_ok = libtest_reported_ok(&stdout, name);
    let reported_failed = report_starts(name)
        .iter()
        .any(|start| stdout.lines().any(|line| line == format!("{start}FAILED")));
    let (status, note) = if output.timed_out {
        (
            TestStatus::TimedOut,
            Some(format!(
                "test {name} timed out after {timeout} and was killed: an endless loop, or waiting for something that never comes?"
            )),
        )
    } else if output.success() && reported_ok {
        (TestStatus::Passed, None)
    } else if reported_failed {
        (TestStatus::Failed, None)
    } else {
        (
            TestStatus::NotRun,
            Some(format!(
                "test {name} never reported a result: its process ended early ({}). Does the code call std::process::exit or abort?",
                output.describe_end(timeout.limit)
            )),
        )
    };
    let output_text = if status == TestStatus::Passed {
        String::new()
    } else {
        let mut text = note.map(|n| n + "\n").unwrap_or_default();
        text.push_str(stdout.trim());
        let stderr = output.stderr.text();
        if !stderr.trim().is_empty() {
            text.push_str("\n--- stderr ---\n");
            text.push_str(stderr.trim());
        }
        cargo::cap_text(&text, limits.output_cap_bytes)
    };
    TestResult {
        name: full_name,
        status,
        seconds: output.elapsed.as_secs_f64(),
        points: 0.0,
        max_points: 0.0,
        failure: failure_message(&output_text),
        output: output_text,
    }
}

/// libtest prints `test <name> ... ` before the test runs and `ok` after it,
/// then the summary. Output the test wrote around libtest's capture (to the
/// raw stdout) may sit between the two halves of the line: allowed, as long
/// as `ok` ends what comes before the summary.
fn libtest_reported_ok(stdout: &str, name: &str) -> bool {
    report_starts(name).iter().any(|start| {
        let Some(line_start) = stdout
            .match_indices(start.as_str())
            .map(|(at, _)| at)
            .find(|&at| at == 0 || stdout[..at].ends_with('\n'))
        else {
            return false;
        };
        let after = &stdout[line_start + start.len()..];
        let Some(summary) = after.find("\ntest result: ok. 1 passed; 0 failed;") else {
            return false;
        };
        after[..summary].trim_end().ends_with("ok")
    })
}

/// How libtest starts a test's line: `test <name> ... `, or
/// `test <name> - should panic ... ` for a `#[should_panic]` test.
fn report_starts(name: &str) -> [String; 2] {
    [
        format!("test {name} ... "),
        format!("test {name} - should panic ... "),
    ]
}

fn not_run(name: String, why: &str) -> TestResult {
    TestResult {
        name,
        status: TestStatus::NotRun,
        seconds: 0.0,
        points: 0.0,
        max_points: 0.0,
        failure: failure_message(why),
        output: why.to_owned(),
    }
}

/// The lines of a failing test's output worth showing: what the panic said,
/// or the note on why it never reported.
pub fn failure_message(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let start = match lines.iter().position(|l| l.contains("panicked at")) {
        Some(i) => i + 1,
        None => 0,
    };
    // After the panic's own words libtest lists the failed tests again and
    // sums up: its "failures:" and "test result:" lines say nothing new.
    let message: Vec<&str> = lines[start.min(lines.len())..]
        .iter()
        .copied()
        .take_while(|l| *l != "failures:" && !l.starts_with("test result: "))
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .take(FAILURE_LINES)
        .collect();
    (!message.is_empty()).then(|| message.join("\n"))
}

/// When the tests do not build, the expected tests as far as the test files'
/// sources tell: each `#[test]` function of the package's integration tests.
pub(super) fn tests_in_sources(tree: &GradedTree, package: &str) -> Vec<String> {
    sources(tree, package)
        .into_iter()
        .flat_map(|(target, source)| {
            test_functions(&source)
                .into_iter()
                .map(move |f| format!("{target}::{f}"))
        })
        .collect()
}

/// What each test of the package's integration tests waits by design
/// (`<target>::<test>`, see [`super::waits`]), from the instructor's test files.
pub(super) fn declared_waits(tree: &GradedTree, package: &str) -> BTreeMap<String, Duration> {
    sources(tree, package)
        .into_iter()
        .flat_map(|(target, source)| {
            super::waits::declared_waits(&source)
                .into_iter()
                .map(move |(test, wait)| (format!("{target}::{test}"), wait))
        })
        .collect()
}

/// The source of each integration test target of `package`, by target name.
fn sources(tree: &GradedTree, package: &str) -> Vec<(String, String)> {
    test_files(tree, package)
        .into_iter()
        .filter_map(|(target, file)| Some((target, std::fs::read_to_string(file).ok()?)))
        .collect()
}

/// The package's integration test targets, each with its file, as cargo
/// reads the manifest (nothing is built); empty when cargo cannot say.
pub fn test_files(tree: &GradedTree, package: &str) -> Vec<(String, PathBuf)> {
    let mut command = cargo::command(tree, "metadata");
    command.args(["--no-deps", "--format-version", "1"]);
    let Ok(output) = sandbox::run(&mut command, Duration::from_secs(60), 16 * 1024 * 1024) else {
        return Vec::new();
    };
    let Ok(metadata) = serde_json::from_slice::<Metadata>(&output.stdout.head) else {
        return Vec::new();
    };
    metadata
        .packages
        .into_iter()
        .filter(|p| p.name == package)
        .flat_map(|p| p.targets)
        .filter(|t| t.kind.iter().any(|k| k == "test"))
        .map(|t| (t.name, t.src_path))
        .collect()
}

/// The functions marked `#[test]` at the top level of a test file.
fn test_functions(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut marked = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[test]") {
            marked = true;
        } else if marked && !line.starts_with("#[") && !line.starts_with("//") {
            let after_fn = line.split_once("fn ").map(|(_, rest)| rest);
            if let Some(rest) = after_fn {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
            marked = false;
        }
    }
    names
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetadataPackage>,
}

#[derive(Deserialize)]
struct MetadataPackage {
    name: String,
    targets: Vec<MetadataTarget>,
}

#[derive(Deserialize)]
struct MetadataTarget {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::ExitStatus;

    fn limits() -> RunLimits {
        RunLimits {
            test_timeout: Duration::from_secs(5),
            harness_timeout: Duration::from_secs(5),
            output_cap_bytes: 10_000,
        }
    }

    fn timeout() -> Timeout {
        super::super::timeouts::test_timeout(Duration::from_secs(5), None, None)
    }

    #[test]
    fn tests_run_in_the_order_their_file_defines_them() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("ex.rs");
        let text = "#[test]\nfn serial_first() {}\n#[test]\nfn pool_second() {}\n";
        std::fs::write(&source, text).unwrap();
        let binary = Executable {
            target_name: "ex".into(),
            kind: "test".into(),
            path: dir.path().join("ex-1234"),
            package_dir: dir.path().to_owned(),
            source,
        };
        // libtest lists them alphabetically; one is not in the file.
        let mut cases: Vec<Case> = ["made_by_a_macro", "pool_second", "serial_first"]
            .into_iter()
            .map(|name| Case {
                binary: &binary,
                copy: &binary.path,
                name: name.into(),
            })
            .collect();
        in_source_order(&mut cases);
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["serial_first", "pool_second", "made_by_a_macro"]);
    }

    /// The status of a process that exited with `code`.
    #[cfg(unix)]
    fn exited(code: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(code << 8)
    }

    #[cfg(windows)]
    fn exited(code: i32) -> ExitStatus {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(code.cast_unsigned())
    }

    fn output(code: i32, stdout: &str) -> RunOutput {
        RunOutput {
            status: Some(exited(code)),
            timed_out: false,
            stdout: sandbox::Captured {
                head: stdout.as_bytes().to_vec(),
                tail: Vec::new(),
                total_bytes: stdout.len(),
            },
            stderr: sandbox::Captured::default(),
            elapsed: Duration::from_millis(10),
        }
    }

    const PASSED: &str = "\nrunning 1 test\ntest adds ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.00s\n\n";

    fn status(code: i32, stdout: &str) -> TestStatus {
        judge(
            "ex::adds".into(),
            "adds",
            &output(code, stdout),
            &timeout(),
            &limits(),
        )
        .status
    }

    #[test]
    fn libtests_own_report_passes() {
        assert_eq!(status(0, PASSED), TestStatus::Passed);
    }

    #[test]
    fn exit_zero_without_a_report_is_not_a_pass() {
        // What std::process::exit(0) inside the test leaves on stdout.
        let result = judge(
            "ex::adds".into(),
            "adds",
            &output(0, "\nrunning 1 test\n"),
            &timeout(),
            &limits(),
        );
        assert_eq!(result.status, TestStatus::NotRun);
        assert!(
            result.output.contains("never reported"),
            "{}",
            result.output
        );
    }

    #[test]
    fn a_summary_of_other_tests_is_not_a_pass() {
        let fake = "\nrunning 1 test\ntest result: ok. 99 passed; 0 failed;\n";
        assert_eq!(status(0, fake), TestStatus::NotRun);
        let other = "test other ... ok\ntest result: ok. 1 passed; 0 failed;\n";
        assert_eq!(status(0, other), TestStatus::NotRun);
    }

    #[test]
    fn should_panic_tests_are_reported_with_a_note() {
        let ok = "\nrunning 1 test\ntest adds - should panic ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored\n";
        assert_eq!(status(0, ok), TestStatus::Passed);
        let failed = "\nrunning 1 test\ntest adds - should panic ... FAILED\n\nfailures:\n";
        assert_eq!(status(101, failed), TestStatus::Failed);
    }

    #[test]
    fn raw_output_inside_the_report_line_is_tolerated() {
        let noisy = "\nrunning 1 test\ntest adds ... raw noise\nmore\nok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored\n";
        assert_eq!(status(0, noisy), TestStatus::Passed);
        let other_name = "test adds_more ... ok\n\ntest result: ok. 1 passed; 0 failed;\n";
        assert_eq!(status(0, other_name), TestStatus::NotRun);
        let not_ok = "test adds ... FAILED\n\ntest result: ok. 1 passed; 0 failed;\n";
        assert_eq!(status(0, not_ok), TestStatus::Failed);
    }

    #[test]
    fn a_report_with_a_failing_exit_is_not_a_pass() {
        assert_eq!(status(101, PASSED), TestStatus::NotRun);
        let failed = "\nrunning 1 test\ntest adds ... FAILED\n\nfailures:\n";
        assert_eq!(status(101, failed), TestStatus::Failed);
    }

    #[test]
    fn a_timeout_says_which_test_hung() {
        let mut out = output(0, "\nrunning 1 test\n");
        out.status = None;
        out.timed_out = true;
        let result = judge("ex::adds".into(), "adds", &out, &timeout(), &limits());
        assert_eq!(result.status, TestStatus::TimedOut);
        assert!(
            result.output.contains("test adds timed out after 5s"),
            "{}",
            result.output
        );
    }

    #[test]
    fn the_failure_message_is_what_the_panic_said() {
        let panicked = "\nthread 't' panicked at tests/ex01.rs:3:5:\nnot yet implemented: read README.md\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            failure_message(panicked).as_deref(),
            Some("not yet implemented: read README.md")
        );
        let with_libtest_trailer = format!(
            "running 1 test\ntest t ... FAILED\n\nfailures:\n\n---- t stdout ----\n{panicked}\n\nfailures:\n    t\n\ntest result: FAILED. 0 passed; 1 failed"
        );
        assert_eq!(
            failure_message(&with_libtest_trailer).as_deref(),
            Some("not yet implemented: read README.md")
        );
        assert_eq!(failure_message(""), None);
        assert_eq!(
            failure_message("killed after 60 s").as_deref(),
            Some("killed after 60 s")
        );
        let failed = "\nrunning 1 test\ntest adds ... FAILED\n\nfailures:\n";
        let result = judge(
            "ex::adds".into(),
            "adds",
            &output(101, failed),
            &timeout(),
            &limits(),
        );
        assert!(result.failure.is_some());
        assert_eq!(
            judge(
                "ex::adds".into(),
                "adds",
                &output(0, PASSED),
                &timeout(),
                &limits()
            )
            .failure,
            None
        );
    }

    #[test]
    fn test_functions_are_found_in_sources() {
        let source = "use x;\n\n#[test]\nfn first() {}\n\n#[test]\n#[should_panic]\n// why\nfn second_one() {\n}\nfn helper() {}\n";
        assert_eq!(test_functions(source), ["first", "second_one"]);
    }
}
