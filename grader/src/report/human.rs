//! The report for people: a table per exercise, the measured numbers beside
//! the expectations, hints for what failed, the total, the time it took, and
//! where to start next.

use super::Reporter;
use crate::model::{
    ExerciseReport, GradeReport, Machine, NotMeasuredCause, ObservationResult, ObservationState,
    TestResult, TestStatus, TestsReport, Verdict,
};
use crate::text::short;
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
        let graded = format!(
            "graded: {} · {} {} · 1 time unit = {} ms · {} {}",
            report.target,
            m.cores,
            if m.cores == 1 { "core" } else { "cores" },
            short(m.time_unit_ms),
            m.repeats,
            if m.repeats == 1 { "repeat" } else { "repeats" },
        );
        wrapped(&mut out, "", &graded)?;
        if let Some(line) = machine_line(m) {
            wrapped(&mut out, "", &line)?;
        }
        if let Some(line) = sources_line(m) {
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
    wrapped(
        out,
        "",
        &format!("sandbox: {}{strict}", integrity.isolation),
    )?;
    if !integrity.restored.is_empty() {
        let restored = format!(
            "the instructor's course changed during grading and was restored: {}",
            integrity.restored.join(", ")
        );
        wrapped(out, "", &restored)?;
    }
    Ok(())
}

/// What the source scan flagged in the exercise, what it costs (or would
/// under `--strict`), and how to avoid each flag.
fn flags(out: &mut String, report: &GradeReport, id: &str) -> std::fmt::Result {
    let Some(flagged) = report.integrity.flags_of(id) else {
        return Ok(());
    };
    writeln!(out, "  {}", "source flags:".yellow())?;
    wrapped(out, "    ", &flagged.cost())?;
    for flag in &flagged.flags {
        wrapped(
            out,
            "    ",
            &format!("{}:{}: {}", flag.file, flag.line, flag.what),
        )?;
        if !flag.advice.is_empty() {
            wrapped(out, "      ", &format!("to avoid it: {}", flag.advice))?;
        }
    }
    Ok(())
}

