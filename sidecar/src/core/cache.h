/* cache.h — the component's cache (MongoDB): reads for the API's command
 * validation, the app's cache reads and the GraphQL resolvers; the sink's
 * writes, one named operation each.
 *
 * The API never writes the cache; the sink does (docs/sidecar.md, "Cache
 * layout"): one collection per model, named as the model; `_id` is the
 * aggregate id, `version` its version, the model's fields as declared.
 * Calls are blocking (libmongoc): make them from a worker. The client pool is
 * bounded; a call waits for a free client. */
#ifndef BYRON_SIDECAR_CACHE_H
#define BYRON_SIDECAR_CACHE_H

#include "byron/status.h"
#include "component.h"

#include <json-c/json.h>
#include <mongoc/mongoc.h>

#define BYRON_CACHE_MAX_LIMIT 1000
#define BYRON_CACHE_MAX_CURSOR 2048 /* bytes of an `after` cursor */
#define BYRON_CACHE_DEFAULT_LIMIT 100

typedef struct byron_cache byron_cache_t;

/* max_clients bounds the pool (and so the concurrent queries). Does not
 * connect: the first call does (see byron_cache_ping). */
byron_cache_t *byron_cache_new(const byron_component_t *c, const char *uri, int max_clients,
                               byron_err_t *err);
void byron_cache_free(byron_cache_t *cache);
/* The database in use: the URI's, or "byron_<component>". */
const char *byron_cache_database(const byron_cache_t *cache);

byron_status_t byron_cache_ping(byron_cache_t *cache, byron_err_t *err);

/* Reads follow the cache's live generation (generation.h): the pointer is
 * re-read at most this often, so a switch reaches every api within it (the
 * old generation stays complete and projected for the sink's grace period,
 * far longer). The generation in use now (may read the pointer). */
#define BYRON_CACHE_GENERATION_REFRESH_MS 1000
int64_t byron_cache_generation(byron_cache_t *cache);

/* One object as JSON ({"id":..., "version":..., fields...}); caller puts.
 * BYRON_ENOTFOUND (err set) when absent; BYRON_EINVAL for an unknown model. */
byron_status_t byron_cache_get(byron_cache_t *cache, const char *model, const char *id, json_object **out,
                               byron_err_t *err);

/* The sink's own records (docs/sink.md), beside the models' collections:
 *   tomb:<Model>/<id>      {version}: a deleted aggregate's last version
 *   blocked:<Model>/<id>   {version, sequence, reason}: the aggregate cannot be
 *                          projected past `version`: the event at stream
 *                          `sequence` was dead-lettered
 *   lane:<lane>            the lane's journal (sink.c) */
#define BYRON_CACHE_STATE_COLLECTION "_byron_sink"
#define BYRON_CACHE_TOMBSTONE_FMT "tomb:%s/%s"
#define BYRON_CACHE_BLOCKED_FMT "blocked:%s/%s"

/* How far the sink has projected one aggregate. */
typedef struct byron_cache_projection {
    json_object *doc; /* the cached object, NULL when there is none (owned: byron_cache_projection_cleanup) */
    int64_t version;  /* the version projected: the document's, else its tombstone's, else 0 */
    int blocked;      /* a dead letter stops it at blocked_version (read only with with_block) */
    int64_t blocked_version;
    char blocked_why[256];
} byron_cache_projection_t;

/* Two or three reads (document, tombstone when absent, block marker when asked). */
byron_status_t byron_cache_projection(byron_cache_t *cache, const char *model, const char *id, int with_block,
                                      byron_cache_projection_t *out, byron_err_t *err);

/* ---- the sink's access: it writes the cache through its own clients ----- */

/* Grow the pool by n clients that threads hold for their lifetime (the sink's
 * lane and generation threads): call before those threads pop. */
byron_status_t byron_cache_reserve_clients(byron_cache_t *cache, int n, byron_err_t *err);
/* A client of the pool (waits for a free one); give it back with byron_cache_client_push. */
mongoc_client_t *byron_cache_client_pop(byron_cache_t *cache);
void byron_cache_client_push(byron_cache_t *cache, mongoc_client_t *cl);

