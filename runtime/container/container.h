/* The public API of the runtime library: one function per lifecycle operation. cli/
 * parses arguments, calls these and prints the error; transitions are enforced here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/context.h"
#include "runtime/rootfs/overlay.h" /* struct rc_overlay: part of the create request */

struct oci_config;
#include "specs/state.h"

struct rc_create_opts {
        const char *bundle; /* absolute path of the bundle */
        const char *config_path; /* NULL: <bundle>/config.json */
        const char *pid_file; /* NULL: none */
        const char *console_socket;
        unsigned preserve_fds; /* fds 3 .. 3+N-1 are passed to the container */
        /* the first listen_fds of them are socket activation's: the process gets
         * LISTEN_FDS=listen_fds and LISTEN_PID=1 (0: none) */
        unsigned listen_fds;
        bool no_pivot;
        bool no_new_keyring;
        const struct rc_create_ext *ext; /* NULL for the OCI commands */
};

/* The side effects create makes outside the container's state directory. */
enum rc_create_effect {
        RC_EFFECT_CGROUP, /* arg: the cgroup path, announced before its mkdir */
        RC_EFFECT_NETWORK, /* arg: the container id, announced before any network step */
};

/* What only `sandbox` (runtime/sandbox/sandbox.h) asks of create; all optional. */
struct rc_create_ext {
        const char *config_data; /* an in-memory config.json, used instead of a file */
        size_t config_len;
        /* config_data already parsed (and validated): lent to create, which then uses (and
         * may amend, e.g. with network bind mounts) it instead of parsing the text again;
         * the caller frees it after the container is gone */
        struct oci_config *config_parsed;
        const struct rc_overlay *overlay; /* an overlayfs root on root.path (runtime/rootfs/overlay.h) */
        /* Told of each effect before it is made (the sandbox's journal); a failure aborts
         * the create before the effect. */
        int (*record_effect)(void *data, enum rc_create_effect kind, const char *arg, rc_error_t *err);
        void *effect_data;
        bool tie_to_caller; /* the init keeps PR_SET_PDEATHSIG(SIGKILL) after create */
        bool exec_check_at_start; /* a missing executable fails the process (127/126), not create */
        /* PID 1 is a small init of ours, the process its child (runtime/isolation/reaper.h): it reaps
         * orphans, passes signals on, and exits with the process' status */
        bool init;
};

/* runc's rule: ^[\w+-\.]+$, not "." or "..", at most 1024 bytes. */
int rc_validate_id(const char *id, rc_error_t *err);

int rc_container_create(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                        rc_error_t *err);
int rc_container_start(const struct rc_runtime *rt, const char *id, rc_error_t *err);

struct rc_run_opts {
        bool detach; /* return once started */
        bool keep; /* do not delete the container after it exits */
        bool no_subreaper; /* do not become a subreaper for the container's orphans */
        /* For `sandbox`; all optional: */
        unsigned timeout_ms; /* 0: none; when it expires every process of the container is killed */
        /* SIGINT, SIGTERM, SIGHUP and SIGQUIT are for every process of the container, not
         * only its init (with create's `init`, that init passes them on to all); the first
         * one arms stop_timeout_ms, after which every process gets SIGKILL */
        bool stop_all;
        unsigned stop_timeout_ms;
        struct rc_run_result *result; /* filled once the process exited */
        /* called then, before the container is deleted (its cgroup still exists) */
        void (*before_delete)(const struct rc_runtime *rt, const char *id, const struct rc_run_result *res,
                              void *data);
        void *data;
};

struct rc_run_result {
        pid_t pid; /* the container init */
        bool exited; /* the fields below are set */
        bool timed_out; /* killed because timeout_ms expired */
        int wait_status; /* as wait4(2) returned it */
        struct rusage rusage; /* the init's and its reaped descendants' (wait4) */
        struct timespec started, ended; /* CLOCK_MONOTONIC: start, and the exit seen */
        bool has_process_status; /* create's `init`: the init told the process' own status */
        int process_wait_status; /* then: as wait4(2) returned it to the init */
        int stop_signal; /* stop_all: the first stop signal passed on (0: none) */
        bool stop_killed; /* stop_timeout_ms expired: every process got SIGKILL */
};

/* create + start; unless detach: forward signals, relay the terminal when the process
 * has one and no console socket was given, wait, delete (unless keep). *ret_status is
 * the exit status (128+N when killed by signal N); 0 with detach. */
int rc_container_run(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                     const struct rc_run_opts *ro, int *ret_status, rc_error_t *err);

