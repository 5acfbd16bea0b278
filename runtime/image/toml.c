/* The TOML subset of registries.conf: see toml.h. */
#include "runtime/image/toml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"

#define DEPTH_MAX 16

void rc_toml_value_clear(struct rc_toml_value *v)
{
        free(v->str);
        rc_strv_free(v->strv);
        *v = (struct rc_toml_value){0};
}

int rc_toml_error(const struct rc_toml_cursor *c, rc_error_t *err, const char *what)
{
        return rc_error_set_status(err, EINVAL, "%s:%u: %s", c->path, c->line, what);
}

void rc_toml_skip_ws(struct rc_toml_cursor *c, bool newlines)
{
        while (!rc_toml_at_end(c)) {
                if (*c->p == ' ' || *c->p == '\t' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))
                        c->p++;
                else if (newlines && *c->p == '\n')
                        c->p++, c->line++;
                else if (newlines && *c->p == '#')
                        while (!rc_toml_at_end(c) && *c->p != '\n')
                                c->p++;
                else
                        break;
        }
}

int rc_toml_end_of_line(struct rc_toml_cursor *c, rc_error_t *err)
{
        rc_toml_skip_ws(c, false);
        if (!rc_toml_at_end(c) && *c->p == '#')
                while (!rc_toml_at_end(c) && *c->p != '\n')
                        c->p++;
        if (!rc_toml_at_end(c) && *c->p != '\n')
                return rc_toml_error(c, err, "unexpected text after the value (one key = value per line)");
        if (!rc_toml_at_end(c))
                c->p++, c->line++;
        return 0;
}

