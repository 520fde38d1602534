/*
 * introspection.c — the introspection system (spec 4): the __ types are
 * installed into every schema with the ordinary builder, and their fields are
 * resolved here. An introspection object is an empty JSON object whose
 * json-c userdata points at the schema element it describes (a type, field,
 * input value, enum value or directive); which one is known from the parent
 * type's name. Nothing is precomputed: a full introspection query walks the
 * schema once, O(size of the schema).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void add(byron_graphql_type_t *t, const char *name, const char *type, const char *desc) {
    byron_graphql_type_add_field(t, name, type, desc);
}

static void add_incl(byron_graphql_type_t *t, const char *name, const char *type) {
    byron_graphql_field_t *f = byron_graphql_type_add_field(t, name, type, NULL);
    json_object *no = json_object_new_boolean(0);
    byron_graphql_field_add_arg(f, "includeDeprecated", "Boolean", no, NULL);
    json_object_put(no);
}

byron_status_t gql_introspection_install(byron_graphql_schema_t *s) {
    const byron_graphql_type_kind_t O = BYRON_GRAPHQL_OBJECT;
    byron_graphql_type_t *t;
    t = byron_graphql_schema_add_type(s, O, "__Schema",
                                      "A GraphQL Schema defines the capabilities of a GraphQL "
                                      "server.");
    add(t, "description", "String", NULL);
    add(t, "types", "[__Type!]!", "A list of all types supported by this server.");
    add(t, "queryType", "__Type!", "The type that query operations will be rooted at.");
    add(t, "mutationType", "__Type", "The type that mutation operations will be rooted at.");
    add(t, "subscriptionType", "__Type", "The type that subscription operations will be rooted at.");
    add(t, "directives", "[__Directive!]!", "A list of all directives supported by this server.");

    t = byron_graphql_schema_add_type(s, O, "__Type",
                                      "The fundamental unit of any GraphQL Schema is the type.");
    add(t, "kind", "__TypeKind!", NULL);
    add(t, "name", "String", NULL);
    add(t, "description", "String", NULL);
    add(t, "specifiedByURL", "String", NULL);
    add_incl(t, "fields", "[__Field!]");
    add(t, "interfaces", "[__Type!]", NULL);
    add(t, "possibleTypes", "[__Type!]", NULL);
    add_incl(t, "enumValues", "[__EnumValue!]");
    add_incl(t, "inputFields", "[__InputValue!]");
    add(t, "ofType", "__Type", NULL);
    /* Newer clients (graphql-js 16.9+, GraphiQL) may ask; we have no @oneOf inputs. */
    add(t, "isOneOf", "Boolean", NULL);

    t = byron_graphql_schema_add_type(s, O, "__Field",
                                      "Object and Interface types are described by a list of "
                                      "Fields, each of which has a name, potentially a list of "
                                      "arguments, and a return type.");
    add(t, "name", "String!", NULL);
    add(t, "description", "String", NULL);
    add_incl(t, "args", "[__InputValue!]!");
    add(t, "type", "__Type!", NULL);
    add(t, "isDeprecated", "Boolean!", NULL);
    add(t, "deprecationReason", "String", NULL);

    t = byron_graphql_schema_add_type(s, O, "__InputValue",
                                      "Arguments provided to Fields or Directives and the input "
                                      "fields of an InputObject are represented as Input "
                                      "Values.");
    add(t, "name", "String!", NULL);
    add(t, "description", "String", NULL);
    add(t, "type", "__Type!", NULL);
    add(t, "defaultValue", "String",
        "A GraphQL-formatted string representing the default value for this input value.");
    add(t, "isDeprecated", "Boolean!", NULL);
    add(t, "deprecationReason", "String", NULL);

    t = byron_graphql_schema_add_type(s, O, "__EnumValue", "One possible value for a given Enum.");
    add(t, "name", "String!", NULL);
    add(t, "description", "String", NULL);
    add(t, "isDeprecated", "Boolean!", NULL);
    add(t, "deprecationReason", "String", NULL);

    t = byron_graphql_schema_add_type(s, O, "__Directive",
                                      "A Directive provides a way to describe alternate runtime "
                                      "execution and type validation behavior in a GraphQL "
                                      "document.");
    add(t, "name", "String!", NULL);
    add(t, "description", "String", NULL);
    add(t, "isRepeatable", "Boolean!", NULL);
    add(t, "locations", "[__DirectiveLocation!]!", NULL);
    add_incl(t, "args", "[__InputValue!]!");

    t = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_ENUM, "__TypeKind",
                                      "An enum describing what kind of type a given `__Type` "
                                      "is.");
    static const char *const kinds[] = {"SCALAR", "OBJECT",       "INTERFACE", "UNION",
                                        "ENUM",   "INPUT_OBJECT", "LIST",      "NON_NULL"};
    for (size_t i = 0; i < 8; i++) byron_graphql_enum_add_value(t, kinds[i], NULL);
    t = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_ENUM, "__DirectiveLocation",
                                      "A Directive can be adjacent to many parts of the GraphQL "
                                      "language, a __DirectiveLocation describes one such "
                                      "possible adjacencies.");
    for (size_t i = 0; i < GQL_DL_COUNT; i++) byron_graphql_enum_add_value(t, gql_dirloc_names[i], NULL);
    return s->failed ? BYRON_ENOMEM : BYRON_OK;
}

