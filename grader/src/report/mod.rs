//! Reporters: each renders the one result model, [`GradeReport`], in a format.
//!
//! The formats are documented in `grader/REPORT-FORMATS.md`.

mod github;
mod gradescope;
mod html;
mod human;
mod json;
mod junit;

use crate::model::{GradeReport, MachineLimitRule, ObservationResult};
use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// The report formats; see REPORT-FORMATS.md. The command line maps its
/// own value enum onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Junit,
    Gradescope,
    Github,
    Html,
}

/// Renders a grading report as text.
pub trait Reporter {
    /// The whole report. Human reports may carry ANSI colour codes, which
    /// [`write()`] strips where colour does not belong.
    fn render(&self, report: &GradeReport) -> anyhow::Result<String>;
}

/// How much a report shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// The human report draws every recorded schedule, not only those of
    /// failed observations.
    pub verbose: bool,
}

/// The reporter for `format`.
pub fn reporter(format: Format, detail: Detail) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(human::Human {
            verbose: detail.verbose,
        }),
        Format::Json => Box::new(json::Json),
        Format::Junit => Box::new(junit::Junit),
        Format::Gradescope => Box::new(gradescope::Gradescope),
        Format::Github => Box::new(github::Github),
        Format::Html => Box::new(html::Html),
    }
}

/// Render `report` and write it to `out`, or to standard output (colour only
/// on a terminal, and never with `NO_COLOR` set). A file never gets colour.
pub fn write(
    report: &GradeReport,
    format: Format,
    detail: Detail,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let text = reporter(format, detail).render(report)?;
    match out {
        Some(path) => {
            let plain = anstream::adapter::strip_str(&text).to_string();
            write_atomically(path, &plain)
                .with_context(|| format!("cannot write the report to {}", path.display()))
        }
        None => {
            let mut stdout = anstream::stdout();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write the report to standard output")
        }
    }
}

/// How many file names the instructor-files line spells out per kind; a
/// submission of `src` dirs alone misses every other file, and a line
/// naming all of them would bury the report.
const FILES_NAMED: usize = 5;

/// One line on the instructor's files against the release manifest.
pub fn instructor_files_line(files: &crate::manifest::InstructorFiles) -> String {
    if files.intact() && files.not_sent > 0 {
        return format!(
            "Instructor files: none changed ({} of {} sent, each as released).",
            files.checked - files.not_sent,
            files.checked
        );
    }
    if files.intact() {
        return format!(
            "Instructor files: all {} match the release manifest.",
            files.checked
        );
    }
    let mut line = format!(
        "Instructor files: {} of {} differ from the release",
        files.changed.len() + files.missing.len(),
        files.checked
    );
    for (kind, names) in [("changed", &files.changed), ("missing", &files.missing)] {
        if !names.is_empty() {
            line.push_str(&format!("; {} {kind}: {}", names.len(), named_files(names)));
        }
    }
    line + "."
}

