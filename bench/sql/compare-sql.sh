#!/usr/bin/env bash
# The SQL rows of bench/compare.sh: `bench/compare.sh postgres` or `bench/compare.sh sqlite`
# runs this. The workloads of ../shared/bench/WORKLOADS.md (W1, W1b, W2 with 8 and 64 workers
# at 20,000 and 200,000 tasks, W3, idle pickup, W5) against Python Huey 3.5.4's PostgresHuey or
# SqliteHuey, apalis' SQL storage (bench/apalis-sql, when it is there) and huey-rs, ROUNDS
# rounds (default 3) alternating, then one table.
#
#   bench/compare.sh postgres             # 3 rounds: about an hour on 2 cores
#   ROUNDS=1 bench/compare.sh sqlite
#   PY_CONFIG="process 4" bench/compare.sh postgres   # skip picking Python Huey's workers
#   PY_200K=0 bench/compare.sh sqlite     # no 200,000-task drains for Python Huey (minutes each)
#   AP_200K=0 bench/compare.sh postgres   # nor for apalis (5 to 8 minutes each on PostgreSQL)
#   AP_DRAIN=0 bench/compare.sh sqlite    # no apalis drains at all (8 to 10 minutes per 20,000
#                                         # on SQLite, where apalis always polls)
#   PG_SETTINGS="-c synchronous_commit=off" bench/compare.sh postgres   # settings of your own
#
# PostgreSQL: a private server of its own (initdb in a temporary directory as the `postgres`
# user, default settings unless PG_SETTINGS adds some, a free loopback port), stopped and
# deleted at the end; the machine's server is never used. Each implementation has a database
# of its own, dropped and created again before every run. SQLite: files in a temporary
# directory (WAL), deleted before every run. bench/sql/bench.py times Python Huey and huey-rs
# alike (it polls the tables); apalis' harness times itself, as on Redis.
set -euo pipefail
STORAGE=${1:?usage: compare-sql.sh postgres|sqlite}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/target/bench}
ROUNDS=${ROUNDS:-3}
PY=${PYTHON:-python3}
PY_200K=${PY_200K:-1}
AP_200K=${AP_200K:-1}
AP_DRAIN=${AP_DRAIN:-1}
mkdir -p "$OUT"
[[ $STORAGE == postgres || $STORAGE == sqlite ]] || { echo "unknown storage $STORAGE" >&2; exit 2; }

# Python Huey 3.5.4's PostgresStorage imports psycopg (3.2 or newer).
(cd /tmp && $PY -c 'import huey, psycopg' 2>/dev/null) ||
    $PY -m pip install -q 'huey==3.5.4' 'psycopg[binary]'

