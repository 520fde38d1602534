/* projection.c — one event into the cache (projection.h).
 *
 *   own event:  check ─► read the projection (document or tombstone) ─► guard
 *               ─► journal? resume ─► app (before hook, handler) ─► plan the
 *               writes ─► journal ─► aggregate write (conditional on the
 *               version read) ─► changes ─► after hook ─► clear the journal
 *   subscribed: check ─► checkpoint ─► app ─► journal ─► changes ─► checkpoint
 *               ─► after hook ─► clear the journal
 *
 * Writes are conditional on what was read, so a late replica (one that held an
 * event past AckWait while another applied it and more) loses instead of
 * moving a document backwards; a lost race reads again and decides again. The
 * guarantees rest on the conditional writes of MongoDB; FerretDB 1.x (tests)
 * does not make them atomic, which matters only when two replicas race on one
 * event — no test depends on that (docs/testing.md). */
#include "projection.h"

#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache.h"
#include "envelope.h"
#include "projector.h"
#include "subject.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TYPES 4096 /* event types whose after hook the app lacks, remembered */

struct byron_projection {
    const byron_component_t *comp;
    char *db;
    int64_t gen; /* the cache generation written (generation.h) */
    byron_app_t *app;
    int64_t defer_ms;
    /* Event types whose after hook answered 404: no journal needed for the
     * hook alone. A type's hook the app gains later is found on its next
     * journaled event; until then a crash may skip it once (docs/sink.md). */
    pthread_mutex_t lock;
    char **no_after;
    size_t nno_after;
    byron_metric_t *reads; /* byron_sink_cache_reads_total, or NULL */
};

const char *byron_proj_result_name(byron_proj_result_t r) {
    static const char *const N[] = {"projected", "skipped", "unhandled", "filtered",   "failed",
                                    "invalid",   "blocked", "deferred",  "unavailable"};
    return (size_t)r < sizeof N / sizeof N[0] ? N[r] : "?";
}

