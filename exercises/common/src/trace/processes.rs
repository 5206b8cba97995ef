//! Spans recorded in other processes: a pool's worker processes.
//!
//! A worker's spans happen in a process of its own, out of [`super::capture`]'s
//! sight. While the instructor's harness draws such a pool's schedule
//! (`capture_processes` in the course's protocol crate), it sets
//! [`TRACE_DIR_ENV`] to a fresh directory; every process started meanwhile
//! inherits the variable, and its [`super::span`]s append one line each to a
//! file of its own in that directory (`spans-<pid>.jsonl`, a [`SpanLine`]):
//!
//! ```json
//! {"label":"crunch 2","pid":4242,"start_us":1764115200123456,"end_us":1764115200223456}
//! ```
//!
//! Times are wall-clock microseconds since the UNIX epoch: the one clock
//! every process can read and write down as a number ([`std::time::Instant`]
//! is common to processes too, but cannot be written down).
//!
//! The files are written by student code (the worker and the
//! `train_neural_network` it calls): the reader trusts nothing in them, and
//! what they hold is only ever drawn, never judged.

use super::lock;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The directory where every process writes its spans while a harness
/// draws a pool of processes; unset otherwise.
pub const TRACE_DIR_ENV: &str = "COURSE_TRACE_DIR";

/// One span as a line of a trace file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLine {
    pub label: String,
    pub pid: u32,
    pub start_us: u64,
    pub end_us: u64,
}

/// This process's trace file, opened on the first span: `None` when
/// [`TRACE_DIR_ENV`] was unset (the variable is read once).
static SINK: OnceLock<Option<Mutex<File>>> = OnceLock::new();

fn sink() -> Option<&'static Mutex<File>> {
    SINK.get_or_init(open_sink).as_ref()
}

fn open_sink() -> Option<Mutex<File>> {
    let dir = std::env::var_os(TRACE_DIR_ENV)?;
    let path = Path::new(&dir).join(format!("spans-{}.jsonl", std::process::id()));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()?;
    Some(Mutex::new(file))
}

/// Whether this process writes its spans to a trace file. The first call
/// settles it: a harness asks before it sets [`TRACE_DIR_ENV`] for the
/// processes it starts, so that it does not write its own spans there.
pub fn writing() -> bool {
    sink().is_some()
}

/// Append a span that ran from `start` to `end` to this process's trace
/// file, if it has one. Errors are dropped: tracing never fails the traced.
pub(super) fn write(label: &str, start: Instant, end: Instant) {
    let Some(file) = sink() else { return };
    let (now, wall) = (Instant::now(), SystemTime::now());
    let micros = |t: Instant| -> Option<u64> {
        let at = wall.checked_sub(now.saturating_duration_since(t))?;
        let since_epoch = at.duration_since(UNIX_EPOCH).ok()?;
        u64::try_from(since_epoch.as_micros()).ok()
    };
    let (Some(start_us), Some(end_us)) = (micros(start), micros(end)) else {
        return;
    };
    let line = SpanLine {
        label: label.to_owned(),
        pid: std::process::id(),
        start_us,
        end_us,
    };
    let Ok(mut text) = serde_json::to_string(&line) else {
        return;
    };
    text.push('\n');
    // One write per line into a file opened for appending: every line is
    // whole, even when the worker is killed right after it.
    let _ = lock(file).write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_line_is_one_json_object() {
        let line = SpanLine {
            label: "crunch 2".into(),
            pid: 4242,
            start_us: 1,
            end_us: 2,
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(
            text,
            r#"{"label":"crunch 2","pid":4242,"start_us":1,"end_us":2}"#
        );
        assert_eq!(serde_json::from_str::<SpanLine>(&text).unwrap(), line);
    }
}
