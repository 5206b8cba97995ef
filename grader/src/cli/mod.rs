//! The command line.

pub mod value_enums;

use crate::cli::value_enums::FormatOpt;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Grades the course: each exercise's tests, then its timing observations.
///
/// Without a subcommand it grades the exercises in this workspace (your own
/// work). Exit codes: 0 when grading ran, whatever the score; 1 when
/// --min-score was given and not reached (or `check` found a problem); 2 for a
/// usage, course.yaml or environment error.
#[derive(Debug, Parser)]
#[command(name = "grader", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub grade: GradeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade the exercises (the default), the reference solutions or a submission.
    Grade(GradeArgs),
    /// Instructor self-check: course.yaml matches the harnesses, the solutions
    /// earn every point, the stubs compile and earn no test points.
    Check(CheckArgs),
    /// The exercises with your progress (tests passing); the first unfinished one is marked.
    List(CourseArgs),
    /// The hints for one exercise.
    Hint(HintArgs),
    /// Is this machine quiet enough to measure now? Cores, affinity, CPU
    /// quota, what other programs use, the time unit.
    Doctor(CourseArgs),
    /// Work through the exercises: the current one's tests run again on every
    /// save. Keys: h hint, l list, r run again, o measure the observations, q quit.
    Watch(WatchArgs),
    /// Grade a class, a few submissions built at once and each graded alone
    /// (or merge reports graded elsewhere), into gradebook.csv and report.html.
    Batch(BatchArgs),
    /// Render a saved JSON report in another format.
    Report(ReportArgs),
    /// Write the student repository: stubs, tests, grader, Classroom workflow, no solutions.
    Release(ReleaseArgs),
    /// Write Gradescope's autograder.zip (setup.sh, run_autograder, the course).
    Gradescope(GradescopeArgs),
    /// Write a Slurm job array that grades one submission per task, then merges.
    Slurm(SlurmArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// The submissions (students' repositories), or with --merge the JSON reports.
    #[arg(value_name = "SUBMISSION|REPORT.json", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Merge reports graded elsewhere (`grader grade --format json`) instead of grading.
    #[arg(long)]
    pub merge: bool,
    /// The directory for each submission's report, gradebook.csv and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The reference solutions' JSON report, drawn beside the class in report.html.
    #[arg(long, value_name = "REPORT.json")]
    pub reference: Option<PathBuf>,
    /// Grade only this exercise (repeat for several).
    #[arg(
        long = "exercise",
        short = 'e',
        value_name = "ID",
        conflicts_with = "merge"
    )]
    pub exercises: Vec<String>,
    /// Measured runs per timing [default: course.yaml's defaults.repeats]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100), conflicts_with = "merge")]
    pub repeats: Option<u32>,
    /// Run the tests only: no timing observations.
    #[arg(long, conflicts_with = "merge")]
    pub no_observations: bool,
    /// Grade without --strict (the default for submissions): flags are
    /// reported but cost nothing, and a machine without the sandbox still grades.
    #[arg(long, conflicts_with = "merge")]
    pub no_strict: bool,
    /// Submissions built at once, each in a build directory of its own, before
    /// they are graded one at a time [default: one per core, at most 4]
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64), conflicts_with = "merge")]
    pub build_jobs: Option<u32>,
    #[command(flatten)]
    pub course: CourseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A report written with `--format json`.
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
    /// How to report.
    #[arg(long, value_enum, default_value_t = FormatOpt::Human)]
    pub format: FormatOpt,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ReleaseArgs {
    /// The directory to create (it must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub course: CourseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GradescopeArgs {
    /// The zip to write.
    #[arg(long, value_name = "FILE", default_value = "autograder.zip")]
    pub out: PathBuf,
    #[command(flatten)]
    pub course: CourseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SlurmArgs {
    /// The job script to write.
    #[arg(long, value_name = "FILE", default_value = "grade-class.sbatch")]
    pub out: PathBuf,
    /// The submissions, one directory each (a student's repository).
    #[arg(value_name = "SUBMISSION", required = true)]
    pub submissions: Vec<PathBuf>,
    /// The shared directory the tasks write their JSON reports to, and the
    /// merged gradebook goes.
    #[arg(long, value_name = "DIR")]
    pub reports: PathBuf,
    /// The grader binary every node runs [default: this one].
    #[arg(long, value_name = "FILE")]
    pub grader: Option<PathBuf>,
    /// Slurm's time limit per task, e.g. `00:20:00`.
    #[arg(long, value_name = "TIME", default_value = "00:20:00")]
    pub time: String,
    /// Extra `#SBATCH` lines, e.g. `--partition=teaching` (repeatable).
    #[arg(long = "sbatch", value_name = "OPTION")]
    pub sbatch: Vec<String>,
    #[command(flatten)]
    pub course: CourseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CourseArgs {
    /// The course file [default: course.yaml in this directory or above, else the course this grader was built in]
    #[arg(long, value_name = "FILE")]
    pub course: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct GradeArgs {
    /// Grade only this exercise (repeat for several).
    #[arg(long = "exercise", short = 'e', value_name = "ID")]
    pub exercises: Vec<String>,
    /// Grade the reference solutions (solutions/).
    #[arg(long, conflicts_with = "submission")]
    pub solutions: bool,
    /// Grade a student's copy of the course: only its exercises/*/src files are used.
    #[arg(long, value_name = "DIR")]
    pub submission: Option<PathBuf>,
    /// How to report.
    #[arg(long, value_enum, default_value_t = FormatOpt::Human)]
    pub format: FormatOpt,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Draw the schedule behind every observation in the human report, not
    /// only behind those that failed.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    #[command(flatten)]
    pub course: CourseArgs,
    /// Measured runs per timing, after a warm-up run [default: COURSE_REPEATS, else course.yaml's defaults.repeats]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: Option<u32>,
    /// Run the tests only: no timing observations (and no observation points).
    #[arg(long)]
    pub no_observations: bool,
    /// Trust nothing: refuse to grade without the sandbox, and give an exercise whose sources are flagged no points [default: on with --submission]
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,
    /// Grade without --strict: flags are reported but cost nothing, and a machine without the sandbox still grades.
    #[arg(long, overrides_with = "strict")]
    pub no_strict: bool,
    /// Exit with code 1 when the score is below N points.
    #[arg(long, value_name = "N")]
    pub min_score: Option<f64>,
    /// Build and run the tests of an exercise still at the course's stubs
    /// too, instead of failing them unbuilt (a setup that warms its build
    /// directory, as the Gradescope autograder's does).
    #[arg(long)]
    pub build_stubs: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub course: CourseArgs,
    /// Measured runs per timing [default: COURSE_REPEATS, else course.yaml's defaults.repeats]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct HintArgs {
    /// The exercise, e.g. ex02.
    pub id: String,
    #[command(flatten)]
    pub course: CourseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub course: CourseArgs,
    /// Run the tests on `r` only, not on every save (for machines where file
    /// events do not arrive).
    #[arg(long)]
    pub manual_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
