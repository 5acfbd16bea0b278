/* The JSON wrapper: the only yajl user of the project.
 *
 * Parsing uses yajl_tree; a json_node is a struct yajl_val_s seen through an opaque
 * type. Before yajl sees the input, a quick scan refuses oversized documents, deep
 * nesting (yajl_tree_free recurses) and comments (yajl_tree_parse enables them, JSON
 * does not have them). Numbers are converted from their raw text so that every 64-bit
 * value is exact.
 *
 * Duplicate object keys: yajl_tree keeps every pair in document order;
 * json_object_get returns the LAST one, as most JSON parsers do. */
#include "specs/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "runtime/base/cleanup.h"

static inline yajl_val V(const json_node *n)
{
        return (yajl_val)(uintptr_t)n;
}

static inline json_node *N(yajl_val v)
{
        return (json_node *)v;
}

/* ---- parsing ------------------------------------------------------------------ */

/* Scan the raw text outside of strings: nesting depth, comments and NUL bytes; inside
 * strings, note the escape \u0000 (yajl_tree would silently cut the string there). */
static int prescan(const char *data, size_t len, const char *origin, bool *ret_nul_escape, rc_error_t *err)
{
        unsigned depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = data[i];

                if (c == '\0')
                        return rc_error_set(err, 0, "%s: invalid JSON: NUL byte at offset %zu", origin, i);
                if (in_string) {
                        if (c == '\\' && i + 1 < len && data[i + 1] != '\0') {
                                if (len - i >= 6 && memcmp(data + i + 1, "u0000", 5) == 0)
                                        *ret_nul_escape = true;
                                i++;
                        } else if (c == '"')
                                in_string = false;
                        continue;
                }
                switch (c) {
                case '"':
                        in_string = true;
                        break;
                case '{':
                case '[':
                        if (++depth > JSON_MAX_DEPTH)
                                return rc_error_set(err, 0, "%s: JSON nesting deeper than %d levels", origin,
                                                    JSON_MAX_DEPTH);
                        break;
                case '}':
                case ']':
                        if (depth > 0)
                                depth--;
                        break;
                case '/':
                        return rc_error_set(err, 0,
                                            "%s: invalid JSON: comments are not allowed (offset %zu)",
                                            origin, i);
                default:
                        break;
                }
        }
        return 0;
}

/* ---- strings with a NUL character ---------------------------------------------- */

/* A second, event-driven pass that runs only when the prescan saw \u0000: it follows
 * the path of every value and stops at the first string (or key) with a NUL in it. */
struct nul_frame {
        bool array;
        size_t next; /* arrays: elements seen so far */
        char *key; /* objects: the current key */
};

struct nul_scan {
        struct nul_frame f[JSON_MAX_DEPTH + 1];
        int depth;
        bool found, in_key;
        char path[512];
};

static void nul_path_append(struct nul_scan *s, size_t *len, const char *text)
{
        size_t n = strlen(text), room = sizeof(s->path) - 1 - *len;

        if (n > room)
                n = room;
        memcpy(s->path + *len, text, n);
        *len += n;
        s->path[*len] = '\0';
}

/* The path of the current value, or of the current object when `in_key`. */
static void nul_found(struct nul_scan *s, bool in_key)
{
        size_t len = 0;

        s->path[0] = '\0';
        for (int i = 0; i < s->depth - (in_key ? 1 : 0); i++) {
                char idx[32];

                if (s->f[i].array) {
                        snprintf(idx, sizeof(idx), "[%zu]", s->f[i].next - 1);
                        nul_path_append(s, &len, idx);
                } else {
                        nul_path_append(s, &len, ".");
                        nul_path_append(s, &len, s->f[i].key ? s->f[i].key : "");
                }
        }
        s->found = true;
        s->in_key = in_key;
}

/* Every value: count it in its array. */
static int nul_value(void *ctx)
{
        struct nul_scan *s = ctx;

        if (s->depth > 0 && s->f[s->depth - 1].array)
                s->f[s->depth - 1].next++;
        return 1;
}

static int nul_bool(void *ctx, int v)
{
        (void)v;
        return nul_value(ctx);
}

