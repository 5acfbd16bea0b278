/* run-container migrate-receive [OPTIONS] --listen unix:PATH: the destination of one
 * `migrate --to unix:PATH`; a line once listening, one once the container runs here. */
#include "cli/cli.h"
#include "cli_help.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_LISTEN = 820, OPT_TIMEOUT };

static void print_listening(void *data)
{
        printf("listening on unix:%s\n", (const char *)data);
        fflush(stdout);
}

int cli_cmd_migrate_receive(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"listen", required_argument, NULL, OPT_LISTEN},
                {"bundle", required_argument, NULL, 'b'},
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct rc_migrate_receive_opts o = {.on_listening = print_listening};
        struct rc_migrate_received r;
        char *listen = NULL, *bundle = NULL;
        int opt, ret = -1;

        while ((opt = cli_getopt(argc, argv, ":hb:", longopts, "migrate-receive", err)) != -1) {
                switch (opt) {
                case 'h':
                        ret = cli_print_usage(cli_help_migrate_receive);
                        goto out;
                case OPT_LISTEN:
                        free(listen);
                        listen = NULL;
                        if (strncmp(optarg, "unix:", 5) != 0) {
                                rc_error_set(err, 0, "invalid --listen \"%s\": expected unix:PATH", optarg);
                                goto out;
                        }
                        if (cli_path_absolute(optarg + 5, &listen, err) < 0)
                                goto out;
                        break;
                case OPT_TIMEOUT:
                        if (cli_parse_uint(optarg, 86400, &o.timeout_s) < 0 || o.timeout_s == 0) {
                                rc_error_set(err, 0, "invalid --timeout \"%s\": expected 1 to 86400 seconds",
                                             optarg);
                                goto out;
                        }
                        break;
                case 'b':
                        free(bundle);
                        bundle = NULL;
                        if (cli_path_absolute(optarg, &bundle, err) < 0)
                                goto out;
                        break;
                default:
                        goto out;
                }
        }
        if (cli_check_args("migrate-receive", argc - optind, 0, 0, err) < 0)
                goto out;
        if (listen == NULL) {
                rc_error_set(err, 0, "migrate-receive: --listen unix:PATH is required");
                goto out;
        }
        o.listen_path = listen;
        o.bundle = bundle;
        o.data = listen;
        if (rc_container_migrate_receive(&ctx->rt, &o, &r, err) < 0)
                goto out;
        printf("restored \"%s\" (pid %d; %u image files, %llu KiB received", r.id, (int)r.pid, r.files,
               (unsigned long long)((r.bytes + 1023) / 1024));
        if (r.page_bytes > 0)
                printf("; then the memory: %llu KiB over the page channel",
                       (unsigned long long)((r.page_bytes + 1023) / 1024));
        printf(")\n");
        ret = 0;
out:
        free(listen);
        free(bundle);
        return ret;
}
