/* stream.c — JetStream via cnats: one connection, synchronous calls with timeouts. */
#include "stream.h"

#include "byron/jetstream.h"
#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "nats_options.h"
#include "subject.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_stream {
    const byron_component_t *comp;
    natsConnection *nc;
    natsSubscription *served; /* byron_stream_serve's */
    int served_done;          /* its last callback has returned (mu, cv) */
    byron_stream_request_fn serve_fn;
    void *serve_ud;
    jsCtx *js;
    int replicas;
    int64_t max_bytes;
    int manage; /* creates and updates its streams (no NATS users: see byron_stream_options_t) */
    byron_jetstream_names_t names;
    int timeout_ms;
    atomic_int ensured, dlq_ensured;
    atomic_int closing; /* no "disconnected" warning for our own close */
    /* cnats runs connection callbacks on its own thread, after Close returns:
     * free waits for the closed callback (the last one) before freeing. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed;
    char refusal[160]; /* mu: what a server last answered when it refused us; "" once connected */
};

static byron_status_t nats_err(byron_err_t *err, natsStatus s, jsErrCode jerr, const char *what) {
    const char *text = nats_GetLastError(NULL);
    if (s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
        s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED || s == NATS_NO_SERVER_SUPPORT)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "%s: JetStream unavailable: %s", what,
                             natsStatus_GetText(s));
    return byron_err_set(err, BYRON_EIO, "%s: %s (JetStream error %d%s%s)", what, natsStatus_GetText(s),
                         (int)jerr, text ? ": " : "", text ? text : "");
}

/* Keeps a server's refusal ("Authorization Violation"): with retries in the
 * background, the connection's last error soon reads "No server available". */
static void note_refusal(byron_stream_t *s, natsConnection *nc) {
    if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
        return; /* a slow consumer, a permission: not why we are out */
    const char *why = NULL;
    natsStatus st = natsConnection_GetLastError(nc, &why);
    if (st == NATS_OK || st == NATS_NO_SERVER || !why || !*why) return;
    pthread_mutex_lock(&s->mu);
    snprintf(s->refusal, sizeof s->refusal, "%s", why);
    pthread_mutex_unlock(&s->mu);
}

static void forget_refusal(byron_stream_t *s) {
    pthread_mutex_lock(&s->mu);
    s->refusal[0] = '\0';
    pthread_mutex_unlock(&s->mu);
}

/* Asynchronous errors: a refusal after a reconnect, a permission violation. */
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus st, void *ud) {
    (void)sub;
    note_refusal(ud, nc);
    const char *why = NULL;
    natsConnection_GetLastError(nc, &why);
    byron_log(BYRON_LOG_WARN, "NATS error", "error", natsStatus_GetText(st), "last", why ? why : "",
              (char *)NULL);
}

static void on_disconnected(natsConnection *nc, void *ud) {
    byron_stream_t *s = ud;
    note_refusal(s, nc);
    if (atomic_load(&s->closing)) return;
    byron_log(BYRON_LOG_WARN, "NATS disconnected", (char *)NULL);
}

