/* workpool.c — bounded worker pool: a ring buffer, a mutex and two condvars. */
#include "workpool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    byron_work_fn fn;
    void *arg;
} job_t;

struct byron_workpool {
    pthread_mutex_t lock;
    pthread_cond_t more;
    job_t *ring;
    int cap, head, len, running, draining, want, nthreads, joined;
    pthread_t *threads;
    byron_metric_t *depth, *rejected;
};

static void *worker(void *arg) {
    byron_workpool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->len == 0 && !p->draining) pthread_cond_wait(&p->more, &p->lock);
        if (p->len == 0) break; /* draining and nothing left */
        job_t j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        p->running++;
        if (p->depth) byron_metric_set(p->depth, NULL, p->len);
        pthread_mutex_unlock(&p->lock);
        j.fn(j.arg);
        pthread_mutex_lock(&p->lock);
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

byron_workpool_t *byron_workpool_new(int threads, int queue_cap, byron_metrics_t *metrics, byron_err_t *err) {
    byron_workpool_t *p = calloc(1, sizeof *p);
    if (!p || threads < 1 || queue_cap < 1 || !(p->ring = calloc((size_t)queue_cap, sizeof *p->ring)) ||
        !(p->threads = calloc((size_t)threads, sizeof *p->threads))) {
        if (p) free(p->ring);
        free(p);
        byron_err_set(err, threads < 1 || queue_cap < 1 ? BYRON_EINVAL : BYRON_ENOMEM,
                      "worker pool: need at least one thread and one queue slot");
        return NULL;
    }
    p->cap = queue_cap;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    if (metrics) {
        p->depth = byron_metrics_register(metrics, BYRON_METRIC_GAUGE, "byron_sidecar_queue_depth",
                                          "Jobs waiting for a worker.", NULL, NULL, 0);
        p->rejected =
            byron_metrics_register(metrics, BYRON_METRIC_COUNTER, "byron_sidecar_queue_rejected_total",
                                   "Requests refused with 503 because the queue was full.", NULL, NULL, 0);
    }
    p->want = threads;
    return p;
}

byron_status_t byron_workpool_start(byron_workpool_t *p, byron_err_t *err) {
    for (int i = p->nthreads; i < p->want; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
        p->nthreads++;
    }
    if (p->nthreads == 0) return byron_err_set(err, BYRON_EIO, "worker pool: cannot start threads");
    return BYRON_OK;
}

byron_status_t byron_workpool_submit(byron_workpool_t *p, byron_work_fn fn, void *arg) {
    pthread_mutex_lock(&p->lock);
    byron_status_t st = BYRON_OK;
    if (p->draining)
        st = BYRON_ESTATE;
    else if (p->len == p->cap)
        st = BYRON_ELIMIT;
    else {
        p->ring[(p->head + p->len) % p->cap] = (job_t){fn, arg};
        p->len++;
        if (p->depth) byron_metric_set(p->depth, NULL, p->len);
        pthread_cond_signal(&p->more);
    }
    pthread_mutex_unlock(&p->lock);
    if (st == BYRON_ELIMIT && p->rejected) byron_metric_add(p->rejected, NULL, 1);
    return st;
}

int byron_workpool_load(byron_workpool_t *p) {
    pthread_mutex_lock(&p->lock);
    int n = p->len + p->running;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void byron_workpool_stop(byron_workpool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->draining = 1;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    if (p->joined) return; /* only main stops it: no lock needed for this flag */
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    p->joined = 1;
}

void byron_workpool_free(byron_workpool_t *p) {
    if (!p) return;
    byron_workpool_stop(p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->more);
    free(p->threads);
    free(p->ring);
    free(p);
}
