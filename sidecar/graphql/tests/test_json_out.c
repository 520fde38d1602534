/*
 * test_json_out.c — the response text the executor writes (json_out.c) is
 * exactly what json-c prints for the same values: strings (every byte),
 * numbers, booleans, nested JSON, '/' with and without NOSLASHESCAPE; and
 * through the HTTP handler (the text path) a response is byte for byte what
 * the json-c tree of the same execution prints.
 */
#include "fixtures.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* What gql_out_value wrote for v, against json-c's print of v. */
static void expect_value_as_json_c(json_object *v) {
    gql_out_t o = {0};
    gql_out_value(&o, v);
    const char *want = json_object_to_json_string_ext(v, FLAGS);
    cr_assert(!o.failed);
    cr_assert_str_eq(o.b.buf ? o.b.buf : "", want);
    gql_out_cleanup(&o);
}

Test(json_out, every_string_escaped_as_json_c) {
    char s[64];
    for (int c = 0; c < 256; c++) { /* every byte, alone and between others */
        s[0] = 'a';
        s[1] = (char)c;
        s[2] = 'b';
        json_object *v = json_object_new_string_len(s + 1, 1);
        expect_value_as_json_c(v);
        json_object_put(v);
        v = json_object_new_string_len(s, 3);
        expect_value_as_json_c(v);
        json_object_put(v);
    }
    unsigned seed = 7;
    for (int i = 0; i < 20000; i++) { /* random runs, weighted to what is escaped */
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof(s));
        for (size_t k = 0; k < n; k++) {
            int r = rand_r(&seed) % 4;
            s[k] = r == 0   ? (char)(rand_r(&seed) % 0x20)
                   : r == 1 ? "\"\\/"[rand_r(&seed) % 3]
                            : (char)(rand_r(&seed) % 256);
        }
        json_object *v = json_object_new_string_len(s, (int)n);
        expect_value_as_json_c(v);
        json_object_put(v);
    }
}

Test(json_out, leaves_print_as_json_c) {
    const char *texts[] = {"0",
                           "-1",
                           "2147483647",
                           "-2147483648",
                           "9223372036854775807",
                           "-9223372036854775808",
                           "true",
                           "false",
                           "null",
                           "1.5",
                           "0.1",
                           "-0.0",
                           "1e300",
                           "2.5e-8",
                           "{\"a\":[1,2.25,{\"b\":\"x/y\"}],\"c\":null}",
                           "[]",
                           "{}"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_object *v = json_tokener_parse(texts[i]);
        if (v == NULL) { /* null */
            gql_out_t o = {0};
            gql_out_value(&o, NULL);
            cr_assert_str_eq(o.b.buf, "null");
            gql_out_cleanup(&o);
            continue;
        }
        expect_value_as_json_c(v);
        json_object_put(v);
    }
    json_object *big = json_object_new_uint64(UINT64_MAX);
    expect_value_as_json_c(big);
    json_object_put(big);
    unsigned seed = 11;
    for (int i = 0; i < 20000; i++) { /* doubles of every exponent, NaN and the infinities among them */
        uint64_t bits = 0;
        for (int k = 0; k < 4; k++) bits = bits << 16 | (uint64_t)(rand_r(&seed) & 0xffff);
        double d;
        memcpy(&d, &bits, sizeof(d));
        json_object *v = json_object_new_double(i % 2 ? d : (double)(int64_t)(bits >> 20) / 8);
        expect_value_as_json_c(v);
        json_object_put(v);
    }
    double ds[] = {0.1, 1.0 / 3, DBL_MAX, DBL_MIN, -2.0, 123456789.125, 1e21, 1e22, -0.0};
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        json_object *v = json_object_new_double(ds[i]);
        expect_value_as_json_c(v);
        json_object_put(v);
        v = gql_json_double(ds[i]); /* a double with its text set */
        expect_value_as_json_c(v);
        json_object_put(v);
    }
}

Test(json_out, finished_text_prints_as_the_tree_would) {
    const char *text = "{\"url\":\"http://x/y\",\"n\":[1,\"a\\\\/b\"]}";
    json_object *tree = json_tokener_parse(text);
    cr_assert_not_null(tree);
    gql_out_t o = {0};
    gql_out_raw(&o, text, strlen(text));
    json_object *v = gql_out_finish(&o);
    cr_assert_not_null(v);
    json_object *r1 = json_object_new_object(), *r2 = json_object_new_object();
    json_object_object_add(r1, "data", v);
    json_object_object_add(r2, "data", tree);
    int flags[] = {FLAGS, JSON_C_TO_STRING_PLAIN};
    for (int i = 0; i < 2; i++)
        cr_assert_str_eq(json_object_to_json_string_ext(r1, flags[i]),
                         json_object_to_json_string_ext(r2, flags[i]), "flags %d", flags[i]);
    json_object_put(r1);
    json_object_put(r2);
    gql_out_cleanup(&o);
}

Test(json_out, truncate_takes_back_what_came_after_the_mark) {
    gql_out_t o = {0};
    gql_out_raw(&o, "{\"a\":", 5);
    size_t mark = o.b.len;
    gql_out_string(&o, "partial", 7);
    gql_out_truncate(&o, mark);
    gql_out_raw(&o, "null}", 5);
    cr_assert_str_eq(o.b.buf, "{\"a\":null}");
    gql_out_cleanup(&o);
}

static const char SCHEMA_QUERY[] =
    "{ __schema { queryType { name } types { name kind fields { name type { kind "
    "ofType { name } } } } } }";

/* Through the HTTP handler, which executes into text, against the public
 * execute, whose `data` is a json-c tree: the same bytes, for successes,
 * errors and null propagation. */
Test(json_out, http_responses_equal_the_trees_print) {
    byron_graphql_schema_t *s = fx_schema();
    cr_assert_not_null(s);
    const char *queries[] = {
        "{ hello }",
        "{ a: hello(name: \\\"x\\\\\\\"y/z\\\\n\\\") b: hello __typename }",
        "{ dogs { id name color friends { id name } } }",
        "{ dog(id: 3) { name color } }",
        "{ dog(id: 3) { name friends { id name } } }",
        "{ hello dogs { mustName } }",
        "{ hello boom }",
        "{ hello boomNN }",
        "{ hello nullNN }",
        "{ badInt }",
        "{ echo(f: 2.5, s: \\\"a/b\\\\u0001\\\") }",
        "{ unknownField }",
        SCHEMA_QUERY,
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char body[1024];
        snprintf(body, sizeof(body), "{\"query\":\"%s\"}", queries[i]);
        byron_graphql_http_response_t r;
        byron_graphql_http_options_t ho = {.resolve = fx_resolve};
        byron_graphql_http_handle(s, &ho, "POST", "application/json", "application/json", NULL, body,
                                  strlen(body), &r);
        json_object *req = json_tokener_parse(body), *q = NULL;
        cr_assert_not_null(req, "%s", body);
        json_object_object_get_ex(req, "query", &q);
        json_object *tree = fx_run(s, json_object_get_string(q), NULL);
        cr_assert_str_eq(r.body, json_object_to_json_string_ext(tree, FLAGS), "query %s", queries[i]);
        json_object_put(tree);
        json_object_put(req);
        byron_graphql_http_response_cleanup(&r);
    }
    byron_graphql_schema_free(s);
}
