//! [`Settings`]: what the grader hands a harness on stdin, before any
//! student code runs.

use super::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

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
    pub(super) fn from_stdin() -> Result<Option<Settings>, ObserveError> {
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
