/* cli/entry.c: the entry point's reading of the command line must find the command word
 * where main.c's getopt_long does, or give up (-1); never another word. */
#include <criterion/criterion.h>
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/entry.h"

static const struct option options[] = {
#define X(name, has_arg, value) {name, has_arg, NULL, value},
        CLI_GLOBAL_OPTIONS(X)
#undef X
                {},
};

/* main.c's reading: cli_getopt (getopt_long, with --flag=BOOL) over the global options,
 * --rootless's next-word value; -1 on an error, -h or -v. */
static int getopt_index(int argc, char **argv)
{
        rc_error_t err = NULL;
        int c;

        optind = 0;
        while ((c = cli_getopt(argc, argv, "+:hv", options, NULL, &err)) != -1) {
                if (c < 0 || c == 'h' || c == 'v') {
                        rc_error_free(&err);
                        return -1;
                }
                if (c == OPT_ROOTLESS && optarg == NULL && optind < argc && cli_rootless_value(argv[optind]))
                        optind++;
        }
        return optind < argc ? optind : -1;
}

static void check(int want, const char *line)
{
        char buf[512], *argv[32], *save = NULL;
        int argc = 0;

        strncpy(buf, line, sizeof(buf) - 1);
        buf[sizeof(buf) - 1] = '\0';
        argv[argc++] = (char *)"run-container";
        for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
                argv[argc++] = w;
        argv[argc] = NULL;
        cr_assert_eq(cli_command_index(argc, argv), want, "\"%s\": index %d, want %d", line,
                     cli_command_index(argc, argv), want);
        if (want >= 0)
                cr_assert_eq(getopt_index(argc, argv), want, "\"%s\": getopt_long finds %d", line,
                             getopt_index(argc, argv));
}

Test(entry, command_index)
{
        check(1, "exec x /bin/true");
        check(3, "--root /run/x exec x /bin/true");
        check(2, "--root=/run/x exec x");
        check(4, "--log /l --debug exec x");
        check(3, "--log-format json run -d x");
        check(3, "--cgroup-manager disabled create x");
        check(3, "--systemd-cgroup --debug sandbox --rootfs r -- true");
        check(3, "--rootless true exec x");
        check(2, "--rootless exec x");
        check(2, "--rootless=false exec x");
        check(2, "--debug=true exec x");
        check(2, "-- exec x");
        check(3, "--network-r /n run x"); /* an abbreviation getopt_long takes */
        check(3, "--root exec state x"); /* the value is not the command */
        check(1, "state x");
        check(-1, "--ro /x exec x"); /* ambiguous: root, rootless */
        check(-1, "--nope exec x");
        check(-1, "-h");
        check(-1, "-v exec x");
        check(-1, "--root");
        check(-1, "");
        check(-1, "--");
}

Test(entry, command_enters)
{
        cr_assert(cli_command_enters("create"));
        cr_assert(cli_command_enters("run"));
        cr_assert(cli_command_enters("exec"));
        cr_assert(cli_command_enters("sandbox"));
        cr_assert_not(cli_command_enters("start"));
        cr_assert_not(cli_command_enters("state"));
        cr_assert_not(cli_command_enters("execx"));
        cr_assert_not(cli_command_enters("exe"));
        cr_assert_not(cli_command_enters(""));
}
