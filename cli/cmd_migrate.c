/* run-container migrate [OPTIONS] --to ROOT|unix:PATH ID: live-migrate a running
 * container to another state root or to a migrate-receive (iterative pre-copy through
 * CRIU); one line per round, then the downtime. */
#include "cli/cli.h"
#include "cli_help.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
        OPT_TO = 800,
        OPT_ROUNDS,
        OPT_WORK_PATH,
        OPT_TCP,
        OPT_UNIX,
        OPT_LOCKS,
        OPT_POST_COPY,
        OPT_LAZY_PARENT
};

/* What each number is: CRIU's counts for the round (pages written; after round 1 those
 * dirtied since the round before, the others skipped as unchanged), else the pages in the
 * round's image files. */
static void print_round(void *data, const struct rc_migrate_round *r)
{
        if (r->transfer && r->pages_lazy_local > 0) {
                printf("memory complete after %u ms (from the final dump's start; %" PRIu64
                       " pages lazily, from the local images)\n",
                       r->ms, r->pages_lazy_local);
                fflush(stdout);
                return;
        }
        if (r->transfer) {
                printf("after the restore: %" PRIu64 " pages moved from the source's page server in %u ms\n",
                       r->pages_lazy, r->ms);
                fflush(stdout);
                return;
        }
        printf("round %u%s: %" PRIu64 " pages", r->round, r->final ? " (final dump)" : "", r->pages);
        if (!r->stats)
                printf(" in the image");
        else if (r->round == 1)
                printf(" written (all the private memory)");
        else
                printf(" written (dirtied since round %u; %" PRIu64 " unchanged, not written again)",
                       r->round - 1, r->pages_skipped);
        if (r->pages_lazy > 0)
                printf(", %" PRIu64 " left with the source's page server for after the restore",
                       r->pages_lazy);
        if (r->pages_lazy_local > 0)
                printf(", %" PRIu64 " pages left for after the restore (read from the image as they fault)",
                       r->pages_lazy_local);
        if (r->note != NULL)
                printf(", %s", r->note);
        if (r->sent_bytes > 0)
                printf(", %" PRIu64 " KiB sent", (r->sent_bytes + 1023) / 1024);
        printf(", %u ms\n", r->ms);
        fflush(stdout);
}

int cli_cmd_migrate(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"to", required_argument, NULL, OPT_TO},
                {"rounds", required_argument, NULL, OPT_ROUNDS},
                {"work-path", required_argument, NULL, OPT_WORK_PATH},
                {"post-copy", no_argument, NULL, OPT_POST_COPY},
                {"lazy-parent", no_argument, NULL, OPT_LAZY_PARENT},
                {"tcp-established", no_argument, NULL, OPT_TCP},
                {"ext-unix-sk", no_argument, NULL, OPT_UNIX},
                {"file-locks", no_argument, NULL, OPT_LOCKS},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct rc_migrate_opts o = {.on_round = print_round};
        char *to = NULL, *work = NULL;
        bool unix_to = false;
        unsigned downtime = 0;
        int opt, ret = -1;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "migrate", err)) != -1) {
                switch (opt) {
                case 'h':
                        ret = cli_print_usage(cli_help_migrate);
                        goto out;
                case OPT_TO:
                        free(to);
                        to = NULL;
                        unix_to = strncmp(optarg, "unix:", 5) == 0;
                        if (cli_path_absolute(unix_to ? optarg + 5 : optarg, &to, err) < 0)
                                goto out;
                        break;
                case OPT_ROUNDS:
                        if (cli_parse_uint(optarg, 100, &o.max_rounds) < 0 || o.max_rounds == 0) {
                                rc_error_set(err, 0, "invalid --rounds \"%s\": expected 1 to 100", optarg);
                                goto out;
                        }
                        break;
                case OPT_WORK_PATH:
                        free(work);
                        work = NULL;
                        if (cli_path_absolute(optarg, &work, err) < 0)
                                goto out;
                        break;
                case OPT_POST_COPY:
                        o.post_copy = true;
                        break;
                case OPT_LAZY_PARENT:
                        o.lazy_parent = true;
                        break;
                case OPT_TCP:
                        o.tcp_established = true;
                        break;
                case OPT_UNIX:
                        o.ext_unix_sk = true;
                        break;
                case OPT_LOCKS:
                        o.file_locks = true;
                        break;
                default:
                        goto out;
                }
        }
        if (cli_check_args("migrate", argc - optind, 1, 1, err) < 0)
                goto out;
        if (to == NULL) {
                rc_error_set(err, 0, "migrate: --to ROOT or --to unix:PATH is required");
                goto out;
        }
        if (unix_to)
                o.to_unix = to;
        else
                o.to_root = to;
        o.work_path = work;
        /* tests/vm only: see rc_criu_opts.test_stop_lazy_daemon, rc_migrate_opts.test_stop_in_removal */
        o.test_stop_lazy_daemon = getenv("RC_TEST_STOP_LAZY_DAEMON") != NULL;
        o.test_stop_in_removal = getenv("RC_TEST_STOP_IN_REMOVAL") != NULL;
        if (rc_container_migrate(&ctx->rt, argv[optind], &o, &downtime, err) < 0)
                goto out;
        printf("downtime: %u ms (final dump to running at %s%s%s)\n", downtime, unix_to ? "unix:" : "", to,
               o.post_copy ? "; the memory followed after" : "");
        ret = 0;
out:
        free(to);
        free(work);
        return ret;
}
