#!/usr/bin/python3
"""The cgroup figures, run inside the tests/vm guest (pure cgroup v2) by bench_vm.sh.

Usage (in the guest): bench_vm_guest.py WORKDIR RUN_CONTAINER [PAIRS] [--configs A,B,C|none]
                                        [--against BASELINE] [--no-example] [--json PATH]

0. For each config engines send (--configs, default runc-spec, podman-default,
   ctr-oci-spec: tests/integration/configs/ rewritten as bench_run.py --config does, see
   benchlib.corpus_bundle), `run` of /bin/true with that config and a memory limit of
   64 MiB (linux.resources.memory.limit added, nothing else changed; a config with a
   terminal runs with a --console-socket): run-container, crun and runc, A B C, PAIRS
   rounds after a warm-up (runc not with a terminal: `runc run` in the foreground refuses
   --console-socket). Each runtime makes the container's cgroup (crun and runc with
   their default cgroupfs manager); podman's config mounts /sys/fs/cgroup without a cgroup
   namespace, which here (pure cgroup v2) is a cgroup2 mount for all three runtimes.
   --against BASELINE: another run-container binary (a build before a change) as one
   more candidate there (benchlib.baseline_runtime), with run-container/baseline.
1. `run` of /bin/true with make-bundle.sh's smoke-test config, a cgroup and the same
   memory limit: run-container, crun and runc, taking turns A B C, PAIRS rounds after a
   warm-up; medians and the medians of the paired ratios.
2. /bin/true under memory.max = 512 KiB: each runtime tries five times; prints how many
   runs succeeded and the first error.
3. `sandbox` cold start with a cgroup (the same 64 MiB limit), an overlay root and the
   default seccomp profile, without and with a bridge network of run-container's own,
   against run-container's plain `run` with that limit, A B C, PAIRS rounds.
1-3 are left out with --no-example. WORKDIR holds the busybox rootfs that bench_vm.sh
built on the host; it is copied to the guest's tmpfs first (read through the host's 9p
share, every exec re-reads the binary). --json PATH: the figures as JSON (benchlib's
format; those of 0 carry "config"), for figures.py.
"""
import json
import os
import subprocess
import sys

import benchlib as B


def limit(nbytes):
    def edit(cfg):
        cfg["linux"]["resources"] = {"memory": {"limit": nbytes}}

    return edit


def run_configs(work, rootfs, rts, configs, pairs, baseline=None):
    """0: `run` of each config with a 64 MiB memory limit, A B C (D: baseline)."""
    for config in configs:
        bundle, cfg = B.corpus_bundle(work, rootfs, config, ["/bin/true"])
        cfg["linux"].setdefault("resources", {})["memory"] = {"limit": 64 << 20}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)

        def run(rt, bundle=bundle, cfg=cfg, tag=config[:4]):
            return lambda r: B.measure_with_console(
                work, cfg, lambda c: rt.argv("run", *c, "--bundle", bundle, f"{tag}{r}"))

        cands = rts + ([baseline] if baseline is not None else [])
        ratios = [("run-container", "crun"), ("run-container", "runc"), ("crun", "runc")]
        if baseline is not None:
            ratios.append(("run-container", "baseline"))
        if cfg["process"].get("terminal"):
            # `runc run` in the foreground makes and relays a pty of its own from a terminal
            # on its stdin, and refuses --console-socket unless detached
            cands = [rt for rt in cands if rt.name != "runc"]
            ratios = [r for r in ratios if "runc" not in r]
            print(f"config {config}: runc left out (a terminal: `runc run` refuses --console-socket in the "
                  "foreground)")
        res = B.alternate([(rt.name, run(rt)) for rt in cands], pairs)
        title = f"run of /bin/true, config {config}, memory limit 64 MiB"
        B.report(title, res, ratios)
        B.report(title, res, ratios, metric="cpu_ms")
        B.tag_figures(2, config=config)
        sys.stdout.flush()


def main():
    args = sys.argv[1:]
    configs = B.str_arg(args, "--configs", ",".join(B.CORPUS_CONFIGS))
    json_path = B.str_arg(args, "--json")
    example = "--no-example" not in args
    for flag in ("--configs", "--json", "--against"):
        if flag in args:
            i = args.index(flag)
            del args[i:i + 2]
    args = [a for a in args if a != "--no-example"]
    if len(args) < 2:
        B.die("usage: bench_vm_guest.py WORKDIR RUN_CONTAINER [PAIRS] [--configs A,B,C|none] [--against BASELINE] "
              "[--no-example] [--json PATH]")
    workdir, rc_bin = args[0], args[1]
    pairs = int(args[2]) if len(args) > 2 else 20
    configs = [] if configs == "none" else configs.split(",")
    for c in configs:
        if c not in B.CORPUS_CONFIGS:
            B.die(f"--configs: `{c}` is not one of {', '.join(B.CORPUS_CONFIGS)}")
    B.enter_private_mount_ns(net=True)  # bridges, veths and nft tables vanish with it
    work = B.Workdir("vm")
    rts, baseline = [], None
    try:
        # the guest's own tmpfs, not the host's 9p share: through 9p every exec re-read the
        # binary (and an overlay over it even more), which no real host does
        rootfs = os.path.join(work.path, "rootfs")
        subprocess.run(["cp", "-a", os.path.join(workdir, "rootfs"), rootfs], check=True)
        bundle = B.make_bundle(work, rootfs, "bundle", ["/bin/true"], limit(64 << 20))
        tiny = B.make_bundle(work, rootfs, "tiny", ["/bin/true"], limit(512 << 10))
        rts = B.runtimes(work, rc_bin, cgroups=True)
        rts.append(B.Runtime("runc", B.find_binary("runc", "runc"), work.root("runc")))
        print(f"in the VM: {B.machine()}; {rts[1].version()}; {rts[2].version()}", flush=True)
        B.note("crun", rts[1].version())
        B.note("runc", rts[2].version())
        B.note("guest", B.machine_facts())
        baseline = B.baseline_runtime(work, sys.argv[1:])
        run_configs(work, rootfs, rts, configs, pairs, baseline)
        if not example:
            return 0

        def run(rt, b):
            return lambda r: B.measure(rt.argv("run", "--bundle", b, f"v{r}"))

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
        for rt in rts + ([baseline] if baseline is not None else []):
            rt.cleanup()
        work.cleanup()
        if json_path is not None:
            B.note("script", "bench_vm_guest.py")
            B.write_json(json_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
