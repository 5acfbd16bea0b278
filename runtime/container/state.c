/* Containers' state directories (layout in runtime/container/state.h).
 *
 * Liveness: a pid alone means nothing once the process is gone (pids are recycled), so
 * the state keeps the start time from /proc/PID/stat next to it and a pid only counts as
 * the container's init while both match. A zombie counts as gone: the container has
 * stopped, whoever reaps it. */
#include "runtime/container/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/log.h"
#include "runtime/container/container.h"

#define REMOVE_MAX_DEPTH 8
#define ID_MAX 1024

static bool id_char_ok(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '+' || c == '-' || c == '.';
}

int rc_validate_id(const char *id, rc_error_t *err)
{
        size_t len;

        if (id == NULL)
                return rc_error_set(err, 0, "invalid container id \"\"");
        len = strlen(id);
        if (len == 0 || len > ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return rc_error_set(err, 0, "invalid container id \"%s\"", id);
        for (size_t i = 0; i < len; i++) {
                if (!id_char_ok(id[i]))
                        return rc_error_set(err, 0, "invalid container id \"%s\"", id);
        }
        return 0;
}

int rc_state_root_open(const char *root, int *ret_rootfd, rc_error_t *err)
{
        int fd;

        root = rc_state_root_path(root);
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                int r = rc_mkdir_p_host(root, 0700, 0700);
                if (r == -EACCES && geteuid() != 0)
                        return rc_error_set(err, -r,
                                            "create state root \"%s\" (as uid %u: set XDG_RUNTIME_DIR, "
                                            "or pass --root)",
                                            root, (unsigned)geteuid());
                if (r < 0)
                        return rc_error_set(err, -r, "create state root \"%s\"", root);
                fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return rc_error_set(err, errno, "open state root \"%s\"", root);
        *ret_rootfd = fd;
        return 0;
}

static int lock_dir(int dirfd, const char *id, rc_error_t *err)
{
        int ret;

        do
                ret = flock(dirfd, LOCK_EX);
        while (ret < 0 && errno == EINTR);
        if (ret < 0)
                return rc_error_set(err, errno, "lock state of container \"%s\"", id);
        return 0;
}

int rc_state_dir_create(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;

        if (mkdirat(rootfd, id, 0700) < 0) {
                if (errno == EEXIST)
                        return rc_error_set(err, 0, "container \"%s\" already exists", id);
                return rc_error_set(err, errno, "create state directory of container \"%s\"", id);
        }
        fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open state directory of container \"%s\"", id);
        if (lock_dir(fd, id, err) < 0)
                return -1;
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

/* After waiting for the lock, make sure the directory is still the one under root: a
 * concurrent delete may have removed it (and a create made a new one) meanwhile. */
static bool still_linked(int rootfd, const char *id, int dirfd)
{
        struct stat a, b;

        if (fstat(dirfd, &a) < 0 || fstatat(rootfd, id, &b, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rc_state_dir_open(int rootfd, const char *id, int *ret_dirfd, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;

        fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                        return rc_error_set_status(err, ENOENT, "container \"%s\" does not exist", id);
                return rc_error_set(err, errno, "open state directory of container \"%s\"", id);
        }
        if (lock_dir(fd, id, err) < 0)
                return -1;
        if (!still_linked(rootfd, id, fd))
                return rc_error_set_status(err, ENOENT, "container \"%s\" does not exist", id);
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

static int empty_dir(int dirfd, int depth, const char *id, rc_error_t *err);

static int remove_entry(int dirfd, const char *name, int depth, const char *id, rc_error_t *err)
{
        _cleanup_close_ int sub = -1;

        if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR || depth >= REMOVE_MAX_DEPTH)
                return rc_error_set(err, errno, "remove state of container \"%s\": \"%s\"", id, name);
        sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return rc_error_set(err, errno, "remove state of container \"%s\": \"%s\"", id, name);
        if (empty_dir(sub, depth + 1, id, err) < 0)
                return -1;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove state of container \"%s\": \"%s\"", id, name);
        return 0;
}

/* Empty a directory (we only ever put files and fifos there; subdirectories are
 * handled to a small depth in case a later version adds some). */
static int empty_dir(int dirfd, int depth, const char *id, rc_error_t *err)
{
        struct dirent *de;
        DIR *d;
        int fd, ret = 0;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "remove state of container \"%s\"", id);
        d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return rc_error_set(err, errno, "remove state of container \"%s\"", id);
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (de == NULL) {
                        if (errno != 0)
                                ret = rc_error_set(err, errno, "remove state of container \"%s\"", id);
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                ret = remove_entry(dirfd, de->d_name, depth, id, err);
                if (ret < 0)
                        break;
        }
        closedir(d);
        return ret;
}

int rc_state_dir_remove(int rootfd, const char *id, int dirfd, rc_error_t *err)
{
        _cleanup_close_ int own = -1;

        if (dirfd < 0) {
                own = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (own < 0) {
                        if (errno == ENOENT)
                                return 0;
                        return rc_error_set(err, errno, "remove state of container \"%s\"", id);
                }
                dirfd = own;
        }
        if (empty_dir(dirfd, 0, id, err) < 0)
                return -1;
        if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove state directory of container \"%s\"", id);
        return 0;
}

