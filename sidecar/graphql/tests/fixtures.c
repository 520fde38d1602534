/*
 * fixtures.c — the test schema, resolver and helpers (see fixtures.h).
 */
#include "fixtures.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

byron_graphql_schema_t *fx_schema(void) {
    byron_graphql_schema_t *s = byron_graphql_schema_new();
    byron_graphql_type_t *color =
        byron_graphql_schema_add_type(s, BYRON_GRAPHQL_ENUM, "Color", "Coat colour.");
    byron_graphql_enum_add_value(color, "RED", NULL);
    byron_graphql_enum_add_value(color, "GREEN", NULL);
    byron_graphql_enum_add_value(color, "BLUE", NULL);
    byron_graphql_schema_add_type(s, BYRON_GRAPHQL_SCALAR, "JSON", NULL);
    byron_graphql_schema_add_type(s, BYRON_GRAPHQL_SCALAR, "DateTime", NULL);

    byron_graphql_type_t *pt =
        byron_graphql_schema_add_type(s, BYRON_GRAPHQL_INPUT_OBJECT, "PointInput", NULL);
    byron_graphql_type_add_field(pt, "x", "Int!", NULL);
    byron_graphql_field_t *y = byron_graphql_type_add_field(pt, "y", "Int", NULL);
    json_object *zero = json_object_new_int(0);
    byron_graphql_field_set_default(y, zero);
    json_object_put(zero);
    byron_graphql_type_add_field(pt, "tags", "[String!]", NULL);
    byron_graphql_type_add_field(pt, "color", "Color", NULL);

    byron_graphql_type_t *q =
        byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", "The root of queries.");
    byron_graphql_field_t *f = byron_graphql_type_add_field(q, "hello", "String!", "Greets.");
    json_object *world = json_object_new_string("world");
    byron_graphql_field_add_arg(f, "name", "String", world, NULL);
    json_object_put(world);
    f = byron_graphql_type_add_field(q, "dog", "Dog", NULL);
    byron_graphql_field_add_arg(f, "id", "ID!", NULL, NULL);
    f = byron_graphql_type_add_field(q, "dogs", "[Dog!]!", NULL);
    byron_graphql_field_add_arg(f, "first", "Int", NULL, NULL);
    byron_graphql_field_add_arg(f, "color", "Color", NULL, NULL);
    f = byron_graphql_type_add_field(q, "echo", "JSON", "Returns its arguments.");
    byron_graphql_field_add_arg(f, "point", "PointInput", NULL, NULL);
    byron_graphql_field_add_arg(f, "n", "Int", NULL, NULL);
    byron_graphql_field_add_arg(f, "f", "Float", NULL, NULL);
    byron_graphql_field_add_arg(f, "b", "Boolean", NULL, NULL);
    byron_graphql_field_add_arg(f, "s", "String", NULL, NULL);
    byron_graphql_field_add_arg(f, "id", "ID", NULL, NULL);
    byron_graphql_field_add_arg(f, "list", "[Int]", NULL, NULL);
    byron_graphql_field_add_arg(f, "color", "Color", NULL, NULL);
    byron_graphql_field_add_arg(f, "when", "DateTime", NULL, NULL);
    f = byron_graphql_type_add_field(q, "required", "Int", NULL);
    byron_graphql_field_add_arg(f, "n", "Int!", NULL, NULL);
    byron_graphql_type_add_field(q, "boom", "String", NULL);
    byron_graphql_type_add_field(q, "boomNN", "String!", NULL);
    byron_graphql_type_add_field(q, "nullNN", "String!", NULL);
    byron_graphql_type_add_field(q, "slow", "String", NULL);
    byron_graphql_type_add_field(q, "badInt", "Int", NULL);
    byron_graphql_field_deprecate(byron_graphql_type_add_field(q, "old", "String", NULL), "Use hello.");

    byron_graphql_type_t *dog = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Dog", NULL);
    byron_graphql_type_add_field(dog, "id", "ID!", NULL);
    byron_graphql_type_add_field(dog, "name", "String!", NULL);
    byron_graphql_type_add_field(dog, "nickname", "String", NULL);
    byron_graphql_type_add_field(dog, "color", "Color", NULL);
    byron_graphql_type_add_field(dog, "owner", "Human", NULL);
    byron_graphql_type_add_field(dog, "friends", "[Dog!]", NULL);
    byron_graphql_type_add_field(dog, "mustName", "String!", NULL);
    f = byron_graphql_type_add_field(dog, "barks", "Boolean", NULL);
    byron_graphql_field_add_arg(f, "loud", "Boolean", NULL, NULL);
    byron_graphql_type_t *human = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Human", NULL);
    byron_graphql_type_add_field(human, "name", "String!", NULL);
    byron_graphql_type_add_field(human, "dogs", "[Dog]", NULL);

    byron_graphql_type_t *m = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Mutation", NULL);
    f = byron_graphql_type_add_field(m, "addDog", "Dog!", NULL);
    byron_graphql_field_add_arg(f, "name", "String!", NULL, NULL);
    byron_graphql_type_t *sub = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Subscription", NULL);
    byron_graphql_type_add_field(sub, "dogAdded", "Dog!", NULL);
    f = byron_graphql_type_add_field(sub, "tick", "Int", NULL);
    byron_graphql_field_add_arg(f, "every", "Int", NULL, NULL);
    byron_graphql_schema_set_roots(s, "Query", "Mutation", "Subscription");
    byron_err_t err;
    if (byron_graphql_schema_finalize(s, &err) != BYRON_OK) {
        fprintf(stderr, "fixture schema: %s\n", err.msg);
        byron_graphql_schema_free(s);
        return NULL;
    }
    return s;
}

