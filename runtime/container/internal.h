/* Internal interface of the container layer: the cgroup steps of runtime/container/cgroup.c
 * that ops.c (kill, delete, state) uses, and what checkpoint.c shares with ops.c. */
#pragma once

#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/container/container.h"
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

/* delete with the state directory (dirfd) already open and locked by the caller, as
 * rc_container_delete_known otherwise; the lock stays the caller's to drop. */
int rc_container_delete_locked(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                               const struct oci_config *cfg, bool force, rc_error_t *err);
/* Whether `path` (a cgroup path as a state has it) is rt->shared_cgroup: a frozen
 * post-copy source's, which a delete through rt leaves alone. */
static inline bool rc_cgroup_shared(const struct rc_runtime *rt, const char *path)
{
        return rt->shared_cgroup != NULL && path != NULL && strcmp(rt->shared_cgroup, path) == 0;
}
/* The same after a post-copy dump whose cgroup the restored copy has taken (see
 * rc_checkpoint_opts.handover_root): once the init CRIU killed is gone, the network
 * attachment and the state go, the cgroup (and what runs in it) stays. */
int rc_container_delete_handed_over(const struct rc_runtime *rt, int rootfd, int dirfd, const char *id,
                                    const struct oci_config *cfg, rc_error_t *err);

/* CRIU's half of restore (runtime/container/checkpoint.c); the create path does the rest. */
struct rc_criu_restore {
        const struct oci_config *cfg;
        const struct rc_restore_opts *opts;
        const char *bundle;
        const char *rootfs; /* absolute */
        const char *console_socket; /* a terminal's master goes there; NULL: none */
        const char *cgroup_path; /* the cgroup the create path made; NULL: none */
        int netns_fd; /* the network namespace the create path made, or -1 */
        /* Called once CRIU has made the namespaces (the init's pid; runc runs the prestart
         * and createRuntime hooks there), and once the tasks exist, before they run. */
        int (*namespaces_ready)(void *arg, pid_t pid, rc_error_t *err);
        int (*restored)(void *arg, pid_t pid, rc_error_t *err);
        void *arg;
};
/* Bring the checkpointed processes back; *ret_pid: the init (the caller's child if the
 * caller is a subreaper: rc_criu_swrk). */
int rc_criu_restore(const struct rc_criu_restore *r, pid_t *ret_pid, rc_error_t *err);
/* restore, before the create path takes an address: the container asks for the one it
 * had (kept in the image) unless its config names one or another container holds it. */
int rc_criu_restore_address(const struct rc_runtime *rt, struct oci_config *cfg, const char *id,
                            const struct rc_restore_opts *opts, rc_error_t *err);

/* migrate's work directory (runtime/container/migrate.c) and its record. */
#define RC_MIGRATE_WORK_PREFIX "@migrate-"
#define RC_MIGRATE_RECORD "migrate.json"
/* The record renamed once the migrate is settled (the container runs where it should):
 * a directory with it is only removed. A work directory is removed in readdir order,
 * which on tmpfs is newest first: `restoring` went before final/inventory.img, and a
 * migrate (or gc) killed between the two left a record that asked for a restore at the
 * source while the destination ran the container. */
#define RC_MIGRATE_DONE "migrate.done"
/* Made just before the restore at the destination begins, removed if it fails: what the
 * destination then has of the container's id may be migrate's to clean. */
#define RC_MIGRATE_RESTORING "restoring"

/* Work directory `workfd` done with: its record renamed to RC_MIGRATE_DONE, before
 * anything of it is removed. */
int rc_migrate_work_retire(int workfd, const char *work, rc_error_t *err);

/* Restore the final image of migrate work directory `work` (work/final, work/config.json)
 * as container `id` under state root `root`, detached, with flags' CRIU options. */
int rc_migrate_restore(const struct rc_runtime *rt, const char *root, const char *id, const char *work,
                       const char *bundle, const struct rc_criu_opts *flags, rc_error_t *err);

/* A criu killed after it locked the network of the container's own network namespace
 * (its nftables table) leaves the lock: it goes (runtime/container/migrate_gc.c). A
 * namespace the container joined by path is not its own to change; none at all is the
 * runtime's. Container `id` of state root `root`. */
int rc_criu_unlock_network(const struct rc_runtime *rt, const char *root, const char *id, rc_error_t *err);

/* Thaw container `id` (it must be paused): resume without settling a killed checkpoint. */
int rc_container_thaw(const struct rc_runtime *rt, const char *id, rc_error_t *err);

/* A plain checkpoint's marker in the container's state directory (checkpoint_gc.c): made
 * and flock()ed by checkpoint while it dumps, held by its criu too, removed when the dump
 * ends; its content is the container's status when the checkpoint began ("paused" or
 * "running"). */
#define RC_CHECKPOINT_MARKER "checkpoint"
int rc_checkpoint_mark(int dirfd, bool paused, int *ret_fd, rc_error_t *err);
void rc_checkpoint_unmark(int dirfd, int *fd);
/* Settle the marker a killed checkpoint left in state directory dirfd (locked by the
 * caller): the network lock goes, a container the dump froze is thawed (one that was
 * paused before stays so), the marker goes. A marker still locked (a live checkpoint or
 * the criu a killed one left) is waited for with `wait`, else left (0). 1: settled one,
 * *ret_runs (may be NULL): the container runs now (thawed, or running with its network
 * unlocked). */
int rc_checkpoint_settle(const struct rc_runtime *rt, int dirfd, const char *id, bool wait, bool *ret_runs,
                         rc_error_t *err);
