//! Points, decided once: each test's share of an exercise's test points,
//! what `--strict` withholds, and course.yaml's machine-limit rule. Grading
//! applies these; reporters read the points they left in the model.

use super::{
    ExerciseReport, GradeReport, MachineLimitRule, MachineLimits, ObservationResult, TestResult,
    TestStatus, TestsReport,
};

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

/// No test earns its points (`--strict` and flagged sources); what libtest
/// reported stays as it was.
pub fn withhold(tests: &mut TestsReport) {
    for test in &mut tests.tests {
        test.points = 0.0;
    }
    tests.points = 0.0;
}

/// course.yaml's `machine_limit_points` on exercise `exercise`'s final
/// observations (after any measuring again): those this machine could not
/// judge (skipped, inconclusive) earn nothing either way; under `leave_out`
/// their points also leave the maximum (each is out of 0). `limits` gathers
/// them, with its rule, for the report to say which rule applied.
pub fn apply_machine_limit_rule(
    exercise: &str,
    observations: &mut [ObservationResult],
    limits: &mut MachineLimits,
) {
    for o in observations
        .iter_mut()
        .filter(|o| o.verdict.is_machine_limit())
    {
        limits.points += o.max_points;
        limits.observations.push(format!("{exercise} {}", o.id));
        if limits.rule == MachineLimitRule::LeaveOut {
            o.max_points = 0.0;
        }
    }
}

impl GradeReport {
    /// Whether `--strict` withheld the test points of exercise `id`.
    pub fn points_withheld(&self, id: &str) -> bool {
        self.integrity
            .flags_of(id)
            .is_some_and(|f| f.points_withheld)
    }

    /// Whether `test` of `ex` earned its points: libtest reported it passed,
    /// the exercise built, and `--strict` did not withhold them.
    pub fn test_earned(&self, ex: &ExerciseReport, test: &TestResult) -> bool {
        test.status == TestStatus::Passed
            && ex.tests.build_error.is_none()
            && !self.points_withheld(&ex.id)
    }
}
