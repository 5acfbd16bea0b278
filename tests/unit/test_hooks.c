/* Unit tests for runtime/isolation/hooks.c: hooks are small shell scripts in a temp dir (and, for
 * the fd check, this very binary: a constructor turns it into a probe when the hook env
 * asks for it). No root needed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/hooks.h"

#define FDCHECK_ENV "RC_TEST_HOOK_FDCHECK"

/* Probe mode: list our open fds (but the directory's own) into the named file. */
__attribute__((constructor)) static void fdcheck_probe(void)
{
        const char *out = getenv(FDCHECK_ENV);
        char line[4096] = "";
        struct dirent *de;
        DIR *d;
        FILE *f;

        if (out == NULL)
                return;
        d = opendir("/proc/self/fd");
        if (d == NULL)
                _exit(2);
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
                        continue;
                strncat(line, de->d_name, sizeof(line) - strlen(line) - 2);
                strcat(line, " ");
        }
        closedir(d);
        f = fopen(out, "we");
        if (f == NULL)
                _exit(3);
        fputs(line, f);
        fclose(f);
        _exit(0);
}

static char tmpdir[64];

static void setup(void)
{
        strcpy(tmpdir, "/tmp/rc-test-hooks-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                cr_log_warn("cleanup of %s failed", tmpdir);
}

TestSuite(hooks, .init = setup, .fini = teardown);

static char *path_in_tmp(const char *name)
{
        char *p = NULL;

        cr_assert_geq(asprintf(&p, "%s/%s", tmpdir, name), 0);
        return p;
}

/* Write an executable shell script; returns its path (malloc'ed). */
static char *script(const char *name, const char *body)
{
        char *p = path_in_tmp(name);
        FILE *f = fopen(p, "we");

        cr_assert_not_null(f, "create %s: %s", p, strerror(errno));
        fprintf(f, "#!/bin/sh\n%s\n", body);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(chmod(p, 0755), 0);
        return p;
}

static char *slurp(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = calloc(1, 1 << 16);
        size_t n;

        cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
        n = fread(buf, 1, (1 << 16) - 1, f);
        buf[n] = '\0';
        return buf;
}

static int run(struct oci_hook *h, size_t n, const char *json, rc_error_t *err)
{
        struct oci_hook_list l = {.v = h, .n = n};

        return rc_hooks_run(&l, OCI_HOOK_CREATE_RUNTIME, json, json ? strlen(json) : 0, NULL, err);
}

Test(hooks, phase_names)
{
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_PRESTART), "prestart");
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_CREATE_CONTAINER), "createContainer");
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_START_CONTAINER), "startContainer");
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_POSTSTART), "poststart");
        cr_assert_str_eq(rc_hook_phase_name(OCI_HOOK_POSTSTOP), "poststop");
}

Test(hooks, empty_list_is_fine)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_hook_list l = {0};

        cr_assert_eq(rc_hooks_run(&l, OCI_HOOK_POSTSTOP, "{}", 2, NULL, &err), 0);
        cr_assert_eq(rc_hooks_run(NULL, OCI_HOOK_POSTSTOP, "{}", 2, NULL, &err), 0);
}

Test(hooks, stdin_gets_the_state)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("stdin.out");
        _cleanup_free_ char *path = script("h", "cat > \"$1\"");
        char *args[] = {path, out, NULL};
        struct oci_hook h = {.path = path, .args = args, .n_args = 2};
        const char *json =
                "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"bundle\":\"/b\"}";
        _cleanup_free_ char *got = NULL;

        cr_assert_eq(run(&h, 1, json, &err), 0, "%s", err ? err->msg : "");
        got = slurp(out);
        cr_assert_str_eq(got, json);
}

Test(hooks, args_and_env_only_the_hooks)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("args.out");
        _cleanup_free_ char *path = script("h", "printf '%s|%s|%s|%s|%s\\n' \"$0\" \"$1\" \"$2\" \"$FOO\" "
                                                "\"${RC_PARENT_ONLY-unset}\" > \"$1\"");
        char *args[] = {"my-hook", out, "two words", NULL};
        char *env[] = {"FOO=bar baz", NULL};
        struct oci_hook h = {.path = path, .args = args, .n_args = 3, .env = env, .n_env = 1};
        _cleanup_free_ char *got = NULL, *want = NULL;

        setenv("RC_PARENT_ONLY", "leaked", 1);
        cr_assert_eq(run(&h, 1, "{}", &err), 0, "%s", err ? err->msg : "");
        got = slurp(out);
        /* argv[0] is args[0]; a shell script sees it as $0 only through the kernel's
         * interpreter line, which passes the script path instead. */
        cr_assert_geq(asprintf(&want, "%s|%s|two words|bar baz|unset\n", path, out), 0);
        cr_assert_str_eq(got, want);
}

