/* workqueue.c — FIFO + dirty/processing sets + delayed list, one mutex.
 *
 * The delayed list is an unsorted array scanned for the earliest due time:
 * O(delayed) per _get wake-up. It holds keys waiting out an error backoff, a
 * requeue-after or the controller's resync — one entry per key at most (an
 * add_after of a waiting key keeps the earlier due time), so at most one per
 * component: a scan of 1,000 entries per wake-up costs microseconds, and a
 * heap is the optimisation deliberately not taken. */
#include "workqueue.h"

#include "byron/clock.h"
#include "strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct node {
    struct node *next;
    char *key;
} node_t;

typedef struct delayed {
    char *key;
    uint64_t due_ms;
} delayed_t;

struct byron_workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    node_t *head, *tail;
    size_t len;
    byron_strmap_t *dirty;      /* key → added-at (ms, malloc'd) */
    byron_strmap_t *processing; /* key → (void*)1 */
    byron_strmap_t *failures;   /* key → count (malloc'd unsigned) */
    delayed_t *delayed;
    size_t ndelayed, capdelayed;
    uint64_t base_ms, max_ms;
    int shutting_down;
    byron_metric_t *m_depth, *m_unfinished, *m_adds, *m_retries, *m_latency;
    const char *labels[1];
    char *name;
};

byron_workqueue_t *byron_workqueue_new(const byron_workqueue_options_t *o) {
    byron_workqueue_t *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->dirty = byron_strmap_new(free);
    q->processing = byron_strmap_new(NULL);
    q->failures = byron_strmap_new(free);
    q->base_ms = o && o->base_delay_ms ? o->base_delay_ms : 5;
    q->max_ms = o && o->max_delay_ms ? o->max_delay_ms : 1000000;
    q->name = strdup(o && o->name ? o->name : "queue");
    q->labels[0] = q->name;
    if (o && o->metrics) {
        static const char *const l[] = {"name", NULL};
        static const double lat[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60};
        q->m_depth = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "workqueue_depth",
                                            "Current depth of the work queue.", l, NULL, 0);
        q->m_unfinished =
            byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "byron_workqueue_unfinished_keys",
                                   "Keys queued or being worked on (0: the workers are idle).", l, NULL, 0);
        q->m_adds = byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "workqueue_adds_total",
                                           "Keys added to the work queue.", l, NULL, 0);
        q->m_retries = byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "workqueue_retries_total",
                                              "Rate-limited requeues (errors).", l, NULL, 0);
        q->m_latency =
            byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM, "workqueue_queue_duration_seconds",
                                   "Seconds a key waits in the queue before a worker takes it.", l, lat,
                                   sizeof(lat) / sizeof(lat[0]));
    }
    if (!q->dirty || !q->processing || !q->failures || !q->name) {
        byron_workqueue_free(q);
        return NULL;
    }
    return q;
}

void byron_workqueue_free(byron_workqueue_t *q) {
    if (!q) return;
    node_t *n = q->head;
    while (n) {
        node_t *nx = n->next;
        free(n->key);
        free(n);
        n = nx;
    }
    for (size_t i = 0; i < q->ndelayed; i++) free(q->delayed[i].key);
    free(q->delayed);
    byron_strmap_free(q->dirty);
    byron_strmap_free(q->processing);
    byron_strmap_free(q->failures);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->name);
    free(q);
}

/* Both gauges change under the queue's mutex, together with what they count:
 * a key taken by a worker moves from the depth to the processing set without
 * leaving the unfinished count, so one scrape that reads 0 there finds the
 * workers idle, with nothing half-done. */
static void gauges_locked(byron_workqueue_t *q) {
    if (q->m_depth) byron_metric_set(q->m_depth, q->labels, (double)q->len);
    if (q->m_unfinished)
        byron_metric_set(q->m_unfinished, q->labels, (double)(q->len + byron_strmap_len(q->processing)));
}

static void push_locked(byron_workqueue_t *q, const char *key) {
    node_t *n = malloc(sizeof(*n));
    if (!n) return;
    n->key = strdup(key);
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->len++;
    gauges_locked(q);
    pthread_cond_signal(&q->cv);
}

static void add_locked(byron_workqueue_t *q, const char *key) {
    if (q->shutting_down || byron_strmap_has(q->dirty, key)) return;
    uint64_t *t = malloc(sizeof(*t));
    if (!t) return;
    *t = (uint64_t)byron_clock_mono_ms();
    byron_strmap_set(q->dirty, key, t);
    if (q->m_adds) byron_metric_add(q->m_adds, q->labels, 1);
    if (byron_strmap_has(q->processing, key)) return; /* queued again at _done */
    push_locked(q, key);
}

