#!/usr/bin/env bash
# PostgreSQL under churn: claim throughput minute by minute while a steady producer and
# workers run for MINUTES minutes, against the first minute. Every claim and finish
# rewrites a row, so the table and the claim index collect dead tuples; if vacuum did not
# keep up, claims would slow down as the run goes on.
#
# Method: queue churn starts with BACKLOG pending jobs. A producer tops it up to BACKLOG
# pending jobs every second (one `enqueue --batch`), so the workers never run dry and the
# backlog stays the same size. Two runners (`work churn --concurrency 16 -- true`, as two
# hosts would run them) claim, run `true` and complete, as fast as they can. Every SAMPLE
# seconds (a "minute") the script reads, with psql: the queue's done jobs (claims/s is
# their increase over the minute), its pending jobs, pg_stat_user_tables' n_dead_tup and
# autovacuum_count for the jobs table, and the sizes of the table, of all its indexes and
# of the claim index (jobs_ready). Done jobs stay in the table (nothing purges them), so
# the table grows by what was done; the claim index holds pending jobs only. Autovacuum
# runs with the server's defaults and the table's own settings from the schema migration.
#
# Usage: bench/churn.sh [MINUTES] [SAMPLE] [BACKLOG]   (defaults 10, 60 s, 2000)
#        BENCH_QUICK=1 bench/churn.sh                  (smoke mode: 2 samples of 3 s)
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-10}; SAMPLE=${2:-60}; BACKLOG=${3:-2000}
if [ -n "${BENCH_QUICK:-}" ]; then MINUTES=2; SAMPLE=3; BACKLOG=500; fi

source bench/common.sh
pg_start
PSQL=("$PG_BIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$PG_URL")
DB="$PG_URL&schema=churn"
load_before=$(load_average)

jobs_of() { seq 1 "$1" | sed 's/.*/{"n":&}/'; }
jobs_of "$BACKLOG" | "$QP" --db "$DB" enqueue churn --batch >/dev/null

pending() { "${PSQL[@]}" -c "SELECT count(*) FROM churn.jobs WHERE queue = 'churn' AND status = 'pending'"; }

producer() {
  local n
  while [ ! -e "$WORK/stop" ]; do
    n=$(( BACKLOG - $(pending) ))
    if (( n > 0 )); then jobs_of "$n" | "$QP" --db "$DB" enqueue churn --batch >/dev/null; fi
    sleep 1
  done
}

# One line: seconds since the epoch, done, pending, dead tuples, autovacuum runs, table,
# indexes and claim index sizes in bytes.
sample() {
  "${PSQL[@]}" -c "SELECT extract(epoch FROM clock_timestamp()), \
    (SELECT count(*) FROM churn.jobs WHERE queue = 'churn' AND status = 'done'), \
    (SELECT count(*) FROM churn.jobs WHERE queue = 'churn' AND status = 'pending'), \
    n_dead_tup, autovacuum_count, pg_relation_size('churn.jobs'), \
    pg_indexes_size('churn.jobs'), pg_relation_size('churn.jobs_ready'), n_live_tup \
    FROM pg_stat_user_tables WHERE relid = 'churn.jobs'::regclass"
}

sample >"$WORK/samples"
producer &
producer_pid=$!
runners=()
for _ in 1 2; do
  "$QP" --db "$DB" work churn --concurrency 16 -- true >/dev/null 2>&1 &
  runners+=($!)
done
for _ in $(seq 1 "$MINUTES"); do
  sleep "$SAMPLE"
  for pid in "${runners[@]}" "$producer_pid"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench: a worker or the producer stopped early" >&2; exit 1; }
  done
  sample >>"$WORK/samples"
done
touch "$WORK/stop"
kill -TERM "${runners[@]}"
wait "${runners[@]}" "$producer_pid" || true
load_after=$(load_average)

mib() { awk -v b="$1" -v p="${2:-1}" 'BEGIN { printf "%.*f", p, b / 1048576 }'; }
printf '### Claims per minute over %d minutes of churn (a minute is %d s here)\n\n' "$MINUTES" "$SAMPLE"
echo '| minute | claims/s | pending at its end | dead tuples | autovacuum runs so far | table | indexes | claim index |'
echo '|---|---|---|---|---|---|---|---|'
awk -v sample="$SAMPLE" 'NR > 1 {
    printf "| %d | %.0f | %d | %d | %d | %.1f MiB | %.1f MiB | %.2f MiB |\n", NR - 1,
      ($2 - done) / ($1 - t), $3, $4, $5, $6 / 1048576, $7 / 1048576, $8 / 1048576
  }
  { t = $1; done = $2 }' "$WORK/samples"
read -r _ _ _ dead0 av0 table0 index0 ready0 live0 < <(head -1 "$WORK/samples")
read -r _ _ _ dead1 av1 table1 index1 ready1 live1 < <(tail -1 "$WORK/samples")
ratio=$(awk 'NR > 1 { rate[NR - 1] = ($2 - done) / ($1 - t) } { t = $1; done = $2 }
  END { printf "%.2f", rate[NR - 1] / rate[1] }' "$WORK/samples")
printf '\n| | start | end |\n|---|---|---|\n'
printf '| live rows (n_live_tup) | %d | %d |\n' "$live0" "$live1"
printf '| dead tuples (n_dead_tup) | %d | %d |\n' "$dead0" "$dead1"
printf '| autovacuum runs on jobs | %d | %d |\n' "$av0" "$av1"
printf '| table size | %s MiB | %s MiB |\n' "$(mib "$table0")" "$(mib "$table1")"
printf '| all indexes | %s MiB | %s MiB |\n' "$(mib "$index0")" "$(mib "$index1")"
printf '| claim index (jobs_ready) | %s MiB | %s MiB |\n' "$(mib "$ready0" 2)" "$(mib "$ready1" 2)"
printf '\nClaims/s in the last minute ÷ the first: %s×\n' "$ratio"
printf '\n(%s; PostgreSQL %s; %d cores; backlog %d; load average %s before, %s after)\n' \
  "$(date -u +%Y-%m-%d)" "$("$PG_BIN/postgres" --version | awk '{print $3}')" "$(nproc)" \
  "$BACKLOG" "$load_before" "$load_after"
