#!/usr/bin/env bash
# Can the timing verdicts be believed on a busy or small machine?
#
# Grades the reference solutions again and again: on an idle machine, beside
# one and two busy processes, on one core (taskset), under a CPU quota of half
# a core (a cgroup), and grades the cheats that must keep losing their points.
# Prints one line per run, then a summary that checks what issue 9 asks:
#   idle        every run earns every point
#   busy1/2     no `fail` verdict (pass or inconclusive, with the reason)
#   taskset     the 2-core observations skipped, every other one passes
#   cgroup      cores seen as 1 as with taskset; a check of CPU against wall time
#               is inconclusive because of the quota, never failed
#   cheats      a serial thread pool and a countdown without black_box `fail`
#               on an idle machine; a one-worker process pool never passes
#               processes-crunch-in-parallel beside a busy process
#
# Usage: scripts/verdict-stress.sh [--quick] [--runs N] [--only MODE[,MODE...]] [--keep DIR]
#   --quick   one run per mode, ex01 and ex03 only: a smoke test of the script
#   --runs    N runs per mode instead of the defaults: 20 idle, 10 busy1, 10 busy2,
#             10 taskset, 3 cgroup (each takes minutes), 3 of each idle cheat and 10
#             of the one-worker pool beside a busy process
#   --only    run only these modes: idle,busy1,busy2,taskset,cgroup,cheats
#   --keep    keep every run's JSON report in DIR (default: a temporary directory)
# Run it on an otherwise quiet machine: it is the machine's quietness it tests.
# Needs: cargo, jq, taskset (util-linux), python3; root for the cgroup mode.
# VERDICT_STRESS_GRADER=PATH uses that grader binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
RUNS=""
ONLY="idle,busy1,busy2,taskset,cgroup,cheats"
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --runs) RUNS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --keep) KEEP="$2"; shift ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "verdict-stress: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for tool in cargo jq taskset python3; do
    command -v "$tool" >/dev/null || { echo "verdict-stress: $tool is needed" >&2; exit 2; }
done

if [ "$QUICK" = 1 ]; then
    IDLE_RUNS=1 BUSY_RUNS=1 TASKSET_RUNS=1 CGROUP_RUNS=1 CHEAT_RUNS=1 IDLE_CHEAT_RUNS=1
    EXERCISES=(--exercise ex01 --exercise ex03)
else
    # The issue asks 10 gradings of the one-worker pool beside a busy process;
    # the cheats that must fail on an idle machine get 3 each.
    IDLE_RUNS=20 BUSY_RUNS=10 TASKSET_RUNS=10 CGROUP_RUNS=3 CHEAT_RUNS=10 IDLE_CHEAT_RUNS=3
    EXERCISES=()
fi
if [ -n "$RUNS" ]; then
    IDLE_RUNS=$RUNS BUSY_RUNS=$RUNS TASKSET_RUNS=$RUNS CGROUP_RUNS=$RUNS CHEAT_RUNS=$RUNS IDLE_CHEAT_RUNS=$RUNS
fi

WORK=$(mktemp -d -t verdict-stress.XXXXXX)
OUT=${KEEP:-$WORK/reports}
mkdir -p "$OUT"
BUSY_PIDS=()
CGROUP_DIR=""
cleanup() {
    stop_busy
    if [ -n "$CGROUP_DIR" ] && [ -d "$CGROUP_DIR" ]; then rmdir "$CGROUP_DIR" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_busy() { # N busy loops, like a build or a language server beside the student
    for _ in $(seq "$1"); do
        sh -c 'while :; do :; done' &
        BUSY_PIDS+=("$!")
    done
}
stop_busy() {
    for pid in "${BUSY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BUSY_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    BUSY_PIDS=()
}

wants() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ -n "${VERDICT_STRESS_GRADER:-}" ]; then
    GRADER=$VERDICT_STRESS_GRADER
else
    echo "== building the grader (release)"
    cargo build --release -q -p grader
    GRADER=$ROOT/target/release/grader
fi
"$GRADER" doctor | sed 's/^/   /'

# A verdict as a word, whatever shape the report gives it.
VERDICT='(.verdict | if type == "string" then . else (.kind // .state // tostring) end)'