int rc_container_state(const struct rc_runtime *rt, const char *id, struct oci_state **ret, rc_error_t *err);
/* sig: signal number; all: every process of the container, not just the init. */
int rc_container_kill(const struct rc_runtime *rt, const char *id, int sig, bool all, rc_error_t *err);
/* force: kill a running/created container first. Runs poststop hooks. */
int rc_container_delete(const struct rc_runtime *rt, const char *id, bool force, rc_error_t *err);
/* The same with what the caller already holds: rootfd, the open state root, and cfg, the
 * container's config (NULL: read the one saved at create); for run. */
int rc_container_delete_known(const struct rc_runtime *rt, int rootfd, const char *id,
                              const struct oci_config *cfg, bool force, rc_error_t *err);
/* delete --force for run, after it reaped the init: s, the state it wrote, is used as it
 * is (status stopped) instead of reading state.json and asking /proc again, when the
 * state directory's init record still names that init (otherwise as
 * rc_container_delete_known). */
int rc_container_delete_reaped(const struct rc_runtime *rt, int rootfd, const char *id,
                               const struct oci_config *cfg, struct oci_state *s, rc_error_t *err);
/* Kill every container init under the root that no state describes: its state directory
 * was removed, or its state does not record it (rc_state_find_inits); *ret_killed counts
 * them. Containers whose lock is held (a command at work) are left alone. */
int rc_container_gc_inits(const struct rc_runtime *rt, size_t *ret_killed, rc_error_t *err);
/* All containers (status refreshed), sorted by id. Free with rc_container_list_free. */
int rc_container_list(const struct rc_runtime *rt, struct oci_state ***ret, size_t *ret_n, rc_error_t *err);
void rc_container_list_free(struct oci_state **v, size_t n);

/* ---- checkpoint and restore through CRIU (runtime/container/checkpoint.c) ---------- */

/* CRIU's --manage-cgroups-mode; DEFAULT is runc's (CRIU's "soft"). */
enum rc_criu_cg_mode {
        RC_CRIU_CG_DEFAULT,
        RC_CRIU_CG_SOFT,
        RC_CRIU_CG_FULL,
        RC_CRIU_CG_STRICT,
        RC_CRIU_CG_IGNORE,
};

/* What checkpoint and restore share (runc's flags of the same names). */
struct rc_criu_opts {
        const char *image_path; /* absolute */
        const char *work_path; /* absolute, NULL: the image directory (CRIU's logs go there) */
        bool tcp_established;
        bool ext_unix_sk;
        bool shell_job;
        bool file_locks;
        enum rc_criu_cg_mode cg_mode;
        bool lazy_pages; /* runc's --lazy-pages (see rc_checkpoint_opts.page_server) */
        bool lazy_local; /* restore with lazy_pages: `criu lazy-pages` reads the pages the
                          * image's pagemaps mark lazy from the image itself (no page
                          * server; migrate --lazy-parent) */
        bool empty_netns; /* runc's --empty-ns network: the network namespaces are made
                           * empty, their interfaces, addresses and routes not dumped */
        int hold_fd; /* > 0: kept open in the criu process while it lives (a lock); 0: none;
                      * with lazy_local the `criu lazy-pages` holds it too, until it ends */
        /* restore with lazy_local: the `criu lazy-pages` daemon's pid is stored here (the
         * caller's child if it is a subreaper: see rc_criu_lazy_pages_start); NULL: none */
        pid_t *lazy_pid;
        /* test hook (migrate, RC_TEST_STOP_LAZY_DAEMON in the environment): the lazy_local
         * daemon is stopped (SIGSTOP) at CRIU's post-restore, once the tasks' memory is in
         * place but for the lazy pages and before the daemon starts copying those: the
         * restored tasks wait on their first lazy page until a SIGCONT, or a SIGKILL of
         * the daemon (earlier, it would stop the restore itself: the restorer's mremaps
         * wait for the daemon to take their userfaultfd events) */
        bool test_stop_lazy_daemon;
};

struct rc_checkpoint_opts {
        struct rc_criu_opts criu;
        const char *parent_path; /* a previous pre-dump, relative to image_path; NULL: none */
        bool leave_running; /* the container keeps running (and existing) after the dump */
        bool pre_dump; /* only the memory, with dirty tracking; the container keeps running */
        bool auto_dedup;
        const char *page_server; /* "ADDRESS:PORT": memory pages go there; NULL: none. With
                                  * criu.lazy_pages the dump serves them there itself, until
                                  * restore --lazy-pages has fetched them all */
        bool has_status_fd; /* status_fd gets a NUL byte (then is closed) once a lazy dump
                             * serves its pages (runc's --status-fd) */
        int status_fd;
        /* migrate --post-copy: the state root the container is being restored under while
         * this lazy dump serves its memory. Once the dump ends (CRIU killed the tasks), a
         * cgroup the restored copy there is in too (same host, same path) is left to it:
         * the source's delete removes its state and network attachment only. */
        const char *handover_root;
};

