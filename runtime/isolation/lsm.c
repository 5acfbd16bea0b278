#include "runtime/isolation/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

bool rc_lsm_enabled(const char *sysroot, enum rc_lsm lsm)
{
        char path[512], c = 0;
        _cleanup_close_ int fd = -1;

        if (lsm == RC_LSM_SELINUX) {
                snprintf(path, sizeof(path), "%s/sys/fs/selinux/enforce", sysroot);
                return access(path, F_OK) == 0;
        }
        snprintf(path, sizeof(path), "%s/sys/module/apparmor/parameters/enabled", sysroot);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

int rc_lsm_exec_attr(enum rc_lsm lsm, const char *value, char *buf, size_t size)
{
        int n = lsm == RC_LSM_APPARMOR ? snprintf(buf, size, "exec %s", value)
                                       : snprintf(buf, size, "%s", value);

        return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int write_attr(const char *const *paths, const char *text, rc_error_t *err)
{
        int last = ENOENT;

        for (; *paths; paths++) {
                rc_error_t open_err = NULL;
                /* through the procfs verified at the init's start, not the container's /proc */
                _cleanup_close_ int fd = rc_proc_open(*paths, O_WRONLY | O_CLOEXEC, &open_err);
                ssize_t n;

                if (fd < 0) {
                        last = open_err ? open_err->status : ENOENT;
                        rc_error_free(&open_err);
                        continue;
                }
                n = write(fd, text, strlen(text));
                if (n < 0)
                        return rc_error_set(err, errno, "write `%s` to `/proc/%s`", text, *paths);
                return 0;
        }
        return rc_error_set(err, last, "set exec label `%s`", text);
}

static int apply_one(enum rc_lsm lsm, const char *value, const struct rc_logger *log, rc_error_t *err)
{
        static const char *const apparmor[] = {"thread-self/attr/apparmor/exec", "thread-self/attr/exec",
                                               NULL};
        static const char *const selinux[] = {"thread-self/attr/exec", NULL};
        const char *name = lsm == RC_LSM_APPARMOR ? "apparmorProfile" : "selinuxLabel";
        char text[4096];

        if (value == NULL || value[0] == '\0')
                return 0;
        if (!rc_lsm_enabled("", lsm)) {
                rc_log(log, RC_LOG_DEBUG, "process.%s `%s` ignored: the host does not run %s", name, value,
                       lsm == RC_LSM_APPARMOR ? "AppArmor" : "SELinux");
                return 0;
        }
        if (rc_lsm_exec_attr(lsm, value, text, sizeof(text)) < 0)
                return rc_error_set(err, ENAMETOOLONG, "process.%s: value too long", name);
        if (write_attr(lsm == RC_LSM_APPARMOR ? apparmor : selinux, text, err) < 0)
                return rc_error_wrap(err, "apply process.%s", name);
        return 0;
}

int rc_lsm_apply_exec(const struct oci_process *p, const struct rc_logger *log, rc_error_t *err)
{
        if (apply_one(RC_LSM_APPARMOR, p->apparmor_profile, log, err) < 0)
                return -1;
        return apply_one(RC_LSM_SELINUX, p->selinux_label, log, err);
}
