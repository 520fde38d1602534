/* guard.h — where the access policy (access.h) is enforced: the checks REST
 * (server.c) and GraphQL (gqlapi_resolvers.c, gqlapi_subscriptions.c) share,
 * so both transports refuse exactly the same things.
 *
 *   commands  the operation must be granted; under row rules a create must
 *             name an allowed owner, and an update/delete/custom command may
 *             only touch a cached object of an allowed row and not move it out
 *   reads     the operation must be granted; rows narrow the MongoDB query
 *             (lists) or hide the object (by id: as if absent)
 *   filters   REST cache filters are typed like GraphQL's: each value must be
 *             of the field's type, so no MongoDB extended JSON ($regex, $where,
 *             $minKey...) from a client reaches the database
 * All calls may block on the cache: workers only. */
#ifndef BYRON_SIDECAR_GUARD_H
#define BYRON_SIDECAR_GUARD_H

#include "access.h"
#include "sidecar.h"

/* A refusal: code is BYRON_CODE_UNAUTHENTICATED (HTTP 401) or
 * BYRON_CODE_FORBIDDEN (403), or a cache error code; err holds the message. */
typedef struct byron_guard_refusal {
    const char *code;
    int http;
} byron_guard_refusal_t;

/* 0: allowed; -1: refused (r, err filled). id: the aggregate (NULL for a
 * create: input.id); input may be NULL. */
int byron_guard_command(byron_sidecar_t *sc, const byron_principal_t *p, const char *command, const char *id,
                        json_object *input, byron_guard_refusal_t *r, byron_err_t *err);

/* 0 with *rows set (release with byron_access_rows_cleanup), or -1 refused. */
int byron_guard_read(byron_sidecar_t *sc, const byron_principal_t *p, const char *operation,
                     byron_access_rows_t *rows, byron_guard_refusal_t *r, byron_err_t *err);

/* An idempotency key in the principal's own scope: a user's key becomes
 * "<16 hex digits of FNV-1a 64 of iss and sub>~<key>", so two users' equal keys
 * never meet (anonymous callers share one scope, the app keeps its keys).
 * -1 when the result would not fit cap or 128 characters. */
int byron_guard_scope_key(const byron_principal_t *p, const char *key, char *out, size_t cap);

/* The operation names of a model's reads: "order", "orders", "orderEvents". */
void byron_guard_op_name(const char *model, const char *suffix, char *out, size_t cap);

/* A REST cache filter ({"field": value | {"op": value, "in": [values]}}):
 * every value must be of the field's type (ids, strings, finite numbers,
 * booleans, enum values, RFC 3339 date-times); nothing else reaches MongoDB. */
byron_status_t byron_guard_filter(const byron_model_t *m, json_object *filter, byron_err_t *err);

#endif
