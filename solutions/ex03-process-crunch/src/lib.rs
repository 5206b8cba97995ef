//! Exercise 3: process crunch. The reference solution.
//!
//! Number crunching on threads (in parallel, Rust has no GIL), on threads
//! that hold a mimicked GIL (one at a time again), and on a pool of worker
//! processes that talk over pipes.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

// The given error type: the exercise's own file, so there is one copy.
#[path = "../../../exercises/ex03-process-crunch/src/pool_error.rs"]
mod pool_error;
pub use pool_error::PoolError;

/// Mimic training a neural network: count down from `x` work units of crunching,
/// then return `x * x`, recorded in the course's trace as `crunch {x}`.
pub fn train_neural_network(x: f64) -> f64 {
    // The span is how tests see which thread crunched which item; outside a
    // capture it costs a check of one flag.
    common::trace::span(format!("crunch {x}"), || {
        // `as` saturates: a negative or NaN x counts down from 0.
        let mut remaining = (x * common::ITERATIONS_PER_UNIT as f64) as u64;
        while remaining > 0 {
            remaining -= 1;
            // Nothing uses the counter, so without black_box the optimizer
            // deletes the whole loop in release mode. black_box makes the
            // compiler assume every value is looked at, so every step happens.
            std::hint::black_box(remaining);
        }
        x * x
    })
}

/// Crunch the items one after the other.
pub fn serial_crunch(items: &[f64]) -> Vec<f64> {
    items.iter().map(|&x| train_neural_network(x)).collect()
}

/// Crunch the items on `n_threads` threads, which take the next item one at
/// a time in input order; results come back in input order.
///
/// # Panics
/// When `n_threads` is 0.
pub fn threaded_crunch(items: &[f64], n_threads: usize) -> Vec<f64> {
    pool_map(items, n_threads, |&x| train_neural_network(x))
}

/// Like [`threaded_crunch`], but each thread holds [`common::GIL`] for its
/// whole task, as CPython's threads hold the interpreter lock.
///
/// # Panics
/// When `n_threads` is 0.
pub fn gil_crunch(items: &[f64], n_threads: usize) -> Vec<f64> {
    pool_map(items, n_threads, |&x| {
        // A panic in another task poisons the lock; the lock guards no
        // data, so carry on.
        let _gil = common::GIL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        train_neural_network(x)
    })
}

/// ex02's pool: `n_threads` scoped threads take the next index from a shared
/// counter until the items run out.
fn pool_map<T: Sync, U: Send>(items: &[T], n_threads: usize, f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    assert!(
        n_threads > 0,
        "the pool needs at least one thread, got n_threads = 0"
    );
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, U)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n_threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_unstable_by_key(|&(i, _)| i);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Crunch the items on `n_procs` copies of the `worker` program, handing
/// them out one at a time in input order; results come back in input order.
pub fn process_crunch(worker: &Path, items: &[f64], n_procs: usize) -> Result<Vec<f64>, PoolError> {
    let answers = process_crunch_with_pids(worker, items, n_procs)?;
    Ok(answers.into_iter().map(|(result, _pid)| result).collect())
}

