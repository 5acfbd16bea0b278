#!/usr/bin/python3
"""migrate --post-copy: runs INSIDE the tests/vm guest, as criu_tests.py (whose Suite,
counter container and leftovers check it reuses), started by tests/vm/vm-tests.sh:

    postcopy_tests.py RUNTIME WORKDIR [TEST...]

The final dump leaves the memory with the frozen source, whose CRIU serves it on a
loopback page server; the restore under the other root runs the container at once and
`criu lazy-pages` moves the memory after. The counter keeps its count in the shell's
memory: a count that goes on at the destination is memory that came over lazily.
migrate --lazy-parent (pre-copy rounds, then the pages not dirtied since the last one
restored lazily by a local `criu lazy-pages` from the folded images) is here too.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from criu_tests import Suite, answers_hello, count, counting, leftovers, read
from criu_robust_tests import (NET, fill_tmpfs_mounts, gc_until_settled, kill_when, rc_at, start_migrate, status_at,
                               tmpfs_bundle, tmpfs_listing, where, work_dirs)
from vmsuite import Fail, Registry, check, run, wait_for

test = Registry()


def uffd_ok():
    r = subprocess.run(["criu", "check", "--feature", "uffd-noncoop"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0


@test
def post_copy_migrate_runs_at_the_destination_and_its_memory_follows(s):
    """migrate --post-copy to another root: one round (the final dump, no pre-dumps), the
    downtime line; the count (held in the shell's memory) goes on at the destination,
    which answers on its port; the source root has no state, no work directory is left,
    and the source's dump ended (every page moved): the migrate returned only then."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 5)
    dest = os.path.join(s.tmp, "dest-post")
    r = s.rc("migrate", "--post-copy", "--to", dest, cid, timeout=300)
    s.ids.remove(cid)
    lines = r.stdout.splitlines()
    print(f"  ({'; '.join(lines)})")
    rounds = [x for x in lines if x.startswith("round ")]
    check(len(rounds) == 1 and "(final dump)" in rounds[0], f"rounds: {lines}")
    check(lines[-1].startswith("downtime: ") and "memory followed" in lines[-1], f"no downtime line: {lines}")
    at = count(shared)
    check(status_at(s, dest, cid) == "running", f"at the destination: {status_at(s, dest, cid)}")
    check(counting(shared, at) > at, "the count does not go on at the destination")
    check(status_at(s, s.root, cid) is None, "the source still has the container")
    check(not work_dirs(dest), "the work directory was left")
    r = rc_at(s, dest, "exec", cid, "nc", "127.0.0.1", "8080", timeout=60)
    check(r.returncode == 0 and "hello" in r.stdout, f"exec at the destination: {r.stderr.strip()}")
    rc_at(s, dest, "delete", "--force", cid, check_rc=True)


def failed_post_copy_runs_on_at_the_source(s, cid, shared, pid, dest):
    """migrate --post-copy of cid to dest fails, saying the container runs at the source
    again: it is the same init there and its count goes on."""
    r = s.rc("migrate", "--post-copy", "--to", dest, cid, check_rc=False, timeout=300)
    print(f"  ({r.stderr.strip()})")
    check(r.returncode != 0 and "runs at the source again" in r.stderr, f"migrate: {r.stderr!r}")
    st = s.state(cid)
    check(st["status"] == "running" and st["pid"] == pid, f"at the source: {st}")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the source")


@test
def post_copy_whose_restore_fails_runs_at_the_source_again(s):
    """The destination already has a state of that id: the restore there fails after the
    lazy dump froze the source and serves its memory; migrate makes that dump fail, CRIU
    lets the tasks run on, migrate removes the network lock the dump left: the same
    process counts on at the source and its listener answers; the error says so."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    pid = s.state(cid)["pid"]
    dest = os.path.join(s.tmp, "dest-busy-post")
    os.makedirs(os.path.join(dest, cid))
    failed_post_copy_runs_on_at_the_source(s, cid, shared, pid, dest)
    check(answers_hello(s, cid), "the listener does not answer at the source (network still locked?)")
    check(not work_dirs(dest), "the work directory was left")
    shutil.rmtree(dest)


@test
def post_copy_whose_restore_fails_in_the_shared_cgroup_runs_at_the_source_again(s):
    """One host, one network root: the frozen source still holds its published port,
    so the restore at the other root fails in the create path, after it made the
    container's cgroup, which is the source's too: the failed copy's delete kills its own
    init only and leaves the cgroup, the source's tasks run on (the same init counts on,
    its listener answers), and no cgroup, lease or state is left but the source's."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(annotations={**NET, "run-container.ports": "18089:8080/tcp"})
    cid = s.run_detached(b)
    counting(shared, 3)
    pid = s.state(cid)["pid"]
    dest = os.path.join(s.tmp, "dest-port-post")
    failed_post_copy_runs_on_at_the_source(s, cid, shared, pid, dest)
    check(answers_hello(s, cid), "the listener does not answer at the source")
    check(status_at(s, dest, cid) is None and not work_dirs(dest), "the destination has something left")


