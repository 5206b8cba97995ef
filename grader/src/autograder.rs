//! `grader gradescope --out autograder.zip`: Gradescope's autograder.
//!
//! The zip holds `setup.sh` (run once when Gradescope builds the image),
//! `run_autograder` (run once per submission) and `course/`: the student
//! release of the course ([`crate::release`]), so the image never holds the
//! reference solutions. `AUTOGRADER_ROOT` stands in for `/autograder`, so a
//! test can unpack the zip anywhere and run it end to end.

use crate::course::Course;
use crate::manifest::MANIFEST_FILE;
use crate::release::{self, Content};
use anyhow::Context;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// Where the course goes inside the zip (and in `/autograder/source`).
pub const COURSE_DIR: &str = "course";
/// The toolchain installed when the course names no `rust-version`.
const DEFAULT_TOOLCHAIN: &str = "stable";

/// Write the autograder zip; returns its size in bytes.
pub fn write_zip(course_root: &Path, course: &Course, out: &Path) -> anyhow::Result<u64> {
    let files = release::plan(course_root, course)?;
    let manifest = release::manifest(&files)?;
    let toolchain = rust_version(course_root)?.unwrap_or_else(|| DEFAULT_TOOLCHAIN.to_owned());
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let plain = SimpleFileOptions::default().unix_permissions(0o644);
    let executable = plain.unix_permissions(0o755);
    let mut add = |name: &str, bytes: &[u8], options: SimpleFileOptions| -> anyhow::Result<()> {
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .with_context(|| format!("cannot add {name} to {}", out.display()))
    };
    add(
        "setup.sh",
        SETUP_SH.replace("{toolchain}", &toolchain).as_bytes(),
        executable,
    )?;
    add("run_autograder", RUN_AUTOGRADER.as_bytes(), executable)?;
    for file in &files {
        let (bytes, options) = match &file.content {
            Content::Copy(from) => {
                let bytes = std::fs::read(from)
                    .with_context(|| format!("cannot read {}", from.display()))?;
                let mode = std::fs::metadata(from)
                    .with_context(|| format!("cannot read {}", from.display()))?
                    .permissions()
                    .mode();
                (bytes, if mode & 0o111 != 0 { executable } else { plain })
            }
            Content::Text(text) => (text.clone().into_bytes(), plain),
        };
        add(&format!("{COURSE_DIR}/{}", file.path), &bytes, options)?;
    }
    add(
        &format!("{COURSE_DIR}/{MANIFEST_FILE}"),
        manifest.render().as_bytes(),
        plain,
    )?;
    zip.finish()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(std::fs::metadata(out)
        .with_context(|| format!("cannot read {}", out.display()))?
        .len())
}

/// The workspace's `rust-version`, the oldest toolchain the course builds with.
fn rust_version(course_root: &Path) -> anyhow::Result<Option<String>> {
    let path = course_root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let document: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("cannot read {} as TOML", path.display()))?;
    let version = document
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .or_else(|| document.get("package").and_then(|p| p.get("rust-version")))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok(version)
}

/// Run once, as root, when Gradescope builds the image.
const SETUP_SH: &str = r#"#!/usr/bin/env bash
# Gradescope's setup: a Rust toolchain when the image has none, the grader,
# and every test and harness built once by grading the stubs, so that a
# submission compiles only its own crates.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
COURSE="$SOURCE/course"
TOOLCHAIN="{toolchain}"
GRADING_USER="${AUTOGRADER_USER-autograder-student}"

if ! command -v cargo >/dev/null 2>&1 && [ -x /usr/local/cargo/bin/cargo ]; then
  export RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH="/usr/local/cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "== installing Rust $TOOLCHAIN with rustup"
  apt-get update -q
  apt-get install -y -q curl ca-certificates build-essential
  export RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --no-modify-path --profile minimal --default-toolchain "$TOOLCHAIN"
  chmod -R a+rX /usr/local/rustup /usr/local/cargo
  export PATH="/usr/local/cargo/bin:$PATH"
fi
{
  echo "export PATH=\"$(dirname "$(command -v cargo)"):\$PATH\""
  [ -n "${RUSTUP_HOME:-}" ] && echo "export RUSTUP_HOME=\"$RUSTUP_HOME\""
  [ -n "${CARGO_HOME:-}" ] && echo "export CARGO_HOME=\"$CARGO_HOME\""
} > "$SOURCE/env.sh"

