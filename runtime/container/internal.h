/* Internal interface of the container layer: the cgroup steps of runtime/container/cgroup.c
 * that ops.c (kill, delete, state) uses. */
#pragma once

#include <stdbool.h>

#include "runtime/base/error.h"
#include "runtime/context.h"
#include "specs/state.h"

/* kill --all: signal every process of the container's cgroup (the init last). */
int rc_cgroup_signal_all(const struct oci_state *s, int sig, rc_error_t *err);
/* delete: record the final usage in the state directory (RC_STATS_FILE) when
 * record_stats (for poststop hooks that ask `events --stats`: the state directory goes
 * right after them), then remove the cgroup. Nothing to do without a cgroup. */
int rc_cgroup_finish(const struct rc_runtime *rt, int state_dirfd, const struct oci_state *s,
                     bool record_stats, rc_error_t *err);
/* A live container whose cgroup is frozen is "paused". */
void rc_cgroup_status_overlay(struct oci_state *s);
