"""exec: a new process in a running container, seen from inside with the probe; and the
odds and ends of run and the lifecycle that engines rely on (run --keep, --no-subreaper,
delete of a created container, state of a stopped one, kill --all)."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import cap_mask, parse_json, pid_alive, wait_for

NS_NAMES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


def start(rt, b):
    """create + start with the container's output in a file; returns (cid, init pid)."""
    c = rt.create(b)
    r = rt.cmd("start", c.cid)
    assert r.returncode == 0, r.stderr
    return c.cid, rt.state(c.cid)["pid"]


def sleeper(bundle, **kw):
    return bundle(["/probe", "sleep", "600"], **kw)


def ns_of(pid):
    out = {}
    for n in NS_NAMES:
        try:
            out[n] = os.stat(f"/proc/{pid}/ns/{n}").st_ino
        except FileNotFoundError:
            pass
    return out


def exec_probe(rt, cid, *args, extra=()):
    r = rt.cmd("exec", *extra, cid, "/probe", *args)
    assert r.returncode == 0, f"exec failed ({r.returncode}): {r.stderr}"
    return parse_json(r.stdout)


def exec_detached(rt, cid, *args, extra=()):
    """exec --detach with the process' stdio in files (a pipe would stay open with it)."""
    n = getattr(rt, "nexec", 0) + 1
    rt.nexec = n
    out = os.path.join(rt.workdir, f"exec{n}.out")
    err = os.path.join(rt.workdir, f"exec{n}.err")
    with open(out, "w") as fo, open(err, "w") as fe:
        r = rt.cmd("exec", "--detach", *extra, cid, *args, stdout=fo, stderr=fe)
    with open(err) as fe:
        r.stderr = fe.read()
    return r


def caps_of(info, key):
    return int(info["status"][key], 16)


# ---------------------------------------------------------------- namespaces and identity


def test_exec_joins_every_namespace_of_the_init(rt, bundle):
    cid, init = start(rt, sleeper(bundle))
    info = exec_probe(rt, cid, "info")
    want = ns_of(init)
    for n, ino in want.items():
        assert info["ns"][n] == ino, f"{n} namespace differs from the init's"
    assert info["pid"] > 1, "the exec'd process is not inside the pid namespace"
    assert info["ppid"] == 0, "its parent is outside the container"
    assert info["hostname"] == "probe-host"


def test_exec_sees_the_container_root(rt, bundle):
    b = sleeper(bundle)
    with open(os.path.join(b.rootfs, "marker"), "w") as f:
        f.write("inside")
    cid, _ = start(rt, b)
    r = rt.cmd("exec", cid, "/bin/cat", "/marker")
    assert (r.returncode, r.stdout) == (0, "inside"), r.stderr


def test_exec_in_user_namespace(rt, bundle):
    b = sleeper(bundle)
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    subprocess.run(["chown", "-R", "100000:100000", b.rootfs], check=True)
    # the init enters the bundle as the mapped root: the per-test dir is 0700
    os.chmod(os.path.dirname(b.path), 0o755)
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys"]
    c = rt.create(b)
    if rt.state(c.cid)["status"] != "created":
        pytest.skip("user-namespace containers do not get past create yet (the init cannot open "
                    "exec.fifo: state dir 0700, fifo 0600 owned by the host's root)")
    assert rt.cmd("start", c.cid).returncode == 0
    cid, init = c.cid, rt.state(c.cid)["pid"]
    info = exec_probe(rt, cid, "info")
    assert info["ns"]["user"] == ns_of(init)["user"]
    assert info["uid_map"].split() == ["0", "100000", "65536"]
    assert (info["uid"], info["gid"]) == (0, 0)


def test_exec_in_joined_namespaces(rt, bundle):
    """The init's namespaces come from paths (the fork path of create): exec joins those."""
    cid1, init1 = start(rt, sleeper(bundle))
    b = sleeper(bundle)
    b.set_namespace("network", path=f"/proc/{init1}/ns/net")
    b.set_namespace("ipc", path=f"/proc/{init1}/ns/ipc")
    cid2, init2 = start(rt, b)
    info = exec_probe(rt, cid2, "info")
    assert info["ns"]["net"] == ns_of(init1)["net"]
    assert info["ns"]["pid"] == ns_of(init2)["pid"]
    assert info["pid"] > 1


