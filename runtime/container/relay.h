/* The foreground side of `run` and `exec`: while the runtime waits for the process it
 * forwards every catchable signal to it, reaps it (and, as a subreaper, the orphans that
 * reparent to us), and, when the process has a terminal but no --console-socket was
 * given, relays that terminal itself:
 *
 *   an internal socketpair stands in for the console socket; the pty master comes back
 *   over it; the caller's stdin (when a tty) goes to raw mode; stdin -> master and
 *   master -> stdout are copied with poll(); SIGWINCH becomes TIOCSWINSZ on the master;
 *   the terminal is restored on the way out. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <termios.h>

#include "runtime/base/error.h"
#include "specs/config.h"

/* Block every catchable signal (not SIGKILL, SIGSTOP or the synchronous faults) and
 * return a signalfd (O_CLOEXEC) for them; *old receives the previous mask. Children
 * forked afterwards must restore an empty mask. */
int rc_relay_block_signals(sigset_t *old, rc_error_t *err);

/* A connected AF_UNIX stream pair (O_CLOEXEC) that stands in for --console-socket:
 * ret[0] stays with the runtime, ret[1] goes to the process that opens the pty. */
int rc_relay_console_pair(int ret[2], rc_error_t *err);

struct rc_relay_buf {
        char data[8192];
        size_t off, len;
};

struct rc_relay {
        int master; /* pty master (O_NONBLOCK once started), -1 when no terminal is relayed */
        int in_fd, out_fd; /* the caller's stdin and stdout */
        bool in_open; /* still reading in_fd */
        bool raw; /* in_fd is a tty we put in raw mode: `saved` restores it */
        struct termios saved;
        struct rc_relay_buf to_master;
};

/* The caller's terminal size (in_fd, else out_fd) as the size the pty gets when it is
 * created, before the process runs: rc_relay_start sets the same size only after the
 * master came back, by when an exec'd process may already have read 0x0. Left as it is
 * when neither fd is a terminal with a size. */
void rc_relay_initial_size(int in_fd, int out_fd, struct oci_console_size *size);

/* Take `master` (ownership passes to r; -1 for no terminal), put in_fd in raw mode if
 * it is a tty and copy its window size to the pty. */
int rc_relay_start(struct rc_relay *r, int master, int in_fd, int out_fd, rc_error_t *err);

/* Restore the caller's terminal and close the master; safe to call twice. */
void rc_relay_stop(struct rc_relay *r);

/* Wait for `pid`, a child of ours, through a pidfd: forward the signals read from `sfd`
 * to it (SIGWINCH becomes a window size change while a terminal is relayed), reap other
 * children on SIGCHLD, relay the terminal when r has one (r may be NULL). After the
 * process exits, the output still queued on the pty is copied out. *ret_status is the
 * exit status, 128+N when killed by signal N. */
int rc_relay_wait(struct rc_relay *r, pid_t pid, int sfd, int *ret_status, rc_error_t *err);

/* rc_relay_wait with a deadline and the process's resource usage (for `sandbox`). */
struct rc_relay_wait_opts {
        unsigned timeout_ms; /* 0: none; counted from the call */
        void (*on_timeout)(void *data); /* called once when it expires; the wait goes on */
        /* NULL, or asked first about every signal read (not SIGCHLD, nor SIGWINCH while a
         * terminal is relayed): returns true when it dealt with the signal, which is then
         * not forwarded. Setting *ret_arm_ms (-1 on entry) arms, once, a second deadline
         * that many ms from now, which calls on_stop_timeout */
        bool (*on_signal)(void *data, int sig, int *ret_arm_ms);
        void (*on_stop_timeout)(void *data);
        void *data;
        int *ret_wstatus; /* NULL, or the raw wait status */
        struct rusage *ret_rusage; /* NULL, or wait4's usage of the process */
};
int rc_relay_wait_ex(struct rc_relay *r, pid_t pid, int sfd, const struct rc_relay_wait_opts *o,
                     int *ret_status, rc_error_t *err);

/* Pure: the exit status the runtime passes on for a wait(2) status. */
int rc_relay_exit_status(int wstatus);
