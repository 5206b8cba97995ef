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
/// [settled](Standing::is_settled), at most `max_rounds` in all, and only
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
