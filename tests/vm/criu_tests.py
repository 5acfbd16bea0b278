#!/usr/bin/python3
"""The checkpoint/restore suite: runs INSIDE the tests/vm guest (Debian's kernel, where
`criu check` says "Looks good"; CRIU 3.17 fails on the host's 6.18 kernel), started by
tests/vm/vm-tests.sh, which compiled everything on the host.

    criu_tests.py RUNTIME WORKDIR [TEST...]

WORKDIR (shared with the host) holds rootfs/ (busybox + /probe). Every test runs a counter
container (`run-container spec`'s config: namespaces, seccomp, masked paths, cgroup v2)
that writes an incrementing number to a bind-mounted directory, holds an open file and a
pipe, and listens on TCP 8080; it is checkpointed and restored with RUNTIME, and checked
from outside (the count goes on from where it was) and from inside (`exec` reaches the
listening socket). Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, N
failed"; exits 1 if anything failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from vmsuite import CG, Fail, Registry, check, run, wait_for

# Counts (every 0.1 s) into /shared/count, holds fd 3 open on /shared/held (written at
# each step: "held N"), runs its loop through a pipe into a `cat` that appends to
# /shared/piped, and has a TCP listener on 8080 that answers "hello".
COUNTER = ("exec 3>>/shared/held; nc -ll -p 8080 -e /bin/echo hello & "
           "i=0; while :; do i=$((i+1)); echo $i >/shared/count; echo held $i >&3; echo piped $i; "
           "sleep 0.1; done | cat >>/shared/piped")


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


class Suite:
    def __init__(self, runtime, work):
        self.runtime = runtime
        self.work = work
        self.rootfs = os.path.join(work, "rootfs")
        self.tmp = tempfile.mkdtemp(prefix="criut-", dir="/tmp")
        self.root = os.path.join(self.tmp, "state")
        self.n = 0
        self.ids = []
        self.base = self._base_config()

    def rc(self, *args, check_rc=True, timeout=180, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL)
        r = subprocess.run([self.runtime, "--root", self.root, *map(str, args)], timeout=timeout, text=True, **kw)
        if check_rc and r.returncode != 0:
            raise Fail(f"{' '.join(map(str, args))}: exit {r.returncode}: {(r.stderr or '').strip()}")
        return r

    def _base_config(self):
        d = os.path.join(self.tmp, "spec")
        os.mkdir(d)
        subprocess.run([self.runtime, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        c["process"]["terminal"] = False
        c["root"] = {"path": self.rootfs, "readonly": True}
        return c

    def bundle(self, shared=None, args=None, annotations=None, resources=None, hooks=None):
        """A bundle running COUNTER (or args) with `shared` (a new directory by default)
        bind-mounted at /shared; returns (bundle, shared)."""
        self.n += 1
        path = os.path.join(self.tmp, f"b{self.n}")
        os.mkdir(path)
        if shared is None:
            shared = os.path.join(self.tmp, f"shared{self.n}")
            os.mkdir(shared)
        c = json.loads(json.dumps(self.base))
        c["process"]["args"] = args or ["sh", "-c", COUNTER]
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "rw"]})
        if annotations:
            c.setdefault("annotations", {}).update(annotations)
        if resources:
            c["linux"].setdefault("resources", {}).update(resources)
        if hooks:
            c["hooks"] = hooks
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(c, f)
        return path, shared

    def run_detached(self, bundle, cid=None):
        cid = cid or f"c{self.n}"
        self.ids.append(cid)
        self.rc("run", "--detach", "--bundle", bundle, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cid

    def restore(self, bundle, cid, image, *extra):
        """restore --detach; the restored init's fds 0-2 are this call's (/dev/null, and a
        file for stderr: a pipe would stay open as long as the container runs)."""
        self.ids.append(cid)
        with tempfile.TemporaryFile("w+", dir=self.tmp) as errf:
            r = self.rc("restore", "--detach", "--bundle", bundle, "--image-path", image, *extra, cid,
                        stdout=subprocess.DEVNULL, stderr=errf, check_rc=False)
            errf.seek(0)
            if r.returncode != 0:
                raise Fail(f"restore {cid}: exit {r.returncode}: {errf.read().strip()}")
        return r

    def state(self, cid):
        return json.loads(self.rc("state", cid).stdout)

    def cleanup(self):
        for cid in list(self.ids):
            self.rc("delete", "--force", cid, check_rc=False)
        self.ids = []


def count(shared):
    v = read(os.path.join(shared, "count")).strip()
    return int(v) if v.isdigit() else 0


def counting(shared, above, timeout=60):
    """Wait until the counter in `shared` is past `above`; returns the value."""
    return wait_for(lambda: count(shared) > above and count(shared), timeout, f"the count to pass {above}")


def cgroup_of(s, cid):
    with open(os.path.join(s.root, cid, "state.json")) as f:
        return json.load(f).get("cgroupPath")


def answers_hello(s, cid):
    """The container's listener answers through loopback, from a process exec'ed into it."""
    r = s.rc("exec", cid, "nc", "127.0.0.1", "8080", check_rc=False, timeout=60)
    return r.returncode == 0 and "hello" in r.stdout


def fds_of(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def leftovers(s):
    """What a suite must not leave: containers, cgroups, mounts of its own."""
    left = []
    if os.path.isdir(s.root) and os.listdir(s.root):
        left += [f"state {e}" for e in os.listdir(s.root) if not e.startswith("@")]
    parent = os.path.join(CG, "run-container")
    if os.path.isdir(parent):
        left += [f"cgroup {e}" for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))]
    left += [line.split()[4] for line in read("/proc/self/mountinfo").splitlines() if s.tmp in line.split()[4]]
    ipam = "/var/lib/run-container/ipam"
    for net in os.listdir(ipam) if os.path.isdir(ipam) else []:
        left += [f"lease {net}/{e}" for e in os.listdir(os.path.join(ipam, net)) if not e.startswith(".")]
    veths = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], stdout=subprocess.PIPE, text=True).stdout
    left += [f"veth {line.split(':')[1].strip()}" for line in veths.splitlines()]
    return left


test = Registry()


@test
def criu_check_looks_good(s):
    """The guest is where CRIU works: `criu check` says so (lo up, socket-diag modules)."""
    r = subprocess.run(["criu", "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0 and "Looks good" in r.stdout, f"criu check: {r.stdout.strip()}")


@test
def checkpoint_restore_counter_continues(s):
    """The counter is dumped (the container goes), restored (same id): the count goes on
    from where it was, the held file and the pipe still get its lines, the cgroup is the
    container's with its limits, the seccomp filter is on again, the listener answers."""
    b, shared = s.bundle(resources={"pids": {"limit": 64}, "memory": {"limit": 64 * 1024 * 1024}})
    cid = s.run_detached(b)
    n1 = counting(shared, 5)
    check(answers_hello(s, cid), "the listener does not answer before the checkpoint")
    img = os.path.join(s.tmp, "img1")
    s.rc("checkpoint", "--image-path", img, cid)
    check(not os.path.exists(os.path.join(s.root, cid)), "checkpoint left the container's state")
    s.ids.remove(cid)
    at_dump = count(shared)
    check(at_dump >= n1, f"count {at_dump} below {n1} seen before the checkpoint")
    time.sleep(1)
    check(count(shared) == at_dump, "the counter still runs after checkpoint")
    s.restore(b, cid, img)
    st = s.state(cid)
    check(st["status"] == "running", f"restored container is {st['status']}")
    n2 = counting(shared, at_dump)
    check(n2 > at_dump, f"count restarted: {n2} after {at_dump}")
    # the held fd and the pipe were restored: both get lines past the dump
    wait_for(lambda: f"held {at_dump + 2}" in read(os.path.join(shared, "held")), 30, "held-file lines")
    wait_for(lambda: f"piped {at_dump + 2}" in read(os.path.join(shared, "piped")), 30, "piped lines")
    cg = cgroup_of(s, cid)
    check(cg, "no cgroup recorded")
    procs = read(CG + cg + "/cgroup.procs").split()
    check(str(st["pid"]) in procs, f"init {st['pid']} not in {cg}: {procs}")
    check(read(CG + cg + "/pids.max").strip() == "64", f"pids.max: {read(CG + cg + '/pids.max')!r}")
    check(read(CG + cg + "/memory.max").strip() == str(64 * 1024 * 1024), "memory.max not the config's")
    status = read(f"/proc/{st['pid']}/status")
    check("Seccomp:\t2" in status, "the restored init has no seccomp filter: " +
          next((x for x in status.splitlines() if x.startswith("Seccomp")), "?"))
    check(answers_hello(s, cid), "the listener does not answer after restore")
    s.rc("delete", "--force", cid)
    s.ids.remove(cid)


