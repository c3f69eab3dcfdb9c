"""The Python side of huey-pickle's interop tests (run by tests/python.rs).

  interop.py cases    prints `name protocol hex` for every case pickled at protocols 0-5, and
                      for messages also as Huey's own serializer writes them (protocol `huey`).
  interop.py verify   reads `name protocol hex` lines, unpickles each with pickle.loads, and
                      prints `OK name protocol` or `FAIL name protocol: why` against the case.
"""
import datetime as dt
import math
import pickle
import sys

import huey
from huey import RedisHuey
from huey.registry import Message
from huey.utils import ChordConfig, Error, SKIPPED

if huey.__version__ != '3.5.4':
    sys.exit('huey 3.5.4 is required, found %s' % huey.__version__)

# Building messages needs no Redis: nothing here enqueues.
app = RedisHuey('interop')


@app.task()
def add(a, b, c=0):
    return a + b + c


def add_task(**fields):
    return add.task_class(**fields)


def message_of(task):
    return app._registry.create_message(task)


simple_task = add_task(args=(1, 2), kwargs={'c': 3}, id='11111111-2222-3333-4444-555555555555')
rich_task = add_task(
    args=(10, 20), kwargs={}, id='aaaaaaaa-0000-0000-0000-000000000001',
    eta=dt.datetime(2030, 1, 2, 3, 4, 5), retries=1, retry_delay=2, priority=7,
    expires=60, expires_resolved=dt.datetime(2030, 1, 2, 3, 5, 5, 123456), timeout=30,
    retry_backoff=1.5)
rich_task.on_complete = add_task(args=(5,), kwargs={}, id='aaaaaaaa-0000-0000-0000-000000000002')
chord_member = add_task(args=(1,), kwargs={}, id='chord-member-0',
                        expires=dt.timedelta(minutes=5))
chord_member.chord_config = ChordConfig('cid-1', 3, 0, add_task(args=(), kwargs={}, id='callback-1'))

CASES = {
    'none': None,
    'true': True,
    'false': False,
    'small_ints': (0, 1, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, -2**31),
    'i64_edges': (2**63 - 1, -2**63, 2**40),
    'big_ints': (2**64, -2**64 - 1, 2**100, 10**30, -2**200),
    'floats': (0.0, -0.0, 1.5, -2.25e300, 1e-310, math.inf, -math.inf, math.nan),
    'strings': ('', 'a', 'é', '日本語', 'x' * 300, 'line\nbreak\\back\u0100'),
    'bytes': (b'', b'ab', bytes(range(256)), b'x' * 70000),
    'bytearray': bytearray(b'ab\x00\xff'),
    'list': [1, 'two', [3, [4, []]]],
    'tuples': ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)),
    'dict': {'a': 1, 'b': [1, 2], 3: 'three', (1, 2): None, None: {}},
    'set': {1, 2, 3},
    'empty_set': set(),
    'frozenset': frozenset(['a', 'b']),
    'datetime_naive': dt.datetime(2030, 1, 2, 3, 4, 5, 6),
    'datetime_utc': dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    'datetime_offset': dt.datetime(2030, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30), 'X')),
    'datetime_fold': dt.datetime(2030, 11, 3, 1, 30, fold=1),
    'date': dt.date(2030, 2, 28),
    'timedeltas': (dt.timedelta(days=1, seconds=2, microseconds=3), dt.timedelta(seconds=-1), dt.timedelta(0)),
    'shared': (lambda shared: [shared, shared, {'k': shared}])([1, 2]),
    'nested': {'args': [(1, 2.5, 'x', b'y', None, True)], 'kwargs': {'when': dt.datetime(2000, 1, 1)}},
    'skipped': SKIPPED,
    'error': Error({'error': 'ZeroDivisionError(division by zero)', 'retries': 0,
                    'traceback': 'Traceback (most recent call last):\n  ...', 'task_id': 'abc'}),
    'message_simple': message_of(simple_task),
    'message_rich': message_of(rich_task),
    'message_chord': message_of(chord_member),
    'message_short': Message('old', app._registry.task_to_string(add.task_class), None, 0, 0, None, (1, 2), {}),
    'revoke_flag': (None, True),
    # What the serde bridge makes of the Rust struct `Typed` in tests/python.rs.
    'typed': {'path': 'a.png', 'width': 640, 'ratio': 0.5, 'tags': ['x', 'y'],
              'blob': b'\x00\x01\xff', 'note': None, 'pair': (-3, True),
              'when': dt.datetime(2030, 1, 2, 3, 4, 5, 6),
              'deadline': dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)},
}


def same(a, b):
    """Equal and of the same types all the way down (a namedtuple is not a tuple here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and (
            a.tzinfo is None or a.tzname() == b.tzname())
    return a == b


def cases():
    for name, obj in CASES.items():
        for protocol in range(6):
            if name == 'datetime_fold' and protocol < 4:
                continue  # Python drops `fold` below protocol 4
            print(name, protocol, pickle.dumps(obj, protocol=protocol).hex())
        if isinstance(obj, Message):
            print(name, 'huey', app.serializer.serialize(obj).hex())


def verify():
    for line in sys.stdin:
        name, protocol, data = line.split()
        expected = CASES[name]
        try:
            data = bytes.fromhex(data)
            loaded = pickle.loads(data)
            if not same(expected, loaded):
                print('FAIL', name, protocol + ':', repr(loaded)[:300], '!=', repr(expected)[:300])
                continue
            if isinstance(expected, Message):
                # Huey's own reading path accepts it and rebuilds the same task.
                task = app.deserialize_task(data)
                if (task.id, task.args, task.kwargs) != (expected.id, expected.args, expected.kwargs):
                    print('FAIL', name, protocol + ':', 'Huey rebuilt', task)
                    continue
            print('OK', name, protocol)
        except Exception as error:  # every failure is reported, not raised
            print('FAIL', name, protocol + ':', type(error).__name__, error)


if __name__ == '__main__':
    {'cases': cases, 'verify': verify}[sys.argv[1]]()
