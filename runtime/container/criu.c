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
