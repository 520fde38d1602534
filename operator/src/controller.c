/* controller.c — the ByronComponent controller: it builds the informers and
 * the work queue, maps events to component keys, runs the workers, and holds
 * the reconcile (apply what differs, delete what is no longer wanted, write
 * status) with what the reconciler remembers of its own writes.
 *
 * One writer per store: the informers. The reconciler reads the stores and
 * keeps its own record of what it applied (content hash, the fingerprint of
 * the fields that apply owns, a write still waiting for its watch event).
 * resourceVersions are opaque: compared for equality, never ordered.
 *
 * Cost of a reconcile with nothing to do: one parse of the component and of
 * each child from the stores, a hash per desired object, no API call — the
 * annotation byron.io/applied-hash makes "changed?" a string compare, and the
 * owned-fields fingerprint (store.h) makes "drifted?" one too. Resync is the
 * queue bringing a component back every resync_s (resync_later): a reconcile
 * like any other. */
#include "controller.h"

#include "byron/base64.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "expose.h"
#include "informer.h"
#include "insights.h"
#include "natsperm.h"
#include "strmap.h"
#include "workqueue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define N_KINDS (1 + BYRON_N_OWNED_KINDS) /* index 0: ByronComponent */

struct byron_controller {
    byron_controller_options_t o;
    char **namespaces;
    size_t nns;                            /* 0: one informer per kind over all namespaces */
    byron_informer_t **informers[N_KINDS]; /* [kind][namespace] */
    size_t ninf;
    byron_workqueue_t *queue;
    pthread_t *workers;
    int nworkers, started;
    /* What the reconciler applied, per component (see "what this reconciler
     * applied" below); written by workers and, for pending, the handlers. */
    pthread_mutex_t applied_mu;
    byron_strmap_t *applied; /* component key → strmap of "Kind/ns/name" → applied_t */
    byron_metric_t *m_total, *m_errors, *m_time, *m_active, *m_lists, *m_werr;
};

static const byron_kind_t *kind_at(int i) {
    return i == 0 ? &BYRON_KIND_COMPONENT : BYRON_OWNED_KINDS[i - 1];
}

static int kind_index(const byron_kind_t *k) {
    for (int i = 0; i < N_KINDS; i++)
        if (kind_at(i) == k) return i;
    return -1;
}

static byron_store_t *store_for(byron_controller_t *c, const byron_kind_t *k, const char *ns) {
    int ki = kind_index(k);
    if (ki < 0 || !c->informers[ki]) return NULL; /* HTTPRoute without the Gateway API */
    if (!c->nns) return byron_informer_store(c->informers[ki][0]);
    for (size_t i = 0; i < c->nns; i++)
        if (!strcmp(c->namespaces[i], ns)) return byron_informer_store(c->informers[ki][i]);
    return NULL;
}

static const char *md_str(json_object *o, const char *k) {
    json_object *md, *v;
    if (!o || !json_object_object_get_ex(o, "metadata", &md) || !json_object_object_get_ex(md, k, &v))
        return NULL;
    return json_object_get_string(v);
}

static int64_t md_int(json_object *o, const char *k) {
    json_object *md, *v;
    if (!o || !json_object_object_get_ex(o, "metadata", &md) || !json_object_object_get_ex(md, k, &v))
        return 0;
    return json_object_get_int64(v);
}

/* Whether o carries an owner reference to the component with this uid. */
static int owned_by(json_object *o, const char *uid) {
    json_object *md, *refs;
    if (!uid || !o || !json_object_object_get_ex(o, "metadata", &md) ||
        !json_object_object_get_ex(md, "ownerReferences", &refs))
        return 0;
    for (size_t i = 0; i < json_object_array_length(refs); i++) {
        json_object *v;
        if (json_object_object_get_ex(json_object_array_get_idx(refs, i), "uid", &v) &&
            !strcmp(json_object_get_string(v), uid))
            return 1;
    }
    return 0;
}

/* --- what this reconciler applied (its own state; the stores are the informers') ---
 *
 * Per component, per child ("Kind/ns/name"): the content hash it applied,
 * the fingerprint of the fields that apply owns (store.h,
 * byron_store_owned_fields), and whether the write's watch event is still on
 * its way. O(children) memory per component, dropped with the component.
 *
 *   pending  set before a write, cleared by the next watch event of that
 *            object (on_owned) or by a failed write: while set, the store
 *            holds what the write replaced, and a reconcile (a requeue before
 *            the watch caught up) leaves the child alone instead of writing
 *            it again. An event of an older version that arrives after the
 *            write clears it early; the price is one repeated, no-op apply.
 *   fields   drift: someone else changed or removed a field our apply set
 *            (kubectl edit, another tool's apply) and server-side apply took
 *            it out of our set. Compared only for the hash we applied. A
 *            child first seen (operator start, leader change) is trusted
 *            when no other manager owns fields of it, and its fingerprint
 *            becomes the reference; one that others touched is applied
 *            once (a no-op unless it drifted while nobody watched). */
typedef struct applied {
    char hash[17];
    char fields[17];
    int pending;
} applied_t;

static void free_children(void *m) { byron_strmap_free(m); }

static void child_key(const byron_kind_t *k, const char *ns, const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s/%s", k->kind, ns, name);
}

/* The record of one child, made when absent and create is set (under applied_mu). */
static applied_t *applied_locked(byron_controller_t *c, const char *ckey, const char *rkey, int create) {
    byron_strmap_t *children = byron_strmap_get(c->applied, ckey);
    if (!children && create && (children = byron_strmap_new(free)) &&
        byron_strmap_set(c->applied, ckey, children) != 0) {
        byron_strmap_free(children);
        children = NULL;
    }
    applied_t *a = children ? byron_strmap_get(children, rkey) : NULL;
    if (!a && children && create && (a = calloc(1, sizeof(*a))) && byron_strmap_set(children, rkey, a) != 0) {
        free(a);
        a = NULL;
    }
    return a;
}

/* Whether our write of this child awaits its watch event. */
static int applied_pending(byron_controller_t *c, const char *ckey, const byron_kind_t *k, const char *ns,
                           const char *name) {
    char rkey[700];
    child_key(k, ns, name, rkey, sizeof(rkey));
    pthread_mutex_lock(&c->applied_mu);
    applied_t *a = applied_locked(c, ckey, rkey, 0);
    int pending = a && a->pending;
    pthread_mutex_unlock(&c->applied_mu);
    return pending;
}

/* Before a write of this child (hash: its content hash, "" for Secrets). */
static void applied_begin(byron_controller_t *c, const char *ckey, const byron_kind_t *k, const char *ns,
                          const char *name, const char *hash) {
    char rkey[700];
    child_key(k, ns, name, rkey, sizeof(rkey));
    pthread_mutex_lock(&c->applied_mu);
    applied_t *a = applied_locked(c, ckey, rkey, 1);
    if (a) {
        snprintf(a->hash, sizeof(a->hash), "%s", hash);
        a->fields[0] = '\0';
        a->pending = 1;
    }
    pthread_mutex_unlock(&c->applied_mu);
}

/* After it: ok, and answer, what the API server stored (NULL for a delete). A
 * failed write has no event to wait for. */
static void applied_end(byron_controller_t *c, const char *ckey, const byron_kind_t *k, const char *ns,
                        const char *name, int ok, json_object *answer) {
    char rkey[700];
    child_key(k, ns, name, rkey, sizeof(rkey));
    pthread_mutex_lock(&c->applied_mu);
    applied_t *a = applied_locked(c, ckey, rkey, 0);
    if (a && answer) byron_store_owned_fields(answer, a->fields);
    if (a && !ok) a->pending = 0;
    pthread_mutex_unlock(&c->applied_mu);
}

/* A watch event (or list item) of ns/name, owned by component ckey: the
 * store now holds our write or something newer. Every owned kind with that
 * name: the handler does not know the kind (list items carry none). */
static void applied_seen(byron_controller_t *c, const char *ckey, const char *ns, const char *name) {
    char rkey[700];
    pthread_mutex_lock(&c->applied_mu);
    for (int i = 0; i < BYRON_N_OWNED_KINDS; i++) {
        child_key(BYRON_OWNED_KINDS[i], ns, name, rkey, sizeof(rkey));
        applied_t *a = applied_locked(c, ckey, rkey, 0);
        if (a) a->pending = 0;
    }
    pthread_mutex_unlock(&c->applied_mu);
}

