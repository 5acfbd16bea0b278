#!/usr/bin/python3
"""`sandbox` cold start against plain `run`, both running busybox's /bin/true.

Usage: tests/bench/bench_sandbox.py [-n PAIRS] [-b RUN_CONTAINER] [--against BASELINE]   (as root)

Candidates, in turn: `run` of the bundle of bench_run.py (no seccomp, no network, the
rootfs directory itself); `sandbox --rootfs ROOTFS -- /bin/true` (a new overlay root over
the same rootfs with a tmpfs upper layer, the default seccomp profile, a journal, gc of
dead sandboxes, everything removed at the end); and the same with `--net bench`, a bridge
network made by run-container (veth pair, address from its IPAM, nft rules). Everything
runs in a network namespace of its own. Each sandbox is cold: a new container, overlay and
veth each time; what stays between them is what stays for any user (the network, the
seccomp cache in the state root). The very first sandbox of a fresh state root, which
compiles the seccomp profile, is timed once on its own and printed first.

On this host the cgroup manager is disabled (hybrid cgroups): the sandbox with a cgroup
and a memory limit is timed in tests/vm (bench_vm.sh). A benchmark, not a test.

--against BASELINE: the two sandboxes are also run with another run-container binary (a
build before a change), in the same rounds, with its own state root and networks; prints
run-container/baseline for each.
"""
import sys

import benchlib as B


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 30)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    B.enter_private_mount_ns(net=True)
    work = B.Workdir("sandbox")
    try:
        rootfs = B.make_rootfs(work)
        bundle = B.make_bundle(work, rootfs, "bundle", ["/bin/true"])
        # networks and leases in the work dir: nothing is left in /var/lib/run-container
        rc = B.Runtime("run-container", work.install(rc_bin, "run-container"), work.root("run-container"),
                       ["--network-root", work.root("network")])
        first = B.measure(rc.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))
        B.run_quiet(rc.argv("network", "create", "bench"))
        cands = [
            ("run", lambda r: B.measure(rc.argv("run", "--bundle", bundle, f"b{r}"))),
            ("sandbox", lambda r: B.measure(rc.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))),
            ("sandbox --net", lambda r: B.measure(rc.argv("sandbox", "--rootfs", rootfs, "--net", "bench", "--",
                                                           "/bin/true"))),
        ]
        ratios = [("sandbox", "run"), ("sandbox --net", "run")]
        bl = B.baseline_runtime(work, argv, ["--network-root", work.root("baseline-network")])
        if bl is not None:
            B.run_quiet(bl.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))  # its seccomp cache
            B.run_quiet(bl.argv("network", "create", "bench"))
            cands += [
                ("baseline sandbox", lambda r: B.measure(bl.argv("sandbox", "--rootfs", rootfs, "--", "/bin/true"))),
                ("baseline sandbox --net", lambda r: B.measure(bl.argv("sandbox", "--rootfs", rootfs, "--net", "bench",
                                                                       "--", "/bin/true"))),
            ]
            ratios += [("sandbox", "baseline sandbox"), ("sandbox --net", "baseline sandbox --net")]
        res = B.alternate(cands, pairs, warmup=2)
        print(f"sandbox cold start; {B.machine()}")
        print(f"first sandbox of a fresh state root (compiles the seccomp profile): "
              f"wall {first.wall_ms:.2f} ms, CPU {first.cpu_ms:.2f} ms")
        B.report("wall time", res, ratios)
        B.report("CPU time (user+system, children included)", res, ratios, metric="cpu_ms")
    except B.Failed as e:
        B.die(str(e))
    finally:
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
