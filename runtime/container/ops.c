/* The lifecycle operations on an existing container: state, kill, delete, list (create,
 * start and run live in runtime/container/container.c).
 *
 * Only delete takes the state directory's lock: it is the one that changes anything.
 * state, kill and list read state.json (always replaced atomically) without it, so a
 * hook that asks for the state of its own container while create or start holds the
 * lock does not deadlock. kill stays race-free without the lock because it signals
 * through a pidfd whose process is checked against the recorded start time. */
#include "runtime/container/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/internal.h"
#include "runtime/container/state.h"
#include "runtime/isolation/hooks.h"
#include "runtime/net/network.h"
#include "specs/config.h"

#define DELETE_WAIT_MS 10000

/* Open the root without creating it: asking about a container must not make the state
 * root appear. *ret_rootfd is -1 when the root does not exist. */
static int open_root(const struct rc_runtime *rt, int *ret_rootfd, rc_error_t *err)
{
        int fd = open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "open state root \"%s\"", rc_state_root_path(rt->root));
        *ret_rootfd = fd;
        return 0;
}

/* The state of a directory without a readable state.json (a create interrupted before
 * its first write): "creating" with no pid, which refreshes to stopped. */
static int synth_state(const char *id, struct oci_state **ret, rc_error_t *err)
{
        struct oci_state *s = calloc(1, sizeof(*s));

        if (s == NULL)
                return rc_error_set(err, ENOMEM, "state of container \"%s\"", id);
        s->oci_version = strdup(OCI_VERSION);
        s->id = strdup(id);
        s->bundle = strdup("");
        s->status = OCI_STATUS_CREATING;
        if (s->oci_version == NULL || s->id == NULL || s->bundle == NULL) {
                oci_state_free(s);
                return rc_error_set(err, ENOMEM, "state of container \"%s\"", id);
        }
        *ret = s;
        return 0;
}

/* What a command knows of a container: its state (status refreshed), the status as
 * saved, and why state.json could not be used (NULL: it could; status ENOENT: there is
 * none, the state was synthesised). */
struct loaded {
        struct oci_state *s;
        enum oci_status saved;
        rc_error_t unreadable;
        bool recorded; /* an init record exists */
};

static void loaded_clear(struct loaded *l)
{
        oci_state_free(l->s);
        rc_error_free(&l->unreadable);
}

/* A state without a live init (no pid yet, a dead one, or no state at all) takes the
 * one of the init record when that one lives, and the cgroup it names if it has none. */
static void adopt_recorded_init(int dirfd, struct loaded *l)
{
        struct rc_init_record rec = {0};
        struct oci_state *s = l->s;

        if (rc_pid_matches(s->pid, s->pid_start_time) || rc_state_read_init(dirfd, &rec) < 0)
                return;
        l->recorded = true;
        if (rec.start_time != 0 && rc_pid_matches(rec.pid, rec.start_time)) {
                s->pid = rec.pid;
                s->pid_start_time = rec.start_time;
                if (l->unreadable != NULL)
                        s->status = OCI_STATUS_RUNNING; /* refreshed from here: created or running */
        }
        if (s->cgroup_path == NULL)
                s->cgroup_path = TAKE_PTR(rec.cgroup_path);
        free(rec.cgroup_path);
}

/* Read state.json; a missing one is synthesised, an unreadable one too when `tolerant`
 * (with a warning, and l->unreadable saying why). The init record fills in an init the
 * state does not know; the status is then refreshed. */
static int load_state(const struct rc_runtime *rt, int dirfd, const char *id, bool tolerant,
                      struct loaded *l, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        *l = (struct loaded){0};
        if (rc_state_read(dirfd, id, &l->s, &e) < 0) {
                if (e->status != ENOENT && !tolerant) {
                        rc_error_move(err, &e);
                        return -1;
                }
                if (e->status != ENOENT)
                        rc_log(&rt->log, RC_LOG_WARNING, "%s", e->msg);
                rc_error_move(&l->unreadable, &e);
                if (synth_state(id, &l->s, err) < 0) {
                        loaded_clear(l);
                        return -1;
                }
        }
        l->saved = l->s->status;
        adopt_recorded_init(dirfd, l);
        if (rc_state_refresh(dirfd, l->s, err) < 0) {
                loaded_clear(l);
                return -1;
        }
        rc_cgroup_status_overlay(l->s); /* frozen: paused */
        return 0;
}

