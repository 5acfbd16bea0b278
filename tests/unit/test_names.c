#include <criterion/criterion.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "specs/names.h"

Test(names, namespaces)
{
        enum oci_ns_type t;

        cr_assert_eq(oci_ns_from_name("network", &t), 0);
        cr_assert_eq(t, OCI_NS_NETWORK);
        cr_assert_str_eq(oci_ns_proc_name(t), "net");
        cr_assert_eq(oci_ns_clone_flag(t), CLONE_NEWNET);
        cr_assert_eq(oci_ns_from_name("mount", &t), 0);
        cr_assert_str_eq(oci_ns_proc_name(t), "mnt");
        cr_assert_eq(oci_ns_clone_flag(t), CLONE_NEWNS);
        cr_assert_eq(oci_ns_from_name("time", &t), 0);
        cr_assert_eq(t, OCI_NS_TIME);
        cr_assert_eq(oci_ns_clone_flag(OCI_NS_USER), CLONE_NEWUSER);
        cr_assert_eq(oci_ns_clone_flag(OCI_NS_CGROUP), CLONE_NEWCGROUP);
        cr_assert_eq(oci_ns_from_name("net", &t), -1);
        cr_assert_eq(oci_ns_from_name("PID", &t), -1);
        cr_assert_eq(oci_ns_from_name("", &t), -1);
        cr_assert_null(oci_ns_name(OCI_NS_COUNT));

        /* every enum value has a name that maps back */
        for (int i = 0; i < OCI_NS_COUNT; i++) {
                cr_assert_not_null(oci_ns_names[i]);
                cr_assert_str_eq(oci_ns_names[i], oci_ns_name(i));
                cr_assert_eq(oci_ns_from_name(oci_ns_names[i], &t), 0);
                cr_assert_eq(t, (enum oci_ns_type)i);
        }
        cr_assert_null(oci_ns_names[OCI_NS_COUNT]);
}

Test(names, signals_by_name)
{
        int sig = 0;

        cr_assert_eq(oci_signal_from_string("KILL", &sig), 0);
        cr_assert_eq(sig, SIGKILL);
        cr_assert_eq(oci_signal_from_string("SIGTERM", &sig), 0);
        cr_assert_eq(sig, SIGTERM);
        cr_assert_eq(oci_signal_from_string("hup", &sig), 0);
        cr_assert_eq(sig, SIGHUP);
        cr_assert_eq(oci_signal_from_string("sigusr1", &sig), 0);
        cr_assert_eq(sig, SIGUSR1);
        cr_assert_eq(oci_signal_from_string("CLD", &sig), 0);
        cr_assert_eq(sig, SIGCHLD);
        cr_assert_str_eq(oci_signal_name(SIGKILL), "SIGKILL");
        cr_assert_str_eq(oci_signal_name(SIGCHLD), "SIGCHLD");
        cr_assert_str_eq(oci_signal_name(SIGABRT), "SIGABRT");
        cr_assert_null(oci_signal_name(SIGRTMIN));
        cr_assert_null(oci_signal_name(0));
}

Test(names, signals_by_number_and_rt)
{
        int sig = 0;

        cr_assert_eq(oci_signal_from_string("9", &sig), 0);
        cr_assert_eq(sig, 9);
        cr_assert_eq(oci_signal_from_string("64", &sig), _NSIG > 64 ? 0 : -1);
        cr_assert_eq(oci_signal_from_string("RTMIN", &sig), 0);
        cr_assert_eq(sig, SIGRTMIN);
        cr_assert_eq(oci_signal_from_string("RTMIN+3", &sig), 0);
        cr_assert_eq(sig, SIGRTMIN + 3);
        cr_assert_eq(oci_signal_from_string("SIGRTMAX-1", &sig), 0);
        cr_assert_eq(sig, SIGRTMAX - 1);
        cr_assert_eq(oci_signal_from_string("sigrtmax", &sig), 0);
        cr_assert_eq(sig, SIGRTMAX);
}

Test(names, signals_rejected)
{
        static const char *const bad[] = {
                "0",  "-9", "9x",      "x9",      "",       "SIG",     "SIG9",       "KILLX",
                "+9", " 9", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "RTMIN+1000", "99999999999999999999",
        };
        char nsig[16];
        int sig = 12345;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(oci_signal_from_string(bad[i], &sig), -1, "accepted \"%s\"", bad[i]);
        snprintf(nsig, sizeof(nsig), "%d", _NSIG);
        cr_assert_eq(oci_signal_from_string(nsig, &sig), -1);
        cr_assert_eq(oci_signal_from_string(NULL, &sig), -1);
        cr_assert_eq(sig, 12345, "output touched on failure");
}

