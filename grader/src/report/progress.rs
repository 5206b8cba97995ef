//! The progress line on stderr while grading: a bar over the exercises with
//! the phase of the current one on a terminal, plain step lines otherwise
//! (CI logs), or nothing.

use crate::text::count;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// What the grader is doing to one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Its `src` is still the course's stubs: its tests fail unbuilt.
    Stubs,
    /// Building the tests.
    Building,
    /// Building the tests in a fresh build directory: their dependencies
    /// compile too ([`Phase::building`]).
    BuildingFirstTime,
    /// Building the harness in a build directory with no release build yet:
    /// its dependencies compile too.
    BuildingHarnessFirstTime { observations: usize },
    /// Running the tests: `done` of `total` have run.
    Testing { done: usize, total: usize },
    /// Measuring `observations` observations; `measurement` counts from 1
    /// (above 1: measured again). `measured`: how many of them have all
    /// their metrics recorded, once the harness runs (`None`: building it).
    Measuring {
        observations: usize,
        measured: Option<usize>,
        measurement: usize,
        /// The most measurements grading takes of an observation.
        at_most: usize,
    },
}

impl Phase {
    /// Building the tests in `target_dir`: for the first time when it holds
    /// no debug build yet (a new student's first grading of a started
    /// exercise), which takes a minute rather than seconds.
    pub fn building(target_dir: &std::path::Path) -> Phase {
        if target_dir.join("debug").is_dir() {
            Phase::Building
        } else {
            Phase::BuildingFirstTime
        }
    }

    /// Whether this phase starts a new step, rather than counting on
    /// within one: plain output prints only those.
    fn starts_a_step(self) -> bool {
        match self {
            Phase::Stubs
            | Phase::Building
            | Phase::BuildingFirstTime
            | Phase::BuildingHarnessFirstTime { .. } => true,
            Phase::Testing { done, .. } => done == 0,
            Phase::Measuring { measured, .. } => measured.is_none(),
        }
    }
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
    /// exercises are done, out of how many; plain output shows each new
    /// step, not its counts.
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
            None if self.plain && phase.starts_a_step() => eprintln!("grader: {message}"),
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

/// `ex02 (exercise 2 of 4): running the tests: 3 of 20 done`.
fn describe(place: Place<'_>, phase: Phase) -> String {
    let again = |measurement, at_most| format!("(measurement {measurement}, at most {at_most})");
    let what = match phase {
        Phase::Stubs => "still the course's stubs: its tests fail without a build".to_owned(),
        Phase::Building => "building the tests".to_owned(),
        Phase::BuildingFirstTime => format!("building the tests; {FIRST_BUILD}"),
        Phase::BuildingHarnessFirstTime { observations } => format!(
            "building the harness to measure {}; {FIRST_BUILD}",
            count(observations, "observation")
        ),
        Phase::Testing { done: 0, total } => format!("running {}", count(total, "test")),
        Phase::Testing { done, total } => format!("running the tests: {done} of {total} done"),
        Phase::Measuring {
            observations,
            measured: None,
            measurement: 1,
            ..
        } => format!(
            "building the harness to measure {}",
            count(observations, "observation")
        ),
        Phase::Measuring {
            observations,
            measured: None,
            measurement,
            at_most,
        } => format!(
            "measuring {} again {}",
            count(observations, "observation"),
            again(measurement, at_most)
        ),
        Phase::Measuring {
            observations,
            measured: Some(measured),
            measurement,
            at_most,
        } => {
            let at = format!(
                "observation {} of {observations}",
                (measured + 1).min(observations)
            );
            match measurement {
                1 => format!("measuring {at}"),
                n => format!("measuring again {}: {at}", again(n, at_most)),
            }
        }
    };
    format!(
        "{} (exercise {} of {}): {what}",
        place.id,
        place.index + 1,
        place.total
    )
}

/// How long a first build takes, said while it runs.
const FIRST_BUILD: &str =
    "the first build compiles their dependencies too: about a minute on 2 cores, seconds from then on";

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
        let says = |phase| describe(place, phase);
        assert_eq!(
            says(Phase::Building),
            "ex02 (exercise 2 of 4): building the tests"
        );
        assert_eq!(
            says(Phase::BuildingFirstTime),
            format!("ex02 (exercise 2 of 4): building the tests; {FIRST_BUILD}")
        );
        let fresh = tempfile::tempdir().unwrap();
        assert_eq!(Phase::building(fresh.path()), Phase::BuildingFirstTime);
        std::fs::create_dir(fresh.path().join("debug")).unwrap();
        assert_eq!(Phase::building(fresh.path()), Phase::Building);
        let testing = |done, total| Phase::Testing { done, total };
        assert_eq!(
            says(testing(0, 20)),
            "ex02 (exercise 2 of 4): running 20 tests"
        );
        assert_eq!(
            says(testing(3, 20)),
            "ex02 (exercise 2 of 4): running the tests: 3 of 20 done"
        );
        let measuring = |observations, measured, measurement| Phase::Measuring {
            observations,
            measured,
            measurement,
            at_most: 8,
        };
        assert_eq!(
            says(measuring(7, None, 1)),
            "ex02 (exercise 2 of 4): building the harness to measure 7 observations"
        );
        assert_eq!(
            says(measuring(7, Some(0), 1)),
            "ex02 (exercise 2 of 4): measuring observation 1 of 7"
        );
        // Every metric recorded: the last one is being judged, not passed.
        assert_eq!(
            says(measuring(7, Some(7), 1)),
            "ex02 (exercise 2 of 4): measuring observation 7 of 7"
        );
        // A run again is for the unsettled observations only.
        assert_eq!(
            says(measuring(1, None, 2)),
            "ex02 (exercise 2 of 4): measuring 1 observation again (measurement 2, at most 8)"
        );
        assert_eq!(
            says(measuring(2, Some(1), 3)),
            "ex02 (exercise 2 of 4): measuring again (measurement 3, at most 8): observation 2 of 2"
        );
    }

    #[test]
    fn plain_output_prints_each_step_once_not_its_counts() {
        let starts = [
            Phase::Building,
            Phase::Testing { done: 0, total: 9 },
            Phase::Measuring {
                observations: 2,
                measured: None,
                measurement: 1,
                at_most: 8,
            },
        ];
        assert!(starts.iter().all(|p| p.starts_a_step()));
        let counts = [
            Phase::Testing { done: 1, total: 9 },
            Phase::Measuring {
                observations: 2,
                measured: Some(0),
                measurement: 1,
                at_most: 8,
            },
        ];
        assert!(counts.iter().all(|p| !p.starts_a_step()));
    }
}
