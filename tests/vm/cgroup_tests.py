#!/usr/bin/python3
"""The cgroup v2 suite: runs INSIDE the tests/vm guest (pure cgroup2 at /sys/fs/cgroup),
started by tests/vm/vm-tests.sh, which compiled everything on the host.

    cgroup_tests.py RUNTIME WORKDIR [TEST...]

WORKDIR (shared with the host) holds rootfs/ (busybox + /probe). Every test creates real
containers with RUNTIME and checks the limits from the cgroup files and from inside the
container. Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, N failed";
exits 1 if anything failed.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from vmsuite import CG, MiB, Fail, Registry, check, run, wait_for

def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


def keyed(path):
    """'key value' lines of a cgroup file as a dict of ints."""
    out = {}
    for line in read(path).splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


class Suite:
    def __init__(self, runtime, work):
        self.runtime = runtime
        self.work = work
        self.rootfs = os.path.join(work, "rootfs")
        self.tmp = tempfile.mkdtemp(prefix="cgt-", dir="/tmp")
        self.root = os.path.join(self.tmp, "state")
        self.n = 0
        self.ids = []
        self.base = self._base_config()

    # ---- runtime calls ----------------------------------------------------------------

    def rc(self, *args, check_rc=True, timeout=120, glob=(), **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL)
        argv = [self.runtime, *glob, "--root", self.root, *map(str, args)]
        r = subprocess.run(argv, timeout=timeout, text=True, **kw)
        if check_rc and r.returncode != 0:
            raise Fail(f"{' '.join(map(str, args))}: exit {r.returncode}: {(r.stderr or '').strip()}")
        return r

    def _base_config(self):
        d = os.path.join(self.tmp, "spec")
        os.mkdir(d)
        subprocess.run([self.runtime, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        c["process"]["terminal"] = False
        c["root"] = {"path": self.rootfs, "readonly": True}
        return c

    def bundle(self, args, resources=None, mounts=(), no_pidns=False, cgroups_path=None, hooks=None,
               devices=None):
        self.n += 1
        path = os.path.join(self.tmp, f"b{self.n}")
        os.mkdir(path)
        c = json.loads(json.dumps(self.base))
        c["process"]["args"] = list(args)
        res = c["linux"].setdefault("resources", {})
        res.update(resources or {})
        c["mounts"].extend(mounts)
        if no_pidns:
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
        if cgroups_path:
            c["linux"]["cgroupsPath"] = cgroups_path
        if hooks:
            c["hooks"] = hooks
        if devices:
            c["linux"]["devices"] = devices
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(c, f)
        return path

    def start(self, bundle, cid=None, glob=()):
        """create + start; the container's stdout/stderr go to <bundle>/out."""
        cid = cid or f"c{self.n}"
        self.ids.append(cid)
        out = os.path.join(bundle, "out")
        with open(out, "w") as fo:
            self.rc("create", "--bundle", bundle, cid, stdout=fo, stderr=subprocess.STDOUT, glob=glob)
        self.rc("start", cid)
        return cid

    def state(self, cid):
        return json.loads(self.rc("state", cid).stdout)

    def saved_state(self, cid):
        with open(os.path.join(self.root, cid, "state.json")) as f:
            return json.load(f)

    def cgdir(self, cid):
        p = self.saved_state(cid).get("cgroupPath")
        check(p, f"{cid}: no cgroupPath in the state")
        return CG + p

    def stats(self, cid):
        r = self.rc("events", "--stats", cid)
        ev = json.loads(r.stdout)
        check(ev.get("type") == "stats" and ev.get("id") == cid, f"not a stats event: {r.stdout[:200]}")
        return ev["data"]

    def output(self, bundle):
        return read(os.path.join(bundle, "out"), "")

    def delete(self, cid, force=True):
        d = self.cgdir(cid)
        self.rc("delete", *(["--force"] if force else []), cid)
        self.ids.remove(cid)
        check(not os.path.exists(d), f"delete left {d} behind")

    def cleanup(self):
        for cid in list(self.ids):
            self.rc("delete", "--force", cid, check_rc=False)
        self.ids = []

    def shared_dir(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(d, 0o777)
        return d, {"destination": "/shared", "type": "bind", "source": d, "options": ["rbind", "rw"]}


# ---- the tests --------------------------------------------------------------------------

test = Registry()


@test
def memory_max_oom_kills_and_events_stats_shows_it(s):
    """memory.max 32 MiB: a 100 MiB allocation is OOM-killed; events --stats counts it."""
    b = s.bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M count=1; echo dd-exit=$?; exec sleep 1000"],
                 resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
    cid = s.start(b)
    d = s.cgdir(cid)
    check(read(d + "/memory.max").strip() == str(32 * MiB), "memory.max: " + read(d + "/memory.max"))
    check(read(d + "/memory.swap.max").strip() == "0", "memory.swap.max: " + read(d + "/memory.swap.max"))
    out = wait_for(lambda: "dd-exit=" in s.output(b) and s.output(b), 60, "dd to finish")
    check("dd-exit=137" in out, f"dd was not SIGKILLed: {out!r}")
    data = s.stats(cid)
    mem = data["memory"]
    check(mem["events"]["oom_kill"] >= 1, f"no oom_kill in events --stats: {mem['events']}")
    check(mem["usage"]["limit"] == 32 * MiB, f"limit {mem['usage']['limit']}")
    check(0 < mem["usage"]["max"] <= 33 * MiB, f"memory peak {mem['usage']['max']} above the limit")
    s.delete(cid)


@test
def oom_event_stream(s):
    """events (the stream) prints {"type":"oom"} when the container hits memory.max."""
    shared, m = s.shared_dir()
    b = s.bundle(["sh", "-c", "while [ ! -e /shared/go ]; do sleep 0.1; done; "
                  "dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep 1000"],
                 resources={"memory": {"limit": 16 * MiB, "swap": 16 * MiB}}, mounts=[m])
    cid = s.start(b)
    ev = subprocess.Popen([s.runtime, "--root", s.root, "events", "--interval", "0", cid],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # let it set its inotify watch
        open(os.path.join(shared, "go"), "w").close()
        line = wait_for(lambda: ev.stdout.readline(), 60, "an event line")
        e = json.loads(line)
        check(e == {"type": "oom", "id": cid}, f"unexpected event {line!r}")
    finally:
        ev.kill()
        ev.wait()
    s.delete(cid)


@test
def stopped_container_stats_survive_the_cgroup(s):
    """OOM-killed init: events --stats answers on the stopped container, and a poststop
    hook (run after the cgroup is removed) still gets the final usage from the state."""
    hook_out = os.path.join(s.tmp, f"hook{s.n}.json")
    cid = f"c{s.n + 1}"
    hook = {"path": "/bin/sh",
            "args": ["sh", "-c", f"{s.runtime} --root {s.root} events --stats {cid} >{hook_out} 2>&1; "
                                 f"ls /sys/fs/cgroup/run-container >>{hook_out}.ls 2>&1"]}
    b = s.bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"],
                 resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}, hooks={"poststop": [hook]})
    s.start(b, cid)
    wait_for(lambda: s.state(cid)["status"] == "stopped", 60, "the OOM-killed init to stop")
    data = s.stats(cid)
    check(data["memory"]["events"]["oom_kill"] >= 1, f"stopped container: {data['memory']['events']}")
    d = s.cgdir(cid)
    s.delete(cid, force=False)
    hook_data = json.loads(read(hook_out))["data"]
    check(hook_data["memory"]["events"]["oom_kill"] >= 1, f"after delete: {hook_data['memory']}")
    check(hook_data["memory"]["usage"]["max"] > 0, "no memory peak recorded")
    check(os.path.basename(d) not in read(hook_out + ".ls", ""), "the hook still saw the cgroup")


