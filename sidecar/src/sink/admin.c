/* admin.c — see admin.h. Each command reads or changes the component through
 * the same modules the sink uses: dlq.c for dead letters, replay.c (and so
 * projection.c) for replays, the sink's durables for lanes. */
#include "admin.h"

#include "app.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache.h"
#include "dlq.h"
#include "envelope.h"
#include "generation.h"
#include "oneshot.h"
#include "replay.h"
#include "sink.h"
#include "subject.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 1024
#define BLOCKED_SHOWN 100 /* blocked aggregates listed by status (all are counted) */

typedef struct admin {
    byron_admin_settings_t s;
    byron_component_t *comp;
    natsConnection *nc;
    jsCtx *js;
    mongoc_client_t *mongo;
    char db[160];
    byron_generation_pointer_t gen; /* the live generation (generation.h) */
    byron_app_t *app;
} admin_t;

/* Collection `base` of the live generation; caller destroys. */
static mongoc_collection_t *live_collection(admin_t *a, const char *base) {
    char name[200];
    byron_generation_collection(a->gen.active, base, name, sizeof name);
    return mongoc_client_get_collection(a->mongo, a->db, name);
}

/* ---- connections ------------------------------------------------------ */

static void print_json(json_object *o) {
    printf("%s\n",
           json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

static void time_of(int64_t ns, char *buf, size_t cap) {
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", base, (int)((ns / 1000000) % 1000));
}

/* ---- status ----------------------------------------------------------- */

static json_object *lane_json(admin_t *a, const char *stream, const char *durable, const char *kind) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "consumer", json_object_new_string(durable));
    json_object_object_add(o, "stream", json_object_new_string(stream));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, a->js, stream, durable, NULL, &jerr);
    if (ns == NATS_OK) {
        json_object_object_add(o, "pending", json_object_new_uint64(ci->NumPending));
        json_object_object_add(o, "ackPending", json_object_new_int64(ci->NumAckPending));
        json_object_object_add(o, "redelivered", json_object_new_int64(ci->NumRedelivered));
        json_object_object_add(o, "delivered", json_object_new_uint64(ci->Delivered.Stream));
        json_object_object_add(o, "ackFloor", json_object_new_uint64(ci->AckFloor.Stream));
        jsConsumerInfo_Destroy(ci);
    } else {
        const char *why = jerr == JSStreamNotFoundErr ? "no such stream (its component is not deployed)"
                          : ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr
                              ? "no such consumer (the sink has not bound this lane)"
                          : nats_GetLastError(NULL) ? nats_GetLastError(NULL)
                                                    : natsStatus_GetText(ns);
        json_object_object_add(o, "error", json_object_new_string(why));
    }
    return o;
}

/* The stream's state into out.stream; EUNAVAILABLE when JetStream does not answer. */
static byron_status_t status_stream(admin_t *a, json_object *out, byron_err_t *err) {
    json_object *stream = json_object_new_object();
    json_object_object_add(out, "stream", stream);
    json_object_object_add(stream, "name", json_object_new_string(a->comp->stream));
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, a->js, a->comp->stream, NULL, &jerr);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "stream %s: %s (JetStream error %d)", a->comp->stream,
                             natsStatus_GetText(ns), (int)jerr);
    json_object_object_add(stream, "messages", json_object_new_uint64(si->State.Msgs));
    json_object_object_add(stream, "bytes", json_object_new_uint64(si->State.Bytes));
    json_object_object_add(stream, "firstSequence", json_object_new_uint64(si->State.FirstSeq));
    json_object_object_add(stream, "lastSequence", json_object_new_uint64(si->State.LastSeq));
    json_object_object_add(stream, "replicas", json_object_new_int64(si->Config ? si->Config->Replicas : 0));
    json_object_object_add(stream, "maxBytes", json_object_new_int64(si->Config ? si->Config->MaxBytes : -1));
    jsStreamInfo_Destroy(si);
    return BYRON_OK;
}

/* The live generation's lanes (partitions, then subscriptions) into out.lanes, their pending sum into
 * out.lag. */
