/* Cleanup attributes and ownership transfer (see shared/STYLE.md, pattern 2). */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/base/error.h"

static inline void rc_freep(void *p)
{
        free(*(void **)p);
}

static inline void rc_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd); /* never retried on EINTR */
                errno = saved;
        }
}

static inline void rc_fclosep(FILE **f)
{
        if (*f != NULL)
                fclose(*f);
}

/* Free a NULL-terminated array of strings. */
static inline void rc_strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}
static inline void rc_strv_freep(char ***v)
{
        rc_strv_free(*v);
}

#define _cleanup_free_ __attribute__((cleanup(rc_freep)))
#define _cleanup_close_ __attribute__((cleanup(rc_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(rc_fclosep)))
#define _cleanup_strv_ __attribute__((cleanup(rc_strv_freep)))
#define _cleanup_error_ __attribute__((cleanup(rc_error_free)))

/* Take ownership: return the value and reset the variable in one expression. */
#define TAKE_FD(fd)                                                                                         \
        ({                                                                                                  \
                int _fd_ = (fd);                                                                            \
                (fd) = -1;                                                                                  \
                _fd_;                                                                                       \
        })
#define TAKE_PTR(p)                                                                                         \
        ({                                                                                                  \
                __typeof__(p) _p_ = (p);                                                                    \
                (p) = NULL;                                                                                 \
                _p_;                                                                                        \
        })
