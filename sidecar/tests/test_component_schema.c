/*
 * test_component_schema.c — the GraphQL schema generated from a parsed
 * component: every generated name of docs/component-spec.md, the op each
 * generated field carries (what it does, on which model or command), the
 * collisions GraphQL refuses, and the introspection dump the graphql-js
 * cross-check reads (set BYRON_GQL_INTROSPECTION_OUT=<file>;
 * sidecar/graphql/tests/graphqljs/run.sh).
 */
#include "component_schema.h"
#include "fixtures.h"
#include "introspection_query.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The component of these tests: every kind of field, a reference, a list of
 * references, enums, custom commands with and without input. Caller puts. */
static json_object *fx_component(void) {
    return json_tokener_parse(
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"orders\",\"namespace\":\"shop\","
        "\"partitions\":8,"
        "\"enums\":[{\"name\":\"OrderStatus\",\"values\":[\"OPEN\",\"SHIPPED\",\"CANCELLED\"]}],"
        "\"models\":["
        " {\"name\":\"Order\",\"fields\":["
        "  {\"name\":\"customer\",\"type\":\"String\",\"required\":true,\"indexed\":true},"
        "  {\"name\":\"status\",\"type\":\"OrderStatus\",\"indexed\":true},"
        "  {\"name\":\"total\",\"type\":\"Float\",\"indexed\":true},"
        "  {\"name\":\"placedAt\",\"type\":\"DateTime\"},"
        "  {\"name\":\"meta\",\"type\":\"JSON\"},"
        "  {\"name\":\"lines\",\"type\":\"OrderLine\",\"list\":true}]},"
        " {\"name\":\"OrderLine\",\"fields\":["
        "  {\"name\":\"sku\",\"type\":\"String\",\"required\":true,\"unique\":true},"
        "  {\"name\":\"qty\",\"type\":\"Int\",\"required\":true}]}],"
        "\"commands\":[{\"name\":\"shipOrder\",\"model\":\"Order\","
        "  \"input\":[{\"name\":\"carrier\",\"type\":\"String\",\"required\":true}],"
        "  \"emits\":[\"OrderShipped\"]},"
        " {\"name\":\"cancelOrder\",\"model\":\"Order\",\"emits\":[\"OrderCancelled\"]}],"
        "\"subscriptions\":[{\"component\":\"customers\",\"events\":[\"CustomerCreated\"]}]}");
}

static byron_component_t *C;
static byron_graphql_schema_t *S;