static void on_closed(natsConnection *nc, void *ud) {
    byron_stream_t *s = ud;
    note_refusal(s, nc);
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_connected(natsConnection *nc, void *ud) {
    (void)nc;
    forget_refusal(ud);
    byron_log(BYRON_LOG_INFO, "NATS connected", (char *)NULL);
}

static void on_reconnected(natsConnection *nc, void *ud) {
    (void)nc;
    forget_refusal(ud);
    byron_log(BYRON_LOG_INFO, "NATS reconnected", (char *)NULL);
}

byron_stream_t *byron_stream_new(const byron_component_t *c, const byron_stream_options_t *o,
                                 byron_err_t *err) {
    byron_stream_t *s = calloc(1, sizeof *s);
    natsOptions *opts = NULL;
    natsStatus ns;
    if (!s) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    s->comp = c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->replicas = o->replicas > 0 ? o->replicas : 1;
    s->max_bytes = o->max_bytes ? o->max_bytes : -1;
    s->manage = !o->verify_only;
    if (byron_jetstream_names(c->namespace_, c->component, &s->names) < 0) {
        byron_err_set(err, BYRON_EINVAL, "component name too long for a stream name");
        byron_stream_free(s);
        return NULL;
    }
    s->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 5000;
    if ((ns = natsOptions_Create(&opts)) != NATS_OK || (ns = natsOptions_SetURL(opts, o->url)) != NATS_OK ||
        (ns = natsOptions_SetName(opts, o->client_name ? o->client_name : "byron-sidecar")) != NATS_OK ||
        /* Keep trying forever, in the background (a connected callback makes
         * natsConnection_Connect return at once instead of retrying inline):
         * the broker being down is a readiness state, not a crash. */
        (ns = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, s)) != NATS_OK ||
        (ns = natsOptions_SetMaxReconnect(opts, -1)) != NATS_OK ||
        (ns = natsOptions_SetReconnectWait(opts, 200)) != NATS_OK ||
        (ns = natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024)) != NATS_OK ||
        (ns = natsOptions_SetTimeout(opts, 2000)) != NATS_OK ||
        (ns = natsOptions_SetDisconnectedCB(opts, on_disconnected, s)) != NATS_OK ||
        (ns = natsOptions_SetClosedCB(opts, on_closed, s)) != NATS_OK ||
        (ns = natsOptions_SetReconnectedCB(opts, on_reconnected, s)) != NATS_OK ||
        (ns = natsOptions_SetErrorHandler(opts, on_error, s)) != NATS_OK ||
        /* async subscriptions (served requests, the api's GraphQL subscriptions)
         * share the library's delivery pool instead of a thread each */
        (ns = natsOptions_UseGlobalMessageDelivery(opts, true)) != NATS_OK ||
        /* Every call the sidecar makes waits for the server's answer (an
         * append's ack, a fetch, a sink's synchronous ack): written at once
         * rather than handed to cnats' flusher thread, one thread hand-off
         * fewer per round trip (docs/benchmarks.md, "Commands"). */
        (ns = natsOptions_SetSendAsap(opts, true)) != NATS_OK)
        goto err;
    if (byron_nats_options_apply(opts, o->nats, err) != BYRON_OK) {
        natsOptions_Destroy(opts);
        byron_stream_free(s);
        return NULL;
    }
    ns = natsConnection_Connect(&s->nc, opts);
    if (ns != NATS_OK && ns != NATS_NOT_YET_CONNECTED) goto err;

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = s->timeout_ms;
    if ((ns = natsConnection_JetStream(&s->js, s->nc, &jo)) != NATS_OK) goto err;
    natsOptions_Destroy(opts);
    return s;
err:
    nats_err(err, ns, 0, o->url);
    natsOptions_Destroy(opts);
    byron_stream_free(s);
    return NULL;
}

