/* Root-relative path resolution and small file helpers (see fsutil.h).
 *
 * Container paths are always resolved relative to a root fd. openat2(RESOLVE_IN_ROOT)
 * does it in one call; without it (old kernel, seccomp) rc_root_open_walk opens one
 * component at a time with O_NOFOLLOW, keeps a stack of directory fds so ".." pops but
 * never leaves the root, and re-resolves a symlink's text inside the root. */
#include "runtime/base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/syscalls.h"

#define MAX_SYMLINKS 40
#define OPENAT2_RETRIES 32
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#define PROC_ROOT_INO 1

/* Set once openat2 turned out to be unusable here; a cache of a kernel property. */
static bool openat2_unusable;

int rc_root_open(int rootfd, const char *path, int flags, mode_t mode, unsigned rflags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };

        if (rflags & RC_ROOT_NO_SYMLINKS)
                how.resolve |= RESOLVE_NO_SYMLINKS;
        if (path[0] == '\0')
                path = ".";
        if (!openat2_unusable) {
                for (int i = 0; i < OPENAT2_RETRIES; i++) {
                        int fd = rc_openat2(rootfd, path, &how, sizeof(how));
                        if (fd >= 0)
                                return fd;
                        if (errno == EAGAIN) /* a rename raced with ".." resolution */
                                continue;
                        if (errno != ENOSYS && errno != E2BIG)
                                return -errno;
                        openat2_unusable = true;
                        break;
                }
        }
        return rc_root_open_walk(rootfd, path, flags, mode, rflags);
}

/* The walk's state: the directory stack (dirs[0] is the root, not owned) and the path
 * still to resolve. */
struct walk {
        int *dirs;
        size_t depth, cap;
        char *rest;
        unsigned links;
};

static void walk_free(struct walk *w)
{
        for (size_t i = 1; i < w->depth; i++)
                close(w->dirs[i]);
        free(w->dirs);
        free(w->rest);
}

static int walk_push(struct walk *w, int fd)
{
        if (w->depth == w->cap) {
                size_t cap = w->cap * 2;
                int *v = realloc(w->dirs, cap * sizeof(*v));
                if (v == NULL) {
                        close(fd);
                        return -ENOMEM;
                }
                w->dirs = v;
                w->cap = cap;
        }
        w->dirs[w->depth++] = fd;
        return 0;
}

static void walk_pop(struct walk *w, size_t keep)
{
        while (w->depth > keep && w->depth > 1)
                close(w->dirs[--w->depth]);
}

