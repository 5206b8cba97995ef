//! The JUnit report is valid against Jenkins' `junit-10.xsd` (the schema of
//! Jenkins' xUnit plugin, MIT, kept in tests/fixtures/junit/), as xUnit
//! checks it before reading a file: a recorded report with every verdict,
//! a failing, a timed-out and a passing test, and the same report with a
//! sandbox property and a flagged exercise's source-scan case.
//!
//! Needs `xmllint` (Debian's libxml2-utils; `.ci/run` installs it).

use grader::model::SourceFlag;
use grader::model::{FlaggedExercise, GradeReport, Integrity};
use grader::report::{self, Detail, Format};
use std::path::{Path, PathBuf};
use std::process::Command;

const MISSING: &str = "this test validates the JUnit report with xmllint, which is not installed: \
     `apt-get install libxml2-utils` (Debian)";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// The recorded report that the html page's test also reads.
fn recorded_report() -> GradeReport {
    let text = std::fs::read_to_string(fixture("html/report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// xmllint's verdict on `xml` against junit-10.xsd: None when valid, else
/// what it printed.
fn schema_errors(xml: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    #[allow(clippy::disallowed_methods)] // xmllint on a small file ends by itself
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(fixture("junit/junit-10.xsd"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{MISSING} ({e})"));
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    (!out.status.success()).then_some(said)
}

fn junit(report: &GradeReport) -> String {
    report::reporter(Format::Junit, Detail::default())
        .render(report)
        .unwrap()
}

#[test]
fn the_junit_report_is_valid_against_jenkins_schema() {
    let report = recorded_report();
    assert_eq!(schema_errors(&junit(&report)), None);

    let mut flagged = report;
    flagged.integrity = Integrity {
        isolation: "isolated (bubblewrap: no network, read-only course)".into(),
        strict: true,
        flagged: vec![FlaggedExercise {
            exercise: "ex02".into(),
            flags: vec![SourceFlag {
                file: "exercises/ex02-threaded-query/src/lib.rs".into(),
                line: 3,
                what: "reads the tests <\"&'>".into(),
                advice: "read nothing of the tests' <\"&'>".into(),
            }],
            points_withheld: true,
            points_at_stake: 20.0,
        }],
        restored: Vec::new(),
    };
    let xml = junit(&flagged);
    assert!(
        xml.contains("source scan") && xml.contains("sandbox"),
        "{xml}"
    );
    assert_eq!(schema_errors(&xml), None);
}

/// The check itself: the attribute quick-junit writes and the schema does
/// not allow is seen.
#[test]
fn the_schema_check_rejects_a_disabled_attribute() {
    let xml = junit(&recorded_report()).replacen("<testsuite ", "<testsuite disabled=\"0\" ", 1);
    let errors = schema_errors(&xml).expect("rejected");
    assert!(errors.contains("disabled"), "{errors}");
}
