#!/usr/bin/python3
"""N containers started concurrently (create then start each, all N at once), then all
deleted concurrently (`delete --force`: /bin/true may not have exited yet):
run-container against crun.

Usage: tests/bench/bench_batch.py [-c N] [-n PAIRS] [-b RUN_CONTAINER] [--against BASELINE]
                                  [--config runc-spec|podman-default|ctr-oci-spec]
                                  [--run-detach]  (as root)
  -c N      containers per batch (default 20; the issue's figures are 20 and 100)
  -n PAIRS  batches per runtime, taking turns A B A B (default 20)

A batch's time runs from spawning the first `create` to reaping the last `delete`; every
create, start and delete must succeed. The containers run busybox's /bin/true in the
bundle of bench_run.py, or with --config NAME the config real tools wrote, as
bench_run.py --config (with a terminal, every create gets the same --console-socket
listener, which keeps the pty masters until the batch is deleted); crun runs without a
cgroup manager. A benchmark, not a test. Besides the whole batch, its two halves are
reported on their own: "up" (the creates and starts) and "down" (the deletes).

--run-detach: each container comes up with one `run --detach` instead of create + start.

--against BASELINE: one more candidate, another run-container binary (a build of the tree
before a change, say) with a state root of its own, timed in the same rounds; prints
run-container/baseline, the A B figure of a change.
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
        baseline = B.baseline_runtime(work, argv)
        if baseline is not None:
            rts.append(baseline)
        run_detach = "--run-detach" in argv
        halves = {rt.name: {"up": [], "down": []} for rt in rts}

        def up_chain(rt, cid):
            if run_detach:
                return [rt.argv("run", "--detach", *sink.args(), "--bundle", bundle, cid)]
            return [rt.argv("create", *sink.args(), "--bundle", bundle, cid), rt.argv("start", cid)]

        def batch(rt):
            def fn(r):
                ids = [f"r{r}-{i}" for i in range(count)]
                up = B.measure_concurrent([up_chain(rt, cid) for cid in ids])
                down = B.measure_concurrent([[rt.argv("delete", "--force", cid)] for cid in ids])
                sink.drain()
                if r >= 0:
                    halves[rt.name]["up"].append(up)
                    halves[rt.name]["down"].append(down)
                return B.Sample(up.wall_ms + down.wall_ms, up.cpu_ms + down.cpu_ms, max(up.maxrss_kb, down.maxrss_kb))

            return fn

        res = B.alternate([(rt.name, batch(rt)) for rt in rts], pairs)
        what = f"config {config}" if config else "make-bundle.sh's config"
        how = "run --detach" if run_detach else "create+start"
        print(f"{count} concurrent {how}, then delete, {what}; {B.machine()}; {rts[1].version()}")
        B.note("config", config or "make-bundle.sh")
        B.note("run_detach", run_detach)
        B.note("crun", rts[1].version())
        ratios = [("run-container", "crun")]
        if baseline is not None:
            ratios += [("run-container", "baseline"), ("baseline", "crun")]
        B.report(f"batch of {count}", res, ratios)
        for half in ("up", "down"):
            B.report(f"batch of {count}, {half}", {n: h[half] for n, h in halves.items()}, ratios)
        B.report(f"batch of {count}", res, ratios, metric="cpu_ms")
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
