/* Registry references and credentials (runtime/image/registry_ref.c): what a docker://
 * reference names, and which entry of an auth file is used. No network. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
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

/* ---- registries.conf (runtime/image/registries_conf.c) ------------------------------------ */

static void conf_ok(const char *text, struct rc_registries_conf *c)
{
        rc_error_t err = NULL;

        cr_assert_eq(rc_registries_conf_parse(text, strlen(text), "t.conf", c, &err), 0, "%s: %s", text,
                     err ? err->msg : "");
}

static void conf_bad(const char *text, const char *where, const char *why)
{
        struct rc_registries_conf c = {0};
        rc_error_t err = NULL;

        cr_assert_lt(rc_registries_conf_parse(text, strlen(text), "t.conf", &c, &err), 0, "%s parsed", text);
        cr_expect(strncmp(err->msg, where, strlen(where)) == 0 && strstr(err->msg, why) != NULL, "%s: %s",
                  text, err->msg);
        rc_error_free(&err);
        rc_registries_conf_clear(&c);
}

static const char *alias(const struct rc_registries_conf *c, const char *name)
{
        for (size_t i = 0; i < c->n_aliases; i++)
                if (strcmp(c->aliases[i].name, name) == 0)
                        return c->aliases[i].value;
        return NULL;
}

Test(registries_conf, the_toml_registries_conf_uses)
{
        struct rc_registries_conf c = {0};

        conf_ok("# comment\n"
                "unqualified-search-registries = [ \"a.io\", # one\n  'b.io:5000', ]\r\n"
                "short-name-mode = \"enforcing\"\n"
                "credential-helpers = [\"containers-auth.json\"]\n"
                "[aliases]\n"
                "  \"busybox\" = \"docker.io/library/busybox\"   # trailing\n"
                "  'team/x' = \"q\\u0075ay.io/team/x\"\n"
                "  plain-key = \"a.io/p\"\n"
                "[[registry]]\n"
                "prefix = \"example.com\"\n"
                "insecure = true\n"
                "blocked = false\n"
                "n = -3\n"
                "[[registry.mirror]]\n"
                "location = \"n.example.com\"\n",
                &c);
        cr_assert_eq(c.n_search, 2);
        cr_expect_str_eq(c.search[0], "a.io");
        cr_expect_str_eq(c.search[1], "b.io:5000");
        cr_expect_eq(c.mode, RC_SHORT_NAME_ENFORCING);
        cr_expect_str_eq(alias(&c, "busybox"), "docker.io/library/busybox");
        cr_expect_str_eq(alias(&c, "team/x"), "quay.io/team/x");
        cr_expect_str_eq(alias(&c, "plain-key"), "a.io/p");
        /* a later file: its search list replaces, its aliases override one by one */
        conf_ok("unqualified-search-registries = []\n[aliases]\n\"busybox\" = \"\"\n\"team/x\" = "
                "\"c.io/x\"\n",
                &c);
        cr_expect_eq(c.n_search, 0);
        cr_expect_null(alias(&c, "busybox"));
        cr_expect_str_eq(alias(&c, "team/x"), "c.io/x");
        rc_registries_conf_clear(&c);
}

Test(registries_conf, errors_name_file_and_line)
{
        conf_bad("a = 1\nb = 2.5\n", "t.conf:2:", "unsupported value");
        conf_bad("a = [1,\n2\n", "t.conf:1:", "unterminated array");
        conf_bad("[aliases]\n\"x\" = \"a.io/x\"\n\"x\" = \"a.io/x\"\n", "t.conf:3:", "given twice");
        conf_bad("[aliases]\nx = 1\n", "t.conf:2:", "not a string");
        conf_bad("[aliases]\nx.y = \"a.io/x\"\n", "t.conf:2:", "dotted key");
        conf_bad("[aliases]\n\"x:1\" = \"a.io/x\"\n", "t.conf:2:", "not a short name");
        conf_bad("[aliases]\n\"Upper\" = \"a.io/x\"\n", "t.conf:2:", "not a short name");
        conf_bad("[aliases]\n\"x\" = \"a.io/x@sha256:00\"\n", "t.conf:2:", "not a fully-qualified");
        conf_bad("[aliases]\n[aliases]\n", "t.conf:2:", "given twice");
        conf_bad("unqualified-search-registries = [\"a.io/x\"]\n", "t.conf:1:", "not a registry");
        conf_bad("a = \"\\ud800\"\n", "t.conf:1:", "not a character");
        conf_bad("a = 'x\n", "t.conf:1:", "unterminated string");
        conf_bad("a = '''x'''\n", "t.conf:1:", "multi-line");
        conf_bad("= 1\n", "t.conf:1:", "expected a key");
        conf_bad("a 1\n", "t.conf:1:", "expected '='");
        conf_bad("a =\n", "t.conf:1:", "expected a value");
        conf_bad("a = {b = 1\n", "t.conf:1:", "inline table");
        conf_bad("a = [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n", "t.conf:1:", "nested too deeply");
        {
                struct rc_registries_conf c = {0};
                rc_error_t err = NULL;

                cr_expect_lt(rc_registries_conf_parse("a = \"x\0\"\n", 8, "t.conf", &c, &err), 0);
                cr_expect(err != NULL && strstr(err->msg, "t.conf: a NUL byte") != NULL);
                rc_error_free(&err);
                rc_registries_conf_clear(&c);
        }
}

