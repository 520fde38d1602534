/* gqlapi_subscriptions.h — GraphQL subscriptions over WebSocket
 * (graphql-transport-ws on /graphql), fed from the component's JetStream stream.
 *
 * An lws protocol on the server's service thread moves bytes only; the
 * protocol state machine (the engine's byron_graphql_ws_*) runs on a small
 * pool of ws workers, one connection at a time per worker, so each machine is
 * serialised. Events come from one ordered (ephemeral) JetStream consumer per
 * subscription (or one per model shared by the live ones) on the sidecar's one
 * NATS connection (sc->stream, stream.h). docs/graphql.md, "Subscriptions". */
#ifndef BYRON_SIDECAR_GQLAPI_SUBSCRIPTIONS_H
#define BYRON_SIDECAR_GQLAPI_SUBSCRIPTIONS_H

#include "gqlapi_endpoint.h"

typedef struct byron_gqlapi_subs byron_gqlapi_subs_t;

/* The lifecycle (workpool.h): _new subscribes through sc->stream (which must
 * outlive it); _start starts o->ws_workers threads; _request_stop before the
 * server is freed; _stop after it; _free. The schema must outlive it. */
byron_gqlapi_subs_t *byron_gqlapi_subs_new(byron_sidecar_t *sc, const byron_graphql_schema_t *schema,
                                           const byron_gqlapi_options_t *o, byron_err_t *err);
byron_status_t byron_gqlapi_subs_start(byron_gqlapi_subs_t *subs, byron_err_t *err);
const struct lws_protocols *byron_gqlapi_subs_protocol(byron_gqlapi_subs_t *subs);
/* On SIGTERM: closes every WebSocket with 1001 (Going Away: graphql-ws
 * clients reconnect, to another replica) and waits up to wait_ms for them. */
void byron_gqlapi_subs_drain(byron_gqlapi_subs_t *subs, int wait_ms);
/* Before the server is freed: no worker calls lws_cancel_service on its
 * context after this returns. */
void byron_gqlapi_subs_request_stop(byron_gqlapi_subs_t *subs);
/* After the server is freed (no more callbacks): ends every subscription,
 * joins the workers, closes the NATS connection. Idempotent. */
void byron_gqlapi_subs_stop(byron_gqlapi_subs_t *subs);
/* Stops it first when it was not. */
void byron_gqlapi_subs_free(byron_gqlapi_subs_t *subs);

#endif
