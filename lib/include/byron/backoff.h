/* backoff.h — exponential backoff with jitter.
 *
 * Delay n (n = 0, 1, ...) is drawn uniformly from [cap/2, cap] where
 * cap = min(max_ms, base_ms * 2^n): "equal jitter". Half the window is kept so
 * a retry never fires immediately; the random half spreads a herd of clients
 * reconnecting to one restarted server. The generator is per object (no global
 * state), seeded by the caller (0: from the clock and address). */
#ifndef BYRON_BACKOFF_H
#define BYRON_BACKOFF_H

#include <stdint.h>

typedef struct byron_backoff {
    uint64_t base_ms;
    uint64_t max_ms;
    unsigned attempt;
    uint64_t rng;
} byron_backoff_t;

void byron_backoff_init(byron_backoff_t *b, uint64_t base_ms, uint64_t max_ms, uint64_t seed);
/* The next delay in milliseconds; advances the attempt counter. */
uint64_t byron_backoff_next(byron_backoff_t *b);
/* After a success: the next failure starts again at base_ms. */
void byron_backoff_reset(byron_backoff_t *b);
/* Uniform in [lo, hi] from the object's generator (used for jittered timeouts too). */
uint64_t byron_backoff_uniform(byron_backoff_t *b, uint64_t lo, uint64_t hi);

#endif
