/* gqlapi_resolvers.c — the generated GraphQL fields, served from the cache and
 * the command API.
 *
 *   m(id)                 byron_cache_find_id (with maxTimeMS); absent → null
 *   ms(filter, orderBy,   one MongoDB find: the filter tree becomes $and/$or/$nor,
 *      first/after,       orderBy becomes the sort (ties broken by id), cursors are
 *      last/before)       keyset positions (the sort values and the id of an edge),
 *                         so a page costs O(page), never O(offset)
 *   ref fields            by id, through a per-request memo; a list of ids is one $in
 *   mutations             byron_commands_run; its error codes become extensions.code
 *
 * Everything here blocks and runs on a worker (gqlapi_endpoint.c,
 * gqlapi_subscriptions.c). */
#include "gqlapi_resolvers.h"

#include "byron/json.h"
#include "cache_wait.h"
#include "component_schema.h"
#include "guard.h"

#include <ctype.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTER_DEPTH 32
#define MAX_SORT_KEYS 8

static const byron_principal_t ANONYMOUS = {.kind = BYRON_PRINCIPAL_ANONYMOUS};

void byron_gqlapi_request_init(byron_gqlapi_request_t *r, byron_sidecar_t *sc, const char *idempotency_key,
                               const char *traceparent) {
    memset(r, 0, sizeof *r);
    r->sc = sc;
    r->principal = &ANONYMOUS;
    r->deadline_ms = -1;
    r->idempotency_key = idempotency_key && *idempotency_key ? idempotency_key : NULL;
    r->traceparent = traceparent && *traceparent ? traceparent : NULL;
}

void byron_gqlapi_request_cleanup(byron_gqlapi_request_t *r) {
    json_object_put(r->memo);
    json_object_put(r->page);
    json_object_put(r->batched);
    r->memo = r->page = r->batched = NULL;
}

/* A cache failure as a field error. */
static byron_status_t cache_error(byron_graphql_field_error_t *e, byron_status_t st, const byron_err_t *err) {
    const char *code = st == BYRON_EINVAL         ? BYRON_CODE_BAD_USER_INPUT
                       : st == BYRON_EUNAVAILABLE ? BYRON_CODE_UNAVAILABLE
                                                  : BYRON_GRAPHQL_CODE_INTERNAL;
    return byron_graphql_field_error_set(e, st, code, "%s", err->msg);
}

/* MongoDB stops a query when the request's deadline would pass (maxTimeMS);
 * -1: no deadline. */
static int64_t max_time(const byron_gqlapi_request_t *r) {
    return r->deadline_ms < 0 ? -1 : r->deadline_ms > 0 ? r->deadline_ms : 1;
}

static void add_max_time(const byron_gqlapi_request_t *r, json_object *opts) {
    if (max_time(r) >= 0) json_object_object_add(opts, "maxTimeMS", json_object_new_int64(max_time(r)));
}

/* ------------------------------------------------------------------ access */

static byron_status_t refused(byron_graphql_field_error_t *e, byron_access_decision_t d, const char *op) {
    return d == BYRON_ACCESS_UNAUTHENTICATED
               ? byron_graphql_field_error_set(e, BYRON_EREJECTED, BYRON_CODE_UNAUTHENTICATED,
                                               "%s: authentication required", op)
               : byron_graphql_field_error_set(e, BYRON_EREJECTED, BYRON_CODE_FORBIDDEN, "%s: not allowed",
                                               op);
}

byron_status_t byron_gqlapi_authorize(void *ctx, byron_graphql_operation_kind_t kind, const char *field,
                                      const void *meta, byron_graphql_field_error_t *err) {
    (void)kind;
    byron_gqlapi_request_t *r = ctx;
    if (!meta) return BYRON_OK; /* not a generated operation (none exist today): nothing to guard */
    byron_access_decision_t d = byron_access_check(r->sc->component->access, field, r->principal, NULL);
    return d == BYRON_ACCESS_ALLOW ? BYRON_OK : refused(err, d, field);
}

/* The rows `op` allows the request's principal; -1 (e set) when none. */
static byron_status_t rows_for(byron_gqlapi_request_t *r, const char *op, byron_access_rows_t *rows,
                               byron_graphql_field_error_t *e) {
    byron_access_decision_t d = byron_access_check(r->sc->component->access, op, r->principal, rows);
    return d == BYRON_ACCESS_ALLOW ? BYRON_OK : refused(e, d, op);
}

/* ------------------------------------------------------------------ objects by id */

