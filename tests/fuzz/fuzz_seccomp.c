/* libFuzzer target: the linux.seccomp section. The input is the section's JSON text; it is
 * wrapped into a minimal config, parsed and validated, and what parses is compiled to BPF
 * with libseccomp by runtime/isolation/seccomp.c, as `create` does in the parent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/isolation/seccomp.h"
#include "specs/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char head[] = "{\"ociVersion\": \"1.2.0\", \"linux\": {\"seccomp\": ";
static const char tail[] = "}}";

static void discard(void *data, enum rc_log_level level, const char *msg)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct rc_logger log = {.fn = discard, .max_level = RC_LOG_DEBUG};
        struct rc_seccomp_prog prog = RC_SECCOMP_PROG_INIT;
        struct oci_config *c = NULL;
        rc_error_t err = NULL;
        size_t len = sizeof(head) - 1 + size + sizeof(tail) - 1;
        char *doc = malloc(len);

        if (doc == NULL)
                return 0;
        memcpy(doc, head, sizeof(head) - 1);
        memcpy(doc + sizeof(head) - 1, data, size);
        memcpy(doc + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
        if (oci_config_parse(doc, len, "config.json", &c, &err) < 0) {
                if (err == NULL || err->msg == NULL)
                        abort();
                rc_error_free(&err);
                free(doc);
                return 0;
        }
        free(doc);
        if (c->linux_.seccomp.present) {
                if (rc_seccomp_compile(&c->linux_.seccomp, &log, &prog, &err) < 0) {
                        if (err == NULL || err->msg == NULL)
                                abort();
                        rc_error_free(&err);
                }
                rc_seccomp_prog_clear(&prog);
        }
        oci_config_free(c);
        return 0;
}