static json_object *wrap(const void *p) {
    if (p == NULL) return NULL;
    json_object *o = json_object_new_object();
    json_object_set_userdata(o, (void *)p, NULL);
    return o;
}

static json_object *str_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

static bool include_deprecated(json_object *args) {
    json_object *v = NULL;
    return args && json_object_object_get_ex(args, "includeDeprecated", &v) && json_object_get_boolean(v);
}

static json_object *values_array(const byron_graphql_field_t *list) {
    json_object *a = json_object_new_array();
    for (const byron_graphql_field_t *f = list; f; f = f->next) json_object_array_add(a, wrap(f));
    return a;
}

static const char *const kind_names[] = {"SCALAR", "OBJECT",       "INTERFACE", "UNION",
                                         "ENUM",   "INPUT_OBJECT", "LIST",      "NON_NULL"};

static json_object *type_field(const byron_graphql_type_t *t, const char *f, json_object *args) {
    if (!strcmp(f, "kind")) return json_object_new_string(kind_names[t->kind]);
    if (!strcmp(f, "name")) return str_or_null(t->name);
    if (!strcmp(f, "description")) return str_or_null(t->description);
    if (!strcmp(f, "specifiedByURL")) return str_or_null(t->specified_by);
    if (!strcmp(f, "ofType")) return wrap(t->of);
    if (!strcmp(f, "interfaces")) return t->kind == BYRON_GRAPHQL_OBJECT ? json_object_new_array() : NULL;
    if (!strcmp(f, "possibleTypes")) return NULL;
    if (!strcmp(f, "isOneOf"))
        return t->kind == BYRON_GRAPHQL_INPUT_OBJECT ? json_object_new_boolean(0) : NULL;
    if (!strcmp(f, "fields")) {
        if (t->kind != BYRON_GRAPHQL_OBJECT) return NULL;
        json_object *a = json_object_new_array();
        for (const byron_graphql_field_t *x = t->fields; x; x = x->next)
            if (x->deprecation == NULL || include_deprecated(args)) json_object_array_add(a, wrap(x));
        return a;
    }
    if (!strcmp(f, "inputFields"))
        return t->kind == BYRON_GRAPHQL_INPUT_OBJECT ? values_array(t->fields) : NULL;
    if (!strcmp(f, "enumValues")) {
        if (t->kind != BYRON_GRAPHQL_ENUM) return NULL;
        json_object *a = json_object_new_array();
        for (const gql_enum_value_t *v = t->values; v; v = v->next)
            if (v->deprecation == NULL || include_deprecated(args)) json_object_array_add(a, wrap(v));
        return a;
    }
    return NULL;
}

