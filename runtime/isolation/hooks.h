/* OCI hooks: each hook is fork+exec'ed with the state JSON on stdin, its own args and
 * env, killed after its timeout. The caller runs them in the right namespaces: prestart,
 * createRuntime and poststart/poststop from the runtime, createContainer and
 * startContainer from inside the container. */
#pragma once

#include <stddef.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

const char *rc_hook_phase_name(enum oci_hook_phase phase); /* "createRuntime" ... */

/* Run every hook of a list in order. A failure is
 * "<phase> hook `path`: exited with status N" (or killed by / timed out after): with
 * keep_going NULL the first one stops the list and is returned; otherwise each is logged
 * there as a warning and the next hook runs (runtime.md, poststart and poststop: "the
 * runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the
 * hook had succeeded"). A hook without "env" gets the runtime's environment (as runc
 * and crun). Hook stdout/stderr are inherited. */
int rc_hooks_run(const struct oci_hook_list *l, enum oci_hook_phase phase, const char *state_json,
                 size_t state_len, const struct rc_logger *keep_going, rc_error_t *err);
