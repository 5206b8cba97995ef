//! The observation harness of exercise 4 (instructor-owned).
//!
//! `cargo bench -p ex04 --bench observe` prints the measurements; the grader
//! runs the same command and judges them against `course.yaml`. It uses the
//! program's own `workers` module, so it sweeps exactly like
//! `cargo run --release -p ex04` does, only smaller.
//!
//! Metrics (every timing: a warm-up, then the repeats; ratios from minimums):
//! - `slow_1_seconds`, `slow_2_seconds`: 2 x cores equal slow tasks of
//!   `crunch_numbers` on 1 and on 2 threads;
//! - `slow_speedup_2`: their ratio; `best_speedup`: the best T(1)/T(n) over
//!   n = 1..=2 x cores threads;
//! - `fast_process_speedup_2`: T(1)/T(2) for tiny tasks on worker processes
//!   started for each run (minimums of 20 runs: a run takes milliseconds);
//! - `crunch_wall_seconds`, `crunch_cpu_seconds`: one single-threaded call;
//! - `crunch_1x_seconds`, `crunch_4x_seconds`: `crunch_numbers(x)` and `(4x)`;
//! - `tiny_serial_seconds`, `tiny_chunked_seconds`: a million tasks of
//!   about 45 ns in the harness's own serial loop, then in `pool_map_chunked`
//!   on 2 threads with a chunk of items / (4 x threads) (minimums of 20 runs);
//! - `short_serial_seconds`, `short_chunk1_seconds`: a million tasks of about
//!   10 ns, serially and with chunk 1 (minimums of 10 runs).

// The program uses more of this module than the harness does.
#[allow(dead_code)]
#[path = "../src/workers.rs"]
mod workers;

use common::trace;
use protocol::machine::{Contention, Probe};
use protocol::observe::{
    self, catch_panic, cores, minimum, Observations, ObserveError, SweepPoint, Unit,
};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

const WORKER_PROGRAM: &str = env!("CARGO_BIN_EXE_ex04");
/// Tiny tasks per run on worker processes, as many as the program's default.
const TINY_TASKS: usize = 16;
/// A run of tiny tasks takes milliseconds and one time slice lost to another
/// program doubles it: take the minimum of more runs than the repeats.
const TINY_RUNS: usize = 20;

const SWEEP_METRICS: [&str; 4] = [
    "slow_1_seconds",
    "slow_2_seconds",
    "slow_speedup_2",
    "best_speedup",
];
const TINY_PROCESS_METRIC: &str = "fast_process_speedup_2";
const CRUNCH_METRICS: [&str; 4] = [
    "crunch_wall_seconds",
    "crunch_cpu_seconds",
    "crunch_1x_seconds",
    "crunch_4x_seconds",
];

fn main() -> Result<(), ObserveError> {
    observe::harness("ex04", measure)
}

fn measure(o: &mut Observations) {
    // One task of one time unit: long enough that thread start-up is noise.
    match catch_panic(|| workers::task_size_for(common::time_unit())) {
        Ok(x) => {
            if o.wants(&SWEEP_METRICS) {
                observe_thread_sweep(o, x);
            }
            if o.wants(&[TINY_PROCESS_METRIC]) {
                observe_tiny_tasks_on_processes(o);
            }
            if o.wants(&CRUNCH_METRICS) {
                observe_crunch(o, x);
            }
        }
        Err(message) => {
            let all = SWEEP_METRICS
                .iter()
                .chain([&TINY_PROCESS_METRIC])
                .chain(&CRUNCH_METRICS);
            for name in all {
                o.fail(name, &message);
            }
        }
    }
    if o.wants(&TINY_METRICS) {
        observe_tiny_tasks_on_threads(o);
    }
}

