//! Submissions that attack the machine or the grader instead of the tests:
//! forged results, the reference solutions, the instructor's files, the
//! build directory, processes that outlive the run, signals. Each is graded
//! as an instructor would (`grader grade --submission`, strict by default)
//! against a copy of the course, and must earn nothing it did not earn and
//! leave the course, the build directory and the process table as it found
//! them.
//!
//! Each attack is written here as edits of ex01's stubs or reference
//! solution, built at test time. These tests need the sandbox (bubblewrap,
//! and user namespaces when not root); `.ci/run` installs it. With
//! `GRADER_TESTS_DOCKERLIKE=1` the same attacks are graded as in a default
//! Docker container (`../shared/tools/dockerlike`): no namespaces, so
//! student code goes into the uid box (`runner::uid_box`).
#![cfg(target_os = "linux")] // the attacks are on Linux's boxes

use grader::model::GradeReport;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

mod support;
use support::{as_these_tests_run, copy_tree, grader_command, repo_root};

const EX01: &str = "ex01-serial-map";
/// The first function of ex01, in the stubs and in the solution alike.
const FIRST_FUNCTION: &str = "pub fn do_science(x: u64) -> u64 {";
/// The longest one grading may take (a cold build of the dependencies).
const GRADING_TIMEOUT: Duration = Duration::from_secs(900);

/// The instructor's course the attacks are graded against: a copy of this
/// course (its exercises, solutions and manifests) in the temporary
/// directory, so that an attack that got through could not damage the real
/// one. One copy for all the attacks, at one place per checkout, made afresh
/// by every run but for its build directory: the dependencies build once, and
/// no run leaves a copy behind.
fn instructor_course() -> &'static Path {
    static COURSE: OnceLock<PathBuf> = OnceLock::new();
    COURSE.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let repo = repo_root();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        repo.hash(&mut hasher);
        let course = std::env::temp_dir().join(format!("grader-attacks-{:016x}", hasher.finish()));
        fs::create_dir_all(&course).unwrap();
        for entry in fs::read_dir(&course).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name() != Some("target".as_ref()) {
                let gone = if path.is_dir() && !path.is_symlink() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                gone.unwrap();
            }
        }
        // As a course's directory is: other users (the uid box's) may
        // pass through it.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&course, fs::Permissions::from_mode(0o755)).unwrap();
        for file in ["Cargo.toml", "Cargo.lock", "course.yaml"] {
            fs::copy(repo.join(file), course.join(file)).unwrap();
        }
        for dir in ["exercises", "solutions"] {
            copy_tree(&repo.join(dir), &course.join(dir));
        }
        course
    })
}

/// Gradings one at a time: each builds, and the machine has 2 cores.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every file of the instructor's course but its build directory, by path.
fn fingerprint(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.file_name() != "target")
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

/// What ex01's `src/lib.rs` starts from.
#[derive(Clone, Copy)]
enum Base {
    Stub,
    Solution,
}

/// A submission: ex01's stub or solution with the attack written in.
struct Attack {
    base: Base,
    /// Items added before ex01's first function.
    items: String,
    /// Statements run first in ex01's first function.
    first: String,
    /// Inner attributes put at the top of lib.rs.
    inner_attributes: String,
}

impl Attack {
    fn on(base: Base) -> Attack {
        Attack {
            base,
            items: String::new(),
            first: String::new(),
            inner_attributes: String::new(),
        }
    }

    fn items(mut self, items: &str) -> Attack {
        self.items.push_str(items);
        self
    }

    fn first(mut self, statements: &str) -> Attack {
        self.first.push_str(statements);
        self
    }

    fn inner_attributes(mut self, attributes: &str) -> Attack {
        self.inner_attributes.push_str(attributes);
        self
    }

    /// The student's repository, in a fresh directory.
    fn write(&self) -> tempfile::TempDir {
        let root = tempfile::Builder::new()
            .prefix("attack-")
            .tempdir()
            .unwrap();
        let from = match self.base {
            Base::Stub => instructor_course().join("exercises"),
            Base::Solution => instructor_course().join("solutions"),
        };
        let src = root.path().join("exercises").join(EX01).join("src");
        copy_tree(&from.join(EX01).join("src"), &src);
        let lib = src.join("lib.rs");
        let text = fs::read_to_string(&lib).unwrap();
        assert_eq!(
            text.matches(FIRST_FUNCTION).count(),
            1,
            "ex01's lib.rs should start its first function with {FIRST_FUNCTION:?}"
        );
        let text = text.replacen(
            FIRST_FUNCTION,
            &format!("{}\n{FIRST_FUNCTION}\n{}\n", self.items, self.first),
            1,
        );
        fs::write(&lib, format!("{}{text}", self.inner_attributes)).unwrap();
        root
    }
}

