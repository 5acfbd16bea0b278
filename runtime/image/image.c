/* Opening an image: the reference, the layout (or an OCI archive extracted into a
 * locked temp layout in the cache), index.json -> manifest (through nested indexes,
 * by platform) -> config, every JSON blob verified against its digest, then each
 * layer made available in the cache (layers.c, layer_cache.c).
 *
 * Tags are the org.opencontainers.image.ref.name annotations of index.json's
 * manifests. Without a tag: the only manifest, else the one tagged "latest". */
#include "runtime/image/image.h"
#include "runtime/image/internal.h"
#include "runtime/image/libs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/userdirs.h"
#include "specs/json.h"

#define MAX_INDEX_DEPTH 4

/* ---- references ------------------------------------------------------------------------ */

bool rc_image_tag_valid(const char *tag)
{
        size_t n = strlen(tag);

        if (n == 0 || n > 128 ||
            !(tag[0] == '_' || (tag[0] >= '0' && tag[0] <= '9') || (tag[0] >= 'a' && tag[0] <= 'z') ||
              (tag[0] >= 'A' && tag[0] <= 'Z')))
                return false;
        return strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int rc_image_ref_parse(const char *ref, struct rc_image_ref *ret, rc_error_t *err)
{
        struct rc_image_ref r = {0};
        const char *s = ref, *colon;

        if (strncmp(s, "oci-archive:", 12) == 0) {
                r.archive = true;
                s += 12;
        } else if (strncmp(s, "oci:", 4) == 0) {
                s += 4;
        }
        colon = strrchr(s, ':');
        /* "DIR:TAG" unless the whole string names something that exists */
        if (colon != NULL && strchr(colon, '/') == NULL && access(s, F_OK) != 0) {
                r.path = strndup(s, (size_t)(colon - s));
                r.tag = strdup(colon + 1);
                if (r.path == NULL || r.tag == NULL) {
                        rc_image_ref_clear(&r);
                        return rc_error_set(err, ENOMEM, "parse image reference \"%s\"", ref);
                }
                if (!rc_image_tag_valid(r.tag)) {
                        rc_image_ref_clear(&r);
                        return rc_error_set_status(err, EINVAL, "image reference \"%s\": invalid tag", ref);
                }
        } else if ((r.path = strdup(s)) == NULL) {
                return rc_error_set(err, ENOMEM, "parse image reference \"%s\"", ref);
        }
        if (r.path[0] == '\0') {
                rc_image_ref_clear(&r);
                return rc_error_set_status(err, EINVAL, "image reference \"%s\": no path", ref);
        }
        *ret = r;
        return 0;
}

void rc_image_ref_clear(struct rc_image_ref *r)
{
        free(r->path);
        free(r->tag);
        *r = (struct rc_image_ref){0};
}

void rc_descriptor_clear(struct rc_descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        *d = (struct rc_descriptor){0};
}

/* ---- JSON helpers ------------------------------------------------------------------------ */

static int parse_json(const char *buf, size_t len, const char *origin, json_node **ret, rc_error_t *err)
{
        if (json_parse(buf, len, origin, ret, err) < 0)
                return -1;
        if (json_type_of(*ret) != JSON_OBJECT) {
                json_free(*ret);
                return rc_error_set_status(err, EINVAL, "%s: not a JSON object", origin);
        }
        return 0;
}

static int parse_descriptor(const json_node *n, const char *origin, struct rc_descriptor *d, rc_error_t *err)
{
        const json_node *mt = json_object_get(n, "mediaType");
        const char *digest = json_get_string(json_object_get(n, "digest"));
        char algo[8];
        const char *hex;

        *d = (struct rc_descriptor){0};
        if (json_type_of(n) != JSON_OBJECT || digest == NULL || rc_digest_split(digest, algo, &hex) < 0 ||
            json_get_u64(json_object_get(n, "size"), &d->size) < 0 ||
            (mt != NULL && json_type_of(mt) != JSON_STRING))
                return rc_error_set_status(err, EINVAL, "%s: invalid descriptor (digest, size, mediaType)",
                                           origin);
        d->digest = strdup(digest);
        d->media_type = mt ? strdup(json_get_string(mt)) : NULL;
        if (d->digest == NULL || (mt && d->media_type == NULL)) {
                rc_descriptor_clear(d);
                return rc_error_set(err, ENOMEM, "%s", origin);
        }
        return 0;
}

/* NULL (absent or null) or an array of strings. */
static int string_array(const json_node *n, const char *what, char ***ret, rc_error_t *err)
{
        size_t len = json_array_size(n);
        _cleanup_strv_ char **v = NULL;

        *ret = NULL;
        if (n == NULL || json_type_of(n) == JSON_NULL)
                return 0;
        if (json_type_of(n) != JSON_ARRAY)
                return rc_error_set_status(err, EINVAL, "image config: %s is not an array of strings", what);
        v = calloc(len + 1, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "image config");
        for (size_t i = 0; i < len; i++) {
                const char *s = json_get_string(json_array_get(n, i));

                if (s == NULL)
                        return rc_error_set_status(err, EINVAL,
                                                   "image config: %s is not an array of strings", what);
                if ((v[i] = strdup(s)) == NULL)
                        return rc_error_set(err, ENOMEM, "image config");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int optional_string(const json_node *n, const char *what, char **ret, rc_error_t *err)
{
        *ret = NULL;
        if (n == NULL || json_type_of(n) == JSON_NULL)
                return 0;
        if (json_type_of(n) != JSON_STRING)
                return rc_error_set_status(err, EINVAL, "image config: %s is not a string", what);
        if (json_get_string(n)[0] == '\0')
                return 0;
        *ret = strdup(json_get_string(n));
        return *ret ? 0 : rc_error_set(err, ENOMEM, "image config");
}

/* ---- index.json and manifests ---------------------------------------------------------------- */

static const char *ref_name(const json_node *desc)
{
        return json_get_string(
                json_object_get(json_object_get(desc, "annotations"), RC_ANNOTATION_REF_NAME));
}

/* "a, b, c" of the tags in the index, for messages. */
static char *tag_list(const json_node *manifests)
{
        size_t n = json_array_size(manifests), len = 1;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += (ref_name(json_array_get(manifests, i))
                                ? strlen(ref_name(json_array_get(manifests, i)))
                                : 0) +
                       2;
        s = calloc(1, len + 8);
        for (size_t i = 0; s && i < n; i++) {
                const char *t = ref_name(json_array_get(manifests, i));
                if (t != NULL)
                        strcat(strcat(s, s[0] ? ", " : ""), t);
        }
        if (s && s[0] == '\0')
                strcpy(s, "none");
        return s;
}

static int select_by_tag(const json_node *index, const char *tag, const char *origin,
                         struct rc_descriptor *ret, rc_error_t *err)
{
        const json_node *manifests = json_object_get(index, "manifests");
        size_t n = json_array_size(manifests);
        const json_node *pick = NULL;
        _cleanup_free_ char *tags = NULL;

        if (json_type_of(manifests) != JSON_ARRAY)
                return rc_error_set_status(err, EINVAL, "%s: no \"manifests\" array", origin);
        for (size_t i = 0; i < n && pick == NULL; i++) {
                const char *t = ref_name(json_array_get(manifests, i));

                if (t != NULL && strcmp(t, tag ? tag : "latest") == 0)
                        pick = json_array_get(manifests, i);
        }
        if (pick == NULL && tag == NULL && n == 1)
                pick = json_array_get(manifests, 0);
        if (pick != NULL)
                return parse_descriptor(pick, origin, ret, err);
        tags = tag_list(manifests);
        if (tag != NULL)
                return rc_error_set_status(err, ENOENT, "%s: no image tagged \"%s\" (tags: %s)", origin, tag,
                                           tags ? tags : "?");
        return rc_error_set_status(err, ENOENT,
                                   "%s: %zu images and none tagged \"latest\": name a tag (tags: %s)",
                                   origin, n, tags ? tags : "?");
}

const char *rc_image_cache_default(void)
{
        static char buf[PATH_MAX];
        static const char *cache;

        if (cache == NULL)
                cache = rc_user_image_cache(rc_running_rootless(), getenv("XDG_DATA_HOME"), getenv("HOME"),
                                            RC_IMAGE_CACHE_DEFAULT, buf, sizeof(buf));
        return cache;
}

const char *rc_image_host_arch(void)
{
        static const struct {
                const char *uname, *oci;
        } archs[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"},  {"i686", "386"},
                     {"i386", "386"},     {"armv7l", "arm"},     {"ppc64le", "ppc64le"},
                     {"s390x", "s390x"},  {"riscv64", "riscv64"}};
        static struct utsname u;

        if (uname(&u) < 0)
                return "amd64";
        for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
                if (strcmp(u.machine, archs[i].uname) == 0)
                        return archs[i].oci;
        return u.machine;
}

/* In a nested image index: the only manifest, or the one for linux on this machine. */
static int select_platform(const json_node *index, const char *origin, struct rc_descriptor *ret,
                           rc_error_t *err)
{
        const json_node *manifests = json_object_get(index, "manifests");
        size_t n = json_array_size(manifests);
        const char *arch = rc_image_host_arch();

        if (n == 1)
                return parse_descriptor(json_array_get(manifests, 0), origin, ret, err);
        for (size_t i = 0; i < n; i++) {
                const json_node *p = json_object_get(json_array_get(manifests, i), "platform");
                const char *os = json_get_string(json_object_get(p, "os"));
                const char *a = json_get_string(json_object_get(p, "architecture"));

                if (os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0)
                        return parse_descriptor(json_array_get(manifests, i), origin, ret, err);
        }
        return rc_error_set_status(err, ENOENT, "%s: no image for linux/%s", origin, arch);
}

static bool is_index_type(const char *mt)
{
        return mt && (strcmp(mt, RC_MEDIA_OCI_INDEX) == 0 || strcmp(mt, RC_MEDIA_DOCKER_LIST) == 0);
}

static bool is_manifest_type(const char *mt)
{
        return mt && (strcmp(mt, RC_MEDIA_OCI_MANIFEST) == 0 || strcmp(mt, RC_MEDIA_DOCKER_MANIFEST) == 0);
}

static int fetch_blob(const struct rc_blob_fetcher *fetch, int layoutfd, enum rc_blob_kind kind,
                      const struct rc_descriptor *d, rc_error_t *err)
{
        return fetch ? fetch->fetch(fetch->data, layoutfd, kind, d, err) : 0;
}

/* Follow d through nested indexes down to a manifest; d is updated to it. */
static int resolve_manifest(int layoutfd, const struct rc_blob_fetcher *fetch, struct rc_descriptor *d,
                            json_node **ret, rc_error_t *err)
{
        for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
                _cleanup_free_ char *buf = NULL, *origin = NULL;
                json_node *doc = NULL;
                const char *mt;
                size_t len;
                int r;

                if (asprintf(&origin, "blob `%s`", d->digest) < 0)
                        return rc_error_set(err, ENOMEM, "read manifest");
                if (fetch_blob(fetch, layoutfd, RC_BLOB_MANIFEST, d, err) < 0 ||
                    rc_blob_read(layoutfd, d, RC_IMAGE_JSON_MAX, &buf, &len, err) < 0 ||
                    parse_json(buf, len, origin, &doc, err) < 0)
                        return -1;
                mt = d->media_type ? d->media_type : json_get_string(json_object_get(doc, "mediaType"));
                if (is_manifest_type(mt) || (mt == NULL && json_object_get(doc, "layers") != NULL)) {
                        *ret = doc;
                        return 0;
                }
                if (!is_index_type(mt) && !(mt == NULL && json_object_get(doc, "manifests") != NULL)) {
                        json_free(doc);
                        return rc_error_set_status(err, ENOTSUP, "%s: unsupported media type \"%s\"", origin,
                                                   mt ? mt : "");
                }
                rc_descriptor_clear(d);
                r = select_platform(doc, origin, d, err);
                json_free(doc);
                if (r < 0)
                        return -1;
        }
        return rc_error_set_status(err, ELOOP, "image index nested more than %d deep", MAX_INDEX_DEPTH);
}

static bool layer_type_ok(const char *mt)
{
        static const char *const bases[] = {
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.docker.image.rootfs.diff.tar",
                "application/vnd.docker.image.rootfs.foreign.diff.tar",
        };

        if (mt == NULL)
                return true;
        for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
                size_t n = strlen(bases[i]);

                if (strncmp(mt, bases[i], n) == 0 &&
                    (mt[n] == '\0' || strcmp(mt + n, "+gzip") == 0 || strcmp(mt + n, "+zstd") == 0 ||
                     strcmp(mt + n, ".gzip") == 0))
                        return true;
        }
        return false;
}

/* ---- the image ----------------------------------------------------------------------------- */

static int read_config(struct rc_image *img, int layoutfd, const struct rc_blob_fetcher *fetch,
                       const json_node *manifest, rc_error_t *err)
{
        struct rc_descriptor d;
        _cleanup_free_ char *buf = NULL;
        json_node *doc = NULL;
        const json_node *c;
        size_t len;
        int r;

        if (parse_descriptor(json_object_get(manifest, "config"), "manifest config", &d, err) < 0)
                return -1;
        r = fetch_blob(fetch, layoutfd, RC_BLOB_CONFIG, &d, err);
        if (r == 0)
                r = rc_blob_read(layoutfd, &d, RC_IMAGE_JSON_MAX, &buf, &len, err);
        if (r == 0)
                r = parse_json(buf, len, "image config", &doc, err);
        rc_descriptor_clear(&d);
        if (r < 0)
                return -1;
        c = json_object_get(doc, "config");
        r = string_array(json_object_get(c, "Entrypoint"), "Entrypoint", &img->entrypoint, err);
        if (r == 0)
                r = string_array(json_object_get(c, "Cmd"), "Cmd", &img->cmd, err);
        if (r == 0)
                r = string_array(json_object_get(c, "Env"), "Env", &img->env, err);
        if (r == 0)
                r = optional_string(json_object_get(c, "WorkingDir"), "WorkingDir", &img->workdir, err);
        if (r == 0)
                r = optional_string(json_object_get(c, "User"), "User", &img->user, err);
        if (r == 0)
                r = string_array(json_object_get(json_object_get(doc, "rootfs"), "diff_ids"),
                                 "rootfs.diff_ids", &img->diff_ids, err);
        json_free(doc);
        if (r < 0)
                return -1;
        img->config_json = TAKE_PTR(buf);
        return 0;
}

static int read_layers(struct rc_image *img, const json_node *manifest, rc_error_t *err)
{
        const json_node *layers = json_object_get(manifest, "layers");
        size_t n = json_array_size(layers), n_diff = 0;

        if (json_type_of(layers) != JSON_ARRAY)
                return rc_error_set_status(err, EINVAL, "manifest: no \"layers\" array");
        while (img->diff_ids && img->diff_ids[n_diff])
                n_diff++;
        if (n_diff != n)
                return rc_error_set_status(err, EINVAL, "image config: %zu diff_ids for %zu layers", n_diff,
                                           n);
        img->layer_digests = calloc(n + 1, sizeof(char *));
        img->layer_media_types = calloc(n + 1, sizeof(char *));
        img->layer_sizes = calloc(n + 1, sizeof(uint64_t));
        img->layer_dirs = calloc(n + 1, sizeof(char *));
        img->layer_locks = calloc(n + 1, sizeof(int));
        if (!img->layer_digests || !img->layer_media_types || !img->layer_sizes || !img->layer_dirs ||
            !img->layer_locks)
                return rc_error_set(err, ENOMEM, "read manifest");
        for (size_t i = 0; i <= n; i++)
                img->layer_locks[i] = -1;
        for (size_t i = 0; i < n; i++) {
                struct rc_descriptor d;

                if (parse_descriptor(json_array_get(layers, i), "manifest layer", &d, err) < 0)
                        return -1;
                if (!layer_type_ok(d.media_type)) {
                        rc_error_set_status(err, ENOTSUP, "layer `%s`: unsupported media type \"%s\"",
                                            d.digest, d.media_type);
                        rc_descriptor_clear(&d);
                        return -1;
                }
                img->layer_digests[i] = TAKE_PTR(d.digest);
                img->layer_media_types[i] =
                        d.media_type ? TAKE_PTR(d.media_type) : strdup(RC_MEDIA_OCI_LAYER_GZIP);
                img->layer_sizes[i] = d.size;
                rc_descriptor_clear(&d);
                if (img->layer_media_types[i] == NULL)
                        return rc_error_set(err, ENOMEM, "read manifest");
        }
        img->n_layers = n;
        return 0;
}

static int unpack_layers(struct rc_image *img, struct rc_layer_cache *c, int layoutfd,
                         const struct rc_blob_fetcher *fetch, const struct rc_logger *log, rc_error_t *err)
{
        for (size_t i = 0; i < img->n_layers; i++) {
                struct rc_descriptor d = {.media_type = img->layer_media_types[i],
                                          .digest = img->layer_digests[i],
                                          .size = img->layer_sizes[i]};

                if (rc_layer_get(c, layoutfd, &d, img->diff_ids[i], fetch, log, &img->layer_dirs[i],
                                 &img->layer_locks[i], err) < 0)
                        return -1;
        }
        return 0;
}

static int open_layout(const struct rc_image_ref *r, struct rc_image *img, rc_error_t *err)
{
        int fd;

        img->source = realpath(r->path, NULL);
        if (img->source == NULL)
                return rc_error_set(err, errno, "open image `%s`", r->path);
        if (r->archive)
                return -2; /* the caller extracts it */
        fd = open(img->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open image layout `%s`", r->path);
        if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                close(fd);
                return rc_error_set_status(err, EINVAL, "open image layout `%s`: no oci-layout file",
                                           r->path);
        }
        return fd;
}

/* From the descriptor d (of an index or a manifest) to the image's config and layers. */
static int resolve_from(struct rc_image *img, int layoutfd, const struct rc_blob_fetcher *fetch,
                        struct rc_descriptor *d, rc_error_t *err)
{
        json_node *manifest = NULL;
        int r = resolve_manifest(layoutfd, fetch, d, &manifest, err);

        if (r == 0 && (img->manifest_digest = strdup(d->digest)) == NULL)
                r = rc_error_set(err, ENOMEM, "open image");
        if (r == 0)
                r = read_config(img, layoutfd, fetch, manifest, err);
        if (r == 0)
                r = read_layers(img, manifest, err);
        json_free(manifest);
        return r;
}

static int resolve(struct rc_image *img, int layoutfd, const char *tag, const char *origin, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        struct rc_descriptor d = {0};
        json_node *index = NULL;
        size_t len;
        int r;

        if (rc_read_file_at(layoutfd, "index.json", RC_IMAGE_JSON_MAX, &buf, &len, err) < 0 ||
            parse_json(buf, len, origin, &index, err) < 0)
                return -1;
        r = select_by_tag(index, tag, origin, &d, err);
        json_free(index);
        if (r == 0)
                r = resolve_from(img, layoutfd, NULL, &d, err);
        rc_descriptor_clear(&d);
        return r;
}

/* A session with the registry of `ref` and a locked temp layout in the cache that its
 * blobs are fetched into. */
struct pull_session {
        struct rc_registry_ref ref;
        struct rc_pull_opts opts; /* the caller's, insecure for an insecure source */
        struct rc_registry *g;
        char *tmpname;
        int layoutfd;
};

static void pull_end(struct pull_session *p, struct rc_layer_cache *c)
{
        rc_registry_free(p->g);
        rc_registry_ref_clear(&p->ref);
        rc_closep(&p->layoutfd);
        if (p->tmpname != NULL)
                rc_remove_tree_at(c->tmp_fd, p->tmpname, NULL);
        free(p->tmpname);
        *p = (struct pull_session){.layoutfd = -1};
}

static int pull_begin(struct pull_session *p, struct rc_layer_cache *c, const char *ref,
                      const struct rc_pull_opts *pull, bool insecure, const struct rc_logger *log,
                      rc_error_t *err)
{
        *p = (struct pull_session){.layoutfd = -1};
        if (pull != NULL)
                p->opts = *pull;
        p->opts.tls_verify_off = p->opts.tls_verify_off || insecure;
        if (rc_registry_ref_parse(ref + strlen(RC_IMAGE_REGISTRY_PREFIX), &p->ref, err) < 0)
                return -1;
        p->layoutfd = rc_layer_cache_mktemp(c, "pull", &p->tmpname, err);
        if (p->layoutfd < 0 || rc_registry_open(&p->ref, c->fd, &p->opts, log, &p->g, err) < 0) {
                pull_end(p, c);
                return -1;
        }
        return 0;
}

/* HOST/REPO[:TAG][@DIGEST] of a registry reference, as registries.conf prefixes match it. */
static char *registry_name(const char *ref)
{
        struct rc_registry_ref r;
        _cleanup_error_ rc_error_t e = NULL;
        char *name = NULL;

        if (rc_registry_ref_parse(ref + strlen(RC_IMAGE_REGISTRY_PREFIX), &r, &e) < 0)
                return NULL;
        if (asprintf(&name, "%s/%s%s%s%s%s", r.host, r.repo, r.tag ? ":" : "", r.tag ? r.tag : "",
                     r.digest ? "@" : "", r.digest ? r.digest : "") < 0)
                name = NULL;
        rc_registry_ref_clear(&r);
        return name;
}

/* The session on the first source of ref (registries.conf's mirrors, then its location)
 * that gives the manifest, *d; img->source names that source. */
static int pull_top(struct rc_image *img, struct pull_session *p, struct rc_layer_cache *c, const char *ref,
                    const struct rc_pull_opts *pull, const struct rc_registries_conf *conf,
                    const struct rc_logger *log, struct rc_descriptor *d, rc_error_t *err)
{
        _cleanup_free_ char *name = registry_name(ref), *tried = NULL;
        struct rc_registries_conf own = {0};
        struct rc_pull_source *src = NULL;
        size_t n = 0;
        int r, status = 0;

        if (name == NULL)
                return rc_error_set(err, ENOMEM, "pull `%s`", ref);
        if (conf == NULL && rc_registries_conf_load(pull ? pull->registries_conf : NULL, &own, err) < 0)
                return -1;
        r = rc_registries_pull_sources(conf ? conf : &own, name, &src, &n, err);
        rc_registries_conf_clear(&own);
        if (r < 0)
                return -1;
        r = -1;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *from = NULL;
                rc_error_t e = NULL;
                char *more;

                if (asprintf(&from, "%s%s", RC_IMAGE_REGISTRY_PREFIX, src[i].ref) < 0) {
                        rc_error_set(err, ENOMEM, "pull `%s`", ref);
                        break;
                }
                if (n > 1 || strcmp(src[i].ref, name) != 0)
                        rc_log(log, RC_LOG_INFO, "image %s: trying %s%s", ref, from,
                               src[i].mirror ? " (a mirror, registries.conf)" : "");
                r = pull_begin(p, c, from, pull, src[i].insecure, log, &e);
                if (r == 0 && (r = rc_registry_fetch_top(p->g, &p->ref, p->layoutfd, d, &e)) < 0)
                        pull_end(p, c);
                if (r == 0) {
                        img->source = TAKE_PTR(from);
                        img->source_insecure = src[i].insecure;
                        break;
                }
                /* given up for a stop signal: no other source */
                if (e->status == ECANCELED || n == 1) {
                        rc_error_move(err, &e);
                        break;
                }
                status = e->status;
                if (asprintf(&more, "%s%s%s: %s", tried ? tried : "", tried ? "; " : "", from, e->msg) < 0)
                        more = NULL;
                rc_error_free(&e);
                free(tried);
                tried = more;
        }
        if (r < 0 && *err == NULL)
                rc_error_set_status(err, status,
                                    "pull `%s`: none of its %zu sources (registries.conf) gave it: %s", name,
                                    n, tried ? tried : "");
        rc_pull_sources_free(src, n);
        return r;
}

