/* cache.c — cache reads with libmongoc (client pool, blocking calls).
 *
 * Filters and cursors are built as JSON and converted to BSON as
 * bson_new_from_json types them (json_bson.h): the values then get the same
 * BSON types the sink gets from the same JSON event data, so equality
 * matches. Pagination is keyset ("after" the last (sort value, id) seen),
 * O(page) per page instead of O(offset) with skip. */
#include "cache.h"

#include "byron/base64.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "generation.h"
#include "json_bson.h"

#include <mongoc/mongoc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct byron_cache {
    const byron_component_t *comp;
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    char *db;
    /* The generation read (generation.h): re-read at most every
     * BYRON_CACHE_GENERATION_REFRESH_MS, by the first call after that; it only
     * rises. A read that fails keeps the last one. */
    atomic_llong gen;
    atomic_llong next_read_ms;
    uint32_t
        max_clients; /* the pool's bound: the api's calls plus the clients reserved (the sink's threads) */
};

/* The generation for a call now, refreshed from the pointer when it is due:
 * one small find per period per process, none while idle. */
static int64_t generation(byron_cache_t *cache, mongoc_client_t *cl) {
    long long due = atomic_load(&cache->next_read_ms), now = (long long)byron_clock_mono_ms();
    if (now >= due &&
        atomic_compare_exchange_strong(&cache->next_read_ms, &due, now + BYRON_CACHE_GENERATION_REFRESH_MS)) {
        byron_generation_pointer_t p;
        byron_err_t e = {0};
        if (byron_generation_read(cl, cache->db, &p, &e) == BYRON_OK) {
            long long seen = atomic_load(&cache->gen);
            while (p.active > seen && !atomic_compare_exchange_weak(&cache->gen, &seen, p.active)) {
            }
        } else {
            atomic_store(&cache->next_read_ms, now); /* try again with the next call */
        }
    }
    return atomic_load(&cache->gen);
}

int64_t byron_cache_generation(byron_cache_t *cache) {
    mongoc_client_t *cl = mongoc_client_pool_pop(cache->pool);
    int64_t g = generation(cache, cl);
    mongoc_client_pool_push(cache->pool, cl);
    return g;
}

