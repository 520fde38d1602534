/* stream.h — the component's JetStream stream: connection, idempotent stream
 * set-up, per-aggregate reads and conditional publishes.
 *
 * One natsConnection per process (cnats connections are thread-safe and
 * multiplex requests); it reconnects forever and buffers while the server is
 * away. Every call is blocking with a bounded wait: call it from a worker. */
#ifndef BYRON_SIDECAR_STREAM_H
#define BYRON_SIDECAR_STREAM_H

#include "byron/status.h"
#include "component.h"
#include "nats_options.h"

#include <nats/nats.h> /* natsSubscription, natsMsg: a pull consumer's messages are settled with cnats' calls */
#include <stddef.h>
#include <stdint.h>

/* Headers the sidecar writes on every event (besides Nats-Msg-Id): they let a
 * reader learn an aggregate's version and state without parsing the payload. */
#define BYRON_HDR_VERSION "Byron-Version"
#define BYRON_HDR_TYPE "Byron-Type"
#define BYRON_HDR_CLAIM "Byron-Claim"
#define BYRON_HDR_UNIQUE "Byron-Unique"
#define BYRON_UNIQUE_HDR_MAX 2560 /* 64 fields × (name + '=' + 32 hex + ';') */

typedef struct byron_stream byron_stream_t;

typedef struct byron_stream_options {
    const char *url;
    const char *client_name; /* shows in the server's connz */
    int replicas;            /* stream replicas (1 for a single server, 3 in a cluster) */
    int64_t max_bytes;       /* the stream's size limit (0 or -1: none; BYRON_STREAM_MAX_BYTES) */
    int verify_only;         /* the streams are the operator's (NATS users): check them, never create
                                or update them (this sidecar's user may not) */
    int request_timeout_ms;  /* per JetStream API call / publish ack wait */
    const byron_nats_settings_t *nats; /* identity and TLS (nats_options.h); NULL: none */
} byron_stream_options_t;

/* Connects in the background when the server is not up yet (never fails for that). */
byron_stream_t *byron_stream_new(const byron_component_t *c, const byron_stream_options_t *opts,
                                 byron_err_t *err);
void byron_stream_free(byron_stream_t *s);

/* Create the stream, or update it when its settings differ: idempotent, safe
 * from several replicas at once. Settings (docs/events.md): file storage,
 * limits retention with no limits, DenyDelete, DenyPurge, AllowDirect,
 * AllowAtomicPublish, duplicate window 2 min, the configured replicas. Sent as
 * JSON to the JetStream API ($JS.API.STREAM.*): cnats 3.4 has no field for
 * atomic publish. */
byron_status_t byron_stream_ensure(byron_stream_t *s, byron_err_t *err);
/* The component's dead-letter stream, the same way (once found, not asked again). */
byron_status_t byron_stream_ensure_dlq(byron_stream_t *s, byron_err_t *err);
int byron_stream_connected(byron_stream_t *s);
/* BYRON_OK when connected; else EUNAVAILABLE with why the last (re)connect
 * failed, as the connection knows it ("Authorization Violation", "No server
 * available for connection"): cnats keeps retrying in the background. */
byron_status_t byron_stream_connection(byron_stream_t *s, byron_err_t *err);
/* The connection is closed for good, not by us: cnats gives up when a server
 * refuses the same credentials twice in a row. Nothing in-process recovers
 * it; the sidecar exits and its pod restarts (main.c). */
int byron_stream_lost(byron_stream_t *s);
int byron_stream_ready(byron_stream_t *s); /* connected and ensured */

/* The last event on one subject. */
typedef struct byron_stream_last {
    uint64_t seq;                      /* 0: no event on the subject */
    int64_t version;                   /* byronversion of that event */
    char type[129];                    /* its event type */
    char msg_id[160];                  /* its Nats-Msg-Id */
    char claim[160];                   /* its Byron-Claim header (unique.h); "" when none */
    int has_claim;                     /* the header was present ("~" is a release) */
    char unique[BYRON_UNIQUE_HDR_MAX]; /* its Byron-Unique header: the unique values the aggregate holds */
    int has_unique;                    /* the header was present ("~": holds none) */
} byron_stream_last_t;

/* BYRON_OK with out->seq == 0 when the subject is empty. */
byron_status_t byron_stream_last(byron_stream_t *s, const char *subject, byron_stream_last_t *out,
                                 byron_err_t *err);

/* The first message on subject at or after sequence from (a direct get):
 * BYRON_ENOTFOUND when there is none. Payload malloc'd (caller frees); data
 * may be NULL to read the headers only. */
