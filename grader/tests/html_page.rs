//! The html report in a real browser: headless Chromium loads the page with
//! no console message (its Content-Security-Policy turns any attempt to load
//! something into one), and the page draws a Gantt chart for every schedule
//! behind an observation and a speedup chart for every sweep, says all the
//! human report says (machine and load, sandbox, source flags, the
//! machine-limit rule), marks a chart measured on a busy machine, draws in
//! ex04's colours and wraps a long failure.
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
/// content is, and the most any `<pre>` box is wider than itself (a line it
/// cuts off, to be scrolled). The report may run no script (its
/// Content-Security-Policy), so a page of the test's own loads it in a frame
/// of that width and writes the figures into its own DOM.
fn overflow_at(page: &Path, width: u32) -> (i64, i64) {
    let frame = page.with_file_name("frame.html");
    let name = page.file_name().unwrap().to_str().unwrap();
    let html = format!(
        r#"<!DOCTYPE html><html><body style="margin:0">
<iframe id="report" src="{name}" style="width:{width}px;height:800px;border:0"></iframe>
<p id="result">not measured</p>
<script>
document.getElementById("report").onload = function () {{
  var root = this.contentDocument.documentElement;
  var boxes = this.contentDocument.getElementsByTagName("pre");
  var cut = 0;
  for (var i = 0; i < boxes.length; i++) {{
    cut = Math.max(cut, boxes[i].scrollWidth - boxes[i].clientWidth);
  }}
  document.getElementById("result").textContent =
    "overflow=" + (root.scrollWidth - root.clientWidth) + ";pre=" + cut + ";";
}};
</script></body></html>"#
    );
    std::fs::write(&frame, html).unwrap();
    // Pages from files may read each other's DOM only with this switch.
    let (dom, console) = render_with(&frame, &["--allow-file-access-from-files"]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let figure = |name: &str| -> i64 {
        dom.split(&format!("{name}="))
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("the frame was not measured:\n{dom}"))
            .parse()
            .unwrap()
    };
    (figure("overflow"), figure("pre"))
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
fn a_long_failure_message_wraps_in_its_box_and_the_page_stays_in_the_window() {
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
        let (page_overflow, cut) = overflow_at(&page, width);
        assert_eq!(
            page_overflow, 0,
            "at {width} px the page is wider than the window"
        );
        assert_eq!(cut, 0, "at {width} px a failure's line is cut off");
    }
}

/// The recorded report as a grading on a busy machine with a flagged
/// exercise writes it: the machine's facts and load, the sandbox, the
/// flags, and the machine-limit rule for the observations it could not
/// judge.
fn busy_flagged_report() -> (GradeReport, Value) {
    let (_, mut value) = recorded_report();
    value["machine"]["facts"] = serde_json::json!({
        "available_parallelism": 2, "online_cpus": 2, "affinity": "0-1",
        "affinity_cpus": 2, "quota": { "cores": null, "source": "cgroup v2 cpu.max" }
    });
    value["machine"]["while_measuring"] = serde_json::json!({
        "seconds": 10.0, "others_cpu_seconds": 9.5, "cpu_pressure_seconds": 4.0,
        "throttled_seconds": 0.0
    });
    value["machine"]["busy"] = "other programs used 0.95 cores (more than 0.10)".into();
    value["integrity"] = serde_json::json!({
        "isolation": "isolated (bubblewrap: own PID, network and mount namespaces)",
        "strict": true,
        "flagged": [ { "exercise": "ex03", "points_withheld": true, "flags": [
            { "file": "exercises/ex03-process-crunch/src/lib.rs", "line": 7,
              "what": "std::process::exit: ends the test process early" } ] } ],
        "restored": []
    });
    value["machine_limits"] = serde_json::json!({
        "rule": "keep_as_zero", "points": 3.0,
        "observations": ["ex02 long-last-is-slower", "ex02 secret-speedup"]
    });
    (serde_json::from_value(value.clone()).unwrap(), value)
}

