//! `grader gradescope --out autograder.zip`: Gradescope's autograder.
//!
//! The zip holds `setup.sh` (run once when Gradescope builds the image),
//! `run_autograder` (run once per submission) and `course/`: the student
//! release of the course ([`crate::release`]), so the image never holds the
//! reference solutions. `AUTOGRADER_ROOT` stands in for `/autograder`, so a
//! test can unpack the zip anywhere and run it end to end.

use crate::course::Course;
use crate::release::{self, Content};
use crate::workspace::manifest::MANIFEST_FILE;
use anyhow::Context;
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// Where the course goes inside the zip (and in `/autograder/source`).
pub const COURSE_DIR: &str = "course";

/// Write the autograder zip; returns its size in bytes.
pub fn write_zip(course_root: &Path, course: &Course, out: &Path) -> anyhow::Result<u64> {
    let files = release::plan(course_root, course)?;
    let manifest = release::manifest(&files)?;
    let toolchain = release::toolchain(course_root)?;
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
    let max_score = release::course_maximum(course).to_string();
    let run_autograder = RUN_AUTOGRADER.replace("{max_score}", &max_score);
    add("run_autograder", run_autograder.as_bytes(), executable)?;
    for file in &files {
        let (bytes, options) = match &file.content {
            Content::Copy(from) => {
                let bytes = std::fs::read(from)
                    .with_context(|| format!("cannot read {}", from.display()))?;
                let options = if is_executable(from)? {
                    executable
                } else {
                    plain
                };
                (bytes, options)
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

/// Whether `file` is a program (some execute bit is set): it stays one in
/// the zip.
#[cfg(unix)]
fn is_executable(file: &Path) -> anyhow::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .permissions()
        .mode();
    Ok(mode & 0o111 != 0)
}

/// Windows keeps no execute bit: the course's files go in as plain files
/// (setup.sh and run_autograder, written here, are programs everywhere).
#[cfg(not(unix))]
fn is_executable(_: &Path) -> anyhow::Result<bool> {
    Ok(false)
}

/// Run once, as root, when Gradescope builds the image.
const SETUP_SH: &str = r#"#!/usr/bin/env bash
# Gradescope's setup: a Rust toolchain when the image has none, the sandbox,
# the grader, every crate the course builds with, the unprivileged user that
# grades, and every test and harness built once by grading the stubs, so that
# a submission compiles only its own crates.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
COURSE="$SOURCE/course"
TOOLCHAIN="{toolchain}"
GRADING_USER="${AUTOGRADER_USER-autograder-student}"
# What the grading user runs cargo with, when root's toolchain is out of its
# reach.
SHARED_TOOLCHAIN="$ROOT/toolchain"
SHARED_CARGO_HOME="$ROOT/cargo-home"

if ! command -v cargo >/dev/null 2>&1 && [ -x /usr/local/cargo/bin/cargo ]; then
  export RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH="/usr/local/cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "== installing Rust $TOOLCHAIN with rustup"
  apt-get update -q
  apt-get install -y -q curl ca-certificates build-essential
  # Under /usr/local, readable by every user: the grading user runs it as is.
  export RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --no-modify-path --profile minimal --default-toolchain "$TOOLCHAIN"
  chmod -R a+rX /usr/local/rustup /usr/local/cargo
  export PATH="/usr/local/cargo/bin:$PATH"
fi
# Cargo.toml's rust-version, which the locked crates need, whatever the
# image's default toolchain is.
if command -v rustup >/dev/null 2>&1; then
  echo "== installing Rust $TOOLCHAIN (Cargo.toml's rust-version) with rustup"
  rustup toolchain install "$TOOLCHAIN" --profile minimal
  export RUSTUP_TOOLCHAIN="$TOOLCHAIN"
fi
if ! command -v bwrap >/dev/null 2>&1; then
  echo "== installing bubblewrap (the grader's sandbox for student code)"
  apt-get update -q && apt-get install -y -q bubblewrap
fi
{
  echo "export PATH=\"$(dirname "$(command -v cargo)"):\$PATH\""
  if [ -n "${RUSTUP_HOME:-}" ]; then echo "export RUSTUP_HOME=\"$RUSTUP_HOME\""; fi
  if [ -n "${CARGO_HOME:-}" ]; then echo "export CARGO_HOME=\"$CARGO_HOME\""; fi
  if [ -n "${RUSTUP_TOOLCHAIN:-}" ]; then echo "export RUSTUP_TOOLCHAIN=\"$RUSTUP_TOOLCHAIN\""; fi
} > "$SOURCE/env.sh"

echo "== building the grader"
cd "$COURSE"
cargo build --release --locked -p grader
mkdir -p "$SOURCE/bin"
install -m 755 "${CARGO_TARGET_DIR:-$COURSE/target}/release/grader" "$SOURCE/bin/grader"
# Grading builds run offline in the sandbox: every crate is fetched now.
echo "== fetching every crate the course builds with"
cargo fetch --locked

# The whole environment the grading user runs the grader with (run_autograder
# starts it from an empty one): cargo's directory first on PATH, CARGO (the
# grader binds that toolchain into its sandbox), the crate cache.
write_grading_env() { # BIN_DIR CARGO_HOME [RUSTUP_HOME]
  {
    echo "PATH=$1:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "CARGO=$1/cargo"
    echo "CARGO_HOME=$2"
    if [ -n "${3:-}" ]; then echo "RUSTUP_HOME=$3"; fi
    if [ -n "${RUSTUP_TOOLCHAIN:-}" ]; then echo "RUSTUP_TOOLCHAIN=$RUSTUP_TOOLCHAIN"; fi
    echo "LANG=C.UTF-8"
  } > "$SOURCE/grading-env"
}

# `as_user USER COMMAND...`: COMMAND as USER, in the grading environment.
as_user() {
  local user="$1" vars
  shift
  mapfile -t vars < "$SOURCE/grading-env"
  runuser -u "$user" -- env -i HOME="$ROOT/grading-home" "${vars[@]}" "$@"
}

# Whether USER can build the course: run cargo and rustc, read the course and
# the crate cache.
can_build() {
  as_user "$1" sh -c 'cargo --version && rustc --version && test -r "$0/Cargo.lock" && test -r "$CARGO_HOME/registry"' "$COURSE" >/dev/null 2>&1
}

# Whether USER can create the sandbox's namespaces (a user namespace first,
# as the grader does when it is not root).
can_sandbox() {
  as_user "$1" bwrap --unshare-user --unshare-pid --unshare-net --die-with-parent \
    --ro-bind / / --proc /proc --dev /dev true >/dev/null 2>&1
}

# cargo is out of the grading user's reach (rustup in root's home, which is
# closed: mode 0700). Rather than open root's home, or grade as root, give
# the user the same toolchain and crate cache under $ROOT: hard links (an
# instant copy that takes no space; the files keep root as owner and their
# modes, so nothing of root's becomes writable), or a real copy when $ROOT is
# on another file system.
share_toolchain() {
  local sysroot cargo_home dir
  sysroot=$(rustc --print sysroot)
  if [ ! -x "$sysroot/bin/cargo" ]; then
    echo "warning: no cargo in rustc's sysroot ($sysroot): the toolchain cannot be shared"
    return 0
  fi
  cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  echo "== sharing the toolchain ($sysroot) and crate cache ($cargo_home) with $GRADING_USER under $ROOT"
  rm -rf "$SHARED_TOOLCHAIN" "$SHARED_CARGO_HOME"
  mkdir -p "$SHARED_TOOLCHAIN" "$SHARED_CARGO_HOME"
  link_or_copy "$sysroot" "$SHARED_TOOLCHAIN"
  for dir in registry git; do
    if [ -d "$cargo_home/$dir" ]; then
      mkdir -p "$SHARED_CARGO_HOME/$dir"
      link_or_copy "$cargo_home/$dir" "$SHARED_CARGO_HOME/$dir"
    fi
  done
  chmod 755 "$SHARED_TOOLCHAIN" "$SHARED_CARGO_HOME"
  write_grading_env "$SHARED_TOOLCHAIN/bin" "$SHARED_CARGO_HOME"
}

link_or_copy() { # FROM INTO (an existing, empty directory)
  if ! cp -al "$1/." "$2/" 2>/dev/null; then
    rm -rf "${2:?}"/* && mkdir -p "$2"
    # A copy is ours: open it to every user (the documentation stays out).
    tar -C "$1" --exclude=./share/doc -cf - . | tar -C "$2" -xf -
    chmod -R a+rX "$2"
  fi
}

# Student code runs as an unprivileged user that owns nothing but its home
# and the build directory, in the sandbox. When that user cannot sandbox,
# grading runs as root, which boxes student code itself: bubblewrap as
# nobody, or, where no namespace can be made (a default Docker container),
# the grader's uid box (a user of its own per run).
user=""
if [ "$(id -u)" = 0 ] && [ -n "$GRADING_USER" ]; then
  id -u "$GRADING_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$GRADING_USER"
  mkdir -p "$ROOT/grading-home" "$COURSE/target/grader-submissions"
  chown -R "$GRADING_USER" "$ROOT/grading-home" "$COURSE/target/grader-submissions"
  chmod -R a+rX "$SOURCE"
  rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
  [ -d "$rustup_home" ] || rustup_home=""
  write_grading_env "$(dirname "$(command -v cargo)")" "${CARGO_HOME:-$HOME/.cargo}" "$rustup_home"
  if ! can_build "$GRADING_USER"; then
    share_toolchain
  fi
  if ! can_build "$GRADING_USER"; then
    echo "warning: $GRADING_USER cannot build the course (is every directory above $ROOT open to it?); grading will run as $(id -un)"
  elif ! can_sandbox "$GRADING_USER"; then
    echo "note: $GRADING_USER cannot create the sandbox's namespaces here; grading will run as $(id -un), which boxes student code itself"
  else
    user="$GRADING_USER"
  fi
fi
echo "$user" > "$SOURCE/grading-user"
echo "== grading as ${user:-$(id -un)}"

echo "== building every test by grading the stubs once (--build-stubs)"
if ! bash "$SOURCE/run_autograder" --prebuild; then
  echo "error: the grader cannot grade in this image (its error is above): every submission would get no grade" >&2
  exit 1
fi
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
# The course's maximum, all of which a run that could not grade loses.
MAX_SCORE="{max_score}"
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

# results.json for a run that could not grade: 0 of the course's maximum,
# and why, in the output and in the one test that carries the maximum.
could_not_grade() {
  local why
  why=$(json_string "The autograder could not grade this submission. $1")
  printf '{"score": 0, "output_format": "text", "output": %s, "tests": [{"name": "grading", "score": 0, "max_score": %s, "status": "failed", "output": %s, "output_format": "text", "visibility": "visible"}]}\n' \
    "$why" "$MAX_SCORE" "$why" > "$RESULTS/results.json"
  echo "$1"
}

# The grader as the grading user (setup.sh chose it), from an empty
# environment but what setup.sh wrote: nothing of root's reaches it.
as_grading_user() {
  if [ -n "$user" ]; then
    local vars
    mapfile -t vars < "$SOURCE/grading-env"
    runuser -u "$user" -- env -i HOME="$ROOT/grading-home" "${vars[@]}" "$@"
  else
    "$@"
  fi
}

# Whatever the grading user left running (a background process of student
# code outside the sandbox's reach), killed before results.json is written:
# `kill -1` as that user signals exactly its processes. Again, for any
# started while the first pass ran.
stop_leftovers() {
  if [ -n "$user" ]; then
    for _ in 1 2 3; do
      runuser -u "$user" -- bash -c 'kill -KILL -1' 2>/dev/null
    done
  fi
  return 0
}

if [ ! -x "$GRADER" ]; then
  could_not_grade "The grader is not built: setup.sh did not finish (see the autograder's build log)."
  exit 0
fi

rm -rf "$WORK" && mkdir -p "$WORK"
BUILD_STUBS=""
if [ "${1:-}" = "--prebuild" ]; then
  submission="$COURSE"
  BUILD_STUBS="--build-stubs"
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
  --format json $BUILD_STUBS > "$WORK/report.json" 2> "$WORK/grader.log"
status=$?
stop_leftovers
cat "$WORK/grader.log"
if [ "${1:-}" = "--prebuild" ]; then
  # The stubs earn nothing (exit 1); a grader that cannot grade (no box for
  # student code, exit 2) stops the setup.
  [ "$status" -ne 2 ]
  exit
fi
if [ "$status" -ne 0 ] || ! "$GRADER" report "$WORK/report.json" --format gradescope \
    --out "$RESULTS/results.json" 2>> "$WORK/grader.log"; then
  could_not_grade "The grader stopped with exit code $status: $(tail -n 5 "$WORK/grader.log")"
fi
exit 0
"#;
