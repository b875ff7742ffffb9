#!/usr/bin/env bash
# Every benchmark in BENCHMARKS.md, in one command. BENCH_QUICK=1 for the smoke modes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench cli
cargo bench --bench serve
bash bench/syncs.sh
bash bench/work.sh
bash bench/wait.sh
bash bench/groups.sh
bash bench/batch.sh
bash bench/export_import.sh
bash bench/postgres.sh
bash bench/claims.sh
bash bench/churn.sh
