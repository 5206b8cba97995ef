//! Every format shows each source flag with what it costs under `--strict`
//! and how to avoid it, whether or not the grading was strict.

use super::{fixtures, reporter, Detail, Format};
use crate::model::SourceFlag;
use crate::model::{FlaggedExercise, GradeReport};

const ADVICE: &str = "call print!/println! (eprint!/eprintln! for errors), which the test captures";

/// The mixed fixture, its first exercise flagged once.
fn flagged(strict: bool) -> GradeReport {
    let mut report = fixtures::mixed();
    let id = report.exercises[0].id.clone();
    report.integrity.isolation = "isolated (bubblewrap)".into();
    report.integrity.strict = strict;
    report.integrity.flagged = vec![FlaggedExercise {
        exercise: id,
        flags: vec![SourceFlag {
            file: "exercises/ex02-threaded-query/src/lib.rs".into(),
            line: 12,
            what: "direct use of stdout or stderr (print! and friends are fine): `out::stdout` is std::io::stdout".into(),
            advice: ADVICE.into(),
        }],
        points_withheld: strict,
        points_at_stake: 20.0,
    }];
    report
}

fn render(format: Format, report: &GradeReport) -> String {
    let text = reporter(format, Detail::default()).render(report).unwrap();
    anstream::adapter::strip_str(&text).to_string()
}

/// `text` with whitespace runs as single spaces (the human report wraps).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_student_grading_their_own_work_sees_the_cost_and_the_way_out() {
    let report = flagged(false);
    let json = render(Format::Json, &report);
    assert!(json.contains("\"points_at_stake\": 20.0"), "{json}");
    assert!(json.contains(ADVICE), "{json}");
    for format in [
        Format::Human,
        Format::Junit,
        Format::Gradescope,
        Format::Html,
    ] {
        let text = flat(&render(format, &report));
        for expected in [
            "lib.rs:12",
            "`out::stdout` is std::io::stdout",
            "print!/println!",
            "they cost all 20 points of the exercise",
        ] {
            assert!(
                text.contains(expected),
                "{format:?} lacks {expected:?}:\n{text}"
            );
        }
    }
    let human = flat(&render(Format::Human, &report));
    assert!(human.contains(&format!("to avoid it: {ADVICE}")), "{human}");
    assert!(
        human.contains("reported only (not --strict); graded with --strict"),
        "{human}"
    );
}

#[test]
fn a_strict_grading_says_the_points_are_withheld_and_why() {
    let report = flagged(true);
    for format in [
        Format::Human,
        Format::Junit,
        Format::Gradescope,
        Format::Github,
        Format::Html,
    ] {
        let text = match format {
            // The reporter reads each runner's result as base64: read the results.
            Format::Github => serde_json::to_string(
                &crate::report::github::runners(&report)
                    .into_iter()
                    .map(|r| r.result)
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            _ => flat(&render(format, &report)),
        };
        for expected in ["20 points are withheld", "lib.rs:12", "print!/println!"] {
            assert!(
                text.contains(expected),
                "{format:?} lacks {expected:?}:\n{text}"
            );
        }
    }
}
