/* sink.c — the Sink: lanes (durable pull consumers) → projection → cache.
 *
 * Life of an event (docs/sink.md):
 *   lane thread: no-wait fetch from the lane's durable (at most one in flight
 *   per lane cluster-wide: MaxAckPending 1) → parse and validate → read the
 *   cached document's version → guard (projector.c): skip / gap / apply →
 *   app hooks and handler (own custom events and subscribed events) →
 *   conditional write (filter on the version read, so a late replica's write
 *   loses instead of going backwards) → ack.
 *   A failure NAKs with a growing delay; an event that keeps failing is
 *   published to the dead-letter stream with its error, then terminated.
 *   An unavailable cache or app is not the event's fault: NAK, never
 *   dead-letter. */
#include "sink.h"

#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache.h"
#include "dlq.h"
#include "envelope.h"
#include "generation.h"
#include "nats_options.h"
#include "projection.h"
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS_DEFAULT 8
#define NAK_MAX_MS 30000

typedef enum { LANE_OWN, LANE_SUB } lane_kind_t;

/* Lanes come in two name slots (generation.h): the live generation's and a
 * rebuild's. A lane's generation, projection and names are set before it is
 * enabled and never change after; a retired lane is unbound by its thread,
 * which then marks it parked. */
typedef struct lane {
    lane_kind_t kind;
    int partition;                      /* LANE_OWN */
    const byron_subscription_t *subdef; /* LANE_SUB */
    int slot;
    int64_t gen;
    byron_projection_t *proj;
    int rebuild; /* a rebuild's lane: an event the DLQ already holds is not dead-lettered twice */
    atomic_int enabled, retired, parked;
    char stream[160], durable[160], filter[320];
    natsSubscription *sub;
    uint64_t checkpoint; /* LANE_SUB: last stream sequence applied (loaded at bind) */
    int64_t next_setup_ms, setup_delay_ms, next_info_ms;
    pthread_mutex_t lock; /* ok/err: read by readiness */
    int ok;
    char err[256];
} lane_t;

typedef struct outcome_metrics {
    byron_metric_t *events, *latency, *age, *pending, *dlq_failures, *generation, *rebuild_pending;
} outcome_metrics_t;

struct byron_sink {
    byron_sink_options_t o;
    const byron_component_t *comp;
    natsConnection *nc;
    jsCtx *js;
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    lane_t *lanes; /* per lanes of slot 0, then per lanes of slot 1 */
    size_t nlanes, per;
    pthread_t *threads;
    int nthreads;
    atomic_int stop;
    atomic_int indexes_done[2]; /* per slot */
    pthread_mutex_t index_lock; /* one lane creates the indexes, the others wait for it */
    char dlq_stream[192], dlq_prefix[192];
    byron_projection_t *proj[2]; /* per slot: its generation's */
    atomic_int live_slot;        /* the slot readiness reports */
    pthread_t control;           /* the generations (control_thread) */
    /* Events with a dead letter (open or dropped) when a rebuild started, sorted
     * by (stream, sequence): a rebuild lane that dead-letters one again does
     * not store a second dead letter (Nats-Msg-Id dedupes only within the
     * DLQ's duplicate window). Written before the rebuild lanes are enabled,
     * read-only after. */
    struct dead_known {
        char stream[192];
        uint64_t seq;
    } * dead_known;
    size_t ndead_known;
    int control_started;
    outcome_metrics_t m;
};