Test(registries_conf, short_names_resolve_as_podman)
{
        struct rc_registries_conf c = {.mode = RC_SHORT_NAME_PERMISSIVE};
        rc_error_t err = NULL;
        char **v = NULL;
        size_t n;

        conf_ok("unqualified-search-registries = [\"a.io\", \"docker.io\"]\n"
                "[aliases]\n\"box\" = \"b.io/team/box\"\n",
                &c);
        cr_assert_eq(rc_short_name_resolve(&c, "box:1.2", &v, &n, &err), 0);
        cr_assert_eq(n, 1);
        cr_expect_str_eq(v[0], "b.io/team/box:1.2"); /* the tag carried over */
        rc_strv_free(v);
        cr_assert_eq(
                rc_short_name_resolve(&c,
                                      "x/y@sha256:"
                                      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                      &v, &n, &err),
                0);
        cr_assert_eq(n, 2);
        cr_expect(strncmp(v[0], "a.io/x/y@sha256:", 16) == 0 && strncmp(v[1], "docker.io/x/y@", 14) == 0);
        rc_strv_free(v);
        cr_assert_eq(rc_short_name_resolve(&c, "q.io/x", &v, &n, &err), 0); /* qualified: itself */
        cr_assert_eq(n, 1);
        cr_expect_str_eq(v[0], "q.io/x");
        rc_strv_free(v);
        c.mode = RC_SHORT_NAME_ENFORCING;
        cr_expect_lt(rc_short_name_resolve(&c, "x", &v, &n, &err), 0);
        cr_expect(strstr(err->msg, "ambiguous") != NULL, "%s", err->msg);
        rc_error_free(&err);
        cr_expect_lt(rc_short_name_resolve(&c, "Upper", &v, &n, &err), 0);
        cr_expect(strstr(err->msg, "not an image name") != NULL, "%s", err->msg);
        rc_error_free(&err);
        rc_registries_conf_clear(&c);
        cr_expect_lt(rc_short_name_resolve(&c, "x", &v, &n, &err), 0);
        cr_expect(strstr(err->msg, "no alias and no unqualified-search-registries") != NULL, "%s", err->msg);
        rc_error_free(&err);
}

/* ---- [[registry]]: mirrors, locations, blocking ------------------------------------------- */

/* The sources of name, "REF[!]" each ('!' for an insecure one, '~' after a mirror). */
static void sources_are(const struct rc_registries_conf *c, const char *name, const char *const *want)
{
        struct rc_pull_source *v = NULL;
        rc_error_t err = NULL;
        size_t n = 0, k = 0;

        cr_assert_eq(rc_registries_pull_sources(c, name, &v, &n, &err), 0, "%s: %s", name,
                     err ? err->msg : "");
        for (; want[k] != NULL; k++) {
                char got[512];

                cr_assert_lt(k, n, "%s: %zu sources, wanted more", name, n);
                snprintf(got, sizeof(got), "%s%s%s", v[k].ref, v[k].insecure ? "!" : "",
                         v[k].mirror ? "~" : "");
                cr_expect_str_eq(got, want[k], "%s: source %zu", name, k);
        }
        cr_expect_eq(n, k, "%s: %zu sources, wanted %zu", name, n, k);
        rc_pull_sources_free(v, n);
}