static int check_size(size_t len, const char *origin, rc_error_t *err)
{
        if (len <= RC_STATE_FILE_MAX)
                return 0;
        return rc_error_set(err, EFBIG,
                            "%s: the container's state would be %zu bytes, over the limit of %u bytes "
                            "that every command reads (are .annotations that large?)",
                            origin, len, RC_STATE_FILE_MAX);
}

int rc_state_check_size(const struct oci_state *s, const char *origin, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        if (oci_state_to_json(s, OCI_STATE_EXTENDED, &buf, &len, err) < 0)
                return -1;
        /* room for what create adds later: the pid and its start time */
        return check_size(len + 64, origin, err);
}

int rc_state_write(int dirfd, const struct oci_state *s, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        if (oci_state_to_json(s, OCI_STATE_EXTENDED, &buf, &len, err) < 0 ||
            check_size(len, RC_STATE_FILE, err) < 0 ||
            rc_write_file_atomic(dirfd, RC_STATE_FILE, buf, len, 0600, err) < 0)
                return rc_error_wrap(err, "save state of container \"%s\"", s->id ? s->id : "");
        return 0;
}

int rc_state_read_file(int dirfd, const char *name, char **ret, size_t *ret_len, rc_error_t *err)
{
        return rc_read_regular_at(dirfd, name, RC_STATE_FILE_MAX, ret, ret_len, err);
}

/* A file of the state directory to parse, and its name in the parser's errors:
 * "<what> of container "ID" (<name>)". */
static int read_to_parse(int dirfd, const char *name, const char *what, const char *id, char **ret,
                         size_t *ret_len, char **ret_origin, rc_error_t *err)
{
        if (rc_state_read_file(dirfd, name, ret, ret_len, err) < 0)
                return rc_error_wrap(err, "read %s of container \"%s\"", what, id);
        if (asprintf(ret_origin, "%s of container \"%s\" (%s)", what, id, name) < 0)
                return rc_error_set(err, ENOMEM, "read %s of container \"%s\"", what, id);
        return 0;
}

int rc_state_read(int dirfd, const char *id, struct oci_state **ret, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL, *origin = NULL;
        size_t len = 0;

        if (read_to_parse(dirfd, RC_STATE_FILE, "state", id, &buf, &len, &origin, err) < 0)
                return -1;
        return oci_state_parse(buf, len, origin, ret, err);
}

int rc_state_load_config(int dirfd, const char *id, struct oci_config **ret, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL, *origin = NULL;
        size_t len = 0;

        if (read_to_parse(dirfd, RC_CONFIG_FILE, "config", id, &buf, &len, &origin, err) < 0)
                return -1;
        return oci_config_parse(buf, len, origin, ret, err);
}

