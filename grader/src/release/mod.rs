//! `grader release --out DIR`: the repository students get.
//!
//! Everything a student needs and nothing that needs the reference solutions:
//! the workspace manifests, course.yaml, `exercises/**` (lessons, stubs, tests,
//! harnesses), the grader without its own integration tests (they grade the
//! solutions), a README for students, GitHub Classroom's workflow, and the
//! SHA-256 manifest of every instructor-owned file ([`crate::workspace::manifest`]).

pub mod classroom;

use crate::course::Course;
use crate::model::InstructorFiles;
use crate::workspace::manifest::{sha256_hex, Manifest, MANIFEST_FILE};
use crate::workspace::Source;
use anyhow::{bail, Context};
use std::fs;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// Files at the course root that a release copies when present.
const ROOT_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "course.yaml",
    ".gitignore",
    "rust-toolchain.toml",
    "rust-toolchain",
];
/// Directories a release copies, without `target` dirs.
const ROOT_DIRS: &[&str] = &["exercises", "grader"];
/// Inside those, what stays with the instructor: the grader's own
/// integration tests grade the reference solutions.
const LEFT_OUT: &[&str] = &["grader/tests"];
/// Where GitHub Classroom looks for its workflow.
pub const WORKFLOW_PATH: &str = ".github/workflows/classroom.yml";

/// One file of the release.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    /// Relative to the release's root, `/`-separated.
    pub path: String,
    pub content: Content,
    /// Whether the student edits it (`exercises/<exercise>/src/**` that is
    /// not given): left out of the manifest.
    pub students: bool,
}

#[derive(Debug, Clone)]
pub enum Content {
    /// A file of the instructor's course, copied as it is.
    Copy(PathBuf),
    /// A file the release writes.
    Text(String),
}

impl ReleaseFile {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match &self.content {
            Content::Copy(from) => {
                fs::read(from).with_context(|| format!("cannot read {}", from.display()))
            }
            Content::Text(text) => Ok(text.clone().into_bytes()),
        }
    }
}

/// Every file of the release of the course at `course_root`, sorted by path.
pub fn plan(course_root: &Path, course: &Course) -> anyhow::Result<Vec<ReleaseFile>> {
    let student_dirs: Vec<String> = course
        .exercises
        .iter()
        .map(|e| slashed(&e.dir.join("src")))
        .collect();
    let given: Vec<String> = course
        .exercises
        .iter()
        .flat_map(|e| e.given_files())
        .map(|f| slashed(&f))
        .collect();
    let mut files = Vec::new();
    let mut add = |path: String, content: Content| {
        let students = student_dirs
            .iter()
            .any(|dir| path.starts_with(&format!("{dir}/")))
            && !given.contains(&path);
        files.push(ReleaseFile {
            path,
            content,
            students,
        });
    };
    for name in ROOT_FILES {
        let from = course_root.join(name);
        if from.is_file() {
            add(name.to_string(), Content::Copy(from));
        }
    }
    for dir in ROOT_DIRS {
        for (path, from) in files_under(course_root, dir)? {
            add(path, Content::Copy(from));
        }
    }
    add(
        "README.md".to_owned(),
        Content::Text(students_readme(course)),
    );
    add(
        WORKFLOW_PATH.to_owned(),
        Content::Text(crate::release::classroom::workflow(course_root, course)?),
    );
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The files under `course_root/dir` that a release copies: (relative path,
/// source), without target dirs and what [`LEFT_OUT`] names.
fn files_under(course_root: &Path, dir: &str) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    if !course_root.join(dir).is_dir() {
        // A course copy without the grader's source (the grader installed
        // elsewhere) has nothing of it to release or to check.
        return Ok(files);
    }
    let walk = WalkDir::new(course_root.join(dir))
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"));
    for entry in walk {
        let entry = entry.with_context(|| format!("cannot read {dir}/"))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(course_root)
            .expect("walked under the root");
        let path = slashed(relative);
        if !LEFT_OUT
            .iter()
            .any(|out| path.starts_with(&format!("{out}/")))
        {
            files.push((path, entry.path().to_owned()));
        }
    }
    Ok(files)
}

/// The manifest of the release's instructor-owned files.
pub fn manifest(files: &[ReleaseFile]) -> anyhow::Result<Manifest> {
    let mut entries = Vec::new();
    for file in files.iter().filter(|f| !f.students) {
        entries.push((file.path.clone(), sha256_hex(&file.bytes()?)));
    }
    Ok(Manifest { entries })
}

/// The manifest a tree graded from the course at `course_root` must match:
/// the one beside course.yaml when the course is itself a release, else the
/// one `grader release` would write.
pub fn expected_manifest(course_root: &Path, course: &Course) -> anyhow::Result<Manifest> {
    match Manifest::read(course_root)? {
        Some(manifest) => Ok(manifest),
        None => manifest(&plan(course_root, course)?),
    }
}

/// Whether the instructor's files in the graded tree match the release:
/// a student repository graded in place against the manifest it carries, the
/// files a submission sent against the instructor's release (what it did
/// not send is the instructor's in grading). None for the instructor's
/// own trees.
pub fn instructor_files(
    course: &Course,
    source: &Source,
) -> anyhow::Result<Option<InstructorFiles>> {
    let root = course.root().to_owned();
    match source {
        Source::Exercises => Ok(Manifest::read(&root)?.map(|m| m.verify(&root))),
        Source::Solutions => Ok(None),
        Source::Submission(dir) => Ok(Some(expected_manifest(&root, course)?.verify_sent(dir))),
    }
}

/// Write the release of the course at `course_root` into `out`, which must
/// not exist or be empty. Returns how many files were written.
pub fn write(course_root: &Path, course: &Course, out: &Path) -> anyhow::Result<usize> {
    if out.exists() {
        let mut entries =
            fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: give a new directory for the release",
                out.display()
            );
        }
    }
    let files = plan(course_root, course)?;
    for file in &files {
        let to = out.join(&file.path);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        match &file.content {
            // fs::copy keeps the permissions (scripts stay executable).
            Content::Copy(from) => fs::copy(from, &to).map(drop),
            Content::Text(text) => fs::write(&to, text),
        }
        .with_context(|| format!("cannot write {}", to.display()))?;
    }
    let manifest_path = out.join(MANIFEST_FILE);
    fs::write(&manifest_path, manifest(&files)?.render())
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(files.len() + 1)
}

