#!/usr/bin/env bash
# GitHub Classroom's reporter on what the release's workflow hands it.
#
#   scripts/classroom-reporter.sh REPORTER_DIR
#
# REPORTER_DIR is a checkout of classroom-resources/autograding-grading-reporter
# at the tag the workflow uses (v1), with its bundled dist/main.js; this
# script fetches nothing. It writes the student release, then plays the
# workflow's job as GitHub would: the job's environment, its "Install Rust"
# and "Grade" steps run from .github/workflows/classroom.yml under `bash
# --noprofile --norc -eo pipefail`, $GITHUB_ENV carried to the reporter's
# step, whose `runners` input and environment come from the workflow too.
# Then it runs the reporter under node, for four runs:
#
#   reference  the reference solutions' sources in the release
#   stubs      the release as students get it
#   not-built  a cargo that cannot build the grader
#   not-run    the Grade step never ran (an earlier step failed)
#
# and checks that the total the reporter prints (its table's `Total:` row)
# is the one it records (its `Points X/Y` notice), and that a run that
# could not grade records 0 of the course's maximum. Needs node (v20, as the
# action's `runs.using` says), python3 with PyYAML, and what grading needs.
# Set KEEP=1 to keep the work directory (the Grade steps' logs), and
# TARGET_DIR to build the release's grader there (kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

