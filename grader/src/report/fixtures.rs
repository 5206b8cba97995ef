//! Hand-built reports for the reporters' snapshot tests.

use crate::model::*;

fn test(name: &str, status: TestStatus, output: &str) -> TestResult {
    TestResult {
        name: name.into(),
        status,
        seconds: 0.01,
        points: 0.0,
        max_points: 0.0,
        failure: crate::runner::libtest::failure_message(output),
        output: output.into(),
    }
}

/// Tests with their shares of `test_points`, as grading gives them.
fn tests(test_points: f64, build_error: Option<&str>, tests: Vec<TestResult>) -> TestsReport {
    crate::model::points::tests_report(test_points, build_error.map(Into::into), tests)
}

fn check(
    metric: &str,
    per: Option<&str>,
    value: Option<f64>,
    passed: bool,
    summary: &str,
) -> CheckResult {
    CheckResult {
        metric: metric.into(),
        per: per.map(Into::into),
        value,
        at_least: Some(1.6),
        at_most: None,
        metric_min: value.map(|v| v * 0.1),
        per_min: value.map(|_| 0.1),
        unit: value.map(|_| protocol::observe::Unit::Seconds),
        spread: value.map(|_| 0.02),
        passed,
        error: None,
        summary: summary.into(),
    }
}

fn observation(
    id: &str,
    (verdict, state): (Verdict, ObservationState),
    points: f64,
    reason: &str,
    checks: Vec<CheckResult>,
) -> ObservationResult {
    ObservationResult {
        id: id.into(),
        claim: format!("The claim of {id}."),
        verdict,
        state,
        reason: reason.into(),
        points: if verdict == Verdict::Pass {
            points
        } else {
            0.0
        },
        max_points: points,
        checks,
        hint: matches!(verdict, Verdict::Fail | Verdict::Inconclusive)
            .then(|| format!("The hint of {id}.")),
        measurements: 1,
        recorded: Recorded::default(),
    }
}

/// A schedule behind an observation: `(lane, label, start, end)`.
fn traced(name: &str, spans: &[(usize, &str, f64, f64)]) -> Recorded {
    let spans = spans
        .iter()
        .map(|&(lane, label, start, end)| common::trace::LaneSpan {
            lane,
            label: label.into(),
            start,
            end,
        })
        .collect();
    Recorded {
        traces: vec![protocol::observe::NamedTrace {
            name: name.into(),
            spans,
        }],
        sweeps: Vec::new(),
    }
}

fn not_measured(cause: NotMeasuredCause) -> (Verdict, ObservationState) {
    (Verdict::Fail, ObservationState::NotMeasured { cause })
}