static void sleep_ms_stop(byron_sink_t *s, int64_t ms) {
    while (ms > 0 && !atomic_load(&s->stop)) {
        int64_t step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static void lane_set(lane_t *l, int ok, const char *msg) {
    pthread_mutex_lock(&l->lock);
    int was = l->ok;
    l->ok = ok;
    /* The readiness text keeps the start of a long message. */
    if (snprintf(l->err, sizeof l->err, "%s", ok ? "" : msg) >= (int)sizeof l->err)
        l->err[sizeof l->err - 1] = '\0';
    pthread_mutex_unlock(&l->lock);
    if (was != ok)
        byron_log(ok ? BYRON_LOG_INFO : BYRON_LOG_WARN, ok ? "sink lane up" : "sink lane down", "stream",
                  l->stream, "consumer", l->durable, "error", ok ? "" : msg, (char *)NULL);
}

void byron_sink_subscription_durable(const byron_component_t *c, char *buf, size_t cap) {
    snprintf(buf, cap, "byron-sub-%s-%s", c->namespace_, c->component);
}

void byron_sink_dlq_names(const byron_component_t *c, char *stream, size_t scap, char *prefix, size_t pcap) {
    snprintf(stream, scap, "%s_DLQ", c->stream);
    snprintf(prefix, pcap, "byrondlq.%s.%s", c->namespace_, c->component);
}

static int env_int(const char *name, int min, int max, int *out, byron_err_t *err) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        byron_err_set(err, BYRON_EINVAL, "%s: \"%s\" is not a number between %d and %d", name, v, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

byron_status_t byron_sink_options_from_env(byron_sink_options_t *o, byron_err_t *err) {
    if (env_int("BYRON_SINK_THREADS", 1, 256, &o->threads, err) ||
        env_int("BYRON_SINK_MAX_DELIVER", 1, 1000, &o->max_deliver, err) ||
        env_int("BYRON_SINK_RETRY_MS", 1, 600000, &o->retry_ms, err) ||
        env_int("BYRON_SINK_ACK_WAIT_MS", 100, 3600000, &o->ack_wait_ms, err) ||
        env_int("BYRON_SINK_DLQ_ATTEMPTS", 1, 100000, &o->dlq_attempts, err) ||
        env_int("BYRON_SINK_DEFER_MS", 1000, 86400000, &o->defer_ms, err) ||
        env_int("BYRON_CACHE_GRACE_MS", 0, 86400000, &o->grace_ms, err))
        return BYRON_EINVAL;
    int gen = 0;
    if (env_int("BYRON_CACHE_GENERATION", 0, (int)BYRON_GENERATION_MAX, &gen, err)) return BYRON_EINVAL;
    o->generation = gen;
    return BYRON_OK;
}

/* ---- dead letters ------------------------------------------------------ */

/* The dead-letter stream, ensured through the sidecar's one stream layer
 * (stream.c: the operator's, with NATS users; else created on first use). */
static byron_status_t ensure_dlq(byron_sink_t *s, byron_err_t *err) {
    return byron_stream_ensure_dlq(s->o.stream, err);
}

/* The dead letter's payload: the event with why it could not be projected;
 * when that would not fit in one message (an event near the payload limit
 * plus this metadata), a reference to it instead (stream, sequence), which
 * the stream still holds. Caller puts. */
static json_object *dead_letter_body(const lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                     const char *why, int by_reference) {
    json_object *o = json_object_new_object(), *ev = NULL;
    byron_err_t pe;
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    char ts[40];
    byron_time_now_rfc3339(ts, sizeof ts);
    json_object_object_add(o, "error", json_object_new_string(why));
    json_object_object_add(o, "stream", json_object_new_string(l->stream));
    json_object_object_add(o, "sequence", json_object_new_int64((int64_t)meta->Sequence.Stream));
    json_object_object_add(o, "subject", json_object_new_string(natsMsg_GetSubject(msg)));
    json_object_object_add(o, "consumer", json_object_new_string(l->durable));
    json_object_object_add(o, "deliveries", json_object_new_int64((int64_t)meta->NumDelivered));
    json_object_object_add(o, "time", json_object_new_string(ts));
    if (by_reference)
        json_object_object_add(o, "reference", json_object_new_boolean(1));
    else if (data && byron_json_parse(data, (size_t)len, 64, &ev, &pe) == BYRON_OK)
        json_object_object_add(o, "event", ev);
    else
        json_object_object_add(o, "raw", json_object_new_string_len(data ? data : "", data ? len : 0));
    return o;
}

static byron_status_t dead_letter(byron_sink_t *s, lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                  const char *why, byron_err_t *err) {
    if (ensure_dlq(s, err) != BYRON_OK) return err->code;
    char subj[400], msgid[256], seq[24], hwhy[200];
    snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
    snprintf(subj, sizeof subj, "%s.%s", s->dlq_prefix, l->kind == LANE_OWN ? "own" : "sub");
    snprintf(msgid, sizeof msgid, "dlq:%s:%s", l->stream, seq);
    snprintf(hwhy, sizeof hwhy, "%.199s", why);
    for (char *p = hwhy; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    json_object *o = dead_letter_body(l, msg, meta, why, 0);
    const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* Headers and framing fit in 2 KiB (the reason is cut to 199 bytes). */
    if (strlen(txt) + 2048 > (size_t)natsConnection_GetMaxPayload(s->nc)) {
        json_object_put(o);
        o = dead_letter_body(l, msg, meta, why, 1);
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    }
    natsMsg *dm = NULL;
    natsStatus ns = natsMsg_Create(&dm, subj, NULL, txt, (int)strlen(txt));
    if (ns == NATS_OK) ns = natsMsgHeader_Set(dm, "Nats-Msg-Id", msgid);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(dm, "Byron-Dlq-Error", hwhy);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(dm, "Byron-Dlq-Stream", l->stream);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(dm, "Byron-Dlq-Sequence", seq);
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    if (ns == NATS_OK) ns = js_PublishMsg(&ack, s->js, dm, NULL, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(dm);
    json_object_put(o);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "publishing to %s: %s (JetStream error %d)",
                             s->dlq_stream, natsStatus_GetText(ns), (int)jerr);
    return BYRON_OK;
}

/* ---- lanes ------------------------------------------------------------- */

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

static byron_status_t lane_bind(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, byron_err_t *err) {
    if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS");
    if (l->kind == LANE_OWN && ensure_indexes(s, l, cl, err) != BYRON_OK) return err->code;
    if (l->kind == LANE_SUB) { /* the checkpoint */
        char cname[200];
        byron_generation_collection(l->gen, BYRON_SINK_STATE_COLLECTION, cname, sizeof cname);
        mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, cname);
        char key[200];
        snprintf(key, sizeof key, "sub:%s", l->stream);
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
        const bson_t *d;
        bson_error_t be;
        byron_status_t st = BYRON_OK;
        if (mongoc_cursor_next(cur, &d)) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, d, "seq")) l->checkpoint = (uint64_t)bson_iter_as_int64(&it);
        } else if (mongoc_cursor_error(cur, &be)) {
            st =
                byron_err_set(err, BYRON_EUNAVAILABLE, "reading the subscription checkpoint: %s", be.message);
        }
        mongoc_cursor_destroy(cur);
        bson_destroy(filter);
        mongoc_collection_destroy(coll);
        if (st != BYRON_OK) return st;
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = l->durable;
    cc.Name = l->durable;
    char description[64]; /* the operator reads a rebuild's progress by it (docs/operator.md) */
    snprintf(description, sizeof description, BYRON_SINK_DESCRIPTION_FMT, (long long)l->gen);
    cc.Description = description;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)s->o.ack_wait_ms * 1000000;
    cc.MaxDeliver = -1; /* the sink dead-letters itself: the server must never drop an event silently */
    cc.MaxAckPending = 1;
    cc.FilterSubject = l->filter;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddConsumer(&ci, s->js, l->stream, &cc, NULL, &jerr);
    if (ns != NATS_OK &&
        (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr || jerr == 10148))
        ns = js_UpdateConsumer(&ci, s->js, l->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (ns != NATS_OK) {
        const char *txt = nats_GetLastError(NULL);
        return byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s on %s: %s%s%s", l->durable, l->stream,
                             jerr == JSStreamNotFoundErr ? "stream not found" : natsStatus_GetText(ns),
                             txt && jerr != JSStreamNotFoundErr ? ": " : "",
                             txt && jerr != JSStreamNotFoundErr ? txt : "");
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = l->stream;
    so.Consumer = l->durable;
    so.ManualAck = true;
    ns = js_PullSubscribe(&l->sub, s->js, l->filter, l->durable, NULL, &so, &jerr);
    if (ns != NATS_OK) {
        l->sub = NULL;
        return byron_err_set(err, BYRON_EUNAVAILABLE, "subscribing to %s: %s", l->durable,
                             natsStatus_GetText(ns));
    }
    return BYRON_OK;
}

static void lane_unbind(lane_t *l) {
    if (l->sub) natsSubscription_Destroy(l->sub);
    l->sub = NULL;
}

static void count(byron_sink_t *s, const char *type, const char *outcome) {
    if (!s->m.events) return;
    const char *v[] = {type ? type : "", outcome};
    byron_metric_add(s->m.events, v, 1);
}

static int64_t nak_delay(byron_sink_t *s, uint64_t deliveries) {
    int64_t delay = s->o.retry_ms;
    for (uint64_t i = 1; i < deliveries && delay < NAK_MAX_MS; i++) delay *= 2;
    return delay > NAK_MAX_MS ? NAK_MAX_MS : delay;
}

static int dead_known_cmp(const void *a, const void *b) {
    const struct dead_known *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int dead_known(const byron_sink_t *s, const char *stream, uint64_t seq) {
    struct dead_known key = {.seq = seq};
    snprintf(key.stream, sizeof key.stream, "%s", stream);
    return s->ndead_known && bsearch(&key, s->dead_known, s->ndead_known, sizeof key, dead_known_cmp) != NULL;
}

/* The events the DLQ holds a dead letter of (not replayed), for a rebuild's
 * lanes. A DLQ beyond BYRON_DLQ_MAX_RECORDS is not read: its duplicates are
 * then only deduplicated within the DLQ's window (logged). */
static byron_status_t dead_known_load(byron_sink_t *s, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(s->js, s->comp, &dlq, err);
    if (st == BYRON_ELIMIT) {
        byron_log(BYRON_LOG_WARN,
                  "rebuild: the dead-letter stream is too long to read: a dead letter may be stored twice",
                  "error", err->msg, (char *)NULL);
        return BYRON_OK;
    }
    if (st != BYRON_OK) return st;
    free(s->dead_known);
    s->ndead_known = 0;
    if (dlq.n && !(s->dead_known = calloc(dlq.n, sizeof *s->dead_known))) {
        byron_dlq_cleanup(&dlq);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < dlq.n; i++) {
        if (dlq.entries[i].state == BYRON_DLQ_REPLAYED) continue; /* in the cache: project it as the rest */
        struct dead_known *k = &s->dead_known[s->ndead_known++];
        snprintf(k->stream, sizeof k->stream, "%s", dlq.entries[i].info.stream);
        k->seq = dlq.entries[i].info.sequence;
    }
    byron_dlq_cleanup(&dlq);
    if (s->ndead_known) qsort(s->dead_known, s->ndead_known, sizeof *s->dead_known, dead_known_cmp);
    return BYRON_OK;
}

/* A dead letter for an event that cannot be projected (projection.h says what
 * then happens to its aggregate), then the event is terminated. A dead letter
 * that cannot be stored is retried, at most dlq_attempts deliveries; then the
 * event is terminated anyway — counted and logged, the partition never stalls. */
static const char *settle_dead(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg,
                               const jsMsgMetaData *meta, const byron_proj_msg_t *pm, byron_proj_result_t r,
                               const char *type, const char *why) {
    byron_err_t de = {0};
    char seq[24], n[24];
    snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
    snprintf(n, sizeof n, "%" PRIu64, meta->NumDelivered);
    int known = l->rebuild && dead_known(s, l->stream, meta->Sequence.Stream);
    if (known)
        byron_log(BYRON_LOG_INFO, "rebuild: the event's dead letter is already stored", "stream", l->stream,
                  "sequence", seq, "type", type, "error", why, (char *)NULL);
    int stored = known || dead_letter(s, l, msg, meta, why, &de) == BYRON_OK;
    int give_up = !stored && (int64_t)meta->NumDelivered >= s->o.dlq_attempts;
    if ((stored || give_up) && byron_projection_dead_lettered(l->proj, cl, pm, r, why, &de) == BYRON_OK) {
        natsMsg_Term(msg, NULL);
        if (stored) {
            byron_log(BYRON_LOG_ERROR, "event dead-lettered", "stream", l->stream, "sequence", seq, "type",
                      type, "deliveries", n, "error", why, "dlq", s->dlq_stream, (char *)NULL);
            return "dead_lettered";
        }
        if (s->m.dlq_failures) byron_metric_add(s->m.dlq_failures, NULL, 1);
        byron_log(BYRON_LOG_ERROR, "event terminated: its dead letter could not be stored", "stream",
                  l->stream, "sequence", seq, "type", type, "deliveries", n, "error", why, "dlq_error",
                  de.msg, (char *)NULL);
        return "dead_letter_failed";
    }
    byron_log(BYRON_LOG_ERROR, "cannot dead-letter an event: will retry", "stream", l->stream, "sequence",
              seq, "error", de.msg, (char *)NULL);
    natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
    return "failed";
}

/* Project one message and settle it (ack / NAK with delay / dead-letter + term). */
static void handle_msg(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg) {
    int64_t t0 = byron_clock_mono_ms();
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) !=
        NATS_OK) { /* not a JetStream delivery: cannot happen on a pull lane */
        natsMsg_Nak(msg, NULL);
        return;
    }
    if (s->m.pending) {
        const char *v[] = {l->durable};
        byron_metric_set(s->m.pending, v, (double)meta->NumPending);
    }
    const char *hv = NULL;
    if (natsMsgHeader_Get(msg, BYRON_HDR_VERSION, &hv) != NATS_OK) hv = NULL;
    byron_proj_msg_t pm = {.sub = l->subdef,
                           .partition = l->partition,
                           .lane = l->durable,
                           .checkpoint = &l->checkpoint,
                           .stream = l->stream,
                           .subject = natsMsg_GetSubject(msg),
                           .seq = meta->Sequence.Stream,
                           .deliveries = meta->NumDelivered,
                           .stored_ns = meta->Timestamp,
                           .header_version = hv,
                           .data = natsMsg_GetData(msg),
                           .len = (size_t)natsMsg_GetDataLength(msg)};
    byron_err_t err = {0};
    char type[130];
    byron_proj_result_t r = byron_projection_apply(l->proj, cl, &pm, type, sizeof type, &err);
    const char *outcome = byron_proj_result_name(r);
    char why[BYRON_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err.msg[0] ? err.msg : "unknown error");
    switch (r) {
    case BYRON_PROJ_APPLIED:
    case BYRON_PROJ_SKIPPED:
    case BYRON_PROJ_UNHANDLED:
    case BYRON_PROJ_FILTERED: {
        /* Synchronous: with MaxAckPending 1 the lane's next event is released
         * only once the server has the ack, so the next fetch finds it at once
         * instead of coming back empty and backing off. A lost ack only means
         * a redelivery, which the guard skips. */
        jsErrCode jerr = 0;
        natsMsg_AckSync(msg, NULL, &jerr);
        break;
    }
    case BYRON_PROJ_UNAVAILABLE: /* not the event's fault: retry without counting towards the dead letter */
        natsMsg_NakWithDelay(
            msg, (int64_t)s->o.retry_ms * 4 > NAK_MAX_MS ? NAK_MAX_MS : (int64_t)s->o.retry_ms * 4, NULL);
        outcome = "failed";
        byron_log(BYRON_LOG_WARN, "event not projected: dependency unavailable", "type", type, "error",
                  err.msg, (char *)NULL);
        break;
    case BYRON_PROJ_DEFER: /* a newer model's event: a sink that knows it will take it */
        natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
        byron_log(BYRON_LOG_INFO, "event deferred: written under a newer model", "type", type, "reason",
                  err.msg, (char *)NULL);
        break;
    case BYRON_PROJ_RETRY:
        if ((int64_t)meta->NumDelivered < s->o.max_deliver) {
            natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
            outcome = "failed";
            byron_log(BYRON_LOG_WARN, "event not projected: will retry", "type", type, "error", err.msg,
                      (char *)NULL);
            break;
        }
        __attribute__((fallthrough)); /* it kept failing */
    case BYRON_PROJ_INVALID:
    case BYRON_PROJ_BLOCKED: outcome = settle_dead(s, l, cl, msg, meta, &pm, r, type, why); break;
    }
    count(s, type, outcome);
    if (s->m.latency && (r == BYRON_PROJ_APPLIED || r == BYRON_PROJ_UNHANDLED)) {
        byron_metric_observe(s->m.latency, NULL, (double)(byron_clock_mono_ms() - t0) / 1000.0);
        if (meta->Timestamp > 0 && s->m.age)
            byron_metric_observe(s->m.age, NULL, byron_clock_real_s() - (double)meta->Timestamp / 1e9);
    }
    jsMsgMetaData_Destroy(meta);
}