/* Replace the consumed part of w->rest by the symlink's target: "target/remaining". */
static int walk_follow(struct walk *w, int linkfd, const char *remaining)
{
        char target[PATH_MAX];
        char *rest;
        ssize_t n;

        if (++w->links > MAX_SYMLINKS)
                return -ELOOP;
        n = readlinkat(linkfd, "", target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        if (asprintf(&rest, "%s/%s", target, remaining) < 0)
                return -ENOMEM;
        free(w->rest);
        w->rest = rest;
        if (target[0] == '/')
                walk_pop(w, 1);
        return 0;
}

/* Open the last component `name` in `dir`, like openat2 would: a trailing symlink is
 * followed (inside the root) unless O_NOFOLLOW; with O_PATH|O_NOFOLLOW the link itself is
 * returned. Returns an fd, -errno, or 1 after following a symlink (the walk goes on). */
static int walk_last(struct walk *w, int dir, const char *name, int flags, mode_t mode, unsigned rflags)
{
        _cleanup_close_ int probe = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        int fd, r;

        if (probe < 0) {
                if (errno == ENOENT && (flags & O_CREAT)) {
                        fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        return fd >= 0 ? fd : -errno;
                }
                return -errno;
        }
        if (fstat(probe, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode)) {
                if ((flags & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW))
                        return TAKE_FD(probe);
                if ((flags & O_NOFOLLOW) || (rflags & RC_ROOT_NO_SYMLINKS))
                        return -ELOOP;
                r = walk_follow(w, probe, "");
                return r < 0 ? r : 1;
        }
        if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
                return -EEXIST;
        if (flags & O_PATH)
                return TAKE_FD(probe);
        /* O_NOFOLLOW: if the name was swapped for a symlink since the probe, fail */
        fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        return fd >= 0 ? fd : -errno;
}

/* Open an intermediate component: push a directory, or follow a symlink. */
static int walk_dir(struct walk *w, int dir, const char *name, unsigned rflags, const char *remaining)
{
        _cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return (rflags & RC_ROOT_NO_SYMLINKS) ? -ELOOP : walk_follow(w, fd, remaining);
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return walk_push(w, TAKE_FD(fd));
}

/* One step of the walk: consume the next component of w->rest. Returns 0 to go on, 1
 * at the end of the path (*ret_fd set), or -errno. */
static int walk_step(struct walk *w, int flags, mode_t mode, unsigned rflags, int *ret_fd)
{
        int dir = w->dirs[w->depth - 1];
        char *p = w->rest, *name, *end;
        size_t links = w->links;
        int r;

        while (*p == '/')
                p++;
        if (*p == '\0') {
                r = openat(dir, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
                if (r < 0)
                        return -errno;
                *ret_fd = r;
                return 1;
        }
        name = p;
        end = strchrnul(p, '/');
        p = end;
        while (*p == '/')
                p++;
        *end = '\0';
        /* copy what follows: walk_follow replaces w->rest, which `p` points into */
        _cleanup_free_ char *remaining = strdup(p);
        if (remaining == NULL)
                return -ENOMEM;

        if (strcmp(name, "..") == 0) {
                walk_pop(w, w->depth - 1);
        } else if (strcmp(name, ".") == 0) {
                /* nothing */
        } else if (*remaining == '\0') {
                r = walk_last(w, dir, name, flags, mode, rflags);
                if (r == 1)
                        return 0; /* w->rest is now the link target */
                if (r < 0)
                        return r;
                *ret_fd = r;
                return 1;
        } else {
                r = walk_dir(w, dir, name, rflags, remaining);
                if (r < 0)
                        return r;
                if (w->links != links)
                        return 0; /* followed a symlink: w->rest was replaced */
        }
        free(w->rest);
        w->rest = TAKE_PTR(remaining);
        return 0;
}

int rc_root_open_walk(int rootfd, const char *path, int flags, mode_t mode, unsigned rflags)
{
        struct walk w = {.cap = 16};
        int fd = -1, r;

        w.dirs = malloc(w.cap * sizeof(*w.dirs));
        w.rest = strdup(path);
        if (w.dirs == NULL || w.rest == NULL) {
                walk_free(&w);
                return -ENOMEM;
        }
        w.dirs[w.depth++] = rootfd;
        do
                r = walk_step(&w, flags, mode, rflags, &fd);
        while (r == 0);
        walk_free(&w);
        return r < 0 ? r : fd;
}

int rc_path_split(const char *path, char **ret_parent, const char **ret_base)
{
        size_t len = strlen(path), base;
        char *parent;

        while (len > 0 && path[len - 1] == '/')
                len--;
        base = len;
        while (base > 0 && path[base - 1] != '/')
                base--;
        if (base == len)
                return -EINVAL;
        parent = strndup(path, base);
        if (parent == NULL)
                return -ENOMEM;
        *ret_parent = parent;
        *ret_base = path + base;
        return 0;
}

/* Next component of a path: skips slashes, returns its length (0 at the end). */
static size_t path_next(const char **p)
{
        while (**p == '/')
                (*p)++;
        return strcspn(*p, "/");
}

bool rc_path_under(const char *path, const char *dir)
{
        for (;;) {
                size_t a = path_next(&path), b = path_next(&dir);
                if (b == 0)
                        return true;
                if (a != b || memcmp(path, dir, a) != 0)
                        return false;
                path += a;
                dir += b;
        }
}

bool rc_path_equal(const char *a, const char *b)
{
        return rc_path_under(a, b) && rc_path_under(b, a);
}

/* Open the directory `name` in parent (an fd of `prefix`), creating it when missing. */
static int mkdir_one(int rootfd, int parent, const char *prefix, const char *name, mode_t mode,
                     unsigned rflags)
{
        int fd;

        if (mkdirat(parent, name, mode) == 0) {
                fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                return fd >= 0 ? fd : -errno;
        }
        if (errno != EEXIST)
                return -errno;
        /* it exists (maybe as a symlink): resolve the whole prefix inside the root */
        return rc_root_open(rootfd, prefix, O_PATH | O_DIRECTORY, 0, rflags);
}

/* Create the missing `path`, starting from its deepest existing ancestor. */
static int mkdir_missing(int rootfd, const char *path, mode_t mode, unsigned rflags)
{
        _cleanup_free_ char *parent = NULL, *name = NULL;
        _cleanup_close_ int pfd = -1;
        const char *base;
        int r;

        r = rc_path_split(path, &parent, &base);
        if (r == -EINVAL) /* "/": the root itself */
                return rc_root_open(rootfd, path, O_PATH | O_DIRECTORY, 0, rflags);
        if (r < 0)
                return r;
        pfd = rc_root_open(rootfd, parent, O_PATH | O_DIRECTORY, 0, rflags);
        if (pfd == -ENOENT)
                pfd = mkdir_missing(rootfd, parent, mode, rflags);
        if (pfd < 0)
                return pfd;
        name = strndup(base, strcspn(base, "/"));
        if (name == NULL)
                return -ENOMEM;
        return mkdir_one(rootfd, pfd, path, name, mode, rflags);
}

int rc_root_mkdir_p(int rootfd, const char *path, mode_t mode, unsigned rflags)
{
        /* the common case: it already exists */
        int fd = rc_root_open(rootfd, path, O_PATH | O_DIRECTORY, 0, rflags);

        return fd == -ENOENT ? mkdir_missing(rootfd, path, mode, rflags) : fd;
}

static int ensure_target(int rootfd, const char *path, bool is_file, unsigned rflags)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int dir = -1;
        const char *base;
        int fd, r;

        fd = rc_root_open(rootfd, path, O_PATH, 0, rflags);
        if (fd != -ENOENT)
                return fd;
        if (!is_file)
                return mkdir_missing(rootfd, path, 0755, rflags);
        r = rc_path_split(path, &parent, &base);
        if (r < 0)
                return r;
        dir = rc_root_mkdir_p(rootfd, parent, 0755, rflags);
        if (dir < 0)
                return dir;
        _cleanup_free_ char *name = strndup(base, strcspn(base, "/"));
        if (name == NULL)
                return -ENOMEM;
        /* mknod of a regular file creates it without opening it; it never follows */
        if (mknodat(dir, name, S_IFREG | 0644, 0) < 0) {
                if (errno != EEXIST)
                        return -errno;
                /* a dangling symlink (or a race): resolve it inside the root */
                return rc_root_open(rootfd, path, O_PATH, 0, rflags);
        }
        fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        return fd >= 0 ? fd : -errno;
}

/* One component of a path being resolved by resolve_dangling: the next name of *p
 * (advanced past it) into comp; 0 at the end. */
static int next_component(const char **p, char comp[NAME_MAX + 1])
{
        size_t n;

        while (**p == '/')
                (*p)++;
        n = strcspn(*p, "/");
        if (n > NAME_MAX)
                return -ENAMETOOLONG;
        memcpy(comp, *p, n);
        comp[n] = '\0';
        *p += n;
        return (int)n;
}

/* Follow one component of `done` (a resolved path inside the root, "" for the root):
 * 1 when it is a symlink (its target in *target), 0 when it is something else, -ENOENT
 * when it does not exist. */
static int read_component(int rootfd, const char *done, const char *comp, char target[PATH_MAX])
{
        _cleanup_close_ int dir = rc_root_open(rootfd, done[0] ? done : "/", O_PATH | O_DIRECTORY, 0, 0);
        struct stat st;
        ssize_t len;

        if (dir < 0)
                return dir;
        if (fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st.st_mode))
                return 0;
        len = readlinkat(dir, comp, target, PATH_MAX - 1);
        if (len < 0)
                return -errno;
        target[len] = '\0';
        return 1;
}

