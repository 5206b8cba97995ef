//! The tests of exercise 3. Run them with `cargo test -p ex03`.
//!
//! They use tiny amounts of crunching (a few thousandths of a work unit), so they
//! run quickly in debug mode; the timing lessons are the observations'
//! business (`cargo bench -p ex03 --bench observe`).

use assert_cmd::Command;
use common::trace::{self, Trace};
use ex03::{
    gil_crunch, process_crunch, serial_crunch, threaded_crunch, train_neural_network, PoolError,
};
use predicates::prelude::*;
use protocol::observe::busy_share;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The worker program you write, `src/bin/crunch-worker.rs`.
const WORKER: &str = env!("CARGO_BIN_EXE_crunch-worker");
/// A worker that misbehaves on command (`tests/support/misbehaving-worker.rs`):
/// it answers `x * x` at once, except for these numbers.
const MISBEHAVING_WORKER: &str = env!("CARGO_BIN_EXE_misbehaving-worker");
/// The misbehaving worker exits with code 3 without answering.
const DIE: f64 = -1.0;
/// The misbehaving worker answers `forty-two`.
const GARBLE: f64 = -2.0;
/// The misbehaving worker never answers; it exits when its input closes.
const STALL: f64 = -3.0;
/// The misbehaving worker answers once 3 workers started by this test process
/// have checked in, in the directory `ex03-rendezvous-<this pid>` under the
/// system's temporary directory.
const RENDEZVOUS_OF_3: f64 = -1003.0;

/// Small amounts of crunching: quick even in debug mode.
const TINY: [f64; 7] = [0.004, 0.001, 0.003, 0.0005, 0.002, 0.0, 0.0025];

fn squares(items: &[f64]) -> Vec<f64> {
    items.iter().map(|x| x * x).collect()
}

// ---------------------------------------------------------------- crunching

#[test]
fn train_neural_network_returns_the_square() {
    for x in [0.0, 0.001, 0.0025, 0.01, -0.002] {
        assert_eq!(train_neural_network(x), x * x, "train_neural_network({x})");
    }
}

#[test]
fn serial_crunch_returns_the_squares_in_order() {
    assert_eq!(serial_crunch(&TINY), squares(&TINY));
    assert_eq!(serial_crunch(&[]), Vec::<f64>::new());
}

#[test]
fn threaded_crunch_agrees_with_serial_crunch() {
    let serial = serial_crunch(&TINY);
    for n_threads in 1..=4 {
        assert_eq!(
            threaded_crunch(&TINY, n_threads),
            serial,
            "{n_threads} threads"
        );
    }
    assert_eq!(
        threaded_crunch(&TINY[..2], 5),
        serial[..2],
        "more threads than items"
    );
    assert_eq!(threaded_crunch(&[], 2), Vec::<f64>::new(), "no items");
}

#[test]
fn gil_crunch_agrees_with_serial_crunch() {
    let serial = serial_crunch(&TINY);
    for n_threads in 1..=3 {
        assert_eq!(gil_crunch(&TINY, n_threads), serial, "{n_threads} threads");
    }
    assert_eq!(gil_crunch(&[], 2), Vec::<f64>::new(), "no items");
}

#[test]
fn train_neural_network_keeps_a_core_busy() {
    // The harness times this claim in release; here it is checked in the
    // tests' own build, without a bound on any time: the CPU time of a call
    // against its wall time, beside the same share for a busy loop
    // (`busy_share`: on a busy machine both get the same part of a core).
    let mut x = 0.001;
    let took = loop {
        let start = Instant::now();
        std::hint::black_box(train_neural_network(std::hint::black_box(x)));
        let took = start.elapsed();
        if took >= Duration::from_millis(20) || x >= 64.0 {
            break took;
        }
        x *= 2.0;
    };
    assert!(
        took >= Duration::from_millis(20),
        "train_neural_network({x}) still took only {took:?}: count down every step"
    );
    let share = busy_share(3, || {
        std::hint::black_box(train_neural_network(std::hint::black_box(x)));
    });
    assert!(
        share >= 0.5,
        "train_neural_network({x}) kept this thread on a CPU for {:.0}% of the share a busy \
         loop gets: count down, do not sleep or wait",
        100.0 * share
    );
}

