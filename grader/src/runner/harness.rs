//! Observation: build the exercise's harness (`benches/observe.rs`) in
//! release mode and run it, reading the measurements from the file it was
//! told to write, never from its output (student code prints there).

use super::cargo;
use super::timeouts::Timeout;
use super::{launch, HarnessInput, HarnessOutcome, RunLimits, Steps};
use crate::sandbox::isolation::{Activity, Isolation};
use crate::sandbox::{self, RunOutput};
use crate::workspace::GradedTree;
use protocol::observe::{
    progress_path, Measurements, Settings, FORMAT_VERSION, HARNESS_PATH, HARNESS_TARGET,
};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How much of the harness's stderr an error message quotes.
const STDERR_TAIL: usize = 1500;
/// The largest measurements file read: a course harness writes well under
/// a megabyte (its schedules are capped), and the box lets a process write
/// files of hundreds.
const MEASUREMENTS_CAP: u64 = 16 << 20;
/// How often the progress file is read while the harness runs.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How much of the progress file is read: the harness's metrics fit many
/// times over, and student code may write there too.
const PROGRESS_CAP: u64 = 64 * 1024;

/// Why a harness run gave no measurements: one sentence each, the harness's
/// last output quoted where it says more.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the harness did not build:\n{0}")]
    DidNotBuild(String),
    #[error("package {package} has no {HARNESS_PATH} harness")]
    Missing { package: String },
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot copy the harness to run it: {0}")]
    Copy(std::io::Error),
    #[error("cannot hand the harness's directories to the sandbox: {0}")]
    Sandbox(std::io::Error),
    #[error("cannot start the harness: {0}")]
    Start(std::io::Error),
    #[error("The harness of {package} timed out after {timeout} and was killed: student code that never returns, such as a pool that hangs? Its observations are not measured again.{}", last_output(stderr))]
    TimedOut {
        package: String,
        /// The limit and why it is that long.
        timeout: String,
        limit_seconds: f64,
        stderr: String,
    },
    #[error(
        "The harness of {package} failed ({end}) before it finished measuring.{}",
        last_output(stderr)
    )]
    Failed {
        package: String,
        end: String,
        stderr: String,
    },
    #[error("The harness of {package} exited without writing its measurements (did the code call std::process::exit?).{}", last_output(stderr))]
    NoFile { package: String, stderr: String },
    #[error("The harness of {package} wrote a measurements file larger than {} MiB.", MEASUREMENTS_CAP >> 20)]
    TooLarge { package: String },
    #[error("The harness of {package} wrote a measurements file that is not valid: {error}.")]
    Invalid { package: String, error: String },
    #[error("The harness of {package} wrote measurements in format {found} but the grader reads format {FORMAT_VERSION}.")]
    WrongFormat { package: String, found: u32 },
    #[error("The harness of {package} wrote measurements for {found:?}.")]
    WrongExercise { package: String, found: String },
}

/// " Its last output:\n..." after a sentence, or nothing.
fn last_output(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" Its last output:\n{stderr}")
    }
}

/// Build the package's harness in release (bench profile).
pub(super) fn build(tree: &GradedTree, package: &str) -> cargo::Build {
    let mut build = cargo::command(tree, "bench");
    build.args([
        "--no-run",
        "--message-format=json",
        "-p",
        package,
        "--bench",
        HARNESS_TARGET,
    ]);
    cargo::build(tree.confine(&build, Activity::Build))
}

/// The harness executable of a build.
pub(super) fn executable(build: &cargo::Build) -> Option<&cargo::Executable> {
    build
        .executables
        .iter()
        .find(|e| e.kind == "bench" && e.target_name == HARNESS_TARGET)
}

pub(super) fn run(
    tree: &GradedTree,
    package: &str,
    env: &HarnessInput,
    limits: &RunLimits,
    timeout: &Timeout,
    steps: &dyn Steps,
) -> HarnessOutcome {
    let build = build(tree, package);
    let mut outcome = HarnessOutcome {
        measurements: Err(HarnessError::Missing {
            package: package.to_owned(),
        }),
        build_seconds: build.seconds,
        run_seconds: 0.0,
        harness: None,
    };
    if let Some(error) = &build.error {
        outcome.measurements = Err(HarnessError::DidNotBuild(error.clone()));
        return outcome;
    }
    let Some(harness) = executable(&build) else {
        return outcome;
    };
    let run = Run {
        package,
        env,
        limits,
        timeout,
        steps,
    };
    let (measurements, seconds) = measure(tree, &harness.path, &harness.package_dir, &run);
    outcome.measurements = measurements;
    outcome.run_seconds = seconds;
    outcome.harness = Some(harness.path.clone());
    outcome
}