byron_projection_t *byron_projection_new(const byron_component_t *c, const char *database, int64_t generation,
                                         byron_app_t *app, int64_t defer_ms, byron_err_t *err) {
    byron_projection_t *p = calloc(1, sizeof *p);
    if (!p || !(p->db = strdup(database))) {
        free(p);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    p->comp = c;
    p->gen = generation;
    p->app = app;
    p->defer_ms = defer_ms > 0 ? defer_ms : 600000;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

void byron_projection_count_reads(byron_projection_t *p, byron_metric_t *reads) { p->reads = reads; }

void byron_projection_free(byron_projection_t *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nno_after; i++) free(p->no_after[i]);
    free(p->no_after);
    pthread_mutex_destroy(&p->lock);
    free(p->db);
    free(p);
}

static int after_known_absent(byron_projection_t *p, const char *type) {
    pthread_mutex_lock(&p->lock);
    int found = 0;
    for (size_t i = 0; i < p->nno_after && !found; i++) found = strcmp(p->no_after[i], type) == 0;
    pthread_mutex_unlock(&p->lock);
    return found;
}

static void after_set_absent(byron_projection_t *p, const char *type, int absent) {
    pthread_mutex_lock(&p->lock);
    size_t i = 0;
    while (i < p->nno_after && strcmp(p->no_after[i], type) != 0) i++;
    if (absent && i == p->nno_after && p->nno_after < MAX_TYPES) {
        char **n = realloc(p->no_after, (p->nno_after + 1) * sizeof *n);
        if (n && (n[p->nno_after] = strdup(type))) p->nno_after++;
        if (n) p->no_after = n;
    } else if (!absent && i < p->nno_after) {
        free(p->no_after[i]);
        p->no_after[i] = p->no_after[--p->nno_after];
    }
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ the cache (cache.h) */

/* A status of cache.c's as how the event settles: the cache away is not the
 * event's fault (UNAVAILABLE); any other failure, an unreadable document
 * included (cache.h), is retried and dead-lettered after its deliveries. */
static byron_proj_result_t settle_as(byron_status_t st) {
    return st == BYRON_OK             ? BYRON_PROJ_APPLIED
           : st == BYRON_EUNAVAILABLE ? BYRON_PROJ_UNAVAILABLE
                                      : BYRON_PROJ_RETRY;
}

/* The document `id` of collection `coll` (this projection's generation) as
 * JSON (`_id` → `id`), or NULL: cache.c's reader. */
static byron_proj_result_t read_doc(const byron_projection_t *p, mongoc_client_t *cl, const char *coll_name,
                                    const char *id, json_object **doc, byron_err_t *err) {
    if (p->reads) byron_metric_add(p->reads, NULL, 1);
    byron_status_t st = byron_cache_read_doc(cl, p->db, p->gen, coll_name, id, doc, err);
    if (st == BYRON_ENOTFOUND) {
        byron_err_clear(err);
        return BYRON_PROJ_APPLIED;
    }
    return settle_as(st);
}

static void state_key(char *buf, size_t cap, const char *fmt, const char *model, const char *id) {
    snprintf(buf, cap, fmt, model, id);
}

/* The tombstone's version rises to `version` (never falls). */
static byron_proj_result_t tombstone_raise(byron_projection_t *p, mongoc_client_t *cl, const char *model,
                                           const char *id, int64_t version, byron_err_t *err) {
    return settle_as(byron_cache_tombstone_raise(cl, p->db, p->gen, model, id, version, err));
}

/* How far the aggregate is projected: its document (NULL: none) and version
 * (the document's, else its tombstone's, else 0). */
static byron_proj_result_t read_projection(byron_projection_t *p, mongoc_client_t *cl, const char *model,
                                           const char *id, json_object **doc, int64_t *version,
                                           byron_err_t *err) {
    *version = 0;
    byron_proj_result_t r = read_doc(p, cl, model, id, doc, err);
    if (r != BYRON_PROJ_APPLIED || *doc) {
        *version = byron_cache_doc_version(*doc);
        return r;
    }
    char key[BYRON_ID_MAX + 160];
    json_object *t = NULL;
    state_key(key, sizeof key, BYRON_CACHE_TOMBSTONE_FMT, model, id);
    r = read_doc(p, cl, BYRON_CACHE_STATE_COLLECTION, key, &t, err);
    *version = byron_cache_doc_version(t);
    json_object_put(t);
    return r;
}

/* ------------------------------------------------------------------ the writes */

typedef enum { OP_NONE, OP_REPLACE, OP_UPDATE, OP_DELETE } op_t;

/* Everything one event does to the cache, and its after hook: what the
 * journal records. */
typedef struct writes {
    op_t op; /* on the event's aggregate */
    const byron_model_t *model;
    const char *id;
    int64_t from, to;        /* the version read; the event's version */
    int had_doc;             /* a document existed at `from` */
    json_object *set;        /* OP_REPLACE: every field; OP_UPDATE: the fields set; owned */
    json_object *unset;      /* OP_UPDATE: {"field": ""}; owned */
    byron_change_t *changes; /* borrowed from the handler's answer, or the journal's */
    size_t nchanges;
    json_object *after_event; /* the after hook's body parts (NULL: no hook to run); borrowed */
    json_object *after_current;
} writes_t;

static void writes_cleanup(writes_t *w) {
    json_object_put(w->set);
    json_object_put(w->unset);
    w->set = w->unset = NULL;
}

/* An explicit change from a handler ("changes"): absolute and idempotent
 * (set/unset, delete); a missing object is created with version 0. A deleted
 * object that had own events keeps its version in a tombstone. */
static byron_proj_result_t apply_change(byron_projection_t *p, mongoc_client_t *cl, const byron_change_t *ch,
                                        byron_err_t *err) {
    if (!ch->del)
        return settle_as(
            byron_cache_change(cl, p->db, p->gen, ch->model->name, ch->id, ch->set, ch->unset, err));
    json_object *doc = NULL;
    byron_proj_result_t r = read_doc(p, cl, ch->model->name, ch->id, &doc, err);
    if (r == BYRON_PROJ_APPLIED && doc) {
        int64_t v = byron_cache_doc_version(doc);
        if (v > 0) r = tombstone_raise(p, cl, ch->model->name, ch->id, v, err);
        if (r == BYRON_PROJ_APPLIED)
            r = settle_as(byron_cache_delete(cl, p->db, p->gen, ch->model->name, ch->id, err));
    }
    json_object_put(doc);
    return r;
}

/* The aggregate's write, conditional on the version read. *lost: it matched
 * nothing because the projection moved (another replica); when the projection
 * is already at `to` or beyond, the write counts as done (a resumed journal). */
static byron_proj_result_t apply_own(byron_projection_t *p, mongoc_client_t *cl, const writes_t *w, int *lost,
                                     byron_err_t *err) {
    *lost = 0;
    if (w->op == OP_NONE) return BYRON_PROJ_APPLIED;
    int empty =
        w->op == OP_UPDATE && !json_object_object_length(w->set) && !json_object_object_length(w->unset);
    if (w->op == OP_UPDATE && empty && !w->had_doc) /* a version move with no document: the tombstone's */
        return tombstone_raise(p, cl, w->model->name, w->id, w->to, err);
    byron_proj_result_t r;
    int matched = 1;
    if (w->op == OP_DELETE) {
        /* The tombstone first: a sink killed between the two writes leaves the
         * document, whose version the redelivery reads; never neither. */
        if ((r = tombstone_raise(p, cl, w->model->name, w->id, w->to, err)) != BYRON_PROJ_APPLIED) return r;
        r = settle_as(byron_cache_delete_if_older(cl, p->db, p->gen, w->model->name, w->id, w->to, err));
    } else {
        /* Upsert only where no document exists: an existing one must match the version read. */
        byron_cache_put_t put = {.replace = w->op == OP_REPLACE,
                                 .set = w->set,
                                 .unset = w->unset,
                                 .from = w->from,
                                 .to = w->to,
                                 .upsert = w->op == OP_REPLACE || !w->had_doc};
        r = settle_as(
            byron_cache_put_if_version(cl, p->db, p->gen, w->model->name, w->id, &put, &matched, err));
    }
    if (r != BYRON_PROJ_APPLIED) return r;
    if (matched || w->op == OP_DELETE) return BYRON_PROJ_APPLIED;
    json_object *doc = NULL;
    int64_t now = 0;
    r = read_projection(p, cl, w->model->name, w->id, &doc, &now, err);
    json_object_put(doc);
    if (r == BYRON_PROJ_APPLIED && now < w->to) *lost = 1;
    return r;
}

/* ------------------------------------------------------------------ the journal */

static void lane_key(char *buf, size_t cap, const char *lane) { snprintf(buf, cap, "lane:%s", lane); }

static json_object *change_to_json(const byron_change_t *ch) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "model", json_object_new_string(ch->model->name));
    json_object_object_add(o, "id", json_object_new_string(ch->id));
    if (ch->set) json_object_object_add(o, "set", json_object_get(ch->set));
    if (ch->unset) json_object_object_add(o, "unset", json_object_get(ch->unset));
    if (ch->del) json_object_object_add(o, "delete", json_object_new_boolean(1));
    return o;
}