/// Among [`grade`]'s options: measure the observations too.
const OBSERVE: &str = "(observe)";

/// What one grading produced.
struct Graded {
    output: Output,
    report: Option<GradeReport>,
    out_file: PathBuf,
    _out_dir: tempfile::TempDir,
}

impl Graded {
    fn report(&self) -> &GradeReport {
        self.report.as_ref().unwrap_or_else(|| {
            panic!(
                "no report; grader stderr:\n{}",
                String::from_utf8_lossy(&self.output.stderr)
            )
        })
    }

    fn score(&self) -> f64 {
        self.report().score
    }

    fn build_error(&self) -> String {
        self.report().exercises[0]
            .tests
            .build_error
            .clone()
            .unwrap_or_default()
    }

    fn flags(&self) -> Vec<String> {
        self.report()
            .integrity
            .flags_of("ex01")
            .map(|f| f.flags.iter().map(|f| f.what.clone()).collect())
            .unwrap_or_default()
    }
}

/// `grader grade --submission <dir> -e ex01 --no-observations --format json
/// --out <file>` against the instructor's course copy, with `extra` options;
/// [`OBSERVE`] among them leaves out `--no-observations`.
fn grade(submission: &Path, extra: &[&str], out_dir: tempfile::TempDir) -> Graded {
    let out_file = out_dir.path().join("report.json");
    let course = instructor_course().join("course.yaml");
    let observe = extra.contains(&OBSERVE);
    let extra: Vec<&str> = extra.iter().copied().filter(|e| *e != OBSERVE).collect();
    let observations: &[&str] = if observe { &[] } else { &["--no-observations"] };
    let output = grader_command()
        .arg("grade")
        .arg("--course")
        .arg(&course)
        .arg("--submission")
        .arg(submission)
        .args(["-e", "ex01", "--format", "json"])
        .args(observations)
        .arg("--out")
        .arg(&out_file)
        .args(extra)
        .timeout(GRADING_TIMEOUT)
        .output()
        .unwrap();
    let report = fs::read_to_string(&out_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    Graded {
        output,
        report,
        out_file,
        _out_dir: out_dir,
    }
}

/// Grade `attack`, and check that the instructor's course is untouched and
/// no process that mentions `marker` is left running.
fn grade_attack(attack: &Attack, extra: &[&str], marker: Option<&str>) -> Graded {
    grade_attack_into(attack, extra, marker, tempfile::tempdir().unwrap())
}

/// [`grade_attack`], with the report written into `out_dir`.
fn grade_attack_into(
    attack: &Attack,
    extra: &[&str],
    marker: Option<&str>,
    out_dir: tempfile::TempDir,
) -> Graded {
    let _one = one_at_a_time();
    let before = fingerprint(instructor_course());
    let submission = attack.write();
    let graded = grade(submission.path(), extra, out_dir);
    assert!(
        fingerprint(instructor_course()) == before,
        "the attack changed the instructor's course"
    );
    if let Some(report) = &graded.report {
        // The grader puts back what changed: nothing should have to be.
        assert_eq!(report.integrity.restored, Vec::<String>::new());
    }
    if let Some(marker) = marker {
        assert_eq!(
            survivors(marker),
            Vec::<String>::new(),
            "processes outlived the run"
        );
    }
    graded
}

/// A marker unique to this test run, to find its processes by.
fn marker() -> String {
    format!("{}", 880_000 + std::process::id() % 10_000)
}

/// Processes whose command line contains `marker`; they are killed, so that
/// a failing test does not leave them behind either.
fn survivors(marker: &str) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(300));
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// libtest's report of a passing test, written to the real stdout, then
/// exit: what the grader judges tests by, forged from inside the test.
const FORGE_LIBTEST: &str = r#"
fn forge() -> ! {
    use std::io::Write;
    let name = std::env::args().nth(1).unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = write!(out, "\nrunning 1 test\ntest {name} ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n");
    let _ = out.flush();
    std::process::exit(0)
}
macro_rules! todo {
    ($($message:tt)*) => {{ forge() }};
}
"#;

