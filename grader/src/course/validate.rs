//! course.yaml checked against itself and the tree: every error located by
//! line and column, so the instructor can go straight to it.

use super::{Check, CourseError, Defaults, Exercise, Observation};
use protocol::observe::{ALWAYS_RECORDED, HARNESS_PATH};
use std::collections::HashSet;
use std::path::Path;

/// Checks what serde cannot, locating each problem in the source.
pub(super) struct Validator<'a> {
    pub(super) file: &'a Path,
    pub(super) source: &'a str,
    pub(super) root: Option<&'a Path>,
}

impl Validator<'_> {
    /// A problem at `path` (e.g. `exercises[0].test_points`), located at
    /// `key` after the lines naming each of `anchors`.
    pub(super) fn error(
        &self,
        path: String,
        anchors: &[&str],
        key: &str,
        message: String,
    ) -> CourseError {
        CourseError {
            file: self.file.to_owned(),
            line: locate(self.source, anchors, key),
            message: format!("{path}: {message}"),
        }
    }

    pub(super) fn defaults(&self, d: &Defaults) -> Result<(), CourseError> {
        if d.repeats == 0 {
            let message = "must be at least 1".into();
            return Err(self.error("defaults.repeats".into(), &[], "repeats", message));
        }
        for (name, value) in [
            ("time_unit_ms", d.time_unit_ms),
            ("test_timeout_seconds", d.test_timeout_seconds),
            ("observe_timeout_seconds", d.observe_timeout_seconds),
            ("busy_other_cores", d.busy_other_cores),
            ("busy_cpu_pressure", d.busy_cpu_pressure),
            ("remeasure_budget_seconds", d.remeasure_budget_seconds),
        ] {
            if !(value.is_finite() && value > 0.0) {
                let message = format!("must be a positive number, found {value}");
                return Err(self.error(format!("defaults.{name}"), &[], name, message));
            }
        }
        if !(d.max_spread.is_finite() && d.max_spread >= 0.0) {
            let message = "must be zero or more".into();
            return Err(self.error("defaults.max_spread".into(), &[], "max_spread", message));
        }
        Ok(())
    }

    pub(super) fn exercise(&self, path: &str, ex: &Exercise) -> Result<(), CourseError> {
        let error = |key: &str, message: String| {
            self.error(format!("{path}.{key}"), &[&ex.id], key, message)
        };
        if !(ex.test_points.is_finite() && ex.test_points >= 0.0) {
            return Err(error("test_points", "must be zero or more".into()));
        }
        if (ex.test_points * 64.0).fract() != 0.0 {
            return Err(error("test_points", TEST_POINTS_GRAIN.into()));
        }
        if let Some(root) = self.root {
            check_exercise_dir(root, ex).map_err(|m| error("dir", m))?;
        }
        let harness = self
            .root
            .and_then(|r| std::fs::read_to_string(r.join(ex.harness_file())).ok());
        let tests = self
            .root
            .and_then(|r| std::fs::read_to_string(r.join(ex.test_file())).ok());
        let mut observation_ids = HashSet::new();
        for (j, obs) in ex.observations.iter().enumerate() {
            let path = format!("{path}.observations[{j}]");
            if !observation_ids.insert(obs.id.as_str()) {
                let message = format!("duplicate observation id `{}` in {}", obs.id, ex.id);
                return Err(self.error(format!("{path}.id"), &[&ex.id, &obs.id], "id", message));
            }
            self.observation(&path, ex, obs)?;
            self.tested_by(&path, ex, obs, tests.as_deref())?;
            self.after(&path, ex, obs)?;
            for (k, check) in obs.checks.iter().enumerate() {
                self.check(
                    &format!("{path}.checks[{k}]"),
                    ex,
                    obs,
                    check,
                    harness.as_deref(),
                )?;
            }
        }
        Ok(())
    }

    pub(super) fn observation(
        &self,
        path: &str,
        ex: &Exercise,
        obs: &Observation,
    ) -> Result<(), CourseError> {
        let error = |key: &str, message: &str| {
            self.error(
                format!("{path}.{key}"),
                &[&ex.id, &obs.id],
                key,
                message.into(),
            )
        };
        if !(obs.points.is_finite() && obs.points >= 0.0) {
            return Err(error("points", "must be zero or more"));
        }
        if obs.min_cores == 0 {
            return Err(error("min_cores", "must be at least 1"));
        }
        if obs.max_spread.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
            return Err(error("max_spread", "must be zero or more"));
        }
        if obs.checks.is_empty() {
            return Err(error("checks", "expected at least one check"));
        }
        Ok(())
    }

    /// `after:` names another observation of the same exercise, and
    /// following `after:` from there never comes back to this one.
    fn after(&self, path: &str, ex: &Exercise, obs: &Observation) -> Result<(), CourseError> {
        let Some(first) = &obs.after else {
            return Ok(());
        };
        let error = |message: String| {
            self.error(
                format!("{path}.after"),
                &[&ex.id, &obs.id],
                "after",
                message,
            )
        };
        let mut seen = vec![obs.id.as_str()];
        let mut next = Some(first);
        while let Some(id) = next {
            if seen.contains(&id.as_str()) {
                return Err(error(format!(
                    "observations that come after each other in a circle: {} -> {id}",
                    seen.join(" -> ")
                )));
            }
            let Some(found) = ex.observations.iter().find(|o| &o.id == id) else {
                let known: Vec<&str> = ex.observations.iter().map(|o| o.id.as_str()).collect();
                return Err(error(format!(
                    "`{id}` is no observation of {} (it has: {})",
                    ex.id,
                    known.join(", ")
                )));
            };
            seen.push(id);
            next = found.after.as_ref();
        }
        Ok(())
    }

    /// Each test an observation names as testing its claim is a test of the
    /// exercise's test file.
    fn tested_by(
        &self,
        path: &str,
        ex: &Exercise,
        obs: &Observation,
        tests: Option<&str>,
    ) -> Result<(), CourseError> {
        let Some(tests) = tests else { return Ok(()) };
        for name in &obs.tested_by {
            if !tests.contains(&format!("fn {name}(")) {
                let message = format!(
                    "test `{name}` is not in {}: `tested_by` names tests of the exercise's test file",
                    ex.test_file().display()
                );
                let anchors = [ex.id.as_str(), obs.id.as_str()];
                return Err(self.error(
                    format!("{path}.tested_by"),
                    &anchors,
                    "tested_by",
                    message,
                ));
            }
        }
        Ok(())
    }

    /// One check: a bound, in order, and metrics the harness names.
    pub(super) fn check(
        &self,
        path: &str,
        ex: &Exercise,
        obs: &Observation,
        check: &Check,
        harness: Option<&str>,
    ) -> Result<(), CourseError> {
        let key = format!("metric: {}", check.metric);
        let error =
            |message: String| self.error(path.to_owned(), &[&ex.id, &obs.id], &key, message);
        match (check.at_least, check.at_most) {
            (None, None) => {
                return Err(error(
                    "expected a bound: `at_least`, `at_most` or both".into(),
                ))
            }
            (Some(lo), Some(hi)) if lo > hi => {
                return Err(error(format!("at_least ({lo}) is above at_most ({hi})")))
            }
            _ => {}
        }
        let Some(harness) = harness else {
            return Ok(());
        };
        for name in std::iter::once(&check.metric).chain(check.per.as_ref()) {
            if !harness_mentions(harness, name) {
                return Err(error(format!(
                    "metric `{name}` is not recorded by {}: the harness never names it",
                    ex.harness_file().display()
                )));
            }
        }
        Ok(())
    }
}