# Run one grading and print its line. Arguments: mode, run label, report file,
# then the command's prefix (e.g. taskset -c 0) and the grader's arguments.
SUMMARY=$WORK/summary.tsv
: >"$SUMMARY"
grade_once() {
    local mode=$1 label=$2 report=$3
    shift 3
    local started ended
    started=$(date +%s.%N)
    if ! "$@" --format json --out "$report" >"$report.log" 2>&1; then
        echo "$mode $label: the grader failed: $(tail -1 "$report.log")"
        printf '%s\terror\t0\t0\t0\t0\t0\t\t\n' "$mode" >>"$SUMMARY"
        return
    fi
    ended=$(date +%s.%N)
    local line
    line=$(jq -r --arg mode "$mode" --arg run "$label" --arg wall "$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" "
        [.exercises[].observations[] | {id, v: $VERDICT, reason}] as \$obs
        | (\$obs | map(select(.v == \"pass\")) | length) as \$pass
        | (\$obs | map(select(.v == \"fail\")) | length) as \$fail
        | (\$obs | map(select(.v == \"inconclusive\")) | length) as \$inc
        | (\$obs | map(select(.v == \"skipped\")) | length) as \$skip
        | \"\(\$mode) \(\$run): \(.score)/\(.max_score)  pass \(\$pass) fail \(\$fail) inconclusive \(\$inc) skipped \(\$skip)\"
          + \"  measure \(.timings.measure_seconds * 10 | round / 10) s, overhead \(.timings.overhead_percent | round)%, wall \(\$wall | tonumber | round) s\"
          + (\$obs | map(select(.v == \"fail\")) | map(\"\n    fail \(.id): \(.reason)\") | join(\"\"))
          + (\$obs | map(select(.v == \"inconclusive\")) | map(\"\n    inconclusive \(.id): \(.reason)\") | join(\"\"))
    " "$report")
    echo "$line"
    jq -r --arg mode "$mode" "
        [.exercises[].observations[] | {id, v: $VERDICT,
            for_cores: ((.state.cores_needed // 0) > (.state.cores_present // 0)),
            for_quota: ((.reason // \"\") | test(\"quota\"))}] as \$obs
        | [\$mode, (if .score == .max_score then \"full\" else \"partial\" end),
           (\$obs | map(select(.v == \"pass\")) | length),
           (\$obs | map(select(.v == \"fail\")) | length),
           (\$obs | map(select(.v == \"inconclusive\")) | length),
           (\$obs | map(select(.v == \"skipped\")) | length),
           .timings.measure_seconds, .timings.overhead_percent,
           (\$obs | map(select(.v == \"skipped\" and (.for_cores | not)) | .id) | join(\",\")),
           (\$obs | map(\"\(.id)=\(.v)\") | join(\",\")),
           (\$obs | map(select(.v == \"inconclusive\" and (.for_quota | not))) | length)] | @tsv
    " "$report" >>"$SUMMARY"
}

solutions() { # mode runs prefix...
    local mode=$1 runs=$2
    shift 2
    for i in $(seq "$runs"); do
        grade_once "$mode" "run $i/$runs" "$OUT/$mode-$i.json" \
            "$@" "$GRADER" grade --solutions "${EXERCISES[@]}"
    done
}

# ---- the reference solutions under each kind of machine ---------------------
# The first grading after a build compiles the harnesses and tests: its time is
# the build's, not the grader's, so it is not one of the counted runs.
echo "== warm-up: one grading that builds the harnesses (not counted)"
"$GRADER" grade --solutions "${EXERCISES[@]}" --format json --out "$WORK/warm-up.json" >"$WORK/warm-up.log" 2>&1 \
    || echo "   the warm-up grading failed: $(tail -1 "$WORK/warm-up.log")"

if wants idle; then
    echo "== idle: $IDLE_RUNS runs"
    solutions idle "$IDLE_RUNS"
fi
if wants busy1; then
    echo "== one busy process: $BUSY_RUNS runs"
    start_busy 1
    solutions busy1 "$BUSY_RUNS"
    stop_busy
fi
if wants busy2; then
    echo "== two busy processes: $BUSY_RUNS runs"
    start_busy 2
    solutions busy2 "$BUSY_RUNS"
    stop_busy
fi
if wants taskset; then
    echo "== one core (taskset -c 0): $TASKSET_RUNS runs"
    solutions taskset "$TASKSET_RUNS" taskset -c 0
fi

# A cgroup with half a core: v2 where its cpu controller is available, else v1.
make_cgroup() {
    local v2 v1
    # mountinfo: the mount point is field 5; the file system type follows the "-" field.
    v2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break }
              $(i + 1) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
    if [ -n "$v2" ] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
        CGROUP_DIR=$v2/verdict-stress.$$
        mkdir "$CGROUP_DIR" 2>/dev/null || { CGROUP_DIR=""; return 1; }
        echo "50000 100000" >"$CGROUP_DIR/cpu.max" || return 1
        CGROUP_KIND="cgroup v2 cpu.max = 50000 100000"
        return 0
    fi
    v1=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break }
              $(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
    if [ -n "$v1" ]; then
        CGROUP_DIR=$v1/verdict-stress.$$
        mkdir "$CGROUP_DIR" 2>/dev/null || { CGROUP_DIR=""; return 1; }
        echo 100000 >"$CGROUP_DIR/cpu.cfs_period_us" && echo 50000 >"$CGROUP_DIR/cpu.cfs_quota_us" || return 1
        CGROUP_KIND="cgroup v1 cpu.cfs_quota_us = 50000, cpu.cfs_period_us = 100000 (no cgroup v2 cpu controller here)"
        return 0
    fi
    return 1
}
if wants cgroup; then
    if make_cgroup; then
        echo "== half a core ($CGROUP_KIND): $CGROUP_RUNS runs"
        solutions cgroup "$CGROUP_RUNS" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP_DIR"
        rmdir "$CGROUP_DIR" 2>/dev/null || true
        CGROUP_DIR=""
    else
        echo "== half a core: this machine does not let this user create a cgroup with a CPU quota (needs root and a cpu controller); mode not run"
        printf 'cgroup\tnot-run\t0\t0\t0\t0\t0\t0\t\t\n' >>"$SUMMARY"
    fi
fi

# ---- cheats: the reference solutions with one exact edit ---------------------
# Each edit must match the solution exactly once, as in grader/tests/cheats.rs.
cheat() { # name exercise-dir file-in-src find replace [find replace]...
    local name=$1 dir=$2 file=$3
    shift 3
    local tree=$WORK/cheat-$name
    rm -rf "$tree"
    mkdir -p "$tree/exercises/$dir"
    cp -r "$ROOT/solutions/$dir/src" "$tree/exercises/$dir/src"
    python3 - "$name" "$tree/exercises/$dir/src/$file" "$@" <<'EOF'
import sys
name, path, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(path).read()
for find, replace in zip(edits[::2], edits[1::2]):
    if text.count(find) != 1:
        sys.exit(f"cheat {name}: {path} should contain {find!r} once, found it "
                 f"{text.count(find)} times; update scripts/verdict-stress.sh to the solution")
    text = text.replace(find, replace, 1)
open(path, "w").write(text)
EOF
    echo "$tree"
}
cheat_runs() { # mode runs exercise observation expected tree [prefix...]
    local mode=$1 runs=$2 exercise=$3 observation=$4 expected=$5 tree=$6
    shift 6
    for i in $(seq "$runs"); do
        local report=$OUT/$mode-$i.json
        grade_once "$mode" "run $i/$runs" "$report" "$@" "$GRADER" grade --submission "$tree" --exercise "$exercise"
        local got
        got=$(jq -r --arg id "$observation" "[.exercises[].observations[] | select(.id == \$id) | $VERDICT][0] // \"missing\"" "$report" 2>/dev/null || echo error)
        printf '%s\t%s\t%s\t%s\n' "$mode" "$observation" "$expected" "$got" >>"$WORK/cheats.tsv"
    done
}
if wants cheats; then
    : >"$WORK/cheats.tsv"
    echo "== cheats"
    # ex02's pool without `collect`: each worker is spawned only after the
    # previous one was joined (grader/tests/cheats.rs, serial_pool).
    tree=$(cheat serial-pool ex02-threaded-query lib.rs \
        "let workers: Vec<_> =" "let workers =" \
        $'.collect();\n        // Join only after spawning them all' \
        $';\n        // Join only after spawning them all')
    cheat_runs cheat-serial-pool "$IDLE_CHEAT_RUNS" ex02 threads-overlap fail "$tree"
    tree=$(cheat no-black-box ex03-process-crunch lib.rs "std::hint::black_box(remaining);" "")
    cheat_runs cheat-no-black-box "$IDLE_CHEAT_RUNS" ex03 crunch-scales-with-x fail "$tree"
    tree=$(cheat one-worker ex03-process-crunch lib.rs "(0..n_procs.min(items.len()))" "(0..1)")
    start_busy 1
    cheat_runs cheat-one-worker-busy1 "$CHEAT_RUNS" ex03 processes-crunch-in-parallel not-pass "$tree"
    stop_busy
fi

# ---- summary ------------------------------------------------------------------
echo
echo "== summary"
VERDICT_OK=1
check() { # description condition-result
    if [ "$2" = yes ]; then echo "  met      $1"; else echo "  NOT MET  $1"; VERDICT_OK=0; fi
}
mode_rows() { awk -F'\t' -v m="$1" '$1 == m' "$SUMMARY"; }
for mode in idle busy1 busy2 taskset cgroup; do
    rows=$(mode_rows "$mode")
    [ -z "$rows" ] && continue
    if echo "$rows" | grep -q $'\tnot-run\t'; then
        echo "  skipped  $mode: could not create the cgroup on this machine"
        continue
    fi
    runs=$(echo "$rows" | wc -l)
    errors=$(echo "$rows" | awk -F'\t' '$2 == "error"' | wc -l)
    full=$(echo "$rows" | awk -F'\t' '$2 == "full"' | wc -l)
    fails=$(echo "$rows" | awk -F'\t' '{ s += $4 } END { print s + 0 }')
    incs=$(echo "$rows" | awk -F'\t' '{ s += $5 } END { print s + 0 }')
    max_measure=$(echo "$rows" | awk -F'\t' '$7 > m { m = $7 } END { printf "%.1f", m }')
    max_overhead=$(echo "$rows" | awk -F'\t' '$8 > m { m = $8 } END { printf "%.0f", m }')
    echo "  $mode: $runs runs, $full with every point, $fails fail and $incs inconclusive verdicts in all, grader errors $errors; measuring took at most $max_measure s, overhead at most $max_overhead%"
    case $mode in
        idle)
            check "idle: every run earns every point" "$([ "$full" = "$runs" ] && [ "$errors" = 0 ] && echo yes || echo no)"
            check "idle: observations measured in under 30 s (the budget is for the whole course)" \
                "$(awk -v m="$max_measure" 'BEGIN { print (m < 30 ? "yes" : "no") }')"
            check "idle: grader overhead under 15%" "$(awk -v m="$max_overhead" 'BEGIN { print (m < 15 ? "yes" : "no") }')" ;;
        busy1|busy2)
            check "$mode: no fail verdict (pass or inconclusive only)" "$([ "$fails" = 0 ] && [ "$errors" = 0 ] && echo yes || echo no)" ;;
        taskset|cgroup)
            # Column 9 lists skips that are not for want of cores; column 6 counts all skips.
            skipped_ok=$(echo "$rows" | awk -F'\t' '$9 != "" || $6 == 0 { bad = 1 } END { print bad ? "no" : "yes" }')
            check "$mode: only the observations that need more cores skipped" "$skipped_ok"
            if [ "$mode" = taskset ]; then
                check "$mode: every other observation passes" "$([ "$fails" = 0 ] && [ "$incs" = 0 ] && [ "$errors" = 0 ] && echo yes || echo no)"
            else
                # Under half a core's quota a crunch can use at most half of
                # the wall time: a CPU-against-wall check cannot pass there,
                # and must say the quota is why.
                other_incs=$(echo "$rows" | awk -F'\t' '{ n += $11 } END { print n + 0 }')
                check "$mode: every other observation passes, or is inconclusive because of the quota" \
                    "$([ "$fails" = 0 ] && [ "$other_incs" = 0 ] && [ "$errors" = 0 ] && echo yes || echo no)"
            fi ;;
    esac
done
if [ -s "$WORK/cheats.tsv" ] 2>/dev/null; then
    for mode in cheat-serial-pool cheat-no-black-box cheat-one-worker-busy1; do
        rows=$(awk -F'\t' -v m="$mode" '$1 == m' "$WORK/cheats.tsv")
        [ -z "$rows" ] && continue
        observation=$(echo "$rows" | head -1 | cut -f2)
        expected=$(echo "$rows" | head -1 | cut -f3)
        got=$(echo "$rows" | cut -f4 | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
        case $expected in
            fail) ok=$(echo "$rows" | awk -F'\t' '$4 != "fail" { bad = 1 } END { print bad ? "no" : "yes" }') ;;
            not-pass) ok=$(echo "$rows" | awk -F'\t' '$4 == "pass" || $4 == "error" || $4 == "missing" { bad = 1 } END { print bad ? "no" : "yes" }') ;;
        esac
        check "$mode: $observation is $expected in every run (got $got)" "$ok"
    done
fi
echo
if [ "$VERDICT_OK" = 1 ]; then echo "verdict-stress: every expectation met"; else echo "verdict-stress: some expectations NOT MET"; fi
[ -n "$KEEP" ] && echo "reports kept in $KEEP"
[ "$VERDICT_OK" = 1 ]
