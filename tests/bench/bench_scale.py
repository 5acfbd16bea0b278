#!/usr/bin/python3
"""The 101st container against the 1st: the cost of operations with 100 containers
already running, against the same operations with none.

Usage: tests/bench/bench_scale.py [-c RUNNING] [-n PAIRS] [-b RUN_CONTAINER]
                                  [--config runc-spec|podman-default|ctr-oci-spec]  (as root)
  -c RUNNING  containers left running in the full root (default 100)
  --config    the config of every container (see bench_run.py --help; default
              make-bundle.sh's); with a terminal, one --console-socket listener holds
              the pty masters of the running ones

Two state roots per runtime: an empty one and a full one holding RUNNING detached
containers (busybox `sleep`). Each round times, in the empty root then in the full root:
`list`, `state` of one container, `exec` of /bin/true in it, and `run` of /bin/true
(create, start, wait, delete: the 1st against the 101st container). The ratio full/empty stays near 1 when no cost
grows with the number of containers. run-container is measured, and crun the same way
for reference (without a cgroup manager). A benchmark, not a test.
"""
import sys

import benchlib as B


def ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fill(rt, bundle, count, sink):
    for i in range(count):
        B.run_quiet(rt.argv("run", "--detach", *sink.args(), "--bundle", bundle, f"bg{i}"))


def main():
    argv = B.start(__doc__)
    running = B.int_arg(argv, "-c", 100)
    pairs = B.int_arg(argv, "-n", 20)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    crun_bin = B.find_binary("crun", "crun (apt-get install crun)")
    B.enter_private_mount_ns()
    work = B.Workdir("scale")
    config = B.str_arg(argv, "--config")
    rts = []
    sink = None
    try:
        rootfs = B.make_rootfs(work)
        if config is None:
            bundle = B.make_bundle(work, rootfs, "bundle", ["/bin/true"])
            sleeper = B.make_bundle(work, rootfs, "sleeper", ["sleep", "3600"])
            cfg = {"process": {}}
        else:
            sleeper, cfg = B.corpus_bundle(work, rootfs, config, ["/bin/sleep", "3600"])
            bundle = B.corpus_bundle(work, rootfs, config, ["/bin/true"], dirname=f"{config}-true")[0]
        B.note("config", config or "make-bundle.sh")
        sink = B.ConsoleSink(work, cfg)
        rc_bin = work.install(rc_bin, "run-container")
        for name, binary, opts in (("run-container", rc_bin, []), ("crun", crun_bin, ["--cgroup-manager=disabled"])):
            empty = B.Runtime(name, binary, work.root(f"{name}-empty"), opts)
            full = B.Runtime(name, binary, work.root(f"{name}-full"), opts)
            rts += [empty, full]
            fill(full, sleeper, running, sink)
            fill(empty, sleeper, 1, sink)
            ops = {
                "list": lambda rt, r: B.measure(rt.argv("list")),
                "state": lambda rt, r: B.measure(rt.argv("state", "bg0")),
                "exec": lambda rt, r: B.measure(rt.argv("exec", "bg0", "/bin/true")),
                "run": lambda rt, r: B.measure_with_console(
                    work, cfg, lambda c, rt=rt: rt.argv("run", *c, "--bundle", bundle, f"t{r}")),
            }
            print(f"{name}: {running} running against 1, config {config or 'make-bundle.sh'}; {B.machine()}")
            for op, fn in ops.items():
                cands = [("1st", lambda r, fn=fn: fn(empty, r)), (ordinal(running + 1), lambda r, fn=fn: fn(full, r))]
                res = B.alternate(cands, pairs)
                B.report(f"  {name} {op}", res, [(ordinal(running + 1), "1st")])
                B.report(f"  {name} {op}", res, [(ordinal(running + 1), "1st")], metric="cpu_ms")
                B.tag_figures(2, runtime=name, op=op)
    except B.Failed as e:
        B.die(str(e))
    finally:
        for rt in rts:
            rt.cleanup()
        if sink is not None:
            sink.close()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
