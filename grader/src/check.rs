//! `grader check`: the instructor's self-check.
//!
//! - course.yaml is valid and every metric it names appears in its
//!   exercise's harness (and, once run, is really recorded);
//! - every exercise has a README and hints;
//! - the reference solutions earn every point; observations needing more
//!   cores than the machine has may be skipped. Timing is noisy, so an
//!   observation that fails or is inconclusive is measured again (see
//!   [`crate::grade::MAX_MEASUREMENTS`]) before it counts as a problem;
//! - the stubs compile and earn no test points.
//!
//! Exit code 0 when everything holds, 1 when something does not, 2 for a
//! course.yaml or environment error.

use crate::cli::CheckArgs;
use crate::course::{Course, Exercise};
use crate::grade::Grader;
use crate::model::{
    ExerciseReport, InconclusiveCause, ObservationResult, ObservationState, TestStatus, Verdict,
};
use crate::progress::Progress;
use crate::report::points;
use crate::workspace::Source;
use crate::{load_course, EXIT_BELOW, EXIT_OK};
use owo_colors::OwoColorize;
use std::io::Write;

/// Said of solution observations that other programs' CPU use kept from
/// showing: the check cannot vouch for them, and says so, but a busy
/// machine is no fault of the course.
const BUSY_NOTE: &str =
    "not shown while other programs used the CPU (grade again on a quiet machine to see them pass)";

/// One line of the self-check, with the problems it found.
struct Finding {
    what: String,
    problems: Vec<String>,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    let observations: usize = course.exercises.iter().map(|e| e.observations.len()).sum();
    let mut findings = vec![Finding {
        what: format!(
            "{}: {} exercises, {observations} observations; every metric named appears in its harness",
            course.file().display(),
            course.exercises.len()
        ),
        problems: Vec::new(),
    }];
    findings.push(lessons(&course));
    let progress = Progress::stderr();
    findings.push(solutions(
        &course,
        args.repeats.map(|r| r as usize),
        &progress,
    )?);
    findings.push(stubs(&course, &progress)?);
    drop(progress);

    let mut out = anstream::stdout();
    for f in &findings {
        if f.problems.is_empty() {
            writeln!(out, "{}   {}", "ok".green(), f.what)?;
        } else {
            writeln!(out, "{} {}", "FAIL".red().bold(), f.what)?;
            for p in &f.problems {
                writeln!(out, "       - {p}")?;
            }
        }
    }
    let failed = findings.iter().filter(|f| !f.problems.is_empty()).count();
    if failed == 0 {
        writeln!(out, "The course checks out.")?;
        Ok(EXIT_OK)
    } else {
        writeln!(out, "{failed} of {} checks found problems.", findings.len())?;
        Ok(EXIT_BELOW)
    }
}

/// Every exercise has a README and hints; every observation a hint.
fn lessons(course: &Course) -> Finding {
    let root = course.root();
    let mut problems = Vec::new();
    for ex in &course.exercises {
        let readme = root.join(&ex.dir).join("README.md");
        match std::fs::read_to_string(&readme) {
            Ok(text) if !text.trim().is_empty() => {}
            Ok(_) => problems.push(format!("{}: README.md is empty", ex.id)),
            Err(_) => problems.push(format!("{}: no README.md in {}", ex.id, ex.dir.display())),
        }
        if ex.hints.iter().all(|h| h.trim().is_empty()) {
            problems.push(format!("{}: course.yaml gives no hints", ex.id));
        }
        for o in ex.observations.iter().filter(|o| o.hint.trim().is_empty()) {
            problems.push(format!("{}: observation {} has an empty hint", ex.id, o.id));
        }
    }
    Finding {
        what: "every exercise has a README and hints".into(),
        problems,
    }
}

