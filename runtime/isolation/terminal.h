/* Terminals: with process.terminal the container init opens a pty in the container's
 * own /dev/pts, sends the master to the --console-socket over SCM_RIGHTS and makes the
 * slave its controlling terminal and stdio. */
#pragma once

#include "runtime/base/error.h"
#include "specs/config.h"

/* Parent, before the clone: connect to the AF_UNIX stream socket at path. */
int rc_console_socket_connect(const char *path, rc_error_t *err);

/* Open /dev/ptmx of the current root, unlock it, apply consoleSize. Returns master and
 * slave fds (O_CLOEXEC) and the slave's path ("/dev/pts/N", malloc'ed). */
int rc_terminal_create(const struct oci_console_size *size, int *ret_master, int *ret_slave,
                       char **ret_slave_path, rc_error_t *err);

/* Send `master` over the connected socket with SCM_RIGHTS (payload: the pty name, as runc). */
int rc_terminal_send(int sockfd, int master, const char *name, rc_error_t *err);

/* Receive an fd sent with rc_terminal_send (used by tests and by `run`'s relay). */
int rc_terminal_recv(int sockfd, int *ret_fd, rc_error_t *err);

/* TIOCSCTTY on slave, dup2 it onto 0, 1 and 2. The caller leads a session of its own
 * (setsid: the init's first step, exec's process before it enters the root). */
int rc_terminal_make_controlling(int slave, rc_error_t *err);
