/* `run-container spec`: the default config.json, modelled on `runc spec`. The rootless
 * variant applies what runc's ToRootless does: no network namespace, a user namespace
 * mapping root to the calling user, /sys bind-mounted from the host (sysfs cannot be
 * mounted without owning the network namespace), no uid=/gid= mount options (those ids
 * are not mapped) and no cgroup resources. Both variants carry podman's default
 * capability set and the seccomp profile documented below. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

struct default_mount {
        const char *destination;
        const char *type;
        const char *source;
        const char *const *options; /* NULL-terminated */
};

#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct default_mount default_mounts[] = {
        {"/proc", "proc", "proc", NULL},
        {"/dev", "tmpfs", "tmpfs", STRV("nosuid", "strictatime", "mode=755", "size=65536k")},
        {"/dev/pts", "devpts", "devpts",
         STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")},
        {"/dev/shm", "tmpfs", "shm", STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")},
        {"/dev/mqueue", "mqueue", "mqueue", STRV("nosuid", "noexec", "nodev")},
        {"/sys", "sysfs", "sysfs", STRV("nosuid", "noexec", "nodev", "ro")},
        {"/sys/fs/cgroup", "cgroup", "cgroup", STRV("nosuid", "noexec", "nodev", "relatime", "ro")},
};

/* runc's replacement for the sysfs mount in rootless mode */
static const struct default_mount rootless_sys = {"/sys", "none", "/sys",
                                                  STRV("rbind", "nosuid", "noexec", "nodev", "ro")};

/* Podman's default set. Docker's also has CAP_AUDIT_WRITE, CAP_MKNOD and CAP_NET_RAW;
 * like podman we leave them out: the audit log is not namespaced (a container could
 * forge or flood the host's records; only PAM login stacks need it), device nodes come
 * from linux.devices, and raw sockets allow packet spoofing on the container's network
 * (ping works through ping_group_range). */
static const char *const default_caps[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
        "CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
        "CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT", NULL,
};

static const char *const default_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
        NULL,
};

static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/devices/virtual/powercap",
        NULL,
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *const default_namespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};

