/*
 * validate.c — document validation (spec 5) against a schema. One walk over
 * each operation and fragment with the schema type in hand checks fields,
 * arguments, directives, values and fragment spreads and records variable
 * usages and spreads per definition; whole-document rules (unused or
 * cyclic fragments, undefined/unused variables, allowed positions) run over
 * those records. Then the static limits (depth, fields, aliases after
 * fragment expansion) are enforced, and only then "overlapping fields can
 * be merged", whose cost is bounded by the field limit.
 *
 * Byron schemas have object types only (no interfaces/unions), so parent
 * types of fields in one selection set are always the same object type and
 * the merge rule uses its strict form.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 100

typedef struct usage {
    const gql_value_t *var;
    const byron_graphql_type_t *type; /* expected; NULL when unknown */
    bool location_default;
} usage_t;

typedef struct defrec {
    const gql_definition_t *def;
    usage_t *uses;
    size_t nuses, capuses;
    const char **spreads;
    size_t nspreads, capspreads;
    size_t *spread_idx; /* spreads resolved to record indexes (SIZE_MAX: unknown) */
    bool used;
} defrec_t;

typedef struct vctx {
    const byron_graphql_schema_t *s;
    const byron_graphql_document_t *doc;
    json_object *errors;
    defrec_t *recs; /* one per definition, in document order */
    size_t nrecs;
    defrec_t *cur;
    bool oom;
} vctx_t;

