//! When an observation is settled, and what measuring again is for: the one
//! place that decides whether a result could still change.

use super::margin;
use crate::course::{Exercise, Observation};
use crate::model::{CheckResult, ObservationResult, ObservationState, Verdict};
use std::collections::BTreeSet;

/// The most harness runs of one exercise, however much of the budget is
/// left (course.yaml's `remeasure_budget_seconds` is the other limit).
pub const MAX_MEASUREMENTS: usize = 8;

/// The observations of `ex` still worth measuring again.
pub fn unsettled<'a>(
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
pub fn metrics_read_by(observation: &Observation) -> BTreeSet<String> {
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
pub fn unsettled_metrics(ex: &Exercise, observations: &[ObservationResult]) -> BTreeSet<String> {
    unsettled(ex, observations)
        .flat_map(metrics_read_by)
        .collect()
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
pub fn evidence(o: &ObservationResult) -> u8 {
    match o.verdict {
        Verdict::Pass => 3,
        Verdict::Fail => 2,
        Verdict::Inconclusive => 1,
        Verdict::Skipped => 0,
    }
}

/// Unsettled: inconclusive, or failed by a check within
/// [`margin::MEASURE_AGAIN_WITHIN`] of its bound. Not a clear fail, a pass, or a
/// fail for want of a build or a passing test, which measuring again cannot
/// change.
pub fn worth_measuring_again(o: &ObservationResult) -> bool {
    match &o.state {
        ObservationState::Measured => {
            o.verdict == Verdict::Fail && o.checks.iter().any(missed_closely)
        }
        ObservationState::Inconclusive { .. } => true,
        ObservationState::NotMeasured { .. } | ObservationState::Skipped { .. } => false,
    }
}

/// A check that missed its bound by no more than [`margin::MEASURE_AGAIN_WITHIN`].
pub fn missed_closely(c: &CheckResult) -> bool {
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

/// Whether to measure an exercise again: while some check is not
/// settled (see [`worth_measuring_again`]), at most `max_rounds` in all, and only
/// while another round (as long as the longest so far) fits in what is left
/// of `budget_seconds`.
pub fn measure_again(
    unsettled: bool,
    rounds: usize,
    max_rounds: usize,
    spent_seconds: f64,
    longest_round_seconds: f64,
    budget_seconds: f64,
) -> bool {
    unsettled && rounds < max_rounds && spent_seconds + longest_round_seconds <= budget_seconds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Course;
    use crate::model::{InconclusiveCause, NotMeasuredCause, Recorded};
    use std::path::Path;

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
    fn measuring_again_stops_when_settled_at_the_round_cap_or_the_budget() {
        assert!(measure_again(true, 1, 6, 10.0, 5.0, 60.0));
        assert!(!measure_again(false, 1, 6, 10.0, 5.0, 60.0));
        assert!(!measure_again(true, 6, 6, 10.0, 5.0, 60.0));
        // Another 5 s round would overrun the 60 s budget.
        assert!(!measure_again(true, 3, 6, 56.0, 5.0, 60.0));
        assert!(measure_again(true, 3, 6, 55.0, 5.0, 60.0));
    }
}
