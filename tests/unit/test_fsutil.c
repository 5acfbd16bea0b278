/* fsutil: root-relative resolution (openat2 and the fallback walk), mkdir -p, mount
 * targets, whole-file helpers. Everything happens in a mkdtemp tree; no root needed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "runtime/base/fsutil.h"
#include "runtime/image/internal.h"
#include "runtime/rootfs/internal.h"

static char tmpdir[] = "/tmp/rc-test-fsutil-XXXXXX";
static int rootfd = -1;

typedef int (*open_fn)(int rootfd, const char *path, int flags, mode_t mode, unsigned rflags);

static void mk(const char *rel, bool dir)
{
        char p[512];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
        if (dir) {
                cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s: %s", p, strerror(errno));
                return;
        }
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0, "create %s: %s", p, strerror(errno));
        close(fd);
}

static void ln(const char *target, const char *rel)
{
        char p[512];

        snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
        cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
}

/* tmp/
 *   etc/marker   a/   a/rel -> ../../..   abs -> /   pw -> /etc/passwd
 *   dangling -> /made-by-creat   up -> ../../../../etc */
static void setup(void)
{
        cr_assert_not_null(mkdtemp(tmpdir));
        mk("etc", true);
        mk("etc/marker", false);
        mk("a", true);
        ln("../../..", "a/rel");
        ln("/", "abs");
        ln("/etc/passwd", "pw");
        ln("/made-by-creat", "dangling");
        ln("../../../../etc", "up");
        rootfd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
        char cmd[600];

        if (rootfd >= 0)
                close(rootfd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        cr_assert_eq(system(cmd), 0);
}

TestSuite(fsutil, .init = setup, .fini = teardown);

/* fd must name <tmpdir>/<rel>. */
static void assert_is(int fd, const char *rel)
{
        char p[512];
        struct stat a, b;

        cr_assert_geq(fd, 0, "open failed: %s", strerror(-fd));
        snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
        cr_assert_eq(fstat(fd, &a), 0);
        cr_assert_eq(lstat(p, &b), 0, "lstat %s", p);
        cr_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino, "fd is not %s", p);
}

static void check_stays_inside(open_fn fn)
{
        int fd;

        fd = fn(rootfd, "a/../../etc", O_PATH | O_DIRECTORY, 0, 0);
        assert_is(fd, "etc");
        close(fd);
        fd = fn(rootfd, "/../../../etc/marker", O_RDONLY, 0, 0);
        assert_is(fd, "etc/marker");
        close(fd);
        fd = fn(rootfd, "abs/etc", O_PATH, 0, 0); /* abs -> / */
        assert_is(fd, "etc");
        close(fd);
        fd = fn(rootfd, "abs", O_PATH | O_DIRECTORY, 0, 0);
        assert_is(fd, ".");
        close(fd);
        fd = fn(rootfd, "a/rel/etc/marker", O_PATH, 0, 0); /* a/rel -> ../../.. */
        assert_is(fd, "etc/marker");
        close(fd);
        fd = fn(rootfd, "up/marker", O_PATH, 0, 0);
        assert_is(fd, "etc/marker");
        close(fd);
        /* the host's /etc/passwd is not reachable */
        cr_assert_eq(fn(rootfd, "pw", O_RDONLY, 0, 0), -ENOENT);
        cr_assert_eq(fn(rootfd, "a/rel/etc/passwd", O_RDONLY, 0, 0), -ENOENT);
}

Test(fsutil, openat2_stays_inside_root)
{
        check_stays_inside(rc_root_open);
}

Test(fsutil, walk_stays_inside_root)
{
        check_stays_inside(rc_root_open_walk);
}

static void check_symlink_modes(open_fn fn)
{
        struct stat st;
        int fd;

        cr_assert_eq(fn(rootfd, "abs/etc", O_PATH, 0, RC_ROOT_NO_SYMLINKS), -ELOOP);
        cr_assert_eq(fn(rootfd, "abs", O_PATH, 0, RC_ROOT_NO_SYMLINKS), -ELOOP);
        cr_assert_eq(fn(rootfd, "pw", O_RDONLY | O_NOFOLLOW, 0, 0), -ELOOP);
        fd = fn(rootfd, "pw", O_PATH | O_NOFOLLOW, 0, 0); /* the link itself */
        assert_is(fd, "pw");
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert(S_ISLNK(st.st_mode));
        close(fd);
        cr_assert_eq(fn(rootfd, "etc/marker/x", O_PATH, 0, 0), -ENOTDIR);
        cr_assert_eq(fn(rootfd, "etc/marker", O_PATH | O_DIRECTORY, 0, 0), -ENOTDIR);
}

