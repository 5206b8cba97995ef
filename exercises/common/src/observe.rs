//! The measurement recorder of the observation harnesses.
//!
//! Each exercise has an instructor-owned harness (`benches/observe.rs`, run in
//! release mode by `cargo bench -p exNN --bench observe`) that calls the
//! student's functions and records what it measured here. The harness only
//! measures; `course.yaml` says what each observation expects and the grader
//! judges.
//!
//! When the grader runs a harness it sets `COURSE_MEASUREMENTS=-` and writes
//! the name of a file to the harness's stdin; [`Observations::new`] reads it
//! before any student code runs, and [`Observations::finish`] writes the
//! measurements there as JSON (never to stdout, where student code prints
//! freely). `COURSE_MEASUREMENTS=<file>` names the file directly. Run by hand,
//! a harness prints a table instead.
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
//! ([`HARNESS_PATH`], bench target [`HARNESS_TARGET`]), the environment
//! ([`MEASUREMENTS_ENV`], [`REPEATS_ENV`], [`crate::TIME_UNIT_ENV`], read
//! by [`env_settings`] alone), the defaults, the file format and the
//! minimum of a metric ([`Metric::min`]). The grader and the harnesses both
//! use these names; neither spells them again.

use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the grader wants the measurements written.
pub const MEASUREMENTS_ENV: &str = "COURSE_MEASUREMENTS";
/// The value of [`MEASUREMENTS_ENV`] that says "the file's name comes on stdin".
pub const MEASUREMENTS_FROM_STDIN: &str = "-";
/// How many measured runs follow the warm-up run.
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
    /// `COURSE_MEASUREMENTS=-` but stdin named no file.
    #[error("{MEASUREMENTS_ENV}=- but stdin did not name a file")]
    NoFileOnStdin,
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
    /// [`crate::TIME_UNIT_ENV`]: the time unit, a positive number of
    /// milliseconds.
    pub time_unit_ms: Option<f64>,
}

/// Read [`REPEATS_ENV`] and [`crate::TIME_UNIT_ENV`]: the one place either
/// is parsed. A value that is set but not valid is an error, never a silent
/// fallback to the default.
pub fn env_settings() -> Result<EnvSettings, ObserveError> {
    let var = |name| std::env::var(name).ok();
    settings_from(
        var(REPEATS_ENV).as_deref(),
        var(crate::TIME_UNIT_ENV).as_deref(),
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
        .map(|text| match text.trim().parse::<f64>() {
            Ok(ms) if ms.is_finite() && ms > 0.0 => Ok(ms),
            _ => Err(ObserveError::BadEnv {
                name: crate::TIME_UNIT_ENV,
                value: text.to_owned(),
                expected: "a positive number of milliseconds",
            }),
        })
        .transpose()?;
    Ok(EnvSettings {
        repeats,
        time_unit_ms,
    })
}

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
}

impl Metric {
    /// The smallest of the values (infinity when there are none): noise
    /// only ever adds time, so the minimum is the honest estimate.
    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
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
}

/// Collects the measurements of one harness run.
pub struct Observations {
    out: Option<PathBuf>,
    measurements: Measurements,
}

impl Observations {
    /// Start recording for `exercise` (the package name), reading
    /// `COURSE_MEASUREMENTS`, `COURSE_REPEATS` and `COURSE_TIME_UNIT_MS`.
    ///
    /// # Errors
    /// A bad `COURSE_REPEATS` or `COURSE_TIME_UNIT_MS`, or
    /// `COURSE_MEASUREMENTS=-` with no file named on stdin.
    pub fn new(exercise: &str) -> Result<Self, ObserveError> {
        let settings = env_settings()?;
        let out = measurements_file()?;
        // Student code runs in this process: do not hand it the file's name.
        std::env::remove_var(MEASUREMENTS_ENV);
        let repeats = settings.repeats.unwrap_or(DEFAULT_REPEATS);
        let time_unit_seconds = crate::time_unit().as_secs_f64();
        let cores = cores();
        let mut observations = Observations {
            out,
            measurements: Measurements {
                format: FORMAT_VERSION,
                exercise: exercise.to_owned(),
                time_unit_seconds,
                cores,
                repeats,
                metrics: Vec::new(),
            },
        };
        observations.record(UNIT_METRIC, Unit::Seconds, [time_unit_seconds]);
        observations.record(CORES_METRIC, Unit::Count, [cores as f64]);
        Ok(observations)
    }

    /// How many measured runs each timing gets.
    pub fn repeats(&self) -> usize {
        self.measurements.repeats
    }

