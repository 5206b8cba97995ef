//! The measurement recorder of the observation harnesses.
//!
//! Each exercise has an instructor-owned harness (`benches/observe.rs`, run in
//! release mode by `cargo bench -p exNN --bench observe`) that calls the
//! student's functions and records what it measured here. The harness only
//! measures; `course.yaml` says what each observation expects and the grader
//! judges.
//!
//! When the grader runs a harness it hands over everything on stdin, as
//! [`Settings`]: the file to write, the repeats and the time unit, and when
//! it measures again the metrics it still needs ([`Observations::wants`]
//! tells the harness which work to skip). Nothing in
//! the harness's name, arguments or environment tells student code that it
//! is being measured. [`Observations::new`] reads stdin before any student
//! code runs, and [`Observations::finish`] writes the measurements to that
//! file as JSON (never to stdout, where student code prints freely). Run by
//! hand (stdin a terminal or empty), a harness prints a table instead;
//! `COURSE_MEASUREMENTS=<file>` and `COURSE_REPEATS` serve runs by hand.
//!
//! The JSON file:
//! ```json
//! { "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05, "cores": 2, "repeats": 3,
//!   "metrics": [
//!     { "name": "serial_seconds", "unit": "seconds", "values": [0.626, 0.627, 0.626] },
//!     { "name": "in_order_handout", "unit": "count", "values": [1.0] },
//!     { "name": "threads_seconds", "unit": "seconds", "values": [],
//!       "error": "panicked: not yet implemented: ..." } ] }
//! ```
//! Two metrics are always present: [`UNIT_METRIC`] (one time unit, in
//! seconds) and [`CORES_METRIC`] (the cores this process may use).
//!
//! This module owns the grader–harness protocol: the harness's location
//! ([`HARNESS_PATH`], bench target [`HARNESS_TARGET`]), the [`Settings`] on
//! stdin, the environment of runs by hand ([`MEASUREMENTS_ENV`],
//! [`REPEATS_ENV`], [`common::TIME_UNIT_ENV`], read by [`env_settings`]
//! alone), the defaults, the file format and the
//! minimum of a metric ([`Metric::min`]). The grader and the harnesses both
//! use these names; neither spells them again.
//!
//! What else the machine was doing is recorded beside the numbers (see
//! [`crate::machine`]): `machine` holds the CPU facts of the run (online CPUs,
//! affinity, quota), `during_run` the contention over the whole run, and every
//! timing's `contention` one entry per measured repeat, in the order of its
//! `values` (a timing the harness worked out itself may have none). A figure
//! that could not be read is `null`, never 0. `machine.sources` says where the
//! figures were read and what they cover ([`crate::machine::Sources`]):
//! ```json
//! { "...": "...",
//!   "machine": { "available_parallelism": 2, "online_cpus": 2, "affinity": "0-1",
//!                "affinity_cpus": 2, "quota": { "cores": null, "source": "cgroup v1 cpu.cfs_quota_us" },
//!                "sources": { "others_cpu": "cpu0-1", "shared_cpus": 2,
//!                             "pressure": "/proc/pressure/cpu", "own_pressure": false,
//!                             "throttle": "/sys/fs/cgroup/cpu/cpu.stat throttled_time" } },
//!   "during_run": { "seconds": 4.2, "others_cpu_seconds": 0.05, "cpu_pressure_seconds": 0.01,
//!                   "throttled_seconds": 0.0, "own_cpu_seconds": 3.9 },
//!   "metrics": [
//!     { "name": "serial_seconds", "unit": "seconds", "values": [0.626],
//!       "contention": [ { "seconds": 0.626, "others_cpu_seconds": 0.01,
//!                         "cpu_pressure_seconds": 0.0, "throttled_seconds": 0.0,
//!                         "own_cpu_seconds": 0.003 } ] } ] }
//! ```
//!
//! While it runs, a harness run by the grader appends each metric's name, a
//! line each, to the progress file beside the measurements file
//! ([`progress_path`]) as the metric is recorded: the grader's progress
//! display reads it; nothing is judged from it. The grader creates that file
//! and opens it before the run; the harness opens it too and removes its
//! name before any student code runs, so that its directory looks as empty
//! as a test's scratch directory while student code runs.
//!
//! A harness runs its measurements as libtest runs a test ([`harness`]): on
//! a thread of its own, named after the test its arguments name.
//!
//! A harness may add `traces` (the schedule behind an observation:
//! [`Observations::record_trace`]) and `sweeps` (times per worker count:
//! [`Observations::record_sweep`]), which the reports draw; older files
//! without them still parse.

