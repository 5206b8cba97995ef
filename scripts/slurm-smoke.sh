#!/usr/bin/env bash
# A real single-node Slurm on this machine grades three submissions (the
# reference solutions, the stubs, one that does not compile) as the job array
# `grader slurm` writes, merges the reports and checks the gradebook.
#
# Needs root: it installs slurm-wlm and munge with apt-get when missing and
# starts munged, slurmctld and slurmd (stopped again at the end). Slurm's
# configuration lives in a temporary directory (SLURM_CONF); nothing under
# /etc/slurm is written. Takes several minutes: three full gradings.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
started=$(date +%s)

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "== installing slurm-wlm and munge"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
fi

WORK=$(mktemp -d /tmp/slurm-smoke.XXXXXX)
chmod 755 "$WORK"
export SLURM_CONF="$WORK/slurm.conf"
host=$(hostname -s)
daemons=()
stop_daemons() {
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_daemons EXIT

echo "== munge"
if ! pgrep -x munged >/dev/null; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  runuser -u munge -- /usr/sbin/munged
  daemons+=("$(pgrep -n -x munged)")
fi
munge -n | unmunge >/dev/null

echo "== slurmctld and slurmd on $host ($(nproc) cores)"
mkdir -p "$WORK/state" "$WORK/spool"
cat > "$SLURM_CONF" <<CONF
ClusterName=smoke
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=grading Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# Each daemon writes its pid file once it has forked: wait for it.
pid_of() {
  for _ in $(seq 50); do
    [ -s "$1" ] && { cat "$1"; return; }
    sleep 0.2
  done
  echo "FAIL: $1 never appeared; see $WORK/*.log" >&2
  exit 1
}
slurmctld -f "$SLURM_CONF"
daemons+=("$(pid_of "$WORK/slurmctld.pid")")
slurmd -f "$SLURM_CONF"
daemons+=("$(pid_of "$WORK/slurmd.pid")")
for _ in $(seq 60); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo

echo "== three submissions: reference, stubs, broken"
mkdir -p "$WORK/class"
for kind in reference stubs broken; do
  for ex in exercises/ex*/; do
    name=$(basename "$ex")
    mkdir -p "$WORK/class/$kind/exercises/$name"
    if [ "$kind" = stubs ]; then
      cp -R "$ex/src" "$WORK/class/$kind/exercises/$name/src"
    else
      cp -R "solutions/$name/src" "$WORK/class/$kind/exercises/$name/src"
    fi
  done
done
echo 'pub fn broken( {' >> "$WORK/class/broken/exercises/ex01-serial-map/src/lib.rs"

echo "== the job script"
cargo build --release --locked -p grader
grader="$REPO/target/release/grader"
"$grader" slurm --course "$REPO/course.yaml" --grader "$grader" --reports "$WORK/reports" \
  --out "$WORK/grade-class.sbatch" "$WORK/class/reference" "$WORK/class/stubs" "$WORK/class/broken"
bash "$WORK/grade-class.sbatch"

echo "== waiting for the array and the merge"
for _ in $(seq 1800); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
if [ -n "$(squeue -h)" ]; then
  squeue
  echo "FAIL: the jobs did not finish within 30 minutes" >&2
  exit 1
fi

echo "== gradebook"
gradebook="$WORK/reports/gradebook.csv"
cat "$gradebook"
fail() { echo "FAIL: $*" >&2; tail -n 20 "$WORK"/reports/*.log >&2 || true; exit 1; }
[ -f "$gradebook" ] || fail "no gradebook"
[ -f "$WORK/reports/report.html" ] || fail "no report.html"
[ "$(wc -l < "$gradebook")" -eq 4 ] || fail "expected a header and three rows"
row() { grep "^$1," "$gradebook"; }
ref=$(row reference); stubs=$(row stubs); broken=$(row broken)
# total and max are the last numeric columns before the flags.
ref_total=$(echo "$ref" | awk -F, '{print $(NF-2)}')
stubs_total=$(echo "$stubs" | awk -F, '{print $(NF-2)}')
[ "$stubs_total" = 0 ] || fail "the stubs scored $stubs_total"
echo "$broken" | grep -q "does-not-build:ex01" || fail "the broken submission is not flagged"
awk -v r="$ref_total" 'BEGIN { exit !(r >= 60) }' || fail "the reference scored only $ref_total"
echo "OK: Slurm graded 3 submissions in $(( $(date +%s) - started )) s (reference $ref_total, stubs $stubs_total); work dir $WORK"
