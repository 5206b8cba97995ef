//! Timing and CPU time for harnesses and tests: a call's wall time, the
//! process's and the thread's CPU time, how busy a call keeps its thread,
//! and panics caught as messages.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Run `f` and time it.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// The CPU time this process has used so far, and the cores it may use:
/// the machine's facts, kept here too for the harnesses and exercises that
/// name them from `observe`.
pub use crate::machine::{cores, cpu_time};

/// The CPU time the calling thread has used so far: what a test compares
/// with the wall time of the same call, without a bound on either.
pub fn thread_cpu_time() -> Duration {
    cpu_time::ThreadTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}

/// How busy one call of `f` keeps the calling thread, against a busy loop
/// of the same length: the call's CPU time over its wall time, divided by the
/// same share for the loop, run right after it (on a busy machine both get
/// about the same part of a core); the best of `tries`. About 1 for work that
/// computes, about 0 for work that sleeps or waits: a ratio, no bound on any
/// time, for a test to check "keeps a core busy" in its own build.
pub fn busy_share(tries: usize, mut f: impl FnMut()) -> f64 {
    let share = |cpu: Duration, wall: Duration| {
        cpu.as_secs_f64() / wall.as_secs_f64().max(f64::MIN_POSITIVE)
    };
    let mut best = 0.0_f64;
    for _ in 0..tries.max(1) {
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        f();
        let took = wall.elapsed();
        let call = share(thread_cpu_time().saturating_sub(cpu), took);
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        while wall.elapsed() < took {
            std::hint::black_box(());
        }
        let own = share(thread_cpu_time().saturating_sub(cpu), wall.elapsed());
        best = best.max(call / own.max(f64::MIN_POSITIVE));
    }
    best
}

/// Run student code, turning a panic into its message.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        format!("panicked: {message}")
    })
}