#[test]
fn train_neural_network_records_its_call_in_the_trace() {
    let (result, trace) = trace::capture(|| train_neural_network(0.0027));
    assert_eq!(result, 0.0027 * 0.0027);
    assert_eq!(
        only(&trace, &[0.0027]).lanes(),
        [["crunch 0.0027"]],
        "train_neural_network(0.0027) must record one span labelled \"crunch 0.0027\""
    );
}

/// A long task first, then short ones: the first task keeps its thread busy
/// long after every other thread has started and taken what it could.
/// Numbers no other test crunches, so their spans are this test's own.
const LONG_FIRST: [f64; 4] = [0.5, 0.0011, 0.0012, 0.0013];
/// Numbers for the one-thread test, likewise its own.
const ONE_THREAD: [f64; 3] = [0.0021, 0.0022, 0.0023];

/// The spans of crunching `items`: tests run in parallel, and a capture also
/// records the crunching of other tests' threads.
fn only(trace: &Trace, items: &[f64]) -> Trace {
    let labels: Vec<String> = items.iter().map(|x| format!("crunch {x}")).collect();
    Trace {
        spans: trace
            .spans
            .iter()
            .filter(|s| labels.contains(&s.label))
            .cloned()
            .collect(),
    }
}

/// Which thread ran each item of `LONG_FIRST`, and the lanes as text.
fn crunched_by(trace: &Trace) -> (Vec<Option<usize>>, String) {
    let lane = |x: f64| trace.lane_of(&format!("crunch {x}"));
    (
        LONG_FIRST.iter().map(|&x| lane(x)).collect(),
        trace.timeline(60),
    )
}

/// Crunch `LONG_FIRST` with `run` and check what every pool that hands out
/// one item at a time shows: right results, every item crunched, and items
/// 0 and 1 taken by two threads before either task ends. Returns the trace,
/// which thread ran each item, and the timeline for messages.
fn handed_out(run: impl FnOnce() -> Vec<f64>) -> (Trace, Vec<Option<usize>>, String) {
    let (results, trace) = trace::capture(run);
    let trace = only(&trace, &LONG_FIRST);
    assert_eq!(results, squares(&LONG_FIRST));
    let (lanes, timeline) = crunched_by(&trace);
    assert!(
        lanes.iter().all(Option::is_some),
        "each item crunched:\n{timeline}"
    );
    assert_ne!(
        lanes[0], lanes[1],
        "items 0 and 1 were crunched by the same thread: each thread must take the next \
         item from a shared counter, not a chunk of its own:\n{timeline}"
    );
    (trace, lanes, timeline)
}

#[test]
fn threaded_crunch_hands_out_one_item_at_a_time_in_order() {
    // From a shared counter: thread A takes item 0, thread B item 1, and B
    // takes the rest while A is still busy. Fixed chunks would give A items
    // 0 and 1.
    let (trace, lanes, timeline) = handed_out(|| threaded_crunch(&LONG_FIRST, 2));
    assert_eq!(
        [lanes[2], lanes[3]],
        [lanes[1], lanes[1]],
        "while one thread crunched the long item 0, the other should have taken every \
         other item, one after the other:\n{timeline}"
    );
    assert_eq!(trace.threads().len(), 2, "threads used:\n{timeline}");
}

#[test]
fn gil_crunch_hands_out_one_item_at_a_time_in_order() {
    // Who gets the GIL next is the lock's choice, but items 0 and 1 are
    // taken by two threads before either task ends.
    let (trace, _, timeline) = handed_out(|| gil_crunch(&LONG_FIRST, 2));
    assert!(trace.threads().len() <= 2, "threads used:\n{timeline}");
}

#[test]
fn one_thread_crunches_everything_on_one_thread() {
    for (name, crunch) in [
        (
            "threaded_crunch",
            threaded_crunch as fn(&[f64], usize) -> Vec<f64>,
        ),
        ("gil_crunch", gil_crunch),
    ] {
        let (results, trace) = trace::capture(|| crunch(&ONE_THREAD, 1));
        let trace = only(&trace, &ONE_THREAD);
        assert_eq!(results, squares(&ONE_THREAD), "{name}");
        assert_eq!(
            trace.threads().len(),
            1,
            "{name}(.., 1) crunched on several threads:\n{}",
            trace.timeline(60)
        );
    }
}

