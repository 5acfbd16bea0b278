/* Passing one fd over an AF_UNIX socket with SCM_RIGHTS (console socket, seccomp agent). */
#pragma once

#include <stddef.h>

#include "runtime/error.h"

/* Send `fd` with the first bytes of `payload` (len > 0: a stream socket drops ancillary
 * data sent without payload), then the rest of the payload. The error says "send fd"
 * or "send payload"; callers wrap it with what they sent to whom. */
int rc_send_fd(int sock, int fd, const void *payload, size_t len, rc_error_t *err);
