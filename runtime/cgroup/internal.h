/* What the cgroup drivers share inside runtime/cgroup/ (not for other layers). */
#pragma once

#include "runtime/cgroup/cgroup.h"

#define RC_CGROUP_SMALL_FILE_MAX (64 * 1024) /* the bound on reading a cgroup or /proc file */

/* The cgroupfs driver's steps on an existing directory (cg->dirfd), which the systemd
 * driver runs on its scope: refuse a frozen cgroup, check the controllers r needs, write
 * r's limits and attach its device program. */
int rc_cgroup_v2_configure(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err);
/* Open cg->path under cg->mount into cg->dirfd (left at -1 if it does not exist). */
int rc_cgroup_open_dir(struct rc_cgroup *cg, rc_error_t *err);
/* The cgroup2 path pid is in ("/a/b", from /proc/PID/cgroup; ENOENT: none). */
int rc_cgroup_path_of_pid(pid_t pid, char **ret, rc_error_t *err);
