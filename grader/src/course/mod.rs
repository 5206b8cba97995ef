//! The course model: `course.yaml`, loaded, checked, and checked against the
//! exercise directories it names.
//!
//! Every problem is a [`CourseError`] that names the file, the line and column
//! and what was expected, e.g.
//! `course.yaml:12:5: exercises[1].observations[0]: unknown field `pointz`, expected one of ...`.

mod find;
mod validate;

use validate::Validator;

pub use find::{find_course, load_course};

use crate::model::MachineLimitRule;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use protocol::observe::HARNESS_PATH;

/// The whole course.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    pub title: String,
    pub defaults: Defaults,
    pub exercises: Vec<Exercise>,
    /// The course file as it was named (for messages).
    #[serde(skip)]
    file: PathBuf,
    /// The absolute directory course.yaml's paths are relative to.
    #[serde(skip)]
    root: PathBuf,
}

/// Settings every exercise shares unless the command line says otherwise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// The time unit the harnesses run with, unless `COURSE_TIME_UNIT_MS` is
    /// set; `common`'s default when course.yaml does not say.
    #[serde(default = "default_time_unit_ms")]
    pub time_unit_ms: f64,
    /// Measured runs per timing, after a warm-up run.
    pub repeats: usize,
    /// `(median - min) / min` above this turns a failed check inconclusive.
    pub max_spread: f64,
    /// The most one test may take; below it each test's limit follows the
    /// reference's time (`runner::timeouts`).
    pub test_timeout_seconds: f64,
    /// The most one harness run may take; below it the limit follows the
    /// reference harness's time.
    pub observe_timeout_seconds: f64,
    /// The cores' worth of CPU other programs may use while a timing is
    /// measured before the machine counts as busy.
    #[serde(default = "default_busy_limit")]
    pub busy_other_cores: f64,
    /// The fraction of the time tasks may wait for a CPU while a timing is
    /// measured before the machine counts as busy.
    #[serde(default = "default_busy_limit")]
    pub busy_cpu_pressure: f64,
    /// Seconds per exercise that measuring unsettled observations again
    /// (and the reference solution beside them) may take.
    #[serde(default = "default_remeasure_budget")]
    pub remeasure_budget_seconds: f64,
    /// Whether the points of observations the grading machine could not
    /// judge (skipped, inconclusive) stay in the maximum as 0 or leave it.
    #[serde(default)]
    pub machine_limit_points: MachineLimitRule,
}

fn default_remeasure_budget() -> f64 {
    60.0
}

fn default_busy_limit() -> f64 {
    0.1
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// The package name, e.g. `ex02`.
    pub id: String,
    /// The crate's directory, relative to course.yaml.
    pub dir: PathBuf,
    pub title: String,
    /// Shared evenly by the exercise's tests.
    pub test_points: f64,
    #[serde(default)]
    pub hints: Vec<String>,
    /// Files of the exercise (relative to `dir`) that students are given
    /// complete, such as a driver program. A submission's copies are ignored:
    /// harnesses may build on them.
    #[serde(default)]
    pub given: Vec<PathBuf>,
    /// The lesson starts processes: `std::process::Command` in the
    /// student's code is expected, not flagged.
    #[serde(default)]
    pub starts_processes: bool,
    #[serde(default)]
    pub observations: Vec<Observation>,
}

impl Exercise {
    /// The instructor's integration test file, relative to the course root:
    /// `tests/<id>.rs` in the exercise's directory.
    pub fn test_file(&self) -> PathBuf {
        self.dir.join("tests").join(format!("{}.rs", self.id))
    }

    /// The observation harness, relative to the course root.
    pub fn harness_file(&self) -> PathBuf {
        self.dir.join(HARNESS_PATH)
    }

