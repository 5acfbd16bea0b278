"""A private containerd: root, state and sockets in a temporary directory, the CRI
plugin disabled (unless a test gives it its configuration), started (and stopped, by pid)
by the tests, inside the sandbox. Its runc shim runs run-container through `ctr run
--runc-binary`."""

import os
import subprocess
import time

CONFIG = """\
version = 2
root = "{dir}/root"
state = "{dir}/state"
{disabled}

[grpc]
  address = "{dir}/containerd.sock"

[ttrpc]
  address = "{dir}/containerd.sock.ttrpc"

[debug]
  address = "{dir}/debug.sock"
{extra}"""

NAMESPACE = "rc-test"


class Containerd:
    def __init__(self, sandbox, workdir, cri_config=None):
        """cri_config: the TOML of the CRI plugin's section (then it runs), or None."""
        self.sandbox = sandbox
        self.dir = workdir
        self.sock = os.path.join(workdir, "containerd.sock")
        self.config = os.path.join(workdir, "config.toml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(dir=workdir, extra=cri_config or "",
                                  disabled='disabled_plugins = ["io.containerd.grpc.v1.cri"]' if cri_config is None
                                  else ""))
        self.log = open(os.path.join(workdir, "containerd.log"), "w")
        self.proc = sandbox.popen(["containerd", "--config", self.config], stdout=self.log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while self.ctr("version", timeout=10).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"containerd did not start: {self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, n=2000):
        with open(self.log.name) as f:
            return f.read()[-n:]

    def ctr(self, *args, timeout=120, **kw):
        return self.sandbox.run(["ctr", "--address", self.sock, "--namespace", NAMESPACE] + list(args),
                                timeout=timeout, **kw)

    def ctr_argv(self, *args):
        return self.sandbox.argv(["ctr", "--address", self.sock, "--namespace", NAMESPACE] + list(args))

    def cleanup(self):
        """Kills and removes every task and container still known."""
        r = self.ctr("tasks", "ls", "-q", timeout=60)
        for tid in r.stdout.split() if r.returncode == 0 else []:
            self.ctr("tasks", "kill", "-s", "SIGKILL", tid, timeout=30)
            self.ctr("tasks", "rm", "-f", tid, timeout=60)
        r = self.ctr("containers", "ls", "-q", timeout=60)
        for cid in r.stdout.split() if r.returncode == 0 else []:
            self.ctr("containers", "rm", cid, timeout=60)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
