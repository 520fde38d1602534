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

#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "nats_options.h"
#include "projector.h"

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

typedef struct lane {
    lane_kind_t kind;
    int partition;                      /* LANE_OWN */
    const byron_subscription_t *subdef; /* LANE_SUB */
    char stream[160], durable[160], filter[320];
    natsSubscription *sub;
    uint64_t checkpoint; /* LANE_SUB: last stream sequence applied (loaded at bind) */
    int64_t next_setup_ms, setup_delay_ms, next_info_ms;
    pthread_mutex_t lock; /* ok/err: read by readiness */
    int ok;
    char err[256];
} lane_t;

typedef struct outcome_metrics {
    byron_metric_t *events, *latency, *age, *pending;
} outcome_metrics_t;

struct byron_sink {
    byron_sink_options_t o;
    const byron_component_t *comp;
    natsConnection *nc;
    jsCtx *js;
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    lane_t *lanes;
    size_t nlanes;
    pthread_t *threads;
    int nthreads;
    atomic_int stop;
    atomic_int indexes_done, dlq_done;
    pthread_mutex_t index_lock; /* one lane creates the indexes, the others wait for it */
    char dlq_stream[192], dlq_prefix[192];
    outcome_metrics_t m;
};

typedef enum { R_PROJECTED, R_SKIPPED, R_UNHANDLED, R_FILTERED, R_RETRY, R_POISON, R_UNAVAILABLE } result_t;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
        env_int("BYRON_SINK_ACK_WAIT_MS", 100, 3600000, &o->ack_wait_ms, err))
        return BYRON_EINVAL;
    return BYRON_OK;
}

/* ---- MongoDB ----------------------------------------------------------- */

static result_t mongo_fail(const bson_error_t *be, const char *what, byron_err_t *err) {
    if (be->domain == MONGOC_ERROR_SERVER_SELECTION || be->domain == MONGOC_ERROR_STREAM) {
        byron_err_set(err, BYRON_EUNAVAILABLE, "cache unavailable (%s): %s", what, be->message);
        return R_UNAVAILABLE;
    }
    byron_err_set(err, BYRON_EIO, "cache %s failed: %s", what, be->message);
    return R_RETRY;
}

static bson_t *json_to_bson(json_object *o, byron_err_t *err) {
    bson_error_t be;
    bson_t *b = bson_new_from_json((const uint8_t *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                                   -1, &be);
    if (!b) byron_err_set(err, BYRON_EINVAL, "cannot convert to BSON: %s", be.message);
    return b;
}

/* The cached document as JSON (`_id` → `id`) and its version (0: none). */
static result_t read_doc(mongoc_collection_t *coll, const char *id, json_object **doc, int64_t *version,
                         byron_err_t *err) {
    *doc = NULL;
    *version = 0;
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *d;
    bson_error_t be;
    result_t r = R_PROJECTED;
    if (mongoc_cursor_next(cur, &d)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, d, "version") && BSON_ITER_HOLDS_NUMBER(&it))
            *version = bson_iter_as_int64(&it);
        size_t len = 0;
        char *s = bson_as_relaxed_extended_json(d, &len);
        byron_err_t e;
        if (s && byron_json_parse(s, len, 0, doc, &e) == BYRON_OK &&
            json_object_is_type(*doc, json_type_object)) {
            json_object *idv;
            if (json_object_object_get_ex(*doc, "_id", &idv)) {
                json_object_object_add(*doc, "id", json_object_get(idv));
                json_object_object_del(*doc, "_id");
            }
        }
        bson_free(s);
    } else if (mongoc_cursor_error(cur, &be)) {
        r = mongo_fail(&be, "read", err);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    return r;
}

static int is_dup_key(const bson_error_t *be) { return be->code == 11000 || strstr(be->message, "E11000"); }

/* An explicit change from a handler ("changes"): unconditional, idempotent
 * (absolute set/unset, delete); a missing object is created with version 0. */
static result_t apply_change(mongoc_client_t *cl, const char *db, const byron_change_t *ch,
                             byron_err_t *err) {
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, ch->model->name);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", ch->id);
    bson_error_t be;
    bool ok;
    result_t r = R_PROJECTED;
    if (ch->del) {
        ok = mongoc_collection_delete_one(coll, &filter, NULL, NULL, &be);
    } else {
        json_object *u = json_object_new_object(), *unset = json_object_new_object(),
                    *soi = json_object_new_object();
        json_object_object_add(soi, "version", json_object_new_int(0));
        json_object_object_add(u, "$setOnInsert", soi);
        if (ch->set && json_object_object_length(ch->set))
            json_object_object_add(u, "$set", json_object_get(ch->set));
        for (size_t i = 0; ch->unset && i < json_object_array_length(ch->unset); i++)
            json_object_object_add(unset, json_object_get_string(json_object_array_get_idx(ch->unset, i)),
                                   json_object_new_string(""));
        if (json_object_object_length(unset))
            json_object_object_add(u, "$unset", unset);
        else
            json_object_put(unset);
        bson_t *ub = json_to_bson(u, err);
        json_object_put(u);
        if (!ub) {
            r = R_POISON;
            goto out;
        }
        bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
        ok = mongoc_collection_update_one(coll, &filter, ub, opts, NULL, &be);
        bson_destroy(opts);
        bson_destroy(ub);
    }
    if (!ok) r = mongo_fail(&be, "write", err);
