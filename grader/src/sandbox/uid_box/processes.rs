//! The processes of one of the box's users, found in `/proc` and killed, and what
//! they left in the shared temporary directories.

use super::*;
use crate::sandbox;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// The processes with `id` as one of their uids or gids.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Processes {
    pub running: usize,
    /// Dead, waiting for their parent: they run nothing but still count
    /// against the user's process limit.
    pub zombies: usize,
}

impl Processes {
    pub(super) fn any(self) -> bool {
        self.running + self.zombies > 0
    }
}

/// Count the processes of `id` in `/proc`.
pub fn processes_of(id: u32) -> Processes {
    let mut found = Processes::default();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let ids_of = |field: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .is_some_and(|ids| ids.split_whitespace().any(|i| i == id.to_string()))
        };
        if ids_of("Uid:") || ids_of("Gid:") {
            let zombie = status
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'));
            if zombie {
                found.zombies += 1;
            } else {
                found.running += 1;
            }
        }
    }
    found
}

/// Kill every process of `id`, whatever session or group it is in: a
/// process of that user sends SIGKILL to every process it may signal
/// (`kill -1`), which are exactly the user's. True when none is left, not
/// even a zombie.
pub fn kill_everything_of(id: u32) -> bool {
    let mut zombie_rounds = 0;
    for round in 0..50u64 {
        let left = processes_of(id);
        if left.running == 0 {
            // Orphans are reaped by init, a moment later (or never, by an
            // init that does not reap: then the user is not used again).
            if left.zombies == 0 || zombie_rounds == 10 {
                return left.zombies == 0;
            }
            zombie_rounds += 1;
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let mut kill = Command::new("/bin/sh");
        kill.args(["-c", "kill -KILL -1"]).uid(id).gid(id);
        let _ = sandbox::run(&mut kill, Duration::from_secs(10), 1024);
        std::thread::sleep(Duration::from_millis(2 * round));
    }
    false
}

/// Remove what `id` left at the top of the shared temporary directories.
pub(super) fn remove_left_in_shared_temp(id: u32) {
    for dir in SHARED_TEMP {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.uid() == id {
                let _ = if meta.is_dir() {
                    fs::remove_dir_all(entry.path())
                } else {
                    fs::remove_file(entry.path())
                };
            }
        }
    }
}