/* A registry image: its manifest, config and missing layers pulled into the session's
 * temp layout (registry.c), then unpacked like a local one. conf: registries.conf as the
 * short name's resolution read it (NULL: read here). */
static int open_registry(struct rc_image *img, struct rc_layer_cache *c, const char *ref,
                         const struct rc_pull_opts *pull, const struct rc_registries_conf *conf,
                         const struct rc_logger *log, rc_error_t *err)
{
        struct pull_session p;
        struct rc_descriptor d = {0};
        int ret;

        img->source_is_registry = true;
        img->pull = pull;
        if (pull_top(img, &p, c, ref, pull, conf, log, &d, err) < 0)
                return -1;
        {
                struct rc_blob_fetcher fetch = {.fetch = rc_registry_fetch, .data = p.g};

                ret = resolve_from(img, p.layoutfd, &fetch, &d, err);
                if (ret == 0)
                        ret = unpack_layers(img, c, p.layoutfd, &fetch, log, err);
        }
        rc_descriptor_clear(&d);
        pull_end(&p, c);
        return ret;
}

int rc_image_pull_blobs(const char *cache_dir, const struct rc_image *img, char *const *want, int destfd,
                        const struct rc_logger *log, rc_error_t *err)
{
        struct rc_layer_cache c;
        struct pull_session p;
        int ret = 0;

        if (rc_layer_cache_open(cache_dir, &c, err) < 0)
                return -1;
        if (pull_begin(&p, &c, img->source, img->pull, img->source_insecure, log, err) < 0) {
                rc_layer_cache_close(&c);
                return -1;
        }
        for (size_t i = 0; want[i] != NULL && ret == 0; i++)
                for (size_t k = 0; k < img->n_layers && ret == 0; k++) {
                        struct rc_descriptor d = {.digest = img->layer_digests[k],
                                                  .size = img->layer_sizes[k]};

                        if (strcmp(want[i], img->layer_digests[k]) != 0)
                                continue;
                        ret = rc_registry_fetch(p.g, p.layoutfd, RC_BLOB_LAYER, &d, err);
                        if (ret == 0)
                                ret = rc_blob_copy(p.layoutfd, destfd, want[i], err);
                        break;
                }
        pull_end(&p, &c);
        rc_layer_cache_close(&c);
        return ret;
}