out:
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    return r;
}

/* ---- the app ----------------------------------------------------------- */

/* POST /v1/events/<type>[/hook]. R_PROJECTED with *resp (NULL: not implemented, 404). */
static result_t app_call(byron_sink_t *s, const char *type, const char *hook, json_object *body,
                         const char *tp, json_object **resp, byron_err_t *err) {
    *resp = NULL;
    char path[256];
    snprintf(path, sizeof path, "/v1/events/%s%s%s", type, hook ? "/" : "", hook ? hook : "");
    char label[32];
    snprintf(label, sizeof label, "event%s%s", hook ? "_" : "", hook ? hook : "");
    long status = 0;
    byron_status_t st = byron_app_post(s->o.app, label, path, body, tp, 0, resp, &status, err);
    if (st == BYRON_ENOTFOUND) return R_PROJECTED;
    if (st == BYRON_EUNAVAILABLE) return R_UNAVAILABLE;
    if (st != BYRON_OK) {
        byron_err_prefix(err, "app %s", path);
        return R_RETRY;
    }
    if (status == 422) {
        json_object_put(*resp);
        *resp = NULL;
        byron_err_set(err, BYRON_EREJECTED, "app %s answered 422", path);
        return R_RETRY;
    }
    return R_PROJECTED;
}

/* before hook + handler. *ans initialised in every case. */
static result_t app_handle(byron_sink_t *s, json_object *ev, json_object *current, int subscribed,
                           const byron_model_t *own_model, const char *own_id, uint64_t attempt,
                           byron_handler_answer_t *ans, byron_err_t *err) {
    memset(ans, 0, sizeof *ans);
    if (!s->o.app) return R_UNHANDLED;
    const char *type = json_object_get_string(json_object_object_get(ev, "type"));
    const char *tp = json_object_get_string(json_object_object_get(ev, "traceparent"));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "event", json_object_get(ev));
    json_object_object_add(body, "current", json_object_get(current));
    json_object_object_add(body, "subscribed", json_object_new_boolean(subscribed));
    json_object_object_add(body, "attempt", json_object_new_int64((int64_t)attempt));
    json_object *resp = NULL;
    result_t r = app_call(s, type, "before", body, tp, &resp, err);
    if (r == R_PROJECTED && resp) {
        if (byron_handler_answer_parse(s->comp, resp, NULL, NULL, ans, err) != BYRON_OK || ans->nchanges) {
            if (!err->msg[0] || ans->nchanges)
                byron_err_set(err, BYRON_EPROTO, "a before hook answers {} or {\"skip\": ...}");
            byron_handler_answer_cleanup(ans);
            byron_err_prefix(err, "app /v1/events/%s/before", type);
            r = R_RETRY;
        }
    }
    json_object_put(resp);
    resp = NULL;
    if (r != R_PROJECTED || ans->skip) goto out;
    r = app_call(s, type, NULL, body, tp, &resp, err);
    if (r == R_PROJECTED && !resp) r = R_UNHANDLED;
    if (r == R_PROJECTED &&
        byron_handler_answer_parse(s->comp, resp, own_model, own_id, ans, err) != BYRON_OK) {
        byron_err_prefix(err, "app /v1/events/%s", type);
        r = R_RETRY;
    }
out:
    json_object_put(resp);
    json_object_put(body);
    return r;
}

static void app_after(byron_sink_t *s, json_object *ev, json_object *current) {
    if (!s->o.app) return;
    json_object *body = json_object_new_object(), *resp = NULL;
    json_object_object_add(body, "event", json_object_get(ev));
    json_object_object_add(body, "current", json_object_get(current));
    byron_err_t err = {0};
    const char *type = json_object_get_string(json_object_object_get(ev, "type"));
    if (app_call(s, type, "after", body, json_object_get_string(json_object_object_get(ev, "traceparent")),
                 &resp, &err) != R_PROJECTED)
        byron_log(BYRON_LOG_WARN, "event after hook failed", "type", type, "error", err.msg, (char *)NULL);
    json_object_put(resp);
    json_object_put(body);
}

