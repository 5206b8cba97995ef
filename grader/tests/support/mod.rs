//! What the grader's integration tests share: where this course is, its
//! course.yaml, and copying a tree. Each test file uses some of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The repository this grader belongs to: the course the tests grade.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// This course's course.yaml, loaded.
pub fn course() -> grader::course::Course {
    grader::course::Course::load(&repo_root().join("course.yaml")).unwrap()
}

/// Copy every file under `from` to the same place under `to`, leaving out
/// `target` directories (builds).
pub fn copy_tree(from: &Path, to: &Path) {
    let walk = walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != "target");
    for entry in walk {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}
