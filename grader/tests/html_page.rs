//! The html report in a real browser: headless Chromium loads the page with
//! no console message (its Content-Security-Policy turns any attempt to load
//! something into one), and the page draws a Gantt chart for every schedule
//! behind an observation and a speedup chart for every sweep.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs
//! it) or `CHROMIUM=/path/to/chrome`.

use grader::model::GradeReport;
use grader::report::{self, Detail, Format};
use grader::sandbox;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const MISSING: &str =
    "this test renders the html report in headless Chromium, which is not installed: \
     `apt-get install chromium` (Debian), or set CHROMIUM to a Chrome or Chromium binary";

/// A report with schedules behind observations and a sweep, as `grader
/// --format json` writes it (the reporters' fixture with one more schedule,
/// ex03's worker processes' schedule and ex04's sweep).
fn recorded_report() -> (GradeReport, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/html/report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    (serde_json::from_str(&text).unwrap(), value)
}

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| panic!("{MISSING}"))
}

/// What Chromium made of `page`: the DOM after loading, and every console
/// message it logged.
fn render(page: &Path) -> (String, Vec<String>) {
    render_with(page, &[])
}

/// [`render`] with more of Chromium's switches.
fn render_with(page: &Path, switches: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            // CI runs as root, where Chromium's own sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(switches)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()));
    let run = sandbox::run(&mut command, Duration::from_secs(120), 16 << 20)
        .unwrap_or_else(|e| panic!("cannot start {}: {e}\n{MISSING}", chromium().display()));
    assert!(run.success(), "chromium failed: {}", run.stderr.text());
    let console = run
        .stderr
        .text()
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (run.stdout.text(), console)
}

fn write_page(dir: &Path, report: &GradeReport) -> PathBuf {
    let page = dir.join("grade.html");
    report::write(report, Format::Html, Detail::default(), Some(&page)).unwrap();
    page
}

/// How many CSS pixels wider than a window `width` pixels wide the page's
/// content is. The report may run no script (its Content-Security-Policy),
/// so a page of the test's own loads it in a frame of that width and writes
/// the figure into its own DOM.
fn overflow_at(page: &Path, width: u32) -> i64 {
    let frame = page.with_file_name("frame.html");
    let name = page.file_name().unwrap().to_str().unwrap();
    let html = format!(
        r#"<!DOCTYPE html><html><body style="margin:0">
<iframe id="report" src="{name}" style="width:{width}px;height:800px;border:0"></iframe>
<p id="result">not measured</p>
<script>
document.getElementById("report").onload = function () {{
  var root = this.contentDocument.documentElement;
  document.getElementById("result").textContent =
    "overflow=" + (root.scrollWidth - root.clientWidth) + ";";
}};
</script></body></html>"#
    );
    std::fs::write(&frame, html).unwrap();
    // Pages from files may read each other's DOM only with this switch.
    let (dom, console) = render_with(&frame, &["--allow-file-access-from-files"]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let figure = dom
        .split("overflow=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("the frame was not measured:\n{dom}"));
    figure.parse().unwrap()
}

/// The observations of every exercise of a report.
fn observations(report: &Value) -> impl Iterator<Item = &Value> {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|ex| ex["observations"].as_array().unwrap())
}

/// The schedules (traces) or sweeps recorded behind the report's observations.
fn recorded<'a>(report: &'a Value, key: &'a str) -> impl Iterator<Item = &'a Value> {
    observations(report).flat_map(move |o| o[key].as_array().into_iter().flatten())
}

#[test]
fn the_page_renders_cleanly_with_a_chart_per_schedule_and_sweep() {
    let (report, value) = recorded_report();
    let schedules = recorded(&value, "traces").count();
    let sweeps = recorded(&value, "sweeps").count();
    assert!(schedules >= 3 && sweeps >= 1, "the fixture draws something");
    let dir = tempfile::tempdir().unwrap();
    let (dom, console) = render(&write_page(dir.path(), &report));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(dom.matches(r#"<svg class="gantt""#).count(), schedules);
    assert_eq!(
        dom.matches(r#"<figure class="schedule""#).count(),
        schedules
    );
    assert_eq!(dom.matches(r#"<svg class="speedup""#).count(), sweeps);
    let bars: usize = recorded(&value, "traces")
        .map(|t| t["spans"].as_array().unwrap().len())
        .sum();
    assert_eq!(dom.matches(r#"<g class="span""#).count(), bars);
    // The worker processes' schedule, a lane per process, like the threads'.
    let processes =
        r#"<figure class="schedule" id="processes-crunch-in-parallel-processes_seconds">"#;
    let at = dom
        .find(processes)
        .expect("the processes' schedule is drawn");
    let chart = &dom[at..at + dom[at..].find("</figure>").unwrap()];
    assert_eq!(chart.matches(r#"<g class="span""#).count(), 8, "{chart}");
    assert!(
        chart.contains(">B</text>") && !chart.contains(">C</text>"),
        "{chart}"
    );
}

#[test]
fn a_long_failure_message_scrolls_in_its_own_box_not_the_page() {
    let (mut report, _) = recorded_report();
    let test = report
        .exercises
        .iter_mut()
        .flat_map(|ex| &mut ex.tests.tests)
        .find(|t| t.failure.is_some())
        .expect("the fixture has a failed test");
    let long_line = format!("assertion failed: {}", "[query 8.......]".repeat(40));
    test.failure = Some(long_line.clone());
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), &report);
    assert!(std::fs::read_to_string(&page).unwrap().contains(&long_line));
    for width in [1000, 700] {
        assert_eq!(
            overflow_at(&page, width),
            0,
            "at {width} px the page is wider than the window"
        );
    }
}

#[test]
fn a_page_that_loads_anything_is_caught() {
    let (report, _) = recorded_report();
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), &report);
    let html = std::fs::read_to_string(&page).unwrap();
    let html = html.replace(
        "</body>",
        r#"<img src="https://example.invalid/logo.png"></body>"#,
    );
    std::fs::write(&page, html).unwrap();
    let (_, console) = render(&page);
    assert!(
        console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "{console:#?}"
    );
}