/* The cached object (a new reference), NULL when absent. */
static byron_status_t load(byron_gqlapi_request_t *r, const byron_model_t *m, const char *id,
                           json_object **out, byron_graphql_field_error_t *e) {
    char key[300];
    snprintf(key, sizeof key, "%s/%s", m->name, id);
    json_object *hit = NULL;
    if (r->memo && json_object_object_get_ex(r->memo, key, &hit)) {
        *out = json_object_get(hit);
        return BYRON_OK;
    }
    byron_err_t err = {0};
    json_object *o = NULL;
    byron_status_t st = byron_cache_find_id(r->sc->cache, m->name, id, max_time(r), &o, &err);
    if (st == BYRON_OK && !o) st = BYRON_ENOTFOUND;
    if (!r->memo) r->memo = json_object_new_object();
    if (st == BYRON_ENOTFOUND) {
        json_object_object_add(r->memo, key, NULL); /* absent: remembered too */
        *out = NULL;
        return BYRON_OK;
    }
    if (st != BYRON_OK) return cache_error(e, st, &err);
    json_object_object_add(r->memo, key, json_object_get(o));
    *out = o;
    return BYRON_OK;
}

static byron_status_t resolve_get(byron_gqlapi_request_t *r, const byron_model_t *m, const char *field,
                                  json_object *args, json_object **out, byron_graphql_field_error_t *e) {
    const char *id = byron_json_string_or_null(args, "id");
    if (!id || !byron_id_is_valid(id))
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "id: \"%.64s\" is not a valid id ([A-Za-z0-9_-]{1,128})",
                                             id ? id : "");
    byron_access_rows_t rows = {0};
    byron_status_t rc = rows_for(r, field, &rows, e);
    if (rc != BYRON_OK) return rc;
    rc = load(r, m, id, out, e);
    if (rc == BYRON_OK && *out && !byron_access_rows_match(&rows, *out)) { /* not yours: as if absent */
        json_object_put(*out);
        *out = NULL;
    }
    byron_access_rows_cleanup(&rows);
    return rc;
}

/* Adds the valid ids `v` holds (an id or a list of ids) to the object `ids`. */
static void collect_ids(json_object *v, json_object *ids) {
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
    for (size_t i = 0; i < n; i++) {
        json_object *id = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
        if (json_object_is_type(id, json_type_string) && byron_id_is_valid(json_object_get_string(id)))
            json_object_object_add(ids, json_object_get_string(id), NULL);
    }
}

/* Loads every id of `ids` (an object used as a set) the memo lacks, with one
 * $in query; absent ones are remembered as null. */
static byron_status_t load_many(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *ids,
                                byron_graphql_field_error_t *e) {
    if (!r->memo) r->memo = json_object_new_object();
    json_object *missing = json_object_new_array();
    char key[300];
    json_object_object_foreach(ids, id, unused) {
        (void)unused;
        snprintf(key, sizeof key, "%s/%s", m->name, id);
        if (!json_object_object_get_ex(r->memo, key, NULL))
            json_object_array_add(missing, json_object_new_string(id));
    }
    size_t n = json_object_array_length(missing);
    if (n == 0) {
        json_object_put(missing);
        return BYRON_OK;
    }
    json_object *f = json_object_new_object(), *in = json_object_new_object(), *found = NULL;
    json_object_object_add(in, "$in", json_object_get(missing));
    json_object_object_add(f, "_id", in);
    byron_err_t err = {0};
    json_object *opts = json_object_new_object();
    add_max_time(r, opts);
    byron_status_t st = byron_cache_find(r->sc->cache, m->name, f, opts, &found, &err);
    json_object_put(opts);
    json_object_put(f);
    if (st != BYRON_OK) {
        json_object_put(missing);
        return cache_error(e, st, &err);
    }
    for (size_t i = 0; i < n; i++) { /* absent unless found below */
        snprintf(key, sizeof key, "%s/%s", m->name,
                 json_object_get_string(json_object_array_get_idx(missing, i)));
        json_object_object_add(r->memo, key, NULL);
    }
    for (size_t k = 0; k < json_object_array_length(found); k++) {
        json_object *o = json_object_array_get_idx(found, k), *oid = NULL;
        if (!json_object_object_get_ex(o, "id", &oid)) continue;
        snprintf(key, sizeof key, "%s/%s", m->name, json_object_get_string(oid));
        json_object_object_add(r->memo, key, json_object_get(o));
    }
    json_object_put(found);
    json_object_put(missing);
    return BYRON_OK;
}

/* The first time a reference field is resolved for a node of the last list
 * page, load it for every node of the page at once: 1 + (reference fields)
 * queries per page instead of 1 + nodes × fields. */
