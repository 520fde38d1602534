/* fold.h — the fold of a component's event log, computed from the rules
 * alone, and its comparison with the cache (docs/consistency.md, "The fold
 * checker").
 *
 * This is a second, independent statement of what the sink must produce: it
 * shares with the sink only the contract's parsers (component, envelope,
 * subjects, the handler-answer parser), never the projection code, so a bug
 * in one shows up as a difference against the other.
 *
 *   own events      per aggregate, in stream order, with s = the version the
 *                   aggregate is at (its document's, else its tombstone's, else
 *                   0): valid iff the envelope validates, the NATS subject is
 *                   the one derived from (byronmodel, subject), the model is
 *                   the component's, Byron-Version == byronversion, the version
 *                   is not beyond the stream sequence, a custom type is emitted
 *                   by a command of the model, generated events' data fit the
 *                   model, and byronversion == s + 1. Invalid → must be
 *                   dead-lettered, applies nothing, and the aggregate its
 *                   subject names moves past the claimed version (never frozen;
 *                   not for a stale version, nor for a gap on a stopped
 *                   aggregate). Valid and dead-lettered (its handler failed for
 *                   good) → applies nothing, stops the aggregate. Otherwise
 *                   applied: generated projection, then the handler's answer.
 *   subscribed      the listed types of the other stream's aggregate subjects;
 *                   only the handler's `changes` apply.
 *   order           each partition and each subscription is a lane the sink
 *                   applies on its own; a document written from more than one
 *                   lane may legitimately differ from this stream-order fold
 *                   and is reported as "order-dependent", not as a failure.
 *
 * No I/O: the caller reads the streams, the dead letters and the cache, and
 * provides the app's handlers as a callback (verify.c). State lives in memory:
 * O(aggregates + dead letters). One thread. */
#ifndef BYRON_SIDECAR_FOLD_H
#define BYRON_SIDECAR_FOLD_H

#include "byron/status.h"
#include "component.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct byron_fold byron_fold_t;

/* One of the app's event endpoints: path "/v1/events/<type>" or
 * "/v1/events/<type>/before", body {"event","current","subscribed","attempt"}.
 * On BYRON_OK, *answer is the JSON answer (the fold puts it), or NULL when the
 * app does not implement the path (404). Any other status stops the fold: what
 * the handler answered when the sink called it cannot be known. */
typedef byron_status_t (*byron_fold_app_fn)(void *ud, const char *path, json_object *body,
                                            json_object **answer, byron_err_t *err);

/* A finding ({"kind": ..., ...}), borrowed for the duration of the call. */
typedef void (*byron_fold_report_fn)(void *ud, json_object *finding);

typedef struct byron_fold_options {
    const byron_component_t *component; /* required */
    byron_fold_app_fn app;              /* NULL: the component runs without an app */
    void *app_ud;
    byron_fold_report_fn report; /* required */
    void *report_ud;
} byron_fold_options_t;

typedef struct byron_fold_stats {
    uint64_t events;          /* aggregate-subject messages read (own + subscribed) */
    uint64_t ignored;         /* other subjects (unique claims, ...) */
    uint64_t applied;         /* own events applied */
    uint64_t invalid;         /* own or subscribed events the rules refuse (expected dead letters) */
    uint64_t dead_lettered;   /* valid events found in the DLQ (their handler failed) */
    uint64_t subscribed;      /* subscribed events handed to the handler */
    uint64_t filtered;        /* subscribed events of types not listed */
    uint64_t aggregates;      /* documents and tombstones the fold holds */
    uint64_t documents;       /* cached documents compared */
    uint64_t differences;     /* findings that fail the check */
    uint64_t order_dependent; /* documents that differ only as lane order allows */
} byron_fold_stats_t;

/* NULL on ENOMEM. */
byron_fold_t *byron_fold_new(const byron_fold_options_t *o);
void byron_fold_free(byron_fold_t *f);

/* The stream the i-th subscription reads: BYRON_<ns>_<component> ('-' → '_'). */
void byron_fold_subscription_stream(const byron_subscription_t *s, char *buf, size_t cap);

/* A dead letter: the (stream, sequence) its Byron-Dlq-* headers name. Feed
 * them all before the events. */
byron_status_t byron_fold_dead_letter(byron_fold_t *f, const char *stream, uint64_t seq);

/* One message as read from a stream. */
typedef struct byron_fold_msg {
    uint64_t seq;
    const char *subject;
    const char *version_header; /* Byron-Version; NULL when absent */
    const char *data;
    size_t len;
} byron_fold_msg_t;

/* The component's own stream, in stream order. Messages outside the aggregate
 * subjects (<prefix>.<partition>.<Model>.<id>, partition < partitions) are
 * counted and ignored. Fails only when the app fails (above). */
byron_status_t byron_fold_own(byron_fold_t *f, const byron_fold_msg_t *m, byron_err_t *err);
/* The stream of subscription sub (an index into component->subscriptions), in
 * stream order; aggregate subjects are its 6-token ones. */
byron_status_t byron_fold_subscribed(byron_fold_t *f, size_t sub, const byron_fold_msg_t *m,
                                     byron_err_t *err);

/* The cache, after the events: every tombstone document of `_byron_sink`
 * ({"_id": "tomb:<Model>/<id>", "version": n}; other documents are ignored),
 * then every document of each model's collection ({"_id", "version", fields}
 * as relaxed extended JSON). */
void byron_fold_cache_state(byron_fold_t *f, json_object *doc);
void byron_fold_cache_doc(byron_fold_t *f, const byron_model_t *m, json_object *doc);
/* What the cache lacks (documents, tombstones); fills *stats. */
void byron_fold_finish(byron_fold_t *f, byron_fold_stats_t *stats);

/* JSON equality as the cache stores values: numbers by value (10 == 10.0),
 * objects regardless of key order. */
int byron_fold_value_equal(json_object *a, json_object *b);

#endif
