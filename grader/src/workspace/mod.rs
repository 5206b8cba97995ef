//! Which tree is graded: the course's exercises, the reference solutions, or
//! a student's submission copied into a fresh instructor-owned tree.
//!
//! A submission contributes only its `exercises/*/src/**` files, for the
//! exercise directories the course knows. Everything else (tests, harnesses,
//! Cargo.toml files, build scripts, course.yaml, Cargo.lock) is the
//! instructor's copy, so nothing a student edits outside `src` takes part.

mod copy;
pub mod manifest;
pub mod scan;
mod seal;

use copy::{copy_course, copy_submission, restore_given};
use seal::{same_files, CourseSeal};

use crate::sandbox::isolation::{Activity, Confined, Handed, Isolation, Visibility};
use anyhow::{bail, Context};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The tree to grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The course workspace itself (what a student works on).
    Exercises,
    /// The reference solutions' workspace (`solutions/Cargo.toml`).
    Solutions,
    /// A submission directory: only its `exercises/*/src/**` files are used.
    Submission(PathBuf),
}

/// A tree ready for cargo.
#[derive(Debug)]
pub struct GradedTree {
    /// "exercises", "solutions" or "submission <dir>".
    pub label: String,
    /// The Cargo.toml to pass as `--manifest-path`.
    pub manifest: PathBuf,
    /// `CARGO_TARGET_DIR` for every cargo call on this tree.
    pub target_dir: PathBuf,
    /// The box builds and runs of this tree go into.
    pub isolation: Isolation,
    /// What a confined build or run of this tree sees.
    pub view: Visibility,
    /// Keeps a submission's temporary copy alive as long as the tree.
    _temp: Option<tempfile::TempDir>,
    /// The instructor's files a submission's copy was made from, as they
    /// were before grading (none for the trusted trees).
    seal: Option<CourseSeal>,
    /// What the box holds of this tree while it is graded.
    _handed: Option<Handed>,
}

impl GradedTree {
    /// The directory of the tree's root Cargo.toml.
    pub fn root(&self) -> &Path {
        self.manifest.parent().unwrap_or(Path::new("."))
    }

    /// The `src` directory of the exercise in `exercise_dir` (relative to
    /// the course) when it holds a student's code: not for the solutions.
    pub fn student_src(&self, exercise_dir: &Path) -> Option<PathBuf> {
        (self.label != SOLUTIONS_LABEL).then(|| self.root().join(exercise_dir).join("src"))
    }

    /// Check the instructor's files against their checksums from before
    /// grading and put back every one that changed or went missing (none
    /// can from inside the box; this guards the next submission whatever
    /// happened). The course-relative paths restored.
    pub fn restore_course(&self) -> anyhow::Result<Vec<String>> {
        match &self.seal {
            Some(seal) => seal.restore_changes(),
            None => Ok(Vec::new()),
        }
    }

    /// Whether the exercise in `exercise_dir` (relative to the course) holds
    /// the course's stubs unchanged: its `src` has the same files with the
    /// same bytes as the instructor's. Never for the trusted trees.
    pub fn has_stub_src(&self, exercise_dir: &Path) -> bool {
        let src = exercise_dir.join("src");
        self.seal
            .as_ref()
            .is_some_and(|seal| same_files(&seal.root.join(&src), &self.root().join(&src)))
    }

    /// `command` (cargo or student code over this tree) inside the box.
    pub fn confine(&self, command: &Command, phase: Activity) -> Confined {
        self.isolation.confine(command, &self.view, phase)
    }
}

/// The label of the reference solutions' tree.
const SOLUTIONS_LABEL: &str = "solutions";

/// Prepare `source` for grading. `course_root` is the directory of
/// course.yaml; `exercise_dirs` are the exercises' `dir`s, relative to it.
pub fn prepare(
    course_root: &Path,
    exercise_dirs: &[PathBuf],
    given_files: &[PathBuf],
    source: &Source,
) -> anyhow::Result<GradedTree> {
    prepare_in_slot(course_root, exercise_dirs, given_files, source, 0)
}

/// The build directory of submissions' trees in build slot `slot`. Slot 0
/// is the one every single grading shares; `grader batch`, building K
/// submissions at once, uses slots 0..K, each reused round after round:
/// dependencies compile once per slot, and the disk holds K builds at most
/// (cargo locks a build directory, and two trees built at once in one
/// directory would overwrite each other's executables).
pub fn submission_build_dir(course_root: &Path, slot: usize) -> PathBuf {
    let target = course_root.join("target");
    match slot {
        0 => target.join("grader-submissions"),
        n => target.join(format!("grader-submissions-{}", n + 1)),
    }
}