/// `grader doctor`'s facts in one line: the CPU the grader could use and
/// what other programs did while the harnesses ran.
pub(super) fn machine_line(m: &Machine) -> Option<String> {
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

/// Where the harnesses read what other programs did, and what it covers;
/// only when a harness ran.
fn sources_line(m: &Machine) -> Option<String> {
    m.while_measuring.as_ref()?;
    let sources = m.facts.as_ref()?.sources.as_ref()?;
    Some(format!("contention read from: {}", sources.describe()))
}

fn exercise(
    out: &mut String,
    ex: &ExerciseReport,
    observations_measured: bool,
    verbose: bool,
) -> std::fmt::Result {
    let title = format!("{}  {}", ex.id, ex.title);
    let score = format!("{} / {}", short(ex.score), short(ex.max_score));
    writeln!(out, "{}{}", title.bold(), right(&title, &score).bold())?;
    tests(out, &ex.tests)?;
    if !observations_measured || ex.observations.is_empty() {
        return Ok(());
    }
    if shared_cause(&ex.observations) {
        // Observations that all wait for the same thing get one line.
        let max: f64 = ex.observations.iter().map(|o| o.max_points).sum();
        let line = "  observations";
        writeln!(out, "{line}{}", right(line, &format!("0 / {}", short(max))))?;
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
            &format!("{} / {}", short(t.points), short(t.max_points))
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
        if t.stub_src {
            wrapped(
                out,
                "    ",
                "not started yet: src/ is still the course's stubs (the tests were not run: each one fails at a todo!())",
            )?;
        } else {
            writeln!(out, "    not started yet: every test fails")?;
        }
        if let Some(message) = t.tests.iter().find_map(|t| t.failure.as_deref()) {
            let first = message.lines().next().unwrap_or_default();
            wrapped(out, "    ", &format!("first failure: {first}"))?;
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
            for part in wrap(line, WIDTH - 11) {
                writeln!(out, "           {}", part.dimmed())?;
            }
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
            &format!("{} / {}", short(o.points), short(o.max_points))
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
        short(report.score),
        short(report.max_score)
    );
    if report.observations_measured {
        writeln!(
            out,
            "{}  (tests {} / {}, observations {} / {})",
            total.bold(),
            short(tests.0),
            short(tests.1),
            short(observed.0),
            short(observed.1)
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
    let mut line = format!(
        "Time: build {:.1} s, tests {:.1} s",
        t.build_seconds, t.test_seconds
    );
    if report.observations_measured && t.measure_seconds == 0.0 {
        line.push_str(", observations none measured");
    } else if report.observations_measured {
        line.push_str(&format!(
            ", observations {:.1} s (harness processes {:.1} s: grader overhead {} %)",
            t.measure_seconds,
            t.harness_seconds,
            percent(t.overhead_percent)
        ));
    }
    line.push_str(&format!(", total {:.1} s", t.total_seconds));
    wrapped(out, "", &line)
}

/// Where to start next, or that every point was earned.
fn next(out: &mut String, report: &GradeReport) -> std::fmt::Result {
    let unfinished = report.exercises.iter().find(|e| {
        e.tests.build_error.is_some()
            || e.tests.tests.iter().any(|t| t.status != TestStatus::Passed)
    });
    match unfinished {
        Some(ex) => {
            let next = format!(
                "Next: {} ({}): read {}/README.md, then run `cargo test -p {}`.",
                ex.id, ex.title, ex.dir, ex.id
            );
            let mut lines = wrap(&next, WIDTH).into_iter();
            let first = lines.next().unwrap_or_default();
            let rest = first.strip_prefix("Next:").unwrap_or(&first);
            writeln!(out, "{}{rest}", "Next:".cyan().bold())?;
            lines.try_for_each(|line| writeln!(out, "  {line}"))
        }
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
    textwrap::wrap(&glue_units(text), options)
        .into_iter()
        .map(|line| line.replace(GLUE, " "))
        .collect()
}

/// Holds a number and its unit on one line when wrapping splits only at
/// ASCII spaces ("8.8 time units", "19.0 s", "5.0 %").
const GLUE: char = '\u{a0}';

fn glue_units(text: &str) -> String {
    let mut glued = text.replace("time units", &format!("time{GLUE}units"));
    for unit in ["time", "ms", "s", "%"] {
        for digit in '0'..='9' {
            glued = glued.replace(&format!("{digit} {unit}"), &format!("{digit}{GLUE}{unit}"));
        }
    }
    glued
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
        assert_eq!(
            wrap("expected 7.9 to 8.8 time units, 19.0 s in all", 24),
            ["expected 7.9 to", "8.8 time units, 19.0 s", "in all"]
        );
        let long = "a".repeat(30);
        assert_eq!(wrap(&format!("x {long} y"), 20), ["x", long.as_str(), "y"]);
        assert_eq!(visible_len(&"FAIL".red().bold().to_string()), 4);
    }

    #[test]
    fn the_report_fits_80_columns() {
        use crate::report::fixtures;
        let mut busy = fixtures::mixed();
        busy.machine.facts = Some(protocol::machine::Facts {
            available_parallelism: 2,
            online_cpus: Some(2),
            affinity: Some("0-1".into()),
            affinity_cpus: Some(2),
            quota: None,
            sources: None,
        });
        busy.machine.while_measuring = Some(protocol::machine::Contention {
            seconds: 10.0,
            others_cpu_seconds: Some(9.5),
            cpu_pressure_seconds: Some(4.0),
            throttled_seconds: Some(0.0),
            own_cpu_seconds: None,
        });
        busy.integrity.isolation = "isolated (bubblewrap: own PID, network and mount namespaces; student code runs as nobody with resource limits)".into();
        let long = "assertion `left == right` failed: pool_map must return one result per item, in input order, whoever computed it";
        busy.exercises[0].tests.tests[1].failure = Some(long.into());
        for report in [
            busy,
            fixtures::perfect(),
            fixtures::processes_one_at_a_time(),
        ] {
            for verbose in [false, true] {
                let text = Human { verbose }.render(&report).unwrap();
                for line in text.lines() {
                    assert!(
                        visible_len(line) <= 80,
                        "{} columns: {line:?}",
                        visible_len(line)
                    );
                }
            }
        }
    }

    #[test]
    fn the_header_carries_the_machine_in_one_line() {
        use protocol::machine::{Contention, Facts, Quota, Sources};
        let mut m = Machine {
            cores: 2,
            time_unit_ms: 50.0,
            repeats: 3,
            facts: None,
            while_measuring: None,
            busy: None,
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
            sources: None,
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
        assert_eq!(sources_line(&m), None);
        m.facts.as_mut().unwrap().sources = Some(Sources {
            others_cpu: Some("cpu0".into()),
            shared_cpus: 1,
            pressure: Some("/proc/pressure/cpu".into()),
            own_pressure: false,
            throttle: Some("/sys/fs/cgroup/cpu/cpu.stat throttled_time".into()),
        });
        assert_eq!(
            sources_line(&m).unwrap(),
            "contention read from: others' CPU: /proc/stat cpu0 (the CPUs this process may \
             run on), out of 1 core; CPU pressure: /proc/pressure/cpu (the whole machine); \
             throttling: /sys/fs/cgroup/cpu/cpu.stat throttled_time"
        );
    }
}