static byron_status_t batch_page(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *parent,
                                 const char *ptype, const char *field, byron_graphql_field_error_t *e) {
    if (!r->page) return BYRON_OK;
    size_t n = json_object_array_length(r->page), i = 0;
    while (i < n && json_object_array_get_idx(r->page, i) != parent) i++;
    if (i == n) return BYRON_OK;
    char key[300];
    snprintf(key, sizeof key, "%s.%s", ptype, field);
    if (!r->batched) r->batched = json_object_new_object();
    if (json_object_object_get_ex(r->batched, key, NULL)) return BYRON_OK;
    json_object_object_add(r->batched, key, NULL);
    json_object *ids = json_object_new_object();
    for (i = 0; i < n; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(r->page, i), field, &v) && v)
            collect_ids(v, ids);
    }
    byron_status_t rc = load_many(r, m, ids, e);
    json_object_put(ids);
    return rc;
}

static byron_status_t resolve_ref_rows(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *parent,
                                       const char *field, const char *ptype, json_object *v,
                                       json_object **out, byron_graphql_field_error_t *e);

/* A model-typed field: the parent holds the id, or a list of ids. Dangling
 * references resolve to null (single) or are left out (list): the referenced
 * object may not be projected yet, or deleted. */
static byron_status_t resolve_ref(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *parent,
                                  const char *field, const char *ptype, json_object **out,
                                  byron_graphql_field_error_t *e) {
    json_object *v = NULL;
    *out = NULL;
    if (!parent || !json_object_object_get_ex(parent, field, &v) || !v) return BYRON_OK;
    /* Following a reference reads the referenced model: its by-id rule applies. */
    char op[200];
    byron_guard_op_name(m->name, "", op, sizeof op);
    byron_access_rows_t rows = {0};
    byron_status_t rc = rows_for(r, op, &rows, e);
    if (rc != BYRON_OK) return rc;
    rc = resolve_ref_rows(r, m, parent, field, ptype, v, out, e);
    if (rc == BYRON_OK && *out && !byron_access_rows_all(&rows)) {
        if (json_object_is_type(*out, json_type_array)) {
            json_object *kept = json_object_new_array();
            for (size_t i = 0; i < json_object_array_length(*out); i++)
                if (byron_access_rows_match(&rows, json_object_array_get_idx(*out, i)))
                    json_object_array_add(kept, json_object_get(json_object_array_get_idx(*out, i)));
            json_object_put(*out);
            *out = kept;
        } else if (!byron_access_rows_match(&rows, *out)) {
            json_object_put(*out);
            *out = NULL;
        }
    }
    byron_access_rows_cleanup(&rows);
    return rc;
}

static byron_status_t resolve_ref_rows(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *parent,
                                       const char *field, const char *ptype, json_object *v,
                                       json_object **out, byron_graphql_field_error_t *e) {
    byron_status_t st = batch_page(r, m, parent, ptype, field, e);
    if (st != BYRON_OK) return st;
    if (json_object_is_type(v, json_type_string)) {
        const char *id = json_object_get_string(v);
        return byron_id_is_valid(id) ? load(r, m, id, out, e) : BYRON_OK;
    }
    if (!json_object_is_type(v, json_type_array)) return BYRON_OK;
    json_object *ids = json_object_new_object();
    collect_ids(v, ids);
    byron_status_t rc = load_many(r, m, ids, e);
    json_object_put(ids);
    if (rc != BYRON_OK) return rc;
    /* In the order of the stored ids; absent ones left out. */
    json_object *res = json_object_new_array();
    char key[300];
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *id = json_object_array_get_idx(v, i), *o = NULL;
        if (!json_object_is_type(id, json_type_string)) continue;
        snprintf(key, sizeof key, "%s/%s", m->name, json_object_get_string(id));
        if (json_object_object_get_ex(r->memo, key, &o) && o) json_object_array_add(res, json_object_get(o));
    }
    *out = res;
    return BYRON_OK;
}

/* ------------------------------------------------------------------ lists */

typedef struct {
    const char *key;   /* MongoDB key: "_id" or the field name */
    const char *field; /* the same as a key of the returned objects ("id" for _id) */
    int dir;           /* 1 or -1 */
} sort_key_t;

/* Whether an MOrderField value names the field: the schema generator spells
 * them in UPPER_SNAKE (placedAt → PLACED_AT). */
static int is_order_value(const char *field, const char *value) {
    for (size_t i = 0; field[i]; i++) {
        if (i > 0 && isupper((unsigned char)field[i]) && *value++ != '_') return 0;
        if (*value++ != (char)toupper((unsigned char)field[i])) return 0;
    }
    return *value == '\0';
}

static json_object *op_cond(const char *key, const char *op, json_object *v) {
    json_object *o = json_object_new_object(), *c = json_object_new_object();
    json_object_object_add(c, op, json_object_get(v));
    json_object_object_add(o, key, c);
    return o;
}

