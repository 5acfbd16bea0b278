/* run-container gc [OPTIONS]: settle what killed migrates left in this root (their work
 * directories: the container runs at the source or here afterwards, a frozen one is
 * thawed) and what killed checkpoints left (a container their dump froze is thawed, the
 * network lock CRIU left goes), kill container inits that no state describes (a create
 * killed before it recorded its init, a state directory removed under a live init), and
 * clean up after sandboxes whose `sandbox` process died (killed, crashed): stop their
 * containers and undo what their journals record. */
#include "cli/cli.h"
#include "cli_help.h"

#include <sys/stat.h>

#include "runtime/base/cleanup.h"
#include "runtime/image/image.h"
#include "runtime/sandbox/journal.h"

enum { OPT_TIMEOUT = 700, OPT_IMAGE_CACHE };

int cli_cmd_gc(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"image-cache", required_argument, NULL, OPT_IMAGE_CACHE},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cache = rc_image_cache_default();
        unsigned timeout_ms = 0;
        struct stat st;
        bool quiet = false;
        size_t removed = 0, killed = 0, migrations = 0, checkpoints = 0;
        _cleanup_error_ rc_error_t merr = NULL, cerr = NULL;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":hq", longopts, "gc", err)) != -1) {
                switch (opt) {
                case 'h':
                        return cli_print_usage(cli_help_gc);
                case 'q':
                        quiet = true;
                        break;
                case OPT_IMAGE_CACHE:
                        cache = optarg;
                        break;
                case OPT_TIMEOUT:
                        if (cli_parse_duration("--timeout", optarg, CLI_VALUE_NONZERO, &timeout_ms, err) < 0)
                                return -1;
                        break;
                default:
                        return -1;
                }
        }
        if (cli_check_args("gc", argc - optind, 0, 0, err) < 0)
                return -1;
        /* first the killed migrates: a container they restore gets its state before the
         * inits that no state describes are looked for; one that cannot be settled stops
         * nothing else (its error is the one returned) */
        rc_container_gc_migrations(&ctx->rt, NULL, &migrations, &merr);
        /* then the killed checkpoints: a container one froze runs again (its error is
         * returned after the rest, as the migrates') */
        rc_container_gc_checkpoints(&ctx->rt, &checkpoints, &cerr);
        if (rc_container_gc_inits(&ctx->rt, &killed, err) < 0 ||
            rc_gc(&ctx->rt, timeout_ms, &removed, err) < 0)
                return -1;
        /* a cache that was never made has nothing to clean (and is not created here) */
        if (stat(cache, &st) == 0 && rc_image_cache_clean_tmp(cache, &ctx->rt.log, NULL, err) < 0)
                return -1;
        if (!quiet && migrations > 0)
                printf("settled %zu killed migrate%s\n", migrations, migrations == 1 ? "" : "s");
        if (!quiet && checkpoints > 0)
                printf("settled %zu killed checkpoint%s\n", checkpoints, checkpoints == 1 ? "" : "s");
        if (!quiet && killed > 0)
                printf("killed %zu orphaned container init%s\n", killed, killed == 1 ? "" : "s");
        if (!quiet)
                printf("removed %zu sandbox%s\n", removed, removed == 1 ? "" : "es");
        if (merr != NULL) {
                rc_error_move(err, &merr);
                return -1;
        }
        if (cerr != NULL) {
                rc_error_move(err, &cerr);
                return -1;
        }
        return 0;
}
