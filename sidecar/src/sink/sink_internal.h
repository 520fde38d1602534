/* sink_internal.h — what the sink's files share (sink/ only; sink.h is the
 * sink's interface to main.c). One file per step of an event's life:
 *
 *   sink.c          the object: settings, new/start/stop/free, readiness, metrics
 *   lane.c          a lane's names and state; the lane threads' fetch loop
 *   consumer.c      binding a lane: the cache's indexes, a subscription's
 *                   checkpoint, the durable consumer, the pull subscription
 *   settle.c        one message: the projection (projection.h), then ack, NAK
 *                   with a delay, or a dead letter and terminate
 *   dead_letter.c   the dead-letter stream's writes; the dead letters a rebuild
 *                   must not store twice
 *   generations.c   the generation thread: live lanes, a rebuild beside them,
 *                   the switch, following another replica's switch, the drop
 *
 * Threads and what they own: lane thread t owns lanes t, t+T, ... (their
 * subscription, setup backoff, checkpoint); the generation thread enables and
 * retires slots (atomics publish a lane's fields to its thread); readiness
 * reads a lane's ok/err under its lock. */
#ifndef BYRON_SIDECAR_SINK_INTERNAL_H
#define BYRON_SIDECAR_SINK_INTERNAL_H

#include "byron/metrics.h"
#include "cache.h"
#include "projection.h"
#include "sink.h"
#include "stream.h"

#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define NAK_MAX_MS 30000

typedef enum { LANE_OWN, LANE_SUB } lane_kind_t;

/* Lanes come in two name slots (generation.h): the live generation's and a
 * rebuild's. A lane's generation, projection and names are set before it is
 * enabled and never change after; a retired lane is unbound by its thread,
 * which then marks it parked. */
typedef struct lane {
    lane_kind_t kind;
    int partition;                      /* LANE_OWN */
    const byron_subscription_t *subdef; /* LANE_SUB */
    int slot;
    int64_t gen;
    byron_projection_t *proj;
    int rebuild; /* a rebuild's lane: an event the DLQ already holds is not dead-lettered twice */
    atomic_int enabled, retired, parked;
    char stream[160], durable[160], filter[320];
    natsSubscription *sub;
    uint64_t checkpoint; /* LANE_SUB: last stream sequence applied (loaded at bind) */
    int64_t next_setup_ms, setup_delay_ms, next_info_ms;
    pthread_mutex_t lock; /* ok/err: read by readiness */
    int ok;
    char err[256];
} lane_t;

typedef struct outcome_metrics {
    byron_metric_t *events, *latency, *age, *pending, *dlq_failures, *generation, *rebuild_pending,
        *cache_reads;
} outcome_metrics_t;

struct byron_sink {
    byron_sink_options_t o;
    const byron_component_t *comp;
    byron_stream_t *stream; /* main.c's: the sidecar's one NATS connection */
    byron_cache_t *cache;   /* main.c's: the sidecar's one MongoDB pool */
    lane_t *lanes;          /* per lanes of slot 0, then per lanes of slot 1 */
    size_t nlanes, per;
    pthread_t *threads;
    int nthreads, nstarted; /* lane threads: wanted, started */
    atomic_int stop;
    atomic_int indexes_done[2]; /* per slot */
    pthread_mutex_t index_lock; /* one lane creates the indexes, the others wait for it */
    char dlq_stream[192], dlq_prefix[192];
    byron_projection_t *proj[2]; /* per slot: its generation's */
    atomic_int live_slot;        /* the slot readiness reports */
    pthread_t control;           /* the generations (byron_generations_thread) */
    /* Events with a dead letter (open or dropped) when a rebuild started, sorted
     * by (stream, sequence): a rebuild lane that dead-letters one again does
     * not store a second dead letter (Nats-Msg-Id dedupes only within the
     * DLQ's duplicate window). Written before the rebuild lanes are enabled,
     * read-only after. */
    struct dead_known {
        char stream[192];
        uint64_t seq;
    } * dead_known;
    size_t ndead_known;
    int control_started;
    int started, stopped;
    outcome_metrics_t m;
};

/* sink.c: sleep up to ms, in steps, returning early once the sink stops. */
void byron_sink_sleep_ms(byron_sink_t *s, int64_t ms);

/* lane.c */
void byron_lane_init(byron_sink_t *s, size_t i);
typedef struct {
    byron_sink_t *s;
    int index;
} byron_lane_thread_arg_t;
/* A lane thread's body; arg: a malloc'd byron_lane_thread_arg_t it frees. */
void *byron_lane_thread(void *arg);

/* consumer.c: bind a lane (cl: its thread's cache client); unbind lets go of its subscription. */
byron_status_t byron_consumer_bind(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, byron_err_t *err);
void byron_consumer_unbind(lane_t *l);

/* settle.c: project one delivered message and settle it. */
void byron_settle_msg(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg, int next_fetch_waits);

/* dead_letter.c */
byron_status_t byron_dead_letter_ensure_stream(byron_sink_t *s, byron_err_t *err);
byron_status_t byron_dead_letter_publish(byron_sink_t *s, lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                         const char *why, byron_err_t *err);
/* Whether the DLQ held a dead letter of (stream, seq) when the rebuild started. */
int byron_dead_letter_known(const byron_sink_t *s, const char *stream, uint64_t seq);
byron_status_t byron_dead_letter_load_known(byron_sink_t *s, byron_err_t *err);

/* generations.c: the generation thread's body (arg: the sink). */
void *byron_generations_thread(void *arg);

#endif
