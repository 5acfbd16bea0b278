/* The content-addressed layer cache (layout in internal.h).
 *
 * Concurrency without a cache-wide lock, with two lock files per layer:
 *   locks/<algo>-<hex>         LOCK_SH by every image using the layer, from before it
 *                              looks for the layer until rc_image_free; LOCK_EX by prune
 *   locks/<algo>-<hex>.unpack  LOCK_EX by whoever unpacks the layer
 * Two sandboxes that want the same missing layer serialise on the unpack lock and the
 * second finds it done; users of a present layer never wait for each other. A layer is
 * unpacked into a locked temp dir and renamed into place, so <algo>/<hex> is always
 * complete. Prune takes the use lock with LOCK_NB and skips what is in use; it unlinks
 * the lock files while holding it, and lockers check that the file they locked is still
 * the one at that name. */
#include "runtime/image/image.h"
#include "runtime/image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/clock.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"

#define LOCK_RETRIES 16
#define MAX_TREE_DEPTH 512

static const char *const cache_algos[] = {"sha256", "sha512"};

/* ---- opening the cache ------------------------------------------------------------------- */

static int subdir(int fd, const char *name, mode_t mode)
{
        if (mkdirat(fd, name, mode) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int rc_layer_cache_open(const char *cache_dir, struct rc_layer_cache *ret, rc_error_t *err)
{
        struct rc_layer_cache c = {.fd = -1, .locks_fd = -1, .tmp_fd = -1};
        int r = rc_mkdir_p_host(cache_dir, 0755, 0700);

        if (r < 0)
                return rc_error_set(err, -r, "create layer cache `%s`", cache_dir);
        c.path = realpath(cache_dir, NULL);
        if (c.path == NULL)
                return rc_error_set(err, errno, "open layer cache `%s`", cache_dir);
        c.fd = open(c.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = c.fd < 0 ? -errno : 0;
        if (r == 0 && (c.locks_fd = subdir(c.fd, "locks", 0700)) < 0)
                r = c.locks_fd;
        if (r == 0 && (c.tmp_fd = subdir(c.fd, "tmp", 0700)) < 0)
                r = c.tmp_fd;
        if (r < 0) {
                rc_layer_cache_close(&c);
                return rc_error_set(err, -r, "open layer cache `%s`", cache_dir);
        }
        *ret = c;
        return 0;
}

void rc_layer_cache_close(struct rc_layer_cache *c)
{
        free(c->path);
        c->path = NULL;
        rc_closep(&c->fd);
        rc_closep(&c->locks_fd);
        rc_closep(&c->tmp_fd);
        c->fd = c->locks_fd = c->tmp_fd = -1;
}

static bool same_file(int fd, int dirfd, const char *name)
{
        struct stat a, b;

        return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A blocking wait (another process unpacks the layer, or prunes it) ends for a stop
 * signal the caller holds pending: -ECANCELED (runtime/base/stopsig.h). */
static int flock_retry(int fd, int op)
{
        return rc_flock_or_stop(fd, op);
}

int rc_layer_cache_mktemp(struct rc_layer_cache *c, const char *prefix, char **ret_name, rc_error_t *err)
{
        for (int i = 0; i < LOCK_RETRIES; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -1;
                char *dir;

                if (asprintf(&path, "%s/tmp/%s.XXXXXX", c->path, prefix) < 0)
                        return rc_error_set(err, ENOMEM, "create a temp dir in `%s/tmp`", c->path);
                dir = mkdtemp(path);
                if (dir == NULL)
                        return rc_error_set(err, errno, "create a temp dir in `%s/tmp`", c->path);
                const char *name = strrchr(dir, '/') + 1;
                /* a cleaner may take it between mkdtemp and flock: then try another */
                fd = openat(c->tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || flock_retry(fd, LOCK_EX | LOCK_NB) < 0 || !same_file(fd, c->tmp_fd, name))
                        continue;
                *ret_name = strdup(name);
                if (*ret_name == NULL) {
                        unlinkat(c->tmp_fd, name, AT_REMOVEDIR);
                        return rc_error_set(err, ENOMEM, "create a temp dir in `%s/tmp`", c->path);
                }
                return TAKE_FD(fd);
        }
        return rc_error_set_status(err, EAGAIN, "create a temp dir in `%s/tmp`: lost every race", c->path);
}

/* Lock one of a layer's lock files (created if missing) with flock(2) `op`; -EWOULDBLOCK
 * when busy with LOCK_NB. Returns the fd holding the lock on the file now at that name. */
static int lock_layer(struct rc_layer_cache *c, const char *lockname, int op, bool create)
{
        for (int i = 0; i < LOCK_RETRIES; i++) {
                _cleanup_close_ int fd =
                        openat(c->locks_fd, lockname,
                               O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
                int r;

                if (fd < 0)
                        return -errno;
                r = flock_retry(fd, op);
                if (r < 0)
                        return r;
                if (same_file(fd, c->locks_fd, lockname))
                        return TAKE_FD(fd);
        }
        return -EAGAIN;
}

static bool is_dir_at(int dirfd, const char *name)
{
        struct stat st;

        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Unpack d into tmp/, then rename it to <algo>/<hex>. Called under the layer's LOCK_EX. */
static int unpack_into_cache(struct rc_layer_cache *c, int algofd, const char *hex, int layoutfd,
                             const struct rc_descriptor *d, const char *diff_id, const struct rc_logger *log,
                             rc_error_t *err)
{
        _cleanup_free_ char *tmpname = NULL, *prefix = NULL;
        _cleanup_close_ int tmpfd = -1, blobfd = -1;
        uint64_t start = rc_now_us();
        int r;

        if (asprintf(&prefix, "unpack-%.16s", hex) < 0)
                return rc_error_set(err, ENOMEM, "unpack layer `%s`", d->digest);
        blobfd = rc_blob_open(layoutfd, d->digest, err);
        if (blobfd < 0)
                return -1;
        tmpfd = rc_layer_cache_mktemp(c, prefix, &tmpname, err);
        if (tmpfd < 0)
                return -1;
        r = fchmod(tmpfd, 0755) < 0 ? rc_error_set(err, errno, "chmod `%s/tmp/%s`", c->path, tmpname) : 0;
        if (r == 0)
                r = rc_layer_unpack(blobfd, tmpfd, d->digest, diff_id, log, err);
        if (r == 0 && renameat(c->tmp_fd, tmpname, algofd, hex) < 0) {
                if (errno == EEXIST || errno == ENOTEMPTY)
                        rc_log(log, RC_LOG_DEBUG, "layer %s: unpacked concurrently, our copy dropped",
                               d->digest);
                else
                        r = rc_error_set(err, errno, "rename unpacked layer `%s` into `%s`", d->digest,
                                         c->path);
        } else if (r == 0) {
                rc_log(log, RC_LOG_INFO, "layer %s unpacked in %.0f ms", d->digest,
                       (double)(rc_now_us() - start) / 1e3);
                return 0;
        }
        rc_remove_tree_at(c->tmp_fd, tmpname, NULL);
        return r;
}

int rc_layer_get(struct rc_layer_cache *c, int layoutfd, const struct rc_descriptor *d, const char *diff_id,
                 const struct rc_blob_fetcher *fetch, const struct rc_logger *log, char **ret_dir,
                 int *ret_lockfd, rc_error_t *err)
{
        _cleanup_close_ int algofd = -1, usefd = -1;
        char algo[8], lockname[8 + 1 + 128 + 8];
        const char *hex;

        if (rc_digest_split(d->digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid layer digest \"%s\"",
                                           d->digest ? d->digest : "");
        algofd = subdir(c->fd, algo, 0700);
        if (algofd < 0)
                return rc_error_set(err, -algofd, "open `%s/%s`", c->path, algo);
        snprintf(lockname, sizeof(lockname), "%s-%s", algo, hex);
        /* from here on no prune can take the layer away */
        usefd = lock_layer(c, lockname, LOCK_SH, true);
        if (usefd < 0)
                return rc_error_set(err, -usefd, "lock layer `%s` in `%s`", d->digest, c->path);
        if (!is_dir_at(algofd, hex)) {
                _cleanup_close_ int unpackfd = -1;

                strcat(lockname, ".unpack");
                unpackfd = lock_layer(c, lockname, LOCK_EX, true);
                if (unpackfd < 0)
                        return rc_error_set(err, -unpackfd, "lock layer `%s` in `%s`", d->digest, c->path);
                /* another sandbox may have unpacked it while we waited */
                if (!is_dir_at(algofd, hex) &&
                    ((fetch && fetch->fetch(fetch->data, layoutfd, RC_BLOB_LAYER, d, err) < 0) ||
                     unpack_into_cache(c, algofd, hex, layoutfd, d, diff_id, log, err) < 0))
                        return -1;
        }
        if (asprintf(ret_dir, "%s/%s/%s", c->path, algo, hex) < 0)
                return rc_error_set(err, ENOMEM, "layer `%s`", d->digest);
        *ret_lockfd = TAKE_FD(usefd);
        return 0;
}

/* ---- image ls / prune / gc ------------------------------------------------------------------ */

static int strv_push(char ***v, size_t *n, char *s)
{
        char **nv;

        if (s == NULL)
                return -ENOMEM;
        nv = reallocarray(*v, *n + 2, sizeof(**v));
        if (nv == NULL) {
                free(s);
                return -ENOMEM;
        }
        nv[(*n)++] = s;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The complete layers: directories <algo>/<hex> with a valid digest name. */
static int list_layers(struct rc_layer_cache *c, char ***ret, size_t *ret_n)
{
        _cleanup_strv_ char **v = NULL;
        size_t n = 0;

        for (size_t i = 0; i < sizeof(cache_algos) / sizeof(cache_algos[0]); i++) {
                int fd = openat(c->fd, cache_algos[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                struct dirent *de;

                if (d == NULL) {
                        int e = errno;
                        if (fd >= 0)
                                close(fd);
                        if (e == ENOENT)
                                continue;
                        return -e;
                }
                while ((de = readdir(d)) != NULL) {
                        char digest[8 + 1 + 256], algo[8];
                        const char *hex;

                        snprintf(digest, sizeof(digest), "%s:%s", cache_algos[i], de->d_name);
                        if (rc_digest_split(digest, algo, &hex) < 0 || !is_dir_at(dirfd(d), de->d_name))
                                continue;
                        if (strv_push(&v, &n, strdup(digest)) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                }
                closedir(d);
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_str);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int rc_image_cache_list(const char *cache_dir, char ***ret_digests, size_t *ret_n, rc_error_t *err)
{
        struct rc_layer_cache c;
        int r;

        if (rc_layer_cache_open(cache_dir, &c, err) < 0)
                return -1;
        r = list_layers(&c, ret_digests, ret_n);
        rc_layer_cache_close(&c);
        if (r < 0)
                return rc_error_set(err, -r, "list layer cache `%s`", cache_dir);
        if (*ret_digests == NULL && (*ret_digests = calloc(1, sizeof(char *))) == NULL)
                return rc_error_set(err, ENOMEM, "list layer cache `%s`", cache_dir);
        return 0;
}

static int tree_usage(int fd, uint64_t *bytes, unsigned depth)
{
        DIR *d = rc_opendir_dup(fd);
        struct dirent *de;
        int r = 0;

        if (d == NULL)
                return -errno;
        while (r == 0 && (de = readdir(d)) != NULL) {
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                *bytes += (uint64_t)st.st_blocks * 512;
                if (S_ISDIR(st.st_mode) && depth < MAX_TREE_DEPTH) {
                        int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                                r = tree_usage(sub, bytes, depth + 1);
                                close(sub);
                        }
                }
        }
        closedir(d);
        return r;
}

int rc_image_cache_layer_info(const char *cache_dir, const char *digest, uint64_t *ret_bytes,
                              bool *ret_in_use, rc_error_t *err)
{
        struct rc_layer_cache c;
        char algo[8], path[8 + 1 + 128 + 1];
        const char *hex;
        _cleanup_close_ int fd = -1, lockfd = -1;
        struct stat st;
        uint64_t bytes = 0;
        int r;

        if (rc_digest_split(digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid digest \"%s\"", digest);
        if (rc_layer_cache_open(cache_dir, &c, err) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/%s", algo, hex);
        fd = openat(c.fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = fd < 0 ? -errno : fstat(fd, &st) < 0 ? -errno : tree_usage(fd, &bytes, 0);
        if (r == 0) {
                snprintf(path, sizeof(path), "%s-%s", algo, hex);
                lockfd = openat(c.locks_fd, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
                /* LOCK_EX|LOCK_NB only succeeds when nobody holds the layer */
                *ret_in_use = lockfd >= 0 && flock_retry(lockfd, LOCK_EX | LOCK_NB) == -EWOULDBLOCK;
                *ret_bytes = bytes + (uint64_t)st.st_blocks * 512;
        }
        rc_layer_cache_close(&c);
        if (r < 0)
                return rc_error_set(err, -r, "layer `%s` in `%s`", digest, cache_dir);
        return 0;
}

static int clean_tmp(struct rc_layer_cache *c, const struct rc_logger *log, size_t *removed)
{
        DIR *d = rc_opendir_dup(c->tmp_fd);
        struct dirent *de;

        if (d == NULL)
                return -errno;
        while ((de = readdir(d)) != NULL) {
                _cleanup_close_ int fd = -1;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                fd = openat(c->tmp_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                /* a live owner holds its temp dir locked */
                if (fd < 0 || flock_retry(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                if (rc_remove_tree_at(c->tmp_fd, de->d_name, NULL) == 0) {
                        rc_log(log, RC_LOG_DEBUG, "layer cache: removed leftover `%s/tmp/%s`", c->path,
                               de->d_name);
                        (*removed)++;
                }
        }
        closedir(d);
        return 0;
}

int rc_image_cache_clean_tmp(const char *cache_dir, const struct rc_logger *log, size_t *ret_removed,
                             rc_error_t *err)
{
        struct rc_layer_cache c;
        size_t removed = 0;
        int r;

        if (rc_layer_cache_open(cache_dir, &c, err) < 0)
                return -1;
        r = clean_tmp(&c, log, &removed);
        rc_layer_cache_close(&c);
        if (r < 0)
                return rc_error_set(err, -r, "clean `%s/tmp`", cache_dir);
        if (ret_removed != NULL)
                *ret_removed = removed;
        return 0;
}

/* Partial downloads of registry pulls (registry.c): kept for the next pull to go on, so
 * only prune removes them, unless a pull holds one (flock). */
static int clean_downloads(struct rc_layer_cache *c, const struct rc_logger *log)
{
        _cleanup_close_ int dfd =
                openat(c->fd, "downloads", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = rc_opendir_dup(dfd);
        if (d == NULL)
                return -errno;
        while ((de = readdir(d)) != NULL) {
                _cleanup_close_ int fd = -1;

                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || flock_retry(fd, LOCK_EX | LOCK_NB) < 0 || !same_file(fd, dfd, de->d_name))
                        continue;
                if (unlinkat(dfd, de->d_name, 0) == 0)
                        rc_log(log, RC_LOG_DEBUG, "layer cache: removed partial download `%s`", de->d_name);
        }
        closedir(d);
        return 0;
}

/* Remove one layer unless an image holds it. 1 removed, 0 in use, -1 error. */
static int prune_layer(struct rc_layer_cache *c, const char *digest, const struct rc_logger *log,
                       rc_error_t *err)
{
        char algo[8], lockname[8 + 1 + 128 + 8];
        const char *hex;
        _cleanup_close_ int lockfd = -1, algofd = -1, tmpfd = -1;
        _cleanup_free_ char *tmpname = NULL;

        if (rc_digest_split(digest, algo, &hex) < 0)
                return 0;
        snprintf(lockname, sizeof(lockname), "%s-%s", algo, hex);
        lockfd = lock_layer(c, lockname, LOCK_EX | LOCK_NB, true);
        if (lockfd == -EWOULDBLOCK) {
                rc_log(log, RC_LOG_DEBUG, "layer %s is in use, kept", digest);
                return 0;
        }
        if (lockfd < 0)
                return rc_error_set(err, -lockfd, "lock layer `%s` in `%s`", digest, c->path);
        algofd = openat(c->fd, algo, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (algofd < 0)
                return rc_error_set(err, errno, "open `%s/%s`", c->path, algo);
        /* move it into a locked temp dir first: a half-removed layer is never visible */
        tmpfd = rc_layer_cache_mktemp(c, "prune", &tmpname, err);
        if (tmpfd < 0)
                return -1;
        if (renameat(algofd, hex, tmpfd, "layer") < 0)
                return rc_error_set(err, errno, "remove layer `%s` from `%s`", digest, c->path);
        /* under our LOCK_EX no image uses the layer and no unpack of it runs: nobody else
         * has these files open, and lockers check the file they locked is still there */
        unlinkat(c->locks_fd, lockname, 0);
        strcat(lockname, ".unpack");
        unlinkat(c->locks_fd, lockname, 0);
        if (rc_remove_tree_at(c->tmp_fd, tmpname, err) < 0)
                return -1;
        rc_log(log, RC_LOG_INFO, "layer %s removed", digest);
        return 1;
}

int rc_image_cache_prune(const char *cache_dir, const struct rc_logger *log, size_t *ret_removed,
                         rc_error_t *err)
{
        struct rc_layer_cache c;
        _cleanup_strv_ char **layers = NULL;
        size_t n = 0, removed = 0, tmp_removed = 0;
        int r;

        if (rc_layer_cache_open(cache_dir, &c, err) < 0)
                return -1;
        r = clean_tmp(&c, log, &tmp_removed);
        if (r == 0)
                r = clean_downloads(&c, log);
        if (r == 0)
                r = list_layers(&c, &layers, &n);
        if (r < 0) {
                rc_layer_cache_close(&c);
                return rc_error_set(err, -r, "prune layer cache `%s`", cache_dir);
        }
        for (size_t i = 0; i < n; i++) {
                r = prune_layer(&c, layers[i], log, err);
                if (r < 0)
                        break;
                removed += (size_t)r;
        }
        rc_layer_cache_close(&c);
        if (r < 0)
                return -1;
        if (ret_removed != NULL)
                *ret_removed = removed;
        return 0;
}
