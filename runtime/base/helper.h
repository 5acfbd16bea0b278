/* Helper programs the runtime executes itself (never a user's hook): newuidmap and
 * newgidmap for id maps beyond the caller's own id, pasta for a rootless container's
 * network. Each is named by an absolute path compiled into the runtime (no PATH lookup)
 * and runs with an empty environment, an empty signal mask, stdin and stdout on
 * /dev/null and stderr on a pipe whose text becomes the error; every fd of the runtime
 * is O_CLOEXEC, so it inherits nothing else. */
#pragma once

#include "runtime/base/error.h"

/* Runs path with argv (argv[0] included) to completion. Fails naming path: not
 * executable, exited non-zero or killed (with what it wrote to stderr, one line). */
int rc_helper_run(const char *path, char *const argv[], rc_error_t *err);