/* What `path` names inside the root when a symlink on it dangles: each existing symlink
 * is followed as text inside the root (an absolute target from the root, ".." never
 * above it), the missing rest kept as written. As runc's securejoin does; the result is
 * then created with the helpers above, which resolve it inside the root again. */
static int resolve_dangling(int rootfd, const char *path, char **ret)
{
        char done[PATH_MAX] = "", todo[PATH_MAX], target[PATH_MAX], comp[NAME_MAX + 1];
        const char *p = todo;
        bool missing = false;
        int links = 0, n;

        if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
                return -ENAMETOOLONG;
        while ((n = next_component(&p, comp)) != 0) {
                if (n < 0)
                        return n;
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        *(strrchr(done, '/') ?: done) = '\0';
                        continue;
                }
                int r = missing ? 0 : read_component(rootfd, done, comp, target);
                if (r == -ENOENT)
                        missing = true;
                else if (r < 0)
                        return r;
                if (r == 1) {
                        if (++links > 40)
                                return -ELOOP;
                        if (target[0] == '/')
                                done[0] = '\0';
                        /* the target, then what was left after the link */
                        if (strlen(target) + 1 + strlen(p) >= sizeof(target))
                                return -ENAMETOOLONG;
                        strcat(strcat(target, "/"), p);
                        strcpy(todo, target);
                        p = todo;
                        continue;
                }
                if (strlen(done) + 1 + (size_t)n >= sizeof(done))
                        return -ENAMETOOLONG;
                strcat(strcat(done, "/"), comp);
        }
        *ret = strdup(done[0] ? done : "/");
        return *ret != NULL ? 0 : -ENOMEM;
}

