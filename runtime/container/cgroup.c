/* Container operations that go through the container's cgroup: update, pause/resume,
 * the pid list (ps), statistics and the event stream; and the pieces that kill,
 * delete and state borrow (runtime/container/ops.c). The cgroup comes from the path
 * recorded in the container's state, never from the command line's manager. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/container.h"
#include "runtime/container/internal.h"
#include "runtime/container/state.h"

struct target {
        struct oci_state *st;
        struct rc_cgroup *cg;
};

static void target_clear(struct target *t)
{
        oci_state_free(t->st);
        rc_cgroup_free(t->cg);
}

static int open_target(const struct rc_runtime *rt, const char *id, struct target *t, rc_error_t *err)
{
        *t = (struct target){0};
        if (rc_container_state(rt, id, &t->st, err) < 0)
                return -1;
        if (rc_cgroup_open(t->st->cgroup_path, t->st->systemd_cgroup, &rt->log, &t->cg, err) < 0) {
                target_clear(t);
                return -1;
        }
        return 0;
}

static bool is_live(const struct oci_state *s)
{
        return s->status == OCI_STATUS_CREATED || s->status == OCI_STATUS_RUNNING ||
               s->status == OCI_STATUS_PAUSED;
}

/* <root>/<id> without creating or locking anything. */
static int open_state_dir(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        const char *root = rc_state_root_path(rt->root);
        _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = rootfd < 0 ? -1 : openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return rc_error_set(err, errno, "open state of container \"%s\"", id);
        return fd;
}

int rc_container_update(const struct rc_runtime *rt, const char *id, const struct oci_resources *r,
                        rc_error_t *err)
{
        struct target t;
        int ret = -1;

        if (open_target(rt, id, &t, err) < 0)
                return -1;
        if (!is_live(t.st))
                rc_error_set(err, 0, "cannot update container \"%s\": it is %s", id,
                             oci_status_name(t.st->status));
        else if (t.cg->ops->update(t.cg, r, err) < 0)
                rc_error_wrap(err, "update container \"%s\"", id);
        else
                ret = 0;
        target_clear(&t);
        return ret;
}

static int set_frozen(const struct rc_runtime *rt, const char *id, bool frozen, rc_error_t *err)
{
        struct target t;
        int ret = -1;

        if (open_target(rt, id, &t, err) < 0)
                return -1;
        if (frozen && t.st->status != OCI_STATUS_RUNNING && t.st->status != OCI_STATUS_CREATED)
                rc_error_set(err, 0, "cannot pause container \"%s\": it is %s", id,
                             oci_status_name(t.st->status));
        else if (!frozen && t.st->status != OCI_STATUS_PAUSED)
                rc_error_set(err, 0, "cannot resume container \"%s\": it is %s, not paused", id,
                             oci_status_name(t.st->status));
        else if (t.cg->ops->freeze(t.cg, frozen, err) < 0)
                rc_error_wrap(err, "%s container \"%s\"", frozen ? "pause" : "resume", id);
        else
                ret = 0;
        target_clear(&t);
        return ret;
}

int rc_container_pause(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        return set_frozen(rt, id, true, err);
}

int rc_container_thaw(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        return set_frozen(rt, id, false, err);
}

/* A checkpoint killed mid-dump left the container frozen or its network locked: that is
 * settled first (waiting for a checkpoint still at work), and a container that runs
 * afterwards is resumed. */
