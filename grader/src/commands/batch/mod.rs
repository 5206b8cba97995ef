//! `grader batch`: a class on one machine, or reports graded elsewhere merged.
//!
//! `grader batch SUBMISSION... --out DIR` grades the submissions in rounds
//! ([`rounds`]): it builds the next K (`--build-jobs`) at once, each in a
//! build directory of its own, then grades them one after another, so no
//! build ever runs beside a measurement and no two submissions are ever
//! timed at once. Each gets `DIR/<id>.json`; a submission whose report is
//! newer than every file of its sources is not graded again, so an
//! interrupted batch resumes where it stopped. A submission that cannot be
//! graded at all costs only itself: its error goes to `DIR/<id>.error` and
//! the batch goes on.
//!
//! `grader batch --merge REPORT.json... --out DIR` reads reports written
//! elsewhere (Slurm tasks, Gradescope, CI). Both write `gradebook.csv` and
//! `report.html` into DIR.

pub mod gradebook;
pub mod html;
pub mod rounds;

use crate::cli::BatchArgs;
use crate::course::load_course;
use crate::course::{Course, Exercise};
use crate::grade;
use crate::model::GradeReport;
use crate::release::instructor_files;
use crate::report;
use crate::report::progress::Progress;
use crate::text::short;
use crate::workspace::Source;
use crate::EXIT_OK;
use anyhow::{bail, Context};
use gradebook::{Graded, NotGraded};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use walkdir::WalkDir;

/// `grader batch`.
pub fn run(args: &BatchArgs) -> anyhow::Result<u8> {
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let (graded, not_graded) = if args.merge {
        (merge(&args.inputs)?, Vec::new())
    } else {
        grade_all(args)?
    };
    let reference = args
        .reference
        .as_deref()
        .map(report::read_saved)
        .transpose()?;
    gradebook::write(&graded, &not_graded, &args.out)?;
    html::write(&graded, reference.as_ref(), &args.out)?;
    println!(
        "{} submissions graded{}: {} and {}",
        graded.len(),
        match not_graded.len() {
            0 => String::new(),
            n => format!(", {n} could not be"),
        },
        args.out.join("gradebook.csv").display(),
        args.out.join("report.html").display()
    );
    Ok(EXIT_OK)
}

/// Reports written elsewhere, each named by its file's stem.
fn merge(reports: &[PathBuf]) -> anyhow::Result<Vec<Graded>> {
    let mut graded = Vec::new();
    let mut seen = HashSet::new();
    for path in reports {
        let id = stem(path);
        if !seen.insert(id.clone()) {
            bail!("two reports are named {id}: give each submission's report its own name");
        }
        graded.push(Graded {
            id,
            report: report::read_saved(path)?,
        });
    }
    if graded.is_empty() {
        bail!("no reports to merge");
    }
    Ok(graded)
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Unique ids for the submissions: their directory names, numbered when two
/// share one.
pub fn submission_ids(submissions: &[PathBuf]) -> Vec<String> {
    let mut seen = HashSet::new();
    submissions
        .iter()
        .map(|s| {
            let base = s
                .canonicalize()
                .unwrap_or_else(|_| s.clone())
                .file_name()
                .map_or_else(
                    || "submission".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
            let mut id = base.clone();
            let mut n = 1;
            while !seen.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            id
        })
        .collect()
}

/// A submission that needs grading: its place in the class, id and directory.
struct Waiting {
    index: usize,
    id: String,
    submission: PathBuf,
}

/// The class's results so far, each with its place in the class.
#[derive(Default)]
struct Book {
    graded: Vec<(usize, Graded)>,
    not_graded: Vec<(usize, NotGraded)>,
}

impl Book {
    /// Graded and not graded, each in the order the submissions were given.
    fn in_class_order(mut self) -> (Vec<Graded>, Vec<NotGraded>) {
        self.graded.sort_by_key(|(index, _)| *index);
        self.not_graded.sort_by_key(|(index, _)| *index);
        (
            self.graded.into_iter().map(|(_, g)| g).collect(),
            self.not_graded.into_iter().map(|(_, n)| n).collect(),
        )
    }
}

/// Grade the submissions in rounds ([`rounds`]: K built at once, then
/// graded one at a time), reusing reports newer than their sources.
fn grade_all(args: &BatchArgs) -> anyhow::Result<(Vec<Graded>, Vec<NotGraded>)> {
    let course = load_course(args.course.course.as_deref())?;
    let exercises = course.select(&args.exercises)?;
    let ids = submission_ids(&args.inputs);
    let bar = progress_bar(args.inputs.len());
    let mut book = Book::default();
    let mut waiting = Vec::new();
    for (index, (submission, id)) in args.inputs.iter().zip(ids).enumerate() {
        let report_path = args.out.join(format!("{id}.json"));
        if is_fresh(&report_path, submission) {
            let report = report::read_saved(&report_path)?;
            done(
                &bar,
                &format!("{id}: graded before, its report is newer than its files"),
            );
            book.graded.push((index, Graded { id, report }));
        } else {
            let submission = submission.clone();
            waiting.push(Waiting {
                index,
                id,
                submission,
            });
        }
    }
    if !waiting.is_empty() {
        crate::runner::cargo::check_available()?;
    }
    let jobs = args
        .build_jobs
        .map_or_else(rounds::default_build_jobs, |jobs| jobs as usize);
    for round in waiting.chunks(jobs) {
        grade_round(&course, &exercises, round, args, &bar, &mut book)?;
    }
    bar.finish_and_clear();
    Ok(book.in_class_order())
}

/// One round: build its submissions at once, then grade them one at a time.
fn grade_round(
    course: &Course,
    exercises: &[&Exercise],
    round: &[Waiting],
    args: &BatchArgs,
    bar: &ProgressBar,
    book: &mut Book,
) -> anyhow::Result<()> {
    let names = round
        .iter()
        .map(|w| w.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    bar.set_message(format!("building {names}"));
    match round.len() {
        1 => log(bar, &format!("building {names}")),
        n => log(bar, &format!("building {n} at once: {names}")),
    }
    let submissions: Vec<PathBuf> = round.iter().map(|w| w.submission.clone()).collect();
    let built = rounds::build(course, exercises, &submissions, !args.no_observations);
    log(
        bar,
        &format!(
            "built {names} in {:.0} s; grading them one at a time",
            built.seconds
        ),
    );
    for (waiting, ready) in round.iter().zip(&built.submissions) {
        if let Some(error) = ready.as_ref().ok().and_then(|r| r.build_error.as_ref()) {
            log(bar, &format!("{}: does not build: {error}", waiting.id));
        }
    }
    for (waiting, ready) in round.iter().zip(built.submissions) {
        bar.set_message(format!("grading {}", waiting.id));
        let report = ready.and_then(|ready| grade_one(course, &waiting.submission, ready, args));
        record(waiting, report, args, bar, book)?;
    }
    Ok(())
}

/// Write a submission's report, or its error, and count it done.
fn record(
    waiting: &Waiting,
    report: anyhow::Result<GradeReport>,
    args: &BatchArgs,
    bar: &ProgressBar,
    book: &mut Book,
) -> anyhow::Result<()> {
    let id = &waiting.id;
    let error_path = args.out.join(format!("{id}.error"));
    match report {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report)? + "\n";
            write_whole(&args.out.join(format!("{id}.json")), &json)?;
            let _ = fs::remove_file(&error_path);
            let score = format!("{} / {}", short(report.score), short(report.max_score));
            done(bar, &format!("{id}: {score}"));
            let graded = Graded {
                id: id.clone(),
                report,
            };
            book.graded.push((waiting.index, graded));
        }
        Err(e) => {
            done(bar, &format!("{id}: could not grade: {e:#}"));
            write_whole(&error_path, &format!("{e:#}\n"))?;
            let not_graded = NotGraded {
                id: id.clone(),
                error: format!("{e:#}"),
            };
            book.not_graded.push((waiting.index, not_graded));
        }
    }
    Ok(())
}

/// The submission count, elapsed time and time left on a terminal.
fn progress_bar(submissions: usize) -> ProgressBar {
    let bar = ProgressBar::new(submissions as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} submissions · {elapsed} · ETA {eta} {msg}",
        )
        .expect("a valid template"),
    );
    bar
}

