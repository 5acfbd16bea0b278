/* cgroup v2 resource control.
 *
 * A container's cgroup is driven through a small ops table with three implementations:
 * "cgroupfs" (writes the cgroup2 filesystem at /sys/fs/cgroup directly), "systemd" (the
 * cgroup is a transient scope unit systemd makes over D-Bus, with the limits as unit
 * properties and in its delegated files: runtime/cgroup/systemd.c) and "disabled" (no
 * cgroup: every limit request is refused or skipped with a warning, every query answers
 * "this container has no cgroup"). Which one a new container gets is a pure decision
 * (rc_cgroup_decide):
 *
 *   manager   host /sys/fs/cgroup   config asks for limits   result
 *   systemd   not cgroup2           any                      error: needs cgroup v2
 *   systemd   cgroup2               any                      a scope, limits applied
 *   disabled  any                   yes                      no cgroup, one warning
 *   disabled  any                   no                       no cgroup
 *   cgroupfs  not cgroup2           yes                      error naming the controllers
 *   cgroupfs  not cgroup2           no                       no cgroup (never a write to
 *                                                            the host's v1/hybrid trees)
 *   cgroupfs  cgroup2               any                      a cgroup, limits applied
 *
 * "Limits" means everything in linux.resources except `devices`: cgroup v2 enforces
 * device rules with a BPF program attached to the cgroup, so on a host without cgroup
 * v2 there is nothing to attach it to. The default spec carries a deny-all device rule,
 * and failing every default config there would help no one: device rules alone do not
 * require a cgroup. Instead `create` refuses, without a cgroup, a config whose rules deny
 * a node the container could still open (rc_devices_check_unenforced, runtime/rootfs/devices.c:
 * linux.devices entries and bind-mounted host nodes); only a process with CAP_MKNOD
 * could still make others.
 *
 * Paths follow runc: linux.cgroupsPath absolute is taken under the cgroup2 mount as is;
 * relative is joined to the parent of the runtime's own cgroup (its own cgroup most
 * likely holds processes, so controllers could not be enabled below it); absent, it
 * defaults to "run-container/<id>" relative in the same way. With the systemd driver
 * linux.cgroupsPath is "slice:prefix:name" as in runc and crun (the unit
 * "prefix-name.scope" in that slice; absent: "system.slice:run-container:<id>"). The
 * state keeps the path (relative to the mount, with a leading '/') and whether systemd
 * owns it (systemdCgroup); every later operation (kill, delete, pause, update, ...) uses
 * them, whatever the command-line manager says. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/context.h"
#include "specs/config.h"
#include "specs/device_rules.h"
#include "specs/json.h"
#include "specs/state.h"

#define RC_CGROUP_MOUNT "/sys/fs/cgroup"
#define RC_CGROUP_DEFAULT_PARENT "run-container"
#define RC_STATS_FILE "stats.json" /* final usage, written by delete before the rmdir */

/* Controllers, as bits. */
enum {
        RC_CG_CPU = 1 << 0,
        RC_CG_CPUSET = 1 << 1,
        RC_CG_IO = 1 << 2,
        RC_CG_MEMORY = 1 << 3,
        RC_CG_PIDS = 1 << 4,
        RC_CG_HUGETLB = 1 << 5,
        RC_CG_RDMA = 1 << 6,
        RC_CG_MISC = 1 << 7,
        RC_CG_ALL = (1 << 8) - 1,
};
const char *rc_cgroup_controller_name(unsigned bit); /* "memory"; NULL for an unknown bit */
unsigned rc_cgroup_controller_bit(const char *name, size_t len); /* 0 if unknown */
/* "memory and pids" from a mask (malloc'ed). */
char *rc_cgroup_controllers_text(unsigned mask);

/* ---- pure decisions (unit-tested) ------------------------------------------------- */

