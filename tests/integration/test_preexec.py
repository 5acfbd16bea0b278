"""The steps a container process goes through before execve (runtime/isolation/preexec.h), the same
for the init and for `exec`: configs other tools write (`runc spec`'s capabilities, engine
seccomp profiles), every failure reported by `create` (or by `start` when only execve was
left), credentials of startContainer hooks, preserved fds, sessions, HOME and stdio."""

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import select
import socket
import subprocess
import termios
import threading

import pytest

from conftest import KIND, cap_mask, parse_json

PODMAN_PROFILE = "/usr/share/containers/seccomp.json"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
SCMP_NATIVE = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}.get(os.uname().machine)
RUNC_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
# system calls younger than the Docker profiles of 2019-2020 (openat2 and close_range:
# Linux 5.6 and 5.9; faccessat2 5.8; the pidfd calls; clone3)
YOUNG_SYSCALLS = {"openat2", "close_range", "faccessat2", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
                  "clone3", "epoll_pwait2", "process_madvise", "mount_setattr", "landlock_create_ruleset",
                  "landlock_add_rule", "landlock_restrict_self", "memfd_secret", "futex_waitv",
                  "set_mempolicy_home_node", "process_mrelease", "quotactl_fd", "cachestat", "fchmodat2"}


def sh(cmd):
    return ["/bin/sh", "-c", cmd]


def status(info, key):
    return info["status"][key].strip()


def kernel_version():
    return tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])


def engine_profile(caps):
    """podman's default profile as an engine lowers it for a container with `caps`: the
    entries whose includes/excludes (capabilities, architectures, minimum kernel) hold."""
    if not os.path.exists(PODMAN_PROFILE):
        pytest.skip(f"needs podman's default seccomp profile ({PODMAN_PROFILE}, apt-get install podman)")
    with open(PODMAN_PROFILE) as f:
        d = json.load(f)
    archs = []
    for m in d.get("archMap") or []:
        if m["architecture"] == SCMP_NATIVE:
            archs += [m["architecture"]] + (m.get("subArchitectures") or [])
    rules = []
    for s in d["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if not set(inc.get("caps") or []) <= set(caps) or set(exc.get("caps") or []) & set(caps):
            continue
        if (inc.get("arches") and ARCH not in inc["arches"]) or ARCH in (exc.get("arches") or []):
            continue
        mk = inc.get("minKernel")
        if mk and kernel_version() < tuple(int(x) for x in mk.split(".")[:2]):
            continue
        rule = {"names": s["names"], "action": s["action"]}
        for k in ("args", "errnoRet"):
            if s.get(k):
                rule[k] = s[k]
        rules.append(rule)
    p = {"defaultAction": d["defaultAction"], "architectures": archs, "syscalls": rules}
    if "defaultErrnoRet" in d:
        p["defaultErrnoRet"] = d["defaultErrnoRet"]
    return p


def docker_2020_profile(caps):
    """A Docker-style profile from before openat2/close_range: deny by default with EPERM,
    one allow-list without the younger system calls."""
    allowed = set()
    for r in engine_profile(caps)["syscalls"]:
        if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args"):
            allowed |= set(r["names"])
    return {"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": sorted(allowed - YOUNG_SYSCALLS), "action": "SCMP_ACT_ALLOW"}]}


def no_getcwd_profile(caps):
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}


PROFILES = {"podman": engine_profile, "docker-2020": docker_2020_profile, "no-getcwd": no_getcwd_profile}


# ---- configs of the field ---------------------------------------------------------------


def test_runc_spec_capabilities_run(rt, bundle):
    """`runc spec` lists its three capabilities in bounding, effective, permitted and
    ambient, none in inheritable: the ambient ones cannot be raised and are skipped."""
    b = bundle()
    b.config["process"]["capabilities"] = {k: list(RUNC_CAPS)
                                           for k in ("bounding", "effective", "permitted", "ambient")}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert int(status(info, "CapEff"), 16) == cap_mask(RUNC_CAPS)
    assert int(status(info, "CapAmb"), 16) == 0
    if KIND == "run-container":
        assert "ambient capability `CAP_AUDIT_WRITE` is skipped" in r.stderr


@pytest.mark.parametrize("nnp", [False, True], ids=["no-nnp", "nnp"])
@pytest.mark.parametrize("kind", sorted(PROFILES))
def test_engine_seccomp_profiles(rt, bundle, kind, nnp):
    """The profiles real engines send, with and without noNewPrivileges, for a non-root
    process with supplementary groups: after the filter the init makes only the calls
    every profile allows (credentials, execve)."""
    b = bundle()
    b.config["process"]["noNewPrivileges"] = nnp
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    b.config["linux"]["seccomp"] = PROFILES[kind](RUNC_CAPS)
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert (info["uid"], info["gid"], info["groups"]) == (1000, 1000, [5])
    assert status(info, "Seccomp") == "2"
    assert status(info, "NoNewPrivs") == ("1" if nnp else "0")


