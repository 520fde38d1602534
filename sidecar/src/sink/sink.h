/* sink.h — the Sink: projects the event log into the cache (docs/sink.md).
 *
 * Lanes: one per partition of the component's stream (durable pull consumer
 * "byron-sink-p<p>", filter byron.<ns>.<c>.<p>.>, MaxAckPending 1) and one per
 * subscription (durable "byron-sub-<ns>-<c>" on the other component's stream,
 * MaxAckPending 1). Every replica pulls from every lane, so at most one event
 * per lane is in flight cluster-wide: per-aggregate order holds, replicas
 * share the lanes, and a dead replica's event comes back after AckWait.
 *
 * Threads: a fixed set of lane threads (BYRON_SINK_THREADS, default
 * min(lanes, 8)), each owning lanes t, t+T, ...: one lane is long-polled,
 * several are polled round-robin with no-wait fetches; each event is
 * projected synchronously on its lane's thread (MongoDB + app calls are
 * blocking; projection.h). Nothing here runs on the HTTP loop. The sink
 * uses the sidecar's one NATS connection (stream.h: its consumer calls) and
 * its one MongoDB pool (cache.h: a client per lane thread, reserved at new).
 *
 * Lifecycle (as the operator's components): byron_sink_new allocates and
 * starts nothing; byron_sink_start starts the lane threads and the generation
 * thread; byron_sink_stop stops fetching, settles the events in hand (acked or
 * NAKed) and joins; byron_sink_free frees (stopping first if needed). The
 * stream and the cache outlive the sink: main.c frees them after it. */
#ifndef BYRON_SIDECAR_SINK_H
#define BYRON_SIDECAR_SINK_H

#include "app.h"
#include "byron/metrics.h"
#include "byron/status.h"
#include "cache.h"
#include "component.h"
#include "stream.h"

#include <json-c/json.h>

typedef struct byron_sink byron_sink_t;

typedef struct byron_sink_options {
    const byron_component_t *component; /* required */
    byron_stream_t *stream;             /* required: the lanes' consumers and the dead letters */
    byron_cache_t *cache;               /* required: the projection's reads and writes */
    const char *database;               /* set by byron_sink_new: the cache's (byron_cache_database) */
    byron_app_t *app;                   /* NULL: no app (default projection only) */
    byron_metrics_t *metrics;           /* NULL: none */
    int threads;        /* lane threads (0: min(lanes, 8));             env BYRON_SINK_THREADS */
    int max_deliver;    /* deliveries before dead-lettering (0: 5);      env BYRON_SINK_MAX_DELIVER */
    int retry_ms;       /* first NAK delay, doubled per delivery (0: 500); env BYRON_SINK_RETRY_MS */
    int ack_wait_ms;    /* redelivery after a replica died (0: 30000);  env BYRON_SINK_ACK_WAIT_MS */
    int dlq_attempts;   /* deliveries before an event whose dead letter cannot be stored is
                           terminated anyway (0: max_deliver + 10);      env BYRON_SINK_DLQ_ATTEMPTS */
    int defer_ms;       /* how long an event of a newer model waits for a sink that knows it
                           (0: 600000);                                   env BYRON_SINK_DEFER_MS */
    int64_t generation; /* the cache generation wanted: above the live one, a rebuild
                           (docs/sink.md, "Rebuild")             env BYRON_CACHE_GENERATION */
    int grace_ms;       /* after a rebuild's switch, how long the old generation stays
                           projected before it is dropped (settings: 60000) env BYRON_CACHE_GRACE_MS */
} byron_sink_options_t;

/* The lanes and their names; reserves the cache clients its threads will hold. No thread. */
byron_sink_t *byron_sink_new(const byron_sink_options_t *o, byron_err_t *err);
/* Start the lanes (they create their consumers in the background, retrying
 * with backoff) once the cache generation is read (generation.h); with a
 * wanted generation above the live one, a rebuild beside it. Once. */
byron_status_t byron_sink_start(byron_sink_t *s, byron_err_t *err);
/* Stop fetching, finish the events in hand (acked or NAKed), join the
 * threads, flush the last acks. Idempotent; the sink is then only freed. */
void byron_sink_stop(byron_sink_t *s);
/* Free (stops first if it runs). NULL is a no-op. */
void byron_sink_free(byron_sink_t *s);

/* Adds "sink" (the own stream's lanes: blocking) and "subscriptions" (reported,
 * not blocking: another component being away must not fail this one) to a
 * readiness "checks" object; *ready is cleared when the own lanes are not up. */
void byron_sink_readiness(byron_sink_t *s, json_object *checks, int *ready);

/* Names (exposed for tests and tools). */
#define BYRON_SINK_DURABLE_FMT "byron-sink-p%d"
#define BYRON_SINK_STATE_COLLECTION "_byron_sink"
/* A lane durable's description: the cache generation it projects. */
#define BYRON_SINK_DESCRIPTION_FMT "Byron sink, cache generation %lld"
/* byron-sub-<ns>-<component> into buf. */
void byron_sink_subscription_durable(const byron_component_t *c, char *buf, size_t cap);
/* BYRON_<ns>_<c>_DLQ and byrondlq.<ns>.<c> into the buffers. */
void byron_sink_dlq_names(const byron_component_t *c, char *stream, size_t scap, char *prefix, size_t pcap);

#endif
