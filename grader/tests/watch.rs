//! `grader watch` as a student runs it: the real binary in a pseudo-terminal,
//! over a copy of the course, with keys typed, files saved and the terminal
//! resized. What the test reads is the screen a terminal would show (the
//! output parsed by a terminal emulator), not the raw bytes.
//!
//! Every wait has a bound that fails the test with the screen printed; no
//! bound is a claim about speed (the first wait of a first run includes a
//! cold build of the exercises' dependencies). Student code runs in the
//! sandbox where bubblewrap is installed, unconfined elsewhere: these tests
//! need cargo, a pseudo-terminal, and `stty` (coreutils) to read the
//! terminal's modes after the watch quits.

use grader::course::Course;
use portable_pty::{
    native_pty_system, Child, CommandBuilder, ExitStatus, MasterPty, PtySize, SlavePty,
};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

mod support;
use support::{copy_tree, repo_root};

/// The longest any one wait may last: a cold build of the exercises'
/// dependencies on a busy 2-core machine fits many times over.
const WAIT: Duration = Duration::from_secs(600);
/// How long after a save a watch that runs on saves has surely seen it:
/// many times the debounce of file events (200 ms).
const SAVE_SEEN: Duration = Duration::from_secs(3);
/// The terminal the watch starts in.
const ROWS: u16 = 24;
const COLUMNS: u16 = 80;

/// A copy of this course for the watch to work on and the tests to save
/// into, with the sources fresh from the repository. It lives in cargo's
/// directory for integration tests' files, where its build directory is
/// kept: only the first run builds the exercises' dependencies. One copy for
/// every test, used one test at a time (see [`one_at_a_time`]).
fn course_copy() -> &'static Path {
    static COURSE: OnceLock<PathBuf> = OnceLock::new();
    COURSE.get_or_init(|| {
        let course = Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch-course");
        fs::create_dir_all(&course).unwrap();
        for entry in fs::read_dir(&course).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("target") {
                continue;
            }
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.unwrap();
        }
        let repo = repo_root();
        for file in ["Cargo.lock", "course.yaml"] {
            fs::copy(repo.join(file), course.join(file)).unwrap();
        }
        let manifest = fs::read_to_string(repo.join("Cargo.toml")).unwrap();
        fs::write(course.join("Cargo.toml"), without_the_grader(&manifest)).unwrap();
        for dir in ["exercises", "solutions"] {
            copy_tree(&repo.join(dir), &course.join(dir));
        }
        course
    })
}

/// The workspace manifest `text` without the grader, which the copy leaves
/// out: its members are the exercises.
fn without_the_grader(text: &str) -> String {
    let mut manifest: toml_edit::DocumentMut = text.parse().unwrap();
    let workspace = manifest["workspace"].as_table_mut().unwrap();
    workspace.remove("default-members");
    workspace["members"]
        .as_array_mut()
        .unwrap()
        .retain(|member| member.as_str() != Some("grader"));
    manifest.to_string()
}

/// One watch at a time: each builds and runs tests on a 2-core machine, and
/// they share the course copy.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The course's first two exercises as the watch names them.
struct Exercises {
    /// ex01's source file, relative to the course root.
    ex01_lib: PathBuf,
    ex01_header: String,
    ex01_first_hint: String,
    ex02_header: String,
}

/// Put ex01's stub back in the copy (an earlier test may have solved it)
/// and say how the watch names the first two exercises.
fn fresh_ex01(course: &Path) -> Exercises {
    let loaded = Course::load(&course.join("course.yaml")).unwrap();
    let [ex01, ex02, ..] = &loaded.exercises[..] else {
        panic!("the course has two exercises or more");
    };
    let ex01_lib = ex01.dir.join("src/lib.rs");
    fs::copy(repo_root().join(&ex01_lib), course.join(&ex01_lib)).unwrap();
    let total = loaded.exercises.len();
    Exercises {
        ex01_header: format!("{} {} (1 of {total})", ex01.id, ex01.title),
        ex01_first_hint: format!("hint 1 of {}: {}", ex01.hints.len(), ex01.hints[0]),
        ex02_header: format!("{} {} (2 of {total})", ex02.id, ex02.title),
        ex01_lib,
    }
}

/// Save ex01's reference solution over the student's file, as an editor
/// does (the whole file written again).
fn save_the_solution(course: &Path, ex01_lib: &Path) {
    // solutions/<exercise dir name>/src/lib.rs
    let exercise_dir = ex01_lib.strip_prefix("exercises").unwrap();
    let solution = fs::read(course.join("solutions").join(exercise_dir)).unwrap();
    fs::write(course.join(ex01_lib), solution).unwrap();
}

