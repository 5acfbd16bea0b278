/* The OCI state document (`state`, hooks' stdin, `list`) and its on-disk extension that
 * the runtime keeps in <root>/<id>/state.json. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "specs/config.h"

enum oci_status {
        OCI_STATUS_CREATING,
        OCI_STATUS_CREATED,
        OCI_STATUS_RUNNING,
        OCI_STATUS_STOPPED,
        OCI_STATUS_PAUSED,
};
const char *oci_status_name(enum oci_status s); /* "creating" ... */
int oci_status_from_name(const char *name, enum oci_status *ret);

struct oci_state {
        char *oci_version;
        char *id;
        enum oci_status status;
        pid_t pid; /* 0: none */
        char *bundle;
        struct oci_kv *annotations;
        size_t n_annotations;

        /* run-container extensions, written only with OCI_STATE_EXTENDED. They are plain
         * extra properties, so OCI readers ignore them. */
        uint64_t pid_start_time; /* field 22 of /proc/PID/stat; 0: unknown */
        char *created; /* RFC 3339, UTC, nanoseconds */
        char *rootfs; /* absolute host path */
        uid_t owner;
        char *cgroup_path; /* NULL if none */
        bool systemd_cgroup;
};

enum {
        OCI_STATE_PRETTY = 1 << 0,
        OCI_STATE_EXTENDED = 1 << 1, /* include the run-container extension fields */
};

/* Serialise. The OCI fields follow the spec: "pid" is omitted when status is stopped or
 * pid is 0, "annotations" only when there are some. */
int oci_state_to_json(const struct oci_state *s, unsigned flags, char **ret, size_t *ret_len,
                      rc_error_t *err);
/* Parse a state document (extended fields read when present). */
int oci_state_parse(const char *data, size_t len, const char *origin, struct oci_state **ret,
                    rc_error_t *err);
void oci_state_free(struct oci_state *s);
void oci_state_clear(struct oci_state *s); /* members only */