void byron_stream_free(byron_stream_t *s) {
    if (!s) return;
    byron_stream_unserve(s);
    jsCtx_Destroy(s->js);
    atomic_store(&s->closing, 1);
    if (s->nc) {
        natsConnection_FlushTimeout(s->nc, 1000);
        natsConnection_Close(s->nc);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        pthread_mutex_lock(&s->mu);
        while (!s->closed && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
        }
        pthread_mutex_unlock(&s->mu);
        natsConnection_Destroy(s->nc);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int byron_stream_lost(byron_stream_t *s) {
    /* The status, not the closed callback: cnats sets it before any call fails with "Connection Closed". */
    return !atomic_load(&s->closing) && natsConnection_Status(s->nc) == NATS_CONN_STATUS_CLOSED;
}

int byron_stream_connected(byron_stream_t *s) {
    return natsConnection_Status(s->nc) == NATS_CONN_STATUS_CONNECTED;
}

int byron_stream_ready(byron_stream_t *s) { return atomic_load(&s->ensured) && byron_stream_connected(s); }

byron_status_t byron_stream_connection(byron_stream_t *s, byron_err_t *err) {
    if (byron_stream_connected(s)) return BYRON_OK;
    note_refusal(s, s->nc);
    const char *why = NULL;
    natsStatus last = natsConnection_GetLastError(s->nc, &why);
    char refusal[sizeof s->refusal];
    pthread_mutex_lock(&s->mu);
    memcpy(refusal, s->refusal, sizeof refusal);
    pthread_mutex_unlock(&s->mu);
    const char *now = last != NATS_OK && why && *why ? why : "";
    const char *reason = refusal[0] ? refusal : now;
    if (byron_stream_lost(s))
        return byron_err_set(
            err, BYRON_EUNAVAILABLE,
            "NATS closed the connection for good%s%s (the client gives up when the server refuses "
            "the same credentials twice, or answers a fatal -ERR: the server's log says which)",
            reason[0] ? ": " : "", reason);
    if (refusal[0] && strcmp(refusal, now) != 0 && now[0])
        return byron_err_set(err, BYRON_EUNAVAILABLE,
                             "not connected to NATS: %s (the server last answered: %s)", now, refusal);
    if (refusal[0] && !now[0])
        return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS: the server last answered: %s",
                             refusal);
    return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS%s%s", now[0] ? ": " : "", now);
}

/* While disconnected, a request would only wait out its timeout: answer at
 * once and let the caller's retry loop (bounded by its deadline) come back. */
static byron_status_t check_connected(byron_stream_t *s, byron_err_t *err) {
    return byron_stream_connection(s, err);
}

/* A JetStream API request with a JSON body; *resp is the parsed answer
 * (caller puts). An {"error": ...} answer is BYRON_EIO (or BYRON_ENOTFOUND for
 * 10059, stream not found) with the server's description; *api_code is its
 * err_code (0: none). */
static byron_status_t js_api(byron_stream_t *s, const char *subject, const char *req, json_object **resp,
                             int *api_code, byron_err_t *err) {
    natsMsg *reply = NULL;
    *resp = NULL;
    *api_code = 0;
    natsStatus ns = natsConnection_RequestString(&reply, s->nc, subject, req ? req : "", s->timeout_ms);
    if (ns != NATS_OK) return nats_err(err, ns, 0, subject);
    byron_err_t pe = {0};
    byron_status_t st =
        byron_json_parse(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 32, resp, &pe);
    natsMsg_Destroy(reply);
    if (st != BYRON_OK) return byron_err_set(err, BYRON_EPROTO, "%s: unreadable answer: %s", subject, pe.msg);
    json_object *e = NULL, *v = NULL;
    if (!json_object_object_get_ex(*resp, "error", &e) || !e) return BYRON_OK;
    if (json_object_object_get_ex(e, "err_code", &v)) *api_code = json_object_get_int(v);
    const char *d = json_object_object_get_ex(e, "description", &v) ? json_object_get_string(v) : "error";
    return byron_err_set(err, *api_code == 10059 ? BYRON_ENOTFOUND : BYRON_EIO, "%s: %s (JetStream error %d)",
                         subject, d, *api_code);
}

/* One stream as want says (lib/jetstream.h: the operator builds the same
 * JSON). Found and equal: nothing to do. Missing or different: created or
 * updated — unless this sidecar does not manage streams (with NATS users the
 * operator does, and the sidecar's user may not): then it is a readiness error
 * naming what is missing or differs. */
static byron_status_t ensure_one(byron_stream_t *s, const char *name, json_object *want, byron_err_t *err) {
    char subj[300];
    json_object *resp = NULL, *have = NULL;
    const char *body = byron_json_compact(want), *done = NULL, *differs = NULL;
    int code = 0;
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", name);
    byron_status_t st = js_api(s, subj, NULL, &resp, &code, err);
    if (st == BYRON_OK) {
        json_object_object_get_ex(resp, "config", &have);
        differs = byron_jetstream_config_differs(want, have);
    }
    if (st == BYRON_ENOTFOUND && !s->manage)
        st = byron_err_set(err, BYRON_EUNAVAILABLE,
                           "stream %s does not exist, and this sidecar does not create it "
                           "(with NATS users the operator does)",
                           name);
    else if (differs && !s->manage)
        st = byron_err_set(err, BYRON_EUNAVAILABLE,
                           "stream %s differs in %s from what this sidecar expects, and this "
                           "sidecar does not change it (with NATS users the operator does)",
                           name, differs);
    else if (st == BYRON_ENOTFOUND) {
        json_object_put(resp);
        byron_err_clear(err);
        snprintf(subj, sizeof subj, "$JS.API.STREAM.CREATE.%s", name);
        st = js_api(s, subj, body, &resp, &code, err);
        done = "stream created";
        if (code == 10058) { /* stream name in use: another replica won the race */
            json_object_put(resp);
            byron_err_clear(err);
            snprintf(subj, sizeof subj, "$JS.API.STREAM.UPDATE.%s", name);
            st = js_api(s, subj, body, &resp, &code, err);
            done = "stream updated";
        }
    } else if (differs) {
        json_object_put(resp);
        snprintf(subj, sizeof subj, "$JS.API.STREAM.UPDATE.%s", name);
        st = js_api(s, subj, body, &resp, &code, err);
        done = "stream updated";
    }
    json_object_put(resp);
    if (st != BYRON_OK) return byron_err_prefix(err, "ensuring stream %s", name);
    if (done)
        byron_log(BYRON_LOG_INFO, done, "stream", name, "setting", differs ? differs : "", (char *)NULL);
    return BYRON_OK;
}

byron_status_t byron_stream_ensure(byron_stream_t *s, byron_err_t *err) {
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    json_object *want = byron_jetstream_stream_config(&s->names, s->replicas, s->max_bytes);
    byron_status_t st =
        want ? ensure_one(s, s->names.stream, want, err) : byron_err_set(err, BYRON_ENOMEM, "out of memory");
    json_object_put(want);
    if (st == BYRON_OK) atomic_store(&s->ensured, 1);
    return st;
}

byron_status_t byron_stream_ensure_dlq(byron_stream_t *s, byron_err_t *err) {
    if (atomic_load(&s->dlq_ensured)) return BYRON_OK;
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    json_object *want = byron_jetstream_dlq_config(&s->names, s->replicas);
    byron_status_t st = want ? ensure_one(s, s->names.dlq_stream, want, err)
                             : byron_err_set(err, BYRON_ENOMEM, "out of memory");
    json_object_put(want);
    if (st == BYRON_OK) atomic_store(&s->dlq_ensured, 1);
    return st;
}

static void fill_meta(natsMsg *m, byron_stream_last_t *out) {
    const char *v = NULL;
    out->seq = natsMsg_GetSequence(m);
    out->version = 0;
    out->type[0] = out->msg_id[0] = '\0';
    if (natsMsgHeader_Get(m, BYRON_HDR_VERSION, &v) == NATS_OK && v) out->version = strtoll(v, NULL, 10);
    if (natsMsgHeader_Get(m, BYRON_HDR_TYPE, &v) == NATS_OK && v)
        snprintf(out->type, sizeof out->type, "%s", v);
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) == NATS_OK && v)
        snprintf(out->msg_id, sizeof out->msg_id, "%s", v);
    out->claim[0] = '\0';
    out->has_claim = natsMsgHeader_Get(m, BYRON_HDR_CLAIM, &v) == NATS_OK && v;
    if (out->has_claim) snprintf(out->claim, sizeof out->claim, "%s", v);
    out->unique[0] = '\0';
    out->has_unique =
        natsMsgHeader_Get(m, BYRON_HDR_UNIQUE, &v) == NATS_OK && v && strlen(v) < sizeof out->unique;
    if (out->has_unique) snprintf(out->unique, sizeof out->unique, "%s", v);
}

