//! One broken step gives wrong advice everywhere after it: with the
//! countdown deleted by the optimizer, ex03's parallel observations measure
//! nothing, and their own hints (start both threads, do not wait for one
//! worker) send the student the wrong way. An observation that names the
//! one it builds on (course.yaml's `after:`) says, while that one fails,
//! to fix it first, instead of its own hint.

use crate::course::Exercise;
use crate::model::{NotMeasuredCause, ObservationResult, ObservationState, Verdict};

/// The hint of every observation of `ex` whose prerequisite (followed
/// through `after:` to the first one that failed) failed on measurements,
/// while it did not pass itself: fix that one first. Verdicts and points
/// stay as they are.
pub fn apply(ex: &Exercise, observations: &mut [ObservationResult]) {
    let failed: Vec<&str> = ex
        .observations
        .iter()
        .zip(observations.iter())
        .filter(|(_, result)| failed_on_measurements(result))
        .map(|(o, _)| o.id.as_str())
        .collect();
    let advice: Vec<Option<String>> = ex
        .observations
        .iter()
        .map(|o| {
            let first = first_failed_before(ex, o.after.as_deref(), &failed)?;
            Some(fix_first(first))
        })
        .collect();
    for (result, advice) in observations.iter_mut().zip(advice) {
        if let Some(advice) = advice.filter(|_| result.verdict != Verdict::Pass) {
            result.hint = Some(advice);
        }
    }
}

/// The advice given in place of a dependent observation's own hint.
pub fn fix_first(prerequisite: &str) -> String {
    format!(
        "fix {prerequisite} first: this observation builds on it, so its numbers mean little until that one passes"
    )
}

/// A fail the code earned: measured, or a metric its harness could not
/// record. Not a fail for want of a build or a passing test, which every
/// observation shares.
fn failed_on_measurements(result: &ObservationResult) -> bool {
    result.verdict == Verdict::Fail
        && match &result.state {
            ObservationState::Measured => true,
            ObservationState::NotMeasured { cause } => {
                matches!(cause, NotMeasuredCause::Metric(_))
            }
            ObservationState::Skipped { .. } | ObservationState::Inconclusive { .. } => false,
        }
}

/// Following `after` from `id`, the earliest observation in the chain that
/// failed (the root cause comes first).
fn first_failed_before<'a>(
    ex: &'a Exercise,
    mut id: Option<&'a str>,
    failed: &[&str],
) -> Option<&'a str> {
    let mut found = None;
    // course.yaml's validation rules out circles; the bound is for safety.
    for _ in 0..ex.observations.len() {
        let Some(current) = id else { break };
        if failed.contains(&current) {
            found = Some(current);
        }
        id = ex
            .observations
            .iter()
            .find(|o| o.id == current)
            .and_then(|o| o.after.as_deref());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Course;
    use crate::model::{InconclusiveCause, Recorded};
    use std::path::Path;

    fn result(id: &str, verdict: Verdict, state: ObservationState) -> ObservationResult {
        ObservationResult {
            id: id.into(),
            claim: String::new(),
            verdict,
            state,
            reason: String::new(),
            points: 0.0,
            max_points: 1.0,
            checks: Vec::new(),
            hint: Some(format!("the hint of {id}")),
            measurements: 1,
            recorded: Recorded::default(),
        }
    }

    fn ex03() -> crate::course::Exercise {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root.join("course.yaml")).unwrap();
        course.exercise("ex03").unwrap().clone()
    }

    /// ex03 with `black_box` left out: the countdown is deleted, so every
    /// crunching observation measures nothing.
    fn without_black_box(ex: &crate::course::Exercise) -> Vec<ObservationResult> {
        ex.observations
            .iter()
            .map(|o| match o.id.as_str() {
                "crunch-scales-with-x"
                | "threads-crunch-in-parallel"
                | "processes-crunch-in-parallel" => {
                    result(&o.id, Verdict::Fail, ObservationState::Measured)
                }
                "crunch-is-cpu-bound" => result(
                    &o.id,
                    Verdict::Inconclusive,
                    ObservationState::Inconclusive {
                        cause: InconclusiveCause::Spread {
                            spread: 0.5,
                            max_spread: 0.25,
                        },
                    },
                ),
                _ => result(&o.id, Verdict::Pass, ObservationState::Measured),
            })
            .collect()
    }

    #[test]
    fn what_builds_on_a_failed_observation_says_to_fix_that_first() {
        let ex = ex03();
        let mut observations = without_black_box(&ex);
        apply(&ex, &mut observations);
        let hint = |id: &str| {
            observations
                .iter()
                .find(|o| o.id == id)
                .and_then(|o| o.hint.clone())
                .unwrap()
        };
        let fix = fix_first("crunch-scales-with-x");
        assert_eq!(hint("threads-crunch-in-parallel"), fix);
        assert_eq!(hint("processes-crunch-in-parallel"), fix);
        assert_eq!(hint("crunch-is-cpu-bound"), fix);
        assert_eq!(
            hint("crunch-scales-with-x"),
            "the hint of crunch-scales-with-x",
            "the root cause keeps its own hint"
        );
        assert_eq!(
            hint("gil-serializes"),
            "the hint of gil-serializes",
            "a pass"
        );
    }

    #[test]
    fn a_prerequisite_that_passed_or_was_not_measured_changes_nothing() {
        let ex = ex03();
        let mut fine = without_black_box(&ex);
        fine[0] = result(
            "crunch-scales-with-x",
            Verdict::Pass,
            ObservationState::Measured,
        );
        let before = fine.clone();
        apply(&ex, &mut fine);
        assert_eq!(fine, before);

        let waiting = ObservationState::NotMeasured {
            cause: NotMeasuredCause::NoTestPasses,
        };
        let mut none: Vec<ObservationResult> = ex
            .observations
            .iter()
            .map(|o| result(&o.id, Verdict::Fail, waiting.clone()))
            .collect();
        let before = none.clone();
        apply(&ex, &mut none);
        assert_eq!(none, before);
    }
}
