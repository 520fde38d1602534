/* consumer.c — binding a lane to its durable pull consumer: the cache's
 * indexes for the lane's generation (own lanes, once per slot), a
 * subscription's checkpoint, the consumer (stream.h: created or updated) and
 * the pull subscription the lane thread fetches from. */
#include "byron/log.h"
#include "generation.h"
#include "sink_internal.h"

#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Unique values are held in the event log (unique.h), not by the cache: the
 * sink's partitions project in their own orders, so a value one aggregate
 * released and another claimed may sit in both cached documents for a moment.
 * A unique index would refuse that moment's write; indexes are plain. */
static void drop_index(byron_sink_t *s, mongoc_client_t *cl, const char *coll, const char *name) {
    bson_t *cmd = BCON_NEW("dropIndexes", BCON_UTF8(coll), "index", BCON_UTF8(name));
    bson_error_t be;
    if (!mongoc_client_write_command_with_opts(cl, s->o.database, cmd, NULL, NULL, &be))
        byron_log(BYRON_LOG_WARN, "cannot drop a unique index", "model", coll, "index", name, "error",
                  be.message, (char *)NULL);
    bson_destroy(cmd);
}

static byron_status_t ensure_indexes(byron_sink_t *s, const lane_t *lane, mongoc_client_t *cl,
                                     byron_err_t *err) {
    atomic_int *done = &s->indexes_done[lane->slot];
    if (atomic_load(done)) return BYRON_OK;
    pthread_mutex_lock(&s->index_lock);
    if (atomic_load(done)) {
        pthread_mutex_unlock(&s->index_lock);
        return BYRON_OK;
    }
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i < s->comp->nmodels && st == BYRON_OK; i++) {
        const byron_model_t *m = &s->comp->models[i];
        char cname[200];
        byron_generation_collection(lane->gen, m->name, cname, sizeof cname);
        /* Only the missing ones: FerretDB 1.24 drops the connection (a panic)
         * on createIndexes of a unique index that already exists. */
        char have[2048] = ",", uniq[2048] = ",";
        mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, cname);
        mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
        const bson_t *ix;
        while (mongoc_cursor_next(cur, &ix)) {
            bson_iter_t it, u;
            if (bson_iter_init_find(&it, ix, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
                int unique = bson_iter_init_find(&u, ix, "unique") && bson_iter_as_bool(&u);
                char *list = unique ? uniq : have;
                size_t l = strlen(list);
                snprintf(list + l, sizeof have - l, "%s,", bson_iter_utf8(&it, NULL));
            }
        }
        bson_error_t lbe;
        int list_failed = mongoc_cursor_error(cur, &lbe) && lbe.code != 26; /* 26: no such collection yet */
        mongoc_cursor_destroy(cur);
        mongoc_collection_destroy(coll);
        if (list_failed) {
            st =
                byron_err_set(err, BYRON_EUNAVAILABLE, "listing the indexes of %s: %s", m->name, lbe.message);
            break;
        }
        bson_t cmd = BSON_INITIALIZER, arr, reply;
        BSON_APPEND_UTF8(&cmd, "createIndexes", cname);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
        int n = 0;
        for (size_t f = 0; f < m->nfields; f++) {
            const byron_field_t *fd = &m->fields[f];
            if (!fd->indexed && !fd->unique) continue;
            char k[16], name[160];
            snprintf(k, sizeof k, "%d", n);
            snprintf(name, sizeof name, "%s_1", fd->name);
            char needle[170];
            snprintf(needle, sizeof needle, ",%s,", name);
            if (strstr(have, needle)) continue;
            if (strstr(uniq, needle)) drop_index(s, cl, cname, name); /* an earlier version's unique index */
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
        if (n && !mongoc_client_write_command_with_opts(cl, s->o.database, &cmd, NULL, &reply, &be)) {
            if (be.domain == MONGOC_ERROR_SERVER_SELECTION || be.domain == MONGOC_ERROR_STREAM)
                st = byron_err_set(err, BYRON_EUNAVAILABLE, "creating the indexes of %s: %s", m->name,
                                   be.message);
            else /* an index the data violates: projection goes on, reads are slower, the log says why */
                byron_log(BYRON_LOG_ERROR, "cannot create an index", "model", m->name, "error", be.message,
                          (char *)NULL);
        } else if (n) {
            bson_destroy(&reply);
        }
        bson_destroy(&cmd);
    }
    if (st == BYRON_OK) atomic_store(done, 1);
    pthread_mutex_unlock(&s->index_lock);
    return st;
}

/* The subscribed lane's checkpoint: the last stream sequence it applied. */
static byron_status_t checkpoint_load(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, byron_err_t *err) {
    char key[200];
    snprintf(key, sizeof key, "sub:%s", l->stream);
    json_object *doc = NULL;
    byron_status_t st =
        byron_cache_read_doc(cl, s->o.database, l->gen, BYRON_SINK_STATE_COLLECTION, key, &doc, err);
    json_object *seq = NULL;
    if (st == BYRON_OK && json_object_object_get_ex(doc, "seq", &seq))
        l->checkpoint = (uint64_t)json_object_get_int64(seq);
    json_object_put(doc);
    if (st == BYRON_ENOTFOUND) {
        byron_err_clear(err);
        return BYRON_OK;
    }
    if (st != BYRON_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading the subscription checkpoint: %s", err->msg);
    return BYRON_OK;
}

byron_status_t byron_consumer_bind(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, byron_err_t *err) {
    if (!byron_stream_connected(s->stream))
        return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS");
    if (l->kind == LANE_OWN && ensure_indexes(s, l, cl, err) != BYRON_OK) return err->code;
    if (l->kind == LANE_SUB && checkpoint_load(s, l, cl, err) != BYRON_OK) return err->code;
    char description[64]; /* the operator reads a rebuild's progress by it (docs/operator.md) */
    snprintf(description, sizeof description, BYRON_SINK_DESCRIPTION_FMT, (long long)l->gen);
    byron_stream_consumer_t c = {.stream = l->stream,
                                 .durable = l->durable,
                                 .filter = l->filter,
                                 .description = description,
                                 .ack_wait_ms = s->o.ack_wait_ms};
    if (byron_stream_consumer_ensure(s->stream, &c, err) != BYRON_OK) return err->code;
    return byron_stream_pull_subscribe(s->stream, &c, &l->sub, err);
}

void byron_consumer_unbind(lane_t *l) {
    if (l->sub) natsSubscription_Destroy(l->sub);
    l->sub = NULL;
}