/* A missing mount target is created; when that fails with ENOENT a symlink on it
 * dangles (its name exists, what it names does not): its target is created instead,
 * inside the root, as runc and crun do. Only then: the common case pays nothing for it.
 * (Not for rc_root_mkdir_p: an image layer must not create what its symlinks name.) */
int rc_root_ensure_target(int rootfd, const char *path, bool is_file, unsigned rflags)
{
        _cleanup_free_ char *resolved = NULL;
        int fd = ensure_target(rootfd, path, is_file, rflags), r;

        if (fd != -ENOENT || (rflags & RC_ROOT_NO_SYMLINKS))
                return fd;
        r = resolve_dangling(rootfd, path, &resolved);
        return r < 0 ? r : ensure_target(rootfd, resolved, is_file, rflags);
}

void rc_fd_path(int fd, char buf[RC_FD_PATH_MAX])
{
        snprintf(buf, RC_FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

int rc_mount_at_fd(const char *source, int fd, const char *type, unsigned long flags, const void *data,
                   int cwdfd)
{
        char path[RC_FD_PATH_MAX];
        int r, e;

        if (cwdfd < 0 || fchdir(fd) < 0) {
                rc_fd_path(fd, path);
                return mount(source, path, type, flags, data);
        }
        r = mount(source, ".", type, flags, data);
        e = errno;
        if (fchdir(cwdfd) < 0)
                return -1;
        errno = e;
        return r;
}

int rc_open_in_root(int rootfd, const char *path, int flags, mode_t mode, rc_error_t *err)
{
        int fd = rc_root_open(rootfd, path, flags, mode, 0);

        if (fd < 0)
                return rc_error_set(err, -fd, "open `%s`", path);
        return fd;
}

int rc_mkdir_p_in_root(int rootfd, const char *path, mode_t mode, rc_error_t *err)
{
        int fd = rc_root_mkdir_p(rootfd, path, mode, 0);

        if (fd < 0)
                return rc_error_set(err, -fd, "mkdir `%s`", path);
        return fd;
}

int rc_ensure_target_in_root(int rootfd, const char *path, bool is_file, rc_error_t *err)
{
        int fd = rc_root_ensure_target(rootfd, path, is_file, 0);

        if (fd < 0)
                return rc_error_set(err, -fd, "create `%s`", path);
        return fd;
}

int rc_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n == 0) {
                        errno = EIO; /* no progress: do not spin */
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Create "<dir>/.<base>.XXXXXXXX" next to name with O_EXCL; returns the fd. */
static int create_temp(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
        const char *slash = strrchr(name, '/');
        int dirlen = slash ? (int)(slash - name + 1) : 0;

        for (int i = 0; i < 100; i++) {
                uint32_t rnd;
                char *tmp;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                        rnd = (uint32_t)getpid() * 2654435761u + (uint32_t)i;
                if (asprintf(&tmp, "%.*s.%s.%08x", dirlen, name, name + dirlen, rnd) < 0)
                        return -ENOMEM;
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd >= 0) {
                        *ret_tmp = tmp;
                        return fd;
                }
                free(tmp);
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int rc_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         rc_error_t *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        fd = create_temp(dirfd, name, mode, &tmp);
        if (fd < 0)
                return rc_error_set(err, -fd, "create a temporary file for `%s`", name);
        r = rc_write_all(fd, buf, len) < 0 ? -errno : 0;
        /* the mode given to open(2) went through the umask: set it exactly */
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return rc_error_set(err, -r, "write `%s`", name);
        }
        return 0;
}

int rc_write_file_at(int dirfd, const char *path, const void *buf, size_t len, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        do
                n = write(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(err, errno, "write `%s`", path);
        if ((size_t)n != len)
                return rc_error_set(err, EIO, "write `%s`: short write (%zd of %zu bytes)", path, n, len);
        return 0;
}

int rc_read_fd(int fd, const char *path, size_t max, char **ret, size_t *ret_len, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                if (cap - len < 2) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        char *nbuf;
                        if (ncap > max + 2)
                                ncap = max + 2; /* room for one byte too many, and the NUL */
                        nbuf = realloc(buf, ncap);
                        if (nbuf == NULL)
                                return rc_error_set(err, ENOMEM, "read `%s`", path);
                        buf = nbuf;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return rc_error_set(err, errno, "read `%s`", path);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return rc_error_set(err, EFBIG, "read `%s`: larger than %zu bytes", path, max);
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len != NULL)
                *ret_len = len;
        return 0;
}

int rc_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        return rc_read_fd(fd, path, max, ret, ret_len, err);
}

