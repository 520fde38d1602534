/* backoff.c — equal-jitter exponential backoff, xorshift64* generator. */
#include "byron/backoff.h"

#include <time.h>

static uint64_t next_rand(byron_backoff_t *b) {
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void byron_backoff_init(byron_backoff_t *b, uint64_t base_ms, uint64_t max_ms, uint64_t seed) {
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)b;
    }
    b->base_ms = base_ms ? base_ms : 1;
    b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
    b->attempt = 0;
    b->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

uint64_t byron_backoff_uniform(byron_backoff_t *b, uint64_t lo, uint64_t hi) {
    if (hi <= lo) return lo;
    return lo + next_rand(b) % (hi - lo + 1);
}

uint64_t byron_backoff_next(byron_backoff_t *b) {
    uint64_t cap = b->base_ms;
    /* Double until the cap; stop shifting once there so the counter cannot overflow. */
    for (unsigned i = 0; i < b->attempt && cap < b->max_ms; i++) cap *= 2;
    if (cap > b->max_ms) cap = b->max_ms;
    if (cap < b->max_ms) b->attempt++;
    return byron_backoff_uniform(b, cap / 2, cap);
}

void byron_backoff_reset(byron_backoff_t *b) { b->attempt = 0; }