/* ---- projection -------------------------------------------------------- */

/* A copy of obj without the keys "id" and "version". */
static json_object *fields_of(json_object *obj) {
    json_object *o = json_object_new_object();
    if (!obj) return o;
    json_object_object_foreach(obj, k, v) {
        if (strcmp(k, "id") != 0 && strcmp(k, "version") != 0)
            json_object_object_add(o, k, json_object_get(v));
    }
    return o;
}

/* Tombstones: the version of a deleted aggregate, kept in the sink's own
 * collection (the model's collection holds only live objects, the shape the
 * API reads), so that a replay or a redelivery over a warm cache does not
 * bring a deleted object back for a while. One small document per deleted id. */
static void tombstone_key(char *buf, size_t cap, const char *model, const char *id) {
    snprintf(buf, cap, "tomb:%s/%s", model, id);
}

static result_t tombstone_read(byron_sink_t *s, mongoc_client_t *cl, const char *model, const char *id,
                               int64_t *version, byron_err_t *err) {
    char key[300];
    tombstone_key(key, sizeof key, model, id);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, BYRON_SINK_STATE_COLLECTION);
    json_object *doc = NULL;
    result_t r = read_doc(coll, key, &doc, version, err);
    json_object_put(doc);
    mongoc_collection_destroy(coll);
    return r;
}

static result_t tombstone_write(byron_sink_t *s, mongoc_client_t *cl, const char *model, const char *id,
                                int64_t version, byron_err_t *err) {
    char key[300];
    tombstone_key(key, sizeof key, model, id);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, BYRON_SINK_STATE_COLLECTION);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    bson_t *u = BCON_NEW("$set", "{", "version", BCON_INT64(version), "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_error_t be;
    result_t r = R_PROJECTED;
    if (!mongoc_collection_update_one(coll, filter, u, opts, NULL, &be))
        r = mongo_fail(&be, "tombstone write", err);
    bson_destroy(filter);
    bson_destroy(u);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    return r;
}

