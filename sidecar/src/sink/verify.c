/* verify.c — see verify.h. The I/O around fold.c, in the order it happens:
 *
 *   1. snapshot  the last sequence of the own stream and of each subscribed
 *                stream: the events the check is about
 *   2. quiet     wait (--wait-ms) until every sink durable has nothing pending
 *                and nothing unacknowledged: the sink has settled all of them
 *                (projected or dead-lettered)
 *   3. read      the dead letters, then the streams up to the snapshot (ordered
 *                consumers: one flow-controlled push per stream, no acks), each
 *                event through the fold (and the app's handlers)
 *   4. compare   the tombstones and every document of each model's collection
 *
 * Events appended after the snapshot are not folded: run it when commands
 * have stopped, or expect findings on the aggregates they touch. The fold is
 * held in memory (O(aggregates)); the streams are read once. */
#include "verify.h"

#include "app.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "dlq.h"
#include "fold.h"
#include "generation.h"
#include "json_bson.h"
#include "oneshot.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_IDLE_MS 10000 /* a stream read that gets nothing for this long has failed */

typedef struct verify {
    byron_verify_settings_t s;
    byron_component_t *comp;
    natsConnection *nc;
    jsCtx *js;
    mongoc_client_t *mongo;
    char db[160];
    byron_generation_pointer_t gen; /* the live generation is checked (generation.h) */
    byron_app_t *app;
    byron_fold_t *fold;
    uint64_t own_last, *sub_last; /* the snapshot */
} verify_t;

/* ---- output ----------------------------------------------------------- */

static void print_finding(void *ud, json_object *o) {
    (void)ud;
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static void print_summary(verify_t *v, const byron_fold_stats_t *st, const char *result, const char *error) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string("summary"));
    json_object_object_add(o, "component", json_object_new_string(v->comp->component));
    json_object_object_add(o, "namespace", json_object_new_string(v->comp->namespace_));
    json_object_object_add(o, "stream", json_object_new_string(v->comp->stream));
    json_object_object_add(o, "last_sequence", json_object_new_uint64(v->own_last));
    if (st) {
        static const char *const K[] = {"events",        "ignored",     "applied",        "invalid",
                                        "dead_lettered", "subscribed",  "filtered",       "aggregates",
                                        "documents",     "differences", "order_dependent"};
        const uint64_t V[] = {st->events,        st->ignored,     st->applied,        st->invalid,
                              st->dead_lettered, st->subscribed,  st->filtered,       st->aggregates,
                              st->documents,     st->differences, st->order_dependent};
        for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
            json_object_object_add(o, K[i], json_object_new_uint64(V[i]));
    }
    json_object_object_add(o, "result", json_object_new_string(result));
    if (error) json_object_object_add(o, "error", json_object_new_string(error));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    json_object_put(o);
}

/* ---- NATS ------------------------------------------------------------- */

/* The stream's last sequence; 0 when it does not exist (nothing to fold). */
static byron_status_t last_sequence(verify_t *v, const char *stream, uint64_t *last, byron_err_t *err) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, v->js, stream, NULL, &jerr);
    *last = 0;
    if (ns == NATS_OK)
        *last = si->State.LastSeq;
    else if (ns != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "stream %s: %s (JetStream error %d)", stream,
                             natsStatus_GetText(ns), (int)jerr);
    jsStreamInfo_Destroy(si);
    return BYRON_OK;
}

/* Whether a sink durable has settled everything; *why says what it waits for.
 * A durable that does not exist is settled only when its lane has no event. */
