#include "byron/backoff.h"

#include <criterion/criterion.h>

Test(backoff, grows_exponentially_within_jitter_window_and_caps) {
    byron_backoff_t b;
    byron_backoff_init(&b, 800, 30000, 42);
    uint64_t cap = 800;
    for (int i = 0; i < 20; i++) {
        uint64_t d = byron_backoff_next(&b);
        cr_assert_geq(d, cap / 2, "attempt %d: %lu < %lu", i, (unsigned long)d, (unsigned long)(cap / 2));
        cr_assert_leq(d, cap, "attempt %d: %lu > %lu", i, (unsigned long)d, (unsigned long)cap);
        cap = cap * 2 > 30000 ? 30000 : cap * 2;
    }
    byron_backoff_reset(&b);
    cr_assert_leq(byron_backoff_next(&b), 800);
}

Test(backoff, jitter_spreads_clients) {
    /* Two clients with different seeds should not retry in lock-step. */
    byron_backoff_t a, b;
    byron_backoff_init(&a, 1000, 60000, 1);
    byron_backoff_init(&b, 1000, 60000, 2);
    int same = 0;
    for (int i = 0; i < 10; i++) same += byron_backoff_next(&a) == byron_backoff_next(&b);
    cr_assert_lt(same, 3);
}

Test(backoff, uniform_stays_in_range) {
    byron_backoff_t b;
    byron_backoff_init(&b, 1, 1, 7);
    uint64_t lo = 100, hi = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = byron_backoff_uniform(&b, 10, 20);
        cr_assert(v >= 10 && v <= 20);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    cr_assert_eq(lo, 10);
    cr_assert_eq(hi, 20);
    cr_assert_eq(byron_backoff_uniform(&b, 5, 5), 5);
}