static void setup(void) {
    json_object *c = fx_component();
    byron_err_t err = {0};
    cr_assert_eq(byron_component_parse(c, &C, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_component_schema(C, &S, &err), BYRON_OK, "%s", err.msg);
    json_object_put(c);
}

static void teardown(void) {
    byron_graphql_schema_free(S);
    byron_component_free(C);
}

TestSuite(component, .init = setup, .fini = teardown);

Test(component, generated_sdl) {
    char *sdl = byron_graphql_schema_print(S);
    const char *want[] = {
        // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one type's SDL spans three literals
        "type Order {\n  id: ID!\n  \"Number of events applied to this object.\"\n  version: Int!\n"
        "  customer: String!\n  status: OrderStatus\n  total: Float\n  placedAt: DateTime\n"
        "  meta: JSON\n  lines: [OrderLine!]\n}",
        "enum OrderStatus {\n  OPEN\n  SHIPPED\n  CANCELLED\n}",
        "input OrderCreateInput {\n",
        "  customer: String!\n  status: OrderStatus\n  total: Float\n  placedAt: DateTime\n"
        "  meta: JSON\n  lines: [ID!]\n}",
        "input OrderUpdateInput {\n  customer: String\n",
        "type OrderMutationResult {\n  id: ID!\n",
        "  sequence: String!\n",
        "  events: [ByronEvent!]!\n",
        "type OrderConnection {\n  edges: [OrderEdge!]!\n  pageInfo: PageInfo!\n}",
        "type OrderEdge {\n  cursor: String!\n  node: Order!\n}",
        "input OrderFilter {\n  id: IDFilter\n  customer: StringFilter\n  status: OrderStatusFilter\n"
        "  total: FloatFilter\n",
        "enum OrderOrderField {\n  \"Order by id.\"\n  ID\n  CUSTOMER\n  STATUS\n  TOTAL\n}",
        "input OrderOrderBy {\n  field: OrderOrderField!\n  direction: SortDirection = ASC\n}",
        "input OrderLineFilter {\n  id: IDFilter\n  sku: StringFilter\n",
        "  order(id: ID!): Order\n",
        "orders(\n",
        "filter: OrderFilter\n",
        "orderBy: [OrderOrderBy!]\n",
        "): OrderConnection!\n",
        "  orderLine(id: ID!): OrderLine\n",
        "): OrderLineConnection!\n",
        "  createOrder(input: OrderCreateInput!): OrderMutationResult!\n",
        "  updateOrder(id: ID!, input: OrderUpdateInput!): OrderMutationResult!\n",
        "  deleteOrder(id: ID!): OrderMutationResult!\n",
        "input ShipOrderInput {\n  carrier: String!\n}",
        "): OrderMutationResult!\n",
        "  orderEvents(\n",
        "fromSequence: String\n",
        "): ByronEvent!\n",
        "  orderLineEvents(\n",
        "scalar DateTime @specifiedBy(",
        "scalar JSON",
        "type PageInfo {\n  hasNextPage: Boolean!\n  hasPreviousPage: Boolean!\n  startCursor: String\n"
        "  endCursor: String\n}",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(sdl, want[i]), "missing:\n%s\n----\n%s", want[i], sdl);
    /* A command without input has only the id. */
    cr_assert(strstr(sdl, "  cancelOrder(\"The target object.\" id: ID!)") ||
                  strstr(sdl, "cancelOrder(\n    \"The target object.\"\n    id: ID!\n  ): "
                              "OrderMutationResult!"),
              "%s", sdl);
    free(sdl);
}

static char last_meta[128];

/* "verb:Model" or "command:name:Model" for the field's op. */
static void describe(const void *meta, char *out, size_t n) {
    static const char *const VERBS[] = {"get",    "list",    "create", "update",
                                        "delete", "command", "ref",    "events"};
    const byron_component_schema_op_t *op = meta;
    if (op) /* the op points into the component, not to names to look up again */
        cr_assert(op->model >= C->models && op->model < C->models + C->nmodels);
    if (!op) {
        snprintf(out, n, "%s", "");
    } else if (op->verb == BYRON_SCHEMA_COMMAND) {
        cr_assert_not_null(op->command);
        cr_assert_eq(op->command->model, op->model);
        snprintf(out, n, "command:%s:%s", op->command->name, op->model->name);
    } else {
        cr_assert_null(op->command);
        snprintf(out, n, "%s:%s", VERBS[op->verb], op->model->name);
    }
}

static byron_status_t meta_resolver(void *ctx, json_object *parent, const char *field, json_object *args,
                                    const byron_graphql_resolve_info_t *info, json_object **result,
                                    byron_graphql_field_error_t *err) {
    char op[96];
    describe(info->meta, op, sizeof op);
    if (strcmp(info->parent_type, "Query") == 0 || strcmp(info->parent_type, "Mutation") == 0) {
        snprintf(last_meta, sizeof(last_meta), "%s|%s", op,
                 json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
        if (strstr(op, "list:")) {
            *result = json_tokener_parse(
                "{\"edges\":[{\"cursor\":\"c1\",\"node\":{\"id\":\"1\",\"version\":2,"
                "\"customer\":\"ann\",\"lines\":[{\"id\":\"l1\",\"version\":1,\"sku\":\"S\","
                "\"qty\":3}]}}],\"pageInfo\":{\"hasNextPage\":false,\"hasPreviousPage\":false,"
                "\"startCursor\":\"c1\",\"endCursor\":\"c1\"}}");
        } else {
            *result = json_tokener_parse("{\"id\":\"1\",\"version\":3,\"sequence\":\"9007199254740993\","
                                         "\"events\":[{\"sequence\":\"9007199254740993\",\"type\":"
                                         "\"OrderShipped\",\"model\":\"Order\",\"id\":\"1\","
                                         "\"version\":3,\"data\":{\"carrier\":\"ups\"}}]}");
        }
        return BYRON_OK;
    }
    if (strncmp(op, "ref:", 4) == 0) snprintf(last_meta, sizeof(last_meta), "%s", op);
    return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
}

static json_object *run(const char *q, const char *vars) {
    json_object *v = vars ? json_tokener_parse(vars) : NULL;
    byron_graphql_request_t req = {.variables = v, .resolve = meta_resolver};
    json_object *r = NULL;
    byron_graphql_run(S, q, &req, &r);
    json_object_put(v);
    return r;
}

Test(component, execution_with_meta) {
    json_object *r = run("mutation { shipOrder(id: \"1\", input: {carrier: \"ups\"}) { id version "
                         "sequence events { type data } } }",
                         NULL);
    cr_assert_str_eq(last_meta, "command:shipOrder:Order|{\"id\":\"1\",\"input\":{\"carrier\":\"ups\"}}");
    cr_assert_str_eq(fx_data(r), "{\"shipOrder\":{\"id\":\"1\",\"version\":3,\"sequence\":"
                                 "\"9007199254740993\",\"events\":[{\"type\":\"OrderShipped\","
                                 "\"data\":{\"carrier\":\"ups\"}}]}}");
    json_object_put(r);

    r = run("query($f: OrderFilter) { orders(filter: $f, orderBy: [{field: CUSTOMER}], first: 5) "
            "{ edges { cursor node { id customer lines { sku qty } } } pageInfo { hasNextPage } } }",
            "{\"f\": {\"status\": {\"in\": [\"OPEN\"]}, \"or\": [{\"total\": {\"gt\": 10}}]}}");
    cr_assert_str_eq(fx_data(r), "{\"orders\":{\"edges\":[{\"cursor\":\"c1\",\"node\":{\"id\":\"1\","
                                 "\"customer\":\"ann\",\"lines\":[{\"sku\":\"S\",\"qty\":3}]}}],"
                                 "\"pageInfo\":{\"hasNextPage\":false}}}");
    cr_assert_str_eq(last_meta, "ref:OrderLine");
    json_object_put(r);

    r = run("mutation { createOrder(input: {customer: \"c\", lines: [\"l1\"], "
            "placedAt: \"2024-01-31T12:00:00Z\"}) { id } }",
            NULL);
    cr_assert(strstr(last_meta, "create:Order|{\"input\":{\"customer\":\"c\""), "%s", last_meta);
    json_object_put(r);
    r = run("mutation { createOrder(input: {status: OPEN}) { id } }", NULL);
    cr_assert(fx_has_error(r, "OrderCreateInput.customer"), "%s", json_object_to_json_string(r));
    json_object_put(r);
    r = run("mutation { deleteOrder(id: \"1\") { id } updateOrder(id: \"1\", input: {}) { id } }", NULL);
    cr_assert_str_eq(last_meta, "update:Order|{\"id\":\"1\",\"input\":{}}");
    json_object_put(r);
}

static void bad(const char *spec, const char *want) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"c\",\"namespace\":\"n\"%s%s}",
             *spec ? "," : "", spec);
    json_object *c = json_tokener_parse(json);
    cr_assert_not_null(c, "%s", json);
    byron_component_t *comp = NULL;
    byron_graphql_schema_t *s = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_parse(c, &comp, &err), BYRON_OK, "the component itself is valid: %s",
                 err.msg);
    cr_assert_eq(byron_component_schema(comp, &s, &err), BYRON_EINVAL, "accepted %s", json);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, want), "want '%s', got '%s'", want, err.msg);
    byron_component_free(comp);
    json_object_put(c);
}

