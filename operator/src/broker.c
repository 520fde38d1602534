/* broker.c — the operator's NATS connections and stream management. */
#include "broker.h"

#include "byron/clock.h"
#include "byron/jetstream.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/log.h"
#include "natsperm.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BROKERS 16
#define RECHECK_S 300 /* a stream found right is looked at again after this long */
#define RETRY_CONNECT_MS 2000

typedef struct conn {
    char *url;
    natsConnection *nc;
    long long failed_at_ms; /* last failed connect: fail fast until RETRY_CONNECT_MS later */
    char failure[200];
    /* the user minted for the connection in progress: the JWT callback makes
     * it, the signature callback signs the server's nonce with it */
    byron_nkey_t user;
    byron_broker_t *broker;
} conn_t;

typedef struct ensured {
    char key[600]; /* url|ns/c */
    char url[400], ns[128], component[128];
    int replicas;
    int64_t max_bytes;
    time_t at;
    int partitions;
    char *subs; /* "<ns>/<component>\n" per component it subscribes to ("" or NULL: none); owned */
    byron_broker_insights_t ins;
} ensured_t;

struct byron_broker {
    byron_broker_options_t o;
    pthread_mutex_t mu; /* conns, ensured; a connect happens under it (bounded by the timeout) */
    conn_t conns[MAX_BROKERS];
    int nconns;
    ensured_t *ensured;
    size_t nensured, capensured;
    byron_metric_t *m_bytes, *m_msgs, *m_max, *m_lag, *m_dead;
    byron_broker_listener_fn listener;
    void *listener_ud;
    pthread_t refresher;
    int started, stopping; /* stopping: under mu, signalled on cv */
    pthread_cond_t cv;
};

static natsStatus user_jwt(char **jwt, char **errtxt, void *closure) {
    conn_t *c = closure;
    byron_err_t err = {0};
    json_object *perm = byron_natsperm_operator();
    int64_t now = (int64_t)time(NULL);
    /* Short-lived: minted again at every (re)connect. */
    *jwt = byron_natsidentity_mint_jwt(c->broker->o.identity, "byron-operator", perm, now, now + 3600,
                                       &c->user, &err);
    json_object_put(perm);
    if (*jwt) return NATS_OK;
    *errtxt = strdup(err.msg);
    return NATS_ERR;
}

static natsStatus sign_nonce(char **errtxt, unsigned char **sig, int *siglen, const char *nonce,
                             void *closure) {
    conn_t *c = closure;
    byron_err_t err = {0};
    if (!(*sig = malloc(64))) return NATS_NO_MEMORY;
    /* A server without authentication sends no nonce (a testenv, a NATS
     * without auth): sign the empty string, which it ignores. */
    if (!nonce) nonce = "";
    if (byron_nkey_sign(&c->user, nonce, strlen(nonce), *sig, &err) != BYRON_OK) {
        free(*sig);
        *sig = NULL;
        *errtxt = strdup(err.msg);
        return NATS_ERR;
    }
    *siglen = 64;
    return NATS_OK;
}

byron_broker_t *byron_broker_new(const byron_broker_options_t *o, byron_err_t *err) {
    byron_broker_t *b = calloc(1, sizeof *b);
    if (!b) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    b->o = *o;
    if (b->o.timeout_ms <= 0) b->o.timeout_ms = 3000;
    if (!b->o.refresh_s) b->o.refresh_s = 30;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (o->metrics) {
        static const char *const l[] = {"namespace", "component", "stream", NULL};
        b->m_bytes = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "byron_stream_bytes",
                                            "Bytes a component's event stream holds (read every refresh).", l,
                                            NULL, 0);
        b->m_msgs = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "byron_stream_messages",
                                           "Events a component's event stream holds.", l, NULL, 0);
        b->m_max = byron_metrics_register(
            o->metrics, BYRON_METRIC_GAUGE, "byron_stream_max_bytes",
            "The stream's size limit (spec.broker.maxBytes; -1: none): when reached, new events are refused.",
            l, NULL, 0);
        static const char *const lc[] = {"namespace", "component", NULL};
        b->m_lag = byron_metrics_register(
            o->metrics, BYRON_METRIC_GAUGE, "byron_sink_lag",
            "Events the component's sink has not been handed yet, over all its lanes.", lc, NULL, 0);
        b->m_dead = byron_metrics_register(
            o->metrics, BYRON_METRIC_GAUGE, "byron_dead_letters",
            "Dead letters of the component no one has replayed or dropped yet.", lc, NULL, 0);
    }
    return b;
}

