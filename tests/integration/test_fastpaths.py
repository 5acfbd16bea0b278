"""The six start-up fast paths of create/run, each against its slow path (issue 15).

run-container takes a shorter way through `create` where nothing can tell the difference
(runtime/container/spawn.h, struct rc_spawn_paths; runtime/context.h, enum rc_slow_path):
- netns: the runtime makes the network namespace after the clone, while the init mounts
  (rc_netns_deferred), instead of the clone making it;
- hooks: the HOOKS/HOOKS_DONE round trip is skipped when no hook, network or seccomp agent
  needs it;
- seccomp: a noNewPrivileges filter that allows what the init still does is loaded before
  the wait for `start`, not right before execve;
- created: `run` writes the state "created" once the init is released, not before;
- protect: the devices, masked and read-only paths no later mount touches are made while
  the network namespace is, not after all mounts;
- setup: `create` writes its copy of config.json while the init sets up, not before the
  clone.
RC_TEST_SLOW_PATHS (tests/integration/README.md) forces the slow ones. For each path, the
configs that exercise it run both ways and must show the same: exit status, output, the
container's view (namespaces, lo, mounts, devices, seccomp), hooks and their states, state
transitions, and nothing left behind. With --debug, run-container logs a "fast path NAME:"
line where it takes each one: present on the fast way for the configs that qualify, absent
on the slow way, which proves the matrix goes both ways.
"""

import json
import os
import re
import signal
import subprocess

import pytest

from conftest import REPO, host_ns, parse_json, pids_holding, pids_with_token, wait_for
from test_network import host, net_bundle, nrt  # noqa: F401  (fixtures: a test-made network namespace)

pytestmark = pytest.mark.run_container_only(
    "forces run-container's own start-up fast paths (RC_TEST_SLOW_PATHS) and reads the debug lines that "
    "show them taken; crun has no such paths")

ENV = "RC_TEST_SLOW_PATHS"
FAST = ""  # the production way: the variable unset


def fast_line(path):
    return f"fast path {path}:"


class Way:
    """Runtime commands the fast way (slow="") or with RC_TEST_SLOW_PATHS=slow, with
    --debug into a log file of their own."""

    def __init__(self, rt, slow):
        self.rt, self.slow = rt, slow
        self.n = 0

    def _env(self):
        env = dict(os.environ)
        env.pop(ENV, None)
        if self.slow:
            env[ENV] = self.slow
        return env

    def _log(self):
        self.n += 1
        return os.path.join(self.rt.workdir, f"{self.slow or 'fast'}-{self.n}.log")

    def cmd(self, *args, **kw):
        log = self._log()
        r = self.rt.cmd(*args, global_args=("--debug", "--log", log), env=self._env(), **kw)
        r.log = read(log) if os.path.exists(log) else ""
        return r

    def run(self, b, cid=None, extra=()):
        b.save()
        cid = cid or self.rt.new_id()
        r = self.cmd("run", "--bundle", b.path, *extra, cid)
        r.cid = cid
        return r

    def create(self, b):
        """create; the container's stdout goes to a file (a pipe would stay open)."""
        b.save()
        cid = self.rt.new_id()
        out = os.path.join(self.rt.workdir, f"{cid}.out")
        err = os.path.join(self.rt.workdir, f"{cid}.err")
        with open(out, "w") as fo, open(err, "w") as fe:
            r = self.cmd("create", "--bundle", b.path, cid, stdout=fo, stderr=fe)
        r.stderr = read(err)
        assert r.returncode == 0, f"create ({self.slow or 'fast'}) failed: {r.stderr}{r.log}"
        r.cid, r.out = cid, out
        return r


def read(path):
    with open(path) as f:
        return f.read()


def both(rt, path):
    """The fast way and the slow way of one path."""
    return Way(rt, FAST), Way(rt, path)


def assert_taken(r, path, taken):
    """The debug line of the fast path is there exactly when it was taken."""
    assert (fast_line(path) in r.log) == taken, f"fast path {path} {'not ' if taken else ''}taken:\n{r.log}"


