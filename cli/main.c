/* run-container: global options, the command table, and the one place that prints the
 * final error. Callers (podman, containerd) invoke us exactly like runc:
 *   run-container [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS... */
#include "cli/cli.h"
#include "cli/entry.h"
#include "cli_help.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/stopsig.h"
#include "runtime/isolation/selfprotect.h"
#include "runtime/net/network.h"
#include "specs/config.h"

#ifndef RC_VERSION
#define RC_VERSION "0.1.0"
#endif

/* Their help, summaries included, is in cli/help/NAME.txt (cli/gen_help.py). */
struct command {
        const char *name;
        cli_command_fn fn;
};

static const struct command commands[] = {
        {"create", cli_cmd_create},
        {"start", cli_cmd_start},
        {"run", cli_cmd_run},
        {"exec", cli_cmd_exec},
        {"state", cli_cmd_state},
        {"kill", cli_cmd_kill},
        {"delete", cli_cmd_delete},
        {"list", cli_cmd_list},
        {"update", cli_cmd_update},
        {"pause", cli_cmd_pause},
        {"resume", cli_cmd_resume},
        {"ps", cli_cmd_ps},
        {"events", cli_cmd_events},
        {"spec", cli_cmd_spec},
        {"features", cli_cmd_features},
        {"network", cli_cmd_network},
        {"image", cli_cmd_image},
        {"sandbox", cli_cmd_sandbox},
        {"gc", cli_cmd_gc},
        {"checkpoint", cli_cmd_checkpoint},
        {"restore", cli_cmd_restore},
        {"migrate", cli_cmd_migrate},
        {"migrate-receive", cli_cmd_migrate_receive},
};

static const struct option global_options[] = {
#define X(name, has_arg, value) {name, has_arg, NULL, value},
        CLI_GLOBAL_OPTIONS(X)
#undef X
                {},
};

static void print_usage(void)
{
        fputs(cli_help_main, stdout);
}

static void print_version(void)
{
        const struct scmp_version *v = seccomp_version();

        printf("run-container version %s\nspec: %s\n", RC_VERSION, OCI_VERSION);
        if (v != NULL)
                printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static int parse_log_level(const char *s, enum rc_log_level *ret)
{
        static const struct {
                const char *name;
                enum rc_log_level level;
        } levels[] = {
                {"panic", RC_LOG_ERROR},  {"fatal", RC_LOG_ERROR},     {"error", RC_LOG_ERROR},
                {"warn", RC_LOG_WARNING}, {"warning", RC_LOG_WARNING}, {"info", RC_LOG_INFO},
                {"debug", RC_LOG_DEBUG},  {"trace", RC_LOG_DEBUG},
        };

        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
                if (strcmp(levels[i].name, s) == 0) {
                        *ret = levels[i].level;
                        return 0;
                }
        }
        return -1;
}

/* One global option. Returns 1 when the caller should stop (--help, --version). */
static int global_option(struct cli_context *ctx, int opt, int argc, char **argv, rc_error_t *err)
{
        switch (opt) {
        case OPT_ROOT:
                ctx->root = optarg;
                return 0;
        case OPT_LOG:
                ctx->log_path = optarg;
                return 0;
        case OPT_LOG_FORMAT:
                if (strcmp(optarg, "text") == 0)
                        ctx->log.format = CLI_LOG_TEXT;
                else if (strcmp(optarg, "json") == 0)
                        ctx->log.format = CLI_LOG_JSON;
                else
                        return rc_error_set(err, 0, "invalid log format \"%s\" (text or json)", optarg);
                return 0;
        case OPT_LOG_LEVEL:
                if (parse_log_level(optarg, &ctx->log_level) < 0)
                        return rc_error_set(err, 0, "invalid log level \"%s\"", optarg);
                return 0;
        case OPT_DEBUG:
                ctx->debug = true;
                return 0;
        case OPT_SYSTEMD_CGROUP:
                ctx->systemd_cgroup = true;
                ctx->cgroup_manager = CLI_CGROUP_SYSTEMD;
                return 0;
        case OPT_CGROUP_MANAGER:
                if (strcmp(optarg, "cgroupfs") == 0)
                        ctx->cgroup_manager = CLI_CGROUP_CGROUPFS;
                else if (strcmp(optarg, "systemd") == 0)
                        ctx->cgroup_manager = CLI_CGROUP_SYSTEMD;
                else if (strcmp(optarg, "disabled") == 0)
                        ctx->cgroup_manager = CLI_CGROUP_DISABLED;
                else
                        return rc_error_set(err, 0,
                                            "invalid cgroup manager \"%s\" (cgroupfs, systemd or disabled)",
                                            optarg);
                ctx->systemd_cgroup = ctx->cgroup_manager == CLI_CGROUP_SYSTEMD;
                return 0;
        case OPT_NETWORK_ROOT:
                ctx->rt.net_state_dir = optarg;
                return 0;
        case OPT_ROOTLESS:
                /* runc takes a value, also as a separate word: "--rootless true" */
                if (optarg == NULL && optind < argc && cli_rootless_value(argv[optind]))
                        optarg = argv[optind++];
                if (optarg != NULL && !cli_rootless_value(optarg))
                        return rc_error_set(err, 0, "invalid --rootless value \"%s\" (true, false or auto)",
                                            optarg);
                ctx->rootless = optarg ? optarg : "true";
                return 0;
        case 'v':
                print_version();
                return 1;
        case 'h':
                print_usage();
                return 1;
        }
        return -1; /* cli_getopt's -2: err is set */
}

