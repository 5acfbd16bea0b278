/* The only JSON interface of the project: a thin wrapper over yajl (used in specs/json.c,
 * the parser, and specs/json_gen.c, the generator, and nowhere else) so the backend can be
 * swapped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"

/* Limits applied before the tree is built (yajl's tree free recurses). */
#define JSON_MAX_INPUT (16u * 1024u * 1024u)
#define JSON_MAX_DEPTH 64

typedef struct json_node json_node; /* opaque; owned by the tree root */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_OBJECT, JSON_ARRAY };

/* Parse a whole document. Errors name `origin` (e.g. the file path) and, for syntax
 * errors, what yajl reports. Input over JSON_MAX_INPUT or nested deeper than
 * JSON_MAX_DEPTH is refused before parsing, and so are comments and NUL bytes (yajl_tree
 * would accept comments; JSON has none). */
int json_parse(const char *data, size_t len, const char *origin, json_node **ret, rc_error_t *err);
void json_free(json_node *root);

enum json_type json_type_of(const json_node *n);
const char *json_type_name(enum json_type t); /* "string", "object", ... */

/* Accessors accept NULL (json_type_of(NULL) is JSON_NULL, sizes are 0). */

/* Objects. Lookups return NULL when the key is absent. Duplicate keys are all kept, in
 * document order; json_object_get returns the last one. */
size_t json_object_size(const json_node *n);
const char *json_object_key(const json_node *n, size_t i);
json_node *json_object_value(const json_node *n, size_t i);
json_node *json_object_get(const json_node *n, const char *key);

/* Arrays. */
size_t json_array_size(const json_node *n);
json_node *json_array_get(const json_node *n, size_t i);

/* Scalars. These return NULL/false/-1 on a type mismatch; callers check json_type_of
 * first to give a precise message. Numbers are read exactly from their text:
 * json_get_u64 fails (-1) for negatives, fractions, exponents or values > UINT64_MAX,
 * json_get_i64 for fractions or values outside int64_t. */
const char *json_get_string(const json_node *n);
bool json_get_bool(const json_node *n);
int json_get_u64(const json_node *n, uint64_t *ret);
int json_get_i64(const json_node *n, int64_t *ret);
const char *json_number_text(const json_node *n);

/* Generator. All functions are no-ops once an error happened; json_gen_finish reports it. */
typedef struct json_gen json_gen;
json_gen *json_gen_new(bool pretty);
void json_gen_free(json_gen *g);
void json_gen_object_open(json_gen *g);
void json_gen_object_close(json_gen *g);
void json_gen_array_open(json_gen *g);
void json_gen_array_close(json_gen *g);
void json_gen_string(json_gen *g, const char *s); /* also used for keys; NULL -> null */
void json_gen_int(json_gen *g, int64_t v);
void json_gen_uint(json_gen *g, uint64_t v);
void json_gen_bool(json_gen *g, bool v);
void json_gen_null(json_gen *g);
/* A parsed value and everything in it, as parsed: numbers keep their text (fractions and
 * every 64-bit value exact), object keys their order. */
void json_gen_node(json_gen *g, const json_node *n);
/* Convenience: key + value in an object. */
void json_gen_kv_string(json_gen *g, const char *key, const char *value);
void json_gen_kv_int(json_gen *g, const char *key, int64_t v);
void json_gen_kv_uint(json_gen *g, const char *key, uint64_t v);
void json_gen_kv_bool(json_gen *g, const char *key, bool v);
static inline void json_gen_freep(json_gen **g)
{
        json_gen_free(*g);
}
#define _cleanup_json_gen_ __attribute__((cleanup(json_gen_freep)))
/* Return a malloc'ed NUL-terminated copy of the document (pretty output ends with '\n').
 * The generator stays the caller's to free (json_gen_free or _cleanup_json_gen_). */
int json_gen_finish(json_gen *g, char **ret, size_t *ret_len, rc_error_t *err);
/* Bytes generated so far (compact output, before json_gen_finish): an offset a caller can
 * splice more JSON in at later, e.g. right after an object's '{'. */
size_t json_gen_tell(json_gen *g);
/* An array of the NULL-terminated strings v; strings with nothing to escape (names,
 * paths, options) are written in one piece instead of one yajl call each. */
void json_gen_string_array(json_gen *g, const char *const *v);
