//! Claims checked twice: by timing in the harness and by a test.
//!
//! The harness is built in release and the tests in debug, a difference
//! student code can see (`cfg!(debug_assertions)`) however alike the two
//! runs are made (`runner::launch`). So a claim that code could fake by
//! behaving one way in release names, in course.yaml's `tested_by`, the tests
//! that check it without timing in the tests' build, and the observation
//! passes only when they passed too. Pure: judged on the results.

use crate::course::Exercise;
use crate::model::{ObservationResult, ObservationState, TestResult, TestStatus, Verdict};

/// Fail every measured observation of `ex` (passed, or inconclusive on a
/// busy machine) whose `tested_by` names a test that did not pass, saying
/// which: that is the student's to fix, whatever the machine could show.
pub fn require_their_tests(
    ex: &Exercise,
    tests: &[TestResult],
    observations: &mut [ObservationResult],
) {
    for observation in observations.iter_mut() {
        let measured = match observation.state {
            ObservationState::Measured => observation.verdict == Verdict::Pass,
            ObservationState::Inconclusive { .. } => true,
            ObservationState::NotMeasured { .. } | ObservationState::Skipped { .. } => false,
        };
        if !measured {
            continue;
        }
        let Some(course) = ex.observations.iter().find(|o| o.id == observation.id) else {
            continue;
        };
        let failed: Vec<&str> = course
            .tested_by
            .iter()
            .map(String::as_str)
            .filter(|name| !passed(tests, name))
            .collect();
        if let Some(first) = failed.first() {
            let timing = if observation.verdict == Verdict::Pass {
                "the timing passes"
            } else {
                "whatever the timing would show on a quieter machine"
            };
            observation.verdict = Verdict::Fail;
            observation.state = ObservationState::Measured;
            observation.points = 0.0;
            observation.reason = format!(
                "{timing}, but test {first}, which checks the same claim in the tests' build, did not pass: the claim must hold there too"
            );
            observation.hint = Some(course.hint.clone());
        }
    }
}

/// Whether the test `name` (without its target) passed.
fn passed(tests: &[TestResult], name: &str) -> bool {
    tests.iter().any(|t| {
        t.status == TestStatus::Passed
            && t.name.split_once("::").map_or(t.name.as_str(), |(_, n)| n) == name
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InconclusiveCause, Recorded};

    fn exercise(yaml: &str) -> Exercise {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn observation(id: &str, verdict: Verdict) -> ObservationResult {
        ObservationResult {
            id: id.into(),
            claim: "claim".into(),
            verdict,
            state: ObservationState::Measured,
            reason: "measured".into(),
            points: if verdict == Verdict::Pass { 1.0 } else { 0.0 },
            max_points: 1.0,
            checks: Vec::new(),
            hint: None,
            measurements: 1,
            recorded: Recorded::default(),
        }
    }

    fn test(name: &str, status: TestStatus) -> TestResult {
        TestResult {
            name: format!("ex04::{name}"),
            status,
            seconds: 0.1,
            points: 0.0,
            max_points: 1.0,
            failure: None,
            output: String::new(),
        }
    }

    const EX04: &str = r#"
id: ex04
dir: exercises/ex04-speedup-sweep
title: Speedup sweep
test_points: 20
hints: []
observations:
  - id: compute-bound
    claim: "crunch_numbers keeps a core busy"
    points: 1
    checks: [{ metric: cpu, per: wall, at_least: 0.85 }]
    hint: "Compute, do not sleep."
    tested_by: [crunch_numbers_keeps_a_core_busy]
  - id: other
    claim: "no test checks it"
    points: 1
    checks: [{ metric: a, at_least: 1 }]
    hint: "h"
"#;

    #[test]
    fn a_passing_timing_whose_test_failed_fails_and_says_which_test() {
        let ex = exercise(EX04);
        let mut observations = vec![
            observation("compute-bound", Verdict::Pass),
            observation("other", Verdict::Pass),
        ];
        let tests = [test("crunch_numbers_keeps_a_core_busy", TestStatus::Failed)];
        require_their_tests(&ex, &tests, &mut observations);
        assert_eq!(observations[0].verdict, Verdict::Fail);
        assert_eq!(observations[0].points, 0.0);
        assert!(
            observations[0]
                .reason
                .contains("crunch_numbers_keeps_a_core_busy"),
            "{}",
            observations[0].reason
        );
        assert_eq!(
            observations[0].hint.as_deref(),
            Some("Compute, do not sleep.")
        );
        assert_eq!(observations[1].verdict, Verdict::Pass, "names no test");
    }

    #[test]
    fn an_inconclusive_timing_whose_test_failed_is_the_students_fail() {
        let ex = exercise(EX04);
        let failed = [test("crunch_numbers_keeps_a_core_busy", TestStatus::Failed)];
        let mut observations = vec![ObservationResult {
            state: ObservationState::Inconclusive {
                cause: InconclusiveCause::Spread {
                    spread: 0.5,
                    max_spread: 0.25,
                },
            },
            ..observation("compute-bound", Verdict::Inconclusive)
        }];
        require_their_tests(&ex, &failed, &mut observations);
        assert_eq!(observations[0].verdict, Verdict::Fail);
        assert_eq!(observations[0].state, ObservationState::Measured);
        assert!(observations[0]
            .reason
            .starts_with("whatever the timing would show"));
    }

    #[test]
    fn a_passing_test_or_an_unjudged_timing_is_left_as_it_is() {
        let ex = exercise(EX04);
        let passing = [test("crunch_numbers_keeps_a_core_busy", TestStatus::Passed)];
        let mut observations = vec![observation("compute-bound", Verdict::Pass)];
        require_their_tests(&ex, &passing, &mut observations);
        assert_eq!(observations[0].verdict, Verdict::Pass);
        assert_eq!(observations[0].points, 1.0);

        let timed_out = [test(
            "crunch_numbers_keeps_a_core_busy",
            TestStatus::TimedOut,
        )];
        let mut skipped = vec![ObservationResult {
            state: ObservationState::Skipped {
                cores_needed: 2,
                cores_present: 1,
            },
            ..observation("compute-bound", Verdict::Skipped)
        }];
        require_their_tests(&ex, &timed_out, &mut skipped);
        assert_eq!(skipped[0].verdict, Verdict::Skipped, "not measured: left");
        let mut missing = vec![observation("compute-bound", Verdict::Pass)];
        require_their_tests(&ex, &[], &mut missing);
        assert_eq!(
            missing[0].verdict,
            Verdict::Fail,
            "a test that never ran did not pass"
        );
    }
}
