//! Judging observations: course.yaml's claims against a harness's measurements.
//!
//! Timing noise is one-sided (interference only adds time), so every check
//! compares minimums over the repeats, as a ratio measured in the same run:
//! `min(metric) / min(per)`, or `min(metric)` alone. The verdict:
//! - skipped when the machine has fewer cores than the observation needs;
//! - fail when a check could not be measured (the harness's error says why);
//! - pass when every check holds;
//! - inconclusive when a check failed but its repeats are too spread to trust
//!   (`(median - min) / min` above `max_spread`); a failed check with steady
//!   repeats makes it a fail.
//!
//! Only pass earns points.

use crate::course::{Check, Observation};
use crate::model::{
    CheckResult, InconclusiveCause, NotMeasuredCause, ObservationResult, ObservationState, Verdict,
};
use common::observe::{Measurements, Metric, Unit, UNIT_METRIC};

const NOISY_ADVICE: &str =
    "too noisy to judge: grade again on a quieter machine (close other programs) or with more --repeats";

/// Why an exercise's observations wait until a test passes.
const NO_TEST_PASSES: &str =
    "no test passes yet; observations are measured once the tests start passing";
const DOES_NOT_BUILD: &str = "the exercise does not build (see its tests)";

/// Judge one observation on one harness run. `max_spread` is the course's
/// default; the observation may override it. `cores` is how many cores the
/// machine has.
pub fn judge(
    obs: &Observation,
    m: &Measurements,
    max_spread: f64,
    cores: usize,
) -> ObservationResult {
    if cores < obs.min_cores {
        return skipped(obs, cores);
    }
    let max_spread = obs.max_spread.unwrap_or(max_spread);
    let checks: Vec<CheckResult> = obs.checks.iter().map(|c| check(c, m)).collect();
    if let Some(error) = checks.iter().find_map(|c| c.error.clone()) {
        let state = ObservationState::NotMeasured {
            cause: NotMeasuredCause::Metric(error.clone()),
        };
        return result(obs, Verdict::Fail, state, error, checks);
    }
    let summaries = checks
        .iter()
        .map(|c| c.summary.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let failed: Vec<&CheckResult> = checks.iter().filter(|c| !c.passed).collect();
    if failed.is_empty() {
        return result(
            obs,
            Verdict::Pass,
            ObservationState::Measured,
            summaries,
            checks,
        );
    }
    if !failed
        .iter()
        .all(|c| c.spread.is_some_and(|s| s > max_spread))
    {
        return result(
            obs,
            Verdict::Fail,
            ObservationState::Measured,
            summaries,
            checks,
        );
    }
    let spread = failed.iter().filter_map(|c| c.spread).fold(0.0, f64::max);
    let reason = format!(
        "{summaries}; but the repeats spread {:.0}% above their minimum (more than {:.0}%): {NOISY_ADVICE}",
        spread * 100.0,
        max_spread * 100.0
    );
    let state = ObservationState::Inconclusive {
        cause: InconclusiveCause::Spread { spread, max_spread },
    };
    result(obs, Verdict::Inconclusive, state, reason, checks)
}

/// The observation could not be measured at all (the exercise does not
/// build, no test passes, the harness failed): a fail, saying why.
pub fn not_measured(obs: &Observation, cores: usize, cause: NotMeasuredCause) -> ObservationResult {
    if cores < obs.min_cores {
        return skipped(obs, cores);
    }
    let why = match &cause {
        NotMeasuredCause::DoesNotBuild => DOES_NOT_BUILD,
        NotMeasuredCause::NoTestPasses => NO_TEST_PASSES,
        NotMeasuredCause::Harness(why) | NotMeasuredCause::Metric(why) => why.as_str(),
    };
    let checks = obs
        .checks
        .iter()
        .map(|c| CheckResult {
            error: Some(why.to_owned()),
            ..empty_check(c)
        })
        .collect();
    let reason = format!("not measured: {why}");
    let state = ObservationState::NotMeasured { cause };
    result(obs, Verdict::Fail, state, reason, checks)
}

fn skipped(obs: &Observation, cores: usize) -> ObservationResult {
    let reason = format!(
        "this machine has {cores} {}; the observation needs {}",
        plural(cores, "core", "cores"),
        obs.min_cores
    );
    let state = ObservationState::Skipped {
        cores_needed: obs.min_cores,
        cores_present: cores,
    };
    let checks = obs.checks.iter().map(empty_check).collect();
    result(obs, Verdict::Skipped, state, reason, checks)
}

fn result(
    obs: &Observation,
    verdict: Verdict,
    state: ObservationState,
    reason: String,
    checks: Vec<CheckResult>,
) -> ObservationResult {
    ObservationResult {
        id: obs.id.clone(),
        claim: obs.claim.clone(),
        verdict,
        state,
        reason,
        points: if verdict == Verdict::Pass {
            obs.points
        } else {
            0.0
        },
        max_points: obs.points,
        checks,
        hint: matches!(verdict, Verdict::Fail | Verdict::Inconclusive).then(|| obs.hint.clone()),
        measurements: 1,
    }
}

fn empty_check(c: &Check) -> CheckResult {
    CheckResult {
        metric: c.metric.clone(),
        per: c.per.clone(),
        value: None,
        at_least: c.at_least,
        at_most: c.at_most,
        metric_min: None,
        per_min: None,
        unit: None,
        spread: None,
        passed: false,
        error: None,
        summary: String::new(),
    }
}

/// Evaluate one check.
fn check(c: &Check, m: &Measurements) -> CheckResult {
    let mut result = empty_check(c);
    let metric = match find(m, &c.metric) {
        Ok(metric) => metric,
        Err(error) => {
            result.error = Some(error);
            return result;
        }
    };
    let per = match c.per.as_deref().map(|name| find(m, name)).transpose() {
        Ok(per) => per,
        Err(error) => {
            result.error = Some(error);
            return result;
        }
    };
    let metric_min = metric.min();
    let per_min = per.map(Metric::min);
    let value = match per_min {
        Some(p) if p <= 0.0 => {
            result.error = Some(format!(
                "`{}` is {p}, so `{} / {}` has no value",
                c.per.as_deref().unwrap_or_default(),
                c.metric,
                c.per.as_deref().unwrap_or_default()
            ));
            return result;
        }
        Some(p) => metric_min / p,
        None => metric_min,
    };
    result.metric_min = Some(metric_min);
    result.per_min = per_min;
    result.unit = Some(metric.unit);
    result.value = Some(value);
    result.spread = [Some(metric), per]
        .into_iter()
        .flatten()
        .filter_map(spread)
        .reduce(f64::max);
    result.passed =
        c.at_least.map_or(true, |lo| value >= lo) && c.at_most.map_or(true, |hi| value <= hi);
    result.summary = describe(c, metric, per, value, m.time_unit_seconds);
    result
}

/// A metric the harness recorded, with at least one value.
fn find<'a>(m: &'a Measurements, name: &str) -> Result<&'a Metric, String> {
    let metric = m.metrics.iter().find(|x| x.name == name).ok_or_else(|| {
        format!(
            "the harness recorded no metric `{name}`, which course.yaml names: \
             course.yaml and benches/observe.rs of {} disagree (an instructor error)",
            m.exercise
        )
    })?;
    if let Some(error) = &metric.error {
        return Err(format!("{name} was not measured: {error}"));
    }
    if metric.values.is_empty() || metric.values.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "{name} was not measured: the harness recorded no usable value"
        ));
    }
    Ok(metric)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// `(median - min) / min` of a timing's repeats. Counts are facts, not
