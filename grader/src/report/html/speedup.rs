//! A sweep as an SVG speedup chart: the measured speedup T(1)/T(n) per
//! worker count, the ideal line S(n) = n, the core count, and Amdahl's law
//! fitted to the measurements, S(n) = 1 / (s + (1 - s) / n) with serial
//! fraction s. As ex04's program does, the fit uses the worker counts up to
//! the core count: past it workers share cores, which no serial fraction
//! describes. Its colours and lines are those of ex04's own plot, as its
//! README's "Reading the plot" names them: the ideal black, the measurements
//! blue with dots, Amdahl red and dashed, the core count a grey dashed
//! vertical line.

use super::svg::{escape, tick_step};
use crate::text::short as number;
use protocol::observe::Sweep;
use std::fmt::Write;

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 44.0;
/// ex04's `plot.rs`: RGB(31, 119, 180), RGB(214, 39, 40), RGB(150, 150, 150).
pub const MEASURED: &str = "#1f77b4";
pub const IDEAL: &str = "#000000";
pub const AMDAHL: &str = "#d62728";
pub const CORES: &str = "#969696";
const DASHED: &str = r#" stroke-dasharray="6 4""#;

/// The measured speedup per worker count, from the minimum of each count's
/// runs; `None` without a 1-worker time to divide by.
pub fn speedups(sweep: &Sweep) -> Option<Vec<(usize, f64)>> {
    let minimum = |seconds: &[f64]| seconds.iter().copied().fold(f64::INFINITY, f64::min);
    let one = sweep
        .points
        .iter()
        .find(|p| p.workers == 1)
        .map(|p| minimum(&p.seconds))
        .filter(|t| t.is_finite() && *t > 0.0)?;
    let mut speedups: Vec<(usize, f64)> = sweep
        .points
        .iter()
        .map(|p| (p.workers, one / minimum(&p.seconds)))
        .filter(|(n, s)| *n > 0 && s.is_finite() && *s > 0.0)
        .collect();
    speedups.sort_by_key(|(n, _)| *n);
    Some(speedups)
}

/// The serial fraction s of Amdahl's law that fits the `speedups` of 2 to
/// `up_to` workers best (least squares on 1/S(n) = s (1 - 1/n) + 1/n),
/// within 0 and 1.
pub fn amdahl_fit(speedups: &[(usize, f64)], up_to: usize) -> f64 {
    let (mut ab, mut aa) = (0.0, 0.0);
    for &(n, s) in speedups.iter().filter(|(n, _)| (2..=up_to).contains(n)) {
        let a = 1.0 - 1.0 / n as f64;
        let b = 1.0 / s - 1.0 / n as f64;
        ab += a * b;
        aa += a * a;
    }
    if aa == 0.0 {
        return 0.0;
    }
    (ab / aa).clamp(0.0, 1.0)
}

/// Amdahl's speedup on `n` workers with serial fraction `s`.
pub fn amdahl(s: f64, n: f64) -> f64 {
    1.0 / (s + (1.0 - s) / n)
}

/// Where the chart's points go: worker counts across, speedups up.
struct Frame {
    most: f64,
    top: f64,
}

impl Frame {
    fn plot_w() -> f64 {
        WIDTH - LEFT - RIGHT
    }

    fn plot_h() -> f64 {
        HEIGHT - TOP - BOTTOM
    }

    fn x(&self, n: f64) -> f64 {
        LEFT + (n - 1.0) / (self.most - 1.0) * Self::plot_w()
    }

    fn y(&self, s: f64) -> f64 {
        TOP + Self::plot_h() - s / self.top * Self::plot_h()
    }
}

