#!/usr/bin/env bash
# One pass (ROUNDS, default 1) of every apalis-sql measurement on both storages, then the report.
#
#   PG_URL=postgres://postgres@127.0.0.1:5432/apalis_bench \
#   SQLITE_URL=sqlite:/tmp/apalis-bench.db \
#   CARGO_TARGET_DIR=/some/dir bench/apalis-sql/run_all.sh
#
# Each subcommand starts from a fresh state (PostgreSQL: DROP SCHEMA apalis CASCADE + apalis'
# setup, creating the database if missing; SQLite: a new file) and removes it afterwards.
# The PostgreSQL database itself is left in place: drop it yourself when done.
set -euo pipefail
cd "$(dirname "$0")"
nice -n 15 cargo build --release --quiet
B=${CARGO_TARGET_DIR:-./target}/release/apalis-sql-bench
OUT=${OUT:-results/results.jsonl}
ROUNDS=${ROUNDS:-1}
# apalis-core 1.0.0 loses wake-ups (see README): a W3 sample can wait for the 30 s heartbeat,
# so every latency run stops taking samples after DEADLINE seconds (`stopped_early` in its row).
DEADLINE=${DEADLINE:-60}
N=${N:-20000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/apalis_bench}
SQLITE_URL=${SQLITE_URL:-sqlite:${TMPDIR:-/tmp}/apalis-sql-bench.db}
mkdir -p "$(dirname "$OUT")"

for r in $(seq 1 "$ROUNDS"); do
  for url in "$PG_URL" "$SQLITE_URL"; do
    echo "=== round $r: $url ===" >&2
    $B enqueue --url "$url" --n 2000 --rep "$r" --out "$OUT" >/dev/null
    $B bulk --url "$url" --n "$N" --rep "$r" --out "$OUT" >/dev/null
    $B bulk --url "$url" --n "$N" --chunk 1000 --rep "$r" --out "$OUT" >/dev/null
    for c in 8 64; do
      $B drain --url "$url" --n "$N" --concurrency "$c" --rep "$r" --out "$OUT" >/dev/null
    done
    # apalis' own wait_for re-checks every 500 ms: 100 round trips are enough to see it.
    $B latency --url "$url" --n 100 --warmup 5 --concurrency 4 --client wait_for --deadline-s "$DEADLINE" --rep "$r" --out "$OUT" >/dev/null
    for pm in 100 10; do
      $B latency --url "$url" --n 500 --warmup 20 --concurrency 4 --client check_status --poll-ms "$pm" --deadline-s "$DEADLINE" --rep "$r" --out "$OUT" >/dev/null
    done
    if [[ $url == postgres* ]]; then
      # LISTEN/NOTIFY wake-up (PostgresStorage::with_pubsub), PostgreSQL only
      $B latency --url "$url" --n 500 --warmup 20 --concurrency 4 --client check_status --wake pubsub --deadline-s "$DEADLINE" --rep "$r" --out "$OUT" >/dev/null
    fi
  done
done
$B report --out "$OUT"
