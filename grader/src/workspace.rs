//! Which tree is graded: the course's exercises, the reference solutions, or
//! a student's submission copied into a fresh instructor-owned tree.
//!
//! A submission contributes only its `exercises/*/src/**` files, for the
//! exercise directories the course knows. Everything else (tests, harnesses,
//! Cargo.toml files, build scripts, course.yaml, Cargo.lock) is the
//! instructor's copy, so nothing a student edits outside `src` takes part.

use crate::runner::isolation::{Confined, Handed, Isolation, Phase, View};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use walkdir::WalkDir;

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
    pub view: View,
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
    pub fn confine(&self, command: &Command, phase: Phase) -> Confined {
        self.isolation.confine(command, &self.view, phase)
    }
}

/// The instructor's files a submission's tree is made from, with their
/// contents and SHA-256, taken before any student code runs.
#[derive(Debug)]
struct CourseSeal {
    root: PathBuf,
    files: Vec<(PathBuf, [u8; 32], Vec<u8>)>,
}

impl CourseSeal {
    /// Every file [`copy_course`] reads, and the solutions.
    fn take(course_root: &Path, exercise_dirs: &[PathBuf]) -> anyhow::Result<CourseSeal> {
        let mut dirs = vec![PathBuf::from("exercises"), PathBuf::from("solutions")];
        dirs.extend(exercise_dirs.iter().cloned());
        let mut paths = vec![
            PathBuf::from("Cargo.toml"),
            PathBuf::from("Cargo.lock"),
            PathBuf::from("course.yaml"),
        ];
        for dir in &dirs {
            check_relative(dir)?;
            let walk = WalkDir::new(course_root.join(dir))
                .into_iter()
                .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"));
            for entry in walk.flatten().filter(|e| e.file_type().is_file()) {
                let relative = entry
                    .path()
                    .strip_prefix(course_root)
                    .expect("walked under the root");
                paths.push(relative.to_path_buf());
            }
        }
        paths.sort();
        paths.dedup();
        let mut files = Vec::new();
        for path in paths {
            let Ok(bytes) = fs::read(course_root.join(&path)) else {
                continue;
            };
            files.push((path, sha256(&bytes), bytes));
        }
        Ok(CourseSeal {
            root: course_root.to_path_buf(),
            files,
        })
    }

    fn restore_changes(&self) -> anyhow::Result<Vec<String>> {
        let mut restored = Vec::new();
        for (path, sum, bytes) in &self.files {
            let full = self.root.join(path);
            let now = fs::read(&full).ok();
            if now.as_deref().map(sha256) == Some(*sum) {
                continue;
            }
            if let Some(parent) = full.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot restore {}", full.display()))?;
            }
            fs::write(&full, bytes)
                .with_context(|| format!("cannot restore {}", full.display()))?;
            restored.push(path.display().to_string());
        }
        Ok(restored)
    }
}

/// Whether the directories `a` and `b` hold the same regular files, by path
/// relative to each, with the same bytes; false when either cannot be read or
/// holds anything but directories and regular files.
fn same_files(a: &Path, b: &Path) -> bool {
    matches!((files_under(a), files_under(b)), (Some(a), Some(b)) if a == b)
}

/// Every regular file under `root`, by relative path, with its bytes.
fn files_under(root: &Path) -> Option<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in WalkDir::new(root) {
        let entry = entry.ok()?;
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(root).ok()?;
            files.insert(relative.to_path_buf(), fs::read(entry.path()).ok()?);
        } else if !entry.file_type().is_dir() {
            return None;
        }
    }
    Some(files)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The label of the reference solutions' tree.
