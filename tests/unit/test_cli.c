/* The CLI's pure helpers: option errors, argument counts, paths, log lines, tables. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "runtime/base/cleanup.h"
#include "runtime/base/log.h"

static void check_clean(const char *in, const char *want)
{
        _cleanup_free_ char *got = cli_path_clean(in);

        cr_assert_not_null(got);
        cr_assert_str_eq(got, want, "clean(\"%s\") = \"%s\", want \"%s\"", in, got, want);
}

Test(cli, path_clean)
{
        check_clean("", ".");
        check_clean(".", ".");
        check_clean("/", "/");
        check_clean("//", "/");
        check_clean("/a/b/", "/a/b");
        check_clean("/a//b/./c", "/a/b/c");
        check_clean("/a/b/..", "/a");
        check_clean("/a/b/../..", "/");
        check_clean("/../..", "/");
        check_clean("/a/../../b", "/b");
        check_clean("a/b", "a/b");
        check_clean("a/..", ".");
        check_clean("../a", "../a");
        check_clean("../../a/..", "../..");
        check_clean("a/../../b", "../b");
        check_clean("./a/./", "a");
        check_clean("/a/..b/.c", "/a/..b/.c");
        check_clean("/abc/def/../../..", "/");
}

Test(cli, path_absolute)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *want = NULL, *got = NULL, *abs = NULL;

        cr_assert_not_null(cwd);
        cr_assert_eq(cli_path_absolute("sub/../bundle/", &got, &err), 0);
        cr_assert_eq(asprintf(&want, "%s/bundle", strcmp(cwd, "/") == 0 ? "" : cwd) > 0, 1);
        cr_assert_str_eq(got, want);
        cr_assert_eq(cli_path_absolute("/x/./y", &abs, &err), 0);
        cr_assert_str_eq(abs, "/x/y");
}

Test(cli, parse_uint)
{
        unsigned v = 7;

        cr_assert_eq(cli_parse_uint("0", 10, &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(cli_parse_uint("10", 10, &v), 0);
        cr_assert_eq(v, 10);
        cr_assert_lt(cli_parse_uint("11", 10, &v), 0);
        cr_assert_lt(cli_parse_uint("", 10, &v), 0);
        cr_assert_lt(cli_parse_uint("-1", 10, &v), 0);
        cr_assert_lt(cli_parse_uint("+1", 10, &v), 0);
        cr_assert_lt(cli_parse_uint(" 1", 10, &v), 0);
        cr_assert_lt(cli_parse_uint("1x", 10, &v), 0);
        cr_assert_lt(cli_parse_uint("99999999999999999999999", ~0u, &v), 0);
        cr_assert_eq(v, 10, "failed parses leave the output alone");
}

Test(cli, check_args)
{
        rc_error_t err = NULL;

        cr_assert_eq(cli_check_args("create", 1, 1, 1, &err), 0);
        cr_assert_lt(cli_check_args("create", 0, 1, 1, &err), 0);
        cr_assert_str_eq(err->msg, "\"create\" requires exactly 1 argument");
        rc_error_free(&err);
        cr_assert_lt(cli_check_args("list", 2, 0, 0, &err), 0);
        cr_assert_str_eq(err->msg, "\"list\" requires exactly 0 arguments");
        rc_error_free(&err);
        cr_assert_eq(cli_check_args("kill", 2, 1, 2, &err), 0);
        cr_assert_lt(cli_check_args("kill", 3, 1, 2, &err), 0);
        cr_assert_str_eq(err->msg, "\"kill\" requires a maximum of 2 arguments");
        rc_error_free(&err);
        cr_assert_lt(cli_check_args("kill", 0, 1, 2, &err), 0);
        cr_assert_str_eq(err->msg, "\"kill\" requires a minimum of 1 argument");
        rc_error_free(&err);
}

static const struct option test_opts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"force", no_argument, NULL, 'f'},
        {},
};

/* Run cli_getopt over argv until the end or an error; return the error message. */
static char *getopt_error(const char *shortopts, int argc, char **argv)
{
        rc_error_t err = NULL;
        char *msg;
        int c;

        optind = 0;
        while ((c = cli_getopt(argc, argv, shortopts, test_opts, "create", &err)) != -1)
                if (c == -2)
                        break;
        if (err == NULL)
                return NULL;
        msg = strdup(err->msg);
        rc_error_free(&err);
        return msg;
}

