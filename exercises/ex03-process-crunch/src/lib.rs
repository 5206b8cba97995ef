//! Exercise 3: process crunch. Read `README.md` first.
//!
//! Number crunching on threads, on threads that hold a mimicked GIL, and on
//! a pool of worker processes that talk over pipes.
//!
//! `PoolError` (in `pool_error.rs`) is given, complete.

// Delete this line once every function below is written.
#![allow(unused_variables)]

mod pool_error;

pub use pool_error::PoolError;

use std::path::Path;

/// Mimic training a neural network: count down from
/// `x * common::ITERATIONS_PER_UNIT`, then return `x * x`. The whole call is
/// recorded in the course's trace as `crunch {x}` (`common::trace::span`).
pub fn train_neural_network(x: f64) -> f64 {
    todo!("ex03 train_neural_network: see README.md, section \"1. Counting down\"")
}

/// Crunch the items one after the other; results in input order.
pub fn serial_crunch(items: &[f64]) -> Vec<f64> {
    todo!("ex03 serial_crunch: see README.md, section \"1. Counting down\"")
}

/// Crunch the items on `n_threads` threads that take the next item one at a
/// time, in input order; results in input order.
///
/// # Panics
/// When `n_threads` is 0, with a message saying it needs at least one thread.
pub fn threaded_crunch(items: &[f64], n_threads: usize) -> Vec<f64> {
    todo!("ex03 threaded_crunch: see README.md, section \"2. Threads crunch in parallel\"")
}

/// Like [`threaded_crunch`], but each thread holds [`common::GIL`] for its
/// whole task.
///
/// # Panics
/// When `n_threads` is 0, with a message saying it needs at least one thread.
pub fn gil_crunch(items: &[f64], n_threads: usize) -> Vec<f64> {
    todo!("ex03 gil_crunch: see README.md, section \"3. Bringing the GIL back\"")
}

/// Crunch the items on `n_procs` copies of the `worker` program, handing
/// them out one at a time in input order; results come back in input order.
///
/// Errors, never a hang and never a panic: the worker cannot start, a worker
/// dies or exits early, an answer does not parse, `n_procs` is 0. Every
/// worker has exited and been waited for when this returns.
pub fn process_crunch(worker: &Path, items: &[f64], n_procs: usize) -> Result<Vec<f64>, PoolError> {
    todo!("ex03 process_crunch: see README.md, section \"5. A pool of worker processes\"")
}

/// [`process_crunch`], keeping with each result the pid of the worker that
/// answered it (the observations check that the answers really came from
/// other processes). Write this one and let `process_crunch` call it.
pub fn process_crunch_with_pids(
    worker: &Path,
    items: &[f64],
    n_procs: usize,
) -> Result<Vec<(f64, u32)>, PoolError> {
    todo!("ex03 process_crunch_with_pids: see README.md, section \"5. A pool of worker processes\"")
}
