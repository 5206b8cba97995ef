//! Exercise 4: a speedup sweep, Amdahl's law and the Karp–Flatt serial
//! fraction. Read `README.md` first; each `todo!()` names the section that
//! explains it.
//!
//! `Sample` (in `sample.rs`) and `SweepError` (in `sweep_error.rs`) are
//! given, complete. `main.rs` (and the modules beside it) is the sweep
//! program, given complete: it calls the functions below.

// Delete this line once every function below is written.
#![allow(unused_variables)]

mod sample;
mod sweep_error;

pub use sample::Sample;
pub use sweep_error::SweepError;

use std::time::Duration;

/// Calls `run` once per worker count, in the order given, and returns one
/// [`Sample`] per call: the worker count and the `Duration` it returned, in
/// seconds.
pub fn sweep(
    workers: impl IntoIterator<Item = usize>,
    run: impl FnMut(usize) -> Duration,
) -> Vec<Sample> {
    todo!("ex04 sweep: see README.md, section \"Speedup and efficiency\"")
}

/// The speedup T(1) / T(n) of every sample, in sample order, where T(1) is
/// the time of the sample with 1 worker.
///
/// Errors: [`SweepError::Empty`] for no samples; [`SweepError::BadTime`] for
/// the first sample whose time is zero, negative or not finite; then
/// [`SweepError::NoOneWorkerSample`] when no sample has 1 worker.
pub fn speedups(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    todo!("ex04 speedups: see README.md, section \"Speedup and efficiency\"")
}

/// The efficiency of every sample: its speedup divided by its worker count.
/// Same errors as [`speedups`].
pub fn efficiencies(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    todo!("ex04 efficiencies: see README.md, section \"Speedup and efficiency\"")
}

/// Amdahl's law: the speedup on `workers` workers of a program whose
/// `serial_fraction` (0 to 1) cannot run in parallel: 1 / (s + (1 - s) / n).
pub fn amdahl(workers: usize, serial_fraction: f64) -> f64 {
    todo!("ex04 amdahl: see README.md, section \"Amdahl's law\"")
}

/// The Karp–Flatt metric: the serial fraction that explains a measured
/// `speedup` on `workers` workers. `None` for 1 worker, where it is undefined.
pub fn karp_flatt(speedup: f64, workers: usize) -> Option<f64> {
    todo!("ex04 karp_flatt: see README.md, section \"Karp-Flatt: the serial fraction of a measurement\"")
}

/// Your own compute-bound function: deterministic (same `x`, same answer,
/// same work) and taking time proportional to `x`, a small fixed amount of
/// work per step of `x` (well under a millisecond).
pub fn crunch_numbers(x: u64) -> u64 {
    todo!("ex04 crunch_numbers: see README.md, section \"Your own crunch_numbers\"")
}

/// Maps `f` over `items` on `n_threads` threads that take `chunk`
/// consecutive items at a time from a shared counter (Python's
/// `Pool.map(f, items, chunksize)`): a thread that takes a chunk computes all
/// of it, in order, before it takes the next. Results come back in input
/// order.
///
/// # Panics
/// When `n_threads` is 0 or `chunk` is 0, with a message naming which one.
pub fn pool_map_chunked<T: Sync, U: Send>(
    items: &[T],
    n_threads: usize,
    chunk: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    todo!("ex04 pool_map_chunked: see README.md, section \"Tiny tasks and chunks\"")
}
