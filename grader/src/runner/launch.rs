//! How a run of an exercise's executable looks from inside it: the same for
//! each test and for the harness, so that student code cannot tell the run
//! being measured from a test by anything cheap to look at.
//!
//! | what student code can look at | a test | the harness |
//! | --- | --- | --- |
//! | its executable | a copy named `<package>-<16 hex digits>` (the shape of cargo's test executables), alone in a fresh directory of the build directory, read-only | the same |
//! | its arguments | libtest's for one test: `<test> --exact --test-threads 1` | those of one of the exercise's tests, picked at random |
//! | the thread it runs on | libtest's, named after the test | the harness's, named after that same test ([`protocol::observe::harness`]) |
//! | its environment | a test run's ([`command`]) | the same |
//! | its working directory | the package's | the same |
//! | its stdin | a pipe, empty | a pipe, empty once the harness has read its settings, before any student code runs |
//! | its scratch space | a private `/tmp` holding, in a directory it may pass through but not list, one fresh, empty, writable directory | the same: the measurements go there when measuring is over, and the progress file's name is removed before student code runs |
//!
//! What remains is how it was built: the tests in debug, the harness in
//! release (`cfg!(debug_assertions)`). A claim that student code could fake
//! by behaving differently in release is also checked by a test, without
//! timing (see course.yaml's `tested_by`).

use crate::workspace::GradedTree;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the copies are made, inside the build directory (read-only to
/// student code, and already visible inside the box).
const RUNS_DIR: &str = "grader-runs";

/// A copy of an executable under a neutral name; removed when dropped.
pub(super) struct NeutralCopy {
    /// The copy itself.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Copy `executable` alone into a fresh directory of the build directory
/// `target_dir`, named `<package>-<16 hex digits>`, readable and runnable by
/// whoever runs student code.
pub(super) fn neutral_copy(
    target_dir: &Path,
    executable: &Path,
    package: &str,
) -> std::io::Result<NeutralCopy> {
    let parent = target_dir.join(RUNS_DIR);
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&parent)?;
    // Another user runs it: the box's (tempfile makes directories 0700).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    }
    let path = dir.path().join(format!("{package}-{:016x}", random()));
    std::fs::copy(executable, &path)?;
    Ok(NeutralCopy { path, _dir: dir })
}

/// A run's scratch directory; removed when dropped.
pub(super) struct Scratch {
    dir: tempfile::TempDir,
    // Dropped after `dir`, which it holds.
    _parent: tempfile::TempDir,
}

impl Scratch {
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A fresh, empty directory that student code may write, as every run gets
/// one: the harness's measurements go there, a test's stays empty. It sits
/// in a directory others may pass through but not list, so that its name is
/// known only where it is given (to the harness, on stdin): a process
/// student code leaves behind cannot look for the measurements file to
/// rewrite it once the harness has written it.
pub(super) fn scratch_dir(tree: &GradedTree) -> std::io::Result<Scratch> {
    let parent = tempfile::tempdir()?;
    let dir = tempfile::tempdir_in(parent.path())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o711))?;
        if tree.isolation.runs_as_nobody() {
            let nobody = Some(crate::sandbox::isolation::NOBODY);
            std::os::unix::fs::chown(dir.path(), nobody, nobody)?;
        }
    }
    #[cfg(not(unix))]
    let _ = tree;
    Ok(Scratch {
        dir,
        _parent: parent,
    })
}

/// The command that runs `executable` as `cargo test` runs a test: from the
/// package's directory, in a clean environment, with libtest's arguments for
/// the one test `test`.
pub(super) fn command(executable: &Path, package_dir: &Path, test: &str) -> Command {
    let mut command = bare_command(executable, package_dir);
    command.args([test, "--exact", "--test-threads", "1"]);
    command
}

/// [`command`] without arguments, for `--list`.
pub(super) fn bare_command(executable: &Path, package_dir: &Path) -> Command {
    let mut command = Command::new(executable);
    crate::sandbox::scrub_env(&mut command);
    command
        .current_dir(package_dir)
        .env("CARGO_MANIFEST_DIR", package_dir)
        // The student's prints stay inside libtest's capture.
        .env_remove("RUST_TEST_NOCAPTURE")
        .env("RUST_BACKTRACE", "0");
    command
}

/// One of `tests` (`target::name` or `name`), picked at random: the test
/// whose command line a harness run gets. `main` when there is none.
pub(super) fn any_test_name(tests: &[String]) -> String {
    let Some(len) = u64::try_from(tests.len()).ok().filter(|n| *n > 0) else {
        return "main".to_owned();
    };
    let index = usize::try_from(random() % len).unwrap_or(0);
    let name = &tests[index];
    name.split_once("::")
        .map_or(name.as_str(), |(_, n)| n)
        .to_owned()
}

/// 64 random bits from the standard library's per-process hash keys.
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_and_the_harness_get_the_same_kind_of_command_line() {
        let (exe, dir) = (
            Path::new("/b/run-x/ex04-0123456789abcdef"),
            Path::new("/c/ex04"),
        );
        let test = command(exe, dir, "sweep_works");
        let harness = command(exe, dir, &any_test_name(&["ex04::sweep_works".to_owned()]));
        let args = |c: &Command| c.get_args().map(|a| a.to_owned()).collect::<Vec<_>>();
        assert_eq!(args(&test), args(&harness));
        assert_eq!(
            args(&test),
            ["sweep_works", "--exact", "--test-threads", "1"]
        );
        let envs = |c: &Command| {
            c.get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect::<Vec<_>>()
        };
        assert_eq!(envs(&test), envs(&harness));
        assert_eq!(test.get_current_dir(), Some(dir));
        assert_eq!(any_test_name(&[]), "main");
    }

    #[test]
    fn copies_have_the_shape_of_a_test_executable_and_their_own_directory() {
        let target = tempfile::tempdir().unwrap();
        let exe = target.path().join("original");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let (a, b) = (
            neutral_copy(target.path(), &exe, "ex02").unwrap(),
            neutral_copy(target.path(), &exe, "ex02").unwrap(),
        );
        for copy in [&a, &b] {
            let name = copy.path.file_name().unwrap().to_string_lossy().to_string();
            let (package, hex) = name.split_once('-').unwrap();
            assert_eq!(package, "ex02");
            assert_eq!(hex.len(), 16);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
            let alone: Vec<_> = std::fs::read_dir(copy.path.parent().unwrap())
                .unwrap()
                .collect();
            assert_eq!(alone.len(), 1, "alone in its directory");
        }
        assert_ne!(a.path.parent(), b.path.parent());
        let dir = a.path.parent().unwrap().to_owned();
        drop(a);
        assert!(!dir.exists(), "removed with the copy");
    }
}
