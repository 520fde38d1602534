/* replay.c — re-projecting a stopped aggregate's events (replay.h). */
#include "replay.h"

#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache.h"
#include "envelope.h"
#include "generation.h"
#include "projection.h"
#include "sink.h"
#include "stream.h"
#include "subject.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 16
#define LOCK_STALE_S 600 /* a lock older than this was left by a replay that died */
#define NAK_MAX_MS 30000

typedef struct replay {
    const byron_replay_options_t *o;
    const byron_model_t *model;
    const char *id;
    char subject[BYRON_SUBJECT_MAX], lane[BYRON_ID_MAX + 160], lock_key[BYRON_ID_MAX + 160],
        block_key[BYRON_ID_MAX + 160];
    int partition;
    byron_projection_t *proj;
    uint64_t *in_cache; /* event sequences the cache holds after the replay (applied or skipped) */
    size_t nin, capin;
    json_object *report, *invalid;
    int64_t projected, skipped, unhandled, events, rounds;
} replay_t;

/* The sink's records of the generation replayed into; caller destroys. */
static mongoc_collection_t *state_collection(const replay_t *r) {
    char name[200];
    byron_generation_collection(r->o->generation, BYRON_CACHE_STATE_COLLECTION, name, sizeof name);
    return mongoc_client_get_collection(r->o->mongo, r->o->database, name);
}

static byron_status_t mongo_err(const bson_error_t *be, const char *what, byron_err_t *err) {
    return byron_err_set(err,
                         be->domain == MONGOC_ERROR_SERVER_SELECTION || be->domain == MONGOC_ERROR_STREAM
                             ? BYRON_EUNAVAILABLE
                             : BYRON_EIO,
                         "cache: %s: %s", what, be->message);
}

/* ---- the lock and the block ------------------------------------------- */

static byron_status_t lock_take(replay_t *r, byron_err_t *err) {
    mongoc_collection_t *coll = state_collection(r);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    byron_status_t st = BYRON_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(r->lock_key), "host", BCON_UTF8(host), "at",
                               BCON_INT64((int64_t)time(NULL)));
        bson_error_t be;
        int ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, &be);
        bson_destroy(doc);
        if (ok) break;
        if (be.code != 11000 && !strstr(be.message, "E11000") && !strstr(be.message, "duplicate")) {
            st = mongo_err(&be, "taking the replay lock", err);
            break;
        }
        /* Held: by a running replay, or left by one that died. */
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(r->lock_key));
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
        const bson_t *d;
        int64_t at = 0;
        char holder[128] = "?";
        if (mongoc_cursor_next(cur, &d)) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, d, "at")) at = bson_iter_as_int64(&it);
            if (bson_iter_init_find(&it, d, "host") && BSON_ITER_HOLDS_UTF8(&it))
                snprintf(holder, sizeof holder, "%s", bson_iter_utf8(&it, NULL));
        }
        mongoc_cursor_destroy(cur);
        int64_t age = (int64_t)time(NULL) - at;
        if (attempt || age < LOCK_STALE_S) {
            bson_destroy(filter);
            st = byron_err_set(err, BYRON_ECONFLICT,
                               "another replay of %s %s is running (in %s, since %" PRId64
                               " s); a lock older than %d s is taken over",
                               r->model->name, r->id, holder, age, LOCK_STALE_S);
            break;
        }
        byron_log(BYRON_LOG_WARN, "replay: taking over a stale lock", "aggregate", r->lock_key, "holder",
                  holder, (char *)NULL);
        mongoc_collection_delete_one(coll, filter, NULL, NULL, NULL);
        bson_destroy(filter);
    }
    mongoc_collection_destroy(coll);
    return st;
}

static void lock_release(replay_t *r) {
    mongoc_collection_t *coll = state_collection(r);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(r->lock_key));
    bson_error_t be;
    if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &be))
        byron_log(BYRON_LOG_WARN, "replay: cannot release the lock (a later replay takes it over)", "error",
                  be.message, (char *)NULL);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
}

