//! The instructor self-check, run by `cargo test` at the root: course.yaml
//! matches the harnesses, every exercise follows the conventions of
//! ARCHITECTURE.md's "Add an exercise" (tests/conventions.rs breaks each),
//! the reference solutions earn every point (bar observations this machine
//! has too few cores for), and the stubs compile and earn no test points.
//! `grader check` measures a failing observation again before it counts, so
//! a noisy machine does not fail this test.

use assert_cmd::Command;
use std::path::Path;

#[test]
fn the_course_checks_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::cargo_bin("grader")
        .unwrap()
        .current_dir(root)
        .env_remove("COURSE_TIME_UNIT_MS")
        .env_remove("COURSE_REPEATS")
        .env("NO_COLOR", "1")
        .args(["check", "--course"])
        .arg(root.join("course.yaml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`grader check` failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
