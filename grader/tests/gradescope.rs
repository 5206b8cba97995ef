//! `grader gradescope`: the autograder zip, unpacked into a directory that
//! stands in for `/autograder`, set up and run end to end as Gradescope would:
//! on a submission that cannot be graded, on the reference solutions, on the
//! stubs and on an attack. results.json is checked against Gradescope's
//! specification.
//!
//! As root (CI), grading runs as Gradescope's would: as the unprivileged
//! `autograder-student` that setup.sh creates, with the toolchain setup.sh
//! shares with it (cargo here lives in root's closed home). As another user,
//! setup.sh cannot create users: grading runs as this test's user
//! (`AUTOGRADER_USER` empty), and the test says so.
//!
//! Gradescope runs the autograder in a default Docker container, where no
//! namespace can be made: the same zip is also set up and run under
//! `../shared/tools/dockerlike`, where root grades and student code goes
//! into the grader's uid box; and where even that box cannot work (no
//! CAP_SETUID), setup.sh must fail and say why.
#![cfg(target_os = "linux")] // Gradescope's images are Linux, and so are its boxes

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

mod support;
use support::{copy_tree, dockerlike, dockerlike_unavailable, repo_root};

/// The user setup.sh makes the grading user by default.
const GRADING_USER: &str = "autograder-student";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Where the autograder's scripts run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    /// This machine as it is.
    Plain,
    /// A default Docker container (`dockerlike`), as Gradescope runs them.
    Dockerlike,
    /// One where root may not switch users either: no box can work.
    DockerlikeWithoutSetuid,
}

/// `bash SCRIPT ARGS` with `/autograder` at `autograder`, in `container`;
/// as root, grading runs as [`GRADING_USER`] (the default), else as this
/// test's user.
fn script(autograder: &Path, script: &str, container: Container) -> Command {
    let mut cmd = match container {
        Container::Plain => Command::new("bash"),
        Container::Dockerlike => {
            let mut cmd = Command::new(dockerlike());
            cmd.arg("bash");
            cmd
        }
        Container::DockerlikeWithoutSetuid => {
            let mut cmd = Command::new(dockerlike());
            cmd.args(["setpriv", "--bounding-set", "-setuid,-setgid", "bash"]);
            cmd
        }
    };
    cmd.arg(autograder.join(script))
        .current_dir(autograder)
        .env("AUTOGRADER_ROOT", autograder);
    if is_root() {
        cmd.env_remove("AUTOGRADER_USER");
    } else {
        cmd.env("AUTOGRADER_USER", "");
    }
    cmd
        // The grader's own build is kept between runs of this test.
        .env(
            "CARGO_TARGET_DIR",
            repo_root().join("target/gradescope-check"),
        )
        .env_remove("COURSE_TIME_UNIT_MS")
        .env("NO_COLOR", "1");
    cmd
}

/// Unzip as Gradescope does: the zip into `source/`, run_autograder beside it.
fn unpack(zip_path: &Path, autograder: &Path) {
    let file = fs::File::open(zip_path).unwrap();
    zip::ZipArchive::new(file)
        .unwrap()
        .extract(autograder.join("source"))
        .unwrap();
    fs::copy(
        autograder.join("source/run_autograder"),
        autograder.join("run_autograder"),
    )
    .unwrap();
}

fn results(autograder: &Path) -> Value {
    let path = autograder.join("results/results.json");
    let text = fs::read_to_string(&path).expect("run_autograder always writes results.json");
    fs::remove_file(&path).unwrap();
    serde_json::from_str(&text).expect("results.json is JSON")
}

/// run_autograder on `submission` (none: an empty upload), timed.
fn run(autograder: &Path, label: &str, submission: Option<&Path>) -> Value {
    run_in(autograder, label, submission, Container::Plain)
}

/// [`run`] in `container`.
fn run_in(
    autograder: &Path,
    label: &str,
    submission: Option<&Path>,
    container: Container,
) -> Value {
    let dir = autograder.join("submission");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    if let Some(from) = submission {
        copy_tree(from, &dir);
    }
    let started = Instant::now();
    script(autograder, "run_autograder", container)
        .assert()
        .success();
    eprintln!(
        "run_autograder on {label}: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    results(autograder)
}

/// A student repository holding the reference solutions' sources.
fn reference_submission(into: &Path) {
    for entry in fs::read_dir(repo_root().join("solutions")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            let name = src.parent().unwrap().file_name().unwrap();
            copy_tree(&src, &into.join("exercises").join(name).join("src"));
        }
    }
}

