/* Terminals: pty creation in the container's /dev, the --console-socket handoff and
 * the controlling-terminal switch; see terminal.h. */
#include "runtime/isolation/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fdpass.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Most fds a peer may push at us in one message before we report MSG_CTRUNC. */
#define RECV_MAX_FDS 16

int rc_console_socket_connect(const char *path, rc_error_t *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        size_t len = strlen(path);

        if (len == 0 || len >= sizeof(addr.sun_path))
                return rc_error_set_status(err, ENAMETOOLONG,
                                           "console socket `%s`: path length %zu not in 1..%zu", path, len,
                                           sizeof(addr.sun_path) - 1);
        memcpy(addr.sun_path, path, len + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rc_error_set(err, errno, "create socket for console socket `%s`", path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return rc_error_set(err, errno, "connect to console socket `%s`", path);
        return TAKE_FD(fd);
}

/* Open the slave of `master`: TIOCGPTPEER (4.13+) opens it through the master's own
 * devpts instance, immune to a /dev/pts swapped under us; else by path. */
static int open_slave(int master, const char *path, rc_error_t *err)
{
        int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd >= 0)
                return fd;
        if (errno != EINVAL && errno != ENOTTY)
                return rc_error_set(err, errno, "open pty slave `%s` (TIOCGPTPEER)", path);
        fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open pty slave `%s`", path);
        return fd;
}

int rc_terminal_create(const struct oci_console_size *size, int *ret_master, int *ret_slave,
                       char **ret_slave_path, rc_error_t *err)
{
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;
        unsigned ptn = 0;
        int unlock = 0;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return rc_error_set(err, errno, "open /dev/ptmx");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return rc_error_set(err, errno, "unlock pty (TIOCSPTLCK)");
        if (ioctl(master, TIOCGPTN, &ptn) < 0)
                return rc_error_set(err, errno, "get pty number (TIOCGPTN)");
        if (asprintf(&path, "/dev/pts/%u", ptn) < 0)
                return rc_error_set(err, ENOMEM, "pty slave path");
        slave = open_slave(master, path, err);
        if (slave < 0)
                return -1;
        if (size != NULL && size->present) {
                struct winsize ws = {.ws_row = (unsigned short)size->height,
                                     .ws_col = (unsigned short)size->width};

                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return rc_error_set(err, errno, "set console size %ux%u on `%s`", size->width,
                                            size->height, path);
        }
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        *ret_slave_path = TAKE_PTR(path);
        return 0;
}

int rc_terminal_send(int sockfd, int master, const char *name, rc_error_t *err)
{
        /* a stream socket drops ancillary data sent with no payload: send at least a NUL */
        const char *payload = name != NULL && name[0] != '\0' ? name : "";
        size_t len = name != NULL && name[0] != '\0' ? strlen(name) : 1;

        if (rc_send_fd(sockfd, master, payload, len, err) < 0)
                return rc_error_wrap(err, "send pty master over the console socket");
        return 0;
}

int rc_terminal_recv(int sockfd, int *ret_fd, rc_error_t *err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
                struct cmsghdr align;
        } control;
        char payload[4096];
        struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        int fds[RECV_MAX_FDS];
        size_t count;
        ssize_t n;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        do
                n = recvmsg(sockfd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(err, errno, "receive pty master from the console socket");
        if (n == 0)
                return rc_error_set_status(err, EPIPE,
                                           "receive pty master: console socket closed by the peer");
        count = rc_cmsg_get_fds(&msg, fds, RECV_MAX_FDS);
        if (count == 1 && !(msg.msg_flags & MSG_CTRUNC)) {
                *ret_fd = fds[0];
                return 0;
        }
        for (size_t i = 0; i < count; i++)
                close(fds[i]);
        if (msg.msg_flags & MSG_CTRUNC)
                return rc_error_set_status(err, EBADMSG,
                                           "receive pty master: too many fds (control data truncated)");
        return rc_error_set_status(err, EBADMSG, "receive pty master: expected exactly one fd, got %zu",
                                   count);
}

int rc_terminal_make_controlling(int slave, rc_error_t *err)
{
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return rc_error_set(err, errno, "make the pty the controlling terminal (TIOCSCTTY)");
        for (int fd = 0; fd <= 2; fd++) {
                if (fd == slave) {
                        /* dup2 onto itself keeps O_CLOEXEC: clear it by hand */
                        if (fcntl(fd, F_SETFD, 0) < 0)
                                return rc_error_set(err, errno, "clear FD_CLOEXEC on fd %d", fd);
                        continue;
                }
                if (dup2(slave, fd) < 0)
                        return rc_error_set(err, errno, "dup2 pty onto fd %d", fd);
        }
        if (slave > 2 && close(slave) < 0 && errno != EINTR)
                return rc_error_set(err, errno, "close pty fd %d", slave);
        return 0;
}
