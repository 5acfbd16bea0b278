#define RC_CRIU_IMPL
#include "runtime/container/criu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/dl.h"

extern char **environ;

#define RC_DL_DEFINE(name) __typeof__(name) *rc_dl_##name;
RC_CRIU_SYMBOLS(RC_DL_DEFINE)

#define RC_DL_NAME(name) #name,
#define RC_DL_SLOT(name) (void **)&rc_dl_##name,

static const char *const criu_names[] = {RC_CRIU_SYMBOLS(RC_DL_NAME)};
static void **const criu_slots[] = {RC_CRIU_SYMBOLS(RC_DL_SLOT)};

int rc_criu_load(rc_error_t *err)
{
        static bool loaded;

        if (loaded)
                return 0;
        if (rc_dl_load("libcriu.so.2", criu_names, criu_slots, sizeof(criu_names) / sizeof(criu_names[0]),
                       err) < 0)
                return rc_error_wrap(err, "checkpoint/restore needs CRIU (Debian package `criu`)");
        loaded = true;
        return 0;
}

int rc_criu_swrk_start(criu_opts *o, int hold_fd, struct rc_criu_swrk *ret, rc_error_t *err)
{
        char fd[16];
        char *argv[] = {"criu", "swrk", fd, NULL};
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return rc_error_set(err, errno, "criu: socketpair");
        /* everything the child needs is ready before the fork: after it, only
         * async-signal-safe calls (sigprocmask, fcntl, execve) */
        snprintf(fd, sizeof(fd), "%d", sv[1]);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(sv[0]);
                close(sv[1]);
                return rc_error_set(err, e, "criu: fork");
        }
        if (pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (fcntl(sv[1], F_SETFD, 0) == 0 && (hold_fd <= 0 || fcntl(hold_fd, F_SETFD, 0) == 0))
                        execve(RC_CRIU_PATH, argv, environ); /* Debian's criu; no PATH lookup */
                _exit(127); /* the request then fails on a closed socket: ECOMM */
        }
        close(sv[1]);
        rc_dl_criu_local_set_service_fd(o, sv[0]); /* RC_CRIU_IMPL: no macro here */
        *ret = (struct rc_criu_swrk){.pid = pid, .sock = sv[0]};
        return 0;
}

void rc_criu_swrk_finish(struct rc_criu_swrk *w)
{
        int status;

        if (w->sock >= 0)
                close(w->sock);
        w->sock = -1;
        while (w->pid > 0 && waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
                ;
        w->pid = 0;
}

/* Errors CRIU logs on every run of a host that lacks what they probe, and goes on:
 * never the reason of a failure. */
static bool error_is_noise(const char *line)
{
        return strstr(line, "Error (criu/tun.c:") != NULL;
}

/* The text after "Error (file:line): " of the first error line, malloc'ed; NULL if none. */
static char *first_error(int workfd, const char *log)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int fd = openat(workfd, log, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0)
                return NULL;
        f = fdopen(fd, "r");
        if (f == NULL) {
                close(fd);
                return NULL;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
                const char *e = strstr(line, "Error (");
                const char *msg = e != NULL ? strstr(e, "): ") : NULL;

                if (msg == NULL || error_is_noise(line))
                        continue;
                if (line[n - 1] == '\n')
                        line[n - 1] = '\0';
                return strdup(msg + 3);
        }
        return NULL;
}

int rc_criu_fail(int ret, int workfd, const char *work_path, const char *log, const char *what,
                 rc_error_t *err)
{
        _cleanup_free_ char *reason = workfd >= 0 ? first_error(workfd, log) : NULL;
        char where[PATH_MAX + 64] = "";
        int status = ret < 0 ? -ret : 0;

        if (work_path != NULL)
                snprintf(where, sizeof(where), " (log: %s/%s)", work_path, log);
        if (reason != NULL)
                return rc_error_set_status(err, status, "%s: criu: %s%s", what, reason, where);
        if (ret == -ECONNREFUSED || ret == -ECOMM)
                return rc_error_set(err, status, "%s: cannot run `criu` (is it installed and in PATH?)",
                                    what);
        return rc_error_set_status(err, status, "%s: criu failed (libcriu: %d)%s", what, ret, where);
}

