//! A schedule as an SVG Gantt chart: a lane per thread or worker, each span
//! a labelled bar, a time axis in time units above and milliseconds below.

use super::svg::{escape, tick_step, PALETTE};
use crate::text::short as number;
use common::trace::{lane_name, LaneSpan};
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 26.0;
const LANE: f64 = 30.0;
const BAR: f64 = 22.0;
const BOTTOM: f64 = 30.0;
/// Roughly the width of one character of the bars' labels.
const CHAR: f64 = 6.5;

/// The chart of `spans` (times in units of `unit_ms` milliseconds).
pub fn chart(spans: &[LaneSpan], unit_ms: f64, title: &str) -> String {
    let lanes = spans.iter().map(|s| s.lane).max().map_or(1, |l| l + 1);
    let end = spans.iter().map(|s| s.end).fold(0.0, f64::max).max(1e-9);
    let height = TOP + lanes as f64 * LANE + BOTTOM;
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: f64| LEFT + t.clamp(0.0, end) / end * plot;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="gantt" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    axis(&mut svg, end, unit_ms, height, &x);
    for lane in 0..lanes {
        let y = TOP + lane as f64 * LANE + LANE / 2.0;
        let _ = write!(
            svg,
            r#"<text class="lane" x="{}" y="{y}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            LEFT - 8.0,
            lane_name(lane)
        );
    }
    let mut labels: Vec<&str> = Vec::new();
    for span in spans {
        let colour = match labels.iter().position(|l| *l == span.label) {
            Some(i) => i,
            None => {
                labels.push(&span.label);
                labels.len() - 1
            }
        };
        bar(&mut svg, span, PALETTE[colour % PALETTE.len()], unit_ms, &x);
    }
    svg.push_str("</svg>");
    svg
}

fn axis(svg: &mut String, end: f64, unit_ms: f64, height: f64, x: &dyn Fn(f64) -> f64) {
    let step = tick_step(end, 8.0);
    let bottom = height - BOTTOM;
    let _ = write!(
        svg,
        r##"<text class="axis" x="{}" y="12">time units</text><text class="axis" x="{}" y="{}">ms</text>"##,
        LEFT - 36.0,
        LEFT - 36.0,
        height - 6.0
    );
    let ticks = (end / step).floor() as usize;
    for i in 0..=ticks {
        let t = i as f64 * step;
        let at = x(t);
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{at:.1}" y1="{}" x2="{at:.1}" y2="{bottom}"/><text class="axis" x="{at:.1}" y="14" text-anchor="middle">{}</text><text class="axis" x="{at:.1}" y="{}" text-anchor="middle">{}</text>"##,
            TOP - 6.0,
            number(t),
            height - 8.0,
            number(t * unit_ms)
        );
    }
}

fn bar(svg: &mut String, span: &LaneSpan, colour: &str, unit_ms: f64, x: &dyn Fn(f64) -> f64) {
    let (left, right) = (x(span.start), x(span.end));
    let width = (right - left).max(1.0);
    let y = TOP + span.lane as f64 * LANE + (LANE - BAR) / 2.0;
    let tooltip = format!(
        "{} (lane {}): {}–{} time units ({}–{} ms)",
        span.label,
        lane_name(span.lane),
        number(span.start),
        number(span.end),
        number(span.start * unit_ms),
        number(span.end * unit_ms)
    );
    let _ = write!(
        svg,
        r#"<g class="span"><title>{}</title><rect x="{left:.1}" y="{y}" width="{width:.1}" height="{BAR}" rx="3" fill="{colour}"/>"#,
        escape(&tooltip)
    );
    // The label where it fits, shortened where it does not.
    let fits = ((width - 6.0) / CHAR).floor().max(0.0) as usize;
    let chars = span.label.chars().count();
    let label: String = match fits {
        0 => String::new(),
        n if n >= chars => span.label.clone(),
        n => span
            .label
            .chars()
            .take(n.saturating_sub(1))
            .chain(['…'])
            .collect(),
    };
    if !label.is_empty() && label != "…" {
        let _ = write!(
            svg,
            r#"<text class="label" x="{:.1}" y="{}" dominant-baseline="middle">{}</text>"#,
            left + 4.0,
            y + BAR / 2.0,
            escape(&label)
        );
    }
    svg.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(lane: usize, label: &str, start: f64, end: f64) -> LaneSpan {
        LaneSpan {
            lane,
            label: label.into(),
            start,
            end,
        }
    }

    #[test]
    fn a_bar_per_span_a_row_per_lane_and_an_axis_in_units_and_ms() {
        let spans = [
            span(0, "secret 1", 0.0, 1.0),
            span(1, "secret 8", 0.0, 8.0),
            span(0, "secret <1.5>", 1.0, 2.5),
        ];
        let svg = chart(&spans, 50.0, "threads");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(
            svg.contains(">A</text>") && svg.contains(">B</text>"),
            "{svg}"
        );
        assert!(
            svg.contains("secret 8 (lane B): 0–8 time units (0–400 ms)"),
            "{svg}"
        );
        assert!(
            svg.contains("secret &lt;1.5&gt;"),
            "labels are escaped: {svg}"
        );
        assert!(
            svg.contains(">400</text>"),
            "the ms axis reaches the end: {svg}"
        );
    }

    #[test]
    fn a_label_too_long_for_its_bar_is_shortened() {
        let spans = [
            span(0, "a very long label for a short task", 0.0, 0.5),
            span(0, "x", 0.5, 100.0),
        ];
        let svg = chart(&spans, 50.0, "t");
        assert!(!svg.contains(r#"middle">a very long label"#), "{svg}");
        assert!(svg.contains("a very long label for a short task (lane A)"));
    }
}
