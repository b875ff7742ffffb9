#!/usr/bin/env bash
# Dequeue cost with 10,000 ordered groups against the same number of jobs without groups.
#
# Method: database G holds GROUPS groups of 3 jobs each (enqueued one `enqueue --batch
# --group` per group); database N holds the same number of jobs with no group. Then, for
# ROUNDS rounds in alternation, time CALLS invocations of `dequeue` followed by `complete`
# on each database. Reported: the median per dequeue+complete pair over the rounds, and
# the ratio of G to N from the same run.
#
# Usage: bench/groups.sh [GROUPS] [ROUNDS] [CALLS]   (defaults 10000, 7, 40)
#        BENCH_QUICK=1 bench/groups.sh                (smoke mode: 50 groups, 1 round, 5 calls)
set -euo pipefail
cd "$(dirname "$0")/.."

GROUPS_N=${1:-10000}; ROUNDS=${2:-7}; CALLS=${3:-40}
if [ -n "${BENCH_QUICK:-}" ]; then GROUPS_N=50; ROUNDS=1; CALLS=5; fi

source bench/common.sh
G="$WORK/groups.db"; N="$WORK/plain.db"

"$QP" --db "$G" enqueue q --batch </dev/null >/dev/null   # create it once, empty
seq 1 "$GROUPS_N" | xargs -P 4 -I{} sh -c \
  "printf '{\"g\":{},\"n\":1}\n{\"g\":{},\"n\":2}\n{\"g\":{},\"n\":3}\n' | \"$QP\" --db \"$G\" --synchronous normal enqueue q --batch --group g{} >/dev/null"
seq 1 $((GROUPS_N * 3)) | sed 's/.*/{"n":&}/' | "$QP" --db "$N" enqueue q --batch >/dev/null

pair_ms() {  # $1: database; prints ms per dequeue+complete
  local t0 t1 id
  t0=$(date +%s%N)
  for _ in $(seq 1 "$CALLS"); do
    id=$("$QP" --db "$1" dequeue q | sed 's/^{"id":"\([^"]*\)".*/\1/')
    "$QP" --db "$1" complete "$id" >/dev/null
  done
  t1=$(date +%s%N)
  echo "scale=3; ($t1 - $t0) / 1000000 / $CALLS" | bc
}

with=(); without=()
for _ in $(seq 1 "$ROUNDS"); do
  with+=("$(pair_ms "$G")")
  without+=("$(pair_ms "$N")")
done
w=$(printf '%s\n' "${with[@]}" | median)
n=$(printf '%s\n' "${without[@]}" | median)
printf '| database | ms per dequeue + complete (median of %d rounds of %d) | ratio |\n|---|---|---|\n' "$ROUNDS" "$CALLS"
printf '| %d jobs, no groups (baseline) | %.2f | 1.00× |\n' $((GROUPS_N * 3)) "$n"
printf '| %d jobs in %d groups | %.2f | %.2f× |\n' $((GROUPS_N * 3)) "$GROUPS_N" "$w" "$(echo "$w / $n" | bc -l)"