    /// Time `f`: one warm-up run, then [`repeats`](Self::repeats) measured
    /// runs, recording each run's wall-clock seconds under `name`. Returns the
    /// last run's result, or `None` when `f` panicked (the panic message is
    /// recorded as the metric's error).
    pub fn time<R>(&mut self, name: &str, f: impl FnMut() -> R) -> Option<R> {
        self.time_runs(name, true, f)
    }

    /// Like [`time`](Self::time) without the warm-up run: for sleeping work,
    /// where there is no cache or clock speed to warm up and a run is long.
    pub fn time_without_warmup<R>(&mut self, name: &str, f: impl FnMut() -> R) -> Option<R> {
        self.time_runs(name, false, f)
    }

    /// Time `f` like [`time`](Self::time), recording wall-clock seconds
    /// under `wall_name` and the process's CPU seconds under `cpu_name`.
    pub fn time_with_cpu<R>(
        &mut self,
        wall_name: &str,
        cpu_name: &str,
        warmup: bool,
        mut f: impl FnMut() -> R,
    ) -> Option<R> {
        let mut cpu = Vec::new();
        let result = self.time_runs(wall_name, warmup, || {
            let start = cpu_time();
            let r = f();
            cpu.push(cpu_time().saturating_sub(start).as_secs_f64());
            r
        });
        match &result {
            // The warm-up's CPU time is not a measured run.
            Some(_) => {
                let skip = cpu.len() - self.repeats();
                self.record(cpu_name, Unit::Seconds, cpu.into_iter().skip(skip));
            }
            None => self.fail(cpu_name, format!("{wall_name} failed")),
        }
        result
    }

    fn time_runs<R>(&mut self, name: &str, warmup: bool, mut f: impl FnMut() -> R) -> Option<R> {
        let runs = self.repeats() + usize::from(warmup);
        let mut seconds = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            match catch_panic(|| measure(&mut f)) {
                Ok((r, elapsed)) => {
                    seconds.push(elapsed.as_secs_f64());
                    last = Some(r);
                }
                Err(message) => {
                    self.fail(name, message);
                    return None;
                }
            }
        }
        let measured = seconds.split_off(usize::from(warmup));
        self.record(name, Unit::Seconds, measured);
        last
    }

    /// Record values the harness worked out itself: a count, a ratio, a
    /// yes/no fact as 1 or 0. Recording a name twice appends to its values.
    pub fn record(&mut self, name: &str, unit: Unit, values: impl IntoIterator<Item = f64>) {
        let metric = self.metric(name, unit);
        metric.values.extend(values);
    }

    /// Record that `name` could not be measured, and why.
    pub fn fail(&mut self, name: &str, error: impl Display) {
        let metric = self.metric(name, Unit::Seconds);
        metric.error = Some(error.to_string());
    }

    fn metric(&mut self, name: &str, unit: Unit) -> &mut Metric {
        let metrics = &mut self.measurements.metrics;
        let index = match metrics.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                metrics.push(Metric {
                    name: name.to_owned(),
                    unit,
                    values: Vec::new(),
                    error: None,
                });
                metrics.len() - 1
            }
        };
        &mut metrics[index]
    }

    /// The measurements so far.
    pub fn measurements(&self) -> &Measurements {
        &self.measurements
    }

    /// Write the measurements to the grader's file, or print them as a table
    /// when the harness was run by hand.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn finish(self) -> Result<(), ObserveError> {
        let Some(path) = &self.out else {
            print!("{}", self.table());
            return Ok(());
        };
        let json = serde_json::to_string_pretty(&self.measurements)
            .expect("measurements are plain numbers and strings");
        // Write beside, then rename: the grader never reads half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, json)
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|source| ObserveError::Write {
                path: path.clone(),
                source,
            })
    }

    /// The measurements as a text table, minimum first, in time units.
    pub fn table(&self) -> String {
        let unit = self.measurements.time_unit_seconds;
        let mut out = format!(
            "{} measurements ({} repeats, 1 unit = {:.0} ms, {} cores)\n",
            self.measurements.exercise,
            self.measurements.repeats,
            unit * 1000.0,
            self.measurements.cores
        );
        for m in &self.measurements.metrics {
            let min = m.min();
            let line = match (&m.error, m.unit) {
                (Some(e), _) => format!("not measured: {e}"),
                (None, _) if m.values.is_empty() => "no values".to_owned(),
                (None, Unit::Seconds) => format!(
                    "min {:>8.3} units {:>10.2} ms   (of {})",
                    min / unit,
                    min * 1000.0,
                    m.values.len()
                ),
                (None, _) => format!("min {min:>8.3}   (of {})", m.values.len()),
            };
            out.push_str(&format!("  {:<32} {line}\n", m.name));
        }
        out
    }
}

