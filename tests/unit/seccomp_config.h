/* Unit-test helpers: a config.json holding only the given linux.seccomp, and the one
 * `run-container spec` writes, parsed (the test fails if either does not parse).
 * Header-only, like child.h. */
#pragma once

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"

static inline struct oci_config *parse_seccomp(const char *seccomp_json)
{
        _cleanup_free_ char *doc = NULL;
        struct oci_config *c = NULL;
        rc_error_t err = NULL;

        cr_assert_geq(
                asprintf(&doc, "{\"ociVersion\": \"1.0.0\", \"linux\": {\"seccomp\": %s}}", seccomp_json),
                0);
        cr_assert_eq(oci_config_parse(doc, strlen(doc), "config.json", &c, &err), 0, "%s",
                     err ? err->msg : "");
        return c;
}

static inline struct oci_config *parse_default_spec(bool rootless)
{
        _cleanup_free_ char *doc = NULL;
        struct oci_config *c = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(oci_default_spec(rootless, &doc, &len, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(oci_config_parse(doc, len, "config.json", &c, &err), 0, "rootless=%d: %s", rootless,
                     err ? err->msg : "");
        return c;
}