/// timings: they have no spread.
fn spread(metric: &Metric) -> Option<f64> {
    if metric.unit == Unit::Count || metric.name == UNIT_METRIC {
        return None;
    }
    let min = metric.min();
    (min > 0.0).then(|| (median(&metric.values) - min) / min)
}

/// One sentence with the measured numbers beside the expectation, e.g.
/// `threads_seconds: 8.03 units (401.5 ms), expected 7.9 to 8.8 units` or
/// `serial_seconds / threads_seconds: 1.92x (3.20 units = 160.2 ms / 1.67 units = 83.4 ms), expected at least 1.6x`.
fn describe(
    c: &Check,
    metric: &Metric,
    per: Option<&Metric>,
    value: f64,
    unit_seconds: f64,
) -> String {
    let amount = |m: &Metric| {
        let min = m.min();
        match m.unit {
            Unit::Seconds if m.name != UNIT_METRIC => {
                format!(
                    "{} units = {} ms",
                    number(min / unit_seconds),
                    milliseconds(min)
                )
            }
            Unit::Seconds => format!("{} ms", milliseconds(min)),
            _ => number(min),
        }
    };
    match per {
        Some(p) if p.name == UNIT_METRIC && metric.unit == Unit::Seconds => format!(
            "{}: {} units ({} ms), expected {}",
            c.metric,
            number(value),
            milliseconds(metric.min()),
            bounds(c, " units")
        ),
        Some(p) => format!(
            "{} / {}: {}x ({} / {}), expected {}",
            c.metric,
            p.name,
            number(value),
            amount(metric),
            amount(p),
            bounds(c, "x")
        ),
        None if metric.unit == Unit::Seconds => format!(
            "{}: {} ms ({} units), expected {}",
            c.metric,
            milliseconds(value),
            number(value / unit_seconds),
            bounds(c, " s")
        ),
        None => format!(
            "{}: {}, expected {}",
            c.metric,
            number(value),
            bounds(c, "")
        ),
    }
}