/// The first [`FILES_NAMED`] of `names`, then how many more there are.
fn named_files(names: &[String]) -> String {
    let shown = names[..names.len().min(FILES_NAMED)].join(", ");
    match names.len().saturating_sub(FILES_NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Write `text` to a temporary file beside `path`, then rename it over
/// `path`: a reader sees the old report or the whole new one, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether `--strict` withheld the test points of exercise `id`.
pub fn points_withheld(report: &GradeReport, id: &str) -> bool {
    report
        .integrity
        .flags_of(id)
        .is_some_and(|f| f.points_withheld)
}

/// Whether `test` of `ex` earned its points: libtest reported it passed,
/// the exercise built, and `--strict` did not withhold them.
pub fn earned(
    report: &GradeReport,
    ex: &crate::model::ExerciseReport,
    test: &crate::model::TestResult,
) -> bool {
    test.status == crate::model::TestStatus::Passed
        && ex.tests.build_error.is_none()
        && !points_withheld(report, &ex.id)
}

/// For a passing test whose points `--strict` withheld: why, with the flags.
pub fn withheld_note(report: &GradeReport, id: &str) -> String {
    if !points_withheld(report, id) {
        return String::new();
    }
    format!("{POINTS_WITHHELD}:\n{}", flag_lines(report, id).join("\n"))
}

/// Why an exercise earns nothing although tests passed.
pub const POINTS_WITHHELD: &str =
    "points withheld: --strict grading, and the exercise's sources are flagged";

/// What the source scan found in exercise `id`, one `file:line: what` each.
pub fn flag_lines(report: &GradeReport, id: &str) -> Vec<String> {
    report
        .integrity
        .flags_of(id)
        .map(|f| {
            f.flags
                .iter()
                .map(|flag| format!("{}:{}: {}", flag.file, flag.line, flag.what))
                .collect()
        })
        .unwrap_or_default()
}

/// Which rule applied to the observations this machine could not judge, in
/// one sentence, e.g. `3 points left out of the maximum: this machine could
/// not measure ex02 a, ex02 b (...)`; None when it judged every one.
pub fn machine_limits_line(report: &GradeReport) -> Option<String> {
    let limits = &report.machine_limits;
    if limits.observations.is_empty() {
        return None;
    }
    let what = match limits.rule {
        MachineLimitRule::KeepAsZero => "kept in the maximum as 0",
        MachineLimitRule::LeaveOut => "left out of the maximum",
    };
    Some(format!(
        "{} {what}: this machine could not measure {} (too few cores, or too busy or noisy to judge): its limit, not a mistake in the code (course.yaml's machine_limit_points: {}).",
        points_of(limits.points),
        limits.observations.join(", "),
        limits.rule.as_str()
    ))
}

/// What a skipped or inconclusive observation's points did, for its own
/// line in a platform's output.
pub fn machine_limit_note(report: &GradeReport, o: &ObservationResult) -> String {
    let points = match report.machine_limits.rule {
        MachineLimitRule::KeepAsZero => format!(
            "its {} {} kept in the maximum as 0 until it is graded on a machine that can measure it",
            points_of(o.max_points),
            if o.max_points == 1.0 { "is" } else { "are" }
        ),
        MachineLimitRule::LeaveOut => "its points are left out of the maximum".to_owned(),
    };
    format!(
        "This machine could not measure it, its limit and not a mistake in your code: {points}."
    )
}

/// `1 point`, `2.5 points`.
pub fn points_of(x: f64) -> String {
    let unit = if x == 1.0 { "point" } else { "points" };
    format!("{} {unit}", points(x))
}

/// Points without noise: `10`, `6.67`.
pub fn points(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.2}").trim_end_matches('0').to_owned()
    }
}

