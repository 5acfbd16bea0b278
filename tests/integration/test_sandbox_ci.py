"""`run-container sandbox` as a CI runner drives it (issue 20): the signals a runner sends
(SIGTERM, then SIGKILL; ^C) end the whole job and still leave a report; the small init
(--init, the default) reaps orphans and passes the job's exit status through; tmpfs sizes
(podman's --tmpfs PATH:OPTIONS, --upper-size) and, without a cgroup, no tmpfs without one.

Everything here runs on this hybrid-cgroup host without a cgroup: the job's processes
are found through its pid namespace.
"""

import contextlib
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import pid_alive, wait_for
from test_sandbox import Sandbox, busybox_layout, leftovers, sb, wait_running  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("sandbox is run-container's own command")


def ns_pids(init_pid):
    """{pid: state letter} of every process in the pid namespace whose init is init_pid."""
    try:
        ns = os.stat(f"/proc/{init_pid}/ns/pid").st_ino
    except OSError:
        return {}
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{name}/ns/pid").st_ino == ns:
                with open(f"/proc/{name}/stat") as f:
                    found[int(name)] = f.read().rsplit(")", 1)[1].split()[0]
    return found


def start(sb, rt, name, *args, report=True):
    """A sandbox in the background, once its job runs: (Popen, state, report path)."""
    path = os.path.join(rt.workdir, f"{name}.json")
    p = sb.popen("--name", name, *(("--report", path) if report else ()), *args,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p, wait_running(rt, name), path


def load(path):
    with open(path) as f:
        return json.load(f)


def wait_ns_count(init_pid, n, what):
    return wait_for(lambda: len([s for s in ns_pids(init_pid).values() if s != "Z"]) >= n and ns_pids(init_pid),
                    timeout=15, what=what)


# ---------------------------------------------------------------- signals to the sandbox


# (SIGQUIT's default action dumps core, which the host's core_pattern may make slow: it
# is checked with a job that traps it, below)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_ends_the_whole_job_with_a_report(sb, rt, sig):
    # the job's pid 1 would ignore it, and its background children never see it from `run`
    p, st, path = start(sb, rt, f"stop{int(sig)}", "--", "sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000")
    procs = wait_ns_count(st["pid"], 4, "init and three sleeps (sh execs the last)")
    p.send_signal(sig)
    assert p.wait(timeout=30) == 128 + sig
    rep = load(path)
    assert rep["reason"] == "signaled" and rep["stop_signal"] == sig, rep
    assert rep["signal"] == sig and rep["exit_code"] == 128 + sig, rep
    assert rep["stop_timeout_expired"] is False
    assert not any(pid_alive(pid) for pid in procs)
    assert leftovers(rt) == []


def test_a_job_that_ignores_sigterm_is_killed_after_the_stop_timeout(sb, rt):
    p, st, path = start(sb, rt, "stubborn", "--stop-timeout", "1", "--",
                        "sh", "-c", "trap '' TERM INT; sleep 1000 & sleep 1000")
    procs = wait_ns_count(st["pid"], 3, "init and two sleeps (sh execs the last)")
    p.send_signal(signal.SIGTERM)
    # the sleeps inherit the ignored SIGTERM: only the SIGKILL after 1 s ends them
    assert p.wait(timeout=30) == 128 + signal.SIGKILL
    rep = load(path)
    assert rep["reason"] == "signaled" and rep["stop_signal"] == signal.SIGTERM, rep
    assert rep["signal"] == signal.SIGKILL and rep["stop_timeout_expired"] is True, rep
    assert rep["wall_time_us"] >= 1_000_000
    assert not any(pid_alive(pid) for pid in procs)
    assert leftovers(rt) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT])