def assert_nothing_left(rt):
    """No state directory, no process holding the test's directory, no mount below it."""
    left = [e for e in os.listdir(rt.root) if not e.startswith("@")]
    assert left == [], f"state left behind: {left}"
    assert pids_holding(rt.workdir) == [], "processes left behind"
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if rt.workdir in line.split()[4]]
    assert mounts == [], f"mounts left behind: {mounts}"


def sh(script):
    return ["/bin/sh", "-c", script]


SEP = "@@@"


def probe_after(script):
    """Runs script, then the probe: the output is script's, SEP, the probe's JSON."""
    return sh(f"{script}; echo {SEP}; exec /probe")


def split(out):
    head, _, tail = out.partition(SEP)
    return head, parse_json(tail)


def mount_view(info):
    """The probe's mounts without what differs from one container to the next: their ids
    and the order of different mount points (the early work makes some sooner); the stack
    at each mount point keeps its order (a stable sort)."""
    def root(m):  # each way has a bundle of its own
        return re.sub(r"/bundle\d+/", "/BUNDLE/", m["root"])

    return sorted(((m["mount_point"], m["fstype"], root(m), m["options"]) for m in info["mounts"]),
                  key=lambda m: m[0])


# ---------------------------------------------------------------- netns


@pytest.mark.parametrize("shape", ["new-netns", "no-netns", "new-netns-no-mountns-ops"])
def test_netns(rt, bundle, shape):
    """The container has its own network namespace with lo up (or the runtime's, without
    one), seen by its sysfs too: the slow way (the clone makes it) shows the same."""
    b = bundle(probe_after("ls /sys/class/net; cat /sys/class/net/lo/flags"))
    if shape == "no-netns":
        b.set_namespace("network", present=False)
    if shape == "new-netns-no-mountns-ops":
        # nothing to fill the wait with: no masked or read-only paths
        del b.config["linux"]["maskedPaths"], b.config["linux"]["readonlyPaths"]
    views = {}
    for way in both(rt, "netns"):
        r = way.run(b)
        assert r.returncode == 0, r.stderr + r.log
        assert_taken(r, "netns", shape != "no-netns" and not way.slow)
        head, info = split(r.stdout)
        lines = head.split()
        views[way.slow or "fast"] = (lines, info["ns"]["net"] == host_ns("net"))
        if shape != "no-netns":
            assert lines[:-1] == ["lo"], f"sysfs sees another network namespace: {lines}"
            assert int(lines[-1], 16) & 1, "lo is not up"
            assert info["ns"]["net"] != host_ns("net")
    assert views["fast"] == views["netns"]
    assert_nothing_left(rt)


@pytest.mark.parametrize("slow", [FAST, "netns"], ids=["fast", "slow"])
def test_netns_with_a_network(nrt, bundle, host, slow):
    """With a network: attached into the namespace the runtime made, while the init mounts
    (no HOOKS stop); the slow way attaches it at HOOKS. Same address, route, and nothing
    left (lease, veth)."""
    way = Way(nrt, slow)
    b = net_bundle(bundle, sh("ip -4 -o addr show eth0; ip route"), network="default", ip="10.90.0.43")
    r = way.run(b)
    assert r.returncode == 0, r.stderr + r.log
    assert "inet 10.90.0.43/24" in r.stdout
    assert "default via 10.90.0.1 dev eth0" in r.stdout
    assert_taken(r, "netns", not slow)
    assert_taken(r, "hooks", not slow)  # a network attached at HOOKS needs the stop
    assert nrt.leases() == []
    assert [l for l in host.links() if l.startswith("rcv")] == []


# ---------------------------------------------------------------- hooks

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def hook(kind, out_dir):
    """Saves its stdin (the state) to DIR/KIND.json and appends KIND to DIR/order; DIR is
    /hooks (bound from out_dir) where the host's path is not reachable (startContainer)."""
    script = f'd=$1; [ -d "$d" ] || d=/hooks; cat > "$d/{kind}.json" && echo {kind} >> "$d/order"'
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hook", out_dir]}


