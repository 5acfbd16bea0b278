/* The cgroup drivers (see runtime/cgroup/cgroup.h): the pure decisions, the cgroupfs (v2)
 * driver and the disabled one. */
#include "runtime/cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/internal.h"

#define FREEZE_TIMEOUT_MS 20000
#define DESTROY_TIMEOUT_MS 10000
#define MAX_DEPTH 16
#define SMALL_FILE_MAX (64 * 1024)
#define PROCS_FILE_MAX (16 * 1024 * 1024)

static const char *const controller_names[] = {"cpu",  "cpuset",  "io",   "memory",
                                               "pids", "hugetlb", "rdma", "misc"};
#define N_CONTROLLERS (sizeof(controller_names) / sizeof(controller_names[0]))

const char *rc_cgroup_controller_name(unsigned bit)
{
        for (size_t i = 0; i < N_CONTROLLERS; i++)
                if (bit == 1u << i)
                        return controller_names[i];
        return NULL;
}

unsigned rc_cgroup_controller_bit(const char *name, size_t len)
{
        for (size_t i = 0; i < N_CONTROLLERS; i++)
                if (strlen(controller_names[i]) == len && strncmp(controller_names[i], name, len) == 0)
                        return 1u << i;
        return 0;
}

char *rc_cgroup_controllers_text(unsigned mask)
{
        char buf[128] = "";
        size_t n = 0, total = (size_t)__builtin_popcount(mask & RC_CG_ALL), k = 0;

        for (size_t i = 0; i < N_CONTROLLERS; i++) {
                if (!(mask & (1u << i)))
                        continue;
                k++;
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
                                      k == 1       ? ""
                                      : k == total ? " and "
                                                   : ", ",
                                      controller_names[i]);
        }
        return strdup(buf);
}

/* ---- pure decisions ------------------------------------------------------------------ */

static bool memory_limits(const struct oci_memory *m)
{
        return (m->limit.set && m->limit.v > 0) || (m->reservation.set && m->reservation.v > 0) ||
               (m->swap.set && m->swap.v > 0);
}

static unsigned cpu_limits(const struct oci_cpu *c)
{
        unsigned mask = 0;

        /* shares 1024 is every group's default (engines such as ctr always send it): it
         * asks for nothing a host without cgroup v2 fails to give */
        if ((c->shares.set && c->shares.v != 0 && c->shares.v != 1024) || (c->quota.set && c->quota.v > 0) ||
            (c->period.set && c->period.v != 0) || (c->burst.set && c->burst.v != 0) ||
            (c->idle.set && c->idle.v != 0) || c->realtime_runtime.set || c->realtime_period.set)
                mask |= RC_CG_CPU;
        if ((c->cpus != NULL && c->cpus[0] != '\0') || (c->mems != NULL && c->mems[0] != '\0'))
                mask |= RC_CG_CPUSET;
        return mask;
}

static bool io_limits(const struct oci_blockio *b)
{
        bool any = (b->weight.set && b->weight.v != 0) || b->n_throttle_read_bps ||
                   b->n_throttle_write_bps || b->n_throttle_read_iops || b->n_throttle_write_iops;

        for (size_t i = 0; i < b->n_weight_devices; i++)
                any = any || (b->weight_devices[i].weight.set && b->weight_devices[i].weight.v != 0);
        return any;
}

bool rc_cgroup_required(const struct oci_resources *r, unsigned *ret_mask)
{
        unsigned mask = 0;
        bool needs = false;

        if (r != NULL && r->present) {
                if (r->has_memory && memory_limits(&r->memory))
                        mask |= RC_CG_MEMORY;
                if (r->has_cpu)
                        mask |= cpu_limits(&r->cpu);
                if (r->has_pids && r->pids_limit > 0)
                        mask |= RC_CG_PIDS;
                if (r->has_blockio && io_limits(&r->blockio))
                        mask |= RC_CG_IO;
                if (r->n_hugepages > 0)
                        mask |= RC_CG_HUGETLB;
                for (size_t i = 0; i < r->n_unified; i++) {
                        const char *k = r->unified[i].key;

                        mask |= rc_cgroup_controller_bit(k, strcspn(k, "."));
                        needs = true; /* core files (cgroup.max.depth, ...) need a cgroup too */
                }
        }
        *ret_mask = mask;
        return needs || mask != 0;
}

