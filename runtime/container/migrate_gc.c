/* The leftovers of a migrate that died (SIGKILL, a crash): its work directory
 * <to_root>/@migrate-<id>.XXXXXX (runtime/container/migrate.c), found by `gc` at the
 * destination root and by the next migrate of that id to that root. A directory whose
 * lock is held belongs to a live migrate, or to a criu that a killed migrate left and
 * that finishes its request first: it is left alone. Otherwise, exactly one copy of the
 * container must run afterwards:
 *   - the source still runs it: the migrate died before its final dump ended (CRIU
 *     leaves the tasks alive when a dump fails; a post-copy restore that began and
 *     failed leaves a dead copy at the destination, which goes); if a criu killed
 *     mid-dump left its cgroup frozen (it shows as paused: migrate never starts from a
 *     paused container), it is thawed, and a network lock (nftables table) it left in
 *     the container's own network namespace goes;
 *   - else the destination runs it (the migrate died after its restore there): what is
 *     left of the source's state goes;
 *   - else the final dump killed it: whatever a restore at the destination left there
 *     goes (only when the record says that restore began), and the final image is
 *     restored at the source, as the migrate itself does when the destination fails.
 * Then the work directory goes; it stays (with an error) only when that restore fails,
 * since it then holds the only copy of the container, and (with a warning) when the
 * migrate went to a socket and its receiver may have restored it. A directory without a
 * record (a migrate-receive's, which holds the same lock) goes once its lock is free; one
 * whose record was retired (RC_MIGRATE_DONE: its migrate or gc was killed while it removed
 * a settled directory) goes at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/container.h"
#include "runtime/container/criu.h"
#include "runtime/container/internal.h"
#include "runtime/container/state.h"
#include "runtime/net/firewall.h"
#include "specs/config.h"
#include "specs/json.h"

struct record {
        char *id, *source, *destination, *bundle;
        struct rc_criu_opts flags;
};

static void record_clear(struct record *r)
{
        free(r->id);
        free(r->source);
        free(r->destination);
        free(r->bundle);
}

static char *dup_string(const json_node *root, const char *key)
{
        const char *s = json_get_string(json_object_get(root, key));

        return s != NULL ? strdup(s) : NULL;
}

int rc_migrate_work_retire(int workfd, const char *work, rc_error_t *err)
{
        if (renameat(workfd, RC_MIGRATE_RECORD, workfd, RC_MIGRATE_DONE) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "`%s`: rename %s to %s", work, RC_MIGRATE_RECORD,
                                    RC_MIGRATE_DONE);
        return 0;
}

#define RECORD_RETIRED 2

/* 1: read; RECORD_RETIRED: the directory was settled, only not all removed; 0: there is
 * none (a migrate-receive's directory, or a migrate killed before it wrote one, which had
 * done nothing yet). */
static int read_record(int workfd, const char *work, struct record *r, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL;
        size_t len = 0;

        if (rc_read_file_at(workfd, RC_MIGRATE_RECORD, 65536, &doc, &len, &e) < 0) {
                if (e->status == ENOENT)
                        return faccessat(workfd, RC_MIGRATE_DONE, F_OK, AT_SYMLINK_NOFOLLOW) == 0
                                       ? RECORD_RETIRED
                                       : 0;
                rc_error_move(err, &e);
                return rc_error_wrap(err, "`%s`", work);
        }
        if (json_parse(doc, len, RC_MIGRATE_RECORD, &root, err) < 0)
                return rc_error_wrap(err, "`%s`", work);
        r->id = dup_string(root, "id");
        r->source = dup_string(root, "source");
        r->destination = dup_string(root, "destination");
        r->bundle = dup_string(root, "bundle");
        r->flags.tcp_established = json_get_bool(json_object_get(root, "tcpEstablished"));
        r->flags.ext_unix_sk = json_get_bool(json_object_get(root, "extUnixSk"));
        r->flags.file_locks = json_get_bool(json_object_get(root, "fileLocks"));
        json_free(root);
        if (r->id == NULL || r->source == NULL || r->destination == NULL || r->bundle == NULL ||
            rc_validate_id(r->id, NULL) < 0)
                return rc_error_set(err, 0, "`%s/%s`: no valid id, source, destination and bundle", work,
                                    RC_MIGRATE_RECORD);
        return 1;
}

/* The status of container `id` under `root`; 0 if there is none. */
static int status_at(const struct rc_runtime *rt, const char *root, const char *id, enum oci_status *ret,
                     rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_runtime at = *rt;
        struct oci_state *st = NULL;

        at.root = root;
        if (rc_container_state(&at, id, &st, &e) < 0) {
                if (e->status == ENOENT)
                        return 0;
                rc_error_move(err, &e);
                return -1;
        }
        *ret = st->status;
        oci_state_free(st);
        return 1;
}

