/* run-container network create|ls|inspect|rm|prune: named networks for containers that
 * join one through their bundle's annotations (see runtime/net/network.h). */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/net/network.h"

enum { OPT_SUBNET = 256, OPT_GATEWAY, OPT_BRIDGE, OPT_INTERNAL, OPT_NO_ISOLATE, OPT_FORMAT };

static void gen_network(json_gen *g, const struct rc_network *n)
{
        char subnet[24], gw[RC_IP_STRLEN];

        rc_cidr_format(&n->subnet, subnet, sizeof(subnet));
        rc_ip_format(n->gateway, gw);
        json_gen_kv_string(g, "name", n->name);
        json_gen_kv_string(g, "subnet", subnet);
        json_gen_kv_string(g, "gateway", gw);
        json_gen_kv_string(g, "bridge", n->bridge);
        json_gen_kv_bool(g, "internal", n->internal);
        json_gen_kv_bool(g, "isolate", n->isolate);
        json_gen_kv_bool(g, "implicit", n->implicit);
}

static void gen_attachment(json_gen *g, const struct rc_attachment *a)
{
        char ip[RC_IP_STRLEN], port[24];

        rc_ip_format(a->address, ip);
        json_gen_object_open(g);
        json_gen_kv_string(g, "id", a->container);
        json_gen_kv_string(g, "address", ip);
        json_gen_kv_string(g, "veth", a->veth);
        json_gen_kv_string(g, "root", a->root);
        json_gen_string(g, "ports");
        json_gen_array_open(g);
        for (size_t i = 0; i < a->n_ports; i++) {
                rc_port_format(&a->ports[i], port, sizeof(port));
                json_gen_string(g, port);
        }
        json_gen_array_close(g);
        json_gen_object_close(g);
}

/* Prints and frees the generator. */
static int print_doc(json_gen *g, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *owned = g;
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;

        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_all(STDOUT_FILENO, doc, len) < 0 ? rc_error_set(err, errno, "write to stdout") : 0;
}

static int cmd_create(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"subnet", required_argument, NULL, OPT_SUBNET},
                {"gateway", required_argument, NULL, OPT_GATEWAY},
                {"bridge", required_argument, NULL, OPT_BRIDGE},
                {"internal", no_argument, NULL, OPT_INTERNAL},
                {"no-isolate", no_argument, NULL, OPT_NO_ISOLATE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct rc_network_create_opts o = {0};
        struct rc_network *n = NULL;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "network create", err)) != -1) {
                switch (opt) {
                case OPT_SUBNET:
                        o.subnet = optarg;
                        break;
                case OPT_GATEWAY:
                        o.gateway = optarg;
                        break;
                case OPT_BRIDGE:
                        o.bridge = optarg;
                        break;
                case OPT_INTERNAL:
                        o.internal = true;
                        break;
                case OPT_NO_ISOLATE:
                        o.no_isolate = true;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_network_create);
                default:
                        return -1;
                }
        }
        if (cli_check_args("network create", argc - optind, 1, 1, err) < 0 ||
            rc_network_create(&ctx->rt, argv[optind], &o, &n, err) < 0)
                return -1;
        printf("%s\n", n->name);
        rc_network_free(n);
        return 0;
}

static int print_table(struct rc_network **v, size_t n, rc_error_t *err)
{
        enum { COLS = 5 };
        _cleanup_free_ const char **cells = calloc((n + 1) * COLS, sizeof(*cells));
        _cleanup_free_ char *strs = calloc(n + 1, 48);
        int r;

        if (cells == NULL || strs == NULL)
                return rc_error_set(err, ENOMEM, "list networks");
        cells[0] = "NAME", cells[1] = "SUBNET", cells[2] = "GATEWAY", cells[3] = "BRIDGE",
        cells[4] = "FLAGS";
        for (size_t i = 0; i < n; i++) {
                const char **row = cells + (i + 1) * COLS;
                char *s = strs + i * 48;

                rc_cidr_format(&v[i]->subnet, s, 24);
                rc_ip_format(v[i]->gateway, s + 24);
                row[0] = v[i]->name;
                row[1] = s;
                row[2] = s + 24;
                row[3] = v[i]->bridge;
                row[4] = v[i]->internal ? (v[i]->isolate ? "internal" : "internal,no-isolate")
                                        : (v[i]->isolate ? "-" : "no-isolate");
        }
        r = cli_table_print(stdout, cells, n + 1, COLS);
        return r < 0 ? rc_error_set(err, errno ? errno : EIO, "print the network list") : 0;
}

