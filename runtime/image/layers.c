/* Unpacking one layer blob into a directory, verified while it is read.
 *
 * Two libarchive readers in a pipe: the outer one reads the blob from its fd (every
 * byte hashed: the digest), undoes gzip or zstd (or nothing) and hands out the raw tar
 * stream; the inner one reads that stream (every byte hashed: the diff_id) as a tar.
 * After the tar's end both streams are drained, so the digests cover the whole blob,
 * and compared; on any failure a digest mismatch is the error reported, since it is
 * the cause. Nothing is trusted before that: the caller unpacks into a temp dir and
 * renames it into the cache only on success.
 *
 * Entries are created with *at calls relative to the layer's root fd, their parent
 * resolved inside that root (RESOLVE_IN_ROOT, see fsutil.c), so neither a symlink in
 * the layer nor a crafted name reaches outside it; absolute names and ".." components
 * are refused outright, hardlink targets too. OCI whiteouts become overlayfs ones:
 * ".wh.NAME" a 0/0 character device NAME, ".wh..wh..opq" the trusted.overlay.opaque=y
 * xattr on its directory. Device nodes are refused, overlayfs xattrs in the tar
 * dropped. Directory modes and times are applied at the end (a 0555 directory must
 * still take its children; adding them moves its mtime). */
#include "runtime/image/internal.h"
#include "runtime/image/libs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"

#define READ_CHUNK (128 * 1024)

struct dir_meta {
        char *path;
        mode_t mode;
        struct timespec mtime;
};

struct unpack {
        int rootfd;
        bool is_root; /* euid 0: owners kept, trusted.* xattrs set */
        const char *digest; /* for messages */
        const struct rc_logger *log;
        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs;
        bool stopped; /* a stop signal is pending (runtime/base/stopsig.h): given up */
};

/* Polled between entries and data blocks: the caller wants to stop. */
static int check_stop(struct unpack *u, rc_error_t *err)
{
        if (!rc_stop_signal_pending())
                return 0;
        u->stopped = true;
        return rc_error_set_status(err, ECANCELED, "unpack layer `%s`: interrupted by a stop signal",
                                   u->digest);
}

/* ---- the two readers ------------------------------------------------------------------ */

struct blob_src {
        int fd;
        struct rc_hash hash;
        uint64_t bytes;
        char buf[READ_CHUNK];
};

struct tar_src {
        struct archive *outer;
        struct rc_hash hash;
        char buf[READ_CHUNK];
};

static la_ssize_t blob_read(struct archive *a, void *data, const void **buf)
{
        struct blob_src *s = data;
        ssize_t n;

        do
                n = read(s->fd, s->buf, sizeof(s->buf));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read blob");
                return -1;
        }
        rc_hash_update(&s->hash, s->buf, (size_t)n);
        s->bytes += (uint64_t)n;
        *buf = s->buf;
        return n;
}

static la_ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
        struct tar_src *t = data;
        la_ssize_t n = archive_read_data(t->outer, t->buf, sizeof(t->buf));

        if (n < 0) {
                archive_set_error(a, archive_errno(t->outer), "%s", archive_error_string(t->outer));
                return -1;
        }
        rc_hash_update(&t->hash, t->buf, (size_t)n);
        *buf = t->buf;
        return n;
}

