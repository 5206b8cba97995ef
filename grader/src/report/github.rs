//! The result JSON that GitHub Classroom's autograding reporter
//! (`classroom-resources/autograding-grading-reporter`) reads from each
//! runner: `{version, status, max_score, tests: [{name, status, score,
//! message, ...}]}`. The workflow passes it base64-encoded in a step output
//! named `result`; the reporter adds up the tests' scores against max_score.
//! Classroom prints only an `error` test's message, so the workflow that
//! `grader release` writes prints the human report (every reason and hint)
//! in the same step.

use super::Reporter;
use crate::model::{ExerciseReport, GradeReport, ObservationResult, TestStatus, Verdict};
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
            for test in &ex.tests.tests {
                let passed = report.test_earned(ex, test);
                let message = match (&ex.tests.build_error, test.status) {
                    (Some(error), _) => format!(
                        "does not build: {}",
                        error.lines().next().unwrap_or_default()
                    ),
                    (None, TestStatus::Passed) => super::withheld_note(report, &ex.id),
                    (None, TestStatus::TimedOut) => "timed out".to_owned(),
                    (None, TestStatus::NotRun) => "never reported".to_owned(),
                    (None, TestStatus::Failed) => {
                        test.failure.clone().unwrap_or_else(|| "failed".to_owned())
                    }
                };
                tests.push(Test {
                    name: test.name.clone(),
                    status: if passed { "pass" } else { "fail" },
                    score: test.points,
                    message,
                    test_code: format!("cargo test -p {} --test {}", ex.id, ex.id),
                    filename: ex.test_file.clone(),
                    line_no: 0,
                    execution_time: format!("{:.2}s", test.seconds),
                });
            }
            for o in &ex.observations {
                tests.push(observation_test(report, ex, o));
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

fn observation_test(report: &GradeReport, ex: &ExerciseReport, o: &ObservationResult) -> Test {
    let message = match (o.verdict, &o.hint) {
        (Verdict::Pass, _) => String::new(),
        (Verdict::Fail, Some(hint)) => format!("{} Hint: {hint}", o.reason),
        (Verdict::Fail, None) => o.reason.clone(),
        (Verdict::Skipped | Verdict::Inconclusive, _) => format!(
            "{} It was {}: {}",
            super::machine_limit_note(report, o),
            o.verdict.as_str(),
            o.reason
        ),
    };
    Test {
        name: format!("{} observation {}", ex.id, o.id),
        // A machine's limit does not turn the run red; its points count as
        // 0 against max_score or are left out of it, as course.yaml says.
        status: if o.verdict == Verdict::Fail {
            "fail"
        } else {
            "pass"
        },
        score: o.points,
        message,
        test_code: format!("cargo run --release -- --exercise {}", ex.id),
        filename: ex.harness_file.clone(),
        line_no: 0,
        execution_time: String::new(),
    }
}
