/* Thin wrappers for system calls glibc 2.36 does not wrap (or wraps late). */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* clone3, falling back to clone where clone3 is refused with ENOSYS (kernels before 5.3,
 * seccomp profiles such as Docker's default, valgrind) and the request does not need it:
 * a fork-style clone (no stack, pidfd, tid or cgroup). Asked for CLONE_INTO_CGROUP, it
 * fails with E2BIG instead, which callers already take for "move the child afterwards". */
static inline pid_t rc_clone3(struct clone_args *args, size_t size)
{
        pid_t pid = (pid_t)syscall(SYS_clone3, args, size);

        if (pid >= 0 || errno != ENOSYS)
                return pid;
        if (args->flags & CLONE_INTO_CGROUP) {
                errno = E2BIG;
                return -1;
        }
        if (args->stack != 0 || args->pidfd != 0 || args->set_tid != 0 || (args->flags >> 32) != 0)
                return pid;
        return (pid_t)syscall(SYS_clone, (unsigned long)args->flags | (unsigned long)args->exit_signal, 0UL,
                              NULL, NULL, 0UL);
}

static inline int rc_openat2(int dirfd, const char *path, struct open_how *how, size_t size)
{
        return (int)syscall(SYS_openat2, dirfd, path, how, size);
}

static inline int rc_pivot_root(const char *new_root, const char *put_old)
{
        return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static inline int rc_mount_setattr(int dirfd, const char *path, unsigned flags, struct mount_attr *attr,
                                   size_t size)
{
        return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, size);
}

static inline int rc_open_tree(int dirfd, const char *path, unsigned flags)
{
        return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static inline int rc_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
                                unsigned flags)
{
        return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

static inline int rc_pidfd_open(pid_t pid, unsigned flags)
{
        return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int rc_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags);
}

static inline int rc_close_range(unsigned first, unsigned last, unsigned flags)
{
        return (int)syscall(SYS_close_range, first, last, flags);
}
