/* OCI runtime-spec (1.2, Linux) configuration as typed, lowered structs.
 *
 * specs/parse.c turns config.json into these structs once; names such as "CAP_KILL",
 * "nosuid" or "network" are lowered to kernel constants here, so nothing outside specs/
 * ever compares strings taken from config.json. Optional scalars carry a `has_`/`.set`
 * flag. Arrays are (pointer, count) pairs; string arrays are also NULL-terminated. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"

#define OCI_VERSION "1.2.0"

struct oci_opt_u64 {
        bool set;
        uint64_t v;
};
struct oci_opt_i64 {
        bool set;
        int64_t v;
};

struct oci_kv {
        char *key;
        char *value;
};

/* ---- process ---------------------------------------------------------------- */

struct oci_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
};

struct oci_user {
        uid_t uid;
        gid_t gid;
        bool has_umask;
        mode_t umask;
        gid_t *additional_gids;
        size_t n_additional_gids;
};

/* Capability sets as bitmasks: bit N is capability number N (CAP_CHOWN = 0 ...). */
struct oci_capabilities {
        bool present; /* process.capabilities given at all */
        uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct oci_console_size {
        bool present;
        unsigned height, width;
};

struct oci_scheduler {
        bool present;
        int policy; /* SCHED_* */
        int nice;
        int priority;
        uint64_t flags; /* SCHED_FLAG_* */
        uint64_t runtime, deadline, period;
};

struct oci_io_priority {
        bool present;
        int klass; /* IOPRIO_CLASS_RT/BE/IDLE */
        int priority;
};

struct oci_process {
        bool terminal;
        struct oci_console_size console_size;
        struct oci_user user;
        char **args; /* NULL-terminated; n_args >= 1 after validation */
        size_t n_args;
        char **env;
        size_t n_env;
        char *cwd; /* absolute */
        struct oci_capabilities caps;
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        char *apparmor_profile; /* NULL if unset */
        char *selinux_label; /* NULL if unset */
        bool has_oom_score_adj;
        int oom_score_adj;
        struct oci_scheduler scheduler;
        struct oci_io_priority io_priority;
};

/* ---- root and mounts -------------------------------------------------------- */

struct oci_root {
        char *path; /* as written; relative to the bundle unless absolute */
        bool readonly;
};

struct oci_mount {
        char *destination; /* absolute path inside the container */
        char *type; /* NULL if absent ("bind" implied by bind options) */
        char *source; /* NULL if absent */
        char **options;
        size_t n_options;
        /* lowered from options */
        unsigned long flags; /* MS_* to set, incl. MS_BIND / MS_REC for bind / rbind */
        unsigned long clear_flags; /* MS_* explicitly cleared: rw, suid, dev, exec, atime... */
        unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, |MS_REC */
        uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for r-prefixed options (rro, rnosuid...) */
        char *data; /* remaining filesystem options joined by ',' or NULL */
        bool is_bind; /* type "bind" or a bind/rbind option */
        unsigned extra; /* OCI_MOUNT_* runtime options (crun's and runc's option words) */
};

/* Options that are neither mount flags nor filesystem data: the runtime acts on them. */
enum {
        OCI_MOUNT_TMPCOPYUP = 1u << 0, /* tmpfs: copy the rootfs's content at the target up into it */
        OCI_MOUNT_COPY_SYMLINK = 1u << 1, /* bind of a symlink: create the same symlink instead */
        OCI_MOUNT_SRC_NOFOLLOW = 1u << 2, /* bind the source symlink itself, not its target */
        OCI_MOUNT_DEST_NOFOLLOW = 1u << 3, /* mount on the destination symlink itself (must exist) */
};

/* ---- hooks ------------------------------------------------------------------- */

enum oci_hook_phase {
        OCI_HOOK_PRESTART,
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        OCI_HOOK_PHASES
};

struct oci_hook {
        char *path; /* absolute */
        char **args;
        size_t n_args;
        char **env;
        size_t n_env;
        int timeout; /* seconds; 0 = none */
};

struct oci_hook_list {
        struct oci_hook *v;
        size_t n;
};

/* ---- linux -------------------------------------------------------------------- */

enum oci_ns_type {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        OCI_NS_COUNT
};

struct oci_namespace {
        enum oci_ns_type type;
        int clone_flag; /* CLONE_NEW* */
        char *path; /* NULL: create a new one; else join this one */
};

struct oci_idmap {
        uint32_t container_id, host_id, size;
};

struct oci_device {
        char type; /* 'c', 'b', 'u' (same as 'c') or 'p' */
        char *path;
        int64_t major, minor;
        bool has_file_mode;
        mode_t file_mode;
        bool has_uid;
        uid_t uid;
        bool has_gid;
        gid_t gid;
};

struct oci_time_offset {
        bool set;
        int64_t secs;
        uint32_t nanosecs;
};

/* cgroup device rule */
struct oci_device_rule {
        bool allow;
        char type; /* 'a', 'c' or 'b' */
        int64_t major, minor; /* -1 = wildcard */
        char access[4]; /* subset of "rwm", "" = all */
};

struct oci_memory {
        struct oci_opt_i64 limit, reservation, swap, kernel, kernel_tcp;
        struct oci_opt_u64 swappiness;
        bool has_disable_oom_killer;
        bool disable_oom_killer;
        bool has_use_hierarchy;
        bool use_hierarchy;
        bool check_before_update;
};

struct oci_cpu {
        struct oci_opt_u64 shares, period, realtime_period, burst;
        struct oci_opt_i64 quota, realtime_runtime, idle;
        char *cpus; /* cpuset list, NULL if unset */
        char *mems;
};

struct oci_weight_device {
        int64_t major, minor;
        struct oci_opt_u64 weight, leaf_weight;
};

struct oci_throttle_device {
        int64_t major, minor;
        uint64_t rate;
};

struct oci_blockio {
        struct oci_opt_u64 weight, leaf_weight;
        struct oci_weight_device *weight_devices;
        size_t n_weight_devices;
        struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
                *throttle_write_iops;
        size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
};

struct oci_hugepage_limit {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
};

struct oci_resources {
        bool present;
        struct oci_device_rule *devices;
        size_t n_devices;
        bool has_memory;
        struct oci_memory memory;
        bool has_cpu;
        struct oci_cpu cpu;
        bool has_pids;
        int64_t pids_limit; /* <= 0: unlimited */
        bool has_blockio;
        struct oci_blockio blockio;
        struct oci_hugepage_limit *hugepages;
        size_t n_hugepages;
        struct oci_kv *unified;
        size_t n_unified;
        bool has_network; /* cgroup v1 only: rejected by validation with a clear error */
        bool has_rdma; /* idem */
};

enum oci_seccomp_action {
        OCI_SECCOMP_ALLOW,
        OCI_SECCOMP_ERRNO,
        OCI_SECCOMP_KILL, /* == KILL_THREAD */
        OCI_SECCOMP_KILL_THREAD,
        OCI_SECCOMP_KILL_PROCESS,
        OCI_SECCOMP_TRAP,
        OCI_SECCOMP_TRACE,
        OCI_SECCOMP_LOG,
        OCI_SECCOMP_NOTIFY
};

enum oci_seccomp_op {
        OCI_SECCOMP_OP_NE,
        OCI_SECCOMP_OP_LT,
        OCI_SECCOMP_OP_LE,
        OCI_SECCOMP_OP_EQ,
        OCI_SECCOMP_OP_GE,
        OCI_SECCOMP_OP_GT,
        OCI_SECCOMP_OP_MASKED_EQ
};

struct oci_seccomp_arg {
        unsigned index; /* 0..5 */
        uint64_t value, value_two;
        enum oci_seccomp_op op;
};

struct oci_seccomp_syscall {
        char **names;
        size_t n_names;
        enum oci_seccomp_action action;
        bool has_errno_ret;
        unsigned errno_ret;
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        bool present;
        enum oci_seccomp_action default_action;
        bool has_default_errno_ret;
        unsigned default_errno_ret;
        char **architectures; /* "SCMP_ARCH_X86_64" ...; lowered by runtime/isolation/seccomp.c */
        size_t n_architectures;
        unsigned flags; /* SECCOMP_FILTER_FLAG_* */
        char *listener_path;
        char *listener_metadata;
        struct oci_seccomp_syscall *syscalls;
        size_t n_syscalls;
        /* made by oci_default_seccomp_build from the tables compiled into this program, and
         * its architectures and syscalls not changed since: the program's build id names
         * them in the filter cache's key (runtime/isolation/seccomp_cache.h) */
        bool builtin;
};

/* linux.memoryPolicy, for set_mempolicy(2): validated, lowered to the kernel's values. */
#define OCI_MEMPOLICY_NODES 1024 /* node ids 0..1023 (the kernel's MAX_NUMNODES at most) */
struct oci_memory_policy {
        bool present;
        int mode; /* MPOL_* */
        unsigned flags; /* MPOL_F_* mode flags */
        char *nodes; /* "0-3,7" or NULL */
        bool has_nodes; /* at least one node in node_mask */
        unsigned long node_mask[OCI_MEMPOLICY_NODES / (8 * sizeof(unsigned long))];
};

struct oci_linux {
        struct oci_namespace *namespaces;
        size_t n_namespaces;
        struct oci_idmap *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct oci_time_offset time_monotonic, time_boottime;
        struct oci_device *devices;
        size_t n_devices;
        char *cgroups_path; /* NULL if absent */
        struct oci_resources resources;
        unsigned long rootfs_propagation; /* MS_* incl MS_REC; 0 if unset */
        struct oci_seccomp seccomp;
        struct oci_kv *sysctl;
        size_t n_sysctl;
        char **masked_paths;
        size_t n_masked_paths;
        char **readonly_paths;
        size_t n_readonly_paths;
        char *mount_label;
        bool has_personality;
        unsigned long personality; /* PER_LINUX or PER_LINUX32 */
        struct oci_memory_policy memory_policy;
};

struct oci_config {
        char *oci_version;
        struct oci_root root;
        struct oci_mount *mounts;
        size_t n_mounts;
        bool has_process;
        struct oci_process process;
        char *hostname; /* NULL if absent */
        char *domainname; /* NULL if absent */
        struct oci_hook_list hooks[OCI_HOOK_PHASES];
        struct oci_kv *annotations;
        size_t n_annotations;
        bool has_linux;
        struct oci_linux linux_;
};

/* Parse a config.json document. `origin` names the file in every error message:
 * "<origin>: .linux.namespaces[2].type: unknown namespace \"netwrok\"".
 * Unknown properties are ignored; invalid or unsupported values are errors.
 * oci_config_parse also runs oci_config_validate. */
int oci_config_parse(const char *data, size_t len, const char *origin, struct oci_config **ret,
                     rc_error_t *err);
int oci_config_parse_file(const char *path, struct oci_config **ret, rc_error_t *err);

/* Cross-field checks (duplicate namespaces, uts namespace required for hostname, user
 * namespace required for mappings, absolute mount destinations, ...). */
int oci_config_validate(const struct oci_config *c, const char *origin, rc_error_t *err);

/* A process document alone (for `exec --process`): same rules as .process. */
int oci_process_parse(const char *data, size_t len, const char *origin, struct oci_process **ret,
                      rc_error_t *err);

/* A linux.resources document alone (for `update -r`): same rules as .linux.resources. */
int oci_resources_parse(const char *data, size_t len, const char *origin, struct oci_resources **ret,
                        rc_error_t *err);
void oci_resources_free(struct oci_resources *r); /* frees the struct itself too */

void oci_config_free(struct oci_config *c);
void oci_process_free(struct oci_process *p); /* frees the struct itself too */
void oci_process_clear(struct oci_process *p); /* frees members only */

/* Small queries used by the runtime. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *c, enum oci_ns_type t);

/* `run-container spec`: a default config.json (pretty JSON, trailing newline). */
int oci_default_spec(bool rootless, char **ret, size_t *ret_len, rc_error_t *err);
/* The same document without indentation and without linux.seccomp, for a program that
 * parses it right away and writes the profile itself (oci_default_seccomp_gen): the
 * profile is most of the document. */
int oci_default_spec_compact_no_seccomp(bool rootless, char **ret, size_t *ret_len, rc_error_t *err);
/* The default seccomp profile, as the value of linux.seccomp. */
struct json_gen;
void oci_default_seccomp_gen(struct json_gen *g);
/* The same profile built straight into `ret` (as oci_config_parse would from that JSON,
 * without the round trip: ~350 names are most of a config). ENOMEM leaves `ret` empty. */
int oci_default_seccomp_build(struct oci_seccomp *ret, rc_error_t *err);
/* Free what a struct oci_seccomp holds and empty it. */
void oci_seccomp_clear(struct oci_seccomp *s);

/* `run-container features`: the runtime-spec features document (pretty JSON). It
 * advertises exactly what the parser accepts. */
int oci_features(char **ret, size_t *ret_len, rc_error_t *err);
/* The i-th protection advertised in the features document: its annotation key in
 * *ret_key and the test file that proves it (relative to the source tree); NULL past the
 * last one. */
const char *oci_features_protection_test(size_t i, const char **ret_key);
