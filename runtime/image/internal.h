/* Internal interface of the image side, shared by image.c (references, layouts,
 * archives, configs), layers.c (the layer cache and the verified unpack) and
 * layer_writer.c (commit), and by their unit tests.
 *
 * The layer cache under cache_dir:
 *   <algo>/<hex>/        one unpacked layer (an overlayfs lower directory), complete:
 *                        it appears there only by rename(2) once verified
 *   locks/<algo>-<hex>   its use lock: LOCK_SH for as long as an open image uses it,
 *                        LOCK_EX to prune it
 *   locks/<algo>-<hex>.unpack   LOCK_EX while unpacking it
 *   tmp/NAME.XXXXXX      temp dirs (unpacks in progress, archive reads, pulls, pruned
 *                        layers being removed), each flock'ed on its own fd by its live owner
 *   downloads/<algo>-<hex>  a blob being pulled (registry.c), flock'ed by its downloader;
 *                        an interrupted one stays for the next pull to go on (prune removes it)
 */
#pragma once

#include "runtime/image/libs.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"

#define RC_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define RC_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RC_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define RC_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define RC_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define RC_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define RC_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define RC_IMAGE_REGISTRY_PREFIX "docker://"
#define RC_IMAGE_NAMED_PREFIX "registry:" /* resolved through registries.conf, never a path */
#define RC_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

#define RC_OPAQUE_XATTR "trusted.overlay.opaque"
#define RC_WHITEOUT_PREFIX ".wh."
#define RC_WHITEOUT_OPAQUE ".wh..wh..opq"

/* Manifests, indexes and configs larger than this are refused. */
#define RC_IMAGE_JSON_MAX (4u * 1024u * 1024u)

/* ---- digests ---------------------------------------------------------------------- */

/* "sha256:<64 lowercase hex>" or "sha512:<128>". Splits into algo ("sha256") and hex
 * (pointing into digest). -1 (no error filled) when malformed: such a string never
 * becomes a path. */
int rc_digest_split(const char *digest, char ret_algo[8], const char **ret_hex);

struct rc_hash {
        EVP_MD_CTX *ctx;
        char algo[8];
        bool failed;
};

int rc_hash_init(struct rc_hash *h, const char *algo, rc_error_t *err);
void rc_hash_update(struct rc_hash *h, const void *buf, size_t len);
/* The digest as "algo:hex" (malloc'ed). The context can not be updated afterwards. */
int rc_hash_final(struct rc_hash *h, char **ret, rc_error_t *err);
void rc_hash_clear(struct rc_hash *h);
/* One-shot sha256 of a buffer. */
int rc_sha256_digest(const void *buf, size_t len, char **ret, rc_error_t *err);

/* ---- references and layouts (image.c) ---------------------------------------------- */

struct rc_image_ref {
        char *path; /* the layout directory or the archive file */
        char *tag; /* NULL when none was given */
        bool archive;
};

/* "DIR", "DIR:TAG", "oci-archive:FILE", "oci-archive:FILE:TAG". A ":" whose right side
 * contains a "/" or that makes an existing path is part of the path. */
int rc_image_ref_parse(const char *ref, struct rc_image_ref *ret, rc_error_t *err);
void rc_image_ref_clear(struct rc_image_ref *r);

/* This machine as an OCI platform architecture ("amd64", "arm64", ...). */
const char *rc_image_host_arch(void);

/* A tag as the OCI layout allows in ref.name: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
bool rc_image_tag_valid(const char *tag);

struct rc_descriptor {
        char *media_type; /* NULL when absent */
        char *digest;
        uint64_t size;
};
void rc_descriptor_clear(struct rc_descriptor *d);

/* Open blobs/<algo>/<hex> of the layout for reading (the digest validated first). */
int rc_blob_open(int layoutfd, const char *digest, rc_error_t *err);

/* Read blobs/<algo>/<hex> of the layout whole (at most max bytes), check its size and
 * digest against d. The error names both digests on a mismatch. */
int rc_blob_read(int layoutfd, const struct rc_descriptor *d, size_t max, char **ret, size_t *ret_len,
                 rc_error_t *err);

/* Extract an OCI archive's oci-layout, index.json and blobs into the layout directory
 * dstfd (blobs/ created as needed), each blob verified against its name. `want`
 * (NULL-terminated digests) limits the blobs to those; want == NULL takes them all. */
int rc_archive_extract(const char *archive_path, int dstfd, char *const *want, const struct rc_logger *log,
                       rc_error_t *err);

/* ---- the layer cache (layers.c) ----------------------------------------------------- */

struct rc_layer_cache {
        char *path; /* absolute */
        int fd;
        int locks_fd;
        int tmp_fd;
};

/* Where the blobs of a layout come from when it does not hold them yet: a registry pull
 * (registry.c) fetches each one into the layout just before it is read. NULL for local
 * layouts and archives. */
