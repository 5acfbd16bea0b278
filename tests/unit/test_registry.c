/* Registry references and credentials (runtime/image/registry_ref.c): what a docker://
 * reference names, and which entry of an auth file is used. No network. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/fsutil.h"
#include "runtime/image/internal.h"

static void parse_ok(const char *ref, const char *host, const char *endpoint, const char *repo,
                     const char *tag, const char *digest)
{
        struct rc_registry_ref r;
        rc_error_t err = NULL;

        cr_assert_eq(rc_registry_ref_parse(ref, &r, &err), 0, "%s: %s", ref, err ? err->msg : "");
        cr_expect_str_eq(r.host, host, "%s: host", ref);
        cr_expect_str_eq(r.endpoint, endpoint, "%s: endpoint", ref);
        cr_expect_str_eq(r.repo, repo, "%s: repo", ref);
        if (tag)
                cr_expect_str_eq(r.tag, tag, "%s: tag", ref);
        else
                cr_expect_null(r.tag, "%s: tag", ref);
        if (digest)
                cr_expect_str_eq(r.digest, digest, "%s: digest", ref);
        else
                cr_expect_null(r.digest, "%s: digest", ref);
        rc_registry_ref_clear(&r);
}

static void parse_bad(const char *ref, const char *why)
{
        struct rc_registry_ref r;
        rc_error_t err = NULL;

        cr_assert_lt(rc_registry_ref_parse(ref, &r, &err), 0, "%s parsed", ref);
        cr_expect(strstr(err->msg, why) != NULL && strstr(err->msg, ref) != NULL, "%s: %s", ref, err->msg);
        rc_error_free(&err);
}

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(registry, references_as_skopeo_reads_them)
{
        parse_ok("busybox", "docker.io", "registry-1.docker.io", "library/busybox", "latest", NULL);
        parse_ok("busybox:1.36", "docker.io", "registry-1.docker.io", "library/busybox", "1.36", NULL);
        parse_ok("team/app", "docker.io", "registry-1.docker.io", "team/app", "latest", NULL);
        parse_ok("docker.io/library/busybox", "docker.io", "registry-1.docker.io", "library/busybox",
                 "latest", NULL);
        parse_ok("localhost/app", "localhost", "localhost", "app", "latest", NULL);
        parse_ok("127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000", "127.0.0.1:5000", "a/b/c", "v1", NULL);
        parse_ok("quay.io/ns/app@" D64, "quay.io", "quay.io", "ns/app", NULL, D64);
        /* a tag and a digest: the digest names the image, the tag is kept */
        parse_ok("quay.io/ns/app:v2@" D64, "quay.io", "quay.io", "ns/app", "v2", D64);
        parse_ok("[::1]:5000/app", "[::1]:5000", "[::1]:5000", "app", "latest", NULL);
        parse_ok("[::1]/app", "[::1]", "[::1]", "app", "latest", NULL);
        parse_ok("host.example:65535/app", "host.example:65535", "host.example:65535", "app", "latest",
                 NULL);
}

Test(registry, bad_references_say_what_is_wrong)
{
        parse_bad("Host.example/App", "invalid repository name");
        parse_bad("host.example/app/", "invalid repository name");
        parse_bad("host.example//app", "invalid repository name");
        parse_bad("host.example/app:bad~tag", "invalid tag");
        parse_bad("host.example/app:", "invalid tag");
        parse_bad("host.example/app@sha256:12", "invalid digest");
        parse_bad("host.example/app@md5:0123", "invalid digest");
        parse_bad("", "invalid repository name");
        parse_bad("host.example:99999/app", "invalid registry host");
        parse_bad("host.example:0/app", "invalid registry host");
        parse_bad("host.example:/app", "invalid registry host");
        parse_bad("host.example:80:80/app", "invalid registry host");
        parse_bad("[::1/app", "invalid registry host");
        parse_bad("[::1]x:5000/app", "invalid registry host");
        parse_bad("ho[st.example/app", "invalid registry host");
}

Test(registry, loopback_hosts)
{
        cr_expect(rc_registry_host_is_loopback("localhost"));
        cr_expect(rc_registry_host_is_loopback("localhost:5000"));
        cr_expect(rc_registry_host_is_loopback("127.0.0.1:5000"));
        cr_expect(rc_registry_host_is_loopback("127.3.2.1"));
        cr_expect(rc_registry_host_is_loopback("[::1]:5000"));
        cr_expect(!rc_registry_host_is_loopback("localhost.example.com"));
        cr_expect(!rc_registry_host_is_loopback("quay.io"));
        cr_expect(!rc_registry_host_is_loopback("10.0.0.1:5000"));
        cr_expect(!rc_registry_host_is_loopback("[::2]:5000"));
}

static char dir[] = "/tmp/rc-test-registry-XXXXXX";

