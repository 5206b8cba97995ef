//! The conventions of ARCHITECTURE.md's recipe "Add an exercise" that the
//! compiler and the tests cannot see, each problem said with how to fix it:
//!
//! - workspace lints in both manifests of every exercise, and
//!   `unsafe_code = "forbid"` in both workspaces (the only thing that makes
//!   the exercises forbid unsafe code);
//! - the solutions run their exercise's own tests and harness
//!   (`[[test]]`/`[[bench]]` paths into `../../exercises/<dir>/`);
//! - test-support programs (`[[bin]]`s outside `src/`) declared in both
//!   manifests, at the same file;
//! - course.yaml's `starts_processes` on exactly when the reference solution
//!   starts processes (`std::process::Command` in its `src/` or the given
//!   files it includes), since the scan flags `Command` otherwise;
//! - each `todo!()` of the stubs says `exNN name: see README.md, section
//!   "…"`, naming a heading the README has.
//!
//! [`read`] reads the files once; everything else is a pure function over
//! their texts (`manifests` for the first three, `sources` for the last
//! two), so the tests break a convention by editing a string.

mod manifests;
mod sources;

use super::Finding;
use crate::course::{Course, Exercise};
use anyhow::Context;
use manifests::{forbids_unsafe, lints, runs_the_exercise_files, support_programs};
use sources::{starts_processes, todos};
use std::path::Path;

/// One source file: its path relative to the course root, and its text.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// A file's path relative to the course root, and its text (`None` when
/// there is no such file).
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub text: Option<String>,
}

/// What one exercise's conventions are judged on.
#[derive(Debug, Clone)]
pub struct ExerciseFiles {
    pub id: String,
    /// The exercise's directory relative to the course root
    /// (`exercises/exNN-name`); the solution reaches it as `../../<dir>`.
    pub dir: String,
    pub starts_processes: bool,
    pub manifest: File,
    pub solution_manifest: File,
    pub readme: File,
    /// Every `.rs` file under the exercise's `src/`: the stubs and the
    /// given files.
    pub stubs: Vec<Source>,
    /// The reference solution's code: every `.rs` file under its `src/`,
    /// and the exercise's given files, which it includes by `#[path]`.
    pub solution: Vec<Source>,
}

/// Everything the conventions are judged on.
#[derive(Debug, Clone)]
pub struct CourseFiles {
    /// The two workspaces' manifests: the course's and the solutions'.
    pub workspaces: Vec<File>,
    pub exercises: Vec<ExerciseFiles>,
}

/// Read the files of `course` the conventions are about.
pub fn read(course: &Course) -> anyhow::Result<CourseFiles> {
    let root = course.root();
    let workspaces = vec![
        read_file(root, "Cargo.toml".into())?,
        read_file(root, "solutions/Cargo.toml".into())?,
    ];
    let exercises = course
        .exercises
        .iter()
        .map(|ex| read_exercise(root, ex))
        .collect::<anyhow::Result<_>>()?;
    Ok(CourseFiles {
        workspaces,
        exercises,
    })
}

fn read_exercise(root: &Path, ex: &Exercise) -> anyhow::Result<ExerciseFiles> {
    let dir = slashed(&ex.dir);
    let solution_dir = format!("solutions/{}", slashed(Path::new(dir_name(ex))));
    let mut solution = sources(root, &format!("{solution_dir}/src"))?;
    for given in ex.given_files() {
        let given = read_file(root, slashed(&given))?;
        if let (Some(text), true) = (given.text, given.path.ends_with(".rs")) {
            solution.push(Source {
                path: given.path,
                text,
            });
        }
    }
    Ok(ExerciseFiles {
        id: ex.id.clone(),
        starts_processes: ex.starts_processes,
        manifest: read_file(root, format!("{dir}/Cargo.toml"))?,
        solution_manifest: read_file(root, format!("{solution_dir}/Cargo.toml"))?,
        readme: read_file(root, format!("{dir}/README.md"))?,
        stubs: sources(root, &format!("{dir}/src"))?,
        solution,
        dir,
    })
}

/// The exercise's directory name, which its solution's has too.
fn dir_name(ex: &Exercise) -> &str {
    ex.dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
}

/// A relative path as the manifests spell it, with `/` between parts.
fn slashed(path: &Path) -> String {
    let parts: Vec<_> = path.iter().map(|part| part.to_string_lossy()).collect();
    parts.join("/")
}

fn read_file(root: &Path, path: String) -> anyhow::Result<File> {
    let text = match std::fs::read_to_string(root.join(&path)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
    };
    Ok(File { path, text })
}

/// Every `.rs` file under `dir` (relative to `root`), in file-name order.
fn sources(root: &Path, dir: &str) -> anyhow::Result<Vec<Source>> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.io_error().map(|e| e.kind()) == Some(std::io::ErrorKind::NotFound) => break,
            Err(e) => return Err(e).with_context(|| format!("cannot list {dir}")),
        };
        let is_source =
            entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "rs");
        if is_source {
            let path = slashed(entry.path().strip_prefix(root).unwrap_or(entry.path()));
            let text = std::fs::read_to_string(entry.path())
                .with_context(|| format!("cannot read {path}"))?;
            found.push(Source { path, text });
        }
    }
    Ok(found)
}

/// One line of `grader check` per group of conventions.
pub fn findings(files: &CourseFiles) -> Vec<Finding> {
    let each = |check: fn(&ExerciseFiles) -> Vec<String>| -> Vec<String> {
        files.exercises.iter().flat_map(check).collect()
    };
    let mut lint_problems: Vec<String> = files.workspaces.iter().flat_map(forbids_unsafe).collect();
    lint_problems.extend(each(lints));
    vec![
        Finding {
            what: "every exercise and solution forbids unsafe code (`[lints] workspace = true`)"
                .into(),
            problems: lint_problems,
        },
        Finding {
            what: "the solutions run their exercise's own tests and harness".into(),
            problems: each(runs_the_exercise_files),
        },
        Finding {
            what: "test-support programs are `[[bin]]`s of both manifests, at one file".into(),
            problems: each(support_programs),
        },
        Finding {
            what: "course.yaml's starts_processes agrees with the reference solutions".into(),
            problems: each(starts_processes),
        },
        Finding {
            what: "every todo!() of the stubs names a section of its README".into(),
            problems: each(todos),
        },
    ]
}

#[cfg(test)]
mod tests;
