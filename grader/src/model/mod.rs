//! The result model: what a grading run found, independent of how it is shown.
//!
//! The runner fills it, the verdict logic judges observations into it, and
//! every reporter (human, json, junit, gradescope, github, html) reads only this.

pub mod points;

use protocol::machine::{Contention, Facts};
use protocol::observe::{NamedTrace, Sweep, Unit};
use serde::{Deserialize, Serialize};

/// One grading run over some exercises of one tree (exercises, solutions or a submission).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeReport {
    pub course: String,
    /// What was graded: "exercises", "solutions" or `submission <dir>`.
    pub target: String,
    pub machine: Machine,
    pub exercises: Vec<ExerciseReport>,
    /// False with `--no-observations`: then no exercise lists observations
    /// and `max_score` counts test points only.
    pub observations_measured: bool,
    pub score: f64,
    pub max_score: f64,
    pub timings: Timings,
    /// Whether the instructor's files in the graded tree match the release's
    /// SHA-256 manifest; None where there is no release to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructor_files: Option<InstructorFiles>,
    /// The sandbox and the source scan (absent from reports made before them).
    #[serde(default, skip_serializing_if = "Integrity::is_unknown")]
    pub integrity: Integrity,
    /// The points of the observations this machine could not judge, and
    /// whether they stayed in `max_score` (absent from reports made before
    /// the rule: kept, uncounted).
    #[serde(default)]
    pub machine_limits: MachineLimits,
}

/// course.yaml's `defaults.machine_limit_points`: what the points of an
/// observation this machine could not judge (skipped: too few cores;
/// inconclusive: too busy or too noisy) do. They are never earned; this
/// decides whether they stay in the maximum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineLimitRule {
    /// They stay in the maximum, earned as 0: every score is out of the
    /// whole course (the default: the score says what was shown).
    #[default]
    KeepAsZero,
    /// They leave the maximum: the score is out of what this machine could
    /// judge (the observation is out of 0 points).
    LeaveOut,
}

impl MachineLimitRule {
    /// The rule as course.yaml spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineLimitRule::KeepAsZero => "keep_as_zero",
            MachineLimitRule::LeaveOut => "leave_out",
        }
    }
}

/// What the machine-limit rule did in one run. Set by grading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineLimits {
    pub rule: MachineLimitRule,
    /// The points of the observations this machine could not judge: in
    /// `max_score` as 0 (`keep_as_zero`) or left out of it (`leave_out`).
    pub points: f64,
    /// Those observations, as `exNN observation-id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<String>,
}

/// How far the run can be trusted: whether student code was isolated, and
/// what the scan of the student's sources found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    /// "isolated (...)" or "not isolated: <why>".
    pub isolation: String,
    /// `--strict`: a flagged exercise earns no points.
    pub strict: bool,
    /// The exercises whose sources were flagged.
    pub flagged: Vec<FlaggedExercise>,
    /// Instructor files found changed after grading and put back (course-relative).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<String>,
}

impl Integrity {
    /// Nothing known (a report from before the sandbox, or a test fixture).
    pub fn is_unknown(&self) -> bool {
        self.isolation.is_empty() && self.flagged.is_empty()
    }

    /// The flags of one exercise.
    pub fn flags_of(&self, exercise: &str) -> Option<&FlaggedExercise> {
        self.flagged.iter().find(|f| f.exercise == exercise)
    }
}

/// What the scan found in one exercise's sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlaggedExercise {
    pub exercise: String,
    pub flags: Vec<SourceFlag>,
    /// The exercise earned no points for it (`--strict`).
    pub points_withheld: bool,
    /// What the flags cost under `--strict`: every point of the exercise
    /// (absent from reports made before it).
    #[serde(default)]
    pub points_at_stake: f64,
}

impl FlaggedExercise {
    /// What the flags cost, or would cost under `--strict`, in a sentence.
    pub fn cost(&self) -> String {
        let points = self.points_at_stake;
        let points = if points == 1.0 {
            "1 point".to_owned()
        } else {
            format!("{} points", (points * 100.0).round() / 100.0)
        };
        if self.points_withheld {
            format!("--strict: the exercise's {points} are withheld for these flags")
        } else {
            format!(
                "reported only (not --strict); graded with --strict, as submissions are, they cost all {points} of the exercise"
            )
        }
    }
}