static int nul_number(void *ctx, const char *v, size_t len)
{
        (void)v;
        (void)len;
        return nul_value(ctx);
}

static int nul_string(void *ctx, const unsigned char *v, size_t len)
{
        nul_value(ctx);
        if (memchr(v, '\0', len) == NULL)
                return 1;
        nul_found(ctx, false);
        return 0;
}

static int nul_push(void *ctx, bool array)
{
        struct nul_scan *s = ctx;

        nul_value(ctx);
        if (s->depth > JSON_MAX_DEPTH)
                return 0;
        s->f[s->depth++] = (struct nul_frame){.array = array};
        return 1;
}

static int nul_start_map(void *ctx)
{
        return nul_push(ctx, false);
}

static int nul_start_array(void *ctx)
{
        return nul_push(ctx, true);
}

static int nul_pop(void *ctx)
{
        struct nul_scan *s = ctx;

        if (s->depth > 0)
                free(s->f[--s->depth].key);
        return 1;
}

static int nul_key(void *ctx, const unsigned char *key, size_t len)
{
        struct nul_scan *s = ctx;
        struct nul_frame *f = &s->f[s->depth - 1];

        if (memchr(key, '\0', len) != NULL) {
                nul_found(s, true);
                return 0;
        }
        free(f->key);
        f->key = strndup((const char *)key, len);
        return f->key != NULL;
}

static int refuse_nul_strings(const char *data, size_t len, const char *origin, rc_error_t *err)
{
        static const yajl_callbacks cb = {
                .yajl_null = nul_value,
                .yajl_boolean = nul_bool,
                .yajl_number = nul_number,
                .yajl_string = nul_string,
                .yajl_start_map = nul_start_map,
                .yajl_map_key = nul_key,
                .yajl_end_map = nul_pop,
                .yajl_start_array = nul_start_array,
                .yajl_end_array = nul_pop,
        };
        struct nul_scan *s = calloc(1, sizeof(*s));
        yajl_handle h;

        if (s == NULL)
                return rc_error_set(err, ENOMEM, "%s: parse JSON", origin);
        h = yajl_alloc(&cb, NULL, s);
        if (h != NULL) {
                if (yajl_parse(h, (const unsigned char *)data, len) == yajl_status_ok)
                        yajl_complete_parse(h);
                yajl_free(h);
        }
        while (s->depth > 0)
                nul_pop(s);
        if (s->found) {
                int r = rc_error_set(err, 0, "%s: %s%s%s contains a NUL character (\\u0000)", origin,
                                     s->path, s->path[0] ? ": " : "",
                                     s->in_key ? "an object key" : "string");
                free(s);
                return r;
        }
        free(s);
        return 0; /* a syntax error: yajl_tree_parse reports it */
}

/* yajl's verbose message spans several lines (text excerpt and an arrow); keep the
 * first line, which says what is wrong. */
static void first_line(char *msg)
{
        size_t n = strcspn(msg, "\n");

        msg[n] = '\0';
        while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\t' || msg[n - 1] == '.'))
                msg[--n] = '\0';
}

int json_parse(const char *data, size_t len, const char *origin, json_node **ret, rc_error_t *err)
{
        _cleanup_free_ char *copy = NULL;
        char errbuf[1024] = "";
        bool nul_escape = false;
        yajl_val root;

        if (origin == NULL)
                origin = "<input>";
        if (data == NULL && len > 0)
                return rc_error_set(err, EINVAL, "%s: parse JSON", origin);
        if (len > JSON_MAX_INPUT)
                return rc_error_set(err, 0, "%s: JSON document larger than %u bytes", origin,
                                    JSON_MAX_INPUT);
        if (prescan(data, len, origin, &nul_escape, err) < 0)
                return -1;
        if (nul_escape && refuse_nul_strings(data, len, origin, err) < 0)
                return -1;

        /* yajl_tree_parse wants a NUL-terminated string */
        copy = malloc(len + 1);
        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "%s: parse JSON", origin);
        if (len > 0)
                memcpy(copy, data, len);
        copy[len] = '\0';

        root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
        if (root == NULL) {
                first_line(errbuf);
                return rc_error_set(err, 0, "%s: invalid JSON: %s", origin,
                                    errbuf[0] != '\0' ? errbuf : "empty document");
        }
        *ret = N(root);
        return 0;
}

