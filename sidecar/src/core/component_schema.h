/* component_schema.h — a component's GraphQL schema, generated from the one
 * parsed byron_component_t (component.h; every generated name is listed in
 * docs/graphql.md, "The component schema").
 *
 * Each generated field that means something to the sidecar carries a
 * byron_component_schema_op_t as its meta (info->meta in a resolver, `meta`
 * in the authorize callback): what the field does and on which model or
 * command, as pointers into the component — which therefore outlives the
 * schema. */
#ifndef BYRON_SIDECAR_COMPONENT_SCHEMA_H
#define BYRON_SIDECAR_COMPONENT_SCHEMA_H

#include "byron/graphql.h"
#include "byron/status.h"
#include "component.h"

typedef enum {
    BYRON_SCHEMA_GET,     /* Query.m(id) */
    BYRON_SCHEMA_LIST,    /* Query.ms(filter, orderBy, first, after, last, before) */
    BYRON_SCHEMA_CREATE,  /* Mutation.createM(input) */
    BYRON_SCHEMA_UPDATE,  /* Mutation.updateM(id, input) */
    BYRON_SCHEMA_DELETE,  /* Mutation.deleteM(id) */
    BYRON_SCHEMA_COMMAND, /* Mutation.<command>(id, input) */
    BYRON_SCHEMA_REF,     /* a field of an object that references a model */
    BYRON_SCHEMA_EVENTS,  /* Subscription.mEvents(id, fromSequence) */
} byron_component_schema_verb_t;

typedef struct byron_component_schema_op {
    byron_component_schema_verb_t verb;
    const byron_model_t *model;         /* the model acted on, or referenced (REF) */
    const byron_command_def_t *command; /* BYRON_SCHEMA_COMMAND only */
} byron_component_schema_op_t;

/* The schema of c (finalized, read-only; free with byron_graphql_schema_free).
 * Fails (BYRON_EINVAL) only where GraphQL adds a rule to the component's:
 * a generated name that collides with another ("models[0].name: ..."). */
byron_status_t byron_component_schema(const byron_component_t *c, byron_graphql_schema_t **out,
                                      byron_err_t *err);

#endif
