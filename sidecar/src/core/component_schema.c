/*
 * component_schema.c — generates a component's GraphQL schema from its
 * parsed config (docs/component-spec.md, "Generated names"; every name is
 * listed in docs/graphql.md). component.c has validated the component; what can
 * still fail here is GraphQL's own rule that names are unique, when a
 * generated name collides with another ("OrderFilter" declared as a model
 * beside a model "Order"), and the first collision is reported with the JSON
 * path of the declaration to rename.
 */
#include "component_schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct gen {
    const byron_component_t *c;
    byron_graphql_schema_t *s;
    byron_err_t *err;
    int failed; /* err is set */
} gen_t;

static void fail(gen_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(gen_t *g, const char *fmt, ...) {
    if (g->failed) return; /* the first problem is the one to fix */
    va_list ap;
    va_start(ap, fmt);
    char msg[BYRON_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    byron_err_set(g->err, BYRON_EINVAL, "%s", msg);
    g->failed = 1;
}

static byron_graphql_type_t *add_type(gen_t *g, byron_graphql_type_kind_t k, const char *name,
                                      const char *desc) {
    byron_graphql_type_t *t = byron_graphql_schema_add_type(g->s, k, name, desc);
    if (t == NULL)
        fail(g,
             "generated type \"%s\" collides with another type (a model, enum or generated name); rename the "
             "model or enum",
             name);
    return t;
}

static byron_graphql_field_t *add_field(gen_t *g, byron_graphql_type_t *t, const char *name, const char *type,
                                        const char *desc) {
    byron_graphql_field_t *f = byron_graphql_type_add_field(t, name, type, desc);
    if (f == NULL)
        fail(g, "generated field \"%s.%s\" collides with another field; rename the model, field or command",
             byron_graphql_type_name(t), name);
    return f;
}

static void set_op(byron_graphql_field_t *f, byron_component_schema_verb_t verb, const byron_model_t *m,
                   const byron_command_def_t *cmd) {
    byron_component_schema_op_t op = {.verb = verb, .model = m, .command = cmd};
    byron_graphql_field_set_meta(f, &op, sizeof op);
}

/* GraphQL type reference of a declared field; `input`: references become IDs. */
static void field_type(const byron_field_t *f, int input, int force_optional, char *buf, size_t n) {
    const char *base = f->kind == BYRON_TYPE_MODEL && input ? "ID" : f->type_name;
    int req = f->required && !force_optional;
    if (f->list)
        snprintf(buf, n, "[%s!]%s", base, req ? "!" : "");
    else
        snprintf(buf, n, "%s%s", base, req ? "!" : "");
}

static void upper_snake(const char *in, char *out, size_t n) {
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 2 < n; i++) {
        if (i > 0 && isupper((unsigned char)in[i])) out[j++] = '_';
        out[j++] = (char)toupper((unsigned char)in[i]);
    }
    out[j] = '\0';
}

static void lower_first(const char *in, char *out, size_t n) {
    snprintf(out, n, "%s", in);
    out[0] = (char)tolower((unsigned char)out[0]);
}

/* ------------------------------------------------------------------ shared types */

static void filter_input(gen_t *g, const char *of, int ordered) {
    char name[160], list[160];
    snprintf(name, sizeof name, "%sFilter", of);
    snprintf(list, sizeof list, "[%s!]", of);
    byron_graphql_type_t *t = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, name, NULL);
    if (!t) return;
    add_field(g, t, "eq", of, "Equal to.");
    add_field(g, t, "ne", of, "Not equal to.");
    add_field(g, t, "in", list, "One of.");
    if (!ordered) return;
    add_field(g, t, "gt", of, "Greater than.");
    add_field(g, t, "gte", of, "Greater than or equal to.");
    add_field(g, t, "lt", of, "Less than.");
    add_field(g, t, "lte", of, "Less than or equal to.");
}

