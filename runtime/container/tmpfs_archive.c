/* The archive of a tmpfs's tree (format: tmpfs_archive.h). */
#include "runtime/container/tmpfs_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define BUF_SIZE (256u * 1024)
#define MAX_DEPTH 256
#define XATTR_LIST_MAX_ 65536
#define XATTR_VALUE_MAX 65536
#define XATTRS_MAX 1024

/* ---- the fixed part of an entry --------------------------------------------------- */

static void put_le(uint8_t **p, uint64_t v, unsigned n)
{
        for (unsigned i = 0; i < n; i++, v >>= 8)
                *(*p)++ = (uint8_t)v;
}

static uint64_t get_le(const uint8_t **p, unsigned n)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < n; i++)
                v |= (uint64_t)(*p)[i] << (8 * i);
        *p += n;
        return v;
}

void rc_tmpfs_entry_encode(const struct rc_tmpfs_entry *e, uint8_t buf[RC_TMPFS_ENTRY_SIZE])
{
        uint8_t *p = buf;

        put_le(&p, e->type, 1);
        put_le(&p, e->mode, 4);
        put_le(&p, e->uid, 4);
        put_le(&p, e->gid, 4);
        put_le(&p, e->rdev, 8);
        put_le(&p, (uint64_t)e->atime_sec, 8);
        put_le(&p, e->atime_nsec, 4);
        put_le(&p, (uint64_t)e->mtime_sec, 8);
        put_le(&p, e->mtime_nsec, 4);
        put_le(&p, e->size, 8);
        put_le(&p, e->path_len, 4);
        put_le(&p, e->n_xattrs, 4);
}

int rc_tmpfs_entry_decode(const uint8_t buf[RC_TMPFS_ENTRY_SIZE], struct rc_tmpfs_entry *ret)
{
        const uint8_t *p = buf;
        struct rc_tmpfs_entry e;

        e.type = (uint8_t)get_le(&p, 1);
        e.mode = (uint32_t)get_le(&p, 4);
        e.uid = (uint32_t)get_le(&p, 4);
        e.gid = (uint32_t)get_le(&p, 4);
        e.rdev = get_le(&p, 8);
        e.atime_sec = (int64_t)get_le(&p, 8);
        e.atime_nsec = (uint32_t)get_le(&p, 4);
        e.mtime_sec = (int64_t)get_le(&p, 8);
        e.mtime_nsec = (uint32_t)get_le(&p, 4);
        e.size = get_le(&p, 8);
        e.path_len = (uint32_t)get_le(&p, 4);
        e.n_xattrs = (uint32_t)get_le(&p, 4);
        if (strchr("dflhcbpE", e.type) == NULL || e.type == '\0' || (e.mode & ~07777u) ||
            e.atime_nsec >= 1000000000u || e.mtime_nsec >= 1000000000u || e.path_len >= PATH_MAX ||
            e.n_xattrs > XATTRS_MAX)
                return -1;
        *ret = e;
        return 0;
}

bool rc_tmpfs_path_valid(const char *path, size_t len)
{
        size_t start = 0;

        if (len == 0 || len >= PATH_MAX || memchr(path, '\0', len) != NULL)
                return false;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && path[i] != '/')
                        continue;
                if (i == start || (i - start == 1 && path[start] == '.') ||
                    (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
                        return false;
                start = i + 1;
        }
        return true;
}

/* ---- writing ------------------------------------------------------------------------ */

struct writer {
        int fd;
        size_t len;
        uint8_t *buf;
        /* hard links: the first path of each inode with more than one name */
        struct link {
                ino_t ino;
                char *path;
        } * links;
        size_t n_links, cap_links;
        char path[PATH_MAX];
        rc_error_t *err;
};

static int wflush(struct writer *w)
{
        if (w->len > 0 && rc_write_all(w->fd, w->buf, w->len) < 0)
                return rc_error_set(w->err, errno, "write the archive");
        w->len = 0;
        return 0;
}

