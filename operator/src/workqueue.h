/* workqueue.h — the controller work queue (client-go's semantics).
 *
 *  - de-duplication: a key added while it waits is queued once;
 *  - exclusivity: a key being processed is never handed to a second worker;
 *    an add during processing marks it dirty and it is queued again at _done;
 *  - delays: _add_after for requeue-after, _add_rate_limited for errors with
 *    per-key exponential backoff (base·2^(failures-1), capped), reset by
 *    _forget after a success.
 * Thread-safe; workers block in _get. Keys are strings ("ns/name"). */
#ifndef BYRON_WORKQUEUE_H
#define BYRON_WORKQUEUE_H

#include "byron/metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef struct byron_workqueue byron_workqueue_t;

typedef struct byron_workqueue_options {
    const char *name;         /* metrics label */
    uint64_t base_delay_ms;   /* first retry delay (0: 5 ms) */
    uint64_t max_delay_ms;    /* cap (0: 1000 s, as client-go) */
    byron_metrics_t *metrics; /* optional: workqueue_* families */
} byron_workqueue_options_t;

byron_workqueue_t *byron_workqueue_new(const byron_workqueue_options_t *o);
void byron_workqueue_free(byron_workqueue_t *q);

void byron_workqueue_add(byron_workqueue_t *q, const char *key);
void byron_workqueue_add_after(byron_workqueue_t *q, const char *key, uint64_t delay_ms);
/* Requeue after the key's backoff; returns the delay chosen. */
uint64_t byron_workqueue_add_rate_limited(byron_workqueue_t *q, const char *key);
void byron_workqueue_forget(byron_workqueue_t *q, const char *key);
unsigned byron_workqueue_requeues(byron_workqueue_t *q, const char *key);

/* Block for the next key; NULL once shut down. The caller owns the returned
 * string and must call _done(key) before freeing it. */
char *byron_workqueue_get(byron_workqueue_t *q);
void byron_workqueue_done(byron_workqueue_t *q, const char *key);

/* Wake every _get (they return NULL); later adds are ignored. */
void byron_workqueue_shutdown(byron_workqueue_t *q);
size_t byron_workqueue_len(byron_workqueue_t *q);

#endif