/* Always-false condition: an empty $in. */
static json_object *cond_false(void) {
    json_object *o = json_object_new_object(), *c = json_object_new_object();
    json_object_object_add(c, "$in", json_object_new_array());
    json_object_object_add(o, "_id", c);
    return o;
}

static json_object *wrap(const char *op, json_object *arr) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, op, arr);
    return o;
}

/* MFilter → a MongoDB condition; *out NULL means "everything". Field names
 * were checked by the schema (only id and indexed fields are in MFilter). */
static byron_status_t translate_filter(const byron_model_t *m, json_object *f, int depth, json_object **out,
                                       byron_graphql_field_error_t *e) {
    static const char *const OPS[][2] = {{"eq", "$eq"}, {"ne", "$ne"},   {"gt", "$gt"}, {"gte", "$gte"},
                                         {"lt", "$lt"}, {"lte", "$lte"}, {"in", "$in"}};
    *out = NULL;
    if (!f || !json_object_is_type(f, json_type_object)) return BYRON_OK;
    if (depth > MAX_FILTER_DEPTH)
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "filter: nested deeper than %d", MAX_FILTER_DEPTH);
    json_object *and = json_object_new_array();
    byron_status_t st = BYRON_OK;
    json_object_object_foreach(f, key, val) {
        if (st != BYRON_OK) break;
        if (!val) continue; /* an explicit null: no constraint */
        if (strcmp(key, "and") == 0 || strcmp(key, "or") == 0) {
            int is_or = key[0] == 'o', any_true = 0;
            json_object *parts = json_object_new_array();
            for (size_t i = 0; i < json_object_array_length(val) && st == BYRON_OK; i++) {
                json_object *c = NULL;
                st = translate_filter(m, json_object_array_get_idx(val, i), depth + 1, &c, e);
                if (c)
                    json_object_array_add(parts, c);
                else
                    any_true = 1;
            }
            if (st != BYRON_OK || (!is_or && json_object_array_length(parts) == 0) || (is_or && any_true)) {
                json_object_put(parts); /* and: all true; or: one branch always true */
            } else if (is_or && json_object_array_length(parts) == 0) {
                json_object_put(parts);
                json_object_array_add(and, cond_false()); /* or: [] matches nothing */
            } else {
                json_object_array_add(and, wrap(is_or ? "$or" : "$and", parts));
            }
        } else if (strcmp(key, "not") == 0) {
            json_object *c = NULL;
            st = translate_filter(m, val, depth + 1, &c, e);
            if (st == BYRON_OK) {
                if (!c) {
                    json_object_array_add(and, cond_false());
                } else {
                    json_object *arr = json_object_new_array();
                    json_object_array_add(arr, c);
                    json_object_array_add(and, wrap("$nor", arr));
                }
            }
        } else {
            const char *mkey = strcmp(key, "id") == 0 ? "_id" : key;
            if (!json_object_is_type(val, json_type_object)) continue;
            json_object_object_foreach(val, op, arg) {
                const char *mop = NULL;
                for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
                    if (strcmp(OPS[i][0], op) == 0) mop = OPS[i][1];
                if (!mop) {
                    st = byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                                       "filter.%.64s.%.16s: unknown operator", key, op);
                    break;
                }
                if (strcmp(op, "in") == 0 && !json_object_is_type(arg, json_type_array)) continue;
                json_object_array_add(and, op_cond(mkey, mop, arg));
            }
        }
    }
    (void)m;
    if (st != BYRON_OK) {
        json_object_put(and);
        return st;
    }
    size_t n = json_object_array_length(and);
    if (n == 0) {
        json_object_put(and);
    } else if (n == 1) {
        *out = json_object_get(json_object_array_get_idx(and, 0));
        json_object_put(and);
    } else {
        *out = wrap("$and", and);
    }
    return BYRON_OK;
}

static byron_status_t parse_order(const byron_model_t *m, json_object *order, sort_key_t *keys, size_t *nkeys,
                                  byron_graphql_field_error_t *e) {
    size_t n = 0;
    int has_id = 0;
    for (size_t i = 0; order && json_object_is_type(order, json_type_array) &&
                       i < json_object_array_length(order) && !has_id;
         i++) {
        json_object *o = json_object_array_get_idx(order, i), *fv = NULL, *dv = NULL;
        if (!json_object_object_get_ex(o, "field", &fv)) continue;
        const char *fname = json_object_get_string(fv);
        int dir = json_object_object_get_ex(o, "direction", &dv) && dv &&
                          strcmp(json_object_get_string(dv), "DESC") == 0
                      ? -1
                      : 1;
        if (n + 1 >= MAX_SORT_KEYS)
            return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                                 "orderBy: at most %d keys", MAX_SORT_KEYS - 1);
        if (strcmp(fname, "ID") == 0) {
            keys[n++] = (sort_key_t){"_id", "id", dir};
            has_id = 1; /* unique: later keys cannot matter */
            continue;
        }
        const char *match = NULL;
        for (size_t k = 0; k < m->nfields && !match; k++)
            if (is_order_value(m->fields[k].name, fname)) match = m->fields[k].name;
        if (!match)
            return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                                 "orderBy: %.64s is not a sortable field of %s", fname,
                                                 m->name);
        keys[n++] = (sort_key_t){match, match, dir};
    }
    if (!has_id) keys[n++] = (sort_key_t){"_id", "id", 1}; /* ties broken by id */
    *nkeys = n;
    return BYRON_OK;
}