byron_cache_t *byron_cache_new(const byron_component_t *c, const char *uri_str, int max_clients,
                               byron_err_t *err) {
    byron_cache_t *cache = calloc(1, sizeof *cache);
    bson_error_t be;
    if (!cache) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    cache->comp = c;
    if (!(cache->uri = mongoc_uri_new_with_error(uri_str, &be))) {
        byron_err_set(err, BYRON_EINVAL, "BYRON_MONGO_URI: %s", be.message);
        goto err;
    }
    /* Fail fast when the cache is down: a request waits at most this long. */
    if (!mongoc_uri_has_option(cache->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(cache->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
    if (!mongoc_uri_has_option(cache->uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(cache->uri, MONGOC_URI_SOCKETTIMEOUTMS, 5000);
    if (!mongoc_uri_has_option(cache->uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(cache->uri, MONGOC_URI_CONNECTTIMEOUTMS, 2000);
    const char *db = mongoc_uri_get_database(cache->uri);
    char dflt[128];
    snprintf(dflt, sizeof dflt, "byron_%s", c->component);
    for (char *p = dflt; *p; p++)
        if (*p == '-') *p = '_';
    if (!(cache->db = strdup(db && *db ? db : dflt)) || !(cache->pool = mongoc_client_pool_new(cache->uri))) {
        byron_err_set(err, BYRON_EIO, "cannot create the MongoDB client pool");
        goto err;
    }
    mongoc_client_pool_set_error_api(cache->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(cache->pool, "byron-sidecar");
    cache->max_clients = (uint32_t)(max_clients > 0 ? max_clients : 8);
    mongoc_client_pool_max_size(cache->pool, cache->max_clients);
    return cache;
err:
    byron_cache_free(cache);
    return NULL;
}

void byron_cache_free(byron_cache_t *cache) {
    if (!cache) return;
    if (cache->pool) mongoc_client_pool_destroy(cache->pool);
    mongoc_uri_destroy(cache->uri);
    free(cache->db);
    free(cache);
}

const char *byron_cache_database(const byron_cache_t *cache) { return cache->db; }

byron_status_t byron_cache_reserve_clients(byron_cache_t *cache, int n, byron_err_t *err) {
    if (n < 0 || n > 1024) return byron_err_set(err, BYRON_EINVAL, "cache clients to reserve: %d", n);
    cache->max_clients += (uint32_t)n;
    mongoc_client_pool_max_size(cache->pool, cache->max_clients);
    return BYRON_OK;
}

mongoc_client_t *byron_cache_client_pop(byron_cache_t *cache) { return mongoc_client_pool_pop(cache->pool); }

void byron_cache_client_push(byron_cache_t *cache, mongoc_client_t *cl) {
    if (cl) mongoc_client_pool_push(cache->pool, cl);
}

byron_status_t byron_cache_error(const bson_error_t *be, const char *what, byron_err_t *err) {
    /* Server selection and socket errors: the cache is down or unreachable. */
    if (be->domain == MONGOC_ERROR_SERVER_SELECTION || be->domain == MONGOC_ERROR_STREAM)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "cache unavailable (%s): %s", what, be->message);
    return byron_err_set(err, BYRON_EIO, "cache %s failed: %s", what, be->message);
}

byron_status_t byron_cache_ping(byron_cache_t *cache, byron_err_t *err) {
    mongoc_client_t *cl = mongoc_client_pool_pop(cache->pool);
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t be;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bool ok = mongoc_client_command_simple(cl, "admin", &cmd, NULL, &reply, &be);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    mongoc_client_pool_push(cache->pool, cl);
    return ok ? BYRON_OK : byron_cache_error(&be, "ping", err);
}

/* BSON document → JSON object with `_id` renamed `id`; NULL when unreadable
 * (cache.h: one answer). Read directly, as its relaxed Extended JSON text
 * reads (json_bson.h). */
static json_object *doc_to_json(const bson_t *doc) {
    json_object *obj = byron_json_bson_to_json(doc, 0), *id;
    if (obj && json_object_object_get_ex(obj, "_id", &id)) {
        json_object_object_add(obj, "id", json_object_get(id));
        json_object_object_del(obj, "_id");
    }
    return obj;
}

/* The one answer for a document that does not read back (cache.h). */
static byron_status_t unreadable(const char *coll_name, const char *id, byron_err_t *err) {
    return byron_err_set(err, BYRON_EIO, "cache: unreadable document %s/%s", coll_name, id);
}

static const byron_model_t *model_or_err(byron_cache_t *cache, const char *name, byron_err_t *err) {
    const byron_model_t *m = byron_component_model(cache->comp, name);
    if (!m) byron_err_set(err, BYRON_EINVAL, "unknown model \"%.64s\"", name);
    return m;
}

byron_status_t byron_cache_read_doc(mongoc_client_t *cl, const char *database, int64_t gen,
                                    const char *coll_name, const char *id, json_object **out,
                                    byron_err_t *err) {
    *out = NULL;
    char name[200];
    byron_generation_collection(gen, coll_name, name, sizeof name);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, database, name);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (mongoc_cursor_next(cur, &doc)) {
        if (!(*out = doc_to_json(doc))) st = unreadable(coll_name, id, err);
    } else if (mongoc_cursor_error(cur, &be)) {
        st = byron_cache_error(&be, "read", err);
    } else {
        st = byron_err_set(err, BYRON_ENOTFOUND, "%s %s not found", coll_name, id);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    return st;
}

static byron_status_t find_by_id(byron_cache_t *cache, mongoc_client_t *cl, int64_t gen,
                                 const char *coll_name, const char *id, json_object **out, byron_err_t *err) {
    return byron_cache_read_doc(cl, cache->db, gen, coll_name, id, out, err);
}

byron_status_t byron_cache_get(byron_cache_t *cache, const char *model, const char *id, json_object **out,
                               byron_err_t *err) {
    *out = NULL;
    if (!model_or_err(cache, model, err)) return BYRON_EINVAL;
    if (!byron_id_is_valid(id))
        return byron_err_set(err, BYRON_EINVAL, "id: \"%.64s\" is not a valid id", id);
    mongoc_client_t *cl = mongoc_client_pool_pop(cache->pool);
    byron_status_t st = find_by_id(cache, cl, generation(cache, cl), model, id, out, err);
    mongoc_client_pool_push(cache->pool, cl);
    return st;
}

int64_t byron_cache_doc_version(json_object *doc) {
    json_object *v = NULL;
    return doc && json_object_object_get_ex(doc, "version", &v) ? json_object_get_int64(v) : 0;
}

byron_status_t byron_cache_projection(byron_cache_t *cache, const char *model, const char *id, int with_block,
                                      byron_cache_projection_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!model_or_err(cache, model, err)) return BYRON_EINVAL;
    if (!byron_id_is_valid(id))
        return byron_err_set(err, BYRON_EINVAL, "id: \"%.64s\" is not a valid id", id);
    char key[BYRON_ID_MAX + 160];
    mongoc_client_t *cl = mongoc_client_pool_pop(cache->pool);
    json_object *state = NULL;
    int64_t gen = generation(cache, cl); /* one generation for the two or three reads */
    byron_status_t st = find_by_id(cache, cl, gen, model, id, &out->doc, err);
    if (st == BYRON_OK) {
        out->version = byron_cache_doc_version(out->doc);
    } else if (st == BYRON_ENOTFOUND) { /* deleted (or never projected): its tombstone */
        byron_err_clear(err);
        snprintf(key, sizeof key, BYRON_CACHE_TOMBSTONE_FMT, model, id);
        st = find_by_id(cache, cl, gen, BYRON_CACHE_STATE_COLLECTION, key, &state, err);
        if (st == BYRON_OK) out->version = byron_cache_doc_version(state);
        json_object_put(state);
        state = NULL;
    }
    if ((st == BYRON_OK || st == BYRON_ENOTFOUND) && with_block) {
        byron_err_clear(err);
        snprintf(key, sizeof key, BYRON_CACHE_BLOCKED_FMT, model, id);
        st = find_by_id(cache, cl, gen, BYRON_CACHE_STATE_COLLECTION, key, &state, err);
        if (st == BYRON_OK) {
            json_object *why = NULL;
            out->blocked = 1;
            out->blocked_version = byron_cache_doc_version(state);
            json_object_object_get_ex(state, "reason", &why);
            snprintf(out->blocked_why, sizeof out->blocked_why, "%s", why ? json_object_get_string(why) : "");
        }
        json_object_put(state);
    }
    mongoc_client_pool_push(cache->pool, cl);
    if (st == BYRON_ENOTFOUND) {
        byron_err_clear(err);
        st = BYRON_OK;
    }
    if (st != BYRON_OK) {
        json_object_put(out->doc);
        out->doc = NULL;
    }
    return st;
}

void byron_cache_page_cleanup(byron_cache_page_t *p) {
    json_object_put(p->items);
    free(p->end_cursor);
    memset(p, 0, sizeof *p);
}

/* A filterable/sortable field: "id" (→ _id) or an indexed field. */
static const char *key_for(const byron_model_t *m, const char *field) {
    if (strcmp(field, "id") == 0) return "_id";
    const byron_field_t *f = byron_model_field(m, field);
    return f && f->indexed ? f->name : NULL;
}

static byron_status_t build_filter(const byron_model_t *m, json_object *filter, json_object *and,
                                   byron_err_t *err) {
    static const char *const OPS[][2] = {{"eq", "$eq"}, {"ne", "$ne"},   {"gt", "$gt"}, {"gte", "$gte"},
                                         {"lt", "$lt"}, {"lte", "$lte"}, {"in", "$in"}};
    if (!filter) return BYRON_OK;
    if (!json_object_is_type(filter, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "filter: must be an object");
    json_object_object_foreach(filter, field, val) {
        const char *key = key_for(m, field);
        if (!key)
            return byron_err_set(err, BYRON_EINVAL, "filter.%.64s: not an indexed field of %s", field,
                                 m->name);
        json_object *cond = json_object_new_object();
        if (json_object_is_type(val, json_type_object)) {
            json_object *ops = json_object_new_object();
            json_object_object_foreach(val, op, arg) {
                const char *mop = NULL;
                for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
                    if (strcmp(OPS[i][0], op) == 0) mop = OPS[i][1];
                if (!mop || (strcmp(op, "in") == 0) != json_object_is_type(arg, json_type_array)) {
                    json_object_put(ops);
                    json_object_put(cond);
                    return byron_err_set(err, BYRON_EINVAL, "filter.%.64s.%.16s: %s", field, op,
                                         mop ? "\"in\" takes a list, the others a value"
                                             : "unknown operator (eq ne gt gte lt lte in)");
                }
                json_object_object_add(ops, mop, json_object_get(arg));
            }
            json_object_object_add(cond, key, ops);
        } else if (json_object_is_type(val, json_type_array)) {
            json_object_put(cond);
            return byron_err_set(err, BYRON_EINVAL, "filter.%.64s: use {\"in\": [...]} for a list", field);
        } else {
            json_object *eq = json_object_new_object();
            json_object_object_add(eq, "$eq", json_object_get(val));
            json_object_object_add(cond, key, eq);
        }
        json_object_array_add(and, cond);
    }
    return BYRON_OK;
}

/* Cursor: base64url of the JSON array [sort value, id]. */
static char *cursor_encode(json_object *sortval, json_object *id) {
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_get(sortval));
    json_object_array_add(arr, json_object_get(id));
    const char *s = byron_json_compact(arr);
    char *out = byron_base64_encode((const unsigned char *)s, strlen(s), 1);
    json_object_put(arr);
    return out;
}

static byron_status_t cursor_decode(const char *cur, json_object **sortval, json_object **id,
                                    json_object **holder, byron_err_t *err) {
    size_t n = strlen(cur);
    if (n == 0 || n > BYRON_CACHE_MAX_CURSOR)
        return byron_err_set(err, BYRON_EINVAL, "after: not a cursor from this API");
    char *buf = NULL;
    size_t len = 0;
    json_object *arr = NULL;
    byron_err_t e;
    int bad = byron_base64_decode(cur, n, &buf, &len) != 0 || len == 0 ||
              byron_json_parse(buf, len, 8, &arr, &e) != BYRON_OK;
    free(buf);
    if (bad || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) != 2 ||
        !json_object_is_type(json_object_array_get_idx(arr, 1), json_type_string)) {
        json_object_put(arr);
        return byron_err_set(err, BYRON_EINVAL, "after: not a cursor from this API");
    }
    *holder = arr;
    *sortval = json_object_array_get_idx(arr, 0);
    *id = json_object_array_get_idx(arr, 1);
    return BYRON_OK;
}

static json_object *cmp(const char *key, const char *op, json_object *v) {
    json_object *o = json_object_new_object(), *c = json_object_new_object();
    json_object_object_add(c, op, json_object_get(v));
    json_object_object_add(o, key, c);
    return o;
}

/* Runs a find and collects up to max_items documents as JSON (a new array in
 * *items); *more says whether the cursor had another one (max_items < 0: no
 * bound). Pops a pooled client for the duration. */
static byron_status_t find_json(byron_cache_t *cache, const char *coll_name, const bson_t *filter,
                                const bson_t *opts, int max_items, json_object **items, int *more,
                                byron_err_t *err) {
    mongoc_client_t *cl = mongoc_client_pool_pop(cache->pool);
    char name[200];
    byron_generation_collection(generation(cache, cl), coll_name, name, sizeof name);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, cache->db, name);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    json_object *arr = json_object_new_array();
    const bson_t *doc;
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    int n = 0;
    if (more) *more = 0;
    while (st == BYRON_OK && mongoc_cursor_next(cur, &doc)) {
        if (max_items >= 0 && n == max_items) {
            if (more) *more = 1; /* the one extra document fetched answers "is there more?" */
            break;
        }
        json_object *o = doc_to_json(doc);
        if (!o) { /* not skipped: a page would silently miss it, and its cursor with it */
            bson_iter_t it;
            st = unreadable(coll_name,
                            bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                                ? bson_iter_utf8(&it, NULL)
                                : "(an id that is not a string)",
                            err);
            break;
        }
        json_object_array_add(arr, o);
        n++;
    }
    if (st == BYRON_OK && mongoc_cursor_error(cur, &be)) st = byron_cache_error(&be, "query", err);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(cache->pool, cl);
    if (st != BYRON_OK) {
        json_object_put(arr);
        arr = NULL;
    }
    *items = arr;
    return st;
}

byron_status_t byron_cache_list(byron_cache_t *cache, const byron_cache_query_t *q, byron_cache_page_t *out,
                                byron_err_t *err) {
    memset(out, 0, sizeof *out);
    const byron_model_t *m = model_or_err(cache, q->model, err);
    if (!m) return BYRON_EINVAL;
    const char *sort_field = q->order_by ? q->order_by : "id";
    const char *sort_key = key_for(m, sort_field);
    if (!sort_key)
        return byron_err_set(err, BYRON_EINVAL, "orderBy: \"%.64s\" is not an indexed field of %s",
                             sort_field, m->name);
    int limit = q->limit ? q->limit : BYRON_CACHE_DEFAULT_LIMIT;
    if (limit < 1 || limit > BYRON_CACHE_MAX_LIMIT)
        return byron_err_set(err, BYRON_EINVAL, "first: must be between 1 and %d", BYRON_CACHE_MAX_LIMIT);
    json_object *and = json_object_new_array(), *holder = NULL;
    byron_status_t st = build_filter(m, q->filter, and, err);
    if (st == BYRON_OK && q->after) {
        json_object *sv = NULL, *id = NULL;
        if ((st = cursor_decode(q->after, &sv, &id, &holder, err)) == BYRON_OK) {
            const char *op = q->descending ? "$lt" : "$gt";
            if (strcmp(sort_key, "_id") == 0) {
                json_object_array_add(and, cmp("_id", op, id));
            } else {
                /* (f > v) or (f == v and _id > id) */
                json_object * or = json_object_new_array(), *tie = json_object_new_object();
                json_object_array_add(or, cmp(sort_key, op, sv));
                json_object *eq = json_object_new_object();
                json_object_object_add(eq, "$eq", json_object_get(sv));
                json_object_object_add(tie, sort_key, eq);
                json_object *idc = json_object_new_object();
                json_object_object_add(idc, op, json_object_get(id));
                json_object_object_add(tie, "_id", idc);
                json_object_array_add(or, tie);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "$or", or);
                json_object_array_add(and, o);
            }
        }
    }
    if (st != BYRON_OK) {
        json_object_put(and);
        json_object_put(holder);
        return st;
    }
    json_object *fj = json_object_new_object();
    if (json_object_array_length(and) > 0)
        json_object_object_add(fj, "$and", and);
    else
        json_object_put(and);
    json_object_put(holder);
    bson_error_t be;
    bson_t *filter = byron_json_bson_new(fj, &be);
    json_object_put(fj);
    if (!filter) return byron_err_set(err, BYRON_EINVAL, "filter: %s", be.message);
    int dir = q->descending ? -1 : 1;
    bson_t *opts = strcmp(sort_key, "_id") == 0
                       ? BCON_NEW("sort", "{", "_id", BCON_INT32(dir), "}", "limit", BCON_INT64(limit + 1))
                       : BCON_NEW("sort", "{", sort_key, BCON_INT32(dir), "_id", BCON_INT32(dir), "}",
                                  "limit", BCON_INT64(limit + 1));
    st = find_json(cache, m->name, filter, opts, limit, &out->items, &out->has_next, err);
    bson_destroy(opts);
    bson_destroy(filter);
    if (st != BYRON_OK) return st;
    int n = (int)json_object_array_length(out->items);
    if (n > 0) {
        json_object *last = json_object_array_get_idx(out->items, (size_t)n - 1), *id = NULL, *sv = NULL;
        json_object_object_get_ex(last, "id", &id);
        if (strcmp(sort_key, "_id") != 0) json_object_object_get_ex(last, sort_key, &sv);
        out->end_cursor = cursor_encode(strcmp(sort_key, "_id") == 0 ? id : sv, id);
    }
    return BYRON_OK;
}

byron_status_t byron_cache_find(byron_cache_t *cache, const char *model, json_object *filter,
                                json_object *opts, json_object **items, byron_err_t *err) {
    *items = NULL;
    if (!model_or_err(cache, model, err)) return BYRON_EINVAL;
    bson_error_t be;
    bson_t *f = byron_json_bson_new(filter, &be);
    if (!f) return byron_err_set(err, BYRON_EINVAL, "filter: %s", be.message);
    bson_t *o = opts ? byron_json_bson_new(opts, &be) : NULL;
    byron_status_t st = opts && !o ? byron_err_set(err, BYRON_EINVAL, "options: %s", be.message)
                                   : find_json(cache, model, f, o, -1, items, NULL, err);
    bson_destroy(o);
    bson_destroy(f);
    return st;
}

byron_status_t byron_cache_find_id(byron_cache_t *cache, const char *model, const char *id,
                                   int64_t max_time_ms, json_object **out, byron_err_t *err) {
    *out = NULL;
    if (!model_or_err(cache, model, err)) return BYRON_EINVAL;
    if (!byron_id_is_valid(id))
        return byron_err_set(err, BYRON_EINVAL, "id: \"%.64s\" is not a valid id", id);
    /* Typed as byron_json_bson_new types the same JSON (json_bson.h). */
    bson_t filter = BSON_INITIALIZER, eq, opts = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &eq);
    BSON_APPEND_UTF8(&eq, "$eq", id);
    bson_append_document_end(&filter, &eq);
    BSON_APPEND_INT32(&opts, "limit", 1);
    if (max_time_ms >= 0 && max_time_ms <= INT32_MAX)
        BSON_APPEND_INT32(&opts, "maxTimeMS", (int32_t)max_time_ms);
    else if (max_time_ms >= 0)
        BSON_APPEND_INT64(&opts, "maxTimeMS", max_time_ms);
    json_object *items = NULL;
    byron_status_t st = find_json(cache, model, &filter, &opts, -1, &items, NULL, err);
    if (st == BYRON_OK && json_object_array_length(items) > 0)
        *out = json_object_get(json_object_array_get_idx(items, 0));
    json_object_put(items);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return st;
}

/* ------------------------------------------------------------------ the sink's writes */

/* Collection coll_name of generation gen; caller destroys. */
static mongoc_collection_t *gen_collection(mongoc_client_t *cl, const char *database, int64_t gen,
                                           const char *coll_name) {
    char name[200];
    byron_generation_collection(gen, coll_name, name, sizeof name);
    return mongoc_client_get_collection(cl, database, name);
}

static bson_t *to_bson(json_object *o, byron_err_t *err) {
    bson_error_t be;
    bson_t *b = byron_json_bson_new(o, &be);
    if (!b) byron_err_set(err, BYRON_EINVAL, "cannot convert to BSON: %s", be.message);
    return b;
}

static int is_dup_key(const bson_error_t *be) { return be->code == 11000 || strstr(be->message, "E11000"); }

/* update_one(filter, update) with upsert (or not), on coll_name of gen. */
static byron_status_t update_one(mongoc_client_t *cl, const char *database, int64_t gen,
                                 const char *coll_name, const bson_t *filter, const bson_t *update,
                                 int upsert, const char *what, byron_err_t *err) {
    mongoc_collection_t *coll = gen_collection(cl, database, gen, coll_name);
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(upsert));
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (!mongoc_collection_update_one(coll, filter, update, opts, NULL, &be))
        st = byron_cache_error(&be, what, err);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    return st;
}

static byron_status_t delete_one(mongoc_client_t *cl, const char *database, int64_t gen,
                                 const char *coll_name, const bson_t *filter, const char *what,
                                 byron_err_t *err) {
    mongoc_collection_t *coll = gen_collection(cl, database, gen, coll_name);
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &be)) st = byron_cache_error(&be, what, err);
    mongoc_collection_destroy(coll);
    return st;
}

