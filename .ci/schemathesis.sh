#!/usr/bin/env bash
# The HTTP API against its own OpenAPI document: schemathesis (from PyPI, in a virtualenv
# under target/) generates requests for every route from /openapi.json, and no answer may be
# a 5xx. Bounded: --max-time for the generation, timeout for the whole run. The request
# timeout is above the longest wait a claim may ask for (120s), so a long-poll that runs its
# course is an answer, never a network error.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis
fi

cargo build --locked --quiet
qp="${CARGO_TARGET_DIR:-$PWD/target}/debug/queueprim"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export QUEUEPRIM_DB="$work/api.db"
token=$("$qp" token create --queues '*' --name schemathesis --format json | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
"$qp" serve --listen 127.0.0.1:0 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.1; done
address=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$address" ] || { cat "$work/serve.log" >&2; exit 1; }

timeout 600 "$venv/bin/st" run "$address/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error --max-examples 25 --max-time 120 --request-timeout 130 \
  --generation-database none --seed "${SCHEMATHESIS_SEED:-1}"
# The access log's fifth field is the status.
if awk '$5 ~ /^5[0-9][0-9]$/ { found = 1; print } END { exit !found }' "$work/serve.log" >&2; then
  echo "schemathesis: the server answered 5xx (above)" >&2
  exit 1
fi
echo "schemathesis: no 5xx in $(awk '$5 ~ /^[0-9][0-9][0-9]$/' "$work/serve.log" | wc -l) requests"
