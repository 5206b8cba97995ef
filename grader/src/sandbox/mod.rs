//! Bounded runs of untrusted processes.
//!
//! Every process the grader starts (cargo, test binaries, harnesses) goes
//! through [`run`]: its own process group, stdin closed, stdout and stderr
//! drained by threads into capped buffers, and a timeout after which the whole
//! group is killed, grandchildren included (on Windows, which has no process
//! groups, the process alone: see [`process_group`]). Clippy forbids
//! `Command::output` and `Command::status` everywhere else (see clippy.toml).

pub mod isolation;
mod process_group;
#[cfg(target_os = "linux")]
pub mod uid_box;

use isolation::Confined;
use process_group::{kill_group, kill_leader, own_group};
use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How much of the end of each stream is kept beyond the capped head.
const TAIL_BYTES: usize = 8 * 1024;
/// How long to wait for the pipes to close once the group is dead.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The process groups currently running, so that an interrupted grader can
/// kill them (see [`kill_running`]).
static RUNNING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// One output stream as far as it was kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first `cap` bytes.
    pub head: Vec<u8>,
    /// The last bytes beyond the head (at most a few KiB), for error tails.
    pub tail: Vec<u8>,
    /// Everything the process wrote to the stream.
    pub total_bytes: usize,
}

impl Captured {
    /// Bytes neither in the head nor in the tail.
    pub fn dropped_bytes(&self) -> usize {
        self.total_bytes - self.head.len() - self.tail.len()
    }

    /// The kept output as text, with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let dropped = self.dropped_bytes();
        if dropped > 0 {
            text.push_str(&format!("\n[... {dropped} bytes of output dropped ...]\n"));
        }
        text.push_str(&String::from_utf8_lossy(&self.tail));
        text
    }

    /// The last `max` bytes of the kept output, as text.
    pub fn tail_text(&self, max: usize) -> String {
        let mut all = self.head.clone();
        all.extend_from_slice(&self.tail);
        let start = all.len().saturating_sub(max);
        String::from_utf8_lossy(&all[start..]).into_owned()
    }
}

/// How a bounded run ended.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// None when the process was killed after the timeout.
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    pub elapsed: Duration,
}

impl RunOutput {
    /// Exited by itself with code 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// "exit code 3", "killed by signal 9", "timed out after 5s".
    pub fn describe_end(&self, timeout: Duration) -> String {
        if self.timed_out {
            return format!("timed out after {}", crate::text::duration(timeout));
        }
        match self.status {
            Some(status) => match (status.code(), process_group::signal(status)) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "ended abnormally".to_owned(),
            },
            None => "ended abnormally".to_owned(),
        }
    }
}

/// Run `command` in its own process group with stdin closed, keeping at most
/// `output_cap` bytes (plus a short tail) of each output stream; after
/// `timeout`, SIGKILL the whole group. When the process exits by itself, the
/// rest of its group is killed too, so nothing it started outlives it.
pub fn run(command: &mut Command, timeout: Duration, output_cap: usize) -> io::Result<RunOutput> {
    run_with_input(command, None, timeout, output_cap)
}

/// Like [`run`], but `input` (when given) is written to the process's stdin,
/// which is then closed: a way to hand a secret to the process that its
/// environment and command line (readable in `/proc`) would not keep.
pub fn run_with_input(
    command: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
    output_cap: usize,
) -> io::Result<RunOutput> {
    run_then(command, input, timeout, output_cap, &mut || {})
}

/// [`run_with_input`] of a command in the box (`isolation::Confined`): what
/// the box does when the process has ended (the uid box kills whatever the
/// run left, in any session) happens before its output is collected and
/// before this returns, so nothing of the run writes after it.
pub fn run_confined(
    confined: &mut Confined,
    input: Option<&[u8]>,
    timeout: Duration,
    output_cap: usize,
) -> io::Result<RunOutput> {
    if let Some(error) = confined.error.take() {
        return Err(error);
    }
    let ending = &mut confined.ending;
    let mut ended = || drop(ending.take());
    let output = run_then(
        &mut confined.command,
        input,
        timeout,
        output_cap,
        &mut ended,
    );
    ended();
    output
}

