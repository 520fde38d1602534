/* projector.h — the sink's pure decisions, with no I/O: which event kind a
 * type is, whether a version may be applied to a cached document (the guard
 * that makes redelivery and replay harmless), and what an app's event handler
 * answered (docs/app-protocol.md, "Sink side").
 *
 * Kept apart from sink.c so that the rules are unit-tested and fuzzed without
 * a broker or a database. */
#ifndef BYRON_SIDECAR_PROJECTOR_H
#define BYRON_SIDECAR_PROJECTOR_H

#include "byron/status.h"
#include "component.h"

#include <json-c/json.h>
#include <stdint.h>

/* What to do with an event given the aggregate's projected version. */
typedef enum {
    BYRON_PROJECTOR_APPLY, /* the next version: write it */
    BYRON_PROJECTOR_SKIP,  /* already applied (redelivery, replay over a warm cache): ack, no write */
    BYRON_PROJECTOR_GAP,   /* not the next version: never applied (docs/sink.md, "Version guard") */
} byron_projector_guard_t;

/* stored: the projected version (the document's, else its tombstone's, 0
 * when there is neither). Strict: only stored + 1 applies. O(1). */
byron_projector_guard_t byron_projector_guard(int64_t stored, int64_t version);
const char *byron_projector_guard_name(byron_projector_guard_t g);

typedef enum {
    BYRON_EVENT_CREATED, /* <Model>Created: data is the full object */
    BYRON_EVENT_UPDATED, /* <Model>Updated: data is the changed fields */
    BYRON_EVENT_DELETED, /* <Model>Deleted */
    BYRON_EVENT_CUSTOM,  /* anything else: the app's handler says what changes */
} byron_event_kind_t;

byron_event_kind_t byron_projector_event_kind(const char *type, const char *model);

/* One change to one cached object, as an app's handler asked for it. */
typedef struct byron_change {
    const byron_model_t *model;
    char id[BYRON_ID_MAX + 1];
    json_object *set;   /* object of model fields, or NULL; owned */
    json_object *unset; /* array of field names, or NULL; owned */
    int del;            /* delete the object */
} byron_change_t;

#define BYRON_HANDLER_MAX_CHANGES 64

/* A handler's answer:
 *   {}                                          default projection
 *   {"set": {...}, "unset": ["f"]}              on the event's own aggregate (own events only)
 *   {"delete": true}                            the event's own aggregate is removed from the cache
 *   {"changes": [{"model": "M", "id": "x", "set": {...}, "unset": [...], "delete": true}, ...]}
 *                                               any object of this component (subscribed events)
 *   {"skip": {"message": "..."}}                (before hook) do not project this event */
typedef struct byron_projector_answer {
    int skip;
    char skip_message[256];
    int has_own;        /* own.set / own.unset / own.del were given */
    byron_change_t own; /* model/id: the event's aggregate */
    byron_change_t *changes;
    size_t nchanges;
} byron_projector_answer_t;

/* Validate an answer against the component's models: field names and value
 * types (as command inputs are checked), ids, no unknown keys, `delete` not
 * mixed with set/unset. own_model/own_id: the event's aggregate, or NULL for
 * an event of another component (then only "changes" is allowed). The error
 * names the offending path ("changes[2].set.count: must be an integer").
 * *out is always initialised; clean it up with byron_projector_answer_cleanup. */
byron_status_t byron_projector_answer_parse(const byron_component_t *c, json_object *answer,
                                            const byron_model_t *own_model, const char *own_id,
                                            byron_projector_answer_t *out, byron_err_t *err);
void byron_projector_answer_cleanup(byron_projector_answer_t *a);

#endif
