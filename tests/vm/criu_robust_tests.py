#!/usr/bin/python3
"""The checkpoint/restore failure paths: runs INSIDE the tests/vm guest, as criu_tests.py
(whose Suite, counter container and leftovers check it reuses), started by
tests/vm/vm-tests.sh:

    criu_robust_tests.py RUNTIME WORKDIR [TEST...]

migrate SIGKILLed at chosen and at spread-out moments (pre-dump rounds, the final dump,
the restore at the destination), settled by `gc` at the destination root or by the next
migrate: exactly one copy of the container runs, nothing is left; a destination too
full for the images; restores from missing, truncated or corrupt images.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from criu_tests import Suite, answers_hello, cgroup_of, container_ip, count, counting, leftovers, read
from vmsuite import CG, Fail, Registry, check, run, wait_for

test = Registry()
NET = {"run-container.network": "default"}


def rc_at(s, root, *args, check_rc=False, timeout=300):
    r = subprocess.run([s.runtime, "--root", root, *map(str, args)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise Fail(f"--root {root} {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def status_at(s, root, cid):
    r = rc_at(s, root, "state", cid)
    return json.loads(r.stdout)["status"] if r.returncode == 0 else None


def work_dirs(root):
    return glob.glob(os.path.join(root, "@migrate-*"))


def gc_until_settled(s, root, timeout=120):
    """gc at the destination until no work directory is left (a criu that the killed
    migrate left holds its lock until it is done); returns gc's last output."""
    out = []

    def settled():
        r = rc_at(s, root, "gc", check_rc=True)
        out.append(r.stdout.strip())
        return not work_dirs(root)
    wait_for(settled, timeout, f"gc to settle the work directory in {root}", interval=0.5)
    return out[-1]


def where(s, cid, roots):
    """The roots whose container `cid` runs; fails unless exactly one, and the others have
    no state of it."""
    running = [r for r in roots if status_at(s, r, cid) == "running"]
    check(len(running) == 1, f"container runs at {running} (of {roots}): "
          f"{[(r, status_at(s, r, cid)) for r in roots]}")
    for r in roots:
        check(r in running or status_at(s, r, cid) is None, f"{r} still has a state of {cid}")
    return running[0]


