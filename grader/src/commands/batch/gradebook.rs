//! `gradebook.csv`: one row per submission: its id, its score in each
//! exercise, the total and the flags an instructor should look at.

use crate::model::{GradeReport, TestStatus, Verdict};
use crate::text::short;
use anyhow::Context;
use std::path::Path;

/// One graded submission: its id (the report's or submission's name) and report.
#[derive(Debug, Clone)]
pub struct Graded {
    pub id: String,
    pub report: GradeReport,
}

/// What deserves a look beyond the score, e.g. `inconclusive:2`.
pub fn flags(report: &GradeReport) -> Vec<String> {
    let mut flags = Vec::new();
    let count = |verdict: Verdict| {
        report
            .exercises
            .iter()
            .flat_map(|e| &e.observations)
            .filter(|o| o.verdict == verdict)
            .count()
    };
    for (verdict, name) in [
        (Verdict::Inconclusive, "inconclusive"),
        (Verdict::Skipped, "skipped"),
    ] {
        match count(verdict) {
            0 => {}
            n => flags.push(format!("{name}:{n}")),
        }
    }
    for ex in &report.exercises {
        if ex.tests.build_error.is_some() {
            flags.push(format!("does-not-build:{}", ex.id));
        }
        let timed_out = ex
            .tests
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::TimedOut)
            .count();
        if timed_out > 0 {
            flags.push(format!("timed-out:{}:{timed_out}", ex.id));
        }
    }
    if let Some(files) = &report.instructor_files {
        if !files.changed.is_empty() {
            flags.push(format!("instructor-files-changed:{}", files.changed.len()));
        }
    }
    for flagged in &report.integrity.flagged {
        flags.push(format!("source-flagged:{}", flagged.exercise));
    }
    if !report.observations_measured {
        flags.push("no-observations".to_owned());
    }
    flags
}

/// The exercise ids of all reports, in first-seen order.
pub fn exercise_ids(graded: &[Graded]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for ex in graded.iter().flat_map(|g| &g.report.exercises) {
        if !ids.contains(&ex.id) {
            ids.push(ex.id.clone());
        }
    }
    ids
}

/// A submission that could not be graded, and why.
#[derive(Debug, Clone)]
pub struct NotGraded {
    pub id: String,
    pub error: String,
}

/// The gradebook as CSV text: a row per graded submission, then one per
/// submission that could not be graded (no scores, flagged `not-graded`).
pub fn render(graded: &[Graded], not_graded: &[NotGraded]) -> anyhow::Result<String> {
    let ids = exercise_ids(graded);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_owned()];
    header.extend(ids.iter().cloned());
    header.extend(["total", "max", "flags"].map(String::from));
    writer.write_record(&header)?;
    for g in graded {
        let mut row = vec![g.id.clone()];
        for id in &ids {
            let score = g.report.exercises.iter().find(|e| &e.id == id);
            row.push(score.map_or_else(String::new, |e| short(e.score)));
        }
        row.push(short(g.report.score));
        row.push(short(g.report.max_score));
        row.push(flags(&g.report).join(" "));
        writer.write_record(&row)?;
    }
    for n in not_graded {
        let mut row = vec![n.id.clone()];
        row.extend(std::iter::repeat_n(String::new(), ids.len() + 2));
        row.push("not-graded".to_owned());
        writer.write_record(&row)?;
    }
    let bytes = writer.into_inner().context("cannot write the gradebook")?;
    Ok(String::from_utf8(bytes)?)
}

/// Write `gradebook.csv` into `dir`.
pub fn write(graded: &[Graded], not_graded: &[NotGraded], dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("gradebook.csv");
    std::fs::write(&path, render(graded, not_graded)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