/* One upsert on the sink's own collection. */
static byron_status_t state_upsert(mongoc_client_t *cl, const char *database, int64_t gen, const char *key,
                                   const bson_t *update, byron_err_t *err) {
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    byron_status_t st =
        update_one(cl, database, gen, BYRON_CACHE_STATE_COLLECTION, filter, update, 1, "state write", err);
    bson_destroy(filter);
    return st;
}

byron_status_t byron_cache_state_max(mongoc_client_t *cl, const char *database, int64_t gen, const char *key,
                                     const char *field, int64_t value, byron_err_t *err) {
    bson_t *u = BCON_NEW("$max", "{", field, BCON_INT64(value), "}");
    byron_status_t st = state_upsert(cl, database, gen, key, u, err);
    bson_destroy(u);
    return st;
}

byron_status_t byron_cache_state_set(mongoc_client_t *cl, const char *database, int64_t gen, const char *key,
                                     json_object *fields, byron_err_t *err) {
    json_object *u = json_object_new_object();
    json_object_object_add(u, "$set", json_object_get(fields));
    bson_t *ub = to_bson(u, err);
    json_object_put(u);
    if (!ub) return BYRON_EINVAL;
    byron_status_t st = state_upsert(cl, database, gen, key, ub, err);
    bson_destroy(ub);
    return st;
}