static void applied_forget(byron_controller_t *c, const char *ckey) {
    pthread_mutex_lock(&c->applied_mu);
    byron_strmap_del(c->applied, ckey);
    pthread_mutex_unlock(&c->applied_mu);
}

typedef enum { CHILD_CURRENT, CHILD_ABSENT, CHILD_CHANGED, CHILD_DRIFTED } child_state_t;

/* What a desired child o needs, given cur, its copy in the store (NULL: none). */
static child_state_t child_state(byron_controller_t *c, const char *ckey, const char *ns,
                                 const byron_desired_obj_t *o, json_object *cur) {
    char rkey[700], fields[17] = "";
    child_key(o->kind, ns, o->name, rkey, sizeof(rkey));
    json_object *ann = json_object_object_get(json_object_object_get(cur, "metadata"), "annotations");
    const char *h = json_object_get_string(json_object_object_get(ann, BYRON_ANN_APPLIED_HASH)),
               *f = json_object_get_string(json_object_object_get(cur, BYRON_STORE_OWNED_FIELDS));
    if (f) snprintf(fields, sizeof(fields), "%s", f);
    child_state_t s;
    pthread_mutex_lock(&c->applied_mu);
    applied_t *a = applied_locked(c, ckey, rkey, 0);
    int ours = a && !strcmp(a->hash, o->hash);
    if (ours && a->pending)
        s = CHILD_CURRENT; /* our write's event is on its way */
    else if (!cur)
        s = CHILD_ABSENT;
    else if (!h || strcmp(h, o->hash) != 0)
        s = CHILD_CHANGED;
    else if (ours)
        s = strcmp(a->fields, fields) ? CHILD_DRIFTED : CHILD_CURRENT;
    else if (json_object_get_boolean(json_object_object_get(cur, BYRON_STORE_OTHER_MANAGERS)))
        s = CHILD_DRIFTED; /* first sight, touched by others while nobody watched: applied once */
    else {                 /* first sight, ours alone: trusted, and the reference for drift from now on */
        if ((a = applied_locked(c, ckey, rkey, 1))) {
            snprintf(a->hash, sizeof(a->hash), "%s", o->hash);
            snprintf(a->fields, sizeof(a->fields), "%s", fields);
        }
        s = CHILD_CURRENT;
    }
    pthread_mutex_unlock(&c->applied_mu);
    return s;
}

/* --- event handlers (informer threads) ----------------------------------- */
static void on_component(void *ud, byron_event_type_t t, json_object *obj) {
    byron_controller_t *c = ud;
    /* Our own status writes come back as MODIFIED: when the status already
     * covers this generation there is nothing new to reconcile (children
     * changing reach us through their own informers). */
    if (t == BYRON_EVENT_MODIFIED && !md_str(obj, "deletionTimestamp")) {
        json_object *st, *og;
        if (json_object_object_get_ex(obj, "status", &st) &&
            json_object_object_get_ex(st, "observedGeneration", &og) &&
            json_object_get_int64(og) == md_int(obj, "generation"))
            return;
    }
    char key[512];
    if (byron_store_key(obj, key, sizeof(key)) == 0) byron_workqueue_add(c->queue, key);
}

static void on_owned(void *ud, byron_event_type_t t, json_object *obj) {
    byron_controller_t *c = ud;
    json_object *md, *refs;
    if (!json_object_object_get_ex(obj, "metadata", &md) ||
        !json_object_object_get_ex(md, "ownerReferences", &refs))
        return;
    const char *ns = md_str(obj, "namespace");
    for (size_t i = 0; i < json_object_array_length(refs); i++) {
        json_object *r = json_object_array_get_idx(refs, i), *v;
        if (!json_object_object_get_ex(r, "controller", &v) || !json_object_get_boolean(v)) continue;
        if (!json_object_object_get_ex(r, "kind", &v) ||
            strcmp(json_object_get_string(v), "ByronComponent") != 0)
            continue;
        if (!json_object_object_get_ex(r, "apiVersion", &v) ||
            strncmp(json_object_get_string(v), BYRON_GROUP "/", strlen(BYRON_GROUP) + 1) != 0)
            continue;
        json_object_object_get_ex(r, "name", &v);
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", json_object_get_string(v));
        if (ns && md_str(obj, "name")) applied_seen(c, key, ns, md_str(obj, "name"));
        byron_workqueue_add(c->queue, key);
    }
}

/* --- construction ------------------------------------------------------------ */
byron_controller_t *byron_controller_new(const byron_controller_options_t *o, byron_err_t *err) {
    byron_controller_t *c = calloc(1, sizeof(*c));
    if (!c) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->nworkers = o->workers > 0 ? o->workers : 2;
    pthread_mutex_init(&c->applied_mu, NULL);
    if (!(c->applied = byron_strmap_new(free_children))) goto oom;
    c->nns = o->namespaces ? o->nnamespaces : 0;
    c->ninf = c->nns ? c->nns : 1;
    if (c->nns) {
        c->namespaces = calloc(c->nns, sizeof(char *));
        for (size_t i = 0; i < c->nns; i++) c->namespaces[i] = strdup(o->namespaces[i]);
    }
    if (o->metrics) {
        static const char *const lr[] = {"controller", "result", NULL}, *const l[] = {"controller", NULL},
                                 *const lk[] = {"kind", NULL};
        c->m_total =
            byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "controller_runtime_reconcile_total",
                                   "Reconciles per controller and result (success, error).", lr, NULL, 0);
        c->m_errors = byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER,
                                             "controller_runtime_reconcile_errors_total",
                                             "Reconciles that returned an error.", l, NULL, 0);
        c->m_time = byron_metrics_register(o->metrics, BYRON_METRIC_HISTOGRAM,
                                           "controller_runtime_reconcile_time_seconds",
                                           "Seconds per reconcile.", l, NULL, 0);
        c->m_active =
            byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE, "controller_runtime_active_workers",
                                   "Workers reconciling right now.", l, NULL, 0);
        byron_metric_t *mx = byron_metrics_register(o->metrics, BYRON_METRIC_GAUGE,
                                                    "controller_runtime_max_concurrent_reconciles",
                                                    "Configured workers (--workers).", l, NULL, 0);
        const char *v[] = {"byroncomponent"};
        if (mx) byron_metric_set(mx, v, c->nworkers);
        c->m_lists =
            byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "byron_informer_lists_total",
                                   "Full lists per kind (first sync, then after 410 Gone).", lk, NULL, 0);
        c->m_werr =
            byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "byron_informer_watch_errors_total",
                                   "Watches that broke and were retried after a backoff.", lk, NULL, 0);
    }
    byron_workqueue_options_t qo = {
        .name = "byroncomponent", .base_delay_ms = 100, .max_delay_ms = 300000, .metrics = o->metrics};
    if (!(c->queue = byron_workqueue_new(&qo))) goto oom;
    for (int k = 0; k < N_KINDS; k++) {
        /* HTTPRoutes only where the cluster serves them: a watch of a kind the
         * API server does not know fails, and would keep the operator unsynced. */
        if (kind_at(k) == &BYRON_KIND_HTTPROUTE && !o->desired.gateway_api) continue;
        if (!(c->informers[k] = calloc(c->ninf, sizeof(byron_informer_t *)))) goto oom;
        for (size_t i = 0; i < c->ninf; i++) {
            char path[512];
            byron_kind_path(kind_at(k), c->nns ? c->namespaces[i] : NULL, NULL, path, sizeof(path));
            byron_informer_options_t io = {
                .kind = kind_at(k)->kind,
                .path = path,
                .label_selector = k == 0 ? NULL : BYRON_MANAGED_BY_SELECTOR,
                .handler = k == 0 ? on_component : on_owned,
                .ud = c,
                .m_lists = c->m_lists,
                .m_watch_errors = c->m_werr,
                .min_watch_s = o->min_watch_s,
                .max_watch_s = o->max_watch_s,
                .slim = k != 0,
            };
            if (!(c->informers[k][i] = byron_informer_new(o->client, &io, err))) goto fail;
        }
    }
    return c;
oom:
    byron_err_set(err, BYRON_ENOMEM, "out of memory");
fail:
    byron_controller_free(c);
    return NULL;
}

/* --- status ------------------------------------------------------------------- */
typedef struct part_status {
    int64_t ready, desired;
    int present;
} part_status_t;

