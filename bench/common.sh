# Shared by the bench/*.sh scripts (sourced, not run): a release build, the binary's path,
# a scratch folder removed on exit, and the median of numbers on stdin. BENCH_PROFILE picks
# another cargo profile (CI's smoke runs use the test suite's `dev` build: they check that
# every script still runs, and their figures mean nothing anyway).
BENCH_PROFILE=${BENCH_PROFILE:-release}
cargo build --profile "$BENCH_PROFILE" --quiet
# The folder cargo builds a profile into: the built-in profiles have their own names for it.
case "$BENCH_PROFILE" in dev | test) profile_dir=debug ;; release | bench) profile_dir=release ;; *) profile_dir=$BENCH_PROFILE ;; esac
QP="${CARGO_TARGET_DIR:-$PWD/target}/$profile_dir/queueprim"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# pg_start: a throwaway PostgreSQL cluster in $WORK (as the `postgres` user when run as
# root: the server refuses root), stopped with the script. Sets PG_URL to a database on it,
# reached over a Unix socket. PG_BIN overrides where the server binaries are.
pg_start() {
  PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  [ -x "$PG_BIN/initdb" ] || { echo "bench: PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)" >&2; exit 1; }
  PG_DIR="$WORK/pg"; mkdir -p "$PG_DIR"; chmod 0711 "$WORK"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; as=(setpriv --reuid=postgres --regid=postgres --init-groups); fi
  (cd "$PG_DIR" && "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null)
  # Durable like a production server (fsync on), sized for a 2-core machine.
  (cd "$PG_DIR" && "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-k $PG_DIR -c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB" start >/dev/null)
  PG_STOP=("${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop)
  trap '"${PG_STOP[@]}" >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
  "$PG_BIN/psql" -X -q -h "$PG_DIR" -U postgres -d postgres -c "CREATE DATABASE bench" >/dev/null
  PG_URL="postgresql:///bench?host=$PG_DIR&user=postgres"
}

# pgbouncer_start: PgBouncer in transaction pooling mode on a Unix socket in front of the
# cluster pg_start started (as the `postgres` user when run as root: PgBouncer refuses
# root), stopped with the script. Sets BOUNCER_URL to the same database through it, and
# PGBOUNCER to the binary.
pgbouncer_start() {
  local dir="$PG_DIR/bouncer" as=()
  PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)   # not on PATH for most users
  [ -x "$PGBOUNCER" ] || { echo "bench: pgbouncer not found (apt-get install pgbouncer)" >&2; exit 1; }
  mkdir -p "$dir"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
bench = host=$PG_DIR dbname=bench user=postgres
[pgbouncer]
unix_socket_dir = $dir
listen_port = 6432
auth_type = any
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
log_connections = 0
log_disconnections = 0
logfile = $dir/log
INI
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; as=(setpriv --reuid=postgres --regid=postgres --init-groups); fi
  "${as[@]}" "$PGBOUNCER" -q "$dir/pgbouncer.ini" &
  BOUNCER_URL="postgresql:///bench?host=$dir&port=6432&user=postgres"
  local _
  for _ in $(seq 1 100); do
    "$PG_BIN/psql" -X -q -d "$BOUNCER_URL" -c "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: PgBouncer did not start; its log: $dir/log" >&2; exit 1
}

# The machine's load average (1, 5, 15 minutes), to print beside figures: these machines
# are shared, and only ratios measured in one run compare.
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
