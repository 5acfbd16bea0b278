/* Containers' state on disk: <root>/<id>/ holds
 *   state.json   the extended OCI state (written atomically: temp file + rename)
 *   config.json  the config as it was at create (hooks and delete never re-read the bundle)
 *   exec.fifo    present from create until start (the init blocks opening it for write)
 * The directory fd is flock()ed while a command works on the container. A container
 * whose directory exists but whose state says "creating" was interrupted mid-create; its
 * pid, when recorded, comes with its start time so a recycled pid is never taken for it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/error.h"
#include "specs/state.h"

#define RC_STATE_FILE "state.json"
#define RC_CONFIG_FILE "config.json"
#define RC_FIFO_FILE "exec.fifo"

/* Open (creating with mode 0700 if needed, parents included) the state root. */
int rc_state_root_open(const char *root, int *ret_rootfd, rc_error_t *err);

/* Create <root>/<id> exclusively ("container \"ID\" already exists") and lock it. */
int rc_state_dir_create(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err);

/* Open and lock an existing one ("container \"ID\" does not exist"). */
int rc_state_dir_open(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err);

/* Remove the files we create and the directory itself; missing pieces are fine. */
int rc_state_dir_remove(int rootfd, const char *id, int dirfd, rc_error_t *err);

int rc_state_write(int dirfd, const struct oci_state *s, rc_error_t *err);
int rc_state_read(int dirfd, const char *id, struct oci_state **ret, rc_error_t *err);

/* Compute the live status into s->status: "creating" stays creating while its pid is
 * alive (else stopped); otherwise pid alive with the recorded start time -> created
 * if exec.fifo exists, running if not (paused once cgroups say frozen); else stopped. */
int rc_state_refresh(int dirfd, struct oci_state *s, rc_error_t *err);

/* Start time (clock ticks since boot, field 22 of /proc/PID/stat). */
int rc_proc_start_time(pid_t pid, uint64_t *ret, rc_error_t *err);

/* True if pid exists and has this start time (0 accepts any). */
bool rc_pid_matches(pid_t pid, uint64_t start_time);

/* Container ids under root (sorted). */
int rc_state_list_ids(int rootfd, char ***ret, size_t *ret_n, rc_error_t *err);

/* RFC 3339 UTC timestamp with nanoseconds, e.g. "2026-11-21T15:30:00.123456789Z". */
char *rc_now_rfc3339(void);
