/* broker.h — the operator's side of NATS: it creates and updates every
 * component's streams.
 *
 * With NATS authentication on, no sidecar may create, update, purge or delete
 * a stream (natsperm.h); the operator does it before the component's pods need
 * them, over its own connection, as a user it mints for itself (stream create,
 * update and info only — not purge or delete). One connection per broker URL,
 * opened on first use and kept (cnats reconnects it). Every call is blocking
 * with a bounded wait; thread-safe (reconcile workers share it). */
#ifndef BYRON_BROKER_H
#define BYRON_BROKER_H

#include "byron/metrics.h"
#include "byron/status.h"
#include "natsidentity.h"
#include "natsperm.h"

#include <stdint.h>

typedef struct byron_broker byron_broker_t;

typedef struct byron_broker_options {
    const byron_natsidentity_t *identity; /* NULL: the brokers need no authentication */
    const char *ca_file;                  /* PEM CA for TLS to NATS, or NULL */
    int timeout_ms;                       /* connect and per request (0: 3000) */
    /* Optional: gauges per component's event stream (namespace, component,
     * stream) — byron_stream_bytes, byron_stream_messages and
     * byron_stream_max_bytes (-1: no limit) — to alert on a stream nearing its
     * limit: byron_stream_bytes / byron_stream_max_bytes > 0.8. */
    byron_metrics_t *metrics;
    /* How often each component's stream, sink lanes and dead letters are read
     * from its broker (the gauges, and byron_broker_insights); 0: 30. With
     * no_insights nothing is read periodically. */
    unsigned refresh_s;
    int no_insights;
} byron_broker_options_t;

/* _new allocates; _start runs the thread that reads the insights (a no-op
 * with no_insights); _stop joins it; _free frees. */
byron_broker_t *byron_broker_new(const byron_broker_options_t *o, byron_err_t *err);
byron_status_t byron_broker_start(byron_broker_t *b, byron_err_t *err);
void byron_broker_stop(byron_broker_t *b);
void byron_broker_free(byron_broker_t *b);
/* A component is gone: forget its streams (nothing is deleted on the broker:
 * the log outlives the resource) and drop its gauges. */
void byron_broker_forget(byron_broker_t *b, const char *ns, const char *component);

typedef struct byron_broker_streams {
    const char *url; /* the component's broker */
    const char *namespace_, *component;
    int replicas;      /* 1 or 3 */
    int64_t max_bytes; /* -1: unlimited */
    /* The sink's lanes, for its lag (byron_broker_insights): its partitions
     * (0: not known, no lag read) and the components it subscribes to. */
    int partitions;
    const byron_natsperm_ref_t *subscriptions;
    size_t nsubscriptions;
} byron_broker_streams_t;

/* Create the component's event stream and dead-letter stream, or update the
 * settings Byron manages where they differ (replicas, max bytes, ...).
 * EUNAVAILABLE: the broker cannot be reached (retry later); EINVAL: it refused
 * the configuration, or a stream of that name belongs to someone else
 * (different subjects) — the message says which. */
byron_status_t byron_broker_ensure_streams(byron_broker_t *b, const byron_broker_streams_t *s,
                                           byron_err_t *err);

/* What the operator last read on a component's broker (every refresh_s):
 * its event stream, its sink's lag and its open dead letters. Read by the
 * reconcile for status.stream, status.sink.lag, status.deadLetters and the
 * Lagging and DeadLetters conditions (insights.h). */
typedef struct byron_broker_insights {
    int measured; /* 0: not read yet, or the last reading failed (error says why) */
    char stream[256];
    int64_t messages, bytes, replicas;
    int64_t lag;          /* events not yet handed to the sink, over all its lanes */
    int64_t dead_letters; /* dead letters without a decision (docs/sink.md) */
    /* The cache generations the sink's own lanes project (their durables'
     * descriptions; -1: no lane yet) and the events the newest one's lanes
     * have not settled: a rebuild's progress (docs/sink.md, "Rebuild"). */
    int64_t gen_min, gen_max, rebuild_left;
    char time[40]; /* when, RFC 3339 */
    char error[256];
} byron_broker_insights_t;

/* The component's last reading into *out; 0 when none was ever made. */
int byron_broker_insights(byron_broker_t *b, const char *ns, const char *component,
                          byron_broker_insights_t *out);

/* Called from the reading thread, under the broker's lock (so it must be
 * quick and call nothing of the broker), when a component's reading changed:
 * the controller requeues it, so its status follows. NULL removes it; once
 * this returns, the old one is never called again. */
typedef void (*byron_broker_listener_fn)(void *ud, const char *ns, const char *component);
void byron_broker_set_listener(byron_broker_t *b, byron_broker_listener_fn fn, void *ud);

#endif
