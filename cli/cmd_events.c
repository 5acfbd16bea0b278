/* run-container events [--stats] [--interval D] ID: resource usage and OOM events of a
 * container, one JSON object per line as runc prints them:
 *   {"type":"stats","id":"ID","data":{"cpu":...,"memory":...,"pids":...,"blkio":...}}
 *   {"type":"oom","id":"ID"}
 * --stats prints the usage once (also for a stopped container, from what delete or the
 * stopped cgroup left); otherwise OOM events as they happen and the usage every
 * interval, until the container stops. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"

enum { OPT_STATS = 256, OPT_INTERVAL };

struct events_out {
        const char *id;
};

static int print_event(void *data, enum rc_event_type type, const struct rc_cgroup_stats *stats,
                       rc_error_t *err)
{
        const struct events_out *o = data;
        _cleanup_free_ char *doc = NULL;
        json_gen *g = json_gen_new(false);
        size_t len = 0;
        int r;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "format an event");
        json_gen_object_open(g);
        json_gen_kv_string(g, "type", type == RC_EVENT_OOM ? "oom" : "stats");
        json_gen_kv_string(g, "id", o->id);
        if (type == RC_EVENT_STATS) {
                json_gen_string(g, "data");
                rc_cgroup_stats_gen(g, stats);
        }
        json_gen_object_close(g);
        r = json_gen_finish(g, &doc, &len, err);
        json_gen_free(g);
        if (r < 0)
                return -1;
        if (fwrite(doc, 1, len, stdout) != len || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
                return rc_error_set(err, errno, "write to stdout");
        return 0;
}

int cli_cmd_events(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"stats", no_argument, NULL, OPT_STATS},
                {"interval", required_argument, NULL, OPT_INTERVAL},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct rc_cgroup_stats s;
        struct events_out out;
        unsigned interval = 5000;
        bool once = false;
        int opt, r;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "events", err)) != -1) {
                switch (opt) {
                case OPT_STATS:
                        once = true;
                        break;
                case OPT_INTERVAL:
                        if (cli_parse_duration("--interval", optarg, 0, &interval, err) < 0)
                                return -1;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_events);
                default:
                        return -1;
                }
        }
        if (cli_check_args("events", argc - optind, 1, 1, err) < 0)
                return -1;
        out.id = argv[optind];
        if (rc_validate_id(out.id, err) < 0)
                return -1;
        if (!once)
                return rc_container_events(&ctx->rt, out.id, interval, print_event, &out, err) < 0 ? -1 : 0;
        if (rc_container_stats(&ctx->rt, out.id, &s, err) < 0)
                return -1;
        r = print_event(&out, RC_EVENT_STATS, &s, err);
        rc_cgroup_stats_clear(&s);
        return r < 0 ? -1 : 0;
}