/* The document `id` of collection coll_name in generation gen
 * (generation.h) as JSON, `_id` renamed `id`; caller puts.
 *   BYRON_ENOTFOUND     absent
 *   BYRON_EUNAVAILABLE  the cache is down or unreachable (byron_cache_error)
 *   BYRON_EIO           any other failure, and an unreadable document (its
 *                       BSON does not read back as a JSON object): "cache:
 *                       unreadable document <coll>/<id>". One answer for every
 *                       reader: the api answers INTERNAL, the sink retries the
 *                       event and dead-letters it after its deliveries
 *                       (docs/sink.md, "Failures"). */
byron_status_t byron_cache_read_doc(mongoc_client_t *cl, const char *database, int64_t gen,
                                    const char *coll_name, const char *id, json_object **out,
                                    byron_err_t *err);
/* A libmongoc error as a status: server selection and socket errors are
 * BYRON_EUNAVAILABLE ("cache unavailable (what): ..."), the rest BYRON_EIO
 * ("cache what failed: ..."). */
byron_status_t byron_cache_error(const bson_error_t *be, const char *what, byron_err_t *err);
/* A cached document's (or sink record's) "version"; 0 when doc is NULL or has none. */
int64_t byron_cache_doc_version(json_object *doc);

/* ---- the sink's writes (docs/sink.md, "Writes") -------------------------
 * Each on collection coll_name (or the sink's own records) of generation gen
 * (generation.h) in database. Errors by byron_cache_error (BYRON_EUNAVAILABLE:
 * the cache is away; BYRON_EIO: the write failed), BYRON_EINVAL when a JSON
 * value does not convert to BSON (json_bson.h). */

/* The aggregate's write, guarded by the version the sink read.
 *   replace   1: `set` (every field) replaces the document where its version
 *             is below `to`; 0: `set` is $set and `unset` ({"field": ""})
 *             $unset where its version is exactly `from`
 *   upsert    insert when nothing matches (only where no document exists)
 * The document's version becomes `to`. *matched: it matched or inserted; 0
 * when the projection moved (another replica), a duplicate key included (one
 * inserted it first). */
typedef struct byron_cache_put {
    int replace;
    json_object *set;   /* borrowed; unchanged by the call */
    json_object *unset; /* NULL or an object */
    int64_t from, to;
    int upsert;
} byron_cache_put_t;
byron_status_t byron_cache_put_if_version(mongoc_client_t *cl, const char *database, int64_t gen,
                                          const char *coll_name, const char *id, const byron_cache_put_t *put,
                                          int *matched, byron_err_t *err);
/* Delete the document where its version is below `to` (matching none is no error). */
byron_status_t byron_cache_delete_if_older(mongoc_client_t *cl, const char *database, int64_t gen,
                                           const char *coll_name, const char *id, int64_t to,
                                           byron_err_t *err);
/* A handler's explicit change: $set `set` (an object, may be NULL), $unset the
 * field names of `unset` (an array, may be NULL); upserted with version 0. */
byron_status_t byron_cache_change(mongoc_client_t *cl, const char *database, int64_t gen,
                                  const char *coll_name, const char *id, json_object *set, json_object *unset,
                                  byron_err_t *err);
/* Delete the document, whatever its version. */
byron_status_t byron_cache_delete(mongoc_client_t *cl, const char *database, int64_t gen,
                                  const char *coll_name, const char *id, byron_err_t *err);

/* The sink's own records (BYRON_CACHE_STATE_COLLECTION), by key, upserted:
 * raise `field` (an int64) to value, never lower it (tombstones, a
 * subscription's checkpoint "sub:<stream>"); $set the members of `fields` (a
 * lane's journal); delete the record only if its "seq" is seq (the journal
 * of one event: a late replica never clears a newer one). */
byron_status_t byron_cache_state_max(mongoc_client_t *cl, const char *database, int64_t gen, const char *key,
                                     const char *field, int64_t value, byron_err_t *err);
byron_status_t byron_cache_state_set(mongoc_client_t *cl, const char *database, int64_t gen, const char *key,
                                     json_object *fields, byron_err_t *err);
