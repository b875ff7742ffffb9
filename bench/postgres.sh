#!/usr/bin/env bash
# PostgreSQL, one command at a time: each command against the floor of `psql` running the
# same SQL on the same server, directly and through PgBouncer, and what connecting costs.
#
# Method:
#   commands  Four lanes, each on a schema of its own with queueprim's tables and indexes
#             (created by queueprim, pre-filled with FILL pending jobs in queue q, one of
#             them claimed for the whole run as if by another worker): queueprim
#             and psql, each directly on the server's Unix socket and through PgBouncer
#             (transaction pooling, on a Unix socket). Each round runs, lane after lane
#             (the lane order reversed every other round), enqueue, dequeue, extend,
#             complete, dequeue, fail, get, list and stats. Every call is a fresh process,
#             so both sides pay process start and a connection: queueprim the command as a
#             user types it, psql (`psql -X -c`, the server's own binary, not Debian's Perl
#             wrapper) the statement that does the same in SQL terms: an INSERT of one row;
#             the claim as one UPDATE of the first pending row by the claim index (FOR
#             UPDATE SKIP LOCKED); extend, complete and fail as one UPDATE of the job by id
#             and claim; a SELECT by id; the newest 100 of the queue; counts per queue and
#             status. Each call is timed by the shell from before the fork to after the
#             wait ($EPOCHREALTIME); the table gives medians over ROUNDS rounds (two
#             dequeues a round) and the ratio queueprim ÷ psql, lane by lane.
#   connect   `pgbench -C` (a new connection for each `SELECT 1`, inside one process),
#             `psql -c 'SELECT 1'` (a process per call) and queueprim `get` (a process per
#             call, from the rounds above), directly and through PgBouncer, interleaved.
#
# Usage: bench/postgres.sh [ROUNDS] [CONNECTS]   (defaults 41, 2000)
#        BENCH_QUICK=1 bench/postgres.sh          (smoke mode: 2 rounds, 20 connections)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C   # $EPOCHREALTIME with a decimal point, whatever the locale

ROUNDS=${1:-41}; CONNECTS=${2:-2000}; FILL=200
if [ -n "${BENCH_QUICK:-}" ]; then ROUNDS=2; CONNECTS=20; fi

source bench/common.sh
pg_start
pgbouncer_start
PSQL="$PG_BIN/psql"
load_before=$(load_average)

# Lanes: who runs the call, and how it reaches the server. Each has its own schema.
LANES=(qd pd qb pb)
declare -A URL=(
  [qd]="$PG_URL&schema=qd" [pd]="$PG_URL"
  [qb]="$BOUNCER_URL&schema=qb" [pb]="$BOUNCER_URL"
)
declare -A ID CLAIM
for lane in "${LANES[@]}"; do
  seq 1 "$FILL" | sed 's/.*/{"n":&}/' | "$QP" --db "$PG_URL&schema=$lane" enqueue q --batch >/dev/null
  # Another worker's job, claimed for the whole run, as in a queue that others work on.
  "$QP" --db "$PG_URL&schema=$lane" dequeue q --worker elsewhere --timeout 1d >/dev/null
done

# timed NAME LANE CMD…: runs CMD, its stdout to $WORK/out, and appends its start and end
# times to the samples of NAME in LANE. A failed call stops the benchmark.
timed() {
  local name=$1 lane=$2; shift 2
  local start=$EPOCHREALTIME
  "$@" >"$WORK/out" 2>"$WORK/err" || { echo "bench: $name failed in lane $lane: $(cat "$WORK/err")" >&2; exit 1; }
  local end=$EPOCHREALTIME
  echo "$start $end" >>"$WORK/t.$name.$lane"
}

