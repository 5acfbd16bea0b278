/* run-container run [OPTIONS] ID: create and start a container; unless --detach, wait
 * for it, delete it and exit with its status (128+N when killed by signal N). */
#include "cli/cli.h"
#include "cli_help.h"

#include "runtime/base/cleanup.h"

enum { OPT_NO_SUBREAPER = 512 };

int cli_cmd_run(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                CLI_CREATE_LONGOPTS,
                {"detach", no_argument, NULL, 'd'},
                {"keep", no_argument, NULL, CLI_OPT_KEEP},
                {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(cli_create_args_clear))) struct cli_create_args a = {0};
        struct rc_run_opts ro = {0};
        int opt, status = 0;
        const char *id;

        while ((opt = cli_getopt(argc, argv, ":hd" CLI_CREATE_SHORTOPTS, longopts, "run", err)) != -1) {
                switch (opt) {
                case 'h':
                        return cli_print_usage(cli_help_run);
                case 'd':
                        ro.detach = true;
                        break;
                case CLI_OPT_KEEP:
                        ro.keep = true;
                        break;
                case OPT_NO_SUBREAPER:
                        ro.no_subreaper = true;
                        break;
                case -2:
                        return -1;
                default:
                        if (cli_create_args_handle(&a, opt, optarg, err) < 0)
                                return -1;
                }
        }
        if (cli_check_args("run", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (cli_create_args_finish(&a, err) < 0)
                return -1;
        ctx->rt.notify_socket = cli_notify_socket();
        if (rc_container_run(&ctx->rt, id, &a.opts, &ro, &status, err) < 0)
                return -1;
        if (status < 0 || status > 255)
                status = 255;
        return status;
}