@test
def post_copy_argument_errors_change_nothing(s):
    """--post-copy with --rounds, or to a socket nobody listens on: refused before
    anything is dumped (post-copy over a socket itself: migrate_remote_tests.py)."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 2)
    pid = s.state(cid)["pid"]
    dest = os.path.join(s.tmp, "dest-args")
    r = s.rc("migrate", "--post-copy", "--rounds", "2", "--to", dest, cid, check_rc=False)
    check(r.returncode != 0 and "--rounds does not apply" in r.stderr, f"--rounds: {r.stderr!r}")
    r = s.rc("migrate", "--post-copy", "--to", f"unix:{s.tmp}/none.sock", cid, check_rc=False)
    check(r.returncode != 0 and "connect to `" in r.stderr and "migrate-receive" in r.stderr, f"unix: {r.stderr!r}")
    st = s.state(cid)
    check(st["status"] == "running" and st["pid"] == pid, f"the container changed: {st}")
    check(not os.path.exists(dest), "the destination was made")


@test
def post_copy_migrate_killed_once_the_dump_serves_runs_exactly_once(s):
    """migrate --post-copy SIGKILLed (alone, not its dump) once it reported the final
    dump: either its restore went on and the dump ended (the copy runs at the
    destination), or the dump child saw its parent die and made the dump fail (the
    source runs on); gc at the destination settles the rest: exactly one copy runs and
    it counts on."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    dest = os.path.join(s.tmp, "dest-kill-post")
    p = start_migrate(s, s.root, dest, cid, "--post-copy")
    first = p.stdout.readline()
    p.kill()
    p.communicate()
    check(first.startswith("round 1 (final dump)"), f"migrate printed {first!r}")
    time.sleep(3)
    print(f"  (after the kill: source {status_at(s, s.root, cid)}, destination {status_at(s, dest, cid)})")
    for w in work_dirs(dest):
        for log in ("final/dump.log", "final/restore.log", "final/lazy-pages.log"):
            path = os.path.join(w, log)
            if os.path.exists(path):
                with open(path) as f:
                    tail = [x for x in f.read().splitlines() if "Error" in x or "FAIL" in x or "finished" in x]
                print(f"  ({log}: {tail[-4:]})")
    out = gc_until_settled(s, dest)
    print(f"  (gc: {out or 'nothing to say'})")
    here = where(s, cid, [s.root, dest])
    print(f"  (runs at {'the source' if here == s.root else 'the destination'})")
    at = count(shared)
    check(counting(shared, at, timeout=60) > at, "the count does not go on")
    if here == s.root:
        s.ids.remove(cid)
        rc_at(s, s.root, "delete", "--force", cid, check_rc=True)
    else:
        s.ids.remove(cid)
        rc_at(s, dest, "delete", "--force", cid, check_rc=True)


