//! The second box: for machines where bubblewrap cannot create its
//! namespaces (a default Docker container: root, Docker's default
//! capabilities, a seccomp filter that refuses new namespaces; Ubuntu's
//! restriction of unprivileged user namespaces) but the grader is root.
//!
//! It is made of what such a container allows, kernel mechanisms reached
//! through `std`, `nix` and `landlock`:
//!
//! - **users of its own**: cargo builds as a build user reserved for this
//!   grading, the only owner of the build directories while it lasts; every
//!   run of student code gets a run user of its own (two tests at once never
//!   share one), who owns nothing but a scratch directory and the
//!   directories the run may write. Their uids come from a range no
//!   distribution or container runtime hands out, are in neither
//!   `/etc/passwd` nor `/etc/group`, run no process when taken, and are
//!   locked (`/run/grader-box`) so that two graders never take the same one.
//!   The course, the submission's copy (root's, read-only to others), the
//!   grader and `--out` are not theirs to write; a run user cannot signal or
//!   trace the grader, the build user or another run;
//! - **limits** (`setrlimit`): processes per run, file size, CPU time,
//!   address space, no core files; `no_new_privs`;
//! - **nothing left behind**: when a run ends, every process of its user is
//!   killed (`kill(-1)` as that user, whatever session or group it moved
//!   to), its scratch directory and what it left in the shared temporary
//!   directories are removed, and a run that writes more than
//!   [`DISK_BUDGET`] into its directories is killed while it runs;
//! - **Landlock**, where the kernel has it: the view bubblewrap would give
//!   (system directories, the toolchain for builds, the graded tree, the build
//!   directory, the run's own directories, read-only but the last), no TCP,
//!   no signal to a process outside the run.
//!
//! What it does not give, said in the report's header: other processes stay
//! visible in `/proc`; UDP and other sockets still reach the network; without
//! Landlock, every file any user may read stays readable and the shared
//! temporary directories writable.

mod as_user;
mod ending;
mod files;
mod ids;
mod processes;
#[cfg(test)]
mod tests;
mod tools;

use super::isolation::{Activity, Confined, Visibility, RUN_ENVIRONMENT};
use crate::sandbox;
use anyhow::Context;
use as_user::*;
pub use ending::*;
use files::*;
use ids::*;
use landlock::{
    Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, Scope, ABI,
};
use nix::sys::resource::Resource;
pub use processes::*;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tools::*;

/// The first uid (and gid) the box takes: above every range distributions
/// and container runtimes hand out (systemd's container range ends at
/// 1879048191), below 2^31, which some programs read as negative.
const FIRST_ID: u32 = 1_900_000_000;
/// How many ids the box picks from.
const ID_SPAN: u32 = 200_000_000;
/// Where the box's users are locked, one file each (root's alone).
const LOCK_DIR: &str = "/run/grader-box";
/// Limits on one run of student code, soft and hard alike.
const RUN_LIMITS: &[(Resource, u64)] = &[
    // Processes (threads count too) of the run's user: its own, so a fork
    // bomb stops here and touches no other run.
    (Resource::RLIMIT_NPROC, 512),
    // Files it writes.
    (Resource::RLIMIT_FSIZE, 256 << 20),
    // CPU seconds per process, above any timeout's worth of one core.
    (Resource::RLIMIT_CPU, 1200),
    // Address space per process: a memory bomb fails, threads and arenas fit.
    (Resource::RLIMIT_AS, 8 << 30),
    (Resource::RLIMIT_CORE, 0),
];
/// The most a run may keep in its scratch and writable directories; above,
/// it is killed (as bubblewrap's scratch /tmp is a 256 MiB tmpfs).
pub const DISK_BUDGET: u64 = 512 << 20;
/// The most entries counted in a run's directories (past them the run is
/// over its budget too: empty files fill a disk's inodes).
const DISK_ENTRIES: usize = 100_000;
/// How often a run's directories are measured.
const DISK_EVERY: Duration = Duration::from_millis(250);
/// The shared temporary directories a run may write where Landlock does
/// not stop it; what its user left there is removed when the run ends.
const SHARED_TEMP: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];
/// The Landlock ABI whose rights the box asks for (Linux 6.12): files,
/// TCP and signal scoping. Older kernels enforce what they have.
const LANDLOCK_ABI: ABI = ABI::V6;

/// The uid box of this grading: its users, what Landlock gives here, and
/// the build directories handed to the build user.
#[derive(Clone)]
pub struct UidBox {
    inner: Arc<Inner>,
}

