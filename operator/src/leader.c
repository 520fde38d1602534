/* leader.c — Lease-based leader election; one renew thread while leading. */
#include "leader.h"

#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "resource.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_leader {
    byron_kube_client_t *client;
    char *ns, *name, *identity;
    unsigned lease_ms, deadline_ms, retry_ms;
    /* The last record seen from another holder, and when (our clock). */
    char observed[512];
    uint64_t observed_at;
    atomic_int leading;
    atomic_int stop_renew;
    pthread_t renewer;
    int renewing;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    byron_leader_lost_fn on_lost;
    void *ud;
};

byron_leader_t *byron_leader_new(byron_kube_client_t *c, const byron_leader_options_t *o, byron_err_t *err) {
    byron_leader_t *l = calloc(1, sizeof(*l));
    if (!l) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    l->client = c;
    l->ns = strdup(o->namespace);
    l->name = strdup(o->name);
    l->identity = strdup(o->identity);
    l->lease_ms = o->lease_ms ? o->lease_ms : 15000;
    l->deadline_ms = o->renew_deadline_ms ? o->renew_deadline_ms : 10000;
    l->retry_ms = o->retry_ms ? o->retry_ms : 2000;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    return l;
}

static json_object *lease_body(byron_leader_t *l, json_object *old, const char *holder, unsigned dur_s,
                               int acquiring) {
    char now[40];
    byron_kube_time_now(now, sizeof(now), 1);
    json_object *o = json_object_new_object(), *md = json_object_new_object(),
                *spec = json_object_new_object();
    json_object_object_add(o, "apiVersion", json_object_new_string(BYRON_KIND_LEASE.api_version));
    json_object_object_add(o, "kind", json_object_new_string("Lease"));
    json_object_object_add(md, "name", json_object_new_string(l->name));
    json_object_object_add(md, "namespace", json_object_new_string(l->ns));
    int64_t transitions = 0;
    const char *acq = now;
    if (old) {
        json_object *omd, *ospec, *v;
        if (json_object_object_get_ex(old, "metadata", &omd) &&
            json_object_object_get_ex(omd, "resourceVersion", &v))
            json_object_object_add(md, "resourceVersion", json_object_get(v));
        if (json_object_object_get_ex(old, "spec", &ospec)) {
            if (json_object_object_get_ex(ospec, "leaseTransitions", &v))
                transitions = json_object_get_int64(v);
            if (!acquiring && json_object_object_get_ex(ospec, "acquireTime", &v))
                acq = json_object_get_string(v);
        }
    }
    if (acquiring && old) transitions++;
    json_object_object_add(o, "metadata", md);
    json_object_object_add(spec, "holderIdentity", json_object_new_string(holder));
    json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int((int)dur_s));
    json_object_object_add(spec, "acquireTime", json_object_new_string(acq));
    json_object_object_add(spec, "renewTime", json_object_new_string(now));
    json_object_object_add(spec, "leaseTransitions", json_object_new_int64(transitions));
    json_object_object_add(o, "spec", spec);
    return o;
}

int byron_leader_try(byron_leader_t *l, byron_err_t *err) {
    char path[512];
    byron_kind_path(&BYRON_KIND_LEASE, l->ns, l->name, path, sizeof(path));
    json_object *cur = NULL, *body = NULL;
    byron_status_t st = byron_kube_do(l->client, "GET", path, NULL, NULL, &cur, err);
    int result = -1;
    if (st == BYRON_ENOTFOUND) {
        char coll[512];
        byron_kind_path(&BYRON_KIND_LEASE, l->ns, NULL, coll, sizeof(coll));
        body = lease_body(l, NULL, l->identity, l->lease_ms / 1000, 1);
        st = byron_kube_do(l->client, "POST", coll, "application/json", body, NULL, err);
        result = st == BYRON_OK ? 1 : st == BYRON_ECONFLICT ? 0 : -1;
        goto out;
    }
    if (st) goto out;
    json_object *spec = NULL, *v;
    const char *holder = "", *renew = "";
    json_object_object_get_ex(cur, "spec", &spec);
    if (spec && json_object_object_get_ex(spec, "holderIdentity", &v) &&
        json_object_is_type(v, json_type_string))
        holder = json_object_get_string(v);
    if (spec && json_object_object_get_ex(spec, "renewTime", &v)) renew = json_object_get_string(v);
    int64_t dur = l->lease_ms / 1000;
    if (spec && json_object_object_get_ex(spec, "leaseDurationSeconds", &v)) dur = json_object_get_int64(v);
    int mine = !strcmp(holder, l->identity);
    if (!mine && *holder) {
        char rec[512];
        snprintf(rec, sizeof(rec), "%s|%s", holder, renew);
        uint64_t now = (uint64_t)byron_clock_mono_ms();
        if (strcmp(rec, l->observed) != 0) {
            snprintf(l->observed, sizeof(l->observed), "%s", rec);
            l->observed_at = now;
        }
        if (now - l->observed_at < (uint64_t)dur * 1000) {
            result = 0; /* held by someone alive */
            goto out;
        }
    }
    body = lease_body(l, cur, l->identity, l->lease_ms / 1000, !mine);
    st = byron_kube_do(l->client, "PUT", path, "application/json", body, NULL, err);
    if (st == BYRON_OK && !mine)
        byron_log(BYRON_LOG_INFO, "acquired lease", "lease", l->name, "namespace", l->ns, "previous",
                  *holder ? holder : "(none)", (char *)NULL);
    result = st == BYRON_OK ? 1 : st == BYRON_ECONFLICT ? 0 : -1;
out:
    json_object_put(cur);
    json_object_put(body);
    return result;
}

