/* The config's `mounts`, in order, inside the bound rootfs (see rootfs.h).
 *
 * Each target is resolved (and created) relative to the rootfs fd, never by joining
 * strings onto a host path. Bind mounts use the new mount API: open_tree(OPEN_TREE_CLONE)
 * of the host source, then move_mount onto the target fd; the fd of the cloned tree then
 * names the new mount for the remount pass and the propagation calls. Other filesystems
 * are mounted with mount(2) onto the target fd (rc_mount_at_fd). Per mount that is
 * typically 2 to 5 system calls; nothing is stat'ed unless a decision needs it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/log.h"
#include "runtime/base/syscalls.h"
#include "runtime/rootfs/cgroup_mount.h"
#include "runtime/rootfs/internal.h"
#include "runtime/rootfs/rootfs.h"

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

/* copy-symlink: when the bind source is a symlink, the destination becomes the same
 * symlink (crun's option: /etc/localtime and the like stay links). Returns 1 when done,
 * 0 when the source is not a symlink. */
static int copy_symlink(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, const char *source,
                        rc_error_t *err)
{
        _cleanup_free_ char *parent = NULL, *old = NULL;
        char target[PATH_MAX];
        _cleanup_close_ int dir = -1;
        const char *base;
        ssize_t n;
        int r;

        n = readlink(source, target, sizeof(target) - 1);
        if (n < 0)
                return errno == EINVAL ? 0 : rc_error_set(err, errno, "copy-symlink: readlink `%s`", source);
        target[n] = '\0';
        r = rc_path_split(m->destination, &parent, &base);
        if (r < 0)
                return rc_error_set(err, -r, "copy-symlink on `%s`", m->destination);
        dir = rc_root_mkdir_p(ctx->rootfd, parent, 0755, target_rflags(m));
        if (dir < 0)
                return target_error(m, dir, err);
        if (symlinkat(target, dir, base) == 0)
                return 1;
        if (errno == EEXIST) {
                char cur[PATH_MAX];

                n = readlinkat(dir, base, cur, sizeof(cur) - 1);
                if (n >= 0 && (cur[n] = '\0', strcmp(cur, target) == 0))
                        return 1;
                errno = EEXIST;
        }
        return rc_error_set(err, errno, "copy-symlink `%s` on `%s`", source, m->destination);
}

/* dest-nofollow: the destination must exist and is used as it is, a symlink included; a
 * symlink to procfs, sysfs or devpts files is not a place to mount over (crun's rule). */
static int open_dest_nofollow(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, rc_error_t *err)
{
        _cleanup_close_ int dst = rc_root_open(ctx->rootfd, m->destination, O_PATH | O_NOFOLLOW, 0, 0);
        struct statfs sfs;

        if (dst < 0)
                return rc_error_set(err, -dst, "mount destination `%s` (dest-nofollow: it must exist)",
                                    m->destination);
        if (fstatfs(dst, &sfs) < 0)
                return rc_error_set(err, errno, "mount destination `%s`", m->destination);
        if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC || sfs.f_type == DEVPTS_SUPER_MAGIC)
                return rc_error_set(err, EPERM,
                                    "mount destination `%s`: dest-nofollow onto procfs, sysfs or "
                                    "devpts is not allowed",
                                    m->destination);
        return TAKE_FD(dst);
}

/* Bind `source` (a host path; relative ones are relative to the bundle, our cwd) onto
 * the destination. The target is created as a file when the source is not a directory.
 * Returns 1 when copy-symlink made a symlink instead. */
static int mount_bind(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, const char *source,
                      const struct rc_mount_plan *plan, int *ret_mntfd, rc_error_t *err)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
        unsigned rflags = target_rflags(m);
        _cleanup_close_ int tree = -1, dst = -1;
        struct stat st;
        int r;

        if (source == NULL)
                return rc_error_set(err, EINVAL, "mount on `%s`: bind mount without a source",
                                    m->destination);
        if ((m->extra & OCI_MOUNT_COPY_SYMLINK) && (r = copy_symlink(ctx, m, source, err)) != 0)
                return r;
        if (plan->mount_flags & MS_REC)
                flags |= AT_RECURSIVE;
        if (m->extra & OCI_MOUNT_SRC_NOFOLLOW)
                flags |= AT_SYMLINK_NOFOLLOW;
        tree = rc_open_tree(AT_FDCWD, source, flags);
        /* not reachable as root of the user namespace: the source opened before */
        if (tree < 0 && (errno == EACCES || errno == EPERM) && ctx->bind_src_fds != NULL &&
            ctx->bind_src_fds[m - ctx->cfg->mounts] >= 0)
                tree = rc_open_tree(ctx->bind_src_fds[m - ctx->cfg->mounts], "", flags | AT_EMPTY_PATH);
        if (tree < 0)
                return rc_error_set(err, errno, "mount `%s` on `%s`", source, m->destination);
        if (m->extra & OCI_MOUNT_DEST_NOFOLLOW) {
                dst = open_dest_nofollow(ctx, m, err);
                if (dst < 0)
                        return -1;
        } else {
                dst = rc_root_open(ctx->rootfd, m->destination, O_PATH, 0, rflags);
        }
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