/// What one run of a harness is told and allowed.
struct Run<'a> {
    package: &'a str,
    env: &'a HarnessInput,
    limits: &'a RunLimits,
    timeout: &'a Timeout,
    steps: &'a dyn Steps,
}

/// Run the harness binary once and read what it measured.
fn measure(
    tree: &GradedTree,
    harness: &Path,
    package_dir: &Path,
    run: &Run,
) -> (Result<Measurements, HarnessError>, f64) {
    let Run {
        package,
        env,
        limits,
        timeout,
        steps,
    } = *run;
    // Run as a test is run (see `launch`): a scratch directory, where the
    // measurements go, and a neutral copy with a test's command line.
    let out_dir = match launch::scratch_dir(tree) {
        Ok(dir) => dir,
        Err(error) => return (Err(HarnessError::TempDir(error)), 0.0),
    };
    let file = out_dir.path().join("measurements.json");
    let copy = match launch::neutral_copy(&tree.target_dir, harness, package) {
        Ok(copy) => copy,
        Err(error) => return (Err(HarnessError::Copy(error)), 0.0),
    };
    let progress = match open_progress(&tree.isolation, &progress_path(&file)) {
        Ok(progress) => progress,
        Err(error) => return (Err(HarnessError::Sandbox(error)), 0.0),
    };
    let test = launch::any_test_name(&super::libtest::tests_in_sources(tree, package));
    let command = launch::command(&copy.path, package_dir, &test);
    let writable = [out_dir.path().to_path_buf()];
    let mut command = tree.confine(
        &command,
        Activity::Run {
            writable: &writable,
        },
    );
    // Everything else goes through stdin, read before student code runs.
    let settings = Settings {
        measurements: file.clone(),
        repeats: env.repeats,
        time_unit_ms: env.time_unit_ms,
        only: env.only.clone(),
    };
    let finished = AtomicBool::new(false);
    let output = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_progress(progress, &finished, steps));
        let output = sandbox::run_confined(
            &mut command,
            Some(&settings.to_stdin()),
            timeout.limit,
            limits.output_cap_bytes,
        );
        finished.store(true, Ordering::Relaxed);
        watcher.thread().unpark();
        output
    });
    let output = match output {
        Ok(output) => output,
        Err(error) => return (Err(HarnessError::Start(error)), 0.0),
    };
    let seconds = output.elapsed.as_secs_f64();
    (read_measurements(&output, &file, package, timeout), seconds)
}

/// Until `finished`, tell `steps` each new set of metric names the harness
/// has written to its progress file.
fn watch_progress(progress: File, finished: &AtomicBool, steps: &dyn Steps) {
    let mut told = BTreeSet::new();
    let mut progress = progress.take(PROGRESS_CAP);
    let mut bytes = Vec::new();
    let mut tell_news = || {
        let _ = progress.read_to_end(&mut bytes);
        let recorded = metric_names(&bytes);
        if recorded.len() > told.len() {
            steps.metrics_recorded(&recorded);
            told = recorded;
        }
    };
    while !finished.load(Ordering::Relaxed) {
        std::thread::park_timeout(PROGRESS_EVERY);
        tell_news();
    }
    // What the harness recorded last, so a display ends where it did.
    tell_news();
}

/// The metric names in the progress file's bytes read so far.
fn metric_names(bytes: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Create the progress file, for the harness to append to, and open it for
/// reading: the harness removes its name before student code runs, and the
/// grader reads it through this handle. Student code running as `nobody`
/// gets the file; a run user of the uid box, who gets the scratch directory
/// only when the run starts, may write it (no one else can enter that
/// directory).
fn open_progress(isolation: &Isolation, path: &Path) -> std::io::Result<File> {
    std::fs::write(path, "")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if isolation.runs_as_nobody() {
            let nobody = Some(crate::sandbox::isolation::NOBODY);
            std::os::unix::fs::chown(path, nobody, nobody)?;
        } else if isolation.runs_as_another_user() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        }
    }
    // Elsewhere student code runs as the grader's user.
    #[cfg(not(unix))]
    let _ = isolation;
    open_untrusted(path)
}

