/* Process attributes, each a small step: the container's own (hostname/domainname,
 * sysctl, oomScoreAdj, rlimits, scheduler, ioPriority, personality) applied by init.c
 * (and the per-process ones by `exec`), and those of the pre-exec steps (user, cwd,
 * executable lookup, fd hygiene, exec) that runtime/isolation/preexec.h puts in order. */
#pragma once

#include <stdbool.h>

#include "runtime/base/error.h"
#include "specs/config.h"

int rc_process_set_hostname(const struct oci_config *c, rc_error_t *err);
int rc_process_apply_sysctl(const struct oci_config *c, rc_error_t *err); /* via /proc/sys */
int rc_process_set_oom_score_adj(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_rlimits(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_scheduler(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_io_priority(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_personality(const struct oci_config *c, rc_error_t *err);

/* Whether /proc/self/setgroups says "deny" (user namespace without setgroups); a
 * missing file (kernels before 3.19) means setgroups is allowed. */
int rc_process_setgroups_denied(bool *ret, rc_error_t *err);
/* Refuse additional gids that setgroups cannot set (setgroups_denied). */
int rc_process_check_groups(const struct oci_user *u, bool setgroups_denied, rc_error_t *err);
/* setgroups(additionalGids) unless denied, setresgid, setresuid: nothing else, so that
 * it can run under a seccomp filter. */
int rc_process_set_ids(const struct oci_user *u, bool setgroups_denied, rc_error_t *err);
/* All of it in one: the setgroups check, the ids, umask (0022 when unset). */
int rc_process_set_user(const struct oci_process *p, rc_error_t *err);

/* chdir(cwd) and check that the result lies inside the current root (CVE-2024-21626:
 * a leaked host fd as cwd shows as "(unreachable)"). */
int rc_process_chdir(const struct oci_process *p, rc_error_t *err);
/* The check alone; `filtered`: under a seccomp filter, a refused getcwd skips it. */
int rc_process_check_cwd(const char *cwd, bool filtered, rc_error_t *err);

/* Find args[0] like execvp would, using PATH from process.env (default
 * "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"). Errors say
 * `executable file "x" not found in $PATH` or why it cannot be executed. */
int rc_process_find_executable(const struct oci_process *p, char **ret_path, rc_error_t *err);

/* Mark every fd >= first as close-on-exec (close_range CLOSE_RANGE_CLOEXEC with an
 * fallback walk of /proc/self/fd), so only 0-2 and the preserved fds survive exec. */
int rc_process_cloexec_from(int first, rc_error_t *err);

/* execve(path, argv, envp). Returns only on failure. */
int rc_process_exec(const char *path, char *const *argv, char *const *envp, rc_error_t *err);
