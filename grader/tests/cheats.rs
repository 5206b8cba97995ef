//! Submissions that try to earn what they did not: each is graded with the
//! runner's API and must get no point it did not earn.
//!
//! Each cheat is a reference solution with one change, written in the test
//! that grades it: exact edits of `solutions/<exercise>/src/**`, plus files
//! it adds, kept under `tests/fixtures/cheats/<name>/exercises/`. The
//! submission is built at test time, so it follows the solutions as they
//! change. Only the affected exercise is graded; the others keep their stubs.

use grader::grade;
use grader::model::{ExerciseReport, ObservationResult, TestResult, TestStatus, Verdict};
use grader::report::progress::Progress;
use grader::runner::{self, HarnessInput, RunLimits, TestsOutcome};
use grader::workspace::{self, GradedTree, Source};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod support;
use support::{copy_tree, course, repo_root};

/// One grading at a time: parallel test processes of several cases would
/// disturb the timing cases and overload a 2-core machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const EX01_LIB: &str = "ex01-serial-map/src/lib.rs";
const EX02_LIB: &str = "ex02-threaded-query/src/lib.rs";
const EX03_LIB: &str = "ex03-process-crunch/src/lib.rs";
const EX04_LIB: &str = "ex04-speedup-sweep/src/lib.rs";

fn limits(test_timeout: Duration) -> RunLimits {
    RunLimits {
        test_timeout,
        harness_timeout: Duration::from_secs(120),
        output_cap_bytes: 64 * 1024,
    }
}

/// A submission: the reference solutions of the exercises a cheat touches,
/// with the cheat written in. Paths are relative to `exercises/`, starting
/// with the exercise's directory.
struct Cheat {
    name: &'static str,
    /// Exercise directories whose solution `src` the submission starts from.
    solutions: Vec<&'static str>,
    edits: Vec<Edit>,
    /// Files copied from `tests/fixtures/cheats/<name>/exercises/`.
    added: Vec<&'static str>,
}

/// Replace the only occurrence of `find` in `file` by `replace`.
struct Edit {
    file: &'static str,
    find: &'static str,
    replace: &'static str,
}

impl Cheat {
    fn named(name: &'static str) -> Cheat {
        Cheat {
            name,
            solutions: Vec::new(),
            edits: Vec::new(),
            added: Vec::new(),
        }
    }

    /// Start the exercise in `dir` from its reference solution.
    fn solution(mut self, dir: &'static str) -> Cheat {
        if !self.solutions.contains(&dir) {
            self.solutions.push(dir);
        }
        self
    }

    /// Edit a solution file: its exercise starts from the solution.
    fn replace(self, file: &'static str, find: &'static str, replace: &'static str) -> Cheat {
        let (dir, _) = file.split_once('/').expect("a path inside an exercise");
        let mut cheat = self.solution(dir);
        cheat.edits.push(Edit {
            file,
            find,
            replace,
        });
        cheat
    }

    /// Add a file of the cheat's fixture to the submission.
    fn add(mut self, file: &'static str) -> Cheat {
        self.added.push(file);
        self
    }

    /// Write the submission into a fresh directory and prepare it for
    /// grading as a student's repository.
    fn submission(&self) -> GradedTree {
        let root = self.written();
        let course = course();
        let dirs: Vec<PathBuf> = course.exercises.iter().map(|e| e.dir.clone()).collect();
        let given: Vec<PathBuf> = course
            .exercises
            .iter()
            .flat_map(|e| e.given_files())
            .collect();
        // `prepare` copies what it takes: `root` may go once it returns.
        let source = Source::Submission(root.path().to_path_buf());
        workspace::prepare(&repo_root(), &dirs, &given, &source).unwrap()
    }