/// Text as the screen may show it: wrapped anywhere words meet.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `grader watch` running in a pseudo-terminal, its output parsed into a
/// screen as a terminal emulator would.
struct Watch {
    master: Box<dyn MasterPty + Send>,
    slave: Box<dyn SlavePty + Send>,
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    terminal: Arc<Mutex<vt100::Parser>>,
}

impl Watch {
    fn start(course: &Path, args: &[&str]) -> Watch {
        let size = PtySize {
            rows: ROWS,
            cols: COLUMNS,
            pixel_width: 0,
            pixel_height: 0,
        };
        let pty = native_pty_system().openpty(size).unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_grader"));
        command.arg("watch");
        command.arg("--course");
        command.arg(course.join("course.yaml"));
        command.args(args);
        command.cwd(course);
        command.env("NO_COLOR", "1");
        let child = pty.slave.spawn_command(command).unwrap();
        let terminal = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLUMNS, 0)));
        // The pseudo-terminal's output is read as it comes, or the watch
        // would block writing to it.
        let mut output = pty.master.try_clone_reader().unwrap();
        let screen = Arc::clone(&terminal);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends when every end of the terminal is closed.
            while let Ok(n @ 1..) = output.read(&mut buffer) {
                screen.lock().unwrap().process(&buffer[..n]);
            }
        });
        Watch {
            keyboard: pty.master.take_writer().unwrap(),
            master: pty.master,
            slave: pty.slave,
            child,
            terminal,
        }
    }

    /// The screen as a terminal shows it now, one line per row.
    fn screen(&self) -> String {
        self.terminal.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows what `shows` accepts (`what` says what
    /// that is); that screen.
    fn wait_until(&self, what: &str, shows: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if shows(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < WAIT,
                "waited {WAIT:?} for the watch to show {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the screen shows each of `texts`, wrapped or not.
    fn wait_for(&self, texts: &[&str]) -> String {
        let wanted: Vec<String> = texts.iter().map(|t| flat(t)).collect();
        self.wait_until(&format!("{wanted:?}"), |screen| {
            let screen = flat(screen);
            wanted.iter().all(|t| screen.contains(t.as_str()))
        })
    }

    fn press(&mut self, key: char) {
        write!(self.keyboard, "{key}").unwrap();
        self.keyboard.flush().unwrap();
    }

    /// Resize the terminal, as a window is: the watch is told (SIGWINCH)
    /// and the emulated screen keeps what fits, as a terminal does.
    fn resize(&mut self, rows: u16, columns: u16) {
        self.terminal
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, columns);
        let size = PtySize {
            rows,
            cols: columns,
            pixel_width: 0,
            pixel_height: 0,
        };
        self.master.resize(size).unwrap();
    }

    /// Press `q` and wait for the watch to end; its exit code.
    fn quit(&mut self) -> u32 {
        self.press('q');
        wait_for_exit(&mut *self.child, "the watch, after `q`,", &self.terminal).exit_code()
    }

    /// The terminal's modes after the watch ended, as `stty -a` run in it
    /// prints them: `icanon` and `echo`, or `-icanon` and `-echo` in raw
    /// mode.
    fn modes_left_behind(&mut self) -> Vec<String> {
        let mut command = CommandBuilder::new("stty");
        command.arg("-a");
        let mut stty = self.slave.spawn_command(command).unwrap();
        let status = wait_for_exit(&mut *stty, "stty -a", &self.terminal);
        assert!(status.success(), "stty -a failed: {}", self.screen());
        let screen = self.wait_until("the output of stty -a", |s| {
            s.contains("icanon") && s.contains("echok")
        });
        screen
            .split(|c: char| c.is_whitespace() || c == ';')
            .map(str::to_owned)
            .collect()
    }
}

/// Wait for `child` to end, showing `terminal`'s screen if it does not.
fn wait_for_exit(
    child: &mut (dyn Child + Send + Sync),
    what: &str,
    terminal: &Mutex<vt100::Parser>,
) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < WAIT,
            "{what} did not end within {WAIT:?}; the screen:\n{}",
            terminal.lock().unwrap().screen().contents()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Watch {
    /// A failed test leaves no watch running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// What every test starts with: the first unfinished exercise, its tests
/// run, how many pass and the first failure.
fn shows_ex01_failing(watch: &Watch, exercises: &Exercises) {
    let screen = watch.wait_for(&[&exercises.ex01_header, "tests pass", "first failure:"]);
    let shown = flat(&screen);
    assert!(
        shown.contains(" 0 of ") && shown.contains("see README.md, section"),
        "no test of the stub passes, and its failure points at the lesson:\n{screen}"
    );
}

/// Save ex01's solution: the watch stays on ex01 when its tests pass, also
/// after another save, measures its observations on `o`, and goes on to
/// ex02 on `n`.
fn solve_ex01_and_measure_it(watch: &mut Watch, course: &Path, exercises: &Exercises) {
    save_the_solution(course, &exercises.ex01_lib);
    let passing =
        "ex01: every test passes. Press o to measure its observations, n to go on to ex02.";
    watch.wait_for(&[passing, &exercises.ex01_header]);

    // A save in the finished exercise runs its tests and stays there.
    save_the_solution(course, &exercises.ex01_lib);
    watch.wait_for(&["running the tests"]);
    let screen = watch.wait_until("ex01's tests run again", |s| {
        !s.contains("running the tests") && flat(s).contains(&flat(passing))
    });
    assert!(screen.contains(&exercises.ex01_header), "{screen}");

    // Its observations, measured before moving on: a verdict for each.
    watch.press('o');
    watch.wait_for(&["measuring the observations"]);
    let measured = watch.wait_until("ex01's observations", |s| {
        s.contains("observations:") && !s.contains("measuring the observations")
    });
    // Each observation has a verdict line; the first shows on any screen.
    let course_file = Course::load(&course.join("course.yaml")).unwrap();
    let first = &course_file.exercises[0].observations[0].id;
    assert!(measured.contains(first.as_str()), "{first}: {measured}");

    watch.press('n');
    watch.wait_for(&[&exercises.ex02_header, "tests pass"]);
}

#[test]
fn a_save_runs_the_tests_and_a_passing_exercise_stays_for_its_observations() {
    let _one = one_at_a_time();
    let course = course_copy();
    let exercises = fresh_ex01(course);
    let mut watch = Watch::start(course, &[]);
    shows_ex01_failing(&watch, &exercises);

    // Nothing to measure yet: said once, not once per observation.
    watch.press('o');
    let screen = watch.wait_for(&["ex01: no test passes yet, so there is nothing to measure"]);
    assert!(!screen.contains("observations:"), "{screen}");

    watch.press('h');
    watch.wait_for(&[&exercises.ex01_first_hint]);
    watch.press('l');
    watch.wait_for(&["-> ex01", "ex02", "(l: back to the exercise)"]);
    watch.press('l');
    watch.wait_until("the exercise again", |s| {
        s.contains(&exercises.ex01_header) && !s.contains("(l: back")
    });

    // Narrower and shorter: the keys line no longer fits on one row. The
    // emulated terminal cut every row at 50 columns, so the whole keys line
    // is seen again only once the watch redraws at the new width.
    watch.resize(20, 50);
    let keys =
        "h hint · l list · r run again · o measure the observations · n next exercise · q quit";
    let screen = watch.wait_for(&[keys]);
    assert!(
        screen.starts_with(&exercises.ex01_header),
        "the header tops the redrawn screen:\n{screen}"
    );
    for once in [exercises.ex01_header.as_str(), "h hint ·"] {
        assert_eq!(
            screen.matches(once).count(),
            1,
            "nothing is left of the old layout:\n{screen}"
        );
    }

    solve_ex01_and_measure_it(&mut watch, course, &exercises);

    assert_eq!(watch.quit(), 0, "{}", watch.screen());
    assert!(!watch.terminal.lock().unwrap().screen().alternate_screen());
    let modes = watch.modes_left_behind();
    for mode in ["icanon", "echo"] {
        assert!(
            modes.iter().any(|m| m == mode),
            "the watch left the terminal in raw mode (no {mode}): {modes:?}"
        );
    }
}

#[test]
fn with_manual_run_a_save_runs_nothing_until_r() {
    let _one = one_at_a_time();
    let course = course_copy();
    let exercises = fresh_ex01(course);
    let mut watch = Watch::start(course, &["--manual-run"]);
    shows_ex01_failing(&watch, &exercises);

    save_the_solution(course, &exercises.ex01_lib);
    std::thread::sleep(SAVE_SEEN);
    // Any key redraws the screen from the watch's state as it is now.
    watch.press('l');
    let list = watch.wait_for(&["(l: back to the exercise)"]);
    assert!(
        list.contains("-> ex01") && !list.contains("done"),
        "the save ran the tests:\n{list}"
    );
    watch.press('l');
    let screen = watch.wait_until("the exercise again", |s| {
        s.contains(&exercises.ex01_header) && !s.contains("(l: back")
    });
    assert!(
        !screen.contains("running the tests") && screen.contains("first failure:"),
        "the save ran the tests:\n{screen}"
    );

    watch.press('r');
    watch.wait_for(&[
        "ex01: every test passes. Press o to measure its observations",
        &exercises.ex01_header,
    ]);
    assert_eq!(watch.quit(), 0, "{}", watch.screen());
}
