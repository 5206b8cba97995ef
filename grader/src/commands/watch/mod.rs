//! `grader watch`: the current exercise's tests, run again on every save.
//!
//! Four small parts: [`state`] decides (a state machine fed with events),
//! [`view`] draws, [`terminal`] and [`files`] turn keys and saves into
//! events, and [`event_loop`] ties them to a [`Runner`] that runs one job at
//! a time on a thread of its own, so that keys are answered while tests run.

pub mod files;
pub mod state;
pub mod terminal;
pub mod view;

use crate::cli::WatchArgs;
use crate::course::load_course;
use crate::course::Course;
use crate::grade::Grader;
use crate::model::{ObservationResult, TestsReport};
use crate::report::progress::{Phase, Progress};
use crate::workspace::Source;
use crate::EXIT_OK;
use state::{Entry, Event, Reaction, State, Work};
use std::sync::mpsc::{self, Receiver, Sender};
use terminal::Terminal;

/// Runs the jobs the watch asks for.
pub trait Runner: Sync {
    /// Build and run exercise `exercise`'s tests.
    fn tests(&self, exercise: usize) -> TestsReport;
    /// Run its tests again, then measure and judge its observations.
    fn observations(&self, exercise: usize) -> Vec<ObservationResult>;
    /// Stop the job that is running, if any: the watch is ending.
    fn cancel(&self) {}
}

/// `grader watch [--manual-run]`.
pub fn run(args: &WatchArgs) -> anyhow::Result<u8> {
    let course = load_course(args.course.course.as_deref())?;
    anyhow::ensure!(
        !course.exercises.is_empty(),
        "the course has no exercises to watch"
    );
    let exercises: Vec<_> = course.exercises.iter().collect();
    let progress = Progress::quiet();
    let grader = Grader::new(&course, &exercises, &Source::Exercises, None, &progress)?;
    let first_build = Phase::building(&grader.tree().target_dir) == Phase::BuildingFirstTime;
    let runner = GraderRunner {
        course: &course,
        grader,
    };
    let (sender, events) = mpsc::channel();
    let _files = if args.manual_run {
        None
    } else {
        let root = course.root();
        let src_dirs: Vec<_> = course
            .exercises
            .iter()
            .map(|e| root.join(&e.dir).join("src"))
            .collect();
        Some(files::watch(&src_dirs, sender.clone())?)
    };
    let terminal = Terminal::open()?;
    let interactive = terminal.interactive();
    let keys = sender.clone();
    // Blocked reading the keyboard until `q`: never joined.
    std::thread::spawn(move || Terminal::read_keys(interactive, keys));
    let entries = course.exercises.iter().map(Entry::from).collect();
    let mut state = State::new(entries, args.manual_run);
    state.first_build = first_build;
    let result = event_loop(&mut state, &events, sender, &runner, &mut |screen| {
        terminal.draw(screen)
    });
    drop(terminal);
    result?;
    match state.failure {
        Some(why) => Err(anyhow::anyhow!(why)),
        None => Ok(EXIT_OK),
    }
}

/// Feed `events` to `state` until it says quit, running the jobs it asks for
/// on a worker thread (its results come back through `sender`) and drawing
/// the screen after every event.
pub fn event_loop(
    state: &mut State,
    events: &Receiver<Event>,
    sender: Sender<Event>,
    runner: &dyn Runner,
    draw: &mut dyn FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (jobs, work) = mpsc::channel::<Work>();
    std::thread::scope(|scope| {
        scope.spawn(move || work_on(runner, &work, &sender));
        let mut reaction = state.start();
        loop {
            match reaction {
                Reaction::Quit => {
                    // Quitting does not wait for a build or a test to end.
                    runner.cancel();
                    break;
                }
                Reaction::Start(job) => {
                    // The worker ends only when `jobs` is dropped.
                    let _ = jobs.send(job);
                }
                Reaction::Continue => {}
            }
            draw(&view::render(state))?;
            let Ok(event) = events.recv() else { break };
            reaction = state.handle(event);
        }
        // Dropping `jobs` ends the worker once its current job is done.
        drop(jobs);
        Ok(())
    })
}

