/* gqlapi_subscriptions.c — graphql-transport-ws on /graphql.
 *
 * Three kinds of threads touch a connection, each with one job:
 *
 *   lws service thread  bytes only: collects a text message (≤ max-body-bytes),
 *                       queues it as a task; writes queued answers when the
 *                       socket is writable; fires the connection_init timer.
 *   NATS delivery       one ordered JetStream consumer per subscription (the
 *   (cnats pool)        sidecar's one connection, stream.h; the library's
 *                       delivery pool): copies the event
 *                       into the connection's task queue. Never blocks.
 *   ws workers          run a connection's tasks in order through the engine's
 *                       state machine (receive / push_event / timeout / free):
 *                       a connection is queued on the run queue at most once,
 *                       so its machine is only ever used by one thread at a
 *                       time. Answers go to the connection's outbox, then a
 *                       notify list + lws_cancel_service wake the service thread.
 *
 * Bounded: connections (--graphql-max-connections, then the upgrade is refused),
 * subscriptions per connection (the engine's max_subscriptions), queued events
 * and unsent messages per connection (--graphql-ws-queue: beyond, the client
 * is too slow and the connection is closed with 1013 "Try Again Later", which
 * graphql-ws clients retry; they can resume with fromSequence).
 *
 * Lifetimes: a connection is reference counted (service thread until CLOSED,
 * the run queue while scheduled, the notify list, each NATS subscription until
 * cnats reports it complete). Subscriptions are freed in cnats' on-complete
 * callback, after their last message handler returned. */
#include "gqlapi_subscriptions.h"

#include "auth.h"
#include "byron/json.h"
#include "byron/log.h"
#include "commands.h"
#include "gqlapi_resolvers.h"
#include "stream.h"
#include "subject.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOSE_SLOW 1013    /* Try Again Later: graphql-ws clients retry it */
#define CLOSE_TOO_BIG 1009 /* Message Too Big */
/* Events waiting for a worker may reach this many times --graphql-ws-queue:
 * a replay (fromSequence) arrives from NATS faster than it is executed, so
 * the unsent-message bound, not this one, is what catches a slow client. */
#define EVENTS_PER_QUEUE 8

typedef enum { T_RECV, T_EVENT, T_TIMEOUT, T_CLOSE } task_kind_t;

/* One event as received from the stream, shared read-only by every
 * subscriber it is fanned out to (one copy, however many subscribers). */
typedef struct shared_ev {
    atomic_int refs;
    uint64_t seq; /* stream sequence */
    size_t len;
    char data[]; /* the envelope, NUL-terminated */
} shared_ev_t;

static shared_ev_t *shared_ev_new(natsMsg *msg) {
    int len = natsMsg_GetDataLength(msg);
    shared_ev_t *e = malloc(sizeof *e + (size_t)len + 1);
    if (!e) return NULL;
    atomic_init(&e->refs, 1);
    e->len = (size_t)len;
    memcpy(e->data, natsMsg_GetData(msg), (size_t)len);
    e->data[len] = '\0';
    e->seq = 0;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        e->seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    return e;
}

static void shared_ev_release(shared_ev_t *e) {
    if (e && atomic_fetch_sub(&e->refs, 1) == 1) free(e);
}

typedef struct task {
    struct task *next;
    task_kind_t kind;
    unsigned gen;    /* T_EVENT: the subscription's generation */
    shared_ev_t *ev; /* T_EVENT: a reference */
    char *data;      /* T_RECV */
    size_t len;
} task_t;

static void task_free(task_t *t) {
    free(t->data);
    shared_ev_release(t->ev);
    free(t);
}

/* Bytes a task holds against the connection's queue bound. */
static size_t task_bytes(const task_t *t) { return t->ev ? t->ev->len : t->len; }

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
} out_msg_t;

typedef struct conn conn_t;
typedef struct feed feed_t;

typedef struct sub {
    struct sub *next; /* conn->active: worker only */
    conn_t *conn;
    feed_t *feed;           /* live events from the model's shared feed; NULL: own consumer (replay) */
    char *oid;              /* only this object's events (feed subscriptions), or NULL */
    natsSubscription *nsub; /* own consumer (fromSequence replays) */
    unsigned gen;
    char *id;
    char *model;              /* worker only */
    byron_access_rows_t rows; /* worker only: the rows the subscriber may see (access.h) */
} sub_t;

struct conn {
    byron_gqlapi_subs_t *subs;
    atomic_int refs;
    pthread_mutex_t lock; /* everything down to `scheduled` */
    task_t *in_head, *in_tail;
    unsigned in_events;
    size_t in_bytes, out_bytes; /* bounded by --graphql-ws-queue-bytes */
    out_msg_t *out_head, *out_tail;
    unsigned out_count;
    int close_code, close_now;
    char close_reason[128];
    int scheduled, notified, gone;
    int64_t timer_at_ms; /* a worker asks the service thread to arm the timer (token expiry); 0: none */
    conn_t *run_next, *notify_next;
    conn_t *all_prev, *all_next; /* subs->all, under subs->alock */
    /* Worker only (one at a time). */
    byron_graphql_ws_t *machine;
    byron_graphql_event_source_t source;
    byron_gqlapi_request_t rctx;
    byron_principal_t principal; /* anonymous until connection_init proves otherwise; the app on the socket */
    int public_listener;         /* set at ESTABLISHED, read by workers after */
    sub_t *active;
    unsigned next_gen;
    /* Service thread only. */
    struct lws *wsi;
    char *rx;
    size_t rx_len;
};

typedef struct {
    conn_t *c;
} pss_t;

/* One ordered JetStream consumer per model per replica, fanned out in
 * process to every live subscription of that model (feed_on_msg). Started
 * by the model's first subscriber, kept until shutdown. */