#[test]
#[should_panic(expected = "at least one thread")]
fn threaded_crunch_refuses_zero_threads() {
    threaded_crunch(&TINY, 0);
}

#[test]
#[should_panic(expected = "at least one thread")]
fn gil_crunch_refuses_zero_threads() {
    gil_crunch(&TINY, 0);
}

#[test]
fn gil_crunch_waits_while_someone_else_holds_the_gil() {
    let gil = common::GIL.lock().unwrap_or_else(PoisonError::into_inner);
    let crunching = std::thread::spawn(|| gil_crunch(&TINY, 2));
    // Without the GIL these tasks take about a millisecond. With it, they
    // cannot start until we let go, however long we wait.
    std::thread::sleep(Duration::from_millis(200));
    let finished_while_we_held_it = crunching.is_finished();
    drop(gil);
    let results = crunching.join().expect("gil_crunch panicked");
    assert!(
        !finished_while_we_held_it,
        "gil_crunch finished while another thread held common::GIL: each task must lock it"
    );
    assert_eq!(results, squares(&TINY));
}

// ------------------------------------------------------ the worker program

fn worker() -> Command {
    Command::new(WORKER)
}

/// Read `<result> <pid>` lines.
fn answers(stdout: &[u8]) -> Vec<(f64, u32)> {
    let text = std::str::from_utf8(stdout).expect("the worker's output is UTF-8");
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields[..] {
                [result, pid] => (
                    result
                        .parse()
                        .unwrap_or_else(|_| panic!("{result:?} in {line:?} is not a number")),
                    pid.parse()
                        .unwrap_or_else(|_| panic!("{pid:?} in {line:?} is not a pid")),
                ),
                _ => panic!("the answer {line:?} is not `<result> <pid>`"),
            }
        })
        .collect()
}

#[test]
fn worker_answers_each_line_with_the_result_and_its_pid() {
    let _processes = processes_lock();
    let output = worker()
        .write_stdin("0.002\n0.0005\n-0.001\n")
        .assert()
        .success()
        .stderr("");
    let answers = answers(&output.get_output().stdout);
    let results: Vec<f64> = answers.iter().map(|&(result, _)| result).collect();
    assert_eq!(results, squares(&[0.002, 0.0005, -0.001]));
    assert!(
        answers.iter().all(|&(_, pid)| pid == answers[0].1),
        "one worker, one pid: {answers:?}"
    );
    assert_ne!(
        answers[0].1,
        std::process::id(),
        "the pid must be the worker's own"
    );
}

