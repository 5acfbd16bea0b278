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

import ctypes
import errno
import os
import shlex
import shutil
import struct
import subprocess
import threading
import time
import uuid

import pytest

from conftest import KIND, REPO, RUNTIME, ConsoleServer, parse_json, wait_for

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

# the comm of the runtime's processes inside the container before their execve: run-container
# names its stages; crun's keep the name of the binary (the private copy, runtime_copy)
INIT_COMM, EXEC_COMM = ("rc:init", "rc:exec") if KIND == "run-container" else ("rc-copy", "rc-copy")

# crun 1.8.1 fails these; the runtime-spec says nothing of leaked fds or planted symlinks,
# these are the escapes of the CVEs named
CRUN_CWD_ESCAPE = pytest.mark.run_container_only(
    "crun 1.8.1 chdirs to process.cwd through a directory fd still open in it (the CVE-2024-21626 "
    "class): its process starts outside the container's root")
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
        r = subprocess.run(rt.prefix_for(binary) + ["--root", rt.root] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, stdout=fe, stderr=fe, timeout=30)
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
        # run-container's stages are non-dumpable until their execve, so the binary is
        # never opened (below: not even first try); crun 1.8.1's are dumpable for a moment
        # before it, but run from a read-only mount: the write-open fails (EROFS), which is
        # what the CVE asks
        if KIND == "run-container":
            assert not got, f"the container opened the runtime binary through /proc/{s['pid']}/exe: {s}"
        assert not s["writable"], f"the container could open the runtime binary for writing: {s}"
    for s in stages if KIND == "run-container" else ():
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
    assert_binary_unreachable(report, runtime_copy, INIT_COMM)


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
        # The attacker is root in the container: when it catches a stage just after its
        # execve, /proc/PID/exe is the container's own /bin/true, which it may briefly hold
        # open for writing; the next exec of it then meets ETXTBSY. That is the container
        # attacking itself, not the runtime binary: try that exec again.
        for _ in range(5):
            r = copy_cmd(rt, runtime_copy, "exec", a.cid, "/bin/true")
            if r.returncode == 0 or "Text file busy" not in r.stderr:
                break
            time.sleep(0.05)
        assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    report = attacker_report(rt, a)
    if not caught_stages(report, EXEC_COMM):
        pytest.skip(f"the attacker never caught an exec stage in {EXEC_ATTEMPTS} tries (too short-lived here)")
    assert_binary_unreachable(report, runtime_copy, EXEC_COMM)


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


@pytest.mark.parametrize("fd", [pytest.param(n, marks=CRUN_CWD_ESCAPE) if n in (7, 9) else n
                                for n in range(3, 16)])
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
    if KIND == "run-container":  # its own words (crun: "chdir `/proc/self/fd/N`: ...")
        assert "cwd" in r.stderr or "current working directory" in r.stderr, r.stderr


@CRUN_CWD_ESCAPE
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
    argv = shlex.join(rt.argv("create", "--bundle", b.path, "--pid-file", pidfile, cid))
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
    assert status != 0 or marker in container, f"the mount is neither in the container nor refused: {err}"


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
        argv = shlex.join(rt.argv("create", "--bundle", b.path, cid))
        delete = shlex.join(rt.argv("delete", "--force", cid))
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


# ------------------------------------------------------------------ /dev symlinks


def without_dev_tmpfs(b):
    """The rootfs's own /dev is used (no tmpfs over it): what it holds matters."""
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]


@pytest.mark.parametrize("dest,type_", [("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"),
                                        ("/dev/mqueue", "mqueue")])
def test_dev_mount_target_symlink_not_followed(rt, bundle, workdir, dest, type_):
    """A rootfs whose /dev (or /dev/pts, /dev/shm, /dev/mqueue under its own /dev) is a
    symlink to a shared host directory: the mount is refused or made inside the rootfs,
    never on the host directory, and no device node is created there."""
    ns = PrivateNS(rt, workdir)
    b = bundle()
    if dest != "/dev":
        without_dev_tmpfs(b)
    path = os.path.join(b.rootfs, dest.lstrip("/"))
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(ns.escape, path)
    marker = f"rcmark{uuid.uuid4().hex[:10]}"
    for m in b.config["mounts"]:
        if m["destination"] == dest:
            m["source"] = marker
    b.config["linux"]["rootfsPropagation"] = "rshared"
    status, err, host, container = create_and_inspect(rt, ns, b)
    assert marker not in host, f"{dest} was mounted on the host: {host}"
    assert os.listdir(ns.escape) == [], f"device nodes were made on the host: {os.listdir(ns.escape)}"
    assert status != 0 or marker in container, f"{dest}: neither inside the container nor refused: {err}"
    if status != 0:
        assert "symlinks not followed" in err or dest.lstrip("/") in err, err


