/* libFuzzer target: the state document (state.json, `state` output). A document that
 * parses must survive a round trip: written back (with the run-container extensions) it
 * parses again, and writing that gives the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/error.h"
#include "specs/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *to_json(const struct oci_state *s, size_t *len)
{
        rc_error_t err = NULL;
        char *out = NULL;

        if (oci_state_to_json(s, OCI_STATE_EXTENDED, &out, len, &err) < 0)
                abort(); /* whatever parses can be written */
        return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_state *s = NULL, *again = NULL;
        rc_error_t err = NULL;
        char *first, *second;
        size_t len1, len2;

        if (oci_state_parse((const char *)data, size, "state.json", &s, &err) < 0) {
                if (s != NULL || err == NULL || err->msg == NULL)
                        abort();
                rc_error_free(&err);
                return 0;
        }
        first = to_json(s, &len1);
        if (oci_state_parse(first, len1, "state.json", &again, &err) < 0)
                abort(); /* what we write, we read */
        second = to_json(again, &len2);
        if (len1 != len2 || memcmp(first, second, len1) != 0)
                abort();
        free(first);
        free(second);
        oci_state_free(s);
        oci_state_free(again);
        return 0;
}
