/* The sandbox's overlayfs root (see overlay.h): mounted by the container init, in its own
 * mount namespace, before the rootfs is opened and bound. */
#include "runtime/rootfs/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"

/* mount(2) takes one page of options; longer layer lists go through fsconfig(2) one
 * "lowerdir+" at a time (Linux 6.8). */
#define LEGACY_DATA_MAX 4000

char *rc_overlay_escape(const char *path)
{
        size_t n = 0;
        char *ret, *q;

        for (const char *p = path; *p; p++)
                n += (*p == '\\' || *p == ':' || *p == ',') ? 2 : 1;
        ret = malloc(n + 1);
        if (ret == NULL)
                return NULL;
        q = ret;
        for (const char *p = path; *p; p++) {
                if (*p == '\\' || *p == ':' || *p == ',')
                        *q++ = '\\';
                *q++ = *p;
        }
        *q = '\0';
        return ret;
}

struct strbuf {
        char *s;
        size_t len, cap;
        bool oom;
};

static void sb_add(struct strbuf *b, const char *s)
{
        size_t n = strlen(s);

        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *ns = realloc(b->s, cap);
                if (ns == NULL) {
                        b->oom = true;
                        return;
                }
                b->s = ns;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n + 1);
        b->len += n;
}

static void sb_add_escaped(struct strbuf *b, const char *s)
{
        _cleanup_free_ char *e = rc_overlay_escape(s);

        if (e == NULL)
                b->oom = true;
        else
                sb_add(b, e);
}

static size_t n_lower(const struct rc_overlay *ov)
{
        size_t n = 0;

        while (ov->lower != NULL && ov->lower[n] != NULL)
                n++;
        return n;
}

int rc_overlay_options(const struct rc_overlay *ov, const char *empty, char **ret, rc_error_t *err)
{
        struct strbuf b = {0};
        size_t n = n_lower(ov);

        if (n == 0)
                return rc_error_set(err, EINVAL, "overlay: no lower directory");
        sb_add(&b, "lowerdir=");
        for (size_t i = n; i-- > 0;) { /* overlayfs lists the top layer first */
                sb_add_escaped(&b, ov->lower[i]);
                if (i > 0)
                        sb_add(&b, ":");
        }
        if (empty != NULL) {
                sb_add(&b, ":");
                sb_add_escaped(&b, empty);
        }
        if (!ov->read_only) {
                sb_add(&b, ",upperdir=");
                sb_add_escaped(&b, ov->dir);
                sb_add(&b, "/upper,workdir=");
                sb_add_escaped(&b, ov->dir);
                sb_add(&b, "/work");
        }
        if (b.oom) {
                free(b.s);
                return rc_error_set(err, ENOMEM, "overlay options");
        }
        *ret = b.s;
        return 0;
}

static int make_dir(int dirfd, const char *name, mode_t mode, const char *base, rc_error_t *err)
{
        if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "create `%s/%s`", base, name);
        return 0;
}

/* ov->upper_dirs, each with its mode whatever the umask; one that exists (an --upper of an
 * earlier job) is left as it is. */
