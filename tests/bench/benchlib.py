"""Shared helpers of the benchmarks in tests/bench/ (see README.md there).

A benchmark here measures and prints; it never passes or fails on a time. It exits
non-zero only when a container fails, because then its figures mean nothing.

Every figure is taken the same way: the candidates (run-container, crun, the unshare
floor, ...) take turns, A B A B ..., after an untimed warm-up, and each round gives one
paired ratio. The medians of each candidate and the median of the paired ratios are
printed. Each sample is one process (or batch of processes) spawned with posix_spawn and
reaped with wait4, which gives its wall time, its CPU time (user + system, its reaped
children included) and its peak resident set size (ru_maxrss: the largest of the
process and its reaped children).
"""

import atexit
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers"
_DEVNULL = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)


def die(msg):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(1)


def need_root():
    if os.geteuid() != 0:
        die("needs root")


# --json PATH (every script): what report() prints is also written to PATH as JSON at
# exit, for tests/bench/figures.py.
_RESULTS = {"figures": []}


def _write_json(path):
    if _RESULTS["figures"]:
        with open(path, "w") as f:
            json.dump(_RESULTS, f, indent=1)


def start(doc):
    """The start of every script: -h/--help prints its docstring and exits; the rest
    needs root. --json PATH: the reported figures are also written to PATH at exit.
    Returns the arguments."""
    argv = sys.argv[1:]
    if "-h" in argv or "--help" in argv:
        print(doc)
        sys.exit(0)
    need_root()
    path = str_arg(argv, "--json")
    if path is not None:
        _RESULTS["script"] = os.path.basename(sys.argv[0])
        _RESULTS["argv"] = argv
        _RESULTS["load_start"] = os.getloadavg()[0]
        atexit.register(_write_json, os.path.abspath(path))
    return argv


def note(key, value):
    """Context for --json (the config, crun's version, ...)."""
    _RESULTS[key] = value


def tag_figures(n, **kv):
    """Add kv to each of the last n figures report() gave (a script that reports several
    configs in one run: bench_vm_guest.py)."""
    for fig in _RESULTS["figures"][-n:]:
        fig.update(kv)


def write_json(path):
    """What --json writes at exit, written now to path (a script without start())."""
    _write_json(path)


def find_binary(path_or_name, what):
    p = shutil.which(path_or_name) if "/" not in path_or_name else path_or_name
    if not p or not os.access(p, os.X_OK):
        die(f"{what} `{path_or_name}` not found")
    return os.path.abspath(p)


def run_container_binary(arg=None):
    build = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))
    return find_binary(arg or os.environ.get("RUNTIME") or os.path.join(build, "run-container"), "run-container")


def enter_private_mount_ns(net=False):
    """Re-run this script inside a private mount namespace (once). There, an empty file
    is bound read-only over the empty cgroup2's cgroup.controllers, which crun 1.8.1 needs
    on this hybrid host, for every candidate alike; nothing outside changes. net: in a
    new network namespace too (lo up), where bridges, veths and nft tables the benchmark
    makes vanish with it."""
    if os.environ.get("RC_BENCH_MNTNS") == "1":
        if net:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    env = dict(os.environ, RC_BENCH_MNTNS="1")
    argv = ["unshare", "-m", *(["-n"] if net else []), "--propagation", "private", sys.executable,
            os.path.abspath(sys.argv[0])]
    os.execvpe("unshare", argv + sys.argv[1:], env)