Test(names, capabilities)
{
        int cap = -1;

        cr_assert_eq(oci_cap_from_name("CAP_CHOWN", &cap), 0);
        cr_assert_eq(cap, 0);
        cr_assert_eq(oci_cap_from_name("CAP_SYS_ADMIN", &cap), 0);
        cr_assert_eq(cap, 21);
        cr_assert_eq(oci_cap_from_name("CAP_CHECKPOINT_RESTORE", &cap), 0);
        cr_assert_eq(cap, 40);
        cr_assert_eq(oci_cap_from_name("cap_chown", &cap), -1);
        cr_assert_eq(oci_cap_from_name("CHOWN", &cap), -1);
        cr_assert_eq(oci_cap_from_name("CAP_FOO", &cap), -1);
        cr_assert_str_eq(oci_cap_name(5), "CAP_KILL");
        cr_assert_null(oci_cap_name(OCI_CAP_LAST + 1));
        cr_assert_null(oci_cap_name(-1));
        for (int i = 0; i <= OCI_CAP_LAST; i++)
                cr_assert_not_null(oci_cap_names[i]);
        cr_assert_null(oci_cap_names[OCI_CAP_LAST + 1]);
}

Test(names, rlimits)
{
        int r = -1;

        cr_assert_eq(oci_rlimit_from_name("RLIMIT_NOFILE", &r), 0);
        cr_assert_eq(r, RLIMIT_NOFILE);
        cr_assert_eq(oci_rlimit_from_name("RLIMIT_RTTIME", &r), 0);
        cr_assert_eq(r, RLIMIT_RTTIME);
        cr_assert_eq(oci_rlimit_from_name("RLIMIT_CPU", &r), 0);
        cr_assert_eq(r, RLIMIT_CPU);
        cr_assert_eq(oci_rlimit_from_name("NOFILE", &r), -1);
        cr_assert_eq(oci_rlimit_from_name("rlimit_nofile", &r), -1);
        cr_assert_str_eq(oci_rlimit_name(RLIMIT_AS), "RLIMIT_AS");
        cr_assert_null(oci_rlimit_name(1000));
}

static struct oci_mount apply_all(const char *const *opts)
{
        struct oci_mount m = {0};

        for (; *opts; opts++)
                cr_assert_eq(oci_mount_option_apply(*opts, &m), 1, "\"%s\" not a flag", *opts);
        return m;
}

