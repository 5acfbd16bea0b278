/* libFuzzer target: mount options as in a mount's "options" array. The input is split at
 * NUL and ',' into options; each goes to oci_mount_option_apply, then the same list is
 * parsed as a whole config mount entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/error.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* {"ociVersion": "1.2.0", "mounts": [{"destination": "/m", "type": "tmpfs", "options": [...]}]} */
static void parse_as_config(char **opts, size_t n)
{
        json_gen *g = json_gen_new(false);
        struct oci_config *c = NULL;
        rc_error_t err = NULL;
        char *doc = NULL;
        size_t len = 0;

        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", "1.2.0");
        json_gen_string(g, "mounts");
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_string(g, "destination", "/m");
        json_gen_kv_string(g, "type", "tmpfs");
        json_gen_string(g, "options");
        json_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
                json_gen_string(g, opts[i]);
        json_gen_array_close(g);
        json_gen_object_close(g);
        json_gen_array_close(g);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, &err) < 0) {
                rc_error_free(&err); /* e.g. an option that is not UTF-8 */
                json_gen_free(g);
                return;
        }
        json_gen_free(g);
        if (oci_config_parse(doc, len, "config.json", &c, &err) == 0)
                oci_config_free(c);
        else
                rc_error_free(&err);
        free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), *opts[64];
        struct oci_mount m = {0};
        size_t n = 0;

        if (text == NULL)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        for (char *p = text; p < text + size && n < 64;) {
                size_t len = strcspn(p, ",");
                p[len] = '\0';
                opts[n++] = p;
                p += len + 1;
        }
        for (size_t i = 0; i < n; i++) {
                int r = oci_mount_option_apply(opts[i], &m);
                if (r != 0 && r != 1)
                        abort();
        }
        parse_as_config(opts, n);
        free(text);
        return 0;
}