def test_a_job_that_exits_on_a_stop_signal_keeps_its_status(sb, rt, sig):
    p, st, path = start(sb, rt, f"graceful{int(sig)}", "--", "sh", "-c",
                        f"trap 'echo cleaning up; exit 3' {sig.name[3:]}; sleep 1000 & wait")
    wait_ns_count(st["pid"], 3, "init, sh and sleep")
    p.send_signal(sig)
    assert p.wait(timeout=30) == 3
    assert p.stdout.read() == b"cleaning up\n"
    rep = load(path)
    assert rep["reason"] == "signaled" and rep["stop_signal"] == sig and rep["signal"] is None, rep
    assert rep["exit_code"] == 3 and rep["stop_timeout_expired"] is False


def test_without_init_a_pid_1_job_that_ignores_sigterm_is_killed_after_the_stop_timeout(sb, rt):
    # `sleep` as pid 1 of its namespace ignores SIGTERM (no handler): the escalation ends it
    p, st, path = start(sb, rt, "noinit1", "--no-init", "--stop-timeout", "1", "--", "sleep", "1000")
    assert ns_pids(st["pid"]) == {st["pid"]: "S"}  # no init: the job is pid 1
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGKILL
    rep = load(path)
    assert rep["reason"] == "signaled" and rep["stop_signal"] == signal.SIGTERM
    assert rep["stop_timeout_expired"] is True and rep["signal"] == signal.SIGKILL


def test_without_init_a_stop_signal_still_reaches_every_process(sb, rt):
    # the shell waits on until its own SIGTERM's trap runs: a plain `wait` could return
    # (the sleeps killed first) and end the script with 0 before the trap ran
    p, st, path = start(sb, rt, "noinit2", "--no-init", "--", "sh", "-c",
                        "trap 'exit 5' TERM; sleep 1000 & sleep 1000 & while :; do wait; done")
    procs = wait_ns_count(st["pid"], 3, "sh and two sleeps")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 5
    rep = load(path)
    assert rep["reason"] == "signaled" and rep["stop_timeout_expired"] is False
    assert not any(pid_alive(pid) for pid in procs)


def test_other_signals_go_to_the_job(sb, rt):
    p, st, path = start(sb, rt, "usr1", "--", "sh", "-c", "trap 'echo got usr1; exit 4' USR1; sleep 1000 & wait")
    wait_ns_count(st["pid"], 3, "init, sh and sleep")
    p.send_signal(signal.SIGUSR1)
    assert p.wait(timeout=30) == 4
    assert p.stdout.read() == b"got usr1\n"
    rep = load(path)
    assert rep["reason"] == "exited" and rep["stop_signal"] is None


def test_stop_timeout_values(sb):
    for bad in ("x", "-1", "1q", ""):
        r = sb.run("--stop-timeout", bad, "--", "true")
        assert r.returncode == 125 and "--stop-timeout" in r.stderr, (bad, r.stderr)
    assert sb.run("--stop-timeout", "0", "--", "true").returncode == 0  # SIGKILL right away
    assert sb.run("--stop-timeout", "1500ms", "--", "true").returncode == 0


# ---------------------------------------------------------------- the init


def test_the_init_is_pid_1_and_the_job_its_child(sb):
    r = sb.run("--", "sh", "-c", 'echo $$ $PPID; cat /proc/1/comm')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "2 1"
    r = sb.run("--no-init", "--", "sh", "-c", 'echo $$')
    assert r.stdout == "1\n", r.stderr
    r = sb.run("--init", "--", "sh", "-c", 'echo $$')
    assert r.stdout == "2\n", r.stderr


def test_the_exit_status_passes_through_the_init(sb):
    for init in ("--init", "--no-init"):
        assert sb.run(init, "--", "sh", "-c", "exit 7").returncode == 7
        assert sb.run(init, "--", "true").returncode == 0
        r, rep = sb.report(init, "--", "sh", "-c", "exit 130")
        assert r.returncode == 130 and rep["signal"] is None and rep["reason"] == "exited", (init, rep)
        assert sb.run(init, "--", "no-such-command").returncode == 127
        assert sb.run(init, "--", "/etc/passwd").returncode == 126
    # killed by a signal: 128+N, and the report tells the signal from an exit status 128+N
    # (without the init the job is pid 1, and a pid 1 cannot die of its own signal)
    r, rep = sb.report("--", "sh", "-c", "kill -USR1 $$; sleep 5")
    assert r.returncode == 128 + signal.SIGUSR1, r.stderr
    assert rep["reason"] == "signaled" and rep["signal"] == signal.SIGUSR1, rep
    assert rep["stop_signal"] is None


