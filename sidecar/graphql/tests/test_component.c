/*
 * test_component.c — schema generation from a component's config JSON:
 * every generated name of docs/component-spec.md, resolver meta tags, and
 * clear errors naming the offending field for invalid configs.
 */
#include "fixtures.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static byron_graphql_schema_t *S;

static void setup(void) {
    json_object *c = fx_component();
    char err[256];
    cr_assert_eq(byron_graphql_schema_from_component(c, &S, err, sizeof(err)), BYRON_GRAPHQL_OK, "%s", err);
    json_object_put(c);
}

static void teardown(void) { byron_graphql_schema_free(S); }

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

static int meta_resolver(void *ctx, json_object *parent, const char *field, json_object *args,
                         const byron_graphql_resolve_info_t *info, json_object **result,
                         byron_graphql_field_error_t *err) {
    if (strcmp(info->parent_type, "Query") == 0 || strcmp(info->parent_type, "Mutation") == 0) {
        snprintf(last_meta, sizeof(last_meta), "%s|%s", info->meta ? info->meta : "",
                 json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
        if (strstr(info->meta, "list:")) {
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
        return 0;
    }
    if (info->meta && strncmp(info->meta, "ref:", 4) == 0)
        snprintf(last_meta, sizeof(last_meta), "%s", info->meta);
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

static void bad(const char *json, const char *want) {
    json_object *c = json_tokener_parse(json);
    byron_graphql_schema_t *s = NULL;
    char err[256];
    cr_assert_eq(byron_graphql_schema_from_component(c, &s, err, sizeof(err)), BYRON_GRAPHQL_EINVALID,
                 "accepted %s", json);
    cr_assert_null(s);
    cr_assert(strstr(err, want), "want '%s', got '%s'", want, err);
    json_object_put(c);
}

Test(component, invalid_configs) {
    bad("[]", "component: must be a JSON object");
    bad("{}", "models: at least one model is required");
    bad("{\"models\": 3}", "models: must be an array");
    bad("{\"models\": [{\"name\": \"order\"}]}", "models[0].name: \"order\" must match");
    bad("{\"models\": [{\"name\": \"A\"}, {\"name\": \"A\"}]}", "models[1].name");
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"x\", \"type\": \"Nope\"}]}]}",
        "models[0].fields[0].type: unknown type \"Nope\"");
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"id\", \"type\": \"ID\"}]}]}",
        "models[0].fields[0].name: \"id\" is implicit");
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"X\", \"type\": \"ID\"}]}]}",
        "models[0].fields[0].name: \"X\" must match");
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"x\", \"type\": \"ID\", "
        "\"required\": \"yes\"}]}]}",
        "models[0].fields[0].required: must be a boolean");
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"x\", \"type\": \"Int\"}, "
        "{\"name\": \"x\", \"type\": \"Int\"}]}]}",
        "models[0].fields[1].name: duplicate field");
    bad("{\"enums\": [{\"name\": \"E\", \"values\": [\"a\"]}], \"models\": [{\"name\": \"A\"}]}",
        "enums[0].values[0]: \"a\" must match");
    bad("{\"enums\": [{\"name\": \"E\", \"values\": []}], \"models\": [{\"name\": \"A\"}]}",
        "enums[0].values: at least one value");
    bad("{\"models\": [{\"name\": \"A\"}], \"commands\": [{\"name\": \"go\", \"model\": \"B\"}]}",
        "commands[0].model: \"B\" is not a model");
    bad("{\"models\": [{\"name\": \"A\"}], \"commands\": [{\"name\": \"createA\", \"model\": \"A\"}]}",
        "commands[0].name: \"createA\" collides");
    bad("{\"models\": [{\"name\": \"A\"}], \"commands\": [{\"name\": \"go\", \"model\": \"A\", "
        "\"emits\": [\"bad\"]}]}",
        "commands[0].emits[0]");
    bad("{\"models\": [{\"name\": \"A\"}], \"commands\": [{\"name\": \"go\", \"model\": \"A\", "
        "\"input\": [{\"name\": \"q\", \"type\": \"Q\"}]}]}",
        "commands[0].input[0].type: unknown type \"Q\"");
    bad("{\"models\": [{\"name\": \"PageInfo\"}]}", "\"PageInfo\" collides");
    bad("{\"models\": [{\"name\": \"A\"}, {\"name\": \"AFilter\"}]}", "collides");
    /* An indexed field named like a filter combinator would replace it silently. */
    bad("{\"models\": [{\"name\": \"A\", \"fields\": [{\"name\": \"or\", \"type\": \"Int\", "
        "\"indexed\": true}]}]}",
        "\"AFilter.or\" collides");
}