static part_status_t workload_status(json_object *o, int64_t fallback_desired) {
    part_status_t p = {0, fallback_desired, o != NULL};
    json_object *spec, *st, *v;
    if (o && json_object_object_get_ex(o, "spec", &spec) && json_object_object_get_ex(spec, "replicas", &v))
        p.desired = json_object_get_int64(v);
    if (o && json_object_object_get_ex(o, "status", &st) &&
        json_object_object_get_ex(st, "readyReplicas", &v))
        p.ready = json_object_get_int64(v);
    return p;
}

static json_object *find_condition(json_object *status, const char *type) {
    json_object *conds;
    if (!status || !json_object_object_get_ex(status, "conditions", &conds)) return NULL;
    for (size_t i = 0; i < json_object_array_length(conds); i++) {
        json_object *cd = json_object_array_get_idx(conds, i), *t;
        if (json_object_object_get_ex(cd, "type", &t) && !strcmp(json_object_get_string(t), type)) return cd;
    }
    return NULL;
}

/* status: 1 True, 0 False, -1 Unknown. */
static json_object *condition(json_object *old_status, const char *type, int status, const char *reason,
                              const char *msg, int64_t gen, const char *now) {
    json_object *cd = json_object_new_object(), *old = find_condition(old_status, type), *v;
    const char *s = status > 0 ? "True" : status == 0 ? "False" : "Unknown", *ltt = now;
    if (old && json_object_object_get_ex(old, "status", &v) && !strcmp(json_object_get_string(v), s) &&
        json_object_object_get_ex(old, "lastTransitionTime", &v))
        ltt = json_object_get_string(v);
    json_object_object_add(cd, "type", json_object_new_string(type));
    json_object_object_add(cd, "status", json_object_new_string(s));
    json_object_object_add(cd, "reason", json_object_new_string(reason));
    json_object_object_add(cd, "message", json_object_new_string(msg));
    json_object_object_add(cd, "lastTransitionTime", json_object_new_string(ltt));
    json_object_object_add(cd, "observedGeneration", json_object_new_int64(gen));
    return cd;
}

static json_object *part_json(part_status_t p) {
    json_object *o = json_object_new_object();
    char s[64];
    snprintf(s, sizeof(s), "%lld/%lld", (long long)p.ready, (long long)p.desired);
    json_object_object_add(o, "readyReplicas", json_object_new_int64(p.ready));
    json_object_object_add(o, "replicas", json_object_new_int64(p.desired));
    json_object_object_add(o, "ready", json_object_new_string(s));
    return o;
}

/* status.schema: the schema hash and the schemaGeneration the desired
 * component.json carries — what the next reconcile derives it from
 * (desired.c, schema_generation). Without one (the spec is invalid), the
 * recorded one stays: a merge patch would keep it anyway, the copy keeps the
 * "status differs?" test true to what the server holds. */
static void status_schema(json_object *st, json_object *old_status, const byron_desired_t *d) {
    json_object *sch;
    if (!d) {
        if (old_status && json_object_object_get_ex(old_status, "schema", &sch))
            json_object_object_add(st, "schema", json_object_get(sch));
        return;
    }
    sch = json_object_new_object();
    json_object_object_add(sch, "hash", json_object_new_string(d->schema_hash));
    json_object_object_add(sch, "generation", json_object_new_int64(d->schema_generation));
    json_object_object_add(st, "schema", sch);
}

/* What the stores say about a component's workloads, and the message that
 * sums them up. */
typedef struct workloads {
    part_status_t api, sink, cache;
    int external, cache_ready, ready;
    char msg[600];
} workloads_t;

static int64_t spec_replicas(json_object *bc, const char *part_name) {
    json_object *spec, *part, *v;
    if (json_object_object_get_ex(bc, "spec", &spec) && json_object_object_get_ex(spec, part_name, &part) &&
        json_object_object_get_ex(part, "replicas", &v))
        return json_object_get_int64(v);
    return 1;
}

/* The child ns/<name><suffix> of kind k from its store (caller puts; NULL when absent). */
static json_object *child_from_store(byron_controller_t *c, const byron_kind_t *k, const char *ns,
                                     const char *name, const char *suffix) {
    char key[600];
    snprintf(key, sizeof(key), "%s/%s%s", ns, name, suffix);
    byron_store_t *s = store_for(c, k, ns);
    return s ? byron_store_get(s, key) : NULL;
}

static void read_workloads(byron_controller_t *c, json_object *bc, const byron_desired_t *d, int failed,
                           workloads_t *w) {
    const char *ns = md_str(bc, "namespace"), *name = md_str(bc, "name");
    json_object *api = child_from_store(c, &BYRON_KIND_DEPLOYMENT, ns, name, "-api"),
                *sink = child_from_store(c, &BYRON_KIND_DEPLOYMENT, ns, name, "-sink");
    w->external = d && d->cache_external;
    json_object *cache =
        w->external ? NULL : child_from_store(c, &BYRON_KIND_STATEFULSET, ns, name, "-cache");
    w->api = workload_status(api, spec_replicas(bc, "api"));
    w->sink = workload_status(sink, spec_replicas(bc, "sink"));
    w->cache = workload_status(cache, 1);
    json_object_put(api);
    json_object_put(sink);
    json_object_put(cache);
    w->cache_ready = w->external || (w->cache.present && w->cache.ready >= 1);
    w->ready = !failed && w->api.present && w->sink.present && w->api.ready >= w->api.desired &&
               w->sink.ready >= w->sink.desired && w->cache_ready;
    snprintf(w->msg, sizeof(w->msg), "%sapi %lld/%lld, sink %lld/%lld, cache %s",
             w->ready ? "" : "waiting: ", (long long)w->api.ready, (long long)w->api.desired,
             (long long)w->sink.ready, (long long)w->sink.desired,
             w->external      ? "external"
             : w->cache_ready ? "ready"
                              : "not ready");
}

/* Ready, Progressing and Degraded. Not ready because of the spec or an apply
 * failure: Ready says why. */
static void add_rollout_conditions(json_object *conds, json_object *old_status, const workloads_t *w,
                                   const char *fail_reason, const char *fail_msg, int64_t gen,
                                   const char *now) {
    int ready = w->ready;
    json_object_array_add(conds, condition(old_status, "Ready", ready,
                                           ready         ? BYRON_REASON_READY
                                           : fail_reason ? fail_reason
                                                         : BYRON_REASON_NOT_READY,
                                           fail_reason ? fail_msg : w->msg, gen, now));
    json_object_array_add(conds, condition(old_status, "Progressing", !ready && !fail_reason,
                                           fail_reason ? BYRON_REASON_BLOCKED
                                           : ready     ? BYRON_REASON_COMPLETE
                                                       : BYRON_REASON_ROLLING,
                                           ready         ? "all parts are ready"
                                           : fail_reason ? "blocked by an error"
                                                         : w->msg,
                                           gen, now));
    json_object_array_add(conds, condition(old_status, "Degraded", fail_reason != NULL,
                                           fail_reason ? fail_reason : BYRON_REASON_RECONCILED,
                                           fail_reason ? fail_msg : "all objects applied", gen, now));
}

/* Exposed: what the route's controller says about it. */
static void add_exposed_condition(byron_controller_t *c, json_object *conds, json_object *bc,
                                  json_object *old_status, const byron_desired_t *d, int64_t gen,
                                  const char *now) {
    json_object *route =
        child_from_store(c, d->expose_kind, md_str(bc, "namespace"), md_str(bc, "name"), "-api");
    byron_expose_condition_t ec;
    byron_expose_condition(d->expose_kind, bc, route, &ec);
    json_object_put(route);
    json_object_array_add(conds,
                          condition(old_status, "Exposed", ec.status, ec.reason, ec.message, gen, now));
}

/* status.stream, .deadLetters and .sink.lag: from the broker's reading, else
 * the last figures stay until a reading replaces them. */
static void status_figures(json_object *st, json_object *old_status, const byron_broker_insights_t *ins) {
    if (ins && ins->measured) {
        byron_insights_status(st, ins);
        return;
    }
    if (!old_status) return;
    static const char *const KEEP[] = {"stream", "deadLetters"};
    json_object *v;
    for (size_t i = 0; i < 2; i++)
        if (json_object_object_get_ex(old_status, KEEP[i], &v))
            json_object_object_add(st, KEEP[i], json_object_get(v));
    json_object *olds = json_object_object_get(old_status, "sink"),
                *lag = json_object_object_get(olds, "lag");
    if (lag) json_object_object_add(json_object_object_get(st, "sink"), "lag", json_object_get(lag));
}

