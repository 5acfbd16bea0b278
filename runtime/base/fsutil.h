/* File helpers: paths inside the container root are always resolved relative to a root
 * fd (openat2 RESOLVE_IN_ROOT, falling back to a component-wise O_NOFOLLOW walk that
 * treats ".." and absolute symlinks as staying inside the root), never by joining
 * strings onto a host path. Every fd returned is O_CLOEXEC. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"

/* Open `path` (absolute or relative; interpreted inside rootfd) with open(2) flags. */
int rc_open_in_root(int rootfd, const char *path, int flags, mode_t mode, rc_error_t *err);

/* Create every missing directory of `path` inside rootfd (mode for new ones) and return
 * an O_PATH|O_DIRECTORY fd of the last one. */
int rc_mkdir_p_in_root(int rootfd, const char *path, mode_t mode, rc_error_t *err);

/* Make sure a mount target exists inside rootfd: a directory, or an empty regular file
 * when `is_file`; parents are created. Returns an O_PATH fd of the target (suitable for
 * "/proc/self/fd/N" mount targets or move_mount with MOVE_MOUNT_T_EMPTY_PATH). */
int rc_ensure_target_in_root(int rootfd, const char *path, bool is_file, rc_error_t *err);

/* Write a whole file atomically: temp file in dirfd, fsync-free write, rename over name. */
int rc_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         rc_error_t *err);

/* Write all of buf to fd, going on after short writes and EINTR; -1 with errno set. */
int rc_write_all(int fd, const void *buf, size_t len);

/* Write buf to an existing file (e.g. under /proc or /sys) in one write(2). */
int rc_write_file_at(int dirfd, const char *path, const void *buf, size_t len, rc_error_t *err);

/* Read a whole file (at most max bytes, else EFBIG) into a NUL-terminated buffer. */
int rc_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len, rc_error_t *err);
/* The same from an open fd (path: its name in messages). */
int rc_read_fd(int fd, const char *path, size_t max, char **ret, size_t *ret_len, rc_error_t *err);

/* The procfs the container init works through: opened once, at the start of the init
 * (before any namespace is joined, any config mount is made or the root is pivoted), and
 * verified to be the root of a procfs (f_type PROC_SUPER_MAGIC, inode PROC_ROOT_INO). A
 * /proc the container provides (a tmpfs or a bind mount over /proc or /proc/sys in its
 * mounts) is thus never written through. The fd is cached for the life of the process;
 * later calls return it. */
int rc_proc_fd(rc_error_t *err);

/* Open `path` relative to that procfs ("self/oom_score_adj", "sys/net/core/somaxconn")
 * without leaving it: no "..", no absolute or magic links, no crossing into another
 * mount, and the result must itself be on procfs. Returns an O_CLOEXEC fd or -1. */
int rc_proc_open(const char *path, int flags, rc_error_t *err);

/* A DIR that reads the directory `fd` from its start; `fd` stays the caller's (the DIR
 * holds a duplicate, to be closedir'ed). NULL with errno set, nothing left open. */
DIR *rc_opendir_dup(int fd);

/* rm -rf of dirfd/name: never follows a symlink and never enters or removes a mount
 * point (statx's STATX_ATTR_MOUNT_ROOT, so a bind mount of the same filesystem counts;
 * on kernels before 5.8, a directory on another device than its parent): that fails with
 * EBUSY, "something is mounted there". A missing name is not an error. err may be NULL
 * (best-effort cleanups): the failure is then only returned (-1). */
int rc_remove_tree_at(int dirfd, const char *name, rc_error_t *err);

/* mkdir -p of a host path: missing parents get parent_mode, the last directory `mode`
 * (existing ones are left as they are). Returns 0 or -errno. */
int rc_mkdir_p_host(const char *path, mode_t parent_mode, mode_t mode);

/* True if `path` is on a cgroup2 filesystem (statfs magic). */
bool rc_fs_is_cgroup2(const char *path);

/* Read dirfd/name, which must be a regular file (a FIFO, a device, a directory or a
 * symbolic link is refused without blocking), at most max bytes, NUL-terminated. */
int rc_read_regular_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
                       rc_error_t *err);

/* ---- raw root-relative helpers ------------------------------------------------------------
 * They return an fd or -errno and never fill an rc_error_t, so each caller can name its
 * own operation in the message. */

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

/* "/proc/self/fd/N" for fd. */
#define RC_FD_PATH_MAX 32
void rc_fd_path(int fd, char buf[RC_FD_PATH_MAX]);

/* mount(2) with the target given as an fd. A directory is reached as the cwd (fchdir,
 * then "."), and cwdfd becomes the cwd again afterwards: in a new process the walk of
 * "/proc/self/fd/N" makes /proc/PID, its fd directory and the fd's entry first (~4 us
 * a mount in a fresh init, against ~0.5 us for the two fchdir). Anything else (a file,
 * or cwdfd < 0) is mounted through "/proc/self/fd/N". The result is the same mount:
 * both name the fd's mount and dentry. Returns mount(2)'s result and errno; -1 with
 * fchdir's errno when the cwd could not be restored. */
int rc_mount_at_fd(const char *source, int fd, const char *type, unsigned long flags, const void *data,
                   int cwdfd);
