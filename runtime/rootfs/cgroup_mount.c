/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A "cgroup" mount (/sys/fs/cgroup) on a host whose /sys/fs/cgroup is not cgroup2 (cgroup
 * v1 or hybrid: the v1 hierarchies under /sys/fs/cgroup/<name>, at most a cgroup2 without
 * controllers at /sys/fs/cgroup/unified).
 *
 * A fresh cgroup2 there would show the container a v2 tree without controllers, and made
 * from the host's cgroup namespace it costs a synchronize_rcu() (2-20 ms on a busy host:
 * cgroup_get_tree() -> apply_cgroup_root_flags() -> cgroup_favor_dynmods() takes
 * cgroup_threadgroup_rwsem for writing) and resets the host's cgroup2 mount options. The
 * container gets instead what runc and crun give it on such a host, the v1 layout: a tmpfs
 * with each v1 hierarchy the init belongs to (/proc/self/cgroup) at its name below, read-only,
 * nosuid, nodev, noexec. In the host's cgroup namespace each is a bind of the init's own
 * cgroup directory (as crun 1.8.1 does). In a cgroup namespace of its own runc mounts each
 * hierarchy afresh, which the kernel roots at the namespace's cgroup: the same directory.
 * When the runtime read the init's cgroups before the namespace hid their host paths
 * (rootfs.h: cgroups_at_clone) the init binds them instead, with private propagation as a
 * fresh mount has (an open_tree clone, mount_setattr and move_mount against fsopen,
 * fsconfig, the superblock lookup and fsmount); otherwise it mounts them afresh.
 * Controllers mounted together (cpu,cpuacct) get a symlink per name, as on the host. The
 * tmpfs is made read-only at the end when the mount says ro (runc; crun leaves it writable).
 * Each step costs tens of microseconds. */

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/log.h"
#include "runtime/base/syscalls.h"
#include "runtime/rootfs/cgroup_mount.h"
#include "runtime/rootfs/rootfs.h"

#define V1_ROOT "/sys/fs/cgroup/"
#define HIERARCHY_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

static int fs_set(int fsfd, unsigned cmd, const char *key, const char *value)
{
        return (int)syscall(SYS_fsconfig, fsfd, cmd, key, value, 0);
}

