"""podman driven with run-container as its OCI runtime, everything of podman's in a
temporary directory: storage (vfs: no mounts), run root, tmp, events log, and a
containers.conf (CONTAINERS_CONF) that declares the runtime."""

import json
import os
import shlex

CONF = """\
[containers]
log_driver = "k8s-file"

[engine]
runtime = "{name}"
# podman accepts --cgroups=disabled only for runtimes listed here
runtime_supports_nocgroup = ["{name}"]
runtime_supports_json = ["{name}"]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{dir}/events.log"
tmp_dir = "{dir}/tmp"

[engine.runtimes]
{name} = ["{runtime}"]
"""


class Podman:
    def __init__(self, sandbox, workdir, runtime, cgroups):
        self.sandbox = sandbox
        self.dir = workdir
        self.runtime = runtime
        self.cgroups = cgroups  # the host has cgroup v2: containers get a cgroup and limits
        name = os.path.basename(runtime)
        self.conf = os.path.join(workdir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(name=name, dir=workdir, runtime=runtime))
        self.env = dict(os.environ, CONTAINERS_CONF=self.conf)
        self.base = ["podman", "--root", os.path.join(workdir, "root"), "--runroot",
                     os.path.join(workdir, "runroot"), "--storage-driver", "vfs", "--runtime", runtime]

    def __call__(self, *args, timeout=120, **kw):
        return self.sandbox.run(self.base + list(args), timeout=timeout, env=self.env, **kw)

    def argv(self, *args):
        """The sandboxed command line (for `script`)."""
        return self.sandbox.argv(self.base + list(args))

    def run_opts(self):
        """Options for `podman run`: offline, no network, and on a host without cgroup v2
        no cgroup (podman's default pids limit needs one) and ulimits the host allows."""
        opts = ["--pull", "never", "--network", "none",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
        if not self.cgroups:
            opts.append("--cgroups=disabled")
        return opts

    def import_rootfs(self, tarball, ref):
        r = self("import", tarball, ref)
        assert r.returncode == 0, f"podman import: {r.stderr}"

    def cleanup(self):
        """Removes every container podman still knows, then whatever the runtime still
        has under its default root inside the sandbox (podman passes no --root)."""
        r = self("ps", "-aq", timeout=60)
        ids = r.stdout.split() if r.returncode == 0 else []
        if ids:
            self("rm", "-f", "-t", "0", *ids, timeout=120)
        r = self.sandbox.run([self.runtime, "list", "--format", "json"], timeout=30)
        if r.returncode == 0 and r.stdout.strip():
            for c in json.loads(r.stdout) or []:
                self.sandbox.run([self.runtime, "delete", "--force", c["id"]], timeout=30)


def script_argv(argv):
    """Runs argv under script(1), so it gets a pty as stdin/stdout."""
    return ["script", "-qec", shlex.join(argv), "/dev/null"]
