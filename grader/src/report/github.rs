//! The result JSON that GitHub Classroom's autograding reporter
//! (`classroom-resources/autograding-grading-reporter`) reads from each
//! runner: `{version, status, max_score, tests: [{name, status, score,
//! message, ...}]}`. The workflow passes it base64-encoded in a step output
//! named `result`; the reporter adds up the tests' scores against max_score.

use super::Reporter;
use crate::model::{GradeReport, TestStatus, Verdict};
use serde::Serialize;

pub struct Github;

#[derive(Serialize)]
struct RunnerResult {
    version: u32,
    status: &'static str,
    max_score: f64,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    status: &'static str,
    score: f64,
    message: String,
    test_code: String,
    filename: String,
    line_no: u32,
    execution_time: String,
}

impl Reporter for Github {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let mut tests = Vec::new();
        for ex in &report.exercises {
            let n = ex.tests.tests.len().max(1) as f64;
            for test in &ex.tests.tests {
                let withheld = super::points_withheld(report, &ex.id);
                let passed = test.status == TestStatus::Passed
                    && ex.tests.build_error.is_none()
                    && !withheld;
                let message = match (&ex.tests.build_error, test.status) {
                    (None, TestStatus::Passed) if withheld => format!(
                        "{}: {}",
                        super::POINTS_WITHHELD,
                        super::flag_lines(report, &ex.id).join("; ")
                    ),
                    (Some(error), _) => format!(
                        "does not build: {}",
                        error.lines().next().unwrap_or_default()
                    ),
                    (None, TestStatus::Passed) => String::new(),
                    (None, TestStatus::TimedOut) => "timed out".to_owned(),
                    (None, TestStatus::NotRun) => "never reported".to_owned(),
                    (None, TestStatus::Failed) => {
                        super::failure_message(&test.output).unwrap_or_else(|| "failed".to_owned())
                    }
                };
                tests.push(Test {
                    name: test.name.clone(),
                    status: if passed { "pass" } else { "fail" },
                    score: if passed { ex.tests.max_points / n } else { 0.0 },
                    message,
                    test_code: format!("cargo test -p {} --test {}", ex.id, ex.id),
                    filename: format!("{}/tests/{}.rs", ex.dir, ex.id),
                    line_no: 0,
                    execution_time: format!("{:.2}s", test.seconds),
                });
            }
            for o in &ex.observations {
                let mut message = match o.verdict {
                    Verdict::Pass => String::new(),
                    _ => o.reason.clone(),
                };
                if let (Verdict::Fail, Some(hint)) = (o.verdict, &o.hint) {
                    message.push_str(&format!(" Hint: {hint}"));
                }
                tests.push(Test {
                    name: format!("{} observation {}", ex.id, o.id),
                    status: if o.verdict == Verdict::Pass {
                        "pass"
                    } else {
                        "fail"
                    },
                    score: o.points,
                    message,
                    test_code: format!("cargo run --release -- --exercise {}", ex.id),
                    filename: format!("{}/benches/observe.rs", ex.dir),
                    line_no: 0,
                    execution_time: String::new(),
                });
            }
        }
        let all_pass = tests.iter().all(|t| t.status == "pass");
        let result = RunnerResult {
            version: 1,
            status: if all_pass { "pass" } else { "fail" },
            max_score: report.max_score,
            tests,
        };
        Ok(serde_json::to_string_pretty(&result)? + "\n")
    }
}
