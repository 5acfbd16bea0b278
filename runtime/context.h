/* What every layer of the runtime may know of the caller's choices: the state root, the
 * logger, the cgroup manager, the network state directory (runtime/net/network.h) and the
 * NOTIFY_SOCKET to relay. Header only; the lifecycle API is runtime/container/container.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "runtime/base/log.h"
#include "runtime/base/userdirs.h" /* RC_DEFAULT_ROOT, rc_default_state_root */

/* How new containers get their cgroup (runtime/cgroup/cgroup.h); existing containers always
 * use the cgroup recorded in their state. */
enum rc_cgroup_manager {
        RC_CGROUP_MANAGER_CGROUPFS, /* the default: cgroup v2 through /sys/fs/cgroup */
        RC_CGROUP_MANAGER_SYSTEMD, /* a transient systemd scope per container (cgroup v2) */
        RC_CGROUP_MANAGER_DISABLED, /* no cgroup; limits are not enforced (one warning) */
};

/* The start-up fast paths, each with the slow path it replaces. A test forces the slow
 * ones through RC_TEST_SLOW_PATHS (tests/integration/README.md), read once by cli/ into
 * rc_runtime.slow_paths; 0, the production value, leaves every choice as before. */
enum rc_slow_path {
        RC_SLOW_NETNS = 1u << 0, /* clone the init into its network namespace (rc_netns_deferred) */
        RC_SLOW_HOOKS = 1u << 1, /* always stop for HOOKS/HOOKS_DONE (rc_spawn_paths.hooks_sync) */
        RC_SLOW_SECCOMP =
                1u << 2, /* a noNewPrivileges filter loads after `start` (rc_seccomp_allows_init_tail) */
        RC_SLOW_CREATED = 1u << 3, /* run writes the state "created" before releasing the init */
        RC_SLOW_PROTECT = 1u << 4, /* devices, masked and read-only paths only after all mounts */
        RC_SLOW_SETUP = 1u << 5, /* create writes its config copy before the clone, not during setup */
        RC_SLOW_RELEASE = 1u << 6, /* run opens exec.fifo only once READY, the init waits for it there */
        RC_SLOW_EXEC = 1u << 7, /* exec clones a stage that joins the namespaces and clones the process */
        RC_SLOW_RECORDED = 1u << 8, /* the init waits for RECORDED right after its mounts, not at READY */
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
        /* The caller's NOTIFY_SOCKET (create, run, start; runtime/container/notify.h), NULL: none. */
        const char *notify_socket;
        unsigned slow_paths; /* enum rc_slow_path bits; 0 outside tests */
        /* migrate --post-copy on one host: the cgroup (a state's cgroup path) the frozen
         * source is in while a copy is restored into it; a delete through this runtime of
         * a container in it kills that container's init only and leaves the cgroup. */
        const char *shared_cgroup;
};

/* The state root in force: `root`, or the default when it is NULL or "". */
static inline const char *rc_state_root_path(const char *root)
{
        return root != NULL && root[0] != '\0' ? root : rc_default_state_root();
}
