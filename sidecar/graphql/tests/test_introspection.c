/*
 * test_introspection.c — introspection (spec 4) and the SDL printer. The full
 * client introspection query runs against the test schema (the component
 * schema's is in sidecar/tests/test_component_schema.c).
 */
#include "fixtures.h"
#include "introspection_query.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *path(json_object *o, const char *p) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", p);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, ".")) {
        if (json_object_get_type(o) == json_type_array)
            o = json_object_array_get_idx(o, (size_t)strtoul(tok, NULL, 10));
        else if (!json_object_object_get_ex(o, tok, &o))
            o = NULL;
    }
    return o;
}

static json_object *find_by_name(json_object *arr, const char *name) {
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i), *n = NULL;
        if (json_object_object_get_ex(x, "name", &n) && n && strcmp(json_object_get_string(n), name) == 0)
            return x;
    }
    return NULL;
}

static const char *str(json_object *o) {
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

Test(introspection, full_query_on_test_schema) {
    byron_graphql_schema_t *s = fx_schema();
    json_object *r = fx_run(s, FX_INTROSPECTION_QUERY, NULL);
    cr_assert(!json_object_object_get_ex(r, "errors", NULL), "%s", json_object_to_json_string(r));
    json_object *schema = path(r, "data.__schema");
    cr_assert_str_eq(str(path(schema, "queryType.name")), "\"Query\"");
    cr_assert_str_eq(str(path(schema, "mutationType.name")), "\"Mutation\"");
    cr_assert_str_eq(str(path(schema, "subscriptionType.name")), "\"Subscription\"");
    json_object *types = path(schema, "types");
    for (const char *const *n = (const char *const[]){"Query", "Dog", "Color", "PointInput", "String",
                                                      "__Type", "__TypeKind", NULL};
         *n; n++)
        cr_assert_not_null(find_by_name(types, *n), "type %s missing", *n);

    json_object *query = find_by_name(types, "Query");
    json_object *dogs = find_by_name(path(query, "fields"), "dogs");
    /* [Dog!]! */
    cr_assert_str_eq(str(path(dogs, "type")),
                     "{\"kind\":\"NON_NULL\",\"name\":null,\"ofType\":{\"kind\":\"LIST\",\"name\":"
                     "null,\"ofType\":{\"kind\":\"NON_NULL\",\"name\":null,\"ofType\":{\"kind\":"
                     "\"OBJECT\",\"name\":\"Dog\",\"ofType\":null}}}}");
    json_object *hello = find_by_name(path(query, "fields"), "hello");
    cr_assert_str_eq(str(path(hello, "description")), "\"Greets.\"");
    cr_assert_str_eq(str(path(find_by_name(path(hello, "args"), "name"), "defaultValue")),
                     "\"\\\"world\\\"\"");
    json_object *old = find_by_name(path(query, "fields"), "old");
    cr_assert_str_eq(str(path(old, "isDeprecated")), "true");
    cr_assert_str_eq(str(path(old, "deprecationReason")), "\"Use hello.\"");
    cr_assert_str_eq(str(path(query, "interfaces")), "[]");
    cr_assert_str_eq(str(path(query, "enumValues")), "null");

    json_object *point = find_by_name(types, "PointInput");
    cr_assert_str_eq(str(path(point, "kind")), "\"INPUT_OBJECT\"");
    cr_assert_str_eq(str(path(find_by_name(path(point, "inputFields"), "y"), "defaultValue")), "\"0\"");
    cr_assert_str_eq(str(path(point, "fields")), "null");
    json_object_put(r);
    r = fx_run(s, "{ __type(name: \"PointInput\") { isOneOf } }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"__type\":{\"isOneOf\":false}}");
    json_object_put(r);
    r = fx_run(s, FX_INTROSPECTION_QUERY, NULL);
    schema = path(r, "data.__schema");
    types = path(schema, "types");
    json_object *color = find_by_name(types, "Color");
    cr_assert_eq(json_object_array_length(path(color, "enumValues")), 3);

    json_object *dirs = path(schema, "directives");
    json_object *skip = find_by_name(dirs, "skip");
    cr_assert_str_eq(str(path(skip, "locations")), "[\"FIELD\",\"FRAGMENT_SPREAD\",\"INLINE_FRAGMENT\"]");
    cr_assert_str_eq(str(path(find_by_name(path(skip, "args"), "if"), "type.kind")), "\"NON_NULL\"");
    cr_assert_not_null(find_by_name(dirs, "deprecated"));
    cr_assert_not_null(find_by_name(dirs, "specifiedBy"));
    json_object_put(r);

    /* Without includeDeprecated, deprecated fields are hidden. */
    r = fx_run(s, "{ __type(name: \"Query\") { fields { name } } }", NULL);
    cr_assert_null(find_by_name(path(r, "data.__type.fields"), "old"));
    json_object_put(r);
    /* __typename on introspection types. */
    r = fx_run(s, "{ __schema { __typename queryType { __typename } } }", NULL);
    cr_assert_str_eq(fx_data(r), "{\"__schema\":{\"__typename\":\"__Schema\",\"queryType\":{"
                                 "\"__typename\":\"__Type\"}}}");
    json_object_put(r);
    byron_graphql_schema_free(s);
}

Test(introspection, sdl_printer) {
    byron_graphql_schema_t *s = fx_schema();
    char *sdl = byron_graphql_schema_print(s);
    cr_assert_not_null(sdl);
    const char *want[] = {
        "\"Coat colour.\"\nenum Color {\n  RED\n  GREEN\n  BLUE\n}\n",
        "input PointInput {\n  x: Int!\n  y: Int = 0\n  tags: [String!]\n  color: Color\n}\n",
        ("\"The root of queries.\"\ntype Query {\n  \"Greets.\"\n  hello(name: String = \"world\"): "
         "String!\n"),
        "  dogs(first: Int, color: Color): [Dog!]!\n",
        "  old: String @deprecated(reason: \"Use hello.\")\n",
        "scalar JSON\n",
        "type Subscription {\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(sdl, want[i]), "missing:\n%s\nin:\n%s", want[i], sdl);
    cr_assert_null(strstr(sdl, "__Type"));
    cr_assert_null(strstr(sdl, "scalar String"));
    cr_assert_null(strstr(sdl, "schema {"));
    free(sdl);
    byron_graphql_schema_free(s);
}

Test(introspection, schema_builder_errors) {
    byron_err_t err;
    byron_graphql_schema_t *s = byron_graphql_schema_new();
    byron_graphql_type_t *q = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    cr_assert_null(byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL));
    byron_graphql_type_add_field(q, "a", "Missing", NULL);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    cr_assert_eq(byron_graphql_schema_finalize(s, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "Query.a: unknown or malformed type \"Missing\""), "%s", err.msg);
    cr_assert_eq(err.code, BYRON_EINVAL);
    byron_graphql_schema_free(s);

    s = byron_graphql_schema_new();
    q = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_type_t *in = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_INPUT_OBJECT, "In", NULL);
    byron_graphql_type_add_field(in, "x", "Query", NULL);
    byron_graphql_type_add_field(q, "a", "Int", NULL);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    cr_assert_eq(byron_graphql_schema_finalize(s, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "not an input type"), "%s", err.msg);
    byron_graphql_schema_free(s);

    s = byron_graphql_schema_new();
    q = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_field_t *f = byron_graphql_type_add_field(q, "a", "Int", NULL);
    json_object *bad = json_object_new_string("x");
    byron_graphql_field_add_arg(f, "n", "Int", bad, NULL);
    json_object_put(bad);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    cr_assert_eq(byron_graphql_schema_finalize(s, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "invalid default value"), "%s", err.msg);
    byron_graphql_schema_free(s);

    s = byron_graphql_schema_new();
    byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    cr_assert_eq(byron_graphql_schema_finalize(s, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "one or more fields"), "%s", err.msg);
    byron_graphql_schema_free(s);
}