static int delete_at(const struct rc_runtime *rt, const char *root, const char *id, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_runtime at = *rt;

        at.root = root;
        if (rc_container_delete(&at, id, true, &e) == 0 || e->status == ENOENT)
                return 0;
        rc_error_move(err, &e);
        return -1;
}

int rc_criu_unlock_network(const struct rc_runtime *rt, const char *root, const char *id, rc_error_t *err)
{
        const struct oci_namespace *ns;
        struct oci_config *cfg = NULL;
        struct oci_state *st = NULL;
        struct rc_runtime at = *rt;
        _cleanup_close_ int fd = -1;
        char path[64];
        size_t n = 0;
        int ret = -1;

        at.root = root;
        if (rc_container_state(&at, id, &st, err) < 0)
                return -1;
        if (rc_state_load_config_of(root, id, &cfg, err) < 0)
                goto out;
        ns = oci_config_namespace(cfg, OCI_NS_NETWORK);
        if (ns == NULL || ns->path != NULL || st->pid <= 0) {
                ret = 0;
                goto out;
        }
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)st->pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                rc_error_set(err, errno, "open `%s`", path);
                goto out;
        }
        if (rc_fw_remove_criu_lock(fd, &n, err) < 0) {
                rc_error_wrap(err, "unlock the network of container \"%s\"", id);
                goto out;
        }
        if (n > 0)
                rc_log(&rt->log, RC_LOG_INFO,
                       "removed the network lock of container \"%s\" (left by a killed criu)", id);
        ret = 0;
out:
        oci_config_free(cfg);
        oci_state_free(st);
        return ret;
}

/* A post-copy restore's copy at the destination that does not run, deleted: it may be
 * in the source's cgroup (one host), which the delete must leave to the source. */
static int delete_dead_copy(const struct rc_runtime *rt, const struct record *r, rc_error_t *err)
{
        enum oci_status d = OCI_STATUS_STOPPED;
        struct rc_runtime src = *rt, sh = *rt;
        struct oci_state *st = NULL;
        int there = status_at(rt, r->destination, r->id, &d, err), ret;

        if (there <= 0 || d == OCI_STATUS_RUNNING || d == OCI_STATUS_PAUSED)
                return there < 0 ? -1 : 0;
        src.root = r->source;
        if (rc_container_state(&src, r->id, &st, err) < 0)
                return -1;
        sh.shared_cgroup = st->cgroup_path;
        ret = delete_at(&sh, r->destination, r->id, err);
        oci_state_free(st);
        return ret;
}

/* Where the container runs after the dead migrate; 0 when it is settled (the work
 * directory may go), 1 when it must stay without an error (a receiver over a socket may
 * have restored it: nobody here can tell), -1 when it is not settled (it stays). */
static int settle(const struct rc_runtime *rt, const char *work, int workfd, const struct record *r,
                  rc_error_t *err)
{
        const char *dest = r->destination;
        enum oci_status s = OCI_STATUS_STOPPED;
        struct stat sb;
        int at;

        at = status_at(rt, r->source, r->id, &s, err);
        if (at < 0)
                return -1;
        if (at > 0 && s == OCI_STATUS_RUNNING) {
                /* a post-copy restore that began may have left a dead copy there */
                if (faccessat(workfd, RC_MIGRATE_RESTORING, F_OK, 0) == 0 &&
                    strncmp(dest, "unix:", 5) != 0 &&
                    faccessat(workfd, "final/" RC_CRIU_LAZY, F_OK, 0) == 0 &&
                    delete_dead_copy(rt, r, err) < 0)
                        return -1;
                return rc_criu_unlock_network(rt, r->source, r->id, err);
        }
        if (at > 0 && s == OCI_STATUS_PAUSED) {
                struct rc_runtime src = *rt;

                src.root = r->source;
                if (rc_criu_unlock_network(rt, r->source, r->id, err) < 0)
                        return -1;
                rc_log(&rt->log, RC_LOG_INFO, "gc: thawing container \"%s\" (frozen by a killed migrate)",
                       r->id);
                return rc_container_resume(&src, r->id, err);
        }
        /* the source's copy is gone: the destination's, if its restore began and ended */
        if (faccessat(workfd, RC_MIGRATE_RESTORING, F_OK, 0) == 0 && strncmp(dest, "unix:", 5) == 0) {
                rc_log(&rt->log, RC_LOG_WARNING,
                       "gc: container \"%s\" of a killed migrate may run at the receiver of `%s`; it does "
                       "not "
                       "run at its source, and its image stays in `%s`",
                       r->id, dest + 5, work);
                return 1;
        }
        if (faccessat(workfd, RC_MIGRATE_RESTORING, F_OK, 0) == 0) {
                enum oci_status d = OCI_STATUS_STOPPED;
                int there = status_at(rt, dest, r->id, &d, err);

                if (there < 0)
                        return -1;
                if (there > 0 && (d == OCI_STATUS_RUNNING || d == OCI_STATUS_PAUSED))
                        return at > 0 ? delete_at(rt, r->source, r->id, err) : 0;
                if (there > 0 && delete_at(rt, dest, r->id, err) < 0)
                        return -1;
        }
        if (at > 0 && delete_at(rt, r->source, r->id, err) < 0)
                return -1;
        if (fstatat(workfd, "final/inventory.img", &sb, 0) < 0) {
                rc_log(&rt->log, RC_LOG_WARNING,
                       "gc: container \"%s\" of a killed migrate runs nowhere and `%s` has no final image",
                       r->id, work);
                return 0;
        }
        if (faccessat(workfd, "final/" RC_CRIU_LAZY, F_OK, 0) == 0) {
                /* a post-copy dump's: the memory was served, never written here */
                rc_log(&rt->log, RC_LOG_WARNING,
                       "gc: container \"%s\" of a killed post-copy migrate runs nowhere (its final image "
                       "in `%s` has no memory)",
                       r->id, work);
                return 0;
        }
        rc_log(&rt->log, RC_LOG_INFO, "gc: restoring container \"%s\" at `%s` (its migrate was killed)",
               r->id, r->source);
        if (rc_migrate_restore(rt, r->source, r->id, work, r->bundle, &r->flags, err) < 0)
                return rc_error_wrap(
                        err, "restore container \"%s\" of a killed migrate (its image stays in `%s`)", r->id,
                        work);
        return 0;
}