void byron_workqueue_add(byron_workqueue_t *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

void byron_workqueue_add_after(byron_workqueue_t *q, const char *key, uint64_t delay_ms) {
    if (delay_ms == 0) {
        byron_workqueue_add(q, key);
        return;
    }
    uint64_t due = (uint64_t)byron_clock_mono_ms() + delay_ms;
    pthread_mutex_lock(&q->mu);
    if (q->shutting_down) goto out;
    for (size_t i = 0; i < q->ndelayed; i++) {
        if (strcmp(q->delayed[i].key, key) == 0) { /* keep the earlier of the two */
            if (due < q->delayed[i].due_ms) q->delayed[i].due_ms = due;
            goto wake;
        }
    }
    if (q->ndelayed == q->capdelayed) {
        size_t nc = q->capdelayed ? q->capdelayed * 2 : 16;
        delayed_t *nd = realloc(q->delayed, nc * sizeof(*nd));
        if (!nd) goto out;
        q->delayed = nd;
        q->capdelayed = nc;
    }
    q->delayed[q->ndelayed].key = strdup(key);
    q->delayed[q->ndelayed++].due_ms = due;
wake:
    pthread_cond_broadcast(&q->cv); /* a sleeper may need to wake earlier */
out:
    pthread_mutex_unlock(&q->mu);
}

uint64_t byron_workqueue_add_rate_limited(byron_workqueue_t *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    unsigned *f = byron_strmap_get(q->failures, key);
    if (!f && (f = calloc(1, sizeof(*f)))) byron_strmap_set(q->failures, key, f);
    unsigned n = f ? (*f)++ : 0;
    if (q->m_retries) byron_metric_add(q->m_retries, q->labels, 1);
    pthread_mutex_unlock(&q->mu);
    uint64_t d = q->base_ms;
    for (unsigned i = 0; i < n && d < q->max_ms; i++) d *= 2;
    if (d > q->max_ms) d = q->max_ms;
    byron_workqueue_add_after(q, key, d);
    return d;
}

void byron_workqueue_forget(byron_workqueue_t *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    byron_strmap_del(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

unsigned byron_workqueue_requeues(byron_workqueue_t *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    unsigned *f = byron_strmap_get(q->failures, key);
    unsigned n = f ? *f : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Move due delayed keys into the queue; returns the next due time (0: none). */
static uint64_t promote_locked(byron_workqueue_t *q) {
    uint64_t now = (uint64_t)byron_clock_mono_ms(), next = 0;
    for (size_t i = 0; i < q->ndelayed;) {
        if (q->delayed[i].due_ms <= now) {
            char *k = q->delayed[i].key;
            q->delayed[i] = q->delayed[--q->ndelayed];
            add_locked(q, k);
            free(k);
            continue;
        }
        if (!next || q->delayed[i].due_ms < next) next = q->delayed[i].due_ms;
        i++;
    }
    return next;
}

char *byron_workqueue_get(byron_workqueue_t *q) {
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        uint64_t next = promote_locked(q);
        if (q->head) break;
        if (next) {
            struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000};
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        } else {
            pthread_cond_wait(&q->cv, &q->mu);
        }
    }
    node_t *n = q->head;
    q->head = n->next;
    if (!q->head) q->tail = NULL;
    q->len--;
    char *key = n->key;
    free(n);
    uint64_t *added = byron_strmap_get(q->dirty, key);
    if (added && q->m_latency)
        byron_metric_observe(q->m_latency, q->labels,
                             (double)((uint64_t)byron_clock_mono_ms() - *added) / 1000.0);
    byron_strmap_del(q->dirty, key);
    byron_strmap_set(q->processing, key, (void *)1);
    gauges_locked(q);
    pthread_mutex_unlock(&q->mu);
    return key;
}

void byron_workqueue_done(byron_workqueue_t *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    byron_strmap_del(q->processing, key);
    if (byron_strmap_has(q->dirty, key) && !q->shutting_down)
        push_locked(q, key);
    else
        gauges_locked(q);
    pthread_mutex_unlock(&q->mu);
}

void byron_workqueue_shutdown(byron_workqueue_t *q) {
    pthread_mutex_lock(&q->mu);
    q->shutting_down = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

size_t byron_workqueue_len(byron_workqueue_t *q) {
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
