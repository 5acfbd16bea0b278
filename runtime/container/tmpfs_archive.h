/* Internal: the archive of one tmpfs's tree that checkpoint keeps next to CRIU's image
 * instead of CRIU's `tar` of it (runtime/container/criu_tmpfs.c). Written and read in the
 * runtime's own process, while the container is frozen (dump) or before CRIU runs
 * (restore).
 *
 * Format (all integers little-endian):
 *   "RCTMPFS1"                                    8 bytes
 *   entry*                                        in pre-order: a directory before its entries
 *   an entry of type 'E'                          the end: nothing may follow
 * entry: the fixed part (RC_TMPFS_ENTRY_SIZE bytes, rc_tmpfs_entry_encode), then
 *   path_len bytes of path (relative, "a/b"; "" is the root, the first entry, a directory),
 *   n_xattrs times: u32 name length, u32 value length, name, value,
 *   then by type:
 *     'f' regular file: segments (u64 offset, u64 length, then length bytes), ascending,
 *         within size, up to one of length 0: the holes between them stay holes;
 *     'l' symlink: size bytes of target;  'h' hard link: size bytes of the path of an
 *         earlier entry it is a link to;  'd', 'c', 'b', 'p' (fifo): nothing.
 * Owners are numeric; times are atime and mtime (ctime cannot be set); xattrs are those of
 * regular files and directories. Sockets are left out (as tar does: a socket file is
 * nothing without its socket, which CRIU restores itself). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"

#define RC_TMPFS_MAGIC "RCTMPFS1"
#define RC_TMPFS_ENTRY_SIZE 61

struct rc_tmpfs_entry {
        uint8_t type; /* 'd' 'f' 'l' 'h' 'c' 'b' 'p' 'E' */
        uint32_t mode; /* permission bits (07777) */
        uint32_t uid, gid;
        uint64_t rdev;
        int64_t atime_sec, mtime_sec;
        uint32_t atime_nsec, mtime_nsec;
        uint64_t size; /* file size; symlink target or hard link path length */
        uint32_t path_len, n_xattrs;
};

void rc_tmpfs_entry_encode(const struct rc_tmpfs_entry *e, uint8_t buf[RC_TMPFS_ENTRY_SIZE]);
/* -1 when a field is out of its range (unknown type, mode bits above 07777, nanoseconds of
 * a second or more). */
int rc_tmpfs_entry_decode(const uint8_t buf[RC_TMPFS_ENTRY_SIZE], struct rc_tmpfs_entry *ret);
/* Whether path[0..len) is a relative path of plain components ("a/b": no "", ".", "..",
 * no leading or trailing slash, no NUL), shorter than PATH_MAX. */
bool rc_tmpfs_path_valid(const char *path, size_t len);

/* Archive the tree below dirfd (a directory opened O_RDONLY) into outfd. It does not
 * cross into other mounts: pass the root of a mount without its children (open_tree). */
int rc_tmpfs_archive_write(int dirfd, int outfd, rc_error_t *err);
/* Recreate the archive read from infd (`name` in messages) in the empty directory dirfd
 * (opened O_RDONLY): owners, modes and times included, directories' last. A bad archive
 * fails naming the byte offset and the entry. */
int rc_tmpfs_archive_read(int infd, const char *name, int dirfd, rc_error_t *err);
