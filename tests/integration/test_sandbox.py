"""`run-container sandbox`: overlay roots, exit statuses, timeout, report, process options,
network flags, and crash-safe cleanup (kill -9 of the sandbox process, then `gc`).

The base is the session's busybox rootfs; sandboxes use the test's own --root. Limits
cannot be enforced on this hybrid-cgroup host: here they fail closed or run with
--cgroup-manager=disabled; real limits and the OOM report are in tests/vm/sandbox_tests.py.
Network tests run the runtime inside a network namespace the test creates.
"""

import hashlib
import json
import os
import pty
import random
import signal
import subprocess
import time

import pytest

from conftest import pid_alive, pids_with_token, read_pty, wait_for

pytestmark = pytest.mark.run_container_only("sandbox is run-container's own command")

REPORT_KEYS = {"id", "exit_code", "signal", "reason", "wall_time_us", "user_cpu_us", "system_cpu_us",
               "memory_peak_bytes", "pids_peak", "io_read_bytes", "io_write_bytes", "oom_kills",
               "usage_source", "rootfs", "image", "stop_signal", "stop_timeout_expired",
               "memory_peak_null_reason", "max_rss_bytes", "job_started"}


def tree_digest(path):
    """A digest of names, types, modes, sizes, link targets and file contents under path."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, path)} {st.st_mode} {st.st_size}\n".encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


class Sandbox:
    def __init__(self, rt, rootfs):
        self.rt = rt
        self.rootfs = rootfs

    def argv(self, *args, global_args=(), rootfs=True):
        base = ["sandbox", "--no-gc"] + (["--rootfs", self.rootfs] if rootfs else [])
        return self.rt.argv(*base, *args, global_args=global_args)

    def run(self, *args, global_args=(), rootfs=True, timeout=60, input=None, **kw):
        kw.setdefault("capture_output", True)
        if input is None:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self.argv(*args, global_args=global_args, rootfs=rootfs), text=True,
                              timeout=timeout, input=input, **kw)

    def report(self, *args, **kw):
        path = os.path.join(self.rt.workdir, f"report-{random.randrange(1 << 30)}.json")
        r = self.run("--report", path, *args, **kw)
        with open(path) as f:
            return r, json.load(f)

    def popen(self, *args, global_args=(), **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.argv(*args, global_args=global_args), **kw)
        self.rt.procs.append(p)
        return p


@pytest.fixture
def sb(rt, base_rootfs):
    s = Sandbox(rt, base_rootfs)
    yield s
    subprocess.run(rt.argv("gc", "-q"), capture_output=True, timeout=60)


def wait_running(rt, cid, timeout=15):
    """The sandbox's container, once running (it may not exist yet)."""
    def running():
        r = rt.cmd("state", cid)
        return r.returncode == 0 and json.loads(r.stdout)["status"] == "running" and json.loads(r.stdout)
    return wait_for(running, timeout=timeout, what=f"sandbox {cid} running")


def leftovers(rt):
    """What a sandbox may leave on the host: state and journal entries, mounts (a job's
    processes are checked by the tests themselves: their /proc/PID/root shows "/"). The
    runtime's cache of compiled seccomp filters stays on purpose (runtime/isolation/seccomp_cache.h):
    it holds files only, no container's."""
    found = []
    for entry in os.listdir(rt.root):
        if entry not in ("@sandbox", "@seccomp-cache"):
            found.append(f"state dir {entry}")
    cache = os.path.join(rt.root, "@seccomp-cache")
    if os.path.isdir(cache):
        found += [f"seccomp cache entry {e}" for e in os.listdir(cache)
                  if not os.path.isfile(os.path.join(cache, e)) or e.startswith(".")]
    sdir = os.path.join(rt.root, "@sandbox")
    if os.path.isdir(sdir):
        found += [f"sandbox entry {e}" for e in os.listdir(sdir)]
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.split()[4]}" for line in f if rt.root in line]
    return found


