#!/usr/bin/python3
"""The cgroup figures, run inside the tests/vm guest (pure cgroup v2) by bench_vm.sh.

Usage (in the guest): bench_vm_guest.py WORKDIR RUN_CONTAINER [PAIRS]

1. `run` of /bin/true with a cgroup and a memory limit (64 MiB): run-container, crun
   and runc, taking turns A B C, PAIRS rounds after a warm-up; medians and the medians of
   the paired ratios.
2. /bin/true under memory.max = 512 KiB: each runtime tries five times; prints how many
   runs succeeded and the first error.
3. `sandbox` cold start with a cgroup (the same 64 MiB limit), an overlay root and the
   default seccomp profile, without and with a bridge network of run-container's own,
   against run-container's plain `run` with that limit, A B C, PAIRS rounds.
WORKDIR holds the busybox rootfs that bench_vm.sh built on the host; it is copied to the
guest's tmpfs first (read through the host's 9p share, every exec re-reads the binary).
"""
import os
import subprocess
import sys

import benchlib as B


def limit(nbytes):
    def edit(cfg):
        cfg["linux"]["resources"] = {"memory": {"limit": nbytes}}

    return edit


def main():
    if len(sys.argv) < 3:
        B.die("usage: bench_vm_guest.py WORKDIR RUN_CONTAINER [PAIRS]")
    workdir, rc_bin = sys.argv[1], sys.argv[2]
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    B.enter_private_mount_ns(net=True)  # bridges, veths and nft tables vanish with it
    work = B.Workdir("vm")
    rts = []
    try:
        # the guest's own tmpfs, not the host's 9p share: through 9p every exec re-read the
        # binary (and an overlay over it even more), which no real host does
        rootfs = os.path.join(work.path, "rootfs")
        subprocess.run(["cp", "-a", os.path.join(workdir, "rootfs"), rootfs], check=True)
        bundle = B.make_bundle(work, rootfs, "bundle", ["/bin/true"], limit(64 << 20))
        tiny = B.make_bundle(work, rootfs, "tiny", ["/bin/true"], limit(512 << 10))
        rts = B.runtimes(work, rc_bin, cgroups=True)
        rts.append(B.Runtime("runc", B.find_binary("runc", "runc"), work.root("runc")))

        def run(rt, b):
            return lambda r: B.measure(rt.argv("run", "--bundle", b, f"v{r}"))

        print(f"in the VM: {B.machine()}; {rts[1].version()}; {rts[2].version()}", flush=True)
        res = B.alternate([(rt.name, run(rt, bundle)) for rt in rts], pairs)
        ratios = [("run-container", "crun"), ("run-container", "runc"), ("crun", "runc")]
        B.report("run of /bin/true, memory limit 64 MiB", res, ratios)
        B.report("run of /bin/true, memory limit 64 MiB", res, ratios, metric="cpu_ms")
        print("run of /bin/true under memory.max = 512 KiB:")
        for rt in rts:
            ok, first_err = 0, ""
            for i in range(5):
                try:
                    B.measure(rt.argv("run", "--bundle", tiny, f"tiny{i}"))
                    ok += 1
                except B.Failed as e:
                    first_err = first_err or str(e).splitlines()[-1][-200:]
                    rt.cleanup()
            print(f"  {rt.name}: {ok}/5 succeeded" + (f"; first error: {first_err}" if first_err else ""))

        rc = B.Runtime("run-container", rts[0].binary, work.root("sandbox"), ["--network-root", work.root("network")])
        B.run_quiet(rc.argv("network", "create", "bench"))
        sandbox = rc.argv("sandbox", "--rootfs", rootfs, "-m", "64m")
        cands = [
            ("run", lambda r: B.measure(rc.argv("run", "--bundle", bundle, f"s{r}"))),
            ("sandbox", lambda r: B.measure(sandbox + ["--", "/bin/true"])),
            ("sandbox --net", lambda r: B.measure(sandbox + ["--net", "bench", "--", "/bin/true"])),
        ]
        res = B.alternate(cands, pairs, warmup=2)
        ratios = [("sandbox", "run"), ("sandbox --net", "run")]
        B.report("sandbox cold start (cgroup, 64 MiB limit), against run with that limit", res, ratios)
        B.report("sandbox cold start (cgroup, 64 MiB limit), against run with that limit", res, ratios,
                 metric="cpu_ms")
    except B.Failed as e:
        B.die(str(e))
    finally:
        for rt in rts:
            rt.cleanup()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