int rc_state_load_config_of(const char *root, const char *id, struct oci_config **ret, rc_error_t *err)
{
        _cleanup_close_ int rootfd = open(rc_state_root_path(root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dirfd = -1;

        if (rootfd >= 0)
                dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return rc_error_set(err, errno, "open state of container \"%s\"", id);
        return rc_state_load_config(dirfd, id, ret, err);
}

int rc_state_record_init(int dirfd, pid_t pid, uint64_t start_time, const char *cgroup_path, rc_error_t *err)
{
        char target[PATH_MAX];
        int n = snprintf(target, sizeof(target), "%d %" PRIu64 "%s%s", (int)pid, start_time,
                         cgroup_path ? " " : "", cgroup_path ? cgroup_path : "");

        if (n < 0 || (size_t)n >= sizeof(target))
                return rc_error_set(err, ENAMETOOLONG, "record the init of the container");
        if (symlinkat(target, dirfd, RC_INIT_RECORD) < 0)
                return rc_error_set(err, errno, "record the init of the container: `%s`", RC_INIT_RECORD);
        return 0;
}

int rc_state_read_init(int dirfd, struct rc_init_record *ret)
{
        char buf[PATH_MAX];
        ssize_t n = readlinkat(dirfd, RC_INIT_RECORD, buf, sizeof(buf) - 1);
        unsigned long long start;
        int pid, used = 0;

        if (n <= 0)
                return -1;
        buf[n] = '\0';
        if (sscanf(buf, "%d %llu%n", &pid, &start, &used) != 2 || pid <= 0 ||
            (buf[used] != '\0' && buf[used] != ' '))
                return -1;
        *ret = (struct rc_init_record){.pid = pid, .start_time = start};
        if (buf[used] == ' ' && buf[used + 1] != '\0') {
                ret->cgroup_path = strdup(buf + used + 1);
                if (ret->cgroup_path == NULL)
                        return -1;
        }
        return 0;
}

/* /proc/PID/stat: "pid (comm) S ppid ...". comm may hold spaces and parentheses, so
 * the fields are counted from the last ')'. Field 3 is the state, 22 the start time. */
static int proc_stat(pid_t pid, char *ret_state, uint64_t *ret_start, rc_error_t *err)
{
        char path[64], buf[1024];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        char *p, *end;
        uint64_t start;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "read %s", path);
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return rc_error_set(err, errno, "read %s", path);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p == NULL || p[1] != ' ' || p[2] == '\0')
                return rc_error_set(err, EINVAL, "parse %s", path);
        *ret_state = p[2];
        p += 2; /* at field 3 */
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (p == NULL)
                        return rc_error_set(err, EINVAL, "parse %s", path);
                p++;
        }
        errno = 0;
        start = strtoull(p, &end, 10);
        if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
                return rc_error_set(err, EINVAL, "parse %s: start time", path);
        *ret_start = start;
        return 0;
}

int rc_proc_start_time(pid_t pid, uint64_t *ret, rc_error_t *err)
{
        char state;

        if (pid <= 0)
                return rc_error_set(err, ESRCH, "start time of pid %d", (int)pid);
        return proc_stat(pid, &state, ret, err);
}

bool rc_pid_matches(pid_t pid, uint64_t start_time)
{
        _cleanup_error_ rc_error_t err = NULL;
        uint64_t start;
        char state;

        if (pid <= 0 || proc_stat(pid, &state, &start, &err) < 0)
                return false;
        if (state == 'Z' || state == 'X' || state == 'x')
                return false;
        return start_time == 0 || start == start_time;
}

int rc_state_refresh(int dirfd, struct oci_state *s, rc_error_t *err)
{
        bool alive = rc_pid_matches(s->pid, s->pid_start_time);

        if (s->status == OCI_STATUS_CREATING) {
                if (!alive)
                        s->status = OCI_STATUS_STOPPED;
                return 0;
        }
        if (!alive) {
                s->status = OCI_STATUS_STOPPED;
                return 0;
        }
        if (s->status == OCI_STATUS_PAUSED)
                return 0; /* only the cgroup freezer knows better */
        if (faccessat(dirfd, RC_FIFO_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                s->status = OCI_STATUS_CREATED;
        else if (errno == ENOENT)
                s->status = OCI_STATUS_RUNNING;
        else
                return rc_error_set(err, errno, "state of container \"%s\": %s", s->id ? s->id : "",
                                    RC_FIFO_FILE);
        return 0;
}

/* ---- inits holding a state directory ------------------------------------------------ */

/* A live process named "rc:init"; *ret_start its start time. */
static bool is_init_proc(pid_t pid, uint64_t *ret_start)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_close_ int fd = -1;
        char path[64], comm[16], state;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, comm, sizeof(comm) - 1);
        if (n != 8 || memcmp(comm, "rc:init\n", 8) != 0)
                return false;
        return proc_stat(pid, &state, ret_start, &e) == 0 && state != 'Z' && state != 'X' && state != 'x';
}

struct root_ref {
        int fd;
        char path[PATH_MAX];
        size_t len;
        dev_t dev;
};

