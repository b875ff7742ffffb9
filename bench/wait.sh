#!/usr/bin/env bash
# `dequeue --wait`: wake-up latency after an enqueue, and the CPU that idle waiters burn, on
# SQLite (the waiter polls the file's data version every 25 ms) and on PostgreSQL (the
# waiter is woken by LISTEN/NOTIFY), side by side in one run.
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
pg_start

ms() { date -d "$1" +%s%3N; }
claim_latency() {  # stdin: one job; prints updated_at - created_at in ms
  local job created updated
  job=$(cat)
  created=$(sed 's/.*"created_at":"\([^"]*\)".*/\1/' <<<"$job")
  updated=$(sed 's/.*"updated_at":"\([^"]*\)".*/\1/' <<<"$job")
  echo $(( $(ms "$updated") - $(ms "$created") ))
}

# measure DB: the median wake-up, the median baseline and the idle CPU on database DB.
measure() {
  export QUEUEPRIM_DB="$1"
  "$QP" enqueue setup --payload 1 >/dev/null   # create the database outside the measurements
  local waited=() direct=() pids=() waiter
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
  for _ in $(seq 1 "$WAITERS"); do
    "$QP" dequeue idle --wait > /dev/null 2>&1 &
    pids+=($!)
  done
  sleep 0.5
  ticks() { local t=0 p; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
  local t0 t1 hz
  t0=$(ticks); sleep "$IDLE"; t1=$(ticks)
  kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  hz=$(getconf CLK_TCK)
  echo "$(printf '%s\n' "${waited[@]}" | median) $(printf '%s\n' "${direct[@]}" | median) $(echo "100 * ($t1 - $t0) / $hz / $IDLE" | bc -l)"
}

read -r sw sd scpu <<<"$(measure "$WORK/wait.db")"
read -r pw pd pcpu <<<"$(measure "$PG_URL")"
printf '| what (median of %d) | SQLite | PostgreSQL |\n|---|---|---|\n' "$ROUNDS"
printf '| enqueue then plain dequeue, no waiting (baseline) | %s ms | %s ms |\n' "$sd" "$pd"
printf '| enqueue to claim by a waiting `dequeue --wait` | %s ms | %s ms |\n' "$sw" "$pw"
printf '| CPU of %d idle waiters over %s s | %.2f%% of one core | %.2f%% of one core |\n' "$WAITERS" "$IDLE" "$scpu" "$pcpu"
