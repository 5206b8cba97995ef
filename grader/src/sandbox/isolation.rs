//! The box every run of student code goes into: Debian's `bubblewrap`
//! (`bwrap`) when the machine has it and can use it.
//!
//! A confined command sees a read-only view made of the system directories,
//! the toolchain, the graded tree and its build directory, plus a private
//! `/tmp`; nothing else of the machine exists for it. It has no network, its
//! own PID namespace (the grader is not in it, and every process it starts,
//! whatever session it moves to, dies with the run), its own IPC and UTS
//! namespaces. The build directory is writable while cargo builds (cargo and
//! rustc run the instructor's build scripts and macros only; student code
//! does not run at build time) and read-only while tests and harnesses run,
//! so student code cannot replace an executable or poison a later build.
//! When the grader is root, student code runs as `nobody` with limits on
//! processes, file size, CPU time and address space.
//!
//! Where bwrap is missing or cannot create namespaces but the grader is
//! root (a default Docker container), the box is [`super::uid_box`]'s
//! instead: users of its own, limits, Landlock. Without either, or off
//! Linux, runs are not isolated: [`Isolation::unavailable`] says why, and
//! grading that needs the box (`--strict`) is refused.

// Off Linux no box is ever made: bubblewrap's part is built but never runs.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The unprivileged user student code runs as when the grader is root
/// (`nobody` and `nogroup` on Debian).
pub const NOBODY: u32 = 65534;
/// Limits on one run of student code (`prlimit` options).
const RUN_LIMITS: &[&str] = &[
    // Files it writes (in its scratch /tmp or the measurements file).
    "--fsize=268435456",
    // CPU seconds per process, above any timeout's worth of one core.
    "--cpu=1200",
    // Address space per process: a memory bomb fails, threads and arenas fit.
    "--as=8589934592",
];
/// Processes of the `nobody` user at once (only when running as `nobody`:
/// the limit counts every process of the user).
const NOBODY_PROCESSES: &str = "--nproc=512";
/// The whole environment of student code, besides what the run sets.
pub(super) const RUN_ENVIRONMENT: &[(&str, &str)] = &[
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
    ("LANG", "C.UTF-8"),
];
/// The private scratch directory's size limit, in bytes.
const SCRATCH_BYTES: &str = "268435456";

/// What the machine offers for confining student code.
#[derive(Debug, Clone)]
pub struct Isolation {
    jail: Result<Mechanism, String>,
}

/// The kinds of box.
#[derive(Debug, Clone)]
enum Mechanism {
    Bubblewrap(Jail),
    #[cfg(target_os = "linux")]
    Uid(super::uid_box::UidBox),
}

/// A command ready to run in the box, and what the box does once it has
/// ended: [`crate::sandbox::run_confined`] runs it.
pub struct Confined {
    pub(super) command: Command,
    /// Why the box could not be made: the run fails to start with it.
    pub(super) error: Option<std::io::Error>,
    /// Dropped as soon as the process has ended (the uid box kills what the
    /// run left and removes what it wrote).
    pub(super) ending: Option<Box<dyn std::any::Any + Send>>,
}

impl Confined {
    fn plain(command: Command) -> Confined {
        Confined {
            command,
            error: None,
            ending: None,
        }
    }

    /// A command the box runs, with what to do when it has ended.
    pub(super) fn boxed(command: Command, ending: Box<dyn std::any::Any + Send>) -> Confined {
        Confined {
            command,
            error: None,
            ending: Some(ending),
        }
    }

    /// A box that could not be made for `command`, because of `error`.
    pub(super) fn failed(command: &Command, error: std::io::Error) -> Confined {
        Confined {
            command: copy(command),
            error: Some(error),
            ending: None,
        }
    }

    /// The command as it will start (its program, arguments, environment).
    pub fn command(&self) -> &Command {
        &self.command
    }
}

/// While a tree is graded, what the box was given of it (the uid box's
/// build directory); given back when dropped.
#[derive(Debug)]
pub struct Handed {
    #[cfg(target_os = "linux")]
    _uid_box: Option<super::uid_box::Handed>,
}