byron_status_t byron_cache_state_clear(mongoc_client_t *cl, const char *database, int64_t gen,
                                       const char *key, int64_t seq, byron_err_t *err) {
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key), "seq", BCON_INT64(seq));
    byron_status_t st =
        delete_one(cl, database, gen, BYRON_CACHE_STATE_COLLECTION, filter, "journal clear", err);
    bson_destroy(filter);
    return st;
}

byron_status_t byron_cache_tombstone_raise(mongoc_client_t *cl, const char *database, int64_t gen,
                                           const char *model, const char *id, int64_t version,
                                           byron_err_t *err) {
    char key[BYRON_ID_MAX + 160];
    snprintf(key, sizeof key, BYRON_CACHE_TOMBSTONE_FMT, model, id);
    return byron_cache_state_max(cl, database, gen, key, "version", version, err);
}

byron_status_t byron_cache_block(mongoc_client_t *cl, const char *database, int64_t gen,
                                 const byron_cache_block_t *b, byron_err_t *err) {
    char key[BYRON_ID_MAX + 160], ts[40];
    snprintf(key, sizeof key, BYRON_CACHE_BLOCKED_FMT, b->model, b->id);
    byron_time_now_rfc3339(ts, sizeof ts);
    bson_t *u = BCON_NEW("$set", "{", "version", BCON_INT64(b->version), "sequence", BCON_INT64(b->sequence),
                         "reason", BCON_UTF8(b->reason), "time", BCON_UTF8(ts), "}");
    byron_status_t st = state_upsert(cl, database, gen, key, u, err);
    bson_destroy(u);
    return st;
}