/* ---- the default seccomp profile ----------------------------------------------------
 *
 * An allow-list: every syscall not named below fails with EPERM (defaultErrnoRet 1), so
 * a syscall added to a future kernel is closed until reviewed. It is as strict as the
 * profiles podman and docker ship, written for the capability set above (no
 * CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_TIME, CAP_SYS_MODULE, CAP_SYS_NICE...): a
 * config that grants more capabilities must widen the profile too. Refused, and why:
 *
 *   kexec_load, kexec_file_load       load a new kernel
 *   init_module, finit_module,        load or unload kernel code; create_module,
 *   delete_module                     get_kernel_syms, query_module are their ancestors
 *   open_by_handle_at                 opens any inode of a mounted fs by handle, escaping
 *                                     the mount namespace (CVE-2014-3519, "shocker")
 *   mount, umount, umount2,           change the mount tree; the new mount API (fsopen,
 *   pivot_root, fsopen, fsconfig,     fsconfig, fsmount, fspick, move_mount, open_tree,
 *   fsmount, fspick, move_mount,      mount_setattr) too. Need CAP_SYS_ADMIN, not granted,
 *   open_tree, mount_setattr          and are the core of most mount-based escapes
 *   unshare, setns, and clone or      a new user namespace needs no capability and gives
 *   clone3 with CLONE_NEW* flags      root-like powers over namespaced kernel code, the
 *                                     biggest local attack surface (many CVEs): clone is
 *                                     allowed only without namespace flags, and clone3,
 *                                     whose flags a filter cannot read, answers ENOSYS so
 *                                     that glibc falls back to clone
 *   keyctl, add_key, request_key      the kernel keyring is not namespaced: keys of the
 *                                     host and of other containers could be reached
 *   bpf                               eBPF programs and maps: kernel attack surface
 *   perf_event_open                   profiling leaks kernel addresses and host activity
 *   userfaultfd                       stalls kernel accesses to user memory at will, a
 *                                     building block of many kernel race exploits
 *   io_uring_setup, _enter, _register asynchronous syscalls that bypass this filter's
 *                                     view, with a long CVE history (docker blocks it too)
 *   reboot                            (in a pid namespace it would end the container; the
 *                                     kernel needs CAP_SYS_BOOT anyway)
 *   swapon, swapoff                   host memory configuration
 *   acct                              process accounting to a file of the container's
 *                                     choosing, host wide
 *   settimeofday, stime,              the clock is not namespaced (time namespaces only
 *   clock_settime, clock_adjtime      offset monotonic/boottime)
 *   syslog                            the kernel log buffer leaks host information
 *   personality other than            PER_LINUX, PER_LINUX32, UNAME26 and the query: the
 *   the usual values                  rest turn on odd emulation (READ_IMPLIES_EXEC,
 *                                     ADDR_NO_RANDOMIZE...) that weakens hardening
 *   socket(AF_VSOCK)                  talks to the hypervisor host, outside the netns
 *   kcmp                              compares the kernel objects behind two processes'
 *                                     fds: CAP_SYS_PTRACE ground, as in docker
 *   mbind, set_mempolicy,             NUMA placement of host memory: CAP_SYS_NICE ground
 *   get_mempolicy, move_pages,
 *   migrate_pages
 *   iopl, ioperm, modify_ldt,         raw I/O ports and x86 segment tricks behind old
 *   vm86, vm86old                     CVEs
 *   quotactl, quotactl_fd,            host administration (CAP_SYS_ADMIN)
 *   sethostname, setdomainname,
 *   vhangup, fanotify_init,
 *   lookup_dcookie, nfsservctl
 *   sysfs, ustat, uselib, _sysctl     obsolete interfaces nobody needs
 *
 * Allowed on purpose: ptrace (and process_vm_readv/writev, pidfd_getfd), because since
 * Linux 4.8 seccomp runs again after a tracer changed the syscall, so a tracer cannot
 * bypass the filter, and this runtime needs Linux 5.3 (clone3) anyway; chroot, for
 * CAP_SYS_CHROOT is in the default set; seccomp, so that programs can sandbox
 * themselves further. */
static const char *const seccomp_allowed[] = {
        "_llseek",
        "_newselect",
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "arch_prctl",
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "bind",
        "breakpoint",
        "brk",
        "cachestat",
        "cacheflush",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "chown32",
        "chroot",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "fchown",
        "fchown32",
        "fchownat",
        "fcntl",
        "fcntl64",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstat64",
        "fstatat64",
        "fstatfs",
        "fstatfs64",
        "fsync",
        "ftruncate",
        "ftruncate64",
        "futex",
        "futex_requeue",
        "futex_time64",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "futimesat",
        "get_robust_list",
        "get_thread_area",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "getegid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getgroups",
        "getgroups32",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresgid32",
        "getresuid",
        "getresuid32",
        "getrlimit",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "gettid",
        "gettimeofday",
        "getuid",
        "getuid32",
        "getxattr",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "io_setup",
        "io_submit",
        "ioctl",
        "ioprio_get",
        "ioprio_set",
        "ipc",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lchown32",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listxattr",
        "llistxattr",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "lstat64",
        "madvise",
        "map_shadow_stack",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mmap2",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
        "mremap",
        "mseal",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "nice",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_getfd",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "ppoll_time64",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_madvise",
        "process_mrelease",
        "process_vm_readv",
        "process_vm_writev",
        "pselect6",
        "pselect6_time64",
        "ptrace",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readdir",
        "readlink",
        "readlinkat",
        "readv",
        "recv",
        "recvfrom",
        "recvmmsg",
        "recvmmsg_time64",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "send",
        "sendfile",
        "sendfile64",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "set_robust_list",
        "set_thread_area",
        "set_tid_address",
        "set_tls",
        "setfsgid",
        "setfsgid32",
        "setfsuid",
        "setfsuid32",
        "setgid",
        "setgid32",
        "setgroups",
        "setgroups32",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setregid32",
        "setresgid",
        "setresgid32",
        "setresuid",
        "setresuid32",
        "setreuid",
        "setreuid32",
        "setrlimit",
        "setsid",
        "setsockopt",
        "setuid",
        "setuid32",
        "setxattr",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaction",
        "sigaltstack",
        "signal",
        "signalfd",
        "signalfd4",
        "sigpending",
        "sigprocmask",
        "sigreturn",
        "sigsuspend",
        "socketcall",
        "socketpair",
        "splice",
        "stat",
        "stat64",
        "statfs",
        "statfs64",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "sync_file_range2",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        "times",
        "tkill",
        "truncate",
        "truncate64",
        "ugetrlimit",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "utime",
        "utimensat",
        "utimensat_time64",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "waitpid",
        "write",
        "writev",
        NULL,
};

