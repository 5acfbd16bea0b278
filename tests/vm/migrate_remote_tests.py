#!/usr/bin/python3
"""migrate to another "host" over a unix socket, beyond pre-copy: runs INSIDE the tests/vm
guest, started by tests/vm/vm-tests.sh, on migrate_tests.py's two hosts (network
namespaces rcm-a and rcm-b on one LAN, each with its own state root, network root and
bundle).

    migrate_remote_tests.py RUNTIME WORKDIR [TEST...]

- migrate --post-copy --to unix:PATH: the final image goes over the stream without the
  memory, the container runs at B at once and its memory follows over the page channel
  (a second connection to the same socket, relayed to the source's loopback page server
  and to B's `criu lazy-pages`). The receiver runs in a cgroup of its own, as on another
  host: its container's cgroup is not the frozen source's.
- migrate-receive --timeout: a source SIGSTOPped mid-migration is given up, nothing is
  left at B, and the source's container runs on.
Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, N failed".
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

from migrate_tests import PORT, Suite, count_at, fetch, in_ns, leftovers, read
from postcopy_tests import uffd_ok
from vmsuite import CG, Registry, check, run, wait_for

test = Registry()

# The migrate suite's counting server, and a working set of 4 MiB of random text in the
# shell's memory (a variable, never written anywhere), its md5 taken at the start into
# /dev/shm/sum0; touching /dev/shm/check makes the shell take the md5 again from memory
# into /dev/shm/sum. After a post-copy migration the shell's memory came over lazily:
# the same sum is memory that arrived intact.
WORKSET = ("x=$(head -c 4194304 /dev/urandom | base64); echo \"$x\" | md5sum >/dev/shm/sum0; i=0; "
           "nc -ll -p 8080 -e cat /dev/shm/count & "
           "while :; do i=$((i+1)); echo $i >/dev/shm/count; "
           "if [ -e /dev/shm/check ]; then rm /dev/shm/check; echo \"$x\" | md5sum >/dev/shm/sum.new; "
           "mv /dev/shm/sum.new /dev/shm/sum; fi; sleep 0.1; done")

# B's "host" cgroup: the receiver runs in HOST_CG/proc, so a container it makes goes to
# HOST_CG/run-container/ID (the default is beside the runtime's own cgroup).
HOST_CG = os.path.join(CG, "rcm-b-host")


def in_host_cgroup(argv):
    os.makedirs(os.path.join(HOST_CG, "proc"), exist_ok=True)
    return ["sh", "-c", f'echo $$ >{HOST_CG}/proc/cgroup.procs && exec "$@"', "sh", *argv]


def receiver(s, *extra):
    """migrate-receive in rcm-b and in B's cgroup; returns (proc, out)."""
    out = os.path.join(s.tmp, f"receive-{len(s.procs)}.out")
    with open(out, "w") as o, open(out + ".err", "w") as e:
        p = subprocess.Popen(in_host_cgroup(s.b.argv("migrate-receive", "--listen", f"unix:{s.sock}", "--bundle",
                                                     s.b.bundle, *extra)),
                             stdin=subprocess.DEVNULL, stdout=o, stderr=e)
    s.procs.append(p)
    wait_for(lambda: "listening on" in read(out) or p.poll() is not None, 30, "migrate-receive to listen")
    check(p.poll() is None, f"migrate-receive exited {p.returncode}: {read(out + '.err')}")
    return p, out


def start_workset(s, cid):
    s.a.write_config()
    path = os.path.join(s.a.bundle, "config.json")
    with open(path) as f:
        c = json.load(f)
    c["process"]["args"] = ["sh", "-c", WORKSET]
    with open(path, "w") as f:
        json.dump(c, f)
    s.a.rc("run", "--detach", "--bundle", s.a.bundle, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_for(lambda: count_at("rcm-a") > 3 and count_at("rcm-a"), 120, "the server at rcm-a")


def sum_from_memory(host, cid):
    """The working set's md5 as the shell takes it now from its memory, and the one of the start."""
    host.rc("exec", cid, "touch", "/dev/shm/check")
    wait_for(lambda: host.rc("exec", cid, "test", "!", "-e", "/dev/shm/check", check_rc=False).returncode == 0
             and host.rc("exec", cid, "test", "-e", "/dev/shm/sum", check_rc=False).returncode == 0,
             120, "the shell to take the md5 of its working set")
    now = host.rc("exec", cid, "cat", "/dev/shm/sum").stdout.split()[0]
    start = host.rc("exec", cid, "cat", "/dev/shm/sum0").stdout.split()[0]
    host.rc("exec", cid, "rm", "/dev/shm/sum")
    return now, start


def cgroups_left():
    left = []
    for parent in (os.path.join(CG, "run-container"), os.path.join(HOST_CG, "run-container")):
        if os.path.isdir(parent):
            left += [f"cgroup {parent}/{e}" for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))]
    return left