/// The toolchain to install where the course is graded: the workspace's
/// `rust-version` (the oldest the locked crates build with, as
/// grader/tests/toolchain.rs checks), or `stable` when there is none.
pub fn toolchain(course_root: &Path) -> anyhow::Result<String> {
    let path = course_root.join("Cargo.toml");
    let text = match fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("stable".to_owned()),
        read => read.with_context(|| format!("cannot read {}", path.display()))?,
    };
    let document: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("cannot read {} as TOML", path.display()))?;
    let version = document
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .or_else(|| document.get("package").and_then(|p| p.get("rust-version")))
        .and_then(|v| v.as_str());
    Ok(version.unwrap_or("stable").to_owned())
}

/// The course's maximum: every test and observation point. What a grading
/// that could not happen records 0 of.
pub fn course_maximum(course: &Course) -> f64 {
    course.exercises.iter().map(|e| e.max_points(true)).sum()
}

/// `a/b/c` on every platform.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The students' README: the exercises in order and the commands they need.
fn students_readme(course: &Course) -> String {
    let mut table = String::from("| exercise | lesson |\n| --- | --- |\n");
    for ex in &course.exercises {
        let dir = slashed(&ex.dir);
        table.push_str(&format!(
            "| `{}` {} | [{dir}/README.md]({dir}/README.md) |\n",
            ex.id, ex.title
        ));
    }
    let first = course
        .exercises
        .first()
        .map_or_else(|| "ex01".to_owned(), |e| e.id.clone());
    STUDENTS_README
        .replace("{title}", &course.title)
        .replace("{table}", &table)
        .replace("{first}", &first)
        .replace("{manifest}", MANIFEST_FILE)
        .replace("{workflow}", WORKFLOW_PATH)
}

const STUDENTS_README: &str = r#"# {title}

Your copy of the course. Each exercise is a crate with a lesson (its `README.md`),
stubs for you to fill in (`src/`), tests and timing observations.

{table}
## Working

```sh
cargo test -p {first}                          # one exercise's tests: read the failures, fix src/
cargo run --release                         # grade yourself: tests, timing observations, a score
cargo run --release -- watch                # tests again at every save; `o` measures, `n` moves on
cargo run --release -- grade --exercise {first}
cargo run --release -- list                 # your progress, the next exercise marked
cargo run --release -- hint {first}            # the hints for an exercise
cargo run --release -- doctor               # is this machine quiet enough to measure?
```

Each stub panics with a `todo!()` message naming the section of the lesson to read.
The tests check what your code does; the observations measure it in release mode and
compare two timings from the same run, so a steadily slow machine slows both sides alike,
and a miss that other programs could explain is `inconclusive`, never `fail`.

## What you edit, and what you do not

Only the files under `exercises/*/src/` are yours (a few there, such as ex04's sweep
program, are given complete). Tests, harnesses (`benches/`), `Cargo.toml` files,
`course.yaml`, the grader and the workflow are the instructor's: grading always uses the
instructor's copies, and `{manifest}` lists their SHA-256 sums, so every report says
whether they still match. Editing them changes nothing but that line of your report.

## Grading on GitHub

Every push runs `{workflow}`: it grades your work the way your instructor will,
prints the full report (every reason and hint) in the Actions log, and sends the points
to GitHub Classroom. Observations the runner's machine cannot show (too few cores, too
noisy to judge) are reported as the machine's limits, not as your mistakes.
"#;