static void verr(vctx_t *v, const gql_loc_t *loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void verr(vctx_t *v, const gql_loc_t *loc, const char *fmt, ...) {
    size_t n = json_object_array_length(v->errors);
    if (n > MAX_ERRORS) return;
    if (n == MAX_ERRORS) {
        gql_error_add(v->errors, NULL, BYRON_GRAPHQL_CODE_VALIDATION,
                      "Too many validation errors, error limit reached. Validation aborted.");
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gql_error_add(v->errors, loc, BYRON_GRAPHQL_CODE_VALIDATION, "%s", msg);
}

static void *grow(vctx_t *v, void *p, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return p;
    size_t nc = *cap ? *cap * 2 : 8;
    void *np = realloc(p, nc * elem);
    if (np == NULL) {
        v->oom = true;
        return NULL;
    }
    *cap = nc;
    return np;
}

typedef struct name_idx {
    const char *name;
    size_t idx;
} name_idx_t;

static int name_idx_cmp(const void *a, const void *b) {
    return strcmp(((const name_idx_t *)a)->name, ((const name_idx_t *)b)->name);
}

/* Resolves every spread to a record index once, with a sorted name table:
 * O(S log F) instead of a scan of the document per spread, which matters for
 * documents made of thousands of fragments. */
static void resolve_spreads(vctx_t *v) {
    name_idx_t *tab = calloc(v->nrecs ? v->nrecs : 1, sizeof(*tab));
    size_t n = 0;
    if (tab == NULL) {
        v->oom = true;
        return;
    }
    for (size_t i = 0; i < v->nrecs; i++)
        if (v->recs[i].def->kind == GQL_D_FRAGMENT) tab[n++] = (name_idx_t){v->recs[i].def->name, i};
    qsort(tab, n, sizeof(*tab), name_idx_cmp);
    for (size_t i = 0; i < v->nrecs; i++) {
        defrec_t *r = &v->recs[i];
        r->spread_idx = calloc(r->nspreads ? r->nspreads : 1, sizeof(size_t));
        if (r->spread_idx == NULL) {
            v->oom = true;
            break;
        }
        for (size_t j = 0; j < r->nspreads; j++) {
            name_idx_t key = {r->spreads[j], 0};
            const name_idx_t *hit = bsearch(&key, tab, n, sizeof(*tab), name_idx_cmp);
            /* Duplicate names: the first definition wins, as in execution. */
            while (hit && hit > tab && strcmp((hit - 1)->name, key.name) == 0) hit--;
            r->spread_idx[j] = hit ? hit->idx : SIZE_MAX;
        }
    }
    free(tab);
}

static const gql_definition_t *fragment(vctx_t *v, const char *name) {
    return gql_document_fragment(v->doc, name);
}

/* ---------------------------------------------------------------- values */

static void record_usage(vctx_t *v, const gql_value_t *var, const byron_graphql_type_t *type,
                         bool location_default) {
    defrec_t *r = v->cur;
    if (r == NULL) return;
    usage_t *u = grow(v, r->uses, &r->capuses, r->nuses, sizeof(*u));
    if (u == NULL) return;
    r->uses = u;
    r->uses[r->nuses++] = (usage_t){var, type, location_default};
}

static const char *vdesc(const gql_value_t *val, char *buf, size_t n) {
    json_object *j = gql_value_to_json(val, NULL);
    switch (val->kind) {
    case GQL_V_ENUM: snprintf(buf, n, "%s", val->str); break;
    case GQL_V_NULL: snprintf(buf, n, "null"); break;
    default: snprintf(buf, n, "%.100s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(j);
    return buf;
}

static void check_value(vctx_t *v, const byron_graphql_type_t *type, const gql_value_t *val,
                        bool location_default) {
    char tb[256], vb[128];
    if (val->kind == GQL_V_VARIABLE) {
        record_usage(v, val, type, location_default);
        return;
    }
    if (type == NULL) {
        /* Unknown position: still find the variables it uses. */
        if (val->kind == GQL_V_LIST || val->kind == GQL_V_OBJECT)
            for (const gql_value_t *i = val->items; i; i = i->next) check_value(v, NULL, i, false);
        return;
    }
    if (type->kind == BYRON_GRAPHQL_NON_NULL) {
        if (val->kind == GQL_V_NULL) {
            verr(v, &val->loc, "Expected value of type \"%s\", found null.",
                 gql_type_str(type, tb, sizeof(tb)));
            return;
        }
        type = type->of;
    }
    if (val->kind == GQL_V_NULL) return;
    if (type->kind == BYRON_GRAPHQL_LIST) {
        if (val->kind == GQL_V_LIST) {
            for (const gql_value_t *i = val->items; i; i = i->next) check_value(v, type->of, i, false);
        } else {
            check_value(v, type->of, val, false);
        }
        return;
    }
    if (type->kind == BYRON_GRAPHQL_INPUT_OBJECT) {
        if (val->kind != GQL_V_OBJECT) {
            verr(v, &val->loc, "Expected value of type \"%s\", found %s.", type->name,
                 vdesc(val, vb, sizeof(vb)));
            return;
        }
        for (const gql_value_t *i = val->items; i; i = i->next) {
            for (const gql_value_t *j = val->items; j != i; j = j->next)
                if (strcmp(i->name, j->name) == 0) {
                    verr(v, &i->name_loc, "There can be only one input field named \"%s\".", i->name);
                    break;
                }
            const byron_graphql_field_t *f = gql_type_field(type, i->name);
            if (f == NULL) {
                verr(v, &i->name_loc, "Field \"%s\" is not defined by type \"%s\".", i->name, type->name);
                check_value(v, NULL, i, false);
                continue;
            }
            check_value(v, f->type, i, f->default_json != NULL);
        }
        for (const byron_graphql_field_t *f = type->fields; f; f = f->next) {
            if (f->type->kind != BYRON_GRAPHQL_NON_NULL || f->default_json) continue;
            bool found = false;
            for (const gql_value_t *i = val->items; i && !found; i = i->next)
                found = strcmp(i->name, f->name) == 0;
            if (!found)
                verr(v, &val->loc, "Field \"%s.%s\" of required type \"%s\" was not provided.", type->name,
                     f->name, gql_type_str(f->type, tb, sizeof(tb)));
        }
        return;
    }
    if (val->kind == GQL_V_LIST || val->kind == GQL_V_OBJECT) {
        if (type->kind == BYRON_GRAPHQL_SCALAR && strcmp(type->name, "JSON") == 0) {
            for (const gql_value_t *i = val->items; i; i = i->next) check_value(v, NULL, i, false);
            return;
        }
        verr(v, &val->loc, "Expected value of type \"%s\", found %s.", type->name,
             vdesc(val, vb, sizeof(vb)));
        return;
    }
    json_object *out = NULL;
    char msg[400];
    if (gql_coerce_literal(type, val, NULL, &out, msg, sizeof(msg)) < 0) verr(v, &val->loc, "%s", msg);
    json_object_put(out);
}

/* ---------------------------------------------------------------- arguments, directives */

static void check_args(vctx_t *v, const byron_graphql_field_t *defs, const gql_argument_t *args,
                       const gql_loc_t *loc, const char *what, const char *owner) {
    char tb[256];
    for (const gql_argument_t *a = args; a; a = a->next) {
        for (const gql_argument_t *b = args; b != a; b = b->next)
            if (strcmp(a->name, b->name) == 0) {
                verr(v, &a->loc, "There can be only one argument named \"%s\".", a->name);
                break;
            }
        const byron_graphql_field_t *d = NULL;
        for (const byron_graphql_field_t *x = defs; x; x = x->next)
            if (strcmp(x->name, a->name) == 0) d = x;
        if (d == NULL) {
            verr(v, &a->loc, "Unknown argument \"%s\" on %s \"%s\".", a->name, what, owner);
            check_value(v, NULL, a->value, false);
            continue;
        }
        check_value(v, d->type, a->value, d->default_json != NULL);
    }
    for (const byron_graphql_field_t *d = defs; d; d = d->next) {
        if (d->type->kind != BYRON_GRAPHQL_NON_NULL || d->default_json) continue;
        bool found = false;
        for (const gql_argument_t *a = args; a && !found; a = a->next) found = strcmp(a->name, d->name) == 0;
        /* graphql-js names the field without its type here ("Type.field" above). */
        const char *dot = strchr(owner, '.');
        bool field = strcmp(what, "field") == 0;
        if (!found)
            verr(v, loc,
                 "%s \"%s\" argument \"%s\" of type \"%s\" is required, but it was not "
                 "provided.",
                 field ? "Field" : "Directive", field && dot ? dot + 1 : owner, d->name,
                 gql_type_str(d->type, tb, sizeof(tb)));
    }
}

static void check_directives(vctx_t *v, const gql_directive_t *dirs, gql_dirloc_t where) {
    for (const gql_directive_t *d = dirs; d; d = d->next) {
        const gql_directive_def_t *def = gql_schema_directive(v->s, d->name);
        if (def == NULL) {
            verr(v, &d->loc, "Unknown directive \"@%s\".", d->name);
            for (const gql_argument_t *a = d->args; a; a = a->next) check_value(v, NULL, a->value, false);
            continue;
        }
        if (!(def->locations & (1u << where)))
            verr(v, &d->loc, "Directive \"@%s\" may not be used on %s.", d->name, gql_dirloc_names[where]);
        if (!def->repeatable)
            for (const gql_directive_t *e = dirs; e != d; e = e->next)
                if (strcmp(e->name, d->name) == 0) {
                    verr(v, &d->loc, "The directive \"@%s\" can only be used once at this location.",
                         d->name);
                    break;
                }
        char owner[300];
        snprintf(owner, sizeof(owner), "@%s", d->name);
        check_args(v, def->args, d->args, &d->loc, "directive", owner);
    }
}

/* ---------------------------------------------------------------- selections */

static void walk(vctx_t *v, const byron_graphql_type_t *parent, const gql_selection_t *sels) {
    char tb[256];
    for (const gql_selection_t *sel = sels; sel; sel = sel->next) {
        switch (sel->kind) {
        case GQL_S_FIELD: {
            check_directives(v, sel->directives, GQL_DL_FIELD);
            const byron_graphql_field_t *f = parent ? gql_field_def(v->s, parent, sel->name) : NULL;
            if (f == NULL) {
                if (parent)
                    verr(v, &sel->loc, "Cannot query field \"%s\" on type \"%s\".", sel->name, parent->name);
                for (const gql_argument_t *a = sel->args; a; a = a->next)
                    check_value(v, NULL, a->value, false);
                walk(v, NULL, sel->selections);
                break;
            }
            char owner[300];
            snprintf(owner, sizeof(owner), "%s.%s", parent->name, f->name);
            check_args(v, f->args, sel->args, &sel->loc, "field", owner);
            const byron_graphql_type_t *named = gql_type_named(f->type);
            if (gql_type_is_leaf(named)) {
                if (sel->selections)
                    verr(v, &sel->loc,
                         "Field \"%s\" must not have a selection since type \"%s\" "
                         "has no subfields.",
                         sel->name, gql_type_str(f->type, tb, sizeof(tb)));
                walk(v, NULL, sel->selections);
            } else {
                if (sel->selections == NULL)
                    verr(v, &sel->loc,
                         "Field \"%s\" of type \"%s\" must have a selection of "
                         "subfields. Did you mean \"%s { ... }\"?",
                         sel->name, gql_type_str(f->type, tb, sizeof(tb)), sel->name);
                walk(v, named, sel->selections);
            }
            break;
        }
        case GQL_S_SPREAD: {
            check_directives(v, sel->directives, GQL_DL_FRAGMENT_SPREAD);
            const gql_definition_t *fr = fragment(v, sel->name);
            if (fr == NULL) {
                verr(v, &sel->loc, "Unknown fragment \"%s\".", sel->name);
                break;
            }
            defrec_t *r = v->cur;
            const char **ns = grow(v, r->spreads, &r->capspreads, r->nspreads, sizeof(char *));
            if (ns) {
                r->spreads = ns;
                r->spreads[r->nspreads++] = sel->name;
            }
            const byron_graphql_type_t *ft = gql_schema_lookup(v->s, fr->type_condition);
            if (parent && ft && gql_type_is_composite(ft) && ft != parent)
                verr(v, &sel->loc,
                     "Fragment \"%s\" cannot be spread here as objects of type "
                     "\"%s\" can never be of type \"%s\".",
                     sel->name, parent->name, ft->name);
            break;
        }
        case GQL_S_INLINE: {
            check_directives(v, sel->directives, GQL_DL_INLINE_FRAGMENT);
            const byron_graphql_type_t *t = parent;
            if (sel->type_condition) {
                t = gql_schema_lookup(v->s, sel->type_condition);
                if (t == NULL) {
                    verr(v, &sel->type_condition_loc, "Unknown type \"%s\".", sel->type_condition);
                } else if (!gql_type_is_composite(t)) {
                    verr(v, &sel->type_condition_loc,
                         "Fragment cannot condition on non composite type \"%s\".", t->name);
                    t = NULL;
                } else if (parent && t != parent) {
                    verr(v, &sel->loc,
                         "Fragment cannot be spread here as objects of type \"%s\" "
                         "can never be of type \"%s\".",
                         parent->name, t->name);
                }
            }
            walk(v, t, sel->selections);
            break;
        }
        }
    }
}

/* ---------------------------------------------------------------- variables */

static bool types_compatible(const byron_graphql_type_t *var, const byron_graphql_type_t *loc) {
    if (loc->kind == BYRON_GRAPHQL_NON_NULL) {
        if (var->kind != BYRON_GRAPHQL_NON_NULL) return false;
        return types_compatible(var->of, loc->of);
    }
    if (var->kind == BYRON_GRAPHQL_NON_NULL) return types_compatible(var->of, loc);
    if (loc->kind == BYRON_GRAPHQL_LIST) {
        if (var->kind != BYRON_GRAPHQL_LIST) return false;
        return types_compatible(var->of, loc->of);
    }
    if (var->kind == BYRON_GRAPHQL_LIST) return false;
    return var == loc;
}

static void check_operation_variables(vctx_t *v, defrec_t *op) {
    const gql_definition_t *d = op->def;
    /* Fragments reachable from this operation (transitively): a BFS over
     * resolved spreads, O(definitions + spreads). */
    size_t n = 0;
    defrec_t **reach = malloc((v->nrecs + 1) * sizeof(*reach));
    bool *seen = calloc(v->nrecs + 1, sizeof(bool));
    if (reach == NULL || seen == NULL) {
        v->oom = true;
        free(reach);
        free(seen);
        return;
    }
    reach[n++] = op;
    seen[op - v->recs] = true;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; reach[i]->spread_idx && j < reach[i]->nspreads; j++) {
            size_t k = reach[i]->spread_idx[j];
            if (k == SIZE_MAX || seen[k]) continue;
            seen[k] = true;
            v->recs[k].used = true;
            reach[n++] = &v->recs[k];
        }
    }
    free(seen);
    char tb[256], ub[256];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < reach[i]->nuses; j++) {
            const usage_t *u = &reach[i]->uses[j];
            const gql_vardef_t *vd = NULL;
            for (const gql_vardef_t *x = d->variables; x; x = x->next)
                if (strcmp(x->name, u->var->str) == 0) vd = x;
            if (vd == NULL) {
                if (d->name)
                    verr(v, &u->var->loc, "Variable \"$%s\" is not defined by operation \"%s\".", u->var->str,
                         d->name);
                else
                    verr(v, &u->var->loc, "Variable \"$%s\" is not defined.", u->var->str);
                continue;
            }
            const byron_graphql_type_t *vt = gql_schema_type_from_ref(v->s, vd->type);
            if (vt == NULL || u->type == NULL) continue;
            const byron_graphql_type_t *lt = u->type;
            if (lt->kind == BYRON_GRAPHQL_NON_NULL && vt->kind != BYRON_GRAPHQL_NON_NULL) {
                bool var_default = vd->default_value && vd->default_value->kind != GQL_V_NULL;
                if (!var_default && !u->location_default) {
                    verr(v, &u->var->loc,
                         "Variable \"$%s\" of type \"%s\" used in position expecting type "
                         "\"%s\".",
                         u->var->str, gql_type_str(vt, tb, sizeof(tb)), gql_type_str(lt, ub, sizeof(ub)));
                    continue;
                }
                lt = lt->of;
            }
            if (!types_compatible(vt, lt))
                verr(v, &u->var->loc,
                     "Variable \"$%s\" of type \"%s\" used in position expecting type \"%s\".", u->var->str,
                     gql_type_str(vt, tb, sizeof(tb)), gql_type_str(u->type, ub, sizeof(ub)));
        }
    }
    for (const gql_vardef_t *x = d->variables; x; x = x->next) {
        bool used = false;
        for (size_t i = 0; i < n && !used; i++)
            for (size_t j = 0; j < reach[i]->nuses && !used; j++)
                used = strcmp(reach[i]->uses[j].var->str, x->name) == 0;
        if (!used) {
            if (d->name)
                verr(v, &x->loc, "Variable \"$%s\" is never used in operation \"%s\".", x->name, d->name);
            else
                verr(v, &x->loc, "Variable \"$%s\" is never used.", x->name);
        }
    }
    free(reach);
}

