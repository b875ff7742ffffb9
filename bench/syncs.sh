#!/usr/bin/env bash
# How many HTTP enqueues share one sync to disk in `serve` on SQLite: the measure of group
# commit that does not depend on how fast the disk syncs.
#
# Method: `serve` on a fresh SQLite file; wrk sends the same small job with a token over 1,
# then 32, keep-alive connections for SECONDS each, while strace counts the fdatasync and
# fsync calls of the server's writer thread alone (the thread that commits; the rest of the
# server runs untraced). Requests per sync = requests answered 201 ÷ syncs, checkpoints'
# syncs included. With one connection each commit holds one request, so that row is the
# floor: about one sync per request.
#
# Usage: bench/syncs.sh [SECONDS]   (default 5)
#        BENCH_QUICK=1 bench/syncs.sh   (smoke mode: 1 s each)
# Needs wrk and strace (apt-get install wrk strace).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-5}
if [ -n "${BENCH_QUICK:-}" ]; then SECONDS_EACH=1; fi
for tool in wrk strace; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

source bench/common.sh

measure() {  # connections
  local connections=$1 db="$WORK/syncs-$1.db" token port server writer tracer requests syncs stored
  export QUEUEPRIM_DB="$db"
  token=$("$QP" token create --queues '*' --format json | sed 's/.*"token":"\([^"]*\)".*/\1/')
  cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"payload":{"n":1}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  "$QP" serve --listen 127.0.0.1:0 2> "$WORK/serve.log" &
  server=$!
  for _ in $(seq 100); do grep -q 'listening on' "$WORK/serve.log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" | head -1)
  [ -n "$port" ] || { cat "$WORK/serve.log" >&2; exit 1; }
  writer=$(grep -l '^queueprim-write' /proc/"$server"/task/*/comm | cut -d/ -f5)
  strace -c -e trace=fdatasync,fsync -p "$writer" -o "$WORK/strace.txt" 2> "$WORK/strace.err" &
  tracer=$!
  sleep 0.5   # strace attaches
  if ! kill -0 "$tracer" 2>/dev/null; then
    cat "$WORK/strace.err" >&2
    echo "bench: strace could not attach to the server (tracing another process needs root, or kernel.yama.ptrace_scope=0)" >&2
    exit 1
  fi
  wrk -t1 -c"$connections" -d"${SECONDS_EACH}s" -s "$WORK/post.lua" \
    "http://127.0.0.1:$port/v1/queues/bench/jobs" > "$WORK/wrk.txt"
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
  kill "$server"; wait "$server" 2>/dev/null || true
  if grep -qE 'Non-2xx|Socket errors' "$WORK/wrk.txt"; then cat "$WORK/wrk.txt" >&2; exit 1; fi
  requests=$(awk '$1 ~ /^[0-9]+$/ && $2 == "requests" { print $1 }' "$WORK/wrk.txt")
  syncs=$(awk '$NF == "fdatasync" || $NF == "fsync" { n += $4 } END { print n + 0 }' "$WORK/strace.txt")
  stored=$(QUEUEPRIM_DB="$db" "$QP" stats --format json | sed 's/.*"total":\([0-9]*\).*/\1/')
  # Every request wrk counted was answered 201, so each stored a job (one more may have
  # been stored as wrk stopped, its answer not counted).
  [ "$stored" -ge "$requests" ] || { echo "bench: $requests requests but $stored jobs stored" >&2; exit 1; }
  printf '| %s | %s | %s | %s |\n' "$connections" "$requests" "$syncs" \
    "$(awk -v r="$requests" -v s="$syncs" 'BEGIN { printf "%.2f", r / (s ? s : 1) }')"
}

echo "## serve on SQLite: HTTP enqueues per sync (${SECONDS_EACH} s each)"
echo
echo "| connections | requests | fdatasync + fsync (writer thread) | requests per sync |"
echo "|---|---|---|---|"
measure 1
measure 32