/* The daemon died before it was ready: its log's first error says why. */
static int lazy_pages_failed(pid_t pid, const char *work_path, rc_error_t *err)
{
        _cleanup_close_ int workfd = open(work_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *reason = workfd >= 0 ? first_error(workfd, RC_CRIU_LAZY_LOG) : NULL;

        if (reason != NULL)
                return rc_error_set_status(err, 0, "criu lazy-pages: %s (log: %s/%s)", reason, work_path,
                                           RC_CRIU_LAZY_LOG);
        return rc_error_set_status(err, 0, "criu lazy-pages (pid %d) ended before it was ready (log: %s/%s)",
                                   (int)pid, work_path, RC_CRIU_LAZY_LOG);
}

int rc_criu_lazy_pages_start(const char *address, int port, const char *image_path, const char *work_path,
                             int hold_fd, pid_t *ret_pid, rc_error_t *err)
{
        char portstr[16], status[16];
        char *argv[] = {"criu", "lazy-pages", "--images-dir", (char *)image_path, "--work-dir",
                        (char *)work_path, "--log-file", RC_CRIU_LAZY_LOG, "-v4", "--status-fd", status,
                        /* address NULL: the pages from the image directory itself */
                        address != NULL ? "--page-server" : NULL, "--address", (char *)address, "--port",
                        portstr, NULL};
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        _cleanup_close_ int rd = -1;
        int p[2], pp[2], st;
        ssize_t n = 0;
        char c = 1;
        pid_t pid, daemon = 0;

        if (null < 0)
                return rc_error_set(err, errno, "open `/dev/null`");
        if (pipe2(p, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "criu lazy-pages: pipe");
        if (pipe2(pp, O_CLOEXEC) < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return rc_error_set(err, e, "criu lazy-pages: pipe");
        }
        rd = p[0];
        snprintf(portstr, sizeof(portstr), "%d", port);
        snprintf(status, sizeof(status), "%d", p[1]);
        pid = fork();
        if (pid == 0) {
                /* the middle child: forks the daemon, tells its pid, exits (the daemon is
                 * then the child of the nearest subreaper: init, or a caller that waits
                 * for it, as migrate --lazy-parent); async-signal-safe calls only */
                sigset_t none;
                pid_t d;

                setsid();
                d = fork();
                if (d == 0) {
                        sigemptyset(&none);
                        sigprocmask(SIG_SETMASK, &none, NULL);
                        if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                            fcntl(p[1], F_SETFD, 0) < 0 || (hold_fd > 0 && fcntl(hold_fd, F_SETFD, 0) < 0))
                                _exit(127);
                        execve(RC_CRIU_PATH, argv, environ);
                        _exit(127);
                }
                (void)!write(pp[1], &d, sizeof(d));
                _exit(d > 0 ? 0 : 1);
        }
        close(p[1]);
        close(pp[1]);
        if (pid < 0) {
                close(pp[0]);
                return rc_error_set(err, errno, "criu lazy-pages: fork");
        }
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        while (read(pp[0], &daemon, sizeof(daemon)) < 0 && errno == EINTR)
                ;
        close(pp[0]);
        if (daemon <= 0)
                return rc_error_set(err, EAGAIN, "criu lazy-pages: fork");
        /* ready: a NUL byte on the status fd; EOF: it died */
        while ((n = read(rd, &c, 1)) < 0 && errno == EINTR)
                ;
        if (n == 1 && c == '\0') {
                *ret_pid = daemon;
                return 0;
        }
        kill(daemon, SIGKILL);
        return lazy_pages_failed(daemon, work_path, err);
}
