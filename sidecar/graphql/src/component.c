/*
 * component.c — generates a component's GraphQL schema from its config JSON
 * (docs/component-spec.md, "Generated names"; every name is listed in
 * docs/graphql.md). The config is checked as it is read, and the first
 * problem is reported with the JSON path of the offending field, since the
 * reader is someone fixing a ByronComponent resource.
 *
 * Resolvers find out what a generated field means from info->meta:
 *   get:M  list:M  create:M  update:M  delete:M  command:<c>:M
 *   ref:M (a model reference field on an object)  events:M (subscription)
 */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen {
    byron_graphql_schema_t *s;
    json_object *models, *enums, *commands;
    char *err;
    size_t errlen;
} gen_t;

static int fail(gen_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(gen_t *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, g->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ^[A-Z][A-Za-z0-9]*$ (upper) or ^[a-z][A-Za-z0-9]*$ (lower). */
static bool camel(const char *s, bool upper) {
    if (s == NULL || !(upper ? isupper((unsigned char)*s) : islower((unsigned char)*s))) return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s)) return false;
    return true;
}

static bool enum_value_name(const char *s) {
    if (s == NULL || !isupper((unsigned char)*s)) return false;
    for (s++; *s; s++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return false;
    return true;
}

static const char *get_str(json_object *o, const char *key) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_get_type(v) != json_type_string) return NULL;
    return json_object_get_string(v);
}

static int get_bool(gen_t *g, json_object *o, const char *key, const char *where, bool *out) {
    json_object *v = NULL;
    *out = false;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL) return 0;
    if (json_object_get_type(v) != json_type_boolean) return fail(g, "%s.%s: must be a boolean", where, key);
    *out = json_object_get_boolean(v);
    return 0;
}

static int get_array(gen_t *g, json_object *o, const char *key, const char *where, json_object **out) {
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL) return 0;
    if (json_object_get_type(v) != json_type_array)
        return fail(g, "%s%s%s: must be an array", where, *where ? "." : "", key);
    *out = v;
    return 0;
}

static json_object *find_named(json_object *arr, const char *name) {
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *x = get_str(json_object_array_get_idx(arr, i), "name");
        if (x && strcmp(x, name) == 0) return json_object_array_get_idx(arr, i);
    }
    return NULL;
}

static bool builtin_scalar(const char *t) {
    static const char *const names[] = {"ID", "String", "Int", "Float", "Boolean", "DateTime", "JSON", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(t, names[i]) == 0) return true;
    return false;
}

typedef enum { K_SCALAR, K_ENUM, K_MODEL } fkind_t;

typedef struct fieldspec {
    const char *name, *type;
    bool required, list, indexed, unique;
    fkind_t kind;
} fieldspec_t;

/* Reads and checks one field declaration (model field or command input). */
static int read_field(gen_t *g, json_object *f, const char *where, fieldspec_t *out) {
    memset(out, 0, sizeof(*out));
    if (json_object_get_type(f) != json_type_object) return fail(g, "%s: must be an object", where);
    out->name = get_str(f, "name");
    if (!camel(out->name, false))
        return fail(g, "%s.name: \"%s\" must match ^[a-z][A-Za-z0-9]*$", where,
                    out->name ? out->name : "(missing)");
    out->type = get_str(f, "type");
    if (out->type == NULL)
        return fail(g,
                    "%s.type: missing (ID String Int Float Boolean DateTime JSON, an enum or "
                    "a model)",
                    where);
    if (builtin_scalar(out->type))
        out->kind = K_SCALAR;
    else if (find_named(g->enums, out->type))
        out->kind = K_ENUM;
    else if (find_named(g->models, out->type))
        out->kind = K_MODEL;
    else
        return fail(g, "%s.type: unknown type \"%s\" (not a built-in scalar, enum or model)", where,
                    out->type);
    if (get_bool(g, f, "required", where, &out->required) < 0 ||
        get_bool(g, f, "list", where, &out->list) < 0 ||
        get_bool(g, f, "indexed", where, &out->indexed) < 0 ||
        get_bool(g, f, "unique", where, &out->unique) < 0)
        return -1;
    if (out->unique) out->indexed = true;
    return 0;
}