static int open_dir_unlocked(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err)
{
        int fd = rootfd < 0 ? -1 : openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0) {
                if (rootfd < 0 || errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                        return rc_error_set_status(err, ENOENT, "container \"%s\" does not exist", id);
                return rc_error_set(err, errno, "open state directory of container \"%s\"", id);
        }
        *ret_dirfd = fd;
        return 0;
}

/* Someone holds the directory's lock (a create or start at work). Probed through an
 * open file description of our own, so a lock we hold would be reported, never changed. */
static bool lock_busy(int dirfd)
{
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* A create still at work (it holds the lock) is creating, whatever its pid says. */
static void creating_if_busy(int dirfd, struct loaded *l)
{
        if (l->saved == OCI_STATUS_CREATING && l->s->status != OCI_STATUS_CREATING && lock_busy(dirfd))
                l->s->status = OCI_STATUS_CREATING;
}

int rc_container_state(const struct rc_runtime *rt, const char *id, struct oci_state **ret, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct loaded l;

        if (rc_validate_id(id, err) < 0 || open_root(rt, &rootfd, err) < 0 ||
            open_dir_unlocked(rootfd, id, &dirfd, err) < 0 || load_state(rt, dirfd, id, false, &l, err) < 0)
                return -1;
        creating_if_busy(dirfd, &l);
        *ret = TAKE_PTR(l.s);
        loaded_clear(&l);
        return 0;
}

static void config_free(struct oci_config *c)
{
        if (c != NULL)
                oci_config_free(c);
}

/* The config saved at create; *ret is NULL (and 0 returned) when there is none. */
static int load_config(int dirfd, const char *id, struct oci_config **ret, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        *ret = NULL;
        if (rc_state_load_config(dirfd, id, ret, &e) == 0 || e->status == ENOENT)
                return 0;
        rc_error_move(err, &e);
        return -1;
}

/* ---- signalling --------------------------------------------------------------- */

/* A pidfd for pid, checked (after opening it, which closes the race with pid reuse)
 * to be the process that started at start_time. -1 with errno ESRCH if it is gone. */
static int open_verified_pidfd(pid_t pid, uint64_t start_time)
{
        int fd = rc_pidfd_open(pid, 0);

        if (fd < 0)
                return -1;
        if (!rc_pid_matches(pid, start_time)) {
                close(fd);
                errno = ESRCH;
                return -1;
        }
        return fd;
}

static int signal_pid(pid_t pid, uint64_t start_time, int sig)
{
        _cleanup_close_ int fd = open_verified_pidfd(pid, start_time);

        if (fd < 0)
                return -1;
        return rc_pidfd_send_signal(fd, sig, NULL, 0);
}

/* ppid and start time from /proc/PID/stat (fields 4 and 22, counted after the last
 * ')' since comm may contain anything). */
static int proc_ppid_start(pid_t pid, pid_t *ret_ppid, uint64_t *ret_start)
{
        char path[64], buf[1024];
        _cleanup_close_ int fd = -1;
        unsigned long long start;
        char *p;
        ssize_t n;
        int ppid;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p == NULL ||
            sscanf(p + 1, " %*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
                   &ppid, &start) != 2)
                return -1;
        *ret_ppid = ppid;
        *ret_start = start;
        return 0;
}

static bool same_file(const char *path, const struct stat *ref)
{
        struct stat st;

        return stat(path, &st) == 0 && st.st_dev == ref->st_dev && st.st_ino == ref->st_ino;
}

struct proc_entry {
        pid_t pid, ppid;
        uint64_t start;
        bool mark;
};

struct proc_table {
        struct proc_entry *v;
        size_t n, cap;
};

static int add_proc(pid_t pid, void *data, rc_error_t *err)
{
        struct proc_table *t = data;
        struct proc_entry e = {.pid = pid};

        if (proc_ppid_start(pid, &e.ppid, &e.start) < 0)
                return 0; /* gone meanwhile */
        if (t->n == t->cap) {
                struct proc_entry *nv = realloc(t->v, (t->cap = t->cap ? t->cap * 2 : 256) * sizeof(*t->v));
                if (nv == NULL)
                        return rc_error_set(err, ENOMEM, "read /proc");
                t->v = nv;
        }
        t->v[t->n++] = e;
        return 0;
}