/// ex02: passing and failing tests, every verdict.
fn threaded_query() -> ExerciseReport {
    ExerciseReport {
    id: "ex02".into(),
    title: "Threaded query".into(),
    dir: "exercises/ex02-threaded-query".into(),
    test_file: "exercises/ex02-threaded-query/tests/ex02.rs".into(),
    harness_file: "exercises/ex02-threaded-query/benches/observe.rs".into(),
    tests: tests(20.0, None, vec![
            test("ex02::serial_queries_in_order", TestStatus::Passed, ""),
            test(
                "ex02::pool_map_keeps_input_order",
                TestStatus::Failed,
                "\nthread 'pool_map_keeps_input_order' panicked at exercises/ex02-threaded-query/tests/ex02.rs:31:5:\nassertion `left == right` failed\n  left: [2, 1]\n right: [1, 2]\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
            ),
            test("ex02::pool_map_uses_every_thread", TestStatus::TimedOut, "killed after 60 s"),
            test("ex02::rayon_queries_match", TestStatus::Passed, ""),
        ]),
    observations: vec![
        ObservationResult {
            recorded: traced("threads_seconds", &[(0, "query 1", 0.0, 1.0), (1, "query 8", 0.0, 8.0), (0, "query 1.5", 1.0, 2.5), (0, "query 2", 2.5, 4.5)]),
            ..observation(
            "threads-overlap",
            (Verdict::Pass, ObservationState::Measured),
            2.0,
            "threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units",
            vec![check("threads_seconds", Some("unit"), Some(8.03), true, "threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units")],
        )},
        ObservationResult {
            measurements: 3,
            recorded: traced("long_last_seconds", &[(0, "query 1", 0.0, 1.0), (1, "query 1.5", 0.0, 1.5), (0, "query 2", 1.0, 3.0), (1, "query 8", 4.5, 12.5)]),
            ..observation(
                "long-last-is-slower",
                (Verdict::Fail, ObservationState::Measured),
                1.0,
                "long_last_seconds: 12.5 time units (625.0 ms), expected 9.3 to 10.3 time units",
                vec![check("long_last_seconds", Some("unit"), Some(12.5), false, "long_last_seconds: 12.5 time units (625.0 ms), expected 9.3 to 10.3 time units")],
            )
        },
        observation(
            "secret-speedup",
            (Verdict::Inconclusive, ObservationState::Inconclusive { cause: InconclusiveCause::Spread { spread: 0.41, max_spread: 0.25 } }),
            1.0,
            "secret_serial_seconds / secret_threaded_seconds: 2.1x (20.5 time units = 1025.0 ms / 9.76 time units = 488.1 ms), expected at least 2.5x; but the repeats spread 41% above their minimum (more than 25%): too noisy to judge: grade again on a quieter machine (close other programs) or with more --repeats",
            vec![check("secret_serial_seconds", Some("secret_threaded_seconds"), Some(2.1), false, "")],
        ),
        observation(
            "threads-crunch-in-parallel",
            (Verdict::Skipped, ObservationState::Skipped { cores_needed: 2, cores_present: 1 }),
            2.0,
            "this machine has 1 core; the observation needs 2",
            vec![check("serial_seconds", Some("threads_seconds"), None, false, "")],
        ),
    ],
    hints: vec!["Keep each result with its index.".into(), "Spawn every worker before joining any.".into()],
    score: 12.0,
    max_score: 26.0,
}
}

/// ex03: a build error.
fn process_crunch() -> ExerciseReport {
    ExerciseReport {
    id: "ex03".into(),
    title: "Process crunch".into(),
    dir: "exercises/ex03-process-crunch".into(),
    test_file: "exercises/ex03-process-crunch/tests/ex03.rs".into(),
    harness_file: "exercises/ex03-process-crunch/benches/observe.rs".into(),
    tests: tests(20.0, Some("error[E0308]: mismatched types\n --> exercises/ex03-process-crunch/src/lib.rs:12:5\n  |\n12 |     42\n  |     ^^ expected `Vec<u64>`, found integer"),
        vec![test("ex03::crunch_counts_down", TestStatus::NotRun, "")]),
    observations: vec![observation(
        "really-processes",
        not_measured(NotMeasuredCause::DoesNotBuild),
        1.0,
        "not measured: the exercise does not build (see its tests)",
        vec![],
    )],
    hints: vec!["Spawn the workers with Stdio::piped().".into()],
    score: 0.0,
    max_score: 21.0,
}
}

/// ex04: a fresh stub.
fn speedup_sweep() -> ExerciseReport {
    ExerciseReport {
    id: "ex04".into(),
    title: "Speedup sweep".into(),
    dir: "exercises/ex04-speedup-sweep".into(),
    test_file: "exercises/ex04-speedup-sweep/tests/ex04.rs".into(),
    harness_file: "exercises/ex04-speedup-sweep/benches/observe.rs".into(),
    tests: tests(20.0, None, vec![
            test("ex04::speedups_divide_by_the_one_worker_time", TestStatus::Failed, "\nthread 'speedups_divide_by_the_one_worker_time' panicked at exercises/ex04-speedup-sweep/src/lib.rs:40:5:\nnot yet implemented: read README.md, section \"Speedup\"\n"),
            test("ex04::amdahl_limits_the_speedup", TestStatus::Failed, "\nthread 'amdahl_limits_the_speedup' panicked at exercises/ex04-speedup-sweep/src/lib.rs:50:5:\nnot yet implemented: read README.md, section \"Amdahl\"\n"),
        ]),
    observations: vec![
        observation("near-ideal-at-two", not_measured(NotMeasuredCause::NoTestPasses), 2.0, "not measured: no test passes yet; observations are measured once the tests start passing", vec![]),
        observation("no-faster-than-cores", not_measured(NotMeasuredCause::NoTestPasses), 1.0, "not measured: no test passes yet; observations are measured once the tests start passing", vec![]),
    ],
    hints: vec!["Find the 1-worker sample first.".into()],
    score: 0.0,
    max_score: 23.0,
}
}

