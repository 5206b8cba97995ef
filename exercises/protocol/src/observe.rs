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

use crate::machine::{Contention, Facts, Probe};
use common::trace::LaneSpan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// A process's CPU clock may advance a scheduler tick at a time (4 ms at
/// 250 Hz): ten milliseconds of work can read as 8 or 12 ms of CPU. Each
/// measured run of [`Observations::time_with_cpu`] repeats its work until
/// this much wall time has passed, and records both times per call, so a
/// tick is a few percent at most.
const CPU_CLOCK_REGION: Duration = Duration::from_millis(100);

/// Collects the measurements of one harness run.
pub struct Observations {
    out: Option<PathBuf>,
    /// The grader's progress file, opened and unnamed before student code runs.
    progress: Option<std::fs::File>,
    measurements: Measurements,
    run: Probe,
    /// [`Settings::only`]: the metrics this run is for; `None`: all.
    only: Option<BTreeSet<String>>,
}

impl Observations {
    /// Start recording for `exercise` (the package name), with the grader's
    /// [`Settings`] from stdin, or `COURSE_MEASUREMENTS`, `COURSE_REPEATS`
    /// and `COURSE_TIME_UNIT_MS` when run by hand. The time unit is fixed
    /// from here on ([`common::fix_time_unit`]): student code that sets
    /// another one panics, and what it was measuring is not measured.
    ///
    /// # Errors
    /// Settings on stdin that do not parse, a bad `COURSE_REPEATS` or
    /// `COURSE_TIME_UNIT_MS`.
    pub fn new(exercise: &str) -> Result<Self, ObserveError> {
        let (out, repeats, only) = match Settings::from_stdin()? {
            Some(settings) => {
                common::fix_time_unit(Duration::from_secs_f64(settings.time_unit_ms / 1000.0));
                (Some(settings.measurements), settings.repeats, settings.only)
            }
            None => {
                common::fix_time_unit(common::time_unit());
                let repeats = env_settings()?.repeats.unwrap_or(DEFAULT_REPEATS);
                (
                    std::env::var_os(MEASUREMENTS_ENV).map(PathBuf::from),
                    repeats,
                    None,
                )
            }
        };
        let mut observations = Self::recording_to(exercise, out, repeats);
        observations.only = only;
        Ok(observations)
    }

    fn recording_to(exercise: &str, out: Option<PathBuf>, repeats: usize) -> Self {
        let time_unit_seconds = common::time_unit().as_secs_f64();
        let cores = cores();
        let progress = out.as_deref().and_then(open_progress);
        let mut observations = Observations {
            out,
            progress,
            measurements: Measurements {
                format: FORMAT_VERSION,
                exercise: exercise.to_owned(),
                time_unit_seconds,
                cores,
                repeats,
                metrics: Vec::new(),
                machine: Some(Facts::read()),
                during_run: None,
                traces: Vec::new(),
                sweeps: Vec::new(),
            },
            run: Probe::start(),
            only: None,
        };
        observations.record(UNIT_METRIC, Unit::Seconds, [time_unit_seconds]);
        observations.record(CORES_METRIC, Unit::Count, [cores as f64]);
        observations
    }

    /// Whether this run was started by hand: it prints a table, not a file.
    pub fn by_hand(&self) -> bool {
        self.out.is_none()
    }