void byron_broker_set_listener(byron_broker_t *b, byron_broker_listener_fn fn, void *ud) {
    pthread_mutex_lock(&b->mu);
    b->listener = fn;
    b->listener_ud = ud;
    pthread_mutex_unlock(&b->mu);
}

/* "<ns>/<component>\n" per subscription, one string (caller frees; NULL: out of memory). */
static char *subs_text(const byron_natsperm_ref_t *refs, size_t nrefs) {
    size_t len = 1;
    for (size_t i = 0; i < nrefs; i++) len += strlen(refs[i].namespace_) + strlen(refs[i].component) + 2;
    char *out = malloc(len), *p = out;
    for (size_t i = 0; out && i < nrefs; i++)
        p += snprintf(p, len - (size_t)(p - out), "%s/%s\n", refs[i].namespace_, refs[i].component);
    if (out) *p = '\0';
    return out;
}

int byron_broker_insights(byron_broker_t *b, const char *ns, const char *component,
                          byron_broker_insights_t *out) {
    int found = 0;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->nensured && !found; i++)
        if (!strcmp(b->ensured[i].ns, ns) && !strcmp(b->ensured[i].component, component)) {
            *out = b->ensured[i].ins;
            found = out->measured || out->error[0];
        }
    pthread_mutex_unlock(&b->mu);
    return found;
}

/* The gauges of one event stream, from a STREAM.INFO answer. */
static void set_gauges(byron_broker_t *b, const char *ns, const char *c, const char *stream,
                       json_object *info) {
    if (!b->m_bytes) return;
    json_object *st = json_object_object_get(info, "state"), *cfg = json_object_object_get(info, "config");
    const char *v[] = {ns, c, stream};
    byron_metric_set(b->m_bytes, v, (double)json_object_get_int64(json_object_object_get(st, "bytes")));
    byron_metric_set(b->m_msgs, v, (double)json_object_get_int64(json_object_object_get(st, "messages")));
    byron_metric_set(b->m_max, v, (double)json_object_get_int64(json_object_object_get(cfg, "max_bytes")));
}

void byron_broker_forget(byron_broker_t *b, const char *ns, const char *component) {
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->nensured;) {
        ensured_t *e = &b->ensured[i];
        if (strcmp(e->ns, ns) != 0 || strcmp(e->component, component) != 0) {
            i++;
            continue;
        }
        byron_jetstream_names_t n;
        if (!byron_jetstream_names(ns, component, &n) && b->m_bytes) {
            const char *v[] = {ns, component, n.stream}, *vc[] = {ns, component};
            byron_metric_remove(b->m_bytes, v);
            byron_metric_remove(b->m_msgs, v);
            byron_metric_remove(b->m_max, v);
            byron_metric_remove(b->m_lag, vc);
            byron_metric_remove(b->m_dead, vc);
        }
        free(e->subs);
        b->ensured[i] = b->ensured[--b->nensured];
    }
    pthread_mutex_unlock(&b->mu);
}

