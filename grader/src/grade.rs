//! One grading run: prepare the tree, run each exercise's tests, measure and
//! judge its observations, and gather everything into a [`GradeReport`].
//!
//! Exercises are graded one at a time: two harnesses timed at once would
//! spoil each other's observations.

use crate::course::{Course, Exercise};
use crate::model::{
    ExerciseReport, GradeReport, Machine, NotMeasuredCause, ObservationResult, ObservationState,
    TestResult, TestStatus, TestsReport, Timings, Verdict,
};
use crate::progress::Progress;
use crate::runner::{self, HarnessEnv, Limits};
use crate::verdict;
use crate::workspace::{self, GradedTree, Source};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Output kept per stream of one run of student code.
const OUTPUT_CAP_BYTES: usize = 64 * 1024;
/// How many more times an observation that fails or is inconclusive is
/// measured before its verdict stands.
pub const EXTRA_MEASUREMENTS: usize = 2;

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Exercise ids; empty means all.
    pub exercises: Vec<String>,
    pub source: Source,
    /// Overrides course.yaml's `defaults.repeats`.
    pub repeats: Option<usize>,
    /// False with `--no-observations`.
    pub observations: bool,
}

/// Grade `course` as `options` say: the whole run's report.
pub fn grade(
    course: &Course,
    options: &Options,
    progress: &Progress,
) -> anyhow::Result<GradeReport> {
    let started = Instant::now();
    let exercises = course.select(&options.exercises)?;
    let grader = Grader::new(
        course,
        &exercises,
        &options.source,
        options.repeats,
        progress,
    )?;
    let mut run = grader.grade_all(&exercises, options.observations);
    progress.done();
    run.timings.total_seconds = started.elapsed().as_secs_f64();
    Ok(grader.report(run, options.observations))
}

/// What grading some exercises found, before it becomes a [`GradeReport`].
#[derive(Debug, Clone)]
pub struct Run {
    pub exercises: Vec<ExerciseReport>,
    pub timings: Timings,
}

/// The tree being graded and everything needed to run it.
pub struct Grader<'a> {
    course: &'a Course,
    tree: GradedTree,
    limits: Limits,
    env: HarnessEnv,
    cores: usize,
    progress: &'a Progress,
}

impl<'a> Grader<'a> {
    /// Check the environment and prepare the tree of `source` for `exercises`.
    pub fn new(
        course: &'a Course,
        exercises: &[&Exercise],
        source: &Source,
        repeats: Option<usize>,
        progress: &'a Progress,
    ) -> anyhow::Result<Self> {
        check_cargo()?;
        let dirs: Vec<PathBuf> = exercises.iter().map(|e| e.dir.clone()).collect();
        let given: Vec<PathBuf> = exercises.iter().flat_map(|e| e.given_files()).collect();
        progress.step("preparing the tree to grade");
        let tree = workspace::prepare(course.root(), &dirs, &given, source)
            .context("cannot prepare the tree to grade")?;
        let d = &course.defaults;
        let env = common::observe::env_settings()?;
        Ok(Grader {
            course,
            tree,
            limits: Limits {
                test_timeout: Duration::from_secs_f64(d.test_timeout_seconds),
                harness_timeout: Duration::from_secs_f64(d.observe_timeout_seconds),
                output_cap_bytes: OUTPUT_CAP_BYTES,
            },
            env: HarnessEnv {
                repeats: repeats.or(env.repeats).unwrap_or(d.repeats),
                time_unit_ms: env.time_unit_ms.unwrap_or(d.time_unit_ms),
            },
            cores: common::observe::cores(),
            progress,
        })
    }

    /// The one grading loop (`grade`, `check` and `list` share it): each
    /// exercise's tests, then, when `observations`, its observations, one
    /// exercise at a time.
    pub fn grade_all(&self, exercises: &[&Exercise], observations: bool) -> Run {
        let mut timings = Timings::default();
        let exercises = exercises
            .iter()
            .map(|ex| {
                let tests = self.tests(ex, &mut timings);
                let observed = if observations {
                    self.observe_again_if_needed(ex, &tests, &mut timings)
                } else {
                    Vec::new()
                };
                exercise_report(ex, tests, observed)
            })
            .collect();
        Run {
            exercises,
            timings: timings.with_overhead(),
        }
    }