/* The order's signature, kept in cursors so a cursor is only used with the order that made it. */
static void order_sig(const sort_key_t *keys, size_t n, char *out, size_t cap) {
    size_t j = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && j < cap; i++)
        j += (size_t)snprintf(out + j, cap - j, "%s%s%c", i ? "," : "", keys[i].field,
                              keys[i].dir > 0 ? '+' : '-');
}

/* Cursor: base64url of ["<order signature>", [sort values, the id last]]. */
static json_object *cursor_of(json_object *node, const sort_key_t *keys, size_t n, const char *sig) {
    json_object *arr = json_object_new_array(), *vals = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(node, keys[i].field, &v);
        json_object_array_add(vals, json_object_get(v));
    }
    json_object_array_add(arr, json_object_new_string(sig));
    json_object_array_add(arr, vals);
    const char *s = byron_json_compact(arr);
    int len = (int)strlen(s), cap = len * 4 / 3 + 8;
    char *buf = malloc((size_t)cap);
    json_object *out = NULL;
    if (buf && lws_b64_encode_string_url(s, len, buf, cap) >= 0) out = json_object_new_string(buf);
    free(buf);
    json_object_put(arr);
    return out;
}

static byron_status_t cursor_decode(const char *which, const char *cur, const char *sig, size_t n,
                                    json_object **vals, byron_graphql_field_error_t *e) {
    char buf[4096];
    size_t len = strlen(cur);
    json_object *arr = NULL;
    byron_err_t err;
    int dl =
        len > 0 && len < sizeof buf ? lws_b64_decode_string_len(cur, (int)len, buf, (int)sizeof buf) : -1;
    if (dl <= 0 || byron_json_parse(buf, (size_t)dl, 8, &arr, &err) != BYRON_OK ||
        !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) != 2 ||
        !json_object_is_type(json_object_array_get_idx(arr, 0), json_type_string) ||
        !json_object_is_type(json_object_array_get_idx(arr, 1), json_type_array)) {
        json_object_put(arr);
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "%s: not a cursor from this API", which);
    }
    if (strcmp(json_object_get_string(json_object_array_get_idx(arr, 0)), sig) != 0) {
        json_object_put(arr);
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "%s: the cursor belongs to a different orderBy", which);
    }
    if (json_object_array_length(json_object_array_get_idx(arr, 1)) != n) {
        json_object_put(arr);
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "%s: not a cursor from this API", which);
    }
    *vals = json_object_get(json_object_array_get_idx(arr, 1));
    json_object_put(arr);
    return BYRON_OK;
}

/* Documents strictly beyond the cursor position `vals` when walking the keys
 * in direction sign (1: as sorted, -1: backwards). MongoDB sorts null and
 * missing values first, so "after null" ascending is "not null", and
 * descending past a value includes the nulls. */
static json_object *beyond(const sort_key_t *keys, size_t n, json_object *vals, int sign) {
    json_object *ors = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *conj = json_object_new_array();
        for (size_t k = 0; k < i; k++) {
            json_object *v = json_object_array_get_idx(vals, k);
            json_object_array_add(conj, op_cond(keys[k].key, "$eq", v));
        }
        json_object *v = json_object_array_get_idx(vals, i);
        int dir = keys[i].dir * sign;
        json_object *step = NULL;
        if (dir > 0) {
            step = op_cond(keys[i].key, v ? "$gt" : "$ne", v);
        } else if (v) {
            json_object *alt = json_object_new_array();
            json_object_array_add(alt, op_cond(keys[i].key, "$lt", v));
            json_object_array_add(alt, op_cond(keys[i].key, "$eq", NULL));
            step = wrap("$or", alt);
        }
        if (!step) {
            json_object_put(conj); /* nothing sorts below null */
            continue;
        }
        json_object_array_add(conj, step);
        json_object_array_add(ors, json_object_array_length(conj) == 1
                                       ? json_object_get(json_object_array_get_idx(conj, 0))
                                       : wrap("$and", json_object_get(conj)));
        json_object_put(conj);
    }
    if (json_object_array_length(ors) == 0) {
        json_object_put(ors);
        return cond_false();
    }
    return wrap("$or", ors);
}

