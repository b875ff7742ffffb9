#!/usr/bin/env bash
# Claims per second with 1, 8 and 32 concurrent CLI worker loops and with `work
# --concurrency 32`, on SQLite, on PostgreSQL and on PostgreSQL through PgBouncer, side by
# side in one run.
#
# Method: every engine holds one queue per way of working, each pre-filled with FILL jobs
# (more than the run can take: a queue that runs dry stops the benchmark). A CLI worker loop
# is a shell loop of `dequeue` then `complete --claim`, two processes per job, as README's
# worker loop runs; `work --concurrency 32 -- true` claims, runs `true` and completes,
# inside one process. For each way of working, engine after engine, the loops (or the
# runner) run for SECONDS seconds; then each loop finishes the job in hand and stops (the
# runner gets SIGTERM and stops claiming). Claims/s is the number of jobs done (`queues`)
# over the time from start until the last loop exited. Commits are durable on every engine
# (SQLite synchronous=FULL; PostgreSQL fsync on, synchronous_commit on).
#
# Usage: bench/claims.sh [SECONDS]   (default 20)
#        BENCH_QUICK=1 bench/claims.sh   (smoke mode: 1 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C   # $EPOCHREALTIME with a decimal point, whatever the locale

SECONDS_EACH=${1:-20}; FILL=$(( SECONDS_EACH * 1500 ))
if [ -n "${BENCH_QUICK:-}" ]; then SECONDS_EACH=1; FILL=500; fi
MODES=(1 8 32 work)

command -v jq >/dev/null || { echo "bench: jq is required" >&2; exit 1; }
source bench/common.sh
pg_start
pgbouncer_start
load_before=$(load_average)

ENGINES=(sqlite pg bouncer)
declare -A DB=(
  [sqlite]="$WORK/claims.db"
  [pg]="$PG_URL&schema=claims_direct"
  [bouncer]="$BOUNCER_URL&schema=claims_bouncer"
)

# The queues, filled outside the measurements (through the server directly: same tables).
fill_lines() { seq 1 "$FILL" | sed 's/.*/{"n":&}/'; }
fill_lines >"$WORK/fill"
for engine in "${ENGINES[@]}"; do
  db=${DB[$engine]}
  [ "$engine" = bouncer ] && db="$PG_URL&schema=claims_bouncer"
  for mode in "${MODES[@]}"; do
    "$QP" --db "$db" --synchronous normal enqueue "w$mode" --batch <"$WORK/fill" >/dev/null
  done
done

# worker_loop DB QUEUE: dequeue, complete --claim, until the stop file appears.
worker_loop() {
  local job
  while [ ! -e "$WORK/stop" ]; do
    job=$("$QP" --db "$1" dequeue "$2")
    [ -n "$job" ] || { echo "bench: queue $2 ran dry; raise FILL" >&2; return 1; }
    [[ $job =~ \"id\":\"([^\"]+)\".*\"claim\":\"([^\"]+)\" ]] || { echo "bench: unreadable job: $job" >&2; return 1; }
    "$QP" --db "$1" complete "${BASH_REMATCH[1]}" --claim "${BASH_REMATCH[2]}" >/dev/null
  done
}

done_in() {  # DB QUEUE: the queue's done jobs
  "$QP" --db "$1" queues | jq -r --arg q "$2" '.[] | select(.queue == $q) | .done'
}

# run_mode ENGINE MODE: prints claims/s.
run_mode() {
  local db=${DB[$1]} queue="w$2" pids=() start end n
  rm -f "$WORK/stop"
  start=$EPOCHREALTIME
  if [ "$2" = work ]; then
    "$QP" --db "$db" work "$queue" --concurrency 32 -- true >/dev/null 2>&1 &
    pids+=($!)
    sleep "$SECONDS_EACH"
    kill -TERM "${pids[@]}"
  else
    for _ in $(seq 1 "$2"); do worker_loop "$db" "$queue" & pids+=($!); done
    sleep "$SECONDS_EACH"
    touch "$WORK/stop"
  fi
  local failed=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  end=$EPOCHREALTIME
  [ "$failed" = 0 ] || { echo "bench: a worker failed ($1, $2)" >&2; exit 1; }
  n=$(done_in "$db" "$queue")
  echo "$n / ($end - $start)" | bc -l
}

declare -A RATE
for mode in "${MODES[@]}"; do
  for engine in "${ENGINES[@]}"; do
    RATE[$engine.$mode]=$(run_mode "$engine" "$mode")
  done
done
load_after=$(load_average)

printf '### Claims per second, %d s per figure\n\n' "$SECONDS_EACH"
echo '| workers | SQLite | PostgreSQL | PostgreSQL through PgBouncer | PostgreSQL ÷ SQLite |'
echo '|---|---|---|---|---|'
for mode in "${MODES[@]}"; do
  case $mode in
    1) what='1 CLI worker loop' ;;
    work) what='`work --concurrency 32 -- true`' ;;
    *) what="$mode CLI worker loops" ;;
  esac
  s=${RATE[sqlite.$mode]}; p=${RATE[pg.$mode]}; b=${RATE[bouncer.$mode]}
  printf '| %s | %.0f | %.0f | %.0f | %.2f× |\n' "$what" "$s" "$p" "$b" "$(echo "$p / $s" | bc -l)"
done
printf '\n(%s; %d cores; load average %s before, %s after)\n' \
  "$(date -u +%Y-%m-%d)" "$(nproc)" "$load_before" "$load_after"
