/* linux.memoryPolicy: the NUMA memory policy of the container's init (set_mempolicy(2)),
 * inherited by every process it starts and kept across execve. */
#pragma once

#include "runtime/base/error.h"
#include "specs/config.h"

/* Nothing to do when the config has no memoryPolicy. Errors name the JSON path. */
int rc_mempolicy_apply(const struct oci_memory_policy *m, rc_error_t *err);
