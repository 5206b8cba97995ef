//! What GitHub Classroom's autograding reporter
//! (`classroom-resources/autograding-grading-reporter@v1`) reads: for each
//! runner named in its `runners` input, the environment variable
//! `<RUNNER>_RESULTS`, base64 of `{version, status, max_score, tests: [{name,
//! status, score, message, ...}]}`.
//!
//! The reporter records the sum of the tests' `score`s out of the sum of the
//! runners' `max_score`s, but prints, per runner, (tests passed / tests) x
//! `max_score`, and a total of those. Tests of unequal points would make the
//! two disagree, so every scoring unit (a test, an observation) is a runner
//! of its own holding one test: passed with its points, or not with 0. The
//! printed total is then the recorded one, to the last bit.
//!
//! The format is what the workflow `grader release` writes appends to
//! `$GITHUB_ENV`: `GRADER_RUNNERS=<runner>,<runner>,...`, then a
//! `<RUNNER>_RESULTS=<base64>` line per runner. Classroom prints only an
//! `error` test's message, so that workflow prints the human report (every
//! reason and hint) in the same step.

use super::Reporter;
use crate::model::{ExerciseReport, GradeReport, ObservationResult, TestStatus, Verdict};
use serde::Serialize;
use std::collections::HashSet;

pub struct Github;

/// The `$GITHUB_ENV` variable naming the runners, which the workflow hands
/// to the reporter's `runners` input.
pub const RUNNERS_VARIABLE: &str = "GRADER_RUNNERS";

/// A failure message longer than this is cut: the reporter does not print
/// a failed test's message, and an environment variable has a size limit.
const MESSAGE_LIMIT: usize = 1000;

/// One runner: its name in the `runners` input and the result it reads.
#[derive(Serialize)]
pub struct Runner {
    pub name: String,
    pub result: RunnerResult,
}

#[derive(Serialize)]
pub struct RunnerResult {
    version: u32,
    status: &'static str,
    pub max_score: f64,
    pub tests: Vec<Test>,
}

#[derive(Serialize)]
pub struct Test {
    name: String,
    status: &'static str,
    pub score: f64,
    message: String,
    test_code: String,
    filename: String,
    line_no: u32,
    execution_time: String,
}

impl Reporter for Github {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let runners = runners(report);
        let names: Vec<&str> = runners.iter().map(|r| r.name.as_str()).collect();
        let mut text = format!("{RUNNERS_VARIABLE}={}\n", names.join(","));
        for runner in &runners {
            text.push_str(&results_line(&runner.name, &runner.result)?);
        }
        Ok(text)
    }
}

/// `<RUNNER>_RESULTS=<base64 of result>`, the variable the reporter reads
/// for runner `name`.
pub fn results_line(name: &str, result: &RunnerResult) -> anyhow::Result<String> {
    let json = serde_json::to_string(result)?;
    Ok(format!(
        "{}_RESULTS={}\n",
        name.to_ascii_uppercase(),
        base64(json.as_bytes())
    ))
}

/// A result for a grading that did not happen: one `error` test that says
/// why, earning 0 of `max_score` (the course's maximum), which the reporter
/// records as such.
pub fn could_not_grade(max_score: f64, reason: &str) -> RunnerResult {
    RunnerResult {
        version: 1,
        status: "error",
        max_score,
        tests: vec![Test {
            name: "grading".to_owned(),
            status: "error",
            score: 0.0,
            message: reason.to_owned(),
            test_code: String::new(),
            filename: String::new(),
            line_no: 0,
            execution_time: String::new(),
        }],
    }
}

