/* Internal interface shared by fsutil.c, mounts.c, devices.c and rootfs.c (and their unit
 * tests). The "raw" helpers return an fd or -errno and never fill an rc_error_t, so each
 * caller can name its own operation in the message. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/error.h"
#include "runtime/rootfs.h"

/* Extra resolution restriction for the raw helpers: refuse every symlink on the way
 * (used for /dev, proc and sysfs targets and the console, see CVE-2025-52565). */
#define RC_ROOT_NO_SYMLINKS 1u

/* Open `path` inside rootfd. openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) when the
 * kernel has it, else rc_root_open_walk. Returns an O_CLOEXEC fd or -errno. */
int rc_root_open(int rootfd, const char *path, int flags, mode_t mode, unsigned rflags);

/* The fallback: a component-wise O_NOFOLLOW walk; ".." never climbs above rootfd and a
 * symlink's target is re-resolved as text inside rootfd. Exposed for the unit tests. */
int rc_root_open_walk(int rootfd, const char *path, int flags, mode_t mode, unsigned rflags);

/* mkdir -p inside rootfd; returns an O_PATH|O_DIRECTORY fd of the last directory. */
int rc_root_mkdir_p(int rootfd, const char *path, mode_t mode, unsigned rflags);

/* Open a mount target, creating it (a directory, or an empty file when is_file) and its
 * parents when missing. Returns an O_PATH fd or -errno. */
int rc_root_ensure_target(int rootfd, const char *path, bool is_file, unsigned rflags);

/* Split "/a/b/c" into a malloc'ed parent ("/a/b") and a pointer to the last component
 * inside `path` ("c"). Fails with -EINVAL when there is no last component ("/", ""). */
int rc_path_split(const char *path, char **ret_parent, const char **ret_base);

/* Compare container paths ignoring repeated and trailing slashes: "/dev/" == "//dev". */
bool rc_path_equal(const char *a, const char *b);
/* True when `path` is `dir` or lies below it ("/dev/pts" is under "/dev"). */
bool rc_path_under(const char *path, const char *dir);

/* Clone the mount tree at (dirfd, path) (AT_EMPTY_PATH when path is "") and attach it
 * onto the O_PATH target `dstfd`. On success *ret_mntfd (if not NULL) gets an O_PATH fd
 * of the new mount's root, usable for remount/propagation via /proc/self/fd. */
int rc_bind_onto(int dirfd, const char *path, bool recursive, int dstfd, int *ret_mntfd);

/* "/proc/self/fd/N" for fd. */
#define RC_FD_PATH_MAX 32
void rc_fd_path(int fd, char buf[RC_FD_PATH_MAX]);

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
