#!/usr/bin/env bash
# Moving a queue: export and import of JOBS jobs, SQLite to SQLite and SQLite to
# PostgreSQL, timed, with the peak memory (RSS) of each process.
#
# Method: a SQLite database of JOBS pending jobs (payloads of about 80 bytes; the last tenth
# in one ordered group, so most of those wait behind its live job), made with `enqueue
# --batch` in chunks of 100,000. Each step then runs once under GNU time, which reports
# its wall time and peak RSS: export to a file; import of that file into a new SQLite file,
# and into a fresh schema on a PostgreSQL server started for the run (initdb in a scratch
# folder, the server's defaults, fsync on); export from PostgreSQL; and export piped into
# import, SQLite to PostgreSQL, timed as a whole. Every import is checked to have added
# JOBS jobs.
#
# Usage: bench/export_import.sh [JOBS]     (default 1000000)
#        BENCH_QUICK=1 bench/export_import.sh  (smoke mode: 10,000 jobs)
# Needs the PostgreSQL server binaries (Debian's postgresql package, or PG_BIN naming
# their folder).
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${1:-1000000}
if [ -n "${BENCH_QUICK:-}" ]; then JOBS=10000; fi
CHUNK=$(( JOBS < 100000 ? JOBS : 100000 ))

source bench/common.sh
[ -x /usr/bin/time ] || { echo "export_import.sh needs GNU time (/usr/bin/time)" >&2; exit 1; }

# --- A throwaway PostgreSQL server (pg_start in common.sh) ------------------------------
pg_url() { echo "$PG_URL&schema=$1"; }

# --- The source database ------------------------------------------------------------------
SRC="$WORK/source.db"
"$QP" --db "$SRC" enqueue q --batch </dev/null >/dev/null
made=0
while [ "$made" -lt "$JOBS" ]; do
  n=$(( JOBS - made < CHUNK ? JOBS - made : CHUNK ))
  group=()
  if [ $(( made + n )) -ge "$JOBS" ] && [ "$JOBS" -ge 10 ]; then group=(--group tail); fi
  seq $(( made + 1 )) $(( made + n )) |
    sed 's/.*/{"n":&,"to":"user-&@example.com","body":"a payload of a moved job"}/' |
    "$QP" --db "$SRC" --synchronous normal enqueue q --batch "${group[@]}" >/dev/null
  made=$(( made + n ))
done

# --- Measuring ----------------------------------------------------------------------------
# run NAME CMD…: runs CMD under GNU time; sets SECS and RSS (MiB) for the row.
run() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$@"
  read -r SECS kib <"$WORK/$name.time"
  RSS=$(echo "scale=1; $kib / 1024" | bc)
}
row() {  # label, seconds, RSS text
  printf '| %s | %.2f | %d | %s |\n' "$1" "$2" "$(echo "$JOBS / $2" | bc)" "$3"
}
imported() {  # db: checks the import added every job
  local got
  got=$("$QP" --db "$1" stats | sed 's/.*"total":\([0-9]*\).*/\1/')
  [ "$got" -eq "$JOBS" ] || { echo "import into $1 holds $got jobs, not $JOBS" >&2; exit 1; }
}

printf '| step (%d jobs) | seconds | jobs/s | peak RSS |\n|---|---|---|---|\n' "$JOBS"
run export_sqlite sh -c "\"$QP\" --db \"$SRC\" export > \"$WORK/export.jsonl\""
row "export, SQLite → file ($(( $(stat -c %s "$WORK/export.jsonl") / 1048576 )) MiB)" "$SECS" "$RSS MiB"
run import_sqlite sh -c "\"$QP\" --db \"$WORK/copy.db\" import < \"$WORK/export.jsonl\" >/dev/null"
row "import, file → SQLite" "$SECS" "$RSS MiB"
imported "$WORK/copy.db"

pg_start
PG=$(pg_url copy)
run import_pg sh -c "\"$QP\" --db \"$PG\" import < \"$WORK/export.jsonl\" >/dev/null"
row "import, file → PostgreSQL" "$SECS" "$RSS MiB"
imported "$PG"
run export_pg sh -c "\"$QP\" --db \"$PG\" export > \"$WORK/export-pg.jsonl\""
row "export, PostgreSQL → file" "$SECS" "$RSS MiB"
PIPED=$(pg_url piped)
t0=$(date +%s%N)
/usr/bin/time -f '%M' -o "$WORK/pipe-export.time" "$QP" --db "$SRC" export |
  /usr/bin/time -f '%M' -o "$WORK/pipe-import.time" "$QP" --db "$PIPED" import >/dev/null
t1=$(date +%s%N)
imported "$PIPED"
secs=$(echo "scale=2; ($t1 - $t0) / 1000000000" | bc)
rss_export=$(echo "scale=1; $(cat "$WORK/pipe-export.time") / 1024" | bc)
rss_import=$(echo "scale=1; $(cat "$WORK/pipe-import.time") / 1024" | bc)
row "export \\| import, SQLite → PostgreSQL" "$secs" "$rss_export MiB export, $rss_import MiB import"