/* Consumer lag while idle: the pending count from the server now and then. */
static void refresh_pending(byron_sink_t *s, lane_t *l) {
    int64_t now = byron_clock_mono_ms();
    if (!s->m.pending || now < l->next_info_ms) return;
    l->next_info_ms = now + 5000;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (js_GetConsumerInfo(&ci, s->js, l->stream, l->durable, NULL, &jerr) == NATS_OK) {
        const char *v[] = {l->durable};
        byron_metric_set(s->m.pending, v, (double)ci->NumPending);
    }
    jsConsumerInfo_Destroy(ci);
}

typedef struct {
    byron_sink_t *s;
    int index;
} thread_arg_t;

static void *lane_thread(void *arg) {
    thread_arg_t *ta = arg;
    byron_sink_t *s = ta->s;
    int t = ta->index;
    free(ta);
    mongoc_client_t *cl = mongoc_client_pool_pop(s->pool);
    int64_t idle = 0;
    while (!atomic_load(&s->stop)) {
        int got = 0, waited = 0;
        /* A thread with one lane long-polls it (the server answers as soon as an
         * event is available: no polling when idle); a thread with several polls
         * them round-robin without waiting, and backs off when all are empty. */
        int active = 0;
        for (size_t i = (size_t)t; i < s->nlanes; i += (size_t)s->nthreads) {
            lane_t *l = &s->lanes[i];
            if (atomic_load(&l->retired) && !atomic_load(&l->parked)) { /* a generation dropped: let go */
                lane_unbind(l);
                atomic_store(&l->parked, 1);
            }
            active += atomic_load(&l->enabled) && !atomic_load(&l->retired);
        }
        int single = active == 1;
        for (size_t i = (size_t)t; i < s->nlanes && !atomic_load(&s->stop); i += (size_t)s->nthreads) {
            lane_t *l = &s->lanes[i];
            if (!atomic_load(&l->enabled) || atomic_load(&l->retired)) continue;
            if (!l->sub) {
                int64_t now = byron_clock_mono_ms();
                if (now < l->next_setup_ms) continue;
                byron_err_t err = {0};
                if (lane_bind(s, l, cl, &err) != BYRON_OK) {
                    lane_set(l, 0, err.msg);
                    l->setup_delay_ms = l->setup_delay_ms ? l->setup_delay_ms * 2 : 200;
                    if (l->setup_delay_ms > 5000) l->setup_delay_ms = 5000;
                    l->next_setup_ms = now + l->setup_delay_ms;
                    continue;
                }
                l->setup_delay_ms = 0;
                lane_set(l, 1, "");
            }
            natsMsgList list = {0};
            jsFetchRequest fr;
            jsFetchRequest_Init(&fr);
            fr.Batch = 1; /* MaxAckPending 1: the server has at most one for us */
            fr.NoWait = !single;
            fr.Expires = single ? (int64_t)500 * 1000000 : 0; /* ≤ 0.5 s: shutdown stays prompt */
            jsErrCode jerr = 0;
            natsStatus ns = natsSubscription_FetchRequest(&list, l->sub, &fr);
            (void)jerr;
            if (ns == NATS_OK) {
                for (int k = 0; k < list.Count; k++) {
                    handle_msg(s, l, cl, list.Msgs[k]);
                    got++;
                }
                natsMsgList_Destroy(&list);
            } else if (ns == NATS_TIMEOUT || ns == NATS_NOT_FOUND) {
                waited = single && ns == NATS_TIMEOUT;
                refresh_pending(s, l);
            } else if (ns == NATS_CONNECTION_CLOSED || ns == NATS_INVALID_SUBSCRIPTION) {
                lane_unbind(l);
            } else if (natsConnection_Status(s->nc) == NATS_CONN_STATUS_CONNECTED) {
                /* e.g. the consumer was deleted (a rebuild elsewhere): bind again */
                const char *txt = nats_GetLastError(NULL);
                char msg[300];
                snprintf(msg, sizeof msg, "fetch: %s%s%s", natsStatus_GetText(ns), txt ? ": " : "",
                         txt ? txt : "");
                jsConsumerInfo *ci = NULL;
                if (js_GetConsumerInfo(&ci, s->js, l->stream, l->durable, NULL, &jerr) != NATS_OK) {
                    lane_set(l, 0, msg);
                    lane_unbind(l);
                }
                jsConsumerInfo_Destroy(ci);
            }
        }
        if (got || waited) {
            idle = 0; /* a long poll already waited */
        } else {      /* nothing anywhere: back off a little (latency ≤ 100 ms when idle) */
            idle = idle ? idle * 2 : 5;
            if (idle > 100) idle = 100;
            sleep_ms_stop(s, idle);
        }
    }
    for (size_t i = (size_t)t; i < s->nlanes; i += (size_t)s->nthreads) lane_unbind(&s->lanes[i]);
    mongoc_client_pool_push(s->pool, cl);
    return NULL;
}