/* The block record's stream sequence (0: not blocked). */
static byron_status_t block_read(replay_t *r, int64_t *seq, char *reason, size_t cap, byron_err_t *err) {
    *seq = 0;
    reason[0] = '\0';
    mongoc_collection_t *coll = state_collection(r);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(r->block_key));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *d;
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (mongoc_cursor_next(cur, &d)) {
        bson_iter_t it;
        *seq = bson_iter_init_find(&it, d, "sequence") ? bson_iter_as_int64(&it) : 0;
        if (*seq <= 0) *seq = 1; /* a record without its sequence still blocks */
        if (bson_iter_init_find(&it, d, "reason") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(reason, cap, "%s", bson_iter_utf8(&it, NULL));
    } else if (mongoc_cursor_error(cur, &be)) {
        st = mongo_err(&be, "reading the block record", err);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return st;
}

/* Lift the block this replay started from, and only that one. */
static byron_status_t block_lift(replay_t *r, int64_t seq, byron_err_t *err) {
    mongoc_collection_t *coll = state_collection(r);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(r->block_key), "sequence", BCON_INT64(seq));
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &be))
        st = mongo_err(&be, "lifting the block", err);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return st;
}

/* ---- the stream -------------------------------------------------------- */

/* The subject's last stream sequence (0: no event). */
static byron_status_t subject_last(replay_t *r, uint64_t *last, byron_err_t *err) {
    *last = 0;
    jsDirectGetMsgOptions o;
    jsDirectGetMsgOptions_Init(&o);
    o.LastBySubject = r->subject;
    natsMsg *m = NULL;
    natsStatus ns = js_DirectGetMsg(&m, r->o->js, r->o->component->stream, NULL, &o);
    if (ns == NATS_NOT_FOUND) return BYRON_OK;
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading the last event of %s: %s", r->subject,
                             natsStatus_GetText(ns));
    *last = natsMsg_GetSequence(m);
    natsMsg_Destroy(m);
    return BYRON_OK;
}

/* Step 2: the partition's lane has settled everything up to `last`. */
static byron_status_t wait_lane(replay_t *r, uint64_t last, byron_err_t *err) {
    char base[64], durable[80];
    snprintf(base, sizeof base, BYRON_SINK_DURABLE_FMT, r->partition);
    byron_generation_durable(r->o->slot, base, durable, sizeof durable);
    int wait_ms = r->o->wait_ms > 0 ? r->o->wait_ms : 30000;
    int64_t deadline = byron_clock_mono_ms() + wait_ms;
    for (;;) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus ns = js_GetConsumerInfo(&ci, r->o->js, r->o->component->stream, durable, NULL, &jerr);
        if (ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr)
            return byron_err_set(err, BYRON_ESTATE, "the sink's lane %s does not exist: is the sink running?",
                                 durable);
        if (ns != NATS_OK)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s: %s", durable, natsStatus_GetText(ns));
        uint64_t floor = ci->AckFloor.Stream;
        jsConsumerInfo_Destroy(ci);
        if (floor >= last) return BYRON_OK;
        if (byron_clock_mono_ms() >= deadline)
            return byron_err_set(err, BYRON_ETIMEDOUT,
                                 "the sink's lane %s has not settled %s up to sequence %" PRIu64
                                 " within %d ms (it is at %" PRIu64 "): is the sink running and caught up?",
                                 durable, r->subject, last, wait_ms, floor);
        byron_clock_sleep_ms(100);
    }
}

static int remember(replay_t *r, uint64_t seq) {
    if (r->nin == r->capin) {
        size_t nc = r->capin ? r->capin * 2 : 64;
        uint64_t *n = realloc(r->in_cache, nc * sizeof *n);
        if (!n) return -1;
        r->in_cache = n;
        r->capin = nc;
    }
    r->in_cache[r->nin++] = seq;
    return 0;
}

static int in_cache(const replay_t *r, uint64_t seq) {
    for (size_t i = 0; i < r->nin; i++)
        if (r->in_cache[i] == seq) return 1;
    return 0;
}

