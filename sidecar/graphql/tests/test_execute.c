/*
 * test_execute.c — the executor: variables and argument coercion,
 * fragments, @skip/@include, aliases, __typename, null propagation, errors
 * with path/locations/extensions.code, limits and the deadline.
 */
#include "fixtures.h"

#include <criterion/criterion.h>
#include <string.h>

static byron_graphql_schema_t *S;

static void setup(void) {
    S = fx_schema();
    cr_assert_not_null(S);
}

static void teardown(void) { byron_graphql_schema_free(S); }

TestSuite(execute, .init = setup, .fini = teardown);

static void expect_data(const char *q, const char *vars, const char *want) {
    json_object *r = fx_run(S, q, vars);
    cr_assert_str_eq(fx_data(r), want, "query %s\nresponse %s", q, json_object_to_json_string(r));
    json_object_put(r);
}

static json_object *first_error(json_object *r) {
    json_object *errs = NULL;
    cr_assert(json_object_object_get_ex(r, "errors", &errs), "no errors in %s",
              json_object_to_json_string(r));
    return json_object_array_get_idx(errs, 0);
}

static const char *jget(json_object *o, const char *k) {
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

Test(execute, basic_and_aliases) {
    expect_data("{ hello }", NULL, "{\"hello\":\"hello world\"}");
    expect_data("{ a: hello(name: \"x\") b: hello __typename }", NULL,
                "{\"a\":\"hello x\",\"b\":\"hello world\",\"__typename\":\"Query\"}");
    expect_data("{ dog(id: \"1\") { name owner { name } friends { id name } __typename } }", NULL,
                "{\"dog\":{\"name\":\"Rex\",\"owner\":{\"name\":\"Ann\"},\"friends\":[{\"id\":\"2\","
                "\"name\":\"Fido\"}],\"__typename\":\"Dog\"}}");
    expect_data("{ dog(id: 7) { name } }", NULL, "{\"dog\":null}");
    expect_data("mutation { addDog(name: \"Max\") { id name } }", NULL,
                "{\"addDog\":{\"id\":\"42\",\"name\":\"Max\"}}");
}

Test(execute, fragments_and_directives) {
    expect_data("{ dog(id: 1) { ...F ... on Dog { id } ... { color } } } "
                "fragment F on Dog { name }",
                NULL, "{\"dog\":{\"name\":\"Rex\",\"id\":\"1\",\"color\":\"RED\"}}");
    expect_data("query Q($yes: Boolean!, $no: Boolean = false) { dog(id: 1) { "
                "name @include(if: $yes) id @include(if: $no) color @skip(if: $yes) "
                "...F @skip(if: $no) } } fragment F on Dog { nickname }",
                "{\"yes\": true}", "{\"dog\":{\"name\":\"Rex\",\"nickname\":null}}");
    expect_data("{ hello @skip(if: true) @include(if: true) dogs(first: 1) @skip(if: false) "
                "{ id } }",
                NULL, "{\"dogs\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}]}");
    /* Same response key from several places merges sub-selections. */
    expect_data("{ dog(id: 1) { owner { name } } dog(id: 1) { id owner { __typename } } }", NULL,
                "{\"dog\":{\"owner\":{\"name\":\"Ann\",\"__typename\":\"Human\"},\"id\":\"1\"}}");
}

Test(execute, variable_coercion) {
    expect_data("query Q($n: Int, $f: Float, $b: Boolean, $s: String, $id: ID, $l: [Int], "
                "$c: Color, $p: PointInput) { echo(n: $n, f: $f, b: $b, s: $s, id: $id, "
                "list: $l, color: $c, point: $p) }",
                "{\"n\": 3, \"f\": 2, \"b\": true, \"s\": \"x\", \"id\": 9, \"l\": 5, "
                "\"c\": \"GREEN\", \"p\": {\"x\": 1, \"tags\": \"t\"}}",
                "{\"echo\":{\"point\":{\"x\":1,\"y\":0,\"tags\":[\"t\"]},\"n\":3,\"f\":2.0,"
                "\"b\":true,\"s\":\"x\",\"id\":\"9\",\"list\":[5],\"color\":\"GREEN\"}}");
    /* Floats print in their shortest form. */
    expect_data("{ echo(f: 0.1) }", NULL, "{\"echo\":{\"f\":0.1}}");
    expect_data("query Q($f: Float) { echo(f: $f) }", "{\"f\": 0.30000000000000004}",
                "{\"echo\":{\"f\":0.30000000000000004}}");
    /* Defaults and absent variables. */
    expect_data("query Q($n: Int = 7, $m: Float) { echo(n: $n, f: $m) }", NULL, "{\"echo\":{\"n\":7}}");
    expect_data("query Q($n: Int) { echo(n: $n) }", "{\"n\": null}", "{\"echo\":{\"n\":null}}");
    expect_data("query Q($x: Int!) { echo(point: {x: $x, y: $x}) }", "{\"x\": 4}",
                "{\"echo\":{\"point\":{\"x\":4,\"y\":4}}}");
    expect_data("query Q($y: Int) { echo(point: {x: 1, y: $y}) }", "{}",
                "{\"echo\":{\"point\":{\"x\":1,\"y\":0}}}");

    struct {
        const char *q, *vars, *msg;
    } bad[] = {
        {"query Q($n: Int!) { required(n: $n) }", NULL,
         "Variable \"$n\" of required type \"Int!\" was not provided."},
        {"query Q($n: Int!) { required(n: $n) }", "{\"n\": null}", "must not be null"},
        {"query Q($n: Int) { echo(n: $n) }", "{\"n\": \"3\"}", "Int cannot represent"},
        {"query Q($n: Int) { echo(n: $n) }", "{\"n\": 1.5}", "non-integer"},
        {"query Q($n: Int) { echo(n: $n) }", "{\"n\": 4294967296}", "32-bit"},
        {"query Q($c: Color) { echo(color: $c) }", "{\"c\": \"PINK\"}", "does not exist"},
        {"query Q($p: PointInput) { echo(point: $p) }", "{\"p\": {\"y\": 1}}",
         "Field \"x\" of required type \"Int!\" was not provided"},
        {"query Q($p: PointInput) { echo(point: $p) }", "{\"p\": {\"x\": 1, \"q\": 1}}",
         "Field \"q\" is not defined"},
        {"query Q($p: PointInput) { echo(point: $p) }", "{\"p\": [1]}", "to be an object"},
        {"query Q($l: [Int!]) { echo(list: $l) }", "{\"l\": [1, null]}",
         "Variable \"$l\" got invalid value null at \"l[1]\"; Expected non-nullable type"},
        {"query Q($d: DateTime) { echo(when: $d) }", "{\"d\": \"tomorrow\"}", "RFC 3339"},
        {"query Q($n: Int) { echo(n: $n) }", "[1]", "must be provided as a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *r = fx_run(S, bad[i].q, bad[i].vars);
        cr_assert(!json_object_object_get_ex(r, "data", NULL), "data present for case %zu", i);
        cr_assert(fx_has_error(r, bad[i].msg), "case %zu: want '%s' got %s", i, bad[i].msg,
                  json_object_to_json_string(r));
        cr_assert_str_eq(jget(jget(first_error(r), "extensions")
                                  ? json_object_object_get(first_error(r), "extensions")
                                  : NULL,
                              "code"),
                         "\"BAD_USER_INPUT\"");
        json_object_put(r);
    }
}

Test(execute, operation_selection) {
    json_object *r = fx_run(S, "query A { hello } query B { __typename }", NULL);
    cr_assert(fx_has_error(r, "Must provide operation name"));
    json_object_put(r);
    json_object *v = NULL;
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    const char *q = "query A { hello } query B { __typename }";
    cr_assert_eq(byron_graphql_parse(q, strlen(q), NULL, &doc, &errors), BYRON_OK);
    byron_graphql_request_t req = {.document = doc, .operation_name = "B", .resolve = fx_resolve};
    cr_assert_eq(byron_graphql_execute(S, &req, &v), BYRON_OK);
    cr_assert_str_eq(fx_data(v), "{\"__typename\":\"Query\"}");
    json_object_put(v);
    req.operation_name = "C";
    cr_assert_eq(byron_graphql_execute(S, &req, &v), BYRON_EINVAL);
    cr_assert(fx_has_error(v, "Unknown operation named \"C\""));
    json_object_put(v);
    byron_graphql_document_free(doc);
    r = fx_run(S, "subscription { tick }", NULL);
    cr_assert(fx_has_error(r, "WebSocket"));
    json_object_put(r);
}

Test(execute, resolver_errors_and_paths) {
    json_object *r = fx_run(S, "{ hello\n  boom }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"hello\":\"hello world\",\"boom\":null}");
    json_object *e = first_error(r);
    cr_assert_str_eq(jget(e, "message"), "\"kaboom\"");
    cr_assert_str_eq(jget(e, "path"), "[\"boom\"]");
    cr_assert_str_eq(jget(e, "locations"), "[{\"line\":2,\"column\":3}]");
    cr_assert_str_eq(jget(json_object_object_get(e, "extensions"), "code"), "\"BOOM\"");
    /* The resolver's extra extension entry (the sidecar's appCode). */
    cr_assert_str_eq(jget(json_object_object_get(e, "extensions"), "appCode"), "\"KA\"");
    json_object_put(r);

    /* Serialization failure of a nullable leaf. */
    r = fx_run(S, "{ badInt }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"badInt\":null}");
    cr_assert(fx_has_error(r, "Int cannot represent"));
    json_object_put(r);
}

Test(execute, null_propagation) {
    /* Non-null root field error: data becomes null. */
    json_object *r = fx_run(S, "{ hello boomNN }", NULL);
    cr_assert_str_eq(fx_data(r), "null");
    json_object_put(r);
    r = fx_run(S, "{ hello nullNN }", NULL);
    cr_assert_str_eq(fx_data(r), "null");
    cr_assert(fx_has_error(r, "Cannot return null for non-nullable field Query.nullNN."));
    json_object_put(r);
    /* Enum value out of range in a nullable field: just that field. */
    r = fx_run(S, "{ dog(id: 3) { name color } }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"dog\":{\"name\":\"Bad\",\"color\":null}}");
    json_object_put(r);
    /* Non-null item in a list: the nullable list becomes null; path has the index. */
    r = fx_run(S, "{ dog(id: 3) { name friends { id name } } }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"dog\":{\"name\":\"Bad\",\"friends\":null}}");
    cr_assert_str_eq(jget(first_error(r), "path"), "[\"dog\",\"friends\",0,\"name\"]");
    json_object_put(r);
    /* Non-null list [Dog!]! propagates to the root. */
    r = fx_run(S, "{ hello dogs { mustName } }", NULL);
    cr_assert_str_eq(fx_data(r), "null");
    cr_assert_str_eq(jget(first_error(r), "path"), "[\"dogs\",0,\"mustName\"]");
    json_object_put(r);
}

Test(execute, introspection_meta_fields) {
    expect_data("{ __type(name: \"Dog\") { name kind fields { name } } }", NULL,
                "{\"__type\":{\"name\":\"Dog\",\"kind\":\"OBJECT\",\"fields\":[{\"name\":\"id\"},"
                "{\"name\":\"name\"},{\"name\":\"nickname\"},{\"name\":\"color\"},{\"name\":"
                "\"owner\"},{\"name\":\"friends\"},{\"name\":\"mustName\"},{\"name\":\"barks\"}]}}");
    expect_data("{ __type(name: \"Nope\") { name } }", NULL, "{\"__type\":null}");
}

static byron_status_t count_calls(void *ctx, json_object *parent, const char *field, json_object *args,
                                  const byron_graphql_resolve_info_t *info, json_object **result,
                                  byron_graphql_field_error_t *err) {
    cr_assert(info->deadline_remaining_ms >= 0 && info->deadline_remaining_ms <= 10);
    (*(int *)ctx)++;
    return fx_resolve(ctx, parent, field, args, info, result, err);
}

Test(execute, deadline) {
    byron_graphql_limits_t lim;
    byron_graphql_limits_init(&lim);
    lim.deadline_ms = 10;
    int calls = 0;
    byron_graphql_request_t req = {.resolve = count_calls, .ctx = &calls, .limits = &lim};
    json_object *r = NULL;
    byron_graphql_run(S, "{ a: slow b: slow c: slow d: slow }", &req, &r);
    cr_assert(fx_has_error(r, "deadline exceeded"), "%s", json_object_to_json_string(r));
    cr_assert_lt(calls, 4);
    json_object *ext = json_object_object_get(first_error(r), "extensions");
    cr_assert_str_eq(jget(ext, "code"), "\"DEADLINE_EXCEEDED\"");
    json_object_put(r);
}

static byron_status_t field_resolver(void *ctx, json_object *parent, const char *field, json_object *args,
                                     const byron_graphql_resolve_info_t *info, json_object **result,
                                     byron_graphql_field_error_t *err) {
    *result = json_object_new_string((const char *)info->field_udata);
    return BYRON_OK;
}

Test(execute, per_field_resolver_and_default) {
    cr_assert_eq(byron_graphql_schema_set_resolver(S, "Query", "old", field_resolver, "custom"), BYRON_OK);
    cr_assert_eq(byron_graphql_schema_set_resolver(S, "Query", "nope", field_resolver, NULL), BYRON_EINVAL);
    expect_data("{ old }", NULL, "{\"old\":\"custom\"}");
    /* No resolver at all: the root value's properties. */
    json_object *root = json_tokener_parse("{\"hello\": \"from root\"}");
    byron_graphql_request_t req = {.root_value = root};
    json_object *r = NULL;
    byron_graphql_run(S, "{ hello }", &req, &r);
    cr_assert_str_eq(fx_data(r), "{\"hello\":\"from root\"}");
    json_object_put(r);
    json_object_put(root);
}

/* A resolver fails with any status but BYRON_OK; the client reads its error
 * (or "Resolver failed." with INTERNAL_SERVER_ERROR when it filled none),
 * never the status. */
static byron_status_t failing_resolver(void *ctx, json_object *parent, const char *field, json_object *args,
                                       const byron_graphql_resolve_info_t *info, json_object **result,
                                       byron_graphql_field_error_t *err) {
    *result = NULL;
    if (info->field_udata)
        return byron_graphql_field_error_set(err, BYRON_ENOTFOUND, "NOT_FOUND", "no %s", field);
    return BYRON_EIO; /* no message */
}

Test(execute, resolver_status_and_field_error) {
    byron_graphql_field_error_t fe = {0};
    cr_assert_eq(byron_graphql_field_error_set(&fe, BYRON_ELIMIT, "X", "m%d", 1), BYRON_ELIMIT);
    cr_assert_str_eq(fe.message, "m1");
    cr_assert_str_eq(fe.code, "X");
    cr_assert_eq(byron_graphql_field_error_set(&fe, BYRON_OK, NULL, "filled"), BYRON_EINVAL);
    cr_assert_eq(byron_graphql_schema_set_resolver(S, "Query", "old", failing_resolver, "say"), BYRON_OK);
    json_object *r = fx_run(S, "{ old }", NULL);
    cr_assert_str_eq(jget(first_error(r), "message"), "\"no old\"", "%s", json_object_to_json_string(r));
    cr_assert_str_eq(jget(json_object_object_get(first_error(r), "extensions"), "code"), "\"NOT_FOUND\"");
    json_object_put(r);
    cr_assert_eq(byron_graphql_schema_set_resolver(S, "Query", "old", failing_resolver, NULL), BYRON_OK);
    r = fx_run(S, "{ old }", NULL);
    cr_assert_str_eq(jget(first_error(r), "message"), "\"Resolver failed.\"", "%s",
                     json_object_to_json_string(r));
    cr_assert_str_eq(jget(json_object_object_get(first_error(r), "extensions"), "code"),
                     "\"INTERNAL_SERVER_ERROR\"");
    json_object_put(r);
}

/* The authorize hook refuses with any status but BYRON_OK; the operation's
 * status is BYRON_EREJECTED whatever the hook said, its error "Not allowed."
 * with FORBIDDEN when the hook filled none. */
static byron_status_t refuse_hello(void *ctx, byron_graphql_operation_kind_t kind, const char *field,
                                   const void *meta, byron_graphql_field_error_t *err) {
    (void)ctx, (void)kind, (void)meta, (void)err;
    return strcmp(field, "hello") == 0 ? BYRON_EIO : BYRON_OK;
}

Test(execute, authorize_status) {
    byron_graphql_request_t req = {.resolve = fx_resolve, .authorize = refuse_hello};
    json_object *r = NULL;
    cr_assert_eq(byron_graphql_run(S, "{ hello(name: \"x\") }", &req, &r), BYRON_EREJECTED);
    cr_assert_str_eq(jget(first_error(r), "message"), "\"Not allowed.\"", "%s",
                     json_object_to_json_string(r));
    cr_assert_str_eq(jget(json_object_object_get(first_error(r), "extensions"), "code"), "\"FORBIDDEN\"");
    json_object_put(r);
    cr_assert_eq(byron_graphql_run(S, "{ old }", &req, &r), BYRON_OK, "%s", json_object_to_json_string(r));
    json_object_put(r);
}