@test
def tmpfs_contents_survive_lazy_checkpoint_restore_and_post_copy_migrate(s):
    """A lazy dump archives /dev, /dev/shm and a /tmp tmpfs itself too (CRIU sends its
    post-dump before the page server serves: the archives are in the image before the
    status fd says ready): checkpoint --lazy-pages has run-container-tmpfs.json and no
    `tar` of CRIU's, restore --lazy-pages into a new id refills them, and migrate
    --post-copy of that copy again: what the container made in them and each mount's
    options are the same at every step."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = tmpfs_bundle(s)
    cid = s.run_detached(b)
    counting(shared, 3)
    fill_tmpfs_mounts(s, cid)
    before = tmpfs_listing(s, s.root, cid)
    check("shm-content" in before and "/tmp rw,nosuid,nodev,relatime tmpfs rw,size=1024k\n" in before,
          f"listing before the checkpoint:\n{before}")
    img = os.path.join(s.tmp, "img-lazy-tmpfs")
    rfd, wfd = os.pipe()
    p = subprocess.Popen([s.runtime, "--root", s.root, "checkpoint", "--lazy-pages", "--page-server",
                          "127.0.0.1:27278", "--status-fd", str(wfd), "--image-path", img, cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         pass_fds=(wfd,))
    os.close(wfd)
    try:
        ready = os.read(rfd, 1)
    finally:
        os.close(rfd)
    if ready != b"\0":
        _, err = p.communicate(timeout=120)
        raise Fail(f"status fd: {ready!r}; checkpoint: exit {p.returncode}: {err.strip()}")
    new = f"{cid}-lazy"
    try:
        s.restore(b, new, img, "--lazy-pages")
    except Fail:
        p.kill()  # it would serve the pages to nobody until killed
        p.communicate()
        raise
    _, err = p.communicate(timeout=180)
    check(p.returncode == 0, f"checkpoint --lazy-pages: exit {p.returncode}: {err.strip()}")
    s.ids.remove(cid)
    tmpfs_list = os.path.join(img, "run-container-tmpfs.json")
    check(os.path.exists(tmpfs_list), f"no {tmpfs_list}: {sorted(os.listdir(img))}")
    with open(tmpfs_list) as f:
        listed = sorted(m["destination"] for m in json.load(f)["mounts"])
    check(listed == ["/dev", "/dev/shm", "/tmp"], f"archived: {listed}")
    tars = [f for f in os.listdir(img) if f.startswith("tmpfs-dev-")]
    check(not tars, f"CRIU archived tmpfs mounts itself: {tars}")
    after = tmpfs_listing(s, s.root, new)
    check(after == before, f"after restore --lazy-pages:\n{after}\nbefore:\n{before}")
    check(not os.path.exists(os.path.join(img, "run-container-tmpfs")), "the restore's tmpfs mount points are left")
    dest = os.path.join(s.tmp, "dest-post-tmpfs")
    r = s.rc("migrate", "--post-copy", "--to", dest, new, timeout=300)
    s.ids.remove(new)
    after = tmpfs_listing(s, dest, new)
    check(after == before, f"after migrate --post-copy:\n{after}\nbefore:\n{before}")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the destination")
    check(not work_dirs(dest), "the work directory was left")
    rc_at(s, dest, "delete", "--force", new, check_rc=True)


@test
def post_copy_whose_tmpfs_archive_cannot_be_written_runs_on_at_the_source(s):
    """The destination root on a 1 MiB tmpfs, 4 MiB in the container's /dev/shm: the lazy
    dump's images fit, the archive of /dev/shm does not; post-dump fails, so the dump
    refuses to serve (no restore begins): migrate fails in one line naming the archive,
    the same init counts on at the source, its listener answers (the network lock is
    gone) and nothing is left at the destination."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(annotations=NET)
    cid = s.run_detached(b)
    counting(shared, 3)
    rc_at(s, s.root, "exec", cid, "dd", "if=/dev/urandom", "of=/dev/shm/big", "bs=64k", "count=64", check_rc=True)
    pid = s.state(cid)["pid"]
    dest = os.path.join(s.tmp, "dest-post-full")
    os.mkdir(dest)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dest], check=True)
    try:
        r = s.rc("migrate", "--post-copy", "--to", dest, cid, check_rc=False, timeout=300)
        err = r.stderr.strip()
        print(f"  ({err})")
        check(r.returncode != 0 and len(err.splitlines()) == 1, f"migrate: exit {r.returncode}: {err!r}")
        check("archive the tmpfs on `/dev/shm`" in err and "No space left on device" in err, f"error: {err!r}")
        st = s.state(cid)
        check(st["status"] == "running" and st["pid"] == pid, f"at the source: {st}")
        at = count(shared)
        check(counting(shared, at) > at, "the count does not go on at the source")
        check(answers_hello(s, cid), "the listener does not answer at the source (network still locked?)")
        check(os.listdir(dest) == [], f"left at the destination: {os.listdir(dest)}")
    finally:
        subprocess.run(["umount", dest], check=True)


