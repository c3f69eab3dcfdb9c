#!/usr/bin/env python3
"""Prints the comparison table of bench/compare.sh from the three JSON-lines result files
(Python Huey, apalis, huey-rs): one row per workload, the median of each implementation over
its rounds, and huey-rs's ratio to the better of the other two."""
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
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


def median(rows, workload, variant, metric):
    values = [r[metric] for r in rows
              if r.get('workload') == workload and variant in str(r.get('variant'))
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


def main():
    python, apalis, rust = (load(p) for p in sys.argv[1:4])
    # The 200k drain is a W2 row with a larger n: tell it apart.
    for r in rust:
        if r.get('workload') == 'W2' and r.get('n') == 200000:
            r['tasks_per_s_200k'] = r.get('tasks_per_s')
            r['tasks_per_s'] = None
    print('| workload | unit | Python Huey 3.5.4 | apalis 1.0.0 | huey-rs | huey-rs vs the better |')
    print('|---|---|---|---|---|---|')
    for label, unit, higher, py, ap, rs in ROWS:
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
