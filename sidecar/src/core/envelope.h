/* envelope.h — the event envelope: CloudEvents 1.0 JSON plus Byron extensions
 * (docs/events.md).
 *
 *   {"specversion":"1.0","id":"<uuid>","source":"/byron/<ns>/<component>",
 *    "type":"OrderCreated","subject":"<aggregate id>","time":"<RFC 3339>",
 *    "datacontenttype":"application/json","data":{...},
 *    "byronmodel":"Order","byronversion":3,"byroncommand":"createOrder",
 *    "traceparent":"00-<32 hex>-<16 hex>-01","byronsequence":42}
 *
 * byronsequence is the stream sequence: absent when published (the stream
 * assigns it), present when read back. Every envelope received from outside
 * (the stream, an app) goes through byron_event_validate. */
#ifndef BYRON_SIDECAR_ENVELOPE_H
#define BYRON_SIDECAR_ENVELOPE_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define BYRON_EVENT_MAX_BYTES (1u << 20)
/* An aggregate's version never goes beyond 2^53 (exact in every JSON reader):
 * an event claiming more is absurd — the sink dead-letters it without moving
 * the aggregate, the api refuses to append after it. */
#define BYRON_VERSION_MAX 9007199254740992LL
#define BYRON_UUID_LEN 36
#define BYRON_TRACEPARENT_LEN 55

typedef struct byron_event_spec {
    const char *id;          /* NULL: a new UUIDv4 */
    const char *source;      /* required */
    const char *type;        /* required: ^[A-Z][A-Za-z0-9]*$ */
    const char *subject;     /* aggregate id */
    const char *model;       /* byronmodel */
    int64_t version;         /* byronversion, >= 1 */
    const char *command;     /* byroncommand, optional */
    const char *traceparent; /* optional */
    int64_t generation;      /* byrongeneration: the component's schema generation (0: none) */
    const char *principal;   /* byronprincipal: the verified caller's subject (docs/security.md), optional */
    const char *request;     /* byronrequest: hash of a keyed command's request (idempotency), optional */
    json_object *data;       /* object; the envelope takes a reference (json_object_get) */
} byron_event_spec_t;

/* A new envelope (caller puts), or NULL on ENOMEM. */
json_object *byron_event_build(const byron_event_spec_t *spec);

/* Check a parsed envelope; the message names the attribute at fault. */
byron_status_t byron_event_validate(json_object *ev, byron_err_t *err);
/* Parse (bounded size and depth) and validate; *out owned by the caller. */
byron_status_t byron_event_parse(const char *buf, size_t len, json_object **out, byron_err_t *err);

/* Helpers, thread-safe. out must hold BYRON_UUID_LEN+1 / BYRON_TRACEPARENT_LEN+1 / 32 bytes. */
void byron_uuid4(char *out);
void byron_traceparent_new(char *out);
int byron_traceparent_is_valid(const char *s);
void byron_time_now_rfc3339(char *out, size_t cap);

#endif