byron_status_t byron_stream_last(byron_stream_t *s, const char *subject, byron_stream_last_t *out,
                                 byron_err_t *err) {
    memset(out, 0, sizeof *out);
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    /* Direct get first: cheaper for the server (no JS API round trip through
     * the leader's API handler). In a cluster it may be served by a replica
     * that is behind: a stale sequence only costs a conflict and a retry, but
     * a stale "no such message" would be a wrong NOT_FOUND, so that answer is
     * confirmed with the leader (js_GetLastMsg). */
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.LastBySubject = subject;
    natsStatus ns = js_DirectGetMsg(&m, s->js, s->comp->stream, NULL, &dg);
    if (ns != NATS_OK) {
        m = NULL;
        ns = js_GetLastMsg(&m, s->js, s->comp->stream, subject, NULL, &jerr);
    }
    if (ns == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return BYRON_OK;
    if (ns != NATS_OK) return nats_err(err, ns, jerr, "reading the aggregate's last event");
    fill_meta(m, out);
    natsMsg_Destroy(m);
    return BYRON_OK;
}

/* The message's payload into a malloc'd, NUL-terminated copy. */
static byron_status_t copy_data(natsMsg *m, char **data, size_t *len, byron_err_t *err) {
    *len = (size_t)natsMsg_GetDataLength(m);
    if (!(*data = malloc(*len + 1))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    memcpy(*data, natsMsg_GetData(m), *len);
    (*data)[*len] = '\0';
    return BYRON_OK;
}

byron_status_t byron_stream_next(byron_stream_t *s, const char *subject, uint64_t from, char **data,
                                 size_t *len, byron_stream_last_t *meta, byron_err_t *err) {
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.Sequence = from;
    dg.NextBySubject = subject;
    natsMsg *m = NULL;
    natsStatus ns = js_DirectGetMsg(&m, s->js, s->comp->stream, NULL, &dg);
    if (ns == NATS_NOT_FOUND)
        return byron_err_set(err, BYRON_ENOTFOUND, "no message on %s from %" PRIu64, subject, from);
    if (ns != NATS_OK) return nats_err(err, ns, 0, "reading the stream");
    if (meta) fill_meta(m, meta);
    byron_status_t st = data ? copy_data(m, data, len, err) : BYRON_OK;
    natsMsg_Destroy(m);
    return st;
}

byron_status_t byron_stream_get(byron_stream_t *s, uint64_t seq, char **data, size_t *len,
                                byron_stream_last_t *meta, byron_err_t *err) {
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetMsg(&m, s->js, s->comp->stream, seq, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
        return byron_err_set(err, BYRON_ENOTFOUND, "no event at sequence %" PRIu64, seq);
    if (ns != NATS_OK) return nats_err(err, ns, jerr, "reading an event");
    if (meta) fill_meta(m, meta);
    byron_status_t st = data ? copy_data(m, data, len, err) : BYRON_OK;
    natsMsg_Destroy(m);
    return st;
}

static byron_status_t publish_msg(byron_stream_t *s, natsMsg *msg, const char *subject, uint64_t *seq,
                                  int *duplicate, byron_err_t *err) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = s->timeout_ms;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_PublishMsg(&ack, s->js, msg, &po, &jerr);
    if (ns != NATS_OK) {
        if (jerr == JSStreamWrongLastSequenceErr)
            return byron_err_set(err, BYRON_ECONFLICT, "%s changed concurrently", subject);
        return nats_err(err, ns, jerr, "publishing");
    }
    *seq = ack->Sequence;
    if (duplicate) *duplicate = ack->Duplicate;
    jsPubAck_Destroy(ack);
    return BYRON_OK;
}

/* The message for p, with its headers; batch: Nats-Batch-Id, or NULL. The
 * headers are set by hand rather than with jsPubOptions: cnats omits an
 * expected subject sequence of 0, which is exactly the "must not exist yet"
 * check a create needs. */
static natsStatus build_msg(byron_stream_t *s, const byron_publish_t *p, const char *batch, size_t index,
                            int commit, natsMsg **out) {
    natsMsg *msg = NULL;
    char num[24];
    natsStatus ns = natsMsg_Create(&msg, p->subject, NULL, p->data, (int)p->len);
    if (ns == NATS_OK && p->msg_id) ns = natsMsgHeader_Set(msg, "Nats-Msg-Id", p->msg_id);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, "Nats-Expected-Stream", s->comp->stream);
    if (ns == NATS_OK && !p->unconditional) {
        snprintf(num, sizeof num, "%" PRIu64, p->expected_seq);
        ns = natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", num);
    }
    if (ns == NATS_OK && p->version > 0) {
        snprintf(num, sizeof num, "%" PRId64, p->version);
        ns = natsMsgHeader_Set(msg, BYRON_HDR_VERSION, num);
    }
    if (ns == NATS_OK && p->type) ns = natsMsgHeader_Set(msg, BYRON_HDR_TYPE, p->type);
    if (ns == NATS_OK && p->claim) ns = natsMsgHeader_Set(msg, BYRON_HDR_CLAIM, p->claim);
    if (ns == NATS_OK && p->unique) ns = natsMsgHeader_Set(msg, BYRON_HDR_UNIQUE, p->unique);
    if (ns == NATS_OK && batch) {
        snprintf(num, sizeof num, "%zu", index + 1);
        ns = natsMsgHeader_Set(msg, "Nats-Batch-Id", batch);
        if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, "Nats-Batch-Sequence", num);
        if (ns == NATS_OK && commit) ns = natsMsgHeader_Set(msg, "Nats-Batch-Commit", "1");
    }
    if (ns != NATS_OK) natsMsg_Destroy(msg);
    *out = ns == NATS_OK ? msg : NULL;
    return ns;
}

