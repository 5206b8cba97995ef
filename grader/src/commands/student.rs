//! Commands for students: `list` (progress through the course) and `hint`.

use crate::cli::{CourseArgs, HintArgs};
use crate::course::load_course;
use crate::grade::Grader;
use crate::model::TestStatus;
use crate::report::progress::Progress;
use crate::workspace::Source;
use crate::EXIT_OK;
use owo_colors::OwoColorize;
use std::io::Write;

/// `grader list`: each exercise with how many of its tests pass; the first
/// unfinished one is marked as the place to continue.
pub fn list(args: &CourseArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.as_deref())?;
    let exercises: Vec<_> = course.exercises.iter().collect();
    let progress = Progress::stderr();
    let grader = Grader::new(&course, &exercises, &Source::Exercises, None, &progress)?;
    let run = grader.grade_all(&exercises, false);
    let mut lines = Vec::new();
    let mut next = None;
    for (ex, report) in exercises.iter().zip(&run.exercises) {
        let tests = &report.tests;
        let passed = tests
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count();
        let total = tests.tests.len();
        let state = match (&tests.build_error, passed) {
            (Some(_), _) => "does not build".red().to_string(),
            (None, p) if p == total && total > 0 => "done".green().to_string(),
            (None, 0) => "not started".to_string(),
            (None, _) => "in progress".yellow().to_string(),
        };
        let unfinished = tests.build_error.is_some() || passed < total;
        let mark = if unfinished && next.is_none() {
            next = Some(*ex);
            "->"
        } else {
            "  "
        };
        let count = format!("{passed} of {total} tests pass");
        lines.push(format!(
            "{mark} {:<6}{:<24}{count:<22}{state}",
            ex.id, ex.title
        ));
    }
    drop(progress);
    let mut out = anstream::stdout();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    match next {
        Some(ex) => writeln!(
            out,
            "Next: {} ({}): read {}/README.md, then run `cargo test -p {}`.",
            ex.id,
            ex.title,
            ex.dir.display(),
            ex.id
        )?,
        None => writeln!(
            out,
            "Every test passes: `cargo run --release` grades the timing observations too."
        )?,
    }
    Ok(EXIT_OK)
}

/// `grader hint ID`: the exercise's hints and the hint of each observation.
pub fn hint(args: &HintArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    let ex = course.exercise(&args.id)?;
    let mut out = anstream::stdout();
    writeln!(out, "{}", format!("{}  {}", ex.id, ex.title).bold())?;
    writeln!(
        out,
        "The lesson: {}/README.md; run `cargo test -p {}`.",
        ex.dir.display(),
        ex.id
    )?;
    for (i, hint) in ex.hints.iter().enumerate() {
        writeln!(out, "{:>3}. {hint}", i + 1)?;
    }
    if !ex.observations.is_empty() {
        writeln!(out, "Observations:")?;
        for o in &ex.observations {
            writeln!(out, "  {}: {}", o.id.bold(), o.claim)?;
            writeln!(out, "    hint: {}", o.hint)?;
        }
    }
    Ok(EXIT_OK)
}
