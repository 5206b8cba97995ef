//! The schedules of worker processes: what a pool's processes recorded.
//!
//! A worker's [`common::trace::span`]s happen in a process of its own, out of
//! [`common::trace::capture`]'s sight. [`capture_processes`] sets
//! [`TRACE_DIR_ENV`] to a fresh directory while it runs its closure; every
//! process started meanwhile inherits the variable, and its spans append one
//! line each ([`SpanLine`]) to a file of its own in that directory
//! (`spans-<pid>.jsonl`, see [`common::trace::processes`]). A clock step
//! during the run could shift a span; the drawing is informational, and a
//! span outside the run is ignored.
//!
//! The files are written by student code (the worker and the
//! `train_neural_network` it calls), so the reader trusts nothing in them: it
//! reads regular files only, at most [`MAX_FILES`] of them,
//! [`MAX_FILE_BYTES`] of each and [`MAX_BYTES`] in all, never waits on a
//! pipe, ignores every line it cannot parse, and keeps at most [`MAX_SPANS`]
//! spans on [`MAX_LANES`] lanes with labels of [`MAX_LABEL_CHARS`]. The worst
//! a worker can do is leave no drawing; nothing is judged from it.

use common::trace::processes::{writing, SpanLine, TRACE_DIR_ENV};
use common::trace::LaneSpan;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Directory entries looked at: a worker may create millions.
pub const MAX_FILES: usize = 64;
/// Bytes read from one file.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Bytes read from all files together.
pub const MAX_BYTES: u64 = 4 << 20;
/// Spans kept: a course task takes milliseconds, a run has a few dozen.
pub const MAX_SPANS: usize = 4096;
/// Lanes kept (one per process): a pool of the course has 2 to 8 workers.
pub const MAX_LANES: usize = 32;
/// A label longer than this is cut.
pub const MAX_LABEL_CHARS: usize = 80;

static ONE_CAPTURE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking capture must not take the next one down with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run `f` with [`TRACE_DIR_ENV`] set to a fresh directory, then read back
/// the spans that the processes started meanwhile wrote there: a lane per
/// process (lane 0 is the process of the first task), times in course time
/// units since `f` started. This process's own spans are not among them
/// ([`common::trace::capture`] records those).
///
/// Captures run one at a time. A process whose environment was cleared
/// writes nothing: its tasks are not in the result, which may be empty.
pub fn capture_processes<R>(f: impl FnOnce() -> R) -> (R, Vec<LaneSpan>) {
    let _one_at_a_time = lock(&ONE_CAPTURE_AT_A_TIME);
    // Settle this process's own choice before the variable is set.
    let _this_process_writes = writing();
    let Ok(dir) = tempfile::Builder::new().prefix("course-trace-").tempdir() else {
        return (f(), Vec::new());
    };
    let started = SystemTime::now();
    let result = {
        let _set = SetVar::new(TRACE_DIR_ENV, dir.path());
        f()
    };
    let ended = SystemTime::now();
    let spans = read_spans(dir.path(), started, ended, common::time_unit());
    (result, spans)
}

/// Sets an environment variable until dropped (a panic included), then puts
/// back what was there.
struct SetVar {
    name: &'static str,
    before: Option<std::ffi::OsString>,
}

impl SetVar {
    fn new(name: &'static str, value: &Path) -> Self {
        let before = std::env::var_os(name);
        std::env::set_var(name, value);
        SetVar { name, before }
    }
}

impl Drop for SetVar {
    fn drop(&mut self) {
        match &self.before {
            Some(value) => std::env::set_var(self.name, value),
            None => std::env::remove_var(self.name),
        }
    }
}

/// The spans in the trace files of `dir` that lie within `started..=ended`,
/// as lanes with times in `unit`s (see [`capture_processes`]). Whatever
/// cannot be read is skipped.
fn read_spans(dir: &Path, started: SystemTime, ended: SystemTime, unit: Duration) -> Vec<LaneSpan> {
    let micros = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    let (from, to) = (micros(started), micros(ended) + 1);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut budget = MAX_BYTES;
    for entry in entries.take(MAX_FILES).flatten() {
        if budget == 0 || lines.len() >= MAX_SPANS {
            break;
        }
        let Some(file) = open_regular(&entry.path()) else {
            continue;
        };
        let mut reader = BufReader::new(file.take(budget.min(MAX_FILE_BYTES)));
        let mut line = Vec::new();
        while lines.len() < MAX_SPANS {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => budget = budget.saturating_sub(n as u64),
            }
            let Ok(span) = serde_json::from_slice::<SpanLine>(&line) else {
                continue;
            };
            let within = |us: u64| (from..=to).contains(&u128::from(us));
            if span.start_us <= span.end_us && within(span.start_us) && within(span.end_us) {
                lines.push(span);
            }
        }
    }
    lanes(lines, u64::try_from(from).unwrap_or(u64::MAX), unit)
}