@test
def leave_running_and_restore_into_a_new_id(s):
    """--leave-running: the container stays running and counting; its image restored into
    a new id with another bundle, whose /shared is another directory (the external bind
    mount is mapped to the new source): both copies count, each into its own directory."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 5)
    img = os.path.join(s.tmp, "img2")
    before = count(shared)  # the dump is at this count or later (it keeps counting meanwhile)
    s.rc("checkpoint", "--leave-running", "--image-path", img, cid)
    check(s.state(cid)["status"] == "running", "--leave-running: the container is not running")
    at_dump = count(shared)
    counting(shared, at_dump + 3)
    b2, shared2 = s.bundle()
    # the files the counter holds open must exist at the new source (CRIU reopens them)
    for f in ("held", "piped", "count"):
        shutil.copy(os.path.join(shared, f), shared2)
    with open(os.path.join(shared2, "count"), "w") as f:
        f.write("0\n")
    s.restore(b2, "copy", img)
    n2 = counting(shared2, 0)
    check(n2 > before, f"the copy counts from {n2}, the dump was at {before} or later")
    n1 = count(shared)
    counting(shared, n1)
    check(s.state("copy")["pid"] != s.state(cid)["pid"], "one init for two containers")
    check(cgroup_of(s, "copy") != cgroup_of(s, cid), "the copy shares the cgroup")


@test
def restore_twice_from_one_image(s):
    """One image, two restores in turn: each starts from the dump's count."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 5)
    img = os.path.join(s.tmp, "img3")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    at_dump = count(shared)
    for i in range(2):
        with open(os.path.join(shared, "count"), "w") as f:
            f.write("0\n")
        s.restore(b, f"again{i}", img)
        n = counting(shared, 0)
        check(n > at_dump, f"restore {i + 1}: count {n}, the dump was at {at_dump}")
        s.rc("delete", "--force", f"again{i}")
        s.ids.remove(f"again{i}")


