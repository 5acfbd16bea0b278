/* Passing one fd over an AF_UNIX socket with SCM_RIGHTS (console socket, seccomp agent). */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#include "runtime/base/error.h"

/* Room in a message's ancillary data for one fd. */
union rc_fd_cmsg {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
};

/* Attach `fd` to msg as SCM_RIGHTS, stored in `space`. */
void rc_cmsg_put_fd(struct msghdr *msg, union rc_fd_cmsg *space, int fd);
/* The fds a received msg carries (SCM_RIGHTS): up to max go to fds (the caller owns
 * them), any beyond are closed. Returns how many went to fds. */
size_t rc_cmsg_get_fds(struct msghdr *msg, int *fds, size_t max);

/* Send `fd` with the first bytes of `payload` (len > 0: a stream socket drops ancillary
 * data sent without payload), then the rest of the payload. The error says "send fd"
 * or "send payload"; callers wrap it with what they sent to whom. */
int rc_send_fd(int sock, int fd, const void *payload, size_t len, rc_error_t *err);
