/* Thin wrappers for system calls glibc 2.36 does not wrap (or wraps late). */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline pid_t rc_clone3(struct clone_args *args, size_t size)
{
        return (pid_t)syscall(SYS_clone3, args, size);
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
