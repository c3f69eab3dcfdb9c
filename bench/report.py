#!/usr/bin/env python3
"""Prints the comparison table of bench/compare.sh from the three JSON-lines result files
(Python Huey, apalis, huey-rs): one row per workload, the median of each implementation over
its rounds, and huey-rs's ratio to the better of the other two.

  report.py PYTHON APALIS HUEY_RS                       # the Redis table
  report.py --storage postgres|sqlite PYTHON APALIS HUEY_RS   # a SQL storage's table
"""
import json
import statistics
import sys


def load(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    row = json.loads(line)
                    # The Python harness nests its figures; apalis and huey-bench do not.
                    row.update(row.pop('metrics', {}))
                    row.update(row.pop('params', {}))
                    per_task_cpu(row)
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


def per_task_cpu(row):
    """CPU microseconds per task of the consumer and of Redis over a drain, from the shares of a
    core the harnesses measure over the drain's window: share / rate."""
    rate = row.get('tasks_per_s')
    if not isinstance(rate, (int, float)) or rate <= 0:
        return
    for side in ('consumer', 'redis'):
        pct = row.get(side + '_cpu_pct')
        if isinstance(pct, (int, float)):
            row[side + '_us_per_task'] = pct / 100.0 / rate * 1e6


def median(rows, workload, variant, metric, n=None):
    values = [r[metric] for r in rows
              if r.get('workload') == workload and variant in str(r.get('variant'))
              and (n is None or r.get('n') == n)
              and isinstance(r.get(metric), (int, float))]
    return statistics.median(values) if values else None


# (label, unit, higher is better, python (workload, variant, metric), apalis (...), huey-rs (...))
ROWS = [
    ('W1 enqueue, one awaited call at a time', 'tasks/s', True,
     ('W1', 'enqueue', 'tasks_per_s'), ('W1', 'push', 'tasks_per_s'), ('W1', 'enqueue', 'tasks_per_s')),
    ('W1b bulk enqueue of 200,000', 'tasks/s', True,
     None, ('W1b', 'chunk1000', 'tasks_per_s'), ('W1b', 'one-call', 'tasks_per_s')),
    ('W2 drain of 20,000 no-ops, results stored, 8 workers', 'tasks/s', True,
     ('W2', 'process-w4', 'tasks_per_s'), ('W2', 'c8-', 'tasks_per_s'), ('W2', 'thread-w8', 'tasks_per_s')),
    ('W2 drain of 20,000, 64 workers', 'tasks/s', True,
     None, ('W2', 'c64-', 'tasks_per_s'), ('W2', 'thread-w64', 'tasks_per_s')),
    ('W2 drain of 200,000, 64 workers', 'tasks/s', True,
     None, None, ('W2', 'thread-w64', 'tasks_per_s_200k')),
    ('W2 20,000, 8 workers: consumer CPU per task', 'µs', False,
     ('W2', 'process-w4', 'consumer_us_per_task'), ('W2', 'c8-', 'consumer_us_per_task'),
     ('W2', 'thread-w8', 'consumer_us_per_task', 20000)),
    ('W2 20,000, 8 workers: Redis CPU per task', 'µs', False,
     ('W2', 'process-w4', 'redis_us_per_task'), ('W2', 'c8-', 'redis_us_per_task'),
     ('W2', 'thread-w8', 'redis_us_per_task', 20000)),
    ('W2 20,000, 64 workers: consumer CPU per task', 'µs', False,
     None, ('W2', 'c64-', 'consumer_us_per_task'),
     ('W2', 'thread-w64', 'consumer_us_per_task', 20000)),
    ('W2 20,000, 64 workers: Redis CPU per task', 'µs', False,
     None, ('W2', 'c64-', 'redis_us_per_task'), ('W2', 'thread-w64', 'redis_us_per_task', 20000)),
    ('W3 round trip p50', 'ms', False,
     ('W3', 'notify', 'p50_ms'), ('W3', 'notify', 'p50_ms'), ('W3', 'notify', 'p50_ms')),
    ('W3 round trip p99', 'ms', False,
     ('W3', 'notify', 'p99_ms'), ('W3', 'notify', 'p99_ms'), ('W3', 'notify', 'p99_ms')),
    ('Idle pickup p99 (enqueue -> start)', 'ms', False,
     None, None, ('pickup', 'idle', 'p99_ms')),
    ('W4 2,000 x 10 ms, 64 workers', '% of nominal', True,
     ('W4', 'w64', 'efficiency_pct'), ('W4', 'c64', 'efficiency_pct'), ('W4', 'w64', 'efficiency_pct')),
    ('Timer ceiling: 64 concurrent 10 ms sleeps', '% of nominal', True,
     None, ('SLEEP', 'c64', 'efficiency_pct'), ('SLEEP', 'c64', 'efficiency_pct')),
    ('W4b 20,000 x 10 ms, 1,000 workers', '% of nominal', True,
     None, ('W4', 'c1000', 'efficiency_pct'), ('W4', 'w1000', 'efficiency_pct')),
    ('W5 consumer peak RSS during W2 (8 workers)', 'MiB', False,
     ('W2', 'process-w4', 'peak_rss_mib_sum_vmhwm'), ('W2', 'c8-', 'peak_rss_mib_sum_vmhwm'),
     ('W2', 'thread-w8', 'peak_rss_mib_sum_vmhwm')),
]


# The SQL storages' rows (bench/sql/compare-sql.sh), specs as above with the run's n. Python
# Huey's W2 rows are those of the one worker configuration the script picked (its best on a
# quick run: the variant names it), so any W2 variant of its file matches; it has no bulk
# enqueue and no 64-worker run (64 Python threads only contend for the GIL). Its W3 is its
# blocking get (polling: SQL storages have no result notification in Huey 3.5.4).
SQL_ROWS = [
    ('W1 enqueue, one awaited call at a time', 'tasks/s', True,
     ('W1', 'enqueue', 'tasks_per_s'), ('W1', 'push', 'tasks_per_s'), ('W1', 'enqueue', 'tasks_per_s')),
    ('W1b bulk enqueue of 200,000', 'tasks/s', True,
     None, ('W1b', 'chunk1000', 'tasks_per_s'), ('W1b', 'one-call', 'tasks_per_s')),
    ('W2 drain of 20,000 no-ops, results stored, 8 workers', 'tasks/s', True,
     ('W2', '', 'tasks_per_s', 20000), ('W2', 'c8-', 'tasks_per_s', 20000),
     ('W2', 'thread-w8', 'tasks_per_s', 20000)),
    ('W2 drain of 20,000, 64 workers', 'tasks/s', True,
     None, ('W2', 'c64-', 'tasks_per_s', 20000), ('W2', 'thread-w64', 'tasks_per_s', 20000)),
    ('W2 drain of 200,000, 8 workers', 'tasks/s', True,
     ('W2', '', 'tasks_per_s', 200000), ('W2', 'c8-', 'tasks_per_s', 200000),
     ('W2', 'thread-w8', 'tasks_per_s', 200000)),
    ('W2 drain of 200,000, 64 workers', 'tasks/s', True,
     None, ('W2', 'c64-', 'tasks_per_s', 200000), ('W2', 'thread-w64', 'tasks_per_s', 200000)),
    ('W3 round trip p50 (blocking get)', 'ms', False,
     ('W3', '', 'p50_ms'), ('W3', '', 'p50_ms'), ('W3', '', 'p50_ms')),
    ('W3 round trip p99', 'ms', False,
     ('W3', '', 'p99_ms'), ('W3', '', 'p99_ms'), ('W3', '', 'p99_ms')),
    ('Idle pickup p50 (enqueue -> start)', 'ms', False,
     ('pickup', 'idle', 'p50_ms'), ('pickup', 'idle', 'p50_ms'), ('pickup', 'idle', 'p50_ms')),
    ('Idle pickup p99', 'ms', False,
     ('pickup', 'idle', 'p99_ms'), ('pickup', 'idle', 'p99_ms'), ('pickup', 'idle', 'p99_ms')),
    ('W5 consumer peak RSS during W2 (20,000, 8 workers)', 'MiB', False,
     ('W2', '', 'peak_rss_mib_sum_vmhwm', 20000), ('W2', 'c8-', 'peak_rss_mib_sum_vmhwm', 20000),
     ('W2', 'thread-w8', 'peak_rss_mib_sum_vmhwm', 20000)),
]


def sql_table(storage, python, apalis, rust):
    variants = sorted({str(r.get('variant')) for r in python if r.get('workload') == 'W2'})
    print('%s: Python Huey 3.5.4 %sHuey, W2 with `-k %s`; apalis-sql at its defaults\n' % (
        storage, 'Postgres' if storage == 'postgres' else 'Sqlite',
        ', '.join(v.replace('-w', ' -w ') for v in variants) or '—'))
    print('| workload | unit | Python Huey 3.5.4 | apalis 1.0.0 | huey-rs | huey-rs vs the better |')
    print('|---|---|---|---|---|---|')
    print_rows(SQL_ROWS, python, apalis, rust)


def main():
    args = sys.argv[1:]
    storage = None
    if args[:1] == ['--storage']:
        storage, args = args[1], args[2:]
    python, apalis, rust = (load(p) for p in args[:3])
    if storage:
        sql_table(storage, python, apalis, rust)
        return
    # The 200k drain is a W2 row with a larger n: tell it apart.
    for r in rust:
        if r.get('workload') == 'W2' and r.get('n') == 200000:
            r['tasks_per_s_200k'] = r.get('tasks_per_s')
            r['tasks_per_s'] = None
    print('| workload | unit | Python Huey 3.5.4 | apalis 1.0.0 | huey-rs | huey-rs vs the better |')
    print('|---|---|---|---|---|---|')
    print_rows(ROWS, python, apalis, rust)


def print_rows(rows_spec, python, apalis, rust):
    for label, unit, higher, py, ap, rs in rows_spec:
        values = [median(rows, *spec) if spec else None
                  for rows, spec in ((python, py), (apalis, ap), (rust, rs))]
        cells = ['%.3g' % v if v is not None else '—' for v in values]
        others = [v for v in values[:2] if v is not None]
        ratio = '—'
        if values[2] is not None and others:
            best = max(others) if higher else min(others)
            if best:
                ratio = '%.2f×' % (values[2] / best if higher else best / values[2])
        print('| %s | %s | %s | %s | %s | %s |' % (label, unit, *cells, ratio))


if __name__ == '__main__':
    main()