    /// Build and run the exercise's tests, with each test's share of points.
    fn tests(&self, ex: &Exercise, timings: &mut Timings) -> TestsReport {
        self.progress
            .step(&format!("{}: building and running the tests", ex.id));
        let outcome = runner::run_tests(&self.tree, &ex.id, &self.limits);
        timings.build_seconds += outcome.build_seconds;
        timings.test_seconds += outcome.test_seconds;
        tests_report(ex.test_points, outcome.build_error, outcome.tests)
    }

    /// Build and run the harness and judge every observation. Nothing is
    /// measured while the exercise does not build or no test passes.
    fn observe(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        timings: &mut Timings,
    ) -> Vec<ObservationResult> {
        if ex.observations.is_empty() {
            return Vec::new();
        }
        let not_measured = |cause: NotMeasuredCause| {
            ex.observations
                .iter()
                .map(|o| verdict::not_measured(o, self.cores, cause.clone()))
                .collect()
        };
        if tests.build_error.is_some() {
            return not_measured(NotMeasuredCause::DoesNotBuild);
        }
        if !tests.tests.iter().any(|t| t.status == TestStatus::Passed) {
            return not_measured(NotMeasuredCause::NoTestPasses);
        }
        self.progress
            .step(&format!("{}: building the harness and measuring", ex.id));
        let started = Instant::now();
        let outcome = runner::run_harness(&self.tree, &ex.id, &self.env, &self.limits);
        let wall = started.elapsed().as_secs_f64();
        timings.build_seconds += outcome.build_seconds;
        timings.harness_seconds += outcome.run_seconds;
        let judged = match &outcome.measurements {
            Ok(m) => ex
                .observations
                .iter()
                .map(|o| verdict::judge(o, m, self.course.defaults.max_spread, self.cores))
                .collect(),
            Err(why) => not_measured(NotMeasuredCause::Harness(why.to_string())),
        };
        // Cargo's up-to-date check of the harness counts as overhead: warm,
        // it is part of every measuring run.
        timings.measure_seconds += wall.max(outcome.run_seconds);
        judged
    }

    /// [`observe`](Self::observe), then measure again, up to
    /// [`EXTRA_MEASUREMENTS`] times, while an observation that was measured
    /// failed or was inconclusive (see [`merge_measured_again`]).
    fn observe_again_if_needed(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        timings: &mut Timings,
    ) -> Vec<ObservationResult> {
        let mut observations = self.observe(ex, tests, timings);
        for _ in 0..EXTRA_MEASUREMENTS {
            if !observations.iter().any(worth_measuring_again) {
                break;
            }
            let again = self.observe(ex, tests, timings);
            merge_measured_again(&mut observations, again);
        }
        observations
    }

    /// The whole run's report.
    pub fn report(&self, run: Run, observations_measured: bool) -> GradeReport {
        let exercises = run.exercises;
        GradeReport {
            course: self.course.title.clone(),
            target: self.tree.label.clone(),
            machine: Machine {
                cores: self.cores,
                time_unit_ms: self.env.time_unit_ms,
                repeats: self.env.repeats,
            },
            score: exercises.iter().map(|e| e.score).sum(),
            max_score: exercises.iter().map(|e| e.max_score).sum(),
            exercises,
            observations_measured,
            timings: run.timings,
            instructor_files: None,
        }
    }
}

/// Merge a new measurement into the observations: each one still worth
/// measuring again takes the new result and counts one more measurement;
/// the others (a pass, a skip, a cause measuring cannot change) stay. So
/// each keeps its first pass: timing noise only ever adds time, so a pass is
/// the better evidence, and the same tree graded twice gets the same score.
pub fn merge_measured_again(observations: &mut [ObservationResult], again: Vec<ObservationResult>) {
    for (old, new) in observations.iter_mut().zip(again) {
        if worth_measuring_again(old) {
            *old = ObservationResult {
                measurements: old.measurements + 1,
                ..new
            };
        }
    }
}

/// Test points are shared in whole 1/64ths of a point: every share and
/// every sum of shares is exact in binary floating point, so an exercise's
/// test points add up to exactly its `test_points` in every format, in any
/// reader's arithmetic (course.yaml's `test_points` are checked to be whole
/// 1/64ths).
pub const SHARE_GRAIN: f64 = 64.0;

