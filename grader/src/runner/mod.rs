//! Runs cargo and the student's code: builds, one process per test, the
//! observation harness. Every run of student code goes through [`sandbox`].

pub mod cargo;
pub mod harness;
pub mod isolation;
pub mod libtest;
pub mod sandbox;

use crate::model;
use crate::workspace::GradedTree;
use std::time::Duration;

/// Bounds on every run of student code (cargo builds have their own,
/// [`cargo::BUILD_TIMEOUT`]).
#[derive(Debug, Clone)]
pub struct Limits {
    /// One test process.
    pub test_timeout: Duration,
    /// One harness run.
    pub harness_timeout: Duration,
    /// Output kept per stream of one run.
    pub output_cap_bytes: usize,
}

/// What running one package's tests found.
#[derive(Debug, Clone)]
pub struct TestsOutcome {
    /// The compiler's first error when the tests did not build.
    pub build_error: Option<String>,
    /// Every expected test, whether or not it reported.
    pub tests: Vec<model::TestResult>,
    pub build_seconds: f64,
    pub test_seconds: f64,
}

/// Build the package's integration tests (`tests/*.rs` only) and run every
/// test the instructor's test files define, one process per test, at most
/// two at once. A test passes only when its process exits 0 and libtest
/// itself reported it ok; a test that never reported is `NotRun`.
pub fn run_tests(tree: &GradedTree, package: &str, limits: &Limits) -> TestsOutcome {
    libtest::run(tree, package, limits)
}

/// What the harness is told.
#[derive(Debug, Clone)]
pub struct HarnessEnv {
    pub repeats: usize,
    pub time_unit_ms: f64,
}

/// What one harness run measured.
#[derive(Debug)]
pub struct HarnessOutcome {
    /// The measurements, or why there are none.
    pub measurements: Result<common::observe::Measurements, harness::HarnessError>,
    pub build_seconds: f64,
    pub run_seconds: f64,
}

/// Build `benches/observe.rs` in release (bench profile) and run a copy of it
/// with its settings on stdin, the measurements file in a fresh temporary
/// directory.
pub fn run_harness(
    tree: &GradedTree,
    package: &str,
    env: &HarnessEnv,
    limits: &Limits,
) -> HarnessOutcome {
    harness::run(tree, package, env, limits)
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
