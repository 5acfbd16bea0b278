/* The container's tmpfs mounts (/dev, /dev/shm, an engine's /run or /tmp) outside CRIU's
 * image. CRIU 3.17 archives each tmpfs it dumps by an exec of `tar` while the container is
 * frozen, and extracts it with another at restore: in the tests/vm guest /dev took 0.27 s
 * and /dev/shm 0.35 s of a 0.9 s final dump, and their extraction 0.28 s of the restore
 * (tests/bench/README.md, issue 19). Here they are external mounts to CRIU instead, and
 * the runtime carries their content itself (tmpfs_archive.h), in its own process:
 * - before the dump: a detached copy of each such mount, without its children (open_tree
 *   in the container's mount namespace), so that its tree can be read as it is, mount
 *   points included;
 * - at "post-dump" (CRIU's notify: everything is dumped, the tasks are still frozen and
 *   are killed or resumed only after the reply): each tree into the image as
 *   run-container-tmpfs-N.img, and the list as RC_CRIU_TMPFS;
 * - at restore, in the restore's private mount namespace: a new tmpfs with the config's
 *   options for each, filled from its archive, is the external mount's source.
 * A lazy dump (post-copy) too: CRIU 3.17 sends its post-dump before it starts the page
 * server and tells status-ready, the tasks frozen until the last page is over, so the
 * archives are in the image before any restore can read it (and a failed archive
 * refuses status-ready: checkpoint.c). Not for a runtime that is not root (it cannot
 * enter the container's mount namespace): CRIU archives those as before. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/container/criu.h"
#include "runtime/container/tmpfs_archive.h"
#include "runtime/rootfs/rootfs.h"
#include "specs/config.h"
#include "specs/json.h"

#define KEY_PREFIX "run-container-tmpfs:"

bool rc_criu_tmpfs_root(int procroot, const char *path, bool *ret_rdonly)
{
        _cleanup_close_ int fd =
                rc_root_open(procroot, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0);
        struct statfs sfs;
        struct statx stx;

        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
                return false;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                return false;
        if (ret_rdonly != NULL)
                *ret_rdonly = sfs.f_flags & ST_RDONLY;
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static bool is_masked(const struct oci_config *cfg, const char *dest)
{
        for (size_t i = 0; i < cfg->linux_.n_masked_paths; i++)
                if (rc_path_equal(cfg->linux_.masked_paths[i], dest))
                        return true;
        return false;
}

/* The config's own tmpfs mount on dest (not a bind), or NULL. */
static const struct oci_mount *config_tmpfs(const struct oci_config *cfg, const char *dest)
{
        const struct oci_mount *found = NULL;

        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];

                if (m->type != NULL && strcmp(m->type, "tmpfs") == 0 && !m->is_bind &&
                    !(m->flags & MS_BIND) && rc_path_equal(m->destination, dest))
                        found = m; /* the last one is on top */
        }
        return found;
}

void rc_criu_tmpfs_clear(struct rc_criu_tmpfs *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free(t->dest[i]);
                if (t->fd[i] >= 0)
                        close(t->fd[i]);
        }
        free(t->dest);
        free(t->fd);
        *t = (struct rc_criu_tmpfs){0};
}

/* Detached copies (open_tree, no children) of the mounts whose path fds are in fds, made
 * from inside the container's mount namespace (open_tree clones only a mount of the
 * caller's), then back. The copies replace the path fds; one that fails stays -1. */
