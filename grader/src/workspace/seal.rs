//! The instructor's course as it was when a submission was copied: grading
//! checks that nothing student code ran has changed it.

use super::copy::check_relative;
use anyhow::Context;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The instructor's files a submission's tree is made from, with their
/// contents and SHA-256, taken before any student code runs.
#[derive(Debug)]
pub(super) struct CourseSeal {
    pub(super) root: PathBuf,
    files: Vec<(PathBuf, [u8; 32], Vec<u8>)>,
}

impl CourseSeal {
    /// Every file [`copy_course`] reads, and the solutions.
    pub(super) fn take(
        course_root: &Path,
        exercise_dirs: &[PathBuf],
    ) -> anyhow::Result<CourseSeal> {
        let mut dirs = vec![PathBuf::from("exercises"), PathBuf::from("solutions")];
        dirs.extend(exercise_dirs.iter().cloned());
        let mut paths = vec![
            PathBuf::from("Cargo.toml"),
            PathBuf::from("Cargo.lock"),
            PathBuf::from("course.yaml"),
        ];
        for dir in &dirs {
            check_relative(dir)?;
            let walk = WalkDir::new(course_root.join(dir))
                .into_iter()
                .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"));
            for entry in walk.flatten().filter(|e| e.file_type().is_file()) {
                let relative = entry
                    .path()
                    .strip_prefix(course_root)
                    .expect("walked under the root");
                paths.push(relative.to_path_buf());
            }
        }
        paths.sort();
        paths.dedup();
        let mut files = Vec::new();
        for path in paths {
            let Ok(bytes) = fs::read(course_root.join(&path)) else {
                continue;
            };
            files.push((path, sha256(&bytes), bytes));
        }
        Ok(CourseSeal {
            root: course_root.to_path_buf(),
            files,
        })
    }

    pub(super) fn restore_changes(&self) -> anyhow::Result<Vec<String>> {
        let mut restored = Vec::new();
        for (path, sum, bytes) in &self.files {
            let full = self.root.join(path);
            let now = fs::read(&full).ok();
            if now.as_deref().map(sha256) == Some(*sum) {
                continue;
            }
            if let Some(parent) = full.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot restore {}", full.display()))?;
            }
            fs::write(&full, bytes)
                .with_context(|| format!("cannot restore {}", full.display()))?;
            restored.push(path.display().to_string());
        }
        Ok(restored)
    }
}

/// Whether the directories `a` and `b` hold the same regular files, by path
/// relative to each, with the same bytes; false when either cannot be read or
/// holds anything but directories and regular files.
pub(super) fn same_files(a: &Path, b: &Path) -> bool {
    matches!((files_under(a), files_under(b)), (Some(a), Some(b)) if a == b)
}

/// Every regular file under `root`, by relative path, with its bytes.
pub(super) fn files_under(root: &Path) -> Option<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in WalkDir::new(root) {
        let entry = entry.ok()?;
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(root).ok()?;
            files.insert(relative.to_path_buf(), fs::read(entry.path()).ok()?);
        } else if !entry.file_type().is_dir() {
            return None;
        }
    }
    Some(files)
}

pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
