"""Rootless test setup: a dedicated unprivileged user, and a Runtime that runs as it.

The user (USER, a system account without a home or login shell) is created on first use,
with a 65536-id range in /etc/subuid and /etc/subgid for newuidmap/newgidmap (Debian's
uidmap package). Every runtime command of a `urt` runs as that user through setpriv(1),
with a clean environment: its own XDG_RUNTIME_DIR (a 0700 directory of the test, as
/run/user/UID would be) and HOME, and no --root, so the runtime's default state root for a
non-root caller is what the tests see. The runtime binary is copied to a session
directory the user can reach (the build directory may be below a private one).

For crun, each call runs as the conftest's crun wrapper does (a private mount namespace
with an empty read-only cgroup.controllers over the host's cgroup2, --cgroup-manager=
disabled), set up as root, then setpriv drops to the user inside it."""

import contextlib
import copy
import os
import pwd
import shlex
import shutil
import stat
import subprocess

import pytest

from conftest import BUILD_DIR, KIND, RUNTIME, UNIFIED_CONTROLLERS, Bundle, Runtime, default_config

USER = "rc-rootless"
SUBID_COUNT = 65536
NEWUIDMAP = "/usr/bin/newuidmap"
NEWGIDMAP = "/usr/bin/newgidmap"
USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid
        self.subuid = subid_start("/etc/subuid", name)
        self.subgid = subid_start("/etc/subgid", name)

    def setpriv(self):
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]

    def run(self, argv, env=None, **kw):
        """Runs argv as the user (clean environment plus env)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("timeout", 30)
        envv = [f"{k}={v}" for k, v in {"PATH": USER_PATH, **(env or {})}.items()]
        return subprocess.run(self.setpriv() + ["env", "-i"] + envv + list(argv), **kw)

    def chown(self, path):
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", path], check=True)


def subid_start(path, name):
    """The first id of name's range in /etc/subuid or /etc/subgid (None without one)."""
    with contextlib.suppress(FileNotFoundError):
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] == name and int(parts[2]) >= SUBID_COUNT:
                    return int(parts[1])
    return None


def free_subid_start(path):
    """A start above every range of path, so a new range overlaps none."""
    end = 400000
    with contextlib.suppress(FileNotFoundError):
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    end = max(end, int(parts[1]) + int(parts[2]))
    return end


def ensure_user():
    """Creates USER and its subordinate id ranges if missing; returns a User."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                       "--shell", "/usr/sbin/nologin", USER], check=True, capture_output=True)
    for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        if subid_start(path, USER) is None:
            start = free_subid_start(path)
            subprocess.run(["usermod", flag, f"{start}-{start + SUBID_COUNT - 1}", USER], check=True,
                           capture_output=True)
    return User(USER)


def rootless_config(user, args=("/probe",), wide=False):
    """default_config with a user namespace mapping container root to the user (and, with
    wide, container ids 1..65536 to the user's subordinate ranges, which needs newuidmap),
    and no gid= on devpts (gid 5 is not mapped by a single-id map)."""
    c = copy.deepcopy(default_config(args))
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": user.gid, "size": 1}]
    if wide:
        c["linux"]["uidMappings"].append({"containerID": 1, "hostID": user.subuid, "size": SUBID_COUNT})
        c["linux"]["gidMappings"].append({"containerID": 1, "hostID": user.subgid, "size": SUBID_COUNT})
    for m in c["mounts"]:
        if m["type"] == "devpts":
            m["options"] = [o for o in m["options"] if not o.startswith("gid=")]
    return c


class UserRuntime(Runtime):
    """A Runtime whose commands run as the rootless user, with the runtime's default state
    root under the test's own XDG_RUNTIME_DIR."""

    def __init__(self, workdir, user, binary, kind=KIND, tun=None):
        self.user = user
        self.tun = tun  # a device node to bind over /dev/net/tun (see tun_node)
        self.home = os.path.join(workdir, "home")
        self.xdg = os.path.join(workdir, "xdg")
        for d in (self.home, self.xdg):
            os.mkdir(d, 0o700)
            os.chown(d, user.uid, user.gid)
        self.env = {"PATH": USER_PATH, "HOME": self.home, "XDG_RUNTIME_DIR": self.xdg}
        super().__init__(workdir, kind)
        self.binary = binary if kind == KIND else self.binary
        self.prefix = self._prefix()
        self.root = os.path.join(self.xdg, "crun" if kind == "crun" else "run-container")

    def _prefix(self):
        """setpriv to the user, after binds made as root in a private mount namespace
        that dies with the call (crun's cgroup.controllers, a usable /dev/net/tun)."""
        inner = self.user.setpriv() + ["env", "-i"] + [f"{k}={v}" for k, v in self.env.items()] + [self.binary]
        mounts = []
        if self.kind == "crun":
            inner.append("--cgroup-manager=disabled")
            if os.path.exists(UNIFIED_CONTROLLERS):
                empty = os.path.join(self.workdir, "empty")
                open(empty, "w").close()
                mounts.append(f"mount --bind -o ro {shlex.quote(empty)} {UNIFIED_CONTROLLERS}")
        if self.tun:
            mounts.append(f"mount --bind {shlex.quote(self.tun)} /dev/net/tun")
        if not mounts:
            return inner
        script = " && ".join(mounts + [f"exec {' '.join(shlex.quote(a) for a in inner)} \"$@\""])
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]

    def argv(self, *args, global_args=()):
        return self.prefix + list(global_args) + [str(a) for a in args]


