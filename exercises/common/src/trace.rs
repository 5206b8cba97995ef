//! A recorder of who ran what, when.
//!
//! Code records a [`Span`] (a task label, the thread that ran it, its start and
//! end) with [`span`] or [`record`]. [`capture`] runs a closure with recording
//! switched on and hands back the spans it recorded, as a [`Trace`] that can
//! answer "which thread ran which task" and draw itself as a text timeline:
//!
//! ```text
//!      0 units                                      8.00
//! A  |[1]    [1.5]     [2]                           |
//! B  |[8...................................................]|
//! ```
//!
//! Recording is off outside [`capture`], so code that is not being watched
//! pays almost nothing (a flag and a setting read once), and captures run one
//! at a time so that tests running in parallel do not mix their spans.
//!
//! [`Trace::lane_spans`] turns a trace into data ([`LaneSpan`]s: a lane per
//! thread or worker process, times in time units) that a harness stores in
//! its measurements file and the grader draws with [`timeline`].
//!
//! Who recorded a span is part of it ([`RecordedBy`]): any code may call
//! [`span`] or [`record`] with any label, and such spans are
//! [`RecordedBy::Caller`]. The course's own functions that do the work a
//! lesson watches (exercise 2's [`query_database`](crate::lessons::query_database),
//! the [`secret_database`](crate::secret_database)) record theirs as
//! [`RecordedBy::Course`], while that work runs on that thread, and nothing
//! else can: [`Trace::course_only`] is the schedule that tests and
//! observations judge, a student's own labels are only ever drawn.
//!
//! Worker processes record their spans in processes of their own: while the
//! instructor's harness draws them, every process it starts writes its spans
//! to a file (see [`processes`]).

pub mod processes;

pub use processes::TRACE_DIR_ENV;

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// One task as it ran: its label, its thread and when it started and ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub label: String,
    pub thread: ThreadId,
    /// Time since the capture started.
    pub start: Duration,
    pub end: Duration,
    /// Whose code recorded it.
    pub by: RecordedBy,
}

/// Whose code recorded a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedBy {
    /// The course's own code, around the work it labels, on the thread that
    /// did it: a query of the lessons' databases. Only this crate records
    /// these.
    Course,
    /// Code that called [`span`] or [`record`]: any label, any times.
    Caller,
}

static RECORDING: AtomicBool = AtomicBool::new(false);
static SPANS: Mutex<Vec<Span>> = Mutex::new(Vec::new());
static CAPTURE: Mutex<()> = Mutex::new(());
static EPOCH: Mutex<Option<Instant>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking task must not take the recorder down with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn epoch() -> Instant {
    lock(&EPOCH).unwrap_or_else(Instant::now)
}

/// Run `f` as a task labelled `label`, recording its span when a capture is
/// on, or writing it to this process's trace file when the process that
/// started this one asked for it (see [`processes`]). Recorded by
/// [`RecordedBy::Caller`]: drawn, never judged.
pub fn span<R>(label: impl Into<String>, f: impl FnOnce() -> R) -> R {
    span_by(RecordedBy::Caller, label, f)
}

/// [`span`] for the course's own work (see [`RecordedBy::Course`]).
pub(crate) fn course_span<R>(label: impl Into<String>, f: impl FnOnce() -> R) -> R {
    span_by(RecordedBy::Course, label, f)
}

fn span_by<R>(by: RecordedBy, label: impl Into<String>, f: impl FnOnce() -> R) -> R {
    if !RECORDING.load(Ordering::Relaxed) && !processes::writing() {
        return f();
    }
    let start = Instant::now();
    let result = f();
    record_by(by, label, start, Instant::now());
    result
}

/// Record a task that ran from `start` to `end` on the current thread (see
/// [`span`] for where it goes).
pub fn record(label: impl Into<String>, start: Instant, end: Instant) {
    record_by(RecordedBy::Caller, label, start, end);
}

fn record_by(by: RecordedBy, label: impl Into<String>, start: Instant, end: Instant) {
    let recording = RECORDING.load(Ordering::Relaxed);
    if !recording && !processes::writing() {
        return;
    }
    let label = label.into();
    processes::write(&label, start, end);
    if !recording {
        return;
    }
    let epoch = epoch();
    lock(&SPANS).push(Span {
        label,
        thread: std::thread::current().id(),
        start: start.saturating_duration_since(epoch),
        end: end.saturating_duration_since(epoch),
        by,
    });
}

/// Run `f` with recording on and return its result with the spans it recorded.
///
/// Captures are serialized: a second capture waits for the first to finish.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Trace) {
    let _one_at_a_time = lock(&CAPTURE);
    lock(&SPANS).clear();
    *lock(&EPOCH) = Some(Instant::now());
    RECORDING.store(true, Ordering::Relaxed);
    // Switch recording off even when `f` panics, so the next capture starts clean.
    struct StopRecording;
    impl Drop for StopRecording {
        fn drop(&mut self) {
            RECORDING.store(false, Ordering::Relaxed);
        }
    }
    let stop = StopRecording;
    let result = f();
    drop(stop);
    let mut spans = std::mem::take(&mut *lock(&SPANS));
    spans.sort_by_key(|s| s.start);
    (result, Trace { spans })
}