Test(cli, getopt_errors)
{
        char *a1[] = {"create", "--bogus=1", "id", NULL};
        char *a2[] = {"create", "-x", NULL};
        char *a3[] = {"create", "--bundle", NULL};
        char *a4[] = {"create", "-b", NULL};
        char *a5[] = {"create", "--force=yes", NULL};
        char *a6[] = {"create", "--bundle=/b", "-f", "id", "--bogus", NULL};
        char *a7[] = {"create", "--bundle=/b", "-f", "id", "--bogus", NULL};
        _cleanup_free_ char *m1 = getopt_error(":b:f", 3, a1), *m2 = getopt_error(":b:f", 2, a2),
                            *m3 = getopt_error(":b:f", 2, a3), *m4 = getopt_error(":b:f", 2, a4),
                            *m5 = getopt_error(":b:f", 2, a5), *m6 = getopt_error("+:b:f", 5, a6),
                            *m7 = getopt_error(":b:f", 5, a7);

        cr_assert_str_eq(m1, "unknown option \"--bogus\" (see \"run-container create --help\")");
        cr_assert_str_eq(m2, "unknown option \"-x\" (see \"run-container create --help\")");
        cr_assert_str_eq(m3, "missing value for option \"--bundle\" (see \"run-container create --help\")");
        cr_assert_str_eq(m4, "missing value for option \"-b\" (see \"run-container create --help\")");
        cr_assert_str_eq(m5,
                         "invalid boolean value \"yes\" for option \"--force\" (see \"run-container create "
                         "--help\")");
        cr_assert_null(m6, "with '+', options stop at the first argument");
        cr_assert_str_eq(m7, "unknown option \"--bogus\" (see \"run-container create --help\")");
}

/* runc's Go-style booleans: --flag=true is --flag, --flag=false is no flag at all. */
Test(cli, getopt_go_style_booleans)
{
        char *argv[] = {"create",       "--force=false", "--bundle=/b", "id",
                        "--force=true", "--force=0",     "--force=T",   NULL};
        rc_error_t err = NULL;
        int c, forces = 0, bundles = 0;

        optind = 0;
        while ((c = cli_getopt(7, argv, ":b:f", test_opts, "create", &err)) != -1) {
                cr_assert_neq(c, -2, "%s", err ? err->msg : "");
                forces += c == 'f';
                bundles += c == 'b';
                if (c == 'f')
                        cr_assert_null(optarg);
        }
        cr_assert_eq(forces, 2, "--force=true and --force=T count, =false and =0 do not");
        cr_assert_eq(bundles, 1);
        cr_assert_str_eq(argv[optind], "id");
        cr_assert_eq(optind, 6);
}

Test(cli, getopt_values)
{
        char *argv[] = {"create", "--bundle=/b", "id", "-f", "-b", "/c", NULL};
        rc_error_t err = NULL;
        int c, n = 0;

        optind = 0;
        while ((c = cli_getopt(6, argv, ":b:f", test_opts, "create", &err)) != -1) {
                cr_assert_neq(c, -2);
                if (c == 'b')
                        cr_assert_str_eq(optarg, n == 0 ? "/b" : "/c");
                n++;
        }
        cr_assert_eq(n, 3, "options after the id are parsed too");
        cr_assert_eq(optind, 5);
        cr_assert_str_eq(argv[optind], "id");
        cr_assert_null(err);
}