reporter_dir=${1:?usage: scripts/classroom-reporter.sh REPORTER_DIR (a checkout of classroom-resources/autograding-grading-reporter)}
main_js="$reporter_dir/dist/main.js"
[ -f "$main_js" ] || { echo "error: no dist/main.js in $reporter_dir" >&2; exit 2; }
command -v node >/dev/null || { echo "error: node is not installed" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null ||
  { echo "error: python3 with PyYAML is needed (apt-get install python3-yaml)" >&2; exit 2; }

work=$(mktemp -d)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work directory: $work"; fi

echo "== building the grader and writing the student release"
cargo build --release -q -p grader
./target/release/grader release --out "$work/release" >/dev/null
workflow="$work/release/.github/workflows/classroom.yml"

# The workflow's parts, as files: the job's environment (NAME=value lines),
# the two steps' scripts, the reporter step's environment, and its runners
# input `${{ env.X || 'Y' }}` as X and Y.
python3 - "$workflow" "$work" <<'PY'
import re, sys, yaml
workflow, work = sys.argv[1], sys.argv[2]
job = yaml.safe_load(open(workflow))["jobs"]["run-autograding-tests"]
steps = job["steps"]
def lines(env):
    return "".join(f"{k}={v}\n" for k, v in (env or {}).items())
open(f"{work}/job.env", "w").write(lines(job.get("env")))
for step in steps:
    if step.get("name", "").startswith("Install Rust"):
        open(f"{work}/install.sh", "w").write(step["run"])
    if step.get("id") == "grader":
        assert step.get("shell") == "bash", step.get("shell")
        open(f"{work}/grade.sh", "w").write(step["run"])
    if step.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@"):
        assert step.get("if") == "always()", step.get("if")
        open(f"{work}/reporter.env", "w").write(lines(step.get("env")))
        runners = step["with"]["runners"]
        m = re.fullmatch(r"\$\{\{ env\.(\w+) \|\| '(\w+)' \}\}", runners)
        assert m, runners
        open(f"{work}/runners", "w").write(f"{m.group(1)} {m.group(2)}\n")
PY
read -r runners_variable runners_default < "$work/runners"

# NAME=value lines of FILE into the environment of the command after them.
env_args() { # FILE...
  local file line
  for file in "$@"; do
    while IFS= read -r line; do [ -n "$line" ] && printf '%s\0' "$line"; done < "$file"
  done
}

# A workflow step's script in REPO, as GitHub runs `shell: bash`, with the
# job's environment and $GITHUB_ENV at ENV_FILE.
run_step() { # SCRIPT REPO ENV_FILE [PATH]
  local vars
  mapfile -d '' vars < <(env_args "$work/job.env")
  (cd "$2" && env "${vars[@]}" PATH="${4:-$PATH}" GITHUB_ENV="$3" GITHUB_PATH=/dev/null \
    CARGO_TARGET_DIR="${TARGET_DIR:-$work/target}" bash --noprofile --norc -eo pipefail "$1")
}

failures=0
# The reporter on what a run left in ENV_FILE; checks its totals.
report() { # LABEL ENV_FILE EXPECT (graded|zero)
  local label="$1" vars runners out printed recorded maximum
  mapfile -d '' vars < <(env_args "$work/job.env" "$2" "$work/reporter.env")
  runners=$(sed -n "s/^$runners_variable=//p" "$2" | tail -n 1)
  runners=${runners:-$runners_default}
  echo
  echo "================ $label: runners=$(echo "$runners" | cut -c1-60)$([ ${#runners} -gt 60 ] && echo ...)"
  out=$(env -i PATH="$PATH" HOME="$HOME" "${vars[@]}" INPUT_RUNNERS="$runners" \
    node "$main_js" 2>&1 | sed 's/\x1b\[[0-9;]*m//g') || true
  # The per-runner lines are many: the first and last few, then the summary.
  printf '%s\n' "$out" | sed -n '/Test runner summary/q;p' | sed -n '1,12p'
  echo "[...]"
  printf '%s\n' "$out" | sed -n '/Test runner summary/,$p' | tail -n 12
  printed=$(printf '%s\n' "$out" | sed -n 's/^│ Total: *│ *\([0-9.e-]*\) *│ *\([0-9.e-]*\) *│$/\1\/\2/p')
  recorded=$(printf '%s\n' "$out" | sed -n 's/^::notice title=Autograding complete::Points //p')
  maximum=${recorded#*/}
  if [ -n "$printed" ] && [ "$printed" = "$recorded" ]; then
    echo "-- $label: printed total $printed = recorded Points $recorded"
  else
    echo "-- $label: MISMATCH: printed total '$printed', recorded Points '$recorded'"
    failures=$((failures + 1))
  fi
  if [ "$3" = zero ] && [ "${recorded%%/*}" != 0 ]; then
    echo "-- $label: MISMATCH: a run that could not grade recorded $recorded"
    failures=$((failures + 1))
  fi
  echo "$maximum" >> "$work/maximums"
}

echo "== the workflow's Install Rust step ($(grep RUSTUP_TOOLCHAIN "$work/job.env"))"
run_step "$work/install.sh" "$work/release" /dev/null >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }

cp -a "$work/release" "$work/reference"
# The solutions' sources over the stubs (files given complete stay).
for solution in solutions/ex*/; do
  cp -a "$solution/src/." "$work/reference/exercises/$(basename "$solution")/src/"
done
for run in reference stubs; do
  repo="$work/release"; [ "$run" = reference ] && repo="$work/reference"
  echo "== the Grade step on the $run (log: $work/$run.log)"
  started=$(date +%s)
  run_step "$work/grade.sh" "$repo" "$work/$run.env" >"$work/$run.log" 2>&1 ||
    echo "   (the Grade step failed: exit code $?)"
  echo "   $(( $(date +%s) - started )) s; the grader's own summary: $(grep -m1 -E '^(Score|Total|score)' "$work/$run.log" || true)"
done

echo "== the Grade step with a cargo that cannot build the grader"
mkdir -p "$work/broken-bin"
printf '#!/bin/sh\necho "error: could not compile grader" >&2\nexit 101\n' > "$work/broken-bin/cargo"
chmod +x "$work/broken-bin/cargo"
run_step "$work/grade.sh" "$work/release" "$work/not-built.env" "$work/broken-bin:$PATH" \
  >"$work/not-built.log" 2>&1 && echo "   (the step succeeded?)" || echo "   the step failed (exit code $?), as it should"
: > "$work/not-run.env"

report "reference solutions" "$work/reference.env" graded
report "stubs" "$work/stubs.env" graded
report "grader not built" "$work/not-built.env" zero
report "Grade step not run" "$work/not-run.env" zero

if [ "$(sort -u "$work/maximums" | wc -l)" -ne 1 ]; then
  echo "-- MISMATCH: the runs record different maximums: $(sort -u "$work/maximums" | tr '\n' ' ')"
  failures=$((failures + 1))
fi
echo
if [ "$failures" -eq 0 ]; then
  echo "every run: the printed total is the recorded one, out of the same maximum"
else
  echo "$failures mismatch(es)"
  exit 1
fi
