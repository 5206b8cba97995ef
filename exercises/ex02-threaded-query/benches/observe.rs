//! The observation harness of exercise 2 (owned by the instructor).
//!
//! Run by hand: `cargo bench -p ex02 --bench observe` prints a table and the
//! timelines of the 2-thread runs. The grader runs it the same way and reads
//! the measurements from the file it names on the harness's stdin;
//! `course.yaml` says what they must show.
//!
//! Every query sleeps, so there is nothing to warm up: each timing is its
//! repeats only, which keeps the whole harness at about 160 time units
//! (8 s at the default 50 ms unit, 3 repeats).

use common::lessons::{LONG_LAST, LONG_SECOND, SECRET_QUERIES};
use common::secret_database;
use common::trace::{self, Trace};
use ex02::{rayon_queries, secret_serial, secret_threaded, serial_queries, threaded_queries};
use protocol::observe::{self, Observations, ObserveError, Unit};
use std::fmt::Debug;

const TIMELINE_WIDTH: usize = 80;

fn main() -> Result<(), ObserveError> {
    observe::harness("ex02", measure)
}

fn measure(o: &mut Observations) {
    serial(o);
    threads(o);
    long_last(o);
    secret(o);
    rayon(o);
}

/// serial-is-sum and waiting-is-not-working.
fn serial(o: &mut Observations) {
    if o.wants(&["serial_seconds", "serial_cpu_seconds"]) {
        let got = o.time_with_cpu("serial_seconds", "serial_cpu_seconds", false, || {
            serial_queries(&LONG_SECOND)
        });
        expect_answers(o, "serial_seconds", got, squares(&LONG_SECOND));
    }
}

/// threads-overlap and in-order-handout: every run is traced, the last
/// run's trace is judged.
fn threads(o: &mut Observations) {
    if o.wants(&["threads_seconds", "in_order_handout"]) {
        let got = o.time_without_warmup("threads_seconds", || {
            trace::capture(|| threaded_queries(&LONG_SECOND, 2))
        });
        match got {
            Some((answers, trace)) => {
                // The queries' own spans: a label student code records is no query.
                let trace = trace.course_only();
                expect_answers(o, "threads_seconds", Some(answers), squares(&LONG_SECOND));
                // The schedule behind both observations, for the reports.
                o.record_trace("threads_seconds", &trace.lane_spans());
                o.record_trace("in_order_handout", &trace.lane_spans());
                let in_order = handed_out_in_order(&trace);
                o.record(
                    "in_order_handout",
                    Unit::Count,
                    [f64::from(u8::from(in_order))],
                );
                if o.by_hand() {
                    show("threaded_queries(&[1, 8, 1.5, 2], 2)", &trace);
                }
            }
            None => o.fail(
                "in_order_handout",
                "threads_seconds failed, so there is no trace to read",
            ),
        }
    }
}

/// long-last-is-slower.
fn long_last(o: &mut Observations) {
    if o.wants(&["long_last_seconds"]) {
        let got = o.time_without_warmup("long_last_seconds", || {
            trace::capture(|| threaded_queries(&LONG_LAST, 2))
        });
        if let Some((answers, trace)) = got {
            let trace = trace.course_only();
            expect_answers(o, "long_last_seconds", Some(answers), squares(&LONG_LAST));
            o.record_trace("long_last_seconds", &trace.lane_spans());
            if o.by_hand() {
                show("threaded_queries(&[1, 1.5, 2, 8], 2)", &trace);
            }
        }
    }
}

/// secret-speedup. The reference is the harness's own loop over the
/// database, so that a slowed-down secret_serial cannot make the threads
/// look faster; secret_serial itself must take as long as the reference.
fn secret(o: &mut Observations) {
    if o.wants(&[
        "secret_reference_seconds",
        "secret_serial_seconds",
        "secret_threaded_seconds",
    ]) {
        let secrets: Vec<String> = SECRET_QUERIES.map(secret_database::answer).into();
        let got = o.time_without_warmup("secret_reference_seconds", || {
            SECRET_QUERIES
                .iter()
                .map(|q| secret_database::query(q))
                .collect::<Vec<String>>()
        });
        expect_answers(o, "secret_reference_seconds", got, secrets.clone());
        let got = o.time_without_warmup("secret_serial_seconds", || secret_serial(&SECRET_QUERIES));
        expect_answers(o, "secret_serial_seconds", got, secrets.clone());
        let got = o.time_without_warmup("secret_threaded_seconds", || {
            secret_threaded(&SECRET_QUERIES, 4)
        });
        expect_answers(o, "secret_threaded_seconds", got, secrets);
    }
}

/// rayon-splits-in-halves (informational).
fn rayon(o: &mut Observations) {
    if o.wants(&["rayon_seconds"]) {
        let got = o.time_without_warmup("rayon_seconds", || {
            trace::capture(|| rayon_queries(&LONG_SECOND, 2))
        });
        if let Some((answers, trace)) = got {
            let trace = trace.course_only();
            expect_answers(o, "rayon_seconds", Some(answers), squares(&LONG_SECOND));
            o.record_trace("rayon_seconds", &trace.lane_spans());
            if o.by_hand() {
                show("rayon_queries(&[1, 8, 1.5, 2], 2)", &trace);
            }
        }
    }
}

/// What the queries answer: each one's square.
fn squares(queries: &[f64]) -> Vec<f64> {
    queries.iter().map(|x| x * x).collect()
}

/// A timing only counts when the function also gave the right answers.
fn expect_answers<R: PartialEq + Debug>(
    o: &mut Observations,
    metric: &str,
    got: Option<R>,
    expected: R,
) {
    if let Some(got) = got {
        if got != expected {
            o.fail(
                metric,
                format!("wrong answers {got:?}, expected {expected:?}"),
            );
        }
    }
}

/// In-order hand-out of [1, 8, 1.5, 2] to 2 threads: the thread that ran
/// query 1 then ran queries 1.5 and 2, and another thread ran query 8 alone.
/// `trace` holds the database's own spans only ([`Trace::course_only`]).
fn handed_out_in_order(trace: &Trace) -> bool {
    let lanes = trace.lanes();
    let lane = |label: &str| trace.lane_of(label).map(|i| lanes[i].as_slice());
    lane("query 1") == Some(&["query 1", "query 1.5", "query 2"])
        && lane("query 8") == Some(&["query 8"])
}

fn show(title: &str, trace: &Trace) {
    eprintln!(
        "\n{title}, the last run:\n{}",
        trace.timeline(TIMELINE_WIDTH)
    );
}
