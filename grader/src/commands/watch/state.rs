//! What `grader watch` knows and how it reacts: a state machine fed with
//! events (a key, a save, a finished run) that answers with the job to start.
//! It runs nothing and draws nothing itself, so it is tested by feeding it
//! events.

use crate::course;
use crate::model::{ObservationResult, TestStatus, TestsReport};
use std::path::PathBuf;

/// One exercise as the watch shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub title: String,
    /// The crate's directory, relative to course.yaml.
    pub dir: PathBuf,
    pub hints: Vec<String>,
}

impl From<&course::Exercise> for Entry {
    fn from(ex: &course::Exercise) -> Self {
        Entry {
            id: ex.id.clone(),
            title: ex.title.clone(),
            dir: ex.dir.clone(),
            hints: ex.hints.clone(),
        }
    }
}

/// A key the watch understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `h`: show the next hint.
    Hint,
    /// `l`: the list of exercises, or back from it.
    List,
    /// `r`: run the tests again.
    Run,
    /// `o`: measure the observations of this exercise.
    Observe,
    /// `n`: on to the next exercise.
    Next,
    /// `q` (or Ctrl-C).
    Quit,
}

impl Key {
    /// The key a typed character stands for.
    pub fn from_char(c: char) -> Option<Key> {
        match c.to_ascii_lowercase() {
            'h' => Some(Key::Hint),
            'l' => Some(Key::List),
            'r' => Some(Key::Run),
            'o' => Some(Key::Observe),
            'n' => Some(Key::Next),
            'q' => Some(Key::Quit),
            _ => None,
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(Key),
    /// Files under these exercises' `src` were saved (indices into the
    /// course's exercises, in order).
    Saved(Vec<usize>),
    /// The tests of an exercise ran.
    TestsRan {
        exercise: usize,
        tests: TestsReport,
    },
    /// The observations of an exercise were measured and judged.
    Measured {
        exercise: usize,
        observations: Vec<ObservationResult>,
    },
    /// The terminal changed size: the screen is drawn again to fit.
    Resized,
    /// Something the watch cannot go on without (file events, the terminal).
    Failed(String),
}

/// Work for the runner, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Tests(usize),
    Observations(usize),
}

/// What the loop does after an event (it redraws in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Continue,
    Start(Work),
    Quit,
}

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Exercise,
    List,
}

/// How many tests of an exercise passed when they last ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passing {
    pub passed: usize,
    pub total: usize,
    pub builds: bool,
}

impl Passing {
    fn of(tests: &TestsReport) -> Passing {
        Passing {
            passed: tests
                .tests
                .iter()
                .filter(|t| t.status == TestStatus::Passed)
                .count(),
            total: tests.tests.len(),
            builds: tests.build_error.is_none(),
        }
    }

    /// Every test passes (and there is at least one).
    pub fn done(&self) -> bool {
        self.builds && self.total > 0 && self.passed == self.total
    }
}

/// The watch's whole state.
#[derive(Debug, Clone)]
pub struct State {
    pub exercises: Vec<Entry>,
    /// The exercise shown; `exercises.len()` once every one is done.
    pub current: usize,
    /// Runs start on `r` only, not on saves.
    pub manual_run: bool,
    pub running: Option<Work>,
    /// Asked for while another job ran; starts when it ends.
    pub queued: Option<Work>,
    /// What each exercise's tests gave when they last ran.
    pub progress: Vec<Option<Passing>>,
    /// The current exercise's last test run.
    pub tests: Option<TestsReport>,
    /// The current exercise's last measured observations.
    pub observations: Option<Vec<ObservationResult>>,
    /// How many of the current exercise's hints are shown.
    pub hints_shown: usize,
    pub view: Screen,
    /// One line about what just happened ("ex01 is done: on to ex02").
    pub message: Option<String>,
    /// The answer to the last key, until the next key or save.
    pub notice: Option<String>,
    /// Why the watch had to stop, when it did not stop on `q`.
    pub failure: Option<String>,
    /// Still looking for the first unfinished exercise: exercises whose
    /// tests all pass are passed over. Once the student works (a key, a
    /// save) or an unfinished one shows, an exercise that passes stays
    /// shown, for its observations, until `n`.
    pub settling: bool,
    /// The first build in the watch's build directory compiles the
    /// exercises' dependencies too: the screen says it takes a while.
    pub first_build: bool,
}