/* What the component's own rules allow but GraphQL's names cannot hold. */
Test(component, collisions_name_what_to_rename) {
    bad("", "models: at least one model is required");
    bad("\"models\": [{\"name\": \"PageInfo\"}]", "models[0].name: \"PageInfo\" collides");
    bad("\"models\": [{\"name\": \"A\"}, {\"name\": \"AFilter\"}]", "collides");
    bad("\"enums\": [{\"name\": \"SortDirection\", \"values\": [\"UP\"]}], \"models\": [{\"name\": \"A\"}]",
        "enums[0].name: \"SortDirection\" collides");
    /* An indexed field named like a filter combinator would replace it silently. */
    bad("\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"or\", \"type\": \"Int\", "
        "\"indexed\": true}]}]",
        "\"AFilter.or\" collides");
}

/* The full client introspection query on the component's schema; the dump
 * is what graphql-js's buildClientSchema checks (graphqljs/run.sh). */
Test(component, introspection_dump) {
    json_object *r = fx_run(S, FX_INTROSPECTION_QUERY, NULL);
    cr_assert(!json_object_object_get_ex(r, "errors", NULL), "%s", json_object_to_json_string(r));
    const char *out = getenv("BYRON_GQL_INTROSPECTION_OUT");
    if (out) {
        FILE *f = fopen(out, "w");
        cr_assert_not_null(f);
        fputs(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY), f);
        fclose(f);
        char sdl_path[512];
        snprintf(sdl_path, sizeof(sdl_path), "%s.graphql", out);
        f = fopen(sdl_path, "w");
        cr_assert_not_null(f);
        char *sdl = byron_graphql_schema_print(S);
        fputs(sdl, f);
        free(sdl);
        fclose(f);
    }
    json_object_put(r);
}
