//! Starting a command as one of the box's users: limits, `no_new_privs`, Landlock, the
//! environment and the directories a run sees.

use super::*;
use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreated,
    Scope, ABI,
};
use nix::sys::resource::Resource;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// Set up `command` to start as `id` (uid and gid, no other group), with
/// `limits`, `no_new_privs`, files created readable to others (the build's
/// outputs are run by other users) and, when there is one, `ruleset`.
pub(super) fn as_user(
    command: &mut Command,
    id: u32,
    limits: &'static [(Resource, u64)],
    ruleset: Option<RulesetCreated>,
) {
    // std drops the supplementary groups, then sets the gid and the uid,
    // before the hook below runs.
    command.uid(id).gid(id);
    let mut ruleset = ruleset;
    let hook = move || -> io::Result<()> {
        use nix::sys::stat::{umask, Mode};
        umask(Mode::from_bits_truncate(0o022));
        for &(resource, limit) in limits {
            nix::sys::resource::setrlimit(resource, limit, limit)?;
        }
        nix::sys::prctl::set_no_new_privs()?;
        if let Some(ruleset) = ruleset.take() {
            ruleset
                .restrict_self()
                .map_err(|_| io::Error::from(nix::errno::Errno::EPERM))?;
        }
        Ok(())
    };
    run_before_exec(command, hook);
}

/// Run `hook` in the child between fork and exec.
#[allow(unsafe_code)]
pub(super) fn run_before_exec(
    command: &mut Command,
    hook: impl FnMut() -> io::Result<()> + Send + Sync + 'static,
) {
    // SAFETY: the hook runs in the forked child of a threaded process, where
    // only async-signal-safe work is sound. It makes system calls only
    // (umask, setrlimit, prctl, landlock_restrict_self, close): every
    // allocation (the Landlock ruleset, the paths) was made in the parent,
    // and its errors are raw OS errors, which do not allocate.
    unsafe {
        command.pre_exec(hook);
    }
}

/// Copy `from`'s environment changes (set variables only: the box starts
/// from an empty environment), working directory onto `to`.
pub(super) fn copy_changes(from: &Command, to: &mut Command) {
    for (name, value) in from.get_envs() {
        if let Some(value) = value {
            to.env(name, value);
        }
    }
    if let Some(dir) = from.get_current_dir() {
        to.current_dir(dir);
    }
}

/// A fresh scratch directory owned by `id` (its HOME and TMPDIR), closed to
/// everyone else.
pub(super) fn scratch_dir(id: u32) -> io::Result<tempfile::TempDir> {
    let scratch = tempfile::Builder::new().prefix("grader-box-").tempdir()?;
    std::os::unix::fs::lchown(scratch.path(), Some(id), Some(id))?;
    Ok(scratch)
}

/// The system's part of every view: programs, libraries, configuration,
/// `/proc` and the cgroup files (the harness reads its cgroup's CPU figures).
pub(super) fn system_dirs() -> Vec<PathBuf> {
    [
        "/usr",
        "/etc",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/sys/fs/cgroup",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|dir| dir.exists())
    .collect()
}

/// What Landlock enforces here: the widest set of rights the kernel takes
/// as a hard requirement.
pub(super) fn landlock_here() -> Landlock {
    let takes = |abi: ABI| {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| match Scope::from_all(abi).is_empty() {
                true => Ok(r),
                false => r.scope(Scope::from_all(abi)),
            })
            .and_then(|r| match AccessNet::from_all(abi).is_empty() {
                true => Ok(r),
                false => r.handle_access(AccessNet::from_all(abi)),
            })
            .and_then(|r| r.create())
            .is_ok()
    };
    if takes(ABI::V6) {
        Landlock::Full
    } else if takes(ABI::V4) {
        Landlock::FilesAndTcp
    } else if takes(ABI::V1) {
        Landlock::Files
    } else {
        Landlock::Unavailable
    }
}
