/* gqlapi_resolvers.h — what the generated GraphQL fields do in the api
 * sidecar: queries read the cache, mutations run commands, references load
 * the referenced objects (docs/graphql.md, "Serving it").
 *
 * One resolver for every generated field, dispatched on the op the schema
 * generator put in info->meta (component_schema.h: the verb and the model,
 * as pointers into the component). It
 * blocks (MongoDB, JetStream, the app): it runs on worker threads only, with
 * one byron_gqlapi_request_t per GraphQL request. */
#ifndef BYRON_SIDECAR_GQLAPI_RESOLVERS_H
#define BYRON_SIDECAR_GQLAPI_RESOLVERS_H

#include "byron/graphql.h"
#include "principal.h"
#include "sidecar.h"

#include <stdint.h>

/* Per-request context handed to the engine as the resolver's ctx. */
typedef struct byron_gqlapi_request {
    byron_sidecar_t *sc;
    const char *idempotency_key;        /* Idempotency-Key header, NULL or "": none */
    const char *traceparent;            /* NULL or "": a new trace */
    int wait_projected;                 /* Byron-Consistency: projected — mutations wait for the sink */
    const byron_principal_t *principal; /* who asks (never NULL once set up; borrowed) */
    int64_t deadline_ms;  /* what is left of the request's deadline (-1: none): MongoDB's maxTimeMS */
    json_object *memo;    /* "Model/id" → object (null: absent) loaded in this request (owned) */
    json_object *page;    /* the last list page's nodes, for batching their references (owned) */
    json_object *batched; /* "Type.field" references already loaded for all of `page` (owned) */
} byron_gqlapi_request_t;

void byron_gqlapi_request_init(byron_gqlapi_request_t *r, byron_sidecar_t *sc, const char *idempotency_key,
                               const char *traceparent);
void byron_gqlapi_request_cleanup(byron_gqlapi_request_t *r);

/* The resolver (ctx: a byron_gqlapi_request_t). Fields without meta use the
 * engine's default resolver. */
byron_status_t byron_gqlapi_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                                    const byron_graphql_resolve_info_t *info, json_object **result,
                                    byron_graphql_field_error_t *err);

/* The engine's authorize hook (ctx: a byron_gqlapi_request_t): each root
 * field is an operation of the access policy (access.h). */
byron_status_t byron_gqlapi_authorize(void *ctx, byron_graphql_operation_kind_t kind, const char *field,
                                      const void *meta, byron_graphql_field_error_t *err);

/* An event envelope (docs/events.md) as a GraphQL ByronEvent
 * {sequence, type, model, id, version, time, data}; seq 0: the envelope's own
 * byronsequence. New object, caller puts; NULL if env is not an envelope. */
json_object *byron_gqlapi_event(json_object *env, uint64_t seq);

#endif
