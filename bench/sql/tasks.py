"""Python Huey 3.5.4's side of the SQL benchmarks: the tasks of the Redis harness
(../../../shared/bench/python-huey/tasks.py) on PostgresHuey or SqliteHuey.

The harness (bench.py) and the consumer it starts read the same environment:

  BENCH_STORAGE  postgres | sqlite
  BENCH_URL      postgres://user@host:port/db, or sqlite:PATH
"""
import os
import time

from huey import PostgresHuey, SqliteHuey

STORAGE = os.environ.get('BENCH_STORAGE', 'postgres')
URL = os.environ.get('BENCH_URL', '')

if STORAGE == 'postgres':
    huey = PostgresHuey('bench', results=True, dsn=URL)
elif STORAGE == 'sqlite':
    # WAL is SqliteHuey's default journal mode; named here because the benchmark states it.
    huey = SqliteHuey('bench', results=True, filename=URL[len('sqlite:'):],
                      journal_mode='wal')
else:
    raise SystemExit('BENCH_STORAGE must be postgres or sqlite, not %r' % STORAGE)


@huey.task()
def noop(i):
    return i


@huey.task()
def sleep_ms(ms):
    time.sleep(ms / 1000.0)
    return ms


@huey.task()
def started_at():
    """When the task started, in microseconds since the epoch (idle pickup)."""
    return int(time.time() * 1e6)
