#!/usr/bin/python3
"""N containers started concurrently (create then start each, all N at once), then all
deleted concurrently (`delete --force`: /bin/true may not have exited yet):
run-container against crun.

Usage: tests/bench/bench_batch.py [-c N] [-n PAIRS] [-b RUN_CONTAINER]
                                  [--config runc-spec|podman-default|ctr-oci-spec]  (as root)
  -c N      containers per batch (default 20; the issue's figures are 20 and 100)
  -n PAIRS  batches per runtime, taking turns A B A B (default 20)

A batch's time runs from spawning the first `create` to reaping the last `delete`; every
create, start and delete must succeed. The containers run busybox's /bin/true in the
bundle of bench_run.py, or with --config NAME the config real tools wrote, as
bench_run.py --config (with a terminal, every create gets the same --console-socket
listener, which keeps the pty masters until the batch is deleted); crun runs without a
cgroup manager. A benchmark, not a test.
"""
import sys

import benchlib as B


def main():
    argv = B.start(__doc__)
    count = B.int_arg(argv, "-c", 20)
    pairs = B.int_arg(argv, "-n", 20)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    B.enter_private_mount_ns()
    work = B.Workdir("batch")
    rts = []
    sink = None
    try:
        rootfs = B.make_rootfs(work)
        config = B.str_arg(argv, "--config")
        bundle, cfg = B.config_bundle(work, rootfs, config, ["/bin/true"])
        sink = B.ConsoleSink(work, cfg)
        rts = B.runtimes(work, rc_bin)

        def batch(rt):
            def fn(r):
                ids = [f"r{r}-{i}" for i in range(count)]
                up = B.measure_concurrent([[rt.argv("create", *sink.args(), "--bundle", bundle, cid),
                                            rt.argv("start", cid)] for cid in ids])
                down = B.measure_concurrent([[rt.argv("delete", "--force", cid)] for cid in ids])
                sink.drain()
                return B.Sample(up.wall_ms + down.wall_ms, up.cpu_ms + down.cpu_ms, max(up.maxrss_kb, down.maxrss_kb))

            return fn

        res = B.alternate([(rt.name, batch(rt)) for rt in rts], pairs)
        what = f"config {config}" if config else "make-bundle.sh's config"
        print(f"{count} concurrent create+start, then delete, {what}; {B.machine()}; {rts[1].version()}")
        B.note("config", config or "make-bundle.sh")
        B.note("crun", rts[1].version())
        B.report(f"batch of {count}", res, [("run-container", "crun")])
        B.report(f"batch of {count}", res, [("run-container", "crun")], metric="cpu_ms")
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
