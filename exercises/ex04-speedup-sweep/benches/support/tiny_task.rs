//! The tiny task of the tiny-task lesson, shared by the observation harness
//! and the reference solution's `chunks` benchmark, so both time the same
//! work.

/// Rounds of the mixing step: about 45 ns a task on the course's machine,
/// 45 ms for a million. Long enough that the copy a chunked pool makes of
/// its results at the end leaves the speedup at 2 threads clearly above 1.5
/// (about 1.7 to 1.9; with half the rounds it was 1.4 to 1.7), and short
/// enough that one item at a time on 2 threads is still slower than none.
const ROUNDS: u32 = 64;

/// About 45 ns of arithmetic, the same on every run: rounds of a 64-bit
/// mixing step, each waiting on the one before.
pub fn tiny_task(x: &u64) -> u64 {
    let mut z = *x;
    for _ in 0..ROUNDS {
        z = (z ^ (z >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    z
}