/// [`process_crunch`], keeping with each result the pid of the worker that
/// sent it.
///
/// Each worker gets a thread of ours that writes it a number and waits for
/// the answer: reading from a pipe blocks, so one thread per worker keeps
/// every worker busy. The first error stops the pool: every worker is
/// killed and reaped before this returns, whatever happened.
pub fn process_crunch_with_pids(
    worker: &Path,
    items: &[f64],
    n_procs: usize,
) -> Result<Vec<(f64, u32)>, PoolError> {
    if n_procs == 0 {
        return Err(PoolError::NoWorkers);
    }
    // More workers than items would only start processes that get nothing.
    // If one fails to start, dropping the vector stops those already running.
    let mut workers = (0..n_procs.min(items.len()))
        .map(|_| Worker::start(worker))
        .collect::<Result<Vec<_>, _>>()?;

    let next = AtomicUsize::new(0);
    let (report, reports) = mpsc::channel();
    let mut answers = Vec::with_capacity(items.len());
    let mut first_error = None;
    std::thread::scope(|scope| {
        for worker in &mut workers {
            let pipes = worker.take_pipes();
            let (next, report) = (&next, report.clone());
            scope.spawn(move || report.send(feed(pipes, items, next)));
        }
        drop(report);
        // One report per worker thread; the loop ends when all have sent theirs.
        for result in reports {
            match result {
                Ok(mut some) => answers.append(&mut some),
                Err(error) if first_error.is_none() => {
                    // The others might wait forever for a dead worker's
                    // item: stop them all. Killing a worker ends its
                    // thread's read with end-of-file.
                    first_error = Some(error);
                    workers.iter_mut().for_each(Worker::kill);
                }
                Err(_) => {} // a consequence of the first error
            }
        }
    });
    // Wait for every worker to exit (they got end-of-file or were killed),
    // so none is left as a zombie. Drop would do it too; this says so.
    workers.iter_mut().for_each(Worker::reap);
    if let Some(error) = first_error {
        return Err(error);
    }
    answers.sort_unstable_by_key(|&(i, _, _)| i);
    Ok(answers
        .into_iter()
        .map(|(_, result, pid)| (result, pid))
        .collect())
}

/// One worker process. Dropping it kills and reaps the process, so that no
/// path out of [`process_crunch`], a panic included, leaves one behind.
struct Worker {
    child: Child,
}

/// What one of our threads needs to talk to its worker.
struct Pipes {
    pid: u32,
    to_worker: ChildStdin,
    from_worker: BufReader<ChildStdout>,
}

impl Worker {
    fn start(program: &Path) -> Result<Self, PoolError> {
        let child = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| PoolError::Spawn {
                path: program.to_owned(),
                source,
            })?;
        Ok(Worker { child })
    }

    fn take_pipes(&mut self) -> Pipes {
        const PIPED: &str = "the worker was started with piped stdin and stdout";
        Pipes {
            pid: self.child.id(),
            to_worker: self.child.stdin.take().expect(PIPED),
            from_worker: BufReader::new(self.child.stdout.take().expect(PIPED)),
        }
    }

    fn kill(&mut self) {
        // Fails only when the worker has already exited: then it is done.
        let _ = self.child.kill();
    }

    fn reap(&mut self) {
        // Fails only when it has already been reaped.
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Harmless after `reap`: std does not signal a reaped child.
        self.kill();
        self.reap();
    }
}

/// One thread's work: give the worker the next item, wait for its answer,
/// repeat until the items run out. Returns (index, result, pid) triples.
fn feed(
    pipes: Pipes,
    items: &[f64],
    next: &AtomicUsize,
) -> Result<Vec<(usize, f64, u32)>, PoolError> {
    let Pipes {
        pid,
        mut to_worker,
        mut from_worker,
    } = pipes;
    let mut answers = Vec::new();
    let mut line = String::new();
    loop {
        let item = next.fetch_add(1, Ordering::Relaxed);
        let Some(x) = items.get(item) else { break };
        // `{x}` writes the shortest text that parses back to exactly x.
        if let Err(error) = to_worker.write_all(format!("{x}\n").as_bytes()) {
            return Err(match error.kind() {
                io::ErrorKind::BrokenPipe => PoolError::WorkerDied { pid, item },
                _ => PoolError::Io { pid, source: error },
            });
        }
        line.clear();
        match from_worker.read_line(&mut line) {
            Ok(0) => return Err(PoolError::WorkerDied { pid, item }),
            Ok(_) => {}
            Err(source) => return Err(PoolError::Io { pid, source }),
        }
        let (result, answered_by) = parse_answer(&line).ok_or_else(|| PoolError::BadAnswer {
            pid,
            item,
            line: line.trim_end().to_owned(),
        })?;
        answers.push((item, result, answered_by));
    }
    // Returning drops `to_worker`: the worker reads end-of-file and exits.
    Ok(answers)
}

/// Read a worker's answer line, `<result> <pid>`.
fn parse_answer(line: &str) -> Option<(f64, u32)> {
    let mut fields = line.split_whitespace();
    let result = fields.next()?.parse().ok()?;
    let pid = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((result, pid))
}