/// The chart of a sweep on `cores` cores, or `None` when the sweep has no
/// 1-worker time.
pub fn chart(sweep: &Sweep, title: &str, cores: usize) -> Option<String> {
    let speedups = speedups(sweep)?;
    let most_workers = speedups.iter().map(|(n, _)| *n).max()?;
    let most = most_workers.max(2) as f64;
    let top = speedups.iter().map(|(_, s)| *s).fold(most, f64::max).ceil();
    let frame = Frame { most, top };
    // A single core has no worker count where Amdahl's law holds: fit all.
    let fitted_up_to = if cores >= 2 { cores } else { most_workers };
    let serial = amdahl_fit(&speedups, fitted_up_to);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="speedup" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{0}"><title>{0}</title>"#,
        escape(title)
    );
    axes(&mut svg, &frame);
    ceiling(&mut svg, &frame, cores);
    lines(&mut svg, &frame, &speedups, serial);
    legend(
        &mut svg,
        cores,
        &format!(
            "Amdahl fit over 2 to {} workers: serial fraction {serial:.3}",
            fitted_up_to.min(most_workers)
        ),
    );
    svg.push_str("</svg>");
    Some(svg)
}

/// A grid line and a label per tick on both axes, and the axes' names.
fn axes(svg: &mut String, frame: &Frame) {
    let (plot_w, plot_h) = (Frame::plot_w(), Frame::plot_h());
    let step = tick_step(frame.most - 1.0, 8.0).max(1.0);
    let mut n = 1.0;
    while n <= frame.most + 1e-9 {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}"/><text class="axis" x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"#,
            frame.x(n),
            TOP + plot_h,
            TOP + plot_h + 16.0,
            number(n)
        );
        n += step;
    }
    let step = tick_step(frame.top, 6.0);
    let mut s = 0.0;
    while s <= frame.top + 1e-9 {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}"/><text class="axis" x="{2}" y="{0:.1}" text-anchor="end" dominant-baseline="middle">{3}</text>"#,
            frame.y(s),
            LEFT + plot_w,
            LEFT - 6.0,
            number(s)
        );
        s += step;
    }
    let _ = write!(
        svg,
        r#"<text class="axis" x="{}" y="{}" text-anchor="middle">workers</text><text class="axis" x="12" y="{2}" transform="rotate(-90 12 {2})" text-anchor="middle">speedup T(1)/T(n)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        TOP + plot_h / 2.0,
    );
}

/// The core count, a vertical line: past it, workers share cores.
fn ceiling(svg: &mut String, frame: &Frame, cores: usize) {
    let cores = cores as f64;
    if !(1.0..=frame.most).contains(&cores) {
        return;
    }
    let _ = write!(
        svg,
        r#"<line class="cores" x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" stroke="{CORES}" stroke-width="1.5"{DASHED}/>"#,
        frame.x(cores),
        TOP + Frame::plot_h()
    );
}

/// The ideal line, then Amdahl's curve, then the measurements on top.
fn lines(svg: &mut String, frame: &Frame, speedups: &[(usize, f64)], serial: f64) {
    let most = frame.most;
    let _ = write!(
        svg,
        r#"<line class="ideal" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{IDEAL}" stroke-width="1.5"/>"#,
        frame.x(1.0),
        frame.y(1.0),
        frame.x(most),
        frame.y(most.min(frame.top))
    );
    let curve: Vec<String> = (0..=60)
        .map(|i| 1.0 + (most - 1.0) * f64::from(i) / 60.0)
        .map(|n| format!("{:.1},{:.1}", frame.x(n), frame.y(amdahl(serial, n))))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="amdahl" points="{}" fill="none" stroke="{AMDAHL}" stroke-width="1.5"{DASHED}/>"#,
        curve.join(" ")
    );
    let measured: Vec<String> = speedups
        .iter()
        .map(|(n, s)| format!("{:.1},{:.1}", frame.x(*n as f64), frame.y(*s)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="measured" points="{}" fill="none" stroke="{MEASURED}" stroke-width="2"/>"#,
        measured.join(" ")
    );
    for (n, s) in speedups {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{MEASURED}"><title>{n} workers: speedup {:.2}</title></circle>"#,
            frame.x(*n as f64),
            frame.y(*s),
            s
        );
    }
}

/// Two rows above the plot: the lines' names, then the fit.
fn legend(svg: &mut String, cores: usize, fit: &str) {
    let first_row = [
        (MEASURED, "", "measured".to_owned()),
        (IDEAL, "", "ideal: n".to_owned()),
        (CORES, DASHED, format!("cores: {cores}")),
    ];
    let mut x = LEFT;
    for (colour, dash, text) in first_row {
        legend_entry(svg, x, 10.0, colour, dash, &text);
        x += 40.0 + 7.0 * text.chars().count() as f64;
    }
    legend_entry(svg, LEFT, 27.0, AMDAHL, DASHED, fit);
}