/* GraphQL type reference of a declared field; `input`: references become IDs. */
static void field_type(const fieldspec_t *f, bool input, bool force_optional, char *buf, size_t n) {
    const char *base = f->kind == K_MODEL && input ? "ID" : f->type;
    bool req = f->required && !force_optional;
    if (f->list)
        snprintf(buf, n, "[%s!]%s", base, req ? "!" : "");
    else
        snprintf(buf, n, "%s%s", base, req ? "!" : "");
}

static byron_graphql_type_t *add_type(gen_t *g, byron_graphql_type_kind_t k, const char *name,
                                      const char *desc) {
    byron_graphql_type_t *t = byron_graphql_schema_add_type(g->s, k, name, desc);
    if (t == NULL)
        fail(g,
             "generated type \"%s\" collides with another type (a model, enum or generated "
             "name); rename the model or enum",
             name);
    return t;
}

static byron_graphql_field_t *add_field(gen_t *g, byron_graphql_type_t *t, const char *name, const char *type,
                                        const char *desc) {
    byron_graphql_field_t *f = byron_graphql_type_add_field(t, name, type, desc);
    if (f == NULL)
        fail(g,
             "generated field \"%s.%s\" collides with another field; rename the model, "
             "field or command",
             byron_graphql_type_name(t), name);
    return f;
}

static void upper_snake(const char *in, char *out, size_t n) {
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 2 < n; i++) {
        if (i > 0 && isupper((unsigned char)in[i])) out[j++] = '_';
        out[j++] = (char)toupper((unsigned char)in[i]);
    }
    out[j] = '\0';
}

static const char *filter_type_for(const fieldspec_t *f, char *buf, size_t n) {
    if (f->kind == K_MODEL) return "IDFilter";
    if (f->kind == K_ENUM) {
        snprintf(buf, n, "%sFilter", f->type);
        return buf;
    }
    if (strcmp(f->type, "JSON") == 0) return NULL;
    snprintf(buf, n, "%sFilter", f->type);
    return buf;
}

static int shared_types(gen_t *g) {
    byron_graphql_type_t *t;
    t = add_type(g, BYRON_GRAPHQL_SCALAR, "DateTime",
                 "An RFC 3339 date-time string, e.g. \"2024-01-31T12:00:00Z\".");
    if (!t) return -1;
    byron_graphql_scalar_set_specified_by(t, "https://datatracker.ietf.org/doc/html/rfc3339");
    if (!add_type(g, BYRON_GRAPHQL_SCALAR, "JSON", "Any JSON value.")) return -1;
    t = add_type(g, BYRON_GRAPHQL_ENUM, "SortDirection", "Sort order.");
    if (!t) return -1;
    byron_graphql_enum_add_value(t, "ASC", "Ascending.");
    byron_graphql_enum_add_value(t, "DESC", "Descending.");
    t = add_type(g, BYRON_GRAPHQL_OBJECT, "PageInfo", "Relay cursor pagination state.");
    if (!t) return -1;
    add_field(g, t, "hasNextPage", "Boolean!", NULL);
    add_field(g, t, "hasPreviousPage", "Boolean!", NULL);
    add_field(g, t, "startCursor", "String", NULL);
    add_field(g, t, "endCursor", "String", NULL);
    t = add_type(g, BYRON_GRAPHQL_OBJECT, "ByronEvent", "An event of this component's stream.");
    if (!t) return -1;
    add_field(g, t, "sequence", "String!",
              "Stream sequence number, as a decimal string (it can exceed Int's 32 bits).");
    add_field(g, t, "type", "String!", "Event type, e.g. OrderCreated.");
    add_field(g, t, "model", "String!", "The aggregate's model.");
    add_field(g, t, "id", "ID!", "The aggregate's id.");
    add_field(g, t, "version", "Int!", "The aggregate's version after this event.");
    add_field(g, t, "time", "DateTime", NULL);
    add_field(g, t, "data", "JSON", "Created: the full object; Updated: the changed fields; Deleted: {}.");
    static const char *const scalars[] = {"ID", "String", "Int", "Float", "Boolean", "DateTime"};
    for (size_t i = 0; i < 6; i++) {
        char name[64], ref[64], list[64];
        snprintf(name, sizeof(name), "%sFilter", scalars[i]);
        snprintf(ref, sizeof(ref), "%s", scalars[i]);
        snprintf(list, sizeof(list), "[%s!]", scalars[i]);
        t = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, name, NULL);
        if (!t) return -1;
        add_field(g, t, "eq", ref, "Equal to.");
        add_field(g, t, "ne", ref, "Not equal to.");
        add_field(g, t, "in", list, "One of.");
        if (strcmp(scalars[i], "Boolean") != 0) {
            add_field(g, t, "gt", ref, "Greater than.");
            add_field(g, t, "gte", ref, "Greater than or equal to.");
            add_field(g, t, "lt", ref, "Less than.");
            add_field(g, t, "lte", ref, "Less than or equal to.");
        }
    }
    return 0;
}

