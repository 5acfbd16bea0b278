"""migrate --to unix:PATH and migrate-receive on this host, where CRIU itself fails: the
parts of the protocol (runtime/container/migrate_wire.h) that come before a dump or that
a receiver must survive. The hello is answered before anything is dumped, so a refusal
changes nothing at the source; a receiver fed bad frames, cut off mid-stream or asked to
restore what it cannot, tells why and leaves no work directory. The migration itself
(CRIU's rounds, the restore over there, two hosts) runs in tests/vm/migrate_tests.py.

crun has no migration: run-container only."""

import json
import os
import socket
import struct

import pytest

from migrate_peer import ERROR, FILE, HELLO, LINK, OK, RESTORE, Receiver, frame, recv_frame

pytestmark = pytest.mark.run_container_only("crun has no live migration")


def running(rt, bundle):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    r = rt.cmd("start", cid)
    assert r.returncode == 0, r.stderr
    return b, cid, rt.state(cid)["pid"]


def test_refused_because_the_id_exists_there_dumps_nothing(rt, bundle, workdir):
    b, cid, pid = running(rt, bundle)
    recv = Receiver(rt, workdir, b.path)
    os.makedirs(os.path.join(recv.root, cid))  # a container of that id at the destination
    r = rt.cmd("migrate", "--to", f"unix:{recv.sock}", cid, timeout=60)
    assert r.returncode != 0, r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f'the destination: container "{cid}" exists here' in r.stderr, r.stderr
    assert "round" not in r.stdout
    code, err = recv.finish()
    assert code != 0 and f'container "{cid}" exists here' in err, err
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid
    assert recv.work_dirs() == [] and not [e for e in os.listdir(rt.root) if e.startswith("@migrate")]
    assert not os.path.exists(recv.sock)
    os.rmdir(os.path.join(recv.root, cid))


def test_refused_because_the_bundle_has_no_rootfs_there(rt, bundle, workdir):
    b, cid, pid = running(rt, bundle)
    empty = os.path.join(workdir, "empty-bundle")
    os.mkdir(empty)
    recv = Receiver(rt, workdir, empty)
    r = rt.cmd("migrate", "--to", f"unix:{recv.sock}", cid, timeout=60)
    assert r.returncode != 0 and f"the rootfs `{empty}/rootfs` is not here" in r.stderr, r.stderr
    code, err = recv.finish()
    assert code != 0 and "is not here" in err, err
    assert rt.state(cid)["pid"] == pid and recv.work_dirs() == []


def test_refused_because_the_network_is_not_there(rt, bundle, workdir):
    """The container's bridge network must exist at the destination (its own network
    root): checked at the hello, so the source dumps nothing."""
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, ["--network-root", os.path.join(workdir, "dest-net")])
    cfg = dict(b.config, annotations={"run-container.network": "blue"})
    with recv.connect_and_hello("net1", cfg) as s:
        t, msg = recv_frame(s)
    assert t == ERROR and msg == 'network "blue" does not exist', msg
    assert recv.finish()[0] != 0 and recv.work_dirs() == []


def test_no_receiver_says_so_and_changes_nothing(rt, bundle, workdir):
    b, cid, pid = running(rt, bundle)
    sock = os.path.join(workdir, "nobody.sock")
    r = rt.cmd("migrate", "--to", f"unix:{sock}", cid, timeout=60)
    assert r.returncode != 0 and f"connect to `{sock}`" in r.stderr and "migrate-receive" in r.stderr, r.stderr
    assert rt.state(cid)["pid"] == pid
    assert not [e for e in os.listdir(rt.root) if e.startswith("@migrate")]


def test_listen_on_an_existing_path_is_refused(rt, bundle, workdir):
    path = os.path.join(workdir, "taken")
    open(path, "w").close()
    r = rt.cmd("migrate-receive", "--listen", f"unix:{path}")
    assert r.returncode != 0 and f"listen on `{path}`" in r.stderr and "in use" in r.stderr, r.stderr
    assert os.path.isfile(path), "the existing file was removed"
    r = rt.cmd("migrate-receive", "--listen", path)
    assert r.returncode != 0 and "expected unix:PATH" in r.stderr, r.stderr


