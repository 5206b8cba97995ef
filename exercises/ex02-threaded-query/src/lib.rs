//! Exercise 2: threaded queries. Read `README.md` first, then replace each
//! `todo!()` below; `cargo test -p ex02` tells you what is still missing.

// Delete this line once every function uses its arguments.
#![allow(unused_variables)]

/// Ask the (pretend) database for measurement `x`: the server takes `x` time
/// units to answer `x * x`.
///
/// Given complete, by the course (`common::lessons`): it records each query
/// in the course's trace as `query {x}`, which is how the tests and the
/// grader see which thread ran which query, and when.
pub use common::lessons::query_database;

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