static int put_utf8(char *out, size_t *n, unsigned long cp)
{
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
                return -1;
        if (cp < 0x80) {
                out[(*n)++] = (char)cp;
        } else if (cp < 0x800) {
                out[(*n)++] = (char)(0xC0 | (cp >> 6));
                out[(*n)++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
                out[(*n)++] = (char)(0xE0 | (cp >> 12));
                out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[(*n)++] = (char)(0x80 | (cp & 0x3F));
        } else {
                out[(*n)++] = (char)(0xF0 | (cp >> 18));
                out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[(*n)++] = (char)(0x80 | (cp & 0x3F));
        }
        return 0;
}

static int escape(struct rc_toml_cursor *c, char *out, size_t *n, rc_error_t *err)
{
        static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
        const char *k;
        unsigned long cp = 0;
        int digits;

        if (rc_toml_at_end(c))
                return rc_toml_error(c, err, "unterminated string");
        k = strchr(from, *c->p);
        if (k != NULL && *c->p != '\0') {
                out[(*n)++] = to[k - from];
                c->p++;
                return 0;
        }
        if (*c->p != 'u' && *c->p != 'U')
                return rc_toml_error(c, err, "unknown escape sequence in a string");
        digits = *c->p++ == 'u' ? 4 : 8;
        for (int i = 0; i < digits; i++, c->p++) {
                char h = rc_toml_at_end(c) ? '\0' : *c->p;
                int v = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (v < 0)
                        return rc_toml_error(c, err, "bad \\u escape in a string");
                cp = cp * 16 + (unsigned long)v;
        }
        if (put_utf8(out, n, cp) < 0)
                return rc_toml_error(c, err, "bad \\u escape in a string (not a character)");
        return 0;
}

/* "basic" or 'literal', on one line. */
static int parse_string(struct rc_toml_cursor *c, char **ret, rc_error_t *err)
{
        char quote = *c->p++;
        const char *start = c->p;
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        if (c->end - c->p >= 2 && c->p[0] == quote && c->p[1] == quote)
                return rc_toml_error(c, err, "multi-line strings are not supported here");
        out = malloc((size_t)(c->end - start) + 1);
        if (out == NULL)
                return rc_error_set(err, ENOMEM, "%s", c->path);
        for (;;) {
                if (rc_toml_at_end(c) || *c->p == '\n')
                        return rc_toml_error(c, err, "unterminated string");
                if (*c->p == quote) {
                        c->p++;
                        break;
                }
                if ((unsigned char)*c->p < 0x20 && *c->p != '\t')
                        return rc_toml_error(c, err, "control character in a string");
                if (quote == '"' && *c->p == '\\') {
                        c->p++;
                        if (escape(c, out, &n, err) < 0)
                                return -1;
                        continue;
                }
                out[n++] = *c->p++;
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static bool bare_char(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '_' || ch == '-';
}

/* One key: bare or quoted. */
static int parse_key(struct rc_toml_cursor *c, char **ret, rc_error_t *err)
{
        const char *start;

        rc_toml_skip_ws(c, false);
        if (!rc_toml_at_end(c) && (*c->p == '"' || *c->p == '\''))
                return parse_string(c, ret, err);
        start = c->p;
        while (!rc_toml_at_end(c) && bare_char(*c->p))
                c->p++;
        if (c->p == start)
                return rc_toml_error(c, err, "expected a key");
        *ret = strndup(start, (size_t)(c->p - start));
        return *ret ? 0 : rc_error_set(err, ENOMEM, "%s", c->path);
}

int rc_toml_key_path(struct rc_toml_cursor *c, char **ret, rc_error_t *err)
{
        _cleanup_free_ char *path = NULL;

        for (;;) {
                _cleanup_free_ char *k = NULL;
                char *joined;

                if (parse_key(c, &k, err) < 0)
                        return -1;
                if (asprintf(&joined, "%s%s%s", path ? path : "", path ? "\x1f" : "", k) < 0)
                        return rc_error_set(err, ENOMEM, "%s", c->path);
                free(path);
                path = joined;
                rc_toml_skip_ws(c, false);
                if (rc_toml_at_end(c) || *c->p != '.')
                        break;
                c->p++;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

static int parse_array(struct rc_toml_cursor *c, struct rc_toml_value *v, unsigned depth, rc_error_t *err)
{
        unsigned opened = c->line;
        size_t n = 0;

        c->p++;
        v->kind = RC_TOML_ARRAY;
        v->strv = calloc(1, sizeof(char *));
        if (v->strv == NULL)
                return rc_error_set(err, ENOMEM, "%s", c->path);
        for (;;) {
                struct rc_toml_value item = {0};
                char **nv;

                rc_toml_skip_ws(c, true);
                if (!rc_toml_at_end(c) && *c->p == ']') {
                        c->p++;
                        break;
                }
                if (rc_toml_parse_value(c, &item, depth + 1, err) < 0) {
                        rc_toml_value_clear(&item);
                        return -1;
                }
                if (item.kind != RC_TOML_STRING) {
                        v->not_strings = true;
                        rc_toml_value_clear(&item);
                } else if ((nv = realloc(v->strv, (n + 2) * sizeof(char *))) == NULL) {
                        rc_toml_value_clear(&item);
                        return rc_error_set(err, ENOMEM, "%s", c->path);
                } else {
                        v->strv = nv;
                        v->strv[n++] = TAKE_PTR(item.str);
                        v->strv[n] = NULL;
                }
                rc_toml_skip_ws(c, true);
                if (!rc_toml_at_end(c) && *c->p == ',') {
                        c->p++;
                        continue;
                }
                if (rc_toml_at_end(c))
                        return rc_error_set_status(err, EINVAL, "%s:%u: unterminated array (no ']')",
                                                   c->path, opened);
                if (*c->p != ']')
                        return rc_toml_error(c, err, "expected ',' or ']' in an array");
        }
        v->n = n;
        return 0;
}

int rc_toml_key_eq(struct rc_toml_cursor *c, char **ret, rc_error_t *err)
{
        if (rc_toml_key_path(c, ret, err) < 0)
                return -1;
        rc_toml_skip_ws(c, false);
        if (rc_toml_at_end(c) || *c->p != '=')
                return rc_toml_error(c, err, "expected '=' after a key");
        c->p++;
        return 0;
}

int rc_toml_inline_table(struct rc_toml_cursor *c, unsigned depth, bool trailing_comma, rc_toml_entry_fn *fn,
                         void *data, rc_error_t *err)
{
        c->p++;
        rc_toml_skip_ws(c, false);
        if (!rc_toml_at_end(c) && *c->p == '}') {
                c->p++;
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *key = NULL;
                struct rc_toml_value item = {0};
                int r;

                if (rc_toml_key_eq(c, &key, err) < 0)
                        return -1;
                r = rc_toml_parse_value(c, &item, depth + 1, err);
                if (r == 0 && fn != NULL)
                        r = fn(data, c, key, &item, err);
                rc_toml_value_clear(&item);
                if (r < 0)
                        return -1;
                rc_toml_skip_ws(c, false);
                if (rc_toml_at_end(c) || *c->p != ',')
                        break;
                c->p++;
                rc_toml_skip_ws(c, false);
                if (trailing_comma && !rc_toml_at_end(c) && *c->p == '}')
                        break;
        }
        if (rc_toml_at_end(c) || *c->p != '}')
                return rc_toml_error(c, err, "expected ',' or '}' in an inline table");
        c->p++;
        return 0;
}

int rc_toml_parse_value(struct rc_toml_cursor *c, struct rc_toml_value *v, unsigned depth, rc_error_t *err)
{
        const char *start;

        *v = (struct rc_toml_value){0};
        if (depth > DEPTH_MAX)
                return rc_toml_error(c, err, "values nested too deeply");
        rc_toml_skip_ws(c, false);
        if (rc_toml_at_end(c) || *c->p == '\n')
                return rc_toml_error(c, err, "expected a value");
        switch (*c->p) {
        case '"':
        case '\'':
                v->kind = RC_TOML_STRING;
                return parse_string(c, &v->str, err);
        case '[':
                return parse_array(c, v, depth, err);
        case '{':
                v->kind = RC_TOML_TABLE;
                return rc_toml_inline_table(c, depth, false, NULL, NULL, err);
        }
        start = c->p;
        while (!rc_toml_at_end(c) && (bare_char(*c->p) || *c->p == '+' || *c->p == '.' || *c->p == ':'))
                c->p++;
        size_t n = (size_t)(c->p - start);
        if ((n == 4 && !strncmp(start, "true", 4)) || (n == 5 && !strncmp(start, "false", 5))) {
                v->kind = RC_TOML_BOOL;
                v->b = n == 4;
                return 0;
        }
        size_t sign = n > 0 && (*start == '+' || *start == '-'), digits = 0;
        while (sign + digits < n &&
               ((start[sign + digits] >= '0' && start[sign + digits] <= '9') || start[sign + digits] == '_'))
                digits++;
        if (digits > 0 && sign + digits == n) {
                v->kind = RC_TOML_INT;
                return 0;
        }
        return rc_toml_error(c, err,
                             "unsupported value (expected a string, true, false, an integer, an array or "
                             "an inline table)");
}

int rc_toml_next_line(struct rc_toml_cursor *c, rc_error_t *err)
{
        for (;;) {
                rc_toml_skip_ws(c, false);
                if (rc_toml_at_end(c))
                        return 0;
                if (*c->p != '\n' && *c->p != '#')
                        return 1;
                if (rc_toml_end_of_line(c, err) < 0)
                        return -1;
        }
}

int rc_toml_header(struct rc_toml_cursor *c, char **ret_path, bool *ret_array, rc_error_t *err)
{
        bool array = c->end - c->p >= 2 && c->p[1] == '[';
        _cleanup_free_ char *path = NULL;

        c->p += array ? 2 : 1;
        if (rc_toml_key_path(c, &path, err) < 0)
                return -1;
        rc_toml_skip_ws(c, false);
        if (c->end - c->p < (array ? 2 : 1) || c->p[0] != ']' || (array && c->p[1] != ']'))
                return rc_toml_error(c, err,
                                     array ? "expected ']]' to close the table header"
                                           : "expected ']' to close the table header");
        c->p += array ? 2 : 1;
        *ret_path = TAKE_PTR(path);
        *ret_array = array;
        return 0;
}
