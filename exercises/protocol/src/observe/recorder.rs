//! [`Observations`]: what a harness records as it measures, written as the
//! measurements file when it finishes (or printed as a table when run by hand).

use super::*;
use crate::machine::{Contention, Facts, Probe};
use common::trace::LaneSpan;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A process's CPU clock may advance a scheduler tick at a time (4 ms at
/// 250 Hz): ten milliseconds of work can read as 8 or 12 ms of CPU. Each
/// measured run of [`Observations::time_with_cpu`] repeats its work until
/// this much wall time has passed, and records both times per call, so a
/// tick is a few percent at most.
pub(super) const CPU_CLOCK_REGION: Duration = Duration::from_millis(100);

/// Collects the measurements of one harness run.
pub struct Observations {
    out: Option<PathBuf>,
    /// The grader's progress file, opened and unnamed before student code runs.
    progress: Option<std::fs::File>,
    measurements: Measurements,
    run: Probe,
    /// [`Settings::only`]: the metrics this run is for; `None`: all.
    pub(super) only: Option<BTreeSet<String>>,
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

    pub(super) fn recording_to(exercise: &str, out: Option<PathBuf>, repeats: usize) -> Self {
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
