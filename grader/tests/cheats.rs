//! Submissions that try to earn what they did not: each is graded with the
//! runner's API and must get no point it did not earn.
//!
//! Each fixture under `tests/fixtures/cheats/<name>/` is a submission: a
//! reference solution with one change. Only the affected exercise is graded.

use grader::model::{TestResult, TestStatus};
use grader::runner::{self, HarnessEnv, Limits, TestsOutcome};
use grader::workspace::{self, GradedTree, Source};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One grading at a time: parallel test processes of several cases would
/// disturb the timing cases and overload a 2-core machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The course as the instructor wrote it: its exercise directories and the
/// files it gives students complete.
fn course() -> grader::course::Course {
    grader::course::Course::load(&course_root().join("course.yaml")).unwrap()
}

fn limits(test_timeout: Duration) -> Limits {
    Limits {
        test_timeout,
        harness_timeout: Duration::from_secs(120),
        output_cap_bytes: 64 * 1024,
    }
}

fn submission(fixture: &str) -> GradedTree {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cheats")
        .join(fixture);
    let course = course();
    let dirs: Vec<PathBuf> = course.exercises.iter().map(|e| e.dir.clone()).collect();
    let given: Vec<PathBuf> = course
        .exercises
        .iter()
        .flat_map(|e| e.given_files())
        .collect();
    workspace::prepare(&course_root(), &dirs, &given, &Source::Submission(dir)).unwrap()
}

fn grade_tests(fixture: &str, package: &str, test_timeout: Duration) -> TestsOutcome {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = submission(fixture);
    let start = Instant::now();
    let outcome = runner::run_tests(&tree, package, &limits(test_timeout));
    eprintln!(
        "{fixture}: {} tests, build {:.1}s, tests {:.1}s, total {:.1}s",
        outcome.tests.len(),
        outcome.build_seconds,
        outcome.test_seconds,
        start.elapsed().as_secs_f64()
    );
    outcome
}

fn result<'a>(outcome: &'a TestsOutcome, name: &str) -> &'a TestResult {
    outcome
        .tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name} in {:#?}", outcome.tests))
}

fn passed(outcome: &TestsOutcome) -> Vec<&str> {
    outcome
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .map(|t| t.name.as_str())
        .collect()
}

/// ex01's tests, as the instructor wrote them.
const EX01_TESTS: usize = 11;

#[test]
fn edited_tests_are_replaced_by_the_instructors() {
    let outcome = grade_tests("edited-tests", "ex01", Duration::from_secs(20));
    assert_eq!(outcome.build_error, None);
    assert_eq!(outcome.tests.len(), EX01_TESTS);
    assert_eq!(passed(&outcome), Vec::<&str>::new(), "{:#?}", outcome.tests);
    let stub = result(&outcome, "ex01::do_science_squares");
    assert_eq!(stub.status, TestStatus::Failed);
    assert!(
        stub.output.contains("not yet implemented"),
        "{}",
        stub.output
    );
}

#[test]
fn a_printed_test_summary_earns_nothing() {
    let outcome = grade_tests("fake-summary", "ex01", Duration::from_secs(20));
    for name in [
        "ex01::science_loop_squares_every_input_in_order",
        "ex01::science_loop_of_nothing_is_empty",
        "ex01::science_map_agrees_with_science_loop",
    ] {
        assert_ne!(result(&outcome, name).status, TestStatus::Passed, "{name}");
    }
    // The rest of the solution still earns its points.
    assert_eq!(
        passed(&outcome).len(),
        EX01_TESTS - 3,
        "{:#?}",
        outcome.tests
    );
}

#[test]
fn exiting_with_success_inside_a_test_earns_nothing() {
    let outcome = grade_tests("exit-zero", "ex01", Duration::from_secs(20));
    for name in [
        "ex01::science_map_squares_every_input_in_order",
        "ex01::science_map_agrees_with_science_loop",
    ] {
        let test = result(&outcome, name);
        assert_eq!(test.status, TestStatus::NotRun, "{name}");
        assert!(test.output.contains("never reported"), "{}", test.output);
    }
    assert_eq!(passed(&outcome).len(), EX01_TESTS - 2);
}

#[test]
fn an_endless_loop_times_out_and_says_which_test_hung() {
    let timeout = Duration::from_secs(2);
    let start = Instant::now();
    let outcome = grade_tests("endless-loop", "ex01", timeout);
    let hung: Vec<&TestResult> = outcome
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::TimedOut)
        .collect();
    let names: Vec<&str> = hung.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ex01::map_serial_applies_any_function_in_order",
            "ex01::map_serial_builds_results_of_a_new_type",
            "ex01::map_serial_calls_the_function_once_per_item",
        ]
    );
    for test in hung {
        let short = test.name.trim_start_matches("ex01::");
        assert!(
            test.output
                .contains(&format!("test {short} timed out after 2s")),
            "{}",
            test.output
        );
        assert!(test.seconds < 10.0, "{}", test.seconds);
    }
    assert_eq!(passed(&outcome).len(), EX01_TESTS - 3);
    // Killed, not waited for: three 2-second timeouts, two at a time.
    assert!(outcome.test_seconds < 30.0, "{}", outcome.test_seconds);
    assert!(start.elapsed() < Duration::from_secs(600));
}

