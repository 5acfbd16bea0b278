/* A small init for the containers that ask for one (`sandbox --init`, as podman's
 * catatonit): the container's PID 1 stays the runtime's init process, which forks the
 * user's process at the very end of the pre-exec steps (runtime/preexec.h) and from then
 * on only
 *   - reaps every child (the orphans of the pid namespace are reparented to it),
 *   - passes signals on: SIGINT, SIGTERM, SIGHUP and SIGQUIT to every process of the pid
 *     namespace (kill(-1, ...): a job's whole tree is asked to stop, not only its first
 *     process), every other catchable signal to its child,
 *   - exits when its child does, with the child's exit status (128+N for signal N: the
 *     init of a pid namespace cannot die of a signal of its own), after handing the raw
 *     wait status to the caller's callback.
 *
 * The fork is CLONE_VFORK without CLONE_VM: the init goes on only once its child has
 * executed the process (or failed to and exited), then closes every fd but 0-2 and
 * keep_fd, as the execve would have: exec.fifo's write end among them, so `start` sees
 * its EOF when the process is executed, as without an init. A pid namespace's init gets
 * no signal it has no handler for, unless the signal is blocked (blocked signals queue):
 * all are blocked before the fork and taken with sigwaitinfo; the child restores the
 * mask, becomes a process group of its own and, when stdin is its controlling terminal,
 * that terminal's foreground group (so a ^C on a container's terminal reaches the
 * process once, not through the init a second time).
 *
 * The init keeps the credentials, capabilities and seccomp filter of the process: the
 * fork happens after all of them, right before execve. */
#pragma once

#include <sys/types.h>

#include "runtime/base/error.h"

struct rc_reaper {
        int keep_fd; /* left open in the init (-1: none) */
        /* NULL, or called with the child's raw wait status right before the init exits */
        void (*on_exit)(void *arg, int wstatus);
        void *arg;
};

/* Fork the process. Returns 0 in the child, which goes on to execve; never returns in
 * the init; -1 with *err when the fork fails (nothing changed). */
int rc_reaper_fork(const struct rc_reaper *r, rc_error_t *err);

/* Pure: the signals the init sends to every process of its pid namespace. */
int rc_reaper_signal_is_stop(int sig);
