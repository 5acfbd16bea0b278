/* run-container pause ID: freeze every process of a container (cgroup.freeze). */
#include "cli/cli.h"
#include "cli_help.h"

#include "runtime/cgroup/cgroup.h"

int cli_cmd_pause(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *id;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "pause", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_pause);
                return -1;
        }
        if (cli_check_args("pause", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0 || rc_container_pause(&ctx->rt, id, err) < 0)
                return -1;
        return 0;
}
