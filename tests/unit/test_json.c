#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"
#include "specs/json.h"

static json_node *parse_ok(const char *text)
{
        json_node *n = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(json_parse(text, strlen(text), "t.json", &n, &err), 0, "parse failed: %s",
                     err ? err->msg : "?");
        cr_assert_not_null(n);
        return n;
}

/* Parse `text`, expect failure, return the message (caller frees the error). */
static rc_error_t parse_fail(const char *text, size_t len)
{
        json_node *n = NULL;
        rc_error_t err = NULL;

        cr_assert_lt(json_parse(text, len, "t.json", &n, &err), 0, "parse of %s succeeded", text);
        cr_assert_null(n);
        cr_assert_not_null(err);
        cr_assert_not_null(err->msg);
        return err;
}

Test(json, types_and_access)
{
        json_node *root = parse_ok("{\"s\":\"x\",\"n\":1,\"b\":true,\"f\":false,\"z\":null,"
                                   "\"a\":[1,2,3],\"o\":{\"k\":\"v\"}}");

        cr_assert_eq(json_type_of(root), JSON_OBJECT);
        cr_assert_eq(json_object_size(root), 7);
        cr_assert_str_eq(json_object_key(root, 0), "s");
        cr_assert_str_eq(json_get_string(json_object_value(root, 0)), "x");
        cr_assert_eq(json_type_of(json_object_get(root, "n")), JSON_NUMBER);
        cr_assert_eq(json_type_of(json_object_get(root, "b")), JSON_BOOL);
        cr_assert(json_get_bool(json_object_get(root, "b")));
        cr_assert_not(json_get_bool(json_object_get(root, "f")));
        cr_assert_eq(json_type_of(json_object_get(root, "z")), JSON_NULL);
        cr_assert_null(json_object_get(root, "missing"));
        cr_assert_eq(json_array_size(json_object_get(root, "a")), 3);
        cr_assert_null(json_array_get(json_object_get(root, "a"), 3));
        cr_assert_str_eq(json_get_string(json_object_get(json_object_get(root, "o"), "k")), "v");
        /* type mismatches */
        cr_assert_null(json_get_string(json_object_get(root, "n")));
        cr_assert_eq(json_array_size(root), 0);
        cr_assert_null(json_object_key(root, 7));
        cr_assert_str_eq(json_type_name(JSON_ARRAY), "array");
        cr_assert_str_eq(json_type_name(JSON_BOOL), "boolean");
        json_free(root);
}

Test(json, duplicate_keys_last_wins)
{
        json_node *root = parse_ok("{\"a\":1,\"a\":2}");
        uint64_t v = 0;

        cr_assert_eq(json_object_size(root), 2);
        cr_assert_eq(json_get_u64(json_object_get(root, "a"), &v), 0);
        cr_assert_eq(v, 2);
        json_free(root);
}