/// A partly done course: every verdict, a failing test, a build error and
/// a fresh stub; the machine limits kept in the maximum as 0 (the default).
pub fn mixed() -> GradeReport {
    mixed_under(MachineLimitRule::KeepAsZero)
}

/// [`mixed`] graded under `rule`: the rule applied as grading applies
/// it, and the maximums summed again.
pub fn mixed_under(rule: MachineLimitRule) -> GradeReport {
    let mut report = mixed_judged();
    report.machine_limits = MachineLimits {
        rule,
        ..MachineLimits::default()
    };
    for ex in &mut report.exercises {
        crate::model::points::apply_machine_limit_rule(
            &ex.id,
            &mut ex.observations,
            &mut report.machine_limits,
        );
        let observed: f64 = ex.observations.iter().map(|o| o.max_points).sum();
        ex.max_score = ex.tests.max_points + observed;
    }
    report.max_score = report.exercises.iter().map(|e| e.max_score).sum();
    report
}

/// [`mixed`] before the machine-limit rule.
fn mixed_judged() -> GradeReport {
    let exercises = vec![threaded_query(), process_crunch(), speedup_sweep()];
    GradeReport {
        course: "Parallel Rust".into(),
        target: "exercises".into(),
        machine: Machine {
            cores: 1,
            time_unit_ms: 50.0,
            repeats: 3,
            facts: None,
            while_measuring: None,
            busy: None,
        },
        exercises,
        observations_measured: true,
        score: 12.0,
        max_score: 70.0,
        timings: Timings {
            build_seconds: 12.5,
            test_seconds: 3.25,
            measure_seconds: 20.0,
            harness_seconds: 19.0,
            overhead_percent: 5.0,
            total_seconds: 36.0,
        },
        instructor_files: None,
        integrity: Default::default(),
        machine_limits: MachineLimits::default(),
    }
}

/// ex03 measured, its processes failing to crunch in parallel: the
/// schedule its two worker processes wrote shows one waiting for the
/// other (the pool waits for each answer before it writes the next
/// number).
pub fn processes_one_at_a_time() -> GradeReport {
    let mut report = mixed();
    let ex = &mut report.exercises[1];
    ex.tests = tests(
        20.0,
        None,
        vec![test("ex03::crunch_counts_down", TestStatus::Passed, "")],
    );
    (ex.score, ex.max_score) = (20.0, 22.0);
    let spans: Vec<(usize, &str, f64, f64)> = (0..8)
        .map(|i| {
            let start = 0.05 + 2.0 * f64::from(i);
            (i as usize % 2, "crunch 2", start, start + 2.0)
        })
        .collect();
    let summary = "reference_serial_seconds / processes_seconds: 1.0x (16.1 time units = 805.0 ms / 16.1 time units = 805.0 ms), expected at least 1.5x";
    ex.observations = vec![ObservationResult {
        recorded: traced("processes_seconds", &spans),
        ..observation(
            "processes-crunch-in-parallel",
            (Verdict::Fail, ObservationState::Measured),
            2.0,
            summary,
            vec![check(
                "reference_serial_seconds",
                Some("processes_seconds"),
                Some(1.0),
                false,
                summary,
            )],
        )
    }];
    report
}

/// Everything passes.
pub fn perfect() -> GradeReport {
    let mut report = mixed();
    report.exercises.truncate(1);
    let ex = &mut report.exercises[0];
    let mut passed = std::mem::take(&mut ex.tests.tests);
    passed.retain(|t| t.status == TestStatus::Passed);
    ex.tests = tests(20.0, None, passed);
    ex.observations.truncate(1);
    report.machine_limits = MachineLimits::default();
    let ex = &mut report.exercises[0];
    ex.score = 22.0;
    ex.max_score = 22.0;
    report.target = "solutions".into();
    report.score = 22.0;
    report.max_score = 22.0;
    report
}
