/* The cgroupfs driver (rc_cgroup_ops_v2): the cgroup v2 files written directly. Creation
 * (mkdir -p, controllers, limits, device program), the member processes and their signals,
 * the freezer and removal. The decisions that pick a driver and the path, and the disabled
 * driver, are in cgroup.c; the systemd driver (systemd.c) runs these steps on its scope. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/clock.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/base/userdirs.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/internal.h"

#define MAX_DEPTH 16
#define PROCS_FILE_MAX (16 * 1024 * 1024)

/* ---- helpers ----------------------------------------------------------------------------- */

static int write_str(int dirfd, const char *file, const char *value, rc_error_t *err)
{
        return rc_write_file_at(dirfd, file, value, strlen(value), err);
}

int rc_cgroup_enter_fd(int dirfd, pid_t pid, rc_error_t *err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%d", (int)pid);
        if (write_str(dirfd, "cgroup.procs", buf, err) < 0)
                return rc_error_wrap(err, "move pid %d into its cgroup", (int)pid);
        return 0;
}

int rc_cgroup_open_of_pid(pid_t pid, rc_error_t *err)
{
        _cleanup_free_ char *rel = NULL, *path = NULL;
        int fd;

        if (rc_cgroup_path_of_pid(pid, &rel, err) < 0)
                return -1;
        if (asprintf(&path, RC_CGROUP_MOUNT "%s", rel) < 0)
                return rc_error_set(err, ENOMEM, "cgroup of pid %d", (int)pid);
        if (strstr(path, "/../") != NULL)
                return rc_error_set(err, EINVAL, "cgroup of pid %d: `%s`", (int)pid, path);
        fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open the cgroup of pid %d `%s`", (int)pid, path);
        return fd;
}

/* The controllers listed in a space-separated file (cgroup.controllers). */
static unsigned read_controllers(int dirfd, const char *file)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *data = NULL;
        unsigned mask = 0;
        char *p;

        if (rc_read_file_at(dirfd, file, RC_CGROUP_SMALL_FILE_MAX, &data, NULL, &e) < 0)
                return 0;
        for (p = data; *p;) {
                size_t n = strcspn(p, " \n");

                mask |= rc_cgroup_controller_bit(p, n);
                p += n;
                p += strspn(p, " \n");
        }
        return mask;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- cgroupfs driver: create ------------------------------------------------------------ */

/* Make every available controller usable below dirfd: the required ones are checked
 * on the leaf afterwards, which gives the clearer message. */
static void enable_controllers(struct rc_cgroup *cg, int dirfd, const char *where)
{
        unsigned avail = read_controllers(dirfd, "cgroup.controllers");
        unsigned on = read_controllers(dirfd, "cgroup.subtree_control");

        for (unsigned bit = 1; bit & RC_CG_ALL; bit <<= 1) {
                _cleanup_error_ rc_error_t e = NULL;
                const char *name = rc_cgroup_controller_name(bit);
                char buf[32];

                if (!(avail & bit) || (on & bit))
                        continue;
                snprintf(buf, sizeof(buf), "+%s", name);
                if (write_str(dirfd, "cgroup.subtree_control", buf, &e) < 0)
                        rc_log(cg->log, RC_LOG_DEBUG, "enable controller %s in `%s`: %s", name, where,
                               e->msg);
        }
}

/* mkdir -p of cg->path under the mount, enabling controllers on the way down. */
static int make_dirs(struct rc_cgroup *cg, rc_error_t *err)
{
        _cleanup_close_ int fd = open(cg->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char where[4096];
        const char *p = cg->path;
        size_t wl;

        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", cg->mount);
        wl = (size_t)snprintf(where, sizeof(where), "%s", cg->mount);
        while (*p == '/')
                p++;
        while (*p != '\0') {
                size_t n = strcspn(p, "/");
                char name[256];
                int sub;

                if (n >= sizeof(name))
                        return rc_error_set(err, ENAMETOOLONG, "cgroup `%s`", cg->path);
                memcpy(name, p, n);
                name[n] = '\0';
                enable_controllers(cg, fd, where);
                wl += (size_t)snprintf(where + wl, sizeof(where) - wl, "/%s", name);
                if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "create cgroup `%s`", where);
                sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return rc_error_set(err, errno, "open cgroup `%s`", where);
                close(fd);
                fd = sub;
                p += n;
                p += strspn(p, "/");
        }
        cg->dirfd = TAKE_FD(fd);
        return 0;
}

