/*
 * schema.c — the schema model: types, fields, arguments, enum values and
 * directives, built programmatically with SDL type references ("[ID!]!")
 * that byron_graphql_schema_finalize() resolves. Everything lives in the
 * schema's arena. Type lookup by name is a linear scan (O(types)); schemas
 * here have tens to a few hundred types and lookups happen at validation,
 * not per resolved value, so a hash table is not worth its code.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gql_dirloc_names[GQL_DL_COUNT] = {"QUERY",
                                                    "MUTATION",
                                                    "SUBSCRIPTION",
                                                    "FIELD",
                                                    "FRAGMENT_DEFINITION",
                                                    "FRAGMENT_SPREAD",
                                                    "INLINE_FRAGMENT",
                                                    "VARIABLE_DEFINITION",
                                                    "SCHEMA",
                                                    "SCALAR",
                                                    "OBJECT",
                                                    "FIELD_DEFINITION",
                                                    "ARGUMENT_DEFINITION",
                                                    "INTERFACE",
                                                    "UNION",
                                                    "ENUM",
                                                    "ENUM_VALUE",
                                                    "INPUT_OBJECT",
                                                    "INPUT_FIELD_DEFINITION"};

static char *sdup(byron_graphql_schema_t *s, const char *str) {
    if (str == NULL) return NULL;
    char *p = gql_arena_strdup(&s->arena, str);
    if (p == NULL) s->failed = true;
    return p;
}

static void *salloc(byron_graphql_schema_t *s, size_t n) {
    void *p = gql_arena_alloc(&s->arena, n);
    if (p == NULL) s->failed = true;
    return p;
}

bool gql_name_valid(const char *s) {
    if (s == NULL || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static gql_directive_def_t *add_directive(byron_graphql_schema_t *s, const char *name, const char *desc,
                                          unsigned locs) {
    gql_directive_def_t *d = salloc(s, sizeof(*d));
    if (d == NULL) return NULL;
    d->name = sdup(s, name);
    d->description = sdup(s, desc);
    d->locations = locs;
    gql_directive_def_t **tail = &s->directives;
    while (*tail) tail = &(*tail)->next;
    *tail = d;
    return d;
}

static byron_graphql_field_t *new_value(byron_graphql_schema_t *s, const char *name, const char *type_ref,
                                        const char *desc) {
    byron_graphql_field_t *f = salloc(s, sizeof(*f));
    if (f == NULL) return NULL;
    f->name = sdup(s, name);
    f->type_src = sdup(s, type_ref);
    f->description = sdup(s, desc);
    f->schema = s;
    return f;
}

static byron_graphql_field_t *directive_arg(byron_graphql_schema_t *s, gql_directive_def_t *d,
                                            const char *name, const char *type_ref, json_object *def,
                                            const char *desc) {
    if (d == NULL) return NULL;
    byron_graphql_field_t *f = new_value(s, name, type_ref, desc);
    if (f == NULL) return NULL;
    byron_graphql_field_set_default(f, def);
    byron_graphql_field_t **tail = &d->args;
    while (*tail) tail = &(*tail)->next;
    *tail = f;
    return f;
}

byron_graphql_schema_t *byron_graphql_schema_new(void) {
    byron_graphql_schema_t *s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    static const struct {
        const char *name, *desc;
    } scalars[] = {
        {"Int", "The `Int` scalar type represents non-fractional signed whole numeric values. "
                "Int can represent values between -(2^31) and 2^31 - 1."},
        {"Float", "The `Float` scalar type represents signed double-precision fractional "
                  "values as specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point)."},
        {"String", "The `String` scalar type represents textual data, represented as UTF-8 "
                   "character sequences."},
        {"Boolean", "The `Boolean` scalar type represents `true` or `false`."},
        {"ID", "The `ID` scalar type represents a unique identifier, often used to refetch an "
               "object or as key for a cache. It is serialized as a String; an Int is "
               "accepted as input."},
    };
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
        byron_graphql_schema_add_type(s, BYRON_GRAPHQL_SCALAR, scalars[i].name, scalars[i].desc);

    const unsigned exec_field =
        1u << GQL_DL_FIELD | 1u << GQL_DL_FRAGMENT_SPREAD | 1u << GQL_DL_INLINE_FRAGMENT;
    gql_directive_def_t *d;
    d = add_directive(s, "include",
                      "Directs the executor to include this field or fragment "
                      "only when the `if` argument is true.",
                      exec_field);
    directive_arg(s, d, "if", "Boolean!", NULL, "Included when true.");
    d = add_directive(s, "skip",
                      "Directs the executor to skip this field or fragment when "
                      "the `if` argument is true.",
                      exec_field);
    directive_arg(s, d, "if", "Boolean!", NULL, "Skipped when true.");
    d = add_directive(s, "deprecated",
                      "Marks an element of a GraphQL schema as no longer "
                      "supported.",
                      1u << GQL_DL_FIELD_DEFINITION | 1u << GQL_DL_ARGUMENT_DEFINITION |
                          1u << GQL_DL_INPUT_FIELD_DEFINITION | 1u << GQL_DL_ENUM_VALUE);
    json_object *reason = json_object_new_string("No longer supported");
    directive_arg(s, d, "reason", "String", reason,
                  "Explains why this element was deprecated, usually also including a "
                  "suggestion for how to access supported similar data.");
    json_object_put(reason);
    d = add_directive(s, "specifiedBy",
                      "Exposes a URL that specifies the behavior of this "
                      "scalar.",
                      1u << GQL_DL_SCALAR);
    directive_arg(s, d, "url", "String!", NULL,
                  "The URL that specifies the behavior of this "
                  "scalar.");

    s->meta_schema = new_value(s, "__schema", "__Schema!", "Access the current type schema of this server.");
    s->meta_type = new_value(s, "__type", "__Type",
                             "Request the type information of a single "
                             "type.");
    if (s->meta_type) {
        s->meta_type->args = new_value(s, "name", "String!", NULL);
    }
    s->meta_typename =
        new_value(s, "__typename", "String!", "The name of the current Object type at runtime.");
    gql_introspection_install(s);
    if (s->failed) {
        byron_graphql_schema_free(s);
        return NULL;
    }
    return s;
}

void byron_graphql_schema_free(byron_graphql_schema_t *s) {
    if (s == NULL) return;
    gql_arena_cleanup(&s->arena);
    free(s);
}

byron_graphql_type_t *gql_schema_lookup(const byron_graphql_schema_t *s, const char *name) {
    for (byron_graphql_type_t *t = s->types; t; t = t->next)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

const byron_graphql_type_t *byron_graphql_schema_type(const byron_graphql_schema_t *s, const char *name) {
    return gql_schema_lookup(s, name);
}

static gql_leaf_t leaf_of(const char *scalar) {
    static const struct {
        const char *name;
        gql_leaf_t leaf;
    } builtin[] = {{"Int", GQL_LEAF_INT}, {"Float", GQL_LEAF_FLOAT},       {"String", GQL_LEAF_STRING},
                   {"ID", GQL_LEAF_ID},   {"DateTime", GQL_LEAF_DATETIME}, {"Boolean", GQL_LEAF_BOOLEAN}};
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (strcmp(scalar, builtin[i].name) == 0) return builtin[i].leaf;
    return GQL_LEAF_CUSTOM;
}

byron_graphql_type_t *byron_graphql_schema_add_type(byron_graphql_schema_t *s, byron_graphql_type_kind_t kind,
                                                    const char *name, const char *description) {
    if (s == NULL || s->finalized || name == NULL || gql_schema_lookup(s, name)) return NULL;
    if (kind != BYRON_GRAPHQL_SCALAR && kind != BYRON_GRAPHQL_OBJECT && kind != BYRON_GRAPHQL_ENUM &&
        kind != BYRON_GRAPHQL_INPUT_OBJECT)
        return NULL;
    byron_graphql_type_t *t = salloc(s, sizeof(*t));
    if (t == NULL) return NULL;
    t->kind = kind;
    t->name = sdup(s, name);
    t->description = sdup(s, description);
    t->schema = s;
    if (kind == BYRON_GRAPHQL_SCALAR) t->leaf = leaf_of(name);
    byron_graphql_type_t **tail = &s->types;
    while (*tail) tail = &(*tail)->next;
    *tail = t;
    return t;
}

byron_graphql_field_t *byron_graphql_type_add_field(byron_graphql_type_t *t, const char *name,
                                                    const char *type_ref, const char *description) {
    if (t == NULL || t->schema->finalized || name == NULL || type_ref == NULL ||
        (t->kind != BYRON_GRAPHQL_OBJECT && t->kind != BYRON_GRAPHQL_INPUT_OBJECT))
        return NULL;
    byron_graphql_field_t **tail = &t->fields;
    for (; *tail; tail = &(*tail)->next)
        if (strcmp((*tail)->name, name) == 0) return NULL;
    byron_graphql_field_t *f = new_value(t->schema, name, type_ref, description);
    if (f == NULL) return NULL;
    f->owner = t;
    *tail = f;
    return f;
}

byron_status_t byron_graphql_field_set_default(byron_graphql_field_t *f, json_object *def) {
    if (f == NULL) return BYRON_EINVAL;
    if (f->schema->finalized) return BYRON_EINVAL;
    f->default_json = NULL;
    if (def == NULL) return BYRON_OK;
    /* Kept as text: the schema must share no json_object with its builder, nor
     * later between requests (internal.h). */
    f->default_json =
        sdup(f->schema,
             json_object_to_json_string_ext(def, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    return f->default_json ? BYRON_OK : BYRON_ENOMEM;
}

json_object *gql_field_default_new(const byron_graphql_field_t *f) {
    return f->default_json ? json_tokener_parse(f->default_json) : NULL;
}

byron_graphql_field_t *byron_graphql_field_add_arg(byron_graphql_field_t *field, const char *name,
                                                   const char *type_ref, json_object *default_json,
                                                   const char *description) {
    if (field == NULL || field->schema->finalized || name == NULL || type_ref == NULL) return NULL;
    byron_graphql_field_t **tail = &field->args;
    for (; *tail; tail = &(*tail)->next)
        if (strcmp((*tail)->name, name) == 0) return NULL;
    byron_graphql_field_t *a = new_value(field->schema, name, type_ref, description);
    if (a == NULL) return NULL;
    if (byron_graphql_field_set_default(a, default_json) != BYRON_OK) return NULL;
    *tail = a;
    return a;
}

void byron_graphql_field_deprecate(byron_graphql_field_t *f, const char *reason) {
    if (f) f->deprecation = sdup(f->schema, reason ? reason : "No longer supported");
}

void byron_graphql_field_set_meta(byron_graphql_field_t *f, const void *meta, size_t size) {
    if (f == NULL) return;
    void *copy = salloc(f->schema, size);
    if (copy) memcpy(copy, meta, size);
    f->meta = copy;
}

byron_status_t byron_graphql_enum_add_value(byron_graphql_type_t *t, const char *name,
                                            const char *description) {
    if (t == NULL || t->kind != BYRON_GRAPHQL_ENUM || t->schema->finalized || name == NULL)
        return BYRON_EINVAL;
    gql_enum_value_t **tail = &t->values;
    for (; *tail; tail = &(*tail)->next)
        if (strcmp((*tail)->name, name) == 0) return BYRON_EINVAL;
    gql_enum_value_t *v = salloc(t->schema, sizeof(*v));
    if (v == NULL) return BYRON_ENOMEM;
    v->name = sdup(t->schema, name);
    v->description = sdup(t->schema, description);
    *tail = v;
    return BYRON_OK;
}

void byron_graphql_scalar_set_specified_by(byron_graphql_type_t *t, const char *url) {
    if (t && t->kind == BYRON_GRAPHQL_SCALAR) t->specified_by = sdup(t->schema, url);
}

byron_status_t byron_graphql_schema_set_resolver(byron_graphql_schema_t *s, const char *type,
                                                 const char *field, byron_graphql_resolve_fn fn,
                                                 void *udata) {
    byron_graphql_type_t *t = gql_schema_lookup(s, type);
    if (t == NULL || t->kind != BYRON_GRAPHQL_OBJECT) return BYRON_EINVAL;
    for (byron_graphql_field_t *f = t->fields; f; f = f->next)
        if (strcmp(f->name, field) == 0) {
            f->resolve = fn;
            f->udata = udata;
            return BYRON_OK;
        }
    return BYRON_EINVAL;
}

void byron_graphql_schema_set_roots(byron_graphql_schema_t *s, const char *query, const char *mutation,
                                    const char *subscription) {
    s->query_name = sdup(s, query);
    s->mutation_name = sdup(s, mutation);
    s->subscription_name = sdup(s, subscription);
}

byron_graphql_type_t *gql_type_list(byron_graphql_type_t *t) {
    if (t->list_cache == NULL) {
        byron_graphql_type_t *w = salloc(t->schema, sizeof(*w));
        if (w == NULL) return NULL;
        w->kind = BYRON_GRAPHQL_LIST;
        w->of = t;
        w->schema = t->schema;
        t->list_cache = w;
    }
    return t->list_cache;
}

byron_graphql_type_t *gql_type_non_null(byron_graphql_type_t *t) {
    if (t->kind == BYRON_GRAPHQL_NON_NULL) return t;
    if (t->non_null_cache == NULL) {
        byron_graphql_type_t *w = salloc(t->schema, sizeof(*w));
        if (w == NULL) return NULL;
        w->kind = BYRON_GRAPHQL_NON_NULL;
        w->of = t;
        w->schema = t->schema;
        t->non_null_cache = w;
    }
    return t->non_null_cache;
}

/* "[Foo!]!" → type; NULL on syntax error or unknown name. */
static byron_graphql_type_t *parse_ref(byron_graphql_schema_t *s, const char **p, int depth) {
    byron_graphql_type_t *t;
    while (**p == ' ') (*p)++;
    if (depth > 16) return NULL;
    if (**p == '[') {
        (*p)++;
        byron_graphql_type_t *inner = parse_ref(s, p, depth + 1);
        while (**p == ' ') (*p)++;
        if (inner == NULL || **p != ']') return NULL;
        (*p)++;
        t = gql_type_list(inner);
    } else {
        char name[256];
        size_t n = 0;
        while (n < sizeof(name) - 1 && ((**p >= 'A' && **p <= 'Z') || (**p >= 'a' && **p <= 'z') ||
                                        (**p >= '0' && **p <= '9') || **p == '_'))
            name[n++] = *(*p)++;
        name[n] = '\0';
        t = n ? gql_schema_lookup(s, name) : NULL;
    }
    if (t && **p == '!') {
        (*p)++;
        t = gql_type_non_null(t);
    }
    return t;
}

byron_graphql_type_t *gql_schema_type_from_ref(const byron_graphql_schema_t *cs, const gql_typeref_t *ref) {
    byron_graphql_schema_t *s = (byron_graphql_schema_t *)cs;
    switch (ref->kind) {
    case GQL_T_NAMED: return gql_schema_lookup(s, ref->name);
    case GQL_T_LIST: {
        byron_graphql_type_t *t = gql_schema_type_from_ref(s, ref->of);
        /* The wrapper caches were all created at finalize for types the
         * schema uses; a document may need new ones. Interning would write to
         * a shared schema, so build a wrapper only if it already exists. */
        return t ? t->list_cache : NULL;
    }
    case GQL_T_NON_NULL: {
        byron_graphql_type_t *t = gql_schema_type_from_ref(s, ref->of);
        return t ? t->non_null_cache : NULL;
    }
    }
    return NULL;
}

const byron_graphql_type_t *gql_type_named(const byron_graphql_type_t *t) {
    while (t && (t->kind == BYRON_GRAPHQL_LIST || t->kind == BYRON_GRAPHQL_NON_NULL)) t = t->of;
    return t;
}

const byron_graphql_type_t *gql_type_nullable(const byron_graphql_type_t *t) {
    return t && t->kind == BYRON_GRAPHQL_NON_NULL ? t->of : t;
}

bool gql_type_is_input(const byron_graphql_type_t *t) {
    t = gql_type_named(t);
    return t && (t->kind == BYRON_GRAPHQL_SCALAR || t->kind == BYRON_GRAPHQL_ENUM ||
                 t->kind == BYRON_GRAPHQL_INPUT_OBJECT);
}

bool gql_type_is_output(const byron_graphql_type_t *t) {
    t = gql_type_named(t);
    return t && t->kind != BYRON_GRAPHQL_INPUT_OBJECT;
}

bool gql_type_is_leaf(const byron_graphql_type_t *t) {
    t = gql_type_named(t);
    return t && (t->kind == BYRON_GRAPHQL_SCALAR || t->kind == BYRON_GRAPHQL_ENUM);
}

bool gql_type_is_composite(const byron_graphql_type_t *t) {
    t = gql_type_named(t);
    return t && (t->kind == BYRON_GRAPHQL_OBJECT || t->kind == BYRON_GRAPHQL_INTERFACE ||
                 t->kind == BYRON_GRAPHQL_UNION);
}

char *gql_type_str(const byron_graphql_type_t *t, char *buf, size_t len) {
    if (t == NULL) {
        gql_strlcpy(buf, "?", len);
    } else if (t->kind == BYRON_GRAPHQL_LIST) {
        char inner[256];
        snprintf(buf, len, "[%s]", gql_type_str(t->of, inner, sizeof(inner)));
    } else if (t->kind == BYRON_GRAPHQL_NON_NULL) {
        char inner[256];
        snprintf(buf, len, "%s!", gql_type_str(t->of, inner, sizeof(inner)));
    } else {
        gql_strlcpy(buf, t->name, len);
    }
    return buf;
}

const byron_graphql_field_t *gql_type_field(const byron_graphql_type_t *t, const char *name) {
    if (t == NULL) return NULL;
    for (const byron_graphql_field_t *f = t->fields; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

const byron_graphql_field_t *gql_field_arg(const byron_graphql_field_t *f, const char *name) {
    for (const byron_graphql_field_t *a = f->args; a; a = a->next)
        if (strcmp(a->name, name) == 0) return a;
    return NULL;
}

const gql_enum_value_t *gql_enum_value(const byron_graphql_type_t *t, const char *name) {
    for (const gql_enum_value_t *v = t->values; v; v = v->next)
        if (strcmp(v->name, name) == 0) return v;
    return NULL;
}

const gql_directive_def_t *gql_schema_directive(const byron_graphql_schema_t *s, const char *name) {
    for (const gql_directive_def_t *d = s->directives; d; d = d->next)
        if (strcmp(d->name, name) == 0) return d;
    return NULL;
}

const byron_graphql_field_t *gql_field_def(const byron_graphql_schema_t *s, const byron_graphql_type_t *t,
                                           const char *name) {
    if (name[0] == '_' && name[1] == '_') {
        if (strcmp(name, "__typename") == 0) return s->meta_typename;
        if (t == s->query && strcmp(name, "__schema") == 0) return s->meta_schema;
        if (t == s->query && strcmp(name, "__type") == 0) return s->meta_type;
    }
    return gql_type_field(t, name);
}

byron_graphql_type_kind_t byron_graphql_type_kind(const byron_graphql_type_t *t) { return t->kind; }

const char *byron_graphql_type_name(const byron_graphql_type_t *t) { return t->name; }

const byron_graphql_type_t *byron_graphql_type_of(const byron_graphql_type_t *t) { return t->of; }

/* ---------------------------------------------------------------- finalize */

static byron_status_t resolve_value(byron_graphql_schema_t *s, byron_graphql_field_t *f, bool input,
                                    const char *where, byron_err_t *err) {
    const char *p = f->type_src;
    f->type = parse_ref(s, &p, 0);
    if (f->type == NULL || *p != '\0')
        return byron_err_set(err, BYRON_EINVAL, "%s.%s: unknown or malformed type \"%s\"", where, f->name,
                             f->type_src);
    if (!gql_name_valid(f->name))
        return byron_err_set(err, BYRON_EINVAL, "%s: invalid name \"%s\"", where, f->name);
    if (input && !gql_type_is_input(f->type))
        return byron_err_set(err, BYRON_EINVAL, "%s.%s: type \"%s\" is not an input type", where, f->name,
                             f->type_src);
    if (!input && !gql_type_is_output(f->type))
        return byron_err_set(err, BYRON_EINVAL, "%s.%s: type \"%s\" is not an output type", where, f->name,
                             f->type_src);
    if (input && f->default_json) {
        char msg[256];
        json_object *def = gql_field_default_new(f), *coerced = NULL;
        int bad = def == NULL || gql_coerce_json(f->type, def, &coerced, msg, sizeof(msg), f->name) < 0;
        char *lit = bad ? NULL : gql_json_to_literal(f->type, def);
        json_object_put(def);
        json_object_put(coerced);
        if (bad)
            return byron_err_set(err, BYRON_EINVAL, "%s.%s: invalid default value: %s", where, f->name,
                                 def ? msg : "out of memory");
        f->default_literal = sdup(s, lit ? lit : "null");
        free(lit);
    }
    return BYRON_OK;
}

static byron_status_t root(byron_graphql_schema_t *s, const char *name, byron_graphql_type_t **out,
                           byron_err_t *err) {
    *out = NULL;
    if (name == NULL) return BYRON_OK;
    *out = gql_schema_lookup(s, name);
    if (*out == NULL || (*out)->kind != BYRON_GRAPHQL_OBJECT)
        return byron_err_set(err, BYRON_EINVAL, "root type \"%s\" is not an object type of the schema", name);
    return BYRON_OK;
}

/* One type: a valid name, fields or values, each field's type resolved. */
static byron_status_t finalize_type(byron_graphql_schema_t *s, byron_graphql_type_t *t, byron_err_t *err) {
    if (!gql_name_valid(t->name))
        return byron_err_set(err, BYRON_EINVAL, "invalid type name \"%s\"", t->name);
    if ((t->kind == BYRON_GRAPHQL_OBJECT || t->kind == BYRON_GRAPHQL_INPUT_OBJECT) && t->fields == NULL)
        return byron_err_set(err, BYRON_EINVAL, "type \"%s\" must define one or more fields", t->name);
    if (t->kind == BYRON_GRAPHQL_ENUM && t->values == NULL)
        return byron_err_set(err, BYRON_EINVAL, "enum \"%s\" must define one or more values", t->name);
    for (gql_enum_value_t *v = t->values; v; v = v->next)
        if (!gql_name_valid(v->name) || !strcmp(v->name, "true") || !strcmp(v->name, "false") ||
            !strcmp(v->name, "null"))
            return byron_err_set(err, BYRON_EINVAL, "enum \"%s\": invalid value \"%s\"", t->name, v->name);
    for (byron_graphql_field_t *f = t->fields; f; f = f->next) {
        byron_status_t st = resolve_value(s, f, t->kind == BYRON_GRAPHQL_INPUT_OBJECT, t->name, err);
        if (st != BYRON_OK) return st;
        for (byron_graphql_field_t *a = f->args; a; a = a->next) {
            char where[300];
            snprintf(where, sizeof(where), "%s.%s(args)", t->name, f->name);
            if ((st = resolve_value(s, a, true, where, err)) != BYRON_OK) return st;
        }
    }
    return BYRON_OK;
}

byron_status_t byron_graphql_schema_finalize(byron_graphql_schema_t *s, byron_err_t *err) {
    if (s->failed)
        return byron_err_set(err, BYRON_ENOMEM, "out of memory (or a rejected duplicate) while building");
    if (s->finalized) return BYRON_OK;
    byron_status_t st;
    for (byron_graphql_type_t *t = s->types; t; t = t->next)
        if ((st = finalize_type(s, t, err)) != BYRON_OK) return st;
    for (gql_directive_def_t *d = s->directives; d; d = d->next)
        for (byron_graphql_field_t *a = d->args; a; a = a->next)
            if ((st = resolve_value(s, a, true, d->name, err)) != BYRON_OK) return st;
    byron_graphql_field_t *metas[] = {s->meta_schema, s->meta_type, s->meta_typename, s->meta_type->args};
    for (size_t i = 0; i < 4; i++)
        if ((st = resolve_value(s, metas[i], i == 3, "meta", err)) != BYRON_OK) return st;
    if (s->query_name == NULL) return byron_err_set(err, BYRON_EINVAL, "the schema has no query root type");
    if ((st = root(s, s->query_name, &s->query, err)) != BYRON_OK ||
        (st = root(s, s->mutation_name, &s->mutation, err)) != BYRON_OK ||
        (st = root(s, s->subscription_name, &s->subscription, err)) != BYRON_OK)
        return st;
    /* Documents may use wrappers the schema never mentions ([Int!]! for a
     * variable); pre-intern two levels of wrappers for every named type so
     * validation and execution never write to a shared schema. */
    for (byron_graphql_type_t *t = s->types; t; t = t->next) {
        byron_graphql_type_t *nn = gql_type_non_null(t);
        byron_graphql_type_t *l = gql_type_list(t);
        byron_graphql_type_t *lnn = nn ? gql_type_list(nn) : NULL;
        if (nn == NULL || l == NULL || lnn == NULL || !gql_type_non_null(l) || !gql_type_non_null(lnn) ||
            !gql_type_list(l) || !gql_type_list(lnn) || !gql_type_list(gql_type_non_null(l)) ||
            !gql_type_list(gql_type_non_null(lnn)))
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    if (s->failed) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    s->finalized = true;
    return BYRON_OK;
}