static int make_upper_dirs(const struct rc_overlay *ov, int dirfd, rc_error_t *err)
{
        _cleanup_close_ int upper = -1;

        if (ov->n_upper_dirs == 0)
                return 0;
        upper = openat(dirfd, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (upper < 0)
                return rc_error_set(err, errno, "open `%s/upper`", ov->dir);
        for (size_t i = 0; i < ov->n_upper_dirs; i++) {
                const char *path = ov->upper_dirs[i].path, *slash = strrchr(path, '/');
                _cleanup_close_ int parent = -1;
                char buf[PATH_MAX];

                if (slash != NULL) {
                        snprintf(buf, sizeof(buf), "%.*s", (int)(slash - path), path);
                        parent = rc_root_open(upper, buf, O_PATH | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
                        if (parent < 0)
                                return rc_error_set(err, -parent, "open `%s/upper/%s`", ov->dir, buf);
                }
                if (mkdirat(parent >= 0 ? parent : upper, slash != NULL ? slash + 1 : path, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return rc_error_set(err, errno, "create `%s/upper/%s`", ov->dir, path);
                }
                if (fchmodat(parent >= 0 ? parent : upper, slash != NULL ? slash + 1 : path,
                             ov->upper_dirs[i].mode & 07777, 0) < 0)
                        return rc_error_set(err, errno, "chmod `%s/upper/%s`", ov->dir, path);
        }
        return 0;
}

/* The tmpfs (when asked) and the directories in ov->dir; *ret_empty is the empty bottom
 * layer a read-only overlay with one lower layer needs, else NULL. */
static int prepare_dir(const struct rc_overlay *ov, char **ret_empty, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        char data[64];

        *ret_empty = NULL;
        if (ov->tmpfs_size > 0)
                snprintf(data, sizeof(data), "mode=0755,size=%" PRIu64, ov->tmpfs_size);
        else
                snprintf(data, sizeof(data), "mode=0755");
        if (ov->tmpfs && mount("tmpfs", ov->dir, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
                return rc_error_set(err, errno, "mount a tmpfs on `%s`", ov->dir);
        fd = open(ov->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open overlay directory `%s`", ov->dir);
        if (!ov->read_only) {
                if (make_dir(fd, "upper", 0755, ov->dir, err) < 0 ||
                    make_dir(fd, "work", 0700, ov->dir, err) < 0 || make_upper_dirs(ov, fd, err) < 0)
                        return -1;
                if (!ov->private_tmp)
                        return 0;
                /* the base's mode (1777 as a rule), whatever the umask */
                if (make_dir(fd, "tmp", 0700, ov->dir, err) < 0)
                        return -1;
                if (fchmodat(fd, "tmp", ov->tmp_mode & 07777, 0) < 0)
                        return rc_error_set(err, errno, "chmod `%s/tmp`", ov->dir);
                return 0;
        }
        if (n_lower(ov) > 1)
                return 0;
        if (make_dir(fd, "empty", 0755, ov->dir, err) < 0)
                return -1;
        if (asprintf(ret_empty, "%s/empty", ov->dir) < 0)
                return rc_error_set(err, ENOMEM, "overlay directory");
        return 0;
}

static int fs_config(int fsfd, const char *key, const char *value, rc_error_t *err)
{
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0)
                return rc_error_set(err, errno, "overlay: set %s `%s`", key, value);
        return 0;
}

/* The new mount API, one lower layer per "lowerdir+" call: no length limit. */
static int mount_fsconfig(const struct rc_overlay *ov, const char *empty, const char *rootfs,
                          rc_error_t *err)
{
        _cleanup_close_ int fsfd = -1, mfd = -1;
        _cleanup_free_ char *upper = NULL, *work = NULL;

        fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return rc_error_set(err, errno, "overlay: fsopen");
        for (size_t i = n_lower(ov); i-- > 0;)
                if (fs_config(fsfd, "lowerdir+", ov->lower[i], err) < 0)
                        return -1;
        if (empty != NULL && fs_config(fsfd, "lowerdir+", empty, err) < 0)
                return -1;
        if (!ov->read_only) {
                if (asprintf(&upper, "%s/upper", ov->dir) < 0 || asprintf(&work, "%s/work", ov->dir) < 0)
                        return rc_error_set(err, ENOMEM, "overlay directory");
                if (fs_config(fsfd, "upperdir", upper, err) < 0 || fs_config(fsfd, "workdir", work, err) < 0)
                        return -1;
        }
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return rc_error_set(err, errno, "mount overlay on `%s`", rootfs);
        mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, ov->read_only ? MOUNT_ATTR_RDONLY : 0);
        if (mfd < 0)
                return rc_error_set(err, errno, "mount overlay on `%s`: fsmount", rootfs);
        if (rc_move_mount(mfd, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "attach overlay on `%s`", rootfs);
        return 0;
}

/* dir/tmp onto the overlay's /tmp (resolved inside it, no symlink followed) */
static int bind_tmp(const struct rc_overlay *ov, const char *rootfs, rc_error_t *err)
{
        _cleanup_close_ int tree = -1, root = -1, target = -1;
        _cleanup_free_ char *src = NULL;

        if (asprintf(&src, "%s/tmp", ov->dir) < 0)
                return rc_error_set(err, ENOMEM, "overlay directory");
        tree = rc_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return rc_error_set(err, errno, "bind `%s`", src);
        root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return rc_error_set(err, errno, "open rootfs `%s`", rootfs);
        target = rc_root_open(root, "/tmp", O_PATH | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
        if (target < 0)
                return rc_error_set(err, -target, "open /tmp in the overlay on `%s`", rootfs);
        if (rc_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "bind `%s` on /tmp", src);
        return 0;
}

int rc_overlay_mount(const struct rc_overlay *ov, const char *rootfs, rc_error_t *err)
{
        _cleanup_free_ char *empty = NULL, *data = NULL;

        /* first: nothing mounted from here on may reach the host */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return rc_error_set(err, errno, "set propagation of `/`");
        if (prepare_dir(ov, &empty, err) < 0 || rc_overlay_options(ov, empty, &data, err) < 0)
                return -1;
        if (strlen(data) > LEGACY_DATA_MAX) {
                if (mount_fsconfig(ov, empty, rootfs, err) < 0)
                        return -1;
        } else if (mount("overlay", rootfs, "overlay", ov->read_only ? MS_RDONLY : 0, data) < 0) {
                return rc_error_set(err, errno, "mount overlay on `%s`", rootfs);
        }
        if (ov->private_tmp && !ov->read_only && bind_tmp(ov, rootfs, err) < 0)
                return -1;
        return 0;
}
