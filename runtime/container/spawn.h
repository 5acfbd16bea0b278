/* Internal: the two sides of `create` (see runtime/container/sync.h for the handshake).
 * spawn.c is the parent side, init.c the container init. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/container/container.h"
#include "runtime/isolation/namespaces.h"
#include "runtime/isolation/seccomp.h"
#include "specs/config.h"
#include "specs/state.h"

/* The start-up fast paths of one create, chosen once before the clone, each against the
 * slow path it replaces (a test forces those: rc_runtime.slow_paths, runtime/context.h).
 * The fast ones are taken only where nothing can tell the difference. */
struct rc_spawn_paths {
        /* The runtime makes the network namespace after the clone (rc_netns_deferred,
         * runtime/isolation/namespaces.h) and sends it (NETNS); slow: the clone makes it. */
        bool netns_deferred;
        /* With netns_deferred and a network: attached right after NETNS, while the init
         * mounts; slow: at HOOKS. */
        bool net_early;
        /* The init stops for HOOKS/HOOKS_DONE: for the prestart and createRuntime hooks, a
         * network attached at HOOKS, the state that createContainer/startContainer hooks
         * and a seccomp agent get. Without any of them skipped (the fast path): the init
         * goes straight on to READY. */
        bool hooks_sync;
        /* A noNewPrivileges filter that allows all the init still does is loaded before
         * the wait for `start` (rc_seccomp_allows_init_tail); slow: right before execve. */
        bool seccomp_before_start;
        /* With netns_deferred and no prestart, createRuntime or createContainer hook: the
         * devices, masked and read-only paths no later mount touches are made while the
         * network namespace is (runtime/rootfs/rootfs.h early_protect); slow: after all
         * mounts. */
        bool early_protect;
        /* Without hooks_sync: the init waits for RECORDED at the end of its setup (after
         * pivot_root, the terminal, the process attributes), so what the runtime does
         * after the clone (the network namespace, lo, the config copy, the state with the
         * pid) overlaps all of it; slow: right after its mounts. */
        bool recorded_late;
};

/* Pure: the paths for cfg, its namespace plan and its compiled filter (an empty
 * rc_seccomp_prog: none). slow_paths: enum rc_slow_path bits, 0 in production. */
void rc_spawn_paths_choose(const struct oci_config *cfg, const struct rc_ns_plan *plan,
                           const struct rc_seccomp_prog *seccomp, unsigned slow_paths,
                           struct rc_spawn_paths *ret);

/* What the init needs; prepared by the parent before the clone. */
struct rc_init_args {
        const struct oci_config *cfg;
        const struct rc_ns_plan *plan;
        const struct rc_logger *log;
        const char *bundle; /* the init's cwd while it sets up: relative sources resolve here */
        const char *rootfs; /* absolute */
        int sync_fd; /* child end of the socketpair */
        const char *id;
        int state_dirfd; /* O_PATH of <root>/<id>, to open exec.fifo */
        int lock_fd; /* the parent's locked state dir fd: closed first thing */
        int console_fd; /* connected --console-socket or -1 */
        unsigned preserve_fds;
        bool no_pivot;
        bool no_new_keyring;
        struct rc_seccomp_prog *seccomp; /* compiled by the parent; loaded right before exec */
        bool seccomp_before_start; /* rc_spawn_paths */
        bool hooks_sync; /* rc_spawn_paths */
        bool early_protect; /* rc_spawn_paths */
        bool recorded_late; /* rc_spawn_paths */
        const struct rc_overlay *overlay; /* NULL, or mounted on rootfs first (runtime/rootfs/overlay.h) */
        bool tie_to_caller; /* keep PR_SET_PDEATHSIG(SIGKILL) after READY */
        bool exec_check_at_start; /* no executable check at create: exec fails with 127/126 */
        bool netns_from_parent; /* not cloned into a new network namespace: NETNS brings it */
        bool init; /* stay as the process' small init (runtime/isolation/reaper.h); sync_fd stays for EXIT */
        bool cgroupns_after_move; /* not cloned into its new cgroup namespace: CGROUPNS says
                                   * the parent has moved it into its cgroup */
        const char *cgroups_at_clone; /* runtime/rootfs/rootfs.h; NULL: none */
        /* The runtime is not root: dumpable while it writes our id maps and attaches our
         * network (pasta), since /proc/PID of a non-dumpable process belongs to root
         * (runtime/isolation/namespaces.h); exec.fifo stays the runtime's, for `start`
         * to read (open_fifo) */
        bool unprivileged;
};

/* The init's whole life; never returns. Runs in the child of clone3. */
__attribute__((noreturn)) void rc_init_main(struct rc_init_args *a);

struct rc_spawn {
        const struct rc_runtime *rt;
        const struct oci_config *cfg;
        const struct rc_create_opts *opts;
        const char *rootfs;
        int state_dirfd; /* locked state dir */
        int relay_fd; /* without --console-socket: run's terminal relay socket, or -1 */
        /* the container's cgroup: the init is cloned into its directory, or moved in with
         * rc_cgroup_enter while it waits (rc_cgroup_enter_after_clone) */
        struct rc_cgroup *cgroup;
        struct oci_state *state; /* status "creating"; the spawn fills pid + start time */
        /* Called once the init runs (after its network namespace is sent), while it sets
         * itself up: work of the caller's that the init needs only after READY. */
        int (*during_setup)(void *arg, rc_error_t *err);
        void *during_setup_arg;
        /* run: the spawn opens exec.fifo's read end (into fifo_fd, -1 before) before the
         * init may reach the FIFO (before RECORDED), so that its open for writing does not
         * wait for us: once READY, the init goes on to execve without a round trip. */
        bool early_release;
        int fifo_fd;
        /* Set by the spawn: with opts->ext->init, our end of the socket, where the init's EXIT
         * comes (runtime/container/sync.h); else -1. */
        int exit_fd;
};

/* Clone the init, drive the handshake, run prestart/createRuntime hooks. On success the
 * init waits on exec.fifo and *ret_pid is its pid (in our pid namespace). On failure
 * the init has been killed and reaped. */
int rc_spawn_container(struct rc_spawn *s, pid_t *ret_pid, rc_error_t *err);

/* The prestart and createRuntime hooks, in the runtime's namespaces, given the state (the
 * init's pid, status creating); *ret_json (if not NULL): the document they got. Also
 * restore's (runtime/container/checkpoint.c), once CRIU has made the namespaces. */
int rc_spawn_runtime_hooks(const struct oci_config *cfg, const struct oci_state *st, char **ret_json,
                           size_t *ret_len, rc_error_t *err);
