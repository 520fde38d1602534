/* unique.h — `unique` field values held in the event log (docs/consistency.md,
 * "Unique values").
 *
 * Every value of a unique field that a live aggregate holds is claimed on a
 * subject of its own in the component's stream:
 *
 *     byron.<ns>.<component>.unique.<Model>.<field>.<h>
 *
 * where h is the first 128 bits of SHA-256 over the value's canonical form, in
 * hex (a value may hold any character; a subject token may not). The last
 * message on a claim subject says who holds the value: header Byron-Claim is
 * the owner's aggregate id, or "" after a release. The api appends a claim (or
 * a release) in the same atomic batch as the aggregate's event, conditioned on
 * the claim subject's last sequence (stream.h, byron_stream_append), so two
 * commands can never both win a value, across replicas. The fourth token is
 * not a partition number: sink lanes and GraphQL subscriptions never see
 * claims. Pure functions; SHA-256 from OpenSSL. */
#ifndef BYRON_SIDECAR_UNIQUE_H
#define BYRON_SIDECAR_UNIQUE_H

#include "config.h"

#include <json-c/json.h>
#include <stddef.h>

#define BYRON_UNIQUE_TOKEN "unique"

/* The claim subject of value v (not null) of unique field f of model m into
 * buf; returns its length, or -1 when it does not fit or v is not a scalar. */
int byron_unique_subject(char *buf, size_t cap, const byron_component_t *c, const byron_model_t *m,
                         const byron_field_t *f, json_object *v);

/* Whether a and b are the same value of f, as claims see them (1 and 1.0 of a
 * Float field are the same; NULL and JSON null are no value: never the same). */
int byron_unique_same(const byron_field_t *f, json_object *a, json_object *b);

/* The claim message's payload: {"model","field","value","owner"} with owner
 * "" for a release. Caller puts. */
json_object *byron_unique_payload(const byron_model_t *m, const byron_field_t *f, json_object *v,
                                  const char *owner);

#endif
