//! Building submissions several at a time, never beside a measurement.
//!
//! A build beside a measurement spoils its timings, and two submissions
//! measured at once spoil each other's. So `grader batch` grades in rounds:
//!
//! 1. **build**: the next K submissions (`--build-jobs`) are prepared and
//!    built at once, each in a build slot of its own
//!    ([`crate::workspace::submission_build_dir`]: cargo locks a build directory,
//!    and two trees built in one would overwrite each other's executables).
//!    Their integration tests and, when observations are measured, their
//!    harnesses are built exactly as grading builds them
//!    ([`runner::build_ahead`]); nothing runs. An exercise left as the
//!    course's stubs gets no harness: it fails its tests, and grading builds
//!    a harness only for an exercise with a passing test.
//! 2. **grade**: once every build of the round has finished, the round's
//!    submissions are graded one at a time. Grading builds again and cargo
//!    finds those builds up to date, so only the submission being graded
//!    runs anything.
//!
//! Then the round's trees are dropped (their temporary copies go) and the
//! next round reuses the K slots: dependencies, and the course's common
//! crate (whose copies keep the instructor's modified times, see
//! [`crate::workspace`]), compile once per slot, and the disk never holds
//! more than K built trees, however large the class.

use crate::course::{Course, Exercise};
use crate::grade;
use crate::runner;
use crate::workspace::{GradedTree, Source};
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The most submissions built at once unless `--build-jobs` says: each
/// build uses every core already, and each slot keeps a whole tree's debug
/// and release builds on disk.
pub const MAX_DEFAULT_BUILD_JOBS: usize = 4;

/// Submissions built at once by default: one per core, at most
/// [`MAX_DEFAULT_BUILD_JOBS`].
pub fn default_build_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_DEFAULT_BUILD_JOBS)
}

/// One submission of a round, built and ready to grade.
pub struct Ready {
    pub tree: GradedTree,
    /// The first build error among its exercises (grading reports it in its
    /// own place), as `exNN: error`.
    pub build_error: Option<String>,
    /// Wall time of its builds (beside the round's other builds).
    pub build_seconds: f64,
}

/// What a round's build found, submission by submission.
pub struct Round {
    /// Each submission's tree, or why it could not be prepared.
    pub submissions: Vec<anyhow::Result<Ready>>,
    /// Wall time of the whole round's build.
    pub seconds: f64,
}

/// Prepare and build `submissions` at once, the i-th in build slot i;
/// return only when every build has finished.
pub fn build(
    course: &Course,
    exercises: &[&Exercise],
    submissions: &[PathBuf],
    observations: bool,
) -> Round {
    let started = Instant::now();
    let submissions = std::thread::scope(|scope| {
        let builds: Vec<_> = submissions
            .iter()
            .enumerate()
            .map(|(slot, submission)| {
                scope.spawn(move || build_one(course, exercises, submission, slot, observations))
            })
            .collect();
        builds
            .into_iter()
            .map(|build| match build.join() {
                Ok(ready) => ready,
                Err(_) => Err(anyhow::anyhow!("building the submission panicked")),
            })
            .collect()
    });
    Round {
        submissions,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn build_one(
    course: &Course,
    exercises: &[&Exercise],
    submission: &Path,
    slot: usize,
    observations: bool,
) -> anyhow::Result<Ready> {
    if !submission.is_dir() {
        bail!("{} is not a directory", submission.display());
    }
    let source = Source::Submission(submission.to_owned());
    let tree = grade::prepare_tree(course, exercises, &source, slot)?;
    let started = Instant::now();
    let mut build_error = None;
    for ex in exercises {
        // An unchanged stub fails its tests, and grading builds a harness only
        // for an exercise with a passing test: building it ahead would only
        // cost time.
        let harness = observations && !ex.observations.is_empty() && !tree.has_stub_src(&ex.dir);
        let error = runner::build_ahead(&tree, &ex.id, harness);
        if let (None, Some(error)) = (&build_error, error) {
            build_error = Some(format!("{}: {}", ex.id, first_line(&error)));
        }
    }
    Ok(Ready {
        tree,
        build_error,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
