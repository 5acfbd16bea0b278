/* Unit tests for runtime/isolation/terminal.c: needs a usable /dev/ptmx, no root. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/terminal.h"

static void require_ptmx(void)
{
        int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                cr_skip_test("needs a usable /dev/ptmx: %s", strerror(errno));
        close(fd);
}

static void create_pty(const struct oci_console_size *size, int *master, int *slave, char **path)
{
        _cleanup_error_ rc_error_t err = NULL;

        require_ptmx();
        cr_assert_eq(rc_terminal_create(size, master, slave, path, &err), 0, "%s", err ? err->msg : "");
}

static int fd_cloexec(int fd)
{
        int flags = fcntl(fd, F_GETFD);

        cr_assert_geq(flags, 0);
        return flags & FD_CLOEXEC;
}

Test(terminal, create)
{
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;
        struct stat a, b;

        create_pty(NULL, &master, &slave, &path);
        cr_assert(isatty(slave));
        cr_assert_eq(strncmp(path, "/dev/pts/", 9), 0, "path %s", path);
        cr_assert(fd_cloexec(master));
        cr_assert(fd_cloexec(slave));
        /* the path names the same device as the fd (same devpts instance here) */
        cr_assert_eq(fstat(slave, &a), 0);
        if (stat(path, &b) == 0)
                cr_assert_eq(a.st_rdev, b.st_rdev);
}

Test(terminal, console_size)
{
        struct oci_console_size size = {.present = true, .height = 33, .width = 120};
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;
        struct winsize ws;

        create_pty(&size, &master, &slave, &path);
        cr_assert_eq(ioctl(master, TIOCGWINSZ, &ws), 0);
        cr_assert_eq(ws.ws_row, 33);
        cr_assert_eq(ws.ws_col, 120);
}

static ssize_t read_timeout(int fd, char *buf, size_t size)
{
        struct pollfd pfd = {.fd = fd, .events = POLLIN};

        if (poll(&pfd, 1, 5000) != 1)
                return -1;
        return read(fd, buf, size);
}

Test(terminal, send_recv_and_relay)
{
        _cleanup_close_ int master = -1, slave = -1, got = -1;
        _cleanup_free_ char *path = NULL;
        _cleanup_error_ rc_error_t err = NULL;
        int sv[2];
        char buf[64] = "";
        ssize_t n;

        create_pty(NULL, &master, &slave, &path);
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        cr_assert_eq(rc_terminal_send(sv[0], master, path, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_terminal_recv(sv[1], &got, &err), 0, "%s", err ? err->msg : "");
        close(sv[0]);
        close(sv[1]);
        cr_assert_geq(got, 0);
        cr_assert_neq(got, master);
        cr_assert(fd_cloexec(got), "received fd not O_CLOEXEC");
        close(TAKE_FD(master)); /* only the received copy is left */

        cr_assert_eq(write(slave, "hello\n", 6), 6);
        n = read_timeout(got, buf, sizeof(buf) - 1);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        cr_assert_eq(strncmp(buf, "hello", 5), 0, "read %s", buf);
}

Test(terminal, send_without_name)
{
        _cleanup_close_ int master = -1, slave = -1, got = -1;
        _cleanup_free_ char *path = NULL;
        _cleanup_error_ rc_error_t err = NULL;
        int sv[2];

        create_pty(NULL, &master, &slave, &path);
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        cr_assert_eq(rc_terminal_send(sv[0], master, NULL, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_terminal_recv(sv[1], &got, &err), 0, "%s", err ? err->msg : "");
        cr_assert(isatty(got));
        close(sv[0]);
        close(sv[1]);
}

static void send_fds(int sock, const int *fds, size_t n)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * 4)];
                struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = "x", .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

        memset(&control, 0, sizeof(control));
        if (n > 0) {
                struct cmsghdr *c;

                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        cr_assert_eq(sendmsg(sock, &msg, 0), 1);
}

Test(terminal, recv_rejects_wrong_fd_count)
{
        int sv[2], fds[2], got = -1;

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        {
                _cleanup_error_ rc_error_t err = NULL;

                send_fds(sv[0], fds, 2);
                cr_assert_lt(rc_terminal_recv(sv[1], &got, &err), 0);
                cr_assert_str_eq(err->msg, "receive pty master: expected exactly one fd, got 2");
                cr_assert_eq(got, -1);
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                send_fds(sv[0], fds, 0);
                cr_assert_lt(rc_terminal_recv(sv[1], &got, &err), 0);
                cr_assert_str_eq(err->msg, "receive pty master: expected exactly one fd, got 0");
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                close(sv[0]);
                cr_assert_lt(rc_terminal_recv(sv[1], &got, &err), 0);
                cr_assert_str_eq(err->msg, "receive pty master: console socket closed by the peer");
        }
        close(sv[1]);
        close(fds[0]);
        close(fds[1]);
}

Test(terminal, console_socket_connect)
{
        char dir[] = "/tmp/rc-test-console-XXXXXX";
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        char path[sizeof(addr.sun_path)];
        _cleanup_close_ int lfd = -1, cfd = -1, afd = -1;
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/console.sock", dir);
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(lfd, 0);
        cr_assert_eq(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
        cr_assert_eq(listen(lfd, 1), 0);

        cfd = rc_console_socket_connect(path, &err);
        cr_assert_geq(cfd, 0, "%s", err ? err->msg : "");
        cr_assert(fd_cloexec(cfd));
        afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        cr_assert_geq(afd, 0);
        unlink(path);
        rmdir(dir);
}

Test(terminal, console_socket_errors)
{
        char longpath[200];

        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        {
                _cleanup_error_ rc_error_t err = NULL;

                cr_assert_lt(rc_console_socket_connect(longpath, &err), 0);
                cr_assert_eq(err->status, ENAMETOOLONG);
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                cr_assert_lt(rc_console_socket_connect("/nonexistent-rc-dir/sock", &err), 0);
                cr_assert_str_eq(err->msg, "connect to console socket `/nonexistent-rc-dir/sock`: No such "
                                           "file or directory");
        }
}

/* In a child (not a group leader, so setsid works): make the pty our controlling
 * terminal and stdio, then report through the exit code. */
Test(terminal, make_controlling_in_child)
{
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;
        int status = 0;
        pid_t pid;

        create_pty(NULL, &master, &slave, &path);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                rc_error_t err = NULL;
                int fd = slave;

                if (setsid() < 0 || rc_terminal_make_controlling(fd, &err) < 0)
                        _exit(10);
                for (int i = 0; i <= 2; i++) {
                        if (!isatty(i))
                                _exit(11 + i);
                        if (fcntl(i, F_GETFD) & FD_CLOEXEC)
                                _exit(14);
                }
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        _exit(15); /* the original fd must be closed */
                if (tcgetsid(0) != getpid())
                        _exit(16);
                _exit(0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "child died with status %#x", status);
        cr_assert_eq(WEXITSTATUS(status), 0, "child failed with code %d", WEXITSTATUS(status));
}