static int enums(gen_t *g) {
    size_t n = g->enums ? json_object_array_length(g->enums) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(g->enums, i);
        char where[64];
        snprintf(where, sizeof(where), "enums[%zu]", i);
        if (json_object_get_type(e) != json_type_object) return fail(g, "%s: must be an object", where);
        const char *name = get_str(e, "name");
        if (!camel(name, true))
            return fail(g, "%s.name: \"%s\" must match ^[A-Z][A-Za-z0-9]*$", where,
                        name ? name : "(missing)");
        if (builtin_scalar(name)) return fail(g, "%s.name: \"%s\" is a built-in scalar", where, name);
        json_object *values = NULL;
        if (get_array(g, e, "values", where, &values) < 0) return -1;
        if (values == NULL || json_object_array_length(values) == 0)
            return fail(g, "%s.values: at least one value is required", where);
        byron_graphql_type_t *t = add_type(g, BYRON_GRAPHQL_ENUM, name, NULL);
        if (!t) return -1;
        for (size_t j = 0; j < json_object_array_length(values); j++) {
            json_object *v = json_object_array_get_idx(values, j);
            const char *vn = json_object_get_type(v) == json_type_string ? json_object_get_string(v) : NULL;
            if (!enum_value_name(vn))
                return fail(g, "%s.values[%zu]: \"%s\" must match ^[A-Z][A-Z0-9_]*$", where, j,
                            vn ? vn : "(not a string)");
            if (byron_graphql_enum_add_value(t, vn, NULL) != BYRON_GRAPHQL_OK)
                return fail(g, "%s.values[%zu]: duplicate value \"%s\"", where, j, vn);
        }
        char fname[128], lname[140];
        snprintf(fname, sizeof(fname), "%sFilter", name);
        snprintf(lname, sizeof(lname), "[%s!]", name);
        byron_graphql_type_t *ft = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, fname, NULL);
        if (!ft) return -1;
        add_field(g, ft, "eq", name, "Equal to.");
        add_field(g, ft, "ne", name, "Not equal to.");
        add_field(g, ft, "in", lname, "One of.");
    }
    return 0;
}

static void lower_first(const char *in, char *out, size_t n) {
    snprintf(out, n, "%s", in);
    out[0] = (char)tolower((unsigned char)out[0]);
}

/* A root field `field: ret` tagged "<verb>:<model>" (info->meta), with
 * `id: ID!` when with_id and `input: <input>` when input is not NULL. */
static byron_graphql_field_t *root_field(gen_t *g, byron_graphql_type_t *root, const char *field,
                                         const char *ret, const char *verb, const char *model, bool with_id,
                                         const char *input) {
    char meta[300];
    byron_graphql_field_t *f = add_field(g, root, field, ret, NULL);
    if (f == NULL) return NULL;
    if (with_id) byron_graphql_field_add_arg(f, "id", "ID!", NULL, NULL);
    if (input) byron_graphql_field_add_arg(f, "input", input, NULL, NULL);
    snprintf(meta, sizeof(meta), "%s:%s", verb, model);
    byron_graphql_field_set_meta(f, meta);
    return f;
}