# ---- every failure at create ---------------------------------------------------------------


def create_fails(rt, b):
    r = rt.create(b, check=False)
    assert r.returncode != 0, "create should have failed"
    assert rt.cmd("state", r.cid).returncode != 0, "a failed create leaves no container"
    return r.stderr


def test_missing_executable_fails_create(rt, bundle):
    assert "/no-such-binary" in create_fails(rt, bundle(["/no-such-binary"]))


def test_cwd_that_is_a_file_fails_create(rt, bundle):
    b = bundle()
    b.config["process"]["cwd"] = "/probe"
    assert "Not a directory" in create_fails(rt, b)


@pytest.mark.parametrize("uid,gid,ours", [(5000, 5000, "process.user.uid 5000 is not mapped"),
                                           (0, 5000, "setresgid 5000")], ids=["user", "group"])
def test_unmapped_user_or_group_fails_create(rt, bundle, uid, gid, ours):
    """A user or group the container's user namespace does not map cannot be set: create
    fails, before anything runs."""
    b = bundle()
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]
    b.config["process"]["user"] = {"uid": uid, "gid": gid}
    err = create_fails(rt, b)
    assert "Invalid argument" in err or "EINVAL" in err, err
    if KIND == "run-container":
        assert ours in err, err


class GoneAgent:
    """A seccomp agent that accepts the runtime's connection and hangs up at once: loading
    the filter (which ends by sending the listener fd to it) fails with EPIPE."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.path = path
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def gone_agent(workdir):
    a = GoneAgent(os.path.join(workdir, "agent.sock"))
    yield a
    a.close()


def notify_profile(agent):
    return {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": agent.path,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}


def test_seccomp_load_failure_fails_create(rt, bundle, gone_agent):
    b = bundle()
    b.config["process"]["noNewPrivileges"] = False
    b.config["linux"]["seccomp"] = notify_profile(gone_agent)
    err = create_fails(rt, b)
    assert "seccomp" in err or "listener" in err, err


def start_after_create(rt, b):
    c = rt.create(b)
    return c, rt.cmd("start", c.cid)


@pytest.mark.run_container_only("crun 1.8.1's start exits 0 when execve fails after it (the init dies "
                                "with the error on the container's stderr); runtime.md: start MUST run "
                                "the user-specified program, and an error must reach the caller")
def test_execve_failure_after_start_fails_start(rt, bundle):
    b = bundle(["/not-an-elf"])
    with open(os.path.join(b.rootfs, "not-an-elf"), "wb") as f:
        f.write(b"\x00\x01garbage, no interpreter line")
    os.chmod(os.path.join(b.rootfs, "not-an-elf"), 0o755)
    c, r = start_after_create(rt, b)
    assert r.returncode != 0
    assert "Exec format error" in r.stderr, r.stderr


@pytest.mark.run_container_only("crun 1.8.1's start exits 0 when the init fails after it; runtime.md: "
                                "start MUST run the user-specified program, and a failure must reach the "
                                "caller (runc: the same error through its exec fifo)")
def test_late_seccomp_failure_fails_start(rt, bundle, gone_agent):
    """With noNewPrivileges (and a listener) the filter is loaded right before execve,
    after `start`: its failure makes `start` fail."""
    b = bundle()
    b.config["linux"]["seccomp"] = notify_profile(gone_agent)
    c, r = start_after_create(rt, b)
    assert r.returncode != 0
    assert "seccomp" in r.stderr, r.stderr


# ---- exec and hooks get the process' credentials ------------------------------------------


def caller_with_inheritable_kill():
    """preexec_fn: the caller of the runtime has CAP_KILL in its inheritable set."""
    libc = ctypes.CDLL(None, use_errno=True)
    hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capget(hdr, data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[2] |= 1 << 5
    if libc.capset(hdr, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def sleeping_container(rt, bundle, edit=None):
    b = bundle(["/probe", "sleep", "60"])
    if edit:
        edit(b.config)
    c = rt.create(b)
    assert rt.cmd("start", c.cid).returncode == 0
    return c.cid


def test_exec_without_capabilities_clears_inheritable(rt, bundle):
    """CVE-2022-29162: without process.capabilities the caller's inheritable set must not
    reach the process, for the init and for exec alike."""
    b = bundle()
    del b.config["process"]["capabilities"]
    r = rt.run(b, preexec_fn=caller_with_inheritable_kill)
    assert r.returncode == 0, r.stderr
    assert int(status(parse_json(r.stdout), "CapInh"), 16) == 0
    cid = sleeping_container(rt, bundle, lambda c: c["process"].pop("capabilities"))
    r = rt.cmd("exec", cid, "/probe", preexec_fn=caller_with_inheritable_kill)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert int(status(info, "CapInh"), 16) == 0
    assert int(status(info, "CapAmb"), 16) == 0


@pytest.mark.parametrize("nnp", [False, True], ids=["no-nnp", "nnp"])
def test_start_container_hook_runs_with_process_credentials(rt, bundle, workdir, nnp):
    """startContainer hooks run inside the container as its process would: its user,
    groups, capabilities, no_new_privs and (without noNewPrivileges, loaded before the
    drop as in runc) its seccomp filter."""
    out = os.path.join(workdir, "hookout")
    os.mkdir(out)
    os.chmod(out, 0o777)
    grep = "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"
    b = bundle(["/bin/sh", "-c", grep + " > /out/process"])
    b.add_mount("/out", "bind", out, ["rbind", "rw"])
    b.config["process"]["noNewPrivileges"] = nnp
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", grep + " > /out/hook"]}]}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    views = {}
    for name in ("hook", "process"):
        with open(os.path.join(out, name)) as f:
            views[name] = {k: v.split() for k, v in (line.split(":", 1) for line in f.read().splitlines())}
    st = views["hook"]
    assert st["Uid"][:2] == ["1000", "1000"] and st["Gid"][:2] == ["1000", "1000"]
    assert st["Groups"] == ["5"]
    assert int(st["CapBnd"][0], 16) == cap_mask(RUNC_CAPS)
    assert st["NoNewPrivs"] == ["1" if nnp else "0"]
    if not nnp:  # with noNewPrivileges the filter goes in after the hooks (runc, crun)
        assert st["Seccomp"] == ["2"]
        assert st == views["process"]
    else:
        assert {k: v for k, v in st.items() if k != "Seccomp"} == \
            {k: v for k, v in views["process"].items() if k != "Seccomp"}


def test_start_container_hook_under_a_filter_without_pidfd_open(rt, bundle, workdir):
    """A startContainer hook runs under the container's filter (without noNewPrivileges):
    a profile older than pidfd_open (Docker's before 2020) refuses it, and the hook is
    still waited for, its status still counts."""
    out = os.path.join(workdir, "hookout")
    os.mkdir(out)
    b = bundle(["/bin/sh", "-c", "echo process > /out/process"])
    b.add_mount("/out", "bind", out, ["rbind", "rw"])
    b.config["process"]["noNewPrivileges"] = False
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [{"names": ["pidfd_open"], "action": "SCMP_ACT_ERRNO"}]}
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh",
                                             "args": ["sh", "-c", "sleep 0.2; echo hook > /out/hook"]}]}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    for name in ("hook", "process"):
        with open(os.path.join(out, name)) as f:
            assert f.read() == name + "\n"
    # a failing hook is still an error (the exit status was read without a pidfd)
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    b.save()
    r = rt.run(b)
    assert r.returncode != 0 and "3" in r.stderr, r.stderr


# ---- preserved fds -------------------------------------------------------------------------


def fd_names(info):
    return sorted(int(k) for k in info["fds"])


def test_create_preserve_fds_holes_stay_closed(rt, bundle):
    """--preserve-fds 2 from a caller without fds 3 and 4: nothing of the runtime's takes
    their place (its state directory, the host's /proc, the sync socket...)."""
    b = bundle()
    c = rt.create(b, extra=["--preserve-fds", "2"])
    assert rt.cmd("start", c.cid).returncode == 0
    rt.wait_status(c.cid, "stopped")
    with open(c.out) as f:
        info = parse_json(f.read())
    assert fd_names(info) == [0, 1, 2], info["fds"]


def test_exec_preserve_fds_hole_stays_closed(rt, bundle):
    cid = sleeping_container(rt, bundle)
    r = rt.cmd("exec", "--preserve-fds", "1", cid, "/probe")
    assert r.returncode == 0, r.stderr
    assert fd_names(parse_json(r.stdout)) == [0, 1, 2]


def test_preserve_fds_passes_what_the_caller_passed(rt, bundle, workdir):
    """fd 3 passed, fd 4 closed: 3 arrives, 4 stays closed."""
    data = os.path.join(workdir, "passed.txt")
    with open(data, "w") as f:
        f.write("passed")
    b = bundle()
    b.save()
    cid = rt.new_id()
    argv = ["bash", "-c", 'exec 3<"$0" 4<&-; exec "$@"', data] + rt.argv(
        "run", "--preserve-fds", "2", "--bundle", b.path, cid)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert fd_names(info) == [0, 1, 2, 3], info["fds"]
    assert info["fds"]["3"] == data


# ---- a session of its own --------------------------------------------------------------------


def on_controlling_pty(argv):
    """Runs argv as from an interactive shell: in a session whose controlling terminal is
    a pty the test owns, stdin on it. Returns (CompletedProcess-like, echoed bytes)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        out, err = p.communicate(timeout=60)
        echoed = b""
        with contextlib.suppress(OSError):  # EIO: nothing holds the slave any more
            while select.select([master], [], [], 0.3)[0] and (chunk := os.read(master, 4096)):
                echoed += chunk
        return p.returncode, out, err, echoed
    finally:
        os.close(master)
        os.close(slave)


def assert_tiocsti_blocked(rc, out, err, echoed):
    assert rc == 0, err
    res = parse_json(out)
    assert not res["ok"], "TIOCSTI on the caller's terminal succeeded"
    assert res["errno"] in (errno.EPERM, errno.EIO, errno.ENOTTY)
    assert b"X" not in echoed


def test_container_without_terminal_cannot_type_into_callers_tty(rt, bundle):
    b = bundle(["/probe", "tiocsti", "0"])
    b.save()
    assert_tiocsti_blocked(*on_controlling_pty(rt.argv("run", "--bundle", b.path, rt.new_id())))


def test_exec_without_terminal_cannot_type_into_callers_tty(rt, bundle):
    cid = sleeping_container(rt, bundle)
    assert_tiocsti_blocked(*on_controlling_pty(rt.argv("exec", cid, "/probe", "tiocsti", "0")))


# ---- HOME and stdio ownership ----------------------------------------------------------------


def env_home(info):
    return [e for e in info["env"] if e.startswith("HOME=")]


@pytest.mark.parametrize("uid,home", [
    (0, "/root"), (1000, "/home/user"),
    pytest.param(4242, "/", marks=pytest.mark.run_container_only(
        "runc sets HOME=/ for a user without a passwd entry (libcontainer's init, the spec is silent); "
        "crun 1.8.1 leaves it unset"))])
def test_home_from_the_containers_passwd(rt, bundle, uid, home):
    b = bundle()
    b.config["process"]["user"] = {"uid": uid, "gid": uid}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert env_home(parse_json(r.stdout)) == [f"HOME={home}"]


def test_home_for_exec_and_an_explicit_home_kept(rt, bundle):
    cid = sleeping_container(rt, bundle)
    r = rt.cmd("exec", "--user", "1000:1000", cid, "/probe")
    assert r.returncode == 0, r.stderr
    assert env_home(parse_json(r.stdout)) == ["HOME=/home/user"]
    r = rt.cmd("exec", "--env", "HOME=/elsewhere", cid, "/probe")
    assert r.returncode == 0, r.stderr
    assert env_home(parse_json(r.stdout)) == ["HOME=/elsewhere"]


def test_non_root_process_can_reopen_its_stdout_pipe(rt, bundle):
    b = bundle(["/probe", "write", "/proc/self/fd/1", "via-reopen\n"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert "via-reopen" in r.stdout and '"ok":true' in r.stdout.replace(" ", ""), r.stdout


def test_non_root_process_can_reopen_its_tty(rt, bundle, console):
    """process.terminal with a non-root user (podman -t -u 1000): the pty slave is the
    user's, so the process can reopen its terminal."""
    b = bundle(["/probe", "write", "/proc/self/fd/0", "tty-reopened\n"])
    b.config["process"]["terminal"] = True
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    srv = console()
    c = rt.create(b, extra=["--console-socket", srv.path])
    srv.wait_master()
    assert rt.cmd("start", c.cid).returncode == 0
    out = srv.read_all()
    assert "tty-reopened" in out and '"ok":true' in out.replace(" ", ""), out


@pytest.mark.run_container_only("runc chowns the stdio of `exec` to the process user too "
                                "(fixStdioPermissions in setupUser, for every process); crun 1.8.1 only "
                                "for the init")
def test_exec_tty_non_root_can_reopen_its_tty(rt, bundle, console):
    cid = sleeping_container(rt, bundle)
    srv = console()
    r = rt.cmd("exec", "-t", "--detach", "--console-socket", srv.path, "--user", "1000:1000", cid,
               "/probe", "write", "/proc/self/fd/0", "exec-tty-reopened\n")
    assert r.returncode == 0, r.stderr
    srv.wait_master()
    out = srv.read_all()
    assert "exec-tty-reopened" in out and '"ok":true' in out.replace(" ", ""), out