/// The directory must be a crate with an integration test file and a harness.
fn check_exercise_dir(root: &Path, ex: &Exercise) -> Result<(), String> {
    let dir = root.join(&ex.dir);
    if !dir.is_dir() {
        return Err(format!("directory `{}` does not exist", ex.dir.display()));
    }
    for needed in ["Cargo.toml", "tests"] {
        if !dir.join(needed).exists() {
            return Err(format!("`{}` has no {needed}", ex.dir.display()));
        }
    }
    for given in &ex.given {
        let inside = given
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || !dir.join(given).is_file() {
            return Err(format!(
                "given file `{}` is not a file inside `{}`",
                given.display(),
                ex.dir.display()
            ));
        }
    }
    if !ex.observations.is_empty() && !dir.join(HARNESS_PATH).is_file() {
        return Err(format!(
            "`{}` has observations but no harness at {HARNESS_PATH}",
            ex.dir.display()
        ));
    }
    Ok(())
}

/// Whether the harness source names `metric` as a whole word. `unit` and
/// `cores` are always recorded.
pub(super) fn harness_mentions(harness: &str, metric: &str) -> bool {
    if ALWAYS_RECORDED.contains(&metric) {
        return true;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    harness.match_indices(metric).any(|(start, _)| {
        let before = harness[..start].chars().next_back();
        let after = harness[start + metric.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Find the line and column of `key` in `source`, looking after the lines
/// that mention each of `anchors` in turn (an exercise id, then an observation
/// id). Good enough for error messages; None when not found.
pub(super) fn locate(source: &str, anchors: &[&str], key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut from = 0;
    for anchor in anchors {
        let pattern = format!("id: {anchor}");
        from += lines[from..].iter().position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l == pattern
                || l == format!("id: \"{anchor}\"")
                || l.starts_with(&format!("{pattern} "))
        })?;
    }
    let found = lines[from..].iter().position(|l| l.contains(key))? + from;
    let column = lines[found].find(key)? + 1;
    Some((found + 1, column))
}

/// Why `test_points` must be whole 1/64ths (see `grade::SHARE_GRAIN`).
const TEST_POINTS_GRAIN: &str = "must be a whole number of 1/64 points (e.g. 10 or 2.5), so that its tests' shares add up exactly";