static int model(gen_t *g, json_object *m, size_t idx, byron_graphql_type_t *query,
                 byron_graphql_type_t *mutation, byron_graphql_type_t *subscription) {
    char where[64], n1[160], n2[160], ref[200], meta[200], lc[140];
    snprintf(where, sizeof(where), "models[%zu]", idx);
    const char *name = get_str(m, "name");
    json_object *fields = NULL;
    if (get_array(g, m, "fields", where, &fields) < 0) return -1;
    size_t nf = fields ? json_object_array_length(fields) : 0;
    fieldspec_t *specs = calloc(nf ? nf : 1, sizeof(*specs));
    if (specs == NULL) return fail(g, "out of memory");
    int rc = -1;
    for (size_t i = 0; i < nf; i++) {
        char fw[96];
        snprintf(fw, sizeof(fw), "%s.fields[%zu]", where, i);
        if (read_field(g, json_object_array_get_idx(fields, i), fw, &specs[i]) < 0) goto out;
        if (strcmp(specs[i].name, "id") == 0 || strcmp(specs[i].name, "version") == 0) {
            fail(g, "%s.name: \"%s\" is implicit and may not be declared", fw, specs[i].name);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(specs[i].name, specs[j].name) == 0) {
                fail(g, "%s.name: duplicate field \"%s\"", fw, specs[i].name);
                goto out;
            }
    }
    byron_graphql_type_t *t = byron_graphql_schema_add_type(g->s, BYRON_GRAPHQL_OBJECT, name, NULL);
    if (t == NULL) {
        /* The object type may exist already when it was created as a forward reference. */
        fail(g, "%s.name: \"%s\" collides with another model, enum or generated type", where, name);
        goto out;
    }
    byron_graphql_field_t *f;
    if (!(f = add_field(g, t, "id", "ID!", NULL)) ||
        !(f = add_field(g, t, "version", "Int!", "Number of events applied to this object.")))
        goto out;
    for (size_t i = 0; i < nf; i++) {
        field_type(&specs[i], false, false, ref, sizeof(ref));
        if (!(f = add_field(g, t, specs[i].name, ref, NULL))) goto out;
        if (specs[i].kind == K_MODEL) {
            snprintf(meta, sizeof(meta), "ref:%s", specs[i].type);
            byron_graphql_field_set_meta(f, meta);
        }
    }
    /* Inputs. */
    byron_graphql_type_t *ci, *ui;
    snprintf(n1, sizeof(n1), "%sCreateInput", name);
    snprintf(n2, sizeof(n2), "%sUpdateInput", name);
    if (!(ci = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n1, NULL)) ||
        !(ui = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n2, NULL)))
        goto out;
    add_field(g, ci, "id", "ID", "Client-chosen id ([A-Za-z0-9_-]{1,128}); generated if absent.");
    for (size_t i = 0; i < nf; i++) {
        field_type(&specs[i], true, false, ref, sizeof(ref));
        if (!add_field(g, ci, specs[i].name, ref, NULL)) goto out;
        field_type(&specs[i], true, true, ref, sizeof(ref));
        if (!add_field(g, ui, specs[i].name, ref, NULL)) goto out;
    }
    if (nf == 0) {
        /* Input objects need a field; an update of a field-less model changes nothing. */
        add_field(g, ui, "_", "Boolean", "Placeholder: this model has no fields.");
    }
    /* Mutation result, connection, edge. */
    byron_graphql_type_t *mr, *edge, *conn;
    snprintf(n1, sizeof(n1), "%sMutationResult", name);
    if (!(mr = add_type(g, BYRON_GRAPHQL_OBJECT, n1, NULL))) goto out;
    add_field(g, mr, "id", "ID!", NULL);
    add_field(g, mr, "version", "Int!", "The object's version after the command.");
    add_field(g, mr, "sequence", "String!",
              "Stream sequence of the last event, as a decimal string (64-bit).");
    add_field(g, mr, "events", "[ByronEvent!]!", "The events the command emitted.");
    add_field(g, mr, "projected", "Boolean",
              "Under the Byron-Consistency: projected header: whether the cache had the command's "
              "version within the wait (read-your-writes); null otherwise.");
    snprintf(n1, sizeof(n1), "%sEdge", name);
    if (!(edge = add_type(g, BYRON_GRAPHQL_OBJECT, n1, NULL))) goto out;
    add_field(g, edge, "cursor", "String!", NULL);
    snprintf(ref, sizeof(ref), "%s!", name);
    add_field(g, edge, "node", ref, NULL);
    snprintf(n2, sizeof(n2), "%sConnection", name);
    if (!(conn = add_type(g, BYRON_GRAPHQL_OBJECT, n2, NULL))) goto out;
    snprintf(ref, sizeof(ref), "[%s!]!", n1);
    add_field(g, conn, "edges", ref, NULL);
    add_field(g, conn, "pageInfo", "PageInfo!", NULL);
    /* Filter and order. */
    byron_graphql_type_t *filter, *ofield, *oby;
    snprintf(n1, sizeof(n1), "%sFilter", name);
    if (!(filter = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n1, NULL))) goto out;
    add_field(g, filter, "id", "IDFilter", NULL);
    snprintf(n2, sizeof(n2), "%sOrderField", name);
    if (!(ofield = add_type(g, BYRON_GRAPHQL_ENUM, n2, NULL))) goto out;
    byron_graphql_enum_add_value(ofield, "ID", "Order by id.");
    for (size_t i = 0; i < nf; i++) {
        if (!specs[i].indexed) continue;
        char fb[160], up[160];
        const char *ft = filter_type_for(&specs[i], fb, sizeof(fb));
        if (ft && !add_field(g, filter, specs[i].name, ft, NULL)) goto out;
        if (ft && !specs[i].list) {
            upper_snake(specs[i].name, up, sizeof(up));
            if (byron_graphql_enum_add_value(ofield, up, NULL) != BYRON_GRAPHQL_OK) {
                fail(g, "%s.fields[%zu]: order field %s collides with another field", where, i, up);
                goto out;
            }
        }
    }
    /* An indexed field named and/or/not would take a combinator's place. */
    snprintf(ref, sizeof(ref), "[%s!]", n1);
    if (!add_field(g, filter, "and", ref, "All of these.") ||
        !add_field(g, filter, "or", ref, "Any of these.") || !add_field(g, filter, "not", n1, "Not this."))
        goto out;
    snprintf(n1, sizeof(n1), "%sOrderBy", name);
    if (!(oby = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n1, NULL))) goto out;
    snprintf(ref, sizeof(ref), "%s!", n2);
    add_field(g, oby, "field", ref, NULL);
    if ((f = add_field(g, oby, "direction", "SortDirection", NULL))) {
        json_object *asc = json_object_new_string("ASC");
        byron_graphql_field_set_default(f, asc);
        json_object_put(asc);
    }
    /* Root fields. */
    lower_first(name, lc, sizeof(lc));
    snprintf(ref, sizeof(ref), "%sMutationResult!", name);
    snprintf(n1, sizeof(n1), "create%s", name);
    snprintf(n2, sizeof(n2), "%sCreateInput!", name);
    if (!root_field(g, query, lc, name, "get", name, true, NULL) ||
        !root_field(g, mutation, n1, ref, "create", name, false, n2))
        goto out;
    snprintf(n1, sizeof(n1), "update%s", name);
    snprintf(n2, sizeof(n2), "%sUpdateInput!", name);
    if (!root_field(g, mutation, n1, ref, "update", name, true, n2)) goto out;
    snprintf(n1, sizeof(n1), "delete%s", name);
    if (!root_field(g, mutation, n1, ref, "delete", name, true, NULL)) goto out;
    snprintf(n1, sizeof(n1), "%ss", lc);
    snprintf(ref, sizeof(ref), "%sConnection!", name);
    if (!(f = root_field(g, query, n1, ref, "list", name, false, NULL))) goto out;
    snprintf(n2, sizeof(n2), "%sFilter", name);
    byron_graphql_field_add_arg(f, "filter", n2, NULL, NULL);
    snprintf(n2, sizeof(n2), "[%sOrderBy!]", name);
    byron_graphql_field_add_arg(f, "orderBy", n2, NULL, NULL);
    byron_graphql_field_add_arg(f, "first", "Int", NULL, "Forward page size.");
    byron_graphql_field_add_arg(f, "after", "String", NULL, "Cursor to page forward from.");
    byron_graphql_field_add_arg(f, "last", "Int", NULL, "Backward page size.");
    byron_graphql_field_add_arg(f, "before", "String", NULL, "Cursor to page backward from.");

    snprintf(n1, sizeof(n1), "%sEvents", lc);
    if (!(f = add_field(g, subscription, n1, "ByronEvent!",
                        "Events of this model; of one object when `id` is given.")))
        goto out;
    byron_graphql_field_add_arg(f, "id", "ID", NULL, "Only this object's events.");
    byron_graphql_field_add_arg(f, "fromSequence", "String", NULL,
                                "Replay from this stream sequence (decimal string); absent: "
                                "new events only.");
    snprintf(meta, sizeof(meta), "events:%s", name);
    byron_graphql_field_set_meta(f, meta);
    rc = g->s->failed ? fail(g, "out of memory") : 0;