void byron_broker_free(byron_broker_t *b) {
    if (!b) return;
    byron_broker_stop(b);
    for (int i = 0; i < b->nconns; i++) {
        if (b->conns[i].nc) {
            natsConnection_Close(b->conns[i].nc);
            natsConnection_Destroy(b->conns[i].nc);
        }
        byron_nkey_wipe(&b->conns[i].user);
        free(b->conns[i].url);
    }
    for (size_t i = 0; i < b->nensured; i++) free(b->ensured[i].subs);
    free(b->ensured);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* The connection to url, opened if needed (under b->mu). */
static natsConnection *connection(byron_broker_t *b, const char *url, byron_err_t *err) {
    conn_t *c = NULL;
    for (int i = 0; i < b->nconns; i++)
        if (!strcmp(b->conns[i].url, url)) c = &b->conns[i];
    if (!c) {
        if (b->nconns == MAX_BROKERS) {
            byron_err_set(err, BYRON_EINVAL, "more than %d broker URLs in use", MAX_BROKERS);
            return NULL;
        }
        c = &b->conns[b->nconns++];
        c->url = strdup(url);
        c->broker = b;
    }
    if (c->nc) return c->nc;
    if (c->failed_at_ms && byron_clock_mono_ms() - c->failed_at_ms < RETRY_CONNECT_MS) {
        byron_err_set(err, BYRON_EUNAVAILABLE, "NATS at %s: %s", url, c->failure);
        return NULL;
    }
    natsOptions *no = NULL;
    natsStatus ns;
    if ((ns = natsOptions_Create(&no)) != NATS_OK || (ns = natsOptions_SetURL(no, url)) != NATS_OK ||
        (ns = natsOptions_SetName(no, "byron-operator")) != NATS_OK ||
        (ns = natsOptions_SetTimeout(no, b->o.timeout_ms)) != NATS_OK ||
        (ns = natsOptions_SetMaxReconnect(no, -1)) != NATS_OK ||
        (ns = natsOptions_SetReconnectWait(no, 500)) != NATS_OK ||
        (ns = natsOptions_SetCustomInboxPrefix(no, BYRON_NATSPERM_OPERATOR_INBOX)) != NATS_OK ||
        (b->o.identity &&
         (ns = natsOptions_SetUserCredentialsCallbacks(no, user_jwt, c, sign_nonce, c)) != NATS_OK) ||
        (b->o.ca_file && ((ns = natsOptions_LoadCATrustedCertificates(no, b->o.ca_file)) != NATS_OK ||
                          (ns = natsOptions_SetSecure(no, true)) != NATS_OK)))
        goto fail;
    /* cnats 3.4 (Debian 12) loses the server's nonce when the INFO line
     * arrives in two reads (about one connect in a hundred here) and then
     * sends no signature: the server refuses it as an authorization
     * violation. A second connect gets a new INFO. */
    for (int attempt = 0; attempt < 3; attempt++) {
        ns = natsConnection_Connect(&c->nc, no);
        if (ns != NATS_CONNECTION_AUTH_FAILED || !b->o.identity) break;
        natsConnection_Destroy(c->nc);
        c->nc = NULL;
    }
fail:
    natsOptions_Destroy(no);
    if (ns == NATS_OK) {
        c->failed_at_ms = 0;
        byron_log(BYRON_LOG_INFO, "connected to NATS", "url", url, (char *)NULL);
        return c->nc;
    }
    c->nc = NULL;
    const char *last = nats_GetLastError(NULL);
    snprintf(c->failure, sizeof c->failure, "%s%s%s", natsStatus_GetText(ns), last ? ": " : "",
             last ? last : "");
    c->failed_at_ms = byron_clock_mono_ms();
    byron_err_set(err, BYRON_EUNAVAILABLE, "NATS at %s: %s", url, c->failure);
    return NULL;
}

/* One JetStream API request. *resp: the answer (caller puts); *code: its
 * err_code (0: none). ENOTFOUND for "stream not found" (10059). */
static byron_status_t js_api(natsConnection *nc, int timeout_ms, const char *subject, const char *body,
                             json_object **resp, int *code, byron_err_t *err) {
    natsMsg *reply = NULL;
    *resp = NULL;
    *code = 0;
    natsStatus ns = natsConnection_RequestString(&reply, nc, subject, body ? body : "", timeout_ms);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "%s: %s", subject,
                             ns == NATS_NO_RESPONDERS ? "JetStream is not available"
                                                      : natsStatus_GetText(ns));
    byron_err_t pe = {0};
    byron_status_t st =
        byron_json_parse(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 32, resp, &pe);
    natsMsg_Destroy(reply);
    if (st) return byron_err_set(err, BYRON_EPROTO, "%s: unreadable answer: %s", subject, pe.msg);
    json_object *e, *v;
    if (!json_object_object_get_ex(*resp, "error", &e)) return BYRON_OK;
    if (json_object_object_get_ex(e, "err_code", &v)) *code = json_object_get_int(v);
    const char *d = json_object_object_get_ex(e, "description", &v) ? json_object_get_string(v) : "error";
    return byron_err_set(err, *code == 10059 ? BYRON_ENOTFOUND : BYRON_EINVAL, "%s (JetStream error %d)", d,
                         *code);
}

static const char *subjects_of(json_object *config) {
    json_object *s;
    if (!json_object_object_get_ex(config, "subjects", &s) || json_object_array_length(s) != 1) return "";
    return json_object_get_string(json_object_array_get_idx(s, 0));
}

