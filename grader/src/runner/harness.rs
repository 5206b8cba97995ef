//! Observation: build the exercise's harness (`benches/observe.rs`) in
//! release mode and run it, reading the measurements from the file it was
//! told to write, never from its output (student code prints there).

use super::cargo::{self, Executable};
use super::isolation::Phase;
use super::sandbox;
use super::{HarnessEnv, HarnessOutcome, Limits};
use crate::workspace::GradedTree;
use common::observe::{
    Measurements, FORMAT_VERSION, MEASUREMENTS_ENV, MEASUREMENTS_FROM_STDIN, REPEATS_ENV,
};
use std::path::Path;
use std::process::Command;

/// The harness's bench target name.
pub const HARNESS_TARGET: &str = "observe";
/// How much of the harness's stderr an error message quotes.
const STDERR_TAIL: usize = 1500;

pub(super) fn run(
    tree: &GradedTree,
    package: &str,
    env: &HarnessEnv,
    limits: &Limits,
) -> HarnessOutcome {
    let mut build = cargo::command(tree, "bench");
    build.args([
        "--no-run",
        "--message-format=json",
        "-p",
        package,
        "--bench",
        HARNESS_TARGET,
    ]);
    let build = cargo::build(tree.confine(&build, Phase::Build));
    let mut outcome = HarnessOutcome {
        measurements: Err(String::new()),
        build_seconds: build.seconds,
        run_seconds: 0.0,
    };
    if let Some(error) = build.error {
        outcome.measurements = Err(format!("the harness did not build:\n{error}"));
        return outcome;
    }
    let Some(harness) = build
        .executables
        .iter()
        .find(|e| e.kind == "bench" && e.target_name == HARNESS_TARGET)
    else {
        outcome.measurements = Err(format!(
            "package {package} has no benches/{HARNESS_TARGET}.rs harness"
        ));
        return outcome;
    };
    let (measurements, seconds) = measure(tree, harness, package, env, limits);
    outcome.measurements = measurements;
    outcome.run_seconds = seconds;
    outcome
}

/// Run the harness binary once and read what it measured.
fn measure(
    tree: &GradedTree,
    harness: &Executable,
    package: &str,
    env: &HarnessEnv,
    limits: &Limits,
) -> (Result<Measurements, String>, f64) {
    let out_dir = match tempfile::Builder::new()
        .prefix("grader-measurements-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(error) => {
            return (
                Err(format!("cannot create a temporary directory: {error}")),
                0.0,
            )
        }
    };
    let file = out_dir.path().join("measurements.json");
    if let Err(error) = open_to_the_box(tree, out_dir.path()) {
        return (Err(error), 0.0);
    }
    let package_dir = &harness.package_dir;
    let mut command = Command::new(&harness.path);
    cargo::scrub_env(&mut command);
    command
        .arg("--bench")
        .current_dir(package_dir)
        .env("CARGO_MANIFEST_DIR", package_dir)
        // The file's name goes through stdin, read before student code runs:
        // an environment variable would stay readable in /proc/self/environ.
        .env(MEASUREMENTS_ENV, MEASUREMENTS_FROM_STDIN)
        .env(REPEATS_ENV, env.repeats.to_string())
        .env(common::TIME_UNIT_ENV, env.time_unit_ms.to_string())
        .env("RUST_BACKTRACE", "0");
    let mut secret = file.as_os_str().as_encoded_bytes().to_vec();
    secret.push(b'\n');
    let writable = [out_dir.path().to_path_buf()];
    let mut command = tree.confine(
        &command,
        Phase::Run {
            writable: &writable,
        },
    );
    let output = match sandbox::run_with_input(
        &mut command,
        Some(&secret),
        limits.harness_timeout,
        limits.output_cap_bytes,
    ) {
        Ok(output) => output,
        Err(error) => return (Err(format!("cannot start the harness: {error}")), 0.0),
    };
    let seconds = output.elapsed.as_secs_f64();
    let stderr = output.stderr.tail_text(STDERR_TAIL);
    let stderr = stderr.trim();
    let with_stderr = |sentence: String| {
        if stderr.is_empty() {
            sentence
        } else {
            format!("{sentence} Its last output:\n{stderr}")
        }
    };
    if output.timed_out {
        let sentence = format!(
            "The harness of {package} timed out after {} and was killed: student code that never returns?",
            sandbox::format_duration(limits.harness_timeout)
        );
        return (Err(with_stderr(sentence)), seconds);
    }
    if !output.success() {
        let sentence = format!(
            "The harness of {package} failed ({}) before it finished measuring.",
            output.describe_end(limits.harness_timeout)
        );
        return (Err(with_stderr(sentence)), seconds);
    }
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(_) => {
            let sentence = format!(
                "The harness of {package} exited without writing its measurements (did the code call std::process::exit?)."
            );
            return (Err(with_stderr(sentence)), seconds);
        }
    };
    (parse(&text, package), seconds)
}

/// Student code running as `nobody` must be able to write the measurements
/// directory (its only writable directory besides its scratch /tmp).
fn open_to_the_box(tree: &GradedTree, dir: &Path) -> Result<(), String> {
    if !tree.isolation.runs_as_nobody() {
        return Ok(());
    }
    let nobody = Some(super::isolation::NOBODY);
    std::os::unix::fs::chown(dir, nobody, nobody)
        .map_err(|e| format!("cannot hand the measurements directory to the sandbox: {e}"))
}

/// The measurement file, checked to be this exercise's and of a known format.
fn parse(text: &str, package: &str) -> Result<Measurements, String> {
    let measurements: Measurements = serde_json::from_str(text).map_err(|e| {
        format!("The harness of {package} wrote a measurements file that is not valid: {e}.")
    })?;
    if measurements.format != FORMAT_VERSION {
        return Err(format!(
            "The harness of {package} wrote measurements in format {} but the grader reads format {FORMAT_VERSION}.",
            measurements.format
        ));
    }
    if measurements.exercise != package {
        return Err(format!(
            "The harness of {package} wrote measurements for {:?}.",
            measurements.exercise
        ));
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
        assert!(parse(good, "ex03").unwrap_err().contains("\"ex02\""));
        assert!(parse("{", "ex02").unwrap_err().contains("not valid"));
        let future = good.replace("\"format\":1", "\"format\":2");
        assert!(parse(&future, "ex02").unwrap_err().contains("format 2"));
    }
}
