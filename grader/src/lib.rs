//! The course grader: runs each exercise's tests and timing observations and
//! reports a score. See ARCHITECTURE.md for the map of its modules.
//!
//! - [`course`]: course.yaml, loaded and validated;
//! - [`workspace`] and [`runner`]: the tree to grade, and cargo runs of its
//!   tests and harnesses;
//! - [`verdict`]: observations judged on measurements;
//! - [`grade`]: the grading loop, gathered into the [`model`]; [`progress`]:
//!   the progress line;
//! - [`report`]: the model rendered as human text, JSON, JUnit, Gradescope or
//!   GitHub Classroom results;
//! - [`check`]: the instructor's self-check; [`student`]: `list` and `hint`;
//!   [`watch`]: `grader watch`;
//! - [`doctor`]: is this machine quiet enough to measure? ([`load`] holds the rule).

pub mod autograder;
pub mod batch;
pub mod check;
pub mod claims;
pub mod cli;
pub mod course;
pub mod doctor;
pub mod grade;
pub mod instructor;
pub mod load;
pub mod manifest;
pub mod margin;
pub mod model;
pub mod progress;
pub mod release;
pub mod report;
pub mod runner;
pub mod scan;
pub mod slurm;
pub mod student;
pub mod value_enums;
pub mod verdict;
pub mod watch;
pub mod workspace;

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The exit code when grading ran.
pub const EXIT_OK: u8 = 0;
/// The exit code when `--min-score` was not reached or `check` found a problem.
pub const EXIT_BELOW: u8 = 1;
/// The exit code for usage, course.yaml and environment errors.
pub const EXIT_ERROR: u8 = 2;

/// The course file: the one given, else `course.yaml` in the current
/// directory or the nearest directory above that has one.
pub fn find_course(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut relative = PathBuf::new();
    for dir in cwd.ancestors() {
        if dir.join("course.yaml").is_file() {
            return Ok(relative.join("course.yaml"));
        }
        relative.push("..");
    }
    // Run from elsewhere, e.g. an installed grader: the course it was built in.
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../course.yaml");
    if built_in.is_file() {
        return Ok(built_in);
    }
    anyhow::bail!("no course.yaml in this directory or any above it; pass --course FILE")
}

/// Load the course named on the command line (or found).
pub fn load_course(given: Option<&Path>) -> anyhow::Result<course::Course> {
    let path = find_course(given)?;
    Ok(course::Course::load(&path)?)
}

/// `grader grade`: grade, report, and say whether `--min-score` was reached.
pub fn run_grade(args: &cli::GradeArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    let source = match (&args.submission, args.solutions) {
        (Some(dir), _) => {
            anyhow::ensure!(
                dir.is_dir(),
                "the submission `{}` is not a directory",
                dir.display()
            );
            workspace::Source::Submission(dir.clone())
        }
        (None, true) => workspace::Source::Solutions,
        (None, false) => workspace::Source::Exercises,
    };
    let options = grade::Options {
        exercises: args.exercises.clone(),
        source,
        repeats: args.repeats.map(|r| r as usize),
        observations: !args.no_observations,
        // A submission is someone else's code; your own exercises are not.
        strict: args.strict || (args.submission.is_some() && !args.no_strict),
    };
    let progress = progress::Progress::stderr();
    let mut report = grade::grade(&course, &options, &progress)?;
    drop(progress);
    report.instructor_files = instructor::instructor_files(&course, &options.source)?;
    let detail = report::Detail {
        verbose: args.verbose,
    };
    report::write(&report, args.format.into(), detail, args.out.as_deref())?;
    match args.min_score {
        Some(min) if report.score < min => {
            eprintln!(
                "score {} is below --min-score {}",
                report::points(report.score),
                report::points(min)
            );
            Ok(EXIT_BELOW)
        }
        _ => Ok(EXIT_OK),
    }
}