static byron_status_t resolve_list_rows(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *args,
                                        json_object *rows_cond, json_object **out,
                                        byron_graphql_field_error_t *e);

static int int_arg(json_object *args, const char *key, int *out) {
    json_object *v = NULL;
    if (!args || !json_object_object_get_ex(args, key, &v) || !v) return 0;
    *out = json_object_get_int(v);
    return 1;
}

static byron_status_t resolve_list(byron_gqlapi_request_t *r, const byron_model_t *m, const char *field,
                                   json_object *args, json_object **out, byron_graphql_field_error_t *e) {
    byron_access_rows_t rows = {0};
    byron_status_t rc = rows_for(r, field, &rows, e);
    if (rc != BYRON_OK) return rc;
    json_object *rows_cond = byron_access_rows_filter(&rows);
    byron_access_rows_cleanup(&rows);
    rc = resolve_list_rows(r, m, args, rows_cond, out, e);
    json_object_put(rows_cond);
    return rc;
}

/* A list field's page: its direction, size, cursors and order. */
typedef struct {
    int backwards, limit;
    const char *after, *before;
    sort_key_t keys[MAX_SORT_KEYS];
    size_t nkeys;
    char sig[512]; /* the order's signature, bound into its cursors */
} page_t;

static byron_status_t page_of(const byron_model_t *m, json_object *args, page_t *pg,
                              byron_graphql_field_error_t *e) {
    int first = 0, last = 0;
    int has_first = int_arg(args, "first", &first), has_last = int_arg(args, "last", &last);
    pg->after = byron_json_string_or_null(args, "after");
    pg->before = byron_json_string_or_null(args, "before");
    if (has_first && has_last)
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "first and last cannot be combined: page forwards or backwards");
    if ((has_first && (first < 0 || first > BYRON_CACHE_MAX_LIMIT)) ||
        (has_last && (last < 0 || last > BYRON_CACHE_MAX_LIMIT)))
        return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "%s: must be between 0 and %d", has_first ? "first" : "last",
                                             BYRON_CACHE_MAX_LIMIT);
    pg->backwards = has_last;
    pg->limit = has_first ? first : has_last ? last : BYRON_CACHE_DEFAULT_LIMIT;
    json_object *order = NULL;
    if (args) json_object_object_get_ex(args, "orderBy", &order);
    byron_status_t st = parse_order(m, order, pg->keys, &pg->nkeys, e);
    if (st != BYRON_OK) return st;
    order_sig(pg->keys, pg->nkeys, pg->sig, sizeof pg->sig);
    return BYRON_OK;
}

/* The page's MongoDB filter: the field's filter, the row rules, the cursors' bounds. */
static byron_status_t page_filter(const byron_model_t *m, json_object *args, json_object *rows_cond,
                                  const page_t *pg, json_object **out, byron_graphql_field_error_t *e) {
    json_object *filter = NULL, *fcond = NULL, *conds = json_object_new_array();
    if (args) json_object_object_get_ex(args, "filter", &filter);
    byron_status_t st = translate_filter(m, filter, 0, &fcond, e);
    if (st != BYRON_OK) {
        json_object_put(conds);
        return st;
    }
    if (fcond) json_object_array_add(conds, fcond);
    if (rows_cond)
        json_object_array_add(conds, json_object_get(rows_cond)); /* row rules: only the caller's */
    const char *cursors[2] = {pg->after, pg->before};
    for (int c = 0; c < 2; c++) {
        if (!cursors[c]) continue;
        json_object *vals = NULL;
        st = cursor_decode(c ? "before" : "after", cursors[c], pg->sig, pg->nkeys, &vals, e);
        if (st != BYRON_OK) {
            json_object_put(conds);
            return st;
        }
        json_object_array_add(conds, beyond(pg->keys, pg->nkeys, vals, c ? -1 : 1));
        json_object_put(vals);
    }
    size_t nc = json_object_array_length(conds);
    *out = nc == 0   ? json_object_new_object()
           : nc == 1 ? json_object_get(json_object_array_get_idx(conds, 0))
                     : wrap("$and", json_object_get(conds));
    json_object_put(conds);
    return BYRON_OK;
}

