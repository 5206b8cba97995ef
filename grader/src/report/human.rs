//! The report for people: a table per exercise, the measured numbers beside
//! the expectations, hints for what failed, the total, the time it took, and
//! where to start next.

use super::{points, Reporter};
use crate::model::{ExerciseReport, GradeReport, ObservationResult, TestStatus, Verdict};
use owo_colors::OwoColorize;
use std::fmt::Write;

/// Where the points column ends.
const WIDTH: usize = 78;
/// Lines of a failing test's output shown under it.
const FAILURE_LINES: usize = 3;
const VERDICT_WIDTH: usize = 13;

pub struct Human;

impl Reporter for Human {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let mut out = String::new();
        let m = &report.machine;
        writeln!(out, "{}", report.course.bold())?;
        writeln!(
            out,
            "graded: {} · {} {} · 1 time unit = {} ms · {} {}",
            report.target,
            m.cores,
            if m.cores == 1 { "core" } else { "cores" },
            points(m.time_unit_ms),
            m.repeats,
            if m.repeats == 1 { "repeat" } else { "repeats" },
        )?;
        for ex in &report.exercises {
            out.push('\n');
            exercise(&mut out, ex, report.observations_measured)?;
        }
        out.push('\n');
        summary(&mut out, report)?;
        if let Some(files) = &report.instructor_files {
            writeln!(out, "{}", super::instructor_files_line(files))?;
        }
        Ok(out)
    }
}

fn exercise(
    out: &mut String,
    ex: &ExerciseReport,
    observations_measured: bool,
) -> std::fmt::Result {
    let title = format!("{}  {}", ex.id, ex.title);
    let score = format!("{} / {}", points(ex.score), points(ex.max_score));
    writeln!(out, "{}{}", title.bold(), right(&title, &score).bold())?;

    let t = &ex.tests;
    let passed = t
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    let tests_line = format!("  tests  {passed} of {} passed", t.tests.len());
    writeln!(
        out,
        "{tests_line}{}",
        right(
            &tests_line,
            &format!("{} / {}", points(t.points), points(t.max_points))
        )
    )?;
    if let Some(error) = &t.build_error {
        writeln!(
            out,
            "    {}",
            "does not build; the compiler's first error:".red()
        )?;
        for line in error.lines().take(12) {
            writeln!(out, "      {line}")?;
        }
    } else if passed == 0 && !t.tests.is_empty() {
        // A fresh stub: one line on why, not a wall of identical failures.
        let first = t.tests.iter().find_map(|t| failure_message(&t.output));
        writeln!(out, "    not started yet: every test fails")?;
        if let Some(message) = first {
            writeln!(
                out,
                "    first failure: {}",
                message.lines().next().unwrap_or_default()
            )?;
        }
    } else {
        for test in &t.tests {
            let (mark, name) = match test.status {
                TestStatus::Passed => ("pass".green().to_string(), test.name.clone()),
                TestStatus::Failed => ("FAIL".red().bold().to_string(), test.name.clone()),
                TestStatus::TimedOut => (
                    "FAIL".red().bold().to_string(),
                    format!("{} (timed out)", test.name),
                ),
                TestStatus::NotRun => (
                    "FAIL".red().bold().to_string(),
                    format!("{} (never reported)", test.name),
                ),
            };
            writeln!(out, "    {} {name}", pad(&mark, 4))?;
            if test.status != TestStatus::Passed {
                if let Some(message) = failure_message(&test.output) {
                    for line in message.lines() {
                        writeln!(out, "           {}", line.dimmed())?;
                    }
                }
            }
        }
    }

    if !observations_measured || ex.observations.is_empty() {
        return Ok(());
    }
    // Observations that all wait for the same thing get one line.
    let first_reason = &ex.observations[0].reason;
    if ex
        .observations
        .iter()
        .all(|o| o.verdict == Verdict::Fail && &o.reason == first_reason)
        && first_reason.starts_with("not measured:")
    {
        let max: f64 = ex.observations.iter().map(|o| o.max_points).sum();
        let line = "  observations";
        writeln!(
            out,
            "{line}{}",
            right(line, &format!("0 / {}", points(max)))
        )?;
        wrapped(out, "    ", first_reason)?;
        return Ok(());
    }
    writeln!(out, "  observations")?;
    for o in &ex.observations {
        observation(out, o)?;
    }
    let some_tests_failed = passed < t.tests.len() || t.build_error.is_some();
    if some_tests_failed && passed > 0 && !ex.hints.is_empty() {
        writeln!(out, "  hints")?;
        for hint in &ex.hints {
            wrapped(out, "    ", &format!("- {hint}"))?;
        }
    }
    Ok(())
}