/* ---------------------------------------------------------------- fragment cycles */

/* Whether `target` is reachable from `from` through spreads; `via` gets the
 * fragments on the way. `seen` marks fragments already explored from this
 * start, so each start costs O(spreads) even for "fragment bombs" that would
 * be exponential as paths. */
static bool reaches(vctx_t *v, defrec_t *from, const defrec_t *target, bool *seen, size_t *via,
                    size_t *nvia) {
    for (size_t i = 0; from->spread_idx && i < from->nspreads; i++) {
        size_t k = from->spread_idx[i];
        if (k == SIZE_MAX) continue;
        if (&v->recs[k] == target) return true;
        if (seen[k]) continue;
        seen[k] = true;
        via[(*nvia)++] = k;
        if (reaches(v, &v->recs[k], target, seen, via, nvia)) return true;
        (*nvia)--;
    }
    return false;
}

/* ---------------------------------------------------------------- limits */

typedef struct counter {
    vctx_t *v;
    unsigned fields, aliases, max_fields, max_aliases, max_depth;
    bool exceeded;
    const gql_loc_t *at;
    const char *code;
    char msg[256];
} counter_t;

static void count(counter_t *c, const gql_selection_t *sels, unsigned depth) {
    for (const gql_selection_t *s = sels; s && !c->exceeded; s = s->next) {
        switch (s->kind) {
        case GQL_S_FIELD:
            c->fields++;
            if (s->alias) c->aliases++;
            if (c->max_fields && c->fields > c->max_fields) {
                c->exceeded = true;
                c->at = &s->loc;
                c->code = BYRON_GRAPHQL_CODE_TOO_COMPLEX;
                snprintf(c->msg, sizeof(c->msg),
                         "Query selects more than %u fields (after expanding fragments); "
                         "split it or paginate.",
                         c->max_fields);
            } else if (c->max_aliases && c->aliases > c->max_aliases) {
                c->exceeded = true;
                c->at = &s->loc;
                c->code = BYRON_GRAPHQL_CODE_TOO_COMPLEX;
                snprintf(c->msg, sizeof(c->msg), "Query uses more than %u aliases.", c->max_aliases);
            } else if (s->selections) {
                if (c->max_depth && depth + 1 > c->max_depth) {
                    c->exceeded = true;
                    c->at = &s->loc;
                    c->code = BYRON_GRAPHQL_CODE_TOO_DEEP;
                    snprintf(c->msg, sizeof(c->msg), "Query is nested deeper than %u levels (limit).",
                             c->max_depth);
                } else {
                    count(c, s->selections, depth + 1);
                }
            }
            break;
        case GQL_S_SPREAD: {
            /* Cycles are rejected before this runs, so the recursion is
             * bounded by the number of fragments; no depth cap here, or a
             * long chain of fragments could hide fields from the count. */
            const gql_definition_t *fr = fragment(c->v, s->name);
            if (fr) count(c, fr->selections, depth);
            break;
        }
        case GQL_S_INLINE: count(c, s->selections, depth); break;
        }
    }
}

