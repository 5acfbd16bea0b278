#!/usr/bin/python3
"""Live migration between two "hosts" over a unix socket: runs INSIDE the tests/vm guest
(CRIU works there), started by tests/vm/vm-tests.sh.

    migrate_tests.py RUNTIME WORKDIR [TEST...]

Three machines on one LAN, each a network namespace of the guest: the client's (rcm-lan,
which holds the LAN's bridge, 10.77.0.254) and two hosts, rcm-a (10.77.0.1) and rcm-b
(10.77.0.2), each joined to the LAN by a veth. Each host has its own state root, its own
network root (so its own `default` bridge network, leases and nftables table in its own
namespace) and its own bundle with its own copy of the rootfs: nothing but the unix
socket's path is shared by the two sides (both namespaces see the guest's filesystem,
as two hosts would see a socket forwarded by ssh -L). The container serves its in-memory
count on a published port; the client reaches it through the host's address, and after
the migration through the destination host's address (the client is told the new
address, as a DNS or load-balancer update would: the port is published by the host that
runs the container, nothing moves the old host's address). Prints "ok - NAME" / "FAIL -
NAME: why" per test, then "N passed, N failed"; exits 1 if anything failed.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from vmsuite import CG, Fail, Registry, check, run, wait_for

LAN = "rcm-lan"
HOSTS = {"rcm-a": "10.77.0.1", "rcm-b": "10.77.0.2"}
PORT = 18080
# A count kept in the container's memory (a tmpfs), served by nc on 8080 (published as
# PORT): the same process after the migration serves a higher count, a restarted one
# would start from 1.
SERVER = ("i=0; nc -ll -p 8080 -e cat /dev/shm/count & "
          "while :; do i=$((i+1)); echo $i >/dev/shm/count; sleep 0.1; done")


def sh(*args, check_rc=True):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if check_rc and r.returncode != 0:
        raise Fail(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def make_lan():
    for ns in [LAN, *HOSTS]:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", LAN, "link", "add", "lan0", "type", "bridge")
    sh("ip", "-n", LAN, "addr", "add", "10.77.0.254/24", "dev", "lan0")
    sh("ip", "-n", LAN, "link", "set", "lan0", "up")
    for ns, addr in HOSTS.items():
        sh("ip", "-n", LAN, "link", "add", ns, "type", "veth", "peer", "name", "uplink", "netns", ns)
        sh("ip", "-n", LAN, "link", "set", ns, "master", "lan0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "uplink")
        sh("ip", "-n", ns, "link", "set", "uplink", "up")


def drop_lan():
    for ns in [LAN, *HOSTS]:
        sh("ip", "netns", "del", ns, check_rc=False)


def in_ns(ns):
    return ["nsenter", f"--net=/run/netns/{ns}"]


CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as c:
        c.settimeout(5)
        data = b""
        while True:
            chunk = c.recv(100)
            if not chunk:
                break
            data += chunk
    print(data.decode().strip())
except OSError as e:
    print(f"error {e}")
"""


def fetch(host):
    """What the client in the LAN gets from host:PORT: the count, or 'error ...'."""
    try:
        r = subprocess.run(in_ns(LAN) + [sys.executable, "-c", CLIENT, HOSTS[host], str(PORT)],
                           stdout=subprocess.PIPE, text=True, timeout=60)
    except subprocess.TimeoutExpired:  # a loaded guest: the client's own start is slow
        return "error: the client did not finish in 60 s"
    return r.stdout.strip()


def count_at(host):
    v = fetch(host)
    return int(v) if v.isdigit() else 0


