/* An overlayfs root for `sandbox`: the base (a rootfs directory or an image's layers) is
 * the read-only lower layer, the container's changes go to an upper directory, on a
 * tmpfs by default. The init mounts it in its own mount namespace, onto the (empty)
 * rootfs directory, after making "/" rslave and before anything opens the rootfs: so
 * nothing is ever mounted on the host, and everything goes away with the container.
 *
 *   dir/            given by the caller; with `tmpfs`, a tmpfs is mounted on it first
 *     upper/        the changes (created if missing; overlayfs whiteouts for deletions)
 *     work/         overlayfs' scratch space, on the same filesystem as upper/
 *     empty/        read_only with a single lower layer: an empty bottom layer (the
 *                   kernel wants two lower layers when there is no upper)
 *     tmp/          private_tmp: bound onto the overlay's /tmp
 *
 * private_tmp: the job's /tmp is a directory of the upper layer's tmpfs bound there, not a
 * directory of the overlay: a file written there costs what it costs on a plain tmpfs
 * (through overlayfs each open, write, truncate and close also goes to the upper file
 * under the mounter's credentials: a build writing small files under /tmp took 1.3x
 * bwrap's time with a tmpfs /tmp), and it shares the upper layer's size. The caller asks
 * for it only when the base's /tmp is an empty directory (nothing hidden).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"

struct rc_overlay_dir {
        const char *path; /* relative to upper/, no "..": its parent is listed before it */
        mode_t mode;
};

struct rc_overlay {
        const char *const *lower; /* absolute paths, bottom layer first, NULL-terminated */
        const char *dir; /* absolute: holds upper/ and work/ (or empty/) */
        bool read_only; /* no upper directory at all */
        bool tmpfs; /* mount a tmpfs on dir first: the changes die with the container */
        uint64_t tmpfs_size; /* its size in bytes; 0: the kernel's default (half the RAM) */
        bool private_tmp; /* with tmpfs and an upper: dir/tmp (tmp_mode) bound on /tmp */
        mode_t tmp_mode;
        const struct rc_overlay_dir *upper_dirs; /* made in upper/ before the mount */
        size_t n_upper_dirs;
};

/* Pure: one lower directory escaped for overlayfs' option syntax ('\\', ':' and ','
 * get a backslash). Returns a malloc'ed string or NULL (ENOMEM). */
char *rc_overlay_escape(const char *path);

/* Pure: the legacy mount(2) data string, "lowerdir=TOP:...:BOTTOM[,upperdir=U,workdir=W]"
 * (`empty`, when not NULL, is appended as the bottom-most layer). */
int rc_overlay_options(const struct rc_overlay *ov, const char *empty, char **ret, rc_error_t *err);

/* In the init, inside its new mount namespace: make "/" rslave, set up dir (tmpfs,
 * upper/work or empty/) and mount the overlay on `rootfs` (an existing directory). */
int rc_overlay_mount(const struct rc_overlay *ov, const char *rootfs, rc_error_t *err);
