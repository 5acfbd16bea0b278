#!/usr/bin/python3
"""The rootless suite under real cgroup v2: runs INSIDE the tests/vm guest, started by
tests/vm/vm-tests.sh, which compiled everything on the host.

    rootless_tests.py RUNTIME WORKDIR [TEST...]

As root, the suite makes the unprivileged user USER (with /etc/subuid and /etc/subgid
ranges; the guest's / is a throw-away overlay) and a cgroup delegated to it as systemd's
Delegate=yes does: /sys/fs/cgroup/rc-rootless.slice, its cgroup.procs,
cgroup.subtree_control and cgroup.threads owned by the user. Every runtime command then
runs as the user (setpriv), from a leaf cgroup below that one (the runtime makes a
container's cgroup next to its own, under the parent), with its own XDG_RUNTIME_DIR, so
memory and pids limits are enforced rootless; and from a cgroup that is root's, where
limits fail naming what is needed, and a config without limits runs without a cgroup.
Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, N failed".
"""

import json
import os
import pwd
import shutil
import subprocess
import tempfile

from vmsuite import CG, MiB, Fail, Registry, check, run, wait_for

test = Registry()
USER = "rc-rootless"
DELEGATED = os.path.join(CG, "rc-rootless.slice")
ROOTS = os.path.join(CG, "rc-rootless-nodeleg")


def ensure_user():
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", USER], check=True)
        pw = pwd.getpwnam(USER)
    for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        have = os.path.exists(path) and any(line.startswith(USER + ":") for line in open(path))
        if not have:
            subprocess.run(["usermod", flag, "500000-565535", USER], check=True)
    return pw.pw_uid, pw.pw_gid


def make_cgroup(path, uid=None, gid=None):
    os.makedirs(path, exist_ok=True)
    if uid is not None:
        for f in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(os.path.join(path, f), uid, gid)


class Suite:
    def __init__(self, runtime, work):
        self.runtime = runtime
        self.rootfs = os.path.join(work, "rootfs")
        for d in (os.path.dirname(work), work):  # mktemp's 0700: the user must reach the rootfs
            os.chmod(d, 0o711)
        self.uid, self.gid = ensure_user()
        self.tmp = tempfile.mkdtemp(prefix="rlt-", dir="/tmp")
        os.chmod(self.tmp, 0o711)
        # the build directory may be below a 0700 one (a CI clone in mktemp's directory):
        # the user runs a copy (as tests/integration/rootless.py's rl_binary does)
        self.runtime = os.path.join(self.tmp, "run-container")
        shutil.copy(runtime, self.runtime)
        os.chmod(self.runtime, 0o755)
        self.xdg = os.path.join(self.tmp, "xdg")
        os.mkdir(self.xdg, 0o700)
        os.chown(self.xdg, self.uid, self.gid)
        self.root = os.path.join(self.xdg, "run-container")
        make_cgroup(DELEGATED, self.uid, self.gid)
        make_cgroup(os.path.join(DELEGATED, "caller"), self.uid, self.gid)
        make_cgroup(os.path.join(ROOTS, "caller"))
        self.n = 0
        self.ids = []

    def rc(self, *args, delegated=True, glob=(), timeout=120, **kw):
        """A runtime command as the user, started in a leaf of the delegated cgroup (or of
        one that is root's)."""
        leaf = os.path.join(DELEGATED if delegated else ROOTS, "caller", "cgroup.procs")
        argv = ["sh", "-c", f'echo $$ > {leaf} && exec "$@"', "sh", "setpriv", f"--reuid={self.uid}",
                f"--regid={self.gid}", "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin", f"HOME={self.tmp}",
                f"XDG_RUNTIME_DIR={self.xdg}", self.runtime, *glob, *map(str, args)]
        kw.setdefault("capture_output", True)
        return subprocess.run(argv, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def bundle(self, args, resources=None):
        self.n += 1
        path = os.path.join(self.tmp, f"b{self.n}")
        os.mkdir(path)
        os.chown(path, self.uid, self.gid)
        r = self.rc("spec", "--rootless", "--bundle", path)
        check(r.returncode == 0, f"spec --rootless: {r.stderr}")
        with open(os.path.join(path, "config.json")) as f:
            c = json.load(f)
        c["process"]["terminal"] = False
        c["process"]["args"] = list(args)
        c["root"] = {"path": self.rootfs, "readonly": True}
        if resources:
            c["linux"]["resources"] = resources
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(c, f)
        return path

    def run_job(self, args, resources=None, delegated=True, glob=()):
        cid = f"r{self.n + 1}"
        self.ids.append(cid)
        return self.rc("run", "--bundle", self.bundle(args, resources), cid, delegated=delegated, glob=glob)

    def cgroups(self):
        """Container cgroups the runtime made under the delegated one."""
        parent = os.path.join(DELEGATED, "run-container")
        return [e for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))] \
            if os.path.isdir(parent) else []

    def leftovers(self):
        found = [f"cgroup {c}" for c in self.cgroups()]
        if os.path.isdir(self.root):
            found += [e for e in os.listdir(self.root) if not e.startswith("@")]
        return found

    def cleanup(self):
        for cid in self.ids:
            self.rc("delete", "--force", cid)
        self.ids = []