Test(fsutil, openat2_symlink_modes)
{
        check_symlink_modes(rc_root_open);
}

Test(fsutil, walk_symlink_modes)
{
        check_symlink_modes(rc_root_open_walk);
}

static void check_create_through_dangling(open_fn fn)
{
        int fd = fn(rootfd, "dangling", O_WRONLY | O_CREAT, 0600, 0);

        /* openat2 refuses O_CREAT through a trailing symlink; the walk creates inside */
        if (fd == -ELOOP || fd == -ENOENT)
                return;
        assert_is(fd, "made-by-creat");
        close(fd);
}

Test(fsutil, create_through_dangling_symlink_stays_inside)
{
        check_create_through_dangling(rc_root_open);
        check_create_through_dangling(rc_root_open_walk);
        cr_assert_eq(access("/made-by-creat", F_OK), -1);
}

Test(fsutil, public_open_names_the_path)
{
        rc_error_t err = NULL;

        cr_assert_lt(rc_open_in_root(rootfd, "/nope/x", O_RDONLY, 0, &err), 0);
        cr_assert_not_null(err);
        cr_assert_eq(err->status, ENOENT);
        cr_assert_str_eq(err->msg, "open `/nope/x`: No such file or directory");
        rc_error_free(&err);
}

Test(fsutil, mkdir_p_creates_and_reuses)
{
        rc_error_t err = NULL;
        struct stat st;
        int fd;

        fd = rc_mkdir_p_in_root(rootfd, "/x/y/z", 0755, &err);
        cr_assert_null(err);
        assert_is(fd, "x/y/z");
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        close(fd);
        fd = rc_mkdir_p_in_root(rootfd, "x//y/z/", 0755, &err);
        assert_is(fd, "x/y/z");
        close(fd);
        /* through an absolute symlink: still inside */
        fd = rc_mkdir_p_in_root(rootfd, "abs/m/n", 0755, &err);
        assert_is(fd, "m/n");
        close(fd);
        fd = rc_mkdir_p_in_root(rootfd, "a/rel/q", 0755, &err);
        assert_is(fd, "q");
        close(fd);
        cr_assert_eq(rc_root_mkdir_p(rootfd, "abs/k", 0755, RC_ROOT_NO_SYMLINKS), -ELOOP);
        cr_assert_lt(rc_mkdir_p_in_root(rootfd, "etc/marker/sub", 0755, &err), 0);
        cr_assert_eq(err->status, ENOTDIR);
        rc_error_free(&err);
}

Test(fsutil, ensure_target_file_and_dir)
{
        rc_error_t err = NULL;
        struct stat st;
        int fd;

        fd = rc_ensure_target_in_root(rootfd, "/f/g/file", true, &err);
        cr_assert_null(err);
        assert_is(fd, "f/g/file");
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert(S_ISREG(st.st_mode));
        cr_assert_eq(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
        cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fd);
        fd = rc_ensure_target_in_root(rootfd, "/d1/d2", false, &err);
        assert_is(fd, "d1/d2");
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        close(fd);
        /* an existing target is returned as it is */
        fd = rc_ensure_target_in_root(rootfd, "/etc/marker", false, &err);
        assert_is(fd, "etc/marker");
        close(fd);
        cr_assert_lt(rc_ensure_target_in_root(rootfd, "/etc/marker/file", true, &err), 0);
        cr_assert_eq(err->status, ENOTDIR);
        cr_assert_str_eq(err->msg, "create `/etc/marker/file`: Not a directory");
        rc_error_free(&err);
}