def container_ip(s, cid):
    r = s.rc("exec", cid, "ip", "-4", "-o", "addr", "show", "eth0")
    parts = r.stdout.split()
    check("inet" in parts, f"no address on eth0: {r.stdout!r}")
    return parts[parts.index("inet") + 1].split("/")[0]


def talk(sock, line):
    sock.sendall(line.encode())
    got = b""
    while not got.endswith(b"\n"):
        chunk = sock.recv(100)
        check(chunk, f"connection closed waiting for the echo of {line!r}")
        got += chunk
    return got.decode()


@test
def bridge_network_keeps_address_port_and_connection(s):
    """On the default bridge network with a published port: after checkpoint and restore
    (--tcp-established) the container has its address again, the published port reaches
    its listener, and a TCP connection opened before the checkpoint still echoes."""
    import socket
    echo = "nc -l -p 9090 -e /bin/cat & " + COUNTER
    b, shared = s.bundle(args=["sh", "-c", echo],
                         annotations={"run-container.network": "default", "run-container.ports": "18080:8080/tcp"})
    cid = s.run_detached(b)
    counting(shared, 3)
    ip = container_ip(s, cid)
    conn = wait_for(lambda: _connect(ip, 9090), 30, "the echo server")
    try:
        check(talk(conn, "one\n") == "one\n", "no echo before the checkpoint")
        img = os.path.join(s.tmp, "img-net")
        s.rc("checkpoint", "--tcp-established", "--image-path", img, cid)
        s.ids.remove(cid)
        s.restore(b, cid, img, "--tcp-established")
        check(container_ip(s, cid) == ip, f"address changed: {container_ip(s, cid)} != {ip}")
        check(talk(conn, "two\n") == "two\n", "the established connection does not echo after restore")
    finally:
        conn.close()
    with socket.create_connection(("127.0.0.1", 18080), timeout=20) as c2:
        check(b"hello" in c2.recv(100), "the published port does not reach the listener")
    with socket.create_connection((ip, 8080), timeout=20) as c3:
        check(b"hello" in c3.recv(100), "the container's address does not reach the listener")
    s.rc("delete", "--force", cid)
    s.ids.remove(cid)