#[test]
fn forged_libtest_lines_on_the_real_stdout_earn_nothing() {
    let attack = Attack::on(Base::Stub).items(FORGE_LIBTEST);
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.score(), 0.0);
    let flags = graded.flags();
    for expected in ["process exit", "stdout", "std::env::args"] {
        assert!(
            flags.iter().any(|f| f.contains(expected)),
            "{expected} should be flagged: {flags:?}"
        );
    }
    let flagged = graded.report().integrity.flags_of("ex01").unwrap();
    assert!(flagged.points_withheld);
    assert!(
        flagged
            .flags
            .iter()
            .all(|f| f.file == "exercises/ex01-serial-map/src/lib.rs" && f.line > 0),
        "{flagged:?}"
    );
}

#[test]
fn the_forgery_is_still_flagged_without_strict() {
    let attack = Attack::on(Base::Stub).items(FORGE_LIBTEST);
    let graded = grade_attack(&attack, &["--no-strict"], None);
    let integrity = &graded.report().integrity;
    assert!(!integrity.strict);
    assert!(!integrity.flags_of("ex01").unwrap().points_withheld);
    assert!(graded.flags().iter().any(|f| f.contains("stdout")));
}

#[test]
fn unsafe_code_cannot_be_allowed_back() {
    // A constructor that runs before main and could answer for libtest.
    let attack = Attack::on(Base::Stub)
        .inner_attributes("#![allow(unsafe_code)]\n")
        .items(
            r#"
#[used]
#[link_section = ".init_array"]
static BEFORE_MAIN: extern "C" fn() = before_main;
extern "C" fn before_main() {}
"#,
        );
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.score(), 0.0);
    let error = graded.build_error();
    assert!(error.contains("forbid"), "{error}");
    assert!(graded.flags().iter().any(|f| f.contains("link_section")));
}

#[test]
fn the_reference_solutions_cannot_be_reached() {
    let solution = instructor_course()
        .join("solutions")
        .join(EX01)
        .join("src/lib.rs");
    let items = format!(
        "#[path = {:?}]\nmod reference;\npub use reference::*;\n",
        solution.display().to_string()
    );
    let attack = Attack::on(Base::Stub).items(&items);
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.score(), 0.0);
    let error = graded.build_error();
    assert!(error.contains("couldn't read"), "{error}");
    assert!(graded.flags().iter().any(|f| f.contains("outside src")));

    // include_str! of the solution, from the build: the same.
    let items = format!(
        "pub const REFERENCE: &str = include_str!({:?});\n",
        solution.display().to_string()
    );
    let graded = grade_attack(
        &Attack::on(Base::Stub).items(&items),
        &["--no-strict"],
        None,
    );
    assert!(
        graded.build_error().contains("couldn't read"),
        "{}",
        graded.build_error()
    );
}

/// Write where the attack can: the instructor's course (found from the
/// test executable's path), the build directory around the executable
/// (every file replaced by a script that reports passes), the grader's
/// report. Returns how many writes got through.
const VANDAL: &str = r##"
fn vandalize() -> usize {
    let mut done = 0;
    let exe = std::env::current_exe().unwrap_or_default();
    // In pieces: the scan flags libtest's words; this attack is the box's.
    let forged = ["#!/bin/sh\necho \"test $1 ... o", "k\"\necho \"test res", "ult: ok. 1 passed\"\n"].concat();
    for dir in exe.ancestors() {
        for name in ["course.yaml", "exercises/ex02-threaded-query/src/lib.rs", "solutions/ex01-serial-map/src/lib.rs"] {
            let path = dir.join(name);
            if path.is_file() && std::fs::write(&path, "vandalized").is_ok() {
                done += 1;
            }
        }
    }
    if let Some(deps) = exe.parent() {
        for entry in std::fs::read_dir(deps).into_iter().flatten().flatten() {
            if std::fs::write(entry.path(), &forged).is_ok() {
                done += 1;
            }
        }
    }
    if std::fs::write(&exe, &forged).is_ok() {
        done += 1;
    }
    done
}
"##;

#[test]
fn the_course_and_the_build_directory_are_read_only() {
    // From the stubs: a replaced test executable would pass every test.
    let attack = Attack::on(Base::Stub)
        .items(VANDAL)
        .first("    assert_eq!(vandalize(), 0, \"a write got through\");");
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.score(), 0.0);
    assert_eq!(graded.flags(), Vec::<String>::new());

    // The next, honest submission builds and passes as if nothing happened.
    let honest = grade_attack(&Attack::on(Base::Solution), &[], None);
    assert_eq!(honest.score(), 10.0, "{}", honest.build_error());
    assert_eq!(honest.report().exercises[0].tests.build_error, None);
}

