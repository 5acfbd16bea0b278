/* Re-execution from a read-only or sealed copy of the runtime binary (selfprotect.h). */
#include "runtime/isolation/selfprotect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/syscalls.h"

#define SELF_EXE "/proc/self/exe"
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

/* the detached mount's fd kept across the re-execution (selfprotect.h), or -1 */
static int exe_mount_fd = -1;

/* "fd:N" from the marker: N when it is the open_tree fd of the mount this process runs
 * from (same mount id and inode as /proc/self/exe), now close-on-exec; a value the
 * environment brought from elsewhere names no fd of ours and is left alone. */
static void adopt_exe_mount_fd(const char *value)
{
        struct statx fx, ex;
        char *end;
        long fd;

        if (strncmp(value, "fd:", 3) != 0)
                return;
        errno = 0;
        fd = strtol(value + 3, &end, 10);
        if (errno != 0 || *end != '\0' || end == value + 3 || fd < 3 || fd > INT32_MAX)
                return;
        if (statx((int)fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &fx) < 0 ||
            statx(AT_FDCWD, SELF_EXE, 0, STATX_INO | STATX_MNT_ID, &ex) < 0 ||
            !(fx.stx_mask & ex.stx_mask & STATX_MNT_ID) || fx.stx_mnt_id != ex.stx_mnt_id ||
            fx.stx_ino != ex.stx_ino || fx.stx_dev_major != ex.stx_dev_major ||
            fx.stx_dev_minor != ex.stx_dev_minor)
                return;
        if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
                exe_mount_fd = (int)fd;
}

void rc_selfprotect_release(void)
{
        if (exe_mount_fd >= 0)
                close(exe_mount_fd);
        exe_mount_fd = -1;
}

/* The thread of rc_selfprotect_release_async. It has a copy of our fd table and exits once
 * we closed our own copy (released_ours): its exit closes the copies, the detached
 * mount's fd the last reference, and the grace period of the mount's dissolution is
 * waited for in this thread's exit. Had it exited first (a free CPU runs it at once: 3
 * of 20 `create`s on an idle host), our close would have been the last and waited. It
 * touches no C library state: it shares our TLS (no CLONE_SETTLS), errno too, so its
 * futex wait is a raw system call; glibc's clone makes its return a SYS_exit of the
 * thread alone. */
static char release_stack[4096] __attribute__((aligned(64)));
static int released_ours;

#if defined(__x86_64__)
static void wait_released_ours(void)
{
        while (!__atomic_load_n(&released_ours, __ATOMIC_ACQUIRE)) {
                long ret;
                register long r10 __asm__("r10") = 0; /* no timeout */

                /* returns at once (-EAGAIN) when the value is no longer 0 */
                __asm__ volatile("syscall"
                                 : "=a"(ret)
                                 : "a"((long)SYS_futex), "D"(&released_ours), "S"((long)FUTEX_WAIT_PRIVATE),
                                   "d"(0L), "r"(r10)
                                 : "rcx", "r11", "memory");
                (void)ret;
        }
}
#else
/* no system call here without touching our errno: the thread may exit first */
static void wait_released_ours(void)
{
}
#endif

static int release_main(void *arg)
{
        (void)arg;
        wait_released_ours();
        return 0;
}

void rc_selfprotect_release_async(void)
{
        /* a thread, reaped by the kernel; no CLONE_FILES: a table of its own */
        const int flags = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
        sigset_t all, old;
        int tid;

        if (exe_mount_fd < 0)
                return;
        /* process-directed signals must keep finding us (a signalfd, the relay's
         * forwarding), never the thread */
        sigfillset(&all);
        if (sigprocmask(SIG_SETMASK, &all, &old) < 0) {
                rc_selfprotect_release();
                return;
        }
        __atomic_store_n(&released_ours, 0, __ATOMIC_RELAXED);
        tid = clone(release_main, release_stack + sizeof(release_stack), flags, NULL);
        /* ours goes right away (not the last reference: the thread's copy is), so that no
         * child forked later inherits it; then the thread may go */
        rc_selfprotect_release();
        if (tid > 0) {
                __atomic_store_n(&released_ours, 1, __ATOMIC_RELEASE);
                /* cannot fail for our own word; if it did, the thread would wait until
                 * our exit ends it, and the grace period would be there, as without it */
                (void)syscall(SYS_futex, &released_ours, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* on failure the close above was the last reference: we waited there */
}

static int fill_memfd(int mfd, rc_error_t *err)
{
        _cleanup_close_ int src = open(SELF_EXE, O_RDONLY | O_CLOEXEC);
        struct stat st;
        off_t off = 0;

        if (src < 0 || fstat(src, &st) < 0)
                return rc_error_set(err, errno, "open " SELF_EXE);
        while (off < st.st_size) {
                ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return rc_error_set(err, n < 0 ? errno : EIO, "copy " SELF_EXE " into a memfd");
        }
        if (fcntl(mfd, F_ADD_SEALS, RC_SELFPROTECT_SEALS) < 0)
                return rc_error_set(err, errno, "seal the memfd copy of " SELF_EXE);
        return 0;
}

/* A sealed memfd copy of the binary, reopened read-only: execve refuses a file that is
 * open for writing (ETXTBSY). */
static int sealed_copy(rc_error_t *err)
{
        _cleanup_close_ int mfd = -1;
        char path[64];
        int fd;

        mfd = memfd_create("run-container", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (mfd < 0 && errno == EINVAL) /* before Linux 6.3 */
                mfd = memfd_create("run-container", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return rc_error_set(err, errno, "memfd_create");
        if (fill_memfd(mfd, err) < 0)
                return -1;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "reopen the memfd copy of " SELF_EXE);
        return fd;
}

int rc_selfprotect(char *const argv[], rc_error_t *err)
{
        _cleanup_close_ int exe = -1;
        const char *mark = getenv(RC_SELFPROTECT_ENV);
        bool again = mark != NULL;
        char *marker;
        int r = rc_selfprotect_check();

        if (r < 0)
                return rc_error_set(err, -r, "open " SELF_EXE);
        if (r == 1) {
                if (again)
                        adopt_exe_mount_fd(mark);
                if (again && unsetenv(RC_SELFPROTECT_ENV) < 0)
                        return rc_error_set(err, errno, "unsetenv " RC_SELFPROTECT_ENV);
                if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                        return rc_error_set(err, errno, "prctl PR_SET_DUMPABLE 0");
                return 0;
        }
        if (again)
                return rc_error_set(err, 0,
                                    "re-executed from a protected copy, but " SELF_EXE " is writable");
        /* a value as long as any the marker gets: rc_selfprotect_rebind_exec writes the
         * whole variable into its string in environ */
        if (setenv(RC_SELFPROTECT_ENV, "fd:0123456789", 1) < 0)
                return rc_error_set(err, errno, "setenv " RC_SELFPROTECT_ENV);
        marker = getenv(RC_SELFPROTECT_ENV) - sizeof(RC_SELFPROTECT_ENV);
        /* returns only where open_tree is refused (no CAP_SYS_ADMIN, old kernels) */
        rc_selfprotect_rebind_exec(argv, environ, marker);
        if (setenv(RC_SELFPROTECT_ENV, "1", 1) < 0)
                return rc_error_set(err, errno, "setenv " RC_SELFPROTECT_ENV);
        exe = sealed_copy(err);
        if (exe < 0)
                return -1;
        syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
        return rc_error_set(err, errno, "re-execute the runtime from a protected copy");
}