fn bounds(c: &Check, suffix: &str) -> String {
    match (c.at_least, c.at_most) {
        (Some(lo), Some(hi)) => format!("{lo} to {hi}{suffix}"),
        (Some(lo), None) => format!("at least {lo}{suffix}"),
        (None, Some(hi)) => format!("at most {hi}{suffix}"),
        (None, None) => "anything".to_owned(),
    }
}

/// A measured number with three significant digits (whole numbers as they
/// are): 8.03, 12.5, 1.00, 1250, 2, 0.000000500.
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e9 {
        format!("{x:.0}")
    } else {
        significant(x, 3)
    }
}

/// Seconds as milliseconds: 401.5, 12.34, 0.031.
pub fn milliseconds(seconds: f64) -> String {
    let ms = seconds * 1000.0;
    if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        significant(ms, 2)
    }
}

fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Check;

    /// A recorded harness run: 50 ms units, 2 cores, 3 repeats.
    fn recorded() -> Measurements {
        serde_json::from_str(
            r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05, "cores": 2, "repeats": 3,
                 "metrics": [
                   { "name": "unit", "unit": "seconds", "values": [0.05] },
                   { "name": "cores", "unit": "count", "values": [2.0] },
                   { "name": "threads_seconds", "unit": "seconds", "values": [0.4015, 0.4030, 0.4022] },
                   { "name": "serial_seconds", "unit": "seconds", "values": [0.626, 0.627, 0.626] },
                   { "name": "noisy_seconds", "unit": "seconds", "values": [0.300, 0.450, 0.500] },
                   { "name": "in_order_handout", "unit": "count", "values": [1.0] },
                   { "name": "caller_pids", "unit": "count", "values": [0.0] },
                   { "name": "zero_seconds", "unit": "seconds", "values": [0.0] },
                   { "name": "broken_seconds", "unit": "seconds", "values": [],
                     "error": "panicked: not yet implemented: read the README" } ] }"#,
        )
        .unwrap()
    }

    fn observation(checks: Vec<Check>) -> Observation {
        Observation {
            id: "obs".into(),
            claim: "A claim.".into(),
            points: 2.0,
            min_cores: 1,
            checks,
            hint: "A hint.".into(),
            max_spread: None,
        }
    }

    fn bound(
        metric: &str,
        per: Option<&str>,
        at_least: Option<f64>,
        at_most: Option<f64>,
    ) -> Check {
        Check {
            metric: metric.into(),
            per: per.map(Into::into),
            at_least,
            at_most,
        }
    }

    fn judge_one(c: Check) -> ObservationResult {
        judge(&observation(vec![c]), &recorded(), 0.25, 2)
    }

    #[test]
    fn a_check_in_bounds_passes_and_earns_the_points() {
        let r = judge_one(bound("threads_seconds", Some("unit"), Some(7.9), Some(8.8)));
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!((r.points, r.max_points), (2.0, 2.0));
        assert_eq!(
            r.reason,
            "threads_seconds: 8.03 units (401.5 ms), expected 7.9 to 8.8 units"
        );
        assert_eq!(r.hint, None);
        let c = &r.checks[0];
        assert_eq!((c.metric_min, c.per_min), (Some(0.4015), Some(0.05)));
        assert!(c.spread.unwrap() < 0.01);
    }

    #[test]
    fn a_steady_check_out_of_bounds_fails_with_the_hint() {
        let r = judge_one(bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(1.6),
            None,
        ));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.points, 0.0);
        assert_eq!(
            r.reason,
            "serial_seconds / threads_seconds: 1.56x (12.5 units = 626.0 ms / 8.03 units = 401.5 ms), expected at least 1.6x"
        );
        assert_eq!(r.hint.as_deref(), Some("A hint."));
    }

    #[test]
    fn a_spread_failure_is_inconclusive_and_earns_nothing() {
        // median 0.45 is 50% above the minimum 0.30.
        let r = judge_one(bound("noisy_seconds", Some("unit"), None, Some(5.0)));
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.points, 0.0);
        assert!(
            r.reason
                .contains("spread 50% above their minimum (more than 25%)"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("quieter machine"), "{}", r.reason);
    }

    #[test]
    fn a_spread_pass_is_still_a_pass() {
        let r = judge_one(bound("noisy_seconds", Some("unit"), None, Some(6.0)));
        assert_eq!(r.verdict, Verdict::Pass);
    }

    #[test]
    fn an_observation_max_spread_overrides_the_default() {
        let mut obs = observation(vec![bound("noisy_seconds", Some("unit"), None, Some(5.0))]);
        obs.max_spread = Some(0.6);
        assert_eq!(judge(&obs, &recorded(), 0.25, 2).verdict, Verdict::Fail);
    }

    #[test]
    fn one_steady_failure_makes_a_fail_even_beside_a_noisy_one() {
        let obs = observation(vec![
            bound("noisy_seconds", Some("unit"), None, Some(5.0)),
            bound("in_order_handout", None, Some(2.0), None),
        ]);
        assert_eq!(judge(&obs, &recorded(), 0.25, 2).verdict, Verdict::Fail);
    }

    #[test]
    fn too_few_cores_skips_and_says_both_numbers() {
        let mut obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(1.6),
            None,
        )]);
        obs.min_cores = 2;
        let r = judge(&obs, &recorded(), 0.25, 1);
        assert_eq!(r.verdict, Verdict::Skipped);
        assert_eq!(r.reason, "this machine has 1 core; the observation needs 2");
        assert_eq!((r.points, r.max_points), (0.0, 2.0));
        assert_eq!(judge(&obs, &recorded(), 0.25, 2).verdict, Verdict::Fail);
        assert_eq!(
            not_measured(&obs, 1, NotMeasuredCause::NoTestPasses).verdict,
            Verdict::Skipped
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        let exact = 0.4015 / 0.05;
        for (lo, hi, verdict) in [
            (Some(exact), None, Verdict::Pass),
            (None, Some(exact), Verdict::Pass),
            (Some(exact), Some(exact), Verdict::Pass),
            (Some(exact + 1e-9), None, Verdict::Fail),
            (None, Some(exact - 1e-9), Verdict::Fail),
        ] {
            let r = judge_one(bound("threads_seconds", Some("unit"), lo, hi));
            assert_eq!(r.verdict, verdict, "{lo:?} {hi:?}");
        }
        // A count of zero meets `at_most: 0`.
        assert_eq!(
            judge_one(bound("caller_pids", None, None, Some(0.0))).verdict,
            Verdict::Pass
        );
        assert_eq!(
            judge_one(bound("in_order_handout", None, Some(1.0), None)).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn spread_at_exactly_the_limit_is_not_inconclusive() {
        let mut m = recorded();
        m.metrics.push(Metric {
            name: "edge_seconds".into(),
            unit: Unit::Seconds,
            values: vec![0.4, 0.5, 0.6],
            error: None,
        });
        let obs = observation(vec![bound("edge_seconds", Some("unit"), None, Some(7.0))]);
        // (0.5 - 0.4) / 0.4 = 0.25: not above 0.25.
        assert_eq!(judge(&obs, &m, 0.25, 2).verdict, Verdict::Fail);
        assert_eq!(judge(&obs, &m, 0.2499, 2).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn a_harness_error_fails_with_the_error_as_reason() {
        let r = judge_one(bound("broken_seconds", Some("unit"), None, Some(1.0)));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            r.reason,
            "broken_seconds was not measured: panicked: not yet implemented: read the README"
        );
        assert_eq!(r.checks[0].value, None);
    }

    #[test]
    fn a_missing_metric_is_called_an_instructor_error() {
        let r = judge_one(bound("nowhere_seconds", None, None, Some(1.0)));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.reason.contains("recorded no metric `nowhere_seconds`"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("instructor error"), "{}", r.reason);
    }

    #[test]
    fn dividing_by_zero_is_an_error_not_infinity() {
        let r = judge_one(bound(
            "serial_seconds",
            Some("zero_seconds"),
            Some(1.0),
            None,
        ));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.reason.contains("has no value"), "{}", r.reason);
    }

    #[test]
    fn not_measured_fails_every_check() {
        let obs = observation(vec![bound("serial_seconds", None, None, Some(1.0))]);
        let r = not_measured(
            &obs,
            2,
            NotMeasuredCause::Harness("the harness did not build".into()),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.reason, "not measured: the harness did not build");
        assert_eq!(
            r.checks[0].error.as_deref(),
            Some("the harness did not build")
        );
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(8.0312), "8.03");
        assert_eq!(number(12.52), "12.5");
        assert_eq!(number(48213.7), "48214");
        assert_eq!(milliseconds(0.4015), "401.5");
        assert_eq!(milliseconds(0.000031), "0.031");
        assert_eq!(milliseconds(0.0000000251), "0.000025");
        assert_eq!(number(5.0e-7), "0.000000500");
        assert_eq!(number(0.1101), "0.110");
        assert_eq!(number(1.002), "1.00");
    }
}