/// A build slot keeps the last submission's build, and cargo judges a build
/// up to date by its files' modified times: a submission that leaves ex01 as
/// given (no src at all, or the stubs unchanged), graded right after the
/// reference solution in the same slot, must not be graded on the
/// reference's binaries. Each batch report matches grading alone.
#[test]
fn a_build_slot_lends_no_submission_the_last_ones_build() {
    let _one = one_at_a_time();
    let class = tempfile::tempdir().unwrap();
    let reference = Attack::on(Base::Solution).write();
    let reference = reference.path().join("exercises").join(EX01).join("src");
    let stubs = instructor_course().join("exercises").join(EX01).join("src");
    let submissions = [
        ("reference", Some(&reference), 10.0),
        ("no-src", None, 0.0),
        ("reference-again", Some(&reference), 10.0),
        ("unchanged-stubs", Some(&stubs), 0.0),
    ]
    .map(|(id, src, points)| {
        let dir = class.path().join(id);
        fs::create_dir_all(dir.join("exercises")).unwrap();
        if let Some(src) = src {
            copy_tree(src, &dir.join("exercises").join(EX01).join("src"));
        }
        (id, dir, points)
    });
    let out = class.path().join("out");
    let dirs: Vec<&Path> = submissions
        .iter()
        .map(|(_, dir, _)| dir.as_path())
        .collect();
    let batched = batch_one_slot(&dirs, &out);
    for (id, dir, points) in &submissions {
        let batched = batched(id);
        assert_eq!(batched.score, *points, "{id}");
        let alone = grade(dir, &[], tempfile::tempdir().unwrap());
        let statuses = |report: &GradeReport| -> Vec<_> {
            let tests = &report.exercises[0].tests.tests;
            tests.iter().map(|t| (t.name.clone(), t.status)).collect()
        };
        assert_eq!(statuses(alone.report()), statuses(&batched), "{id}");
        assert_eq!(alone.score(), batched.score, "{id}");
    }
}

/// `grader batch` of `submissions` (ex01, no observations) built one at a
/// time, all in build slot 0; each one's report by id.
fn batch_one_slot(submissions: &[&Path], out: &Path) -> impl Fn(&str) -> GradeReport {
    let output = grader_command()
        .arg("batch")
        .arg("--course")
        .arg(instructor_course().join("course.yaml"))
        .args(submissions)
        .args(["-e", "ex01", "--no-observations", "--build-jobs", "1"])
        .arg("--out")
        .arg(out)
        .timeout(GRADING_TIMEOUT)
        .output()
        .unwrap();
    let (out, stderr) = (out.to_owned(), output.stderr);
    move |id| {
        let text = fs::read_to_string(out.join(format!("{id}.json"))).unwrap_or_else(|_| {
            let stderr = String::from_utf8_lossy(&stderr);
            panic!("no report for {id}; grader stderr:\n{stderr}")
        });
        serde_json::from_str(&text).unwrap()
    }
}