static void status_lanes(admin_t *a, json_object *out) {
    json_object *lanes = json_object_new_array();
    json_object_object_add(out, "lanes", lanes);
    uint64_t lag = 0;
    for (int p = 0; p < a->comp->partitions; p++) {
        char base[64], durable[80];
        snprintf(base, sizeof base, BYRON_SINK_DURABLE_FMT, p);
        byron_generation_durable(a->gen.active_slot, base, durable, sizeof durable);
        json_object *l = lane_json(a, a->comp->stream, durable, "partition");
        json_object_object_add(l, "partition", json_object_new_int(p));
        lag += json_object_get_uint64(json_object_object_get(l, "pending"));
        json_object_array_add(lanes, l);
    }
    for (size_t i = 0; i < a->comp->nsubscriptions; i++) {
        const byron_subscription_t *sd = &a->comp->subscriptions[i];
        char other[256], base[280], durable[300];
        snprintf(other, sizeof other, "BYRON_%s_%s", sd->namespace_, sd->component);
        for (char *q = other; *q; q++)
            if (*q == '-') *q = '_';
        byron_sink_subscription_durable(a->comp, base, sizeof base);
        byron_generation_durable(a->gen.active_slot, base, durable, sizeof durable);
        json_object *l = lane_json(a, other, durable, "subscription");
        lag += json_object_get_uint64(json_object_object_get(l, "pending"));
        json_object_array_add(lanes, l);
    }
    json_object_object_add(out, "lag", json_object_new_uint64(lag));
}

/* The dead letters by state into out.deadLetters. */
static byron_status_t status_dead_letters(admin_t *a, json_object *out, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &dlq, err);
    if (st != BYRON_OK) return st;
    uint64_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < dlq.n; i++) counts[dlq.entries[i].state]++;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "total", json_object_new_uint64(dlq.n));
    json_object_object_add(d, "open", json_object_new_uint64(counts[BYRON_DLQ_OPEN]));
    json_object_object_add(d, "replayed", json_object_new_uint64(counts[BYRON_DLQ_REPLAYED]));
    json_object_object_add(d, "dropped", json_object_new_uint64(counts[BYRON_DLQ_DROPPED]));
    json_object_object_add(out, "deadLetters", d);
    byron_dlq_cleanup(&dlq);
    return BYRON_OK;
}

/* Each model's document count into docs. */
static byron_status_t status_documents(admin_t *a, json_object *docs, byron_err_t *err) {
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i < a->comp->nmodels && st == BYRON_OK; i++) {
        mongoc_collection_t *coll = live_collection(a, a->comp->models[i].name);
        int64_t n = mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, &be);
        mongoc_collection_destroy(coll);
        if (n < 0 && be.code != 26) /* 26: no such collection yet */
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "counting %s: %s", a->comp->models[i].name,
                               be.message);
        json_object_object_add(docs, a->comp->models[i].name, json_object_new_int64(n < 0 ? 0 : n));
    }
    return st;
}

/* The blocked aggregates (the first BLOCKED_SHOWN) into blocked, all counted into cache.blockedAggregates. */
static byron_status_t status_blocked(admin_t *a, json_object *cache, json_object *blocked, byron_err_t *err) {
    bson_error_t be;
    byron_status_t st = BYRON_OK;
    mongoc_collection_t *coll = live_collection(a, BYRON_CACHE_STATE_COLLECTION);
    bson_t *filter = BCON_NEW("_id", "{", "$regex", BCON_UTF8("^blocked:"), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *doc;
    int64_t nblocked = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        if (nblocked++ >= BLOCKED_SHOWN) continue;
        bson_iter_t it;
        json_object *b = json_object_new_object();
        if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
            json_object_object_add(b, "aggregate", json_object_new_string(bson_iter_utf8(&it, NULL) + 8));
        if (bson_iter_init_find(&it, doc, "version"))
            json_object_object_add(b, "version", json_object_new_int64(bson_iter_as_int64(&it)));
        if (bson_iter_init_find(&it, doc, "sequence"))
            json_object_object_add(b, "sequence", json_object_new_int64(bson_iter_as_int64(&it)));
        if (bson_iter_init_find(&it, doc, "reason") && BSON_ITER_HOLDS_UTF8(&it))
            json_object_object_add(b, "reason", json_object_new_string(bson_iter_utf8(&it, NULL)));
        json_object_array_add(blocked, b);
    }
    if (mongoc_cursor_error(cur, &be))
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", BYRON_CACHE_STATE_COLLECTION,
                           be.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    json_object_object_add(cache, "blockedAggregates", json_object_new_int64(nblocked));
    return st;
}