Test(fsutil, ensure_target_through_dangling_symlinks_creates_the_target_inside)
{
        rc_error_t err = NULL;
        int fd;

        mk("m", true);
        ln("/made/dir", "m/abs"); /* absolute: from the root */
        ln("../made2/dir", "m/rel"); /* relative: from m/ */
        ln("../../../../made3", "m/up"); /* ".." never above the root */
        ln("/made4/file", "m/file");
        fd = rc_ensure_target_in_root(rootfd, "/m/abs", false, &err);
        cr_assert_null(err, "%s", err ? err->msg : "");
        assert_is(fd, "made/dir");
        close(fd);
        fd = rc_ensure_target_in_root(rootfd, "/m/rel/sub", false, &err);
        assert_is(fd, "made2/dir/sub");
        close(fd);
        fd = rc_ensure_target_in_root(rootfd, "/m/up", false, &err);
        assert_is(fd, "made3");
        close(fd);
        fd = rc_ensure_target_in_root(rootfd, "/m/file", true, &err);
        assert_is(fd, "made4/file");
        close(fd);
        cr_assert_null(err);
        fd = rc_mkdir_p_in_root(rootfd, "/m/abs/sub", 0755, &err); /* the link now resolves */
        assert_is(fd, "made/dir/sub");
        close(fd);
        cr_assert_eq(access("/made3", F_OK), -1);
        cr_assert_eq(access("/made4", F_OK), -1);
        /* a loop stays an error */
        ln("/m/loop2", "m/loop1");
        ln("/m/loop1", "m/loop2");
        cr_assert_lt(rc_ensure_target_in_root(rootfd, "/m/loop1", false, &err), 0);
        rc_error_free(&err);
}

