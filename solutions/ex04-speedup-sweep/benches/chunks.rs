//! The reference `pool_map_chunked` against a rayon pool of 2 threads:
//! `cargo bench --manifest-path solutions/Cargo.toml -p ex04 --bench chunks`.
//!
//! Prints, for a million tiny tasks (about 45 ns each) and for 16 slow tasks
//! (about 20 ms each), the minimum time of each over `RUNS` interleaved runs
//! and their ratio, against the goals: within 1.5x of rayon on tiny tasks,
//! within 1.05x on slow ones. Measure on a quiet machine: a build running
//! beside it makes 2 threads look like 1.

// The program uses more of this module than the benchmark does.
#[allow(dead_code)]
#[path = "../../../exercises/ex04-speedup-sweep/src/workers.rs"]
mod workers;

#[path = "../../../exercises/ex04-speedup-sweep/benches/support/tiny_task.rs"]
mod tiny_task;

use protocol::observe::minimum;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tiny_task::tiny_task;

const THREADS: usize = 2;
const RUNS: usize = 7;
const TINY_TASKS: u64 = 1_000_000;
const SLOW_TASKS: usize = 16;
const SLOW_TASK: Duration = Duration::from_millis(20);

fn main() {
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("a rayon pool of 2 threads");

    let tiny: Vec<u64> = (0..TINY_TASKS).collect();
    compare(
        &format!("{TINY_TASKS} tiny tasks"),
        1.5,
        &tiny,
        tiny_task,
        &rayon,
    );

    let x = workers::task_size_for(SLOW_TASK);
    let slow = vec![x; SLOW_TASKS];
    compare(
        &format!("{SLOW_TASKS} tasks of {SLOW_TASK:?}"),
        1.05,
        &slow,
        |&x| ex04::crunch_numbers(x),
        &rayon,
    );
}

/// Times `f` over `items` in a serial loop, in `pool_map_chunked` with a chunk
/// of items / (4 x threads) and in rayon, and prints the minimums and the
/// ratio of the pool to rayon against `goal`.
fn compare(
    what: &str,
    goal: f64,
    items: &[u64],
    f: impl Fn(&u64) -> u64 + Sync,
    rayon: &rayon::ThreadPool,
) {
    let chunk = (items.len() / (4 * THREADS)).max(1);
    // Serial loop, pool_map_chunked, rayon: interleaved, so that a burst of
    // noise hits one run of each rather than all the runs of one.
    let mut times: [Vec<f64>; 3] = Default::default();
    // One more run than measured: the first warms up caches and clocks.
    for run in 0..=RUNS {
        let took = [
            seconds(|| items.iter().map(&f).collect::<Vec<_>>()),
            seconds(|| ex04::pool_map_chunked(items, THREADS, chunk, &f)),
            seconds(|| rayon.install(|| items.par_iter().map(&f).collect::<Vec<_>>())),
        ];
        if run > 0 {
            for (time, took) in times.iter_mut().zip(took) {
                time.push(took);
            }
        }
    }
    let [serial, pool, by_rayon] = times.map(|t| minimum(&t));
    let ratio = pool / by_rayon;
    let verdict = if ratio <= goal {
        "within"
    } else {
        "NOT within"
    };
    println!("{what} on {THREADS} threads (minimum of {RUNS} runs):");
    println!(
        "  serial loop                       {:9.3} ms",
        serial * 1e3
    );
    println!("  pool_map_chunked, chunk {chunk:<9} {:9.3} ms", pool * 1e3);
    println!(
        "  rayon                             {:9.3} ms",
        by_rayon * 1e3
    );
    println!("  pool_map_chunked / rayon = {ratio:.3}: {verdict} the goal of {goal}x");
}

fn seconds<R>(f: impl FnOnce() -> R) -> f64 {
    let start = Instant::now();
    black_box(f());
    start.elapsed().as_secs_f64()
}