static void shared_types(gen_t *g) {
    byron_graphql_type_t *t = add_type(g, BYRON_GRAPHQL_SCALAR, "DateTime",
                                       "An RFC 3339 date-time string, e.g. \"2024-01-31T12:00:00Z\".");
    if (t) byron_graphql_scalar_set_specified_by(t, "https://datatracker.ietf.org/doc/html/rfc3339");
    add_type(g, BYRON_GRAPHQL_SCALAR, "JSON", "Any JSON value.");
    if ((t = add_type(g, BYRON_GRAPHQL_ENUM, "SortDirection", "Sort order."))) {
        byron_graphql_enum_add_value(t, "ASC", "Ascending.");
        byron_graphql_enum_add_value(t, "DESC", "Descending.");
    }
    if ((t = add_type(g, BYRON_GRAPHQL_OBJECT, "PageInfo", "Relay cursor pagination state."))) {
        add_field(g, t, "hasNextPage", "Boolean!", NULL);
        add_field(g, t, "hasPreviousPage", "Boolean!", NULL);
        add_field(g, t, "startCursor", "String", NULL);
        add_field(g, t, "endCursor", "String", NULL);
    }
    if ((t = add_type(g, BYRON_GRAPHQL_OBJECT, "ByronEvent", "An event of this component's stream."))) {
        add_field(g, t, "sequence", "String!",
                  "Stream sequence number, as a decimal string (it can exceed Int's 32 bits).");
        add_field(g, t, "type", "String!", "Event type, e.g. OrderCreated.");
        add_field(g, t, "model", "String!", "The aggregate's model.");
        add_field(g, t, "id", "ID!", "The aggregate's id.");
        add_field(g, t, "version", "Int!", "The aggregate's version after this event.");
        add_field(g, t, "time", "DateTime", NULL);
        add_field(g, t, "data", "JSON",
                  "Created: the full object; Updated: the changed fields; Deleted: {}.");
    }
    static const char *const SCALARS[] = {"ID", "String", "Int", "Float", "Boolean", "DateTime"};
    for (size_t i = 0; i < sizeof SCALARS / sizeof SCALARS[0]; i++)
        filter_input(g, SCALARS[i], strcmp(SCALARS[i], "Boolean") != 0);
}

static void enums(gen_t *g) {
    for (size_t i = 0; i < g->c->nenums && !g->failed; i++) {
        const byron_enum_t *e = &g->c->enums[i];
        byron_graphql_type_t *t = byron_graphql_schema_add_type(g->s, BYRON_GRAPHQL_ENUM, e->name, NULL);
        if (!t) {
            fail(g, "enums[%zu].name: \"%s\" collides with a generated type", i, e->name);
            return;
        }
        for (size_t j = 0; j < e->nvalues; j++) byron_graphql_enum_add_value(t, e->values[j], NULL);
        filter_input(g, e->name, 0);
    }
}

/* ------------------------------------------------------------------ per model */

/* The object type: id, version and the declared fields. */
static void object_type(gen_t *g, size_t idx) {
    const byron_model_t *m = &g->c->models[idx];
    char ref[200];
    byron_graphql_type_t *t = byron_graphql_schema_add_type(g->s, BYRON_GRAPHQL_OBJECT, m->name, NULL);
    if (t == NULL) {
        fail(g, "models[%zu].name: \"%s\" collides with a generated type", idx, m->name);
        return;
    }
    add_field(g, t, "id", "ID!", NULL);
    add_field(g, t, "version", "Int!", "Number of events applied to this object.");
    for (size_t i = 0; i < m->nfields; i++) {
        const byron_field_t *f = &m->fields[i];
        field_type(f, 0, 0, ref, sizeof ref);
        byron_graphql_field_t *gf = add_field(g, t, f->name, ref, NULL);
        if (gf && f->kind == BYRON_TYPE_MODEL) set_op(gf, BYRON_SCHEMA_REF, f->model_ref, NULL);
    }
}

