//! Exercise 2: threaded queries. Read `README.md` first.

pub fn query_database(x: f64) -> f64 {
    todo!()
}
pub fn serial_queries(queries: &[f64]) -> Vec<f64> {
    todo!()
}
pub fn pool_map<T: Sync, U: Send>(items: &[T], n_threads: usize, f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    todo!()
}
pub fn threaded_queries(queries: &[f64], n_threads: usize) -> Vec<f64> {
    todo!()
}
pub fn rayon_queries(queries: &[f64], n_threads: usize) -> Vec<f64> {
    todo!()
}
pub fn secret_serial(queries: &[&str]) -> Vec<String> {
    todo!()
}
pub fn secret_threaded(queries: &[&str], n_threads: usize) -> Vec<String> {
    todo!()
}
