/* A small init for the containers that ask for one (`sandbox --init`, as podman's
 * catatonit): the container's PID 1 stays the runtime's init process, which starts the
 * user's process as its child in place of the execve that ends the pre-exec steps
 * (runtime/isolation/preexec.h), and from then on only
 *   - reaps every child (the orphans of the pid namespace are reparented to it),
 *   - passes signals on: SIGINT, SIGTERM, SIGHUP and SIGQUIT to every process of the pid
 *     namespace (kill(-1, ...): a job's whole tree is asked to stop, not only its first
 *     process; when the init is not PID 1 of a pid namespace, to its child's process
 *     group), every other catchable signal to its child,
 *   - exits when its child does, with the child's exit status (128+N for signal N: the
 *     init of a pid namespace cannot die of a signal of its own), after handing the raw
 *     wait status to the caller's callback.
 *
 * The process is started as vfork(2) does (CLONE_VM | CLONE_VFORK, on a stack of its
 * own): no copy of the runtime's address space, and the init goes on only once the
 * child has executed the process or failed to. A failed execve is the init's own
 * failure, reported as without an init (the child only leaves its errno). Then the init
 * closes every fd but 0-2 and keep_fd, as the execve would have: exec.fifo's write end
 * among them, so `start` sees its EOF when the process is executed, as without an init.
 * A pid namespace's init gets no signal it has no handler for, unless the signal is
 * blocked (blocked signals queue): all are blocked before the clone and taken with
 * sigwaitinfo (the caller keeps the stop signals blocked from its own clone on, so that
 * none is lost before this); the child restores the mask without the stop signals,
 * becomes a process group of its own and, when stdin is its controlling terminal, that
 * terminal's foreground group (so a ^C on a container's terminal reaches the process
 * once, not through the init a second time).
 *
 * The init keeps the credentials, capabilities and seccomp filter of the process: the
 * clone happens after all of them, in place of execve. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/base/error.h"

struct rc_reaper {
        int keep_fd; /* left open in the init (-1: none) */
        /* NULL, or called with the child's raw wait status right before the init exits */
        void (*on_exit)(void *arg, int wstatus);
        void *arg;
};

/* execve(path, argv, envp) in a child, and become its init. Returns only when the
 * execve (or the clone) failed: -1 with *err ("exec `PATH`: ...", as rc_process_exec),
 * nothing changed but a reaped child. */
int rc_reaper_exec(const struct rc_reaper *r, const char *path, char *const *argv, char *const *envp,
                   rc_error_t *err);

/* Pure: the signals the init sends to every process of its pid namespace. */
int rc_reaper_signal_is_stop(int sig);
/* Pure: the kill(2) target of a signal the init received: -1 (the whole pid namespace)
 * for a stop signal when it is PID 1, else the child's process group; the child for any
 * other signal. */
pid_t rc_reaper_signal_target(pid_t child, int sig, bool pid1);
