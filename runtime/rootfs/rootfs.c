/* The container's root filesystem: the two steps around the createContainer hooks (see
 * rootfs.h for the order), plus maskedPaths, readonlyPaths and the console bind.
 *
 * Everything here runs in the init's private mount namespace. The first step makes "/"
 * rslave (or linux.rootfsPropagation) so nothing mounted here reaches the host; the old
 * root is made rslave again right before it is detached, so even with an "rshared"
 * rootfsPropagation the lazy unmount cannot propagate to the host. Without a mount
 * namespace (host_mountns) nothing is mounted at all: a chroot. */
#include "runtime/rootfs/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/log.h"
#include "runtime/base/syscalls.h"
#include "runtime/rootfs/internal.h"

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
#define PTY_SLAVE_MAJOR_FIRST 136 /* UNIX98_PTY_SLAVE_MAJOR .. +7 */
#define PTY_SLAVE_MAJOR_LAST 143

static unsigned long rootfs_propagation(const struct rc_rootfs_ctx *ctx)
{
        return ctx->cfg->has_linux ? ctx->cfg->linux_.rootfs_propagation : 0;
}

/* Step 1: "/" rslave by default. An unbindable "/" could not be bound below, so it is
 * made rprivate now and unbindable at the end. */
static unsigned long isolation_propagation(const struct rc_rootfs_ctx *ctx)
{
        unsigned long prop = rootfs_propagation(ctx);

        if (prop == 0)
                prop = MS_REC | MS_SLAVE;
        if (prop & MS_UNBINDABLE)
                prop = (prop & MS_REC) | MS_PRIVATE;
        return prop;
}

static int isolate_root(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        if (mount(NULL, "/", NULL, isolation_propagation(ctx), NULL) < 0)
                return rc_error_set(err, errno, "set propagation of `/`");
        return 0;
}

/* The mount that holds the rootfs directory (the rootfs itself if it is a mount point),
 * found by walking up with statx(STATX_ATTR_MOUNT_ROOT) instead of reading mountinfo,
 * is made private, so that binding the rootfs there does not propagate. */
static int open_rootfs_dir(const struct rc_rootfs_ctx *ctx)
{
        if (ctx->rootfs_dirfd >= 0)
                return fcntl(ctx->rootfs_dirfd, F_DUPFD_CLOEXEC, 3);
        return open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int make_rootfs_parent_private(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_close_ int fd = open_rootfs_dir(ctx);
        char path[RC_FD_PATH_MAX];
        struct statx stx;

        if (fd < 0)
                return rc_error_set(err, errno, "open rootfs `%s`", ctx->rootfs);
        for (int depth = 0; depth < 4096; depth++) {
                if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                        return rc_error_set(err, errno, "statx rootfs `%s`", ctx->rootfs);
                if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                        return rc_error_set(err, ENOSYS, "find the mount of rootfs `%s`", ctx->rootfs);
                if (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
                        rc_fd_path(fd, path);
                        if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0)
                                return rc_error_set(err, errno, "make the mount of rootfs `%s` private",
                                                    ctx->rootfs);
                        return 0;
                }
                int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (up < 0)
                        return rc_error_set(err, errno, "find the mount of rootfs `%s`", ctx->rootfs);
                close(fd);
                fd = up;
        }
        return rc_error_set(err, ELOOP, "find the mount of rootfs `%s`", ctx->rootfs);
}

/* Step 2: bind the rootfs onto itself, so it is a mount pivot_root can use. pivot_root
 * needs neither the new root, its parent mount nor "/" to be shared: with an rshared
 * rootfsPropagation both are made private (not recursively) first, which also keeps the
 * bind itself from propagating. */