byron_status_t byron_cache_change(mongoc_client_t *cl, const char *database, int64_t gen,
                                  const char *coll_name, const char *id, json_object *set, json_object *unset,
                                  byron_err_t *err) {
    json_object *u = json_object_new_object(), *unset_doc = json_object_new_object(),
                *soi = json_object_new_object();
    json_object_object_add(soi, "version", json_object_new_int(0));
    json_object_object_add(u, "$setOnInsert", soi);
    if (set && json_object_object_length(set)) json_object_object_add(u, "$set", json_object_get(set));
    for (size_t i = 0; unset && i < json_object_array_length(unset); i++)
        json_object_object_add(unset_doc, json_object_get_string(json_object_array_get_idx(unset, i)),
                               json_object_new_string(""));
    if (json_object_object_length(unset_doc))
        json_object_object_add(u, "$unset", unset_doc);
    else
        json_object_put(unset_doc);
    bson_t *ub = to_bson(u, err);
    json_object_put(u);
    if (!ub) return BYRON_EINVAL;
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    byron_status_t st = update_one(cl, database, gen, coll_name, &filter, ub, 1, "write", err);
    bson_destroy(&filter);
    bson_destroy(ub);
    return st;
}

byron_status_t byron_cache_delete(mongoc_client_t *cl, const char *database, int64_t gen,
                                  const char *coll_name, const char *id, byron_err_t *err) {
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    byron_status_t st = delete_one(cl, database, gen, coll_name, &filter, "write", err);
    bson_destroy(&filter);
    return st;
}

