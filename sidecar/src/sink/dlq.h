/* dlq.h — a component's dead-letter stream as a record of dead letters and
 * of what became of them (docs/sink.md, "Dead letters" and "Replaying a dead
 * letter").
 *
 * The stream BYRON_<ns>_<c>_DLQ is append-only history. The sink writes dead
 * letters on byrondlq.<ns>.<c>.own and .sub (sink.c); a human's decision is a
 * second record on byrondlq.<ns>.<c>.resolved naming the event it is about
 * with the dead letter's own headers (Byron-Dlq-Stream, Byron-Dlq-Sequence)
 * and Byron-Dlq-Resolution:
 *
 *   replayed  the event was projected again through the sink's checks (replay.c)
 *             and is in the cache: for the fold checker it is no dead letter
 *   dropped   a human acknowledged it; nothing was applied: it stays a dead
 *             letter for the fold, it only leaves `kubectl byron dlq list`
 *
 * A record is about an event (stream, sequence), whatever order the two
 * records have in the stream: a replay may resolve a dead letter that a lane
 * is still writing. "replayed" wins over "dropped". Nothing is ever deleted.
 *
 * Reading is one message at a time by sequence (no consumer: the sink's NATS
 * user may read its dead-letter stream by sequence, not consume it).
 * Not thread-safe: one owner. */
#ifndef BYRON_SIDECAR_DLQ_H
#define BYRON_SIDECAR_DLQ_H

#include "byron/status.h"
#include "component.h"

#include <json-c/json.h>
#include <nats/nats.h>
#include <stdint.h>

#define BYRON_DLQ_HDR_STREAM "Byron-Dlq-Stream"
#define BYRON_DLQ_HDR_SEQUENCE "Byron-Dlq-Sequence"
#define BYRON_DLQ_HDR_ERROR "Byron-Dlq-Error"
#define BYRON_DLQ_HDR_RESOLUTION "Byron-Dlq-Resolution"
#define BYRON_DLQ_RESOLVED_TOKEN "resolved"
/* How many records one read holds at most: a dead-letter stream beyond it is
 * refused with a clear error rather than read into unbounded memory. */
#define BYRON_DLQ_MAX_RECORDS 100000

typedef enum {
    BYRON_DLQ_OPEN,     /* no decision yet */
    BYRON_DLQ_REPLAYED, /* projected again: no dead letter for the fold */
    BYRON_DLQ_DROPPED,  /* acknowledged, nothing applied */
} byron_dlq_state_t;

const char *byron_dlq_state_name(byron_dlq_state_t s);

/* What one message of the dead-letter stream is. */
typedef enum {
    BYRON_DLQ_KIND_OTHER,       /* neither (no headers): ignored, as the fold checker does */
    BYRON_DLQ_KIND_DEAD_LETTER, /* .own or .sub */
    BYRON_DLQ_KIND_RESOLUTION,  /* .resolved */
} byron_dlq_kind_t;

typedef struct byron_dlq_msg_info {
    byron_dlq_kind_t kind;
    char stream[192];             /* the event's stream */
    uint64_t sequence;            /* the event's stream sequence */
    byron_dlq_state_t resolution; /* KIND_RESOLUTION: REPLAYED or DROPPED */
    int own;                      /* KIND_DEAD_LETTER: .own (else .sub) */
} byron_dlq_msg_info_t;

/* Classify one message of the dead-letter stream of c (its subject and
 * headers). Pure: the fold checker and the readers below share it. */
void byron_dlq_classify(const byron_component_t *c, natsMsg *m, byron_dlq_msg_info_t *out);

/* One dead letter, with what became of it. */
typedef struct byron_dlq_entry {
    uint64_t dlq_seq; /* its sequence in the dead-letter stream: its name for humans */
    byron_dlq_msg_info_t info;
    byron_dlq_state_t state;
    json_object *body; /* the dead letter as stored (error, subject, event, ...); owned */
    int64_t stored_ns; /* when the DLQ stored it */
} byron_dlq_entry_t;

typedef struct byron_dlq {
    byron_dlq_entry_t *entries; /* in DLQ order */
    size_t n;
    uint64_t records; /* messages read (dead letters, resolutions, others) */
} byron_dlq_t;

/* Read the whole dead-letter stream of c. A stream that does not exist yet is
 * empty. EUNAVAILABLE: NATS did not answer; ELIMIT: more than
 * BYRON_DLQ_MAX_RECORDS records. */
byron_status_t byron_dlq_read(jsCtx *js, const byron_component_t *c, byron_dlq_t *out, byron_err_t *err);
void byron_dlq_cleanup(byron_dlq_t *d);
/* The dead letter named by its DLQ sequence, or NULL. */
byron_dlq_entry_t *byron_dlq_find(byron_dlq_t *d, uint64_t dlq_seq);

/* Record a decision about dead letter e (REPLAYED or DROPPED): a message on
 * byrondlq.<ns>.<c>.resolved with its headers (Nats-Msg-Id
 * resolved:<state>:<stream>:<seq>: a retried write is stored once). */
byron_status_t byron_dlq_resolve(jsCtx *js, const byron_component_t *c, const byron_dlq_entry_t *e,
                                 byron_dlq_state_t state, const char *note, byron_err_t *err);

/* The dead letter as JSON for a human or the CLI: its body, its DLQ sequence,
 * lane and state. Caller puts. */
json_object *byron_dlq_entry_json(const byron_dlq_entry_t *e, int with_event);

#endif