/// How to call bwrap on this machine.
#[derive(Debug, Clone)]
struct Jail {
    bwrap: PathBuf,
    /// The grader is root: student code runs as [`NOBODY`].
    as_nobody: bool,
    /// Toolchain and crate cache directories, bound read-only.
    toolchain: Vec<PathBuf>,
}

/// What a confined command may see.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// Directories bound read-only at their own path (the graded tree).
    pub readable: Vec<PathBuf>,
    /// The build directory: writable while building, read-only when running.
    pub target_dir: PathBuf,
}

/// Which kind of run is being confined.
#[derive(Debug, Clone, Copy)]
pub enum Activity<'a> {
    /// cargo over the graded tree: the build directory is writable.
    Build,
    /// Student code: only these directories (and a private /tmp) are writable.
    Run { writable: &'a [PathBuf] },
}

impl Isolation {
    /// What this machine offers: bwrap if it is installed and a probe run in
    /// the namespaces the box uses succeeds.
    pub fn detect() -> Isolation {
        let jail = match detect_jail() {
            Ok(jail) => Ok(Mechanism::Bubblewrap(jail)),
            Err(bwrap) => uid_box_instead(bwrap),
        };
        Isolation { jail }
    }

    /// The uid box, whatever bubblewrap could do (its tests).
    #[cfg(all(test, target_os = "linux"))]
    pub fn uid_box() -> Result<Isolation, String> {
        let uid_box = super::uid_box::shared()?;
        Ok(Isolation {
            jail: Ok(Mechanism::Uid(uid_box)),
        })
    }

    /// No isolation, for the given reason (tests, or a refused mechanism).
    pub fn unavailable(reason: &str) -> Isolation {
        Isolation {
            jail: Err(reason.to_owned()),
        }
    }

    pub fn is_isolated(&self) -> bool {
        self.jail.is_ok()
    }

    /// Whether student code runs as [`NOBODY`] (the grader is root).
    pub fn runs_as_nobody(&self) -> bool {
        matches!(&self.jail, Ok(Mechanism::Bubblewrap(j)) if j.as_nobody)
    }

    /// Whether student code runs as another user than the grader's, who
    /// must be able to read the graded tree.
    pub fn runs_as_another_user(&self) -> bool {
        match &self.jail {
            Ok(Mechanism::Bubblewrap(jail)) => jail.as_nobody,
            #[cfg(target_os = "linux")]
            Ok(Mechanism::Uid(_)) => true,
            Err(_) => false,
        }
    }

    /// Give the box what it needs of a tree while it is graded: the uid
    /// box's build user gets the build directory, and the tree (`copy`, a
    /// submission's copy) is made read-only to it. Nothing for bubblewrap,
    /// which binds them. `course_root` is the instructor's course.
    pub fn hand_over(
        &self,
        course_root: &Path,
        view: &Visibility,
        copy: Option<&Path>,
    ) -> anyhow::Result<Handed> {
        let _ = (course_root, view, copy);
        Ok(Handed {
            #[cfg(target_os = "linux")]
            _uid_box: match &self.jail {
                Ok(Mechanism::Uid(uid_box)) => Some(uid_box.hand_over(course_root, view, copy)?),
                _ => None,
            },
        })
    }

    /// One line for the report's header.
    pub fn description(&self) -> String {
        let jail = match &self.jail {
            Ok(Mechanism::Bubblewrap(jail)) => jail,
            #[cfg(target_os = "linux")]
            Ok(Mechanism::Uid(uid_box)) => return uid_box.description(),
            Err(reason) => return format!("not isolated: {reason}"),
        };
        match jail {
            jail if jail.as_nobody => {
                "isolated (bubblewrap: own PID, network and mount namespaces; student code runs as nobody with resource limits)".to_owned()
            }
            _ => {
                "isolated (bubblewrap: own user, PID, network and mount namespaces; resource limits)".to_owned()
            }
        }
    }

    /// `command` wrapped so that it runs inside the box (unchanged when the
    /// machine cannot isolate). Its program, arguments, environment changes
    /// and working directory are kept.
    pub fn confine(&self, command: &Command, view: &Visibility, phase: Activity) -> Confined {
        match &self.jail {
            Ok(Mechanism::Bubblewrap(jail)) => Confined::plain(jail.wrap(command, view, phase)),
            #[cfg(target_os = "linux")]
            Ok(Mechanism::Uid(uid_box)) => uid_box.confine(command, view, phase),
            Err(_) => Confined::plain(copy(command)),
        }
    }
}

