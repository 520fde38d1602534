/* informer.c — one thread per informer: list, then watch, forever.
 *
 * Why a thread per informer and not one curl multi loop: the operator holds
 * six watches (a few more with --namespace); six mostly-sleeping threads cost
 * ~50 KB of touched stack each, and a blocking list+watch loop reads top to
 * bottom like the protocol it implements. A single multi loop would pay off
 * at hundreds of watches, which an operator watching its own kinds never has. */
#include "informer.h"

#include "byron/backoff.h"
#include "byron/json.h"
#include "byron/log.h"
#include "strmap.h"

/* Objects per list page. A page is parsed whole into a json-c tree (~10x its
 * text), and every informer lists at once at start-up: the page size bounds
 * the operator's peak memory, not its steady state. 100 keeps the peak of a
 * restart over ~50,000 objects near the steady-state RSS; the price is more
 * list requests at start-up (one per 100 objects). */
#define LIST_PAGE 100

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_informer {
    byron_kube_client_t *client;
    char *kind, *path, *selector, *initial_rv;
    byron_informer_handler_fn handler;
    void *ud;
    unsigned min_watch_s, max_watch_s;
    int slim;
    byron_store_t *store;
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int synced;
    atomic_uint lists;
    pthread_mutex_t mu; /* for the interruptible sleep */
    pthread_cond_t cv;
    char rv[64];
    int need_list; /* set by an ERROR 410 event */
    byron_metric_t *m_relists, *m_restarts;
    byron_backoff_t backoff;
};

byron_informer_t *byron_informer_new(byron_kube_client_t *c, const byron_informer_options_t *o,
                                     byron_err_t *err) {
    byron_informer_t *inf = calloc(1, sizeof(*inf));
    if (!inf) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    inf->client = c;
    inf->kind = strdup(o->kind);
    inf->path = strdup(o->path);
    inf->selector = o->label_selector ? strdup(o->label_selector) : NULL;
    inf->initial_rv = o->initial_resource_version ? strdup(o->initial_resource_version) : NULL;
    inf->handler = o->handler;
    inf->ud = o->ud;
    inf->min_watch_s = o->min_watch_s ? o->min_watch_s : 300;
    inf->max_watch_s = o->max_watch_s ? o->max_watch_s : 600;
    inf->slim = o->slim;
    inf->store = byron_store_new();
    pthread_mutex_init(&inf->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->cv, &ca);
    pthread_condattr_destroy(&ca);
    byron_backoff_init(&inf->backoff, 800, 30000, 0);
    inf->m_relists = o->m_lists;
    inf->m_restarts = o->m_watch_errors;
    if (!inf->kind || !inf->path || !inf->store) {
        byron_informer_free(inf);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    return inf;
}

static void sleep_ms(byron_informer_t *inf, uint64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&inf->mu);
    while (!atomic_load(&inf->stop) && pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) == 0) {
    }
    pthread_mutex_unlock(&inf->mu);
}

static void store_put(byron_informer_t *inf, const char *key, json_object *o) {
    if (!inf->slim) {
        byron_store_set(inf->store, key, o);
        return;
    }
    json_object *s = byron_store_slim(o);
    byron_store_set(inf->store, key, s);
    json_object_put(s);
}

static const char *rv_of(json_object *o) {
    json_object *md, *rv;
    if (json_object_object_get_ex(o, "metadata", &md) &&
        json_object_object_get_ex(md, "resourceVersion", &rv))
        return json_object_get_string(rv);
    return NULL;
}

static void add_selector(byron_informer_t *inf, char *buf, size_t n) {
    if (!inf->selector) return;
    char enc[512];
    byron_kube_urlencode(inf->selector, enc, sizeof(enc));
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "&labelSelector=%s", enc);
}

/* List every page and replace the store: deletions for keys that vanished,
 * ADDED/MODIFIED for the rest. O(objects). */