static json_object *cache_json(const workloads_t *w) {
    json_object *cs = json_object_new_object();
    json_object_object_add(cs, "ready", json_object_new_boolean(w->cache_ready));
    json_object_object_add(cs, "external", json_object_new_boolean(w->external));
    json_object_object_add(cs, "state",
                           json_object_new_string(w->external      ? "External"
                                                  : w->cache_ready ? "Ready"
                                                                   : "NotReady"));
    return cs;
}

/* The status the component should have (caller puts). */
static json_object *build_status(byron_controller_t *c, json_object *bc, const byron_desired_t *d,
                                 const workloads_t *w, const char *fail_reason, const char *fail_msg) {
    const char *ns = md_str(bc, "namespace"), *name = md_str(bc, "name");
    int64_t gen = md_int(bc, "generation");
    char now[40], ep[700];
    byron_kube_time_now(now, sizeof(now), 0);
    json_object *old_status = json_object_object_get(bc, "status");
    json_object *st = json_object_new_object(), *conds = json_object_new_array();
    json_object_object_add(st, "observedGeneration", json_object_new_int64(gen));
    add_rollout_conditions(conds, old_status, w, fail_reason, fail_msg, gen, now);
    byron_broker_insights_t ins;
    int measured = c->o.insights && c->o.broker && byron_broker_insights(c->o.broker, ns, name, &ins);
    if (c->o.insights && c->o.broker) { /* Lagging, DeadLetters: from the broker's last reading */
        byron_insight_condition_t ic[2];
        byron_insights_conditions(measured ? &ins : NULL, c->o.insights, name, ic);
        for (int i = 0; i < 2; i++)
            json_object_array_add(conds, condition(old_status, ic[i].type, ic[i].status, ic[i].reason,
                                                   ic[i].message, gen, now));
    }
    if (d && d->expose_kind) add_exposed_condition(c, conds, bc, old_status, d, gen, now);
    json_object_object_add(st, "conditions", conds);
    json_object_object_add(st, "api", part_json(w->api));
    json_object_object_add(st, "sink", part_json(w->sink));
    status_figures(st, old_status, measured ? &ins : NULL);
    const char *token = NULL;
    int64_t cache_gen = byron_desired_cache_generation(bc, &token);
    byron_insights_rebuild(st, old_status, cache_gen, token, measured ? &ins : NULL);
    json_object_object_add(st, "cache", cache_json(w));
    snprintf(ep, sizeof(ep), "http://%s-api.%s.svc/graphql", name, ns);
    json_object_object_add(st, "graphqlEndpoint", json_object_new_string(ep));
    status_schema(st, old_status, d);
    return st;
}

/* Compute status from the stores; patch it when it differs. failure: NULL
 * when the reconcile went well, else (reason, message) for Degraded. d: what
 * this reconcile built, or NULL when the spec is invalid. */
static byron_status_t write_status(byron_controller_t *c, json_object *bc, const byron_desired_t *d,
                                   const char *fail_reason, const char *fail_msg, byron_err_t *err) {
    workloads_t w;
    read_workloads(c, bc, d, fail_reason != NULL, &w);
    json_object *old_status = json_object_object_get(bc, "status");
    json_object *st = build_status(c, bc, d, &w, fail_reason, fail_msg);
    if (old_status && json_object_equal(old_status, st)) {
        json_object_put(st);
        return BYRON_OK;
    }
    json_object *patch = json_object_new_object();
    json_object_object_add(patch, "status", st);
    char path[700];
    byron_kind_path(&BYRON_KIND_COMPONENT, md_str(bc, "namespace"), md_str(bc, "name"), path, sizeof(path));
    strcat(path, "/status");
    byron_status_t rc =
        byron_kube_do(c->o.client, "PATCH", path, "application/merge-patch+json", patch, NULL, err);
    json_object_put(patch);
    if (rc == BYRON_ENOTFOUND) return BYRON_OK; /* deleted meanwhile */
    if (rc == BYRON_OK && c->o.recorder && w.ready) {
        json_object *oldready = find_condition(old_status, "Ready"), *v;
        const char *was =
            oldready && json_object_object_get_ex(oldready, "status", &v) ? json_object_get_string(v) : "";
        if (strcmp(was, "True") != 0)
            byron_recorder_event(c->o.recorder, bc, "Normal", BYRON_REASON_READY, "%s", w.msg);
    }
    return rc;
}

/* --- objects we must not adopt ------------------------------------------------- */

/* Objects with a child's name that are not ours, gathered by one reconcile. */
typedef struct foreign {
    int n;
    char msg[BYRON_ERR_MSG_MAX];
} foreign_t;

static void foreign_add(foreign_t *f, const byron_kind_t *k, const char *ns, const char *name) {
    if (f->n++ == 0)
        snprintf(f->msg, sizeof(f->msg),
                 "%s %s/%s exists and is not owned by this ByronComponent: left untouched; delete or "
                 "rename it",
                 k->kind, ns, name);
    else if (f->n == 2 && strlen(f->msg) + 40 < sizeof(f->msg))
        strcat(f->msg, " (and other objects, see the events)");
}

/* Whether a child we are about to write is someone else's: an object with
 * its name that carries no owner reference to this component (made by hand,
 * by another tool or by another component). Server-side apply with force would
 * take such an object over, and deleting the component would then have the
 * garbage collector delete it: so it is never written. The stores only hold
 * objects with our managed-by label; a name absent from them costs one GET
 * (a new component's first reconcile), which also sees unlabelled objects.
 * Returns 1 when foreign, 0 when ours or absent, -1 (err set) when the GET
 * failed. A window remains between that GET and the create; closing it needs
 * a create-only apply, which server-side apply does not have. */
static int is_foreign(byron_controller_t *c, json_object *cur, const char *uid, const byron_kind_t *k,
                      const char *ns, const char *name, byron_err_t *err) {
    if (cur) return !owned_by(cur, uid);
    char path[800];
    byron_kind_path(k, ns, name, path, sizeof(path));
    json_object *live = NULL;
    byron_status_t st = byron_kube_do(c->o.client, "GET", path, NULL, NULL, &live, err);
    if (st == BYRON_ENOTFOUND) return 0;
    if (st) return -1;
    int f = !owned_by(live, uid);
    json_object_put(live);
    return f;
}

/* --- the credentials Secret ---------------------------------------------------- */

/* Server-side apply of a Secret of ours (sec, taken), a child of component ckey. */
static byron_status_t apply_secret(byron_controller_t *c, const char *ckey, json_object *sec,
                                   byron_err_t *err) {
    char path[700];
    json_object *md = json_object_object_get(sec, "metadata"), *out = NULL;
    const char *ns = json_object_get_string(json_object_object_get(md, "namespace")),
               *name = json_object_get_string(json_object_object_get(md, "name"));
    byron_kind_path(&BYRON_KIND_SECRET, ns, name, path, sizeof(path));
    applied_begin(c, ckey, &BYRON_KIND_SECRET, ns, name, "");
    byron_status_t st = byron_kube_apply(c->o.client, path, sec, &out, err);
    applied_end(c, ckey, &BYRON_KIND_SECRET, ns, name, st == BYRON_OK, out);
    json_object_put(sec);
    json_object_put(out);
    return st;
}

static byron_status_t random_password(char out[49], byron_err_t *err) {
    unsigned char rnd[24];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return byron_err_set(err, BYRON_EIO, "getrandom failed");
    for (int i = 0; i < 24; i++) snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    return BYRON_OK;
}

/* A password for user: derived from the release's key (the same every time:
 * a lost Secret comes back as it was), else random (made once, never again). */
static byron_status_t cache_password(byron_controller_t *c, json_object *bc, const char *user, char out[49],
                                     byron_err_t *err) {
    if (!c->o.desired.cache_key) return random_password(out, err);
    byron_desired_cache_password(c->o.desired.cache_key, c->o.desired.cache_key_len, bc, user, out);
    return BYRON_OK;
}

/* The passwords an existing Secret holds (the running cache uses them): root,
 * and with users the api's and the sink's. */
