/* Internal to specs/parse.c, specs/parse_linux.c and specs/validate.c: the table-driven
 * JSON -> struct machinery. Not part of the public specs/ interface.
 *
 * Every object of config.json is described by a NULL-key-terminated table of fields
 * ({key, kind, offset, ...}); parse_fields() walks the table, looks each key up, keeps
 * the JSON path (".linux.namespaces[2].type") up to date and dispatches on the kind.
 * Absent keys and JSON null are "not set"; unknown keys are ignored (runtime-spec). Every
 * array is allocated (zeroed) and stored with its count before its elements are parsed,
 * so the owning struct can always be freed, whatever point parsing failed at. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"
#include "specs/config.h"
#include "specs/json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where we are in the document, for error messages. */
struct pctx {
        const char *origin;
        rc_error_t *err;
        size_t len;
        char path[512];
};

void pctx_init(struct pctx *c, const char *origin, rc_error_t *err);
/* Append ".key" or "[i]" to the path; return a mark for pctx_pop. */
size_t pctx_push_key(struct pctx *c, const char *key);
size_t pctx_push_index(struct pctx *c, size_t i);
void pctx_pop(struct pctx *c, size_t mark);
/* "<origin>: <path>: <message>". Return -1. */
int pctx_fail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pctx_fail_type(struct pctx *c, const char *expected, const json_node *n);
int pctx_oom(struct pctx *c);

/* A field handler gets the value and its target: the struct member at the field's offset
 * (F_FUNC; the value is never JSON null) or the zeroed array element (F_ARRAY; the value
 * may be anything, so the handler checks its type). */
typedef int (*field_fn)(struct pctx *c, const json_node *v, void *target);

enum field_kind {
        F_FUNC, /* custom handler */
        F_STRING, /* char * */
        F_BOOL, /* bool */
        F_U32, /* uint32_t / unsigned, 0..max (max 0 = UINT32_MAX) */
        F_OPT_U64, /* struct oci_opt_u64 */
        F_OPT_I64, /* struct oci_opt_i64 */
        F_STRV, /* char ** (NULL-terminated) + size_t count */
        F_ARRAY, /* T * + size_t count; elements parsed by fn */
        F_KV, /* struct oci_kv * + size_t count, from an object of strings */
};

struct field {
        const char *key;
        enum field_kind kind;
        bool required;
        size_t off;
        size_t count_off;
        size_t elem_size;
        field_fn fn;
        uint64_t max;
};

#define FLD_FN(k, T, m, f, ...)                                                                             \
        {                                                                                                   \
                .key = (k), .kind = F_FUNC, .off = offsetof(T, m), .fn = (f), ##__VA_ARGS__                 \
        }
#define FLD_SELF(k, f, ...)                                                                                 \
        {                                                                                                   \
                .key = (k), .kind = F_FUNC, .off = 0, .fn = (f), ##__VA_ARGS__                              \
        }
#define FLD_STR(k, T, m, ...)                                                                               \
        {                                                                                                   \
                .key = (k), .kind = F_STRING, .off = offsetof(T, m), ##__VA_ARGS__                          \
        }
#define FLD_BOOL(k, T, m, ...)                                                                              \
        {                                                                                                   \
                .key = (k), .kind = F_BOOL, .off = offsetof(T, m), ##__VA_ARGS__                            \
        }
#define FLD_U32(k, T, m, ...)                                                                               \
        {                                                                                                   \
                .key = (k), .kind = F_U32, .off = offsetof(T, m), ##__VA_ARGS__                             \
        }
#define FLD_OPT_U64(k, T, m, ...)                                                                           \
        {                                                                                                   \
                .key = (k), .kind = F_OPT_U64, .off = offsetof(T, m), ##__VA_ARGS__                         \
        }
#define FLD_OPT_I64(k, T, m, ...)                                                                           \
        {                                                                                                   \
                .key = (k), .kind = F_OPT_I64, .off = offsetof(T, m), ##__VA_ARGS__                         \
        }
#define FLD_STRV(k, T, m, cnt, ...)                                                                         \
        {                                                                                                   \
                .key = (k), .kind = F_STRV, .off = offsetof(T, m), .count_off = offsetof(T, cnt),           \
                ##__VA_ARGS__                                                                               \
        }
#define FLD_KV(k, T, m, cnt, ...)                                                                           \
        {                                                                                                   \
                .key = (k), .kind = F_KV, .off = offsetof(T, m), .count_off = offsetof(T, cnt),             \
                ##__VA_ARGS__                                                                               \
        }
#define FLD_ARRAY(k, T, m, cnt, f, ...)                                                                     \
        {                                                                                                   \
                .key = (k), .kind = F_ARRAY, .off = offsetof(T, m), .count_off = offsetof(T, cnt),          \
                .elem_size = sizeof(*((T *)0)->m), .fn = (f), ##__VA_ARGS__                                 \
        }
#define FLD_END                                                                                             \
        {                                                                                                   \
                .key = NULL                                                                                 \
        }

/* Check that v is an object and fill obj from it according to table. */
int parse_fields(struct pctx *c, const json_node *v, const struct field *table, void *obj);

/* Scalars, with type and range checks that name the path. */
int parse_expect(struct pctx *c, const json_node *v, enum json_type t, const char *what);
int parse_get_string(struct pctx *c, const json_node *v, const char **ret);
int parse_dup_string(struct pctx *c, const json_node *v, char **ret);
int parse_get_bool(struct pctx *c, const json_node *v, bool *ret);
int parse_get_u64(struct pctx *c, const json_node *v, uint64_t max, uint64_t *ret);
int parse_get_i64(struct pctx *c, const json_node *v, int64_t min, int64_t max, int64_t *ret);
/* Field handlers for full-range uint64_t / int64_t members. */
int parse_fld_u64(struct pctx *c, const json_node *v, void *target);
int parse_fld_i64(struct pctx *c, const json_node *v, void *target);

/* Containers. */
int parse_strv(struct pctx *c, const json_node *v, char ***ret, size_t *ret_n);
int parse_kv(struct pctx *c, const json_node *v, struct oci_kv **ret, size_t *ret_n);
int parse_array(struct pctx *c, const json_node *v, size_t elem_size, field_fn fn, void **ret,
                size_t *ret_n);

/* The .linux object (specs/parse_linux.c). */
int parse_linux(struct pctx *c, const json_node *v, void *target);
void oci_linux_clear(struct oci_linux *l);
/* One element of .mounts (specs/parse_mounts.c). */
int parse_mount(struct pctx *c, const json_node *v, void *target);
/* .linux.memoryPolicy (specs/parse_mempolicy.c). */
int parse_memory_policy(struct pctx *c, const json_node *v, void *target);
void oci_kv_free(struct oci_kv *kv, size_t n);

/* Process-level checks shared by oci_config_validate and oci_process_parse;
 * `prefix` is ".process" or "" (specs/validate.c). */
int oci_process_validate(const struct oci_process *p, const char *origin, const char *prefix,
                         rc_error_t *err);