Test(cli, format_time)
{
        struct timespec ts = {.tv_sec = 1714557600, .tv_nsec = 5};
        char buf[64], want[64];

        cr_assert_eq(rc_format_utc(&ts, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "2024-05-01T10:00:00.000000005Z");
        cr_assert_lt(rc_format_utc(&ts, buf, 10), 0);
        /* the date arithmetic against gmtime_r: leap days, centuries, before 1970 */
        for (int64_t t = -2208988800LL; t < 7258118400LL; t += 86399LL * 7 + 12345) {
                struct tm tm;
                time_t tt = (time_t)t;

                ts = (struct timespec){.tv_sec = tt, .tv_nsec = 123};
                cr_assert_not_null(gmtime_r(&tt, &tm));
                snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000000123Z", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
                cr_assert_eq(rc_format_utc(&ts, buf, sizeof(buf)), 0);
                cr_assert_str_eq(buf, want, "%lld", (long long)t);
        }
}

Test(cli, log_line_text)
{
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
        _cleanup_free_ char *line = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(cli_log_format_line(CLI_LOG_TEXT, RC_LOG_WARNING, "say \"hi\"\\\n\t\x01 é", &ts, &line,
                                         &err),
                     0);
        cr_assert_str_eq(line, "time=\"1970-01-01T00:00:00.000000000Z\" level=warning "
                               "msg=\"say \\\"hi\\\"\\\\\\n\\t\\x01 é\"\n");
}

Test(cli, log_line_json)
{
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
        _cleanup_free_ char *line = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(cli_log_format_line(CLI_LOG_JSON, RC_LOG_ERROR, "a \"b\"\n", &ts, &line, &err), 0, "%s",
                     err ? err->msg : "");
        cr_assert_str_eq(line, "{\"level\":\"error\",\"msg\":\"a \\\"b\\\"\\n\","
                               "\"time\":\"1970-01-01T00:00:00.000000000Z\"}\n");
}

Test(cli, table)
{
        const char *cells[] = {"ID", "PID", "OWNER", "a-rather-long-id", "1", "root", "x", "22", "#1000"};
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        cr_assert_not_null(f);
        cr_assert_eq(cli_table_print(f, cells, 3, 3), 0);
        cr_assert_eq(fclose(f), 0);
        cr_assert_str_eq(out, "ID                 PID         OWNER\n"
                              "a-rather-long-id   1           root\n"
                              "x                  22          #1000\n");
}

Test(cli, owner_name)
{
        _cleanup_free_ char *root = cli_owner_name(0), *nobody = cli_owner_name(4000000000u);

        cr_assert_str_eq(root, "root");
        cr_assert_str_eq(nobody, "#4000000000");
}

static int64_t bytes_ok(const char *s, unsigned flags)
{
        _cleanup_error_ rc_error_t err = NULL;
        int64_t v = 12345;

        cr_assert_eq(cli_parse_bytes("--memory", s, flags, &v, &err), 0, "\"%s\": %s", s,
                     err ? err->msg : "");
        return v;
}

static void bytes_bad(const char *s, unsigned flags, const char *why)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *want = NULL;
        int64_t v = 12345;

        cr_assert_lt(cli_parse_bytes("--memory", s, flags, &v, &err), 0, "\"%s\" accepted", s);
        cr_assert_eq(v, 12345);
        cr_assert_eq(asprintf(&want, "invalid value \"%s\" for --memory: %s", s, why) > 0, 1);
        cr_assert_not_null(err);
        cr_assert_eq(strncmp(err->msg, want, strlen(want)), 0, "\"%s\": %s", s, err->msg);
}