/* The cache (its generation, a rebuild under way, documents, blocked aggregates) into out.cache. */
static byron_status_t status_cache(admin_t *a, json_object *out, byron_err_t *err) {
    json_object *cache = json_object_new_object(), *docs = json_object_new_object(),
                *blocked = json_object_new_array();
    json_object_object_add(cache, "database", json_object_new_string(a->db));
    json_object_object_add(cache, "generation", json_object_new_int64(a->gen.active));
    if (a->gen.building) { /* a rebuild under way (docs/sink.md, "Rebuild") */
        json_object *rb = json_object_new_object();
        json_object_object_add(rb, "generation", json_object_new_int64(a->gen.building));
        json_object_object_add(rb, "projected", json_object_new_int64(a->gen.projected));
        json_object_object_add(rb, "total", json_object_new_int64(a->gen.total));
        json_object_object_add(cache, "rebuild", rb);
    }
    json_object_object_add(cache, "documents", docs);
    json_object_object_add(out, "cache", cache);
    byron_status_t st = status_documents(a, docs, err);
    if (st == BYRON_OK) st = status_blocked(a, cache, blocked, err);
    json_object_object_add(cache, "blocked", blocked);
    return st;
}

static byron_status_t cmd_status(admin_t *a, byron_err_t *err) {
    json_object *out = json_object_new_object();
    json_object_object_add(out, "component", json_object_new_string(a->comp->component));
    json_object_object_add(out, "namespace", json_object_new_string(a->comp->namespace_));
    json_object_object_add(out, "partitions", json_object_new_int(a->comp->partitions));
    json_object_object_add(out, "schemaGeneration", json_object_new_int64(a->comp->schema_generation));
    byron_status_t st = status_stream(a, out, err);
    if (st == BYRON_OK) {
        status_lanes(a, out);
        st = status_dead_letters(a, out, err);
    }
    if (st == BYRON_OK) st = status_cache(a, out, err);
    if (st == BYRON_OK) print_json(out);
    json_object_put(out);
    return st;
}

/* ---- events ----------------------------------------------------------- */

/* With --follow, the caller going away ends the command: kubectl exec (and
 * kubectl byron's local runner) hold our stdin open and close it when they
 * stop. A stdin that is not a pipe or socket (/dev/null) says nothing. */
static int caller_gone(void) {
    struct stat sb;
    if (fstat(0, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) return 0;
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0) return 0;
    if (pfd.revents & (POLLHUP | POLLERR)) return 1;
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    return n == 0;
}

/* The subject filter of --model and --id. */
static byron_status_t events_filter(admin_t *a, char *filter, size_t cap, byron_err_t *err) {
    if (a->s.model && !byron_component_model(a->comp, a->s.model))
        return byron_err_set(err, BYRON_EINVAL, "--model: %s is not a model of %s", a->s.model,
                             a->comp->component);
    if (a->s.id) {
        if (!byron_id_is_valid(a->s.id))
            return byron_err_set(err, BYRON_EINVAL, "--id: \"%.64s\" is not a valid id", a->s.id);
        if (byron_subject_format(filter, cap, a->comp, a->s.model, a->s.id) < 0)
            return byron_err_set(err, BYRON_EINVAL, "--id: too long");
    } else {
        /* aggregate subjects only: not the unique-value claims */
        snprintf(filter, cap, "%s.*.%s.*", a->comp->subject_prefix, a->s.model ? a->s.model : "*");
    }
    return BYRON_OK;
}

/* One event as a JSON line; its pending count (what follows it in the stream) into *pending. */
static void print_event(natsMsg *m, uint64_t *pending) {
    jsMsgMetaData *meta = NULL;
    json_object *o = json_object_new_object(), *ev = NULL;
    *pending = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        char ts[48];
        time_of(meta->Timestamp, ts, sizeof ts);
        json_object_object_add(o, "sequence", json_object_new_uint64(meta->Sequence.Stream));
        json_object_object_add(o, "time", json_object_new_string(ts));
        *pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
    }
    json_object_object_add(o, "subject", json_object_new_string(natsMsg_GetSubject(m)));
    byron_err_t pe = {0};
    const char *data = natsMsg_GetData(m) ? natsMsg_GetData(m) : "";
    if (byron_json_parse(data, (size_t)natsMsg_GetDataLength(m), 128, &ev, &pe) == BYRON_OK)
        json_object_object_add(o, "event", ev);
    else
        json_object_object_add(o, "raw", json_object_new_string_len(data, natsMsg_GetDataLength(m)));
    print_json(o);
    json_object_put(o);
}

