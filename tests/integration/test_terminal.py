"""The runtime's own terminal relay: `run` in the foreground (and `exec -t`) of a process
with a terminal and no --console-socket. The runtime is started on a pty the test owns,
as a user's shell would start it."""

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import parse_json


class PtySession:
    """The runtime on a fresh pty (its controlling terminal, in a new session)."""

    def __init__(self, argv, rows=24, cols=80):
        self.master, slave = os.openpty()
        self.set_size(rows, cols, fd=slave)
        self.before = termios.tcgetattr(slave)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.out = b""

    def set_size(self, rows, cols, fd=None):
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, data):
        os.write(self.master, data)

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: no process holds the slave any more
            return None
        if not chunk:
            return None
        self.out += chunk
        return True

    def expect(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or self._read(left) is None:
                raise AssertionError(f"{text!r} not seen; output so far: {self.out!r}")
        return self.out

    def wait(self, timeout=20):
        """Waits for the runtime, collecting the rest of the output."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if self._read(0.1) is None:
                break
        status = self.proc.wait(timeout=max(1, deadline - time.monotonic()))
        while self._read(0.2):
            pass
        return status

    def attrs(self):
        return termios.tcgetattr(self.master)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def pty_session():
    sessions = []

    def make(argv, **kw):
        s = PtySession(argv, **kw)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()


def tty_bundle(bundle, args):
    b = bundle(list(args))
    b.config["process"]["terminal"] = True
    b.save()
    return b


def run_argv(rt, b, cid=None):
    return rt.argv("run", "--bundle", b.path, cid or rt.new_id())


def output_text(s):
    return s.out.decode(errors="replace").replace("\r", "")


# ---------------------------------------------------------------- run


@pytest.mark.run_container_only("crun 1.8.1 relays pty output through its log writer: now and then a colored timestamp is inserted every 256 bytes, corrupting the output")
def test_run_relays_the_terminal(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/probe", "info"])))
    assert s.wait() == 0, s.out
    info = parse_json(output_text(s))
    assert info["isatty"] == [1, 1, 1]
    assert info["fds"]["0"].startswith("/dev/pts/")
    assert os.listdir(rt.root) == [], "the container was not deleted"


def test_run_terminal_exit_status(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/probe", "exit", "5"])))
    assert s.wait() == 5


def test_run_terminal_restores_the_caller_terminal(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/bin/sh", "-c", "echo waiting; read x; echo done"])))
    s.expect("waiting")
    during = s.attrs()
    assert not during[3] & (termios.ICANON | termios.ECHO), "the caller's terminal is not in raw mode"
    s.write(b"go\r")
    assert s.wait() == 0
    assert s.attrs() == s.before, "terminal attributes not restored"


def test_run_terminal_input_reaches_the_process(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/bin/sh", "-c", "echo ready; read line; echo got:$line"])))
    s.expect("ready")
    s.write(b"hello there\r")
    s.expect("got:hello there")
    assert s.wait() == 0


def test_run_terminal_ctrl_c_goes_to_the_container(rt, bundle, pty_session):
    """In raw mode ^C is a byte for the container's pty, whose line discipline makes it
    SIGINT for the process there: the runtime itself is not interrupted."""
    script = "trap 'echo caught-int; exit 7' INT; echo ready; while :; do sleep 1; done"
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/bin/sh", "-c", script])))
    s.expect("ready")
    s.write(b"\x03")
    s.expect("caught-int")
    assert s.wait() == 7


@pytest.mark.run_container_only("runc gives the container's pty the caller's window size; crun 1.8.1's run leaves it 0x0")
def test_run_terminal_initial_window_size(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/bin/stty", "size"])), rows=33, cols=101)
    assert s.wait() == 0
    assert "33 101" in output_text(s)


@pytest.mark.run_container_only("runc relays the caller's window size and SIGWINCH; crun 1.8.1's run does not")
def test_run_terminal_window_size_changes(rt, bundle, pty_session):
    script = "stty size; echo ready; read x; stty size"
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/bin/sh", "-c", script])), rows=20, cols=70)
    s.expect("ready")
    assert "20 70" in output_text(s)
    s.set_size(41, 123)  # the kernel sends SIGWINCH to the runtime (foreground on our pty)
    time.sleep(0.2)
    s.write(b"\r")
    s.expect("41 123")
    assert s.wait() == 0


def test_run_terminal_forwards_signals(rt, bundle, pty_session):
    s = pty_session(run_argv(rt, tty_bundle(bundle, ["/probe", "sigwait", "1"])))
    s.expect("ready")
    s.proc.send_signal(signal.SIGUSR2)
    s.expect(f"signal {int(signal.SIGUSR2)}")
    assert s.wait() == 0


@pytest.mark.run_container_only("runc accepts a stdin that is not a terminal; crun 1.8.1 fails (tcgetattr)")
def test_run_terminal_with_stdin_not_a_tty(rt, bundle):
    """stdin a pipe: no raw mode; its end becomes the pty's end-of-file for the process."""
    b = tty_bundle(bundle, ["/bin/cat"])
    p = subprocess.run(run_argv(rt, b), input=b"line one\nline two\n", capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = p.stdout.replace(b"\r", b"")
    assert out.count(b"line one\n") >= 1 and b"line two\n" in out


@pytest.mark.run_container_only("runc's run --keep; crun 1.8.1 has no --keep")
def test_run_terminal_keep(rt, bundle, pty_session):
    cid = rt.new_id()
    b = tty_bundle(bundle, ["/probe", "exit", "4"])
    s = pty_session(rt.argv("run", "--keep", "--bundle", b.path, cid))
    assert s.wait() == 4
    assert rt.state(cid)["status"] == "stopped"


def test_detached_terminal_without_console_socket_is_refused(rt, bundle):
    b = tty_bundle(bundle, ["/probe", "info"])
    r = rt.cmd("run", "--detach", "--bundle", b.path, rt.new_id())
    assert r.returncode == 1
    assert "console-socket" in r.stderr, r.stderr
    assert os.listdir(rt.root) == []


# ---------------------------------------------------------------- exec -t


def start_sleeper(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "600"]))
    assert rt.cmd("start", c.cid).returncode == 0
    return c.cid