#[test]
fn the_page_says_what_the_human_report_says() {
    let (report, _) = busy_flagged_report();
    let human = report::reporter(Format::Human, Detail::default())
        .render(&report)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (dom, console) = render(&write_page(dir.path(), &report));
    assert!(console.is_empty(), "console messages: {console:#?}");
    let text = |html: &str| {
        html.replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
    };
    let dom = text(&dom);
    let header = |start: &str| {
        human
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} line in the human report:\n{human}"))
            .to_owned()
    };
    for line in [header("machine: "), header("sandbox: ")] {
        assert!(dom.contains(&line), "the page lacks {line:?}");
    }
    assert!(dom.contains("while measuring, other programs used 0.95 cores"));
    let flag = "exercises/ex03-process-crunch/src/lib.rs:7: std::process::exit";
    assert!(
        human.contains(flag) && dom.contains(flag),
        "the source flag"
    );
    assert!(
        dom.contains("are withheld for these flags"),
        "what the flag cost"
    );
    let rule = grader::report::machine_limits_line(&report).unwrap();
    assert!(dom.contains(&rule), "the machine-limit rule: {rule}");
    assert!(dom.contains("kept in the maximum as 0"));
}

#[test]
fn a_chart_measured_on_a_busy_machine_says_so() {
    let (quiet, _) = recorded_report();
    let (busy, _) = busy_flagged_report();
    let dir = tempfile::tempdir().unwrap();
    let (dom, _) = render(&write_page(dir.path(), &quiet));
    assert!(!dom.contains("busy machine"), "a quiet one does not");
    let (dom, _) = render(&write_page(dir.path(), &busy));
    let at = dom
        .find(r#"<figure class="sweep busy">"#)
        .expect("the sweep's chart is marked");
    let figure = &dom[at..at + dom[at..].find("</figure>").unwrap()];
    assert!(
        figure.contains("Measured on a busy machine (other programs used 0.95 cores"),
        "{figure}"
    );
}

/// ex04's plot colours, from its `RGBColor(r, g, b)` constants, as `#rrggbb`.
fn ex04_colours() -> Vec<(String, String)> {
    let plot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../exercises/ex04-speedup-sweep/src/plot.rs");
    let source = std::fs::read_to_string(plot).unwrap();
    source
        .lines()
        .filter_map(|line| {
            let (name, rest) = line
                .strip_prefix("const ")?
                .split_once(": RGBColor = RGBColor(")?;
            let rgb: Vec<u8> = rest
                .trim_end_matches(");")
                .split(',')
                .map(|x| x.trim().parse().unwrap())
                .collect();
            Some((
                name.to_owned(),
                format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]),
            ))
        })
        .collect()
}

#[test]
fn the_speedup_chart_draws_in_the_colours_of_ex04s_plot() {
    let colours = ex04_colours();
    let names: Vec<&str> = colours.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["MEASURED", "AMDAHL", "CORES"],
        "ex04's plot.rs changed"
    );
    let (report, _) = recorded_report();
    let dir = tempfile::tempdir().unwrap();
    let (dom, _) = render(&write_page(dir.path(), &report));
    let at = dom.find(r#"<svg class="speedup""#).unwrap();
    let chart = &dom[at..at + dom[at..].find("</svg>").unwrap()];
    let colour = |name: &str| &colours.iter().find(|(n, _)| n == name).unwrap().1;
    // README, "Reading the plot": blue dots, red dashes, a grey dashed
    // vertical line, the ideal in black.
    assert!(chart.contains(r#"<circle cx="#), "{chart}");
    assert!(
        chart.contains(&format!(r#"fill="{}""#, colour("MEASURED"))),
        "{chart}"
    );
    let amdahl = &chart[chart.find(r#"<polyline class="amdahl""#).unwrap()..];
    assert!(amdahl.contains(&format!(r#"stroke="{}""#, colour("AMDAHL"))));
    assert!(amdahl[..amdahl.find('>').unwrap()].contains("stroke-dasharray"));
    let cores = &chart[chart.find(r#"<line class="cores""#).unwrap()..];
    let cores = &cores[..cores.find('>').unwrap()];
    assert!(
        cores.contains(&format!(r#"stroke="{}""#, colour("CORES"))),
        "{cores}"
    );
    assert!(cores.contains("stroke-dasharray"), "{cores}");
    let ideal = &chart[chart.find(r#"<line class="ideal""#).unwrap()..];
    assert!(ideal[..ideal.find('>').unwrap()].contains(r##"stroke="#000000""##));
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