static int open_local(struct rc_image *img, struct rc_layer_cache *c, const char *ref,
                      const struct rc_logger *log, rc_error_t *err)
{
        struct rc_image_ref r;
        _cleanup_free_ char *tmpname = NULL, *origin = NULL;
        int layoutfd, ret = -1;

        if (rc_image_ref_parse(ref, &r, err) < 0)
                return -1;
        if (asprintf(&origin, "`%s/index.json`", r.path) < 0) {
                rc_image_ref_clear(&r);
                return rc_error_set(err, ENOMEM, "open image");
        }
        img->source_is_archive = r.archive;
        layoutfd = open_layout(&r, img, err);
        if (layoutfd == -2) { /* an archive: extracted into a locked temp layout */
                layoutfd = rc_layer_cache_mktemp(c, "archive", &tmpname, err);
                if (layoutfd >= 0 && rc_archive_extract(img->source, layoutfd, NULL, log, err) < 0) {
                        close(layoutfd);
                        layoutfd = -1;
                }
        }
        if (layoutfd >= 0) {
                if (resolve(img, layoutfd, r.tag, origin, err) == 0 &&
                    unpack_layers(img, c, layoutfd, NULL, log, err) == 0)
                        ret = 0;
                close(layoutfd);
        }
        if (tmpname != NULL)
                rc_remove_tree_at(c->tmp_fd, tmpname, NULL);
        rc_image_ref_clear(&r);
        return ret;
}