const SOLUTIONS_LABEL: &str = "solutions";
/// The most a submission's source files may weigh together.
const SUBMISSION_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The most source files a submission may have.
const SUBMISSION_MAX_FILES: usize = 10_000;

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
                view: View {
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
fn trusted_view(course_root: &Path) -> View {
    View {
        readable: vec![course_root.to_path_buf()],
        target_dir: PathBuf::new(),
    }
}

/// Make `tree` usable from inside the box: its build directory exists (to be
/// bound), student code running as another user can read the tree, every
/// dependency is in the crate cache (builds have no network), and the box
/// has what it needs of the tree (`Isolation::hand_over`).
fn ready_for_the_box(mut tree: GradedTree, course_root: &Path) -> anyhow::Result<GradedTree> {
    tree.view.target_dir = tree.target_dir.clone();
    if !tree.isolation.is_isolated() {
        return Ok(tree);
    }
    fs::create_dir_all(&tree.target_dir)
        .with_context(|| format!("cannot create {}", tree.target_dir.display()))?;
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

/// `cargo fetch` over the instructor's manifests and lock file, outside the
/// box (it runs no student code): confined builds then work offline. A
/// failure is left to the build to report, in its own words.
fn fetch_dependencies(tree: &GradedTree) {
    use crate::runner::{cargo, sandbox};
    let mut fetch = cargo::command(tree, "fetch");
    let _ = sandbox::run(&mut fetch, cargo::BUILD_TIMEOUT, 64 * 1024);
}

fn existing_manifest(manifest: &Path) -> anyhow::Result<PathBuf> {
    if !manifest.is_file() {
        bail!("{} not found", manifest.display());
    }
    Ok(manifest.to_path_buf())
}

/// Copy the instructor's course into `into`: the root manifest (without the
/// members that are not copied, like the grader itself), Cargo.lock,
/// course.yaml, `exercises/**` and every exercise dir, without target dirs.
///
/// Cargo takes a package for up to date when none of its source files is
/// newer than its last build in the build directory, and a build slot keeps
/// the builds of earlier submissions. So the files outside every graded
/// exercise dir (`exercises/common`, Cargo.lock, course.yaml), the
/// instructor's in every tree, keep the instructor's modified time: the
/// common crate builds once per slot, not once per submission. (So do the
/// exercises not graded: grading builds only the graded packages, and no
/// package depends on an exercise.) Every file
/// inside a graded exercise dir is written now, newer than any earlier build
/// in the slot: an unchanged stub must never pass for the previous
/// submission's build of that exercise (its binaries).
fn copy_course(course_root: &Path, exercise_dirs: &[PathBuf], into: &Path) -> anyhow::Result<()> {
    let mut dirs = vec![PathBuf::from("exercises")];
    dirs.extend(exercise_dirs.iter().cloned());
    for dir in &dirs {
        check_relative(dir)?;
        let from = course_root.join(dir);
        if !from.is_dir() {
            continue;
        }
        for entry in WalkDir::new(&from)
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"))
        {
            let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
            let relative = entry
                .path()
                .strip_prefix(course_root)
                .expect("walked under the root");
            let to = into.join(relative);
            if entry.file_type().is_dir() {
                fs::create_dir_all(&to)
                    .with_context(|| format!("cannot create {}", to.display()))?;
            } else if !to.exists() {
                let keep_modified = !in_exercise_dir(relative, exercise_dirs);
                copy_file(entry.path(), &to, keep_modified)?;
            }
        }
    }
    for file in ["Cargo.lock", "course.yaml"] {
        let from = course_root.join(file);
        if from.is_file() {
            copy_file(&from, &into.join(file), true)?;
        }
    }
    let manifest = course_root.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let trimmed = trim_members(&text, into)
        .with_context(|| format!("cannot read {} as a workspace manifest", manifest.display()))?;
    fs::write(into.join("Cargo.toml"), trimmed)
        .context("cannot write the submission's Cargo.toml")?;
    Ok(())
}

/// Whether `relative` (to the course root) lies inside one of `exercise_dirs`.
fn in_exercise_dir(relative: &Path, exercise_dirs: &[PathBuf]) -> bool {
    let relative = normal_components(relative);
    exercise_dirs
        .iter()
        .any(|dir| relative.starts_with(normal_components(dir)))
}

/// `path` without its `.` components: `./exercises/ex01` is `exercises/ex01`.
fn normal_components(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// Copy one of the instructor's files: written now, or keeping the
/// instructor's modified time (see [`copy_course`] for which and why).
fn copy_file(from: &Path, to: &Path, keep_modified: bool) -> anyhow::Result<()> {
    fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
    if keep_modified {
        let modified = fs::metadata(from)
            .and_then(|m| m.modified())
            .with_context(|| format!("cannot read the modified time of {}", from.display()))?;
        // Read-only is enough: the owner may set a file's times.
        fs::File::open(to)
            .and_then(|file| file.set_modified(modified))
            .with_context(|| format!("cannot set the modified time of {}", to.display()))?;
    }
    Ok(())
}

/// The workspace manifest `text` without the members that do not exist under
/// `root` (globs stay) and without `default-members`.
fn trim_members(text: &str, root: &Path) -> anyhow::Result<String> {
    let mut document: toml_edit::DocumentMut = text.parse()?;
    let Some(workspace) = document
        .get_mut("workspace")
        .and_then(|w| w.as_table_like_mut())
    else {
        bail!("no [workspace] table");
    };
    workspace.remove("default-members");
    if let Some(members) = workspace.get_mut("members").and_then(|m| m.as_array_mut()) {
        members.retain(|member| {
            member
                .as_str()
                .is_some_and(|m| m.contains('*') || root.join(m).join("Cargo.toml").is_file())
        });
    }
    Ok(document.to_string())
}

/// Copy the submission's `src` trees of the course's exercises over the
/// instructor's copy in `into`, replacing the stubs. Nothing else is read.
fn copy_submission(
    submission: &Path,
    exercise_dirs: &[PathBuf],
    into: &Path,
) -> anyhow::Result<()> {
    check_submission_root(submission)?;
    let mut budget = CopyBudget::default();
    for dir in exercise_dirs {
        check_relative(dir)?;
        let src = dir.join("src");
        if !real_directory_path(submission, &src)? {
            // Not attempted: the stubs stay and earn nothing.
            continue;
        }
        let to = into.join(&src);
        if to.exists() {
            fs::remove_dir_all(&to).with_context(|| format!("cannot replace {}", to.display()))?;
        }
        copy_src_tree(&submission.join(&src), &to, &mut budget)?;
    }
    Ok(())
}

/// The submission is a directory with an `exercises/` directory.
fn check_submission_root(submission: &Path) -> anyhow::Result<()> {
    let metadata = fs::metadata(submission)
        .with_context(|| format!("cannot read the submission {}", submission.display()))?;
    if !metadata.is_dir() {
        bail!("the submission {} is not a directory", submission.display());
    }
    if !submission.join("exercises").is_dir() {
        bail!(
            "the submission {} has no exercises/ directory (give the root of the student's repository)",
            submission.display()
        );
    }
    Ok(())
}

/// Whether `relative` exists under `submission` with every step from the
/// submission's root a real directory (false when a step is missing; an
/// error for a symbolic link or a file on the way).
fn real_directory_path(submission: &Path, relative: &Path) -> anyhow::Result<bool> {
    let mut path = submission.to_path_buf();
    for component in relative.components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                bail!(
                    "the submission contains a symbolic link: {}",
                    path.display()
                )
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("the submission's {} is not a directory", path.display()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()))
            }
        }
    }
    Ok(true)
}