static byron_status_t live_passwords(byron_controller_t *c, const char *ns, const char *sname, int users,
                                     byron_cache_passwords_t *pw, byron_err_t *err) {
    char path[700];
    byron_kind_path(&BYRON_KIND_SECRET, ns, sname, path, sizeof(path));
    json_object *live = NULL, *data = NULL, *v;
    byron_status_t st = byron_kube_do(c->o.client, "GET", path, NULL, NULL, &live, err);
    if (st) return st;
    json_object_object_get_ex(live, "data", &data);
    const char *keys[] = {"password", "api-password", "sink-password"};
    char *outs[] = {pw->root, pw->api, pw->sink};
    for (int i = 0; i < (users ? 3 : 1) && !st; i++) {
        char *dec = NULL;
        size_t len = 0;
        const char *b64 = json_object_object_get_ex(data, keys[i], &v) ? json_object_get_string(v) : "";
        if (byron_base64_decode(b64, strlen(b64), &dec, &len) || len == 0 || len > 48)
            st = byron_err_set(err, BYRON_EPROTO, "Secret %s/%s: no readable %s", ns, sname, keys[i]);
        else
            snprintf(outs[i], 49, "%s", dec);
        free(dec);
    }
    json_object_put(live);
    return st;
}

/* Whether the cache's volume (data-<c>-cache-0) exists. */
static int cache_volume_exists(byron_controller_t *c, json_object *bc, char *pvc, size_t n,
                               byron_err_t *err) {
    char path[700], sts[300];
    byron_desired_name(bc, "-cache", sts, sizeof(sts));
    snprintf(pvc, n, "data-%s-0", sts);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/persistentvolumeclaims/%s", md_str(bc, "namespace"),
             pvc);
    json_object *o = NULL;
    byron_status_t st = byron_kube_do(c->o.client, "GET", path, NULL, NULL, &o, err);
    json_object_put(o);
    return st == BYRON_OK ? 1 : st == BYRON_ENOTFOUND ? 0 : -1;
}

/* A Secret of ours whose URIs must be brought up to date — users added (a
 * Secret from before them), TLS turned on or off — with the passwords it
 * holds. */
static byron_status_t update_secret_uris(byron_controller_t *c, const char *ckey, json_object *bc,
                                         const char *sname, int has_users, byron_err_t *err) {
    const char *ns = md_str(bc, "namespace");
    int users = c->o.desired.cache_users;
    byron_cache_passwords_t pw;
    byron_status_t st;
    if ((st = live_passwords(c, ns, sname, has_users, &pw, err)) ||
        (!has_users && ((st = cache_password(c, bc, "byron-api", pw.api, err)) ||
                        (st = cache_password(c, bc, "byron-sink", pw.sink, err)))))
        return st;
    st = apply_secret(c, ckey,
                      byron_desired_secret(bc, &pw, users || has_users, c->o.desired.cache_uri_options), err);
    if (st) return st;
    byron_log(BYRON_LOG_INFO, "cache credentials brought up to date", "namespace", ns, "name",
              md_str(bc, "name"), "users", users || has_users ? "yes" : "no", "tls",
              byron_desired_cache_tls(bc) ? "yes" : "no", (char *)NULL);
    return BYRON_OK;
}

/* A new credentials Secret. Not in the (synced) store: almost surely absent.
 * Create it; a 409 means it exists after all: the store lagged (ours, keep
 * it) or someone else's (reported, never used). This saves the GET every new
 * component would otherwise cost. Never re-applied afterwards: a reconcile
 * never rotates a password the running cache uses. */
static byron_status_t create_secret(byron_controller_t *c, const char *ckey, json_object *bc,
                                    const char *sname, foreign_t *foreign, byron_err_t *err) {
    const char *ns = md_str(bc, "namespace");
    char path[700];
    byron_cache_passwords_t pw;
    byron_status_t st;
    if ((st = cache_password(c, bc, "byron", pw.root, err)) ||
        (st = cache_password(c, bc, "byron-api", pw.api, err)) ||
        (st = cache_password(c, bc, "byron-sink", pw.sink, err)))
        return st;
    json_object *sec =
                    byron_desired_secret(bc, &pw, c->o.desired.cache_users, c->o.desired.cache_uri_options),
                *created = NULL;
    byron_kind_path(&BYRON_KIND_SECRET, ns, NULL, path, sizeof(path));
    applied_begin(c, ckey, &BYRON_KIND_SECRET, ns, sname, "");
    st = byron_kube_do(c->o.client, "POST", path, "application/json", sec, &created, err);
    applied_end(c, ckey, &BYRON_KIND_SECRET, ns, sname, st == BYRON_OK, created);
    json_object_put(sec);
    json_object_put(created);
    if (st == BYRON_ECONFLICT) {
        byron_err_clear(err);
        int f = is_foreign(c, NULL, md_str(bc, "uid"), &BYRON_KIND_SECRET, ns, sname, err);
        if (f < 0) return err->code;
        if (f) foreign_add(foreign, &BYRON_KIND_SECRET, ns, sname);
        return BYRON_OK;
    }
    if (st) return st;
    byron_log(BYRON_LOG_INFO, "created cache credentials", "namespace", ns, "name", md_str(bc, "name"),
              "derived", c->o.desired.cache_key ? "yes" : "no", (char *)NULL);
    return BYRON_OK;
}

/* The cache credentials: root (the cache's bootstrap) and, with cache users,
 * the api's read-only and the sink's readWrite user. Never re-generated while
 * the cache's volume holds data protected by them:
 *   - with --cache-key-secret the passwords derive from the release's key, so
 *     a deleted Secret is made again exactly as it was;
 *   - without, a Secret that is gone while the volume exists is reported
 *     (*lost: what to do) and not replaced.
 * A Secret from an operator without cache users gets them added, and one whose
 * URIs differ in TLS from spec.cache.tls gets new URIs; both keep its passwords. */
static byron_status_t ensure_secret(byron_controller_t *c, const char *ckey, json_object *bc,
                                    foreign_t *foreign, char *lost, size_t lostcap, byron_err_t *err) {
    const char *ns = md_str(bc, "namespace");
    char sname[300], key[600];
    byron_desired_name(bc, "-cache-credentials", sname, sizeof(sname));
    if (applied_pending(c, ckey, &BYRON_KIND_SECRET, ns, sname))
        return BYRON_OK; /* our write is on its way */
    snprintf(key, sizeof(key), "%s/%s", ns, sname);
    json_object *cur = byron_store_get(store_for(c, &BYRON_KIND_SECRET, ns), key), *v;
    if (cur) {
        int ours = owned_by(cur, md_str(bc, "uid"));
        json_object *ann = json_object_object_get(json_object_object_get(cur, "metadata"), "annotations");
        int has_users = json_object_object_get_ex(ann, BYRON_ANN_CACHE_USERS, &v),
            has_tls = json_object_object_get_ex(ann, BYRON_ANN_CACHE_TLS, &v);
        json_object_put(cur);
        if (!ours) {
            foreign_add(foreign, &BYRON_KIND_SECRET, ns, sname);
            return BYRON_OK;
        }
        if ((!c->o.desired.cache_users || has_users) && (byron_desired_cache_tls(bc) != NULL) == has_tls)
            return BYRON_OK;
        return update_secret_uris(c, ckey, bc, sname, has_users, err);
    }
    if (!c->o.desired.cache_key) {
        char pvc[400];
        int vol = cache_volume_exists(c, bc, pvc, sizeof(pvc), err);
        if (vol < 0) return err->code;
        if (vol) {
            /* cut, never overflowed: the start says what happened */
            if (snprintf(lost, lostcap,
                         "Secret %s is gone and the cache's volume %s holds data protected by its password, "
                         "which only that Secret had: restore the Secret from a backup, or delete the "
                         "PersistentVolumeClaim %s to start the cache empty (the sink projects it again from "
                         "the event log). No new password is made while the volume exists (the operator's "
                         "--cache-key-secret makes lost Secrets come back)",
                         sname, pvc, pvc) >= (int)lostcap)
                lost[lostcap - 1] = '\0';
            return BYRON_OK;
        }
    }
    return create_secret(c, ckey, bc, sname, foreign, err);
}

/* --- NATS credentials ----------------------------------------------------------- */