/* ---------------------------------------------------------------- overlapping fields */

typedef struct mfield {
    const gql_selection_t *sel;
    const byron_graphql_field_t *def;
} mfield_t;

typedef struct mlist {
    mfield_t *f;
    size_t n, cap;
    const char **frags; /* fragments already expanded into this list */
    size_t nfrags, capfrags;
} mlist_t;

/* Every fragment is expanded at most once per list, so the recursion is
 * bounded by the number of fragments even before cycles are rejected. */
static void flatten(vctx_t *v, const byron_graphql_type_t *t, const gql_selection_t *sels, mlist_t *out,
                    unsigned guard) {
    for (const gql_selection_t *s = sels; s; s = s->next) {
        if (s->kind == GQL_S_FIELD) {
            mfield_t *nf = grow(v, out->f, &out->cap, out->n, sizeof(*nf));
            if (nf == NULL) return;
            out->f = nf;
            out->f[out->n++] = (mfield_t){s, gql_field_def(v->s, t, s->name)};
        } else if (s->kind == GQL_S_SPREAD) {
            /* A fragment spread twice in one set adds the same fields: expand
             * it once, which also keeps "fragment bombs" linear here. */
            bool dup = false;
            for (size_t i = 0; i < out->nfrags && !dup; i++) dup = strcmp(out->frags[i], s->name) == 0;
            const gql_definition_t *fr = dup ? NULL : fragment(v, s->name);
            if (fr == NULL) continue;
            const char **nf = grow(v, out->frags, &out->capfrags, out->nfrags, sizeof(char *));
            if (nf == NULL) return;
            out->frags = nf;
            out->frags[out->nfrags++] = s->name;
            flatten(v, t, fr->selections, out, guard + 1);
        } else {
            flatten(v, t, s->selections, out, guard + 1);
        }
    }
}

