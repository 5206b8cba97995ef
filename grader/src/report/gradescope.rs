//! Gradescope's `results.json`: a test per exercise test and per
//! observation, each with its points, and the total.

use super::Reporter;
use crate::model::{GradeReport, TestStatus, Verdict};
use crate::text::short;
use serde::Serialize;

pub struct Gradescope;

#[derive(Serialize)]
struct Results {
    score: f64,
    execution_time: u64,
    output: String,
    /// Plain text: Gradescope would read the output as HTML otherwise.
    output_format: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    name_format: &'static str,
    score: f64,
    max_score: f64,
    /// `None` for an observation the machine could not judge: Gradescope
    /// then goes by the score alone, so it is not marked as the student's
    /// failure (and a test out of 0 under `leave_out` is not red).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    output: String,
    output_format: &'static str,
    tags: Vec<String>,
    visibility: &'static str,
}

impl Reporter for Gradescope {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let mut tests = Vec::new();
        for ex in &report.exercises {
            for test in &ex.tests.tests {
                let passed = report.test_earned(ex, test);
                let output = match (&ex.tests.build_error, test.status) {
                    (Some(error), _) => format!("The exercise does not build:\n{error}"),
                    (None, TestStatus::Passed) => super::withheld_note(report, &ex.id),
                    (None, TestStatus::TimedOut) => format!("Timed out.\n{}", test.output),
                    (None, TestStatus::NotRun) => {
                        "Never reported: the test process exited early.".to_owned()
                    }
                    (None, TestStatus::Failed) => test.output.clone(),
                };
                tests.push(Test {
                    name: format!("{} test {}", ex.id, test.name),
                    name_format: "text",
                    score: test.points,
                    max_score: test.max_points,
                    status: Some(if passed { "passed" } else { "failed" }),
                    output,
                    output_format: "text",
                    tags: vec![ex.id.clone(), "test".to_owned()],
                    visibility: "visible",
                });
            }
            for o in &ex.observations {
                let mut output = format!("{}\n{}: {}", o.claim, o.verdict.as_str(), o.reason);
                if o.verdict.is_machine_limit() {
                    output.push('\n');
                    output.push_str(&super::machine_limit_note(report, o));
                } else if let Some(hint) = o.hint.as_ref().filter(|_| o.verdict != Verdict::Pass) {
                    output.push_str(&format!("\nHint: {hint}"));
                }
                tests.push(Test {
                    name: format!("{} observation {}", ex.id, o.id),
                    name_format: "text",
                    score: o.points,
                    max_score: o.max_points,
                    status: if o.verdict.is_machine_limit() {
                        None
                    } else if o.verdict == Verdict::Pass {
                        Some("passed")
                    } else {
                        Some("failed")
                    },
                    output,
                    output_format: "text",
                    tags: vec![ex.id.clone(), "observation".to_owned()],
                    visibility: "visible",
                });
            }
        }
        let results = Results {
            score: report.score,
            execution_time: report.timings.total_seconds.max(0.0).round() as u64,
            output: summary(report) + &integrity_text(report),
            output_format: "text",
            tests,
        };
        Ok(serde_json::to_string_pretty(&results)? + "\n")
    }
}

/// The results' top-level output: the score, the machine, what it could not
/// measure, and whether the instructor's files still match the release.
fn summary(report: &GradeReport) -> String {
    let mut text = format!(
        "{}: {} / {} points, graded on {} cores at 1 time unit = {} ms.",
        report.course,
        short(report.score),
        short(report.max_score),
        report.machine.cores,
        short(report.machine.time_unit_ms)
    );
    if let Some(line) = super::machine_limits_line(report) {
        text.push('\n');
        text.push_str(&line);
    }
    if let Some(files) = &report.instructor_files {
        text.push('\n');
        text.push_str(&super::instructor_files_line(files));
    }
    text
}

/// The sandbox and every source flag, for the results' top-level output.
fn integrity_text(report: &GradeReport) -> String {
    if report.integrity.is_unknown() {
        return String::new();
    }
    let mut text = format!("\nSandbox: {}.", report.integrity.isolation);
    for ex in &report.exercises {
        if let Some(cost) = super::flag_cost(report, &ex.id) {
            text.push_str(&format!("\nSource flags of {}: {cost}.", ex.id));
        }
        for line in super::flag_lines(report, &ex.id) {
            text.push_str(&format!("\nSource flag: {line}"));
        }
    }
    text
}
