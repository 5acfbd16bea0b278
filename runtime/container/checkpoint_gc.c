/* What a plain checkpoint (runtime/container/checkpoint.c) that died mid-dump (SIGKILL,
 * a crash) leaves: CRIU froze the container's cgroup (it shows as paused) and locked the
 * network of its own network namespace (CRIU's `inet CRIU-<pid>` nftables table, which
 * only CRIU itself removes). checkpoint marks its dump with a file of the state directory
 * (RC_CHECKPOINT_MARKER), flock()ed by it and by the criu it starts: a marker whose lock
 * is free belongs to a dead checkpoint, and `gc`, the next checkpoint, resume (and
 * delete, which removes the whole state directory) settle it:
 *   - the container still runs (the dump had not ended, or was --leave-running): the lock
 *     table goes, and a cgroup the dump froze is thawed, unless the marker says the
 *     container was paused before the checkpoint began: the user's pause stays, and is
 *     made again if CRIU had thawed the cgroup (it does once ptrace holds the tasks);
 *   - it is stopped (the dump ended and CRIU killed the tasks): nothing but the marker;
 *     delete works as for any stopped container.
 * migrate's checkpoints make no marker: migrate's work directory settles them
 * (runtime/container/migrate_gc.c, whose unlock step this shares). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/container.h"
#include "runtime/container/internal.h"
#include "runtime/container/state.h"

#define PAUSED "paused\n"
#define RUNNING "running\n"

int rc_checkpoint_mark(int dirfd, bool paused, int *ret_fd, rc_error_t *err)
{
        const char *what = paused ? PAUSED : RUNNING;
        _cleanup_close_ int fd = openat(dirfd, RC_CHECKPOINT_MARKER,
                                        O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
                return rc_error_set(err, errno, "create the checkpoint marker `%s`", RC_CHECKPOINT_MARKER);
        /* the caller holds the state directory's lock: no settle can take this one first */
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return rc_error_set(err, errno, "lock the checkpoint marker");
        if (write(fd, what, strlen(what)) != (ssize_t)strlen(what))
                return rc_error_set(err, errno ? errno : EIO, "write the checkpoint marker");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void rc_checkpoint_unmark(int dirfd, int *fd)
{
        if (*fd < 0)
                return;
        (void)unlinkat(dirfd, RC_CHECKPOINT_MARKER, 0);
        close(*fd);
        *fd = -1;
}

/* Whether fd is still the marker of dirfd (a checkpoint that ended removed it while we
 * waited for its lock). */
static bool still_marker(int dirfd, int fd)
{
        struct stat a, b;

        return fstat(fd, &a) == 0 && fstatat(dirfd, RC_CHECKPOINT_MARKER, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rc_checkpoint_settle(const struct rc_runtime *rt, int dirfd, const char *id, bool wait, bool *ret_runs,
                         rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, RC_CHECKPOINT_MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *doc = NULL;
        struct oci_state *st = NULL;
        bool was_paused;
        size_t len = 0;
        int ret = -1;

        if (ret_runs != NULL)
                *ret_runs = false;
        if (fd < 0)
                return errno == ENOENT
                               ? 0
                               : rc_error_set(err, errno, "open the checkpoint marker of \"%s\"", id);
        while (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
                if (errno != EINTR)
                        return errno == EWOULDBLOCK
                                       ? 0
                                       : rc_error_set(err, errno, "lock the checkpoint marker of \"%s\"",
                                                      id);
        if (!still_marker(dirfd, fd))
                return 0;
        if (rc_read_file_at(dirfd, RC_CHECKPOINT_MARKER, 64, &doc, &len, err) < 0)
                return rc_error_wrap(err, "checkpoint marker of container \"%s\"", id);
        was_paused = len == strlen(PAUSED) && memcmp(doc, PAUSED, len) == 0;
        if (rc_container_state(rt, id, &st, err) < 0)
                return -1;
        if (st->status == OCI_STATUS_RUNNING || st->status == OCI_STATUS_PAUSED) {
                if (rc_criu_unlock_network(rt, rt->root, id, err) < 0)
                        goto out;
                /* CRIU thaws the cgroup once it holds the tasks (ptrace): a criu killed
                 * then leaves a container the user had paused running */
                if (st->status == OCI_STATUS_RUNNING && was_paused) {
                        rc_log(&rt->log, RC_LOG_INFO,
                               "pausing container \"%s\" again (a checkpoint that was killed thawed it)",
                               id);
                        if (rc_container_pause(rt, id, err) < 0)
                                goto out;
                }
                if (st->status == OCI_STATUS_PAUSED && !was_paused) {
                        rc_log(&rt->log, RC_LOG_INFO,
                               "thawing container \"%s\" (frozen by a checkpoint that was killed)", id);
                        if (rc_container_thaw(rt, id, err) < 0)
                                goto out;
                }
                if (ret_runs != NULL)
                        *ret_runs = was_paused ? false : true;
        }
        if (unlinkat(dirfd, RC_CHECKPOINT_MARKER, 0) < 0 && errno != ENOENT) {
                rc_error_set(err, errno, "remove the checkpoint marker of container \"%s\"", id);
                goto out;
        }
        ret = 1;
out:
        oci_state_free(st);
        return ret;
}

int rc_container_gc_checkpoints(const struct rc_runtime *rt, size_t *ret_n, rc_error_t *err)
{
        _cleanup_close_ int rootfd = open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_strv_ char **ids = NULL;
        size_t n_ids = 0, n = 0;
        int ret = 0;

        *ret_n = 0;
        if (rootfd < 0)
                return errno == ENOENT
                               ? 0
                               : rc_error_set(err, errno, "state root `%s`", rc_state_root_path(rt->root));
        if (rc_state_list_ids(rootfd, &ids, &n_ids, err) < 0)
                return -1;
        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_close_ int dirfd =
                        openat(rootfd, ids[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_error_ rc_error_t e = NULL;
                int r;

                if (dirfd < 0 || faccessat(dirfd, RC_CHECKPOINT_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                /* a command at work on the container (a live checkpoint among them) */
                if (flock(dirfd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                r = rc_checkpoint_settle(rt, dirfd, ids[i], false, NULL, &e);
                if (r > 0)
                        n++;
                if (r < 0 && ret == 0) {
                        rc_error_move(err, &e);
                        ret = -1;
                }
        }
        *ret_n = n;
        return ret;
}