/* One more than the page from the cache, in the page's direction. */
static byron_status_t page_find(byron_gqlapi_request_t *r, const byron_model_t *m, const page_t *pg,
                                json_object *fj, json_object **items, byron_graphql_field_error_t *e) {
    json_object *opts = json_object_new_object(), *sort = json_object_new_object();
    for (size_t i = 0; i < pg->nkeys; i++)
        json_object_object_add(sort, pg->keys[i].key,
                               json_object_new_int(pg->backwards ? -pg->keys[i].dir : pg->keys[i].dir));
    json_object_object_add(opts, "sort", sort);
    json_object_object_add(opts, "limit", json_object_new_int(pg->limit + 1)); /* +1: is there more? */
    add_max_time(r, opts);
    byron_err_t err = {0};
    byron_status_t st = byron_cache_find(r->sc->cache, m->name, fj, opts, items, &err);
    json_object_put(opts);
    return st != BYRON_OK ? cache_error(e, st, &err) : BYRON_OK;
}

/* The Relay connection of the items found; the page's nodes become the request's page. */
static json_object *page_connection(byron_gqlapi_request_t *r, const page_t *pg, json_object *items) {
    size_t got = json_object_array_length(items);
    int more = got > (size_t)pg->limit;
    size_t n = more ? (size_t)pg->limit : got;
    json_object *edges = json_object_new_array(), *nodes = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(items, pg->backwards ? n - 1 - i : i);
        json_object *edge = json_object_new_object();
        json_object_object_add(edge, "cursor", cursor_of(node, pg->keys, pg->nkeys, pg->sig));
        json_object_object_add(edge, "node", json_object_get(node));
        json_object_array_add(edges, edge);
        json_object_array_add(nodes, json_object_get(node));
    }
    json_object_put(r->page); /* this page's references are batched from now on */
    json_object_put(r->batched);
    r->page = nodes;
    r->batched = NULL;
    /* Relay: the far side is only known when a cursor bounds it; reported
     * true then (the cursor's own edge lies there), false otherwise. */
    json_object *pi = json_object_new_object();
    json_object_object_add(pi, "hasNextPage",
                           json_object_new_boolean(pg->backwards ? pg->before != NULL : more));
    json_object_object_add(pi, "hasPreviousPage",
                           json_object_new_boolean(pg->backwards ? more : pg->after != NULL));
    json_object *c0 = NULL, *c1 = NULL;
    if (n > 0) {
        json_object_object_get_ex(json_object_array_get_idx(edges, 0), "cursor", &c0);
        json_object_object_get_ex(json_object_array_get_idx(edges, n - 1), "cursor", &c1);
    }
    json_object_object_add(pi, "startCursor", json_object_get(c0));
    json_object_object_add(pi, "endCursor", json_object_get(c1));
    json_object *conn = json_object_new_object();
    json_object_object_add(conn, "edges", edges);
    json_object_object_add(conn, "pageInfo", pi);
    return conn;
}

static byron_status_t resolve_list_rows(byron_gqlapi_request_t *r, const byron_model_t *m, json_object *args,
                                        json_object *rows_cond, json_object **out,
                                        byron_graphql_field_error_t *e) {
    page_t pg = {0};
    json_object *fj = NULL, *items = NULL;
    byron_status_t rc = page_of(m, args, &pg, e);
    if (rc == BYRON_OK) rc = page_filter(m, args, rows_cond, &pg, &fj, e);
    if (rc != BYRON_OK) return rc;
    rc = page_find(r, m, &pg, fj, &items, e);
    json_object_put(fj);
    if (rc != BYRON_OK) return rc;
    *out = page_connection(r, &pg, items);
    json_object_put(items);
    return BYRON_OK;
}

/* ------------------------------------------------------------------ mutations */

json_object *byron_gqlapi_event(json_object *env, uint64_t seq) {
    json_object *v = NULL;
    if (!env || !json_object_is_type(env, json_type_object)) return NULL;
    if (!seq && json_object_object_get_ex(env, "byronsequence", &v)) seq = (uint64_t)json_object_get_int64(v);
    json_object *ev = json_object_new_object();
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, seq);
    json_object_object_add(ev, "sequence", json_object_new_string(s));
    static const char *const MAP[][2] = {{"type", "type"},  {"model", "byronmodel"},
                                         {"id", "subject"}, {"version", "byronversion"},
                                         {"time", "time"},  {"data", "data"}};
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (json_object_object_get_ex(env, MAP[i][1], &v))
            json_object_object_add(ev, MAP[i][0], json_object_get(v));
    return ev;
}

