/* Internal interface of the rootfs layer, shared by mounts.c, devices.c, rootfs.c and
 * cgroup_mount.c (and their unit tests). The root-relative "raw" helpers it builds on
 * (rc_root_open & co.) are in runtime/base/fsutil.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/fsutil.h"
#include "runtime/rootfs/rootfs.h"

/* Clone the mount tree at (dirfd, path) (AT_EMPTY_PATH when path is "") and attach it
 * onto the O_PATH target `dstfd`. On success *ret_mntfd (if not NULL) gets an O_PATH fd
 * of the new mount's root, usable for remount/propagation via /proc/self/fd. */
int rc_bind_onto(int dirfd, const char *path, bool recursive, int dstfd, int *ret_mntfd);

/* The steps of rc_rootfs_prepare that live in their own files. */
int rc_mounts_setup(struct rc_rootfs_ctx *ctx, rc_error_t *err);
int rc_devices_setup(struct rc_rootfs_ctx *ctx, rc_error_t *err);

/* Open /dev/console inside rootfd as a bind target (O_PATH): an existing regular file or
 * char device is kept, anything else (a symlink planted in the image: CVE-2025-52565)
 * is replaced by an empty file. Returns an fd or -errno. */
int rc_console_target(int rootfd);

/* Config queries. */
const struct oci_mount *rc_mounts_find(const struct oci_config *cfg, const char *destination);
bool rc_mounts_dev_from_host(const struct oci_config *cfg); /* /dev is a bind mount */
/* A /dev tmpfs with "ro" is mounted rw so the nodes can be created; rootfs.c remounts it. */
bool rc_mounts_dev_needs_ro(const struct oci_config *cfg);

/* statvfs f_flag (ST_*) -> the MS_* per-mount flags a bind remount must keep. */
unsigned long rc_statvfs_mount_flags(unsigned long f_flag);