/* An event of this component, on its own aggregate. */
static result_t project_own(byron_sink_t *s, mongoc_client_t *cl, json_object *ev, uint64_t attempt,
                            byron_err_t *err) {
    const char *type = json_object_get_string(json_object_object_get(ev, "type"));
    const char *mname = json_object_get_string(json_object_object_get(ev, "byronmodel"));
    const char *id = json_object_get_string(json_object_object_get(ev, "subject"));
    int64_t version = json_object_get_int64(json_object_object_get(ev, "byronversion"));
    json_object *data = json_object_object_get(ev, "data");
    const byron_model_t *m = byron_component_model(s->comp, mname);
    if (!m) {
        byron_err_set(err, BYRON_EINVAL, "event.byronmodel: %s is not a model of %s", mname,
                      s->comp->component);
        return R_POISON;
    }
    byron_event_kind_t kind = byron_event_kind(type, m->name);
    if (kind != BYRON_EVENT_CUSTOM && kind != BYRON_EVENT_DELETED &&
        byron_input_validate(m->fields, m->nfields, data, 1, 1, "event.data", err) != BYRON_OK)
        return R_POISON;
    int full = kind == BYRON_EVENT_CREATED || kind == BYRON_EVENT_DELETED;
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, m->name);
    result_t r = R_RETRY;
    /* Fast path for the common case, an update with no app to consult: write
     * on the expected version directly (one round trip instead of read +
     * write); anything unexpected (no match) goes the full way below. */
    if (!s->o.app && kind == BYRON_EVENT_UPDATED && version > 1) {
        json_object *u = json_object_new_object(), *set = fields_of(data);
        json_object_object_add(set, "version", json_object_new_int64(version));
        json_object_object_add(u, "$set", set);
        bson_t *ub = json_to_bson(u, err);
        json_object_put(u);
        if (ub) {
            bson_t filter = BSON_INITIALIZER, reply;
            BSON_APPEND_UTF8(&filter, "_id", id);
            BSON_APPEND_INT64(&filter, "version", version - 1);
            bson_error_t be;
            bson_iter_t it;
            bool ok = mongoc_collection_update_one(coll, &filter, ub, NULL, &reply, &be);
            int matched =
                ok && bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1;
            bson_destroy(&reply);
            bson_destroy(&filter);
            bson_destroy(ub);
            if (matched) {
                mongoc_collection_destroy(coll);
                return R_PROJECTED;
            }
        }
        byron_err_clear(err);
    }
    byron_err_set(err, BYRON_ECONFLICT, "%s %s: the cached document kept changing under us", m->name, id);
    for (int round = 0; round < 4; round++) {
        json_object *cur = NULL;
        int64_t stored = 0;
        byron_handler_answer_t ans;
        memset(&ans, 0, sizeof ans);
        byron_err_clear(err);
        if ((r = read_doc(coll, id, &cur, &stored, err)) != R_PROJECTED) break;
        if (!cur && (r = tombstone_read(s, cl, m->name, id, &stored, err)) != R_PROJECTED) break;
        byron_guard_t g = byron_guard_decide(stored, version, full);
        if (g == BYRON_GUARD_SKIP) {
            json_object_put(cur);
            r = R_SKIPPED;
            break;
        }
        if (g == BYRON_GUARD_GAP) {
            json_object_put(cur);
            byron_err_set(err, BYRON_ESTATE,
                          "%s %s: cached version %" PRId64 ", event version %" PRId64
                          ": an earlier event is missing",
                          m->name, id, stored, version);
            r = R_RETRY;
            break;
        }
        /* Generated events project by themselves; the app may add to them. */
        result_t ar = app_handle(s, ev, cur, 0, m, id, attempt, &ans, err);
        if (ar == R_RETRY || ar == R_UNAVAILABLE) {
            json_object_put(cur);
            r = ar;
            break;
        }
        int handled = ar == R_PROJECTED;
        byron_err_clear(err);
        /* What to write. */
        int del = 0, replace = 0;
        json_object *set = NULL, *unset = json_object_new_object();
        if (ans.skip) {
            set = json_object_new_object();
        } else if (kind == BYRON_EVENT_DELETED || (ans.has_own && ans.own.del)) {
            del = 1;
        } else if (kind == BYRON_EVENT_CREATED) {
            replace = 1;
            set = fields_of(data);
        } else {
            set = kind == BYRON_EVENT_UPDATED ? fields_of(data) : json_object_new_object();
        }
        if (set && ans.has_own) {
            if (ans.own.set) {
                json_object_object_foreach(ans.own.set, k, v)
                    json_object_object_add(set, k, json_object_get(v));
            }
            for (size_t i = 0; ans.own.unset && i < json_object_array_length(ans.own.unset); i++) {
                const char *f = json_object_get_string(json_object_array_get_idx(ans.own.unset, i));
                if (replace)
                    json_object_object_del(set, f);
                else {
                    json_object_object_del(set, f);
                    json_object_object_add(unset, f, json_object_new_string(""));
                }
            }
        }
        bson_error_t be;
        bool ok = true, lost = false;
        bson_t filter = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&filter, "_id", id);
        if (del || replace) {
            bson_t lt;
            BSON_APPEND_DOCUMENT_BEGIN(&filter, "version", &lt);
            BSON_APPEND_INT64(&lt, "$lt", version);
            bson_append_document_end(&filter, &lt);
        } else {
            BSON_APPEND_INT64(&filter, "version", stored);
        }
        if (del) {
            ok = mongoc_collection_delete_one(coll, &filter, NULL, NULL, &be);
            if (ok && tombstone_write(s, cl, m->name, id, version, err) != R_PROJECTED) {
                bson_destroy(&filter);
                json_object_put(set);
                json_object_put(unset);
                json_object_put(cur);
                byron_handler_answer_cleanup(&ans);
                r = R_UNAVAILABLE;
                break;
            }
        } else {
            json_object_object_add(set, "version", json_object_new_int64(version));
            json_object *u = set;
            if (!replace) {
                u = json_object_new_object();
                json_object_object_add(u, "$set", set);
                if (json_object_object_length(unset))
                    json_object_object_add(u, "$unset", json_object_get(unset));
            }
            bson_t *ub = json_to_bson(u, err);
            json_object_put(u);
            set = NULL;
            if (!ub) {
                bson_destroy(&filter);
                json_object_put(unset);
                json_object_put(cur);
                byron_handler_answer_cleanup(&ans);
                r = R_POISON;
                break;
            }
            /* Upsert only where no document exists: an existing one must match the version read. */
            bson_t *opts = BCON_NEW("upsert", BCON_BOOL(replace || !cur));
            bson_t reply;
            if (replace)
                ok = mongoc_collection_replace_one(coll, &filter, ub, opts, &reply, &be);
            else
                ok = mongoc_collection_update_one(coll, &filter, ub, opts, &reply, &be);
            if (ok) {
                bson_iter_t it;
                int64_t matched = 0, upserted = 0;
                if (bson_iter_init_find(&it, &reply, "matchedCount")) matched = bson_iter_as_int64(&it);
                if (bson_iter_init_find(&it, &reply, "upsertedCount")) upserted = bson_iter_as_int64(&it);
                lost = matched == 0 && upserted == 0;
            } else if (is_dup_key(&be) && (replace || !cur)) {
                ok = true;
                lost = true; /* another replica inserted it first: read again */
            }
            bson_destroy(&reply);
            bson_destroy(opts);
            bson_destroy(ub);
        }
        bson_destroy(&filter);
        json_object_put(set);
        json_object_put(unset);
        if (!ok) {
            r = mongo_fail(&be, "write", err);
            if (r == R_RETRY && is_dup_key(&be))
                r = R_POISON; /* a unique index refuses it: replays cannot help */
        } else if (lost) {
            r = R_RETRY;
            byron_err_set(err, BYRON_ECONFLICT, "%s %s changed concurrently", m->name, id);
        } else {
            r = R_PROJECTED;
            for (size_t i = 0; i < ans.nchanges && r == R_PROJECTED; i++)
                r = apply_change(cl, s->o.database, &ans.changes[i], err);
            if (r == R_PROJECTED) app_after(s, ev, cur);
            if (r == R_PROJECTED && kind == BYRON_EVENT_CUSTOM && !handled && !ans.skip) r = R_UNHANDLED;
        }
        json_object_put(cur);
        byron_handler_answer_cleanup(&ans);
        if (!(ok && lost)) break; /* lost a race: read again and decide again */
    }
    mongoc_collection_destroy(coll);
    return r;
}