/* Dump a running container into opts->criu.image_path (created 0700 if missing). Unless
 * leave_running or pre_dump the container is then deleted, as runc does. If the dump
 * fails the container keeps running and nothing is left: an image directory made here is
 * removed, and the error carries CRIU's own reason (its log's first error). */
int rc_container_checkpoint(const struct rc_runtime *rt, const char *id,
                            const struct rc_checkpoint_opts *opts, rc_error_t *err);

struct rc_restore_opts {
        struct rc_criu_opts criu;
        bool detach; /* return once restored; else wait for it, delete it, return its status */
};

/* Create container `id` from a checkpoint: the create path of rc_container_create (state,
 * cgroup with the config's limits, network namespace with its network), then CRIU brings
 * the processes back into them, running. o->bundle's config is the container's config.
 * *ret_status as rc_container_run's (0 with detach). */
int rc_container_restore(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                         const struct rc_restore_opts *ro, int *ret_status, rc_error_t *err);

/* One round of `migrate` (runtime/container/migrate.c). */
struct rc_migrate_round {
        unsigned round; /* 1, 2, ...; the last one is the final dump */
        bool final;
        /* post-copy: not a round but the transfer that followed the restore (told once
         * the source's dump ended; pages_lazy: what it moved) */
        bool transfer;
        bool stats; /* the counts are CRIU's own (its stats-dump); else pages is the size of
                     * the round's pages-*.img files and the others are 0 */
        /* memory pages this round wrote (CRIU's pages_written): in round 1 every private
         * page of the tasks; after it, with CRIU's dirty tracking (track_mem), only those
         * dirtied (or mapped) since the round before */
        uint64_t pages;
        uint64_t pages_skipped; /* unchanged since the round before: not written again, its
                                 * image has them (pages_skipped_parent) */
        uint64_t pages_lazy; /* post-copy: left with the source's page server, moved after
                              * the restore (counted in the final image's pagemaps: CRIU
                              * writes a lazy dump's statistics only at its end) */
        /* --lazy-parent, the final dump: the pages the restore leaves to the local `criu
         * lazy-pages` (0: none, the restore reads them all first); with transfer: what
         * that daemon moved, told once it ended (ms: since the final dump began) */
        uint64_t pages_lazy_local;
        const char *note; /* --lazy-parent: why the images could not be folded (NULL: they were) */
        unsigned ms; /* how long the round took (with sending it to a to_unix destination) */
        uint64_t sent_bytes; /* to a to_unix destination: the stream's bytes of this round */
};

struct rc_migrate_opts {
        const char *to_root; /* the destination: another state root (absolute) */
        /* or: a `migrate-receive` listening on this unix socket (runtime/container/migrate_wire.h);
         * then the images are made at the source (work_path's default is under the source's
         * root) and streamed there, round by round */
        const char *to_unix;
        const char *work_path; /* images and logs; NULL: <root>/@migrate-<id>.XXXXXX, removed after */
        unsigned max_rounds; /* pre-dump rounds at most (0: 4) */
        /* post-copy: no pre-dump rounds; the final dump leaves the memory with the frozen
         * source, whose CRIU serves it on a loopback page server; the restore at the
         * destination runs the container at once and `criu lazy-pages` moves the memory
         * as it faults and in the background (to_unix: over the page channel,
         * migrate_wire.h); then the source goes */
        bool post_copy;
        /* pre-copy, then a restore that runs the container before the memory is back:
         * each round's pages folded into the first pre-dump's pages image as it arrives
         * (in place), the final image's pagemaps rewritten to take every page from there,
         * its own (the pages dirtied since the last round) restored first and the rest by
         * a local `criu lazy-pages` from that file as the container faults on them and in
         * the background; to_root only. If the images cannot be folded (a page the first
         * pre-dump has not), the restore reads them all first, as without it. The
         * migrate then waits for the daemon (it is the migrate's child: a subreaper) and
         * keeps the images until it ends: a daemon that fails before the memory is
         * complete leaves the restored copy on zero pages, so that copy is killed and the
         * final image restored again, eagerly (an error says so: the container runs at
         * the destination from its checkpoint). */
        bool lazy_parent;
        bool test_stop_lazy_daemon; /* see rc_criu_opts.test_stop_lazy_daemon */
        /* test hook (tests/vm, RC_TEST_STOP_IN_REMOVAL in the environment): once its
         * record is retired, the migrate removes the `restoring` marker and stops itself
         * (SIGSTOP), for a test to kill it where a removal had gone part of the way */
        bool test_stop_in_removal;
        bool tcp_established;
        bool ext_unix_sk;
        bool file_locks;
        /* told of each round as it ends */
        void (*on_round)(void *data, const struct rc_migrate_round *r);
        void *data;
};