static int wput(struct writer *w, const void *p, size_t n)
{
        while (n > 0) {
                size_t k = BUF_SIZE - w->len < n ? BUF_SIZE - w->len : n;

                memcpy(w->buf + w->len, p, k);
                w->len += k;
                p = (const uint8_t *)p + k;
                n -= k;
                if (w->len == BUF_SIZE && wflush(w) < 0)
                        return -1;
        }
        return 0;
}

static int wput_u64(struct writer *w, uint64_t v)
{
        uint8_t b[8], *p = b;

        put_le(&p, v, 8);
        return wput(w, b, 8);
}

/* The xattrs of fd (-1: none) as the archive has them, in a malloc'ed block. */
static int collect_xattrs(struct writer *w, int fd, uint8_t **ret, size_t *ret_len, uint32_t *ret_n)
{
        _cleanup_free_ char *names = NULL;
        uint8_t *out = NULL;
        size_t len = 0;
        ssize_t n;

        *ret = NULL;
        *ret_len = 0;
        *ret_n = 0;
        if (fd < 0)
                return 0;
        names = malloc(XATTR_LIST_MAX_);
        if (names == NULL)
                return rc_error_set(w->err, ENOMEM, "`%s`: xattrs", w->path);
        n = flistxattr(fd, names, XATTR_LIST_MAX_);
        if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
                return 0;
        if (n < 0)
                return rc_error_set(w->err, errno, "`%s`: list xattrs", w->path);
        for (char *name = names; name < names + n; name += strlen(name) + 1) {
                size_t nl = strlen(name);
                uint8_t *grown = realloc(out, len + 8 + nl + XATTR_VALUE_MAX);
                ssize_t vl;
                uint8_t *p;

                if (grown == NULL) {
                        free(out);
                        return rc_error_set(w->err, ENOMEM, "`%s`: xattrs", w->path);
                }
                out = grown;
                vl = fgetxattr(fd, name, out + len + 8 + nl, XATTR_VALUE_MAX);
                if (vl < 0 && errno == ENODATA)
                        continue;
                if (vl < 0) {
                        free(out);
                        return rc_error_set(w->err, errno, "`%s`: xattr `%s`", w->path, name);
                }
                p = out + len;
                put_le(&p, nl, 4);
                put_le(&p, (uint64_t)vl, 4);
                memcpy(p, name, nl);
                len += 8 + nl + (size_t)vl;
                (*ret_n)++;
        }
        *ret = out;
        *ret_len = len;
        return 0;
}

static int put_entry(struct writer *w, uint8_t type, const struct stat *st, size_t plen, uint64_t size,
                     int xattr_fd)
{
        _cleanup_free_ uint8_t *xattrs = NULL;
        uint8_t fixed[RC_TMPFS_ENTRY_SIZE];
        struct rc_tmpfs_entry e = {
                .type = type,
                .mode = st->st_mode & 07777,
                .uid = st->st_uid,
                .gid = st->st_gid,
                .rdev = st->st_rdev,
                .atime_sec = st->st_atim.tv_sec,
                .atime_nsec = (uint32_t)st->st_atim.tv_nsec,
                .mtime_sec = st->st_mtim.tv_sec,
                .mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
                .size = size,
                .path_len = (uint32_t)plen,
        };
        size_t xlen;

        if (collect_xattrs(w, xattr_fd, &xattrs, &xlen, &e.n_xattrs) < 0)
                return -1;
        rc_tmpfs_entry_encode(&e, fixed);
        if (wput(w, fixed, sizeof(fixed)) < 0 || wput(w, w->path, plen) < 0 || wput(w, xattrs, xlen) < 0)
                return -1;
        return 0;
}

