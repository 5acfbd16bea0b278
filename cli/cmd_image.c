/* run-container image pull|ls|prune: the layer cache `sandbox --image` unpacks into (see
 * runtime/image/image.h). */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"
#include "runtime/image/image.h"

enum { OPT_CACHE = 256 };

struct layer_row {
        char *digest;
        uint64_t bytes;
        bool in_use;
};

static void human_size(uint64_t bytes, char *buf, size_t size)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double)bytes;
        size_t u = 0;

        while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0]))
                v /= 1000, u++;
        snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

static int print_table(const struct layer_row *rows, size_t n, rc_error_t *err)
{
        enum { COLS = 3, SIZE_LEN = 24 };
        _cleanup_free_ const char **cells = calloc((n + 1) * COLS, sizeof(*cells));
        _cleanup_free_ char *sizes = calloc(n + 1, SIZE_LEN);

        if (cells == NULL || sizes == NULL)
                return rc_error_set(err, ENOMEM, "list layers");
        cells[0] = "DIGEST", cells[1] = "SIZE", cells[2] = "IN USE";
        for (size_t i = 0; i < n; i++) {
                const char **row = cells + (i + 1) * COLS;

                human_size(rows[i].bytes, sizes + i * SIZE_LEN, SIZE_LEN);
                row[0] = rows[i].digest;
                row[1] = sizes + i * SIZE_LEN;
                row[2] = rows[i].in_use ? "yes" : "no";
        }
        if (cli_table_print(stdout, cells, n + 1, COLS) < 0)
                return rc_error_set(err, errno ? errno : EIO, "print the layer list");
        return 0;
}

static int print_json(const struct layer_row *rows, size_t n, rc_error_t *err)
{
        json_gen *g = json_gen_new(true);
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;
        int r;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "list layers");
        json_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
                json_gen_object_open(g);
                json_gen_kv_string(g, "digest", rows[i].digest);
                json_gen_kv_uint(g, "size", rows[i].bytes);
                json_gen_kv_bool(g, "inUse", rows[i].in_use);
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
        r = json_gen_finish(g, &doc, &len, err);
        json_gen_free(g);
        if (r < 0)
                return -1;
        return rc_write_all(STDOUT_FILENO, doc, len) < 0 ? rc_error_set(err, errno, "write to stdout") : 0;
}

static int list_rows(const char *cache, bool json, rc_error_t *err)
{
        _cleanup_strv_ char **digests = NULL;
        _cleanup_free_ struct layer_row *rows = NULL;
        size_t n = 0;

        if (rc_image_cache_list(cache, &digests, &n, err) < 0)
                return -1;
        rows = calloc(n + 1, sizeof(*rows));
        if (rows == NULL)
                return rc_error_set(err, ENOMEM, "list layers");
        for (size_t i = 0; i < n; i++) {
                rows[i].digest = digests[i];
                if (rc_image_cache_layer_info(cache, digests[i], &rows[i].bytes, &rows[i].in_use, err) < 0)
                        return -1;
        }
        return json ? print_json(rows, n, err) : print_table(rows, n, err);
}

