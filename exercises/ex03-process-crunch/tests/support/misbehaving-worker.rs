//! A worker program that misbehaves on purpose, for the tests of
//! `process_crunch`'s errors.
//!
//! It answers like `crunch-worker` (`<x * x> <pid>`, without the crunching),
//! except for three numbers, which are commands:
//! - `-1`: exit at once with code 3, without answering (a worker that dies);
//! - `-2`: answer `forty-two`, which is not `<result> <pid>`;
//! - `-3`: never answer: read and ignore the rest of the input, then exit
//!   (a worker busy with a very long task);
//! - `-1000 - n` (n from 1 to 99): check in, then wait until n workers
//!   started by the same process have checked in (or 5 s have passed)
//!   before answering: a pool that hands one item at a time to each of n
//!   workers answers at once, a pool that keeps a worker idle waits and is
//!   seen to have used fewer workers.
//!
//! It writes nothing to stderr, so that the tests' output stays readable.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const DIE: f64 = -1.0;
const GARBLE: f64 = -2.0;
const STALL: f64 = -3.0;
const DIE_EXIT_CODE: i32 = 3;
const RENDEZVOUS: f64 = -1000.0;
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let pid = std::process::id();
    let mut output = io::stdout().lock();
    let mut lines = io::stdin().lock().lines();
    while let Some(line) = lines.next() {
        let x: f64 = line?.trim().parse().unwrap_or(f64::NAN);
        if x == DIE {
            std::process::exit(DIE_EXIT_CODE);
        } else if x == GARBLE {
            writeln!(output, "forty-two")?;
        } else if x == STALL {
            // Ends when the pool closes our stdin or kills us.
            lines.by_ref().for_each(drop);
            return Ok(());
        } else {
            if let Some(workers) = rendezvous_size(x) {
                wait_for_workers(workers)?;
            }
            writeln!(output, "{} {pid}", x * x)?;
        }
        output.flush()?;
    }
    Ok(())
}

/// `Some(n)` for the command "wait until n workers have checked in".
fn rendezvous_size(x: f64) -> Option<usize> {
    let n = RENDEZVOUS - x;
    (n.fract() == 0.0 && (1.0..100.0).contains(&n)).then_some(n as usize)
}

/// The place where the workers of one test process check in.
fn rendezvous_dir(test_pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("ex03-rendezvous-{test_pid}"))
}

/// The test process whose pool started this worker: its parent.
#[cfg(unix)]
fn test_process_id() -> u32 {
    std::os::unix::process::parent_id()
}

/// Windows tells no parent: the test names itself in the environment its
/// workers inherit (`EX03_TEST_PROCESS`).
#[cfg(not(unix))]
fn test_process_id() -> u32 {
    std::env::var("EX03_TEST_PROCESS")
        .ok()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

/// Check in (a file named after this worker's pid), then wait until `workers`
/// have checked in or the timeout has passed.
fn wait_for_workers(workers: usize) -> io::Result<()> {
    let dir = rendezvous_dir(test_process_id());
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(std::process::id().to_string()), "")?;
    let start = Instant::now();
    while std::fs::read_dir(&dir)?.count() < workers && start.elapsed() < RENDEZVOUS_TIMEOUT {
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}