/* {_id: id, version: from} (an update) or {_id: id, version: {$lt: to}}. */
static void version_filter(bson_t *filter, const char *id, int at, int64_t from, int64_t to) {
    bson_t lt;
    BSON_APPEND_UTF8(filter, "_id", id);
    if (at) {
        BSON_APPEND_INT64(filter, "version", from);
        return;
    }
    BSON_APPEND_DOCUMENT_BEGIN(filter, "version", &lt);
    BSON_APPEND_INT64(&lt, "$lt", to);
    bson_append_document_end(filter, &lt);
}

byron_status_t byron_cache_delete_if_older(mongoc_client_t *cl, const char *database, int64_t gen,
                                           const char *coll_name, const char *id, int64_t to,
                                           byron_err_t *err) {
    bson_t filter = BSON_INITIALIZER;
    version_filter(&filter, id, 0, 0, to);
    byron_status_t st = delete_one(cl, database, gen, coll_name, &filter, "write", err);
    bson_destroy(&filter);
    return st;
}

/* The put's document: the fields (replace) or {$set, $unset}, with version
 * `to` riding along, as BSON; NULL (err set) when it does not convert. */
static bson_t *put_doc(const byron_cache_put_t *put, byron_err_t *err) {
    json_object *doc = put->replace ? json_object_get(put->set) : json_object_new_object();
    if (!put->replace) {
        json_object_object_add(doc, "$set", json_object_get(put->set));
        if (json_object_object_length(put->unset))
            json_object_object_add(doc, "$unset", json_object_get(put->unset));
    }
    /* set version on the fields for the conversion, then take it off again */
    json_object *target = put->replace ? doc : json_object_object_get(doc, "$set");
    json_object_object_add(target, "version", json_object_new_int64(put->to));
    bson_t *b = to_bson(doc, err);
    json_object_object_del(target, "version");
    json_object_put(doc);
    return b;
}