mod clock;
mod format;
mod harness;
mod recorder;
mod settings;

pub use clock::{busy_share, catch_panic, cores, cpu_time, measure, thread_cpu_time};
pub use format::{minimum, Measurements, Metric, NamedTrace, Sweep, SweepPoint, Unit};
pub use harness::harness;
pub use recorder::Observations;
pub use settings::Settings;

use std::fmt::{self, Display};
use std::path::{Path, PathBuf};

/// Where a harness run by hand writes its measurements, if set.
pub const MEASUREMENTS_ENV: &str = "COURSE_MEASUREMENTS";
/// How many measured runs follow the warm-up run, for a harness run by hand.
pub const REPEATS_ENV: &str = "COURSE_REPEATS";
/// The measurement file's format version.
pub const FORMAT_VERSION: u32 = 1;
/// Measured runs per timing when neither the grader nor [`REPEATS_ENV`]
/// says otherwise.
pub const DEFAULT_REPEATS: usize = 3;
/// The metric every harness records: one time unit, in seconds. `per: unit`
/// in course.yaml reads "in time units".
pub const UNIT_METRIC: &str = "unit";
/// The metric every harness records: the cores this process may use.
pub const CORES_METRIC: &str = "cores";
/// The metrics every harness records, whatever its source names.
pub const ALWAYS_RECORDED: [&str; 2] = [UNIT_METRIC, CORES_METRIC];
/// The progress file of a run whose measurements go to `measurements`: the
/// names of the metrics recorded so far, a line each.
pub fn progress_path(measurements: &Path) -> PathBuf {
    measurements.with_extension("progress")
}

/// Where an exercise's harness lives, inside its directory; its manifest
/// declares it as `[[bench]] name = "observe"` with `harness = false`.
pub const HARNESS_PATH: &str = "benches/observe.rs";
/// The harness's bench target name.
pub const HARNESS_TARGET: &str = "observe";

/// What went wrong on the harness's side of the protocol: one line each.
#[derive(thiserror::Error)]
pub enum ObserveError {
    /// An environment variable of the protocol holds a value it cannot.
    #[error("{name} must be {expected}, not {value:?}")]
    BadEnv {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    /// The grader's settings on stdin could not be read or parsed.
    #[error("the harness's settings on stdin are not valid: {0}")]
    BadSettings(String),
    /// The measurements file could not be written.
    #[error("cannot write the measurements to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The message itself, so that a harness whose `main` returns this error
/// prints one line (`Error: ...`).
impl fmt::Debug for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display::fmt(self, f)
    }
}

/// The protocol's settings as the environment gives them; `None` where a
/// variable is not set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvSettings {
    /// [`REPEATS_ENV`]: measured runs per timing, at least 1.
    pub repeats: Option<usize>,
    /// [`common::TIME_UNIT_ENV`]: the time unit, a positive number of
    /// milliseconds.
    pub time_unit_ms: Option<f64>,
}

/// Read [`REPEATS_ENV`] and [`common::TIME_UNIT_ENV`] (parsed by
/// [`common::parse_time_unit_ms`]). A value that is set but not valid is an error, never a silent
/// fallback to the default.
pub fn env_settings() -> Result<EnvSettings, ObserveError> {
    let var = |name| std::env::var(name).ok();
    settings_from(
        var(REPEATS_ENV).as_deref(),
        var(common::TIME_UNIT_ENV).as_deref(),
    )
}

fn settings_from(
    repeats: Option<&str>,
    time_unit_ms: Option<&str>,
) -> Result<EnvSettings, ObserveError> {
    let repeats = repeats
        .map(|text| match text.trim().parse::<usize>() {
            Ok(r) if r >= 1 => Ok(r),
            _ => Err(ObserveError::BadEnv {
                name: REPEATS_ENV,
                value: text.to_owned(),
                expected: "a whole number of runs, at least 1",
            }),
        })
        .transpose()?;
    let time_unit_ms = time_unit_ms
        .map(|text| {
            common::parse_time_unit_ms(text).ok_or_else(|| ObserveError::BadEnv {
                name: common::TIME_UNIT_ENV,
                value: text.to_owned(),
                expected: common::TIME_UNIT_EXPECTED,
            })
        })
        .transpose()?;
    Ok(EnvSettings {
        repeats,
        time_unit_ms,
    })
}

#[cfg(test)]
mod tests;