struct Inner {
    build: Reserved,
    /// Run users not in use, each left with no process.
    free_runs: Mutex<Vec<Reserved>>,
    /// Run users in use, for [`kill_every_run`].
    active_runs: Mutex<Vec<u32>>,
    landlock: Landlock,
    /// Build directories handed to the build user, with the toolchain its
    /// builds there use.
    handed: Mutex<BTreeMap<PathBuf, HandedDir>>,
    /// The toolchain of each course graded, found (and shared) once: the
    /// crates its lock file names do not change while the grader runs.
    tools: Mutex<BTreeMap<PathBuf, Arc<BuildTools>>>,
}

impl std::fmt::Debug for UidBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UidBox")
            .field("build", &self.inner.build.id)
            .field("landlock", &self.inner.landlock)
            .finish_non_exhaustive()
    }
}

/// What Landlock enforces on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Landlock {
    Unavailable,
    /// Files only (Linux 5.13 to 6.6).
    Files,
    /// Files and TCP (Linux 6.7 to 6.11).
    FilesAndTcp,
    /// Files, TCP, and signals and abstract sockets scoped to the run.
    Full,
}

/// A uid (and the gid of the same number) taken for this grading.
struct Reserved {
    id: u32,
    /// Held while the id is ours: another grader's [`reserve`] skips it.
    lock: Option<nix::fcntl::Flock<fs::File>>,
    lock_path: PathBuf,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        // Removed while still locked: a grader that opened it before sees,
        // once it has the lock, that the path is no longer its file.
        let _ = fs::remove_file(&self.lock_path);
        self.lock.take();
    }
}

/// A build directory handed to the build user.
struct HandedDir {
    holders: usize,
    tools: Arc<BuildTools>,
    /// Held while this grading builds there: another grading waits.
    _lock: nix::fcntl::Flock<fs::File>,
}

/// The toolchain the build user runs, at paths it can reach.
#[derive(Debug, Clone)]
struct BuildTools {
    cargo: PathBuf,
    bin: PathBuf,
    cargo_home: PathBuf,
    /// Read-only in the build's view.
    readable: Vec<PathBuf>,
}

/// The box of this process, made once: its build user lives as long as the
/// grading.
static SHARED: OnceLock<Result<UidBox, String>> = OnceLock::new();

/// This process's uid box. `Err` says why there is none.
pub fn shared() -> Result<UidBox, String> {
    SHARED.get_or_init(detect).clone()
}

/// Kill every run in progress (the grader is being interrupted); makes no
/// box when there is none.
pub fn kill_every_run() {
    if let Some(Ok(uid_box)) = SHARED.get() {
        let active = uid_box.inner.active_runs.lock().map(|a| a.clone());
        for id in active.unwrap_or_default() {
            kill_everything_of(id);
        }
    }
}

fn detect() -> Result<UidBox, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the uid box needs the grader to run as root, to switch users".to_owned());
    }
    let lock_dir = lock_dir().map_err(|e| format!("the uid box cannot lock its users: {e:#}"))?;
    let build = reserve(&lock_dir).map_err(|e| format!("the uid box has no free user: {e}"))?;
    let uid_box = UidBox {
        inner: Arc::new(Inner {
            build,
            free_runs: Mutex::new(Vec::new()),
            active_runs: Mutex::new(Vec::new()),
            landlock: landlock_here(),
            handed: Mutex::new(BTreeMap::new()),
            tools: Mutex::new(BTreeMap::new()),
        }),
    };
    uid_box.probe()?;
    // Nothing of the grader's (memory, open files) is readable through
    // /proc by a process of another user, whatever it becomes.
    let _ = nix::sys::prctl::set_dumpable(false);
    Ok(uid_box)
}

impl UidBox {
    /// Run `true` as a run user: the grader can switch users here.
    fn probe(&self) -> Result<(), String> {
        let view = Visibility {
            readable: Vec::new(),
            target_dir: std::env::temp_dir(),
        };
        let mut command = Command::new("/bin/sh");
        command.args(["-c", ":"]).current_dir("/");
        let mut probe = self.confine(&command, &view, Activity::Run { writable: &[] });
        let limit = Duration::from_secs(30);
        match sandbox::run_confined(&mut probe, None, limit, 4096) {
            Ok(output) if output.success() => Ok(()),
            Ok(output) => Err(format!(
                "the uid box cannot run a program as a user of its own ({}: {})",
                output.describe_end(limit),
                output.stderr.tail_text(300).trim()
            )),
            Err(error) => Err(format!(
                "the uid box cannot switch to a user of its own ({error}): is CAP_SETUID dropped?"
            )),
        }
    }