static int count_entries(void)
{
        DIR *d = opendir(tmpdir);
        struct dirent *e;
        int n = 0;

        cr_assert_not_null(d);
        while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

Test(fsutil, atomic_write_replaces_content)
{
        int dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc_error_t err = NULL;
        char *buf = NULL;
        size_t len = 0;
        struct stat st;
        int before = count_entries();

        cr_assert_eq(rc_write_file_atomic(dirfd, "state.json", "first version", 13, 0600, &err), 0);
        cr_assert_eq(rc_write_file_atomic(dirfd, "state.json", "two", 3, 0640, &err), 0);
        cr_assert_null(err);
        cr_assert_eq(rc_read_file_at(dirfd, "state.json", 1024, &buf, &len, &err), 0);
        cr_assert_eq(len, 3);
        cr_assert_str_eq(buf, "two");
        free(buf);
        cr_assert_eq(fstatat(dirfd, "state.json", &st, 0), 0);
        cr_assert_eq(st.st_mode & 07777, 0640);
        cr_assert_eq(count_entries(), before + 1, "temporary file left behind");
        /* into a subdirectory */
        cr_assert_eq(rc_write_file_atomic(dirfd, "etc/sub.txt", "x", 1, 0644, &err), 0);
        cr_assert_eq(rc_read_file_at(dirfd, "etc/sub.txt", 10, &buf, NULL, &err), 0);
        cr_assert_str_eq(buf, "x");
        free(buf);
        close(dirfd);
}

Test(fsutil, read_and_write_file_at)
{
        int dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc_error_t err = NULL;
        char *buf = NULL;
        size_t len;

        cr_assert_eq(rc_write_file_at(dirfd, "etc/marker", "0123456789", 10, &err), 0);
        cr_assert_eq(rc_read_file_at(dirfd, "etc/marker", 10, &buf, &len, &err), 0);
        cr_assert_eq(len, 10);
        cr_assert_str_eq(buf, "0123456789");
        free(buf);
        buf = NULL;
        cr_assert_lt(rc_read_file_at(dirfd, "etc/marker", 9, &buf, &len, &err), 0);
        cr_assert_eq(err->status, EFBIG);
        cr_assert_null(buf);
        rc_error_free(&err);
        cr_assert_lt(rc_write_file_at(dirfd, "nope", "x", 1, &err), 0);
        cr_assert_str_eq(err->msg, "open `nope`: No such file or directory");
        rc_error_free(&err);
        /* /proc files report size 0 but have content */
        cr_assert_eq(rc_read_file_at(AT_FDCWD, "/proc/self/stat", 4096, &buf, &len, &err), 0);
        cr_assert_gt(len, 10);
        free(buf);
        close(dirfd);
}

Test(fsutil, path_helpers)
{
        char *parent = NULL;
        const char *base;

        cr_assert(rc_path_equal("/dev", "/dev/"));
        cr_assert(rc_path_equal("//dev//", "/dev"));
        cr_assert_not(rc_path_equal("/dev", "/devices"));
        cr_assert(rc_path_under("/dev/pts", "/dev"));
        cr_assert(rc_path_under("/dev", "/dev"));
        cr_assert_not(rc_path_under("/devx/pts", "/dev"));
        cr_assert_not(rc_path_under("/", "/dev"));
        cr_assert_eq(rc_path_split("/dev/net/tun", &parent, &base), 0);
        cr_assert_str_eq(parent, "/dev/net/");
        cr_assert_str_eq(base, "tun");
        free(parent);
        cr_assert_eq(rc_path_split("/dev/", &parent, &base), 0);
        cr_assert_str_eq(parent, "/");
        cr_assert_eq(strncmp(base, "dev", 3), 0);
        free(parent);
        cr_assert_eq(rc_path_split("/", &parent, &base), -EINVAL);
}

/* ---- rc_remove_tree_at ---------------------------------------------------------------- */

static bool exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

static void make_tree(const char *top, const char *outside)
{
        char p[PATH_MAX];

        cr_assert_eq(mkdir(top, 0700), 0);
        snprintf(p, sizeof(p), "%s/d/e/f", top);
        cr_assert_eq(rc_mkdir_p_host(p, 0755, 0755), 0);
        snprintf(p, sizeof(p), "%s/d/e/f/file", top);
        close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        snprintf(p, sizeof(p), "%s/d/link", top);
        cr_assert_eq(symlink(outside, p), 0);
        snprintf(p, sizeof(p), "%s/d/e", top);
        cr_assert_eq(chmod(p, 0555), 0); /* read-only directories of an unpacked image */
}

Test(fsutil, remove_tree_removes_everything_but_what_links_point_to)
{
        char top[PATH_MAX], outside[PATH_MAX];
        rc_error_t err = NULL;

        snprintf(top, sizeof(top), "%s/tree", tmpdir);
        snprintf(outside, sizeof(outside), "%s/etc/marker", tmpdir);
        make_tree(top, outside);
        cr_assert_eq(rc_remove_tree_at(AT_FDCWD, top, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(exists(top));
        cr_assert(exists(outside), "a symlink's target is not followed");
        cr_assert_eq(rc_remove_tree_at(rootfd, "tree", &err), 0, "a missing tree is not an error");
        cr_assert_eq(rc_remove_tree_at(rootfd, "pw", &err), 0, "a symlink is removed, not followed");
        cr_assert_not(exists(top));
        cr_assert(exists("/etc/passwd"));
}

/* In a private mount namespace of a child: a bind mount of the same filesystem inside
 * the tree, and then the tree's top itself a mount point. */
static const char *remove_tree_stops_at_mounts(void *arg, char *buf, size_t size)
{
        const char *top = arg;
        char p[PATH_MAX], src[PATH_MAX], keep[PATH_MAX];
        rc_error_t err = NULL;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return strerror(errno);
        snprintf(src, sizeof(src), "%s/../src", top);
        snprintf(keep, sizeof(keep), "%s/../src/keep", top);
        snprintf(p, sizeof(p), "%s/d/e/f", top);
        if (mkdir(src, 0700) < 0 || close(open(keep, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) < 0 ||
            mount(src, p, NULL, MS_BIND, NULL) < 0)
                return strerror(errno);
        if (rc_remove_tree_at(AT_FDCWD, top, &err) == 0)
                return "a tree with a bind mount inside was removed";
        if (err->status != EBUSY || strstr(err->msg, "something is mounted there") == NULL) {
                snprintf(buf, size, "unexpected error: %s", err->msg);
                return buf;
        }
        rc_error_free(&err);
        if (!exists(keep))
                return "a file under the bind mount was removed";
        if (umount2(p, MNT_DETACH) < 0 || mount("tmpfs", top, "tmpfs", 0, NULL) < 0)
                return strerror(errno);
        if (rc_remove_tree_at(AT_FDCWD, top, &err) == 0 || err->status != EBUSY)
                return "a tree that is itself a mount point was not refused";
        rc_error_free(&err);
        return NULL;
}

Test(fsutil, remove_tree_never_crosses_a_mount)
{
        char top[PATH_MAX];

        if (geteuid() != 0)
                cr_skip_test("needs root: makes a bind mount in a private mount namespace");
        snprintf(top, sizeof(top), "%s/tree", tmpdir);
        make_tree(top, "/nonexistent");
        run_in_child(remove_tree_stops_at_mounts, top);
        cr_assert(exists(top), "the tree stays when removal is refused");
}
