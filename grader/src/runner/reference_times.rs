//! What the reference solution needs: each test's time and the harness's
//! wall time, measured once per machine and course version and kept beside
//! the reference's build, in `<its target dir>/reference-times/`:
//! `<exercise>-tests.json` and `<exercise>-harness-r<repeats>-u<time unit
//! in ms>.json` (a harness's time depends on its settings: gradings with
//! other settings keep files of their own).
//!
//! Each file carries a key, the SHA-256 of: the file's format, the machine
//! (the CPU model `/proc/cpuinfo` names, the cores this process may use, the
//! CPU quota), for the harness its repeats and time unit, and the bytes of
//! the executables that ran (the reference's test binaries, or its harness).
//! A new course version rebuilds those executables and another machine
//! differs in its CPU line, so either changes the key; a file whose key
//! differs is measured again and replaced. Grading many submissions reads
//! the files and measures nothing; `grade --solutions` writes them from its
//! own run.

use super::timeouts::harness_timeout;
use super::{harness, libtest, HarnessInput, HarnessOutcome, RunLimits, TestsOutcome};
use crate::model::TestStatus;
use crate::workspace::GradedTree;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The directory of the files, in the reference's target dir.
pub const DIR: &str = "reference-times";
/// The files' format; part of the key.
const FORMAT: u32 = 1;

/// The reference's seconds per test (`<target>::<test>`) of one exercise;
/// only tests that passed have a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestTimes {
    pub key: String,
    /// The machine in words, for a reader of the file (the key has it too).
    pub machine: String,
    pub tests: BTreeMap<String, f64>,
}

/// The wall time of one run of the reference's harness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessTime {
    pub key: String,
    pub machine: String,
    pub seconds: f64,
}

/// The machine as far as times depend on it, in words.
pub fn machine() -> String {
    let cpu = cpu_model().unwrap_or_else(|| "unknown CPU".to_owned());
    let facts = protocol::machine::Facts::read();
    let quota = facts
        .quota
        .and_then(|q| q.cores)
        .map_or_else(|| "no CPU quota".to_owned(), |c| format!("CPU quota {c}"));
    format!("{cpu}, {} cores, {quota}", facts.available_parallelism)
}

/// The CPU's model, as Linux's `/proc/cpuinfo` names it.
#[cfg(target_os = "linux")]
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

/// Other systems' times are keyed by cores and quota alone.
#[cfg(not(target_os = "linux"))]
fn cpu_model() -> Option<String> {
    None
}

/// The key of times measured on `machine` with `settings`, running
/// `executables`.
fn key(machine: &str, settings: &str, executables: &[PathBuf]) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    hash.update(format!("{FORMAT}\n{machine}\n{settings}\n"));
    for path in executables {
        hash.update(std::fs::read(path)?);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn file(target_dir: &Path, package: &str, what: &str) -> PathBuf {
    target_dir.join(DIR).join(format!("{package}-{what}.json"))
}

/// The reference's test times for `package` kept in `target_dir` (the
/// reference's target dir), whatever their key.
pub fn read_tests(target_dir: &Path, package: &str) -> Option<TestTimes> {
    read(&file(target_dir, package, "tests"))
}

/// The reference harness's time for `package` with `env` kept in
/// `target_dir`, whatever its key.
pub fn read_harness(target_dir: &Path, package: &str, env: &HarnessInput) -> Option<HarnessTime> {
    read(&harness_file(target_dir, package, env))
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Written whole or not at all (a temporary file renamed): graders running
/// at once never read half a file. A file that cannot be written is
/// measured again next time.
fn write<T: Serialize>(path: &Path, value: &T) {
    let write = || -> anyhow::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut file, value)?;
        file.persist(path)?;
        Ok(())
    };
    let _ = write();
}

fn harness_settings(env: &HarnessInput) -> String {
    format!("repeats {}, time unit {} ms", env.repeats, env.time_unit_ms)
}

fn harness_file(target_dir: &Path, package: &str, env: &HarnessInput) -> PathBuf {
    let what = format!("harness-r{}-u{}", env.repeats, env.time_unit_ms);
    file(target_dir, package, &what)
}

/// The seconds of each test that passed.
fn passed_times(outcome: &TestsOutcome) -> BTreeMap<String, f64> {
    outcome
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .map(|t| (t.name.clone(), t.seconds))
        .collect()
}

