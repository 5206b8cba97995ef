//! Tests for exercise 4. Run them with `cargo test -p ex04`.

use assert_cmd::Command;
use ex04::{amdahl, crunch_numbers, efficiencies, karp_flatt, speedups, sweep, Sample, SweepError};
use predicates::prelude::*;
use protocol::observe::busy_share;
use std::time::{Duration, Instant};

const CLOSE: f64 = 1e-9;

fn samples(points: &[(usize, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(workers, seconds)| Sample { workers, seconds })
        .collect()
}

fn assert_all_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{actual:?} against {expected:?}"
    );
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < CLOSE, "{actual:?} against {expected:?}");
    }
}

// ---- sweep ----

#[test]
fn sweep_calls_run_once_per_worker_count_in_order() {
    let mut calls = Vec::new();
    let result = sweep([1, 2, 4, 8], |n| {
        calls.push(n);
        Duration::from_millis(800 / n as u64)
    });
    assert_eq!(calls, [1, 2, 4, 8]);
    assert_eq!(
        result,
        samples(&[(1, 0.8), (2, 0.4), (4, 0.2), (8, 0.1)]),
        "each sample is the worker count and the Duration it took, in seconds"
    );
}

#[test]
fn sweep_takes_any_iterator_and_keeps_its_order() {
    let mut calls = Vec::new();
    let result = sweep((1..=3).rev(), |n| {
        calls.push(n);
        Duration::from_micros(1500)
    });
    assert_eq!(calls, [3, 2, 1]);
    assert_eq!(result, samples(&[(3, 0.0015), (2, 0.0015), (1, 0.0015)]));
    assert!(sweep(std::iter::empty(), |_| Duration::ZERO).is_empty());
}

// ---- speedups and efficiencies ----

#[test]
fn speedups_divide_the_one_worker_time_by_each_time() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, 2.5), (8, 2.0)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[1.0, 2.0, 3.2, 4.0]);
}

#[test]
fn speedups_come_in_sample_order_wherever_the_one_worker_sample_is() {
    let sweep = samples(&[(4, 3.0), (1, 9.0), (2, 6.0)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[3.0, 1.0, 1.5]);
}

#[test]
fn a_slowdown_is_a_speedup_below_one() {
    let sweep = samples(&[(1, 0.002), (2, 0.005)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[1.0, 0.4]);
}

#[test]
fn efficiencies_are_speedup_per_worker() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, 2.5), (8, 2.0)]);
    assert_all_close(&efficiencies(&sweep).unwrap(), &[1.0, 1.0, 0.8, 0.5]);
    let sweep = samples(&[(3, 1.0), (1, 2.0)]);
    assert_all_close(&efficiencies(&sweep).unwrap(), &[2.0 / 3.0, 1.0]);
}

// ---- SweepError ----

#[test]
fn an_empty_sweep_is_an_error() {
    assert_eq!(speedups(&[]), Err(SweepError::Empty));
    assert_eq!(efficiencies(&[]), Err(SweepError::Empty));
}

#[test]
fn a_sweep_without_a_one_worker_sample_is_an_error() {
    let sweep = samples(&[(2, 4.0), (4, 2.0)]);
    assert_eq!(speedups(&sweep), Err(SweepError::NoOneWorkerSample));
    assert_eq!(efficiencies(&sweep), Err(SweepError::NoOneWorkerSample));
}

#[test]
fn a_zero_time_is_an_error_naming_the_sample() {
    let sweep = samples(&[(1, 8.0), (2, 0.0), (4, 2.0)]);
    let expected = SweepError::BadTime {
        workers: 2,
        seconds: 0.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
}

#[test]
fn a_negative_time_is_an_error_naming_the_sample() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, -2.0)]);
    let expected = SweepError::BadTime {
        workers: 4,
        seconds: -2.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
    // The 1-worker time is checked too: it is the one every speedup divides.
    let sweep = samples(&[(1, -8.0), (2, 4.0)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 1,
            seconds: -8.0
        })
    );
}

#[test]
fn a_time_that_is_not_finite_is_an_error_naming_the_sample() {
    // NaN is not equal to itself, so match on the variant instead.
    let sweep = samples(&[(1, 8.0), (3, f64::NAN)]);
    for result in [speedups(&sweep), efficiencies(&sweep)] {
        assert!(
            matches!(result, Err(SweepError::BadTime { workers: 3, seconds }) if seconds.is_nan()),
            "{result:?}"
        );
    }
    let sweep = samples(&[(1, f64::INFINITY), (2, 4.0)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 1,
            seconds: f64::INFINITY
        })
    );
}

