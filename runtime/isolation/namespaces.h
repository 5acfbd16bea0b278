/* Namespaces: which ones the clone creates, which ones the init joins, and the parent's
 * writes of id maps. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "specs/config.h"

struct rc_ns_plan {
        int clone_flags; /* CLONE_NEW* of namespaces without a path */
        int join_fd[OCI_NS_COUNT]; /* fds (O_CLOEXEC) of namespaces to join, -1 if none */
        bool time_offsets; /* new time ns with offsets: unshare, write, fork */
        bool direct; /* nothing to join, no offsets: clone3(clone_flags) makes the init */
        bool needs_fork; /* !direct and a pid or time ns is new or joined */
};

/* Opens the namespace paths (errors name the path and the JSON field). Pure apart from
 * those opens; rc_ns_plan_close closes them. */
int rc_ns_plan_make(const struct oci_config *c, struct rc_ns_plan *ret, rc_error_t *err);
void rc_ns_plan_close(struct rc_ns_plan *p);

/* Child: setns() into every namespace of the plan, user first. */
int rc_ns_join(const struct rc_ns_plan *p, rc_error_t *err);

/* Parent: write /proc/PID/uid_map and gid_map (and "deny" to setgroups when the runtime
 * is not root in the parent namespace). A caller other than root writes a map of its own
 * id itself and has any other map written by RC_NEWUIDMAP/RC_NEWGIDMAP (Debian's uidmap:
 * the ranges of /etc/subuid and /etc/subgid); the init must be dumpable meanwhile, so
 * that its /proc/PID belongs to the caller (rc_init_args.dumpable_for_idmaps). */
#define RC_NEWUIDMAP "/usr/bin/newuidmap"
#define RC_NEWGIDMAP "/usr/bin/newgidmap"
int rc_ns_write_idmaps(pid_t pid, const struct oci_config *c, rc_error_t *err);

/* Child, right after unshare(CLONE_NEWTIME): write /proc/self/timens_offsets. */
int rc_ns_write_time_offsets(const struct oci_config *c, rc_error_t *err);

/* Pure: render an id map as written to uid_map ("0 1000 1\n..."). */
int rc_ns_format_idmap(const struct oci_idmap *m, size_t n, char *buf, size_t size);

/* The init is cloned without CLONE_NEWNET when rc_netns_deferred() says so, and the
 * runtime makes the network namespace itself right after the clone (rc_netns_make),
 * while the init makes its first mounts on another CPU: creating a network namespace
 * (loopback, sysctl tables) costs more than all the mounts of a default bundle, and in
 * the clone it is paid before the init runs at all. The init joins it (setns) before its
 * first mount that can see the network namespace and before anything else that does
 * (runtime/rootfs/rootfs.h: join_netns). Only for a new network namespace without a new user
 * namespace (which must own it), and only when the runtime can return to its own. */
bool rc_netns_deferred(const struct rc_ns_plan *p);