class Workdir:
    """A temporary directory with a tmpfs for the runtimes' state roots (like their
    defaults under /run), removed on exit."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix=f"rc-bench-{tag}-", dir=os.environ.get("TMPDIR", "/tmp"))
        self.state = os.path.join(self.path, "state")
        os.mkdir(self.state)
        in_ns = os.environ.get("RC_BENCH_MNTNS") == "1"
        if in_ns:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "rc-bench", self.state], check=True)
            if os.path.exists(CONTROLLERS):
                empty = os.path.join(self.path, "empty")
                open(empty, "w").close()
                subprocess.run(["mount", "--bind", "-o", "ro", empty, CONTROLLERS], check=True)

    def install(self, binary, name):
        """A copy of binary in this directory, made as an installation makes one (one
        sequential write). The run-container candidates run from such copies: a binary
        straight from the linker was measured 10-15% slower in CPU time than a copy of
        itself (`exec --help`: 0.77 against 0.69 ms, 0.96 against 0.77 ms in `perf stat
        -r 300`; same file system, same bytes), so an A B of a build against a copy would
        mostly time that, and an engine runs an installed binary."""
        d = os.path.join(self.path, "bin", name)
        os.makedirs(d, exist_ok=True)
        dst = os.path.join(d, os.path.basename(binary))
        with open(binary, "rb") as src, open(dst, "wb") as out:
            out.write(src.read())
        os.chmod(dst, 0o755)
        return dst

    def root(self, name):
        p = os.path.join(self.state, name)
        os.makedirs(p, exist_ok=True)
        return p

    def cleanup(self):
        subprocess.run(["umount", "-l", self.state], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.path, ignore_errors=True)


def make_rootfs(work):
    rootfs = os.path.join(work.path, "rootfs")
    subprocess.run(["bash", os.path.join(REPO, "rootfs-examples/busybox.sh"), rootfs], check=True,
                   stdout=subprocess.DEVNULL)
    return rootfs


def make_bundle(work, rootfs, name, args, edit=None):
    """A bundle as rootfs-examples/make-bundle.sh writes it (pid, net, ipc, uts, mount
    namespaces; no cgroup limits), its config changed by edit(cfg) when given."""
    bundle = os.path.join(work.path, name)
    subprocess.run(["bash", os.path.join(REPO, "rootfs-examples/make-bundle.sh"), rootfs, bundle, *args],
                   check=True, stdout=subprocess.DEVNULL)
    if edit is not None:
        path = os.path.join(bundle, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        edit(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
    return bundle


class Runtime:
    """One OCI runtime's command line with its own state root."""

    def __init__(self, name, binary, root, global_opts=()):
        self.name = name
        self.binary = binary
        self.root = root
        self.global_opts = list(global_opts)

    def argv(self, *args):
        return [self.binary, *self.global_opts, "--root", self.root, *args]

    def version(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0] if out else "?"

    def cleanup(self):
        ids = subprocess.run(self.argv("list", "-q"), capture_output=True, text=True).stdout.split()
        for cid in ids:
            subprocess.run(self.argv("delete", "--force", cid), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def baseline_runtime(work, argv, global_opts=()):
    """--against BASELINE: another run-container binary (a build of the tree before a
    change) as one more candidate, run from a copy like run-container's, with a state
    root of its own. None without --against."""
    baseline = str_arg(argv, "--against")
    if baseline is None:
        return None
    binary = work.install(find_binary(baseline, "baseline run-container"), "baseline")
    return Runtime("baseline", binary, work.root("baseline"), global_opts)


def runtimes(work, rc_bin, with_crun=True, cgroups=False):
    """run-container and crun, each with a root on the work tmpfs. crun runs without a
    cgroup manager unless cgroups (only in tests/vm). run-container runs from a copy
    (Workdir.install)."""
    rts = [Runtime("run-container", work.install(rc_bin, "run-container"), work.root("run-container"))]
    if with_crun:
        crun = find_binary("crun", "crun (apt-get install crun)")
        opts = [] if cgroups else ["--cgroup-manager=disabled"]
        rts.append(Runtime("crun", crun, work.root("crun"), opts))
    return rts


class Sample:
    __slots__ = ("wall_ms", "cpu_ms", "maxrss_kb")

    def __init__(self, wall_ms, cpu_ms, maxrss_kb):
        self.wall_ms = wall_ms
        self.cpu_ms = cpu_ms
        self.maxrss_kb = maxrss_kb


class Failed(Exception):
    pass


def spawn(argv, stderr_fd=None, open_fds=()):
    """open_fds: (path, fd) pairs: each path opened read-only for the child as that fd."""
    actions = [(os.POSIX_SPAWN_DUP2, _DEVNULL, 0), (os.POSIX_SPAWN_DUP2, _DEVNULL, 1),
               (os.POSIX_SPAWN_DUP2, _DEVNULL if stderr_fd is None else stderr_fd, 2)]
    actions += [(os.POSIX_SPAWN_OPEN, fd, path, os.O_RDONLY, 0) for path, fd in open_fds]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


def _errfile():
    return tempfile.TemporaryFile(prefix="rc-bench-err-")


def _check(argv, status, errf):
    if os.waitstatus_to_exitcode(status) != 0:
        errf.seek(0)
        msg = errf.read().decode(errors="replace").strip()
        raise Failed(f"`{' '.join(argv)}` exited with {os.waitstatus_to_exitcode(status)}: {msg}")


def measure(argv, open_fds=()):
    """Spawn argv (stdio on /dev/null, stderr kept for errors; open_fds as spawn's) and
    reap it."""
    with _errfile() as errf:
        t0 = time.perf_counter_ns()
        pid = spawn(argv, errf.fileno(), open_fds)
        _, status, ru = os.wait4(pid, 0)
        t1 = time.perf_counter_ns()
        _check(argv, status, errf)
    return Sample((t1 - t0) / 1e6, (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_maxrss)


def measure_rss(argv):
    """Peak RSS in KiB of argv as GNU time reports it (%M: wait4's ru_maxrss). Spawned by
    time(1), a small process, because a child inherits at exec the peak of the memory it
    ran in before (a posix_spawn from this Python shares the interpreter's)."""
    with tempfile.NamedTemporaryFile(prefix="rc-bench-rss-", mode="r") as out:
        measure(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv])
        kib = int(out.read().split()[-1])
    return Sample(0.0, 0.0, kib)


def run_quiet(argv, check=True):
    with _errfile() as errf:
        pid = spawn(argv, errf.fileno())
        _, status, _ = os.wait4(pid, 0)
        if check:
            _check(argv, status, errf)
    return os.waitstatus_to_exitcode(status)


def measure_concurrent(chains):
    """Run several chains of commands concurrently, each chain's commands one after the
    other, and time the whole batch. Returns (wall ms, summed CPU ms, largest maxrss)."""
    cpu = 0.0
    maxrss = 0
    running = {}
    errs = []
    t0 = time.perf_counter_ns()
    try:
        for chain in chains:
            it = iter(chain)
            argv = next(it)
            errf = _errfile()
            running[spawn(argv, errf.fileno())] = (argv, it, errf)
        while running:
            pid, status, ru = os.wait4(-1, 0)
            if pid not in running:
                continue
            argv, it, errf = running.pop(pid)
            cpu += (ru.ru_utime + ru.ru_stime) * 1e3
            maxrss = max(maxrss, ru.ru_maxrss)
            try:
                _check(argv, status, errf)
            except Failed as e:
                errs.append(str(e))
                errf.close()
                continue
            nxt = next(it, None)
            if nxt is None:
                errf.close()
                continue
            errf.seek(0)
            errf.truncate()
            running[spawn(nxt, errf.fileno())] = (nxt, it, errf)
    finally:
        for _, _, errf in running.values():
            errf.close()
    t1 = time.perf_counter_ns()
    if errs:
        raise Failed(f"{len(errs)} command(s) failed, first: {errs[0]}")
    return Sample((t1 - t0) / 1e6, cpu, maxrss)


def alternate(candidates, pairs, warmup=1):
    """candidates: list of (name, fn(round) -> Sample). Runs warmup untimed rounds,
    then `pairs` rounds, each candidate once per round in the given order (A B A B ...).
    Returns {name: [Sample per round]}."""
    for w in range(warmup):
        for _, fn in candidates:
            fn(-1 - w)
    res = {name: [] for name, _ in candidates}
    for r in range(pairs):
        for name, fn in candidates:
            res[name].append(fn(r))
    return res


def median(xs):
    return statistics.median(xs)


def report(title, res, base_names, metric="wall_ms", unit="ms", fmt="{:.2f}"):
    """Print each candidate's median, then for each (a, b) in base_names the median of the
    paired ratios a/b (the figure) and the ratio of the medians."""
    n = len(next(iter(res.values())))
    print(f"{title} ({n} pairs after warm-up, {metric})")
    width = max(len(k) for k in res)
    fig = {"title": title, "metric": metric, "unit": unit, "pairs": n, "medians": {}, "ratios": {},
           "load": os.getloadavg()[0]}
    for name, samples in res.items():
        vals = [getattr(s, metric) for s in samples]
        fig["medians"][name] = median(vals)
        print(f"  {name:<{width}}  median {fmt.format(median(vals))} {unit}"
              f"  (min {fmt.format(min(vals))}, max {fmt.format(max(vals))})")
    for a, b in base_names:
        ratios = [getattr(x, metric) / getattr(y, metric) for x, y in zip(res[a], res[b])
                  if getattr(y, metric) > 0]
        ma = median([getattr(s, metric) for s in res[a]])
        mb = median([getattr(s, metric) for s in res[b]])
        fig["ratios"][f"{a}/{b}"] = median(ratios)
        print(f"  ratio {a}/{b}: median of paired ratios {median(ratios):.2f}"
              f"  (ratio of medians {ma / mb:.2f})")
    _RESULTS["figures"].append(fig)


def machine_facts():
    """The host, as figures.py states it: distribution, kernel, CPUs and their model,
    the date (UTC)."""
    try:
        with open("/etc/debian_version") as f:
            deb = "Debian " + f.read().strip()
    except OSError:
        deb = "?"
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"os": deb, "kernel": os.uname().release, "cpus": os.cpu_count(), "cpu_model": model,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def machine():
    m = machine_facts()
    return f"{m['os']}, kernel {m['kernel']}, {m['cpus']} CPUs, load {os.getloadavg()[0]:.1f}"


def int_arg(argv, flag, default):
    if flag in argv:
        i = argv.index(flag)
        try:
            return int(argv[i + 1])
        except (IndexError, ValueError):
            die(f"{flag} needs a number")
    return default


def str_arg(argv, flag, default=None):
    if flag in argv:
        i = argv.index(flag)
        if i + 1 >= len(argv):
            die(f"{flag} needs a value")
        return argv[i + 1]
    return default


# ---- the configs real tools write (tests/integration/configs/) ---------------------------

INTEGRATION = os.path.join(REPO, "tests", "integration")
# --config NAME: the corpus configs the benchmarks time (see tests/integration/configs/README.md)
CORPUS_CONFIGS = ("runc-spec", "podman-default", "ctr-oci-spec")
_NS_FLAGS = {"mount": "-m", "pid": "-p", "ipc": "-i", "uts": "-u", "network": "-n", "cgroup": "-C"}


def _corpus():
    if INTEGRATION not in sys.path:
        sys.path.insert(0, INTEGRATION)
    import test_configs_corpus  # its rewrite() of host-specific paths, reused as is

    return test_configs_corpus


def corpus_bundle(work, rootfs, name, args, dirname=None):
    """A bundle whose config.json is tests/integration/configs/NAME.json as the tool wrote
    it, with the rewrites test_configs_corpus.py makes (its rewrite(): podman's storage
    paths become test files) and then process.args = args, root.path = rootfs (shared by
    all candidates; nothing else changes), in directory dirname (default: name) of the
    work directory. Returns (bundle, config)."""
    if name not in CORPUS_CONFIGS:
        die(f"--config: `{name}` is not one of {', '.join(CORPUS_CONFIGS)}")
    corpus = _corpus()
    bundle = os.path.join(work.path, dirname or name)
    os.mkdir(bundle)
    cfg = corpus.rewrite(corpus.load(name), bundle)
    cfg["process"]["args"] = list(args)
    cfg["root"]["path"] = rootfs
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return bundle, cfg


def config_bundle(work, rootfs, config, args, edit=None):
    """--config NAME (corpus_bundle), or without one (None) make-bundle.sh's bundle, whose
    config is returned as far as the scripts read it (no terminal; its namespaces).
    Returns (bundle, config)."""
    if config is not None:
        return corpus_bundle(work, rootfs, config, args)
    bundle = make_bundle(work, rootfs, "bundle", args, edit)
    cfg = {"process": {}, "linux": {"namespaces": [{"type": t} for t in ("mount", "pid", "ipc", "uts", "network")]}}
    return bundle, cfg


def measure_with_console(work, cfg, argv_of, how=None):
    """One sample of the command argv_of(console_args) with a --console-socket when the
    config has a terminal (Console), measured by how (default measure)."""
    console = Console(work, cfg)
    try:
        return (how or measure)(argv_of(console.args()))
    finally:
        console.close()


def floor_argv(unshare, cfg, rootfs, args):
    """The unshare floor for a config: util-linux unshare with the config's new namespaces
    (the user namespace aside), chroot into rootfs, exec of args."""
    flags = [_NS_FLAGS[n["type"]] for n in cfg.get("linux", {}).get("namespaces", [])
             if n["type"] in _NS_FLAGS and not n.get("path")]
    return [unshare, *flags, "-f", "-R", rootfs, *args]


class ConsoleSink:
    """One --console-socket listener for many concurrent commands of a config with
    "terminal": true (bench_batch.py): it accepts every connection and keeps each pty
    master it is sent until drain() or close()."""

    def __init__(self, work, cfg, name="consoles.sock"):
        import socket
        import threading

        self.path = None
        self.masters = []
        if not cfg["process"].get("terminal"):
            return
        self.path = os.path.join(work.path, name)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        self.sock.listen(512)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import socket

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                except OSError:
                    continue
                with self.lock:
                    self.masters += fds

    def args(self):
        return ["--console-socket", self.path] if self.path else []

    def drain(self):
        if self.path:
            with self.lock:
                for fd in self.masters:
                    os.close(fd)
                self.masters = []

    def close(self):
        if self.path:
            self.sock.close()
            self.drain()
            self.path = None


class Console:
    """A --console-socket for one command of a config with "terminal": true: a listener
    (conftest.ConsoleServer) that takes the pty master; closed after the command."""

    def __init__(self, work, cfg):
        self.server = None
        if cfg["process"].get("terminal"):
            _corpus()
            import conftest

            path = os.path.join(work.path, "console.sock")
            if os.path.exists(path):
                os.unlink(path)
            self.server = conftest.ConsoleServer(path)

    def args(self):
        return ["--console-socket", self.server.path] if self.server else []

    def close(self):
        if self.server:
            self.server.close()
            self.server = None