byron_status_t byron_stream_next(byron_stream_t *s, const char *subject, uint64_t from, char **data,
                                 size_t *len, byron_stream_last_t *meta, byron_err_t *err);

/* Read the event stored at seq (its payload, malloc'd: caller frees). */
byron_status_t byron_stream_get(byron_stream_t *s, uint64_t seq, char **data, size_t *len,
                                byron_stream_last_t *meta, byron_err_t *err);

/* One message of an append. */
typedef struct byron_publish {
    const char *subject;
    const char *data;
    size_t len;
    const char *msg_id; /* Nats-Msg-Id: de-duplication */
    int unconditional;  /* no Nats-Expected-Last-Subject-Sequence (a later message of the same subject in one
                           append) */
    uint64_t expected_seq; /* Nats-Expected-Last-Subject-Sequence (0: the subject must be empty) */
    int64_t version;       /* Byron-Version header (0: none) */
    const char *type;      /* Byron-Type header (NULL: none) */
    const char *claim;     /* Byron-Claim header (unique.h: the owner's id, "~" for a release; NULL: none) */
    const char
        *unique; /* Byron-Unique header (unique.h: the values the aggregate holds after it; NULL: none) */
} byron_publish_t;

#define BYRON_APPEND_MAX 256 /* messages in one append (the server allows 1000 in a batch) */

/* Append messages to the stream and wait for the stream's ack: all of them or
 * none (one message: a plain publish; several: a JetStream atomic batch,
 * nats-server 2.12+, stored at consecutive sequences). Every condition
 * (expected last subject sequence) is checked at the commit.
 *   BYRON_OK           seqs[i] = stored sequence of msgs[i]; *duplicate when a
 *                      message id was seen before (nothing new stored; seqs are 0
 *                      for a batch: read the stream to find the original)
 *   BYRON_ECONFLICT    a subject's last sequence is not the expected one
 *   BYRON_EUNAVAILABLE no ack in time, no JetStream responder, disconnected, batch
 *                      limits: safe to retry with the same message ids
 * Blocking, thread-safe. */
byron_status_t byron_stream_append(byron_stream_t *s, const byron_publish_t *msgs, size_t n, uint64_t *seqs,
                                   int *duplicate, byron_err_t *err);

/* The sequence of the message stored under msg_id on subject, while the
 * stream's duplicate window remembers the id: BYRON_ENOTFOUND when none is.
 * Asks the stream itself (de-duplication is checked before any condition): a
 * probe publish that cannot be stored — its expected last subject sequence
 * can never match — answered with the original's sequence if the id is
 * known. Finds what a lost ack or a re-sent batch leaves unknown. */
byron_status_t byron_stream_find_msg_id(byron_stream_t *s, const char *subject, const char *msg_id,
                                        uint64_t *seq, byron_err_t *err);

/* One message (byron_stream_append with n = 1). */
byron_status_t byron_stream_publish(byron_stream_t *s, const byron_publish_t *p, uint64_t *seq,
                                    int *duplicate, byron_err_t *err);

/* ---- commands relayed from a sink to the api (docs/app-protocol.md, "Commands from a sink") */

/* byroncmd.<ns>.<component>: outside the stream's subjects — a request, not an event. */
int byron_stream_commands_subject(const byron_component_t *c, char *buf, size_t cap);

/* Request/reply on a core NATS subject: *reply (malloc'd, NUL-terminated,
 * caller frees). BYRON_EUNAVAILABLE: no responder, no answer in time, disconnected. */
byron_status_t byron_stream_request(byron_stream_t *s, const char *subject, const char *data, size_t len,
                                    int timeout_ms, char **reply, size_t *reply_len, byron_err_t *err);

/* Serve requests on subject in queue group `queue`: fn runs on a cnats thread
 * with the request (data, len) and its reply subject; it must not block (hand
 * the work to a worker) and answers with byron_stream_reply. Until
 * byron_stream_free. */
typedef void (*byron_stream_request_fn)(void *ud, const char *data, size_t len, const char *reply);
byron_status_t byron_stream_serve(byron_stream_t *s, const char *subject, const char *queue,
                                  byron_stream_request_fn fn, void *ud, byron_err_t *err);
byron_status_t byron_stream_reply(byron_stream_t *s, const char *reply, const char *data, size_t len,
                                  byron_err_t *err);
/* Stop serving; returns once fn can no longer be running (before freeing what it uses). */
void byron_stream_unserve(byron_stream_t *s);

/* ---- durable pull consumers (the sink's lanes, docs/sink.md) and the dead letters */

