//! One grading run: prepare the tree, run each exercise's tests, measure and
//! judge its observations, and gather everything into a [`GradeReport`].
//!
//! Exercises are graded one at a time: two harnesses timed at once would
//! spoil each other's observations.

use crate::claims;
use crate::course::{Course, Exercise, Observation};
use crate::load;
use crate::margin;
use crate::model::{
    CheckResult, ExerciseReport, FlaggedExercise, GradeReport, InconclusiveCause, Integrity,
    Machine, MachineLimits, NotMeasuredCause, ObservationResult, ObservationState, Recorded,
    TestResult, TestStatus, TestsReport, Timings, Verdict,
};
use crate::progress::{Phase, Place, Progress};
use crate::runner::harness::HarnessError;
use crate::runner::timeouts::{self, Timeout};
use crate::runner::{self, reference_times, HarnessEnv, Limits, Steps};
use crate::scan;
use crate::verdict;
use crate::workspace::{self, GradedTree, Source};
use anyhow::{bail, Context};
use protocol::machine::{Contention, Facts};
use protocol::observe::Measurements;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Output kept per stream of one run of student code.
const OUTPUT_CAP_BYTES: usize = 64 * 1024;
/// The most harness runs of one exercise, however much of the budget is
/// left (course.yaml's `remeasure_budget_seconds` is the other limit).
pub const MAX_MEASUREMENTS: usize = 8;

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
    /// `--strict`: needs the sandbox; a flagged exercise earns no points.
    pub strict: bool,
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
    grade_with(grader, &exercises, options, started)
}

/// [`grade`] a tree already prepared from `options.source` with
/// [`prepare_tree`] (and built: `grader batch` builds a round of submissions
/// at once, then grades them one at a time, finding their builds up to date).
pub fn grade_tree(
    course: &Course,
    options: &Options,
    tree: GradedTree,
    progress: &Progress,
) -> anyhow::Result<GradeReport> {
    let started = Instant::now();
    let exercises = course.select(&options.exercises)?;
    let grader = Grader::on_tree(
        course,
        &exercises,
        tree,
        &options.source,
        options.repeats,
        progress,
    )?;
    grade_with(grader, &exercises, options, started)
}

/// The tree of `source` for `exercises`, a submission's built in build slot
/// `slot` ([`workspace::submission_build_dir`]).
pub fn prepare_tree(
    course: &Course,
    exercises: &[&Exercise],
    source: &Source,
    slot: usize,
) -> anyhow::Result<GradedTree> {
    let dirs: Vec<PathBuf> = exercises.iter().map(|e| e.dir.clone()).collect();
    let given: Vec<PathBuf> = exercises.iter().flat_map(|e| e.given_files()).collect();
    workspace::prepare_in_slot(course.root(), &dirs, &given, source, slot)
        .context("cannot prepare the tree to grade")
}

fn grade_with(
    grader: Grader<'_>,
    exercises: &[&Exercise],
    options: &Options,
    started: Instant,
) -> anyhow::Result<GradeReport> {
    let grader = grader.strict(options.strict)?;
    let mut run = grader.grade_all(exercises, options.observations);
    grader.progress.done();
    run.timings.total_seconds = started.elapsed().as_secs_f64();
    let mut report = grader.report(run, options.observations);
    report.integrity.restored = grader
        .tree
        .restore_course()
        .context("cannot restore the instructor's course")?;
    Ok(report)
}

/// What grading some exercises found, before it becomes a [`GradeReport`].
#[derive(Debug, Clone)]
pub struct Run {
    pub exercises: Vec<ExerciseReport>,
    pub timings: Timings,
    /// What the source scan found, per exercise with flags.
    pub flagged: Vec<FlaggedExercise>,
    /// The observations this machine could not judge, under course.yaml's rule.
    pub machine_limits: MachineLimits,
}