/// `path` opened for reading if it is a regular file: a symbolic link or a
/// pipe a worker left there is skipped (opening a pipe would wait for a
/// writer, maybe forever).
fn open_regular(path: &Path) -> Option<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// The spans as lanes: sorted by start, a lane per pid in the order of its
/// first task (at most [`MAX_LANES`]), times in `unit`s since `origin_us`.
fn lanes(mut lines: Vec<SpanLine>, origin_us: u64, unit: Duration) -> Vec<LaneSpan> {
    lines.sort_by_key(|l| (l.start_us, l.end_us));
    let mut pids: Vec<u32> = Vec::new();
    let units = |us: u64| {
        Duration::from_micros(us.saturating_sub(origin_us)).as_secs_f64() / unit.as_secs_f64()
    };
    let mut spans = Vec::new();
    for line in lines {
        let lane = match pids.iter().position(|&p| p == line.pid) {
            Some(lane) => lane,
            None if pids.len() < MAX_LANES => {
                pids.push(line.pid);
                pids.len() - 1
            }
            None => continue,
        };
        spans.push(LaneSpan {
            lane,
            label: line.label.chars().take(MAX_LABEL_CHARS).collect(),
            start: units(line.start_us),
            end: units(line.end_us),
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::trace::span;
    use std::process::Command;

    /// The labels the child process records, comma-separated.
    const CHILD_LABELS_ENV: &str = "COURSE_TRACE_TEST_CHILD_LABELS";
    const CHILD_TEST: &str = "processes::tests::a_child_process_records_spans";

    /// Not a test of its own: [`in_a_child`] runs it in a process of its own.
    #[test]
    #[ignore = "run as a child process by the tests of processes"]
    fn a_child_process_records_spans() {
        let labels = std::env::var(CHILD_LABELS_ENV).expect("run by in_a_child");
        for label in labels.split(',') {
            span(label, || std::thread::sleep(Duration::from_millis(2)));
        }
    }

    /// Run this test binary as a child that records a span per label.
    fn in_a_child(labels: &str, clear_env: bool) {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", CHILD_TEST, "--ignored", "--test-threads=1", "-q"])
            .env(CHILD_LABELS_ENV, labels);
        if clear_env {
            child.env_clear();
            child.env(CHILD_LABELS_ENV, labels);
        }
        let out = child.output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    fn by_lane(spans: &[LaneSpan]) -> Vec<Vec<&str>> {
        let lanes = spans.iter().map(|s| s.lane + 1).max().unwrap_or(0);
        (0..lanes)
            .map(|lane| {
                let on_lane = spans.iter().filter(|s| s.lane == lane);
                on_lane.map(|s| s.label.as_str()).collect()
            })
            .collect()
    }

    #[test]
    fn spans_from_two_processes_land_in_two_lanes_in_order() {
        let ((), spans) = capture_processes(|| {
            in_a_child("first,second", false);
            in_a_child("third", false);
        });
        assert_eq!(by_lane(&spans), [vec!["first", "second"], vec!["third"]]);
        assert!(
            spans.windows(2).all(|w| w[0].start <= w[1].start),
            "{spans:?}"
        );
        assert!(
            spans.iter().all(|s| 0.0 <= s.start && s.start <= s.end),
            "{spans:?}"
        );
        assert!(std::env::var_os(TRACE_DIR_ENV).is_none(), "unset again");
    }

    #[test]
    fn a_process_with_a_cleared_environment_or_this_one_writes_nothing() {
        let ((), spans) = capture_processes(|| {
            in_a_child("cleared", true);
            span("this process", || ());
        });
        assert!(spans.is_empty(), "{spans:?}");
        assert!(!writing(), "this process chose before the variable was set");
    }

    /// Writes `lines` into a new file of `dir`.
    fn file(dir: &Path, name: &str, lines: &[String]) {
        std::fs::write(dir.join(name), lines.concat()).unwrap();
    }

    fn line(label: &str, pid: u32, start_us: u64, end_us: u64) -> String {
        let line = SpanLine {
            label: label.into(),
            pid,
            start_us,
            end_us,
        };
        serde_json::to_string(&line).unwrap() + "\n"
    }

    /// A run from 1000 s to 1001 s after the epoch.
    fn run() -> (SystemTime, SystemTime) {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        (at(1000), at(1001))
    }

    #[test]
    fn a_missing_directory_or_malformed_files_give_no_trace() {
        let (started, ended) = run();
        let read = |dir: &Path| read_spans(dir, started, ended, Duration::from_millis(50));
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("missing")).is_empty());
        std::fs::write(dir.path().join("binary"), [0xff, 0xfe, b'\n', 0]).unwrap();
        file(
            dir.path(),
            "spans-1.jsonl",
            &[
                "not json\n".into(),
                "{\"label\": 1}\n".into(),
                line("backwards", 1, 1_000_500_000, 1_000_400_000),
                line("before the run", 1, 999_000_000, 1_000_100_000),
                line("after the run", 1, 1_000_900_000, 1_002_000_000),
                // Cut short: the worker died while writing.
                line("cut", 1, 1_000_000_000, 1_000_100_000)[..20].into(),
            ],
        );
        std::fs::create_dir(dir.path().join("spans-2.jsonl")).unwrap();
        assert!(read(dir.path()).is_empty());

        file(
            dir.path(),
            "spans-3.jsonl",
            &[line("crunch 2", 3, 1_000_050_000, 1_000_150_000)],
        );
        let spans = read(dir.path());
        let expected = LaneSpan {
            lane: 0,
            label: "crunch 2".into(),
            start: 1.0,
            end: 3.0,
        };
        assert_eq!(spans.len(), 1, "{spans:?}");
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(spans[0].start, expected.start) && close(spans[0].end, expected.end));
        assert_eq!((spans[0].lane, &spans[0].label), (0, &expected.label));
    }

    /// What a worker could leave in its trace directory to stall or swamp
    /// the harness: a pipe nobody writes to, a link to an endless device, a
    /// file of a gigabyte without a line break, more spans and longer labels
    /// than any drawing needs. The capture still returns, with what fits.
    #[test]
    fn a_worker_that_floods_the_trace_directory_is_read_within_bounds() {
        let ((), spans) = capture_processes(|| {
            let dir = std::path::PathBuf::from(std::env::var_os(TRACE_DIR_ENV).unwrap());
            let fifo = Command::new("mkfifo").arg(dir.join("spans-fifo")).status();
            assert!(fifo.unwrap().success(), "mkfifo (coreutils) is needed");
            #[cfg(unix)]
            std::os::unix::fs::symlink("/dev/zero", dir.join("spans-zero")).unwrap();
            File::create(dir.join("spans-huge"))
                .unwrap()
                .set_len(1 << 30)
                .unwrap();
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let us = u64::try_from(now.as_micros()).unwrap();
            let many: Vec<String> = (0..2 * MAX_SPANS as u32)
                .map(|i| line(&"x".repeat(2 * MAX_LABEL_CHARS), i % 4, us, us))
                .collect();
            file(&dir, "spans-many", &many);
        });
        assert!(!spans.is_empty(), "the file of valid spans is read");
        assert!(spans.len() <= MAX_SPANS, "{}", spans.len());
        assert!(spans
            .iter()
            .all(|s| s.label.chars().count() <= MAX_LABEL_CHARS));
    }

    #[test]
    fn a_lane_per_process_in_the_order_of_first_tasks_up_to_the_cap() {
        let line = |pid, start_us| SpanLine {
            label: format!("from {pid}"),
            pid,
            start_us,
            end_us: start_us + 10,
        };
        let lines: Vec<SpanLine> = (0..2 * MAX_LANES as u32)
            .rev()
            .map(|pid| line(pid, 1000 - u64::from(pid)))
            .chain([line(0, 2000)])
            .collect();
        let spans = lanes(lines, 0, Duration::from_micros(1));
        let lane_of = |label: &str| spans.iter().find(|s| s.label == label).map(|s| s.lane);
        let last = 2 * MAX_LANES as u32 - 1;
        assert_eq!(
            lane_of(&format!("from {last}")),
            Some(0),
            "the first task's process"
        );
        assert_eq!(spans.iter().map(|s| s.lane).max(), Some(MAX_LANES - 1));
        assert_eq!(
            spans.len(),
            MAX_LANES,
            "the other processes' spans are left out"
        );
        assert_eq!(spans[0].start, f64::from(1000 - last));
    }
}