static bool values_equal(const gql_value_t *a, const gql_value_t *b) {
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case GQL_V_NULL: return true;
    case GQL_V_BOOLEAN: return a->boolean == b->boolean;
    case GQL_V_STRING: return a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0;
    case GQL_V_LIST:
    case GQL_V_OBJECT: {
        const gql_value_t *x = a->items, *y = b->items;
        for (; x && y; x = x->next, y = y->next)
            if ((a->kind == GQL_V_OBJECT && strcmp(x->name, y->name) != 0) || !values_equal(x, y))
                return false;
        return x == NULL && y == NULL;
    }
    default: return strcmp(a->str, b->str) == 0;
    }
}

static bool args_equal(const gql_argument_t *a, const gql_argument_t *b) {
    size_t na = 0, nb = 0;
    for (const gql_argument_t *x = a; x; x = x->next) na++;
    for (const gql_argument_t *x = b; x; x = x->next) nb++;
    if (na != nb) return false;
    for (const gql_argument_t *x = a; x; x = x->next) {
        const gql_argument_t *y = b;
        while (y && strcmp(x->name, y->name) != 0) y = y->next;
        if (y == NULL || !values_equal(x->value, y->value)) return false;
    }
    return true;
}

static bool same_shape(const byron_graphql_type_t *a, const byron_graphql_type_t *b) {
    while (a && b) {
        if ((a->kind == BYRON_GRAPHQL_NON_NULL) != (b->kind == BYRON_GRAPHQL_NON_NULL) ||
            (a->kind == BYRON_GRAPHQL_LIST) != (b->kind == BYRON_GRAPHQL_LIST))
            return false;
        if (a->kind != BYRON_GRAPHQL_NON_NULL && a->kind != BYRON_GRAPHQL_LIST) break;
        a = a->of;
        b = b->of;
    }
    if (gql_type_is_leaf(a) || gql_type_is_leaf(b)) return a == b;
    return true;
}