/// The tree being graded and everything needed to run it.
pub struct Grader<'a> {
    course: &'a Course,
    tree: GradedTree,
    /// The reference solutions, measured in turns with the graded tree when
    /// a check misses by what the machine could explain; `None` when grading
    /// the solutions themselves or when the course has none.
    reference: Option<GradedTree>,
    /// The graded tree is the reference solutions: their times are kept
    /// for later gradings' limits ([`reference_times`]).
    records_reference_times: bool,
    /// The reference harness's wall time per exercise, once looked up.
    reference_harness: Mutex<BTreeMap<String, Option<Duration>>>,
    /// course.yaml's ceilings; each run's own limit is derived from the
    /// reference's times ([`timeouts`]).
    limits: Limits,
    env: HarnessEnv,
    rules: verdict::Rules,
    facts: Facts,
    /// What other programs did during each harness run.
    while_measuring: Mutex<Vec<Contention>>,
    progress: &'a Progress,
    /// `--strict`: flagged exercises earn nothing.
    strict: bool,
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
        progress.step("preparing the tree to grade");
        let tree = prepare_tree(course, exercises, source, 0)?;
        Self::on_tree(course, exercises, tree, source, repeats, progress)
    }

    /// [`new`](Self::new) over `tree`, already prepared from `source`.
    pub fn on_tree(
        course: &'a Course,
        exercises: &[&Exercise],
        tree: GradedTree,
        source: &Source,
        repeats: Option<usize>,
        progress: &'a Progress,
    ) -> anyhow::Result<Self> {
        let reference = reference_tree(course, exercises, source);
        let d = &course.defaults;
        let env = protocol::observe::env_settings()?;
        let facts = Facts::read();
        Ok(Grader {
            course,
            tree,
            reference,
            records_reference_times: matches!(source, Source::Solutions),
            reference_harness: Mutex::new(BTreeMap::new()),
            limits: Limits {
                test_timeout: Duration::from_secs_f64(d.test_timeout_seconds),
                harness_timeout: Duration::from_secs_f64(d.observe_timeout_seconds),
                output_cap_bytes: OUTPUT_CAP_BYTES,
            },
            env: HarnessEnv {
                repeats: repeats.or(env.repeats).unwrap_or(d.repeats),
                time_unit_ms: env.time_unit_ms.unwrap_or(d.time_unit_ms),
                only: None,
            },
            rules: verdict::Rules {
                max_spread: d.max_spread,
                cores: facts.available_parallelism,
                busy: load::Limits::from_defaults(d),
            },
            facts,
            while_measuring: Mutex::new(Vec::new()),
            progress,
            strict: false,
        })
    }

    /// Grade strictly (`--strict`): only inside the sandbox, and a flagged
    /// exercise earns no points.
    pub fn strict(mut self, strict: bool) -> anyhow::Result<Self> {
        if strict && !self.tree.isolation.is_isolated() {
            bail!(
                "--strict grading needs the sandbox, and this machine has none ({}); use --no-strict to grade without it",
                self.tree.isolation.description()
            );
        }
        self.strict = strict;
        Ok(self)
    }

    /// The one grading loop (`grade`, `check` and `list` share it): each
    /// exercise's tests, then, when `observations`, its observations, one
    /// exercise at a time.
    pub fn grade_all(&self, exercises: &[&Exercise], observations: bool) -> Run {
        let mut timings = Timings::default();
        let mut flagged = Vec::new();
        let mut machine_limits = MachineLimits {
            rule: self.course.defaults.machine_limit_points,
            ..MachineLimits::default()
        };
        let total = exercises.len();
        let exercises = exercises
            .iter()
            .enumerate()
            .map(|(index, ex)| {
                let place = Place {
                    index,
                    total,
                    id: &ex.id,
                };
                let found = self.scan(ex);
                let withheld = found.as_ref().is_some_and(|f| f.points_withheld);
                flagged.extend(found);
                let mut tests = self.tests(ex, place, &mut timings);
                let mut observed = if !observations {
                    Vec::new()
                } else if withheld {
                    self.not_measured(ex, NotMeasuredCause::PointsWithheld)
                } else {
                    self.observe_again_if_needed(ex, &tests, place, &mut timings)
                };
                claims::require_their_tests(ex, &tests.tests, &mut observed);
                verdict::apply_machine_limit_rule(&ex.id, &mut observed, &mut machine_limits);
                if withheld {
                    withhold(&mut tests);
                }
                exercise_report(ex, tests, observed)
            })
            .collect();
        Run {
            exercises,
            timings: timings.with_overhead(),
            flagged,
            machine_limits,
        }
    }

    /// What the source scan finds in the student's code of `ex` (the
    /// reference solutions are not scanned); under `--strict`, flags
    /// withhold the exercise's points.
    fn scan(&self, ex: &Exercise) -> Option<FlaggedExercise> {
        let src = self.tree.student_src(&ex.dir)?;
        let given: Vec<PathBuf> = ex
            .given_files()
            .iter()
            .map(|f| self.tree.root().join(f))
            .collect();
        let rules = scan::Rules {
            starts_processes: ex.starts_processes,
            ..scan::Rules::default()
        };
        let flags = scan::scan_src(self.tree.root(), &src, &given, rules);
        (!flags.is_empty()).then(|| FlaggedExercise {
            exercise: ex.id.clone(),
            flags,
            points_withheld: self.strict,
        })
    }

    /// Every observation of `ex`, not measured for `cause`.
    fn not_measured(&self, ex: &Exercise, cause: NotMeasuredCause) -> Vec<ObservationResult> {
        ex.observations
            .iter()
            .map(|o| verdict::not_measured(o, self.rules.cores, cause.clone()))
            .collect()
    }

    /// Build and run the exercise's tests, with each test's share of points;
    /// each test's limit follows the reference's time for it.
    fn tests(&self, ex: &Exercise, place: Place<'_>, timings: &mut Timings) -> TestsReport {
        self.progress.phase(place, Phase::Building);
        let reference = self
            .reference
            .as_ref()
            .map(|r| reference_times::tests(r, &ex.id, &self.limits))
            .unwrap_or_default();
        let steps = TestSteps {
            progress: self.progress,
            place,
        };
        let outcome = runner::run_tests_timed(&self.tree, &ex.id, &self.limits, reference, &steps);
        if self.records_reference_times {
            reference_times::record_tests(&self.tree, &ex.id, &outcome);
        }
        timings.build_seconds += outcome.build_seconds;
        timings.test_seconds += outcome.test_seconds;
        tests_report(ex.test_points, outcome.build_error, outcome.tests)
    }

    /// Build and run the harness and judge every observation, beside the
    /// reference solution's measurements when there are some (this is
    /// `round`'s measurement number 1, 2, ...). Nothing is measured while the
    /// exercise does not build or no test passes.
    fn observe(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        place: Place<'_>,
        timings: &mut Timings,
        round: Round<'_>,
    ) -> Vec<ObservationResult> {
        if ex.observations.is_empty() {
            return Vec::new();
        }
        let cores = self.rules.cores;
        let not_measured = |cause: NotMeasuredCause| {
            ex.observations
                .iter()
                .map(|o| verdict::not_measured(o, cores, cause.clone()))
                .collect()
        };
        if tests.build_error.is_some() {
            return not_measured(NotMeasuredCause::DoesNotBuild);
        }
        if !tests.tests.iter().any(|t| t.status == TestStatus::Passed) {
            return not_measured(NotMeasuredCause::NoTestPasses);
        }
        let steps = MeasureSteps {
            progress: self.progress,
            place,
            measurement: round.number,
            needs: round.needs,
        };
        steps.show(None);
        let timeout = self.harness_timeout(ex);
        match self.measure(&self.tree, ex, round.env, timings, &timeout, &steps) {
            Ok(m) => ex
                .observations
                .iter()
                .map(|o| ObservationResult {
                    recorded: recorded_behind(o, &m),
                    ..verdict::judge_beside_reference(o, &m, &self.rules, round.reference)
                })
                .collect(),
            Err(cause) => not_measured(cause),
        }
    }

    /// The graded harness's limit for `ex`: ten times the reference
    /// harness's wall time plus some (see [`timeouts::harness_timeout`]).
    fn harness_timeout(&self, ex: &Exercise) -> Timeout {
        let reference = self.reference.as_ref().and_then(|r| {
            let mut known = self
                .reference_harness
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *known
                .entry(ex.id.clone())
                .or_insert_with(|| reference_times::harness(r, &ex.id, &self.env, &self.limits))
        });
        timeouts::harness_timeout(self.limits.harness_timeout, reference)
    }

    /// One run of `tree`'s harness for `ex` with `env` within `timeout`,
    /// its times counted in `timings`.
    fn measure(
        &self,
        tree: &GradedTree,
        ex: &Exercise,
        env: &HarnessEnv,
        timings: &mut Timings,
        timeout: &Timeout,
        steps: &dyn Steps,
    ) -> Result<Measurements, NotMeasuredCause> {
        let started = Instant::now();
        let outcome = runner::run_harness_within(tree, &ex.id, env, &self.limits, timeout, steps);
        if self.records_reference_times {
            reference_times::record_harness(tree, &ex.id, &self.env, &outcome);
        }
        let wall = started.elapsed().as_secs_f64();
        timings.build_seconds += outcome.build_seconds;
        timings.harness_seconds += outcome.run_seconds;
        // Cargo's up-to-date check of the harness counts as overhead: warm,
        // it is part of every measuring run.
        timings.measure_seconds += wall.max(outcome.run_seconds);
        let m = outcome.measurements.map_err(harness_cause)?;
        if let Some(c) = m.during_run {
            self.while_measuring
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
        Ok(m)
    }

    /// [`observe`](Self::observe), then measure again while an observation
    /// is unsettled ([`worth_measuring_again`]), up to [`MAX_MEASUREMENTS`]
    /// runs and while another run fits in course.yaml's
    /// `remeasure_budget_seconds`. Each run again measures only the metrics
    /// of the observations still unsettled. When the reference solutions
    /// exist, it measures the reference first, then the graded tree (A B,
    /// A B): a miss the reference shares is the machine's.
    fn observe_again_if_needed(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        place: Place<'_>,
        timings: &mut Timings,
    ) -> Vec<ObservationResult> {
        let before = timings.harness_seconds;
        let first = Round {
            number: 1,
            env: &self.env,
            reference: None,
            needs: ex.observations.iter().map(metrics_read_by).collect(),
        };
        let mut observations = self.observe(ex, tests, place, timings, first);
        let mut longest = timings.harness_seconds - before;
        let (mut runs, mut spent) = (1, 0.0);
        let budget = self.course.defaults.remeasure_budget_seconds;
        while margin::measure_again(
            observations.iter().any(worth_measuring_again),
            runs,
            MAX_MEASUREMENTS,
            spent,
            longest,
            budget,
        ) {
            let before = timings.harness_seconds;
            let env = HarnessEnv {
                only: Some(unsettled_metrics(ex, &observations)),
                ..self.env.clone()
            };
            let reference = self.measure_reference(ex, &observations, &env, timings);
            let again = Round {
                number: runs + 1,
                env: &env,
                reference: reference.as_ref(),
                needs: unsettled(ex, &observations).map(metrics_read_by).collect(),
            };
            let again = self.observe(ex, tests, place, timings, again);
            merge_measured_again(&mut observations, again);
            let took = timings.harness_seconds - before;
            (runs, spent, longest) = (runs + 1, spent + took, longest.max(took));
        }
        observations
    }

    /// The reference solution's measurements for `ex`, when a reference
    /// exists and some unsettled observation failed or may have been
    /// slowed (a pass on a busy baseline needs no reference).
    fn measure_reference(
        &self,
        ex: &Exercise,
        observations: &[ObservationResult],
        env: &HarnessEnv,
        timings: &mut Timings,
    ) -> Option<Measurements> {
        let tree = self.reference.as_ref()?;
        let useful = observations
            .iter()
            .filter(|o| worth_measuring_again(o))
            .any(|o| {
                !matches!(
                    o.state,
                    ObservationState::Inconclusive {
                        cause: InconclusiveCause::BusyBaseline { .. }
                    }
                )
            });
        if !useful {
            return None;
        }
        self.progress.step(&format!(
            "{}: measuring the reference solution in turns",
            ex.id
        ));
        // Instructor code: course.yaml's ceiling is its limit.
        let timeout = timeouts::harness_timeout(self.limits.harness_timeout, None);
        self.measure(tree, ex, env, timings, &timeout, &runner::Untold)
            .ok()
    }

    /// The whole run's report.
    pub fn report(&self, run: Run, observations_measured: bool) -> GradeReport {
        let exercises = run.exercises;
        GradeReport {
            course: self.course.title.clone(),
            target: self.tree.label.clone(),
            machine: Machine {
                cores: self.rules.cores,
                time_unit_ms: self.env.time_unit_ms,
                repeats: self.env.repeats,
                facts: Some(self.facts.clone()),
                while_measuring: Contention::total(
                    self.while_measuring
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .iter(),
                ),
            },
            score: exercises.iter().map(|e| e.score).sum(),
            max_score: exercises.iter().map(|e| e.max_score).sum(),
            exercises,
            observations_measured,
            timings: run.timings,
            instructor_files: None,
            machine_limits: run.machine_limits,
            integrity: Integrity {
                isolation: self.tree.isolation.description(),
                strict: self.strict,
                flagged: run.flagged,
                restored: Vec::new(),
            },
        }
    }
}