/* The controllers linux.resources needs (device rules need none) in *ret_mask; returns
 * true when the resources ask for anything a cgroup must enforce (a controller, or a
 * core "cgroup.*" file through `unified`). Values meaning "unlimited" ask for nothing. */
bool rc_cgroup_required(const struct oci_resources *r, unsigned *ret_mask);

struct rc_cgroup_decision {
        bool create; /* make a cgroup (the cgroupfs driver) */
        bool warn_unenforced; /* disabled with limits: warn once, run without them */
};
/* The table at the top of this file. */
int rc_cgroup_decide(enum rc_cgroup_manager m, bool host_v2, const struct oci_resources *r,
                     struct rc_cgroup_decision *ret, rc_error_t *err);

/* The cgroup path ("/a/b", cleaned, never "/") for a container. own_cgroup is the
 * runtime's cgroup as in /proc/self/cgroup ("/user.slice/x.scope"). ".." is refused. */
int rc_cgroup_resolve_path(const char *cgroups_path, const char *id, const char *own_cgroup, char **ret,
                           rc_error_t *err);

/* ---- resources (runtime/cgroup/resources.c): writers against a cgroup dir fd ------- */

/* cpu.weight from cpu shares (runc/crun/systemd's conversion; 0 means "not set"). */
uint64_t rc_cgroup_cpu_weight(uint64_t shares);
/* io.weight from a blkio weight (10..1000 -> 1..10000; 0 means "not set"). */
uint64_t rc_cgroup_io_weight(uint64_t blkio_weight);
/* memory.swap.max from the OCI memory+swap total as runc: 0 = leave unset, -1 = max,
 * else swap - limit. `limit` is the memory limit in effect (-1 unlimited, 0 unset). */
int rc_cgroup_swap_max(int64_t swap, int64_t limit, int64_t *ret, rc_error_t *err);
/* The cpu.max line ("50000 100000", "max 100000", "20000"), or 0 when there is
 * nothing to write. current_quota: the quota in place ("max" or a number) to keep
 * when only the period changes (NULL: "max"). */
int rc_cgroup_cpu_max(const struct oci_cpu *c, const char *current_quota, char *buf, size_t size);

/* Write every limit of r into the cgroup at dirfd (create and update alike; unset
 * fields are left alone). Warnings for settings cgroup v2 cannot express go to log. */
int rc_cgroup_apply_resources(int dirfd, const struct oci_resources *r, const struct rc_logger *log,
                              rc_error_t *err);

/* ---- devices (runtime/cgroup/devices.c) ------------------------------------------- */

struct bpf_insn;

/* Compile rules to a BPF_PROG_TYPE_CGROUP_DEVICE program: the last matching rule
 * decides (an allow rule matches when it grants every requested access, a deny rule
 * when it names any of them), no match denies. Rules before the last "a *:*" rule are
 * dropped (it decides everything). */
int rc_cgroup_devices_program(const struct oci_device_rule *rules, size_t n, struct bpf_insn **ret,
                              size_t *ret_n, rc_error_t *err);
/* Load a program (needs CAP_SYS_ADMIN or CAP_BPF); returns its fd. */
int rc_cgroup_devices_load(const struct bpf_insn *insns, size_t n, rc_error_t *err);
/* Attach to the cgroup (BPF_F_ALLOW_MULTI, so nested cgroups may add their own) and
 * detach the device programs attached there before. */
int rc_cgroup_devices_attach(int cgroup_fd, int prog_fd, rc_error_t *err);

/* ---- statistics (runtime/cgroup/stats.c) ------------------------------------------ */

struct rc_cgroup_kv {
        char *key;
        uint64_t value;
};

struct rc_cgroup_io_stat {
        uint32_t major, minor;
        uint64_t rbytes, wbytes, rios, wios;
};

