#!/usr/bin/python3
"""Peak resident memory of the runtime during `run` of /bin/true: run-container
against crun.

Usage: tests/bench/bench_rss.py [-n PAIRS] [-b RUN_CONTAINER]
                                [--config runc-spec|podman-default|ctr-oci-spec]  (as root)

The figure is what `/usr/bin/time -f %M` prints (wait4's ru_maxrss): the largest
resident set of the runtime process and of the processes it reaped (the container init
before and after its exec of busybox). /bin/true alone shows about 1 MiB this way. Same bundle as bench_run.py; the
two take turns, A B A B. --config NAME: the config real tools wrote, as bench_run.py
--config (a config with a terminal runs with a --console-socket). A benchmark, not a test.
"""
import sys

import benchlib as B


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 20)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    B.enter_private_mount_ns()
    work = B.Workdir("rss")
    rts = []
    try:
        rootfs = B.make_rootfs(work)
        config = B.str_arg(argv, "--config")
        bundle, cfg = B.config_bundle(work, rootfs, config, ["/bin/true"])
        rts = B.runtimes(work, rc_bin)

        def run(rt):
            return lambda r: B.measure_with_console(work, cfg, lambda c: rt.argv("run", *c, "--bundle", bundle, f"m{r}"),
                                                    B.measure_rss)

        B.find_binary("/usr/bin/time", "GNU time (apt-get install time)")
        res = B.alternate([(rt.name, run(rt)) for rt in rts], pairs)
        floor = B.measure_rss(["/bin/true"]).maxrss_kb
        what = f"config {config}" if config else "make-bundle.sh's config"
        print(f"peak RSS during run of /bin/true, {what}; {B.machine()}; {rts[1].version()}")
        B.note("config", config or "make-bundle.sh")
        B.note("crun", rts[1].version())
        B.report("peak RSS", res, [("run-container", "crun")], metric="maxrss_kb", unit="KiB", fmt="{:.0f}")
        print(f"  (/bin/true alone measured the same way: {floor} KiB)")
    except B.Failed as e:
        B.die(str(e))
    finally:
        for rt in rts:
            rt.cleanup()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