class Host:
    """One "host": its namespace, state root, network root and bundle (with a rootfs copy)."""

    def __init__(self, suite, ns):
        self.s = suite
        self.ns = ns
        self.dir = os.path.join(suite.tmp, ns)
        self.root = os.path.join(self.dir, "state")
        self.netroot = os.path.join(self.dir, "net")
        self.bundle = os.path.join(self.dir, "bundle")
        os.makedirs(self.bundle)
        subprocess.run(["cp", "-a", suite.rootfs, os.path.join(self.bundle, "rootfs")], check=True)

    def argv(self, *args):
        return in_ns(self.ns) + [self.s.runtime, "--root", self.root, "--network-root", self.netroot,
                                 *map(str, args)]

    def rc(self, *args, check_rc=True, timeout=300, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL)
        r = subprocess.run(self.argv(*args), timeout=timeout, text=True, **kw)
        if check_rc and r.returncode != 0:
            raise Fail(f"{self.ns}: {' '.join(map(str, args))}: exit {r.returncode}: {(r.stderr or '').strip()}")
        return r

    def write_config(self, annotations=None):
        with open(os.path.join(self.s.tmp, "spec", "config.json")) as f:
            c = json.load(f)
        c["process"]["terminal"] = False
        c["process"]["args"] = ["sh", "-c", SERVER]
        c["root"] = {"path": "rootfs", "readonly": True}
        c.setdefault("annotations", {}).update(
            annotations or {"run-container.network": "default", "run-container.ports": f"{PORT}:8080/tcp"})
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(c, f)

    def state(self, cid):
        r = self.rc("state", cid, check_rc=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def leftovers(self):
        left = []
        if os.path.isdir(self.root):
            # (@seccomp-cache is the runtime's cache, no container's)
            left += [f"{self.ns} state {e}" for e in os.listdir(self.root) if e != "@seccomp-cache"]
        ipam = os.path.join(self.netroot, "ipam")
        for net in os.listdir(ipam) if os.path.isdir(ipam) else []:
            left += [f"{self.ns} lease {net}/{e}" for e in os.listdir(os.path.join(ipam, net)) if not e.startswith(".")]
        veths = sh("ip", "-n", self.ns, "-o", "link", "show", "type", "veth").stdout
        left += [f"{self.ns} veth {line.split(':')[1].strip()}" for line in veths.splitlines()
                 if not line.split(":")[1].strip().startswith("uplink")]
        return left


class Suite:
    def __init__(self, runtime, work):
        self.runtime = runtime
        self.rootfs = os.path.join(work, "rootfs")
        self.tmp = tempfile.mkdtemp(prefix="rcmig-", dir="/tmp")
        os.mkdir(os.path.join(self.tmp, "spec"))
        subprocess.run([runtime, "spec", "--bundle", os.path.join(self.tmp, "spec")], check=True)
        drop_lan()
        make_lan()
        self.a = Host(self, "rcm-a")
        self.b = Host(self, "rcm-b")
        self.sock = os.path.join(self.tmp, "migrate.sock")
        self.procs = []

    def receiver(self, *extra):
        """migrate-receive in rcm-b with its own bundle, its output in files (the restored
        container's fds 0-2 that were external files become these); returns (proc, out)."""
        out = os.path.join(self.tmp, f"receive-{len(self.procs)}.out")
        with open(out, "w") as o, open(out + ".err", "w") as e:
            p = subprocess.Popen(self.b.argv("migrate-receive", "--listen", f"unix:{self.sock}", "--bundle",
                                             self.b.bundle, *extra),
                                 stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        self.procs.append(p)
        wait_for(lambda: "listening on" in read(out) or p.poll() is not None, 30, "migrate-receive to listen")
        check(p.poll() is None, f"migrate-receive exited {p.returncode}: {read(out + '.err')}")
        return p, out

    def start_server(self, cid, annotations=None):
        self.a.write_config(annotations)
        self.a.rc("run", "--detach", "--bundle", self.a.bundle, cid, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
        return wait_for(lambda: count_at("rcm-a") > 3 and count_at("rcm-a"), 60, "the server at rcm-a")

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.procs = []
        for h in (self.a, self.b):
            for cid in h.rc("list", "-q", check_rc=False).stdout.split():
                h.rc("delete", "--force", cid, check_rc=False)
        if os.path.exists(self.sock):
            os.unlink(self.sock)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def leftovers(s):
    left = s.a.leftovers() + s.b.leftovers()
    parent = os.path.join(CG, "run-container")
    if os.path.isdir(parent):
        left += [f"cgroup {e}" for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))]
    left += [line.split()[4] for line in read("/proc/self/mountinfo").splitlines() if s.tmp in line.split()[4]]
    drop_lan()
    return left


test = Registry()


@test
def migrate_over_a_socket_to_another_host_keeps_serving_through_the_port(s):
    """A container on host A's bridge network with a published port, migrated to host B
    over a unix socket (migrate-receive there): the rounds report pages and bytes sent,
    the client reaches the same process (its count goes on) through B's address and the
    same port, A has nothing left (state, lease, veth) and neither side a work directory.
    A file the container made in /dev/shm is there at B (the tmpfs archives, files of the
    image of the runtime's own, went over the stream)."""
    before = s.start_server("web")
    s.a.rc("exec", "web", "sh", "-c", "echo shm-mark > /dev/shm/mark && chmod 604 /dev/shm/mark")
    p, out = s.receiver()
    r = s.a.rc("migrate", "--to", f"unix:{s.sock}", "web")
    lines = r.stdout.splitlines()
    rounds = [x for x in lines if x.startswith("round ")]
    check(len(rounds) >= 2 and "(final dump)" in rounds[-1], f"rounds: {lines}")
    check(all(" pages written (" in x and " KiB sent, " in x for x in rounds), f"rounds without pages or bytes: {rounds}")
    check(lines[-1].startswith("downtime: "), f"no downtime line: {lines}")
    print(f"  ({'; '.join(lines)})")
    check(p.wait(timeout=120) == 0, f"migrate-receive: exit {p.returncode}: {read(out + '.err')}")
    check("restored \"web\"" in read(out), f"migrate-receive said: {read(out)!r}")
    st = s.b.state("web")
    check(st is not None and st["status"] == "running", f"at rcm-b: {st}")
    check(s.a.state("web") is None, "rcm-a still has the container")
    mark = s.b.rc("exec", "web", "sh", "-c", "stat -c %a /dev/shm/mark; cat /dev/shm/mark").stdout
    check(mark == "604\nshm-mark\n", f"/dev/shm/mark at rcm-b: {mark!r}")
    after = wait_for(lambda: count_at("rcm-b"), 60, "the server at rcm-b's address")
    check(after > before, f"the count at rcm-b is {after}, it was {before} at rcm-a: not the same process")
    check(count_at("rcm-b") >= after, "the count went back")
    gone = fetch("rcm-a")
    check(gone.startswith("error"), f"rcm-a still answers: {gone}")
    nft = subprocess.run(in_ns("rcm-a") + ["nft", "list", "ruleset"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    check(nft.returncode == 0 and str(PORT) not in nft.stdout, f"rcm-a still publishes {PORT}: {nft.stdout}")
    check(not s.a.leftovers(), f"left at rcm-a: {s.a.leftovers()}")
    check(not [e for e in os.listdir(s.b.root) if e.startswith("@migrate")], "a work directory was left at rcm-b")
    check(not os.path.exists(s.sock), "the socket was left")
    s.b.rc("delete", "--force", "web")


@test
def migrate_refused_because_the_id_exists_there_changes_nothing(s):
    """The destination has a container of that id: migrate-receive refuses at the hello,
    before anything is dumped: the error says so on both sides, the container runs at A
    with the same init, nothing is made at B."""
    s.start_server("dup")
    pid = s.a.state("dup")["pid"]
    s.b.write_config()
    s.b.rc("create", "--bundle", s.b.bundle, "dup", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p, out = s.receiver()
    r = s.a.rc("migrate", "--to", f"unix:{s.sock}", "dup", check_rc=False)
    check(r.returncode != 0 and 'container "dup" exists here' in r.stderr, f"migrate: {r.stderr!r}")
    check("round " not in r.stdout, f"rounds were made: {r.stdout!r}")
    check(p.wait(timeout=60) != 0 and "exists here" in read(out + ".err"), f"receiver: {read(out + '.err')!r}")
    st = s.a.state("dup")
    check(st["status"] == "running" and st["pid"] == pid, f"at rcm-a: {st}")
    check(count_at("rcm-a") > 0, "rcm-a does not serve any more")
    check(s.b.state("dup")["status"] == "created", "the destination's own container changed")
    for h in (s.a, s.b):
        check(not [e for e in os.listdir(h.root) if e.startswith("@migrate")], f"a work directory at {h.ns}")
    check(not os.path.exists(s.sock), "the socket was left")


def migrate_killing_the_receiver(s, cid, rounds):
    """migrate cid to a receiver SIGKILLed once the first round is reported; the ended
    migrate and its stderr."""
    p, out = s.receiver()
    m = subprocess.Popen(s.a.argv("migrate", "--rounds", rounds, "--to", f"unix:{s.sock}", cid),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = m.stdout.readline()
    p.kill()
    p.wait()
    _, err = m.communicate(timeout=300)
    check(first.startswith("round 1:"), f"migrate printed {first!r}")
    return m, err


@test
def receiver_killed_mid_stream_leaves_the_container_running_at_the_source(s):
    """migrate-receive SIGKILLed once the first round went over: the next round's send
    fails, migrate says the destination closed the connection, and the container (only
    pre-dumped so far) runs at A with the same init and goes on counting."""
    s.start_server("cut")
    pid = s.a.state("cut")["pid"]
    m, err = migrate_killing_the_receiver(s, "cut", "10")
    check(m.returncode != 0 and "the destination closed the connection" in err, f"migrate: exit {m.returncode}: {err!r}")
    st = s.a.state("cut")
    check(st is not None and st["status"] == "running" and st["pid"] == pid, f"at rcm-a: {st}")
    at = count_at("rcm-a")
    check(wait_for(lambda: count_at("rcm-a") > at, 30, "the count to go on at rcm-a"), "")
    check(not [e for e in os.listdir(s.a.root) if e.startswith("@migrate")], "the source's work directory was left")
    check(s.b.state("cut") is None, "rcm-b has the container")
    # SIGKILL left the receiver's work directory: what `gc` is for
    left = [e for e in os.listdir(s.b.root) if e.startswith("@migrate-cut.")]
    print(f"  (the killed receiver left {left})")
    for e in left:
        shutil.rmtree(os.path.join(s.b.root, e))


@test
def receiver_killed_before_the_final_round_restores_the_container_at_the_source(s):
    """--rounds 1: migrate-receive SIGKILLed once the pre-dump went over, so that the
    final dump (which stops the container at A) cannot be sent: the container is
    restored at A, the same process (its count goes on), served through A's port."""
    before = s.start_server("late")
    m, err = migrate_killing_the_receiver(s, "late", "1")
    check(m.returncode != 0 and "runs at the source again" in err and "closed the connection" in err,
          f"migrate: exit {m.returncode}: {err!r}")
    print(f"  ({err.strip()})")
    st = s.a.state("late")
    check(st is not None and st["status"] == "running", f"at rcm-a: {st}")
    after = wait_for(lambda: count_at("rcm-a"), 60, "the server at rcm-a again")
    check(after > before, f"the count at rcm-a is {after}, it was {before}: not the same process")
    check(not [e for e in os.listdir(s.a.root) if e.startswith("@migrate")], "the source's work directory was left")
    check(s.b.state("late") is None, "rcm-b has the container")
    for e in [e for e in os.listdir(s.b.root) if e.startswith("@migrate-late.")]:
        shutil.rmtree(os.path.join(s.b.root, e))  # what the SIGKILL left: `gc`'s
    s.a.rc("delete", "--force", "late")


@test
def restore_failing_at_the_destination_runs_the_container_at_the_source_again(s):
    """Host B already publishes the port (another container holds the claim), which only
    the restore there finds out: after the final dump the receiver tells the source why,
    and the container is restored at A (its count going on, served through A's port);
    the failed restore left nothing at B (state, lease, veth)."""
    before = s.start_server("web2")
    s.b.write_config()
    s.b.rc("create", "--bundle", s.b.bundle, "squat", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p, out = s.receiver()
    r = s.a.rc("migrate", "--rounds", "1", "--to", f"unix:{s.sock}", "web2", check_rc=False)
    check(r.returncode != 0 and "runs at the source again" in r.stderr and "already published" in r.stderr,
          f"migrate: {r.stderr!r}")
    check(p.wait(timeout=120) != 0, "migrate-receive succeeded")
    print(f"  ({r.stderr.strip()})")
    st = s.a.state("web2")
    check(st is not None and st["status"] == "running", f"at rcm-a: {st}")
    after = wait_for(lambda: count_at("rcm-a"), 60, "the server at rcm-a again")
    check(after > before, f"the count at rcm-a is {after}, it was {before}: not the same process")
    check(s.b.state("web2") is None, "rcm-b has a state for the container")
    s.b.rc("delete", "--force", "squat")
    check(not s.b.leftovers(), f"left at rcm-b: {s.b.leftovers()}")
    s.a.rc("delete", "--force", "web2")


class Relay:
    """A byte pump between a socket of its own and the receiver's, as `ssh -L` or socat
    would carry the stream to another host: the receiver's peer is the relay, and
    nothing but bytes crosses (no fds, no credentials of the source)."""

    def __init__(self, front, back):
        import socket
        import threading
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(front)
        self.lsock.listen(1)
        self.front, self.back = front, back
        self.bytes = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import select
        import socket
        try:
            a, _ = self.lsock.accept()
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.back)
            peer = {a: b, b: a}
            open_ = {a, b}
            while open_:
                ready, _, _ = select.select(list(open_), [], [], 120)
                if not ready:
                    break
                for r in ready:
                    data = r.recv(1 << 16)
                    if data:
                        peer[r].sendall(data)
                        self.bytes += len(data)
                    else:
                        open_.discard(r)
                        peer[r].shutdown(socket.SHUT_WR)
            a.close()
            b.close()
        finally:
            self.lsock.close()
            os.unlink(self.front)


@test
def migrate_through_a_relay_as_a_forwarded_socket_would(s):
    """The same migration through a relay (the stream as ssh -L would carry it between
    hosts): the container runs at B, its count going on, reached through B's port."""
    before = s.start_server("fwd")
    p, out = s.receiver()
    relay = Relay(os.path.join(s.tmp, "front.sock"), s.sock)
    r = s.a.rc("migrate", "--to", f"unix:{relay.front}", "fwd")
    check(p.wait(timeout=120) == 0, f"migrate-receive: exit {p.returncode}: {read(out + '.err')}")
    relay.thread.join(timeout=60)
    print(f"  ({r.stdout.splitlines()[-1]}; {relay.bytes // 1024} KiB relayed)")
    check(relay.bytes > 0, "nothing went through the relay")
    after = wait_for(lambda: count_at("rcm-b"), 60, "the server at rcm-b's address")
    check(after > before, f"the count at rcm-b is {after}, it was {before} at rcm-a: not the same process")
    check(s.a.state("fwd") is None and not s.a.leftovers(), f"left at rcm-a: {s.a.leftovers()}")
    s.b.rc("delete", "--force", "fwd")


class FakeReceiver:
    """The destination's end of the protocol (runtime/container/migrate_wire.h) in this
    process: takes the hello and every image, answers RESTORE with "restoring" and then
    closes, as a receiver would that died during its restore."""

    def __init__(self, path):
        import socket
        import threading
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.path = path
        self.files = 0
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, c, n):
        data = b""
        while len(data) < n:
            chunk = c.recv(min(n - len(data), 1 << 20))
            if not chunk:
                raise EOFError("the source closed the connection")
            data += chunk
        return data

    def _frame(self, c):
        import struct
        t, n = struct.unpack(">II", self._read(c, 8))
        return t, self._read(c, n)

    def _send(self, c, t, payload):
        import struct
        c.sendall(struct.pack(">II", t, len(payload)) + payload)

    def _serve(self):
        import struct
        try:
            c, _ = self.lsock.accept()
            with c:
                t, _ = self._frame(c)
                assert t == 1, f"frame {t} first"
                self._send(c, 5, b"ready")
                while True:
                    t, p = self._frame(c)
                    if t == 2:
                        self._read(c, struct.unpack(">Q", p[:8])[0])
                        self.files += 1
                    elif t == 4:
                        self._send(c, 5, b"restoring")
                        return  # and gone, as if killed during the restore
        except Exception as e:  # reported by the test
            self.error = repr(e)
        finally:
            self.lsock.close()
            os.unlink(self.path)


@test
def answer_lost_after_restoring_restores_nothing_and_keeps_the_image(s):
    """The destination took the restore request ("restoring") and went silent: the source
    cannot know whether the container runs there, so it does not restore it a second
    time; the error says so and where the final image is, and that image restores."""
    before = s.start_server("lost")
    fake = FakeReceiver(s.sock)
    r = s.a.rc("migrate", "--rounds", "1", "--to", f"unix:{s.sock}", "lost", check_rc=False)
    fake.thread.join(timeout=60)
    check(fake.error is None and fake.files > 0, f"the fake receiver: {fake.error}, {fake.files} files")
    check(r.returncode != 0 and "the destination's answer was lost" in r.stderr, f"migrate: {r.stderr!r}")
    print(f"  ({r.stderr.strip()})")
    check(s.a.state("lost") is None, "the source restored it (it may run at the destination)")
    kept = [e for e in os.listdir(s.a.root) if e.startswith("@migrate-lost.")]
    check(len(kept) == 1, f"kept work directories: {kept}")
    final = os.path.join(s.a.root, kept[0], "final")
    check(f"`{final}`" in r.stderr, f"the error does not name {final}")
    with open(os.path.join(s.tmp, "restore.err"), "w+") as errf:
        r = s.a.rc("restore", "--detach", "--bundle", s.a.bundle, "--image-path", final, "lost",
                   stdout=subprocess.DEVNULL, stderr=errf, check_rc=False)
        errf.seek(0)
        check(r.returncode == 0, f"restore from the kept image: {errf.read()}")
    after = wait_for(lambda: count_at("rcm-a"), 60, "the server at rcm-a again")
    check(after > before, f"the count at rcm-a is {after}, it was {before}: not the same process")
    s.a.rc("delete", "--force", "lost")
    shutil.rmtree(os.path.join(s.a.root, kept[0]))


def main():
    return run("migrate suite", __doc__, test.tests, Suite, leftovers)


if __name__ == "__main__":
    sys.exit(main())