/// The run of [`run_with_input`], calling `ended` once the process (and its
/// group) is gone, before its output is collected.
fn run_then(
    command: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
    output_cap: usize,
    ended: &mut dyn FnMut(),
) -> io::Result<RunOutput> {
    configure_stdio(command, input.is_some());
    let start = Instant::now();
    let (mut child, group) = spawn_registered(command)?;
    if let (Some(input), Some(stdin)) = (input, child.stdin.take()) {
        feed_stdin(stdin, input);
    }
    let receiver = start_readers(&mut child, output_cap);
    let status = wait_then_kill_group(&mut child, group, start + timeout);
    ended();
    unregister(group);
    let status = status?;
    let elapsed = start.elapsed();
    let [stdout, stderr] = collect_outputs(&receiver);
    Ok(RunOutput {
        timed_out: status.is_none(),
        status,
        stdout,
        stderr,
        elapsed,
    })
}

/// A process group of its own; stdin piped when there is input, else closed;
/// stdout and stderr piped to the readers.
fn configure_stdio(command: &mut Command, has_input: bool) {
    own_group(command);
    command
        .stdin(if has_input {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

/// Start `command` and remember its process group in [`RUNNING`].
fn spawn_registered(command: &mut Command) -> io::Result<(Child, i32)> {
    let child = command.spawn()?;
    let group = i32::try_from(child.id()).expect("process ids fit in i32");
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(group);
    Ok((child, group))
}

fn unregister(group: i32) {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&group);
}

/// Write `input` to the child's stdin from a thread of its own: a process
/// that never reads its stdin must not block the grader.
fn feed_stdin(mut stdin: ChildStdin, input: &[u8]) {
    if input.is_empty() {
        return; // dropping the pipe's end closes it: an empty stdin
    }
    let input = input.to_vec();
    thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
}

/// One drain thread per output stream; each sends `(index, captured)` with
/// index 0 for stdout and 1 for stderr.
fn start_readers(child: &mut Child, output_cap: usize) -> mpsc::Receiver<(usize, Captured)> {
    let (sender, receiver) = mpsc::channel();
    let streams: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().expect("stdout is piped")),
        Box::new(child.stderr.take().expect("stderr is piped")),
    ];
    for (index, stream) in streams.into_iter().enumerate() {
        let sender = sender.clone();
        thread::spawn(move || {
            let captured = drain(stream, output_cap);
            // The receiver may have given up waiting; nothing to do then.
            let _ = sender.send((index, captured));
        });
    }
    receiver
}

/// Wait until `deadline`, then kill the group whether or not the leader is
/// gone: a grandchild left running would hold the pipes open (and keep a
/// core busy). `Ok(None)` when the leader was killed after the timeout.
fn wait_then_kill_group(
    child: &mut Child,
    group: i32,
    deadline: Instant,
) -> io::Result<Option<ExitStatus>> {
    let waited = wait_until(child, deadline);
    kill_group(group);
    kill_leader(child);
    match waited {
        Ok(Some(status)) => Ok(Some(status)),
        Ok(None) => {
            child.wait()?;
            Ok(None)
        }
        Err(error) => {
            let _ = child.wait();
            Err(error)
        }
    }
}

/// What the readers captured. A process that left the group could still
/// hold a pipe: do not wait for it forever (its reader thread is left
/// behind).
fn collect_outputs(receiver: &mpsc::Receiver<(usize, Captured)>) -> [Captured; 2] {
    let mut outputs = [Captured::default(), Captured::default()];
    let deadline = Instant::now() + DRAIN_GRACE;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok((index, captured)) => outputs[index] = captured,
            Err(_) => break,
        }
    }
    outputs
}

/// SIGKILL every process group the sandbox is running now: for a grader that
/// is being interrupted (Ctrl-C reaches only the foreground group, and every
/// sandboxed run has a group of its own).
pub fn kill_running() {
    let groups = RUNNING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for group in groups {
        kill_group(group);
    }
    // What left its group: the uid box finds it by its user.
    #[cfg(target_os = "linux")]
    uid_box::kill_every_run();
}

/// Wait for `child` until `deadline`; Ok(None) when it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    // Poll: short sleeps first, so fast runs are not slowed down.
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Read `stream` to its end, keeping the first `cap` bytes and the last
/// [`TAIL_BYTES`] beyond them. Reading never stops early, so the writer never
/// blocks on a full pipe.
fn drain(mut stream: impl Read, cap: usize) -> Captured {
    let mut captured = Captured::default();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        captured.total_bytes += read;
        let mut chunk = &buffer[..read];
        let room = cap.saturating_sub(captured.head.len());
        let into_head = room.min(chunk.len());
        captured.head.extend_from_slice(&chunk[..into_head]);
        chunk = &chunk[into_head..];
        if !chunk.is_empty() {
            captured.tail.extend_from_slice(chunk);
            if captured.tail.len() > 2 * TAIL_BYTES {
                let excess = captured.tail.len() - TAIL_BYTES;
                captured.tail.drain(..excess);
            }
        }
    }
    if captured.tail.len() > TAIL_BYTES {
        let excess = captured.tail.len() - TAIL_BYTES;
        captured.tail.drain(..excess);
    }
    captured
}