static byron_status_t durable_settled(verify_t *v, const char *stream, const char *durable,
                                      const char *filter, int *settled, char *why, size_t cap,
                                      byron_err_t *err) {
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, v->js, stream, durable, NULL, &jerr);
    if (ns == NATS_OK) {
        *settled = ci->NumPending == 0 && ci->NumAckPending == 0;
        snprintf(why, cap, "consumer %s on %s: %" PRIu64 " pending, %" PRId64 " unacknowledged", durable,
                 stream, ci->NumPending, ci->NumAckPending);
        jsConsumerInfo_Destroy(ci);
        return BYRON_OK;
    }
    if (ns != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s on %s: %s", durable, stream,
                             natsStatus_GetText(ns));
    jsDirectGetMsgOptions o;
    jsDirectGetMsgOptions_Init(&o);
    o.Sequence = 1;
    o.NextBySubject = filter;
    natsMsg *m = NULL;
    ns = js_DirectGetMsg(&m, v->js, stream, NULL, &o);
    natsMsg_Destroy(m);
    if (ns != NATS_OK && ns != NATS_NOT_FOUND)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", stream, natsStatus_GetText(ns));
    *settled = ns == NATS_NOT_FOUND;
    snprintf(why, cap, "consumer %s on %s does not exist (is the sink running?)", durable, stream);
    return BYRON_OK;
}

/* Step 2: every lane of the sink settled, or BYRON_ETIMEDOUT naming one that is not. */
static byron_status_t wait_quiet(verify_t *v, byron_err_t *err) {
    int64_t deadline = byron_clock_mono_ms() + v->s.wait_ms;
    char why[512] = "";
    for (;;) {
        int all = 1;
        for (int p = 0; all && v->own_last && p < v->comp->partitions; p++) {
            char durable[64], filter[400];
            char base[64];
            snprintf(base, sizeof base, "byron-sink-p%d", p);
            byron_generation_durable(v->gen.active_slot, base, durable, sizeof durable);
            snprintf(filter, sizeof filter, "%s.%d.*.*", v->comp->subject_prefix, p);
            if (durable_settled(v, v->comp->stream, durable, filter, &all, why, sizeof why, err) != BYRON_OK)
                return err->code;
        }
        for (size_t i = 0; all && i < v->comp->nsubscriptions; i++) {
            if (!v->sub_last[i]) continue;
            const byron_subscription_t *s = &v->comp->subscriptions[i];
            char stream[256], durable[300], base[280], filter[400];
            byron_fold_subscription_stream(s, stream, sizeof stream);
            snprintf(base, sizeof base, "byron-sub-%s-%s", v->comp->namespace_, v->comp->component);
            byron_generation_durable(v->gen.active_slot, base, durable, sizeof durable);
            snprintf(filter, sizeof filter, "byron.%s.%s.*.*.*", s->namespace_, s->component);
            if (durable_settled(v, stream, durable, filter, &all, why, sizeof why, err) != BYRON_OK)
                return err->code;
        }
        if (all) return BYRON_OK;
        if (byron_clock_mono_ms() >= deadline)
            return byron_err_set(err, BYRON_ETIMEDOUT, "the sink did not settle within %d ms: %s",
                                 v->s.wait_ms, why);
        byron_clock_sleep_ms(100);
    }
}

typedef byron_status_t (*on_msg_fn)(verify_t *v, natsMsg *m, uint64_t seq, void *ud, byron_err_t *err);

/* Every message of stream up to sequence last, in order, through an ordered
 * consumer (ephemeral, flow-controlled, no acks; the library restarts it on a
 * gap). Stops at last, or at the stream's end if last is gone. */
static byron_status_t read_stream(verify_t *v, const char *stream, const char *subject, uint64_t last,
                                  on_msg_fn fn, void *ud, byron_err_t *err) {
    if (!last) return BYRON_OK;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_SubscribeSync(&sub, v->js, subject, NULL, &so, &jerr);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s (JetStream error %d)", stream,
                             natsStatus_GetText(ns), (int)jerr);
    byron_status_t st = BYRON_OK;
    for (;;) {
        natsMsg *m = NULL;
        jsMsgMetaData *meta = NULL;
        if ((ns = natsSubscription_NextMsg(&m, sub, READ_IDLE_MS)) != NATS_OK) {
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", stream,
                               ns == NATS_TIMEOUT ? "no message for 10 s" : natsStatus_GetText(ns));
            break;
        }
        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            natsMsg_Destroy(m);
            st = byron_err_set(err, BYRON_EPROTO, "reading %s: a message without JetStream metadata", stream);
            break;
        }
        uint64_t seq = meta->Sequence.Stream, pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
        if (seq <= last) st = fn(v, m, seq, ud, err);
        natsMsg_Destroy(m);
        if (st != BYRON_OK || seq >= last || pending == 0) break;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return st;
}

