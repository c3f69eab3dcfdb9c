#!/usr/bin/env python3
"""The SQL side of bench/compare.sh: W1, W2 (with W5's memory), W3 and idle pickup on
PostgreSQL or SQLite, timed the same way for Python Huey 3.5.4 (PostgresHuey / SqliteHuey) and
huey-rs, as ../../../shared/bench/python-huey/bench.py does on Redis.

  W1 enqueue  N awaited enqueues from one process; in-process time
  W2 drain    N noop tasks pre-filled (not timed, one bulk insert), then the consumer starts;
              the harness polls the tables (5 ms, longer if one poll takes over 2.5 ms: see
              poll_sleep) and times from the first dequeue it sees (fewer than N messages
              waiting) to N results stored; start-up (spawn -> first dequeue) apart; at done,
              the VmHWM summed over the consumer's process tree (W5), then SIGINT
  W3 latency  sequential enqueue -> blocking result round trips after a warm-up
  pickup      enqueue onto an idle queue -> task start, 20 ms idle before each sample
  reset       empties the database (what every run does first)

Environment:
  BENCH_STORAGE        postgres | sqlite
  BENCH_URL            postgres://user@host:port/DB (DB is dropped and created again before
                       every run) or sqlite:PATH (the file is deleted before every run)
  BENCH_LAYOUT         python (Python Huey's tables, the default) | huey-rs (huey-rs's)
  BENCH_IMPL           label of the results (default python-huey-<version>)
  BENCH_CONSUMER_CMD   consumer template: {python} {workers} {kind}
  BENCH_ENQUEUE_CMD    W1 producer template ({n}); prints elapsed_s=<float>
  BENCH_PREFILL_CMD    pre-fill template ({task} {n} {arg})
  BENCH_LATENCY_CMD    W3 client template ({n} {warmup}); one ms figure per line
  BENCH_PICKUP_CMD     pickup client template ({n}); one ms figure per line
  BENCH_DB_PID         the database server's PID, for db_cpu_pct (PostgreSQL)
  BENCH_RESULTS        JSON-lines file results are appended to
"""
import argparse
import json
import os
import re
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STORAGE = os.environ.get('BENCH_STORAGE', 'postgres')
URL = os.environ.get('BENCH_URL', '')
LAYOUT = os.environ.get('BENCH_LAYOUT', 'python')
RESULTS_FILE = os.environ.get('BENCH_RESULTS', os.path.join(HERE, 'results.jsonl'))
LOG_DIR = os.path.join(os.path.dirname(os.path.abspath(RESULTS_FILE)), 'logs')
DB_PID = int(os.environ['BENCH_DB_PID']) if os.environ.get('BENCH_DB_PID') else None

# The same flags as the Redis harness: the smallest polling delay, no backoff, WARNING logs.
# With SqliteHuey (a non-blocking storage) the delay matters: an idle worker polls every 1 ms.
DEFAULT_CONSUMER_CMD = ('{python} -m huey.bin.huey_consumer tasks.huey '
                        '-w {workers} -k {kind} -d 0.001 -m 0.001 -b 1 -q')
CONSUMER_CMD = os.environ.get('BENCH_CONSUMER_CMD', DEFAULT_CONSUMER_CMD)

POLL_S = 0.005
CLK_TCK = os.sysconf('SC_CLK_TCK')

# (waiting messages, stored results) of queue `bench`, per table layout and storage. huey-rs
# on SQLite keeps a claimed row until its settlement deletes it, so only unclaimed rows count
# as waiting there; on PostgreSQL a claim moves the row to `huey.claims`.
COUNTS = {
    ('python', 'postgres'): "SELECT (SELECT count(*) FROM huey_task WHERE queue = 'bench'), "
                            "(SELECT count(*) FROM huey_kv WHERE queue = 'bench')",
    ('python', 'sqlite'): "SELECT (SELECT count(*) FROM task WHERE queue = 'bench'), "
                          "(SELECT count(*) FROM kv WHERE queue = 'bench')",
    ('huey-rs', 'postgres'): "SELECT (SELECT count(*) FROM huey.queue WHERE namespace = 'bench'), "
                             "(SELECT count(*) FROM huey.kv WHERE namespace = 'bench')",
    ('huey-rs', 'sqlite'): "SELECT (SELECT count(*) FROM huey_queue WHERE namespace = 'bench' "
                           "AND owner IS NULL), "
                           "(SELECT count(*) FROM huey_kv WHERE namespace = 'bench')",
}