    /// The given files, relative to the course root.
    pub fn given_files(&self) -> Vec<PathBuf> {
        self.given.iter().map(|f| self.dir.join(f)).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub id: String,
    /// What the observation claims, in one sentence.
    pub claim: String,
    pub points: f64,
    /// Fewer cores than this and the observation is skipped.
    #[serde(default = "one")]
    pub min_cores: usize,
    pub checks: Vec<Check>,
    /// Shown when the observation does not pass.
    pub hint: String,
    /// Overrides `defaults.max_spread` for this observation.
    #[serde(default)]
    pub max_spread: Option<f64>,
    /// The id of the observation of the same exercise this one builds on:
    /// while that one fails, this one's numbers mean little, and its advice
    /// is to fix that one first (`judge::prerequisites`).
    #[serde(default)]
    pub after: Option<String>,
    /// Tests of the exercise's test file that check the same claim without
    /// timing, in the tests' (debug) build: the observation passes only when
    /// they pass too, so code that behaves one way in the harness's release
    /// build and another in the tests' gains nothing from it.
    #[serde(default)]
    pub tested_by: Vec<String>,
}

/// One comparison: `min(metric) / min(per)` (or `min(metric)`) against bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub metric: String,
    #[serde(default)]
    pub per: Option<String>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
}

fn one() -> usize {
    1
}

fn default_time_unit_ms() -> f64 {
    common::DEFAULT_TIME_UNIT_MS as f64
}

impl Course {
    /// Read, parse and validate `path`, including the exercise directories
    /// and harnesses it names.
    pub fn load(path: &Path) -> Result<Course, CourseError> {
        let source = std::fs::read_to_string(path).map_err(|e| CourseError {
            file: path.to_owned(),
            line: None,
            message: format!("cannot read the course file: {e}"),
        })?;
        let root = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut course = Course::parse(path, &source)?;
        course.validate(path, &source, Some(root))?;
        // Absolute, because cargo runs in other directories.
        course.root = root.canonicalize().map_err(|e| CourseError {
            file: path.to_owned(),
            line: None,
            message: format!("cannot find the course directory {}: {e}", root.display()),
        })?;
        course.file = path.to_owned();
        Ok(course)
    }

    /// The course file as it was named on the command line (or found).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The absolute directory course.yaml's paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Parse `source` (read from `file`) without looking at the disk.
    pub fn parse(file: &Path, source: &str) -> Result<Course, CourseError> {
        if source
            .trim()
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Err(CourseError {
                file: file.to_owned(),
                line: None,
                message:
                    "the file is empty; expected a mapping with `title`, `defaults` and `exercises`"
                        .to_owned(),
            });
        }
        serde_yaml::from_str(source).map_err(|e| CourseError::from_yaml(file, &e))
    }

    /// Check what serde cannot: unique ids, sensible bounds and, when `root`
    /// is given, that each exercise directory is a crate with tests and a
    /// harness that records the metrics its checks name.
    pub fn validate(
        &self,
        file: &Path,
        source: &str,
        root: Option<&Path>,
    ) -> Result<(), CourseError> {
        let v = Validator { file, source, root };
        v.defaults(&self.defaults)?;
        if self.exercises.is_empty() {
            return Err(v.error(
                "exercises".into(),
                &[],
                "exercises",
                "expected at least one exercise".into(),
            ));
        }
        let mut exercise_ids = HashSet::new();
        for (i, ex) in self.exercises.iter().enumerate() {
            let path = format!("exercises[{i}]");
            if !exercise_ids.insert(ex.id.as_str()) {
                let message = format!("duplicate exercise id `{}`", ex.id);
                return Err(v.error(format!("{path}.id"), &[&ex.id], "id", message));
            }
            v.exercise(&path, ex)?;
        }
        Ok(())
    }

    /// The exercises with these ids, in course order; all of them when `ids`
    /// is empty. An unknown id is an error that lists the known ones.
    pub fn select(&self, ids: &[String]) -> Result<Vec<&Exercise>, UnknownExercise> {
        for id in ids {
            self.exercise(id)?;
        }
        Ok(self
            .exercises
            .iter()
            .filter(|e| ids.is_empty() || ids.contains(&e.id))
            .collect())
    }

    /// The exercise with this id; an unknown id is an error that lists the
    /// known ones.
    pub fn exercise(&self, id: &str) -> Result<&Exercise, UnknownExercise> {
        self.exercises
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| UnknownExercise {
                id: id.to_owned(),
                known: self.exercises.iter().map(|e| e.id.clone()).collect(),
            })
    }
}

