/* The JSON wrapper: with json_gen.c (the generator), the only yajl user of the project.
 *
 * Parsing drives yajl's event parser and builds the tree itself; a json_node is a struct
 * yajl_val_s (yajl_tree's node) seen through an opaque type. The nodes, their strings
 * and their arrays live in a few large blocks freed at once (yajl_tree_parse mallocs
 * every node, string and growing array one by one: half of the time of parsing a
 * config with a seccomp profile went to malloc and free). Before yajl sees the input, a
 * quick scan refuses oversized documents, deep nesting and comments (yajl_tree_parse
 * enabled them, JSON does not have them; the handle keeps yajl_tree's settings so that
 * errors read the same). Numbers keep their raw text (u.number.r) and are converted from
 * it, so that every 64-bit value is exact.
 *
 * Duplicate object keys: every pair is kept in document order; json_object_get returns
 * the LAST one, as most JSON parsers do. */
#include "specs/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

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

/* ---- the tree ------------------------------------------------------------------ */

#define BLOCK_MIN (16u * 1024u)

struct block {
        struct block *next; /* the one allocated before */
        size_t size, used;
        alignas(max_align_t) unsigned char data[];
};

/* The first allocation of the first block: json_free finds the blocks from the root. */
struct tree {
        struct block *blocks; /* the newest */
        struct yajl_val_s root;
};

struct pending {
        char *key; /* NULL in arrays */
        yajl_val value;
};

struct frame {
        yajl_val node;
        size_t start; /* its first child in the pending stack */
};

struct builder {
        struct tree *tree;
        bool have_root;
        char *key; /* the key of the next value in an object */
        struct pending *stack; /* children of the open containers (malloc'ed, reused) */
        size_t n, cap;
        struct frame frames[JSON_MAX_DEPTH + 1];
        size_t depth;
        bool nomem;
};

static void blocks_free(struct block *b)
{
        while (b != NULL) {
                struct block *next = b->next;

                free(b);
                b = next;
        }
}

/* size bytes from the newest block or a new one; NULL when out of memory */
static void *tree_alloc(struct block **head, size_t size)
{
        const size_t align = alignof(max_align_t);
        struct block *b = *head;
        void *p;

        size = (size + align - 1) & ~(align - 1);
        if (b == NULL || b->size - b->used < size) {
                size_t want = size > BLOCK_MIN ? size : BLOCK_MIN;

                if (b != NULL && b->size * 2 > want && b->size < 1024 * 1024)
                        want = b->size * 2; /* big documents: fewer blocks */
                b = malloc(offsetof(struct block, data) + want);
                if (b == NULL)
                        return NULL;
                b->next = *head;
                b->size = want;
                b->used = 0;
                *head = b;
        }
        p = b->data + b->used;
        b->used += size;
        return p;
}

static void *build_alloc(struct builder *bd, size_t size)
{
        void *p = tree_alloc(&bd->tree->blocks, size);

        if (p == NULL)
                bd->nomem = true;
        return p;
}

static char *build_strndup(struct builder *bd, const unsigned char *text, size_t len)
{
        char *s = build_alloc(bd, len + 1);

        if (s != NULL) {
                memcpy(s, text, len);
                s[len] = '\0';
        }
        return s;
}

/* A new node of `type`, placed where the document is: the root, or the next child of
 * the innermost open container (kept on the pending stack until it closes). */
static yajl_val build_value(struct builder *bd, yajl_type type)
{
        yajl_val v;

        if (bd->depth == 0) {
                if (bd->have_root)
                        return NULL; /* yajl allows one value only: not reached */
                bd->have_root = true;
                v = &bd->tree->root;
        } else {
                v = build_alloc(bd, sizeof(*v));
                if (v == NULL)
                        return NULL;
                if (bd->n == bd->cap) {
                        size_t cap = bd->cap ? bd->cap * 2 : 64;
                        struct pending *st = realloc(bd->stack, cap * sizeof(*st));

                        if (st == NULL) {
                                bd->nomem = true;
                                return NULL;
                        }
                        bd->stack = st;
                        bd->cap = cap;
                }
                bd->stack[bd->n++] = (struct pending){.key = bd->key, .value = v};
                bd->key = NULL;
        }
        memset(v, 0, sizeof(*v));
        v->type = type;
        return v;
}

static int build_null(void *ctx)
{
        return build_value(ctx, yajl_t_null) != NULL;
}

static int build_bool(void *ctx, int b)
{
        return build_value(ctx, b ? yajl_t_true : yajl_t_false) != NULL;
}

