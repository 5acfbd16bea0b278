/* Unit tests for runtime/container/tmpfs_archive.c: the archive checkpoint keeps of a
 * container's tmpfs. A tree made in a temporary directory (files owned by the caller, so
 * no root needed) is archived and recreated elsewhere; bad archives fail naming the
 * problem. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "runtime/base/fsutil.h"
#include "runtime/container/tmpfs_archive.h"

static char base[] = "/tmp/rc-tmpfs-archive-XXXXXX";
static int src, dst;

static void setup(void)
{
        cr_assert_not_null(mkdtemp(base));
        cr_assert_eq(mkdirat(AT_FDCWD, base, 0700) < 0 && errno != EEXIST, 0);
        src = open(base, O_RDONLY | O_DIRECTORY);
        cr_assert_eq(mkdirat(src, "src", 0755), 0);
        cr_assert_eq(mkdirat(src, "dst", 0700), 0);
        dst = openat(src, "dst", O_RDONLY | O_DIRECTORY);
        src = openat(src, "src", O_RDONLY | O_DIRECTORY);
        cr_assert(src >= 0 && dst >= 0);
}

static void teardown(void)
{
        close(src);
        close(dst);
        rc_remove_tree_at(AT_FDCWD, base, NULL);
}

static void put(int dir, const char *name, const char *content, mode_t mode)
{
        int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL, 0600);

        cr_assert(fd >= 0, "create %s: %s", name, strerror(errno));
        cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        cr_assert_eq(fchmod(fd, mode), 0);
        close(fd);
}

/* The archive of src, in a memory file. */
static int archive(void)
{
        rc_error_t err = NULL;
        int fd = memfd_create("archive", MFD_CLOEXEC);

        cr_assert(fd >= 0);
        cr_assert_eq(rc_tmpfs_archive_write(src, fd, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

TestSuite(tmpfs_archive, .init = setup, .fini = teardown);

Test(tmpfs_archive, a_tree_comes_back_with_modes_times_links_and_holes)
{
        struct timespec t[2] = {{1000000, 5}, {2000000, 7}};
        rc_error_t err = NULL;
        struct stat st, st2;
        char buf[64];
        bool xattrs;
        int fd, in;

        cr_assert_eq(mkdirat(src, "shm", 01777), 0);
        cr_assert_eq(fchmodat(src, "shm", 01777, 0), 0);
        put(src, "shm/data", "hello", 0640);
        cr_assert_eq(utimensat(src, "shm/data", t, 0), 0);
        cr_assert_eq(linkat(src, "shm/data", src, "hard", 0), 0);
        cr_assert_eq(symlinkat("/proc/self/fd", src, "fd"), 0);
        cr_assert_eq(mkfifoat(src, "fifo", 0620), 0);
        cr_assert_eq(fchmodat(src, "fifo", 0620, 0), 0);
        cr_assert_eq(mkdirat(src, "ro", 0500), 0);
        /* a sparse file: 1 MiB hole, then data */
        fd = openat(src, "sparse", O_WRONLY | O_CREAT, 0600);
        cr_assert_eq(pwrite(fd, "tail", 4, 1 << 20), 4);
        xattrs = fsetxattr(fd, "user.rc", "v1", 2, 0) == 0;
        close(fd);
        cr_assert_eq(fchmodat(src, "ro", 0500, 0), 0);

        in = archive();
        cr_assert_eq(rc_tmpfs_archive_read(in, "a.img", dst, &err), 0, "%s", err ? err->msg : "");
        close(in);

        cr_assert_eq(fstatat(dst, "shm", &st, AT_SYMLINK_NOFOLLOW), 0);
        cr_assert(S_ISDIR(st.st_mode));
        cr_assert_eq(st.st_mode & 07777, 01777);
        cr_assert_eq(fstatat(dst, "shm/data", &st, 0), 0);
        cr_assert_eq(st.st_mode & 07777, 0640);
        cr_assert_eq(st.st_mtim.tv_sec, 2000000);
        cr_assert_eq(st.st_mtim.tv_nsec, 7);
        cr_assert_eq(st.st_nlink, 2, "the hard link is one inode again");
        cr_assert_eq(fstatat(dst, "hard", &st2, 0), 0);
        cr_assert_eq(st.st_ino, st2.st_ino);
        fd = openat(dst, "shm/data", O_RDONLY);
        cr_assert_eq(read(fd, buf, sizeof(buf)), 5);
        close(fd);
        cr_assert_eq(memcmp(buf, "hello", 5), 0);
        cr_assert_eq(readlinkat(dst, "fd", buf, sizeof(buf)), 13);
        cr_assert_eq(memcmp(buf, "/proc/self/fd", 13), 0);
        cr_assert_eq(fstatat(dst, "fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
        cr_assert(S_ISFIFO(st.st_mode));
        cr_assert_eq(st.st_mode & 07777, 0620);
        cr_assert_eq(fstatat(dst, "ro", &st, 0), 0);
        cr_assert_eq(st.st_mode & 07777, 0500);
        cr_assert_eq(fstatat(dst, "sparse", &st, 0), 0);
        cr_assert_eq(st.st_size, (1 << 20) + 4);
        cr_assert_lt(st.st_blocks, 256, "the hole stays a hole (%lld blocks)", (long long)st.st_blocks);
        fd = openat(dst, "sparse", O_RDONLY);
        cr_assert_eq(pread(fd, buf, 4, 1 << 20), 4);
        cr_assert_eq(memcmp(buf, "tail", 4), 0);
        if (xattrs) {
                cr_assert_eq(fgetxattr(fd, "user.rc", buf, sizeof(buf)), 2);
                cr_assert_eq(memcmp(buf, "v1", 2), 0);
        }
        close(fd);
        cr_assert_eq(fchmodat(dst, "ro", 0700, 0), 0); /* for the teardown */
        cr_assert_eq(fchmodat(src, "ro", 0700, 0), 0);
}

/* Every proper prefix of an archive is truncated, and says so with the file's name. */
Test(tmpfs_archive, a_truncated_archive_fails_naming_the_file)
{
        struct stat st;
        char *img;
        int in;

        put(src, "f", "some content", 0644);
        cr_assert_eq(mkdirat(src, "d", 0755), 0);
        in = archive();
        cr_assert_eq(fstat(in, &st), 0);
        img = malloc((size_t)st.st_size);
        cr_assert_eq(read(in, img, (size_t)st.st_size), st.st_size);
        close(in);
        for (off_t cut = 0; cut < st.st_size; cut++) {
                int fd = memfd_create("cut", MFD_CLOEXEC);
                rc_error_t err = NULL;

                cr_assert_eq(write(fd, img, (size_t)cut), cut);
                lseek(fd, 0, SEEK_SET);
                rc_remove_tree_at(dst, "f", NULL);
                rc_remove_tree_at(dst, "d", NULL);
                cr_assert_eq(rc_tmpfs_archive_read(fd, "run-container-tmpfs-0.img", dst, &err), -1,
                             "cut %lld", (long long)cut);
                cr_assert(strstr(err->msg, "run-container-tmpfs-0.img") != NULL, "%s", err->msg);
                rc_error_free(&err);
                close(fd);
        }
        free(img);
}

static int read_bytes(const void *b, size_t n, rc_error_t *err)
{
        int fd = memfd_create("bad", MFD_CLOEXEC);
        int r;

        cr_assert_eq(write(fd, b, n), (ssize_t)n);
        lseek(fd, 0, SEEK_SET);
        r = rc_tmpfs_archive_read(fd, "x.img", dst, err);
        close(fd);
        return r;
}

Test(tmpfs_archive, paths_out_of_the_tree_and_bad_fields_are_refused)
{
        struct rc_tmpfs_entry root = {.type = 'd', .mode = 0755}, e = {.type = 'f', .mode = 0644};
        uint8_t b[512], *p = b;
        rc_error_t err = NULL;
        struct stat st;

        memcpy(p, RC_TMPFS_MAGIC, 8);
        p += 8;
        rc_tmpfs_entry_encode(&root, p);
        p += RC_TMPFS_ENTRY_SIZE;
        e.path_len = 9;
        rc_tmpfs_entry_encode(&e, p);
        p += RC_TMPFS_ENTRY_SIZE;
        memcpy(p, "../escape", 9);
        p += 9;
        memset(p, 0, 16);
        p += 16;
        cr_assert_eq(read_bytes(b, (size_t)(p - b), &err), -1);
        cr_assert(strstr(err->msg, "not a relative path") != NULL, "%s", err->msg);
        rc_error_free(&err);
        cr_assert_eq(fstatat(dst, "../escape", &st, 0), -1);

        cr_assert_eq(read_bytes("RCTMPFS0", 8, &err), -1);
        cr_assert(strstr(err->msg, "bad magic") != NULL, "%s", err->msg);
        rc_error_free(&err);

        cr_assert(!rc_tmpfs_path_valid("/abs", 4));
        cr_assert(!rc_tmpfs_path_valid("a//b", 4));
        cr_assert(!rc_tmpfs_path_valid("a/./b", 5));
        cr_assert(!rc_tmpfs_path_valid("a/", 2));
        cr_assert(!rc_tmpfs_path_valid("a\0b", 3));
        cr_assert(rc_tmpfs_path_valid("a/..b/c", 7));
        e.mode = 010000;
        rc_tmpfs_entry_encode(&e, b);
        cr_assert_eq(rc_tmpfs_entry_decode(b, &root), -1);
        e.mode = 0644;
        e.type = 's';
        rc_tmpfs_entry_encode(&e, b);
        cr_assert_eq(rc_tmpfs_entry_decode(b, &root), -1);
}

Test(tmpfs_archive, the_entry_encoding_round_trips)
{
        struct rc_tmpfs_entry e = {.type = 'c',
                                   .mode = 04755,
                                   .uid = 100000,
                                   .gid = 5,
                                   .rdev = 0x0105,
                                   .atime_sec = -3,
                                   .atime_nsec = 999999999,
                                   .mtime_sec = 1 << 30,
                                   .size = 1ull << 40,
                                   .path_len = 12,
                                   .n_xattrs = 2},
                              d;
        uint8_t b[RC_TMPFS_ENTRY_SIZE];

        rc_tmpfs_entry_encode(&e, b);
        cr_assert_eq(b[0], 'c');
        cr_assert_eq(rc_tmpfs_entry_decode(b, &d), 0);
        /* field by field: the struct's padding (after type) is not part of the value */
        cr_assert_eq(d.type, e.type);
        cr_assert_eq(d.mode, e.mode);
        cr_assert_eq(d.uid, e.uid);
        cr_assert_eq(d.gid, e.gid);
        cr_assert_eq(d.rdev, e.rdev);
        cr_assert_eq(d.atime_sec, e.atime_sec);
        cr_assert_eq(d.mtime_sec, e.mtime_sec);
        cr_assert_eq(d.atime_nsec, e.atime_nsec);
        cr_assert_eq(d.mtime_nsec, e.mtime_nsec);
        cr_assert_eq(d.size, e.size);
        cr_assert_eq(d.path_len, e.path_len);
        cr_assert_eq(d.n_xattrs, e.n_xattrs);
}