static byron_proj_result_t journal_write(byron_projection_t *p, mongoc_client_t *cl,
                                         const byron_proj_msg_t *m, const writes_t *w, byron_err_t *err) {
    json_object *j = json_object_new_object(), *own = json_object_new_object(),
                *chs = json_object_new_array();
    static const char *const OPS[] = {"none", "replace", "update", "delete"};
    json_object_object_add(own, "op", json_object_new_string(OPS[w->op]));
    if (w->op != OP_NONE) {
        json_object_object_add(own, "model", json_object_new_string(w->model->name));
        json_object_object_add(own, "id", json_object_new_string(w->id));
        json_object_object_add(own, "from", json_object_new_int64(w->from));
        json_object_object_add(own, "to", json_object_new_int64(w->to));
        json_object_object_add(own, "hadDoc", json_object_new_boolean(w->had_doc));
        if (w->set) json_object_object_add(own, "set", json_object_get(w->set));
        if (w->unset) json_object_object_add(own, "unset", json_object_get(w->unset));
    }
    for (size_t i = 0; i < w->nchanges; i++) json_object_array_add(chs, change_to_json(&w->changes[i]));
    json_object_object_add(j, "seq", json_object_new_int64((int64_t)m->seq));
    json_object_object_add(j, "own", own);
    json_object_object_add(j, "changes", chs);
    if (w->after_event) {
        json_object_object_add(j, "afterEvent", json_object_get(w->after_event));
        json_object_object_add(j, "afterCurrent", json_object_get(w->after_current));
    }
    char key[300];
    lane_key(key, sizeof key, m->lane);
    byron_proj_result_t r = settle_as(byron_cache_state_set(cl, p->db, p->gen, key, j, err));
    json_object_put(j);
    return r;
}

/* Only this event's journal: a late replica never clears a newer one. */
static byron_proj_result_t journal_clear(byron_projection_t *p, mongoc_client_t *cl,
                                         const byron_proj_msg_t *m, byron_err_t *err) {
    char key[300];
    lane_key(key, sizeof key, m->lane);
    return settle_as(byron_cache_state_clear(cl, p->db, p->gen, key, (int64_t)m->seq, err));
}

/* This event's journal, if a delivery before this one left it: *j (caller
 * puts). Only a redelivered event can have one: O(1) reads on the first. */
static byron_proj_result_t journal_read(byron_projection_t *p, mongoc_client_t *cl, const byron_proj_msg_t *m,
                                        json_object **j, byron_err_t *err) {
    *j = NULL;
    if (m->deliveries <= 1 || !p->app) return BYRON_PROJ_APPLIED;
    char key[300];
    lane_key(key, sizeof key, m->lane);
    byron_proj_result_t r = read_doc(p, cl, BYRON_CACHE_STATE_COLLECTION, key, j, err);
    json_object *seq = NULL;
    if (*j &&
        (!json_object_object_get_ex(*j, "seq", &seq) || (uint64_t)json_object_get_int64(seq) != m->seq)) {
        json_object_put(*j); /* another event's: settled (cleared before its ack) or a late replica's */
        *j = NULL;
    }
    return r;
}

/* ------------------------------------------------------------------ the app */

/* POST /v1/events/<type>[/hook]: BYRON_PROJ_APPLIED with *resp (NULL: not implemented, 404). */
static byron_proj_result_t app_call(byron_projection_t *p, const char *type, const char *hook,
                                    json_object *body, const char *tp, json_object **resp, byron_err_t *err) {
    *resp = NULL;
    char path[256], label[32];
    snprintf(path, sizeof path, "/v1/events/%s%s%s", type, hook ? "/" : "", hook ? hook : "");
    snprintf(label, sizeof label, "event%s%s", hook ? "_" : "", hook ? hook : "");
    long status = 0;
    byron_status_t st = byron_app_post(p->app, label, path, body, tp, 0, resp, &status, err);
    if (st == BYRON_ENOTFOUND) return BYRON_PROJ_APPLIED;
    if (st == BYRON_EUNAVAILABLE) return BYRON_PROJ_UNAVAILABLE;
    if (st != BYRON_OK) {
        byron_err_prefix(err, "app %s", path);
        return BYRON_PROJ_RETRY;
    }
    if (status == 422) {
        json_object_put(*resp);
        *resp = NULL;
        byron_err_set(err, BYRON_EREJECTED, "app %s answered 422", path);
        return BYRON_PROJ_RETRY;
    }
    return BYRON_PROJ_APPLIED;
}

static const char *ev_str(json_object *ev, const char *key) {
    return json_object_get_string(json_object_object_get(ev, key));
}