enum rc_blob_kind { RC_BLOB_MANIFEST, RC_BLOB_CONFIG, RC_BLOB_LAYER };
struct rc_blob_fetcher {
        int (*fetch)(void *data, int layoutfd, enum rc_blob_kind kind, const struct rc_descriptor *d,
                     rc_error_t *err);
        void *data;
};

/* Open (creating them) cache_dir, its locks/ and tmp/. */
int rc_layer_cache_open(const char *cache_dir, struct rc_layer_cache *ret, rc_error_t *err);
void rc_layer_cache_close(struct rc_layer_cache *c);

/* A fresh temp dir under tmp/ named "<prefix>.XXXXXX", flock'ed (LOCK_EX) on the
 * returned O_DIRECTORY fd for as long as that fd lives. *ret_name is its name in tmp/. */
int rc_layer_cache_mktemp(struct rc_layer_cache *c, const char *prefix, char **ret_name, rc_error_t *err);

/* Make the layer described by d (a blob of the layout layoutfd) available in the cache:
 * reuse it, or unpack it verifying the blob's digest and (if not NULL) the uncompressed
 * diff_id, the blob fetched first through `fetch` when there is one (so a cached layer is
 * never downloaded). Returns its directory (absolute) and the fd holding LOCK_SH on its
 * use lock. */
int rc_layer_get(struct rc_layer_cache *c, int layoutfd, const struct rc_descriptor *d, const char *diff_id,
                 const struct rc_blob_fetcher *fetch, const struct rc_logger *log, char **ret_dir,
                 int *ret_lockfd, rc_error_t *err);

/* Unpack one layer blob read from blobfd into the empty directory rootfd (the core of
 * rc_layer_get, exposed for the tests). `digest` is what the blob must hash to;
 * `diff_id` (NULL: not checked) what the uncompressed tar must. */
int rc_layer_unpack(int blobfd, int rootfd, const char *digest, const char *diff_id,
                    const struct rc_logger *log, rc_error_t *err);

/* A new blob of a layout: an unnamed file (O_TMPFILE) in blobs/<algo>/ (a named
 * ".tmp-*" file where the filesystem has no O_TMPFILE), linked under its digest by
 * rc_blob_tmp_finish. Clear it in any case. */
struct rc_blob_tmp {
        int dirfd;
        int fd;
        char *tmpname;
};
int rc_blob_tmp_open(int layoutfd, const char *algo, struct rc_blob_tmp *ret, rc_error_t *err);
int rc_blob_tmp_finish(struct rc_blob_tmp *t, const char *digest, rc_error_t *err);
void rc_blob_tmp_clear(struct rc_blob_tmp *t);

/* Copy blob `digest` from layout srcfd into layout dstfd, verified on the way. */
int rc_blob_copy(int srcfd, int dstfd, const char *digest, rc_error_t *err);
/* 1 when the layout holds blob `digest` (a regular file), else 0. */
int rc_blob_exists(int layoutfd, const char *digest);

/* ---- writing layouts (layer_writer.c) ------------------------------------------------ */

/* Store buf as a blob of the layout and return its descriptor digest ("sha256:..."). */
int rc_blob_write_mem(int layoutfd, const void *buf, size_t len, char **ret_digest, rc_error_t *err);

/* ---- registries (registry_ref.c, registry.c) --------------------------------------------- */

/* docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST], as skopeo and podman read it: without a
 * host, docker.io, and library/NAME for a one-component name there; without a tag or a
 * digest, "latest". */
struct rc_registry_ref {
        char *host; /* as named ("docker.io" for short names): for credentials and messages */
        char *endpoint; /* where the API answers (registry-1.docker.io for docker.io) */
        char *repo;
        char *tag; /* NULL when a digest names the image */
        char *digest;
};
/* `ref` without its "docker://". */
int rc_registry_ref_parse(const char *ref, struct rc_registry_ref *ret, rc_error_t *err);
void rc_registry_ref_clear(struct rc_registry_ref *r);
/* localhost, 127.0.0.0/8 or [::1] (with any port): where plain http is allowed. */
bool rc_registry_host_is_loopback(const char *host);

/* The credentials for r from `authfile`, else $REGISTRY_AUTH_FILE, else the first of
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json and
 * ~/.docker/config.json with an entry for it ("auth": base64 of USER:PASSWORD; the most
 * specific of "host/ns/repo", its parents and "host" wins). 1 when found, 0 when none. */
int rc_registry_auth_lookup(const char *authfile, const struct rc_registry_ref *r, char **ret_user,
                            char **ret_pass, rc_error_t *err);

struct rc_registry;
struct rc_pull_opts;
struct rc_image;
/* A session with r's registry: credentials found, /v2/ answered, authenticated. Partial
 * downloads go to the cache's downloads/ (cache_fd). */
int rc_registry_open(const struct rc_registry_ref *r, int cache_fd, const struct rc_pull_opts *opts,
                     const struct rc_logger *log, struct rc_registry **ret, rc_error_t *err);