/* One event through the sink's path, retried as the sink retries it. */
static byron_proj_result_t project(replay_t *r, natsMsg *m, char *why, size_t cap) {
    const char *hv = NULL;
    if (natsMsgHeader_Get(m, BYRON_HDR_VERSION, &hv) != NATS_OK) hv = NULL;
    int max = r->o->max_deliver > 0 ? r->o->max_deliver : 5;
    int64_t delay = r->o->retry_ms > 0 ? r->o->retry_ms : 500;
    byron_proj_result_t res = BYRON_PROJ_RETRY;
    for (int attempt = 1; attempt <= max; attempt++) {
        /* deliveries ≥ 2: a redelivery for the app (attempt), and a journal this
         * replay left for this event when it died is finished, not decided again */
        byron_proj_msg_t pm = {.partition = r->partition,
                               .lane = r->lane,
                               .stream = r->o->component->stream,
                               .subject = r->subject,
                               .seq = natsMsg_GetSequence(m),
                               .deliveries = (uint64_t)attempt + 1,
                               .stored_ns = natsMsg_GetTime(m),
                               .header_version = hv,
                               .data = natsMsg_GetData(m) ? natsMsg_GetData(m) : "",
                               .len = (size_t)natsMsg_GetDataLength(m),
                               .dlq_replay = 1};
        byron_err_t err = {0};
        char type[130];
        res = byron_projection_apply(r->proj, r->o->mongo, &pm, type, sizeof type, &err);
        snprintf(why, cap, "%s", err.msg[0] ? err.msg : "unknown error");
        if (res != BYRON_PROJ_RETRY || attempt == max) break;
        byron_log(BYRON_LOG_WARN, "replay: event not projected, will retry", "subject", r->subject, "error",
                  why, (char *)NULL);
        byron_clock_sleep_ms(delay);
        if (delay < NAK_MAX_MS) delay = delay * 2 > NAK_MAX_MS ? NAK_MAX_MS : delay * 2;
    }
    return res;
}

/* What the lane does once an event is a dead letter (projection.h): an invalid
 * one moves its aggregate past it; a failing one stops it (its block record
 * names the event and why). */
static byron_status_t settle_dead(replay_t *r, natsMsg *m, uint64_t at, byron_proj_result_t res,
                                  const char *why, byron_err_t *err) {
    const char *hv = NULL;
    if (natsMsgHeader_Get(m, BYRON_HDR_VERSION, &hv) != NATS_OK) hv = NULL;
    byron_proj_msg_t pm = {.partition = r->partition,
                           .lane = r->lane,
                           .stream = r->o->component->stream,
                           .subject = r->subject,
                           .seq = at,
                           .deliveries = 1,
                           .header_version = hv,
                           .dlq_replay = 1};
    byron_err_t de = {0};
    if (byron_projection_dead_lettered(r->proj, r->o->mongo, &pm, res, why, &de) == BYRON_OK) return BYRON_OK;
    return byron_err_set(err, de.code ? de.code : BYRON_EIO, "%s at %" PRIu64 ": %s", r->subject, at, de.msg);
}

static json_object *outcome(uint64_t seq, const char *why) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sequence", json_object_new_uint64(seq));
    json_object_object_add(o, "error", json_object_new_string(why));
    return o;
}

/* Step 3 for the events (from, last]: *applied counts the ones this round put
 * into the cache; *failed is set with the report's "failure" when an event
 * still fails. */