def tun_node(workdir):
    """None where the user may open /dev/net/tun (Debian's udev makes it 0666); else a
    0666 node of the same device in workdir, for UserRuntime to bind over /dev/net/tun in
    its private mount namespace: nothing on the host changes."""
    st = os.stat("/dev/net/tun")
    if st.st_mode & 0o006 == 0o006:
        return None
    path = os.path.join(workdir, "tun")
    os.mknod(path, 0o666 | stat.S_IFCHR, st.st_rdev)
    os.chmod(path, 0o666)
    return path


@pytest.fixture(scope="session")
def rl_user(root_required):
    for tool, pkg in (("setpriv", "util-linux"), (NEWUIDMAP, "uidmap"), (NEWGIDMAP, "uidmap"),
                      ("useradd", "passwd")):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (apt-get install {pkg})")
    user = ensure_user()
    r = user.run(["unshare", "--user", "--map-root-user", "true"])
    if r.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are not allowed on this host: {r.stderr.strip()}")
    return user


@pytest.fixture(scope="session")
def rl_binary(rl_user, runtime_binary, session_dir):
    """The runtime binary, where the rootless user can execute it (a root-owned copy)."""
    if KIND == "crun":
        return RUNTIME
    d = os.path.join(session_dir, "rl-bin")
    os.makedirs(d, exist_ok=True)
    os.chmod(session_dir, 0o711)
    os.chmod(d, 0o755)
    path = os.path.join(d, "run-container")
    shutil.copy(RUNTIME, path)
    os.chmod(path, 0o755)
    return path


@pytest.fixture
def urt(rl_user, rl_binary, workdir):
    r = UserRuntime(workdir, rl_user, rl_binary)
    yield r
    r.cleanup()


@pytest.fixture
def ubundle(rl_user, base_rootfs, workdir):
    """Factory: ubundle(args=("/probe",), wide=False) -> a Bundle owned by the user, with
    rootless_config."""
    n = [0]

    def make(args=("/probe",), wide=False, name=None):
        n[0] += 1
        path = os.path.join(workdir, name or f"ubundle{n[0]}")
        os.mkdir(path)
        subprocess.run(["cp", "-a", base_rootfs, os.path.join(path, "rootfs")], check=True)
        rl_user.chown(path)
        return Bundle(path, rootless_config(rl_user, args, wide))

    return make


__all__ = ["USER", "User", "UserRuntime", "rootless_config", "tun_node", "rl_user", "rl_binary", "urt", "ubundle",
           "BUILD_DIR"]