int rc_cgroup_decide(enum rc_cgroup_manager m, bool host_v2, const struct oci_resources *r,
                     struct rc_cgroup_decision *ret, rc_error_t *err)
{
        _cleanup_free_ char *names = NULL;
        unsigned mask = 0;
        bool needs = rc_cgroup_required(r, &mask);

        *ret = (struct rc_cgroup_decision){0};
        switch (m) {
        case RC_CGROUP_MANAGER_SYSTEMD:
                if (!host_v2)
                        return rc_error_set(
                                err, 0,
                                "the systemd cgroup driver (--systemd-cgroup, --cgroup-manager=systemd) "
                                "needs "
                                "cgroup v2, but `" RC_CGROUP_MOUNT "` is not a cgroup v2 mount (this host "
                                "runs cgroup v1 or hybrid): boot the host with the unified hierarchy "
                                "(systemd.unified_cgroup_hierarchy=1), or pass --cgroup-manager=disabled "
                                "to run without limits");
                ret->create = true;
                return 0;
        case RC_CGROUP_MANAGER_DISABLED:
                ret->warn_unenforced = needs;
                return 0;
        case RC_CGROUP_MANAGER_CGROUPFS:
                break;
        }
        if (host_v2) {
                ret->create = true;
                return 0;
        }
        if (!needs)
                return 0;
        names = rc_cgroup_controllers_text(mask);
        if (names == NULL || names[0] == '\0')
                return rc_error_set(
                        err, 0,
                        ".linux.resources.unified asks for cgroup limits, but `" RC_CGROUP_MOUNT
                        "` is not a cgroup v2 mount (this host runs cgroup v1 or hybrid), so they "
                        "cannot be enforced: boot the host with the unified hierarchy "
                        "(systemd.unified_cgroup_hierarchy=1), or pass --cgroup-manager=disabled to "
                        "run without limits");
        return rc_error_set(
                err, 0,
                ".linux.resources asks for %s limits, but `" RC_CGROUP_MOUNT "` is not a cgroup v2 "
                "mount (this host runs cgroup v1 or hybrid), so the %s controller%s cannot enforce "
                "them: boot the host with the unified hierarchy (systemd.unified_cgroup_hierarchy=1), "
                "or pass --cgroup-manager=disabled to run without limits",
                names, names, __builtin_popcount(mask) > 1 ? "s" : "");
}

/* Append the components of `p` to buf (at *len) as "/c"; ".." is refused. */
static int append_clean(char *buf, size_t size, size_t *len, const char *p, const char *what,
                        rc_error_t *err)
{
        while (*p != '\0') {
                size_t n = strcspn(p, "/");

                if (n == 2 && strncmp(p, "..", 2) == 0)
                        return rc_error_set(err, 0, "%s: \"..\" is not allowed in a cgroup path", what);
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (*len + 1 + n >= size)
                                return rc_error_set(err, ENAMETOOLONG, "%s: cgroup path too long", what);
                        buf[(*len)++] = '/';
                        memcpy(buf + *len, p, n);
                        *len += n;
                        buf[*len] = '\0';
                }
                p += n;
                p += *p == '/';
        }
        return 0;
}

int rc_cgroup_resolve_path(const char *cgroups_path, const char *id, const char *own_cgroup, char **ret,
                           rc_error_t *err)
{
        char buf[4096] = "", what[64];
        _cleanup_free_ char *deflt = NULL, *parent = NULL;
        const char *rel = cgroups_path;
        size_t len = 0;

        snprintf(what, sizeof(what), ".linux.cgroupsPath \"%.40s\"", cgroups_path ? cgroups_path : "");
        if (rel == NULL || rel[0] == '\0') {
                if (asprintf(&deflt, RC_CGROUP_DEFAULT_PARENT "/%s", id) < 0)
                        return rc_error_set(err, ENOMEM, "cgroup path");
                rel = deflt;
        }
        if (rel[0] != '/') {
                /* relative: under the parent of our own cgroup (ours holds processes) */
                parent = strdup(own_cgroup != NULL ? own_cgroup : "/");
                if (parent == NULL)
                        return rc_error_set(err, ENOMEM, "cgroup path");
                char *slash = strrchr(parent, '/');
                if (slash != NULL)
                        *slash = '\0';
                if (append_clean(buf, sizeof(buf), &len, parent, "own cgroup", err) < 0)
                        return -1;
        }
        if (append_clean(buf, sizeof(buf), &len, rel, what, err) < 0)
                return -1;
        if (len == 0)
                return rc_error_set(err, 0, "%s: the root cgroup cannot be a container's", what);
        *ret = strdup(buf);
        if (*ret == NULL)
                return rc_error_set(err, ENOMEM, "cgroup path");
        return 0;
}

