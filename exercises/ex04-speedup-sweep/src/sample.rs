//! Given, complete: one point of a sweep. The grader always uses this copy.

/// One point of a sweep: how long the whole batch of tasks took with
/// `workers` workers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub workers: usize,
    pub seconds: f64,
}