byron_status_t byron_cache_put_if_version(mongoc_client_t *cl, const char *database, int64_t gen,
                                          const char *coll_name, const char *id, const byron_cache_put_t *put,
                                          int *matched, byron_err_t *err) {
    *matched = 0;
    bson_t *ub = put_doc(put, err);
    if (!ub) return BYRON_EINVAL;
    bson_t filter = BSON_INITIALIZER, reply;
    version_filter(&filter, id, !put->replace, put->from, put->to);
    mongoc_collection_t *coll = gen_collection(cl, database, gen, coll_name);
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(put->upsert));
    bson_error_t be;
    bool ok = put->replace ? mongoc_collection_replace_one(coll, &filter, ub, opts, &reply, &be)
                           : mongoc_collection_update_one(coll, &filter, ub, opts, &reply, &be);
    byron_status_t st = BYRON_OK;
    bson_iter_t it;
    if (ok) {
        int64_t m = 0, u = 0;
        if (bson_iter_init_find(&it, &reply, "matchedCount")) m = bson_iter_as_int64(&it);
        if (bson_iter_init_find(&it, &reply, "upsertedCount")) u = bson_iter_as_int64(&it);
        *matched = m + u > 0;
    } else if (!is_dup_key(&be)) { /* a duplicate key: another replica inserted it first, matched nothing */
        st = byron_cache_error(&be, "write", err);
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    bson_destroy(&filter);
    bson_destroy(ub);
    mongoc_collection_destroy(coll);
    return st;
}