/// One harness run of an exercise while grading it.
struct Round<'a> {
    /// 1 for the first run, then 2, 3, ...
    number: usize,
    /// What the harness is told (after the first run: measure only the
    /// unsettled observations' metrics).
    env: &'a HarnessEnv,
    /// The reference solution's measurements taken just before, if any.
    reference: Option<&'a Measurements>,
    /// The metrics each observation the run is for reads (the progress
    /// line counts the observations whose metrics are all recorded).
    needs: Vec<BTreeSet<String>>,
}

/// Shows how many of a run's tests have run on the progress line.
struct TestSteps<'a> {
    progress: &'a Progress,
    place: Place<'a>,
}

impl Steps for TestSteps<'_> {
    fn tests_run(&self, done: usize, total: usize) {
        self.progress
            .phase(self.place, Phase::Testing { done, total });
    }
}

/// Shows on the progress line how many of a harness run's observations
/// have all their metrics recorded.
struct MeasureSteps<'a> {
    progress: &'a Progress,
    place: Place<'a>,
    measurement: usize,
    needs: Vec<BTreeSet<String>>,
}

impl MeasureSteps<'_> {
    fn show(&self, measured: Option<usize>) {
        let phase = Phase::Measuring {
            observations: self.needs.len(),
            measured,
            measurement: self.measurement,
        };
        self.progress.phase(self.place, phase);
    }
}

