"""Hardening against known container-runtime escapes; each test mounts the attack.

Every protection here has a test that fails without it (each was checked by disabling the
protection locally):

- CVE-2019-5736: the container init is non-dumpable until execve, so no process of the
  container can open /proc/<init>/exe (the host's runtime binary) to overwrite it.
- CVE-2024-21626: host fds do not leak into the container, and a cwd that reaches the host
  through a leaked fd (/proc/self/fd/N) is refused.
- CVE-2021-30465: mount targets are resolved inside the rootfs (symlinks to "/" or
  "../../..", and symlinks swapped while containers are being created).
- CVE-2025-31133 / CVE-2025-52565 class: /dev, /dev/null, /dev/console and /dev/pts planted
  as symlinks are refused or replaced, never followed.
- /proc is used through a verified procfs fd: a fake /proc from the config is never written.
- CVE-2022-29162 class: the inheritable set is empty unless the config asks for it.
- Malformed configs (tests/unit/data/invalid): `create` fails with status 1, names the file
  and the JSON path, and leaves nothing on disk or mounted.

The attacker program is compiled from C source below (static, like the probe) and copied
into the attacking container's rootfs.
"""

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import struct
import subprocess
import threading
import time
import uuid

import pytest

from conftest import KIND, REPO, RUNTIME, parse_json, wait_for

pytestmark = pytest.mark.run_container_only("checks run-container's own hardening and error messages")

ATTACK_C = r"""
/* attack exe SECS: from inside a container, watch the pid namespace for other processes
 * and try to get at the binary they run: open /proc/PID/exe (O_PATH; retried until it
 * works; stage_errno is the result of the first attempt made while the process still ran
 * what it ran when first seen, -1 if none), then reopen what it got for writing through
 * /proc/self/fd/N, again and again (the CVE-2019-5736 race: the open succeeds once nobody
 * executes the binary any more). Nothing is ever written.
 * Prints one JSON object on SIGTERM or after SECS seconds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct rec {
        int pid, stage_errno, open_errno, have, fd, writable, write_errno;
        char comm[32];
        unsigned long long dev, ino;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
        (void)sig;
        stop = 1;
}

static void read_comm(int pid, char *buf, size_t size)
{
        char path[64];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/comm", pid);
        buf[0] = '\0';
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, buf, size - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n\"\\")] = '\0';
}

static struct rec recs[512];
static int nrecs;

static struct rec *find(int pid)
{
        for (int i = 0; i < nrecs; i++)
                if (recs[i].pid == pid)
                        return &recs[i];
        if (nrecs == 512)
                return NULL;
        recs[nrecs] = (struct rec){.pid = pid, .fd = -1, .stage_errno = -1};
        return &recs[nrecs++];
}

static void scan(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;

        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                int pid = atoi(de->d_name);
                char path[64];
                struct stat st;
                struct rec *r;

                char comm[32];

                if (pid <= 0 || pid == getpid() || (r = find(pid)) == NULL || r->have)
                        continue;
                if (r->comm[0] == '\0')
                        read_comm(pid, r->comm, sizeof(r->comm));
                snprintf(path, sizeof(path), "/proc/%d/exe", pid);
                r->fd = open(path, O_PATH | O_CLOEXEC);
                r->open_errno = r->fd < 0 ? errno : 0;
                /* an attempt made while it still ran what it first ran */
                read_comm(pid, comm, sizeof(comm));
                if (r->stage_errno < 0 && strcmp(comm, r->comm) == 0)
                        r->stage_errno = r->open_errno;
                if (r->fd < 0) {
                        r->open_errno = errno;
                        continue;
                }
                r->have = 1;
                r->open_errno = 0;
                if (fstat(r->fd, &st) == 0) {
                        r->dev = st.st_dev;
                        r->ino = st.st_ino;
                }
        }
        closedir(d);
}

static void try_write(void)
{
        for (int i = 0; i < nrecs; i++) {
                char path[64];
                int fd;

                if (!recs[i].have || recs[i].writable)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", recs[i].fd);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        recs[i].writable = 1;
                        close(fd);
                } else {
                        recs[i].write_errno = errno;
                }
        }
}

int main(int argc, char **argv)
{
        struct sigaction sa = {.sa_handler = on_term};
        time_t end;

        if (argc != 3 || strcmp(argv[1], "exe") != 0)
                return 2;
        sigaction(SIGTERM, &sa, NULL);
        end = time(NULL) + atoi(argv[2]);
        while (!stop && time(NULL) < end) {
                scan();
                try_write();
                sched_yield();
        }
        printf("{\"self\":%d,\"seen\":[", getpid());
        for (int i = 0; i < nrecs; i++)
                printf("%s{\"pid\":%d,\"comm\":\"%s\",\"stage_errno\":%d,\"open_errno\":%d,"
                       "\"dev\":%llu,\"ino\":%llu,\"writable\":%d,\"write_errno\":%d}",
                       i ? "," : "", recs[i].pid, recs[i].comm, recs[i].stage_errno, recs[i].open_errno,
                       recs[i].dev, recs[i].ino, recs[i].writable, recs[i].write_errno);
        printf("]}\n");
        fflush(stdout);
        return 0;
}
"""

# Every capability up to CAP_CHECKPOINT_RESTORE (40); trimmed to what the kernel knows.
ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
EXEC_ATTEMPTS = 20
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


def kernel_caps():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    return ALL_CAPS[: last + 1]


