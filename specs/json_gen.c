/* The JSON generator of the wrapper (specs/json.h): yajl_gen behind json_gen, numbers
 * through their decimal text, errors kept until json_gen_finish, and the indentation of
 * pretty output. The parser and the tree are in json.c. */
#include "specs/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

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

void json_gen_node(json_gen *g, const json_node *n)
{
        switch (json_type_of(n)) {
        case JSON_NULL:
                json_gen_null(g);
                return;
        case JSON_BOOL:
                json_gen_bool(g, json_get_bool(n));
                return;
        case JSON_NUMBER:
                gen_number_text(g, json_number_text(n)); /* checked by the parser */
                return;
        case JSON_STRING:
                json_gen_string(g, json_get_string(n));
                return;
        case JSON_OBJECT:
                json_gen_object_open(g);
                for (size_t k = 0; k < json_object_size(n); k++) {
                        json_gen_string(g, json_object_key(n, k));
                        json_gen_node(g, json_object_value(n, k));
                }
                json_gen_object_close(g);
                return;
        case JSON_ARRAY:
                json_gen_array_open(g);
                for (size_t k = 0; k < json_array_size(n); k++)
                        json_gen_node(g, json_array_get(n, k));
                json_gen_array_close(g);
                return;
        }
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