@pytest.mark.parametrize("kinds", [(), HOOK_KINDS, ("poststart", "poststop"), ("createContainer",)],
                         ids=["none", "all", "post-only", "createContainer"])
def test_hooks(rt, bundle, workdir, kinds):
    """The round trip is skipped only when no hook needs it (poststart and poststop do
    not); forced, the same hooks run in the same order with the same states."""
    seen = {}
    for way in both(rt, "hooks"):
        out = os.path.join(workdir, f"hooks-{way.slow or 'fast'}")
        os.mkdir(out)
        b = bundle(["/probe", "exit", "3"])
        b.add_mount("/hooks", "bind", out, ["bind", "rw"])
        b.config["hooks"] = {kind: [hook(kind, out)] for kind in kinds}
        r = way.run(b)
        assert r.returncode == 3, r.stderr + r.log
        needs = any(k in kinds for k in HOOK_KINDS[:4])
        assert_taken(r, "hooks", not needs and not way.slow)
        order = read(os.path.join(out, "order")).split() if kinds else []
        states = {}
        for kind in kinds:
            st = json.loads(read(os.path.join(out, f"{kind}.json")))
            assert st["id"] == r.cid and (kind == "poststop" or st["pid"] > 0), (kind, st)
            states[kind] = st["status"]
        seen[way.slow or "fast"] = (order, states)
    assert seen["fast"] == seen["hooks"]
    assert seen["fast"][0] == list(kinds)
    if kinds == HOOK_KINDS:
        assert seen["fast"][1]["createRuntime"] == "creating"
        assert seen["fast"][1]["poststop"] == "stopped"
    assert_nothing_left(rt)


def test_hooks_create_start(rt, bundle):
    """create + start without hooks: the same either way (the round trip is create's)."""
    for way in both(rt, "hooks"):
        c = way.create(bundle(["/probe", "exit", "0"]))
        assert_taken(c, "hooks", not way.slow)
        assert rt.state(c.cid)["status"] == "created"
        assert way.cmd("start", c.cid).returncode == 0
        rt.wait_status(c.cid, "stopped")
        assert way.cmd("delete", c.cid).returncode == 0
    assert_nothing_left(rt)


# ---------------------------------------------------------------- seccomp


def podman_seccomp():
    with open(os.path.join(REPO, "tests", "integration", "configs", "podman-default.json")) as f:
        return json.load(f)["linux"]["seccomp"]


def init_seccomp_mode(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("Seccomp:"))


@pytest.mark.parametrize("shape", ["podman", "podman-startContainer-hook", "podman-without-nnp"])
def test_seccomp(rt, bundle, workdir, shape):
    """podman's default profile with noNewPrivileges: loaded while the init waits for
    `start` on the fast way, right before execve on the slow one (a startContainer hook,
    or no noNewPrivileges, keep it where it was); the process runs under it either way,
    with the same result."""
    outs = {}
    for way in both(rt, "seccomp"):
        b = bundle(probe_after("mkdir /dev/shm/d && echo made"))
        b.config["linux"]["seccomp"] = podman_seccomp()
        if shape == "podman-startContainer-hook":
            b.config["hooks"] = {"startContainer": [{"path": "/bin/true"}]}
        if shape == "podman-without-nnp":
            b.config["process"]["noNewPrivileges"] = False
        c = way.create(b)
        early = shape == "podman" and not way.slow
        assert_taken(c, "seccomp", early)
        pid = rt.state(c.cid)["pid"]
        # without noNewPrivileges the filter goes in before the capability drop, always early
        want = "2" if early or shape == "podman-without-nnp" else "0"
        assert init_seccomp_mode(pid) == want
        assert way.cmd("start", c.cid).returncode == 0
        rt.wait_status(c.cid, "stopped")
        head, info = split(read(c.out))
        assert info["status"]["Seccomp"].strip() == "2"
        outs[way.slow or "fast"] = (head, info["no_new_privs"])
        assert way.cmd("delete", c.cid).returncode == 0
    assert outs["fast"] == outs["seccomp"]
    assert outs["fast"][0].split() == ["made"]
    assert_nothing_left(rt)