struct rc_cgroup_stats {
        bool has_cpu; /* cpu.stat (usec) */
        uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
        uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
        bool has_memory; /* memory.* (bytes); limits UINT64_MAX for "max" */
        uint64_t memory_current, memory_peak, memory_limit, swap_current, swap_limit;
        uint64_t memory_events_low, memory_events_high, memory_events_max, memory_events_oom,
                memory_events_oom_kill;
        struct rc_cgroup_kv *memory_stat; /* memory.stat, in file order */
        size_t n_memory_stat;
        bool has_pids; /* pids.*; limit UINT64_MAX for "max" */
        uint64_t pids_current, pids_peak, pids_limit;
        struct rc_cgroup_io_stat *io; /* io.stat, one entry per device */
        size_t n_io;
};

/* Read whatever the cgroup at dirfd offers (missing files leave their part unset). */
int rc_cgroup_stats_read(int dirfd, struct rc_cgroup_stats *ret, rc_error_t *err);
void rc_cgroup_stats_clear(struct rc_cgroup_stats *s);
/* The stats as the "data" object of runc's `events --stats` (cpu in nanoseconds),
 * plus memory.events and pids.peak. */
void rc_cgroup_stats_gen(json_gen *g, const struct rc_cgroup_stats *s);
int rc_cgroup_stats_parse(const char *data, size_t len, const char *origin, struct rc_cgroup_stats *ret,
                          rc_error_t *err);

/* ---- the driver ---------------------------------------------------------------------- */

struct rc_cgroup;

struct rc_cgroup_ops {
        const char *name; /* "cgroupfs", "systemd", "disabled" */
        /* mkdir, enable controllers, apply cfg's resources and device rules (systemd: only
         * connect; cfg must live until the enter that makes the scope) */
        int (*create)(struct rc_cgroup *cg, const struct oci_config *cfg, rc_error_t *err);
        /* resources, device rules included */
        int (*update)(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err);
        /* move pid in (systemd, first call: start the scope around pid, then apply the
         * limits and device rules of create's cfg) */
        int (*enter)(struct rc_cgroup *cg, pid_t pid, rc_error_t *err);
        /* kill what is left, then rmdir (children first), retrying on EBUSY with a bound */
        int (*destroy)(struct rc_cgroup *cg, rc_error_t *err);
        /* signal every process (sub-cgroups included; `last` after the others);
         * SIGKILL through cgroup.kill where the kernel has it */
        int (*kill)(struct rc_cgroup *cg, int sig, pid_t last, rc_error_t *err);
        /* cgroup.freeze, then wait for cgroup.events "frozen" to follow */
        int (*freeze)(struct rc_cgroup *cg, bool frozen, rc_error_t *err);
        int (*is_frozen)(struct rc_cgroup *cg, bool *ret, rc_error_t *err);
        int (*stats)(struct rc_cgroup *cg, struct rc_cgroup_stats *ret, rc_error_t *err);
        /* every pid (sub-cgroups included), sorted */
        int (*procs)(struct rc_cgroup *cg, pid_t **ret, size_t *ret_n, rc_error_t *err);
        /* what the driver holds beyond the struct (the bus), from rc_cgroup_free; NULL: none */
        void (*release)(struct rc_cgroup *cg);
};

extern const struct rc_cgroup_ops rc_cgroup_ops_v2;
extern const struct rc_cgroup_ops rc_cgroup_ops_systemd;
extern const struct rc_cgroup_ops rc_cgroup_ops_disabled;

struct rc_systemd_bus;

struct rc_cgroup {
        const struct rc_cgroup_ops *ops;
        const struct rc_logger *log;
        char *mount; /* RC_CGROUP_MOUNT, or a test directory */
        char *path; /* "/run-container/ID"; NULL with the disabled driver */
        int dirfd; /* the cgroup directory; -1 before create or when it does not exist */
        int freeze_timeout_ms;
        int destroy_timeout_ms;
        /* systemd driver */
        char *unit; /* "run-container-ID.scope" */
        char *slice; /* "system.slice" (create only) */
        const char *id; /* the container's, for the unit's description (create only) */
        const struct oci_config *cfg; /* from create, applied when enter makes the scope */
        struct rc_systemd_bus *bus; /* connected on first use */
};

