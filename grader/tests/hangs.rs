//! A broken submission costs little: submissions that hang are graded with
//! limits derived from the reference solution's times (ten times what it
//! needs, plus a few seconds; short once the exercise has hung), and a hung
//! harness leaves its observations not measured, once.
//!
//! Each submission is a reference solution with exact edits, written at
//! test time as `tests/cheats.rs` does. The assertions read the limits the
//! report states, never the clock; the wall time of each grading is printed.

use grader::commands::watch::state::{Entry, Event, State};
use grader::commands::watch::view;
use grader::grade;
use grader::model::{ExerciseReport, NotMeasuredCause, ObservationState, TestStatus};
use grader::report;
use grader::report::progress::Progress;
use grader::runner::{reference_times, timeouts, HarnessInput};
use grader::workspace::Source;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod support;
use support::{course, repo_root};

/// One grading at a time: two would share the machine's 2 cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What a submission that hangs everywhere may cost, in all.
const BUDGET: Duration = Duration::from_secs(120);

/// `solutions/<dir>/src` with each `(file, find, replace)` edit made (`find`
/// occurs once in `file`), as a student's repository in a fresh directory.
fn submission(dir: &str, edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let root = tempfile::Builder::new().prefix("hangs-").tempdir().unwrap();
    let from = repo_root().join("solutions").join(dir).join("src");
    let to = root.path().join("exercises").join(dir).join("src");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
    for (file, find, replace) in edits {
        let path = to.join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(find).count(),
            1,
            "solutions/{dir}/src/{file} should contain {find:?} once; update the edit"
        );
        fs::write(&path, text.replacen(find, replace, 1)).unwrap();
    }
    root
}

/// Grade `exercise` of the submission as a student's grade is computed,
/// with or without its observations.
fn grade(name: &str, exercise: &str, root: &Path, observations: bool) -> ExerciseReport {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let options = grade::Options {
        exercises: vec![exercise.to_owned()],
        source: Source::Submission(root.to_path_buf()),
        repeats: None,
        observations,
        // Judged by what the runs did; the source scan has its own tests.
        strict: false,
        build_stubs: false,
    };
    let start = Instant::now();
    let report = grade::grade(&course(), &options, &Progress::quiet())
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let exercise = report.exercises.into_iter().next().unwrap();
    let timed_out = exercise
        .tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::TimedOut)
        .count();
    eprintln!(
        "{name}: graded in {:.1}s (wall); {timed_out} of {} tests timed out; {:.1} of {:.1} points",
        start.elapsed().as_secs_f64(),
        exercise.tests.tests.len(),
        exercise.score,
        exercise.max_score
    );
    for o in &exercise.observations {
        eprintln!("  {} {:?}: {}", o.id, o.verdict, o.reason);
    }
    exercise
}

/// The reference's seconds per test of `exercise`, as grading recorded them
/// beside the reference's build.
fn reference_tests(exercise: &str) -> BTreeMap<String, f64> {
    let target = repo_root().join("target/grader/solutions");
    reference_times::read_tests(&target, exercise)
        .unwrap_or_else(|| panic!("no reference times for {exercise}'s tests"))
        .tests
}

/// What each test of the instructor's `test_file` waits by design.
fn declared_waits(test_file: &str) -> BTreeMap<String, Duration> {
    let source = fs::read_to_string(repo_root().join(test_file)).unwrap();
    grader::runner::waits::declared_waits(&source)
}

/// A duration as the messages write it (`sandbox::format_duration`):
/// `900ms`, `5.4s`, `60s`.
fn parse_duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else {
        Duration::from_secs_f64(text.strip_suffix('s').unwrap().parse().unwrap())
    }
}

/// Each timed-out test's stated limit, in the order the tests ran.
fn stated_limits(report: &ExerciseReport) -> Vec<(String, Duration)> {
    report
        .tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::TimedOut)
        .map(|t| {
            let (_, after) = t
                .output
                .split_once(" timed out after ")
                .unwrap_or_else(|| panic!("{} does not say its limit: {}", t.name, t.output));
            let limit = after.split_whitespace().next().unwrap();
            (t.name.clone(), parse_duration(limit))
        })
        .collect()
}