impl State {
    /// A watch over `exercises`, starting at the first.
    pub fn new(exercises: Vec<Entry>, manual_run: bool) -> State {
        let progress = vec![None; exercises.len()];
        State {
            exercises,
            current: 0,
            manual_run,
            running: None,
            queued: None,
            progress,
            tests: None,
            observations: None,
            hints_shown: 0,
            view: Screen::Exercise,
            message: None,
            notice: None,
            failure: None,
            settling: true,
            first_build: false,
        }
    }

    /// The first job: run the first exercise's tests. Exercises whose tests
    /// all pass are passed over one by one, so the watch settles on the
    /// first unfinished one.
    pub fn start(&mut self) -> Reaction {
        self.request(Work::Tests(self.current))
    }

    /// The exercise shown, unless every one is done.
    pub fn current_entry(&self) -> Option<&Entry> {
        self.exercises.get(self.current)
    }

    /// Every exercise's tests pass.
    pub fn finished(&self) -> bool {
        self.current >= self.exercises.len()
    }

    pub fn handle(&mut self, event: Event) -> Reaction {
        if matches!(event, Event::Key(_) | Event::Saved(_)) {
            self.settling = false;
            self.notice = None;
        }
        match event {
            Event::Key(Key::Quit) => Reaction::Quit,
            Event::Key(Key::Hint) => {
                let available = self.current_entry().map_or(0, |e| e.hints.len());
                self.hints_shown = (self.hints_shown + 1).min(available);
                self.view = Screen::Exercise;
                Reaction::Continue
            }
            Event::Key(Key::List) => {
                self.view = match self.view {
                    Screen::Exercise => Screen::List,
                    Screen::List => Screen::Exercise,
                };
                Reaction::Continue
            }
            Event::Key(Key::Run) => self.request(Work::Tests(self.current)),
            Event::Key(Key::Observe) => self.observe(),
            Event::Key(Key::Next) => {
                if self.finished() {
                    return Reaction::Continue;
                }
                self.message = None;
                self.go_to(self.current + 1);
                self.request(Work::Tests(self.current))
            }
            Event::Saved(_) if self.manual_run => Reaction::Continue,
            Event::Saved(exercises) => self.saved(&exercises),
            Event::TestsRan { exercise, tests } => self.tests_ran(exercise, tests),
            Event::Measured {
                exercise,
                observations,
            } => {
                self.running = None;
                if exercise == self.current {
                    self.observations = Some(observations);
                }
                self.next_job()
            }
            // Nothing changes but the size the loop draws at.
            Event::Resized => Reaction::Continue,
            Event::Failed(why) => {
                self.failure = Some(why);
                Reaction::Quit
            }
        }
    }

    /// A save in the current exercise runs its tests; a save in another
    /// exercise makes that one current (the student is working on it).
    fn saved(&mut self, exercises: &[usize]) -> Reaction {
        let Some(&first) = exercises.first() else {
            return Reaction::Continue;
        };
        if !exercises.contains(&self.current) && first < self.exercises.len() {
            self.go_to(first);
        }
        self.request(Work::Tests(self.current))
    }

    fn tests_ran(&mut self, exercise: usize, tests: TestsReport) -> Reaction {
        self.running = None;
        if !tests.stub_src {
            self.first_build = false;
        }
        let progress = Passing::of(&tests);
        if let Some(slot) = self.progress.get_mut(exercise) {
            *slot = Some(progress);
        }
        if exercise != self.current {
            return self.next_job();
        }
        let done = &self.exercises[exercise].id;
        let next = self.exercises.get(exercise + 1).map(|e| e.id.clone());
        if progress.done() && self.settling {
            self.message = Some(match &next {
                Some(next) => format!("{done}: every test passes. On to {next}."),
                None => format!("{done}: every test passes."),
            });
            self.go_to(exercise + 1);
            // What was queued was for the exercise that is done now.
            self.queued = None;
            if self.finished() {
                return Reaction::Continue;
            }
            return self.request(Work::Tests(self.current));
        }
        let settled_now = std::mem::replace(&mut self.settling, false);
        if !progress.done() {
            // "On to exNN" stays until the student acts; what was said
            // about this exercise's earlier run does not.
            if !settled_now {
                self.message = None;
            }
            self.tests = Some(tests);
            return self.next_job();
        }
        self.message = Some(match &next {
            Some(next) => format!(
                "{done}: every test passes. Press o to measure its observations, n to go on to {next}."
            ),
            None => format!(
                "{done}: every test passes, the course's last. Press o to measure its observations."
            ),
        });
        self.tests = Some(tests);
        self.next_job()
    }