psql_run() { "$PSQL" -X -q -At -F '|' -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# What the psql lanes run: queueprim's statement for each command, on the lane's schema.
NOW="floor(extract(epoch FROM clock_timestamp()) * 1000)::int8"
floor_sql() {  # $1 command, $2 schema, $3 id, $4 claim
  local t="$2.jobs"
  case $1 in
    enqueue) echo "INSERT INTO $t (id, queue, payload, status, visible_after, created_at, updated_at) \
      VALUES ('q_' || substr(md5(random()::text), 1, 10), 'q', '{\"n\":1}', 'pending', $NOW, $NOW, $NOW) RETURNING *" ;;
    dequeue) echo "UPDATE $t SET status = 'claimed', claim = 'c_' || substr(md5(random()::text), 1, 12), \
      visible_after = $NOW + 1800000, updated_at = $NOW WHERE seq = (SELECT seq FROM $t \
      WHERE queue = 'q' AND status = 'pending' ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *" ;;
    extend) echo "UPDATE $t SET visible_after = visible_after + 1800000, updated_at = $NOW \
      WHERE id = '$3' AND status = 'claimed' AND claim = '$4' RETURNING *" ;;
    complete) echo "UPDATE $t SET status = 'done', visible_after = NULL, finished_at = $NOW, updated_at = $NOW \
      WHERE id = '$3' AND status = 'claimed' AND claim = '$4' RETURNING *" ;;
    fail) echo "UPDATE $t SET status = 'dead', attempt_count = attempt_count + 1, visible_after = NULL, \
      errors = '[{\"reason\":\"boom\"}]', finished_at = $NOW, updated_at = $NOW \
      WHERE id = '$3' AND status = 'claimed' AND claim = '$4' RETURNING *" ;;
    get) echo "SELECT * FROM $t WHERE id = '$3'" ;;
    list) echo "SELECT * FROM $t WHERE queue = 'q' ORDER BY seq DESC LIMIT 100" ;;
    stats) echo "SELECT queue, status, count(*) FROM $t GROUP BY queue, status ORDER BY queue" ;;
  esac
}