def start_migrate(s, src, dst, cid, *extra):
    return subprocess.Popen([s.runtime, "--root", src, "migrate", "--to", dst, *extra, cid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_when(p, pred, what, timeout=120):
    """SIGKILL migrate (only it, not its criu) once pred() holds; False if migrate ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.poll() is not None:
            return False
        if pred():
            p.kill()
            p.communicate()
            return True
        time.sleep(0.005)
    p.kill()
    p.communicate()
    raise Fail(f"migrate never reached {what}")


def in_work(root, name):
    return lambda: any(os.path.exists(os.path.join(w, name)) for w in work_dirs(root))


def goes_on(shared):
    at = count(shared)
    check(counting(shared, at, timeout=60) > at, "the count does not go on")


def final_check(s, cid, shared, src, dst):
    """Where it runs now, it can be migrated again, and it counts there."""
    here = where(s, cid, [src, dst])
    there = dst if here == src else src
    r = rc_at(s, here, "migrate", "--to", there, "--rounds", "1", cid)
    check(r.returncode == 0, f"the next migrate: {r.stderr.strip()}")
    check(where(s, cid, [src, dst]) == there, "the next migrate did not move it")
    goes_on(shared)
    rc_at(s, there, "delete", "--force", cid, check_rc=True)
    check(not work_dirs(src) and not work_dirs(dst), "work directories left")


def killed_at(s, name, what, want_restored=None):
    """Kill migrate once its work directory has `name`, settle with gc at the destination."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    src, dst = s.root, os.path.join(s.tmp, f"dest-{cid}")
    created = s.state(cid)["created"]
    p = start_migrate(s, src, dst, cid, "--rounds", "3")
    check(kill_when(p, in_work(dst, name), what), f"migrate ended before {what}")
    out = gc_until_settled(s, dst)
    check("settled 1 killed migrate" in out, f"gc: {out!r}")
    here = where(s, cid, [src, dst])
    restored = status_at(s, src, cid) == "running" and s.state(cid)["created"] != created
    if want_restored is not None:
        check(restored == want_restored, f"restored at the source: {restored}, expected {want_restored}")
    elif here == src:
        print(f"  ({'restored at the source' if restored else 'never stopped at the source'})")
    goes_on(shared)
    s.ids.remove(cid)
    final_check(s, cid, shared, src, dst)
    return here


@test
def migrate_killed_in_a_pre_dump_round_runs_at_the_source(s):
    """Killed during the second pre-dump round: the orphaned criu finishes it (gc waits
    for its lock), the container never stopped, and runs at the source."""
    here = killed_at(s, "pre-2/dump.log", "the second pre-dump", want_restored=False)
    check(here == s.root, f"runs at {here}, not at the source")


@test
def migrate_killed_in_the_final_dump_runs_at_the_source(s):
    """Killed once the final dump began: criu ends the dump (the container stops), and gc
    restores the final image at the source; or, when the kill came before migrate had
    answered CRIU's post-dump notification (where the runtime archives the tmpfs mounts),
    CRIU resumes the container, which never stopped. Either way it runs at the source and
    the count goes on from there."""
    here = killed_at(s, "final/dump.log", "the final dump")
    check(here == s.root, f"runs at {here}, not at the source")


@test
def migrate_killed_in_the_restore_runs_exactly_once(s):
    """Killed once the restore at the destination began: criu cannot finish it without
    migrate (its notifications go unanswered) or had finished it; gc leaves exactly one
    copy, wherever that is."""
    here = killed_at(s, "final/restore.log", "the restore at the destination")
    print(f"  (runs at {'the source' if here == s.root else 'the destination'})")


@test
def migrate_killed_at_spread_out_moments_runs_exactly_once(s):
    """Killed after 0.1 .. 4 s, migrating back and forth between two roots; settled by
    gc, or (every other time) by the next migrate itself."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    roots = [s.root, os.path.join(s.tmp, "dest-spread")]
    here, seen = s.root, []
    for i, delay in enumerate((0.1, 0.4, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0)):
        there = roots[1] if here == roots[0] else roots[0]
        p = start_migrate(s, here, there, cid, "--rounds", "2")
        time.sleep(delay)
        ended = p.poll() is not None
        p.kill()
        p.communicate()
        how = "gc"
        if i % 2 == 0:
            gc_until_settled(s, there)
        else:
            # the next migrate settles it first, then moves the container on (or finds
            # that the killed one had moved it already)
            r = rc_at(s, here, "migrate", "--to", there, "--rounds", "1", cid)
            how = "next migrate"
            check(r.returncode == 0 or "does not exist" in r.stderr, f"the next migrate: {r.stderr.strip()}")
            check(not work_dirs(there), f"the next migrate left {work_dirs(there)}")
        try:
            here = where(s, cid, roots)
        except Fail:
            # which move went wrong (CI saw the container at both roots once, not reproduced)
            print(f"  (before it: {seen}; this move: delay {delay}, {'ended' if ended else 'killed'}, {how}, "
                  f"from {'src' if here == roots[0] else 'dst'})")
            raise
        seen.append((delay, "ended" if ended else "killed", how, "src" if here == roots[0] else "dst"))
        goes_on(shared)
    print(f"  ({seen})")
    s.ids.remove(cid)
    final_check(s, cid, shared, *roots)


def stopped(pid):
    try:
        return read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[0] == "T"
    except IndexError:
        return False


@test
def migrate_killed_while_it_removes_its_work_directory_runs_once(s):
    """Killed once the container runs at the destination, while the migrate removes its
    work directory (RC_TEST_STOP_IN_REMOVAL stops it after its record was retired and its
    `restoring` marker went, as a removal in tmpfs's order begins): gc only removes what
    is left, and the container runs at the destination alone. Before the record was
    retired first, gc read such a directory as a migrate killed before its restore and
    restored a second copy at the source (CI saw the spread-out kills leave the container
    at both roots once)."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    src, dst = s.root, os.path.join(s.tmp, "dest-removal")
    p = subprocess.Popen([s.runtime, "--root", src, "migrate", "--to", dst, "--rounds", "1", cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=dict(os.environ, RC_TEST_STOP_IN_REMOVAL="1"))
    wait_for(lambda: p.poll() is not None or stopped(p.pid), 120, "migrate to stop in its removal", interval=0.02)
    if p.poll() is not None:
        out, err = p.communicate()
        raise Fail(f"migrate ended (exit {p.returncode}) instead of stopping: {err.strip()}")
    p.kill()
    p.communicate()
    check(work_dirs(dst), "the stopped migrate had removed its work directory")
    out = gc_until_settled(s, dst)
    check("settled 1 killed migrate" in out, f"gc: {out!r}")
    s.ids.remove(cid)
    check(where(s, cid, [src, dst]) == dst, "not at the destination")
    goes_on(shared)
    rc_at(s, dst, "delete", "--force", cid, check_rc=True)


@test
def the_next_migrate_settles_a_killed_one(s):
    """No gc: the next migrate of the container to that root waits for the killed one's
    criu, settles its work directory (restoring the container at the source), then
    migrates."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    src, dst = s.root, os.path.join(s.tmp, "dest-next")
    p = start_migrate(s, src, dst, cid, "--rounds", "2")
    check(kill_when(p, in_work(dst, "final/dump.log"), "the final dump"), "migrate ended before the final dump")
    r = rc_at(s, src, "migrate", "--to", dst, "--rounds", "1", cid)
    check(r.returncode == 0, f"the next migrate: {r.stderr.strip()}")
    s.ids.remove(cid)
    check(where(s, cid, [src, dst]) == dst, "not at the destination")
    check(not work_dirs(dst), f"left: {work_dirs(dst)}")
    goes_on(shared)
    rc_at(s, dst, "delete", "--force", cid, check_rc=True)


@test
def a_container_frozen_by_a_killed_criu_is_thawed_by_gc(s):
    """migrate and its criu killed together (the process group) while the final dump has
    the cgroup frozen: the container shows as paused, and gc at the destination thaws it
    (migrate never starts from a paused container, so a frozen one there is its doing).
    CRIU keeps the cgroup frozen only until it has seized the tasks, a window the polling
    can miss on a loaded machine: a migrate that ends first moved the container, which is
    deleted there, and the test starts again with a new one, up to five times."""
    for tries in range(5):
        b, shared = s.bundle(annotations=NET)
        cid = s.run_detached(b)
        counting(shared, 5)
        src, dst = s.root, os.path.join(s.tmp, f"dest-frozen-{tries}")
        events = os.path.join(CG, cgroup_of(s, cid).lstrip("/"), "cgroup.events")
        p = start_migrate(s, src, dst, cid, "--rounds", "1")

        def frozen_in_final():
            return in_work(dst, "final/dump.log")() and "frozen 1" in read(events)
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None and not frozen_in_final():
            time.sleep(0.001)
        if p.poll() is None:
            break
        out, err = p.communicate()
        check(p.returncode == 0, f"migrate failed: {err.strip()}")
        print("  (migrate ended before the freeze was seen; again with a new container)")
        s.ids.remove(cid)
        rc_at(s, where(s, cid, [src, dst]), "delete", "--force", cid, check_rc=True)
    else:
        raise Fail("five migrates ended before their final dump's freeze was seen")
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    time.sleep(0.5)
    st = status_at(s, src, cid)
    print(f"  (after the kill: {st}, {read(events).split()})")
    out = gc_until_settled(s, dst)
    check("settled 1 killed migrate" in out, f"gc: {out!r}")
    check(status_at(s, src, cid) == "running", f"after gc: {status_at(s, src, cid)}")
    check("frozen 0" in read(events), "still frozen")
    goes_on(shared)
    s.ids.remove(cid)
    final_check(s, cid, shared, src, dst)


def criu_lock_tables(pid):
    """The `inet CRIU-*` tables (CRIU's nftables network lock) in the netns of pid."""
    r = subprocess.run(["nsenter", "-t", str(pid), "-n", "nft", "list", "tables", "inet"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return [line.split()[2] for line in r.stdout.splitlines() if line.startswith("table inet CRIU-")]


def answers_from_outside(ip):
    """The container's listener answers a connection from the guest to its address."""
    try:
        with socket.create_connection((ip, 8080), timeout=10) as c:
            c.settimeout(10)
            return b"hello" in c.recv(100)
    except OSError:
        return False


@test
def a_network_locked_by_a_killed_criu_is_unlocked_by_gc(s):
    """migrate and its criu killed together once the final dump has locked the container's
    network (CRIU's nftables table in the container's network namespace, which only CRIU
    itself removes): gc at the destination removes the table as well as thawing the
    container, and its network works again, from inside and from outside. The kill must
    land while the table is there: migrate and its criu are stopped first and the table
    looked at again; a dump that had already ended (the table gone: CI saw that window
    missed) is let go on, and the container moved back for another try."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    ip = container_ip(s, cid)
    check(answers_from_outside(ip), "the listener does not answer before the migrate")
    src, dst = s.root, os.path.join(s.tmp, "dest-netlock")
    for attempt in range(5):
        here = where(s, cid, [src, dst])
        there = dst if here == src else src
        pid = json.loads(rc_at(s, here, "state", cid, check_rc=True).stdout)["pid"]
        p = start_migrate(s, here, there, cid, "--rounds", "1")
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None and not criu_lock_tables(pid):
            time.sleep(0.001)
        check(p.poll() is None, "migrate ended before the final dump locked the network")
        os.killpg(p.pid, signal.SIGSTOP)  # its criu can no longer take the table away
        if criu_lock_tables(pid):
            break
        os.killpg(p.pid, signal.SIGCONT)
        out = p.communicate()
        check(p.returncode == 0, f"a migrate let go on failed: {out}")
        print(f"  (attempt {attempt + 1}: the table was gone before the stop; the container moved, again)")
    else:
        raise Fail("5 migrates took their lock table away before they could be stopped")
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    time.sleep(0.5)
    tables = criu_lock_tables(pid)
    print(f"  (after the kill, attempt {attempt + 1}: {status_at(s, here, cid)}, lock tables {tables})")
    check(tables, "the lock table went with the kill: nothing left for gc to remove")
    out = gc_until_settled(s, there)
    check("settled 1 killed migrate" in out, f"gc: {out!r}")
    check(status_at(s, here, cid) == "running", f"after gc: {status_at(s, here, cid)}")
    check(criu_lock_tables(pid) == [], f"lock tables after gc: {criu_lock_tables(pid)}")
    r = rc_at(s, here, "exec", cid, "nc", "127.0.0.1", "8080", timeout=60)
    check(r.returncode == 0 and "hello" in r.stdout, "exec does not reach the listener through loopback after gc")
    check(answers_from_outside(ip), "the listener does not answer from outside after gc")
    goes_on(shared)
    s.ids.remove(cid)
    final_check(s, cid, shared, src, dst)


def checkpoint_killed_when(s, cid, pid, img, when):
    """Start `checkpoint --leave-running` of cid (a dump that ends leaves it running: tried
    again, up to 10 times) and SIGKILL it with its criu (the process group) once
    when(events, pid) holds; returns cgroup.events' path."""
    events = os.path.join(CG, cgroup_of(s, cid).lstrip("/"), "cgroup.events")
    for attempt in range(10):
        subprocess.run(["rm", "-rf", img], check=True)
        p = subprocess.Popen([s.runtime, "--root", s.root, "checkpoint", "--leave-running", "--image-path", img,
                              cid], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None and not when(events, pid):
            time.sleep(0.001)
        if p.poll() is None:
            break
        out = p.communicate()
        check(p.returncode == 0, f"checkpoint failed: {out}")
    else:
        raise Fail("10 checkpoints ended before the moment to kill them")
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    time.sleep(0.5)
    print(f"  (after the kill, attempt {attempt + 1}: {status_at(s, s.root, cid)}, {read(events).split()}, "
          f"lock tables {criu_lock_tables(pid)})")
    check(os.path.exists(os.path.join(s.root, cid, "checkpoint")), "no checkpoint marker")
    return events


def killed_checkpoint(s, tag, when, pause=False):
    """A counting container on the bridge (paused first if asked) whose checkpoint was
    killed once when() held: (cid, shared, pid, ip, events). A kill that lands while CRIU's
    parasite runs in the container's init kills the container with criu (the parasite
    traps to a tracer that is gone: CRIU's, and runc's, behaviour, nothing a runtime can
    settle): that container is deleted and the test starts again with a new one, up to
    five times. The container is stopped at once after such a kill, before any settling
    of ours runs."""
    for tries in range(5):
        b, shared = s.bundle(annotations=NET)
        cid = s.run_detached(b)
        counting(shared, 3)
        pid, ip = s.state(cid)["pid"], container_ip(s, cid)
        if pause:
            s.rc("pause", cid)
        events = checkpoint_killed_when(s, cid, pid, os.path.join(s.tmp, f"img-killed-{tag}-{tries}"), when)
        if status_at(s, s.root, cid) != "stopped":
            return cid, shared, pid, ip, events
        print("  (the container died with criu: the kill landed in the parasite; again with a new one)")
        s.rc("delete", "--force", cid)
        s.ids.remove(cid)
    raise Fail("five containers died with their killed checkpoint's criu")


def frozen(events, pid):
    return "frozen 1" in read(events)


def locked(events, pid):
    return bool(criu_lock_tables(pid))


@test
def a_checkpoint_killed_while_frozen_is_settled_by_gc(s):
    """A checkpoint and its criu SIGKILLed while the dump has the cgroup frozen: the
    container shows as paused; gc thaws it, no lock table or marker is left, the listener
    answers over loopback and from outside, the count goes on."""
    cid, shared, pid, ip, events = killed_checkpoint(s, "gc", frozen)
    check(status_at(s, s.root, cid) == "paused", f"after the kill: {status_at(s, s.root, cid)}")
    r = rc_at(s, s.root, "gc", check_rc=True)
    check("settled 1 killed checkpoint" in r.stdout, f"gc: {r.stdout!r}")
    check(status_at(s, s.root, cid) == "running", f"after gc: {status_at(s, s.root, cid)}")
    check("frozen 0" in read(events), "still frozen")
    check(criu_lock_tables(pid) == [], f"lock tables after gc: {criu_lock_tables(pid)}")
    check(not os.path.exists(os.path.join(s.root, cid, "checkpoint")), "the marker is left")
    check(answers_hello(s, cid), "the listener does not answer through loopback after gc")
    check(answers_from_outside(ip), "the listener does not answer from outside after gc")
    at = count(shared)
    check(counting(shared, at, timeout=60) > at, "the count does not go on")


def settled_at_the_lock_by(s, tag, *command):
    """A checkpoint killed once CRIU locked the network, then `command ... CID`: the
    container runs, no lock table or marker is left, its listener answers through loopback."""
    cid, shared, pid, _, events = killed_checkpoint(s, tag, locked)
    check(criu_lock_tables(pid), "the lock table went with the kill: nothing left to remove")
    s.rc(*command, cid)
    what = f"after {command[0]}"
    check(status_at(s, s.root, cid) == "running", f"{what}: {status_at(s, s.root, cid)}")
    check(criu_lock_tables(pid) == [], f"lock tables {what}: {criu_lock_tables(pid)}")
    check(not os.path.exists(os.path.join(s.root, cid, "checkpoint")), "the marker is left")
    check(answers_hello(s, cid), f"the listener does not answer through loopback {what}")


@test
def a_checkpoint_killed_while_frozen_is_settled_by_resume(s):
    """Killed once CRIU has locked the network (CRIU holds the tasks by ptrace then, the
    cgroup thawed: the container runs again when criu dies, its network blocked), settled
    by `resume` (not gc): the container runs, no lock table is left, the listener answers."""
    settled_at_the_lock_by(s, "resume", "resume")


@test
def a_checkpoint_killed_at_the_network_lock_is_settled_by_the_next_checkpoint(s):
    """No gc: the next checkpoint of the container settles the killed one (the lock table
    and the marker go) and then dumps; the container runs on (--leave-running) and its
    listener answers through loopback."""
    settled_at_the_lock_by(s, "next", "checkpoint", "--leave-running", "--image-path", os.path.join(s.tmp, "img-next"))


@test
def a_checkpoint_of_a_paused_container_killed_leaves_it_paused_after_gc(s):
    """The user paused the container, then a checkpoint of it was killed once the network
    was locked (CRIU had thawed the cgroup): gc removes the lock table and the marker and
    leaves the container paused (freezing it again); resume then thaws it."""
    cid, shared, pid, _, events = killed_checkpoint(s, "paused", locked, pause=True)
    r = rc_at(s, s.root, "gc", check_rc=True)
    check("settled 1 killed checkpoint" in r.stdout, f"gc: {r.stdout!r}")
    check(status_at(s, s.root, cid) == "paused", f"after gc: {status_at(s, s.root, cid)}")
    check("frozen 1" in read(events), "thawed by gc")
    check(criu_lock_tables(pid) == [], f"lock tables after gc: {criu_lock_tables(pid)}")
    check(not os.path.exists(os.path.join(s.root, cid, "checkpoint")), "the marker is left")
    s.rc("resume", cid)
    check(answers_hello(s, cid), "the listener does not answer through loopback after resume")


@test
def a_checkpoint_killed_while_frozen_is_deleted_by_delete_force(s):
    """delete --force of a container a killed checkpoint left frozen: nothing is left."""
    cid, shared, pid, _, events = killed_checkpoint(s, "delete", frozen)
    s.rc("delete", "--force", cid)
    s.ids.remove(cid)
    check(not os.path.exists(os.path.join(s.root, cid)), "state left behind")
    check(not os.path.exists(os.path.join(CG, "run-container", cid)), "cgroup left behind")


@test
def a_killed_restore_is_cleaned_by_delete_force(s):
    """restore and its criu SIGKILLed (the process group) once CRIU runs, and once the
    restored tasks are in the container's cgroup: the state is left (creating or running);
    delete --force removes it, the cgroup, the mounts, the address: nothing counts after."""
    for tag, moment in (("log", lambda img, cg: os.path.exists(os.path.join(img, "restore.log"))),
                        ("populated", lambda img, cg: "populated 1" in read(os.path.join(cg, "cgroup.events"))
                         if os.path.exists(os.path.join(cg, "cgroup.events")) else False)):
        b, shared, img = checkpointed(s, f"killed-restore-{tag}")
        cid = f"kr-{tag}"
        cg = os.path.join(CG, "run-container", cid)
        p = subprocess.Popen([s.runtime, "--root", s.root, "restore", "--detach", "--bundle", b, "--image-path", img,
                              cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None and not moment(img, cg):
            time.sleep(0.001)
        if p.poll() is not None:
            print(f"  ({tag}: restore ended first, exit {p.returncode})")
        else:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        time.sleep(0.5)
        print(f"  ({tag}: after the kill: {status_at(s, s.root, cid)})")
        r = s.rc("delete", "--force", cid, check_rc=False)
        check(r.returncode == 0 or "does not exist" in r.stderr, f"delete --force: {r.stderr.strip()}")
        check(not os.path.exists(os.path.join(s.root, cid)), "state left behind")
        check(not os.path.exists(cg), "cgroup left behind")
        before = count(shared)
        time.sleep(1)
        check(count(shared) == before, "something counts after delete --force")
        left = [x for x in leftovers(s) if not x.startswith("state ")]
        check(not left, f"left: {left}")


def masked_dirs(s, root, cid, paths):
    """Of `paths`, the directories in the container, each with: its file system type, its
    entries, whether a file can be created in it."""
    script = ('for p in "$@"; do [ -d "$p" ] || continue; '
              'if touch "$p/x" 2>/dev/null; then w=yes; else w=no; fi; '
              'echo "$p $(stat -f -c %T "$p") $(ls -A "$p" | wc -l) $w"; done')
    out = rc_at(s, root, "exec", cid, "sh", "-c", script, "sh", *paths, check_rc=True).stdout
    return sorted(out.split("\n")[:-1] if out else [])


@test
def masked_directories_stay_empty_read_only_tmpfs_after_restore(s):
    """The masked directories are external to the image (no tar of each at the dump and
    restore): after a checkpoint and restore, and after a migrate of the restored container,
    each is still an empty tmpfs nothing can be created in, and the restore's source of
    them is gone from its work directory."""
    b, shared = s.bundle()
    with open(os.path.join(b, "config.json")) as f:
        paths = json.load(f)["linux"]["maskedPaths"]
    cid = s.run_detached(b)
    counting(shared, 3)
    before = masked_dirs(s, s.root, cid, paths)
    check(before and all(line.split()[1:] == ["tmpfs", "0", "no"] for line in before),
          f"masked directories before the checkpoint: {before}")
    img = os.path.join(s.tmp, "img-masked")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    at = count(shared)
    s.restore(b, cid, img)
    check(counting(shared, at) > at, "the count does not go on")
    after = masked_dirs(s, s.root, cid, paths)
    check(after == before, f"after restore: {after}, before: {before}")
    check(not os.path.exists(os.path.join(img, "run-container-masked")), "the masked source is left in the image")
    dst = os.path.join(s.tmp, "dest-masked")
    r = rc_at(s, s.root, "migrate", "--to", dst, "--rounds", "1", cid)
    check(r.returncode == 0, f"migrate: {r.stderr.strip()}")
    s.ids.remove(cid)
    after = masked_dirs(s, dst, cid, paths)
    check(after == before, f"after migrate: {after}, before: {before}")
    goes_on(shared)
    rc_at(s, dst, "delete", "--force", cid, check_rc=True)
    check(not work_dirs(dst) and not work_dirs(s.root), "work directories left")


@test
def migrate_to_a_full_destination_fails_and_the_source_runs_on(s):
    """The destination root on a 256 KiB tmpfs: the first pre-dump cannot write its
    pages; migrate fails saying the destination is full, the container runs on at the
    source, nothing is left at the destination."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    dst = os.path.join(s.tmp, "dest-full")
    os.mkdir(dst)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dst], check=True)
    try:
        r = rc_at(s, s.root, "migrate", "--to", dst, cid)
        err = r.stderr.strip()
        check(r.returncode != 0, "migrate succeeded")
        check(len(err.splitlines()) == 1 and "No space left on device" in err and f"to `{dst}` (the destination is full)" in err,
              f"error: {err!r}")
        check(s.state(cid)["status"] == "running", "not running at the source")
        goes_on(shared)
        check(os.listdir(dst) == [], f"left at the destination: {os.listdir(dst)}")
    finally:
        subprocess.run(["umount", dst], check=True)


@test
def a_migrated_container_holds_no_fd_of_the_work_directory(s):
    """migrate's lock fd goes to every criu it starts (so that a killed migrate's criu
    still holds it), restore's included: the restored processes must not have it (a host
    directory fd in a container would be a way out of its root)."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    dst = os.path.join(s.tmp, "dest-fds")
    rc_at(s, s.root, "migrate", "--to", dst, "--rounds", "1", cid, check_rc=True)
    s.ids.remove(cid)
    try:
        r = rc_at(s, dst, "ps", "--format", "json", cid, check_rc=True)
        pids = json.loads(r.stdout)
        check(pids, "no processes")
        leaked = []
        for pid in pids:
            try:  # the counting loop's short-lived children may be gone already
                fds = os.listdir(f"/proc/{pid}/fd")
            except FileNotFoundError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if "@migrate-" in target or target.startswith(dst):
                    leaked.append((pid, fd, target))
        check(not leaked, f"fds of the work directory in the container: {leaked}")
    finally:
        rc_at(s, dst, "delete", "--force", cid, check_rc=True)


def checkpointed(s, tag):
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, f"img-{tag}")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    return b, shared, img


def restore_fails_cleanly(s, b, shared, img, cid, *want):
    before = count(shared)
    # files, not pipes: a restored process would hold a pipe open
    with tempfile.TemporaryFile("w+", dir=s.tmp) as errf:
        try:
            r = s.rc("restore", "--detach", "--bundle", b, "--image-path", img, cid, check_rc=False,
                     stdout=subprocess.DEVNULL, stderr=errf, timeout=60)
        except subprocess.TimeoutExpired:
            ps = subprocess.run(["ps", "-eo", "pid,ppid,stat,wchan:20,args"], stdout=subprocess.PIPE, text=True).stdout
            log = read(os.path.join(img, "restore.log")).splitlines()
            print("  ps:\n" + "\n".join(x for x in ps.splitlines() if "criu" in x or "run-container" in x or "sh -c" in x))
            print("  restore.log tail:\n" + "\n".join(log[-25:]))
            raise
        errf.seek(0)
        err = errf.read().strip()
    check(r.returncode != 0, f"restore succeeded: {s.state(cid) if r.returncode == 0 else ''}")
    check(len(err.splitlines()) == 1 and all(w in err for w in want), f"error: {err!r}")
    check(not os.path.exists(os.path.join(s.root, cid)), "state left behind")
    check(not os.path.exists(os.path.join(CG, "run-container", cid)), "cgroup left behind")
    time.sleep(0.5)
    check(count(shared) == before, "something counts after a failed restore")
    left = [x for x in leftovers(s) if not x.startswith("state ")]
    check(not left, f"left: {left}")
    return err


@test
def restore_from_a_file_instead_of_an_image_directory_fails_cleanly(s):
    b, shared = s.bundle(annotations=NET)
    img = os.path.join(s.tmp, "img-file")
    open(img, "w").close()
    restore_fails_cleanly(s, b, shared, img, "r-file", img, "Not a directory")


@test
def restore_from_an_empty_image_directory_fails_cleanly(s):
    b, shared = s.bundle(annotations=NET)
    img = os.path.join(s.tmp, "img-empty")
    os.mkdir(img)
    restore_fails_cleanly(s, b, shared, img, "r-empty", img, "descriptors.json")


@test
def restore_from_an_image_without_its_inventory_fails_cleanly(s):
    """A dump cut short (no inventory.img: CRIU writes it last): CRIU's reason, one line."""
    b, shared, img = checkpointed(s, "noinv")
    os.unlink(os.path.join(img, "inventory.img"))
    restore_fails_cleanly(s, b, shared, img, "r-noinv", "criu", "restore.log")


@test
def restore_from_an_image_with_truncated_pages_fails_cleanly(s):
    """The memory pages cut in half: CRIU 3.17 would loop for ever on it ("Advanced iov 0
    bytes"); restore names the truncated file before CRIU runs, and the network attachment
    made for the restore goes again too (no lease, no veth)."""
    b, shared, img = checkpointed(s, "trunc")
    pages = [f for f in os.listdir(img) if f.startswith("pages-")]
    check(pages, f"no pages images in {sorted(os.listdir(img))}")
    for f in pages:
        path = os.path.join(img, f)
        os.truncate(path, os.path.getsize(path) // 2)
    restore_fails_cleanly(s, b, shared, img, "r-trunc", "pages-", "is truncated", "pagemap-")


def links_of(pid):
    r = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "link"], stdout=subprocess.PIPE, text=True,
                       check=True)
    return [line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines()]


@test
def empty_ns_network_checkpoint_and_restore(s):
    """--empty-ns network (runc's flag, on checkpoint and restore): an interface the
    container added to its network namespace is not brought back; the restored container
    has the config's network namespace (its address on the network, lo up: exec reaches
    its listener) and counts on. Any other namespace name is refused."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    pid = s.state(cid)["pid"]
    subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "link", "add", "extra0", "type", "dummy"], check=True)
    check("extra0" in links_of(pid), f"no extra0 in {links_of(pid)}")
    r = s.rc("checkpoint", "--empty-ns", "pid", "--image-path", os.path.join(s.tmp, "img-ns-bad"), cid, check_rc=False)
    check(r.returncode != 0 and 'invalid --empty-ns "pid"' in r.stderr, f"--empty-ns pid: {r.stderr!r}")
    img = os.path.join(s.tmp, "img-empty-ns")
    s.rc("checkpoint", "--empty-ns", "network", "--image-path", img, cid)
    s.ids.remove(cid)
    at = count(shared)
    s.restore(b, cid, img, "--empty-ns", "network")
    check(counting(shared, at) > at, "the count does not go on")
    links = links_of(s.state(cid)["pid"])
    check("extra0" not in links and "eth0" in links, f"links after restore: {links}")
    check(container_ip(s, cid), "no address")
    check(answers_hello(s, cid), "exec does not reach the listener")


@test
def checkpoint_to_a_page_server_and_restore(s):
    """checkpoint --page-server (libcriu 3.17's setter returns -ENOMEM when it works: it
    was refused before): the memory goes to a `criu page-server` writing into the image
    directory, the rest of the image there too; restore from it counts on."""
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img-ps")
    os.mkdir(img)
    ps = subprocess.Popen(["criu", "page-server", "--images-dir", img, "--address", "127.0.0.1", "--port", "27278",
                           "-o", "ps.log", "-v4"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: "27278" in subprocess.run(["ss", "-ltn"], stdout=subprocess.PIPE, text=True).stdout, 30,
                 "the page server to listen")
        s.rc("checkpoint", "--page-server", "127.0.0.1:27278", "--image-path", img, cid)
        s.ids.remove(cid)
        ps.wait(timeout=60)
    finally:
        if ps.poll() is None:
            ps.kill()
            ps.wait()
    check([f for f in os.listdir(img) if f.startswith("pages-")], f"no pages from the page server: {os.listdir(img)}")
    at = count(shared)
    s.restore(b, cid, img)
    check(counting(shared, at) > at, "the count does not go on")


@test
def lazy_pages_checkpoint_and_restore(s):
    """checkpoint --lazy-pages --page-server --status-fd (runc's flags): CRIU dumps all
    but the memory and, once it serves the memory (the status fd gets its NUL byte),
    restore --lazy-pages into a new id starts `criu lazy-pages`, which moves the pages as
    the restored tasks fault; the checkpoint ends once all pages are over (the original is
    then gone), and the restored container counts on and answers. Where the guest kernel
    cannot (no userfaultfd for CRIU), the flag fails with CRIU's reason in one line."""
    feat = subprocess.run(["criu", "check", "--feature", "uffd-noncoop"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    print(f"  (criu check --feature uffd-noncoop: exit {feat.returncode}: {feat.stdout.strip()[-120:]})")
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    img = os.path.join(s.tmp, "img-lazy")
    r = s.rc("checkpoint", "--lazy-pages", "--image-path", img, cid, check_rc=False)
    check(r.returncode != 0 and "--lazy-pages needs --page-server" in r.stderr, f"no page server: {r.stderr!r}")
    rfd, wfd = os.pipe()
    p = subprocess.Popen([s.runtime, "--root", s.root, "checkpoint", "--lazy-pages", "--page-server",
                          "127.0.0.1:27277", "--status-fd", str(wfd), "--image-path", img, cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         pass_fds=(wfd,))
    os.close(wfd)
    try:
        ready = os.read(rfd, 1)  # EOF if the dump ends without serving
    finally:
        os.close(rfd)
    if feat.returncode != 0:
        _, err = p.communicate(timeout=120)
        err = err.strip()
        check(p.returncode != 0 and len(err.splitlines()) == 1 and "criu" in err, f"checkpoint: {err!r}")
        check(s.state(cid)["status"] == "running", "the container does not run on")
        return
    if ready != b"\0":
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        raise Fail(f"status fd: {ready!r}; checkpoint: exit {p.returncode}: {err.strip()}")
    at = count(shared)
    new = f"{cid}-lazy"
    s.restore(b, new, img, "--lazy-pages")
    _, err = p.communicate(timeout=180)
    check(p.returncode == 0, f"checkpoint --lazy-pages: exit {p.returncode}: {err.strip()}")
    s.ids.remove(cid)
    check(status_at(s, s.root, cid) is None, "the original is still there")
    check(counting(shared, at) > at, "the count does not go on")
    check(answers_hello(s, new), "exec does not reach the listener")
    lazy = os.path.join(img, "lazy-pages.log")
    check(os.path.exists(lazy), f"no {lazy}")


TMPFS_LISTING = (
    'cd /; stat -c "%n %F %a %u:%g %s %t:%T" /dev/shm /dev/shm/data /dev/note /dev/mylink /dev/myfifo /dev/mynode '
    '/tmp/t/deep; cat /dev/shm/data /dev/note /tmp/t/deep; readlink /dev/mylink; ls -A /dev | tr "\\n" " "; echo; '
    'for m in /dev /dev/shm /tmp; do awk -v m=$m \'$5 == m {o = $6; for (i = 7; $i != "-"; i++); '
    'print m, o, $(i + 1), $(i + 3)}\' /proc/self/mountinfo | sed "s/,inode64//"; done')


def tmpfs_listing(s, root, cid):
    """What the container sees of its tmpfs mounts: the entries made in them (type, mode,
    owner, size, device numbers, content, link target), /dev's names, and each mount's
    options with its file system's (size, mode)."""
    return rc_at(s, root, "exec", cid, "sh", "-c", TMPFS_LISTING, check_rc=True).stdout


def fill_tmpfs_mounts(s, cid):
    """Files, a symlink, a fifo and a device node in /dev, a file with a mode and an owner
    in /dev/shm, a directory tree in /tmp."""
    rc_at(s, s.root, "exec", cid, "sh", "-c",
          "echo shm-content > /dev/shm/data && chmod 640 /dev/shm/data && chown 1000:1001 /dev/shm/data && "
          "echo dev-note > /dev/note && ln -s /dev/shm/data /dev/mylink && mkfifo -m 620 /dev/myfifo && "
          "mkdir -p /tmp/t && echo deep > /tmp/t/deep", check_rc=True)
    # no CAP_MKNOD in the container: the node is made from outside
    pid = s.state(cid)["pid"]
    os.mknod(f"/proc/{pid}/root/dev/mynode", 0o600 | 0o020000, os.makedev(1, 3))


def tmpfs_bundle(s):
    b, shared = s.bundle(annotations=NET)
    cfg = os.path.join(b, "config.json")
    with open(cfg) as f:
        c = json.load(f)
    c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "size=1m", "mode=1777"]})
    with open(cfg, "w") as f:
        json.dump(c, f)
    return b, shared


@test
def tmpfs_contents_survive_checkpoint_restore_and_migrate(s):
    """/dev, /dev/shm and a /tmp tmpfs are external to CRIU's image (no `tar` of them at
    the dump or restore): the runtime archives them itself while the container is frozen
    (run-container-tmpfs.json and one archive each in the image) and fills new tmpfs
    mounts with the config's options at restore. What the container made in them (a file
    with its mode and owner, a symlink, a fifo, a device node, a tree) and each mount's
    options and size are the same after checkpoint and restore, and after a migrate; the
    restore leaves nothing in its work directory."""
    b, shared = tmpfs_bundle(s)
    cid = s.run_detached(b)
    counting(shared, 3)
    fill_tmpfs_mounts(s, cid)
    before = tmpfs_listing(s, s.root, cid)
    for want in ("/dev/shm/data regular file 640 1000:1001 12", "/dev/myfifo fifo 620", "/dev/mynode character special file 600 0:0 0 1:3",
                 "/dev/mylink symbolic link", "shm-content", "/dev/shm/data\n", "/dev/shm rw,nosuid,nodev,noexec,relatime tmpfs rw,size=65536k\n",
                 "/tmp rw,nosuid,nodev,relatime tmpfs rw,size=1024k\n", "/dev rw,nosuid tmpfs rw,size=65536k,mode=755\n"):
        check(want in before, f"{want!r} not in the listing before the checkpoint:\n{before}")
    img = os.path.join(s.tmp, "img-tmpfs")
    s.rc("checkpoint", "--image-path", img, cid)
    s.ids.remove(cid)
    with open(os.path.join(img, "run-container-tmpfs.json")) as f:
        listed = sorted(m["destination"] for m in json.load(f)["mounts"])
    check(listed == ["/dev", "/dev/shm", "/tmp"], f"archived: {listed}")
    tars = [f for f in os.listdir(img) if f.startswith("tmpfs-dev-")]
    check(not tars, f"CRIU archived tmpfs mounts itself: {tars}")
    at = count(shared)
    s.restore(b, cid, img)
    check(counting(shared, at) > at, "the count does not go on")
    after = tmpfs_listing(s, s.root, cid)
    check(after == before, f"after restore:\n{after}\nbefore:\n{before}")
    check(not os.path.exists(os.path.join(img, "run-container-tmpfs")), "the restore's tmpfs mount points are left")
    dst = os.path.join(s.tmp, "dest-tmpfs")
    r = rc_at(s, s.root, "migrate", "--to", dst, "--rounds", "1", cid)
    check(r.returncode == 0, f"migrate: {r.stderr.strip()}")
    s.ids.remove(cid)
    after = tmpfs_listing(s, dst, cid)
    check(after == before, f"after migrate:\n{after}\nbefore:\n{before}")
    goes_on(shared)
    rc_at(s, dst, "delete", "--force", cid, check_rc=True)
    check(not work_dirs(dst) and not work_dirs(s.root), "work directories left")


@test
def restore_from_a_corrupt_tmpfs_archive_fails_cleanly(s):
    """The archive of /dev/shm cut short, then one with a bad magic: restore fails before
    CRIU runs, in one line naming the image and the archive, and leaves nothing (no
    state, cgroup, network attachment, mount point directory)."""
    b, shared, img = checkpointed(s, "tmpfs-bad")
    with open(os.path.join(img, "run-container-tmpfs.json")) as f:
        name = next(m["archive"] for m in json.load(f)["mounts"] if m["destination"] == "/dev/shm")
    path = os.path.join(img, name)
    os.truncate(path, os.path.getsize(path) - 30)
    restore_fails_cleanly(s, b, shared, img, "r-tmpfs-cut", img, name, "truncated at byte", "/dev/shm")
    check(not os.path.exists(os.path.join(img, "run-container-tmpfs")), "the restore's tmpfs mount points are left")
    with open(path, "r+b") as f:
        f.write(b"NOTMAGIC")
    restore_fails_cleanly(s, b, shared, img, "r-tmpfs-magic", img, name, "bad magic")


def main():
    return run("criu_robust suite", __doc__, test.tests, Suite, leftovers)


if __name__ == "__main__":
    sys.exit(main())
