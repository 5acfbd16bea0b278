/* sd_notify through the container, as runc does it (podman run --sdnotify=container):
 * when the runtime itself runs with NOTIFY_SOCKET set,
 *
 *   create: <state dir>/notify (0755) is bind-mounted read-only on /run/notify and
 *           NOTIFY_SOCKET=/run/notify/notify.sock is set in the process's environment;
 *   start:  binds a datagram socket at <state dir>/notify/notify.sock (0777) before it
 *           releases the init, then waits until the container sends READY= (or its init
 *           exits) and forwards it, with MAINPID=<init pid>, to the caller's socket.
 *
 * `run` does both. A container created without NOTIFY_SOCKET has no notify directory:
 * its start does not wait. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

#define RC_NOTIFY_ENV "NOTIFY_SOCKET"

/* create: the directory, the bind mount and the variable (cfg is amended). */
int rc_notify_prepare(struct oci_config *cfg, int state_dirfd, rc_error_t *err);

/* start: *ret_fd is the bound socket, or -1 when the container has no notify directory. */
int rc_notify_listen(int state_dirfd, int *ret_fd, rc_error_t *err);

/* start: wait on fd for READY= from the container while pid lives; forward it. */
int rc_notify_relay(int fd, pid_t pid, const char *host_socket, rc_error_t *err);

/* `run` in the foreground relays in a thread of its own, so that its wait for the
 * container (signals forwarded, the terminal relayed) is not held up by a container that
 * never says READY; runc does the same. rc_notify_bg_start takes fd. */
struct rc_notify_bg {
        pthread_t thread;
        bool running;
        int fd, pidfd;
        pid_t pid;
        const char *host_socket;
        rc_error_t err;
};
int rc_notify_bg_start(struct rc_notify_bg *bg, int fd, pid_t pid, const char *host_socket, rc_error_t *err);
/* Once the init is gone (the relay then ends by itself); a relay error becomes a warning. */
void rc_notify_bg_join(struct rc_notify_bg *bg, const struct rc_logger *log);