void rc_registry_free(struct rc_registry *g);
/* The manifest (or index) r names, stored as a blob of the layout; its descriptor. */
int rc_registry_fetch_top(struct rc_registry *g, const struct rc_registry_ref *r, int layoutfd,
                          struct rc_descriptor *ret, rc_error_t *err);
/* Pull the layer blobs `want` (NULL-terminated digests) of the registry image img into
 * the layout destfd (for a commit on top of it), through a temp layout in the cache. */
int rc_image_pull_blobs(const char *cache_dir, const struct rc_image *img, char *const *want, int destfd,
                        const struct rc_logger *log, rc_error_t *err);
/* The rc_blob_fetcher of a session (data: the struct rc_registry). */
int rc_registry_fetch(void *data, int layoutfd, enum rc_blob_kind kind, const struct rc_descriptor *d,
                      rc_error_t *err);

/* ---- short names (registries_conf.c) ------------------------------------------------------- */

#define RC_REGISTRIES_CONF "/etc/containers/registries.conf"

enum rc_short_name_mode { RC_SHORT_NAME_PERMISSIVE, RC_SHORT_NAME_ENFORCING, RC_SHORT_NAME_DISABLED };
struct rc_short_alias {
        char *name, *value; /* "busybox" -> "docker.io/library/busybox" */
        char *origin; /* "FILE:LINE" */
};
/* A [[registry.mirror]] table. */
enum rc_mirror_pull { RC_MIRROR_PULL_ALL, RC_MIRROR_PULL_DIGEST_ONLY, RC_MIRROR_PULL_TAG_ONLY };
struct rc_registry_mirror {
        char *location; /* HOST[:PORT][/PATH] */
        bool insecure;
        enum rc_mirror_pull pull_from; /* pull-from-mirror */
        bool pull_from_set;
        char *origin; /* "FILE:LINE" of its header */
};
/* A [[registry]] table: where the names under `prefix` are pulled from. */
struct rc_registry_entry {
        char *prefix; /* HOST[:PORT][/PATH], or *.DOMAIN (a wildcard: any host below it) */
        char *location; /* NULL: the prefix itself */
        bool insecure, blocked, mirror_by_digest_only;
        bool v1; /* from version 1's [registries.insecure] or [registries.block] */
        struct rc_registry_mirror *mirrors;
        size_t n_mirrors;
        char *origin; /* "FILE:LINE" of its header */
};
/* What containers-registries.conf(5) files say about short names, merged in their order
 * (a later file's search list and mode replace, its aliases override one by one, its
 * [[registry]] tables replace those of the same prefix). */
struct rc_registries_conf {
        char **search; /* unqualified-search-registries (or version 1's [registries.search]) */
        size_t n_search;
        enum rc_short_name_mode mode;
        struct rc_short_alias *aliases;
        size_t n_aliases;
        char **files; /* read, in order (for messages) */
        size_t n_files;
        struct rc_registry_entry *registries;
        size_t n_registries;
};
/* Merge one file's text into conf; errors name path and line. */
int rc_registries_conf_parse(const char *buf, size_t len, const char *path, struct rc_registries_conf *conf,
                             rc_error_t *err);
/* `path` alone (NULL: $CONTAINERS_REGISTRIES_CONF alone, else ~/.config/containers/registries.conf
 * or /etc/containers/registries.conf, then the drop-ins of containers-registries.conf.d(5)). */
int rc_registries_conf_load(const char *path, struct rc_registries_conf *ret, rc_error_t *err);
void rc_registries_conf_clear(struct rc_registries_conf *conf);
/* HOST/... with a first component that names a registry (a dot, a port, "localhost"). */
bool rc_image_ref_is_qualified(const char *ref);
/* The registry references (without "docker://") that `ref`, [HOST/]NAME[:TAG][@DIGEST],
 * stands for, in the order to try: itself when qualified; else its alias (tag and digest
 * carried over); else each search registry (an error when there is none, or when there
 * are several and the mode is enforcing: nothing ever prompts). */
int rc_short_name_resolve(const struct rc_registries_conf *conf, const char *ref, char ***ret, size_t *ret_n,
                          rc_error_t *err);

/* Where a pull of `name` (HOST/REPO[:TAG][@DIGEST], qualified) goes, in the order to try
 * (containers-registries.conf(5)): the mirrors of its [[registry]] table (the one of the
 * longest matching prefix) that take this kind of reference, then its location; `name`
 * itself without a table. Refused (EACCES) when the table blocks it. */
struct rc_pull_source {
        char *ref; /* HOST/REPO[:TAG][@DIGEST] */
        bool insecure; /* plain http and unchecked certificates allowed */
        bool mirror;
};
int rc_registries_pull_sources(const struct rc_registries_conf *conf, const char *name,
                               struct rc_pull_source **ret, size_t *ret_n, rc_error_t *err);
void rc_pull_sources_free(struct rc_pull_source *v, size_t n);
