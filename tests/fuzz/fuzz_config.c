/* libFuzzer target: config.json through the parser and the validator (oci_config_parse
 * runs both). Every input must parse or fail with one error that names the origin;
 * nothing may crash, leak or trip a sanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/error.h"
#include "specs/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_config *c = NULL;
        rc_error_t err = NULL;

        if (oci_config_parse((const char *)data, size, "config.json", &c, &err) == 0) {
                if (c == NULL || err != NULL)
                        abort();
                oci_config_free(c);
                return 0;
        }
        if (c != NULL || err == NULL || err->msg == NULL || strncmp(err->msg, "config.json: ", 13) != 0)
                abort();
        rc_error_free(&err);
        return 0;
}