out:
    free(specs);
    return rc;
}

static int command(gen_t *g, json_object *c, size_t idx, byron_graphql_type_t *mutation) {
    char where[64], iname[160], ref[200], meta[300];
    snprintf(where, sizeof(where), "commands[%zu]", idx);
    if (json_object_get_type(c) != json_type_object) return fail(g, "%s: must be an object", where);
    const char *name = get_str(c, "name");
    if (!camel(name, false))
        return fail(g, "%s.name: \"%s\" must match ^[a-z][A-Za-z0-9]*$", where, name ? name : "(missing)");
    const char *m = get_str(c, "model");
    if (m == NULL || find_named(g->models, m) == NULL)
        return fail(g, "%s.model: \"%s\" is not a model of this component", where, m ? m : "(missing)");
    json_object *input = NULL, *emits = NULL;
    if (get_array(g, c, "input", where, &input) < 0 || get_array(g, c, "emits", where, &emits) < 0) return -1;
    for (size_t i = 0; emits && i < json_object_array_length(emits); i++) {
        json_object *e = json_object_array_get_idx(emits, i);
        const char *en = json_object_get_type(e) == json_type_string ? json_object_get_string(e) : NULL;
        if (!camel(en, true))
            return fail(g, "%s.emits[%zu]: \"%s\" must match ^[A-Z][A-Za-z0-9]*$", where, i,
                        en ? en : "(not a string)");
    }
    size_t ni = input ? json_object_array_length(input) : 0;
    byron_graphql_type_t *it = NULL;
    if (ni > 0) {
        snprintf(iname, sizeof(iname), "%c%sInput", toupper((unsigned char)name[0]), name + 1);
        if (!(it = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, iname, NULL))) return -1;
        for (size_t i = 0; i < ni; i++) {
            char fw[96];
            fieldspec_t fs;
            snprintf(fw, sizeof(fw), "%s.input[%zu]", where, i);
            if (read_field(g, json_object_array_get_idx(input, i), fw, &fs) < 0) return -1;
            field_type(&fs, true, false, ref, sizeof(ref));
            if (byron_graphql_type_add_field(it, fs.name, ref, NULL) == NULL)
                return fail(g, "%s.name: duplicate input field \"%s\"", fw, fs.name);
        }
    }
    snprintf(ref, sizeof(ref), "%sMutationResult!", m);
    byron_graphql_field_t *f = byron_graphql_type_add_field(mutation, name, ref, NULL);
    if (f == NULL)
        return fail(g, "%s.name: \"%s\" collides with a generated mutation or another command", where, name);
    byron_graphql_field_add_arg(f, "id", "ID!", NULL, "The target object.");
    if (it) {
        snprintf(ref, sizeof(ref), "%s!", iname);
        byron_graphql_field_add_arg(f, "input", ref, NULL, NULL);
    }
    snprintf(meta, sizeof(meta), "command:%s:%s", name, m);
    byron_graphql_field_set_meta(f, meta);
    return 0;
}