/// Remove from `command`'s environment what an outer cargo (`cargo run`,
/// `cargo test`) or the grader's caller set that would change a nested build
/// or a test run.
pub fn scrub_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if disturbs_nested_runs(name) {
            command.env_remove(name);
        }
    }
}

pub(crate) fn disturbs_nested_runs(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_TARGET_DIR",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_TARGET_TMPDIR",
        "CARGO_MAKEFLAGS",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "OUT_DIR",
        "RUST_TEST_NOCAPTURE",
        "RUST_TEST_THREADS",
        "RUST_TEST_SHUFFLE",
        "RUST_TEST_SHUFFLE_SEED",
        protocol::observe::MEASUREMENTS_ENV,
        protocol::observe::REPEATS_ENV,
        common::TIME_UNIT_ENV,
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_BUILD_",
        "CARGO_PKG_",
        "CARGO_BIN_EXE",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PROFILE_",
        "__CARGO",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn reports_exit_codes_and_output() {
        let out = run(
            &mut sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
            1024,
        )
        .unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.status.unwrap().code(), Some(3));
        assert!(!out.success());
        assert_eq!(out.stdout.text(), "out\n");
        assert_eq!(out.stderr.text(), "err\n");
        assert_eq!(out.describe_end(Duration::from_secs(1)), "exit code 3");

        let ok = run(&mut sh("true"), Duration::from_secs(10), 1024).unwrap();
        assert!(ok.success());
    }

    #[test]
    fn reports_death_by_signal() {
        let out = run(&mut sh("kill -9 $$"), Duration::from_secs(10), 1024).unwrap();
        assert!(!out.timed_out);
        assert!(!out.success());
        assert_eq!(
            out.describe_end(Duration::from_secs(1)),
            "killed by signal 9"
        );
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let start = Instant::now();
        // The background sleep is a grandchild holding stdout open: unless it
        // is killed too, the readers would wait 100 s.
        let out = run(
            &mut sh("sleep 100 & echo started; sleep 100"),
            Duration::from_millis(300),
            1024,
        )
        .unwrap();
        assert!(out.timed_out);
        assert!(out.status.is_none());
        assert!(!out.success());
        assert_eq!(out.stdout.text(), "started\n");
        assert!(out
            .describe_end(Duration::from_millis(300))
            .contains("timed out after 300ms"));
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_grandchild_does_not_outlive_its_parent() {
        let start = Instant::now();
        // The leader exits at once, leaving a grandchild that holds the pipes.
        let out = run(&mut sh("sleep 100 & exit 0"), Duration::from_secs(60), 1024).unwrap();
        assert!(out.success());
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn output_beyond_the_cap_is_read_and_dropped() {
        // 8 MiB through a 64 KiB pipe: a reader that stopped at the cap would
        // leave the writer blocked until the timeout.
        let out = run(
            &mut sh("head -c 8388608 /dev/zero | tr '\\0' x; echo; echo END"),
            Duration::from_secs(60),
            1000,
        )
        .unwrap();
        assert!(out.success(), "{out:?}");
        assert_eq!(out.stdout.total_bytes, 8 * 1024 * 1024 + 5);
        assert_eq!(out.stdout.head.len(), 1000);
        assert_eq!(out.stdout.tail.len(), TAIL_BYTES);
        assert!(out.stdout.dropped_bytes() > 8_000_000);
        let text = out.stdout.text();
        assert!(text.contains("bytes of output dropped"));
        assert!(text.ends_with("x\nEND\n"));
        assert!(out.stdout.tail_text(4).ends_with("END\n"));
    }

    #[test]
    fn empty_input_is_a_pipe_at_its_end() {
        let script = "test -p /dev/stdin && echo pipe; cat; echo done";
        let out = run_with_input(&mut sh(script), Some(b""), Duration::from_secs(10), 1024);
        assert_eq!(out.unwrap().stdout.text(), "pipe\ndone\n");
    }

    #[test]
    fn stdin_is_closed() {
        let out = run(&mut sh("cat; echo done"), Duration::from_secs(10), 1024).unwrap();
        assert!(out.success());
        assert_eq!(out.stdout.text(), "done\n");
    }
}