#[test]
fn a_bad_time_is_reported_before_a_missing_one_worker_sample() {
    // The README's order: empty, then bad times, then no 1-worker sample.
    let sweep = samples(&[(2, 0.0), (4, 2.0)]);
    let expected = SweepError::BadTime {
        workers: 2,
        seconds: 0.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
    let sweep = samples(&[(2, 4.0), (4, f64::INFINITY)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 4,
            seconds: f64::INFINITY
        })
    );
}

// ---- Amdahl and Karp–Flatt ----

#[test]
fn amdahl_matches_hand_computed_values() {
    // 1 / (s + (1 - s) / n)
    let cases = [
        (1, 0.3, 1.0),
        (4, 0.0, 4.0),
        (4, 1.0, 1.0),
        (2, 0.5, 1.0 / 0.75),
        (4, 0.1, 1.0 / 0.325),
        (8, 0.05, 1.0 / 0.16875),
        (16, 0.25, 1.0 / 0.296875),
    ];
    for (n, s, expected) in cases {
        let got = amdahl(n, s);
        assert!(
            (got - expected).abs() < CLOSE,
            "amdahl({n}, {s}) = {got}, expected {expected}"
        );
    }
}

#[test]
fn amdahl_never_beats_one_over_the_serial_fraction() {
    assert!((amdahl(1_000_000, 0.1) - 10.0).abs() < 1e-3);
    assert!(amdahl(1_000_000, 0.1) < 10.0);
}

#[test]
fn karp_flatt_matches_hand_computed_values() {
    // (1/S - 1/n) / (1 - 1/n)
    let cases = [
        (2.0, 2, 0.0),
        (1.6, 2, 0.25),
        (1.0, 4, 1.0),
        (3.0, 4, (1.0 / 3.0 - 0.25) / 0.75),
        (5.0, 8, (0.2 - 0.125) / 0.875),
    ];
    for (speedup, n, expected) in cases {
        let got = karp_flatt(speedup, n).expect("defined for 2 or more workers");
        assert!(
            (got - expected).abs() < CLOSE,
            "karp_flatt({speedup}, {n}) = {got}, expected {expected}"
        );
    }
}

#[test]
fn karp_flatt_of_one_worker_is_none() {
    assert_eq!(karp_flatt(1.0, 1), None);
    assert_eq!(karp_flatt(1.7, 1), None);
}

#[test]
fn karp_flatt_recovers_the_serial_fraction_of_an_amdahl_speedup() {
    for s in [0.0, 0.02, 0.3, 1.0] {
        for n in 2..=16 {
            let e = karp_flatt(amdahl(n, s), n).unwrap();
            assert!((e - s).abs() < 1e-9, "karp_flatt(amdahl({n}, {s})) = {e}");
        }
    }
}

// ---- crunch_numbers ----

#[test]
fn crunch_numbers_is_deterministic() {
    for x in [0, 1, 7, 1000] {
        let first = crunch_numbers(x);
        assert_eq!(
            crunch_numbers(x),
            first,
            "crunch_numbers({x}) changed between calls"
        );
        let elsewhere = std::thread::spawn(move || crunch_numbers(x))
            .join()
            .unwrap();
        assert_eq!(
            elsewhere, first,
            "crunch_numbers({x}) gave another answer on another thread"
        );
    }
}

#[test]
fn crunch_numbers_keeps_a_core_busy() {
    // The harness times this claim in release; here it is checked in the
    // tests' own build, without a bound on any time: the CPU time of a call
    // against its wall time, beside the same share for a busy loop
    // (`busy_share`: on a busy machine both get the same part of a core).
    let mut x: u64 = 1_000;
    let took = loop {
        let start = Instant::now();
        std::hint::black_box(crunch_numbers(std::hint::black_box(x)));
        let took = start.elapsed();
        if took >= Duration::from_millis(20) || x >= 1 << 40 {
            break took;
        }
        x *= 2;
    };
    assert!(
        took >= Duration::from_millis(20),
        "crunch_numbers({x}) still took only {took:?}: its work must grow with x"
    );
    let best = busy_share(3, || {
        std::hint::black_box(crunch_numbers(std::hint::black_box(x)));
    });
    assert!(
        best >= 0.5,
        "crunch_numbers({x}) kept this thread on a CPU for {:.0}% of the share a busy loop \
         gets: compute, do not sleep or wait",
        100.0 * best
    );
}

