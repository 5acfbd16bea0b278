/* Stop signals: SIGINT (^C), SIGTERM (a CI runner's or a service manager's stop),
 * SIGHUP (the terminal gone) and SIGQUIT. A command that must clean up whatever happens
 * blocks them from its start; they stay pending until it reaches a point where it can
 * give up cleanly and takes them. Long steps (a registry pull, a layer unpack) poll
 * rc_stop_signal_pending() and end early with ECANCELED. Where nobody blocked them a
 * stop signal ends the process at once, so nothing is ever found pending there. */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "runtime/base/error.h"

/* Pure: whether sig is one of the four. */
bool rc_stop_signal_is(int sig);

/* Pure: *set = the four. */
void rc_stop_signal_set(sigset_t *set);

/* Block the four in the calling thread (threads created afterwards inherit the mask;
 * so do forked children, which restore their own before they exec); *old (may be NULL)
 * receives the previous mask. */
int rc_stop_signals_block(sigset_t *old, rc_error_t *err);

/* Whether a blocked stop signal is pending (for the process or this thread). */
bool rc_stop_signal_pending(void);

/* The lowest pending stop signal, taken (no longer pending), or 0. */
int rc_stop_signal_take(void);

/* flock(2) `op` on fd; a blocking one (no LOCK_NB) waits by polling, every 20 ms, so that
 * a pending stop signal ends the wait: -ECANCELED. 0, or -errno. */
int rc_flock_or_stop(int fd, int op);
