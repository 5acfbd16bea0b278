#include "runtime/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int rc_send_fd(int sock, int fd, const void *payload, size_t len, rc_error_t *err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        const char *bytes = payload;
        struct cmsghdr *cmsg;
        ssize_t n;

        if (len == 0)
                return rc_error_set(err, EINVAL, "send fd: empty payload");
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
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
