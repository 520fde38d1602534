/*
 * execute.c — the executor (spec 6): operation selection, variable coercion,
 * CollectFields with @skip/@include and fragments, field resolution through
 * callbacks, value completion with null propagation, and errors carrying
 * `path`, `locations` and `extensions.code`.
 *
 * Execution is synchronous and single-threaded per request: resolvers are
 * called one after another on the caller's thread and may block. Mutation
 * root fields therefore run serially, as the spec requires, and query fields
 * do too (we deliberately do not parallelise: resolvers talk to MongoDB/NATS
 * clients that are per-thread in the sidecar).
 *
 * Costs: CollectFields groups by response key with a linear scan, O(k²) in
 * the number of keys of one selection set, bounded by limits.max_fields.
 */
#include "byron/clock.h"
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct group {
    const char *key;
    const gql_selection_t **fields;
    size_t n, cap;
    /* The field's definition on `on`, looked up once for all the objects
     * of a list (the groups are collected once for them: cur_t.memo). */
    const byron_graphql_type_t *on;
    const byron_graphql_field_t *def;
} group_t;

typedef struct groups {
    group_t *g;
    size_t n, cap;
} groups_t;

/* The response path of the field being executed: a key, or an index into a
 * list (key NULL). Kept as a stack of borrowed keys — the document outlives
 * the execution — and made into JSON only for an error. */
typedef struct path_seg {
    const char *key;
    int32_t index;
} path_seg_t;

typedef struct path {
    path_seg_t *seg;
    size_t n, cap;
} path_t;

typedef struct exec {
    const byron_graphql_schema_t *s;
    const byron_graphql_document_t *doc;
    const gql_definition_t *op;
    json_object *vars;
    byron_graphql_resolve_fn resolve;
    void *ctx;
    json_object *errors;
    path_t path;
    int64_t deadline; /* byron_clock_mono_ms() at which execution stops */
    bool has_deadline, deadline_hit, deadline_reported;
    json_object *event;   /* subscription event mode: the root field's value */
    json_object *no_args; /* the args of every field that declares none: {}, made once per execution */
    byron_graphql_authorize_fn authorize;
    uint64_t max_cost;
    gql_out_t out; /* `data`, as text (json_out.c) */
    bool tree;     /* the caller reads `data` as a json-c tree: the text is parsed */
} exec_t;

byron_status_t byron_graphql_default_resolve(void *ctx, json_object *parent, const char *field,
                                             json_object *args, const byron_graphql_resolve_info_t *info,
                                             json_object **result, byron_graphql_field_error_t *err) {
    json_object *v = NULL;
    *result = NULL;
    if (parent && json_object_get_type(parent) == json_type_object &&
        json_object_object_get_ex(parent, field, &v))
        *result = json_object_get(v);
    return BYRON_OK;
}

static void groups_free(groups_t *gs) {
    for (size_t i = 0; i < gs->n; i++) free(gs->g[i].fields);
    free(gs->g);
    memset(gs, 0, sizeof(*gs));
}

static int group_add(groups_t *gs, const gql_selection_t *f) {
    const char *key = gql_response_key(f);
    group_t *g = NULL;
    for (size_t i = 0; i < gs->n; i++)
        if (strcmp(gs->g[i].key, key) == 0) {
            g = &gs->g[i];
            break;
        }
    if (g == NULL) {
        if (gs->n == gs->cap) {
            size_t cap = gs->cap ? gs->cap * 2 : 8;
            group_t *ng = realloc(gs->g, cap * sizeof(*ng));
            if (ng == NULL) return -1;
            gs->g = ng;
            gs->cap = cap;
        }
        g = &gs->g[gs->n++];
        memset(g, 0, sizeof(*g));
        g->key = key;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 2;
        const gql_selection_t **nf = realloc(g->fields, cap * sizeof(*nf));
        if (nf == NULL) return -1;
        g->fields = nf;
        g->cap = cap;
    }
    g->fields[g->n++] = f;
    return 0;
}

/* @skip(if:) / @include(if:) — other directives do not affect execution. */
static bool should_include(exec_t *ex, const gql_directive_t *dirs) {
    for (const gql_directive_t *d = dirs; d; d = d->next) {
        bool skip = strcmp(d->name, "skip") == 0;
        if (!skip && strcmp(d->name, "include") != 0) continue;
        const gql_directive_def_t *def = gql_schema_directive(ex->s, d->name);
        json_object *args = NULL, *cond = NULL;
        char err[256];
        if (gql_coerce_arguments(def->args, d->args, ex->vars, &args, err, sizeof(err)) < 0) return false;
        json_object_object_get_ex(args, "if", &cond);
        bool v = json_object_get_boolean(cond);
        json_object_put(args);
        if (skip ? v : !v) return false;
    }
    return true;
}

typedef struct visited {
    const char **names;
    size_t n, cap;
} visited_t;

static bool visited_has(visited_t *v, const char *name) {
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0) return true;
    return false;
}

static int visited_add(visited_t *v, const char *name) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const char **nn = realloc(v->names, cap * sizeof(*nn));
        if (nn == NULL) return -1;
        v->names = nn;
        v->cap = cap;
    }
    v->names[v->n++] = name;
    return 0;
}

