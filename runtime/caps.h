/* Capabilities (libcap) and no_new_privs, applied around the uid switch:
 *   rc_caps_prepare   before setresuid: drop from the bounding set what is not in
 *                     `bounding`, keep permitted caps across the uid change (KEEPCAPS).
 *   rc_caps_apply     after setresuid: set effective/permitted/inheritable exactly,
 *                     clear KEEPCAPS, raise the ambient set.
 * When process.capabilities is absent both leave the capabilities alone. */
#pragma once

#include "runtime/error.h"
#include "specs/config.h"

int rc_caps_prepare(const struct oci_capabilities *c, rc_error_t *err);
int rc_caps_apply(const struct oci_capabilities *c, rc_error_t *err);
int rc_set_no_new_privs(rc_error_t *err);
