//! Exercise 4, the reference solution: a speedup sweep, Amdahl's law and the
//! Karp–Flatt serial fraction.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

// The given types: the exercise's own files, so there is one copy of each.
#[path = "../../../exercises/ex04-speedup-sweep/src/sample.rs"]
mod sample;
#[path = "../../../exercises/ex04-speedup-sweep/src/sweep_error.rs"]
mod sweep_error;
pub use sample::Sample;
pub use sweep_error::SweepError;

/// Calls `run` once per worker count, in the order given, and returns one
/// [`Sample`] per call: the worker count and the `Duration` it returned, in
/// seconds.
pub fn sweep(
    workers: impl IntoIterator<Item = usize>,
    mut run: impl FnMut(usize) -> Duration,
) -> Vec<Sample> {
    workers
        .into_iter()
        .map(|n| Sample {
            workers: n,
            seconds: run(n).as_secs_f64(),
        })
        .collect()
}

/// T(1) / T(n) for every sample, in sample order.
pub fn speedups(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    if samples.is_empty() {
        return Err(SweepError::Empty);
    }
    // Check every time before dividing: a zero would turn into an infinite
    // speedup and a NaN would poison every number after it, silently.
    if let Some(bad) = samples
        .iter()
        .find(|s| !(s.seconds.is_finite() && s.seconds > 0.0))
    {
        return Err(SweepError::BadTime {
            workers: bad.workers,
            seconds: bad.seconds,
        });
    }
    let one = samples
        .iter()
        .find(|s| s.workers == 1)
        .ok_or(SweepError::NoOneWorkerSample)?;
    Ok(samples.iter().map(|s| one.seconds / s.seconds).collect())
}

/// Speedup per worker: 1.0 means every worker pulled its full weight.
pub fn efficiencies(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    let speedups = speedups(samples)?;
    Ok(samples
        .iter()
        .zip(speedups)
        .map(|(s, speedup)| speedup / s.workers as f64)
        .collect())
}

/// Amdahl's law: the speedup on `workers` workers of a program whose
/// `serial_fraction` cannot be parallelized.
pub fn amdahl(workers: usize, serial_fraction: f64) -> f64 {
    let s = serial_fraction;
    1.0 / (s + (1.0 - s) / workers as f64)
}

/// The Karp–Flatt metric: the serial fraction that would explain `speedup`
/// on `workers` workers, if Amdahl's law held. Undefined with fewer than 2
/// workers (it would divide by zero).
pub fn karp_flatt(speedup: f64, workers: usize) -> Option<f64> {
    if workers < 2 {
        return None;
    }
    let n = workers as f64;
    Some((1.0 / speedup - 1.0 / n) / (1.0 - 1.0 / n))
}

/// A Monte Carlo estimate of pi with `x` random points: returns how many of
/// them fell inside the quarter circle (4 * hits / x is about pi).
///
/// Deterministic (a fixed seed, so every run does the same work and gives the
/// same answer) and linear in `x`: each point costs the same few nanoseconds.
pub fn crunch_numbers(x: u64) -> u64 {
    let mut rng = SplitMix64(0x5EED);
    let mut hits = 0;
    for _ in 0..x {
        let (a, b) = (rng.unit(), rng.unit());
        if a * a + b * b <= 1.0 {
            hits += 1;
        }
    }
    hits
}

/// A tiny, well-known pseudo-random generator (SplitMix64): enough for a
/// Monte Carlo estimate, and no dependency for a dozen lines.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1) from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Maps `f` over `items` on `n_threads` threads that take `chunk`
/// consecutive items at a time from a shared counter; results in input order.
///
/// # Panics
/// When `n_threads` or `chunk` is 0.
pub fn pool_map_chunked<T: Sync, U: Send>(
    items: &[T],
    n_threads: usize,
    chunk: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    assert!(
        n_threads > 0,
        "pool_map_chunked needs at least one thread, got n_threads = 0"
    );
    assert!(
        chunk > 0,
        "pool_map_chunked needs at least one item per chunk, got chunk = 0"
    );
    // The counter counts chunks, not items: one fetch_add per chunk is the
    // whole point (a 45 ns task cannot pay for a trip to a shared counter),
    // and a chunk's first item, index * chunk, never overflows.
    let chunks = items.len().div_ceil(chunk);
    let next = AtomicUsize::new(0);
    // Each thread keeps the indices of the chunks it took and their results,
    // one after the other in one Vec: no allocation per chunk, which with
    // chunk 1 would cost more than the counter itself.
    let per_thread: Vec<(Vec<usize>, Vec<U>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n_threads)
            .map(|_| {
                scope.spawn(|| {
                    // Room for an even share up front: growing a Vec of
                    // millions of results copies it again and again.
                    let share = items.len().div_ceil(n_threads);
                    let (mut taken, mut results) = (Vec::new(), Vec::with_capacity(share));
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= chunks {
                            break (taken, results);
                        }
                        taken.push(index);
                        results.extend(items[index * chunk..].iter().take(chunk).map(&f));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            // Pass a panic in `f` on with its own message.
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    });
    // Put the chunks back in input order: which thread took each chunk, then
    // chunk after chunk, the next results of that thread. A thread took its
    // chunks in increasing order, so its results come out in that order too.
    let mut taken_by = vec![0; chunks];
    for (thread, (taken, _)) in per_thread.iter().enumerate() {
        for &index in taken {
            taken_by[index] = thread;
        }
    }
    let mut results_of: Vec<_> = per_thread
        .into_iter()
        .map(|(_, results)| results.into_iter())
        .collect();
    let mut results = Vec::with_capacity(items.len());
    for thread in taken_by {
        // Every chunk but the last is full; the last takes what is left.
        results.extend(results_of[thread].by_ref().take(chunk));
    }
    results
}
