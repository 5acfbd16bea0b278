/* Commit: an overlay upper directory written as a new layer on top of an image, into
 * an OCI image layout.
 *
 * The layer is a gzip'ed pax tar written in one pass through two libarchive writers:
 * the tar writer's output is hashed (the diff_id) and fed to a raw gzip writer whose
 * output is hashed (the digest) and written into an unnamed blob file, linked under its
 * digest at the end. The upper directory is walked in name order, without following
 * symlinks; overlayfs' whiteouts (0/0 character devices, or files with the
 * overlay.whiteout xattr) become ".wh.NAME" entries, an opaque directory (the
 * overlay.opaque=y xattr) gets a ".wh..wh..opq" entry, and overlayfs' own xattrs are
 * left out. Renamed directories (overlay.redirect) and metacopy files cannot be
 * expressed in a layer and are refused.
 *
 * Then the blobs of the base's layers are copied into the layout when it lacks them,
 * the config (the base's, with the new diff_id and a history entry), the manifest and
 * index.json (the tag moved to the new manifest) are written; the layout is flock'ed
 * for the whole commit so concurrent commits into it do not lose each other's tags. */
#include "runtime/image/image.h"
#include "runtime/image/internal.h"
#include "runtime/image/libs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "specs/json.h"

#define CHUNK (128 * 1024)
#define MAX_DEPTH 512
#define XATTR_LIST_MAX_SIZE (64 * 1024)

/* ---- the two writers --------------------------------------------------------------------- */

struct gz_sink {
        int fd;
        struct rc_hash hash; /* digest */
        uint64_t size;
};

struct tar_sink {
        struct archive *gz;
        struct rc_hash hash; /* diff_id */
};

static la_ssize_t gz_write(struct archive *a, void *data, const void *buf, size_t len)
{
        struct gz_sink *s = data;
        const char *p = buf;

        for (size_t done = 0; done < len;) {
                ssize_t n = write(s->fd, p + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        archive_set_error(a, errno, "write layer blob");
                        return -1;
                }
                done += (size_t)n;
        }
        rc_hash_update(&s->hash, buf, len);
        s->size += len;
        return (la_ssize_t)len;
}

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
        struct tar_sink *t = data;
        const char *p = buf;

        rc_hash_update(&t->hash, buf, len);
        for (size_t done = 0; done < len;) {
                la_ssize_t n = archive_write_data(t->gz, p + done, len - done);

                if (n <= 0) {
                        archive_set_error(a, EIO, "compress: %s", archive_error_string(t->gz));
                        return -1;
                }
                done += (size_t)n;
        }
        return (la_ssize_t)len;
}

/* ---- walking the upper directory ------------------------------------------------------------ */

