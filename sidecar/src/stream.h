/* stream.h — the component's JetStream stream: connection, idempotent stream
 * set-up, per-aggregate reads and conditional publishes.
 *
 * One natsConnection per process (cnats connections are thread-safe and
 * multiplex requests); it reconnects forever and buffers while the server is
 * away. Every call is blocking with a bounded wait: call it from a worker. */
#ifndef BYRON_SIDECAR_STREAM_H
#define BYRON_SIDECAR_STREAM_H

#include "byron/status.h"
#include "config.h"

#include <stddef.h>
#include <stdint.h>

/* Headers the sidecar writes on every event (besides Nats-Msg-Id): they let a
 * reader learn an aggregate's version and state without parsing the payload. */
#define BYRON_HDR_VERSION "Byron-Version"
#define BYRON_HDR_TYPE "Byron-Type"

typedef struct byron_stream byron_stream_t;

typedef struct byron_stream_options {
    const char *url;
    const char *client_name; /* shows in the server's connz */
    int replicas;            /* stream replicas (1 for a single server) */
    int request_timeout_ms;  /* per JetStream API call / publish ack wait */
} byron_stream_options_t;

/* Connects in the background when the server is not up yet (never fails for that). */
byron_stream_t *byron_stream_new(const byron_component_t *c, const byron_stream_options_t *opts,
                                 byron_err_t *err);
void byron_stream_free(byron_stream_t *s);

/* Create the stream, or update it when its config differs: idempotent, safe
 * from several replicas at once. */
byron_status_t byron_stream_ensure(byron_stream_t *s, byron_err_t *err);
int byron_stream_connected(byron_stream_t *s);
int byron_stream_ready(byron_stream_t *s); /* connected and ensured */

/* The last event on one subject. */
typedef struct byron_stream_last {
    uint64_t seq;     /* 0: no event on the subject */
    int64_t version;  /* byronversion of that event */
    char type[129];   /* its event type */
    char msg_id[160]; /* its Nats-Msg-Id */
} byron_stream_last_t;

/* BYRON_OK with out->seq == 0 when the subject is empty. */
byron_status_t byron_stream_last(byron_stream_t *s, const char *subject, byron_stream_last_t *out,
                                 byron_err_t *err);

/* Read the event stored at seq (its payload, malloc'd: caller frees). */
byron_status_t byron_stream_get(byron_stream_t *s, uint64_t seq, char **data, size_t *len,
                                byron_stream_last_t *meta, byron_err_t *err);

typedef struct byron_publish {
    const char *subject;
    const char *data;
    size_t len;
    const char *msg_id;    /* Nats-Msg-Id: de-duplication */
    uint64_t expected_seq; /* Nats-Expected-Last-Subject-Sequence (0: the subject must be empty) */
    int64_t version;       /* Byron-Version header */
    const char *type;      /* Byron-Type header */
} byron_publish_t;

/* Publish and wait for the stream's ack.
 *   BYRON_OK           *seq = stored sequence; *duplicate when the msg id was seen (seq: the original)
 *   BYRON_ECONFLICT    the subject's last sequence is not expected_seq
 *   BYRON_EUNAVAILABLE no ack in time, no JetStream responder, disconnected: safe to retry with the same msg
 * id */
byron_status_t byron_stream_publish(byron_stream_t *s, const byron_publish_t *p, uint64_t *seq,
                                    int *duplicate, byron_err_t *err);

/* Raw, unconditional publish of one message and wait for the ack (benchmark baseline). */
byron_status_t byron_stream_publish_raw(byron_stream_t *s, const char *subject, const char *data, size_t len,
                                        const char *msg_id, uint64_t *seq, byron_err_t *err);

#endif
