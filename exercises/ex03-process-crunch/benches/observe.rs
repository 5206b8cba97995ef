//! The observations of exercise 3, measured in release mode.
//!
//! Run by hand: `cargo bench -p ex03 --bench observe` prints a table. The
//! grader runs the same harness and judges the numbers with course.yaml's
//! ex03 section. Every parallel comparison uses equal tasks, long enough that
//! a worker process's start-up is small against them.

use common::trace::{self, Trace};
use ex03::{
    gil_crunch, process_crunch, process_crunch_with_pids, serial_crunch, threaded_crunch,
    train_neural_network,
};
use protocol::machine::{Contention, Probe};
use protocol::observe::{self, catch_panic, Observations, ObserveError, Unit};
use protocol::processes::capture_processes;
use std::path::Path;

/// The worker program, built with the same profile as this harness.
const WORKER: &str = env!("CARGO_BIN_EXE_crunch-worker");
/// Eight tasks of 2 work units: 2 threads or 2 workers take 4 each.
const TASKS: [f64; 8] = [2.0; 8];
/// A start is too short to time alone: it is timed in batches of this many
/// process starts per repeat and reported per start. A process start takes
/// milliseconds, so a batch takes well over 5 ms.
const PROCESS_STARTS_PER_BATCH: u32 = 10;
/// A thread start takes 10 to 20 microseconds: this many make a batch of
/// 5 ms or more, long against the clock's and the probe's cost.
const THREAD_STARTS_PER_BATCH: u32 = 500;
/// Runs of process_crunch_with_pids before really-processes gives up on
/// seeing 2 workers: on a busy machine the second worker may start after
/// the first has answered everything, which says nothing about the pool.
const PID_TRIES: usize = 3;
/// The timings whose schedules the reports draw, recorded in the harness's
/// own process. The processes' schedule is [`PROCESSES_SCHEDULE`].
const SCHEDULES: [&str; 2] = ["threads_seconds", "gil_seconds"];
/// The timing whose schedule the worker processes write to trace files.
const PROCESSES_SCHEDULE: &str = "processes_seconds";

fn main() -> Result<(), ObserveError> {
    observe::harness("ex03", measure)
}

fn measure(o: &mut Observations) {
    let worker = Path::new(WORKER);

    crunch_alone(o);
    crunch_in_parallel(o, worker);

    record_processes_schedule(o, worker);

    // really-processes
    record_worker_pids(o, worker);

    // process-start-costs-more: a pool of one, on one tiny item.
    time_per_call(o, "process_start_seconds", PROCESS_STARTS_PER_BATCH, || {
        process_crunch(worker, &[0.0], 1).unwrap_or_else(|e| panic!("process_crunch failed: {e}"))
    });
    // The harness's own thread start: the reference is not the student's.
    time_per_call(o, "thread_start_seconds", THREAD_STARTS_PER_BATCH, || {
        std::thread::spawn(|| train_neural_network(0.0))
            .join()
            .expect("train_neural_network(0.0) panicked")
    });
}

/// One worker crunching: its time scales with the work, and keeps a core busy.
fn crunch_alone(o: &mut Observations) {
    // crunch-scales-with-x: the student's countdown against the harness's
    // own countdown of the same length, in the same run. A deleted loop
    // takes nanoseconds at any repeat count; a real one about as long as
    // the reference.
    time_in_turns(
        o,
        vec![
            (
                "reference_countdown_seconds",
                Box::new(|| vec![reference_countdown(1.0)]),
            ),
            (
                "crunch1_seconds",
                Box::new(|| vec![train_neural_network(1.0)]),
            ),
            (
                "crunch4_seconds",
                Box::new(|| vec![train_neural_network(4.0)]),
            ),
        ],
    );
    // crunch-is-cpu-bound.
    if o.wants(&["crunch_wall_seconds", "crunch_cpu_seconds"]) {
        o.time_with_cpu("crunch_wall_seconds", "crunch_cpu_seconds", true, || {
            checked("serial_crunch", &[1.0, 1.0], serial_crunch(&[1.0, 1.0]))
        });
    }
}

