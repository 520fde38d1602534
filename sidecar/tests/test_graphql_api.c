/* test_graphql_api.c — the GraphQL layer's pieces that need no servers: its
 * options' defaults, the schema loaded from component.json, and
 * envelopes as ByronEvents. Everything else is proven against real servers
 * and real clients by sidecar_graphql_it. */
#include "component_schema.h"
#include "gqlapi_endpoint.h"
#include "gqlapi_resolvers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flags and variables: test_settings.c. */
Test(graphql_api, options_defaults) {
    byron_gqlapi_options_t o;
    byron_gqlapi_options_init(&o);
    cr_assert_eq(o.limits.max_depth, 32);
    cr_assert_eq(o.max_body_bytes, 1u << 20);
    cr_assert_eq(o.ws_queue, 1024);
}

/* The example's component and its schema, as the api builds them. */
static byron_graphql_schema_t *orders_schema(byron_component_t **comp) {
    char path[600];
    snprintf(path, sizeof path, "%s/sidecar/tests/data/orders.json", SRC_DIR);
    byron_graphql_schema_t *schema = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_load(path, comp, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_component_schema(*comp, &schema, &err), BYRON_OK, "%s", err.msg);
    return schema;
}

Test(graphql_api, schema_from_component_json) {
    byron_component_t *comp = NULL;
    byron_graphql_schema_t *schema = orders_schema(&comp);
    char *sdl = byron_graphql_schema_print(schema);
    cr_assert(strstr(sdl, "  orders(\n") != NULL);
    cr_assert(strstr(sdl, "): ByronEvent!") != NULL);
    free(sdl);
    byron_graphql_schema_free(schema);
    byron_component_free(comp);
}

Test(graphql_api, envelope_as_byron_event) {
    json_object *env = json_tokener_parse(
        "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/byron/shop/orders\",\"type\":\"OrderUpdated\","
        "\"subject\":\"o-1\",\"time\":\"2026-11-26T06:51:56.977Z\",\"data\":{\"status\":\"SHIPPED\"},"
        "\"byronmodel\":\"Order\",\"byronversion\":2,\"byronsequence\":9007199254740993}");
    json_object *ev = byron_gqlapi_event(env, 0);
    cr_assert_str_eq(
        json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN),
        "{\"sequence\":\"9007199254740993\",\"type\":\"OrderUpdated\",\"model\":\"Order\",\"id\":\"o-1\","
        "\"version\":2,\"time\":\"2026-11-26T06:51:56.977Z\",\"data\":{\"status\":\"SHIPPED\"}}");
    json_object_put(ev);
    ev = byron_gqlapi_event(env, 42); /* the message's own sequence wins */
    cr_assert_str_eq(json_object_get_string(json_object_object_get(ev, "sequence")), "42");
    json_object_put(ev);
    json_object_put(env);
    cr_assert_null(byron_gqlapi_event(NULL, 1));
}

/* The cost limit: first/last multiply through nesting, counted before any resolver runs. */
static int calls;
static byron_status_t null_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                                   const byron_graphql_resolve_info_t *info, json_object **result,
                                   byron_graphql_field_error_t *err) {
    calls++;
    return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
}

static byron_status_t run_with(byron_graphql_schema_t *s, const char *q, const char *vars, unsigned max_cost,
                               json_object **resp) {
    byron_graphql_limits_t l;
    byron_graphql_limits_init(&l);
    l.max_cost = max_cost;
    json_object *v = vars ? json_tokener_parse(vars) : NULL;
    byron_graphql_request_t r = {.variables = v, .resolve = null_resolve, .limits = &l};
    byron_status_t st = byron_graphql_run(s, q, &r, resp);
    json_object_put(v);
    return st;
}

Test(graphql_api, cost_multiplies_page_sizes_through_nesting) {
    byron_component_t *comp = NULL;
    byron_graphql_schema_t *s = orders_schema(&comp);
    json_object *resp = NULL;
    calls = 0;
    /* 1 + 1000 (edges) + 1000 (node) + 1000 × 2 (lines, id) ... > 2000 */
    cr_assert_eq(
        run_with(s, "{ orders(first: 1000) { edges { node { id lines { id sku } } } } }", NULL, 2000, &resp),
        BYRON_ELIMIT);
    cr_assert(strstr(json_object_to_json_string(resp), "QUERY_TOO_COMPLEX"), "%s",
              json_object_to_json_string(resp));
    cr_assert_eq(calls, 0, "nothing runs");
    json_object_put(resp);
    /* The same through a variable, and by default page when first is absent. */
    cr_assert_eq(run_with(s, "query($n: Int) { orders(first: $n) { edges { node { id } } } }", "{\"n\": 900}",
                          2000, &resp),
                 BYRON_ELIMIT);
    json_object_put(resp);
    cr_assert_eq(run_with(s, "{ a: orders { edges { node { id } } } b: orders { edges { node { id } } } }",
                          NULL, 500, &resp),
                 BYRON_ELIMIT, "two default pages of 100: 602 > 500");
    json_object_put(resp);
    cr_assert_eq(run_with(s, "{ orders(first: 10) { edges { node { id customer } } } }", NULL, 2000, &resp),
                 BYRON_OK, "%s", json_object_to_json_string(resp));
    json_object_put(resp);
    byron_graphql_schema_free(s);
    byron_component_free(comp);
}
