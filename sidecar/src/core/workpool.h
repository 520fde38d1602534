/* workpool.h — a fixed set of worker threads fed by a bounded FIFO queue.
 *
 * Where everything blocking runs (commands, cache reads, app calls): the HTTP
 * service thread only parses, enqueues and writes answers. A full queue is an
 * answer too (BYRON_ELIMIT → HTTP 503), never unbounded memory. */
#ifndef BYRON_SIDECAR_WORKPOOL_H
#define BYRON_SIDECAR_WORKPOOL_H

#include "byron/metrics.h"
#include "byron/status.h"

typedef struct byron_workpool byron_workpool_t;
typedef void (*byron_work_fn)(void *arg);

/* The lifecycle of every thread-owning part of the sidecar (as the operator's
 * informers): _new allocates and checks, _start starts the threads, _stop
 * stops and joins them, _free releases what is left. */
byron_workpool_t *byron_workpool_new(int threads, int queue_cap, byron_metrics_t *metrics, byron_err_t *err);
/* Start the threads; EIO when not even one starts. */
byron_status_t byron_workpool_start(byron_workpool_t *p, byron_err_t *err);
/* BYRON_ELIMIT when the queue is full, BYRON_ESTATE once draining. fn runs on a worker. */
byron_status_t byron_workpool_submit(byron_workpool_t *p, byron_work_fn fn, void *arg);
/* Queued + running jobs. */
int byron_workpool_load(byron_workpool_t *p);
/* Stop taking work (submit answers BYRON_ESTATE from now on), finish
 * everything queued and running, join the threads. Idempotent. The pool stays
 * valid for submit: free it only once nothing can submit any more (after the
 * server that feeds it is freed). */
void byron_workpool_stop(byron_workpool_t *p);
/* Stops it first when it was not. */
void byron_workpool_free(byron_workpool_t *p);

#endif