def remote_leftovers(s):
    left = cgroups_left()
    if not left and os.path.isdir(HOST_CG):
        for d in ("run-container", "proc"):
            if os.path.isdir(os.path.join(HOST_CG, d)):
                os.rmdir(os.path.join(HOST_CG, d))
        os.rmdir(HOST_CG)
    return left + leftovers(s)


@test
def post_copy_over_a_socket_runs_at_b_and_its_memory_follows(s):
    """migrate --post-copy --to unix:PATH: one round (the final dump, no memory in it:
    the pages it left for after the restore hold the working set), the line of the
    transfer, the downtime line; migrate-receive says the memory came over the page channel; at B
    the same process counts on (through B's address and port) and the md5 of its 4 MiB
    working set, taken again from its memory, is the one it took at the start; A has
    nothing left, neither side a work directory, the socket is gone."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    before = start_workset(s, "lazy")
    now, start = sum_from_memory(s.a, "lazy")
    check(now == start, f"the working set changed before the migration: {now} {start}")
    p, out = receiver(s)
    r = s.a.rc("migrate", "--post-copy", "--to", f"unix:{s.sock}", "lazy", timeout=600)
    lines = r.stdout.splitlines()
    print(f"  ({'; '.join(lines)})")
    rounds = [x for x in lines if x.startswith("round ")]
    check(len(rounds) == 1 and "(final dump)" in rounds[0] and " KiB sent" in rounds[0], f"rounds: {lines}")
    check(lines[-1].startswith("downtime: ") and "memory followed" in lines[-1], f"no downtime line: {lines}")
    left = int(rounds[0].split(" left with the source's page server")[0].split()[-1]) \
        if " left with the source's page server for after the restore" in rounds[0] else 0
    check(left >= 1024, f"the final dump left {left} pages for after the restore, not the 4 MiB working set")
    moved = [x for x in lines if x.startswith("after the restore: ")]
    check(moved == [f"after the restore: {left} pages moved from the source's page server in "
                    f"{moved[0].split(' in ')[-1]}"] if moved else False, f"no transfer line: {lines}")
    check(p.wait(timeout=300) == 0, f"migrate-receive: exit {p.returncode}: {read(out + '.err')}")
    said = read(out)
    print(f"  (receiver: {said.strip().splitlines()[-1]})")
    check("restored \"lazy\"" in said and "over the page channel" in said, f"migrate-receive said: {said!r}")
    kib = int(said.split("then the memory: ")[1].split()[0])
    check(kib >= 4096, f"only {kib} KiB came over the page channel for a 4 MiB working set")
    st = s.b.state("lazy")
    check(st is not None and st["status"] == "running", f"at rcm-b: {st}")
    check(os.path.isdir(os.path.join(HOST_CG, "run-container", "lazy")), "the copy at rcm-b is not in B's cgroup")
    check(s.a.state("lazy") is None, "rcm-a still has the container")
    after = wait_for(lambda: count_at("rcm-b"), 60, "the server at rcm-b's address")
    check(after > before, f"the count at rcm-b is {after}, it was {before} at rcm-a: not the same process")
    now, start = sum_from_memory(s.b, "lazy")
    check(now == start, f"the working set at rcm-b: md5 {now}, at the start {start}")
    check(fetch("rcm-a").startswith("error"), "rcm-a still answers")
    check(not s.a.leftovers(), f"left at rcm-a: {s.a.leftovers()}")
    for h in (s.a, s.b):
        check(not [e for e in os.listdir(h.root) if e.startswith("@migrate")], f"a work directory at {h.ns}")
    check(not os.path.exists(s.sock), "the socket was left")
    s.b.rc("delete", "--force", "lazy")
    check(not cgroups_left(), f"cgroups left: {cgroups_left()}")


@test
def receiver_gives_up_on_a_stopped_migrate_and_leaves_nothing(s):
    """migrate SIGSTOPped once its first round went over (the network gone, a stuck
    source): migrate-receive --timeout 5 gives up, says so and exits 1; B has no state,
    work directory, cgroup, mount or socket left. Continued, migrate finds the
    destination gone and the container, only pre-dumped so far, runs at A with the same
    init and counts on."""
    s.start_server("mute")
    pid = s.a.state("mute")["pid"]
    p, out = receiver(s, "--timeout", "5")
    m = subprocess.Popen(s.a.argv("migrate", "--rounds", "10", "--to", f"unix:{s.sock}", "mute"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = m.stdout.readline()
    m.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        check(first.startswith("round 1:"), f"migrate printed {first!r}")
        code = p.wait(timeout=120)
        took = time.monotonic() - t0
        err = read(out + ".err")
        print(f"  (after {took:.1f} s: {err.strip()})")
        check(code != 0 and "the source sent nothing for 5 s (--timeout)" in err, f"migrate-receive: {code}: {err!r}")
        check(s.b.state("mute") is None, "rcm-b has the container")
        check(not [e for e in os.listdir(s.b.root) if e.startswith("@migrate")], "a work directory at rcm-b")
        check(not s.b.leftovers(), f"left at rcm-b: {s.b.leftovers()}")
        check(not os.path.isdir(os.path.join(HOST_CG, "run-container", "mute")), "a cgroup at rcm-b")
        mounts = [x.split()[4] for x in read("/proc/self/mountinfo").splitlines() if s.b.dir in x.split()[4]]
        check(not mounts, f"mounts left at rcm-b: {mounts}")
        check(not os.path.exists(s.sock), "the socket was left")
    finally:
        m.send_signal(signal.SIGCONT)
    _, merr = m.communicate(timeout=300)
    print(f"  (migrate: {merr.strip()})")
    check(m.returncode != 0 and "sent nothing for 5 s" in merr, f"migrate: exit {m.returncode}: {merr!r}")
    st = s.a.state("mute")
    check(st is not None and st["status"] == "running" and st["pid"] == pid, f"at rcm-a: {st}")
    at = count_at("rcm-a")
    wait_for(lambda: count_at("rcm-a") > at, 30, "the count to go on at rcm-a")
    check(not [e for e in os.listdir(s.a.root) if e.startswith("@migrate")], "the source's work directory was left")
    s.a.rc("delete", "--force", "mute")


ROUND = re.compile(r"round (\d+)( \(final dump\))?: (\d+) pages written \((.*?)\)")


@test
def rounds_report_criu_s_counts_the_dirty_pages_are_those_since_the_round_before(s):
    """A process that touched a 16 MiB working set once and then writes nothing, migrated
    with --rounds 2: round 1 wrote all the private memory (at least the 4096 pages of the
    set), round 2 and the final dump only what was dirtied since the round before (a few
    pages of the shell and the probe's stamps), the rest skipped as unchanged; the counts
    are CRIU's (its stats-dump), the pages each round sent fit the KiB it sent."""
    s.a.write_config()
    path = os.path.join(s.a.bundle, "config.json")
    with open(path) as f:
        c = json.load(f)
    c["process"]["args"] = ["/probe", "dirty", "16", "0", "/dev/null"]
    with open(path, "w") as f:
        json.dump(c, f)
    s.a.rc("run", "--detach", "--bundle", s.a.bundle, "quiet", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)  # the set touched
    p, out = receiver(s)
    r = s.a.rc("migrate", "--rounds", "2", "--to", f"unix:{s.sock}", "quiet", timeout=600)
    lines = r.stdout.splitlines()
    print(f"  ({'; '.join(lines)})")
    rounds = [ROUND.match(x) for x in lines if x.startswith("round ")]
    check(len(rounds) == 3 and all(rounds), f"rounds: {lines}")
    written = [int(m.group(3)) for m in rounds]
    check(rounds[0].group(4) == "all the private memory" and written[0] >= 4096,
          f"round 1 wrote {written[0]} pages of a 16 MiB set")
    for m in rounds[1:]:
        n = int(m.group(1))
        why = m.group(4)
        check(why.startswith(f"dirtied since round {n - 1}; ") and why.endswith(" unchanged, not written again"),
              f"round {n}: {why!r}")
        skipped = int(why.split("; ")[1].split()[0])
        check(int(m.group(3)) < written[0] // 4 and skipped >= 4096,
              f"round {n}: {m.group(3)} dirty pages written, {skipped} skipped, of {written[0]}")
    sent = [int(x.split(" KiB sent")[0].split()[-1]) for x in lines if x.startswith("round ")]
    check(sent[0] >= written[0] * 4 and sent[1] < sent[0] // 4, f"KiB sent {sent} for pages {written}")
    check(p.wait(timeout=300) == 0, f"migrate-receive: exit {p.returncode}: {read(out + '.err')}")
    st = s.b.state("quiet")
    check(st is not None and st["status"] == "running", f"at rcm-b: {st}")
    s.b.rc("delete", "--force", "quiet")


def main():
    return run("migrate_remote suite", __doc__, test.tests, Suite, remote_leftovers)


if __name__ == "__main__":
    sys.exit(main())