/* A work directory without a record whose lock is free: a dead migrate-receive's (it
 * holds the lock for its life), or a migrate's killed before its record; either did
 * nothing that outlives it. Both take the lock right after mkdtemp(): one younger than
 * RECENT_S may be between the two, and is left for a later gc. */
#define RECENT_S 10

static bool unrecorded_settled(int workfd)
{
        struct timespec now;
        struct stat st;

        return fstat(workfd, &st) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0 &&
               now.tv_sec - st.st_mtim.tv_sec >= RECENT_S;
}

/* One work directory; 1 if it was a dead migrate's (now settled), 0 if in use (wait: once
 * its user is done, which settles it). */
static int recover(const struct rc_runtime *rt, int rootfd, const char *name, bool wait, rc_error_t *err)
{
        _cleanup_close_ int workfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char work[4096];
        struct record r = {0};
        int ret;

        if (workfd < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "open `%s`", name);
        while (flock(workfd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
                if (errno != EINTR)
                        return errno == EWOULDBLOCK ? 0 : rc_error_set(err, errno, "lock `%s`", name);
        snprintf(work, sizeof(work), "%s/%s", rc_state_root_path(rt->root), name);
        ret = read_record(workfd, work, &r, err);
        if (ret == RECORD_RETIRED)
                ret = 0;
        else if (ret > 0)
                ret = settle(rt, work, workfd, &r, err);
        else if (ret == 0)
                ret = unrecorded_settled(workfd) ? 0 : 1;
        record_clear(&r);
        if (ret != 0)
                return ret < 0 ? -1 : 0;
        /* settled: the record goes first, in case this process dies in the removal */
        if (rc_migrate_work_retire(workfd, work, err) < 0 || rc_remove_tree_at(rootfd, name, err) < 0)
                return -1;
        return 1;
}

int rc_container_gc_migrations(const struct rc_runtime *rt, const char *id, size_t *ret_n, rc_error_t *err)
{
        _cleanup_close_ int rootfd = open(rc_state_root_path(rt->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_error_ rc_error_t e = NULL;
        char prefix[128];
        struct dirent *d;
        size_t n = 0;
        DIR *dir;
        int ret = 0;

        if (ret_n != NULL)
                *ret_n = 0;
        if (rootfd < 0)
                return errno == ENOENT
                               ? 0
                               : rc_error_set(err, errno, "state root `%s`", rc_state_root_path(rt->root));
        snprintf(prefix, sizeof(prefix), RC_MIGRATE_WORK_PREFIX "%s%s", id != NULL ? id : "",
                 id != NULL ? "." : "");
        dir = fdopendir(fcntl(rootfd, F_DUPFD_CLOEXEC, 0));
        if (dir == NULL)
                return rc_error_set(err, errno, "read state root `%s`", rc_state_root_path(rt->root));
        while ((d = readdir(dir)) != NULL) {
                int r;

                if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                r = recover(rt, rootfd, d->d_name, id != NULL, &e);
                if (r > 0)
                        n++;
                if (r < 0 && ret == 0) {
                        rc_error_move(err, &e);
                        ret = -1;
                }
                rc_error_free(&e);
        }
        closedir(dir);
        if (ret_n != NULL)
                *ret_n = n;
        return ret;
}
