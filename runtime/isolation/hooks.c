/* OCI hooks: fork + execve with the state JSON on stdin, bounded by the hook's timeout.
 *
 * The parent feeds stdin through a non-blocking pipe while it polls the child's pidfd,
 * so a hook that never reads its stdin (or exits early) can neither block the runtime
 * nor kill it with SIGPIPE (blocked while we write). An exec failure travels back over a
 * close-on-exec pipe as an errno. */
#include "runtime/isolation/hooks.h"
#include "specs/names.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/clock.h"
#include "runtime/base/syscalls.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

const char *rc_hook_phase_name(enum oci_hook_phase phase)
{
        return oci_hook_phase_name(phase);
}

/* What the child needs, prepared before fork (the child only makes system calls). */
struct hook_exec {
        const char *path;
        char *const *argv;
        char *const *envp;
        int stdin_fd;
        int errpipe_w;
};

static __attribute__((noreturn)) void hook_child(const struct hook_exec *x)
{
        sigset_t none;
        int e;

        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL); /* ignored signals would survive exec */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (x->stdin_fd == 0)
                e = fcntl(0, F_SETFD, 0) < 0 ? errno : 0;
        else
                e = dup2(x->stdin_fd, 0) < 0 ? errno : 0;
        if (e == 0) {
                /* Fds the caller left inheritable (e.g. preserved fds) stay out too. */
                rc_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
                execve(x->path, x->argv, x->envp);
                e = errno;
        }
        if (write(x->errpipe_w, &e, sizeof(e)) < 0) {
                /* nothing left to report with */
        }
        _exit(127);
}

struct feed {
        int fd; /* write end of the child's stdin, -1 once done */
        const char *buf;
        size_t len, off;
};

/* Write what the pipe takes now; close at the end or when the reader is gone. */
static int feed_stdin(struct feed *f, rc_error_t *err)
{
        while (f->off < f->len) {
                ssize_t n = write(f->fd, f->buf + f->off, f->len - f->off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0 && errno != EPIPE)
                        return rc_error_set(err, errno, "write state to stdin");
                if (n < 0)
                        break; /* the hook closed its stdin: its business */
                f->off += (size_t)n;
        }
        close(f->fd);
        f->fd = -1;
        return 0;
}

/* A hook child: its pidfd, or -1 where pidfd_open is refused (a startContainer hook is
 * started under the container's seccomp filter, and an older profile may not list it):
 * then its exit is polled for by pid, every NOPIDFD_TICK_MS. */
struct child {
        pid_t pid;
        int pidfd;
};

#define NOPIDFD_TICK_MS 5