static byron_status_t ensure_one(byron_broker_t *b, natsConnection *nc, json_object *want, json_object **info,
                                 byron_err_t *err) {
    const char *name = json_object_get_string(json_object_object_get(want, "name"));
    char subj[400];
    json_object *resp = NULL, *have = NULL;
    int code = 0;
    const char *body = byron_json_compact(want), *done = NULL;
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", name);
    byron_status_t st = js_api(nc, b->o.timeout_ms, subj, NULL, &resp, &code, err);
    if (st == BYRON_ENOTFOUND) {
        json_object_put(resp);
        byron_err_clear(err);
        snprintf(subj, sizeof subj, "$JS.API.STREAM.CREATE.%s", name);
        st = js_api(nc, b->o.timeout_ms, subj, body, &resp, &code, err);
        done = "stream created";
    } else if (st == BYRON_OK) {
        json_object_object_get_ex(resp, "config", &have);
        const char *ours = subjects_of(want), *theirs = subjects_of(have);
        if (strcmp(ours, theirs) != 0) {
            /* Same name, other subjects: not this component's stream. */
            st = byron_err_set(
                err, BYRON_EINVAL,
                "stream %s exists with subjects \"%s\", not \"%s\": it belongs to someone else; left "
                "untouched",
                name, theirs, ours);
        } else {
            const char *diff = byron_jetstream_config_differs(want, have);
            if (diff) {
                json_object_put(resp);
                snprintf(subj, sizeof subj, "$JS.API.STREAM.UPDATE.%s", name);
                st = js_api(nc, b->o.timeout_ms, subj, body, &resp, &code, err);
                done = "stream updated";
            }
        }
    }
    if (!st && info) *info = json_object_get(resp); /* the last answer: the stream as it is now */
    json_object_put(resp);
    if (st) return byron_err_prefix(err, "stream %s", name);
    if (done) byron_log(BYRON_LOG_INFO, done, "stream", name, (char *)NULL);
    return BYRON_OK;
}

byron_status_t byron_broker_ensure_streams(byron_broker_t *b, const byron_broker_streams_t *s,
                                           byron_err_t *err) {
    byron_jetstream_names_t n;
    if (byron_jetstream_names(s->namespace_, s->component, &n))
        return byron_err_set(err, BYRON_EINVAL, "%s/%s: names too long for a stream", s->namespace_,
                             s->component);
    char key[600];
    snprintf(key, sizeof key, "%s|%s/%s", s->url, s->namespace_, s->component);
    time_t now = time(NULL);
    pthread_mutex_lock(&b->mu);
    ensured_t *e = NULL;
    for (size_t i = 0; i < b->nensured; i++)
        if (!strcmp(b->ensured[i].key, key)) e = &b->ensured[i];
    if (e && e->replicas == s->replicas && e->max_bytes == s->max_bytes && now - e->at < RECHECK_S) {
        e->partitions = s->partitions; /* the lanes may change without the streams */
        free(e->subs);
        e->subs = subs_text(s->subscriptions, s->nsubscriptions);
        pthread_mutex_unlock(&b->mu);
        return BYRON_OK;
    }
    natsConnection *nc = connection(b, s->url, err);
    pthread_mutex_unlock(&b->mu);
    if (!nc) return err->code;
    json_object *events = byron_jetstream_stream_config(&n, s->replicas, s->max_bytes),
                *dlq = byron_jetstream_dlq_config(&n, s->replicas);
    json_object *info = NULL;
    byron_status_t st = ensure_one(b, nc, events, &info, err);
    if (!st) st = ensure_one(b, nc, dlq, NULL, err);
    json_object_put(events);
    json_object_put(dlq);
    if (!st) set_gauges(b, s->namespace_, s->component, n.stream, info);
    json_object_put(info);
    if (st) return st;
    pthread_mutex_lock(&b->mu);
    e = NULL;
    for (size_t i = 0; i < b->nensured; i++)
        if (!strcmp(b->ensured[i].key, key)) e = &b->ensured[i];
    if (!e && b->nensured == b->capensured) {
        size_t cap = b->capensured ? 2 * b->capensured : 16;
        ensured_t *ne = realloc(b->ensured, cap * sizeof *ne);
        if (ne) {
            b->ensured = ne;
            b->capensured = cap;
        }
    }
    if (!e && b->nensured < b->capensured) {
        e = &b->ensured[b->nensured++];
        memset(e, 0, sizeof *e);
    }
    if (e) {
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->url, sizeof e->url, "%s", s->url);
        snprintf(e->ns, sizeof e->ns, "%s", s->namespace_);
        snprintf(e->component, sizeof e->component, "%s", s->component);
        e->replicas = s->replicas;
        e->max_bytes = s->max_bytes;
        e->at = now;
        e->partitions = s->partitions;
        free(e->subs);
        e->subs = subs_text(s->subscriptions, s->nsubscriptions);
    }
    pthread_mutex_unlock(&b->mu);
    return BYRON_OK;
}