static const char *header(natsMsg *m, const char *key) {
    const char *v = NULL;
    return natsMsgHeader_Get(m, key, &v) == NATS_OK ? v : NULL;
}

/* The dead letters, read by sequence (dlq.h: the sink's NATS user may, where
 * it may not create a consumer on its dead-letter stream), minus the events a
 * replay projected again: those are in the cache, as the fold must have them. */
static byron_status_t read_dead_letters(verify_t *v, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(v->js, v->comp, &dlq, err);
    for (size_t i = 0; st == BYRON_OK && i < dlq.n; i++)
        if (dlq.entries[i].state != BYRON_DLQ_REPLAYED &&
            byron_fold_dead_letter(v->fold, dlq.entries[i].info.stream, dlq.entries[i].info.sequence) !=
                BYRON_OK)
            st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
    if (st == BYRON_OK) byron_dlq_cleanup(&dlq);
    return st;
}

static byron_status_t on_event(verify_t *v, natsMsg *m, uint64_t seq, void *ud, byron_err_t *err) {
    const size_t *sub = ud;
    byron_fold_msg_t fm = {.seq = seq,
                           .subject = natsMsg_GetSubject(m),
                           .version_header = header(m, "Byron-Version"),
                           .data = natsMsg_GetData(m) ? natsMsg_GetData(m) : "",
                           .len = (size_t)natsMsg_GetDataLength(m)};
    return sub ? byron_fold_subscribed(v->fold, *sub, &fm, err) : byron_fold_own(v->fold, &fm, err);
}

/* ---- the app ---------------------------------------------------------- */

static byron_status_t call_app(void *ud, const char *path, json_object *body, json_object **answer,
                               byron_err_t *err) {
    verify_t *v = ud;
    long status = 0;
    const char *hook = strstr(path, "/before") ? "event_before" : "event";
    byron_status_t st = byron_app_post(v->app, hook, path, body, NULL, 0, answer, &status, err);
    if (st == BYRON_ENOTFOUND) {
        *answer = NULL;
        return BYRON_OK;
    }
    if (st == BYRON_OK && status == 422)
        st = byron_err_set(err, BYRON_EREJECTED, "answered 422"); /* a failure for the sink too */
    return st;
}

/* ---- the cache -------------------------------------------------------- */

/* Every document of a collection, as JSON (json_bson.h: what the api reads), to the fold. */
static byron_status_t read_collection(verify_t *v, const char *base, const byron_model_t *m,
                                      byron_err_t *err) {
    char name[200];
    byron_generation_collection(v->gen.active, base, name, sizeof name);
    mongoc_collection_t *coll = mongoc_client_get_collection(v->mongo, v->db, name);
    bson_t filter = BSON_INITIALIZER;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
    const bson_t *d;
    byron_status_t st = BYRON_OK;
    while (st == BYRON_OK && mongoc_cursor_next(cur, &d)) {
        json_object *doc = byron_json_bson_to_json(d, 256);
        if (!doc) {
            st = byron_err_set(err, BYRON_EPROTO, "a document of %s is not readable as JSON", name);
        } else if (m) {
            byron_fold_cache_doc(v->fold, m, doc);
        } else {
            byron_fold_cache_state(v->fold, doc);
        }
        json_object_put(doc);
    }
    bson_error_t be;
    if (st == BYRON_OK && mongoc_cursor_error(cur, &be))
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s.%s: %s", v->db, name, be.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    return st;
}

/* ---- the run ---------------------------------------------------------- */