int rc_container_resume(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_close_ int dirfd = -1, locked = -1;
        bool runs = false;

        if (rc_validate_id(id, err) < 0)
                return -1;
        dirfd = open_state_dir(rt, id, &e); /* none: set_frozen says so */
        if (dirfd >= 0 && faccessat(dirfd, RC_CHECKPOINT_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                _cleanup_close_ int rootfd =
                        open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (rootfd < 0)
                        return rc_error_set(err, errno, "state root `%s`", rc_state_root_path(rt->root));
                if (rc_state_dir_open(rootfd, id, &locked, err) < 0 ||
                    rc_checkpoint_settle(rt, locked, id, true, &runs, err) < 0)
                        return -1;
                if (runs)
                        return 0;
        }
        return set_frozen(rt, id, false, err);
}

int rc_container_pids(const struct rc_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
                      rc_error_t *err)
{
        struct target t;
        int r;

        if (open_target(rt, id, &t, err) < 0)
                return -1;
        if (t.cg->ops != &rc_cgroup_ops_disabled && t.cg->dirfd < 0 && t.st->status == OCI_STATUS_STOPPED) {
                *ret = NULL; /* stopped, and its cgroup already gone: no process */
                *ret_n = 0;
                r = 0;
        } else if ((r = t.cg->ops->procs(t.cg, ret, ret_n, err)) < 0) {
                rc_error_wrap(err, "processes of container \"%s\"", id);
        }
        target_clear(&t);
        return r;
}

/* The usage recorded by delete, if any (1), else 0. */
static int recorded_stats(const struct rc_runtime *rt, const char *id, struct rc_cgroup_stats *ret,
                          rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_close_ int dirfd = open_state_dir(rt, id, &e);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (dirfd < 0 || rc_state_read_file(dirfd, RC_STATS_FILE, &data, &len, &e) < 0)
                return 0;
        if (rc_cgroup_stats_parse(data, len, RC_STATS_FILE, ret, err) < 0)
                return -1;
        return 1;
}

int rc_container_stats(const struct rc_runtime *rt, const char *id, struct rc_cgroup_stats *ret,
                       rc_error_t *err)
{
        struct target t;
        int r;

        if (open_target(rt, id, &t, err) < 0)
                return -1;
        if (t.cg->dirfd >= 0)
                r = t.cg->ops->stats(t.cg, ret, err);
        else if ((r = recorded_stats(rt, id, ret, err)) == 0)
                r = t.cg->ops->stats(t.cg, ret, err); /* the driver's own error */
        r = r < 0 ? rc_error_wrap(err, "statistics of container \"%s\"", id) : 0;
        target_clear(&t);
        return r;
}

/* ---- events ----------------------------------------------------------------------------- */

struct oom_count {
        uint64_t oom, oom_kill;
};

static void read_oom(int dirfd, struct oom_count *c)
{
        struct rc_cgroup_stats s;
        _cleanup_error_ rc_error_t e = NULL;

        if (rc_cgroup_stats_read(dirfd, &s, &e) < 0)
                return;
        c->oom = s.memory_events_oom;
        c->oom_kill = s.memory_events_oom_kill;
        rc_cgroup_stats_clear(&s);
}

/* Emit one OOM event when memory.events counts more than last time. */
static int check_oom(int dirfd, struct oom_count *last, rc_event_fn fn, void *data, rc_error_t *err)
{
        struct oom_count now = *last;

        read_oom(dirfd, &now);
        if (now.oom <= last->oom && now.oom_kill <= last->oom_kill)
                return 0;
        *last = now;
        return fn(data, RC_EVENT_OOM, NULL, err);
}

static int emit_stats(int dirfd, rc_event_fn fn, void *data, rc_error_t *err)
{
        struct rc_cgroup_stats s;
        int r;

        if (rc_cgroup_stats_read(dirfd, &s, err) < 0)
                return -1;
        r = fn(data, RC_EVENT_STATS, &s, err);
        rc_cgroup_stats_clear(&s);
        return r;
}

static int watch_memory_events(const struct rc_cgroup *cg, const struct rc_logger *log)
{
        char path[4096];
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

        if (fd < 0)
                return -1;
        snprintf(path, sizeof(path), "%s%s/memory.events", cg->mount, cg->path);
        if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
                rc_log(log, RC_LOG_DEBUG, "watch `%s`: %s (no OOM events)", path, strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

static int event_loop(struct target *t, const struct rc_logger *log, unsigned interval_ms, rc_event_fn fn,
                      void *data, rc_error_t *err)
{
        _cleanup_close_ int pidfd = rc_pidfd_open(t->st->pid, 0);
        _cleanup_close_ int ino = watch_memory_events(t->cg, log);
        struct oom_count last = {0};
        char buf[4096];

        if (pidfd < 0 || !rc_pid_matches(t->st->pid, t->st->pid_start_time))
                return rc_error_set(err, 0, "container \"%s\" is not running", t->st->id);
        read_oom(t->cg->dirfd, &last);
        for (;;) {
                struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = ino, .events = POLLIN}};
                int r = poll(p, ino >= 0 ? 2 : 1, interval_ms > 0 ? (int)interval_ms : -1);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return rc_error_set(err, errno, "wait for events of container \"%s\"", t->st->id);
                if (r == 0) {
                        if (emit_stats(t->cg->dirfd, fn, data, err) < 0)
                                return -1;
                        continue;
                }
                if (ino >= 0 && (p[1].revents & POLLIN)) {
                        while (read(ino, buf, sizeof(buf)) > 0)
                                ;
                        if (check_oom(t->cg->dirfd, &last, fn, data, err) < 0)
                                return -1;
                }
                if (p[0].revents & POLLIN) /* the init is gone: a last look, then done */
                        return check_oom(t->cg->dirfd, &last, fn, data, err);
        }
}

int rc_container_events(const struct rc_runtime *rt, const char *id, unsigned interval_ms, rc_event_fn fn,
                        void *data, rc_error_t *err)
{
        struct target t;
        int r;

        if (open_target(rt, id, &t, err) < 0)
                return -1;
        if (!is_live(t.st))
                r = rc_error_set(err, 0, "container \"%s\" is not running", id);
        else if (t.cg->ops == &rc_cgroup_ops_disabled)
                r = rc_error_set_status(err, EOPNOTSUPP, "events of container \"%s\": it has no cgroup", id);
        else if (t.cg->dirfd < 0)
                r = rc_error_set(err, ENOENT, "events of container \"%s\": cgroup `%s` is gone", id,
                                 t.cg->path);
        else
                r = event_loop(&t, &rt->log, interval_ms, fn, data, err);
        target_clear(&t);
        return r;
}

/* ---- for kill, delete and state ------------------------------------------------------- */

int rc_cgroup_signal_all(const struct oci_state *s, int sig, rc_error_t *err)
{
        struct rc_cgroup *cg = NULL;
        int r;

        if (rc_cgroup_open(s->cgroup_path, s->systemd_cgroup, NULL, &cg, err) < 0)
                return -1;
        r = cg->ops->kill(cg, sig, s->pid, err);
        rc_cgroup_free(cg);
        return r;
}

static void record_stats(const struct rc_runtime *rt, int state_dirfd, struct rc_cgroup *cg)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *json = NULL;
        struct rc_cgroup_stats s;
        size_t len = 0;
        json_gen *g;

        if (rc_cgroup_stats_read(cg->dirfd, &s, &e) < 0) {
                rc_log(&rt->log, RC_LOG_WARNING, "final usage of cgroup `%s`: %s", cg->path, e->msg);
                return;
        }
        g = json_gen_new(false);
        if (g != NULL)
                rc_cgroup_stats_gen(g, &s);
        rc_cgroup_stats_clear(&s);
        if (g == NULL || json_gen_finish(g, &json, &len, &e) < 0 ||
            rc_write_file_atomic(state_dirfd, RC_STATS_FILE, json, len, 0600, &e) < 0)
                rc_log(&rt->log, RC_LOG_WARNING, "record the final usage of cgroup `%s`: %s", cg->path,
                       e ? e->msg : "out of memory");
        json_gen_free(g);
}