    /// Whether this run is for any of `metrics`. A grader measuring again
    /// asks only for the metrics of the observations still unsettled
    /// ([`Settings::only`]); a harness skips the work behind the others.
    pub fn wants(&self, metrics: &[&str]) -> bool {
        match &self.only {
            Some(only) => metrics.iter().any(|m| only.contains(*m)),
            None => true,
        }
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
    /// under `wall_name` and the process's CPU seconds under `cpu_name`, both
    /// per call of `f`: a run repeats `f` for at least `CPU_CLOCK_REGION` (100 ms).
    pub fn time_with_cpu<R>(
        &mut self,
        wall_name: &str,
        cpu_name: &str,
        warmup: bool,
        mut f: impl FnMut() -> R,
    ) -> Option<R> {
        let (mut cpu, mut calls) = (Vec::new(), Vec::new());
        let result = self.time_runs(wall_name, warmup, || {
            let (start, wall) = (cpu_time(), Instant::now());
            let mut n = 0_u32;
            let r = loop {
                let r = f();
                n += 1;
                if wall.elapsed() >= CPU_CLOCK_REGION {
                    break r;
                }
            };
            cpu.push(cpu_time().saturating_sub(start).as_secs_f64() / f64::from(n));
            calls.push(n);
            r
        });
        match &result {
            // The warm-up's CPU time is not a measured run.
            Some(_) => {
                let skip = cpu.len() - self.repeats();
                // `time_runs` timed each run whole: per call, like the CPU time.
                let wall = self.metric(wall_name, Unit::Seconds);
                let first = wall.values.len() - (calls.len() - skip);
                for (value, n) in wall.values[first..].iter_mut().zip(&calls[skip..]) {
                    *value /= f64::from(*n);
                }
                self.record(cpu_name, Unit::Seconds, cpu.into_iter().skip(skip));
                // The same repeats, so the same contention.
                let repeats = self.repeats();
                let wall = self.metric(wall_name, Unit::Seconds);
                let same = wall.contention[wall.contention.len() - repeats..].to_vec();
                self.record_contention(cpu_name, same);
            }
            None => self.fail(cpu_name, format!("{wall_name} failed")),
        }
        result
    }

    fn time_runs<R>(&mut self, name: &str, warmup: bool, mut f: impl FnMut() -> R) -> Option<R> {
        let runs = self.repeats() + usize::from(warmup);
        let mut seconds = Vec::with_capacity(runs);
        let mut contention = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let probe = Probe::start();
            let run = catch_panic(|| measure(&mut f));
            contention.push(probe.stop());
            match run {
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
        self.record_contention(name, contention.split_off(usize::from(warmup)));
        last
    }

    /// Record what the rest of the machine did during repeats of `name` that
    /// the harness timed itself (with a [`Probe`] around each), in the
    /// order of their values.
    pub fn record_contention(
        &mut self,
        name: &str,
        contention: impl IntoIterator<Item = Contention>,
    ) {
        let metric = self.metric(name, Unit::Seconds);
        metric.contention.extend(contention);
    }

    /// Record values the harness worked out itself: a count, a ratio, a
    /// yes/no fact as 1 or 0. Recording a name twice appends to its values.
    pub fn record(&mut self, name: &str, unit: Unit, values: impl IntoIterator<Item = f64>) {
        let metric = self.metric(name, unit);
        metric.values.extend(values);
        self.tell_progress(name);
    }

    /// Keep the schedule behind an observation under `name` (a later trace
    /// of the same name replaces it: the last run's schedule is shown).
    /// Student code can add spans to a capture, so at most
    /// [`MAX_SPANS`](crate::processes::MAX_SPANS) spans are kept, on
    /// [`MAX_LANES`](crate::processes::MAX_LANES) lanes, with labels
    /// cut to [`MAX_LABEL_CHARS`](crate::processes::MAX_LABEL_CHARS):
    /// the same bounds as worker processes' spans.
    pub fn record_trace(&mut self, name: &str, spans: &[LaneSpan]) {
        use crate::processes::{MAX_LABEL_CHARS, MAX_LANES, MAX_SPANS};
        let kept = spans
            .iter()
            .filter(|s| s.lane < MAX_LANES)
            .take(MAX_SPANS)
            .map(|s| LaneSpan {
                label: s.label.chars().take(MAX_LABEL_CHARS).collect(),
                ..s.clone()
            });
        let trace = NamedTrace {
            name: name.to_owned(),
            spans: kept.collect(),
        };
        let traces = &mut self.measurements.traces;
        match traces.iter_mut().find(|t| t.name == name) {
            Some(old) => *old = trace,
            None => traces.push(trace),
        }
    }

    /// Keep a sweep's measured runs under `name`, replacing any before.
    pub fn record_sweep(&mut self, name: &str, points: Vec<SweepPoint>) {
        let sweep = Sweep {
            name: name.to_owned(),
            points,
        };
        let sweeps = &mut self.measurements.sweeps;
        match sweeps.iter_mut().find(|s| s.name == name) {
            Some(old) => *old = sweep,
            None => sweeps.push(sweep),
        }
    }

    /// Record that `name` could not be measured, and why.
    pub fn fail(&mut self, name: &str, error: impl Display) {
        let metric = self.metric(name, Unit::Seconds);
        metric.error = Some(error.to_string());
        self.tell_progress(name);
    }

    /// Append `name` to the grader's progress file ([`progress_path`]). Only
    /// a progress display reads it, so a write that fails is left at that.
    fn tell_progress(&self, name: &str) {
        use std::io::Write;
        if let Some(mut file) = self.progress.as_ref() {
            let _ = writeln!(file, "{name}");
        }
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
                    contention: Vec::new(),
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
    pub fn finish(mut self) -> Result<(), ObserveError> {
        self.measurements.during_run = Some(self.run.stop());
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
        if let Some(run) = &self.measurements.during_run {
            out.push_str(&format!("  while measuring: {}\n", run.describe()));
        }
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

/// What the grader hands a harness on stdin, one `key=value` line each.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The file the measurements go to.
    pub measurements: PathBuf,
    /// Measured runs per timing, after the warm-up.
    pub repeats: usize,
    /// The time unit, in milliseconds.
    pub time_unit_ms: f64,
    /// Measure only the work behind these metrics (the others may be left
    /// out of the file); `None`: everything. Sent as `only=a,b`.
    pub only: Option<BTreeSet<String>>,
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
        if let Some(only) = &self.only {
            let names: Vec<&str> = only.iter().map(String::as_str).collect();
            text.extend_from_slice(format!("only={}\n", names.join(",")).as_bytes());
        }
        text
    }

    /// Read from stdin, unless it is a terminal or empty (a run by hand).
    fn from_stdin() -> Result<Option<Settings>, ObserveError> {
        use std::io::{IsTerminal, Read};
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Ok(None);
        }
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| ObserveError::BadSettings(format!("cannot read stdin: {e}")))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        Settings::parse(&text)
            .map(Some)
            .map_err(ObserveError::BadSettings)
    }

    /// Parse the lines [`Settings::to_stdin`] writes.
    pub fn parse(text: &str) -> Result<Settings, String> {
        let (mut measurements, mut repeats, mut time_unit_ms, mut only) = (None, None, None, None);
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
                "only" => only = Some(metric_names(value)?),
                _ => return Err(format!("unknown setting {key:?}")),
            }
        }
        Ok(Settings {
            measurements: measurements.ok_or("no measurements file")?,
            repeats: repeats.unwrap_or(DEFAULT_REPEATS),
            time_unit_ms: time_unit_ms.ok_or("no time_unit_ms")?,
            only,
        })
    }
}