static int check_controllers(struct rc_cgroup *cg, unsigned required, rc_error_t *err)
{
        unsigned missing = required & ~read_controllers(cg->dirfd, "cgroup.controllers");
        _cleanup_free_ char *names = NULL;

        if (missing == 0)
                return 0;
        names = rc_cgroup_controllers_text(missing);
        return rc_error_set(
                err, 0,
                "cgroup controller %s%s not available in `%s%s` (not delegated to it): enable it "
                "in the parent's cgroup.subtree_control, or pass --cgroup-manager=disabled to run "
                "without limits",
                names ? names : "?", __builtin_popcount(missing) > 1 ? " are" : " is", cg->mount, cg->path);
}

static int apply_devices(struct rc_cgroup *cg, const struct oci_device_rule *rules, size_t n,
                         rc_error_t *err)
{
        _cleanup_free_ struct oci_device_rule *all = NULL;
        _cleanup_free_ struct bpf_insn *prog = NULL;
        _cleanup_close_ int fd = -1;
        size_t n_all = 0, n_prog = 0;

        if (rc_device_rules(rules, n, &all, &n_all, err) < 0 ||
            rc_cgroup_devices_program(all, n_all, &prog, &n_prog, err) < 0)
                return -1;
        fd = rc_cgroup_devices_load(prog, n_prog, err);
        if (fd < 0 || rc_cgroup_devices_attach(cg->dirfd, fd, err) < 0)
                return rc_error_wrap(err, ".linux.resources.devices");
        return 0;
}

/* An existing cgroup that is frozen (itself or through an ancestor: cgroup.events says
 * "frozen 1") would stop the init at its first instruction and `create` would wait for
 * it forever: refuse it, as runc does. */
static int check_not_frozen(struct rc_cgroup *cg, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *data = NULL;
        const char *p;

        if (rc_read_file_at(cg->dirfd, "cgroup.events", RC_CGROUP_SMALL_FILE_MAX, &data, NULL, &e) < 0)
                return 0; /* no freezer here (the root cgroup): nothing can be frozen */
        p = strstr(data, "frozen ");
        if (p == NULL || (p != data && p[-1] != '\n') || p[7] != '1')
                return 0;
        return rc_error_set(err, EBUSY,
                            "container's cgroup `%s%s` is unexpectedly frozen: thaw it (write 0 to its "
                            "cgroup.freeze, or its frozen ancestor's) or choose another cgroupsPath",
                            cg->mount, cg->path);
}

int rc_cgroup_v2_configure(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err)
{
        unsigned required = 0;

        rc_cgroup_required(r, &required);
        if (check_not_frozen(cg, err) < 0 || check_controllers(cg, required, err) < 0 ||
            rc_cgroup_apply_resources(cg->dirfd, r, cg->log, err) < 0)
                return -1;
        if (!rc_cgroup_enforces_devices(cg))
                return 0;
        return apply_devices(cg, r->devices, r->n_devices, err);
}

bool rc_cgroup_enforces_devices(const struct rc_cgroup *cg)
{
        /* the kernel loads a cgroup device program for CAP_SYS_ADMIN (or CAP_BPF) in the
         * host's user namespace only */
        return cg->path != NULL && !rc_running_rootless();
}

static int v2_create(struct rc_cgroup *cg, const struct oci_config *cfg, rc_error_t *err)
{
        if (make_dirs(cg, err) < 0)
                return -1;
        return rc_cgroup_v2_configure(cg, &cfg->linux_.resources, err);
}

static int v2_update(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err)
{
        unsigned required = 0;

        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        rc_cgroup_required(r, &required);
        if (check_controllers(cg, required, err) < 0 ||
            rc_cgroup_apply_resources(cg->dirfd, r, cg->log, err) < 0)
                return -1;
        if (r->present && r->n_devices > 0 && !rc_cgroup_enforces_devices(cg))
                return rc_error_set(err, EPERM,
                                    ".linux.resources.devices: a runtime that is not root cannot load "
                                    "the device rules program (that needs root)");
        if (r->present && r->n_devices > 0)
                return apply_devices(cg, r->devices, r->n_devices, err);
        return 0;
}

static int v2_enter(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        return rc_cgroup_enter_fd(cg->dirfd, pid, err);
}

/* ---- cgroupfs driver: processes ---------------------------------------------------------- */

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
        if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 64;
                pid_t *nv = realloc(*v, ncap * sizeof(pid_t));

                if (nv == NULL)
                        return -1;
                *v = nv;
                *cap = ncap;
        }
        (*v)[(*n)++] = pid;
        return 0;
}