static const char *DOGS =
    "[{\"id\":\"1\",\"name\":\"Rex\",\"color\":\"RED\",\"nickname\":null,"
    "\"owner\":{\"name\":\"Ann\"},\"friends\":[{\"id\":\"2\",\"name\":\"Fido\"}]},"
    "{\"id\":\"2\",\"name\":\"Fido\",\"color\":\"BLUE\",\"owner\":null,\"friends\":[]},"
    "{\"id\":\"3\",\"name\":\"Bad\",\"color\":\"PURPLE\",\"friends\":[{\"id\":\"9\"}]}]";

byron_status_t fx_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                          const byron_graphql_resolve_info_t *info, json_object **result,
                          byron_graphql_field_error_t *err) {
    *result = NULL;
    const char *pt = info->parent_type;
    if (strcmp(pt, "Query") == 0) {
        if (!strcmp(field, "hello")) {
            json_object *n = NULL;
            json_object_object_get_ex(args, "name", &n);
            char buf[128];
            snprintf(buf, sizeof(buf), "hello %s", json_object_get_string(n));
            *result = json_object_new_string(buf);
        } else if (!strcmp(field, "dog") || !strcmp(field, "dogs")) {
            json_object *all = json_tokener_parse(DOGS);
            if (!strcmp(field, "dogs")) {
                *result = all;
                return BYRON_OK;
            }
            json_object *id = NULL;
            json_object_object_get_ex(args, "id", &id);
            for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *d = json_object_array_get_idx(all, i), *did = NULL;
                json_object_object_get_ex(d, "id", &did);
                if (!strcmp(json_object_get_string(did), json_object_get_string(id)))
                    *result = json_object_get(d);
            }
            json_object_put(all);
        } else if (!strcmp(field, "echo")) {
            *result = json_object_get(args);
        } else if (!strcmp(field, "required")) {
            json_object *n = NULL;
            json_object_object_get_ex(args, "n", &n);
            *result = json_object_get(n);
        } else if (!strcmp(field, "boom") || !strcmp(field, "boomNN")) {
            snprintf(err->ext_key, sizeof(err->ext_key), "appCode");
            snprintf(err->ext_value, sizeof(err->ext_value), "KA");
            return byron_graphql_field_error_set(err, BYRON_EIO, "BOOM", "ka%s", "boom");
        } else if (!strcmp(field, "slow")) {
            struct timespec ts = {0, 30 * 1000000L};
            nanosleep(&ts, NULL);
            *result = json_object_new_string("slow");
        } else if (!strcmp(field, "badInt")) {
            *result = json_object_new_string("not a number");
        }
        return BYRON_OK;
    }
    if (strcmp(pt, "Mutation") == 0) {
        json_object *n = NULL;
        json_object_object_get_ex(args, "name", &n);
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string("42"));
        json_object_object_add(d, "name", json_object_get(n));
        *result = d;
        return BYRON_OK;
    }
    return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
}

json_object *fx_run(const byron_graphql_schema_t *s, const char *query, const char *vars) {
    json_object *v = vars ? json_tokener_parse(vars) : NULL;
    byron_graphql_request_t req = {.variables = v, .resolve = fx_resolve};
    json_object *resp = NULL;
    byron_graphql_run(s, query, &req, &resp);
    json_object_put(v);
    return resp;
}

json_object *fx_validate(const byron_graphql_schema_t *s, const char *query) {
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    if (byron_graphql_parse(query, strlen(query), NULL, &doc, &errors) != BYRON_OK) return errors;
    byron_graphql_validate(s, doc, NULL, &errors);
    byron_graphql_document_free(doc);
    return errors;
}

bool fx_has_error(json_object *errors, const char *needle) {
    json_object *arr = errors;
    if (errors && json_object_get_type(errors) == json_type_object)
        json_object_object_get_ex(errors, "errors", &arr);
    if (arr == NULL || json_object_get_type(arr) != json_type_array) return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *m = NULL;
        json_object_object_get_ex(json_object_array_get_idx(arr, i), "message", &m);
        if (m && strstr(json_object_get_string(m), needle)) return true;
    }
    return false;
}

const char *fx_data(json_object *v) {
    json_object *d = NULL;
    if (v && json_object_get_type(v) == json_type_object && json_object_object_get_ex(v, "data", &d))
        return json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}
