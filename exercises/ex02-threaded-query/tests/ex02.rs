//! The tests of exercise 2. Run them with `cargo test -p ex02`.
//!
//! The tests shrink the time unit to 20 ms so that every query schedule of the
//! lesson runs in a fraction of a second. They never check how long anything
//! took: they check answers, their order, which thread ran what, and how many
//! threads there were. Timing is the observations' job
//! (`cargo bench -p ex02 --bench observe`).

use common::lessons::{LONG_LAST, LONG_SECOND, SECRET_QUERIES};
use common::secret_database;
use common::trace::{self, Trace};
use ex02::{
    pool_map, rayon_queries, secret_serial, secret_threaded, serial_queries, threaded_queries,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The answers to the lesson's two query lists.
const LONG_SECOND_ANSWERS: [f64; 4] = [1.0, 64.0, 2.25, 4.0];
const LONG_LAST_ANSWERS: [f64; 4] = [1.0, 2.25, 4.0, 64.0];

/// Short enough for quick tests, long enough that starting a thread (well
/// under a millisecond) never changes which thread takes which query.
const TEST_UNIT: Duration = Duration::from_millis(20);

/// Run `f` with the short time unit, recording which thread ran which query.
/// Captures run one at a time, so no other test's queries land in this trace.
/// Only the databases' own spans count: a label anyone records is not a query.
fn traced<R>(f: impl FnOnce() -> R) -> (R, Trace) {
    common::set_time_unit(TEST_UNIT);
    let (result, trace) = trace::capture(f);
    (result, trace.course_only())
}

fn labels(queries: &[f64]) -> Vec<String> {
    queries.iter().map(|x| format!("query {x}")).collect()
}

/// Each label of the trace, in start order; sorted, so "once each" is easy to compare.
fn sorted_labels(trace: &Trace) -> Vec<&str> {
    let mut labels: Vec<&str> = trace.spans.iter().map(|s| s.label.as_str()).collect();
    labels.sort_unstable();
    labels
}

/// The trace shows every query asked, and none twice.
fn assert_each_query_asked_once(trace: &Trace, queries: &[f64]) {
    let mut expected = labels(queries);
    expected.sort_unstable();
    assert_eq!(
        sorted_labels(trace),
        expected,
        "each query asked exactly once"
    );
}

// README: "Waiting in line"

#[test]
fn serial_queries_answer_in_order_one_after_the_other() {
    let (answers, trace) = traced(|| serial_queries(&LONG_SECOND));
    assert_eq!(answers, LONG_SECOND_ANSWERS);
    assert_eq!(
        trace.lanes(),
        [labels(&LONG_SECOND)],
        "serial_queries must ask query_database once per query, in order, on one thread:\n{}",
        trace.timeline(60)
    );
}

#[test]
fn serial_queries_of_nothing_is_empty() {
    let (answers, trace) = traced(|| serial_queries(&[]));
    assert!(answers.is_empty());
    assert!(trace.spans.is_empty(), "no queries, no database calls");
}

// README: "A pool of your own"

#[test]
fn pool_map_returns_results_in_input_order() {
    // Later items finish first, so results arrive out of order: pool_map must
    // put each back in its place.
    let items: Vec<u64> = (0..8).collect();
    let results = pool_map(&items, 4, |&i| {
        thread::sleep(Duration::from_millis(2 * (8 - i)));
        i * 10
    });
    assert_eq!(results, [0, 10, 20, 30, 40, 50, 60, 70]);

    let words = ["scoped", "threads", "share", "borrows"];
    let lengths: Vec<String> = pool_map(&words, 2, |w| format!("{w}:{}", w.len()));
    assert_eq!(lengths, ["scoped:6", "threads:7", "share:5", "borrows:7"]);
}

#[test]
fn pool_map_of_nothing_is_empty() {
    let nothing: [u32; 0] = [];
    assert_eq!(pool_map(&nothing, 3, |&x| x + 1), Vec::<u32>::new());
}

#[test]
fn pool_map_hands_out_each_item_exactly_once() {
    let items: Vec<usize> = (0..1000).collect();
    let calls: Vec<AtomicUsize> = items.iter().map(|_| AtomicUsize::new(0)).collect();
    let results = pool_map(&items, 4, |&i| {
        calls[i].fetch_add(1, Ordering::Relaxed);
        i * 2
    });
    let expected: Vec<usize> = items.iter().map(|i| i * 2).collect();
    assert_eq!(results, expected);
    for (i, count) in calls.iter().enumerate() {
        let count = count.load(Ordering::Relaxed);
        assert_eq!(count, 1, "item {i} was handed out {count} times");
    }
}

#[test]
fn pool_map_with_more_threads_than_items_still_works() {
    let calls: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
    let results = pool_map(&[0, 1, 2], 8, |&i: &usize| {
        calls[i].fetch_add(1, Ordering::Relaxed);
        i + 100
    });
    assert_eq!(results, [100, 101, 102]);
    let counts: Vec<usize> = calls.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(counts, [1, 1, 1], "calls per item");
}

#[test]
fn pool_map_with_one_thread_takes_the_items_in_input_order() {
    let items: Vec<usize> = (0..10).collect();
    let taken = Mutex::new(Vec::new());
    let threads = Mutex::new(HashSet::new());
    pool_map(&items, 1, |&i| {
        taken.lock().unwrap().push(i);
        threads.lock().unwrap().insert(thread::current().id());
    });
    assert_eq!(
        *taken.lock().unwrap(),
        items,
        "the order in which items were taken"
    );
    assert_eq!(
        threads.lock().unwrap().len(),
        1,
        "threads used for n_threads = 1"
    );
}

#[test]
fn pool_map_runs_exactly_n_threads_at_once() {
    for n_threads in [2, 3] {
        let items: Vec<usize> = (0..4 * n_threads).collect();
        let rendezvous = Rendezvous::new(n_threads);
        let threads: Mutex<HashSet<ThreadId>> = Mutex::new(HashSet::new());
        let results = pool_map(&items, n_threads, |&i| {
            threads.lock().unwrap().insert(thread::current().id());
            rendezvous.arrive();
            i
        });
        assert_eq!(results, items);
        assert!(
            rendezvous.everyone_came(),
            "with n_threads = {n_threads}, {n_threads} threads never held an item at the same \
             time: spawn all the workers before joining any of them"
        );
        let used = threads.lock().unwrap().len();
        assert_eq!(
            used,
            n_threads,
            "pool_map(.., {n_threads}, ..) on {} items ran on {used} different threads",
            items.len()
        );
    }
}

/// How long each item keeps its thread busy in the thread-count tests: long
/// enough for any extra thread a pool started to take an item of its own.
/// The tests count thread ids; they never judge how long anything took.
const LINGER: Duration = Duration::from_millis(5);

#[test]
fn pool_map_never_runs_on_more_than_n_threads() {
    // One thread, and fewer threads than items: a pool that starts a thread
    // per item shows up here as more threads than asked for.
    for (n_threads, n_items) in [(1, 6), (2, 6), (3, 7)] {
        let items: Vec<usize> = (0..n_items).collect();
        let threads: Mutex<HashSet<ThreadId>> = Mutex::new(HashSet::new());
        let results = pool_map(&items, n_threads, |&i| {
            threads.lock().unwrap().insert(thread::current().id());
            thread::sleep(LINGER);
            i
        });
        assert_eq!(results, items);
        let used = threads.lock().unwrap().len();
        assert!(
            used <= n_threads,
            "pool_map(.., {n_threads}, ..) on {n_items} items ran on {used} different threads: \
             start n_threads workers whatever the number of items, and let each take item \
             after item"
        );
    }
}

#[test]
#[should_panic(expected = "at least one thread")]
fn pool_map_with_zero_threads_panics_and_says_why() {
    pool_map(&[1, 2, 3], 0, |&x: &i32| x);
}

#[test]
#[should_panic(expected = "at least one thread")]
fn pool_map_with_zero_threads_panics_even_without_items() {
    let nothing: [i32; 0] = [];
    pool_map(&nothing, 0, |&x| x);
}

// README: "Threads overlap waiting"

#[test]
fn threaded_queries_answer_in_order() {
    let (answers, trace) = traced(|| threaded_queries(&LONG_SECOND, 2));
    assert_eq!(answers, LONG_SECOND_ANSWERS);
    assert_each_query_asked_once(&trace, &LONG_SECOND);
    assert!(
        trace.threads().len() <= 2,
        "2 threads asked, but {} threads ran queries:\n{}",
        trace.threads().len(),
        trace.timeline(60)
    );
}

#[test]
fn two_threads_hand_out_queries_in_order() {
    let (_, trace) = traced(|| threaded_queries(&LONG_SECOND, 2));
    let timeline = trace.timeline(64);
    let lanes = trace.lanes();
    let lane = |label: &str| {
        let index = trace
            .lane_of(label)
            .unwrap_or_else(|| panic!("no {label:?} in the trace:\n{timeline}"));
        &lanes[index]
    };
    // Thread A takes query 1 (1 unit) and thread B query 8 (8 units); A is
    // free again long before B, so it takes queries 1.5 and 2 as well.
    assert_eq!(
        lane("query 1"),
        &["query 1", "query 1.5", "query 2"],
        "the thread that ran query 1 should then run queries 1.5 and 2, one at a time, in order:\n\
         {timeline}"
    );
    assert_eq!(
        lane("query 8"),
        &["query 8"],
        "another thread should run query 8 alone:\n{timeline}"
    );
}

#[test]
fn threaded_queries_with_the_long_query_last_answer_in_order() {
    let (answers, trace) = traced(|| threaded_queries(&LONG_LAST, 2));
    assert_eq!(answers, LONG_LAST_ANSWERS);
    assert_each_query_asked_once(&trace, &LONG_LAST);
}

// README: "Rayon splits in halves"

#[test]
fn rayon_queries_answer_in_order_on_at_most_n_threads() {
    let (answers, trace) = traced(|| rayon_queries(&LONG_SECOND, 2));
    assert_eq!(answers, LONG_SECOND_ANSWERS);
    assert_each_query_asked_once(&trace, &LONG_SECOND);
    assert!(
        trace.threads().len() <= 2,
        "rayon_queries(.., 2) ran queries on {} threads:\n{}",
        trace.threads().len(),
        trace.timeline(60)
    );
}

#[test]
fn rayon_queries_with_one_thread_use_a_pool_of_one() {
    let (answers, trace) = traced(|| rayon_queries(&LONG_LAST, 1));
    assert_eq!(answers, LONG_LAST_ANSWERS);
    assert_eq!(
        trace.lanes(),
        [labels(&LONG_LAST)],
        "a pool of one thread runs every query on that thread, in order:\n{}",
        trace.timeline(60)
    );
    assert_ne!(
        trace.threads(),
        [thread::current().id()],
        "the queries ran on the caller's thread, not on a rayon pool's"
    );
}

#[test]
fn rayon_queries_of_nothing_is_empty() {
    let (answers, _) = traced(|| rayon_queries(&[], 2));
    assert!(answers.is_empty());
}

// README: "The secret database"

#[test]
fn secret_serial_answers_every_query_in_order() {
    let (answers, trace) = traced(|| secret_serial(&SECRET_QUERIES));
    let expected: Vec<String> = SECRET_QUERIES.map(secret_database::answer).into();
    assert_eq!(answers, expected);
    let asked: Vec<String> = SECRET_QUERIES.map(|q| format!("secret {q}")).into();
    assert_eq!(
        trace.lanes(),
        [asked],
        "secret_serial must ask secret_database::query once per query, in order, on one thread"
    );
}

#[test]
fn secret_threaded_answers_every_query_in_order() {
    let expected: Vec<String> = SECRET_QUERIES.map(secret_database::answer).into();
    let mut asked: Vec<String> = SECRET_QUERIES.map(|q| format!("secret {q}")).into();
    asked.sort_unstable();
    for n_threads in [4, 8] {
        let (answers, trace) = traced(|| secret_threaded(&SECRET_QUERIES, n_threads));
        assert_eq!(answers, expected, "with {n_threads} threads");
        assert_eq!(
            sorted_labels(&trace),
            asked,
            "with {n_threads} threads, each query asked exactly once"
        );
    }
}

#[test]
fn secret_threaded_asks_on_at_most_n_threads() {
    let expected: Vec<String> = SECRET_QUERIES.map(secret_database::answer).into();
    for n_threads in [1, 2, 4] {
        let (answers, trace) = traced(|| secret_threaded(&SECRET_QUERIES, n_threads));
        assert_eq!(answers, expected, "with {n_threads} threads");
        let used = trace.threads().len();
        assert!(
            used <= n_threads,
            "secret_threaded(.., {n_threads}) asked on {used} threads:\n{}",
            trace.timeline(60)
        );
        // Five queries of half a unit or more: a second worker has long
        // started before the first one could have asked them all.
        assert!(
            n_threads == 1 || used >= 2,
            "secret_threaded(.., {n_threads}) asked every query on one thread:\n{}",
            trace.timeline(60)
        );
    }
}

/// Holds the first `expected` callers until all of them have arrived: only a
/// pool whose `expected` threads each hold an item at the same moment gets
/// everyone through. A pool with fewer threads makes its first caller wait
/// `PATIENCE` in vain; after that nobody waits any more, so the test fails
/// instead of hanging.
struct Rendezvous {
    expected: usize,
    state: Mutex<Arrivals>,
    all_here: Condvar,
}

#[derive(Default)]
struct Arrivals {
    arrived: usize,
    gave_up: bool,
}

impl Rendezvous {
    /// Far longer than starting a few threads takes, even on a busy machine.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn new(expected: usize) -> Self {
        Rendezvous {
            expected,
            state: Mutex::default(),
            all_here: Condvar::new(),
        }
    }

    fn arrive(&self) {
        let mut state = self.state.lock().unwrap();
        state.arrived += 1;
        if state.arrived >= self.expected {
            self.all_here.notify_all();
            return;
        }
        let (mut state, _) = self
            .all_here
            .wait_timeout_while(state, Self::PATIENCE, |s| {
                s.arrived < self.expected && !s.gave_up
            })
            .unwrap();
        if state.arrived < self.expected && !state.gave_up {
            // Out of patience: release everyone still waiting, for good.
            state.gave_up = true;
            self.all_here.notify_all();
        }
    }

    fn everyone_came(&self) -> bool {
        let state = self.state.lock().unwrap();
        state.arrived >= self.expected && !state.gave_up
    }
}