@test
def post_copy_whose_tmpfs_archive_cannot_be_restored_runs_at_the_source_again(s):
    """The container's /tmp (size=1m in the config) remounted from outside to 4 MiB and
    given 2 MiB: the archive is made, but the restore's new tmpfs has the config's
    size and cannot take it; the restore fails before CRIU runs, after the lazy dump
    froze the source: migrate makes that dump fail, the same init counts on at the
    source and answers, and the error names /tmp."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = tmpfs_bundle(s)
    cid = s.run_detached(b)
    counting(shared, 3)
    pid = s.state(cid)["pid"]
    subprocess.run(["nsenter", "-t", str(pid), "-m", "-p", "mount", "-o", "remount,size=4m", "/tmp"], check=True)
    rc_at(s, s.root, "exec", cid, "dd", "if=/dev/urandom", "of=/tmp/big", "bs=64k", "count=32", check_rc=True)
    dest = os.path.join(s.tmp, "dest-post-big")
    r = s.rc("migrate", "--post-copy", "--to", dest, cid, check_rc=False, timeout=300)
    err = r.stderr.strip()
    print(f"  ({err})")
    check(r.returncode != 0 and "runs at the source again" in err and "/tmp" in err, f"migrate: {err!r}")
    st = s.state(cid)
    check(st["status"] == "running" and st["pid"] == pid, f"at the source: {st}")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the source")
    check(answers_hello(s, cid), "the listener does not answer at the source (network still locked?)")
    check(status_at(s, dest, cid) is None and not work_dirs(dest), "the destination has something left")

# migrate --lazy-parent: a counter whose shell holds 4 MiB of random text in a variable
# (never written anywhere), its md5 taken at the start into /shared/sum0; touching
# /shared/check makes the shell take the md5 again from its memory into /shared/sum.
# The text is written once, before the first pre-dump: after the move those pages come
# from the folded image through `criu lazy-pages`, not before the shell runs.
LAZY_WORKSET = ("x=$(head -c 4194304 /dev/urandom | base64); echo \"$x\" | md5sum >/shared/sum0; i=0; "
                "while :; do i=$((i+1)); echo $i >/shared/count; "
                "if [ -e /shared/check ]; then rm /shared/check; echo \"$x\" | md5sum >/shared/sum.new; "
                "mv /shared/sum.new /shared/sum; fi; sleep 0.1; done")


@test
def lazy_parent_migrate_restores_the_last_dirty_pages_first_and_the_rest_lazily(s):
    """migrate --lazy-parent --rounds 2 to another root (images kept with --work-path):
    the final round leaves at least the 4 MiB working set for after the restore, a local
    `criu lazy-pages` served it (its log in the final image: pages copied through
    userfaultfd), the count goes on at the destination and the md5 of the
    working set taken from the shell's memory there is the one of the start; nothing at
    the source."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(args=["sh", "-c", LAZY_WORKSET])
    cid = s.run_detached(b)
    wait_for(lambda: os.path.exists(os.path.join(shared, "sum0")) and count(shared) > 3, 120, "the working set")
    dest = os.path.join(s.tmp, "dest-lazy-parent")
    wp = os.path.join(s.tmp, "wp-lazy-parent")
    r = s.rc("migrate", "--lazy-parent", "--rounds", "2", "--to", dest, "--work-path", wp, cid, timeout=300)
    s.ids.remove(cid)
    lines = r.stdout.splitlines()
    print(f"  ({'; '.join(lines)})")
    final = [x for x in lines if "(final dump)" in x]
    # (a `sleep` of the loop forked since round 1 is left to the chain: it says so)
    check(len(final) == 1 and "not folded for a lazy restore (image" not in r.stdout, f"rounds: {lines}")
    m = re.search(r"(\d+) pages left for after the restore", final[0])
    check(m and int(m.group(1)) >= 1024, f"the final dump left too little for after the restore: {final[0]}")
    # migrate ends once its `criu lazy-pages` has moved every lazy page
    m = re.search(r"memory complete after \d+ ms \(from the final dump.s start; (\d+) pages lazily", r.stdout)
    check(m and int(m.group(1)) >= 1024, f"no memory complete line: {lines}")
    check(status_at(s, dest, cid) == "running", f"at the destination: {status_at(s, dest, cid)}")
    check(status_at(s, s.root, cid) is None, "the source still has the container")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the destination")
    with open(os.path.join(shared, "check"), "w"):
        pass
    wait_for(lambda: os.path.exists(os.path.join(shared, "sum")), 120, "the shell to take the md5 from its memory")
    now, start = (read(os.path.join(shared, n)).split()[0] for n in ("sum", "sum0"))
    check(now == start, f"the working set at the destination: md5 {now}, at the start {start}")
    # the daemon's summary comes once every page is over
    log = os.path.join(wp, "final", "lazy-pages.log")
    copied = wait_for(lambda: [int(x) for x in re.findall(r"UFFD transferred pages: \((\d+)/", read(log))], 120,
                      "criu lazy-pages to end")
    check(max(copied) >= 1024, f"criu lazy-pages copied {copied} pages")
    rc_at(s, dest, "delete", "--force", cid, check_rc=True)
    shutil.rmtree(wp)