/* MCreateInput (every field, id optional) and MUpdateInput (every field optional). */
static void input_types(gen_t *g, const byron_model_t *m) {
    char n1[160], n2[160], ref[200];
    snprintf(n1, sizeof n1, "%sCreateInput", m->name);
    snprintf(n2, sizeof n2, "%sUpdateInput", m->name);
    byron_graphql_type_t *ci = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n1, NULL),
                         *ui = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, n2, NULL);
    if (!ci || !ui) return;
    add_field(g, ci, "id", "ID", "Client-chosen id ([A-Za-z0-9_-]{1,128}); generated if absent.");
    for (size_t i = 0; i < m->nfields; i++) {
        field_type(&m->fields[i], 1, 0, ref, sizeof ref);
        add_field(g, ci, m->fields[i].name, ref, NULL);
        field_type(&m->fields[i], 1, 1, ref, sizeof ref);
        add_field(g, ui, m->fields[i].name, ref, NULL);
    }
    /* Input objects need a field; an update of a field-less model changes nothing. */
    if (m->nfields == 0) add_field(g, ui, "_", "Boolean", "Placeholder: this model has no fields.");
}

/* MMutationResult, MEdge, MConnection. */
static void result_types(gen_t *g, const byron_model_t *m) {
    char n1[160], n2[160], ref[200];
    snprintf(n1, sizeof n1, "%sMutationResult", m->name);
    byron_graphql_type_t *t = add_type(g, BYRON_GRAPHQL_OBJECT, n1, NULL);
    if (t) {
        add_field(g, t, "id", "ID!", NULL);
        add_field(g, t, "version", "Int!", "The object's version after the command.");
        add_field(g, t, "sequence", "String!",
                  "Stream sequence of the last event, as a decimal string (64-bit).");
        add_field(g, t, "events", "[ByronEvent!]!", "The events the command emitted.");
        add_field(g, t, "projected", "Boolean",
                  "Under the Byron-Consistency: projected header: whether the cache had the command's "
                  "version within the wait (read-your-writes); null otherwise.");
    }
    snprintf(n1, sizeof n1, "%sEdge", m->name);
    if ((t = add_type(g, BYRON_GRAPHQL_OBJECT, n1, NULL))) {
        add_field(g, t, "cursor", "String!", NULL);
        snprintf(ref, sizeof ref, "%s!", m->name);
        add_field(g, t, "node", ref, NULL);
    }
    snprintf(n2, sizeof n2, "%sConnection", m->name);
    if ((t = add_type(g, BYRON_GRAPHQL_OBJECT, n2, NULL))) {
        snprintf(ref, sizeof ref, "[%s!]!", n1);
        add_field(g, t, "edges", ref, NULL);
        add_field(g, t, "pageInfo", "PageInfo!", NULL);
    }
}

