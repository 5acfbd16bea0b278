/* Compiled seccomp filters kept for the next container with the same profile; see
 * seccomp_cache.h for the key and why the whole key is compared. */
#include "runtime/isolation/seccomp_cache.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define MAGIC "RCSECC1\n"
#define MAGIC_LEN 8
#define MAX_FILE (4u << 20)

/* Strings go in with their length first, so that no two profiles write the same key. */
static void put_str(FILE *f, const char *s)
{
        size_t len = s ? strlen(s) : 0, n = len;
        char num[24], *p = num + sizeof(num);

        /* " <len>:<s>" without printf: a profile has hundreds of names */
        *--p = ':';
        do {
                *--p = (char)('0' + n % 10);
                n /= 10;
        } while (n != 0);
        *--p = ' ';
        fwrite_unlocked(p, 1, (size_t)(num + sizeof(num) - p), f);
        if (len > 0)
                fwrite_unlocked(s, 1, len, f);
}

struct build_id {
        uintptr_t addr; /* in the object sought */
        bool found; /* the object holding addr */
        char hex[2 * 64 + 1]; /* its NT_GNU_BUILD_ID, "" if it has none */
};

/* The GNU build id note among an object's PT_NOTE segments, in hex. */
static void note_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) * ph, char *hex, size_t cap)
{
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;

        while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
                const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
                size_t name = (n->n_namesz + 3) & ~(size_t)3, desc = (n->n_descsz + 3) & ~(size_t)3;
                const unsigned char *d = (const unsigned char *)p + sizeof(*n) + name;

                if ((size_t)(end - p) - sizeof(*n) < name + desc)
                        return;
                if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(n + 1, "GNU", 4) == 0 &&
                    n->n_descsz > 0 && 2 * n->n_descsz < cap) {
                        for (size_t i = 0; i < n->n_descsz; i++) {
                                hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
                                hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
                        }
                        hex[2 * n->n_descsz] = '\0';
                        return;
                }
                p += sizeof(*n) + name + desc;
        }
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
        struct build_id *b = data;

        (void)size;
        for (int i = 0; i < info->dlpi_phnum && !b->found; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t start = info->dlpi_addr + ph->p_vaddr;

                b->found = ph->p_type == PT_LOAD && b->addr >= start && b->addr - start < ph->p_memsz;
        }
        if (!b->found)
                return 0;
        for (int i = 0; i < info->dlpi_phnum && b->hex[0] == '\0'; i++)
                if (info->dlpi_phdr[i].p_type == PT_NOTE)
                        note_build_id(info, &info->dlpi_phdr[i], b->hex, sizeof(b->hex));
        return 1;
}

int rc_seccomp_cache_key(const struct oci_seccomp *s, const char *compiler, char **ret, size_t *ret_len,
                         rc_error_t *err)
{
        const struct scmp_version *v = seccomp_version();
        char *buf = NULL;
        size_t len = 0;
        struct utsname u;
        FILE *f;

        if (uname(&u) < 0)
                return rc_error_set(err, errno, "uname");
        f = open_memstream(&buf, &len);
        if (f == NULL)
                return rc_error_set(err, ENOMEM, "seccomp cache key");
        /* __DATE__/__TIME__: a rebuilt cache never reads what an older build wrote */
        fprintf(f, "run-container seccomp cache 1\nruntime %s %s %s\ncompiler", RC_VERSION, __DATE__,
                __TIME__);
        put_str(f, compiler);
        fputc('\n', f);
        fprintf(f, "libseccomp %u.%u.%u\nkernel", v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
        put_str(f, u.release);
        fprintf(f, "\nnative %" PRIu32 "\ndefault %d %d %u flags %u\narchitectures %zu",
                seccomp_arch_native(), (int)s->default_action, s->has_default_errno_ret,
                s->default_errno_ret, s->flags, s->n_architectures);
        /* the built-in profile: the build id of the program holding its tables (a hash of
         * all its bytes) names it; without one, it is written out as any other */
        if (s->builtin) {
                struct build_id b = {.addr = (uintptr_t)&oci_default_seccomp_build};

                dl_iterate_phdr(find_build_id, &b);
                if (b.hex[0] != '\0') {
                        fprintf(f, " builtin");
                        put_str(f, b.hex);
                        fputc('\n', f);
                        goto done;
                }
        }
        for (size_t i = 0; i < s->n_architectures; i++)
                put_str(f, s->architectures[i]);
        fprintf(f, "\nsyscalls %zu\n", s->n_syscalls);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const struct oci_seccomp_syscall *sc = &s->syscalls[i];
                fprintf(f, "%d %d %u %zu", (int)sc->action, sc->has_errno_ret, sc->errno_ret, sc->n_names);
                for (size_t j = 0; j < sc->n_names; j++)
                        put_str(f, sc->names[j]);
                fprintf(f, " args %zu", sc->n_args);
                for (size_t j = 0; j < sc->n_args; j++)
                        fprintf(f, " %u %d %" PRIu64 " %" PRIu64, sc->args[j].index, (int)sc->args[j].op,
                                sc->args[j].value, sc->args[j].value_two);
                fputc('\n', f);
        }
done:
        if (fclose(f) != 0 || buf == NULL) {
                free(buf);
                return rc_error_set(err, ENOMEM, "seccomp cache key");
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* FNV-1a: it only names the file (the key inside is compared in full). */
static void file_name(const char *key, size_t len, char name[17])
{
        uint64_t h = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)key[i];
                h *= 0x100000001b3ull;
        }
        snprintf(name, 17, "%016" PRIx64, h);
}

