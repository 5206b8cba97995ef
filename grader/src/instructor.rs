//! Commands for instructors beyond grading: `report` (a saved JSON report in
//! another format), `release`, `gradescope` and `slurm`; and the check of a
//! graded tree's instructor files against the release manifest.

use crate::cli::{GradescopeArgs, ReleaseArgs, ReportArgs, SlurmArgs};
use crate::course::Course;
use crate::manifest::{InstructorFiles, Manifest, MANIFEST_FILE};
use crate::model::GradeReport;
use crate::workspace::Source;
use crate::{autograder, load_course, release, report, slurm, EXIT_OK};
use anyhow::Context;
use std::path::Path;

/// `grader report REPORT.json --format F`: render a saved report.
pub fn render_saved(args: &ReportArgs) -> anyhow::Result<u8> {
    let report = read_report(&args.report)?;
    report::write(
        &report,
        args.format.into(),
        report::Detail::default(),
        args.out.as_deref(),
    )?;
    Ok(EXIT_OK)
}

/// A report written with `--format json`.
pub fn read_report(path: &Path) -> anyhow::Result<GradeReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a report written by `grader --format json`",
            path.display()
        )
    })
}

/// `grader release --out DIR`.
pub fn release(args: &ReleaseArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    let written = release::write(course.root(), &course, &args.out)?;
    println!(
        "wrote the student repository to {} ({written} files, instructor files listed in {MANIFEST_FILE})",
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// `grader gradescope --out autograder.zip`.
pub fn gradescope(args: &GradescopeArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    let bytes = autograder::write_zip(course.root(), &course, &args.out)?;
    println!(
        "wrote {} ({:.1} MB): upload it as the assignment's autograder",
        args.out.display(),
        bytes as f64 / 1e6
    );
    Ok(EXIT_OK)
}

/// `grader slurm SUBMISSION... --reports DIR --out grade-class.sbatch`.
pub fn slurm(args: &SlurmArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    slurm::write(args, course.file())?;
    println!(
        "wrote {}: run it with `bash {}` to submit the array and the merge",
        args.out.display(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Whether the instructor's files in the graded tree match the release:
/// a student repository graded in place against the manifest it carries, the
/// files a submission sent against the instructor's release (what it did
/// not send is the instructor's in grading). None for the instructor's
/// own trees.
pub fn instructor_files(
    course: &Course,
    source: &Source,
) -> anyhow::Result<Option<InstructorFiles>> {
    let root = course.root().to_owned();
    match source {
        Source::Exercises => Ok(Manifest::read(&root)?.map(|m| m.verify(&root))),
        Source::Solutions => Ok(None),
        Source::Submission(dir) => Ok(Some(
            release::expected_manifest(&root, course)?.verify_sent(dir),
        )),
    }
}