/// Every timed-out test's limit is at most ten times the reference's time
/// for it plus [`timeouts::TEST_SLACK`], and all but the first two (the
/// tests running when the first hang was seen) at most the short limit.
/// Returns their sum.
fn assert_derived_limits(report: &ExerciseReport) -> Duration {
    let reference = reference_tests(&report.id);
    let limits = stated_limits(report);
    assert!(!limits.is_empty(), "no test of {} timed out", report.id);
    // The stated limits are rounded to a tenth of a second.
    let rounding = Duration::from_millis(50);
    let ceiling = Duration::from_secs_f64(course().defaults.test_timeout_seconds);
    let waits = declared_waits(&report.test_file);
    for (index, (name, limit)) in limits.iter().enumerate() {
        let seconds = reference[name.as_str()];
        let reference = Some(Duration::from_secs_f64(seconds));
        let first = timeouts::test_timeout(ceiling, reference, None);
        let short = timeouts::test_timeout(ceiling, reference, Some(timeouts::Strain::Hung));
        // A test that waits by design gets its wait on top (runner::waits).
        let (_, test) = name.split_once("::").unwrap();
        let wait = waits.get(test).copied().unwrap_or_default();
        let allowed = if index < 2 { first.limit } else { short.limit } + wait;
        assert!(
            *limit <= allowed + rounding,
            "{name}: limit {limit:?}, derived {allowed:?} from the reference's {seconds}s"
        );
    }
    let total: Duration = limits.iter().map(|(_, limit)| *limit).sum();
    eprintln!(
        "  {} tests timed out, their limits add up to {:.1}s",
        limits.len(),
        total.as_secs_f64()
    );
    total
}

#[test]
fn a_worker_that_never_flushes_costs_short_limits_and_its_observations_once() {
    let root = submission(
        "ex03-process-crunch",
        &[
            (
                "bin/crunch-worker.rs",
                "crunch_lines(io::stdin().lock(), io::stdout().lock())",
                "crunch_lines(io::stdin().lock(), io::BufWriter::new(io::stdout().lock()))",
            ),
            (
                "bin/crunch-worker.rs",
                r#"output.flush().context("cannot flush stdout")?;"#,
                "",
            ),
        ],
    );
    let report = grade("never-flushes", "ex03", root.path(), true);
    let tests_total = assert_derived_limits(&report);
    assert!(
        report
            .tests
            .tests
            .iter()
            .any(|t| t.status == TestStatus::Passed),
        "the tests without the worker still pass"
    );
    // The harness waited on the worker too.
    let harness_limit = assert_harness_timed_out_once(&report);
    assert!(
        tests_total + harness_limit <= BUDGET,
        "{tests_total:?} of tests and {harness_limit:?} of harness exceed {BUDGET:?}"
    );
}

/// The exercise's harness was killed at its own derived limit: every
/// observation not measured, with the limit and why, and measured only
/// once. Returns the limit.
fn assert_harness_timed_out_once(report: &ExerciseReport) -> Duration {
    let env = HarnessInput {
        repeats: course().defaults.repeats,
        time_unit_ms: course().defaults.time_unit_ms,
        only: None,
    };
    let target = repo_root().join("target/grader/solutions");
    let reference = reference_times::read_harness(&target, &report.id, &env)
        .expect("the reference harness's time")
        .seconds;
    let ceiling = Duration::from_secs_f64(course().defaults.observe_timeout_seconds);
    let derived = timeouts::harness_timeout(ceiling, Some(Duration::from_secs_f64(reference)));
    let mut harness_limit = None;
    for o in &report.observations {
        let ObservationState::NotMeasured {
            cause:
                NotMeasuredCause::HarnessTimedOut {
                    timeout_seconds,
                    reason,
                },
        } = &o.state
        else {
            panic!("{} should not be measured: {:?}", o.id, o.state);
        };
        assert_eq!(o.measurements, 1, "{} was measured again", o.id);
        assert!(
            reason.contains("10x what the reference needs here"),
            "{reason}"
        );
        assert!(o.reason.contains(reason.as_str()), "{}", o.reason);
        assert!(
            *timeout_seconds <= derived.limit.as_secs_f64() + 1e-6,
            "{timeout_seconds} against {derived}"
        );
        harness_limit = Some(Duration::from_secs_f64(*timeout_seconds));
    }
    let harness_limit = harness_limit.expect("the exercise has observations");
    eprintln!(
        "  the harness's limit: {:.1}s (the reference's harness takes {reference:.1}s)",
        harness_limit.as_secs_f64()
    );
    harness_limit
}

/// Every function of ex01 starts with `stall();`, and `stall` is `body`.
fn ex01_stalling(body: &'static str) -> Vec<(&'static str, &'static str, String)> {
    let mut edits: Vec<(&str, &str, String)> = [
        "pub fn do_science(x: u64) -> u64 {",
        "pub fn science_loop(inputs: &[u64]) -> Vec<u64> {",
        "pub fn science_map(inputs: &[u64]) -> Vec<u64> {",
        "pub fn map_serial<T, U>(items: &[T], f: impl Fn(&T) -> U) -> Vec<U> {",
        ") -> impl Iterator<Item = U> + 'a {",
    ]
    .into_iter()
    .map(|start| ("lib.rs", start, format!("{start}\n    stall();")))
    .collect();
    let first = "/// The stand-in for real science";
    edits.push((
        "lib.rs",
        first,
        format!("fn stall() {{\n    {body}\n}}\n\n{first}"),
    ));
    edits
}

fn edits<'a>(
    owned: &'a [(&'static str, &'static str, String)],
) -> Vec<(&'static str, &'static str, &'a str)> {
    owned
        .iter()
        .map(|(file, find, replace)| (*file, *find, replace.as_str()))
        .collect()
}