#define SOURCES(c, name, ...) sources_are(c, name, (const char *const[]){__VA_ARGS__, NULL})

Test(registries_conf, mirrors_then_the_location_as_containers_image)
{
        struct rc_registries_conf c = {0};

        conf_ok("[[registry]]\n"
                "prefix = \"example.com/foo\"\n"
                "location = \"internal.example.net/bar\"\n"
                "[[registry.mirror]]\n"
                "location = \"m0.local/mirror-for-foo\"\n"
                "[[registry.mirror]]\n"
                "location = \"m1.local:5000/mirrors/foo\"\n"
                "insecure = true\n"
                "[[registry.mirror]]\n"
                "location = \"m2.local\"\n"
                "pull-from-mirror = \"digest-only\"\n"
                "[[registry.mirror]]\n"
                "location = \"m3.local\"\n"
                "pull-from-mirror = \"tag-only\"\n"
                "[[registry]]\n"
                "location = \"example.com\"\n"
                "insecure = true\n"
                "[[registry]]\n"
                "prefix = \"*.wild.io\"\n"
                "[[registry.mirror]]\n"
                "location = \"wm.local/w\"\n"
                "[[registry]]\n"
                "location = \"digests.io\"\n"
                "mirror-by-digest-only = true\n"
                "[[registry.mirror]]\n"
                "location = \"dm.local\"\n"
                "[[registry]]\n"
                "prefix = \"bad.io\"\n"
                "blocked = true\n",
                &c);
        cr_assert_eq(c.n_registries, 5);
        SOURCES(&c, "example.com/foo/image:latest", "m0.local/mirror-for-foo/image:latest~",
                "m1.local:5000/mirrors/foo/image:latest!~", "m3.local/image:latest~",
                "internal.example.net/bar/image:latest");
        SOURCES(&c, "example.com/foo/image@sha256:ab", "m0.local/mirror-for-foo/image@sha256:ab~",
                "m1.local:5000/mirrors/foo/image@sha256:ab!~", "m2.local/image@sha256:ab~",
                "internal.example.net/bar/image@sha256:ab");
        /* the longest prefix wins; a prefix ends at '/', not inside a component */
        SOURCES(&c, "example.com/foobar/x:1", "example.com/foobar/x:1!");
        SOURCES(&c, "example.com:5000/x:1", "example.com:5000/x:1");
        SOURCES(&c, "other.io/x:1", "other.io/x:1");
        SOURCES(&c, "a.b.wild.io/x:1", "wm.local/w/x:1~", "a.b.wild.io/x:1");
        SOURCES(&c, "wild.io/x:1", "wild.io/x:1");
        SOURCES(&c, "digests.io/x:1", "digests.io/x:1");
        SOURCES(&c, "digests.io/x@sha256:ab", "dm.local/x@sha256:ab~", "digests.io/x@sha256:ab");
        {
                struct rc_pull_source *v = NULL;
                rc_error_t err = NULL;
                size_t n = 0;

                cr_assert_lt(rc_registries_pull_sources(&c, "bad.io/team/x:1", &v, &n, &err), 0);
                cr_expect_eq(err->status, EACCES);
                cr_expect(strstr(err->msg, "t.conf:27") != NULL && strstr(err->msg, "\"bad.io\"") != NULL &&
                                  strstr(err->msg, "blocked") != NULL,
                          "%s", err->msg);
                rc_error_free(&err);
        }
        /* mirrors as an inline array of inline tables, the same */
        conf_ok("[[registry]]\nlocation = \"inline.io\"\n"
                "mirror = [ { location = \"i0.local\", insecure = true },\n"
                "           { location = \"i1.local/x\", pull-from-mirror = \"tag-only\" }, ]\n",
                &c);
        SOURCES(&c, "inline.io/a:1", "i0.local/a:1!~", "i1.local/x/a:1~", "inline.io/a:1");
        SOURCES(&c, "inline.io/a@sha256:ab", "i0.local/a@sha256:ab!~", "inline.io/a@sha256:ab");
        cr_assert_eq(c.n_registries, 6);
        /* a later file's table replaces the one of the same prefix */
        conf_ok("[[registry]]\nprefix = \"bad.io\"\nlocation = \"good.io\"\n", &c);
        cr_assert_eq(c.n_registries, 6);
        SOURCES(&c, "bad.io/team/x:1", "good.io/team/x:1");
        rc_registries_conf_clear(&c);
}