/* MFilter (the indexed fields, and/or/not), MOrderField, MOrderBy. */
static void filter_types(gen_t *g, size_t idx) {
    const byron_model_t *m = &g->c->models[idx];
    char fname[160], oname[160], ref[200];
    snprintf(fname, sizeof fname, "%sFilter", m->name);
    snprintf(oname, sizeof oname, "%sOrderField", m->name);
    byron_graphql_type_t *filter = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, fname, NULL),
                         *ofield = add_type(g, BYRON_GRAPHQL_ENUM, oname, NULL);
    if (!filter || !ofield) return;
    add_field(g, filter, "id", "IDFilter", NULL);
    byron_graphql_enum_add_value(ofield, "ID", "Order by id.");
    for (size_t i = 0; i < m->nfields; i++) {
        const byron_field_t *f = &m->fields[i];
        if (!f->indexed) continue; /* component.c refuses indexed lists and JSON */
        snprintf(ref, sizeof ref, "%sFilter", f->kind == BYRON_TYPE_MODEL ? "ID" : f->type_name);
        add_field(g, filter, f->name, ref, NULL);
        char up[160];
        upper_snake(f->name, up, sizeof up);
        if (byron_graphql_enum_add_value(ofield, up, NULL) != BYRON_OK)
            fail(g, "models[%zu].fields[%zu]: order field %s collides with another field", idx, i, up);
    }
    /* An indexed field named and/or/not would take a combinator's place. */
    snprintf(ref, sizeof ref, "[%s!]", fname);
    add_field(g, filter, "and", ref, "All of these.");
    add_field(g, filter, "or", ref, "Any of these.");
    add_field(g, filter, "not", fname, "Not this.");
    snprintf(ref, sizeof ref, "%sOrderBy", m->name);
    byron_graphql_type_t *oby = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, ref, NULL);
    if (!oby) return;
    snprintf(ref, sizeof ref, "%s!", oname);
    add_field(g, oby, "field", ref, NULL);
    byron_graphql_field_t *dir = add_field(g, oby, "direction", "SortDirection", NULL);
    if (dir) {
        json_object *asc = json_object_new_string("ASC");
        byron_graphql_field_set_default(dir, asc);
        json_object_put(asc);
    }
}

/* A root field tagged with its op, with `id: ID!` when with_id and
 * `input: <input>` when input is not NULL. */
static byron_graphql_field_t *root_field(gen_t *g, byron_graphql_type_t *root, const char *field,
                                         const char *ret, byron_component_schema_verb_t verb,
                                         const byron_model_t *m, int with_id, const char *input) {
    byron_graphql_field_t *f = add_field(g, root, field, ret, NULL);
    if (f == NULL) return NULL;
    if (with_id) byron_graphql_field_add_arg(f, "id", "ID!", NULL, NULL);
    if (input) byron_graphql_field_add_arg(f, "input", input, NULL, NULL);
    set_op(f, verb, m, NULL);
    return f;
}

static void root_fields(gen_t *g, const byron_model_t *m, byron_graphql_type_t *query,
                        byron_graphql_type_t *mutation, byron_graphql_type_t *subscription) {
    char lc[140], field[160], ret[200], input[200];
    lower_first(m->name, lc, sizeof lc);
    root_field(g, query, lc, m->name, BYRON_SCHEMA_GET, m, 1, NULL);
    snprintf(ret, sizeof ret, "%sMutationResult!", m->name);
    snprintf(field, sizeof field, "create%s", m->name);
    snprintf(input, sizeof input, "%sCreateInput!", m->name);
    root_field(g, mutation, field, ret, BYRON_SCHEMA_CREATE, m, 0, input);
    snprintf(field, sizeof field, "update%s", m->name);
    snprintf(input, sizeof input, "%sUpdateInput!", m->name);
    root_field(g, mutation, field, ret, BYRON_SCHEMA_UPDATE, m, 1, input);
    snprintf(field, sizeof field, "delete%s", m->name);
    root_field(g, mutation, field, ret, BYRON_SCHEMA_DELETE, m, 1, NULL);

    snprintf(field, sizeof field, "%ss", lc);
    snprintf(ret, sizeof ret, "%sConnection!", m->name);
    byron_graphql_field_t *f = root_field(g, query, field, ret, BYRON_SCHEMA_LIST, m, 0, NULL);
    if (f) {
        snprintf(input, sizeof input, "%sFilter", m->name);
        byron_graphql_field_add_arg(f, "filter", input, NULL, NULL);
        snprintf(input, sizeof input, "[%sOrderBy!]", m->name);
        byron_graphql_field_add_arg(f, "orderBy", input, NULL, NULL);
        byron_graphql_field_add_arg(f, "first", "Int", NULL, "Forward page size.");
        byron_graphql_field_add_arg(f, "after", "String", NULL, "Cursor to page forward from.");
        byron_graphql_field_add_arg(f, "last", "Int", NULL, "Backward page size.");
        byron_graphql_field_add_arg(f, "before", "String", NULL, "Cursor to page backward from.");
    }

    snprintf(field, sizeof field, "%sEvents", lc);
    f = add_field(g, subscription, field, "ByronEvent!",
                  "Events of this model; of one object when `id` is given.");
    if (f) {
        byron_graphql_field_add_arg(f, "id", "ID", NULL, "Only this object's events.");
        byron_graphql_field_add_arg(
            f, "fromSequence", "String", NULL,
            "Replay from this stream sequence (decimal string); absent: new events only.");
        set_op(f, BYRON_SCHEMA_EVENTS, m, NULL);
    }
}