static byron_status_t round_of(replay_t *r, uint64_t from, uint64_t last, int *applied, int *failed,
                               byron_err_t *err) {
    *applied = 0;
    for (uint64_t seq = from; seq <= last;) {
        jsDirectGetMsgOptions o;
        jsDirectGetMsgOptions_Init(&o);
        o.Sequence = seq;
        o.NextBySubject = r->subject;
        natsMsg *m = NULL;
        natsStatus ns = js_DirectGetMsg(&m, r->o->js, r->o->component->stream, NULL, &o);
        if (ns == NATS_NOT_FOUND) break;
        if (ns != NATS_OK)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s from %" PRIu64 ": %s", r->subject, seq,
                                 natsStatus_GetText(ns));
        uint64_t at = natsMsg_GetSequence(m);
        if (at > last) {
            natsMsg_Destroy(m);
            break;
        }
        r->events++;
        char why[BYRON_ERR_MSG_MAX];
        byron_proj_result_t res = project(r, m, why, sizeof why);
        byron_status_t st = BYRON_OK;
        switch (res) {
        case BYRON_PROJ_APPLIED:
        case BYRON_PROJ_UNHANDLED:
            (*applied)++;
            if (res == BYRON_PROJ_APPLIED)
                r->projected++;
            else
                r->unhandled++;
            if (remember(r, at)) st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
            break;
        case BYRON_PROJ_SKIPPED:
            r->skipped++;
            if (!in_cache(r, at) && remember(r, at)) st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
            break;
        case BYRON_PROJ_INVALID: /* a dead letter already (the lane settled it): it moves the aggregate past
                                    it */
            st = settle_dead(r, m, at, res, why, err);
            json_object_array_add(r->invalid, outcome(at, why));
            break;
        case BYRON_PROJ_RETRY: /* still failing: the aggregate stops at it again, as the sink stops it */
            st = settle_dead(r, m, at, res, why, err);
            json_object_object_add(r->report, "failure", outcome(at, why));
            *failed = 1;
            break;
        case BYRON_PROJ_DEFER:
            st = byron_err_set(err, BYRON_ESTATE,
                               "event %" PRIu64
                               " was written under a newer model than this sink's: upgrade the "
                               "sink first (%s)",
                               at, why);
            break;
        case BYRON_PROJ_UNAVAILABLE:
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "event %" PRIu64 ": %s", at, why);
            break;
        default:
            st = byron_err_set(err, BYRON_EIO, "event %" PRIu64 ": unexpected outcome %s: %s", at,
                               byron_proj_result_name(res), why);
        }
        natsMsg_Destroy(m);
        if (st != BYRON_OK) return st;
        if (*failed) break;
        seq = at + 1;
    }
    return BYRON_OK;
}

/* Step 5: a `replayed` record for each dead letter of the subject whose event
 * the cache now holds. The dead-letter stream is read again: the lane may
 * have written dead letters while the replay ran. */
static byron_status_t record(replay_t *r, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(r->o->js, r->o->component, &dlq, err);
    if (st != BYRON_OK) return st;
    json_object *resolved = json_object_new_array();
    json_object_object_add(r->report, "resolved", resolved);
    for (size_t i = 0; i < dlq.n && st == BYRON_OK; i++) {
        byron_dlq_entry_t *e = &dlq.entries[i];
        json_object *subj = NULL;
        if (!e->info.own || e->state == BYRON_DLQ_REPLAYED ||
            strcmp(e->info.stream, r->o->component->stream) != 0 ||
            !json_object_object_get_ex(e->body, "subject", &subj) ||
            strcmp(json_object_get_string(subj), r->subject) != 0 || !in_cache(r, e->info.sequence))
            continue;
        st = byron_dlq_resolve(r->o->js, r->o->component, e, BYRON_DLQ_REPLAYED, NULL, err);
        if (st == BYRON_OK) json_object_array_add(resolved, json_object_new_uint64(e->dlq_seq));
    }
    byron_dlq_cleanup(&dlq);
    return st;
}

/* Where to start: the first event of the subject that is a dead letter not
 * yet replayed, or the block's event; 0: nothing to replay. */
static byron_status_t first_open(replay_t *r, int64_t block_seq, uint64_t *from, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(r->o->js, r->o->component, &dlq, err);
    if (st != BYRON_OK) return st;
    *from = block_seq > 0 ? (uint64_t)block_seq : 0;
    for (size_t i = 0; i < dlq.n; i++) {
        byron_dlq_entry_t *e = &dlq.entries[i];
        json_object *subj = NULL;
        if (e->info.own && e->state != BYRON_DLQ_REPLAYED &&
            !strcmp(e->info.stream, r->o->component->stream) &&
            json_object_object_get_ex(e->body, "subject", &subj) &&
            !strcmp(json_object_get_string(subj), r->subject) && (!*from || e->info.sequence < *from))
            *from = e->info.sequence;
    }
    byron_dlq_cleanup(&dlq);
    return BYRON_OK;
}

