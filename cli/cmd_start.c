/* run-container start ID: let a created container's process run its program. */
#include "cli/cli.h"
#include "cli_help.h"

int cli_cmd_start(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *id;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "start", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_start);
                return -1;
        }
        if (cli_check_args("start", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        ctx->rt.notify_socket = cli_notify_socket();
        if (rc_container_start(&ctx->rt, id, err) < 0)
                return -1;
        return 0;
}
