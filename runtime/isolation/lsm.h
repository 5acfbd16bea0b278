/* Linux security modules: process.apparmorProfile and process.selinuxLabel are applied
 * to the exec of the container process where the host runs that module, and ignored
 * with a debug message where it does not (as runc and crun do). */
#pragma once

#include <stdbool.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

enum rc_lsm { RC_LSM_APPARMOR, RC_LSM_SELINUX };

/* Is the module active on this host? `sysroot` is "" in production ("/" prefix), a
 * temporary tree in unit tests. */
bool rc_lsm_enabled(const char *sysroot, enum rc_lsm lsm);

/* Pure: the text written to the exec attribute ("exec PROFILE" for AppArmor, the label
 * itself for SELinux). Returns 0, or -1 if it does not fit. */
int rc_lsm_exec_attr(enum rc_lsm lsm, const char *value, char *buf, size_t size);

/* Set the labels for the next execve of this process. Call right before exec: hooks
 * forked earlier must not inherit them. */
int rc_lsm_apply_exec(const struct oci_process *p, const struct rc_logger *log, rc_error_t *err);
