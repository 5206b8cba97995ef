//! One self-contained HTML page for one grade: every exercise's tests and
//! observations with the numbers beside the expectations, each schedule
//! behind an observation as an SVG Gantt chart, and each sweep as a speedup
//! chart. No scripts, no network, no external fonts: the page is a file to
//! keep or send.

mod gantt;
mod speedup;
mod svg;

use super::Reporter;
use crate::model::{ExerciseReport, GradeReport, Machine, ObservationResult, TestStatus, Verdict};
use crate::text::{count, short};
use protocol::observe::{NamedTrace, Sweep};
use std::fmt::Write;
use svg::escape;

pub struct Html;

/// Nothing may be loaded from anywhere: a browser blocks (and reports) any
/// attempt, so a page that renders cleanly is self-contained.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto; max-width: 62em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
h2 .score, h1 .score { float: right; font-weight: normal; }
.meta { color: #666; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; }
td, th { text-align: left; padding: 0.25em 0.5em; vertical-align: top; border-bottom: 1px solid #eee; }
th { font-weight: 600; color: #555; } td.points { text-align: right; white-space: nowrap; }
.verdict { font-weight: 600; white-space: nowrap; }
.pass { color: #1a7f37; } .fail { color: #cf222e; } .skipped, .inconclusive { color: #9a6700; }
.claim { color: #555; } .hint { color: #0550ae; }
pre { background: #f6f8fa; padding: 0.5em; font-size: 0.9em; margin: 0.3em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.flags { border-left: 3px solid #9a6700; padding-left: 0.6em; } .busy { color: #9a6700; }
table.tests { table-layout: fixed; } table.tests td.verdict { width: 7em; } table.tests td.points { width: 5em; }
table.tests td { overflow-wrap: anywhere; }
figure { margin: 0.5em 0 1em; } figcaption { color: #555; font-size: 0.9em; }
svg { max-width: 100%; height: auto; font: 12px system-ui, sans-serif; }
svg .grid { stroke: #e4e4e4; } svg .axis { fill: #555; } svg .lane { fill: #333; font-weight: 600; }
svg .label { fill: #fff; font-size: 11px; }
"#;

impl Reporter for Html {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let mut out = String::new();
        page(&mut out, report)?;
        Ok(out)
    }
}

fn page(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let m = &report.machine;
    writeln!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{} · {}</title><style>{STYLE}</style></head><body>"#,
        escape(&report.course),
        escape(&report.target)
    )?;
    writeln!(
        out,
        r#"<h1>{} <span class="score">{} / {} points</span></h1>
<p class="meta">graded: {} · {} · 1 time unit = {} ms · {}</p>"#,
        escape(&report.course),
        short(report.score),
        short(report.max_score),
        escape(&report.target),
        count(m.cores, "core"),
        short(m.time_unit_ms),
        count(m.repeats, "repeat")
    )?;
    header(out, report)?;
    for ex in &report.exercises {
        exercise(out, ex, m, report.observations_measured)?;
        flags(out, report, &ex.id)?;
    }
    if let Some(line) = super::machine_limits_line(report) {
        writeln!(out, r#"<p class="machine-limits">{}</p>"#, escape(&line))?;
    }
    let t = &report.timings;
    writeln!(
        out,
        r#"<p class="meta">Time: build {:.1} s, tests {:.1} s, observations {:.1} s, total {:.1} s.</p></body></html>"#,
        t.build_seconds, t.test_seconds, t.measure_seconds, t.total_seconds
    )
}

/// What the human report's header says beside the score: the machine and
/// how busy it was, the sandbox, the instructor's files.
fn header(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    if let Some(line) = super::human::machine_line(&report.machine) {
        writeln!(out, r#"<p class="meta machine">{}</p>"#, escape(&line))?;
    }
    if let Some(why) = &report.machine.busy {
        writeln!(
            out,
            r#"<p class="busy">The machine was busy while the observations were measured ({}): timings may be slower than this code is, and charts show it so.</p>"#,
            escape(why)
        )?;
    }
    let integrity = &report.integrity;
    if !integrity.is_unknown() {
        let strict = if integrity.strict { " · strict" } else { "" };
        writeln!(
            out,
            r#"<p class="meta sandbox">sandbox: {}{strict}</p>"#,
            escape(&integrity.isolation)
        )?;
        if !integrity.restored.is_empty() {
            writeln!(
                out,
                r#"<p class="fail">The instructor's course changed during grading and was restored: {}</p>"#,
                escape(&integrity.restored.join(", "))
            )?;
        }
    }
    if let Some(files) = &report.instructor_files {
        writeln!(
            out,
            r#"<p class="meta">{}</p>"#,
            escape(&super::instructor_files_line(files))
        )?;
    }
    Ok(())
}

fn exercise(
    out: &mut String,
    ex: &ExerciseReport,
    machine: &Machine,
    observations_measured: bool,
) -> std::fmt::Result {
    writeln!(
        out,
        r#"<section id="{0}"><h2>{0} {1} <span class="score">{2} / {3}</span></h2>"#,
        escape(&ex.id),
        escape(&ex.title),
        short(ex.score),
        short(ex.max_score)
    )?;
    tests(out, ex)?;
    if observations_measured && !ex.observations.is_empty() {
        writeln!(
            out,
            r#"<table class="observations"><tr><th>verdict</th><th>observation</th><th>measured</th><th>points</th></tr>"#
        )?;
        for o in &ex.observations {
            observation(out, o)?;
            recorded(out, o, machine)?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</section>")
}

/// The source scan's flags of exercise `id`: what they cost, and how to
/// avoid each.
fn flags(out: &mut String, report: &GradeReport, id: &str) -> std::fmt::Result {
    let Some(flagged) = report.integrity.flags_of(id) else {
        return Ok(());
    };
    writeln!(
        out,
        r#"<div class="flags" id="{0}-flags"><p><strong>Source flags of {0}</strong>: {1}</p><ul>"#,
        escape(id),
        escape(&flagged.cost())
    )?;
    for flag in &flagged.flags {
        writeln!(
            out,
            "<li>{}:{}: {}<br>to avoid it: {}</li>",
            escape(&flag.file),
            flag.line,
            escape(&flag.what),
            escape(&flag.advice)
        )?;
    }
    writeln!(out, "</ul></div>")
}

fn tests(out: &mut String, ex: &ExerciseReport) -> std::fmt::Result {
    let t = &ex.tests;
    let passed = t
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    writeln!(
        out,
        r#"<p>Tests: {passed} of {} passed · {} / {} points</p>"#,
        t.tests.len(),
        short(t.points),
        short(t.max_points)
    )?;
    if let Some(error) = &t.build_error {
        writeln!(
            out,
            r#"<p class="fail">Does not build; the compiler's first error:</p><pre>{}</pre>"#,
            escape(error)
        )?;
        return Ok(());
    }
    writeln!(out, r#"<table class="tests">"#)?;
    for test in &t.tests {
        let (class, word) = match test.status {
            TestStatus::Passed => ("pass", "pass"),
            TestStatus::Failed => ("fail", "fail"),
            TestStatus::TimedOut => ("fail", "timed out"),
            TestStatus::NotRun => ("fail", "never reported"),
        };
        write!(
            out,
            r#"<tr><td class="verdict {class}">{word}</td><td>{}"#,
            escape(&test.name)
        )?;
        if test.status != TestStatus::Passed {
            if let Some(message) = &test.failure {
                write!(out, "<pre>{}</pre>", escape(message))?;
            }
        }
        writeln!(
            out,
            r#"</td><td class="points">{:.2} s</td></tr>"#,
            test.seconds
        )?;
    }
    writeln!(out, "</table>")
}

fn observation(out: &mut String, o: &ObservationResult) -> std::fmt::Result {
    let (class, word) = verdict(o.verdict);
    write!(
        out,
        r#"<tr><td class="verdict {class}">{word}</td><td><strong>{}</strong><div class="claim">{}</div></td><td>"#,
        escape(&o.id),
        escape(&o.claim)
    )?;
    let summaries: Vec<&str> = o
        .checks
        .iter()
        .map(|c| c.summary.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    if summaries.is_empty() || !matches!(o.verdict, Verdict::Pass | Verdict::Fail) {
        write!(out, "{}", escape(&o.reason))?;
    } else {
        for summary in summaries {
            write!(out, "<div>{}</div>", escape(summary))?;
        }
    }
    if o.measurements > 1 {
        write!(
            out,
            r#"<div class="claim">measured {} times</div>"#,
            o.measurements
        )?;
    }
    if o.verdict == Verdict::Fail {
        if let Some(hint) = &o.hint {
            write!(out, r#"<div class="hint">hint: {}</div>"#, escape(hint))?;
        }
    }
    writeln!(
        out,
        r#"</td><td class="points">{} / {}</td></tr>"#,
        short(o.points),
        short(o.max_points)
    )
}

/// What the harness recorded behind `o`, drawn in a row under it.
fn recorded(out: &mut String, o: &ObservationResult, machine: &Machine) -> std::fmt::Result {
    let r = &o.recorded;
    if r.traces.is_empty() && r.sweeps.is_empty() {
        return Ok(());
    }
    write!(out, r#"<tr class="recorded"><td></td><td colspan="3">"#)?;
    for trace in &r.traces {
        schedule(out, o, trace, machine.time_unit_ms)?;
    }
    for sweep in &r.sweeps {
        sweep_chart(out, o, sweep, machine)?;
    }
    writeln!(out, "</td></tr>")
}

fn schedule(
    out: &mut String,
    o: &ObservationResult,
    trace: &NamedTrace,
    unit_ms: f64,
) -> std::fmt::Result {
    let title = format!("{}: the schedule of {}", o.id, trace.name);
    if trace.spans.is_empty() {
        return writeln!(
            out,
            r#"<p class="claim">{}: no tasks recorded.</p>"#,
            escape(&title)
        );
    }
    writeln!(
        out,
        r#"<figure class="schedule" id="{}-{}">{}<figcaption>{}: who ran which task when (a lane per thread or worker; hover a bar for its times).</figcaption></figure>"#,
        escape(&o.id),
        escape(&trace.name),
        gantt::chart(&trace.spans, unit_ms, &title),
        escape(&title)
    )
}

fn sweep_chart(
    out: &mut String,
    o: &ObservationResult,
    sweep: &Sweep,
    machine: &Machine,
) -> std::fmt::Result {
    let title = format!("{}: the speedup of {}", o.id, sweep.name);
    let Some(svg) = speedup::chart(sweep, &title, machine.cores) else {
        return Ok(());
    };
    let (class, busy) = match &machine.busy {
        Some(why) => (
            "sweep busy",
            format!(
                r#"<p class="busy">Measured on a busy machine ({}): the speedups and the serial fraction may be worse than this code is. Grade again on a quiet machine (see <code>grader doctor</code>) before reading them.</p>"#,
                escape(why)
            ),
        ),
        None => ("sweep", String::new()),
    };
    writeln!(
        out,
        "<figure class=\"{class}\">{busy}{svg}<figcaption>{}: the measured speedup T(1)/T(n) in blue with dots (minimum of each worker count's runs), the ideal S = n in black, the core count as a grey dashed vertical line, and Amdahl's law fitted to the measurements up to the core count as a red dashed line (past the core count workers share cores, which no serial fraction describes). The colours are those of ex04's plot (its README, \"Reading the plot\").</figcaption></figure>",
        escape(&title)
    )
}

fn verdict(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Pass => ("pass", "pass"),
        Verdict::Fail => ("fail", "FAIL"),
        Verdict::Skipped => ("skipped", "skipped"),
        Verdict::Inconclusive => ("inconclusive", "inconclusive"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn the_page_is_self_contained_and_shows_the_numbers() {
        let page = Html.render(&fixtures::mixed()).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.ends_with("</body></html>\n"));
        for outside in ["http://", "https://", "<script", "<link", "@import", "url("] {
            let allowed = page.matches("http://www.w3.org/2000/svg").count();
            if outside == "http://" {
                assert_eq!(page.matches(outside).count(), allowed, "{outside}");
            } else {
                assert!(!page.contains(outside), "{outside}");
            }
        }
        assert!(page.contains(
            "threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units"
        ));
        assert!(page.contains("12 / 70 points"));
        assert!(page.contains("error[E0308]: mismatched types"));
        assert!(page.contains("left: [2, 1]"), "a failing test's message");
        assert!(page.contains("hint: The hint of long-last-is-slower."));
    }

    #[test]
    fn the_worker_processes_schedule_is_a_chart_with_a_lane_per_process() {
        let page = Html.render(&fixtures::processes_one_at_a_time()).unwrap();
        let figure =
            r#"<figure class="schedule" id="processes-crunch-in-parallel-processes_seconds">"#;
        let at = page
            .find(figure)
            .expect("a chart of the processes' schedule");
        let chart = &page[at..at + page[at..].find("</figure>").unwrap()];
        assert_eq!(chart.matches(r#"<g class="span""#).count(), 8);
        assert!(chart.contains(">A</text>") && chart.contains(">B</text>"));
        assert!(!chart.contains(">C</text>"), "two workers, two lanes");
        assert!(
            chart.contains("crunch 2 (lane B): 2.05–4.05 time units"),
            "{chart}"
        );
    }

    #[test]
    fn an_empty_schedule_says_so_instead_of_drawing_nothing() {
        let mut report = fixtures::mixed();
        let o = &mut report.exercises[0].observations[0];
        o.recorded.traces[0].spans.clear();
        let page = Html.render(&report).unwrap();
        assert!(page.contains("the schedule of threads_seconds: no tasks recorded."));
        assert_eq!(
            page.matches(r#"<svg class="gantt""#).count(),
            1,
            "the other one"
        );
    }
}