/// Sweeps 1..=2 x cores threads over 2 x cores slow tasks, the worker counts
/// interleaved within each repeat so that a burst of noise hits one repeat,
/// not one worker count. Each run's contention goes with its seconds; a
/// ratio gets the total over the measured runs it was worked out from.
fn observe_thread_sweep(o: &mut Observations, x: u64) {
    let most = 2 * cores().max(1);
    let tasks = vec![x; most];
    let runs = 1 + o.repeats();
    let mut runs_of: Vec<Vec<Run>> = vec![Vec::with_capacity(runs); most + 1];
    // Every run is traced alike; the last 2-worker schedule is kept.
    let mut schedule_at_2 = None;
    let measured = catch_panic(|| {
        for _ in 0..runs {
            for (n, runs) in runs_of.iter_mut().enumerate().skip(1) {
                let ((_, run), trace) =
                    trace::capture(|| timed(|| workers::run_threads(n, &tasks)));
                runs.push(run);
                if n == 2 {
                    schedule_at_2 = Some(trace);
                }
            }
        }
    });
    if let Err(message) = measured {
        for name in SWEEP_METRICS {
            o.fail(name, &message);
        }
        return;
    }
    // Drop the warm-up run of every worker count.
    let (times, contention): (Vec<Vec<f64>>, Vec<Vec<Contention>>) = runs_of
        .into_iter()
        .map(|runs| runs.into_iter().skip(1).unzip())
        .unzip();
    for n in [1, 2] {
        let name = format!("slow_{n}_seconds");
        o.record(&name, Unit::Seconds, times[n].iter().copied());
        o.record_contention(&name, contention[n].iter().copied());
    }
    let one = minimum(&times[1]);
    o.record("slow_speedup_2", Unit::Ratio, [one / minimum(&times[2])]);
    o.record_contention(
        "slow_speedup_2",
        Contention::total(contention[1].iter().chain(&contention[2])),
    );
    let best = times[1..]
        .iter()
        .map(|t| one / minimum(t))
        .fold(0.0, f64::max);
    o.record("best_speedup", Unit::Ratio, [best]);
    o.record_contention(
        "best_speedup",
        Contention::total(contention.iter().flatten()),
    );
    // For the reports to draw: the schedule behind near-ideal-at-two and
    // the whole sweep behind no-faster-than-cores.
    if let Some(trace) = schedule_at_2 {
        o.record_trace("slow_2_seconds", &trace.lane_spans());
    }
    let points = (1..=most).map(|workers| SweepPoint {
        workers,
        seconds: times[workers].clone(),
    });
    o.record_sweep("best_speedup", points.collect());
}

/// T(1)/T(2) for tiny tasks on worker processes, started anew for each run,
/// with the total contention over the measured runs.
fn observe_tiny_tasks_on_processes(o: &mut Observations) {
    const NAME: &str = TINY_PROCESS_METRIC;
    let program = Path::new(WORKER_PROGRAM);
    let runs = TINY_RUNS.max(1 + o.repeats());
    let measured = catch_panic(|| {
        let tasks = vec![workers::task_size_for(workers::fast_task()); TINY_TASKS];
        let (mut one, mut two) = (Vec::new(), Vec::new());
        let mut contention = Vec::with_capacity(2 * runs);
        for run in 0..runs {
            for (n, time) in [(1, &mut one), (2, &mut two)] {
                let (result, (seconds, during)) =
                    timed(|| workers::run_processes(program, n, &tasks));
                result?;
                time.push(seconds);
                // Run 0 is the warm-up.
                if run > 0 {
                    contention.push(during);
                }
            }
        }
        let ratio = minimum(&one[1..]) / minimum(&two[1..]);
        Ok::<_, std::io::Error>((ratio, Contention::total(&contention)))
    });
    match measured {
        Ok(Ok((ratio, during))) => {
            o.record(NAME, Unit::Ratio, [ratio]);
            o.record_contention(NAME, during);
        }
        Ok(Err(e)) => o.fail(NAME, e),
        Err(message) => o.fail(NAME, message),
    }
}

/// One single-threaded call: is it busy, and does it scale with x?
fn observe_crunch(o: &mut Observations, x: u64) {
    o.time_with_cpu("crunch_wall_seconds", "crunch_cpu_seconds", true, || {
        ex04::crunch_numbers(black_box(x))
    });
    o.time("crunch_1x_seconds", || ex04::crunch_numbers(black_box(x)));
    o.time("crunch_4x_seconds", || {
        ex04::crunch_numbers(black_box(4 * x))
    });
}

// ---- tiny tasks on threads, one at a time and in chunks ----
// (README: "Tiny tasks and chunks"; observations
// `one-at-a-time-is-slow-for-tiny-tasks` and `chunks-recover-the-speedup`.)