/* The segments of a regular file: its data between the holes. */
static int put_data(struct writer *w, int fd, uint64_t size)
{
        uint64_t off = 0;

        while (off < size) {
                off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole = (off_t)size;

                if (data < 0 && errno == ENXIO)
                        break;
                if (data < 0 && errno == EINVAL) /* no SEEK_DATA here: all of it is data */
                        data = (off_t)off;
                else if (data < 0 || (hole = lseek(fd, data, SEEK_HOLE)) < 0)
                        return rc_error_set(w->err, errno, "`%s`: find its data", w->path);
                if ((uint64_t)hole > size)
                        hole = (off_t)size;
                if ((uint64_t)data >= size)
                        break;
                if (wput_u64(w, (uint64_t)data) < 0 || wput_u64(w, (uint64_t)(hole - data)) < 0)
                        return -1;
                for (off_t at = data; at < hole;) {
                        size_t room, want;
                        ssize_t n;

                        if (w->len == BUF_SIZE && wflush(w) < 0)
                                return -1;
                        room = BUF_SIZE - w->len;
                        want = (size_t)(hole - at) < room ? (size_t)(hole - at) : room;
                        n = pread(fd, w->buf + w->len, want, at);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return rc_error_set(w->err, errno, "`%s`: read", w->path);
                        if (n == 0)
                                return rc_error_set(w->err, 0, "`%s`: shorter than its size while frozen",
                                                    w->path);
                        w->len += (size_t)n;
                        at += n;
                }
                off = (uint64_t)hole;
        }
        return wput_u64(w, 0) < 0 || wput_u64(w, 0) < 0 ? -1 : 0;
}

/* 1 when st is an inode already archived under another name (w->path is it, then). */
static int seen_link(struct writer *w, const struct stat *st, size_t plen, const char **ret_first)
{
        struct link *grown;

        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return 0;
        for (size_t i = 0; i < w->n_links; i++)
                if (w->links[i].ino == st->st_ino) {
                        *ret_first = w->links[i].path;
                        return 1;
                }
        if (w->n_links == w->cap_links) {
                size_t cap = w->cap_links ? 2 * w->cap_links : 16;

                grown = realloc(w->links, cap * sizeof(*grown));
                if (grown == NULL)
                        return rc_error_set(w->err, ENOMEM, "`%s`", w->path);
                w->links = grown;
                w->cap_links = cap;
        }
        w->links[w->n_links].ino = st->st_ino;
        w->links[w->n_links].path = strndup(w->path, plen);
        if (w->links[w->n_links].path == NULL)
                return rc_error_set(w->err, ENOMEM, "`%s`", w->path);
        w->n_links++;
        return 0;
}

static int walk_dir(struct writer *w, int dirfd, size_t plen, unsigned depth);

static int walk_entry(struct writer *w, int dirfd, const char *name, size_t plen, unsigned depth)
{
        size_t nlen = strlen(name), len = plen + (plen > 0) + nlen;
        _cleanup_close_ int fd = -1;
        const char *first = NULL;
        char target[PATH_MAX];
        struct stat st;
        ssize_t tl;
        int r;

        if (len >= sizeof(w->path))
                return rc_error_set(w->err, ENAMETOOLONG, "`%.*s/%s`", (int)plen, w->path, name);
        if (plen > 0)
                w->path[plen] = '/';
        memcpy(w->path + plen + (plen > 0), name, nlen + 1);
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return rc_error_set(w->err, errno, "`%s`", w->path);
        r = seen_link(w, &st, len, &first);
        if (r < 0)
                return -1;
        if (r > 0) {
                size_t fl = strlen(first);

                return put_entry(w, 'h', &st, len, fl, -1) < 0 ? -1 : wput(w, first, fl);
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                if (depth >= MAX_DEPTH)
                        return rc_error_set(w->err, ELOOP, "`%s`: deeper than %d", w->path, MAX_DEPTH);
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return rc_error_set(w->err, errno, "`%s`", w->path);
                return put_entry(w, 'd', &st, len, 0, fd) < 0 ? -1 : walk_dir(w, fd, len, depth + 1);
        case S_IFREG:
                fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0)
                        return rc_error_set(w->err, errno, "`%s`", w->path);
                return put_entry(w, 'f', &st, len, (uint64_t)st.st_size, fd) < 0
                               ? -1
                               : put_data(w, fd, (uint64_t)st.st_size);
        case S_IFLNK:
                tl = readlinkat(dirfd, name, target, sizeof(target));
                if (tl < 0 || (size_t)tl >= sizeof(target))
                        return rc_error_set(w->err, tl < 0 ? errno : ENAMETOOLONG, "`%s`: readlink",
                                            w->path);
                return put_entry(w, 'l', &st, len, (uint64_t)tl, -1) < 0 ? -1 : wput(w, target, (size_t)tl);
        case S_IFCHR:
                return put_entry(w, 'c', &st, len, 0, -1);
        case S_IFBLK:
                return put_entry(w, 'b', &st, len, 0, -1);
        case S_IFIFO:
                return put_entry(w, 'p', &st, len, 0, -1);
        default: /* a socket: restored by CRIU, if anything holds it */
                return 0;
        }
}