/* The cache directory, created when `create`; only ours (owner, 0700) is used. */
static int open_dir(const char *root, bool create, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, fd = -1;
        struct stat st;

        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return rc_error_set(err, errno, "open state root `%s`", root);
        fd = openat(rootfd, RC_SECCOMP_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                if (mkdirat(rootfd, RC_SECCOMP_CACHE_DIR, 0700) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "create %s/%s", root, RC_SECCOMP_CACHE_DIR);
                fd = openat(rootfd, RC_SECCOMP_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return rc_error_set(err, errno, "open %s/%s", root, RC_SECCOMP_CACHE_DIR);
        if (fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "stat %s/%s", root, RC_SECCOMP_CACHE_DIR);
        if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
                return rc_error_set(err, EPERM, "%s/%s: not a 0700 directory of ours", root,
                                    RC_SECCOMP_CACHE_DIR);
        return TAKE_FD(fd);
}

static int read_entry(int dirfd, const char *name, char **ret, size_t *ret_len, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t got = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "open seccomp cache entry %s", name);
        if (fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "stat seccomp cache entry %s", name);
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
            st.st_size > (off_t)MAX_FILE)
                return rc_error_set(err, EPERM, "seccomp cache entry %s: not a private file of ours", name);
        buf = malloc((size_t)st.st_size + 1);
        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "seccomp cache entry %s", name);
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return rc_error_set(err, n < 0 ? errno : EIO, "read seccomp cache entry %s", name);
                got += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = got;
        return 1;
}

/* Entry: MAGIC, u64 key length, key, u64 instruction count, instructions. */
static int parse_entry(const char *buf, size_t len, const char *key, size_t key_len,
                       struct sock_filter **ret, size_t *ret_n)
{
        uint64_t klen, n;
        size_t off = MAGIC_LEN;

        if (len < MAGIC_LEN + 16 || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
                return -1;
        memcpy(&klen, buf + off, 8);
        off += 8;
        if (klen != key_len || len - off < klen + 8 || memcmp(buf + off, key, key_len) != 0)
                return -1;
        off += key_len;
        memcpy(&n, buf + off, 8);
        off += 8;
        if (n == 0 || n > BPF_MAXINSNS || len - off != n * sizeof(struct sock_filter))
                return -1;
        *ret = malloc(len - off);
        if (*ret == NULL)
                return -1;
        memcpy(*ret, buf + off, len - off);
        *ret_n = (size_t)n;
        return 0;
}

int rc_seccomp_cache_get(const char *root, const char *key, size_t key_len, const struct rc_logger *log,
                         struct sock_filter **ret, size_t *ret_n)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        char name[17];
        int r;

        dirfd = open_dir(root, false, &err);
        if (dirfd < 0) {
                if (err->status != ENOENT)
                        rc_log(log, RC_LOG_DEBUG, "seccomp cache: %s", err->msg);
                return 0;
        }
        file_name(key, key_len, name);
        r = read_entry(dirfd, name, &buf, &len, &err);
        if (r < 0)
                rc_log(log, RC_LOG_DEBUG, "seccomp cache: %s", err->msg);
        if (r <= 0)
                return 0;
        if (parse_entry(buf, len, key, key_len, ret, ret_n) < 0) {
                rc_log(log, RC_LOG_DEBUG, "seccomp cache: entry %s is for another profile or malformed",
                       name);
                return 0;
        }
        rc_log(log, RC_LOG_DEBUG, "seccomp cache: filter %s read (%zu instructions)", name, *ret_n);
        return 1;
}

/* A full directory is emptied: entries are cheap to remake, and a bound keeps a stream
 * of one-off profiles from filling the state root. */
static void make_room(int dirfd)
{
        _cleanup_close_ int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        if (fd < 0 || (d = fdopendir(fd)) == NULL)
                return;
        fd = -1;
        while ((de = readdir(d)) != NULL)
                n += de->d_name[0] != '.';
        if (n >= RC_SECCOMP_CACHE_MAX) {
                rewinddir(d);
                while ((de = readdir(d)) != NULL)
                        if (de->d_name[0] != '.')
                                (void)unlinkat(dirfd, de->d_name, 0);
        }
        closedir(d);
}

void rc_seccomp_cache_put(const char *root, const char *key, size_t key_len, const struct sock_filter *insns,
                          size_t n, const struct rc_logger *log)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = MAGIC_LEN + 8 + key_len + 8 + n * sizeof(*insns), off = 0;
        uint64_t v;
        char name[17];

        if (len > MAX_FILE || (buf = malloc(len)) == NULL)
                return;
        memcpy(buf, MAGIC, MAGIC_LEN);
        off = MAGIC_LEN;
        v = key_len;
        memcpy(buf + off, &v, 8);
        off += 8;
        memcpy(buf + off, key, key_len);
        off += key_len;
        v = n;
        memcpy(buf + off, &v, 8);
        off += 8;
        memcpy(buf + off, insns, n * sizeof(*insns));
        dirfd = open_dir(root, true, &err);
        if (dirfd >= 0) {
                make_room(dirfd);
                file_name(key, key_len, name);
                if (rc_write_file_atomic(dirfd, name, buf, len, 0600, &err) == 0) {
                        rc_log(log, RC_LOG_DEBUG, "seccomp cache: filter %s written", name);
                        return;
                }
        }
        rc_log(log, RC_LOG_DEBUG, "seccomp cache: %s", err->msg);
}
