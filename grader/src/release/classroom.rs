//! GitHub Classroom's workflow, which `grader release` writes into the
//! student repository: Classroom's own shape (the name, the triggers, the
//! bot guard), Cargo.toml's toolchain installed, one grading whose results
//! go to Classroom's reporter and whose human report is printed in the same
//! step.
//!
//! Classroom records whatever the reporter hands it, so every way the run
//! can end hands it something: the grading's points, or 0 of the course's
//! maximum and why (the grader did not build, could not grade, or the
//! grading step never ran). Those results are written here, at release
//! time, when the course's maximum is known without the grader.

use crate::course::Course;
use crate::report::github::{could_not_grade, results_line, RUNNERS_VARIABLE};
use std::path::Path;

/// The runner the grading step names when it could not grade.
const GRADING_RUNNER: &str = "grading";
/// The runner the reporter falls back to when the grading step named none.
const NOT_RUN_RUNNER: &str = "notrun";

const NOT_BUILT: &str = "The grader did not build, so nothing was graded: see the errors in the Grade step of the Actions log.";
const NOT_GRADED: &str = "The grader could not grade this repository: see the error in the Grade step of the Actions log.";
const NOT_RUN: &str =
    "The Grade step did not run or did not finish, so nothing was graded: see the Actions log.";

/// The workflow for the course at `course_root`.
pub fn workflow(course_root: &Path, course: &Course) -> anyhow::Result<String> {
    let toolchain = super::toolchain(course_root)?;
    let max = super::course_maximum(course);
    let grading_line = |reason| results_line(GRADING_RUNNER, &could_not_grade(max, reason));
    let not_run = could_not_grade(max, NOT_RUN);
    let not_run = results_line(NOT_RUN_RUNNER, &not_run)?;
    let (variable, value) = not_run.trim_end().split_once('=').expect("NAME=value");
    Ok(WORKFLOW
        .replace("{toolchain}", &toolchain)
        .replace("{runners}", RUNNERS_VARIABLE)
        .replace("{grading}", GRADING_RUNNER)
        .replace("{not_built}", grading_line(NOT_BUILT)?.trim_end())
        .replace("{not_graded}", grading_line(NOT_GRADED)?.trim_end())
        .replace("{not_run_variable}", variable)
        .replace("{not_run_value}", value)
        .replace("{not_run}", NOT_RUN_RUNNER))
}