/* The verified procfs of this process; a cache like openat2_unusable (see rc_proc_fd). */
static int proc_root_fd = -1;

int rc_proc_fd(rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        struct statfs sfs;
        struct stat st;

        if (proc_root_fd >= 0)
                return proc_root_fd;
        fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open `/proc`");
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "stat `/proc`");
        if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO)
                return rc_error_set(err, EPERM, "open `/proc`: not the root of a procfs");
        proc_root_fd = TAKE_FD(fd);
        return proc_root_fd;
}

/* Paths handed to rc_proc_open are ours ("self/...", "sys/..."): relative, no "..". */
static bool proc_path_ok(const char *path)
{
        const char *p = path;

        if (path[0] == '/' || path[0] == '\0')
                return false;
        for (;;) {
                size_t n = path_next(&p);
                if (n == 0)
                        return true;
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                p += n;
        }
}

int rc_proc_open(const char *path, int flags, rc_error_t *err)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        _cleanup_close_ int fd = -1;
        struct statfs sfs;
        int root;

        if (!proc_path_ok(path))
                return rc_error_set(err, EINVAL, "open `/proc/%s`: invalid path", path);
        root = rc_proc_fd(err);
        if (root < 0)
                return -1;
        fd = openat2_unusable ? -1 : rc_openat2(root, path, &how, sizeof(how));
        if (fd < 0 && (openat2_unusable || errno == ENOSYS || errno == E2BIG))
                /* intermediate links ("self") stay inside procfs; the type is checked below */
                fd = openat(root, path, flags | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return rc_error_set(err, errno, "open `/proc/%s`", path);
        if (fstatfs(fd, &sfs) < 0)
                return rc_error_set(err, errno, "stat `/proc/%s`", path);
        if (sfs.f_type != PROC_SUPER_MAGIC)
                return rc_error_set(err, EXDEV, "open `/proc/%s`: not on procfs", path);
        return TAKE_FD(fd);
}