/* Before hook + handler; *ans initialised in every case. UNHANDLED: no handler. */
static byron_proj_result_t app_handle(byron_projection_t *p, json_object *ev, json_object *current,
                                      int subscribed, const byron_model_t *own_model, const char *own_id,
                                      uint64_t attempt, byron_projector_answer_t *ans, byron_err_t *err) {
    memset(ans, 0, sizeof *ans);
    if (!p->app) return BYRON_PROJ_UNHANDLED;
    const char *type = ev_str(ev, "type"), *tp = ev_str(ev, "traceparent");
    json_object *body = json_object_new_object(), *resp = NULL;
    json_object_object_add(body, "event", json_object_get(ev));
    json_object_object_add(body, "current", json_object_get(current));
    json_object_object_add(body, "subscribed", json_object_new_boolean(subscribed));
    json_object_object_add(body, "attempt", json_object_new_int64((int64_t)attempt));
    byron_proj_result_t r = app_call(p, type, "before", body, tp, &resp, err);
    if (r == BYRON_PROJ_APPLIED && resp &&
        (byron_projector_answer_parse(p->comp, resp, NULL, NULL, ans, err) != BYRON_OK || ans->nchanges)) {
        if (!err->msg[0] || ans->nchanges)
            byron_err_set(err, BYRON_EPROTO, "a before hook answers {} or {\"skip\": ...}");
        byron_projector_answer_cleanup(ans);
        byron_err_prefix(err, "app /v1/events/%s/before", type);
        r = BYRON_PROJ_RETRY;
    }
    json_object_put(resp);
    resp = NULL;
    if (r == BYRON_PROJ_APPLIED && !ans->skip) {
        r = app_call(p, type, NULL, body, tp, &resp, err);
        if (r == BYRON_PROJ_APPLIED && !resp) r = BYRON_PROJ_UNHANDLED;
        if (r == BYRON_PROJ_APPLIED &&
            byron_projector_answer_parse(p->comp, resp, own_model, own_id, ans, err) != BYRON_OK) {
            byron_err_prefix(err, "app /v1/events/%s", type);
            r = BYRON_PROJ_RETRY;
        }
    }
    json_object_put(resp);
    json_object_put(body);
    return r;
}

/* The after hook. An app that cannot be reached: UNAVAILABLE (the journal
 * keeps the hook for the redelivery: at least once). Any other failure is the
 * hook's own: logged, not retried (the effects are in). */
static byron_proj_result_t app_after(byron_projection_t *p, json_object *ev, json_object *current) {
    if (!p->app || !ev) return BYRON_PROJ_APPLIED;
    const char *type = ev_str(ev, "type");
    json_object *body = json_object_new_object(), *resp = NULL;
    json_object_object_add(body, "event", json_object_get(ev));
    json_object_object_add(body, "current", json_object_get(current));
    byron_err_t err = {0};
    long status = 0;
    char path[256];
    snprintf(path, sizeof path, "/v1/events/%s/after", type);
    byron_status_t st =
        byron_app_post(p->app, "event_after", path, body, ev_str(ev, "traceparent"), 0, &resp, &status, &err);
    after_set_absent(p, type, st == BYRON_ENOTFOUND);
    if (st != BYRON_OK && st != BYRON_ENOTFOUND)
        byron_log(BYRON_LOG_WARN, "event after hook failed", "type", type, "error", err.msg, (char *)NULL);
    json_object_put(resp);
    json_object_put(body);
    return st == BYRON_EUNAVAILABLE ? BYRON_PROJ_UNAVAILABLE : BYRON_PROJ_APPLIED;
}

/* ------------------------------------------------------------------ fault injection */

#ifdef BYRON_FAULT_INJECTION
/* Test builds only (BYRON_TESTS): BYRON_SINK_FAILPOINT=<point>[:<n>] makes the
 * n-th pass (default 1) through <point> kill the process (SIGKILL: no clean-up,
 * as a crash) or, for fail-change, fail that write. Points: after-handler,
 * after-journal, after-own-write, after-change, fail-change (docs/testing.md,
 * "Faults"). */
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
static atomic_int failpoint_hits;

static int failpoint(const char *point) {
    const char *fp = getenv("BYRON_SINK_FAILPOINT");
    size_t n = strlen(point);
    if (!fp || strncmp(fp, point, n) != 0 || (fp[n] && fp[n] != ':')) return 0;
    int want = fp[n] == ':' ? (int)strtol(fp + n + 1, NULL, 10) : 1; /* test builds only */
    if (atomic_fetch_add(&failpoint_hits, 1) + 1 != want) return 0;
    byron_log(BYRON_LOG_WARN, "failpoint", "point", point, (char *)NULL);
    if (strncmp(point, "fail-", 5) != 0) kill(getpid(), SIGKILL);
    return 1;
}
#else
static int failpoint(const char *point) {
    (void)point;
    return 0;
}
#endif

/* ------------------------------------------------------------------ carrying out */

static int needs_journal(byron_projection_t *p, const writes_t *w) {
    int writes = (w->op != OP_NONE) + (int)w->nchanges;
    return writes > 1 || (w->after_event && !after_known_absent(p, ev_str(w->after_event, "type")));
}

/* Journal (when needed), aggregate write, changes, after hook, clear. *lost:
 * the aggregate's write lost a race (nothing else was done). */
static byron_proj_result_t carry_out(byron_projection_t *p, mongoc_client_t *cl, const byron_proj_msg_t *m,
                                     const writes_t *w, int journaled, int *lost, byron_err_t *err) {
    byron_proj_result_t r = BYRON_PROJ_APPLIED;
    int journal = journaled || needs_journal(p, w);
    *lost = 0;
    if (journal && !journaled && (r = journal_write(p, cl, m, w, err)) != BYRON_PROJ_APPLIED) return r;
    failpoint("after-journal");
    if ((r = apply_own(p, cl, w, lost, err)) != BYRON_PROJ_APPLIED || *lost) {
        if (*lost && journal) journal_clear(p, cl, m, err);
        return r;
    }
    failpoint("after-own-write");
    for (size_t i = 0; i < w->nchanges && r == BYRON_PROJ_APPLIED; i++) {
        if (failpoint("fail-change")) {
            byron_err_set(err, BYRON_EIO, "injected failure of change %zu (BYRON_SINK_FAILPOINT)", i);
            return BYRON_PROJ_RETRY;
        }
        r = apply_change(p, cl, &w->changes[i], err);
        failpoint("after-change");
    }
    if (r != BYRON_PROJ_APPLIED) return r; /* the redelivery resumes from the journal */
    if (app_after(p, w->after_event, w->after_current) == BYRON_PROJ_UNAVAILABLE && journal) {
        byron_err_set(err, BYRON_EUNAVAILABLE, "the app is not reachable for the after hook");
        return BYRON_PROJ_UNAVAILABLE;
    }
    return journal ? journal_clear(p, cl, m, err) : BYRON_PROJ_APPLIED;
}