Test(json, u64_exact)
{
        json_node *root = parse_ok("[18446744073709551615, 0, 18446744073709551616, -1, 1.0, 1e3, 1E3]");
        uint64_t v = 0;

        cr_assert_eq(json_get_u64(json_array_get(root, 0), &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_str_eq(json_number_text(json_array_get(root, 0)), "18446744073709551615");
        cr_assert_eq(json_get_u64(json_array_get(root, 1), &v), 0);
        cr_assert_eq(v, 0);
        for (size_t i = 2; i < json_array_size(root); i++)
                cr_assert_eq(json_get_u64(json_array_get(root, i), &v), -1, "element %zu", i);
        json_free(root);
}

Test(json, i64_bounds)
{
        json_node *root = parse_ok("[9223372036854775807, -9223372036854775808, 9223372036854775808,"
                                   " -9223372036854775809, -0, -1.5, 2e1]");
        int64_t v = 0;

        cr_assert_eq(json_get_i64(json_array_get(root, 0), &v), 0);
        cr_assert_eq(v, INT64_MAX);
        cr_assert_eq(json_get_i64(json_array_get(root, 1), &v), 0);
        cr_assert_eq(v, INT64_MIN);
        cr_assert_eq(json_get_i64(json_array_get(root, 2), &v), -1);
        cr_assert_eq(json_get_i64(json_array_get(root, 3), &v), -1);
        cr_assert_eq(json_get_i64(json_array_get(root, 4), &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(json_get_i64(json_array_get(root, 5), &v), -1);
        cr_assert_eq(json_get_i64(json_array_get(root, 6), &v), -1);
        /* not a number at all */
        cr_assert_eq(json_get_i64(NULL, &v), -1);
        json_free(root);
}

Test(json, syntax_errors)
{
        _cleanup_error_ rc_error_t e1 = parse_fail("{\"a\":}", 6);
        _cleanup_error_ rc_error_t e2 = parse_fail("{} x", 4);
        _cleanup_error_ rc_error_t e3 = parse_fail("", 0);
        _cleanup_error_ rc_error_t e4 = parse_fail("[1,2", 4);

        cr_assert(strncmp(e1->msg, "t.json: invalid JSON: ", 22) == 0, "%s", e1->msg);
        cr_assert_null(strchr(e1->msg, '\n'), "multi-line message: %s", e1->msg);
        cr_assert(strstr(e2->msg, "trailing garbage") != NULL, "%s", e2->msg);
        cr_assert(strncmp(e3->msg, "t.json: invalid JSON: ", 22) == 0, "%s", e3->msg);
        cr_assert(strstr(e4->msg, "premature EOF") != NULL, "%s", e4->msg);
}

Test(json, refuses_comments_and_nul)
{
        _cleanup_error_ rc_error_t e1 = parse_fail("{/* c */}", 9);
        _cleanup_error_ rc_error_t e2 = parse_fail("{}\0", 3);
        json_node *ok = parse_ok("{\"url\":\"http://x/*y*/\"}");

        cr_assert(strstr(e1->msg, "comments") != NULL, "%s", e1->msg);
        cr_assert(strstr(e2->msg, "NUL") != NULL, "%s", e2->msg);
        json_free(ok);
}

static char *nested(unsigned depth)
{
        char *s = malloc(2 * depth + 1);

        cr_assert_not_null(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        return s;
}

Test(json, depth_limit)
{
        _cleanup_free_ char *ok_text = nested(JSON_MAX_DEPTH);
        _cleanup_free_ char *bad_text = nested(JSON_MAX_DEPTH + 1);
        json_node *ok = parse_ok(ok_text);
        _cleanup_error_ rc_error_t e = parse_fail(bad_text, strlen(bad_text));

        cr_assert_str_eq(e->msg, "t.json: JSON nesting deeper than 64 levels");
        json_free(ok);
}

Test(json, depth_scan_skips_strings)
{
        json_node *n =
                parse_ok("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\","
                         "\"\\\"[\"]");

        cr_assert_str_eq(json_get_string(json_array_get(n, 1)), "\"[");
        json_free(n);
}

Test(json, size_limit)
{
        size_t len = JSON_MAX_INPUT + 1;
        _cleanup_free_ char *big = malloc(len);
        rc_error_t e;

        cr_assert_not_null(big);
        memset(big, ' ', len);
        big[0] = '1';
        e = parse_fail(big, len);
        cr_assert(strstr(e->msg, "larger than") != NULL, "%s", e->msg);
        rc_error_free(&e);
}

Test(json, generator_round_trip)
{
        json_gen *g = json_gen_new(false);
        _cleanup_free_ char *out = NULL;
        rc_error_t err = NULL;
        size_t len = 0;
        uint64_t u = 0;
        int64_t i = 0;
        json_node *root;

        json_gen_object_open(g);
        json_gen_kv_string(g, "s", "quote \" back \\ nl \n tab \t é");
        json_gen_kv_uint(g, "u", UINT64_MAX);
        json_gen_kv_int(g, "i", INT64_MIN);
        json_gen_kv_bool(g, "b", true);
        json_gen_kv_string(g, "n", NULL);
        json_gen_string(g, "a");
        json_gen_array_open(g);
        json_gen_array_close(g);
        json_gen_object_close(g);
        cr_assert_eq(json_gen_finish(g, &out, &len, &err), 0);
        json_gen_free(g);
        cr_assert_eq(strlen(out), len);

        root = parse_ok(out);
        cr_assert_str_eq(json_get_string(json_object_get(root, "s")), "quote \" back \\ nl \n tab \t é");
        cr_assert_eq(json_get_u64(json_object_get(root, "u"), &u), 0);
        cr_assert_eq(u, UINT64_MAX);
        cr_assert_eq(json_get_i64(json_object_get(root, "i"), &i), 0);
        cr_assert_eq(i, INT64_MIN);
        cr_assert(json_get_bool(json_object_get(root, "b")));
        cr_assert_eq(json_type_of(json_object_get(root, "n")), JSON_NULL);
        cr_assert_eq(json_array_size(json_object_get(root, "a")), 0);
        json_free(root);
}

Test(json, gen_node_copies_a_document_exactly)
{
        static const char doc[] =
                "{\"f\":0.5,\"e\":-1.25e-3,\"u\":18446744073709551615,\"i\":-9223372036854775808,"
                "\"s\":\"x\\\"y\",\"n\":null,\"b\":[true,false,{},[]],\"d\":1,\"d\":2}";
        json_node *root = parse_ok(doc);
        json_gen *g = json_gen_new(false);
        _cleanup_free_ char *out = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        json_gen_node(g, root);
        cr_assert_eq(json_gen_finish(g, &out, &len, &err), 0, "%s", err ? err->msg : "");
        json_gen_free(g);
        cr_assert_str_eq(out, doc, "numbers keep their text (fractions too), keys their order");
        json_free(root);
}

Test(json, generator_pretty)
{
        json_gen *g = json_gen_new(true);
        _cleanup_free_ char *out = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        json_gen_object_open(g);
        json_gen_kv_string(g, "a", "x,y:{z}");
        json_gen_string(g, "e");
        json_gen_array_open(g);
        json_gen_array_close(g);
        json_gen_string(g, "l");
        json_gen_array_open(g);
        json_gen_int(g, 1);
        json_gen_int(g, 2);
        json_gen_array_close(g);
        json_gen_object_close(g);
        cr_assert_eq(json_gen_finish(g, &out, &len, &err), 0);
        json_gen_free(g);
        cr_assert_str_eq(out, "{\n\t\"a\": \"x,y:{z}\",\n\t\"e\": [],\n\t\"l\": [\n\t\t1,\n\t\t2\n\t]\n}\n");
        cr_assert_eq(len, strlen(out));
}

Test(json, generator_errors)
{
        json_gen *g = json_gen_new(false);
        char *out = NULL;
        rc_error_t err = NULL;

        /* a number as an object key */
        json_gen_object_open(g);
        json_gen_int(g, 1);
        json_gen_object_close(g);
        cr_assert_lt(json_gen_finish(g, &out, NULL, &err), 0);
        cr_assert_null(out);
        cr_assert(strstr(err->msg, "keys must be strings") != NULL, "%s", err->msg);
        rc_error_free(&err);
        json_gen_free(g);

        g = json_gen_new(false);
        json_gen_array_open(g);
        cr_assert_lt(json_gen_finish(g, &out, NULL, &err), 0);
        cr_assert_str_eq(err->msg, "generate JSON: incomplete document");
        rc_error_free(&err);
        json_gen_free(g);

        g = json_gen_new(false);
        json_gen_string(g, "\xff\xfe");
        cr_assert_lt(json_gen_finish(g, &out, NULL, &err), 0);
        rc_error_free(&err);
        json_gen_free(g);

        /* NULL generator (allocation failure) is safe */
        json_gen_object_open(NULL);
        cr_assert_lt(json_gen_finish(NULL, &out, NULL, &err), 0);
        rc_error_free(&err);
}

static char *gen_object_with_array(bool pretty, const char *const *v, bool one_by_one)
{
        json_gen *g = json_gen_new(pretty);
        rc_error_t err = NULL;
        char *out = NULL;
        size_t len = 0;

        json_gen_object_open(g);
        json_gen_string(g, "a");
        if (one_by_one) {
                json_gen_array_open(g);
                for (size_t i = 0; v[i] != NULL; i++)
                        json_gen_string(g, v[i]);
                json_gen_array_close(g);
        } else {
                json_gen_string_array(g, v);
        }
        json_gen_kv_uint(g, "n", 1);
        json_gen_object_close(g);
        cr_assert_eq(json_gen_finish(g, &out, &len, &err), 0, "%s", err ? err->msg : "");
        json_gen_free(g);
        return out;
}

Test(json, string_array_writes_what_string_by_string_would)
{
        static const char *const plain[] = {"read", "PATH=/usr/bin:/bin", "x y", NULL};
        static const char *const escaped[] = {"ok",          "quote\"d", "back\\slash", "tab\t",
                                              "caf\xc3\xa9", "",         NULL};
        static const char *const none[] = {NULL};
        const char *const *cases[] = {plain, escaped, none};

        for (size_t i = 0; i < 3; i++) {
                for (int pretty = 0; pretty <= 1; pretty++) {
                        _cleanup_free_ char *fast = gen_object_with_array(pretty, cases[i], false);
                        _cleanup_free_ char *slow = gen_object_with_array(pretty, cases[i], true);
                        cr_assert_str_eq(fast, slow, "case %zu pretty %d", i, pretty);
                }
        }
        {
                _cleanup_free_ char *out = gen_object_with_array(false, plain, false);
                cr_assert_str_eq(out, "{\"a\":[\"read\",\"PATH=/usr/bin:/bin\",\"x y\"],\"n\":1}");
        }
}

/* \u0000 would cut the string yajl_tree hands back: refused, naming where it is. */
static char *nul_error(const char *doc)
{
        _cleanup_error_ rc_error_t err = NULL;
        json_node *root = NULL;

        if (json_parse(doc, strlen(doc), "f.json", &root, &err) == 0) {
                json_free(root);
                return NULL;
        }
        return strdup(err->msg);
}

Test(json, nul_in_strings_is_refused_with_its_path)
{
        _cleanup_free_ char *a = nul_error("{\"a\": [1, {\"b\": [\"x\", \"y\\u0000z\"]}]}");
        _cleanup_free_ char *b = nul_error("[\"\\u0000\"]");
        _cleanup_free_ char *c = nul_error("{\"k\\u0000\": 1}");
        _cleanup_free_ char *d = nul_error("\"\\u0000\"");
        _cleanup_free_ char *ok = nul_error("{\"a\": \"\\\\u0000 is text here\", \"b\": \"\\u0001\"}");

        cr_assert_str_eq(a, "f.json: .a[1].b[1]: string contains a NUL character (\\u0000)");
        cr_assert_str_eq(b, "f.json: [0]: string contains a NUL character (\\u0000)");
        cr_assert_str_eq(c, "f.json: an object key contains a NUL character (\\u0000)");
        cr_assert_str_eq(d, "f.json: string contains a NUL character (\\u0000)");
        cr_assert_null(ok, "%s", ok);
}

Test(json, nul_in_process_json)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_process *p = NULL;
        const char *doc = "{\"args\": [\"sh\", \"-c\", \"tr\\u0000ue\"], \"cwd\": \"/\"}";

        cr_assert_lt(oci_process_parse(doc, strlen(doc), "process.json", &p, &err), 0);
        cr_assert_str_eq(err->msg, "process.json: .args[2]: string contains a NUL character (\\u0000)");
}
