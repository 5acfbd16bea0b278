/* run-container kill [OPTIONS] ID [SIGNAL]: signal the container's init (or, with
 * --all, every process of the container). SIGNAL is a name or a number. */
#include "cli/cli.h"

#include <signal.h>

#include "specs/names.h"

static const char kill_usage[] = "Usage: run-container kill [OPTIONS] ID [SIGNAL]\n\n"
                                 "Send SIGNAL (default: SIGTERM) to the init process of a container. "
                                 "SIGNAL is a\nname (KILL, SIGKILL, RTMIN+3) or a number.\n\n"
                                 "Options:\n"
                                 "  -a, --all                 signal every process of the container\n"
                                 "  -h, --help                show this help\n";

int cli_cmd_kill(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        bool all = false;
        int opt, sig = SIGTERM;
        const char *id;

        while ((opt = cli_getopt(argc, argv, ":ah", longopts, "kill", err)) != -1) {
                switch (opt) {
                case 'a':
                        all = true;
                        break;
                case 'h':
                        return cli_print_usage(kill_usage);
                default:
                        return -1;
                }
        }
        if (cli_check_args("kill", argc - optind, 1, 2, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (argc - optind == 2 && oci_signal_from_string(argv[optind + 1], &sig) < 0)
                return rc_error_set(err, 0, "invalid signal \"%s\"", argv[optind + 1]);
        if (rc_container_kill(&ctx->rt, id, sig, all, err) < 0)
                return -1;
        return 0;
}