struct hardlink {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct walker {
        struct archive *tar;
        const struct rc_commit_ids *ids; /* NULL: the owners as on disk */
        const struct rc_logger *log;
        struct hardlink *links;
        size_t n_links;
        char *buf;
        unsigned depth;
};

enum ovl_flags { OVL_OPAQUE = 1, OVL_WHITEOUT = 2, OVL_REDIRECT = 4, OVL_METACOPY = 8 };

static bool ovl_xattr(const char *name, const char *suffix)
{
        return (strncmp(name, "trusted.overlay.", 16) == 0 && strcmp(name + 16, suffix) == 0) ||
               (strncmp(name, "user.overlay.", 13) == 0 && strcmp(name + 13, suffix) == 0);
}

/* Copy the xattrs of dirfd/name into e (if not NULL), overlayfs' own left out and
 * reported in *flags. */
static int read_xattrs(int dirfd, const char *name, const char *path, struct archive_entry *e,
                       unsigned *flags, rc_error_t *err)
{
        char proc[64 + NAME_MAX];
        _cleanup_free_ char *list = malloc(XATTR_LIST_MAX_SIZE), *value = malloc(XATTR_LIST_MAX_SIZE);
        ssize_t n;

        *flags = 0;
        if (list == NULL || value == NULL)
                return rc_error_set(err, ENOMEM, "commit: read xattrs of `%s`", path);
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
        n = llistxattr(proc, list, XATTR_LIST_MAX_SIZE);
        if (n < 0)
                return errno == ENOTSUP || errno == EOPNOTSUPP
                               ? 0
                               : rc_error_set(err, errno, "commit: list xattrs of `%s`", path);
        for (char *x = list; x < list + n; x += strlen(x) + 1) {
                ssize_t vn = lgetxattr(proc, x, value, XATTR_LIST_MAX_SIZE);

                if (vn < 0) {
                        if (errno == ENODATA)
                                continue;
                        return rc_error_set(err, errno, "commit: read xattr %s of `%s`", x, path);
                }
                if (strncmp(x, "trusted.overlay.", 16) == 0 || strncmp(x, "user.overlay.", 13) == 0) {
                        if (ovl_xattr(x, "opaque") && vn == 1 && value[0] == 'y')
                                *flags |= OVL_OPAQUE;
                        else if (ovl_xattr(x, "whiteout"))
                                *flags |= OVL_WHITEOUT;
                        else if (ovl_xattr(x, "redirect"))
                                *flags |= OVL_REDIRECT;
                        else if (ovl_xattr(x, "metacopy"))
                                *flags |= OVL_METACOPY;
                        continue;
                }
                if (e != NULL)
                        archive_entry_xattr_add_entry(e, x, value, (size_t)vn);
        }
        return 0;
}

static int write_header(struct walker *w, struct archive_entry *e, const char *path, rc_error_t *err)
{
        if (archive_write_header(w->tar, e) < ARCHIVE_WARN)
                return rc_error_set(err, 0, "commit: write `%s`: %s", path, archive_error_string(w->tar));
        return 0;
}

/* An empty regular file entry: a whiteout or the opaque marker. */
static int write_marker(struct walker *w, const char *path, time_t mtime, rc_error_t *err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        if (e == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, mtime, 0);
        r = write_header(w, e, path, err);
        archive_entry_free(e);
        return r;
}

/* Exactly the size in the header: a file that grew since is cut there, one that shrank
 * is padded with zeros by libarchive. */
static int copy_data(struct walker *w, int fd, uint64_t size, const char *path, rc_error_t *err)
{
        for (uint64_t left = size; left > 0;) {
                ssize_t n = read(fd, w->buf, left < CHUNK ? (size_t)left : CHUNK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return rc_error_set(err, errno, "commit: read `%s`", path);
                if (n == 0)
                        break;
                if (archive_write_data(w->tar, w->buf, (size_t)n) != n)
                        return rc_error_set(err, 0, "commit: write `%s`: %s", path,
                                            archive_error_string(w->tar));
                left -= (uint64_t)n;
        }
        return 0;
}

/* A regular file seen before under another name becomes a hardlink entry. */
static const char *hardlink_target(struct walker *w, const struct stat *st, const char *path)
{
        struct hardlink *v;

        if (st->st_nlink < 2)
                return NULL;
        for (size_t i = 0; i < w->n_links; i++)
                if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
                        return w->links[i].path;
        v = reallocarray(w->links, w->n_links + 1, sizeof(*v));
        if (v == NULL)
                return NULL;
        w->links = v;
        v[w->n_links] = (struct hardlink){st->st_dev, st->st_ino, strdup(path)};
        if (v[w->n_links].path != NULL)
                w->n_links++;
        return NULL;
}

static int walk(struct walker *w, int dirfd, const char *prefix, rc_error_t *err);

#define OVERFLOW_ID 65534u /* what an id the user namespace does not map shows as */

static uint32_t id_inside(const struct rc_commit_idmap *map, size_t n, uint32_t id)
{
        for (size_t i = 0; i < n; i++)
                if (id >= map[i].outside && id - map[i].outside < map[i].size)
                        return map[i].inside + (id - map[i].outside);
        return OVERFLOW_ID;
}

static int add_entry(struct walker *w, int dirfd, const char *name, const char *path, const struct stat *st,
                     rc_error_t *err)
{
        struct archive_entry *e = archive_entry_new();
        _cleanup_close_ int fd = -1;
        unsigned flags = 0;
        const char *link;
        char target[PATH_MAX + 1];
        int r;

        if (e == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        archive_entry_copy_stat(e, st);
        if (w->ids != NULL) {
                archive_entry_set_uid(e, id_inside(w->ids->uid, w->ids->n_uid, (uint32_t)st->st_uid));
                archive_entry_set_gid(e, id_inside(w->ids->gid, w->ids->n_gid, (uint32_t)st->st_gid));
        }
        archive_entry_set_pathname(e, path);
        r = read_xattrs(dirfd, name, path, e, &flags, err);
        if (r == 0 && (flags & (OVL_REDIRECT | OVL_METACOPY)))
                r = rc_error_set_status(
                        err, ENOTSUP, "commit: `%s` is an overlayfs %s, which a layer can not hold", path,
                        (flags & OVL_REDIRECT) ? "renamed directory (redirect)" : "metacopy file");
        if (r == 0 && S_ISDIR(st->st_mode)) {
                archive_entry_set_size(e, 0);
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = fd < 0 ? rc_error_set(err, errno, "commit: open `%s`", path)
                           : write_header(w, e, path, err);
                if (r == 0 && (flags & OVL_OPAQUE)) {
                        _cleanup_free_ char *marker = NULL;
                        r = asprintf(&marker, "%s/" RC_WHITEOUT_OPAQUE, path) < 0
                                    ? rc_error_set(err, ENOMEM, "commit")
                                    : write_marker(w, marker, st->st_mtime, err);
                }
                if (r == 0) {
                        w->depth++;
                        r = walk(w, fd, path, err);
                        w->depth--;
                }
        } else if (r == 0 && S_ISREG(st->st_mode)) {
                if ((link = hardlink_target(w, st, path)) != NULL) {
                        archive_entry_set_hardlink(e, link);
                        archive_entry_set_size(e, 0);
                        r = write_header(w, e, path, err);
                } else if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                        r = rc_error_set(err, errno, "commit: open `%s`", path);
                } else if ((r = write_header(w, e, path, err)) == 0) {
                        r = copy_data(w, fd, (uint64_t)st->st_size, path, err);
                }
        } else if (r == 0 && S_ISLNK(st->st_mode)) {
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        r = rc_error_set(err, errno, "commit: readlink `%s`", path);
                } else {
                        target[n] = '\0';
                        archive_entry_set_symlink(e, target);
                        archive_entry_set_size(e, 0);
                        r = write_header(w, e, path, err);
                }
        } else if (r == 0 && S_ISFIFO(st->st_mode)) {
                archive_entry_set_size(e, 0);
                r = write_header(w, e, path, err);
        } else if (r == 0) {
                rc_log(w->log, RC_LOG_WARNING, "commit: `%s` left out: a device node or socket", path);
        }
        archive_entry_free(e);
        return r;
}

static bool is_whiteout(int dirfd, const char *name, const struct stat *st)
{
        _cleanup_error_ rc_error_t err = NULL;
        unsigned flags = 0;

        if (S_ISCHR(st->st_mode))
                return major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
        if (!S_ISREG(st->st_mode) || st->st_size != 0)
                return false;
        /* an unreadable xattr list is reported when the entry itself is written */
        return read_xattrs(dirfd, name, name, NULL, &flags, &err) == 0 && (flags & OVL_WHITEOUT);
}

static int cmp_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sorted_names(int dirfd, char ***ret, size_t *ret_n)
{
        DIR *d = rc_opendir_dup(dirfd);
        _cleanup_strv_ char **v = NULL;
        size_t n = 0;
        struct dirent *de;

        if (d == NULL)
                return -errno;
        while ((de = readdir(d)) != NULL) {
                char **nv;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                nv = reallocarray(v, n + 2, sizeof(*v));
                if (nv == NULL || (nv[n] = strdup(de->d_name)) == NULL) {
                        if (nv)
                                v = nv;
                        closedir(d);
                        return -ENOMEM;
                }
                v = nv;
                v[++n] = NULL;
        }
        closedir(d);
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_name);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* Whiteouts first (OCI: before their siblings), then everything else in name order. */
static int walk(struct walker *w, int dirfd, const char *prefix, rc_error_t *err)
{
        _cleanup_strv_ char **names = NULL;
        size_t n = 0;
        int r = sorted_names(dirfd, &names, &n);

        if (r < 0)
                return rc_error_set(err, -r, "commit: read directory `%s`", prefix[0] ? prefix : ".");
        if (w->depth > MAX_DEPTH)
                return rc_error_set_status(err, ELOOP, "commit: `%s` nested too deep", prefix);
        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *path = NULL;
                        struct stat st;
                        bool wh;

                        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return rc_error_set(err, errno, "commit: stat `%s/%s`", prefix, names[i]);
                        wh = is_whiteout(dirfd, names[i], &st);
                        if (wh != (pass == 0))
                                continue;
                        if (asprintf(&path, "%s%s%s%s", prefix, prefix[0] ? "/" : "",
                                     wh ? RC_WHITEOUT_PREFIX : "", names[i]) < 0)
                                return rc_error_set(err, ENOMEM, "commit");
                        if (!wh && strncmp(names[i], RC_WHITEOUT_PREFIX, strlen(RC_WHITEOUT_PREFIX)) == 0)
                                return rc_error_set_status(
                                        err, EINVAL,
                                        "commit: `%s`: a name starting with \"" RC_WHITEOUT_PREFIX
                                        "\" would read as a whiteout",
                                        path);
                        r = wh ? write_marker(w, path, st.st_mtime, err)
                               : add_entry(w, dirfd, names[i], path, &st, err);
                        if (r < 0)
                                return -1;
                }
        }
        return 0;
}

