/* tail_cache.h — the last event this api sidecar appended on each aggregate
 * subject, so that the next command on the aggregate can skip reading it back
 * from the stream (one JetStream round trip of three; docs/benchmarks.md,
 * "Commands").
 *
 * An entry is a hint, never the truth: another replica (or anything else
 * allowed to append) may have appended since. What keeps the consistency
 * guarantees (docs/consistency.md) is how commands.c uses it:
 *   - an append is always conditioned on the sequence the attempt started
 *     from, so an attempt that started from a stale entry cannot append: it
 *     conflicts, the entry is dropped, the attempt runs again on a fresh read;
 *   - only an append (or the read-back of the command's own earlier events)
 *     may end an attempt that started from an entry: any other outcome (not
 *     found, already exists, a rejection by a hook, an error) is decided
 *     again on a fresh read before it is answered.
 * So a decision still sees exactly the state it appends after, and a refusal
 * is always made on the stream's latest event.
 *
 * Bounded: a fixed table of slots indexed by a hash of the subject (a
 * collision replaces the older entry); one lock, held for a copy. */
#ifndef BYRON_SIDECAR_TAIL_CACHE_H
#define BYRON_SIDECAR_TAIL_CACHE_H

#include "stream.h"

#include <stddef.h>

typedef struct byron_tail_cache byron_tail_cache_t;

/* slots: the number of aggregates remembered (0: none — every lookup misses). */
byron_tail_cache_t *byron_tail_cache_new(size_t slots);
void byron_tail_cache_free(byron_tail_cache_t *c);

/* Copies the entry of subject into *out: 1 when there is one, else 0. Only
 * the fields an append sets are filled (seq, version, type, msg_id, unique,
 * has_unique); claim fields are empty. */
int byron_tail_cache_get(byron_tail_cache_t *c, const char *subject, byron_stream_last_t *out);

/* Records last as the subject's latest event, unless the entry already holds
 * a later sequence (two workers of this sidecar appended one after the other). */
void byron_tail_cache_put(byron_tail_cache_t *c, const char *subject, const byron_stream_last_t *last);

/* Drops the subject's entry if it still holds sequence seq (an attempt that
 * started from it conflicted or was refused; a newer entry is kept). */
void byron_tail_cache_drop(byron_tail_cache_t *c, const char *subject, uint64_t seq);

#endif