@test
def pids_max_caps_a_fork_loop(s):
    # the inner shell dies when fork fails (busybox ash); its sleeps stay behind
    b = s.bundle(["sh", "-c", "sh -c 'i=0; while [ $i -lt 60 ]; do sleep 1000 & i=$((i+1)); done'; "
                  "echo spawned; exec sleep 1000"], resources={"pids": {"limit": 20}})
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: "spawned" in s.output(b), 60, "the fork loop to end")
    check(read(d + "/pids.max").strip() == "20", "pids.max")
    cur = int(read(d + "/pids.current"))
    check(cur <= 20, f"pids.current {cur} > 20")
    check(keyed(d + "/pids.events").get("max", 0) > 0, "no fork was refused (pids.events max 0)")
    pids = json.loads(s.rc("ps", "--format", "json", cid).stdout)
    check(0 < len(pids) <= 20, f"ps lists {len(pids)} processes")
    check(s.stats(cid)["pids"]["current"] == cur, "events --stats pids.current")
    s.delete(cid)


@test
def cpu_max_gives_a_fifth_of_a_cpu(s):
    b = s.bundle(["sh", "-c", "while :; do :; done"], resources={"cpu": {"quota": 20000, "period": 100000}})
    cid = s.start(b)
    d = s.cgdir(cid)
    check(read(d + "/cpu.max").strip() == "20000 100000", "cpu.max: " + read(d + "/cpu.max"))
    time.sleep(1)
    u0, t0 = keyed(d + "/cpu.stat")["usage_usec"], time.monotonic()
    time.sleep(4)
    st, t1 = keyed(d + "/cpu.stat"), time.monotonic()
    share = (st["usage_usec"] - u0) / ((t1 - t0) * 1e6)
    print(f"  cpu share {share:.3f} of one CPU (want ~0.2), nr_throttled {st['nr_throttled']}")
    check(0.08 <= share <= 0.3, f"busy loop got {share:.3f} of a CPU")
    check(st["nr_throttled"] > 0, "never throttled")
    s.delete(cid)