/* A journal left by an earlier delivery of this event: finish it. */
static byron_proj_result_t resume(byron_projection_t *p, mongoc_client_t *cl, const byron_proj_msg_t *m,
                                  json_object *j, byron_err_t *err) {
    writes_t w = {0};
    json_object *own = json_object_object_get(j, "own"), *chs = json_object_object_get(j, "changes");
    const char *op = ev_str(own, "op");
    w.op = !op || !strcmp(op, "none") ? OP_NONE
           : !strcmp(op, "replace")   ? OP_REPLACE
           : !strcmp(op, "update")    ? OP_UPDATE
                                      : OP_DELETE;
    byron_projector_answer_t ans = {0};
    byron_proj_result_t r = BYRON_PROJ_APPLIED;
    if (w.op != OP_NONE) {
        w.model = byron_component_model(p->comp, ev_str(own, "model"));
        w.id = ev_str(own, "id");
        w.from = json_object_get_int64(json_object_object_get(own, "from"));
        w.to = json_object_get_int64(json_object_object_get(own, "to"));
        w.had_doc = json_object_get_boolean(json_object_object_get(own, "hadDoc"));
        w.set = json_object_get(json_object_object_get(own, "set"));
        w.unset = json_object_get(json_object_object_get(own, "unset"));
        if (!w.model || !w.id || !byron_id_is_valid(w.id)) r = BYRON_PROJ_RETRY;
    }
    /* The changes were checked when they were journaled; parse them back the same way. */
    json_object *wrap = json_object_new_object();
    json_object_object_add(wrap, "changes", json_object_get(chs));
    if (r == BYRON_PROJ_APPLIED &&
        byron_projector_answer_parse(p->comp, wrap, NULL, NULL, &ans, err) != BYRON_OK)
        r = BYRON_PROJ_RETRY;
    json_object_put(wrap);
    w.changes = ans.changes;
    w.nchanges = ans.nchanges;
    w.after_event = json_object_object_get(j, "afterEvent");
    w.after_current = json_object_object_get(j, "afterCurrent");
    int lost = 0;
    if (r == BYRON_PROJ_APPLIED) {
        r = carry_out(p, cl, m, &w, 1, &lost, err);
        byron_log(BYRON_LOG_INFO, "event resumed from the lane's journal", "lane", m->lane, "result",
                  byron_proj_result_name(r), (char *)NULL);
    } else {
        byron_err_prefix(err, "unreadable journal of %s", m->lane);
    }
    byron_projector_answer_cleanup(&ans);
    writes_cleanup(&w);
    return r;
}

/* ------------------------------------------------------------------ checks */

/* What an own event is, once checked. */
typedef struct own_event {
    json_object *ev; /* owned */
    const char *type, *id;
    const byron_model_t *model;
    byron_event_kind_t kind;
    int64_t version;
    json_object *data;
} own_event_t;

/* Not understood: deferred while it may come from a newer model than ours
 * (and for at most defer_ms), else invalid. */
static byron_proj_result_t not_understood(byron_projection_t *p, const byron_proj_msg_t *m, json_object *ev,
                                          byron_err_t *err) {
    json_object *g = NULL;
    int64_t gen = ev && json_object_object_get_ex(ev, "byrongeneration", &g) ? json_object_get_int64(g) : 0;
    if (gen <= p->comp->schema_generation) return BYRON_PROJ_INVALID;
    if (m->stored_ns > 0 && byron_clock_real_ns() - m->stored_ns > p->defer_ms * 1000000) {
        byron_err_prefix(err,
                         "written under schema generation %" PRId64 " (this sink: %" PRId64
                         "), and no sink that knows it took it within %" PRId64 " ms",
                         gen, p->comp->schema_generation, p->defer_ms);
        return BYRON_PROJ_INVALID;
    }
    return BYRON_PROJ_DEFER;
}

static int emitted(const byron_component_t *c, const byron_model_t *m, const char *type) {
    for (size_t i = 0; i < c->ncommands; i++)
        if (c->commands[i].model == m)
            for (size_t k = 0; k < c->commands[i].nemits; k++)
                if (strcmp(c->commands[i].emits[k], type) == 0) return 1;
    return 0;
}

/* The model and id a subject of this component's aggregates names, and its
 * partition; 0 when it names none (not 6 tokens, other prefix, unknown model). */
static int parse_subject(const byron_component_t *c, const char *subject, const byron_model_t **model,
                         char *id, int *partition) {
    size_t pl = strlen(c->subject_prefix);
    if (strncmp(subject, c->subject_prefix, pl) != 0 || subject[pl] != '.') return 0;
    char buf[BYRON_SUBJECT_MAX];
    snprintf(buf, sizeof buf, "%s", subject + pl + 1);
    char *save = NULL, *part = strtok_r(buf, ".", &save), *mn = strtok_r(NULL, ".", &save),
         *ident = strtok_r(NULL, ".", &save);
    if (!part || !mn || !ident || strtok_r(NULL, ".", &save)) return 0;
    char *end;
    long pn = strtol(part, &end, 10);
    if (*end || pn < 0 || pn >= c->partitions || !(*model = byron_component_model(c, mn)) ||
        !byron_id_is_valid(ident))
        return 0;
    snprintf(id, BYRON_ID_MAX + 1, "%s", ident);
    *partition = (int)pn;
    return 1;
}