/// The reference's seconds per test of `package`: from its file when the
/// key matches, else measured now (its tests run with `limits`) and
/// written. Empty when the reference's tests do not build.
pub fn tests(reference: &GradedTree, package: &str, limits: &RunLimits) -> BTreeMap<String, f64> {
    let build = libtest::build(reference, package);
    let binaries: Vec<PathBuf> = libtest::binaries(&build)
        .iter()
        .map(|e| e.path.clone())
        .collect();
    if build.error.is_some() || binaries.is_empty() {
        return BTreeMap::new();
    }
    let machine = machine();
    let Ok(key) = key(&machine, "", &binaries) else {
        return BTreeMap::new();
    };
    let path = file(&reference.target_dir, package, "tests");
    if let Some(times) = read::<TestTimes>(&path).filter(|t| t.key == key) {
        return times.tests;
    }
    let outcome = super::run_tests(reference, package, limits);
    record_tests(reference, package, &outcome);
    passed_times(&outcome)
}

/// Keep what a run of the reference's own tests took (`grade --solutions`).
pub fn record_tests(reference: &GradedTree, package: &str, outcome: &TestsOutcome) {
    if outcome.build_error.is_some() || outcome.binaries.is_empty() {
        return;
    }
    let machine = machine();
    let Ok(key) = key(&machine, "", &outcome.binaries) else {
        return;
    };
    let times = TestTimes {
        key,
        machine,
        tests: passed_times(outcome),
    };
    write(&file(&reference.target_dir, package, "tests"), &times);
}

/// The wall time of the reference's harness for `package` with `env`: from
/// its file when the key matches, else measured now (within `limits`) and
/// written. `None` when the reference's harness gives no measurements.
pub fn harness(
    reference: &GradedTree,
    package: &str,
    env: &HarnessInput,
    limits: &RunLimits,
) -> Option<Duration> {
    let build = harness::build(reference, package);
    let executable = harness::executable(&build)?.path.clone();
    let key = key(&machine(), &harness_settings(env), &[executable]).ok()?;
    let path = harness_file(&reference.target_dir, package, env);
    if let Some(time) = read::<HarnessTime>(&path).filter(|t| t.key == key) {
        return Some(Duration::from_secs_f64(time.seconds));
    }
    let timeout = harness_timeout(limits.harness_timeout, None);
    let outcome = harness::run(reference, package, env, limits, &timeout, &super::Untold);
    record_harness(reference, package, env, &outcome)
}

/// Keep the wall time of a run of the reference's harness that measured
/// (`grade --solutions`, which may run it several times: the longest run is
/// kept). Returns the time kept.
pub fn record_harness(
    reference: &GradedTree,
    package: &str,
    env: &HarnessInput,
    outcome: &HarnessOutcome,
) -> Option<Duration> {
    let executable = outcome.harness.clone()?;
    outcome.measurements.as_ref().ok()?;
    let machine = machine();
    let key = key(&machine, &harness_settings(env), &[executable]).ok()?;
    let path = harness_file(&reference.target_dir, package, env);
    let earlier = read::<HarnessTime>(&path)
        .filter(|t| t.key == key)
        .map_or(0.0, |t| t.seconds);
    let seconds = outcome.run_seconds.max(earlier);
    let time = HarnessTime {
        key,
        machine,
        seconds,
    };
    write(&path, &time);
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_the_executables_the_machine_and_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"test binary, version 1").unwrap();
        std::fs::write(&b, b"test binary, version 2").unwrap();
        let one = key("cpu X, 2 cores", "", std::slice::from_ref(&a)).unwrap();
        assert_eq!(
            one,
            key("cpu X, 2 cores", "", std::slice::from_ref(&a)).unwrap()
        );
        assert_ne!(one, key("cpu X, 2 cores", "", &[b]).unwrap());
        assert_ne!(
            one,
            key("cpu X, 4 cores", "", std::slice::from_ref(&a)).unwrap()
        );
        assert_ne!(one, key("cpu X, 2 cores", "repeats 5", &[a]).unwrap());
        assert!(key("cpu X", "", &[dir.path().join("missing")]).is_err());
    }

    #[test]
    fn the_machine_names_its_cores() {
        assert!(machine().contains(" cores, "), "{}", machine());
    }
}