/* Live migration to another state root: pre-dump rounds with dirty-memory tracking while
 * the container runs, until the dirty set stops shrinking (or max_rounds), then the final
 * dump (the container stops here) and the restore under to_root with the same id, bundle
 * and config; *ret_downtime_ms is from the final dump's start to the restored container
 * running. If the restore fails, the container is restored at the source again. */
int rc_container_migrate(const struct rc_runtime *rt, const char *id, const struct rc_migrate_opts *o,
                         unsigned *ret_downtime_ms, rc_error_t *err);

/* The destination of a `migrate --to unix:PATH` (runtime/container/migrate_receive.c). */
struct rc_migrate_receive_opts {
        const char
                *listen_path; /* the unix socket to make (nothing or a stale socket there), removed after */
        const char *bundle; /* the bundle here (absolute); NULL: the source's bundle path */
        /* give up on a source that sends nothing for this long once it connected (its
         * hello, a round's frames, a post-copy page channel); 0: RC_MIGRATE_RECEIVE_TIMEOUT_S */
        unsigned timeout_s;
        void (*on_listening)(void *data); /* told once the socket accepts connections */
        void *data;
};

struct rc_migrate_received {
        char id[256]; /* the container's id ("" before the source said it) */
        pid_t pid; /* its init here */
        uint64_t bytes; /* image bytes received */
        unsigned files;
        uint64_t page_bytes; /* post-copy: the page channel's bytes (both ways) after the restore */
};

#define RC_MIGRATE_RECEIVE_TIMEOUT_S 120

/* Accept one migration on listen_path (from a peer of this uid): check that the id is
 * free here and that the bundle with its rootfs and the container's network exist
 * (else refuse: the source then dumps nothing), take the image rounds into <root>/@migrate-<id>.XXXXXX,
 * restore the container from them with the source's config and this bundle, detached, and tell the source
 * how it went. Post-copy: the memory comes after the restore over the page channel
 * (migrate_wire.h); this returns once it all came. The work directory and the socket go
 * in every case. */
int rc_container_migrate_receive(const struct rc_runtime *rt, const struct rc_migrate_receive_opts *o,
                                 struct rc_migrate_received *ret, rc_error_t *err);

/* Settle what migrates that died left in state root rt->root (their work directories,
 * runtime/container/migrate_gc.c): afterwards the container runs at its source or here,
 * never both nor neither while an image is left. id: that container's only (NULL: all).
 * *ret_n (may be NULL): how many were settled. Work directories in use are left; with
 * an id, waited for (a criu a killed migrate left finishes first). */
int rc_container_gc_migrations(const struct rc_runtime *rt, const char *id, size_t *ret_n, rc_error_t *err);

/* Settle what plain checkpoints that died mid-dump left in state root rt->root
 * (runtime/container/checkpoint_gc.c): the containers they froze run again (one paused
 * before the checkpoint stays paused), the network lock CRIU left in their network
 * namespace goes. Containers a command is at work on are left. *ret_n: how many. */
int rc_container_gc_checkpoints(const struct rc_runtime *rt, size_t *ret_n, rc_error_t *err);

/* ---- through the cgroup (runtime/container/cgroup.c) -------------------------------- */

int rc_container_update(const struct rc_runtime *rt, const char *id, const struct oci_resources *r,
                        rc_error_t *err);
int rc_container_pause(const struct rc_runtime *rt, const char *id, rc_error_t *err);
int rc_container_resume(const struct rc_runtime *rt, const char *id, rc_error_t *err);
/* The container's pids (from its cgroup), sorted. */
int rc_container_pids(const struct rc_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
                      rc_error_t *err);
/* Live usage, or the final usage recorded by delete once the cgroup is gone. */
int rc_container_stats(const struct rc_runtime *rt, const char *id, struct rc_cgroup_stats *ret,
                       rc_error_t *err);

enum rc_event_type { RC_EVENT_STATS, RC_EVENT_OOM };
typedef int (*rc_event_fn)(void *data, enum rc_event_type type, const struct rc_cgroup_stats *stats,
                           rc_error_t *err);
/* Until the container stops: an RC_EVENT_OOM each time memory.events counts a new OOM
 * (watched with inotify), RC_EVENT_STATS every interval_ms (0: never). */
int rc_container_events(const struct rc_runtime *rt, const char *id, unsigned interval_ms, rc_event_fn fn,
                        void *data, rc_error_t *err);
