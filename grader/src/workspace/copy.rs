//! Copying into a submission's tree: the instructor's course with kept
//! modified times, then the student's `src/` within a budget, never
//! through a link, then the given files put back.

use anyhow::{bail, Context};
use std::fs;
use std::path::{Component, Path, PathBuf};
use walkdir::WalkDir;

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
pub(super) fn copy_course(
    course_root: &Path,
    exercise_dirs: &[PathBuf],
    into: &Path,
) -> anyhow::Result<()> {
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
pub(super) fn in_exercise_dir(relative: &Path, exercise_dirs: &[PathBuf]) -> bool {
    let relative = normal_components(relative);
    exercise_dirs
        .iter()
        .any(|dir| relative.starts_with(normal_components(dir)))
}

/// `path` without its `.` components: `./exercises/ex01` is `exercises/ex01`.
pub(super) fn normal_components(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// Copy one of the instructor's files: written now, or keeping the
/// instructor's modified time (see [`copy_course`] for which and why).
pub(super) fn copy_file(from: &Path, to: &Path, keep_modified: bool) -> anyhow::Result<()> {
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
pub(super) fn trim_members(text: &str, root: &Path) -> anyhow::Result<String> {
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
pub(super) fn copy_submission(
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
pub(super) fn check_submission_root(submission: &Path) -> anyhow::Result<()> {
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
pub(super) fn real_directory_path(submission: &Path, relative: &Path) -> anyhow::Result<bool> {
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
pub(super) struct CopyBudget {
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
pub(super) fn copy_src_tree(from: &Path, to: &Path, budget: &mut CopyBudget) -> anyhow::Result<()> {
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
pub(super) fn restore_given(
    course_root: &Path,
    given_files: &[PathBuf],
    into: &Path,
) -> anyhow::Result<()> {
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
pub(super) fn check_relative(dir: &Path) -> anyhow::Result<()> {
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

/// The most a submission's source files may weigh together.
const SUBMISSION_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The most source files a submission may have.
const SUBMISSION_MAX_FILES: usize = 10_000;