@pytest.mark.run_container_only("crun 1.8.1 relays pty output through its log writer: now and then a colored timestamp is inserted every 256 bytes, corrupting the output")
def test_exec_tty_relays_the_terminal(rt, bundle, pty_session):
    cid = start_sleeper(rt, bundle)
    s = pty_session(rt.argv("exec", "-t", cid, "/probe", "info"), rows=30, cols=90)
    assert s.wait() == 0, s.out
    info = parse_json(output_text(s))
    assert info["isatty"] == [1, 1, 1]
    assert info["fds"]["0"].startswith("/dev/pts/")
    assert s.attrs() == s.before


@pytest.mark.run_container_only("crun 1.8.1 relays pty output through its log writer: now and then a colored timestamp is inserted every 256 bytes, corrupting the output")
def test_exec_tty_pty_is_the_containers(rt, bundle, pty_session):
    """The pty comes from the container's own devpts: the name it has inside exists there."""
    cid = start_sleeper(rt, bundle)
    s = pty_session(rt.argv("exec", "--tty", cid, "/bin/sh", "-c", "tty; ls /dev/pts; stty size"),
                    rows=27, cols=88)
    assert s.wait() == 0
    text = output_text(s)
    name = [line for line in text.splitlines() if line.startswith("/dev/pts/")][0]
    assert name.rsplit("/", 1)[1] in text.split()
    if rt.kind == "run-container":  # crun 1.8.1 races: see test_terminal_exec_size.py
        assert "27 88" in text


def test_exec_tty_exit_status_and_input(rt, bundle, pty_session):
    cid = start_sleeper(rt, bundle)
    s = pty_session(rt.argv("exec", "-t", cid, "/bin/sh", "-c", "echo ready; read v; exit $v"))
    s.expect("ready")
    s.write(b"9\r")
    assert s.wait() == 9