Test(hooks, no_args_runs_path)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("noargs.out");
        _cleanup_free_ char *body = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *got = NULL;
        struct oci_hook h = {0};

        cr_assert_geq(asprintf(&body, "echo \"$#\" > '%s'", out), 0);
        path = script("h", body);
        h.path = path;
        cr_assert_eq(run(&h, 1, "{}", &err), 0, "%s", err ? err->msg : "");
        got = slurp(out);
        cr_assert_str_eq(got, "0\n");
}

Test(hooks, nonzero_exit_is_an_error)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = script("fail", "exit 3");
        _cleanup_free_ char *want = NULL;
        struct oci_hook h = {.path = path};

        cr_assert_lt(run(&h, 1, "{}", &err), 0);
        cr_assert_geq(asprintf(&want,
                               ".hooks.createRuntime[0]: createRuntime hook \"%s\": exited with status 3",
                               path),
                      0);
        cr_assert_str_eq(err->msg, want);
}

Test(hooks, killed_by_signal)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = script("kill", "kill -9 $$");
        _cleanup_free_ char *want = NULL;
        struct oci_hook h = {.path = path};

        cr_assert_lt(run(&h, 1, "{}", &err), 0);
        cr_assert_geq(asprintf(&want,
                               ".hooks.createRuntime[0]: createRuntime hook \"%s\": killed by signal 9",
                               path),
                      0);
        cr_assert_str_eq(err->msg, want);
}

Test(hooks, exec_failure_names_errno)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = path_in_tmp("missing");
        _cleanup_free_ char *want = NULL;
        struct oci_hook h = {.path = path};

        cr_assert_lt(run(&h, 1, "{}", &err), 0);
        cr_assert_geq(asprintf(&want,
                               ".hooks.createRuntime[0]: createRuntime hook \"%s\": exec: No such file or "
                               "directory",
                               path),
                      0);
        cr_assert_str_eq(err->msg, want);
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(hooks, timeout_kills_the_hook)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = script("slow", "exec sleep 10");
        _cleanup_free_ char *want = NULL;
        struct oci_hook h = {.path = path, .timeout = 1};
        double t0 = now_s(), dt;

        cr_assert_lt(run(&h, 1, "{}", &err), 0);
        dt = now_s() - t0;
        cr_assert_geq(asprintf(&want,
                               ".hooks.createRuntime[0]: createRuntime hook \"%s\": timed out after 1s",
                               path),
                      0);
        cr_assert_str_eq(err->msg, want);
        cr_assert(dt >= 0.9 && dt < 2.5, "took %.2fs", dt);
}

Test(hooks, large_state_not_read_neither_blocks_nor_kills)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = script("ignore", "exit 0");
        _cleanup_free_ char *big = malloc(4 << 20);
        struct oci_hook h = {.path = path, .timeout = 5};
        double t0 = now_s();

        memset(big, 'x', 4 << 20);
        big[(4 << 20) - 1] = '\0';
        cr_assert_eq(run(&h, 1, big, &err), 0, "%s", err ? err->msg : "");
        cr_assert_lt(now_s() - t0, 4.0);
}

Test(hooks, large_state_read_completely)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("big.out");
        _cleanup_free_ char *path = script("h", "cat > \"$1\"");
        char *args[] = {path, out, NULL};
        struct oci_hook h = {.path = path, .args = args, .n_args = 2, .timeout = 10};
        size_t len = 1 << 20;
        _cleanup_free_ char *big = malloc(len + 1);
        struct stat st;

        memset(big, 'y', len);
        big[len] = '\0';
        cr_assert_eq(run(&h, 1, big, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(stat(out, &st), 0);
        cr_assert_eq((size_t)st.st_size, len);
}

Test(hooks, first_failure_stops_the_list)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *marker = path_in_tmp("second-ran");
        _cleanup_free_ char *body = NULL;
        _cleanup_free_ char *fail = script("fail", "exit 1");
        _cleanup_free_ char *second = NULL;
        struct oci_hook h[2] = {{.path = fail}};

        cr_assert_geq(asprintf(&body, "touch '%s'", marker), 0);
        second = script("second", body);
        h[1].path = second;
        cr_assert_lt(run(h, 2, "{}", &err), 0);
        cr_assert_neq(access(marker, F_OK), 0, "the second hook ran");
}