# The same pair during a huey-rs drain on PostgreSQL, for a queue that held `{n}` messages, at
# a fraction of the cost: claims so far from the claim sequence (a fresh database per run),
# results as the claims that are no longer in flight (a settlement deletes the claim and
# stores the result in one transaction). The claims table holds only what is in flight, so
# counting it reads a few pages, where a count of the queue or of the results reads every
# dead row of the drain so far (several ms per poll at 200,000, taken from the 2 cores the
# drain runs on).
DRAIN_COUNTS = {
    # SQLite keeps no dead rows, but a count still reads every waiting row: here the head and
    # the tail of the FIFO queue by index (ids run from the pre-fill's first to its last),
    # and the claims in flight through the owner index (a few rows).
    ('huey-rs', 'sqlite'): "SELECT w, {n} - w - f FROM (SELECT "
                           "coalesce((SELECT max(id) FROM huey_queue) - (SELECT id FROM huey_queue "
                           "WHERE namespace = 'bench' AND owner IS NULL ORDER BY priority DESC, id "
                           "LIMIT 1) + 1, 0) AS w, "
                           "(SELECT count(*) FROM huey_queue WHERE owner IS NOT NULL) AS f)",
    # PostgreSQL: the claims made, from the claim sequence; the claims in flight only once all
    # are made (a count of the claims table reads its dead rows too, and every 5 ms it took a
    # share of the server's CPU). Until then the results count as the claims made: below n,
    # which is all the harness needs of them.
    ('huey-rs', 'postgres'): "SELECT {n} - c.claimed, CASE WHEN c.claimed < {n} THEN c.claimed "
                             "ELSE c.claimed - (SELECT count(*) FROM huey.claims) END "
                             "FROM (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS claimed "
                             "FROM huey.claim_seq) c",
}


def impl_label():
    if os.environ.get('BENCH_IMPL'):
        return os.environ['BENCH_IMPL']
    import huey
    return 'python-huey-%s' % huey.__version__


# --------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------

def sqlite_path():
    return URL[len('sqlite:'):].lstrip('/') if URL.startswith('sqlite://') else URL[len('sqlite:'):]


def reset():
    """An empty database for the next run."""
    if STORAGE == 'sqlite':
        for suffix in ('', '-wal', '-shm'):
            try:
                os.remove(sqlite_path() + suffix)
            except FileNotFoundError:
                pass
        return
    import psycopg
    from psycopg import conninfo, sql
    params = conninfo.conninfo_to_dict(URL)
    name = params.get('dbname')
    if not name or name == 'postgres':
        sys.exit('BENCH_URL must name a database of its own (it is dropped between runs)')
    params['dbname'] = 'postgres'
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)').format(
            sql.Identifier(name)))
        conn.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))


class Counter:
    """Reads (waiting, results) of the queue on a connection of its own."""

    def __init__(self, drain_of=None):
        self.query = COUNTS[(LAYOUT, STORAGE)]
        if drain_of is not None and (LAYOUT, STORAGE) in DRAIN_COUNTS:
            self.query = DRAIN_COUNTS[(LAYOUT, STORAGE)].format(n=int(drain_of))
        if STORAGE == 'sqlite':
            self.conn = sqlite3.connect(sqlite_path(), timeout=5, isolation_level=None)
        else:
            import psycopg
            self.conn = psycopg.connect(URL, autocommit=True)

    def __call__(self):
        row = self.conn.execute(self.query).fetchone()
        return int(row[0]), int(row[1])

    def close(self):
        self.conn.close()


def poll_sleep(query_s):
    """5 ms between polls, or twice the poll's own time when longer: a count over 200,000
    rows takes milliseconds of the database's CPU, and this keeps the harness's share of the 2
    cores to at most a third while keeping its precision to about one poll."""
    return max(POLL_S, 2 * query_s)


# --------------------------------------------------------------------------
# Processes (as the Redis harness)
# --------------------------------------------------------------------------

def _stat_fields(pid):
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()


