//! The watch's screen, drawn from its [`State`] as plain lines.

use super::state::{Screen, State, Work};
use crate::model::{ObservationState, TestStatus, Verdict};
use std::fmt::Write;

const KEYS: &str =
    "h hint · l list · r run again · o measure the observations · n next exercise · q quit";
const KEYS_MANUAL: &str =
    "r run the tests · h hint · l list · o measure the observations · n next exercise · q quit";
/// Said while the first build in the watch's build directory runs.
const FIRST_BUILD: &str =
    "(the first build compiles the exercises' dependencies too: about a minute on 2 cores, seconds from then on)";
const ALL_DONE: &str =
    "Every exercise's tests pass. `cargo run --release` grades the timing observations too.";

/// The whole screen.
pub fn render(state: &State) -> String {
    let mut out = String::new();
    match state.view {
        Screen::List => list(&mut out, state),
        Screen::Exercise => exercise(&mut out, state),
    }
    .expect("writing to a String cannot fail");
    out
}

/// `screen` as a terminal of `columns` × `rows` shows it: each line wrapped
/// at word boundaries (continuation lines are indented two spaces more than
/// the line, a word wider than the terminal is cut), and when that is too tall, the lines
/// above the last (the keys) cut short with a note of how many are hidden,
/// so the header and the keys always show. 0 for either means unknown: no
/// limit that way.
pub fn fit(screen: &str, columns: usize, rows: usize) -> Vec<String> {
    let mut lines: Vec<&str> = screen.lines().collect();
    let keys = wrap(lines.pop().unwrap_or_default(), columns);
    let mut shown: Vec<String> = lines.into_iter().flat_map(|l| wrap(l, columns)).collect();
    let too_tall = rows > 0 && shown.len() + keys.len() > rows;
    // Room for one line or more above the note and the keys.
    if too_tall && rows >= keys.len() + 2 {
        let room = rows - keys.len() - 1;
        let hidden = shown.len() - room;
        shown.truncate(room);
        shown.push(cut(&hidden_note(hidden), columns));
    }
    shown.extend(keys);
    if too_tall {
        // Shorter still: the top of the screen, as much as fits.
        shown.truncate(rows);
    }
    shown
}

fn hidden_note(hidden: usize) -> String {
    format!("({hidden} more lines)")
}

/// `line` in lines of at most `columns` characters.
fn wrap(line: &str, columns: usize) -> Vec<String> {
    if columns == 0 {
        return vec![line.to_owned()];
    }
    let indent = &line[..line.len() - line.trim_start_matches(' ').len()];
    // A hanging indent: what continues a line reads as part of it.
    let indent = format!("{indent}  ");
    // An indent that leaves little room on the line is dropped.
    let indent = if indent.len() * 2 <= columns {
        indent.as_str()
    } else {
        ""
    };
    let options = textwrap::Options::new(columns).subsequent_indent(indent);
    textwrap::wrap(line, options)
        .into_iter()
        .map(|l| cut(&l, columns))
        .collect()
}

/// The first `columns` characters of `line` (all of it for 0).
fn cut(line: &str, columns: usize) -> String {
    match columns {
        0 => line.to_owned(),
        _ => line.chars().take(columns).collect(),
    }
}

fn exercise(out: &mut String, state: &State) -> std::fmt::Result {
    for line in [&state.message, &state.notice].into_iter().flatten() {
        writeln!(out, "{line}")?;
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
        (_, Some(Work::Tests(i))) if i == state.current => {
            writeln!(out, "running the tests...")?;
            if state.first_build {
                writeln!(out, "{FIRST_BUILD}")?;
            }
        }
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
    if state.running == Some(Work::Observations(state.current)) {
        writeln!(out, "\nmeasuring the observations...")?;
    } else if let Some(observations) = &state.observations {
        writeln!(out, "\nobservations:")?;
        // All waiting for the same thing (a passing test, a build): one line.
        let first = observations.first();
        let shared = first.filter(|first| {
            matches!(first.state, ObservationState::NotMeasured { .. })
                && observations.iter().all(|o| o.state == first.state)
        });
        if let Some(first) = shared.filter(|_| observations.len() > 1) {
            writeln!(out, "  {}", first.reason)?;
            return Ok(());
        }
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
            None if state.running == Some(Work::Tests(i)) => "running the tests...".to_owned(),
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

    /// A failing exercise with a long first failure and its first hint shown.
    fn failing_with_a_hint() -> State {
        let mut state = State::new(entries(2), false);
        state.start();
        let mut failing = tests(0, 3);
        failing.tests[0].failure = Some(
            "assertion `left == right` failed: science_map must return one result per input, in order"
                .into(),
        );
        state.handle(Event::TestsRan {
            exercise: 0,
            tests: failing,
        });
        state.handle(Event::Key(Key::Hint));
        state
    }

    /// That screen as a terminal of `columns` × `rows` shows it.
    fn fitted(columns: usize, rows: usize) -> Vec<String> {
        fit(&render(&failing_with_a_hint()), columns, rows)
    }

    fn widest(lines: &[String]) -> usize {
        lines.iter().map(|l| l.chars().count()).max().unwrap()
    }

    #[test]
    fn the_screen_fits_the_terminals_width() {
        let unwrapped: Vec<String> = render(&failing_with_a_hint())
            .lines()
            .map(str::to_owned)
            .collect();
        let wide = fitted(120, 0);
        assert_eq!(wide, unwrapped, "nothing is wrapped at 120 columns");
        let narrow = fitted(40, 0);
        assert!(widest(&narrow) <= 40, "{narrow:#?}");
        assert!(narrow.len() > wide.len(), "{narrow:#?}");
        assert_eq!(narrow[0], "ex01 Exercise 1 (1 of 2)");
        // Wrapped, nothing lost: the same words in the same order.
        let words = |lines: &[String]| {
            lines
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(words(&narrow), words(&wide));
        // The failure's continuation lines hang two spaces under it.
        let failure = narrow
            .iter()
            .position(|l| l.starts_with("  assertion"))
            .unwrap();
        assert!(narrow[failure + 1].starts_with("    "), "{narrow:#?}");
        assert!(!narrow[failure + 1].starts_with("     "), "{narrow:#?}");
    }

    #[test]
    fn a_short_terminal_keeps_the_header_and_the_keys() {
        let all = fitted(40, 0);
        let keys = wrap(KEYS, 40);
        assert_eq!(all[all.len() - keys.len()..], keys[..]);
        // Room for 5 lines above the note and the keys.
        let rows = 5 + 1 + keys.len();
        let short = fitted(40, rows);
        assert_eq!(short.len(), rows, "{short:#?}");
        assert_eq!(short[..5], all[..5], "the top, from the header");
        assert!(short[0].starts_with("ex01 Exercise 1"), "{short:#?}");
        // What 5 lines above the note could not show.
        let hidden = all.len() - keys.len() - 5;
        assert_eq!(short[5], hidden_note(hidden));
        assert_eq!(short[6..], keys[..], "the keys end the screen");
        // Too short even for that: the top, never more rows than there are.
        assert_eq!(fitted(40, 1), all[..1]);
        assert_eq!(fitted(40, 3), all[..3]);
    }

    #[test]
    fn a_word_wider_than_the_terminal_is_cut() {
        let lines = fit("averyveryverylongword and more\nkeys", 8, 0);
        assert!(widest(&lines) <= 8, "{lines:#?}");
        assert_eq!(lines.last().unwrap(), "keys");
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
