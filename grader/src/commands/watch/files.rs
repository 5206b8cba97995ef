//! Saves under the exercises' `src` directories, as [`Event::Saved`].
//!
//! An editor's save is several file events (a temporary file, a rename, a
//! metadata change): the debouncer gathers those that come within
//! [`DEBOUNCE`] of each other into one. Events also come when a file is only
//! opened, as by the build a save starts: a file counts as saved only when
//! it changed since it was last seen ([`Seen`]), or every run would start
//! another.

use super::state::Event;
use anyhow::Context;
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, DebouncedEventKind, Debouncer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime};

/// How long a burst of file events may last and still be one save.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches the files; dropping it stops watching.
pub struct FileWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

/// Send an [`Event::Saved`] to `events` for every save of a `.rs` file
/// under one of `src_dirs` (exercise `i`'s is `src_dirs[i]`).
pub fn watch(src_dirs: &[PathBuf], events: Sender<Event>) -> anyhow::Result<FileWatcher> {
    let dirs: Vec<PathBuf> = src_dirs
        .iter()
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()))
        .collect();
    let watched = dirs.clone();
    let mut seen = Seen::now(&dirs);
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        let event = match result {
            Ok(changes) => {
                let paths: Vec<&Path> = changes
                    .iter()
                    .filter(|c| c.kind == DebouncedEventKind::Any)
                    .map(|c| c.path.as_path())
                    .filter(|p| is_rust(p) && seen.changed(p))
                    .collect();
                let exercises = exercises_of(&watched, &paths);
                if exercises.is_empty() {
                    return;
                }
                Event::Saved(exercises)
            }
            Err(e) => Event::Failed(format!("cannot watch the exercises' files: {e}")),
        };
        // The receiver is gone only when the watch is ending.
        let _ = events.send(event);
    })
    .context("cannot watch the exercises' files")?;
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {}", dir.display()))?;
    }
    Ok(FileWatcher {
        _debouncer: debouncer,
    })
}

/// What the Rust files under the watched directories were like when last
/// seen: modified when, and how long (none once gone).
#[derive(Debug, Default)]
pub struct Seen(HashMap<PathBuf, Option<(Option<SystemTime>, u64)>>);

impl Seen {
    /// Every Rust file under `dirs` as it is now.
    pub fn now(dirs: &[PathBuf]) -> Seen {
        let mut seen = Seen::default();
        for dir in dirs {
            let files = walkdir::WalkDir::new(dir).into_iter().flatten();
            for file in files.filter(|f| f.file_type().is_file() && is_rust(f.path())) {
                seen.changed(file.path());
            }
        }
        seen
    }

    /// Whether `path` is new, gone or different since it was last seen;
    /// it is remembered as it is now.
    pub fn changed(&mut self, path: &Path) -> bool {
        let now = std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().ok(), m.len()));
        self.0.insert(path.to_path_buf(), now) != Some(now)
    }
}

/// Editors' temporary and swap files are not Rust files.
fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}

/// The exercises (indices into `dirs`, sorted) that own one of the saved
/// Rust files in `paths`; editors' temporary and swap files do not count.
pub fn exercises_of(dirs: &[PathBuf], paths: &[&Path]) -> Vec<usize> {
    let mut exercises: Vec<usize> = paths
        .iter()
        .filter(|p| is_rust(p))
        .filter_map(|p| dirs.iter().position(|d| p.starts_with(d)))
        .collect();
    exercises.sort_unstable();
    exercises.dedup();
    exercises
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn only_rust_files_under_an_exercise_count() {
        let dirs = [PathBuf::from("/c/ex01/src"), PathBuf::from("/c/ex02/src")];
        let paths = [
            Path::new("/c/ex02/src/lib.rs"),
            Path::new("/c/ex02/src/.lib.rs.swp"),
            Path::new("/c/ex01/src/bin/4913"),
            Path::new("/c/ex01/tests/ex01.rs"),
            Path::new("/c/ex02/src/bin/worker.rs"),
        ];
        assert_eq!(exercises_of(&dirs, &paths), vec![1]);
    }

    #[test]
    fn a_save_arrives_as_one_event() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = ["ex01/src", "ex02/src"]
            .iter()
            .map(|d| root.path().join(d))
            .collect();
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap();
        }
        let (tx, rx) = mpsc::channel();
        let _watcher = watch(&dirs, tx).unwrap();
        std::fs::write(dirs[1].join("lib.rs"), "pub fn f() {}\n").unwrap();
        // A bound on waiting for the event to arrive at all, not a timing check.
        let event = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(event, Event::Saved(vec![1]));
    }

    #[test]
    fn reading_a_file_is_not_a_save() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = ["ex01/src", "ex02/src"]
            .iter()
            .map(|d| root.path().join(d))
            .collect();
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("lib.rs"), "pub fn f() {}\n").unwrap();
        }
        let (tx, rx) = mpsc::channel();
        let _watcher = watch(&dirs, tx).unwrap();
        // Opened and read, as a build does; then ex02 saved.
        std::fs::read(dirs[0].join("lib.rs")).unwrap();
        std::fs::write(dirs[1].join("lib.rs"), "pub fn g() {}\n").unwrap();
        // A bound on waiting for the event to arrive at all.
        let event = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(event, Event::Saved(vec![1]), "the read counted as a save");
    }

    #[test]
    fn a_file_changes_when_it_is_written_created_or_removed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("src");
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("lib.rs");
        std::fs::write(&lib, "pub fn f() {}\n").unwrap();
        let mut seen = Seen::now(std::slice::from_ref(&dir));
        assert!(!seen.changed(&lib), "as it was seen");
        std::fs::read(&lib).unwrap();
        assert!(!seen.changed(&lib), "read only");
        std::fs::write(&lib, "pub fn f() { todo!() }\n").unwrap();
        assert!(seen.changed(&lib), "written");
        assert!(!seen.changed(&lib), "seen since");
        let new = dir.join("new.rs");
        std::fs::write(&new, "").unwrap();
        assert!(seen.changed(&new), "created");
        std::fs::remove_file(&lib).unwrap();
        assert!(seen.changed(&lib), "removed");
    }
}