Test(names, mount_flags)
{
        struct oci_mount m =
                apply_all((const char *const[]){"ro", "nosuid", "nodev", "noexec", "relatime", NULL});

        cr_assert_eq(m.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
        cr_assert_eq(m.clear_flags, 0);
        cr_assert_not(m.is_bind);

        m = apply_all((const char *const[]){"ro", "rw", "suid", "atime", "strictatime", NULL});
        cr_assert_eq(m.flags, MS_STRICTATIME);
        cr_assert_eq(m.clear_flags, MS_RDONLY | MS_NOSUID | MS_NOATIME);

        m = apply_all((const char *const[]){"rbind", NULL});
        cr_assert_eq(m.flags, MS_BIND | MS_REC);
        cr_assert(m.is_bind);
        m = apply_all((const char *const[]){"bind", "rslave", NULL});
        cr_assert_eq(m.flags, MS_BIND);
        cr_assert(m.is_bind);
        cr_assert_eq(m.propagation, MS_SLAVE | MS_REC);
}

Test(names, mount_data_options)
{
        struct oci_mount m = {0};

        cr_assert_eq(oci_mount_option_apply("mode=755", &m), 0);
        cr_assert_eq(oci_mount_option_apply("size=65536k", &m), 0);
        cr_assert_eq(oci_mount_option_apply("RO", &m), 0);
        cr_assert_eq(m.flags | m.clear_flags | m.propagation | m.attr_set | m.attr_clr, 0);
}

Test(names, mount_recursive_attrs)
{
        struct oci_mount m =
                apply_all((const char *const[]){"rro", "rnosuid", "rnodev", "rnosymfollow", NULL});

        cr_assert_eq(m.attr_set,
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSYMFOLLOW);
        cr_assert_eq(m.attr_clr, 0);
        cr_assert_eq(m.flags, 0);

        m = apply_all((const char *const[]){"rro", "rrw", "rexec", NULL});
        cr_assert_eq(m.attr_set, 0);
        cr_assert_eq(m.attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);

        m = apply_all((const char *const[]){"rnoatime", NULL});
        cr_assert_eq(m.attr_set, MOUNT_ATTR_NOATIME);
        cr_assert_eq(m.attr_clr, MOUNT_ATTR__ATIME);
        m = apply_all((const char *const[]){"rnoatime", "rstrictatime", NULL});
        cr_assert_eq(m.attr_set, MOUNT_ATTR_STRICTATIME);
        cr_assert_eq(m.attr_clr, MOUNT_ATTR__ATIME);
        m = apply_all((const char *const[]){"rnoatime", "rrelatime", "rnodiratime", NULL});
        cr_assert_eq(m.attr_set, MOUNT_ATTR_RELATIME | MOUNT_ATTR_NODIRATIME);
        cr_assert_eq(m.attr_clr, MOUNT_ATTR__ATIME);
}

Test(names, mount_option_names_all_known)
{
        size_t n = 0;

        for (const char *const *p = oci_mount_option_names; *p; p++, n++) {
                struct oci_mount m = {0};

                cr_assert_eq(oci_mount_option_apply(*p, &m), 1, "\"%s\"", *p);
        }
        cr_assert_geq(n, 50);
}

Test(names, propagation)
{
        unsigned long f = 0;

        cr_assert_eq(oci_propagation_from_name("rprivate", &f), 0);
        cr_assert_eq(f, MS_PRIVATE | MS_REC);
        cr_assert_eq(oci_propagation_from_name("shared", &f), 0);
        cr_assert_eq(f, MS_SHARED);
        cr_assert_eq(oci_propagation_from_name("runbindable", &f), 0);
        cr_assert_eq(f, MS_UNBINDABLE | MS_REC);
        cr_assert_eq(oci_propagation_from_name("rprivat", &f), -1);
        cr_assert_eq(oci_propagation_from_name("", &f), -1);
}

Test(names, seccomp_actions_and_ops)
{
        enum oci_seccomp_action a;
        enum oci_seccomp_op op;

        cr_assert_eq(oci_seccomp_action_from_name("SCMP_ACT_ERRNO", &a), 0);
        cr_assert_eq(a, OCI_SECCOMP_ERRNO);
        cr_assert_eq(oci_seccomp_action_from_name("SCMP_ACT_KILL_PROCESS", &a), 0);
        cr_assert_eq(a, OCI_SECCOMP_KILL_PROCESS);
        cr_assert_eq(oci_seccomp_action_from_name("SCMP_ACT_NOTIFY", &a), 0);
        cr_assert_eq(a, OCI_SECCOMP_NOTIFY);
        cr_assert_eq(oci_seccomp_action_from_name("SCMP_ACT_KILL", &a), 0);
        cr_assert_eq(a, OCI_SECCOMP_KILL);
        cr_assert_eq(oci_seccomp_action_from_name("scmp_act_allow", &a), -1);
        cr_assert_eq(oci_seccomp_action_from_name("SCMP_ACT_FOO", &a), -1);
        cr_assert_str_eq(oci_seccomp_action_name(OCI_SECCOMP_LOG), "SCMP_ACT_LOG");
        cr_assert_null(oci_seccomp_action_name(OCI_SECCOMP_NOTIFY + 1));

        cr_assert_eq(oci_seccomp_op_from_name("SCMP_CMP_MASKED_EQ", &op), 0);
        cr_assert_eq(op, OCI_SECCOMP_OP_MASKED_EQ);
        cr_assert_eq(oci_seccomp_op_from_name("SCMP_CMP_NE", &op), 0);
        cr_assert_eq(op, OCI_SECCOMP_OP_NE);
        cr_assert_eq(oci_seccomp_op_from_name("SCMP_CMP_XX", &op), -1);
        cr_assert_str_eq(oci_seccomp_op_name(OCI_SECCOMP_OP_GE), "SCMP_CMP_GE");
        cr_assert_null(oci_seccomp_op_name(OCI_SECCOMP_OP_MASKED_EQ + 1));
}

Test(names, seccomp_flags_and_archs)
{
        unsigned bit = 0;

        cr_assert_eq(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_TSYNC", &bit), 0);
        cr_assert_eq(bit, 1);
        cr_assert_eq(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_LOG", &bit), 0);
        cr_assert_eq(bit, 2);
        cr_assert_eq(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &bit), 0);
        cr_assert_eq(bit, 4);
        cr_assert_eq(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", &bit), 0);
        cr_assert_eq(bit, 32);
        cr_assert_eq(oci_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_NEW_LISTENER", &bit), -1);

        cr_assert(oci_seccomp_arch_known("SCMP_ARCH_X86_64"));
        cr_assert(oci_seccomp_arch_known("SCMP_ARCH_AARCH64"));
        cr_assert(oci_seccomp_arch_known("SCMP_ARCH_RISCV64"));
        cr_assert_not(oci_seccomp_arch_known("x86_64"));
        cr_assert_not(oci_seccomp_arch_known("SCMP_ARCH_FOO"));
        cr_assert_not(oci_seccomp_arch_known(NULL));
}

Test(names, exported_lists_terminated)
{
        const char *const *lists[] = {oci_seccomp_action_names, oci_seccomp_op_names, oci_seccomp_flag_names,
                                      oci_seccomp_arch_names};
        const size_t expect[] = {9, 7, 4, 19};

        for (size_t i = 0; i < 4; i++) {
                size_t n = 0;

                while (lists[i][n] != NULL)
                        n++;
                cr_assert_eq(n, expect[i], "list %zu has %zu names", i, n);
        }
}