static int collect_fields(exec_t *ex, const byron_graphql_type_t *type, const gql_selection_t *sels,
                          groups_t *gs, visited_t *visited) {
    for (const gql_selection_t *sel = sels; sel; sel = sel->next) {
        if (!should_include(ex, sel->directives)) continue;
        switch (sel->kind) {
        case GQL_S_FIELD:
            if (group_add(gs, sel) < 0) return -1;
            break;
        case GQL_S_SPREAD: {
            if (visited_has(visited, sel->name)) continue;
            if (visited_add(visited, sel->name) < 0) return -1;
            const gql_definition_t *frag = gql_document_fragment(ex->doc, sel->name);
            if (frag == NULL || strcmp(frag->type_condition, type->name) != 0) continue;
            if (collect_fields(ex, type, frag->selections, gs, visited) < 0) return -1;
            break;
        }
        case GQL_S_INLINE:
            if (sel->type_condition && strcmp(sel->type_condition, type->name) != 0) continue;
            if (collect_fields(ex, type, sel->selections, gs, visited) < 0) return -1;
            break;
        }
    }
    return 0;
}

static int path_push(path_t *p, const char *key, int32_t index) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        path_seg_t *ns = realloc(p->seg, cap * sizeof(*ns));
        if (ns == NULL) return -1;
        p->seg = ns;
        p->cap = cap;
    }
    p->seg[p->n++] = (path_seg_t){key, index};
    return 0;
}

static json_object *path_json(const path_t *p) {
    json_object *a = json_object_new_array_ext((int)p->n);
    for (size_t i = 0; i < p->n; i++)
        json_object_array_add(a, p->seg[i].key ? json_object_new_string(p->seg[i].key)
                                               : json_object_new_int(p->seg[i].index));
    return a;
}

