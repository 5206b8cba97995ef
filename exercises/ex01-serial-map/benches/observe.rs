//! The observation harness of exercise 1 (owned by the instructor).
//!
//! Run by hand: `cargo bench -p ex01 --bench observe` prints a table. The
//! grader runs it with its settings on stdin and reads the measurements from
//! the file they name; `course.yaml` says what they must show.
//!
//! The map is timed against the harness's own map over the student's
//! `do_science` (`iter().map(..).collect()`, what a correct `science_map`
//! is): a baseline the student cannot slow down to flatter the map, and as
//! fast as the map should be, so that any work a map adds shows as a miss.
//! (A loop that pushes is not that baseline: `collect` fills a vector of
//! known length without checking its capacity per item, and takes about half
//! the loop's time.)

use ex01::{do_science, map_lazy, science_loop, science_map};
use protocol::observe::{self, Observations, ObserveError};
use std::hint::black_box;

/// Millions of items: enough work that a map takes about a millisecond, so
/// building a lazy iterator (nanoseconds) is thousands of times cheaper than
/// consuming it. Kept below 32 MB per vector, where the allocator would go back
/// to the OS for fresh pages on every call.
const ITEMS: u64 = 2_000_000;
/// Calls per timed run: one map is about a millisecond, too short to time
/// against the scheduler's ticks and other programs' bursts; eight make a run
/// of several milliseconds.
const CALLS_PER_RUN: usize = 8;
/// Passes over a lazy map per timed run: a pass only reads (about half a
/// millisecond), so it takes more of them to make several milliseconds.
const PASSES_PER_RUN: usize = 16;
/// Rounds of loop-then-map timings; each round records `COURSE_REPEATS` runs of each.
const ROUNDS: usize = 8;

fn main() -> Result<(), ObserveError> {
    observe::harness("ex01", |observations| {
        let inputs: Vec<u64> = (0..ITEMS).collect();
        if observations.wants(&["reference_map_seconds", "loop_seconds", "map_seconds"]) {
            map_against_loop(observations, &inputs);
        }
        if observations.wants(&["build_seconds", "consume_seconds"]) {
            build_against_consume(observations, &inputs);
        }
    })
}

/// map-matches-loop: the same work written two ways.
fn map_against_loop(observations: &mut Observations, inputs: &[u64]) {
    // Fill and free one result-sized vector first, so the allocator keeps that
    // much memory at hand and no timing pays for fresh pages from the OS.
    drop(black_box(inputs.to_vec()));
    // A few rounds, taking turns: a burst of load from other programs then
    // slows all three down instead of only one of them.
    for _ in 0..ROUNDS {
        observations.time("reference_map_seconds", || {
            for _ in 0..CALLS_PER_RUN {
                black_box(reference_map(black_box(inputs)));
            }
        });
        let looped = observations.time("loop_seconds", || {
            for _ in 0..CALLS_PER_RUN {
                black_box(science_loop(black_box(inputs)));
            }
        });
        let mapped = observations.time("map_seconds", || {
            for _ in 0..CALLS_PER_RUN {
                black_box(science_map(black_box(inputs)));
            }
        });
        if looped.is_none() || mapped.is_none() {
            break; // a panic is recorded once; no need to repeat it
        }
    }
}

/// lazy-until-consumed: building the iterator once against building and
/// running it several times. Building is nanoseconds by design (that is the
/// claim); consuming is milliseconds.
fn build_against_consume(observations: &mut Observations, inputs: &[u64]) {
    observations.time("build_seconds", || {
        black_box(map_lazy(black_box(inputs), |&x| do_science(x)))
    });
    observations.time("consume_seconds", || {
        for _ in 0..PASSES_PER_RUN {
            // black_box on every item: the optimizer may not skip results nobody reads.
            for y in map_lazy(black_box(inputs), |&x| do_science(x)) {
                black_box(y);
            }
        }
    });
}

/// The instructor's map over the student's per-item function: what a map
/// that costs nothing extra is measured against.
fn reference_map(inputs: &[u64]) -> Vec<u64> {
    inputs.iter().map(|&x| do_science(x)).collect()
}