static int run_command(struct cli_context *ctx, const struct command *cmd, int argc, char **argv,
                       rc_error_t *err)
{
        int ret;

        if (cli_log_open(&ctx->log, ctx->log_path, ctx->log.format, err) < 0)
                return -1;
        ctx->rt.root = ctx->root;
        ctx->rt.cgroup_manager = ctx->cgroup_manager == CLI_CGROUP_DISABLED  ? RC_CGROUP_MANAGER_DISABLED
                                 : ctx->cgroup_manager == CLI_CGROUP_SYSTEMD ? RC_CGROUP_MANAGER_SYSTEMD
                                                                             : RC_CGROUP_MANAGER_CGROUPFS;
        if (ctx->rt.net_state_dir == NULL)
                ctx->rt.net_state_dir = getenv(RC_NET_STATE_DIR_ENV);
        if (cli_parse_slow_paths(getenv(CLI_SLOW_PATHS_ENV), &ctx->rt.slow_paths, err) < 0)
                return -1;
        ctx->rt.log = (struct rc_logger){
                .fn = cli_log_sink,
                .data = &ctx->log,
                .max_level = ctx->debug ? RC_LOG_DEBUG : ctx->log_level,
        };
        optind = 0; /* full getopt reinitialisation for the command's own options */
        ret = cmd->fn(ctx, argc, argv, err);
        if (fflush(stdout) != 0 && ret >= 0)
                return rc_error_set(err, errno, "write to stdout");
        return ret;
}

/* orig_argv: argv as main() got it (getopt may permute argv), for a re-execution. */
static int run(struct cli_context *ctx, int argc, char **argv, char *const *orig_argv, rc_error_t *err)
{
        const struct command *cmd;
        int opt, ret;

        optind = 0;
        while ((opt = cli_getopt(argc, argv, "+:hv", global_options, NULL, err)) != -1) {
                ret = global_option(ctx, opt, argc, argv, err);
                if (ret != 0)
                        return ret < 0 ? -1 : 0;
        }
        if (optind >= argc)
                return rc_error_set(err, 0, "missing command (see \"run-container --help\")");
        argv += optind;
        argc -= optind;

        if (strcmp(argv[0], "help") == 0) {
                char *help_argv[] = {argc > 1 ? argv[1] : NULL, (char *)"--help", NULL};

                if (argc < 2) {
                        print_usage();
                        return 0;
                }
                cmd = find_command(argv[1]);
                if (cmd == NULL)
                        return rc_error_set(err, 0, "unknown command \"%s\" (see \"run-container --help\")",
                                            argv[1]);
                return run_command(ctx, cmd, 2, help_argv, err);
        }
        cmd = find_command(argv[0]);
        if (cmd == NULL)
                return rc_error_set(err, 0, "unknown command \"%s\" (see \"run-container --help\")",
                                    argv[0]);
        /* `sandbox` cleans up and reports whatever stops it: its stop signals wait for a safe
         * point from here on (runtime/base/stopsig.h; the mask and pending signals survive
         * the re-execution below) */
        if (strcmp(cmd->name, "sandbox") == 0 && rc_stop_signals_block(NULL, err) < 0)
                return -1;
        /* CVE-2019-5736: before anything of a container exists (runtime/isolation/selfprotect.h) */
        if (cli_command_enters(cmd->name) && rc_selfprotect(orig_argv, err) < 0)
                return -1;
        return run_command(ctx, cmd, argc, argv, err);
}

int main(int argc, char **argv)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct cli_context ctx = {
                .log = {.fd = -1, .format = CLI_LOG_TEXT},
                .log_level = RC_LOG_WARNING,
                .cgroup_manager = CLI_CGROUP_CGROUPFS,
        };
        _cleanup_free_ char **orig_argv = calloc((size_t)argc + 1, sizeof(char *));
        int ret;

        if (orig_argv == NULL) {
                fprintf(stderr, "run-container: out of memory\n");
                return 1;
        }
        memcpy(orig_argv, argv, (size_t)argc * sizeof(char *));
        ret = run(&ctx, argc, argv, orig_argv, &err);
        if (ret < 0) {
                const char *msg = err && err->msg ? err->msg : "unknown error";

                /* the final error, printed once: stderr, and the log file if there is one */
                fprintf(stderr, "run-container: %s\n", msg);
                if (ctx.log.fd >= 0)
                        cli_log_write(&ctx.log, RC_LOG_ERROR, msg);
                ret = ctx.error_status > 0 ? ctx.error_status : 1;
        }
        cli_log_close(&ctx.log);
        return ret;
}
