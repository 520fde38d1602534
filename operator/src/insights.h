/* insights.h — what the operator reports about a running component from its
 * broker reading (broker.h, byron_broker_insights): status.stream,
 * status.sink.lag, status.deadLetters and the Lagging and DeadLetters
 * conditions (docs/operator.md, "Status and conditions").
 *
 * Pure: no I/O, no clock; unit-tested. */
#ifndef BYRON_INSIGHTS_H
#define BYRON_INSIGHTS_H

#include "broker.h"

#include <json-c/json.h>
#include <stdint.h>

/* Condition reasons (the CRD describes each; docs/operator.md lists them). */
#define BYRON_REASON_SINK_BEHIND "SinkBehind"
#define BYRON_REASON_SINK_CAUGHT_UP "SinkCaughtUp"
#define BYRON_REASON_NOT_MEASURED "NotMeasured"
#define BYRON_REASON_DEAD_LETTERS "DeadLettersOpen"
#define BYRON_REASON_NO_DEAD_LETTERS "NoDeadLetters"

typedef struct byron_insights_thresholds {
    int64_t lag;          /* Lagging is True above this many events (--lag-threshold) */
    int64_t dead_letters; /* DeadLetters is True from this many (--dead-letter-threshold) */
} byron_insights_thresholds_t;

typedef struct byron_insight_condition {
    const char *type;   /* "Lagging", "DeadLetters" */
    int status;         /* 1 True, 0 False, -1 Unknown */
    const char *reason; /* one of the above */
    char message[320];
} byron_insight_condition_t;

/* The two conditions of component from in (NULL: never read). */
void byron_insights_conditions(const byron_broker_insights_t *in, const byron_insights_thresholds_t *t,
                               const char *component, byron_insight_condition_t out[2]);

/* status.stream, status.sink.lag and status.deadLetters into st (its "sink"
 * object, when present, gets the lag); nothing when in was never measured. */
void byron_insights_status(json_object *st, const byron_broker_insights_t *in);

/* status.rebuild (docs/operator.md): the rebuild token seen (requested), the
 * cache generation asked of the sink (desired.h), and from the broker reading
 * (in; NULL or unmeasured: the last report stays) its phase — Pending (no
 * lane projects it yet), Building (its lanes beside the old generation's:
 * projected of total events of the stream), Complete (only its lanes are
 * left: the api switched, the old generation is dropped). Nothing when no
 * rebuild was ever asked for. old_status: the status read (NULL: none). */
void byron_insights_rebuild(json_object *st, json_object *old_status, int64_t generation, const char *token,
                            const byron_broker_insights_t *in);

#endif
