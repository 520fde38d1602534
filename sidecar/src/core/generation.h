/* generation.h — cache generations: the zero-downtime rebuild's names and its
 * pointer (docs/sink.md, "Rebuild").
 *
 * A generation G of the cache is a set of collections: the models' and the
 * sink's own records (`_byron_sink`), named as they are for G = 0 (every cache
 * before rebuilds existed) and prefixed `_g<G>_` for G >= 1 — a prefix no model
 * name can take (models start with a capital). Generation numbers only rise and
 * are never reused, so a generation's collections hold nothing but its own fold.
 *
 * The lanes' durable consumers come in two name slots, because a sink's NATS
 * user may only touch the durables it was granted on another component's
 * stream (docs/security.md): slot 0 is the plain name ("byron-sink-p3"), slot 1
 * the name + "_b". The live generation uses one slot, a rebuild the other; a
 * rebuild deletes its slot's durables before it starts (a replay over its own
 * fresh collections, never over another generation's).
 *
 * The pointer is one document, `_byron` {_id: "cache"}: which generation the
 * api reads (`active`, `activeSlot`), which one a sink is building, the one
 * switched away from (`retired`, dropped a grace period after `switchedAt`) and
 * the build's progress. Absent: generation 0 in slot 0. Every write is a `$set`
 * of the fields it decides, so writers of different fields never undo each
 * other, and no guarantee rests on a conditional write (FerretDB's are not
 * atomic): concurrent sinks write the same values. */
#ifndef BYRON_SIDECAR_GENERATION_H
#define BYRON_SIDECAR_GENERATION_H

#include "byron/status.h"
#include "component.h"

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <stdint.h>

#define BYRON_GENERATION_COLLECTION "_byron"
#define BYRON_GENERATION_ID "cache"
#define BYRON_GENERATION_MAX 1000000000LL

typedef struct byron_generation_pointer {
    int64_t active;    /* the generation the api reads */
    int active_slot;   /* its durables' name slot (0, 1) */
    int64_t building;  /* a rebuild's generation, 0: none */
    int building_slot; /* its slot: the other one */
    int64_t retired;   /* switched away from, not dropped yet; -1: none */
    int retired_slot;
    int64_t switched_at; /* wall clock ms of the switch, 0: none */
    int64_t abandoned;   /* a rebuild replaced by a newer one before it switched: dropped with retired */
    int64_t projected;   /* the build's progress: events of the streams projected ... */
    int64_t total;       /* ... of this many */
} byron_generation_pointer_t;

/* The collection `name` of generation gen into buf (name itself for 0). */
void byron_generation_collection(int64_t gen, const char *name, char *buf, size_t cap);
/* A lane's durable in a name slot: base, or base + "_b". */
void byron_generation_durable(int slot, const char *base, char *buf, size_t cap);

/* Reads the pointer; an absent one is generation 0 in slot 0. BYRON_EUNAVAILABLE
 * when the cache cannot be reached, BYRON_EIO for an unreadable pointer. */
byron_status_t byron_generation_read(mongoc_client_t *cl, const char *db, byron_generation_pointer_t *out,
                                     byron_err_t *err);
/* One field of the pointer: an int64, or an int32 (the slots, activeSlot …). */
typedef struct byron_generation_field {
    const char *name;
    int64_t value;
    int int32;
} byron_generation_field_t;
/* `$set` of the n fields on the pointer, upserting it. */
byron_status_t byron_generation_set(mongoc_client_t *cl, const char *db,
                                    const byron_generation_field_t *fields, size_t n, byron_err_t *err);

/* Drops generation gen's collections (the models' and _byron_sink); absent
 * ones are fine. */
byron_status_t byron_generation_drop(mongoc_client_t *cl, const char *db, const byron_component_t *c,
                                     int64_t gen, byron_err_t *err);

#endif