/* ---- generations: the zero-downtime rebuild ------------------------------ */

/* Enable the lanes of a slot for generation gen (their names, projection). */
static byron_status_t slot_enable(byron_sink_t *s, int slot, int64_t gen, byron_err_t *err) {
    if (!s->proj[slot] &&
        !(s->proj[slot] = byron_projection_new(s->comp, s->o.database, gen, s->o.app, s->o.defer_ms, err)))
        return err->code;
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++) {
        lane_t *l = &s->lanes[i];
        l->gen = gen;
        l->proj = s->proj[slot];
        atomic_store(&l->enabled, 1); /* publishes the fields above to the lane's thread */
    }
    return BYRON_OK;
}

/* Retire a slot's lanes and wait until their threads let go of them. */
static void slot_retire(byron_sink_t *s, int slot) {
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++)
        atomic_store(&s->lanes[i].retired, 1);
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per && !atomic_load(&s->stop); i++)
        while (!atomic_load(&s->lanes[i].parked) && !atomic_load(&s->stop)) sleep_ms_stop(s, 20);
}

/* Delete a slot's durables (its lanes' names; none bound here). */
static byron_status_t slot_delete_durables(byron_sink_t *s, int slot, byron_err_t *err) {
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++) {
        jsErrCode jerr = 0;
        natsStatus ns = js_DeleteConsumer(s->js, s->lanes[i].stream, s->lanes[i].durable, NULL, &jerr);
        if (ns != NATS_OK && ns != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr &&
            jerr != JSStreamNotFoundErr)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "deleting consumer %s: %s", s->lanes[i].durable,
                                 natsStatus_GetText(ns));
    }
    return BYRON_OK;
}