fn observation(out: &mut String, o: &ObservationResult) -> std::fmt::Result {
    let verdict = match o.verdict {
        Verdict::Pass => "pass".green().to_string(),
        Verdict::Fail => "FAIL".red().bold().to_string(),
        Verdict::Skipped => "skipped".yellow().to_string(),
        Verdict::Inconclusive => "inconclusive".yellow().to_string(),
    };
    let line = format!("    {} {}", pad(&verdict, VERDICT_WIDTH), o.id);
    writeln!(
        out,
        "{line}{}",
        right(
            &line,
            &format!("{} / {}", points(o.points), points(o.max_points))
        )
    )?;
    let indent = " ".repeat(6);
    for line in wrap(&o.claim, WIDTH - indent.len()) {
        writeln!(out, "{indent}{}", line.dimmed())?;
    }
    // Each measured check on its own line; otherwise the reason.
    let measured: Vec<&str> = o
        .checks
        .iter()
        .map(|c| c.summary.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    match o.verdict {
        Verdict::Pass | Verdict::Fail
            if !measured.is_empty() && o.checks.iter().all(|c| c.error.is_none()) =>
        {
            for (check, summary) in o.checks.iter().zip(&measured) {
                let mark = match (o.checks.len(), check.passed) {
                    (1, _) => "",
                    (_, true) => "ok: ",
                    (_, false) => "off: ",
                };
                wrapped(out, &indent, &format!("{mark}{summary}"))?;
            }
        }
        _ => wrapped(out, &indent, &o.reason)?,
    }
    if o.measurements > 1 {
        let note = match o.verdict {
            Verdict::Pass => format!(
                "(passed on measurement {}: the earlier ones did not)",
                o.measurements
            ),
            _ => format!("(measured {} times: none passed)", o.measurements),
        };
        writeln!(out, "{indent}{}", note.dimmed())?;
    }
    if o.verdict == Verdict::Fail {
        if let Some(hint) = &o.hint {
            let mut lines = wrap(&format!("hint: {hint}"), WIDTH - indent.len()).into_iter();
            if let Some(first) = lines.next() {
                writeln!(out, "{indent}{}{}", "hint:".cyan(), &first["hint:".len()..])?;
            }
            for line in lines {
                writeln!(out, "{indent}{line}")?;
            }
        }
    }
    Ok(())
}

fn summary(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let tests: (f64, f64) = report.exercises.iter().fold((0.0, 0.0), |(s, m), e| {
        (s + e.tests.points, m + e.tests.max_points)
    });
    let all_observations = report.exercises.iter().flat_map(|e| &e.observations);
    let observed: (f64, f64) = all_observations
        .clone()
        .fold((0.0, 0.0), |(s, m), o| (s + o.points, m + o.max_points));
    let total = format!(
        "Total: {} / {} points",
        points(report.score),
        points(report.max_score)
    );
    if report.observations_measured {
        writeln!(
            out,
            "{}  (tests {} / {}, observations {} / {})",
            total.bold(),
            points(tests.0),
            points(tests.1),
            points(observed.0),
            points(observed.1)
        )?;
    } else {
        writeln!(
            out,
            "{}  (tests only: observations not measured, --no-observations)",
            total.bold()
        )?;
    }

    let count = |v: Verdict| all_observations.clone().filter(|o| o.verdict == v).count();
    let (skipped, inconclusive) = (count(Verdict::Skipped), count(Verdict::Inconclusive));
    if skipped + inconclusive > 0 {
        let mut parts = Vec::new();
        if skipped > 0 {
            parts.push(format!(
                "{skipped} skipped (this machine has too few cores)"
            ));
        }
        if inconclusive > 0 {
            parts.push(format!(
                "{inconclusive} inconclusive (measurements too noisy to judge)"
            ));
        }
        let line = format!(
            "Not judged: {}. These are the machine's limits, not mistakes.",
            parts.join(", ")
        );
        wrapped(out, "", &line)?;
    }

    let t = &report.timings;
    write!(
        out,
        "Time: build {:.1} s, tests {:.1} s",
        t.build_seconds, t.test_seconds
    )?;
    if report.observations_measured && t.measure_seconds == 0.0 {
        write!(out, ", observations none measured")?;
    } else if report.observations_measured {
        write!(
            out,
            ", observations {:.1} s (harness processes {:.1} s: grader overhead {} %)",
            t.measure_seconds,
            t.harness_seconds,
            percent(t.overhead_percent)
        )?;
    }
    writeln!(out, ", total {:.1} s", t.total_seconds)?;

    let unfinished = report.exercises.iter().find(|e| {
        e.tests.build_error.is_some()
            || e.tests.tests.iter().any(|t| t.status != TestStatus::Passed)
    });
    match unfinished {
        Some(ex) => writeln!(
            out,
            "{} {} ({}): read {}/README.md, then run `cargo test -p {}`.",
            "Next:".cyan().bold(),
            ex.id,
            ex.title,
            ex.dir,
            ex.id
        )?,
        None if report.exercises.iter().all(|e| e.score == e.max_score) => {
            writeln!(out, "{}", "Every point earned.".green().bold())?
        }
        None => writeln!(out, "Every test passes.")?,
    }
    Ok(())
}

/// A percentage with one decimal, two below 1 %.
fn percent(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

/// The lines of a failing test's output worth showing: what the panic said.
pub fn failure_message(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let start = match lines.iter().position(|l| l.contains("panicked at")) {
        Some(i) => i + 1,
        None => 0,
    };
    let message: Vec<&str> = lines[start.min(lines.len())..]
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .take(FAILURE_LINES)
        .collect();
    (!message.is_empty()).then(|| message.join("\n"))
}

/// Write `text` wrapped to [`WIDTH`], each line after `indent`; later lines
/// of one paragraph are indented two more spaces.
fn wrapped(out: &mut String, indent: &str, text: &str) -> std::fmt::Result {
    for (i, line) in wrap(text, WIDTH.saturating_sub(indent.len()))
        .iter()
        .enumerate()
    {
        let more = if i == 0 { "" } else { "  " };
        writeln!(out, "{indent}{more}{line}")?;
    }
    Ok(())
}

/// Break `text` into lines of at most `width` characters at spaces (a
/// longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `right` right-aligned so that it ends at [`WIDTH`], after `left`.
fn right(left: &str, right: &str) -> String {
    let used = visible_len(left) + visible_len(right);
    format!("{}{right}", " ".repeat(WIDTH.saturating_sub(used).max(2)))
}

/// `text` padded to `width` visible characters (colour codes do not count).
fn pad(text: &str, width: usize) -> String {
    format!(
        "{text}{}",
        " ".repeat(width.saturating_sub(visible_len(text)))
    )
}

fn visible_len(text: &str) -> usize {
    anstream::adapter::strip_str(text)
        .to_string()
        .chars()
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_message_is_what_the_panic_said() {
        let output = "\nthread 't' panicked at tests/ex01.rs:3:5:\nnot yet implemented: read README.md\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            failure_message(output).as_deref(),
            Some("not yet implemented: read README.md")
        );
        assert_eq!(failure_message(""), None);
        assert_eq!(
            failure_message("killed after 60 s").as_deref(),
            Some("killed after 60 s")
        );
    }

    #[test]
    fn wrapping_breaks_at_spaces() {
        assert_eq!(
            wrap("one two three four five six", 20),
            ["one two three four", "five six"]
        );
        assert_eq!(wrap("", 20), [""]);
    }
}