static byron_status_t run(replay_t *r, byron_err_t *err) {
    int64_t block_seq = 0;
    char reason[512];
    uint64_t from = 0, last = 0;
    byron_status_t st = BYRON_OK;
    if ((st = block_read(r, &block_seq, reason, sizeof reason, err)) != BYRON_OK ||
        (st = first_open(r, block_seq, &from, err)) != BYRON_OK)
        return st;
    if (block_seq > 0) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "sequence", json_object_new_int64(block_seq));
        json_object_object_add(b, "reason", json_object_new_string(reason));
        json_object_object_add(r->report, "blocked", b);
    }
    if (!from) {
        json_object_object_add(r->report, "result", json_object_new_string("nothing"));
        return BYRON_OK;
    }
    int failed = 0;
    for (int round = 0; round < MAX_ROUNDS && !failed && st == BYRON_OK; round++) {
        if ((st = subject_last(r, &last, err)) != BYRON_OK || (st = wait_lane(r, last, err)) != BYRON_OK)
            break;
        r->rounds++;
        int applied = 0;
        if ((st = round_of(r, from, last, &applied, &failed, err)) != BYRON_OK) break;
        uint64_t now = 0;
        if ((st = subject_last(r, &now, err)) != BYRON_OK) break;
        /* Done when nothing came after `last`, or when what came was already
         * projected by the lane: the cache is at the subject's head. */
        if (failed || now == last || (round > 0 && !applied)) break;
        if (round == MAX_ROUNDS - 1)
            st = byron_err_set(
                err, BYRON_ETIMEDOUT,
                "%s kept receiving events faster than the replay projected them (%d rounds): run it "
                "again when fewer commands change it",
                r->subject, MAX_ROUNDS);
        from = last + 1;
    }
    /* What is in the cache is recorded whatever stopped the rounds: the fold
     * checker must see a projected event as projected. */
    byron_err_t rerr = {0};
    if (r->nin && record(r, &rerr) != BYRON_OK && st == BYRON_OK) {
        *err = rerr;
        st = rerr.code;
    }
    if (st != BYRON_OK) return st;
    if (!r->nin) json_object_object_add(r->report, "resolved", json_object_new_array());
    if (!failed && block_seq > 0 && (st = block_lift(r, block_seq, err)) != BYRON_OK) return st;
    json_object_object_add(r->report, "unblocked", json_object_new_boolean(!failed && block_seq > 0));
    json_object_object_add(r->report, "result", json_object_new_string(failed ? "failed" : "replayed"));
    return BYRON_OK;
}

byron_status_t byron_replay_aggregate(const byron_replay_options_t *o, const char *model, const char *id,
                                      json_object **report, byron_err_t *err) {
    *report = NULL;
    replay_t r = {.o = o, .id = id};
    if (!(r.model = byron_component_model(o->component, model)))
        return byron_err_set(err, BYRON_EINVAL, "%s is not a model of %s", model, o->component->component);
    if (!byron_id_is_valid(id)) return byron_err_set(err, BYRON_EINVAL, "\"%.64s\" is not a valid id", id);
    if (byron_subject_format(r.subject, sizeof r.subject, o->component, model, id) < 0)
        return byron_err_set(err, BYRON_EINVAL, "%s %s: subject too long", model, id);
    r.partition = (int)byron_partition(model, id, o->component->partitions);
    snprintf(r.lane, sizeof r.lane, "replay:%s/%s", model, id);
    snprintf(r.lock_key, sizeof r.lock_key, "replay:%s/%s", model, id);
    snprintf(r.block_key, sizeof r.block_key, BYRON_CACHE_BLOCKED_FMT, model, id);
    if (!(r.proj = byron_projection_new(o->component, o->database, o->generation, o->app, o->defer_ms, err)))
        return err->code;
    r.report = json_object_new_object();
    r.invalid = json_object_new_array();
    byron_status_t st = lock_take(&r, err);
    if (st == BYRON_OK) {
        st = run(&r, err);
        lock_release(&r);
    }
    json_object_object_add(r.report, "model", json_object_new_string(model));
    json_object_object_add(r.report, "id", json_object_new_string(id));
    json_object_object_add(r.report, "subject", json_object_new_string(r.subject));
    json_object_object_add(r.report, "events", json_object_new_int64(r.events));
    json_object_object_add(r.report, "rounds", json_object_new_int64(r.rounds));
    json_object_object_add(r.report, "projected", json_object_new_int64(r.projected));
    json_object_object_add(r.report, "unhandled", json_object_new_int64(r.unhandled));
    json_object_object_add(r.report, "skipped", json_object_new_int64(r.skipped));
    json_object_object_add(r.report, "invalid", r.invalid);
    byron_projection_free(r.proj);
    free(r.in_cache);
    if (st != BYRON_OK) {
        json_object_put(r.report);
        return st;
    }
    *report = r.report;
    return BYRON_OK;
}