/* The permissions of the component's two NATS users (natsperm.h). */
/* The components bc subscribes to (pointing into bc; *refs: caller frees). */
static byron_status_t subscription_refs(json_object *bc, byron_natsperm_ref_t **refs, size_t *n,
                                        byron_err_t *err) {
    const char *ns = md_str(bc, "namespace");
    json_object *spec = json_object_object_get(bc, "spec"), *subs = NULL;
    *refs = NULL;
    *n = 0;
    byron_status_t st = byron_json_get_array(spec, "spec", "subscriptions", BYRON_JSON_OPTIONAL, &subs, err);
    if (st) return st;
    size_t count = subs ? json_object_array_length(subs) : 0;
    if (!(*refs = calloc(count + 1, sizeof **refs))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < count && !st; i++) {
        char path[64];
        snprintf(path, sizeof(path), "spec.subscriptions[%zu]", i);
        json_object *sub = json_object_array_get_idx(subs, i);
        (*refs)[i].namespace_ = ns;
        if ((st = byron_json_get_string(sub, path, "component", BYRON_JSON_REQUIRED, &(*refs)[i].component,
                                        err)))
            break;
        st = byron_json_get_string(sub, path, "namespace", BYRON_JSON_OPTIONAL, &(*refs)[i].namespace_, err);
    }
    if (st) {
        free(*refs);
        *refs = NULL;
    } else {
        *n = count;
    }
    return st;
}

static byron_status_t nats_permissions(json_object *bc, json_object **api, json_object **sink,
                                       byron_err_t *err) {
    const char *ns = md_str(bc, "namespace"), *name = md_str(bc, "name");
    byron_natsperm_ref_t *refs = NULL;
    size_t n = 0;
    byron_status_t st = subscription_refs(bc, &refs, &n, err);
    if (!st) {
        *api = byron_natsperm_api(ns, name);
        *sink = byron_natsperm_sink(ns, name, refs, n);
        if (!*api || !*sink) {
            json_object_put(*api);
            json_object_put(*sink);
            st = byron_err_set(err, BYRON_EINVAL, "metadata.name: too long for NATS subjects");
        }
    }
    free(refs);
    return st;
}

/* Mint the component's NATS users into <c>-nats-credentials when the Secret
 * is missing, was minted for other permissions (subscriptions changed) or
 * reaches half of its lifetime. *renew_in_s: seconds until the next renewal
 * (the caller requeues then). A renewed Secret reaches running pods through
 * their Secret volume; cnats reads the file at every reconnect, and the server
 * disconnects a user whose JWT expired, so a pod moves to the new user within
 * one lifetime without a restart. */
