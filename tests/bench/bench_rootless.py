#!/usr/bin/python3
"""Rootless `run` and `sandbox` of busybox's /bin/true against rootless crun.

Usage: tests/bench/bench_rootless.py [-n PAIRS] [-b RUN_CONTAINER] [--seccomp]  (as root)

Every candidate runs as the unprivileged user of tests/integration/rootless.py (created
with its /etc/subuid and /etc/subgid ranges if missing), through the same setpriv, with a
state root of its own that the user owns: run-container `run` and crun `run` (without a
cgroup manager) of one bundle whose config is `run-container spec --rootless`'s (the
container's root is the user; the ociVersion crun 1.8.1 knows; no seccomp profile unless
--seccomp), and run-container `sandbox --rootfs` of the same rootfs (an overlay on it in
the job's own user namespace: more work than `run`). Prints the medians and the medians of
the paired ratios. A benchmark, not a test: it fails only if a container does.
"""
import json
import os
import sys

import benchlib as B

sys.path.insert(0, os.path.join(B.REPO, "tests", "integration"))
from rootless import USER_PATH, ensure_user  # noqa: E402


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 20)
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    B.enter_private_mount_ns()
    user = ensure_user()
    work = B.Workdir("rootless")
    rts = []
    try:
        os.chmod(work.path, 0o711)
        os.chmod(work.state, 0o711)
        rootfs = B.make_rootfs(work)
        rts = B.runtimes(work, rc_bin)
        for rt in rts:
            os.chown(rt.root, user.uid, user.gid)
            os.chmod(os.path.dirname(rt.binary), 0o755)
        bundle = os.path.join(work.path, "bundle")
        os.mkdir(bundle)
        os.chown(bundle, user.uid, user.gid)
        r = user.run([rts[0].binary, "spec", "--rootless", "--bundle", bundle])
        if r.returncode != 0:
            B.die(f"spec --rootless: {r.stderr.strip()}")
        path = os.path.join(bundle, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["ociVersion"] = "1.0.2"
        cfg["process"].update(terminal=False, args=["/bin/true"])
        cfg["root"] = {"path": rootfs, "readonly": True}
        if "--seccomp" not in argv:
            cfg["linux"].pop("seccomp", None)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        home = os.path.join(work.path, "home")
        os.mkdir(home, 0o700)
        os.chown(home, user.uid, user.gid)
        drop = ([B.find_binary("setpriv", "setpriv (util-linux)")] + user.setpriv()[1:] +
                ["/usr/bin/env", "-i", f"PATH={USER_PATH}", f"HOME={home}", f"XDG_RUNTIME_DIR={home}"])

        def run(rt):
            return lambda r: B.measure(drop + rt.argv("run", "--bundle", bundle, f"b{r}"))

        def sandbox(r):
            return B.measure(drop + rts[0].argv("sandbox", "--no-gc", "--rootfs", rootfs, "--", "/bin/true"))

        cands = [(rt.name, run(rt)) for rt in rts] + [("run-container sandbox", sandbox)]
        res = B.alternate(cands, pairs, warmup=2)
        seccomp = " with the default seccomp profile" if "--seccomp" in argv else ""
        print(f"rootless run of /bin/true as {user.name}{seccomp}; {B.machine()}; {rts[1].version()}")
        B.note("crun", rts[1].version())
        ratios = [("run-container", "crun"), ("run-container sandbox", "crun"),
                  ("run-container sandbox", "run-container")]
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