def lazy_daemon_of(pid):
    """The `criu lazy-pages` whose parent is process pid (migrate, a subreaper), and its
    state letter; (None, None) if there is none. (Told by its name: the restore's `criu
    swrk`, migrate's child too, is gone once the restore ended; a stopped one is first.)"""
    found = []
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue  # (not the tasks' cmdline: a lazy task's may not be there yet)
            comm = read(f"/proc/{d}/comm").strip()
        except (OSError, IndexError, ValueError):
            continue
        if comm == "criu":
            found.append((fields[0] != "T", int(d), fields[0]))
    return min(found)[1:] if found else (None, None)


def lazy_migrate_with_stopped_daemon(s, name):
    """A counter with the 4 MiB working set, migrated with --lazy-parent to a new root
    with the test hook RC_TEST_STOP_LAZY_DAEMON: the restore's `criu lazy-pages` is
    stopped (SIGSTOP) once ready, so the restored shell waits on its first lazy page.
    Returns once the container runs at the destination with its daemon still stopped,
    as (cid, shared, dest, migrate's Popen, the daemon's pid)."""
    check(uffd_ok(), "criu check --feature uffd-noncoop fails in this guest")
    b, shared = s.bundle(args=["sh", "-c", LAZY_WORKSET])
    cid = s.run_detached(b)
    wait_for(lambda: os.path.exists(os.path.join(shared, "sum0")) and count(shared) > 3, 120, "the working set")
    dest = os.path.join(s.tmp, name)
    p = subprocess.Popen([s.runtime, "--root", s.root, "migrate", "--lazy-parent", "--rounds", "2", "--to", dest,
                          cid], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=dict(os.environ, RC_TEST_STOP_LAZY_DAEMON="1"))
    s.ids.remove(cid)

    def stopped_and_restored():
        if p.poll() is not None:
            raise Fail(f"migrate ended first: exit {p.returncode}: {p.communicate()}")
        pid, state = lazy_daemon_of(p.pid)
        return pid if state == "T" and status_at(s, dest, cid) == "running" else None
    try:
        daemon = wait_for(stopped_and_restored, 120, "the restore with its stopped criu lazy-pages")
    except Fail:
        # what each side was doing, for the report
        print(f"  (daemon {lazy_daemon_of(p.pid)}, at the destination: {status_at(s, dest, cid)})")
        for w in work_dirs(dest):
            for log in ("final/restore.log", "final/lazy-pages.log"):
                print(f"  ({log}: {read(os.path.join(w, log)).splitlines()[-6:]})")
        p.kill()
        raise
    return cid, shared, dest, p, daemon


def check_working_set(shared):
    """The md5 of the working set, taken again from the shell's memory, is the start's."""
    for n in ("sum", "check"):
        if os.path.exists(os.path.join(shared, n)):
            os.unlink(os.path.join(shared, n))
    with open(os.path.join(shared, "check"), "w"):
        pass
    wait_for(lambda: os.path.exists(os.path.join(shared, "sum")), 120, "the shell to take the md5 from its memory")
    now, start = (read(os.path.join(shared, n)).split()[0] for n in ("sum", "sum0"))
    check(now == start, f"the working set: md5 {now}, at the start {start}")


