"""The migrate protocol's frames (runtime/container/migrate_wire.h) and a migrate-receive
under its own state root, for the tests that play the source by hand on this host."""

import json
import os
import socket
import struct
import subprocess

from conftest import wait_for

HELLO, FILE, LINK, RESTORE, OK, ERROR, PAGES = 1, 2, 3, 4, 5, 6, 7


def frame(t, payload=b""):
    return struct.pack(">II", t, len(payload)) + payload


def recv_frame(s):
    head = b""
    while len(head) < 8:
        chunk = s.recv(8 - len(head))
        if not chunk:
            return None, None
        head += chunk
    t, n = struct.unpack(">II", head)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "the receiver closed in the middle of a frame"
        data += chunk
    return t, data.decode()


class Receiver:
    """migrate-receive under its own state root (global_args before the command, extra
    after it), its output in files."""

    def __init__(self, rt, workdir, bundle_path, global_args=(), extra=()):
        self.root = os.path.join(workdir, "dest")
        self.sock = os.path.join(workdir, "m.sock")
        self.out = os.path.join(workdir, "recv.out")
        self.err = os.path.join(workdir, "recv.err")
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.p = subprocess.Popen([rt.binary, *global_args, "--root", self.root, "migrate-receive", "--listen",
                                       f"unix:{self.sock}", "--bundle", bundle_path, *extra],
                                      stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        rt.procs.append(self.p)
        wait_for(lambda: "listening on" in open(self.out).read() or self.p.poll() is not None, 10,
                 what="migrate-receive to listen")
        assert self.p.poll() is None, open(self.err).read()

    def finish(self, timeout=30):
        self.p.wait(timeout=timeout)
        return self.p.returncode, open(self.err).read()

    def work_dirs(self):
        return [e for e in os.listdir(self.root) if e.startswith("@migrate")] if os.path.isdir(self.root) else []

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.sock)
        return s

    def connect_and_hello(self, cid, config, post_copy=None):
        """A connection that has sent its hello (postCopy only when given)."""
        s = self.connect()
        hello = {"protocol": 1, "id": cid, "bundle": "/nonexistent-at-the-source", "config": config}
        if post_copy is not None:
            hello["postCopy"] = post_copy
        s.sendall(frame(HELLO, json.dumps(hello).encode()))
        return s

    def hello(self, cid, config, post_copy=False):
        """connect_and_hello, answered with OK "ready"."""
        s = self.connect_and_hello(cid, config, post_copy)
        assert recv_frame(s) == (OK, "ready")
        return s

    def assert_left_nothing(self):
        assert self.work_dirs() == [], self.work_dirs()
        assert not os.path.exists(self.sock), "the socket was left"
        left = [e for e in os.listdir(self.root) if e != "@seccomp-cache"] if os.path.isdir(self.root) else []
        assert left == [], left
