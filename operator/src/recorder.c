/* recorder.c — POST /api/v1/namespaces/<ns>/events, with repeat suppression. */
#include "recorder.h"

#include "byron/log.h"
#include "strmap.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPEAT_S 600
#define MAX_REMEMBERED 20000

struct byron_recorder {
    byron_kube_client_t *client;
    char *instance;
    pthread_mutex_t mu;
    byron_strmap_t *last; /* "ns/name\x1freason\x1fmessage-hash" → time_t* */
};

byron_recorder_t *byron_recorder_new(byron_kube_client_t *c, const char *instance) {
    byron_recorder_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->client = c;
    r->instance = strdup(instance ? instance : "byron-operator");
    r->last = byron_strmap_new(free);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void byron_recorder_free(byron_recorder_t *r) {
    if (!r) return;
    byron_strmap_free(r->last);
    pthread_mutex_destroy(&r->mu);
    free(r->instance);
    free(r);
}

static const char *get(json_object *o, const char *k1, const char *k2) {
    json_object *a = o, *b;
    if (k1 && !json_object_object_get_ex(o, k1, &a)) return "";
    if (!json_object_object_get_ex(a, k2, &b)) return "";
    return json_object_get_string(b);
}

/* Non-zero when this event was posted less than REPEAT_S ago. */
static int repeated(byron_recorder_t *r, const char *ns, const char *name, const char *reason,
                    const char *msg) {
    char key[1024];
    snprintf(key, sizeof(key), "%s/%s\x1f%s\x1f%016llx", ns, name, reason, byron_fnv1a64(msg, strlen(msg)));
    time_t now = time(NULL);
    int rep = 0;
    pthread_mutex_lock(&r->mu);
    time_t *t = byron_strmap_get(r->last, key);
    if (t && now - *t < REPEAT_S)
        rep = 1;
    else {
        if (byron_strmap_len(r->last) > MAX_REMEMBERED) { /* forget everything: bounded memory */
            byron_strmap_free(r->last);
            r->last = byron_strmap_new(free);
        }
        time_t *nt = malloc(sizeof(*nt));
        if (nt) {
            *nt = now;
            byron_strmap_set(r->last, key, nt);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rep;
}

void byron_recorder_event(byron_recorder_t *r, json_object *about, const char *type, const char *reason,
                          const char *fmt, ...) {
    if (!r) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *ns = get(about, "metadata", "namespace"), *name = get(about, "metadata", "name");
    if (repeated(r, ns, name, reason, msg)) return;
    char now[40], gen[300], path[512];
    byron_kube_time_now(now, sizeof(now), 0);
    json_object *ev = json_object_new_object(), *md = json_object_new_object(),
                *io = json_object_new_object(), *src = json_object_new_object();
    snprintf(gen, sizeof(gen), "%s.", name);
    json_object_object_add(md, "generateName", json_object_new_string(gen));
    json_object_object_add(md, "namespace", json_object_new_string(ns));
    json_object_object_add(ev, "metadata", md);
    json_object_object_add(io, "apiVersion", json_object_new_string(get(about, NULL, "apiVersion")));
    json_object_object_add(io, "kind", json_object_new_string(get(about, NULL, "kind")));
    json_object_object_add(io, "name", json_object_new_string(name));
    json_object_object_add(io, "namespace", json_object_new_string(ns));
    json_object_object_add(io, "uid", json_object_new_string(get(about, "metadata", "uid")));
    json_object_object_add(ev, "involvedObject", io);
    json_object_object_add(ev, "type", json_object_new_string(type));
    json_object_object_add(ev, "reason", json_object_new_string(reason));
    json_object_object_add(ev, "message", json_object_new_string(msg));
    json_object_object_add(src, "component", json_object_new_string("byron-operator"));
    json_object_object_add(ev, "source", src);
    json_object_object_add(ev, "reportingComponent", json_object_new_string("byron-operator"));
    json_object_object_add(ev, "reportingInstance", json_object_new_string(r->instance));
    json_object_object_add(ev, "firstTimestamp", json_object_new_string(now));
    json_object_object_add(ev, "lastTimestamp", json_object_new_string(now));
    json_object_object_add(ev, "count", json_object_new_int(1));
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
    byron_err_t err = {0};
    if (byron_kube_do(r->client, "POST", path, "application/json", ev, NULL, &err) != BYRON_OK)
        byron_log(BYRON_LOG_WARN, "event not recorded", "reason", reason, "error", err.msg, (char *)NULL);
    json_object_put(ev);
}
