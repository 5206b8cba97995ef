//! The course grader: runs each exercise's tests and timing observations and
//! reports a score. See ARCHITECTURE.md for the map of its modules.
//!
//! The layers, each using only those below it:
//! - [`cli`]: the command line (clap); only [`commands`] sees it;
//! - [`commands`]: one module per subcommand;
//! - [`grade`]: the grading loop, gathered into the [`model`];
//! - [`release`]: the student repository and GitHub Classroom's workflow;
//! - [`report`]: the model rendered (human, JSON, JUnit, Gradescope, GitHub
//!   Classroom, HTML) and the progress line;
//! - [`judge`]: observations judged on measurements, no I/O;
//! - [`runner`]: cargo runs of a tree's tests and harnesses, and their limits;
//! - [`workspace`]: which tree and which files are graded, the source scan,
//!   the instructor files' manifest;
//! - [`sandbox`]: every process the grader starts, and the box around student
//!   code;
//! - [`course`] and [`model`]: course.yaml, and the result model.

pub mod cli;
pub mod commands;
pub mod course;
pub mod grade;
pub mod judge;
pub mod model;
pub mod release;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod text;
pub mod workspace;

/// The exit code when grading ran.
pub const EXIT_OK: u8 = 0;
/// The exit code when `--min-score` was not reached or `check` found a problem.
pub const EXIT_BELOW: u8 = 1;
/// The exit code for usage, course.yaml and environment errors.
pub const EXIT_ERROR: u8 = 2;