def test_orphans_are_reaped(sb, rt):
    # the orphan's parent is gone: it is reparented to pid 1, which must wait for it; the
    # job's own pid 1 is then `sleep`, which never waits
    job = ("sh", "-c", "sh -c 'sleep 0.2 &'; exec sleep 1000")
    for init, zombies in (("--init", 0), ("--no-init", 1)):
        p, st, _ = start(sb, rt, f"reap{zombies}", init, "--stop-timeout", "0", "--", *job, report=False)
        time.sleep(1.5)  # the orphan has exited by now
        states = sorted(ns_pids(st["pid"]).values())
        assert states.count("Z") == zombies, (init, states)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) in (128 + signal.SIGTERM, 128 + signal.SIGKILL)


def test_the_init_holds_no_fd_of_the_job(sb, rt, workdir):
    # what the execve would have closed is closed in the init (exec.fifo: `start` would
    # never return), all but its socket to the runtime, where the job's status goes
    p, st, _ = start(sb, rt, "fds1", "--", "sleep", "1000", report=False)
    fds = {int(fd): os.readlink(f"/proc/{st['pid']}/fd/{fd}") for fd in os.listdir(f"/proc/{st['pid']}/fd")}
    others = [t for fd, t in fds.items() if fd > 2]
    assert len(others) == 1 and others[0].startswith("socket:"), fds
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM


# ---------------------------------------------------------------- tmpfs sizes


def df_kb(sb, path, *args, **kw):
    """The size in KiB of the filesystem at path inside a sandbox."""
    r = sb.run(*args, "--", "df", "-k", path, **kw)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split("\n")[1].split()[1])


def test_tmpfs_takes_podmans_options(sb):
    r = sb.run("--tmpfs", "/build:size=10m,mode=0700", "--", "sh", "-c",
               "stat -c %a /build; grep ' /build ' /proc/mounts; ls -d /build:* 2>&1")
    assert r.returncode != 0, r.stdout  # no directory literally named "/build:size=10m,mode=0700"
    lines = r.stdout.split("\n")
    assert lines[0] == "700", r.stdout
    assert "size=10240k" in lines[1] and "nosuid" in lines[1] and "nodev" in lines[1], lines[1]
    assert "No such file" in lines[2]
    # the size is enforced, and any size form podman takes works
    r = sb.run("--tmpfs", "/build:size=1MiB", "--", "sh", "-c", "dd if=/dev/zero of=/build/f bs=64k count=32")
    assert r.returncode != 0 and "No space left" in r.stderr, r.stderr
    assert df_kb(sb, "/build", "--tmpfs", "/build:size=1.5g") == 1536 * 1024


def test_bad_tmpfs_options_exit_125(sb):
    r = sb.run("--tmpfs", "/x:size=lots", "--", "true")
    assert r.returncode == 125 and "--tmpfs size" in r.stderr, r.stderr
    r = sb.run("--tmpfs", "x:size=1m", "--", "true")
    assert r.returncode == 125 and "not an absolute path" in r.stderr, r.stderr


def test_upper_size_limits_the_root(sb, workdir):
    assert df_kb(sb, "/", "--upper-size", "8m") == 8 * 1024
    r = sb.run("--upper-size", "8m", "--", "sh", "-c", "dd if=/dev/zero of=/f bs=1M count=16")
    assert r.returncode != 0 and "No space left" in r.stderr, r.stderr
    for other in (("--upper", os.path.join(workdir, "u")), ("--read-only",)):
        r = sb.run("--upper-size", "8m", *other, "--", "true")
        assert r.returncode == 125 and "--upper-size" in r.stderr, (other, r.stderr)
    r = sb.run("--upper-size", "0", "--", "true")
    assert r.returncode == 125 and "--upper-size" in r.stderr


