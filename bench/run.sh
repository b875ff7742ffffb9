#!/usr/bin/env bash
# Every benchmark in BENCHMARKS.md, in one command. BENCH_QUICK=1 for the smoke modes;
# BENCH_PROFILE=dev builds nothing new after the test suite (see bench/common.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [ -n "${BENCH_PROFILE:-}" ]; then profile=(--profile "$BENCH_PROFILE"); fi
cargo bench "${profile[@]}" --bench cli
cargo bench "${profile[@]}" --bench serve
bash bench/syncs.sh
bash bench/work.sh
bash bench/wait.sh
bash bench/groups.sh
bash bench/batch.sh
bash bench/export_import.sh
bash bench/postgres.sh
bash bench/claims.sh
bash bench/churn.sh
