/* consumer.c — binding a lane to its durable pull consumer: the cache's
 * indexes for the lane's generation (own lanes, once per slot), a
 * subscription's checkpoint, the consumer (stream.h: created or updated) and
 * the pull subscription the lane thread fetches from. */
#include "sink_internal.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The cache's indexes for the lane's generation (cache.h), once per slot. */
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
    for (size_t i = 0; i < s->comp->nmodels && st == BYRON_OK; i++)
        st = byron_cache_ensure_indexes(cl, s->o.database, lane->gen, &s->comp->models[i], err);
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
