/* The small init of runtime/isolation/reaper.h. */
#include "runtime/isolation/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/stopsig.h"
#include "runtime/base/syscalls.h"

#define CLOSE_WALK_MAX 65536
#define CHILD_STACK (64 * 1024) /* execve and a few calls before it */

int rc_reaper_signal_is_stop(int sig)
{
        return rc_stop_signal_is(sig);
}

static void close_range_or_walk(unsigned first, unsigned last)
{
        struct rlimit rl;
        unsigned max = CLOSE_WALK_MAX;

        if (first > last || rc_close_range(first, last, 0) == 0)
                return;
        /* no close_range (before 5.9, or a profile that denies it) */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
                max = (unsigned)rl.rlim_cur;
        for (unsigned fd = first; fd <= last && fd < max; fd++)
                close((int)fd);
}

/* What the execve would have closed, and the fds passed to the process, which are its. */
static void close_fds(int keep_fd)
{
        if (keep_fd < 3) {
                close_range_or_walk(3, ~0U);
                return;
        }
        close_range_or_walk(3, (unsigned)keep_fd - 1);
        close_range_or_walk((unsigned)keep_fd + 1, ~0U);
}

/* Every exited child; true once `child` was among them (its status in *ret_status). */
static bool reap(pid_t child, int *ret_status)
{
        bool done = false;
        int status;
        pid_t p;

        while ((p = waitpid(-1, &status, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
                if (p == child) {
                        *ret_status = status;
                        done = true;
                }
        }
        return done;
}

/* Never kill(-1) outside a pid namespace of our own: that would be every process of the
 * host the user may signal. */
pid_t rc_reaper_signal_target(pid_t child, int sig, bool pid1)
{
        if (!rc_reaper_signal_is_stop(sig))
                return child;
        return pid1 ? -1 : -child;
}

__attribute__((noreturn)) static void init_loop(pid_t child, const struct rc_reaper *r)
{
        bool pid1 = getpid() == 1;
        sigset_t all;
        int status = 0;

        sigfillset(&all);
        for (;;) {
                int sig = sigwaitinfo(&all, NULL);

                if (sig < 0)
                        continue; /* EINTR: a stop and continue */
                if (sig == SIGCHLD) {
                        if (reap(child, &status))
                                break;
                        continue;
                }
                /* ESRCH (nothing left to signal) is no error here */
                (void)kill(rc_reaper_signal_target(child, sig, pid1), sig);
        }
        if (r->on_exit != NULL)
                r->on_exit(r->arg, status);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255);
}

/* The child's side of the clone: it shares the init's memory (CLONE_VM) while the init
 * waits (CLONE_VFORK), so it only makes system calls and leaves its errno in `error`. */
struct child {
        const char *path;
        char *const *argv, *const *envp;
        sigset_t mask; /* the one to exec with */
        int error;
};

static int child_main(void *arg)
{
        struct child *c = arg;

        /* SIGTTOU is still blocked: tcsetpgrp from a background group works */
        if (setpgid(0, 0) == 0)
                (void)tcsetpgrp(STDIN_FILENO, getpid());
        sigprocmask(SIG_SETMASK, &c->mask, NULL);
        execve(c->path, c->argv, c->envp);
        c->error = errno;
        _exit(127);
}

int rc_reaper_exec(const struct rc_reaper *r, const char *path, char *const *argv, char *const *envp,
                   rc_error_t *err)
{
        static char *const empty[] = {NULL};
        static char stack[CHILD_STACK] __attribute__((aligned(16)));
        struct child c = {.path = path, .argv = argv, .envp = envp != NULL ? envp : empty};
        sigset_t all, stop;
        pid_t pid;
        int status;

        sigfillset(&all);
        if (sigprocmask(SIG_BLOCK, &all, &c.mask) < 0)
                return rc_error_set(err, errno, "init: block signals");
        /* the caller held the stop signals until now; the process gets none blocked */
        rc_stop_signal_set(&stop);
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&stop, sig) == 1)
                        sigdelset(&c.mask, sig);
        pid = clone(child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
        if (pid < 0 || c.error != 0) {
                int e = pid < 0 ? errno : c.error;

                if (pid > 0)
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                sigprocmask(SIG_SETMASK, &c.mask, NULL);
                return pid < 0 ? rc_error_set(err, e, "init: start the process")
                               : rc_error_set(err, e, "exec `%s`", path);
        }
        close_fds(r->keep_fd);
        init_loop(pid, r);
}
