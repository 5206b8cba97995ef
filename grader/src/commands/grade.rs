//! `grader grade` (and `grader` alone): grade, report, and say whether
//! `--min-score` was reached.

use crate::cli::GradeArgs;
use crate::course::load_course;
use crate::report::progress;
use crate::{grade, report, workspace, EXIT_BELOW, EXIT_OK};

/// `grader grade`: grade, report, and say whether `--min-score` was reached.
pub fn run(args: &GradeArgs) -> anyhow::Result<u8> {
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
        build_stubs: args.build_stubs,
    };
    let progress = progress::Progress::stderr();
    let mut report = grade::grade(&course, &options, &progress)?;
    drop(progress);
    report.instructor_files = crate::release::instructor_files(&course, &options.source)?;
    let detail = report::Detail {
        verbose: args.verbose,
    };
    report::write(&report, args.format.into(), detail, args.out.as_deref())?;
    match args.min_score {
        Some(min) if report.score < min => {
            eprintln!(
                "score {} is below --min-score {}",
                crate::text::short(report.score),
                crate::text::short(min)
            );
            Ok(EXIT_BELOW)
        }
        _ => Ok(EXIT_OK),
    }
}