/// [`prepare`], a submission's tree built in build slot `slot`
/// ([`submission_build_dir`]); the trusted trees have one build directory each.
pub fn prepare_in_slot(
    course_root: &Path,
    exercise_dirs: &[PathBuf],
    given_files: &[PathBuf],
    source: &Source,
    slot: usize,
) -> anyhow::Result<GradedTree> {
    // The outer cargo (`cargo run`) holds a lock on its own target dir: nested
    // builds use directories of their own under it.
    let grader_target = course_root.join("target");
    let isolation = Isolation::detect();
    let tree = match source {
        Source::Exercises => GradedTree {
            label: "exercises".to_owned(),
            manifest: existing_manifest(&course_root.join("Cargo.toml"))?,
            target_dir: grader_target.join("grader").join("exercises"),
            view: trusted_view(course_root),
            isolation,
            _temp: None,
            seal: None,
            _handed: None,
        },
        Source::Solutions => GradedTree {
            label: SOLUTIONS_LABEL.to_owned(),
            manifest: existing_manifest(&course_root.join("solutions").join("Cargo.toml"))?,
            target_dir: grader_target.join("grader").join("solutions"),
            view: trusted_view(course_root),
            isolation,
            _temp: None,
            seal: None,
            _handed: None,
        },
        Source::Submission(dir) => {
            let seal = CourseSeal::take(course_root, exercise_dirs)?;
            let temp = tempfile::Builder::new()
                .prefix("grader-submission-")
                .tempdir()
                .context("cannot create a temporary directory for the submission")?;
            copy_course(course_root, exercise_dirs, temp.path())?;
            copy_submission(dir, exercise_dirs, temp.path())?;
            restore_given(course_root, given_files, temp.path())?;
            GradedTree {
                label: format!("submission {}", dir.display()),
                manifest: temp.path().join("Cargo.toml"),
                // Shared by all submissions built in this slot: dependencies
                // compile once. Student code only ever sees it read-only.
                target_dir: submission_build_dir(course_root, slot),
                // Only the copy: not the instructor's course, not solutions/.
                view: Visibility {
                    readable: vec![temp.path().to_path_buf()],
                    target_dir: PathBuf::new(),
                },
                isolation,
                _temp: Some(temp),
                seal: Some(seal),
                _handed: None,
            }
        }
    };
    ready_for_the_box(tree, course_root)
}

/// The course itself is visible (the solutions' tests are the exercises').
fn trusted_view(course_root: &Path) -> Visibility {
    Visibility {
        readable: vec![course_root.to_path_buf()],
        target_dir: PathBuf::new(),
    }
}

/// Make `tree` usable from inside the box: its build directory exists (to be
/// bound), student code running as another user can read the tree, and the
/// box has what it needs of the tree (`Isolation::hand_over`), and every
/// dependency is in the crate cache (builds have no network).
fn ready_for_the_box(mut tree: GradedTree, course_root: &Path) -> anyhow::Result<GradedTree> {
    tree.view.target_dir = tree.target_dir.clone();
    if !tree.isolation.is_isolated() {
        return Ok(tree);
    }
    fs::create_dir_all(&tree.target_dir)
        .with_context(|| format!("cannot create {}", tree.target_dir.display()))?;
    // Only Linux has a box that runs student code as another user.
    #[cfg(unix)]
    if let (Some(temp), true) = (&tree._temp, tree.isolation.runs_as_another_user()) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755))
            .context("cannot open the submission's copy to the sandbox")?;
    }
    fetch_dependencies(&tree);
    let copy = tree._temp.as_ref().map(|temp| temp.path());
    tree._handed = Some(tree.isolation.hand_over(course_root, &tree.view, copy)?);
    Ok(tree)
}

/// How long `cargo fetch` may take: crates come over the network.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// `cargo fetch` over the instructor's manifests and lock file, outside the
/// box (it runs no student code): confined builds then work offline, and the
/// copy's Cargo.lock is brought up to date while it is still writable. A
/// failure is left to the build to report, in its own words.
fn fetch_dependencies(tree: &GradedTree) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut fetch = Command::new(cargo);
    crate::sandbox::scrub_env(&mut fetch);
    fetch
        .arg("fetch")
        .arg("--manifest-path")
        .arg(&tree.manifest)
        .env("CARGO_TERM_COLOR", "never");
    let _ = crate::sandbox::run(&mut fetch, FETCH_TIMEOUT, 64 * 1024);
}