// ---- the sweep program (src/main.rs), which calls everything above ----

const LEGEND: [&str; 3] = ["measured", "ideal", "Amdahl fit"];

fn run_program(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("s.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_ex04"))
        .args(args)
        .arg("--out")
        .arg(&svg_path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ex04 {args:?} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg =
        std::fs::read_to_string(&svg_path).expect("the program writes the SVG where --out says");
    (stdout, svg)
}

fn assert_well_formed_plot(svg: &str) {
    let svg = svg.trim();
    assert!(
        svg.starts_with("<svg"),
        "the file does not start with <svg: {}",
        &svg[..svg.len().min(80)]
    );
    assert!(svg.ends_with("</svg>"), "the file does not end with </svg>");
    assert!(
        svg.contains("<text"),
        "the plot has no text: no axis labels, no legend"
    );
    for label in LEGEND {
        assert!(svg.contains(label), "the legend has no {label:?}");
    }
    assert!(svg.contains("workers"), "the x axis is not labelled");
}

fn assert_table(stdout: &str, max_workers: usize) {
    let header = stdout
        .lines()
        .position(|l| l.contains("workers") && l.contains("speedup") && l.contains("efficiency"))
        .unwrap_or_else(|| panic!("no table header in:\n{stdout}"));
    let rows: Vec<usize> = stdout
        .lines()
        .skip(header + 1)
        .map_while(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(
        rows,
        (1..=max_workers).collect::<Vec<_>>(),
        "one table row per worker count:\n{stdout}"
    );
}

#[test]
fn the_program_sweeps_threads_prints_the_table_and_writes_the_plot() {
    let (stdout, svg) = run_program(&["--max-workers", "2", "--tasks", "2", "--fast"]);
    assert_table(&stdout, 2);
    assert!(
        stdout.contains("Karp-Flatt"),
        "the table has no Karp-Flatt column:\n{stdout}"
    );
    assert_well_formed_plot(&svg);
}

#[test]
fn the_program_sweeps_worker_processes() {
    let (stdout, svg) = run_program(&[
        "--max-workers",
        "3",
        "--tasks",
        "3",
        "--fast",
        "--processes",
    ]);
    assert_table(&stdout, 3);
    assert_well_formed_plot(&svg);
}

#[test]
fn the_program_rejects_bad_arguments_and_runs_good_ones() {
    let bad_arguments: [&[&str]; 3] = [
        &["--max-workers", "0"],
        &["--tasks", "many"],
        &["--no-such-flag"],
    ];
    for bad in bad_arguments {
        // clap's usual error: "error: ..." naming the argument, exit code 2.
        Command::new(env!("CARGO_BIN_EXE_ex04"))
            .args(bad)
            .timeout(Duration::from_secs(60))
            .assert()
            .failure()
            .code(2)
            .stderr(predicate::str::contains("error:").and(predicate::str::contains(bad[0])));
    }
    let (stdout, _) = run_program(&["--max-workers", "1", "--tasks", "1", "--fast"]);
    assert_table(&stdout, 1);
}

// ---- pool_map_chunked (README: "Tiny tasks and chunks") ----

mod chunks {
    use ex04::pool_map_chunked;
    use std::collections::HashSet;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    use std::thread::ThreadId;
    use std::time::Duration;

    /// The items each thread computed, in the order it computed them: one
    /// lane per thread, in the order of the threads' first items.
    type Lanes = Vec<Vec<usize>>;

    /// `pool_map_chunked` over `0..n`, recording which thread computed which
    /// item. `before` runs on the computing thread before each item.
    fn scheduled(
        n: usize,
        n_threads: usize,
        chunk: usize,
        before: impl Fn(usize) + Sync,
    ) -> (Vec<usize>, Lanes) {
        let items: Vec<usize> = (0..n).collect();
        let log = Mutex::new(Vec::<(ThreadId, usize)>::new());
        let results = pool_map_chunked(&items, n_threads, chunk, |&i| {
            log.lock().unwrap().push((std::thread::current().id(), i));
            before(i);
            i * 10
        });
        let log = log.into_inner().unwrap();
        let mut threads: Vec<ThreadId> = Vec::new();
        let mut lanes: Lanes = Vec::new();
        for (thread, item) in log {
            match threads.iter().position(|&t| t == thread) {
                Some(lane) => lanes[lane].push(item),
                None => {
                    threads.push(thread);
                    lanes.push(vec![item]);
                }
            }
        }
        (results, lanes)
    }

    /// Every lane is a sequence of whole chunks, each a run of consecutive
    /// items starting at a multiple of `chunk`, taken in increasing order;
    /// together the lanes hold every item of `0..n` exactly once.
    fn assert_whole_chunks(lanes: &Lanes, n: usize, chunk: usize) {
        let mut all: Vec<usize> = lanes.concat();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..n).collect::<Vec<_>>(),
            "not every item exactly once; items per thread: {lanes:?}"
        );
        for lane in lanes {
            let mut rest = lane.as_slice();
            let mut last_start = None;
            while let Some(&start) = rest.first() {
                let expected: Vec<usize> = (start..n.min(start + chunk)).collect();
                assert!(
                    start % chunk == 0 && rest.starts_with(&expected),
                    "with chunk {chunk}, a thread must compute chunk after chunk, each \
                     {chunk} consecutive items from a multiple of {chunk}; items per thread: {lanes:?}"
                );
                assert!(
                    last_start < Some(start),
                    "a thread took chunk {start} after chunk {last_start:?}: chunks come from a \
                     shared counter, in input order; items per thread: {lanes:?}"
                );
                last_start = Some(start);
                rest = &rest[expected.len()..];
            }
        }
    }

    fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
        match (
            payload.downcast_ref::<&str>(),
            payload.downcast_ref::<String>(),
        ) {
            (Some(s), _) => (*s).to_owned(),
            (_, Some(s)) => s.clone(),
            _ => String::from("(a panic without a message)"),
        }
    }

    /// A count that threads can wait on, never for longer than `PATIENCE`:
    /// a wrong pool makes a test fail instead of hang.
    #[derive(Default)]
    struct Tally {
        count: Mutex<usize>,
        changed: Condvar,
    }

    impl Tally {
        /// Far longer than a correct pool takes, even on a busy machine.
        const PATIENCE: Duration = Duration::from_secs(10);

        fn add(&self) {
            *self.count.lock().unwrap() += 1;
            self.changed.notify_all();
        }

        /// Whether the count reached `target` within `PATIENCE`.
        fn wait_for(&self, target: usize) -> bool {
            let count = self.count.lock().unwrap();
            let (count, _) = self
                .changed
                .wait_timeout_while(count, Self::PATIENCE, |c| *c < target)
                .unwrap();
            *count >= target
        }
    }

    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<u64> = (0..997).collect();
        let expected: Vec<u64> = items.iter().map(|x| x * x + 1).collect();
        for n_threads in [1, 2, 3, 8] {
            for chunk in [1, 2, 7, 100, 997] {
                assert_eq!(
                    pool_map_chunked(&items, n_threads, chunk, |x| x * x + 1),
                    expected,
                    "with {n_threads} threads and chunk {chunk}"
                );
            }
        }
        let words = ["tiny", "tasks", "and", "chunks"].map(String::from);
        assert_eq!(
            pool_map_chunked(&words, 2, 3, |w| w.len()),
            [4, 5, 3, 6],
            "any item type, any result type"
        );
    }

    #[test]
    fn every_item_is_computed_exactly_once() {
        for (n_threads, chunk) in [(1, 1), (2, 1), (2, 16), (3, 10), (8, 333)] {
            let calls: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            let indices: Vec<usize> = (0..1000).collect();
            pool_map_chunked(&indices, n_threads, chunk, |&i| {
                calls[i].fetch_add(1, Ordering::Relaxed)
            });
            let wrong: Vec<(usize, usize)> = calls
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .enumerate()
                .filter(|&(_, count)| count != 1)
                .collect();
            assert!(
                wrong.is_empty(),
                "with {n_threads} threads and chunk {chunk}, (item, times computed) \
                 for items not computed exactly once: {wrong:?}"
            );
        }
    }

    #[test]
    fn a_chunk_larger_than_the_input_is_all_of_it_on_one_thread() {
        for chunk in [10, 11, 1000, usize::MAX] {
            let (results, lanes) = scheduled(10, 4, chunk, |_| {});
            assert_eq!(
                results,
                (0..10).map(|i| i * 10).collect::<Vec<_>>(),
                "chunk {chunk}"
            );
            assert_eq!(
                lanes,
                [(0..10).collect::<Vec<_>>()],
                "with chunk {chunk} and 10 items there is one chunk: one thread computes \
                 all of it, in order"
            );
        }
    }

    #[test]
    fn an_empty_input_gives_an_empty_output() {
        for (n_threads, chunk) in [(1, 1), (3, 1), (2, 5)] {
            let calls = AtomicUsize::new(0);
            let results = pool_map_chunked(&[] as &[u64], n_threads, chunk, |_| {
                calls.fetch_add(1, Ordering::Relaxed)
            });
            assert!(results.is_empty(), "{n_threads} threads, chunk {chunk}");
            assert_eq!(calls.into_inner(), 0, "nothing to compute, no call");
        }
    }

    #[test]
    fn zero_threads_panics_naming_n_threads() {
        let panic = catch_unwind(|| pool_map_chunked(&[1, 2, 3], 0, 1, |x| x + 1))
            .expect_err("pool_map_chunked with n_threads = 0 must panic");
        let message = panic_message(panic.as_ref());
        assert!(
            message.contains("n_threads"),
            "the message should say that n_threads is the problem: {message:?}"
        );
    }

    #[test]
    fn zero_chunk_panics_naming_chunk() {
        assert_eq!(pool_map_chunked(&[1, 2, 3], 2, 1, |x| x + 1), [2, 3, 4]);
        let calls = AtomicUsize::new(0);
        let panic = catch_unwind(AssertUnwindSafe(|| {
            pool_map_chunked(&[1, 2, 3], 2, 0, |x| {
                calls.fetch_add(1, Ordering::Relaxed);
                x + 1
            })
        }))
        .expect_err("pool_map_chunked with chunk = 0 must panic");
        let message = panic_message(panic.as_ref());
        assert!(
            message.contains("chunk") && !message.contains("n_threads"),
            "the message should say that chunk is the problem: {message:?}"
        );
        assert_eq!(calls.into_inner(), 0, "check the arguments before any work");
    }

    #[test]
    fn each_chunk_is_a_run_of_consecutive_items_on_one_thread() {
        for (n, n_threads, chunk) in [(40, 2, 4), (40, 2, 3), (41, 3, 5), (12, 2, 1)] {
            // Every thread waits on its first item until all of them have
            // one: no thread can run off with the whole input, so the chunks
            // really are shared out.
            let started = Mutex::new(HashSet::new());
            let arrived = Tally::default();
            let everyone_came = AtomicUsize::new(0);
            let (results, lanes) = scheduled(n, n_threads, chunk, |_| {
                let first = started.lock().unwrap().insert(std::thread::current().id());
                if first {
                    arrived.add();
                    if arrived.wait_for(n_threads) {
                        everyone_came.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            assert_eq!(results, (0..n).map(|i| i * 10).collect::<Vec<_>>());
            assert_eq!(
                everyone_came.into_inner(),
                n_threads,
                "{n_threads} threads should each hold a chunk at the same time; \
                 items per thread: {lanes:?}"
            );
            assert_whole_chunks(&lanes, n, chunk);
        }
    }

    #[test]
    fn a_thread_held_up_in_one_chunk_leaves_the_other_chunks_to_the_others() {
        // Item 0 is slow: it waits until every item outside its chunk is
        // done. With chunks handed out from a shared counter the other
        // threads take all of them; a pool that splits the input up front
        // leaves some behind the waiting thread.
        let (n, chunk) = (24, 3);
        let others_done = Tally::default();
        let waited_in_vain = AtomicUsize::new(0);
        let (results, lanes) = scheduled(n, 2, chunk, |i| {
            if i == 0 {
                if !others_done.wait_for(n - chunk) {
                    waited_in_vain.fetch_add(1, Ordering::Relaxed);
                }
            } else if i >= chunk {
                others_done.add();
            }
        });
        assert_eq!(results, (0..n).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(
            waited_in_vain.into_inner(),
            0,
            "while one thread was busy with chunk 0, the other did not get every other \
             chunk; items per thread: {lanes:?}"
        );
        assert_whole_chunks(&lanes, n, chunk);
        assert!(
            lanes.contains(&vec![0, 1, 2]),
            "the thread held up in chunk 0 should compute nothing else; items per thread: {lanes:?}"
        );
    }
}
