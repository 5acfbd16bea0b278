/* run-container delete [OPTIONS] ID: remove a stopped container (--force: any); with
 * --regex, every container whose id matches ID (crun's option). */
#include "cli/cli.h"
#include "cli_help.h"
#include <errno.h>

static int delete_one(struct cli_context *ctx, const char *id, void *arg, rc_error_t *err)
{
        return rc_container_delete(&ctx->rt, id, *(const bool *)arg, err);
}

int cli_cmd_delete(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"force", no_argument, NULL, 'f'},
                {"regex", no_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        bool force = false, regex = false;
        const char *id;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":frh", longopts, "delete", err)) != -1) {
                switch (opt) {
                case 'f':
                        force = true;
                        break;
                case 'r':
                        regex = true;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_delete);
                default:
                        return -1;
                }
        }
        if (cli_check_args("delete", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (regex)
                return cli_for_each_match(ctx, id, delete_one, &force, err);
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (rc_container_delete(&ctx->rt, id, force, err) < 0) {
                /* As runc: forcing the removal of what is already gone succeeds. */
                if (force && *err != NULL && (*err)->status == ENOENT) {
                        rc_error_free(err);
                        return 0;
                }
                return -1;
        }
        return 0;
}
