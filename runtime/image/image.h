/* OCI images for `sandbox --image`: an OCI image layout directory (DIR[:TAG]) or an OCI
 * archive (oci-archive:FILE[:TAG]) resolved to its manifest and config, its layers
 * unpacked once into a content-addressed cache (by digest, sha256 verified while
 * unpacking, OCI whiteouts turned into overlayfs whiteouts) and stacked as overlayfs
 * lower directories; and the reverse: committing an overlay upper directory as a new
 * layer into an OCI image layout. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"

#define RC_IMAGE_CACHE_DEFAULT "/var/lib/run-container/layers"
/* The cache when none is given: RC_IMAGE_CACHE_DEFAULT for root; for any other user its
 * own, $XDG_DATA_HOME/run-container/layers (~/.local/share/run-container/layers).
 * Decided once per process. */
const char *rc_image_cache_default(void);

struct rc_image {
        char *ref; /* as given */
        char *manifest_digest; /* "sha256:..." */
        char **layer_dirs; /* unpacked layers in the cache, bottom first; NULL-terminated */
        size_t n_layers;
        char **layer_digests; /* compressed blob digests, same order (for --commit) */
        char **diff_ids; /* uncompressed digests, same order (rootfs.diff_ids) */
        /* from the image config (NULL when absent) */
        char **entrypoint;
        char **cmd;
        char **env; /* "K=V" */
        char *workdir;
        char *user;

        /* Kept for rc_image_commit and the cache (callers may ignore them). */
        char *config_json; /* the verified image config document */
        char **layer_media_types; /* same order as layer_digests */
        uint64_t *layer_sizes; /* compressed blob sizes */
        char *source; /* absolute path of the layout directory or archive file; the reference
                       * a registry image was pulled from (a mirror, say: registries.conf) */
        bool source_insecure; /* that one is [[registry]] insecure */
        bool source_is_archive;
        bool source_is_registry;
        const struct rc_pull_opts *pull; /* a registry image's: the caller's, kept for a commit */
        /* A shared flock(2) on each layer's lock file in the cache, held until
         * rc_image_free: `image prune` leaves those layers alone. O_CLOEXEC. */
        int *layer_locks;
};

/* How docker:// references are pulled (runtime/image/registry.c). */
struct rc_pull_opts {
        const char *creds; /* "USER:PASSWORD"; NULL: from the auth file */
        const char *authfile; /* NULL: $REGISTRY_AUTH_FILE, else containers-auth.json(5)'s defaults */
        bool tls_verify_off; /* no certificate checks, plain http allowed (else only on loopback) */
        /* short names: this containers-registries.conf(5) file alone; NULL:
         * $CONTAINERS_REGISTRIES_CONF alone, else the usual files and drop-ins */
        const char *registries_conf;
        /* called as a blob downloads (done of total bytes); NULL: none */
        void (*progress)(void *data, const char *digest, uint64_t done, uint64_t total);
        void *progress_data;
};

/* Resolve `ref` (DIR[:TAG], oci-archive:FILE[:TAG], docker://[HOST/]NAME[:TAG|@DIGEST], or
 * registry:REF and a REF that names no local path: [HOST/]NAME[:TAG|@DIGEST] with short
 * names resolved through registries.conf, rc_short_name_resolve in internal.h),
 * verify and unpack (or reuse) every layer under cache_dir; pulls what a registry image
 * needs and the cache lacks. pull: NULL for the defaults, else kept until rc_image_free
 * (a commit on a registry image pulls its blobs again). */
int rc_image_open(const char *cache_dir, const char *ref, const struct rc_pull_opts *pull,
                  const struct rc_logger *log, struct rc_image **ret, rc_error_t *err);
void rc_image_free(struct rc_image *img);

/* Write the changes in `upper_dir` (overlayfs whiteouts converted back to OCI
 * whiteouts) as a new layer on top of `base` (NULL: a single-layer image) into the OCI
 * image layout `dest` ("DIR[:TAG]", created if missing), with the base's config
 * carried over. */
/* The owners the upper layer's files had in the container's user namespace: a host id in
 * [outside, outside + size) of a range is inside + (id - outside); one no range holds is
 * recorded as the overflow id (65534), as the container saw it. */
struct rc_commit_idmap {
        uint32_t inside, outside, size;
};
struct rc_commit_ids {
        const struct rc_commit_idmap *uid, *gid;
        size_t n_uid, n_gid;
};
/* ids: NULL for the owners as they are on disk (no user namespace). */
int rc_image_commit(const char *cache_dir, const struct rc_image *base, const char *upper_dir,
                    const char *dest, const struct rc_commit_ids *ids, const struct rc_logger *log,
                    rc_error_t *err);

/* `image ls` / `image prune`: the cached layers and their sizes; prune removes layers no
 * image under use references (all of them when nothing runs). */
int rc_image_cache_list(const char *cache_dir, char ***ret_digests, size_t *ret_n, rc_error_t *err);
int rc_image_cache_prune(const char *cache_dir, const struct rc_logger *log, size_t *ret_removed,
                         rc_error_t *err);

/* One cached layer for `image ls`: disk usage of its directory (st_blocks; a file with
 * several hardlinks counts at each) and whether an open image or an unpack holds it. */
int rc_image_cache_layer_info(const char *cache_dir, const char *digest, uint64_t *ret_bytes,
                              bool *ret_in_use, rc_error_t *err);

/* Remove what interrupted unpacks and archive reads left under the cache's tmp/ (each
 * temp dir is flock'ed by its live owner, so only abandoned ones go). For `gc`: cheap,
 * never touches complete layers. */
int rc_image_cache_clean_tmp(const char *cache_dir, const struct rc_logger *log, size_t *ret_removed,
                             rc_error_t *err);
