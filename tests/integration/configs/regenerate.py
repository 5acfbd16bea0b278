#!/usr/bin/python3
"""Regenerates the corpus in this folder: config.json files exactly as real tools write them.

    sudo /usr/bin/python3 tests/integration/configs/regenerate.py [NAME...]

Each file is the bytes the tool wrote (nothing is reformatted); README.md says how each
one is made. NAMEs: runc-spec, podman-default, podman-read-only, podman-privileged, ctr-oci-spec,
ctr-run-seccomp
(default: all). Needs root, podman, containerd + ctr, busybox-static; runc-spec boots
tests/vm once (runc never runs on the host).

podman and containerd run exactly as tests/integration/test_engines.py runs them (its
helpers: a private mount namespace with the host's cgroup hierarchies hidden, podman's
storage and a private containerd in a temporary directory). Their OCI runtime is a
logging wrapper that copies the bundle's config.json on `create` and then execs the
real runtime (run-container from BUILD_DIR, or crun): what the engine wrote is kept even
if the runtime then refuses it.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))

from engines.containerd import Containerd  # noqa: E402
from engines.podman import Podman  # noqa: E402
from engines.sandbox import Sandbox, cgroup2_host  # noqa: E402

IMAGE = "localhost/rc-busybox:latest"
BUILD_DIR = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))
REAL_RUNTIME = os.environ.get("RUNTIME", os.path.join(BUILD_DIR, "run-container"))

# podman create options beyond the ones every engine test uses (Podman.run_opts()).
PODMAN_CAPTURES = {
    "podman-default": [],
    "podman-read-only": ["--read-only", "--tmpfs", "/x"],
    "podman-privileged": ["--privileged"],
}
PROBE_ARGS = ["/probe"]


def wrapper(path, dest):
    """A runtime wrapper: on `create`, copies the bundle's config.json to dest."""
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
# logging OCI runtime wrapper (tests/integration/configs/regenerate.py)
create=0 bundle=.
prev=
for a in "$@"; do
    case "$prev" in --bundle|-b) bundle=$a ;; esac
    case "$a" in create) create=1 ;; --bundle=*) bundle=${{a#--bundle=}} ;; esac
    prev=$a
done
if [ "$create" = 1 ] && [ ! -e {shlex.quote(dest)} ]; then
    cp "$bundle/config.json" {shlex.quote(dest)}
fi
exec {shlex.quote(REAL_RUNTIME)} "$@"
""")
    os.chmod(path, 0o755)
    return path


def rootfs_tar(work):
    rootfs = os.path.join(work, "rootfs")
    subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox.sh"), rootfs], check=True,
                   stdout=subprocess.DEVNULL)
    tar = os.path.join(work, "rootfs.tar")
    subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
    return tar


def check(r, what):
    if r.returncode != 0:
        sys.exit(f"regenerate: {what} failed ({r.returncode}): {r.stdout}{r.stderr}")


def capture_podman(sandbox, work, tar, names):
    for name in names:
        d = os.path.join(work, name)
        os.mkdir(d)
        out = os.path.join(work, f"{name}.json")
        p = Podman(sandbox, d, wrapper(os.path.join(d, "rc-log-runtime"), out), cgroups=cgroup2_host())
        try:
            p.import_rootfs(tar, IMAGE)
            r = p("create", *p.run_opts(), *PODMAN_CAPTURES[name], IMAGE, *PROBE_ARGS)
            check(r, f"podman create ({name})")
            p("init", r.stdout.strip())  # runtime create: the wrapper copies the config
            if not os.path.exists(out):
                sys.exit(f"regenerate: podman init did not call the runtime's create ({name})")
            shutil.copyfile(out, os.path.join(HERE, f"{name}.json"))
        finally:
            p.cleanup()


def capture_ctr_run(sandbox, work, tar):
    """containerd's own default seccomp profile, as `ctr run --seccomp` writes it."""
    d = os.path.join(work, "containerd")
    os.mkdir(d)
    archive = os.path.join(work, "image.oci.tar")
    os.mkdir(os.path.join(work, "podman-save"))
    p = Podman(sandbox, os.path.join(work, "podman-save"), REAL_RUNTIME, cgroups=cgroup2_host())
    p.import_rootfs(tar, IMAGE)
    check(p("save", "--format", "oci-archive", "-o", archive, IMAGE), "podman save")
    out = os.path.join(work, "ctr-run-seccomp.json")
    c = Containerd(sandbox, d)
    try:
        check(c.ctr("images", "import", archive), "ctr images import")
        opts = ["--runc-binary", wrapper(os.path.join(d, "rc-log-runtime"), out), "--seccomp"]
        if not cgroup2_host():
            opts += ["--cpu-shares", "0"]
        c.ctr("run", "--rm", *opts, IMAGE, "corpus", *PROBE_ARGS)
        if not os.path.exists(out):
            sys.exit(f"regenerate: ctr run did not call the runtime's create: {c.log_tail()}")
        shutil.copyfile(out, os.path.join(HERE, "ctr-run-seccomp.json"))
    finally:
        c.cleanup()
        c.stop()


def capture_ctr_oci_spec():
    with open(os.path.join(HERE, "ctr-oci-spec.json"), "wb") as f:
        subprocess.run(["ctr", "oci", "spec"], check=True, stdout=f)


def capture_runc_spec():
    """`runc spec` in tests/vm: runc never runs on the host."""
    d = tempfile.mkdtemp(prefix="runc-spec-", dir="/var/tmp")
    try:
        r = subprocess.run([os.path.join(REPO, "tests", "vm", "run-in-vm.sh"), "--rw", d, "--",
                            "sh", "-c", "runc --version && runc spec"], cwd=d, capture_output=True, text=True)
        check(r, "runc spec in tests/vm")
        print(r.stdout, end="")
        shutil.copyfile(os.path.join(d, "config.json"), os.path.join(HERE, "runc-spec.json"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(names):
    names = names or ["runc-spec", *PODMAN_CAPTURES, "ctr-oci-spec", "ctr-run-seccomp"]
    if "runc-spec" in names:
        capture_runc_spec()
    if "ctr-oci-spec" in names:
        capture_ctr_oci_spec()
    engine = [n for n in names if n in PODMAN_CAPTURES or n == "ctr-run-seccomp"]
    if not engine:
        return
    work = tempfile.mkdtemp(prefix="rc-corpus-", dir="/tmp")
    os.chmod(work, 0o755)
    sandbox = Sandbox(hide_cgroups=not cgroup2_host())
    try:
        tar = rootfs_tar(work)
        capture_podman(sandbox, work, tar, [n for n in engine if n in PODMAN_CAPTURES])
        if "ctr-run-seccomp" in engine:
            capture_ctr_run(sandbox, work, tar)
    finally:
        sandbox.stop()
        shutil.rmtree(work, ignore_errors=True)
    for tool in (["podman", "--version"], ["ctr", "--version"]):
        print(subprocess.run(tool, capture_output=True, text=True).stdout, end="")


if __name__ == "__main__":
    main(sys.argv[1:])
