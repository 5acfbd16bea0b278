#!/usr/bin/python3
"""The systemd cgroup driver suite: runs INSIDE the tests/vm guest booted with systemd as
PID 1 (run-in-vm.sh --systemd), started by tests/vm/vm-tests.sh.

    systemd_tests.py RUNTIME WORKDIR [TEST...]

Every command gets --systemd-cgroup, as containerd's runc shim passes it. Each test
checks the container's transient scope from systemd's side (systemctl) and from the
cgroup files. Then the engines that ask for the systemd driver: podman with
--cgroup-manager=systemd and containerd's runc v2 shim with the options BinaryName and
SystemdCgroup (ctr run --runc-binary --runc-systemd-cgroup), each with run-container and,
side by side, Debian's crun. They run straight in the guest (it is thrown away), with
tests/integration/engines/ driving them. Prints "ok - NAME" / "FAIL - NAME: why" per test,
then "N passed, N failed".
"""

import json
import os
import signal
import subprocess
import sys
import time

import cgroup_tests
from cgroup_tests import keyed, read
from vmsuite import CG, MiB, Registry, check, run, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from engines.containerd import Containerd  # noqa: E402
from engines.podman import Podman  # noqa: E402

MANAGER = ["--systemd-cgroup"]
IMAGE = "localhost/rc-busybox:latest"
CRUN = "/usr/bin/crun"