def test_dev_null_symlink_in_rootfs_is_replaced(rt, bundle):
    """CVE-2025-31133: an image whose /dev/null is a symlink to a sensitive host file
    (here /proc/sys/kernel/core_pattern, which is not namespaced). maskedPaths binds
    /dev/null over files; following the symlink would bind core_pattern, writable, over
    /proc/keys. The symlink is replaced by the real node, so the masks are the null
    device; refusing the rootfs would do too."""
    b = bundle()
    without_dev_tmpfs(b)
    os.symlink("/proc/sys/kernel/core_pattern", os.path.join(b.rootfs, "dev", "null"))
    b.config["process"]["args"] = ["/probe", "stat", "/proc/keys"]
    r = rt.run(b)
    if r.returncode != 0:
        assert "/dev/null" in r.stderr, r.stderr  # refused
        return
    st = parse_json(r.stdout)
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3), st


def test_dev_null_swapped_for_a_symlink_during_setup(rt, bundle):
    """CVE-2025-31133, the race: /dev/null turns into a symlink after /dev is populated
    (another container sharing the mount, played here by a createContainer hook running
    in the container's mount namespace before the masks are applied). The runtime checks
    that what it binds is the null device, and refuses otherwise."""
    b = bundle(["/probe", "stat", "/proc/keys"])
    null = os.path.join(b.rootfs, "dev", "null")
    b.config["hooks"] = {"createContainer": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"rm -f {null} && ln -s /proc/sys/kernel/core_pattern {null}"]}]}
    r = rt.run(b)
    if r.returncode != 0:
        assert "/dev/null" in r.stderr, r.stderr
        return
    st = parse_json(r.stdout)
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3), f"/proc/keys is masked with {st}"


@pytest.mark.run_container_only("crun 1.8.1 leaves a /dev/console symlink planted in the rootfs in place "
                                "(the CVE-2025-52565 class): the container's /dev/console is not its pty")
@pytest.mark.parametrize("how", ["image", "hook"])
def test_dev_console_symlink_not_followed(rt, bundle, workdir, how):
    """CVE-2025-52565: /dev/console as a symlink to a sensitive file, planted in the image
    (its /dev is used as it is) or swapped in during setup (by a createContainer hook, as
    another container sharing the mount could). The terminal's bind onto /dev/console
    must not follow it: the container sees a pty there, and core_pattern is untouched."""
    b = bundle(["/probe", "stat", "/dev/console"])
    console = os.path.join(b.rootfs, "dev", "console")
    target = "/proc/sys/kernel/core_pattern"
    if how == "image":
        without_dev_tmpfs(b)
        os.symlink(target, console)
    else:
        b.config["hooks"] = {"createContainer": [{
            "path": "/bin/sh", "args": ["sh", "-c", f"rm -f {console} && ln -s {target} {console}"]}]}
    b.config["process"]["terminal"] = True
    srv = ConsoleServer(os.path.join(workdir, "console.sock"))
    try:
        c = rt.create(b, extra=["--console-socket", srv.path], check=False)
        if c.returncode != 0:
            assert "console" in c.stderr, c.stderr  # refused
            return
        assert rt.cmd("start", c.cid).returncode == 0
        srv.wait_master()
        st = parse_json(srv.read_all())
    finally:
        srv.close()
    assert st["type"] == "char" and 136 <= st["major"] <= 143, f"/dev/console is {st}"


# ------------------------------------------------------------------ a fake /proc