static int clone_in_container(pid_t pid, int *fds, size_t n, rc_error_t *err)
{
        _cleanup_close_ int self = -1, root = -1, cwd = -1, target = -1;
        char path[64];

        self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
        target = open(path, O_RDONLY | O_CLOEXEC);
        if (self < 0 || root < 0 || cwd < 0 || target < 0)
                return rc_error_set(err, errno, "tmpfs mounts: open the mount namespaces");
        if (setns(target, CLONE_NEWNS) < 0)
                return 0; /* CRIU archives them, as before */
        for (size_t i = 0; i < n; i++) {
                int copy = rc_open_tree(fds[i], "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

                close(fds[i]);
                fds[i] = copy;
        }
        /* back, with the root and working directory of before (setns moved both to the
         * namespace's root); a failure to return is not one to go on from: the runtime
         * would work in the container's mounts */
        if (setns(self, CLONE_NEWNS) < 0 || fchdir(root) < 0 || chroot(".") < 0 || fchdir(cwd) < 0)
                abort();
        return 0;
}

int rc_criu_tmpfs_dump_prepare(criu_opts *o, const struct oci_config *cfg, pid_t pid, int imgfd,
                               struct rc_criu_tmpfs *ret, rc_error_t *err)
{
        _cleanup_close_ int procroot = -1;
        struct rc_criu_tmpfs t = {0};
        char path[64], key[PATH_MAX + sizeof(KEY_PREFIX)];
        size_t kept = 0;

        /* an archive list of an earlier dump into this directory is not this one's */
        if (unlinkat(imgfd, RC_CRIU_TMPFS, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove the old `%s`", RC_CRIU_TMPFS);
        if (geteuid() != 0)
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/root", pid);
        procroot = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (procroot < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        t.dest = calloc(cfg->n_mounts + 1, sizeof(*t.dest));
        t.fd = calloc(cfg->n_mounts + 1, sizeof(*t.fd));
        if (t.dest == NULL || t.fd == NULL) {
                rc_criu_tmpfs_clear(&t);
                return rc_error_set(err, ENOMEM, "tmpfs mounts");
        }
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const char *dest = cfg->mounts[i].destination;
                int fd;

                /* the last tmpfs of the config on dest, still a tmpfs mount there */
                if (config_tmpfs(cfg, dest) != &cfg->mounts[i] || is_masked(cfg, dest) ||
                    !rc_criu_tmpfs_root(procroot, dest, NULL))
                        continue;
                fd = rc_root_open(procroot, dest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0);
                if (fd < 0)
                        continue; /* gone since: CRIU finds what is there */
                t.fd[t.n] = fd;
                t.dest[t.n] = strdup(dest);
                t.n++;
                if (t.dest[t.n - 1] == NULL) {
                        rc_criu_tmpfs_clear(&t);
                        return rc_error_set(err, ENOMEM, "tmpfs mounts");
                }
        }
        if (t.n > 0 && clone_in_container(pid, t.fd, t.n, err) < 0) {
                rc_criu_tmpfs_clear(&t);
                return -1;
        }
        /* those that could be copied are external; CRIU archives the others itself */
        for (size_t i = 0; i < t.n; i++) {
                if (t.fd[i] < 0) {
                        free(t.dest[i]);
                        continue;
                }
                t.dest[kept] = t.dest[i];
                t.fd[kept++] = t.fd[i];
                snprintf(key, sizeof(key), KEY_PREFIX "%s", t.dest[kept - 1]);
                if (criu_local_add_ext_mount(o, t.dest[kept - 1], key) < 0) {
                        t.n = kept;
                        rc_criu_tmpfs_clear(&t);
                        return rc_error_set(err, ENOMEM, "criu options: external mount `%s`",
                                            t.dest[kept - 1]);
                }
        }
        t.n = kept;
        *ret = t;
        return 0;
}

static void archive_name(size_t i, char buf[64])
{
        snprintf(buf, 64, "run-container-tmpfs-%zu.img", i);
}

int rc_criu_tmpfs_dump_write(const struct rc_criu_tmpfs *t, int imgfd, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "%s", RC_CRIU_TMPFS);
        json_gen_object_open(g);
        json_gen_string(g, "mounts");
        json_gen_array_open(g);
        for (size_t i = 0; i < t->n; i++) {
                _cleanup_close_ int root = openat(t->fd[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int out = -1;
                char name[64];

                archive_name(i, name);
                if (root < 0)
                        return rc_error_set(err, errno, "archive the tmpfs on `%s`", t->dest[i]);
                out = openat(imgfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return rc_error_set(err, errno, "archive the tmpfs on `%s`: create `%s`", t->dest[i],
                                            name);
                if (rc_tmpfs_archive_write(root, out, err) < 0)
                        return rc_error_wrap(err, "archive the tmpfs on `%s` into `%s`", t->dest[i], name);
                json_gen_object_open(g);
                json_gen_kv_string(g, "destination", t->dest[i]);
                json_gen_kv_string(g, "archive", name);
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(imgfd, RC_CRIU_TMPFS, doc, len, 0600, err);
}

/* ---- restore ------------------------------------------------------------------------ */

/* A new tmpfs on dir with m's options, filled from the archive `name` of the image. */
static int fill_tmpfs(const struct oci_mount *m, int imgfd, const char *name, const char *dir,
                      rc_error_t *err)
{
        _cleanup_close_ int in = -1, root = -1;
        struct rc_mount_plan plan;

        rc_mount_plan_make(m, &plan);
        if (mkdir(dir, 0700) < 0)
                return rc_error_set(err, errno, "create `%s`", dir);
        if (mount("tmpfs", dir, "tmpfs", plan.mount_flags & ~(unsigned long)MS_RDONLY, plan.data) < 0)
                return rc_error_set(err, errno, "mount a tmpfs (options of `%s`) on `%s`", m->destination,
                                    dir);
        in = openat(imgfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return rc_error_set(err, errno, "`%s`", name);
        root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root < 0)
                return rc_error_set(err, errno, "open `%s`", dir);
        if (rc_tmpfs_archive_read(in, name, root, err) < 0)
                return rc_error_wrap(err, "the tmpfs on `%s`", m->destination);
        if ((plan.mount_flags & MS_RDONLY) &&
            mount(NULL, dir, NULL, MS_REMOUNT | plan.mount_flags, plan.data) < 0)
                return rc_error_set(err, errno, "remount `%s` read-only", dir);
        return 0;
}

int rc_criu_tmpfs_restore_prepare(criu_opts *o, const struct oci_config *cfg, int imgfd,
                                  const char *image_path, const char *work_path, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL, *mounts;
        char dir[PATH_MAX], key[PATH_MAX + sizeof(KEY_PREFIX)];
        size_t len = 0;
        int ret = 0;

        if (faccessat(imgfd, RC_CRIU_TMPFS, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                return 0; /* CRIU archived them itself */
        if (rc_read_file_at(imgfd, RC_CRIU_TMPFS, 1 << 20, &doc, &len, err) < 0 ||
            json_parse(doc, len, RC_CRIU_TMPFS, &root, err) < 0)
                return rc_error_wrap(err, "image `%s`", image_path);
        mounts = json_object_get(root, "mounts");
        if (json_type_of(root) != JSON_OBJECT || mounts == NULL || json_type_of(mounts) != JSON_ARRAY)
                ret = rc_error_set(err, 0, "image `%s`: %s: no \"mounts\" array", image_path, RC_CRIU_TMPFS);
        if (ret == 0 &&
            (size_t)snprintf(dir, sizeof(dir), "%s/%s", work_path, RC_CRIU_TMPFS_DIR) >= sizeof(dir))
                ret = rc_error_set(err, ENAMETOOLONG, "restore: `%s/%s`", work_path, RC_CRIU_TMPFS_DIR);
        /* what a killed restore left (its mounts were in its own namespace: empty here) */
        if (ret == 0)
                rc_criu_tmpfs_restore_cleanup(work_path);
        if (ret == 0 && mkdir(dir, 0700) < 0)
                ret = rc_error_set(err, errno, "restore: create `%s`", dir);
        for (size_t i = 0; ret == 0 && i < json_array_size(mounts); i++) {
                json_node *e = json_array_get(mounts, i);
                const char *dest = json_get_string(json_object_get(e, "destination"));
                const char *name = json_get_string(json_object_get(e, "archive"));
                const struct oci_mount *m = dest != NULL ? config_tmpfs(cfg, dest) : NULL;

                if (dest == NULL || name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
                    strcmp(name, "..") == 0)
                        ret = rc_error_set(err, 0,
                                           "image `%s`: %s: .mounts[%zu]: no destination or archive name",
                                           image_path, RC_CRIU_TMPFS, i);
                else if (m == NULL)
                        ret = rc_error_set(
                                err, 0,
                                "image `%s`: the tmpfs on `%s` it has is not a tmpfs mount of the "
                                "config",
                                image_path, dest);
                else if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/%zu", work_path, RC_CRIU_TMPFS_DIR, i) >=
                         sizeof(dir))
                        ret = rc_error_set(err, ENAMETOOLONG, "restore: `%s`", dir);
                else if (fill_tmpfs(m, imgfd, name, dir, err) < 0)
                        ret = rc_error_wrap(err, "image `%s`", image_path);
                else if (snprintf(key, sizeof(key), KEY_PREFIX "%s", dest) < 0 ||
                         criu_local_add_ext_mount(o, key, dir) < 0)
                        ret = rc_error_set(err, ENOMEM, "criu options: external mount `%s`", dest);
        }
        json_free(root);
        return ret;
}

void rc_criu_tmpfs_restore_cleanup(const char *work_path)
{
        char dir[PATH_MAX];
        _cleanup_close_ int fd = -1;

        if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", work_path, RC_CRIU_TMPFS_DIR) >= sizeof(dir))
                return;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        /* the tmpfs were mounted in the private mount namespace only, which is gone: the
         * directories are empty here */
        for (unsigned i = 0; i < 4096; i++) {
                char name[16];

                snprintf(name, sizeof(name), "%u", i);
                if (unlinkat(fd, name, AT_REMOVEDIR) < 0 && errno == ENOENT)
                        break;
        }
        (void)rmdir(dir);
}