static byron_status_t cmd_events(admin_t *a, byron_err_t *err) {
    char filter[BYRON_SUBJECT_MAX];
    byron_status_t st = events_filter(a, filter, sizeof filter, err);
    if (st != BYRON_OK) return st;
    uint64_t from = a->s.from ? a->s.from : 1;
    if (!a->s.follow) { /* nothing to show: say so at once instead of waiting for a message */
        jsDirectGetMsgOptions o;
        jsDirectGetMsgOptions_Init(&o);
        o.Sequence = from;
        o.NextBySubject = filter;
        natsMsg *m = NULL;
        natsStatus ns = js_DirectGetMsg(&m, a->js, a->comp->stream, NULL, &o);
        natsMsg_Destroy(m);
        if (ns == NATS_NOT_FOUND) return BYRON_OK;
        if (ns != NATS_OK)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", a->comp->stream,
                                 natsStatus_GetText(ns));
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = a->comp->stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = from;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_SubscribeSync(&sub, a->js, filter, NULL, &so, &jerr);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s (JetStream error %d)", a->comp->stream,
                             natsStatus_GetText(ns), (int)jerr);
    int64_t shown = 0, idle_ms = 0;
    while (a->s.limit < 0 || shown < a->s.limit) {
        natsMsg *m = NULL;
        ns = natsSubscription_NextMsg(&m, sub, 500);
        if (ns == NATS_TIMEOUT) {
            if (a->s.follow ? caller_gone() : (idle_ms += 500) >= 10000) {
                if (!a->s.follow)
                    st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: no message for 10 s",
                                       a->comp->stream);
                break;
            }
            continue;
        }
        if (ns != NATS_OK) {
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", a->comp->stream,
                               natsStatus_GetText(ns));
            break;
        }
        idle_ms = 0;
        uint64_t pending = 0;
        print_event(m, &pending);
        natsMsg_Destroy(m);
        shown++;
        if (!a->s.follow && pending == 0) break;
        if (a->s.follow && caller_gone()) break;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return st;
}

/* ---- dead letters ----------------------------------------------------- */

/* The aggregate an own dead letter's NATS subject names (model, id). */
static int aggregate_of(admin_t *a, const byron_dlq_entry_t *e, const byron_model_t **model, char *id,
                        size_t cap) {
    json_object *subj = NULL;
    if (!e->info.own || !json_object_object_get_ex(e->body, "subject", &subj)) return 0;
    const char *s = json_object_get_string(subj);
    size_t pl = strlen(a->comp->subject_prefix);
    if (!s || strncmp(s, a->comp->subject_prefix, pl) != 0 || s[pl] != '.') return 0;
    char buf[BYRON_SUBJECT_MAX];
    snprintf(buf, sizeof buf, "%s", s + pl + 1);
    char *save = NULL, *part = strtok_r(buf, ".", &save), *mn = strtok_r(NULL, ".", &save),
         *ident = strtok_r(NULL, ".", &save);
    if (!part || !mn || !ident || strtok_r(NULL, ".", &save) ||
        !(*model = byron_component_model(a->comp, mn)) || !byron_id_is_valid(ident))
        return 0;
    snprintf(id, cap, "%s", ident);
    return 1;
}

/* Whether the aggregate has a block record (the sink stopped it). */
static byron_status_t is_blocked(admin_t *a, const char *model, const char *id, int *blocked,
                                 byron_err_t *err) {
    char key[BYRON_ID_MAX + 160];
    snprintf(key, sizeof key, BYRON_CACHE_BLOCKED_FMT, model, id);
    mongoc_collection_t *coll = live_collection(a, BYRON_CACHE_STATE_COLLECTION);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    bson_error_t be;
    int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &be);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    if (n < 0)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s: %s", BYRON_CACHE_STATE_COLLECTION,
                             be.message);
    *blocked = n > 0;
    return BYRON_OK;
}

