"""kill -9 of the runtime at random points (issue 21 item 3 and its proof).

`run`, `create`, `start`, `exec`, `delete` and `sandbox` are killed with SIGKILL at random
moments of their work, without and with a network (inside a network namespace the test
creates, as test_network.py does). After each round, `delete --force` of every id and one
`gc` must leave nothing, as the kernel sees it:
- no process that is ours: none whose root, cwd or an open fd is under the test's
  directory (the bundles, the state root: an init before `start` holds its state
  directory), none running the test's marker command (a container's or sandbox's job,
  in namespaces that are not the host's: a sandbox's root shows as "/" from here);
- no mount under the test's directory (the host's and the test host namespace's);
- no veth but the bridge in the test host namespace, no lease, no port claim;
- no state directory and no sandbox entry under the state root.
A kill "landed" when the process was still running when SIGKILL was sent; each test
asserts its count (at least 150 each, 300 in all).
"""

import collections
import contextlib
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import pid_alive, pids_with_token, wait_for
from test_network import host, net_bundle, nrt  # noqa: F401  (fixtures: a test-made network namespace)

pytestmark = pytest.mark.run_container_only("kills run-container mid-way and checks its own gc and journals")

MARKER = f"1000.{os.getpid()}"  # the jobs' `sleep` argument: found by its command line
ROUNDS = 6
PER_COMMAND = 5  # landed kills per command per round: 6 x 6 x 5 = 180 per test
INTERNAL = ("@sandbox", "@seccomp-cache")