/* --- the insights ---------------------------------------------------------------- */

/* The lane of a sink durable's name: p for "byron-sink-p<p>" (and its rebuild
 * slot's "byron-sink-p<p>_b"), -1 for any other consumer. */
static int lane_of(const char *name, int partitions) {
    static const char P[] = "byron-sink-p";
    if (strncmp(name, P, sizeof P - 1) != 0) return -1;
    char *end = NULL;
    long p = strtol(name + sizeof P - 1, &end, 10);
    if (end == name + sizeof P - 1 || (*end && strcmp(end, "_b") != 0) || p < 0 || p >= partitions) return -1;
    return (int)p;
}

/* The least of a lane's durables' pending (a rebuild's lane, further behind,
 * is not the lag readers see); -1 when none exists. */
static void keep_min(int64_t *slot, int64_t v) {
    if (*slot < 0 || v < *slot) *slot = v;
}

/* The cache generation a sink durable projects, from its description
 * ("Byron sink, cache generation N": sidecar sink.h); 0 without one. */
static int64_t generation_of(json_object *consumer) {
    const char *d = json_object_get_string(
        json_object_object_get(json_object_object_get(consumer, "config"), "description"));
    const char *g = d ? strstr(d, "cache generation ") : NULL;
    long long v = g ? strtoll(g + 17, NULL, 10) : 0;
    return v > 0 && v < 1000000000LL ? (int64_t)v : 0;
}

/* Lag of the component's own lanes: one CONSUMER.LIST of its stream (paged);
 * on the way, the generations its lanes project and how far the newest one
 * is behind (a rebuild's progress: ins->gen_min, gen_max, rebuild_left). */
static byron_status_t own_lag(byron_broker_t *b, natsConnection *nc, const char *stream, int partitions,
                              byron_broker_insights_t *ins, byron_err_t *err) {
    int64_t *lag = &ins->lag, left_max = 0;
    ins->gen_min = ins->gen_max = -1;
    int64_t *per = malloc((size_t)partitions * sizeof *per);
    if (!per) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (int p = 0; p < partitions; p++) per[p] = -1;
    char subj[400], body[64];
    snprintf(subj, sizeof subj, "$JS.API.CONSUMER.LIST.%s", stream);
    byron_status_t st = BYRON_OK;
    for (int64_t offset = 0, total = 1; offset < total && st == BYRON_OK;) {
        json_object *resp = NULL, *cs = NULL;
        int code = 0;
        snprintf(body, sizeof body, "{\"offset\":%lld}", (long long)offset);
        if ((st = js_api(nc, b->o.timeout_ms, subj, body, &resp, &code, err)) == BYRON_OK) {
            total = json_object_get_int64(json_object_object_get(resp, "total"));
            json_object_object_get_ex(resp, "consumers", &cs);
            size_t n = json_object_is_type(cs, json_type_array) ? json_object_array_length(cs) : 0;
            for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(cs, i);
                int lane = lane_of(json_object_get_string(json_object_object_get(c, "name")), partitions);
                if (lane < 0) continue;
                int64_t pending = json_object_get_int64(json_object_object_get(c, "num_pending")),
                        g = generation_of(c),
                        left = pending + json_object_get_int64(json_object_object_get(c, "num_ack_pending"));
                keep_min(&per[lane], pending);
                if (ins->gen_min < 0 || g < ins->gen_min) ins->gen_min = g;
                if (g > ins->gen_max) {
                    ins->gen_max = g;
                    left_max = 0;
                }
                if (g == ins->gen_max) left_max += left;
            }
            offset += (int64_t)n;
            if (!n) total = offset; /* nothing more */
        }
        json_object_put(resp);
    }
    *lag = 0;
    for (int p = 0; p < partitions; p++)
        if (per[p] > 0) *lag += per[p];
    ins->rebuild_left = left_max;
    free(per);
    return st;
}