/* A publish ack (jsPubAck JSON) → sequence; errors as for byron_stream_append. */
static byron_status_t read_ack(natsMsg *reply, uint64_t *seq, int *duplicate, byron_err_t *err) {
    json_object *a = NULL, *e = NULL, *v = NULL;
    byron_err_t pe = {0};
    if (byron_json_parse(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 16, &a, &pe) !=
        BYRON_OK)
        return byron_err_set(err, BYRON_EPROTO, "unreadable publish ack: %s", pe.msg);
    byron_status_t st = BYRON_OK;
    if (json_object_object_get_ex(a, "error", &e) && e) {
        int code = json_object_object_get_ex(e, "err_code", &v) ? json_object_get_int(v) : 0;
        const char *d = json_object_object_get_ex(e, "description", &v) ? json_object_get_string(v) : "error";
        switch (code) {
        case 10071: /* wrong last sequence */
        case 10164: /* wrong last sequence (subject in flight, clustered) */
            st = byron_err_set(err, BYRON_ECONFLICT, "changed concurrently: %s", d);
            break;
        case 10201: /* the batch holds a message id already stored: a re-sent append */ *duplicate = 1; break;
        case 10158: /* duplicate message id in process */
        case 10176: /* incomplete batch (a message lost on the way) */
        case 10210: /* too many batches in flight */
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "publishing: %s (JetStream error %d)", d, code);
            break;
        default: st = byron_err_set(err, BYRON_EIO, "publishing: %s (JetStream error %d)", d, code);
        }
    } else {
        *seq = json_object_object_get_ex(a, "seq", &v) ? (uint64_t)json_object_get_int64(v) : 0;
        if (json_object_object_get_ex(a, "duplicate", &v) && json_object_get_boolean(v)) *duplicate = 1;
    }
    json_object_put(a);
    return st;
}