/// What Gradescope's specification asks of results.json, and that the
/// tests' scores add up to the total.
fn check_spec(results: &Value) -> Vec<&Value> {
    assert_eq!(results["output_format"], "text", "{results}");
    assert!(results["output"].as_str().is_some_and(|o| !o.is_empty()));
    let score = results["score"].as_f64().expect("a numeric score");
    let tests = results["tests"].as_array().expect("a tests array");
    let mut sum = 0.0;
    for test in tests {
        assert!(
            test["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{test}"
        );
        let (got, max) = (
            test["score"].as_f64().unwrap(),
            test["max_score"].as_f64().unwrap(),
        );
        assert!((0.0..=max + 1e-9).contains(&got), "{test}");
        match test.get("status") {
            // Left out for what the machine could not judge, and said so.
            None => assert!(
                test["output"]
                    .as_str()
                    .is_some_and(|o| o.contains("machine")),
                "{test}"
            ),
            Some(status) => assert!(["passed", "failed"].contains(&status.as_str().unwrap())),
        }
        assert!(["visible", "hidden", "after_due_date", "after_published"]
            .contains(&test["visibility"].as_str().unwrap()));
        assert!(test["output"].is_string());
        sum += got;
    }
    assert!(
        (sum - score).abs() < 1e-6,
        "tests add up to {sum}, score is {score}"
    );
    tests.iter().collect()
}

/// ex01's first function, in the stubs.
const FIRST_FUNCTION: &str = "pub fn do_science(x: u64) -> u64 {";

/// An attack on run_autograder, from ex01's stub: it reports the user its
/// code runs as (in a test's panic message, which results.json shows),
/// writes a forged results.json where Gradescope reads it, and leaves two
/// processes behind: one in a new session, one that keeps rewriting
/// results.json. Both carry `marker` in their command line.
fn attack_submission(into: &Path, results_json: &Path, marker: &str) {
    const EX01: &str = "exercises/ex01-serial-map";
    copy_tree(
        &repo_root().join(EX01).join("src"),
        &into.join(EX01).join("src"),
    );
    let lib = into.join(EX01).join("src/lib.rs");
    let text = fs::read_to_string(&lib).unwrap();
    assert_eq!(
        text.matches(FIRST_FUNCTION).count(),
        1,
        "{FIRST_FUNCTION:?}"
    );
    let probe = format!(
        r#"
const RESULTS: &str = {results:?};
const MARKER: &str = {marker:?};
fn probe() {{
    use std::os::unix::fs::MetadataExt;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {{
        let forge = format!("while :; do echo '{{{{\"score\": 96, \"tests\": []}}}}' > {{RESULTS}}; sleep 0.2; done # {{MARKER}}");
        let _ = std::process::Command::new("setsid").args(["-f", "sh", "-c", &forge]).status();
        let _ = std::process::Command::new("setsid").args(["-f", "sleep", MARKER]).status();
    }});
    let forged = std::fs::write(RESULTS, "{{\"score\": 96}}").is_ok();
    let mine = std::env::temp_dir().join("whoami");
    let _ = std::fs::write(&mine, "");
    let uid = std::fs::metadata(&mine).map(|m| m.uid()).unwrap_or(u32::MAX);
    panic!("probe: uid {{uid}}, results.json written: {{forged}}");
}}
{FIRST_FUNCTION}
    probe();
"#,
        results = results_json.display().to_string(),
    );
    fs::write(&lib, text.replacen(FIRST_FUNCTION, &probe, 1)).unwrap();
}