/* Lag of one subscription lane: the component's durable on the other stream. */
static byron_status_t sub_lag(byron_broker_t *b, natsConnection *nc, const char *ns, const char *component,
                              const char *other, int64_t *lag, byron_err_t *err) {
    const char *slash = strchr(other, '/');
    byron_jetstream_names_t on;
    char ons[128];
    snprintf(ons, sizeof ons, "%.*s", slash ? (int)(slash - other) : 0, other);
    if (!slash || byron_jetstream_names(ons, slash + 1, &on)) return BYRON_OK;
    int64_t least = -1;
    for (int slot = 0; slot < 2; slot++) {
        char subj[700];
        snprintf(subj, sizeof subj, "$JS.API.CONSUMER.INFO.%s.byron-sub-%s-%s%s", on.stream, ns, component,
                 slot ? "_b" : "");
        json_object *resp = NULL;
        int code = 0;
        byron_err_t e = {0};
        byron_status_t st = js_api(nc, b->o.timeout_ms, subj, NULL, &resp, &code, &e);
        if (st == BYRON_OK)
            keep_min(&least, json_object_get_int64(json_object_object_get(resp, "num_pending")));
        json_object_put(resp);
        if (st == BYRON_EUNAVAILABLE) {
            *err = e;
            return st;
        }
    }
    if (least > 0) *lag += least;
    return BYRON_OK;
}

/* Dead letters without a decision: the dead-letter stream's messages on .own
 * and .sub minus those on .resolved (one per decided event: dlq.c). */
static byron_status_t open_dead_letters(byron_broker_t *b, natsConnection *nc,
                                        const byron_jetstream_names_t *n, int64_t *open, byron_err_t *err) {
    char subj[400], body[400];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", n->dlq_stream);
    snprintf(body, sizeof body, "{\"subjects_filter\":\"%s.*\"}", n->dlq_prefix);
    json_object *resp = NULL, *subjects = NULL;
    int code = 0;
    *open = 0;
    byron_status_t st = js_api(nc, b->o.timeout_ms, subj, body, &resp, &code, err);
    if (st == BYRON_ENOTFOUND) { /* no dead letter ever */
        json_object_put(resp);
        byron_err_clear(err);
        return BYRON_OK;
    }
    if (st == BYRON_OK &&
        json_object_object_get_ex(json_object_object_get(resp, "state"), "subjects", &subjects)) {
        size_t pl = strlen(n->dlq_prefix);
        json_object_object_foreach(subjects, k, v) {
            if (strncmp(k, n->dlq_prefix, pl) != 0 || k[pl] != '.') continue;
            int64_t c = json_object_get_int64(v);
            if (!strcmp(k + pl + 1, "own") || !strcmp(k + pl + 1, "sub"))
                *open += c;
            else if (!strcmp(k + pl + 1, "resolved"))
                *open -= c;
        }
        if (*open < 0) *open = 0;
    }
    json_object_put(resp);
    return st;
}

