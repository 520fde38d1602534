/* replay.h — replaying an aggregate's dead letters once their cause is fixed
 * (docs/sink.md, "Replaying a dead letter"); what `kubectl byron dlq replay`
 * runs in the sink pod (admin.c).
 *
 * A valid event whose handler kept failing stopped its aggregate (the
 * `blocked:` record): its later events were dead-lettered too. The replay
 * re-projects the aggregate's events from the stream, in order (its subject),
 * through the sink's own path (projection.c: the same checks, the version
 * guard, the app's hooks and handler, the journal, the conditional writes)
 * while the block still keeps the partition's lane from deciding on a gap, and
 * only then lifts the block:
 *
 *   1. lock        `replay:<Model>/<id>` in _byron_sink (one replay of an aggregate at a time)
 *   2. catch up    wait until the partition's lane has settled every event of
 *                  the subject up to its last one (its durable's ack floor): each is
 *                  then projected, or a dead letter
 *   3. project     the subject's events from the first dead-lettered one; the guard
 *                  skips what the cache has, a gap is invalid (never "blocked":
 *                  byron_proj_msg_t.dlq_replay), a failure is retried as the sink retries
 *   4. again       until a round finds the subject's last event already in the
 *                  cache: events a command appended meanwhile were either projected
 *                  by the lane or dead-lettered (and are replayed by the next round)
 *   5. record      a `replayed` resolution for each dead letter whose event is now in
 *                  the cache (dlq.h), so the fold checker agrees
 *   6. unblock     delete the block it started from (conditional on its sequence: a
 *                  newer block is never lifted), then the lock
 *
 * An event that still fails after the retries stops the aggregate again at
 * that event (its block record names it and the new reason); what came before
 * it is recorded as replayed. A crash anywhere leaves a state a second replay
 * finishes: every step is idempotent. Blocking (NATS, MongoDB, the app). */
#ifndef BYRON_SIDECAR_REPLAY_H
#define BYRON_SIDECAR_REPLAY_H

#include "app.h"
#include "byron/status.h"
#include "component.h"
#include "dlq.h"

#include <json-c/json.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>

typedef struct byron_replay_options {
    const byron_component_t *component;
    jsCtx *js;
    mongoc_client_t *mongo;
    const char *database;
    int64_t generation; /* the live cache generation and its lanes' name slot (generation.h) */
    int slot;
    byron_app_t *app; /* the sink's app (NULL: none) */
    int max_deliver;  /* attempts per event, as the sink's BYRON_SINK_MAX_DELIVER (0: 5) */
    int retry_ms;     /* first delay between attempts, doubled (0: 500) */
    int wait_ms;      /* how long to wait for the lane to settle the subject (0: 30000) */
    int64_t defer_ms; /* BYRON_SINK_DEFER_MS (0: 600000) */
} byron_replay_options_t;

/* Replay the dead letters of aggregate model/id. *report (caller puts) says
 * what happened: {"model","id","subject","events","projected","skipped",
 * "unhandled","invalid":[...],"resolved":[dlq sequences],"result":
 * "replayed"|"failed"|"nothing","failure":{...}}. BYRON_OK also when an event
 * failed again (result "failed"); an error only when the replay could not run
 * (NATS, MongoDB or the app away: EUNAVAILABLE; another replay of the
 * aggregate running: ECONFLICT; the lane not settled in time: ETIMEDOUT). */
byron_status_t byron_replay_aggregate(const byron_replay_options_t *o, const char *model, const char *id,
                                      json_object **report, byron_err_t *err);

#endif
