/* Name tables: every string of config.json or the command line that stands for a kernel
 * constant is lowered here, from the tables below, and nowhere else.
 *
 * Lists that are also exported for `features` are X-macros, so the lookup table and the
 * NULL-terminated name array come from one list and cannot drift apart. */
#include "specs/names.h"

#include <errno.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- namespaces --------------------------------------------------------------- */

/* X(enum, OCI name, /proc/PID/ns name, clone flag), in enum order */
#define NAMESPACES(X)                                                                                       \
        X(OCI_NS_PID, "pid", "pid", CLONE_NEWPID)                                                           \
        X(OCI_NS_NETWORK, "network", "net", CLONE_NEWNET)                                                   \
        X(OCI_NS_MOUNT, "mount", "mnt", CLONE_NEWNS)                                                        \
        X(OCI_NS_IPC, "ipc", "ipc", CLONE_NEWIPC)                                                           \
        X(OCI_NS_UTS, "uts", "uts", CLONE_NEWUTS)                                                           \
        X(OCI_NS_USER, "user", "user", CLONE_NEWUSER)                                                       \
        X(OCI_NS_CGROUP, "cgroup", "cgroup", CLONE_NEWCGROUP)                                               \
        X(OCI_NS_TIME, "time", "time", CLONE_NEWTIME)

struct ns_info {
        const char *name;
        const char *proc_name;
        int clone_flag;
};

#define NS_ENTRY(e, name, proc, flag) [e] = {name, proc, flag},
#define NS_NAME(e, name, proc, flag) name,
static const struct ns_info namespaces[OCI_NS_COUNT] = {NAMESPACES(NS_ENTRY)};
const char *const oci_ns_names[] = {NAMESPACES(NS_NAME) NULL};

int oci_ns_from_name(const char *name, enum oci_ns_type *ret)
{
        for (size_t i = 0; name != NULL && i < ELEMENTSOF(namespaces); i++) {
                if (strcmp(namespaces[i].name, name) == 0) {
                        *ret = (enum oci_ns_type)i;
                        return 0;
                }
        }
        return -1;
}

const char *oci_ns_name(enum oci_ns_type t)
{
        return (unsigned)t < OCI_NS_COUNT ? namespaces[t].name : NULL;
}

const char *oci_ns_proc_name(enum oci_ns_type t)
{
        return (unsigned)t < OCI_NS_COUNT ? namespaces[t].proc_name : NULL;
}

int oci_ns_clone_flag(enum oci_ns_type t)
{
        return (unsigned)t < OCI_NS_COUNT ? namespaces[t].clone_flag : 0;
}

/* ---- signals ------------------------------------------------------------------ */

struct signal_name {
        const char *name; /* with the "SIG" prefix */
        int sig;
};

/* Canonical names come before their aliases, so oci_signal_name picks them. */
static const struct signal_name signals[] = {
        {"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},     {"SIGILL", SIGILL},
        {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT}, {"SIGIOT", SIGIOT},       {"SIGBUS", SIGBUS},
        {"SIGFPE", SIGFPE},       {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV},
        {"SIGUSR2", SIGUSR2},     {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM},
#ifdef SIGSTKFLT
        {"SIGSTKFLT", SIGSTKFLT},
#endif
        {"SIGCHLD", SIGCHLD},     {"SIGCLD", SIGCHLD},  {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP},
        {"SIGTSTP", SIGTSTP},     {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},
        {"SIGXCPU", SIGXCPU},     {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF},
        {"SIGWINCH", SIGWINCH},   {"SIGIO", SIGIO},     {"SIGPOLL", SIGIO},       {"SIGPWR", SIGPWR},
        {"SIGSYS", SIGSYS},
};

/* A non-empty run of decimal digits, value <= max. */
static int parse_small_uint(const char *s, long max, long *ret)
{
        char *end = NULL;
        long v;

        if (*s < '0' || *s > '9')
                return -1;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
        }
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -1;
        *ret = v;
        return 0;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (prefix already stripped of "SIG"). */
static int parse_rt_signal(const char *s, int *ret)
{
        int base, dir;
        long off = 0;

        if (strncasecmp(s, "RTMIN", 5) == 0) {
                base = SIGRTMIN;
                dir = 1;
        } else if (strncasecmp(s, "RTMAX", 5) == 0) {
                base = SIGRTMAX;
                dir = -1;
        } else {
                return -1;
        }
        s += 5;
        if (*s != '\0') {
                if (*s != (dir > 0 ? '+' : '-'))
                        return -1;
                if (parse_small_uint(s + 1, SIGRTMAX - SIGRTMIN, &off) < 0)
                        return -1;
        }
        *ret = base + dir * (int)off;
        return 0;
}

int oci_signal_from_string(const char *s, int *ret)
{
        const char *name;
        long num;

        if (s == NULL || *s == '\0')
                return -1;
        if (*s >= '0' && *s <= '9') {
                if (parse_small_uint(s, _NSIG - 1, &num) < 0 || num == 0)
                        return -1;
                *ret = (int)num;
                return 0;
        }
        name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                if (strcasecmp(signals[i].name + 3, name) == 0) {
                        *ret = signals[i].sig;
                        return 0;
                }
        }
        return parse_rt_signal(name, ret);
}