struct feed {
    byron_gqlapi_subs_t *subs;
    const byron_model_t *model;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t done_cond;
    natsSubscription *nsub; /* NULL until the first subscriber */
    int done;               /* cnats completed nsub */
    sub_t **members;
    size_t n, cap;
};

struct byron_gqlapi_subs {
    byron_sidecar_t *sc;
    const byron_graphql_schema_t *schema;
    byron_gqlapi_options_t opts;
    byron_stream_t *stream; /* sc's: the sidecar's one NATS connection */
    pthread_mutex_t rlock;  /* replays */
    pthread_cond_t rcond;   /* replays fell */
    int replays;            /* replay consumers not yet completed by cnats */
    struct lws_protocols protocol;
    _Atomic(struct lws_context *) ctx;
    atomic_int stopping;
    atomic_int nconns;
    atomic_int nsubs; /* subscriptions of every connection (--graphql-max-replica-subscriptions) */
    feed_t *feeds;    /* one per model, component order */
    byron_metric_t *m_conns, *m_subs, *m_slow, *m_feeds; /* NULL without metrics */
    pthread_mutex_t lock;                                /* run queue */
    pthread_cond_t cond, idle;
    conn_t *run_head, *run_tail;
    int stop, running;
    int stopped; /* byron_gqlapi_subs_stop has run (main's thread only) */
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t nlock; /* notify list */
    conn_t *notify_head;
    pthread_mutex_t alock; /* every open connection, for the shutdown close */
    conn_t *all;
};

/* ------------------------------------------------------------------ connections */

static void conn_ref(conn_t *c) { atomic_fetch_add(&c->refs, 1); }

static void conn_release(conn_t *c) {
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    for (task_t *t = c->in_head, *n; t; t = n) {
        n = t->next;
        task_free(t);
    }
    for (out_msg_t *m = c->out_head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    byron_gqlapi_request_cleanup(&c->rctx);
    byron_principal_cleanup(&c->principal);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void schedule(byron_gqlapi_subs_t *subs, conn_t *c) {
    pthread_mutex_lock(&subs->lock);
    c->run_next = NULL;
    if (subs->run_tail)
        subs->run_tail->run_next = c;
    else
        subs->run_head = c;
    subs->run_tail = c;
    pthread_cond_signal(&subs->cond);
    pthread_mutex_unlock(&subs->lock);
}

/* Wake the service thread to write c's outbox (or close it). */
static void notify(conn_t *c) {
    byron_gqlapi_subs_t *subs = c->subs;
    int add = 0;
    pthread_mutex_lock(&c->lock);
    if (!c->notified && !c->gone) {
        c->notified = add = 1;
        conn_ref(c);
    }
    pthread_mutex_unlock(&c->lock);
    if (!add) return;
    pthread_mutex_lock(&subs->nlock);
    c->notify_next = subs->notify_head;
    subs->notify_head = c;
    /* Under nlock: byron_gqlapi_subs_stop() takes it to set `stopping`, so no
     * wake-up can reach a context that is being destroyed. */
    struct lws_context *ctx = atomic_load(&subs->ctx);
    if (ctx && !atomic_load(&subs->stopping)) lws_cancel_service(ctx);
    pthread_mutex_unlock(&subs->nlock);
}

/* Mark c to be closed now (slow client): its queues are dropped. Lock held. */
static void overflow_locked(conn_t *c, const char *what) {
    if (c->close_now) return;
    if (c->subs->m_slow) byron_metric_add(c->subs->m_slow, NULL, 1);
    c->close_now = 1;
    c->close_code = CLOSE_SLOW;
    snprintf(c->close_reason, sizeof c->close_reason, "Slow consumer: too many %s queued", what);
}

/* Queue a task; takes ownership of t. Tasks for a closed connection are
 * dropped, except the final T_CLOSE. */
static void push_task(conn_t *c, task_t *t) {
    int sched = 0;
    pthread_mutex_lock(&c->lock);
    if ((c->gone && t->kind != T_CLOSE) || (c->close_now && t->kind == T_EVENT)) {
        pthread_mutex_unlock(&c->lock);
        task_free(t);
        return;
    }
    if (t->kind == T_EVENT &&
        (c->in_events >= EVENTS_PER_QUEUE * c->subs->opts.ws_queue ||
         (c->in_events > 0 && c->in_bytes + c->out_bytes + task_bytes(t) > c->subs->opts.ws_queue_bytes))) {
        overflow_locked(c, c->in_events >= EVENTS_PER_QUEUE * c->subs->opts.ws_queue ? "events" : "bytes");
        pthread_mutex_unlock(&c->lock);
        task_free(t);
        notify(c);
        return;
    }
    if (t->kind == T_EVENT) c->in_events++;
    c->in_bytes += task_bytes(t);
    t->next = NULL;
    if (c->in_tail)
        c->in_tail->next = t;
    else
        c->in_head = t;
    c->in_tail = t;
    if (!c->scheduled) {
        c->scheduled = sched = 1;
        conn_ref(c);
    }
    pthread_mutex_unlock(&c->lock);
    if (sched) schedule(c->subs, c);
}

static void push_simple(conn_t *c, task_kind_t kind, char *data, size_t len) {
    task_t *t = calloc(1, sizeof *t);
    if (!t) {
        free(data);
        return;
    }
    t->kind = kind;
    t->data = data;
    t->len = len;
    push_task(c, t);
}

/* The machine's output → the outbox (bounded) and a wake-up. */
static void deliver(conn_t *c, byron_graphql_ws_output_t *out) {
    int wake = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < out->count && !c->gone && !c->close_now; i++) {
        size_t len = strlen(out->messages[i]);
        /* One message always fits, however big: the bound is on what piles up. */
        if (c->out_count >= c->subs->opts.ws_queue ||
            (c->out_count > 0 && c->out_bytes + len > c->subs->opts.ws_queue_bytes)) {
            overflow_locked(c, c->out_count >= c->subs->opts.ws_queue ? "unsent messages" : "bytes");
            break;
        }
        out_msg_t *m = malloc(sizeof *m + LWS_PRE + len);
        if (!m) break;
        m->next = NULL;
        m->len = len;
        memcpy(m->buf + LWS_PRE, out->messages[i], len);
        if (c->out_tail)
            c->out_tail->next = m;
        else
            c->out_head = m;
        c->out_tail = m;
        c->out_count++;
        c->out_bytes += len;
        wake = 1;
    }
    if (out->close_code && !c->close_code) {
        c->close_code = out->close_code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", out->close_reason);
    }
    if (c->close_code) wake = 1;
    pthread_mutex_unlock(&c->lock);
    if (wake) notify(c);
}

/* ------------------------------------------------------------------ event source (worker) */

static void on_msg(natsConnection *nc, natsSubscription *nsub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)nsub;
    sub_t *s = closure;
    task_t *t = calloc(1, sizeof *t);
    if (t && (t->ev = shared_ev_new(msg))) {
        t->kind = T_EVENT;
        t->gen = s->gen;
        push_task(s->conn, t);
    } else {
        free(t);
    }
    natsMsg_Destroy(msg);
}

