/* The OCI state document and run-container's extension of it (see specs/state.h).
 *
 * The extension fields are flat properties next to the OCI ones ("pidStartTime",
 * "created", "rootfs", "owner", "cgroupPath", "systemdCgroup"); OCI readers ignore them. */
#include "specs/state.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/json.h"

static const char *const status_names[] = {
        [OCI_STATUS_CREATING] = "creating", [OCI_STATUS_CREATED] = "created",
        [OCI_STATUS_RUNNING] = "running",   [OCI_STATUS_STOPPED] = "stopped",
        [OCI_STATUS_PAUSED] = "paused",
};

const char *oci_status_name(enum oci_status s)
{
        if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
                return "unknown";
        return status_names[s];
}

int oci_status_from_name(const char *name, enum oci_status *ret)
{
        for (size_t i = 0; name != NULL && i < sizeof(status_names) / sizeof(status_names[0]); i++) {
                if (strcmp(status_names[i], name) == 0) {
                        *ret = (enum oci_status)i;
                        return 0;
                }
        }
        return -1;
}

/* ---- serialise ---------------------------------------------------------------- */

static void gen_annotations(json_gen *g, const struct oci_state *s)
{
        if (s->n_annotations == 0)
                return;
        json_gen_string(g, "annotations");
        json_gen_object_open(g);
        for (size_t i = 0; i < s->n_annotations; i++)
                json_gen_kv_string(g, s->annotations[i].key, s->annotations[i].value);
        json_gen_object_close(g);
}

static void gen_extended(json_gen *g, const struct oci_state *s)
{
        json_gen_kv_uint(g, "pidStartTime", s->pid_start_time);
        if (s->created != NULL)
                json_gen_kv_string(g, "created", s->created);
        if (s->rootfs != NULL)
                json_gen_kv_string(g, "rootfs", s->rootfs);
        json_gen_kv_uint(g, "owner", s->owner);
        if (s->cgroup_path != NULL)
                json_gen_kv_string(g, "cgroupPath", s->cgroup_path);
        json_gen_kv_bool(g, "systemdCgroup", s->systemd_cgroup);
}

int oci_state_to_json(const struct oci_state *s, unsigned flags, char **ret, size_t *ret_len,
                      rc_error_t *err)
{
        json_gen *g;
        int r;

        if (s->id == NULL)
                return rc_error_set(err, EINVAL, "serialise state: missing container id");
        g = json_gen_new(flags & OCI_STATE_PRETTY);
        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", s->oci_version ? s->oci_version : OCI_VERSION);
        json_gen_kv_string(g, "id", s->id);
        json_gen_kv_string(g, "status", oci_status_name(s->status));
        if (s->status != OCI_STATUS_STOPPED && s->pid > 0)
                json_gen_kv_int(g, "pid", s->pid);
        json_gen_kv_string(g, "bundle", s->bundle ? s->bundle : "");
        gen_annotations(g, s);
        if (flags & OCI_STATE_EXTENDED)
                gen_extended(g, s);
        json_gen_object_close(g);

        r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        if (r < 0)
                return rc_error_wrap(err, "serialise state of \"%s\"", s->id);
        return 0;
}

/* ---- parse -------------------------------------------------------------------- */

enum field_kind { F_STRING, F_STATUS, F_PID, F_U64, F_UID, F_BOOL, F_ANNOTATIONS };

struct field {
        const char *key;
        enum field_kind kind;
        size_t offset;
        bool required;
};

static const struct field fields[] = {
        {"ociVersion", F_STRING, offsetof(struct oci_state, oci_version), true},
        {"id", F_STRING, offsetof(struct oci_state, id), true},
        {"status", F_STATUS, offsetof(struct oci_state, status), true},
        {"pid", F_PID, offsetof(struct oci_state, pid), false},
        {"bundle", F_STRING, offsetof(struct oci_state, bundle), true},
        {"annotations", F_ANNOTATIONS, 0, false},
        {"pidStartTime", F_U64, offsetof(struct oci_state, pid_start_time), false},
        {"created", F_STRING, offsetof(struct oci_state, created), false},
        {"rootfs", F_STRING, offsetof(struct oci_state, rootfs), false},
        {"owner", F_UID, offsetof(struct oci_state, owner), false},
        {"cgroupPath", F_STRING, offsetof(struct oci_state, cgroup_path), false},
        {"systemdCgroup", F_BOOL, offsetof(struct oci_state, systemd_cgroup), false},
};

static int type_error(const char *origin, const char *key, const char *what, rc_error_t *err)
{
        return rc_error_set(err, 0, "%s: .%s: expected %s", origin, key, what);
}

