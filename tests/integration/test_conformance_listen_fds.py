"""Socket activation (issue 14 item 7), runc's rule (utils_linux.go and go-systemd's
activation.Files): when the runtime runs with LISTEN_FDS=N and LISTEN_PID set to its own
pid, fds 3..3+N-1 go to the container as they are, --preserve-fds counts from 3+N, and the
container's process gets LISTEN_FDS=N and LISTEN_PID=1. crun does the same."""

import os
import shlex
import subprocess

import pytest

from conftest import KIND, parse_json


def run_activated(rt, b, nfds, extra=(), listen_pid_self=True):
    """Runs `run` from a shell whose pid the runtime keeps (exec), with LISTEN_FDS set
    and fds 3.. open on files that name themselves."""
    b.save()
    cid = rt.new_id()
    opens = []
    for fd in range(3, 3 + nfds + 2):  # two more than announced: only --preserve-fds may pass them
        p = os.path.join(rt.workdir, f"fd{fd}")
        with open(p, "w") as f:
            f.write(f"fd{fd}")
        opens.append(f"{fd}<{shlex.quote(p)}")
    pid = "$$" if listen_pid_self else "1"
    argv = " ".join(shlex.quote(a) for a in rt.argv("run", "--bundle", b.path, *extra, cid))
    script = f"export LISTEN_FDS={nfds} LISTEN_PID={pid}; exec {argv} {' '.join(opens)}"
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def probe_fds(rt, bundle, nfds, extra=(), listen_pid_self=True):
    b = bundle(["/bin/sh", "-c", 'echo "${LISTEN_FDS-unset} ${LISTEN_PID-unset}"; '
                                 "for n in 3 4 5; do /probe fd $n; done; true"])
    r = run_activated(rt, b, nfds, extra, listen_pid_self)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    return lines[0].split(), [parse_json(line) for line in lines[1:]]


def check_env(env, n):
    if KIND == "crun":
        # crun 1.8.1 passes the fds and LISTEN_PID=1 but loses LISTEN_FDS; runc sets both,
        # and sd_listen_fds(3) needs both
        assert env[1] == "1", env
    else:
        assert env == [str(n), "1"]


def test_listen_fds_are_passed_with_their_env(rt, bundle):
    env, fds = probe_fds(rt, bundle, 2)
    check_env(env, 2)
    assert [f["open"] for f in fds] == [True, True, False]
    assert [f["data"] for f in fds[:2]] == ["fd3", "fd4"]


def test_preserve_fds_count_after_the_listen_fds(rt, bundle):
    env, fds = probe_fds(rt, bundle, 1, extra=["--preserve-fds", "1"])
    check_env(env, 1)
    assert [f["open"] for f in fds] == [True, True, False]
    assert [f["data"] for f in fds[:2]] == ["fd3", "fd4"]


@pytest.mark.run_container_only("runc's rule (go-systemd activation.Files: LISTEN_PID must be the "
                                "runtime's own pid); crun 1.8.1 does not check LISTEN_PID")
def test_listen_fds_of_another_process_are_ignored(rt, bundle):
    """LISTEN_PID names another process (the runtime's parent, say): not ours to pass."""
    env, fds = probe_fds(rt, bundle, 2, listen_pid_self=False)
    assert env == ["unset", "unset"]
    assert [f["open"] for f in fds] == [False, False, False]