/// The solutions earn every point but those the machine cannot show.
fn solutions(
    course: &Course,
    repeats: Option<usize>,
    progress: &Progress,
) -> anyhow::Result<Finding> {
    let exercises: Vec<&Exercise> = course.exercises.iter().collect();
    let grader = Grader::new(course, &exercises, &Source::Solutions, repeats, progress)?;
    let run = grader.grade_all(&exercises, true);
    let (reports, timings) = (run.exercises, run.timings);
    let mut problems = Vec::new();
    for r in &reports {
        problems.extend(solution_problems(r));
    }
    let score: f64 = reports.iter().map(|r| r.score).sum();
    let max: f64 = reports.iter().map(|r| r.max_score).sum();
    let named = |keep: fn(&ObservationResult) -> bool| -> Vec<String> {
        reports
            .iter()
            .flat_map(|r| {
                r.observations
                    .iter()
                    .filter(move |o| keep(o))
                    .map(move |o| format!("{}/{}", r.id, o.id))
            })
            .collect()
    };
    let skipped = named(|o| o.verdict == Verdict::Skipped);
    let busy = named(shown_busy);
    let mut what = format!(
        "the solutions earn {} of {} points",
        points(score),
        points(max)
    );
    if !skipped.is_empty() {
        what.push_str(&format!(
            " ({} skipped for lack of cores: {})",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    if !busy.is_empty() {
        what.push_str(&format!(
            " ({} {BUSY_NOTE}: {})",
            busy.len(),
            busy.join(", ")
        ));
    }
    what.push_str(&format!(
        "; observations took {:.1} s, grader overhead {:.2} %",
        timings.measure_seconds, timings.overhead_percent
    ));
    Ok(Finding { what, problems })
}

fn acceptable(o: &ObservationResult) -> bool {
    matches!(o.verdict, Verdict::Pass | Verdict::Skipped) || shown_busy(o)
}

/// Inconclusive because other programs used the CPU while it was measured:
/// the machine's limit, measured and said, not the solution's fault. A
/// spread with no measured contention stays a problem.
fn shown_busy(o: &ObservationResult) -> bool {
    matches!(
        &o.state,
        ObservationState::Inconclusive {
            cause: InconclusiveCause::Busy { .. } | InconclusiveCause::BusyBaseline { .. }
        }
    )
}

fn solution_problems(r: &ExerciseReport) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = &r.tests.build_error {
        problems.push(format!(
            "{}: the solution does not build: {}",
            r.id,
            error.lines().next().unwrap_or_default()
        ));
    } else if r.tests.tests.is_empty() {
        problems.push(format!("{}: no tests found", r.id));
    }
    for t in r
        .tests
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
    {
        let why = t.failure.as_deref().unwrap_or_default();
        let why = why.lines().next().unwrap_or_default();
        problems.push(format!(
            "{}: test {} {:?} on the solution: {why}",
            r.id, t.name, t.status
        ));
    }
    for o in r.observations.iter().filter(|o| !acceptable(o)) {
        let verdict = match o.verdict {
            Verdict::Inconclusive => "is inconclusive",
            _ => "fails",
        };
        problems.push(format!(
            "{}: observation {} {verdict} on the solution after {} measurements: {}",
            r.id, o.id, o.measurements, o.reason
        ));
    }
    problems
}

/// The stubs compile, and every test fails on them.
fn stubs(course: &Course, progress: &Progress) -> anyhow::Result<Finding> {
    let exercises: Vec<&Exercise> = course.exercises.iter().collect();
    let grader = Grader::new(course, &exercises, &Source::Exercises, None, progress)?;
    let run = grader.grade_all(&exercises, false);
    let mut problems = Vec::new();
    let mut total = 0;
    for (ex, report) in exercises.iter().zip(&run.exercises) {
        let tests = &report.tests;
        total += tests.tests.len();
        if let Some(error) = &tests.build_error {
            problems.push(format!(
                "{}: the stub does not compile: {}",
                ex.id,
                error.lines().next().unwrap_or_default()
            ));
            continue;
        }
        if tests.tests.is_empty() {
            problems.push(format!("{}: the stub has no tests", ex.id));
        }
        let passing: Vec<&str> = tests
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .map(|t| t.name.as_str())
            .collect();
        if !passing.is_empty() {
            problems.push(format!(
                "{}: {} test points on the stub; these tests pass without any work: {}",
                ex.id,
                points(tests.points),
                passing.join(", ")
            ));
        }
    }
    Ok(Finding {
        what: format!("the stubs compile and all {total} tests fail on them (no test points)"),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn the_solution_may_skip_for_cores_but_nothing_else() {
        let ex02 = &fixtures::mixed().exercises[0];
        let problems = solution_problems(ex02);
        let about = |needle: &str| problems.iter().filter(|p| p.contains(needle)).count();
        assert_eq!(about("test ex02::pool_map_keeps_input_order Failed"), 1);
        assert_eq!(about("test ex02::pool_map_uses_every_thread TimedOut"), 1);
        assert_eq!(about("observation long-last-is-slower fails"), 1);
        assert_eq!(about("observation secret-speedup is inconclusive"), 1);
        // Passing and skipped (too few cores) observations are no problem.
        assert_eq!(about("threads-overlap"), 0);
        assert_eq!(about("threads-crunch-in-parallel"), 0);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        let failing = &problems[0];
        assert!(
            failing.ends_with("assertion `left == right` failed"),
            "{failing}"
        );
    }

    #[test]
    fn an_observation_a_busy_machine_kept_from_showing_is_no_problem_but_a_spread_is() {
        let mut ex02 = fixtures::mixed().exercises[0].clone();
        let inconclusive = ex02
            .observations
            .iter_mut()
            .find(|o| o.id == "secret-speedup")
            .unwrap();
        assert!(!shown_busy(inconclusive), "the fixture's cause is a spread");
        inconclusive.state = ObservationState::Inconclusive {
            cause: InconclusiveCause::Busy {
                contention: protocol::machine::Contention {
                    seconds: 1.0,
                    others_cpu_seconds: Some(0.9),
                    cpu_pressure_seconds: None,
                    throttled_seconds: None,
                    own_cpu_seconds: None,
                },
                slowdown: 1.8,
            },
        };
        let problems = solution_problems(&ex02);
        assert!(
            !problems.iter().any(|p| p.contains("secret-speedup")),
            "{problems:#?}"
        );
        assert_eq!(problems.len(), 3, "{problems:#?}");
    }

    #[test]
    fn a_solution_that_does_not_build_says_the_first_error_line() {
        let ex03 = &fixtures::mixed().exercises[1];
        let problems = solution_problems(ex03);
        assert!(
            problems[0].starts_with("ex03: the solution does not build: error[E0308]"),
            "{problems:#?}"
        );
        assert!(solution_problems(&fixtures::perfect().exercises[0]).is_empty());
    }
}
