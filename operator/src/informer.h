/* informer.h — list+watch one collection into a store (client-go's reflector).
 *
 * Each informer runs one thread: list (paginated, 100 a page) → replace the
 * store → watch from the list's resourceVersion with allowWatchBookmarks and
 * a timeoutSeconds drawn from [5 min, 10 min] so a fleet of operators does
 * not reconnect in step. A watch that ends cleanly is resumed from the last
 * resourceVersion seen (bookmarks included); a broken one after a backoff of
 * 800 ms doubling to 30 s; 410 Gone (HTTP or an ERROR event) starts over with
 * a list. The handler runs on the informer thread after the store changed:
 * keep it quick (enqueue a key). */
#ifndef BYRON_INFORMER_H
#define BYRON_INFORMER_H

#include "byron/kube_client.h"
#include "byron/metrics.h"
#include "byron/status.h"
#include "store.h"

#include <json-c/json.h>

typedef enum { BYRON_EVENT_ADDED, BYRON_EVENT_MODIFIED, BYRON_EVENT_DELETED } byron_event_type_t;

/* obj is valid for the call only. */
typedef void (*byron_informer_handler_fn)(void *ud, byron_event_type_t type, json_object *obj);

typedef struct byron_informer_options {
    const char *kind;           /* for logs and metrics: "Deployment" */
    const char *path;           /* collection URL: "/apis/apps/v1/namespaces/x/deployments" */
    const char *label_selector; /* NULL: everything */
    byron_informer_handler_fn handler;
    void *ud;
    /* Optional counters with one label, kind (shared by all informers):
     * full lists done, and watches that broke and were retried. */
    byron_metric_t *m_lists, *m_watch_errors;
    /* Testing: the first watch starts at this resourceVersion, without a
     * list (so a too-old one can be forced). NULL: list first. */
    const char *initial_resource_version;
    unsigned min_watch_s, max_watch_s; /* 0: 300 and 600 */
    /* Store byron_store_slim(obj) instead of obj (the handler still sees the
     * whole object). For kinds the reconciler only checks, not reads. */
    int slim;
} byron_informer_options_t;

typedef struct byron_informer byron_informer_t;

byron_informer_t *byron_informer_new(byron_kube_client_t *c, const byron_informer_options_t *o,
                                     byron_err_t *err);
byron_status_t byron_informer_start(byron_informer_t *inf, byron_err_t *err);
/* Non-zero once the first list has been stored. */
int byron_informer_synced(byron_informer_t *inf);
/* The informer's store (owned by the informer). */
byron_store_t *byron_informer_store(byron_informer_t *inf);
/* Number of lists done (1 after the first sync, +1 per 410). */
unsigned byron_informer_lists(byron_informer_t *inf);
/* Ask the thread to stop without waiting (stop many informers in parallel). */
void byron_informer_request_stop(byron_informer_t *inf);
/* Stop the thread (aborts the watch within about a second) and join it. */
void byron_informer_stop(byron_informer_t *inf);
void byron_informer_free(byron_informer_t *inf);

#endif