fn existing_manifest(manifest: &Path) -> anyhow::Result<PathBuf> {
    if !manifest.is_file() {
        bail!("{} not found", manifest.display());
    }
    Ok(manifest.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use walkdir::WalkDir;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A tiny course: a root manifest with a grader member, one exercise.
    fn course() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(
            &r.join("Cargo.toml"),
            "[workspace]\nmembers = [\"exercises/*\", \"grader\"]\ndefault-members = [\"grader\"]\n\n[workspace.dependencies]\nanyhow = \"1\"\n",
        );
        write(
            &r.join("grader/Cargo.toml"),
            "[package]\nname = \"grader\"\n",
        );
        write(&r.join("course.yaml"), "title: t\n");
        write(&r.join("Cargo.lock"), "version = 4\n");
        let ex = r.join("exercises/ex01-a");
        write(&ex.join("Cargo.toml"), "[package]\nname = \"ex01\"\n");
        write(&ex.join("src/lib.rs"), "// stub\n");
        write(&ex.join("src/old.rs"), "// stub module\n");
        write(&ex.join("tests/ex01.rs"), "// instructor test\n");
        write(&ex.join("build.rs"), "// instructor build script\n");
        write(&ex.join("target/debug/junk"), "junk\n");
        root
    }

    fn dirs() -> Vec<PathBuf> {
        vec![PathBuf::from("exercises/ex01-a")]
    }

    /// The test course's tree for `submission`, with no given files.
    fn submit(
        root: &tempfile::TempDir,
        submission: impl Into<PathBuf>,
    ) -> anyhow::Result<GradedTree> {
        prepare(
            root.path(),
            &dirs(),
            &[],
            &Source::Submission(submission.into()),
        )
    }

    #[test]
    fn exercises_and_solutions_use_their_own_target_dirs() {
        let root = course();
        write(&root.path().join("solutions/Cargo.toml"), "[workspace]\n");
        let exercises = prepare(root.path(), &dirs(), &[], &Source::Exercises).unwrap();
        let solutions = prepare(root.path(), &dirs(), &[], &Source::Solutions).unwrap();
        assert_eq!(exercises.manifest, root.path().join("Cargo.toml"));
        assert_eq!(solutions.manifest, root.path().join("solutions/Cargo.toml"));
        assert_ne!(exercises.target_dir, solutions.target_dir);
        assert!(exercises
            .target_dir
            .starts_with(root.path().join("target/grader")));
        assert_eq!(exercises.label, "exercises");
    }

    #[test]
    fn a_submission_contributes_only_its_src() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        let s = sub.path().join("exercises/ex01-a");
        write(&s.join("src/lib.rs"), "// student\n");
        write(&s.join("src/extra/mod.rs"), "// student module\n");
        write(&s.join("tests/ex01.rs"), "// edited test\n");
        write(&s.join("build.rs"), "// student build script\n");
        write(&s.join("Cargo.toml"), "[package]\nname = \"evil\"\n");
        write(&sub.path().join("course.yaml"), "title: evil\n");
        write(
            &sub.path().join("exercises/ex99-unknown/src/lib.rs"),
            "// ignored\n",
        );

        let tree = submit(&root, sub.path()).unwrap();
        let t = tree.root().to_path_buf();
        let read = |p: &str| fs::read_to_string(t.join(p)).unwrap();
        assert_eq!(read("exercises/ex01-a/src/lib.rs"), "// student\n");
        assert_eq!(
            read("exercises/ex01-a/src/extra/mod.rs"),
            "// student module\n"
        );
        assert!(
            !t.join("exercises/ex01-a/src/old.rs").exists(),
            "stubs are replaced"
        );
        assert_eq!(
            read("exercises/ex01-a/tests/ex01.rs"),
            "// instructor test\n"
        );
        assert_eq!(
            read("exercises/ex01-a/build.rs"),
            "// instructor build script\n"
        );
        assert_eq!(
            read("exercises/ex01-a/Cargo.toml"),
            "[package]\nname = \"ex01\"\n"
        );
        assert_eq!(read("course.yaml"), "title: t\n");
        assert!(!t.join("exercises/ex99-unknown").exists());
        assert!(!t.join("exercises/ex01-a/target").exists());
        assert!(!t.join("grader").exists());
        let manifest = read("Cargo.toml");
        assert!(
            manifest.contains("members = [\"exercises/*\"]"),
            "{manifest}"
        );
        assert!(!manifest.contains("default-members"), "{manifest}");
        assert!(manifest.contains("anyhow = \"1\""), "{manifest}");
        assert!(tree.label.starts_with("submission "));
        assert_eq!(
            tree.target_dir,
            root.path().join("target/grader-submissions")
        );

        let temp = t.clone();
        drop(tree);
        assert!(!temp.exists(), "the copy lives as long as the tree");
    }

    #[test]
    fn each_build_slot_builds_in_a_directory_of_its_own() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let source = Source::Submission(sub.path().into());
        let slot = |n| prepare_in_slot(root.path(), &dirs(), &[], &source, n).unwrap();
        let (first, second) = (slot(0), slot(1));
        let target = root.path().join("target");
        assert_eq!(first.target_dir, target.join("grader-submissions"));
        assert_eq!(second.target_dir, target.join("grader-submissions-2"));
        assert_eq!(
            second.view.target_dir, second.target_dir,
            "the box binds it"
        );
        assert_ne!(first.root(), second.root());
        let exercises = prepare_in_slot(root.path(), &dirs(), &[], &Source::Exercises, 1);
        assert_eq!(
            exercises.unwrap().target_dir,
            target.join("grader").join("exercises"),
            "the trusted trees have one build directory each"
        );
    }

    #[test]
    fn given_files_are_always_the_instructors() {
        let root = course();
        write(
            &root.path().join("exercises/ex01-a/src/driver.rs"),
            "// given\n",
        );
        let sub = tempfile::tempdir().unwrap();
        let s = sub.path().join("exercises/ex01-a/src");
        write(&s.join("lib.rs"), "// student\n");
        write(&s.join("driver.rs"), "// edited driver\n");
        let given = [PathBuf::from("exercises/ex01-a/src/driver.rs")];
        let tree = prepare(
            root.path(),
            &dirs(),
            &given,
            &Source::Submission(sub.path().into()),
        )
        .unwrap();
        let read = |p: &str| fs::read_to_string(tree.root().join(p)).unwrap();
        assert_eq!(read("exercises/ex01-a/src/driver.rs"), "// given\n");
        assert_eq!(read("exercises/ex01-a/src/lib.rs"), "// student\n");
    }

    #[test]
    fn changed_instructor_files_are_restored_after_grading() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let tree = submit(&root, sub.path()).unwrap();
        assert_eq!(tree.restore_course().unwrap(), Vec::<String>::new());
        let r = root.path();
        fs::write(r.join("course.yaml"), "title: changed\n").unwrap();
        fs::remove_file(r.join("exercises/ex01-a/tests/ex01.rs")).unwrap();
        assert_eq!(
            tree.restore_course().unwrap(),
            ["course.yaml", "exercises/ex01-a/tests/ex01.rs"]
        );
        assert_eq!(
            fs::read_to_string(r.join("course.yaml")).unwrap(),
            "title: t\n"
        );
        assert_eq!(
            fs::read_to_string(r.join("exercises/ex01-a/tests/ex01.rs")).unwrap(),
            "// instructor test\n"
        );
    }

    fn modified(path: &Path) -> std::time::SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn files_outside_the_exercises_keep_their_time_and_the_exercises_do_not() {
        let root = course();
        let r = root.path();
        write(&r.join("exercises/common/Cargo.toml"), "[package]\n");
        write(&r.join("exercises/common/src/lib.rs"), "// common\n");
        write(&r.join("exercises/ex01-a/src/driver.rs"), "// given\n");
        // Built long ago, as far as cargo can tell from the times.
        let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        for entry in WalkDir::new(r).into_iter().flatten() {
            if entry.file_type().is_file() {
                let file = fs::File::open(entry.path()).unwrap();
                file.set_modified(long_ago).unwrap();
            }
        }
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let given = [PathBuf::from("exercises/ex01-a/src/driver.rs")];
        // A `.` in course.yaml's dir changes nothing.
        let dirs = [PathBuf::from("./exercises/ex01-a")];
        let source = Source::Submission(sub.path().into());
        let tree = prepare(r, &dirs, &given, &source).unwrap();
        let t = tree.root();
        for kept in [
            "exercises/common/Cargo.toml",
            "exercises/common/src/lib.rs",
            "Cargo.lock",
            "course.yaml",
        ] {
            assert_eq!(modified(&t.join(kept)), long_ago, "{kept}");
        }
        // The stubs, tests, manifest and given files of a graded exercise
        // are newer than any build a slot can hold.
        let exercise = WalkDir::new(t.join("exercises/ex01-a"))
            .into_iter()
            .flatten();
        let files: Vec<_> = exercise.filter(|e| e.file_type().is_file()).collect();
        assert_eq!(files.len(), 6, "{files:?}");
        for file in files {
            assert!(
                modified(file.path()) > long_ago,
                "{}",
                file.path().display()
            );
        }
    }

    #[test]
    fn a_src_is_the_stub_only_with_the_same_files_and_bytes() {
        let stub = tempfile::tempdir().unwrap();
        write(&stub.path().join("lib.rs"), "// stub\n");
        write(&stub.path().join("part/mod.rs"), "// part\n");
        let submitted = |edit: &dyn Fn(&Path)| {
            let copy = tempfile::tempdir().unwrap();
            write(&copy.path().join("lib.rs"), "// stub\n");
            write(&copy.path().join("part/mod.rs"), "// part\n");
            edit(copy.path());
            same_files(stub.path(), copy.path())
        };
        assert!(submitted(&|_| {}), "identical");
        assert!(!submitted(&|s| write(&s.join("lib.rs"), "// stuB\n")));
        assert!(!submitted(&|s| write(&s.join("part/extra.rs"), "")));
        assert!(!submitted(
            &|s| fs::remove_file(s.join("part/mod.rs")).unwrap()
        ));
        assert!(!same_files(stub.path(), &stub.path().join("missing")));
    }

    #[test]
    fn only_a_submission_can_hold_the_stubs() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let ex01 = Path::new("exercises/ex01-a");
        assert!(submit(&root, sub.path()).unwrap().has_stub_src(ex01));
        write(&sub.path().join("exercises/ex01-a/src/lib.rs"), "// stub\n");
        let edited = submit(&root, sub.path()).unwrap();
        assert!(!edited.has_stub_src(ex01), "without the stubs' old.rs");
        let exercises = prepare(root.path(), &dirs(), &[], &Source::Exercises).unwrap();
        assert!(
            !exercises.has_stub_src(ex01),
            "the trusted trees are not judged"
        );
    }

    #[test]
    fn a_missing_exercise_keeps_the_stub() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let tree = submit(&root, sub.path()).unwrap();
        let lib = fs::read_to_string(tree.root().join("exercises/ex01-a/src/lib.rs")).unwrap();
        assert_eq!(lib, "// stub\n");
    }

    #[test]
    #[cfg(unix)]
    fn symlinks_are_rejected() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        let s = sub.path().join("exercises/ex01-a/src");
        write(&s.join("lib.rs"), "// student\n");
        std::os::unix::fs::symlink("/etc/passwd", s.join("secret.rs")).unwrap();
        let error = submit(&root, sub.path()).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");

        let sub = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        write(&elsewhere.path().join("lib.rs"), "// elsewhere\n");
        fs::create_dir_all(sub.path().join("exercises/ex01-a")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), sub.path().join("exercises/ex01-a/src"))
            .unwrap();
        let error = submit(&root, sub.path()).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
    }

    #[test]
    fn wrong_submission_dirs_are_clear_errors() {
        let root = course();
        let missing = root.path().join("no-such-dir");
        let error = submit(&root, missing).unwrap_err();
        assert!(
            format!("{error:#}").contains("cannot read the submission"),
            "{error:#}"
        );

        let empty = tempfile::tempdir().unwrap();
        let error = submit(&root, empty.path()).unwrap_err().to_string();
        assert!(error.contains("has no exercises/ directory"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn exercise_dirs_stay_inside_the_course() {
        let root = course();
        let sub = tempfile::tempdir().unwrap();
        fs::create_dir_all(sub.path().join("exercises")).unwrap();
        let outside = [PathBuf::from("../elsewhere")];
        assert!(prepare(
            root.path(),
            &outside,
            &[],
            &Source::Submission(sub.path().into())
        )
        .is_err());
    }
}