/* One pass over /proc: every process with its parent and start time. */
static int scan_proc(struct proc_entry **ret, size_t *ret_n, rc_error_t *err)
{
        struct proc_table t = {0};

        if (rc_proc_each(add_proc, &t, err) < 0) {
                free(t.v);
                return -1;
        }
        *ret = t.v;
        *ret_n = t.n;
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = ((const struct proc_entry *)a)->pid, y = ((const struct proc_entry *)b)->pid;

        return (x > y) - (x < y);
}

/* Repeat until nothing changes: a process whose parent is the init or marked is marked.
 * v is sorted by pid so a parent is found by bisection. */
static void mark_descendants(struct proc_entry *v, size_t n, pid_t init)
{
        bool changed = true;

        qsort(v, n, sizeof(*v), cmp_pid);
        while (changed) {
                changed = false;
                for (size_t i = 0; i < n; i++) {
                        struct proc_entry key = {.pid = v[i].ppid};
                        const struct proc_entry *parent;

                        if (v[i].mark || v[i].pid == init)
                                continue;
                        if (v[i].ppid == init) {
                                v[i].mark = changed = true;
                                continue;
                        }
                        parent = bsearch(&key, v, n, sizeof(*v), cmp_pid);
                        if (parent != NULL && parent->mark)
                                v[i].mark = changed = true;
                }
        }
}

/* Mark the container's other processes: with its own pid namespace, every process in
 * that namespace; otherwise (a shared or joined namespace also holds processes that are
 * not ours, and there is no cgroup to ask) the init's descendants. */
static void mark_targets(struct proc_entry *v, size_t n, pid_t init, bool own_pidns)
{
        char path[64];
        struct stat ns;

        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
        /* Never take our own namespace for the container's, whatever the config says. */
        if (!own_pidns || stat(path, &ns) < 0 || same_file("/proc/self/ns/pid", &ns)) {
                mark_descendants(v, n, init);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)v[i].pid);
                v[i].mark = v[i].pid != init && same_file(path, &ns);
        }
}

static bool has_own_pidns(int dirfd, const char *id)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_config *c = NULL;
        const struct oci_namespace *ns;
        bool own;

        if (load_config(dirfd, id, &c, &e) < 0 || c == NULL)
                return false; /* the cautious answer: only the init's descendants */
        ns = oci_config_namespace(c, OCI_NS_PID);
        own = ns != NULL && ns->path == NULL;
        config_free(c);
        return own;
}

/* Every process of the container but the init; those gone meanwhile are skipped. */
static int signal_others(const struct oci_state *s, int dirfd, int sig, rc_error_t *err)
{
        bool own = has_own_pidns(dirfd, s->id);
        struct proc_entry *v = NULL;
        size_t n = 0;

        if (sig == SIGKILL && own)
                return 0; /* SIGKILL to the init of a pid namespace takes all of it down */
        if (scan_proc(&v, &n, err) < 0)
                return -1;
        mark_targets(v, n, s->pid, own);
        for (size_t i = 0; i < n; i++) {
                if (v[i].mark)
                        signal_pid(v[i].pid, v[i].start, sig);
        }
        free(v);
        return 0;
}

/* Signal the init and, with `all`, the rest of the container (the init last). The
 * init's own signal decides the result: ESRCH there means the container is gone. */
static int signal_container(const struct oci_state *s, int dirfd, int sig, bool all, rc_error_t *err)
{
        _cleanup_close_ int initfd = open_verified_pidfd(s->pid, s->pid_start_time);

        if (initfd < 0 && errno == ESRCH)
                return rc_error_set(err, 0, "container \"%s\" is not running", s->id);
        if (initfd < 0)
                return rc_error_set(err, errno, "signal container \"%s\": pidfd_open", s->id);
        if (all && s->cgroup_path != NULL) {
                _cleanup_error_ rc_error_t e = NULL;

                /* its cgroup knows every process (SIGKILL: cgroup.kill), the init last */
                if (rc_cgroup_signal_all(s, sig, &e) == 0)
                        return 0;
        }
        if (all && signal_others(s, dirfd, sig, err) < 0)
                return -1;
        if (rc_pidfd_send_signal(initfd, sig, NULL, 0) < 0) {
                if (errno == ESRCH)
                        return rc_error_set(err, 0, "container \"%s\" is not running", s->id);
                return rc_error_set(err, errno, "signal container \"%s\"", s->id);
        }
        return 0;
}

