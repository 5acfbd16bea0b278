/* Unit tests for runtime/isolation/seccomp_cache.c: the key tells profiles apart, entries are used
 * only for their own key, unusable entries are misses, and a compile through the cache
 * gives the same program as one without. No root needed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/seccomp.h"
#include "runtime/isolation/seccomp_cache.h"
#include "seccomp_config.h"
#include "specs/config.h"

static char root[] = "/tmp/rc-test-secc-XXXXXX";
static char log_buf[4096];

static void capture_log(void *data, enum rc_log_level level, const char *msg)
{
        size_t used = strlen(log_buf);

        snprintf(log_buf + used, sizeof(log_buf) - used, "%s\n", msg);
}

static const struct rc_logger test_log = {.fn = capture_log, .max_level = RC_LOG_DEBUG};

static void setup(void)
{
        strcpy(root, "/tmp/rc-test-secc-XXXXXX");
        cr_assert_not_null(mkdtemp(root));
        log_buf[0] = '\0';
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        cr_assert_eq(system(cmd), 0);
}

TestSuite(seccomp_cache, .init = setup, .fini = teardown);

static char *key_of(const char *seccomp_json)
{
        struct oci_config *c = parse_seccomp(seccomp_json);
        rc_error_t err = NULL;
        char *key = NULL;
        size_t len = 0;

        cr_assert_eq(rc_seccomp_key(&c->linux_.seccomp, &key, &len, &err), 0);
        cr_assert_eq(strlen(key), len);
        oci_config_free(c);
        return key;
}

#define P1                                                                                                  \
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": "      \
        "\"SCMP_ACT_ERRNO\"}]}"

Test(seccomp_cache, key_tells_profiles_apart)
{
        static const char *const profiles[] = {
                P1,
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"rmdir\"], "
                "\"action\": "
                "\"SCMP_ACT_ERRNO\"}]}",
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
                "\"action\": "
                "\"SCMP_ACT_ERRNO\", \"errnoRet\": 2}]}",
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\", \"rmdir\"], "
                "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                /* the same names split differently must not write the same key */
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir rmdir\"], "
                "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
                "\"action\": "
                "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": 7, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
                "\"action\": "
                "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\"], "
                "\"syscalls\": "
                "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": "
                "\"SCMP_ACT_ERRNO\"}]}",
        };
        size_t n = sizeof(profiles) / sizeof(profiles[0]);
        char *keys[sizeof(profiles) / sizeof(profiles[0])];

        for (size_t i = 0; i < n; i++)
                keys[i] = key_of(profiles[i]);
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        cr_assert_str_neq(keys[i], keys[j], "profiles %zu and %zu share a key", i, j);
        for (size_t i = 0; i < n; i++) {
                char *again = key_of(profiles[i]);
                cr_assert_str_eq(again, keys[i], "the key of one profile must not change");
                free(again);
                free(keys[i]);
        }
}

