/* Content-addressed blobs: digests (OpenSSL EVP), verified reads from a layout, new
 * blobs stored under their digest, and the extraction of an OCI archive (a tar of a
 * layout) into a layout directory. An archive's member names are only compared with
 * the names we expect ("index.json", "blobs/<algo>/<hex>"); the files written are
 * named by us, so nothing in the archive chooses a path. */
#include "runtime/image/internal.h"
#include "runtime/image/libs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define COPY_CHUNK (128 * 1024)

/* ---- digests ---------------------------------------------------------------------- */

int rc_digest_split(const char *digest, char ret_algo[8], const char **ret_hex)
{
        static const struct {
                const char *algo;
                size_t hexlen;
        } algos[] = {{"sha256", 64}, {"sha512", 128}};

        if (digest == NULL)
                return -1;
        for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
                size_t alen = strlen(algos[i].algo);
                const char *hex = digest + alen + 1;

                if (strncmp(digest, algos[i].algo, alen) != 0 || digest[alen] != ':')
                        continue;
                if (strlen(hex) != algos[i].hexlen || strspn(hex, "0123456789abcdef") != algos[i].hexlen)
                        return -1;
                memcpy(ret_algo, algos[i].algo, alen + 1);
                *ret_hex = hex;
                return 0;
        }
        return -1;
}

int rc_hash_init(struct rc_hash *h, const char *algo, rc_error_t *err)
{
        const EVP_MD *md;

        if (rc_image_libs_load(err) < 0)
                return -1;
        md = strcmp(algo, "sha256") == 0 ? EVP_sha256() : strcmp(algo, "sha512") == 0 ? EVP_sha512() : NULL;

        *h = (struct rc_hash){0};
        if (md == NULL)
                return rc_error_set_status(err, ENOTSUP, "unsupported digest algorithm \"%s\"", algo);
        snprintf(h->algo, sizeof(h->algo), "%s", algo);
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
                rc_hash_clear(h);
                return rc_error_set_status(err, ENOMEM, "initialise %s digest", algo);
        }
        return 0;
}

void rc_hash_update(struct rc_hash *h, const void *buf, size_t len)
{
        if (len > 0 && !h->failed && EVP_DigestUpdate(h->ctx, buf, len) != 1)
                h->failed = true;
}

int rc_hash_final(struct rc_hash *h, char **ret, rc_error_t *err)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char *out;

        if (h->failed || h->ctx == NULL || EVP_DigestFinal_ex(h->ctx, md, &len) != 1)
                return rc_error_set_status(err, EIO, "compute %s digest", h->algo);
        h->failed = true; /* finalised */
        out = malloc(strlen(h->algo) + 2 + 2 * (size_t)len);
        if (out == NULL)
                return rc_error_set(err, ENOMEM, "compute %s digest", h->algo);
        size_t n = (size_t)sprintf(out, "%s:", h->algo);
        for (unsigned i = 0; i < len; i++)
                n += (size_t)sprintf(out + n, "%02x", md[i]);
        *ret = out;
        return 0;
}

void rc_hash_clear(struct rc_hash *h)
{
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
}

int rc_sha256_digest(const void *buf, size_t len, char **ret, rc_error_t *err)
{
        struct rc_hash h;
        int r;

        if (rc_hash_init(&h, "sha256", err) < 0)
                return -1;
        rc_hash_update(&h, buf, len);
        r = rc_hash_final(&h, ret, err);
        rc_hash_clear(&h);
        return r;
}

/* ---- reading blobs ------------------------------------------------------------------ */

