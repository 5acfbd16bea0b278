/* Errors: an errno plus a message, wrapped with context on the way up and printed
 * once by cli/. Every fallible function returns a negative value and fills *err. */
#pragma once

#include <stdarg.h>

struct rc_error {
        int status; /* errno value, 0 if none applies */
        char *msg; /* "operation `object`: reason" */
};
typedef struct rc_error *rc_error_t;

/* Set *err (which must be NULL) to a new error; "strerror(errnum)" is appended when
 * errnum != 0. Returns -1 so callers can write `return rc_error_set(...)`. */
int rc_error_set(rc_error_t *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rc_error_setv(rc_error_t *err, int errnum, const char *fmt, va_list ap);

/* Like rc_error_set, but the text is entirely the caller's (no strerror suffix) while
 * status still records errnum. Returns -1. */
int rc_error_set_status(rc_error_t *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefix the existing error message with "<context>: ". Returns -1. */
int rc_error_wrap(rc_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free and reset to NULL; accepts NULL and *err == NULL. */
void rc_error_free(rc_error_t *err);

/* Move an error: *dst = *src, *src = NULL (dst must be empty). */
void rc_error_move(rc_error_t *dst, rc_error_t *src);
