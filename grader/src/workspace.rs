//! Which tree is graded: the course's exercises, the reference solutions, or
//! a student's submission copied into a fresh instructor-owned tree.

use std::path::{Path, PathBuf};

/// The tree to grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The course workspace itself (what a student works on).
    Exercises,
    /// The reference solutions' workspace (`solutions/Cargo.toml`).
    Solutions,
    /// A submission directory: only its `exercises/*/src/**` files are used.
    Submission(PathBuf),
}

/// A tree ready for cargo.
#[derive(Debug)]
pub struct GradedTree {
    /// "exercises", "solutions" or "submission <dir>".
    pub label: String,
    /// The Cargo.toml to pass as `--manifest-path`.
    pub manifest: PathBuf,
    /// `CARGO_TARGET_DIR` for every cargo call on this tree.
    pub target_dir: PathBuf,
    /// Keeps a submission's temporary copy alive as long as the tree.
    _temp: Option<tempfile::TempDir>,
}

/// Prepare `source` for grading. `course_root` is the directory of
/// course.yaml; `exercise_dirs` are the exercises' `dir`s, relative to it.
pub fn prepare(
    course_root: &Path,
    exercise_dirs: &[PathBuf],
    source: &Source,
) -> anyhow::Result<GradedTree> {
    let _ = (course_root, exercise_dirs, source);
    todo!()
}