def _connect(ip, port):
    import socket
    try:
        c = socket.create_connection((ip, port), timeout=5)
        c.settimeout(30)
        return c
    except OSError:
        return None


def read_until(fd, pred, timeout):
    """Read the pipe `fd` until pred(text so far) holds; returns the text."""
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            if pred(buf.decode(errors="replace")):
                return buf.decode(errors="replace")
    raise Fail(f"timed out reading the pipe; got {buf[-200:]!r}")


def last_out(text):
    nums = [int(w) for line in text.splitlines() if line.startswith("out ") for w in line.split()[1:2]
            if w.isdigit()]
    return nums[-1] if nums else 0


@test
def stdout_pipe_is_handed_over_at_restore(s):
    """runc's rule: the init's stdout, a pipe of the caller of `run`, is after restore the
    restoring caller's stdout (a new pipe), and the output goes on there."""
    b, _ = s.bundle(args=["sh", "-c", "i=0; while :; do i=$((i+1)); echo out $i; sleep 0.1; done"])
    cid = f"c{s.n}"
    r1, w1 = os.pipe()
    s.ids.append(cid)
    s.rc("run", "--detach", "--bundle", b, cid, stdout=w1, stderr=subprocess.DEVNULL)
    os.close(w1)
    try:
        seen = last_out(read_until(r1, lambda t: last_out(t) >= 5, 60))
        img = os.path.join(s.tmp, "img-pipe")
        s.rc("checkpoint", "--image-path", img, cid)
        s.ids.remove(cid)
    finally:
        os.close(r1)
    r2, w2 = os.pipe()
    try:
        s.ids.append(cid)
        s.rc("restore", "--detach", "--bundle", b, "--image-path", img, cid, stdout=w2, stderr=subprocess.DEVNULL)
        os.close(w2)
        w2 = -1
        text = read_until(r2, lambda t: last_out(t) > seen + 2, 60)
        first = last_out(text.splitlines()[0] + "\n") if text else 0
        check(first > seen, f"the new pipe starts at {first}, the old one had {seen}")
    finally:
        os.close(r2)
        if w2 >= 0:
            os.close(w2)