static void sub_free(sub_t *s) {
    atomic_fetch_sub(&s->conn->subs->nsubs, 1);
    conn_release(s->conn);
    byron_access_rows_cleanup(&s->rows); /* last touched by the worker that unsubscribed */
    free(s->model);
    free(s->oid);
    free(s->id);
    free(s);
}

/* cnats: the subscription is closed and its handler will not run again. The
 * count goes last: once it reaches 0, free may go on (subs_free waits for it). */
static void on_complete(void *closure) {
    sub_t *s = closure;
    byron_gqlapi_subs_t *subs = s->conn->subs;
    sub_free(s);
    pthread_mutex_lock(&subs->rlock);
    subs->replays--;
    pthread_cond_broadcast(&subs->rcond);
    pthread_mutex_unlock(&subs->rlock);
}

/* ------------------------------------------------------------------ feeds: one consumer per model */

/* The model's events, fanned out to its live subscribers (cnats delivers a
 * subscription's messages one at a time, so each subscriber sees them in
 * stream order). One copy of the event, shared; a task per subscriber. */
static void feed_on_msg(natsConnection *nc, natsSubscription *nsub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)nsub;
    feed_t *f = closure;
    shared_ev_t *ev = shared_ev_new(msg);
    const char *subject = natsMsg_GetSubject(msg), *dot = subject ? strrchr(subject, '.') : NULL;
    const char *oid = dot ? dot + 1 : "";
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; ev && i < f->n; i++) {
        sub_t *s = f->members[i];
        if (s->oid && strcmp(s->oid, oid) != 0) continue;
        task_t *t = calloc(1, sizeof *t);
        if (!t) break;
        t->kind = T_EVENT;
        t->gen = s->gen;
        atomic_fetch_add(&ev->refs, 1);
        t->ev = ev;
        push_task(s->conn, t);
    }
    pthread_mutex_unlock(&f->lock);
    shared_ev_release(ev);
    natsMsg_Destroy(msg);
}

static void feed_on_complete(void *closure) {
    feed_t *f = closure;
    pthread_mutex_lock(&f->lock);
    f->done = 1;
    pthread_cond_broadcast(&f->done_cond);
    pthread_mutex_unlock(&f->lock);
}

/* Adds s to the model's feed, starting its consumer for the first subscriber. */
static byron_status_t feed_join(feed_t *f, sub_t *s, byron_graphql_field_error_t *err) {
    byron_gqlapi_subs_t *subs = f->subs;
    const byron_component_t *comp = subs->sc->component;
    pthread_mutex_lock(&f->lock);
    if (!f->nsub) {
        char subject[BYRON_SUBJECT_MAX];
        snprintf(subject, sizeof subject, "%s.*.%s.*", comp->subject_prefix, f->model->name);
        byron_err_t e = {0};
        if (byron_stream_subscribe(subs->stream, subject, 0, feed_on_msg, feed_on_complete, f, &f->nsub,
                                   &e) != BYRON_OK) {
            pthread_mutex_unlock(&f->lock);
            return byron_graphql_field_error_set(err, BYRON_EUNAVAILABLE, BYRON_CODE_UNAVAILABLE,
                                                 "cannot subscribe to %s: %s", subject, e.msg);
        }
        if (subs->m_feeds) byron_metric_add(subs->m_feeds, NULL, 1);
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        sub_t **nm = realloc(f->members, cap * sizeof *nm);
        if (!nm) {
            pthread_mutex_unlock(&f->lock);
            return byron_graphql_field_error_set(err, BYRON_ENOMEM, NULL, "out of memory");
        }
        f->members = nm;
        f->cap = cap;
    }
    f->members[f->n++] = s;
    pthread_mutex_unlock(&f->lock);
    return BYRON_OK;
}

/* After this returns, the feed hands s no more events. O(subscribers of the model). */
static void feed_leave(feed_t *f, sub_t *s) {
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n; i++)
        if (f->members[i] == s) {
            f->members[i] = f->members[--f->n];
            break;
        }
    pthread_mutex_unlock(&f->lock);
}

