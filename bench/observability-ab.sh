#!/usr/bin/env bash
# The cost of watching: W2 (N = 20,000 pre-queued no-ops drained through the shared harness, 8 and
# 64 async workers) with metrics and the stats history on, against both off, in interleaved
# rounds (default 8), on a redis-server of its own. Prints each side's median and the ratio.
#
#   bench/observability-ab.sh            # ~2 min on 2 cores after the builds
#   ROUNDS=4 N=200000 bench/observability-ab.sh   # longer drains, in which the history is
#                                                 # written every 2 s as it runs
#   BUILD=0 bench/observability-ab.sh    # reuse the last build (e.g. with other work paused)
#
# "off": the benchmark consumer built without the `metrics` feature, with `--stats-days 0`.
# "on": built with it, serving `--metrics` (scraped every second, as Prometheus would) and
# keeping the stats history (the default, a week).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
OUT=${OUT:-$ROOT/target/bench}/observability
ROUNDS=${ROUNDS:-8}
N=${N:-20000}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
$PY -c 'import huey, redis' 2>/dev/null || $PY -m pip install -q 'huey==3.5.4' redis

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ ${BUILD:-1} != 0 ]]; then
    echo "building the benchmark consumer with and without metrics (release)" >&2
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p huey-bench
    cp "$TARGET/release/huey-bench-consumer" "$OUT/consumer-off"
    cp "$TARGET/release/huey-bench" "$OUT/driver"
    # A target of its own: the feature changes huey-core, and one shared target would
    # rebuild both sides every time.
    CARGO_TARGET_DIR=$TARGET/metrics-on cargo build --release --quiet \
        --manifest-path "$ROOT/Cargo.toml" -p huey-bench --features metrics
    cp "$TARGET/metrics-on/release/huey-bench-consumer" "$OUT/consumer-on"
fi

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
METRICS=127.0.0.1:$(free_port)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$OUT/redis.log" &
REDIS_PID=$!
SCRAPER=
trap 'kill $REDIS_PID ${SCRAPER:-} 2>/dev/null; wait $REDIS_PID 2>/dev/null || true' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.05; done
export BENCH_REDIS_PORT=$PORT HUEY_REDIS_URL=redis://127.0.0.1:$PORT/14

# A scraper that asks once a second; between consumers it finds nothing, which is fine.
(while sleep 1; do curl -s -o /dev/null "http://$METRICS/metrics" || true; done) &
SCRAPER=$!

RESULTS=$OUT/results.jsonl
[ -s "$RESULTS" ] && mv "$RESULTS" "$RESULTS.$(date +%s)"
# Each side's consumer and flags, which a narrower question overrides (say, the history alone:
# ON_BIN=$OUT/consumer-off ON_FLAGS=).
ON_BIN=${ON_BIN:-$OUT/consumer-on} ON_FLAGS=${ON_FLAGS---metrics $METRICS}
OFF_BIN=${OFF_BIN:-$OUT/consumer-off} OFF_FLAGS=${OFF_FLAGS---stats-days 0}
side() { # $1 = off|on, $2 = workers, $3 = round
    local command
    if [[ $1 == on ]]; then command="$ON_BIN $ON_FLAGS"; else command="$OFF_BIN $OFF_FLAGS"; fi
    (cd "$SHARED/python-huey" && BENCH_RESULTS_DIR=$OUT BENCH_RESULTS=$RESULTS \
        BENCH_IMPL="huey-rs-$1" \
        BENCH_CONSUMER_CMD="$command -w {workers} -k async -q" \
        BENCH_PREFILL_CMD="$OUT/driver prefill --task {task} --n {n} --arg {arg}" \
        $PY bench.py drain --reps 1 --first-rep "$3" --n "$N" --workers "$2" --kind thread)
}
for r in $(seq 1 "$ROUNDS"); do
    echo "=== round $r/$ROUNDS ===" >&2
    # Which side goes first alternates, so that neither always meets a warmer machine.
    if ((r % 2)); then order="off on"; else order="on off"; fi
    for workers in 8 64; do
        for s in $order; do side "$s" "$workers" "$r"; done
    done
done

$PY - "$RESULTS" <<'PY' | tee "$OUT/report.md"
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    row = json.loads(line)
    n, m = row['params']['n'], row['metrics']
    side = runs.setdefault((row['params']['workers'], row['impl']), {'rate': [], 'cpu': []})
    side['rate'].append(m['tasks_per_s'])
    # The consumer's CPU per task: its share of a core over the drain, over the rate.
    side['cpu'].append(m['consumer_cpu_pct'] / 100.0 / m['tasks_per_s'] * 1e6)
print('| W2 workers, tasks | off (tasks/s) | on (tasks/s) | on / off | consumer CPU per task, off / on (µs) | rounds |')
print('| --- | --- | --- | --- | --- | --- |')
for workers in sorted({w for w, _ in runs}):
    off, on = runs[(workers, 'huey-rs-off')], runs[(workers, 'huey-rs-on')]
    m_off, m_on = statistics.median(off['rate']), statistics.median(on['rate'])
    c_off, c_on = statistics.median(off['cpu']), statistics.median(on['cpu'])
    print(f"| {workers}, {n:,} | {m_off:,.0f} ({min(off['rate']):,.0f}–{max(off['rate']):,.0f}) | "
          f"{m_on:,.0f} ({min(on['rate']):,.0f}–{max(on['rate']):,.0f}) | {m_on / m_off:.3f} | "
          f"{c_off:.2f} / {c_on:.2f} | {len(off['rate'])} |")
PY