@test
def restore_in_the_foreground_waits_and_deletes(s):
    """restore without --detach is run's foreground: it waits for the container, exits
    with its status (137 for SIGKILL) and deletes it."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img-fg")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    at_dump = count(shared)
    with tempfile.TemporaryFile(dir=s.tmp) as errf:
        p = subprocess.Popen([s.runtime, "--root", s.root, "restore", "--bundle", b, "--image-path", img, cid],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
        s.ids.append(cid)
        try:
            counting(shared, at_dump)
            s.rc("kill", cid, "KILL")
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        errf.seek(0)
        check(rc == 137, f"restore exited {rc}: {errf.read().decode().strip()}")
    check(not os.path.exists(os.path.join(s.root, cid)), "the container was not deleted")
    s.ids.remove(cid)


@test
def pre_dump_then_dump_with_parent(s):
    """--pre-dump (the container keeps running), then the final dump with --parent-path:
    the restore from the final image continues the count."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    pre, final = os.path.join(s.tmp, "pre"), os.path.join(s.tmp, "final")
    s.rc("checkpoint", "--pre-dump", "--image-path", pre, cid)
    check(s.state(cid)["status"] == "running", "pre-dump stopped the container")
    n = count(shared)
    counting(shared, n)
    s.rc("checkpoint", "--parent-path", "../pre", "--image-path", final, cid)
    s.ids.remove(cid)
    at_dump = count(shared)
    s.restore(b, cid, final)
    check(counting(shared, at_dump) > at_dump, "no count after restore")


@test
def restore_into_an_existing_id_fails(s):
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 2)
    img = os.path.join(s.tmp, "img-dup")
    s.rc("checkpoint", "--leave-running", "--image-path", img, cid)
    r = s.rc("restore", "--detach", "--bundle", b, "--image-path", img, cid, check_rc=False)
    check(r.returncode != 0 and "exists" in r.stderr, f"restore over a live container: {r.stderr!r}")
    check(s.state(cid)["status"] == "running", "the existing container was touched")


@test
def migrate_to_another_root(s):
    """migrate: pre-dump rounds (each reported with its pages), the final dump, the
    restore under the other root; the count goes on there, the source root has no
    container left, the work directory is gone, the downtime is reported."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 5)
    dest = os.path.join(s.tmp, "dest-root")
    r = s.rc("migrate", "--to", dest, cid, timeout=300)
    s.ids.remove(cid)
    lines = r.stdout.splitlines()
    rounds = [x for x in lines if x.startswith("round ")]
    check(len(rounds) >= 2 and "(final dump)" in rounds[-1], f"rounds: {lines}")
    check(" pages written (all the private memory), " in rounds[0]
          and all(f" pages written (dirtied since round {i};" in x for i, x in enumerate(rounds[1:], 1)),
          f"rounds without CRIU's counts: {rounds}")
    check(lines[-1].startswith("downtime: "), f"no downtime line: {lines}")
    print(f"  ({'; '.join(lines)})")
    at = count(shared)
    dst = [s.runtime, "--root", dest]
    st = json.loads(subprocess.run(dst + ["state", cid], stdout=subprocess.PIPE, text=True, check=True).stdout)
    check(st["status"] == "running", f"at the destination: {st['status']}")
    check(counting(shared, at) > at, "the count does not go on at the destination")
    check(not os.path.exists(os.path.join(s.root, cid)), "the source still has the container")
    check(not [e for e in os.listdir(dest) if e.startswith("@migrate")], "the work directory was left")
    subprocess.run(dst + ["delete", "--force", cid], check=True)


@test
def migrate_whose_restore_fails_runs_at_the_source_again(s):
    """The destination already has a container of that id: the restore there fails, the
    container is restored at the source, and the error says so."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    dest = os.path.join(s.tmp, "dest-busy")
    os.makedirs(os.path.join(dest, cid))
    r = s.rc("migrate", "--to", dest, "--rounds", "1", cid, check_rc=False, timeout=300)
    check(r.returncode != 0 and "runs at the source again" in r.stderr, f"migrate: {r.stderr!r}")
    check(s.state(cid)["status"] == "running", "the container is not running at the source")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the source")
    shutil.rmtree(dest)


