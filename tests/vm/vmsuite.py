"""What the VM suites (cgroup_tests.py, sandbox_tests.py) share: assertions, waiting, the
test registry and the runner that prints 'ok - NAME' / 'FAIL - NAME: why' per test and the
plain 'N passed, N failed' line. Runs inside tests/vm's guest."""

import os
import shutil
import sys
import time
import traceback

CG = "/sys/fs/cgroup"
MiB = 1024 * 1024


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise Fail(f"timed out after {timeout}s waiting for {what}")


class Registry:
    def __init__(self):
        self.tests = []

    def __call__(self, fn):
        self.tests.append(fn)
        return fn


def in_guest():
    return os.path.exists("/run/vm/io/cmd.sh") and os.path.exists(CG + "/cgroup.controllers")


def run(name, doc, tests, make_suite, leftovers):
    """argv: RUNTIME WORKDIR [TEST_NAME...]. make_suite(runtime, work) returns an object
    with cleanup() and tmp; leftovers(suite) lists what must not remain at the end."""
    if len(sys.argv) < 3:
        print(doc, file=sys.stderr)
        return 2
    if not in_guest():
        print(f"{name}: runs only inside tests/vm's guest (pure cgroup v2)", file=sys.stderr)
        return 2
    s = make_suite(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    only = set(sys.argv[3:])
    passed = failed = 0
    t_all = time.monotonic()
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            t(s)
            print(f"ok - {t.__name__} ({time.monotonic() - t0:.1f}s)", flush=True)
            passed += 1
        except Exception as e:  # a test's failure, whatever it is, is reported and counted
            why = str(e) if isinstance(e, Fail) else traceback.format_exc().strip().splitlines()[-1]
            print(f"FAIL - {t.__name__}: {why}", flush=True)
            failed += 1
        finally:
            s.cleanup()
    left = leftovers(s)
    if left:
        print(f"FAIL - nothing left behind: {left}")
        failed += 1
    shutil.rmtree(s.tmp, ignore_errors=True)
    print(f"({name}: {time.monotonic() - t_all:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