static int open_one(const char *cache_dir, const char *ref, const struct rc_pull_opts *pull,
                    const struct rc_registries_conf *conf, const struct rc_logger *log,
                    struct rc_image **ret, rc_error_t *err)
{
        bool registry = strncmp(ref, RC_IMAGE_REGISTRY_PREFIX, strlen(RC_IMAGE_REGISTRY_PREFIX)) == 0;
        struct rc_layer_cache c;
        struct rc_image *img;
        int r;

        /* a bad reference is refused before the cache's directories are made */
        if (registry) {
                struct rc_registry_ref check;

                if (rc_registry_ref_parse(ref + strlen(RC_IMAGE_REGISTRY_PREFIX), &check, err) < 0)
                        return rc_error_wrap(err, "open image `%s`", ref);
                rc_registry_ref_clear(&check);
        }
        if (rc_image_libs_load(err) < 0)
                return -1;
        img = calloc(1, sizeof(*img));
        if (img == NULL || (img->ref = strdup(ref)) == NULL) {
                rc_image_free(img);
                return rc_error_set(err, ENOMEM, "open image `%s`", ref);
        }
        if (rc_layer_cache_open(cache_dir, &c, err) < 0) {
                rc_image_free(img);
                return -1;
        }
        r = registry ? open_registry(img, &c, ref, pull, conf, log, err)
                     : open_local(img, &c, ref, log, err);
        rc_layer_cache_close(&c);
        if (r < 0) {
                rc_error_wrap(err, "open image `%s`", ref);
                rc_image_free(img);
                return -1;
        }
        rc_log(log, RC_LOG_DEBUG, "image %s: manifest %s, %zu layers", ref, img->manifest_digest,
               img->n_layers);
        *ret = img;
        return 0;
}

