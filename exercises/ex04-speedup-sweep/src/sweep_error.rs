//! Given, complete: why a sweep cannot give speedups. The grader always uses
//! this copy.

/// What is wrong with a sweep that cannot give speedups.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// There are no samples at all.
    #[error("the sweep has no samples")]
    Empty,
    /// Speedup is T(1) / T(n): without a 1-worker sample there is no T(1).
    #[error("the sweep has no sample with 1 worker, so there is no T(1) to compare against")]
    NoOneWorkerSample,
    /// A time that is zero, negative or not finite (NaN, infinity).
    #[error("the run with {workers} workers took {seconds} s: a time must be positive and finite")]
    BadTime { workers: usize, seconds: f64 },
}