static void setup(void)
{
        rc_error_t err = NULL;

        cr_assert_eq(rc_image_libs_load(&err), 0, "%s", err ? err->msg : "");
        strcpy(dir, "/tmp/rc-test-registry-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
        int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        rc_remove_tree_at(fd, dir + 5, NULL);
        close(fd);
}

static char *write_authfile(const char *name, const char *json)
{
        static char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(json, f);
        fclose(f);
        return path;
}

static int lookup(const char *authfile, const char *ref, char **user, char **pass, rc_error_t *err)
{
        struct rc_registry_ref r;
        int ret;

        cr_assert_eq(rc_registry_ref_parse(ref, &r, err), 0);
        ret = rc_registry_auth_lookup(authfile, &r, user, pass, err);
        rc_registry_ref_clear(&r);
        return ret;
}

/* base64("alice:pw1") etc. */
#define ALICE "YWxpY2U6cHcx"
#define BOB "Ym9iOnB3Ojp3aXRoOmNvbG9ucw=="
#define CAROL "Y2Fyb2w6cHcz"

Test(registry, auth_file_most_specific_entry_wins, .init = setup, .fini = teardown)
{
        const char *path =
                write_authfile("auth.json", "{\"auths\": {"
                                            "\"reg.example:5000\": {\"auth\": \"" ALICE "\"},"
                                            "\"reg.example:5000/team\": {\"auth\": \"" BOB "\"},"
                                            "\"https://index.docker.io/v1/\": {\"auth\": \"" CAROL "\"}"
                                            "}}");
        char *user = NULL, *pass = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(lookup(path, "reg.example:5000/other/app", &user, &pass, &err), 1);
        cr_expect_str_eq(user, "alice");
        cr_expect_str_eq(pass, "pw1");
        free(user), free(pass);
        cr_assert_eq(lookup(path, "reg.example:5000/team/app", &user, &pass, &err), 1);
        cr_expect_str_eq(user, "bob");
        cr_expect_str_eq(pass, "pw::with:colons"); /* the first colon splits */
        free(user), free(pass);
        cr_assert_eq(lookup(path, "busybox", &user, &pass, &err), 1); /* docker's legacy key */
        cr_expect_str_eq(user, "carol");
        free(user), free(pass);
        cr_assert_eq(lookup(path, "other.example/app", &user, &pass, &err), 0);
        cr_expect_null(user);
}

Test(registry, auth_file_errors_name_the_file, .init = setup, .fini = teardown)
{
        const char *path =
                write_authfile("bad.json", "{\"auths\": {\"reg.example\": {\"auth\": \"not base64!\"}}}");
        char *user = NULL, *pass = NULL;
        rc_error_t err = NULL;

        cr_assert_lt(lookup(path, "reg.example/app", &user, &pass, &err), 0);
        cr_expect(strstr(err->msg, path) != NULL && strstr(err->msg, "base64") != NULL, "%s", err->msg);
        rc_error_free(&err);
        path = write_authfile("broken.json", "{\"auths\": ");
        cr_assert_lt(lookup(path, "reg.example/app", &user, &pass, &err), 0);
        cr_expect(strstr(err->msg, path) != NULL, "%s", err->msg);
        rc_error_free(&err);
        cr_assert_lt(lookup("/nonexistent/auth.json", "reg.example/app", &user, &pass, &err), 0);
        cr_expect(strstr(err->msg, "/nonexistent/auth.json") != NULL, "%s", err->msg);
        rc_error_free(&err);
}

Test(registry, auth_file_defaults_and_env, .init = setup, .fini = teardown)
{
        char home[300], cfg[320], *user = NULL, *pass = NULL;
        rc_error_t err = NULL;

        snprintf(home, sizeof(home), "%s/home", dir);
        snprintf(cfg, sizeof(cfg), "%s/.config/containers", home);
        cr_assert_eq(rc_mkdir_p_host(cfg, 0755, 0700), 0);
        snprintf(cfg, sizeof(cfg), "home/.config/containers/auth.json");
        write_authfile(cfg, "{\"auths\": {\"reg.example\": {\"auth\": \"" ALICE "\"}}}");
        setenv("HOME", home, 1);
        unsetenv("XDG_RUNTIME_DIR");
        unsetenv("REGISTRY_AUTH_FILE");
        cr_assert_eq(lookup(NULL, "reg.example/app", &user, &pass, &err), 1, "%s", err ? err->msg : "");
        cr_expect_str_eq(user, "alice");
        free(user), free(pass);
        /* $REGISTRY_AUTH_FILE replaces the defaults */
        setenv("REGISTRY_AUTH_FILE", write_authfile("env.json", "{\"auths\": {}}"), 1);
        cr_assert_eq(lookup(NULL, "reg.example/app", &user, &pass, &err), 0);
        unsetenv("REGISTRY_AUTH_FILE");
}