def device_candidates():
    """Character devices of the guest that a root process can open for writing."""
    found = []
    for p in ("/dev/kmsg", "/dev/tty1", "/dev/tty2", "/dev/tty3", "/dev/vcs1", "/dev/vcs2"):
        try:
            st = os.stat(p)
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
            os.close(fd)
        except OSError:
            continue
        if all(os.major(st.st_rdev) != os.major(r) or os.minor(st.st_rdev) != os.minor(r) for _, r in found):
            found.append((p, st.st_rdev))
    return found


@test
def devices_deny_and_allow(s):
    cands = device_candidates()
    check(len(cands) >= 2, f"need two openable device nodes in the guest, found {cands}")
    (pa, ra), (pd, rd) = cands[:2]
    bind = lambda src, dst: {"destination": dst, "type": "bind", "source": src, "options": ["bind"]}
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": os.major(ra), "minor": os.minor(ra), "access": "w"}]
    # the denied node also through linux.devices: the rules apply to it all the same
    listed = [{"path": "/dev/dev-listed", "type": "c", "major": os.major(rd), "minor": os.minor(rd)}]
    b = s.bundle(["sh", "-c", "/probe write /dev/dev-allowed; /probe write /dev/dev-denied; "
                  "/probe write /dev/null; /probe write /dev/dev-listed; echo done"],
                 resources={"devices": rules}, mounts=[bind(pa, "/dev/dev-allowed"), bind(pd, "/dev/dev-denied")],
                 devices=listed)
    cid = s.start(b)
    out = wait_for(lambda: "done" in s.output(b) and s.output(b), 30, "the probe")
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(len(lines) == 4, f"probe output: {out!r}")
    allowed, denied, null, listed_node = lines
    check(allowed["ok"], f"{pa} ({os.major(ra)}:{os.minor(ra)}, allowed w) failed: {allowed}")
    check(not denied["ok"] and denied["errno"] == 1, f"{pd} (denied) was not EPERM: {denied}")
    check(null["ok"], f"/dev/null (a default device) failed: {null}")
    check(not listed_node["ok"] and listed_node["errno"] == 1,
          f"{pd} listed in linux.devices (denied) was not EPERM: {listed_node}")
    s.delete(cid)


