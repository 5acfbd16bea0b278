#!/usr/bin/python3
"""Attaching a container to a bridge network (veth pair with its peer in the container's
network namespace, an address, a default route), run-container against Debian's CNI
bridge plugin doing the same attach (package containernetworking-plugins; host-local IPAM).

Usage: tests/bench/bench_network.py [-n PAIRS] [-c ATTACHED] [-b RUN_CONTAINER]   (as root)
  -n PAIRS     timed rounds after one warm-up round (default 20)
  -c ATTACHED  also time the rounds again with ATTACHED containers running on the network
               and ATTACHED CNI attachments in place: the (ATTACHED+1)th attach against
               the 1st (default 0: only the empty rounds)

Candidates, in turn (A B C A B C ... after an untimed warm-up round):
  rc create+net  `run-container create` of a busybox `sleep 30` bundle (pid, network, ipc,
                 uts and mount namespaces) annotated "run-container.network": "default"
                 (10.90.0.0/24 on bridge rc0): the whole command, IPAM included;
                 `delete --force` afterwards, untimed.
  rc create      the same bundle without the annotation, same namespaces; delete untimed.
  CNI ADD        one exec of /usr/lib/cni/bridge (CNI_COMMAND=ADD, the config on stdin:
                 bridge cni0, isGateway, no ipMasq, host-local IPAM on 10.99.0.0/24, a
                 route 0.0.0.0/0) into a fresh network namespace held by an
                 `unshare --net sleep infinity` started before the timing, as an engine
                 calls it; DEL and the end of the holder afterwards, untimed.

run-container's attach is the paired difference (create+net - create) of each round; its
figure against CNI is the median over the rounds of that difference divided by the
round's CNI ADD (ratio of the medians in parentheses). Wall time is the figure; CPU time
(user + system of the process and the children it reaped: the plugin's host-local) is
printed too. run-container also writes /etc/hosts and /etc/resolv.conf for the container
in its attach; the plugin does not.

With -c the empty rounds come first, then the network is filled and the same rounds are
timed again: full/empty of run-container's attach (and of CNI ADD) should stay near 1.
The two sets of rounds are not paired with each other (one after the other).

Everything runs in a private mount namespace and a new network namespace of its own
(bridges, veths and nft table vanish with it); run-container's state and network roots
and the plugin's IPAM dataDir are on the work directory's tmpfs. A benchmark, not a test.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import benchlib as B

CNI_DIR = "/usr/lib/cni"
CNI_SUBNET = "10.99.0.0/24"  # run-container's default network is 10.90.0.0/24


class Cni:
    """The CNI bridge plugin with host-local IPAM, and the network namespaces it attaches
    to, each held by a `sleep` this script started (ended by PID)."""

    def __init__(self, work):
        self.plugin = B.find_binary(os.path.join(CNI_DIR, "bridge"),
                                    "CNI bridge plugin (apt-get install containernetworking-plugins)")
        B.find_binary(os.path.join(CNI_DIR, "host-local"), "CNI host-local plugin")
        self.conf = os.path.join(work.path, "cni.json")
        with open(self.conf, "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "bridge": "cni0",
                       "isGateway": True, "ipMasq": False,
                       "ipam": {"type": "host-local", "subnet": CNI_SUBNET, "dataDir": work.root("cni-ipam"),
                                "routes": [{"dst": "0.0.0.0/0"}]}}, f)
        self.holders = {}  # container id -> (Popen of the holder, added)

    def hold(self, cid):
        """A new network namespace held by `unshare --net sleep infinity`."""
        p = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.holders[cid] = (p, False)
        own = os.readlink("/proc/self/ns/net")
        while True:
            try:
                if os.readlink(f"/proc/{p.pid}/ns/net") != own:
                    return
            except OSError:
                pass
            if p.poll() is not None:
                raise B.Failed(f"unshare --net sleep infinity exited with {p.returncode}")
            time.sleep(0.001)

    def env(self, cmd, cid):
        p, _ = self.holders[cid]
        return dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_NETNS=f"/proc/{p.pid}/ns/net",
                    CNI_IFNAME="eth0", CNI_PATH=CNI_DIR)

    def exec(self, cmd, cid):
        """One exec of the plugin, timed like B.measure, but with the config on stdin and
        its environment; stdout and stderr kept for errors (a plugin reports them as
        JSON on stdout)."""
        argv = [self.plugin]
        env = self.env(cmd, cid)
        fd = os.open(self.conf, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with tempfile.TemporaryFile(prefix="rc-bench-err-") as out:
                actions = [(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                           (os.POSIX_SPAWN_DUP2, out.fileno(), 2)]
                t0 = time.perf_counter_ns()
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
                _, status, ru = os.wait4(pid, 0)
                t1 = time.perf_counter_ns()
                code = os.waitstatus_to_exitcode(status)
                if code != 0:
                    out.seek(0)
                    msg = out.read().decode(errors="replace").strip()
                    raise B.Failed(f"CNI_COMMAND={cmd} CNI_CONTAINERID={cid} {self.plugin} exited with {code}: {msg}")
        finally:
            os.close(fd)
        if cmd == "ADD":
            self.holders[cid] = (self.holders[cid][0], True)
        return B.Sample((t1 - t0) / 1e6, (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_maxrss)

    def release(self, cid):
        """DEL (if added), then the end of the holder, by its PID."""
        p, added = self.holders[cid]
        try:
            if added:
                self.exec("DEL", cid)
        finally:
            del self.holders[cid]
            p.kill()
            p.wait()

    def add_timed(self, cid):
        self.hold(cid)
        try:
            return self.exec("ADD", cid)
        finally:
            self.release(cid)

    def cleanup(self):
        for cid in list(self.holders):
            try:
                self.release(cid)
            except B.Failed as e:
                print(f"cleanup: {e}", file=sys.stderr)


def ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rc_timed(rc, bundle, cid):
    try:
        return B.measure(rc.argv("create", "--bundle", bundle, cid))
    finally:
        B.run_quiet(rc.argv("delete", "--force", cid), check=False)


def check_attached(pid, who):
    """eth0 with an IPv4 address and a default route in the network namespace of pid."""
    addr = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-4", "-o", "addr", "show", "dev", "eth0"],
                          capture_output=True, text=True).stdout
    route = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-4", "route", "show", "default"],
                           capture_output=True, text=True).stdout
    if " inet " not in addr or "default via" not in route or "dev eth0" not in route:
        raise B.Failed(f"{who}: no eth0 with an address and a default route: {addr!r} {route!r}")
    return addr.split()[3]


def verify(rc, cni, net_bundle):
    """One attach of each, untimed, checked from inside (also a warm-up: bridges, nft
    table, IPAM directories)."""
    B.run_quiet(rc.argv("create", "--bundle", net_bundle, "check"))
    try:
        st = json.loads(subprocess.run(rc.argv("state", "check"), capture_output=True, text=True,
                                       check=True).stdout)
        rc_addr = check_attached(st["pid"], "run-container")
    finally:
        B.run_quiet(rc.argv("delete", "--force", "check"), check=False)
    cni.hold("check")
    try:
        cni.exec("ADD", "check")
        cni_addr = check_attached(cni.holders["check"][0].pid, "CNI bridge")
    finally:
        cni.release("check")
    print(f"  checked once: run-container gave eth0 {rc_addr}, the CNI plugin eth0 {cni_addr}, "
          f"each with a default route")


def rounds(rc, cni, net_bundle, plain_bundle, pairs, tag):
    cands = [
        ("rc create+net", lambda r: rc_timed(rc, net_bundle, f"{tag}net{r}")),
        ("rc create", lambda r: rc_timed(rc, plain_bundle, f"{tag}plain{r}")),
        ("CNI ADD", lambda r: cni.add_timed(f"{tag}cni{r}")),
    ]
    return B.alternate(cands, pairs)


def attach_figures(res, metric):
    """Per round: run-container's attach (create+net - create) and the CNI ADD."""
    net = [getattr(s, metric) for s in res["rc create+net"]]
    plain = [getattr(s, metric) for s in res["rc create"]]
    cni = [getattr(s, metric) for s in res["CNI ADD"]]
    diffs = [a - b for a, b in zip(net, plain)]
    return net, plain, cni, diffs


