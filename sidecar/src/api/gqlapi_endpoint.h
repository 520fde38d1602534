/* gqlapi_endpoint.h — the api sidecar's GraphQL endpoint: the schema generated
 * from component.json, its limits, GraphQL over HTTP on /graphql and the SDL on
 * /graphql/schema.graphql (mounted on the server's worker pool), and the
 * graphql-transport-ws subscriptions (gqlapi_subscriptions.h) on the same path.
 * See docs/graphql.md, "Serving it". */
#ifndef BYRON_SIDECAR_GQLAPI_ENDPOINT_H
#define BYRON_SIDECAR_GQLAPI_ENDPOINT_H

#include "byron/graphql.h"
#include "server.h"
#include "sidecar.h"

#include <stdio.h>

/* Every setting has a flag (--graphql-<name>) and a variable
 * (BYRON_GRAPHQL_<NAME>), parsed with the others (settings.h). */
typedef struct byron_gqlapi_options {
    byron_graphql_limits_t limits; /* max-document-bytes, max-tokens, max-depth, max-fields, max-aliases,
                                      deadline-ms, max-cost */
    size_t max_body_bytes;         /* HTTP body (capped by the server's 1 MiB) */
    size_t max_response_bytes;     /* HTTP response body (RESPONSE_TOO_LARGE beyond) */
    size_t document_cache_bytes;   /* parsed, validated documents kept by their text; 0: none */
    unsigned max_subscriptions;    /* per WebSocket connection */
    unsigned max_connections;      /* WebSocket connections per sidecar */
    unsigned ws_queue;             /* per connection: queued events and unsent messages before close 1013 */
    size_t ws_queue_bytes;         /* per connection: bytes of those, before close 1013 */
    unsigned max_replica_subscriptions; /* all connections of this sidecar together */
    unsigned ws_init_timeout_ms;        /* connection_init must arrive within this */
    unsigned ws_workers;                /* threads running WebSocket operations and event selections */
} byron_gqlapi_options_t;

/* The most documents the document cache holds, whatever its bytes: a
 * lookup scans them, the most recent first. */
#define BYRON_GQLAPI_DOC_CACHE_ENTRIES 512

/* The defaults (settings.c shows them in the usage text). */
void byron_gqlapi_options_init(byron_gqlapi_options_t *o);

typedef struct byron_gqlapi byron_gqlapi_t;

/* Builds the schema of sc->component (component_schema.h) and, with
 * sc->stream, the subscription side (consumers on the stream's connection, ws
 * workers). Start the server with byron_gqlapi_mounts() and
 * byron_gqlapi_ws_protocol(); free this after the server, before the stream. */
byron_gqlapi_t *byron_gqlapi_new(byron_sidecar_t *sc, const byron_gqlapi_options_t *o, byron_err_t *err);
/* The lifecycle (workpool.h): _new, then _start (the ws workers); on SIGTERM,
 * while the server still runs, _drain: WebSocket clients are closed with 1001
 * (waits up to wait_ms); _request_stop before freeing the server (the ws
 * workers stop waking its service thread); _stop after it (they finish the
 * connections' closes and are joined); _free. */
byron_status_t byron_gqlapi_start(byron_gqlapi_t *api, byron_err_t *err);
void byron_gqlapi_drain(byron_gqlapi_t *api, int wait_ms);
void byron_gqlapi_request_stop(byron_gqlapi_t *api);
void byron_gqlapi_stop(byron_gqlapi_t *api);
void byron_gqlapi_free(byron_gqlapi_t *api);
/* Fills mounts[0..2): /graphql and /graphql/schema.graphql; returns 2. */
size_t byron_gqlapi_mounts(byron_gqlapi_t *api, byron_server_mount_t *mounts);
/* The graphql-transport-ws protocol for byron_server_options_t.ws_protocol. */
const struct lws_protocols *byron_gqlapi_ws_protocol(byron_gqlapi_t *api);

#endif