/// Where bubblewrap cannot box (`bwrap` says why), the uid box, when the
/// grader is root.
#[cfg(target_os = "linux")]
fn uid_box_instead(bwrap: String) -> Result<Mechanism, String> {
    super::uid_box::shared()
        .map(Mechanism::Uid)
        .map_err(|uid_box| format!("{bwrap}; {uid_box}"))
}

#[cfg(not(target_os = "linux"))]
fn uid_box_instead(bwrap: String) -> Result<Mechanism, String> {
    Err(bwrap)
}

#[cfg(target_os = "linux")]
fn detect_jail() -> Result<Jail, String> {
    let Some(bwrap) = find_program("bwrap") else {
        return Err(
            "bubblewrap (bwrap) is not installed; on Debian or Ubuntu: apt-get install bubblewrap"
                .to_owned(),
        );
    };
    let jail = Jail {
        bwrap,
        as_nobody: nix::unistd::geteuid().is_root(),
        toolchain: toolchain_dirs(),
    };
    let view = Visibility {
        readable: Vec::new(),
        target_dir: std::env::temp_dir(),
    };
    let mut probe = Confined::plain(jail.wrap(
        &Command::new("true"),
        &view,
        Activity::Run { writable: &[] },
    ));
    match crate::sandbox::run_confined(&mut probe, None, std::time::Duration::from_secs(30), 4096) {
        Ok(output) if output.success() => Ok(jail),
        Ok(output) => Err(format!(
            "bubblewrap cannot create its namespaces here ({}: {})",
            output.describe_end(std::time::Duration::from_secs(30)),
            output.stderr.tail_text(300).trim()
        )),
        Err(error) => Err(format!("bubblewrap cannot start: {error}")),
    }
}

#[cfg(not(target_os = "linux"))]
fn detect_jail() -> Result<Jail, String> {
    Err("the sandbox needs Linux namespaces; this system has none".to_owned())
}

/// `program` on PATH.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Where cargo, rustc and the crate cache live: `CARGO_HOME` and
/// `RUSTUP_HOME` (or their defaults under `HOME`) and the toolchain of the
/// cargo the grader runs.
fn toolchain_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let from_env = |name: &str, default: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))
    };
    let mut dirs: Vec<PathBuf> = [
        from_env("CARGO_HOME", ".cargo"),
        from_env("RUSTUP_HOME", ".rustup"),
        // `$CARGO` is .../toolchains/<name>/bin/cargo: keep the toolchain.
        std::env::var_os("CARGO")
            .map(PathBuf::from)
            .and_then(|cargo| cargo.parent()?.parent().map(Path::to_path_buf)),
    ]
    .into_iter()
    .flatten()
    .filter_map(|dir| dir.canonicalize().ok())
    .filter(|dir| !dir.starts_with("/usr") && dir.is_dir())
    .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

impl Jail {
    fn wrap(&self, command: &Command, view: &Visibility, phase: Activity) -> Command {
        let mut jail = Command::new(&self.bwrap);
        self.system_view(&mut jail);
        let writable = match phase {
            Activity::Build => &[][..],
            Activity::Run { writable } => writable,
        };
        let bound = self.toolchain.iter().chain(&view.readable);
        open_ancestors(&mut jail, bound.chain([&view.target_dir]).chain(writable));
        if let Some(dir) = command.get_current_dir() {
            jail.arg("--chdir").arg(dir);
        }
        match phase {
            Activity::Build => self.build(&mut jail, command, view),
            Activity::Run { writable } => self.run(&mut jail, command, view, writable),
        }
        jail.arg(command.get_program()).args(command.get_args());
        jail
    }

