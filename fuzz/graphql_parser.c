/*
 * graphql_parser.c — libFuzzer target: arbitrary bytes as a GraphQL document
 * through parse → validate → execute against a small schema whose resolver
 * is the default one over a fixed root value. Must never crash, leak or hang.
 */
#include "byron/graphql.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static byron_graphql_schema_t *schema(void) {
    static byron_graphql_schema_t *s;
    if (s) return s;
    s = byron_graphql_schema_new();
    byron_graphql_type_t *e = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_ENUM, "Color", NULL);
    byron_graphql_enum_add_value(e, "RED", NULL);
    byron_graphql_enum_add_value(e, "BLUE", NULL);
    byron_graphql_type_t *in = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_INPUT_OBJECT, "In", NULL);
    byron_graphql_type_add_field(in, "a", "Int!", NULL);
    byron_graphql_type_add_field(in, "b", "[In!]", NULL);
    byron_graphql_type_t *q = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_field_t *f = byron_graphql_type_add_field(q, "node", "Node", NULL);
    byron_graphql_field_add_arg(f, "id", "ID!", NULL, NULL);
    f = byron_graphql_type_add_field(q, "nodes", "[Node!]!", NULL);
    byron_graphql_field_add_arg(f, "in", "In", NULL, NULL);
    byron_graphql_field_add_arg(f, "color", "Color", NULL, NULL);
    byron_graphql_type_add_field(q, "name", "String", NULL);
    byron_graphql_type_t *n = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Node", NULL);
    byron_graphql_type_add_field(n, "id", "ID!", NULL);
    byron_graphql_type_add_field(n, "color", "Color", NULL);
    byron_graphql_type_add_field(n, "next", "Node", NULL);
    byron_graphql_type_add_field(n, "all", "[Node]", NULL);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    byron_err_t err;
    if (byron_graphql_schema_finalize(s, &err) != BYRON_OK) abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static json_object *root;
    if (root == NULL)
        root = json_tokener_parse(
            "{\"name\":\"n\",\"node\":{\"id\":\"1\",\"color\":\"RED\",\"next\":{\"id\":2}},"
            "\"nodes\":[{\"id\":\"1\",\"color\":\"GREEN\",\"all\":[null,{\"id\":\"3\"}]},{}]}");
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    if (byron_graphql_parse((const char *)data, size, NULL, &doc, &errors) == BYRON_OK) {
        if (byron_graphql_validate(schema(), doc, NULL, &errors) == BYRON_OK) {
            byron_graphql_limits_t lim;
            byron_graphql_limits_init(&lim);
            lim.deadline_ms = 1000;
            byron_graphql_request_t req = {.document = doc, .root_value = root, .limits = &lim};
            json_object *resp = NULL;
            byron_graphql_execute(schema(), &req, &resp);
            json_object_put(resp);
        }
    }
    json_object_put(errors);
    byron_graphql_document_free(doc);
    return 0;
}