const char *oci_signal_name(int sig)
{
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                if (signals[i].sig == sig)
                        return signals[i].name;
        }
        return NULL;
}

/* ---- capabilities ------------------------------------------------------------- */

/* Index = kernel capability number (linux/capability.h). */
const char *const oci_cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
        NULL,
};
_Static_assert(ELEMENTSOF(oci_cap_names) == OCI_CAP_LAST + 2, "capability table out of date");

int oci_cap_from_name(const char *name, int *ret)
{
        for (int i = 0; name != NULL && i <= OCI_CAP_LAST; i++) {
                if (strcmp(oci_cap_names[i], name) == 0) {
                        *ret = i;
                        return 0;
                }
        }
        return -1;
}

const char *oci_cap_name(int cap)
{
        return cap >= 0 && cap <= OCI_CAP_LAST ? oci_cap_names[cap] : NULL;
}

/* ---- rlimits ------------------------------------------------------------------ */

struct rlimit_name {
        const char *name;
        int resource;
};

static const struct rlimit_name rlimits[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int oci_rlimit_from_name(const char *name, int *ret)
{
        for (size_t i = 0; name != NULL && i < ELEMENTSOF(rlimits); i++) {
                if (strcmp(rlimits[i].name, name) == 0) {
                        *ret = rlimits[i].resource;
                        return 0;
                }
        }
        return -1;
}

const char *oci_rlimit_name(int resource)
{
        for (size_t i = 0; i < ELEMENTSOF(rlimits); i++) {
                if (rlimits[i].resource == resource)
                        return rlimits[i].name;
        }
        return NULL;
}

/* ---- mount options ------------------------------------------------------------ */

enum mount_opt_kind {
        MO_SET, /* flags |= v */
        MO_CLEAR, /* clear_flags |= v */
        MO_BIND, /* flags |= v, is_bind */
        MO_PROPAGATION, /* propagation = v */
        MO_ATTR_SET, /* attr_set |= v */
        MO_ATTR_CLR, /* attr_clr |= v */
        MO_ATTR_ATIME, /* the atime group: attr_clr |= MOUNT_ATTR__ATIME, atime bits of attr_set = v */
        MO_EXTRA_SET, /* extra |= v */
        MO_EXTRA_CLR, /* extra &= ~v */
        MO_NONE, /* accepted, nothing to do ("defaults": the kernel's defaults) */
};

/* The recursive atime options become one of the three mount_setattr(2) atime modes:
 * rnoatime -> NOATIME; rrelatime, ratime and rnostrictatime -> RELATIME (the kernel's
 * default); rstrictatime and rnorelatime -> STRICTATIME. The kernel requires the whole
 * MOUNT_ATTR__ATIME field in attr_clr whenever an atime mode is set. */
#define MOUNT_OPTIONS(X)                                                                                    \
        X("ro", MO_SET, MS_RDONLY)                                                                          \
        X("rw", MO_CLEAR, MS_RDONLY)                                                                        \
        X("nosuid", MO_SET, MS_NOSUID)                                                                      \
        X("suid", MO_CLEAR, MS_NOSUID)                                                                      \
        X("nodev", MO_SET, MS_NODEV)                                                                        \
        X("dev", MO_CLEAR, MS_NODEV)                                                                        \
        X("noexec", MO_SET, MS_NOEXEC)                                                                      \
        X("exec", MO_CLEAR, MS_NOEXEC)                                                                      \
        X("sync", MO_SET, MS_SYNCHRONOUS)                                                                   \
        X("async", MO_CLEAR, MS_SYNCHRONOUS)                                                                \
        X("dirsync", MO_SET, MS_DIRSYNC)                                                                    \
        X("remount", MO_SET, MS_REMOUNT)                                                                    \
        X("mand", MO_SET, MS_MANDLOCK)                                                                      \
        X("nomand", MO_CLEAR, MS_MANDLOCK)                                                                  \
        X("atime", MO_CLEAR, MS_NOATIME)                                                                    \
        X("noatime", MO_SET, MS_NOATIME)                                                                    \
        X("diratime", MO_CLEAR, MS_NODIRATIME)                                                              \
        X("nodiratime", MO_SET, MS_NODIRATIME)                                                              \
        X("relatime", MO_SET, MS_RELATIME)                                                                  \
        X("norelatime", MO_CLEAR, MS_RELATIME)                                                              \
        X("strictatime", MO_SET, MS_STRICTATIME)                                                            \
        X("nostrictatime", MO_CLEAR, MS_STRICTATIME)                                                        \
        X("silent", MO_SET, MS_SILENT)                                                                      \
        X("loud", MO_CLEAR, MS_SILENT)                                                                      \
        X("lazytime", MO_SET, MS_LAZYTIME)                                                                  \
        X("nolazytime", MO_CLEAR, MS_LAZYTIME)                                                              \
        X("iversion", MO_SET, MS_I_VERSION)                                                                 \
        X("noiversion", MO_CLEAR, MS_I_VERSION)                                                             \
        X("nosymfollow", MO_SET, MS_NOSYMFOLLOW)                                                            \
        X("symfollow", MO_CLEAR, MS_NOSYMFOLLOW)                                                            \
        X("bind", MO_BIND, MS_BIND)                                                                         \
        X("rbind", MO_BIND, MS_BIND | MS_REC)                                                               \
        X("private", MO_PROPAGATION, MS_PRIVATE)                                                            \
        X("rprivate", MO_PROPAGATION, MS_PRIVATE | MS_REC)                                                  \
        X("shared", MO_PROPAGATION, MS_SHARED)                                                              \
        X("rshared", MO_PROPAGATION, MS_SHARED | MS_REC)                                                    \
        X("slave", MO_PROPAGATION, MS_SLAVE)                                                                \
        X("rslave", MO_PROPAGATION, MS_SLAVE | MS_REC)                                                      \
        X("unbindable", MO_PROPAGATION, MS_UNBINDABLE)                                                      \
        X("runbindable", MO_PROPAGATION, MS_UNBINDABLE | MS_REC)                                            \
        X("rro", MO_ATTR_SET, MOUNT_ATTR_RDONLY)                                                            \
        X("rrw", MO_ATTR_CLR, MOUNT_ATTR_RDONLY)                                                            \
        X("rnosuid", MO_ATTR_SET, MOUNT_ATTR_NOSUID)                                                        \
        X("rsuid", MO_ATTR_CLR, MOUNT_ATTR_NOSUID)                                                          \
        X("rnodev", MO_ATTR_SET, MOUNT_ATTR_NODEV)                                                          \
        X("rdev", MO_ATTR_CLR, MOUNT_ATTR_NODEV)                                                            \
        X("rnoexec", MO_ATTR_SET, MOUNT_ATTR_NOEXEC)                                                        \
        X("rexec", MO_ATTR_CLR, MOUNT_ATTR_NOEXEC)                                                          \
        X("rnodiratime", MO_ATTR_SET, MOUNT_ATTR_NODIRATIME)                                                \
        X("rdiratime", MO_ATTR_CLR, MOUNT_ATTR_NODIRATIME)                                                  \
        X("rnosymfollow", MO_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW)                                              \
        X("rsymfollow", MO_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW)                                                \
        X("rnoatime", MO_ATTR_ATIME, MOUNT_ATTR_NOATIME)                                                    \
        X("ratime", MO_ATTR_ATIME, MOUNT_ATTR_RELATIME)                                                     \
        X("rrelatime", MO_ATTR_ATIME, MOUNT_ATTR_RELATIME)                                                  \
        X("rnorelatime", MO_ATTR_ATIME, MOUNT_ATTR_STRICTATIME)                                             \
        X("rstrictatime", MO_ATTR_ATIME, MOUNT_ATTR_STRICTATIME)                                            \
        X("rnostrictatime", MO_ATTR_ATIME, MOUNT_ATTR_RELATIME)                                             \
        X("defaults", MO_NONE, 0)                                                                           \
        X("tmpcopyup", MO_EXTRA_SET, OCI_MOUNT_TMPCOPYUP)                                                   \
        X("notmpcopyup", MO_EXTRA_CLR, OCI_MOUNT_TMPCOPYUP)                                                 \
        X("copy-symlink", MO_EXTRA_SET, OCI_MOUNT_COPY_SYMLINK)                                             \
        X("src-nofollow", MO_EXTRA_SET, OCI_MOUNT_SRC_NOFOLLOW)                                             \
        X("dest-nofollow", MO_EXTRA_SET, OCI_MOUNT_DEST_NOFOLLOW)

struct mount_opt {
        const char *name;
        enum mount_opt_kind kind;
        unsigned long value;
};

#define MO_ENTRY(name, kind, value) {name, kind, value},
#define MO_NAME(name, kind, value) name,
static const struct mount_opt mount_options[] = {MOUNT_OPTIONS(MO_ENTRY)};
const char *const oci_mount_option_names[] = {MOUNT_OPTIONS(MO_NAME) NULL};

static void mount_opt_lower(const struct mount_opt *o, struct oci_mount *m)
{
        switch (o->kind) {
        case MO_SET:
                m->flags |= o->value;
                m->clear_flags &= ~o->value;
                break;
        case MO_CLEAR:
                m->clear_flags |= o->value;
                m->flags &= ~o->value;
                break;
        case MO_BIND:
                m->flags |= o->value;
                m->is_bind = true;
                break;
        case MO_PROPAGATION:
                m->propagation = o->value;
                break;
        case MO_ATTR_SET:
                m->attr_set |= o->value;
                m->attr_clr &= ~(uint64_t)o->value;
                break;
        case MO_ATTR_CLR:
                m->attr_clr |= o->value;
                m->attr_set &= ~(uint64_t)o->value;
                break;
        case MO_ATTR_ATIME:
                m->attr_clr |= MOUNT_ATTR__ATIME;
                m->attr_set = (m->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | o->value;
                break;
        case MO_EXTRA_SET:
                m->extra |= (unsigned)o->value;
                break;
        case MO_EXTRA_CLR:
                m->extra &= ~(unsigned)o->value;
                break;
        case MO_NONE:
                break;
        }
}

int oci_mount_option_apply(const char *opt, struct oci_mount *m)
{
        for (size_t i = 0; opt != NULL && i < ELEMENTSOF(mount_options); i++) {
                if (strcmp(mount_options[i].name, opt) == 0) {
                        mount_opt_lower(&mount_options[i], m);
                        return 1;
                }
        }
        return 0;
}

/* ---- propagation -------------------------------------------------------------- */

struct propagation_name {
        const char *name;
        unsigned long flags;
};

static const struct propagation_name propagations[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

int oci_propagation_from_name(const char *name, unsigned long *ret)
{
        for (size_t i = 0; name != NULL && i < ELEMENTSOF(propagations); i++) {
                if (strcmp(propagations[i].name, name) == 0) {
                        *ret = propagations[i].flags;
                        return 0;
                }
        }
        return -1;
}

/* ---- seccomp ------------------------------------------------------------------ */

/* Index lookups over a NULL-terminated name array. */
static int index_of(const char *const *names, const char *name)
{
        for (int i = 0; name != NULL && names[i] != NULL; i++) {
                if (strcmp(names[i], name) == 0)
                        return i;
        }
        return -1;
}

static const char *name_at(const char *const *names, size_t n, unsigned i)
{
        return i < n - 1 ? names[i] : NULL; /* n counts the NULL terminator */
}

/* Both arrays are indexed by their enum. */
const char *const oci_seccomp_action_names[] = {
        [OCI_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
        [OCI_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
        [OCI_SECCOMP_KILL] = "SCMP_ACT_KILL",
        [OCI_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [OCI_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [OCI_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
        [OCI_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
        [OCI_SECCOMP_LOG] = "SCMP_ACT_LOG",
        [OCI_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
        [OCI_SECCOMP_NOTIFY + 1] = NULL,
};

const char *const oci_seccomp_op_names[] = {
        [OCI_SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [OCI_SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [OCI_SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [OCI_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [OCI_SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [OCI_SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [OCI_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
        [OCI_SECCOMP_OP_MASKED_EQ + 1] = NULL,
};

int oci_seccomp_action_from_name(const char *name, enum oci_seccomp_action *ret)
{
        int i = index_of(oci_seccomp_action_names, name);

        if (i < 0)
                return -1;
        *ret = (enum oci_seccomp_action)i;
        return 0;
}

const char *oci_seccomp_action_name(enum oci_seccomp_action a)
{
        return name_at(oci_seccomp_action_names, ELEMENTSOF(oci_seccomp_action_names), a);
}

int oci_seccomp_op_from_name(const char *name, enum oci_seccomp_op *ret)
{
        int i = index_of(oci_seccomp_op_names, name);

        if (i < 0)
                return -1;
        *ret = (enum oci_seccomp_op)i;
        return 0;
}

const char *oci_seccomp_op_name(enum oci_seccomp_op op)
{
        return name_at(oci_seccomp_op_names, ELEMENTSOF(oci_seccomp_op_names), op);
}

/* X(name, bit) */
#define SECCOMP_FLAGS(X)                                                                                    \
        X("SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC)                                           \
        X("SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG)                                               \
        X("SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW)                                 \
        X("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)

#define SF_NAME(name, bit) name,
#define SF_BIT(name, bit) (unsigned)(bit),
const char *const oci_seccomp_flag_names[] = {SECCOMP_FLAGS(SF_NAME) NULL};
static const unsigned seccomp_flag_bits[] = {SECCOMP_FLAGS(SF_BIT)};

int oci_seccomp_flag_from_name(const char *name, unsigned *ret)
{
        int i = index_of(oci_seccomp_flag_names, name);

        if (i < 0)
                return -1;
        *ret = seccomp_flag_bits[i];
        return 0;
}

/* The architectures the runtime-spec lists for linux.seccomp.architectures. */
const char *const oci_seccomp_arch_names[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     NULL,
};

bool oci_seccomp_arch_known(const char *name)
{
        return index_of(oci_seccomp_arch_names, name) >= 0;
}

const char *const oci_hook_phase_names[] = {
        [OCI_HOOK_PRESTART] = "prestart",
        [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
        [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
        [OCI_HOOK_START_CONTAINER] = "startContainer",
        [OCI_HOOK_POSTSTART] = "poststart",
        [OCI_HOOK_POSTSTOP] = "poststop",
        [OCI_HOOK_PHASES] = NULL,
};

const char *oci_hook_phase_name(enum oci_hook_phase phase)
{
        return (unsigned)phase < OCI_HOOK_PHASES ? oci_hook_phase_names[phase] : "unknown";
}