/// The machine the observations were measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub time_unit_ms: f64,
    pub repeats: usize,
    /// The CPU the grader could use: online CPUs, affinity, quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
    /// What other programs did while the harnesses ran, all runs together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_measuring: Option<Contention>,
    /// Why that counts as a busy machine by course.yaml's `busy_*` limits
    /// (e.g. `other programs used 0.95 cores (more than 0.10)`); absent
    /// when it was quiet or nothing was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
}

/// Where the run's time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub build_seconds: f64,
    pub test_seconds: f64,
    /// Wall time of measuring the observations: building (or, warm,
    /// cargo's up-to-date check of) the harnesses, running them and judging.
    /// The harness builds count in `build_seconds` too.
    pub measure_seconds: f64,
    /// Wall time of the harness processes themselves (the timed work).
    pub harness_seconds: f64,
    /// Grader time beyond the timed work while measuring, as a percentage
    /// of `measure_seconds`: `(measure - harness) / measure * 100`.
    #[serde(default)]
    pub overhead_percent: f64,
    pub total_seconds: f64,
}

impl Timings {
    /// Work out [`overhead_percent`](Self::overhead_percent) from the other
    /// figures.
    pub fn with_overhead(mut self) -> Self {
        self.overhead_percent = if self.measure_seconds > 0.0 {
            (self.measure_seconds - self.harness_seconds).max(0.0) / self.measure_seconds * 100.0
        } else {
            0.0
        };
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseReport {
    pub id: String,
    pub title: String,
    /// The exercise's directory relative to course.yaml, e.g. `exercises/ex01-serial-map`.
    pub dir: String,
    /// The instructor's test file, relative to course.yaml, e.g.
    /// `exercises/ex02-threaded-query/tests/ex02.rs`.
    #[serde(default)]
    pub test_file: String,
    /// The observation harness, relative to course.yaml.
    #[serde(default)]
    pub harness_file: String,
    pub tests: TestsReport,
    pub observations: Vec<ObservationResult>,
    /// The exercise's hints, shown when anything failed.
    pub hints: Vec<String>,
    pub score: f64,
    pub max_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestsReport {
    pub points: f64,
    pub max_points: f64,
    /// The compiler's first error when the tests did not build.
    pub build_error: Option<String>,
    /// Every expected test, whether or not it reported.
    pub tests: Vec<TestResult>,
    /// `src` is still the course's stubs: the tests were not built or run,
    /// each fails at the first `todo!()` it reaches (`runner::stubs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stub_src: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// `<test target>::<test name>`, e.g. `ex02::pool_map_keeps_input_order`.
    pub name: String,
    pub status: TestStatus,
    pub seconds: f64,
    /// Earned: [`max_points`](Self::max_points) when it passed, else 0.
    /// Set by grading, never by a reporter.
    #[serde(default)]
    pub points: f64,
    /// This test's share of the exercise's `test_points` (see
    /// [`points::test_shares`]): the shares add up to exactly
    /// `test_points`.
    #[serde(default)]
    pub max_points: f64,
    /// What the test printed (capped), shown for failures.
    pub output: String,
    /// Why it failed, in the few lines worth showing (what the panic said,
    /// or why it never reported); `None` when it passed. Set by the runner.
    #[serde(default)]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    /// Killed after the timeout.
    TimedOut,
    /// Never reported: the build failed or the process exited early.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationResult {
    pub id: String,
    pub claim: String,
    pub verdict: Verdict,
    /// What happened to it: measured, not measured (and why), skipped (and
    /// the cores), inconclusive (and why).
    pub state: ObservationState,
    /// One sentence: why this verdict (what was measured against what).
    pub reason: String,
    pub points: f64,
    pub max_points: f64,
    pub checks: Vec<CheckResult>,
    /// Shown when the verdict is not pass.
    pub hint: Option<String>,
    /// How many times the harness measured it: more than 1 when an earlier
    /// measurement did not pass and it was measured again.
    #[serde(default = "one")]
    pub measurements: u32,
    /// The schedules and sweeps the harness recorded behind it.
    #[serde(flatten, default)]
    pub recorded: Recorded,
}

/// What the harness recorded behind an observation, for the reports to
/// draw: its traces and sweeps named after a metric the observation's checks
/// read. Facts, not judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Who ran which task when (lanes, labels, times in units).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<NamedTrace>,
    /// Times of the same work on 1, 2, ... workers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweeps: Vec<Sweep>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The machine has fewer cores than the observation needs.
    Skipped,
    /// The repeats were too spread to judge.
    Inconclusive,
}

impl Verdict {
    /// Skipped or inconclusive: the machine's limit, not the code's verdict.
    pub fn is_machine_limit(self) -> bool {
        matches!(self, Verdict::Skipped | Verdict::Inconclusive)
    }

    /// The verdict's name as every format spells it: `pass`, `fail`,
    /// `skipped`, `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// What happened to an observation, as facts a reporter can show without
/// reading the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObservationState {
    /// Every check was evaluated on measurements: the verdict is pass or fail.
    Measured,
    /// Nothing to judge: a fail, for this cause.
    NotMeasured { cause: NotMeasuredCause },
    /// The machine has fewer cores than the observation needs.
    Skipped {
        cores_needed: usize,
        cores_present: usize,
    },
    /// Failed on measurements the machine could not make trustworthy.
    Inconclusive { cause: InconclusiveCause },
}

/// Why an observation was not measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum NotMeasuredCause {
    /// The exercise's tests do not build.
    DoesNotBuild,
    /// No test passes yet: observations wait for the first passing test.
    NoTestPasses,
    /// The harness did not build, did not finish, or wrote no usable
    /// measurements file: the runner's sentence.
    Harness(String),
    /// The harness was killed at its limit, `timeout_seconds` (ten times
    /// what the reference's harness needs plus some, course.yaml's
    /// `observe_timeout_seconds` at most): student code that never returns,
    /// such as a pool that hangs. `reason` is the runner's sentence, with
    /// the limit and why it is that long. Never measured again.
    HarnessTimedOut {
        timeout_seconds: f64,
        reason: String,
    },
    /// A metric a check needs is missing, failed (the student's code
    /// panicked) or has no usable value: the check's error.
    Metric(String),
    /// `--strict` grading, and the exercise's sources are flagged.
    PointsWithheld,
}

impl NotMeasuredCause {
    /// Measuring again cannot change these.
    pub fn waits_for_tests(&self) -> bool {
        matches!(
            self,
            Self::DoesNotBuild | Self::NoTestPasses | Self::PointsWithheld
        )
    }
}

/// Why a failed observation was not trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InconclusiveCause {
    /// The failing checks' repeats spread more than allowed:
    /// `(median - min) / min` of `spread` against `max_spread`.
    Spread { spread: f64, max_spread: f64 },
    /// Other programs (or a CPU quota) used the CPU while the failing
    /// checks were measured, enough to slow them by up to `slowdown`.
    Busy {
        contention: Contention,
        slowdown: f64,
    },
    /// The reference solution, measured in turns with the submission on
    /// this machine, misses it too (its value of the first missed check).
    ReferenceAlsoMisses { reference_value: f64 },
    /// Every check passed, but a baseline was measured while the machine
    /// was busy: measured quietly, the check could be only `could_be`.
    BusyBaseline {
        contention: Contention,
        could_be: f64,
    },
}

