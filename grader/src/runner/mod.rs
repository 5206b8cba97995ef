//! Runs cargo and the student's code: builds, one process per test, the
//! observation harness. Every run of student code goes through [`sandbox`].

pub mod cargo;
pub mod harness;
mod launch;
pub mod libtest;
pub mod reference_times;
pub mod stubs;
pub mod test_sources;
pub mod timeouts;
pub mod waits;

use crate::model;
use crate::workspace::GradedTree;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use timeouts::{TestClock, Timeout};

/// Bounds on every run of student code (cargo builds have their own,
/// [`cargo::BUILD_TIMEOUT`]).
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// One test process at most (course.yaml's `test_timeout_seconds`);
    /// [`timeouts`] derives each test's own limit below it.
    pub test_timeout: Duration,
    /// One harness run at most (course.yaml's `observe_timeout_seconds`).
    pub harness_timeout: Duration,
    /// Output kept per stream of one run.
    pub output_cap_bytes: usize,
}

/// How far a run has got, told as it goes for a progress display: the
/// runner tells, the caller shows it or not. Nothing is judged from it.
pub trait Steps: Sync {
    /// The tests built and were listed; `done` of `total` have run.
    fn tests_run(&self, _done: usize, _total: usize) {}
    /// The harness runs; it has recorded `metrics` so far (by its own word:
    /// student code may write there too).
    fn metrics_recorded(&self, _metrics: &BTreeSet<String>) {}
}

/// Steps told to no one.
pub struct Untold;

impl Steps for Untold {}

/// What running one package's tests found.
#[derive(Debug, Clone)]
pub struct TestsOutcome {
    /// The compiler's first error when the tests did not build.
    pub build_error: Option<String>,
    /// Every expected test, whether or not it reported.
    pub tests: Vec<model::TestResult>,
    pub build_seconds: f64,
    pub test_seconds: f64,
    /// The test executables built (empty when the build failed).
    pub binaries: Vec<PathBuf>,
}

/// Build the package's integration tests (`tests/*.rs` only) and run every
/// test the instructor's test files define, one process per test, at most
/// two at once. A test passes only when its process exits 0 and libtest
/// itself reported it ok; a test that never reported is `NotRun`. Every test
/// may take `limits.test_timeout`, and after a timeout
/// [`timeouts::AFTER_HANG_WITHOUT_REFERENCE`] at most.
pub fn run_tests(tree: &GradedTree, package: &str, limits: &RunLimits) -> TestsOutcome {
    run_tests_timed(tree, package, limits, BTreeMap::new(), &Untold)
}

/// [`run_tests`] with each test's limit derived from the reference's
/// seconds for it (`reference`, by `<target>::<test>`; see [`timeouts`]),
/// telling `steps` how many have run.
pub fn run_tests_timed(
    tree: &GradedTree,
    package: &str,
    limits: &RunLimits,
    reference: BTreeMap<String, f64>,
    steps: &dyn Steps,
) -> TestsOutcome {
    let waits = libtest::declared_waits(tree, package);
    let clock = TestClock::new(limits.test_timeout, reference).with_waits(waits);
    libtest::run(tree, package, limits, &clock, steps)
}

/// What the harness is told.
#[derive(Debug, Clone)]
pub struct HarnessInput {
    pub repeats: usize,
    pub time_unit_ms: f64,
    /// Measure only the work behind these metrics; `None`: all of it.
    pub only: Option<BTreeSet<String>>,
}

/// What one harness run measured.
#[derive(Debug)]
pub struct HarnessOutcome {
    /// The measurements, or why there are none.
    pub measurements: Result<protocol::observe::Measurements, harness::HarnessError>,
    pub build_seconds: f64,
    pub run_seconds: f64,
    /// The harness executable built, when it was.
    pub harness: Option<PathBuf>,
}

/// Build `benches/observe.rs` in release (bench profile) and run a copy of it
/// with its settings on stdin, the measurements file in a fresh temporary
/// directory. It may run for `limits.harness_timeout`.
pub fn run_harness(
    tree: &GradedTree,
    package: &str,
    env: &HarnessInput,
    limits: &RunLimits,
) -> HarnessOutcome {
    let timeout = timeouts::harness_timeout(limits.harness_timeout, None);
    harness::run(tree, package, env, limits, &timeout, &Untold)
}

/// [`run_harness`] within `timeout` (see [`timeouts::harness_timeout`]),
/// telling `steps` which metrics it has recorded.
pub fn run_harness_within(
    tree: &GradedTree,
    package: &str,
    env: &HarnessInput,
    limits: &RunLimits,
    timeout: &Timeout,
    steps: &dyn Steps,
) -> HarnessOutcome {
    harness::run(tree, package, env, limits, timeout, steps)
}

/// Build the package's integration tests and, when `harness`, its harness,
/// exactly as [`run_tests`] and [`run_harness`] build them, and run nothing:
/// `grader batch` builds a round of submissions at once before it grades
/// them one at a time, and grading then finds these builds up to date. The
/// first build error (grading reports it again, in its own place).
pub fn build_ahead(tree: &GradedTree, package: &str, harness: bool) -> Option<String> {
    let tests = libtest::build(tree, package);
    if tests.error.is_some() || !harness {
        return tests.error;
    }
    harness::build(tree, package).error
}