def test_exec_without_pid_namespace(rt, bundle):
    b = sleeper(bundle)
    b.set_namespace("pid", present=False)
    cid, _ = start(rt, b)
    info = exec_probe(rt, cid, "info")
    assert info["ns"]["pid"] == os.stat("/proc/self/ns/pid").st_ino
    assert info["ns"]["mnt"] != os.stat("/proc/self/ns/mnt").st_ino


# ---------------------------------------------------------------- the process' attributes


@pytest.mark.run_container_only("runc's exec starts from the config's process and keeps its rlimits; crun 1.8.1's exec gives the caller's")
def test_exec_inherits_caps_rlimits_no_new_privs(rt, bundle):
    b = sleeper(bundle)
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555}]
    cid, _ = start(rt, b)
    info = exec_probe(rt, cid, "info")
    want = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert caps_of(info, "CapEff") == want
    assert caps_of(info, "CapBnd") == want
    assert info["rlimits"]["nofile"] == [555, 777]
    assert info["no_new_privs"] == 1


@pytest.mark.run_container_only("runc's exec -g (short for --additional-gids); crun 1.8.1 has only the long form")
def test_exec_flags_env_cwd_user_groups(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    info = exec_probe(rt, cid, "info", extra=["-e", "FOO=bar", "--env", "X=1 2", "--cwd", "/tmp",
                                              "-u", "1000:1001", "-g", "5", "--additional-gids", "7"])
    assert "FOO=bar" in info["env"] and "X=1 2" in info["env"]
    assert any(e.startswith("PATH=") for e in info["env"]), "the container's env is kept"
    assert info["cwd"] == "/tmp"
    assert (info["uid"], info["gid"]) == (1000, 1001)
    assert sorted(info["groups"]) == [5, 7]


@pytest.mark.run_container_only("runc's exec --user UID keeps the config's gid; crun 1.8.1 sets gid 0")
def test_exec_user_without_gid_keeps_the_container_gid(rt, bundle):
    b = sleeper(bundle)
    b.config["process"]["user"] = {"uid": 0, "gid": 42}
    cid, _ = start(rt, b)
    info = exec_probe(rt, cid, "info", extra=["--user", "1000"])
    assert (info["uid"], info["gid"]) == (1000, 42)


def test_exec_cap_flag_adds_a_capability(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    info = exec_probe(rt, cid, "info", extra=["--cap", "CAP_CHOWN"])
    assert caps_of(info, "CapEff") & cap_mask(["CAP_CHOWN"])
    assert caps_of(info, "CapBnd") & cap_mask(["CAP_CHOWN"])
    assert not caps_of(info, "CapEff") & cap_mask(["CAP_SYS_ADMIN"])


def test_exec_no_new_privs_flag(rt, bundle):
    b = sleeper(bundle)
    b.config["process"]["noNewPrivileges"] = False
    cid, _ = start(rt, b)
    assert exec_probe(rt, cid, "info")["no_new_privs"] == 0
    assert exec_probe(rt, cid, "info", extra=["--no-new-privs"])["no_new_privs"] == 1


@pytest.mark.run_container_only("runc's exec applies the container's rlimits when process.json has none; crun 1.8.1 gives the caller's")
def test_exec_process_file(rt, bundle, workdir):
    cid, _ = start(rt, sleeper(bundle))
    proc = {"args": ["/probe", "info"], "env": ["ONLY=this"], "cwd": "/dev",
            "user": {"uid": 7, "gid": 8, "additionalGids": [9]}, "terminal": False}
    path = os.path.join(workdir, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = rt.cmd("exec", "--process", path, cid)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert info["argv"] == ["/probe", "info"]
    # runc adds HOME=/ for uid 7, which has no passwd entry (test_preexec.py); crun does not
    assert [e for e in info["env"] if not e.startswith("HOME=")] == ["ONLY=this"]
    assert (info["cwd"], info["uid"], info["gid"], info["groups"]) == ("/dev", 7, 8, [9])
    # capabilities and rlimits absent from the document: the container's
    assert caps_of(info, "CapBnd") == cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert info["rlimits"]["nofile"] == [1024, 1024]


def test_exec_process_file_overrides_caps(rt, bundle, workdir):
    cid, _ = start(rt, sleeper(bundle))
    caps = ["CAP_KILL"]
    proc = {"args": ["/probe", "info"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}}
    path = os.path.join(workdir, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = rt.cmd("exec", "-p", path, cid)
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert caps_of(info, "CapEff") == cap_mask(caps)


@pytest.mark.run_container_only("run-container's error text")
def test_exec_invalid_process_file(rt, bundle, workdir):
    cid, _ = start(rt, sleeper(bundle))
    path = os.path.join(workdir, "process.json")
    with open(path, "w") as f:
        json.dump({"args": "not-a-list", "cwd": "/"}, f)
    r = rt.cmd("exec", "--process", path, cid)
    assert r.returncode == 255  # runc: "exec failed", 255
    assert "process.json" in r.stderr and ".args" in r.stderr


def test_exec_gets_the_container_seccomp_filter(rt, bundle):
    b = sleeper(bundle)
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    cid, _ = start(rt, b)
    info = exec_probe(rt, cid, "info")
    assert info["status"]["Seccomp"] == "2", "no seccomp filter on the exec'd process"
    r = rt.cmd("exec", cid, "/bin/mkdir", "/tmp/x")
    assert r.returncode != 0 and "not permitted" in r.stderr.lower(), r.stderr


def test_exec_preserve_fds(rt, bundle, workdir):
    cid, _ = start(rt, sleeper(bundle))
    data = os.path.join(workdir, "fd3.txt")
    with open(data, "w") as f:
        f.write("three")
    argv = ["sh", "-c", 'exec 3<"$0"; exec "$@"', data] + rt.argv("exec", "--preserve-fds", "1", cid,
                                                                   "/probe", "fd", "3")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["data"] == "three"
    # without --preserve-fds the fd does not reach the process
    argv = ["sh", "-c", 'exec 3<"$0"; exec "$@"', data] + rt.argv("exec", cid, "/probe", "fd", "3")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0


def test_exec_leaks_no_runtime_fds(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    info = exec_probe(rt, cid, "info")
    assert sorted(info["fds"]) == ["0", "1", "2"], info["fds"]


# ---------------------------------------------------------------- status, signals, detach


def test_exec_exit_status(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    assert rt.cmd("exec", cid, "/probe", "exit", "7").returncode == 7
    assert rt.cmd("exec", cid, "/probe", "kill", "15").returncode == 128 + 15


def test_exec_forwards_signals(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    p = rt.popen("exec", cid, "/probe", "sigwait", "2", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGUSR1)
    assert p.stdout.readline().strip() == f"signal {int(signal.SIGUSR1)}"
    p.send_signal(signal.SIGHUP)
    assert p.stdout.readline().strip() == f"signal {int(signal.SIGHUP)}"
    assert p.wait(timeout=20) == 0


def test_exec_detach_pid_file(rt, bundle, workdir):
    cid, init = start(rt, sleeper(bundle))
    pid_file = os.path.join(workdir, "exec.pid")
    r = exec_detached(rt, cid, "/probe", "sleep", "600", extra=["--pid-file", pid_file])
    assert r.returncode == 0, r.stderr
    pid = int(open(pid_file).read())
    assert pid_alive(pid)
    with open(f"/proc/{pid}/status") as f:
        nspid = [line.split()[1:] for line in f if line.startswith("NSpid:")][0]
    assert nspid[0] == str(pid) and len(nspid) == 2 and nspid[1] != "1", nspid
    assert os.stat(f"/proc/{pid}/ns/pid").st_ino == os.stat(f"/proc/{init}/ns/pid").st_ino
    # killing the container takes the exec'd process with it (same pid namespace)
    assert rt.cmd("kill", cid, "KILL").returncode == 0
    wait_for(lambda: not pid_alive(pid), what="exec'd process to die")


@pytest.mark.run_container_only("run-container's error texts")
def test_exec_missing_executable(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    r = rt.cmd("exec", cid, "/no/such/binary")
    assert r.returncode == 255  # as runc's "exec failed"
    assert "no such file or directory" in r.stderr
    r = rt.cmd("exec", cid, "nosuchcommand")
    assert r.returncode == 255
    assert "executable file not found in $PATH" in r.stderr


def test_exec_in_created_container(rt, bundle):
    """runc (and crun) exec into a created container: its namespaces exist already."""
    b = sleeper(bundle)
    c = rt.create(b)
    r = rt.cmd("exec", c.cid, "/probe", "info")
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert info["hostname"] == b.config["hostname"]
    assert rt.state(c.cid)["status"] == "created", "exec must not start the container"
    assert rt.cmd("start", c.cid).returncode == 0
    assert rt.state(c.cid)["status"] == "running"


@pytest.mark.run_container_only("run-container's error text")
def test_exec_in_stopped_container_refused(rt, bundle):
    c = rt.create(bundle(["/probe", "exit", "0"]))
    assert rt.cmd("start", c.cid).returncode == 0
    rt.wait_status(c.cid, "stopped")
    r = rt.cmd("exec", c.cid, "/probe", "info")
    assert r.returncode == 255 and "stopped" in r.stderr, r.stderr


@pytest.mark.run_container_only("run-container's error text")
def test_exec_unknown_container(rt):
    r = rt.cmd("exec", "nosuchcontainer", "/probe")
    assert r.returncode == 255 and "does not exist" in r.stderr


@pytest.mark.run_container_only("run-container's error texts and checks: crun 1.8.1 accepts an unknown --cap and any --cgroup without a cgroup manager")
@pytest.mark.parametrize("args,msg,code", [
    ((), "requires a command or --process", 1),
    (("--cap", "CAP_NOPE"), "unknown capability", 1),
    (("--user", "root"), "invalid --user", 1),
    # found while preparing the process: "exec failed" (255) as in runc
    (("--cgroup", "nosuch"), "exec --cgroup \"nosuch\"", 255),  # no cgroup, or no such sub-cgroup
    (("--cgroup", "a/../.."), "exec --cgroup", 255),
    (("--tty", "--detach"), "console-socket", 255),
])
def test_exec_usage_errors(rt, bundle, args, msg, code):
    cid, _ = start(rt, sleeper(bundle))
    cmd = list(args) + [cid] + ([] if not args else ["/probe", "info"])
    r = rt.cmd("exec", *cmd)
    assert r.returncode == code and msg in r.stderr, r.stderr


@pytest.mark.run_container_only("run-container's error text")
def test_exec_apparmor_flag_without_apparmor(rt, bundle):
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            if f.read().startswith("Y"):
                pytest.skip("AppArmor is enabled on this host")
    except FileNotFoundError:
        pass
    cid, _ = start(rt, sleeper(bundle))
    r = rt.cmd("exec", "--apparmor", "some-profile", cid, "/probe", "info")
    assert r.returncode == 255 and "AppArmor is not enabled" in r.stderr


def test_exec_tty_console_socket(rt, bundle, workdir):
    from conftest import ConsoleServer

    cid, _ = start(rt, sleeper(bundle))
    srv = ConsoleServer(os.path.join(workdir, "exec-console.sock"))
    try:
        # the process waits for a line: its output must not end before we read the master
        r = exec_detached(rt, cid, "/bin/sh", "-c", "read x; exec /probe dev",
                          extra=["--tty", "--console-socket", srv.path])
        assert r.returncode == 0, r.stderr
        os.write(srv.wait_master(), b"go\n")
        d = parse_json(srv.read_all())
        assert d["tty"]["open_errno"] == 0, "the pty is not the controlling terminal"
    finally:
        srv.close()


# ---------------------------------------------------------------- run and lifecycle odds


@pytest.mark.run_container_only("runc's run --keep; crun 1.8.1 has no --keep")
def test_run_keep_then_state_and_delete(rt, bundle):
    cid = rt.new_id()
    r = rt.run(bundle(["/probe", "exit", "3"]), cid=cid, extra=["--keep"])
    assert r.returncode == 3, r.stderr
    st = rt.state(cid)
    assert st["status"] == "stopped"
    assert rt.cmd("delete", cid).returncode == 0
    assert rt.cmd("state", cid).returncode == 1


def test_run_no_subreaper_still_passes_the_status(rt, bundle):
    assert rt.run(bundle(["/probe", "exit", "9"]), extra=["--no-subreaper"]).returncode == 9


def test_run_no_subreaper_with_joined_namespace(rt, bundle):
    """The init comes from the fork path of create; it is still run's child."""
    cid1, init1 = start(rt, sleeper(bundle))
    b = bundle(["/probe", "exit", "6"])
    b.set_namespace("network", path=f"/proc/{init1}/ns/net")
    assert rt.run(b, extra=["--no-subreaper"]).returncode == 6


@pytest.mark.run_container_only("runtime.md: 'Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error'; runc and crun delete a created one")
def test_delete_created_container_refused_without_force(rt, bundle):
    c = rt.create(sleeper(bundle))
    r = rt.cmd("delete", c.cid)
    assert r.returncode == 1 and "created" in r.stderr, r.stderr
    assert rt.state(c.cid)["status"] == "created"
    assert rt.cmd("delete", "--force", c.cid).returncode == 0


@pytest.mark.run_container_only("crun --cgroup-manager=disabled (how this host runs it) finds a container's processes only through its cgroup, so kill --all reaches only the init")
def test_kill_all_reaches_exec_processes(rt, bundle, workdir):
    cid, init = start(rt, sleeper(bundle))
    pid_file = os.path.join(workdir, "exec.pid")
    r = exec_detached(rt, cid, "/probe", "sleep", "600", extra=["--pid-file", pid_file])
    assert r.returncode == 0, r.stderr
    pid = int(open(pid_file).read())
    # pid 1 of the namespace has no handler: TERM from outside leaves it alone
    assert rt.cmd("kill", cid, "TERM").returncode == 0
    time.sleep(0.3)
    assert pid_alive(pid), "kill without --all reached the exec'd process"
    assert rt.cmd("kill", "--all", cid, "TERM").returncode == 0
    wait_for(lambda: not pid_alive(pid), what="exec'd process to die")
    assert pid_alive(init)


# ---------------------------------------------------------------- cgroups (real under tests/vm)


def cgroup_v2():
    r = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True, text=True)
    return r.stdout.strip() == "cgroup2fs"


def unified_cgroup(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        return [line.split(":", 2)[2].strip() for line in f if line.startswith("0::")][0]


def test_exec_joins_the_container_cgroup(rt, bundle):
    cid, init = start(rt, sleeper(bundle))
    if not cgroup_v2() or unified_cgroup(init) == unified_cgroup(os.getpid()):
        pytest.skip("the container has no cgroup of its own (no cgroup v2 here); runs under tests/vm")
    r = exec_detached(rt, cid, "/probe", "sleep", "600", extra=["--pid-file", os.path.join(rt.workdir, "e.pid")])
    assert r.returncode == 0, r.stderr
    pid = int(open(os.path.join(rt.workdir, "e.pid")).read())
    assert unified_cgroup(pid) == unified_cgroup(init)


def test_exec_into_a_sub_cgroup(rt, bundle):
    cid, init = start(rt, sleeper(bundle))
    if not cgroup_v2() or unified_cgroup(init) == unified_cgroup(os.getpid()):
        pytest.skip("the container has no cgroup of its own (no cgroup v2 here); runs under tests/vm")
    sub = os.path.join("/sys/fs/cgroup", unified_cgroup(init).lstrip("/"), "sub")
    os.mkdir(sub)
    r = exec_detached(rt, cid, "/probe", "sleep", "600",
                      extra=["--cgroup", "sub", "--pid-file", os.path.join(rt.workdir, "e.pid")])
    assert r.returncode == 0, r.stderr
    pid = int(open(os.path.join(rt.workdir, "e.pid")).read())
    assert unified_cgroup(pid) == unified_cgroup(init) + "/sub"