void json_free(json_node *root)
{
        if (root != NULL)
                yajl_tree_free(V(root));
}

/* ---- access ------------------------------------------------------------------- */

enum json_type json_type_of(const json_node *n)
{
        if (n == NULL)
                return JSON_NULL;
        switch (V(n)->type) {
        case yajl_t_string:
                return JSON_STRING;
        case yajl_t_number:
                return JSON_NUMBER;
        case yajl_t_object:
                return JSON_OBJECT;
        case yajl_t_array:
                return JSON_ARRAY;
        case yajl_t_true:
        case yajl_t_false:
                return JSON_BOOL;
        default:
                return JSON_NULL;
        }
}

const char *json_type_name(enum json_type t)
{
        static const char *const names[] = {
                [JSON_NULL] = "null",     [JSON_BOOL] = "boolean",  [JSON_NUMBER] = "number",
                [JSON_STRING] = "string", [JSON_OBJECT] = "object", [JSON_ARRAY] = "array",
        };

        if ((unsigned)t >= sizeof(names) / sizeof(names[0]))
                return "unknown";
        return names[t];
}

size_t json_object_size(const json_node *n)
{
        return json_type_of(n) == JSON_OBJECT ? V(n)->u.object.len : 0;
}

const char *json_object_key(const json_node *n, size_t i)
{
        if (i >= json_object_size(n))
                return NULL;
        return V(n)->u.object.keys[i];
}

json_node *json_object_value(const json_node *n, size_t i)
{
        if (i >= json_object_size(n))
                return NULL;
        return N(V(n)->u.object.values[i]);
}

json_node *json_object_get(const json_node *n, const char *key)
{
        if (key == NULL)
                return NULL;
        /* from the end: with duplicate keys the last one wins */
        for (size_t i = json_object_size(n); i > 0; i--) {
                if (strcmp(V(n)->u.object.keys[i - 1], key) == 0)
                        return N(V(n)->u.object.values[i - 1]);
        }
        return NULL;
}

size_t json_array_size(const json_node *n)
{
        return json_type_of(n) == JSON_ARRAY ? V(n)->u.array.len : 0;
}

json_node *json_array_get(const json_node *n, size_t i)
{
        if (i >= json_array_size(n))
                return NULL;
        return N(V(n)->u.array.values[i]);
}

const char *json_get_string(const json_node *n)
{
        return json_type_of(n) == JSON_STRING ? V(n)->u.string : NULL;
}

bool json_get_bool(const json_node *n)
{
        return n != NULL && V(n)->type == yajl_t_true;
}

const char *json_number_text(const json_node *n)
{
        return json_type_of(n) == JSON_NUMBER ? V(n)->u.number.r : NULL;
}

static bool all_digits(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
        }
        return true;
}

int json_get_u64(const json_node *n, uint64_t *ret)
{
        const char *text = json_number_text(n);
        unsigned long long v;
        char *end = NULL;

        if (text == NULL || !all_digits(text))
                return -1;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0')
                return -1;
        *ret = (uint64_t)v;
        return 0;
}

int json_get_i64(const json_node *n, int64_t *ret)
{
        const char *text = json_number_text(n);
        long long v;
        char *end = NULL;

        if (text == NULL || !all_digits(text[0] == '-' ? text + 1 : text))
                return -1;
        errno = 0;
        v = strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0')
                return -1;
        *ret = (int64_t)v;
        return 0;
}

/* ---- generator ---------------------------------------------------------------- */

struct json_gen {
        yajl_gen y; /* always compact; json_gen_finish indents when `pretty` */
        bool pretty;
        yajl_gen_status status; /* first failure, yajl_gen_status_ok while fine */
        int depth;
        bool done; /* a complete top-level value was generated */
};

json_gen *json_gen_new(bool pretty)
{
        json_gen *g = calloc(1, sizeof(*g));

        if (g == NULL)
                return NULL;
        g->y = yajl_gen_alloc(NULL);
        if (g->y == NULL) {
                free(g);
                return NULL;
        }
        yajl_gen_config(g->y, yajl_gen_validate_utf8, 1);
        g->pretty = pretty;
        return g;
}