Test(cli, parse_bytes)
{
        cr_assert_eq(bytes_ok("0", 0), 0);
        cr_assert_eq(bytes_ok("1048576", 0), 1048576);
        cr_assert_eq(bytes_ok("7b", 0), 7);
        cr_assert_eq(bytes_ok("7B", 0), 7);
        /* every spelling docker and runc (go-units RAMInBytes) take is a power of 1024 */
        const char *two_gib[] = {"2g",   "2G",   "2gb",  "2GB",   "2gi", "2Gi",
                                 "2gib", "2GiB", "2GIB", "2 GiB", "2 g"};
        for (size_t i = 0; i < sizeof(two_gib) / sizeof(two_gib[0]); i++)
                cr_assert_eq(bytes_ok(two_gib[i], 0), INT64_C(2) << 30, "%s", two_gib[i]);
        cr_assert_eq(bytes_ok("512k", 0), 512 * 1024);
        cr_assert_eq(bytes_ok("64KiB", 0), 64 * 1024);
        cr_assert_eq(bytes_ok("512m", 0), INT64_C(512) << 20);
        cr_assert_eq(bytes_ok("3t", 0), INT64_C(3) << 40);
        cr_assert_eq(bytes_ok("2p", 0), INT64_C(2) << 50);
        cr_assert_eq(bytes_ok("1.5g", 0), INT64_C(3) << 29);
        cr_assert_eq(bytes_ok("0.5k", 0), 512);
        cr_assert_eq(bytes_ok("1.0001k", 0), 1024); /* 1024.1024 bytes: the fraction is dropped */
        cr_assert_eq(bytes_ok("1.999999999999k", 0), 2047);
        cr_assert_eq(bytes_ok("9223372036854775807", 0), INT64_MAX);
        cr_assert_eq(bytes_ok("8191p", 0), INT64_C(8191) << 50);
        cr_assert_eq(bytes_ok("-1", CLI_VALUE_UNLIMITED), -1);

        bytes_bad("-1", 0, "not a size");
        bytes_bad("-5", CLI_VALUE_UNLIMITED, "not a size");
        bytes_bad("", 0, "not a size");
        bytes_bad("m", 0, "not a size");
        bytes_bad("1.", 0, "not a size");
        bytes_bad(".5g", 0, "not a size");
        bytes_bad(" 5", 0, "not a size");
        bytes_bad("12x", 0, "unknown unit");
        bytes_bad("1bb", 0, "unknown unit");
        bytes_bad("1ib", 0, "unknown unit");
        bytes_bad("1gg", 0, "unknown unit");
        bytes_bad("1  g", 0, "unknown unit");
        bytes_bad("1g ", 0, "unknown unit");
        bytes_bad("1e3", 0, "unknown unit");
        bytes_bad("9223372036854775808", 0, "too large");
        bytes_bad("8192p", 0, "too large");
        bytes_bad("99999999999t", 0, "too large");
        bytes_bad("99999999999999999999999", 0, "not a size"); /* past 64 bits while reading */
        bytes_bad("0", CLI_VALUE_NONZERO, "must be at least 1 byte");
        bytes_bad("0.1", CLI_VALUE_NONZERO, "must be at least 1 byte");
}

static unsigned duration_ok(const char *s, unsigned flags)
{
        _cleanup_error_ rc_error_t err = NULL;
        unsigned ms = 12345;

        cr_assert_eq(cli_parse_duration("--timeout", s, flags, &ms, &err), 0, "\"%s\": %s", s,
                     err ? err->msg : "");
        return ms;
}

static void duration_bad(const char *s, unsigned flags, const char *why)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *want = NULL;
        unsigned ms = 12345;

        cr_assert_lt(cli_parse_duration("--timeout", s, flags, &ms, &err), 0, "\"%s\" accepted", s);
        cr_assert_eq(ms, 12345);
        cr_assert_eq(asprintf(&want, "invalid value \"%s\" for --timeout: %s", s, why) > 0, 1);
        cr_assert_not_null(err);
        cr_assert_eq(strncmp(err->msg, want, strlen(want)), 0, "\"%s\": %s", s, err->msg);
}