@test
def memory_limit_is_enforced(s):
    r = s.run_job(["sh", "-c", "cat /proc/self/uid_map; dd if=/dev/zero of=/dev/null bs=100M count=1"],
                  {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
    check(r.returncode == 137, f"rc={r.returncode} (want the OOM kill, 137): {r.stderr.strip()}")
    check(r.stdout.split()[:3] == ["0", str(s.uid), "1"], f"not the user's map: {r.stdout!r}")


@test
def pids_limit_is_enforced(s):
    script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; echo forked all"
    r = s.run_job(["sh", "-c", script], {"pids": {"limit": 6}})
    check(r.returncode != 0 and "forked all" not in r.stdout and "fork" in r.stderr,
          f"12 processes under pids.max 6: rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")
    r = s.run_job(["sh", "-c", script], {"pids": {"limit": 64}})
    check(r.returncode == 0 and "forked all" in r.stdout, f"under 64: rc={r.returncode} err={r.stderr!r}")


@test
def the_container_cgroup_is_the_users_and_goes_with_delete(s):
    b = s.bundle(["sleep", "30"], {"memory": {"limit": 64 * MiB}})
    s.ids.append("keep")
    err = os.path.join(s.tmp, "keep.err")
    with open(err, "w") as fe:  # not a pipe: the container would hold it open
        r = s.rc("run", "--detach", "--bundle", b, "keep", capture_output=False, stdout=subprocess.DEVNULL,
                 stderr=fe)
    check(r.returncode == 0, f"run -d: {open(err).read().strip()}")
    cg = os.path.join(DELEGATED, "run-container", "keep")
    check(os.path.isdir(cg), f"no cgroup at {cg}: {s.cgroups()}")
    with open(os.path.join(cg, "memory.max")) as f:
        check(f.read().strip() == str(64 * MiB), "memory.max")
    r = s.rc("delete", "--force", "keep")
    check(r.returncode == 0, f"delete: {r.stderr.strip()}")
    s.ids.remove("keep")
    wait_for(lambda: not os.path.exists(cg), 10, "the cgroup removed")


@test
def without_delegation_limits_fail_and_the_rest_runs(s):
    r = s.run_job(["true"], {"memory": {"limit": 32 * MiB}}, delegated=False)
    check(r.returncode != 0 and "delegated" in r.stderr and "--cgroup-manager=disabled" in r.stderr,
          f"rc={r.returncode}: {r.stderr.strip()}")
    r = s.run_job(["sh", "-c", "echo ran"], delegated=False)
    check(r.returncode == 0 and r.stdout == "ran\n", f"rc={r.returncode}: {r.stderr.strip()}")
    r = s.run_job(["true"], {"memory": {"limit": 32 * MiB}}, delegated=False, glob=("--cgroup-manager=disabled",))
    check(r.returncode == 0 and "not enforced" in r.stderr, f"rc={r.returncode}: {r.stderr.strip()}")


@test
def sandbox_oom_is_reported(s):
    path = os.path.join(s.xdg, "report.json")
    r = s.rc("sandbox", "--rootfs", s.rootfs, "-m", "32m", "--memory-swap", "32m", "--report", path, "--",
             "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    check(r.returncode == 137, f"rc={r.returncode}: {r.stderr.strip()}")
    with open(path) as f:
        rep = json.load(f)
    check(rep["reason"] == "oom-killed" and rep["usage_source"] == "cgroup", f"report {rep}")


if __name__ == "__main__":
    raise SystemExit(run("rootless_tests.py", __doc__, test.tests, Suite, lambda s: s.leftovers()))