def summary(res, metric, what, headline):
    net, plain, cni, diffs = attach_figures(res, metric)
    ratios = [d / c for d, c in zip(diffs, cni) if c > 0]
    d_med = B.median(diffs)
    of_medians = (B.median(net) - B.median(plain)) / B.median(cni)
    print(f"  run-container attach (create+net - create, median of paired differences): "
          f"{d_med:.2f} ms (min {min(diffs):.2f}, max {max(diffs):.2f})")
    print(f"  CNI ADD median {B.median(cni):.2f} ms")
    target = " (target <= 0.2)" if metric == "wall_ms" else ""
    print(f"  {headline}: run-container/CNI = {B.median(ratios):.2f}{target}")
    print(f"    ({what}: median of the paired ratios (create+net - create) / CNI ADD; "
          f"ratio of the medians {of_medians:.2f})")
    return d_med, B.median(cni)


def report_phase(title, res):
    print(title)
    B.report("  wall time", res, [("rc create+net", "rc create")])
    wall = summary(res, "wall_ms", "wall", "attach")
    B.report("  CPU time (user+system, reaped children included)", res, [("rc create+net", "rc create")],
             metric="cpu_ms")
    cpu = summary(res, "cpu_ms", "CPU", "attach CPU")
    return wall, cpu