static int collect_procs(int dirfd, int depth, pid_t **v, size_t *n, size_t *cap, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        struct dirent *de;
        DIR *d;
        int fd, ret = 0;

        if (rc_read_file_at(dirfd, "cgroup.procs", PROCS_FILE_MAX, &data, NULL, err) < 0)
                return -1;
        for (char *p = data; *p;) {
                long pid = strtol(p, &p, 10);

                if (pid > 0 && push_pid(v, n, cap, (pid_t)pid) < 0)
                        return rc_error_set(err, ENOMEM, "list cgroup processes");
                p += strspn(p, "\n ");
                if (*p != '\0' && (*p < '0' || *p > '9'))
                        break;
        }
        if (depth >= MAX_DEPTH)
                return 0;
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || (d = fdopendir(fd)) == NULL) {
                if (fd >= 0)
                        close(fd);
                return rc_error_set(err, errno, "list sub-cgroups");
        }
        while (ret == 0 && (de = readdir(d)) != NULL) {
                _cleanup_close_ int sub = -1;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                        ret = collect_procs(sub, depth + 1, v, n, cap, err);
        }
        closedir(d);
        return ret;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

        return (x > y) - (x < y);
}

static int v2_procs(struct rc_cgroup *cg, pid_t **ret, size_t *ret_n, rc_error_t *err)
{
        pid_t *v = NULL;
        size_t n = 0, cap = 0, k = 0;

        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        if (collect_procs(cg->dirfd, 0, &v, &n, &cap, err) < 0) {
                free(v);
                return -1;
        }
        qsort(v, n, sizeof(pid_t), cmp_pid);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || v[k - 1] != v[i])
                        v[k++] = v[i];
        *ret = v;
        *ret_n = k;
        return 0;
}

/* pid's cgroup is ours or below it (read after its pidfd is open: the pidfd keeps
 * signals going to this very process even if the number is reused later). */
static bool in_cgroup(pid_t pid, const char *path)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *data = NULL;
        char file[64];
        size_t len = strlen(path);
        char *p;

        snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
        if (rc_read_file_at(AT_FDCWD, file, RC_CGROUP_SMALL_FILE_MAX, &data, NULL, &e) < 0)
                return false;
        p = strstr(data, "0::");
        if (p == NULL || (p != data && p[-1] != '\n'))
                return false;
        p += 3;
        return strncmp(p, path, len) == 0 && (p[len] == '\n' || p[len] == '/' || p[len] == '\0');
}

static void signal_member(struct rc_cgroup *cg, pid_t pid, int sig)
{
        _cleanup_close_ int fd = rc_pidfd_open(pid, 0);

        if (fd >= 0 && in_cgroup(pid, cg->path) && rc_pidfd_send_signal(fd, sig, NULL, 0) < 0 &&
            errno != ESRCH)
                rc_log(cg->log, RC_LOG_DEBUG, "signal %d to pid %d: %s", sig, (int)pid, strerror(errno));
}

