//! The tiny task of the tiny-task lesson, shared by the observation harness
//! and the reference solution's `chunks` benchmark, so both time the same
//! work.

/// Rounds of the mixing step: about 10 ns a task on the course's machine.
const ROUNDS: u32 = 16;

/// About 10 ns of arithmetic, the same on every run: rounds of a 64-bit
/// mixing step, each waiting on the one before.
pub fn tiny_task(x: &u64) -> u64 {
    let mut z = *x;
    for _ in 0..ROUNDS {
        z = (z ^ (z >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    z
}