    /// One line for the report's header: the box, and what it does not give.
    pub fn description(&self) -> String {
        let limits = "student code runs as a user of its own for each run, with limits on processes, file size, CPU time and memory";
        let landlock = match self.inner.landlock {
            Landlock::Full => "Landlock: it opens only the graded tree, the build and its own directories, and reaches no TCP port and no other process; UDP still reaches the network, other processes stay visible",
            Landlock::FilesAndTcp => "Landlock: it opens only the graded tree, the build and its own directories, and reaches no TCP port; UDP still reaches the network, other processes stay visible",
            Landlock::Files => "Landlock: it opens only the graded tree, the build and its own directories; the network stays reachable, other processes stay visible",
            Landlock::Unavailable => "no Landlock on this kernel: it can read every file all users may read and write the shared /tmp, the network stays reachable, other processes stay visible",
        };
        format!("isolated (uid box, bubblewrap being unavailable here: {limits}; {landlock})")
    }

    /// Make a tree's build directory the build user's and the tree readable
    /// to the box's users, for as long as the returned guard lives; `copy`
    /// is a submission's copy (made read-only to everyone but root).
    /// `course_root` is where a toolchain out of the users' reach is shared.
    pub fn hand_over(
        &self,
        course_root: &Path,
        view: &Visibility,
        copy: Option<&Path>,
    ) -> anyhow::Result<Handed> {
        for dir in view.readable.iter().chain([&view.target_dir]) {
            check_reachable(dir)?;
        }
        if let Some(copy) = copy {
            read_only_to_others(copy)?;
        }
        let target = view.target_dir.clone();
        let mut handed = self.inner.handed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = handed.get_mut(&target) {
            dir.holders += 1;
        } else {
            let tools = self.tools_of(course_root)?;
            let lock = lock_build_dir(&target)?;
            let id = self.inner.build.id;
            own_tree(&target, id).with_context(|| {
                format!("cannot hand {} to the box's build user", target.display())
            })?;
            let dir = HandedDir {
                holders: 1,
                tools,
                _lock: lock,
            };
            handed.insert(target.clone(), dir);
        }
        Ok(Handed {
            uid_box: self.clone(),
            target,
        })
    }

    fn tools_of(&self, course_root: &Path) -> anyhow::Result<Arc<BuildTools>> {
        let mut tools = self.inner.tools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = tools.get(course_root) {
            return Ok(found.clone());
        }
        let found = Arc::new(build_tools(course_root)?);
        tools.insert(course_root.to_path_buf(), found.clone());
        Ok(found)
    }

    /// `command` as the box runs it: cargo as the build user, student code
    /// as a run user of its own.
    pub fn confine(&self, command: &Command, view: &Visibility, phase: Activity) -> Confined {
        let confined = match phase {
            Activity::Build => self.confine_build(command, view),
            Activity::Run { writable } => self.confine_run(command, view, writable),
        };
        confined.unwrap_or_else(|error| Confined::failed(command, error))
    }

