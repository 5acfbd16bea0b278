/* sd_notify through the container (see notify.h). */
#include "runtime/container/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/syscalls.h"
#include "specs/config_edit.h"

#define NOTIFY_DIR "notify"
#define NOTIFY_SOCK NOTIFY_DIR "/notify.sock"
#define NOTIFY_IN_CONTAINER "/run/notify"

int rc_notify_prepare(struct oci_config *cfg, int state_dirfd, rc_error_t *err)
{
        char fdpath[64], dir[PATH_MAX];
        ssize_t n;

        if (mkdirat(state_dirfd, NOTIFY_DIR, 0755) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: create the notify directory");
        if (fchmodat(state_dirfd, NOTIFY_DIR, 0755, 0) < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: chmod the notify directory");
        /* the bind source is a host path: the state directory's, absolute */
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", state_dirfd);
        n = readlink(fdpath, dir, sizeof(dir) - sizeof("/" NOTIFY_DIR));
        if (n < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: find the state directory");
        memcpy(dir + n, "/" NOTIFY_DIR, sizeof("/" NOTIFY_DIR));
        if (rc_config_add_bind_mount(cfg, dir, NOTIFY_IN_CONTAINER, true, err) < 0 ||
            rc_config_set_env(cfg, RC_NOTIFY_ENV "=" NOTIFY_IN_CONTAINER "/notify.sock", err) < 0)
                return rc_error_wrap(err, "NOTIFY_SOCKET");
        return 0;
}

int rc_notify_listen(int state_dirfd, int *ret_fd, rc_error_t *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        struct stat st;

        *ret_fd = -1;
        if (fstatat(state_dirfd, NOTIFY_DIR, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "NOTIFY_SOCKET: the notify directory");
        if (unlinkat(state_dirfd, NOTIFY_SOCK, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: remove the old socket");
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: socket");
        /* through the directory's fd: the state root's path may be too long for sun_path */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" NOTIFY_SOCK, state_dirfd);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: bind the container's socket");
        /* the container's user, whoever it is, may send */
        if (fchmodat(state_dirfd, NOTIFY_SOCK, 0777, 0) < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: chmod the container's socket");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The READY=... line of a datagram, NUL-terminated in place; NULL if none. */
static char *ready_line(char *buf)
{
        for (char *line = buf; line != NULL && *line != '\0';) {
                char *nl = strchr(line, '\n');

                if (nl != NULL)
                        *nl = '\0';
                if (strncmp(line, "READY=", 6) == 0)
                        return line;
                line = nl != NULL ? nl + 1 : NULL;
        }
        return NULL;
}

/* READY=... and MAINPID=<pid>, one datagram each, as runc sends them. */
static int forward(const char *host, const char *ready, pid_t pid, rc_error_t *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        size_t len = strlen(host);
        socklen_t salen;
        char msg[64];

        if (fd < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: socket");
        if (len == 0 || len >= sizeof(sa.sun_path))
                return rc_error_set(err, ENAMETOOLONG, "NOTIFY_SOCKET `%s`", host);
        memcpy(sa.sun_path, host, len);
        if (host[0] == '@') /* an abstract socket, as sd_notify reads it */
                sa.sun_path[0] = '\0';
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (host[0] == '@' ? 0 : 1));
        snprintf(msg, sizeof(msg), "%.48s\n", ready);
        if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: send READY to `%s`", host);
        snprintf(msg, sizeof(msg), "MAINPID=%d\n", (int)pid);
        if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
                return rc_error_set(err, errno, "NOTIFY_SOCKET: send MAINPID to `%s`", host);
        return 0;
}

/* The wait, with the init's pidfd: a datagram already queued is read even when the init
 * is gone by then (a container that says READY and exits at once). */
static int relay(int fd, int pidfd, pid_t pid, const char *host_socket, rc_error_t *err)
{
        char buf[4097];

        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
                ssize_t n;
                char *ready;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return rc_error_set(err, errno, "NOTIFY_SOCKET: wait for the container");
                }
                n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
                if (n < 0 && errno == EAGAIN && p[1].revents != 0)
                        return 0; /* the init exited without READY: nothing to forward */
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n < 0)
                        return rc_error_set(err, errno, "NOTIFY_SOCKET: receive from the container");
                buf[n] = '\0';
                ready = ready_line(buf);
                if (ready != NULL)
                        return forward(host_socket, ready, pid, err);
        }
}

int rc_notify_relay(int fd, pid_t pid, const char *host_socket, rc_error_t *err)
{
        _cleanup_close_ int pidfd = rc_pidfd_open(pid, 0);

        if (pidfd < 0)
                return errno == ESRCH ? 0 : rc_error_set(err, errno, "NOTIFY_SOCKET: pidfd_open");
        return relay(fd, pidfd, pid, host_socket, err);
}

static void *bg_main(void *arg)
{
        struct rc_notify_bg *bg = arg;

        relay(bg->fd, bg->pidfd, bg->pid, bg->host_socket, &bg->err);
        return NULL;
}

int rc_notify_bg_start(struct rc_notify_bg *bg, int fd, pid_t pid, const char *host_socket, rc_error_t *err)
{
        int r;

        /* the pidfd now: the caller may reap the init before the thread runs */
        *bg = (struct rc_notify_bg){
                .fd = fd, .pidfd = rc_pidfd_open(pid, 0), .pid = pid, .host_socket = host_socket};
        if (bg->pidfd < 0) {
                r = errno;
                close(fd);
                bg->fd = -1;
                return rc_error_set(err, r, "NOTIFY_SOCKET: pidfd_open");
        }
        r = pthread_create(&bg->thread, NULL, bg_main, bg);
        if (r != 0) {
                close(fd);
                close(bg->pidfd);
                bg->fd = bg->pidfd = -1;
                return rc_error_set(err, r, "NOTIFY_SOCKET: start the relay");
        }
        bg->running = true;
        return 0;
}

void rc_notify_bg_join(struct rc_notify_bg *bg, const struct rc_logger *log)
{
        if (!bg->running)
                return;
        pthread_join(bg->thread, NULL);
        bg->running = false;
        close(bg->fd);
        close(bg->pidfd);
        bg->fd = bg->pidfd = -1;
        if (bg->err != NULL)
                rc_log(log, RC_LOG_WARNING, "%s", bg->err->msg);
        rc_error_free(&bg->err);
}
