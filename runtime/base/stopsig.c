/* Stop signals held pending until a safe point (stopsig.h). */
#include "runtime/base/stopsig.h"

#include <errno.h>
#include <sys/file.h>
#include <time.h>

void rc_stop_signal_set(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
        sigaddset(set, SIGQUIT);
}

bool rc_stop_signal_is(int sig)
{
        return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

int rc_stop_signals_block(sigset_t *old, rc_error_t *err)
{
        sigset_t set;
        int r;

        rc_stop_signal_set(&set);
        r = pthread_sigmask(SIG_BLOCK, &set, old);
        if (r != 0)
                return rc_error_set(err, r, "block the stop signals");
        return 0;
}

bool rc_stop_signal_pending(void)
{
        sigset_t pending;

        if (sigpending(&pending) < 0)
                return false;
        return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
               sigismember(&pending, SIGHUP) == 1 || sigismember(&pending, SIGQUIT) == 1;
}

int rc_stop_signal_take(void)
{
        const struct timespec now = {0, 0};
        sigset_t set;
        siginfo_t si;
        int sig;

        if (!rc_stop_signal_pending())
                return 0;
        rc_stop_signal_set(&set);
        /* only a blocked signal can be pending: sigtimedwait takes it without delivering it */
        do
                sig = sigtimedwait(&set, &si, &now);
        while (sig < 0 && errno == EINTR);
        return sig > 0 ? sig : 0;
}

int rc_flock_or_stop(int fd, int op)
{
        const struct timespec pause = {0, 20 * 1000 * 1000};

        for (;;) {
                if (flock(fd, op | LOCK_NB) == 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK || (op & LOCK_NB))
                        return -errno;
                if (rc_stop_signal_pending())
                        return -ECANCELED;
                nanosleep(&pause, NULL);
        }
}