# ---------------------------------------------------------------- exit statuses


def test_exit_status_is_the_jobs(sb):
    assert sb.run("--", "true").returncode == 0
    assert sb.run("--", "sh", "-c", "exit 7").returncode == 7


def test_command_not_found_is_127(sb):
    r = sb.run("--", "no-such-command")
    assert r.returncode == 127, r.stderr
    assert "not found" in r.stderr


def test_command_not_executable_is_126(sb):
    r = sb.run("--", "/etc/passwd")
    assert r.returncode == 126, r.stderr


def test_runtime_failure_is_125(sb, workdir):
    r = sb.run("--rootfs", os.path.join(workdir, "missing"), "--", "true", rootfs=False)
    assert r.returncode == 125
    assert "--rootfs" in r.stderr and "No such file" in r.stderr
    r = sb.run("--", rootfs=True)  # no command and no image to take one from
    assert r.returncode == 125 and "no command" in r.stderr


def test_killed_by_a_signal_is_128_plus_n(sb, rt):
    report = os.path.join(rt.workdir, "r.json")
    p = sb.popen("--name", "sig1", "--report", report, "--", "sleep", "60",
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    st = wait_running(rt, "sig1")
    os.kill(st["pid"], signal.SIGKILL)  # from outside its pid namespace: pid 1 dies too
    assert p.wait(timeout=30) == 128 + signal.SIGKILL
    with open(report) as f:
        rep = json.load(f)
    assert rep["reason"] == "signaled" and rep["signal"] == signal.SIGKILL
    assert rep["exit_code"] == 137


# ---------------------------------------------------------------- overlay root


def test_writes_never_reach_the_base(sb, base_rootfs):
    before = tree_digest(base_rootfs)
    r = sb.run("--", "sh", "-c", "echo new > /new && echo changed >> /etc/hostname && rm /etc/passwd && "
               "mkdir -p /a/b && rm -r /home && cat /new && ! test -e /etc/passwd")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "new\n"
    assert tree_digest(base_rootfs) == before
    assert os.path.exists(os.path.join(base_rootfs, "etc", "passwd"))


def test_deleted_base_file_is_gone_only_inside(sb, base_rootfs):
    r = sb.run("--", "sh", "-c", "rm /etc/group; ls /etc/group")
    assert r.returncode != 0 and "No such file" in r.stderr
    assert os.path.isfile(os.path.join(base_rootfs, "etc", "group"))
    assert sb.run("--", "test", "-f", "/etc/group").returncode == 0  # a fresh sandbox sees it


def test_upper_keeps_the_changes(sb, base_rootfs, workdir):
    upper = os.path.join(workdir, "keep")
    before = tree_digest(base_rootfs)
    assert sb.run("--upper", upper, "--", "sh", "-c", "echo kept > /kept; rm /etc/group").returncode == 0
    assert open(os.path.join(upper, "upper", "kept")).read() == "kept\n"
    # the deletion is an overlayfs whiteout in the upper layer
    assert os.stat(os.path.join(upper, "upper", "etc", "group")).st_rdev == 0
    r = sb.run("--upper", upper, "--", "sh", "-c", "cat /kept; test -e /etc/group || echo nogroup")
    assert r.stdout == "kept\nnogroup\n", r.stderr
    assert tree_digest(base_rootfs) == before


def test_read_only_refuses_writes(sb, base_rootfs):
    r = sb.run("--read-only", "--", "sh", "-c", "echo x > /x")
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr
    assert not os.path.exists(os.path.join(base_rootfs, "x"))
    assert sb.run("--read-only", "--", "cat", "/etc/passwd").returncode == 0
    r = sb.run("--read-only", "--upper", "/tmp/x", "--", "true")
    assert r.returncode == 125


def test_root_is_an_overlay_and_nothing_is_mounted_on_the_host(sb, rt):
    p = sb.popen("--name", "ovl1", "--", "sleep", "30")
    wait_running(rt, "ovl1")
    with open("/proc/self/mountinfo") as f:
        assert rt.root not in f.read()
    r = subprocess.run(rt.argv("exec", "ovl1", "cat", "/proc/self/mounts"), capture_output=True, text=True,
                       timeout=30)
    assert r.stdout.split("\n")[0].split()[:3] == ["overlay", "/", "overlay"], r.stdout
    p.kill()
    p.wait(timeout=30)


# ---------------------------------------------------------------- timeout and report


def test_timeout_kills_the_whole_tree(sb, rt):
    t0 = time.monotonic()
    r, rep = sb.report("--timeout", "1s", "--", "sh", "-c", "sleep 100 & sleep 100 & wait")
    elapsed = time.monotonic() - t0
    assert r.returncode == 137, r.stderr
    assert rep["reason"] == "timeout" and rep["signal"] == signal.SIGKILL
    assert 1 <= elapsed < 15
    assert 1_000_000 <= rep["wall_time_us"] < 15_000_000
    assert leftovers(rt) == []


def test_report_fields(sb):
    r, rep = sb.report("--", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3")
    assert r.returncode == 3
    assert set(rep) == REPORT_KEYS
    assert rep["exit_code"] == 3 and rep["reason"] == "exited" and rep["signal"] is None
    assert rep["user_cpu_us"] + rep["system_cpu_us"] > 0
    # no cgroup: wait4's figure is one process's, not the job's: no peak, and why
    assert rep["memory_peak_bytes"] is None and "no cgroup" in rep["memory_peak_null_reason"]
    assert rep["max_rss_bytes"] > 0
    assert rep["wall_time_us"] > 0
    assert rep["rootfs"] == sb.rootfs and rep["image"] is None
    # no cgroup on this host: usage from wait4, the rest unknown
    assert rep["usage_source"] == "rusage"
    assert rep["pids_peak"] is None and rep["io_read_bytes"] is None and rep["oom_kills"] is None


def test_report_to_stderr_and_on_failure(sb, workdir):
    r = sb.run("--report", "-", "--", "true")
    rep = json.loads(r.stderr[r.stderr.index("{"):])
    assert rep["reason"] == "exited" and rep["exit_code"] == 0
    path = os.path.join(workdir, "fail.json")
    r = sb.run("--report", path, "--rootfs", "/nonexistent", "--", "true", rootfs=False)
    assert r.returncode == 125
    rep = json.load(open(path))
    assert rep["reason"] == "error" and rep["exit_code"] == 125 and "--rootfs" in rep["error"]


# ---------------------------------------------------------------- process options


def test_env_workdir_user_hostname(sb, workdir):
    env_file = os.path.join(workdir, "env")
    with open(env_file, "w") as f:
        f.write("# comment\nA=from-file\n\nB=two words\n")
    os.environ["RC_SANDBOX_TEST_PASS"] = "passed"
    r = sb.run("-e", "C=3", "--env-file", env_file, "-e", "A=from-flag", "-e", "RC_SANDBOX_TEST_PASS",
               "-w", "/tmp", "-u", "1000:1001", "--hostname", "sbhost", "--",
               "sh", "-c", 'echo "$A|$B|$C|$RC_SANDBOX_TEST_PASS"; pwd; id -u; id -g; hostname')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == ["from-flag|two words|3|passed", "/tmp", "1000", "1001", "sbhost"]


def test_user_by_name_from_the_base(sb):
    r = sb.run("-u", "nobody", "--", "sh", "-c", "id -u; id -g")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["65534", "65534"]
    assert sb.run("-u", "no-such-user", "--", "true").returncode == 125


def test_volumes_and_tmpfs(sb, workdir):
    vol = os.path.join(workdir, "vol")
    os.mkdir(vol)
    with open(os.path.join(vol, "in"), "w") as f:
        f.write("hello\n")
    r = sb.run("-v", f"{vol}:/data", "-v", f"{vol}:/ro:ro", "--tmpfs", "/scratch", "--",
               "sh", "-c", "cat /data/in; echo out > /data/out; echo no > /ro/x; "
                           "grep ' /scratch ' /proc/mounts; echo s > /scratch/s && cat /scratch/s")
    assert "hello" in r.stdout
    assert open(os.path.join(vol, "out")).read() == "out\n"
    assert not os.path.exists(os.path.join(vol, "x"))
    assert "Read-only file system" in r.stderr
    assert "tmpfs /scratch tmpfs" in r.stdout and r.stdout.endswith("s\n")


def test_stdin_is_passed_through(sb):
    r = sb.run("--", "sh", "-c", "cat; echo done", input="line one\nline two\n")
    assert r.stdout == "line one\nline two\ndone\n"


def test_terminal(sb):
    master, slave = pty.openpty()
    p = subprocess.Popen(sb.argv("-t", "--", "sh", "-c", "test -t 0 && test -t 1 && echo tty-ok; exit 4"),
                         stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = read_pty(master, 60)
    os.close(master)
    assert p.wait(timeout=30) == 4
    assert b"tty-ok" in out


def test_capabilities_and_seccomp(sb):
    def status(*args):
        r = sb.run(*args, "--", "cat", "/proc/self/status")
        assert r.returncode == 0, r.stderr
        return dict(line.split(":\t", 1) for line in r.stdout.splitlines() if ":\t" in line)

    default = status()
    assert default["Seccomp"].strip() == "2"  # the default profile is on
    assert int(default["CapEff"], 16) & (1 << 21) == 0  # no CAP_SYS_ADMIN
    assert int(status("--cap-drop", "ALL")["CapEff"], 16) == 0
    assert int(status("--cap-add", "SYS_ADMIN")["CapEff"], 16) & (1 << 21)
    assert status("--security-opt", "seccomp=unconfined")["Seccomp"].strip() == "0"
    assert sb.run("--cap-add", "NOT_A_CAP", "--", "true").returncode == 125


def test_ulimit(sb):
    r = sb.run("--ulimit", "nofile=100:200", "--", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert r.stdout.split() == ["100", "200"], r.stderr


def test_net_none_has_only_lo(sb):
    r = sb.run("--", "sh", "-c", "cat /proc/net/dev; ip link")
    assert r.returncode == 0, r.stderr
    ifaces = [l.split(":")[0].strip() for l in r.stdout.splitlines()[2:] if ":" in l and "|" not in l]
    assert ifaces[0] == "lo" and all(not i or i[0].isdigit() or i == "lo" or i.startswith("link/")
                                      for i in ifaces), r.stdout
    assert "lo: <LOOPBACK,UP" in r.stdout
    assert sb.run("-p", "8080:80", "--", "true").returncode == 125  # ports need a network


def test_net_host_shares_the_hosts_interfaces(sb):
    r = sb.run("--net", "host", "--", "cat", "/proc/net/dev")
    with open("/proc/net/dev") as f:
        host = sorted(l.split(":")[0].strip() for l in f.readlines()[2:])
    assert sorted(l.split(":")[0].strip() for l in r.stdout.splitlines()[2:]) == host


# ---------------------------------------------------------------- limits on this host


def test_limits_fail_closed_without_cgroup_v2(sb):
    with open("/proc/self/mountinfo") as f:
        if any(l.split()[4] == "/sys/fs/cgroup" and " - cgroup2 " in l for l in f):
            pytest.skip("pure cgroup v2 host: limits are enforced (tests/vm covers that)")
    r = sb.run("-m", "64m", "--", "true")
    assert r.returncode == 125
    assert "memory" in r.stderr and "--cgroup-manager=disabled" in r.stderr
    r = sb.run("-m", "64m", "--pids-limit", "20", "--cpus", "0.5", "--io-weight", "100", "--", "echo", "ran",
               global_args=["--cgroup-manager=disabled"])
    assert r.returncode == 0 and r.stdout == "ran\n"
    assert "not enforced" in r.stderr
    assert sb.run("-m", "lots", "--", "true").returncode != 0


# ---------------------------------------------------------------- listing and cleanup


def test_listed_as_a_sandbox_and_cleaned_up(sb, rt):
    p = sb.popen("--name", "listed1", "--", "sleep", "30")
    wait_running(rt, "listed1")
    r = rt.cmd("list", "--format", "json")
    entry = [c for c in json.loads(r.stdout) if c["id"] == "listed1"][0]
    assert entry["annotations"]["run-container.sandbox"] == "true"
    # gc leaves a live sandbox alone
    assert rt.cmd("gc").returncode == 0
    assert rt.state("listed1")["status"] == "running"
    p.kill()  # SIGKILL of the sandbox process: the job dies with it
    p.wait(timeout=30)
    wait_for(lambda: rt.state("listed1")["status"] == "stopped", what="the job to die with the sandbox")
    r = rt.cmd("gc")
    assert r.returncode == 0 and "removed 1 sandbox" in r.stdout
    assert leftovers(rt) == []


def test_gc_leaves_other_containers_alone(sb, rt, bundle):
    b = bundle(["sleep", "30"])
    c = rt.create(b)
    assert rt.cmd("gc").returncode == 0
    assert rt.state(c.cid)["status"] == "created"


def test_kill_minus_9_then_gc_leaves_nothing(sb, rt, workdir):
    """50 sandboxes killed with SIGKILL at random moments (during setup, while running,
    during teardown), some keeping an --upper on disk or a --commit upper; then one gc."""
    rnd = random.Random(os.getpid())
    marker = f"29.{os.getpid()}"  # the job's `sleep` argument: it must die with its sandbox
    deadline = time.monotonic() + 100
    for i in range(50):
        extra = []
        if i % 5 == 1:
            extra = ["--upper", os.path.join(workdir, f"up{i}")]
        elif i % 5 == 2:
            extra = ["--read-only"]
        p = sb.popen("--name", f"k9-{i}", *extra, "--", "sh", "-c", f"echo x > /tmp/x 2>/dev/null; exec sleep {marker}",
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.12))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        assert time.monotonic() < deadline, "the kill loop is too slow"
    r = rt.cmd("gc", timeout=120)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: leftovers(rt) == [], timeout=10, what=f"no leftovers (have {leftovers(rt)})")
    # every job died with its sandbox (zombies waiting for the host's init do not count)
    wait_for(lambda: pids_with_token(marker) == [] or all(not pid_alive(p) for p in pids_with_token(marker)),
             timeout=10, what="no job left running")


def test_gc_runs_at_the_start_of_a_sandbox(sb, rt):
    p = sb.popen("--name", "orphan1", "--", "sleep", "30")
    wait_running(rt, "orphan1")
    p.kill()
    p.wait(timeout=30)
    r = subprocess.run(rt.argv("sandbox", "--rootfs", sb.rootfs, "--", "true"), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert leftovers(rt) == []


# ---------------------------------------------------------------- images (runtime/image/image.h)


@pytest.fixture(scope="module")
def busybox_layout(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("layout") / "busybox")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run(["bash", os.path.join(repo, "rootfs-examples", "busybox-image.sh"), out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build the busybox image layout: {r.stderr[-300:]}")
    return out


def test_image_default_command_and_commit(sb, workdir, busybox_layout):
    cache = os.path.join(workdir, "cache")
    dest = os.path.join(workdir, "committed")
    r = sb.run("--image", busybox_layout, "--image-cache", cache, rootfs=False, input="echo default-cmd\n")
    assert r.returncode == 0 and r.stdout == "default-cmd\n", r.stderr  # the image's CMD: /bin/sh
    r = sb.run("--image", busybox_layout, "--image-cache", cache, "--commit", f"{dest}:v1", "--",
               "sh", "-c", "echo snap > /etc/motd && rm /etc/group", rootfs=False)
    assert r.returncode == 0, r.stderr
    r = sb.run("--image", f"{dest}:v1", "--image-cache", cache, "--", "sh", "-c",
               "cat /etc/motd; test -e /etc/group || echo no-group", rootfs=False)
    assert r.stdout == "snap\nno-group\n", r.stderr
    r, rep = sb.report("--image", busybox_layout, "--image-cache", cache, "--read-only", "--",
                       "sh", "-c", "touch /x", rootfs=False)
    assert r.returncode != 0 and "Read-only" in r.stderr
    assert rep["image"] == busybox_layout and rep["rootfs"] is None


# ---------------------------------------------------------------- network (inside a test netns)

from test_network import host, nrt  # noqa: E402,F401  (fixtures: a test-made network namespace)


def sandbox_veths(host):
    return [l for l in host.links() if l not in ("lo", "rc0")]


def test_network_attach_then_kill_minus_9_and_gc(nrt, host, base_rootfs):
    argv = ["sandbox", "--no-gc", "--rootfs", base_rootfs, "--net", "default", "-p", "8090:80/tcp"]
    r = nrt.cmd(*argv, "--", "sh", "-c", "ip -4 addr show eth0; ip link | grep -c ': eth0'")
    assert r.returncode == 0, r.stderr
    assert "inet 10.90.0." in r.stdout
    # the address and the port are released before sandbox returns; the veth's deletion is
    # left to a child it does not wait for (the kernel's RCU barrier), gone a moment later
    assert nrt.leases() == [] and nrt.claims() == [] and nrt.nft_set("ports") == []
    wait_for(lambda: sandbox_veths(host) == [], timeout=10, what="the sandbox's veth to go")
    p = subprocess.Popen(nrt.argv(*argv, "--name", "netk9", "--", "sleep", "60"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nrt.procs.append(p)
    wait_for(lambda: nrt.leases() and sandbox_veths(host), timeout=20, what="the sandbox's lease and veth")
    assert nrt.claims() == ["tcp-8090"]
    p.kill()
    p.wait(timeout=30)
    r = nrt.cmd("gc")
    assert r.returncode == 0 and "removed 1 sandbox" in r.stdout, r.stderr
    assert nrt.leases() == [] and nrt.claims() == [] and nrt.nft_set("ports") == []
    wait_for(lambda: sandbox_veths(host) == [], timeout=10, what="no veth left")
    assert leftovers(nrt) == []


def test_attach_with_firewall_in_place_does_not_load_nftables(nrt, host, base_rootfs):
    """Once a network's nft elements are in the table, attaching a container without
    published ports only reads them back (raw nfnetlink): libnftables is never loaded."""
    argv = ["sandbox", "--no-gc", "--rootfs", base_rootfs, "--net", "default"]
    r = nrt.cmd(*argv, "--", "/bin/true")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: sandbox_veths(host) == [], timeout=10, what="the first sandbox's veth to go")
    p = subprocess.Popen(nrt.argv(*argv, "--", "sleep", "60"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    nrt.procs.append(p)
    wait_for(lambda: nrt.leases() and sandbox_veths(host), timeout=20, what="the sandbox's lease and veth")
    with open(f"/proc/{p.pid}/cmdline", "rb") as f:
        assert b"sandbox" in f.read(), "p.pid is the runtime itself (nsenter execs it)"
    with open(f"/proc/{p.pid}/maps") as f:
        maps = f.read()
    assert "libnftables" not in maps
    assert nrt.nft_set("bridges"), "the elements are there all the same"
    p.kill()
    p.wait(timeout=30)
    assert nrt.cmd("gc").returncode == 0
    wait_for(lambda: sandbox_veths(host) == [], timeout=10, what="no veth left")
