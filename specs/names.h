/* Name tables: strings from config.json and the command line lowered to kernel constants.
 * All lookups are exact unless said otherwise and return 0 on success, -1 if unknown. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "specs/config.h"

/* Namespaces: "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time". */
int oci_ns_from_name(const char *name, enum oci_ns_type *ret);
const char *oci_ns_name(enum oci_ns_type t); /* OCI name, "network" */
const char *oci_ns_proc_name(enum oci_ns_type t); /* /proc/PID/ns entry, "net" */
int oci_ns_clone_flag(enum oci_ns_type t); /* CLONE_NEWNET ... */

/* Signals, as kill(1)/runc accept them: "KILL", "SIGKILL", "kill", "9", "RTMIN+3",
 * "SIGRTMAX-1". Numbers must be valid signals (1.._NSIG-1). */
int oci_signal_from_string(const char *s, int *ret);
const char *oci_signal_name(int sig); /* "SIGKILL"; NULL for real-time/unknown */

/* Capabilities: "CAP_CHOWN" ... "CAP_CHECKPOINT_RESTORE" (case-sensitive, as the spec). */
#define OCI_CAP_LAST 40
int oci_cap_from_name(const char *name, int *ret);
const char *oci_cap_name(int cap);

/* rlimits: "RLIMIT_NOFILE" ... */
int oci_rlimit_from_name(const char *name, int *ret);
const char *oci_rlimit_name(int resource);

/* Mount options. Applies one option from the spec's list (ro, rw, nosuid, suid, nodev,
 * dev, noexec, exec, sync, async, dirsync, remount, mand, nomand, atime, noatime,
 * diratime, nodiratime, relatime, norelatime, strictatime, nostrictatime, bind, rbind,
 * private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable, silent,
 * loud, lazytime, nolazytime, iversion, noiversion, nosymfollow, symfollow, and the
 * recursive rro, rrw, rnosuid, rsuid, rnodev, rdev, rnoexec, rexec, rnoatime, ratime,
 * rrelatime, rnorelatime, rstrictatime, rnostrictatime, rnodiratime, rdiratime,
 * rnosymfollow, rsymfollow) to the
 * lowered fields of *m. Returns 1 if the option was a known flag, 0 if it is a
 * filesystem option for `data` (the caller collects those). */
int oci_mount_option_apply(const char *opt, struct oci_mount *m);

/* rootfsPropagation / propagation names: "private", "rprivate", "shared", "rshared",
 * "slave", "rslave", "unbindable", "runbindable" -> MS_* (| MS_REC). */
int oci_propagation_from_name(const char *name, unsigned long *ret);

/* seccomp */
int oci_seccomp_action_from_name(const char *name, enum oci_seccomp_action *ret); /* "SCMP_ACT_ERRNO" */
const char *oci_seccomp_action_name(enum oci_seccomp_action a);
int oci_seccomp_op_from_name(const char *name, enum oci_seccomp_op *ret); /* "SCMP_CMP_EQ" */
const char *oci_seccomp_op_name(enum oci_seccomp_op op);
/* "SECCOMP_FILTER_FLAG_TSYNC", "_LOG", "_SPEC_ALLOW", "_WAIT_KILLABLE_RECV" -> bit */
int oci_seccomp_flag_from_name(const char *name, unsigned *ret);
/* architectures the spec names: "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", ... */
bool oci_seccomp_arch_known(const char *name);

/* Hook phases: "prestart", "createRuntime", ... ("unknown" out of range). */
const char *oci_hook_phase_name(enum oci_hook_phase phase);

/* Iteration helpers for `features` output: NULL-terminated lists of the names above. */
extern const char *const oci_hook_phase_names[]; /* index = enum oci_hook_phase */
extern const char *const oci_ns_names[];
extern const char *const oci_cap_names[]; /* index = capability number */
extern const char *const oci_mount_option_names[];
extern const char *const oci_seccomp_action_names[];
extern const char *const oci_seccomp_op_names[];
extern const char *const oci_seccomp_flag_names[];
/* linux.memoryPolicy's modes (index = the kernel's MPOL_* value) and mode flags
 * (1 << (13 + index)); specs/parse_mempolicy.c. */
extern const char *const oci_mempolicy_mode_names[];
extern const char *const oci_mempolicy_flag_names[];
extern const char *const oci_seccomp_arch_names[];