/// The spans of one capture, sorted by start time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub spans: Vec<Span>,
}

impl Trace {
    /// The spans the course's own code recorded ([`RecordedBy::Course`]):
    /// the schedule of the work itself, whatever labels other code added.
    pub fn course_only(&self) -> Trace {
        Trace {
            spans: self
                .spans
                .iter()
                .filter(|s| s.by == RecordedBy::Course)
                .cloned()
                .collect(),
        }
    }

    /// The threads that ran tasks, in the order of their first task.
    pub fn threads(&self) -> Vec<ThreadId> {
        let mut threads = Vec::new();
        for span in &self.spans {
            if !threads.contains(&span.thread) {
                threads.push(span.thread);
            }
        }
        threads
    }

    /// The labels each thread ran, in order: one lane per thread, ordered as
    /// [`Trace::threads`]. Lane 0 is the timeline's thread A.
    pub fn lanes(&self) -> Vec<Vec<&str>> {
        self.threads()
            .into_iter()
            .map(|t| {
                self.spans
                    .iter()
                    .filter(|s| s.thread == t)
                    .map(|s| s.label.as_str())
                    .collect()
            })
            .collect()
    }

    /// The lane (0 for thread A, 1 for B, ...) whose thread ran `label` first.
    pub fn lane_of(&self, label: &str) -> Option<usize> {
        let span = self.spans.iter().find(|s| s.label == label)?;
        self.threads().iter().position(|t| *t == span.thread)
    }

    /// From the first start to the last end.
    pub fn makespan(&self) -> Duration {
        let first = self.spans.iter().map(|s| s.start).min();
        let last = self.spans.iter().map(|s| s.end).max();
        match (first, last) {
            (Some(first), Some(last)) => last.saturating_sub(first),
            _ => Duration::ZERO,
        }
    }

    /// Draw the trace as a text timeline, one row per thread, `width`
    /// characters for the time axis, times in course time units.
    pub fn timeline(&self, width: usize) -> String {
        timeline(&self.lane_spans(), width)
    }

    /// The spans as data: lane 0 is the thread of the first task, as in
    /// [`Trace::threads`]; times in course time units from the first start.
    pub fn lane_spans(&self) -> Vec<LaneSpan> {
        let threads = self.threads();
        let origin = self.spans.iter().map(|s| s.start).min().unwrap_or_default();
        let units = |t: Duration| crate::units(t.saturating_sub(origin));
        self.spans
            .iter()
            .map(|s| LaneSpan {
                lane: threads.iter().position(|t| *t == s.thread).unwrap_or(0),
                label: s.label.clone(),
                start: units(s.start),
                end: units(s.end),
            })
            .collect()
    }
}

/// One task as data: the lane (thread or worker) that ran it, its label, and
/// its start and end in course time units since the trace began.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneSpan {
    pub lane: usize,
    pub label: String,
    pub start: f64,
    pub end: f64,
}

/// Draw spans as a text timeline: one row per lane (`A`, `B`, ...), `width`
/// characters for the time axis from the first start to the last end.
pub fn timeline(spans: &[LaneSpan], width: usize) -> String {
    let width = width.max(10);
    let origin = spans.iter().map(|s| s.start).fold(f64::INFINITY, f64::min);
    let last = spans
        .iter()
        .map(|s| s.end)
        .fold(f64::NEG_INFINITY, f64::max);
    if spans.is_empty() || !origin.is_finite() || !last.is_finite() {
        return String::from("(no tasks recorded)\n");
    }
    let total = (last - origin).max(f64::MIN_POSITIVE);
    let column = |t: f64| {
        let fraction = ((t - origin) / total).clamp(0.0, 1.0);
        ((fraction * width as f64).round() as usize).min(width)
    };
    let mut out = format!("{:<4}0 units{:>w$.2}\n", "", last - origin, w = width - 6);
    let lanes = spans.iter().map(|s| s.lane).max().map_or(0, |l| l + 1);
    for lane in 0..lanes {
        let mut row = vec![' '; width];
        for span in spans.iter().filter(|s| s.lane == lane) {
            let (from, to) = (
                column(span.start),
                column(span.end).max(column(span.start) + 1),
            );
            let bar = format!("[{}", span.label);
            for (i, cell) in row.iter_mut().enumerate().take(to.min(width)).skip(from) {
                *cell = if i + 1 == to {
                    ']'
                } else {
                    bar.chars().nth(i - from).unwrap_or('.')
                };
            }
        }
        let row: String = row.into_iter().collect();
        let _ = writeln!(out, "{:<3}|{}|", lane_name(lane), row);
    }
    out
}

