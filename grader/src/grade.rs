//! One grading run: prepare the tree, run each exercise's tests, measure and
//! judge its observations, and gather everything into a [`GradeReport`].
//!
//! Exercises are graded one at a time: two harnesses timed at once would
//! spoil each other's observations.

use crate::course::{Course, Exercise};
use crate::model::{
    ExerciseReport, GradeReport, Machine, ObservationResult, TestStatus, TestsReport, Timings,
    Verdict,
};
use crate::runner::{self, HarnessEnv, Limits};
use crate::verdict;
use crate::workspace::{self, GradedTree, Source};
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Output kept per stream of one run of student code.
const OUTPUT_CAP_BYTES: usize = 64 * 1024;
/// Why an exercise's observations wait until a test passes.
const NO_TEST_PASSES: &str =
    "no test passes yet; observations are measured once the tests start passing";
const DOES_NOT_BUILD: &str = "the exercise does not build (see its tests)";
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

/// Grade `course` (loaded from `course_file`) as `options` say.
pub fn grade(
    course: &Course,
    course_file: &Path,
    options: &Options,
    progress: &Progress,
) -> anyhow::Result<GradeReport> {
    let started = Instant::now();
    let exercises = course.select(&options.exercises)?;
    let grader = Grader::new(
        course,
        course_file,
        &exercises,
        &options.source,
        options.repeats,
        progress,
    )?;
    let mut timings = Timings::default();
    let mut reports = Vec::new();
    for ex in exercises {
        let tests = grader.tests(ex, &mut timings);
        let observations = if options.observations {
            grader.observe_again_if_needed(ex, &tests, &mut timings)
        } else {
            Vec::new()
        };
        reports.push(exercise_report(ex, tests, observations));
    }
    progress.done();
    timings.total_seconds = started.elapsed().as_secs_f64();
    let timings = timings.with_overhead();
    Ok(grader.report(reports, options.observations, timings))
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
        course_file: &Path,
        exercises: &[&Exercise],
        source: &Source,
        repeats: Option<usize>,
        progress: &'a Progress,
    ) -> anyhow::Result<Self> {
        check_cargo()?;
        // Absolute, because cargo runs in other directories.
        let root = course_root(course_file);
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot find the course directory {}", root.display()))?;
        let dirs: Vec<PathBuf> = exercises.iter().map(|e| e.dir.clone()).collect();
        let given: Vec<PathBuf> = exercises.iter().flat_map(|e| e.given_files()).collect();
        progress.step("preparing the tree to grade");
        let tree = workspace::prepare(&root, &dirs, &given, source)
            .context("cannot prepare the tree to grade")?;
        let d = &course.defaults;
        Ok(Grader {
            course,
            tree,
            limits: Limits {
                test_timeout: Duration::from_secs_f64(d.test_timeout_seconds),
                harness_timeout: Duration::from_secs_f64(d.observe_timeout_seconds),
                output_cap_bytes: OUTPUT_CAP_BYTES,
            },
            env: HarnessEnv {
                repeats: repeats.unwrap_or(d.repeats),
                time_unit_ms: time_unit_ms(d.time_unit_ms)?,
            },
            cores: common::observe::cores(),
            progress,
        })
    }

    /// Build and run the exercise's tests; points are shared evenly by its
    /// tests, so each passing test earns its share.
    pub fn tests(&self, ex: &Exercise, timings: &mut Timings) -> TestsReport {
        self.progress
            .step(&format!("{}: building and running the tests", ex.id));
        let outcome = runner::run_tests(&self.tree, &ex.id, &self.limits);
        timings.build_seconds += outcome.build_seconds;
        timings.test_seconds += outcome.test_seconds;
        let passed = outcome
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count();
        let points = match (&outcome.build_error, outcome.tests.len()) {
            (Some(_), _) | (None, 0) => 0.0,
            (None, n) => ex.test_points * passed as f64 / n as f64,
        };
        TestsReport {
            points,
            max_points: ex.test_points,
            build_error: outcome.build_error,
            tests: outcome.tests,
        }
    }

    /// Build and run the harness and judge every observation. Nothing is
    /// measured while the exercise does not build or no test passes.
    pub fn observe(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        timings: &mut Timings,
    ) -> Vec<ObservationResult> {
        if ex.observations.is_empty() {
            return Vec::new();
        }
        let not_measured = |why: &str| {
            ex.observations
                .iter()
                .map(|o| verdict::not_measured(o, self.cores, why))
                .collect()
        };
        if tests.build_error.is_some() {
            return not_measured(DOES_NOT_BUILD);
        }
        if !tests.tests.iter().any(|t| t.status == TestStatus::Passed) {
            return not_measured(NO_TEST_PASSES);
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
            Err(why) => not_measured(why),
        };
        // Cargo's up-to-date check of the harness counts as overhead: warm,
        // it is part of every measuring run.
        timings.measure_seconds += wall.max(outcome.run_seconds);
        judged
    }

    /// [`observe`](Self::observe), then measure again, up to
    /// [`EXTRA_MEASUREMENTS`] times, while an observation that was measured
    /// failed or was inconclusive; each keeps the first pass. Timing noise
    /// only ever adds time, so a pass is the better evidence; and the same
    /// tree graded twice gets the same score.
    pub fn observe_again_if_needed(
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
            for (old, new) in observations.iter_mut().zip(again) {
                if worth_measuring_again(old) {
                    *old = ObservationResult {
                        measurements: old.measurements + 1,
                        ..new
                    };
                }
            }
        }
        observations
    }

    /// The whole run's report.
    pub fn report(
        &self,
        exercises: Vec<ExerciseReport>,
        observations_measured: bool,
        timings: Timings,
    ) -> GradeReport {
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
            timings,
            instructor_files: None,
        }
    }
}

/// Failed or inconclusive on measurements (not for want of a build or a
/// passing test, which measuring again cannot change).
fn worth_measuring_again(o: &ObservationResult) -> bool {
    matches!(o.verdict, Verdict::Fail | Verdict::Inconclusive)
        && o.checks.iter().all(|c| c.error.is_none())
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
        tests,
        observations,
        hints: ex.hints.clone(),
        score,
        max_score,
    }
}

/// The directory course.yaml's paths are relative to.
pub fn course_root(course_file: &Path) -> PathBuf {
    match course_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The time unit the harnesses run with: `COURSE_TIME_UNIT_MS` when set,
/// else course.yaml's default.
fn time_unit_ms(default: f64) -> anyhow::Result<f64> {
    match std::env::var(common::TIME_UNIT_ENV) {
        Ok(value) => match value.trim().parse::<f64>() {
            Ok(ms) if ms.is_finite() && ms > 0.0 => Ok(ms),
            _ => bail!(
                "{} must be a positive number of milliseconds, not `{value}`",
                common::TIME_UNIT_ENV
            ),
        },
        Err(_) => Ok(default),
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

/// The progress line on stderr: a spinner on a terminal, plain step lines
/// otherwise (CI logs), or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    /// A spinner when stderr is a terminal, else one plain line per step.
    pub fn stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress {
                bar: Some(bar),
                plain: false,
            }
        } else {
            Progress {
                bar: None,
                plain: true,
            }
        }
    }

    /// No progress output at all.
    pub fn quiet() -> Progress {
        Progress {
            bar: None,
            plain: false,
        }
    }

    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None if self.plain => eprintln!("grader: {message}"),
            None => {}
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}