static bool child_exited(const struct child *c)
{
        siginfo_t info = {0};

        return waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

/* Feed stdin and wait until the child exits or the deadline passes. Returns 1 if it
 * exited, 0 on timeout. */
static int wait_child(const struct child *c, struct feed *f, int timeout_s, rc_error_t *err)
{
        int64_t deadline = timeout_s > 0 ? rc_now_ms() + (int64_t)timeout_s * 1000 : -1;

        for (;;) {
                /* without a pidfd, poll() ignores the negative fd and the tick bounds the wait */
                struct pollfd p[2] = {{.fd = c->pidfd, .events = POLLIN}, {.fd = f->fd, .events = POLLOUT}};
                int wait_ms = -1, n;

                if (c->pidfd < 0 && child_exited(c))
                        return 1;

                if (deadline >= 0) {
                        int64_t left = deadline - rc_now_ms();
                        if (left <= 0)
                                return 0;
                        wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
                }
                if (c->pidfd < 0 && (wait_ms < 0 || wait_ms > NOPIDFD_TICK_MS))
                        wait_ms = NOPIDFD_TICK_MS;
                n = poll(p, f->fd >= 0 ? 2 : 1, wait_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return rc_error_set(err, errno, "wait for hook");
                if (p[0].revents != 0)
                        return 1;
                if (f->fd >= 0 && p[1].revents != 0 && feed_stdin(f, err) < 0)
                        return -1;
        }
}

static int reap(const struct child *c, siginfo_t *info, rc_error_t *err)
{
        idtype_t type = c->pidfd >= 0 ? P_PIDFD : P_PID;
        id_t id = c->pidfd >= 0 ? (id_t)c->pidfd : (id_t)c->pid;

        memset(info, 0, sizeof(*info));
        while (waitid(type, id, info, WEXITED) < 0) {
                if (errno != EINTR)
                        return rc_error_set(err, errno, "wait for hook");
        }
        return 0;
}

/* Block SIGPIPE for this thread while writing to the pipe; drop one raised meanwhile
 * unless it was already pending before. */
struct sigpipe_guard {
        sigset_t old;
        bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigpending(&pending);
        g->was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
        sigset_t set, pending;
        struct timespec zero = {0, 0};

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
                sigtimedwait(&set, NULL, &zero);
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int describe_exit(const siginfo_t *info, int exec_errno, bool timed_out, int timeout_s,
                         rc_error_t *err)
{
        if (timed_out)
                return rc_error_set(err, 0, "timed out after %ds", timeout_s);
        if (exec_errno != 0)
                return rc_error_set(err, exec_errno, "exec");
        if (info->si_code == CLD_EXITED && info->si_status == 0)
                return 0;
        if (info->si_code == CLD_EXITED)
                return rc_error_set(err, 0, "exited with status %d", info->si_status);
        return rc_error_set(err, 0, "killed by signal %d", info->si_status);
}

/* Start the child (*ret: its pid and pidfd, see struct child); the caller closes what it
 * no longer needs. */
static int spawn_hook(const struct hook_exec *x, struct child *ret, rc_error_t *err)
{
        pid_t pid = fork();
        int pidfd;

        if (pid < 0)
                return rc_error_set(err, errno, "fork");
        if (pid == 0)
                hook_child(x);
        pidfd = rc_pidfd_open(pid, 0);
        if (pidfd < 0 && (errno == EPERM || errno == ENOSYS)) {
                *ret = (struct child){.pid = pid, .pidfd = -1};
                return 0;
        }
        if (pidfd < 0) {
                int e = errno;
                kill(pid, SIGKILL); /* our own unreaped child: the pid is still ours */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return rc_error_set(err, e, "pidfd_open");
        }
        *ret = (struct child){.pid = pid, .pidfd = pidfd};
        return 0;
}

/* Two close-on-exec pipes: the hook's stdin (our end non-blocking) and the exec error
 * channel. */
static int make_pipes(int *in_r, int *in_w, int *err_r, int *err_w, rc_error_t *err)
{
        int a[2], b[2];

        if (pipe2(a, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "pipe");
        if (pipe2(b, O_CLOEXEC) < 0 || fcntl(a[1], F_SETFL, O_NONBLOCK) < 0) {
                int e = errno;
                close(a[0]);
                close(a[1]);
                return rc_error_set(err, e, "pipe");
        }
        *in_r = a[0];
        *in_w = a[1];
        *err_r = b[0];
        *err_w = b[1];
        return 0;
}

static int run_one(const struct oci_hook *h, const char *json, size_t len, rc_error_t *err)
{
        _cleanup_close_ int in_r = -1, in_w = -1, err_r = -1, err_w = -1;
        char *default_argv[2] = {h->path, NULL};
        struct sigpipe_guard guard;
        struct hook_exec x;
        struct feed f;
        siginfo_t info;
        struct child c = {.pid = -1, .pidfd = -1};
        int exec_errno = 0, r;

        if (make_pipes(&in_r, &in_w, &err_r, &err_w, err) < 0)
                return -1;
        x = (struct hook_exec){
                .path = h->path,
                .argv = h->n_args > 0 ? h->args : default_argv,
                /* no "env": the runtime's own environment, as runc and crun give it */
                .envp = h->env != NULL ? h->env : environ,
                .stdin_fd = in_r,
                .errpipe_w = err_w,
        };
        if (spawn_hook(&x, &c, err) < 0)
                return -1;
        close(TAKE_FD(in_r));
        close(TAKE_FD(err_w));

        f = (struct feed){.fd = TAKE_FD(in_w), .buf = json, .len = len};
        sigpipe_block(&guard);
        r = wait_child(&c, &f, h->timeout, err);
        if (f.fd >= 0)
                close(f.fd);
        if (r <= 0 && c.pidfd >= 0)
                rc_pidfd_send_signal(c.pidfd, SIGKILL, NULL, 0);
        else if (r <= 0)
                kill(c.pid, SIGKILL); /* our unreaped child: the pid is still ours */
        if (reap(&c, &info, r < 0 ? NULL : err) < 0)
                r = -1;
        if (c.pidfd >= 0)
                close(c.pidfd);
        sigpipe_restore(&guard);
        if (r < 0)
                return -1;
        if (read(err_r, &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno))
                exec_errno = 0;
        return describe_exit(&info, exec_errno, r == 0, h->timeout, err);
}

int rc_hooks_run(const struct oci_hook_list *l, enum oci_hook_phase phase, const char *state_json,
                 size_t state_len, const struct rc_logger *keep_going, rc_error_t *err)
{
        if (l == NULL)
                return 0;
        for (size_t i = 0; i < l->n; i++) {
                const struct oci_hook *h = &l->v[i];
                _cleanup_error_ rc_error_t e = NULL;

                if (run_one(h, state_json ? state_json : "", state_json ? state_len : 0, &e) == 0)
                        continue;
                rc_error_wrap(&e, ".hooks.%s[%zu]: %s hook \"%s\"", rc_hook_phase_name(phase), i,
                              rc_hook_phase_name(phase), h->path);
                if (keep_going == NULL) {
                        rc_error_move(err, &e);
                        return -1;
                }
                rc_log(keep_going, RC_LOG_WARNING, "%s (continuing as if it had succeeded)", e->msg);
        }
        return 0;
}