/* How far the rebuild's lanes (slot b) are: *remaining events not yet
 * settled, *total events in their streams; *caught_up when each is within
 * `slack` events of its live twin (the same filter; 1: one event in flight). */
static byron_status_t build_progress(byron_sink_t *s, int b, int64_t slack, int64_t *remaining,
                                     int64_t *total, int *caught_up, byron_err_t *err) {
    *remaining = *total = 0;
    *caught_up = 1;
    for (size_t k = 0; k < s->per; k++) {
        lane_t *l = &s->lanes[(size_t)b * s->per + k], *twin = &s->lanes[(size_t)!b * s->per + k];
        int64_t left[2] = {0, 0};
        for (int w = 0; w < 2; w++) {
            const lane_t *x = w ? twin : l;
            jsConsumerInfo *ci = NULL;
            jsErrCode jerr = 0;
            natsStatus ns = js_GetConsumerInfo(&ci, s->js, x->stream, x->durable, NULL, &jerr);
            if (ns == NATS_OK) {
                left[w] = (int64_t)ci->NumPending + (int64_t)ci->NumAckPending;
            } else if (jerr == JSStreamNotFoundErr) { /* a subscribed component not deployed: nothing to do */
            } else if (!w) {                          /* not created yet (or NATS away): not caught up */
                *caught_up = 0;
                if (ns != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)
                    return byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s: %s", x->durable,
                                         natsStatus_GetText(ns));
            }
            jsConsumerInfo_Destroy(ci);
        }
        *remaining += left[0];
        if (left[0] > left[1] + slack) *caught_up = 0;
        if (k == 0 || l->kind == LANE_SUB) { /* each stream once: the own one with its first lane */
            jsStreamInfo *si = NULL;
            jsErrCode jerr = 0;
            if (js_GetStreamInfo(&si, s->js, l->stream, NULL, &jerr) == NATS_OK)
                *total += (int64_t)si->State.Msgs;
            jsStreamInfo_Destroy(si);
        }
    }
    return BYRON_OK;
}

static void set_gauge(byron_metric_t *m, double v) {
    if (m) byron_metric_set(m, NULL, v);
}

/* The pointer, read again until it answers (or the sink stops). */
static int read_pointer(byron_sink_t *s, mongoc_client_t *cl, byron_generation_pointer_t *p) {
    for (int64_t delay = 200; !atomic_load(&s->stop); delay = delay < 5000 ? delay * 2 : 5000) {
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, p, &e) == BYRON_OK) return 1;
        byron_log(BYRON_LOG_WARN, "sink: cannot read the cache generation", "error", e.msg, (char *)NULL);
        sleep_ms_stop(s, delay);
    }
    return 0;
}

/* Retry a step that needs NATS or the cache until it succeeds (or the sink stops). */
#define RETRY(s, what, call)                                                                                 \
    for (int64_t delay_ = 200; !atomic_load(&(s)->stop); delay_ = delay_ < 5000 ? delay_ * 2 : 5000) {       \
        byron_err_t e_ = {0};                                                                                \
        byron_err_t *err = &e_;                                                                              \
        if ((call) == BYRON_OK) break;                                                                       \
        byron_log(BYRON_LOG_WARN, "sink rebuild: " what ": will retry", "error", e_.msg, (char *)NULL);      \
        sleep_ms_stop(s, delay_);                                                                            \
    }

/* Wait until the wall clock reaches at_ms (or the sink stops). */
static void sleep_until_wall(byron_sink_t *s, int64_t at_ms) {
    for (;;) {
        int64_t now = (int64_t)(byron_clock_real_s() * 1000.0);
        if (now >= at_ms || atomic_load(&s->stop)) return;
        sleep_ms_stop(s, at_ms - now > 500 ? 500 : at_ms - now);
    }
}

/* After a switch, once every api has moved (the grace period): the old
 * generation's lanes stop, its durables and collections go, the pointer
 * forgets it. Every replica does it; each step is idempotent. */