static int build_number(void *ctx, const char *text, size_t len)
{
        yajl_val v = build_value(ctx, yajl_t_number);

        return v != NULL && (v->u.number.r = build_strndup(ctx, (const unsigned char *)text, len)) != NULL;
}

static int build_string(void *ctx, const unsigned char *text, size_t len)
{
        yajl_val v = build_value(ctx, yajl_t_string);

        return v != NULL && (v->u.string = build_strndup(ctx, text, len)) != NULL;
}

static int build_key(void *ctx, const unsigned char *text, size_t len)
{
        struct builder *bd = ctx;

        bd->key = build_strndup(bd, text, len);
        return bd->key != NULL;
}

static int build_open(struct builder *bd, yajl_type type)
{
        yajl_val v;

        if (bd->depth > JSON_MAX_DEPTH)
                return 0; /* the prescan refused it already */
        v = build_value(bd, type);
        if (v == NULL)
                return 0;
        bd->frames[bd->depth++] = (struct frame){.node = v, .start = bd->n};
        return 1;
}

static int build_start_map(void *ctx)
{
        return build_open(ctx, yajl_t_object);
}

static int build_start_array(void *ctx)
{
        return build_open(ctx, yajl_t_array);
}

/* The innermost container closes: its children move from the stack to the tree. */
static int build_close(void *ctx)
{
        struct builder *bd = ctx;
        struct frame f = bd->frames[--bd->depth];
        size_t count = bd->n - f.start;
        yajl_val *values = count ? build_alloc(bd, count * sizeof(*values)) : NULL;

        if (count && values == NULL)
                return 0;
        for (size_t i = 0; i < count; i++)
                values[i] = bd->stack[f.start + i].value;
        if (f.node->type == yajl_t_object) {
                const char **keys = count ? build_alloc(bd, count * sizeof(*keys)) : NULL;

                if (count && keys == NULL)
                        return 0;
                for (size_t i = 0; i < count; i++)
                        keys[i] = bd->stack[f.start + i].key;
                f.node->u.object.keys = keys;
                f.node->u.object.values = values;
                f.node->u.object.len = count;
        } else {
                f.node->u.array.values = values;
                f.node->u.array.len = count;
        }
        bd->n = f.start;
        return 1;
}

int json_parse(const char *data, size_t len, const char *origin, json_node **ret, rc_error_t *err)
{
        static const yajl_callbacks cb = {
                .yajl_null = build_null,
                .yajl_boolean = build_bool,
                .yajl_number = build_number,
                .yajl_string = build_string,
                .yajl_start_map = build_start_map,
                .yajl_map_key = build_key,
                .yajl_end_map = build_close,
                .yajl_start_array = build_start_array,
                .yajl_end_array = build_close,
        };
        struct block *first = NULL;
        struct builder bd = {0};
        bool nul_escape = false;
        yajl_status status;
        yajl_handle h;

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

        bd.tree = tree_alloc(&first, sizeof(*bd.tree));
        if (bd.tree == NULL)
                return rc_error_set(err, ENOMEM, "%s: parse JSON", origin);
        bd.tree->blocks = first;
        h = yajl_alloc(&cb, NULL, &bd);
        if (h == NULL) {
                blocks_free(first);
                return rc_error_set(err, ENOMEM, "%s: parse JSON", origin);
        }
        yajl_config(h, yajl_allow_comments, 1); /* as yajl_tree_parse; the prescan refused them */
        status = yajl_parse(h, (const unsigned char *)(data ? data : ""), len);
        if (status == yajl_status_ok)
                status = yajl_complete_parse(h);
        free(bd.stack);
        if (status != yajl_status_ok || !bd.have_root) {
                char *msg = NULL;
                int r;

                if (bd.nomem)
                        r = rc_error_set(err, ENOMEM, "%s: parse JSON", origin);
                else if (status != yajl_status_ok &&
                         (msg = (char *)yajl_get_error(h, 1, (const unsigned char *)(data ? data : ""),
                                                       len)) != NULL) {
                        first_line(msg);
                        r = rc_error_set(err, 0, "%s: invalid JSON: %s", origin,
                                         msg[0] != '\0' ? msg : "empty document");
                } else
                        r = rc_error_set(err, 0, "%s: invalid JSON: empty document", origin);
                if (msg != NULL)
                        yajl_free_error(h, (unsigned char *)msg);
                yajl_free(h);
                blocks_free(bd.tree->blocks);
                return r;
        }
        yajl_free(h);
        *ret = N(&bd.tree->root);
        return 0;
}

void json_free(json_node *root)
{
        if (root != NULL) {
                struct tree *t = (struct tree *)((char *)V(root) - offsetof(struct tree, root));

                blocks_free(t->blocks);
        }
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
