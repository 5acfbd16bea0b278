#!/usr/bin/python3
"""`run` of busybox's /bin/true: run-container against crun and the kernel's floor.

Usage: tests/bench/bench_run.py [-n PAIRS] [-b RUN_CONTAINER] [--seccomp] [--against BASELINE]
                                [--config runc-spec|podman-default|ctr-oci-spec]  (as root)

Each round runs, in this order: run-container `run`, crun `run` (without a cgroup
manager), and the floor: util-linux `unshare` with the same namespaces (mount, pid, ipc,
uts, net), chroot into the same rootfs (`--root`) and exec of /bin/true. By default the
bundle is rootfs-examples/make-bundle.sh's small smoke-test config (no /sys/fs/cgroup,
no terminal, no seccomp: not what engines send; see --config). Prints the
medians of wall and CPU time and the medians of the paired ratios. A benchmark, not a
test: it fails only if a container does.

--config NAME: the bundle's config is tests/integration/configs/NAME.json, exactly as the
tool wrote it (`runc spec`, podman 4.3's default container, containerd's `ctr oci spec`),
with /bin/true as the process and the host-specific paths rewritten as
tests/integration/test_configs_corpus.py does; a config with a terminal runs with a
--console-socket. The floor gets the config's namespaces.

--seccomp: both runtimes get the seccomp profile of `run-container spec` (the default
profile engines pass; run-container keeps the compiled filter in its state root, crun
compiles it each time); the floor has none.

--against BASELINE: one more candidate, another run-container binary (a build of the tree
before a change, say), with a state root of its own; prints run-container/baseline, the
A B figure of a change.
"""
import json
import subprocess
import sys

import benchlib as B


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 30)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    unshare = B.find_binary("unshare", "unshare (util-linux)")
    B.enter_private_mount_ns()
    work = B.Workdir("run")
    rts = []
    try:
        rootfs = B.make_rootfs(work)
        edit = None
        config = B.str_arg(argv, "--config")
        if config is not None and "--seccomp" in argv:
            B.die("--seccomp and --config: the corpus config's own profile (if any) is used")
        if "--seccomp" in argv:
            subprocess.run([rc_bin, "spec", "--bundle", work.path], check=True)
            with open(f"{work.path}/config.json") as f:
                spec = json.load(f)

            def edit(cfg):
                cfg["linux"]["seccomp"] = spec["linux"]["seccomp"]
        bundle, cfg = B.config_bundle(work, rootfs, config, ["/bin/true"], edit)
        rts = B.runtimes(work, rc_bin)
        baseline = B.baseline_runtime(work, argv)
        if baseline is not None:
            rts.append(baseline)
        floor = B.floor_argv(unshare, cfg, rootfs if config else f"{bundle}/rootfs", ["/bin/true"])

        def run(rt):
            return lambda r: B.measure_with_console(work, cfg, lambda c: rt.argv("run", *c, "--bundle", bundle, f"b{r}"))

        cands = [(rt.name, run(rt)) for rt in rts] + [("unshare floor", lambda r: B.measure(floor))]
        res = B.alternate(cands, pairs, warmup=2)
        what = f"config {config}" if config else "make-bundle.sh's config"
        print(f"run of /bin/true, {what}{' with the default seccomp profile' if edit else ''}; "
              f"{B.machine()}; {rts[1].version()}")
        B.note("config", config or "make-bundle.sh")
        B.note("crun", rts[1].version())
        ratios = [("run-container", "crun"), ("run-container", "unshare floor"), ("crun", "unshare floor")]
        if baseline is not None:
            ratios.append(("run-container", "baseline"))
        B.report("wall time", res, ratios)
        B.report("CPU time (user+system, children included)", res, ratios, metric="cpu_ms")
    except B.Failed as e:
        B.die(str(e))
    finally:
        for rt in rts:
            rt.cleanup()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
