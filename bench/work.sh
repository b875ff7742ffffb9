#!/usr/bin/env bash
# Runner throughput: `queueprim work -- true` against the bare spawn rate of `true`.
#
# Method: for each of ROUNDS rounds, in alternation,
#   1. the baseline spawns `true` JOBS times, one after another, waiting for each
#      (perl's system() with a single word executes it directly, no shell);
#   2. queueprim enqueues JOBS jobs with one `enqueue --batch` (not timed), then
#      `queueprim work --until-empty -- true` runs them all (timed), at the default
#      synchronous=FULL, and again at --synchronous normal.
# Each figure is jobs (or spawns) per second; the report gives the median of the rounds
# and the ratio to the baseline median of the same run.
#
# Usage: bench/work.sh [JOBS] [ROUNDS]      (defaults: 2000 jobs, 5 rounds)
#        BENCH_QUICK=1 bench/work.sh        (smoke mode: 50 jobs, 1 round)
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${1:-2000}
ROUNDS=${2:-5}
if [ -n "${BENCH_QUICK:-}" ]; then JOBS=50; ROUNDS=1; fi

command -v perl >/dev/null || { echo "bench: perl is required for the spawn baseline" >&2; exit 1; }
source bench/common.sh

now() { date +%s.%N; }
rate() { echo "$1 / ($3 - $2)" | bc -l; }

spawn_baseline() {
  local t0 t1
  t0=$(now); perl -e 'system("true") for 1..$ARGV[0]' "$JOBS"; t1=$(now)
  rate "$JOBS" "$t0" "$t1"
}

work_run() {  # $1: synchronous mode
  local db="$WORK/bench-$1.db" t0 t1
  rm -f "$db" "$db-wal" "$db-shm"
  seq 1 "$JOBS" | sed 's/.*/{"n":&}/' | "$QP" --db "$db" enqueue bench --batch >/dev/null
  t0=$(now); "$QP" --db "$db" --synchronous "$1" --format json work bench --until-empty -- true >/dev/null; t1=$(now)
  local left
  left=$("$QP" --db "$db" stats | sed 's/.*"done":\([0-9]*\).*/\1/')
  [ "$left" = "$JOBS" ] || { echo "bench: expected $JOBS done jobs, found $left" >&2; exit 1; }
  rate "$JOBS" "$t0" "$t1"
}


base=(); full=(); normal=()
for _ in $(seq 1 "$ROUNDS"); do
  base+=("$(spawn_baseline)")
  full+=("$(work_run full)")
  normal+=("$(work_run normal)")
done

b=$(printf '%s\n' "${base[@]}" | median)
f=$(printf '%s\n' "${full[@]}" | median)
n=$(printf '%s\n' "${normal[@]}" | median)
printf '| what | jobs/s (median of %d) | vs bare spawn |\n|---|---|---|\n' "$ROUNDS"
printf '| bare spawn of `true` (baseline) | %.0f | 1.00× |\n' "$b"
printf '| `work -- true`, synchronous=full | %.0f | %.2f× |\n' "$f" "$(echo "$f / $b" | bc -l)"
printf '| `work -- true`, synchronous=normal | %.0f | %.2f× |\n' "$n" "$(echo "$n / $b" | bc -l)"
echo "($JOBS jobs per run, $(nproc) cores, $(uname -sr))"