#[test]
fn nothing_outlives_the_run() {
    let marker = marker();
    let out_dir = tempfile::tempdir().unwrap();
    let out_file = out_dir.path().join("report.json");
    // A new session, a double fork, and a process that would rewrite the
    // report once the grader is gone (it knows the report's path).
    let first = format!(
        "    spawn_survivors({marker:?}, {:?});",
        out_file.display().to_string()
    );
    let items = r#"
fn spawn_survivors(marker: &str, report: &str) {
    use std::process::Command;
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    if !first {
        return;
    }
    let _ = Command::new("setsid").args(["-f", "sleep", marker]).status();
    let _ = Command::new("sh").args(["-c", &format!("(sleep {marker} &) &")]).status();
    let rewrite = format!("sleep 2; echo '{{\"score\": 96}}' > {report}; sleep {marker}");
    let _ = Command::new("setsid").args(["-f", "sh", "-c", &rewrite]).status();
}
"#;
    let attack = Attack::on(Base::Solution).items(items).first(&first);
    let graded = grade_attack_into(&attack, &["--no-strict"], Some(&marker), out_dir);
    assert!(
        graded.output.status.success(),
        "{}",
        String::from_utf8_lossy(&graded.output.stderr)
    );
    std::thread::sleep(Duration::from_secs(3));
    let report: GradeReport =
        serde_json::from_str(&fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(
        report.score, 10.0,
        "the honest work of the solution still counts"
    );
    assert_eq!(report.max_score, 10.0);
}

#[test]
fn a_signal_to_the_grader_cannot_stop_it() {
    // Every process named grader that the code can see, killed.
    let items = r#"
fn kill_the_grader() {
    // Once per process: where other processes are visible (the uid box),
    // killing them on every call is what would time the test out.
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    if !first {
        return;
    }
    let mut graders = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "grader" {
            graders.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    if !graders.is_empty() {
        let _ = std::process::Command::new("kill").arg("-9").args(&graders).status();
    }
}
"#;
    let attack = Attack::on(Base::Solution)
        .items(items)
        .first("    kill_the_grader();");
    let graded = grade_attack(&attack, &["--no-strict"], None);
    assert!(
        graded.output.status.success(),
        "{:?}: {}",
        graded.output.status,
        String::from_utf8_lossy(&graded.output.stderr)
    );
    assert!(graded.out_file.is_file());
    let tests = &graded.report().exercises[0].tests.tests;
    let failures: Vec<_> = tests.iter().filter_map(|t| t.failure.clone()).collect();
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(graded.score(), 10.0);
    // Under --strict the Command in ex01 (whose lesson starts no process)
    // costs the exercise its points.
    let strict = grade_attack(&attack, &[], None);
    assert_eq!(strict.score(), 0.0);
    assert!(strict.flags().iter().any(|f| f.contains("Command")));
}

#[test]
fn the_report_header_says_whether_student_code_was_isolated() {
    let graded = grade_attack(&Attack::on(Base::Stub), &[], None);
    let integrity = &graded.report().integrity;
    assert!(integrity.strict, "--submission grades strictly by default");
    assert!(
        integrity.isolation.starts_with("isolated"),
        "these tests need the sandbox (bubblewrap): {}",
        integrity.isolation
    );
    if support::in_dockerlike() {
        // No namespaces there: the box that ran says so, and what it lacks.
        assert!(
            integrity.isolation.contains("uid box") && integrity.isolation.contains("visible"),
            "{}",
            integrity.isolation
        );
    }
}

/// Opens for writing (appending nothing, or creating) the files of the
/// submission's copy it is graded in, found from `CARGO_MANIFEST_DIR`: the
/// instructor's tests and manifests, its own sources (a later build of the
/// copy would compile them, unscanned). Returns how many opened.
const WRITE_THE_COPY: &str = r##"
fn write_the_copy() -> usize {
    let package = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let files = ["tests/ex01.rs", "Cargo.toml", "src/lib.rs", "src/added.rs", "../../course.yaml",
        "../../Cargo.lock", "../../Cargo.toml", "../common/src/lib.rs", "../common/added.rs"];
    files
        .iter()
        .filter(|name| {
            let mut open = std::fs::OpenOptions::new();
            open.append(true).create(true).open(package.join(name)).is_ok()
        })
        .count()
}
"##;

#[test]
fn the_submissions_copy_is_read_only() {
    let attack = Attack::on(Base::Solution)
        .items(WRITE_THE_COPY)
        .first("    assert_eq!(write_the_copy(), 0, \"a write into the copy got through\");");
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.flags(), Vec::<String>::new());
    let tests = &graded.report().exercises[0].tests;
    let failures: Vec<_> = tests
        .tests
        .iter()
        .filter_map(|t| t.failure.clone())
        .collect();
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(graded.score(), 10.0);
}

/// Every run spawns, once, a process in a new session that writes forged
/// measurements into every measurements file it can find under /tmp, for
/// two minutes: from a test run, to reach the harness's later run; from the
/// harness's run, to overwrite what the harness writes.
const FORGER: &str = r##"
fn spawn_forger(marker: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let forged = r#"{"format":1,"exercise":"ex01","time_unit_seconds":0.05,"cores":96,"repeats":3,"metrics":[]}"#;
        let forge = format!(
            "for i in $(seq 2400); do find /tmp -name 'measurements.*' -type f 2>/dev/null |              while read -r f; do echo '{forged}' > \"$f\"; done; sleep 0.05; done # {marker}"
        );
        let _ = std::process::Command::new("setsid").args(["-f", "sh", "-c", &forge]).status();
    });
}
"##;