echo "== building the grader"
cd "$COURSE"
cargo build --release --locked -p grader
mkdir -p "$SOURCE/bin"
install -m 755 "${CARGO_TARGET_DIR:-$COURSE/target}/release/grader" "$SOURCE/bin/grader"

# Student code runs as an unprivileged user that owns nothing but the build
# directory, when this user can run the toolchain (not when cargo lives in
# root's home, as on a developer's machine: then grading runs as root).
user=""
if [ "$(id -u)" = 0 ] && [ -n "$GRADING_USER" ]; then
  id -u "$GRADING_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$GRADING_USER"
  if runuser -u "$GRADING_USER" -- env PATH="$PATH" cargo --version >/dev/null 2>&1; then
    user="$GRADING_USER"
    mkdir -p "$ROOT/grading-home" "$COURSE/target/grader-submissions"
    chown -R "$user" "$ROOT/grading-home" "$COURSE/target/grader-submissions"
  else
    echo "warning: $GRADING_USER cannot run cargo here; grading will run as $(id -un)"
  fi
fi
echo "$user" > "$SOURCE/grading-user"

echo "== building every test and harness by grading the stubs once"
bash "$SOURCE/run_autograder" --prebuild
echo "== setup done"
"#;

/// Run once per submission, as root, from `/autograder`.
const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope's run: grade /autograder/submission and always write
# /autograder/results/results.json, with a readable output even when grading
# could not start.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
COURSE="$SOURCE/course"
RESULTS="$ROOT/results"
WORK="$ROOT/work"
GRADER="$SOURCE/bin/grader"
mkdir -p "$RESULTS"
[ -f "$SOURCE/env.sh" ] && . "$SOURCE/env.sh"
user=$(cat "$SOURCE/grading-user" 2>/dev/null || true)

# A JSON string: backslashes, quotes and line breaks escaped, other control
# characters dropped.
json_string() {
  local s
  s=$(printf '%s' "$1" | tr -d '\000-\010\013\014\016-\037')
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

# results.json for a run that could not grade: score 0 and why.
could_not_grade() {
  printf '{"score": 0, "output_format": "text", "output": %s, "tests": []}\n' \
    "$(json_string "The autograder could not grade this submission. $1")" > "$RESULTS/results.json"
  echo "$1"
}

as_grading_user() {
  if [ -n "$user" ]; then
    runuser -u "$user" -- env HOME="$ROOT/grading-home" PATH="$PATH" \
      ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} "$@"
  else
    "$@"
  fi
}

stop_leftovers() {
  [ -n "$user" ] && pkill -KILL -u "$user" 2>/dev/null
  return 0
}

if [ ! -x "$GRADER" ]; then
  could_not_grade "The grader is not built: setup.sh did not finish (see the autograder's build log)."
  exit 0
fi

rm -rf "$WORK" && mkdir -p "$WORK"
if [ "${1:-}" = "--prebuild" ]; then
  submission="$COURSE"
else
  submission="$ROOT/submission"
  # A submission uploaded as one folder holding the repository.
  if [ ! -d "$submission/exercises" ]; then
    inner=$(find "$submission" -mindepth 2 -maxdepth 2 -type d -name exercises 2>/dev/null | head -n 1)
    [ -n "$inner" ] && submission=$(dirname "$inner")
  fi
  if [ ! -d "$submission/exercises" ]; then
    could_not_grade "The submission has no exercises/ folder: submit the whole repository (for example from GitHub), with exercises/ at its top."
    exit 0
  fi
fi
# The grading user reads a copy without build output (links stay links: the
# grader refuses them).
mkdir -p "$WORK/submission"
tar -C "$submission" --exclude=./target --exclude=./.git -cf - . | tar -C "$WORK/submission" -xf -
chmod -R a+rX "$WORK"

# The report goes to a file this script (root) opens: student code cannot
# rewrite it after the grader has written it.
as_grading_user "$GRADER" grade --course "$COURSE/course.yaml" --submission "$WORK/submission" \
  --format json > "$WORK/report.json" 2> "$WORK/grader.log"
status=$?
stop_leftovers
cat "$WORK/grader.log"
if [ "${1:-}" = "--prebuild" ]; then
  exit 0
fi
if [ "$status" -ne 0 ] || ! "$GRADER" report "$WORK/report.json" --format gradescope \
    --out "$RESULTS/results.json" 2>> "$WORK/grader.log"; then
  could_not_grade "The grader stopped with exit code $status: $(tail -n 5 "$WORK/grader.log")"
fi
exit 0
"#;