/* A cgroup mount: on a cgroup v2 host a fresh cgroup2 (skipped when the kernel refuses
 * it); on a v1 or hybrid host the v1 layout runc and crun give (cgroup_mount.c). Returns 1
 * when skipped. */
static int mount_cgroup(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, int dst,
                        const struct rc_mount_plan *plan, rc_error_t *err)
{
        const char *data = type_is(m, "cgroup2") ? plan->data : NULL;

        if (!rc_fs_is_cgroup2("/sys/fs/cgroup"))
                return rc_cgroup_mount_v1_layout(ctx, m, dst, err);
        if (rc_mount_at_fd(m->source ? m->source : "cgroup2", dst, "cgroup2", plan->mount_flags, data,
                           ctx->cwdfd) == 0)
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

/* ---- tmpcopyup: the tmpfs starts with what the image had at its destination ---------- */

#define COPYUP_MAX_DEPTH 256

static int copy_tree(int src, int dst, unsigned depth);

static int copy_regular(int src, int dst, const char *name, const struct stat *st)
{
        _cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        _cleanup_close_ int out = -1;

        if (in < 0)
                return -errno;
        out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 0700);
        if (out < 0)
                return -errno;
        for (;;) { /* sendfile copies between any two filesystems */
                ssize_t n = sendfile(out, in, NULL, 1 << 30);

                if (n == 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return -errno;
        }
}

static int copy_dir(int src, int dst, const char *name, unsigned depth)
{
        _cleanup_close_ int from = -1, to = -1;

        if (depth >= COPYUP_MAX_DEPTH)
                return -ELOOP;
        if (mkdirat(dst, name, 0700) < 0)
                return -errno;
        from = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        to = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (from < 0 || to < 0)
                return -errno;
        return copy_tree(from, to, depth + 1);
}

static int copy_symlink_entry(int src, int dst, const char *name)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        return symlinkat(target, dst, name) < 0 ? -errno : 0;
}

/* One entry with its owner, mode (after the owner: chown clears set-id bits) and times
 * (after the content: filling a directory changes its mtime). */
