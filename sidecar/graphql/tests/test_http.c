/*
 * test_http.c — GraphQL-over-HTTP handling: methods, media types, status
 * codes for every failure class, GET/POST parameter decoding.
 */
#include "fixtures.h"

#include <criterion/criterion.h>
#include <string.h>

static byron_graphql_schema_t *S;
static byron_graphql_http_response_t R;

static void setup(void) { S = fx_schema(); }

static void teardown(void) {
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_schema_free(S);
}

TestSuite(http, .init = setup, .fini = teardown);

static void post(const char *accept, const char *ct, const char *body) {
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_options_t o = {.resolve = fx_resolve};
    byron_graphql_http_handle(S, &o, "POST", ct, accept, NULL, body, body ? strlen(body) : 0, &R);
}

static void get(const char *accept, const char *qs) {
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_options_t o = {.resolve = fx_resolve};
    byron_graphql_http_handle(S, &o, "GET", NULL, accept, qs, NULL, 0, &R);
}

#define GQLR "application/graphql-response+json"
#define JSON "application/json"

Test(http, post_ok_both_media_types) {
    post(GQLR, JSON, "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(R.content_type, GQLR "; charset=utf-8");
    cr_assert_str_eq(R.body, "{\"data\":{\"hello\":\"hello world\"}}");
    post(JSON, "application/json; charset=utf-8",
         "{\"query\": \"query Q($n: String) { hello(name: $n) }\", \"variables\": {\"n\": \"x\"}, "
         "\"operationName\": \"Q\", \"extensions\": {}}");
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(R.content_type, JSON "; charset=utf-8");
    cr_assert_str_eq(R.body, "{\"data\":{\"hello\":\"hello x\"}}");
    post(NULL, JSON, "{\"query\": \"{ hello }\", \"variables\": null, \"operationName\": null}");
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(R.content_type, JSON "; charset=utf-8");
    post("*/*", JSON, "{\"query\": \"{ hello }\"}");
    cr_assert_str_eq(R.content_type, JSON "; charset=utf-8");
    post(JSON ";q=0.5, " GQLR, JSON, "{\"query\": \"{ hello }\"}");
    cr_assert_str_eq(R.content_type, GQLR "; charset=utf-8");
    /* Field errors keep 200. */
    post(GQLR, JSON, "{\"query\": \"{ boom }\"}");
    cr_assert_eq(R.status, 200);
    cr_assert(strstr(R.body, "kaboom"));
}

Test(http, not_acceptable_and_methods) {
    post("text/html", JSON, "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 406);
    post(GQLR ";q=0", JSON, "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 406);
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_handle(S, NULL, "PUT", JSON, GQLR, NULL, "{}", 2, &R);
    cr_assert_eq(R.status, 405);
    cr_assert_str_eq(R.allow, "GET, POST");
}

Test(http, post_request_errors) {
    post(GQLR, "text/plain", "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 415);
    post(GQLR, NULL, "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 415);
    post(GQLR, "application/json; charset=latin1", "{\"query\": \"{ hello }\"}");
    cr_assert_eq(R.status, 415);
    post(GQLR, JSON, "{\"query\": ");
    cr_assert_eq(R.status, 400);
    cr_assert(strstr(R.body, "errors"));
    cr_assert_null(strstr(R.body, "\"data\""));
    post(GQLR, JSON, "[]");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{}");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{\"query\": 1}");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{\"query\": \"{ hello }\", \"variables\": []}");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{\"query\": \"{ hello }\", \"operationName\": 3}");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{\"query\": \"{ hello }\", \"extensions\": 3}");
    cr_assert_eq(R.status, 400);
    post(JSON, JSON, "not json");
    cr_assert_eq(R.status, 400);

    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_options_t o = {.max_body_bytes = 8};
    const char *body = "{\"query\": \"{ hello }\"}";
    byron_graphql_http_handle(S, &o, "POST", JSON, GQLR, NULL, body, strlen(body), &R);
    cr_assert_eq(R.status, 413);
}

Test(http, graphql_errors_status_by_media_type) {
    /* graphql-response+json: request errors are 400, no data. */
    post(GQLR, JSON, "{\"query\": \"{ hello \"}");
    cr_assert_eq(R.status, 400);
    cr_assert(strstr(R.body, "GRAPHQL_PARSE_FAILED"));
    post(GQLR, JSON, "{\"query\": \"{ nope }\"}");
    cr_assert_eq(R.status, 400);
    cr_assert(strstr(R.body, "GRAPHQL_VALIDATION_FAILED"));
    cr_assert_null(strstr(R.body, "\"data\""));
    post(GQLR, JSON, "{\"query\": \"query Q($n: Int!) { required(n: $n) }\"}");
    cr_assert_eq(R.status, 400);
    cr_assert(strstr(R.body, "BAD_USER_INPUT"));
    post(GQLR, JSON, "{\"query\": \"query A { hello } query B { hello }\"}");
    cr_assert_eq(R.status, 400);
    post(GQLR, JSON, "{\"query\": \"{ hello }\", \"operationName\": \"X\"}");
    cr_assert_eq(R.status, 400);
    /* application/json: 200 for every well-formed request. */
    post(JSON, JSON, "{\"query\": \"{ hello \"}");
    cr_assert_eq(R.status, 200);
    cr_assert(strstr(R.body, "GRAPHQL_PARSE_FAILED"));
    post(JSON, JSON, "{\"query\": \"{ nope }\"}");
    cr_assert_eq(R.status, 200);
    post(JSON, JSON, "{\"query\": \"query Q($n: Int!) { required(n: $n) }\"}");
    cr_assert_eq(R.status, 200);
}

Test(http, get_requests) {
    get(GQLR, "query=%7B%20hello%20%7D");
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(R.body, "{\"data\":{\"hello\":\"hello world\"}}");
    get(GQLR, "query=query+Q(%24n%3A+String)+%7B+hello(name%3A+%24n)+%7D&variables=%7B%22n%22%3A%22y%22%7D&"
              "operationName=Q");
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(R.body, "{\"data\":{\"hello\":\"hello y\"}}");
    get(GQLR, "query=mutation+%7B+addDog(name%3A%22x%22)+%7B+id+%7D+%7D");
    cr_assert_eq(R.status, 405);
    cr_assert_str_eq(R.allow, "POST");
    get(GQLR, "operationName=x");
    cr_assert_eq(R.status, 400);
    get(GQLR, "query=%7B+hello+%7D&variables=%5B");
    cr_assert_eq(R.status, 400);
    get(GQLR, "query=%7B+hello+%7D&extensions=1");
    cr_assert_eq(R.status, 400);
    get(GQLR, "query=subscription+%7B+tick+%7D");
    cr_assert_eq(R.status, 405);
    get(GQLR, "query=%7B");
    cr_assert_eq(R.status, 400);
    get(NULL, "query=%7B");
    cr_assert_eq(R.status, 200);
    get(GQLR, "query=%zz");
    cr_assert_eq(R.status, 400);
}

/* The authorize hook: a refused root field stops the whole operation before
 * any resolver runs, with 401 for UNAUTHENTICATED and 403 otherwise. */
static int resolver_calls;
static byron_status_t counting_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                                       const byron_graphql_resolve_info_t *info, json_object **result,
                                       byron_graphql_field_error_t *err) {
    resolver_calls++;
    return fx_resolve(ctx, parent, field, args, info, result, err);
}

static byron_status_t deny_boom(void *ctx, byron_graphql_operation_kind_t kind, const char *field,
                                const void *meta, byron_graphql_field_error_t *err) {
    (void)meta;
    (void)kind;
    const char *code = ctx;
    if (strcmp(field, "boom") != 0) return BYRON_OK;
    return byron_graphql_field_error_set(err, BYRON_EREJECTED, code, "no %s for you", field);
}

static void post_authz(const char *code, const char *body) {
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_options_t o = {
        .resolve = counting_resolve, .authorize = deny_boom, .ctx = (void *)code};
    byron_graphql_http_handle(S, &o, "POST", JSON, GQLR, NULL, body, strlen(body), &R);
}

Test(http, authorize_refuses_before_executing) {
    resolver_calls = 0;
    post_authz("UNAUTHENTICATED", "{\"query\": \"{ hello boom }\"}");
    cr_assert_eq(R.status, 401);
    cr_assert_eq(resolver_calls, 0, "hello must not run when boom is refused");
    cr_assert(strstr(R.body, "\"code\":\"UNAUTHENTICATED\"") && !strstr(R.body, "\"data\""), "%s", R.body);
    post_authz("FORBIDDEN", "{\"query\": \"{ ... on Query { boom } }\"}");
    cr_assert_eq(R.status, 403, "fragments do not hide a root field");
    cr_assert(strstr(R.body, "no boom for you"), "%s", R.body);
    post_authz("FORBIDDEN", "{\"query\": \"{ hello boom @skip(if: true) __typename }\"}");
    cr_assert_eq(R.status, 200, "a skipped field is not selected: %s", R.body);
    cr_assert_gt(resolver_calls, 0);
}

static int resolutions;

static byron_status_t counting(void *ctx, json_object *parent, const char *field, json_object *args,
                               const byron_graphql_resolve_info_t *info, json_object **result,
                               byron_graphql_field_error_t *err) {
    resolutions++;
    return fx_resolve(ctx, parent, field, args, info, result, err);
}

static void post_bounded(size_t max_data_bytes, const char *body) {
    byron_graphql_http_response_cleanup(&R);
    byron_graphql_http_options_t o = {.resolve = counting, .max_data_bytes = max_data_bytes};
    resolutions = 0;
    byron_graphql_http_handle(S, &o, "POST", JSON, JSON, NULL, body, strlen(body), &R);
}

/* max_data_bytes: the response stops where `data` passes it — fewer
 * resolvers run (counted) — and is one RESPONSE_TOO_LARGE error, 400 for
 * either media type; at its exact size it is the unbounded answer. */
Test(http, data_past_its_bound_stops_execution) {
    const char *body = "{\"query\": \"{ dogs { id name color friends { id name } } h: hello }\"}";
    post_bounded(0, body);
    cr_assert_eq(R.status, 200, "%s", R.body);
    int all = resolutions;
    char *full = strdup(R.body);
    size_t data_len = strlen(full) - strlen("{\"data\":}");
    post_bounded(data_len, body); /* exactly its size: allowed */
    cr_assert_eq(R.status, 200, "%s", R.body);
    cr_assert_str_eq(R.body, full);
    cr_assert_eq(resolutions, all);
    post_bounded(20, body);
    cr_assert_eq(R.status, 400, "%s", R.body);
    cr_assert(strstr(R.body, "\"RESPONSE_TOO_LARGE\"") != NULL, "%s", R.body);
    cr_assert(strstr(R.body, "\"data\"") == NULL, "%s", R.body);
    cr_assert_lt(resolutions, all, "%d of %d resolvers ran", resolutions, all);
    free(full);
}