/* Read what is left of both streams through their hashes. */
static void drain(struct blob_src *src, struct tar_src *tar)
{
        la_ssize_t got;

        while ((got = archive_read_data(tar->outer, tar->buf, sizeof(tar->buf))) > 0)
                rc_hash_update(&tar->hash, tar->buf, (size_t)got);
        for (;;) {
                ssize_t n = read(src->fd, src->buf, sizeof(src->buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                rc_hash_update(&src->hash, src->buf, (size_t)n);
                src->bytes += (uint64_t)n;
        }
}

/* ---- paths -------------------------------------------------------------------------- */

/* "./a//b/" -> "a/b"; "" for the root. Refuses absolute names and ".." components. */
static int clean_path(const char *in, char **ret)
{
        _cleanup_free_ char *out = malloc(strlen(in) + 1);
        size_t len = 0;

        if (out == NULL)
                return -ENOMEM;
        if (in[0] == '/')
                return -EPERM;
        for (const char *p = in; *p != '\0';) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EPERM;
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
                p += strspn(p, "/");
        }
        out[len] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* Split a cleaned path into a malloc'ed parent ("" for the root) and its last name. */
static int split_path(const char *path, char **ret_parent, const char **ret_name)
{
        const char *slash = strrchr(path, '/');

        *ret_parent = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
        *ret_name = slash ? slash + 1 : path;
        return *ret_parent ? 0 : -ENOMEM;
}

static int entry_error(struct unpack *u, const char *path, int errnum, const char *what, rc_error_t *err)
{
        return rc_error_set(err, errnum, "unpack layer `%s`: %s `%s`", u->digest, what, path);
}

/* Make room for a new entry `name`: an existing directory is kept when want_dir
 * (returns 1), removed otherwise; anything else is unlinked. */
static int prepare_slot(int parentfd, const char *name, bool want_dir, rc_error_t *err)
{
        struct stat st;

        if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "stat `%s`", name);
        if (S_ISDIR(st.st_mode)) {
                if (want_dir)
                        return 1;
                return rc_remove_tree_at(parentfd, name, err);
        }
        if (unlinkat(parentfd, name, 0) < 0)
                return rc_error_set(err, errno, "replace `%s`", name);
        return 0;
}

/* ---- metadata ----------------------------------------------------------------------- */

static bool overlay_xattr(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/* Set the entry's xattrs on fd, or on parentfd/name (a symlink) when fd < 0. */
static int set_xattrs(struct unpack *u, struct archive_entry *e, int fd, int parentfd, const char *name,
                      const char *path, rc_error_t *err)
{
        char proc[RC_FD_PATH_MAX + 256];
        const char *xname;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        if (fd < 0) {
                rc_fd_path(parentfd, proc);
                size_t l = strlen(proc);
                snprintf(proc + l, sizeof(proc) - l, "/%s", name);
        }
        while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
                int r;

                if (overlay_xattr(xname)) {
                        rc_log(u->log, RC_LOG_DEBUG, "layer %s: `%s`: dropped xattr %s", u->digest, path,
                               xname);
                        continue;
                }
                r = fd >= 0 ? fsetxattr(fd, xname, value, size, 0) : lsetxattr(proc, xname, value, size, 0);
                if (r == 0)
                        continue;
                if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && !u->is_root)) {
                        rc_log(u->log, RC_LOG_DEBUG, "layer %s: `%s`: xattr %s not kept: %s", u->digest,
                               path, xname, strerror(errno));
                        continue;
                }
                return rc_error_set(err, errno, "unpack layer `%s`: set xattr %s on `%s`", u->digest, xname,
                                    path);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[0] = (struct timespec){.tv_nsec = UTIME_OMIT};
        ts[1] = (struct timespec){.tv_nsec = UTIME_OMIT};
        if (archive_entry_mtime_is_set(e))
                ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        else
                ts[0] = ts[1];
}

/* Owner, then mode (chown clears set-id bits), then xattrs (chown clears
 * security.capability), then times. Directories get mode and times later. */