@test
def restore_killed_at_any_moment_is_cleaned_by_delete_force(s):
    """restore SIGKILLed at several moments (before, during and after CRIU's work): either
    the container runs and is recorded, or nothing runs; `delete --force` then leaves no
    state, cgroup or process (and the suite's end finds no mount, lease or veth)."""
    b, shared = s.bundle(annotations={"run-container.network": "default"})
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img-kill")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    for delay in (0.05, 0.3, 0.8, 1.5, 2.5):
        p = subprocess.Popen([s.runtime, "--root", s.root, "restore", "--detach", "--bundle", b, "--image-path", img,
                              cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        time.sleep(0.5)  # a criu swrk left on its own finishes or aborts
        r = s.rc("delete", "--force", cid, check_rc=False)
        check(r.returncode == 0 or "does not exist" in r.stderr, f"delete --force after a kill at {delay}s: {r.stderr}")
        check(not os.path.exists(os.path.join(s.root, cid)), f"state left after a kill at {delay}s")
        check(not os.path.exists(os.path.join(CG, "run-container", cid)), f"cgroup left after a kill at {delay}s")
        n = count(shared)
        time.sleep(0.5)
        check(count(shared) == n, f"something still counts after a kill at {delay}s and delete --force")


@test
def restore_runs_prestart_and_create_runtime_hooks(s):
    """As runc: restore runs the prestart and createRuntime hooks once CRIU has made the
    namespaces, with the state (the restored init's pid, status creating) on stdin."""
    hookdir = tempfile.mkdtemp(dir=s.tmp)
    hooks = {k: [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {hookdir}/{k}.json"]}]
             for k in ("prestart", "createRuntime")}
    b, shared = s.bundle(hooks=hooks)
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img-hooks")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    for k in hooks:
        os.unlink(os.path.join(hookdir, f"{k}.json"))
    s.restore(b, cid, img)
    pid = s.state(cid)["pid"]
    for k in hooks:
        got = json.loads(read(os.path.join(hookdir, f"{k}.json"), "{}") or "{}")
        check(got.get("id") == cid and got.get("pid") == pid and got.get("status") == "creating",
              f"{k} hook got {got}, the restored init is {pid}")


class ConsoleSocket:
    """An AF_UNIX listener that takes one pty master (--console-socket's other end)."""

    def __init__(self, path):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(120)
        self.master = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import socket
        try:
            conn, _ = self.sock.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                self.master = fds[0] if fds else None
        except OSError:
            pass

    def wait(self):
        self.thread.join(120)
        self.sock.close()
        check(self.master is not None, "no pty master came to the console socket")
        return self.master


@test
def terminal_container_gets_a_new_master_at_restore(s):
    """process.terminal: create hands the pty master to --console-socket; after checkpoint
    and restore (orphan pts: CRIU makes a new pair), restore's --console-socket gets the
    new master, and what the container writes to its terminal comes out of it."""
    b, shared = s.bundle(args=["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >/shared/count; echo tty $i; "
                                           "sleep 0.2; done"])
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["process"]["terminal"] = True
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    cid = f"c{s.n}"
    cs1 = ConsoleSocket(os.path.join(s.tmp, "cs1.sock"))
    s.ids.append(cid)
    s.rc("run", "--detach", "--console-socket", os.path.join(s.tmp, "cs1.sock"), "--bundle", b, cid,
         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    m1 = cs1.wait()
    try:
        counting(shared, 3)
        img = os.path.join(s.tmp, "img-tty")
        s.rc("checkpoint", "--image-path", img, cid)
        s.ids.remove(cid)
    finally:
        os.close(m1)
    at = count(shared)
    cs2 = ConsoleSocket(os.path.join(s.tmp, "cs2.sock"))
    s.restore(b, cid, img, "--console-socket", os.path.join(s.tmp, "cs2.sock"))
    m2 = cs2.wait()
    try:
        text = read_until(m2, lambda t: any(w.isdigit() and int(w) > at for w in t.split()), 60)
        check("tty " in text, f"terminal output: {text[-200:]!r}")
    finally:
        os.close(m2)


@test
def restore_from_a_missing_image_fails_and_leaves_nothing(s):
    b, _ = s.bundle()
    r = s.rc("restore", "--detach", "--bundle", b, "--image-path", os.path.join(s.tmp, "nope"), "ghost",
             check_rc=False)
    check(r.returncode != 0, "restore from a missing image succeeded")
    err = r.stderr.strip()
    check(len(err.splitlines()) == 1 and "nope" in err and "No such file" in err, f"error: {err!r}")
    check(not os.path.exists(os.path.join(s.root, "ghost")), "state left behind")
    check(not os.path.exists(os.path.join(CG, "run-container", "ghost")), "cgroup left behind")


@test
def restore_from_a_corrupt_image_fails_and_leaves_nothing(s):
    """A dump whose process images are garbage: restore fails with CRIU's reason, and
    nothing is left (state, cgroup, processes, mounts)."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img4")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    bad = [f for f in os.listdir(img) if f.startswith(("core-", "pstree"))]
    check(bad, f"no core/pstree images in {sorted(os.listdir(img))}")
    for f in bad:
        with open(os.path.join(img, f), "r+b") as fh:
            fh.write(b"\xff" * 64)
    before = count(shared)
    r = s.rc("restore", "--detach", "--bundle", b, "--image-path", img, "broken", check_rc=False)
    check(r.returncode != 0, "restore from a corrupt image succeeded")
    err = r.stderr.strip()
    check(len(err.splitlines()) == 1 and "criu" in err and "restore.log" in err, f"error: {err!r}")
    check(not os.path.exists(os.path.join(s.root, "broken")), "state left behind")
    check(not os.path.exists(os.path.join(CG, "run-container", "broken")), "cgroup left behind")
    time.sleep(0.5)
    check(count(shared) == before, "something counts after a failed restore")


@test
def checkpoint_of_a_stopped_or_missing_container_fails(s):
    r = s.rc("checkpoint", "--image-path", os.path.join(s.tmp, "img5"), "nosuch", check_rc=False)
    check(r.returncode != 0 and "does not exist" in r.stderr, f"missing container: {r.stderr!r}")
    check(not os.path.exists(os.path.join(s.tmp, "img5")), "an image directory was made")


@test
def runc_side_by_side(s):
    """The same counter through runc 1.1.5's checkpoint/restore (crun 1.8.1 of Debian is
    built without CRIU: its checkpoint says so). runc's container gets /dev/null as stdio:
    with the guest's console as stderr, CRIU cannot dump that fd (it lies on a mount the
    container does not see) and runc reports it as "criu failed: type NOTIFY"."""
    r = subprocess.run(["crun", "checkpoint", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    b, shared = s.bundle()
    runc = ["runc", "--root", os.path.join(s.tmp, "runc")]
    img = os.path.join(s.tmp, "img-runc")
    subprocess.run(runc + ["run", "-d", "--bundle", b, "r1"], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    try:
        counting(shared, 5)
        p = subprocess.run(runc + ["checkpoint", "--image-path", img, "r1"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=180)
        check(p.returncode == 0, f"runc checkpoint: {p.stdout.strip()}")
        at_dump = count(shared)
        p = subprocess.run(runc + ["restore", "-d", "--bundle", b, "--image-path", img, "r1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=180)
        check(p.returncode == 0, f"runc restore: {p.stderr.strip()}")
        check(counting(shared, at_dump) > at_dump, "runc: the count did not go on")
    finally:
        subprocess.run(runc + ["delete", "-f", "r1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"  (crun checkpoint --help: exit {r.returncode}; {r.stdout.strip().splitlines()[-1][:100]})")


def main():
    return run("criu suite", __doc__, test.tests, Suite, leftovers)


if __name__ == "__main__":
    sys.exit(main())