def test_without_a_cgroup_no_tmpfs_is_unlimited(sb):
    # this host has no cgroup v2: a tmpfs's pages would go uncounted into host memory
    gib = 1024 * 1024
    assert df_kb(sb, "/") == gib  # the upper layer
    assert df_kb(sb, "/t", "--tmpfs", "/t") == gib
    assert df_kb(sb, "/t", "--tmpfs", "/t:size=2g") == 2 * gib  # a size given is kept
    # --memory (not enforced here) is the cap when given
    assert df_kb(sb, "/t", "--tmpfs", "/t", "-m", "64m", global_args=("--cgroup-manager=disabled",)) == 64 * 1024
    r = sb.run("--tmpfs", "/t:size=0", "--", "true")
    assert r.returncode == 125 and "--unlimited-tmpfs" in r.stderr, r.stderr
    # asked for: the kernel's default, half the RAM, and size=0, no limit at all (df: 0)
    with open("/proc/meminfo") as f:
        half = int(f.readline().split()[1]) // 2
    assert abs(df_kb(sb, "/", "--unlimited-tmpfs") - half) < 1024
    assert df_kb(sb, "/t", "--unlimited-tmpfs", "--tmpfs", "/t:size=0") == 0


def test_limits_fail_before_the_image_is_unpacked(sb, workdir, busybox_layout):
    cache = os.path.join(workdir, "cache")
    r = sb.run("--image", busybox_layout, "--image-cache", cache, "-m", "64m", "--pids-limit", "10", "--", "true",
               rootfs=False)
    assert r.returncode == 125 and "memory and pids limits" in r.stderr, r.stderr
    assert not os.path.exists(cache) or not any(files for _, _, files in os.walk(cache)), list(os.walk(cache))


# ---------------------------------------------------------------- details a CI user hits


def test_a_bad_flag_exits_125(sb):
    for args, word in ((("--bogus",), "--bogus"), (("--memory", "lots"), "--memory"),
                       (("--timeout", "soon"), "--timeout"), (("--name",), "--name")):
        r = sb.run(*args, "--", "true") if args != ("--name",) else sb.run("--name")
        assert r.returncode == 125 and word in r.stderr, (args, r.returncode, r.stderr)


def test_a_working_directory_that_cannot_be_entered_exits_126(sb):
    r = sb.run("--read-only", "-w", "/nonexistent", "--", "pwd")  # cannot be made either
    assert r.returncode == 126 and "/nonexistent" in r.stderr and "No such file" in r.stderr, r.stderr
    r = sb.run("-w", "/etc/passwd", "--", "pwd")
    assert r.returncode == 126 and "Not a directory" in r.stderr, r.stderr
    r = sb.run("-w", "/made/here", "--", "pwd")  # made, as runc and crun do
    assert r.returncode == 0 and r.stdout == "/made/here\n", r.stderr


def test_home_is_set(sb):
    assert sb.run("--", "sh", "-c", "echo $HOME").stdout == "/root\n"
    assert sb.run("-u", "4321", "--", "sh", "-c", "echo $HOME").stdout == "/\n"  # no passwd entry
    assert sb.run("-e", "HOME=/x", "--", "sh", "-c", "echo $HOME").stdout == "/x\n"