def fake_proc(b):
    """bundle/fakeproc, bound over /proc by the config: the files the init writes or reads
    (a sysctl, oom_score_adj, setgroups) as plain host files."""
    root = os.path.join(b.path, "fakeproc")
    files = {"sys/net/core/somaxconn": "orig\n", "self/oom_score_adj": "orig\n",
             "self/setgroups": "deny\n", "thread-self/attr/exec": "orig\n"}
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    b.config["mounts"].insert(1, {"destination": "/proc", "type": "bind", "source": "fakeproc",
                                  "options": ["rbind", "rw"]})
    return root, files


def test_fake_proc_is_never_written(rt, bundle):
    """A hostile config binds a directory of its own over /proc (after the real one). The
    init writes the sysctl and oomScoreAdj through the procfs it opened, and verified, at
    its start, so the files of the fake are never touched; it reads setgroups there too, so
    a fake "deny" does not stop it from dropping the caller's supplementary groups."""
    b = bundle()
    root, files = fake_proc(b)
    b.config["linux"]["sysctl"] = {"net.core.somaxconn": "1234"}
    b.config["linux"]["readonlyPaths"] = []
    b.config["linux"]["maskedPaths"] = []
    b.config["process"]["oomScoreAdj"] = 100
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["process"]["args"] = ["/probe", "sleep", "30"]
    c = rt.create(b, extra=(), check=False)
    for rel, text in files.items():
        with open(os.path.join(root, rel)) as f:
            assert f.read() == text, f"the init wrote through the fake /proc/{rel}"
    if c.returncode != 0:
        return  # refused: fine too
    pid = rt.state(c.cid)["pid"]
    with open(f"/proc/{pid}/oom_score_adj") as f:
        assert f.read().strip() == "100"
    r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "cat", "/proc/sys/net/core/somaxconn"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "1234", r.stderr


def test_fake_proc_does_not_keep_the_callers_groups(rt, bundle):
    """The caller runs with supplementary groups (4, 27 here); a fake /proc/self/setgroups
    saying "deny" must not make the runtime skip setgroups() and hand them on."""
    b = bundle()
    fake_proc(b)
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.save()
    cid = rt.new_id()
    r = subprocess.run(rt.argv("run", "--bundle", b.path, cid), capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, extra_groups=[4, 27])
    assert r.returncode == 0, r.stderr
    assert parse_json(r.stdout)["groups"] == [], "the caller's groups leaked into the container"


