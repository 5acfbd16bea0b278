#!/usr/bin/python3
"""The sandbox suite under real cgroup v2: runs INSIDE the tests/vm guest, started by
tests/vm/vm-tests.sh, which compiled everything on the host.

    sandbox_tests.py RUNTIME WORKDIR [TEST...]

WORKDIR (shared with the host) holds rootfs/ (busybox). Each test runs `sandbox` with
real limits and checks them from inside the job, from the --report (OOM kills, peak
memory and pids, CPU and I/O from the cgroup) and from /sys/fs/cgroup afterwards.
Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, N failed"; exits 1 if
anything failed.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from vmsuite import CG, MiB, Fail, Registry, check, run, wait_for

test = Registry()


class Suite:
    def __init__(self, runtime, work):
        self.runtime = runtime
        self.rootfs = os.path.join(work, "rootfs")
        self.tmp = tempfile.mkdtemp(prefix="sbt-", dir="/tmp")
        self.root = os.path.join(self.tmp, "state")
        self.n = 0

    def argv(self, *args):
        return [self.runtime, "--root", self.root, "sandbox", "--rootfs", self.rootfs] + [str(a) for a in args]

    def run(self, *args, timeout=120):
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def report(self, *args, **kw):
        self.n += 1
        path = os.path.join(self.tmp, f"report{self.n}.json")
        r = self.run("--report", path, *args, **kw)
        try:
            with open(path) as f:
                return r, json.load(f)
        except (OSError, ValueError) as e:
            raise Fail(f"no report ({e}); rc={r.returncode} stderr={r.stderr!r}")

    def gc(self):
        return subprocess.run([self.runtime, "--root", self.root, "gc"], capture_output=True, text=True,
                              timeout=120)

    def leftovers(self):
        found = []
        if os.path.isdir(self.root):
            # the cache of compiled seccomp filters stays on purpose (runtime/isolation/seccomp_cache.h)
            found += [e for e in os.listdir(self.root) if e not in ("@sandbox", "@seccomp-cache")]
            sdir = os.path.join(self.root, "@sandbox")
            if os.path.isdir(sdir):
                found += ["@sandbox/" + e for e in os.listdir(sdir)]
        with open("/proc/self/mountinfo") as f:
            found += ["mount " + l.split()[4] for l in f if self.root in l]
        parent = os.path.join(CG, "run-container")
        if os.path.isdir(parent):
            found += ["cgroup " + e for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))]
        return found

    def cleanup(self):
        self.gc()


@test
def limits_are_applied(s):
    r = s.run("-m", "64m", "--memory-swap", "96m", "--pids-limit", "20", "--cpus", "0.5", "--io-weight", "500",
              "--", "sh", "-c", "cd /sys/fs/cgroup && cat memory.max memory.swap.max pids.max cpu.max io.weight")
    check(r.returncode == 0, f"rc={r.returncode}: {r.stderr}")
    lines = r.stdout.split("\n")
    check(lines[0] == str(64 * MiB), f"memory.max {lines[0]!r}")
    check(lines[1] == str(32 * MiB), f"memory.swap.max {lines[1]!r}")
    check(lines[2] == "20", f"pids.max {lines[2]!r}")
    check(lines[3] == "50000 100000", f"cpu.max {lines[3]!r}")
    check(lines[4].startswith("default ") and lines[4] != "default 100", f"io.weight {lines[4]!r}")


@test
def oom_kill_is_reported(s):
    r, rep = s.report("-m", "32m", "--memory-swap", "32m", "--", "dd", "if=/dev/zero", "of=/dev/null",
                      "bs=100M", "count=1")
    check(r.returncode == 137, f"rc={r.returncode}: {r.stderr}")
    check(rep["reason"] == "oom-killed", f"reason {rep['reason']}")
    check(rep["signal"] == 9 and rep["exit_code"] == 137, f"signal/exit {rep}")
    check(rep["oom_kills"] >= 1, f"oom_kills {rep['oom_kills']}")
    check(0 < rep["memory_peak_bytes"] <= 33 * MiB, f"memory peak {rep['memory_peak_bytes']}")
    check(rep["usage_source"] == "cgroup", f"usage from {rep['usage_source']}")


@test
def a_child_oom_kill_is_counted_but_the_job_decides(s):
    r, rep = s.report("-m", "32m", "--memory-swap", "32m", "--", "sh", "-c",
                      "dd if=/dev/zero of=/dev/null bs=100M count=1; echo dd=$?")
    check(r.returncode == 0 and "dd=137" in r.stdout, f"rc={r.returncode} out={r.stdout!r}")
    check(rep["reason"] == "exited" and rep["oom_kills"] >= 1, f"report {rep}")


@test
def report_reads_the_cgroup(s):
    r, rep = s.report("--pids-limit", "50", "--", "sh", "-c",
                      "for i in 1 2 3 4 5; do sleep 0.3 & done; "
                      "dd if=/dev/zero of=/tmp/f bs=1M count=8 conv=fsync 2>/dev/null; "
                      "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; wait")
    check(r.returncode == 0, f"rc={r.returncode}: {r.stderr}")
    check(rep["usage_source"] == "cgroup", f"usage from {rep['usage_source']}")
    check(rep["pids_peak"] is not None and rep["pids_peak"] >= 6, f"pids_peak {rep['pids_peak']}")
    check(rep["user_cpu_us"] + rep["system_cpu_us"] > 0, f"cpu {rep}")
    check(rep["memory_peak_bytes"] > 0, f"memory peak {rep['memory_peak_bytes']}")
    check(isinstance(rep["io_read_bytes"], int) and isinstance(rep["io_write_bytes"], int), f"io {rep}")
    check(rep["oom_kills"] == 0, f"oom_kills {rep['oom_kills']}")


@test
def pids_limit_is_enforced(s):
    r, rep = s.report("--pids-limit", "5", "--", "sh", "-c",
                      "n=0; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & [ $? = 0 ] && n=$((n+1)); done; "
                      "echo started=$n; kill $(jobs -p) 2>/dev/null; true")
    check(rep["pids_peak"] is not None and rep["pids_peak"] <= 5, f"pids_peak {rep['pids_peak']}")
    check("can't fork" in r.stderr or "Resource temporarily unavailable" in r.stderr or "started=10" not in r.stdout,
          f"10 processes ran under a limit of 5: {r.stdout!r} {r.stderr!r}")


@test
def timeout_kills_through_the_cgroup(s):
    t0 = time.monotonic()
    r, rep = s.report("-m", "64m", "--timeout", "1s", "--", "sh", "-c", "sleep 100 & sleep 100 & wait")
    check(r.returncode == 137 and rep["reason"] == "timeout", f"rc={r.returncode} report={rep}")
    check(time.monotonic() - t0 < 20, "took too long")
    check(s.leftovers() == [], f"left: {s.leftovers()}")


@test
def without_limits_no_cgroup_is_needed(s):
    r, rep = s.report("--", "true")
    check(r.returncode == 0, r.stderr)
    check(s.leftovers() == [], f"left: {s.leftovers()}")


@test
def kill_minus_9_with_cgroups_then_gc(s):
    rnd = random.Random(1)
    for i in range(20):
        p = subprocess.Popen(s.argv("--no-gc", "--name", f"k9-{i}", "-m", "64m", "--pids-limit", "30", "--",
                                    "sh", "-c", "sleep 0.1"), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.15))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    r = s.gc()
    check(r.returncode == 0, f"gc: {r.stderr}")
    wait_for(lambda: s.leftovers() == [], 10, f"no leftovers ({s.leftovers()})")


@test
def stop_signals_at_random_moments_leave_nothing_without_gc(s):
    """SIGTERM or SIGINT anywhere from the exec of the binary to the job's run, with a
    cgroup (-m): before the command holds them they end the process with nothing made;
    during the setup the report says the job never started; later the job gets them.
    No gc: nothing may be left, cgroups included."""
    rnd = random.Random(2)
    seen = set()
    for i in range(24):
        sig = (signal.SIGTERM, signal.SIGINT)[i % 2]
        path = os.path.join(s.tmp, f"stop{i}.json")
        p = subprocess.Popen(s.argv("--no-gc", "--name", f"stop-{i}", "--report", path, "-m", "64m",
                                    "--stop-timeout", "1", "--", "sleep", "5"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0, 0.12))
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        if p.returncode == -sig:  # before `sandbox` held the signal: nothing was made
            check(not os.path.exists(path), f"a report from a process killed by {sig}")
            seen.add("before")
        else:
            with open(path) as f:
                rep = json.load(f)
            check(rep["reason"] == "signaled" and rep["stop_signal"] == sig, f"report {rep}")
            # the job gets the signal (128+sig) or, when it came before the init could take
            # it, the stop timeout's SIGKILL
            check(p.returncode == rep["exit_code"] and p.returncode in (128 + sig, 128 + signal.SIGKILL),
                  f"rc {p.returncode}, report {rep}, stderr {err!r}")
            seen.add("started" if rep["job_started"] else "setup")
        check(s.leftovers() == [], f"left after sandbox {i} ({sig}): {s.leftovers()}")
    print(f"# points reached: {sorted(seen)}")


def main():
    return run("sandbox suite", __doc__, test.tests, Suite, lambda s: s.leftovers())


if __name__ == "__main__":
    sys.exit(main())