def systemctl(*args, check_rc=True):
    r = subprocess.run(["systemctl", "--no-pager", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if check_rc and r.returncode != 0:
        raise cgroup_tests.Fail(f"systemctl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def unit_props(unit, *names):
    out = systemctl("show", "-p", ",".join(names), unit).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def unit_active(unit):
    return systemctl("is-active", unit, check_rc=False).stdout.strip()


class Suite(cgroup_tests.Suite):
    def rc(self, *args, glob=(), **kw):
        return super().rc(*args, glob=tuple(MANAGER) + tuple(glob), **kw)

    def unit(self, cid):
        return os.path.basename(self.cgdir(cid))

    def delete(self, cid, force=True):
        unit = self.unit(cid)
        super().delete(cid, force)
        check(unit_active(unit) != "active", f"delete left unit {unit} active")


test = Registry()


@test
def scope_with_memory_and_pids_limits(s):
    """The default scope (system.slice, run-container-ID.scope): its properties and files
    have the limits, systemctl status lists the processes, delete removes it."""
    b = s.bundle(["sh", "-c", "sleep 1000 & exec sleep 1001"],
                 resources={"memory": {"limit": 64 * MiB, "swap": 64 * MiB}, "pids": {"limit": 20}})
    cid = s.start(b)
    st = s.saved_state(cid)
    check(st["cgroupPath"] == f"/system.slice/run-container-{cid}.scope", f"cgroupPath {st['cgroupPath']}")
    check(st.get("systemdCgroup") is True, "systemdCgroup not true in the state")
    unit, d = s.unit(cid), s.cgdir(cid)
    p = unit_props(unit, "ActiveState", "Delegate", "MemoryMax", "TasksMax", "Slice", "ControlGroup")
    check(p == {"ActiveState": "active", "Delegate": "yes", "MemoryMax": str(64 * MiB), "TasksMax": "20",
                "Slice": "system.slice", "ControlGroup": st["cgroupPath"]}, f"unit properties {p}")
    check(read(d + "/memory.max").strip() == str(64 * MiB), "memory.max " + read(d + "/memory.max"))
    check(read(d + "/memory.swap.max").strip() == "0", "memory.swap.max " + read(d + "/memory.swap.max"))
    check(read(d + "/pids.max").strip() == "20", "pids.max " + read(d + "/pids.max"))
    pid = s.state(cid)["pid"]
    wait_for(lambda: len(read(d + "/cgroup.procs").split()) == 2, 30, "2 processes")
    status = systemctl("status", unit, check_rc=False).stdout
    check(f"{pid} sleep 1001" in status and "sleep 1000" in status, f"systemctl status:\n{status}")
    s.delete(cid)
    check(not os.path.exists(d), f"{d} left behind")


@test
def oom_kill_is_reported(s):
    """memory 32 MiB: a 100 MiB allocation is OOM-killed inside the scope; events --stats and
    the scope's memory.events count it."""
    b = s.bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M count=1; echo dd-exit=$?; exec sleep 1000"],
                 resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
    cid = s.start(b)
    d = s.cgdir(cid)
    out = wait_for(lambda: "dd-exit=" in s.output(b) and s.output(b), 60, "dd to finish")
    check("dd-exit=137" in out, f"dd was not SIGKILLed: {out!r}")
    check(keyed(d + "/memory.events").get("oom_kill", 0) >= 1, "memory.events " + read(d + "/memory.events"))
    mem = s.stats(cid)["memory"]
    check(mem["events"]["oom_kill"] >= 1, f"no oom_kill in events --stats: {mem['events']}")
    check(mem["usage"]["limit"] == 32 * MiB, f"limit {mem['usage']['limit']}")
    s.delete(cid)


@test
def cgroups_path_slice_prefix_name(s):
    """"slice:prefix:name": a nested slice becomes its parent chain; the unit prefix-name.scope."""
    b = s.bundle(["sleep", "1000"], cgroups_path="rctest-sub.slice:eng:web1")
    cid = s.start(b)
    want = "/rctest.slice/rctest-sub.slice/eng-web1.scope"
    check(s.saved_state(cid)["cgroupPath"] == want, f"cgroupPath {s.saved_state(cid)['cgroupPath']}")
    check(os.path.isdir(CG + want), f"no {CG + want}")
    check(unit_props("eng-web1.scope", "Slice")["Slice"] == "rctest-sub.slice", "Slice")
    s.delete(cid)


@test
def cgroups_path_not_for_systemd_fails_at_create(s):
    b = s.bundle(["true"], cgroups_path="/abs/path")
    r = s.rc("create", "--bundle", b, "badpath", check_rc=False, stdout=subprocess.DEVNULL)
    check(r.returncode == 1 and "slice:prefix:name" in r.stderr and "cgroupsPath" in r.stderr,
          f"create: {r.returncode} {r.stderr.strip()}")
    check(s.rc("state", "badpath", check_rc=False).returncode != 0, "the failed create left its state")
    check(not os.path.exists(CG + "/abs"), "a cgroup was made")


@test
def update_sets_unit_properties_and_files(s):
    b = s.bundle(["sleep", "1000"], resources={"memory": {"limit": 32 * MiB}, "pids": {"limit": 10}})
    cid = s.start(b)
    unit, d = s.unit(cid), s.cgdir(cid)
    s.rc("update", "--memory", "96m", "--pids-limit", "50", "--cpu-quota", "50000", "--cpu-period", "100000",
         "--cpu-shares", "2048", cid)
    p = unit_props(unit, "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec", "CPUWeight")
    check(p == {"MemoryMax": str(96 * MiB), "TasksMax": "50", "CPUQuotaPerSecUSec": "500ms", "CPUWeight": "79"},
          f"unit properties after update {p}")
    check(read(d + "/memory.max").strip() == str(96 * MiB), "memory.max " + read(d + "/memory.max"))
    check(read(d + "/pids.max").strip() == "50", "pids.max " + read(d + "/pids.max"))
    check(read(d + "/cpu.max").strip() == "50000 100000", "cpu.max " + read(d + "/cpu.max"))
    rfile = os.path.join(s.tmp, "res.json")
    with open(rfile, "w") as f:
        json.dump({"unified": {"memory.high": str(80 * MiB)}}, f)
    s.rc("update", "-r", rfile, cid)
    check(unit_props(unit, "MemoryHigh")["MemoryHigh"] == str(80 * MiB), "MemoryHigh after update -r")
    # systemd rewrites a unit's cgroup from its properties on a reload (a limit only in the
    # files would fall back to systemd's default: memory.high max, pids.max its TasksMax)
    systemctl("daemon-reload")
    for f, want in (("memory.max", str(96 * MiB)), ("pids.max", "50"), ("cpu.max", "50000 100000"),
                    ("memory.high", str(80 * MiB))):
        got = read(d + "/" + f).strip()
        check(got == want, f"{f} after daemon-reload: {got}, want {want}")
    s.delete(cid)


@test
def pause_resume_ps_and_stats(s):
    shared, m = s.shared_dir()
    counter = os.path.join(shared, "n")
    b = s.bundle(["sh", "-c", "sleep 1000 & i=0; while :; do i=$((i+1)); echo $i >/shared/n; sleep 0.05; done"],
                 mounts=[m])
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: read(counter, "").strip(), 30, "the counter")
    s.rc("pause", cid)
    check(s.state(cid)["status"] == "paused", "state after pause: " + s.state(cid)["status"])
    check("frozen 1" in read(d + "/cgroup.events"), "cgroup.events not frozen")
    a = read(counter).strip()
    time.sleep(1.0)
    check(read(counter).strip() == a, "the counter moved while paused")
    s.rc("resume", cid)
    check(s.state(cid)["status"] == "running", "state after resume: " + s.state(cid)["status"])
    wait_for(lambda: read(counter).strip() != a, 10, "the counter to move after resume")
    pids = json.loads(s.rc("ps", "--format", "json", cid).stdout)
    procs = sorted(int(p) for p in read(d + "/cgroup.procs").split())
    check(s.state(cid)["pid"] in pids and len(pids) >= 2, f"ps --format json {pids}, cgroup.procs {procs}")
    stats = s.stats(cid)
    check(stats["pids"]["current"] >= 2 and stats["memory"]["usage"]["usage"] > 0, f"events --stats {stats}")
    s.delete(cid)


@test
def exec_joins_the_scope(s):
    b = s.bundle(["sleep", "1000"])
    cid = s.start(b)
    r = s.rc("exec", cid, "cat", "/proc/self/cgroup", timeout=30)
    check(r.stdout.strip() == "0::/", f"exec'd process in {r.stdout.strip()!r} (cgroup namespace root)")
    s.delete(cid)


@test
def runtime_killed_mid_create_then_delete_force(s):
    """kill -9 of the runtime from a createRuntime hook (the scope exists, the init waits in
    its handshake): delete --force removes whatever is left, the scope included."""
    cid = "crash1"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", "kill -9 $PPID"]}
    b = s.bundle(["sleep", "1000"], hooks={"createRuntime": [hook]})
    s.ids.append(cid)
    r = s.rc("create", "--bundle", b, cid, check_rc=False, stdout=subprocess.DEVNULL, timeout=60)
    check(r.returncode == -signal.SIGKILL, f"create was not killed: {r.returncode} {r.stderr.strip()}")
    unit = f"run-container-{cid}.scope"
    d = f"{CG}/system.slice/{unit}"
    left = read(d + "/cgroup.procs", "").split()
    s.rc("delete", "--force", cid)
    s.ids.remove(cid)
    check(unit_active(unit) != "active", f"delete --force left {unit} {unit_active(unit)}")
    check(not os.path.exists(d), f"delete --force left {d}")
    check(s.rc("state", cid, check_rc=False).returncode != 0, "delete --force left the state")
    for p in left:
        check(not os.path.exists(f"/proc/{p}"), f"process {p} of the scope survived")


@test
def runtime_killed_while_running_leaves_a_scope_delete_force_removes(s):
    """kill -9 of a foreground `run`: the container goes on in its scope (systemd keeps it),
    delete --force stops the unit and nothing of it is left."""
    cid = "crash2"
    b = s.bundle(["sh", "-c", "sleep 1000 & exec sleep 1001"])
    s.ids.append(cid)
    out = open(os.path.join(b, "out"), "w")
    p = subprocess.Popen([s.runtime, *MANAGER, "--root", s.root, "run", "--bundle", b, cid],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    unit = f"run-container-{cid}.scope"
    d = f"{CG}/system.slice/{unit}"
    try:
        wait_for(lambda: len(read(d + "/cgroup.procs", "").split()) == 2, 60, "the container's 2 processes")
    finally:
        p.kill()
        p.wait()
    check(unit_active(unit) == "active", f"{unit} is {unit_active(unit)} after the runtime's crash")
    left = read(d + "/cgroup.procs").split()
    s.rc("delete", "--force", cid)
    s.ids.remove(cid)
    check(unit_active(unit) != "active", f"delete --force left {unit} {unit_active(unit)}")
    check(not os.path.exists(d), f"delete --force left {d}")
    for pid in left:
        check(not os.path.exists(f"/proc/{pid}"), f"process {pid} of the scope survived")


@test
def no_systemd_or_no_bus_is_a_clear_error_at_create(s):
    """Without systemd as init (/run/systemd/system) or without the system bus: create
    fails naming what is missing, and leaves nothing (run in a private mount namespace
    where each is hidden)."""
    for hide, want in (("/run/systemd", "does not run it"), ("/run/dbus", "system D-Bus")):
        b = s.bundle(["true"], resources={"pids": {"limit": 5}})
        cid = f"nosd{s.n}"
        s.ids.append(cid)  # should create succeed after all, its init must not outlive the suite
        script = (f"mount -t tmpfs tmpfs {hide} && exec {s.runtime} --systemd-cgroup --root {s.root} "
                  f"create --bundle {b} {cid}")
        # (no pipe: a created init would hold it open)
        err = os.path.join(b, "err")
        with open(err, "w") as f:
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f, timeout=60)
        msg = read(err).strip()
        check(r.returncode == 1 and want in msg and "systemd" in msg, f"hidden {hide}: create {r.returncode}: {msg}")
        check(s.rc("state", cid, check_rc=False).returncode != 0, f"hidden {hide}: the failed create left its state")
        check(unit_active(f"run-container-{cid}.scope") != "active", f"hidden {hide}: a scope was made")
        s.ids.remove(cid)


@test
def sandbox_in_a_scope(s):
    """`sandbox` under the systemd driver: the job runs in its scope with its limit, and
    nothing is left. systemd removes the scope as soon as the job has exited, most often
    before the report is made: its usage then comes from rusage, and it says so."""
    report = os.path.join(s.tmp, "sandbox-report.json")
    r = subprocess.run([s.runtime, *MANAGER, "--root", s.root, "sandbox", "--rootfs", s.rootfs, "-m", "32M",
                        "--report", report, "--", "sh", "-c", "cat /sys/fs/cgroup/memory.max /proc/self/cgroup"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    check(r.returncode == 0, f"sandbox: {r.returncode} {r.stderr.strip()}")
    check(r.stdout.split() == [str(32 * MiB), "0::/"], f"sandbox job output {r.stdout!r}")
    rep = json.loads(read(report))
    # (a race with systemd: a report made before the scope went has the cgroup's numbers)
    check(rep["exit_code"] == 0 and (rep["usage_source"] == "cgroup" or
                                     (rep["usage_source"] == "rusage" and rep["memory_peak_null_reason"])),
          f"report {rep}")
    left = [u for u in scope_leftovers(s) if u.startswith("run-container-sandbox")]
    check(not left, f"sandbox left {left}")


# ---- engines -----------------------------------------------------------------------------


class InGuest:
    """The engines' sandbox interface (tests/integration/engines/sandbox.py), without a
    sandbox: the guest is private and thrown away, and the engines need its /run (the
    system bus, systemd's runtime directory)."""

    def argv(self, argv):
        return [str(a) for a in argv]

    def run(self, argv, timeout=120, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self.argv(argv), timeout=timeout, **kw)

    def popen(self, argv, **kw):
        return subprocess.Popen(self.argv(argv), **kw)


def engines_dir(s, name):
    d = os.path.join(s.tmp, name)
    os.makedirs(d, exist_ok=True)
    return d


def image_tar(s):
    tar = os.path.join(s.tmp, "rootfs.tar")
    if not os.path.exists(tar):
        subprocess.run(["tar", "-C", s.rootfs, "-cf", tar, "."], check=True)
    return tar


def podman_for(s, runtime):
    kind = os.path.basename(runtime)
    p = Podman(InGuest(), engines_dir(s, f"podman-{kind}"), runtime, cgroups=True)
    p.base += ["--cgroup-manager", "systemd"]
    if not os.path.isdir(os.path.join(p.dir, "root")):
        p.import_rootfs(image_tar(s), IMAGE)
    return p


def check_scope(unit, slice_, pid, what):
    """An active, delegated scope in slice_ holding the container's init (pid), whose cgroup
    has the 64 MiB limit: the scope itself with run-container, its sub-cgroup "container"
    with crun (its default subgroup). The unit property is checked for run-container only:
    it sets the limits systemd has properties for on the unit as runc does; crun writes
    only the files."""
    props = unit_props(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "ControlGroup")
    check((props["ActiveState"], props["Slice"], props["Delegate"]) == ("active", slice_, "yes"),
          f"{what}: {unit} {props}")
    cg = read(f"/proc/{pid}/cgroup").strip().split("::", 1)[1]
    want = props["ControlGroup"] + ("/container" if CRUN in what else "")
    check(cg == want, f"{what}: the init is in {cg}, not {want}")
    mem = read(CG + cg + "/memory.max").strip()
    check(mem == str(64 * MiB), f"{what}: {unit} memory.max {mem}")
    if CRUN not in what:
        check(props["MemoryMax"] == str(64 * MiB), f"{what}: {unit} MemoryMax {props['MemoryMax']}")


def podman_systemd(s, runtime):
    p = podman_for(s, runtime)
    what = f"podman --cgroup-manager=systemd --runtime {runtime}"
    try:
        r = p("run", *p.run_opts(), "--rm", "-m", "64m", "--pids-limit", "50", IMAGE, "sh", "-c",
              "cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
        check(r.returncode == 0, f"{what} run: {r.stderr.strip()}")
        check(r.stdout.split() == ["0::/", str(64 * MiB), "50"], f"{what} run: {r.stdout!r}")
        r = p("run", *p.run_opts(), "-d", "-m", "64m", IMAGE, "sleep", "600")
        check(r.returncode == 0, f"{what} run -d: {r.stderr.strip()}")
        cid = r.stdout.strip()
        unit = f"libpod-{cid}.scope"
        pid = json.loads(p("inspect", cid).stdout)[0]["State"]["Pid"]
        check_scope(unit, "machine.slice", pid, what)
        r = p("exec", cid, "sh", "-c", "echo in-exec; exit 3")
        check(r.returncode == 3 and r.stdout == "in-exec\n", f"{what} exec: {r.returncode} {r.stderr.strip()}")
        for args, status in ((["pause", cid], "paused"), (["unpause", cid], "running")):
            r = p(*args)
            check(r.returncode == 0, f"{what} {args[0]}: {r.stderr.strip()}")
            got = json.loads(p("inspect", cid).stdout)[0]["State"]["Status"]
            check(got == status, f"{what} {args[0]}: status {got}")
        r = p("top", cid)
        check(r.returncode == 0 and "sleep 600" in r.stdout, f"{what} top: {r.stdout}{r.stderr}")
        r = p("stop", "-t", "1", cid)
        check(r.returncode == 0, f"{what} stop: {r.stderr.strip()}")
        r = p("rm", cid)
        check(r.returncode == 0, f"{what} rm: {r.stderr.strip()}")
        check(unit_active(unit) != "active", f"{what}: {unit} left {unit_active(unit)}")
    finally:
        p.cleanup()


@test
def podman_systemd_cgroup_manager(s):
    podman_systemd(s, s.runtime)


@test
def podman_systemd_cgroup_manager_crun(s):
    """The same with Debian's crun: what the test expects is the field's behaviour."""
    podman_systemd(s, CRUN)


def containerd_systemd(s, runtime):
    name = os.path.basename(runtime)
    p = podman_for(s, s.runtime)
    archive = os.path.join(s.tmp, "image.oci.tar")
    if not os.path.exists(archive):
        r = p("save", "--format", "oci-archive", "-o", archive, IMAGE)
        check(r.returncode == 0, f"podman save: {r.stderr.strip()}")
    c = Containerd(InGuest(), engines_dir(s, f"containerd-{name}"))
    what = f"containerd runc v2 shim, BinaryName {runtime}, SystemdCgroup"
    try:
        r = c.ctr("images", "import", archive)
        check(r.returncode == 0, f"ctr images import: {r.stderr.strip()}")
        tid = f"ctr-{name.replace('-', '')}"
        # the shim's options BinaryName and SystemdCgroup, as a CRI runtime handler sets them
        opts = ["--runc-binary", runtime, "--runc-systemd-cgroup", "--cgroup", f"system.slice:ctrtest:{tid}"]
        r = c.ctr("run", "-d", *opts, "--memory-limit", str(64 * MiB), IMAGE, tid, "sleep", "600")
        check(r.returncode == 0, f"{what}: ctr run: {r.stderr.strip()} {c.log_tail()}")
        # the runc v2 shim keeps the options it was given beside the bundle's config
        bundle = os.path.join(c.dir, "state", "io.containerd.runtime.v2.task", "rc-test", tid)
        shim_opts = json.loads(read(os.path.join(bundle, "options.json")))
        check(shim_opts.get("binary_name") == runtime and shim_opts.get("systemd_cgroup") is True,
              f"{what}: the shim's options.json {shim_opts}")
        unit = f"ctrtest-{tid}.scope"
        pid = next(int(line.split()[1]) for line in c.ctr("tasks", "ls").stdout.splitlines() if line.startswith(tid))
        check_scope(unit, "system.slice", pid, what)
        # containerd's spec has no cgroup namespace: the full path, the init's cgroup
        r = c.ctr("tasks", "exec", "--exec-id", "e1", tid, "sh", "-c", "cat /proc/self/cgroup; exit 4")
        check(r.returncode == 4 and r.stdout.strip() == read(f"/proc/{pid}/cgroup").strip(),
              f"{what}: exec {r.returncode} {r.stdout!r} {r.stderr}")
        for verb, want in (("pause", "PAUSED"), ("resume", "RUNNING")):
            r = c.ctr("tasks", verb, tid)
            check(r.returncode == 0 and want in c.ctr("tasks", "ls").stdout, f"{what}: {verb} {r.stderr.strip()}")
        r = c.ctr("tasks", "ps", tid)
        check(r.returncode == 0 and len(r.stdout.strip().splitlines()) >= 2, f"{what}: ps {r.stdout}{r.stderr}")
        check(c.ctr("tasks", "kill", "-s", "SIGKILL", tid).returncode == 0, f"{what}: kill")
        wait_for(lambda: "STOPPED" in c.ctr("tasks", "ls").stdout, 30, "the task to stop")
        check(c.ctr("tasks", "rm", tid).returncode == 0, f"{what}: tasks rm")
        check(c.ctr("containers", "rm", tid).returncode == 0, f"{what}: containers rm")
        check(unit_active(unit) != "active", f"{what}: {unit} left {unit_active(unit)}")
    finally:
        c.cleanup()
        c.stop()


@test
def containerd_shim_systemd_cgroup(s):
    containerd_systemd(s, s.runtime)


@test
def containerd_shim_systemd_cgroup_crun(s):
    containerd_systemd(s, CRUN)


# The runtime handler a Kubernetes node declares for run-container (README.md, "Kubernetes").
CRI_CONFIG = """
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{image}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.run-container]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.run-container.options]
        BinaryName = "{runtime}"
        SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun.options]
        BinaryName = "{crun}"
        SystemdCgroup = true
"""


def kubernetes_pod(s, handler, binary):
    """What a kubelet asks of containerd, through the CRI API (gRPC, runtime.v1; the message
    definitions come from Debian's containerd binary: tests/vm/cri_proto.py): a pod sandbox
    and a container with a memory limit, on the runtime handler `handler` (runc v2 shim,
    BinaryName, SystemdCgroup = true) in the pod's slice, exec in it, stop, remove. The pod
    uses the node's network (there is no CNI plugin here) and, as its sandbox image, the
    busybox image with /bin/sleep as its command (no registry to pull pause from)."""
    import grpc

    from cri_proto import CRI, CRIError, RuntimeService

    subprocess.run(["ip", "link", "set", "lo", "up"], check=False)  # the CRI stream server's address
    p = podman_for(s, s.runtime)
    image = "localhost/rc-busybox-sleep:latest"
    archive = os.path.join(s.tmp, "pod-image.oci.tar")
    if not os.path.exists(archive):
        # absolute paths: the image has no PATH (crun then finds nothing; pause's is absolute too)
        r = p("import", "--change", 'CMD ["/bin/sleep", "3600"]', image_tar(s), image)
        check(r.returncode == 0, f"podman import: {r.stderr.strip()}")
        r = p("save", "--format", "oci-archive", "-o", archive, image)
        check(r.returncode == 0, f"podman save: {r.stderr.strip()}")
    c = Containerd(InGuest(), engines_dir(s, f"containerd-cri-{handler}"), cri_config=CRI_CONFIG.format(
        image=image, runtime=s.runtime, crun=CRUN))
    logs = engines_dir(s, f"pod-logs-{handler}")
    cri = CRI()
    sid = cid = None
    try:
        plugins = c.ctr("plugins", "ls").stdout
        line = next((l for l in plugins.splitlines() if l.split()[:2] == ["io.containerd.grpc.v1", "cri"]), "")
        check(line.split()[-1:] == ["ok"], f"the CRI plugin: {line!r} {c.ctr('plugins', 'ls', '-d', 'id==cri').stdout}")
        r = c.sandbox.run(["ctr", "--address", c.sock, "--namespace", "k8s.io", "images", "import", archive])
        check(r.returncode == 0, f"ctr -n k8s.io images import: {r.stderr.strip()}")
        with grpc.insecure_channel(f"unix://{c.sock}") as ch:
            svc = RuntimeService(cri, ch)
            v = svc.call("Version", cri.msg("VersionRequest"))
            check(v.runtime_name == "containerd" and v.runtime_api_version == "v1", f"CRI Version: {v}")
            # (no hostname: a kubelet sets none for a pod on the node's network, whose UTS it shares)
            pod = cri.msg("PodSandboxConfig", log_directory=logs)
            pod.metadata.name, pod.metadata.uid, pod.metadata.namespace = "rcpod", f"rcpod-{handler}", "default"
            pod.linux.cgroup_parent = "rcpod.slice"
            pod.linux.security_context.namespace_options.network = cri.enum("NamespaceMode", "NODE")
            sid = svc.call("RunPodSandbox", cri.msg("RunPodSandboxRequest", config=pod,
                                                    runtime_handler=handler)).pod_sandbox_id
            sandbox_unit = f"cri-containerd-{sid}.scope"
            check(unit_props(sandbox_unit, "ActiveState", "Slice") == {"ActiveState": "active", "Slice": "rcpod.slice"},
                  f"the pod's sandbox scope: {unit_props(sandbox_unit, 'ActiveState', 'Slice')}")
            cc = cri.msg("ContainerConfig", command=["/bin/sh", "-c", "echo started; exec sleep 3600"],
                         envs=[cri.msg("KeyValue", key="PATH", value="/bin:/usr/bin")], log_path="c1.log")
            cc.metadata.name = "c1"
            cc.image.image = image
            cc.linux.resources.memory_limit_in_bytes = 64 * MiB
            cid = svc.call("CreateContainer", cri.msg("CreateContainerRequest", pod_sandbox_id=sid, config=cc,
                                                      sandbox_config=pod)).container_id
            svc.call("StartContainer", cri.msg("StartContainerRequest", container_id=cid))
            st = svc.call("ContainerStatus", cri.msg("ContainerStatusRequest", container_id=cid, verbose=True))
            check(st.status.state == cri.enum("ContainerState", "CONTAINER_RUNNING"), f"container status {st}")
            unit = f"cri-containerd-{cid}.scope"
            pid = json.loads(st.info["info"])["pid"]
            check_scope(unit, "rcpod.slice", pid, f"CRI handler {handler} ({binary})")
            ex = svc.call("ExecSync", cri.msg("ExecSyncRequest", container_id=cid, timeout=60,
                                               cmd=["/bin/sh", "-c", "cat /proc/self/cgroup; exit 3"]))
            # containerd gives a CRI container a cgroup namespace: the scope is its root
            check(ex.exit_code == 3 and ex.stdout.decode() == "0::/\n", f"ExecSync: {ex}")
            svc.call("StopContainer", cri.msg("StopContainerRequest", container_id=cid, timeout=5))
            svc.call("RemoveContainer", cri.msg("RemoveContainerRequest", container_id=cid))
            cid = None
            check(unit_active(unit) != "active", f"RemoveContainer left {unit} {unit_active(unit)}")
            svc.call("StopPodSandbox", cri.msg("StopPodSandboxRequest", pod_sandbox_id=sid))
            svc.call("RemovePodSandbox", cri.msg("RemovePodSandboxRequest", pod_sandbox_id=sid))
            sid = None
            check(unit_active(sandbox_unit) != "active", f"RemovePodSandbox left {sandbox_unit}")
    finally:
        if sid is not None or cid is not None:
            with grpc.insecure_channel(f"unix://{c.sock}") as ch:
                svc = RuntimeService(cri, ch)
                for method, req in (("RemoveContainer", cri.msg("RemoveContainerRequest", container_id=cid or "")),
                                    ("StopPodSandbox", cri.msg("StopPodSandboxRequest", pod_sandbox_id=sid or "")),
                                    ("RemovePodSandbox", cri.msg("RemovePodSandboxRequest", pod_sandbox_id=sid or ""))):
                    try:
                        svc.call(method, req, timeout=60)
                    except CRIError:
                        pass  # already gone, or the failure reported above
        c.stop()


@test
def kubernetes_pod_through_cri_with_a_run_container_handler(s):
    kubernetes_pod(s, "run-container", s.runtime)


@test
def kubernetes_pod_through_cri_with_a_crun_handler(s):
    kubernetes_pod(s, "crun", CRUN)


def scope_leftovers(s):
    out = systemctl("list-units", "--all", "--plain", "--no-legend", "run-container-*.scope", "eng-*.scope",
                    "libpod-*.scope", "ctrtest-*.scope", "cri-containerd-*.scope", check_rc=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def main():
    return run("systemd suite", __doc__, test.tests, Suite, scope_leftovers)


if __name__ == "__main__":
    sys.exit(main())
