//! Owners and modes: the graded tree read-only to the box's users, the directories they
//! must reach, the build directory's lock.

use anyhow::{bail, Context};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `dir` and everything under it (links themselves, never what they point
/// to) owned by `id` (uid and gid).
pub(super) fn own_tree(dir: &Path, id: u32) -> io::Result<()> {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.map_err(io::Error::other)?;
        let meta = entry.path().symlink_metadata()?;
        if meta.uid() != id || meta.gid() != id {
            std::os::unix::fs::lchown(entry.path(), Some(id), Some(id))?;
        }
    }
    Ok(())
}

/// A submission's copy as the box's users see it: root's, nothing writable
/// by anyone else (a student's file may have come with mode 0666), readable.
pub(super) fn read_only_to_others(copy: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(copy) {
        let entry = entry.with_context(|| format!("cannot read {}", copy.display()))?;
        let meta = entry.path().symlink_metadata()?;
        let mode = if meta.is_dir() || meta.mode() & 0o111 != 0 {
            0o755
        } else if meta.is_file() {
            0o644
        } else {
            continue;
        };
        std::os::unix::fs::lchown(entry.path(), Some(0), Some(0))
            .and_then(|()| fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode)))
            .with_context(|| {
                format!("cannot close {} to the box's users", entry.path().display())
            })?;
    }
    Ok(())
}

/// The first directory on the way to `path` (or `path` itself) that other
/// users cannot pass through, with its mode.
pub(super) fn closed_ancestor(path: &Path) -> Option<(PathBuf, u32)> {
    let mut ancestors: Vec<&Path> = path.ancestors().collect();
    ancestors.reverse();
    ancestors.into_iter().find_map(|dir| {
        let mode = fs::metadata(dir).ok()?.mode();
        (mode & 0o001 == 0).then(|| (dir.to_path_buf(), mode & 0o7777))
    })
}

/// `dir` can be reached by the box's users (they are nobody's group and
/// own nothing on the way).
pub(super) fn check_reachable(dir: &Path) -> anyhow::Result<()> {
    if let Some((closed, mode)) = closed_ancestor(dir) {
        bail!(
            "the uid box's users cannot reach {}: {} is closed to other users (mode {mode:o}); open it (chmod o+x {}) or grade from a directory every user may pass through",
            dir.display(),
            closed.display(),
            closed.display()
        );
    }
    Ok(())
}

/// Lock `target`'s lock file beside it (root's): one grading at a time
/// hands a build directory to its build user; another waits, as cargo
/// waits for a build directory in use.
pub(super) fn lock_build_dir(target: &Path) -> anyhow::Result<nix::fcntl::Flock<fs::File>> {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let path = target.with_file_name(format!("{name}.uid-box-lock"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    use nix::fcntl::{Flock, FlockArg};
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| errno)
        .with_context(|| format!("cannot lock {}", path.display()))
}
