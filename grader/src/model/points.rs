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
        stub_src: false,
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

#[cfg(test)]
mod tests {
    use super::*;

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