def cpu_seconds(pid):
    try:
        f = _stat_fields(pid)
        return (int(f[11]) + int(f[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(pid):
    parent = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                parent[int(d)] = int(_stat_fields(int(d))[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


def tree_cpu(pids):
    return sum(cpu_seconds(p) for p in pids)


def db_cpu():
    return tree_cpu([DB_PID] + descendants(DB_PID)) if DB_PID else None


def status_kb(pid, field):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg():
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


def pct(values, q):
    """Nearest-rank percentile (q in 0..100), as the Redis harness."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(q / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def record(workload, variant, rep, params, metrics):
    os.makedirs(os.path.dirname(os.path.abspath(RESULTS_FILE)), exist_ok=True)
    params = dict(params, storage=STORAGE)
    row = {'impl': impl_label(), 'workload': workload, 'variant': variant, 'rep': rep,
           'params': params, 'metrics': metrics, 'ts': time.strftime('%Y-%m-%dT%H:%M:%S')}
    with open(RESULTS_FILE, 'a') as f:
        f.write(json.dumps(row) + '\n')
    short = ', '.join('%s=%s' % (k, ('%.4g' % v) if isinstance(v, float) else v)
                      for k, v in metrics.items() if not isinstance(v, list))
    print('[%s %s %s rep%d] %s' % (STORAGE, workload, variant, rep, short), flush=True)


def run_external(cmdline):
    res = subprocess.run(shlex.split(cmdline), cwd=HERE, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError('external command failed (rc=%d): %s\n%s'
                           % (res.returncode, cmdline, res.stderr[-4000:]))
    return res


class Consumer:
    def __init__(self, workers, kind, tag):
        self.cmd = CONSUMER_CMD.format(python=sys.executable, workers=workers, kind=kind)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, '%s-%s.log' % (STORAGE, tag))
        self.proc = None
        self.pids = []

    def start(self):
        self.log = open(self.log_path, 'wb')
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(shlex.split(self.cmd), cwd=HERE, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self.t_spawn

    def refresh_tree(self):
        self.pids = [self.proc.pid] + descendants(self.proc.pid)
        return self.pids

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGINT to the consumer PID (graceful), escalating by PID only."""
        pids = list(self.pids) or [self.proc.pid]
        t0 = time.perf_counter()
        how = 'SIGINT'
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                how = 'SIGKILL'
                self.proc.kill()
                self.proc.wait()
        dt = time.perf_counter() - t0
        time.sleep(0.05)
        for p in pids[1:]:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.log.close()
        return {'stop_s': dt, 'stop_how': how, 'exit_code': self.proc.returncode}


# --------------------------------------------------------------------------
# Pre-fill
# --------------------------------------------------------------------------

def prefill(task, n, arg):
    tmpl = os.environ.get('BENCH_PREFILL_CMD')
    if tmpl:
        run_external(tmpl.format(task=task, n=n, arg=arg))
    else:
        # Python Huey has no bulk enqueue: insert its serialized messages in one transaction,
        # rows as its enqueue writes them.
        import tasks
        fn = getattr(tasks, task)
        hz = tasks.huey
        rows = [('bench', hz.serialize_task(fn.s(i if arg is None else arg)), 0)
                for i in range(n)]
        if STORAGE == 'sqlite':
            conn = sqlite3.connect(sqlite_path(), timeout=5, isolation_level=None)
            conn.execute('BEGIN IMMEDIATE')
            conn.executemany('INSERT INTO task (queue, data, priority) VALUES (?, ?, ?)', rows)
            conn.execute('COMMIT')
            conn.close()
        else:
            import psycopg
            with psycopg.connect(URL) as conn:
                with conn.cursor() as cur:
                    with cur.copy('COPY huey_task (queue, data, priority) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
        hz.storage.close()
    counter = Counter()
    waiting, _ = counter()
    counter.close()
    if waiting != n:
        raise RuntimeError('prefill: %d waiting, expected %d' % (waiting, n))


def touch_schema():
    """Creates Python Huey's tables (its storage does on first use)."""
    if LAYOUT == 'python':
        import tasks
        tasks.huey.storage.queue_size()
        tasks.huey.storage.close()


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------

def w1_enqueue(args):
    for rep in range(args.first_rep, args.first_rep + args.reps):
        reset()
        la = loadavg()
        tmpl = os.environ.get('BENCH_ENQUEUE_CMD')
        if tmpl:
            t0 = time.perf_counter()
            out = run_external(tmpl.format(n=args.n))
            wall = time.perf_counter() - t0
            m = re.search(r'elapsed_s=([0-9.eE+-]+)', out.stdout)
            elapsed = float(m.group(1)) if m else wall
        else:
            import tasks
            tasks.huey.storage.queue_size()  # connected (and the tables made) first
            t0 = time.perf_counter()
            for i in range(args.n):
                tasks.noop(i)
            elapsed = time.perf_counter() - t0
            tasks.huey.storage.close()
        counter = Counter()
        waiting, _ = counter()
        counter.close()
        if waiting != args.n:
            raise RuntimeError('W1: %d waiting, expected %d' % (waiting, args.n))
        record('W1', 'enqueue', rep, {'n': args.n}, {
            'elapsed_s': elapsed, 'tasks_per_s': args.n / elapsed,
            'us_per_task': elapsed / args.n * 1e6, 'loadavg1': la})


def w2_drain(args):
    for rep in range(args.first_rep, args.first_rep + args.reps):
        variant = '%s-w%d' % (args.kind, args.workers)
        reset()
        touch_schema()
        prefill('noop', args.n, None)
        la = loadavg()
        counter = Counter(drain_of=args.n)
        c = Consumer(args.workers, args.kind, 'W2-%s-n%d-rep%d' % (variant, args.n, rep))
        t_spawn = c.start()
        t_first = t_empty = t_done = None
        polls = 0
        last_results, last_progress = -1, t_spawn
        try:
            while True:
                q0 = time.perf_counter()
                waiting, results = counter()
                now = time.perf_counter()
                polls += 1
                if t_first is None and (waiting < args.n or results > 0):
                    t_first = now
                    c.refresh_tree()
                    cpu_first, db_first = tree_cpu(c.pids), db_cpu()
                if t_empty is None and waiting == 0:
                    t_empty = now
                if results >= args.n:
                    t_done = now
                    break
                if not c.alive():
                    raise RuntimeError('consumer exited early (rc=%s), see %s'
                                       % (c.proc.returncode, c.log_path))
                if now - t_spawn > args.timeout:
                    raise RuntimeError('timeout (waiting=%d results=%d)' % (waiting, results))
                # A task that fails inside Huey's own storage calls (SqliteHuey's "database
                # is locked" under -k process -w 8, seen once) never stores its result.
                if results != last_results:
                    last_results, last_progress = results, now
                elif waiting == 0 and now - last_progress > args.stall:
                    raise RuntimeError('no new result for %.0f s with none waiting (%d of %d): '
                                       'a task lost, see %s' % (now - last_progress, results,
                                                                args.n, c.log_path))
                if t_first is not None and args.kind == 'process' and now - t_first < 2:
                    c.refresh_tree()  # process workers fork after start-up
                time.sleep(poll_sleep(now - q0))
            c.refresh_tree()
            cpu_done, db_done = tree_cpu(c.pids), db_cpu()
            hwm_main = status_kb(c.proc.pid, 'VmHWM')
            hwm_total = sum(status_kb(p, 'VmHWM') for p in c.pids)
            pss_total = sum(pss_kb(p) for p in c.pids)
            nprocs = len(c.pids)
        finally:
            stop = c.stop()
            counter.close()
        steady = t_done - t_first
        m = {
            'tasks_per_s': args.n / steady,
            'tasks_per_s_incl_startup': args.n / (t_done - t_spawn),
            'drain_s': steady,
            'startup_s': t_first - t_spawn,
            'queue_empty_s': t_empty - t_first if t_empty else None,
            'consumer_cpu_pct': 100 * (cpu_done - cpu_first) / steady,
            'db_cpu_pct': 100 * (db_done - db_first) / steady if DB_PID else None,
            'peak_rss_mib_sum_vmhwm': hwm_total / 1024.0,
            'peak_rss_mib_main_vmhwm': hwm_main / 1024.0,
            'pss_mib_tree_at_done': pss_total / 1024.0,
            'consumer_procs': nprocs,
            'polls': polls,
            'loadavg1': la,
        }
        m.update(stop)
        record('W2', variant, rep, {'n': args.n, 'workers': args.workers, 'kind': args.kind,
                                    'consumer_cmd': c.cmd}, m)


def _latency_samples(tmpl, n, warmup, python_loop):
    if tmpl:
        out = run_external(tmpl)
        return [float(x) for x in out.stdout.split()]
    return python_loop()


def w3_latency(args):
    variant = '%s-w%d-blocking-get' % (args.kind, args.workers)
    for rep in range(args.first_rep, args.first_rep + args.reps):
        reset()
        touch_schema()
        la = loadavg()
        c = Consumer(args.workers, args.kind, 'W3-%s-rep%d' % (variant, rep))
        c.start()

        def python_loop():
            import tasks
            for i in range(args.warmup):  # also waits for the consumer to come up
                tasks.noop(i).get(blocking=True, timeout=60)
            samples = []
            for i in range(args.n):
                t0 = time.perf_counter()
                v = tasks.noop(i).get(blocking=True, timeout=30)
                samples.append((time.perf_counter() - t0) * 1000.0)
                if v != i:
                    raise RuntimeError('bad result %r != %r' % (v, i))
            tasks.huey.storage.close()
            return samples
        try:
            tmpl = os.environ.get('BENCH_LATENCY_CMD')
            samples = _latency_samples(tmpl and tmpl.format(n=args.n, warmup=args.warmup),
                                       args.n, args.warmup, python_loop)
        finally:
            stop = c.stop()
        if len(samples) != args.n:
            raise RuntimeError('got %d samples' % len(samples))
        m = {'p50_ms': pct(samples, 50), 'p90_ms': pct(samples, 90),
             'p99_ms': pct(samples, 99), 'max_ms': max(samples), 'min_ms': min(samples),
             'mean_ms': statistics.mean(samples), 'loadavg1': la}
        m.update(stop)
        record('W3', variant, rep, {'n': args.n, 'warmup': args.warmup,
                                    'workers': args.workers, 'kind': args.kind,
                                    'consumer_cmd': c.cmd}, m)


def pickup(args):
    variant = 'idle'
    for rep in range(args.first_rep, args.first_rep + args.reps):
        reset()
        touch_schema()
        c = Consumer(args.workers, args.kind, 'pickup-rep%d' % rep)
        c.start()

        def python_loop():
            import tasks
            tasks.started_at().get(blocking=True, timeout=60)  # the consumer is up
            samples = []
            for _ in range(args.n):
                time.sleep(0.02)
                sent = int(time.time() * 1e6)
                started = tasks.started_at().get(blocking=True, timeout=30)
                samples.append((started - sent) / 1000.0)
            tasks.huey.storage.close()
            return samples
        try:
            tmpl = os.environ.get('BENCH_PICKUP_CMD')
            if tmpl:
                time.sleep(0.5)  # the consumer is up (the Python loop waits on a first task)
            samples = _latency_samples(tmpl and tmpl.format(n=args.n), args.n, 0, python_loop)
        finally:
            stop = c.stop()
        if len(samples) != args.n:
            raise RuntimeError('got %d samples' % len(samples))
        m = {'p50_ms': pct(samples, 50), 'p99_ms': pct(samples, 99), 'max_ms': max(samples)}
        m.update(stop)
        record('pickup', variant, rep, {'n': args.n, 'workers': args.workers,
                                        'kind': args.kind, 'consumer_cmd': c.cmd}, m)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('enqueue')
    p.add_argument('--n', type=int, default=20000)
    p.set_defaults(fn=w1_enqueue)
    p = sub.add_parser('drain')
    p.add_argument('--n', type=int, default=20000)
    p.add_argument('--workers', type=int, default=8)
    p.add_argument('--kind', default='thread')
    p.add_argument('--timeout', type=float, default=900)
    p.add_argument('--stall', type=float, default=30,
                   help='give up when no result came for this long and none is waiting')
    p.set_defaults(fn=w2_drain)
    p = sub.add_parser('latency')
    p.add_argument('--n', type=int, default=500)
    p.add_argument('--warmup', type=int, default=20)
    p.add_argument('--workers', type=int, default=4)
    p.add_argument('--kind', default='thread')
    p.set_defaults(fn=w3_latency)
    sub.add_parser('reset', help='empty the database of BENCH_URL').set_defaults(
        fn=lambda args: reset())
    p = sub.add_parser('pickup')
    p.add_argument('--n', type=int, default=200)
    p.add_argument('--workers', type=int, default=4)
    p.add_argument('--kind', default='thread')
    p.set_defaults(fn=pickup)
    for name, p in sub.choices.items():
        if name == 'reset':
            continue
        p.add_argument('--reps', type=int, default=1)
        p.add_argument('--first-rep', type=int, default=1)
    args = ap.parse_args()
    if STORAGE not in ('postgres', 'sqlite') or (STORAGE, LAYOUT) not in [
            (s, l) for (l, s) in COUNTS]:
        sys.exit('BENCH_STORAGE / BENCH_LAYOUT not understood: %s / %s' % (STORAGE, LAYOUT))
    args.fn(args)


if __name__ == '__main__':
    main()