static size_t count_entries(void)
{
        char dir[256];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/%s", root, RC_SECCOMP_CACHE_DIR);
        d = opendir(dir);
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void compile_cached(const char *json, struct rc_seccomp_prog *p)
{
        struct oci_config *c = parse_seccomp(json);
        rc_error_t err = NULL;

        log_buf[0] = '\0';
        cr_assert_eq(rc_seccomp_compile_cached(&c->linux_.seccomp, root, &test_log, p, &err), 0, "%s",
                     err ? err->msg : "");
        oci_config_free(c);
}

/* Compile into the cache, keeping only the entry it writes. */
static void store(const char *json)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_cached(json, &p);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_cache, second_compile_reads_the_same_program)
{
        struct rc_seccomp_prog plain = RC_SECCOMP_PROG_INIT, first = RC_SECCOMP_PROG_INIT,
                               second = RC_SECCOMP_PROG_INIT;
        struct oci_config *c = parse_seccomp(P1);
        rc_error_t err = NULL;
        struct stat st;
        char dir[256];

        cr_assert_eq(rc_seccomp_compile(&c->linux_.seccomp, &test_log, &plain, &err), 0);
        oci_config_free(c);
        compile_cached(P1, &first);
        cr_assert(strstr(log_buf, "written") != NULL, "%s", log_buf);
        cr_assert_eq(count_entries(), 1);
        snprintf(dir, sizeof(dir), "%s/%s", root, RC_SECCOMP_CACHE_DIR);
        cr_assert_eq(stat(dir, &st), 0);
        cr_assert_eq(st.st_mode & 07777, 0700);
        compile_cached(P1, &second);
        cr_assert(strstr(log_buf, "read") != NULL, "%s", log_buf);
        cr_assert_eq(second.n_insns, plain.n_insns);
        cr_assert_eq(memcmp(second.insns, plain.insns, plain.n_insns * sizeof(*plain.insns)), 0);
        cr_assert_eq(first.n_insns, plain.n_insns);
        rc_seccomp_prog_clear(&plain);
        rc_seccomp_prog_clear(&first);
        rc_seccomp_prog_clear(&second);
}

/* the only entry in the cache directory */
static void entry_path(char *buf, size_t size)
{
        char dir[256];
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/%s", root, RC_SECCOMP_CACHE_DIR);
        d = opendir(dir);
        cr_assert_not_null(d);
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        break;
        cr_assert_not_null(de);
        snprintf(buf, size, "%s/%s", dir, de->d_name);
        closedir(d);
}

Test(seccomp_cache, entry_with_another_key_is_a_miss)
{
        struct sock_filter *insns = NULL;
        size_t n = 0;
        char *key = key_of(P1), *other = NULL;

        store(P1);
        /* one byte off (a different hash, so a different file): a miss */
        other = strdup(key);
        other[strlen(other) - 2] ^= 1;
        cr_assert_eq(rc_seccomp_cache_get(root, key, strlen(key), &test_log, &insns, &n), 1);
        free(insns);
        cr_assert_eq(rc_seccomp_cache_get(root, other, strlen(other), &test_log, &insns, &n), 0);
        free(key);
        free(other);
}

Test(seccomp_cache, entry_is_checked_against_the_whole_key)
{
        struct sock_filter *insns = NULL;
        _cleanup_free_ char *buf = NULL;
        char path[512], *key = key_of(P1);
        size_t n = 0;
        struct stat st;
        int fd;

        store(P1);
        entry_path(path, sizeof(path));
        /* flip one byte of the key stored in the file: the name still matches our key */
        fd = open(path, O_RDWR);
        cr_assert_geq(fd, 0);
        cr_assert_eq(fstat(fd, &st), 0);
        buf = malloc((size_t)st.st_size);
        cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
        buf[8 + 8 + 3] ^= 1;
        cr_assert_eq(pwrite(fd, buf, (size_t)st.st_size, 0), st.st_size);
        close(fd);
        cr_assert_eq(rc_seccomp_cache_get(root, key, strlen(key), &test_log, &insns, &n), 0);
        cr_assert(strstr(log_buf, "another profile") != NULL, "%s", log_buf);
        free(key);
}

Test(seccomp_cache, entry_others_may_write_is_ignored)
{
        struct sock_filter *insns = NULL;
        char path[512], *key = key_of(P1);
        size_t n = 0;

        store(P1);
        entry_path(path, sizeof(path));
        cr_assert_eq(chmod(path, 0666), 0);
        cr_assert_eq(rc_seccomp_cache_get(root, key, strlen(key), &test_log, &insns, &n), 0);
        cr_assert(strstr(log_buf, "not a private file") != NULL, "%s", log_buf);
        /* and the next compile replaces it */
        store(P1);
        cr_assert_eq(rc_seccomp_cache_get(root, key, strlen(key), &test_log, &insns, &n), 1);
        free(insns);
        free(key);
}

