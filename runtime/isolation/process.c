/* Process attributes applied by the container init; see process.h for the order. */
#include "runtime/isolation/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/ioprio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* glibc 2.36 has no sched_setattr wrapper nor struct sched_attr in <sched.h>; the
 * layout is the kernel's SCHED_ATTR_SIZE_VER1 (56 bytes). */
struct rc_sched_attr {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime;
        uint64_t sched_deadline;
        uint64_t sched_period;
        uint32_t sched_util_min;
        uint32_t sched_util_max;
};

/* Open `path` (relative to /proc) through the verified procfs (rc_proc_open): a /proc
 * the container mounted over is never written or read through. Returns an fd or -errno. */
static int open_proc_file(const char *path, int flags)
{
        rc_error_t e = NULL;
        int fd = rc_proc_open(path, flags, &e);

        if (fd < 0) {
                fd = e != NULL && e->status != 0 ? -e->status : -EIO;
                rc_error_free(&e);
        }
        return fd;
}

/* Write buf to an existing file under /proc in one write(2); returns -errno. */
static int write_proc_file(const char *path, const char *buf, size_t len)
{
        _cleanup_close_ int fd = open_proc_file(path, O_WRONLY | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return fd;
        n = write(fd, buf, len);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

int rc_process_set_hostname(const struct oci_config *c, rc_error_t *err)
{
        if (c->hostname != NULL && sethostname(c->hostname, strlen(c->hostname)) < 0)
                return rc_error_set(err, errno, "sethostname `%s`", c->hostname);
        if (c->domainname != NULL && setdomainname(c->domainname, strlen(c->domainname)) < 0)
                return rc_error_set(err, errno, "setdomainname `%s`", c->domainname);
        return 0;
}

/* "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". Keys are dot separated, or
 * slash separated with literal dots ("net/ipv4/conf/eth0.100/forwarding", as runc);
 * an empty, "." or ".." component could escape /proc/sys (the parser refuses them). */
static int sysctl_path(const char *key, char **ret, rc_error_t *err)
{
        _cleanup_free_ char *path = NULL;
        bool slashes = strchr(key, '/') != NULL;
        size_t klen = strlen(key);

        if (klen == 0 || key[0] == '.' || key[0] == '/' || key[klen - 1] == '.' || key[klen - 1] == '/' ||
            strstr(key, "..") != NULL || strstr(key, "//") != NULL || strstr(key, "/./") != NULL)
                return rc_error_set_status(err, EINVAL, "sysctl `%s`: invalid key", key);
        if (asprintf(&path, "/proc/sys/%s", key) < 0)
                return rc_error_set(err, ENOMEM, "sysctl `%s`", key);
        for (char *p = path + strlen("/proc/sys/"); *p && !slashes; p++)
                if (*p == '.')
                        *p = '/';
        *ret = TAKE_PTR(path);
        return 0;
}

int rc_process_apply_sysctl(const struct oci_config *c, rc_error_t *err)
{
        for (size_t i = 0; i < c->linux_.n_sysctl; i++) {
                const struct oci_kv *kv = &c->linux_.sysctl[i];
                _cleanup_free_ char *path = NULL;
                const char *value = kv->value != NULL ? kv->value : "";
                int r;

                if (kv->key == NULL)
                        return rc_error_set_status(err, EINVAL, "sysctl: missing key");
                if (sysctl_path(kv->key, &path, err) < 0)
                        return rc_error_wrap(err, ".linux.sysctl.%s", kv->key);
                r = write_proc_file(path + strlen("/proc/"), value, strlen(value));
                if (r < 0)
                        return rc_error_set(err, -r, ".linux.sysctl.%s: write sysctl `%s` (%s)", kv->key,
                                            kv->key, path);
        }
        return 0;
}

/* The open of /proc/self/oom_score_adj. A non-dumpable process's /proc/self files belong
 * to root, so a container process whose host uid is not 0 (the root of a user namespace,
 * or any process of a runtime that is not root) cannot open them. Such a process is
 * dumpable for the open alone: its capabilities are still a superset of what any other
 * process of the container has (ptrace needs at least as many), and it executes nothing. */
static int open_oom_score_adj(void)
{
        int fd = open_proc_file("self/oom_score_adj", O_WRONLY | O_NOCTTY);

        if (fd != -EACCES || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
                return fd;
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                return -EACCES;
        fd = open_proc_file("self/oom_score_adj", O_WRONLY | O_NOCTTY);
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return -e;
        }
        return fd;
}

int rc_process_set_oom_score_adj(const struct oci_process *p, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        char buf[32];
        int len;
        ssize_t n;

        if (!p->has_oom_score_adj)
                return 0;
        len = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
        fd = open_oom_score_adj();
        if (fd < 0)
                return rc_error_set(err, -fd, "open /proc/self/oom_score_adj");
        n = write(fd, buf, (size_t)len);
        if (n < 0 && errno == EACCES)
                return rc_error_set(err, errno,
                                    "write `%s` to /proc/self/oom_score_adj (lower than the runtime's own: "
                                    "that needs root, CAP_SYS_RESOURCE)",
                                    buf);
        if (n < 0)
                return rc_error_set(err, errno, "write `%s` to /proc/self/oom_score_adj", buf);
        if (n != len)
                return rc_error_set(err, EIO, "write `%s` to /proc/self/oom_score_adj: short write", buf);
        return 0;
}

static const char *rlimit_name(int resource)
{
        static const char *const names[] = {
                [RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
                [RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
                [RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
                [RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
                [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
                [RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
                [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
                [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
        };

        if (resource >= 0 && (size_t)resource < sizeof(names) / sizeof(names[0]) && names[resource])
                return names[resource];
        return "RLIMIT_?";
}

static rlim_t to_rlim(uint64_t v)
{
        return v == UINT64_MAX ? RLIM_INFINITY : (rlim_t)v;
}

int rc_process_apply_rlimits(const struct oci_process *p, rc_error_t *err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct oci_rlimit *l = &p->rlimits[i];
                struct rlimit rl = {.rlim_cur = to_rlim(l->soft), .rlim_max = to_rlim(l->hard)};

                if (prlimit(0, (__rlimit_resource_t)l->resource, &rl, NULL) < 0)
                        return rc_error_set(err, errno, "setrlimit `%s` (%d) soft=%llu hard=%llu",
                                            rlimit_name(l->resource), l->resource,
                                            (unsigned long long)l->soft, (unsigned long long)l->hard);
        }
        return 0;
}

int rc_process_apply_scheduler(const struct oci_process *p, rc_error_t *err)
{
        const struct oci_scheduler *s = &p->scheduler;
        struct rc_sched_attr attr;

        if (!s->present)
                return 0;
        memset(&attr, 0, sizeof(attr));
        attr.size = sizeof(attr);
        attr.sched_policy = (uint32_t)s->policy;
        attr.sched_flags = s->flags;
        attr.sched_nice = s->nice;
        attr.sched_priority = (uint32_t)s->priority;
        attr.sched_runtime = s->runtime;
        attr.sched_deadline = s->deadline;
        attr.sched_period = s->period;
        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
                return rc_error_set(err, errno, "sched_setattr policy %d priority %d nice %d", s->policy,
                                    s->priority, s->nice);
        return 0;
}

int rc_process_apply_io_priority(const struct oci_process *p, rc_error_t *err)
{
        const struct oci_io_priority *io = &p->io_priority;

        if (!io->present)
                return 0;
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(io->klass, io->priority)) < 0)
                return rc_error_set(err, errno, "ioprio_set class %d priority %d", io->klass, io->priority);
        return 0;
}

int rc_process_apply_personality(const struct oci_config *c, rc_error_t *err)
{
        if (!c->has_linux || !c->linux_.has_personality)
                return 0;
        if (personality(c->linux_.personality) < 0)
                return rc_error_set(err, errno, "personality %#lx", c->linux_.personality);
        return 0;
}

int rc_process_setgroups_denied(bool *ret, rc_error_t *err)
{
        _cleanup_close_ int fd = open_proc_file("self/setgroups", O_RDONLY);
        char buf[16];
        ssize_t n;

        if (fd < 0) {
                if (fd == -ENOENT) {
                        *ret = false;
                        return 0;
                }
                return rc_error_set(err, -fd, "open /proc/self/setgroups");
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return rc_error_set(err, errno, "read /proc/self/setgroups");
        buf[n] = '\0';
        *ret = strncmp(buf, "deny", 4) == 0;
        return 0;
}

int rc_process_check_groups(const struct oci_user *u, bool setgroups_denied, rc_error_t *err)
{
        if (setgroups_denied && u->n_additional_gids > 0)
                return rc_error_set_status(err, EPERM,
                                           "cannot set %zu additional gids: setgroups is denied in this "
                                           "user namespace (/proc/self/setgroups is \"deny\")",
                                           u->n_additional_gids);
        return 0;
}

int rc_process_set_ids(const struct oci_user *u, bool setgroups_denied, rc_error_t *err)
{
        if (!setgroups_denied && setgroups(u->n_additional_gids, u->additional_gids) < 0)
                return rc_error_set(err, errno, "setgroups (%zu additional gids)", u->n_additional_gids);
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return rc_error_set(err, errno, "setresgid %u", (unsigned)u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return rc_error_set(err, errno, "setresuid %u", (unsigned)u->uid);
        return 0;
}

int rc_process_set_user(const struct oci_process *p, rc_error_t *err)
{
        bool denied = false;

        if (rc_process_setgroups_denied(&denied, err) < 0 ||
            rc_process_check_groups(&p->user, denied, err) < 0 ||
            rc_process_set_ids(&p->user, denied, err) < 0)
                return -1;
        umask(p->user.has_umask ? p->user.umask : 0022);
        return 0;
}

int rc_process_check_cwd(const char *cwd, bool filtered, rc_error_t *err)
{
        char buf[PATH_MAX + 1];
        long n;

        /* The raw syscall, not glibc's getcwd: we want to see the kernel's
         * "(unreachable)" marker for a directory outside our root (CVE-2024-21626). */
        n = syscall(SYS_getcwd, buf, sizeof(buf));
        if (n < 0 && filtered && (errno == EPERM || errno == ENOSYS))
                return 0; /* a seccomp profile without getcwd: nothing to check with */
        if (n < 0)
                return rc_error_set(err, errno, "getcwd after chdir to `%s`", cwd);
        buf[sizeof(buf) - 1] = '\0';
        if (strncmp(buf, "(unreachable)", strlen("(unreachable)")) == 0 || buf[0] != '/')
                return rc_error_set_status(err, EPERM,
                                           "current working directory `%s` is outside of the container "
                                           "root: possible container breakout detected",
                                           buf);
        return 0;
}

int rc_process_chdir(const struct oci_process *p, rc_error_t *err)
{
        const char *cwd = p->cwd != NULL ? p->cwd : "/";

        if (chdir(cwd) < 0)
                return rc_error_set(err, errno, "chdir to cwd `%s` set in config.json", cwd);
        return rc_process_check_cwd(cwd, false, err);
}

/* The last PATH= in env wins, like a shell reading the environment in order. */
static const char *env_path(const struct oci_process *p)
{
        const char *path = NULL;

        for (char **e = p->env; e != NULL && *e != NULL; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        path = *e + 5;
        return path != NULL ? path : DEFAULT_PATH;
}

/* 0 if `path` is a regular file we may execute, else -errno (EISDIR for directories,
 * EACCES for other non-regular files, as execve would say). */
static int check_executable(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

static int search_path(const char *name, const char *path_list, char **ret_path, rc_error_t *err)
{
        const char *dir = path_list;

        for (;;) {
                const char *end = strchrnul(dir, ':');
                _cleanup_free_ char *candidate = NULL;
                int dlen = (int)(end - dir);

                /* an empty element means the current directory (POSIX) */
                if (dlen == 0) {
                        dir = ".";
                        dlen = 1;
                }
                if (asprintf(&candidate, "%.*s/%s", dlen, dir, name) < 0)
                        return rc_error_set(err, ENOMEM, "exec: \"%s\"", name);
                if (check_executable(candidate) == 0) {
                        *ret_path = TAKE_PTR(candidate);
                        return 0;
                }
                if (*end == '\0')
                        break;
                dir = end + 1;
        }
        return rc_error_set_status(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

int rc_process_find_executable(const struct oci_process *p, char **ret_path, rc_error_t *err)
{
        const char *name = p->args != NULL && p->args[0] != NULL ? p->args[0] : "";
        char *copy;
        int r;

        if (name[0] == '\0')
                return rc_error_set_status(err, ENOENT, "exec: \"\": executable file not found in $PATH");
        if (strchr(name, '/') == NULL)
                return search_path(name, env_path(p), ret_path, err);

        r = check_executable(name);
        if (r == -EISDIR)
                return rc_error_set_status(err, EISDIR, "exec: \"%s\": is a directory", name);
        if (r == -EACCES)
                return rc_error_set_status(err, EACCES, "exec: \"%s\": permission denied", name);
        if (r == -ENOENT)
                return rc_error_set_status(err, ENOENT, "exec: \"%s\": no such file or directory", name);
        if (r < 0)
                return rc_error_set(err, -r, "exec: \"%s\"", name);
        copy = strdup(name);
        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "exec: \"%s\"", name);
        *ret_path = copy;
        return 0;
}

static int cloexec_walk(int first, rc_error_t *err)
{
        int dfd = open_proc_file("self/fd", O_RDONLY | O_DIRECTORY);
        struct dirent *de;
        DIR *dir;
        int ret = 0;

        if (dfd < 0)
                return rc_error_set(err, -dfd, "open /proc/self/fd");
        dir = fdopendir(dfd);
        if (dir == NULL) {
                ret = errno;
                close(dfd);
                return rc_error_set(err, ret, "open /proc/self/fd");
        }
        while ((errno = 0, de = readdir(dir)) != NULL) {
                char *end;
                long fd;
                int flags;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                fd = strtol(de->d_name, &end, 10);
                if (*end != '\0' || fd < first || fd > INT_MAX || fd == dirfd(dir))
                        continue;
                flags = fcntl((int)fd, F_GETFD);
                if (flags < 0) {
                        if (errno == EBADF)
                                continue;
                        ret = rc_error_set(err, errno, "fcntl F_GETFD on fd %ld", fd);
                        break;
                }
                if (!(flags & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
                        ret = rc_error_set(err, errno, "set FD_CLOEXEC on fd %ld", fd);
                        break;
                }
        }
        if (ret == 0 && errno != 0)
                ret = rc_error_set(err, errno, "read /proc/self/fd");
        closedir(dir);
        return ret;
}

int rc_process_cloexec_from(int first, rc_error_t *err)
{
        if (first < 0)
                return rc_error_set(err, EINVAL, "mark fds close-on-exec from %d", first);
        if (rc_close_range((unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
                return 0;
        /* ENOSYS before 5.9, EINVAL before 5.11 (no CLOSE_RANGE_CLOEXEC), EPERM from a
         * seccomp profile older than close_range */
        if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
                return rc_error_set(err, errno, "close_range(%d, ~0, CLOSE_RANGE_CLOEXEC)", first);
        return cloexec_walk(first, err);
}

int rc_process_exec(const char *path, char *const *argv, char *const *envp, rc_error_t *err)
{
        static char *const empty[] = {NULL};

        execve(path, argv, envp != NULL ? envp : empty);
        return rc_error_set(err, errno, "exec `%s`", path);
}