static int v2_kill(struct rc_cgroup *cg, int sig, pid_t last, rc_error_t *err)
{
        _cleanup_free_ pid_t *v = NULL;
        bool have_last = false;
        size_t n = 0;

        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        if (sig == SIGKILL) {
                _cleanup_error_ rc_error_t e = NULL;

                if (write_str(cg->dirfd, "cgroup.kill", "1", &e) == 0)
                        return 0;
                if (e->status != ENOENT) { /* before Linux 5.14 there is no cgroup.kill */
                        rc_error_move(err, &e);
                        return rc_error_wrap(err, "kill cgroup `%s`", cg->path);
                }
        }
        if (v2_procs(cg, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (v[i] == last)
                        have_last = true;
                else
                        signal_member(cg, v[i], sig);
        }
        if (have_last)
                signal_member(cg, last, sig);
        return 0;
}

/* ---- cgroupfs driver: freezer ------------------------------------------------------------ */

/* Wait until cgroup.events says "frozen <want>" (kernfs wakes poll with POLLPRI). */
static int wait_frozen(struct rc_cgroup *cg, bool want, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(cg->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        int64_t deadline = rc_now_ms() + cg->freeze_timeout_ms;

        if (fd < 0)
                return rc_error_set(err, errno, "open `%s%s/cgroup.events`", cg->mount, cg->path);
        for (;;) {
                char buf[512], *p;
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                int64_t left = deadline - rc_now_ms();
                struct pollfd pfd = {.fd = fd, .events = POLLPRI};

                if (n < 0)
                        return rc_error_set(err, errno, "read `%s%s/cgroup.events`", cg->mount, cg->path);
                buf[n] = '\0';
                p = strstr(buf, "frozen ");
                if (p != NULL && (p == buf || p[-1] == '\n') && (p[7] == '1') == want)
                        return 0;
                if (left <= 0)
                        return rc_error_set(err, ETIMEDOUT, "%s cgroup `%s`: not %s after %d ms",
                                            want ? "freeze" : "thaw", cg->path, want ? "frozen" : "thawed",
                                            cg->freeze_timeout_ms);
                /* re-read at least every 100 ms, should a notification be missed */
                if (poll(&pfd, 1, left < 100 ? (int)left : 100) < 0 && errno != EINTR)
                        return rc_error_set(err, errno, "wait for `%s%s/cgroup.events`", cg->mount,
                                            cg->path);
        }
}

static int v2_freeze(struct rc_cgroup *cg, bool frozen, rc_error_t *err)
{
        _cleanup_error_ rc_error_t ignored = NULL;

        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        if (write_str(cg->dirfd, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
                return rc_error_wrap(err, "%s cgroup `%s`", frozen ? "freeze" : "thaw", cg->path);
        if (wait_frozen(cg, frozen, err) == 0)
                return 0;
        if (frozen) /* do not leave it half frozen */
                write_str(cg->dirfd, "cgroup.freeze", "0", &ignored);
        return -1;
}

static int v2_is_frozen(struct rc_cgroup *cg, bool *ret, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;

        if (cg->dirfd < 0) {
                *ret = false;
                return 0;
        }
        if (rc_read_file_at(cg->dirfd, "cgroup.freeze", RC_CGROUP_SMALL_FILE_MAX, &data, NULL, err) < 0)
                return -1;
        *ret = data[0] == '1';
        return 0;
}

static int v2_stats(struct rc_cgroup *cg, struct rc_cgroup_stats *ret, rc_error_t *err)
{
        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` does not exist", cg->path);
        return rc_cgroup_stats_read(cg->dirfd, ret, err);
}

/* ---- cgroupfs driver: destroy ------------------------------------------------------------ */

/* rmdir name (under parent) after its sub-cgroups, deepest first; -errno. */
static int remove_tree(int parent, const char *name, int depth)
{
        _cleanup_close_ int fd = -1;
        struct dirent *de;
        int r = 0;
        DIR *d;

        if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;
        if (errno != EBUSY && errno != ENOTEMPTY)
                return -errno;
        if (depth >= MAX_DEPTH)
                return -EBUSY;
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = fd < 0 ? NULL : rc_opendir_dup(fd);
        if (d == NULL)
                return errno == ENOENT ? 0 : -errno;
        while (r == 0 && (de = readdir(d)) != NULL)
                if (de->d_type == DT_DIR && de->d_name[0] != '.')
                        r = remove_tree(fd, de->d_name, depth + 1);
        closedir(d);
        if (r < 0)
                return r;
        if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;
        return -errno;
}

static int v2_destroy(struct rc_cgroup *cg, rc_error_t *err)
{
        _cleanup_close_ int parent = -1;
        _cleanup_free_ char *dir = strdup(cg->path);
        char *name;
        int64_t deadline = rc_now_ms() + cg->destroy_timeout_ms;
        int delay = 1, r;

        if (dir == NULL)
                return rc_error_set(err, ENOMEM, "remove cgroup");
        name = strrchr(dir, '/');
        *name++ = '\0';
        parent = open(cg->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent >= 0 && dir[0] != '\0') {
                int sub = openat(parent, dir + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(parent);
                parent = sub;
        }
        if (parent < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "remove cgroup `%s`", cg->path);
        for (;;) {
                _cleanup_error_ rc_error_t e = NULL;

                r = remove_tree(parent, name, 0);
                if (r == 0)
                        break;
                if (r != -EBUSY)
                        return rc_error_set(err, -r, "remove cgroup `%s%s`", cg->mount, cg->path);
                if (rc_now_ms() >= deadline)
                        return rc_error_set(err, EBUSY, "remove cgroup `%s%s`: still busy after %d ms",
                                            cg->mount, cg->path, cg->destroy_timeout_ms);
                /* processes left (or dying): kill them all, then try again */
                if (cg->dirfd >= 0 && v2_kill(cg, SIGKILL, 0, &e) < 0)
                        rc_log(cg->log, RC_LOG_DEBUG, "%s", e->msg);
                sleep_ms(delay);
                delay = delay < 64 ? delay * 2 : 64;
        }
        if (cg->dirfd >= 0)
                close(cg->dirfd);
        cg->dirfd = -1;
        return 0;
}

const struct rc_cgroup_ops rc_cgroup_ops_v2 = {
        .name = "cgroupfs",
        .create = v2_create,
        .update = v2_update,
        .enter = v2_enter,
        .destroy = v2_destroy,
        .kill = v2_kill,
        .freeze = v2_freeze,
        .is_frozen = v2_is_frozen,
        .stats = v2_stats,
        .procs = v2_procs,
};
