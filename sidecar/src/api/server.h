/* server.h — the sidecar's HTTP server: libwebsockets, one service thread,
 * three listeners:
 *   public TCP  GraphQL (HTTP and WebSocket) for clients: bearer tokens,
 *               CORS, the access policy; REST (/v1/commands, /v1/cache,
 *               /v1/meta) only when rest_tcp is on, under the same policy
 *   Unix socket the app: everything, as the trusted app principal
 *   admin TCP   /healthz, /readyz, /metrics for the kubelet and Prometheus;
 *               the Service does not expose it (docs/security.md) Handlers that block are never run on the
 * service thread: they go to the worker pool and their answer comes back through a done list and
 * lws_cancel_service (docs/sidecar.md, "Concurrency"). */
#ifndef BYRON_SIDECAR_SERVER_H
#define BYRON_SIDECAR_SERVER_H

#include "byron/status.h"
#include "principal.h"
#include "sidecar.h"

#define BYRON_SERVER_MAX_BODY (1u << 20)

typedef struct byron_server byron_server_t;

/* A mounted handler (the GraphQL endpoint): runs on a worker thread, may block. */
typedef struct byron_server_request {
    const char *method; /* "GET", "POST" */
    const char *path;
    const char *query;           /* raw-encoded query string (no '?'), "" if none */
    const char *content_type;    /* "" if absent */
    const char *accept;          /* "" if absent */
    const char *traceparent;     /* "" if absent */
    const char *idempotency_key; /* Idempotency-Key header, "" if absent */
    const char *consistency;     /* Byron-Consistency header, "" if absent */
    const char *body;            /* NUL-terminated; NULL for none */
    size_t len;
    const byron_principal_t *principal; /* who asks: verified, anonymous, or the app (Unix socket) */
} byron_server_request_t;

typedef struct byron_server_reply {
    int status;
    char content_type[128];
    char allow[64];      /* Allow header for a 405, "" for none */
    char challenge[256]; /* WWW-Authenticate for a 401, "" for none */
    char *body;          /* malloc'd by the handler, freed by the server */
    size_t len;
} byron_server_reply_t;

typedef void (*byron_server_handler_fn)(void *ud, const byron_server_request_t *req,
                                        byron_server_reply_t *reply);

typedef struct byron_server_mount {
    const char *path; /* exact path, e.g. "/graphql"; both listeners */
    byron_server_handler_fn fn;
    void *ud;
} byron_server_mount_t;

struct lws_protocols;

typedef struct byron_server_options {
    const char *bind_addr;              /* NULL: all interfaces */
    int port;                           /* 0: any free port */
    const char *unix_path;              /* NULL: no Unix socket */
    const byron_server_mount_t *mounts; /* copied; up to 8 */
    size_t nmounts;
    /* A WebSocket protocol served on the same listeners (the GraphQL
     * subscriptions, gqlapi_subscriptions.c), selected by the client's
     * Sec-WebSocket-Protocol; NULL: none. A WebSocket client that offers no
     * subprotocol is closed with 4406 (Subprotocol not acceptable). */
    const struct lws_protocols *ws_protocol;
    int admin_port;                /* probes and metrics; 0: any free port; -1: no admin listener */
    const char *admin_bind;        /* NULL: all interfaces */
    int rest_tcp;                  /* REST on the public port too (same authentication as GraphQL) */
    size_t max_inflight_bytes;     /* request bodies held at once, all clients (503 beyond); 0: 64 MiB */
    unsigned max_conns_per_client; /* public-port connections from one address (refused beyond); 0: 256 */
    size_t max_fds; /* fd numbers tracked per client address (the open-files limit); 0: 65536 */
} byron_server_options_t;

#define BYRON_SERVER_DEFAULT_INFLIGHT_BYTES (64u << 20)
#define BYRON_SERVER_DEFAULT_CONNS_PER_CLIENT 256

byron_server_t *byron_server_new(byron_sidecar_t *sc, const byron_server_options_t *opts, byron_err_t *err);
int byron_server_port(const byron_server_t *s);
int byron_server_admin_port(const byron_server_t *s); /* -1: none */
/* Requests accepted but not answered yet. */
int byron_server_inflight(byron_server_t *s);
void byron_server_free(byron_server_t *s);

#endif
