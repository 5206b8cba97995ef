//! Given, complete: runs a batch of equal `crunch_numbers` tasks on worker
//! threads or on worker processes, and sizes a task by measuring it.
//!
//! The program (`main.rs`) and the observation harness (`benches/observe.rs`)
//! both use this file, so the sweep you run by hand is the one that is graded.
//! You do not need to change it.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The hidden subcommand that turns the program into a worker process.
pub const WORKER_SUBCOMMAND: &str = "worker";

/// A slow task: half a time unit (25 ms by default). Starting a thread or
/// even a process costs next to nothing beside it.
pub fn slow_task() -> Duration {
    common::time_unit() / 2
}

/// A tiny task: ten thousand times smaller than a slow one (2.5 µs by
/// default), less than a pipe's round trip, a thread's start-up or a
/// process's, so that overhead, not work, sets the time.
pub fn fast_task() -> Duration {
    slow_task() / 10_000
}

/// The task size `x` for which `crunch_numbers(x)` takes about `target`.
///
/// Doubles `x` until one call takes long enough to time reliably, then
/// scales: this works for any `crunch_numbers` whose time grows with `x`.
pub fn task_size_for(target: Duration) -> u64 {
    const LONG_ENOUGH: Duration = Duration::from_millis(20);
    // A function that does no work (the optimizer deleted it) never takes
    // long enough: stop doubling somewhere.
    const LARGEST: u64 = 1 << 40;
    let mut x = 1;
    loop {
        let start = Instant::now();
        std::hint::black_box(ex04::crunch_numbers(std::hint::black_box(x)));
        let took = start.elapsed();
        if took >= LONG_ENOUGH || x >= LARGEST {
            let scaled = x as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return (scaled.round() as u64).clamp(1, LARGEST);
        }
        x *= 2;
    }
}

/// Runs `tasks` on `workers` threads, each taking the next task as soon as it
/// is free, and returns the answers grouped by thread (the sweep's tasks are
/// all equal, so their order does not matter).
pub fn run_threads(workers: usize, tasks: &[u64]) -> Vec<u64> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&x) = tasks.get(i) else { break done };
                        // Recorded only inside a trace capture: the harness
                        // draws the schedule at 2 workers.
                        let label = format!("task {i}");
                        done.push(common::trace::span(label, || ex04::crunch_numbers(x)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            // Pass a panic in crunch_numbers on with its own message.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Runs `tasks` on `workers` fresh worker processes of `program` (started
/// here, so their start-up is part of the time), each taking the next task as
/// soon as it has answered the last one. The answers come back grouped by
/// worker.
pub fn run_processes(program: &Path, workers: usize, tasks: &[u64]) -> io::Result<Vec<u64>> {
    let mut started = Vec::with_capacity(workers);
    for _ in 0..workers {
        started.push(WorkerProcess::start(program)?);
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = started
            .into_iter()
            .map(|mut worker| {
                let next = &next;
                scope.spawn(move || {
                    let mut done = Vec::new();
                    while let Some(&x) = tasks.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push(worker.ask(x)?);
                    }
                    worker.finish()?;
                    Ok(done)
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for handle in handles {
            let done: io::Result<Vec<u64>> =
                handle.join().expect("a worker's pipe thread panicked");
            answers.extend(done?);
        }
        Ok(answers)
    })
}

/// The worker's side: reads one task size per line, answers
/// `crunch_numbers(x)` on its own line, flushing so the caller can go on.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        let x: u64 = line.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line {}: {line:?} is not a task size", index + 1),
            )
        })?;
        writeln!(output, "{}", ex04::crunch_numbers(x))?;
        output.flush()?;
    }
    Ok(())
}

/// One running worker process and its two pipes.
struct WorkerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl WorkerProcess {
    fn start(program: &Path) -> io::Result<Self> {
        let mut child = Command::new(program)
            .arg(WORKER_SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
            })?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(WorkerProcess {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, x: u64) -> io::Result<u64> {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        writeln!(stdin, "{x}")?;
        stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(self.died(&format!("before answering task size {x}")));
        }
        line.trim().parse().map_err(|_| {
            io::Error::other(format!(
                "worker {} answered {line:?}, not a number",
                self.child.id()
            ))
        })
    }

    /// Closes the worker's input (its signal to stop) and waits for it.
    fn finish(mut self) -> io::Result<()> {
        self.stdin = None;
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(self.died(&format!("with {status}")))
        }
    }

    fn died(&self, when: &str) -> io::Error {
        io::Error::other(format!(
            "worker process {} exited {when} (its error, if any, is printed above)",
            self.child.id()
        ))
    }
}

impl Drop for WorkerProcess {
    /// A worker left behind by an error: close its input and reap it, so no
    /// process outlives the run.
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.wait();
    }
}