/* The model of a subscription field (orderEvents: Order); NULL when none. */
static const byron_model_t *events_model(const byron_component_t *comp, const char *field) {
    for (size_t i = 0; i < comp->nmodels; i++) {
        char name[200];
        snprintf(name, sizeof name, "%c%sEvents", tolower((unsigned char)comp->models[i].name[0]),
                 comp->models[i].name + 1);
        if (strcmp(name, field) == 0) return &comp->models[i];
    }
    return NULL;
}

/* fromSequence: a positive decimal stream sequence into *seq (0 when absent). */
static byron_status_t from_sequence(const char *from, uint64_t *seq, byron_graphql_field_error_t *err) {
    *seq = 0;
    if (!from) return BYRON_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(from, &end, 10);
    if (errno || end == from || *end || !isdigit((unsigned char)from[0]) || v == 0)
        return byron_graphql_field_error_set(err, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "fromSequence: \"%.32s\" is not a stream sequence (a positive "
                                             "decimal number)",
                                             from);
    *seq = v;
    return BYRON_OK;
}

/* A new subscription of c in *out, allowed (its rows from the access policy)
 * and counted against --graphql-max-replica-subscriptions; else err set. */
static byron_status_t sub_new(conn_t *c, const char *id, const byron_model_t *m, const char *field,
                              sub_t **out, byron_graphql_field_error_t *err) {
    byron_gqlapi_subs_t *subs = c->subs;
    *out = NULL;
    sub_t *s = calloc(1, sizeof *s);
    if (!s || !(s->id = strdup(id)) || !(s->model = strdup(m->name))) {
        if (s) free(s->id);
        free(s);
        return byron_graphql_field_error_set(err, BYRON_ENOMEM, NULL, "out of memory");
    }
    /* Allowed by the engine's authorize hook already; what remains is which rows. */
    if (byron_access_check(subs->sc->component->access, field, &c->principal, &s->rows) !=
        BYRON_ACCESS_ALLOW) {
        free(s->model);
        free(s->id);
        free(s);
        return byron_graphql_field_error_set(err, BYRON_EREJECTED, BYRON_CODE_FORBIDDEN, "%s: not allowed",
                                             field);
    }
    s->conn = c;
    s->gen = ++c->next_gen;
    conn_ref(c);
    if (atomic_fetch_add(&subs->nsubs, 1) >= (int)subs->opts.max_replica_subscriptions) {
        sub_free(s);
        return byron_graphql_field_error_set(err, BYRON_ELIMIT, "TOO_MANY_SUBSCRIPTIONS",
                                             "this server holds its maximum of %u subscriptions; retry later",
                                             subs->opts.max_replica_subscriptions);
    }
    *out = s;
    return BYRON_OK;
}

/* A replay (fromSequence) reads from that sequence on a consumer of its own. */
static byron_status_t replay_subscribe(conn_t *c, sub_t *s, const char *subject, uint64_t seq,
                                       byron_graphql_field_error_t *err) {
    byron_gqlapi_subs_t *subs = c->subs;
    pthread_mutex_lock(&subs->rlock); /* counted before cnats can complete it */
    subs->replays++;
    pthread_mutex_unlock(&subs->rlock);
    byron_err_t e = {0};
    if (byron_stream_subscribe(subs->stream, subject, seq, on_msg, on_complete, s, &s->nsub, &e) !=
        BYRON_OK) {
        pthread_mutex_lock(&subs->rlock);
        subs->replays--;
        pthread_mutex_unlock(&subs->rlock);
        return byron_graphql_field_error_set(err, BYRON_EUNAVAILABLE, BYRON_CODE_UNAVAILABLE,
                                             "cannot subscribe to %s: %s", subject, e.msg);
    }
    return BYRON_OK;
}

/* Subscription.mEvents(id, fromSequence): an ordered consumer on the model's
 * (or one object's) subjects, from a sequence or from now. */
static byron_status_t src_subscribe(void *ctx, const char *id, const char *field, json_object *args,
                                    void **handle, byron_graphql_field_error_t *err) {
    conn_t *c = ctx;
    byron_gqlapi_subs_t *subs = c->subs;
    const byron_component_t *comp = subs->sc->component;
    const byron_model_t *m = events_model(comp, field);
    if (!m)
        return byron_graphql_field_error_set(err, BYRON_EINVAL, NULL,
                                             "%s: not a subscription of this component", field);
    const char *oid = byron_json_string_or_null(args, "id");
    if (oid && !byron_id_is_valid(oid))
        return byron_graphql_field_error_set(err, BYRON_EINVAL, BYRON_CODE_BAD_USER_INPUT,
                                             "id: \"%.64s\" is not a valid id ([A-Za-z0-9_-]{1,128})", oid);
    uint64_t seq = 0;
    byron_status_t st = from_sequence(byron_json_string_or_null(args, "fromSequence"), &seq, err);
    if (st != BYRON_OK) return st;
    char subject[BYRON_SUBJECT_MAX];
    if (oid)
        byron_subject_format(subject, sizeof subject, comp, m->name, oid);
    else
        snprintf(subject, sizeof subject, "%s.*.%s.*", comp->subject_prefix, m->name);
    sub_t *s = NULL;
    if ((st = sub_new(c, id, m, field, &s, err)) != BYRON_OK) return st;
    if (!seq) { /* live events: the model's one shared consumer */
        feed_t *f = &subs->feeds[m - comp->models];
        st = oid && !(s->oid = strdup(oid))
                 ? byron_graphql_field_error_set(err, BYRON_ENOMEM, NULL, "out of memory")
                 : feed_join(f, s, err);
        if (st == BYRON_OK) s->feed = f;
    } else {
        st = replay_subscribe(c, s, subject, seq, err);
    }
    if (st != BYRON_OK) {
        sub_free(s);
        return st;
    }
    s->next = c->active;
    c->active = s;
    *handle = s;
    if (subs->m_subs) byron_metric_add(subs->m_subs, NULL, 1);
    return BYRON_OK;
}