/// `test_points` shared by `tests` tests as evenly as whole grains allow:
/// the first shares are one grain larger when the grains do not divide.
pub fn test_shares(test_points: f64, tests: usize) -> Vec<f64> {
    let Ok(n) = u64::try_from(tests) else {
        return Vec::new();
    };
    if n == 0 {
        return Vec::new();
    }
    let grains = (test_points * SHARE_GRAIN).round().max(0.0) as u64;
    let (each, extra) = (grains / n, grains % n);
    (0..n)
        .map(|i| (each + u64::from(i < extra)) as f64 / SHARE_GRAIN)
        .collect()
}

/// The tests of one exercise with their points: each test carries its
/// share; a passing test earns it, unless the exercise does not build.
pub fn tests_report(
    test_points: f64,
    build_error: Option<String>,
    mut tests: Vec<TestResult>,
) -> TestsReport {
    let shares = test_shares(test_points, tests.len());
    for (test, share) in tests.iter_mut().zip(shares) {
        test.max_points = share;
        let earned = build_error.is_none() && test.status == TestStatus::Passed;
        test.points = if earned { share } else { 0.0 };
    }
    TestsReport {
        points: tests.iter().map(|t| t.points).sum(),
        max_points: test_points,
        build_error,
        tests,
    }
}

/// Failed or inconclusive on measurements (not for want of a build or a
/// passing test, which measuring again cannot change).
fn worth_measuring_again(o: &ObservationResult) -> bool {
    match &o.state {
        ObservationState::Measured => o.verdict == Verdict::Fail,
        ObservationState::Inconclusive { .. } => true,
        ObservationState::NotMeasured { .. } | ObservationState::Skipped { .. } => false,
    }
}

/// Put an exercise's tests and observations together.
pub fn exercise_report(
    ex: &Exercise,
    tests: TestsReport,
    observations: Vec<ObservationResult>,
) -> ExerciseReport {
    let score = tests.points + observations.iter().map(|o| o.points).sum::<f64>();
    let max_score = tests.max_points + observations.iter().map(|o| o.max_points).sum::<f64>();
    ExerciseReport {
        id: ex.id.clone(),
        title: ex.title.clone(),
        dir: ex.dir.display().to_string(),
        test_file: ex.test_file().display().to_string(),
        harness_file: ex.harness_file().display().to_string(),
        tests,
        observations,
        hints: ex.hints.clone(),
        score,
        max_score,
    }
}