/// The file the measurements go to, if any: named by `COURSE_MEASUREMENTS`,
/// or read from stdin's first line when that variable is `-`.
fn measurements_file() -> Result<Option<PathBuf>, ObserveError> {
    let Some(named) = std::env::var_os(MEASUREMENTS_ENV) else {
        return Ok(None);
    };
    if named != MEASUREMENTS_FROM_STDIN {
        return Ok(Some(named.into()));
    }
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(_) if !line.trim_end_matches(['\r', '\n']).is_empty() => {
            Ok(Some(line.trim_end_matches(['\r', '\n']).into()))
        }
        _ => Err(ObserveError::NoFileOnStdin),
    }
}

/// Run `f` and time it.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// The CPU time this process has used so far, on all its threads.
pub fn cpu_time() -> Duration {
    cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}

/// How many cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run student code, turning a panic into its message.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        format!("panicked: {message}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observations() -> Observations {
        let mut o = Observations::new("exTest").unwrap();
        o.out = None;
        o.measurements.repeats = 2;
        o
    }

    #[test]
    fn unit_and_cores_are_always_recorded() {
        let o = observations();
        let names: Vec<_> = o
            .measurements()
            .metrics
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, ALWAYS_RECORDED);
        assert!(o.measurements().metrics[1].values[0] >= 1.0);
    }

    #[test]
    fn time_records_one_value_per_repeat_after_the_warmup() {
        let mut o = observations();
        let mut calls = 0;
        let last = o.time("work", || {
            calls += 1;
            calls
        });
        assert_eq!(last, Some(3));
        let m = o
            .measurements()
            .metrics
            .iter()
            .find(|m| m.name == "work")
            .unwrap();
        assert_eq!((m.unit, m.values.len()), (Unit::Seconds, 2));
    }

    #[test]
    fn cpu_time_of_sleeping_is_small_and_of_spinning_is_large() {
        let mut o = observations();
        o.time_with_cpu("sleep_wall", "sleep_cpu", false, || {
            std::thread::sleep(Duration::from_millis(20))
        });
        o.time_with_cpu("spin_wall", "spin_cpu", false, || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(20) {
                std::hint::spin_loop();
            }
        });
        let min = |name: &str| {
            let m = o
                .measurements()
                .metrics
                .iter()
                .find(|m| m.name == name)
                .unwrap();
            assert_eq!(m.values.len(), 2, "{name}");
            m.min()
        };
        assert!(min("sleep_cpu") < min("spin_cpu"));
    }

    #[test]
    fn a_panic_becomes_the_metrics_error() {
        let mut o = observations();
        let result: Option<()> = o.time("broken", || todo!("see the README"));
        assert_eq!(result, None);
        let m = o
            .measurements()
            .metrics
            .iter()
            .find(|m| m.name == "broken")
            .unwrap();
        assert!(m.error.as_deref().unwrap().contains("see the README"));
        assert!(o.table().contains("not measured: panicked"));
    }

    #[test]
    fn measurements_round_trip_through_json() {
        let mut o = observations();
        o.record("pids", Unit::Count, [2.0]);
        let json = serde_json::to_string(o.measurements()).unwrap();
        let back: Measurements = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, o.measurements());
    }

    #[test]
    fn the_environment_is_parsed_once_and_bad_values_are_errors() {
        assert_eq!(
            settings_from(None, None).unwrap(),
            EnvSettings {
                repeats: None,
                time_unit_ms: None
            }
        );
        let set = settings_from(Some(" 5 "), Some("2.5")).unwrap();
        assert_eq!((set.repeats, set.time_unit_ms), (Some(5), Some(2.5)));
        for bad in ["", "0", "-1", "three", "2.5"] {
            let e = settings_from(Some(bad), None).unwrap_err().to_string();
            assert!(e.starts_with("COURSE_REPEATS must be"), "{e}");
        }
        for bad in ["", "0", "-5", "NaN", "inf", "abc"] {
            let e = settings_from(None, Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("COURSE_TIME_UNIT_MS must be"), "{e}");
            assert_eq!(
                format!("{e}"),
                format!("{:?}", settings_from(None, Some(bad)).unwrap_err())
            );
        }
    }

    #[test]
    fn a_metrics_minimum_is_its_smallest_value() {
        let m = Metric {
            name: "m".into(),
            unit: Unit::Seconds,
            values: vec![0.3, 0.1, 0.2],
            error: None,
        };
        assert_eq!(m.min(), 0.1);
    }
}