/// `shell: bash` runs the steps with `-eo pipefail`: every command that may
/// fail is guarded, so the step always ends through `could_not_grade` or
/// with the grading's results in `$GITHUB_ENV`. A cached `target/` may hold
/// an earlier run's report: it is removed first.
const WORKFLOW: &str = r#"name: Autograding Tests
'on':
- push
- workflow_dispatch
- repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    env:
      # Cargo.toml's rust-version, for every cargo below: the toolchain the
      # locked crates need.
      RUSTUP_TOOLCHAIN: "{toolchain}"
    steps:
    - name: Checkout code
      uses: actions/checkout@v4
    - name: Install Rust {toolchain}
      shell: bash
      run: |
        if ! command -v rustup >/dev/null 2>&1; then
          curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --no-modify-path --profile minimal --default-toolchain none
          echo "$HOME/.cargo/bin" >> "$GITHUB_PATH"
          export PATH="$HOME/.cargo/bin:$PATH"
        fi
        rustup toolchain install "$RUSTUP_TOOLCHAIN" --profile minimal
    - name: Cache cargo
      uses: actions/cache@v4
      with:
        path: |
          ~/.cargo/registry
          ~/.cargo/git
          target
        key: grader-${{ runner.os }}-rust-{toolchain}-${{ hashFiles('Cargo.lock') }}
    - name: Grade
      id: grader
      shell: bash
      run: |
        # 0 of the course's maximum and why, for the reporter; the step fails.
        could_not_grade() { # RESULTS_LINE MESSAGE
          echo "$2"
          { echo "{runners}={grading}"; echo "$1"; } >> "$GITHUB_ENV"
          exit 1
        }
        mkdir -p target
        rm -f target/grade.json target/github.env
        cargo build --release --locked -p grader ||
          could_not_grade "{not_built}" "The grader did not build: see the errors above."
        grader="${CARGO_TARGET_DIR:-target}/release/grader"
        # One grading: its JSON report becomes the human report in this log
        # and the results GitHub Classroom's reporter reads.
        status=0
        "$grader" grade --format json --out target/grade.json || status=$?
        [ -f target/grade.json ] ||
          could_not_grade "{not_graded}" "The grader could not grade this repository (exit code $status): see the error above."
        "$grader" report target/grade.json --format human || true
        "$grader" report target/grade.json --format github --out target/github.env ||
          could_not_grade "{not_graded}" "The grader could not write the results for GitHub Classroom: see the error above."
        cat target/github.env >> "$GITHUB_ENV"
    - name: Autograding Reporter
      # Also after a failed step: the points, or 0 and why, reach Classroom.
      if: always()
      uses: classroom-resources/autograding-grading-reporter@v1
      env:
        {not_run_variable}: "{not_run_value}"
      with:
        runners: ${{ env.{runners} || '{not_run}' }}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> (std::path::PathBuf, Course) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root.join("course.yaml")).unwrap();
        (root, course)
    }

    fn parsed() -> (String, serde_yaml::Value) {
        let (root, course) = course();
        let text = workflow(&root, &course).unwrap();
        let yaml = serde_yaml::from_str(&text).unwrap();
        (text, yaml)
    }

    #[test]
    fn the_workflow_has_classrooms_shape() {
        let (_, yaml) = parsed();
        assert_eq!(yaml["name"], "Autograding Tests");
        let on: Vec<_> = yaml["on"].as_sequence().unwrap().iter().collect();
        for trigger in ["push", "workflow_dispatch", "repository_dispatch"] {
            assert!(on.iter().any(|t| *t == trigger), "{trigger}");
        }
        let job = &yaml["jobs"]["run-autograding-tests"];
        assert_eq!(job["if"], "github.actor != 'github-classroom[bot]'");
        let steps = job["steps"].as_sequence().unwrap();
        let uses: Vec<_> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
        assert_eq!(
            uses,
            [
                "actions/checkout@v4",
                "actions/cache@v4",
                "classroom-resources/autograding-grading-reporter@v1"
            ]
        );
        let grade = steps.iter().find(|s| s["id"] == "grader").unwrap();
        let run = grade["run"].as_str().unwrap();
        assert!(run.contains("--format human") && run.contains("--format github"));
    }

    #[test]
    fn the_job_installs_and_uses_cargo_tomls_toolchain() {
        let (root, _) = course();
        let toolchain = crate::release::toolchain(&root).unwrap();
        let (_, yaml) = parsed();
        let job = &yaml["jobs"]["run-autograding-tests"];
        assert_eq!(job["env"]["RUSTUP_TOOLCHAIN"], toolchain.as_str());
        let steps = job["steps"].as_sequence().unwrap();
        let install = steps
            .iter()
            .position(|s| s["name"] == format!("Install Rust {toolchain}").as_str())
            .expect("a step installs the toolchain");
        let grade = steps.iter().position(|s| s["id"] == "grader").unwrap();
        assert!(install < grade);
        let run = steps[install]["run"].as_str().unwrap();
        assert!(run.contains("rustup toolchain install \"$RUSTUP_TOOLCHAIN\""));
    }

    #[test]
    fn the_reporter_always_gets_a_result() {
        let max = crate::release::course_maximum(&course().1);
        let (text, yaml) = parsed();
        let steps = yaml["jobs"]["run-autograding-tests"]["steps"]
            .as_sequence()
            .unwrap();
        let reporter = steps.last().unwrap();
        assert_eq!(reporter["if"], "always()");
        assert_eq!(
            reporter["with"]["runners"],
            "${{ env.GRADER_RUNNERS || 'notrun' }}"
        );
        let not_run = results_line(NOT_RUN_RUNNER, &could_not_grade(max, NOT_RUN)).unwrap();
        let (variable, value) = not_run.trim_end().split_once('=').unwrap();
        assert_eq!(reporter["env"][variable], value);
        for reason in [NOT_BUILT, NOT_GRADED] {
            let line = results_line(GRADING_RUNNER, &could_not_grade(max, reason)).unwrap();
            assert!(text.contains(line.trim_end()), "{reason}");
        }
    }
}