def test_seccomp_run_refuses_the_same(rt, bundle):
    """Under `run`, a call the profile refuses fails the same either way."""
    results = {}
    for way in both(rt, "seccomp"):
        b = bundle(sh("mkdir /dev/shm/d; echo mkdir=$?"))
        b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
        r = way.run(b)
        assert_taken(r, "seccomp", not way.slow)
        results[way.slow or "fast"] = (r.returncode, r.stdout, r.stderr)
    assert results["fast"] == results["seccomp"]
    assert results["fast"][:2] == (0, "mkdir=1\n")
    assert "Operation not permitted" in results["fast"][2]


# ---------------------------------------------------------------- created


@pytest.mark.parametrize("detach", [False, True], ids=["foreground", "detach"])
def test_created(rt, bundle, workdir, detach):
    """Foreground `run` writes the created state once the init is released (before
    poststart); the slow way writes it before. A poststart hook that asks the runtime sees
    the container running either way; a detached run writes it before (no fast path)."""
    seen = {}
    for way in both(rt, "created"):
        out = os.path.join(workdir, f"state-{way.slow or 'fast'}.json")
        cid = rt.new_id()
        ask = " ".join(f"'{a}'" for a in rt.argv("state", cid))
        b = bundle(sh("/probe sleep 2; exit 5"))
        b.config["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"{ask} > {out}"]}]}
        r = way.run(b, cid=cid, extra=("--detach",) if detach else ())
        assert_taken(r, "created", not detach and not way.slow)
        st = json.loads(read(out))
        assert st["status"] in (("running", "stopped") if detach else ("running",)), st
        if detach:
            assert r.returncode == 0, r.stderr + r.log
            rt.wait_status(cid, "stopped")
            assert way.cmd("delete", cid).returncode == 0
        seen[way.slow or "fast"] = r.returncode
    assert seen["fast"] == seen["created"] == (0 if detach else 5)
    assert_nothing_left(rt)


# ---------------------------------------------------------------- protect


@pytest.mark.parametrize("shape", ["default", "createContainer-hook", "no-netns", "device"])
def test_protect(rt, bundle, workdir, shape):
    """The devices, masked and read-only paths come out the same whether made early
    (while the network namespace is made) or after all mounts: the same mounts at the same
    places with the same options, the same devices; /proc/timer_list masked, /proc/sys read-only,
    /sys/firmware (below the later sysfs mount) masked on top of it."""
    views = {}
    for way in both(rt, "protect"):
        b = bundle(probe_after("/probe dev; echo; /probe stat /dev/fuse-rc; echo; "
                               "cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/domainname; "
                               "ls /sys/firmware | wc -l"))
        if shape == "createContainer-hook":
            b.config["hooks"] = {"createContainer": [{"path": "/bin/true"}]}
        if shape == "no-netns":
            b.set_namespace("network", present=False)
        if shape == "device":
            b.config["linux"]["devices"] = [{"path": "/dev/fuse-rc", "type": "c", "major": 10, "minor": 229,
                                             "fileMode": 0o600, "uid": 0, "gid": 0}]
        r = way.run(b)
        assert r.returncode == 0, r.stderr + r.log
        assert_taken(r, "protect", shape in ("default", "device") and not way.slow)
        head, info = split(r.stdout)
        views[way.slow or "fast"] = (head, r.stderr.replace(r.cid, "ID"), mount_view(info))
        assert "Read-only file system" in r.stderr, r.stderr  # /proc/sys
    assert views["fast"] == views["protect"]
    head = views["fast"][0]
    assert '"null"' in head or "/dev/null" in head
    assert head.split()[-2:] == ["0", "0"], f"/proc/timer_list or /sys/firmware not masked: {head}"
    assert_nothing_left(rt)


# ---------------------------------------------------------------- setup


def test_setup(rt, bundle, workdir):
    """create's copy of config.json (what delete runs poststop from) is the bundle's, byte
    for byte, whether written while the init sets up or before the clone."""
    for way in both(rt, "setup"):
        out = os.path.join(workdir, f"poststop-{way.slow or 'fast'}")
        b = bundle(["/probe", "exit", "0"])
        b.config["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}"]}]}
        c = way.create(b)
        assert_taken(c, "setup", not way.slow)
        assert read(os.path.join(rt.root, c.cid, "config.json")) == read(os.path.join(b.path, "config.json"))
        assert way.cmd("start", c.cid).returncode == 0
        rt.wait_status(c.cid, "stopped")
        assert way.cmd("delete", c.cid).returncode == 0
        assert json.loads(read(out))["status"] == "stopped"
    assert_nothing_left(rt)


