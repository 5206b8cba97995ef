//! The process group each run gets where the system has them (Unix), so that
//! a timeout or an interrupted grader kills everything the run started.
//! Windows has none: there the process the grader started is killed alone
//! (grading there is not isolated anyway), and a console's Ctrl-C reaches
//! every run by itself.

use std::process::{Child, Command, ExitStatus};

/// Start `command` as the leader of a new process group.
#[cfg(unix)]
pub fn own_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
pub fn own_group(_: &mut Command) {}

/// SIGKILL the process group `group`.
#[cfg(unix)]
pub fn kill_group(group: i32) {
    use nix::errno::Errno;
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    match killpg(Pid::from_raw(group), Signal::SIGKILL) {
        // ESRCH: the group is already gone.
        Ok(()) | Err(Errno::ESRCH) => {}
        // EPERM on macOS when only zombies are left; nothing else to do.
        Err(_) => {}
    }
}

#[cfg(not(unix))]
pub fn kill_group(_: i32) {}

/// Kill `child` itself where killing its group did not (no groups).
#[cfg(unix)]
pub fn kill_leader(_: &mut Child) {}

#[cfg(not(unix))]
pub fn kill_leader(child: &mut Child) {
    // It may have exited already: nothing to do then.
    let _ = child.kill();
}

/// The signal that ended a process; `None` when it exited by itself (or
/// the system has no signals).
#[cfg(unix)]
pub fn signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
pub fn signal(_: ExitStatus) -> Option<i32> {
    None
}
