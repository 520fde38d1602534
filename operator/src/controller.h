/* controller.h — the ByronComponent controller.
 *
 *   informers (component + owned kinds) → stores
 *        │ event handlers map an owned object to its controller owner
 *        ▼
 *   work queue of "ns/name" → N workers → byron_controller_reconcile()
 *
 * A reconcile is level-based: it reads the component and its children from
 * the stores (written by the informers only), applies what differs or
 * drifted (server-side apply), deletes what is no longer wanted and writes
 * status when it changed. Running it twice is harmless; that is what makes
 * requeues and resyncs safe. */
#ifndef BYRON_CONTROLLER_H
#define BYRON_CONTROLLER_H

#include "broker.h"
#include "byron/kube_client.h"
#include "byron/metrics.h"
#include "byron/status.h"
#include "desired.h"
#include "insights.h"
#include "natsidentity.h"
#include "recorder.h"

#include <stddef.h>

typedef struct byron_controller_options {
    byron_kube_client_t *client;
    /* The components' streams: created and updated by the operator (NULL: not
     * managed here — tests of the operator alone). */
    byron_broker_t *broker;
    /* NATS users per component, minted from this identity into
     * <c>-nats-credentials (NULL: the brokers need no authentication). */
    const byron_natsidentity_t *nats_identity;
    unsigned nats_credentials_ttl_s; /* a user JWT's lifetime (0: 24 h); renewed at half of it */
    byron_desired_options_t desired;
    const char *const *namespaces; /* NULL or empty: all namespaces */
    size_t nnamespaces;
    int workers;                       /* 0: 2 */
    byron_metrics_t *metrics;          /* optional */
    byron_recorder_t *recorder;        /* optional */
    unsigned min_watch_s, max_watch_s; /* informer watch timeouts (0: 300/600) */
    /* Resync: a component reconciled without error is queued again
     * resync_s seconds later (the queue's add_after), a reconcile like any
     * other: it writes only what differs. 0: never. */
    unsigned resync_s;
    /* status.stream, status.sink.lag, status.deadLetters and the Lagging and
     * DeadLetters conditions from the broker's readings (NULL: none). */
    const byron_insights_thresholds_t *insights;
} byron_controller_options_t;

typedef struct byron_controller byron_controller_t;

byron_controller_t *byron_controller_new(const byron_controller_options_t *o, byron_err_t *err);
/* Start informers, wait up to timeout_ms for their first list, start workers. */
byron_status_t byron_controller_start(byron_controller_t *c, unsigned timeout_ms, byron_err_t *err);
int byron_controller_synced(byron_controller_t *c);
/* One reconcile of "ns/name" (what a worker runs; exposed for tests). */
byron_status_t byron_controller_reconcile(byron_controller_t *c, const char *key, byron_err_t *err);
void byron_controller_stop(byron_controller_t *c);
void byron_controller_free(byron_controller_t *c);

/* Total lists done by the component informers (tests: relist after 410). */
unsigned byron_controller_component_lists(byron_controller_t *c);

/* Condition reasons (docs/operator.md). */
#define BYRON_REASON_READY "Ready"
#define BYRON_REASON_NOT_READY "ComponentsNotReady"
#define BYRON_REASON_ROLLING "RollingOut"
#define BYRON_REASON_COMPLETE "RolloutComplete"
#define BYRON_REASON_BLOCKED "Blocked"
#define BYRON_REASON_INVALID "InvalidSpec"
#define BYRON_REASON_APPLY_FAILED "ApplyFailed"
#define BYRON_REASON_NOT_OWNED "NotOwned"               /* an object with a child's name is someone else's */
#define BYRON_REASON_STREAM "StreamNotReady"            /* the broker is unreachable or refused the stream */
#define BYRON_REASON_CREDENTIALS_LOST "CredentialsLost" /* cache Secret gone, its volume still there */
#define BYRON_REASON_RECONCILED "Reconciled"

#endif