def status_caps(info):
    return {k: int(info["status"][k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


@pytest.fixture(scope="session")
def attack_binary(session_dir, root_required):
    src = os.path.join(session_dir, "attack.c")
    out = os.path.join(session_dir, "attack")
    if not os.path.exists(out):
        with open(src, "w") as f:
            f.write(ATTACK_C)
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-std=gnu11", "-O2", "-static", "-o", out, src], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot build the attacker program: {r.stderr[-500:]}")
    return out


@pytest.fixture
def runtime_copy(workdir, runtime_binary):
    """A private copy of the runtime: the binary the attacks aim at (never the build's)."""
    path = os.path.join(workdir, "rc-copy")
    shutil.copy2(RUNTIME, path)
    return path


def copy_cmd(rt, binary, *args):
    """Runs `binary --root ROOT ARGS...`; the container's stdio (which create and a
    detached exec hand on) goes to a file, so nothing waits for it to close."""
    errpath = os.path.join(rt.workdir, f"copy-{uuid.uuid4().hex[:8]}.err")
    with open(errpath, "w+") as fe:
        r = subprocess.run([binary, "--root", rt.root] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           stdout=fe, stderr=fe, timeout=30)
        fe.seek(0)
        r.stderr = fe.read()
    return r


# ------------------------------------------------------------------ CVE-2019-5736


def identity_userns_attacker(rt, bundle, attack_binary):
    """Container A: a user namespace mapped onto the host's ids 0-65535 (so its root is
    uid 0 to the kernel) with every capability inside it; its process is the attacker.
    Namespaced capabilities are no danger by themselves; what protects the host is that
    no runtime process in A's namespaces can be reached through /proc."""
    a = bundle(["/attack", "exe", "40"])
    shutil.copy(attack_binary, os.path.join(a.rootfs, "attack"))
    a.set_namespace("user")
    a.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    a.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    caps = kernel_caps()
    a.config["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    # sysfs needs a network namespace owned by the user namespace: fine, A has its own
    a.config["linux"]["maskedPaths"] = []
    a.config["linux"]["readonlyPaths"] = []
    created = rt.create(a)
    r = rt.cmd("start", created.cid)
    assert r.returncode == 0, r.stderr
    pid = rt.state(created.cid)["pid"]
    return created, pid


def attacker_report(rt, created):
    rt.cmd("kill", created.cid, "TERM")
    wait_for(lambda: rt.state(created.cid)["status"] == "stopped", what="attacker exit")
    with open(created.out) as f:
        return parse_json(f.read())


def caught_stages(report, stage_comm):
    """Runtime processes the attacker tried while they still ran the runtime."""
    return [s for s in report["seen"] if s["comm"] == stage_comm and s["stage_errno"] >= 0]


def assert_binary_unreachable(report, binary, stage_comm):
    st = os.stat(binary)
    stages = caught_stages(report, stage_comm)
    assert stages, f"the attacker never caught a {stage_comm} process: {report}"
    for s in report["seen"]:
        got = (s["dev"], s["ino"]) == (st.st_dev, st.st_ino) and s["open_errno"] == 0
        assert not got, f"the container opened the runtime binary through /proc/{s['pid']}/exe: {s}"
        assert not s["writable"], f"the container could open the runtime binary for writing: {s}"
    for s in stages:
        assert s["stage_errno"] in (errno.EACCES, errno.EPERM), s


def test_init_exe_unreachable_from_a_container_sharing_its_pid_ns(rt, bundle, attack_binary, runtime_copy):
    """CVE-2019-5736. A pod-like pair: container A (the attacker, all capabilities in its
    identity-mapped user namespace) and container B, created later, joining A's user and
    pid namespaces. From the clone until its execve, B's init runs the host's runtime
    binary inside A's pid namespace, and `create` leaves it waiting there for `start`.
    The attacker opens /proc/<B's init>/exe and, once B's process is executed and nothing
    runs the binary any more, reopens it for writing: the original exploit. The init is
    non-dumpable until execve, so the first open already fails with EACCES."""
    a, a_pid = identity_userns_attacker(rt, bundle, attack_binary)
    b = bundle(["/probe", "sleep", "1"])
    b.config["linux"]["uidMappings"] = []
    b.config["linux"]["gidMappings"] = []
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.set_namespace("user", path=f"/proc/{a_pid}/ns/user")
    b.set_namespace("pid", path=f"/proc/{a_pid}/ns/pid")
    b.save()
    bid = rt.new_id("victim")
    r = copy_cmd(rt, runtime_copy, "create", "--bundle", b.path, bid)
    assert r.returncode == 0, r.stderr
    time.sleep(1.0)  # B's init waits for `start` in A's pid namespace
    r = copy_cmd(rt, runtime_copy, "start", bid)
    assert r.returncode == 0, r.stderr
    time.sleep(1.5)  # the binary is no longer executed: the write-open would succeed now
    report = attacker_report(rt, a)
    assert_binary_unreachable(report, runtime_copy, "rc:init")


def test_exec_process_unreachable_from_the_container(rt, bundle, attack_binary, runtime_copy):
    """CVE-2019-5736 through `exec`: the process `exec` starts inside the container's pid
    namespace runs the host's runtime binary until its execve. The attacker (the same
    identity-mapped, all-capabilities container) must not get at it either."""
    probe = subprocess.run([RUNTIME, "exec", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this runtime has no `exec` command")
    a, _ = identity_userns_attacker(rt, bundle, attack_binary)
    time.sleep(0.3)
    # the exec stage lives for a millisecond or so: give the attacker several chances
    for _ in range(EXEC_ATTEMPTS):
        r = copy_cmd(rt, runtime_copy, "exec", a.cid, "/bin/true")
        assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    report = attacker_report(rt, a)
    if not caught_stages(report, "rc:exec"):
        pytest.skip(f"the attacker never caught an exec stage in {EXEC_ATTEMPTS} tries (too short-lived here)")
    assert_binary_unreachable(report, runtime_copy, "rc:exec")