static byron_proj_result_t check_own(byron_projection_t *p, const byron_proj_msg_t *m, own_event_t *o,
                                     byron_err_t *err) {
    memset(o, 0, sizeof *o);
    if (byron_event_parse(m->data, m->len, &o->ev, err) != BYRON_OK) return BYRON_PROJ_INVALID;
    json_object_object_add(o->ev, "byronsequence", json_object_new_uint64(m->seq));
    o->type = ev_str(o->ev, "type");
    o->id = ev_str(o->ev, "subject");
    o->version = json_object_get_int64(json_object_object_get(o->ev, "byronversion"));
    o->data = json_object_object_get(o->ev, "data");
    const char *mname = ev_str(o->ev, "byronmodel");
    if (!(o->model = byron_component_model(p->comp, mname))) {
        byron_err_set(err, BYRON_EINVAL, "event.byronmodel: %s is not a model of %s", mname,
                      p->comp->component);
        return not_understood(p, m, o->ev, err);
    }
    char want[BYRON_SUBJECT_MAX];
    if (byron_subject_format(want, sizeof want, p->comp, o->model->name, o->id) < 0 ||
        strcmp(want, m->subject) != 0 ||
        byron_partition(o->model->name, o->id, p->comp->partitions) != (uint32_t)m->partition) {
        byron_err_set(err, BYRON_EINVAL, "subject %s is not the subject of %s %s (%s)", m->subject,
                      o->model->name, o->id, want);
        return BYRON_PROJ_INVALID;
    }
    char *end = NULL;
    long long hv = m->header_version ? strtoll(m->header_version, &end, 10) : 0;
    if (!m->header_version || *end || hv != o->version) {
        byron_err_set(err, BYRON_EINVAL, "Byron-Version header %s differs from event.byronversion %" PRId64,
                      m->header_version ? m->header_version : "(absent)", o->version);
        return BYRON_PROJ_INVALID;
    }
    if (o->version > BYRON_VERSION_MAX) {
        byron_err_set(err, BYRON_EINVAL, "event.byronversion %" PRId64 " is absurd (above %" PRId64 ")",
                      o->version, (int64_t)BYRON_VERSION_MAX);
        return BYRON_PROJ_INVALID;
    }
    o->kind = byron_projector_event_kind(o->type, o->model->name);
    if (o->kind == BYRON_EVENT_CUSTOM && !emitted(p->comp, o->model, o->type)) {
        byron_err_set(err, BYRON_EINVAL, "event.type: no command of %s emits %s", o->model->name, o->type);
        return not_understood(p, m, o->ev, err);
    }
    /* A create carries the whole object: every required field (no allowed
     * model change adds one to an existing model: docs/evolution.md), and its
     * own id; an update only names and types. */
    if ((o->kind == BYRON_EVENT_CREATED || o->kind == BYRON_EVENT_UPDATED) &&
        byron_input_validate(o->model->fields, o->model->nfields, o->data, o->kind == BYRON_EVENT_UPDATED, 1,
                             "event.data", err) != BYRON_OK)
        return not_understood(p, m, o->ev, err);
    json_object *did = NULL;
    if (o->kind == BYRON_EVENT_CREATED && (!json_object_object_get_ex(o->data, "id", &did) ||
                                           strcmp(json_object_get_string(did), o->id) != 0)) {
        byron_err_set(err, BYRON_EINVAL, "event.data.id: must be the event's subject %s", o->id);
        return BYRON_PROJ_INVALID;
    }
    return BYRON_PROJ_APPLIED;
}

/* ------------------------------------------------------------------ own events */

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

/* The writes for an own event at version o->version over the projection (cur, stored). */
static void plan_own(const own_event_t *o, json_object *cur, int64_t stored,
                     const byron_projector_answer_t *ans, writes_t *w) {
    memset(w, 0, sizeof *w);
    w->model = o->model;
    w->id = o->id;
    w->from = stored;
    w->to = o->version;
    w->had_doc = cur != NULL;
    w->unset = json_object_new_object();
    if (!ans->skip && (o->kind == BYRON_EVENT_DELETED || (ans->has_own && ans->own.del))) {
        w->op = OP_DELETE;
    } else if (!ans->skip && o->kind == BYRON_EVENT_CREATED) {
        w->op = OP_REPLACE;
        w->set = fields_of(o->data);
    } else {
        w->op = OP_UPDATE;
        w->set = !ans->skip && o->kind == BYRON_EVENT_UPDATED ? fields_of(o->data) : json_object_new_object();
    }
    if (w->op != OP_DELETE && !ans->skip && ans->has_own) {
        if (ans->own.set) {
            json_object_object_foreach(ans->own.set, k, v)
                json_object_object_add(w->set, k, json_object_get(v));
        }
        for (size_t i = 0; ans->own.unset && i < json_object_array_length(ans->own.unset); i++) {
            const char *f = json_object_get_string(json_object_array_get_idx(ans->own.unset, i));
            json_object_object_del(w->set, f);
            if (w->op == OP_UPDATE) json_object_object_add(w->unset, f, json_object_new_string(""));
        }
    }
    w->changes = ans->skip ? NULL : ans->changes;
    w->nchanges = ans->skip ? 0 : ans->nchanges;
}

