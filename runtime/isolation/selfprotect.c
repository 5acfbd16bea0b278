/* Re-execution from a read-only or sealed copy of the runtime binary (selfprotect.h). */
#include "runtime/isolation/selfprotect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/syscalls.h"

#define SELF_EXE "/proc/self/exe"
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

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
        bool again = getenv(RC_SELFPROTECT_ENV) != NULL;
        int r = rc_selfprotect_check();

        if (r < 0)
                return rc_error_set(err, -r, "open " SELF_EXE);
        if (r == 1) {
                if (again && unsetenv(RC_SELFPROTECT_ENV) < 0)
                        return rc_error_set(err, errno, "unsetenv " RC_SELFPROTECT_ENV);
                if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                        return rc_error_set(err, errno, "prctl PR_SET_DUMPABLE 0");
                return 0;
        }
        if (again)
                return rc_error_set(err, 0,
                                    "re-executed from a protected copy, but " SELF_EXE " is writable");
        if (setenv(RC_SELFPROTECT_ENV, "1", 1) < 0)
                return rc_error_set(err, errno, "setenv " RC_SELFPROTECT_ENV);
        /* returns only where open_tree is refused (no CAP_SYS_ADMIN, old kernels) */
        rc_selfprotect_rebind_exec(argv, environ);
        exe = sealed_copy(err);
        if (exe < 0)
                return -1;
        syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
        return rc_error_set(err, errno, "re-execute the runtime from a protected copy");
}