#[test]
fn measurements_cannot_be_forged_from_another_process() {
    let marker = marker();
    let attack = Attack::on(Base::Solution)
        .items(FORGER)
        .first(&format!("    spawn_forger({marker:?});"));
    // With observations: the harness runs, its measurements are read.
    let graded = grade_attack(&attack, &["--no-strict", OBSERVE], Some(&marker));
    let exercise = &graded.report().exercises[0];
    let tests = &exercise.tests.tests;
    let failures: Vec<_> = tests.iter().filter_map(|t| t.failure.clone()).collect();
    assert_eq!(failures, Vec::<String>::new(), "{}", graded.build_error());
    assert!(!exercise.observations.is_empty());
    for observation in &exercise.observations {
        let state = serde_json::to_string(&observation.state).unwrap();
        assert!(
            !state.contains("not_measured"),
            "{}: {state}",
            observation.id
        );
    }
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit_and_dies_with_the_run() {
    let marker = marker();
    // As many processes as it can start, at most 4096; it says how many.
    let first = format!(
        "    let mut started = 0;
    while started < 4096 && std::process::Command::new(\"sleep\").arg({marker:?}).spawn().is_ok() {{
        started += 1;
    }}
    panic!(\"started {{started}} processes\");"
    );
    let attack = Attack::on(Base::Stub).first(&first);
    let graded = grade_attack(&attack, &[], Some(&marker));
    assert_eq!(graded.score(), 0.0);
    let started: Vec<usize> = graded.report().exercises[0]
        .tests
        .tests
        .iter()
        .filter_map(|t| t.failure.as_deref())
        .filter_map(|f| f.split("started ").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(!started.is_empty(), "the bomb ran");
    // 512 processes (threads included) per user: the test's own count too.
    assert!(started.iter().all(|n| *n < 512), "{started:?}");
}

#[test]
fn a_run_that_fills_the_disk_is_stopped_and_cleaned_up() {
    let marker = marker();
    // 64 MiB files into its temporary directory until a write fails (or it
    // is killed); it says how much it wrote.
    let first = format!(
        "    let dir = std::env::temp_dir();
    let block = vec![7u8; 64 << 20];
    let mut written = 0usize;
    for i in 0..256 {{
        if std::fs::write(dir.join(format!(\"fill-{marker}-{{i}}\")), &block).is_err() {{
            break;
        }}
        written += block.len();
    }}
    panic!(\"wrote {{}} MiB\", written >> 20);"
    );
    let attack = Attack::on(Base::Stub).first(&first);
    let graded = grade_attack(&attack, &[], None);
    assert_eq!(graded.score(), 0.0);
    for test in &graded.report().exercises[0].tests.tests {
        let failure = test.failure.clone().unwrap_or_default();
        if failure.contains("not yet implemented") {
            continue; // a stub's todo!(), before any attack
        }
        let wrote: Option<usize> = failure
            .split("wrote ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next()?.parse().ok());
        match wrote {
            // bubblewrap's /tmp is a 256 MiB tmpfs; the uid box kills a run
            // past 512 MiB, so one that got to say so wrote less.
            Some(mib) => assert!(mib <= 512, "{failure}"),
            None => assert!(
                failure.contains("signal 9") || failure.contains("timed out"),
                "{failure}"
            ),
        }
    }
    let left: Vec<_> = walkdir::WalkDir::new("/tmp")
        .max_depth(3)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(&format!("fill-{marker}"))
        })
        .map(|e| e.path().display().to_string())
        .collect();
    assert_eq!(left, Vec::<String>::new(), "what it wrote stays");
}

#[test]
fn strict_grading_is_refused_without_the_sandbox() {
    // No bwrap on PATH (cargo is found through $CARGO, set by cargo test),
    // and, as root, no CAP_SETUID for the uid box.
    let submission = Attack::on(Base::Stub).write();
    let course = instructor_course().join("course.yaml");
    let root = nix::unistd::geteuid().is_root();
    let mut command = as_these_tests_run("/usr/bin/env");
    command.arg("PATH=/nonexistent");
    if root {
        command.args(["/usr/bin/setpriv", "--bounding-set", "-setuid,-setgid"]);
    }
    let output = command.arg(env!("CARGO_BIN_EXE_grader"));
    let output = output
        .arg("grade")
        .arg("--course")
        .arg(&course)
        .arg("--submission")
        .arg(submission.path())
        .args(["-e", "ex01", "--no-observations"])
        .timeout(GRADING_TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--strict grading needs the sandbox"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not isolated: bubblewrap (bwrap) is not installed"),
        "{stderr}"
    );
    let uid_box = if root {
        "the uid box cannot switch to a user of its own"
    } else {
        "the uid box needs the grader to run as root"
    };
    assert!(stderr.contains(uid_box), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one line: {stderr}");
}