byron_status_t byron_stream_append(byron_stream_t *s, const byron_publish_t *msgs, size_t n, uint64_t *seqs,
                                   int *duplicate, byron_err_t *err) {
    int dup = 0;
    if (duplicate) *duplicate = 0;
    if (n == 0 || n > BYRON_APPEND_MAX) return byron_err_set(err, BYRON_EINVAL, "append of %zu messages", n);
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    char batch[BYRON_UUID_LEN + 1];
    if (n > 1) byron_uuid4(batch);
    /* The batch's messages before the commit need no answer: the commit's ack
     * says whether all of them were stored (an incomplete batch is refused). */
    natsStatus ns = NATS_OK;
    for (size_t i = 0; i + 1 < n && ns == NATS_OK; i++) {
        natsMsg *m = NULL;
        if ((ns = build_msg(s, &msgs[i], batch, i, 0, &m)) == NATS_OK)
            ns = natsConnection_PublishMsg(s->nc, m);
        natsMsg_Destroy(m);
    }
    natsMsg *commit = NULL, *reply = NULL;
    if (ns == NATS_OK) ns = build_msg(s, &msgs[n - 1], n > 1 ? batch : NULL, n - 1, 1, &commit);
    if (ns == NATS_OK) ns = natsConnection_RequestMsg(&reply, s->nc, commit, s->timeout_ms);
    natsMsg_Destroy(commit);
    if (ns != NATS_OK) return nats_err(err, ns, 0, "publishing");
    uint64_t last = 0;
    byron_status_t st = read_ack(reply, &last, &dup, err);
    natsMsg_Destroy(reply);
    if (st != BYRON_OK) return st;
    if (duplicate) *duplicate = dup;
    /* A batch is stored at consecutive sequences ending at the commit's. */
    for (size_t i = 0; i < n; i++) seqs[i] = dup && n > 1 ? 0 : last - (uint64_t)(n - 1 - i);
    return BYRON_OK;
}

byron_status_t byron_stream_find_msg_id(byron_stream_t *s, const char *subject, const char *msg_id,
                                        uint64_t *seq, byron_err_t *err) {
    byron_publish_t probe = {.subject = subject, .data = "", .msg_id = msg_id, .expected_seq = UINT64_MAX};
    int dup = 0;
    *seq = 0;
    byron_status_t st = byron_stream_append(s, &probe, 1, seq, &dup, err);
    if (st == BYRON_ECONFLICT ||
        (st == BYRON_OK && (!dup || !*seq))) { /* not a known id (or no sequence yet) */
        byron_err_clear(err);
        if (st == BYRON_OK && !dup)
            byron_log(BYRON_LOG_ERROR, "a msg-id probe was stored", "subject", subject, (char *)NULL);
        return byron_err_set(err, BYRON_ENOTFOUND, "no message %s on %s", msg_id, subject);
    }
    return st;
}

byron_status_t byron_stream_publish(byron_stream_t *s, const byron_publish_t *p, uint64_t *seq,
                                    int *duplicate, byron_err_t *err) {
    return byron_stream_append(s, p, 1, seq, duplicate, err);
}

byron_status_t byron_stream_publish_raw(byron_stream_t *s, const char *subject, const char *data, size_t len,
                                        const char *msg_id, uint64_t *seq, byron_err_t *err) {
    natsMsg *msg = NULL;
    natsStatus ns = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (ns == NATS_OK && msg_id) ns = natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id);
    if (ns != NATS_OK) {
        natsMsg_Destroy(msg);
        return byron_err_set(err, BYRON_ENOMEM, "building the message: %s", natsStatus_GetText(ns));
    }
    byron_status_t st = publish_msg(s, msg, subject, seq, NULL, err);
    natsMsg_Destroy(msg);
    return st;
}

/* ---- commands relayed from a sink ---------------------------------------- */

int byron_stream_commands_subject(const byron_component_t *c, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "byroncmd.%s.%s", c->namespace_, c->component);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

byron_status_t byron_stream_request(byron_stream_t *s, const char *subject, const char *data, size_t len,
                                    int timeout_ms, char **reply, size_t *reply_len, byron_err_t *err) {
    *reply = NULL;
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    natsMsg *m = NULL;
    natsStatus ns = natsConnection_Request(&m, s->nc, subject, data, (int)len, timeout_ms);
    if (ns != NATS_OK) return nats_err(err, ns, 0, subject);
    byron_status_t st = copy_data(m, reply, reply_len, err);
    natsMsg_Destroy(m);
    return st;
}