static void field_error(exec_t *ex, const group_t *g, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void field_error(exec_t *ex, const group_t *g, const char *code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *e = gql_error_new(NULL, code, "%s", msg);
    for (size_t i = 0; g && i < g->n; i++) gql_error_add_loc(e, &g->fields[i]->loc);
    json_object_object_add(e, "path", path_json(&ex->path));
    json_object_array_add(ex->errors, e);
}

/* Whether the deadline has passed; *remaining_ms: what is left of it (-1:
 * no deadline). One clock read per field. */
static bool past_deadline(exec_t *ex, int64_t *remaining_ms) {
    *remaining_ms = -1;
    if (!ex->has_deadline) return false;
    *remaining_ms = 0;
    if (ex->deadline_hit) return true;
    int64_t ms = ex->deadline - byron_clock_mono_ms();
    if (ms <= 0) ex->deadline_hit = true;
    *remaining_ms = ms < 0 ? 0 : ms;
    return ex->deadline_hit;
}

static int execute_fields(exec_t *ex, const byron_graphql_type_t *type, json_object *parent, groups_t *gs);

/* What writing a value gave: a value written, null (nothing written: the
 * caller writes it or propagates it), or null because of an error already
 * recorded (what was written is taken back by the caller). */
enum { WROTE = 0, WROTE_NOTHING_NULL = 1, NULL_BY_ERROR = -1 };

typedef struct cur {
    const byron_graphql_type_t *parent;
    const byron_graphql_field_t *field;
    const group_t *g;
    /* The sub-selections of g, collected once for all the objects of a list
     * (they depend on the type, the selections and the variables only). */
    groups_t *memo;
} cur_t;

/* A value as JSON ("x" quoted), for error messages, as graphql-js shows it.
 * Called only on error: printing caches the text inside `raw`. */
static const char *repr(json_object *raw) {
    return json_object_to_json_string_ext(raw, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Writes raw as the leaf type t, or returns -1 with err. */
static int serialize_leaf(exec_t *ex, const byron_graphql_type_t *t, json_object *raw, char *err,
                          size_t errlen) {
    gql_out_t *o = &ex->out;
    json_type jt = json_object_get_type(raw);
    if (t->kind == BYRON_GRAPHQL_ENUM) {
        if (jt != json_type_string || gql_enum_value(t, json_object_get_string(raw)) == NULL) {
            snprintf(err, errlen, "Enum \"%s\" cannot represent value: %s", t->name, repr(raw));
            return -1;
        }
        gql_out_value(o, raw);
        return 0;
    }
    switch (t->leaf) {
    case GQL_LEAF_INT: {
        if (jt == json_type_boolean) {
            gql_out_int(o, json_object_get_boolean(raw));
            return 0;
        }
        if (jt != json_type_int && jt != json_type_double) {
            snprintf(err, errlen, "Int cannot represent non-integer value: %s", repr(raw));
            return -1;
        }
        double d = json_object_get_double(raw);
        int64_t i = json_object_get_int64(raw);
        if ((jt == json_type_double && d != (double)(int64_t)d) || d < INT32_MIN || d > INT32_MAX ||
            (jt == json_type_int && (i < INT32_MIN || i > INT32_MAX))) {
            snprintf(err, errlen, "Int cannot represent non 32-bit signed integer value: %s", repr(raw));
            return -1;
        }
        gql_out_int(o, jt == json_type_int ? i : (int32_t)d);
        return 0;
    }
    case GQL_LEAF_FLOAT:
        if (jt == json_type_double) {
            gql_out_value(o, raw);
        } else if (jt == json_type_int || jt == json_type_boolean) {
            char num[40];
            int len = gql_double_text(json_object_get_double(raw), num); /* finite: an int or a boolean */
            gql_out_raw(o, num, (size_t)len);
        } else {
            snprintf(err, errlen, "Float cannot represent non numeric value: %s", repr(raw));
            return -1;
        }
        return 0;
    case GQL_LEAF_STRING:
    case GQL_LEAF_ID:
    case GQL_LEAF_DATETIME:
        if (jt == json_type_string) {
            gql_out_value(o, raw);
        } else if (jt == json_type_int ||
                   ((jt == json_type_double || jt == json_type_boolean) && t->leaf == GQL_LEAF_STRING)) {
            const char *v = json_object_get_string(raw); /* a number or a boolean: its JSON text */
            gql_out_string(o, v, strlen(v));
        } else {
            snprintf(err, errlen, "%s cannot represent value: %s", t->name, repr(raw));
            return -1;
        }
        return 0;
    case GQL_LEAF_BOOLEAN:
        if (jt != json_type_boolean && jt != json_type_int && jt != json_type_double) {
            snprintf(err, errlen, "Boolean cannot represent a non boolean value: %s", repr(raw));
            return -1;
        }
        gql_out_bool(o, jt == json_type_boolean ? json_object_get_boolean(raw)
                                                : json_object_get_double(raw) != 0);
        return 0;
    case GQL_LEAF_CUSTOM: break;
    }
    gql_out_value(o, raw); /* JSON and other custom scalars: the value as is */
    return 0;
}

static int complete_value(exec_t *ex, const cur_t *c, const byron_graphql_type_t *type, json_object *raw);

/* Writes the items of a list; NULL_BY_ERROR when a non-null item is null. */
static int complete_list(exec_t *ex, const cur_t *c, const byron_graphql_type_t *type, json_object *raw) {
    if (json_object_get_type(raw) != json_type_array) {
        field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL,
                    "Expected Iterable, but did not find one for field \"%s.%s\".", c->parent->name,
                    c->field->name);
        return NULL_BY_ERROR;
    }
    size_t n = json_object_array_length(raw);
    groups_t memo = {0};
    cur_t ci = *c;
    if (!ci.memo) ci.memo = &memo;
    int r = WROTE;
    gql_out_raw(&ex->out, "[", 1);
    for (size_t i = 0; i < n && r != NULL_BY_ERROR; i++) {
        if (i > 0) gql_out_raw(&ex->out, ",", 1);
        size_t mark = ex->out.b.len;
        if (path_push(&ex->path, NULL, (int32_t)i) < 0) {
            field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
            r = NULL_BY_ERROR;
            break;
        }
        r = complete_value(ex, &ci, type->of, json_object_array_get_idx(raw, i));
        ex->path.n--;
        if (r == NULL_BY_ERROR && type->of->kind != BYRON_GRAPHQL_NON_NULL) r = WROTE_NOTHING_NULL;
        if (r == WROTE_NOTHING_NULL) { /* a null item */
            gql_out_truncate(&ex->out, mark);
            gql_out_raw(&ex->out, "null", 4);
        }
    }
    groups_free(&memo);
    if (r == NULL_BY_ERROR) return NULL_BY_ERROR;
    gql_out_raw(&ex->out, "]", 1);
    return WROTE;
}

/* Writes raw completed as `type` (spec 6.4.3). */
static int complete_value(exec_t *ex, const cur_t *c, const byron_graphql_type_t *type, json_object *raw) {
    if (type->kind == BYRON_GRAPHQL_NON_NULL) {
        int r = complete_value(ex, c, type->of, raw);
        if (r == WROTE_NOTHING_NULL) {
            field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL,
                        "Cannot return null for non-nullable field %s.%s.", c->parent->name, c->field->name);
            return NULL_BY_ERROR;
        }
        return r;
    }
    if (raw == NULL || json_object_get_type(raw) == json_type_null) return WROTE_NOTHING_NULL;
    if (type->kind == BYRON_GRAPHQL_LIST) return complete_list(ex, c, type, raw);
    if (type->kind == BYRON_GRAPHQL_SCALAR || type->kind == BYRON_GRAPHQL_ENUM) {
        char err[300];
        if (serialize_leaf(ex, type, raw, err, sizeof(err)) < 0) {
            field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL, "%s", err);
            return NULL_BY_ERROR;
        }
        return WROTE;
    }
    /* Object: merge the sub-selections of every field of the group. */
    if (json_object_get_type(raw) != json_type_object) {
        field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL,
                    "Expected an object value for field \"%s.%s\" of type \"%s\".", c->parent->name,
                    c->field->name, type->name);
        return NULL_BY_ERROR;
    }
    groups_t own = {0};
    groups_t *gs = c->memo ? c->memo : &own;
    if (gs->n == 0) { /* not collected yet (or nothing to collect: collecting again is harmless) */
        visited_t vis = {0};
        for (size_t i = 0; i < c->g->n; i++)
            if (collect_fields(ex, type, c->g->fields[i]->selections, gs, &vis) < 0) {
                groups_free(gs);
                free(vis.names);
                field_error(ex, c->g, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
                return NULL_BY_ERROR;
            }
        free(vis.names);
    }
    int r = execute_fields(ex, type, raw, gs);
    groups_free(&own);
    return r;
}

