/* `run-container sandbox`: run one job in a fresh, limited, throw-away container and
 * always clean up.
 *
 * No bundle is written: the config is the default spec (its seccomp profile and
 * capabilities) with the options applied, built in memory (config.c), parsed
 * and validated like any config.json, and handed to the normal create/start/wait/delete
 * (rc_container_run). The root is always an overlayfs (runtime/rootfs/overlay.h), mounted by
 * the container init in its own mount namespace: lower = --rootfs or the image's layers,
 * upper on a tmpfs (or --upper DIR, or on disk under the sandbox directory for
 * --commit), none with --read-only. The base is never written.
 *
 * Files, under the state root (rt->root):
 *   @sandbox/ID.journal   the side effects (runtime/sandbox/journal.h), removed last
 *   @sandbox/ID/rootfs    the overlay's mount point (root.path)
 *   @sandbox/ID/overlay   the tmpfs mount point, or upper/ + work/ on disk for --commit
 *   ID/                   the container's ordinary state directory; its annotations
 *                         carry "run-container.sandbox" so `list` tells them apart
 *
 * The container init keeps PR_SET_PDEATHSIG(SIGKILL) and is pid 1 of its own pid
 * namespace: if the sandbox process dies, so does the whole job; `gc` (also run, bounded,
 * at the start of every sandbox) removes what is left. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/container/container.h"
#include "runtime/image/image.h"

#define RC_ANNOTATION_SANDBOX "run-container.sandbox"
#define RC_SANDBOX_GC_TIMEOUT_MS 2000
#define RC_SANDBOX_STOP_TIMEOUT_MS 10000 /* podman's and docker's default */
#define RC_SANDBOX_TMPFS_SIZE (1024 * 1024 * 1024) /* see rc_sandbox_opts.unlimited_tmpfs */
#define RC_SANDBOX_CPU_PERIOD 100000 /* microseconds: the cpu.max period --cpus is given in */

struct rc_image;

struct rc_sandbox_opts {
        const char *id; /* NULL: "sandbox-" + 12 random hex digits */
        /* the base: exactly one of these */
        const char *rootfs; /* a directory, used read-only as the lower layer */
        const char *image; /* "DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker://REF", "[registry:]NAME"
                              (image.h) */
        const char *image_cache; /* NULL: rc_image_cache_default() */
        struct rc_pull_opts pull; /* for a docker:// image */
        const char *upper; /* NULL: tmpfs; else DIR/upper and DIR/work keep the changes */
        bool read_only; /* no upper layer at all */
        int64_t upper_size; /* bytes: the size of the tmpfs upper layer; 0: not set */
        const char *commit; /* "DEST[:TAG]": the changes as a new layer in an image layout */
        bool commit_on_failure; /* commit when the job's exit status is not 0 too */

        /* the process */
        char *const *args; /* NULL-terminated; empty: the image's entrypoint + cmd */
        char *const *env; /* "K=V", applied after the image's and the env files' */
        char *const *env_files; /* files of K=V lines ('#' comments, blank lines) */
        const char *workdir; /* NULL: the image's, else "/" */
        const char *user; /* "UID[:GID]" or "NAME[:GROUP]" (from the base's /etc/passwd) */
        const char *hostname; /* NULL: the id, cut to 63 characters */
        bool terminal;
        char *const *volumes; /* "SRC:DST[:ro|rw]" */
        /* "DST[:OPTIONS]", podman's: OPTIONS as for mount -t tmpfs (size=BYTES, mode=,
         * uid=, gid=, nr_inodes=, ro, noexec, ...) after our nosuid,nodev,mode=1777 */
        char *const *tmpfs;
        /* Without a cgroup, no memory limit covers the pages the job writes to a tmpfs:
         * each tmpfs without a size (the upper layer, --tmpfs) gets RC_SANDBOX_TMPFS_SIZE
         * (--memory's value when given), and an explicitly unlimited one (size=0) is
         * refused, unless this is set */
        bool unlimited_tmpfs;
        char *const *cap_add, *const *cap_drop; /* "NET_ADMIN", "CAP_NET_ADMIN" or "ALL" */
        bool seccomp_unconfined;
        const char *net; /* NULL or "none": an empty netns; "host"; else a network name */
        char *const *ports; /* "HOST:CONTAINER[/PROTO]" (a network only) */

