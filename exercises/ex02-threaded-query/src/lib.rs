//! Exercise 2: threaded queries. Read `README.md` first, then replace each
//! `todo!()` below; `cargo test -p ex02` tells you what is still missing.

// Delete this line once every function uses its arguments.
#![allow(unused_variables)]

use common::{sleep_units, trace};

/// Ask the (pretend) database for measurement `x`: the server takes `x` time
/// units to answer `x * x`.
///
/// Given complete: do not change it. It records each query in the course's
/// trace as `query {x}`, which is how the tests and the grader see which
/// thread ran which query, and when.
pub fn query_database(x: f64) -> f64 {
    trace::span(format!("query {x}"), || {
        println!("querying {x} start");
        sleep_units(x); // waiting for the server: no CPU work at all
        println!("querying {x} end");
        x * x
    })
}

/// One query after the other, on the calling thread; results in input order.
pub fn serial_queries(queries: &[f64]) -> Vec<f64> {
    todo!("ex02 serial_queries: see README.md, section \"Waiting in line\"")
}

/// Apply `f` to every item on `n_threads` worker threads that take the next
/// item, one at a time, in input order. Results come back in input order.
///
/// Panics when `n_threads` is 0 (README.md says what the message must say).
pub fn pool_map<T: Sync, U: Send>(
    items: &[T],
    n_threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    todo!("ex02 pool_map: see README.md, section \"A pool of your own\"")
}

/// The queries on `n_threads` threads of your own pool (`pool_map`).
pub fn threaded_queries(queries: &[f64], n_threads: usize) -> Vec<f64> {
    todo!("ex02 threaded_queries: see README.md, section \"Threads overlap waiting\"")
}

/// The queries on a rayon thread pool of `n_threads` threads.
pub fn rayon_queries(queries: &[f64], n_threads: usize) -> Vec<f64> {
    todo!("ex02 rayon_queries: see README.md, section \"Rayon splits in halves\"")
}

/// Ask `common::secret_database::query` every query, one after the other.
pub fn secret_serial(queries: &[&str]) -> Vec<String> {
    todo!("ex02 secret_serial: see README.md, section \"The secret database\"")
}

/// Ask `common::secret_database::query` every query on `n_threads` threads.
pub fn secret_threaded(queries: &[&str], n_threads: usize) -> Vec<String> {
    todo!("ex02 secret_threaded: see README.md, section \"The secret database\"")
}