/// The worker: one job at a time, each result sent back as an event.
fn work_on(runner: &dyn Runner, jobs: &Receiver<Work>, events: &Sender<Event>) {
    for job in jobs {
        let event = match job {
            Work::Tests(exercise) => Event::TestsRan {
                exercise,
                tests: runner.tests(exercise),
            },
            Work::Observations(exercise) => Event::Measured {
                exercise,
                observations: runner.observations(exercise),
            },
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// The grader's own runner: the grading loop `grade`, `check` and `list`
/// share.
struct GraderRunner<'a> {
    course: &'a Course,
    grader: Grader<'a>,
}

impl Runner for GraderRunner<'_> {
    fn tests(&self, exercise: usize) -> TestsReport {
        let ex = &self.course.exercises[exercise];
        // One exercise in, one report out.
        self.grader
            .grade_all(&[ex], false)
            .exercises
            .remove(0)
            .tests
    }

    fn cancel(&self) {
        crate::sandbox::kill_running();
    }

    fn observations(&self, exercise: usize) -> Vec<ObservationResult> {
        let ex = &self.course.exercises[exercise];
        let run = self.grader.grade_all(&[ex], true);
        run.exercises
            .into_iter()
            .flat_map(|e| e.observations)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::state::tests::{entries, tests};
    use super::state::Key;
    use super::*;
    use std::sync::Mutex;

    /// A runner whose exercises pass once they have been "saved" enough.
    struct Scripted {
        /// Per exercise: how many tests pass on each run, in order.
        runs: Mutex<Vec<Vec<usize>>>,
        log: Mutex<Vec<Work>>,
    }

    impl Runner for Scripted {
        fn tests(&self, exercise: usize) -> TestsReport {
            self.log.lock().unwrap().push(Work::Tests(exercise));
            let mut runs = self.runs.lock().unwrap();
            let passed = if runs[exercise].len() > 1 {
                runs[exercise].remove(0)
            } else {
                runs[exercise][0]
            };
            tests(passed, 2)
        }

        fn observations(&self, exercise: usize) -> Vec<ObservationResult> {
            self.log.lock().unwrap().push(Work::Observations(exercise));
            Vec::new()
        }
    }

    #[test]
    fn a_save_runs_the_tests_and_a_passing_exercise_stays_for_o_until_n() {
        let runner = Scripted {
            // ex01 fails once, then passes; ex02 fails.
            runs: Mutex::new(vec![vec![1, 2], vec![0]]),
            log: Mutex::new(Vec::new()),
        };
        let mut state = State::new(entries(2), false);
        let (sender, events) = mpsc::channel();
        let script = sender.clone();
        let mut screens = Vec::new();
        // Act once on what the screen shows, as a student would.
        let mut steps = vec![
            ("1 of 2 tests pass", Event::Saved(vec![0])),
            ("Press o to measure", Event::Key(Key::Observe)),
            ("observations:", Event::Key(Key::Next)),
            ("0 of 2 tests pass", Event::Key(Key::Quit)),
        ]
        .into_iter()
        .peekable();
        event_loop(&mut state, &events, sender, &runner, &mut |screen| {
            screens.push(screen.to_owned());
            if let Some((_, event)) = steps.next_if(|(shown, _)| screen.contains(shown)) {
                script.send(event).unwrap();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            *runner.log.lock().unwrap(),
            [
                Work::Tests(0),
                // ex02's, for the list, while the student reads.
                Work::Tests(1),
                Work::Tests(0),
                Work::Observations(0),
                Work::Tests(1),
            ]
        );
        let last = screens.last().unwrap();
        assert!(last.contains("ex02 Exercise 2 (2 of 2)"), "{last}");
    }

    /// A runner whose test run lasts until it is cancelled.
    struct Endless {
        cancelled: (Mutex<bool>, std::sync::Condvar),
    }

    impl Runner for Endless {
        fn tests(&self, _: usize) -> TestsReport {
            let (lock, wake) = &self.cancelled;
            // A bound on waiting, so that a broken cancel fails the test
            // instead of hanging it.
            let (cancelled, _) = wake
                .wait_timeout_while(
                    lock.lock().unwrap(),
                    std::time::Duration::from_secs(120),
                    |cancelled| !*cancelled,
                )
                .unwrap();
            assert!(*cancelled, "quitting did not cancel the running job");
            tests(0, 1)
        }

        fn observations(&self, _: usize) -> Vec<ObservationResult> {
            Vec::new()
        }

        fn cancel(&self) {
            *self.cancelled.0.lock().unwrap() = true;
            self.cancelled.1.notify_all();
        }
    }

    #[test]
    fn quitting_during_a_run_cancels_it() {
        let runner = Endless {
            cancelled: (Mutex::new(false), std::sync::Condvar::new()),
        };
        let mut state = State::new(entries(1), false);
        let (sender, events) = mpsc::channel();
        let script = sender.clone();
        event_loop(&mut state, &events, sender, &runner, &mut |screen| {
            if screen.contains("running the tests") {
                script.send(Event::Key(Key::Quit)).unwrap();
            }
            Ok(())
        })
        .unwrap();
        assert!(*runner.cancelled.0.lock().unwrap());
    }
}
