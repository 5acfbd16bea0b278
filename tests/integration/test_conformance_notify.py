"""sd_notify through the container (issue 14 item 7), as runc does it and `podman run
--sdnotify=container` needs it: with NOTIFY_SOCKET set for create/run, the runtime binds a
socket into the container (runc: /run/notify/notify.sock, its state directory's notify/
bind-mounted read-only) and sets NOTIFY_SOCKET there; `start` (and `run`) returns once the
container sent READY=1, which it forwards to the caller's socket with MAINPID=<pid>."""

import os
import socket
import time

import pytest

from conftest import parse_json


@pytest.fixture
def host_socket(workdir):
    path = os.path.join(workdir, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setblocking(False)
    yield path, s
    s.close()


RUNC_PROTOCOL = ("runc's notify protocol (its notify_socket.go: /run/notify/notify.sock in the container, "
                 "start waits for READY=, forwards READY and MAINPID); crun 1.8.1 mounts its socket at "
                 "<NOTIFY_SOCKET>/notify instead and, under this suite's crun wrapper, never gets the "
                 "container's READY=1 (start and run --detach time out)")


def received(s):
    msgs = []
    while True:
        try:
            msgs.append(s.recv(4096).decode())
        except BlockingIOError:
            return msgs


def notify_env(path):
    return dict(os.environ, NOTIFY_SOCKET=path)


def create(rt, b, path):
    """create with NOTIFY_SOCKET; the container's output to files (it would hold a pipe)."""
    b.save()
    cid = rt.new_id()
    out, err = (os.path.join(rt.workdir, f"{cid}.{n}") for n in ("out", "err"))
    with open(out, "w") as fo, open(err, "w") as fe:
        r = rt.cmd("create", "--bundle", b.path, cid, env=notify_env(path), stdout=fo, stderr=fe)
    with open(err) as fe:
        assert r.returncode == 0, fe.read()
    return cid


@pytest.mark.run_container_only(RUNC_PROTOCOL)
def test_run_forwards_ready_and_mainpid(rt, bundle, host_socket):
    path, s = host_socket
    b = bundle(["/probe", "notify", "READY=1"])
    r = rt.run(b, extra=["--detach"], env=notify_env(path))
    assert r.returncode == 0, r.stderr
    msgs = "".join(received(s))
    assert "READY=1\n" in msgs, msgs
    assert "MAINPID=" in msgs, msgs


@pytest.mark.run_container_only(RUNC_PROTOCOL)
def test_the_container_gets_its_own_socket(rt, bundle, host_socket):
    path, _ = host_socket
    b = bundle(["/probe"])
    r = rt.run(b, env=notify_env(path))
    assert r.returncode == 0, r.stderr
    env = parse_json(r.stdout)["env"]
    assert "NOTIFY_SOCKET=/run/notify/notify.sock" in env, env


@pytest.mark.run_container_only(RUNC_PROTOCOL)
def test_start_waits_for_ready(rt, bundle, host_socket):
    path, s = host_socket
    b = bundle(["/bin/sh", "-c", "sleep 1; exec /probe notify READY=1 30"])
    cid = create(rt, b, path)
    t0 = time.monotonic()
    r = rt.cmd("start", cid, env=notify_env(path))
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert took >= 0.9, f"start returned after {took:.2f}s, before the container was ready"
    msgs = received(s)
    assert any(m.startswith("READY=1") for m in msgs), msgs
    pid = rt.state(cid)["pid"]
    assert f"MAINPID={pid}\n" in msgs, msgs


def test_start_of_a_container_that_exits_without_ready_returns(rt, bundle, host_socket):
    path, s = host_socket
    b = bundle(["/probe", "exit", "0"])
    cid = create(rt, b, path)
    r = rt.cmd("start", cid, env=notify_env(path), timeout=20)
    assert r.returncode == 0, r.stderr
    assert received(s) == []


@pytest.mark.run_container_only(RUNC_PROTOCOL)
def test_ready_from_a_user_namespace(rt, bundle, host_socket):
    path, s = host_socket
    b = bundle(["/probe", "notify", "READY=1"])
    b.set_namespace("user")
    for key in ("uidMappings", "gidMappings"):
        b.config["linux"][key] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    for d in (b.rootfs, os.path.join(b.rootfs, "run")):  # the mapped root makes /run/notify
        if os.path.isdir(d):
            os.chown(d, 100000, 100000)
    r = rt.run(b, env=notify_env(path))
    assert r.returncode == 0, r.stderr
    assert any(m.startswith("READY=1") for m in received(s))


def test_foreground_run_forwards_signals_before_ready(rt, bundle, host_socket):
    """`run` in the foreground relays READY on the side (runc: a goroutine): a container
    that never says READY still gets the signals `run` receives."""
    import signal
    import subprocess

    path, s = host_socket
    b = bundle(["/probe", "sigwait", "1"])
    b.save()
    p = rt.popen("run", "--bundle", b.path, rt.new_id(), env=notify_env(path),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert out.strip() == f"signal {signal.SIGTERM.value}"
    assert received(s) == []