/// A runner per test and per observation, in the report's order.
pub fn runners(report: &GradeReport) -> Vec<Runner> {
    let mut taken = HashSet::new();
    let mut runners = Vec::new();
    for ex in &report.exercises {
        for (i, test) in ex.tests.tests.iter().enumerate() {
            let passed = report.test_earned(ex, test);
            let one = Test {
                name: test.name.clone(),
                status: if passed { "pass" } else { "fail" },
                score: test.points,
                message: capped(test_message(report, ex, test)),
                test_code: format!("cargo test -p {} --test {}", ex.id, ex.id),
                filename: ex.test_file.clone(),
                line_no: 0,
                execution_time: format!("{:.2}s", test.seconds),
            };
            let name = runner_name(&mut taken, &ex.id, "test", i + 1);
            runners.push(runner(name, test.max_points, one, passed));
        }
        for (i, o) in ex.observations.iter().enumerate() {
            // A machine's limit does not turn the run red, but it earns
            // nothing: its test is not passed (the reporter counts a passed
            // test as all of max_score), its runner is.
            let name = runner_name(&mut taken, &ex.id, "obs", i + 1);
            let one = observation_test(report, ex, o);
            runners.push(runner(name, o.max_points, one, o.verdict != Verdict::Fail));
        }
    }
    runners
}

fn runner(name: String, max_score: f64, test: Test, runner_passed: bool) -> Runner {
    Runner {
        name,
        result: RunnerResult {
            version: 1,
            status: if runner_passed { "pass" } else { "fail" },
            max_score,
            tests: vec![test],
        },
    }
}

/// `ex01test3`: letters and digits only, as the reporter's `runners` input
/// and an environment variable's name allow; unique within `taken`.
fn runner_name(taken: &mut HashSet<String>, exercise: &str, kind: &str, n: usize) -> String {
    let exercise: String = exercise
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let base = format!("{exercise}{kind}{n}");
    let mut name = base.clone();
    let mut again = 1;
    while !taken.insert(name.clone()) {
        again += 1;
        name = format!("{base}x{again}");
    }
    name
}

fn test_message(
    report: &GradeReport,
    ex: &ExerciseReport,
    test: &crate::model::TestResult,
) -> String {
    match (&ex.tests.build_error, test.status) {
        (Some(error), _) => format!(
            "does not build: {}",
            error.lines().next().unwrap_or_default()
        ),
        (None, TestStatus::Passed) => super::withheld_note(report, &ex.id),
        (None, TestStatus::TimedOut) => "timed out".to_owned(),
        (None, TestStatus::NotRun) => "never reported".to_owned(),
        (None, TestStatus::Failed) => test.failure.clone().unwrap_or_else(|| "failed".to_owned()),
    }
}

fn observation_test(report: &GradeReport, ex: &ExerciseReport, o: &ObservationResult) -> Test {
    let limit = o.verdict.is_machine_limit();
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
        // The reporter prints names only: the name says it was the machine.
        name: if limit {
            format!(
                "{} observation {} ({} on this machine: its limit, not the code's)",
                ex.id,
                o.id,
                o.verdict.as_str()
            )
        } else {
            format!("{} observation {}", ex.id, o.id)
        },
        status: if o.verdict == Verdict::Pass {
            "pass"
        } else {
            "fail"
        },
        score: o.points,
        message: capped(message),
        test_code: format!("cargo run --release -- --exercise {}", ex.id),
        filename: ex.harness_file.clone(),
        line_no: 0,
        execution_time: String::new(),
    }
}