static int copy_entry(int src, int dst, const char *name, unsigned depth)
{
        struct timespec times[2];
        struct stat st;
        int r;

        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                r = copy_dir(src, dst, name, depth);
                break;
        case S_IFREG:
                r = copy_regular(src, dst, name, &st);
                break;
        case S_IFLNK:
                r = copy_symlink_entry(src, dst, name);
                break;
        default: /* devices, fifos, sockets */
                r = mknodat(dst, name, st.st_mode, st.st_rdev) < 0 ? -errno : 0;
                break;
        }
        if (r < 0)
                return r;
        if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
                return -errno;
        times[0] = st.st_atim;
        times[1] = st.st_mtim;
        return utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int copy_tree(int src, int dst, unsigned depth)
{
        DIR *d = rc_opendir_dup(src);
        struct dirent *de;
        int r = 0;

        if (d == NULL)
                return -errno;
        while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = copy_entry(src, dst, de->d_name, depth);
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

/* After the tmpfs is mounted: copy `from` (the directory it now covers) into it, and give
 * its root the directory's owner and, unless the options set one, its mode. A tmpfs
 * asked read-only was mounted writable for this and is remounted read-only here. */
static int copy_up(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, int from, unsigned long flags,
                   const char *data, rc_error_t *err)
{
        _cleanup_close_ int to =
                rc_root_open(ctx->rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0, target_rflags(m));
        struct stat st;
        int r;

        if (to < 0)
                return rc_error_set(err, -to, "tmpcopyup: open the tmpfs on `%s`", m->destination);
        r = copy_tree(from, to, 0);
        if (r < 0)
                return rc_error_set(err, -r, "tmpcopyup: copy the content of `%s` into its tmpfs",
                                    m->destination);
        if (fstat(from, &st) < 0 || fchown(to, st.st_uid, st.st_gid) < 0 ||
            ((data == NULL || strstr(data, "mode=") == NULL) && fchmod(to, st.st_mode & 07777) < 0))
                return rc_error_set(err, errno, "tmpcopyup: owner and mode of the tmpfs on `%s`",
                                    m->destination);
        if (!(flags & MS_RDONLY))
                return 0;
        if (rc_mount_at_fd(NULL, to, NULL, MS_REMOUNT | flags, data, ctx->cwdfd) < 0)
                return rc_error_set(err, errno, "remount `%s` read-only", m->destination);
        return 0;
}

/* Any other filesystem: mount(2) onto the target fd. Returns 1 when skipped or done. */
static int mount_fs(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m,
                    const struct rc_mount_plan *plan, rc_error_t *err)
{
        unsigned long flags = plan->mount_flags;
        _cleanup_close_ int dst = -1, copyfrom = -1;

        if (m->type == NULL)
                return rc_error_set(err, EINVAL, "mount on `%s`: no filesystem type", m->destination);
        dst = rc_root_ensure_target(ctx->rootfd, m->destination, false, target_rflags(m));
        if (dst < 0)
                return target_error(m, dst, err);
        if (type_is(m, "cgroup") || type_is(m, "cgroup2"))
                return mount_cgroup(ctx, m, dst, plan, err);
        /* a read-only /dev is mounted rw to create the nodes; rc_rootfs_finish remounts it */
        if (rc_path_equal(m->destination, "/dev"))
                flags &= ~(unsigned long)MS_RDONLY;
        if ((m->extra & OCI_MOUNT_TMPCOPYUP) && type_is(m, "tmpfs")) {
                /* what the tmpfs will cover, read before it does */
                copyfrom = openat(dst, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (copyfrom < 0 && errno != ENOTDIR) /* a file has nothing to copy */
                        return rc_error_set(err, errno, "tmpcopyup: open `%s`", m->destination);
        }
        if (copyfrom >= 0) {
                if (rc_mount_at_fd(mount_what(m), dst, m->type, flags & ~(unsigned long)MS_RDONLY,
                                   plan->data, ctx->cwdfd) < 0)
                        return rc_error_set(err, errno, "mount `%s` on `%s`", mount_what(m), m->destination);
                return copy_up(ctx, m, copyfrom, flags, plan->data, err);
        }
        if (rc_mount_at_fd(mount_what(m), dst, m->type, flags, plan->data, ctx->cwdfd) == 0)
                return 0;
        if (errno == EPERM && ctx->in_userns && (type_is(m, "sysfs") || type_is(m, "mqueue")))
                return mount_fs_fallback(ctx, m, err);
        if (errno == EPERM && ctx->in_userns)
                return rc_error_set(err, errno,
                                    "mount `%s` on `%s` (a user namespace may not mount a \"%s\" "
                                    "filesystem: that needs root)",
                                    mount_what(m), m->destination, m->type);
        return rc_error_set(err, errno, "mount `%s` on `%s`", mount_what(m), m->destination);
}

/* The remount pass of a bind mount. In a user namespace, flags inherited from the host
 * (nosuid, nodev, ...) are locked: when the kernel says EPERM, keep them and retry. */
static int remount_bind(int mntfd, unsigned long flags, const char *dest, int cwdfd, rc_error_t *err)
{
        struct statvfs sv;
        unsigned long keep;

        if (rc_mount_at_fd(NULL, mntfd, NULL, flags, NULL, cwdfd) == 0)
                return 0;
        if (errno == EPERM && fstatvfs(mntfd, &sv) == 0) {
                keep = rc_statvfs_mount_flags(sv.f_flag);
                if (flags & ATIME_MASK)
                        keep &= ~ATIME_MASK;
                if ((flags | keep) != flags &&
                    rc_mount_at_fd(NULL, mntfd, NULL, flags | keep, NULL, cwdfd) == 0)
                        return 0;
                errno = EPERM;
        }
        return rc_error_set(err, errno, "remount `%s`", dest);
}

/* Propagation flags take one mount(2) call each; private/slave before shared so that
 * "slave,shared" yields a shared slave. */
static int set_propagation(int mntfd, unsigned long propagation, const char *dest, int cwdfd,
                           rc_error_t *err)
{
        static const unsigned long order[] = {MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE};

        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                if (!(propagation & order[i]))
                        continue;
                if (rc_mount_at_fd(NULL, mntfd, NULL, order[i] | (propagation & MS_REC), NULL, cwdfd) < 0)
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
        if (plan->remount_flags &&
            remount_bind(mntfd, plan->remount_flags, m->destination, ctx->cwdfd, err) < 0)
                return -1;
        if (plan->propagation &&
            set_propagation(mntfd, plan->propagation, m->destination, ctx->cwdfd, err) < 0)
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
        int ret = 0;

        /* without it (an unreadable cwd) every mount goes through /proc/self/fd */
        ctx->cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        for (size_t i = 0; i < cfg->n_mounts && ret == 0; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                if (ctx->join_netns != NULL && !netns_blind(m) && rc_rootfs_join_netns(ctx, i, err) < 0) {
                        ret = -1;
                } else if (mount_one(ctx, m, err) < 0) {
                        ret = rc_error_wrap(err, ".mounts[%zu]", i);
                } else {
                        rc_log(ctx->log, RC_LOG_DEBUG, "mounted `%s` on `%s`", mount_what(m),
                               m->destination);
                }
        }
        if (ctx->cwdfd >= 0)
                close(ctx->cwdfd);
        ctx->cwdfd = -1;
        return ret;
}