/// One comparison of an observation, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub metric: String,
    pub per: Option<String>,
    /// min(metric) / min(per), or min(metric) without `per`; None when not measured.
    pub value: Option<f64>,
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    /// Minimum of the metric's repeats and its unit ("seconds", "count", "ratio").
    pub metric_min: Option<f64>,
    pub per_min: Option<f64>,
    pub unit: Option<Unit>,
    /// (median - min) / min of the metric's and per's repeats, the larger.
    pub spread: Option<f64>,
    pub passed: bool,
    /// Why it could not be measured (the harness's error, a missing metric).
    pub error: Option<String>,
    /// The check in one sentence, numbers beside the expectation, e.g.
    /// `threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units`.
    /// Empty when it was not measured.
    pub summary: String,
}

/// What a grading found when it compared a tree with the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructorFiles {
    /// How many instructor-owned files the manifest lists.
    pub checked: usize,
    /// Listed files whose content differs from the release.
    pub changed: Vec<String>,
    /// Listed files the tree does not have.
    pub missing: Vec<String>,
    /// Listed files a submission did not send: a submission is its
    /// `exercises/*/src/**`, and grading uses the instructor's copy of every
    /// other file, so these are neither changed nor missing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_sent: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl InstructorFiles {
    /// Every listed file is present and unchanged.
    pub fn intact(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty()
    }
}

/// One suspicious use in a submission's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFlag {
    /// Relative to the graded tree's root, e.g. `exercises/ex01-serial-map/src/lib.rs`.
    pub file: String,
    pub line: usize,
    /// What was found, in a few words, and what exactly.
    pub what: String,
    /// How honest code avoids the flag (absent from reports made before it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub advice: String,
}