    /// The submission as a student's repository, in a fresh directory.
    fn written(&self) -> tempfile::TempDir {
        let root = tempfile::Builder::new()
            .prefix(&format!("cheat-{}-", self.name))
            .tempdir()
            .unwrap();
        let exercises = root.path().join("exercises");
        fs::create_dir_all(&exercises).unwrap();
        for dir in &self.solutions {
            let from = repo_root().join("solutions").join(dir).join("src");
            copy_tree(&from, &exercises.join(dir).join("src"));
        }
        for edit in &self.edits {
            let path = exercises.join(edit.file);
            let text = fs::read_to_string(&path).unwrap();
            let found = text.matches(edit.find).count();
            assert!(
                found == 1,
                "cheat {}: solutions/{} should contain {:?} once, found it {found} times; \
                 update the cheat to the solution",
                self.name,
                edit.file,
                edit.find
            );
            fs::write(&path, text.replacen(edit.find, edit.replace, 1)).unwrap();
        }
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cheats")
            .join(self.name)
            .join("exercises");
        for file in &self.added {
            let to = exercises.join(file);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(fixture.join(file), &to)
                .unwrap_or_else(|e| panic!("cheat {}: cannot add {file}: {e}", self.name));
        }
        root
    }
}

fn grade_tests(cheat: &Cheat, package: &str, test_timeout: Duration) -> TestsOutcome {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = cheat.submission();
    let start = Instant::now();
    let outcome = runner::run_tests(&tree, package, &limits(test_timeout));
    eprintln!(
        "{}: {} tests, build {:.1}s, tests {:.1}s, total {:.1}s",
        cheat.name,
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
    named(outcome, |status| status == TestStatus::Passed)
}

/// The tests that did not pass (failed, timed out or never reported).
fn failed(outcome: &TestsOutcome) -> Vec<&str> {
    named(outcome, |status| status != TestStatus::Passed)
}

fn named(outcome: &TestsOutcome, keep: impl Fn(TestStatus) -> bool) -> Vec<&str> {
    outcome
        .tests
        .iter()
        .filter(|t| keep(t.status))
        .map(|t| t.name.as_str())
        .collect()
}

/// ex01's tests, as the instructor wrote them.
const EX01_TESTS: usize = 11;

#[test]
fn edited_tests_are_replaced_by_the_instructors() {
    // Tests edited to pass on the stubs, which stay as they are.
    let cheat = Cheat::named("edited-tests").add("ex01-serial-map/tests/ex01.rs");
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
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
    // science_loop poses as libtest's summary and returns a wrong answer.
    let cheat = Cheat::named("fake-summary").replace(
        EX01_LIB,
        "let mut results = Vec::with_capacity(inputs.len());",
        r#"// Pose as libtest: through the capture and around it.
    const FAKE: &str = "ok\n\ntest result: ok. 99 passed; 0 failed; 0 ignored\n";
    println!("{FAKE}");
    std::io::Write::write_all(&mut std::io::stdout(), FAKE.as_bytes()).unwrap();
    let mut results = Vec::with_capacity(inputs.len() + 1);
    results.push(0);"#,
    );
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
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
    // science_map ends the test process with success before a test can fail.
    let cheat = Cheat::named("exit-zero").replace(
        EX01_LIB,
        "inputs.iter().map(|&x| do_science(x)).collect()",
        "std::process::exit(0)",
    );
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
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
    // map_serial never returns.
    let cheat = Cheat::named("endless-loop").replace(
        EX01_LIB,
        "items.iter().map(f).collect()",
        "loop { std::hint::spin_loop() }",
    );
    let start = Instant::now();
    let outcome = grade_tests(&cheat, "ex01", timeout);
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
    // do_science panics on every input.
    let cheat =
        Cheat::named("panic").replace(EX01_LIB, "x * x", r#"panic!("do_science gave up on {x}")"#);
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
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
    let tree = cheat.submission();
    let env = HarnessInput {
        repeats: 1,
        time_unit_ms: 10.0,
        only: None,
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
    // ex01 does not compile; ex02 is the reference solution, untouched.
    let cheat = Cheat::named("compile-error")
        .replace(EX01_LIB, "x * x", r#"x * "x""#)
        .solution("ex02-threaded-query");
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
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
    let other = grade_tests(&cheat, "ex02", Duration::from_secs(30));
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
    // The solution, with a Cargo.toml that asks for a build script that panics.
    let cheat = Cheat::named("build-script")
        .solution("ex01-serial-map")
        .add("ex01-serial-map/Cargo.toml")
        .add("ex01-serial-map/build.rs");
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
    assert_eq!(outcome.build_error, None);
    assert_eq!(passed(&outcome).len(), EX01_TESTS, "{:#?}", outcome.tests);
}

#[test]
fn megabytes_of_output_are_capped() {
    // Megabytes of output: around libtest's capture from a right science_loop,
    // inside it from a wrong science_map.
    let cheat = Cheat::named("huge-output")
        .replace(
            EX01_LIB,
            "let mut results = Vec::with_capacity(inputs.len());",
            r#"let noise = "all work and no play ".repeat(1_000_000);
    std::io::Write::write_all(&mut std::io::stdout(), noise.as_bytes()).unwrap();
    std::io::Write::write_all(&mut std::io::stderr(), noise.as_bytes()).unwrap();
    let mut results = Vec::with_capacity(inputs.len());"#,
        )
        .replace(
            EX01_LIB,
            "inputs.iter().map(|&x| do_science(x)).collect()",
            r#"print!("{}", "chatter ".repeat(1_000_000));
    inputs.iter().map(|&x| do_science(x) + 1).collect()"#,
        );
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(60));
    let cap = 64 * 1024;
    // Noise around the capture does not hide libtest's report.
    let noisy = result(&outcome, "ex01::science_loop_squares_every_input_in_order");
    assert_eq!(noisy.status, TestStatus::Passed, "{}", noisy.output);
    let chatty = result(&outcome, "ex01::science_map_squares_every_input_in_order");
    assert_eq!(chatty.status, TestStatus::Failed);
    assert!(chatty.output.len() <= cap + 100, "{}", chatty.output.len());
    assert!(chatty.output.contains("chatter"));
}

/// Run the harness of `package` on a cheat, at the course's own repeats
/// and time unit.
fn measure(cheat: &Cheat, package: &str) -> protocol::observe::Measurements {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = cheat.submission();
    let defaults = course().defaults;
    let env = HarnessInput {
        repeats: defaults.repeats,
        time_unit_ms: defaults.time_unit_ms,
        only: None,
    };
    let outcome = runner::run_harness(&tree, package, &env, &limits(Duration::from_secs(20)));
    eprintln!(
        "{} harness: build {:.1}s, run {:.1}s",
        cheat.name, outcome.build_seconds, outcome.run_seconds
    );
    outcome
        .measurements
        .unwrap_or_else(|error| panic!("{error}"))
}

/// min(metric) in time units.
fn units(measurements: &protocol::observe::Measurements, metric: &str) -> f64 {
    let min = |name: &str| {
        let metric = measurements
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name} in {measurements:#?}"));
        metric.min()
    };
    min(metric) / min("unit")
}

/// ex02's pool without `collect`: the lazy iterator spawns each worker only
/// when the loop asks for it, after the previous one has been joined.
fn serial_pool(name: &'static str) -> Cheat {
    Cheat::named(name)
        .replace(EX02_LIB, "let workers: Vec<_> =", "let workers =")
        .replace(
            EX02_LIB,
            ".collect();\n        // Join only after spawning them all",
            ";\n        // Join only after spawning them all",
        )
}

#[test]
fn a_pool_that_joins_each_thread_before_the_next_is_seen_to_be_serial() {
    let cheat = serial_pool("serial-pool");
    let outcome = grade_tests(&cheat, "ex02", Duration::from_secs(30));
    assert_eq!(outcome.build_error, None);
    // Its answers are right, so most tests pass; only the timing shows.
    assert!(
        result(&outcome, "ex02::pool_map_returns_results_in_input_order").status
            == TestStatus::Passed
    );
    let measurements = measure(&cheat, "ex02");
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
    // pool_map claims 8 units for 2 threads, on stdout and in the grader's
    // file; it is the serial pool, so its real time (12.5) tells them apart.
    let cheat = serial_pool("fake-measurements").replace(
        EX02_LIB,
        "let next = AtomicUsize::new(0);",
        r##"const FAKE: &str = r#"{"format":1,"exercise":"ex02","time_unit_seconds":0.01,"cores":2,"repeats":1,"metrics":[{"name":"unit","unit":"seconds","values":[0.01]},{"name":"threads_seconds","unit":"seconds","values":[0.08]}]}"#;
    println!("{FAKE}");
    println!("threads_seconds  0.080 s");
    if let Some(path) = std::env::var_os("COURSE_MEASUREMENTS") {
        let _ = std::fs::write(path, FAKE);
    }
    // The grader's settings come on stdin: read whatever is left of it.
    let mut settings = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut settings);
    for line in settings.lines() {
        if let Some(path) = line.strip_prefix("measurements=") {
            let _ = std::fs::write(path, FAKE);
        }
    }
    let next = AtomicUsize::new(0);"##,
    );
    let measurements = measure(&cheat, "ex02");
    // The harness's own file, not the fake one: every metric is there.
    assert!(measurements
        .metrics
        .iter()
        .any(|m| m.name == "serial_seconds"));
    let threads = units(&measurements, "threads_seconds");
    assert!(threads > 11.5, "threads_seconds = {threads:.2} units");
}

// ------------------------------------------------------------------------
// Planted flaws: a correct solution with one careful student's mistake,
// graded as a student's grade is computed (course.yaml's repeats and time
// unit, measuring again what fails). Each must lose exactly its points.

/// Grade `exercise` of the cheat's submission at the course's own settings.
fn grade_fully(cheat: &Cheat, exercise: &str) -> ExerciseReport {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = cheat.written();
    let options = grade::Options {
        exercises: vec![exercise.to_owned()],
        source: Source::Submission(root.path().to_path_buf()),
        repeats: None,
        observations: true,
        // These cheats are judged by the tests and observations themselves;
        // the source scan has its own tests (tests/attacks.rs).
        strict: false,
        build_stubs: false,
    };
    let start = Instant::now();
    let report = grade::grade(&course(), &options, &Progress::quiet())
        .unwrap_or_else(|e| panic!("cheat {}: {e:#}", cheat.name));
    assert_eq!(report.exercises.len(), 1);
    let report = report.exercises.into_iter().next().unwrap();
    eprintln!(
        "{}: {:.1} of {:.1} points in {:.1}s; lost tests {:?}, observations {:?}",
        cheat.name,
        report.score,
        report.max_score,
        start.elapsed().as_secs_f64(),
        lost_tests(&report),
        lost_observations(&report)
    );
    for o in &report.observations {
        eprintln!("  {} {:?}: {}", o.id, o.verdict, o.reason);
    }
    report
}

/// The tests that did not pass, without the test target's prefix.
fn lost_tests(report: &ExerciseReport) -> Vec<&str> {
    report
        .tests
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .map(|t| t.name.split_once("::").map_or(t.name.as_str(), |(_, n)| n))
        .collect()
}

/// The observations that earned nothing.
fn lost_observations(report: &ExerciseReport) -> Vec<&str> {
    report
        .observations
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .map(|o| o.id.as_str())
        .collect()
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

/// The cheat lost exactly these tests and observations, and the points
/// they are worth. Any other observation passed, or was inconclusive: a busy
/// machine can leave a right one unjudged, never fail it for the cheat.
fn assert_lost(report: &ExerciseReport, tests: &[&str], observations: &[&str]) {
    assert_lost_within(report, (tests, &[]), (observations, &[]));
}

/// [`assert_lost`], where the tests and observations of each pair's second
/// list may be lost too: they see the same flaw, but not on every run.
fn assert_lost_within(
    report: &ExerciseReport,
    (tests, maybe_tests): (&[&str], &[&str]),
    (observations, maybe_observations): (&[&str], &[&str]),
) {
    let required: Vec<&str> = lost_tests(report)
        .into_iter()
        .filter(|t| !maybe_tests.contains(t))
        .collect();
    assert_eq!(sorted(required), sorted(tests.to_vec()), "tests lost");
    let lost = lost_observations(report);
    for id in observations {
        assert!(lost.contains(id), "{id} should be lost; lost {lost:?}");
    }
    let unjudged: Vec<&ObservationResult> = report
        .observations
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .filter(|o| {
            ![observations, maybe_observations]
                .concat()
                .contains(&o.id.as_str())
        })
        .collect();
    for o in &unjudged {
        assert_eq!(
            o.verdict,
            Verdict::Inconclusive,
            "{} was not expected to be lost: {}",
            o.id,
            o.reason
        );
    }
    let test_points: f64 = report
        .tests
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .map(|t| t.max_points)
        .sum();
    let observation_points: f64 = report
        .observations
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .map(|o| o.max_points)
        .sum();
    let expected = test_points + observation_points;
    assert!(
        (report.max_score - report.score - expected).abs() < 1e-6,
        "lost {} points, expected {expected}",
        report.max_score - report.score
    );
}

#[test]
fn secret_threaded_with_a_thread_per_query_loses_its_test() {
    let cheat = Cheat::named("secret-thread-per-query").replace(
        EX02_LIB,
        "pool_map(queries, n_threads, |q| secret_database::query(q))",
        "pool_map(queries, queries.len().max(n_threads), |q| secret_database::query(q))",
    );
    let report = grade_fully(&cheat, "ex02");
    assert_lost(&report, &["secret_threaded_asks_on_at_most_n_threads"], &[]);
}

#[test]
fn pool_map_with_a_thread_per_item_loses_its_tests() {
    // Every caller of pool_map gets a thread per item.
    let cheat = Cheat::named("pool-thread-per-item").replace(
        EX02_LIB,
        "(0..n_threads.min(items.len()))",
        "(0..items.len())",
    );
    let report = grade_fully(&cheat, "ex02");
    assert_lost_within(
        &report,
        (
            &[
                "pool_map_never_runs_on_more_than_n_threads",
                "threaded_queries_answer_in_order",
                "two_threads_hand_out_queries_in_order",
                "secret_threaded_asks_on_at_most_n_threads",
            ],
            // When the extra threads start in time to show.
            &[
                "pool_map_runs_exactly_n_threads_at_once",
                "pool_map_with_one_thread_takes_the_items_in_input_order",
            ],
        ),
        (&["in-order-handout", "long-last-is-slower"], &[]),
    );
}

#[test]
fn crunching_in_fixed_chunks_loses_the_hand_out_tests() {
    // ex03's pool splits the items into n_threads contiguous chunks up front.
    let cheat = Cheat::named("crunch-in-chunks").replace(
        EX03_LIB,
        r#"    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, U)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n_threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();"#,
        r#"    let chunk = items.len().div_ceil(n_threads).max(1);
    let f = &f;
    let mut results: Vec<(usize, U)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n_threads)
            .map(|t| {
                scope.spawn(move || {
                    let start = (t * chunk).min(items.len());
                    let end = (start + chunk).min(items.len());
                    (start..end).map(|i| (i, f(&items[i]))).collect::<Vec<_>>()
                })
            })
            .collect();"#,
    );
    // The harness's tasks are all equal, so chunks and a shared counter time
    // alike: only the tests can tell them apart, and only they are graded.
    let outcome = grade_tests(&cheat, "ex03", Duration::from_secs(60));
    let lost = failed(&outcome);
    assert_eq!(
        sorted(lost),
        [
            "ex03::gil_crunch_hands_out_one_item_at_a_time_in_order",
            "ex03::threaded_crunch_hands_out_one_item_at_a_time_in_order",
        ]
    );
}

#[test]
fn looking_for_the_one_worker_sample_first_loses_the_order_test() {
    // speedups checks for T(1) before it checks the times.
    let cheat = Cheat::named("sweep-check-order")
        .replace(
            "ex04-speedup-sweep/src/lib.rs",
            "    let one = samples\n        .iter()\n        .find(|s| s.workers == 1)\n        .ok_or(SweepError::NoOneWorkerSample)?;\n",
            "",
        )
        .replace(
            "ex04-speedup-sweep/src/lib.rs",
            "    // Check every time before dividing",
            "    let one = samples\n        .iter()\n        .find(|s| s.workers == 1)\n        .ok_or(SweepError::NoOneWorkerSample)?;\n    // Check every time before dividing",
        );
    let outcome = grade_tests(&cheat, "ex04", Duration::from_secs(60));
    let lost = failed(&outcome);
    assert_eq!(
        lost,
        ["ex04::a_bad_time_is_reported_before_a_missing_one_worker_sample"]
    );
}

#[test]
fn crunch_numbers_sharing_a_counter_between_calls_loses_near_ideal_at_two() {
    // Every point bumps one global counter: two threads fight over its
    // cache line.
    let cheat = Cheat::named("shared-counter")
        .replace(
            EX04_LIB,
            "    for _ in 0..x {\n",
            "    for _ in 0..x {\n        SHARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);\n",
        )
        .replace(
            EX04_LIB,
            "pub fn crunch_numbers(x: u64) -> u64 {",
            "static SHARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);\n\npub fn crunch_numbers(x: u64) -> u64 {",
        );
    let report = grade_fully(&cheat, "ex04");
    // tiny-tasks-pay-overhead divides by the slow tasks' speedup at 2, which
    // the shared counter ruins: it may fail with it.
    assert_lost_within(
        &report,
        (&[], &[]),
        (&["near-ideal-at-two"], &["tiny-tasks-pay-overhead"]),
    );
}

#[test]
fn a_countdown_without_black_box_fails_at_the_courses_own_settings() {
    // Nothing uses the counter, so release mode deletes the loop.
    let cheat =
        Cheat::named("no-black-box").replace(EX03_LIB, "std::hint::black_box(remaining);", "");
    let report = grade_fully(&cheat, "ex03");
    // Measured against the harness's own countdown, a deleted loop takes
    // next to no time at any repeat count: crunch-scales-with-x and the
    // countdown check of crunch-is-cpu-bound fail. The parallel runs then
    // time thread and process start-up against nothing, and fail with them.
    // Tasks that take no time may all be answered by the first worker
    // before the second starts: really-processes may be lost too.
    assert_lost_within(
        &report,
        (&[], &[]),
        (
            &[
                "crunch-scales-with-x",
                "crunch-is-cpu-bound",
                "threads-crunch-in-parallel",
                "processes-crunch-in-parallel",
            ],
            &["really-processes"],
        ),
    );
}

#[test]
fn a_slowed_serial_baseline_does_not_make_serial_threads_look_parallel() {
    // serial_crunch and gil_crunch do every item twice (right answers, a
    // slower baseline); threaded_crunch is a pool of one thread.
    let cheat = Cheat::named("slow-crunch-baseline")
        .replace(
            EX03_LIB,
            "    items.iter().map(|&x| train_neural_network(x)).collect()",
            "    items\n        .iter()\n        .map(|&x| {\n            train_neural_network(x);\n            train_neural_network(x)\n        })\n        .collect()",
        )
        .replace(
            EX03_LIB,
            "        train_neural_network(x)\n    })\n}",
            "        train_neural_network(x);\n        train_neural_network(x)\n    })\n}",
        )
        .replace(
            EX03_LIB,
            "    pool_map(items, n_threads, |&x| train_neural_network(x))",
            "    assert!(n_threads > 0, \"at least one thread\");\n    pool_map(items, 1, |&x| train_neural_network(x))",
        );
    let report = grade_fully(&cheat, "ex03");
    // The trace shows the one thread, and the harness's own serial loop
    // shows no speedup.
    assert_lost(
        &report,
        &["threaded_crunch_hands_out_one_item_at_a_time_in_order"],
        &["threads-crunch-in-parallel"],
    );
}

#[test]
fn a_slowed_secret_serial_does_not_make_serial_queries_look_parallel() {
    // secret_serial sleeps three more server times after each query,
    // outside its span; secret_threaded asks one query after the other.
    let cheat = Cheat::named("slow-secret-baseline")
        .replace(
            EX02_LIB,
            "    queries.iter().map(|q| secret_database::query(q)).collect()",
            "    queries\n        .iter()\n        .map(|q| {\n            let answer = secret_database::query(q);\n            common::sleep_units(3.0 * secret_database::server_time_units(q));\n            answer\n        })\n        .collect()",
        )
        .replace(
            EX02_LIB,
            "    pool_map(queries, n_threads, |q| secret_database::query(q))",
            "    let _ = n_threads;\n    queries.iter().map(|q| secret_database::query(q)).collect()",
        );
    let report = grade_fully(&cheat, "ex02");
    assert_lost(
        &report,
        &["secret_threaded_asks_on_at_most_n_threads"],
        &["secret-speedup"],
    );
}

#[test]
fn the_harness_cannot_be_told_apart_by_name_arguments_or_environment() {
    // crunch_numbers sleeps unless its process looks like the harness: then
    // it crunches honestly, to pass crunch-is-compute-bound.
    let cheat = Cheat::named("spot-the-harness")
        .replace(
            EX04_LIB,
            "pub fn crunch_numbers(x: u64) -> u64 {\n",
            r#"pub fn crunch_numbers(x: u64) -> u64 {
    if !looks_like_the_harness() {
        std::thread::sleep(std::time::Duration::from_nanos(5 * x));
        return x / 4 * 3;
    }
"#,
        )
        .replace(
            EX04_LIB,
            "/// A tiny, well-known pseudo-random generator",
            r#"/// Whatever told the harness from a test, cheaply: its executable's place,
/// name and arguments, its environment, the thread it measures on, what it
/// keeps in its scratch directory.
fn looks_like_the_harness() -> bool {
    let exe = std::env::current_exe().unwrap_or_default();
    let name = exe.file_name().map(|n| n.to_string_lossy().into_owned());
    let exe = exe.to_string_lossy();
    let environ = std::fs::read("/proc/self/environ").unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    let no_arguments = std::env::args().count() == 1;
    let on_main = std::thread::current().name() == Some("main");
    exe.contains("observe")
        || exe.contains("release")
        || (!exe.contains("/target/") && no_arguments)
        || no_arguments
        || on_main
        || !name.unwrap_or_default().contains('-')
        || std::env::args().any(|a| a == "--bench")
        || std::env::vars().any(|(k, _)| k.starts_with("COURSE_"))
        || environ.contains("COURSE_")
        || scratch_holds_files()
}

/// Inside the box /tmp is private: only the run's own directories are there,
/// and the harness's held the progress file it writes as it measures.
fn scratch_holds_files() -> bool {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return false;
    };
    entries.flatten().any(|dir| {
        std::fs::read_dir(dir.path()).is_ok_and(|files| {
            files
                .flatten()
                .any(|f| f.file_name().to_string_lossy().ends_with(".progress"))
        })
    })
}

/// A tiny, well-known pseudo-random generator"#,
        );
    let report = grade_fully(&cheat, "ex04");
    // Sleeping keeps no core busy, in the harness and in the test of the
    // same claim, and sleeping tasks overlap on more threads than there are
    // cores. Tiny sleeping tasks also overlap across the pool's processes,
    // so the overhead tiny-tasks-pay-overhead looks for can hide behind the
    // sleeps: it is lost on some runs.
    assert_lost_within(
        &report,
        (&["crunch_numbers_keeps_a_core_busy"], &[]),
        (
            &["no-faster-than-cores", "crunch-is-compute-bound"],
            &["tiny-tasks-pay-overhead"],
        ),
    );
}

#[test]
fn computing_only_in_the_harnesss_release_build_loses_the_claim() {
    // The one difference left between the harness and a test: the build.
    // crunch_numbers sleeps in debug, where the tests run, and computes in
    // release, where the harness times it.
    let cheat = Cheat::named("release-only").replace(
        EX04_LIB,
        "pub fn crunch_numbers(x: u64) -> u64 {\n",
        r#"pub fn crunch_numbers(x: u64) -> u64 {
    if cfg!(debug_assertions) {
        std::thread::sleep(std::time::Duration::from_nanos(5 * x));
        return x / 4 * 3;
    }
"#,
    );
    let report = grade_fully(&cheat, "ex04");
    // The harness's timing alone would pass: its test of the same claim
    // fails in the tests' build, so the observation fails with it.
    assert_lost(
        &report,
        &["crunch_numbers_keeps_a_core_busy"],
        &["crunch-is-compute-bound"],
    );
    let observation = report
        .observations
        .iter()
        .find(|o| o.id == "crunch-is-compute-bound")
        .unwrap();
    assert!(
        observation
            .reason
            .contains("crunch_numbers_keeps_a_core_busy"),
        "{}",
        observation.reason
    );
}

#[test]
fn a_pool_that_draws_an_in_order_schedule_it_did_not_run_earns_nothing_for_it() {
    // The pool hands the queries out from the last one, and records the
    // spans an in-order pool would have had, under the queries' own labels,
    // on threads of their own, from before the real queries started.
    let cheat = Cheat::named("forged-spans").replace(
        EX02_LIB,
        "pool_map(queries, n_threads, |&x| query_database(x))",
        r#"let started = std::time::Instant::now();
    let reversed: Vec<f64> = queries.iter().rev().copied().collect();
    let mut answers = pool_map(&reversed, n_threads, |&x| query_database(x));
    answers.reverse();
    draw_in_order(queries, n_threads, started);
    answers
}

/// Record the spans of in-order hand-out: each query on the lane that frees first.
fn draw_in_order(queries: &[f64], n_threads: usize, started: std::time::Instant) {
    let unit = common::time_unit();
    let mut free = vec![0.0_f64; n_threads.max(1)];
    let mut lanes: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); free.len()];
    for &x in queries {
        let lane = (0..free.len()).min_by(|&a, &b| free[a].total_cmp(&free[b])).unwrap();
        lanes[lane].push((x, free[lane], free[lane] + x));
        free[lane] += x;
    }
    std::thread::scope(|s| {
        for spans in &lanes {
            s.spawn(move || {
                for &(x, from, to) in spans {
                    let at = |units: f64| started + unit.mul_f64(units);
                    common::trace::record(format!("query {x}"), at(from), at(to));
                }
            });
        }
    });"#,
    );
    let report = grade_fully(&cheat, "ex02");
    let lost = lost_observations(&report);
    assert!(lost.contains(&"in-order-handout"), "lost {lost:?}");
    let tests = lost_tests(&report);
    assert!(
        tests.contains(&"two_threads_hand_out_queries_in_order"),
        "lost {tests:?}"
    );
    // The answers are right and each query was asked once: only the
    // schedule, the queries' own, shows the pool.
    for honest in [
        "threaded_queries_answer_in_order",
        "serial_queries_answer_in_order_one_after_the_other",
    ] {
        assert!(!tests.contains(&honest), "{honest} lost: {tests:?}");
    }
}

