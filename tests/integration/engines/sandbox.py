"""A private mount namespace for the container engines, held open by one sleeping
process that the tests start and stop by pid.

Inside it:
  /run and /dev/shm are fresh tmpfs: the runtime's default state root (podman passes no
      --root), containerd's shim sockets and fifos, podman's lock all stay private and
      vanish with the namespace;
  on a host without cgroup v2, /sys/fs/cgroup is an empty read-only tmpfs: conmon and the
      containerd shim register cgroup v1 OOM notifiers (a write to cgroup.event_control
      of the cgroup the container runs in); hidden, those find nothing, and nothing an
      engine runs can reach the host's hierarchies.
Every command of an engine runs through nsenter into that namespace; the engines' own
processes (podman's conmon, containerd, its shims) therefore share its mount namespace,
which is how the teardown finds and stops whatever is left, by pid."""

import contextlib
import os
import signal
import subprocess
import time


def cgroup2_host():
    """True if /sys/fs/cgroup is a pure cgroup v2 mount (the tests/vm guest)."""
    r = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "cgroup2fs"


class Sandbox:
    def __init__(self, hide_cgroups):
        mounts = []
        if hide_cgroups:
            mounts.append("mount -t tmpfs -o ro,mode=755 rc-no-cgroups /sys/fs/cgroup")
        mounts += ["mount -t tmpfs -o mode=755 rc-run /run", "mount -t tmpfs -o mode=1777 rc-shm /dev/shm"]
        script = " && ".join(mounts) + " && echo ready && exec sleep infinity"
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       stdin=subprocess.DEVNULL)
        line = self.holder.stdout.readline().strip()
        if line != "ready":
            self.holder.kill()
            err = self.holder.communicate(timeout=10)[1]
            raise RuntimeError(f"cannot set up the engines' mount namespace: {err.strip()}")
        self.ns = f"/proc/{self.holder.pid}/ns/mnt"
        self.ns_ino = os.stat(self.ns).st_ino
        self.hide_cgroups = hide_cgroups

    def argv(self, argv):
        return ["nsenter", f"--mount={self.ns}", "--"] + [str(a) for a in argv]

    def run(self, argv, timeout=120, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self.argv(argv), timeout=timeout, **kw)

    def popen(self, argv, **kw):
        return subprocess.Popen(self.argv(argv), **kw)

    def pids(self):
        """Processes in the namespace (the engines and their helpers), the holder aside."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.holder.pid:
                continue
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{name}/ns/mnt").st_ino == self.ns_ino:
                    found.append(int(name))
        return found

    def stop(self):
        """Stops what is left in the namespace, then the holder (all by pid)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while pids and time.monotonic() < deadline:
                pids = [p for p in pids if os.path.exists(f"/proc/{p}")]
                time.sleep(0.1)
        self.holder.kill()
        self.holder.wait(timeout=10)