/* A reference for registries.conf: "registry:REF", or one that names no local path
 * (an existing path, and anything spelled as one, stays a local layout). */
static const char *named_ref(const char *ref)
{
        struct rc_image_ref r;
        _cleanup_error_ rc_error_t e = NULL;
        bool exists;

        if (strncmp(ref, RC_IMAGE_NAMED_PREFIX, strlen(RC_IMAGE_NAMED_PREFIX)) == 0)
                return ref + strlen(RC_IMAGE_NAMED_PREFIX);
        if (strncmp(ref, RC_IMAGE_REGISTRY_PREFIX, strlen(RC_IMAGE_REGISTRY_PREFIX)) == 0 ||
            strncmp(ref, "oci:", 4) == 0 || strncmp(ref, "oci-archive:", 12) == 0 || ref[0] == '/' ||
            ref[0] == '.' || ref[0] == '\0' || strchr(ref, ' ') != NULL)
                return NULL;
        if (rc_image_ref_parse(ref, &r, &e) < 0)
                return ref;
        exists = access(r.path, F_OK) == 0;
        rc_image_ref_clear(&r);
        return exists ? NULL : ref;
}

/* Each candidate of a short name in turn (podman's permissive and disabled modes try the
 * search registries in order): the first that opens wins; the error lists them all. */