/// `only`'s comma-separated metric names: at least one, none empty.
fn metric_names(value: &str) -> Result<BTreeSet<String>, String> {
    let names: BTreeSet<String> = value.split(',').map(|n| n.trim().to_owned()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!(
            "only needs metric names separated by commas, got {value:?}"
        ));
    }
    Ok(names)
}

/// The progress file beside `measurements`, opened for appending, its name
/// removed: the grader, which created it, reads it through the handle it
/// opened before the run. `None` when it cannot be opened (progress is only
/// ever shown).
fn open_progress(measurements: &Path) -> Option<std::fs::File> {
    let path = progress_path(measurements);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let _ = std::fs::remove_file(&path);
    Some(file)
}

/// Run a harness: read the grader's settings ([`Observations::new`]), run
/// `measure` as libtest runs a test, on a thread of its own named after the
/// test this process's first argument names (the grader starts a harness as
/// it starts a test), then write the measurements
/// ([`Observations::finish`]). Nothing in the thread student code runs on,
/// its name included, tells it from a test's.
///
/// # Errors
/// As [`Observations::new`] and [`Observations::finish`].
///
/// # Panics
/// When the thread cannot start, and with the panic of `measure` itself
/// (student code's panics are caught where the harness measures them).
pub fn harness(
    exercise: &str,
    measure: impl FnOnce(&mut Observations) + Send,
) -> Result<(), ObserveError> {
    let mut observations = Observations::new(exercise)?;
    let name = test_name(std::env::args().skip(1));
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn_scoped(scope, || measure(&mut observations))
            .expect("the harness's thread starts");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
    observations.finish()
}

/// The test a libtest command line names (`<name> --exact ...`): its first
/// argument that is not an option; `main` when there is none, the name of
/// the thread a program run by hand starts on.
fn test_name(mut args: impl Iterator<Item = String>) -> String {
    args.find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "main".to_owned())
}

/// Run `f` and time it.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// The CPU time this process has used so far, and the cores it may use:
/// the machine's facts, kept here too for the harnesses and exercises that
/// name them from `observe`.
pub use crate::machine::{cores, cpu_time};

/// The CPU time the calling thread has used so far: what a test compares
/// with the wall time of the same call, without a bound on either.
pub fn thread_cpu_time() -> Duration {
    cpu_time::ThreadTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}