/* An event of a subscribed component: the app's handler says what changes. */
static result_t project_subscribed(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, json_object *ev,
                                   uint64_t seq, uint64_t attempt, byron_err_t *err) {
    const char *type = json_object_get_string(json_object_object_get(ev, "type"));
    const byron_subscription_t *sd = l->subdef;
    if (sd->nevents) {
        int listed = 0;
        for (size_t i = 0; i < sd->nevents && !listed; i++) listed = strcmp(sd->events[i], type) == 0;
        if (!listed) return R_FILTERED;
    }
    if (seq <= l->checkpoint) return R_SKIPPED;
    byron_handler_answer_t ans;
    result_t r = app_handle(s, ev, NULL, 1, NULL, NULL, attempt, &ans, err);
    if (r == R_PROJECTED) {
        for (size_t i = 0; i < ans.nchanges && r == R_PROJECTED; i++)
            r = apply_change(cl, s->o.database, &ans.changes[i], err);
    }
    byron_handler_answer_cleanup(&ans);
    if (r != R_PROJECTED && r != R_UNHANDLED) return r;
    /* The checkpoint: a redelivered event (ack lost) is not handed to the app again. */
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, BYRON_SINK_STATE_COLLECTION);
    char key[200];
    snprintf(key, sizeof key, "sub:%s", l->stream);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    bson_t *u = BCON_NEW("$set", "{", "seq", BCON_INT64((int64_t)seq), "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_error_t be;
    if (!mongoc_collection_update_one(coll, filter, u, opts, NULL, &be))
        r = mongo_fail(&be, "checkpoint write", err);
    else
        l->checkpoint = seq;
    bson_destroy(filter);
    bson_destroy(u);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    if (r == R_PROJECTED || r == R_UNHANDLED) app_after(s, ev, NULL);
    return r;
}

/* ---- dead letters ------------------------------------------------------ */

static byron_status_t ensure_dlq(byron_sink_t *s, byron_err_t *err) {
    if (atomic_load(&s->dlq_done)) return BYRON_OK;
    char subj[256];
    snprintf(subj, sizeof subj, "%s.>", s->dlq_prefix);
    const char *subjects[] = {subj};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = s->dlq_stream;
    cfg.Description = "Byron dead-lettered events";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = (int64_t)120 * 1000000000;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddStream(&si, s->js, &cfg, NULL, &jerr);
    if (ns != NATS_OK && jerr == JSStreamNameExistErr) ns = NATS_OK; /* exists (our settings never change) */
    jsStreamInfo_Destroy(si);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "creating %s: %s (JetStream error %d)", s->dlq_stream,
                             natsStatus_GetText(ns), (int)jerr);
    atomic_store(&s->dlq_done, 1);
    return BYRON_OK;
}

