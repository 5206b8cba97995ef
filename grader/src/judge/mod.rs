//! Judging: observations against their bounds on recorded measurements.
//! Pure: no I/O, so its tests are tables of numbers, never timings.

pub mod busy;
pub mod check;
pub mod claims;
pub mod margin;
pub mod prerequisites;
pub mod remeasure;
pub mod verdict;