@test
def update_raises_a_limit_on_a_running_container(s):
    shared, m = s.shared_dir()
    b = s.bundle(["sh", "-c", "while [ ! -e /shared/go ]; do sleep 0.1; done; "
                  "dd if=/dev/zero of=/dev/null bs=48M count=1; echo $? >/shared/result; exec sleep 1000"],
                 resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}, "pids": {"limit": 10}}, mounts=[m])
    cid = s.start(b)
    d = s.cgdir(cid)
    s.rc("update", "--memory", "96m", "--memory-swap", "96m", "--pids-limit", "50", "--cpu-quota", "50000",
         "--cpu-period", "100000", "--cpu-shares", "2048", cid)
    check(read(d + "/memory.max").strip() == str(96 * MiB), "memory.max " + read(d + "/memory.max"))
    check(read(d + "/pids.max").strip() == "50", "pids.max " + read(d + "/pids.max"))
    check(read(d + "/cpu.max").strip() == "50000 100000", "cpu.max " + read(d + "/cpu.max"))
    check(read(d + "/cpu.weight").strip() == "79", "cpu.weight " + read(d + "/cpu.weight"))
    open(os.path.join(shared, "go"), "w").close()
    res = wait_for(lambda: read(os.path.join(shared, "result"), "").strip(), 60, "dd in the container")
    check(res == "0", f"a 48 MiB allocation under the raised limit exited {res}")
    rfile = os.path.join(s.tmp, "res.json")
    with open(rfile, "w") as f:
        json.dump({"pids": {"limit": 33}, "unified": {"memory.high": str(80 * MiB)}}, f)
    s.rc("update", "-r", rfile, cid)
    check(read(d + "/pids.max").strip() == "33", "update -r: pids.max " + read(d + "/pids.max"))
    check(read(d + "/memory.high").strip() == str(80 * MiB), "update -r: memory.high")
    s.delete(cid)


@test
def update_and_sandbox_read_sizes_alike(s):
    # one parser (cli/grammar.c): docker's spellings give the same bytes to both commands
    b = s.bundle(["sleep", "1000"], resources={"memory": {"limit": 32 * MiB}})
    cid = s.start(b)
    d = s.cgdir(cid)
    for size, want in (("2GiB", 2048 * MiB), ("1.5g", 1536 * MiB), ("512 MB", 512 * MiB)):
        s.rc("update", "--memory", size, "--memory-swap", "-1", cid)
        check(read(d + "/memory.max").strip() == str(want), f"update --memory {size}: " + read(d + "/memory.max"))
        r = s.rc("sandbox", "--rootfs", s.rootfs, "-m", size, "--", "cat", "/sys/fs/cgroup/memory.max")
        check(r.stdout.strip() == str(want), f"sandbox -m {size}: memory.max {r.stdout.strip()!r}")
    s.delete(cid)


@test
def pause_freezes_and_resume_thaws(s):
    shared, m = s.shared_dir()
    counter = os.path.join(shared, "n")
    b = s.bundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >/shared/n; sleep 0.05; done"], mounts=[m])
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: read(counter, "").strip(), 30, "the counter")
    s.rc("pause", cid)
    check(s.state(cid)["status"] == "paused", "state after pause: " + s.state(cid)["status"])
    check(read(d + "/cgroup.freeze").strip() == "1", "cgroup.freeze")
    check("frozen 1" in read(d + "/cgroup.events"), "cgroup.events not frozen")
    a = read(counter).strip()
    time.sleep(1.5)
    b2 = read(counter).strip()
    check(a == b2, f"the counter moved while paused: {a} -> {b2}")
    r = s.rc("pause", cid, check_rc=False)
    check(r.returncode != 0, "pausing a paused container succeeded")
    s.rc("resume", cid)
    check(s.state(cid)["status"] == "running", "state after resume: " + s.state(cid)["status"])
    wait_for(lambda: read(counter).strip() != b2, 10, "the counter to move after resume")
    s.delete(cid)