/* Whether the container's cgroup enforces its device rules (a BPF program on it): it
 * has one, and the runtime is root of the host (only it may load the program). Otherwise create
 * refuses rules that deny a node the container could still open
 * (rc_devices_check_unenforced). */
bool rc_cgroup_enforces_devices(const struct rc_cgroup *cg);

/* For create: decide and plan (no write yet). *ret is the cgroupfs or systemd driver
 * with its path set (record it, then rc_cgroup_create) or the disabled driver. */
int rc_cgroup_plan(const struct rc_runtime *rt, const struct oci_config *cfg, const char *id,
                   struct rc_cgroup **ret, rc_error_t *err);
/* For an existing container: its recorded path (NULL: the disabled driver) and whether
 * systemd owns it (the state's systemdCgroup). A cgroup directory that does not exist
 * leaves dirfd at -1. */
int rc_cgroup_open(const char *path, bool systemd, const struct rc_logger *log, struct rc_cgroup **ret,
                   rc_error_t *err);
/* Same under another mount point, without the cgroup2 check (unit tests). */
int rc_cgroup_open_at(const struct rc_cgroup_ops *ops, const char *mount, const char *path,
                      const struct rc_logger *log, struct rc_cgroup **ret, rc_error_t *err);
void rc_cgroup_free(struct rc_cgroup *cg);

static inline int rc_cgroup_create(struct rc_cgroup *cg, const struct oci_config *cfg, rc_error_t *err)
{
        return cg->ops->create(cg, cfg, err);
}
static inline int rc_cgroup_destroy(struct rc_cgroup *cg, rc_error_t *err)
{
        return cg->ops->destroy(cg, err);
}
static inline int rc_cgroup_enter(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        return cg->ops->enter(cg, pid, err);
}
/* The init starts outside the cgroup and the spawn calls rc_cgroup_enter (a systemd
 * scope is made around a pid); otherwise it is cloned into cg->dirfd. */
static inline bool rc_cgroup_enter_after_clone(const struct rc_cgroup *cg)
{
        return cg->path != NULL && cg->dirfd < 0;
}

/* ---- the systemd driver's pure parts (runtime/cgroup/systemd.c) -------------------- */

#define RC_SYSTEMD_DEFAULT_SLICE "system.slice"
#define RC_SYSTEMD_DEFAULT_PREFIX "run-container"

struct rc_systemd_unit {
        char *slice; /* "system.slice" */
        char *unit; /* "run-container-ID.scope" (escaped as systemd does: "\x2b" for '+') */
        char *path; /* "/system.slice/run-container-ID.scope" */
};
/* linux.cgroupsPath "slice:prefix:name" (NULL or "": the defaults with the id as name);
 * a nested slice "a-b.slice" is "/a.slice/a-b.slice", "-.slice" the root. */
int rc_cgroup_systemd_unit(const char *cgroups_path, const char *id, struct rc_systemd_unit *ret,
                           rc_error_t *err);
void rc_systemd_unit_clear(struct rc_systemd_unit *u);

struct rc_systemd_prop {
        const char *name; /* "MemoryMax" */
        uint64_t value; /* UINT64_MAX: "infinity" */
};
/* The limits of r that systemd has unit properties for (all of type "t"). */
int rc_cgroup_systemd_props(const struct oci_resources *r, struct rc_systemd_prop *v, size_t max,
                            size_t *ret_n, rc_error_t *err);
/* An O_PATH fd of the cgroup2 directory pid is in (from /proc/PID/cgroup). */
int rc_cgroup_open_of_pid(pid_t pid, rc_error_t *err);
/* Write pid into cgroup.procs of the directory dirfd (the spawn fallback). */
int rc_cgroup_enter_fd(int dirfd, pid_t pid, rc_error_t *err);
