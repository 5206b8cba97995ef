//! `report.html`: the class at a glance, one static page that opens from a
//! file with no network (inline CSS, SVG drawn by plotters, no script): the
//! score distribution, each test's and observation's pass rate, the class's
//! ex04 speedups beside the reference and the ideal, and the machine each
//! submission was measured on.

use super::gradebook::{flags, Graded};
use crate::model::{GradeReport, TestStatus, Verdict};
use crate::text::short;
use anyhow::Context;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The check whose value is ex04's speedup at `n` workers: slow tasks on 1
/// worker over slow tasks on `n`.
const SPEEDUP_BASE: &str = "slow_1_seconds";
const SPEEDUP_PREFIX: &str = "slow_";
const SPEEDUP_SUFFIX: &str = "_seconds";

/// Write `report.html` into `dir`.
pub fn write(graded: &[Graded], reference: Option<&GradeReport>, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("report.html");
    std::fs::write(&path, render(graded, reference)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn render(graded: &[Graded], reference: Option<&GradeReport>) -> anyhow::Result<String> {
    let title = graded
        .first()
        .map_or("The class", |g| g.report.course.as_str());
    let mut page = String::new();
    write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{} — class report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{}</h1>\n<p>{} submissions graded.</p>\n",
        escape(title),
        escape(title),
        graded.len()
    )?;
    page.push_str("<h2>Scores</h2>\n");
    page.push_str(&score_histogram(graded)?);
    page.push_str(&tests_table(graded)?);
    page.push_str(&observations_table(graded)?);
    page.push_str("<h2>ex04: speedup with slow tasks</h2>\n");
    page.push_str(&speedup_chart(graded, reference)?);
    page.push_str(&machines_table(graded)?);
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{background:#eee;width:10rem;height:.8rem}\
.bar div{background:#1f77b4;height:100%}svg{max-width:100%;height:auto}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn bar(fraction: f64) -> String {
    format!(
        "<div class=\"bar\"><div style=\"width:{:.1}%\"></div></div>",
        (fraction * 100.0).clamp(0.0, 100.0)
    )
}

/// Submissions per tenth of the maximum score.
fn score_histogram(graded: &[Graded]) -> anyhow::Result<String> {
    const BINS: usize = 10;
    let mut counts = [0u32; BINS];
    for g in graded {
        let share = if g.report.max_score > 0.0 {
            g.report.score / g.report.max_score
        } else {
            0.0
        };
        counts[((share * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..100.0, 0u32..top + 1)?;
        chart
            .configure_mesh()
            .x_desc("score, % of the maximum")
            .y_desc("submissions")
            .disable_x_mesh()
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &n)| {
            let left = i as f64 * 100.0 / BINS as f64;
            Rectangle::new(
                [(left + 0.5, 0), (left + 100.0 / BINS as f64 - 0.5, n)],
                RGBColor(31, 119, 180).filled(),
            )
        }))?;
        root.present()?;
    }
    Ok(svg + "\n")
}

/// Every test's pass rate over the submissions that ran it.
fn tests_table(graded: &[Graded]) -> anyhow::Result<String> {
    let mut rates: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for ex in graded.iter().flat_map(|g| &g.report.exercises) {
        for test in &ex.tests.tests {
            let entry = rates.entry(test.name.clone()).or_default();
            entry.1 += 1;
            if test.status == TestStatus::Passed && ex.tests.build_error.is_none() {
                entry.0 += 1;
            }
        }
    }
    let mut html =
        String::from("<h2>Tests</h2>\n<table>\n<tr><th>test</th><th>passed</th><th></th></tr>\n");
    for (name, (passed, total)) in rates {
        writeln!(
            html,
            "<tr><td>{}</td><td class=\"n\">{passed} of {total}</td><td>{}</td></tr>",
            escape(&name),
            bar(f64::from(passed) / f64::from(total.max(1)))
        )?;
    }
    html.push_str("</table>\n");
    Ok(html)
}

/// Every observation's verdicts over the class.
fn observations_table(graded: &[Graded]) -> anyhow::Result<String> {
    let mut counts: BTreeMap<(String, String), (String, [u32; 4])> = BTreeMap::new();
    for ex in graded.iter().flat_map(|g| &g.report.exercises) {
        for o in &ex.observations {
            let entry = counts
                .entry((ex.id.clone(), o.id.clone()))
                .or_insert_with(|| (o.claim.clone(), [0; 4]));
            let slot = match o.verdict {
                Verdict::Pass => 0,
                Verdict::Fail => 1,
                Verdict::Skipped => 2,
                Verdict::Inconclusive => 3,
            };
            entry.1[slot] += 1;
        }
    }
    let mut html = String::from(
        "<h2>Observations</h2>\n<table>\n<tr><th>observation</th><th>pass</th><th>fail</th>\
         <th>skipped</th><th>inconclusive</th><th>pass rate</th></tr>\n",
    );
    for ((ex, id), (claim, [pass, fail, skipped, inconclusive])) in counts {
        let total = pass + fail + skipped + inconclusive;
        writeln!(
            html,
            "<tr><td title=\"{}\">{} {}</td><td class=\"n\">{pass}</td><td class=\"n\">{fail}</td>\
             <td class=\"n\">{skipped}</td><td class=\"n\">{inconclusive}</td><td>{}</td></tr>",
            escape(&claim),
            escape(&ex),
            escape(&id),
            bar(f64::from(pass) / f64::from(total.max(1)))
        )?;
    }
    html.push_str("</table>\n");
    Ok(html)
}

/// ex04's measured speedups of one report: (workers, speedup), starting at (1, 1).
pub fn speedups(report: &GradeReport) -> Vec<(u32, f64)> {
    let mut points = vec![(1, 1.0)];
    for check in report
        .exercises
        .iter()
        .flat_map(|e| &e.observations)
        .flat_map(|o| &o.checks)
    {
        let workers = check
            .per
            .as_deref()
            .and_then(|p| p.strip_prefix(SPEEDUP_PREFIX))
            .and_then(|p| p.strip_suffix(SPEEDUP_SUFFIX))
            .and_then(|n| n.parse::<u32>().ok());
        if let (true, Some(n), Some(value)) = (check.metric == SPEEDUP_BASE, workers, check.value) {
            if n > 1 && value.is_finite() && !points.iter().any(|&(w, _)| w == n) {
                points.push((n, value));
            }
        }
    }
    points.sort_by_key(|&(n, _)| n);
    points
}

/// The class's speedup curves (grey), the reference's (blue) and the ideal.
fn speedup_chart(graded: &[Graded], reference: Option<&GradeReport>) -> anyhow::Result<String> {
    let class: Vec<Vec<(u32, f64)>> = graded
        .iter()
        .map(|g| speedups(&g.report))
        .filter(|s| s.len() > 1)
        .collect();
    let reference = reference.map(speedups).filter(|s| s.len() > 1);
    let mut svg = String::new();
    draw_speedups(&mut svg, &class, reference.as_deref())?;
    let note = match (&reference, class.len()) {
        (None, _) => "<p>No reference report was given (<code>--reference</code>).</p>\n",
        (_, 0) => "<p>No submission measured ex04's speedup.</p>\n",
        _ => "",
    };
    Ok(svg + "\n" + note)
}

type Curve = [(u32, f64)];

fn draw_speedups(
    svg: &mut String,
    class: &[Vec<(u32, f64)>],
    reference: Option<&Curve>,
) -> anyhow::Result<()> {
    let all = || class.iter().map(Vec::as_slice).chain(reference).flatten();
    let most = all().map(|&(n, _)| n).max().unwrap_or(2).max(2);
    let top = all().map(|&(_, s)| s).fold(f64::from(most), f64::max) * 1.1;
    let root = SVGBackend::with_string(svg, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.8..f64::from(most) + 0.2, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("speedup T(1) / T(n)")
        .draw()?;
    let line = |curve: &Curve| {
        curve
            .iter()
            .map(|&(n, s)| (f64::from(n), s))
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(LineSeries::new(
            [1.0, f64::from(most)].map(|n| (n, n)),
            BLACK.stroke_width(1),
        ))?
        .label("ideal")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    let grey = RGBColor(150, 150, 150);
    for (i, curve) in class.iter().enumerate() {
        let series =
            chart.draw_series(LineSeries::new(line(curve), grey.mix(0.6).stroke_width(1)))?;
        if i == 0 {
            series
                .label("a submission")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
        }
    }
    if let Some(curve) = reference {
        let blue = RGBColor(31, 119, 180);
        chart
            .draw_series(LineSeries::new(line(curve), blue.stroke_width(3)))?
            .label("reference")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The machine each submission was measured on.
fn machines_table(graded: &[Graded]) -> anyhow::Result<String> {
    let mut html = String::from(
        "<h2>Submissions</h2>\n<table>\n<tr><th>id</th><th>score</th><th>cores</th>\
         <th>time unit</th><th>repeats</th><th>graded in</th><th>flags</th></tr>\n",
    );
    for g in graded {
        let r = &g.report;
        writeln!(
            html,
            "<tr><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{} ms</td><td class=\"n\">{}</td><td class=\"n\">{:.0} s</td><td>{}</td></tr>",
            escape(&g.id),
            short(r.score),
            short(r.max_score),
            r.machine.cores,
            short(r.machine.time_unit_ms),
            r.machine.repeats,
            r.timings.total_seconds,
            escape(&flags(r).join(" "))
        )?;
    }
    html.push_str("</table>\n");
    Ok(html)
}