/* The status of a command a stop signal ended: 128+N, as for a shell's child. */
static int stopped(struct cli_context *ctx, int sig, const char *after, rc_error_t *err)
{
        ctx->error_status = 128 + sig;
        return rc_error_set_status(err, ECANCELED, "image pull: stopped by SIG%s%s",
                                   sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", after);
}

static int pull(struct cli_context *ctx, const char *cache, const struct cli_pull *p, const char *ref,
                rc_error_t *err)
{
        _cleanup_free_ char *named = NULL;
        struct rc_image *img = NULL;
        int sig;

        /* a pull is from a registry: a bare REF is never a local path here */
        if (strncmp(ref, "docker://", 9) != 0 && strncmp(ref, "registry:", 9) != 0) {
                if (asprintf(&named, "registry:%s", ref) < 0)
                        return rc_error_set(err, ENOMEM, "image pull");
                ref = named;
        }
        /* as for `sandbox`: a stop signal (^C) ends the transfer or the unpack at its next
         * check, what was not finished is undone and a partial download stays for the next
         * pull (runtime/base/stopsig.h) */
        if (rc_stop_signals_block(NULL, err) < 0)
                return -1;
        if (rc_image_open(cache, ref, &p->opts, &ctx->rt.log, &img, err) < 0) {
                sig = rc_stop_signal_take();
                if (sig == 0)
                        return -1;
                rc_error_free(err);
                return stopped(ctx, sig, "", err);
        }
        printf("%s\n", img->manifest_digest);
        rc_image_free(img);
        if (fflush(stdout) != 0)
                return rc_error_set(err, errno, "image pull: write the digest");
        /* one that came after the last check, up to the digest's write (which may wait on a
         * full pipe): the status says so all the same, as for a command the signal had ended
         * there, but the image, complete, stays in the cache (skopeo and podman, ended by a
         * late ^C, leave what they stored) */
        sig = rc_stop_signal_take();
        return sig == 0 ? 0
                        : stopped(ctx, sig, " after the pull had completed (the image stays in the cache)",
                                  err);
}

/* ls, prune and pull share their options: --cache; --format for ls; the pull options. */
static int run_sub(struct cli_context *ctx, const char *sub, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"cache", required_argument, NULL, OPT_CACHE},
                {"image-cache", required_argument, NULL, OPT_CACHE}, /* sandbox's spelling */
                {"format", required_argument, NULL, 'f'},
                CLI_PULL_LONGOPTS,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct cli_pull p;
        const char *cache = rc_image_cache_default();
        bool ls = strcmp(sub, "ls") == 0, json = false;
        char cmd[32];
        size_t removed = 0;
        int opt;

        snprintf(cmd, sizeof(cmd), "image %s", sub);
        cli_pull_init(&p);
        while ((opt = cli_getopt(argc, argv, ":f:h", longopts, cmd, err)) != -1) {
                if (opt >= CLI_OPT_CREDS && strcmp(sub, "pull") != 0)
                        return rc_error_set(err, 0, "%s: unknown option %s", cmd, argv[optind - 1]);
                if (opt >= CLI_OPT_CREDS) {
                        if (cli_pull_option(&p, opt, optarg, err) < 0)
                                return -1;
                        continue;
                }
                if (opt == 'h')
                        return cli_print_usage(cli_help_image);
                if (opt == OPT_CACHE) {
                        cache = optarg;
                } else if (opt == 'f' && ls) {
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                                return rc_error_set(err, 0, "invalid format \"%s\" (table or json)", optarg);
                        json = strcmp(optarg, "json") == 0;
                } else {
                        return opt == 'f' ? rc_error_set(err, 0, "%s: unknown option --format", cmd) : -1;
                }
        }
        if (strcmp(sub, "pull") == 0)
                return cli_check_args(cmd, argc - optind, 1, 1, err) < 0
                               ? -1
                               : pull(ctx, cache, &p, argv[optind], err);
        if (cli_check_args(cmd, argc - optind, 0, 0, err) < 0)
                return -1;
        if (ls)
                return list_rows(cache, json, err);
        if (rc_image_cache_prune(cache, &ctx->rt.log, &removed, err) < 0)
                return -1;
        printf("removed %zu layer%s\n", removed, removed == 1 ? "" : "s");
        return 0;
}

int cli_cmd_image(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const char *const subs[][2] = {
                {"ls", "ls"}, {"list", "ls"}, {"prune", "prune"}, {"pull", "pull"}};

        if (argc < 2)
                return rc_error_set(err, 0, "image: missing command (see \"run-container image --help\")");
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
                return cli_print_usage(cli_help_image);
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                if (strcmp(subs[i][0], argv[1]) == 0) {
                        optind = 0;
                        return run_sub(ctx, subs[i][1], argc - 1, argv + 1, err);
                }
        }
        return rc_error_set(err, 0, "image: unknown command \"%s\" (see \"run-container image --help\")",
                            argv[1]);
}