static void collect(void *data, enum rc_log_level level, const char *msg)
{
        char *buf = data;

        cr_assert_eq(level, RC_LOG_WARNING);
        strncat(buf, msg, 4095 - strlen(buf));
        strncat(buf, "\n", 4095 - strlen(buf));
}

Test(hooks, keep_going_warns_and_runs_the_rest)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *marker = path_in_tmp("second-ran");
        _cleanup_free_ char *body = NULL, *want = NULL;
        _cleanup_free_ char *fail = script("fail", "exit 1");
        _cleanup_free_ char *second = NULL;
        struct oci_hook h[3] = {{.path = fail}, {.path = fail}};
        struct oci_hook_list l = {.v = h, .n = 3};
        static char warnings[4096];
        struct rc_logger log = {.fn = collect, .data = warnings, .max_level = RC_LOG_WARNING};

        cr_assert_geq(asprintf(&body, "touch '%s'", marker), 0);
        second = script("second", body);
        h[2].path = second;
        cr_assert_eq(rc_hooks_run(&l, OCI_HOOK_POSTSTART, "{}", 2, &log, &err), 0);
        cr_assert_null(err);
        cr_assert_eq(access(marker, F_OK), 0, "the hook after the failures did not run");
        cr_assert_geq(asprintf(&want,
                               ".hooks.poststart[0]: poststart hook \"%s\": exited with status 1 "
                               "(continuing as if it "
                               "had succeeded)\n"
                               ".hooks.poststart[1]: poststart hook \"%s\": exited with status 1 "
                               "(continuing as if it "
                               "had succeeded)\n",
                               fail, fail),
                      0);
        cr_assert_str_eq(warnings, want);
}

Test(hooks, no_env_gets_the_runtime_environment)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("env.out");
        _cleanup_free_ char *path = script("h", "echo \"${RC_PARENT_VAR-unset}\" > \"$1\"");
        char *args[] = {path, out, NULL};
        struct oci_hook h = {.path = path, .args = args, .n_args = 2};
        _cleanup_free_ char *got = NULL;

        setenv("RC_PARENT_VAR", "from the runtime", 1);
        cr_assert_eq(run(&h, 1, "{}", &err), 0, "%s", err ? err->msg : "");
        got = slurp(out);
        cr_assert_str_eq(got, "from the runtime\n");
}

Test(hooks, empty_env_is_empty)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("env.out");
        _cleanup_free_ char *path = script("h", "echo \"${RC_PARENT_VAR-unset}\" > \"$1\"");
        char *args[] = {path, out, NULL};
        char *env[] = {NULL};
        struct oci_hook h = {.path = path, .args = args, .n_args = 2, .env = env};
        _cleanup_free_ char *got = NULL;

        setenv("RC_PARENT_VAR", "from the runtime", 1);
        cr_assert_eq(run(&h, 1, "{}", &err), 0, "%s", err ? err->msg : "");
        got = slurp(out);
        cr_assert_str_eq(got, "unset\n");
}

Test(hooks, only_stdio_fds_reach_the_hook)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = path_in_tmp("fds.out");
        _cleanup_free_ char *env0 = NULL;
        _cleanup_free_ char *got = NULL;
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        int leaky = open("/dev/null", O_RDONLY); /* deliberately inheritable */
        char *env[2] = {NULL, NULL};
        struct oci_hook h = {.path = self, .env = env, .n_env = 1, .timeout = 10};

        cr_assert_gt(n, 0);
        self[n] = '\0';
        cr_assert_geq(leaky, 3);
        cr_assert_geq(asprintf(&env0, "%s=%s", FDCHECK_ENV, out), 0);
        env[0] = env0;
        cr_assert_eq(run(&h, 1, "{}", &err), 0, "%s", err ? err->msg : "");
        close(leaky);
        got = slurp(out);
        cr_assert_str_eq(got, "0 1 2 ");
}
