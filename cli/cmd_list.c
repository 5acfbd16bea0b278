/* run-container list [OPTIONS]: the containers under --root, as a table (runc's
 * columns), as JSON, or only their ids; and the --regex selection of kill and delete. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"

enum list_format { LIST_TABLE, LIST_JSON };

struct container_list {
        struct oci_state **v;
        size_t n;
};

static void container_list_clear(struct container_list *l)
{
        if (l->v != NULL)
                rc_container_list_free(l->v, l->n);
}

#define TABLE_COLS 6

static int print_table(const struct container_list *l, rc_error_t *err)
{
        static const char *const header[TABLE_COLS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
        size_t rows = l->n + 1, ncells = rows * TABLE_COLS;
        _cleanup_free_ const char **cells = calloc(ncells, sizeof(*cells));
        _cleanup_free_ char **owned = calloc(2 * rows, sizeof(*owned)); /* pid, owner per row */
        int ret = -1;

        if (cells == NULL || owned == NULL)
                return rc_error_set(err, ENOMEM, "format the container list");
        memcpy(cells, header, sizeof(header));
        for (size_t i = 0; i < l->n; i++) {
                const struct oci_state *s = l->v[i];
                const char **row = cells + (i + 1) * TABLE_COLS;
                int pid = s->status == OCI_STATUS_STOPPED ? 0 : s->pid;

                if (asprintf(&owned[2 * i], "%d", pid) < 0) {
                        owned[2 * i] = NULL;
                        goto out;
                }
                owned[2 * i + 1] = cli_owner_name(s->owner);
                if (owned[2 * i + 1] == NULL)
                        goto out;
                row[0] = s->id;
                row[1] = owned[2 * i];
                row[2] = oci_status_name(s->status);
                row[3] = s->bundle ? s->bundle : "";
                row[4] = s->created ? s->created : "";
                row[5] = owned[2 * i + 1];
        }
        ret = cli_table_print(stdout, cells, rows, TABLE_COLS);
out:
        for (size_t i = 0; i < 2 * rows; i++)
                free(owned[i]);
        if (ret < 0)
                return rc_error_set(err, errno ? errno : ENOMEM, "print the container list");
        return 0;
}

static int print_json(const struct container_list *l, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;
        json_gen *g;
        int ret;

        /* runc encodes a nil slice: "null" when there are no containers */
        if (l->n == 0) {
                puts("null");
                return 0;
        }
        g = json_gen_new(false);
        if (g == NULL)
                return rc_error_set(err, ENOMEM, "format the container list");
        json_gen_array_open(g);
        for (size_t i = 0; i < l->n; i++)
                cli_state_gen(g, l->v[i]);
        json_gen_array_close(g);
        ret = json_gen_finish(g, &doc, &len, err);
        json_gen_free(g);
        if (ret < 0)
                return rc_error_wrap(err, "format the container list");
        while (len > 0 && doc[len - 1] == '\n')
                len--;
        if (printf("%.*s\n", (int)len, doc) < 0)
                return rc_error_set(err, errno, "write to stdout");
        return 0;
}

int cli_cmd_list(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"format", required_argument, NULL, 'f'},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(container_list_clear))) struct container_list l = {0};
        enum list_format format = LIST_TABLE;
        bool quiet = false;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":f:qh", longopts, "list", err)) != -1) {
                switch (opt) {
                case 'f':
                        if (strcmp(optarg, "table") == 0)
                                format = LIST_TABLE;
                        else if (strcmp(optarg, "json") == 0)
                                format = LIST_JSON;
                        else
                                return rc_error_set(err, 0, "invalid format \"%s\" (table or json)", optarg);
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_list);
                default:
                        return -1;
                }
        }
        if (cli_check_args("list", argc - optind, 0, 0, err) < 0)
                return -1;
        if (rc_container_list(&ctx->rt, &l.v, &l.n, err) < 0)
                return -1;
        if (quiet) {
                for (size_t i = 0; i < l.n; i++)
                        if (puts(l.v[i]->id) < 0)
                                return rc_error_set(err, errno, "write to stdout");
                return 0;
        }
        return format == LIST_JSON ? print_json(&l, err) : print_table(&l, err);
}

/* ---- crun's --regex (kill, delete) ---------------------------------------------- */

int cli_for_each_match(struct cli_context *ctx, const char *pattern, cli_id_fn fn, void *arg,
                       rc_error_t *err)
{
        struct oci_state **v = NULL;
        char buf[256];
        size_t n = 0;
        regex_t re;
        int r;

        r = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                regerror(r, &re, buf, sizeof(buf));
                return rc_error_set(err, 0, "invalid regular expression \"%s\": %s", pattern, buf);
        }
        if (rc_container_list(&ctx->rt, &v, &n, err) < 0) {
                regfree(&re);
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_error_ rc_error_t e = NULL;

                if (regexec(&re, v[i]->id, 0, NULL, 0) == 0 && fn(ctx, v[i]->id, arg, &e) < 0)
                        rc_log(&ctx->rt.log, RC_LOG_WARNING, "%s", e != NULL ? e->msg : v[i]->id);
        }
        rc_container_list_free(v, n);
        regfree(&re);
        return 0;
}
