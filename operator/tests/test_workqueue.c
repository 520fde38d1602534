/* test_workqueue.c — de-duplication, exclusivity, delays and backoff. */
#include "byron/clock.h"
#include "byron/metrics.h"
#include "workqueue.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

Test(workqueue, deduplicates_waiting_keys_and_keeps_fifo_order) {
    byron_workqueue_t *q = byron_workqueue_new(NULL);
    byron_workqueue_add(q, "a/1");
    byron_workqueue_add(q, "a/2");
    byron_workqueue_add(q, "a/1");
    cr_assert_eq(byron_workqueue_len(q), 2);
    char *k1 = byron_workqueue_get(q), *k2 = byron_workqueue_get(q);
    cr_assert_str_eq(k1, "a/1");
    cr_assert_str_eq(k2, "a/2");
    byron_workqueue_done(q, k1);
    byron_workqueue_done(q, k2);
    free(k1);
    free(k2);
    cr_assert_eq(byron_workqueue_len(q), 0);
    byron_workqueue_free(q);
}

Test(workqueue, key_in_processing_is_requeued_only_after_done) {
    byron_workqueue_t *q = byron_workqueue_new(NULL);
    byron_workqueue_add(q, "a/1");
    char *k = byron_workqueue_get(q);
    byron_workqueue_add(q, "a/1"); /* changed while being reconciled */
    byron_workqueue_add(q, "a/1");
    cr_assert_eq(byron_workqueue_len(q), 0, "never handed to a second worker while processing");
    byron_workqueue_done(q, k);
    cr_assert_eq(byron_workqueue_len(q), 1, "queued once more after done");
    free(k);
    k = byron_workqueue_get(q);
    cr_assert_str_eq(k, "a/1");
    byron_workqueue_done(q, k);
    free(k);
    cr_assert_eq(byron_workqueue_len(q), 0);
    byron_workqueue_free(q);
}

Test(workqueue, rate_limited_backoff_doubles_caps_and_forget_resets) {
    byron_workqueue_options_t o = {.name = "t", .base_delay_ms = 5, .max_delay_ms = 40};
    byron_workqueue_t *q = byron_workqueue_new(&o);
    uint64_t want[] = {5, 10, 20, 40, 40};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(byron_workqueue_add_rate_limited(q, "a/x"), want[i], "retry %d", i);
    cr_assert_eq(byron_workqueue_requeues(q, "a/x"), 5);
    byron_workqueue_forget(q, "a/x");
    cr_assert_eq(byron_workqueue_requeues(q, "a/x"), 0);
    cr_assert_eq(byron_workqueue_add_rate_limited(q, "a/x"), 5);
    /* Per key: another key starts at the base. */
    cr_assert_eq(byron_workqueue_add_rate_limited(q, "a/y"), 5);
    byron_workqueue_free(q);
}

Test(workqueue, add_after_delays_delivery) {
    byron_workqueue_t *q = byron_workqueue_new(NULL);
    long long t0 = byron_clock_mono_ms();
    byron_workqueue_add_after(q, "a/late", 150);
    byron_workqueue_add_after(q, "a/late", 600); /* keeps the earlier one */
    byron_workqueue_add_after(q, "a/mid", 350);
    byron_workqueue_add(q, "a/now");
    char *k = byron_workqueue_get(q);
    cr_assert_str_eq(k, "a/now");
    byron_workqueue_done(q, k);
    free(k);
    /* Delivered no earlier than asked; kept at 150 ms, it comes before a/mid
     * (350 ms) — an order, not a timing upper bound (a loaded machine may
     * deliver both late). */
    k = byron_workqueue_get(q);
    long long dt = byron_clock_mono_ms() - t0;
    cr_assert_str_eq(k, "a/late", "the later add_after replaced the earlier one");
    cr_assert_geq(dt, 150, "delivered after %lld ms", dt);
    byron_workqueue_done(q, k);
    free(k);
    k = byron_workqueue_get(q);
    cr_assert_str_eq(k, "a/mid");
    cr_assert_geq(byron_clock_mono_ms() - t0, 350);
    byron_workqueue_done(q, k);
    free(k);
    cr_assert_eq(byron_workqueue_len(q), 0, "a/late was queued once");
    byron_workqueue_free(q);
}

typedef struct {
    byron_workqueue_t *q;
    atomic_int tid; /* the thread's id once it is about to block in _get */
    char *got;
} getter_t;

static void *getter(void *arg) {
    getter_t *g = arg;
    atomic_store(&g->tid, (int)syscall(SYS_gettid));
    g->got = byron_workqueue_get(g->q);
    return NULL;
}

/* Whether a thread of this process is asleep (state S: blocked in a wait). */
static int thread_asleep(int tid) {
    char path[64], stat[512] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')'); /* the state follows the command's name */
    return paren && paren[1] == ' ' && paren[2] == 'S';
}