# ---------------------------------------------------------------- all at once, and kill -9


def test_all_slow_paths_at_once(rt, bundle):
    """RC_TEST_SLOW_PATHS=all: the probe's whole view is the fast way's (ids and the order
    of mounts aside), and no fast path is taken."""
    b = bundle()
    b.config["linux"]["seccomp"] = podman_seccomp()
    views = {}
    for way in (Way(rt, FAST), Way(rt, "all")):
        r = way.run(b)
        assert r.returncode == 0, r.stderr + r.log
        info = parse_json(r.stdout)
        for path in ("netns", "hooks", "seccomp", "created", "protect", "setup", "recorded"):
            assert_taken(r, path, not way.slow)
        info["mounts"] = mount_view(info)
        for k in ("pid", "ppid", "ns", "fds", "monotonic", "boottime"):
            info.pop(k, None)
        views[way.slow or "fast"] = info
    assert views["fast"] == views["all"]


def test_unknown_path_is_refused(rt, bundle):
    r = Way(rt, "netns,nosuch").run(bundle())
    assert r.returncode == 1
    assert f'{ENV}: unknown start-up path "nosuch"' in r.stderr
    assert_nothing_left(rt)


@pytest.mark.parametrize("slow", [FAST, "all"], ids=["fast", "slow"])
def test_kill9_of_create_in_a_prestart_hook(rt, bundle, workdir, slow):
    """create killed while its prestart hook runs (the init is recorded and set up by
    then, its network namespace made either way): delete --force leaves nothing."""
    marker = os.path.join(workdir, f"hook-ran-{slow or 'fast'}")
    b = bundle(["/probe", "exit", "0"])
    # waits for its runtime to die (kill -0 on the pid it was started by)
    b.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"touch {marker}; while kill -0 $PPID 2>/dev/null; do sleep 0.05; done"]}]}
    b.save()
    cid = rt.new_id()
    env = dict(os.environ)
    env.pop(ENV, None)
    if slow:
        env[ENV] = slow
    p = rt.popen("create", "--bundle", b.path, cid, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(marker) or p.poll() is not None, what="the prestart hook")
    assert p.poll() is None, "create ended before its hook"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    r = rt.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: pids_holding(workdir) == [], what="the hook and the init to be gone")
    assert_nothing_left(rt)


@pytest.mark.parametrize("slow", [FAST, "all"], ids=["fast", "slow"])
def test_kill9_of_run_while_the_container_runs(rt, bundle, workdir, slow):
    """Foreground run killed once its container runs (the deferred state write is behind
    the release): delete --force leaves nothing."""
    token = f"2000.{os.getpid()}{len(slow)}"
    b = bundle(["/bin/sleep", token])
    b.save()
    cid = rt.new_id()
    env = dict(os.environ)
    env.pop(ENV, None)
    if slow:
        env[ENV] = slow
    p = rt.popen("run", "--bundle", b.path, cid, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: pids_with_token(token) or p.poll() is not None, what="the container's process")
    assert p.poll() is None, "run ended before its container ran"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    r = rt.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not pids_with_token(token), what="the container to be gone")
    assert_nothing_left(rt)
