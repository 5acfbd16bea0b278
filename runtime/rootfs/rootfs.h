/* The container's filesystem, set up by the container init inside its new mount
 * namespace, in two steps around the createContainer hooks:
 *
 *   rc_rootfs_prepare:  make "/" rslave (or linux.rootfsPropagation) so nothing leaks to
 *                       the host, bind the rootfs onto itself, mount every entry of
 *                       `mounts` in order (targets created and opened inside the rootfs),
 *                       populate /dev (default nodes, linux.devices, /dev/pts/ptmx,
 *                       /dev/shm, fd/stdin/stdout/stderr/core symlinks) when /dev is not
 *                       bind-mounted from the host.
 *   [createContainer hooks]
 *   rc_rootfs_finish:   pivot_root (chroot only with no_pivot), detach the old root,
 *                       root.readonly, maskedPaths, readonlyPaths, rootfsPropagation.
 */
#pragma once

#include <stdbool.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

struct rc_rootfs_ctx {
        const struct oci_config *cfg;
        const char *rootfs; /* absolute host path of root.path */
        bool no_pivot;
        bool in_userns; /* device nodes are bind-mounted from the host instead of mknod */
        /* No mount namespace in the config: the init is in the runtime's own, where
         * nothing may be mounted. The process is only chrooted into the rootfs, as crun
         * and runc do then; a config that needs a mount (mounts, maskedPaths,
         * readonlyPaths, root.readonly, rootfsPropagation, devices) is refused, and /dev
         * is whatever the rootfs holds. */
        bool host_mountns;
        /* a process.cwd that cannot be made is left to the process' own chdir, which
         * fails at start (a sandbox's job: exit status 126) instead of create */
        bool cwd_late;
        const struct rc_logger *log;
        /* O_PATH fd of the rootfs directory opened in the container's mount namespace
         * before the init became root of a user namespace (which may not be allowed to
         * walk the host path); -1: open ctx->rootfs by path. Owned by the caller. */
        int rootfs_dirfd;
        int rootfd; /* set by rc_rootfs_prepare: O_PATH fd of the bound rootfs; -1 before */
        /* Non-NULL: the init is not yet in its network namespace (runtime/isolation/namespaces.h,
         * rc_netns_deferred). Called, and then cleared, before the first mount that could see
         * the network namespace (anything but proc, tmpfs, devpts, mqueue: sysfs tags
         * itself with the mounter's, a bind mount may name /proc/self/ns/net) and at the
         * latest at the end of rc_rootfs_prepare. */
        int (*join_netns)(void *arg, rc_error_t *err);
        void *join_netns_arg;
        /* Set by the caller when nothing runs between rc_rootfs_prepare and
         * rc_rootfs_finish (no createRuntime or createContainer hooks): then, while the
         * network namespace is still being made, the init fills the wait with what the
         * mounts still to come cannot touch: the device nodes and the masked and
         * read-only paths unrelated to any later mount's destination (the result is the
         * same as in the usual order). */
        bool early_protect;
        /* internal: the index of the first mount after the early work (SIZE_MAX: none) */
        size_t early_at;
        /* internal: the cwd (the bundle) as an O_PATH fd while rc_mounts_setup runs, for
         * rc_mount_at_fd; -1 outside it */
        int cwdfd;
        /* Optional, one per cfg mount: an O_PATH fd of the bind mount's source, opened
         * before the init became root of its user namespace, or -1: used when the source
         * path is refused to that root (a state directory only the host's root may
         * enter, such as the one of a network's /etc/hosts). */
        const int *bind_src_fds;
        /* Optional: /proc/self/cgroup as the runtime read it just before the init got a
         * cgroup namespace of its own (runtime/container/spawn.c), on a host with v1
         * hierarchies. Inside that namespace /proc/self/cgroup shows "/" for each; with
         * the host's paths the v1 layout binds the init's cgroup directories (the same
         * root as a fresh mount in the namespace, without its superblock lookup and
         * fs_context). NULL: fresh v1 mounts in the namespace. */
        const char *cgroups_at_clone;
};

/* Open the sources of the bind mounts of cfg (rootfs.h: bind_src_fds); NULL on ENOMEM.
 * A source that cannot be opened gets -1 (its mount then reports the error). */
int *rc_rootfs_open_bind_sources(const struct oci_config *cfg);
void rc_rootfs_close_bind_sources(int *fds, size_t n);

/* Call ctx->join_netns if still pending; next_mount: the index of the first config mount
 * not yet made (cfg->n_mounts when all are). */
int rc_rootfs_join_netns(struct rc_rootfs_ctx *ctx, size_t next_mount, rc_error_t *err);

int rc_rootfs_prepare(struct rc_rootfs_ctx *ctx, rc_error_t *err);
int rc_rootfs_finish(struct rc_rootfs_ctx *ctx, rc_error_t *err);

/* For `create` where no cgroup will enforce linux.resources.devices: refuses, naming the
 * node and the rule, every node those rules deny read or write access to that the
 * container could still open: a linux.devices entry, a bind-mounted host device node, or
 * a bind of the host's /dev (unless the mount is nodev). A config without device rules,
 * or whose rules allow everything, passes. Relative bind sources are taken in `bundle`.
 * What it cannot refuse is warned of: a process with CAP_MKNOD (and no user namespace)
 * making nodes of its own. */
int rc_devices_check_unenforced(const struct oci_config *cfg, const char *bundle,
                                const struct rc_logger *log, rc_error_t *err);

/* After pivot: bind the terminal's slave (its /dev/pts/N path) onto /dev/console. */
int rc_rootfs_bind_console(const char *pts_path, rc_error_t *err);

/* Pure: the flags rc_rootfs_prepare passes to mount(2) for one config mount, split into
 * the initial mount and the remount that bind mounts need for ro/nosuid/... (exposed for
 * unit tests). */
struct rc_mount_plan {
        unsigned long mount_flags; /* first mount(2) call */
        unsigned long remount_flags; /* 0: no MS_REMOUNT|MS_BIND pass needed */
        unsigned long propagation; /* 0: none */
        const char *data;
};
void rc_mount_plan_make(const struct oci_mount *m, struct rc_mount_plan *ret);
