//! Where the course file is: the one given on the command line, else the
//! nearest `course.yaml` at or above the current directory.

use anyhow::Context;
use std::path::{Path, PathBuf};

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
pub fn load_course(given: Option<&Path>) -> anyhow::Result<super::Course> {
    let path = find_course(given)?;
    Ok(super::Course::load(&path)?)
}
