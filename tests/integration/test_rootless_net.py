"""Rootless networking: "run-container.network": "pasta" (Debian's passt), started and
stopped by the runtime, as the unprivileged user of rootless.py. Traffic goes only to the
host's loopback: a server the test runs there (reached through the gateway address with
run-container.host-loopback), and a port published by pasta reached from the host.

This host's /dev/net/tun is 0600 (Debian's udev makes it 0666): the runtime runs in a
private mount namespace with a 0666 node of the same device bound over it (tun_node)."""

import contextlib
import os
import signal
import socket
import subprocess
import threading

import pytest

from conftest import pid_alive, wait_for
from rootless import UserRuntime, rl_binary, rl_user, tun_node, ubundle  # noqa: F401 (fixtures)

PASTA = "/usr/bin/pasta"

pytestmark = pytest.mark.run_container_only(
    "run-container starts pasta itself; crun leaves a container's network to the engine (podman runs pasta)")

GATEWAY = "$(ip route | sed -n 's/^default via \\([^ ]*\\).*/\\1/p')"


@pytest.fixture
def nurt(rl_user, rl_binary, workdir):
    if not os.path.exists(PASTA):
        pytest.skip(f"needs {PASTA} (apt-get install passt)")
    r = UserRuntime(workdir, rl_user, rl_binary, tun=tun_node(workdir))
    yield r
    r.cleanup()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """An HTTP/1.0 server on 127.0.0.1 that answers every request with one line (with a
    Content-Length: the client stops there, whether or not pasta 2023-03 passes the
    close on), and counts the requests."""

    BODY = b"hello-from-host\n"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(10)
                    if conn.recv(4096).startswith(b"GET "):
                        self.requests += 1
                        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(self.BODY) + self.BODY)

    def close(self):
        self.sock.close()


def pasta(b, ports=None, host_loopback=False):
    b.config["annotations"] = {"run-container.network": "pasta"}
    if ports:
        b.config["annotations"]["run-container.ports"] = ports
    if host_loopback:
        b.config["annotations"]["run-container.host-loopback"] = "true"


def pasta_pid(rt, cid):
    with open(os.path.join(rt.root, cid, "pasta.pid")) as f:
        return int(f.read())


def port_taken(port):
    """Whether something listens on port (SO_REUSEADDR: our own connection's TIME_WAIT
    does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def test_outbound_to_the_hosts_loopback(nurt, ubundle):
    srv = LoopbackServer()
    try:
        b = ubundle(["/bin/sh", "-c", f"ip -4 addr show; wget -q -O - http://{GATEWAY}:{srv.port}/"])
        pasta(b, host_loopback=True)
        r = nurt.run(b)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "hello-from-host" in r.stdout, r.stdout + r.stderr
        assert "eth0" in r.stdout or "inet " in r.stdout  # pasta's interface, configured
        assert srv.requests == 1
    finally:
        srv.close()


def test_published_port_and_delete_stops_pasta(nurt, ubundle):
    port = free_port()
    b = ubundle(["/bin/sh", "-c", "while true; do echo hello-from-container | nc -l -p 8080; done"])
    pasta(b, ports=f"{port}:8080/tcp")
    c = nurt.create(b)
    pid = pasta_pid(nurt, c.cid)
    assert pid_alive(pid)
    assert nurt.cmd("start", c.cid).returncode == 0

    def answer():
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                return s.recv(100)
        return None

    data = wait_for(answer, timeout=15, interval=0.2, what="the published port to answer")
    assert b"hello-from-container" in data
    assert nurt.cmd("delete", "--force", c.cid).returncode == 0
    wait_for(lambda: not pid_alive(pid), what="pasta stopped")
    wait_for(lambda: not port_taken(port), what="the host port released")


def test_run_stops_pasta(nurt, ubundle):
    b = ubundle(["/bin/sh", "-c", "cat /proc/net/dev"])
    pasta(b)
    before = set(pasta_pids())
    r = nurt.run(b)
    assert r.returncode == 0, r.stderr
    assert "eth0" in r.stdout or len(r.stdout.splitlines()) > 3, r.stdout
    assert set(pasta_pids()) - before == set()


def pasta_pids():
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{name}/comm") as f:
                    if f.read().startswith(("passt", "pasta")) and pid_alive(int(name)):
                        found.append(int(name))
    return found


def test_kill9_of_the_runtime_then_delete_force(nurt, ubundle):
    b = ubundle(["/probe", "sleep", "60"])
    pasta(b, ports=f"{free_port()}:80/tcp")
    b.save()
    cid = nurt.new_id()
    err = open(os.path.join(nurt.workdir, "run.err"), "w")
    p = nurt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=err)

    def running():
        assert p.poll() is None, open(err.name).read()
        return os.path.exists(os.path.join(nurt.root, cid, "pasta.pid")) and nurt.state(cid)["status"] == "running"

    wait_for(running, timeout=15, what="running")
    pid = pasta_pid(nurt, cid)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert pid_alive(pid)
    r = nurt.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not pid_alive(pid), what="pasta stopped")


def test_pasta_errors(nurt, ubundle):
    b = ubundle(["/probe", "exit", "0"])
    pasta(b)
    b.config["annotations"]["run-container.ip"] = "10.0.0.5"
    r = nurt.run(b)
    assert r.returncode != 0 and "run-container.ip" in r.stderr and "pasta" in r.stderr, r.stderr
    b.config["annotations"] = {"run-container.host-loopback": "true"}
    r = nurt.run(b)
    assert r.returncode != 0 and "run-container.host-loopback" in r.stderr, r.stderr
    pasta(b)
    b.config["annotations"]["run-container.ports"] = "80:99999/tcp"
    r = nurt.run(b)
    assert r.returncode != 0 and "run-container.ports" in r.stderr, r.stderr


def test_pasta_is_a_reserved_network_name(rt):
    r = rt.cmd("network", "create", "pasta")
    assert r.returncode != 0 and "reserved" in r.stderr, r.stderr



def test_pasta_is_not_for_root(rt, bundle):
    """pasta will not run as root (it becomes nobody); root has the bridge networks."""
    b = bundle(["/probe", "exit", "0"])
    pasta(b)
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert r.returncode != 0 and "pasta" in r.stderr and "not root" in r.stderr, r.stderr
    assert rt.cmd("state", cid).returncode != 0