/* ------------------------------------------------------------------ the sink's indexes */

/* Unique values are held in the event log (unique.h), not by the cache: the
 * sink's partitions project in their own orders, so a value one aggregate
 * released and another claimed may sit in both cached documents for a moment.
 * A unique index would refuse that moment's write; indexes are plain. */
static void drop_index(mongoc_client_t *cl, const char *database, const char *coll, const char *name) {
    bson_t *cmd = BCON_NEW("dropIndexes", BCON_UTF8(coll), "index", BCON_UTF8(name));
    bson_error_t be;
    if (!mongoc_client_write_command_with_opts(cl, database, cmd, NULL, NULL, &be))
        byron_log(BYRON_LOG_WARN, "cannot drop a unique index", "model", coll, "index", name, "error",
                  be.message, (char *)NULL);
    bson_destroy(cmd);
}

/* The names of coll's indexes as ",a,b,", plain ones in have, unique ones in
 * uniq; 0 when listing failed (err set). A collection not yet created has none. */
static int index_names(mongoc_client_t *cl, const char *database, const char *cname, const char *model,
                       char *have, char *uniq, size_t cap, byron_err_t *err) {
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, database, cname);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *ix;
    while (mongoc_cursor_next(cur, &ix)) {
        bson_iter_t it, u;
        if (bson_iter_init_find(&it, ix, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
            int unique = bson_iter_init_find(&u, ix, "unique") && bson_iter_as_bool(&u);
            char *list = unique ? uniq : have;
            size_t l = strlen(list);
            snprintf(list + l, cap - l, "%s,", bson_iter_utf8(&it, NULL));
        }
    }
    bson_error_t lbe;
    int failed = mongoc_cursor_error(cur, &lbe) && lbe.code != 26; /* 26: no such collection yet */
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    if (failed) byron_err_set(err, BYRON_EUNAVAILABLE, "listing the indexes of %s: %s", model, lbe.message);
    return !failed;
}

byron_status_t byron_cache_ensure_indexes(mongoc_client_t *cl, const char *database, int64_t gen,
                                          const byron_model_t *m, byron_err_t *err) {
    char cname[200];
    byron_generation_collection(gen, m->name, cname, sizeof cname);
    /* Only the missing ones: FerretDB 1.24 drops the connection (a panic)
     * on createIndexes of a unique index that already exists. */
    char have[2048] = ",", uniq[2048] = ",";
    if (!index_names(cl, database, cname, m->name, have, uniq, sizeof have, err)) return err->code;
    bson_t cmd = BSON_INITIALIZER, arr, reply;
    BSON_APPEND_UTF8(&cmd, "createIndexes", cname);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    int n = 0;
    for (size_t f = 0; f < m->nfields; f++) {
        const byron_field_t *fd = &m->fields[f];
        if (!fd->indexed && !fd->unique) continue;
        char k[16], name[160], needle[170];
        snprintf(k, sizeof k, "%d", n);
        snprintf(name, sizeof name, "%s_1", fd->name);
        snprintf(needle, sizeof needle, ",%s,", name);
        if (strstr(have, needle)) continue;
        if (strstr(uniq, needle))
            drop_index(cl, database, cname, name); /* an earlier version's unique index */
        bson_t idx, key;
        n++;
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &idx);
        BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &key);
        BSON_APPEND_INT32(&key, fd->name, 1);
        bson_append_document_end(&idx, &key);
        BSON_APPEND_UTF8(&idx, "name", name);
        bson_append_document_end(&arr, &idx);
    }
    bson_append_array_end(&cmd, &arr);
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (n && !mongoc_client_write_command_with_opts(cl, database, &cmd, NULL, &reply, &be)) {
        char what[200];
        snprintf(what, sizeof what, "creating the indexes of %s", m->name);
        if ((st = byron_cache_error(&be, what, err)) != BYRON_EUNAVAILABLE) {
            /* an index the data violates: projection goes on, reads are slower, the log says why */
            byron_err_clear(err);
            st = BYRON_OK;
            byron_log(BYRON_LOG_ERROR, "cannot create an index", "model", m->name, "error", be.message,
                      (char *)NULL);
        }
    } else if (n) {
        bson_destroy(&reply);
    }
    bson_destroy(&cmd);
    return st;
}
