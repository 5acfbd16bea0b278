/* Process attributes applied by the container init (and later `exec`), each a small step
 * called from init.c in this order:
 *   hostname/domainname, sysctl, oomScoreAdj, rlimits, scheduler, ioPriority,
 *   personality, [caps: prepare], user (groups, gid, uid, umask), [caps: apply],
 *   cwd, executable lookup, fd hygiene, exec. */
#pragma once

#include <stdbool.h>

#include "runtime/error.h"
#include "specs/config.h"

int rc_process_set_hostname(const struct oci_config *c, rc_error_t *err);
int rc_process_apply_sysctl(const struct oci_config *c, rc_error_t *err); /* via /proc/sys */
int rc_process_set_oom_score_adj(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_rlimits(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_scheduler(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_io_priority(const struct oci_process *p, rc_error_t *err);
int rc_process_apply_personality(const struct oci_config *c, rc_error_t *err);

/* setgroups(additionalGids), setresgid, setresuid, umask (0022 when unset). setgroups is
 * skipped when /proc/self/setgroups says "deny". */
int rc_process_set_user(const struct oci_process *p, rc_error_t *err);

/* chdir(cwd) and check that the result lies inside the current root (CVE-2024-21626:
 * a leaked host fd as cwd shows as "(unreachable)"). */
int rc_process_chdir(const struct oci_process *p, rc_error_t *err);

/* Find args[0] like execvp would, using PATH from process.env (default
 * "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"). Errors say
 * `executable file "x" not found in $PATH` or why it cannot be executed. */
int rc_process_find_executable(const struct oci_process *p, char **ret_path, rc_error_t *err);

/* Mark every fd >= first as close-on-exec (close_range CLOSE_RANGE_CLOEXEC with an
 * fallback walk of /proc/self/fd), so only 0-2 and the preserved fds survive exec. */
int rc_process_cloexec_from(int first, rc_error_t *err);

/* execve(path, args, env). Returns only on failure. */
int rc_process_exec(const char *path, const struct oci_process *p, rc_error_t *err);
