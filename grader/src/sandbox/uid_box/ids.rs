//! The box's uids: reserved under a lock directory of root's, from a range no one else
//! hands out.

use super::*;
use anyhow::{bail, Context};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The lock directory, root's alone (a directory another user made, or a
/// link, is refused).
pub(super) fn lock_dir() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(LOCK_DIR);
    match fs::create_dir(&dir) {
        Ok(()) => fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot close {}", dir.display()))?,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(error).with_context(|| format!("cannot create {}", dir.display()))
        }
    }
    let meta =
        fs::symlink_metadata(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        bail!("{} is not a directory only root may write", dir.display());
    }
    Ok(dir)
}

/// Take a free id: in neither /etc/passwd nor /etc/group, running no
/// process, and not locked by another grader.
pub(super) fn reserve(lock_dir: &Path) -> io::Result<Reserved> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    for attempt in 0..256u32 {
        let id = FIRST_ID + seed.wrapping_add(attempt.wrapping_mul(7919)) % ID_SPAN;
        if is_known(id) || processes_of(id).any() {
            continue;
        }
        let path = lock_dir.join(id.to_string());
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        use nix::fcntl::{Flock, FlockArg};
        if let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            // Checked again under the lock: the file is still the one at
            // the path (not one a grader let go of and removed), and a
            // grader that held it may have started processes as this id.
            let same = match (lock.metadata(), fs::metadata(&path)) {
                (Ok(locked), Ok(now)) => locked.ino() == now.ino() && locked.dev() == now.dev(),
                _ => false,
            };
            if same && !processes_of(id).any() {
                return Ok(Reserved {
                    id,
                    lock: Some(lock),
                    lock_path: path,
                });
            }
        }
    }
    Err(io::Error::other("every id tried is in use"))
}

/// Whether a user or group of this number exists.
pub(super) fn is_known(id: u32) -> bool {
    use nix::unistd::{Gid, Group, Uid, User};
    !matches!(User::from_uid(Uid::from_raw(id)), Ok(None))
        || !matches!(Group::from_gid(Gid::from_raw(id)), Ok(None))
}
