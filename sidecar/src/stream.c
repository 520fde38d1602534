/* stream.c — JetStream via cnats: one connection, synchronous calls with timeouts. */
#include "stream.h"

#include "byron/log.h"
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
    jsCtx *js;
    int replicas;
    int timeout_ms;
    atomic_int ensured;
    atomic_int closing; /* no "disconnected" warning for our own close */
    /* cnats runs connection callbacks on its own thread, after Close returns:
     * free waits for the closed callback (the last one) before freeing. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed;
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

static void on_disconnected(natsConnection *nc, void *ud) {
    (void)nc;
    byron_stream_t *s = ud;
    if (atomic_load(&s->closing)) return;
    byron_log(BYRON_LOG_WARN, "NATS disconnected", (char *)NULL);
}

static void on_closed(natsConnection *nc, void *ud) {
    (void)nc;
    byron_stream_t *s = ud;
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_connected(natsConnection *nc, void *ud) {
    (void)nc;
    (void)ud;
    byron_log(BYRON_LOG_INFO, "NATS connected", (char *)NULL);
}

static void on_reconnected(natsConnection *nc, void *ud) {
    (void)nc;
    (void)ud;
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
    s->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 5000;
    if ((ns = natsOptions_Create(&opts)) != NATS_OK || (ns = natsOptions_SetURL(opts, o->url)) != NATS_OK ||
        (ns = natsOptions_SetName(opts, o->client_name ? o->client_name : "byron-sidecar")) != NATS_OK ||
        /* Keep trying forever, in the background (a connected callback makes
         * natsConnection_Connect return at once instead of retrying inline):
         * the broker being down is a readiness state, not a crash. */
        (ns = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, NULL)) != NATS_OK ||
        (ns = natsOptions_SetMaxReconnect(opts, -1)) != NATS_OK ||
        (ns = natsOptions_SetReconnectWait(opts, 200)) != NATS_OK ||
        (ns = natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024)) != NATS_OK ||
        (ns = natsOptions_SetTimeout(opts, 2000)) != NATS_OK ||
        (ns = natsOptions_SetDisconnectedCB(opts, on_disconnected, s)) != NATS_OK ||
        (ns = natsOptions_SetClosedCB(opts, on_closed, s)) != NATS_OK ||
        (ns = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL)) != NATS_OK)
        goto err;
    if (byron_nats_options_apply(opts, err) != BYRON_OK) {
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

int byron_stream_connected(byron_stream_t *s) {
    return natsConnection_Status(s->nc) == NATS_CONN_STATUS_CONNECTED;
}

int byron_stream_ready(byron_stream_t *s) { return atomic_load(&s->ensured) && byron_stream_connected(s); }

byron_status_t byron_stream_ensure(byron_stream_t *s, byron_err_t *err) {
    char filter[BYRON_SUBJECT_MAX];
    snprintf(filter, sizeof filter, "%s.>", s->comp->subject_prefix);
    const char *subjects[] = {filter};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = s->comp->stream;
    cfg.Description = "Byron component event log";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy; /* the log is the source of truth: no limits, nothing expires */
    cfg.Replicas = s->replicas;
    cfg.Duplicates = (int64_t)120 * 1000000000; /* de-duplication window: 2 min */
    cfg.AllowDirect = true;
    cfg.DenyDelete = true;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, s->js, cfg.Name, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        ns = js_AddStream(&si, s->js, &cfg, NULL, &jerr);
        if (jerr == JSStreamNameExistErr)
            ns = js_UpdateStream(&si, s->js, &cfg, NULL, &jerr); /* lost a race */
        if (ns == NATS_OK)
            byron_log(BYRON_LOG_INFO, "stream created", "stream", cfg.Name, "subjects", filter, (char *)NULL);
    } else if (ns == NATS_OK) {
        int same = si->Config->SubjectsLen == 1 && strcmp(si->Config->Subjects[0], filter) == 0 &&
                   si->Config->Duplicates == cfg.Duplicates && si->Config->AllowDirect;
        jsStreamInfo_Destroy(si);
        si = NULL;
        if (!same) {
            ns = js_UpdateStream(&si, s->js, &cfg, NULL, &jerr);
            if (ns == NATS_OK) byron_log(BYRON_LOG_INFO, "stream updated", "stream", cfg.Name, (char *)NULL);
        }
    }
    jsStreamInfo_Destroy(si);
    if (ns != NATS_OK) return nats_err(err, ns, jerr, "ensuring stream");
    atomic_store(&s->ensured, 1);
    return BYRON_OK;
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
}

/* While disconnected, a request would only wait out its timeout: answer at
 * once and let the caller's retry loop (bounded by its deadline) come back. */
static byron_status_t check_connected(byron_stream_t *s, byron_err_t *err) {
    if (byron_stream_connected(s)) return BYRON_OK;
    return byron_err_set(err, BYRON_EUNAVAILABLE, "not connected to NATS");
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
    if (out->version <= 0)
        return byron_err_set(err, BYRON_EPROTO, "event %" PRIu64 " on %s has no %s header", out->seq, subject,
                             BYRON_HDR_VERSION);
    return BYRON_OK;
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
    if (data) {
        *len = (size_t)natsMsg_GetDataLength(m);
        if ((*data = malloc(*len + 1))) {
            memcpy(*data, natsMsg_GetData(m), *len);
            (*data)[*len] = '\0';
        }
    }
    natsMsg_Destroy(m);
    return data && !*data ? byron_err_set(err, BYRON_ENOMEM, "out of memory") : BYRON_OK;
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

byron_status_t byron_stream_publish(byron_stream_t *s, const byron_publish_t *p, uint64_t *seq,
                                    int *duplicate, byron_err_t *err) {
    if (check_connected(s, err) != BYRON_OK) return BYRON_EUNAVAILABLE;
    natsMsg *msg = NULL;
    char expected[24], version[24];
    snprintf(expected, sizeof expected, "%" PRIu64, p->expected_seq);
    snprintf(version, sizeof version, "%" PRId64, p->version);
    /* The headers are set by hand rather than with jsPubOptions: cnats omits an
     * expected subject sequence of 0, which is exactly the "must not exist yet"
     * check a create needs. */
    natsStatus ns = natsMsg_Create(&msg, p->subject, NULL, p->data, (int)p->len);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, "Nats-Msg-Id", p->msg_id);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, "Nats-Expected-Stream", s->comp->stream);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", expected);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(msg, BYRON_HDR_VERSION, version);
    if (ns == NATS_OK && p->type) ns = natsMsgHeader_Set(msg, BYRON_HDR_TYPE, p->type);
    if (ns != NATS_OK) {
        natsMsg_Destroy(msg);
        return byron_err_set(err, BYRON_ENOMEM, "building the message: %s", natsStatus_GetText(ns));
    }
    byron_status_t st = publish_msg(s, msg, p->subject, seq, duplicate, err);
    natsMsg_Destroy(msg);
    return st;
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