TMP=$(mktemp -d /tmp/huey-bench-sql.XXXXXX)
PG_DATA=
cleanup() {
    if [[ -n $PG_DATA ]]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_DATA" -m fast -w stop \
            >/dev/null 2>&1 || true
        cp "$TMP/postgres.log" "$OUT/postgres.log" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [[ $STORAGE == postgres ]]; then
    PGBIN=/usr/lib/postgresql/15/bin
    chown postgres "$TMP"
    PG_DATA=$TMP/data
    runuser -u postgres -- "$PGBIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 \
        --locale=C >"$OUT/initdb.log" 2>&1
    PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Default settings but where it listens (loopback, this port, a socket in $TMP): so fsync
    # and synchronous_commit are on, and every commit waits for the disk.
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$TMP/postgres.log" -w \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$TMP ${PG_SETTINGS:-}" \
        start >/dev/null
    BASE=postgres://postgres@127.0.0.1:$PORT
    PY_URL=$BASE/bench_py RS_URL=$BASE/bench_rs AP_URL=$BASE/bench_apalis
    export BENCH_DB_PID
    BENCH_DB_PID=$(head -1 "$PG_DATA/postmaster.pid")
else
    PY_URL=sqlite:$TMP/python.db RS_URL=sqlite:$TMP/huey-rs.db AP_URL=sqlite:$TMP/apalis.db
fi
export BENCH_STORAGE=$STORAGE

echo "building huey-rs and the apalis SQL harness (release)" >&2
nice -n 15 cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p huey-bench \
    --features sql
HB=$ROOT/target/release/huey-bench
HBC=$ROOT/target/release/huey-bench-consumer-$STORAGE
AB=
APALIS_SQL=${APALIS_SQL:-$ROOT/bench/apalis-sql}
if [[ -f $APALIS_SQL/Cargo.toml ]]; then
    if CARGO_TARGET_DIR=$OUT/apalis-sql-target nice -n 15 cargo build --release --quiet \
        --locked --manifest-path "$APALIS_SQL/Cargo.toml"; then
        AB=$OUT/apalis-sql-target/release/apalis-sql-bench
    else
        echo "the apalis SQL harness did not build: its column stays empty" >&2
    fi
else
    echo "no $APALIS_SQL/Cargo.toml: the apalis column stays empty" >&2
fi

PYRES=$OUT/python-huey-$STORAGE.jsonl RSRES=$OUT/huey-rs-$STORAGE.jsonl
APRES=$OUT/apalis-$STORAGE.jsonl SELRES=$OUT/python-huey-$STORAGE-select.jsonl
for f in "$PYRES" "$RSRES" "$APRES" "$SELRES"; do [ -s "$f" ] && mv "$f" "$f.$(date +%s)"; done

sqlbench() { # $1 = results file, $2 = database URL, rest = bench.py arguments
    local results=$1 url=$2; shift 2
    (cd "$ROOT/bench/sql" && BENCH_RESULTS=$results BENCH_URL=$url $PY bench.py "$@")
}
python_huey() { sqlbench "$PYRES" "$PY_URL" "$@"; }
huey_rs() { # bench.py with huey-rs's consumer, producer, pre-fill and clients
    BENCH_IMPL=huey-rs BENCH_LAYOUT=huey-rs HUEY_BENCH_URL=$RS_URL \
    BENCH_CONSUMER_CMD="$HBC -w {workers} -k async -q" \
    BENCH_ENQUEUE_CMD="$HB enqueue --n {n}" \
    BENCH_PREFILL_CMD="$HB prefill --task {task} --n {n} --arg {arg}" \
    BENCH_LATENCY_CMD="$HB latency --n {n} --warmup {warmup}" \
    BENCH_PICKUP_CMD="$HB pickup --n {n}" \
    sqlbench "$RSRES" "$RS_URL" "$@"
}
reset() { (cd "$ROOT/bench/sql" && BENCH_URL=$1 $PY bench.py reset); }
apalis() { # $1 = subcommand, rest = its flags; a fresh database first
    local sub=$1; shift
    reset "$AP_URL"
    "$AB" "$sub" --url "$AP_URL" "$@" --out "$APRES" >/dev/null
}

# Python Huey at its best worker configuration: a quick drain (SEL_N tasks) of each, the
# fastest that finished kept.
if [[ -z ${PY_CONFIG:-} ]]; then
    for kind in thread process; do
        for w in 4 8; do
            sqlbench "$SELRES" "$PY_URL" drain --n "${SEL_N:-2000}" --workers $w --kind $kind ||
                echo "Python Huey -k $kind -w $w failed (its log says why): not a candidate" >&2
        done
    done
    PY_CONFIG=$($PY -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best = max(rows, key=lambda r: r["metrics"]["tasks_per_s"])
print(best["params"]["kind"], best["params"]["workers"])' "$SELRES")
fi
read -r PY_KIND PY_W <<<"$PY_CONFIG"
echo "Python Huey on $STORAGE: -k $PY_KIND -w $PY_W" >&2

for r in $(seq 1 "$ROUNDS"); do
    echo "=== $STORAGE round $r/$ROUNDS ===" >&2
    R="--reps 1 --first-rep $r"

    # Python Huey 3.5.4
    python_huey enqueue $R --n 20000
    python_huey drain $R --n 20000 --workers "$PY_W" --kind "$PY_KIND"
    if [[ $PY_200K != 0 ]]; then
        python_huey drain $R --n 200000 --workers "$PY_W" --kind "$PY_KIND"
    fi
    python_huey latency $R --n 500 --workers 4 --kind thread
    python_huey pickup $R --n 200 --workers 4 --kind thread

    # apalis (its SQL storage at its defaults)
    if [[ -n $AB ]]; then
        apalis enqueue --n 20000 --rep "$r"
        apalis bulk --n 200000 --chunk 1000 --rep "$r"
        AP_SIZES=20000
        [[ $AP_200K != 0 ]] && AP_SIZES="20000 200000"
        [[ $AP_DRAIN != 0 ]] || AP_SIZES=
        for n in $AP_SIZES; do
            apalis drain --n $n --concurrency 8 --rep "$r"
            apalis drain --n $n --concurrency 64 --rep "$r"
        done
        # apalis-core 1.0.0 sometimes loses a wake-up for about 30 s: a deadline bounds the run.
        apalis latency --n 500 --warmup 20 --concurrency 4 --deadline-s 60 --rep "$r"
    fi

    # huey-rs (async workers)
    huey_rs enqueue $R --n 20000
    reset "$RS_URL"
    HUEY_BENCH_URL=$RS_URL "$HB" bulk --n 200000 --chunk 0 --rep "$r" --out "$RSRES" >/dev/null
    for n in 20000 200000; do
        huey_rs drain $R --n $n --workers 8 --kind thread
        huey_rs drain $R --n $n --workers 64 --kind thread
    done
    huey_rs latency $R --n 500 --workers 4 --kind thread
    huey_rs pickup $R --n 200 --workers 4 --kind thread
done

$PY "$ROOT/bench/report.py" --storage "$STORAGE" "$PYRES" "$APRES" "$RSRES" |
    tee "$OUT/compare-$STORAGE.md"