static void merge_check(vctx_t *v, const byron_graphql_type_t *t, const gql_selection_t **sets, size_t nsets,
                        unsigned guard) {
    if (guard > 64 || t == NULL) return;
    mlist_t all = {0};
    for (size_t i = 0; i < nsets; i++) flatten(v, t, sets[i], &all, 0);
    bool *done = calloc(all.n ? all.n : 1, sizeof(bool));
    const gql_selection_t **sub = calloc(all.n ? all.n : 1, sizeof(*sub));
    if (done == NULL || sub == NULL) {
        v->oom = true;
        goto out;
    }
    char ta[256], tb[256];
    for (size_t i = 0; i < all.n; i++) {
        if (done[i]) continue;
        const mfield_t *a = &all.f[i];
        const char *key = gql_response_key(a->sel);
        size_t nsub = 0;
        if (a->sel->selections) sub[nsub++] = a->sel->selections;
        for (size_t j = i + 1; j < all.n; j++) {
            const mfield_t *b = &all.f[j];
            if (done[j] || strcmp(key, gql_response_key(b->sel)) != 0) continue;
            done[j] = true;
            if (strcmp(a->sel->name, b->sel->name) != 0) {
                verr(v, &b->sel->loc,
                     "Fields \"%s\" conflict because \"%s\" and \"%s\" are "
                     "different fields. Use different aliases on the fields "
                     "to fetch both if this was intentional.",
                     key, a->sel->name, b->sel->name);
                continue;
            }
            if (!args_equal(a->sel->args, b->sel->args)) {
                verr(v, &b->sel->loc,
                     "Fields \"%s\" conflict because they have differing "
                     "arguments. Use different aliases on the fields to fetch "
                     "both if this was intentional.",
                     key);
                continue;
            }
            if (a->def && b->def && !same_shape(a->def->type, b->def->type)) {
                verr(v, &b->sel->loc,
                     "Fields \"%s\" conflict because they return conflicting "
                     "types \"%s\" and \"%s\". Use different aliases on the "
                     "fields to fetch both if this was intentional.",
                     key, gql_type_str(a->def->type, ta, sizeof(ta)),
                     gql_type_str(b->def->type, tb, sizeof(tb)));
                continue;
            }
            if (b->sel->selections) sub[nsub++] = b->sel->selections;
        }
        if (nsub && a->def && gql_type_is_composite(a->def->type)) {
            const gql_selection_t **copy = malloc(nsub * sizeof(*copy));
            if (copy == NULL) {
                v->oom = true;
                break;
            }
            memcpy(copy, sub, nsub * sizeof(*copy));
            merge_check(v, gql_type_named(a->def->type), copy, nsub, guard + 1);
            free(copy);
        }
    }
out:
    free(done);
    free(sub);
    free(all.f);
    free(all.frags);
}

/* ---------------------------------------------------------------- entry */

static const byron_graphql_type_t *root_of(const byron_graphql_schema_t *s,
                                           byron_graphql_operation_kind_t k) {
    return k == BYRON_GRAPHQL_MUTATION       ? s->mutation
           : k == BYRON_GRAPHQL_SUBSCRIPTION ? s->subscription
                                             : s->query;
}

