/* Edits the runtime makes to a parsed config before the init reads it: the bind mounts
 * and environment variables it adds itself (a network's /etc/hosts, the sd_notify
 * socket). */
#pragma once

#include <stdbool.h>

#include "runtime/base/error.h"
#include "specs/config.h"

/* Append a bind mount of the host path `source` on `dest`, nosuid, nodev, noexec (and
 * read-only when ro). On failure the half-built entry stays owned by cfg. */
int rc_config_add_bind_mount(struct oci_config *cfg, const char *source, const char *dest, bool ro,
                             rc_error_t *err);

/* Set NAME=value in process.env ("NAME=value" in `entry`), replacing an entry of the
 * same name. */
int rc_config_set_env(struct oci_config *cfg, const char *entry, rc_error_t *err);

/* Set annotation `key` to `value`, replacing an annotation of the same key. */
int rc_config_set_annotation(struct oci_config *cfg, const char *key, const char *value, rc_error_t *err);
