/* Unit tests for runtime/isolation/seccomp_compact.c: libseccomp's program for a profile
 * against the compact one, in the emulator over a sweep of architectures, numbers and
 * arguments, and in the kernel (loaded in a forked child with no_new_privs); programs
 * with what the compactor does not model are left alone. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/isolation/seccomp_compact.h"

/* libseccomp's program for a small profile shaped like the sandbox's default: ERRNO by
 * default, an allow list, conditional rules on one argument, a second and third arch. */
static struct sock_filter *libseccomp_program(size_t *ret_n)
{
        static const char *const allow[] = {
                "read",       "write",   "close", "getpid",       "getppid",        "exit_group", "openat",
                "newfstatat", "mmap",    "brk",   "rt_sigaction", "rt_sigprocmask", "wait4",      "exit",
                "futex",      "mkdirat", "fcntl", "dup2",         "lseek",          "pread64",    NULL};
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        struct sock_filter *p;
        size_t len;
        int fd;

        cr_assert_not_null(ctx);
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#if defined(__x86_64__)
        cr_assert_eq(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
        cr_assert_eq(seccomp_arch_add(ctx, SCMP_ARCH_X32), 0);
#endif
        for (size_t i = 0; allow[i] != NULL; i++) {
                int nr = seccomp_syscall_resolve_name(allow[i]);

                if (nr != __NR_SCMP_ERROR)
                        cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0), 0, "%s", allow[i]);
        }
        /* and, as in an engine's profile, most of the native numbers below 200: long runs */
        for (int nr = 0; nr < 200; nr++) {
                char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
                bool skip = name == NULL || strcmp(name, "getuid") == 0 || strcmp(name, "unshare") == 0 ||
                            strcmp(name, "personality") == 0 || strcmp(name, "clone") == 0 ||
                            strcmp(name, "socket") == 0 || nr % 17 == 5;

                if (!skip)
                        cr_assert_eq(
                                seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(name), 0),
                                0, "%s", name);
                free(name);
        }
        cr_assert_eq(
                seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1, SCMP_A0(SCMP_CMP_EQ, 0)), 0);
        cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                                      SCMP_A0(SCMP_CMP_EQ, 0xffffffff)),
                     0);
        cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7E020000, 0)),
                     0);
        cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, 40)),
                     0);
        cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), 0);
        fd = memfd_create("test-seccomp", MFD_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(seccomp_export_bpf(ctx, fd), 0);
        seccomp_release(ctx);
        len = (size_t)lseek(fd, 0, SEEK_END);
        cr_assert(len > 0 && len % sizeof(*p) == 0);
        p = malloc(len);
        cr_assert_not_null(p);
        cr_assert_eq(pread(fd, p, len, 0), (ssize_t)len);
        close(fd);
        *ret_n = len / sizeof(*p);
        return p;
}

static const uint32_t archs[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0,
                                 0xffffffffu,       0x4000003eu /* x32's token, never a task's arch */};

/* Every number below 1100 in either numbering of x86_64 and the top of 32 bits, each with
 * argument vectors from zeros, ones and the profile's constants. */
static void assert_same(const struct sock_filter *a, size_t na, const struct sock_filter *b, size_t nb)
{
        static const uint64_t vals[] = {0,
                                        1,
                                        8,
                                        40,
                                        41,
                                        0xffffffffu,
                                        0x100000000ull,
                                        UINT64_MAX,
                                        0x7E020000u,
                                        0x10000000u,
                                        0x20000,
                                        0x7E020000ull << 32};
        size_t cases = 0;

        for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++) {
                for (uint64_t base = 0; base <= 0x40000000u; base += 0x40000000u) {
                        for (uint32_t nr = 0; nr < 1100; nr++) {
                                for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
                                        uint64_t args[6] = {
                                                vals[v], vals[(v + 3) % 12], vals[(v + 5) % 12], 0, 0,
                                                vals[v]};
                                        uint32_t x = 0, y = 0, at = (uint32_t)base + nr;

                                        cr_assert(rc_seccomp_emulate(a, na, archs[i], at, args, &x));
                                        cr_assert(rc_seccomp_emulate(b, nb, archs[i], at, args, &y));
                                        cr_assert_eq(x, y,
                                                     "arch 0x%x nr 0x%x arg0 0x%llx: 0x%x against 0x%x",
                                                     archs[i], at, (unsigned long long)args[0], x, y);
                                        cases++;
                                }
                        }
                }
                for (uint32_t nr = 0xfffffff0u; nr != 0; nr++) {
                        uint64_t args[6] = {0};
                        uint32_t x = 0, y = 0;

                        cr_assert(rc_seccomp_emulate(a, na, archs[i], nr, args, &x));
                        cr_assert(rc_seccomp_emulate(b, nb, archs[i], nr, args, &y));
                        cr_assert_eq(x, y);
                }
        }
        cr_assert_gt(cases, 100000);
}