static byron_status_t ensure_nats_credentials(byron_controller_t *c, const char *ckey, json_object *bc,
                                              foreign_t *foreign, int64_t *renew_in_s, byron_err_t *err) {
    const char *ns = md_str(bc, "namespace"), *name = md_str(bc, "name"), *uid = md_str(bc, "uid");
    char sname[300], key[600], hash[32];
    byron_desired_name(bc, "-nats-credentials", sname, sizeof(sname));
    if (applied_pending(c, ckey, &BYRON_KIND_SECRET, ns, sname))
        return BYRON_OK; /* our write is on its way */
    json_object *api = NULL, *sink = NULL;
    byron_status_t st = nats_permissions(bc, &api, &sink, err);
    if (st) return st;
    const char *pa = byron_json_compact(api), *ps = byron_json_compact(sink);
    size_t blen = strlen(c->o.nats_identity->account) + strlen(pa) + strlen(ps) + 3;
    char *both = malloc(blen);
    if (!both) {
        json_object_put(api);
        json_object_put(sink);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    snprintf(both, blen, "%s|%s|%s", c->o.nats_identity->account, pa, ps);
    snprintf(hash, sizeof(hash), "%016llx", byron_fnv1a64(both, strlen(both)));
    free(both);
    snprintf(key, sizeof(key), "%s/%s", ns, sname);
    json_object *cur = byron_store_get(store_for(c, &BYRON_KIND_SECRET, ns), key), *md, *ann, *v;
    int64_t now = (int64_t)time(NULL),
            ttl = c->o.nats_credentials_ttl_s ? c->o.nats_credentials_ttl_s : 86400;
    int f = is_foreign(c, cur, uid, &BYRON_KIND_SECRET, ns, sname, err);
    if (f) {
        json_object_put(cur);
        json_object_put(api);
        json_object_put(sink);
        if (f < 0) return err->code;
        foreign_add(foreign, &BYRON_KIND_SECRET, ns, sname);
        return BYRON_OK;
    }
    if (cur && json_object_object_get_ex(cur, "metadata", &md) &&
        json_object_object_get_ex(md, "annotations", &ann) &&
        json_object_object_get_ex(ann, BYRON_ANN_NATS_PERMISSIONS, &v) &&
        !strcmp(json_object_get_string(v), hash) &&
        json_object_object_get_ex(ann, BYRON_ANN_NATS_RENEW_AT, &v)) {
        int64_t renew_at = strtoll(json_object_get_string(v), NULL, 10);
        if (renew_at > now && renew_at - now <= ttl) { /* current (and not from a clock far ahead) */
            *renew_in_s = renew_at - now;
            json_object_put(cur);
            json_object_put(api);
            json_object_put(sink);
            return BYRON_OK;
        }
    }
    json_object_put(cur);
    char uname[600];
    snprintf(uname, sizeof(uname), "%s/%s/api", ns, name);
    char *api_creds = byron_natsidentity_mint(c->o.nats_identity, uname, api, now, now + ttl, err);
    snprintf(uname, sizeof(uname), "%s/%s/sink", ns, name);
    char *sink_creds =
        api_creds ? byron_natsidentity_mint(c->o.nats_identity, uname, sink, now, now + ttl, err) : NULL;
    json_object_put(api);
    json_object_put(sink);
    if (!sink_creds) {
        free(api_creds);
        return err->code;
    }
    json_object *sec = byron_desired_nats_secret(bc, api_creds, sink_creds, hash, now + ttl / 2);
    free(api_creds);
    free(sink_creds);
    if ((st = apply_secret(c, ckey, sec, err))) return st;
    *renew_in_s = ttl / 2;
    byron_log(BYRON_LOG_INFO, "NATS credentials minted", "namespace", ns, "name", name, (char *)NULL);
    return BYRON_OK;
}

/* Delete a child that is no longer desired, if it exists and is ours. */
static byron_status_t delete_owned(byron_controller_t *c, const char *ckey, json_object *bc,
                                   const byron_kind_t *k, const char *suffix, int *deleted,
                                   byron_err_t *err) {
    const char *ns = md_str(bc, "namespace"), *uid = md_str(bc, "uid");
    char name[300], key[600], path[800];
    byron_desired_name(bc, suffix, name, sizeof(name));
    if (applied_pending(c, ckey, k, ns, name)) return BYRON_OK; /* our delete's event is on its way */
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    byron_store_t *store = store_for(c, k, ns);
    json_object *cur = store ? byron_store_get(store, key) : NULL;
    if (!cur) return BYRON_OK;
    int ours = owned_by(cur, uid);
    json_object_put(cur);
    if (!ours) return BYRON_OK;
    byron_kind_path(k, ns, name, path, sizeof(path));
    strcat(path, "?propagationPolicy=Background");
    applied_begin(c, ckey, k, ns, name, "");
    byron_status_t st = byron_kube_do(c->o.client, "DELETE", path, NULL, NULL, NULL, err);
    applied_end(c, ckey, k, ns, name, st == BYRON_OK, NULL); /* 404: gone, no event to wait for */
    if (st == BYRON_ENOTFOUND) st = BYRON_OK;
    if (st == BYRON_OK) {
        (*deleted)++;
        byron_log(BYRON_LOG_INFO, "deleted unwanted object", "namespace", ns, "kind", k->kind, "name", name,
                  (char *)NULL);
    }
    return st;
}

/* --- reconcile ------------------------------------------------------------------ */

/* One reconcile of one component: what it read, what it did, what failed. */
typedef struct reconcile {
    byron_controller_t *c;
    const char *key; /* "ns/name" */
    const char *ns;
    json_object *bc;
    byron_desired_t d;
    foreign_t foreign;
    int applied, deleted;
    int64_t renew_in_s;
    char lost[BYRON_ERR_MSG_MAX];      /* the cache Secret is gone for good: what to do */
    char first_err[BYRON_ERR_MSG_MAX]; /* the failure Degraded reports */
} reconcile_t;

static byron_status_t failed(reconcile_t *r, byron_status_t st, const byron_err_t *err) {
    if (st) snprintf(r->first_err, sizeof(r->first_err), "%s", err->msg);
    return st;
}

/* Server-side apply of child o when it is absent, changed or drifted. */
static byron_status_t apply_child(reconcile_t *r, const byron_desired_obj_t *o, byron_err_t *err) {
    byron_controller_t *c = r->c;
    char okey[600], path[800];
    snprintf(okey, sizeof(okey), "%s/%s", r->ns, o->name);
    json_object *cur = byron_store_get(store_for(c, o->kind, r->ns), okey);
    child_state_t s = child_state(c, r->key, r->ns, o, cur);
    /* Current and not in the store: our write's event is on its way, and what
     * we wrote is ours (no GET to find out). */
    int f = s == CHILD_CURRENT && !cur
                ? 0
                : is_foreign(c, cur, md_str(r->bc, "uid"), o->kind, r->ns, o->name, err);
    if (f) {
        json_object_put(cur);
        if (f < 0) return err->code;
        foreign_add(&r->foreign, o->kind, r->ns, o->name);
        byron_recorder_event(c->o.recorder, r->bc, "Warning", BYRON_REASON_NOT_OWNED,
                             "%s %s exists and is not owned by this ByronComponent: left untouched",
                             o->kind->kind, o->name);
        return BYRON_OK;
    }
    char old_rv[64] = "";
    if (md_str(cur, "resourceVersion"))
        snprintf(old_rv, sizeof(old_rv), "%s", md_str(cur, "resourceVersion"));
    json_object_put(cur);
    if (s == CHILD_CURRENT) return BYRON_OK;
    byron_kind_path(o->kind, r->ns, o->name, path, sizeof(path));
    json_object *out = NULL;
    applied_begin(c, r->key, o->kind, r->ns, o->name, o->hash);
    byron_status_t st = byron_kube_apply(c->o.client, path, o->obj, &out, err);
    applied_end(c, r->key, o->kind, r->ns, o->name, st == BYRON_OK, out);
    if (!st) {
        /* resourceVersions are opaque: the same one means the apply changed nothing */
        const char *rv = md_str(out, "resourceVersion");
        int changed = !old_rv[0] || !rv || strcmp(rv, old_rv) != 0;
        r->applied += changed;
        if (changed && s == CHILD_DRIFTED)
            byron_log(BYRON_LOG_INFO, "reverted drift", "key", r->key, "kind", o->kind->kind, "name", o->name,
                      (char *)NULL);
    }
    json_object_put(out);
    return st;
}

/* The Secrets, then every desired child. */
static byron_status_t apply_children(reconcile_t *r, byron_err_t *err) {
    byron_controller_t *c = r->c;
    byron_status_t st = BYRON_OK;
    if (!r->d.cache_external &&
        (st = ensure_secret(c, r->key, r->bc, &r->foreign, r->lost, sizeof(r->lost), err)))
        return failed(r, st, err);
    if (c->o.nats_identity &&
        (st = ensure_nats_credentials(c, r->key, r->bc, &r->foreign, &r->renew_in_s, err)))
        return failed(r, st, err);
    for (int i = 0; i < r->d.n && !st; i++) st = apply_child(r, &r->d.objs[i], err);
    return failed(r, st, err);
}

/* Children no longer desired: the cache's with cache.external, a route of
 * the other kind (or none), NetworkPolicies when turned off. */
static byron_status_t delete_unwanted(reconcile_t *r, byron_err_t *err) {
    byron_controller_t *c = r->c;
    json_object *bc = r->bc;
    int *n = &r->deleted;
    byron_status_t st = BYRON_OK;
    if (r->d.cache_external &&
        ((st = delete_owned(c, r->key, bc, &BYRON_KIND_STATEFULSET, "-cache", n, err)) ||
         (st = delete_owned(c, r->key, bc, &BYRON_KIND_SERVICE, "-cache", n, err)) ||
         (st = delete_owned(c, r->key, bc, &BYRON_KIND_NETWORKPOLICY, "-cache", n, err)) ||
         (st = delete_owned(c, r->key, bc, &BYRON_KIND_SECRET, "-cache-credentials", n, err))))
        return failed(r, st, err);
    /* spec.api.expose removed, or it moved between HTTPRoute and Ingress: ours go */
    if ((r->d.expose_kind != &BYRON_KIND_HTTPROUTE &&
         (st = delete_owned(c, r->key, bc, &BYRON_KIND_HTTPROUTE, "-api", n, err))) ||
        (r->d.expose_kind != &BYRON_KIND_INGRESS &&
         (st = delete_owned(c, r->key, bc, &BYRON_KIND_INGRESS, "-api", n, err))))
        return failed(r, st, err);
    if (!c->o.desired.network_policies) { /* turned off: ours go */
        static const char *const parts[] = {"-cache", "-api", "-sink"};
        for (int i = 0; i < 3 && !st; i++)
            st = delete_owned(c, r->key, bc, &BYRON_KIND_NETWORKPOLICY, parts[i], n, err);
    }
    return failed(r, st, err);
}

/* Streams after the children: pods wait for their stream anyway, and a
 * broker that is not up yet must not hold back the Deployments. se gets the
 * broker's answer. */
static byron_status_t ensure_streams(reconcile_t *r, byron_err_t *se) {
    byron_natsperm_ref_t *subs = NULL;
    size_t nsubs = 0;
    int64_t partitions = 8; /* the CRD's default */
    byron_json_get_int(json_object_object_get(r->bc, "spec"), "spec", "partitions", BYRON_JSON_OPTIONAL, 1,
                       4096, &partitions, NULL);
    subscription_refs(r->bc, &subs, &nsubs, NULL); /* the spec passed desired.c: it has them right */
    byron_broker_streams_t bs = {.url = r->d.streams.broker_url,
                                 .namespace_ = r->ns,
                                 .component = md_str(r->bc, "name"),
                                 .replicas = r->d.streams.replicas,
                                 .max_bytes = r->d.streams.max_bytes,
                                 .partitions = (int)partitions,
                                 .subscriptions = subs,
                                 .nsubscriptions = nsubs};
    byron_status_t st = byron_broker_ensure_streams(r->c->o.broker, &bs, se);
    free(subs);
    return st;
}

/* Status with a failure (reason, msg) for Degraded; st: what the reconcile
 * returns unless the status write itself fails. */
static byron_status_t end_with(reconcile_t *r, const char *reason, const char *msg, byron_status_t st,
                               byron_err_t *err) {
    byron_err_t e2 = {0};
    byron_status_t sst = write_status(r->c, r->bc, &r->d, reason, msg, &e2);
    if (sst) {
        *err = e2;
        return sst;
    }
    return st;
}

/* What the children's outcome says: lost credentials and foreign objects are
 * reported and retried with backoff; a broker that refused is retried every
 * few seconds; otherwise events and status. */
static byron_status_t report(reconcile_t *r, byron_status_t st, byron_err_t *err) {
    byron_controller_t *c = r->c;
    if (!st && r->lost[0]) {
        /* A restored Secret or a deleted volume lets the component go on. */
        byron_recorder_event(c->o.recorder, r->bc, "Warning", BYRON_REASON_CREDENTIALS_LOST, "%s", r->lost);
        return end_with(r, BYRON_REASON_CREDENTIALS_LOST, r->lost,
                        byron_err_set(err, BYRON_ESTATE, "%s", r->lost), err);
    }
    if (!st &&
        r->foreign.n) /* the object's owner may delete or rename it, and nothing we watch would tell us */
        return end_with(r, BYRON_REASON_NOT_OWNED, r->foreign.msg,
                        byron_err_set(err, BYRON_ECONFLICT, "%s", r->foreign.msg), err);
    byron_err_t se = {0};
    if (!st && c->o.broker && ensure_streams(r, &se) != BYRON_OK) {
        /* Retried every few seconds, not with the growing backoff: a broker
         * that comes up (at install time, NATS after the operator) is picked
         * up at once. */
        byron_recorder_event(c->o.recorder, r->bc, "Warning", BYRON_REASON_STREAM, "%s", se.msg);
        byron_log(BYRON_LOG_WARN, "streams not ready", "key", r->key, "error", se.msg, (char *)NULL);
        byron_workqueue_add_after(c->queue, r->key, 5000);
        return end_with(r, BYRON_REASON_STREAM, se.msg, BYRON_OK, err);
    }
    if (!st && r->renew_in_s > 0) byron_workqueue_add_after(c->queue, r->key, (uint64_t)r->renew_in_s * 1000);
    if (st) {
        byron_recorder_event(c->o.recorder, r->bc, "Warning", BYRON_REASON_APPLY_FAILED, "%s", r->first_err);
    } else if (r->applied || r->deleted) {
        long long gen = (long long)md_int(r->bc, "generation");
        char gs[32];
        snprintf(gs, sizeof(gs), "%lld", gen);
        byron_log(BYRON_LOG_INFO, "reconciled", "key", r->key, "generation", gs, (char *)NULL);
        byron_recorder_event(c->o.recorder, r->bc, "Normal", BYRON_REASON_RECONCILED,
                             "generation %lld: applied %d object(s), deleted %d", gen, r->applied,
                             r->deleted);
    }
    byron_err_t e2 = {0};
    byron_status_t sst =
        write_status(c, r->bc, &r->d, st ? BYRON_REASON_APPLY_FAILED : NULL, r->first_err, &e2);
    if (!st && sst) {
        *err = e2;
        st = sst;
    }
    return st;
}

/* A spec the user must change: reported, not retried. */
static byron_status_t report_invalid(byron_controller_t *c, const char *key, json_object *bc,
                                     byron_err_t *err) {
    byron_recorder_event(c->o.recorder, bc, "Warning", BYRON_REASON_INVALID, "%s", err->msg);
    byron_err_t e2 = {0};
    byron_status_t st = write_status(c, bc, NULL, BYRON_REASON_INVALID, err->msg, &e2);
    if (st) {
        *err = e2;
        return st;
    }
    byron_log(BYRON_LOG_WARN, "invalid spec", "key", key, "error", err->msg, (char *)NULL);
    return BYRON_OK;
}

byron_status_t byron_controller_reconcile(byron_controller_t *c, const char *key, byron_err_t *err) {
    char ns[256];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns)) return BYRON_OK;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    byron_store_t *bcs = store_for(c, &BYRON_KIND_COMPONENT, ns);
    json_object *bc = bcs ? byron_store_get(bcs, key) : NULL;
    if (!bc) {
        applied_forget(c, key);
        if (c->o.broker) byron_broker_forget(c->o.broker, ns, slash + 1); /* its streams stay: the log */
        return BYRON_OK; /* deleted: the garbage collector follows the owner references */
    }
    if (md_str(bc, "deletionTimestamp")) {
        json_object_put(bc);
        return BYRON_OK;
    }
    /* The store's object lacks apiVersion/kind only for lists of old servers. */
    json_object_object_add(bc, "apiVersion", json_object_new_string(BYRON_API_VERSION));
    json_object_object_add(bc, "kind", json_object_new_string("ByronComponent"));
    reconcile_t r = {.c = c, .key = key, .ns = ns, .bc = bc};
    byron_status_t st = byron_desired_build(bc, &c->o.desired, &r.d, err);
    if (st) {
        if (st == BYRON_EINVAL) st = report_invalid(c, key, bc, err);
        json_object_put(bc);
        return st;
    }
    st = apply_children(&r, err);
    if (!st) st = delete_unwanted(&r, err);
    st = report(&r, st, err);
    byron_desired_cleanup(&r.d);
    json_object_put(bc);
    return st;
}