/* Behind the projection by more than one version: a bad event, or the
 * aggregate was stopped by an earlier dead letter. */
static byron_proj_result_t gap(byron_projection_t *p, mongoc_client_t *cl, const byron_proj_msg_t *m,
                               const own_event_t *o, int64_t stored, byron_err_t *err) {
    char key[BYRON_ID_MAX + 160];
    json_object *b = NULL;
    state_key(key, sizeof key, BYRON_CACHE_BLOCKED_FMT, o->model->name, o->id);
    byron_proj_result_t r =
        m->dlq_replay ? BYRON_PROJ_APPLIED : read_doc(p, cl, BYRON_CACHE_STATE_COLLECTION, key, &b, err);
    if (r != BYRON_PROJ_APPLIED) return r;
    if (b) {
        json_object *seq = json_object_object_get(b, "sequence");
        byron_err_set(err, BYRON_ESTATE,
                      "%s %s is stopped at version %" PRId64
                      " by the dead letter of stream sequence %" PRId64,
                      o->model->name, o->id, stored, json_object_get_int64(seq));
        json_object_put(b);
        return BYRON_PROJ_BLOCKED;
    }
    byron_err_set(err, BYRON_EINVAL, "%s %s: version %" PRId64 " after %" PRId64 " (not the next one)",
                  o->model->name, o->id, o->version, stored);
    return BYRON_PROJ_INVALID;
}

/* Without an app nothing needs the document before the write: an update (or
 * a custom event's version move) is written straight away, conditional on
 * the version before the event's — the very check the read would make. *done:
 * it matched. Anything else — no document (a tombstone), a gap, a duplicate —
 * matches nothing and takes the read path, which decides as it always has.
 * One database call per event instead of two. */
static byron_proj_result_t write_first(byron_projection_t *p, mongoc_client_t *cl, const own_event_t *o,
                                       int *done, byron_err_t *err) {
    *done = 0;
    if (p->app || o->version < 2 || (o->kind != BYRON_EVENT_UPDATED && o->kind != BYRON_EVENT_CUSTOM))
        return BYRON_PROJ_APPLIED;
    byron_projector_answer_t none = {0};
    writes_t w;
    plan_own(o, NULL, o->version - 1, &none, &w);
    byron_cache_put_t put = {.set = w.set, .unset = w.unset, .from = w.from, .to = w.to};
    byron_proj_result_t r =
        settle_as(byron_cache_put_if_version(cl, p->db, p->gen, w.model->name, w.id, &put, done, err));
    writes_cleanup(&w);
    if (*done) failpoint("after-own-write"); /* a miss wrote nothing: the read path's write is the one */
    if (r == BYRON_PROJ_APPLIED && *done && o->kind == BYRON_EVENT_CUSTOM) r = BYRON_PROJ_UNHANDLED;
    return r;
}

static byron_proj_result_t project_own(byron_projection_t *p, mongoc_client_t *cl, const byron_proj_msg_t *m,
                                       own_event_t *o, byron_err_t *err) {
    byron_proj_result_t r = BYRON_PROJ_RETRY;
    json_object *j = NULL;
    if ((r = journal_read(p, cl, m, &j, err)) != BYRON_PROJ_APPLIED) return r;
    if (j) {
        r = resume(p, cl, m, j, err);
        json_object_put(j);
        return r;
    }
    int done = 0;
    if ((r = write_first(p, cl, o, &done, err)) != BYRON_PROJ_APPLIED || done) return r;
    byron_err_set(err, BYRON_ECONFLICT, "%s %s: the cached document kept changing under us", o->model->name,
                  o->id);
    for (int round = 0; round < 4; round++) {
        json_object *cur = NULL;
        int64_t stored = 0;
        byron_err_clear(err);
        if ((r = read_projection(p, cl, o->model->name, o->id, &cur, &stored, err)) != BYRON_PROJ_APPLIED)
            break;
        byron_projector_guard_t g = byron_projector_guard(stored, o->version);
        if (g != BYRON_PROJECTOR_APPLY) {
            json_object_put(cur);
            r = g == BYRON_PROJECTOR_SKIP ? BYRON_PROJ_SKIPPED : gap(p, cl, m, o, stored, err);
            break;
        }
        /* Generated events project by themselves; the app may add to them. */
        byron_projector_answer_t ans;
        r = app_handle(p, o->ev, cur, 0, o->model, o->id, m->deliveries, &ans, err);
        failpoint("after-handler");
        int handled = r == BYRON_PROJ_APPLIED;
        if (r == BYRON_PROJ_RETRY || r == BYRON_PROJ_UNAVAILABLE) {
            json_object_put(cur);
            break;
        }
        byron_err_clear(err);
        writes_t w;
        plan_own(o, cur, stored, &ans, &w);
        w.after_event = p->app ? o->ev : NULL;
        w.after_current = cur;
        int lost = 0;
        r = carry_out(p, cl, m, &w, 0, &lost, err);
        if (r == BYRON_PROJ_APPLIED && o->kind == BYRON_EVENT_CUSTOM && !handled && !ans.skip)
            r = BYRON_PROJ_UNHANDLED;
        writes_cleanup(&w);
        byron_projector_answer_cleanup(&ans);
        json_object_put(cur);
        if (!lost) break; /* lost a race: read again and decide again */
        r = BYRON_PROJ_RETRY;
        byron_err_set(err, BYRON_ECONFLICT, "%s %s changed concurrently", o->model->name, o->id);
    }
    return r;
}

/* ------------------------------------------------------------------ subscribed events */

