/* run-container checkpoint [OPTIONS] ID: dump a running container with CRIU (runc's
 * flags). Also the CRIU options restore shares (cli_criu_args_*). */
#include "cli/cli.h"
#include "cli_help.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
        OPT_PARENT_PATH = 700,
        OPT_LEAVE_RUNNING,
        OPT_PRE_DUMP,
        OPT_AUTO_DEDUP,
        OPT_PAGE_SERVER,
        OPT_STATUS_FD,
};

static int set_path(char **field, const char *arg, rc_error_t *err)
{
        free(*field);
        *field = NULL;
        return cli_path_absolute(arg, field, err) < 0 ? -1 : 1;
}

int cli_criu_args_handle(struct cli_criu_args *a, int opt, const char *arg, rc_error_t *err)
{
        static const char *const modes[] = {[RC_CRIU_CG_SOFT] = "soft",
                                            [RC_CRIU_CG_FULL] = "full",
                                            [RC_CRIU_CG_STRICT] = "strict",
                                            [RC_CRIU_CG_IGNORE] = "ignore"};

        switch (opt) {
        case CLI_OPT_IMAGE_PATH:
                return set_path(&a->image_path, arg, err);
        case CLI_OPT_WORK_PATH:
                return set_path(&a->work_path, arg, err);
        case CLI_OPT_TCP_ESTABLISHED:
                a->opts.tcp_established = true;
                return 1;
        case CLI_OPT_EXT_UNIX_SK:
                a->opts.ext_unix_sk = true;
                return 1;
        case CLI_OPT_SHELL_JOB:
                a->opts.shell_job = true;
                return 1;
        case CLI_OPT_FILE_LOCKS:
                a->opts.file_locks = true;
                return 1;
        case CLI_OPT_MANAGE_CGROUPS_MODE:
                for (size_t i = RC_CRIU_CG_SOFT; i < sizeof(modes) / sizeof(modes[0]); i++)
                        if (strcmp(arg, modes[i]) == 0) {
                                a->opts.cg_mode = (enum rc_criu_cg_mode)i;
                                return 1;
                        }
                return rc_error_set(
                        err, 0,
                        "invalid --manage-cgroups-mode \"%s\": expected soft, full, strict or ignore", arg);
        case CLI_OPT_EMPTY_NS:
                /* runc's rule: the network namespace only */
                if (strcmp(arg, "network") != 0)
                        return rc_error_set(err, 0,
                                            "invalid --empty-ns \"%s\": only \"network\" is supported", arg);
                a->opts.empty_netns = true;
                return 1;
        case CLI_OPT_LAZY_PAGES:
                a->opts.lazy_pages = true;
                return 1;
        }
        return 0;
}

/* runc's default image path: ./checkpoint. */
int cli_criu_args_finish(struct cli_criu_args *a, rc_error_t *err)
{
        if (a->image_path == NULL && set_path(&a->image_path, "checkpoint", err) < 0)
                return -1;
        a->opts.image_path = a->image_path;
        a->opts.work_path = a->work_path;
        return 0;
}

void cli_criu_args_clear(struct cli_criu_args *a)
{
        free(a->image_path);
        free(a->work_path);
        *a = (struct cli_criu_args){0};
}

int cli_cmd_checkpoint(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                CLI_CRIU_LONGOPTS,
                {"parent-path", required_argument, NULL, OPT_PARENT_PATH},
                {"leave-running", no_argument, NULL, OPT_LEAVE_RUNNING},
                {"pre-dump", no_argument, NULL, OPT_PRE_DUMP},
                {"auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP},
                {"page-server", required_argument, NULL, OPT_PAGE_SERVER},
                {"status-fd", required_argument, NULL, OPT_STATUS_FD},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(cli_criu_args_clear))) struct cli_criu_args a = {0};
        struct rc_checkpoint_opts o = {0};
        const char *id;
        unsigned fd;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "checkpoint", err)) != -1) {
                switch (opt) {
                case 'h':
                        return cli_print_usage(cli_help_checkpoint);
                case OPT_PARENT_PATH:
                        o.parent_path = optarg;
                        break;
                case OPT_LEAVE_RUNNING:
                        o.leave_running = true;
                        break;
                case OPT_PRE_DUMP:
                        o.pre_dump = true;
                        break;
                case OPT_AUTO_DEDUP:
                        o.auto_dedup = true;
                        break;
                case OPT_PAGE_SERVER:
                        o.page_server = optarg;
                        break;
                case OPT_STATUS_FD:
                        if (cli_parse_uint(optarg, INT_MAX, &fd) < 0) {
                                rc_error_set(err, 0,
                                             "invalid --status-fd \"%s\": expected a file descriptor",
                                             optarg);
                                return -1;
                        }
                        o.has_status_fd = true;
                        o.status_fd = (int)fd;
                        break;
                case -2:
                        return -1;
                default:
                        if (cli_criu_args_handle(&a, opt, optarg, err) <= 0)
                                return -1;
                }
        }
        if (cli_check_args("checkpoint", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0 || cli_criu_args_finish(&a, err) < 0)
                return -1;
        o.criu = a.opts;
        return rc_container_checkpoint(&ctx->rt, id, &o, err) < 0 ? -1 : 0;
}
