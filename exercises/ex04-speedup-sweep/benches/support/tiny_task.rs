//! The tiny tasks of the tiny-task lesson, shared by the observation harness
//! and the reference solution's `chunks` benchmark, so both time the same
//! work.

/// Rounds of the mixing step in a [`tiny_task`]: about 45 ns a task on the
/// course's machine, 45 ms for a million. Long enough that the copy a
/// chunked pool makes of its results at the end leaves the speedup at 2
/// threads clearly above 1.5 (about 1.7 to 1.9; with half the rounds it was
/// 1.4 to 1.7).
const ROUNDS: u32 = 64;

/// Rounds in a [`short_task`]: about 10 ns, well under one trip of the
/// shared counter's cache line from one core to the other (55 to 180 ns
/// measured on the course's machine, depending on where its 2 virtual CPUs
/// ran). Chunk 1 on 2 threads pays that trip on every item, so it is slower
/// than a plain loop wherever the trip costs more than the task; with 45 ns
/// tasks it sometimes did not.
const SHORT_ROUNDS: u32 = 10;

/// About 45 ns of arithmetic, the same on every run (`chunks-recover-the-speedup`).
pub fn tiny_task(x: &u64) -> u64 {
    mix(*x, ROUNDS)
}

/// About 10 ns of the same arithmetic (`one-at-a-time-is-slow-for-tiny-tasks`).
#[allow(dead_code)] // the reference solution's benchmark uses only `tiny_task`
pub fn short_task(x: &u64) -> u64 {
    mix(*x, SHORT_ROUNDS)
}

/// `rounds` of a 64-bit mixing step, each waiting on the one before.
fn mix(mut z: u64, rounds: u32) -> u64 {
    for _ in 0..rounds {
        z = (z ^ (z >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    z
}