Test(seccomp_compact, smaller_and_the_same_in_the_emulator)
{
        size_t n = 0, m = 0;
        struct sock_filter *orig = libseccomp_program(&n), *small = NULL;

        cr_assert_eq(rc_seccomp_compact(orig, n, &small, &m), 1);
        cr_assert_lt(m, n, "%zu instructions from %zu", m, n);
        assert_same(orig, n, small, m);
        free(orig);
        free(small);
}

/* In the kernel: allowed, denied with the profile's errno, argument rules, ENOSYS. */
static int child_checks(const struct sock_filter *p, size_t n)
{
        struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)p};

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return 10;
        if (syscall(SYS_getpid) <= 0)
                return 11;
        errno = 0;
        if (syscall(SYS_getuid) != -1 || errno != EPERM) /* not in the list */
                return 12;
        if (syscall(SYS_personality, 0xffffffffUL) < 0) /* a query: allowed */
                return 13;
        errno = 0;
        if (syscall(SYS_personality, 0x0008UL) != -1 || errno != EPERM) /* PER_LINUX32: not here */
                return 14;
        errno = 0;
        if (syscall(SYS_socket, 40, 1, 0) != -1 || errno != EPERM) /* AF_VSOCK */
                return 15;
        errno = 0;
        if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
                return 16;
        errno = 0;
        if (syscall(SYS_unshare, 0) != -1 || errno != EPERM)
                return 17;
        return 0;
}

Test(seccomp_compact, loads_and_holds_in_the_kernel)
{
        size_t n = 0, m = 0;
        struct sock_filter *orig = libseccomp_program(&n), *small = NULL;
        int status = 0;
        pid_t pid;

        cr_assert_eq(rc_seccomp_compact(orig, n, &small, &m), 1);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(child_checks(small, m));
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
        free(orig);
        free(small);
}

/* What it does not model keeps the original: a jset on the number, an index register. */
Test(seccomp_compact, unmodelled_programs_are_kept)
{
        struct sock_filter jset[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        };
        struct sock_filter ldx[] = {
                BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_filter *out = NULL;
        size_t m = 0;

        cr_assert_eq(rc_seccomp_compact(jset, 4, &out, &m), 0);
        cr_assert_eq(rc_seccomp_compact(ldx, 2, &out, &m), 0);
        cr_assert_null(out);
}

static size_t count_code(const struct sock_filter *p, size_t n, uint16_t code)
{
        size_t c = 0;

        for (size_t i = 0; i < n; i++)
                c += p[i].code == code;
        return c;
}

/* The tree's leaves share their section's returns: a comparison jumps straight to one `ret`
 * per value, not to a `ret` of its own (half the program the kernel converts and JITs). */
Test(seccomp_compact, returns_are_shared)
{
        size_t n = 0, m = 0, jumps, rets;
        struct sock_filter *orig = libseccomp_program(&n), *small = NULL;

        cr_assert_eq(rc_seccomp_compact(orig, n, &small, &m), 1);
        jumps = count_code(small, m, BPF_JMP | BPF_JGT | BPF_K);
        rets = count_code(small, m, BPF_RET | BPF_K);
        cr_assert_gt(jumps, 20);
        cr_assert_lt(rets * 4, jumps, "%zu returns for %zu comparisons (%zu instructions)", rets, jumps, m);
        assert_same(orig, n, small, m);
        free(orig);
        free(small);
}

/* A section too large for the pooled returns (jumps of at most 255): 1200 intervals from
 * a list of 600 numbers. The original is kept. */
Test(seccomp_compact, large_sections_are_kept)
{
        size_t n = 0, m = 0;
        struct sock_filter *orig = calloc(2 + 1200 + 2, sizeof(*orig)), *small = NULL;

        cr_assert_not_null(orig);
        orig[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4);
        orig[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
        for (uint32_t i = 0; i < 600; i++) { /* each number: to the allow at the end */
                orig[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2 * i, 0, 1);
                orig[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 2 * (599 - i) + 1);
        }
        orig[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
        orig[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        cr_assert_eq(rc_seccomp_compact(orig, n, &small, &m), 0);
        cr_assert_null(small);
        free(orig);
}
