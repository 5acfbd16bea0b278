/* run-container pause ID: freeze every process of a container (cgroup.freeze). */
#include "cli/cli.h"

#include "runtime/cgroup/cgroup.h"

static const char pause_usage[] = "Usage: run-container pause ID\n\n"
                                  "Freeze every process of a running container (cgroup v2 freezer): they "
                                  "stay in\nmemory and make no progress until \"resume\".\n\n"
                                  "Options:\n"
                                  "  -h, --help                show this help\n";

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
                        return cli_print_usage(pause_usage);
                return -1;
        }
        if (cli_check_args("pause", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0 || rc_container_pause(&ctx->rt, id, err) < 0)
                return -1;
        return 0;
}