fn legend_entry(svg: &mut String, x: f64, y: f64, colour: &str, dash: &str, text: &str) {
    let _ = write!(
        svg,
        r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/><text class="axis" x="{}" y="{y}" dominant-baseline="middle">{}</text>"#,
        x + 18.0,
        x + 22.0,
        escape(text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::observe::SweepPoint;

    fn sweep(times: &[(usize, f64)]) -> Sweep {
        Sweep {
            name: "slow".into(),
            points: times
                .iter()
                .map(|&(workers, t)| SweepPoint {
                    workers,
                    seconds: vec![t * 1.1, t, t * 1.05],
                })
                .collect(),
        }
    }

    #[test]
    fn speedups_divide_minimums_by_the_one_worker_minimum() {
        let s = speedups(&sweep(&[(2, 0.5), (1, 1.0), (4, 0.5)])).unwrap();
        assert_eq!(s, [(1, 1.0), (2, 2.0), (4, 2.0)]);
        assert_eq!(speedups(&sweep(&[(2, 0.5)])), None);
    }

    #[test]
    fn amdahl_fit_recovers_the_serial_fraction() {
        let truth = 0.2;
        let points: Vec<(usize, f64)> = (1..=8).map(|n| (n, amdahl(truth, n as f64))).collect();
        assert!((amdahl_fit(&points, 8) - truth).abs() < 1e-9);
        assert_eq!(amdahl_fit(&[(1, 1.0)], 8), 0.0);
        // Slower with more workers than with one: all serial, no less.
        assert_eq!(amdahl_fit(&[(1, 1.0), (2, 0.5)], 8), 1.0);
    }

    #[test]
    fn the_fit_stops_at_the_core_count() {
        // 2 cores: a near-perfect pool, flat past 2 workers.
        let points = [(1, 1.0), (2, 1.99), (3, 1.95), (4, 1.9)];
        assert!(amdahl_fit(&points, 2) < 0.01, "{}", amdahl_fit(&points, 2));
        assert!(
            amdahl_fit(&points, 4) > 0.2,
            "sharing cores reads as serial work"
        );
    }

    #[test]
    fn the_chart_has_its_lines_a_point_per_worker_count_and_the_cores() {
        let svg = chart(
            &sweep(&[(1, 1.0), (2, 0.502), (3, 0.5), (4, 0.5)]),
            "sweep",
            2,
        )
        .unwrap();
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(
            svg.contains(r#"<line class="ideal" x1"#)
                && svg.contains(&format!(r#"stroke="{IDEAL}" stroke-width="1.5"/>"#)),
            "the ideal line, black and solid"
        );
        assert!(svg.contains(r#"<polyline class="amdahl" "#));
        assert!(svg.contains(&format!(
            r#"stroke="{AMDAHL}" stroke-width="1.5"{DASHED}/>"#
        )));
        assert!(svg.contains(r#"<circle cx="#) && svg.contains(&format!(r#"fill="{MEASURED}""#)));
        assert_eq!(svg.matches("<polyline").count(), 2, "Amdahl and measured");
        // The core count, a vertical line at 2 workers.
        let cores = &svg[svg.find(r#"<line class="cores""#).unwrap()..];
        let x = |name: &str| {
            let at = cores.find(&format!(r#" {name}=""#)).unwrap() + name.len() + 3;
            cores[at..at + cores[at..].find('"').unwrap()].to_owned()
        };
        assert_eq!(x("x1"), x("x2"), "{cores}");
        assert!(svg.contains("2 workers: speedup 1.99"), "{svg}");
        assert!(svg.contains(r#"<line class="cores""#), "{svg}");
        assert!(svg.contains("cores: 2"), "{svg}");
        assert!(
            svg.contains("Amdahl fit over 2 to 2 workers: serial fraction 0.004"),
            "{svg}"
        );
        let one_core = chart(&sweep(&[(1, 1.0), (2, 1.0)]), "sweep", 1).unwrap();
        assert!(
            one_core.contains("Amdahl fit over 2 to 2 workers: serial fraction 1.000"),
            "{one_core}"
        );
    }
}