byron_graphql_status_t byron_graphql_schema_from_component(json_object *component,
                                                           byron_graphql_schema_t **out, char *errbuf,
                                                           size_t errlen) {
    char dummy[8];
    if (errbuf == NULL) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    gen_t g = {.err = errbuf, .errlen = errlen};
    *out = NULL;
    errbuf[0] = '\0';
    if (component == NULL || json_object_get_type(component) != json_type_object) {
        fail(&g, "component: must be a JSON object");
        return BYRON_GRAPHQL_EINVALID;
    }
    if (get_array(&g, component, "models", "", &g.models) < 0 ||
        get_array(&g, component, "enums", "", &g.enums) < 0 ||
        get_array(&g, component, "commands", "", &g.commands) < 0)
        return BYRON_GRAPHQL_EINVALID;
    if (g.models == NULL || json_object_array_length(g.models) == 0) {
        fail(&g, "models: at least one model is required");
        return BYRON_GRAPHQL_EINVALID;
    }
    size_t nm = json_object_array_length(g.models);
    for (size_t i = 0; i < nm; i++) {
        json_object *m = json_object_array_get_idx(g.models, i);
        if (json_object_get_type(m) != json_type_object) {
            fail(&g, "models[%zu]: must be an object", i);
            return BYRON_GRAPHQL_EINVALID;
        }
        const char *name = get_str(m, "name");
        if (!camel(name, true)) {
            fail(&g, "models[%zu].name: \"%s\" must match ^[A-Z][A-Za-z0-9]*$", i, name ? name : "(missing)");
            return BYRON_GRAPHQL_EINVALID;
        }
        if (builtin_scalar(name) || find_named(g.enums, name) || find_named(g.models, name) != m) {
            fail(&g, "models[%zu].name: \"%s\" is already a scalar, enum or model name", i, name);
            return BYRON_GRAPHQL_EINVALID;
        }
    }
    g.s = byron_graphql_schema_new();
    if (g.s == NULL) {
        fail(&g, "out of memory");
        return BYRON_GRAPHQL_ENOMEM;
    }
    byron_graphql_type_t *q = NULL, *mu = NULL, *sub = NULL;
    if (shared_types(&g) < 0 || enums(&g) < 0) goto err;
    if (!(q = add_type(&g, BYRON_GRAPHQL_OBJECT, "Query", NULL)) ||
        !(mu = add_type(&g, BYRON_GRAPHQL_OBJECT, "Mutation", NULL)) ||
        !(sub = add_type(&g, BYRON_GRAPHQL_OBJECT, "Subscription", NULL)))
        goto err;
    for (size_t i = 0; i < nm; i++)
        if (model(&g, json_object_array_get_idx(g.models, i), i, q, mu, sub) < 0) goto err;
    for (size_t i = 0; g.commands && i < json_object_array_length(g.commands); i++)
        if (command(&g, json_object_array_get_idx(g.commands, i), i, mu) < 0) goto err;
    byron_graphql_schema_set_roots(g.s, "Query", "Mutation", "Subscription");
    char ferr[256];
    if (byron_graphql_schema_finalize(g.s, ferr, sizeof(ferr)) != BYRON_GRAPHQL_OK) {
        fail(&g, "generated schema is invalid: %s", ferr);
        goto err;
    }
    *out = g.s;
    return BYRON_GRAPHQL_OK;
err:
    byron_graphql_schema_free(g.s);
    return BYRON_GRAPHQL_EINVALID;
}