void json_gen_free(json_gen *g)
{
        if (g == NULL)
                return;
        yajl_gen_free(g->y);
        free(g);
}

static bool gen_ok(json_gen *g)
{
        return g != NULL && g->status == yajl_gen_status_ok;
}

/* Record the outcome of one yajl call; `delta` is the change in nesting depth. */
static void gen_track(json_gen *g, yajl_gen_status st, int delta)
{
        if (st != yajl_gen_status_ok) {
                g->status = st;
                return;
        }
        g->depth += delta;
        if (g->depth == 0)
                g->done = true;
}

void json_gen_object_open(json_gen *g)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_map_open(g->y), 1);
}

void json_gen_object_close(json_gen *g)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_map_close(g->y), -1);
}

void json_gen_array_open(json_gen *g)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_array_open(g->y), 1);
}

void json_gen_array_close(json_gen *g)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_array_close(g->y), -1);
}

void json_gen_string(json_gen *g, const char *s)
{
        if (!gen_ok(g))
                return;
        if (s == NULL)
                gen_track(g, yajl_gen_null(g->y), 0);
        else
                gen_track(g, yajl_gen_string(g->y, (const unsigned char *)s, strlen(s)), 0);
}

/* Plain: nothing to escape or validate (printable ASCII but '"' and '\\', not empty). */
static bool plain_string(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        return false;
        }
        return true;
}

void json_gen_string_array(json_gen *g, const char *const *v)
{
        size_t n = 2, k = 0;
        char *text;

        if (!gen_ok(g))
                return;
        for (size_t i = 0; v[i] != NULL; i++) {
                if (!plain_string(v[i])) {
                        json_gen_array_open(g);
                        for (size_t j = 0; v[j] != NULL; j++)
                                json_gen_string(g, v[j]);
                        json_gen_array_close(g);
                        return;
                }
                n += strlen(v[i]) + 3;
        }
        text = malloc(n);
        if (text == NULL) {
                g->status = yajl_gen_no_buf; /* out of memory: json_gen_finish fails */
                return;
        }
        text[k++] = '[';
        for (size_t i = 0; v[i] != NULL; i++) {
                size_t l = strlen(v[i]);
                if (i > 0)
                        text[k++] = ',';
                text[k++] = '"';
                memcpy(text + k, v[i], l);
                k += l;
                text[k++] = '"';
        }
        text[k++] = ']';
        /* yajl writes a number's text as given, with the separators a value needs: the
         * one way to hand it a finished value */
        gen_track(g, yajl_gen_number(g->y, text, k), 0);
        free(text);
}

/* Numbers go through their decimal text so that every 64-bit value is exact. */
static void gen_number_text(json_gen *g, const char *text)
{
        gen_track(g, yajl_gen_number(g->y, text, strlen(text)), 0);
}

void json_gen_int(json_gen *g, int64_t v)
{
        char buf[32];

        if (!gen_ok(g))
                return;
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        gen_number_text(g, buf);
}

void json_gen_uint(json_gen *g, uint64_t v)
{
        char buf[32];

        if (!gen_ok(g))
                return;
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        gen_number_text(g, buf);
}

void json_gen_bool(json_gen *g, bool v)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_bool(g->y, v), 0);
}

void json_gen_null(json_gen *g)
{
        if (gen_ok(g))
                gen_track(g, yajl_gen_null(g->y), 0);
}

void json_gen_kv_string(json_gen *g, const char *key, const char *value)
{
        json_gen_string(g, key);
        json_gen_string(g, value);
}

void json_gen_kv_int(json_gen *g, const char *key, int64_t v)
{
        json_gen_string(g, key);
        json_gen_int(g, v);
}

void json_gen_kv_uint(json_gen *g, const char *key, uint64_t v)
{
        json_gen_string(g, key);
        json_gen_uint(g, v);
}

void json_gen_kv_bool(json_gen *g, const char *key, bool v)
{
        json_gen_string(g, key);
        json_gen_bool(g, v);
}

