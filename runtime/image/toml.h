/* A small strict reader of the TOML subset that containers-registries.conf(5) files use
 * (Debian 12 has no C TOML library), for registries_conf.c: what it does not know is an
 * error naming the file and line, never a guess.
 *
 * Comments; `[table]` and `[[array.of.tables]]` headers with bare or quoted, dotted keys;
 * `key = value` lines; values: basic "strings" (escapes \b \t \n \f \r \" \\ \uXXXX
 * \UXXXXXXXX), 'literal strings', true/false, decimal integers, arrays (over several
 * lines, with comments and a trailing comma) and { inline = tables }. Not read (an
 * error): multi-line strings, floats, dates.
 *
 * The caller walks the text with a cursor: rc_toml_next_line to each header or key line,
 * rc_toml_header or rc_toml_key_eq and rc_toml_parse_value on it, rc_toml_end_of_line
 * after it. A dotted key comes back as its parts joined with '\x1f' (a quoted part may
 * hold dots). Errors are EINVAL, "PATH:LINE: what". */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "runtime/base/error.h"

struct rc_toml_cursor {
        const char *p, *end;
        const char *path; /* for messages */
        unsigned line;
};

enum rc_toml_kind { RC_TOML_STRING, RC_TOML_BOOL, RC_TOML_INT, RC_TOML_ARRAY, RC_TOML_TABLE };

struct rc_toml_value {
        enum rc_toml_kind kind;
        char *str; /* RC_TOML_STRING */
        char **strv; /* RC_TOML_ARRAY: its strings (NULL-terminated); not_strings set when it has other items
                      */
        size_t n;
        bool not_strings;
        bool b; /* RC_TOML_BOOL */
};

void rc_toml_value_clear(struct rc_toml_value *v);

/* "PATH:LINE: what" (EINVAL) at the cursor's line. Returns -1. */
int rc_toml_error(const struct rc_toml_cursor *c, rc_error_t *err, const char *what);

static inline bool rc_toml_at_end(const struct rc_toml_cursor *c)
{
        return c->p >= c->end;
}

/* Spaces and tabs; with newlines also newlines and comments (inside arrays). */
void rc_toml_skip_ws(struct rc_toml_cursor *c, bool newlines);

/* The rest of the line: nothing but a comment. */
int rc_toml_end_of_line(struct rc_toml_cursor *c, rc_error_t *err);

/* Past blank and comment lines: 1 at the next line's first character ('[' for a header,
 * else a key), 0 at the end of the text. */
int rc_toml_next_line(struct rc_toml_cursor *c, rc_error_t *err);

/* `[a.b]` or `[[a.b]]` from its '[' to past its closing bracket: the dotted path, and
 * whether it is an array of tables. */
int rc_toml_header(struct rc_toml_cursor *c, char **ret_path, bool *ret_array, rc_error_t *err);

/* A dotted key. */
int rc_toml_key_path(struct rc_toml_cursor *c, char **ret, rc_error_t *err);

/* A dotted key and the '=' after it (spaces around it skipped before the value). */
int rc_toml_key_eq(struct rc_toml_cursor *c, char **ret, rc_error_t *err);

/* A value, nested `depth` arrays or inline tables deep (too deep is an error). Clear *v
 * in any case. An inline table is read and dropped (its kind alone is kept). */
int rc_toml_parse_value(struct rc_toml_cursor *c, struct rc_toml_value *v, unsigned depth, rc_error_t *err);

/* One `key = value` of an inline table: fn may take v's strings (v is cleared afterwards). */
typedef int rc_toml_entry_fn(void *data, struct rc_toml_cursor *c, const char *key, struct rc_toml_value *v,
                             rc_error_t *err);

/* { key = value, ... } on one line, from its '{' to past its '}', each entry given to fn
 * (NULL: dropped), its values `depth` + 1 deep. trailing_comma: a ',' may come before the
 * '}' (registries.conf's inline mirror tables have always taken one; TOML 1.0 does not). */
int rc_toml_inline_table(struct rc_toml_cursor *c, unsigned depth, bool trailing_comma, rc_toml_entry_fn *fn,
                         void *data, rc_error_t *err);