/// One submission done: a line above the bar, or a plain line with the
/// count when stderr is not a terminal (a log, a Slurm job).
fn done(bar: &ProgressBar, line: &str) {
    bar.inc(1);
    log(
        bar,
        &format!("{}/{} {line}", bar.position(), bar.length().unwrap_or(0)),
    );
}

/// A line above the bar, or a plain `grader batch:` line when stderr is not
/// a terminal.
fn log(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("grader batch: {line}");
    } else {
        bar.println(line);
    }
}

/// Grade one built submission of a round.
fn grade_one(
    course: &Course,
    submission: &Path,
    ready: rounds::Ready,
    args: &BatchArgs,
) -> anyhow::Result<GradeReport> {
    let options = grade::Options {
        exercises: args.exercises.clone(),
        source: Source::Submission(submission.to_owned()),
        repeats: args.repeats.map(|r| r as usize),
        observations: !args.no_observations,
        strict: !args.no_strict,
        build_stubs: false,
    };
    let mut report = grade::grade_tree(course, &options, ready.tree, &Progress::quiet())?;
    report.instructor_files = instructor_files(course, &options.source)?;
    // Its builds ran in the round, before grading: they count as its own.
    report.timings.build_seconds += ready.build_seconds;
    report.timings.total_seconds += ready.build_seconds;
    Ok(report)
}

/// Write through a temporary name, so a report is whole or absent.
fn write_whole(path: &Path, text: &str) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
    fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The report exists and is newer than every file of the submission.
fn is_fresh(report: &Path, submission: &Path) -> bool {
    let Ok(written) = fs::metadata(report).and_then(|m| m.modified()) else {
        return false;
    };
    newest_source(submission).is_some_and(|newest| newest < written)
}

fn newest_source(submission: &Path) -> Option<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in WalkDir::new(submission)
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"))
    {
        let modified = entry.ok()?.metadata().ok()?.modified().ok()?;
        newest = newest.max(modified);
    }
    Some(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_directory_names_made_unique() {
        let ids = submission_ids(&[
            PathBuf::from("/class/alice"),
            PathBuf::from("/other/alice"),
            PathBuf::from("/class/bob/"),
        ]);
        assert_eq!(ids, ["alice", "alice-2", "bob"]);
    }

    #[test]
    fn a_report_older_than_an_edit_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let submission = dir.path().join("s");
        fs::create_dir_all(submission.join("exercises")).unwrap();
        fs::write(submission.join("exercises/a.rs"), "1").unwrap();
        let report = dir.path().join("s.json");
        assert!(!is_fresh(&report, &submission), "no report yet");
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&report, "{}").unwrap();
        assert!(is_fresh(&report, &submission));
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(submission.join("exercises/a.rs"), "2").unwrap();
        assert!(!is_fresh(&report, &submission));
    }
}