static int open_named(const char *cache_dir, const char *ref, const char *name,
                      const struct rc_pull_opts *pull, const struct rc_logger *log, struct rc_image **ret,
                      rc_error_t *err)
{
        struct rc_registries_conf conf;
        _cleanup_free_ char *tried = NULL;
        char **cands = NULL;
        size_t n = 0, len = 0;
        int r = -1;

        if (rc_registries_conf_load(pull ? pull->registries_conf : NULL, &conf, err) < 0)
                return rc_error_wrap(err, "open image `%s`", ref);
        if (rc_short_name_resolve(&conf, name, &cands, &n, err) < 0) {
                rc_registries_conf_clear(&conf);
                if (name == ref) /* no prefix: say why it is not a local layout */
                        return rc_error_wrap(
                                err, "open image `%s` (no such local path: taken as an image name)", ref);
                return rc_error_wrap(err, "open image `%s`", ref);
        }
        /* each candidate's pull takes its sources from the same reading of the files */
        for (size_t i = 0; i < n && r < 0; i++) {
                _cleanup_free_ char *full = NULL;
                rc_error_t e = NULL;
                char *more;

                if (asprintf(&full, "%s%s", RC_IMAGE_REGISTRY_PREFIX, cands[i]) < 0) {
                        rc_error_set(err, ENOMEM, "open image `%s`", ref);
                        break;
                }
                if (n > 1 || strcmp(cands[i], name) != 0)
                        rc_log(log, RC_LOG_INFO, "image %s: trying %s", ref, full);
                r = open_one(cache_dir, full, pull, &conf, log, ret, &e);
                if (r == 0)
                        break;
                /* given up for a stop signal: no other candidate */
                if (e->status == ECANCELED || n == 1) {
                        rc_error_move(err, &e);
                        break;
                }
                if (asprintf(&more, "%s%s%s", tried ? tried : "", tried ? "; " : "", e->msg) < 0)
                        more = NULL;
                rc_error_free(&e);
                free(tried);
                tried = more;
                len++;
        }
        if (r < 0 && len == n && n > 1)
                rc_error_set_status(err, ENOENT,
                                    "open image `%s`: not found in any of the %zu search registries: %s",
                                    ref, n, tried ? tried : "");
        rc_strv_free(cands);
        rc_registries_conf_clear(&conf);
        if (r == 0) {
                char *as_given = strdup(ref);

                if (as_given == NULL) {
                        rc_image_free(TAKE_PTR(*ret));
                        return rc_error_set(err, ENOMEM, "open image `%s`", ref);
                }
                free((*ret)->ref);
                (*ret)->ref = as_given;
        }
        return r;
}

int rc_image_open(const char *cache_dir, const char *ref, const struct rc_pull_opts *pull,
                  const struct rc_logger *log, struct rc_image **ret, rc_error_t *err)
{
        const char *name = named_ref(ref);

        if (name != NULL)
                return open_named(cache_dir, ref, name, pull, log, ret, err);
        return open_one(cache_dir, ref, pull, NULL, log, ret, err);
}

void rc_image_free(struct rc_image *img)
{
        if (img == NULL)
                return;
        for (size_t i = 0; img->layer_locks && img->layer_locks[i] >= 0; i++)
                close(img->layer_locks[i]);
        free(img->layer_locks);
        free(img->ref);
        free(img->manifest_digest);
        rc_strv_free(img->layer_dirs);
        rc_strv_free(img->layer_digests);
        rc_strv_free(img->layer_media_types);
        rc_strv_free(img->diff_ids);
        rc_strv_free(img->entrypoint);
        rc_strv_free(img->cmd);
        rc_strv_free(img->env);
        free(img->layer_sizes);
        free(img->workdir);
        free(img->user);
        free(img->config_json);
        free(img->source);
        free(img);
}
