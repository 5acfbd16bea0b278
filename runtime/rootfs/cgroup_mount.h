/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "runtime/base/error.h"
#include "runtime/rootfs/rootfs.h"

/* The v1 layout at a "cgroup" mount's target (dstfd: the directory, open) on a host whose
 * /sys/fs/cgroup is not cgroup2 (see cgroup_mount.c). Called in the init before pivot_root,
 * when the host's /sys/fs/cgroup and /proc/self/cgroup are still visible. */
int rc_cgroup_mount_v1_layout(const struct rc_rootfs_ctx *ctx, const struct oci_mount *m, int dstfd,
                              rc_error_t *err);