static byron_status_t resolve_command(byron_gqlapi_request_t *r, const char *command, int has_id,
                                      json_object *args, const byron_graphql_resolve_info_t *info,
                                      json_object **out, byron_graphql_field_error_t *e) {
    if (!r->sc->commands)
        return byron_graphql_field_error_set(e, BYRON_EUNAVAILABLE, BYRON_CODE_UNAVAILABLE,
                                             "mutations are served by the api sidecar");
    json_object *input = NULL;
    if (args) json_object_object_get_ex(args, "input", &input);
    byron_guard_refusal_t refusal;
    byron_err_t gerr = {0};
    if (byron_guard_command(r->sc, r->principal, command,
                            has_id ? byron_json_string_or_null(args, "id") : NULL, input, &refusal,
                            &gerr) != 0)
        return byron_graphql_field_error_set(e, BYRON_EREJECTED, refusal.code, "%s", gerr.msg);
    char key[160], scoped[200];
    const char *idem = NULL;
    if (r->idempotency_key) {
        /* One header, several mutation fields: each is its own command, scoped by its response key
         * and by the caller (guard.h): another caller's equal key never returns this result. */
        if (snprintf(key, sizeof key, "%s/%s", r->idempotency_key, info->response_key) >= (int)sizeof key ||
            byron_guard_scope_key(r->principal, key, scoped, sizeof scoped) != 0)
            return byron_graphql_field_error_set(e, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                                 "Idempotency-Key: too long (with the field's response key, "
                                                 "at most 110 characters)");
        idem = scoped;
    }
    /* A create without input.id under a key gets an id derived from the key
     * (byron_command_key_id, in byron_commands_run), so a re-sent one lands on the same object. */
    byron_command_request_t req = {.command = command,
                                   .id = has_id ? byron_json_string_or_null(args, "id") : NULL,
                                   .input = input,
                                   .idempotency_key = idem,
                                   .traceparent = r->traceparent,
                                   .principal = r->principal};
    byron_command_result_t res;
    byron_err_t err = {0};
    byron_status_t rc = byron_commands_run(r->sc->commands, &req, &res, &err);
    if (rc == BYRON_OK) {
        json_object *o = json_object_new_object(), *events = json_object_new_array();
        json_object_object_add(o, "id", json_object_new_string(res.id));
        json_object_object_add(o, "version", json_object_new_int64(res.version));
        char seq[24];
        snprintf(seq, sizeof seq, "%" PRIu64, res.nevents ? res.sequences[res.nevents - 1] : 0);
        json_object_object_add(o, "sequence", json_object_new_string(seq));
        for (size_t i = 0; res.events && i < json_object_array_length(res.events); i++) {
            json_object *ev = byron_gqlapi_event(json_object_array_get_idx(res.events, i),
                                                 i < res.nevents ? res.sequences[i] : 0);
            if (ev) json_object_array_add(events, ev);
        }
        json_object_object_add(o, "events", events);
        json_object_object_add(o, "duplicate", json_object_new_boolean(res.duplicate));
        /* Read-your-writes (cache_wait.h): adds "projected" (and "projectionError"). */
        if (r->wait_projected && r->sc->cache)
            byron_cache_wait_command(r->sc->cache, r->sc->component, command, &res, o);
        *out = o;
    } else {
        const char *code =
            res.code && strcmp(res.code, BYRON_CODE_INTERNAL) != 0 ? res.code : BYRON_GRAPHQL_CODE_INTERNAL;
        if (res.app_code[0]) {
            snprintf(e->ext_key, sizeof e->ext_key, "appCode");
            snprintf(e->ext_value, sizeof e->ext_value, "%s", res.app_code);
        }
        rc = byron_graphql_field_error_set(e, rc, code, "%s", err.msg[0] ? err.msg : "command failed");
    }
    byron_command_result_cleanup(&res);
    return rc;
}

/* ------------------------------------------------------------------ dispatch */

byron_status_t byron_gqlapi_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                                    const byron_graphql_resolve_info_t *info, json_object **result,
                                    byron_graphql_field_error_t *err) {
    byron_gqlapi_request_t *r = ctx;
    const byron_component_schema_op_t *op = info->meta;
    r->deadline_ms = info->deadline_remaining_ms;
    if (!op) return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
    switch (op->verb) {
    case BYRON_SCHEMA_GET: return resolve_get(r, op->model, field, args, result, err);
    case BYRON_SCHEMA_LIST: return resolve_list(r, op->model, field, args, result, err);
    case BYRON_SCHEMA_REF: return resolve_ref(r, op->model, parent, field, info->parent_type, result, err);
    case BYRON_SCHEMA_CREATE: return resolve_command(r, field, 0, args, info, result, err);
    case BYRON_SCHEMA_UPDATE:
    case BYRON_SCHEMA_DELETE:
    case BYRON_SCHEMA_COMMAND: return resolve_command(r, field, 1, args, info, result, err);
    case BYRON_SCHEMA_EVENTS:
        return byron_graphql_field_error_set(
            err, BYRON_EINVAL, BYRON_GRAPHQL_CODE_OPERATION,
            "subscriptions are served over WebSocket (graphql-transport-ws)");
    }
    return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
}