#[test]
fn worker_answers_with_its_own_pid_before_its_input_ends() {
    let _processes = processes_lock();
    let mut child = std::process::Command::new(WORKER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the worker");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Keep stdin open: the answer must arrive while the worker waits for
    // more. A worker that does not flush each line leaves this test waiting.
    stdin.write_all(b"0.003\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(answers(line.as_bytes()), [(0.003 * 0.003, child.id())]);
    assert!(
        status.success(),
        "the worker exits with {status} at the end of its input"
    );
}

#[test]
fn worker_with_empty_input_says_nothing_and_succeeds() {
    let _processes = processes_lock();
    worker()
        .write_stdin("")
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn worker_skips_blank_lines_and_accepts_padded_numbers() {
    let _processes = processes_lock();
    let output = worker()
        .write_stdin("  0.001  \n\n   \n\t0.002\n\n")
        .assert()
        .success()
        .stderr("");
    let results: Vec<f64> = answers(&output.get_output().stdout)
        .iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(results, squares(&[0.001, 0.002]));
}

#[test]
fn worker_stops_at_a_bad_line_with_a_one_line_message_and_code_2() {
    let _processes = processes_lock();
    let one_line = predicate::function(|stderr: &str| stderr.trim_end().lines().count() == 1);
    let output = worker()
        .write_stdin("0.001\nbanana\n0.002\n")
        .assert()
        .code(2)
        .stderr(
            one_line
                .and(predicate::str::contains("line 2"))
                .and(predicate::str::contains("banana")),
        );
    let results: Vec<f64> = answers(&output.get_output().stdout)
        .iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(
        results,
        [0.001 * 0.001],
        "the lines before the bad one are answered, none after"
    );
}

#[test]
fn worker_counts_blank_lines_in_the_line_number() {
    let _processes = processes_lock();
    worker()
        .write_stdin("0.001\n\n  1.5x  \n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3").and(predicate::str::contains("1.5x")));
}

// ------------------------------------------------------------ the process pool

/// Tests that start processes take turns, so that each can check that it
/// left no child process behind.
fn processes_lock() -> MutexGuard<'static, ()> {
    static PROCESSES: Mutex<()> = Mutex::new(());
    PROCESSES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This test process's children, running or exited but not yet waited for
/// (zombies). Linux only: `None` where /proc cannot tell.
#[cfg(target_os = "linux")]
fn children() -> Option<Vec<u32>> {
    let main_thread = format!("/proc/self/task/{}/children", std::process::id());
    if !Path::new(&main_thread).exists() {
        return None;
    }
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread that ended since the listing has no file any more.
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    Some(pids)
}

#[cfg(not(target_os = "linux"))]
fn children() -> Option<Vec<u32>> {
    None
}

/// Run `f` (which starts processes) and check it leaves no child behind.
fn leaves_no_child<R>(f: impl FnOnce() -> R) -> R {
    let _processes = processes_lock();
    let before = children().unwrap_or_default();
    let result = f();
    if let Some(after) = children() {
        let left: Vec<u32> = after
            .into_iter()
            .filter(|pid| !before.contains(pid))
            .collect();
        assert!(
            left.is_empty(),
            "worker processes {left:?} are still running or were never waited for: \
             process_crunch must wait() for every worker before it returns"
        );
    }
    result
}

fn crunch(worker: &str, items: &[f64], n_procs: usize) -> Result<Vec<f64>, PoolError> {
    leaves_no_child(|| process_crunch(Path::new(worker), items, n_procs))
}

#[test]
fn process_crunch_returns_results_in_input_order() {
    let serial = serial_crunch(&TINY);
    for n_procs in 1..=3 {
        let results =
            crunch(WORKER, &TINY, n_procs).unwrap_or_else(|e| panic!("{n_procs} workers: {e}"));
        assert_eq!(results, serial, "{n_procs} workers");
    }
}

#[test]
fn process_crunch_hands_out_items_one_at_a_time() {
    // The misbehaving worker answers at once; with 2 workers and 40 items,
    // handing out one at a time keeps the order whoever answers.
    let items: Vec<f64> = (0..40).map(|i| f64::from(i) / 64.0).collect();
    let results = crunch(MISBEHAVING_WORKER, &items, 2).expect("40 items on 2 workers");
    assert_eq!(results, squares(&items));
}

#[test]
fn process_crunch_with_more_workers_than_items_or_no_items() {
    assert_eq!(
        crunch(WORKER, &TINY[..2], 4).expect("2 items on 4 workers"),
        squares(&TINY[..2])
    );
    assert_eq!(crunch(WORKER, &[], 2).expect("no items"), Vec::<f64>::new());
}

#[test]
fn process_crunch_refuses_zero_workers() {
    let error = crunch(WORKER, &TINY, 0).expect_err("0 workers is an error");
    assert!(matches!(error, PoolError::NoWorkers), "{error:?}");
}

#[test]
fn process_crunch_reports_a_worker_that_cannot_start() {
    let missing = "/no/such/directory/crunch-worker";
    let error = crunch(missing, &TINY, 2).expect_err("a missing worker program is an error");
    assert!(
        matches!(&error, PoolError::Spawn { path, .. } if path == Path::new(missing)),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(missing),
        "the message names the program: {error}"
    );

    // A directory exists but cannot run.
    let directory = env!("CARGO_MANIFEST_DIR");
    let error = crunch(directory, &TINY, 2).expect_err("a directory is not a worker program");
    assert!(matches!(error, PoolError::Spawn { .. }), "{error:?}");
}

#[test]
fn process_crunch_reports_a_worker_that_dies_at_once() {
    let error = crunch(MISBEHAVING_WORKER, &[DIE], 1).expect_err("the worker died");
    assert!(
        matches!(error, PoolError::WorkerDied { item: 0, .. }),
        "{error:?}"
    );
}

#[test]
fn process_crunch_reports_a_worker_that_dies_after_some_answers() {
    let items = [0.5, 0.25, DIE, 0.75];
    let error = crunch(MISBEHAVING_WORKER, &items, 1).expect_err("the worker died at item 2");
    match error {
        PoolError::WorkerDied { pid, item } => {
            assert_eq!(
                item, 2,
                "the worker answered items 0 and 1, then died on item 2"
            );
            assert_ne!(pid, std::process::id(), "the pid is the worker's");
        }
        other => panic!("expected PoolError::WorkerDied, got {other:?}"),
    }
}

#[test]
fn process_crunch_reports_an_answer_that_does_not_parse() {
    let error = crunch(MISBEHAVING_WORKER, &[0.5, GARBLE, 0.25], 1).expect_err("a bad answer");
    match &error {
        PoolError::BadAnswer { item, line, .. } => {
            assert_eq!((*item, line.as_str()), (1, "forty-two"), "{error:?}");
        }
        other => panic!("expected PoolError::BadAnswer, got {other:?}"),
    }
    assert!(
        error.to_string().contains("forty-two"),
        "the message shows the answer: {error}"
    );
}

#[test]
fn process_crunch_stops_a_busy_worker_when_another_dies() {
    // Worker A gets STALL and would never answer; worker B dies. Waiting for
    // A's answer would wait forever: the pool must stop A and return.
    let error = crunch(MISBEHAVING_WORKER, &[STALL, DIE, 0.5, 0.25], 2).expect_err("a worker died");
    assert!(matches!(error, PoolError::WorkerDied { .. }), "{error:?}");
}

#[test]
fn process_crunch_stops_a_busy_worker_after_a_bad_answer() {
    // Worker A stalls on item 0; worker B answers item 1 with "forty-two".
    let error = crunch(MISBEHAVING_WORKER, &[STALL, GARBLE], 2).expect_err("a bad answer");
    assert!(
        matches!(error, PoolError::BadAnswer { item: 1, .. }),
        "expected PoolError::BadAnswer for item 1, the worker that answered \"forty-two\", \
         got {error:?}. Report the first thing that went wrong: the worker you then stop \
         (the one stalled on item 0) dies because of it, and its death is not the error \
         (README.md, \"When things go wrong\")."
    );
}

#[test]
fn process_crunch_passes_nan_and_tiny_numbers_through() {
    // Whatever the pool writes for a number, the worker must read back.
    // (NaN counts down from 0; infinity would count forever.)
    let items = [0.001, f64::NAN, -0.002, 1e-300];
    let results = crunch(WORKER, &items, 2).expect("NaN and tiny numbers are numbers too");
    assert!(results[1].is_nan(), "{results:?}");
    assert_eq!(
        (results[0], results[2], results[3]),
        (0.001 * 0.001, 0.002 * 0.002, 0.0)
    );
}

#[test]
fn process_crunch_answers_come_from_separate_worker_processes() {
    let items = [0.003, 0.002, 0.001, 0.002, 0.003, 0.001];
    let answers = leaves_no_child(|| ex03::process_crunch_with_pids(Path::new(WORKER), &items, 3))
        .expect("6 items on 3 workers");
    let results: Vec<f64> = answers.iter().map(|a| a.0).collect();
    assert_eq!(results, squares(&items));
    let pids: Vec<u32> = answers.iter().map(|a| a.1).collect();
    assert!(
        !pids.contains(&std::process::id()),
        "an answer came from this process: {pids:?}"
    );
}

#[test]
fn process_crunch_hands_one_item_to_each_worker_before_a_second() {
    // Each of these items makes the misbehaving worker wait until 3 workers
    // have checked in: only a pool that gives each of its 3 workers an item
    // of its own answers at once. How fast the workers start cannot matter.
    let items = [RENDEZVOUS_OF_3; 3];
    // Windows tells a worker no parent: it learns whose it is from here.
    #[cfg(not(unix))]
    std::env::set_var("EX03_TEST_PROCESS", std::process::id().to_string());
    let rendezvous = std::env::temp_dir().join(format!("ex03-rendezvous-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&rendezvous);
    let answers = leaves_no_child(|| {
        ex03::process_crunch_with_pids(Path::new(MISBEHAVING_WORKER), &items, 3)
    });
    let _ = std::fs::remove_dir_all(&rendezvous);
    let mut pids: Vec<u32> = answers
        .expect("3 items on 3 workers")
        .iter()
        .map(|a| a.1)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(
        pids.len(),
        3,
        "3 workers, 3 items: answers came only from {pids:?}; hand each worker its next item as soon as it is free"
    );
}