/// How busy one call of `f` keeps the calling thread, against a busy loop
/// of the same length: the call's CPU time over its wall time, divided by the
/// same share for the loop, run right after it (on a busy machine both get
/// about the same part of a core); the best of `tries`. About 1 for work that
/// computes, about 0 for work that sleeps or waits: a ratio, no bound on any
/// time, for a test to check "keeps a core busy" in its own build.
pub fn busy_share(tries: usize, mut f: impl FnMut()) -> f64 {
    let share = |cpu: Duration, wall: Duration| {
        cpu.as_secs_f64() / wall.as_secs_f64().max(f64::MIN_POSITIVE)
    };
    let mut best = 0.0_f64;
    for _ in 0..tries.max(1) {
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        f();
        let took = wall.elapsed();
        let call = share(thread_cpu_time().saturating_sub(cpu), took);
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        while wall.elapsed() < took {
            std::hint::black_box(());
        }
        let own = share(thread_cpu_time().saturating_sub(cpu), wall.elapsed());
        best = best.max(call / own.max(f64::MIN_POSITIVE));
    }
    best
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
    fn short_work_is_repeated_past_the_cpu_clocks_tick_and_recorded_per_call() {
        let mut o = observations();
        let mut calls = 0_u32;
        o.time_with_cpu("short_wall", "short_cpu", true, || calls += 1);
        // A warm-up and 2 measured runs, each of many calls of a no-op.
        assert!(calls > 3 * 100, "{calls} calls");
        let per_call = o
            .measurements()
            .metrics
            .iter()
            .find(|m| m.name == "short_wall");
        let per_call = per_call.unwrap().values.clone();
        assert_eq!(per_call.len(), 2);
        // Each run lasted at least CPU_CLOCK_REGION; per call it is a sliver.
        let region = CPU_CLOCK_REGION.as_secs_f64();
        assert!(per_call.iter().all(|&s| s < region / 100.0), "{per_call:?}");
    }

    #[test]
    fn cpu_time_of_sleeping_is_small_and_of_spinning_is_large() {
        let mut o = observations();
        o.time_with_cpu("sleep_wall", "sleep_cpu", false, || {
            std::thread::sleep(Duration::from_millis(20))
        });
        // Spin until 40 ms of CPU time are used, not 40 ms of wall time: on a
        // busy machine the spinning thread gets only part of a core.
        o.time_with_cpu("spin_wall", "spin_cpu", false, || {
            let start = cpu_time();
            while cpu_time().saturating_sub(start) < Duration::from_millis(40) {
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
    fn every_measured_repeat_records_its_contention_and_the_warmup_none() {
        let mut o = observations();
        o.time_with_cpu("wall", "cpu", true, || {
            std::thread::sleep(Duration::from_millis(2))
        });
        o.time("twice", || ());
        o.time("twice", || ());
        let metric = |name: &str| {
            o.measurements()
                .metrics
                .iter()
                .find(|m| m.name == name)
                .unwrap()
                .clone()
        };
        let wall = metric("wall");
        assert_eq!(wall.contention.len(), wall.values.len());
        for (c, v) in wall.contention.iter().zip(&wall.values) {
            // The contention's stretch holds the timed region.
            assert!(c.seconds >= *v, "{c:?} {v}");
        }
        assert_eq!(metric("cpu").contention, wall.contention);
        assert_eq!(metric("twice").contention.len(), 4);
        assert!(metric("unit").contention.is_empty());
        assert!(o.measurements().machine.is_some());
    }

    #[test]
    fn files_without_contention_still_read() {
        let old = r#"{ "format": 1, "exercise": "ex01", "time_unit_seconds": 0.05, "cores": 2,
                      "repeats": 1, "metrics": [ { "name": "x", "unit": "seconds", "values": [1.0] } ] }"#;
        let m: Measurements = serde_json::from_str(old).unwrap();
        assert!(m.machine.is_none() && m.during_run.is_none());
        assert!(m.metrics[0].contention.is_empty());
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
    fn traces_and_sweeps_are_kept_by_name_and_files_without_them_parse() {
        let mut o = observations();
        let span = |label: &str| LaneSpan {
            lane: 1,
            label: label.into(),
            start: 0.0,
            end: 8.0,
        };
        o.record_trace("threads", &[span("first run")]);
        o.record_trace("threads", &[span("last run")]);
        o.record_sweep(
            "slow",
            vec![SweepPoint {
                workers: 1,
                seconds: vec![0.2, 0.21],
            }],
        );
        let m = o.measurements();
        assert_eq!(m.traces.len(), 1);
        assert_eq!(m.traces[0].spans, [span("last run")]);
        assert_eq!(m.sweeps[0].points[0].workers, 1);
        let old = r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05,
                       "cores": 2, "repeats": 3, "metrics": [] }"#;
        let old: Measurements = serde_json::from_str(old).unwrap();
        assert!(old.traces.is_empty() && old.sweeps.is_empty());
    }

    #[test]
    fn settings_round_trip_through_stdin_lines() {
        let settings = Settings {
            measurements: PathBuf::from("/tmp/x y/measurements.json"),
            repeats: 3,
            time_unit_ms: 12.5,
            only: None,
        };
        let text = String::from_utf8(settings.to_stdin()).unwrap();
        assert_eq!(Settings::parse(&text), Ok(settings.clone()));
        let some = Settings {
            only: Some(["b_seconds".to_owned(), "a_seconds".to_owned()].into()),
            ..settings
        };
        let text = String::from_utf8(some.to_stdin()).unwrap();
        assert!(text.contains("only=a_seconds,b_seconds\n"), "{text}");
        assert_eq!(Settings::parse(&text), Ok(some));
        assert!(
            Settings::parse("measurements=/m\ntime_unit_ms=5\nonly=a,,b\n")
                .unwrap_err()
                .contains("only")
        );
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
    fn a_run_for_some_metrics_wants_only_the_work_behind_them() {
        let mut o = observations();
        assert!(o.wants(&["anything"]), "no filter: every metric");
        o.only = Some(["threads_seconds".to_owned()].into());
        assert!(o.wants(&["serial_seconds", "threads_seconds"]));
        assert!(!o.wants(&["serial_seconds"]));
        assert!(!o.wants(&[]));
    }

    #[test]
    fn each_recorded_or_failed_metric_is_told_to_the_progress_file() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("measurements.json");
        // The grader creates the progress file and opens it before the run.
        std::fs::write(progress_path(&out), "").unwrap();
        let mut grader_side = std::fs::File::open(progress_path(&out)).unwrap();
        let mut o = Observations::recording_to("exTest", Some(out.clone()), 2);
        let names = || std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names(), 0, "student code finds the directory empty");
        o.time("work", || ());
        o.fail("broken", "panicked");
        let mut progress = String::new();
        grader_side.read_to_string(&mut progress).unwrap();
        assert_eq!(progress, "unit\ncores\nwork\nbroken\n");
        o.finish().unwrap();
        assert!(out.is_file(), "the measurements file is still written");
    }

    #[test]
    fn work_keeps_a_core_as_busy_as_a_busy_loop_and_sleeping_does_not() {
        let computing = busy_share(3, || {
            let start = cpu_time();
            while cpu_time().saturating_sub(start) < Duration::from_millis(10) {
                std::hint::spin_loop();
            }
        });
        let sleeping = busy_share(3, || std::thread::sleep(Duration::from_millis(10)));
        assert!(computing > 0.5, "{computing}");
        assert!(sleeping < 0.2, "{sleeping}");
    }

    #[test]
    fn a_harness_thread_is_named_as_libtest_names_a_test() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        let named = args(&["pool_map_works", "--exact", "--test-threads", "1"]);
        assert_eq!(test_name(named.into_iter()), "pool_map_works");
        assert_eq!(test_name(args(&["--bench"]).into_iter()), "main");
        assert_eq!(test_name(args(&[]).into_iter()), "main");
    }

    #[test]
    fn a_trace_keeps_a_bounded_number_of_spans_lanes_and_characters() {
        use crate::processes::{MAX_LABEL_CHARS, MAX_LANES, MAX_SPANS};
        let spans: Vec<LaneSpan> = (0..3 * MAX_SPANS)
            .map(|i| LaneSpan {
                lane: i % (2 * MAX_LANES),
                label: "x".repeat(10 * MAX_LABEL_CHARS),
                start: i as f64,
                end: i as f64 + 1.0,
            })
            .collect();
        let mut o = observations();
        o.record_trace("flood", &spans);
        let kept = &o.measurements().traces[0].spans;
        assert_eq!(kept.len(), MAX_SPANS);
        assert!(kept.iter().all(|s| s.lane < MAX_LANES));
        assert!(kept
            .iter()
            .all(|s| s.label.chars().count() == MAX_LABEL_CHARS));
        assert_eq!(
            kept[0],
            LaneSpan {
                label: "x".repeat(MAX_LABEL_CHARS),
                ..spans[0].clone()
            }
        );
    }

    #[test]
    fn measurements_round_trip_through_json() {
        let mut o = observations();
        o.record("pids", Unit::Count, [2.0]);
        o.record_trace(
            "threads",
            &[LaneSpan {
                lane: 0,
                label: "secret 1".into(),
                start: 0.0,
                end: 1.0,
            }],
        );
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
            contention: Vec::new(),
        };
        assert_eq!(m.min(), 0.1);
    }
}