Test(seccomp_cache, truncated_entry_is_a_miss)
{
        struct sock_filter *insns = NULL;
        char path[512], *key = key_of(P1);
        struct stat st;
        size_t n = 0;

        store(P1);
        entry_path(path, sizeof(path));
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(truncate(path, st.st_size - 4), 0);
        cr_assert_eq(rc_seccomp_cache_get(root, key, strlen(key), &test_log, &insns, &n), 0);
        free(key);
}

Test(seccomp_cache, full_directory_is_emptied)
{
        char *json = NULL;

        for (int i = 0; i < RC_SECCOMP_CACHE_MAX; i++) {
                cr_assert_geq(asprintf(&json,
                                       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                       "[\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": %d}]}",
                                       i + 1),
                              0);
                store(json);
                free(json);
        }
        cr_assert_eq(count_entries(), RC_SECCOMP_CACHE_MAX);
        store(P1);
        cr_assert_eq(count_entries(), 1);
}

Test(seccomp_cache, unusable_directory_costs_only_the_compile)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        char dir[256];

        snprintf(dir, sizeof(dir), "%s/%s", root, RC_SECCOMP_CACHE_DIR);
        cr_assert_eq(mkdir(dir, 0777), 0);
        cr_assert_eq(chmod(dir, 0777), 0);
        compile_cached(P1, &p);
        cr_assert_gt(p.n_insns, 0);
        cr_assert(strstr(log_buf, "not a 0700 directory") != NULL, "%s", log_buf);
        cr_assert_eq(count_entries(), 0);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_cache, another_build_of_the_compiler_is_another_key)
{
        struct oci_config *c = parse_seccomp(P1);
        char *a = NULL, *b = NULL;
        rc_error_t err = NULL;
        size_t la = 0, lb = 0;

        cr_assert_eq(rc_seccomp_cache_key(&c->linux_.seccomp, "Nov 21 2026 18:00:00", &a, &la, &err), 0);
        cr_assert_eq(rc_seccomp_cache_key(&c->linux_.seccomp, "Nov 21 2026 18:00:01", &b, &lb, &err), 0);
        cr_assert_str_neq(a, b);
        free(a);
        free(b);
        oci_config_free(c);
}

/* The built-in default profile is named by the program's build id, not by its rules: a
 * short key, which tells it from the same rules written out (a parsed copy of the default
 * spec's profile), and still carries the fields outside the tables. */
Test(seccomp_cache, builtin_profile_is_named_by_the_build_id)
{
        struct oci_seccomp a = {0}, b = {0};
        char *ka = NULL, *kb = NULL, *full = NULL, *flagged = NULL;
        size_t la = 0, lb = 0, lf = 0, lg = 0;
        rc_error_t err = NULL;

        cr_assert_eq(oci_default_seccomp_build(&a, &err), 0);
        cr_assert_eq(oci_default_seccomp_build(&b, &err), 0);
        cr_assert(a.builtin);
        cr_assert_eq(rc_seccomp_key(&a, &ka, &la, &err), 0);
        cr_assert_eq(rc_seccomp_key(&b, &kb, &lb, &err), 0);
        cr_assert_str_eq(ka, kb);
        cr_assert_not_null(strstr(ka, " builtin "),
                           "no build id in the key (linked without --build-id?):\n%s", ka);
        cr_assert_null(strstr(ka, "syscalls"));
        cr_assert_lt(la, 1024);
        b.flags = 1;
        cr_assert_eq(rc_seccomp_key(&b, &flagged, &lg, &err), 0);
        cr_assert_str_neq(ka, flagged);
        b.flags = 0;
        b.builtin = false;
        cr_assert_eq(rc_seccomp_key(&b, &full, &lf, &err), 0);
        cr_assert_not_null(strstr(full, "syscalls"));
        cr_assert_null(strstr(full, " builtin "));
        cr_assert_gt(lf, la);
        free(ka);
        free(kb);
        free(full);
        free(flagged);
        oci_seccomp_clear(&a);
        oci_seccomp_clear(&b);
}
