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
RACE_ROUNDS = int(os.environ.get("RC_RACE_ROUNDS", "40"))
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


# ------------------------------------------------------------------ CVE-2024-21626


def run_with_fds(rt, b, fds, extra=()):
    """`run` with extra fds open in the runtime: `fds` maps an fd number to a host path
    (a directory or a file), opened by a shell right before it execs the runtime, the way a
    careless caller leaks them."""
    b.save()
    cid = rt.new_id()
    redirs = " ".join(f"{n}<{p}" for n, p in fds.items())
    argv = rt.argv("run", "--bundle", b.path, *extra, cid)
    script = f'exec {redirs} "$@"'
    return subprocess.run(["sh", "-c", script, "sh"] + argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_caller_fds_do_not_leak(rt, bundle, workdir):
    """Directories and files the caller left open (fds 5-9 here) are closed at the
    container's execve; only stdio remain."""
    secret = os.path.join(workdir, "secret")
    with open(secret, "w") as f:
        f.write("host secret")
    r = run_with_fds(rt, bundle(), {5: workdir, 6: secret, 7: "/", 9: "/proc"})
    assert r.returncode == 0, r.stderr
    fds = parse_json(r.stdout)["fds"]
    assert sorted(fds, key=int) == ["0", "1", "2"], fds


def test_preserved_fds_only(rt, bundle, workdir):
    """--preserve-fds 2 hands over fds 3 and 4, and nothing above them."""
    secret = os.path.join(workdir, "secret")
    with open(secret, "w") as f:
        f.write("host secret")
    r = run_with_fds(rt, bundle(), {3: secret, 4: secret, 5: workdir, 8: "/"}, extra=("--preserve-fds", "2"))
    assert r.returncode == 0, r.stderr
    fds = parse_json(r.stdout)["fds"]
    assert sorted(fds, key=int) == ["0", "1", "2", "3", "4"], fds


@pytest.mark.parametrize("fd", range(3, 16))
def test_cwd_through_an_fd_is_refused(rt, bundle, workdir, fd):
    """The runc attack: process.cwd "/proc/self/fd/N" where N is a directory fd of the
    runtime that is still open at chdir time (leaked by the caller, as fd 7 and 9 here, or
    the runtime's own: its verified /proc fd, say). The chdir lands outside the container's
    root; the runtime must refuse to start the process there (a leak-free runtime shows it
    through "(unreachable)" in getcwd). A cwd that is simply absent fails too."""
    b = bundle()
    b.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    r = run_with_fds(rt, b, {7: workdir, 9: "/"})
    if r.returncode == 0:
        info = parse_json(r.stdout)
        pytest.fail(f"the process started with cwd /proc/self/fd/{fd} = {info['cwd']!r}")
    assert "cwd" in r.stderr or "current working directory" in r.stderr, r.stderr


def test_cwd_through_a_preserved_directory_fd_is_refused(rt, bundle, workdir):
    """A directory handed over with --preserve-fds is the container's to use, but not as
    the cwd the runtime sets up: that would start the process outside its root."""
    b = bundle()
    b.config["process"]["cwd"] = "/proc/self/fd/3"
    r = run_with_fds(rt, b, {3: workdir}, extra=("--preserve-fds", "1"))
    assert r.returncode != 0, f"started outside the root: {r.stdout}"
    assert "outside of the container root" in r.stderr, r.stderr


# ------------------------------------------------------------------ CVE-2021-30465


class PrivateNS:
    """Runs runtime commands inside `unshare -m --propagation private`, which stands in for
    the host: a shared mount point SHARED is made there, and the bundle asks for an
    "rshared" rootfs propagation, so a mount that escaped the rootfs onto a path under
    SHARED would show up in this namespace's mountinfo, exactly as it would on a host,
    without ever touching the real host's mounts."""

    def __init__(self, rt, workdir):
        self.rt = rt
        self.shared = os.path.join(workdir, "shared")
        self.escape = os.path.join(self.shared, "escape")
        os.makedirs(self.escape)

    def run(self, body):
        script = (f"mount --bind {self.shared} {self.shared} && mount --make-shared {self.shared} || exit 99\n"
                  + body)
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], text=True,
                           capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        assert r.returncode != 99, r.stderr
        return r


def marker_mount(b, destination):
    marker = f"rcmark{uuid.uuid4().hex[:10]}"
    b.config["mounts"].append({"destination": destination, "type": "tmpfs", "source": marker,
                               "options": ["size=64k"]})
    b.config["linux"]["rootfsPropagation"] = "rshared"
    return marker


