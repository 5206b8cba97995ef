//! One grading run: prepare the tree, run each exercise's tests, measure and
//! judge its observations, and gather everything into a [`GradeReport`].
//!
//! Exercises are graded one at a time: two harnesses timed at once would
//! spoil each other's observations.

mod measure;
mod steps;

use crate::course::{Course, Exercise, Observation};
use crate::judge::busy;
use crate::judge::claims;
use crate::judge::prerequisites;
use crate::judge::remeasure::{
    self, merge_measured_again, metrics_read_by, unsettled, unsettled_metrics,
    worth_measuring_again, MAX_MEASUREMENTS,
};
use crate::judge::verdict;
use crate::model::points::{self, tests_report, withhold};
use crate::model::{
    ExerciseReport, FlaggedExercise, GradeReport, InconclusiveCause, Integrity, Machine,
    MachineLimits, NotMeasuredCause, ObservationResult, ObservationState, Recorded, TestStatus,
    TestsReport, Timings,
};
use crate::report::progress::{Phase, Place, Progress};
use crate::runner::harness::HarnessError;
use crate::runner::stubs;
use crate::runner::timeouts::{self, Timeout};
use crate::runner::{self, reference_times, HarnessInput, RunLimits, Steps};
use crate::workspace::scan;
use crate::workspace::{self, GradedTree, Source};
use anyhow::{bail, Context};
use protocol::machine::{Contention, Facts, Sources};
use protocol::observe::Measurements;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use steps::{MeasureSteps, TestSteps};

/// Output kept per stream of one run of student code.
const OUTPUT_CAP_BYTES: usize = 64 * 1024;

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
    /// `--build-stubs`: build and run the tests of exercises still at the
    /// course's stubs too ([`Grader::running_stubs`]).
    pub build_stubs: bool,
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
    let mut grader = grader.strict(options.strict)?;
    if options.build_stubs {
        grader = grader.running_stubs();
    }
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
    limits: RunLimits,
    env: HarnessInput,
    rules: verdict::Criteria,
    facts: Facts,
    /// What other programs did during each harness run.
    while_measuring: Mutex<Vec<Contention>>,
    /// Where the harnesses read those figures (the box may see less than
    /// the grader): the last run's, for the report's machine facts.
    harness_sources: Mutex<Option<Sources>>,
    progress: &'a Progress,
    /// `--strict`: flagged exercises earn nothing.
    strict: bool,
    /// Build and run the tests of an exercise whose `src` is still the
    /// stubs too (`grader check`), instead of failing them unbuilt.
    run_stubs: bool,
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
        runner::cargo::check_available()?;
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
            limits: RunLimits {
                test_timeout: Duration::from_secs_f64(d.test_timeout_seconds),
                harness_timeout: Duration::from_secs_f64(d.observe_timeout_seconds),
                output_cap_bytes: OUTPUT_CAP_BYTES,
            },
            env: HarnessInput {
                repeats: repeats.or(env.repeats).unwrap_or(d.repeats),
                time_unit_ms: env.time_unit_ms.unwrap_or(d.time_unit_ms),
                only: None,
            },
            rules: verdict::Criteria {
                max_spread: d.max_spread,
                cores: facts.available_parallelism,
                busy: busy::BusyLimits::from_defaults(d),
            },
            facts,
            while_measuring: Mutex::new(Vec::new()),
            harness_sources: Mutex::new(None),
            progress,
            strict: false,
            run_stubs: false,
        })
    }

    /// The tree being graded.
    pub fn tree(&self) -> &GradedTree {
        &self.tree
    }

    /// Build and run even the tests of exercises whose `src` is still the
    /// course's stubs (`grader check` makes sure that they fail).
    pub fn running_stubs(mut self) -> Self {
        self.run_stubs = true;
        self
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
                let found = self.scan(ex, ex.max_points(observations));
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
                prerequisites::apply(ex, &mut observed);
                points::apply_machine_limit_rule(&ex.id, &mut observed, &mut machine_limits);
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
    fn scan(&self, ex: &Exercise, points_at_stake: f64) -> Option<FlaggedExercise> {
        let src = self.tree.student_src(&ex.dir)?;
        let given: Vec<PathBuf> = ex
            .given_files()
            .iter()
            .map(|f| self.tree.root().join(f))
            .collect();
        let rules = scan::Rules {
            starts_processes: ex.starts_processes,
        };
        let flags = scan::scan_src(self.tree.root(), &src, &given, rules);
        (!flags.is_empty()).then(|| FlaggedExercise {
            exercise: ex.id.clone(),
            flags,
            points_withheld: self.strict,
            points_at_stake,
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
        if !self.run_stubs {
            if let Some(tests) = stubs::failing_unbuilt(self.course.root(), &self.tree, ex) {
                self.progress.phase(place, Phase::Stubs);
                return TestsReport {
                    stub_src: true,
                    ..tests_report(ex.test_points, None, tests)
                };
            }
        }
        self.progress
            .phase(place, Phase::building(&self.tree.target_dir));
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

    /// The grader's facts, with the sources the harnesses read their
    /// contention from when one ran.
    fn machine_facts(&self) -> Facts {
        let harness = self
            .harness_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Facts {
            sources: harness.clone().or_else(|| self.facts.sources.clone()),
            ..self.facts.clone()
        }
    }

    /// The whole run's report.
    pub fn report(&self, run: Run, observations_measured: bool) -> GradeReport {
        let exercises = run.exercises;
        let while_measuring = Contention::total(
            self.while_measuring
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter(),
        );
        let busy = match busy::judge(while_measuring.as_ref(), self.rules.busy) {
            busy::Busyness::Busy(why) => Some(why),
            busy::Busyness::Quiet | busy::Busyness::Unknown => None,
        };
        GradeReport {
            course: self.course.title.clone(),
            target: self.tree.label.clone(),
            machine: Machine {
                cores: self.rules.cores,
                time_unit_ms: self.env.time_unit_ms,
                repeats: self.env.repeats,
                facts: Some(self.machine_facts()),
                while_measuring,
                busy,
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
    env: &'a HarnessInput,
    /// The reference solution's measurements taken just before, if any.
    reference: Option<&'a Measurements>,
    /// The metrics each observation the run is for reads (the progress
    /// line counts the observations whose metrics are all recorded).
    needs: Vec<BTreeSet<String>>,
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