/// Processes whose command line holds `marker`, killed (so that a failing
/// test leaves none behind either).
fn survivors(marker: &str) -> Vec<String> {
    // A process killed as run_autograder ended leaves /proc a moment later.
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
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// The uid of `user`.
fn uid_of(user: &str) -> u32 {
    nix::unistd::User::from_name(user)
        .unwrap()
        .unwrap_or_else(|| panic!("no user {user}"))
        .uid
        .as_raw()
}

/// Run setup.sh, timed; the uid student code should run as.
fn set_up(autograder: &Path) -> u32 {
    let started = Instant::now();
    script(autograder, "source/setup.sh", Container::Plain)
        .assert()
        .success();
    eprintln!("setup.sh: {:.0} s", started.elapsed().as_secs_f64());
    let grading_user = fs::read_to_string(autograder.join("source/grading-user")).unwrap();
    if is_root() {
        assert_eq!(grading_user.trim(), GRADING_USER, "setup.sh fell back");
        eprintln!("grading as the unprivileged {GRADING_USER} (this test runs as root)");
        uid_of(GRADING_USER)
    } else {
        assert_eq!(grading_user.trim(), "");
        eprintln!(
            "grading as this test's user: not root, so setup.sh cannot create {GRADING_USER}; \
             the unprivileged path runs only when this test runs as root (as in CI)"
        );
        nix::unistd::getuid().as_raw()
    }
}

/// Runs that could not grade: 0 of the course's maximum.
fn check_zero_of_the_maximum(ungraded: &[&Value]) {
    let maximum = grader::release::course_maximum(&support::course());
    for results in ungraded {
        assert_eq!(results["score"], 0.0, "{results}");
        let max = results["tests"][0]["max_score"].as_f64();
        assert_eq!(max, Some(maximum), "{results}");
    }
}

/// The stubs: valid results, no points, and each failure says why.
fn check_stubs(stubs: &Value) {
    let tests = check_spec(stubs);
    assert_eq!(stubs["score"], 0.0, "{stubs}");
    for test in tests.iter().filter(|t| t["status"] == "failed") {
        assert!(
            !test["output"].as_str().unwrap().trim().is_empty(),
            "{test}"
        );
    }
    assert!(
        tests
            .iter()
            .any(|t| t["output"].as_str().unwrap().contains("see README.md")),
        "a stub's todo!() message reaches the student: {stubs}"
    );
}

/// The attack: its code ran as `uid`, could not write results.json, and
/// earned nothing.
fn check_attack(attacked: &Value, uid: u32) {
    let ran_as = attack_ran_as(attacked);
    assert_eq!(ran_as, uid, "student code ran as uid {uid}");
}

/// The uid the attack's code ran as; checks that it could not write
/// results.json and earned nothing.
fn attack_ran_as(attacked: &Value) -> u32 {
    check_spec(attacked);
    assert_eq!(attacked["score"], 0.0, "{attacked}");
    let probe = attacked["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["output"].as_str())
        .find_map(|o| o.split("probe: ").nth(1))
        .unwrap_or_else(|| panic!("the attack's probe ran: {attacked}"));
    let (uid, written) = probe
        .strip_prefix("uid ")
        .and_then(|rest| rest.split_once(", results.json written: "))
        .unwrap_or_else(|| panic!("{probe}"));
    assert!(
        written.starts_with("false"),
        "student code could not write results.json: {probe}"
    );
    uid.parse().unwrap()
}

/// The reference solutions: every test passes; an observation that does not
/// is only ever the machine's limit, never a failure.
fn check_reference(graded: &Value) {
    for test in check_spec(graded) {
        let output = test["output"].as_str().unwrap();
        if test["status"] == "failed" {
            assert!(
                output.contains("skipped") || output.contains("inconclusive"),
                "the reference failed {test}"
            );
        }
    }
    let tests_only: f64 = graded["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["tags"][1] == "test")
        .map(|t| t["score"].as_f64().unwrap() - t["max_score"].as_f64().unwrap())
        .sum();
    assert!(tests_only.abs() < 1e-9, "the reference lost test points");
}

/// A directory for one run of the autograder: the zip written and
/// unpacked into `autograder/` as Gradescope does; returns it.
fn autograder_in(dir: &Path) -> std::path::PathBuf {
    // The grading user reaches the stand-in for /autograder (a temporary
    // directory is closed to others).
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let zip_path = dir.join("autograder.zip");
    Command::cargo_bin("grader")
        .unwrap()
        .current_dir(repo_root())
        .args(["gradescope", "--out"])
        .arg(&zip_path)
        .assert()
        .success();
    let size = fs::metadata(&zip_path).unwrap().len();
    eprintln!("autograder.zip: {:.2} MB", size as f64 / 1e6);
    let autograder = dir.join("autograder");
    unpack(&zip_path, &autograder);
    assert!(!autograder.join("source/course/solutions").exists());
    autograder
}

/// Why the dockerlike tests cannot run here, said; `true` when they can.
fn dockerlike_here() -> bool {
    if !is_root() {
        eprintln!("skipped: a default Docker container's processes are root; this test is not");
        return false;
    }
    if let Some(why) = dockerlike_unavailable() {
        eprintln!("skipped: ../shared/tools/dockerlike cannot run here ({why})");
        return false;
    }
    true
}

#[test]
fn the_autograder_grades_in_a_default_docker_container() {
    if !dockerlike_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let autograder = autograder_in(dir.path());
    let started = Instant::now();
    let setup = script(&autograder, "source/setup.sh", Container::Dockerlike)
        .assert()
        .success();
    let log = String::from_utf8_lossy(&setup.get_output().stdout).into_owned();
    eprintln!(
        "setup.sh in the container: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let grading_user = fs::read_to_string(autograder.join("source/grading-user")).unwrap();
    assert_eq!(grading_user.trim(), "", "no namespaces: root grades\n{log}");

    let marker = format!("{}", 860_000 + std::process::id() % 10_000);
    let attack = dir.path().join("attack");
    attack_submission(&attack, &autograder.join("results/results.json"), &marker);
    let attacked = run_in(
        &autograder,
        "an attack",
        Some(&attack),
        Container::Dockerlike,
    );
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes outlived run_autograder"
    );
    let uid = attack_ran_as(&attacked);
    assert!(
        uid != 0 && nix::unistd::User::from_uid(uid.into()).unwrap().is_none(),
        "student code ran as a user of its own, not {uid}"
    );
    let output = attacked["output"].as_str().unwrap();
    assert!(output.contains("uid box"), "{output}");

    let reference = dir.path().join("reference");
    reference_submission(&reference);
    check_reference(&run_in(
        &autograder,
        "the reference solutions",
        Some(&reference),
        Container::Dockerlike,
    ));
}

#[test]
fn setup_fails_where_no_box_can_work() {
    if !dockerlike_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let autograder = autograder_in(dir.path());
    let setup = script(
        &autograder,
        "source/setup.sh",
        Container::DockerlikeWithoutSetuid,
    )
    .assert()
    .failure();
    let output = setup.get_output();
    let log = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    for why in [
        "--strict grading needs the sandbox",
        "bubblewrap cannot create its namespaces here",
        "the uid box cannot switch to a user of its own",
        "error: the grader cannot grade in this image",
    ] {
        assert!(log.contains(why), "{why:?} in:\n{log}");
    }
}

#[test]
fn the_autograder_grades_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let autograder = autograder_in(dir.path());

    // Before setup there is no grader: results.json still says why.
    let unset = run(&autograder, "an unfinished setup", None);
    assert_eq!(unset["score"], 0.0);
    assert!(
        unset["output"].as_str().unwrap().contains("setup.sh"),
        "{unset}"
    );

    let uid = set_up(&autograder);

    // A submission without the repository's layout.
    let empty = run(&autograder, "an empty upload", None);
    check_spec(&empty);
    check_zero_of_the_maximum(&[&unset, &empty]);
    assert!(
        empty["output"].as_str().unwrap().contains("exercises/"),
        "{empty}"
    );

    let stubs_repo = dir.path().join("stubs");
    copy_tree(
        &repo_root().join("exercises"),
        &stubs_repo.join("exercises"),
    );
    check_stubs(&run(&autograder, "the stubs", Some(&stubs_repo)));

    // Nothing the attack started outlives run_autograder.
    let marker = format!("{}", 870_000 + std::process::id() % 10_000);
    let attack = dir.path().join("attack");
    attack_submission(&attack, &autograder.join("results/results.json"), &marker);
    let attacked = run(&autograder, "an attack", Some(&attack));
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "processes outlived run_autograder"
    );
    check_attack(&attacked, uid);
    if is_root() {
        assert_ne!(uid, 0);
    }

    let reference = dir.path().join("reference");
    reference_submission(&reference);
    check_reference(&run(
        &autograder,
        "the reference solutions",
        Some(&reference),
    ));
}