/* Whether fd `fdname` of pid is a directory that is (or was, removed) an entry of the root. */
static bool fd_on_state_dir(const struct root_ref *root, pid_t pid, const char *fdname,
                            struct rc_init_proc *ret)
{
        static const char suffix[] = " (deleted)";
        const size_t slen = sizeof(suffix) - 1;
        char path[300], link[PATH_MAX + 16];
        struct stat st, cur;
        bool removed = false;
        char *name;
        size_t nlen;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fdname);
        n = readlink(path, link, sizeof(link) - 1);
        if (n <= (ssize_t)root->len + 1 || memcmp(link, root->path, root->len) != 0 ||
            link[root->len] != '/')
                return false;
        link[n] = '\0';
        name = link + root->len + 1;
        nlen = strlen(name);
        if (nlen > slen && strcmp(name + nlen - slen, suffix) == 0) {
                name[nlen - slen] = '\0';
                removed = true;
        }
        /* container ids have neither '/' nor ' ' */
        if (name[0] == '\0' || strpbrk(name, "/ ") != NULL)
                return false;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_dev != root->dev)
                return false;
        if (removed ? st.st_nlink != 0
                    : fstatat(root->fd, name, &cur, AT_SYMLINK_NOFOLLOW) < 0 || cur.st_dev != st.st_dev ||
                              cur.st_ino != st.st_ino)
                return false;
        ret->name = strdup(name);
        ret->dev = st.st_dev;
        ret->ino = st.st_ino;
        ret->removed = removed;
        return ret->name != NULL;
}

static bool init_state_dir(const struct root_ref *root, pid_t pid, struct rc_init_proc *ret)
{
        char path[64];
        struct dirent *de;
        bool found = false;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        d = opendir(path);
        if (d == NULL)
                return false;
        while (!found && (de = readdir(d)) != NULL)
                found = de->d_name[0] != '.' && fd_on_state_dir(root, pid, de->d_name, ret);
        closedir(d);
        return found;
}

static int root_ref_open(int rootfd, struct root_ref *ret, rc_error_t *err)
{
        char self[64];
        struct stat st;
        ssize_t n;

        snprintf(self, sizeof(self), "/proc/self/fd/%d", rootfd);
        n = readlink(self, ret->path, sizeof(ret->path) - 1);
        if (n <= 0 || fstat(rootfd, &st) < 0)
                return rc_error_set(err, errno, "find the state root");
        ret->path[n] = '\0';
        ret->len = strcmp(ret->path, "/") == 0 ? 0 : (size_t)n;
        ret->fd = rootfd;
        ret->dev = st.st_dev;
        return 0;
}

int rc_proc_each(int (*fn)(pid_t pid, void *data, rc_error_t *err), void *data, rc_error_t *err)
{
        struct dirent *de;
        DIR *d = opendir("/proc");
        int ret = 0;

        if (d == NULL)
                return rc_error_set(err, errno, "read /proc");
        while (ret == 0 && (de = readdir(d)) != NULL) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end == '\0' && pid > 0 && pid <= INT_MAX)
                        ret = fn((pid_t)pid, data, err);
        }
        closedir(d);
        return ret < 0 ? -1 : 0;
}

struct init_scan {
        struct root_ref root;
        struct rc_init_proc *v;
        size_t n;
};

static int add_init(pid_t pid, void *data, rc_error_t *err)
{
        struct init_scan *s = data;
        struct rc_init_proc p = {.pid = pid}, *nv;

        if (!is_init_proc(pid, &p.start_time) || !init_state_dir(&s->root, pid, &p))
                return 0;
        nv = realloc(s->v, (s->n + 1) * sizeof(*s->v));
        if (nv == NULL) {
                free(p.name);
                return rc_error_set(err, ENOMEM, "read /proc");
        }
        s->v = nv;
        s->v[s->n++] = p;
        return 0;
}

int rc_state_find_inits(int rootfd, struct rc_init_proc **ret, size_t *ret_n, rc_error_t *err)
{
        struct init_scan s = {0};

        if (root_ref_open(rootfd, &s.root, err) < 0)
                return -1;
        if (rc_proc_each(add_init, &s, err) < 0) {
                rc_init_procs_free(s.v, s.n);
                return -1;
        }
        *ret = s.v;
        *ret_n = s.n;
        return 0;
}

void rc_init_procs_free(struct rc_init_proc *v, size_t n)
{
        for (size_t i = 0; i < n && v != NULL; i++)
                free(v[i].name);
        free(v);
}