int rc_container_kill(const struct rc_runtime *rt, const char *id, int sig, bool all, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct loaded l;
        int ret;

        if (sig < 0 || sig >= NSIG)
                return rc_error_set(err, EINVAL, "invalid signal %d", sig);
        if (rc_validate_id(id, err) < 0 || open_root(rt, &rootfd, err) < 0 ||
            open_dir_unlocked(rootfd, id, &dirfd, err) < 0 || load_state(rt, dirfd, id, false, &l, err) < 0)
                return -1;
        if (all && l.s->status == OCI_STATUS_STOPPED)
                ret = 0; /* as runc: nothing is left to signal, which is what --all asks */
        else if (l.s->status != OCI_STATUS_CREATED && l.s->status != OCI_STATUS_RUNNING &&
                 l.s->status != OCI_STATUS_PAUSED)
                ret = rc_error_set(err, 0, "container \"%s\" is not running", id);
        else
                ret = signal_container(l.s, dirfd, sig, all, err);
        loaded_clear(&l);
        return ret;
}

/* ---- delete --------------------------------------------------------------------- */

/* Wait for a process to exit through its pidfd: its parent may be gone (or be us
 * only by accident), so waitpid() is not an option. */
static int wait_exit(int pidfd, int timeout_ms)
{
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                struct pollfd p = {.fd = pidfd, .events = POLLIN};
                int elapsed, r;

                clock_gettime(CLOCK_MONOTONIC, &t);
                elapsed = (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
                if (elapsed >= timeout_ms)
                        return -ETIMEDOUT;
                r = poll(&p, 1, timeout_ms - elapsed);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Wait (through its pidfd) for the process to exit. */
static int wait_gone(int pidfd, pid_t pid, const char *id, rc_error_t *err)
{
        int r = wait_exit(pidfd, DELETE_WAIT_MS);

        if (r == -ETIMEDOUT)
                return rc_error_set(err, 0, "delete container \"%s\": pid %d did not exit within %ds", id,
                                    (int)pid, DELETE_WAIT_MS / 1000);
        if (r < 0)
                return rc_error_set(err, -r, "delete container \"%s\": wait for pid %d", id, (int)pid);
        return 0;
}

static int force_kill(const struct oci_state *s, int dirfd, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_close_ int pidfd = open_verified_pidfd(s->pid, s->pid_start_time);

        if (pidfd < 0)
                return 0; /* exited since we looked */
        if (signal_container(s, dirfd, SIGKILL, true, &e) < 0 && rc_pid_matches(s->pid, s->pid_start_time)) {
                rc_error_move(err, &e);
                return -1;
        }
        return wait_gone(pidfd, s->pid, s->id, err);
}

/* SIGKILL an init found by rc_state_find_inits (if it is still the process that started
 * at its start time) and wait for it to go. */
static int kill_init_proc(const struct rc_init_proc *p, rc_error_t *err)
{
        _cleanup_close_ int pidfd = open_verified_pidfd(p->pid, p->start_time);

        if (pidfd < 0)
                return 0;
        if (rc_pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                return rc_error_set(err, errno, "kill the init (pid %d) of container \"%s\"", (int)p->pid,
                                    p->name);
        return wait_gone(pidfd, p->pid, p->name, err);
}

/* Inits that hold this state directory although its state does not record them (a
 * create killed before it recorded the pid): they go with it. */
static int kill_unrecorded_inits(int rootfd, int dirfd, pid_t recorded, rc_error_t *err)
{
        struct rc_init_proc *v = NULL;
        struct stat st;
        size_t n = 0;
        int ret = 0;

        if (fstat(dirfd, &st) < 0)
                return rc_error_set(err, errno, "stat state directory");
        if (rc_state_find_inits(rootfd, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n && ret == 0; i++)
                if (v[i].dev == st.st_dev && v[i].ino == st.st_ino && v[i].pid != recorded)
                        ret = kill_init_proc(&v[i], err);
        rc_init_procs_free(v, n);
        return ret;
}

/* Without --force, a state that cannot be read stops delete while the init record says
 * its init runs, or when there is a state but no record to ask (an earlier version's):
 * the container may still run. A missing state without a record is a create that never
 * recorded an init (what holds the directory is found by kill_unrecorded_inits). */
static int check_unreadable(const struct loaded *l, const char *id, bool force, rc_error_t *err)
{
        if (l->unreadable == NULL || force)
                return 0;
        if (l->s->status == OCI_STATUS_STOPPED && (l->recorded || l->unreadable->status == ENOENT))
                return 0;
        if (l->s->status != OCI_STATUS_STOPPED)
                return rc_error_set(err, 0,
                                    "cannot delete container \"%s\": %s; its init (pid %d) still runs: "
                                    "\"delete --force %s\" kills it and removes the container",
                                    id, l->unreadable->msg, (int)l->s->pid, id);
        return rc_error_set(err, 0,
                            "cannot delete container \"%s\": %s; whether its init still runs is unknown: "
                            "\"delete --force %s\" kills what can be found of it and removes the container",
                            id, l->unreadable->msg, id);
}

/* The poststop hooks of cfg (NULL: none); failures are warnings (the container is gone
 * either way). */
static void run_poststop(const struct rc_runtime *rt, struct oci_state *s, const struct oci_config *cfg)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        if (cfg == NULL || cfg->hooks[OCI_HOOK_POSTSTOP].n == 0)
                return;
        s->status = OCI_STATUS_STOPPED;
        if (oci_state_to_json(s, 0, &json, &len, &e) < 0 ||
            rc_hooks_run(&cfg->hooks[OCI_HOOK_POSTSTOP], OCI_HOOK_POSTSTOP, json, len, &rt->log, &e) < 0)
                rc_log(&rt->log, RC_LOG_WARNING, "%s", e->msg);
}

/* Network teardown: a failure keeps the state (delete can be retried), unless forced:
 * then it is a warning and `network prune` releases what is left. */
static int detach_network(const struct rc_runtime *rt, int dirfd, const char *id, bool force,
                          rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        if (rc_network_detach(rt, id, dirfd, &e) == 0)
                return 0;
        if (!force) {
                rc_error_move(err, &e);
                return -1;
        }
        rc_log(&rt->log, RC_LOG_WARNING, "%s (run \"network prune\" to release the rest)", e->msg);
        return 0;
}

/* Stop what runs: the init (and, forced, the rest of the container); and whatever init
 * holds the directory unrecorded when create never finished or the state is lost. */
static int stop_for_delete(const struct loaded *l, int rootfd, int dirfd, const char *id, bool force,
                           rc_error_t *err)
{
        const struct oci_state *s = l->s;

        if (check_unreadable(l, id, force, err) < 0)
                return -1;
        if (s->status != OCI_STATUS_STOPPED && !force)
                return rc_error_set(err, 0, "cannot delete container \"%s\" that is not stopped: %s", id,
                                    oci_status_name(s->status));
        if (s->status != OCI_STATUS_STOPPED && force_kill(s, dirfd, err) < 0)
                return -1;
        if (l->saved == OCI_STATUS_CREATING || l->unreadable != NULL)
                return kill_unrecorded_inits(rootfd, dirfd, s->pid, err);
        return 0;
}

/* The init of a container that shares its cgroup with another copy (post-copy: the
 * source's tasks that CRIU killed, or a failed restore's) killed and waited for: the
 * cgroup is not signalled (the other copy is in it); its pid namespace goes with it. */
static int kill_init_only(const struct oci_state *s, rc_error_t *err)
{
        _cleanup_close_ int pidfd = open_verified_pidfd(s->pid, s->pid_start_time);

        if (pidfd < 0)
                return 0;
        if (rc_pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                return rc_error_set(err, errno, "kill the init (pid %d) of container \"%s\"", (int)s->pid,
                                    s->id);
        return wait_gone(pidfd, s->pid, s->id, err);
}

/* delete proper, with what is known of the container in l; handed_over: the cgroup is
 * another copy's too (rc_container_delete_handed_over, rc_runtime.shared_cgroup) */
static int delete_loaded(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                         const struct oci_config *cfg, const struct loaded *l, bool force, bool handed_over,
                         rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_config *loaded = NULL;
        bool poststop;
        int ret;

        /* A container saved as "creating" never finished create (or has no readable state
         * at all): its poststop hooks have nothing to undo. */
        if (cfg == NULL && l->saved != OCI_STATUS_CREATING && load_config(dirfd, id, &loaded, &e) < 0) {
                rc_log(&rt->log, RC_LOG_WARNING, "skipping poststop hooks: %s", e->msg);
                rc_error_free(&e);
        }
        if (cfg == NULL)
                cfg = loaded;
        poststop = l->saved != OCI_STATUS_CREATING && cfg != NULL && cfg->hooks[OCI_HOOK_POSTSTOP].n > 0;
        handed_over = handed_over || rc_cgroup_shared(rt, l->s->cgroup_path);
        ret = handed_over ? kill_init_only(l->s, err) : stop_for_delete(l, rootfd, dirfd, id, force, err);
        /* the final usage goes to the state dir (for poststop hooks, which can still ask
         * `events --stats`), then the cgroup (and what is left in it) goes */
        if (ret == 0 && !handed_over)
                ret = rc_cgroup_finish(rt, dirfd, l->s, poststop, err);
        if (ret == 0 && poststop)
                run_poststop(rt, l->s, cfg);
        if (ret == 0)
                ret = detach_network(rt, dirfd, id, force, err);
        if (ret == 0)
                ret = rc_state_dir_remove(rootfd, id, dirfd, err);
        config_free(loaded);
        return ret;
}

static int delete_locked(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                         const struct oci_config *cfg, bool force, bool handed_over, rc_error_t *err)
{
        struct loaded l;
        int ret;

        if (load_state(rt, dirfd, id, true, &l, err) < 0)
                return -1;
        ret = delete_loaded(rt, rootfd, dirfd, id, cfg, &l, force, handed_over, err);
        loaded_clear(&l);
        return ret;
}

int rc_container_delete_locked(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                               const struct oci_config *cfg, bool force, rc_error_t *err)
{
        return delete_locked(rt, rootfd, dirfd, id, cfg, force, false, err);
}

int rc_container_delete_handed_over(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                                    const struct oci_config *cfg, rc_error_t *err)
{
        return delete_locked(rt, rootfd, dirfd, id, cfg, true, true, err);
}

int rc_container_delete(const struct rc_runtime *rt, const char *id, bool force, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;

        if (rc_validate_id(id, err) < 0 || open_root(rt, &rootfd, err) < 0)
                return -1;
        if (rootfd < 0)
                return rc_error_set_status(err, ENOENT, "container \"%s\" does not exist", id);
        return rc_container_delete_known(rt, rootfd, id, NULL, force, err);
}

int rc_container_delete_known(const struct rc_runtime *rt, int rootfd, const char *id,
                              const struct oci_config *cfg, bool force, rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1;

        if (rc_state_dir_open(rootfd, id, &dirfd, err) < 0)
                return -1;
        return rc_container_delete_locked(rt, rootfd, dirfd, id, cfg, force, err);
}

/* Whether the directory's init record names the init s says: the directory is still the
 * one of the state in memory (not removed and made again by another create meanwhile;
 * state.json is written by create and start alone, which run did itself). */
static bool records_init_of(int dirfd, const struct oci_state *s)
{
        struct rc_init_record rec = {0};
        bool same;

        if (s->pid <= 0 || rc_state_read_init(dirfd, &rec) < 0)
                return false;
        same = rec.pid == s->pid && rec.start_time == s->pid_start_time;
        free(rec.cgroup_path);
        return same;
}

int rc_container_delete_reaped(const struct rc_runtime *rt, int rootfd, const char *id,
                               const struct oci_config *cfg, struct oci_state *s, rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1;
        struct loaded l = {.s = s, .saved = s->status, .recorded = true};

        if (rc_state_dir_open(rootfd, id, &dirfd, err) < 0)
                return -1;
        if (!records_init_of(dirfd, s))
                return rc_container_delete_locked(rt, rootfd, dirfd, id, cfg, true, err);
        s->status = OCI_STATUS_STOPPED; /* its init reaped by the caller */
        return delete_loaded(rt, rootfd, dirfd, id, cfg, &l, true, false, err);
}

/* ---- list --------------------------------------------------------------------------- */

/* One entry of the list; never fails but for lack of memory. A directory whose lock is
 * held is being worked on (most likely created): without a usable state it shows as
 * creating, not stopped. */
static int list_one(const struct rc_runtime *rt, int rootfd, const char *id, struct oci_state **ret,
                    rc_error_t *err)
{
        _cleanup_close_ int dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_error_ rc_error_t e = NULL;
        struct loaded l = {0};

        if (dirfd < 0 && errno == ENOENT)
                return 0; /* deleted meanwhile */
        if (dirfd < 0)
                rc_log(&rt->log, RC_LOG_WARNING, "open state of container \"%s\": %s", id, strerror(errno));
        if (dirfd >= 0 && load_state(rt, dirfd, id, true, &l, &e) == 0) {
                creating_if_busy(dirfd, &l);
                *ret = TAKE_PTR(l.s);
                loaded_clear(&l);
                return 0;
        }
        if (e != NULL)
                rc_log(&rt->log, RC_LOG_WARNING, "%s", e->msg);
        if (synth_state(id, ret, err) < 0)
                return -1;
        (*ret)->status = OCI_STATUS_STOPPED;
        return 0;
}

/* ---- gc: inits that no state describes ------------------------------------------------ */

/* Whether the state in the root describes this init (or a command is at work on it). */
static bool init_described(const struct rc_runtime *rt, int rootfd, const struct rc_init_proc *p)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_close_ int dirfd = openat(rootfd, p->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct loaded l;
        struct stat st;
        bool described;

        if (dirfd < 0 || fstat(dirfd, &st) < 0 || st.st_dev != p->dev || st.st_ino != p->ino)
                return false; /* removed (or replaced) since the scan */
        if (lock_busy(dirfd))
                return true;
        if (load_state(rt, dirfd, p->name, true, &l, &e) < 0)
                return true; /* not sure: leave it */
        described = l.s->pid == p->pid && l.s->pid_start_time == p->start_time;
        loaded_clear(&l);
        return described;
}

int rc_container_gc_inits(const struct rc_runtime *rt, size_t *ret_killed, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1;
        struct rc_init_proc *v = NULL;
        size_t n = 0, killed = 0;
        rc_error_t e = NULL;
        int ret = 0;

        *ret_killed = 0;
        if (open_root(rt, &rootfd, err) < 0)
                return -1;
        if (rootfd < 0)
                return 0;
        if (rc_state_find_inits(rootfd, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (!v[i].removed && init_described(rt, rootfd, &v[i]))
                        continue;
                rc_log(&rt->log, RC_LOG_INFO, "gc: killing the init (pid %d) of container \"%s\": %s",
                       (int)v[i].pid, v[i].name,
                       v[i].removed ? "its state directory is gone" : "its state does not record it");
                if (kill_init_proc(&v[i], &e) == 0) {
                        killed++;
                } else if (ret == 0) {
                        rc_error_move(err, &e);
                        ret = -1;
                }
                rc_error_free(&e);
        }
        rc_init_procs_free(v, n);
        *ret_killed = killed;
        return ret;
}

int rc_container_list(const struct rc_runtime *rt, struct oci_state ***ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1;
        _cleanup_strv_ char **ids = NULL;
        struct oci_state **v;
        size_t n_ids = 0, n = 0;

        if (open_root(rt, &rootfd, err) < 0)
                return -1;
        if (rootfd >= 0 && rc_state_list_ids(rootfd, &ids, &n_ids, err) < 0)
                return -1;
        v = calloc(n_ids + 1, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "list containers");
        for (size_t i = 0; i < n_ids; i++) {
                if (list_one(rt, rootfd, ids[i], &v[n], err) < 0) {
                        rc_container_list_free(v, n);
                        return -1;
                }
                if (v[n] != NULL)
                        n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void rc_container_list_free(struct oci_state **v, size_t n)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                oci_state_free(v[i]);
        free(v);
}
