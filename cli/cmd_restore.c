/* run-container restore [OPTIONS] ID: create a container from a checkpoint (runc's flags);
 * unless --detach, wait for it, delete it and exit with its status. */
#include "cli/cli.h"
#include "cli_help.h"

int cli_cmd_restore(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                CLI_CRIU_LONGOPTS,
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, CLI_OPT_PID_FILE},
                {"console-socket", required_argument, NULL, CLI_OPT_CONSOLE_SOCKET},
                {"no-pivot", no_argument, NULL, CLI_OPT_NO_PIVOT},
                {"detach", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(cli_create_args_clear))) struct cli_create_args a = {0};
        __attribute__((cleanup(cli_criu_args_clear))) struct cli_criu_args c = {0};
        struct rc_restore_opts ro = {0};
        const char *id;
        int opt, status = 0;

        while ((opt = cli_getopt(argc, argv, ":hdb:", longopts, "restore", err)) != -1) {
                switch (opt) {
                case 'h':
                        return cli_print_usage(cli_help_restore);
                case 'd':
                        ro.detach = true;
                        break;
                case -2:
                        return -1;
                default:
                        if (cli_criu_args_handle(&c, opt, optarg, err) != 0) {
                                if (*err != NULL)
                                        return -1;
                                break;
                        }
                        if (cli_create_args_handle(&a, opt, optarg, err) <= 0)
                                return -1;
                }
        }
        if (cli_check_args("restore", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0 || cli_criu_args_finish(&c, err) < 0 ||
            cli_create_args_finish(&a, err) < 0)
                return -1;
        ro.criu = c.opts;
        if (rc_container_restore(&ctx->rt, id, &a.opts, &ro, &status, err) < 0)
                return -1;
        if (status < 0 || status > 255)
                status = 255;
        return status;
}