/// What a finished harness run left: its measurements, or why there are none.
fn read_measurements(
    output: &RunOutput,
    file: &Path,
    package: &str,
    timeout: &Timeout,
) -> Result<Measurements, HarnessError> {
    let stderr = output.stderr.tail_text(STDERR_TAIL).trim().to_owned();
    let package = package.to_owned();
    if output.timed_out {
        return Err(HarnessError::TimedOut {
            package,
            timeout: timeout.to_string(),
            limit_seconds: timeout.limit.as_secs_f64(),
            stderr,
        });
    }
    if !output.success() {
        let end = output.describe_end(timeout.limit);
        return Err(HarnessError::Failed {
            package,
            end,
            stderr,
        });
    }
    match read_capped(file, MEASUREMENTS_CAP) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => parse(&text, &package),
            Err(error) => Err(HarnessError::Invalid {
                package,
                error: error.to_string(),
            }),
        },
        Ok(None) => Err(HarnessError::TooLarge { package }),
        Err(_) => Err(HarnessError::NoFile { package, stderr }),
    }
}

/// The bytes of `file` when there are at most `cap` (`None` when more),
/// opened without following a link or waiting on a pipe.
fn read_capped(file: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    open_untrusted(file)?
        .take(cap + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// Open a file in the harness's writable directory, where student code may
/// have put a link or a pipe: without following the one or waiting on the
/// other.
#[cfg(unix)]
fn open_untrusted(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
}

/// Elsewhere student code runs as the grader's own user, unboxed: the file
/// is opened as it is.
#[cfg(not(unix))]
fn open_untrusted(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The measurement file, checked to be this exercise's and of a known format.
fn parse(text: &str, package: &str) -> Result<Measurements, HarnessError> {
    let measurements: Measurements =
        serde_json::from_str(text).map_err(|e| HarnessError::Invalid {
            package: package.to_owned(),
            error: e.to_string(),
        })?;
    if measurements.format != FORMAT_VERSION {
        return Err(HarnessError::WrongFormat {
            package: package.to_owned(),
            found: measurements.format,
        });
    }
    if measurements.exercise != package {
        return Err(HarnessError::WrongExercise {
            package: package.to_owned(),
            found: measurements.exercise,
        });
    }
    Ok(measurements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_files_are_checked() {
        let good = r#"{"format":1,"exercise":"ex02","time_unit_seconds":0.05,"cores":2,"repeats":3,"metrics":[{"name":"unit","unit":"seconds","values":[0.05]}]}"#;
        assert_eq!(parse(good, "ex02").unwrap().metrics.len(), 1);
        let error = |text: &str, package| parse(text, package).unwrap_err().to_string();
        assert!(error(good, "ex03").contains("\"ex02\""));
        assert!(error("{", "ex02").contains("not valid"));
        let future = good.replace("\"format\":1", "\"format\":2");
        assert!(error(&future, "ex02").contains("format 2"));
    }

    /// What `watch_progress` tells, from a progress file it reads through
    /// the handle opened before the run.
    struct Told(std::sync::Mutex<Vec<BTreeSet<String>>>);

    impl Steps for Told {
        fn metrics_recorded(&self, metrics: &BTreeSet<String>) {
            self.0.lock().unwrap().push(metrics.clone());
        }
    }

    #[test]
    fn the_progress_file_is_read_through_its_handle_after_its_name_is_gone() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("measurements.progress");
        let progress = open_progress(&Isolation::unavailable("a test"), &path).unwrap();
        // The harness's side: open for appending, remove the name, write.
        let mut harness = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        harness
            .write_all(b"unit\ncores\nserial_seconds\nunit\n")
            .unwrap();
        let line = "m".repeat(99) + "\n";
        harness.write_all(line.repeat(10_000).as_bytes()).unwrap();
        let told = Told(std::sync::Mutex::default());
        watch_progress(progress, &AtomicBool::new(true), &told);
        let told = told.0.into_inner().unwrap();
        let last = told.last().expect("told once");
        assert!(last.contains("serial_seconds") && last.contains("cores"));
        let read: usize = last.iter().map(|n| n.len() + 1).sum();
        assert!(read <= PROGRESS_CAP as usize, "read {read} bytes");
    }

    #[cfg(unix)]
    #[test]
    fn measurements_are_read_capped_and_never_through_a_link_or_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("measurements.json");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "the grader's secret\n").unwrap();
        std::os::unix::fs::symlink(&secret, &file).unwrap();
        assert!(read_capped(&file, 1000).is_err(), "followed a link");

        std::fs::remove_file(&file).unwrap();
        nix::unistd::mkfifo(&file, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(
            read_capped(&file, 1000).is_ok_and(|b| b == Some(Vec::new())),
            "waited on a pipe"
        );

        std::fs::remove_file(&file).unwrap();
        let line = "m".repeat(99) + "\n";
        std::fs::write(&file, line.repeat(10)).unwrap();
        assert_eq!(
            read_capped(&file, 1000).unwrap(),
            Some(line.repeat(10).into_bytes())
        );
        assert_eq!(read_capped(&file, 999).unwrap(), None, "one byte over");
    }
}
