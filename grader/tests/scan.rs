//! The source scan on whole submissions graded strictly, as an instructor
//! grades them: honest code that merely shares a name with a forbidden
//! item earns every point, and a forbidden item under another name loses
//! the exercise. Each submission is the reference solutions with exact
//! edits, built at test time; the scan's corpus of single files is in
//! `src/scan/tests.rs`.

use grader::grade;
use grader::model::{ExerciseReport, GradeReport, TestStatus, Verdict};
use grader::report::progress::Progress;
use grader::workspace::{self, Source};
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

mod support;
use support::{copy_tree, course, repo_root};

/// One grading at a time: each builds, and the machine has 2 cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const EX03_LIB: &str = "ex03-process-crunch/src/lib.rs";

/// Replace the only occurrence of `find` in the file by `replace`.
struct Edit {
    file: &'static str,
    find: &'static str,
    replace: &'static str,
}

/// Every reference solution as a student's repository (`exercises/*/src`),
/// with `edits` written in, in a fresh directory.
fn submission(edits: &[Edit]) -> tempfile::TempDir {
    let root = tempfile::Builder::new()
        .prefix("scan-submission-")
        .tempdir()
        .unwrap();
    for ex in &course().exercises {
        let dir = ex.dir.file_name().unwrap();
        let from = repo_root().join("solutions").join(dir).join("src");
        copy_tree(&from, &root.path().join("exercises").join(dir).join("src"));
    }
    for edit in edits {
        let path = root.path().join("exercises").join(edit.file);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(edit.find).count(),
            1,
            "solutions/{} should contain {:?} once",
            edit.file,
            edit.find
        );
        fs::write(&path, text.replacen(edit.find, edit.replace, 1)).unwrap();
    }
    root
}

/// Grade `exercise` of the submission strictly, with its observations.
fn grade_strictly(root: &tempfile::TempDir, exercise: &str) -> GradeReport {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let options = grade::Options {
        exercises: vec![exercise.to_owned()],
        source: Source::Submission(root.path().to_path_buf()),
        repeats: None,
        observations: true,
        strict: true,
        build_stubs: false,
    };
    let report = grade::grade(&course(), &options, &Progress::quiet()).unwrap();
    let ex = &report.exercises[0];
    eprintln!(
        "{exercise}: {} of {} points; flags {:?}",
        ex.score, ex.max_score, report.integrity.flagged
    );
    for o in &ex.observations {
        eprintln!("  {} {:?}: {}", o.id, o.verdict, o.reason);
    }
    report
}

fn lost_tests(ex: &ExerciseReport) -> Vec<&str> {
    ex.tests
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .map(|t| t.name.as_str())
        .collect()
}

/// What grading scans: each exercise's `src` of the prepared submission.
#[test]
fn the_reference_solutions_as_a_submission_have_no_flag() {
    let root = submission(&[]);
    let course = course();
    let dirs: Vec<PathBuf> = course.exercises.iter().map(|e| e.dir.clone()).collect();
    let given: Vec<PathBuf> = course
        .exercises
        .iter()
        .flat_map(|e| e.given_files())
        .collect();
    let source = Source::Submission(root.path().to_path_buf());
    let tree = workspace::prepare(&repo_root(), &dirs, &given, &source).unwrap();
    for ex in &course.exercises {
        let src = tree.student_src(&ex.dir).unwrap();
        let given: Vec<PathBuf> = ex
            .given_files()
            .iter()
            .map(|f| tree.root().join(f))
            .collect();
        let rules = grader::workspace::scan::Rules {
            starts_processes: ex.starts_processes,
        };
        let flags = grader::workspace::scan::scan_src(tree.root(), &src, &given, rules);
        assert_eq!(flags, [], "{}", ex.id);
    }
}

#[test]
fn a_worker_pipe_in_a_variable_named_stdout_earns_every_point() {
    let root = submission(&[
        Edit {
            file: EX03_LIB,
            find: "/// [`process_crunch`], keeping with each result the pid of the worker that\n/// sent it.\n",
            replace: "/// [`process_crunch`], keeping with each result the pid of the worker that\n/// sent it, read from the worker's stdout (its /proc/<pid>/fd/1).\n",
        },
        Edit {
            file: EX03_LIB,
            find: "            let pipes = worker.take_pipes();\n",
            replace: "            let stdin = worker.child.stdin.take().expect(\"piped\");
            let stdout = worker.child.stdout.take().expect(\"piped\");
            let pid = worker.child.id();
            let pipes = Pipes { pid, to_worker: stdin, from_worker: BufReader::new(stdout) };
",
        },
    ]);
    let report = grade_strictly(&root, "ex03");
    assert!(report.integrity.strict);
    assert_eq!(report.integrity.flagged, []);
    let ex = &report.exercises[0];
    assert_eq!(lost_tests(ex), Vec::<&str>::new());
    // A busy machine may leave an observation unjudged, never failed.
    for o in &ex.observations {
        assert!(
            matches!(o.verdict, Verdict::Pass | Verdict::Inconclusive),
            "{}: {}",
            o.id,
            o.reason
        );
    }
    let unjudged: f64 = ex
        .observations
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .map(|o| o.max_points)
        .sum();
    assert!((ex.max_score - ex.score - unjudged).abs() < 1e-9);
}

#[test]
fn std_env_args_under_another_name_loses_the_exercise() {
    let root = submission(&[
        Edit {
            file: EX03_LIB,
            find: "use std::sync::mpsc;\n",
            replace: "use std::sync::mpsc;\nuse std::env as environment;\n",
        },
        Edit {
            file: EX03_LIB,
            find: "    if n_procs == 0 {\n",
            replace: "    let _called_as = environment::args().next();\n    if n_procs == 0 {\n",
        },
    ]);
    let report = grade_strictly(&root, "ex03");
    let ex = &report.exercises[0];
    assert_eq!(ex.score, 0.0);
    let flagged = report.integrity.flags_of("ex03").expect("ex03 is flagged");
    assert!(flagged.points_withheld);
    assert_eq!(flagged.points_at_stake, ex.max_score);
    let whats: Vec<&str> = flagged.flags.iter().map(|f| f.what.as_str()).collect();
    assert_eq!(
        whats,
        ["std::env::args (the command line is the grader's): `environment::args` is std::env::args"]
    );
    assert!(flagged.flags[0].advice.contains("parameters"));
    // The tests ran and passed; only the flag costs the points.
    assert_eq!(lost_tests(ex), Vec::<&str>::new());
}