static const char *gen_status_text(yajl_gen_status st)
{
        switch (st) {
        case yajl_gen_keys_must_be_strings:
                return "object keys must be strings";
        case yajl_max_depth_exceeded:
                return "nesting too deep";
        case yajl_gen_in_error_state:
                return "generator in error state";
        case yajl_gen_generation_complete:
                return "value after the end of the document";
        case yajl_gen_invalid_number:
                return "invalid number";
        case yajl_gen_no_buf:
                return "no output buffer";
        case yajl_gen_invalid_string:
                return "string is not valid UTF-8";
        default:
                return "unknown error";
        }
}

/* A growing output buffer for the indenter. */
struct outbuf {
        char *p;
        size_t len, cap;
        bool oom;
};

static void out_put(struct outbuf *o, const char *s, size_t n)
{
        if (o->oom)
                return;
        if (o->len + n + 1 > o->cap) {
                size_t cap = o->cap ? o->cap : 256;
                char *p;

                while (o->len + n + 1 > cap)
                        cap *= 2;
                p = realloc(o->p, cap);
                if (p == NULL) {
                        o->oom = true;
                        return;
                }
                o->p = p;
                o->cap = cap;
        }
        memcpy(o->p + o->len, s, n);
        o->len += n;
        o->p[o->len] = '\0';
}

static void out_newline(struct outbuf *o, unsigned level)
{
        out_put(o, "\n", 1);
        for (unsigned i = 0; i < level; i++)
                out_put(o, "\t", 1);
}

/* Indent compact JSON with tabs, one member per line; empty containers stay "[]" and
 * "{}" (yajl's own beautifier splits them over two lines). Ends with a newline. */
static int reindent(const char *in, size_t len, struct outbuf *o)
{
        unsigned level = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = in[i];

                if (in_string) {
                        out_put(o, &in[i], 1);
                        if (c == '\\' && i + 1 < len)
                                out_put(o, &in[++i], 1);
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                switch (c) {
                case '"':
                        in_string = true;
                        out_put(o, &c, 1);
                        break;
                case '{':
                case '[':
                        out_put(o, &c, 1);
                        if (i + 1 < len && (in[i + 1] == '}' || in[i + 1] == ']'))
                                out_put(o, &in[++i], 1);
                        else
                                out_newline(o, ++level);
                        break;
                case '}':
                case ']':
                        out_newline(o, level > 0 ? --level : 0);
                        out_put(o, &c, 1);
                        break;
                case ',':
                        out_put(o, ",", 1);
                        out_newline(o, level);
                        break;
                case ':':
                        out_put(o, ": ", 2);
                        break;
                default:
                        out_put(o, &c, 1);
                        break;
                }
        }
        out_put(o, "\n", 1);
        return o->oom ? -1 : 0;
}

size_t json_gen_tell(json_gen *g)
{
        const unsigned char *buf = NULL;
        size_t len = 0;

        if (g == NULL || yajl_gen_get_buf(g->y, &buf, &len) != yajl_gen_status_ok)
                return 0;
        return len;
}

int json_gen_finish(json_gen *g, char **ret, size_t *ret_len, rc_error_t *err)
{
        const unsigned char *buf = NULL;
        struct outbuf o = {0};
        size_t len = 0;
        char *out;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "generate JSON");
        if (g->status != yajl_gen_status_ok)
                return rc_error_set(err, 0, "generate JSON: %s", gen_status_text(g->status));
        if (!g->done || g->depth != 0)
                return rc_error_set(err, 0, "generate JSON: incomplete document");
        if (yajl_gen_get_buf(g->y, &buf, &len) != yajl_gen_status_ok)
                return rc_error_set(err, 0, "generate JSON: cannot read the output buffer");

        if (g->pretty) {
                if (reindent((const char *)buf, len, &o) < 0) {
                        free(o.p);
                        return rc_error_set(err, ENOMEM, "generate JSON");
                }
                *ret = o.p;
                if (ret_len != NULL)
                        *ret_len = o.len;
                return 0;
        }
        out = malloc(len + 1);
        if (out == NULL)
                return rc_error_set(err, ENOMEM, "generate JSON");
        memcpy(out, buf, len);
        out[len] = '\0';
        *ret = out;
        if (ret_len != NULL)
                *ret_len = len;
        return 0;
}
