/* The config's `mounts`, in order, inside the bound rootfs (see rootfs.h).
 *
 * Each target is resolved (and created) relative to the rootfs fd, never by joining
 * strings onto a host path. Bind mounts use the new mount API: open_tree(OPEN_TREE_CLONE)
 * of the host source, then move_mount onto the target fd; the fd of the cloned tree then
 * names the new mount for the remount pass and the propagation calls. Other filesystems
 * are mounted with mount(2) onto "/proc/self/fd/N" of the target fd. Per mount that is
 * typically 2 to 5 system calls; nothing is stat'ed unless a decision needs it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "runtime/cleanup.h"
#include "runtime/log.h"
#include "runtime/mounts_internal.h"
#include "runtime/rootfs.h"
#include "runtime/syscalls.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000 /* the kernel's value; glibc 2.36 lacks it */
#endif

#define PROPAGATION_MASK (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
/* per-mount flags that MS_REMOUNT|MS_BIND can change on a bind mount */
#define ATIME_MASK (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define BIND_REMOUNT_MASK (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | ATIME_MASK)

static bool mount_is_bind(const struct oci_mount *m)
{
        return m->is_bind || (m->flags & MS_BIND);
}

void rc_mount_plan_make(const struct oci_mount *m, struct rc_mount_plan *ret)
{
        unsigned long flags = m->flags & ~PROPAGATION_MASK;

        *ret = (struct rc_mount_plan){.propagation = m->propagation};
        if (mount_is_bind(m)) {
                /* mount(2) ignores every other flag with MS_BIND: they need a remount */
                ret->mount_flags = MS_BIND | (flags & MS_REC);
                if (flags & BIND_REMOUNT_MASK)
                        ret->remount_flags = MS_REMOUNT | MS_BIND | (flags & BIND_REMOUNT_MASK);
                ret->data = NULL;
        } else {
                ret->mount_flags = flags & ~(MS_BIND | MS_REC);
                ret->data = m->data;
        }
}

unsigned long rc_statvfs_mount_flags(unsigned long f_flag)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {
                {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},           {ST_NODEV, MS_NODEV},
                {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},         {ST_NODIRATIME, MS_NODIRATIME},
                {ST_RELATIME, MS_RELATIME}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
        };
        unsigned long ms = 0;

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (f_flag & map[i].st)
                        ms |= map[i].ms;
        return ms;
}

const struct oci_mount *rc_mounts_find(const struct oci_config *cfg, const char *destination)
{
        const struct oci_mount *found = NULL;

        /* the last one wins: it is the one on top */
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (cfg->mounts[i].destination && rc_path_equal(cfg->mounts[i].destination, destination))
                        found = &cfg->mounts[i];
        return found;
}

int *rc_rootfs_open_bind_sources(const struct oci_config *cfg)
{
        int *fds = calloc(cfg->n_mounts ? cfg->n_mounts : 1, sizeof(*fds));

        if (fds == NULL)
                return NULL;
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];

                /* as open_tree(AT_FDCWD, source) would resolve it (relative: the bundle) */
                fds[i] = mount_is_bind(m) && m->source != NULL ? open(m->source, O_PATH | O_CLOEXEC) : -1;
        }
        return fds;
}

