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
 * the owner's aggregate id, or "~" after a release. The api appends a claim (or
 * a release) in the same atomic batch as the aggregate's event, conditioned on
 * the claim subject's last sequence (stream.h, byron_stream_append), so two
 * commands can never both win a value, across replicas. The fourth token is
 * not a partition number: sink lanes and GraphQL subscriptions never see
 * claims.
 *
 * Every event of a model with unique fields carries, in its Byron-Unique
 * header, the values the aggregate holds after it ("code=<h>;sku=<h>", "~"
 * for none): the last event of an aggregate says what it holds, so a command
 * knows which values to release, and whether a claim's owner still holds its
 * value, from the stream alone. Pure functions; SHA-256 from OpenSSL. */
#ifndef BYRON_SIDECAR_UNIQUE_H
#define BYRON_SIDECAR_UNIQUE_H

#include "component.h"

#include <json-c/json.h>
#include <stddef.h>

#define BYRON_UNIQUE_TOKEN "unique"
/* Header values may not be empty: "~" (never an id, never a field name) is
 * "nobody" in Byron-Claim (a release) and "nothing" in Byron-Unique. */
#define BYRON_UNIQUE_NONE "~"

#define BYRON_UNIQUE_HASH_LEN 32

/* The value's hash (hex) into out; -1 when v is null or not a scalar. */
int byron_unique_hash(const byron_field_t *f, json_object *v, char out[BYRON_UNIQUE_HASH_LEN + 1]);

/* The claim subject of hash h of unique field f of model m into buf; returns
 * its length, or -1 when it does not fit. */
int byron_unique_subject(char *buf, size_t cap, const byron_component_t *c, const byron_model_t *m,
                         const byron_field_t *f, const char *h);

/* What an aggregate holds: per field of its model (by index), the hash of
 * its value, "" when none. */
typedef struct byron_unique_holdings {
    char hash[BYRON_FIELDS_MAX][BYRON_UNIQUE_HASH_LEN + 1];
} byron_unique_holdings_t;

/* Parse a Byron-Unique header; -1 when it is malformed or names a field that is not unique. */
int byron_unique_holdings_parse(const byron_model_t *m, const char *header, byron_unique_holdings_t *out);
/* Format the header into buf ("~" for none); -1 when it does not fit. */
int byron_unique_holdings_format(const byron_model_t *m, const byron_unique_holdings_t *h, char *buf,
                                 size_t cap);

/* Whether a and b are the same value of f, as claims see them (1 and 1.0 of a
 * Float field are the same; NULL and JSON null are no value: never the same). */
int byron_unique_same(const byron_field_t *f, json_object *a, json_object *b);

/* The claim message's payload: {"model","field","value","hash","owner"} with
 * owner "" for a release (whose value may be unknown: v NULL). Caller puts. */
json_object *byron_unique_payload(const byron_model_t *m, const byron_field_t *f, json_object *v,
                                  const char *h, const char *owner);

#endif