/// "A", "B", ..., "Z", "T26", "T27", ...
pub fn lane_name(lane: usize) -> String {
    match u8::try_from(lane) {
        Ok(n) if n < 26 => char::from(b'A' + n).to_string(),
        _ => format!("T{lane}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn nothing_is_recorded_outside_a_capture() {
        span("outside", || ());
        let ((), trace) = capture(|| ());
        assert!(trace.spans.is_empty());
    }

    #[test]
    fn spans_from_two_threads_become_two_lanes() {
        let ((), trace) = capture(|| {
            span("first", || thread::sleep(Duration::from_millis(2)));
            thread::scope(|s| {
                s.spawn(|| span("other", || ()));
            });
            span("second", || ());
        });
        assert_eq!(trace.lanes(), vec![vec!["first", "second"], vec!["other"]]);
        assert_eq!(trace.lane_of("other"), Some(1));
        assert_eq!(trace.lane_of("missing"), None);
        assert!(trace.makespan() >= Duration::from_millis(2));
    }

    #[test]
    fn only_the_courses_own_spans_are_the_courses() {
        let ((), trace) = capture(|| {
            course_span("query 1", || ());
            span("query 8", || ());
            record("query 2", Instant::now(), Instant::now());
        });
        let course = trace.course_only();
        assert_eq!(course.lanes(), vec![vec!["query 1"]]);
        assert_eq!(trace.spans.len(), 3, "every span is kept, and drawn");
        let by: Vec<RecordedBy> = trace.spans.iter().map(|s| s.by).collect();
        assert_eq!(by.iter().filter(|b| **b == RecordedBy::Caller).count(), 2);
    }

    #[test]
    fn a_panicking_capture_stops_recording() {
        let outcome = std::panic::catch_unwind(|| capture(|| panic!("task failed")));
        assert!(outcome.is_err());
        span("after", || ());
        let ((), trace) = capture(|| ());
        assert!(trace.spans.is_empty());
    }

    #[test]
    fn timeline_has_a_row_per_thread_and_the_labels() {
        let ((), trace) = capture(|| {
            span("alpha", || thread::sleep(Duration::from_millis(5)));
            thread::scope(|s| {
                s.spawn(|| span("beta", || thread::sleep(Duration::from_millis(5))));
            });
        });
        let drawing = trace.timeline(40);
        let rows: Vec<&str> = drawing.lines().collect();
        assert_eq!(rows.len(), 3, "{drawing}");
        assert!(rows[1].starts_with("A  |[alpha"), "{drawing}");
        assert!(rows[2].starts_with("B  |"), "{drawing}");
        assert!(rows[2].contains("[beta"), "{drawing}");
    }

    #[test]
    fn lane_spans_are_data_in_units_from_the_first_start() {
        let unit = crate::time_unit();
        let ((), trace) = capture(|| {
            span("alpha", || thread::sleep(unit / 5));
            thread::scope(|s| {
                s.spawn(|| span("beta", || ()));
            });
        });
        // Tests running beside this one may add spans of their own.
        let spans = trace.lane_spans();
        let find = |label: &str| spans.iter().find(|s| s.label == label).unwrap();
        let (alpha, beta) = (find("alpha"), find("beta"));
        assert_ne!(alpha.lane, beta.lane);
        assert!(alpha.end - alpha.start >= 0.2, "{spans:?}");
        assert!(beta.start >= alpha.end, "{spans:?}");
        assert!(spans.iter().all(|s| s.start >= 0.0), "{spans:?}");
        let json = serde_json::to_string(&spans).unwrap();
        let back: Vec<LaneSpan> = serde_json::from_str(&json).unwrap();
        // serde_json may read a float back one bit off.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        assert_eq!(back.len(), spans.len());
        for (b, s) in back.iter().zip(&spans) {
            assert_eq!((b.lane, &b.label), (s.lane, &s.label));
            assert!(
                close(b.start, s.start) && close(b.end, s.end),
                "{b:?} {s:?}"
            );
        }
    }

    #[test]
    fn a_timeline_is_drawn_from_data() {
        let span = |lane, label: &str, start, end| LaneSpan {
            lane,
            label: label.into(),
            start,
            end,
        };
        let spans = [
            span(0, "1", 0.0, 1.0),
            span(1, "8", 0.0, 8.0),
            span(0, "2", 1.0, 3.0),
        ];
        let drawing = timeline(&spans, 32);
        let rows: Vec<&str> = drawing.lines().collect();
        assert_eq!(rows[0].trim(), "0 units                      8.00");
        assert_eq!(rows[1], format!("A  |[1.][2.....]{}|", " ".repeat(20)));
        assert_eq!(rows[2], format!("B  |[8{}]|", ".".repeat(29)));
    }

    #[test]
    fn an_empty_trace_says_so() {
        assert_eq!(timeline(&[], 20), "(no tasks recorded)\n");
        assert_eq!(Trace::default().timeline(20), "(no tasks recorded)\n");
    }

    #[test]
    fn lanes_are_named_by_letters_then_numbers() {
        assert_eq!(lane_name(0), "A");
        assert_eq!(lane_name(25), "Z");
        assert_eq!(lane_name(26), "T26");
    }
}