static int walk_dir(struct writer *w, int dirfd, size_t plen, unsigned depth)
{
        DIR *d = rc_opendir_dup(dirfd);
        struct dirent *de;
        int r = 0;

        if (d == NULL)
                return rc_error_set(w->err, errno, "`%.*s`: read the directory", (int)plen, w->path);
        while (r == 0 && (errno = 0, de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = walk_entry(w, dirfd, de->d_name, plen, depth);
        if (r == 0 && errno != 0)
                r = rc_error_set(w->err, errno, "`%.*s`: read the directory", (int)plen, w->path);
        closedir(d);
        return r;
}

int rc_tmpfs_archive_write(int dirfd, int outfd, rc_error_t *err)
{
        struct writer w = {.fd = outfd, .err = err};
        struct rc_tmpfs_entry end = {.type = 'E'};
        uint8_t fixed[RC_TMPFS_ENTRY_SIZE];
        struct stat st;
        int r = -1;

        w.buf = malloc(BUF_SIZE);
        if (w.buf == NULL)
                return rc_error_set(err, ENOMEM, "archive buffer");
        rc_tmpfs_entry_encode(&end, fixed);
        if (fstat(dirfd, &st) < 0)
                rc_error_set(err, errno, "the root");
        else if (wput(&w, RC_TMPFS_MAGIC, 8) == 0 && put_entry(&w, 'd', &st, 0, 0, dirfd) == 0 &&
                 walk_dir(&w, dirfd, 0, 0) == 0 && wput(&w, fixed, sizeof(fixed)) == 0)
                r = wflush(&w);
        for (size_t i = 0; i < w.n_links; i++)
                free(w.links[i].path);
        free(w.links);
        free(w.buf);
        return r;
}

/* ---- reading ------------------------------------------------------------------------ */

struct reader {
        int fd;
        size_t pos, len;
        uint64_t off; /* of buf[0] in the archive */
        uint8_t *buf;
        const char *name;
        char path[PATH_MAX];
        /* the directories' owner, mode and times, set last (in reverse) */
        struct dir_meta {
                char *path;
                struct rc_tmpfs_entry e;
        } * dirs;
        size_t n_dirs, cap_dirs;
        /* the parent directory of the last entry, opened */
        char parent[PATH_MAX];
        int parent_fd;
        int root;
        rc_error_t *err;
};

static uint64_t rtell(const struct reader *r)
{
        return r->off + r->pos;
}

/* 1 at the end of the archive (only when allowed), 0 with n bytes, -1 with an error. */
static int rfill(struct reader *r)
{
        ssize_t n;

        r->off += r->len;
        r->pos = r->len = 0;
        do
                n = read(r->fd, r->buf, BUF_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(r->err, errno, "archive `%s`: read at byte %llu", r->name,
                                    (unsigned long long)r->off);
        r->len = (size_t)n;
        return n == 0 ? 1 : 0;
}

static int rget(struct reader *r, void *p, size_t n)
{
        while (n > 0) {
                size_t k;

                if (r->pos == r->len) {
                        int f = rfill(r);

                        if (f < 0)
                                return -1;
                        if (f > 0)
                                return rc_error_set(r->err, 0, "archive `%s`: truncated at byte %llu",
                                                    r->name, (unsigned long long)rtell(r));
                }
                k = r->len - r->pos < n ? r->len - r->pos : n;
                memcpy(p, r->buf + r->pos, k);
                r->pos += k;
                p = (uint8_t *)p + k;
                n -= k;
        }
        return 0;
}

static int rget_u64(struct reader *r, uint64_t *v)
{
        uint8_t b[8];
        const uint8_t *p = b;

        if (rget(r, b, 8) < 0)
                return -1;
        *v = get_le(&p, 8);
        return 0;
}

static int bad(struct reader *r, int errnum, const char *what)
{
        return rc_error_set(r->err, errnum, "archive `%s`: entry `%s` (before byte %llu): %s", r->name,
                            r->path, (unsigned long long)rtell(r), what);
}

/* Open the parent directory of r->path (its last component is *ret_base). */
static int open_parent(struct reader *r, const char **ret_base)
{
        char *slash = strrchr(r->path, '/');
        size_t plen = slash != NULL ? (size_t)(slash - r->path) : 0;
        int fd;

        *ret_base = slash != NULL ? slash + 1 : r->path;
        if (r->parent_fd >= 0 && strlen(r->parent) == plen && memcmp(r->parent, r->path, plen) == 0)
                return r->parent_fd;
        if (plen == 0)
                fd = fcntl(r->root, F_DUPFD_CLOEXEC, 3);
        else {
                memcpy(r->parent, r->path, plen);
                r->parent[plen] = '\0';
                fd = rc_root_open(r->root, r->parent, O_RDONLY | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
                if (fd < 0)
                        errno = -fd;
        }
        if (fd < 0)
                return bad(r, errno, "its directory");
        if (r->parent_fd >= 0)
                close(r->parent_fd);
        r->parent_fd = fd;
        memcpy(r->parent, r->path, plen);
        r->parent[plen] = '\0';
        return fd;
}

/* Read the xattrs of an entry and set them on fd (-1: an entry that has none). */
static int set_xattrs(struct reader *r, uint32_t n, int fd)
{
        _cleanup_free_ char *value = NULL;

        if (n > 0 && fd < 0)
                return bad(r, 0, "xattrs on an entry of a type that has none");
        if (n > 0 && (value = malloc(XATTR_VALUE_MAX)) == NULL)
                return bad(r, ENOMEM, "xattrs");
        for (uint32_t i = 0; i < n; i++) {
                uint8_t h[8];
                const uint8_t *p = h;
                char name[XATTR_NAME_MAX + 1];
                uint32_t nl, vl;

                if (rget(r, h, 8) < 0)
                        return -1;
                nl = (uint32_t)get_le(&p, 4);
                vl = (uint32_t)get_le(&p, 4);
                if (nl == 0 || nl > XATTR_NAME_MAX || vl > XATTR_VALUE_MAX)
                        return bad(r, 0, "xattr name or value out of range");
                if (rget(r, name, nl) < 0 || rget(r, value, vl) < 0)
                        return -1;
                name[nl] = '\0';
                if (strlen(name) != nl)
                        return bad(r, 0, "xattr name with a NUL byte");
                if (fsetxattr(fd, name, value, vl, 0) < 0)
                        return rc_error_set(r->err, errno, "archive `%s`: entry `%s`: set xattr `%s`",
                                            r->name, r->path, name);
        }
        return 0;
}

static int set_meta(struct reader *r, int fd, const struct rc_tmpfs_entry *e)
{
        const struct timespec t[2] = {{e->atime_sec, e->atime_nsec}, {e->mtime_sec, e->mtime_nsec}};

        if (fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->mode) < 0 || futimens(fd, t) < 0)
                return rc_error_set(r->err, errno, "archive `%s`: entry `%s`: owner, mode and times",
                                    r->name, r->path);
        return 0;
}

static int set_meta_at(struct reader *r, int dirfd, const char *base, const struct rc_tmpfs_entry *e)
{
        const struct timespec t[2] = {{e->atime_sec, e->atime_nsec}, {e->mtime_sec, e->mtime_nsec}};

        if (fchownat(dirfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            (e->type != 'l' && fchmodat(dirfd, base, e->mode, 0) < 0) ||
            utimensat(dirfd, base, t, AT_SYMLINK_NOFOLLOW) < 0)
                return rc_error_set(r->err, errno, "archive `%s`: entry `%s`: owner, mode and times",
                                    r->name, r->path);
        return 0;
}

static int read_file(struct reader *r, int dirfd, const char *base, const struct rc_tmpfs_entry *e)
{
        _cleanup_close_ int fd =
                openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        uint64_t end = 0;

        if (fd < 0)
                return bad(r, errno, "create");
        if (set_xattrs(r, e->n_xattrs, fd) < 0)
                return -1;
        if (ftruncate(fd, (off_t)e->size) < 0)
                return bad(r, errno, "set its size");
        for (;;) {
                uint64_t off, len;

                if (rget_u64(r, &off) < 0 || rget_u64(r, &len) < 0)
                        return -1;
                if (len == 0)
                        break;
                if (off < end || off > e->size || len > e->size - off)
                        return bad(r, 0, "a data segment out of order or beyond the size");
                end = off + len;
                while (len > 0) {
                        ssize_t n;
                        size_t k;

                        if (r->pos == r->len) {
                                int f = rfill(r);

                                if (f != 0)
                                        return f < 0 ? -1 : bad(r, 0, "truncated data");
                        }
                        k = r->len - r->pos < len ? r->len - r->pos : (size_t)len;
                        n = pwrite(fd, r->buf + r->pos, k, (off_t)off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return bad(r, n < 0 ? errno : EIO, "write");
                        r->pos += (size_t)n;
                        off += (uint64_t)n;
                        len -= (uint64_t)n;
                }
        }
        return set_meta(r, fd, e);
}

/* A symlink's target or a hard link's path (size bytes) into buf. */
static int read_text(struct reader *r, const struct rc_tmpfs_entry *e, char *buf, size_t size)
{
        if (e->size == 0 || e->size >= size)
                return bad(r, 0, "link text of a bad length");
        if (rget(r, buf, (size_t)e->size) < 0)
                return -1;
        buf[e->size] = '\0';
        if (strlen(buf) != e->size)
                return bad(r, 0, "link text with a NUL byte");
        return 0;
}

static int read_hardlink(struct reader *r, int dirfd, const char *base, const struct rc_tmpfs_entry *e)
{
        char target[PATH_MAX], *slash;
        _cleanup_close_ int tdir = -1;

        if (read_text(r, e, target, sizeof(target)) < 0)
                return -1;
        if (!rc_tmpfs_path_valid(target, strlen(target)))
                return bad(r, 0, "hard link to a bad path");
        slash = strrchr(target, '/');
        if (slash != NULL) {
                *slash = '\0';
                tdir = rc_root_open(r->root, target, O_RDONLY | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
                if (tdir < 0)
                        return bad(r, -tdir, "the directory of its hard link's target");
        }
        if (linkat(slash != NULL ? tdir : r->root, slash != NULL ? slash + 1 : target, dirfd, base, 0) < 0)
                return bad(r, errno, "hard link");
        return 0;
}

static int defer_dir(struct reader *r, const struct rc_tmpfs_entry *e)
{
        if (r->n_dirs == r->cap_dirs) {
                size_t cap = r->cap_dirs ? 2 * r->cap_dirs : 32;
                struct dir_meta *grown = realloc(r->dirs, cap * sizeof(*grown));

                if (grown == NULL)
                        return bad(r, ENOMEM, "directory");
                r->dirs = grown;
                r->cap_dirs = cap;
        }
        r->dirs[r->n_dirs].path = strdup(r->path);
        if (r->dirs[r->n_dirs].path == NULL)
                return bad(r, ENOMEM, "directory");
        r->dirs[r->n_dirs++].e = *e;
        return 0;
}

static int read_dir(struct reader *r, int dirfd, const char *base, const struct rc_tmpfs_entry *e)
{
        _cleanup_close_ int fd = -1;

        if (base != NULL && mkdirat(dirfd, base, 0700) < 0)
                return bad(r, errno, "mkdir");
        fd = base != NULL ? openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                          : fcntl(r->root, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return bad(r, errno, "open");
        return set_xattrs(r, e->n_xattrs, fd) < 0 ? -1 : defer_dir(r, e);
}

/* One entry: 1 at the end, 0 done, -1 error. */
static int read_entry(struct reader *r, bool first)
{
        uint8_t fixed[RC_TMPFS_ENTRY_SIZE];
        struct rc_tmpfs_entry e;
        const char *base = NULL;
        char target[PATH_MAX];
        int dirfd;

        strcpy(r->path, "");
        if (rget(r, fixed, sizeof(fixed)) < 0)
                return -1;
        if (rc_tmpfs_entry_decode(fixed, &e) < 0)
                return bad(r, 0, "not an entry (a field out of range)");
        if (e.type == 'E')
                return first ? bad(r, 0, "no root directory") : 1;
        if (rget(r, r->path, e.path_len) < 0)
                return -1;
        r->path[e.path_len] = '\0';
        if (first != (e.path_len == 0) || (first && e.type != 'd'))
                return bad(r, 0, first ? "the first entry is not the root directory" : "an empty path");
        if (!first && !rc_tmpfs_path_valid(r->path, e.path_len))
                return bad(r, 0, "not a relative path of plain names");
        if (first)
                return read_dir(r, -1, NULL, &e);
        dirfd = open_parent(r, &base);
        if (dirfd < 0)
                return -1;
        if (e.type != 'f' && e.type != 'd' && e.n_xattrs > 0)
                return bad(r, 0, "xattrs on an entry of a type that has none");
        switch (e.type) {
        case 'd':
                return read_dir(r, dirfd, base, &e);
        case 'f':
                return read_file(r, dirfd, base, &e);
        case 'h':
                return read_hardlink(r, dirfd, base, &e);
        case 'l':
                if (read_text(r, &e, target, sizeof(target)) < 0)
                        return -1;
                if (symlinkat(target, dirfd, base) < 0)
                        return bad(r, errno, "symlink");
                return set_meta_at(r, dirfd, base, &e);
        default: {
                mode_t type = e.type == 'c' ? S_IFCHR : e.type == 'b' ? S_IFBLK : S_IFIFO;

                if (mknodat(dirfd, base, type | 0600, (dev_t)e.rdev) < 0)
                        return bad(r, errno, "mknod");
                return set_meta_at(r, dirfd, base, &e);
        }
        }
}

static int finish_dirs(struct reader *r)
{
        for (size_t i = r->n_dirs; i-- > 0;) {
                _cleanup_close_ int fd = r->dirs[i].path[0] == '\0' ? fcntl(r->root, F_DUPFD_CLOEXEC, 3)
                                                                    : rc_root_open(r->root, r->dirs[i].path,
                                                                                   O_RDONLY | O_DIRECTORY, 0,
                                                                                   RC_ROOT_NO_SYMLINKS);

                snprintf(r->path, sizeof(r->path), "%s", r->dirs[i].path);
                if (fd < 0)
                        return bad(r, r->dirs[i].path[0] == '\0' ? errno : -fd, "open");
                if (set_meta(r, fd, &r->dirs[i].e) < 0)
                        return -1;
        }
        return 0;
}

int rc_tmpfs_archive_read(int infd, const char *name, int dirfd, rc_error_t *err)
{
        struct reader r = {.fd = infd, .name = name, .parent_fd = -1, .root = dirfd, .err = err};
        char magic[8];
        int ret;

        r.buf = malloc(BUF_SIZE);
        if (r.buf == NULL)
                return rc_error_set(err, ENOMEM, "archive `%s`", name);
        ret = rget(&r, magic, sizeof(magic));
        if (ret == 0 && memcmp(magic, RC_TMPFS_MAGIC, 8) != 0)
                ret = rc_error_set(err, 0, "archive `%s`: not a run-container tmpfs archive (bad magic)",
                                   name);
        for (bool first = true; ret == 0; first = false)
                ret = read_entry(&r, first);
        if (ret > 0) {
                ret = r.pos < r.len ? 0 : rfill(&r);
                if (ret == 0)
                        ret = rc_error_set(err, 0, "archive `%s`: data after its end, at byte %llu", name,
                                           (unsigned long long)rtell(&r));
                else if (ret > 0)
                        ret = 0;
        }
        if (ret == 0)
                ret = finish_dirs(&r);
        for (size_t i = 0; i < r.n_dirs; i++)
                free(r.dirs[i].path);
        free(r.dirs);
        if (r.parent_fd >= 0)
                close(r.parent_fd);
        free(r.buf);
        return ret < 0 ? -1 : 0;
}
