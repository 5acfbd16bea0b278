/* Namespaces: the plan (which to create, which to join), the joins, and the parent's
 * writes of id maps and the child's write of time offsets. */
#include "runtime/isolation/namespaces.h"
#include "runtime/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/helper.h"
#include "specs/names.h"

/* The order of the joins: user first (it grants the capabilities for the others),
 * mount last (so nothing below depends on the old root). */
static const enum oci_ns_type join_order[] = {
        OCI_NS_USER, OCI_NS_PID,    OCI_NS_NETWORK, OCI_NS_IPC,
        OCI_NS_UTS,  OCI_NS_CGROUP, OCI_NS_TIME,    OCI_NS_MOUNT,
};

/* i: the namespace's index in .linux.namespaces, for the messages */
static int open_ns_path(const struct oci_namespace *ns, size_t i, rc_error_t *err)
{
        const char *name = oci_ns_name(ns->type);
        int flag = oci_ns_clone_flag(ns->type);
        int fd, type;

        fd = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno,
                                    ".linux.namespaces[%zu].path: open namespace path \"%s\" for %s", i,
                                    ns->path, name);
        /* Catch a path of the wrong kind now, with a message naming it, rather than as
         * an EINVAL from setns() in the child. */
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0 && errno != ENOTTY && errno != EINVAL) {
                int e = errno;
                close(fd);
                return rc_error_set(err, e, ".linux.namespaces[%zu].path: namespace path \"%s\" for %s", i,
                                    ns->path, name);
        }
        if (type < 0 || type != flag) {
                close(fd);
                return rc_error_set(err, 0, ".linux.namespaces[%zu].path: \"%s\" is not a %s namespace", i,
                                    ns->path, name);
        }
        return fd;
}

static void plan_init(struct rc_ns_plan *p)
{
        memset(p, 0, sizeof(*p));
        for (size_t i = 0; i < OCI_NS_COUNT; i++)
                p->join_fd[i] = -1;
}

int rc_ns_plan_make(const struct oci_config *c, struct rc_ns_plan *ret, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;
        struct rc_ns_plan p;
        bool joins = false, pid_or_time = false, new_time = false;

        plan_init(&p);
        for (size_t i = 0; c->has_linux && i < l->n_namespaces; i++) {
                const struct oci_namespace *ns = &l->namespaces[i];

                if ((unsigned)ns->type >= OCI_NS_COUNT || p.join_fd[ns->type] >= 0) {
                        rc_ns_plan_close(&p);
                        return rc_error_set(err, EINVAL,
                                            ".linux.namespaces[%zu]: invalid or repeated namespace", i);
                }
                if (ns->type == OCI_NS_PID || ns->type == OCI_NS_TIME)
                        pid_or_time = true;
                if (ns->path == NULL) {
                        p.clone_flags |= oci_ns_clone_flag(ns->type);
                        new_time = new_time || ns->type == OCI_NS_TIME;
                        continue;
                }
                p.join_fd[ns->type] = open_ns_path(ns, i, err);
                if (p.join_fd[ns->type] < 0) {
                        rc_ns_plan_close(&p);
                        return -1;
                }
                joins = true;
        }
        p.time_offsets = new_time && (l->time_monotonic.set || l->time_boottime.set);
        p.direct = !joins && !p.time_offsets;
        p.needs_fork = !p.direct && pid_or_time;
        *ret = p;
        return 0;
}

void rc_ns_plan_close(struct rc_ns_plan *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < OCI_NS_COUNT; i++) {
                if (p->join_fd[i] >= 0)
                        close(p->join_fd[i]);
                p->join_fd[i] = -1;
        }
}

/* setns() refuses (EINVAL) to join the user namespace we are already in; a config
 * naming it (e.g. /proc/self/ns/user of the host) means "stay". */
static bool is_current_userns(int fd)
{
        struct stat a, b;

        return fstat(fd, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

int rc_ns_join(const struct rc_ns_plan *p, rc_error_t *err)
{
        for (size_t i = 0; i < sizeof(join_order) / sizeof(join_order[0]); i++) {
                enum oci_ns_type t = join_order[i];
                int fd = p->join_fd[t];

                if (fd < 0)
                        continue;
                if (t == OCI_NS_USER && is_current_userns(fd))
                        continue;
                if (setns(fd, oci_ns_clone_flag(t)) < 0)
                        return rc_error_set(err, errno, "join %s namespace", oci_ns_name(t));
        }
        return 0;
}

int rc_ns_format_idmap(const struct oci_idmap *m, size_t n, char *buf, size_t size)
{
        size_t len = 0;

        if (buf == NULL || size == 0)
                return -1;
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(buf + len, size - len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                                 m[i].container_id, m[i].host_id, m[i].size);
                if (w < 0 || (size_t)w >= size - len) {
                        buf[len] = '\0';
                        return -1;
                }
                len += (size_t)w;
        }
        return (int)len;
}

/* One write(2): the kernel takes a map or offsets only as a single write. */
static int write_all_once(int dirfd, const char *name, const char *buf, size_t len, const char *what,
                          rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open %s", what);
        n = write(fd, buf, len);
        if (n < 0)
                return rc_error_set(err, errno, "write %s", what);
        if ((size_t)n != len)
                return rc_error_set(err, EIO, "write %s: short write", what);
        return 0;
}

static int write_idmap(int procfd, pid_t pid, const char *file, const struct oci_idmap *m, size_t n,
                       rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        char what[64];
        size_t size = n * 34 + 1; /* three 10-digit numbers, 2 spaces, newline */
        int len;

        snprintf(what, sizeof(what), "%s of pid %d", file, (int)pid);
        buf = malloc(size);
        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "write %s", what);
        len = rc_ns_format_idmap(m, n, buf, size);
        if (len < 0)
                return rc_error_set(err, EOVERFLOW, "write %s", what);
        return write_all_once(procfd, file, buf, (size_t)len, what, err);
}