static byron_status_t cmd_dlq_list(admin_t *a, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &dlq, err);
    if (st != BYRON_OK) return st;
    json_object *out = json_object_new_object(), *items = json_object_new_array();
    uint64_t open = 0;
    for (size_t i = 0; i < dlq.n && st == BYRON_OK; i++) {
        byron_dlq_entry_t *e = &dlq.entries[i];
        if (e->state == BYRON_DLQ_OPEN) open++;
        if (!a->s.all && e->state != BYRON_DLQ_OPEN) continue;
        json_object *o = byron_dlq_entry_json(e, 0);
        const byron_model_t *m;
        char id[BYRON_ID_MAX + 1];
        int blocked = 0;
        if (e->state == BYRON_DLQ_OPEN && aggregate_of(a, e, &m, id, sizeof id) &&
            (st = is_blocked(a, m->name, id, &blocked, err)) == BYRON_OK)
            json_object_object_add(o, "blocking", json_object_new_boolean(blocked));
        json_object_array_add(items, o);
    }
    json_object_object_add(out, "open", json_object_new_uint64(open));
    json_object_object_add(out, "total", json_object_new_uint64(dlq.n));
    json_object_object_add(out, "items", items);
    if (st == BYRON_OK) print_json(out);
    json_object_put(out);
    byron_dlq_cleanup(&dlq);
    return st;
}

/* The dead letters the words name (DLQ sequences); *missing: the first that names none. */
static byron_status_t pick(admin_t *a, byron_dlq_t *dlq, int first_word, byron_dlq_entry_t ***out, size_t *n,
                           byron_err_t *err) {
    *out = NULL;
    *n = 0;
    if (a->s.all) {
        if (a->s.nwords > first_word)
            return byron_err_set(err, BYRON_EINVAL, "--all or dead letters, not both");
        *out = calloc(dlq->n + 1, sizeof **out);
        if (!*out) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        for (size_t i = 0; i < dlq->n; i++)
            if (dlq->entries[i].state == BYRON_DLQ_OPEN) (*out)[(*n)++] = &dlq->entries[i];
        return BYRON_OK;
    }
    if (a->s.nwords <= first_word)
        return byron_err_set(err, BYRON_EINVAL, "name the dead letters (their SEQ) or --all");
    *out = calloc((size_t)a->s.nwords, sizeof **out);
    if (!*out) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (int w = first_word; w < a->s.nwords; w++) {
        char *end;
        errno = 0;
        unsigned long long seq = strtoull(a->s.words[w], &end, 10);
        byron_dlq_entry_t *e = NULL;
        if (errno || *end || end == a->s.words[w] || !(e = byron_dlq_find(dlq, seq))) {
            free(*out);
            *out = NULL;
            return byron_err_set(err, BYRON_ENOTFOUND, "no dead letter %s in %s_DLQ", a->s.words[w],
                                 a->comp->stream);
        }
        (*out)[(*n)++] = e;
    }
    return BYRON_OK;
}

static byron_status_t cmd_dlq_show(admin_t *a, byron_err_t *err) {
    if (a->s.nwords != 3) return byron_err_set(err, BYRON_EINVAL, "dlq show takes one dead letter (its SEQ)");
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &dlq, err);
    if (st != BYRON_OK) return st;
    byron_dlq_entry_t **picked = NULL;
    size_t n = 0;
    if ((st = pick(a, &dlq, 2, &picked, &n, err)) == BYRON_OK) {
        json_object *o = byron_dlq_entry_json(picked[0], 1);
        print_json(o);
        json_object_put(o);
    }
    free(picked);
    byron_dlq_cleanup(&dlq);
    return st;
}

