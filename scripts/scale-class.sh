#!/usr/bin/env bash
# The scale figure: a generated class graded with `grader batch` on this
# machine. Prints submissions per hour, the slowest submission and where its
# time went, and checks that every submission's verdicts match grading it
# alone (tests exactly; observations exactly unless either grading was
# inconclusive, which is the machine's noise, not a difference).
#
# CLASS_SIZE (default 30) submissions, in turn: reference copies (3 in 10),
# stubs (2), partial solutions (2: ex01 and ex02 done), broken ones (2: ex01
# does not compile) and one that hangs everywhere (1: every function of the
# stubs waits forever). Needs jq and perl. Takes long: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
N=${CLASS_SIZE:-30}
WORK=$(mktemp -d /tmp/scale-class.XXXXXX)
cargo build --release --locked -p grader
grader="$REPO/target/release/grader"

kinds=(reference stubs partial broken reference hangs partial reference broken stubs)
for i in $(seq 1 "$N"); do
  kind=${kinds[$(( (i - 1) % ${#kinds[@]} ))]}
  sub="$WORK/class/$(printf 's%02d' "$i")-$kind"
  for ex in exercises/ex*/; do
    name=$(basename "$ex")
    mkdir -p "$sub/exercises/$name"
    from="solutions/$name/src"
    case "$kind:$name" in
      stubs:*|hangs:*) from="$ex/src" ;;
      partial:ex01*|partial:ex02*) ;;
      partial:*) from="$ex/src" ;;
    esac
    cp -R "$from" "$sub/exercises/$name/src"
  done
  [ "$kind" = broken ] && echo 'pub fn broken( {' >> "$sub/exercises/ex01-serial-map/src/lib.rs"
  if [ "$kind" = hangs ]; then
    find "$sub" -name '*.rs' -exec perl -0pi -e 's/todo!\("(?:[^"\\]|\\.)*"\)/loop { std::thread::park() }/g' {} +
  fi
done

echo "== grading $N submissions with grader batch"
start=$(date +%s)
"$grader" batch --course "$REPO/course.yaml" "$WORK"/class/* --out "$WORK/graded"
seconds=$(( $(date +%s) - start ))
echo "$N submissions in $seconds s: $(( N * 3600 / (seconds > 0 ? seconds : 1) )) submissions per hour (machine shared: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
slowest=$(for r in "$WORK"/graded/s*.json; do
  jq -r --arg id "$(basename "$r" .json)" \
    '"\(.timings.total_seconds) \($id): build \(.timings.build_seconds|floor) s, tests \(.timings.test_seconds|floor) s, measuring \(.timings.measure_seconds|floor) s"' "$r"
done | sort -rn | head -n 1)
echo "slowest: ${slowest#* } (total ${slowest%% *} s)"

echo "== each submission graded alone"
mismatches=0
for sub in "$WORK"/class/*; do
  id=$(basename "$sub")
  "$grader" grade --course "$REPO/course.yaml" --submission "$sub" --format json --out "$WORK/alone-$id.json" 2>/dev/null
  if ! jq -e -n --slurpfile a "$WORK/alone-$id.json" --slurpfile b "$WORK/graded/$id.json" '
      def v: [.exercises[] | {id, tests: [.tests.tests[] | .status],
                              obs: [.observations[] | .verdict]}];
      ($a[0] | v) as $x | ($b[0] | v) as $y
      | [range(0; $x|length)] | all(. as $i |
          $x[$i].tests == $y[$i].tests and
          ([range(0; $x[$i].obs|length)] | all(. as $j |
             $x[$i].obs[$j] == $y[$i].obs[$j]
             or $x[$i].obs[$j] == "inconclusive" or $y[$i].obs[$j] == "inconclusive")))' >/dev/null; then
    echo "MISMATCH: $id"
    mismatches=$((mismatches + 1))
  fi
done
echo "$(( N - mismatches )) of $N submissions: the batch's verdicts match grading alone"
echo "work dir: $WORK (gradebook: $WORK/graded/gradebook.csv)"
[ "$mismatches" -eq 0 ]