int rc_blob_open(int layoutfd, const char *digest, rc_error_t *err)
{
        char path[16 + 8 + 128 + 2], algo[8];
        const char *hex;
        int fd;

        if (rc_digest_split(digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid digest \"%s\"", digest ? digest : "");
        snprintf(path, sizeof(path), "blobs/%s/%s", algo, hex);
        fd = openat(layoutfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open blob `%s`", digest);
        return fd;
}

int rc_blob_read(int layoutfd, const struct rc_descriptor *d, size_t max, char **ret, size_t *ret_len,
                 rc_error_t *err)
{
        _cleanup_close_ int fd = rc_blob_open(layoutfd, d->digest, err);
        _cleanup_free_ char *buf = NULL, *got = NULL;
        struct rc_hash h;
        char algo[8];
        const char *hex;
        size_t len = 0;
        int r;

        if (fd < 0)
                return -1;
        if (d->size > max)
                return rc_error_set_status(err, EFBIG,
                                           "read blob `%s`: %llu bytes, more than the %zu allowed",
                                           d->digest, (unsigned long long)d->size, max);
        if (rc_read_fd(fd, d->digest, max, &buf, &len, err) < 0)
                return rc_error_wrap(err, "read blob");
        if (rc_digest_split(d->digest, algo, &hex) < 0 || rc_hash_init(&h, algo, err) < 0)
                return -1;
        rc_hash_update(&h, buf, len);
        r = rc_hash_final(&h, &got, err);
        rc_hash_clear(&h);
        if (r < 0)
                return -1;
        if (strcmp(got, d->digest) != 0)
                return rc_error_set_status(err, EBADMSG,
                                           "verify blob `%s`: digest mismatch: expected %s, got %s",
                                           d->digest, d->digest, got);
        if (len != d->size)
                return rc_error_set_status(err, EBADMSG,
                                           "verify blob `%s`: size mismatch: expected %llu, got %zu",
                                           d->digest, (unsigned long long)d->size, len);
        *ret = TAKE_PTR(buf);
        if (ret_len != NULL)
                *ret_len = len;
        return 0;
}

/* ---- storing blobs ------------------------------------------------------------------- */

int rc_blob_tmp_open(int layoutfd, const char *algo, struct rc_blob_tmp *ret, rc_error_t *err)
{
        char dir[16];
        _cleanup_close_ int dirfd = -1;
        int fd;

        *ret = (struct rc_blob_tmp){.dirfd = -1, .fd = -1};
        snprintf(dir, sizeof(dir), "blobs/%s", algo);
        dirfd = rc_root_mkdir_p(layoutfd, dir, 0755, RC_ROOT_NO_SYMLINKS);
        if (dirfd < 0)
                return rc_error_set(err, -dirfd, "mkdir `%s`", dir);
        fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                /* no O_TMPFILE here: a named temp file, never a valid digest name */
                char name[] = ".tmp-XXXXXX";
                _cleanup_close_ int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                for (int i = 0; i < 100 && dfd >= 0; i++) {
                        snprintf(name, sizeof(name), ".tmp-%06x", (unsigned)(random() & 0xffffff));
                        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (fd >= 0 || errno != EEXIST)
                                break;
                }
                if (fd >= 0 && (ret->tmpname = strdup(name)) == NULL) {
                        unlinkat(dirfd, name, 0);
                        close(fd);
                        return rc_error_set(err, ENOMEM, "create a blob in `%s`", dir);
                }
        }
        if (fd < 0)
                return rc_error_set(err, errno, "create a blob in `%s`", dir);
        ret->fd = fd;
        ret->dirfd = TAKE_FD(dirfd);
        return 0;
}

int rc_blob_tmp_finish(struct rc_blob_tmp *t, const char *digest, rc_error_t *err)
{
        char algo[8], proc[RC_FD_PATH_MAX];
        const char *hex;
        int r;

        if (rc_digest_split(digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid digest \"%s\"", digest);
        if (t->tmpname != NULL) {
                r = renameat(t->dirfd, t->tmpname, t->dirfd, hex);
                if (r == 0) {
                        free(t->tmpname);
                        t->tmpname = NULL;
                }
        } else {
                rc_fd_path(t->fd, proc);
                r = linkat(AT_FDCWD, proc, t->dirfd, hex, AT_SYMLINK_FOLLOW);
                if (r < 0 && errno == EEXIST) /* the same content is already there */
                        r = 0;
        }
        if (r < 0)
                return rc_error_set(err, errno, "store blob `%s`", digest);
        return 0;
}

void rc_blob_tmp_clear(struct rc_blob_tmp *t)
{
        if (t->tmpname != NULL && t->dirfd >= 0)
                unlinkat(t->dirfd, t->tmpname, 0);
        free(t->tmpname);
        t->tmpname = NULL;
        rc_closep(&t->fd);
        rc_closep(&t->dirfd);
        t->fd = t->dirfd = -1;
}

/* Copy from a reader into a new blob, hashing; keep it only if it hashes to digest. */
typedef la_ssize_t (*read_fn)(void *data, void *buf, size_t len);

static int store_verified(int layoutfd, const char *digest, read_fn rd, void *data, rc_error_t *err)
{
        struct rc_blob_tmp t = {.dirfd = -1, .fd = -1};
        struct rc_hash h;
        _cleanup_free_ char *buf = malloc(COPY_CHUNK), *got = NULL;
        char algo[8];
        const char *hex;
        la_ssize_t n;
        int r = -1;

        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "copy blob `%s`", digest);
        if (rc_digest_split(digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid digest \"%s\"", digest);
        if (rc_hash_init(&h, algo, err) < 0)
                return -1;
        if (rc_blob_tmp_open(layoutfd, algo, &t, err) < 0)
                goto out;
        while ((n = rd(data, buf, COPY_CHUNK)) > 0) {
                rc_hash_update(&h, buf, (size_t)n);
                if (rc_write_all(t.fd, buf, (size_t)n) < 0) {
                        rc_error_set(err, errno, "write blob `%s`", digest);
                        goto out;
                }
        }
        if (n < 0) {
                rc_error_set(err, errno ? errno : EIO, "copy blob `%s`", digest);
                goto out;
        }
        if (rc_hash_final(&h, &got, err) < 0)
                goto out;
        if (strcmp(got, digest) != 0) {
                rc_error_set_status(err, EBADMSG, "verify blob `%s`: digest mismatch: expected %s, got %s",
                                    digest, digest, got);
                goto out;
        }
        r = rc_blob_tmp_finish(&t, digest, err);
out:
        rc_blob_tmp_clear(&t);
        rc_hash_clear(&h);
        return r;
}

static la_ssize_t fd_read(void *data, void *buf, size_t len)
{
        ssize_t n;

        do
                n = read(*(int *)data, buf, len);
        while (n < 0 && errno == EINTR);
        return n;
}

int rc_blob_copy(int srcfd, int dstfd, const char *digest, rc_error_t *err)
{
        _cleanup_close_ int fd = rc_blob_open(srcfd, digest, err);

        if (fd < 0)
                return -1;
        return store_verified(dstfd, digest, fd_read, &fd, err);
}

int rc_blob_exists(int layoutfd, const char *digest)
{
        char path[16 + 8 + 128 + 2], algo[8];
        const char *hex;
        struct stat st;

        if (rc_digest_split(digest, algo, &hex) < 0)
                return 0;
        snprintf(path, sizeof(path), "blobs/%s/%s", algo, hex);
        return fstatat(layoutfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* ---- OCI archives -------------------------------------------------------------------- */

static la_ssize_t archive_data_read(void *data, void *buf, size_t len)
{
        la_ssize_t n = archive_read_data(data, buf, len);

        if (n < 0)
                errno = EIO;
        return n;
}

static bool in_list(char *const *list, const char *s)
{
        for (; list && *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

/* index.json or oci-layout: small, read whole, written atomically. */
static int extract_small(struct archive *a, int dstfd, const char *name, const char *archive_path,
                         rc_error_t *err)
{
        _cleanup_free_ char *buf = malloc(RC_IMAGE_JSON_MAX + 1);
        size_t len = 0;
        la_ssize_t n;

        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "read `%s` from `%s`", name, archive_path);
        while ((n = archive_read_data(a, buf + len, RC_IMAGE_JSON_MAX + 1 - len)) > 0) {
                len += (size_t)n;
                if (len > RC_IMAGE_JSON_MAX)
                        return rc_error_set_status(err, EFBIG, "read `%s` from `%s`: larger than %u bytes",
                                                   name, archive_path, RC_IMAGE_JSON_MAX);
        }
        if (n < 0)
                return rc_error_set(err, 0, "read `%s` from `%s`: %s", name, archive_path,
                                    archive_error_string(a));
        return rc_write_file_atomic(dstfd, name, buf, len, 0644, err);
}

/* "blobs/sha256/<hex>" -> "sha256:<hex>" when that is a valid digest. */
static bool blob_member(const char *name, char *digest, size_t size)
{
        char algo[8];
        const char *hex, *slash;

        if (strncmp(name, "blobs/", 6) != 0 || (slash = strchr(name + 6, '/')) == NULL ||
            (size_t)(slash - name) > 6 + 7)
                return false;
        snprintf(digest, size, "%.*s:%s", (int)(slash - name - 6), name + 6, slash + 1);
        return rc_digest_split(digest, algo, &hex) == 0;
}

static int extract_members(struct archive *a, int dstfd, char *const *want, const char *archive_path,
                           const struct rc_logger *log, rc_error_t *err)
{
        struct archive_entry *e;
        char digest[8 + 1 + 128 + 1];
        int h;

        while ((h = archive_read_next_header(a, &e)) == ARCHIVE_OK || h == ARCHIVE_WARN) {
                const char *name = archive_entry_pathname(e);

                if (name == NULL || archive_entry_filetype(e) != AE_IFREG ||
                    archive_entry_hardlink(e) != NULL)
                        continue;
                while (name[0] == '/' || (name[0] == '.' && name[1] == '/'))
                        name += name[0] == '/' ? 1 : 2;
                if ((strcmp(name, "index.json") == 0 || strcmp(name, "oci-layout") == 0) && want == NULL) {
                        if (extract_small(a, dstfd, name, archive_path, err) < 0)
                                return -1;
                } else if (blob_member(name, digest, sizeof(digest))) {
                        if (want != NULL && !in_list(want, digest))
                                continue;
                        if (store_verified(dstfd, digest, archive_data_read, a, err) < 0)
                                return rc_error_wrap(err, "read archive `%s`", archive_path);
                } else {
                        rc_log(log, RC_LOG_DEBUG, "archive %s: member `%s` ignored", archive_path, name);
                }
        }
        if (h != ARCHIVE_EOF)
                return rc_error_set(err, 0, "read archive `%s`: %s", archive_path, archive_error_string(a));
        return 0;
}

int rc_archive_extract(const char *archive_path, int dstfd, char *const *want, const struct rc_logger *log,
                       rc_error_t *err)
{
        struct archive *a = archive_read_new();
        int r;

        if (a == NULL)
                return rc_error_set(err, ENOMEM, "read archive `%s`", archive_path);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, archive_path, COPY_CHUNK) != ARCHIVE_OK)
                r = rc_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "open archive `%s`: %s",
                                 archive_path, archive_error_string(a));
        else
                r = extract_members(a, dstfd, want, archive_path, log, err);
        archive_read_free(a);
        if (r < 0)
                return -1;
        for (; want && *want; want++)
                if (!rc_blob_exists(dstfd, *want))
                        return rc_error_set_status(err, ENOENT, "read archive `%s`: blob `%s` not found",
                                                   archive_path, *want);
        return 0;
}