# step COMMAND LANE: one timed call of COMMAND in LANE; a dequeue remembers the job it got.
step() {
  local cmd=$1 lane=$2 id=${ID[$2]:-} claim=${CLAIM[$2]:-}
  if [ "$cmd" = dequeue ]; then ID[$lane]=''; CLAIM[$lane]=''; fi
  if [[ $lane == q* ]]; then
    local args
    case $cmd in
      enqueue) args=(enqueue q --payload '{"n":1}') ;;
      dequeue) args=(dequeue q) ;;
      extend) args=(extend "$id" --by 30m --claim "$claim") ;;
      complete) args=(complete "$id" --claim "$claim") ;;
      fail) args=(fail "$id" --claim "$claim" --reason boom) ;;
      get) args=(get "$id") ;;
      list) args=(list q) ;;
      stats) args=(stats) ;;
    esac
    timed "$cmd" "$lane" "$QP" --db "${URL[$lane]}" "${args[@]}"
    if [ "$cmd" = dequeue ]; then
      local job
      job=$(<"$WORK/out")
      [[ $job =~ \"id\":\"([^\"]+)\" ]] && ID[$lane]=${BASH_REMATCH[1]}
      [[ $job =~ \"claim\":\"([^\"]+)\" ]] && CLAIM[$lane]=${BASH_REMATCH[1]}
    fi
  else
    timed "$cmd" "$lane" psql_run "${URL[$lane]}" "$(floor_sql "$cmd" "$lane" "$id" "$claim")"
    if [ "$cmd" = dequeue ]; then
      # Columns 2 and 15 of the jobs table are id and claim.
      IFS='|' read -r _ ID[$lane] _ _ _ _ _ _ _ _ _ _ _ _ CLAIM[$lane] _ <"$WORK/out"
    fi
  fi
  if [ "$cmd" = dequeue ] && [ -z "${ID[$lane]:-}" ]; then
    echo "bench: lane $lane's dequeue found no job" >&2; exit 1
  fi
}

COMMANDS=(enqueue dequeue extend complete dequeue fail get list stats)
for round in $(seq 1 "$ROUNDS"); do
  order=("${LANES[@]}")
  if (( round % 2 == 0 )); then order=(pb qb pd qd); fi
  for cmd in "${COMMANDS[@]}"; do
    for lane in "${order[@]}"; do step "$cmd" "$lane"; done
  done
done

# Section 2: connecting. pgbench -C reports its rate including each reconnection.
echo 'SELECT 1;' >"$WORK/select1.sql"
connects() {  # $1 url: ms per connect + SELECT 1
  "$PG_BIN/pgbench" -n -C -t $(( CONNECTS / 5 )) -f "$WORK/select1.sql" "$1" 2>/dev/null \
    | awk '/^tps/ {printf "%.4f\n", 1000 / $3}'
}
for _ in 1 2 3 4 5; do
  connects "$PG_URL" >>"$WORK/pgbench.direct"
  connects "$BOUNCER_URL" >>"$WORK/pgbench.bouncer"
done
for _ in $(seq 1 "$ROUNDS"); do
  timed select1 pd psql_run "$PG_URL" "SELECT 1"
  timed select1 pb psql_run "$BOUNCER_URL" "SELECT 1"
done
load_after=$(load_average)

med() {  # median ms of NAME in LANE
  awk '{printf "%.6f\n", ($2 - $1) * 1000}' "$WORK/t.$1.$2" | median
}
row() {  # command: median and ratio in each lane pair
  local qd pd qb pb
  qd=$(med "$1" qd); pd=$(med "$1" pd); qb=$(med "$1" qb); pb=$(med "$1" pb)
  printf '| %s | %.2f ms | %.2f ms | %.2f× | %.2f ms | %.2f ms | %.2f× |\n' "$1" \
    "$pd" "$qd" "$(echo "$qd / $pd" | bc -l)" "$pb" "$qb" "$(echo "$qb / $pb" | bc -l)"
}

printf '### Each command against psql running the same SQL (median of %d rounds)\n\n' "$ROUNDS"
echo '| command | psql, direct | queueprim, direct | ratio | psql, PgBouncer | queueprim, PgBouncer | ratio |'
echo '|---|---|---|---|---|---|---|'
for cmd in enqueue dequeue extend complete fail get list stats; do row "$cmd"; done

pgd=$(median <"$WORK/pgbench.direct"); pgb=$(median <"$WORK/pgbench.bouncer")
sd=$(med select1 pd); sb=$(med select1 pb)
gd=$(med get qd); gb=$(med get qb)
ed=$(med enqueue qd); eb=$(med enqueue qb)
printf '\n### Connecting, directly and through PgBouncer (medians)\n\n'
echo '| what | direct | PgBouncer | PgBouncer ÷ direct |'
echo '|---|---|---|---|'
printf '| `pgbench -C`: connect + `SELECT 1`, in one process (%d connections) | %.3f ms | %.3f ms | %.2f× |\n' \
  "$CONNECTS" "$pgd" "$pgb" "$(echo "$pgb / $pgd" | bc -l)"
printf '| `psql -c "SELECT 1"`, a process per call | %.2f ms | %.2f ms | %.2f× |\n' "$sd" "$sb" "$(echo "$sb / $sd" | bc -l)"
printf '| queueprim `get`, a process per call | %.2f ms | %.2f ms | %.2f× |\n' "$gd" "$gb" "$(echo "$gb / $gd" | bc -l)"
printf '| queueprim `enqueue`, a process per call | %.2f ms | %.2f ms | %.2f× |\n' "$ed" "$eb" "$(echo "$eb / $ed" | bc -l)"
printf '\n(%s; PostgreSQL %s, PgBouncer %s; %d cores; load average %s before, %s after)\n' \
  "$(date -u +%Y-%m-%d)" "$("$PG_BIN/postgres" --version | awk '{print $3}')" \
  "$("$PGBOUNCER" --version | awk 'NR==1 {print $2}')" "$(nproc)" "$load_before" "$load_after"
