#!/usr/bin/env bash
# Runs the W1-W5 workloads (../shared/bench/WORKLOADS.md) against Python Huey, apalis and
# huey-rs, alternately, ROUNDS rounds (default 3), then prints one table: workload, Python
# Huey median, apalis median, huey-rs median, and huey-rs's ratio to the better of the two.
#
#   bench/compare.sh              # ~15 min on 2 cores (the first run also builds apalis)
#   ROUNDS=1 bench/compare.sh     # one round
#   bench/compare.sh postgres     # the PostgreSQL rows, and `sqlite` the SQLite rows: a table
#                                 # of their own each (bench/sql/compare-sql.sh runs them)
#
#   HUEY_BENCH=/path/to/huey-bench bench/compare.sh   # measure another build of huey-rs
#                                                     # (e.g. an earlier commit's); its
#                                                     # huey-bench-consumer beside it
#
# Starts a redis-server of its own on a free loopback port (it flushes the databases it measures
# before every run, so it never uses the machine's Redis) and stops it at the end: db 14 for
# Python Huey and huey-rs (through the Python harness), db 13 for apalis. Installs what is
# missing: huey and redis-py with pip; apalis builds with cargo into $OUT/apalis-target.
set -euo pipefail
case ${1:-redis} in
    redis) ;;
    postgres | sqlite) exec "$(dirname "$0")/sql/compare-sql.sh" "$1" ;;
    *) echo "usage: bench/compare.sh [redis|postgres|sqlite]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
OUT=${OUT:-$ROOT/target/bench}
ROUNDS=${ROUNDS:-3}
PY=${PYTHON:-python3}
mkdir -p "$OUT"

python_deps() {
    $PY -c 'import huey, redis' 2>/dev/null || $PY -m pip install -q 'huey==3.5.4' redis
}
python_deps

PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$OUT/redis.log" &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null || true' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.05; done
rcli() { redis-cli -p "$PORT" "$@"; }
export BENCH_REDIS_PORT=$PORT HUEY_REDIS_URL=redis://127.0.0.1:$PORT/14
APALIS_URL=redis://127.0.0.1:$PORT/13

echo "building huey-rs and the apalis harness (release)" >&2
if [[ -z ${HUEY_BENCH:-} ]]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p huey-bench
fi
HB=${HUEY_BENCH:-$ROOT/target/release/huey-bench}
# The consumer is a binary of its own, as a user's is (no driver code in what W5 measures).
HBC=$(dirname "$HB")/huey-bench-consumer
[[ -x $HBC ]] || HBC="$HB consumer" # a build from before the consumer had its own binary
CARGO_TARGET_DIR=$OUT/apalis-target cargo build --release --quiet \
    --manifest-path "$SHARED/apalis/Cargo.toml"
AB=$OUT/apalis-target/release/apalis-bench

PYRES=$OUT/python-huey.jsonl; RSRES=$OUT/huey-rs.jsonl; APRES=$OUT/apalis.jsonl
for f in "$PYRES" "$RSRES" "$APRES"; do [ -s "$f" ] && mv "$f" "$f.$(date +%s)"; done

# The Python harness times every implementation the same way (it polls Redis every 5 ms).
harness() { # $1 = results file, rest = bench.py arguments
    local results=$1; shift
    (cd "$SHARED/python-huey" && BENCH_RESULTS_DIR=$OUT BENCH_RESULTS=$results $PY bench.py "$@")
}
huey_rs() { # bench.py with huey-rs's consumer, producer, pre-fill and client
    BENCH_IMPL=huey-rs \
    BENCH_CONSUMER_CMD="$HBC -w {workers} -k async -q" \
    BENCH_ENQUEUE_CMD="$HB enqueue --n {n}" \
    BENCH_PREFILL_CMD="$HB prefill --task {task} --n {n} --arg {arg}" \
    BENCH_LATENCY_CMD="$HB latency --n {n} --warmup {warmup}" \
    harness "$RSRES" "$@"
}

for r in $(seq 1 "$ROUNDS"); do
    echo "=== round $r/$ROUNDS ===" >&2
    R="--reps 1 --first-rep $r"

    # Python Huey 3.5.4
    harness "$PYRES" enqueue $R --n 20000
    harness "$PYRES" drain $R --n 20000 --workers 4 --kind process
    harness "$PYRES" drain $R --n 20000 --workers 4 --kind thread
    harness "$PYRES" latency $R --n 500 --workers 4 --kind thread --notify
    harness "$PYRES" io $R --n 2000 --ms 10 --workers 64 --kind thread

    # apalis 1.0.0 (defaults)
    rcli -n 13 FLUSHDB >/dev/null
    $AB enqueue --url "$APALIS_URL" --n 20000 --rep "$r" --out "$APRES" >/dev/null
    $AB bulk --url "$APALIS_URL" --n 200000 --chunk 1000 --rep "$r" --out "$APRES" >/dev/null
    $AB drain --url "$APALIS_URL" --n 20000 --concurrency 8 --rep "$r" --out "$APRES" >/dev/null
    $AB drain --url "$APALIS_URL" --n 20000 --concurrency 64 --rep "$r" --out "$APRES" >/dev/null
    $AB latency --url "$APALIS_URL" --n 500 --warmup 20 --concurrency 4 --client notify --poll-ms 10 --rep "$r" --out "$APRES" >/dev/null
    $AB drain --url "$APALIS_URL" --workload W4 --n 2000 --ms 10 --concurrency 64 --rep "$r" --out "$APRES" >/dev/null
    $AB drain --url "$APALIS_URL" --workload W4 --n 20000 --ms 10 --concurrency 1000 --rep "$r" --out "$APRES" >/dev/null
    $AB sleepcal --url "$APALIS_URL" --ms 10 --concurrency 64 --rep "$r" --out "$APRES" >/dev/null

    # huey-rs (async workers)
    huey_rs enqueue $R --n 20000
    rcli -n 14 FLUSHDB >/dev/null
    $HB bulk --n 200000 --chunk 0 --rep "$r" --out "$RSRES" >/dev/null
    huey_rs drain $R --n 20000 --workers 8 --kind thread
    huey_rs drain $R --n 20000 --workers 64 --kind thread
    huey_rs drain $R --n 200000 --workers 64 --kind thread
    huey_rs latency $R --n 500 --workers 4 --kind thread --notify
    huey_rs io $R --n 2000 --ms 10 --workers 64 --kind thread
    huey_rs io $R --n 20000 --ms 10 --workers 1000 --kind thread
    $HB sleepcal --ms 10 --concurrency 64 --rep "$r" --out "$RSRES" >/dev/null
    rcli -n 14 FLUSHDB >/dev/null
    $HBC -w 4 -q -n & PICKUP=$!
    $HB pickup --n 200 --rep "$r" --out "$RSRES" >/dev/null
    kill -INT $PICKUP; wait $PICKUP || true
    rcli -n 14 FLUSHDB >/dev/null
done

$PY "$ROOT/bench/report.py" "$PYRES" "$APRES" "$RSRES" | tee "$OUT/compare.md"
