#!/usr/bin/python3
"""Downtime of `migrate` (issue 19), run inside the tests/vm guest by bench_migrate.sh.

Usage (in the guest): bench_migrate_guest.py WORKDIR RUN_CONTAINER [PAIRS [MIB [RATE]]]

The container runs `/probe dirty MIB RATE /shared/stamps`: a working set of MIB MiB
(default 256), RATE MiB/s of it (default 8) written at a steady rate, and every
millisecond its CLOCK_MONOTONIC time appended to /shared/stamps (a bind mount). The
downtime of a candidate is the largest gap between two stamps while it moves the
container: the time the writer did not run, measured the same way for all, without
trusting any runtime's own account. Candidates, A B C D E, PAIRS rounds after a warm-up:

  migrate         run-container migrate --to OTHER_ROOT (pre-dump rounds, final dump,
                  restore); its own reported downtime is printed beside the stamps'
  post-copy       run-container migrate --post-copy --to OTHER_ROOT (the final dump
                  without the memory, the restore, then the memory through
                  `criu lazy-pages`: a writer's fault on a page not yet there is a gap too)
  lazy-parent     run-container migrate --lazy-parent --to OTHER_ROOT (pre-dump rounds
                  as migrate, then only the last round's dirty pages restored before
                  the container runs, the rest by a local `criu lazy-pages` from the
                  folded images: a fault on a page not yet there is a gap too)
  stop-and-copy   run-container checkpoint, then restore --detach, same root
  runc            runc checkpoint, then restore -d (runc 1.1.5)

crun 1.8.1 of Debian is built without CRIU: its checkpoint of the same container is
tried once and its message printed. The containers' stdio is /dev/null (CRIU cannot dump
a console the container does not see). WORKDIR holds the busybox rootfs with /probe.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import benchlib as B

SETTLE_S = 2.0  # of steady writing before the move
KEEP_LOGS = None  # WORKDIR/logs when bench_migrate.sh -k asks for them


class Move:
    """One move: the stamps' largest gap, the command's wall time, migrate's own figure,
    CRIU's own statistics of the final dump and the restore (ms)."""

    def __init__(self, downtime_ms, total_ms, reported_ms=None, rounds=None, stats=None):
        self.downtime_ms = downtime_ms
        self.total_ms = total_ms
        self.reported_ms = reported_ms
        self.rounds = rounds or []
        self.stats = stats or {}

    def line(self):
        st = ", ".join(f"{k} {v}" for k, v in self.stats.items())
        rep = f", reported {self.reported_ms} ms" if self.reported_ms is not None else ""
        return f"stamps gap {self.downtime_ms:.0f} ms, total {self.total_ms:.0f} ms{rep}; CRIU: {st}"


def keep_logs(imgdir, tag):
    """CRIU's logs of a move, into WORKDIR/logs (bench_migrate.sh -k DIR keeps them)."""
    if KEEP_LOGS is None:
        return
    os.makedirs(KEEP_LOGS, exist_ok=True)
    for root, _, files in os.walk(imgdir):
        for f in files:
            if f.endswith(".log"):
                rel = os.path.relpath(os.path.join(root, f), imgdir).replace("/", "-")
                shutil.copy(os.path.join(root, f), os.path.join(KEEP_LOGS, f"{tag}-{rel}"))


