//! The measurements file: what one harness run measured, as JSON.

use crate::machine::{Contention, Facts};
use common::trace::LaneSpan;
use serde::{Deserialize, Serialize};

/// What a metric's values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Wall-clock or CPU seconds.
    Seconds,
    /// A number of things (threads, processes); 1 or 0 for a yes/no fact.
    Count,
    /// A dimensionless ratio.
    Ratio,
}

/// One measured quantity and the value of each repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub unit: Unit,
    pub values: Vec<f64>,
    /// Why the metric could not be measured (student code panicked, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the rest of the machine did during each timed repeat, in the
    /// order of `values`; empty when the harness did not time it itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contention: Vec<Contention>,
}

impl Metric {
    /// The smallest of the values (infinity when there are none): noise
    /// only ever adds time, so the minimum is the honest estimate.
    pub fn min(&self) -> f64 {
        minimum(&self.values)
    }
}

/// The smallest of `values` (infinity when there are none): how the grader
/// reads a metric ([`Metric::min`]), for harnesses that work out a ratio of
/// minimums themselves.
pub fn minimum(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Everything one harness run measured: the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub format: u32,
    pub exercise: String,
    pub time_unit_seconds: f64,
    pub cores: usize,
    pub repeats: usize,
    pub metrics: Vec<Metric>,
    /// The CPU this run could use; absent from files of older harnesses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Facts>,
    /// What the rest of the machine did during the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during_run: Option<Contention>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<NamedTrace>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweeps: Vec<Sweep>,
}

/// A schedule as it ran: who ran which task when (see [`common::trace`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedTrace {
    pub name: String,
    pub spans: Vec<LaneSpan>,
}

/// Wall-clock seconds of the same work on 1, 2, ... workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub name: String,
    pub points: Vec<SweepPoint>,
}

/// The measured runs (seconds) of one worker count of a [`Sweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub workers: usize,
    pub seconds: Vec<f64>,
}