@test
def start_refused_while_paused(s):
    b = s.bundle(["sh", "-c", "echo started; exec sleep 1000"])
    cid = f"c{s.n}"
    s.ids.append(cid)
    # the init inherits create's stdio: no pipes, or create never seems to end
    s.rc("create", "--bundle", b, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s.rc("pause", cid)
    check(s.state(cid)["status"] == "paused", "created + pause: " + s.state(cid)["status"])
    r = s.rc("start", cid, check_rc=False, timeout=20)
    check(r.returncode == 1 and "paused" in r.stderr, f"start of a paused container: {r.returncode} {r.stderr}")
    s.rc("resume", cid)
    check(s.state(cid)["status"] == "created", "after resume: " + s.state(cid)["status"])
    s.rc("start", cid)
    check(s.state(cid)["status"] == "running", "after start: " + s.state(cid)["status"])
    s.delete(cid)


@test
def kill_all_kills_every_process(s):
    # no pid namespace: killing the init alone would leave its children running
    b = s.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait"], no_pidns=True)
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: len(read(d + "/cgroup.procs").split()) == 4, 30, "4 processes")
    table = s.rc("ps", cid).stdout
    lines = table.splitlines()
    check(lines[0].split()[1] == "PID" and sum(l.endswith(" sleep 1000") for l in lines) == 3 and len(lines) == 5,
          f"ps table:\n{table}")
    s.rc("kill", "--all", cid, "KILL")
    wait_for(lambda: read(d + "/cgroup.procs").strip() == "", 10, "cgroup.procs to empty")
    wait_for(lambda: s.state(cid)["status"] == "stopped", 10, "stopped")
    s.delete(cid, force=False)


@test
def kill_all_term_reaches_children(s):
    b = s.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], no_pidns=True)
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: len(read(d + "/cgroup.procs").split()) == 3, 30, "3 processes")
    s.rc("kill", "--all", cid, "TERM")
    wait_for(lambda: read(d + "/cgroup.procs").strip() == "", 10, "every process to die of SIGTERM")
    s.delete(cid, force=False)


@test
def delete_removes_cgroup_with_leftovers(s):
    """The init exits and leaves a daemon behind (no pid namespace): delete of the stopped
    container kills it and removes the cgroup."""
    b = s.bundle(["sh", "-c", "sleep 1000 >/dev/null 2>&1 & exit 0"], no_pidns=True)
    cid = s.start(b)
    d = s.cgdir(cid)
    wait_for(lambda: s.state(cid)["status"] == "stopped", 30, "the init to exit")
    check(read(d + "/cgroup.procs").strip() != "", "the leftover daemon is not in the cgroup")
    s.delete(cid, force=False)


@test
def delete_force_of_a_paused_container(s):
    b = s.bundle(["sh", "-c", "trap '' TERM; sleep 1000 & wait"])
    cid = s.start(b)
    s.rc("pause", cid)
    s.delete(cid)


@test
def cgroups_path_absolute(s):
    b = s.bundle(["sleep", "1000"], cgroups_path="/custom/abs-c")
    cid = s.start(b)
    check(s.saved_state(cid)["cgroupPath"] == "/custom/abs-c", "state cgroupPath")
    check(os.path.isdir(CG + "/custom/abs-c"), "no /sys/fs/cgroup/custom/abs-c")
    s.delete(cid)
    os.rmdir(CG + "/custom")


@test
def the_init_starts_in_its_cgroup(s):
    b = s.bundle(["sh", "-c", "cat /proc/self/cgroup; echo done"])
    b_no_ns = s.bundle(["sh", "-c", "cat /proc/self/cgroup; echo done"])
    with open(os.path.join(b_no_ns, "config.json")) as f:
        c = json.load(f)
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
    with open(os.path.join(b_no_ns, "config.json"), "w") as f:
        json.dump(c, f)
    cid = s.start(b)
    out = wait_for(lambda: "done" in s.output(b) and s.output(b), 30, "output")
    check(out.splitlines()[0] == "0::/", f"cgroup namespace root is not the container's cgroup: {out!r}")
    s.delete(cid)
    cid = s.start(b_no_ns, f"c{s.n}x")
    out = wait_for(lambda: "done" in s.output(b_no_ns) and s.output(b_no_ns), 30, "output")
    want = "0::" + s.saved_state(cid)["cgroupPath"]
    check(out.splitlines()[0] == want, f"/proc/self/cgroup {out.splitlines()[0]!r}, want {want!r}")
    s.delete(cid)