static void drop_retired(byron_sink_t *s, mongoc_client_t *cl, int64_t gen, int slot, int64_t switched_at,
                         int64_t abandoned) {
    sleep_until_wall(s, switched_at + s->o.grace_ms);
    if (atomic_load(&s->stop)) return;
    slot_retire(s, slot);
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)gen);
    RETRY(s, "deleting the old generation's consumers", slot_delete_durables(s, slot, err));
    RETRY(s, "dropping the old generation", byron_generation_drop(cl, s->o.database, s->comp, gen, err));
    if (abandoned > 0 && abandoned != gen)
        RETRY(s, "dropping an abandoned rebuild",
              byron_generation_drop(cl, s->o.database, s->comp, abandoned, err));
    bson_t *set = BCON_NEW("retired", BCON_INT64(-1), "abandoned", BCON_INT64(0));
    RETRY(s, "recording the drop", byron_generation_set(cl, s->o.database, set, err));
    bson_destroy(set);
    if (!atomic_load(&s->stop))
        byron_log(BYRON_LOG_INFO, "sink rebuild: the old generation is dropped", "generation", g,
                  (char *)NULL);
}

/* The switch, once the rebuild (slot b) is within an event per lane of the
 * live generation a: this replica's live lanes stop first (no event in
 * flight), the rebuild's lanes finish what they had until each is at least as
 * far as its twin (≤ 10 s), then the pointer moves. No read after the switch
 * sees less than a read before it: the old generation stops where the new one
 * has already been. Returns the switch's wall-clock time. */
static int64_t switch_to(byron_sink_t *s, mongoc_client_t *cl, int64_t a, int64_t w, int b) {
    slot_retire(s, !b);
    int64_t remaining = 0, total = 0, until = byron_clock_mono_ms() + 10000;
    for (int caught_up = 0; !caught_up && !atomic_load(&s->stop);) {
        byron_err_t e = {0};
        if (build_progress(s, b, 0, &remaining, &total, &caught_up, &e) != BYRON_OK) caught_up = 0;
        if (!caught_up && byron_clock_mono_ms() > until) {
            byron_log(BYRON_LOG_WARN,
                      "sink rebuild: switching although a lane is behind its twin (another "
                      "replica still projects the old generation)",
                      (char *)NULL);
            break;
        }
        if (!caught_up) sleep_ms_stop(s, 20);
    }
    int64_t now = (int64_t)(byron_clock_real_s() * 1000.0);
    bson_t *set = BCON_NEW("active", BCON_INT64(w), "activeSlot", BCON_INT32(b), "building", BCON_INT64(0),
                           "retired", BCON_INT64(a), "retiredSlot", BCON_INT32(!b), "switchedAt",
                           BCON_INT64(now), "projected", BCON_INT64(total), "total", BCON_INT64(total));
    RETRY(s, "switching the api to the new generation", byron_generation_set(cl, s->o.database, set, err));
    bson_destroy(set);
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)w);
    byron_log(BYRON_LOG_INFO, "sink rebuild: caught up; the api reads the new generation", "generation", g,
              (char *)NULL);
    return atomic_load(&s->stop) ? 0 : now;
}

/* Build generation w into slot b beside the live one (a, slot !b) until it has
 * caught up, then switch the pointer. Returns the switch's wall-clock time, 0
 * when stopped first. */
static int64_t build(byron_sink_t *s, mongoc_client_t *cl, const byron_generation_pointer_t *p0, int64_t w,
                     int b) {
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)w);
    if (p0->building != w) { /* a new build: its slot's consumers start over (its collections are new) */
        RETRY(s, "deleting the rebuild slot's consumers", slot_delete_durables(s, b, err));
        bson_t *set = BCON_NEW("building", BCON_INT64(w), "buildingSlot", BCON_INT32(b), "projected",
                               BCON_INT64(0), "total", BCON_INT64(0), "abandoned",
                               BCON_INT64(p0->building != p0->active ? p0->building : 0));
        RETRY(s, "recording the rebuild", byron_generation_set(cl, s->o.database, set, err));
        bson_destroy(set);
        byron_log(BYRON_LOG_INFO, "sink rebuild: started", "generation", g, (char *)NULL);
    }
    RETRY(s, "reading the dead letters already stored", dead_known_load(s, err));
    for (size_t i = (size_t)b * s->per; i < (size_t)(b + 1) * s->per; i++) s->lanes[i].rebuild = 1;
    RETRY(s, "starting the rebuild's lanes", slot_enable(s, b, w, err));
    while (!atomic_load(&s->stop)) {
        sleep_ms_stop(s, 1000);
        byron_generation_pointer_t p;
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, &p, &e) != BYRON_OK) continue;
        if (p.active >= w) return p.switched_at; /* another replica switched */
        int64_t remaining = 0, total = 0;
        int caught_up = 0;
        if (build_progress(s, b, 1, &remaining, &total, &caught_up, &e) != BYRON_OK) continue;
        set_gauge(s->m.rebuild_pending, (double)remaining);
        if (caught_up) return switch_to(s, cl, p.active, w, b);
        bson_t *set = BCON_NEW("projected", BCON_INT64(total > remaining ? total - remaining : 0), "total",
                               BCON_INT64(total));
        byron_generation_set(cl, s->o.database, set, &e); /* progress only: the next round writes it again */
        bson_destroy(set);
    }
    return 0;
}

/* A sink of an older roll (below the generation another sink switched to)
 * follows the pointer: its live lanes stop and the new generation's start
 * here, in their slot — two generations never move apart behind the api, and
 * no sink is left projecting a generation nobody reads. One small find per
 * second. A slot this sink used before (it built a generation itself) is not
 * taken again: such a sink is already rolling away. */
static void follow(byron_sink_t *s, mongoc_client_t *cl) {
    int warned = 0;
    while (!atomic_load(&s->stop)) {
        sleep_ms_stop(s, 1000);
        int live = atomic_load(&s->live_slot);
        int64_t gen = s->lanes[(size_t)live * s->per].gen;
        byron_generation_pointer_t p;
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, &p, &e) != BYRON_OK || p.active <= gen) continue;
        char g[24];
        snprintf(g, sizeof g, "%lld", (long long)p.active);
        if (p.active_slot == live || s->proj[p.active_slot]) {
            if (!warned++)
                byron_log(BYRON_LOG_WARN, "sink: the cache switched to a generation this sink cannot follow",
                          "generation", g, (char *)NULL);
            continue;
        }
        slot_retire(s, live);
        RETRY(s, "following the live generation", slot_enable(s, p.active_slot, p.active, err));
        atomic_store(&s->live_slot, p.active_slot);
        set_gauge(s->m.generation, (double)p.active);
        byron_log(BYRON_LOG_INFO, "sink: following the cache's new generation", "generation", g,
                  (char *)NULL);
    }
}