/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
 * CLONE_NEWPID | CLONE_NEWNET (CLONE_NEWTIME's bit is the exit signal's in clone). The
 * flags are clone's first argument everywhere but s390, which this profile does not
 * cover. */
#define CLONE_NS_MASK 0x7E020000u
#define AF_VSOCK_FAMILY 40

/* The rules with conditions, one argument each: an entry per allowed value, so that no
 * runtime has to guess how conditions on the same argument combine. */
struct seccomp_rule {
        const char *name;
        const char *action;
        int errno_ret; /* -1: none */
        const char *op; /* NULL: no condition */
        uint64_t value, value_two;
};

static const struct seccomp_rule seccomp_rules[] = {
        {"personality", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_EQ", 0x0, 0}, /* PER_LINUX */
        {"personality", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_EQ", 0x8, 0}, /* PER_LINUX32 */
        {"personality", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_EQ", 0x20000, 0}, /* UNAME26 */
        {"personality", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_EQ", 0x20008, 0}, /* UNAME26 | PER_LINUX32 */
        {"personality", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_EQ", 0xffffffff, 0}, /* query */
        {"clone", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_MASKED_EQ", CLONE_NS_MASK, 0},
        {"socket", "SCMP_ACT_ALLOW", -1, "SCMP_CMP_NE", AF_VSOCK_FAMILY, 0},
        {"clone3", "SCMP_ACT_ERRNO", ENOSYS, NULL, 0, 0},
};

#if defined(__x86_64__)
static const char *const seccomp_archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
#elif defined(__aarch64__)
static const char *const seccomp_archs[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
#else
static const char *const seccomp_archs[] = {NULL}; /* the native one only */
#endif

static void gen_strv(json_gen *g, const char *key, const char *const *v)
{
        json_gen_string(g, key);
        json_gen_string_array(g, v != NULL ? v : STRV(NULL));
}

static void gen_process(json_gen *g)
{
        json_gen_string(g, "process");
        json_gen_object_open(g);
        json_gen_kv_bool(g, "terminal", true);
        json_gen_string(g, "user");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "uid", 0);
        json_gen_kv_uint(g, "gid", 0);
        json_gen_object_close(g);
        gen_strv(g, "args", STRV("sh"));
        gen_strv(g, "env", default_env);
        json_gen_kv_string(g, "cwd", "/");

        json_gen_string(g, "capabilities");
        json_gen_object_open(g);
        gen_strv(g, "bounding", default_caps);
        gen_strv(g, "effective", default_caps);
        gen_strv(g, "permitted", default_caps);
        json_gen_object_close(g);

        json_gen_string(g, "rlimits");
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_string(g, "type", "RLIMIT_NOFILE");
        json_gen_kv_uint(g, "hard", 1024);
        json_gen_kv_uint(g, "soft", 1024);
        json_gen_object_close(g);
        json_gen_array_close(g);

        json_gen_kv_bool(g, "noNewPrivileges", true);
        json_gen_object_close(g);
}

/* Mount options, without uid=/gid= in rootless mode (those ids are not mapped). */
static void gen_mount_options(json_gen *g, const char *const *options, bool rootless)
{
        if (options == NULL)
                return;
        json_gen_string(g, "options");
        json_gen_array_open(g);
        for (; *options != NULL; options++) {
                if (rootless && (strncmp(*options, "uid=", 4) == 0 || strncmp(*options, "gid=", 4) == 0))
                        continue;
                json_gen_string(g, *options);
        }
        json_gen_array_close(g);
}

static void gen_seccomp_rule(json_gen *g, const struct seccomp_rule *r)
{
        json_gen_object_open(g);
        gen_strv(g, "names", STRV(r->name));
        json_gen_kv_string(g, "action", r->action);
        if (r->errno_ret >= 0)
                json_gen_kv_uint(g, "errnoRet", (uint64_t)r->errno_ret);
        if (r->op != NULL) {
                json_gen_string(g, "args");
                json_gen_array_open(g);
                json_gen_object_open(g);
                json_gen_kv_uint(g, "index", 0);
                json_gen_kv_uint(g, "value", r->value);
                json_gen_kv_uint(g, "valueTwo", r->value_two);
                json_gen_kv_string(g, "op", r->op);
                json_gen_object_close(g);
                json_gen_array_close(g);
        }
        json_gen_object_close(g);
}

static void gen_seccomp(json_gen *g)
{
        json_gen_string(g, "seccomp");
        oci_default_seccomp_gen(g);
}

void oci_default_seccomp_gen(json_gen *g)
{
        json_gen_object_open(g);
        json_gen_kv_string(g, "defaultAction", "SCMP_ACT_ERRNO");
        json_gen_kv_uint(g, "defaultErrnoRet", EPERM);
        if (seccomp_archs[0] != NULL)
                gen_strv(g, "architectures", seccomp_archs);
        json_gen_string(g, "syscalls");
        json_gen_array_open(g);
        json_gen_object_open(g);
        gen_strv(g, "names", seccomp_allowed);
        json_gen_kv_string(g, "action", "SCMP_ACT_ALLOW");
        json_gen_object_close(g);
        for (size_t i = 0; i < sizeof(seccomp_rules) / sizeof(seccomp_rules[0]); i++)
                gen_seccomp_rule(g, &seccomp_rules[i]);
        json_gen_array_close(g);
        json_gen_object_close(g);
}

static char **strv_dup(const char *const *v, size_t *ret_n)
{
        size_t n = 0;
        char **out;

        while (v[n] != NULL)
                n++;
        out = calloc(n + 1, sizeof(*out));
        for (size_t i = 0; out != NULL && i < n; i++) {
                out[i] = strdup(v[i]);
                if (out[i] == NULL) {
                        rc_strv_free(out);
                        out = NULL;
                }
        }
        if (ret_n != NULL)
                *ret_n = out != NULL ? n : 0;
        return out;
}

int oci_default_seccomp_build(struct oci_seccomp *ret, rc_error_t *err)
{
        const size_t n_rules = sizeof(seccomp_rules) / sizeof(seccomp_rules[0]);
        struct oci_seccomp s = {.present = true,
                                .default_action = OCI_SECCOMP_ERRNO,
                                .has_default_errno_ret = true,
                                .default_errno_ret = EPERM,
                                .builtin = true};

        s.architectures = seccomp_archs[0] != NULL ? strv_dup(seccomp_archs, &s.n_architectures) : NULL;
        s.syscalls = calloc(1 + n_rules, sizeof(*s.syscalls));
        if ((seccomp_archs[0] != NULL && s.architectures == NULL) || s.syscalls == NULL)
                goto oom;
        s.n_syscalls = 1 + n_rules;
        s.syscalls[0].action = OCI_SECCOMP_ALLOW;
        s.syscalls[0].names = strv_dup(seccomp_allowed, &s.syscalls[0].n_names);
        if (s.syscalls[0].names == NULL)
                goto oom;
        for (size_t i = 0; i < n_rules; i++) {
                const struct seccomp_rule *r = &seccomp_rules[i];
                struct oci_seccomp_syscall *sc = &s.syscalls[1 + i];

                sc->names = strv_dup(STRV(r->name), &sc->n_names);
                if (sc->names == NULL)
                        goto oom;
                /* the table's names are the parser's own: a typo fails the unit test that
                 * compares this with the parsed JSON */
                (void)oci_seccomp_action_from_name(r->action, &sc->action);
                if (r->errno_ret >= 0) {
                        sc->has_errno_ret = true;
                        sc->errno_ret = (unsigned)r->errno_ret;
                }
                if (r->op != NULL) {
                        sc->args = calloc(1, sizeof(*sc->args));
                        if (sc->args == NULL)
                                goto oom;
                        sc->n_args = 1;
                        sc->args[0].value = r->value;
                        sc->args[0].value_two = r->value_two;
                        (void)oci_seccomp_op_from_name(r->op, &sc->args[0].op);
                }
        }
        *ret = s;
        return 0;
oom:
        oci_seccomp_clear(&s);
        *ret = (struct oci_seccomp){0};
        return rc_error_set(err, ENOMEM, "default seccomp profile");
}

static void gen_mounts(json_gen *g, bool rootless)
{
        json_gen_string(g, "mounts");
        json_gen_array_open(g);
        for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++) {
                const struct default_mount *m = &default_mounts[i];

                if (rootless && strcmp(m->destination, "/sys") == 0)
                        m = &rootless_sys;
                json_gen_object_open(g);
                json_gen_kv_string(g, "destination", m->destination);
                json_gen_kv_string(g, "type", m->type);
                json_gen_kv_string(g, "source", m->source);
                gen_mount_options(g, m->options, rootless);
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
}

static void gen_idmap(json_gen *g, const char *key, unsigned long host_id)
{
        json_gen_string(g, key);
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_uint(g, "containerID", 0);
        json_gen_kv_uint(g, "hostID", host_id);
        json_gen_kv_uint(g, "size", 1);
        json_gen_object_close(g);
        json_gen_array_close(g);
}

static void gen_namespaces(json_gen *g, bool rootless)
{
        json_gen_string(g, "namespaces");
        json_gen_array_open(g);
        for (const char *const *ns = default_namespaces; *ns != NULL; ns++) {
                if (rootless && strcmp(*ns, "network") == 0)
                        continue;
                json_gen_object_open(g);
                json_gen_kv_string(g, "type", *ns);
                json_gen_object_close(g);
        }
        if (rootless) {
                json_gen_object_open(g);
                json_gen_kv_string(g, "type", "user");
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
}

static void gen_linux(json_gen *g, bool rootless, bool with_seccomp)
{
        json_gen_string(g, "linux");
        json_gen_object_open(g);
        if (rootless) {
                gen_idmap(g, "uidMappings", (unsigned long)geteuid());
                gen_idmap(g, "gidMappings", (unsigned long)getegid());
        } else {
                /* deny all device access; the runtime adds the default devices */
                json_gen_string(g, "resources");
                json_gen_object_open(g);
                json_gen_string(g, "devices");
                json_gen_array_open(g);
                json_gen_object_open(g);
                json_gen_kv_bool(g, "allow", false);
                json_gen_kv_string(g, "access", "rwm");
                json_gen_object_close(g);
                json_gen_array_close(g);
                json_gen_object_close(g);
        }
        gen_namespaces(g, rootless);
        gen_strv(g, "maskedPaths", masked_paths);
        gen_strv(g, "readonlyPaths", readonly_paths);
        if (with_seccomp)
                gen_seccomp(g);
        json_gen_object_close(g);
}

static int default_spec(bool rootless, bool pretty, bool with_seccomp, char **ret, size_t *ret_len,
                        rc_error_t *err)
{
        json_gen *g = json_gen_new(pretty);
        int r;

        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", OCI_VERSION);
        gen_process(g);
        json_gen_string(g, "root");
        json_gen_object_open(g);
        json_gen_kv_string(g, "path", "rootfs");
        json_gen_kv_bool(g, "readonly", true);
        json_gen_object_close(g);
        json_gen_kv_string(g, "hostname", "run-container");
        gen_mounts(g, rootless);
        gen_linux(g, rootless, with_seccomp);
        json_gen_object_close(g);

        r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        if (r < 0)
                return rc_error_wrap(err, "default spec");
        return 0;
}

int oci_default_spec(bool rootless, char **ret, size_t *ret_len, rc_error_t *err)
{
        return default_spec(rootless, true, true, ret, ret_len, err);
}

int oci_default_spec_compact_no_seccomp(bool rootless, char **ret, size_t *ret_len, rc_error_t *err)
{
        return default_spec(rootless, false, false, ret, ret_len, err);
}