/* ---- the layer blob ------------------------------------------------------------------------- */

struct layer_out {
        char *digest, *diff_id;
        uint64_t size;
};

static int open_writers(struct gz_sink *gs, struct tar_sink *ts, struct archive **ret_tar, rc_error_t *err)
{
        struct archive_entry *e;
        struct archive *tar;
        int r;

        ts->gz = archive_write_new();
        if (ts->gz == NULL || archive_write_add_filter_gzip(ts->gz) != ARCHIVE_OK ||
            archive_write_set_filter_option(ts->gz, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
            archive_write_set_format_raw(ts->gz) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(ts->gz, 1) != ARCHIVE_OK ||
            archive_write_open(ts->gz, gs, NULL, gz_write, NULL) != ARCHIVE_OK)
                return rc_error_set(err, 0, "commit: set up gzip: %s",
                                    ts->gz ? archive_error_string(ts->gz) : "out of memory");
        e = archive_entry_new();
        if (e == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        archive_entry_set_filetype(e, AE_IFREG); /* the raw format's one entry: the tar stream */
        r = archive_write_header(ts->gz, e);
        archive_entry_free(e);
        tar = *ret_tar = archive_write_new();
        if (r != ARCHIVE_OK || tar == NULL || archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
            archive_write_add_filter_none(tar) != ARCHIVE_OK ||
            archive_write_open(tar, ts, NULL, tar_write, NULL) != ARCHIVE_OK)
                return rc_error_set(err, 0, "commit: set up tar: %s",
                                    tar ? archive_error_string(tar) : "out of memory");
        return 0;
}

static int write_layer(int layoutfd, int upperfd, const struct rc_commit_ids *ids,
                       const struct rc_logger *log, struct layer_out *out, rc_error_t *err)
{
        struct rc_blob_tmp t = {.dirfd = -1, .fd = -1};
        struct gz_sink gs = {.fd = -1};
        struct tar_sink ts = {0};
        struct archive *tar = NULL;
        struct walker w = {.ids = ids, .log = log, .buf = malloc(CHUNK)};
        int r = -1;

        if (w.buf == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        if (rc_hash_init(&gs.hash, "sha256", err) < 0 || rc_hash_init(&ts.hash, "sha256", err) < 0 ||
            rc_blob_tmp_open(layoutfd, "sha256", &t, err) < 0)
                goto out;
        gs.fd = t.fd;
        if (open_writers(&gs, &ts, &tar, err) < 0)
                goto out;
        w.tar = tar;
        if (walk(&w, upperfd, "", err) < 0)
                goto out;
        if (archive_write_close(tar) != ARCHIVE_OK) {
                rc_error_set(err, 0, "commit: finish tar: %s", archive_error_string(tar));
                goto out;
        }
        if (archive_write_close(ts.gz) != ARCHIVE_OK) {
                rc_error_set(err, 0, "commit: finish gzip: %s", archive_error_string(ts.gz));
                goto out;
        }
        if (rc_hash_final(&gs.hash, &out->digest, err) < 0 ||
            rc_hash_final(&ts.hash, &out->diff_id, err) < 0 || rc_blob_tmp_finish(&t, out->digest, err) < 0)
                goto out;
        out->size = gs.size;
        r = 0;
out:
        if (tar != NULL)
                archive_write_free(tar);
        if (ts.gz != NULL)
                archive_write_free(ts.gz);
        rc_blob_tmp_clear(&t);
        rc_hash_clear(&gs.hash);
        rc_hash_clear(&ts.hash);
        for (size_t i = 0; i < w.n_links; i++)
                free(w.links[i].path);
        free(w.links);
        free(w.buf);
        return r;
}

int rc_blob_write_mem(int layoutfd, const void *buf, size_t len, char **ret_digest, rc_error_t *err)
{
        struct rc_blob_tmp t;
        _cleanup_free_ char *digest = NULL;
        const char *p = buf;
        int r = -1;

        if (rc_sha256_digest(buf, len, &digest, err) < 0 ||
            rc_blob_tmp_open(layoutfd, "sha256", &t, err) < 0)
                return -1;
        for (size_t done = 0; done < len;) {
                ssize_t n = write(t.fd, p + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        rc_error_set(err, errno, "write blob `%s`", digest);
                        goto out;
                }
                done += (size_t)n;
        }
        if (rc_blob_tmp_finish(&t, digest, err) < 0)
                goto out;
        *ret_digest = TAKE_PTR(digest);
        r = 0;
out:
        rc_blob_tmp_clear(&t);
        return r;
}

/* ---- config, manifest, index ---------------------------------------------------------------- */

static void format_now(char buf[32])
{
        time_t t = time(NULL);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The base config (or a minimal one) with rootfs, history and created replaced. */
static void config_body(json_gen *g, const struct rc_image *base, const json_node *doc, const char *diff_id,
                        const char *now)
{
        const json_node *history = json_object_get(doc, "history");

        json_gen_object_open(g);
        for (size_t k = 0; k < json_object_size(doc); k++) {
                const char *key = json_object_key(doc, k);

                if (strcmp(key, "rootfs") == 0 || strcmp(key, "history") == 0 || strcmp(key, "created") == 0)
                        continue;
                json_gen_string(g, key);
                json_gen_node(g, json_object_value(doc, k));
        }
        if (doc == NULL) {
                json_gen_kv_string(g, "architecture", rc_image_host_arch());
                json_gen_kv_string(g, "os", "linux");
                json_gen_string(g, "config");
                json_gen_object_open(g);
                json_gen_object_close(g);
        }
        json_gen_kv_string(g, "created", now);
        json_gen_string(g, "rootfs");
        json_gen_object_open(g);
        json_gen_kv_string(g, "type", "layers");
        json_gen_string(g, "diff_ids");
        json_gen_array_open(g);
        for (size_t i = 0; base && i < base->n_layers; i++)
                json_gen_string(g, base->diff_ids[i]);
        json_gen_string(g, diff_id);
        json_gen_array_close(g);
        json_gen_object_close(g);
        json_gen_string(g, "history");
        json_gen_array_open(g);
        for (size_t i = 0; i < json_array_size(history); i++)
                json_gen_node(g, json_array_get(history, i));
        json_gen_object_open(g);
        json_gen_kv_string(g, "created", now);
        json_gen_kv_string(g, "created_by", "run-container sandbox --commit");
        json_gen_object_close(g);
        json_gen_array_close(g);
        json_gen_object_close(g);
}

static int finish_doc(json_gen *g, int r, char **ret, size_t *ret_len, rc_error_t *err)
{
        if (r == 0)
                r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        return r;
}

static int build_config(const struct rc_image *base, const char *diff_id, char **ret, size_t *ret_len,
                        rc_error_t *err)
{
        json_node *doc = NULL;
        json_gen *g;
        char now[32];

        if (base != NULL && base->config_json != NULL &&
            json_parse(base->config_json, strlen(base->config_json), "base image config", &doc, err) < 0)
                return -1;
        g = json_gen_new(false);
        if (g == NULL) {
                json_free(doc);
                return rc_error_set(err, ENOMEM, "commit");
        }
        format_now(now);
        config_body(g, base, json_type_of(doc) == JSON_OBJECT ? doc : NULL, diff_id, now);
        json_free(doc);
        return finish_doc(g, 0, ret, ret_len, err);
}

static void gen_descriptor(json_gen *g, const char *media_type, const char *digest, uint64_t size)
{
        json_gen_object_open(g);
        json_gen_kv_string(g, "mediaType", media_type);
        json_gen_kv_string(g, "digest", digest);
        json_gen_kv_uint(g, "size", size);
}

static int build_manifest(const struct rc_image *base, const char *config_digest, size_t config_size,
                          const struct layer_out *layer, char **ret, size_t *ret_len, rc_error_t *err)
{
        json_gen *g = json_gen_new(false);

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        json_gen_object_open(g);
        json_gen_kv_int(g, "schemaVersion", 2);
        json_gen_kv_string(g, "mediaType", RC_MEDIA_OCI_MANIFEST);
        json_gen_string(g, "config");
        gen_descriptor(g, RC_MEDIA_OCI_CONFIG, config_digest, config_size);
        json_gen_object_close(g);
        json_gen_string(g, "layers");
        json_gen_array_open(g);
        for (size_t i = 0; base && i < base->n_layers; i++) {
                gen_descriptor(g, base->layer_media_types[i], base->layer_digests[i], base->layer_sizes[i]);
                json_gen_object_close(g);
        }
        gen_descriptor(g, RC_MEDIA_OCI_LAYER_GZIP, layer->digest, layer->size);
        json_gen_object_close(g);
        json_gen_array_close(g);
        json_gen_object_close(g);
        return finish_doc(g, 0, ret, ret_len, err);
}

/* index.json with `tag` on the new manifest (taken off any other one). */
static int update_index(int layoutfd, const char *tag, const char *digest, size_t size, rc_error_t *err)
{
        _cleanup_free_ char *old = NULL, *doc = NULL;
        json_node *index = NULL;
        const json_node *manifests;
        size_t len = 0;
        json_gen *g;

        if (faccessat(layoutfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
            (rc_read_file_at(layoutfd, "index.json", RC_IMAGE_JSON_MAX, &old, &len, err) < 0 ||
             json_parse(old, len, "index.json", &index, err) < 0))
                return -1;
        manifests = json_object_get(index, "manifests");
        g = json_gen_new(true);
        if (g == NULL) {
                json_free(index);
                return rc_error_set(err, ENOMEM, "commit");
        }
        json_gen_object_open(g);
        json_gen_kv_int(g, "schemaVersion", 2);
        json_gen_kv_string(g, "mediaType", RC_MEDIA_OCI_INDEX);
        json_gen_string(g, "manifests");
        json_gen_array_open(g);
        for (size_t i = 0; i < json_array_size(manifests); i++) {
                const json_node *m = json_array_get(manifests, i);
                const char *name = json_get_string(
                        json_object_get(json_object_get(m, "annotations"), RC_ANNOTATION_REF_NAME));

                if (name == NULL || strcmp(name, tag) != 0)
                        json_gen_node(g, m);
        }
        gen_descriptor(g, RC_MEDIA_OCI_MANIFEST, digest, size);
        json_gen_string(g, "annotations");
        json_gen_object_open(g);
        json_gen_kv_string(g, RC_ANNOTATION_REF_NAME, tag);
        json_gen_object_close(g);
        json_gen_object_close(g);
        json_gen_array_close(g);
        json_gen_object_close(g);
        json_free(index);
        if (finish_doc(g, 0, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(layoutfd, "index.json", doc, len, 0644, err);
}

/* The base's layer blobs, into the destination layout when it lacks them. */
static int copy_base_blobs(const char *cache_dir, const struct rc_image *base, int destfd,
                           const struct rc_logger *log, rc_error_t *err)
{
        _cleanup_strv_ char **want = NULL;
        _cleanup_close_ int srcfd = -1;
        size_t n = 0;

        if (base == NULL)
                return 0;
        want = calloc(base->n_layers + 1, sizeof(char *));
        if (want == NULL)
                return rc_error_set(err, ENOMEM, "commit");
        for (size_t i = 0; i < base->n_layers; i++)
                if (!rc_blob_exists(destfd, base->layer_digests[i]) &&
                    (want[n++] = strdup(base->layer_digests[i])) == NULL)
                        return rc_error_set(err, ENOMEM, "commit");
        if (n == 0)
                return 0;
        if (base->source_is_registry) /* its blobs were not kept: pulled again */
                return rc_image_pull_blobs(cache_dir, base, want, destfd, log, err);
        if (base->source_is_archive)
                return rc_archive_extract(base->source, destfd, want, log, err);
        srcfd = open(base->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (srcfd < 0)
                return rc_error_set(err, errno, "open base image layout `%s`", base->source);
        for (size_t i = 0; i < n; i++)
                if (rc_blob_copy(srcfd, destfd, want[i], err) < 0)
                        return -1;
        return 0;
}

static int open_dest(const char *path, rc_error_t *err)
{
        static const char layout[] = "{\"imageLayoutVersion\": \"1.0.0\"}\n";
        _cleanup_close_ int fd = -1;
        int r = rc_mkdir_p_host(path, 0755, 0755);

        if (r < 0)
                return rc_error_set(err, -r, "create image layout `%s`", path);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open image layout `%s`", path);
        /* one commit at a time into a layout: index.json is read, changed and replaced */
        while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return rc_error_set(err, errno, "lock image layout `%s`", path);
        if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
            rc_write_file_atomic(fd, "oci-layout", layout, sizeof(layout) - 1, 0644, err) < 0)
                return -1;
        return TAKE_FD(fd);
}

static int commit_into(const char *cache_dir, int destfd, const struct rc_image *base, int upperfd,
                       const char *tag, const struct rc_commit_ids *ids, const struct rc_logger *log,
                       rc_error_t *err)
{
        struct layer_out layer = {0};
        _cleanup_free_ char *config = NULL, *config_digest = NULL, *manifest = NULL, *manifest_digest = NULL;
        size_t config_len = 0, manifest_len = 0;
        int r = write_layer(destfd, upperfd, ids, log, &layer, err);

        if (r == 0)
                r = copy_base_blobs(cache_dir, base, destfd, log, err);
        if (r == 0)
                r = build_config(base, layer.diff_id, &config, &config_len, err);
        if (r == 0)
                r = rc_blob_write_mem(destfd, config, config_len, &config_digest, err);
        if (r == 0)
                r = build_manifest(base, config_digest, config_len, &layer, &manifest, &manifest_len, err);
        if (r == 0)
                r = rc_blob_write_mem(destfd, manifest, manifest_len, &manifest_digest, err);
        if (r == 0)
                r = update_index(destfd, tag, manifest_digest, manifest_len, err);
        if (r == 0)
                rc_log(log, RC_LOG_INFO, "committed layer %s (%llu bytes) as manifest %s, tag %s",
                       layer.digest, (unsigned long long)layer.size, manifest_digest, tag);
        free(layer.digest);
        free(layer.diff_id);
        return r;
}

int rc_image_commit(const char *cache_dir, const struct rc_image *base, const char *upper_dir,
                    const char *dest, const struct rc_commit_ids *ids, const struct rc_logger *log,
                    rc_error_t *err)
{
        struct rc_image_ref ref;
        _cleanup_close_ int destfd = -1, upperfd = -1;
        int r;

        if (rc_image_libs_load(err) < 0)
                return -1;
        if (rc_image_ref_parse(dest, &ref, err) < 0)
                return rc_error_wrap(err, "commit");
        if (ref.archive) {
                rc_image_ref_clear(&ref);
                return rc_error_set_status(
                        err, ENOTSUP, "commit to \"%s\": only image layout directories are written", dest);
        }
        upperfd = open(upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upperfd < 0)
                r = rc_error_set(err, errno, "commit: open `%s`", upper_dir);
        else
                r = destfd = open_dest(ref.path, err);
        if (r >= 0)
                r = commit_into(cache_dir, destfd, base, upperfd, ref.tag ? ref.tag : "latest", ids, log,
                                err);
        rc_image_ref_clear(&ref);
        if (r < 0)
                return rc_error_wrap(err, "commit to `%s`", dest);
        return 0;
}