static void src_unsubscribe(void *ctx, void *handle) {
    conn_t *c = ctx;
    sub_t *s = handle;
    for (sub_t **p = &c->active; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    if (c->subs->m_subs) byron_metric_add(c->subs->m_subs, NULL, -1);
    if (s->feed) {
        feed_leave(s->feed, s);
        sub_free(s);
        return;
    }
    natsSubscription *nsub = s->nsub;
    natsSubscription_Unsubscribe(nsub); /* s is freed by on_complete, maybe already */
    natsSubscription_Destroy(nsub);
}

/* ------------------------------------------------------------------ workers */

/* Row rules on an event: its object is the event's data over the cached
 * object (an update carries only the changed fields), with the id. */
static int event_visible(conn_t *c, sub_t *s, json_object *ev) {
    if (byron_access_rows_all(&s->rows)) return 1;
    json_object *data = NULL, *id = NULL, *obj = NULL;
    json_object_object_get_ex(ev, "id", &id);
    json_object_object_get_ex(ev, "data", &data);
    byron_err_t err = {0};
    if (id && c->subs->sc->cache &&
        byron_cache_get(c->subs->sc->cache, s->model, json_object_get_string(id), &obj, &err) != BYRON_OK)
        obj = NULL;
    if (!obj) obj = json_object_new_object();
    if (json_object_is_type(data, json_type_object)) {
        json_object_object_foreach(data, k, v) json_object_object_add(obj, k, json_object_get(v));
    }
    if (id) json_object_object_add(obj, "id", json_object_get(id));
    int ok = byron_access_rows_match(&s->rows, obj);
    json_object_put(obj);
    return ok;
}

/* A connection whose token expired is closed (4403); its subscriptions end with it. */
static int expired(conn_t *c, byron_graphql_ws_output_t *out) {
    if (c->principal.kind != BYRON_PRINCIPAL_USER) return 0;
    const byron_access_settings_t *st = byron_access_settings(c->subs->sc->component->access);
    if ((int64_t)time(NULL) < c->principal.exp + st->skew_s) return 0;
    out->close_code = BYRON_GRAPHQL_WS_CLOSE_FORBIDDEN;
    snprintf(out->close_reason, sizeof out->close_reason, "Forbidden: token expired");
    return 1;
}

static void run_event(conn_t *c, task_t *t, byron_graphql_ws_output_t *out) {
    sub_t *s = c->active;
    while (s && s->gen != t->gen) s = s->next;
    if (!s) return; /* completed meanwhile */
    json_object *env = NULL;
    byron_err_t err;
    if (byron_json_parse(t->ev->data, t->ev->len, 64, &env, &err) != BYRON_OK) {
        byron_log(BYRON_LOG_WARN, "unreadable event skipped by a subscription", "error", err.msg,
                  (char *)NULL);
        return;
    }
    json_object *ev = byron_gqlapi_event(env, t->ev->seq);
    if (ev && !event_visible(c, s, ev)) {
        json_object_put(ev);
        ev = NULL;
    }
    if (ev) byron_graphql_ws_push_event(c->machine, s->id, ev, out);
    json_object_put(ev);
    json_object_put(env);
}

/* Runs c's tasks until its queue is empty; c is scheduled exactly once meanwhile. */
static void conn_run(conn_t *c) {
    for (;;) {
        pthread_mutex_lock(&c->lock);
        task_t *t = c->in_head;
        if (!t) {
            c->scheduled = 0;
            pthread_mutex_unlock(&c->lock);
            break;
        }
        c->in_head = t->next;
        if (!c->in_head) c->in_tail = NULL;
        if (t->kind == T_EVENT) c->in_events--;
        c->in_bytes -= task_bytes(t);
        pthread_mutex_unlock(&c->lock);
        byron_graphql_ws_output_t out;
        memset(&out, 0, sizeof out);
        if (c->machine && t->kind != T_CLOSE && expired(c, &out)) {
            /* the close below ends it all */
        } else if (c->machine) {
            switch (t->kind) {
            case T_RECV: byron_graphql_ws_receive(c->machine, t->data, t->len, &out); break;
            case T_TIMEOUT: byron_graphql_ws_timeout(c->machine, &out); break;
            case T_EVENT: run_event(c, t, &out); break;
            case T_CLOSE:
                byron_graphql_ws_free(c->machine); /* unsubscribes what is still running */
                c->machine = NULL;
                break;
            }
        }
        byron_gqlapi_request_cleanup(&c->rctx); /* no cache reads shared between operations */
        deliver(c, &out);
        byron_graphql_ws_output_cleanup(&out);
        task_free(t);
    }
    conn_release(c);
}

static void *worker(void *arg) {
    byron_gqlapi_subs_t *subs = arg;
    pthread_mutex_lock(&subs->lock);
    for (;;) {
        while (!subs->run_head && !subs->stop) pthread_cond_wait(&subs->cond, &subs->lock);
        conn_t *c = subs->run_head;
        if (!c) break; /* stopping and nothing left */
        subs->run_head = c->run_next;
        if (!subs->run_head) subs->run_tail = NULL;
        subs->running++;
        pthread_mutex_unlock(&subs->lock);
        conn_run(c);
        pthread_mutex_lock(&subs->lock);
        if (--subs->running == 0 && !subs->run_head) pthread_cond_broadcast(&subs->idle);
    }
    pthread_mutex_unlock(&subs->lock);
    return NULL;
}

/* ------------------------------------------------------------------ lws protocol (service thread) */

/* The bearer token of connection_init ({"Authorization": "Bearer …"} — as
 * graphql-ws clients send connectionParams — or {"token": "…"}). No token:
 * anonymous. A refused token closes the connection with 4403; an accepted
 * one arms the timer for its expiry. Runs on a ws worker. */
static byron_status_t ws_authenticate(void *ctx, json_object *payload) {
    conn_t *c = (conn_t *)(void *)((char *)ctx - offsetof(conn_t, rctx));
    if (!c->public_listener) return BYRON_OK; /* the app */
    json_object *v = NULL;
    const char *header = NULL, *token = NULL;
    if (payload && (json_object_object_get_ex(payload, "Authorization", &v) ||
                    json_object_object_get_ex(payload, "authorization", &v)))
        header = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    else if (payload && json_object_object_get_ex(payload, "token", &v))
        token = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (!header && !token) return BYRON_OK;
    byron_err_t err = {0};
    byron_status_t st = !c->subs->sc->auth ? byron_err_set(&err, BYRON_EINVAL, "this API accepts no tokens")
                        : header           ? byron_auth_header(c->subs->sc->auth, header, &c->principal, &err)
                                           : byron_auth_token(c->subs->sc->auth, token, &c->principal, &err);
    if (st != BYRON_OK) {
        byron_principal_cleanup(&c->principal);
        byron_log(BYRON_LOG_INFO, "WebSocket connection_init refused", "error", err.msg, (char *)NULL);
        return st;
    }
    const byron_access_settings_t *as = byron_access_settings(c->subs->sc->component->access);
    int64_t left_ms = (c->principal.exp + as->skew_s - (int64_t)time(NULL)) * 1000;
    pthread_mutex_lock(&c->lock);
    c->timer_at_ms = left_ms > 0 ? left_ms : 1;
    pthread_mutex_unlock(&c->lock);
    notify(c);
    return BYRON_OK;
}

static conn_t *conn_new(byron_gqlapi_subs_t *subs, struct lws *wsi) {
    conn_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->subs = subs;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    c->wsi = wsi;
    byron_gqlapi_request_init(&c->rctx, subs->sc, NULL, NULL);
    byron_principal_init(&c->principal);
    c->public_listener = strcmp(lws_get_vhost_name(lws_get_vhost(wsi)), "unix") != 0;
    if (!c->public_listener) c->principal.kind = BYRON_PRINCIPAL_APP;
    c->rctx.principal = &c->principal;
    c->source =
        (byron_graphql_event_source_t){.subscribe = src_subscribe, .unsubscribe = src_unsubscribe, .ctx = c};
    byron_graphql_ws_options_t wo = {.source = &c->source,
                                     .resolve = byron_gqlapi_resolve,
                                     .ctx = &c->rctx,
                                     .limits = &subs->opts.limits,
                                     .max_subscriptions = subs->opts.max_subscriptions,
                                     .authorize = ws_authenticate,
                                     .authorize_field = byron_gqlapi_authorize};
    if (!(c->machine = byron_graphql_ws_new(subs->schema, &wo))) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

static void collect_notified(byron_gqlapi_subs_t *subs) {
    pthread_mutex_lock(&subs->nlock);
    conn_t *c = subs->notify_head;
    subs->notify_head = NULL;
    pthread_mutex_unlock(&subs->nlock);
    while (c) {
        conn_t *next = c->notify_next;
        pthread_mutex_lock(&c->lock);
        c->notified = 0;
        int64_t timer_ms = c->timer_at_ms;
        c->timer_at_ms = 0;
        pthread_mutex_unlock(&c->lock);
        /* The token's expiry replaces the (spent) connection_init timer. */
        if (c->wsi && timer_ms) lws_set_timer_usecs(c->wsi, (lws_usec_t)timer_ms * 1000);
        if (c->wsi) lws_callback_on_writable(c->wsi);
        conn_release(c);
        c = next;
    }
}

static int write_one(struct lws *wsi, conn_t *c) {
    pthread_mutex_lock(&c->lock);
    if (c->close_now) {
        int code = c->close_code;
        char reason[sizeof c->close_reason];
        snprintf(reason, sizeof reason, "%s", c->close_reason);
        pthread_mutex_unlock(&c->lock);
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
        return -1;
    }
    out_msg_t *m = c->out_head;
    if (m) {
        c->out_head = m->next;
        if (!c->out_head) c->out_tail = NULL;
        c->out_count--;
        c->out_bytes -= m->len;
    }
    int more = c->out_head != NULL, code = c->close_code;
    char reason[sizeof c->close_reason];
    snprintf(reason, sizeof reason, "%s", c->close_reason);
    pthread_mutex_unlock(&c->lock);
    if (m) {
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        int ok = n >= (int)m->len;
        free(m);
        if (!ok) return -1;
        if (more || code) lws_callback_on_writable(wsi); /* one frame per writable; close after the last */
        return 0;
    }
    if (code) {
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
        return -1;
    }
    return 0;
}

/* An upgrade: /graphql only, not while draining, an allowed origin, within --graphql-max-connections. */
static int ws_filter(struct lws *wsi, byron_gqlapi_subs_t *subs) {
    char uri[64] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/graphql") != 0)
        return 1; /* subscriptions live on /graphql only */
    if (atomic_load(&subs->sc->draining) || atomic_load(&subs->stopping)) return 1;
    char origin[256] = "";
    if (strcmp(lws_get_vhost_name(lws_get_vhost(wsi)), "unix") != 0 &&
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0 &&
        !byron_access_origin_allowed(subs->sc->component->access, origin)) {
        byron_log(BYRON_LOG_INFO, "WebSocket upgrade refused: origin not allowed", "origin", origin,
                  (char *)NULL);
        return 1; /* a page on another site cannot open a socket in its visitor's name */
    }
    if (atomic_load(&subs->nconns) >= (int)subs->opts.max_connections) {
        byron_log(BYRON_LOG_WARN, "WebSocket connection refused: --graphql-max-connections reached",
                  (char *)NULL);
        return 1;
    }
    return 0;
}

static int ws_established(struct lws *wsi, byron_gqlapi_subs_t *subs, pss_t *pss) {
    atomic_store(&subs->ctx, lws_get_context(wsi));
    if (!(pss->c = conn_new(subs, wsi))) return -1;
    pthread_mutex_lock(&subs->alock);
    pss->c->all_next = subs->all;
    if (subs->all) subs->all->all_prev = pss->c;
    subs->all = pss->c;
    pthread_mutex_unlock(&subs->alock);
    atomic_fetch_add(&subs->nconns, 1);
    if (subs->m_conns) byron_metric_add(subs->m_conns, NULL, 1);
    lws_set_timer_usecs(wsi, (lws_usec_t)subs->opts.ws_init_timeout_ms * 1000);
    return 0;
}

/* A fragment; a whole message goes to the connection's worker. */
static int ws_receive(struct lws *wsi, byron_gqlapi_subs_t *subs, conn_t *c, const void *in, size_t len) {
    if (!c) return -1;
    if (c->rx_len + len > subs->opts.max_body_bytes) {
        static const char why[] = "Message too big";
        lws_close_reason(wsi, CLOSE_TOO_BIG, (unsigned char *)why, sizeof why - 1);
        return -1;
    }
    char *nb = realloc(c->rx, c->rx_len + len + 1);
    if (!nb) return -1;
    memcpy(nb + c->rx_len, in, len);
    c->rx = nb;
    c->rx_len += len;
    c->rx[c->rx_len] = '\0';
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        push_simple(c, T_RECV, c->rx, c->rx_len);
        c->rx = NULL;
        c->rx_len = 0;
    }
    return 0;
}

static int ws_closed(byron_gqlapi_subs_t *subs, pss_t *pss) {
    conn_t *c = pss->c;
    if (!c) return 0;
    pss->c = NULL;
    c->wsi = NULL;
    pthread_mutex_lock(&subs->alock);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        subs->all = c->all_next;
    if (c->all_next) c->all_next->all_prev = c->all_prev;
    pthread_mutex_unlock(&subs->alock);
    free(c->rx);
    c->rx = NULL;
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    pthread_mutex_unlock(&c->lock);
    push_simple(c, T_CLOSE, NULL, 0); /* the machine is freed on a worker: unsubscribing blocks */
    atomic_fetch_sub(&subs->nconns, 1);
    if (subs->m_conns) byron_metric_add(subs->m_conns, NULL, -1);
    conn_release(c);
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    byron_gqlapi_subs_t *subs = proto ? proto->user : NULL;
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (subs) collect_notified(subs);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return ws_filter(wsi, subs);
    case LWS_CALLBACK_ESTABLISHED: return ws_established(wsi, subs, pss);
    case LWS_CALLBACK_RECEIVE: return ws_receive(wsi, subs, pss->c, in, len);
    case LWS_CALLBACK_TIMER:
        if (pss->c) push_simple(pss->c, T_TIMEOUT, NULL, 0);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return pss->c ? write_one(wsi, pss->c) : -1;
    case LWS_CALLBACK_CLOSED: return ws_closed(subs, pss);
    default: return 0;
    }
}

