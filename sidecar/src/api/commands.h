/* commands.h — running commands: validate, read the aggregate and its exact
 * state, claim unique values, run the app's hooks, append the events with
 * optimistic concurrency (docs/sidecar.md, docs/consistency.md).
 *
 * This is the entry point the GraphQL layer calls for mutations, and what
 * POST /v1/commands/<name> runs. byron_commands_execute blocks (JetStream
 * reads and acks, cache reads, app calls): call it from a worker thread, never
 * from an event loop. It is thread-safe; commands on one aggregate are
 * serialised by the stream (expected last subject sequence), not by locks, so
 * several API replicas behave exactly like several threads. */
#ifndef BYRON_SIDECAR_COMMANDS_H
#define BYRON_SIDECAR_COMMANDS_H

#include "app.h"
#include "byron/metrics.h"
#include "byron/status.h"
#include "cache.h"
#include "component.h"
#include "stream.h"

#include <json-c/json.h>
#include <stdint.h>

#define BYRON_COMMAND_MAX_EVENTS 16

typedef struct byron_commands byron_commands_t;

typedef struct byron_commands_options {
    const byron_component_t *component; /* required */
    byron_stream_t *stream;             /* required */
    byron_cache_t *cache;               /* NULL: hooks get "current": null */
    byron_app_t *app;                   /* NULL: no app (generated commands only) */
    byron_metrics_t *metrics;           /* NULL: no metrics */
    int max_attempts;                   /* optimistic-concurrency attempts (0: 10) */
    int deadline_ms;                    /* whole command, incl. retries while JetStream is away (0: 15000) */
    int app_timeout_ms;                 /* per hook / command call (0: the app client's default) */
    int state_wait_ms;                  /* how long a command waits for the cache to reach the aggregate's
                                           version before UNAVAILABLE (0: 5000; cache_wait.h) */
    int tail_slots;                     /* aggregates whose last appended event is remembered
                                           (tail_cache.h; 0: 1024, < 0: none) */
} byron_commands_options_t;

byron_commands_t *byron_commands_new(const byron_commands_options_t *opts, byron_err_t *err);
void byron_commands_free(byron_commands_t *cmds);

/* Stable error codes, as GraphQL extensions.code and in HTTP error bodies. */
#define BYRON_CODE_BAD_USER_INPUT "BAD_USER_INPUT"
#define BYRON_CODE_NOT_FOUND "NOT_FOUND"
#define BYRON_CODE_CONFLICT "CONFLICT"
#define BYRON_CODE_REJECTED "REJECTED"
#define BYRON_CODE_APP_ERROR "APP_ERROR"
#define BYRON_CODE_APP_TIMEOUT "APP_TIMEOUT"
#define BYRON_CODE_UNAVAILABLE "UNAVAILABLE"
#define BYRON_CODE_INTERNAL "INTERNAL"
#define BYRON_CODE_KEY_REUSED "IDEMPOTENCY_KEY_REUSED" /* the key came with another request: 422 */

typedef struct byron_command_result {
    char id[BYRON_ID_MAX + 1]; /* the aggregate id (generated for a create without one) */
    int64_t version;           /* the aggregate's version after the command */
    size_t nevents;
    uint64_t sequences[BYRON_COMMAND_MAX_EVENTS]; /* durable stream sequences, in order */
    json_object *events;                          /* array of the envelopes, with byronsequence; owned */
    int duplicate;                                /* the idempotency key was seen: the original result */
    /* On failure: */
    const char *code;  /* one of BYRON_CODE_* (static) */
    char app_code[64]; /* REJECTED: the app's own code, if it gave one */
} byron_command_result_t;

typedef struct byron_command_request {
    const char *command;         /* createOrder, updateOrder, deleteOrder, shipOrder, ... */
    const char *id;              /* aggregate id; NULL for a create: input.id or a new UUID */
    json_object *input;          /* the command's input object (NULL: {}) */
    const char *idempotency_key; /* NULL: none; same key → same events, published once */
    const char *traceparent;     /* NULL: a new trace */
    const struct byron_principal
        *principal; /* who asks (principal.h): given to hooks, recorded in events; NULL: none */
} byron_command_request_t;

/* Run one command. On success the events are durable in the stream and out
 * holds their sequences and the new version. On failure out->code and err say
 * why (err->msg is safe to show the client). out must be released with
 * byron_command_result_cleanup either way. */
byron_status_t byron_commands_run(byron_commands_t *cmds, const byron_command_request_t *req,
                                  byron_command_result_t *out, byron_err_t *err);

/* The same with positional arguments. */
byron_status_t byron_commands_execute(byron_commands_t *cmds, const char *command_name, const char *id,
                                      json_object *input, const char *idempotency_key,
                                      byron_command_result_t *out, byron_err_t *err);

void byron_command_result_cleanup(byron_command_result_t *out);

/* The id of a create without one, under an idempotency key: derived from the
 * key (64-bit FNV-1a; "k" + 16 hex digits), so a re-sent create lands on the
 * same object. byron_commands_run uses it (REST and GraphQL alike). */
#define BYRON_KEY_ID_LEN 17
void byron_command_key_id(const char *key, char out[BYRON_KEY_ID_LEN + 1]);

/* {"id":..,"version":..,"sequences":[..],"events":[..],"duplicate":..}; caller puts. */
json_object *byron_command_result_to_json(const byron_command_result_t *out);

/* {"error": {"code", "message", "appCode"?}}: a failed command's answer; caller puts. */
json_object *byron_command_error_json(const char *code, const char *message, const char *app_code);

/* HTTP status for an error code (400, 404, 409, 422, 502, 504, 503, 500). */
int byron_command_http_status(const char *code);

#endif