static byron_status_t do_list(byron_informer_t *inf, byron_err_t *err) {
    byron_strmap_t *seen = NULL;
    char cont[2048] = "", path[4096];
    byron_status_t st = BYRON_OK;
    size_t nold = 0;
    char **old = byron_store_keys(inf->store, &nold);
    /* A set of the keys listed, to find deletions afterwards. */
    seen = byron_strmap_new(NULL);
    do {
        snprintf(path, sizeof(path), "%s?limit=%d", inf->path, LIST_PAGE);
        add_selector(inf, path, sizeof(path));
        if (cont[0]) {
            size_t l = strlen(path);
            char enc[2048];
            byron_kube_urlencode(cont, enc, sizeof(enc));
            snprintf(path + l, sizeof(path) - l, "&continue=%s", enc);
        }
        json_object *list = NULL, *items = NULL, *md = NULL;
        if ((st = byron_kube_do(inf->client, "GET", path, NULL, NULL, &list, err))) goto out;
        const char *c = NULL, *rv = NULL;
        byron_json_get_array(list, "list", "items", BYRON_JSON_OPTIONAL, &items, NULL);
        if (json_object_object_get_ex(list, "metadata", &md)) {
            byron_json_get_string(md, "list.metadata", "continue", BYRON_JSON_OPTIONAL, &c, NULL);
            byron_json_get_string(md, "list.metadata", "resourceVersion", BYRON_JSON_OPTIONAL, &rv, NULL);
        }
        size_t n = items ? json_object_array_length(items) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_array_get_idx(items, i);
            char key[512];
            if (byron_store_key(o, key, sizeof(key)) != 0) continue;
            int existed = byron_store_has(inf->store, key);
            store_put(inf, key, o);
            byron_strmap_set(seen, key, (void *)1);
            if (inf->handler) inf->handler(inf->ud, existed ? BYRON_EVENT_MODIFIED : BYRON_EVENT_ADDED, o);
        }
        snprintf(cont, sizeof(cont), "%s", c && *c ? c : "");
        if (!cont[0] && rv) snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
        json_object_put(list);
    } while (cont[0] && !atomic_load(&inf->stop));
    for (size_t i = 0; i < nold; i++) {
        if (byron_strmap_has(seen, old[i])) continue;
        json_object *gone = byron_store_get(inf->store, old[i]);
        byron_store_delete(inf->store, old[i]);
        if (gone && inf->handler) inf->handler(inf->ud, BYRON_EVENT_DELETED, gone);
        json_object_put(gone);
    }
    atomic_fetch_add(&inf->lists, 1);
    if (inf->m_relists) {
        const char *v[] = {inf->kind};
        byron_metric_add(inf->m_relists, v, 1);
    }
    atomic_store(&inf->synced, 1);
    /* A list of thousands of objects is the operator's largest transient
     * allocation; hand it back to the OS rather than keep it as free heap. */
    malloc_trim(0);
out:
    for (size_t i = 0; i < nold; i++) free(old[i]);
    free(old);
    byron_strmap_free(seen);
    return st;
}

static int on_line(void *ud, char *line, size_t len) {
    byron_informer_t *inf = ud;
    json_object *ev = NULL, *obj = NULL;
    const char *type = NULL;
    if (byron_json_parse(line, len, 128, &ev, NULL) != BYRON_OK) return 1;
    if (byron_json_get_string(ev, "event", "type", BYRON_JSON_REQUIRED, &type, NULL) ||
        byron_json_get_object(ev, "event", "object", BYRON_JSON_REQUIRED, &obj, NULL)) {
        json_object_put(ev);
        return 1;
    }
    if (!strcmp(type, "ERROR")) {
        int64_t code = 0;
        byron_json_get_int(obj, "status", "code", BYRON_JSON_OPTIONAL, 0, 999, &code, NULL);
        const char *msg = "";
        byron_json_get_string(obj, "status", "message", BYRON_JSON_OPTIONAL, &msg, NULL);
        byron_log(BYRON_LOG_INFO, "watch error event", "kind", inf->kind, "message", msg, (char *)NULL);
        if (code == 410) inf->need_list = 1;
        json_object_put(ev);
        return 1; /* end this watch either way */
    }
    const char *rv = rv_of(obj);
    if (rv) snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    if (!strcmp(type, "BOOKMARK")) {
        json_object_put(ev);
        return 0;
    }
    char key[512];
    if (byron_store_key(obj, key, sizeof(key)) == 0) {
        if (!strcmp(type, "DELETED")) {
            byron_store_delete(inf->store, key);
            if (inf->handler) inf->handler(inf->ud, BYRON_EVENT_DELETED, obj);
        } else {
            store_put(inf, key, obj);
            if (inf->handler)
                inf->handler(inf->ud, !strcmp(type, "ADDED") ? BYRON_EVENT_ADDED : BYRON_EVENT_MODIFIED, obj);
        }
    }
    json_object_put(ev);
    return 0;
}