#[test]
fn a_panic_fails_its_tests_and_the_harness_records_it() {
    let outcome = grade_tests("panic", "ex01", Duration::from_secs(20));
    let test = result(&outcome, "ex01::do_science_squares");
    assert_eq!(test.status, TestStatus::Failed);
    assert!(
        test.output.contains("do_science gave up"),
        "{}",
        test.output
    );
    // map_serial and map_lazy with closures of their own do not call do_science.
    assert!(
        passed(&outcome).len() < EX01_TESTS - 3,
        "{:#?}",
        outcome.tests
    );

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = submission("panic");
    let env = HarnessEnv {
        repeats: 1,
        time_unit_ms: 10.0,
    };
    let harness = runner::run_harness(&tree, "ex01", &env, &limits(Duration::from_secs(20)));
    let measurements = harness.measurements.expect("the harness catches the panic");
    let loop_seconds = measurements
        .metrics
        .iter()
        .find(|m| m.name == "loop_seconds")
        .expect("loop_seconds is reported");
    assert!(loop_seconds.values.is_empty(), "{loop_seconds:?}");
    let error = loop_seconds.error.as_deref().unwrap_or_default();
    assert!(error.contains("do_science gave up"), "{error}");
}

#[test]
fn a_compile_error_costs_only_its_exercise() {
    let outcome = grade_tests("compile-error", "ex01", Duration::from_secs(20));
    let error = outcome.build_error.as_deref().expect("a build error");
    assert!(error.contains("error"), "{error}");
    assert!(error.contains("src/lib.rs"), "{error}");
    assert!(error.len() < 5000, "{error}");
    // Every expected test is listed, none ran.
    assert_eq!(outcome.tests.len(), EX01_TESTS, "{:#?}", outcome.tests);
    assert!(outcome.tests.iter().all(|t| t.status == TestStatus::NotRun));
    assert!(outcome
        .tests
        .iter()
        .any(|t| t.name == "ex01::do_science_squares"));
    // The same submission's ex02 builds on its own and earns its points.
    let other = grade_tests("compile-error", "ex02", Duration::from_secs(30));
    assert_eq!(other.build_error, None);
    assert_eq!(
        passed(&other).len(),
        other.tests.len(),
        "{:#?}",
        other.tests
    );
}

#[test]
fn a_build_script_never_runs() {
    let outcome = grade_tests("build-script", "ex01", Duration::from_secs(20));
    assert_eq!(outcome.build_error, None);
    assert_eq!(passed(&outcome).len(), EX01_TESTS, "{:#?}", outcome.tests);
}

#[test]
fn megabytes_of_output_are_capped() {
    let outcome = grade_tests("huge-output", "ex01", Duration::from_secs(60));
    let cap = 64 * 1024;
    // Noise around the capture does not hide libtest's report.
    let noisy = result(&outcome, "ex01::science_loop_squares_every_input_in_order");
    assert_eq!(noisy.status, TestStatus::Passed, "{}", noisy.output);
    let chatty = result(&outcome, "ex01::science_map_squares_every_input_in_order");
    assert_eq!(chatty.status, TestStatus::Failed);
    assert!(chatty.output.len() <= cap + 100, "{}", chatty.output.len());
    assert!(chatty.output.contains("chatter"));
}

/// Run the harness of `package` on a fixture, at a short time unit.
fn measure(fixture: &str, package: &str) -> common::observe::Measurements {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = submission(fixture);
    let env = HarnessEnv {
        repeats: 1,
        time_unit_ms: 20.0,
    };
    let outcome = runner::run_harness(&tree, package, &env, &limits(Duration::from_secs(20)));
    eprintln!(
        "{fixture} harness: build {:.1}s, run {:.1}s",
        outcome.build_seconds, outcome.run_seconds
    );
    outcome
        .measurements
        .unwrap_or_else(|error| panic!("{error}"))
}

/// min(metric) in time units.
fn units(measurements: &common::observe::Measurements, metric: &str) -> f64 {
    let min = |name: &str| {
        let metric = measurements
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name} in {measurements:#?}"));
        metric.values.iter().copied().fold(f64::INFINITY, f64::min)
    };
    min(metric) / min("unit")
}

#[test]
fn a_pool_that_joins_each_thread_before_the_next_is_seen_to_be_serial() {
    let outcome = grade_tests("serial-pool", "ex02", Duration::from_secs(30));
    assert_eq!(outcome.build_error, None);
    // Its answers are right, so most tests pass; only the timing shows.
    assert!(
        result(&outcome, "ex02::pool_map_returns_results_in_input_order").status
            == TestStatus::Passed
    );
    let measurements = measure("serial-pool", "ex02");
    let threads = units(&measurements, "threads_seconds");
    eprintln!(
        "serial-pool: {} of {} tests passed, threads_seconds = {threads:.2} units",
        passed(&outcome).len(),
        outcome.tests.len()
    );
    // The sum of [1, 8, 1.5, 2] is 12.5 units; a real pool of 2 takes 8.
    assert!(threads > 11.5, "threads_seconds = {threads:.2} units");
    assert!(threads < 14.5, "threads_seconds = {threads:.2} units");
}

#[test]
fn printed_or_written_fake_measurements_do_not_count() {
    let measurements = measure("fake-measurements", "ex02");
    // The harness's own file, not the fake one: every metric is there.
    assert!(measurements
        .metrics
        .iter()
        .any(|m| m.name == "serial_seconds"));
    let threads = units(&measurements, "threads_seconds");
    assert!(threads > 11.5, "threads_seconds = {threads:.2} units");
}

#[test]

fn a_countdown_without_black_box_is_seen_to_do_nothing() {
    let measurements = measure("no-black-box", "ex03");
    let ratio = units(&measurements, "crunch4_seconds") / units(&measurements, "crunch1_seconds");
    eprintln!("no-black-box: crunch4 / crunch1 = {ratio:.2}");
    // A loop that really runs takes 4 times as long for 4 times the work.
    assert!(
        !(3.3..=4.8).contains(&ratio),
        "crunch4 / crunch1 = {ratio:.2}"
    );
}
