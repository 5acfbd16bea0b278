/* run-container state ID: the container's state as runc prints it, pretty JSON. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime/base/cleanup.h"

/* runc's containerState, shared with "list --format json". */
void cli_state_gen(json_gen *g, const struct oci_state *s)
{
        _cleanup_free_ char *owner = cli_owner_name(s->owner);
        bool stopped = s->status == OCI_STATUS_STOPPED;

        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", s->oci_version ? s->oci_version : OCI_VERSION);
        json_gen_kv_string(g, "id", s->id);
        json_gen_kv_int(g, "pid", stopped ? 0 : s->pid);
        json_gen_kv_string(g, "status", oci_status_name(s->status));
        json_gen_kv_string(g, "bundle", s->bundle ? s->bundle : "");
        json_gen_kv_string(g, "rootfs", s->rootfs ? s->rootfs : "");
        /* Go's zero time when unknown, so Go readers still parse the document */
        json_gen_kv_string(g, "created", s->created ? s->created : "0001-01-01T00:00:00Z");
        if (s->n_annotations > 0) {
                json_gen_string(g, "annotations");
                json_gen_object_open(g);
                for (size_t i = 0; i < s->n_annotations; i++)
                        json_gen_kv_string(g, s->annotations[i].key, s->annotations[i].value);
                json_gen_object_close(g);
        }
        json_gen_kv_string(g, "owner", owner ? owner : "");
        json_gen_object_close(g);
}

static void state_freep(struct oci_state **s)
{
        if (*s != NULL)
                oci_state_free(*s);
}

static int print_state(const struct oci_state *s, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        json_gen *g = json_gen_new(true);
        size_t len = 0;
        int ret;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "format the state of `%s`", s->id);
        cli_state_gen(g, s);
        ret = json_gen_finish(g, &doc, &len, err);
        json_gen_free(g);
        if (ret < 0)
                return rc_error_wrap(err, "format the state of `%s`", s->id);
        if (fwrite(doc, 1, len, stdout) != len)
                return rc_error_set(err, errno, "write to stdout");
        if (len == 0 || doc[len - 1] != '\n')
                putchar('\n');
        return 0;
}

int cli_cmd_state(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(state_freep))) struct oci_state *s = NULL;
        const char *id;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "state", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_state);
                return -1;
        }
        if (cli_check_args("state", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (rc_container_state(&ctx->rt, id, &s, err) < 0)
                return -1;
        return print_state(s, err);
}