byron_status_t byron_cache_state_clear(mongoc_client_t *cl, const char *database, int64_t gen,
                                       const char *key, int64_t seq, byron_err_t *err);
/* The tombstone of model/id rises to version (never falls). */
byron_status_t byron_cache_tombstone_raise(mongoc_client_t *cl, const char *database, int64_t gen,
                                           const char *model, const char *id, int64_t version,
                                           byron_err_t *err);
/* The block marker of model/id (BYRON_CACHE_BLOCKED_FMT), timed now. */
typedef struct byron_cache_block {
    const char *model, *id;
    int64_t version;  /* projected so far */
    int64_t sequence; /* the dead-lettered event's stream sequence */
    const char *reason;
} byron_cache_block_t;
byron_status_t byron_cache_block(mongoc_client_t *cl, const char *database, int64_t gen,
                                 const byron_cache_block_t *b, byron_err_t *err);

/* The model's indexes (its indexed and unique fields, all plain: the event
 * log holds unique values) in generation gen: only the missing ones are
 * created; an earlier version's unique index is dropped first. A listing
 * that fails, or a create the cache is away for: BYRON_EUNAVAILABLE. An index
 * the data refuses is logged and skipped (projection goes on). */
byron_status_t byron_cache_ensure_indexes(mongoc_client_t *cl, const char *database, int64_t gen,
                                          const byron_model_t *m, byron_err_t *err);

/* A page of a model's objects.
 *   filter    NULL or an object: {"field": value} (equality) or
 *             {"field": {"eq"|"ne"|"gt"|"gte"|"lt"|"lte": value, "in": [values]}}, ANDed;
 *             fields: "id" and the model's indexed fields
 *   order_by  NULL ("id") or an indexed field; ties broken by id
 *   limit     1..BYRON_CACHE_MAX_LIMIT (0: BYRON_CACHE_DEFAULT_LIMIT)
 *   after     NULL or the end_cursor of the previous page (same filter and order) */
typedef struct byron_cache_query {
    const char *model;
    json_object *filter;
    const char *order_by;
    int descending;
    int limit;
    const char *after;
} byron_cache_query_t;

typedef struct byron_cache_page {
    json_object *items; /* array of objects */
    char *end_cursor;   /* NULL when the page is empty; opaque, URL-safe */
    int has_next;
} byron_cache_page_t;

byron_status_t byron_cache_list(byron_cache_t *cache, const byron_cache_query_t *q, byron_cache_page_t *out,
                                byron_err_t *err);
void byron_cache_page_cleanup(byron_cache_page_t *page);

/* A raw find for the GraphQL layer, which builds richer queries (and/or/not,
 * several sort keys, backward pages) than byron_cache_list: filter and
 * options (NULL or "sort", "limit", ...) are MongoDB extended JSON as json-c
 * objects, converted by byron_json_bson_new (the BSON libbson makes of their
 * text, without the text). Appends each document, `_id` renamed `id`, to
 * *items (a new array, caller puts). BYRON_EINVAL when they do not convert;
 * BYRON_EUNAVAILABLE when the cache is unreachable; BYRON_EIO when a
 * document is unreadable (as byron_cache_read_doc: never skipped). */
byron_status_t byron_cache_find(byron_cache_t *cache, const char *model, json_object *filter,
                                json_object *opts, json_object **items, byron_err_t *err);

/* The find byron_cache_find runs for {"_id": {"$eq": id}} with {"limit": 1}
 * and, when max_time_ms >= 0, {"maxTimeMS": max_time_ms} — built as BSON
 * directly, without the JSON text. *out: the document as byron_cache_find
 * gives it (caller puts), NULL when absent. BYRON_EINVAL for an unknown model
 * or an invalid id; BYRON_EUNAVAILABLE when the cache is unreachable;
 * BYRON_EIO for an unreadable document, as byron_cache_read_doc. */
byron_status_t byron_cache_find_id(byron_cache_t *cache, const char *model, const char *id,
                                   int64_t max_time_ms, json_object **out, byron_err_t *err);

#endif