static void on_served_complete(void *closure) {
    byron_stream_t *s = closure;
    pthread_mutex_lock(&s->mu);
    s->served_done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure) {
    (void)nc;
    (void)sub;
    byron_stream_t *s = closure;
    const char *reply = natsMsg_GetReply(m);
    if (reply) s->serve_fn(s->serve_ud, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), reply);
    natsMsg_Destroy(m);
}

byron_status_t byron_stream_serve(byron_stream_t *s, const char *subject, const char *queue,
                                  byron_stream_request_fn fn, void *ud, byron_err_t *err) {
    if (s->served) return byron_err_set(err, BYRON_ESTATE, "already serving %s", subject);
    s->serve_fn = fn;
    s->serve_ud = ud;
    natsStatus ns = natsConnection_QueueSubscribe(&s->served, s->nc, subject, queue, on_request, s);
    if (ns == NATS_OK) ns = natsSubscription_SetOnCompleteCB(s->served, on_served_complete, s);
    if (ns != NATS_OK) {
        if (s->served) natsSubscription_Destroy(s->served);
        s->served = NULL;
        return nats_err(err, ns, 0, subject);
    }
    return BYRON_OK;
}

void byron_stream_unserve(byron_stream_t *s) {
    if (!s || !s->served) return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    if (natsSubscription_Unsubscribe(s->served) == NATS_OK) {
        pthread_mutex_lock(&s->mu);
        while (!s->served_done && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
        }
        pthread_mutex_unlock(&s->mu);
    }
    natsSubscription_Destroy(s->served);
    s->served = NULL;
}

byron_status_t byron_stream_reply(byron_stream_t *s, const char *reply, const char *data, size_t len,
                                  byron_err_t *err) {
    natsStatus ns = natsConnection_Publish(s->nc, reply, data, (int)len);
    return ns == NATS_OK ? BYRON_OK : nats_err(err, ns, 0, reply);
}

/* ---- durable pull consumers ---------------------------------------------- */

byron_status_t byron_stream_consumer_ensure(byron_stream_t *s, const byron_stream_consumer_t *c,
                                            byron_err_t *err) {
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = c->durable;
    cc.Name = c->durable;
    cc.Description = c->description;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)c->ack_wait_ms * 1000000;
    cc.MaxDeliver = -1;
    cc.MaxAckPending = 1;
    cc.FilterSubject = c->filter;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddConsumer(&ci, s->js, c->stream, &cc, NULL, &jerr);
    if (ns != NATS_OK &&
        (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr || jerr == 10148))
        ns = js_UpdateConsumer(&ci, s->js, c->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (ns == NATS_OK) return BYRON_OK;
    const char *txt = nats_GetLastError(NULL);
    int missing = jerr == JSStreamNotFoundErr;
    return byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s on %s: %s%s%s", c->durable, c->stream,
                         missing ? "stream not found" : natsStatus_GetText(ns), txt && !missing ? ": " : "",
                         txt && !missing ? txt : "");
}

byron_status_t byron_stream_pull_subscribe(byron_stream_t *s, const byron_stream_consumer_t *c,
                                           natsSubscription **sub, byron_err_t *err) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->stream;
    so.Consumer = c->durable;
    so.ManualAck = true;
    jsErrCode jerr = 0;
    natsStatus ns = js_PullSubscribe(sub, s->js, c->filter, c->durable, NULL, &so, &jerr);
    if (ns == NATS_OK) return BYRON_OK;
    *sub = NULL;
    return byron_err_set(err, BYRON_EUNAVAILABLE, "subscribing to %s: %s", c->durable,
                         natsStatus_GetText(ns));
}

byron_status_t byron_stream_fetch(natsSubscription *sub, int wait_ms, natsMsg **msg, byron_err_t *err) {
    *msg = NULL;
    natsMsgList list = {0};
    jsFetchRequest fr;
    jsFetchRequest_Init(&fr);
    fr.Batch = 1; /* MaxAckPending 1: the server has at most one for us */
    fr.NoWait = wait_ms <= 0;
    fr.Expires = wait_ms > 0 ? (int64_t)wait_ms * 1000000 : 0;
    natsStatus ns = natsSubscription_FetchRequest(&list, sub, &fr);
    if (ns == NATS_OK) {
        if (list.Count > 0) {
            *msg = list.Msgs[0];
            list.Msgs[0] = NULL;
        }
        natsMsgList_Destroy(&list);
        return *msg ? BYRON_OK : BYRON_ENOTFOUND;
    }
    if (ns == NATS_TIMEOUT) return BYRON_ETIMEDOUT;
    if (ns == NATS_NOT_FOUND) return BYRON_ENOTFOUND;
    if (ns == NATS_CONNECTION_CLOSED || ns == NATS_INVALID_SUBSCRIPTION)
        return byron_err_set(err, BYRON_ESTATE, "fetch: %s", natsStatus_GetText(ns));
    const char *txt = nats_GetLastError(NULL);
    return byron_err_set(err, BYRON_EUNAVAILABLE, "fetch: %s%s%s", natsStatus_GetText(ns), txt ? ": " : "",
                         txt ? txt : "");
}