impl Exercise {
    /// Points for tests and observations together.
    pub fn max_points(&self, with_observations: bool) -> f64 {
        let observations: f64 = self.observations.iter().map(|o| o.points).sum();
        self.test_points + if with_observations { observations } else { 0.0 }
    }
}

/// An exercise id the course does not have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no exercise `{id}` in the course; known: {}", known.join(", "))]
pub struct UnknownExercise {
    pub id: String,
    pub known: Vec<String>,
}

/// A problem with course.yaml: where, and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), location(*line))]
pub struct CourseError {
    pub file: PathBuf,
    /// 1-based line and column.
    pub line: Option<(usize, usize)>,
    pub message: String,
}

impl CourseError {
    fn from_yaml(file: &Path, e: &serde_yaml::Error) -> CourseError {
        let line = e.location().map(|l| (l.line(), l.column()));
        // The location goes in front, so drop serde's own " at line N column M".
        let mut message = e.to_string();
        while let Some(start) = message.find(" at line ") {
            let rest = &message[start + " at line ".len()..];
            let end = rest
                .find(" column ")
                .map(|c| c + " column ".len())
                .map(|c| {
                    c + rest[c..]
                        .find(|ch: char| !ch.is_ascii_digit())
                        .unwrap_or(rest.len() - c)
                })
                .unwrap_or(0);
            message.replace_range(start..start + " at line ".len() + end, "");
        }
        if message.starts_with(". ") {
            message.drain(..2);
        }
        CourseError {
            file: file.to_owned(),
            line,
            message,
        }
    }
}