DIR *rc_opendir_dup(int fd)
{
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

        if (d == NULL) {
                int e = errno;
                if (dfd >= 0)
                        close(dfd);
                errno = e;
                return NULL;
        }
        /* the duplicate shares the file offset with fd: start from the top */
        rewinddir(d);
        return d;
}

/* ---- removing trees ---------------------------------------------------------------- */

#define TREE_DEPTH_MAX 512

static int remove_children(int fd, dev_t dev, unsigned depth);

/* The entry's type and whether it is a mount point (see rc_remove_tree_at); parent_dev
 * NULL: no parent to compare with, only the kernel's attribute tells. */
static int stat_entry(int dirfd, const char *name, const dev_t *parent_dev, mode_t *mode, dev_t *dev,
                      bool *mount)
{
        struct statx stx;

        if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0)
                return -errno;
        *mode = stx.stx_mode;
        *dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
        if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                *mount = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
        else
                *mount = S_ISDIR(stx.stx_mode) && parent_dev != NULL && *dev != *parent_dev;
        return 0;
}

static int remove_entry(int dirfd, const char *name, dev_t parent_dev, unsigned depth)
{
        _cleanup_close_ int fd = -1;
        mode_t mode;
        dev_t dev;
        bool mount;
        int r;

        r = stat_entry(dirfd, name, &parent_dev, &mode, &dev, &mount);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        if (mount)
                return -EBUSY;
        if (!S_ISDIR(mode))
                return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        /* an empty directory (the common case of a sandbox's mount points) goes at once,
         * without being opened and read */
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = remove_children(fd, dev, depth + 1);
        if (r < 0)
                return r;
        return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

/* Empty the directory fd. Entries that readdir missed while we unlinked are caught by
 * another pass. */
static int remove_children(int fd, dev_t dev, unsigned depth)
{
        if (depth > TREE_DEPTH_MAX)
                return -ELOOP;
        if (geteuid() != 0)
                (void)fchmod(fd, 0700); /* our own 0555 directories */
        for (int pass = 0; pass < 3; pass++) {
                DIR *d = rc_opendir_dup(fd);
                struct dirent *de;
                bool any = false;

                if (d == NULL)
                        return -errno;
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        int r = remove_entry(fd, de->d_name, dev, depth);
                        if (r < 0) {
                                closedir(d);
                                return r;
                        }
                        any = true;
                }
                closedir(d);
                if (!any)
                        break;
        }
        return 0;
}

int rc_remove_tree_at(int dirfd, const char *name, rc_error_t *err)
{
        mode_t mode;
        dev_t dev;
        bool mount;
        int r;

        r = stat_entry(dirfd, name, NULL, &mode, &dev, &mount);
        if (r == 0)
                r = mount ? -EBUSY : remove_entry(dirfd, name, dev, 0);
        if (r == -ENOENT)
                r = 0;
        if (r < 0 && err != NULL) {
                if (r == -EBUSY)
                        return rc_error_set(err, EBUSY, "remove `%s`: something is mounted there", name);
                return rc_error_set(err, -r, "remove `%s`", name);
        }
        return r < 0 ? -1 : 0;
}

bool rc_fs_is_cgroup2(const char *path)
{
        struct statfs st;

        return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

int rc_read_regular_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len, rc_error_t *err)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        struct stat st;

        if (fd < 0 && errno == ELOOP)
                return rc_error_set_status(err, ELOOP, "`%s` is a symbolic link, not a regular file", name);
        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", name);
        if (fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "stat `%s`", name);
        if (!S_ISREG(st.st_mode))
                return rc_error_set_status(err, EINVAL, "`%s` is not a regular file", name);
        return rc_read_fd(fd, name, max, ret, ret_len, err);
}

int rc_mkdir_p_host(const char *path, mode_t parent_mode, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (p == NULL)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, parent_mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}