static void check_subscription_root(vctx_t *v, const gql_definition_t *d) {
    mlist_t all = {0};
    flatten(v, v->s->subscription, d->selections, &all, 0);
    size_t keys = 0;
    for (size_t i = 0; i < all.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(gql_response_key(all.f[i].sel), gql_response_key(all.f[j].sel)) == 0;
        if (!seen) keys++;
        if (strncmp(all.f[i].sel->name, "__", 2) == 0) {
            if (d->name)
                verr(v, &all.f[i].sel->loc,
                     "Subscription \"%s\" must not select an "
                     "introspection top level field.",
                     d->name);
            else
                verr(v, &all.f[i].sel->loc,
                     "Anonymous Subscription must not select an "
                     "introspection top level field.");
        }
    }
    if (keys > 1) {
        if (d->name)
            verr(v, &d->loc, "Subscription \"%s\" must select only one top level field.", d->name);
        else
            verr(v, &d->loc, "Anonymous Subscription must select only one top level field.");
    }
    free(all.f);
    free(all.frags);
}

static void check_variable_definitions(vctx_t *v, const gql_definition_t *d) {
    char tb[256];
    for (const gql_vardef_t *x = d->variables; x; x = x->next) {
        for (const gql_vardef_t *y = d->variables; y != x; y = y->next)
            if (strcmp(x->name, y->name) == 0) {
                verr(v, &x->loc, "There can be only one variable named \"$%s\".", x->name);
                break;
            }
        check_directives(v, x->directives, GQL_DL_VARIABLE_DEFINITION);
        const gql_typeref_t *named = x->type;
        while (named->kind != GQL_T_NAMED) named = named->of;
        const byron_graphql_type_t *nt = gql_schema_lookup(v->s, named->name);
        if (nt == NULL) {
            verr(v, &named->loc, "Unknown type \"%s\".", named->name);
            continue;
        }
        const byron_graphql_type_t *t = gql_schema_type_from_ref(v->s, x->type);
        if (t == NULL) {
            verr(v, &x->type->loc, "Variable \"$%s\" has a type nested too deeply.", x->name);
            continue;
        }
        if (!gql_type_is_input(t)) {
            verr(v, &x->type->loc, "Variable \"$%s\" cannot be non-input type \"%s\".", x->name,
                 gql_type_str(t, tb, sizeof(tb)));
            continue;
        }
        if (x->default_value) {
            defrec_t *saved = v->cur;
            v->cur = NULL; /* constants: no usages */
            check_value(v, t, x->default_value, false);
            v->cur = saved;
        }
    }
}

/* Unique name, lone anonymous, variables, directives, the root type and the
 * selections of one operation. */
static void check_operation_definition(vctx_t *v, const gql_definition_t *d, size_t nops) {
    if (d->name)
        for (const gql_definition_t *e = v->doc->definitions; e != d; e = e->next)
            if (e->kind == GQL_D_OPERATION && e->name && strcmp(e->name, d->name) == 0) {
                verr(v, &d->loc, "There can be only one operation named \"%s\".", d->name);
                break;
            }
    if (d->name == NULL && nops > 1)
        verr(v, &d->loc,
             "This anonymous operation must be the only defined "
             "operation.");
    check_variable_definitions(v, d);
    check_directives(v, d->directives,
                     d->operation == BYRON_GRAPHQL_MUTATION       ? GQL_DL_MUTATION
                     : d->operation == BYRON_GRAPHQL_SUBSCRIPTION ? GQL_DL_SUBSCRIPTION
                                                                  : GQL_DL_QUERY);
    const byron_graphql_type_t *rt = root_of(v->s, d->operation);
    if (rt == NULL)
        verr(v, &d->loc, "Schema is not configured to execute %s operation.",
             gql_operation_kind_str(d->operation));
    else if (d->operation == BYRON_GRAPHQL_SUBSCRIPTION)
        check_subscription_root(v, d);
    walk(v, rt, d->selections);
}

/* Unique name, directives, a composite type condition and the selections of
 * one fragment. */
static void check_fragment_definition(vctx_t *v, const gql_definition_t *d) {
    for (const gql_definition_t *e = v->doc->definitions; e != d; e = e->next)
        if (e->kind == GQL_D_FRAGMENT && strcmp(e->name, d->name) == 0) {
            verr(v, &d->loc, "There can be only one fragment named \"%s\".", d->name);
            break;
        }
    check_directives(v, d->directives, GQL_DL_FRAGMENT_DEFINITION);
    const byron_graphql_type_t *t = gql_schema_lookup(v->s, d->type_condition);
    if (t == NULL) {
        verr(v, &d->type_condition_loc, "Unknown type \"%s\".", d->type_condition);
    } else if (!gql_type_is_composite(t)) {
        verr(v, &d->type_condition_loc, "Fragment \"%s\" cannot condition on non composite type \"%s\".",
             d->name, t->name);
        t = NULL;
    }
    walk(v, t, d->selections);
}

/* No fragment spreads itself; each cycle is reported once, from its first
 * fragment. True when there is a cycle. */
