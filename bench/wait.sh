#!/usr/bin/env bash
# `dequeue --wait`: wake-up latency after an enqueue, and the CPU that idle waiters burn.
#
# Method:
#   latency  ROUNDS times: start `dequeue --wait`, let it settle 300 ms, enqueue one job from
#            another process. The latency is the job's claim time (updated_at of the dequeued
#            job) minus its enqueue time (created_at): both stamped by queueprim itself, in ms.
#            The baseline is the same enqueue followed at once by a plain `dequeue` from the
#            same shell (no waiting involved), i.e. the floor of enqueue-to-claim.
#   idle CPU WAITERS processes wait on an empty queue for IDLE seconds; their user+system CPU
#            time (from /proc) over that span is given as a share of one core.
#
# Usage: bench/wait.sh [ROUNDS] [WAITERS] [IDLE]   (defaults 20, 10, 10)
#        BENCH_QUICK=1 bench/wait.sh                (smoke mode: 3 rounds, 2 waiters, 1 s)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-20}; WAITERS=${2:-10}; IDLE=${3:-10}
if [ -n "${BENCH_QUICK:-}" ]; then ROUNDS=3; WAITERS=2; IDLE=1; fi

source bench/common.sh
export QUEUEPRIM_DB="$WORK/wait.db"

ms() { date -d "$1" +%s%3N; }
claim_latency() {  # stdin: one job; prints updated_at - created_at in ms
  local job created updated
  job=$(cat)
  created=$(sed 's/.*"created_at":"\([^"]*\)".*/\1/' <<<"$job")
  updated=$(sed 's/.*"updated_at":"\([^"]*\)".*/\1/' <<<"$job")
  echo $(( $(ms "$updated") - $(ms "$created") ))
}

"$QP" stats >/dev/null   # create the database outside the measurements
waited=(); direct=()
for _ in $(seq 1 "$ROUNDS"); do
  "$QP" dequeue lat --wait 30s > "$WORK/job" &
  waiter=$!
  sleep 0.3
  "$QP" enqueue lat --payload '{}' >/dev/null
  wait "$waiter"
  waited+=("$(claim_latency < "$WORK/job")")

  "$QP" enqueue lat --payload '{}' >/dev/null
  direct+=("$(claim_latency < <("$QP" dequeue lat))")
done

pids=()
for _ in $(seq 1 "$WAITERS"); do
  "$QP" dequeue idle --wait > /dev/null 2>&1 &
  pids+=($!)
done
sleep 0.5
ticks() { local t=0 p; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
t0=$(ticks); sleep "$IDLE"; t1=$(ticks)
kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
hz=$(getconf CLK_TCK)
cpu=$(echo "100 * ($t1 - $t0) / $hz / $IDLE" | bc -l)

w=$(printf '%s\n' "${waited[@]}" | median)
d=$(printf '%s\n' "${direct[@]}" | median)
printf '| what | median (of %d) |\n|---|---|\n' "$ROUNDS"
printf '| enqueue then plain dequeue, no waiting (baseline) | %s ms |\n' "$d"
printf '| enqueue to claim by a waiting `dequeue --wait` | %s ms |\n' "$w"
printf '| CPU of %d idle waiters over %s s | %.2f%% of one core |\n' "$WAITERS" "$IDLE" "$cpu"
