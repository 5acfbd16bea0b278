/* The protection check and the re-execution from a read-only bind, with system calls
 * only (selfprotect.h). This file runs before the C library is initialised when the
 * program's entry (cli/entry.c) calls it: no function of the C library, no errno, no data
 * that holds a pointer (a static PIE has not relocated itself yet), no stack protector
 * (no TLS yet); meson.build compiles it with -fno-stack-protector and -fno-builtin. */
#include "runtime/isolation/selfprotect.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef ST_RDONLY
#define ST_RDONLY 1
#endif

static const char self_exe[] = "/proc/self/exe";

/* The result of the system call, or -errno. */
#if defined(__x86_64__)
static long raw_syscall(long nr, long a, long b, long c, long d, long e)
{
        long ret;
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                         : "rcx", "r11", "memory");
        return ret;
}
#else
/* No early entry on other architectures (meson.build): the C library's syscall(). */
#include <errno.h>
#include <unistd.h>

static long raw_syscall(long nr, long a, long b, long c, long d, long e)
{
        long ret = syscall(nr, a, b, c, d, e);

        return ret < 0 ? -errno : ret;
}
#endif

int rc_selfprotect_check(void)
{
        struct statfs sfs;
        long fd, seals;
        int ret = 0;

        /* the read-only mount (the re-executed process' case) in one call: statfs follows
         * the link to the file this process runs */
        if (raw_syscall(SYS_statfs, (long)self_exe, (long)&sfs, 0, 0, 0) == 0 && (sfs.f_flags & ST_RDONLY))
                return 1;
        fd = raw_syscall(SYS_openat, AT_FDCWD, (long)self_exe, O_RDONLY | O_CLOEXEC, 0, 0);
        if (fd < 0)
                return (int)fd;
        if ((seals = raw_syscall(SYS_fcntl, fd, F_GET_SEALS, 0, 0, 0)) >= 0 &&
            (seals & RC_SELFPROTECT_SEALS) == RC_SELFPROTECT_SEALS)
                ret = 1;
        raw_syscall(SYS_close, fd, 0, 0, 0, 0);
        return ret;
}

/* "NAME=fd:N" into marker (RC_SELFPROTECT_MARKER_SIZE bytes; N < 2^31 has 10 digits). */
static void write_marker(char *marker, long fd)
{
        static const char name[] = RC_SELFPROTECT_ENV "=fd:";
        char digits[12];
        size_t i = 0, n = 0;

        for (; name[i] != '\0'; i++)
                marker[i] = name[i];
        do {
                digits[n++] = (char)('0' + fd % 10);
                fd /= 10;
        } while (fd > 0 && n < sizeof(digits));
        while (n > 0)
                marker[i++] = digits[--n];
        marker[i] = '\0';
}

int rc_selfprotect_rebind_exec(char *const argv[], char *const envp[], char *marker)
{
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        /* no O_CLOEXEC: the new image keeps it (selfprotect.h) */
        long fd = raw_syscall(SYS_open_tree, AT_FDCWD, (long)self_exe, OPEN_TREE_CLONE, 0, 0);
        long r;

        if (fd < 0)
                return (int)fd;
        r = raw_syscall(SYS_mount_setattr, fd, (long)"", AT_EMPTY_PATH, (long)&attr, sizeof(attr));
        if (r == 0) {
                write_marker(marker, fd);
                r = raw_syscall(SYS_execveat, fd, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH);
        }
        raw_syscall(SYS_close, fd, 0, 0, 0, 0);
        return (int)r;
}
