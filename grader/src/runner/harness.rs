//! Observation: build the exercise's harness (`benches/observe.rs`) in
//! release mode and run it, reading the measurements from the file it was
//! told to write, never from its output (student code prints there).

use super::cargo;
use super::timeouts::Timeout;
use super::{HarnessInput, HarnessOutcome, RunLimits, Steps};
use crate::sandbox::isolation::Activity;
use crate::sandbox::{self, RunOutput};
use crate::workspace::GradedTree;
use common::observe::{
    progress_path, Measurements, Settings, FORMAT_VERSION, HARNESS_PATH, HARNESS_TARGET,
};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
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
    // Temporary directories under tempfile's own neutral names: one for the
    // measurements, another for the harness's copy; inside a parent student
    // code may pass through but not list, so that their names are never
    // found, only given (and they are given to the harness alone).
    let parent = match unlisted_temp_dir() {
        Ok(parent) => parent,
        Err(error) => return (Err(HarnessError::TempDir(error)), 0.0),
    };
    let in_parent = || tempfile::tempdir_in(parent.path());
    let (out_dir, run_dir) = match (in_parent(), in_parent()) {
        (Ok(out), Ok(run)) => (out, run),
        (Err(error), _) | (_, Err(error)) => return (Err(HarnessError::TempDir(error)), 0.0),
    };
    let file = out_dir.path().join("measurements.json");
    let copy = match neutral_copy(harness, run_dir.path(), package) {
        Ok(copy) => copy,
        Err(error) => return (Err(HarnessError::Copy(error)), 0.0),
    };
    // Inside the box both directories are bound writable (the harness's own
    // copy is used once, and a running executable cannot be rewritten).
    let dirs = [out_dir.path().to_path_buf(), run_dir.path().to_path_buf()];
    if let Err(error) = dirs.iter().try_for_each(|dir| open_to_the_box(tree, dir)) {
        return (Err(HarnessError::Sandbox(error)), 0.0);
    }
    let command = harness_command(&copy, package_dir);
    let mut command = tree.confine(&command, Activity::Run { writable: &dirs });
    // Everything else goes through stdin, read before student code runs.
    let settings = Settings {
        measurements: file.clone(),
        repeats: env.repeats,
        time_unit_ms: env.time_unit_ms,
        only: env.only.clone(),
    };
    let finished = AtomicBool::new(false);
    let output = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_progress(&progress_path(&file), &finished, steps));
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
fn watch_progress(progress: &Path, finished: &AtomicBool, steps: &dyn Steps) {
    let mut told = BTreeSet::new();
    let mut tell_news = || {
        let recorded = recorded_metrics(progress);
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

/// The metric names in the progress file so far (its first
/// [`PROGRESS_CAP`] bytes, opened without following a link); none when
/// there is no such file yet.
fn recorded_metrics(progress: &Path) -> BTreeSet<String> {
    let mut bytes = Vec::new();
    if let Ok(file) = open_untrusted(progress) {
        let _ = file.take(PROGRESS_CAP).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A temporary directory others may pass through but not list.
fn unlisted_temp_dir() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
    }
    Ok(dir)
}

/// Student code running as `nobody` must be able to use the harness's
/// directories (besides its scratch /tmp, the only ones it may write).
fn open_to_the_box(tree: &GradedTree, dir: &Path) -> std::io::Result<()> {
    if !tree.isolation.runs_as_nobody() {
        return Ok(());
    }
    give_to_nobody(dir)
}

#[cfg(unix)]
fn give_to_nobody(dir: &Path) -> std::io::Result<()> {
    let nobody = Some(crate::sandbox::isolation::NOBODY);
    std::os::unix::fs::chown(dir, nobody, nobody)
}

/// Only Linux's box runs student code as `nobody`.
#[cfg(not(unix))]
fn give_to_nobody(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The harness run as a test is: from its package's directory, in a test
/// run's environment, without arguments. Nothing in its name, arguments or
/// environment tells student code that this run is the one being measured.
fn harness_command(harness: &Path, package_dir: &Path) -> Command {
    let mut command = Command::new(harness);
    crate::sandbox::scrub_env(&mut command);
    command
        .current_dir(package_dir)
        .env("CARGO_MANIFEST_DIR", package_dir)
        .env("RUST_BACKTRACE", "0");
    command
}

/// Copy the harness executable into `dir` under the package's name, the
/// name of the package's own program.
fn neutral_copy(harness: &Path, dir: &Path, package: &str) -> std::io::Result<PathBuf> {
    let copy = dir.join(package);
    std::fs::copy(harness, &copy)?;
    Ok(copy)
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
fn open_untrusted(path: &Path) -> std::io::Result<std::fs::File> {
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

    #[test]
    fn the_progress_file_is_read_capped_and_never_through_a_link_or_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let progress = dir.path().join("measurements.progress");
        assert!(recorded_metrics(&progress).is_empty(), "no file yet");
        std::fs::write(&progress, "unit\ncores\nserial_seconds\nunit\n").unwrap();
        let names: Vec<String> = recorded_metrics(&progress).into_iter().collect();
        assert_eq!(names, ["cores", "serial_seconds", "unit"]);

        #[cfg(unix)]
        {
            let secret = dir.path().join("secret");
            std::fs::write(&secret, "the grader's secret\n").unwrap();
            std::fs::remove_file(&progress).unwrap();
            std::os::unix::fs::symlink(&secret, &progress).unwrap();
            assert!(recorded_metrics(&progress).is_empty(), "followed a link");

            std::fs::remove_file(&progress).unwrap();
            nix::unistd::mkfifo(&progress, nix::sys::stat::Mode::S_IRWXU).unwrap();
            assert!(recorded_metrics(&progress).is_empty(), "read a pipe");
            std::fs::remove_file(&progress).unwrap();
        }

        let line = "m".repeat(99) + "\n";
        std::fs::write(&progress, line.repeat(10)).unwrap();
        assert_eq!(
            read_capped(&progress, 1000).unwrap(),
            Some(line.repeat(10).into_bytes())
        );
        assert_eq!(read_capped(&progress, 999).unwrap(), None, "one byte over");
        std::fs::write(&progress, line.repeat(10_000)).unwrap();
        let read: usize = recorded_metrics(&progress).iter().map(|n| n.len()).sum();
        assert!(read <= PROGRESS_CAP as usize, "read {read} bytes");
    }
}