/// Tiny tasks per run: a run takes milliseconds, so starting 2 threads is a
/// small part of it.
const TINY_ITEMS: usize = 1_000_000;
/// The threads of both observations: speedups are at 2 threads.
const TINY_THREADS: usize = 2;
/// A chunk of about items / (4 x threads): few trips to the counter, and
/// enough chunks that a thread slowed down by another program does not hold
/// up the end.
const TINY_CHUNK: usize = TINY_ITEMS / (4 * TINY_THREADS);
/// One time slice lost to another program, or a moment of a busy host,
/// doubles a run of milliseconds: take the minimum of many more runs than
/// the repeats. A serial and a chunked run take about 70 ms together.
const TINY_THREAD_RUNS: usize = 20;
/// Chunk 1 misses its bound by far: fewer runs.
const CHUNK1_RUNS: usize = 10;
/// ~45 ns tasks serially and in chunks, then ~10 ns tasks serially and one
/// at a time.
const TINY_METRICS: [&str; 4] = [
    "tiny_serial_seconds",
    "tiny_chunked_seconds",
    "short_serial_seconds",
    "short_chunk1_seconds",
];

/// About 45 ns and about 10 ns of the instructor's arithmetic.
#[path = "support/tiny_task.rs"]
mod tiny_task;
use tiny_task::{short_task, tiny_task};

/// Tiny tasks, interleaved within each run: ~45 ns tasks in the harness's
/// own serial loop (the baseline, instructor code) and in
/// `pool_map_chunked` on 2 threads with `TINY_CHUNK`; then ~10 ns tasks in
/// the serial loop and with chunk 1. Every result is checked against the
/// serial one, so a pool that skips work is not fast, it is wrong.
fn observe_tiny_tasks_on_threads(o: &mut Observations) {
    let items: Vec<u64> = (0..TINY_ITEMS as u64).collect();
    let runs = TINY_THREAD_RUNS.max(1 + o.repeats());
    let chunk1_runs = CHUNK1_RUNS.max(1 + o.repeats());
    let mut runs_of: [Vec<Run>; 4] = Default::default();
    let measured = catch_panic(|| -> Result<(), String> {
        let (chunked, one_at_a_time) = runs_of.split_at_mut(2);
        for run in 0..runs {
            serial_then_pool(&items, tiny_task, TINY_CHUNK, chunked)?;
            if run < chunk1_runs {
                serial_then_pool(&items, short_task, 1, one_at_a_time)?;
            }
        }
        Ok(())
    });
    match measured.and_then(|checked| checked) {
        Ok(()) => {
            for (name, runs) in TINY_METRICS.into_iter().zip(runs_of) {
                // Drop the warm-up run.
                let (seconds, contention): (Vec<f64>, Vec<Contention>) =
                    runs.into_iter().skip(1).unzip();
                o.record(name, Unit::Seconds, seconds);
                o.record_contention(name, contention);
            }
        }
        Err(message) => {
            for name in TINY_METRICS {
                o.fail(name, &message);
            }
        }
    }
}

/// One run of `task` over `items` in the harness's serial loop, then in
/// `pool_map_chunked` on 2 threads with `chunk`: their runs go to `into[0]`
/// and `into[1]`, once the pool's results are the loop's.
fn serial_then_pool(
    items: &[u64],
    task: impl Fn(&u64) -> u64 + Sync + Copy,
    chunk: usize,
    into: &mut [Vec<Run>],
) -> Result<(), String> {
    let (expected, serial) = timed(|| items.iter().map(task).collect::<Vec<_>>());
    into[0].push(serial);
    let (results, pool) = timed(|| ex04::pool_map_chunked(items, TINY_THREADS, chunk, task));
    if results != expected {
        return Err(format!(
            "pool_map_chunked with chunk {chunk} returned other results than the serial loop"
        ));
    }
    into[1].push(pool);
    Ok(())
}

/// One timed run: its seconds, and what the rest of the machine did meanwhile.
type Run = (f64, Contention);

/// `f`'s result and its [`Run`].
fn timed<R>(f: impl FnOnce() -> R) -> (R, Run) {
    let probe = Probe::start();
    let start = Instant::now();
    let result = black_box(f());
    let seconds = start.elapsed().as_secs_f64();
    (result, (seconds, probe.stop()))
}