impl Steps for MeasureSteps<'_> {
    fn metrics_recorded(&self, recorded: &BTreeSet<String>) {
        let measured = self.needs.iter().filter(|n| n.is_subset(recorded)).count();
        self.show(Some(measured));
    }
}

/// The observations of `ex` still worth measuring again.
fn unsettled<'a>(
    ex: &'a Exercise,
    observations: &'a [ObservationResult],
) -> impl Iterator<Item = &'a Observation> {
    ex.observations
        .iter()
        .zip(observations)
        .filter(|(_, result)| worth_measuring_again(result))
        .map(|(o, _)| o)
}

/// The metrics `observation`'s checks read: each one's `metric` and `per`.
fn metrics_read_by(observation: &Observation) -> BTreeSet<String> {
    observation
        .checks
        .iter()
        .flat_map(|c| std::iter::once(&c.metric).chain(&c.per))
        .cloned()
        .collect()
}

/// The metrics the observations still worth measuring again read (their
/// checks' `metric` and `per`): a run that measures again measures only
/// these.
fn unsettled_metrics(ex: &Exercise, observations: &[ObservationResult]) -> BTreeSet<String> {
    unsettled(ex, observations)
        .flat_map(metrics_read_by)
        .collect()
}

/// Why a harness run gave no measurements, as an observation's cause: a
/// harness killed at its limit is not measured again.
fn harness_cause(error: HarnessError) -> NotMeasuredCause {
    match error {
        HarnessError::TimedOut { limit_seconds, .. } => NotMeasuredCause::HarnessTimedOut {
            timeout_seconds: limit_seconds,
            reason: error.to_string(),
        },
        error => NotMeasuredCause::Harness(error.to_string()),
    }
}