    /// cargo: the toolchain, the tree, the build directory writable, offline.
    fn build(&self, jail: &mut Command, command: &Command, view: &Visibility) {
        for dir in self.toolchain.iter().chain(&view.readable) {
            jail.arg("--ro-bind").arg(dir).arg(dir);
        }
        jail.arg("--bind")
            .arg(&view.target_dir)
            .arg(&view.target_dir);
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => jail.env(name, value),
                None => jail.env_remove(name),
            };
        }
        // The crate cache is read-only and there is no network: every
        // dependency was fetched before the build.
        jail.env("CARGO_NET_OFFLINE", "true").arg("--");
    }

    /// Student code: the tree and the build directory read-only, only
    /// `writable` and /tmp writable, a cleared environment, limits, and
    /// `nobody` when the grader is root.
    fn run(&self, jail: &mut Command, command: &Command, view: &Visibility, writable: &[PathBuf]) {
        for dir in view.readable.iter().chain([&view.target_dir]) {
            jail.arg("--ro-bind").arg(dir).arg(dir);
        }
        for dir in writable {
            jail.arg("--bind").arg(dir).arg(dir);
        }
        // No variable of the grader's environment (a token, a path) but
        // those the run sets.
        jail.arg("--clearenv");
        for (name, value) in RUN_ENVIRONMENT {
            jail.args(["--setenv", name, value]);
        }
        for (name, value) in command.get_envs() {
            if let Some(value) = value {
                jail.arg("--setenv").arg(name).arg(value);
            }
        }
        jail.args(["--", "prlimit"]).args(RUN_LIMITS);
        if self.as_nobody {
            jail.args([NOBODY_PROCESSES, "--", "setpriv"])
                .arg(format!("--reuid={NOBODY}"))
                .arg(format!("--regid={NOBODY}"))
                .args(["--clear-groups"]);
        }
        jail.arg("--");
    }

    /// The namespaces and the system part of the view: /usr, /etc, the
    /// top-level links or directories into them, /proc, /dev, a private /tmp,
    /// and the cgroup file system, read-only.
    fn system_view(&self, jail: &mut Command) {
        jail.args([
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
        ])
        .args(["--die-with-parent", "--new-session"]);
        // The harness reads how long a CPU quota held it back from its
        // cgroup's cpu.stat: without it, half a core's quota looks like a
        // crunch that only half computes. So the cgroup namespace stays the
        // machine's (paths in /proc/self/cgroup must match the mounts) and
        // the hierarchy is visible, read-only.
        if Path::new("/sys/fs/cgroup").is_dir() {
            // Open, or `nobody` could not pass through them (see open_ancestors).
            for dir in ["/sys", "/sys/fs"] {
                jail.args(["--perms", "0755", "--dir", dir]);
            }
            jail.args(["--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup"]);
        }
        if !self.as_nobody {
            // An unprivileged user creates the other namespaces inside a
            // user namespace of its own.
            jail.arg("--unshare-user");
        }
        jail.args(["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]);
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let top = Path::new(top);
            match std::fs::read_link(top) {
                Ok(target) => {
                    jail.arg("--symlink").arg(target).arg(top);
                }
                Err(_) if top.is_dir() => {
                    jail.arg("--ro-bind").arg(top).arg(top);
                }
                Err(_) => {}
            }
        }
        jail.args(["--proc", "/proc", "--dev", "/dev"]).args([
            "--perms",
            "1777",
            "--size",
            SCRATCH_BYTES,
            "--tmpfs",
            "/tmp",
        ]);
    }
}

/// The directories bwrap creates to hold the bound ones (`/work` for
/// `/work/course`) would be root's and closed (0700): student code running as
/// `nobody` could not reach what is bound below them. Create them passable
/// (0711), not listable: what is bound is found by the path it was given.
fn open_ancestors<'a>(jail: &mut Command, bound: impl Iterator<Item = &'a PathBuf>) {
    // Mounted whole by the system view. Below /tmp (a course cloned there)
    // the private /tmp is a fresh tmpfs, so its directories are created too.
    const SYSTEM: &[&str] = &["/usr", "/etc", "/proc", "/dev"];
    let mut ancestors: Vec<&Path> = bound
        .flat_map(|dir| dir.ancestors().skip(1))
        .filter(|a| {
            a.parent().is_some()
                && *a != Path::new("/tmp")
                && !SYSTEM.iter().any(|s| a.starts_with(s))
        })
        .collect();
    ancestors.sort_by_key(|a| a.components().count());
    ancestors.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for dir in ancestors {
        if seen.insert(dir) {
            jail.args(["--perms", "0711", "--dir"]).arg(dir);
        }
    }
}

