/* Sandbox journals: record side effects before making them, undo them newest first,
 * and collect the leftovers of sandboxes that died (see journal.h). */
#include "runtime/sandbox/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/state.h"
#include "runtime/net/network.h"

#define JOURNAL_MAX (4u * 1024u * 1024u)
#define STOP_WAIT_MS 10000

static const char *const kind_names[] = {
        [RC_JOURNAL_OWNER] = "owner",         [RC_JOURNAL_DIR_CREATED] = "dir",
        [RC_JOURNAL_CONTAINER] = "container", [RC_JOURNAL_CGROUP] = "cgroup",
        [RC_JOURNAL_NETWORK] = "network",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *rc_journal_kind_name(enum rc_journal_kind kind)
{
        return (size_t)kind < N_KINDS ? kind_names[kind] : NULL;
}

/* ---- records ------------------------------------------------------------------------- */

int rc_journal_format(enum rc_journal_kind kind, const char *arg, char *buf, size_t size)
{
        const char *name = rc_journal_kind_name(kind);
        size_t n;

        if (name == NULL || size < strlen(name) + 3)
                return -1;
        n = (size_t)snprintf(buf, size, "%s ", name);
        for (const char *p = arg; *p; p++) {
                const char *esc = *p == '\n' ? "\\n" : *p == '\\' ? "\\\\" : NULL;
                size_t need = esc ? 2 : 1;

                if (n + need + 2 > size)
                        return -1;
                if (esc != NULL) {
                        memcpy(buf + n, esc, 2);
                } else {
                        buf[n] = *p;
                }
                n += need;
        }
        buf[n++] = '\n';
        buf[n] = '\0';
        return (int)n;
}

static int parse_line(const char *line, size_t len, struct rc_journal_entry *e)
{
        const char *sp = memchr(line, ' ', len);
        size_t klen;
        char *arg, *q;

        if (sp == NULL)
                return -1;
        klen = (size_t)(sp - line);
        e->kind = N_KINDS;
        for (size_t k = 0; k < N_KINDS; k++)
                if (strlen(kind_names[k]) == klen && memcmp(kind_names[k], line, klen) == 0)
                        e->kind = (enum rc_journal_kind)k;
        if ((size_t)e->kind == N_KINDS)
                return -1;
        arg = q = malloc(len - klen);
        if (arg == NULL)
                return -ENOMEM;
        for (const char *p = sp + 1; p < line + len; p++) {
                if (*p == '\\' && p + 1 < line + len) {
                        p++;
                        *q++ = *p == 'n' ? '\n' : *p;
                } else {
                        *q++ = *p;
                }
        }
        *q = '\0';
        e->arg = arg;
        return 0;
}

int rc_journal_parse(const char *data, size_t len, struct rc_journal_entry **ret, size_t *ret_n,
                     rc_error_t *err)
{
        struct rc_journal_entry *v = NULL;
        size_t n = 0, lineno = 0;
        const char *p = data, *end = data + len;

        for (const char *nl; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
                struct rc_journal_entry *nv = realloc(v, (n + 1) * sizeof(*v));
                int r;

                lineno++;
                if (nv == NULL) {
                        rc_journal_entries_free(v, n);
                        return rc_error_set(err, ENOMEM, "read journal");
                }
                v = nv;
                r = parse_line(p, (size_t)(nl - p), &v[n]);
                if (r < 0) {
                        rc_journal_entries_free(v, n);
                        if (r == -ENOMEM)
                                return rc_error_set(err, ENOMEM, "read journal");
                        return rc_error_set(err, EINVAL, "journal line %zu: invalid record", lineno);
                }
                n++;
        }
        /* a last line without '\n' was torn by a crash: its effect was never made */
        *ret = v;
        *ret_n = n;
        return 0;
}

void rc_journal_entries_free(struct rc_journal_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].arg);
        free(v);
}

int rc_journal_owner_parse(const char *arg, pid_t *ret_pid, uint64_t *ret_start)
{
        long pid;
        uint64_t start;
        int used = 0;

        if (sscanf(arg, "%ld %" SCNu64 "%n", &pid, &start, &used) != 2 || arg[used] != '\0' || pid <= 0 ||
            pid > INT_MAX)
                return -1;
        *ret_pid = (pid_t)pid;
        *ret_start = start;
        return 0;
}

int rc_journal_record(struct rc_journal *j, enum rc_journal_kind kind, const char *arg, rc_error_t *err)
{
        char buf[RC_JOURNAL_RECORD_MAX];
        int len = rc_journal_format(kind, arg, buf, sizeof(buf));
        ssize_t n;

        if (len < 0)
                return rc_error_set(err, ENAMETOOLONG, "journal of sandbox \"%s\": record too long", j->id);
        do
                n = write(j->fd, buf, (size_t)len);
        while (n < 0 && errno == EINTR);
        if (n != len)
                return rc_error_set(err, n < 0 ? errno : EIO, "write journal of sandbox \"%s\"", j->id);
        return 0;
}