static byron_status_t cmd_dlq_drop(admin_t *a, int *failed, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &dlq, err);
    if (st != BYRON_OK) return st;
    byron_dlq_entry_t **picked = NULL;
    size_t n = 0;
    json_object *out = json_object_new_object(), *items = json_object_new_array();
    json_object_object_add(out, "items", items);
    if ((st = pick(a, &dlq, 2, &picked, &n, err)) == BYRON_OK) {
        for (size_t i = 0; i < n && st == BYRON_OK; i++) {
            byron_dlq_entry_t *e = picked[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "deadLetter", json_object_new_uint64(e->dlq_seq));
            json_object_array_add(items, o);
            const byron_model_t *m;
            char id[BYRON_ID_MAX + 1];
            int blocked = 0;
            if (e->state != BYRON_DLQ_OPEN) {
                json_object_object_add(o, "state", json_object_new_string(byron_dlq_state_name(e->state)));
                continue;
            }
            if (aggregate_of(a, e, &m, id, sizeof id) &&
                (st = is_blocked(a, m->name, id, &blocked, err)) != BYRON_OK)
                break;
            if (blocked) { /* dropping would leave its aggregate stopped for good */
                char why[300];
                snprintf(
                    why, sizeof why,
                    "%s %s is stopped by a dead letter: replay it once the app is fixed (a before hook may "
                    "skip the event)",
                    m->name, id);
                json_object_object_add(o, "state", json_object_new_string("open"));
                json_object_object_add(o, "refused", json_object_new_string(why));
                *failed = 1;
                continue;
            }
            if ((st = byron_dlq_resolve(a->js, a->comp, e, BYRON_DLQ_DROPPED, a->s.note, err)) == BYRON_OK)
                json_object_object_add(o, "state", json_object_new_string("dropped"));
        }
    }
    if (st == BYRON_OK) print_json(out);
    json_object_put(out);
    free(picked);
    byron_dlq_cleanup(&dlq);
    return st;
}

/* What became of each dead letter named, read back from the stream, into items. */
static byron_status_t replay_outcomes(admin_t *a, byron_dlq_entry_t **picked, size_t n, json_object *items,
                                      int *failed, byron_err_t *err) {
    byron_dlq_t after;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &after, err);
    if (st != BYRON_OK) return st;
    for (size_t i = 0; i < n; i++) {
        byron_dlq_entry_t *e = byron_dlq_find(&after, picked[i]->dlq_seq);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "deadLetter", json_object_new_uint64(picked[i]->dlq_seq));
        byron_dlq_state_t state = e ? e->state : picked[i]->state;
        json_object_object_add(o, "state", json_object_new_string(byron_dlq_state_name(state)));
        const byron_model_t *m;
        char id[BYRON_ID_MAX + 1];
        if (!picked[i]->info.own)
            json_object_object_add(
                o, "refused",
                json_object_new_string(
                    "a subscribed event's dead letter is not replayed: its handler wrote other "
                    "objects at its place in another stream's order (docs/sink.md); drop it "
                    "and repair by hand"));
        else if (!aggregate_of(a, picked[i], &m, id, sizeof id))
            json_object_object_add(
                o, "refused",
                json_object_new_string("its subject names no aggregate of this component: it can never "
                                       "be projected; drop it"));
        if (state != BYRON_DLQ_REPLAYED) *failed = 1;
        json_object_array_add(items, o);
    }
    byron_dlq_cleanup(&after);
    return BYRON_OK;
}

static byron_status_t cmd_dlq_replay(admin_t *a, int *failed, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(a->js, a->comp, &dlq, err);
    if (st != BYRON_OK) return st;
    byron_dlq_entry_t **picked = NULL;
    size_t n = 0;
    if ((st = pick(a, &dlq, 2, &picked, &n, err)) != BYRON_OK) {
        byron_dlq_cleanup(&dlq);
        return st;
    }
    byron_replay_options_t ro = {.component = a->comp,
                                 .js = a->js,
                                 .mongo = a->mongo,
                                 .database = a->db,
                                 .generation = a->gen.active,
                                 .slot = a->gen.active_slot,
                                 .app = a->app,
                                 .wait_ms = a->s.wait_ms,
                                 .max_deliver = a->s.sink->max_deliver,
                                 .retry_ms = a->s.sink->retry_ms,
                                 .defer_ms = a->s.sink->defer_ms};
    json_object *out = json_object_new_object(), *replays = json_object_new_array(),
                *items = json_object_new_array();
    json_object_object_add(out, "replays", replays);
    json_object_object_add(out, "items", items);
    /* One replay per aggregate, in the order its first dead letter was named. */
    char done[256][BYRON_ID_MAX + 160];
    size_t ndone = 0;
    for (size_t i = 0; i < n && st == BYRON_OK; i++) {
        byron_dlq_entry_t *e = picked[i];
        const byron_model_t *m;
        char id[BYRON_ID_MAX + 1], key[BYRON_ID_MAX + 160];
        if (e->state == BYRON_DLQ_REPLAYED) continue;
        if (!e->info.own || !aggregate_of(a, e, &m, id, sizeof id)) continue; /* reported below */
        snprintf(key, sizeof key, "%s/%s", m->name, id);
        int seen = 0;
        for (size_t k = 0; k < ndone && !seen; k++) seen = !strcmp(done[k], key);
        if (seen) continue;
        if (ndone == sizeof done / sizeof done[0]) {
            st = byron_err_set(err, BYRON_ELIMIT, "at most %zu aggregates per replay: run it again", ndone);
            break;
        }
        snprintf(done[ndone++], sizeof done[0], "%s", key);
        json_object *report = NULL;
        st = byron_replay_aggregate(&ro, m->name, id, &report, err);
        if (st == BYRON_OK) json_object_array_add(replays, report);
    }
    if (st == BYRON_OK) st = replay_outcomes(a, picked, n, items, failed, err);
    if (st == BYRON_OK) print_json(out);
    json_object_put(out);
    free(picked);
    byron_dlq_cleanup(&dlq);
    return st;
}

