//! What a run leaves when it ends: the build directory given back, every process of the run's
//! user killed, its directories cleaned, and a disk budget watched while it runs.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A build directory handed to the build user; given back (root's again)
/// when the last guard of it is dropped.
pub struct Handed {
    pub(super) uid_box: UidBox,
    pub(super) target: PathBuf,
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.uid_box.release(&self.target);
    }
}

impl std::fmt::Debug for Handed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handed")
            .field("target", &self.target)
            .finish()
    }
}

/// What the box does when a confined process has ended: for a run, kill
/// everything its user left, remove what it wrote, and let the user go.
pub struct Ending {
    scratch: Option<tempfile::TempDir>,
    run: Option<RunEnd>,
}

pub(super) struct RunEnd {
    uid_box: UidBox,
    user: Reserved,
    /// The directories the run could write besides its scratch, root's
    /// again once it has ended.
    writable: Vec<PathBuf>,
    watcher: Option<DiskWatcher>,
}

impl Ending {
    pub(super) fn build(scratch: tempfile::TempDir) -> Ending {
        Ending {
            scratch: Some(scratch),
            run: None,
        }
    }

    pub(super) fn run(
        uid_box: UidBox,
        user: Reserved,
        scratch: tempfile::TempDir,
        writable: &[PathBuf],
    ) -> Ending {
        let mut watched = writable.to_vec();
        watched.push(scratch.path().to_path_buf());
        let watcher = DiskWatcher::start(user.id, watched);
        Ending {
            scratch: Some(scratch),
            run: Some(RunEnd {
                uid_box,
                user,
                writable: writable.to_vec(),
                watcher: Some(watcher),
            }),
        }
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(mut run) = self.run.take() {
            if let Some(watcher) = run.watcher.take() {
                watcher.stop();
            }
            let clean = kill_everything_of(run.user.id);
            // Before the sweep below, which would take them for the run's
            // leftovers; and so that no later run of this user may write
            // there (the grader reads them now).
            for dir in &run.writable {
                let _ = own_tree(dir, 0);
            }
            remove_left_in_shared_temp(run.user.id);
            run.uid_box.give_back(run.user, clean);
        }
        // The scratch directory goes with its TempDir, root removing it.
        self.scratch.take();
    }
}

/// Kills a run whose directories hold more than [`DISK_BUDGET`].
pub(super) struct DiskWatcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl DiskWatcher {
    fn start(id: u32, dirs: Vec<PathBuf>) -> DiskWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::park_timeout(DISK_EVERY);
                if !stopped.load(Ordering::Relaxed) && over_budget(&dirs) {
                    kill_everything_of(id);
                    return;
                }
            }
        });
        DiskWatcher { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

/// Whether `dirs` hold more than [`DISK_BUDGET`] bytes or
/// [`DISK_ENTRIES`] entries.
pub(super) fn over_budget(dirs: &[PathBuf]) -> bool {
    let (mut bytes, mut entries) = (0u64, 0usize);
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
            entries += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
            if bytes > DISK_BUDGET || entries > DISK_ENTRIES {
                return true;
            }
        }
    }
    false
}