/* NOT_IN_RESPONSE: an unknown field (nothing written); else as complete_value. */
enum { NOT_IN_RESPONSE = 2 };

/* The definition of g's field on type (NULL: not a field of it). */
static const byron_graphql_field_t *group_def(exec_t *ex, const byron_graphql_type_t *type, group_t *g) {
    if (g->on != type) {
        g->def = gql_field_def(ex->s, type, g->fields[0]->name);
        g->on = type;
    }
    return g->def;
}

static int execute_field(exec_t *ex, const byron_graphql_type_t *type, json_object *parent, group_t *g) {
    const gql_selection_t *first = g->fields[0];
    if (strcmp(first->name, "__typename") == 0) {
        gql_out_string(&ex->out, type->name, strlen(type->name));
        return WROTE;
    }
    const byron_graphql_field_t *f = group_def(ex, type, g);
    if (f == NULL) return NOT_IN_RESPONSE;
    if (ex->out.failed)
        return NULL_BY_ERROR; /* past max_data_bytes (or out of memory): resolve nothing more */
    cur_t c = {type, f, g, NULL};
    int64_t remaining;
    if (past_deadline(ex, &remaining)) {
        /* One error is enough; later fields just come back null. */
        if (ex->deadline_reported) return NULL_BY_ERROR;
        ex->deadline_reported = true;
        field_error(ex, g, BYRON_GRAPHQL_CODE_DEADLINE,
                    "Execution deadline exceeded; field \"%s.%s\" was not resolved.", type->name, f->name);
        return NULL_BY_ERROR;
    }
    json_object *args = NULL;
    char err[512];
    if (!f->args) { /* most fields: nothing to coerce, and one {} serves them all (resolvers borrow it) */
        if (!ex->no_args) ex->no_args = json_object_new_object();
        args = json_object_get(ex->no_args);
    } else if (gql_coerce_arguments(f->args, first->args, ex->vars, &args, err, sizeof(err)) < 0) {
        field_error(ex, g, BYRON_GRAPHQL_CODE_BAD_INPUT, "%s", err);
        return NULL_BY_ERROR;
    }
    json_object *raw = NULL;
    byron_graphql_field_error_t ferr;
    memset(&ferr, 0, sizeof(ferr));
    byron_status_t rc;
    if (ex->event && type == ex->s->subscription) {
        raw = json_object_get(ex->event);
        rc = BYRON_OK;
    } else if (type->name[0] == '_' && type->name[1] == '_') {
        rc = gql_introspection_resolve(ex->s, parent, type, f, args, &raw, &ferr);
    } else if (f == ex->s->meta_schema || f == ex->s->meta_type) {
        rc = gql_introspection_resolve(ex->s, parent, type, f, args, &raw, &ferr);
    } else {
        byron_graphql_resolve_info_t info = {
            .schema = ex->s,
            .parent_type = type->name,
            .field_name = f->name,
            .response_key = g->key,
            .return_type = f->type,
            .meta = f->meta,
            .field_udata = f->udata,
            .variables = ex->vars,
            .operation = ex->op->operation,
            .deadline_remaining_ms = remaining,
        };
        byron_graphql_resolve_fn fn = f->resolve    ? f->resolve
                                      : ex->resolve ? ex->resolve
                                                    : byron_graphql_default_resolve;
        rc = fn(ex->ctx, parent, f->name, args, &info, &raw, &ferr);
    }
    json_object_put(args);
    if (rc != BYRON_OK) {
        json_object_put(raw);
        ferr.message[sizeof(ferr.message) - 1] = '\0';
        ferr.code[sizeof(ferr.code) - 1] = '\0';
        ferr.ext_key[sizeof(ferr.ext_key) - 1] = '\0';
        field_error(ex, g, ferr.code[0] ? ferr.code : BYRON_GRAPHQL_CODE_INTERNAL, "%s",
                    ferr.message[0] ? ferr.message : "Resolver failed.");
        size_t ne = json_object_array_length(ex->errors);
        if (ne > 0) gql_error_add_ext(json_object_array_get_idx(ex->errors, ne - 1), &ferr);
        return NULL_BY_ERROR;
    }
    int r = complete_value(ex, &c, f->type, raw);
    json_object_put(raw);
    return r;
}

/* Writes the object of the groups gs on parent; NULL_BY_ERROR when a
 * non-null field is null. */