#[test]
fn a_submission_that_hangs_everywhere_costs_short_limits() {
    // Waiting for what never comes, without burning the CPU.
    let stalling = ex01_stalling("loop { std::thread::park() }");
    let root = submission("ex01-serial-map", &edits(&stalling));
    let report = grade("hangs-everywhere", "ex01", root.path(), true);
    assert!(report
        .tests
        .tests
        .iter()
        .all(|t| t.status == TestStatus::TimedOut));
    let total = assert_derived_limits(&report);
    assert!(total <= BUDGET, "{total:?}");
    for o in &report.observations {
        assert_eq!(
            o.state,
            ObservationState::NotMeasured {
                cause: NotMeasuredCause::NoTestPasses
            },
            "{}",
            o.id
        );
    }
}

#[test]
fn tests_that_each_sleep_just_under_their_limit_spend_the_budget_and_then_time_out() {
    // Each test process sleeps once, 4 s: under every test's first limit
    // (ten times the reference's few milliseconds, plus 5 s), so each would
    // pass and the exercise would cost the sum of the sleeps.
    let stalling = ex01_stalling(
        "static ONCE: std::sync::Once = std::sync::Once::new();\n    ONCE.call_once(|| std::thread::sleep(std::time::Duration::from_millis(4000)));",
    );
    let root = submission("ex01-serial-map", &edits(&stalling));
    let report = grade("sleeps-under-the-limit", "ex01", root.path(), false);
    let reference = reference_tests("ex01");
    let budget = timeouts::tests_budget(&reference).unwrap();
    let ceiling = Duration::from_secs_f64(course().defaults.test_timeout_seconds);
    let timed_out: Vec<_> = report
        .tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::TimedOut)
        .collect();
    // 11 sleeps of 4 s are more than the budget: the last tests get the
    // short limit, which a 4 s sleep overruns.
    assert!(!timed_out.is_empty(), "every sleeping test passed");
    for test in &timed_out {
        let short = timeouts::test_timeout(
            ceiling,
            Some(Duration::from_secs_f64(reference[test.name.as_str()])),
            Some(timeouts::Strain::OverBudget { budget }),
        );
        assert!(
            test.output.contains(&short.to_string()),
            "{}: expected the limit {short}",
            test.output
        );
    }
    let passed = report
        .tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    eprintln!(
        "  {passed} tests passed before the budget ({:.1}s) was spent, {} timed out",
        budget.as_secs_f64(),
        timed_out.len()
    );
}

#[test]
fn a_test_that_waits_by_design_says_its_own_message_in_the_report_and_the_watch() {
    // ex02's pool with the mistake the lesson warns about: each thread is
    // joined right after it is spawned. The test written for it waits 10 s
    // for threads that never run at once, then says what to do; the
    // reference passes it in milliseconds.
    let root = submission(
        "ex02-threaded-query",
        &[
            ("lib.rs", "let workers: Vec<_> =", "let workers ="),
            (
                "lib.rs",
                ".collect();\n        // Join only after spawning them all",
                ";\n        // Join only after spawning them all",
            ),
        ],
    );
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let options = grade::Options {
        exercises: vec!["ex02".to_owned()],
        source: Source::Submission(root.path().to_path_buf()),
        repeats: None,
        observations: false,
        strict: false,
        build_stubs: false,
    };
    let start = Instant::now();
    let report = grade::grade(&course(), &options, &Progress::quiet()).unwrap();
    eprintln!(
        "serial pool: graded in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    let tests = &report.exercises[0].tests;
    let test = tests
        .tests
        .iter()
        .find(|t| t.name == "ex02::pool_map_runs_exactly_n_threads_at_once")
        .unwrap();
    eprintln!(
        "  {:?} after {:.1}s: {:?}",
        test.status, test.seconds, test.failure
    );
    assert_eq!(test.status, TestStatus::Failed, "{}", test.output);
    const MESSAGE: &str = "spawn all the workers before joining any of them";
    assert!(
        test.failure
            .as_deref()
            .unwrap_or_default()
            .contains(MESSAGE),
        "{:?}",
        test.failure
    );

    let human = report::reporter(report::Format::Human, report::Detail::default())
        .render(&report)
        .unwrap();
    assert!(human.contains(MESSAGE), "{human}");

    let screen = watch_screen(tests);
    assert!(screen.contains(MESSAGE), "{screen}");
}

/// What `grader watch` shows once ex02's tests ran with these results.
fn watch_screen(tests: &grader::model::TestsReport) -> String {
    let entry = Entry {
        id: "ex02".into(),
        title: "Threaded query".into(),
        dir: "exercises/ex02-threaded-query".into(),
        hints: Vec::new(),
    };
    let mut watch = State::new(vec![entry], false);
    watch.start();
    watch.handle(Event::TestsRan {
        exercise: 0,
        tests: tests.clone(),
    });
    view::render(&watch)
}