@test
def controller_not_delegated_fails_closed(s):
    """A parent with processes cannot enable controllers below it: memory is not
    delegated to the container's cgroup, and create names it."""
    mid = CG + "/nodeleg/mid"
    os.makedirs(mid)
    holder = subprocess.Popen(["sleep", "1000"])
    try:
        with open(mid + "/cgroup.procs", "w") as f:
            f.write(str(holder.pid))
        b = s.bundle(["true"], resources={"memory": {"limit": 32 * MiB}}, cgroups_path="/nodeleg/mid/c")
        r = s.rc("create", "--bundle", b, "nodeleg", check_rc=False)
        check(r.returncode == 1, f"create succeeded: {r.stderr}")
        check('controller memory is not available' in r.stderr and "--cgroup-manager=disabled" in r.stderr,
              f"unclear error: {r.stderr.strip()}")
        check(not os.path.exists(mid + "/c"), "the failed create left its cgroup")
        check(s.rc("state", "nodeleg", check_rc=False).returncode != 0, "the failed create left its state")
    finally:
        holder.kill()
        holder.wait()
        for p in (mid + "/c", mid, CG + "/nodeleg"):
            if os.path.isdir(p):
                os.rmdir(p)


@test
def disabled_manager_runs_without_limits(s):
    b = s.bundle(["sh", "-c", "cat /proc/self/cgroup"], resources={"memory": {"limit": 32 * MiB}})
    r = s.rc("run", "--bundle", b, "dis1", glob=["--cgroup-manager=disabled"])
    check("not enforced" in r.stderr, f"no warning: {r.stderr!r}")
    check(not os.path.exists(CG + "/run-container/dis1"), "a cgroup was created")


@test
def frozen_cgroup_refused_at_create(s):
    """runc: "container's cgroup unexpectedly frozen". Without the check the init stops at
    its first instruction and create (or run) waits forever."""
    top = CG + "/frozen-top"
    os.makedirs(top + "/c")
    try:
        with open(top + "/cgroup.freeze", "w") as f:
            f.write("1")
        wait_for(lambda: "frozen 1" in read(top + "/c/cgroup.events"), 10, "the child to be frozen")
        b = s.bundle(["true"], cgroups_path="/frozen-top/c")
        r = s.rc("create", "--bundle", b, "frozen1", check_rc=False, timeout=30,
                 stdout=subprocess.DEVNULL)
        check(r.returncode == 1 and "unexpectedly frozen" in r.stderr, f"create: {r.returncode} {r.stderr}")
        check(s.rc("state", "frozen1", check_rc=False).returncode != 0, "the failed create left its state")
    finally:
        with open(top + "/cgroup.freeze", "w") as f:
            f.write("0")
        for p in (top + "/c", top):
            if os.path.isdir(p):
                os.rmdir(p)


@test
def exec_into_a_cgroup_with_sub_cgroups(s):
    """The container moved its init into a sub-cgroup and enabled controllers below its
    cgroup (systemd in a container does): cgroup v2 refuses processes in that inner node
    (EBUSY). exec then joins the init's cgroup, as runc and crun do."""
    b = s.bundle(["sleep", "1000"])
    cid = s.start(b)
    d = s.cgdir(cid)
    pid = s.state(cid)["pid"]
    os.mkdir(d + "/init.scope")
    with open(d + "/init.scope/cgroup.procs", "w") as f:
        f.write(str(pid))
    with open(d + "/cgroup.subtree_control", "w") as f:
        f.write("+pids")
    r = s.rc("exec", cid, "cat", "/proc/self/cgroup", check_rc=False, timeout=30)
    check(r.returncode == 0, f"exec: {r.returncode} {r.stderr.strip()}")
    check(r.stdout.strip().endswith("/init.scope"), f"exec'd process in {r.stdout.strip()!r}")
    s.delete(cid)


def cgroup_leftovers(s):
    top = os.path.join(CG, "run-container")
    if not os.path.isdir(top):
        return []
    return [n for n in os.listdir(top) if os.path.isdir(os.path.join(top, n))]


def main():
    return run("cgroup suite", __doc__, test.tests, Suite, cgroup_leftovers)


if __name__ == "__main__":
    sys.exit(main())