static int execute_fields(exec_t *ex, const byron_graphql_type_t *type, json_object *parent, groups_t *gs) {
    size_t written = 0;
    gql_out_raw(&ex->out, "{", 1);
    for (size_t i = 0; i < gs->n; i++) {
        group_t *g = &gs->g[i];
        size_t before_key = ex->out.b.len;
        if (written > 0) gql_out_raw(&ex->out, ",", 1);
        gql_out_key(&ex->out, g->key); /* keys are grouped: each once */
        size_t before_value = ex->out.b.len;
        int r;
        if (path_push(&ex->path, g->key, 0) < 0) {
            field_error(ex, g, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
            r = NULL_BY_ERROR;
        } else {
            r = execute_field(ex, type, parent, g);
            ex->path.n--;
        }
        if (r == NOT_IN_RESPONSE) {
            gql_out_truncate(&ex->out, before_key);
            continue;
        }
        if (r == NULL_BY_ERROR) {
            const byron_graphql_field_t *f = group_def(ex, type, g);
            if (f && f->type->kind == BYRON_GRAPHQL_NON_NULL)
                return NULL_BY_ERROR; /* the caller takes it back */
        }
        if (r != WROTE) {
            gql_out_truncate(&ex->out, before_value);
            gql_out_raw(&ex->out, "null", 4);
        }
        written++;
    }
    gql_out_raw(&ex->out, "}", 1);
    return WROTE;
}

/* ---------------------------------------------------------------- requests */

byron_status_t gql_coerce_variables(const byron_graphql_schema_t *s, const gql_definition_t *op,
                                    json_object *raw, json_object **out, json_object *errors) {
    char tbuf[256];
    json_object *vars = json_object_new_object();
    *out = NULL;
    if (raw && json_object_get_type(raw) != json_type_object && json_object_get_type(raw) != json_type_null) {
        gql_error_add(errors, NULL, BYRON_GRAPHQL_CODE_BAD_INPUT,
                      "Variables must be provided as a JSON object.");
        json_object_put(vars);
        return BYRON_EINVAL;
    }
    for (const gql_vardef_t *v = op->variables; v; v = v->next) {
        const byron_graphql_type_t *t = gql_schema_type_from_ref(s, v->type);
        if (t == NULL || !gql_type_is_input(t)) {
            gql_error_add(errors, &v->loc, BYRON_GRAPHQL_CODE_BAD_INPUT,
                          "Variable \"$%s\" expected value of a type that is not an input type.", v->name);
            continue;
        }
        json_object *val = NULL;
        bool has = raw && json_object_get_type(raw) == json_type_object &&
                   json_object_object_get_ex(raw, v->name, &val);
        if (!has) {
            if (v->default_value) {
                json_object *c = NULL;
                char err[512];
                if (gql_coerce_literal(t, v->default_value, NULL, &c, err, sizeof(err)) == 0)
                    json_object_object_add(vars, v->name, c);
                else
                    gql_error_add(errors, &v->loc, BYRON_GRAPHQL_CODE_BAD_INPUT,
                                  "Variable \"$%s\" has an invalid default value: %s", v->name, err);
            } else if (t->kind == BYRON_GRAPHQL_NON_NULL) {
                gql_error_add(errors, &v->loc, BYRON_GRAPHQL_CODE_BAD_INPUT,
                              "Variable \"$%s\" of required type \"%s\" was not provided.", v->name,
                              gql_type_str(t, tbuf, sizeof(tbuf)));
            }
            continue;
        }
        if (val == NULL && t->kind == BYRON_GRAPHQL_NON_NULL) {
            gql_error_add(errors, &v->loc, BYRON_GRAPHQL_CODE_BAD_INPUT,
                          "Variable \"$%s\" of non-null type \"%s\" must not be null.", v->name,
                          gql_type_str(t, tbuf, sizeof(tbuf)));
            continue;
        }
        json_object *c = NULL;
        char err[700];
        if (gql_coerce_json(t, val, &c, err, sizeof(err), v->name) < 0) {
            gql_error_add(errors, &v->loc, BYRON_GRAPHQL_CODE_BAD_INPUT, "Variable \"$%s\" %s", v->name, err);
            continue;
        }
        json_object_object_add(vars, v->name, c);
    }
    if (json_object_array_length(errors) > 0) {
        json_object_put(vars);
        return BYRON_EINVAL;
    }
    *out = vars;
    return BYRON_OK;
}

static json_object *response_new(json_object *errors, json_object *data, bool with_data) {
    json_object *r = json_object_new_object();
    if (errors && json_object_array_length(errors) > 0)
        json_object_object_add(r, "errors", json_object_get(errors));
    if (with_data)
        json_object_object_add(r, "data", data);
    else
        json_object_put(data);
    return r;
}

static const byron_graphql_type_t *root_type(const byron_graphql_schema_t *s,
                                             byron_graphql_operation_kind_t k) {
    return k == BYRON_GRAPHQL_MUTATION       ? s->mutation
           : k == BYRON_GRAPHQL_SUBSCRIPTION ? s->subscription
                                             : s->query;
}

/* Common preamble: operation, root type, variables. */
static byron_status_t prepare(exec_t *ex, const byron_graphql_schema_t *s,
                              const byron_graphql_request_t *req) {
    byron_err_t err;
    memset(ex, 0, sizeof(*ex));
    ex->s = s;
    ex->doc = req->document;
    ex->resolve = req->resolve;
    ex->ctx = req->ctx;
    ex->authorize = req->authorize;
    ex->errors = json_object_new_array();
    if (req->document == NULL) {
        gql_error_add(ex->errors, NULL, BYRON_GRAPHQL_CODE_OPERATION, "No document given.");
        return BYRON_EINVAL;
    }
    ex->op = gql_document_find_operation(req->document, req->operation_name, &err);
    if (ex->op == NULL) {
        gql_error_add(ex->errors, NULL, BYRON_GRAPHQL_CODE_OPERATION, "%s", err.msg);
        return BYRON_EINVAL;
    }
    if (root_type(s, ex->op->operation) == NULL) {
        gql_error_add(ex->errors, &ex->op->loc, BYRON_GRAPHQL_CODE_OPERATION,
                      "Schema is not configured to execute %s operation.",
                      gql_operation_kind_str(ex->op->operation));
        return BYRON_EINVAL;
    }
    byron_status_t st = gql_coerce_variables(s, ex->op, req->variables, &ex->vars, ex->errors);
    if (st != BYRON_OK) return st;
    byron_graphql_limits_t defaults;
    const byron_graphql_limits_t *lim = req->limits;
    if (lim == NULL) {
        byron_graphql_limits_init(&defaults);
        lim = &defaults;
    }
    ex->max_cost = gql_limit(lim->max_cost, BYRON_GRAPHQL_HARD_MAX_COST);
    {
        unsigned deadline_ms = (unsigned)gql_limit(lim->deadline_ms, BYRON_GRAPHQL_HARD_MAX_DEADLINE_MS);
        ex->deadline = byron_clock_mono_ms() + deadline_ms;
        ex->has_deadline = true;
    }
    return BYRON_OK;
}

/* The named type under list and non-null wrappers. */
static const byron_graphql_type_t *named(const byron_graphql_type_t *t) {
    while (t && (t->kind == BYRON_GRAPHQL_LIST || t->kind == BYRON_GRAPHQL_NON_NULL)) t = t->of;
    return t;
}

/* How many objects a field's `first`/`last` asks for (1 when it takes neither). */
static uint64_t page_size(exec_t *ex, const byron_graphql_field_t *def, const gql_selection_t *f) {
    int takes = 0;
    for (const byron_graphql_field_t *a = def->args; a; a = a->next)
        takes |= strcmp(a->name, "first") == 0 || strcmp(a->name, "last") == 0;
    if (!takes) return 1;
    json_object *args = NULL, *v = NULL;
    char err[256];
    uint64_t n = BYRON_GRAPHQL_DEFAULT_PAGE;
    if (gql_coerce_arguments(def->args, f->args, ex->vars, &args, err, sizeof err) == 0 &&
        ((json_object_object_get_ex(args, "first", &v) && v) ||
         (json_object_object_get_ex(args, "last", &v) && v)))
        n = json_object_get_int64(v) > 0 ? (uint64_t)json_object_get_int64(v) : 0;
    json_object_put(args);
    return n;
}

/* Adds to *total the resolutions `sels` on `type` costs `mult` times; stops
 * (returns -1) as soon as it passes the limit. Depth is bounded by the
 * validator's depth limit. */
static int cost_of(exec_t *ex, const byron_graphql_type_t *type, const gql_selection_t *sels, uint64_t mult,
                   uint64_t *total) {
    groups_t gs = {0};
    visited_t vis = {0};
    int rc = collect_fields(ex, type, sels, &gs, &vis) < 0 ? -1 : 0;
    for (size_t i = 0; i < gs.n && rc == 0; i++) {
        const gql_selection_t *f = gs.g[i].fields[0];
        const byron_graphql_field_t *def = gql_type_field(type, f->name);
        *total += mult;
        if (*total > ex->max_cost) rc = -1;
        if (!def || rc) continue;
        const byron_graphql_type_t *sub = named(def->type);
        if (!sub || sub->kind != BYRON_GRAPHQL_OBJECT) continue;
        uint64_t m = mult * page_size(ex, def, f);
        if (m > ex->max_cost) m = ex->max_cost + 1; /* no overflow: one more resolution passes the limit */
        for (size_t k = 0; k < gs.g[i].n && rc == 0; k++)
            if (gs.g[i].fields[k]->selections) rc = cost_of(ex, sub, gs.g[i].fields[k]->selections, m, total);
    }
    groups_free(&gs);
    free(vis.names);
    return rc;
}

/* The authorize hook on root fields `gs` of type rt: the first refusal
 * becomes the operation's only error. */
static byron_status_t authorize_roots(exec_t *ex, const byron_graphql_type_t *rt, const groups_t *gs) {
    if (!ex->authorize) return BYRON_OK;
    for (size_t i = 0; i < gs->n; i++) {
        const gql_selection_t *f = gs->g[i].fields[0];
        if (strncmp(f->name, "__", 2) == 0) continue; /* introspection: the schema is public */
        const byron_graphql_field_t *def = gql_type_field(rt, f->name);
        byron_graphql_field_error_t fe;
        memset(&fe, 0, sizeof fe);
        if (def && ex->authorize(ex->ctx, ex->op->operation, def->name, def->meta, &fe) != BYRON_OK) {
            gql_error_add(ex->errors, &f->loc, fe.code[0] ? fe.code : "FORBIDDEN", "%s",
                          fe.message[0] ? fe.message : "Not allowed.");
            return BYRON_EREJECTED;
        }
    }
    return BYRON_OK;
}

static void exec_cleanup(exec_t *ex) {
    gql_out_cleanup(&ex->out);
    json_object_put(ex->no_args);
    json_object_put(ex->errors);
    free(ex->path.seg);
    json_object_put(ex->vars);
}

/* `data` as a json-c tree, for callers that read it (tests, fuzz targets,
 * embedders): the text parsed, as deep as the executor wrote it. */
static json_object *data_tree(gql_out_t *o) {
    if (o->failed) return NULL;
    json_tokener *tok = json_tokener_new_ex(BYRON_GRAPHQL_HARD_MAX_DEPTH * 4 + 64);
    json_object *v = tok ? json_tokener_parse_ex(tok, o->b.buf, (int)o->b.len) : NULL;
    json_tokener_free(tok);
    return v;
}

/* `data` passed max_data_bytes: the response is this one error, no data. */
static byron_status_t too_large(exec_t *ex) {
    json_object_put(ex->errors);
    ex->errors = json_object_new_array();
    gql_error_add(
        ex->errors, NULL, BYRON_GRAPHQL_CODE_RESPONSE_TOO_LARGE,
        "The response is larger than the %zu bytes allowed; ask for fewer fields or a smaller page.",
        ex->out.b.max);
    return BYRON_ELIMIT;
}

static byron_status_t run_root(exec_t *ex, json_object *root, json_object **response) {
    const byron_graphql_type_t *rt = root_type(ex->s, ex->op->operation);
    groups_t gs = {0};
    visited_t vis = {0};
    json_object *data = NULL;
    byron_status_t st = BYRON_OK;
    if (collect_fields(ex, rt, ex->op->selections, &gs, &vis) < 0) {
        gql_error_add(ex->errors, NULL, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
    } else if (ex->event || (st = authorize_roots(ex, rt, &gs)) == BYRON_OK) {
        uint64_t cost = 0;
        if (!ex->event && cost_of(ex, rt, ex->op->selections, 1, &cost) < 0) {
            gql_error_add(ex->errors, &ex->op->loc, BYRON_GRAPHQL_CODE_TOO_COMPLEX,
                          "Query costs more than %llu field resolutions (limit; first/last multiply through "
                          "nesting).",
                          (unsigned long long)ex->max_cost);
            st = BYRON_ELIMIT;
        } else {
            size_t mark = ex->out.b.len;
            if (execute_fields(ex, rt, root, &gs) == WROTE && !ex->out.failed) {
                data = ex->tree ? data_tree(&ex->out) : gql_out_finish(&ex->out);
                if (data == NULL)
                    gql_error_add(ex->errors, NULL, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
            } else {
                gql_out_truncate(&ex->out, mark);
                if (ex->out.failed && !ex->out.b.too_large)
                    gql_error_add(ex->errors, NULL, BYRON_GRAPHQL_CODE_INTERNAL, "Out of memory.");
            }
            if (ex->out.b.too_large) st = too_large(ex);
        }
    }
    groups_free(&gs);
    free(vis.names);
    *response = response_new(ex->errors, data, st == BYRON_OK);
    return st;
}

static byron_status_t execute(const byron_graphql_schema_t *s, const byron_graphql_request_t *req,
                              json_object **response, bool tree) {
    exec_t ex;
    byron_status_t st = prepare(&ex, s, req);
    ex.tree = tree;
    ex.out.b.max = req->max_data_bytes;
    if (st == BYRON_OK && ex.op->operation == BYRON_GRAPHQL_SUBSCRIPTION) {
        gql_error_add(ex.errors, &ex.op->loc, BYRON_GRAPHQL_CODE_OPERATION,
                      "Subscriptions are served over WebSocket (graphql-transport-ws), not "
                      "over plain HTTP.");
        st = BYRON_EINVAL;
    }
    if (st != BYRON_OK) {
        *response = response_new(ex.errors, NULL, false);
        exec_cleanup(&ex);
        return st;
    }
    st = run_root(&ex, req->root_value, response);
    exec_cleanup(&ex);
    return st;
}

byron_status_t byron_graphql_execute(const byron_graphql_schema_t *s, const byron_graphql_request_t *req,
                                     json_object **response) {
    return execute(s, req, response, true);
}

byron_status_t gql_execute_text(const byron_graphql_schema_t *s, const byron_graphql_request_t *req,
                                json_object **response) {
    return execute(s, req, response, false);
}

byron_status_t gql_execute_event(const byron_graphql_schema_t *s, const byron_graphql_request_t *req,
                                 json_object *event, json_object **response) {
    exec_t ex;
    byron_status_t st = prepare(&ex, s, req);
    if (st != BYRON_OK) {
        *response = response_new(ex.errors, NULL, false);
        exec_cleanup(&ex);
        return st;
    }
    ex.event = event ? event : NULL;
    json_object *placeholder = NULL;
    if (ex.event == NULL) {
        placeholder = json_object_new_object();
        ex.event = placeholder;
    }
    st = run_root(&ex, NULL, response);
    json_object_put(placeholder);
    exec_cleanup(&ex);
    return st;
}

byron_status_t gql_subscription_root(const byron_graphql_schema_t *s, const byron_graphql_request_t *req,
                                     const char **field, json_object **args, json_object **errors) {
    exec_t ex;
    *errors = NULL;
    *args = NULL;
    byron_status_t st = prepare(&ex, s, req);
    if (st == BYRON_OK) {
        groups_t gs = {0};
        visited_t vis = {0};
        if (collect_fields(&ex, s->subscription, ex.op->selections, &gs, &vis) < 0 || gs.n == 0) {
            gql_error_add(ex.errors, &ex.op->loc, BYRON_GRAPHQL_CODE_OPERATION,
                          "Subscription has no root field.");
            st = BYRON_EINVAL;
        } else {
            const gql_selection_t *f = gs.g[0].fields[0];
            const byron_graphql_field_t *def = gql_type_field(s->subscription, f->name);
            char err[512];
            if (def == NULL) {
                gql_error_add(ex.errors, &f->loc, BYRON_GRAPHQL_CODE_VALIDATION,
                              "Cannot subscribe to field \"%s\".", f->name);
                st = BYRON_EINVAL;
            } else if (gql_coerce_arguments(def->args, f->args, ex.vars, args, err, sizeof(err)) < 0) {
                gql_error_add(ex.errors, &f->loc, BYRON_GRAPHQL_CODE_BAD_INPUT, "%s", err);
                st = BYRON_EINVAL;
            } else if ((st = authorize_roots(&ex, s->subscription, &gs)) != BYRON_OK) {
                json_object_put(*args);
                *args = NULL;
            } else {
                *field = def->name;
            }
        }
        groups_free(&gs);
        free(vis.names);
    }
    if (st != BYRON_OK) *errors = json_object_get(ex.errors);
    exec_cleanup(&ex);
    return st;
}

/* The message of a failure that left no GraphQL error behind (memory ran
 * out before one could be written); the words clients have always seen. */
static const char *status_message(byron_status_t st) {
    switch (st) {
    case BYRON_OK: return "ok";
    case BYRON_ELIMIT: return "limit exceeded";
    case BYRON_ENOMEM: return "out of memory";
    case BYRON_EREJECTED: return "access denied";
    default: return "invalid";
    }
}

json_object *gql_errors_or_status(json_object *errors, byron_status_t st) {
    if (errors) return errors;
    errors = json_object_new_array();
    gql_error_add(errors, NULL, BYRON_GRAPHQL_CODE_INTERNAL, "%s", status_message(st));
    return errors;
}

byron_status_t gql_select_operation(const byron_graphql_document_t *doc, const char *opname,
                                    byron_graphql_operation_kind_t *kind, json_object **errors) {
    byron_err_t err;
    *errors = NULL;
    if (byron_graphql_document_operation(doc, opname, kind, &err) == BYRON_OK) return BYRON_OK;
    *errors = json_object_new_array();
    gql_error_add(*errors, NULL, BYRON_GRAPHQL_CODE_OPERATION, "%s", err.msg);
    *errors = gql_errors_or_status(*errors, BYRON_EINVAL);
    return BYRON_EINVAL;
}

byron_status_t gql_parse_operation(const char *query, const char *opname,
                                   const byron_graphql_limits_t *limits, byron_graphql_document_t **doc,
                                   byron_graphql_operation_kind_t *kind, json_object **errors) {
    *errors = NULL;
    byron_status_t st = byron_graphql_parse(query, query ? strlen(query) : 0, limits, doc, errors);
    if (st != BYRON_OK) {
        *errors = gql_errors_or_status(*errors, st);
        return st;
    }
    st = gql_select_operation(*doc, opname, kind, errors);
    if (st != BYRON_OK) {
        byron_graphql_document_free(*doc);
        *doc = NULL;
    }
    return st;
}

byron_status_t byron_graphql_run(const byron_graphql_schema_t *s, const char *query,
                                 const byron_graphql_request_t *req, json_object **response) {
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    byron_graphql_operation_kind_t kind;
    byron_status_t st = gql_parse_operation(query, req->operation_name, req->limits, &doc, &kind, &errors);
    if (st == BYRON_OK) st = byron_graphql_validate(s, doc, req->limits, &errors);
    if (st != BYRON_OK) {
        *response = json_object_new_object();
        json_object_object_add(*response, "errors", gql_errors_or_status(errors, st));
        byron_graphql_document_free(doc);
        return st;
    }
    byron_graphql_request_t r = *req;
    r.document = doc;
    st = byron_graphql_execute(s, &r, response);
    byron_graphql_document_free(doc);
    return st;
}
