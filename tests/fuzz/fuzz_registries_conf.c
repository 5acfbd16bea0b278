/* libFuzzer target: registries.conf text (runtime/image/registries_conf.c). A file either
 * fails with a message naming it, or merges into the configuration; a second file over
 * that one, then a short name resolved and a name's pull sources ([[registry]]), never
 * crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/error.h"
#include "runtime/base/fsutil.h"
#include "runtime/image/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rc_registries_conf c = {0};
        rc_error_t err = NULL;
        char **v = NULL;
        size_t n = 0;

        for (int round = 0; round < 2; round++) {
                if (rc_registries_conf_parse((const char *)data, size, "f.conf", &c, &err) < 0) {
                        if (err == NULL || err->msg == NULL || strncmp(err->msg, "f.conf:", 7) != 0)
                                abort();
                        rc_error_free(&err);
                        break;
                }
        }
        if (rc_short_name_resolve(&c, "busybox:1", &v, &n, &err) == 0)
                rc_strv_free(v);
        else
                rc_error_free(&err);
        {
                struct rc_pull_source *src = NULL;

                if (rc_registries_pull_sources(&c, "a.io/b/c:1", &src, &n, &err) == 0)
                        rc_pull_sources_free(src, n);
                else
                        rc_error_free(&err);
        }
        rc_registries_conf_clear(&c);
        return 0;
}
