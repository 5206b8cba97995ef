//! The measurement recorder of the observation harnesses.
//!
//! Each exercise has an instructor-owned harness (`benches/observe.rs`, run in
//! release mode by `cargo bench -p exNN --bench observe`) that calls the
//! student's functions and records what it measured here. The harness only
//! measures; `course.yaml` says what each observation expects and the grader
//! judges.
//!
//! When the grader runs a harness it hands over everything on stdin, as
//! [`Settings`]: the file to write, the repeats and the time unit. Nothing in
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
//! Two metrics are always present: `unit` (one time unit, in seconds) and
//! `cores` (the cores this process may use).

use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where a harness run by hand writes its measurements, if set.
pub const MEASUREMENTS_ENV: &str = "COURSE_MEASUREMENTS";
/// How many measured runs follow the warm-up run, for a harness run by hand.
pub const REPEATS_ENV: &str = "COURSE_REPEATS";
/// The measurement file's format version.
pub const FORMAT_VERSION: u32 = 1;
const DEFAULT_REPEATS: usize = 3;

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
    /// Start recording for `exercise`, with the grader's [`Settings`] from
    /// stdin, or `COURSE_MEASUREMENTS` and `COURSE_REPEATS` when run by hand.
    pub fn new(exercise: &str) -> Self {
        let (out, repeats) = Self::destination();
        Self::recording_to(exercise, out, repeats)
    }

    /// Where the measurements go and how many repeats: from the grader's
    /// settings on stdin, or from the environment when run by hand.
    fn destination() -> (Option<PathBuf>, usize) {
        match Settings::from_stdin() {
            Some(settings) => {
                crate::set_time_unit(Duration::from_secs_f64(settings.time_unit_ms / 1000.0));
                (Some(settings.measurements), settings.repeats)
            }
            None => {
                let out = std::env::var_os(MEASUREMENTS_ENV).map(PathBuf::from);
                let repeats = std::env::var(REPEATS_ENV)
                    .ok()
                    .and_then(|r| r.trim().parse().ok())
                    .filter(|&r: &usize| r >= 1)
                    .unwrap_or(DEFAULT_REPEATS);
                (out, repeats)
            }
        }
    }

    fn recording_to(exercise: &str, out: Option<PathBuf>, repeats: usize) -> Self {
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
        observations.record("unit", Unit::Seconds, [time_unit_seconds]);
        observations.record("cores", Unit::Count, [cores as f64]);
        observations
    }

    /// Whether this run was started by hand: it prints a table, not a file.
    pub fn by_hand(&self) -> bool {
        self.out.is_none()
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
    pub fn finish(self) {
        match &self.out {
            Some(path) => {
                let json = serde_json::to_string_pretty(&self.measurements)
                    .expect("measurements are plain numbers and strings");
                // Write beside, then rename: the grader never reads half a file.
                let partial = path.with_extension("partial");
                if let Err(e) =
                    std::fs::write(&partial, json).and_then(|()| std::fs::rename(&partial, path))
                {
                    eprintln!("cannot write the measurements to {}: {e}", path.display());
                    std::process::exit(3);
                }
            }
            None => print!("{}", self.table()),
        }
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
            let min = m.values.iter().copied().fold(f64::INFINITY, f64::min);
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

/// What the grader hands a harness on stdin, one `key=value` line each.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The file the measurements go to.
    pub measurements: PathBuf,
    /// Measured runs per timing, after the warm-up.
    pub repeats: usize,
    /// The time unit, in milliseconds.
    pub time_unit_ms: f64,
}

impl Settings {
    /// The lines the harness reads on stdin.
    pub fn to_stdin(&self) -> Vec<u8> {
        let mut text = b"measurements=".to_vec();
        text.extend_from_slice(self.measurements.as_os_str().as_encoded_bytes());
        text.extend_from_slice(
            format!(
                "\nrepeats={}\ntime_unit_ms={}\n",
                self.repeats, self.time_unit_ms
            )
            .as_bytes(),
        );
        text
    }

    /// Read from stdin, unless it is a terminal or empty (a run by hand).
    /// Settings that do not parse end the harness with a one-line message.
    fn from_stdin() -> Option<Settings> {
        use std::io::{IsTerminal, Read};
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            return None;
        }
        let mut text = String::new();
        if let Err(error) = stdin.read_to_string(&mut text) {
            eprintln!("cannot read the harness's settings on stdin: {error}");
            std::process::exit(3);
        }
        if text.trim().is_empty() {
            return None;
        }
        match Settings::parse(&text) {
            Ok(settings) => Some(settings),
            Err(message) => {
                eprintln!("the harness's settings on stdin are not valid: {message}");
                std::process::exit(3);
            }
        }
    }

    /// Parse the lines [`Settings::to_stdin`] writes.
    pub fn parse(text: &str) -> Result<Settings, String> {
        let (mut measurements, mut repeats, mut time_unit_ms) = (None, None, None);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("{line:?} is not key=value"))?;
            match key {
                "measurements" => measurements = Some(PathBuf::from(value)),
                "repeats" => {
                    repeats = value.trim().parse().ok().filter(|&r: &usize| r >= 1);
                    repeats.ok_or_else(|| format!("repeats must be at least 1, got {value:?}"))?;
                }
                "time_unit_ms" => {
                    time_unit_ms = value.trim().parse().ok().filter(|&ms: &f64| ms > 0.0);
                    time_unit_ms.ok_or_else(|| {
                        format!("time_unit_ms must be a positive number, got {value:?}")
                    })?;
                }
                _ => return Err(format!("unknown setting {key:?}")),
            }
        }
        Ok(Settings {
            measurements: measurements.ok_or("no measurements file")?,
            repeats: repeats.unwrap_or(DEFAULT_REPEATS),
            time_unit_ms: time_unit_ms.ok_or("no time_unit_ms")?,
        })
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
        Observations::recording_to("exTest", None, 2)
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
        assert_eq!(names, ["unit", "cores"]);
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
            m.values.iter().copied().fold(f64::INFINITY, f64::min)
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
    fn settings_round_trip_through_stdin_lines() {
        let settings = Settings {
            measurements: PathBuf::from("/tmp/x y/measurements.json"),
            repeats: 3,
            time_unit_ms: 12.5,
        };
        let text = String::from_utf8(settings.to_stdin()).unwrap();
        assert_eq!(Settings::parse(&text), Ok(settings));
        assert!(Settings::parse("repeats=0\n")
            .unwrap_err()
            .contains("repeats"));
        assert!(Settings::parse("colour=red\n")
            .unwrap_err()
            .contains("colour"));
        assert!(Settings::parse("repeats=2\ntime_unit_ms=5\n")
            .unwrap_err()
            .contains("measurements"));
    }

    #[test]
    fn measurements_round_trip_through_json() {
        let mut o = observations();
        o.record("pids", Unit::Count, [2.0]);
        let json = serde_json::to_string(o.measurements()).unwrap();
        let back: Measurements = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, o.measurements());
    }
}