def create_and_inspect(rt, ns, b):
    """create in the private namespace; returns (create status, stderr, the namespace's
    mountinfo, the container init's mountinfo)."""
    b.save()
    cid = rt.new_id()
    pidfile = os.path.join(rt.workdir, f"{cid}.pid")
    argv = " ".join(rt.argv("create", "--bundle", b.path, "--pid-file", pidfile, cid))
    body = (f"{argv} >/dev/null 2>{rt.workdir}/{cid}.err; echo \"status=$?\"\n"
            "echo '--- host'; cat /proc/self/mountinfo\n"
            f"echo '--- container'; [ -f {pidfile} ] && cat /proc/$(cat {pidfile})/mountinfo\n"
            "true\n")
    r = ns.run(body)
    head, rest = r.stdout.split("--- host\n", 1)
    host, container = rest.split("--- container\n", 1)
    with open(f"{rt.workdir}/{cid}.err") as f:
        err = f.read()
    return int(head.strip().split("=")[1]), err, host, container


@pytest.mark.parametrize("link", ["/", "../../..", "../../../../../../../..", "HOST_ESCAPE", "UP_HOST_ESCAPE"])
def test_mount_target_symlink_stays_in_rootfs(rt, bundle, workdir, link):
    """A rootfs whose mount target is a symlink out of it: to "/", climbing with "..", or
    to a host path (absolute, or climbing to it) that is a shared mount on the host. The
    target is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so the mount either
    lands inside the container (visible in its own mountinfo) or is refused, and the host
    never gets it."""
    ns = PrivateNS(rt, workdir)
    target = {"HOST_ESCAPE": ns.escape, "UP_HOST_ESCAPE": "../../../../../../../.." + ns.escape}.get(link, link)
    b = bundle()
    os.symlink(target, os.path.join(b.rootfs, "mnt", "link"))
    marker = marker_mount(b, "/mnt/link")
    status, err, host, container = create_and_inspect(rt, ns, b)
    assert marker not in host, f"the mount escaped to the host: {host}"
    assert status != 0 or marker in container, f"the mount is neither in the container nor refused: {container}"
    if os.environ.get("RC_SEC_DEBUG"):
        print(f"status={status} err={err!r} in_container={marker in container}")


def test_mount_target_swapped_during_setup(rt, bundle, workdir):
    """The race of CVE-2021-30465: while containers are being created, the target in the
    rootfs is swapped, atomically and over and over (renameat2 RENAME_EXCHANGE), between a
    directory and a symlink to a shared host path. A runtime that checks the path and then
    mounts on it by name can be made to mount on the host; one that resolves the target
    once, inside the rootfs, and mounts on that fd cannot, whichever way the race goes."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        pytest.skip("libc has no renameat2")
    ns = PrivateNS(rt, workdir)
    b = bundle()
    mnt = os.path.join(b.rootfs, "mnt")
    os.mkdir(os.path.join(mnt, "t"))
    os.symlink(ns.escape, os.path.join(mnt, "t-link"))
    marker = marker_mount(b, "/mnt/t")
    b.config["process"]["args"] = ["/probe", "sleep", "30"]
    b.save()
    stop = threading.Event()
    swaps = [0]

    def flip():
        dirfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while not stop.is_set():
                if libc.renameat2(dirfd, b"t", dirfd, b"t-link", 2) == 0:  # RENAME_EXCHANGE
                    swaps[0] += 1
        finally:
            os.close(dirfd)

    ids = [rt.new_id() for _ in range(RACE_ROUNDS)]
    lines = []
    for cid in ids:
        argv = " ".join(rt.argv("create", "--bundle", b.path, cid))
        delete = " ".join(rt.argv("delete", "--force", cid))
        lines.append(f"{argv} >/dev/null 2>&1; echo \"$?\"; grep -c {marker} /proc/self/mountinfo; "
                     f"{delete} >/dev/null 2>&1")
    t = threading.Thread(target=flip)
    t.start()
    try:
        r = ns.run("\n".join(lines) + "\n")
    finally:
        stop.set()
        t.join()
    out = r.stdout.split()
    statuses, escapes = out[0::2], out[1::2]
    assert len(escapes) == RACE_ROUNDS, r.stdout + r.stderr
    assert swaps[0] > 100, "the symlink was hardly swapped"
    assert all(e == "0" for e in escapes), f"the mount escaped to the host in some rounds: {escapes}"
    # the race must have been run: some creates succeeded (the target was a directory, or
    # a symlink resolved inside the rootfs)
    assert "0" in statuses, f"no create succeeded: {statuses}"