/* The generations (generation.h): reads the pointer, starts the live lanes,
 * and with a wanted generation above the live one builds it beside them,
 * switches, and drops the old one after the grace period. */
static void *control_thread(void *arg) {
    byron_sink_t *s = arg;
    mongoc_client_t *cl = mongoc_client_pool_pop(s->pool);
    byron_generation_pointer_t p;
    if (!read_pointer(s, cl, &p)) goto out;
    int a = p.active_slot;
    int64_t w = s->o.generation;
    RETRY(s, "starting the live lanes", slot_enable(s, a, p.active, err));
    atomic_store(&s->live_slot, a);
    set_gauge(s->m.generation, (double)p.active);
    set_gauge(s->m.rebuild_pending, 0);
    if (w < p.active && w > 0) {
        char want[24], live[24];
        snprintf(want, sizeof want, "%lld", (long long)w);
        snprintf(live, sizeof live, "%lld", (long long)p.active);
        byron_log(BYRON_LOG_WARN, "sink: the cache is at a newer generation than wanted: projecting it",
                  "wanted", want, "generation", live, (char *)NULL);
    }
    if (w > p.active) {
        int64_t switched_at = build(s, cl, &p, w, !a);
        if (!switched_at) goto out;
        atomic_store(&s->live_slot, !a);
        slot_retire(s, a); /* switched by another replica: the old generation stops here too, now */
        set_gauge(s->m.generation, (double)w);
        set_gauge(s->m.rebuild_pending, 0);
        drop_retired(s, cl, p.active, a, switched_at, p.building != w ? p.building : 0);
    } else if (p.retired >= 0 && p.retired != p.active) { /* restarted within a switch's grace period */
        drop_retired(s, cl, p.retired, p.retired_slot, p.switched_at, p.abandoned);
    }
    follow(s, cl);
out:
    mongoc_client_pool_push(s->pool, cl);
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void on_connected(natsConnection *nc, void *ud) {
    (void)nc;
    (void)ud;
    byron_log(BYRON_LOG_INFO, "sink: NATS connected", (char *)NULL);
}

byron_sink_t *byron_sink_new(const byron_sink_options_t *o, byron_err_t *err) {
    byron_sink_t *s = calloc(1, sizeof *s);
    natsOptions *nopts = NULL;
    bson_error_t be;
    if (!s) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->comp = o->component;
    pthread_mutex_init(&s->index_lock, NULL);
    if (!getenv("BYRON_CACHE_GRACE_MS") && s->o.grace_ms <= 0) s->o.grace_ms = 60000;
    if (s->o.max_deliver <= 0) s->o.max_deliver = 5;
    if (s->o.retry_ms <= 0) s->o.retry_ms = 500;
    if (s->o.ack_wait_ms <= 0) s->o.ack_wait_ms = 30000;
    if (s->o.dlq_attempts <= 0) s->o.dlq_attempts = s->o.max_deliver + 10;
    byron_sink_dlq_names(s->comp, s->dlq_stream, sizeof s->dlq_stream, s->dlq_prefix, sizeof s->dlq_prefix);
    s->per = (size_t)s->comp->partitions + s->comp->nsubscriptions;
    s->nlanes = 2 * s->per; /* two name slots (generation.h) */
    if (!(s->lanes = calloc(s->nlanes, sizeof *s->lanes))) goto nomem;
    for (size_t i = 0; i < s->nlanes; i++) {
        lane_t *l = &s->lanes[i];
        size_t k = i % s->per;
        char base[160];
        pthread_mutex_init(&l->lock, NULL);
        l->slot = (int)(i / s->per);
        if (k < (size_t)s->comp->partitions) {
            l->kind = LANE_OWN;
            l->partition = (int)k;
            snprintf(l->stream, sizeof l->stream, "%s", s->comp->stream);
            snprintf(base, sizeof base, BYRON_SINK_DURABLE_FMT, (int)k);
            byron_generation_durable(l->slot, base, l->durable, sizeof l->durable);
            snprintf(l->filter, sizeof l->filter, "%s.%d.>", s->comp->subject_prefix, (int)k);
        } else {
            const byron_subscription_t *sd = &s->comp->subscriptions[k - (size_t)s->comp->partitions];
            l->kind = LANE_SUB;
            l->subdef = sd;
            snprintf(l->stream, sizeof l->stream, "BYRON_%s_%s", sd->namespace_, sd->component);
            for (char *p = l->stream; *p; p++)
                if (*p == '-') *p = '_';
            byron_sink_subscription_durable(s->comp, base, sizeof base);
            byron_generation_durable(l->slot, base, l->durable, sizeof l->durable);
            /* Exactly the aggregate subjects (6 tokens): not the other component's unique claims. */
            snprintf(l->filter, sizeof l->filter, "byron.%s.%s.*.*.*", sd->namespace_, sd->component);
        }
        snprintf(l->err, sizeof l->err, "starting");
    }
    if (o->metrics) {
        static const char *const EL[] = {"type", "outcome", NULL};
        static const char *const PL[] = {"consumer", NULL};
        s->m.events = byron_metrics_register(
            o->metrics, BYRON_METRIC_COUNTER, "byron_sink_events_total",
            "Events handled by the sink, by type and outcome (projected, skipped, "
            "unhandled, filtered, failed, deferred, dead_lettered, dead_letter_failed)",
            EL, NULL, 0);
        s->m.latency =
            byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_projection_seconds",
                                   "Time to project one event (read, app, write)", NULL, NULL, 0);
        s->m.age =
            byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_event_age_seconds",
                                   "From the event's storage in the stream to its projection", NULL, NULL, 0);
        s->m.pending = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "byron_sink_consumer_pending",
                                              "Events not yet delivered, per consumer (lag)", PL, NULL, 0);
        s->m.dlq_failures = byron_metrics_register(
            o->metrics, BYRON_METRIC_COUNTER, "byron_sink_dead_letter_failures_total",
            "Events terminated because their dead letter could not be stored (they stay in the stream)", NULL,
            NULL, 0);
        s->m.generation = byron_metrics_register(
            o->metrics, BYRON_METRIC_GAUGE, "byron_cache_generation",
            "The cache generation the api reads, as this sink last saw it", NULL, NULL, 0);
        s->m.rebuild_pending = byron_metrics_register(
            o->metrics, BYRON_METRIC_GAUGE, "byron_sink_rebuild_pending",
            "Events a cache rebuild still has to project (0: none under way)", NULL, NULL, 0);
    }
    /* Own connection: the sink's fetches and acks do not queue behind anything else. */
    natsStatus ns;
    char name[200];
    snprintf(name, sizeof name, "byron-sink/%s/%s", s->comp->namespace_, s->comp->component);
    if ((ns = natsOptions_Create(&nopts)) != NATS_OK ||
        (ns = natsOptions_SetURL(nopts, o->nats_url)) != NATS_OK ||
        (ns = natsOptions_SetName(nopts, name)) != NATS_OK ||
        /* with a connected callback, Connect returns at once and connects in the background */
        (ns = natsOptions_SetRetryOnFailedConnect(nopts, true, on_connected, NULL)) != NATS_OK ||
        (ns = natsOptions_SetMaxReconnect(nopts, -1)) != NATS_OK ||
        (ns = natsOptions_SetReconnectWait(nopts, 200)) != NATS_OK ||
        (ns = natsOptions_SetTimeout(nopts, 2000)) != NATS_OK) {
        byron_err_set(err, BYRON_EIO, "NATS options: %s", natsStatus_GetText(ns));
        goto fail;
    }
    if (byron_nats_options_apply(nopts, err) != BYRON_OK) goto fail;
    ns = natsConnection_Connect(&s->nc, nopts);
    if (ns != NATS_OK && ns != NATS_NOT_YET_CONNECTED) {
        s->nc = NULL;
        byron_err_set(err, BYRON_EUNAVAILABLE, "%s: %s", o->nats_url, natsStatus_GetText(ns));
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if ((ns = natsConnection_JetStream(&s->js, s->nc, &jo)) != NATS_OK) {
        byron_err_set(err, BYRON_EIO, "JetStream context: %s", natsStatus_GetText(ns));
        goto fail;
    }
    if (!(s->uri = mongoc_uri_new_with_error(o->mongo_uri, &be))) {
        byron_err_set(err, BYRON_EINVAL, "BYRON_MONGO_URI: %s", be.message);
        goto fail;
    }
    if (!mongoc_uri_has_option(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
    if (!mongoc_uri_has_option(s->uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_SOCKETTIMEOUTMS, 10000);
    if (!(s->pool = mongoc_client_pool_new(s->uri))) {
        byron_err_set(err, BYRON_EIO, "cannot create the MongoDB client pool");
        goto fail;
    }
    mongoc_client_pool_set_error_api(s->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(s->pool, "byron-sink");
    s->nthreads = o->threads > 0 ? o->threads : MAX_THREADS_DEFAULT;
    if ((size_t)s->nthreads > s->per) s->nthreads = (int)s->per; /* a thread owns a lane of each slot */
    mongoc_client_pool_max_size(s->pool, (uint32_t)s->nthreads + 3);
    if (!(s->threads = calloc((size_t)s->nthreads, sizeof *s->threads))) goto nomem;
    for (int t = 0; t < s->nthreads; t++) {
        thread_arg_t *ta = malloc(sizeof *ta);
        if (!ta) goto nomem;
        ta->s = s;
        ta->index = t;
        if (pthread_create(&s->threads[t], NULL, lane_thread, ta) != 0) {
            free(ta);
            s->nthreads = t;
            byron_err_set(err, BYRON_EIO, "cannot start the sink's lane threads");
            goto fail;
        }
    }
    if (pthread_create(&s->control, NULL, control_thread, s) != 0) {
        byron_err_set(err, BYRON_EIO, "cannot start the sink's generation thread");
        goto fail;
    }
    s->control_started = 1;
    natsOptions_Destroy(nopts);
    return s;
nomem:
    byron_err_set(err, BYRON_ENOMEM, "out of memory");
fail:
    natsOptions_Destroy(nopts);
    byron_sink_free(s);
    return NULL;
}

void byron_sink_free(byron_sink_t *s) {
    if (!s) return;
    atomic_store(&s->stop, 1);
    if (s->control_started) pthread_join(s->control, NULL);
    for (int t = 0; s->threads && t < s->nthreads; t++) pthread_join(s->threads[t], NULL);
    free(s->threads);
    jsCtx_Destroy(s->js);
    if (s->nc) {
        natsConnection_FlushTimeout(s->nc, 1000); /* the last acks */
        natsConnection_Destroy(s->nc);
    }
    if (s->pool) mongoc_client_pool_destroy(s->pool);
    mongoc_uri_destroy(s->uri);
    free(s->dead_known);
    byron_projection_free(s->proj[0]);
    byron_projection_free(s->proj[1]);
    for (size_t i = 0; s->lanes && i < s->nlanes; i++) pthread_mutex_destroy(&s->lanes[i].lock);
    free(s->lanes);
    pthread_mutex_destroy(&s->index_lock);
    free(s);
}

void byron_sink_readiness(byron_sink_t *s, json_object *checks, int *ready) {
    int own_ok = 1, sub_ok = 1;
    char own_err[512] = "", sub_err[512] = "";
    int live = atomic_load(&s->live_slot);
    for (size_t i = (size_t)live * s->per; i < (size_t)(live + 1) * s->per; i++) {
        lane_t *l = &s->lanes[i];
        pthread_mutex_lock(&l->lock);
        int *ok = l->kind == LANE_OWN ? &own_ok : &sub_ok;
        char *e = l->kind == LANE_OWN ? own_err : sub_err;
        if (!l->ok) {
            if (*ok) snprintf(e, 512, "%.200s: %.255s", l->durable, l->err);
            *ok = 0;
        }
        pthread_mutex_unlock(&l->lock);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(own_ok));
    if (!own_ok) json_object_object_add(o, "error", json_object_new_string(own_err));
    json_object_object_add(checks, "sink", o);
    if (s->comp->nsubscriptions) {
        o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(sub_ok));
        json_object_object_add(o, "blocking", json_object_new_boolean(0));
        if (!sub_ok) json_object_object_add(o, "error", json_object_new_string(sub_err));
        json_object_object_add(checks, "subscriptions", o);
    }
    if (!own_ok) *ready = 0;
}
