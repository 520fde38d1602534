/*
 * graphql_variables.c — libFuzzer target: arbitrary bytes as the JSON
 * "variables" of a fixed operation that declares variables of every kind of
 * input type (scalars, enum, nested input objects, nested lists, non-null),
 * through variable coercion, argument coercion and execution.
 */
#include "byron/graphql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *QUERY =
    "query Q($i: Int, $f: Float, $s: String, $b: Boolean = true, $id: ID, $c: Color, $p: Point, "
    "$l: [[Int!]], $nn: Int!, $d: DateTime, $j: JSON, $ps: [Point!]! = [{x: 1}]) {"
    " echo(i: $i, f: $f, s: $s, b: $b, id: $id, c: $c, p: $p, l: $l, nn: $nn, d: $d, j: $j, "
    "ps: $ps) e2: echo(nn: 1, p: {x: $nn, y: $i, next: {x: 2}}) @include(if: $b) }";

static byron_graphql_schema_t *S;
static byron_graphql_document_t *DOC;

static void init(void) {
    S = byron_graphql_schema_new();
    byron_graphql_type_t *e = byron_graphql_schema_add_type(S, BYRON_GRAPHQL_ENUM, "Color", NULL);
    byron_graphql_enum_add_value(e, "RED", NULL);
    byron_graphql_schema_add_type(S, BYRON_GRAPHQL_SCALAR, "DateTime", NULL);
    byron_graphql_schema_add_type(S, BYRON_GRAPHQL_SCALAR, "JSON", NULL);
    byron_graphql_type_t *p = byron_graphql_schema_add_type(S, BYRON_GRAPHQL_INPUT_OBJECT, "Point", NULL);
    byron_graphql_type_add_field(p, "x", "Int!", NULL);
    byron_graphql_field_t *y = byron_graphql_type_add_field(p, "y", "Int", NULL);
    json_object *seven = json_object_new_int(7);
    byron_graphql_field_set_default(y, seven);
    json_object_put(seven);
    byron_graphql_type_add_field(p, "next", "Point", NULL);
    byron_graphql_type_add_field(p, "tags", "[String!]", NULL);
    byron_graphql_type_t *q = byron_graphql_schema_add_type(S, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_field_t *f = byron_graphql_type_add_field(q, "echo", "JSON", NULL);
    const char *args[][2] = {{"i", "Int"},   {"f", "Float"},    {"s", "String"}, {"b", "Boolean"},
                             {"id", "ID"},   {"c", "Color"},    {"p", "Point"},  {"l", "[[Int!]]"},
                             {"nn", "Int!"}, {"d", "DateTime"}, {"j", "JSON"},   {"ps", "[Point!]"}};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        byron_graphql_field_add_arg(f, args[i][0], args[i][1], NULL, NULL);
    byron_graphql_schema_set_roots(S, "Query", NULL, NULL);
    byron_err_t err = {0};
    json_object *errors = NULL;
    if (byron_graphql_schema_finalize(S, &err) != BYRON_OK ||
        byron_graphql_parse(QUERY, strlen(QUERY), NULL, &DOC, &errors) != BYRON_OK ||
        byron_graphql_validate(S, DOC, NULL, &errors) != BYRON_OK) {
        fprintf(stderr, "fuzz fixture broken: %s %s\n", err.msg,
                errors ? json_object_to_json_string(errors) : "");
        abort();
    }
}

static byron_status_t echo(void *ctx, json_object *parent, const char *field, json_object *args,
                           const byron_graphql_resolve_info_t *info, json_object **result,
                           byron_graphql_field_error_t *err) {
    *result = json_object_get(args);
    return BYRON_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (S == NULL) init();
    json_tokener *tok = json_tokener_new_ex(32);
    json_object *vars = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    byron_graphql_request_t req = {.document = DOC, .variables = vars, .resolve = echo};
    json_object *resp = NULL;
    byron_graphql_execute(S, &req, &resp);
    json_object_put(resp);
    json_object_put(vars);
    return 0;
}
