//! The report for people: a table per exercise, the measured numbers beside
//! the expectations, hints for what failed, the total, the time it took, and
//! where to start next.

use super::{points, Reporter};
use crate::model::{
    ExerciseReport, GradeReport, Machine, NotMeasuredCause, ObservationResult, ObservationState,
    TestResult, TestStatus, TestsReport, Verdict,
};
use common::trace::timeline;
use owo_colors::OwoColorize;
use std::fmt::Write;

/// Where the points column ends.
const WIDTH: usize = 78;
const VERDICT_WIDTH: usize = 13;

pub struct Human {
    /// Draw every recorded schedule, not only those of failed observations.
    pub verbose: bool,
}

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
        if let Some(line) = machine_line(m) {
            writeln!(out, "{line}")?;
        }
        integrity(&mut out, report)?;
        for ex in &report.exercises {
            out.push('\n');
            exercise(&mut out, ex, report.observations_measured, self.verbose)?;
            flags(&mut out, report, &ex.id)?;
        }
        out.push('\n');
        summary(&mut out, report)?;
        if let Some(files) = &report.instructor_files {
            writeln!(out, "{}", super::instructor_files_line(files))?;
        }
        Ok(out)
    }
}

/// The sandbox line of the header (absent from reports made before it).
fn integrity(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let integrity = &report.integrity;
    if integrity.is_unknown() {
        return Ok(());
    }
    let strict = if integrity.strict { " · strict" } else { "" };
    writeln!(out, "sandbox: {}{strict}", integrity.isolation)?;
    if !integrity.restored.is_empty() {
        writeln!(
            out,
            "the instructor's course changed during grading and was restored: {}",
            integrity.restored.join(", ")
        )?;
    }
    Ok(())
}