/// Hand-built reports for the reporters' snapshot tests.
#[cfg(test)]
pub(crate) mod fixtures {
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
        crate::grade::tests_report(test_points, build_error.map(Into::into), tests)
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
                "threads_seconds: 8.03 units (401.5 ms), expected 7.9 to 8.8 units",
                vec![check("threads_seconds", Some("unit"), Some(8.03), true, "threads_seconds: 8.03 units (401.5 ms), expected 7.9 to 8.8 units")],
            )},
            ObservationResult {
                measurements: 3,
                recorded: traced("long_last_seconds", &[(0, "query 1", 0.0, 1.0), (1, "query 1.5", 0.0, 1.5), (0, "query 2", 1.0, 3.0), (1, "query 8", 4.5, 12.5)]),
                ..observation(
                    "long-last-is-slower",
                    (Verdict::Fail, ObservationState::Measured),
                    1.0,
                    "long_last_seconds: 12.5 units (625.0 ms), expected 9.3 to 10.3 units",
                    vec![check("long_last_seconds", Some("unit"), Some(12.5), false, "long_last_seconds: 12.5 units (625.0 ms), expected 9.3 to 10.3 units")],
                )
            },
            observation(
                "secret-speedup",
                (Verdict::Inconclusive, ObservationState::Inconclusive { cause: InconclusiveCause::Spread { spread: 0.41, max_spread: 0.25 } }),
                1.0,
                "secret_serial_seconds / secret_threaded_seconds: 2.1x (20.5 units = 1025.0 ms / 9.76 units = 488.1 ms), expected at least 2.5x; but the repeats spread 41% above their minimum (more than 25%): too noisy to judge: grade again on a quieter machine (close other programs) or with more --repeats",
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
            crate::verdict::apply_machine_limit_rule(
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
        let summary = "reference_serial_seconds / processes_seconds: 1.0x (16.1 units = 805.0 ms / 16.1 units = 805.0 ms), expected at least 1.5x";
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MachineLimitRule, Verdict};

    fn render(format: Format, report: &GradeReport) -> String {
        anstream::adapter::strip_str(&reporter(format, Detail::default()).render(report).unwrap())
            .to_string()
    }

    #[test]
    fn the_instructor_files_line_names_a_few_files_and_counts_the_rest() {
        let names = |n: usize| (0..n).map(|i| format!("f{i}.rs")).collect::<Vec<_>>();
        let files = crate::manifest::InstructorFiles {
            checked: 98,
            changed: names(1),
            missing: names(97),
            not_sent: 0,
        };
        assert_eq!(
            instructor_files_line(&files),
            "Instructor files: 98 of 98 differ from the release; 1 changed: f0.rs; 97 missing: f0.rs, f1.rs, f2.rs, f3.rs, f4.rs and 92 more."
        );
        let intact = crate::manifest::InstructorFiles {
            checked: 3,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&intact),
            "Instructor files: all 3 match the release manifest."
        );
        let sent_src_only = crate::manifest::InstructorFiles {
            checked: 98,
            not_sent: 98,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&sent_src_only),
            "Instructor files: none changed (0 of 98 sent, each as released)."
        );
        let one_edited = crate::manifest::InstructorFiles {
            checked: 98,
            changed: names(1),
            not_sent: 97,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&one_edited),
            "Instructor files: 1 of 98 differ from the release; 1 changed: f0.rs."
        );
    }

    #[test]
    fn points_read_naturally() {
        assert_eq!(points(10.0), "10");
        assert_eq!(points(20.0 / 3.0), "6.67");
        assert_eq!(points(2.5), "2.5");
    }

    #[test]
    fn human_mixed() {
        insta::assert_snapshot!(render(Format::Human, &fixtures::mixed()));
    }

    #[test]
    fn human_perfect() {
        insta::assert_snapshot!(render(Format::Human, &fixtures::perfect()));
    }

    #[test]
    fn human_colours_only_what_it_should() {
        let coloured = reporter(Format::Human, Detail::default())
            .render(&fixtures::mixed())
            .unwrap();
        assert!(
            coloured.contains("\u{1b}["),
            "the human report colours verdicts"
        );
        let plain = render(Format::Human, &fixtures::mixed());
        assert!(!plain.contains('\u{1b}'));
    }

    #[test]
    fn the_human_report_draws_a_failed_observations_schedule_and_every_one_when_verbose() {
        let report = fixtures::mixed();
        let plain = render(Format::Human, &report);
        assert!(plain.contains("schedule of long_last_seconds:"), "{plain}");
        assert!(!plain.contains("schedule of threads_seconds:"), "{plain}");
        let verbose = reporter(Format::Human, Detail { verbose: true })
            .render(&report)
            .unwrap();
        let verbose = anstream::adapter::strip_str(&verbose).to_string();
        assert!(
            verbose.contains("schedule of threads_seconds:"),
            "{verbose}"
        );
        assert!(verbose.contains("B  |[query 8"), "{verbose}");
    }

    #[test]
    fn a_failed_processes_observation_draws_a_lane_per_worker_process() {
        let report = fixtures::processes_one_at_a_time();
        let plain = render(Format::Human, &report);
        let ex03 = &plain[plain.find("ex03").unwrap()..plain.find("ex04").unwrap()];
        insta::assert_snapshot!(ex03);
        assert!(ex03.contains("schedule of processes_seconds:"), "{ex03}");
        let lanes: Vec<&str> = ex03
            .lines()
            .map(str::trim_start)
            .filter(|l| l.contains("  |"))
            .collect();
        assert_eq!(lanes.len(), 2, "a lane per worker: {ex03}");
        assert!(
            lanes[0].starts_with("A  |[crunch") && lanes[1].starts_with("B  |   "),
            "{ex03}"
        );
    }

    #[test]
    fn json_mixed() {
        insta::assert_snapshot!(render(Format::Json, &fixtures::mixed()));
    }

    #[test]
    fn junit_mixed() {
        insta::assert_snapshot!(render(Format::Junit, &fixtures::mixed()));
    }

    #[test]
    fn gradescope_mixed() {
        insta::assert_snapshot!(render(Format::Gradescope, &fixtures::mixed()));
    }

    #[test]
    fn github_mixed() {
        insta::assert_snapshot!(render(Format::Github, &fixtures::mixed()));
    }

    #[test]
    fn a_perfect_run_adds_up_exactly_in_every_machine_format() {
        let mut report = fixtures::perfect();
        let ex = &mut report.exercises[0];
        // Three tests sharing 70 points: 70 / 3 does not divide evenly.
        let passed = ex.tests.tests[0].clone();
        ex.tests = crate::grade::tests_report(70.0, None, vec![passed; 3]);
        ex.observations.clear();
        (ex.score, ex.max_score) = (70.0, 70.0);
        (report.score, report.max_score) = (70.0, 70.0);
        for format in [Format::Gradescope, Format::Github] {
            let v: serde_json::Value = serde_json::from_str(&render(format, &report)).unwrap();
            let scores = v["tests"].as_array().unwrap().iter();
            let sum = scores.fold(0.0, |sum, t| sum + t["score"].as_f64().unwrap());
            assert_eq!(sum, 70.0, "{format:?}");
        }
    }

    /// Gradescope's tests add up to its score and, out of their maximums,
    /// to the report's maximum; GitHub's to its score, out of its max_score.
    #[test]
    fn machine_formats_add_up_under_either_machine_limit_rule() {
        for (rule, max) in [
            (MachineLimitRule::KeepAsZero, 70.0),
            (MachineLimitRule::LeaveOut, 67.0),
        ] {
            let report = fixtures::mixed_under(rule);
            assert_eq!((report.score, report.max_score), (12.0, max), "{rule:?}");
            let v: serde_json::Value =
                serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
            let sum = |key: &str| -> f64 {
                let tests = v["tests"].as_array().unwrap();
                tests.iter().map(|t| t[key].as_f64().unwrap()).sum()
            };
            assert_eq!((sum("score"), sum("max_score")), (12.0, max), "{rule:?}");
            assert_eq!(v["score"], 12.0);
            let v: serde_json::Value =
                serde_json::from_str(&render(Format::Github, &report)).unwrap();
            let tests = v["tests"].as_array().unwrap();
            let scores: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
            assert_eq!((scores, v["max_score"].as_f64().unwrap()), (12.0, max));
        }
    }

    /// Human, Gradescope and Classroom outputs say which rule applied.
    #[test]
    fn the_outputs_say_which_machine_limit_rule_applied() {
        let kept = "3 points kept in the maximum as 0: this machine could not measure ex02 secret-speedup, ex02 threads-crunch-in-parallel";
        let left = "3 points left out of the maximum: this machine could not measure ex02 secret-speedup, ex02 threads-crunch-in-parallel";
        for (rule, says, note) in [
            (
                MachineLimitRule::KeepAsZero,
                kept,
                "its 2 points are kept in the maximum as 0",
            ),
            (
                MachineLimitRule::LeaveOut,
                left,
                "its points are left out of the maximum",
            ),
        ] {
            let report = fixtures::mixed_under(rule);
            // Wrapped at spaces and hyphens: compared without white space.
            let unwrapped = |text: &str| text.split_whitespace().collect::<String>();
            let human = render(Format::Human, &report);
            assert!(
                unwrapped(&human).contains(&unwrapped(says)),
                "{rule:?}: {human}"
            );
            let gradescope: serde_json::Value =
                serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
            let output = gradescope["output"].as_str().unwrap();
            assert!(output.contains(says), "{rule:?}: {output}");
            let skipped = |v: &serde_json::Value, key: &str| -> String {
                let tests = v["tests"].as_array().unwrap();
                let name = |t: &&serde_json::Value| {
                    t["name"]
                        .as_str()
                        .unwrap()
                        .contains("threads-crunch-in-parallel")
                };
                tests.iter().find(name).unwrap()[key]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            assert!(skipped(&gradescope, "output").contains(note), "{rule:?}");
            let github: serde_json::Value =
                serde_json::from_str(&render(Format::Github, &report)).unwrap();
            assert!(skipped(&github, "message").contains(note), "{rule:?}");
        }
    }

    #[test]
    fn machine_formats_add_up_to_the_report_score() {
        let report = fixtures::mixed();
        for format in [Format::Gradescope, Format::Github] {
            let v: serde_json::Value = serde_json::from_str(&render(format, &report)).unwrap();
            let sum: f64 = v["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["score"].as_f64().unwrap())
                .sum();
            assert_eq!(sum, report.score, "{format:?}");
        }
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &report)).unwrap();
        assert_eq!(v["format_version"], 1);
        let back: GradeReport = serde_json::from_value(v).unwrap();
        assert_eq!(
            (back.score, back.max_score),
            (report.score, report.max_score)
        );
        let verdicts = |r: &GradeReport| -> Vec<Verdict> {
            r.exercises
                .iter()
                .flat_map(|e| e.observations.iter().map(|o| o.verdict))
                .collect()
        };
        assert_eq!(verdicts(&back), verdicts(&report));
    }
}
