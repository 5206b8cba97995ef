//! The watch's screen, drawn from its [`State`] as plain lines.

use super::state::{Job, State, View};
use crate::model::{TestStatus, Verdict};
use std::fmt::Write;

const KEYS: &str = "h hint · l list · r run again · o measure the observations · q quit";
const KEYS_MANUAL: &str = "r run the tests · h hint · l list · o measure the observations · q quit";
const ALL_DONE: &str =
    "Every exercise's tests pass. `cargo run --release` grades the timing observations too.";

/// The whole screen.
pub fn render(state: &State) -> String {
    let mut out = String::new();
    match state.view {
        View::List => list(&mut out, state),
        View::Exercise => exercise(&mut out, state),
    }
    .expect("writing to a String cannot fail");
    out
}

fn exercise(out: &mut String, state: &State) -> std::fmt::Result {
    if let Some(message) = &state.message {
        writeln!(out, "{message}")?;
    }
    let Some(entry) = state.current_entry() else {
        writeln!(out, "{ALL_DONE}")?;
        return keys(out, state);
    };
    writeln!(
        out,
        "{} {} ({} of {})",
        entry.id,
        entry.title,
        state.current + 1,
        state.exercises.len()
    )?;
    writeln!(
        out,
        "Read {}/README.md; edit its src/ and save: the tests run again.",
        entry.dir.display()
    )?;
    out.push('\n');
    tests(out, state)?;
    observations(out, state)?;
    if state.hints_shown > 0 {
        out.push('\n');
        for (i, hint) in entry.hints.iter().take(state.hints_shown).enumerate() {
            writeln!(out, "hint {} of {}: {hint}", i + 1, entry.hints.len())?;
        }
    }
    keys(out, state)
}

/// How many tests pass and the first failure, or that they are running.
fn tests(out: &mut String, state: &State) -> std::fmt::Result {
    match (&state.tests, state.running) {
        (_, Some(Job::Tests(i))) if i == state.current => writeln!(out, "running the tests...")?,
        (None, _) => writeln!(out, "the tests have not run yet")?,
        (Some(tests), _) => {
            let passed = tests
                .tests
                .iter()
                .filter(|t| t.status == TestStatus::Passed)
                .count();
            if let Some(error) = &tests.build_error {
                writeln!(out, "does not build; the compiler's first error:")?;
                for line in error.lines().take(12) {
                    writeln!(out, "  {line}")?;
                }
            } else {
                writeln!(out, "{passed} of {} tests pass", tests.tests.len())?;
                if let Some(first) = tests.tests.iter().find(|t| t.status != TestStatus::Passed) {
                    writeln!(out, "first failure: {}", first.name)?;
                    let why = first
                        .failure
                        .clone()
                        .unwrap_or_else(|| status_word(first.status).to_owned());
                    for line in why.lines() {
                        writeln!(out, "  {line}")?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The verdicts of the last measurement, or that it is running.
fn observations(out: &mut String, state: &State) -> std::fmt::Result {
    if state.running == Some(Job::Observations(state.current)) {
        writeln!(out, "\nmeasuring the observations...")?;
    } else if let Some(observations) = &state.observations {
        writeln!(out, "\nobservations:")?;
        for o in observations {
            writeln!(
                out,
                "  {:<13}{}: {}",
                verdict_word(o.verdict),
                o.id,
                o.reason
            )?;
        }
    }
    Ok(())
}

fn list(out: &mut String, state: &State) -> std::fmt::Result {
    for (i, (entry, progress)) in state.exercises.iter().zip(&state.progress).enumerate() {
        let mark = if i == state.current { "->" } else { "  " };
        let status = match progress {
            None => "not run yet".to_owned(),
            Some(p) if !p.builds => "does not build".to_owned(),
            Some(p) if p.done() => "done".to_owned(),
            Some(p) => format!("{} of {} tests pass", p.passed, p.total),
        };
        writeln!(out, "{mark} {:<6}{:<28}{status}", entry.id, entry.title)?;
    }
    writeln!(out, "(l: back to the exercise)")?;
    keys(out, state)
}

fn keys(out: &mut String, state: &State) -> std::fmt::Result {
    let keys = if state.manual_run { KEYS_MANUAL } else { KEYS };
    write!(out, "\n{keys}\n")
}

fn status_word(status: TestStatus) -> &'static str {
    match status {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::TimedOut => "timed out",
        TestStatus::NotRun => "did not run",
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Skipped => "skipped",
        Verdict::Inconclusive => "inconclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::{entries, tests};
    use super::super::state::{Event, Key};
    use super::*;

    #[test]
    fn the_screen_shows_the_count_and_the_first_failure() {
        let mut state = State::new(entries(2), false);
        state.start();
        state.handle(Event::TestsRan {
            exercise: 0,
            tests: tests(1, 3),
        });
        let screen = render(&state);
        assert!(screen.contains("ex01 Exercise 1 (1 of 2)"), "{screen}");
        assert!(screen.contains("1 of 3 tests pass"), "{screen}");
        assert!(screen.contains("first failure: exNN::test_1"), "{screen}");
        assert!(screen.contains("assertion failed in test_1"), "{screen}");
        assert!(!screen.contains("hint 1"), "{screen}");
        state.handle(Event::Key(Key::Hint));
        assert!(render(&state).contains("hint 1 of 2: first hint of ex01"));
    }

    #[test]
    fn the_list_marks_the_current_exercise() {
        let mut state = State::new(entries(2), true);
        state.start();
        state.handle(Event::TestsRan {
            exercise: 0,
            tests: tests(2, 2),
        });
        state.handle(Event::Key(Key::List));
        let screen = render(&state);
        assert!(screen.contains("   ex01  Exercise 1"), "{screen}");
        assert!(screen.contains("-> ex02  Exercise 2"), "{screen}");
        assert!(screen.contains("done"), "{screen}");
        assert!(screen.contains(KEYS_MANUAL), "{screen}");
    }
}