/// What the source scan flagged in the exercise, and what it cost.
fn flags(out: &mut String, report: &GradeReport, id: &str) -> std::fmt::Result {
    let lines = super::flag_lines(report, id);
    if lines.is_empty() {
        return Ok(());
    }
    let cost = if super::points_withheld(report, id) {
        super::POINTS_WITHHELD
    } else {
        "reported only (not --strict)"
    };
    writeln!(out, "  {} {cost}", "source flags:".yellow())?;
    for line in lines {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

/// `grader doctor`'s facts in one line: the CPU the grader could use and
/// what other programs did while the harnesses ran.
fn machine_line(m: &Machine) -> Option<String> {
    let facts = m.facts.as_ref().map(|f| f.describe());
    let busy = m
        .while_measuring
        .as_ref()
        .map(|c| format!("while measuring, {}", c.describe()));
    match (facts, busy) {
        (None, None) => None,
        (Some(f), None) => Some(format!("machine: {f}")),
        (None, Some(b)) => Some(format!("machine: {b}")),
        (Some(f), Some(b)) => Some(format!("machine: {f}; {b}")),
    }
}

fn exercise(
    out: &mut String,
    ex: &ExerciseReport,
    observations_measured: bool,
    verbose: bool,
) -> std::fmt::Result {
    let title = format!("{}  {}", ex.id, ex.title);
    let score = format!("{} / {}", points(ex.score), points(ex.max_score));
    writeln!(out, "{}{}", title.bold(), right(&title, &score).bold())?;
    tests(out, &ex.tests)?;
    if !observations_measured || ex.observations.is_empty() {
        return Ok(());
    }
    if shared_cause(&ex.observations) {
        // Observations that all wait for the same thing get one line.
        let max: f64 = ex.observations.iter().map(|o| o.max_points).sum();
        let line = "  observations";
        writeln!(
            out,
            "{line}{}",
            right(line, &format!("0 / {}", points(max)))
        )?;
        return wrapped(out, "    ", &ex.observations[0].reason);
    }
    writeln!(out, "  observations")?;
    for o in &ex.observations {
        observation(out, o)?;
        if verbose || (o.verdict == Verdict::Fail && o.state == ObservationState::Measured) {
            schedules(out, o)?;
        }
    }
    let passed = passed(&ex.tests);
    let some_tests_failed = passed < ex.tests.tests.len() || ex.tests.build_error.is_some();
    if some_tests_failed && passed > 0 && !ex.hints.is_empty() {
        writeln!(out, "  hints")?;
        for hint in &ex.hints {
            wrapped(out, "    ", &format!("- {hint}"))?;
        }
    }
    Ok(())
}

fn passed(tests: &TestsReport) -> usize {
    tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count()
}

/// Whether every observation waits for the same thing (a build, a passing
/// test, a working harness).
fn shared_cause(observations: &[ObservationResult]) -> bool {
    let first = &observations[0];
    matches!(
        &first.state,
        ObservationState::NotMeasured { cause } if !matches!(cause, NotMeasuredCause::Metric(_))
    ) && observations.iter().all(|o| o.state == first.state)
}

/// The tests line, then the compiler's error, one line for a fresh stub, or
/// each test with what failed.
fn tests(out: &mut String, t: &TestsReport) -> std::fmt::Result {
    let passed = passed(t);
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
        writeln!(out, "    not started yet: every test fails")?;
        if let Some(message) = t.tests.iter().find_map(|t| t.failure.as_deref()) {
            writeln!(
                out,
                "    first failure: {}",
                message.lines().next().unwrap_or_default()
            )?;
        }
    } else {
        for test in &t.tests {
            test_line(out, test)?;
        }
    }
    Ok(())
}

fn test_line(out: &mut String, test: &TestResult) -> std::fmt::Result {
    let fail = || "FAIL".red().bold().to_string();
    let (mark, name) = match test.status {
        TestStatus::Passed => ("pass".green().to_string(), test.name.clone()),
        TestStatus::Failed => (fail(), test.name.clone()),
        TestStatus::TimedOut => (fail(), format!("{} (timed out)", test.name)),
        TestStatus::NotRun => (fail(), format!("{} (never reported)", test.name)),
    };
    writeln!(out, "    {} {name}", pad(&mark, 4))?;
    if let (false, Some(message)) = (test.status == TestStatus::Passed, &test.failure) {
        for line in message.lines() {
            writeln!(out, "           {}", line.dimmed())?;
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
    match o.state {
        ObservationState::Measured if !measured.is_empty() => {
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

/// The schedules recorded behind `o`, as text timelines: what the student's
/// code did, to read beside what the observation expected.
fn schedules(out: &mut String, o: &ObservationResult) -> std::fmt::Result {
    let indent = " ".repeat(6);
    // The lane names and the two bars take 6 columns.
    let width = WIDTH - indent.len() - 6;
    for trace in &o.recorded.traces {
        writeln!(
            out,
            "{indent}{}",
            format!("schedule of {}:", trace.name).dimmed()
        )?;
        for line in timeline(&trace.spans, width).lines() {
            writeln!(out, "{indent}{line}")?;
        }
    }
    Ok(())
}

fn summary(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    total(out, report)?;
    not_judged(out, report)?;
    time(out, report)?;
    next(out, report)
}

/// The total, with tests and observations apart.
fn total(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let tests: (f64, f64) = report.exercises.iter().fold((0.0, 0.0), |(s, m), e| {
        (s + e.tests.points, m + e.tests.max_points)
    });
    let observed: (f64, f64) = report
        .exercises
        .iter()
        .flat_map(|e| &e.observations)
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
        )
    } else {
        writeln!(
            out,
            "{}  (tests only: observations not measured, --no-observations)",
            total.bold()
        )
    }
}

/// What the machine could not judge, apart from the student's mistakes.
fn not_judged(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let count = |v: Verdict| {
        report
            .exercises
            .iter()
            .flat_map(|e| &e.observations)
            .filter(|o| o.verdict == v)
            .count()
    };
    let (skipped, inconclusive) = (count(Verdict::Skipped), count(Verdict::Inconclusive));
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
    if parts.is_empty() {
        return Ok(());
    }
    let why = super::machine_limits_line(report)
        .unwrap_or_else(|| "These are the machine's limits, not mistakes.".to_owned());
    let line = format!("Not judged: {}. {why}", parts.join(", "));
    wrapped(out, "", &line)
}

fn time(out: &mut String, report: &GradeReport) -> std::fmt::Result {
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
    writeln!(out, ", total {:.1} s", t.total_seconds)
}

/// Where to start next, or that every point was earned.
fn next(out: &mut String, report: &GradeReport) -> std::fmt::Result {
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
        ),
        None if report.exercises.iter().all(|e| e.score == e.max_score) => {
            writeln!(out, "{}", "Every point earned.".green().bold())
        }
        None => writeln!(out, "Every test passes."),
    }
}

/// A percentage with one decimal, two below 1 %.
fn percent(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
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
/// longer word gets a line of its own, whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width.max(20))
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    textwrap::wrap(text, options)
        .into_iter()
        .map(std::borrow::Cow::into_owned)
        .collect()
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

/// Characters on screen: colour codes do not count.
fn visible_len(text: &str) -> usize {
    textwrap::core::display_width(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces() {
        assert_eq!(
            wrap("one two three four five six", 20),
            ["one two three four", "five six"]
        );
        assert_eq!(wrap("", 20), [""]);
        let long = "a".repeat(30);
        assert_eq!(wrap(&format!("x {long} y"), 20), ["x", long.as_str(), "y"]);
        assert_eq!(visible_len(&"FAIL".red().bold().to_string()), 4);
    }

    #[test]
    fn the_header_carries_the_machine_in_one_line() {
        use protocol::machine::{Contention, Facts, Quota};
        let mut m = Machine {
            cores: 2,
            time_unit_ms: 50.0,
            repeats: 3,
            facts: None,
            while_measuring: None,
        };
        assert_eq!(machine_line(&m), None);
        m.facts = Some(Facts {
            available_parallelism: 1,
            online_cpus: Some(2),
            affinity: Some("0".into()),
            affinity_cpus: Some(1),
            quota: Some(Quota {
                cores: None,
                source: "cgroup v2 cpu.max".into(),
            }),
        });
        m.while_measuring = Some(Contention {
            seconds: 10.0,
            others_cpu_seconds: Some(9.5),
            cpu_pressure_seconds: Some(4.0),
            throttled_seconds: Some(0.0),
            own_cpu_seconds: None,
        });
        assert_eq!(
            machine_line(&m).unwrap(),
            "machine: 1 of 2 CPUs usable (affinity 0), no CPU quota; while measuring, \
             other programs used 0.95 cores, tasks waited for a CPU 40% of the time"
        );
    }
}