def criu_stats(imgdir):
    """CRIU's stats-dump and stats-restore of an image directory (crit), times in ms."""
    out = {}
    for name in ("stats-dump", "stats-restore"):
        path = os.path.join(imgdir, name)
        if not os.path.exists(path):
            continue
        r = subprocess.run(["crit", "decode", "-i", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            entry = json.loads(r.stdout)["entries"][0]
        except (ValueError, KeyError, IndexError):
            continue
        for kind in ("dump", "restore"):
            for k, v in entry.get(kind, {}).items():
                out[k] = round(v / 1000) if k.endswith("_time") else v
    return out


def stamps(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    n = len(data) // 8
    return struct.unpack(f"{n}Q", data[: n * 8])


def wait_stamps(path, after_ns, timeout=600):
    """Until the writer has stamped a time later than after_ns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = stamps(path)
        if s and s[-1] > after_ns:
            return s
        time.sleep(0.1)
    raise B.Failed(f"the writer stamped nothing after {after_ns} in {timeout} s")


def run(argv, capture=False, stdio_null=False):
    """argv's stdout (capture) or nothing. Both into files: a detached or restored
    container keeps the stdio it was given (a pipe would never see its end). stdio_null:
    all of it /dev/null (a container's start: what CRIU can dump for every runtime)."""
    with tempfile.TemporaryFile("w+") as outf, tempfile.TemporaryFile("w+") as errf:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=outf if capture else subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL if stdio_null else errf, timeout=1800)
        if r.returncode != 0:
            errf.seek(0)
            raise B.Failed(f"`{' '.join(argv)}` exited {r.returncode}: {errf.read().strip()[-400:]}")
        outf.seek(0)
        return outf.read()


class Bench:
    def __init__(self, work, bundle, stamp_path, rc, runc):
        self.work, self.bundle, self.stamp_path = work, bundle, stamp_path
        self.rc, self.runc = rc, runc
        self.dest = work.root("dest")

    def start(self, rt, cid):
        try:
            os.unlink(self.stamp_path)
        except FileNotFoundError:
            pass
        run(rt.argv("run", "-d" if rt.name == "runc" else "--detach", "--bundle", self.bundle, cid), stdio_null=True)
        # the whole working set is touched before the first stamp; then a steady rate
        first = wait_stamps(self.stamp_path, 0)
        wait_stamps(self.stamp_path, first[0] + int(SETTLE_S * 1e9))

    def downtime(self, t0):
        """The largest gap between stamps since t0 (and the three largest, with when they
        began after t0, printed: a pre-dump's freeze is a gap too)."""
        s = [x for x in wait_stamps(self.stamp_path, time.monotonic_ns() + 200_000_000) if x >= t0 - 10_000_000]
        gaps = sorted(((b - a, a - t0) for a, b in zip(s, s[1:])), reverse=True)
        print("    gaps: " + ", ".join(f"{g / 1e6:.0f} ms at +{at / 1e6:.0f} ms" for g, at in gaps[:3]), flush=True)
        # in time order: a post-copy move's freeze (until the restored writer's first stamp)
        # and its catch-up through userfaults (until the stamp after it) are two gaps
        over = sorted((at, g) for g, at in gaps if g >= 100_000_000)[:8]
        print("    gaps over 100 ms in time order: " + ", ".join(f"+{at / 1e6:.0f}: {g / 1e6:.0f} ms" for at, g in over),
              flush=True)
        return gaps[0][0] / 1e6

    def image(self, cid):
        return os.path.join(self.work.path, f"img-{cid}")

    def migrate(self, r, post_copy=False, lazy_parent=False):
        cid = f"{'p' if post_copy else 'h' if lazy_parent else 'm'}{r}"
        opt = ["--post-copy"] if post_copy else ["--lazy-parent"] if lazy_parent else []
        self.start(self.rc, cid)
        wp = self.image(cid)  # kept (--work-path) for CRIU's statistics of the final dump
        t0 = time.monotonic_ns()
        out = run(self.rc.argv("migrate", *opt, "--to", self.dest, "--work-path",
                               wp, cid), capture=True)
        total = (time.monotonic_ns() - t0) / 1e6
        m = re.search(r"^downtime: (\d+) ms", out, re.M)
        rounds = [line for line in out.splitlines() if line.startswith("round ")]
        mv = Move(self.downtime(t0), total, int(m.group(1)) if m else None, rounds,
                  criu_stats(os.path.join(wp, "final")))
        run([self.rc.binary, "--root", self.dest, "delete", "--force", cid])
        keep_logs(wp, cid)
        shutil.rmtree(wp)
        print(f"  migrate{''.join(' ' + o for o in opt)} {cid}: {mv.line()}; {'; '.join(rounds)}", flush=True)
        return mv

    def stop_and_copy(self, rt, cid):
        img = self.image(cid)
        self.start(rt, cid)
        t0 = time.monotonic_ns()
        run(rt.argv("checkpoint", "--image-path", img, cid))
        run(rt.argv("restore", "-d" if rt.name == "runc" else "--detach", "--bundle", self.bundle, "--image-path",
                    img, cid))
        total = (time.monotonic_ns() - t0) / 1e6
        mv = Move(self.downtime(t0), total, stats=criu_stats(img))
        run(rt.argv("delete", "-f" if rt.name == "runc" else "--force", cid))
        keep_logs(img, cid)
        shutil.rmtree(img)
        print(f"  {rt.name} checkpoint+restore {cid}: {mv.line()}", flush=True)
        return mv


def crun_says(crun, bundle):
    """crun's checkpoint of the running container, tried once: its message."""
    cid = "crun0"
    try:
        run(crun.argv("run", "--detach", "--bundle", bundle, cid), stdio_null=True)
        r = subprocess.run(crun.argv("checkpoint", "--image-path", "/tmp/crun-img", cid), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        return f"exit {r.returncode}: {r.stdout.strip()}"
    finally:
        crun.cleanup()


def main():
    if len(sys.argv) < 3:
        B.die("usage: bench_migrate_guest.py WORKDIR RUN_CONTAINER [PAIRS [MIB [RATE]]]")
    workdir, rc_bin = sys.argv[1], sys.argv[2]
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    mib = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    rate = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    global KEEP_LOGS
    if os.environ.get("RC_BENCH_KEEP_LOGS") == "1":
        KEEP_LOGS = os.path.join(workdir, "logs")
    B.enter_private_mount_ns(net=True)
    work = B.Workdir("migrate")
    rts = []
    try:
        rootfs = os.path.join(work.path, "rootfs")
        subprocess.run(["cp", "-a", os.path.join(workdir, "rootfs"), rootfs], check=True)
        shared = os.path.join(work.path, "shared")
        os.mkdir(shared)

        def edit(cfg):
            cfg["process"]["terminal"] = False
            cfg["mounts"].append({"destination": "/shared", "type": "bind", "source": shared,
                                  "options": ["rbind", "rw"]})

        bundle = B.make_bundle(work, rootfs, "bundle", ["/probe", "dirty", str(mib), str(rate), "/shared/stamps"],
                               edit)
        rts = B.runtimes(work, rc_bin, cgroups=True)
        rc, crun = rts
        runc = B.Runtime("runc", B.find_binary("runc", "runc"), work.root("runc"))
        rts.append(runc)
        print(f"in the VM: {B.machine()}; {runc.version()}; {crun.version()}", flush=True)
        print(f"writer: {mib} MiB working set, {rate} MiB/s of it written, a stamp every ms", flush=True)
        print(f"crun checkpoint: {crun_says(crun, bundle)}", flush=True)
        b = Bench(work, bundle, os.path.join(shared, "stamps"), rc, runc)
        cands = [("migrate", b.migrate), ("post-copy", lambda r: b.migrate(r, post_copy=True)),
                 ("lazy-parent", lambda r: b.migrate(r, lazy_parent=True)),
                 ("stop-and-copy", lambda r: b.stop_and_copy(rc, f"s{r}")),
                 ("runc", lambda r: b.stop_and_copy(runc, f"r{r}"))]
        res = B.alternate(cands, pairs, warmup=1)
        ratios = [("migrate", "stop-and-copy"), ("post-copy", "stop-and-copy"), ("post-copy", "migrate"),
                  ("lazy-parent", "stop-and-copy"), ("lazy-parent", "migrate"), ("lazy-parent", "post-copy"),
                  ("migrate", "runc"), ("post-copy", "runc"), ("stop-and-copy", "runc")]
        B.note("writer", {"mib": mib, "rate_mib_s": rate})
        B.report(f"downtime (largest gap in the writer's stamps), {mib} MiB at {rate} MiB/s", res, ratios,
                 metric="downtime_ms", fmt="{:.0f}")
        B.report("total time of the move (command start to end)", res, ratios, metric="total_ms", fmt="{:.0f}")
        for name in ("migrate", "post-copy", "lazy-parent"):
            B.report(f"{name}'s own reported downtime (final dump to running) against the stamps'",
                     {"reported": [Move(m.reported_ms or 0, 0) for m in res[name]], "stamps": res[name]},
                     [("reported", "stamps")], metric="downtime_ms", fmt="{:.0f}")
    except B.Failed as e:
        B.die(str(e))
    finally:
        if rts:
            rts.append(B.Runtime("dest", rts[0].binary, work.root("dest")))
        for rt in rts:
            rt.cleanup()
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