/// How much of the submission has been copied so far, against the limits.
#[derive(Default)]
struct CopyBudget {
    files: usize,
    bytes: u64,
}

impl CopyBudget {
    fn spend(&mut self, bytes: u64) -> anyhow::Result<()> {
        self.files += 1;
        self.bytes += bytes;
        if self.files > SUBMISSION_MAX_FILES || self.bytes > SUBMISSION_MAX_BYTES {
            bail!(
                "the submission's src directories hold more than {SUBMISSION_MAX_FILES} files or {} MiB",
                SUBMISSION_MAX_BYTES / (1024 * 1024)
            );
        }
        Ok(())
    }
}

/// Copy one `src` tree: directories and regular files only.
fn copy_src_tree(from: &Path, to: &Path, budget: &mut CopyBudget) -> anyhow::Result<()> {
    for entry in WalkDir::new(from) {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let relative = entry.path().strip_prefix(from).expect("walked under src");
        let target = to.join(relative);
        let kind = entry.file_type();
        if kind.is_symlink() {
            bail!(
                "the submission contains a symbolic link: {}",
                entry.path().display()
            );
        } else if kind.is_dir() {
            fs::create_dir_all(&target)
                .with_context(|| format!("cannot create {}", target.display()))?;
        } else if kind.is_file() {
            budget.spend(entry.metadata().map(|m| m.len()).unwrap_or(0))?;
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
        } else {
            bail!(
                "the submission contains a special file: {}",
                entry.path().display()
            );
        }
    }
    Ok(())
}

/// Put back the instructor's copy of every file students were given
/// complete: whatever the submission did to them, harnesses build on them.
fn restore_given(course_root: &Path, given_files: &[PathBuf], into: &Path) -> anyhow::Result<()> {
    for file in given_files {
        check_relative(file)?;
        let target = into.join(file);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::copy(course_root.join(file), &target)
            .with_context(|| format!("cannot copy the given file {}", file.display()))?;
    }
    Ok(())
}

/// course.yaml's dirs stay inside the course.
fn check_relative(dir: &Path) -> anyhow::Result<()> {
    if dir.as_os_str().is_empty()
        || !dir
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        bail!(
            "exercise dir {} must be a relative path inside the course",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
