//! JUnit XML (GitLab, Jenkins): a test suite per exercise, a test case per
//! test and per observation. An observation the machine could not judge
//! (skipped, inconclusive) is a skipped test case with the reason.
//!
//! Reasons go in the elements' content too: GitLab shows the content of a
//! failure or skip and ignores its `message`. Each suite counts its skipped
//! cases in `skipped` (Jenkins' schema) and has a `time`; test names carry no
//! points, so a test's history survives a change of points. The output is
//! valid against Jenkins' `junit-10.xsd` (grader/tests/junit_schema.rs), so
//! quick-junit's `disabled` attribute, which that schema rejects, is dropped.

use super::Reporter;
use crate::model::{
    ExerciseReport, GradeReport, ObservationResult, TestResult, TestStatus, Verdict,
};
use crate::text::short;
use quick_junit::XmlString;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub struct Junit;

impl Reporter for Junit {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let mut junit = Report::new(format!("{} ({})", report.course, report.target));
        junit.set_time(Duration::from_secs_f64(
            report.timings.total_seconds.max(0.0),
        ));
        for ex in &report.exercises {
            let mut suite = TestSuite::new(format!("{} {}", ex.id, ex.title));
            let mut skipped = 0;
            if !report.integrity.is_unknown() {
                suite.add_property(("sandbox", report.integrity.isolation.as_str()));
            }
            for test in &ex.tests.tests {
                suite.add_test_case(test_case(ex, test));
            }
            for o in &ex.observations {
                if matches!(o.verdict, Verdict::Skipped | Verdict::Inconclusive) {
                    skipped += 1;
                }
                suite.add_test_case(observation_case(ex, o));
            }
            suite.set_time(Duration::from_secs_f64(
                ex.tests.tests.iter().map(|t| t.seconds.max(0.0)).sum(),
            ));
            suite.extra.insert(
                XmlString::new("skipped"),
                XmlString::new(skipped.to_string()),
            );
            let flags = super::flag_lines(report, &ex.id);
            if !flags.is_empty() {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(super::flag_cost(report, &ex.id).unwrap_or_default());
                status.set_description(flags.join("\n"));
                let mut case = TestCase::new("source scan", status);
                case.set_classname(format!("{}.integrity", ex.id));
                suite.add_test_case(case);
            }
            junit.add_test_suite(suite);
        }
        Ok(without_disabled(&junit.to_string()?))
    }
}

/// `xml` without the `disabled` attribute quick-junit writes on every
/// `<testsuite>`: Jenkins' schema has no such attribute, and `skipped`
/// already counts those cases. Attribute values and text have their quotes
/// and `<` escaped, so the pattern is found only in the tags themselves.
fn without_disabled(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("<testsuite ") {
        let tag_end = rest[start..]
            .find('>')
            .map_or(rest.len(), |end| start + end);
        out.push_str(&rest[..start]);
        let tag = &rest[start..tag_end];
        match tag.find(" disabled=\"") {
            Some(at) => {
                let value_end = tag[at + 11..].find('"').map_or(tag.len(), |q| at + 12 + q);
                out.push_str(&tag[..at]);
                out.push_str(&tag[value_end..]);
            }
            None => out.push_str(tag),
        }
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    out
}

fn test_case(ex: &ExerciseReport, test: &TestResult) -> TestCase {
    let status = match test.status {
        TestStatus::Passed => TestCaseStatus::success(),
        failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = match failed {
                TestStatus::TimedOut => "timed out".to_owned(),
                TestStatus::NotRun => match &ex.tests.build_error {
                    Some(_) => "the exercise does not build".to_owned(),
                    None => "never reported".to_owned(),
                },
                _ => test
                    .failure
                    .as_deref()
                    .and_then(|m| m.lines().next().map(str::to_owned))
                    .unwrap_or_else(|| "failed".to_owned()),
            };
            status.set_message(message);
            let description = ex
                .tests
                .build_error
                .clone()
                .unwrap_or_else(|| test.output.clone());
            if !description.is_empty() {
                status.set_description(description);
            }
            status
        }
    };
    let mut case = TestCase::new(test.name.clone(), status);
    case.set_classname(format!("{}.tests", ex.id));
    case.set_time(Duration::from_secs_f64(test.seconds.max(0.0)));
    case
}

fn observation_case(ex: &ExerciseReport, o: &ObservationResult) -> TestCase {
    let status = match o.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(o.reason.clone());
            status.set_description(match &o.hint {
                Some(hint) => format!("{}\nhint: {hint}", o.reason),
                None => o.reason.clone(),
            });
            status
        }
        Verdict::Skipped | Verdict::Inconclusive => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(o.reason.clone());
            status.set_description(format!(
                "{}\nNot measurable on this machine: its limit, not the code's.",
                o.reason
            ));
            status
        }
    };
    let unit = if o.max_points == 1.0 {
        "point"
    } else {
        "points"
    };
    let mut case = TestCase::new(format!("observation {}", o.id), status);
    case.set_classname(format!("{}.observations", ex.id));
    case.set_system_out(format!(
        "{}\n{}\n{} of {} {unit}\n",
        o.claim,
        o.reason,
        short(o.points),
        short(o.max_points)
    ));
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn no_suite_carries_the_disabled_attribute_jenkins_rejects() {
        let xml = Junit.render(&fixtures::mixed()).unwrap();
        assert!(!xml.contains("disabled="), "{xml}");
        assert!(xml.contains(r#"<testsuite name="ex02 Threaded query" tests="8" errors="0" failures="3" time="0.040" skipped="2">"#), "{xml}");
    }

    #[test]
    fn only_the_tags_lose_the_attribute() {
        let xml = r#"<testsuite name="a" tests="1" disabled="12" errors="0"><failure>disabled="3"</failure></testsuite>"#;
        assert_eq!(
            without_disabled(xml),
            r#"<testsuite name="a" tests="1" errors="0"><failure>disabled="3"</failure></testsuite>"#
        );
    }
}