#[test]
fn student_code_cannot_name_the_grading_protocol() {
    // The protocol crate is the tests' and the harness's dev-dependency: a
    // student's src that names it does not compile, so no measurement or
    // setting of the harness is in its reach.
    let cheat = Cheat::named("names-the-protocol").replace(
        EX01_LIB,
        "pub fn do_science(",
        "extern crate protocol;\n\npub fn repeats() -> usize {\n    protocol::observe::DEFAULT_REPEATS\n}\n\npub fn do_science(",
    );
    let outcome = grade_tests(&cheat, "ex01", Duration::from_secs(20));
    let error = outcome.build_error.clone().unwrap_or_default();
    assert!(error.contains("can't find crate for `protocol`"), "{error}");
    assert!(passed(&outcome).is_empty());
}

#[test]
fn a_flood_of_trace_spans_is_cut_to_the_bounds_of_a_drawing() {
    // Every call adds 2,000 spans with labels of 1,000 characters to the
    // capture: uncut, the schedules alone would make the measurements file,
    // and every report that carries them, tens of megabytes.
    let cheat = Cheat::named("trace-flood").replace(
        EX03_LIB,
        "common::trace::span(format!(\"crunch {x}\"), || {",
        "let now = std::time::Instant::now();
    for i in 0..2000 {
        common::trace::record(format!(\"{i:#>1000}\"), now, now);
    }
    common::trace::span(format!(\"crunch {x}\"), || {",
    );
    let measurements = measure(&cheat, "ex03");
    use protocol::processes::{MAX_LABEL_CHARS, MAX_LANES, MAX_SPANS};
    assert!(!measurements.traces.is_empty(), "the schedules are kept");
    for trace in &measurements.traces {
        let longest = trace.spans.iter().map(|s| s.label.chars().count()).max();
        eprintln!(
            "trace-flood: {} keeps {} spans, labels of at most {longest:?} characters",
            trace.name,
            trace.spans.len()
        );
        assert!(trace.spans.len() <= MAX_SPANS, "{}", trace.name);
        assert!(trace.spans.iter().all(|s| s.lane < MAX_LANES));
        assert!(longest <= Some(MAX_LABEL_CHARS), "{}", trace.name);
    }
    let flooded = |name: &str| {
        measurements
            .traces
            .iter()
            .find(|t| t.name == name)
            .is_some_and(|t| t.spans.len() == MAX_SPANS)
    };
    assert!(
        flooded("threads_seconds"),
        "the flood reached the threads' schedule, and was cut there"
    );
}