static int parse_annotations(const json_node *n, const char *origin, struct oci_state *s, rc_error_t *err)
{
        size_t count = json_object_size(n);

        if (json_type_of(n) != JSON_OBJECT)
                return type_error(origin, "annotations", "an object", err);
        if (count == 0)
                return 0;
        s->annotations = calloc(count, sizeof(*s->annotations));
        if (s->annotations == NULL)
                return rc_error_set(err, ENOMEM, "%s: .annotations", origin);
        for (size_t i = 0; i < count; i++) {
                const char *key = json_object_key(n, i);
                const char *value = json_get_string(json_object_value(n, i));

                if (value == NULL)
                        return rc_error_set(err, 0, "%s: .annotations[\"%s\"]: expected a string", origin,
                                            key);
                s->annotations[i].key = strdup(key);
                s->annotations[i].value = strdup(value);
                s->n_annotations++;
                if (s->annotations[i].key == NULL || s->annotations[i].value == NULL)
                        return rc_error_set(err, ENOMEM, "%s: .annotations", origin);
        }
        return 0;
}

static int parse_number(const json_node *n, const char *origin, const char *key, uint64_t max, uint64_t *ret,
                        rc_error_t *err)
{
        uint64_t v;

        if (json_type_of(n) != JSON_NUMBER)
                return type_error(origin, key, "a number", err);
        if (json_get_u64(n, &v) < 0 || v > max)
                return rc_error_set(err, 0, "%s: .%s: invalid value %s", origin, key, json_number_text(n));
        *ret = v;
        return 0;
}

static int parse_field(const struct field *f, const json_node *n, const char *origin, struct oci_state *s,
                       rc_error_t *err)
{
        char *base = (char *)s;
        uint64_t v = 0;

        switch (f->kind) {
        case F_STRING:
        case F_STATUS:
                if (json_type_of(n) != JSON_STRING)
                        return type_error(origin, f->key, "a string", err);
                if (f->kind == F_STATUS) {
                        if (oci_status_from_name(json_get_string(n), &s->status) < 0)
                                return rc_error_set(err, 0, "%s: .%s: unknown status \"%s\"", origin, f->key,
                                                    json_get_string(n));
                        return 0;
                }
                *(char **)(base + f->offset) = strdup(json_get_string(n));
                if (*(char **)(base + f->offset) == NULL)
                        return rc_error_set(err, ENOMEM, "%s: .%s", origin, f->key);
                return 0;
        case F_PID:
                if (parse_number(n, origin, f->key, INT_MAX, &v, err) < 0)
                        return -1;
                *(pid_t *)(base + f->offset) = (pid_t)v;
                return 0;
        case F_UID:
                if (parse_number(n, origin, f->key, UINT32_MAX, &v, err) < 0)
                        return -1;
                *(uid_t *)(base + f->offset) = (uid_t)v;
                return 0;
        case F_U64:
                return parse_number(n, origin, f->key, UINT64_MAX, (uint64_t *)(base + f->offset), err);
        case F_BOOL:
                if (json_type_of(n) != JSON_BOOL)
                        return type_error(origin, f->key, "a boolean", err);
                *(bool *)(base + f->offset) = json_get_bool(n);
                return 0;
        case F_ANNOTATIONS:
                return parse_annotations(n, origin, s, err);
        }
        return 0;
}

static int parse_root(const json_node *root, const char *origin, struct oci_state *s, rc_error_t *err)
{
        if (json_type_of(root) != JSON_OBJECT)
                return rc_error_set(err, 0, "%s: expected an object", origin);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                const json_node *n = json_object_get(root, fields[i].key);

                if (n == NULL) {
                        if (fields[i].required)
                                return rc_error_set(err, 0, "%s: .%s: missing", origin, fields[i].key);
                        continue;
                }
                if (parse_field(&fields[i], n, origin, s, err) < 0)
                        return -1;
        }
        return 0;
}

int oci_state_parse(const char *data, size_t len, const char *origin, struct oci_state **ret,
                    rc_error_t *err)
{
        struct oci_state *s;
        json_node *root = NULL;
        int r;

        if (origin == NULL)
                origin = "state";
        if (json_parse(data, len, origin, &root, err) < 0)
                return -1;
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
                json_free(root);
                return rc_error_set(err, ENOMEM, "%s", origin);
        }
        r = parse_root(root, origin, s, err);
        json_free(root);
        if (r < 0) {
                oci_state_free(s);
                return -1;
        }
        *ret = s;
        return 0;
}

void oci_state_clear(struct oci_state *s)
{
        if (s == NULL)
                return;
        free(s->oci_version);
        free(s->id);
        free(s->bundle);
        for (size_t i = 0; i < s->n_annotations; i++) {
                free(s->annotations[i].key);
                free(s->annotations[i].value);
        }
        free(s->annotations);
        free(s->created);
        free(s->rootfs);
        free(s->cgroup_path);
        *s = (struct oci_state){0};
}

void oci_state_free(struct oci_state *s)
{
        if (s == NULL)
                return;
        oci_state_clear(s);
        free(s);
}
