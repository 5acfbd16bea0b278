#include "runtime/base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rc_error_setv(rc_error_t *err, int errnum, const char *fmt, va_list ap)
{
        char *msg = NULL, *full = NULL;
        struct rc_error *e;

        if (err == NULL)
                return -1;
        rc_error_free(err);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (msg != NULL && errnum != 0) {
                if (asprintf(&full, "%s: %s", msg, strerror(errnum)) < 0)
                        full = NULL;
                if (full != NULL) {
                        free(msg);
                        msg = full;
                }
        }
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
                free(msg);
                return -1;
        }
        e->status = errnum;
        e->msg = msg != NULL ? msg : strdup("out of memory");
        *err = e;
        return -1;
}

int rc_error_set(rc_error_t *err, int errnum, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        rc_error_setv(err, errnum, fmt, ap);
        va_end(ap);
        return -1;
}

int rc_error_set_status(rc_error_t *err, int errnum, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        rc_error_setv(err, 0, fmt, ap);
        va_end(ap);
        if (err != NULL && *err != NULL)
                (*err)->status = errnum;
        return -1;
}

int rc_error_wrap(rc_error_t *err, const char *fmt, ...)
{
        char *prefix = NULL, *full = NULL;
        va_list ap;

        if (err == NULL || *err == NULL)
                return -1;
        va_start(ap, fmt);
        if (vasprintf(&prefix, fmt, ap) < 0)
                prefix = NULL;
        va_end(ap);
        if (prefix == NULL)
                return -1;
        if (asprintf(&full, "%s: %s", prefix, (*err)->msg ? (*err)->msg : "") >= 0) {
                free((*err)->msg);
                (*err)->msg = full;
        }
        free(prefix);
        return -1;
}

void rc_error_free(rc_error_t *err)
{
        if (err == NULL || *err == NULL)
                return;
        free((*err)->msg);
        free(*err);
        *err = NULL;
}

void rc_error_move(rc_error_t *dst, rc_error_t *src)
{
        rc_error_free(dst);
        *dst = *src;
        *src = NULL;
}