static int set_meta_fd(struct unpack *u, struct archive_entry *e, int fd, bool dir, const char *path,
                       rc_error_t *err)
{
        struct timespec ts[2];

        if (u->is_root && fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                return entry_error(u, path, errno, "chown", err);
        if (!dir && fchmod(fd, archive_entry_perm(e)) < 0)
                return entry_error(u, path, errno, "chmod", err);
        if (set_xattrs(u, e, fd, -1, NULL, path, err) < 0)
                return -1;
        entry_times(e, ts);
        if (!dir && futimens(fd, ts) < 0)
                return entry_error(u, path, errno, "set times of", err);
        return 0;
}

static int defer_dir(struct unpack *u, const char *path, struct archive_entry *e)
{
        struct timespec ts[2];

        if (u->n_dirs == u->cap_dirs) {
                size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
                struct dir_meta *v = reallocarray(u->dirs, cap, sizeof(*v));

                if (v == NULL)
                        return -ENOMEM;
                u->dirs = v;
                u->cap_dirs = cap;
        }
        entry_times(e, ts);
        u->dirs[u->n_dirs] =
                (struct dir_meta){.path = strdup(path), .mode = archive_entry_perm(e), .mtime = ts[1]};
        if (u->dirs[u->n_dirs].path == NULL)
                return -ENOMEM;
        u->n_dirs++;
        return 0;
}

static int apply_dirs(struct unpack *u, rc_error_t *err)
{
        for (size_t i = u->n_dirs; i-- > 0;) {
                struct dir_meta *d = &u->dirs[i];
                struct timespec ts[2] = {d->mtime, d->mtime};
                _cleanup_close_ int fd =
                        rc_root_open(u->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, 0);

                if (fd < 0) /* replaced by a later entry of another type */
                        continue;
                if (fchmod(fd, d->mode) < 0)
                        return entry_error(u, d->path, errno, "chmod", err);
                if (d->mtime.tv_nsec != UTIME_OMIT && futimens(fd, ts) < 0)
                        return entry_error(u, d->path, errno, "set times of", err);
        }
        return 0;
}

/* ---- one entry of each kind ----------------------------------------------------------- */

static int make_dir(struct unpack *u, struct archive_entry *e, int parentfd, const char *name,
                    const char *path, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        int r = path[0] ? prepare_slot(parentfd, name, true, err) : 1;

        if (r < 0)
                return -1;
        if (r == 0 && mkdirat(parentfd, name, 0700) < 0)
                return entry_error(u, path, errno, "mkdir", err);
        fd = path[0] ? openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                     : openat(u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return entry_error(u, path, errno, "open", err);
        if (set_meta_fd(u, e, fd, true, path, err) < 0)
                return -1;
        if (defer_dir(u, path, e) < 0)
                return entry_error(u, path, ENOMEM, "record", err);
        return 0;
}

static int write_all_at(int fd, const char *buf, size_t len, off_t off)
{
        while (len > 0) {
                ssize_t n = pwrite(fd, buf, len, off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n, len -= (size_t)n, off += n;
        }
        return 0;
}

static int make_file(struct unpack *u, struct archive *a, struct archive_entry *e, int parentfd,
                     const char *name, const char *path, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        const void *buf;
        size_t size;
        la_int64_t off;
        int r;

        if (prepare_slot(parentfd, name, false, err) < 0)
                return -1;
        fd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return entry_error(u, path, errno, "create", err);
        while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
                int w = write_all_at(fd, buf, size, (off_t)off);

                if (w < 0)
                        return entry_error(u, path, -w, "write", err);
                if (check_stop(u, err) < 0)
                        return -1;
        }
        if (r != ARCHIVE_EOF)
                return rc_error_set(err, archive_errno(a), "unpack layer `%s`: read `%s`: %s", u->digest,
                                    path, archive_error_string(a));
        if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
                return entry_error(u, path, errno, "truncate", err);
        return set_meta_fd(u, e, fd, false, path, err);
}

static int make_symlink(struct unpack *u, struct archive_entry *e, int parentfd, const char *name,
                        const char *path, rc_error_t *err)
{
        const char *target = archive_entry_symlink(e);
        struct timespec ts[2];

        if (target == NULL)
                return entry_error(u, path, EINVAL, "symlink without a target", err);
        if (prepare_slot(parentfd, name, false, err) < 0)
                return -1;
        /* the target is text for the container to resolve in its own root */
        if (symlinkat(target, parentfd, name) < 0)
                return entry_error(u, path, errno, "symlink", err);
        if (u->is_root && fchownat(parentfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                                   AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(u, path, errno, "chown", err);
        if (set_xattrs(u, e, -1, parentfd, name, path, err) < 0)
                return -1;
        entry_times(e, ts);
        if (utimensat(parentfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(u, path, errno, "set times of", err);
        return 0;
}

static int make_hardlink(struct unpack *u, struct archive_entry *e, int parentfd, const char *name,
                         const char *path, rc_error_t *err)
{
        _cleanup_free_ char *target = NULL, *tparent = NULL;
        _cleanup_close_ int tparentfd = -1;
        const char *tname;
        struct stat st;
        int r = clean_path(archive_entry_hardlink(e), &target);

        if (r == -EPERM || (r == 0 && target[0] == '\0'))
                return rc_error_set_status(
                        err, EPERM,
                        "unpack layer `%s`: refused hardlink `%s` to `%s`: target outside "
                        "the layer",
                        u->digest, path, archive_entry_hardlink(e));
        if (r < 0 || split_path(target, &tparent, &tname) < 0)
                return entry_error(u, path, ENOMEM, "hardlink", err);
        tparentfd = rc_root_open(u->rootfd, tparent, O_PATH | O_DIRECTORY, 0, 0);
        if (tparentfd < 0 || fstatat(tparentfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return rc_error_set(err, tparentfd < 0 ? -tparentfd : errno,
                                    "unpack layer `%s`: hardlink `%s` to `%s`", u->digest, path, target);
        if (S_ISDIR(st.st_mode))
                return rc_error_set_status(err, EPERM,
                                           "unpack layer `%s`: refused hardlink `%s` to directory `%s`",
                                           u->digest, path, target);
        if (prepare_slot(parentfd, name, false, err) < 0)
                return -1;
        if (linkat(tparentfd, tname, parentfd, name, 0) < 0)
                return rc_error_set(err, errno, "unpack layer `%s`: hardlink `%s` to `%s`", u->digest, path,
                                    target);
        return 0;
}

/* ".wh.NAME": NAME is hidden from the layers below. An entry NAME of this same layer
 * stays (OCI: a whiteout only hides lower layers), whichever comes first. */
static int make_whiteout(struct unpack *u, int parentfd, const char *name, const char *path, rc_error_t *err)
{
        struct stat st;

        if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                rc_log(u->log, RC_LOG_DEBUG, "layer %s: whiteout of `%s` ignored: the layer has it",
                       u->digest, path);
                return 0;
        }
        if (mknodat(parentfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
                return entry_error(u, path, errno, "create whiteout", err);
        return 0;
}

static int make_opaque(struct unpack *u, const char *dir, rc_error_t *err)
{
        _cleanup_close_ int fd = rc_root_mkdir_p(u->rootfd, dir, 0755, 0);
        _cleanup_close_ int dfd = -1;

        if (fd < 0)
                return entry_error(u, dir[0] ? dir : ".", -fd, "mkdir", err);
        dfd = rc_root_open(u->rootfd, dir, O_RDONLY | O_DIRECTORY, 0, 0);
        if (dfd < 0)
                return entry_error(u, dir[0] ? dir : ".", -dfd, "open", err);
        if (fsetxattr(dfd, RC_OPAQUE_XATTR, "y", 1, 0) < 0)
                return rc_error_set(err, errno, "unpack layer `%s`: mark `%s` opaque (" RC_OPAQUE_XATTR ")",
                                    u->digest, dir[0] ? dir : ".");
        return 0;
}

static int refuse(struct unpack *u, const char *path, const char *why, rc_error_t *err)
{
        return rc_error_set_status(err, EPERM, "unpack layer `%s`: refused entry `%s`: %s", u->digest, path,
                                   why);
}

/* A whiteout name (the parent already resolved) or -> 0 when it was not one. */
static int whiteout_entry(struct unpack *u, const char *parent, const char *name, const char *path,
                          rc_error_t *err)
{
        const char *hidden = name + strlen(RC_WHITEOUT_PREFIX);
        _cleanup_close_ int parentfd = -1;

        if (strcmp(name, RC_WHITEOUT_OPAQUE) == 0)
                return make_opaque(u, parent, err) < 0 ? -1 : 1;
        if (strncmp(hidden, RC_WHITEOUT_PREFIX, strlen(RC_WHITEOUT_PREFIX)) == 0) {
                rc_log(u->log, RC_LOG_DEBUG, "layer %s: `%s` skipped (aufs metadata)", u->digest, path);
                return 1;
        }
        if (hidden[0] == '\0' || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
                return refuse(u, path, "invalid whiteout name", err);
        parentfd = rc_root_mkdir_p(u->rootfd, parent, 0755, 0);
        if (parentfd < 0)
                return entry_error(u, parent, -parentfd, "mkdir", err);
        return make_whiteout(u, parentfd, hidden, path, err) < 0 ? -1 : 1;
}

static int unpack_entry(struct unpack *u, struct archive *a, struct archive_entry *e, rc_error_t *err)
{
        const char *raw = archive_entry_pathname(e);
        _cleanup_free_ char *path = NULL, *parent = NULL;
        _cleanup_close_ int parentfd = -1;
        const char *name;
        mode_t type = archive_entry_filetype(e);
        int r;

        if (raw == NULL)
                raw = archive_entry_pathname_utf8(e);
        if (raw == NULL)
                return refuse(u, "?", "unreadable name", err);
        r = clean_path(raw, &path);
        if (r == -EPERM)
                return refuse(u, raw, "path outside the layer (absolute or \"..\")", err);
        if (r < 0 || split_path(path, &parent, &name) < 0)
                return entry_error(u, raw, ENOMEM, "read", err);
        if (path[0] == '\0')
                return type == AE_IFDIR ? make_dir(u, e, u->rootfd, ".", "", err)
                                        : refuse(u, raw, "the root is not a directory", err);
        if (strncmp(name, RC_WHITEOUT_PREFIX, strlen(RC_WHITEOUT_PREFIX)) == 0)
                return whiteout_entry(u, parent, name, path, err) < 0 ? -1 : 0;

        parentfd = rc_root_mkdir_p(u->rootfd, parent, 0755, 0);
        if (parentfd < 0)
                return entry_error(u, parent, -parentfd, "mkdir", err);
        if (archive_entry_hardlink(e) != NULL)
                return make_hardlink(u, e, parentfd, name, path, err);
        switch (type) {
        case AE_IFDIR:
                return make_dir(u, e, parentfd, name, path, err);
        case AE_IFREG:
                return make_file(u, a, e, parentfd, name, path, err);
        case AE_IFLNK:
                return make_symlink(u, e, parentfd, name, path, err);
        case AE_IFIFO:
                if (prepare_slot(parentfd, name, false, err) < 0)
                        return -1;
                if (mkfifoat(parentfd, name, archive_entry_perm(e)) < 0)
                        return entry_error(u, path, errno, "mkfifo", err);
                return 0;
        case AE_IFCHR:
                if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) {
                        if (prepare_slot(parentfd, name, false, err) < 0)
                                return -1;
                        return make_whiteout(u, parentfd, name, path, err); /* already overlayfs' form */
                }
                return refuse(u, path, "device node", err);
        case AE_IFBLK:
                return refuse(u, path, "device node", err);
        default:
                return refuse(u, path, "unsupported file type", err);
        }
}

/* ---- the whole blob ------------------------------------------------------------------ */

static int open_readers(struct blob_src *src, struct tar_src *tar, struct archive **ret_inner)
{
        struct archive *inner;

        tar->outer = archive_read_new();
        inner = archive_read_new();
        *ret_inner = inner;
        if (tar->outer == NULL || inner == NULL)
                return -ENOMEM;
        if (archive_read_support_filter_gzip(tar->outer) < ARCHIVE_WARN ||
            archive_read_support_filter_zstd(tar->outer) < ARCHIVE_WARN ||
            archive_read_support_format_raw(tar->outer) != ARCHIVE_OK ||
            archive_read_support_format_tar(inner) != ARCHIVE_OK)
                return -ENOTSUP;
        if (archive_read_open(tar->outer, src, NULL, blob_read, NULL) != ARCHIVE_OK)
                return -EIO;
        return 0;
}

static int read_entries(struct unpack *u, struct blob_src *src, struct tar_src *tar, rc_error_t *err)
{
        struct archive *inner = NULL;
        struct archive_entry *e;
        int r = open_readers(src, tar, &inner);

        if (r == -EIO || (r == 0 && archive_read_next_header(tar->outer, &e) != ARCHIVE_OK))
                r = rc_error_set(err, 0, "unpack layer `%s`: read blob: %s", u->digest,
                                 archive_error_string(tar->outer));
        else if (r < 0)
                r = rc_error_set(err, -r, "unpack layer `%s`: set up libarchive", u->digest);
        else if (archive_read_open(inner, tar, NULL, tar_read, NULL) != ARCHIVE_OK)
                r = rc_error_set(err, 0, "unpack layer `%s`: read tar: %s", u->digest,
                                 archive_error_string(inner));
        while (r == 0 && (r = check_stop(u, err)) == 0) {
                int h = archive_read_next_header(inner, &e);

                if (h == ARCHIVE_EOF)
                        break;
                if (h == ARCHIVE_WARN)
                        rc_log(u->log, RC_LOG_DEBUG, "layer %s: %s", u->digest, archive_error_string(inner));
                else if (h != ARCHIVE_OK) {
                        r = rc_error_set(err, 0, "unpack layer `%s`: read tar: %s", u->digest,
                                         archive_error_string(inner));
                        break;
                }
                r = unpack_entry(u, inner, e, err);
        }
        if (r == 0)
                r = apply_dirs(u, err);
        if (inner != NULL)
                archive_read_free(inner);
        return r;
}

static int check_digest(const char *what, const char *digest, struct rc_hash *h, const char *expected,
                        rc_error_t *err)
{
        _cleanup_free_ char *got = NULL;
        _cleanup_error_ rc_error_t e = NULL;

        if (rc_hash_final(h, &got, &e) < 0) {
                rc_error_move(err, &e);
                return -1;
        }
        if (strcmp(got, expected) != 0)
                return rc_error_set_status(err, EBADMSG,
                                           "verify layer `%s`: %s mismatch: expected %s, got %s", digest,
                                           what, expected, got);
        return 0;
}

int rc_layer_unpack(int blobfd, int rootfd, const char *digest, const char *diff_id,
                    const struct rc_logger *log, rc_error_t *err)
{
        _cleanup_free_ struct blob_src *src = calloc(1, sizeof(*src));
        _cleanup_free_ struct tar_src *tar = calloc(1, sizeof(*tar));
        _cleanup_error_ rc_error_t unpack_err = NULL;
        struct unpack u = {.rootfd = rootfd, .is_root = geteuid() == 0, .digest = digest, .log = log};
        char algo[8], dalgo[8];
        const char *hex;
        int r;

        if (src == NULL || tar == NULL)
                return rc_error_set(err, ENOMEM, "unpack layer `%s`", digest);
        if (rc_digest_split(digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "unpack layer: invalid digest \"%s\"", digest);
        if (diff_id != NULL && rc_digest_split(diff_id, dalgo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "unpack layer `%s`: invalid diff_id \"%s\"", digest,
                                           diff_id);
        src->fd = blobfd;
        if (rc_hash_init(&src->hash, algo, err) < 0 ||
            rc_hash_init(&tar->hash, diff_id ? dalgo : algo, err) < 0) {
                rc_hash_clear(&src->hash);
                return -1;
        }
        r = read_entries(&u, src, tar, &unpack_err);
        if (tar->outer != NULL) {
                if (!u.stopped) /* abandoned: the rest is not read for the digests */
                        drain(src, tar);
                archive_read_free(tar->outer);
        }
        for (size_t i = 0; i < u.n_dirs; i++)
                free(u.dirs[i].path);
        free(u.dirs);

        /* the blob's own digest first: a tampered blob explains any other failure */
        if (u.stopped)
                rc_error_move(err, &unpack_err);
        else if (check_digest("digest", digest, &src->hash, digest, err) < 0)
                r = -1;
        else if (r < 0)
                rc_error_move(err, &unpack_err);
        else if (diff_id != NULL && check_digest("diff_id", digest, &tar->hash, diff_id, err) < 0)
                r = -1;
        rc_hash_clear(&src->hash);
        rc_hash_clear(&tar->hash);
        return r < 0 ? -1 : 0;
}