/* One component's reading. */
static void read_insights(byron_broker_t *b, natsConnection *nc, const ensured_t *e,
                          byron_broker_insights_t *ins) {
    byron_jetstream_names_t n;
    byron_err_t err = {0};
    memset(ins, 0, sizeof *ins);
    ins->gen_min = ins->gen_max = -1;
    if (byron_jetstream_names(e->ns, e->component, &n)) return;
    snprintf(ins->stream, sizeof ins->stream, "%s", n.stream);
    char subj[400];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", n.stream);
    json_object *info = NULL;
    int code = 0;
    byron_status_t st = js_api(nc, b->o.timeout_ms, subj, NULL, &info, &code, &err);
    if (st == BYRON_OK) {
        json_object *state = json_object_object_get(info, "state"),
                    *cfg = json_object_object_get(info, "config");
        set_gauges(b, e->ns, e->component, n.stream, info);
        ins->messages = json_object_get_int64(json_object_object_get(state, "messages"));
        ins->bytes = json_object_get_int64(json_object_object_get(state, "bytes"));
        ins->replicas = json_object_get_int64(json_object_object_get(cfg, "num_replicas"));
    }
    json_object_put(info);
    if (st == BYRON_OK && e->partitions > 0) st = own_lag(b, nc, n.stream, e->partitions, ins, &err);
    char *subs = e->subs ? strdup(e->subs) : NULL, *save = NULL;
    for (char *o = subs ? strtok_r(subs, "\n", &save) : NULL; st == BYRON_OK && o;
         o = strtok_r(NULL, "\n", &save))
        st = sub_lag(b, nc, e->ns, e->component, o, &ins->lag, &err);
    free(subs);
    if (st == BYRON_OK) st = open_dead_letters(b, nc, &n, &ins->dead_letters, &err);
    byron_kube_time_now(ins->time, sizeof ins->time, 0);
    if (st != BYRON_OK) {
        snprintf(ins->error, sizeof ins->error, "%.255s", err.msg);
        return;
    }
    ins->measured = 1;
    if (b->m_lag) {
        const char *v[] = {e->ns, e->component};
        byron_metric_set(b->m_lag, v, (double)ins->lag);
        byron_metric_set(b->m_dead, v, (double)ins->dead_letters);
    }
}

static int same_reading(const byron_broker_insights_t *a, const byron_broker_insights_t *c) {
    return a->measured == c->measured && a->messages == c->messages && a->bytes == c->bytes &&
           a->replicas == c->replicas && a->lag == c->lag && a->dead_letters == c->dead_letters &&
           a->gen_min == c->gen_min && a->gen_max == c->gen_max && a->rebuild_left == c->rebuild_left &&
           !strcmp(a->error, c->error);
}

/* Every refresh_s: each known component's reading (insights), in small
 * requests — STREAM.INFO of its two streams, one CONSUMER.LIST, one
 * CONSUMER.INFO per subscription: O(components) per period. A changed
 * reading is reported to the listener (its status follows). */
static void *refresh_loop(void *arg) {
    byron_broker_t *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += b->o.refresh_s;
        while (!b->stopping && pthread_cond_timedwait(&b->cv, &b->mu, &until) == 0) {
        }
        if (b->stopping) break;
        size_t n = b->nensured;
        ensured_t *snap = n ? calloc(n, sizeof *snap) : NULL;
        for (size_t i = 0; snap && i < n; i++) { /* deep: the lanes may change while we read */
            snap[i] = b->ensured[i];
            snap[i].subs = b->ensured[i].subs ? strdup(b->ensured[i].subs) : NULL;
        }
        if (!snap) n = 0;
        pthread_mutex_unlock(&b->mu);
        for (size_t i = 0; i < n; i++) {
            byron_err_t err = {0};
            byron_broker_insights_t ins;
            pthread_mutex_lock(&b->mu);
            natsConnection *nc = connection(b, snap[i].url, &err);
            pthread_mutex_unlock(&b->mu);
            if (nc) {
                read_insights(b, nc, &snap[i], &ins);
            } else {
                memset(&ins, 0, sizeof ins);
                snprintf(ins.error, sizeof ins.error, "%.255s", err.msg);
                byron_kube_time_now(ins.time, sizeof ins.time, 0);
            }
            int changed = 0;
            pthread_mutex_lock(&b->mu);
            for (size_t k = 0; k < b->nensured; k++)
                if (!strcmp(b->ensured[k].key, snap[i].key)) {
                    changed = !same_reading(&b->ensured[k].ins, &ins);
                    b->ensured[k].ins = ins;
                }
            /* under mu: a listener removed (the controller stopping) is never called after */
            if (changed && b->listener) b->listener(b->listener_ud, snap[i].ns, snap[i].component);
            pthread_mutex_unlock(&b->mu);
        }
        for (size_t i = 0; i < n; i++) free(snap[i].subs);
        free(snap);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

byron_status_t byron_broker_start(byron_broker_t *b, byron_err_t *err) {
    if (b->o.no_insights || b->started) return BYRON_OK;
    if (pthread_create(&b->refresher, NULL, refresh_loop, b) != 0)
        return byron_err_set(err, BYRON_ENOMEM, "cannot start the insights' thread");
    b->started = 1;
    return BYRON_OK;
}

void byron_broker_stop(byron_broker_t *b) {
    if (!b || !b->started) return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->refresher, NULL);
    b->started = 0;
}