@test
def lazy_parent_daemon_killed_before_the_memory_is_complete_restarts_the_container(s):
    """migrate --lazy-parent whose `criu lazy-pages` is SIGKILLed while the restored
    container still waits for its lazy pages (held by the test hook): migrate kills that
    copy (it would run on zero pages) and restores the final image again, eagerly; it
    exits non-zero saying in one line that the container was restarted from its
    checkpoint; the container runs at the destination only, counts on, and the md5 of its
    working set is the start's; no work directory is left."""
    cid, shared, dest, p, daemon = lazy_migrate_with_stopped_daemon(s, "dest-lazy-killed")
    os.kill(daemon, signal.SIGKILL)
    out, err = p.communicate(timeout=300)
    print(f"  ({'; '.join(out.splitlines()[-2:])}; stderr: {err.strip()})")
    check(p.returncode != 0 and "restarted at" in err and "from its checkpoint" in err
          and "killed by signal 9" in err and len(err.strip().splitlines()) == 1,
          f"migrate: exit {p.returncode}: {err.strip()}")
    check("memory complete" not in out, f"migrate said the memory was complete: {out}")
    check(where(s, cid, [s.root, dest]) == dest, "the container does not run at the destination")
    check(not work_dirs(dest), f"work directories left: {work_dirs(dest)}")
    check(lazy_daemon_of(p.pid) == (None, None) and not os.path.exists(f"/proc/{daemon}"), "the daemon is left")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the destination")
    check_working_set(shared)
    rc_at(s, dest, "delete", "--force", cid, check_rc=True)


@test
def lazy_parent_migrate_killed_while_its_daemon_serves_leaves_the_images_to_it_until_it_ends(s):
    """migrate --lazy-parent SIGKILLed (alone) after the restore, while its `criu
    lazy-pages` still has the container's pages to copy (stopped by the test hook): the
    daemon lives on; gc at the destination leaves the work directory (the daemon holds its
    lock) while the daemon lives, and removes it once the daemon has ended; the source
    has nothing left. (The daemon is ended with SIGKILL: a SIGCONT would not let it go on,
    CRIU's epoll_wait fails with EINTR after a stop. With migrate gone nobody sees how it
    ended, so the container's memory is not checked here: README, the hole left.)"""
    cid, shared, dest, p, daemon = lazy_migrate_with_stopped_daemon(s, "dest-lazy-migrate-killed")
    p.kill()
    p.communicate()
    time.sleep(1)
    check(os.path.exists(f"/proc/{daemon}"), "criu lazy-pages died with migrate")
    for _ in range(2):
        r = rc_at(s, dest, "gc", check_rc=True)
        check(len(work_dirs(dest)) == 1, f"gc removed the images the daemon serves: {r.stdout} {r.stderr}")
    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{daemon}"), 120, "criu lazy-pages to end")
    out = gc_until_settled(s, dest)
    print(f"  (gc: {out or 'nothing to say'})")
    check(status_at(s, s.root, cid) is None, "the source still has the container")
    check(status_at(s, dest, cid) is not None, "the destination has no container")
    rc_at(s, dest, "delete", "--force", cid, check_rc=True)


@test
def lazy_parent_argument_errors_change_nothing(s):
    """--lazy-parent with --post-copy, or to a unix socket: refused in one line before any
    dump; the container counts on at the source."""
    b, shared = s.bundle()
    cid = s.run_detached(b)
    counting(shared, 3)
    for extra, want in ((["--post-copy", "--to", os.path.join(s.tmp, "d1")], "--post-copy"),
                        (["--to", "unix:" + os.path.join(s.tmp, "none.sock")], "state root")):
        r = s.rc("migrate", "--lazy-parent", *extra, cid, check_rc=False)
        check(r.returncode != 0 and want in r.stderr and len(r.stderr.strip().splitlines()) == 1,
              f"migrate --lazy-parent {' '.join(extra)}: exit {r.returncode}: {r.stderr.strip()}")
    check(s.state(cid)["status"] == "running", "the container stopped")
    at = count(shared)
    check(counting(shared, at) > at, "the count does not go on at the source")


def main():
    return run("postcopy suite", __doc__, test.tests, Suite, leftovers)


if __name__ == "__main__":
    sys.exit(main())