/* ---- --pid-file ------------------------------------------------------------------------ */

static const char *file_type(mode_t mode)
{
        return S_ISDIR(mode)    ? "a directory"
               : S_ISLNK(mode)  ? "a symbolic link"
               : S_ISCHR(mode)  ? "a character device"
               : S_ISBLK(mode)  ? "a block device"
               : S_ISFIFO(mode) ? "a FIFO"
               : S_ISSOCK(mode) ? "a socket"
                                : "not a regular file";
}

int rc_pid_file_write(const char *path, pid_t pid, rc_error_t *err)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dirfd = -1;
        const char *name, *dir_path = ".";
        char buf[32], *slash;
        int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
        struct stat st;

        if (dir == NULL)
                return rc_error_set(err, ENOMEM, "write pid file `%s`", path);
        slash = strrchr(dir, '/');
        name = slash != NULL ? slash + 1 : dir;
        if (slash == dir)
                dir_path = "/";
        else if (slash != NULL)
                *slash = '\0', dir_path = dir;
        if (name[0] == '\0')
                return rc_error_set(err, EISDIR, "write pid file `%s`", path);
        dirfd = open(dir_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return rc_error_set(err, errno, "write pid file `%s`", path);
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
                return rc_error_set(err, 0, "write pid file `%s`: it is %s: only a regular file is replaced",
                                    path, file_type(st.st_mode));
        if (rc_write_file_atomic(dirfd, name, buf, (size_t)len, 0644, err) < 0)
                return rc_error_wrap(err, "pid file `%s`", path);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir_entry(int rootfd, const struct dirent *de)
{
        struct stat st;

        if (de->d_type == DT_DIR)
                return true;
        if (de->d_type != DT_UNKNOWN)
                return false;
        return fstatat(rootfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* A container's directory: a directory whose name is a valid id. Internal entries have
 * names no id can take; those of versions that named them ".sandbox" and
 * ".seccomp-cache" are told apart by having no state.json. */
static bool is_container_entry(int rootfd, const struct dirent *de)
{
        _cleanup_error_ rc_error_t e = NULL;
        char path[300];

        if (rc_validate_id(de->d_name, &e) < 0 || !is_dir_entry(rootfd, de))
                return false;
        if (strcmp(de->d_name, ".sandbox") != 0 && strcmp(de->d_name, ".seccomp-cache") != 0)
                return true;
        snprintf(path, sizeof(path), "%s/%s", de->d_name, RC_STATE_FILE);
        return faccessat(rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s)
{
        if (*n + 2 > *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                char **nv = realloc(*v, ncap * sizeof(char *));
                if (nv == NULL)
                        return -1;
                *v = nv;
                *cap = ncap;
        }
        (*v)[*n] = strdup(s);
        if ((*v)[*n] == NULL)
                return -1;
        (*n)++;
        (*v)[*n] = NULL;
        return 0;
}

int rc_state_list_ids(int rootfd, char ***ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_strv_ char **v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int fd;

        fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "list containers");
        d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return rc_error_set(err, errno, "list containers");
        }
        while ((errno = 0, de = readdir(d)) != NULL) {
                if (!is_container_entry(rootfd, de))
                        continue;
                if (strv_push(&v, &n, &cap, de->d_name) < 0) {
                        closedir(d);
                        return rc_error_set(err, ENOMEM, "list containers");
                }
        }
        if (errno != 0) {
                int e = errno;
                closedir(d);
                return rc_error_set(err, e, "list containers");
        }
        closedir(d);
        if (v == NULL) {
                v = calloc(1, sizeof(char *));
                if (v == NULL)
                        return rc_error_set(err, ENOMEM, "list containers");
        }
        qsort(v, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

char *rc_now_rfc3339(void)
{
        struct timespec ts;
        char buf[64];

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || rc_format_utc(&ts, buf, sizeof(buf)) < 0)
                return NULL;
        return strdup(buf);
}

int rc_state_set_pid(int dirfd, struct oci_state *s, pid_t pid, rc_error_t *err)
{
        s->pid = pid;
        if (rc_proc_start_time(pid, &s->pid_start_time, err) < 0 ||
            rc_state_record_init(dirfd, pid, s->pid_start_time, s->cgroup_path, err) < 0)
                return -1;
        return rc_state_write(dirfd, s, err);
}
