/*
 * fixtures.h — a small test schema (dogs and humans), its resolver, and
 * helpers shared by the GraphQL engine's unit tests.
 */
#ifndef BYRON_GRAPHQL_TEST_FIXTURES_H
#define BYRON_GRAPHQL_TEST_FIXTURES_H

#include "byron/graphql.h"

#include <stdbool.h>

/* The test schema (finalized). Caller frees. */
byron_graphql_schema_t *fx_schema(void);
/* Resolver of the test schema. */
byron_status_t fx_resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                          const byron_graphql_resolve_info_t *info, json_object **result,
                          byron_graphql_field_error_t *err);
/* parse + validate + execute; `vars` is JSON text or NULL. Caller puts. */
json_object *fx_run(const byron_graphql_schema_t *s, const char *query, const char *vars);
/* Validation errors of `query` (NULL when valid). Caller puts. */
json_object *fx_validate(const byron_graphql_schema_t *s, const char *query);
/* Some error in `errors` (an array, or a response with "errors") has a
 * message containing `needle`. */
bool fx_has_error(json_object *errors, const char *needle);
/* Compact JSON of v["data"] (or of v itself when it has no data key). */
const char *fx_data(json_object *v);

#endif