/* The kernel lets a writer without CAP_SETUID/CAP_SETGID in the parent namespace map
 * only its own id: one line of size 1. */
static bool own_id_only(const struct oci_idmap *m, size_t n, uint32_t id)
{
        return n == 1 && m[0].size == 1 && m[0].host_id == id;
}

/* Anything more goes through the setuid helper of Debian's uidmap package, which checks
 * the ranges against /etc/subuid or /etc/subgid: `newuidmap PID ID HOSTID SIZE ...`. */
static int helper_idmap(const char *helper, pid_t pid, const struct oci_idmap *m, size_t n, rc_error_t *err)
{
        _cleanup_free_ char **argv = calloc(3 * n + 3, sizeof(char *));
        _cleanup_free_ char *nums = malloc((3 * n + 1) * 11);
        char *p = nums;
        size_t k = 0;

        if (argv == NULL || nums == NULL)
                return rc_error_set(err, ENOMEM, "run `%s`", helper);
        argv[k++] = (char *)helper;
        argv[k++] = p;
        p += sprintf(p, "%d", (int)pid) + 1;
        for (size_t i = 0; i < n; i++) {
                uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
                for (size_t j = 0; j < 3; j++) {
                        argv[k++] = p;
                        p += sprintf(p, "%" PRIu32, v[j]) + 1;
                }
        }
        argv[k] = NULL;
        return rc_helper_run(helper, argv, err);
}

int rc_ns_write_idmaps(pid_t pid, const struct oci_config *c, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;
        _cleanup_close_ int procfd = -1;
        bool privileged = geteuid() == 0;
        char path[64];

        if (!c->has_linux || (l->n_uid_mappings == 0 && l->n_gid_mappings == 0))
                return 0;
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (procfd < 0)
                return rc_error_set(err, errno, "open %s", path);
        if (l->n_uid_mappings > 0) {
                int ret;

                if (privileged || own_id_only(l->uid_mappings, l->n_uid_mappings, geteuid()))
                        ret = write_idmap(procfd, pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err);
                else
                        ret = helper_idmap(RC_NEWUIDMAP, pid, l->uid_mappings, l->n_uid_mappings, err);
                if (ret < 0)
                        return rc_error_wrap(err, ".linux.uidMappings");
        }
        if (l->n_gid_mappings == 0)
                return 0;
        if (!privileged && !own_id_only(l->gid_mappings, l->n_gid_mappings, getegid())) {
                /* newgidmap denies setgroups itself unless the map comes from /etc/subgid */
                if (helper_idmap(RC_NEWGIDMAP, pid, l->gid_mappings, l->n_gid_mappings, err) < 0)
                        return rc_error_wrap(err, ".linux.gidMappings");
                return 0;
        }
        /* Without CAP_SETGID in the parent namespace the kernel accepts a gid_map only
         * once setgroups(2) is denied in the child's namespace. */
        if (!privileged) {
                _cleanup_error_ rc_error_t e = NULL;
                char what[64];

                snprintf(what, sizeof(what), "setgroups of pid %d", (int)pid);
                if (write_all_once(procfd, "setgroups", "deny", 4, what, &e) < 0 && e->status != ENOENT) {
                        rc_error_move(err, &e);
                        return -1;
                }
        }
        if (write_idmap(procfd, pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err) < 0)
                return rc_error_wrap(err, ".linux.gidMappings");
        return 0;
}

int rc_ns_write_time_offsets(const struct oci_config *c, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;
        char buf[128];
        int procfd;
        size_t len = 0;
        int w;

        if (!c->has_linux)
                return 0;
        if (l->time_monotonic.set) {
                w = snprintf(buf + len, sizeof(buf) - len, "monotonic %" PRId64 " %" PRIu32 "\n",
                             l->time_monotonic.secs, l->time_monotonic.nanosecs);
                len += (size_t)w;
        }
        if (l->time_boottime.set) {
                w = snprintf(buf + len, sizeof(buf) - len, "boottime %" PRId64 " %" PRIu32 "\n",
                             l->time_boottime.secs, l->time_boottime.nanosecs);
                len += (size_t)w;
        }
        if (len == 0)
                return 0;
        procfd = rc_proc_fd(err); /* the verified procfs, never one the container provides */
        if (procfd < 0)
                return -1;
        return write_all_once(procfd, "self/timens_offsets", buf, len, "/proc/self/timens_offsets", err);
}

bool rc_netns_deferred(const struct rc_ns_plan *p)
{
        return p->direct && (p->clone_flags & CLONE_NEWNET) && !(p->clone_flags & CLONE_NEWUSER);
}