/* --- workers ------------------------------------------------------------------------ */

/* Resync: a component reconciled comes back resync_s later (the queue's
 * add_after keeps the earlier of two due times, so a component is due once
 * per period however many events it had). client-go's resync period, without
 * a thread: a resync reconcile is a reconcile like any other, and writes only
 * what differs. A component gone from the store is not re-added. */
static void resync_later(byron_controller_t *c, const char *key) {
    char ns[256];
    const char *slash = strchr(key, '/');
    if (!c->o.resync_s || !slash || (size_t)(slash - key) >= sizeof(ns)) return;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
    byron_store_t *s = store_for(c, &BYRON_KIND_COMPONENT, ns);
    if (s && byron_store_has(s, key))
        byron_workqueue_add_after(c->queue, key, (uint64_t)c->o.resync_s * 1000);
}
static void *worker(void *arg) {
    byron_controller_t *c = arg;
    const char *l[] = {"byroncomponent"}, *ok[] = {"byroncomponent", "success"},
               *bad[] = {"byroncomponent", "error"};
    char *key;
    while ((key = byron_workqueue_get(c->queue))) {
        if (c->m_active) byron_metric_add(c->m_active, l, 1);
        double t0 = byron_clock_mono_s();
        byron_err_t err = {0};
        byron_status_t st = byron_controller_reconcile(c, key, &err);
        if (c->m_time) byron_metric_observe(c->m_time, l, byron_clock_mono_s() - t0);
        if (c->m_active) byron_metric_add(c->m_active, l, -1);
        if (st == BYRON_OK) {
            byron_workqueue_forget(c->queue, key);
            if (c->m_total) byron_metric_add(c->m_total, ok, 1);
            resync_later(c, key);
        } else {
            uint64_t d = byron_workqueue_add_rate_limited(c->queue, key);
            char ds[32];
            snprintf(ds, sizeof(ds), "%llu", (unsigned long long)d);
            byron_log(st == BYRON_ECONFLICT ? BYRON_LOG_INFO : BYRON_LOG_WARN, "reconcile failed", "key", key,
                      "error", err.msg, "retry_ms", ds, (char *)NULL);
            if (c->m_total) byron_metric_add(c->m_total, bad, 1);
            if (c->m_errors) byron_metric_add(c->m_errors, l, 1);
        }
        byron_workqueue_done(c->queue, key);
        free(key);
    }
    return NULL;
}

int byron_controller_synced(byron_controller_t *c) {
    for (int k = 0; k < N_KINDS; k++)
        for (size_t i = 0; c->informers[k] && i < c->ninf; i++)
            if (!byron_informer_synced(c->informers[k][i])) return 0;
    return 1;
}

unsigned byron_controller_component_lists(byron_controller_t *c) {
    unsigned n = 0;
    for (size_t i = 0; i < c->ninf; i++) n += byron_informer_lists(c->informers[0][i]);
    return n;
}

/* The broker read a component's figures anew: its status follows. */
static void on_insights(void *ud, const char *ns, const char *component) {
    byron_controller_t *c = ud;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, component);
    byron_workqueue_add(c->queue, key);
}

byron_status_t byron_controller_start(byron_controller_t *c, unsigned timeout_ms, byron_err_t *err) {
    byron_status_t st;
    if (c->o.broker && c->o.insights) byron_broker_set_listener(c->o.broker, on_insights, c);
    /* Owned kinds first, so the first component events find their children. */
    for (int k = N_KINDS - 1; k >= 0; k--)
        for (size_t i = 0; c->informers[k] && i < c->ninf; i++)
            if ((st = byron_informer_start(c->informers[k][i], err))) return st;
    for (unsigned waited = 0; !byron_controller_synced(c); waited += 50) {
        if (waited >= timeout_ms)
            return byron_err_set(err, BYRON_ETIMEDOUT, "informers not synced within %u ms", timeout_ms);
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    if (!(c->workers = calloc((size_t)c->nworkers, sizeof(pthread_t))))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (int i = 0; i < c->nworkers; i++)
        if (pthread_create(&c->workers[i], NULL, worker, c) != 0) {
            c->nworkers = i;
            return byron_err_set(err, BYRON_ENOMEM, "cannot start worker");
        }
    c->started = 1;
    return BYRON_OK;
}

void byron_controller_stop(byron_controller_t *c) {
    if (!c) return;
    if (c->o.broker && c->o.insights) byron_broker_set_listener(c->o.broker, NULL, NULL);
    for (int k = 0; k < N_KINDS; k++)
        for (size_t i = 0; c->informers[k] && i < c->ninf; i++)
            byron_informer_request_stop(c->informers[k][i]);
    for (int k = 0; k < N_KINDS; k++)
        for (size_t i = 0; c->informers[k] && i < c->ninf; i++) byron_informer_stop(c->informers[k][i]);
    if (c->queue) byron_workqueue_shutdown(c->queue);
    if (c->workers) {
        for (int i = 0; i < c->nworkers; i++) pthread_join(c->workers[i], NULL);
        free(c->workers);
        c->workers = NULL;
    }
    c->started = 0;
}

void byron_controller_free(byron_controller_t *c) {
    if (!c) return;
    byron_controller_stop(c);
    for (int k = 0; k < N_KINDS; k++) {
        for (size_t i = 0; c->informers[k] && i < c->ninf; i++) byron_informer_free(c->informers[k][i]);
        free(c->informers[k]);
    }
    byron_workqueue_free(c->queue);
    byron_strmap_free(c->applied);
    pthread_mutex_destroy(&c->applied_mu);
    for (size_t i = 0; i < c->nns; i++) free(c->namespaces[i]);
    free(c->namespaces);
    free(c);
}