/* ------------------------------------------------------------------ custom commands */

static void command(gen_t *g, size_t idx, byron_graphql_type_t *mutation) {
    const byron_command_def_t *d = &g->c->commands[idx];
    char iname[160], ref[200];
    byron_graphql_type_t *it = NULL;
    if (d->ninput > 0) {
        snprintf(iname, sizeof iname, "%c%sInput", toupper((unsigned char)d->name[0]), d->name + 1);
        if (!(it = add_type(g, BYRON_GRAPHQL_INPUT_OBJECT, iname, NULL))) return;
        for (size_t i = 0; i < d->ninput; i++) {
            field_type(&d->input[i], 1, 0, ref, sizeof ref);
            add_field(g, it, d->input[i].name, ref, NULL);
        }
    }
    snprintf(ref, sizeof ref, "%sMutationResult!", d->model->name);
    byron_graphql_field_t *f = byron_graphql_type_add_field(mutation, d->name, ref, NULL);
    if (f == NULL) {
        fail(g, "commands[%zu].name: \"%s\" collides with a generated mutation", idx, d->name);
        return;
    }
    byron_graphql_field_add_arg(f, "id", "ID!", NULL, "The target object.");
    if (it) {
        snprintf(ref, sizeof ref, "%s!", iname);
        byron_graphql_field_add_arg(f, "input", ref, NULL, NULL);
    }
    set_op(f, BYRON_SCHEMA_COMMAND, d->model, d);
}

/* ------------------------------------------------------------------ the schema */

static void generate(gen_t *g) {
    shared_types(g);
    enums(g);
    byron_graphql_type_t *q = add_type(g, BYRON_GRAPHQL_OBJECT, "Query", NULL),
                         *mu = add_type(g, BYRON_GRAPHQL_OBJECT, "Mutation", NULL),
                         *sub = add_type(g, BYRON_GRAPHQL_OBJECT, "Subscription", NULL);
    /* A field may reference a later model: types resolve at finalize. */
    for (size_t i = 0; i < g->c->nmodels && !g->failed; i++) {
        const byron_model_t *m = &g->c->models[i];
        object_type(g, i);
        input_types(g, m);
        result_types(g, m);
        filter_types(g, i);
        root_fields(g, m, q, mu, sub);
    }
    for (size_t i = 0; i < g->c->ncommands && !g->failed; i++) command(g, i, mu);
}

byron_status_t byron_component_schema(const byron_component_t *c, byron_graphql_schema_t **out,
                                      byron_err_t *err) {
    *out = NULL;
    if (c->nmodels == 0)
        return byron_err_set(err, BYRON_EINVAL,
                             "models: at least one model is required (the API serves models)");
    gen_t g = {.c = c, .err = err};
    if (!(g.s = byron_graphql_schema_new())) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    generate(&g);
    if (!g.failed) {
        byron_err_t ferr;
        byron_graphql_schema_set_roots(g.s, "Query", "Mutation", "Subscription");
        if (byron_graphql_schema_finalize(g.s, &ferr) != BYRON_OK)
            fail(&g, "generated schema is invalid: %s", ferr.msg);
    }
    if (g.failed) {
        byron_graphql_schema_free(g.s);
        return err->code;
    }
    *out = g.s;
    return BYRON_OK;
}