def fill(rc, cni, bundle, count):
    for i in range(count):
        cid = f"bg{i}"
        B.run_quiet(rc.argv("run", "--detach", "--bundle", bundle, cid))
        cni.hold(cid)
        cni.exec("ADD", cid)


def rc_cleanup(rc):
    """delete --force of every container in the state root (listed by run-container, and
    by the directory should list fail); says which ones are left."""
    ids = {d for d in os.listdir(rc.root) if not d.startswith(".")}
    try:
        ids |= set(subprocess.run(rc.argv("list", "-q"), capture_output=True, text=True).stdout.split())
    except OSError:
        pass
    left = []
    for cid in sorted(ids):
        if not os.path.isdir(os.path.join(rc.root, cid)):
            continue
        try:
            B.run_quiet(rc.argv("delete", "--force", cid))
        except (OSError, B.Failed) as e:
            left.append(f"{cid} ({e})")
    if left:
        print(f"cleanup: containers not deleted: {', '.join(left)}", file=sys.stderr)


def quotient(a, b):
    return f"{a / b:.2f}" if b > 0 else "n/a"


def on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main():
    argv = B.start(__doc__)
    pairs = B.int_arg(argv, "-n", 20)
    attached = B.int_arg(argv, "-c", 0)
    if pairs < 1 or attached < 0 or attached > 200:
        B.die("-n needs 1 or more, -c 0 to 200 (the /24 subnets)")
    rc_bin = B.run_container_binary(B.str_arg(argv, "-b"))
    B.find_binary(os.path.join(CNI_DIR, "bridge"), "CNI bridge plugin (apt-get install containernetworking-plugins)")
    B.enter_private_mount_ns(net=True)
    signal.signal(signal.SIGTERM, on_sigterm)
    work = B.Workdir("network")
    rc = None
    cni = None
    try:
        rootfs = B.make_rootfs(work)

        def with_net(cfg):
            cfg.setdefault("annotations", {})["run-container.network"] = "default"

        net_bundle = B.make_bundle(work, rootfs, "net", ["sleep", "30"], with_net)
        plain_bundle = B.make_bundle(work, rootfs, "plain", ["sleep", "30"])
        for b in (net_bundle, plain_bundle):
            with open(os.path.join(b, "config.json")) as f:
                if not any(ns.get("type") == "network" and "path" not in ns
                           for ns in json.load(f)["linux"]["namespaces"]):
                    B.die(f"{b}: no new network namespace in its config")
        # state, networks and leases on the work tmpfs: nothing in /var/lib/run-container
        rc = B.Runtime("run-container", work.install(rc_bin, "run-container"), work.root("run-container"),
                       ["--network-root", work.root("network")])
        cni = Cni(work)
        print(f"network attach, run-container against the CNI bridge plugin; {B.machine()}")
        cni_version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"],
                                     capture_output=True, text=True).stdout or "?"
        print(f"  {rc.version()}; CNI plugins in {CNI_DIR} (containernetworking-plugins {cni_version})")
        verify(rc, cni, net_bundle)
        empty = rounds(rc, cni, net_bundle, plain_bundle, pairs, "e")
        (e_wall, e_cpu) = report_phase("1st attach (nothing else on the networks)", empty)
        if attached:
            bg_bundle = B.make_bundle(work, rootfs, "bg", ["sleep", "3600"], with_net)
            fill(rc, cni, bg_bundle, attached)
            full = rounds(rc, cni, net_bundle, plain_bundle, pairs, "f")
            n = ordinal(attached + 1)
            (f_wall, f_cpu) = report_phase(f"{n} attach ({attached} containers running on the network, "
                                           f"{attached} CNI attachments in place)", full)
            print(f"{n}/1st (ratio of the medians of the two sets of rounds, not paired):")
            for i, name in ((0, "run-container attach"), (1, "CNI ADD")):
                print(f"  {name + ':':<22}wall {quotient(f_wall[i], e_wall[i])}, CPU {quotient(f_cpu[i], e_cpu[i])}"
                      f"  ({e_wall[i]:.2f} -> {f_wall[i]:.2f} ms wall, {e_cpu[i]:.2f} -> {f_cpu[i]:.2f} ms CPU)")
    except B.Failed as e:
        B.die(str(e))
    finally:
        # each step on its own: one that fails does not keep the others from running
        for step in (lambda: rc is not None and rc_cleanup(rc), lambda: cni is not None and cni.cleanup()):
            try:
                step()
            except Exception as e:  # noqa: BLE001 (cleanup goes on)
                print(f"cleanup: {e}", file=sys.stderr)
        work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