def test_a_stale_socket_is_replaced_a_live_one_is_not(rt, bundle, workdir):
    """A socket file nobody listens on (a receiver killed while it waited) is taken
    over; one a process listens on is refused."""
    path = os.path.join(workdir, "m.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path)  # listens on m.sock
    r = rt.cmd("migrate-receive", "--listen", f"unix:{path}")
    assert r.returncode != 0 and "in use" in r.stderr, r.stderr
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)  # the first receiver is still there
        s.sendall(frame(HELLO, b"{}"))
        assert recv_frame(s)[0] == ERROR
    assert recv.finish()[0] != 0 and not os.path.exists(path)


@pytest.mark.parametrize("bad", [
    frame(FILE, struct.pack(">Q", 4) + b"../evil") + b"evil",
    frame(FILE, struct.pack(">Q", 4) + b"pre-1/../../evil") + b"evil",
    frame(FILE, struct.pack(">Q", 4) + b"/tmp/evil") + b"evil",
    frame(LINK, b"pre-1/parent\0/etc"),
    frame(LINK, b"pre-2/parent\0../pre-1"),  # no pre-1 yet
    frame(77, b"what"),
])
def test_receiver_rejects_a_bad_frame_and_leaves_nothing(rt, bundle, workdir, bad):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path)
    with recv.connect_and_hello("bad1", b.config) as s:
        assert recv_frame(s) == (OK, "ready")
        s.sendall(bad)
        t, msg = recv_frame(s)
        assert t == ERROR and ("invalid" in msg or "no earlier round" in msg or "unexpected frame" in msg), msg
    code, err = recv.finish()
    assert code != 0 and msg in err, (msg, err)
    assert recv.work_dirs() == []
    assert not os.path.exists(os.path.join(workdir, "evil")) and not os.path.exists("/tmp/evil")


def test_source_gone_mid_file_leaves_nothing_and_says_where(rt, bundle, workdir):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path)
    with recv.connect_and_hello("cut1", b.config) as s:
        assert recv_frame(s) == (OK, "ready")
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"pre-1/inventory.img") + b"12345")
        s.sendall(frame(LINK, b"pre-2/parent\0../pre-1"))
        s.sendall(frame(FILE, struct.pack(">Q", 100000) + b"pre-2/pages-1.img") + b"x" * 10)
    code, err = recv.finish()
    assert code != 0 and "the source closed the connection in the middle of `pre-2/pages-1.img`" in err, err
    assert recv.work_dirs() == []


def test_restore_that_fails_there_is_answered_with_the_reason(rt, bundle, workdir):
    """A RESTORE with no final image: the receiver's restore fails, the ERROR frame says
    why (the source would restore at home on it), and nothing stays under its root."""
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path)
    with recv.connect_and_hello("nofinal", b.config) as s:
        assert recv_frame(s) == (OK, "ready")
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"pre-1/inventory.img") + b"12345")
        s.sendall(frame(RESTORE, b'{"tcpEstablished":false}'))
        assert recv_frame(s) == (OK, "restoring")
        t, msg = recv_frame(s)
    assert t == ERROR and "final" in msg, msg
    code, err = recv.finish()
    assert code != 0 and msg in err
    assert recv.work_dirs() == [] and not os.path.exists(os.path.join(recv.root, "nofinal"))


def test_protocol_version_mismatch_is_refused(rt, bundle, workdir):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(recv.sock)
        s.sendall(frame(HELLO, json.dumps({"protocol": 2, "id": "v2", "bundle": "/x", "config": {}}).encode()))
        t, msg = recv_frame(s)
    assert t == ERROR and "protocol 2" in msg, msg
    assert recv.finish()[0] != 0 and recv.work_dirs() == []