/// A copy of `command`: program, arguments, environment changes, directory.
fn copy(command: &Command) -> Command {
    let mut copy = Command::new(command.get_program());
    copy.args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        copy.current_dir(dir);
    }
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => copy.env(name, value),
            None => copy.env_remove(name),
        };
    }
    copy
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::sandbox;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    /// The box on this machine; these tests need it (`.ci/run` installs bwrap).
    fn isolation() -> Isolation {
        let isolation = Isolation::detect();
        assert!(
            isolation.is_isolated(),
            "these tests need the sandbox: {}",
            isolation.description()
        );
        isolation
    }

    /// Every box this machine has: what `detect` picks, and the uid box
    /// too when the tests run as root (it works wherever root may switch
    /// users, namespaces or not).
    fn boxes() -> Vec<Isolation> {
        let mut boxes = vec![isolation()];
        if nix::unistd::geteuid().is_root() && !is_uid_box(&boxes[0]) {
            boxes.push(Isolation::uid_box().expect("root has the uid box"));
        }
        boxes
    }

    fn is_uid_box(isolation: &Isolation) -> bool {
        matches!(isolation.jail, Ok(Mechanism::Uid(_)))
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    /// Run `script` confined, with `view` and `phase`; its stdout.
    fn run_in(isolation: &Isolation, script: &str, view: &Visibility, phase: Activity) -> String {
        let mut command = isolation.confine(&sh(script), view, phase);
        let output =
            sandbox::run_confined(&mut command, None, Duration::from_secs(60), 64 * 1024).unwrap();
        assert!(output.success(), "{output:?}");
        output.stdout.text()
    }

    fn view(target_dir: &Path) -> Visibility {
        Visibility {
            readable: Vec::new(),
            target_dir: target_dir.to_path_buf(),
        }
    }

    /// A directory every user may pass through, as a course's are.
    fn open_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// The course the grader's tests run in (where the uid box shares a
    /// toolchain out of its users' reach).
    fn course_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_build_directory_is_writable_only_while_building() {
        for isolation in boxes() {
            let target = open_dir();
            let view = view(target.path());
            let _handed = isolation.hand_over(&course_root(), &view, None).unwrap();
            let write = format!(
                "echo x > {}/f && echo wrote || echo refused",
                target.path().display()
            );
            assert_eq!(
                run_in(&isolation, &write, &view, Activity::Build),
                "wrote\n"
            );
            let phase = Activity::Run { writable: &[] };
            assert_eq!(run_in(&isolation, &write, &view, phase), "refused\n");
            let scratch = open_dir();
            if isolation.runs_as_nobody() {
                let nobody = Some(NOBODY);
                std::os::unix::fs::chown(scratch.path(), nobody, nobody).unwrap();
            }
            let writable = [scratch.path().to_path_buf()];
            let write = format!("echo x > {}/f && echo wrote", scratch.path().display());
            let phase = Activity::Run {
                writable: &writable,
            };
            assert_eq!(run_in(&isolation, &write, &view, phase), "wrote\n");
            let scratch = "echo x > $TMPDIR/f && cat $TMPDIR/f";
            assert_eq!(run_in(&isolation, scratch, &view, phase), "x\n");
        }
    }

    #[test]
    fn student_code_can_start_programs_from_the_build_directory() {
        for isolation in boxes() {
            // Outside /tmp, below directories bwrap must create (as ex03's
            // worker program in a course under /work or /home).
            let target = course_root().join("target");
            std::fs::create_dir_all(&target).unwrap();
            let target = tempfile::tempdir_in(target).unwrap();
            std::fs::set_permissions(target.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            let worker = target.path().join("worker");
            std::fs::write(&worker, "#!/bin/sh\necho worked\n").unwrap();
            std::fs::set_permissions(&worker, std::fs::Permissions::from_mode(0o755)).unwrap();
            let script = format!("sh -c {}", worker.display());
            let phase = Activity::Run { writable: &[] };
            let view = view(target.path());
            assert_eq!(run_in(&isolation, &script, &view, phase), "worked\n");
        }
    }

    #[test]
    fn only_the_view_exists() {
        for isolation in boxes() {
            if is_uid_box(&isolation) && !isolation.description().contains("Landlock:") {
                continue; // the uid box without Landlock hides only by permissions
            }
            let target = open_dir();
            let hidden = open_dir();
            std::fs::write(hidden.path().join("secret"), "s").unwrap();
            let script = format!(
                "cat {}/secret 2>/dev/null || echo hidden; ls /root/.ssh 2>/dev/null || echo no-home",
                hidden.path().display()
            );
            let phase = Activity::Run { writable: &[] };
            assert_eq!(
                run_in(&isolation, &script, &view(target.path()), phase),
                "hidden\nno-home\n"
            );
        }
    }

    #[test]
    fn student_code_gets_no_network_no_grader_and_no_environment() {
        let isolation = isolation();
        if is_uid_box(&isolation) {
            return; // the uid box keeps both: see its own tests
        }
        let target = tempfile::tempdir().unwrap();
        let mut command = sh("echo $(tail -n +3 /proc/net/dev | cut -d: -f1); echo pids $(ls /proc | grep -c '^[0-9]'); echo \"[$GRADER_SECRET][$RUN_SET]\"; id -u");
        command.env("RUN_SET", "given");
        std::env::set_var("GRADER_SECRET", "token");
        let mut command = isolation.confine(
            &command,
            &view(target.path()),
            Activity::Run { writable: &[] },
        );
        let output =
            sandbox::run_confined(&mut command, None, Duration::from_secs(60), 4096).unwrap();
        let text = output.stdout.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "lo", "{text}");
        // sh, ls, grep and bwrap's init: nothing of the machine's.
        let pids: usize = lines[1].trim_start_matches("pids ").parse().unwrap();
        assert!(pids <= 6, "{text}");
        assert_eq!(lines[2], "[][given]");
        let uid = if isolation.runs_as_nobody() {
            NOBODY
        } else {
            nix::unistd::getuid().as_raw()
        };
        assert_eq!(lines[3], uid.to_string());
    }

    #[test]
    fn the_cgroup_files_are_readable_and_never_writable() {
        if !Path::new("/sys/fs/cgroup").is_dir() {
            return; // no cgroup file system on this machine: nothing to see
        }
        for isolation in boxes() {
            let target = open_dir();
            // The harness's way in: this process's cgroups, then a file of
            // the hierarchy (each hierarchy has cgroup.procs at its root).
            let script = "grep -q . /proc/self/cgroup && echo membership; \
                f=$(find /sys/fs/cgroup -maxdepth 2 -name cgroup.procs | head -n 1); \
                test -r \"$f\" && echo readable; \
                (echo $$ > \"$f\") 2>/dev/null && echo WROTE; \
                mkdir /sys/fs/cgroup/escape 2>/dev/null && echo MADE; echo done";
            let phase = Activity::Run { writable: &[] };
            assert_eq!(
                run_in(&isolation, script, &view(target.path()), phase),
                "membership\nreadable\ndone\n"
            );
        }
    }

    #[test]
    fn a_process_in_a_new_session_dies_with_the_run() {
        for isolation in boxes() {
            let target = open_dir();
            let marker = format!("{}", 770_000 + std::process::id() % 10_000);
            let script = format!("setsid -f sleep {marker}; (sleep {marker} &) ; echo started");
            let phase = Activity::Run { writable: &[] };
            let view = view(target.path());
            assert_eq!(run_in(&isolation, &script, &view, phase), "started\n");
            std::thread::sleep(Duration::from_millis(200));
            let left = std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(&marker))
                .count();
            assert_eq!(left, 0, "{}", isolation.description());
        }
    }

    #[test]
    fn without_the_box_commands_run_as_they_are() {
        let isolation = Isolation::unavailable("no bwrap here");
        assert!(!isolation.is_isolated());
        assert_eq!(isolation.description(), "not isolated: no bwrap here");
        let mut command = sh("echo plain");
        command.current_dir("/").env("A", "1");
        let confined = isolation.confine(&command, &view(Path::new("/t")), Activity::Build);
        let confined = confined.command();
        assert_eq!(confined.get_program(), "sh");
        assert_eq!(confined.get_current_dir(), Some(Path::new("/")));
        assert_eq!(confined.get_envs().count(), 1);
    }
}