/* Sleep up to ms, or until stop_renew. */
static void nap(byron_leader_t *l, uint64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&l->mu);
    while (!atomic_load(&l->stop_renew) && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0) {
    }
    pthread_mutex_unlock(&l->mu);
}

static void *renew_loop(void *arg) {
    byron_leader_t *l = arg;
    uint64_t last_ok = (uint64_t)byron_clock_mono_ms();
    while (!atomic_load(&l->stop_renew)) {
        nap(l, l->retry_ms);
        if (atomic_load(&l->stop_renew)) break;
        byron_err_t err = {0};
        int r = byron_leader_try(l, &err);
        if (r == 1) {
            last_ok = (uint64_t)byron_clock_mono_ms();
            continue;
        }
        byron_log(BYRON_LOG_WARN, "lease renew failed", "lease", l->name, "error",
                  r < 0 ? err.msg : "held by another candidate", (char *)NULL);
        if (r == 0 || (uint64_t)byron_clock_mono_ms() - last_ok > l->deadline_ms) {
            atomic_store(&l->leading, 0);
            byron_log(BYRON_LOG_ERROR, "leadership lost", "lease", l->name, (char *)NULL);
            if (l->on_lost) l->on_lost(l->ud);
            break;
        }
    }
    return NULL;
}

byron_status_t byron_leader_run(byron_leader_t *l, const atomic_int *stop, byron_leader_lost_fn on_lost,
                                void *ud, byron_err_t *err) {
    int logged = 0;
    while (!atomic_load(stop)) {
        byron_err_t e = {0};
        int r = byron_leader_try(l, &e);
        if (r == 1) break;
        if (r < 0)
            byron_log(BYRON_LOG_WARN, "lease acquire failed", "error", e.msg, (char *)NULL);
        else if (!logged++)
            byron_log(BYRON_LOG_INFO, "waiting for leadership", "lease", l->name, "holder", l->observed,
                      (char *)NULL);
        for (unsigned i = 0; i < l->retry_ms / 100 && !atomic_load(stop); i++) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    if (atomic_load(stop)) return byron_err_set(err, BYRON_ESTATE, "stopped before becoming leader");
    atomic_store(&l->leading, 1);
    l->on_lost = on_lost;
    l->ud = ud;
    atomic_store(&l->stop_renew, 0);
    if (pthread_create(&l->renewer, NULL, renew_loop, l) != 0)
        return byron_err_set(err, BYRON_ENOMEM, "cannot start lease renewer");
    l->renewing = 1;
    return BYRON_OK;
}

int byron_leader_is_leader(byron_leader_t *l) { return l && atomic_load(&l->leading); }

void byron_leader_release(byron_leader_t *l) {
    if (!l) return;
    if (l->renewing) {
        atomic_store(&l->stop_renew, 1);
        pthread_mutex_lock(&l->mu);
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->renewer, NULL);
        l->renewing = 0;
    }
    if (!atomic_load(&l->leading)) return;
    atomic_store(&l->leading, 0);
    char path[512];
    byron_kind_path(&BYRON_KIND_LEASE, l->ns, l->name, path, sizeof(path));
    json_object *cur = NULL;
    byron_err_t err = {0};
    if (byron_kube_do(l->client, "GET", path, NULL, NULL, &cur, &err) == BYRON_OK) {
        json_object *spec, *v;
        if (json_object_object_get_ex(cur, "spec", &spec) &&
            json_object_object_get_ex(spec, "holderIdentity", &v) &&
            !strcmp(json_object_get_string(v), l->identity)) {
            json_object *body = lease_body(l, cur, "", 1, 0);
            if (byron_kube_do(l->client, "PUT", path, "application/json", body, NULL, &err) == BYRON_OK)
                byron_log(BYRON_LOG_INFO, "released lease", "lease", l->name, (char *)NULL);
            json_object_put(body);
        }
    }
    json_object_put(cur);
}

void byron_leader_free(byron_leader_t *l) {
    if (!l) return;
    byron_leader_release(l);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}