static byron_status_t dead_letter(byron_sink_t *s, lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                  const char *why, byron_err_t *err) {
    if (ensure_dlq(s, err) != BYRON_OK) return err->code;
    json_object *o = json_object_new_object(), *ev = NULL;
    byron_err_t pe;
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    json_object_object_add(o, "error", json_object_new_string(why));
    json_object_object_add(o, "stream", json_object_new_string(l->stream));
    json_object_object_add(o, "sequence", json_object_new_int64((int64_t)meta->Sequence.Stream));
    json_object_object_add(o, "subject", json_object_new_string(natsMsg_GetSubject(msg)));
    json_object_object_add(o, "consumer", json_object_new_string(l->durable));
    json_object_object_add(o, "deliveries", json_object_new_int64((int64_t)meta->NumDelivered));
    char ts[40];
    byron_time_now_rfc3339(ts, sizeof ts);
    json_object_object_add(o, "time", json_object_new_string(ts));
    if (data && byron_json_parse(data, (size_t)len, 64, &ev, &pe) == BYRON_OK)
        json_object_object_add(o, "event", ev);
    else
        json_object_object_add(o, "raw", json_object_new_string_len(data ? data : "", data ? len : 0));
    const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    char subj[400], msgid[256], seq[24];
    snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
    snprintf(subj, sizeof subj, "%s.%s", s->dlq_prefix, l->kind == LANE_OWN ? "own" : "sub");
    snprintf(msgid, sizeof msgid, "dlq:%s:%s", l->stream, seq);
    natsMsg *dm = NULL;
    natsStatus ns = natsMsg_Create(&dm, subj, NULL, txt, (int)strlen(txt));
    char hwhy[200];
    snprintf(hwhy, sizeof hwhy, "%.199s", why);
    for (char *p = hwhy; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
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
        return byron_err_set(err, BYRON_EUNAVAILABLE, "publishing to %s: %s", s->dlq_stream,
                             natsStatus_GetText(ns));
    return BYRON_OK;
}

/* ---- lanes ------------------------------------------------------------- */

static byron_status_t ensure_indexes(byron_sink_t *s, mongoc_client_t *cl, byron_err_t *err) {
    if (atomic_load(&s->indexes_done)) return BYRON_OK;
    pthread_mutex_lock(&s->index_lock);
    if (atomic_load(&s->indexes_done)) {
        pthread_mutex_unlock(&s->index_lock);
        return BYRON_OK;
    }
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i < s->comp->nmodels && st == BYRON_OK; i++) {
        const byron_model_t *m = &s->comp->models[i];
        /* Only the missing ones: FerretDB 1.24 drops the connection (a panic)
         * on createIndexes of a unique index that already exists. */
        char have[2048] = ",";
        mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, m->name);
        mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
        const bson_t *ix;
        while (mongoc_cursor_next(cur, &ix)) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, ix, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
                size_t l = strlen(have);
                snprintf(have + l, sizeof have - l, "%s,", bson_iter_utf8(&it, NULL));
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
        BSON_APPEND_UTF8(&cmd, "createIndexes", m->name);
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
            bson_t idx, key;
            n++;
            BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &idx);
            BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &key);
            BSON_APPEND_INT32(&key, fd->name, 1);
            bson_append_document_end(&idx, &key);
            BSON_APPEND_UTF8(&idx, "name", name);
            if (fd->unique) BSON_APPEND_BOOL(&idx, "unique", true);
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
    if (st == BYRON_OK) atomic_store(&s->indexes_done, 1);
    pthread_mutex_unlock(&s->index_lock);
    return st;
}