/// `:line:column`, or nothing when the place is unknown.
fn location(line: Option<(usize, usize)>) -> String {
    line.map(|(line, column)| format!(":{line}:{column}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::validate::harness_mentions;
    use super::*;

    const MINIMAL: &str = "\
title: T
defaults:
  time_unit_ms: 50
  repeats: 3
  max_spread: 0.25
  test_timeout_seconds: 60
  observe_timeout_seconds: 180
exercises:
  - id: ex01
    dir: exercises/ex01
    title: One
    test_points: 10
    observations:
      - id: fast
        claim: It is fast.
        points: 2
        checks:
          - { metric: a_seconds, per: unit, at_most: 3 }
        hint: Go faster.
";

    fn parse(source: &str) -> Result<Course, CourseError> {
        let course = Course::parse(Path::new("course.yaml"), source)?;
        course.validate(Path::new("course.yaml"), source, None)?;
        Ok(course)
    }

    #[test]
    fn a_minimal_course_parses_with_defaults() {
        let course = parse(MINIMAL).unwrap();
        let obs = &course.exercises[0].observations[0];
        assert_eq!(obs.min_cores, 1);
        assert_eq!(obs.max_spread, None);
        assert_eq!(obs.checks[0].per.as_deref(), Some("unit"));
        assert_eq!(course.exercises[0].max_points(true), 12.0);
    }

    #[test]
    fn an_unknown_field_names_line_column_and_the_expected_fields() {
        let e = parse(&MINIMAL.replace("points: 2", "pointz: 2"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("course.yaml:16:9: exercises[0].observations[0]: unknown field `pointz`, expected one of"), "{e}");
        assert!(!e.contains("at line"), "{e}");
    }

    #[test]
    fn a_wrong_type_names_where() {
        let e = parse(&MINIMAL.replace("test_points: 10", "test_points: ten"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("course.yaml:12:18: exercises[0].test_points: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn empty_and_non_yaml_files_are_errors() {
        assert!(parse("")
            .unwrap_err()
            .to_string()
            .contains("the file is empty"));
        assert!(parse("# only a comment\n")
            .unwrap_err()
            .to_string()
            .contains("the file is empty"));
        let e = parse("title: [unclosed\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = parse("just a sentence\n").unwrap_err().to_string();
        assert!(e.contains("expected struct Course"), "{e}");
    }

    #[test]
    fn semantic_problems_are_located() {
        let e = parse(&MINIMAL.replace("at_most: 3", "at_least: 4, at_most: 3"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "course.yaml:18:15: exercises[0].observations[0].checks[0]: at_least (4) is above at_most (3)");
        let e = parse(&MINIMAL.replace(", at_most: 3", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a bound"), "{e}");
        let twice = format!(
            "{MINIMAL}{}",
            &MINIMAL[MINIMAL.find("  - id: ex01").unwrap()..]
        );
        let e = parse(&twice).unwrap_err().to_string();
        assert!(
            e.contains("exercises[1].id: duplicate exercise id `ex01`"),
            "{e}"
        );
        let e = parse(&MINIMAL.replace("test_points: 10", "test_points: 10.1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number of 1/64 points"), "{e}");
        let e = parse(&MINIMAL.replace("points: 2", "points: -1"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("course.yaml:16:9: exercises[0].observations[0].points"),
            "{e}"
        );
    }

    #[test]
    fn after_names_an_earlier_or_later_observation_never_itself_or_a_circle() {
        let second = "
      - id: scales
        claim: It scales.
        points: 1
        checks:
          - { metric: b_seconds, per: unit, at_least: 1 }
        hint: Scale.
";
        let two = format!("{MINIMAL}{second}");
        let with = |fast_after: &str, scales_after: &str| {
            let text = two
                .replace(
                    "        claim: It is fast.\n",
                    &format!("        claim: It is fast.\n{fast_after}"),
                )
                .replace(
                    "        claim: It scales.\n",
                    &format!("        claim: It scales.\n{scales_after}"),
                );
            parse(&text).map(|c| c.exercises[0].observations[0].after.clone())
        };
        assert_eq!(
            with("        after: scales\n", "").unwrap().as_deref(),
            Some("scales")
        );
        let e = with("        after: nothing\n", "")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "course.yaml:16:9: exercises[0].observations[0].after: `nothing` is no observation of ex01 (it has: fast, scales)"
        );
        let e = with("        after: fast\n", "").unwrap_err().to_string();
        assert!(e.ends_with("in a circle: fast -> fast"), "{e}");
        let e = with("        after: scales\n", "        after: fast\n")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("in a circle: fast -> scales -> fast"), "{e}");
    }

    #[test]
    fn machine_limit_points_are_kept_as_zero_unless_course_yaml_says() {
        let course = parse(MINIMAL).unwrap();
        assert_eq!(
            course.defaults.machine_limit_points,
            MachineLimitRule::KeepAsZero
        );
        let leave = MINIMAL.replace(
            "  repeats: 3\n",
            "  repeats: 3\n  machine_limit_points: leave_out\n",
        );
        assert_eq!(
            parse(&leave).unwrap().defaults.machine_limit_points,
            MachineLimitRule::LeaveOut
        );
        let e = parse(&MINIMAL.replace(
            "  repeats: 3\n",
            "  repeats: 3\n  machine_limit_points: drop\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("course.yaml:5:25: defaults.machine_limit_points: unknown variant `drop`, expected `keep_as_zero` or `leave_out`"),
            "{e}"
        );
    }

    #[test]
    fn metrics_are_matched_as_whole_words() {
        assert!(harness_mentions("o.time(\"a_seconds\", f)", "a_seconds"));
        assert!(!harness_mentions("o.time(\"a_seconds_2\", f)", "a_seconds"));
        assert!(harness_mentions("", "unit"));
    }

    #[test]
    fn select_keeps_course_order_and_rejects_unknown_ids() {
        let course = parse(MINIMAL).unwrap();
        assert_eq!(course.select(&[]).unwrap().len(), 1);
        let e = course.select(&["ex09".into()]).unwrap_err().to_string();
        assert_eq!(e, "no exercise `ex09` in the course; known: ex01");
    }
}