byron_status_t byron_stream_consumer_info(byron_stream_t *s, const char *stream, const char *durable,
                                          byron_stream_consumer_info_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, s->js, stream, durable, NULL, &jerr);
    byron_status_t st = BYRON_OK;
    if (ns == NATS_OK) {
        out->pending = (int64_t)ci->NumPending;
        out->ack_pending = (int64_t)ci->NumAckPending;
    } else if (jerr == JSStreamNotFoundErr) {
        out->stream_missing = 1;
        st = byron_err_set(err, BYRON_ENOTFOUND, "stream %s not found", stream);
    } else if (ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
        st = byron_err_set(err, BYRON_ENOTFOUND, "consumer %s not found", durable);
    } else {
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "consumer %s: %s", durable, natsStatus_GetText(ns));
    }
    jsConsumerInfo_Destroy(ci);
    return st;
}

byron_status_t byron_stream_consumer_delete(byron_stream_t *s, const char *stream, const char *durable,
                                            byron_err_t *err) {
    jsErrCode jerr = 0;
    natsStatus ns = js_DeleteConsumer(s->js, stream, durable, NULL, &jerr);
    if (ns == NATS_OK || ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr)
        return BYRON_OK;
    return byron_err_set(err, BYRON_EUNAVAILABLE, "deleting consumer %s: %s", durable,
                         natsStatus_GetText(ns));
}

byron_status_t byron_stream_messages(byron_stream_t *s, const char *stream, int64_t *count,
                                     byron_err_t *err) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, s->js, stream, NULL, &jerr);
    if (ns == NATS_OK) *count = (int64_t)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return ns == NATS_OK ? BYRON_OK : nats_err(err, ns, jerr, stream);
}

byron_status_t byron_stream_publish_headers(byron_stream_t *s, const char *subject, const char *data,
                                            size_t len, const char *const *headers, byron_err_t *err) {
    natsMsg *m = NULL;
    natsStatus ns = natsMsg_Create(&m, subject, NULL, data, (int)len);
    for (const char *const *h = headers; ns == NATS_OK && h && h[0] && h[1]; h += 2)
        ns = natsMsgHeader_Set(m, h[0], h[1]);
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    if (ns == NATS_OK) ns = js_PublishMsg(&ack, s->js, m, NULL, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "%s (JetStream error %d)", natsStatus_GetText(ns),
                             (int)jerr);
    return BYRON_OK;
}

int64_t byron_stream_max_payload(byron_stream_t *s) { return natsConnection_GetMaxPayload(s->nc); }

void byron_stream_flush(byron_stream_t *s, int timeout_ms) {
    if (s && s->nc) natsConnection_FlushTimeout(s->nc, timeout_ms);
}

jsCtx *byron_stream_jetstream(byron_stream_t *s) { return s->js; }

/* ---- push subscriptions -------------------------------------------------- */

byron_status_t byron_stream_subscribe(byron_stream_t *s, const char *subject, uint64_t from,
                                      natsMsgHandler fn, natsOnCompleteCB done, void *closure,
                                      natsSubscription **sub, byron_err_t *err) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = s->comp->stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = from ? js_DeliverByStartSequence : js_DeliverNew;
    so.Config.OptStartSeq = from;
    jsErrCode jerr = 0;
    *sub = NULL;
    natsStatus ns = js_Subscribe(sub, s->js, subject, fn, closure, NULL, &so, &jerr);
    if (ns == NATS_OK && (ns = natsSubscription_SetOnCompleteCB(*sub, done, closure)) != NATS_OK) {
        natsSubscription_Unsubscribe(*sub); /* cannot happen on a fresh async subscription */
        natsSubscription_Destroy(*sub);
        *sub = NULL;
    }
    if (ns != NATS_OK) {
        *sub = NULL;
        return byron_err_set(err, BYRON_EUNAVAILABLE, "%s (%d)", natsStatus_GetText(ns), (int)jerr);
    }
    return BYRON_OK;
}