/// The same tasks on 2 threads, 2 threads under the GIL and 2 processes.
fn crunch_in_parallel(o: &mut Observations, worker: &Path) {
    // threads-crunch-in-parallel, gil-serializes, processes-crunch-in-parallel.
    // The serial reference is the harness's own loop over
    // train_neural_network: a slowed-down serial_crunch changes nothing.
    // Taken in turns, so that a neighbour's build slows them alike.
    time_in_turns(
        o,
        vec![
            (
                "reference_serial_seconds",
                Box::new(|| {
                    let results = TASKS.iter().map(|&x| train_neural_network(x)).collect();
                    checked("train_neural_network", &TASKS, results)
                }),
            ),
            (
                "threads_seconds",
                Box::new(|| checked("threaded_crunch", &TASKS, threaded_crunch(&TASKS, 2))),
            ),
            (
                "gil_seconds",
                Box::new(|| checked("gil_crunch", &TASKS, gil_crunch(&TASKS, 2))),
            ),
            (
                "processes_seconds",
                Box::new(|| {
                    let results = process_crunch(worker, &TASKS, 2)
                        .unwrap_or_else(|e| panic!("process_crunch failed: {e}"));
                    checked("process_crunch", &TASKS, results)
                }),
            ),
        ],
    );
}

/// The lesson's countdown, the harness's own: `x` work units, every
/// step shown to `black_box`. The student's `train_neural_network` must take
/// about as long.
fn reference_countdown(x: f64) -> f64 {
    let mut remaining = (x * common::ITERATIONS_PER_UNIT as f64) as u64;
    while remaining > 0 {
        remaining -= 1;
        std::hint::black_box(remaining);
    }
    x * x
}

/// Panic (which the recorder notes as the metric's error) unless `results`
/// are the squares of `items`: a fast wrong answer proves nothing.
fn checked(function: &str, items: &[f64], results: Vec<f64>) -> Vec<f64> {
    let expected: Vec<f64> = items.iter().map(|x| x * x).collect();
    assert_eq!(results, expected, "{function} returned wrong results");
    results
}

/// A timing that `time_in_turns` runs: the metric's name and the work.
type Case<'a> = (&'static str, Box<dyn FnMut() -> Vec<f64> + 'a>);

/// Time each case once as a warm-up, then once per repeat, taking the cases
/// in turns (A B C, A B C, ...), with what the rest of the machine did
/// during each measured run. A case that panics is recorded as failed and
/// not run again.
fn time_in_turns(o: &mut Observations, mut cases: Vec<Case<'_>>) {
    let names: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    if !o.wants(&names) {
        return;
    }
    let mut seconds = vec![Vec::new(); cases.len()];
    let mut contention: Vec<Vec<Contention>> = vec![Vec::new(); cases.len()];
    let mut errors: Vec<Option<String>> = vec![None; cases.len()];
    // Every run is traced alike; the last run's schedule is kept.
    let mut schedules: Vec<Option<Trace>> = vec![None; cases.len()];
    for round in 0..=o.repeats() {
        for (i, (_, run)) in cases.iter_mut().enumerate() {
            if errors[i].is_some() {
                continue;
            }
            let probe = Probe::start();
            let timed = catch_panic(|| trace::capture(|| observe::measure(run).1));
            let during = probe.stop();
            match timed {
                // Round 0 is the warm-up.
                Ok((elapsed, schedule)) if round > 0 => {
                    seconds[i].push(elapsed.as_secs_f64());
                    contention[i].push(during);
                    schedules[i] = Some(schedule);
                }
                Ok(_) => {}
                Err(message) => errors[i] = Some(message),
            }
        }
    }
    for (((((name, _), values), during), error), schedule) in cases
        .iter()
        .zip(seconds)
        .zip(contention)
        .zip(errors)
        .zip(schedules)
    {
        match error {
            Some(message) => o.fail(name, message),
            None => {
                o.record(name, Unit::Seconds, values);
                o.record_contention(name, during);
            }
        }
        // For the reports to draw: the spans train_neural_network recorded.
        if let Some(schedule) = schedule.filter(|_| SCHEDULES.contains(name)) {
            o.record_trace(name, &schedule.lane_spans());
        }
    }
}