/// `text` cut to [`MESSAGE_LIMIT`] characters.
fn capped(text: String) -> String {
    match text.char_indices().nth(MESSAGE_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// Standard base64 with padding, as the reporter's `Buffer.from(s, "base64")`
/// reads it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(group >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every runner's one test in a single list, and the runners' summed
/// maximum: what the reporter records, for the reporters' shared tests.
#[cfg(test)]
pub(crate) fn recorded(report: &GradeReport) -> serde_json::Value {
    let runners = runners(report);
    let tests: Vec<&Test> = runners.iter().flat_map(|r| &r.result.tests).collect();
    let max_score: f64 = runners.iter().map(|r| r.result.max_score).sum();
    serde_json::json!({ "max_score": max_score, "tests": tests })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MachineLimitRule;
    use crate::report::fixtures;

    /// The reporter's arithmetic (`src/console-results.js`,
    /// `src/aggregate-results.js`, `src/notify-classroom.js`): what it prints
    /// as the total, and the points and maximum it records.
    fn reporter_totals(runners: &[Runner]) -> (f64, f64, f64) {
        let mut printed = 0.0;
        let (mut recorded, mut max) = (0.0, 0.0);
        for r in runners.iter().map(|r| &r.result) {
            let passed = r.tests.iter().filter(|t| t.status == "pass").count() as f64;
            printed += passed / r.tests.len() as f64 * r.max_score;
            if r.max_score != 0.0 {
                max += r.max_score;
                recorded += r.tests.iter().map(|t| t.score).sum::<f64>();
            }
        }
        (printed, recorded, max)
    }

    #[test]
    fn the_printed_total_is_the_recorded_one_under_either_rule() {
        for rule in [MachineLimitRule::KeepAsZero, MachineLimitRule::LeaveOut] {
            let report = fixtures::mixed_under(rule);
            let (printed, recorded, max) = reporter_totals(&runners(&report));
            assert_eq!(printed, recorded, "{rule:?}");
            assert_eq!(
                (recorded, max),
                (report.score, report.max_score),
                "{rule:?}"
            );
        }
        let mut report = fixtures::perfect();
        let ex = &mut report.exercises[0];
        let passed = ex.tests.tests[0].clone();
        let mut failed = passed.clone();
        failed.status = TestStatus::Failed;
        // 70 points over 3 tests: shares of 23.34375, 23.328125, 23.328125;
        // the larger one lost.
        ex.tests =
            crate::model::points::tests_report(70.0, None, vec![failed, passed.clone(), passed]);
        let (printed, recorded, max) = reporter_totals(&runners(&report));
        assert_eq!((printed, recorded), (46.65625 + 2.0, 46.65625 + 2.0));
        assert_eq!(max, 72.0);
    }

    #[test]
    fn a_machine_limit_earns_nothing_but_does_not_fail_the_run() {
        let runners = runners(&fixtures::mixed());
        let limited: Vec<&Runner> = runners
            .iter()
            .filter(|r| r.result.tests[0].name.contains("on this machine"))
            .collect();
        assert_eq!(limited.len(), 2);
        for r in limited {
            assert_eq!(r.result.status, "pass");
            assert_eq!(
                (r.result.tests[0].status, r.result.tests[0].score),
                ("fail", 0.0)
            );
            assert!(r.result.max_score > 0.0, "kept in the maximum as 0");
        }
    }

    #[test]
    fn runner_names_are_letters_and_digits_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(runner_name(&mut taken, "ex-01", "test", 1), "ex01test1");
        assert_eq!(runner_name(&mut taken, "ex_01", "test", 1), "ex01test1x2");
        let names: Vec<String> = runners(&fixtures::mixed())
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric())));
        assert_eq!(names.len(), names.iter().collect::<HashSet<_>>().len());
    }

    #[test]
    fn the_output_is_the_environment_file_the_reporter_reads() {
        let text = Github.render(&fixtures::mixed()).unwrap();
        let mut lines = text.lines();
        let names = lines
            .next()
            .unwrap()
            .strip_prefix("GRADER_RUNNERS=")
            .unwrap();
        let variables: Vec<&str> = lines.map(|l| l.split('=').next().unwrap()).collect();
        let expected: Vec<String> = names
            .split(',')
            .map(|n| format!("{}_RESULTS", n.to_uppercase()))
            .collect();
        assert_eq!(variables, expected);
    }

    #[test]
    fn base64_pads_as_the_standard_says() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn a_long_message_is_cut() {
        let long = "x".repeat(MESSAGE_LIMIT + 5);
        assert_eq!(capped(long).chars().count(), MESSAGE_LIMIT + 3);
        assert_eq!(capped("short".into()), "short");
    }
}