int rc_cgroup_finish(const struct rc_runtime *rt, int state_dirfd, const struct oci_state *s, bool record,
                     rc_error_t *err)
{
        struct rc_cgroup *cg = NULL;
        int r;

        if (s->cgroup_path == NULL)
                return 0;
        if (rc_cgroup_open(s->cgroup_path, s->systemd_cgroup, &rt->log, &cg, err) < 0)
                return rc_error_wrap(err, "delete container \"%s\"", s->id);
        if (record && cg->dirfd >= 0)
                record_stats(rt, state_dirfd, cg);
        r = cg->ops->destroy(cg, err);
        if (r < 0)
                rc_error_wrap(err, "delete container \"%s\"", s->id);
        rc_cgroup_free(cg);
        return r;
}

void rc_cgroup_status_overlay(struct oci_state *s)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg = NULL;
        bool frozen = false;

        if (s->cgroup_path == NULL || !is_live(s))
                return;
        if (rc_cgroup_open(s->cgroup_path, s->systemd_cgroup, NULL, &cg, &e) < 0)
                return;
        if (cg->ops->is_frozen(cg, &frozen, &e) == 0 && frozen)
                s->status = OCI_STATUS_PAUSED;
        else if (s->status == OCI_STATUS_PAUSED)
                s->status = OCI_STATUS_RUNNING;
        rc_cgroup_free(cg);
}