void rc_rootfs_close_bind_sources(int *fds, size_t n)
{
        for (size_t i = 0; fds != NULL && i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
}

bool rc_mounts_dev_from_host(const struct oci_config *cfg)
{
        const struct oci_mount *m = rc_mounts_find(cfg, "/dev");

        return m != NULL && mount_is_bind(m);
}

bool rc_mounts_dev_needs_ro(const struct oci_config *cfg)
{
        const struct oci_mount *m = rc_mounts_find(cfg, "/dev");

        return m != NULL && !mount_is_bind(m) && (m->flags & MS_RDONLY);
}

static bool type_is(const struct oci_mount *m, const char *type)
{
        return m->type != NULL && strcmp(m->type, type) == 0;
}

/* Targets where a symlink planted in the image could redirect a sensitive mount (procfs,
 * sysfs, anything under /dev) are resolved without following any symlink. */
static unsigned target_rflags(const struct oci_mount *m)
{
        if (rc_path_under(m->destination, "/dev") || type_is(m, "proc") || type_is(m, "sysfs"))
                return RC_ROOT_NO_SYMLINKS;
        return 0;
}

/* "mount destination `/x`: <reason>", saying so when a symlink was refused. */
static int target_error(const struct oci_mount *m, int r, rc_error_t *err)
{
        if (r == -ELOOP && target_rflags(m))
                return rc_error_set(err, ELOOP, "mount destination `%s` (symlinks not followed)",
                                    m->destination);
        return rc_error_set(err, -r, "mount destination `%s`", m->destination);
}

static const char *mount_what(const struct oci_mount *m)
{
        if (m->source != NULL)
                return m->source;
        return m->type != NULL ? m->type : "none";
}

int rc_bind_onto(int dirfd, const char *path, bool recursive, int dstfd, int *ret_mntfd)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
        _cleanup_close_ int tree = -1;

        if (path[0] == '\0')
                flags |= AT_EMPTY_PATH;
        tree = rc_open_tree(dirfd, path, flags);
        if (tree < 0)
                return -errno;
        if (rc_move_mount(tree, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        if (ret_mntfd != NULL)
                *ret_mntfd = TAKE_FD(tree);
        return 0;
}

/* Bind `source` (a host path; relative ones are relative to the bundle, our cwd) onto
 * the destination. The target is created as a file when the source is not a directory. */
static int mount_bind(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, const char *source,
                      const struct rc_mount_plan *plan, int *ret_mntfd, rc_error_t *err)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
        unsigned rflags = target_rflags(m);
        _cleanup_close_ int tree = -1, dst = -1;
        struct stat st;

        if (source == NULL)
                return rc_error_set(err, EINVAL, "mount on `%s`: bind mount without a source",
                                    m->destination);
        if (plan->mount_flags & MS_REC)
                flags |= AT_RECURSIVE;
        tree = rc_open_tree(AT_FDCWD, source, flags);
        /* not reachable as root of the user namespace: the source opened before */
        if (tree < 0 && (errno == EACCES || errno == EPERM) && ctx->bind_src_fds != NULL &&
            ctx->bind_src_fds[m - ctx->cfg->mounts] >= 0)
                tree = rc_open_tree(ctx->bind_src_fds[m - ctx->cfg->mounts], "", flags | AT_EMPTY_PATH);
        if (tree < 0)
                return rc_error_set(err, errno, "mount `%s` on `%s`", source, m->destination);
        dst = rc_root_open(ctx->rootfd, m->destination, O_PATH, 0, rflags);
        if (dst == -ENOENT) {
                if (fstat(tree, &st) < 0)
                        return rc_error_set(err, errno, "stat `%s`", source);
                dst = rc_root_ensure_target(ctx->rootfd, m->destination, !S_ISDIR(st.st_mode), rflags);
        }
        if (dst < 0)
                return target_error(m, dst, err);
        if (rc_move_mount(tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "mount `%s` on `%s`", source, m->destination);
        *ret_mntfd = TAKE_FD(tree); /* now names the attached mount */
        return 0;
}

static int mount_finish(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m,
                        const struct rc_mount_plan *plan, int mntfd, rc_error_t *err);

/* sysfs and mqueue cannot be mounted in a user namespace that does not own the network
 * or IPC namespace: bind the host's instead, as runc does. Returns 1 when done. */
static int mount_fs_fallback(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, rc_error_t *err)
{
        struct oci_mount copy = *m;
        _cleanup_close_ int mntfd = -1;
        struct rc_mount_plan plan;

        copy.source = type_is(m, "sysfs") ? "/sys" : "/dev/mqueue";
        copy.is_bind = true;
        copy.flags |= MS_BIND | MS_REC;
        /* the host's submounts (its cgroup hierarchies under /sys) come along: apply the
         * restrictions to all of them, not just the top */
        copy.attr_set |= ((m->flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) |
                         ((m->flags & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
                         ((m->flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) |
                         ((m->flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
        rc_log(ctx->log, RC_LOG_DEBUG, "mount `%s` on `%s`: not permitted here, binding `%s` instead",
               m->type, m->destination, copy.source);
        rc_mount_plan_make(&copy, &plan);
        if (mount_bind(ctx, &copy, copy.source, &plan, &mntfd, err) < 0)
                return -1;
        return mount_finish(ctx, &copy, &plan, mntfd, err) < 0 ? -1 : 1;
}

/* A cgroup mount is always a fresh cgroup2 (never the host's v1 hierarchies); when the
 * kernel refuses it (no cgroup namespace, hybrid host) it is skipped. Returns 1 when
 * skipped. */
static int mount_cgroup(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, const char *target,
                        const struct rc_mount_plan *plan, rc_error_t *err)
{
        const char *data = type_is(m, "cgroup2") ? plan->data : NULL;

        if (mount(m->source ? m->source : "cgroup2", target, "cgroup2", plan->mount_flags, data) == 0)
                return 0;
        switch (errno) {
        case EPERM:
        case EBUSY:
        case EACCES:
        case EINVAL:
        case ENODEV:
                rc_log(ctx->log, RC_LOG_DEBUG, "mount `cgroup2` on `%s`: %s: skipped", m->destination,
                       strerror(errno));
                return 1;
        default:
                return rc_error_set(err, errno, "mount `cgroup2` on `%s`", m->destination);
        }
}

/* Any other filesystem: mount(2) onto the target fd. Returns 1 when skipped or done. */
static int mount_fs(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m,
                    const struct rc_mount_plan *plan, rc_error_t *err)
{
        unsigned long flags = plan->mount_flags;
        _cleanup_close_ int dst = -1;
        char target[RC_FD_PATH_MAX];

        if (m->type == NULL)
                return rc_error_set(err, EINVAL, "mount on `%s`: no filesystem type", m->destination);
        dst = rc_root_ensure_target(ctx->rootfd, m->destination, false, target_rflags(m));
        if (dst < 0)
                return target_error(m, dst, err);
        rc_fd_path(dst, target);
        if (type_is(m, "cgroup") || type_is(m, "cgroup2"))
                return mount_cgroup(ctx, m, target, plan, err);
        /* a read-only /dev is mounted rw to create the nodes; rc_rootfs_finish remounts it */
        if (rc_path_equal(m->destination, "/dev"))
                flags &= ~(unsigned long)MS_RDONLY;
        if (mount(mount_what(m), target, m->type, flags, plan->data) == 0)
                return 0;
        if (errno == EPERM && ctx->in_userns && (type_is(m, "sysfs") || type_is(m, "mqueue")))
                return mount_fs_fallback(ctx, m, err);
        return rc_error_set(err, errno, "mount `%s` on `%s`", mount_what(m), m->destination);
}

/* The remount pass of a bind mount. In a user namespace, flags inherited from the host
 * (nosuid, nodev, ...) are locked: when the kernel says EPERM, keep them and retry. */
static int remount_bind(int mntfd, unsigned long flags, const char *dest, rc_error_t *err)
{
        char path[RC_FD_PATH_MAX];
        struct statvfs sv;
        unsigned long keep;

        rc_fd_path(mntfd, path);
        if (mount(NULL, path, NULL, flags, NULL) == 0)
                return 0;
        if (errno == EPERM && fstatvfs(mntfd, &sv) == 0) {
                keep = rc_statvfs_mount_flags(sv.f_flag);
                if (flags & ATIME_MASK)
                        keep &= ~ATIME_MASK;
                if ((flags | keep) != flags && mount(NULL, path, NULL, flags | keep, NULL) == 0)
                        return 0;
                errno = EPERM;
        }
        return rc_error_set(err, errno, "remount `%s`", dest);
}

/* Propagation flags take one mount(2) call each; private/slave before shared so that
 * "slave,shared" yields a shared slave. */
static int set_propagation(int mntfd, unsigned long propagation, const char *dest, rc_error_t *err)
{
        static const unsigned long order[] = {MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE};
        char path[RC_FD_PATH_MAX];

        rc_fd_path(mntfd, path);
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                if (!(propagation & order[i]))
                        continue;
                if (mount(NULL, path, NULL, order[i] | (propagation & MS_REC), NULL) < 0)
                        return rc_error_set(err, errno, "set propagation of `%s`", dest);
        }
        return 0;
}

static int set_recursive_attrs(int mntfd, const struct oci_mount *m, rc_error_t *err)
{
        struct mount_attr attr = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};

        /* an atime mode replaces the whole atime field */
        if (attr.attr_set & MOUNT_ATTR__ATIME)
                attr.attr_clr |= MOUNT_ATTR__ATIME;
        if (rc_mount_setattr(mntfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return rc_error_set(err, errno, "set recursive mount attributes of `%s`", m->destination);
        return 0;
}

/* Everything after the first mount: the bind remount, propagation, recursive attrs. */
static int mount_finish(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m,
                        const struct rc_mount_plan *plan, int mntfd, rc_error_t *err)
{
        _cleanup_close_ int reopened = -1;

        if (plan->remount_flags == 0 && plan->propagation == 0 && m->attr_set == 0 && m->attr_clr == 0)
                return 0;
        if (mntfd < 0) {
                /* a filesystem mounted through the target fd: open the new mount's root */
                reopened =
                        rc_root_open(ctx->rootfd, m->destination, O_PATH | O_DIRECTORY, 0, target_rflags(m));
                if (reopened < 0)
                        return rc_error_set(err, -reopened, "open mount `%s`", m->destination);
                mntfd = reopened;
        }
        if (plan->remount_flags && remount_bind(mntfd, plan->remount_flags, m->destination, err) < 0)
                return -1;
        if (plan->propagation && set_propagation(mntfd, plan->propagation, m->destination, err) < 0)
                return -1;
        if ((m->attr_set || m->attr_clr) && set_recursive_attrs(mntfd, m, err) < 0)
                return -1;
        return 0;
}

static int mount_one(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, rc_error_t *err)
{
        _cleanup_close_ int mntfd = -1;
        struct rc_mount_plan plan;
        int r;

        if (m->destination == NULL || m->destination[0] != '/')
                return rc_error_set(err, EINVAL, "mount destination `%s`: not an absolute path",
                                    m->destination ? m->destination : "");
        rc_mount_plan_make(m, &plan);
        if (mount_is_bind(m))
                r = mount_bind(ctx, m, m->source, &plan, &mntfd, err);
        else
                r = mount_fs(ctx, m, &plan, err);
        if (r != 0)
                return r < 0 ? r : 0; /* 1: skipped */
        return mount_finish(ctx, m, &plan, mntfd, err);
}

/* Filesystems whose mount does not depend on the mounter's network namespace. */
static bool netns_blind(const struct oci_mount *m)
{
        static const char *const types[] = {"proc", "tmpfs", "devpts", "mqueue"};

        if (m->type == NULL || mount_is_bind(m))
                return false;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                if (strcmp(m->type, types[i]) == 0)
                        return true;
        return false;
}

int rc_mounts_setup(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        const struct oci_config *cfg = ctx->cfg;

        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                if (ctx->join_netns != NULL && !netns_blind(m) && rc_rootfs_join_netns(ctx, i, err) < 0)
                        return -1;
                if (mount_one(ctx, m, err) < 0)
                        return -1;
                rc_log(ctx->log, RC_LOG_DEBUG, "mounted `%s` on `%s`", mount_what(m), m->destination);
        }
        return 0;
}