/// Grading needs cargo; say so plainly when it is missing.
fn check_cargo() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(&cargo);
    command.arg("--version");
    let ok = runner::sandbox::run(&mut command, Duration::from_secs(30), 4096)
        .is_ok_and(|r| r.success());
    if !ok {
        bail!(
            "cannot run cargo ({}): grading builds and runs the exercises with it; install Rust from rustup.rs",
            Path::new(&cargo).display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InconclusiveCause;

    fn test(status: TestStatus) -> TestResult {
        TestResult {
            name: "ex::t".into(),
            status,
            seconds: 0.0,
            points: 0.0,
            max_points: 0.0,
            output: String::new(),
            failure: None,
        }
    }

    fn observation(verdict: Verdict, state: ObservationState, reason: &str) -> ObservationResult {
        ObservationResult {
            id: "obs".into(),
            claim: "A claim.".into(),
            verdict,
            state,
            reason: reason.into(),
            points: if verdict == Verdict::Pass { 2.0 } else { 0.0 },
            max_points: 2.0,
            checks: Vec::new(),
            hint: None,
            measurements: 1,
        }
    }

    fn measured(verdict: Verdict, reason: &str) -> ObservationResult {
        observation(verdict, ObservationState::Measured, reason)
    }

    fn inconclusive(reason: &str) -> ObservationResult {
        let cause = InconclusiveCause::Spread {
            spread: 0.5,
            max_spread: 0.25,
        };
        observation(
            Verdict::Inconclusive,
            ObservationState::Inconclusive { cause },
            reason,
        )
    }

    #[test]
    fn measuring_again_replaces_only_what_did_not_pass_and_counts_it() {
        let mut observations = vec![
            measured(Verdict::Pass, "first pass"),
            measured(Verdict::Fail, "first fail"),
            inconclusive("first noise"),
        ];
        let again = vec![
            measured(Verdict::Fail, "second fail"),
            measured(Verdict::Pass, "second pass"),
            inconclusive("second noise"),
        ];
        merge_measured_again(&mut observations, again);
        let seen: Vec<(&str, u32)> = observations
            .iter()
            .map(|o| (o.reason.as_str(), o.measurements))
            .collect();
        // The first pass stays: a later fail does not take its points.
        assert_eq!(
            seen,
            [("first pass", 1), ("second pass", 2), ("second noise", 2)]
        );
        assert_eq!(observations[1].points, 2.0);

        let third = vec![
            measured(Verdict::Fail, "third fail"),
            measured(Verdict::Fail, "third fail"),
            measured(Verdict::Fail, "third fail"),
        ];
        merge_measured_again(&mut observations, third);
        let counts: Vec<u32> = observations.iter().map(|o| o.measurements).collect();
        assert_eq!(counts, [1, 2, 3]);
        assert_eq!(observations[2].verdict, Verdict::Fail);
    }

    #[test]
    fn what_measuring_cannot_change_is_not_measured_again() {
        let waiting = ObservationState::NotMeasured {
            cause: NotMeasuredCause::NoTestPasses,
        };
        let broken = ObservationState::NotMeasured {
            cause: NotMeasuredCause::Harness("crashed".into()),
        };
        let skipped = ObservationState::Skipped {
            cores_needed: 4,
            cores_present: 2,
        };
        for state in [waiting, broken, skipped] {
            let verdict = match state {
                ObservationState::Skipped { .. } => Verdict::Skipped,
                _ => Verdict::Fail,
            };
            assert!(!worth_measuring_again(&observation(verdict, state, "")));
        }
        assert!(worth_measuring_again(&measured(Verdict::Fail, "")));
        assert!(worth_measuring_again(&inconclusive("")));
        assert!(!worth_measuring_again(&measured(Verdict::Pass, "")));
    }

    #[test]
    fn shares_add_up_exactly_in_any_order() {
        for total in [1.0, 2.5, 10.0, 20.0, 70.0, 100.0, 137.0] {
            for n in 1..=40 {
                let shares = test_shares(total, n);
                assert_eq!(shares.len(), n);
                let forwards = shares.iter().fold(0.0, |sum, s| sum + s);
                let backwards = shares.iter().rev().fold(0.0, |sum, s| sum + s);
                assert_eq!((forwards, backwards), (total, total), "{total} / {n}");
                let (lo, hi) = shares
                    .iter()
                    .fold((f64::MAX, 0.0_f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
                assert!(hi - lo <= 1.0 / SHARE_GRAIN, "{total} / {n}: {shares:?}");
            }
        }
        assert!(test_shares(10.0, 0).is_empty());
    }

    #[test]
    fn a_perfect_run_earns_exactly_the_test_points() {
        // 70 / 3 was 69.99999999999993 when every share was 70.0 / 3.0.
        let tests = vec![test(TestStatus::Passed); 3];
        let report = tests_report(70.0, None, tests);
        assert_eq!(report.points, 70.0);
        let sum: f64 = report.tests.iter().map(|t| t.points).sum();
        assert_eq!(sum, 70.0);
    }

    #[test]
    fn only_passing_tests_of_a_building_exercise_earn_their_share() {
        let statuses = [
            TestStatus::Passed,
            TestStatus::Failed,
            TestStatus::TimedOut,
            TestStatus::NotRun,
        ];
        let report = tests_report(20.0, None, statuses.map(test).to_vec());
        let earned: Vec<f64> = report.tests.iter().map(|t| t.points).collect();
        assert_eq!(earned, [5.0, 0.0, 0.0, 0.0]);
        assert_eq!(report.points, 5.0);
        assert!(report.tests.iter().all(|t| t.max_points == 5.0));

        let broken = tests_report(20.0, Some("error".into()), vec![test(TestStatus::Passed)]);
        assert_eq!((broken.points, broken.tests[0].max_points), (0.0, 20.0));
    }
}
