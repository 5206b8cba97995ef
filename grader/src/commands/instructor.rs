//! Commands for instructors beyond grading: `report` (a saved JSON report in
//! another format), `release`, `gradescope` and `slurm`.

use crate::cli::{GradescopeArgs, ReleaseArgs, ReportArgs, SlurmArgs};
use crate::commands::{gradescope as autograder, slurm};
use crate::course::load_course;
use crate::release;
use crate::workspace::manifest::MANIFEST_FILE;
use crate::{report, EXIT_OK};

/// `grader report REPORT.json --format F`: render a saved report.
pub fn render_saved(args: &ReportArgs) -> anyhow::Result<u8> {
    let report = report::read_saved(&args.report)?;
    report::write(
        &report,
        args.format.into(),
        report::Detail::default(),
        args.out.as_deref(),
    )?;
    Ok(EXIT_OK)
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
