#include "runtime/base/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void rc_cmsg_put_fd(struct msghdr *msg, union rc_fd_cmsg *space, int fd)
{
        struct cmsghdr *cmsg;

        memset(space, 0, sizeof(*space));
        msg->msg_control = space->buf;
        msg->msg_controllen = sizeof(space->buf);
        cmsg = CMSG_FIRSTHDR(msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
}

size_t rc_cmsg_get_fds(struct msghdr *msg, int *fds, size_t max)
{
        size_t count = 0;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (count < max)
                                fds[count++] = fd;
                        else
                                close(fd);
                }
        }
        return count;
}

int rc_send_fd(int sock, int fd, const void *payload, size_t len, rc_error_t *err)
{
        union rc_fd_cmsg control;
        struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        const char *bytes = payload;
        ssize_t n;

        if (len == 0)
                return rc_error_set(err, EINVAL, "send fd: empty payload");
        rc_cmsg_put_fd(&msg, &control, fd);
        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(err, errno, "send fd");
        /* the fd went with the first bytes; push the rest */
        for (size_t off = (size_t)n; off < len; off += (size_t)n) {
                n = send(sock, bytes + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) {
                        n = 0;
                        continue;
                }
                if (n < 0)
                        return rc_error_set(err, errno, "send payload");
        }
        return 0;
}