/* A detached fresh v1 mount of the comma-separated controllers (name=X for a named one). */
static int fresh_v1(const char *controllers)
{
        _cleanup_close_ int fsfd = (int)syscall(SYS_fsopen, "cgroup", FSOPEN_CLOEXEC);
        char buf[256];
        char *save = NULL;

        if (fsfd < 0 || snprintf(buf, sizeof(buf), "%s", controllers) >= (int)sizeof(buf))
                return -1;
        for (char *c = strtok_r(buf, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save)) {
                int r = strncmp(c, "name=", 5) == 0 ? fs_set(fsfd, FSCONFIG_SET_STRING, "name", c + 5)
                                                    : fs_set(fsfd, FSCONFIG_SET_FLAG, c, NULL);
                if (r < 0)
                        return -1;
        }
        if (fs_set(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
                return -1;
        return (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, HIERARCHY_ATTRS);
}

/* A detached bind of the init's own cgroup in the hierarchy mounted at V1_ROOT dir;
 * propagation: 0 (the source's) or MS_PRIVATE. */
static int bind_v1(const char *dir, const char *path, unsigned long propagation)
{
        struct mount_attr attr = {.attr_set = HIERARCHY_ATTRS, .propagation = propagation};
        char src[4096];
        int fd;

        if (snprintf(src, sizeof(src), V1_ROOT "%s%s", dir, path) >= (int)sizeof(src)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        fd = rc_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd >= 0 && rc_mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Controllers mounted together (cpu,cpuacct): a symlink per name to their directory. */
static int add_symlinks(int tmpfd, const char *dir, rc_error_t *err)
{
        char buf[256];
        char *save = NULL;

        if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
                return rc_error_set(err, ENAMETOOLONG, "/sys/fs/cgroup: `%s`", dir);
        for (char *c = strtok_r(buf, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save))
                if (symlinkat(dir, tmpfd, c) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "/sys/fs/cgroup: symlink `%s`", c);
        return 0;
}

/* One line of /proc/self/cgroup ("N:controllers:path"): its hierarchy at dir below tmpfd.
 * own_cgroupns: the init has a cgroup namespace of its own; fresh: the line was read in
 * it (its path is "/"), so the hierarchy is mounted afresh there. */
static int add_hierarchy(const struct rc_rootfs_ctx *ctx, int tmpfd, char *line, bool own_cgroupns,
                         bool fresh, rc_error_t *err)
{
        char *ctrl = strchr(line, ':'), *path, *dir;
        _cleanup_close_ int mfd = -1;

        if (ctrl == NULL || (path = strchr(++ctrl, ':')) == NULL || path == ctrl)
                return 0; /* the cgroup2 line ("0::/...") or nothing */
        *path++ = '\0';
        dir = strncmp(ctrl, "name=", 5) == 0 ? ctrl + 5 : ctrl;
        mfd = fresh ? fresh_v1(ctrl) : bind_v1(dir, path, own_cgroupns ? MS_PRIVATE : 0);
        if (mfd < 0) {
                /* not mounted at V1_ROOT on this host, or refused (a user namespace) */
                rc_log(ctx->log, RC_LOG_DEBUG, "cgroup v1 hierarchy `%s`: %s: skipped", ctrl,
                       strerror(errno));
                return 0;
        }
        if (mkdirat(tmpfd, dir, 0755) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "/sys/fs/cgroup: mkdir `%s`", dir);
        if (rc_move_mount(mfd, "", tmpfd, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "/sys/fs/cgroup: mount the `%s` hierarchy", ctrl);
        if (strchr(ctrl, ',') != NULL && add_symlinks(tmpfd, ctrl, err) < 0)
                return -1;
        return 0;
}

static int mount_tmpfs(int dstfd, const char *dest, rc_error_t *err)
{
        _cleanup_close_ int fsfd = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
        int mfd;

        if (fsfd < 0 || fs_set(fsfd, FSCONFIG_SET_STRING, "source", "cgroup") < 0 ||
            fs_set(fsfd, FSCONFIG_SET_STRING, "mode", "755") < 0 ||
            fs_set(fsfd, FSCONFIG_SET_STRING, "size", "1024k") < 0 ||
            fs_set(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
                return rc_error_set(err, errno, "mount tmpfs on `%s`", dest);
        mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mfd < 0)
                return rc_error_set(err, errno, "mount tmpfs on `%s`: fsmount", dest);
        if (rc_move_mount(mfd, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                close(mfd);
                return rc_error_set(err, errno, "mount tmpfs on `%s`: move_mount", dest);
        }
        return mfd;
}

int rc_cgroup_mount_v1_layout(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, int dstfd,
                              rc_error_t *err)
{
        const struct oci_namespace *ns = oci_config_namespace(ctx->cfg, OCI_NS_CGROUP);
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
        bool fresh = ns != NULL && ctx->cgroups_at_clone == NULL;
        _cleanup_close_ int tmpfd = -1;
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        tmpfd = mount_tmpfs(dstfd, m->destination, err);
        if (tmpfd < 0)
                return -1;
        if (ctx->cgroups_at_clone != NULL) {
                text = strdup(ctx->cgroups_at_clone);
                if (text == NULL)
                        return rc_error_set(err, ENOMEM, "%s", m->destination);
        } else if (rc_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &text, NULL, err) < 0) {
                return rc_error_wrap(err, "%s", m->destination);
        }
        for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
                if (add_hierarchy(ctx, tmpfd, line, ns != NULL, fresh, err) < 0)
                        return -1;
        if ((m->flags & MS_RDONLY) && rc_mount_setattr(tmpfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
                return rc_error_set(err, errno, "remount `%s` read-only", m->destination);
        return 0;
}
