"""migrate-receive's timeout and the post-copy page channel (runtime/container/migrate_wire.h),
driven by a fake source on this host, where CRIU itself fails: a source that connects and
then says nothing, or stops in the middle of a round, is given up after --timeout with
an ERROR frame and an exit that say so, and nothing is left under the receiver's root; a
post-copy restore request whose page channel does not come, or comes with another id,
is refused the same way. The real post-copy over a socket and a SIGSTOPped migrate run
in tests/vm/migrate_remote_tests.py.

crun has no migration: run-container only."""

import os
import socket
import struct
import time

import pytest

from conftest import wait_for
from migrate_peer import ERROR, FILE, OK, PAGES, RESTORE, Receiver, frame, recv_frame

pytestmark = pytest.mark.run_container_only("crun has no live migration")


def test_a_source_silent_in_the_middle_of_a_file_is_given_up(rt, bundle, workdir):
    """The source sends half of an image file and stops (a SIGSTOPped or cut-off
    migrate): after --timeout the receiver answers ERROR, exits 1 saying how long it
    waited, and removes what it had received."""
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "2"))
    t0 = time.monotonic()
    with recv.hello("mute1", b.config) as s:
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"pre-1/inventory.img") + b"12345")
        s.sendall(frame(FILE, struct.pack(">Q", 100000) + b"pre-1/pages-1.img") + b"x" * 1000)
        wait_for(lambda: recv.work_dirs() != [], 10, what="the receiver's work directory")
        t, msg = recv_frame(s)
    took = time.monotonic() - t0
    assert t == ERROR and "the source sent nothing for 2 s (--timeout)" in msg, msg
    code, err = recv.finish()
    assert code != 0 and 'migrate-receive "mute1"' in err and "sent nothing for 2 s (--timeout)" in err, err
    assert took < 20, f"gave up after {took:.1f} s"
    recv.assert_left_nothing()


def test_a_source_silent_between_rounds_is_given_up(rt, bundle, workdir):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "2"))
    with recv.hello("mute2", b.config) as s:
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"pre-1/inventory.img") + b"12345")
        t, msg = recv_frame(s)
    assert t == ERROR and msg == "receive the images: the source sent nothing for 2 s (--timeout): given up", msg
    code, err = recv.finish()
    assert code != 0 and msg in err, err
    recv.assert_left_nothing()


def test_a_peer_that_connects_and_says_nothing_is_given_up(rt, bundle, workdir):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "2"))
    with recv.connect():
        code, err = recv.finish()
    assert code != 0 and "sent nothing for 2 s (--timeout)" in err, err
    recv.assert_left_nothing()


def test_the_timeout_must_be_a_number_of_seconds(rt, workdir):
    for bad in ("0", "-1", "soon", "86401"):
        r = rt.cmd("migrate-receive", "--listen", f"unix:{workdir}/t.sock", "--timeout", bad)
        assert r.returncode != 0 and f'invalid --timeout "{bad}"' in r.stderr, r.stderr
        assert not os.path.exists(f"{workdir}/t.sock")


def test_a_post_copy_restore_whose_page_channel_does_not_come_is_refused(rt, bundle, workdir):
    """A post-copy hello keeps the socket listening for the page channel; a restore
    request without one (no second connection within --timeout) is answered ERROR before
    anything is restored, and nothing stays."""
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "2"))
    with recv.hello("lazy1", b.config, post_copy=True) as s:
        assert os.path.exists(recv.sock), "the socket went before the page channel came"
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"final/inventory.img") + b"12345")
        s.sendall(frame(RESTORE, b'{"lazyPages":true}'))
        assert recv_frame(s) == (OK, "restoring")
        t, msg = recv_frame(s)
    assert t == ERROR and f"no page channel on `{recv.sock}` within 2 s (--timeout)" in msg, msg
    assert recv.finish()[0] != 0
    recv.assert_left_nothing()


def test_a_page_channel_for_another_container_is_refused(rt, bundle, workdir):
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "5"))
    with recv.hello("lazy2", b.config, post_copy=True) as s:
        s.sendall(frame(FILE, struct.pack(">Q", 5) + b"final/inventory.img") + b"12345")
        with recv.connect() as chan:
            chan.sendall(frame(PAGES, b"someone-else"))
            s.sendall(frame(RESTORE, b'{"lazyPages":true}'))
            assert recv_frame(s) == (OK, "restoring")
            t, msg = recv_frame(s)
    assert t == ERROR and 'page channel: expected PAGES "lazy2"' in msg, msg
    assert recv.finish()[0] != 0
    recv.assert_left_nothing()


def test_a_lazy_restore_request_after_a_pre_copy_hello_is_refused(rt, bundle, workdir):
    """The socket went after a pre-copy hello: a page channel cannot come, so a restore
    request with lazy pages is a protocol error."""
    b = bundle(["/bin/true"])
    recv = Receiver(rt, workdir, b.path, extra=("--timeout", "5"))
    with recv.hello("lazy3", b.config) as s:
        assert not os.path.exists(recv.sock), "the socket stayed after a pre-copy hello"
        s.sendall(frame(RESTORE, b'{"lazyPages":true}'))
        assert recv_frame(s) == (OK, "restoring")
        t, msg = recv_frame(s)
    assert t == ERROR and "a restore request with lazy pages after a hello without post-copy" in msg, msg
    assert recv.finish()[0] != 0
    recv.assert_left_nothing()