static bool check_fragment_cycles(vctx_t *v) {
    size_t ndefs = v->nrecs;
    bool *seen = calloc(ndefs + 1, sizeof(bool));
    bool *reported = calloc(ndefs + 1, sizeof(bool));
    size_t *via = calloc(ndefs + 1, sizeof(size_t));
    bool cyclic = false;
    for (size_t i = 0; i < v->nrecs && seen && reported && via; i++) {
        defrec_t *r = &v->recs[i];
        if (r->def->kind != GQL_D_FRAGMENT || reported[i]) continue;
        memset(seen, 0, (ndefs + 1) * sizeof(bool));
        size_t nvia = 0;
        if (!reaches(v, r, r, seen, via, &nvia)) continue;
        char names[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < nvia && len < sizeof(names); k++) {
            reported[via[k]] = true;
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s\"%s\"", k ? ", " : "",
                                    v->recs[via[k]].def->name);
        }
        if (nvia)
            verr(v, &r->def->loc, "Cannot spread fragment \"%s\" within itself via %s.", r->def->name, names);
        else
            verr(v, &r->def->loc, "Cannot spread fragment \"%s\" within itself.", r->def->name);
        cyclic = true;
    }
    if (seen == NULL || reported == NULL || via == NULL) v->oom = true;
    free(reported);
    free(via);
    free(seen);
    return cyclic;
}

/* On a document valid so far: the static limits (depth, fields, aliases),
 * then field merging. ELIMIT with the error added when a limit is hit. */
static byron_status_t check_limits_and_merging(vctx_t *v, const byron_graphql_limits_t *limits) {
    for (const gql_definition_t *d = v->doc->definitions; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION) continue;
        counter_t c = {.v = v,
                       .max_fields = (unsigned)gql_limit(limits->max_fields, BYRON_GRAPHQL_HARD_MAX_FIELDS),
                       .max_aliases =
                           (unsigned)gql_limit(limits->max_aliases, BYRON_GRAPHQL_HARD_MAX_ALIASES),
                       .max_depth = (unsigned)gql_limit(limits->max_depth, BYRON_GRAPHQL_HARD_MAX_DEPTH)};
        count(&c, d->selections, 1); /* the root selection set is level 1 */
        if (c.exceeded) {
            gql_error_add(v->errors, c.at, c.code, "%s", c.msg);
            return BYRON_ELIMIT;
        }
    }
    for (const gql_definition_t *d = v->doc->definitions; d; d = d->next)
        if (d->kind == GQL_D_OPERATION) {
            const gql_selection_t *set = d->selections;
            merge_check(v, root_of(v->s, d->operation), &set, 1, 0);
        }
    return BYRON_OK;
}

byron_status_t byron_graphql_validate(const byron_graphql_schema_t *s, const byron_graphql_document_t *doc,
                                      const byron_graphql_limits_t *limits, json_object **errors) {
    vctx_t v = {.s = s, .doc = doc, .errors = json_object_new_array()};
    byron_graphql_limits_t defaults;
    if (limits == NULL) {
        byron_graphql_limits_init(&defaults);
        limits = &defaults;
    }
    *errors = NULL;
    size_t ndefs = 0, nops = 0;
    for (const gql_definition_t *d = doc->definitions; d; d = d->next) {
        ndefs++;
        nops += d->kind == GQL_D_OPERATION;
    }
    v.recs = calloc(ndefs ? ndefs : 1, sizeof(defrec_t));
    if (v.recs == NULL || v.errors == NULL) {
        free(v.recs);
        json_object_put(v.errors);
        return BYRON_ENOMEM;
    }
    v.nrecs = ndefs;
    size_t i = 0;
    for (const gql_definition_t *d = doc->definitions; d; d = d->next, i++) {
        v.recs[i].def = d;
        v.cur = &v.recs[i];
        if (d->kind == GQL_D_OPERATION)
            check_operation_definition(&v, d, nops);
        else
            check_fragment_definition(&v, d);
    }
    v.cur = NULL;
    resolve_spreads(&v);
    bool cyclic = check_fragment_cycles(&v);
    for (i = 0; i < v.nrecs; i++)
        if (v.recs[i].def->kind == GQL_D_OPERATION) check_operation_variables(&v, &v.recs[i]);
    for (i = 0; i < v.nrecs; i++)
        if (v.recs[i].def->kind == GQL_D_FRAGMENT && !v.recs[i].used)
            verr(&v, &v.recs[i].def->loc, "Fragment \"%s\" is never used.", v.recs[i].def->name);

    byron_status_t st = BYRON_OK;
    if (json_object_array_length(v.errors) == 0 && !cyclic) st = check_limits_and_merging(&v, limits);
    for (i = 0; i < v.nrecs; i++) {
        free(v.recs[i].uses);
        free(v.recs[i].spreads);
        free(v.recs[i].spread_idx);
    }
    free(v.recs);
    if (v.oom) {
        json_object_put(v.errors);
        return BYRON_ENOMEM;
    }
    if (json_object_array_length(v.errors) == 0) {
        json_object_put(v.errors);
        return BYRON_OK;
    }
    *errors = v.errors;
    return st == BYRON_OK ? BYRON_EINVAL : st;
}
