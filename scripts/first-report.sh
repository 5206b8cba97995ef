#!/usr/bin/env bash
# How long a new student waits for the first report.
#
# Clones the course afresh, fetches its crates into an empty CARGO_HOME (the
# toolchain itself is kept: rustup's RUSTUP_HOME is not touched), then runs
# the README's main command, `cargo run --release`, twice: the first report
# (the grader's build, then the first grading, every exercise still the
# stubs) and a warm re-run. Prints each phase's wall time and the machine's
# load before and after, and the first report's own progress lines.
#
# Usage: scripts/first-report.sh [--repo PATH_OR_URL] [--rev REV] [--keep DIR]
#   --repo   what to clone (default: this repository)
#   --rev    the commit to check out (default: the repository's HEAD)
#   --keep   clone into DIR and keep it (default: a temporary directory)
# Run it on an otherwise quiet machine: its numbers are the machine's too.
# Needs: git, cargo (rustup), network access to crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

REPO=$PWD
REV=""
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --repo) REPO="$2"; shift ;;
        --rev) REV="$2"; shift ;;
        --keep) KEEP="$2"; shift ;;
        *) echo "first-report.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
REV=${REV:-$(git -C "$REPO" rev-parse HEAD)}

if [ -n "$KEEP" ]; then
    WORK=$KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
CLONE=$WORK/course
LOG=$WORK/logs
mkdir -p "$LOG"
# An empty CARGO_HOME: every crate is fetched, nothing is found built.
export CARGO_HOME=$WORK/cargo-home
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
# As rustup installs them: the proxies (cargo, rustc, ...) are copies of
# rustup in CARGO_HOME/bin, where the grader's sandbox finds them.
mkdir -p "$CARGO_HOME/bin"
RUSTUP_BIN=$(command -v rustup) || { echo "first-report.sh: rustup is not installed" >&2; exit 2; }
cp "$RUSTUP_BIN" "$CARGO_HOME/bin/rustup"
for tool in cargo rustc rustdoc; do
    ln "$CARGO_HOME/bin/rustup" "$CARGO_HOME/bin/$tool"
done
export PATH=$CARGO_HOME/bin:$PATH
unset CARGO_TARGET_DIR RUSTFLAGS CARGO_BUILD_JOBS

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "first-report: $(nproc) cores, load $(load) (1, 5, 15 min), commit ${REV:0:7}"
PHASES=()
# The CPU seconds (user + system) this shell's children have used so far,
# into CPU: what a phase used whatever else the machine was doing. (`times`
# must run in this shell: a subshell's children have used nothing.)
cpu() {
    times >"$LOG/times"
    CPU=$(tail -n 1 "$LOG/times" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
}
phase() { # name, command...
    local name=$1 start end cpu_start
    shift
    start=$(now)
    cpu
    cpu_start=$CPU
    if ! "$@" >"$LOG/$name.out" 2>"$LOG/$name.err"; then
        echo "first-report: $name failed; its output:" >&2
        tail -n 30 "$LOG/$name.err" >&2
        exit 1
    fi
    end=$(now)
    cpu
    PHASES+=("$(printf '%-20s %6s s wall %6s s CPU   load %s' "$name" "$(seconds "$start" "$end")" \
        "$(seconds "$cpu_start" "$CPU")" "$(load)")")
    echo "${PHASES[-1]}"
}

begin=$(now)
phase "clone" git clone -q "$REPO" "$CLONE"
git -C "$CLONE" checkout -q "$REV"
cd "$CLONE"
phase "fetch crates" cargo fetch
phase "build the grader" cargo build --release
phase "first grading" cargo run --release
first_report=$(seconds "$begin" "$(now)")
phase "warm re-run" cargo run --release

echo
echo "first report after ${first_report} s (clone, fetch, build, grade); load now $(load)"
echo
echo "what the first grading said while it ran (stderr):"
sed 's/^/    /' "$LOG/first grading.err" | grep -v '^    *Finished\|^    *Running\|^    *Compiling' || true
echo
echo "the first report's last lines:"
tail -n 6 "$LOG/first grading.out" | sed 's/^/    /'
