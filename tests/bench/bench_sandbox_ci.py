#!/usr/bin/python3
"""`sandbox` against bubblewrap, the two CI figures of issue 20, in the same run.

Usage: tests/bench/bench_sandbox_ci.py [start|parallel|both] [-n PAIRS] [-j JOBS] [--load L]
                                       [-b RUN_CONTAINER] [--against BASELINE]  (as root)

  start     `sandbox --rootfs ROOTFS -- /bin/true` against
            `bwrap --unshare-all --new-session --die-with-parent --ro-bind ROOTFS /
            --proc /proc --dev /dev --tmpfs /tmp -- /bin/true`, taking turns (default);
            a third candidate, "bwrap --seccomp", is that bwrap loading the sandbox's own
            BPF program (read from the runtime's filter cache) before /bin/true: the
            same work in that respect (the figure stays sandbox/bwrap).
  parallel  JOBS (default 10) jobs at once under each tool in turn, the batch timed:
            each job a small CPU-bound "build" (a busybox shell loop writing files
            under /tmp), while L busy loops (--load, default 2, 0: none) run in a
            session of their own, as other work on a CI machine would. Each job of
            either tool is in a session of its own (bwrap --new-session; the sandbox's
            init calls setsid): the kernel's autogroups then share the CPU per job,
            not per caller.
  both      the two, one after the other.

--against BASELINE: in the start figure, one more candidate, another run-container binary
(a build of the tree before a change), with a state root of its own; prints
sandbox/baseline, the A B figure of a change.

What differs and is part of the figure: the sandbox mounts an overlay root (bwrap 0.8
binds the rootfs read-only, with a tmpfs /tmp; the sandbox's /tmp is a directory of its
upper layer's tmpfs, bound there), loads the default seccomp profile (bwrap
none), makes its journal, runs gc of dead sandboxes, and its PID 1 is a small init
(bwrap's too, as root with a pid namespace). No cgroup on this hybrid host. Only wall
times are printed: wait4's usage of bwrap leaves out its sandboxed processes (for CPU,
compare `perf stat -r 30 -e task-clock` of the two commands, which counts every process).
Needs bubblewrap (apt-get install bubblewrap). A benchmark, not a test: it prints the
medians and the median of the paired ratios (tests/bench/benchlib.py).
"""
import os
import signal
import struct
import subprocess
import sys

import benchlib as B

JOB = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo $i > /tmp/f$((i % 64)); done"


def bwrap_argv(bwrap, rootfs, *args):
    return [bwrap, "--unshare-all", "--new-session", "--die-with-parent", "--ro-bind", rootfs, "/",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", *args]


def cached_filter(rc, work):
    """The BPF program of the sandbox's default profile, as its first run cached it in
    <root>/@seccomp-cache (runtime/isolation/seccomp_cache.c: magic, key length, key,
    instruction count, instructions), written to a file of its own for bwrap --seccomp."""
    d = os.path.join(rc.root, "@seccomp-cache")
    names = os.listdir(d)
    if len(names) != 1:
        raise B.Failed(f"{d}: want one cached filter, found {names}")
    with open(os.path.join(d, names[0]), "rb") as f:
        buf = f.read()
    if buf[:8] != b"RCSECC1\n":
        raise B.Failed(f"{d}/{names[0]}: not a cached filter")
    klen = struct.unpack_from("<Q", buf, 8)[0]
    n = struct.unpack_from("<Q", buf, 16 + klen)[0]
    prog = buf[24 + klen:]
    if len(prog) != n * 8:
        raise B.Failed(f"{d}/{names[0]}: {len(prog)} bytes for {n} instructions")
    path = os.path.join(work.path, "filter.bpf")
    with open(path, "wb") as f:
        f.write(prog)
    return path, n


def start_figure(rc, bwrap, rootfs, pairs, baseline, filter_path):
    cands = [
        ("sandbox", lambda r: B.measure(rc.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))),
        ("bwrap", lambda r: B.measure(bwrap_argv(bwrap, rootfs, "/bin/true"))),
        # the same security as the sandbox's default in this respect: its own BPF program
        ("bwrap --seccomp", lambda r: B.measure([bwrap, "--seccomp", "9", *bwrap_argv(bwrap, rootfs, "/bin/true")[1:]],
                                                open_fds=[(filter_path, 9)])),
    ]
    ratios = [("sandbox", "bwrap"), ("sandbox", "bwrap --seccomp"), ("bwrap --seccomp", "bwrap")]
    if baseline is not None:
        cands.append(("baseline", lambda r: B.measure(baseline.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))))
        ratios += [("baseline", "bwrap"), ("sandbox", "baseline")]
    res = B.alternate(cands, pairs, warmup=2)
    B.report("start-up, /bin/true: wall time", res, ratios)


def parallel_figure(rc, bwrap, rootfs, pairs, jobs, load):
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True) for _ in range(load)]
    try:
        cands = [
            ("sandbox", lambda r: B.measure_concurrent(
                [[rc.argv("sandbox", "--rootfs", rootfs, "--", "sh", "-c", JOB)] for _ in range(jobs)])),
            ("bwrap", lambda r: B.measure_concurrent(
                [[bwrap_argv(bwrap, rootfs, "sh", "-c", JOB)] for _ in range(jobs)])),
            # what the seccomp filter costs: every system call of the job takes the
            # kernel's slow entry path (the action cache answers the hot ones)
            ("sandbox, no seccomp", lambda r: B.measure_concurrent(
                [[rc.argv("sandbox", "--rootfs", rootfs, "--security-opt", "seccomp=unconfined",
                          "--", "sh", "-c", JOB)] for _ in range(jobs)])),
        ]
        res = B.alternate(cands, pairs, warmup=1)
    finally:
        for p in busy:
            p.send_signal(signal.SIGKILL)
            p.wait()
    B.report(f"{jobs} jobs at once, {load} busy loops beside them: batch wall time", res,
             [("sandbox", "bwrap"), ("sandbox, no seccomp", "bwrap"), ("sandbox", "sandbox, no seccomp")])


def main():
    argv = B.start(__doc__)
    what = argv[0] if argv and argv[0] in ("start", "parallel", "both") else "start"
    pairs = B.int_arg(argv, "-n", 30 if what == "start" else 8)
    jobs = B.int_arg(argv, "-j", 10)
    load = B.int_arg(argv, "--load", 2)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    bwrap = B.find_binary("bwrap", "bwrap (apt-get install bubblewrap)")
    B.enter_private_mount_ns()
    work = B.Workdir("sandbox-ci")
    try:
        rootfs = B.make_rootfs(work)
        rc = B.Runtime("run-container", work.install(rc_bin, "run-container"), work.root("run-container"))
        baseline = B.baseline_runtime(work, argv)
        for r in [rc] + ([baseline] if baseline is not None else []):
            B.run_quiet(r.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))  # its seccomp cache
        filter_path, n_insns = cached_filter(rc, work)
        print(f"sandbox against bwrap ({B.find_binary(bwrap, 'bwrap')}); {B.machine()}; "
              f"the sandbox's seccomp filter: {n_insns} BPF instructions")
        if what in ("start", "both"):
            start_figure(rc, bwrap, rootfs, pairs, baseline, filter_path)
        if what in ("parallel", "both"):
            parallel_figure(rc, bwrap, rootfs, B.int_arg(argv, "-n", 8), jobs, load)
    except B.Failed as e:
        B.die(str(e))
    finally:
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