static json_object *schema_field(const byron_graphql_schema_t *s, const char *f) {
    if (!strcmp(f, "types")) {
        json_object *a = json_object_new_array();
        for (const byron_graphql_type_t *t = s->types; t; t = t->next) json_object_array_add(a, wrap(t));
        return a;
    }
    if (!strcmp(f, "queryType")) return wrap(s->query);
    if (!strcmp(f, "mutationType")) return wrap(s->mutation);
    if (!strcmp(f, "subscriptionType")) return wrap(s->subscription);
    if (!strcmp(f, "directives")) {
        json_object *a = json_object_new_array();
        for (const gql_directive_def_t *d = s->directives; d; d = d->next) json_object_array_add(a, wrap(d));
        return a;
    }
    return NULL;
}

/* A field of __Field or __InputValue (one struct for both). */
static json_object *value_field(const byron_graphql_field_t *x, const char *f) {
    if (!strcmp(f, "name")) return json_object_new_string(x->name);
    if (!strcmp(f, "description")) return str_or_null(x->description);
    if (!strcmp(f, "args")) return values_array(x->args);
    if (!strcmp(f, "type")) return wrap(x->type);
    if (!strcmp(f, "isDeprecated")) return json_object_new_boolean(x->deprecation != NULL);
    if (!strcmp(f, "deprecationReason")) return str_or_null(x->deprecation);
    if (!strcmp(f, "defaultValue")) return str_or_null(x->default_literal);
    return NULL;
}

static json_object *enum_value_field(const gql_enum_value_t *v, const char *f) {
    if (!strcmp(f, "name")) return json_object_new_string(v->name);
    if (!strcmp(f, "description")) return str_or_null(v->description);
    if (!strcmp(f, "isDeprecated")) return json_object_new_boolean(v->deprecation != NULL);
    if (!strcmp(f, "deprecationReason")) return str_or_null(v->deprecation);
    return NULL;
}

static json_object *directive_field(const gql_directive_def_t *d, const char *f) {
    if (!strcmp(f, "name")) return json_object_new_string(d->name);
    if (!strcmp(f, "description")) return str_or_null(d->description);
    if (!strcmp(f, "isRepeatable")) return json_object_new_boolean(d->repeatable);
    if (!strcmp(f, "args")) return values_array(d->args);
    if (!strcmp(f, "locations")) {
        json_object *a = json_object_new_array();
        for (int i = 0; i < GQL_DL_COUNT; i++)
            if (d->locations & (1u << i))
                json_object_array_add(a, json_object_new_string(gql_dirloc_names[i]));
        return a;
    }
    return NULL;
}

byron_status_t gql_introspection_resolve(const byron_graphql_schema_t *s, json_object *parent,
                                         const byron_graphql_type_t *pt, const byron_graphql_field_t *field,
                                         json_object *args, json_object **result,
                                         byron_graphql_field_error_t *err) {
    const char *f = field->name;
    const char *pn = pt->name;
    void *ud = parent ? json_object_get_userdata(parent) : NULL;
    *result = NULL;
    if (field == s->meta_schema) {
        *result = wrap(s);
        return BYRON_OK;
    }
    if (field == s->meta_type) {
        json_object *n = NULL;
        json_object_object_get_ex(args, "name", &n);
        *result = wrap(gql_schema_lookup(s, json_object_get_string(n)));
        return BYRON_OK;
    }
    if (ud == NULL) {
        return byron_graphql_field_error_set(err, BYRON_EINVAL, NULL,
                                             "introspection value without its schema element");
    }
    if (!strcmp(pn, "__Schema"))
        *result = schema_field(s, f);
    else if (!strcmp(pn, "__Type"))
        *result = type_field(ud, f, args);
    else if (!strcmp(pn, "__Field") || !strcmp(pn, "__InputValue"))
        *result = value_field(ud, f);
    else if (!strcmp(pn, "__EnumValue"))
        *result = enum_value_field(ud, f);
    else if (!strcmp(pn, "__Directive"))
        *result = directive_field(ud, f);
    return BYRON_OK;
}
