/* generation.c — cache generations: names and the pointer (generation.h).
 * Its errors are cache.c's (byron_cache_error): one mapping for every cache call. */
#include "generation.h"

#include "cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void byron_generation_collection(int64_t gen, const char *name, char *buf, size_t cap) {
    if (gen <= 0)
        snprintf(buf, cap, "%s", name);
    else
        snprintf(buf, cap, "_g%" PRId64 "_%s", gen, name);
}

void byron_generation_durable(int slot, const char *base, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s", base, slot ? "_b" : "");
}

static int64_t int_field(const bson_t *d, const char *key, int64_t dflt) {
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : dflt;
}

byron_status_t byron_generation_read(mongoc_client_t *cl, const char *db, byron_generation_pointer_t *out,
                                     byron_err_t *err) {
    memset(out, 0, sizeof *out);
    out->retired = -1;
    out->building_slot = 1;
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, BYRON_GENERATION_COLLECTION);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(BYRON_GENERATION_ID));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *d;
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (mongoc_cursor_next(cur, &d)) {
        out->active = int_field(d, "active", 0);
        out->active_slot = int_field(d, "activeSlot", 0) ? 1 : 0;
        out->building = int_field(d, "building", 0);
        out->building_slot = !out->active_slot;
        out->retired = int_field(d, "retired", -1);
        out->retired_slot = int_field(d, "retiredSlot", 0) ? 1 : 0;
        out->switched_at = int_field(d, "switchedAt", 0);
        out->abandoned = int_field(d, "abandoned", 0);
        out->projected = int_field(d, "projected", 0);
        out->total = int_field(d, "total", 0);
        if (out->active < 0 || out->active > BYRON_GENERATION_MAX || out->building < 0 ||
            out->building > BYRON_GENERATION_MAX)
            st = byron_err_set(err, BYRON_EIO, "%s: generation out of range", BYRON_GENERATION_COLLECTION);
    } else if (mongoc_cursor_error(cur, &be)) {
        st = byron_cache_error(&be, "generation read", err);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return st;
}

byron_status_t byron_generation_set(mongoc_client_t *cl, const char *db,
                                    const byron_generation_field_t *fields, size_t n, byron_err_t *err) {
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, BYRON_GENERATION_COLLECTION);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(BYRON_GENERATION_ID));
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_t update = BSON_INITIALIZER, set;
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    for (size_t i = 0; i < n; i++) {
        if (fields[i].int32)
            BSON_APPEND_INT32(&set, fields[i].name, (int32_t)fields[i].value);
        else
            BSON_APPEND_INT64(&set, fields[i].name, fields[i].value);
    }
    bson_append_document_end(&update, &set);
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (!mongoc_collection_update_one(coll, filter, &update, opts, NULL, &be))
        st = byron_cache_error(&be, "generation write", err);
    bson_destroy(&update);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return st;
}

byron_status_t byron_generation_drop(mongoc_client_t *cl, const char *db, const byron_component_t *c,
                                     int64_t gen, byron_err_t *err) {
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i <= c->nmodels && st == BYRON_OK; i++) {
        char name[200];
        byron_generation_collection(gen, i < c->nmodels ? c->models[i].name : BYRON_CACHE_STATE_COLLECTION,
                                    name, sizeof name);
        mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, name);
        bson_error_t be;
        char what[220];
        snprintf(what, sizeof what, "drop of %s", name);
        if (!mongoc_collection_drop(coll, &be) && !strstr(be.message, "ns not found") && be.code != 26)
            st = byron_cache_error(&be, what, err);
        mongoc_collection_destroy(coll);
    }
    return st;
}