def test_commit_of_a_failed_job_needs_commit_on_failure(sb, workdir, busybox_layout):
    cache, dest = os.path.join(workdir, "cache"), os.path.join(workdir, "committed")
    job = ("sh", "-c", "echo half > /result; exit 3")
    r = sb.run("--image", busybox_layout, "--image-cache", cache, "--commit", f"{dest}:v1", "--", *job,
               rootfs=False)
    assert r.returncode == 3 and "nothing committed" in r.stderr and "--commit-on-failure" in r.stderr, r.stderr
    r = sb.run("--image", f"{dest}:v1", "--image-cache", cache, "--", "true", rootfs=False)
    assert r.returncode == 125, r.stderr  # no such image
    r = sb.run("--image", busybox_layout, "--image-cache", cache, "--commit", f"{dest}:v1", "--commit-on-failure",
               "--", *job, rootfs=False)
    assert r.returncode == 3, r.stderr
    r = sb.run("--image", f"{dest}:v1", "--image-cache", cache, "--", "cat", "/result", rootfs=False)
    assert r.returncode == 0 and r.stdout == "half\n", r.stderr


README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "README.md")


def readme_ci_example():
    """The README's CI job, as written there: its command lines, continuations joined."""
    lines = open(README).read().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("# A CI job:"))
    i = next(i for i in range(start, len(lines)) if lines[i].startswith("run-container sandbox"))
    cmd = []
    while True:
        cmd.append(lines[i])
        if not lines[i].endswith("\\"):
            return "\n".join(cmd)
        i += 1


def test_the_readme_ci_example_runs_as_written(rt, workdir):
    """On this v1/hybrid host, with the README's Debian image (gcc, make) at the path it
    names: a C project built and tested, the report written."""
    cmd = readme_ci_example()
    image = "/var/tmp/images/debian"
    assert f"--image {image} " in cmd and "/tmp/job.json" in cmd, cmd
    if not os.path.exists(os.path.join(image, "index.json")):
        if os.environ.get("RC_TEST_DEBIAN") != "1":
            pytest.skip(f"no Debian image at {image} (RC_TEST_DEBIAN=1 builds it with the README's line, "
                        "a few minutes)")
        line = next(ln for ln in open(README).read().split("\n") if ln.startswith("INCLUDE=") and image in ln)
        subprocess.run(["bash", "-c", line], cwd=os.path.dirname(README), check=True, timeout=1200)
    project = os.path.join(workdir, "project")
    os.mkdir(project)
    with open(os.path.join(project, "hello.c"), "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    with open(os.path.join(project, "Makefile"), "w") as f:
        f.write("hello: hello.c\n\tcc -o hello hello.c\ncheck: hello\n\t./hello | grep -qx hello\n")
    # `run-container` on PATH is the binary under test, with the test's state root and
    # image cache (the command itself is the README's, unchanged)
    bindir = os.path.join(workdir, "bin")
    os.mkdir(bindir)
    with open(os.path.join(bindir, "run-container"), "w") as f:
        f.write(f'#!/bin/sh\n[ "$1" = sandbox ] && shift && set -- sandbox --image-cache {workdir}/cache "$@"\n'
                f'exec {rt.argv()[0]} --root {rt.root} "$@"\n')
    os.chmod(os.path.join(bindir, "run-container"), 0o755)
    with contextlib.suppress(FileNotFoundError):
        os.unlink("/tmp/job.json")
    r = subprocess.run(["bash", "-c", cmd], cwd=project, capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = load("/tmp/job.json")
    assert rep["reason"] == "exited" and rep["exit_code"] == 0 and rep["image"] == image, rep
    assert leftovers(rt) == []


def test_ctrl_c_on_the_terminal_reaches_the_job_once(sb):
    # with -t the job is the foreground process group of its terminal, the init is not:
    # the ^C is the job's alone (the init would pass a second one on to every process)
    import pty
    import select
    job = ("n=0; trap 'n=$((n+1))' INT; echo ready; while [ $n -eq 0 ]; do sleep 0.1; done; "
           "sleep 1; echo ints=$n")
    master, slave = pty.openpty()
    p = subprocess.Popen(sb.argv("-t", "--", "sh", "-c", job), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"ready" in out:
            os.write(master, b"\x03")
            sent = True
    os.close(master)
    assert p.wait(timeout=30) == 0
    assert b"ints=1" in out, out