typedef struct byron_stream_consumer {
    const char *stream;      /* the stream it reads: this component's or a subscribed one's */
    const char *durable;     /* its name */
    const char *filter;      /* its filter subject */
    const char *description; /* shows in consumer info (the operator reads a rebuild's progress by it) */
    int ack_wait_ms;         /* redelivery of an unacknowledged message */
} byron_stream_consumer_t;

/* Create the durable pull consumer, or update it when it exists: deliver all,
 * explicit acks, MaxAckPending 1 (one message in flight, cluster-wide),
 * MaxDeliver unlimited (the sink dead-letters itself: the server never drops
 * a message silently). BYRON_EUNAVAILABLE when it cannot ("stream not found",
 * disconnected, ...). */
byron_status_t byron_stream_consumer_ensure(byron_stream_t *s, const byron_stream_consumer_t *c,
                                            byron_err_t *err);
/* Bind to the consumer for byron_stream_fetch: *sub is the caller's
 * (natsSubscription_Destroy lets go of it; the consumer stays). */
byron_status_t byron_stream_pull_subscribe(byron_stream_t *s, const byron_stream_consumer_t *c,
                                           natsSubscription **sub, byron_err_t *err);
/* One message from a pull subscription, waiting up to wait_ms for it (0: ask
 * without waiting). BYRON_OK: *msg, which the caller settles (ack, NAK, term)
 * and destroys; BYRON_ETIMEDOUT: none came within wait_ms; BYRON_ENOTFOUND:
 * none now (without waiting); BYRON_ESTATE: the subscription is
 * gone (the connection closed): bind again; BYRON_EUNAVAILABLE: anything else
 * (e.g. the consumer was deleted: byron_stream_consumer_info tells). */
byron_status_t byron_stream_fetch(natsSubscription *sub, int wait_ms, natsMsg **msg, byron_err_t *err);

typedef struct byron_stream_consumer_info {
    int64_t pending;     /* not delivered yet (the lane's lag) */
    int64_t ack_pending; /* delivered, not acknowledged yet */
    int stream_missing;  /* with BYRON_ENOTFOUND: the stream itself is absent, not only the consumer */
} byron_stream_consumer_info_t;

/* BYRON_ENOTFOUND when the consumer (or its stream: out->stream_missing) does not exist. */
byron_status_t byron_stream_consumer_info(byron_stream_t *s, const char *stream, const char *durable,
                                          byron_stream_consumer_info_t *out, byron_err_t *err);
/* Delete a durable consumer; one that (or whose stream) does not exist is BYRON_OK. */
byron_status_t byron_stream_consumer_delete(byron_stream_t *s, const char *stream, const char *durable,
                                            byron_err_t *err);
/* How many messages a stream holds now. */
byron_status_t byron_stream_messages(byron_stream_t *s, const char *stream, int64_t *count, byron_err_t *err);

/* Publish one message with headers (name, value pairs, NULL-terminated) to a
 * stream's subject and wait for the stream's ack (the dead letters: their
 * Nats-Msg-Id de-duplicates). BYRON_EUNAVAILABLE when not stored. */
byron_status_t byron_stream_publish_headers(byron_stream_t *s, const char *subject, const char *data,
                                            size_t len, const char *const *headers, byron_err_t *err);
/* The largest message the server accepts (0 before the first connect). */
int64_t byron_stream_max_payload(byron_stream_t *s);
/* Send what is buffered (the last acks) and wait up to timeout_ms for the server to have it. */
void byron_stream_flush(byron_stream_t *s, int timeout_ms);
/* The connection's JetStream context, for dlq.h's readers (the one-shot modes
 * pass their own): owned by the stream, valid until byron_stream_free. */
jsCtx *byron_stream_jetstream(byron_stream_t *s);

/* ---- push subscriptions (the api's GraphQL subscriptions) */

/* An ordered consumer of this component's stream on subject, from stream
 * sequence `from` (0: new events only). fn runs on cnats' delivery pool (the
 * connection delivers through it): one message at a time per subscription, in
 * stream order; it must not block and destroys the message. done runs once fn
 * can no longer run — after natsSubscription_Unsubscribe(*sub) — and only
 * then may the closure go; the caller destroys *sub. */
byron_status_t byron_stream_subscribe(byron_stream_t *s, const char *subject, uint64_t from,
                                      natsMsgHandler fn, natsOnCompleteCB done, void *closure,
                                      natsSubscription **sub, byron_err_t *err);

/* Raw, unconditional publish of one message and wait for the ack (benchmark baseline). */
byron_status_t byron_stream_publish_raw(byron_stream_t *s, const char *subject, const char *data, size_t len,
                                        const char *msg_id, uint64_t *seq, byron_err_t *err);

#endif
