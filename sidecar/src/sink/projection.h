/* projection.h — one event into the cache (docs/sink.md, "Projection").
 *
 * The sink's lane threads hand each delivered message here; the result says
 * how to settle it. Nothing is trusted that was not checked:
 *
 *   own event   the envelope validates; its NATS subject is the one derived
 *               from its model and id, in this lane's partition; its
 *               Byron-Version header equals byronversion and is not beyond the
 *               message's stream sequence; generated events' data fit the
 *               model; a custom type is one a command emits. The aggregate's
 *               projected version s decides: v <= s is already applied (skip),
 *               v == s + 1 applies, v > s + 1 is a gap (invalid — or blocked,
 *               when an earlier event of the aggregate was dead-lettered).
 *   subscribed  the handler's `changes`, once per stream sequence (checkpoint).
 *
 * Effectively once: the writes an event causes — its aggregate's and the
 * handler's `changes` — and the after hook are recorded first in the lane's
 * journal (`lane:<durable>` in _byron_sink) whenever there is more than one
 * write or an after hook to run; the redelivery after a crash or a failed
 * write resumes from the journal instead of deciding again. With one write and
 * no after hook the conditional write alone is atomic and no journal is kept.
 *
 * An event written under a newer model than this sink's (its byrongeneration
 * above the config's schemaGeneration) that this sink cannot fully understand
 * is deferred, never dead-lettered, for up to defer_ms after it was stored.
 *
 * Blocking (MongoDB, the app); one call per lane at a time. */
#ifndef BYRON_SIDECAR_PROJECTION_H
#define BYRON_SIDECAR_PROJECTION_H

#include "app.h"
#include "byron/metrics.h"
#include "byron/status.h"
#include "component.h"

#include <mongoc/mongoc.h>
#include <stdint.h>

typedef enum {
    BYRON_PROJ_APPLIED,     /* projected: ack */
    BYRON_PROJ_SKIPPED,     /* already applied (redelivery, replay): ack */
    BYRON_PROJ_UNHANDLED,   /* no handler: only the version moved: ack */
    BYRON_PROJ_FILTERED,    /* not an event this sink wants: ack */
    BYRON_PROJ_RETRY,       /* failed (handler, write): NAK with delay; after max deliveries a dead
                               letter, then byron_projection_dead_lettered(blocked) */
    BYRON_PROJ_INVALID,     /* can never be applied: a dead letter now, then
                               byron_projection_dead_lettered(invalid) */
    BYRON_PROJ_BLOCKED,     /* its aggregate is stopped by an earlier dead letter: a dead letter now */
    BYRON_PROJ_DEFER,       /* written under a newer model: NAK with delay, never a dead letter */
    BYRON_PROJ_UNAVAILABLE, /* the cache or the app is away, not the event's fault: NAK with delay */
} byron_proj_result_t;

const char *byron_proj_result_name(byron_proj_result_t r);

/* A delivered message, as the lane saw it. */
typedef struct byron_proj_msg {
    const byron_subscription_t *sub; /* NULL: an own event */
    int partition;                   /* own events: the lane's partition */
    const char *lane;                /* the lane's durable name: its journal */
    uint64_t *checkpoint;            /* subscribed lanes: the last sequence applied (lane-owned) */
    const char *stream;
    const char *subject;
    uint64_t seq;               /* stream sequence */
    uint64_t deliveries;        /* 1 on the first delivery */
    int64_t stored_ns;          /* when the stream stored it (UNIX ns) */
    const char *header_version; /* Byron-Version header, NULL when absent */
    const char *data;
    size_t len;
    int dlq_replay; /* replay.c re-projects a stopped aggregate (a dead letter's replay): a gap is
                       judged as if it were not stopped (invalid: it moves past it), never BLOCKED */
} byron_proj_msg_t;

typedef struct byron_projection byron_projection_t;

/* database: the cache database; generation: the cache generation it writes
 * (generation.h); app: NULL for none; defer_ms: how long an event of a newer
 * model waits for a sink that knows it (0: 600000). */
byron_projection_t *byron_projection_new(const byron_component_t *c, const char *database, int64_t generation,
                                         byron_app_t *app, int64_t defer_ms, byron_err_t *err);
void byron_projection_free(byron_projection_t *p);
/* Count every cache document read to project an event on reads (a counter
 * without labels; NULL: none). Set before the first event. */
void byron_projection_count_reads(byron_projection_t *p, byron_metric_t *reads);

/* Project one message with client cl. type receives the event type (for
 * metrics; "" when unreadable). */
byron_proj_result_t byron_projection_apply(byron_projection_t *p, mongoc_client_t *cl,
                                           const byron_proj_msg_t *m, char *type, size_t type_cap,
                                           byron_err_t *err);

/* Once an own event is stored as a dead letter, before it is terminated:
 * after BYRON_PROJ_INVALID the aggregate its subject names moves past it (the
 * version it claimed, nothing applied: a bad event never freezes an
 * aggregate); after BYRON_PROJ_RETRY (a valid event that kept failing) the
 * aggregate is stopped before it (`blocked:` marker, cache.h): its later events
 * are dead letters too and commands on it are refused until it is repaired.
 * Idempotent. */
byron_status_t byron_projection_dead_lettered(byron_projection_t *p, mongoc_client_t *cl,
                                              const byron_proj_msg_t *m, byron_proj_result_t why,
                                              const char *reason, byron_err_t *err);

#endif
