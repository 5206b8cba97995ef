//! Exercise 4: speedup sweep. Read `README.md` first.
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub workers: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    #[error("the sweep is empty")]
    Empty,
}

pub fn sweep(workers: impl IntoIterator<Item = usize>, run: impl FnMut(usize) -> Duration) -> Vec<Sample> {
    todo!()
}
pub fn speedups(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    todo!()
}
pub fn efficiencies(samples: &[Sample]) -> Result<Vec<f64>, SweepError> {
    todo!()
}
pub fn amdahl(workers: usize, serial_fraction: f64) -> f64 {
    todo!()
}
pub fn karp_flatt(speedup: f64, workers: usize) -> Option<f64> {
    todo!()
}
pub fn crunch_numbers(x: u64) -> u64 {
    todo!()
}