        /* limits: 0 means not set */
        int64_t memory; /* bytes */
        int64_t memory_swap; /* memory + swap, bytes; -1: unlimited */
        uint64_t cpu_quota; /* microseconds per RC_SANDBOX_CPU_PERIOD (--cpus 1.5 -> 150000) */
        int64_t pids_limit;
        uint64_t io_weight; /* 10 .. 1000 */
        char *const *ulimits; /* "NAME=SOFT[:HARD]", NAME as in "nofile" or "RLIMIT_NOFILE" */
        unsigned timeout_ms; /* 0: none */

        /* SIGINT, SIGTERM, SIGHUP and SIGQUIT to the sandbox go to every process of the job;
         * stop_timeout_ms after the first, every process gets SIGKILL */
        unsigned stop_timeout_ms; /* the command line's default: RC_SANDBOX_STOP_TIMEOUT_MS */
        bool no_init; /* the job is PID 1 itself, not the child of a small init (reaper.h) */

        bool no_gc; /* skip the opportunistic gc at the start */
};

/* Stop signals (runtime/base/stopsig.h) during the setup: the caller blocks them from its
 * start; one that arrives before the container is created abandons the setup at the next
 * safe point (between steps; a pull or an unpack polls for it), everything made so far is
 * undone (a partial download stays in the cache for the next pull), and the result is
 * reason "signaled", job_started false, status 128+N. Later ones go to the job. */

enum rc_sandbox_reason {
        RC_SANDBOX_EXITED,
        RC_SANDBOX_SIGNALED,
        RC_SANDBOX_OOM_KILLED,
        RC_SANDBOX_TIMEOUT,
        RC_SANDBOX_ERROR, /* run-container itself failed (exit status 125) */
};

/* The --report document. Unknown values are flagged (has_*) and written as null. */
struct rc_sandbox_report {
        char *id;
        const char *rootfs, *image; /* the base used */
        int exit_code; /* the sandbox's own exit status */
        int signal; /* the signal that ended the job's process (0: none) */
        int stop_signal; /* the stop signal the sandbox received and passed on (0: none) */
        bool stop_timeout_expired; /* then the job did not end within --stop-timeout: SIGKILL */
        bool job_started; /* false: the setup failed or a stop signal ended it first */
        enum rc_sandbox_reason reason;
        char *error; /* reason == RC_SANDBOX_ERROR */
        uint64_t wall_time_us;
        bool has_cpu;
        uint64_t user_cpu_us, system_cpu_us;
        bool has_memory_peak;
        uint64_t memory_peak; /* bytes: the cgroup's memory.peak */
        const char *memory_peak_null; /* !has_memory_peak: why (a static string) */
        uint64_t max_rss; /* bytes: wait4's, the largest single process of the job */
        bool has_pids_peak;
        uint64_t pids_peak;
        bool has_io;
        uint64_t io_read_bytes, io_write_bytes;
        bool has_oom_kills;
        uint64_t oom_kills;
        bool cgroup; /* the usage comes from the container's cgroup (else from wait4) */
};

const char *rc_sandbox_reason_name(enum rc_sandbox_reason r); /* "exited", "oom-killed", ... */

/* Run the job. Returns 0 with *ret_status set to the exit status (the job's own, 128+N
 * for signal N or for stop signal N before the job started, 126/127 when the command
 * cannot be executed / is not found) and the
 * report filled (free with rc_sandbox_report_clear), or -1 with *err (exit status 125;
 * the report then says why). Cleanup always runs. */
int rc_sandbox_run(const struct rc_runtime *rt, const struct rc_sandbox_opts *o, int *ret_status,
                   struct rc_sandbox_report *report, rc_error_t *err);

/* The report as one JSON object (pretty, trailing newline). */
int rc_sandbox_report_json(const struct rc_sandbox_report *r, char **ret, size_t *ret_len, rc_error_t *err);
void rc_sandbox_report_clear(struct rc_sandbox_report *r);

/* ---- the config (runtime/sandbox/config.c) ------------------------------------------ */

/* The config.json document for a sandbox: the default spec with the options applied.
 * img (may be NULL) supplies the default command, env, workdir and user; `lower` (bottom
 * first, NULL-terminated) is searched for /etc/passwd and /etc/group when the user is a
 * name; root_path is the overlay mount point; tmpfs_size (0: none) the size of a --tmpfs
 * that gives none. The document is compact (it is parsed
 * right away, and parsed it is returned in *ret_cfg unless that is NULL). */
int rc_sandbox_config(const struct rc_sandbox_opts *o, const struct rc_image *img, const char *const *lower,
                      const char *id, const char *root_path, uint64_t tmpfs_size, char **ret,
                      size_t *ret_len, struct oci_config **ret_cfg, rc_error_t *err);