/* ------------------------------------------------------------------ lifecycle */

byron_gqlapi_subs_t *byron_gqlapi_subs_new(byron_sidecar_t *sc, const byron_graphql_schema_t *schema,
                                           const byron_gqlapi_options_t *o, byron_err_t *err) {
    byron_gqlapi_subs_t *subs = calloc(1, sizeof *subs);
    if (!subs) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    subs->sc = sc;
    subs->schema = schema;
    subs->opts = *o;
    subs->stream = sc->stream;
    pthread_mutex_init(&subs->rlock, NULL);
    pthread_cond_init(&subs->rcond, NULL);
    pthread_mutex_init(&subs->lock, NULL);
    pthread_mutex_init(&subs->nlock, NULL);
    pthread_mutex_init(&subs->alock, NULL);
    pthread_cond_init(&subs->cond, NULL);
    pthread_cond_init(&subs->idle, NULL);
    atomic_init(&subs->nsubs, 0);
    if (sc->component->nmodels && !(subs->feeds = calloc(sc->component->nmodels, sizeof *subs->feeds))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        pthread_mutex_destroy(&subs->lock);
        pthread_mutex_destroy(&subs->nlock);
        pthread_mutex_destroy(&subs->alock);
        pthread_cond_destroy(&subs->cond);
        pthread_cond_destroy(&subs->idle);
        pthread_cond_destroy(&subs->rcond);
        pthread_mutex_destroy(&subs->rlock);
        free(subs);
        return NULL;
    }
    for (size_t i = 0; i < sc->component->nmodels; i++) {
        subs->feeds[i].subs = subs;
        subs->feeds[i].model = &sc->component->models[i];
        pthread_mutex_init(&subs->feeds[i].lock, NULL);
        pthread_cond_init(&subs->feeds[i].done_cond, NULL);
    }
    subs->protocol = (struct lws_protocols){.name = BYRON_GRAPHQL_WS_PROTOCOL,
                                            .callback = ws_callback,
                                            .per_session_data_size = sizeof(pss_t),
                                            .user = subs};
    if (sc->metrics) {
        subs->m_conns =
            byron_metrics_register(sc->metrics, BYRON_METRIC_GAUGE, "byron_sidecar_graphql_ws_connections",
                                   "Open graphql-transport-ws connections.", NULL, NULL, 0);
        subs->m_subs =
            byron_metrics_register(sc->metrics, BYRON_METRIC_GAUGE, "byron_sidecar_graphql_subscriptions",
                                   "Running GraphQL subscriptions.", NULL, NULL, 0);
        subs->m_feeds = byron_metrics_register(
            sc->metrics, BYRON_METRIC_GAUGE, "byron_sidecar_graphql_feeds",
            "JetStream consumers feeding live subscriptions: one per model with subscribers.", NULL, NULL, 0);
        subs->m_slow = byron_metrics_register(
            sc->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_graphql_ws_slow_closed_total",
            "WebSocket connections closed with 1013 because the client was too slow.", NULL, NULL, 0);
    }
    if (!(subs->threads = calloc(o->ws_workers, sizeof *subs->threads))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    return subs;
err:
    byron_gqlapi_subs_free(subs);
    return NULL;
}

byron_status_t byron_gqlapi_subs_start(byron_gqlapi_subs_t *subs, byron_err_t *err) {
    for (unsigned i = subs->nthreads; i < subs->opts.ws_workers; i++) {
        if (pthread_create(&subs->threads[i], NULL, worker, subs) != 0)
            return byron_err_set(err, BYRON_EIO, "cannot start the WebSocket workers");
        subs->nthreads++;
    }
    return BYRON_OK;
}

const struct lws_protocols *byron_gqlapi_subs_protocol(byron_gqlapi_subs_t *subs) { return &subs->protocol; }

void byron_gqlapi_subs_drain(byron_gqlapi_subs_t *subs, int wait_ms) {
    /* Mark every connection for a 1001 close, then wake the loop for each;
     * the references keep them alive outside the lock. */
    pthread_mutex_lock(&subs->alock);
    size_t n = 0;
    for (conn_t *c = subs->all; c; c = c->all_next) n++;
    conn_t **list = n ? calloc(n, sizeof *list) : NULL;
    n = 0;
    for (conn_t *c = subs->all; c && list; c = c->all_next) {
        pthread_mutex_lock(&c->lock);
        if (!c->gone && !c->close_now) {
            c->close_now = 1;
            c->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
            snprintf(c->close_reason, sizeof c->close_reason, "Server shutting down");
            conn_ref(c);
            list[n++] = c;
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&subs->alock);
    for (size_t i = 0; i < n; i++) {
        notify(list[i]);
        conn_release(list[i]);
    }
    free(list);
    for (int waited = 0; waited < wait_ms && atomic_load(&subs->nconns) > 0; waited += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void byron_gqlapi_subs_request_stop(byron_gqlapi_subs_t *subs) {
    pthread_mutex_lock(&subs->nlock);
    atomic_store(&subs->stopping, 1);
    pthread_mutex_unlock(&subs->nlock);
}

void byron_gqlapi_subs_stop(byron_gqlapi_subs_t *subs) {
    if (!subs || subs->stopped) return;
    subs->stopped = 1;
    byron_gqlapi_subs_request_stop(subs);
    /* The server is gone: its CLOSED callbacks queued every connection's
     * T_CLOSE. Let the workers finish them (unsubscribing), then stop. */
    pthread_mutex_lock(&subs->lock);
    subs->stop = 1;
    pthread_cond_broadcast(&subs->cond);
    pthread_mutex_unlock(&subs->lock);
    for (unsigned i = 0; i < subs->nthreads; i++) pthread_join(subs->threads[i], NULL);
    /* The feeds: every subscriber left with its connection's T_CLOSE; stop
     * each consumer and wait for cnats to be done with it. */
    for (size_t i = 0; subs->feeds && i < subs->sc->component->nmodels; i++) {
        feed_t *f = &subs->feeds[i];
        if (f->nsub) {
            natsSubscription_Unsubscribe(f->nsub);
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 2;
            pthread_mutex_lock(&f->lock);
            while (!f->done && pthread_cond_timedwait(&f->done_cond, &f->lock, &until) == 0) {
            }
            pthread_mutex_unlock(&f->lock);
        }
    }
    /* The replays: each was unsubscribed with its connection's T_CLOSE; wait
     * (bounded) until cnats has completed every one (on_complete frees it). */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&subs->rlock);
    while (subs->replays > 0 && pthread_cond_timedwait(&subs->rcond, &subs->rlock, &until) == 0) {
    }
    int left = subs->replays;
    pthread_mutex_unlock(&subs->rlock);
    if (left > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", left);
        byron_log(BYRON_LOG_WARN, "graphql subscriptions: replay consumers not completed at shutdown",
                  "count", n, (char *)NULL);
    }
}

void byron_gqlapi_subs_free(byron_gqlapi_subs_t *subs) {
    if (!subs) return;
    byron_gqlapi_subs_stop(subs);
    free(subs->threads);
    for (size_t i = 0; subs->feeds && i < subs->sc->component->nmodels; i++) {
        feed_t *f = &subs->feeds[i];
        natsSubscription_Destroy(f->nsub);
        free(f->members);
        pthread_cond_destroy(&f->done_cond);
        pthread_mutex_destroy(&f->lock);
    }
    free(subs->feeds);
    collect_notified(subs); /* drop the references the notify list still holds */
    pthread_cond_destroy(&subs->cond);
    pthread_cond_destroy(&subs->idle);
    pthread_mutex_destroy(&subs->lock);
    pthread_mutex_destroy(&subs->nlock);
    pthread_mutex_destroy(&subs->alock);
    pthread_cond_destroy(&subs->rcond);
    pthread_mutex_destroy(&subs->rlock);
    free(subs);
}