/// No test earns its points (`--strict` and flagged sources); what libtest
/// reported stays as it was.
fn withhold(tests: &mut TestsReport) {
    for test in &mut tests.tests {
        test.points = 0.0;
    }
    tests.points = 0.0;
}

/// The traces and sweeps named after a metric `o`'s checks read.
fn recorded_behind(o: &Observation, m: &Measurements) -> Recorded {
    let read = |name: &str| {
        o.checks
            .iter()
            .any(|c| c.metric == name || c.per.as_deref() == Some(name))
    };
    Recorded {
        traces: m.traces.iter().filter(|t| read(&t.name)).cloned().collect(),
        sweeps: m.sweeps.iter().filter(|s| read(&s.name)).cloned().collect(),
    }
}

/// Merge a new measurement into the observations: each one still worth
/// measuring again counts one more measurement and takes the new result
/// unless the old one is better evidence: a pass over a fail, a fail over
/// an inconclusive verdict (the later of two alike). The others (a pass, a
/// skip, a cause measuring cannot change) stay. Timing noise only ever adds
/// time, so a pass is the best evidence, and a fail measured on a quiet
/// machine is not undone by a later busy one.
pub fn merge_measured_again(observations: &mut [ObservationResult], again: Vec<ObservationResult>) {
    for (old, new) in observations.iter_mut().zip(again) {
        if worth_measuring_again(old) {
            let measurements = old.measurements + 1;
            if evidence(&new) >= evidence(old) {
                *old = new;
            }
            old.measurements = measurements;
        }
    }
}

