/* run-container kill [OPTIONS] ID [SIGNAL]: signal the container's init (or, with
 * --all, every process of the container). SIGNAL is a name or a number; 0 only checks
 * that the init is alive (as kill(1)). With --regex, ID is a pattern (crun's option). */
#include "cli/cli.h"
#include "cli_help.h"

#include <signal.h>
#include <string.h>

#include "specs/names.h"

struct kill_args {
        int sig;
        bool all;
};

static int kill_one(struct cli_context *ctx, const char *id, void *arg, rc_error_t *err)
{
        const struct kill_args *k = arg;

        return rc_container_kill(&ctx->rt, id, k->sig, k->all, err);
}

int cli_cmd_kill(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"all", no_argument, NULL, 'a'},
                {"regex", no_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct kill_args k = {.sig = SIGTERM};
        bool regex = false;
        const char *id, *sig;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":arh", longopts, "kill", err)) != -1) {
                switch (opt) {
                case 'a':
                        k.all = true;
                        break;
                case 'r':
                        regex = true;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_kill);
                default:
                        return -1;
                }
        }
        if (cli_check_args("kill", argc - optind, 1, 2, err) < 0)
                return -1;
        id = argv[optind];
        sig = argc - optind == 2 ? argv[optind + 1] : NULL;
        if (sig != NULL && strcmp(sig, "0") == 0)
                k.sig = 0; /* the probe: no signal, only the checks */
        else if (sig != NULL && oci_signal_from_string(sig, &k.sig) < 0)
                return rc_error_set(err, 0, "invalid signal \"%s\"", sig);
        if (regex)
                return cli_for_each_match(ctx, id, kill_one, &k, err);
        if (rc_validate_id(id, err) < 0 || kill_one(ctx, id, &k, err) < 0)
                return -1;
        return 0;
}
