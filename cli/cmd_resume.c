/* run-container resume ID: thaw a paused container (cgroup.freeze). */
#include "cli/cli.h"

#include "runtime/cgroup/cgroup.h"

static const char resume_usage[] = "Usage: run-container resume ID\n\n"
                                   "Thaw a container frozen by \"pause\".\n\n"
                                   "Options:\n"
                                   "  -h, --help                show this help\n";

int cli_cmd_resume(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *id;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "resume", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(resume_usage);
                return -1;
        }
        if (cli_check_args("resume", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0 || rc_container_resume(&ctx->rt, id, err) < 0)
                return -1;
        return 0;
}