/* ---- create / free ------------------------------------------------------------------ */

void rc_journal_free(struct rc_journal *j)
{
        if (j == NULL)
                return;
        if (j->fd >= 0)
                close(j->fd);
        if (j->dirfd >= 0)
                close(j->dirfd);
        free(j->id);
        free(j->dir_path);
        free(j);
}

static int open_journal_dir(const char *root, bool create, int *ret_fd, char **ret_path, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1;
        int fd;

        if (create) {
                if (rc_state_root_open(root, &rootfd, err) < 0)
                        return -1;
                if (mkdirat(rootfd, RC_JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "create `%s/%s`", root, RC_JOURNAL_DIR);
        } else {
                rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rootfd < 0 && errno == ENOENT)
                        return 0;
                if (rootfd < 0)
                        return rc_error_set(err, errno, "open state root `%s`", root);
        }
        fd = openat(rootfd, RC_JOURNAL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && !create)
                return 0;
        if (fd < 0)
                return rc_error_set(err, errno, "open `%s/%s`", root, RC_JOURNAL_DIR);
        if (asprintf(ret_path, "%s/%s", root, RC_JOURNAL_DIR) < 0) {
                close(fd);
                return rc_error_set(err, ENOMEM, "journal directory");
        }
        *ret_fd = fd;
        return 1;
}

/* The owner's lock, taken without waiting: a POSIX record lock (F_SETLK), which belongs to
 * the process that took it and goes when that process dies. Not flock(2): its lock belongs
 * to the open file, so a child still holding a copy of the fd (the container init, until
 * it executes the job) kept the journal locked for a moment after the sandbox was killed,
 * and a gc run then took the sandbox for a live one. -1 with errno (EAGAIN or EACCES:
 * another process holds it). The owner never opens its journal a second time: closing any
 * fd of the file would drop the lock. */
static int lock_journal(int fd)
{
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

        return fcntl(fd, F_SETLK, &l);
}