def test_tmpfs_over_proc_sys_is_not_written(rt, bundle):
    """A tmpfs over /proc/sys (a hostile config) does not receive the sysctl, nor hide the
    real file from the runtime: the sysctl is written to the real procfs."""
    b = bundle()
    b.config["mounts"].insert(1, {"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"})
    b.config["linux"]["readonlyPaths"] = []
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.config["process"]["args"] = ["/probe", "sleep", "30"]
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "cat", "/proc/sys/net/ipv4/ip_forward"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "1", r.stderr
    # what the container sees at /proc/sys is the tmpfs, with nothing written into it
    r = subprocess.run(["nsenter", "-t", str(pid), "-m", "ls", "-A", "/proc/sys"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == [], r.stdout + r.stderr


# ------------------------------------------------------------------ inherited capabilities


def with_caller_inheritable(argv, caps="cap_net_admin,cap_sys_admin"):
    """argv run with `caps` in the caller's inheritable set, the way a careless caller (a
    shell started by `capsh --inh`) would hand them to the runtime."""
    capsh = shutil.which("capsh")
    if capsh is None:
        pytest.skip("needs capsh (libcap2-bin) to give the caller inheritable capabilities")
    return [capsh, f"--inh={caps}", "--", "-c", 'exec "$@"', "capsh"] + list(argv)


def file_inheritable_probe(rootfs, cap):
    """/probe-fcaps: a copy of the probe with `cap` in its file inheritable set (and the
    effective bit): exec grants it to a process whose inheritable set holds it."""
    path = os.path.join(rootfs, "probe-fcaps")
    shutil.copy(os.path.join(rootfs, "probe"), path)
    os.setxattr(path, "security.capability", struct.pack("<IIIII", 0x02000001, 0, 1 << cap, 0, 0))
    return "/probe-fcaps"


def run_caller_inheritable(rt, b):
    b.save()
    cid = rt.new_id()
    r = subprocess.run(with_caller_inheritable(rt.argv("run", "--bundle", b.path, cid)), capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return status_caps(parse_json(r.stdout))


@pytest.mark.parametrize("caps_in_config", [True, False])
def test_inheritable_set_empty_unless_asked(rt, bundle, caps_in_config):
    """CVE-2022-29162: the inheritable set must not come from the caller. A non-root
    process with NET_ADMIN in its inheritable set gains it, bounding set or not, by
    executing a file whose inheritable file capabilities hold it. With or without
    process.capabilities in the config, the container's inheritable set is what the config
    says (empty here), so the exec grants nothing."""
    b = bundle()
    exe = file_inheritable_probe(b.rootfs, CAP_NET_ADMIN)
    b.config["process"]["args"] = [exe]
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["process"]["noNewPrivileges"] = False
    if not caps_in_config:
        del b.config["process"]["capabilities"]
    caps = run_caller_inheritable(rt, b)
    assert caps["CapInh"] == 0, caps
    assert not caps["CapPrm"] & (1 << CAP_NET_ADMIN), f"exec granted CAP_NET_ADMIN: {caps}"
    assert not caps["CapEff"] & (1 << CAP_NET_ADMIN), caps


def test_root_default_config_inheritable_empty(rt, bundle):
    """The default config, run by a caller with inheritable capabilities: none reach the
    container process."""
    caps = run_caller_inheritable(rt, bundle())
    assert caps["CapInh"] == 0, caps
    assert caps["CapAmb"] == 0, caps


def test_non_root_keeps_exactly_its_ambient_set(rt, bundle):
    """A non-root user with wide bounding/permitted/effective sets in the config but one
    ambient capability ends up with exactly that one in its effective and permitted sets
    (the others are lost at the uid switch and execve), even when the caller had more in
    its inheritable set."""
    b = bundle()
    wide = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"]
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["process"]["capabilities"] = {
        "bounding": wide, "effective": wide, "permitted": wide,
        "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}
    caps = run_caller_inheritable(rt, b)
    amb = 1 << 10  # CAP_NET_BIND_SERVICE
    assert caps["CapAmb"] == amb, caps
    assert caps["CapEff"] == amb and caps["CapPrm"] == amb, caps
    assert caps["CapInh"] == amb, caps


# ------------------------------------------------------------------ malformed configs

INVALID_DIR = os.path.join(REPO, "tests", "unit", "data", "invalid")


def invalid_fixtures():
    if not os.path.isdir(INVALID_DIR):
        return []
    return sorted(n[:-5] for n in os.listdir(INVALID_DIR) if n.endswith(".json"))


def mountinfo_text():
    with open("/proc/self/mountinfo") as f:
        return f.read()


@pytest.mark.run_container_only("run-container's error texts (file and JSON path); crun 1.8.1 refuses 130 of "
                                "these configs for their ociVersion alone ('unknown version specified')")
@pytest.mark.parametrize("name", invalid_fixtures())
def test_malformed_config_fails_cleanly(rt, workdir, name):
    """Every malformed config of the unit-test corpus, given to the real `create`: exit
    status 1, one error line naming the file and saying what the .err sidecar says (the
    JSON path and the problem), no state left under --root, nothing mounted."""
    bundle_dir = os.path.join(workdir, "b")
    os.makedirs(os.path.join(bundle_dir, "rootfs"))
    shutil.copy(os.path.join(INVALID_DIR, name + ".json"), os.path.join(bundle_dir, "config.json"))
    with open(os.path.join(INVALID_DIR, name + ".err")) as f:
        expected = f.read().split("\n")[0]
    before = mountinfo_text().count(bundle_dir)
    cid = rt.new_id()
    r = rt.cmd("create", "--bundle", bundle_dir, cid)
    assert r.returncode == 1, (r.returncode, r.stderr)
    config = os.path.join(bundle_dir, "config.json")
    assert r.stderr.startswith(f"run-container: {config}: "), r.stderr
    assert expected in r.stderr, f"expected {expected!r} in {r.stderr!r}"
    assert r.stderr.count("\n") == 1, r.stderr
    assert os.listdir(rt.root) == [], f"state left behind: {os.listdir(rt.root)}"
    assert mountinfo_text().count(bundle_dir) == before
    assert sorted(os.listdir(bundle_dir)) == ["config.json", "rootfs"]
