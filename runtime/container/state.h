/* Containers' state on disk: <root>/<id>/ holds
 *   state.json   the extended OCI state (written atomically: temp file + rename)
 *   config.json  the config as it was at create (hooks and delete never re-read the bundle)
 *   exec.fifo    present from create until start (the init blocks opening it for write)
 *   init         a symbolic link whose target, "PID START_TIME [CGROUP]", records the init
 *                once it runs (one symlinkat: it exists whole or not at all). A second
 *                record beside state.json, so that a container whose state.json is lost
 *                or corrupt is still found, killed (delete --force) and cleaned up.
 * Every file of it is read through rc_state_read_file: a regular file only (a FIFO, a
 * device, a directory or a symbolic link there is refused without blocking), at most
 * RC_STATE_FILE_MAX bytes, the one limit create checks the config and the state against.
 * Entries of the root whose name is not a valid container id are internal (the sandbox
 * journals, the seccomp cache): no id can name them.
 * The directory fd is flock()ed while a command works on the container. A container
 * whose directory exists but whose state says "creating" was interrupted mid-create; its
 * pid, when recorded, comes with its start time so a recycled pid is never taken for it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/context.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/state.h"

#define RC_STATE_FILE "state.json"
#define RC_CONFIG_FILE "config.json"
#define RC_FIFO_FILE "exec.fifo"
#define RC_INIT_RECORD "init"
#define RC_STATE_FILE_MAX JSON_MAX_INPUT

/* Open (creating with mode 0700 if needed, parents included) the state root. */
int rc_state_root_open(const char *root, int *ret_rootfd, rc_error_t *err);

/* Create <root>/<id> exclusively ("container \"ID\" already exists") and lock it. */
int rc_state_dir_create(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err);

/* Open and lock an existing one ("container \"ID\" does not exist"). */
int rc_state_dir_open(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err);

/* Remove the files we create and the directory itself; missing pieces are fine. */
int rc_state_dir_remove(int rootfd, const char *id, int dirfd, rc_error_t *err);

/* Refuses a state over RC_STATE_FILE_MAX: no later command could read it. */
int rc_state_write(int dirfd, const struct oci_state *s, rc_error_t *err);
int rc_state_read(int dirfd, const char *id, struct oci_state **ret, rc_error_t *err);

/* The size check of rc_state_write, made at create before anything exists, so that a
 * config whose state later commands could not read is refused, naming `origin`. */
int rc_state_check_size(const struct oci_state *s, const char *origin, rc_error_t *err);

/* A file of the state directory (see above); status ENOENT when it is missing. */
int rc_state_read_file(int dirfd, const char *name, char **ret, size_t *ret_len, rc_error_t *err);

/* The config saved at create: the one loader every command uses (status ENOENT when
 * there is none). _of opens <root>/<id> first. */
int rc_state_load_config(int dirfd, const char *id, struct oci_config **ret, rc_error_t *err);
int rc_state_load_config_of(const char *root, const char *id, struct oci_config **ret, rc_error_t *err);

/* The init record (see above). rc_state_read_init: 0 with *ret filled (free
 * ret->cgroup_path), -1 if there is none or it cannot be parsed. */
struct rc_init_record {
        pid_t pid;
        uint64_t start_time;
        char *cgroup_path; /* NULL if none */
};
int rc_state_record_init(int dirfd, pid_t pid, uint64_t start_time, const char *cgroup_path,
                         rc_error_t *err);
int rc_state_read_init(int dirfd, struct rc_init_record *ret);
/* s->pid = pid with its start time, recorded: the init record first (delete finds the
 * init through it even if state.json is lost), then the state. */
int rc_state_set_pid(int dirfd, struct oci_state *s, pid_t pid, rc_error_t *err);

/* Container inits that hold a state directory of this root: every live process named
 * "rc:init" (the init before `start`, which keeps an fd on its state directory to open
 * exec.fifo) with an fd on a directory that is an entry of the root, or was one and has
 * been removed. The one way to find an init whose state is gone or never said its pid. */
struct rc_init_proc {
        pid_t pid;
        uint64_t start_time;
        dev_t dev; /* its state directory */
        ino_t ino;
        bool removed; /* the directory is no longer in the root */
        char *name; /* its name in the root */
};
int rc_state_find_inits(int rootfd, struct rc_init_proc **ret, size_t *ret_n, rc_error_t *err);

/* Call fn for every process in /proc; a negative return of fn stops the walk (-1). */
int rc_proc_each(int (*fn)(pid_t pid, void *data, rc_error_t *err), void *data, rc_error_t *err);
void rc_init_procs_free(struct rc_init_proc *v, size_t n);

/* Write --pid-file: the pid, through a temp file with an unpredictable name (O_EXCL) renamed
 * over path. Only a missing path or a regular file is replaced: anything else (a device,
 * a FIFO, a directory, a symbolic link) is refused. */
int rc_pid_file_write(const char *path, pid_t pid, rc_error_t *err);

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
