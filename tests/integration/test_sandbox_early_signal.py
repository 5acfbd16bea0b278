"""A stop signal that reaches a sandbox job's init (`--init`, the default) before the init
takes signals is not lost. The init is PID 1 of the job's pid namespace, which the kernel
gives no signal it has no handler for unless it is blocked: so it keeps the stop signals
blocked from its clone (it inherits them blocked from `sandbox`, runtime/base/stopsig.h)
until its loop takes them (runtime/isolation/reaper.h), and passes them on to the job then.

Such a signal is one sent to the container's init while the container is being created
(`run-container kill`, or the sandbox passing on one it got at that point). The test sends
it to the init as soon as the init exists, many times over: the init is in the middle of
its setup then in most rounds. A dropped signal would leave the job to the sandbox's
--timeout.
"""

import json
import os
import signal
import time

import pytest

from test_sandbox import leftovers, sb  # noqa: F401 (fixture)
from test_sandbox_stop import start

pytestmark = pytest.mark.run_container_only("sandbox is run-container's own command")

ROUNDS = 8
TIMEOUT_S = 4


def child_init(ppid):
    """The pid of ppid's child named rc:init, or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == "rc:init" and int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
            return int(entry)
    return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT])
def test_a_stop_signal_to_the_init_during_its_setup_reaches_the_job(sb, rt, sig):
    dropped = []
    for i in range(ROUNDS):
        p, report = start(sb, rt, f"early{int(sig)}-{i}", "--rootfs", sb.rootfs, "--timeout", f"{TIMEOUT_S}s",
                          "--", "sleep", "1000")
        deadline = time.monotonic() + 30
        init = None
        while init is None and p.poll() is None and time.monotonic() < deadline:
            init = child_init(p.pid)
        assert init is not None, "no init appeared"
        os.kill(init, sig)
        p.communicate(timeout=60)
        with open(report) as f:
            rep = json.load(f)
        assert rep["job_started"] is True, rep
        if rep["reason"] == "timeout":
            dropped.append(i)
            continue
        assert rep["reason"] == "signaled" and rep["signal"] == sig and p.returncode == 128 + sig, rep
    assert dropped == [], f"the job's init dropped the signal in rounds {dropped} of {ROUNDS}"
    assert leftovers(rt) == []


@pytest.mark.parametrize("init", [True, False], ids=["init", "no-init"])
def test_the_job_starts_with_no_signal_blocked(sb, init):
    """The init holds the stop signals blocked; the job it starts holds none."""
    r = sb.run(*([] if init else ["--no-init"]), "--", "grep", "^SigBlk:", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["SigBlk:", "0" * 16], r.stdout