static byron_status_t lane_bind(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, byron_err_t *err) {
    if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS");
    if (l->kind == LANE_OWN && ensure_indexes(s, cl, err) != BYRON_OK) return err->code;
    if (l->kind == LANE_SUB) { /* the checkpoint */
        mongoc_collection_t *coll =
            mongoc_client_get_collection(cl, s->o.database, BYRON_SINK_STATE_COLLECTION);
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
    cc.Description = "Byron sink";
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

/* Project one message and settle it (ack / NAK with delay / dead-letter + term). */
static void handle_msg(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg) {
    int64_t t0 = now_ms();
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
    byron_err_t err = {0};
    json_object *ev = NULL;
    result_t r;
    char type[130] = "";
    const char *ht = NULL;
    if (natsMsgHeader_Get(msg, "Byron-Type", &ht) == NATS_OK && ht) snprintf(type, sizeof type, "%s", ht);
    if (byron_event_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &ev, &err) != BYRON_OK) {
        r = R_POISON;
    } else {
        snprintf(type, sizeof type, "%s", json_object_get_string(json_object_object_get(ev, "type")));
        r = l->kind == LANE_OWN
                ? project_own(s, cl, ev, meta->NumDelivered, &err)
                : project_subscribed(s, l, cl, ev, meta->Sequence.Stream, meta->NumDelivered, &err);
    }
    const char *outcome = "projected";
    switch (r) {
    case R_PROJECTED:
    case R_SKIPPED:
    case R_UNHANDLED:
    case R_FILTERED: {
        /* Synchronous: with MaxAckPending 1 the lane's next event is released
         * only once the server has the ack, so the next fetch finds it at once
         * instead of coming back empty and backing off. A lost ack only means
         * a redelivery, which the guard skips. */
        jsErrCode jerr = 0;
        natsMsg_AckSync(msg, NULL, &jerr);
        outcome = r == R_PROJECTED   ? "projected"
                  : r == R_SKIPPED   ? "skipped"
                  : r == R_UNHANDLED ? "unhandled"
                                     : "filtered";
        if (r == R_UNHANDLED)
            byron_log(BYRON_LOG_DEBUG, "event without a handler: version only", "type", type, (char *)NULL);
        break;
    }
    case R_UNAVAILABLE: { /* not the event's fault: retry without counting towards the dead letter */
        int64_t delay = (int64_t)s->o.retry_ms * 4;
        natsMsg_NakWithDelay(msg, delay > NAK_MAX_MS ? NAK_MAX_MS : delay, NULL);
        outcome = "failed";
        byron_log(BYRON_LOG_WARN, "event not projected: dependency unavailable", "type", type, "error",
                  err.msg, (char *)NULL);
        break;
    }
    case R_RETRY:
    case R_POISON: {
        if (r == R_POISON || (int64_t)meta->NumDelivered >= s->o.max_deliver) {
            byron_err_t de = {0};
            char why[BYRON_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err.msg[0] ? err.msg : "unknown error");
            if (dead_letter(s, l, msg, meta, why, &de) == BYRON_OK) {
                natsMsg_Term(msg, NULL);
                outcome = "dead_lettered";
                char seq[24], n[24];
                snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
                snprintf(n, sizeof n, "%" PRIu64, meta->NumDelivered);
                byron_log(BYRON_LOG_ERROR, "event dead-lettered", "stream", l->stream, "sequence", seq,
                          "type", type, "deliveries", n, "error", why, "dlq", s->dlq_stream, (char *)NULL);
                break;
            }
            byron_log(BYRON_LOG_ERROR, "cannot dead-letter an event: will retry", "error", de.msg,
                      (char *)NULL);
        }
        int64_t delay = s->o.retry_ms;
        for (uint64_t i = 1; i < meta->NumDelivered && delay < NAK_MAX_MS; i++) delay *= 2;
        natsMsg_NakWithDelay(msg, delay > NAK_MAX_MS ? NAK_MAX_MS : delay, NULL);
        outcome = "failed";
        byron_log(BYRON_LOG_WARN, "event not projected: will retry", "type", type, "error", err.msg,
                  (char *)NULL);
        break;
    }
    }
    count(s, type, outcome);
    if (s->m.latency && (r == R_PROJECTED || r == R_UNHANDLED)) {
        byron_metric_observe(s->m.latency, NULL, (double)(now_ms() - t0) / 1000.0);
        if (meta->Timestamp > 0 && s->m.age)
            byron_metric_observe(s->m.age, NULL, now_s_real() - (double)meta->Timestamp / 1e9);
    }
    json_object_put(ev);
    jsMsgMetaData_Destroy(meta);
}

/* Consumer lag while idle: the pending count from the server now and then. */
static void refresh_pending(byron_sink_t *s, lane_t *l) {
    int64_t now = now_ms();
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
    /* A thread with one lane long-polls it (the server answers as soon as an
     * event is available: no polling when idle); a thread with several polls
     * them round-robin without waiting, and backs off when all are empty. */
    int single = (size_t)t + (size_t)s->nthreads >= s->nlanes;
    while (!atomic_load(&s->stop)) {
        int got = 0, waited = 0;
        for (size_t i = (size_t)t; i < s->nlanes && !atomic_load(&s->stop); i += (size_t)s->nthreads) {
            lane_t *l = &s->lanes[i];
            if (!l->sub) {
                int64_t now = now_ms();
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

/* ---- rebuild ----------------------------------------------------------- */

static byron_status_t rebuild(byron_sink_t *s, byron_err_t *err) {
    int64_t deadline = now_ms() + 30000;
    while (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED && now_ms() < deadline)
        sleep_ms_stop(s, 100);
    if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "rebuild: NATS not reachable within 30 s");
    for (size_t i = 0; i < s->nlanes; i++) {
        jsErrCode jerr = 0;
        natsStatus ns = js_DeleteConsumer(s->js, s->lanes[i].stream, s->lanes[i].durable, NULL, &jerr);
        if (ns != NATS_OK && ns != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr &&
            jerr != JSStreamNotFoundErr)
            return byron_err_set(err, BYRON_EIO, "rebuild: deleting consumer %s: %s", s->lanes[i].durable,
                                 natsStatus_GetText(ns));
    }
    mongoc_client_t *cl = mongoc_client_pool_pop(s->pool);
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i <= s->comp->nmodels && st == BYRON_OK; i++) {
        const char *name = i < s->comp->nmodels ? s->comp->models[i].name : BYRON_SINK_STATE_COLLECTION;
        mongoc_collection_t *coll = mongoc_client_get_collection(cl, s->o.database, name);
        bson_error_t be;
        if (!mongoc_collection_drop(coll, &be) && !strstr(be.message, "ns not found") && be.code != 26)
            st = byron_err_set(err, BYRON_EIO, "rebuild: dropping %s: %s", name, be.message);
        mongoc_collection_destroy(coll);
    }
    mongoc_client_pool_push(s->pool, cl);
    if (st == BYRON_OK)
        byron_log(BYRON_LOG_WARN,
                  "rebuild: cache dropped and consumers deleted; re-projecting from the stream", "database",
                  s->o.database, (char *)NULL);
    return st;
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
    if (s->o.max_deliver <= 0) s->o.max_deliver = 5;
    if (s->o.retry_ms <= 0) s->o.retry_ms = 500;
    if (s->o.ack_wait_ms <= 0) s->o.ack_wait_ms = 30000;
    byron_sink_dlq_names(s->comp, s->dlq_stream, sizeof s->dlq_stream, s->dlq_prefix, sizeof s->dlq_prefix);
    s->nlanes = (size_t)s->comp->partitions + s->comp->nsubscriptions;
    if (!(s->lanes = calloc(s->nlanes, sizeof *s->lanes))) goto nomem;
    for (size_t i = 0; i < s->nlanes; i++) {
        lane_t *l = &s->lanes[i];
        pthread_mutex_init(&l->lock, NULL);
        if (i < (size_t)s->comp->partitions) {
            l->kind = LANE_OWN;
            l->partition = (int)i;
            snprintf(l->stream, sizeof l->stream, "%s", s->comp->stream);
            snprintf(l->durable, sizeof l->durable, BYRON_SINK_DURABLE_FMT, (int)i);
            snprintf(l->filter, sizeof l->filter, "%s.%d.>", s->comp->subject_prefix, (int)i);
        } else {
            const byron_subscription_t *sd = &s->comp->subscriptions[i - (size_t)s->comp->partitions];
            l->kind = LANE_SUB;
            l->subdef = sd;
            snprintf(l->stream, sizeof l->stream, "BYRON_%s_%s", sd->namespace_, sd->component);
            for (char *p = l->stream; *p; p++)
                if (*p == '-') *p = '_';
            byron_sink_subscription_durable(s->comp, l->durable, sizeof l->durable);
            snprintf(l->filter, sizeof l->filter, "byron.%s.%s.>", sd->namespace_, sd->component);
        }
        snprintf(l->err, sizeof l->err, "starting");
    }
    if (o->metrics) {
        static const char *const EL[] = {"type", "outcome", NULL};
        static const char *const PL[] = {"consumer", NULL};
        s->m.events =
            byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "byron_sink_events_total",
                                   "Events handled by the sink, by type and outcome (projected, skipped, "
                                   "unhandled, filtered, failed, dead_lettered)",
                                   EL, NULL, 0);
        s->m.latency =
            byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_projection_seconds",
                                   "Time to project one event (read, app, write)", NULL, NULL, 0);
        s->m.age =
            byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_event_age_seconds",
                                   "From the event's storage in the stream to its projection", NULL, NULL, 0);
        s->m.pending = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "byron_sink_consumer_pending",
                                              "Events not yet delivered, per consumer (lag)", PL, NULL, 0);
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
    if ((size_t)s->nthreads > s->nlanes) s->nthreads = (int)s->nlanes;
    mongoc_client_pool_max_size(s->pool, (uint32_t)s->nthreads + 2);
    if (o->rebuild && rebuild(s, err) != BYRON_OK) goto fail;
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
    for (int t = 0; s->threads && t < s->nthreads; t++) pthread_join(s->threads[t], NULL);
    free(s->threads);
    jsCtx_Destroy(s->js);
    if (s->nc) {
        natsConnection_FlushTimeout(s->nc, 1000); /* the last acks */
        natsConnection_Destroy(s->nc);
    }
    if (s->pool) mongoc_client_pool_destroy(s->pool);
    mongoc_uri_destroy(s->uri);
    for (size_t i = 0; s->lanes && i < s->nlanes; i++) pthread_mutex_destroy(&s->lanes[i].lock);
    free(s->lanes);
    pthread_mutex_destroy(&s->index_lock);
    free(s);
}

void byron_sink_readiness(byron_sink_t *s, json_object *checks, int *ready) {
    int own_ok = 1, sub_ok = 1;
    char own_err[512] = "", sub_err[512] = "";
    for (size_t i = 0; i < s->nlanes; i++) {
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
