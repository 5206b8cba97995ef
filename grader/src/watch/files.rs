//! Saves under the exercises' `src` directories, as [`Event::Saved`].
//!
//! An editor's save is several file events (a temporary file, a rename, a
//! metadata change): the debouncer gathers those that come within
//! [`DEBOUNCE`] of each other into one.

use super::state::Event;
use anyhow::Context;
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, DebouncedEventKind, Debouncer};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

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
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        let event = match result {
            Ok(changes) => {
                let paths: Vec<&Path> = changes
                    .iter()
                    .filter(|c| c.kind == DebouncedEventKind::Any)
                    .map(|c| c.path.as_path())
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

/// The exercises (indices into `dirs`, sorted) that own one of the saved
/// Rust files in `paths`; editors' temporary and swap files do not count.
pub fn exercises_of(dirs: &[PathBuf], paths: &[&Path]) -> Vec<usize> {
    let mut exercises: Vec<usize> = paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
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
}