int rc_cgroup_path_of_pid(pid_t pid, char **ret, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        char file[64];
        const char *p;
        int fd;

        snprintf(file, sizeof(file), "%d/cgroup", (int)pid);
        fd = rc_proc_open(file, O_RDONLY, err);
        if (fd < 0 || rc_read_fd(fd, file, SMALL_FILE_MAX, &data, NULL, err) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        close(fd);
        /* the unified hierarchy's line: "0::/a/b" */
        for (p = data; p != NULL && strncmp(p, "0::/", 4) != 0; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                ;
        if (p == NULL)
                return rc_error_set(err, ENOENT, "pid %d is in no cgroup2 cgroup", (int)pid);
        p += 3;
        *ret = strndup(p, strcspn(p, "\n"));
        if (*ret == NULL)
                return rc_error_set(err, ENOMEM, "cgroup of pid %d", (int)pid);
        return 0;
}

/* Our own cgroup ("/user.slice/x.scope"); "/" when there is none. */
static int own_cgroup(char **ret, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        if (rc_cgroup_path_of_pid(getpid(), ret, &e) == 0)
                return 0;
        if (e->status != ENOENT) {
                rc_error_move(err, &e);
                return -1;
        }
        *ret = strdup("/");
        if (*ret == NULL)
                return rc_error_set(err, ENOMEM, "own cgroup");
        return 0;
}

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

        if (rc_read_file_at(dirfd, file, SMALL_FILE_MAX, &data, NULL, &e) < 0)
                return 0;
        for (p = data; *p;) {
                size_t n = strcspn(p, " \n");

                mask |= rc_cgroup_controller_bit(p, n);
                p += n;
                p += strspn(p, " \n");
        }
        return mask;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

        for (size_t i = 0; i < N_CONTROLLERS; i++) {
                _cleanup_error_ rc_error_t e = NULL;
                char buf[32];

                if (!(avail & (1u << i)) || (on & (1u << i)))
                        continue;
                snprintf(buf, sizeof(buf), "+%s", controller_names[i]);
                if (write_str(dirfd, "cgroup.subtree_control", buf, &e) < 0)
                        rc_log(cg->log, RC_LOG_DEBUG, "enable controller %s in `%s`: %s",
                               controller_names[i], where, e->msg);
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

        if (rc_read_file_at(cg->dirfd, "cgroup.events", SMALL_FILE_MAX, &data, NULL, &e) < 0)
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
        return apply_devices(cg, r->devices, r->n_devices, err);
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
        if (rc_read_file_at(AT_FDCWD, file, SMALL_FILE_MAX, &data, NULL, &e) < 0)
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
        int64_t deadline = now_ms() + cg->freeze_timeout_ms;

        if (fd < 0)
                return rc_error_set(err, errno, "open `%s%s/cgroup.events`", cg->mount, cg->path);
        for (;;) {
                char buf[512], *p;
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                int64_t left = deadline - now_ms();
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
        if (rc_read_file_at(cg->dirfd, "cgroup.freeze", SMALL_FILE_MAX, &data, NULL, err) < 0)
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
        int64_t deadline = now_ms() + cg->destroy_timeout_ms;
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
                if (now_ms() >= deadline)
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

/* ---- disabled driver ---------------------------------------------------------------------- */

static int no_cgroup(rc_error_t *err)
{
        return rc_error_set_status(
                err, EOPNOTSUPP,
                "the container has no cgroup (it was created with --cgroup-manager=disabled "
                "or on a host without cgroup v2)");
}

static int off_create(struct rc_cgroup *cg, const struct oci_config *cfg, rc_error_t *err)
{
        return 0; /* rc_cgroup_plan has warned about limits that will not be enforced */
}

static int off_update(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err)
{
        return no_cgroup(err);
}

static int off_enter(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        return 0;
}

static int off_destroy(struct rc_cgroup *cg, rc_error_t *err)
{
        return 0;
}

static int off_kill(struct rc_cgroup *cg, int sig, pid_t last, rc_error_t *err)
{
        return no_cgroup(err);
}

static int off_freeze(struct rc_cgroup *cg, bool frozen, rc_error_t *err)
{
        return no_cgroup(err);
}

static int off_is_frozen(struct rc_cgroup *cg, bool *ret, rc_error_t *err)
{
        *ret = false;
        return 0;
}

static int off_stats(struct rc_cgroup *cg, struct rc_cgroup_stats *ret, rc_error_t *err)
{
        return no_cgroup(err);
}

static int off_procs(struct rc_cgroup *cg, pid_t **ret, size_t *ret_n, rc_error_t *err)
{
        return no_cgroup(err);
}

const struct rc_cgroup_ops rc_cgroup_ops_disabled = {
        .name = "disabled",
        .create = off_create,
        .update = off_update,
        .enter = off_enter,
        .destroy = off_destroy,
        .kill = off_kill,
        .freeze = off_freeze,
        .is_frozen = off_is_frozen,
        .stats = off_stats,
        .procs = off_procs,
};

/* ---- construction ------------------------------------------------------------------------- */

void rc_cgroup_free(struct rc_cgroup *cg)
{
        if (cg == NULL)
                return;
        if (cg->ops->release != NULL)
                cg->ops->release(cg);
        if (cg->dirfd >= 0)
                close(cg->dirfd);
        free(cg->mount);
        free(cg->path);
        free(cg->unit);
        free(cg->slice);
        free(cg);
}

static int cg_new(const struct rc_cgroup_ops *ops, const char *mount, const char *path,
                  const struct rc_logger *log, struct rc_cgroup **ret, rc_error_t *err)
{
        struct rc_cgroup *cg = calloc(1, sizeof(*cg));

        if (cg == NULL)
                return rc_error_set(err, ENOMEM, "cgroup");
        *cg = (struct rc_cgroup){.ops = ops,
                                 .log = log,
                                 .dirfd = -1,
                                 .freeze_timeout_ms = FREEZE_TIMEOUT_MS,
                                 .destroy_timeout_ms = DESTROY_TIMEOUT_MS};
        cg->mount = strdup(mount ? mount : RC_CGROUP_MOUNT);
        cg->path = path ? strdup(path) : NULL;
        if (cg->mount == NULL || (path != NULL && cg->path == NULL)) {
                rc_cgroup_free(cg);
                return rc_error_set(err, ENOMEM, "cgroup");
        }
        *ret = cg;
        return 0;
}

int rc_cgroup_open_dir(struct rc_cgroup *cg, rc_error_t *err)
{
        char full[4096];

        if (cg->dirfd >= 0 || cg->path == NULL)
                return 0;
        snprintf(full, sizeof(full), "%s%s", cg->mount, cg->path);
        cg->dirfd = open(full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cg->dirfd < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "open cgroup `%s`", full);
        return 0;
}

int rc_cgroup_open_at(const struct rc_cgroup_ops *ops, const char *mount, const char *path,
                      const struct rc_logger *log, struct rc_cgroup **ret, rc_error_t *err)
{
        struct rc_cgroup *cg = NULL;

        if (cg_new(ops, mount, path, log, &cg, err) < 0)
                return -1;
        if (ops == &rc_cgroup_ops_systemd && path != NULL) {
                /* the unit is the directory's name (rc_cgroup_systemd_unit) */
                cg->unit = strdup(strrchr(path, '/') + 1);
                if (cg->unit == NULL) {
                        rc_cgroup_free(cg);
                        return rc_error_set(err, ENOMEM, "cgroup");
                }
        }
        if (ops != &rc_cgroup_ops_disabled && rc_cgroup_open_dir(cg, err) < 0) {
                rc_cgroup_free(cg);
                return -1;
        }
        *ret = cg;
        return 0;
}

int rc_cgroup_open(const char *path, bool systemd, const struct rc_logger *log, struct rc_cgroup **ret,
                   rc_error_t *err)
{
        if (path == NULL)
                return cg_new(&rc_cgroup_ops_disabled, NULL, NULL, log, ret, err);
        if (path[0] != '/' || strstr(path, "/..") != NULL)
                return rc_error_set(err, EINVAL, "invalid cgroup path \"%s\" in the state", path);
        if (!rc_fs_is_cgroup2(RC_CGROUP_MOUNT))
                return rc_error_set(err, 0, "cgroup `%s`: `" RC_CGROUP_MOUNT "` is not a cgroup v2 mount",
                                    path);
        return rc_cgroup_open_at(systemd ? &rc_cgroup_ops_systemd : &rc_cgroup_ops_v2, RC_CGROUP_MOUNT, path,
                                 log, ret, err);
}

/* The systemd driver for a new container: its unit and slice from cgroupsPath. */
static int plan_systemd(const struct rc_runtime *rt, const struct oci_config *cfg, const char *id,
                        struct rc_cgroup **ret, rc_error_t *err)
{
        struct rc_systemd_unit u;
        int r;

        if (rc_cgroup_systemd_unit(cfg->linux_.cgroups_path, id, &u, err) < 0)
                return -1;
        r = cg_new(&rc_cgroup_ops_systemd, RC_CGROUP_MOUNT, u.path, &rt->log, ret, err);
        if (r == 0) {
                (*ret)->unit = TAKE_PTR(u.unit);
                (*ret)->slice = TAKE_PTR(u.slice);
                (*ret)->id = id;
        }
        rc_systemd_unit_clear(&u);
        return r;
}

/* Whether the caller may make the cgroup at path under mount (a user other than root:
 * in a subtree delegated to it): the deepest directory of the path that exists is
 * writable for it, or the cgroup exists and it may move processes into it. */
static bool may_create(const char *mount, const char *path)
{
        _cleanup_close_ int fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *p = path;

        while (fd >= 0) {
                size_t n;
                char name[256];
                int sub;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        return faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) == 0;
                if (n >= sizeof(name))
                        return false;
                memcpy(name, p, n);
                name[n] = '\0';
                sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return errno == ENOENT && faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0;
                close(fd);
                fd = sub;
                p += n;
        }
        return false;
}

int rc_cgroup_plan(const struct rc_runtime *rt, const struct oci_config *cfg, const char *id,
                   struct rc_cgroup **ret, rc_error_t *err)
{
        _cleanup_free_ char *own = NULL, *path = NULL, *names = NULL;
        bool v2 = rt->cgroup_manager != RC_CGROUP_MANAGER_DISABLED && rc_fs_is_cgroup2(RC_CGROUP_MOUNT);
        struct rc_cgroup_decision d;
        unsigned mask = 0;

        if (rc_cgroup_decide(rt->cgroup_manager, v2, &cfg->linux_.resources, &d, err) < 0)
                return -1;
        if (d.warn_unenforced) {
                rc_cgroup_required(&cfg->linux_.resources, &mask);
                names = rc_cgroup_controllers_text(mask);
                rc_log(&rt->log, RC_LOG_WARNING,
                       "--cgroup-manager=disabled: the limits in linux.resources (%s) are not enforced",
                       names && names[0] ? names : "cgroup files");
        }
        if (!d.create) {
                if (rt->cgroup_manager == RC_CGROUP_MANAGER_CGROUPFS)
                        rc_log(&rt->log, RC_LOG_DEBUG, "`" RC_CGROUP_MOUNT "` is not cgroup v2: no cgroup");
                return cg_new(&rc_cgroup_ops_disabled, NULL, NULL, &rt->log, ret, err);
        }
        if (rt->cgroup_manager == RC_CGROUP_MANAGER_SYSTEMD)
                return plan_systemd(rt, cfg, id, ret, err);
        if (own_cgroup(&own, err) < 0 ||
            rc_cgroup_resolve_path(cfg->linux_.cgroups_path, id, own, &path, err) < 0)
                return -1;
        if (geteuid() != 0 && !may_create(RC_CGROUP_MOUNT, path)) {
                if (rc_cgroup_required(&cfg->linux_.resources, &mask)) {
                        names = rc_cgroup_controllers_text(mask);
                        return rc_error_set(
                                err, 0,
                                ".linux.resources asks for %s limits, but uid %u may not create the "
                                "cgroup `%s%s`: limits of a runtime that is not root need a cgroup "
                                "delegated to its user (systemd: Delegate=yes, as in `systemd-run --user "
                                "--scope`; or a cgroup directory it owns), or pass "
                                "--cgroup-manager=disabled to run without limits",
                                names && names[0] ? names : "cgroup", (unsigned)geteuid(), RC_CGROUP_MOUNT,
                                path);
                }
                /* runc's rule for rootless containers: no limits asked, no cgroup needed */
                rc_log(&rt->log, RC_LOG_DEBUG, "uid %u may not create the cgroup `%s%s`: no cgroup",
                       (unsigned)geteuid(), RC_CGROUP_MOUNT, path);
                return cg_new(&rc_cgroup_ops_disabled, NULL, NULL, &rt->log, ret, err);
        }
        return cg_new(&rc_cgroup_ops_v2, RC_CGROUP_MOUNT, path, &rt->log, ret, err);
}