static byron_status_t run(verify_t *v, byron_err_t *err) {
    byron_status_t st;
    if ((st = byron_oneshot_nats(v->comp, v->s.nats_url, v->s.nats, "verify", &v->nc, &v->js, err)) !=
            BYRON_OK ||
        (st = byron_oneshot_mongo(v->comp, v->s.mongo_uri, "verify", &v->mongo, v->db, sizeof v->db, err)) !=
            BYRON_OK ||
        (st = byron_generation_read(v->mongo, v->db, &v->gen, err)) != BYRON_OK)
        return st;
    if (v->s.app_socket && !(v->app = byron_app_new(v->s.app_socket, v->s.app_timeout_ms, NULL, err)))
        return err->code;
    /* 1. snapshot */
    if ((st = last_sequence(v, v->comp->stream, &v->own_last, err)) != BYRON_OK) return st;
    char stream[256];
    for (size_t i = 0; i < v->comp->nsubscriptions; i++) {
        byron_fold_subscription_stream(&v->comp->subscriptions[i], stream, sizeof stream);
        if ((st = last_sequence(v, stream, &v->sub_last[i], err)) != BYRON_OK) return st;
    }
    /* 2. quiet */
    if ((st = wait_quiet(v, err)) != BYRON_OK) return st;
    /* 3. read: dead letters first (settled events have theirs stored), then the events */
    char subject[400];
    if ((st = read_dead_letters(v, err)) != BYRON_OK) return st;
    snprintf(subject, sizeof subject, "%s.>", v->comp->subject_prefix);
    if ((st = read_stream(v, v->comp->stream, subject, v->own_last, on_event, NULL, err)) != BYRON_OK)
        return st;
    for (size_t i = 0; i < v->comp->nsubscriptions; i++) {
        const byron_subscription_t *s = &v->comp->subscriptions[i];
        byron_fold_subscription_stream(s, stream, sizeof stream);
        snprintf(subject, sizeof subject, "byron.%s.%s.>", s->namespace_, s->component);
        if ((st = read_stream(v, stream, subject, v->sub_last[i], on_event, &i, err)) != BYRON_OK) return st;
    }
    /* 4. compare */
    if ((st = read_collection(v, "_byron_sink", NULL, err)) != BYRON_OK) return st;
    for (size_t i = 0; i < v->comp->nmodels; i++)
        if ((st = read_collection(v, v->comp->models[i].name, &v->comp->models[i], err)) != BYRON_OK)
            return st;
    return BYRON_OK;
}

int byron_verify_main(const byron_verify_settings_t *s) {
    verify_t v = {.s = *s};
    byron_err_t err = {0};
    int rc = BYRON_VERIFY_EQUAL;
    if (byron_component_load(s->config, &v.comp, &err) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        return BYRON_VERIFY_USAGE;
    }
    byron_fold_options_t fo = {.component = v.comp, .app_ud = &v, .report = print_finding};
    if (s->app_socket) fo.app = call_app;
    v.sub_last = calloc(v.comp->nsubscriptions + 1, sizeof *v.sub_last);
    if (!v.sub_last || !(v.fold = byron_fold_new(&fo))) {
        byron_err_set(&err, BYRON_ENOMEM, "out of memory");
        rc = BYRON_VERIFY_UNREACHED;
    } else if (run(&v, &err) != BYRON_OK) {
        rc = err.code == BYRON_EINVAL ? BYRON_VERIFY_USAGE : BYRON_VERIFY_UNREACHED;
    }
    if (rc) {
        byron_log(BYRON_LOG_ERROR, "verify: no answer", "error", err.msg, (char *)NULL);
        print_summary(&v, NULL, "unknown", err.msg);
    } else {
        byron_fold_stats_t st;
        byron_fold_finish(v.fold, &st);
        rc = st.differences ? BYRON_VERIFY_DIFFERS : BYRON_VERIFY_EQUAL;
        print_summary(&v, &st, rc ? "differs" : "equal", NULL);
    }
    byron_fold_free(v.fold);
    free(v.sub_last);
    byron_app_free(v.app);
    if (v.mongo) mongoc_client_destroy(v.mongo);
    jsCtx_Destroy(v.js);
    natsConnection_Destroy(v.nc);
    byron_component_free(v.comp);
    return rc;
}