Test(cli, parse_duration)
{
        /* a number alone is seconds, as --timeout always took it */
        cr_assert_eq(duration_ok("10", 0), 10000);
        cr_assert_eq(duration_ok("1.5", 0), 1500);
        cr_assert_eq(duration_ok("0", 0), 0);
        cr_assert_eq(duration_ok("30s", 0), 30000);
        cr_assert_eq(duration_ok("1.5s", 0), 1500);
        cr_assert_eq(duration_ok("500ms", 0), 500);
        cr_assert_eq(duration_ok("2m", 0), 120000);
        cr_assert_eq(duration_ok("1h", 0), 3600000);
        cr_assert_eq(duration_ok("0.5h", 0), 1800000);
        /* Go's time.ParseDuration sequences */
        cr_assert_eq(duration_ok("1m30s", 0), 90000);
        cr_assert_eq(duration_ok("1h2m3s", 0), 3723000);
        cr_assert_eq(duration_ok("2s500ms", 0), 2500);
        cr_assert_eq(duration_ok("1m1m", 0), 120000);
        cr_assert_eq(duration_ok("1.0005s", 0), 1000); /* below a millisecond: dropped */
        cr_assert_eq(duration_ok("596h", 0), 596u * 3600000u);
        cr_assert_eq(duration_ok("2147483647ms", 0), 2147483647u);

        duration_bad("", 0, "not a duration");
        duration_bad("s", 0, "not a duration");
        duration_bad("-1", 0, "not a duration");
        duration_bad("1.s", 0, "not a duration");
        duration_bad("1m30", 0, "missing or unknown unit"); /* only a lone number may omit it */
        duration_bad("5d", 0, "missing or unknown unit");
        duration_bad("5 s", 0, "missing or unknown unit");
        duration_bad("5S", 0, "missing or unknown unit");
        duration_bad("10us", 0, "missing or unknown unit");
        duration_bad("1m ", 0, "not a duration");
        duration_bad("2147483648ms", 0, "too long");
        duration_bad("597h", 0, "too long");
        duration_bad("596h59m", 0, "too long");
        duration_bad("9999999h", 0, "too long");
        duration_bad("0s", CLI_VALUE_NONZERO, "must be at least 1ms");
        duration_bad("0", CLI_VALUE_NONZERO, "must be at least 1ms");
        duration_bad("0.0005s", CLI_VALUE_NONZERO, "must be at least 1ms");
}

static void cpus_bad(const char *s, const char *why)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *want = NULL;
        uint64_t q = 7;

        cr_assert_lt(cli_parse_cpus("--cpus", s, 100000, &q, &err), 0, "\"%s\" accepted", s);
        cr_assert_eq(q, 7);
        cr_assert_eq(asprintf(&want, "invalid value \"%s\" for --cpus: %s", s, why) > 0, 1);
        cr_assert_eq(strncmp(err->msg, want, strlen(want)), 0, "\"%s\": %s", s, err->msg);
}

Test(cli, parse_cpus)
{
        _cleanup_error_ rc_error_t err = NULL;
        uint64_t q = 0;

        cr_assert_eq(cli_parse_cpus("--cpus", "1.5", 100000, &q, &err), 0);
        cr_assert_eq(q, 150000);
        cr_assert_eq(cli_parse_cpus("--cpus", "0.25", 100000, &q, &err), 0);
        cr_assert_eq(q, 25000);
        cr_assert_eq(cli_parse_cpus("--cpus", "2", 100000, &q, &err), 0);
        cr_assert_eq(q, 200000);
        cr_assert_eq(cli_parse_cpus("--cpus", "0.01", 100000, &q, &err), 0);
        cr_assert_eq(q, 1000);
        cr_assert_eq(cli_parse_cpus("--cpus", "1000", 100000, &q, &err), 0);
        cr_assert_eq(q, 100000000);
        cr_assert_eq(cli_parse_cpus("--cpus", "0.5", 10000, &q, &err), 0); /* another period */
        cr_assert_eq(q, 5000);

        cpus_bad("0", "less than 1 ms");
        cpus_bad("0.001", "less than 1 ms"); /* the kernel's smallest quota */
        cpus_bad("1000.5", "more than 1000 CPUs");
        cpus_bad("abc", "not a number of CPUs");
        cpus_bad("1.5x", "not a number of CPUs");
        cpus_bad("-1", "not a number of CPUs");
        cpus_bad("", "not a number of CPUs");
}