    /// `o`: measure the current exercise's observations, unless its tests
    /// have shown that none passes (nothing would be measured: say so once).
    fn observe(&mut self) -> Reaction {
        let none_passes = self
            .tests
            .as_ref()
            .map(Passing::of)
            .is_some_and(|p| !p.builds || p.passed == 0);
        if none_passes {
            let id = self.current_entry().map_or("", |e| e.id.as_str());
            self.notice = Some(format!(
                "{id}: no test passes yet, so there is nothing to measure: its observations are measured once tests pass."
            ));
            return Reaction::Continue;
        }
        self.request(Work::Observations(self.current))
    }

    fn go_to(&mut self, exercise: usize) {
        self.current = exercise;
        self.tests = None;
        self.observations = None;
        self.hints_shown = 0;
        self.view = Screen::Exercise;
    }

    /// Start `job` now, or after the job that is running.
    fn request(&mut self, job: Work) -> Reaction {
        if self.finished() {
            return Reaction::Continue;
        }
        if self.running.is_some() {
            self.queued = Some(job);
            return Reaction::Continue;
        }
        self.running = Some(job);
        Reaction::Start(job)
    }

    /// What was asked for meanwhile; else, once the watch has settled, the
    /// tests of an exercise not run yet, so that the list (`l`) knows every
    /// exercise (a stub's take no build).
    fn next_job(&mut self) -> Reaction {
        if let Some(job) = self.queued.take() {
            return self.request(job);
        }
        let not_run = self.progress.iter().position(Option::is_none);
        match not_run {
            Some(exercise) if !self.settling && self.running.is_none() => {
                self.running = Some(Work::Tests(exercise));
                Reaction::Start(Work::Tests(exercise))
            }
            _ => Reaction::Continue,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::TestResult;

    pub(crate) fn entries(n: usize) -> Vec<Entry> {
        (1..=n)
            .map(|i| Entry {
                id: format!("ex0{i}"),
                title: format!("Exercise {i}"),
                dir: PathBuf::from(format!("exercises/ex0{i}")),
                hints: vec![format!("first hint of ex0{i}"), "second hint".into()],
            })
            .collect()
    }

    /// A test run where `passed` of `total` tests pass.
    pub(crate) fn tests(passed: usize, total: usize) -> TestsReport {
        TestsReport {
            points: 0.0,
            max_points: 10.0,
            build_error: None,
            tests: (0..total)
                .map(|i| TestResult {
                    name: format!("exNN::test_{i}"),
                    status: if i < passed {
                        TestStatus::Passed
                    } else {
                        TestStatus::Failed
                    },
                    seconds: 0.01,
                    points: 0.0,
                    max_points: 1.0,
                    output: format!(
                        "thread 'test_{i}' panicked at src/lib.rs:1:1:\nassertion failed in test_{i}\n"
                    ),
                    failure: (i >= passed).then(|| format!("assertion failed in test_{i}")),
                })
                .collect(),
            stub_src: false,
        }
    }

    fn ran(exercise: usize, passed: usize, total: usize) -> Event {
        Event::TestsRan {
            exercise,
            tests: tests(passed, total),
        }
    }

    #[test]
    fn it_starts_with_the_first_exercise_and_passes_over_finished_ones() {
        let mut state = State::new(entries(3), false);
        assert_eq!(state.start(), Reaction::Start(Work::Tests(0)));
        assert_eq!(state.handle(ran(0, 2, 2)), Reaction::Start(Work::Tests(1)));
        // Settled on ex02; then ex03's tests run too, for the list.
        assert_eq!(state.handle(ran(1, 1, 2)), Reaction::Start(Work::Tests(2)));
        assert_eq!(state.current, 1);
        assert_eq!(state.tests, Some(tests(1, 2)));
        assert!(state.message.as_deref().unwrap().contains("On to ex02"));
        assert_eq!(state.handle(ran(2, 0, 2)), Reaction::Continue);
        assert_eq!(state.current, 1, "a run for the list changes nothing else");
        assert_eq!(state.tests, Some(tests(1, 2)));
        assert!(state.progress.iter().all(Option::is_some));
    }

    #[test]
    fn an_exercise_that_comes_to_pass_stays_for_its_observations_until_n() {
        let mut state = State::new(entries(2), false);
        state.start();
        state.handle(ran(0, 0, 3));
        state.handle(ran(1, 0, 3));
        assert_eq!(
            state.handle(Event::Saved(vec![0])),
            Reaction::Start(Work::Tests(0))
        );
        assert_eq!(state.handle(ran(0, 3, 3)), Reaction::Continue);
        assert_eq!(state.current, 0, "it stays");
        let message = state.message.clone().unwrap();
        assert!(
            message.contains("ex01: every test passes. Press o") && message.contains("ex02"),
            "{message}"
        );
        // A save in it runs its tests again, and it still stays.
        assert_eq!(
            state.handle(Event::Saved(vec![0])),
            Reaction::Start(Work::Tests(0))
        );
        assert_eq!(state.handle(ran(0, 3, 3)), Reaction::Continue);
        assert_eq!(state.current, 0);
        assert_eq!(
            state.handle(Event::Key(Key::Observe)),
            Reaction::Start(Work::Observations(0))
        );
        let measured = Event::Measured {
            exercise: 0,
            observations: Vec::new(),
        };
        assert_eq!(state.handle(measured), Reaction::Continue);
        assert_eq!(
            state.handle(Event::Key(Key::Next)),
            Reaction::Start(Work::Tests(1))
        );
        assert_eq!(state.current, 1);
        assert_eq!(state.tests, None, "ex02's tests run now");
        assert_eq!(state.message, None);
    }

    #[test]
    fn saves_during_a_run_run_the_tests_once_more_afterwards() {
        let mut state = State::new(entries(1), false);
        state.start();
        assert_eq!(state.handle(Event::Saved(vec![0])), Reaction::Continue);
        assert_eq!(state.handle(Event::Saved(vec![0])), Reaction::Continue);
        assert_eq!(state.handle(ran(0, 0, 1)), Reaction::Start(Work::Tests(0)));
        assert_eq!(state.handle(ran(0, 0, 1)), Reaction::Continue);
    }

    #[test]
    fn with_manual_run_only_r_runs_the_tests() {
        let mut state = State::new(entries(1), true);
        state.start();
        state.handle(ran(0, 0, 1));
        assert_eq!(state.handle(Event::Saved(vec![0])), Reaction::Continue);
        assert_eq!(
            state.handle(Event::Key(Key::Run)),
            Reaction::Start(Work::Tests(0))
        );
    }

    #[test]
    fn a_save_in_another_exercise_makes_it_current() {
        let mut state = State::new(entries(3), false);
        state.start();
        state.handle(ran(0, 0, 1));
        state.handle(ran(1, 0, 1));
        state.handle(ran(2, 0, 1));
        assert_eq!(
            state.handle(Event::Saved(vec![2])),
            Reaction::Start(Work::Tests(2))
        );
        assert_eq!(state.current, 2);
    }

    #[test]
    fn hints_come_one_at_a_time_up_to_the_last() {
        let mut state = State::new(entries(1), false);
        for expected in [1, 2, 2] {
            assert_eq!(state.handle(Event::Key(Key::Hint)), Reaction::Continue);
            assert_eq!(state.hints_shown, expected);
        }
    }

    #[test]
    fn o_measures_the_current_exercise_and_keeps_its_verdicts() {
        let mut state = State::new(entries(2), false);
        state.start();
        state.handle(ran(0, 1, 2));
        state.handle(ran(1, 0, 2));
        assert_eq!(
            state.handle(Event::Key(Key::Observe)),
            Reaction::Start(Work::Observations(0))
        );
        let measured = Event::Measured {
            exercise: 0,
            observations: Vec::new(),
        };
        assert_eq!(state.handle(measured), Reaction::Continue);
        assert_eq!(state.observations, Some(Vec::new()));
    }

    #[test]
    fn the_list_toggles_and_q_quits() {
        let mut state = State::new(entries(1), false);
        state.handle(Event::Key(Key::List));
        assert_eq!(state.view, Screen::List);
        state.handle(Event::Key(Key::List));
        assert_eq!(state.view, Screen::Exercise);
        assert_eq!(state.handle(Event::Key(Key::Quit)), Reaction::Quit);
        assert_eq!(state.failure, None);
    }

    #[test]
    fn a_resize_only_redraws() {
        let mut state = State::new(entries(2), false);
        state.start();
        state.handle(ran(0, 1, 2));
        state.handle(Event::Key(Key::Hint));
        let before = format!("{state:?}");
        assert_eq!(state.handle(Event::Resized), Reaction::Continue);
        assert_eq!(format!("{state:?}"), before);
    }

    #[test]
    fn a_broken_file_watch_stops_the_watch_and_says_why() {
        let mut state = State::new(entries(1), false);
        let event = Event::Failed("cannot watch the exercises' files: gone".into());
        assert_eq!(state.handle(event), Reaction::Quit);
        assert!(state.failure.as_deref().unwrap().contains("gone"));
    }

    #[test]
    fn when_every_exercise_is_done_nothing_more_runs() {
        let mut state = State::new(entries(1), false);
        state.start();
        assert_eq!(state.handle(ran(0, 1, 1)), Reaction::Continue);
        assert!(state.finished());
        assert_eq!(state.handle(Event::Key(Key::Run)), Reaction::Continue);
        assert_eq!(
            state.handle(Event::Saved(vec![0])),
            Reaction::Start(Work::Tests(0))
        );
    }

    #[test]
    fn a_stub_that_does_not_build_is_not_done() {
        let mut state = State::new(entries(2), false);
        state.start();
        let mut broken = tests(0, 0);
        broken.build_error = Some("error[E0308]".into());
        let event = Event::TestsRan {
            exercise: 0,
            tests: broken,
        };
        assert_eq!(state.handle(event), Reaction::Start(Work::Tests(1)));
        assert_eq!(state.current, 0);
    }

    #[test]
    fn o_with_no_passing_test_says_so_once_and_measures_nothing() {
        let mut state = State::new(entries(1), false);
        state.start();
        state.handle(ran(0, 0, 3));
        assert_eq!(state.handle(Event::Key(Key::Observe)), Reaction::Continue);
        let notice = state.notice.clone().unwrap();
        assert!(notice.starts_with("ex01: no test passes yet"), "{notice}");
        assert_eq!(state.running, None);
        state.handle(Event::Key(Key::Hint));
        assert_eq!(state.notice, None, "said once, until the next key");
        state.handle(ran(0, 1, 3));
        assert_eq!(
            state.handle(Event::Key(Key::Observe)),
            Reaction::Start(Work::Observations(0))
        );
    }

    #[test]
    fn the_first_build_is_said_to_take_a_while_until_a_build_ran() {
        let mut state = State::new(entries(2), false);
        state.first_build = true;
        state.start();
        let mut stubs = tests(0, 2);
        stubs.stub_src = true;
        state.handle(Event::TestsRan {
            exercise: 0,
            tests: stubs,
        });
        assert!(state.first_build, "a stub's tests build nothing");
        state.handle(ran(1, 0, 2));
        assert!(!state.first_build);
    }

    #[test]
    fn keys_are_read_from_characters() {
        assert_eq!(Key::from_char('h'), Some(Key::Hint));
        assert_eq!(Key::from_char('Q'), Some(Key::Quit));
        assert_eq!(Key::from_char('x'), None);
    }
}
