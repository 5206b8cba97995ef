//! `grader check`: the instructor's self-check.
//!
//! - course.yaml is valid and every metric it names appears in its
//!   exercise's harness (and, once run, is really recorded);
//! - every exercise has a README and hints;
//! - every exercise follows ARCHITECTURE.md's recipe "Add an exercise"
//!   ([`conventions`]: workspace lints in both manifests, the solutions
//!   running the exercise's own tests and harness, test-support programs in
//!   both manifests, `starts_processes` agreeing with the code, each
//!   `todo!()` naming a README heading), each problem with how to fix it;
//! - the reference solutions earn every point; observations needing more
//!   cores than the machine has may be skipped. Timing is noisy, so an
//!   observation that fails or is inconclusive is measured again (see
//!   [`crate::judge::remeasure::MAX_MEASUREMENTS`]) before it counts as a
//!   problem;
//! - the stubs compile and every test fails on them (a test that passes
//!   without any work is a problem), each at the `todo!()` grading predicts
//!   without building it ([`crate::runner::stubs`]).
//!
//! Exit code 0 when everything holds, 1 when something does not, 2 for a
//! course.yaml or environment error.

pub mod conventions;

use crate::cli::CheckArgs;
use crate::course::load_course;
use crate::course::{Course, Exercise};
use crate::grade::Grader;
use crate::model::{
    ExerciseReport, InconclusiveCause, ObservationResult, ObservationState, TestStatus,
    TestsReport, Verdict,
};
use crate::report::progress::Progress;
use crate::runner::stubs;
use crate::text::short;
use crate::workspace::Source;
use crate::{EXIT_BELOW, EXIT_OK};
use owo_colors::OwoColorize;
use std::io::Write;

/// Said of solution observations that other programs' CPU use kept from
/// showing: the check cannot vouch for them, and says so, but a busy
/// machine is no fault of the course.
const BUSY_NOTE: &str =
    "not shown while other programs used the CPU (grade again on a quiet machine to see them pass)";

/// One line of the self-check, with the problems it found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: String,
    /// One line each; a convention's says how to fix it.
    pub problems: Vec<String>,
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
    findings.extend(conventions::findings(&conventions::read(&course)?));
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
        short(score),
        short(max)
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
    let grader =
        Grader::new(course, &exercises, &Source::Exercises, None, progress)?.running_stubs();
    let run = grader.grade_all(&exercises, false);
    let mut problems = Vec::new();
    let mut total = 0;
    for (ex, report) in exercises.iter().zip(&run.exercises) {
        total += report.tests.tests.len();
        problems.extend(stub_problems(&ex.id, &report.tests));
        if report.tests.build_error.is_some() {
            continue;
        }
        // Grading fails a stub's tests without building them: what it says
        // must be what running them shows.
        match stubs::failing_unbuilt(course.root(), grader.tree(), ex) {
            Some(predicted) => problems.extend(
                stubs::disagreements(&predicted, &report.tests.tests)
                    .into_iter()
                    .map(|d| format!("{}: {d}", ex.id)),
            ),
            None => problems.push(format!(
                "{}: src is not the stubs {} lists (or its test files cannot be read without building them), so every grading builds its tests",
                ex.id,
                stubs::CHECKSUMS_FILE
            )),
        }
    }
    Ok(Finding {
        what: format!("the stubs compile and all {total} tests fail on them (no test points)"),
        problems,
    })
}

/// What is wrong with the stubs of exercise `id`, from their tests' run.
fn stub_problems(id: &str, tests: &TestsReport) -> Vec<String> {
    if let Some(error) = &tests.build_error {
        return vec![format!(
            "{id}: the stub does not compile: {}",
            error.lines().next().unwrap_or_default()
        )];
    }
    let mut problems = Vec::new();
    if tests.tests.is_empty() {
        problems.push(format!("{id}: the stub has no tests"));
    }
    let passing: Vec<&str> = tests
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .map(|t| t.name.as_str())
        .collect();
    if !passing.is_empty() {
        problems.push(format!(
            "{id}: {} test points on the stub; these tests pass without any work: {}. \
             Make each call what the student writes (a stub's todo!() then fails it), or \
             give the stub a body that fails it",
            short(tests.points),
            passing.join(", ")
        ));
    }
    problems
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

    #[test]
    fn a_test_that_passes_on_the_stubs_is_a_problem_that_says_how_to_fix_it() {
        let mut tests = fixtures::perfect().exercises[0].tests.clone();
        assert!(stub_problems("ex01", &tests)
            .iter()
            .any(|p| p.contains("these tests pass without any work")));
        for t in &mut tests.tests {
            t.status = TestStatus::Failed;
        }
        tests.points = 0.0;
        assert_eq!(stub_problems("ex01", &tests), Vec::<String>::new());
        tests.tests[0].status = TestStatus::Passed;
        tests.points = tests.tests[0].max_points;
        let problems = stub_problems("ex01", &tests);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let name = &tests.tests[0].name;
        assert!(
            problems[0].contains(&format!("these tests pass without any work: {name}.")),
            "{problems:#?}"
        );
        assert!(
            problems[0].contains("todo!() then fails it"),
            "{problems:#?}"
        );
    }

    #[test]
    fn stubs_that_do_not_compile_say_only_that() {
        let mut tests = fixtures::perfect().exercises[0].tests.clone();
        tests.build_error = Some("error[E0425]: cannot find value `x`\n --> src/lib.rs".into());
        assert_eq!(
            stub_problems("ex01", &tests),
            ["ex01: the stub does not compile: error[E0425]: cannot find value `x`"]
        );
    }
}