static int cmd_ls(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"format", required_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct rc_network **v = NULL;
        bool json = false;
        size_t n = 0;
        int opt, r;

        while ((opt = cli_getopt(argc, argv, ":f:h", longopts, "network ls", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_network);
                if (opt != 'f')
                        return -1;
                if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                        return rc_error_set(err, 0, "invalid format \"%s\" (table or json)", optarg);
                json = strcmp(optarg, "json") == 0;
        }
        if (cli_check_args("network ls", argc - optind, 0, 0, err) < 0 ||
            rc_network_list(&ctx->rt, &v, &n, err) < 0)
                return -1;
        if (json) {
                json_gen *g = json_gen_new(true);
                json_gen_array_open(g);
                for (size_t i = 0; i < n; i++) {
                        json_gen_object_open(g);
                        gen_network(g, v[i]);
                        json_gen_object_close(g);
                }
                json_gen_array_close(g);
                r = print_doc(g, err);
        } else {
                r = print_table(v, n, err);
        }
        rc_network_list_free(v, n);
        return r;
}

static int cmd_inspect(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        struct rc_attachment *att = NULL;
        struct rc_network *n = NULL;
        size_t n_att = 0;
        json_gen *g;
        int r;

        if (cli_check_args("network inspect", argc - 1, 1, 1, err) < 0 ||
            rc_network_get(&ctx->rt, argv[1], &n, err) < 0)
                return -1;
        if (rc_network_attachments(&ctx->rt, argv[1], &att, &n_att, err) < 0) {
                rc_network_free(n);
                return -1;
        }
        g = json_gen_new(true);
        json_gen_object_open(g);
        gen_network(g, n);
        json_gen_string(g, "containers");
        json_gen_array_open(g);
        for (size_t i = 0; i < n_att; i++)
                gen_attachment(g, &att[i]);
        json_gen_array_close(g);
        json_gen_object_close(g);
        r = print_doc(g, err);
        rc_attachment_list_free(att, n_att);
        rc_network_free(n);
        return r;
}

static int cmd_rm(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        if (cli_check_args("network rm", argc - 1, 1, -1, err) < 0)
                return -1;
        for (int i = 1; i < argc; i++) {
                if (rc_network_remove(&ctx->rt, argv[i], err) < 0)
                        return -1;
                printf("%s\n", argv[i]);
        }
        return 0;
}

static int cmd_prune(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        size_t n = 0;

        if (cli_check_args("network prune", argc - 1, 0, 0, err) < 0 ||
            rc_network_prune(&ctx->rt, &n, err) < 0)
                return -1;
        printf("released %zu attachment%s\n", n, n == 1 ? "" : "s");
        return 0;
}

int cli_cmd_network(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct {
                const char *name;
                int (*fn)(struct cli_context *, int, char **, rc_error_t *);
        } subs[] = {
                {"create", cmd_create}, {"ls", cmd_ls},     {"list", cmd_ls},     {"inspect", cmd_inspect},
                {"rm", cmd_rm},         {"remove", cmd_rm}, {"prune", cmd_prune}, {"gc", cmd_prune},
        };

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                if (argc < 2)
                        return rc_error_set(
                                err, 0, "network: missing command (see \"run-container network --help\")");
                return cli_print_usage(cli_help_network);
        }
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                if (strcmp(subs[i].name, argv[1]) == 0) {
                        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
                                return cli_print_usage(subs[i].fn == cmd_create ? cli_help_network_create
                                                                                : cli_help_network);
                        optind = 0;
                        return subs[i].fn(ctx, argc - 1, argv + 1, err);
                }
        }
        return rc_error_set(err, 0, "network: unknown command \"%s\" (see \"run-container network --help\")",
                            argv[1]);
}