/// Record the schedule of `processes_seconds` for the reports to draw: a
/// lane per worker process, from the spans its `train_neural_network` wrote
/// to a trace file ([`capture_processes`]).
///
/// One more run after the timed ones, rather than the last timed run: the
/// timed runs stay as they were, with no trace files written while the
/// clock runs and nothing in the workers' environment that differs from one
/// timed run to the next. The drawing is informational: a pool that fails
/// here, or clears its workers' environment so that they write nothing,
/// leaves no schedule, and the reports draw none.
fn record_processes_schedule(o: &mut Observations, worker: &Path) {
    if !o.wants(&[PROCESSES_SCHEDULE]) {
        return;
    }
    let traced = catch_panic(|| {
        capture_processes(|| process_crunch(worker, &TASKS, 2).map(|r| r == TASKS.map(|x| x * x)))
    });
    if let Ok((Ok(true), spans)) = traced {
        if !spans.is_empty() {
            o.record_trace(PROCESSES_SCHEDULE, &spans);
        }
    }
}

/// Time `f` in batches of `calls` calls after a warm-up batch, recording
/// the seconds per call and what the rest of the machine did during each
/// measured batch.
fn time_per_call<R>(o: &mut Observations, name: &str, calls: u32, mut f: impl FnMut() -> R) {
    if !o.wants(&[name]) {
        return;
    }
    let mut batch = || {
        let probe = Probe::start();
        let (_, elapsed) = observe::measure(|| {
            for _ in 0..calls {
                std::hint::black_box(f());
            }
        });
        (elapsed.as_secs_f64() / f64::from(calls), probe.stop())
    };
    match catch_panic(|| {
        batch();
        (0..o.repeats()).map(|_| batch()).collect::<Vec<_>>()
    }) {
        Ok(batches) => {
            let (per_call, contention): (Vec<f64>, Vec<Contention>) = batches.into_iter().unzip();
            o.record(name, Unit::Seconds, per_call);
            o.record_contention(name, contention);
        }
        Err(message) => o.fail(name, message),
    }
}

/// really-processes: which processes answered. The most distinct workers
/// seen in up to [`PID_TRIES`] runs (one run with 2 proves there is a pool),
/// and every answer from the caller's own pid in any of them.
fn record_worker_pids(o: &mut Observations, worker: &Path) {
    if !o.wants(&["distinct_worker_pids", "answers_from_caller_pid"]) {
        return;
    }
    let (mut most_workers, mut from_caller) = (0, 0);
    for _ in 0..PID_TRIES {
        let pids = catch_panic(|| {
            process_crunch_with_pids(worker, &TASKS, 2)
                .unwrap_or_else(|e| panic!("process_crunch_with_pids failed: {e}"))
        });
        let pids: Vec<u32> = match pids {
            Ok(answers) => answers.into_iter().map(|(_result, pid)| pid).collect(),
            Err(message) => {
                o.fail("distinct_worker_pids", &message);
                o.fail("answers_from_caller_pid", &message);
                return;
            }
        };
        from_caller += pids
            .iter()
            .filter(|&&pid| pid == std::process::id())
            .count();
        let mut distinct = pids;
        distinct.sort_unstable();
        distinct.dedup();
        most_workers = most_workers.max(distinct.len());
        if most_workers >= 2 {
            break;
        }
    }
    o.record("distinct_worker_pids", Unit::Count, [most_workers as f64]);
    o.record("answers_from_caller_pid", Unit::Count, [from_caller as f64]);
}
