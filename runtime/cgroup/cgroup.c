/* The cgroup drivers (see runtime/cgroup/cgroup.h): the pure decisions, the path of a
 * container's cgroup, the disabled driver and the construction of a struct rc_cgroup for
 * one of them. The cgroupfs (v2) driver itself is in cgroupfs.c, the systemd one in
 * systemd.c. */
#include "runtime/cgroup/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/userdirs.h"
#include "runtime/cgroup/internal.h"

#define FREEZE_TIMEOUT_MS 20000
#define DESTROY_TIMEOUT_MS 10000

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
        if (fd < 0 || rc_read_fd(fd, file, RC_CGROUP_SMALL_FILE_MAX, &data, NULL, err) < 0) {
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
        if (rc_running_rootless() && !may_create(RC_CGROUP_MOUNT, path)) {
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