/* ---- the run ---------------------------------------------------------- */

static byron_status_t run(admin_t *a, int *failed, byron_err_t *err) {
    const char *cmd = a->s.words[0], *sub = a->s.nwords > 1 ? a->s.words[1] : "";
    int is_dlq = !strcmp(cmd, "dlq");
    if (strcmp(cmd, "status") != 0 && strcmp(cmd, "events") != 0 && !is_dlq)
        return byron_err_set(err, BYRON_EINVAL, "unknown command \"%s\" (status, events, dlq)", cmd);
    if (is_dlq && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "replay") != 0 &&
        strcmp(sub, "drop") != 0)
        return byron_err_set(err, BYRON_EINVAL, "dlq: unknown command \"%s\" (list, show, replay, drop)",
                             sub);
    if (!is_dlq && a->s.nwords > 1)
        return byron_err_set(err, BYRON_EINVAL, "%s: unexpected argument \"%s\"", cmd, sub);
    if (is_dlq && !strcmp(sub, "list") && a->s.nwords > 2)
        return byron_err_set(err, BYRON_EINVAL, "dlq list: unexpected argument \"%s\"", a->s.words[2]);
    byron_status_t st;
    if ((st = byron_oneshot_nats(a->comp, a->s.nats_url, a->s.nats, "admin", &a->nc, &a->js, err)) !=
            BYRON_OK ||
        (st = byron_oneshot_mongo(a->comp, a->s.mongo_uri, "admin", &a->mongo, a->db, sizeof a->db, err)) !=
            BYRON_OK ||
        (st = byron_generation_read(a->mongo, a->db, &a->gen, err)) != BYRON_OK)
        return st;
    if (!strcmp(cmd, "status")) return cmd_status(a, err);
    if (!strcmp(cmd, "events")) return cmd_events(a, err);
    if (!strcmp(sub, "list")) return cmd_dlq_list(a, err);
    if (!strcmp(sub, "show")) return cmd_dlq_show(a, err);
    if (!strcmp(sub, "drop")) return cmd_dlq_drop(a, failed, err);
    if (a->s.app_socket && !(a->app = byron_app_new(a->s.app_socket, a->s.app_timeout_ms, NULL, err)))
        return err->code;
    return cmd_dlq_replay(a, failed, err);
}

int byron_admin_main(const byron_admin_settings_t *s) {
    signal(SIGPIPE, SIG_IGN); /* a reader that went away: the next write fails, the command ends */
    admin_t a = {.s = *s};
    byron_err_t err = {0};
    int failed = 0, rc = BYRON_ADMIN_OK;
    if (byron_component_load(s->config, &a.comp, &err) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        return BYRON_ADMIN_USAGE;
    }
    if (run(&a, &failed, &err) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        rc = err.code == BYRON_EINVAL                                        ? BYRON_ADMIN_USAGE
             : err.code == BYRON_EUNAVAILABLE || err.code == BYRON_ETIMEDOUT ? BYRON_ADMIN_UNREACHED
                                                                             : BYRON_ADMIN_FAILED;
    } else if (failed) {
        rc = BYRON_ADMIN_FAILED;
    }
    byron_app_free(a.app);
    if (a.mongo) mongoc_client_destroy(a.mongo);
    jsCtx_Destroy(a.js);
    natsConnection_Destroy(a.nc);
    byron_component_free(a.comp);
    return rc;
}