static byron_proj_result_t checkpoint_write(byron_projection_t *p, mongoc_client_t *cl,
                                            const byron_proj_msg_t *m, byron_err_t *err) {
    char key[200];
    snprintf(key, sizeof key, "sub:%s", m->stream);
    byron_proj_result_t r =
        settle_as(byron_cache_state_max(cl, p->db, p->gen, key, "seq", (int64_t)m->seq, err));
    if (r == BYRON_PROJ_APPLIED && m->checkpoint && *m->checkpoint < m->seq) *m->checkpoint = m->seq;
    return r;
}

static byron_proj_result_t project_subscribed(byron_projection_t *p, mongoc_client_t *cl,
                                              const byron_proj_msg_t *m, json_object *ev, byron_err_t *err) {
    const char *type = ev_str(ev, "type");
    const byron_subscription_t *sd = m->sub;
    int listed = !sd->nevents;
    for (size_t i = 0; i < sd->nevents && !listed; i++) listed = strcmp(sd->events[i], type) == 0;
    if (!listed) return BYRON_PROJ_FILTERED;
    json_object *j = NULL;
    byron_proj_result_t r = journal_read(p, cl, m, &j, err);
    if (r != BYRON_PROJ_APPLIED) return r;
    if (j) {
        r = resume(p, cl, m, j, err);
        json_object_put(j);
        return r == BYRON_PROJ_APPLIED ? checkpoint_write(p, cl, m, err) : r;
    }
    if (m->checkpoint && m->seq <= *m->checkpoint) return BYRON_PROJ_SKIPPED;
    byron_projector_answer_t ans;
    r = app_handle(p, ev, NULL, 1, NULL, NULL, m->deliveries, &ans, err);
    if (r == BYRON_PROJ_APPLIED) {
        writes_t w = {.op = OP_NONE, .changes = ans.changes, .nchanges = ans.nchanges, .after_event = ev};
        int lost = 0;
        r = carry_out(p, cl, m, &w, 0, &lost, err);
    }
    byron_projector_answer_cleanup(&ans);
    if (r != BYRON_PROJ_APPLIED && r != BYRON_PROJ_UNHANDLED) return r;
    byron_proj_result_t c = checkpoint_write(p, cl, m, err);
    return c == BYRON_PROJ_APPLIED ? r : c;
}

/* ------------------------------------------------------------------ entry points */

byron_proj_result_t byron_projection_apply(byron_projection_t *p, mongoc_client_t *cl,
                                           const byron_proj_msg_t *m, char *type, size_t type_cap,
                                           byron_err_t *err) {
    type[0] = '\0';
    if (m->sub) {
        json_object *ev = NULL;
        if (byron_event_parse(m->data, m->len, &ev, err) != BYRON_OK) return BYRON_PROJ_INVALID;
        json_object_object_add(ev, "byronsequence", json_object_new_uint64(m->seq));
        snprintf(type, type_cap, "%s", ev_str(ev, "type"));
        byron_proj_result_t r = project_subscribed(p, cl, m, ev, err);
        json_object_put(ev);
        return r;
    }
    own_event_t o;
    byron_proj_result_t r = check_own(p, m, &o, err);
    if (o.type) snprintf(type, type_cap, "%s", o.type);
    if (r == BYRON_PROJ_APPLIED) r = project_own(p, cl, m, &o, err);
    json_object_put(o.ev);
    return r;
}

byron_status_t byron_projection_dead_lettered(byron_projection_t *p, mongoc_client_t *cl,
                                              const byron_proj_msg_t *m, byron_proj_result_t why,
                                              const char *reason, byron_err_t *err) {
    const byron_model_t *model;
    char id[BYRON_ID_MAX + 1];
    int part;
    if (m->sub || (why != BYRON_PROJ_INVALID && why != BYRON_PROJ_RETRY) ||
        !parse_subject(p->comp, m->subject, &model, id, &part) || part != m->partition)
        return BYRON_OK; /* no aggregate of ours behind that subject */
    json_object *doc = NULL;
    int64_t stored = 0;
    byron_proj_result_t r = read_projection(p, cl, model->name, id, &doc, &stored, err);
    int had_doc = doc != NULL;
    json_object_put(doc);
    if (r != BYRON_PROJ_APPLIED) return err->code ? err->code : BYRON_EIO;
    if (why == BYRON_PROJ_RETRY) { /* a valid event that kept failing: stop the aggregate before it */
        byron_cache_block_t b = {
            .model = model->name, .id = id, .version = stored, .sequence = (int64_t)m->seq, .reason = reason};
        return byron_cache_block(cl, p->db, p->gen, &b, err);
    }
    /* Invalid: the aggregate moves past the version its subject's message
     * claimed (what the api counts from), with nothing applied. */
    char *end = NULL;
    long long hv = m->header_version ? strtoll(m->header_version, &end, 10) : 0;
    if (!m->header_version || *end || hv <= stored || hv > BYRON_VERSION_MAX) return BYRON_OK;
    writes_t w = {.op = OP_UPDATE, .model = model, .id = id, .from = stored, .to = hv, .had_doc = had_doc};
    w.set = json_object_new_object();
    w.unset = json_object_new_object();
    int lost = 0;
    r = apply_own(p, cl, &w, &lost, err);
    writes_cleanup(&w);
    if (r != BYRON_PROJ_APPLIED) return err->code ? err->code : BYRON_EIO;
    if (lost)
        return byron_err_set(err, BYRON_ECONFLICT, "%s %s changed while moving past a dead letter",
                             model->name, id);
    return BYRON_OK;
}
