//! One check of an observation: `min(metric) / min(per)` against its
//! bounds, with the repeats' spread and the sentence that shows the numbers.

use crate::course::Check;
use crate::model::CheckResult;
use crate::text::{milliseconds, number};
use protocol::observe::{Measurements, Metric, Unit, UNIT_METRIC};

pub fn empty_check(c: &Check) -> CheckResult {
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
pub fn check(c: &Check, m: &Measurements) -> CheckResult {
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
        c.at_least.is_none_or(|lo| value >= lo) && c.at_most.is_none_or(|hi| value <= hi);
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
    if sorted.len().is_multiple_of(2) {
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
/// `threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units` or
/// `serial_seconds / threads_seconds: 1.92x (3.20 time units = 160.2 ms / 1.67 time units = 83.4 ms), expected at least 1.6x`.
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
                    "{} time units = {} ms",
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
            "{}: {} time units ({} ms), expected {}",
            c.metric,
            number(value),
            milliseconds(metric.min()),
            bounds(c, " time units")
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
            "{}: {} ms ({} time units), expected {}",
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
