/* Capabilities and no_new_privs, applied around the uid switch:
 *   rc_caps_plan      before anything changes (and before a seccomp filter is loaded):
 *                     the sets the kernel knows, checked; an ambient capability that
 *                     cannot be raised (not permitted and inheritable) is dropped from
 *                     the plan with a warning, as runc does.
 *   rc_caps_prepare   before setresuid to `uid`: drop from the bounding set what is not
 *                     in `bounding`, keep permitted caps across a change to a non-zero
 *                     uid (KEEPCAPS; a switch to uid 0 clears nothing).
 *   rc_caps_set       after setresuid: set effective/permitted/inheritable exactly
 *                     (capset(2) itself: nothing allocates), clear KEEPCAPS if set, raise the
 *                     ambient set. Without process.capabilities it empties the
 *                     inheritable and ambient sets (CVE-2022-29162) and keeps the rest.
 *   rc_caps_apply     rc_caps_plan + rc_caps_set for a present set, without a logger;
 *                     a no-op when process.capabilities is absent. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

struct rc_caps_sets {
        bool present; /* process.capabilities was given */
        uint64_t effective, permitted, inheritable, ambient;
};

int rc_caps_plan(const struct oci_capabilities *c, const struct rc_logger *log, struct rc_caps_sets *ret,
                 rc_error_t *err);
int rc_caps_prepare(const struct oci_capabilities *c, uid_t uid, rc_error_t *err);
int rc_caps_set(const struct rc_caps_sets *s, rc_error_t *err);
int rc_caps_apply(const struct oci_capabilities *c, rc_error_t *err);
int rc_set_no_new_privs(rc_error_t *err);