/* Version 1's insecure and block lists: one table per registry named, as containers-image
 * converts them. */
Test(registries_conf, version_1_insecure_and_block_lists)
{
        struct rc_registries_conf c = {0};
        struct rc_pull_source *v = NULL;
        rc_error_t err = NULL;
        size_t n = 0;

        conf_ok("[registries.search]\nregistries = [\"docker.io\"]\n"
                "[registries.insecure]\nregistries = [\"plain.local:5000\", \"both.io\"]\n"
                "[registries.block]\nregistries = [\"bad.io\", \"both.io\"]\n",
                &c);
        cr_assert_eq(c.n_registries, 3);
        SOURCES(&c, "plain.local:5000/x:1", "plain.local:5000/x:1!");
        SOURCES(&c, "plain.local/x:1", "plain.local/x:1");
        SOURCES(&c, "docker.io/library/x:1", "docker.io/library/x:1");
        for (int i = 0; i < 2; i++) {
                cr_assert_lt(
                        rc_registries_pull_sources(&c, i ? "both.io/x:1" : "bad.io/team/x:1", &v, &n, &err),
                        0);
                cr_expect_eq(err->status, EACCES);
                cr_expect(strstr(err->msg, "t.conf:") != NULL && strstr(err->msg, "blocked") != NULL, "%s",
                          err->msg);
                rc_error_free(&err);
        }
        rc_registries_conf_clear(&c);
        conf_bad("[registries.insecure]\nregistries = \"a.io\"\n", "t.conf:2:", "array of strings");
        conf_bad("[registries.block]\nregistries = [\"https://a.io\"]\n", "t.conf:2:", "no scheme");
        conf_bad("[registries.block]\nregistries = [\"a.io\"]\n[[registry]]\nlocation = \"b.io\"\n",
                 "t.conf", "version 1");
        /* a [[registry]] without its prefix yet above a version 1 list (the fuzzer's) */
        conf_bad("[[registry]]\nlocation = \"b.io\"\n[registries.block]\nregistries = [\"a.io\"]\n",
                 "t.conf", "version 1");
}

Test(registries_conf, registry_table_errors_name_file_and_line)
{
        conf_bad("[[registry]]\nlocation = \"a.io\"\nmirror = [{location = \"m.io\"}, {}]\n",
                 "t.conf:3:", "no location");
        conf_bad("[[registry]]\nlocation = \"a.io\"\nmirror = \"m.io\"\n",
                 "t.conf:3:", "array of inline tables");
        conf_bad("[[registry]]\nlocation = \"a.io\"\nmirror = [{location = \"m.io\"\n",
                 "t.conf:3:", "inline table");
        conf_bad("[[registry]]\ninsecure = \"yes\"\n", "t.conf:2:", "expected true or false");
        conf_bad("[[registry]]\nlocation = 5\n", "t.conf:2:", "expected a string");
        conf_bad("[registry]\nlocation = \"a.io\"\n", "t.conf:1:", "expected [[registry]]");
        conf_bad("[[registry.mirror]]\nlocation = \"a.io\"\n", "t.conf:1:", "before any [[registry]]");
        conf_bad("\n[[registry]]\nblocked = true\n", "t.conf:2:", "neither prefix nor location");
        conf_bad("[[registry]]\nlocation = \"http://a.io\"\n", "t.conf:1:", "no scheme");
        conf_bad("[[registry]]\nprefix = \"*.a.io\"\nlocation = \"b.io\"\n", "t.conf:1:", "no location");
        conf_bad("[[registry]]\nprefix = \"*a.io\"\n", "t.conf:1:", "HOST[:PORT]");
        conf_bad("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\ninsecure = true\n",
                 "t.conf:3:", "no location");
        conf_bad("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
                 "pull-from-mirror = \"some\"\n",
                 "t.conf:5:", "pull-from-mirror");
        conf_bad("[[registry]]\nlocation = \"a.io\"\nmirror-by-digest-only = true\n[[registry.mirror]]\n"
                 "location = \"m.io\"\npull-from-mirror = \"all\"\n",
                 "t.conf:4:", "give one of them");
        conf_bad("[[registry]]\nlocation = \"a.io\"\n[[registry]]\nprefix = \"a.io\"\n",
                 "t.conf:3:", "given twice (first at t.conf:1)");
}