    fn confine_build(&self, command: &Command, view: &Visibility) -> io::Result<Confined> {
        let tools = self
            .inner
            .handed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&view.target_dir)
            .map(|dir| dir.tools.clone())
            .ok_or_else(|| io::Error::other("the build directory was not handed to the box"))?;
        let id = self.inner.build.id;
        let scratch = scratch_dir(id)?;
        let mut readable = system_dirs();
        readable.extend(tools.readable.iter().cloned());
        readable.extend(view.readable.iter().cloned());
        let writable = vec![view.target_dir.clone(), scratch.path().to_path_buf()];
        let ruleset = self.ruleset(&readable, &writable)?;
        // cargo is the build user's (the grader's may be out of its reach);
        // any other program keeps its own, and finds that cargo on PATH.
        let program = Path::new(command.get_program());
        let mut build = if program.file_name().is_some_and(|name| name == "cargo") {
            Command::new(&tools.cargo)
        } else {
            Command::new(program)
        };
        build.args(command.get_args()).env_clear();
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", tools.bin.display());
        build
            .env("PATH", path)
            .env("HOME", scratch.path())
            .env("TMPDIR", scratch.path())
            .env("CARGO_HOME", &tools.cargo_home)
            .env("RUSTC", tools.bin.join("rustc"))
            .env("LANG", "C.UTF-8");
        copy_changes(command, &mut build);
        // Every dependency was fetched before the build.
        build.env("CARGO_NET_OFFLINE", "true");
        as_user(&mut build, id, &[], ruleset);
        Ok(Confined::boxed(build, Box::new(Ending::build(scratch))))
    }

    fn confine_run(
        &self,
        command: &Command,
        view: &Visibility,
        writable: &[PathBuf],
    ) -> io::Result<Confined> {
        let user = self.take_run_user()?;
        let id = user.id;
        let scratch = match scratch_dir(id) {
            Ok(scratch) => scratch,
            Err(error) => {
                self.give_back(user, true);
                return Err(error);
            }
        };
        let mut writes = writable.to_vec();
        writes.push(scratch.path().to_path_buf());
        let home = scratch.path().to_path_buf();
        // From here on, whatever fails, the ending cleans up.
        let ending = Ending::run(self.clone(), user, scratch, writable);
        for dir in writable {
            std::os::unix::fs::lchown(dir, Some(id), Some(id))?;
        }
        let mut readable = system_dirs();
        readable.extend(view.readable.iter().cloned());
        readable.push(view.target_dir.clone());
        let ruleset = self.ruleset(&readable, &writes)?;
        let mut run = Command::new(command.get_program());
        run.args(command.get_args()).env_clear();
        for (name, value) in RUN_ENVIRONMENT {
            run.env(name, value);
        }
        run.env("HOME", &home).env("TMPDIR", &home);
        copy_changes(command, &mut run);
        as_user(&mut run, id, RUN_LIMITS, ruleset);
        Ok(Confined::boxed(run, Box::new(ending)))
    }

    /// The Landlock rules of one build or run: `readable` read-only (and
    /// executable), `writable` anything, `/dev`'s devices read and written.
    fn ruleset(
        &self,
        readable: &[PathBuf],
        writable: &[PathBuf],
    ) -> io::Result<Option<RulesetCreated>> {
        if self.inner.landlock == Landlock::Unavailable {
            return Ok(None);
        }
        let abi = LANDLOCK_ABI;
        let dev = PathBuf::from("/dev");
        let devices = AccessFs::from_read(abi)
            | AccessFs::WriteFile
            | AccessFs::Truncate
            | AccessFs::IoctlDev;
        let rules = readable
            .iter()
            .map(|dir| (dir, AccessFs::from_read(abi)))
            .chain(writable.iter().map(|dir| (dir, AccessFs::from_all(abi))))
            .chain([(&dev, devices)]);
        let landlock =
            |error: landlock::RulesetError| io::Error::other(format!("Landlock: {error}"));
        let mut ruleset = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
            .and_then(|r| r.scope(Scope::from_all(abi)))
            .and_then(|r| r.create())
            .map_err(landlock)?;
        for (dir, access) in rules {
            let fd = PathFd::new(dir).map_err(|e| io::Error::other(e.to_string()))?;
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, access))
                .map_err(landlock)?;
        }
        Ok(Some(ruleset))
    }

    /// A run user: one left clean by an earlier run, or a new one.
    fn take_run_user(&self) -> io::Result<Reserved> {
        let free = self.inner.free_runs.lock().map(|mut f| f.pop());
        let user = match free.ok().flatten() {
            Some(user) => user,
            None => reserve(Path::new(LOCK_DIR))?,
        };
        if let Ok(mut active) = self.inner.active_runs.lock() {
            active.push(user.id);
        }
        Ok(user)
    }

    /// `user` is done: reused when nothing of it is left, else let go.
    fn give_back(&self, user: Reserved, clean: bool) {
        if let Ok(mut active) = self.inner.active_runs.lock() {
            active.retain(|id| *id != user.id);
        }
        if clean {
            if let Ok(mut free) = self.inner.free_runs.lock() {
                free.push(user);
            }
        }
    }

    fn release(&self, target: &Path) {
        let mut handed = self.inner.handed.lock().unwrap_or_else(|e| e.into_inner());
        let Some(dir) = handed.get_mut(target) else {
            return;
        };
        dir.holders -= 1;
        if dir.holders == 0 {
            // Root's again until the next grading: no user of this one keeps
            // anything (its uid may be another program's tomorrow).
            let _ = own_tree(target, 0);
            handed.remove(target);
        }
    }
}
