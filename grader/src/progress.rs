//! The progress line on stderr while grading: a bar over the exercises with
//! the phase of the current one on a terminal, plain step lines otherwise
//! (CI logs), or nothing.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// What the grader is doing to one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Building the tests and running them.
    Testing,
    /// Building the harness and measuring `observations` observations;
    /// `measurement` counts from 1 (above 1: measured again).
    Measuring {
        observations: usize,
        measurement: usize,
    },
}

/// Where a run is: exercise `index` (from 0) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub index: usize,
    pub total: usize,
    pub id: &'a str,
}

/// The progress line on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    /// A bar when stderr is a terminal, else one plain line per step.
    pub fn stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress {
                bar: Some(bar),
                plain: false,
            }
        } else {
            Progress {
                bar: None,
                plain: true,
            }
        }
    }

    /// No progress output at all.
    pub fn quiet() -> Progress {
        Progress {
            bar: None,
            plain: false,
        }
    }

    /// A step before or after the exercises (preparing the tree).
    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None if self.plain => eprintln!("grader: {message}"),
            None => {}
        }
    }

    /// Exercise `place` enters `phase`: on a terminal the bar shows how many
    /// exercises are done, out of how many.
    pub fn phase(&self, place: Place<'_>, phase: Phase) {
        let message = describe(place, phase);
        match &self.bar {
            Some(bar) => {
                if bar.length() != Some(place.total as u64) {
                    bar.set_length(place.total as u64);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {elapsed:>4} [{bar:20}] {pos}/{len} {msg}",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                }
                bar.set_position(place.index as u64);
                bar.set_message(message);
            }
            None if self.plain => eprintln!("grader: {message}"),
            None => {}
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}

/// `ex02 (exercise 2 of 4): measuring 7 observations (measurement 2 of 3)`.
fn describe(place: Place<'_>, phase: Phase) -> String {
    let what = match phase {
        Phase::Testing => "building and running the tests".to_owned(),
        Phase::Measuring {
            observations,
            measurement: 1,
        } => format!(
            "building the harness and measuring {}",
            plural(observations)
        ),
        Phase::Measuring {
            observations,
            measurement,
        } => format!(
            "measuring {} again (measurement {measurement}, at most {})",
            plural(observations),
            crate::grade::MAX_MEASUREMENTS
        ),
    };
    format!(
        "{} (exercise {} of {}): {what}",
        place.id,
        place.index + 1,
        place.total
    )
}

fn plural(observations: usize) -> String {
    match observations {
        1 => "1 observation".to_owned(),
        n => format!("{n} observations"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_phase_says_where_the_run_is() {
        let place = Place {
            index: 1,
            total: 4,
            id: "ex02",
        };
        assert_eq!(
            describe(place, Phase::Testing),
            "ex02 (exercise 2 of 4): building and running the tests"
        );
        let measuring = |observations, measurement| Phase::Measuring {
            observations,
            measurement,
        };
        assert_eq!(
            describe(place, measuring(7, 1)),
            "ex02 (exercise 2 of 4): building the harness and measuring 7 observations"
        );
        // A run again is for the unsettled observations only.
        assert_eq!(
            describe(place, measuring(1, 2)),
            "ex02 (exercise 2 of 4): measuring 1 observation again (measurement 2, at most 8)"
        );
    }
}