Test(workqueue, shutdown_wakes_blocked_workers) {
    byron_workqueue_t *q = byron_workqueue_new(NULL);
    pthread_t t[3];
    getter_t g[3];
    for (int i = 0; i < 3; i++) {
        g[i] = (getter_t){.q = q};
        cr_assert_eq(pthread_create(&t[i], NULL, getter, &g[i]), 0);
    }
    /* Each worker blocked in _get (asleep after it said so) before the shutdown. */
    long long deadline = byron_clock_mono_ms() + 10000;
    for (int i = 0; i < 3; i++)
        while (!(atomic_load(&g[i].tid) && thread_asleep(atomic_load(&g[i].tid))) &&
               byron_clock_mono_ms() < deadline)
            byron_clock_sleep_ms(1);
    for (int i = 0; i < 3; i++)
        cr_assert(thread_asleep(atomic_load(&g[i].tid)), "worker %d never blocked", i);
    byron_workqueue_shutdown(q);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_assert_null(g[i].got);
    }
    byron_workqueue_add(q, "a/ignored");
    cr_assert_eq(byron_workqueue_len(q), 0);
    byron_workqueue_free(q);
}

typedef struct {
    byron_workqueue_t *q;
    int *inflight; /* per key: workers holding it now */
    int violations, processed;
    pthread_mutex_t *mu;
} ctx_t;

static void *work(void *arg) {
    ctx_t *c = arg;
    char *k;
    while ((k = byron_workqueue_get(c->q))) {
        int idx = (int)strtol(k, NULL, 10);
        pthread_mutex_lock(c->mu);
        if (++c->inflight[idx] > 1) c->violations++;
        c->processed++;
        pthread_mutex_unlock(c->mu);
        byron_clock_sleep_ms(1); /* hold the key a while: a second worker would show */
        pthread_mutex_lock(c->mu);
        c->inflight[idx]--;
        pthread_mutex_unlock(c->mu);
        byron_workqueue_done(c->q, k);
        free(k);
    }
    return NULL;
}

Test(workqueue, never_two_workers_on_one_key) {
    byron_metrics_t *m = byron_metrics_new();
    byron_workqueue_options_t o = {.name = "t", .metrics = m};
    byron_workqueue_t *q = byron_workqueue_new(&o);
    int inflight[8] = {0};
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    ctx_t c = {q, inflight, 0, 0, &mu};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&t[i], NULL, work, &c), 0);
    char key[8];
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "%d", i % 8);
        byron_workqueue_add(q, key);
    }
    /* Shut down once every added key was handed out and finished. */
    long long deadline = byron_clock_mono_ms() + 30000;
    for (;;) {
        pthread_mutex_lock(&mu);
        int busy = 0;
        for (int i = 0; i < 8; i++) busy += inflight[i];
        pthread_mutex_unlock(&mu);
        if ((byron_workqueue_len(q) == 0 && busy == 0) || byron_clock_mono_ms() > deadline) break;
        byron_clock_sleep_ms(5);
    }
    cr_assert_eq(byron_workqueue_len(q), 0, "keys left after 30 s");
    byron_workqueue_shutdown(q);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    cr_assert_eq(c.violations, 0);
    cr_assert_gt(c.processed, 7);
    cr_assert_lt(c.processed, 4000, "adds of a waiting key were collapsed");
    size_t len;
    char *text = byron_metrics_render(m, &len);
    cr_assert(strstr(text, "workqueue_adds_total{name=\"t\"}"));
    free(text);
    byron_workqueue_free(q);
    byron_metrics_free(m);
}

static double gauge(byron_metrics_t *m, const char *series) {
    size_t len;
    char *text = byron_metrics_render(m, &len);
    const char *p = strstr(text, series);
    double v = p ? strtod(p + strlen(series), NULL) : -1;
    free(text);
    return v;
}

/* The unfinished count is what a caller waits on for "idle": a key a worker
 * took stays in it until done, and one added again meanwhile is counted once. */
Test(workqueue, unfinished_keys_count_queued_and_taken_until_done) {
    static const char U[] = "byron_workqueue_unfinished_keys{name=\"t\"}",
                      D[] = "workqueue_depth{name=\"t\"}";
    byron_metrics_t *m = byron_metrics_new();
    byron_workqueue_options_t o = {.name = "t", .metrics = m};
    byron_workqueue_t *q = byron_workqueue_new(&o);
    byron_workqueue_add(q, "a");
    byron_workqueue_add(q, "b");
    cr_assert_eq(gauge(m, U), 2);
    char *a = byron_workqueue_get(q);
    cr_assert_str_eq(a, "a");
    cr_assert_eq(gauge(m, D), 1);
    cr_assert_eq(gauge(m, U), 2, "a taken key is still unfinished");
    byron_workqueue_add(q, "a"); /* waits for the worker's done */
    cr_assert_eq(gauge(m, U), 2);
    byron_workqueue_done(q, a);
    cr_assert_eq(gauge(m, D), 2, "a was queued again at done");
    cr_assert_eq(gauge(m, U), 2);
    free(a);
    for (int i = 0; i < 2; i++) {
        char *k = byron_workqueue_get(q);
        byron_workqueue_done(q, k);
        free(k);
    }
    cr_assert_eq(gauge(m, U), 0);
    cr_assert_eq(gauge(m, D), 0);
    byron_workqueue_free(q);
    byron_metrics_free(m);
}