/// How strong a verdict is as evidence: pass, then fail, then the rest.
fn evidence(o: &ObservationResult) -> u8 {
    match o.verdict {
        Verdict::Pass => 3,
        Verdict::Fail => 2,
        Verdict::Inconclusive => 1,
        Verdict::Skipped => 0,
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

/// Unsettled: inconclusive, or failed by a check within
/// [`margin::MEASURE_AGAIN_WITHIN`] of its bound. Not a clear fail, a pass, or a
/// fail for want of a build or a passing test, which measuring again cannot
/// change.
fn worth_measuring_again(o: &ObservationResult) -> bool {
    match &o.state {
        ObservationState::Measured => {
            o.verdict == Verdict::Fail && o.checks.iter().any(missed_closely)
        }
        ObservationState::Inconclusive { .. } => true,
        ObservationState::NotMeasured { .. } | ObservationState::Skipped { .. } => false,
    }
}

/// A check that missed its bound by no more than [`margin::MEASURE_AGAIN_WITHIN`].
fn missed_closely(c: &CheckResult) -> bool {
    let Some(value) = c.value.filter(|_| !c.passed) else {
        return false;
    };
    let missed_by = match (c.at_least, c.at_most) {
        (Some(lo), _) if value < lo => lo / value,
        (_, Some(hi)) if value > hi => value / hi,
        _ => return false,
    };
    margin::is_close_miss(missed_by)
}

/// The reference solutions' tree, unless the solutions are what is graded
/// or the course has none.
fn reference_tree(course: &Course, exercises: &[&Exercise], source: &Source) -> Option<GradedTree> {
    if matches!(source, Source::Solutions) {
        return None;
    }
    prepare_tree(course, exercises, &Source::Solutions, 0).ok()
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
pub fn check_cargo() -> anyhow::Result<()> {
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
            recorded: Recorded::default(),
        }
    }

    fn measured(verdict: Verdict, reason: &str) -> ObservationResult {
        observation(verdict, ObservationState::Measured, reason)
    }

    /// A fail whose check `serial / threads >= 1.6` measured `value`.
    fn failed_at(value: f64, reason: &str) -> ObservationResult {
        let mut o = measured(Verdict::Fail, reason);
        o.checks.push(CheckResult {
            metric: "serial_seconds".into(),
            per: Some("threads_seconds".into()),
            value: Some(value),
            at_least: Some(1.6),
            at_most: None,
            metric_min: None,
            per_min: None,
            unit: None,
            spread: Some(0.01),
            passed: false,
            error: None,
            summary: String::new(),
        });
        o
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
            failed_at(1.5, "first fail"),
            inconclusive("first noise"),
        ];
        let again = vec![
            failed_at(1.5, "second fail"),
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
            failed_at(1.5, "third fail"),
            failed_at(1.5, "third fail"),
            failed_at(1.5, "third fail"),
        ];
        merge_measured_again(&mut observations, third);
        let counts: Vec<u32> = observations.iter().map(|o| o.measurements).collect();
        assert_eq!(counts, [1, 2, 3]);
        assert_eq!(observations[2].verdict, Verdict::Fail);
    }

    #[test]
    fn measuring_again_asks_only_for_the_metrics_of_unsettled_observations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root.join("course.yaml")).unwrap();
        let ex03 = course.exercise("ex03").unwrap();
        let results: Vec<ObservationResult> = ex03
            .observations
            .iter()
            .map(|o| match o.id.as_str() {
                "threads-crunch-in-parallel" => inconclusive("busy"),
                "really-processes" => failed_at(1.0, "one worker, far from the bound"),
                _ => measured(Verdict::Pass, "ok"),
            })
            .collect();
        let only: Vec<String> = unsettled_metrics(ex03, &results).into_iter().collect();
        assert_eq!(only, ["reference_serial_seconds", "threads_seconds"]);

        let settled = vec![measured(Verdict::Pass, "ok"); ex03.observations.len()];
        assert!(unsettled_metrics(ex03, &settled).is_empty());
    }

    #[test]
    fn what_measuring_cannot_change_is_not_measured_again() {
        let waiting = ObservationState::NotMeasured {
            cause: NotMeasuredCause::NoTestPasses,
        };
        let broken = ObservationState::NotMeasured {
            cause: NotMeasuredCause::Harness("crashed".into()),
        };
        let hung = ObservationState::NotMeasured {
            cause: NotMeasuredCause::HarnessTimedOut {
                timeout_seconds: 70.0,
                reason: "The harness of ex03 timed out after 70s".into(),
            },
        };
        let skipped = ObservationState::Skipped {
            cores_needed: 4,
            cores_present: 2,
        };
        for state in [waiting, broken, hung, skipped] {
            let verdict = match state {
                ObservationState::Skipped { .. } => Verdict::Skipped,
                _ => Verdict::Fail,
            };
            assert!(!worth_measuring_again(&observation(verdict, state, "")));
        }
        assert!(worth_measuring_again(&inconclusive("")));
        assert!(!worth_measuring_again(&measured(Verdict::Pass, "")));
    }

    #[test]
    fn a_harness_that_hung_while_measuring_again_ends_the_measuring() {
        let hung = || {
            let cause = NotMeasuredCause::HarnessTimedOut {
                timeout_seconds: 70.0,
                reason: "The harness of ex03 timed out after 70s".into(),
            };
            observation(
                Verdict::Fail,
                ObservationState::NotMeasured { cause },
                "not measured: hung",
            )
        };
        let mut observations = vec![measured(Verdict::Pass, "passed"), inconclusive("busy")];
        merge_measured_again(&mut observations, vec![hung(), hung()]);
        // A pass stays a pass; the unsettled one is now settled as not
        // measured, so no further run (nor a reference turn) is asked for.
        assert_eq!(observations[0].verdict, Verdict::Pass);
        assert_eq!(observations[1].reason, "not measured: hung");
        assert!(!observations.iter().any(worth_measuring_again));
    }

    #[test]
    fn a_fail_is_measured_again_only_when_it_missed_by_a_quarter_or_less() {
        // 1.5 against at least 1.6: missed by 6.7%; 1.28 by a quarter.
        assert!(worth_measuring_again(&failed_at(1.5, "")));
        assert!(worth_measuring_again(&failed_at(1.6 / 1.25, "")));
        assert!(!worth_measuring_again(&failed_at(1.6 / 1.3, "")));
        // A serial pool's 1.0x: a clear fail, settled.
        assert!(!worth_measuring_again(&failed_at(1.0, "")));
        assert!(!worth_measuring_again(&measured(Verdict::Fail, "")));
    }

    #[test]
    fn a_later_fail_replaces_an_inconclusive_verdict_but_not_a_pass_and_not_the_other_way() {
        let mut observations = vec![inconclusive("busy"), failed_at(1.5, "quiet fail")];
        merge_measured_again(
            &mut observations,
            vec![failed_at(1.5, "quiet fail"), inconclusive("busy again")],
        );
        let seen: Vec<&str> = observations.iter().map(|o| o.reason.as_str()).collect();
        assert_eq!(seen, ["quiet fail", "quiet fail"]);
        assert_eq!(observations[1].measurements, 2);
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

    #[test]
    fn an_observation_carries_the_traces_and_sweeps_named_after_its_metrics() {
        let m: Measurements = serde_json::from_str(
            r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05, "cores": 2,
                 "repeats": 3, "metrics": [],
                 "traces": [ { "name": "threads_seconds", "spans": [] },
                             { "name": "rayon_seconds", "spans": [] } ],
                 "sweeps": [ { "name": "slow_2_seconds", "points": [] } ] }"#,
        )
        .unwrap();
        let observation = Observation {
            id: "obs".into(),
            claim: "A claim.".into(),
            points: 1.0,
            min_cores: 1,
            checks: vec![crate::course::Check {
                metric: "threads_seconds".into(),
                per: Some("slow_2_seconds".into()),
                at_least: Some(1.0),
                at_most: None,
            }],
            hint: "A hint.".into(),
            max_spread: None,
            tested_by: Vec::new(),
        };
        let recorded = recorded_behind(&observation, &m);
        let names: Vec<&str> = recorded.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["threads_seconds"]);
        assert_eq!(recorded.sweeps.len(), 1);
    }
}