/* Give the unnamed, locked file with its owner record its name. */
static int link_journal(struct rc_journal *j, const char *name, rc_error_t *err)
{
        char path[64];

        if (linkat(j->fd, "", j->dirfd, name, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno == ENOENT || errno == EPERM) { /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
                snprintf(path, sizeof(path), "/proc/self/fd/%d", j->fd);
                if (linkat(AT_FDCWD, path, j->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
                        return 0;
        }
        if (errno == EEXIST)
                return rc_error_set(err, 0, "sandbox \"%s\" already exists", j->id);
        return rc_error_set(err, errno, "create journal `%s/%s`", j->dir_path, name);
}

int rc_journal_create(const char *root, const char *id, struct rc_journal **ret, rc_error_t *err)
{
        struct rc_journal *j = calloc(1, sizeof(*j));
        _cleanup_free_ char *name = NULL;
        char owner[64];
        uint64_t start = 0;

        if (j == NULL)
                return rc_error_set(err, ENOMEM, "journal");
        j->fd = j->dirfd = -1;
        j->id = strdup(id);
        if (j->id == NULL || asprintf(&name, "%s%s", id, RC_JOURNAL_SUFFIX) < 0) {
                rc_journal_free(j);
                return rc_error_set(err, ENOMEM, "journal");
        }
        if (open_journal_dir(root, true, &j->dirfd, &j->dir_path, err) < 0)
                goto fail;
        j->fd = openat(j->dirfd, ".", O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
        if (j->fd < 0) {
                rc_error_set(err, errno, "create journal in `%s` (O_TMPFILE)", j->dir_path);
                goto fail;
        }
        if (lock_journal(j->fd) < 0) {
                rc_error_set(err, errno, "lock journal of sandbox \"%s\"", id);
                goto fail;
        }
        if (rc_proc_start_time(getpid(), &start, err) < 0)
                goto fail;
        snprintf(owner, sizeof(owner), "%d %" PRIu64, (int)getpid(), start);
        if (rc_journal_record(j, RC_JOURNAL_OWNER, owner, err) < 0 || link_journal(j, name, err) < 0)
                goto fail;
        *ret = j;
        return 0;
fail:
        rc_journal_free(j);
        return -1;
}

/* ---- teardown ------------------------------------------------------------------------ */

/* Kill the container's processes and wait for its init to go: its directories must not
 * be removed under a running job. */
static int stop_container(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        struct oci_state *s = NULL;
        struct timespec t0, t;
        rc_error_t e = NULL;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                if (rc_container_state(rt, id, &s, &e) < 0) {
                        bool gone = e->status == ENOENT;
                        if (gone) {
                                rc_error_free(&e);
                                return 0;
                        }
                        rc_error_move(err, &e);
                        return -1;
                }
                bool stopped = s->status == OCI_STATUS_STOPPED;
                oci_state_free(s);
                if (stopped)
                        return 0;
                if (rc_container_kill(rt, id, SIGKILL, true, &e) < 0)
                        rc_error_free(&e); /* it may have stopped meanwhile: look again */
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > STOP_WAIT_MS)
                        return rc_error_set(err, ETIMEDOUT, "stop container \"%s\"", id);
                poll(NULL, 0, 20);
        }
}

static int undo_network(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        _cleanup_close_ int rootfd = open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dirfd = -1;

        if (rootfd >= 0)
                dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return 0; /* its state (and so its attachment) is gone: delete undid it */
        return rc_network_detach(rt, id, dirfd, err);
}

static int undo_cgroup(const struct rc_runtime *rt, const char *path, rc_error_t *err)
{
        struct rc_cgroup *cg = NULL;
        int ret = 0;

        /* by its files, whatever made it: a systemd scope emptied and removed so is let go by
         * systemd (and the journal does not know which driver made it) */
        if (rc_cgroup_open(path, false, &rt->log, &cg, err) < 0)
                return -1;
        if (cg->dirfd >= 0)
                ret = rc_cgroup_destroy(cg, err);
        rc_cgroup_free(cg);
        return ret;
}

static int undo_container(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        rc_error_t e = NULL;

        if (rc_container_delete(rt, id, true, &e) == 0)
                return 0;
        if (e->status == ENOENT) {
                rc_error_free(&e);
                return 0;
        }
        rc_error_move(err, &e);
        return -1;
}

/* The container's state directory is gone (delete finished): then there is nothing to
 * stop, delete or detach for it (each of the three finds that on its own), and the three
 * need not look one by one. false when unsure or for an id that is none. */
static bool state_gone(const struct rc_runtime *rt, const char *id)
{
        _cleanup_close_ int rootfd = -1;
        struct stat st;

        if (rc_validate_id(id, NULL) < 0)
                return false;
        rootfd = open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return errno == ENOENT;
        return fstatat(rootfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

static bool names_container(const struct rc_journal_entry *e)
{
        return e->kind == RC_JOURNAL_CONTAINER || e->kind == RC_JOURNAL_NETWORK;
}

static int undo(const struct rc_runtime *rt, const struct rc_journal_entry *e, rc_error_t *err)
{
        switch (e->kind) {
        case RC_JOURNAL_OWNER:
                return 0;
        case RC_JOURNAL_DIR_CREATED:
                return rc_remove_tree_at(AT_FDCWD, e->arg, err); /* never across a mount */
        case RC_JOURNAL_CONTAINER:
                return undo_container(rt, e->arg, err);
        case RC_JOURNAL_CGROUP:
                return undo_cgroup(rt, e->arg, err);
        case RC_JOURNAL_NETWORK:
                return undo_network(rt, e->arg, err);
        }
        return 0;
}

/* Through the journal's own fd (read-write: appends do not care where it points). */
static int read_entries(struct rc_journal *j, struct rc_journal_entry **ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (lseek(j->fd, 0, SEEK_SET) < 0)
                return rc_error_set(err, errno, "journal of sandbox \"%s\": seek", j->id);
        if (rc_read_fd(j->fd, "journal", JOURNAL_MAX, &data, &len, err) < 0 ||
            rc_journal_parse(data, len, ret, ret_n, err) < 0)
                return rc_error_wrap(err, "journal of sandbox \"%s\"", j->id);
        return 0;
}

static void keep_first(rc_error_t *err, rc_error_t *e)
{
        if (*err == NULL)
                rc_error_move(err, e);
        else
                rc_error_free(e);
}

int rc_journal_teardown(const struct rc_runtime *rt, struct rc_journal *j, rc_error_t *err)
{
        _cleanup_free_ bool *done = NULL;
        struct rc_journal_entry *v = NULL;
        _cleanup_free_ char *name = NULL;
        rc_error_t e = NULL;
        size_t n = 0;
        int ret = 0;

        if (read_entries(j, &v, &n, err) < 0) {
                rc_journal_free(j);
                return -1;
        }
        done = calloc(n ? n : 1, sizeof(*done));
        if (done == NULL) {
                rc_journal_entries_free(v, n);
                rc_journal_free(j);
                return rc_error_set(err, ENOMEM, "clean up sandbox");
        }
        /* a container its run deleted (the usual end): its entries are done */
        for (size_t i = 0; i < n; i++)
                if (v[i].kind == RC_JOURNAL_CONTAINER && state_gone(rt, v[i].arg))
                        for (size_t k = 0; k < n; k++)
                                if (names_container(&v[k]) && strcmp(v[k].arg, v[i].arg) == 0)
                                        done[k] = true;
        for (size_t i = 0; i < n; i++)
                if (!done[i] && v[i].kind == RC_JOURNAL_CONTAINER && stop_container(rt, v[i].arg, &e) < 0) {
                        keep_first(err, &e);
                        ret = -1;
                }
        for (size_t i = n; i-- > 0;) {
                if (!done[i] && undo(rt, &v[i], &e) < 0) {
                        rc_log(&rt->log, RC_LOG_DEBUG, "sandbox \"%s\": undo %s: %s", j->id,
                               rc_journal_kind_name(v[i].kind), e->msg);
                        keep_first(err, &e);
                        ret = -1;
                }
        }
        rc_journal_entries_free(v, n);
        /* the journal goes only when everything it names is gone: else gc tries again */
        if (ret == 0 && asprintf(&name, "%s%s", j->id, RC_JOURNAL_SUFFIX) > 0 &&
            unlinkat(j->dirfd, name, 0) < 0 && errno != ENOENT)
                ret = rc_error_set(err, errno, "remove journal of sandbox \"%s\"", j->id);
        if (ret < 0)
                rc_error_wrap(err, "clean up sandbox \"%s\"", j->id);
        rc_journal_free(j);
        return ret;
}

/* ---- gc --------------------------------------------------------------------------------- */

static bool still_linked(int dirfd, const char *name, int fd)
{
        struct stat a, b;

        return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* 1: its owner lives (or someone else holds it); 0: an orphan, *ret set; -1: error. */
static int claim_orphan(int dirfd, const char *dir_path, const char *name, struct rc_journal **ret,
                        rc_error_t *err)
{
        struct rc_journal *j = calloc(1, sizeof(*j));
        struct rc_journal_entry *v = NULL;
        size_t n = 0, idlen = strlen(name) - strlen(RC_JOURNAL_SUFFIX);
        pid_t pid = 0;
        uint64_t start = 0;
        int r = 1;

        if (j == NULL)
                return rc_error_set(err, ENOMEM, "gc");
        j->dirfd = -1;
        j->id = strndup(name, idlen);
        j->dir_path = strdup(dir_path);
        j->fd = openat(dirfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        j->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (j->id == NULL || j->dir_path == NULL || j->dirfd < 0) {
                rc_journal_free(j);
                return rc_error_set(err, ENOMEM, "gc");
        }
        if (j->fd < 0 || lock_journal(j->fd) < 0 || !still_linked(dirfd, name, j->fd)) {
                rc_journal_free(j); /* gone, or in use */
                return 1;
        }
        if (read_entries(j, &v, &n, err) < 0) {
                rc_journal_free(j);
                return -1;
        }
        if (n > 0 && v[0].kind == RC_JOURNAL_OWNER && rc_journal_owner_parse(v[0].arg, &pid, &start) == 0 &&
            !rc_pid_matches(pid, start))
                r = 0;
        rc_journal_entries_free(v, n);
        if (r != 0) {
                rc_journal_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

static bool past(const struct timespec *deadline)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return now.tv_sec > deadline->tv_sec ||
               (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int rc_gc(const struct rc_runtime *rt, unsigned timeout_ms, size_t *ret_removed, rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1;
        _cleanup_free_ char *dir_path = NULL;
        struct timespec deadline;
        struct dirent *de;
        size_t removed = 0;
        rc_error_t e = NULL;
        int ret = 0, fd;
        DIR *d;

        if (ret_removed != NULL)
                *ret_removed = 0;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }
        ret = open_journal_dir(rc_state_root_path(rt->root), false, &dirfd, &dir_path, err);
        if (ret <= 0)
                return ret;
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd < 0 ? NULL : fdopendir(fd);
        if (d == NULL) {
                if (fd >= 0)
                        close(fd);
                return rc_error_set(err, errno, "read `%s`", dir_path);
        }
        ret = 0;
        while ((de = readdir(d)) != NULL) {
                struct rc_journal *j = NULL;
                size_t len = strlen(de->d_name), sl = strlen(RC_JOURNAL_SUFFIX);

                if (timeout_ms > 0 && past(&deadline))
                        break;
                if (de->d_name[0] == '.' || len <= sl ||
                    strcmp(de->d_name + len - sl, RC_JOURNAL_SUFFIX) != 0)
                        continue;
                int r = claim_orphan(dirfd, dir_path, de->d_name, &j, &e);
                if (r == 0 && j != NULL) {
                        rc_log(&rt->log, RC_LOG_INFO, "gc: cleaning up sandbox \"%s\"", j->id);
                        r = rc_journal_teardown(rt, j, &e);
                        if (r == 0)
                                removed++;
                }
                if (r < 0) {
                        keep_first(err, &e);
                        ret = -1;
                }
        }
        closedir(d);
        if (ret_removed != NULL)
                *ret_removed = removed;
        return ret;
}
