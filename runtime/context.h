/* What every layer of the runtime may know of the caller's choices: the state root, the
 * logger, the cgroup manager, the network state directory (runtime/net/network.h) and the
 * NOTIFY_SOCKET to relay. Header only; the lifecycle API is runtime/container/container.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "runtime/base/log.h"

/* How new containers get their cgroup (runtime/cgroup.h); existing containers always
 * use the cgroup recorded in their state. */
enum rc_cgroup_manager {
        RC_CGROUP_MANAGER_CGROUPFS, /* the default: cgroup v2 through /sys/fs/cgroup */
        RC_CGROUP_MANAGER_SYSTEMD, /* a transient systemd scope per container (cgroup v2) */
        RC_CGROUP_MANAGER_DISABLED, /* no cgroup; limits are not enforced (one warning) */
};

struct rc_runtime {
        const char *root; /* state root, NULL: rc_default_state_root() */
        struct rc_logger log;
        enum rc_cgroup_manager cgroup_manager;
        const char *net_state_dir; /* networks and leases, NULL: RC_DEFAULT_NET_STATE_DIR (network.h) */
        /* Detach from a network leaves the host end of the veth to a child it does not wait
         * for (RTM_DELLINK returns only after an RCU barrier, 20-30 ms); the address, port
         * claims and nft elements are still released before detach returns. `sandbox`
         * sets it: its container is dead by then, and a one-shot run should not wait. */
        bool async_link_delete;
        /* The caller's NOTIFY_SOCKET (create, run, start; runtime/notify.h), NULL: none. */
        const char *notify_socket;
};

#define RC_DEFAULT_ROOT "/run/run-container"

/* The default state root: RC_DEFAULT_ROOT for root; for any other caller
 * $XDG_RUNTIME_DIR/run-container (runc's and crun's rule), RC_DEFAULT_ROOT where
 * XDG_RUNTIME_DIR is unset. Decided once per process (runtime/base/userdirs.c). */
const char *rc_default_state_root(void);

/* The state root in force: `root`, or the default when it is NULL or "". */
static inline const char *rc_state_root_path(const char *root)
{
        return root != NULL && root[0] != '\0' ? root : rc_default_state_root();
}