static void *run(void *arg) {
    byron_informer_t *inf = arg;
    int need_list = 1;
    if (inf->initial_rv) {
        snprintf(inf->rv, sizeof(inf->rv), "%s", inf->initial_rv);
        need_list = 0;
    }
    while (!atomic_load(&inf->stop)) {
        byron_err_t err = {0};
        if (need_list) {
            if (do_list(inf, &err) != BYRON_OK) {
                if (atomic_load(&inf->stop)) break;
                byron_log(BYRON_LOG_WARN, "list failed", "kind", inf->kind, "error", err.msg, (char *)NULL);
                sleep_ms(inf, byron_backoff_next(&inf->backoff));
                continue;
            }
            need_list = 0;
        }
        char path[4096];
        unsigned t = (unsigned)byron_backoff_uniform(&inf->backoff, inf->min_watch_s, inf->max_watch_s);
        snprintf(path, sizeof(path),
                 "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%s", inf->path, t,
                 inf->rv);
        add_selector(inf, path, sizeof(path));
        long code = 0;
        inf->need_list = 0;
        byron_status_t st =
            byron_kube_stream(inf->client, path, (long)t + 30, on_line, inf, &inf->stop, &code, &err);
        if (atomic_load(&inf->stop)) break;
        if (inf->need_list || code == 410) {
            byron_log(BYRON_LOG_INFO, "resourceVersion too old, relisting", "kind", inf->kind,
                      "resourceVersion", inf->rv, (char *)NULL);
            need_list = 1;
            continue;
        }
        if (st == BYRON_OK) {
            byron_backoff_reset(&inf->backoff);
            continue;
        }
        if (inf->m_restarts) {
            const char *v[] = {inf->kind};
            byron_metric_add(inf->m_restarts, v, 1);
        }
        uint64_t d = byron_backoff_next(&inf->backoff);
        char ds[32];
        snprintf(ds, sizeof(ds), "%llu", (unsigned long long)d);
        byron_log(BYRON_LOG_WARN, "watch failed, retrying", "kind", inf->kind, "error", err.msg, "retry_ms",
                  ds, (char *)NULL);
        sleep_ms(inf, d);
        /* A list failure after a broken watch is handled above; a watch of a
         * forced too-old RV answers 410, also handled above. */
    }
    return NULL;
}

byron_status_t byron_informer_start(byron_informer_t *inf, byron_err_t *err) {
    if (pthread_create(&inf->thread, NULL, run, inf) != 0)
        return byron_err_set(err, BYRON_ENOMEM, "informer %s: cannot start thread", inf->kind);
    inf->started = 1;
    return BYRON_OK;
}

int byron_informer_synced(byron_informer_t *inf) { return atomic_load(&inf->synced); }
byron_store_t *byron_informer_store(byron_informer_t *inf) { return inf->store; }
unsigned byron_informer_lists(byron_informer_t *inf) { return atomic_load(&inf->lists); }

void byron_informer_request_stop(byron_informer_t *inf) {
    if (!inf) return;
    atomic_store(&inf->stop, 1);
    pthread_mutex_lock(&inf->mu);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

void byron_informer_stop(byron_informer_t *inf) {
    if (!inf || !inf->started) return;
    byron_informer_request_stop(inf);
    pthread_join(inf->thread, NULL);
    inf->started = 0;
}

void byron_informer_free(byron_informer_t *inf) {
    if (!inf) return;
    byron_informer_stop(inf);
    byron_store_free(inf->store);
    pthread_cond_destroy(&inf->cv);
    pthread_mutex_destroy(&inf->mu);
    free(inf->kind);
    free(inf->path);
    free(inf->selector);
    free(inf->initial_rv);
    free(inf);
}
