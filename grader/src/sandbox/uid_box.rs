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

use super::isolation::{Activity, Confined, Visibility, RUN_ENVIRONMENT};
use crate::sandbox;
use anyhow::{bail, Context};
use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};
use nix::sys::resource::Resource;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

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

/// A build directory handed to the build user; given back (root's again)
/// when the last guard of it is dropped.
pub struct Handed {
    uid_box: UidBox,
    target: PathBuf,
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

struct RunEnd {
    uid_box: UidBox,
    user: Reserved,
    /// The directories the run could write besides its scratch, root's
    /// again once it has ended.
    writable: Vec<PathBuf>,
    watcher: Option<DiskWatcher>,
}

impl Ending {
    fn build(scratch: tempfile::TempDir) -> Ending {
        Ending {
            scratch: Some(scratch),
            run: None,
        }
    }

    fn run(
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
struct DiskWatcher {
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
fn over_budget(dirs: &[PathBuf]) -> bool {
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

/// Set up `command` to start as `id` (uid and gid, no other group), with
/// `limits`, `no_new_privs`, files created readable to others (the build's
/// outputs are run by other users) and, when there is one, `ruleset`.
fn as_user(
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
fn run_before_exec(
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
fn copy_changes(from: &Command, to: &mut Command) {
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
fn scratch_dir(id: u32) -> io::Result<tempfile::TempDir> {
    let scratch = tempfile::Builder::new().prefix("grader-box-").tempdir()?;
    std::os::unix::fs::lchown(scratch.path(), Some(id), Some(id))?;
    Ok(scratch)
}

/// The system's part of every view: programs, libraries, configuration,
/// `/proc` and the cgroup files (the harness reads its cgroup's CPU figures).
fn system_dirs() -> Vec<PathBuf> {
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
fn landlock_here() -> Landlock {
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

/// The lock directory, root's alone (a directory another user made, or a
/// link, is refused).
fn lock_dir() -> anyhow::Result<PathBuf> {
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
fn reserve(lock_dir: &Path) -> io::Result<Reserved> {
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
fn is_known(id: u32) -> bool {
    use nix::unistd::{Gid, Group, Uid, User};
    !matches!(User::from_uid(Uid::from_raw(id)), Ok(None))
        || !matches!(Group::from_gid(Gid::from_raw(id)), Ok(None))
}

/// The processes with `id` as one of their uids or gids.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Processes {
    pub running: usize,
    /// Dead, waiting for their parent: they run nothing but still count
    /// against the user's process limit.
    pub zombies: usize,
}

impl Processes {
    fn any(self) -> bool {
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
fn remove_left_in_shared_temp(id: u32) {
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

/// `dir` and everything under it (links themselves, never what they point
/// to) owned by `id` (uid and gid).
fn own_tree(dir: &Path, id: u32) -> io::Result<()> {
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
fn read_only_to_others(copy: &Path) -> anyhow::Result<()> {
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
fn closed_ancestor(path: &Path) -> Option<(PathBuf, u32)> {
    let mut ancestors: Vec<&Path> = path.ancestors().collect();
    ancestors.reverse();
    ancestors.into_iter().find_map(|dir| {
        let mode = fs::metadata(dir).ok()?.mode();
        (mode & 0o001 == 0).then(|| (dir.to_path_buf(), mode & 0o7777))
    })
}

/// `dir` can be reached by the box's users (they are nobody's group and
/// own nothing on the way).
fn check_reachable(dir: &Path) -> anyhow::Result<()> {
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
fn lock_build_dir(target: &Path) -> anyhow::Result<nix::fcntl::Flock<fs::File>> {
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

/// The toolchain the build user runs: root's own where other users can
/// reach it, else a copy made of hard links (no space, the files keep
/// root as owner and their modes) under `<course>/target/grader-box`.
fn build_tools(course_root: &Path) -> anyhow::Result<BuildTools> {
    let sysroot = sysroot(course_root)?;
    let share = course_root.join("target").join("grader-box");
    let toolchain = if closed_ancestor(&sysroot.join("bin").join("cargo")).is_none() {
        sysroot
    } else {
        share_toolchain(&sysroot, &share.join("toolchain"))?
    };
    let cargo_home = cargo_home().context("cannot find cargo's home (CARGO_HOME, HOME)")?;
    let cargo_home = if closed_ancestor(&cargo_home.join("registry")).is_none() {
        cargo_home
    } else {
        share_cargo_home(&cargo_home, &share.join("cargo-home"))?
    };
    let bin = toolchain.join("bin");
    Ok(BuildTools {
        cargo: bin.join("cargo"),
        bin,
        readable: vec![toolchain, cargo_home.clone()],
        cargo_home,
    })
}

/// The toolchain the grader's cargo uses, for this course (a
/// rust-toolchain.toml there counts): `$CARGO`'s, else `rustc`'s on PATH.
fn sysroot(course_root: &Path) -> anyhow::Result<PathBuf> {
    let from_cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| Some(cargo.parent()?.parent()?.to_path_buf()))
        .filter(|root| root.join("bin").join("rustc").is_file());
    if let Some(root) = from_cargo {
        return Ok(root);
    }
    let mut rustc = Command::new("rustc");
    rustc.args(["--print", "sysroot"]).current_dir(course_root);
    let output = sandbox::run(&mut rustc, Duration::from_secs(120), 64 * 1024)
        .context("cannot run rustc --print sysroot")?;
    let root = PathBuf::from(output.stdout.text().trim());
    if !output.success() || !root.join("bin").join("cargo").is_file() {
        bail!(
            "rustc --print sysroot names no toolchain with cargo: {}",
            output.stderr.tail_text(300).trim()
        );
    }
    Ok(root)
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

/// `sysroot` mirrored into `into` once per toolchain (its `rustc -vV`).
fn share_toolchain(sysroot: &Path, into: &Path) -> anyhow::Result<PathBuf> {
    let stamp = into.join(".grader-box-stamp");
    let mut version = Command::new(sysroot.join("bin").join("rustc"));
    version.arg("-vV");
    let version = sandbox::run(&mut version, Duration::from_secs(60), 64 * 1024)
        .context("cannot run rustc -vV")?
        .stdout
        .text();
    let expected = format!("{}\n{version}", sysroot.display());
    if fs::read_to_string(&stamp).ok().as_deref() == Some(expected.as_str()) {
        return Ok(into.to_path_buf());
    }
    if into.exists() {
        fs::remove_dir_all(into).with_context(|| format!("cannot remove {}", into.display()))?;
    }
    mirror(sysroot, into)?;
    fs::write(&stamp, expected).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(into.to_path_buf())
}

/// The crate cache of `cargo_home` (what `cargo fetch` put there, and its
/// configuration) mirrored into `into`, adding what is new since last time.
fn share_cargo_home(cargo_home: &Path, into: &Path) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(into).with_context(|| format!("cannot create {}", into.display()))?;
    fs::set_permissions(into, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot open {}", into.display()))?;
    for part in ["registry", "git", "config.toml", "config"] {
        let from = cargo_home.join(part);
        if from.exists() {
            mirror(&from, &into.join(part))?;
        }
    }
    Ok(into.to_path_buf())
}

/// Hard-link every file of `from` into `into` (a copy where they are on
/// different file systems); directories are created open to every user.
/// What exists already is kept.
fn mirror(from: &Path, into: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let relative = entry.path().strip_prefix(from).expect("walked under from");
        let to = into.join(relative);
        let kind = entry.file_type();
        let made = if kind.is_dir() {
            fs::create_dir_all(&to)
                .and_then(|()| fs::set_permissions(&to, fs::Permissions::from_mode(0o755)))
        } else if to.symlink_metadata().is_ok() {
            Ok(())
        } else if kind.is_symlink() {
            fs::read_link(entry.path()).and_then(|link| std::os::unix::fs::symlink(link, &to))
        } else {
            fs::hard_link(entry.path(), &to).or_else(|_| fs::copy(entry.path(), &to).map(drop))
        };
        made.with_context(|| {
            format!(
                "cannot share {} as {}",
                entry.path().display(),
                to.display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::isolation::Isolation;

    /// The uid box, when these tests run as root (else there is none to
    /// test: the grader without root has no uid box).
    fn uid_box() -> Option<(UidBox, Isolation)> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("not root: the uid box needs root, nothing to test");
            return None;
        }
        let isolation = Isolation::uid_box().expect("root has the uid box");
        Some((shared().unwrap(), isolation))
    }

    fn open_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn view(target: &Path) -> Visibility {
        Visibility {
            readable: Vec::new(),
            target_dir: target.to_path_buf(),
        }
    }

    /// `script` run by `bash` as student code; its output, both streams.
    fn run(
        uid_box: &UidBox,
        script: &str,
        view: &Visibility,
        writable: &[PathBuf],
    ) -> sandbox::RunOutput {
        let mut command = Command::new("bash");
        command.args(["-c", script]).current_dir("/");
        let mut confined = uid_box.confine(&command, view, Activity::Run { writable });
        sandbox::run_confined(&mut confined, None, Duration::from_secs(60), 64 * 1024).unwrap()
    }

    fn course_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn every_run_has_a_user_of_its_own_that_owns_nothing_of_the_grader() {
        let Some((uid_box, _)) = uid_box() else {
            return;
        };
        let target = open_dir();
        let view = view(target.path());
        let script = "id -u; id -g; id -G; kill -0 $PPID 2>/dev/null && echo SIGNALLED; \
            kill -0 1 2>/dev/null && echo SIGNALLED-INIT; echo done";
        let runs: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| run(&uid_box, script, &view, &[]).stdout.text()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut uids = Vec::new();
        for text in &runs {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 4, "{text}");
            let uid: u32 = lines[0].parse().unwrap();
            assert!((FIRST_ID..FIRST_ID + ID_SPAN).contains(&uid), "{text}");
            assert_ne!(uid, uid_box.inner.build.id);
            assert_eq!(lines[1], lines[0], "its gid is its own: {text}");
            assert_eq!(lines[2], lines[0], "and it has no other group: {text}");
            assert_eq!(lines[3], "done", "{text}");
            assert!(!is_known(uid));
            uids.push(uid);
        }
        assert_ne!(uids[0], uids[1], "two runs at once share no user");
    }

    #[test]
    fn a_run_is_limited() {
        let Some((uid_box, _)) = uid_box() else {
            return;
        };
        let target = open_dir();
        let script = "ulimit -u; ulimit -f; ulimit -t; ulimit -v; ulimit -c; \
            grep NoNewPrivs /proc/self/status | tr -d '\\t'";
        let text = run(&uid_box, script, &view(target.path()), &[])
            .stdout
            .text();
        // bash counts -f in 1024-byte blocks, -v in KiB.
        assert_eq!(text, "512\n262144\n1200\n8388608\n0\nNoNewPrivs:1\n");
    }

    #[test]
    fn nothing_of_a_run_is_left_when_it_ends() {
        let Some((uid_box, _)) = uid_box() else {
            return;
        };
        let target = open_dir();
        let marker = format!("{}", 760_000 + std::process::id() % 10_000);
        // A new session, a double fork, and a file in the shared /tmp
        // (where Landlock lets it write at all).
        let script = format!(
            "setsid -f sleep {marker}; (sleep {marker} &) & \
             touch /tmp/left-{marker} 2>/dev/null; id -u"
        );
        let output = run(&uid_box, &script, &view(target.path()), &[]);
        let uid: u32 = output.stdout.text().trim().parse().unwrap();
        assert_eq!(processes_of(uid).running, 0);
        assert!(!Path::new(&format!("/tmp/left-{marker}")).exists());
    }

    #[test]
    fn a_run_that_fills_its_directories_is_killed() {
        let Some((uid_box, _)) = uid_box() else {
            return;
        };
        let target = open_dir();
        // 64 MiB files until the disk is full or the run is killed.
        let script = "for i in $(seq 100); do head -c 67108864 /dev/zero > $TMPDIR/f$i || exit 3; done; echo survived";
        let output = run(&uid_box, script, &view(target.path()), &[]);
        assert!(!output.success(), "{output:?}");
        assert_eq!(
            output.describe_end(Duration::from_secs(60)),
            "killed by signal 9"
        );
    }

    #[test]
    fn landlock_keeps_a_run_to_its_view_and_off_tcp() {
        let Some((uid_box, _)) = uid_box() else {
            return;
        };
        if uid_box.inner.landlock < Landlock::FilesAndTcp {
            eprintln!(
                "Landlock here: {:?}; nothing to test",
                uid_box.inner.landlock
            );
            return;
        }
        let target = open_dir();
        let readable = open_dir();
        fs::write(readable.path().join("open"), "to everyone\n").unwrap();
        let script = format!(
            "cat {}/open 2>&1 | grep -o 'Permission denied'; \
             touch /tmp/x 2>&1 | grep -o 'Permission denied'; \
             (exec 3<>/dev/tcp/127.0.0.1/9) 2>&1 | grep -o 'Permission denied' | head -n 1; \
             cat /etc/hostname >/dev/null && echo system",
            readable.path().display()
        );
        let text = run(&uid_box, &script, &view(target.path()), &[])
            .stdout
            .text();
        assert_eq!(
            text,
            "Permission denied\nPermission denied\nPermission denied\nsystem\n"
        );
    }

    #[test]
    fn the_build_directory_is_the_build_users_while_handed_over() {
        let Some((uid_box, isolation)) = uid_box() else {
            return;
        };
        let target = open_dir();
        fs::create_dir(target.path().join("debug")).unwrap();
        let copy = open_dir();
        let student_file = copy.path().join("lib.rs");
        fs::write(&student_file, "pub fn f() {}\n").unwrap();
        fs::set_permissions(&student_file, fs::Permissions::from_mode(0o666)).unwrap();
        let view = Visibility {
            readable: vec![copy.path().to_path_buf()],
            target_dir: target.path().to_path_buf(),
        };
        let handed = isolation
            .hand_over(&course_root(), &view, Some(copy.path()))
            .unwrap();
        let owner = |path: &Path| fs::metadata(path).unwrap().uid();
        let build = uid_box.inner.build.id;
        assert_eq!(owner(&target.path().join("debug")), build);
        assert_eq!(fs::metadata(&student_file).unwrap().mode() & 0o777, 0o644);
        let second = isolation.hand_over(&course_root(), &view, None).unwrap();
        drop(handed);
        assert_eq!(owner(target.path()), build, "still handed over once");
        drop(second);
        assert_eq!(owner(&target.path().join("debug")), 0);
        assert_eq!(owner(target.path()), 0);
    }

    #[test]
    fn a_closed_directory_on_the_way_is_named() {
        let closed = tempfile::tempdir().unwrap();
        fs::set_permissions(closed.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let inside = closed.path().join("course/target");
        let error = check_reachable(&inside).unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "{} is closed to other users (mode 700)",
                closed.path().display()
            )),
            "{error}"
        );
        assert!(check_reachable(Path::new("/usr/bin")).is_ok());
    }
}
