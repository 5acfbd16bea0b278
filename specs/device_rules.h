/* Device rules (linux.resources.devices): the list in force and which rule decides an
 * access. Accesses are BPF_DEVCG_ACC_* bits (linux/bpf.h), the kernel's own encoding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"
#include "specs/config.h"

/* The rules in force: the config's, then the devices the runtime always creates
 * (null, zero, full, random, urandom, tty, console, ptmx, pts) and mknod of any node, as
 * runc appends them. Later rules win. A node of linux.devices gets no rule of its own:
 * the config's rules decide about it like about any other (as in runc). */
int rc_device_rules(const struct oci_device_rule *rules, size_t n, struct oci_device_rule **ret,
                    size_t *ret_n, rc_error_t *err);
/* Pure: the index of the rule that decides `access` (BPF_DEVCG_ACC_*) to the node, as the
 * program from rc_cgroup_devices_program would; -1 when no rule matches (denied). */
long rc_device_rule_for(const struct oci_device_rule *rules, size_t n, char type, int64_t major,
                        int64_t minor, unsigned access);
/* Pure: do the rules allow every access to every device? */
bool rc_device_rules_allow_all(const struct oci_device_rule *rules, size_t n);
/* The access string of a rule ("rwm", "" meaning all) as BPF_DEVCG_ACC_* bits. */
unsigned rc_device_access_bits(const char *access);
/* An "a *:*" rule: it resets everything before it. */
bool rc_device_rule_is_reset(const struct oci_device_rule *r);

#define RC_DEVICE_RULES_MAX 4096