class Killer:
    """Starts runtime commands and kills them at random moments; counts landed kills."""

    def __init__(self, rt, seed):
        self.rt = rt
        self.rnd = random.Random(seed)
        self.landed = collections.Counter()
        self.tried = collections.Counter()

    def kill_at_random(self, name, argv, max_delay):
        """Runs argv (a runtime command), SIGKILLs it after a random delay. True if landed."""
        self.tried[name] += 1
        p = subprocess.Popen(self.rt.argv(*argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, cwd=self.rt.workdir)
        self.rt.procs.append(p)  # a test interrupted here: the fixture's teardown kills it
        time.sleep(self.rnd.uniform(0, max_delay))
        landed = p.poll() is None
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        landed = landed and p.returncode == -signal.SIGKILL
        if landed:
            self.landed[name] += 1
        return landed

    def until_landed(self, name, make_argv, max_delay, count):
        """Repeats until `count` kills of this command landed (bounded attempts)."""
        got = 0
        for _ in range(count * 8):
            if got == count:
                break
            cid = self.rt.new_id("k")
            got += self.kill_at_random(name, make_argv(cid), max_delay)
        return got


def ok(rt, *args):
    """A command that must succeed; its output goes to a file (a container it creates keeps
    its stdio open: a pipe would never see EOF)."""
    err = os.path.join(rt.workdir, "cmd.err")
    with open(err, "w") as fe:
        r = rt.cmd(*args, timeout=60, cwd=rt.workdir, stdout=subprocess.DEVNULL, stderr=fe)
    with open(err) as fe:
        assert r.returncode == 0, f"{args}: {fe.read()}"


def one_round(k, rt, bundle_path, sandbox_args):
    """One kill of each kind, PER_COMMAND times."""
    sleeper = ["sleep", MARKER]

    def created(cid):
        ok(rt, "create", "--bundle", bundle_path, cid)
        return cid

    # The delays are bounded by how long each command takes on an idle machine (create a
    # few ms, start and delete about one): longer ones let too few kills land there.
    k.until_landed("run", lambda cid: ["run", "--bundle", bundle_path, cid], 0.08, PER_COMMAND)
    k.until_landed("create", lambda cid: ["create", "--bundle", bundle_path, cid], 0.012, PER_COMMAND)
    k.until_landed("start", lambda cid: ["start", created(cid)], 0.002, PER_COMMAND)
    k.until_landed("delete", lambda cid: ["delete", "--force", created(cid)], 0.003, PER_COMMAND)
    target = created(rt.new_id("x"))
    ok(rt, "start", target)
    k.until_landed("exec", lambda cid: ["exec", target, *sleeper], 0.05, PER_COMMAND)
    k.until_landed("sandbox", lambda cid: ["sandbox", "--no-gc", "--name", cid, *sandbox_args, "--",
                                           *sleeper], 0.1, PER_COMMAND)


def clean_up(rt):
    for cid in rt.ids:
        ok(rt, "delete", "--force", cid)
    ok(rt, "gc")


def our_processes(workdir):
    """Live processes (not zombies) with their root, cwd or an fd under workdir, or named
    rc:init (an init of any root here has the state root open)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        links = []
        with contextlib.suppress(OSError):
            links += [os.readlink(f"/proc/{pid}/root"), os.readlink(f"/proc/{pid}/cwd")]
            links += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        if any(l == workdir or l.startswith(workdir + "/") for l in links) and pid_alive(pid):
            with contextlib.suppress(OSError):
                found.append(f"pid {pid} ({open(f'/proc/{pid}/comm').read().strip()})")
    return found


def mounts_under(workdir, pid="self"):
    with open(f"/proc/{pid}/mountinfo") as f:
        return [line.split()[4] for line in f if workdir in line.split()[4]]


def state_entries(rt):
    found = [e for e in os.listdir(rt.root) if e not in INTERNAL]
    sdir = os.path.join(rt.root, "@sandbox")
    if os.path.isdir(sdir):
        found += [f"@sandbox/{e}" for e in os.listdir(sdir)]
    return found


def jobs_running():
    """Live processes (zombies waiting for the host's init do not count) running the marker."""
    return [f"job pid {p}" for p in pids_with_token(MARKER) if pid_alive(p)]


def leftovers(rt, host=None):
    found = our_processes(rt.workdir) + jobs_running() + [f"mount {m}" for m in mounts_under(rt.workdir)]
    found += [f"state {e}" for e in state_entries(rt)]
    if host is not None:
        found += [f"mount in the test host {m}" for m in mounts_under(rt.workdir, host.pid)]
        found += [f"link {l}" for l in host.links() if l not in ("lo", "rc0")]
        found += [f"lease {l}" for l in rt.leases()] + [f"port claim {c}" for c in rt.claims()]
    return found


def kill_rounds(rt, bundle_path, sandbox_args, host=None):
    k = Killer(rt, seed=os.getpid())
    deadline = time.monotonic() + 110  # before conftest's TEST_TIMEOUT (120 s) interrupts it
    for _ in range(ROUNDS):
        one_round(k, rt, bundle_path, sandbox_args)
        clean_up(rt)
        wait_for(lambda: leftovers(rt, host) == [], timeout=10,
                 what=f"nothing left after delete --force + gc (have {leftovers(rt, host)})")
        rt.ids.clear()
        assert time.monotonic() < deadline, f"the kill rounds are too slow: {dict(k.landed)}"
    return k


def check_counts(k):
    assert sum(k.landed.values()) >= 150, f"landed {dict(k.landed)} of {dict(k.tried)}"
    for name in ("run", "create", "start", "exec", "delete", "sandbox"):
        assert k.landed[name] >= ROUNDS * PER_COMMAND // 2, f"{name}: landed {dict(k.landed)} of {dict(k.tried)}"


def test_kill9_without_network(rt, bundle, base_rootfs):
    b = bundle(["sleep", MARKER])
    k = kill_rounds(rt, b.path, ["--rootfs", base_rootfs])
    print("landed", dict(k.landed), "of", dict(k.tried))
    check_counts(k)


def test_kill9_with_network(nrt, host, bundle, base_rootfs):
    b = net_bundle(bundle, ["sleep", MARKER], network="default")
    b.save()
    k = kill_rounds(nrt, b.path, ["--rootfs", base_rootfs, "--net", "default"], host)
    print("landed", dict(k.landed), "of", dict(k.tried))
    check_counts(k)
