#!/usr/bin/python3
"""`exec` of /bin/true into a running container: run-container against crun.

Usage: tests/bench/bench_exec.py [-n PAIRS] [-b RUN_CONTAINER] [--against BASELINE]
                                 [--config runc-spec|podman-default|ctr-oci-spec] [--detach]
                                 (as root)

Each runtime first creates and starts one container running busybox's `sleep` (with the
config of --config, see bench_run.py --help, default runc-spec; with a terminal, the pty
master is held by a --console-socket listener until the end). Then each round runs, in
this order, run-container `exec CONTAINER /bin/true` and crun's (crun without a cgroup
manager), and prints the medians of wall and CPU time and the medians of the paired
ratios. A benchmark, not a test: it fails only if a container or an exec does.

--detach: `exec --detach --pid-file FILE CONTAINER /bin/true` instead, as engines' shims
call it: the command returns once the process has executed, and /bin/true exits on its
own afterwards.

--against BASELINE: one more candidate, another run-container binary (a build of the tree
before a change, say) with a state root and a container of its own, timed in the same
rounds; prints run-container/baseline, the A B figure of a change.
"""
import os
import sys

import benchlib as B


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 30)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    config = B.str_arg(argv, "--config", "runc-spec")
    detach = "--detach" in argv
    B.enter_private_mount_ns()
    work = B.Workdir("exec")
    rts, consoles = [], []
    try:
        rootfs = B.make_rootfs(work)
        bundle, cfg = B.corpus_bundle(work, rootfs, config, ["/bin/sleep", "1000000"])
        rts = B.runtimes(work, rc_bin)
        baseline = B.baseline_runtime(work, argv)
        if baseline is not None:
            rts.append(baseline)
        for rt in rts:
            consoles.append(B.Console(work, cfg))
            B.run_quiet(rt.argv("create", *consoles[-1].args(), "--bundle", bundle, "x"))
            B.run_quiet(rt.argv("start", "x"))

        def exec_true(rt):
            if not detach:
                return lambda r: B.measure(rt.argv("exec", "x", "/bin/true"))
            pid_file = os.path.join(work.path, f"{rt.name}.pid")
            return lambda r: B.measure(rt.argv("exec", "--detach", "--pid-file", pid_file, "x", "/bin/true"))

        res = B.alternate([(rt.name, exec_true(rt)) for rt in rts], pairs, warmup=2)
        how = "exec --detach --pid-file" if detach else "exec"
        print(f"{how} of /bin/true, config {config}; {B.machine()}; {rts[1].version()}")
        B.note("config", config)
        B.note("detach", detach)
        B.note("crun", rts[1].version())
        ratios = [("run-container", "crun")]
        if baseline is not None:
            ratios += [("run-container", "baseline"), ("baseline", "crun")]
        B.report("wall time", res, ratios)
        B.report("CPU time (user+system, children included)", res, ratios, metric="cpu_ms")
    except B.Failed as e:
        B.die(str(e))
    finally:
        for rt in rts:
            rt.cleanup()
        for c in consoles:
            c.close()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