static int bind_rootfs(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1, tree = -1;

        if (rootfs_propagation(ctx) & MS_SHARED) {
                if (mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
                        return rc_error_set(err, errno, "make `/` private");
                if (make_rootfs_parent_private(ctx, err) < 0)
                        return -1;
        }
        /* A recursive clone attached on top of the directory itself: no path walk, and
         * the clone's fd is the root of the new mount, ready for pivot_root. */
        dirfd = open_rootfs_dir(ctx);
        if (dirfd < 0)
                return rc_error_set(err, errno, "open rootfs `%s`", ctx->rootfs);
        tree = rc_open_tree(dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
        if (tree < 0)
                return rc_error_set(err, errno, "bind rootfs `%s`", ctx->rootfs);
        if (rc_move_mount(tree, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "attach rootfs `%s`", ctx->rootfs);
        ctx->rootfd = TAKE_FD(tree);
        return 0;
}

/* Is one of the two paths the other or below it? A path with a "." or ".." component
 * (or a name starting with a dot) counts as related to everything: never moved early. */
static bool paths_related(const char *a, const char *b)
{
        if (strstr(a, "/.") || strstr(b, "/."))
                return true;
        return rc_path_under(a, b) || rc_path_under(b, a);
}

/* May the path be masked or made read-only before the mounts from index `from` on? */
static bool before_mounts(const struct rc_rootfs_ctx *ctx, const char *path, size_t from)
{
        for (size_t j = from; j < ctx->cfg->n_mounts; j++)
                if (paths_related(path, ctx->cfg->mounts[j].destination))
                        return false;
        return true;
}

static int mask_paths(const struct rc_rootfs_ctx *ctx, bool early, rc_error_t *err);
static int readonly_paths(const struct rc_rootfs_ctx *ctx, bool early, rc_error_t *err);

/* The wait for the network namespace filled (see early_protect in rootfs.h). */
static int early_work(struct rc_rootfs_ctx *ctx, size_t next_mount, rc_error_t *err)
{
        if (!ctx->early_protect || !before_mounts(ctx, "/dev", next_mount))
                return 0;
        if (rc_devices_setup(ctx, err) < 0)
                return -1;
        ctx->early_at = next_mount;
        if (ctx->cfg->has_linux && (mask_paths(ctx, true, err) < 0 || readonly_paths(ctx, true, err) < 0))
                return -1;
        rc_log(ctx->log, RC_LOG_DEBUG,
               "fast path protect: devices, masked and read-only paths before mount %zu", next_mount);
        return 0;
}

int rc_rootfs_join_netns(struct rc_rootfs_ctx *ctx, size_t next_mount, rc_error_t *err)
{
        int (*join)(void *, rc_error_t *) = ctx->join_netns;

        if (join == NULL)
                return 0;
        if (early_work(ctx, next_mount, err) < 0)
                return -1;
        ctx->join_netns = NULL;
        return join(ctx->join_netns_arg, err);
}

#define NEEDS_MOUNTNS                                                                                       \
        "needs a mount namespace (.linux.namespaces has no \"mount\": the container shares the runtime's, " \
        "where it may mount nothing)"

/* What a config without a mount namespace may not ask for: anything that mounts. */
static int check_host_mountns(const struct oci_config *c, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;

        if (c->n_mounts > 0)
                return rc_error_set(err, EINVAL, ".mounts[0]: mounting `%s` " NEEDS_MOUNTNS,
                                    c->mounts[0].destination);
        if (c->root.readonly)
                return rc_error_set(err, EINVAL, ".root.readonly " NEEDS_MOUNTNS);
        if (!c->has_linux)
                return 0;
        if (l->n_masked_paths > 0)
                return rc_error_set(err, EINVAL, ".linux.maskedPaths " NEEDS_MOUNTNS);
        if (l->n_readonly_paths > 0)
                return rc_error_set(err, EINVAL, ".linux.readonlyPaths " NEEDS_MOUNTNS);
        if (l->rootfs_propagation != 0)
                return rc_error_set(err, EINVAL, ".linux.rootfsPropagation " NEEDS_MOUNTNS);
        if (l->n_devices > 0)
                return rc_error_set(err, EINVAL, ".linux.devices[0]: `%s` " NEEDS_MOUNTNS,
                                    l->devices[0].path);
        return 0;
}

/* A missing process.cwd is made (0755, owned by the container's root), as runc and crun
 * do; inside the rootfs like every other path (RESOLVE_IN_ROOT). */
static int ensure_cwd(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        const char *cwd = ctx->cfg->process.cwd;
        int fd;

        if (cwd == NULL)
                return 0;
        /* it exists, or it is something the chdir will refuse with a better message */
        fd = rc_root_open(ctx->rootfd, cwd, O_PATH | O_DIRECTORY, 0, 0);
        if (fd != -ENOENT) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        fd = rc_root_mkdir_p(ctx->rootfd, cwd, 0755, 0);
        if (fd < 0 && ctx->cwd_late)
                return 0;
        if (fd < 0)
                return rc_error_set(err, -fd, ".process.cwd: create `%s` in the rootfs", cwd);
        close(fd);
        return 0;
}

/* No mount namespace: the rootfs as it is; chroot in rc_rootfs_finish. */
static int prepare_host_mountns(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        if (check_host_mountns(ctx->cfg, err) < 0)
                return -1;
        rc_log(ctx->log, RC_LOG_WARNING,
               "no mount namespace: the container shares the runtime's and is only chrooted into `%s` "
               "(nothing is mounted, /dev is the rootfs's own)",
               ctx->rootfs);
        ctx->rootfd = open_rootfs_dir(ctx);
        if (ctx->rootfd < 0)
                return rc_error_set(err, errno, "open rootfs `%s`", ctx->rootfs);
        ctx->early_protect = false;
        if (rc_rootfs_join_netns(ctx, 0, err) < 0)
                return -1;
        return ensure_cwd(ctx, err);
}

int rc_rootfs_prepare(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        ctx->rootfd = -1;
        ctx->early_at = SIZE_MAX;
        if (ctx->rootfs == NULL || ctx->rootfs[0] != '/')
                return rc_error_set(err, EINVAL, "rootfs `%s`: not an absolute path",
                                    ctx->rootfs ? ctx->rootfs : "");
        if (ctx->host_mountns)
                return prepare_host_mountns(ctx, err);
        if (isolate_root(ctx, err) < 0 || bind_rootfs(ctx, err) < 0)
                return -1;
        if (rc_mounts_setup(ctx, err) < 0 || rc_rootfs_join_netns(ctx, ctx->cfg->n_mounts, err) < 0 ||
            (ctx->early_at == SIZE_MAX && rc_devices_setup(ctx, err) < 0) || ensure_cwd(ctx, err) < 0) {
                close(ctx->rootfd);
                ctx->rootfd = -1;
                return -1;
        }
        return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one; it is then made
 * rslave (so the unmount cannot propagate anywhere) and lazily detached. Step 1 made the
 * whole tree rslave or rprivate already unless rootfsPropagation asked for a shared or
 * a non-recursive one: every mount of the old root is one of those copies, or came
 * into a slave by propagation and is a slave itself (the rootfs bind, and all mounted
 * into it, went with pivot_root to the new root). */
static bool old_root_isolated(const struct rc_rootfs_ctx *ctx)
{
        unsigned long prop = isolation_propagation(ctx);

        return (prop & MS_REC) && (prop & (MS_SLAVE | MS_PRIVATE)) && !(prop & MS_SHARED);
}

static int pivot(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (oldroot < 0)
                return rc_error_set(err, errno, "open `/`");
        if (fchdir(ctx->rootfd) < 0)
                return rc_error_set(err, errno, "chdir to rootfs `%s`", ctx->rootfs);
        if (rc_pivot_root(".", ".") < 0)
                return rc_error_set(err, errno, "pivot_root to `%s`", ctx->rootfs);
        if (fchdir(oldroot) < 0)
                return rc_error_set(err, errno, "chdir to the old root");
        if (!old_root_isolated(ctx) && mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return rc_error_set(err, errno, "make the old root rslave");
        if (umount2(".", MNT_DETACH) < 0)
                return rc_error_set(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return rc_error_set(err, errno, "chdir to `/`");
        return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo; in place. */
static void unescape_mountinfo(char *s)
{
        char *out = s;

        for (; *s != '\0'; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 3;
                } else {
                        *out++ = *s;
                }
        }
        *out = '\0';
}

/* Detach one host procfs or sysfs mount (rslave first: nothing propagates to the host).
 * Gone already (a parent was detached): fine. Locked into a user namespace we cannot
 * unmount from: cover it, as runc does. */
static int detach_pseudofs(const char *mountpoint, rc_error_t *err)
{
        if (mount(NULL, mountpoint, NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "make `%s` rslave", mountpoint);
        if (umount2(mountpoint, MNT_DETACH) == 0)
                return 0;
        if (errno != EINVAL && errno != EPERM)
                return rc_error_set(err, errno, "detach `%s`", mountpoint);
        if (mount("tmpfs", mountpoint, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
                return rc_error_set(err, errno, "cover `%s`", mountpoint);
        return 0;
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE ...". A
 * whole procfs or sysfs (root "/") outside the rootfs is detached. */
static int detach_if_host_pseudofs(char *line, const char *rootfs, rc_error_t *err)
{
        char *fields[5], *sep = strstr(line, " - "), *save = NULL, *fstype;
        size_t n = 0;

        if (sep == NULL)
                return 0;
        *sep = '\0';
        fstype = sep + 3;
        fstype[strcspn(fstype, " ")] = '\0';
        if (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0)
                return 0;
        for (char *f = strtok_r(line, " ", &save); f != NULL && n < 5; f = strtok_r(NULL, " ", &save))
                fields[n++] = f;
        if (n < 5 || strcmp(fields[3], "/") != 0)
                return 0;
        unescape_mountinfo(fields[4]);
        if (rc_path_equal(fields[4], rootfs) || rc_path_under(fields[4], rootfs))
                return 0;
        return detach_pseudofs(fields[4], err);
}

/* --no-pivot leaves the old root in this mount namespace, under the new one, with the
 * host's procfs and sysfs on it. Unreachable after the chroot, they still count for the
 * kernel's mount_too_revealing check, which looks at every mount of the namespace: a
 * container process that can make a user namespace would be let mount a fresh procfs
 * or sysfs without the masked paths. So they are detached first, as runc does. Which
 * mounts those are only /proc/self/mountinfo says: the one mountinfo scan of the start
 * path, on the rare --no-pivot path alone (pivot_root detaches the whole old root). */
static int detach_host_pseudofs(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        char rootfs[PATH_MAX], link[64], *save = NULL;
        int procfd = rc_proc_fd(err);
        size_t len = 0;
        ssize_t n;

        if (procfd < 0)
                return -1;
        snprintf(link, sizeof(link), "self/fd/%d", ctx->rootfd);
        n = readlinkat(procfd, link, rootfs, sizeof(rootfs) - 1);
        if (n < 0)
                return rc_error_set(err, errno, "find the rootfs `%s`", ctx->rootfs);
        rootfs[n] = '\0';
        if (rc_read_file_at(procfd, "self/mountinfo", 16u << 20, &data, &len, err) < 0)
                return -1;
        for (char *l = strtok_r(data, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
                if (detach_if_host_pseudofs(l, rootfs, err) < 0)
                        return -1;
        return 0;
}

/* no_pivot (a rootfs on the initramfs, say): move the rootfs over "/" and chroot. */
static int move_and_chroot(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        if (detach_host_pseudofs(ctx, err) < 0)
                return -1;
        if (fchdir(ctx->rootfd) < 0)
                return rc_error_set(err, errno, "chdir to rootfs `%s`", ctx->rootfs);
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                return rc_error_set(err, errno, "move rootfs `%s` to `/`", ctx->rootfs);
        if (chroot(".") < 0)
                return rc_error_set(err, errno, "chroot to `%s`", ctx->rootfs);
        if (chdir("/") < 0)
                return rc_error_set(err, errno, "chdir to `/`");
        return 0;
}

/* No mount namespace (host_mountns): a plain chroot, nothing moved or detached. */
static int chroot_rootfs(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        if (fchdir(ctx->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return rc_error_set(err, errno, "chroot to `%s`", ctx->rootfs);
        return 0;
}

/* Open a masked or read-only path inside the new root. The last component is never
 * followed. Returns 0 with *ret_fd = -1 when the path is to be skipped. */
static int open_protected(const struct rc_rootfs_ctx *ctx, const char *path, const char *what, int *ret_fd,
                          struct stat *st, rc_error_t *err)
{
        _cleanup_close_ int fd = rc_root_open(ctx->rootfd, path, O_PATH | O_NOFOLLOW, 0, 0);

        *ret_fd = -1;
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return rc_error_set(err, -fd, "%s `%s`", what, path);
        if (fstat(fd, st) < 0)
                return rc_error_set(err, errno, "%s `%s`: stat", what, path);
        if (S_ISLNK(st->st_mode)) {
                rc_log(ctx->log, RC_LOG_DEBUG, "%s `%s`: a symlink, skipped", what, path);
                return 0;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The /dev/null that masks files must really be the null device (CVE-2025-31133: a
 * symlink or another node there would turn masking into a bind of something else). */
static int open_dev_null(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_close_ int fd =
                rc_root_open(ctx->rootfd, "/dev/null", O_PATH | O_NOFOLLOW, 0, RC_ROOT_NO_SYMLINKS);
        struct stat st;

        if (fd < 0)
                return rc_error_set(err, -fd, "masked paths: open `/dev/null`");
        if (fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "masked paths: stat `/dev/null`");
        if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                return rc_error_set(err, EPERM, "masked paths: `/dev/null` is not the null device");
        return TAKE_FD(fd);
}

/* An empty read-only tmpfs, created detached with the new mount API. */
static int mask_dir(int dstfd)
{
        _cleanup_close_ int fsfd = -1, mnt = -1;

        fsfd = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return -errno;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return -errno;
        if (rc_move_mount(mnt, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* early: the paths of the early work (rc_rootfs_join_netns); otherwise the rest. */
static bool in_phase(const struct rc_rootfs_ctx *ctx, const char *path, bool early)
{
        bool was_early = ctx->early_at != SIZE_MAX && before_mounts(ctx, path, ctx->early_at);

        return early == was_early;
}

static int mask_paths(const struct rc_rootfs_ctx *ctx, bool early, rc_error_t *err)
{
        const struct oci_linux *l = &ctx->cfg->linux_;
        _cleanup_close_ int null = -1;

        for (size_t i = 0; i < l->n_masked_paths; i++) {
                const char *path = l->masked_paths[i];
                _cleanup_close_ int fd = -1;
                struct stat st;
                int r;

                if (!in_phase(ctx, path, early))
                        continue;
                if (open_protected(ctx, path, "mask", &fd, &st, err) < 0)
                        return rc_error_wrap(err, ".linux.maskedPaths[%zu]", i);
                if (fd < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = mask_dir(fd);
                } else {
                        if (null < 0 && (null = open_dev_null(ctx, err)) < 0)
                                return rc_error_wrap(err, ".linux.maskedPaths[%zu]", i);
                        r = rc_bind_onto(null, "", false, fd, NULL);
                }
                if (r < 0)
                        return rc_error_set(err, -r, ".linux.maskedPaths[%zu]: mask `%s`", i, path);
        }
        return 0;
}

/* Bind the path onto itself read-only: the clone is made read-only (recursively, keeping
 * nosuid/nodev/noexec as they are) before it is attached, so it is never writable. */
static int readonly_paths(const struct rc_rootfs_ctx *ctx, bool early, rc_error_t *err)
{
        const struct oci_linux *l = &ctx->cfg->linux_;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

        for (size_t i = 0; i < l->n_readonly_paths; i++) {
                const char *path = l->readonly_paths[i];
                _cleanup_close_ int fd = -1, tree = -1;
                struct stat st;

                if (!in_phase(ctx, path, early))
                        continue;
                if (open_protected(ctx, path, "make read-only", &fd, &st, err) < 0)
                        return rc_error_wrap(err, ".linux.readonlyPaths[%zu]", i);
                if (fd < 0)
                        continue;
                tree = rc_open_tree(fd, "",
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
                if (tree < 0)
                        return rc_error_set(err, errno,
                                            ".linux.readonlyPaths[%zu]: make read-only `%s`: bind", i, path);
                if (rc_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return rc_error_set(err, errno,
                                            ".linux.readonlyPaths[%zu]: make read-only `%s`: set attributes",
                                            i, path);
                if (rc_move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return rc_error_set(err, errno,
                                            ".linux.readonlyPaths[%zu]: make read-only `%s`: attach", i,
                                            path);
        }
        return 0;
}

/* root.readonly: the per-mount flags of a bind remount replace the old ones, so the
 * current nosuid/nodev/... are read back and kept. */
static int remount_root_readonly(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        struct statvfs sv;
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;

        if (fstatvfs(ctx->rootfd, &sv) < 0)
                return rc_error_set(err, errno, "statvfs `/`");
        flags |= rc_statvfs_mount_flags(sv.f_flag);
        if (mount(NULL, "/", NULL, flags, NULL) < 0)
                return rc_error_set(err, errno, "remount `/` read-only");
        return 0;
}

static int remount_dev_readonly(const struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        _cleanup_close_ int fd =
                rc_root_open(ctx->rootfd, "/dev", O_PATH | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);

        if (fd < 0)
                return rc_error_set(err, -fd, "remount `/dev` read-only");
        if (rc_mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return rc_error_set(err, errno, "remount `/dev` read-only");
        return 0;
}

int rc_rootfs_finish(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        unsigned long prop = rootfs_propagation(ctx);

        if (ctx->rootfd < 0)
                return rc_error_set(err, EBADF, "rootfs `%s`: not prepared", ctx->rootfs ? ctx->rootfs : "");
        if (ctx->host_mountns)
                return chroot_rootfs(ctx, err);
        if ((ctx->no_pivot ? move_and_chroot(ctx, err) : pivot(ctx, err)) < 0)
                return -1;
        /* from here on ctx->rootfd is the fd of "/" */
        if (ctx->cfg->has_linux && (mask_paths(ctx, false, err) < 0 || readonly_paths(ctx, false, err) < 0))
                return -1;
        if (rc_mounts_dev_needs_ro(ctx->cfg) && remount_dev_readonly(ctx, err) < 0)
                return -1;
        if (ctx->cfg->root.readonly && remount_root_readonly(ctx, err) < 0)
                return -1;
        if (prop != 0 && mount(NULL, "/", NULL, prop, NULL) < 0)
                return rc_error_set(err, errno, "set propagation of `/`");
        return 0;
}

int rc_rootfs_bind_console(const char *pts_path, rc_error_t *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), src = -1, dst = -1;
        struct statfs sfs;
        struct stat st;
        int r;

        if (root < 0)
                return rc_error_set(err, errno, "bind console: open `/`");
        src = rc_root_open(root, pts_path, O_PATH | O_NOFOLLOW, 0, RC_ROOT_NO_SYMLINKS);
        if (src < 0)
                return rc_error_set(err, -src, "bind console: open `%s`", pts_path);
        if (fstat(src, &st) < 0 || fstatfs(src, &sfs) < 0)
                return rc_error_set(err, errno, "bind console: stat `%s`", pts_path);
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) < PTY_SLAVE_MAJOR_FIRST ||
            major(st.st_rdev) > PTY_SLAVE_MAJOR_LAST || sfs.f_type != DEVPTS_SUPER_MAGIC)
                return rc_error_set(err, EPERM, "bind console: `%s` is not a pty slave in devpts", pts_path);
        dst = rc_console_target(root);
        if (dst < 0)
                return rc_error_set(err, -dst, "bind console: create `/dev/console`");
        r = rc_bind_onto(src, "", false, dst, NULL);
        if (r < 0)
                return rc_error_set(err, -r, "bind console `%s` on `/dev/console`", pts_path);
        return 0;
}
