/* store.c — a mutex-protected strmap of serialized objects.
 *
 * Objects are kept as compact JSON text, not json-c trees: a json-c object
 * costs a hash table of 16 slots per JSON object, about ten times the text.
 * At 1000 components (7000 objects) that is the difference between ~10 MB and
 * ~100 MB. A get parses the text (~20 µs for a component): the same order as
 * the deep copy thread safety would need anyway.
 *
 * One writer: the informer that owns the store. Nothing here compares
 * resourceVersions — Kubernetes defines them as opaque strings. */
#include "store.h"

#include "byron/json.h"
#include "strmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    size_t len;
    char json[];
} entry_t;

struct byron_store {
    pthread_mutex_t mu;
    byron_strmap_t *objs; /* key → entry_t* */
};

byron_store_t *byron_store_new(void) {
    byron_store_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (!(s->objs = byron_strmap_new(free))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void byron_store_free(byron_store_t *s) {
    if (!s) return;
    byron_strmap_free(s->objs);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int byron_store_key(json_object *obj, char *buf, size_t n) {
    json_object *md, *name, *ns;
    if (!json_object_object_get_ex(obj, "metadata", &md) || !json_object_object_get_ex(md, "name", &name))
        return -1;
    if (json_object_object_get_ex(md, "namespace", &ns) && json_object_get_string_len(ns) > 0)
        snprintf(buf, n, "%s/%s", json_object_get_string(ns), json_object_get_string(name));
    else
        snprintf(buf, n, "%s", json_object_get_string(name));
    return 0;
}

void byron_store_trim(json_object *obj) {
    json_object *md, *ann;
    if (!json_object_object_get_ex(obj, "metadata", &md)) return;
    json_object_object_del(md, "managedFields");
    /* kubectl apply's copy of the whole object: as big as the spec, never read. */
    if (json_object_object_get_ex(md, "annotations", &ann))
        json_object_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
}

static entry_t *serialize(json_object *obj) {
    byron_store_trim(obj);
    size_t len = 0;
    const char *text =
        json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    entry_t *e = malloc(sizeof(*e) + len + 1);
    if (!e) return NULL;
    e->len = len;
    memcpy(e->json, text, len + 1);
    return e;
}

void byron_store_set(byron_store_t *s, const char *key, json_object *obj) {
    entry_t *e = serialize(obj);
    if (!e) return;
    pthread_mutex_lock(&s->mu);
    if (byron_strmap_set(s->objs, key, e) != 0) free(e);
    pthread_mutex_unlock(&s->mu);
}

void byron_store_delete(byron_store_t *s, const char *key) {
    pthread_mutex_lock(&s->mu);
    byron_strmap_del(s->objs, key);
    pthread_mutex_unlock(&s->mu);
}

json_object *byron_store_get(byron_store_t *s, const char *key) {
    char *copy = NULL;
    size_t len = 0;
    pthread_mutex_lock(&s->mu);
    entry_t *e = byron_strmap_get(s->objs, key);
    if (e && (copy = malloc(e->len + 1))) {
        memcpy(copy, e->json, e->len + 1);
        len = e->len;
    }
    pthread_mutex_unlock(&s->mu);
    if (!copy) return NULL;
    json_object *o = NULL; /* parsed outside the lock: readers never wait on a parse */
    byron_json_parse(copy, len, 128, &o, NULL);
    free(copy);
    return o;
}

int byron_store_has(byron_store_t *s, const char *key) {
    pthread_mutex_lock(&s->mu);
    int r = byron_strmap_has(s->objs, key);
    pthread_mutex_unlock(&s->mu);
    return r;
}

size_t byron_store_len(byron_store_t *s) {
    pthread_mutex_lock(&s->mu);
    size_t n = byron_strmap_len(s->objs);
    pthread_mutex_unlock(&s->mu);
    return n;
}

typedef struct {
    char **keys;
    size_t n;
} keys_t;

static void collect(void *ud, const char *key, void *v) {
    keys_t *k = ud;
    k->keys[k->n++] = strdup(key);
}

char **byron_store_keys(byron_store_t *s, size_t *n) {
    pthread_mutex_lock(&s->mu);
    keys_t k = {calloc(byron_strmap_len(s->objs) + 1, sizeof(char *)), 0};
    if (k.keys) byron_strmap_foreach(s->objs, collect, &k);
    pthread_mutex_unlock(&s->mu);
    *n = k.n;
    return k.keys;
}

static void copy_key(json_object *from, json_object *to, const char *key) {
    json_object *v;
    if (json_object_object_get_ex(from, key, &v)) json_object_object_add(to, key, json_object_get(v));
}

int byron_store_owned_fields(json_object *obj, char out[17]) {
    json_object *md, *mf, *v;
    int others = 0;
    out[0] = '\0';
    if (!json_object_object_get_ex(obj, "metadata", &md) ||
        !json_object_object_get_ex(md, "managedFields", &mf))
        return 0;
    for (size_t i = 0; i < json_object_array_length(mf); i++) {
        json_object *e = json_object_array_get_idx(mf, i);
        if (json_object_object_get_ex(e, "subresource", &v)) continue; /* status: not what we apply */
        const char *manager = json_object_get_string(json_object_object_get(e, "manager")),
                   *op = json_object_get_string(json_object_object_get(e, "operation"));
        if (!manager || strcmp(manager, BYRON_KUBE_FIELD_MANAGER) != 0 || !op || strcmp(op, "Apply") != 0) {
            others = 1;
            continue;
        }
        if (!json_object_object_get_ex(e, "fieldsV1", &v)) continue;
        const char *f = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        snprintf(out, 17, "%016llx", byron_fnv1a64(f, strlen(f)));
    }
    return others;
}

json_object *byron_store_slim(json_object *obj) {
    json_object *out = json_object_new_object(), *md, *ann, *spec, *st;
    copy_key(obj, out, "apiVersion");
    copy_key(obj, out, "kind");
    if (json_object_object_get_ex(obj, "metadata", &md)) {
        json_object *m = json_object_new_object();
        const char *keys[] = {"name",
                              "namespace",
                              "uid",
                              "resourceVersion",
                              "generation",
                              "labels",
                              "ownerReferences",
                              "deletionTimestamp"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) copy_key(md, m, keys[i]);
        /* Our own annotations only (byron.io/…: applied hash, NATS credential
         * renewal): what a reconcile compares against. */
        if (json_object_object_get_ex(md, "annotations", &ann) &&
            json_object_is_type(ann, json_type_object)) {
            json_object *a = NULL;
            json_object_object_foreach(ann, k, v) {
                if (strncmp(k, "byron.io/", 9) != 0) continue;
                if (!a) a = json_object_new_object();
                json_object_object_add(a, k, json_object_get(v));
            }
            if (a) json_object_object_add(m, "annotations", a);
        }
        json_object_object_add(out, "metadata", m);
    }
    if (json_object_object_get_ex(obj, "spec", &spec) && json_object_is_type(spec, json_type_object)) {
        json_object *s = json_object_new_object();
        copy_key(spec, s, "replicas");
        json_object_object_add(out, "spec", s);
    }
    if (json_object_object_get_ex(obj, "status", &st) && json_object_is_type(st, json_type_object)) {
        json_object *s = json_object_new_object();
        const char *keys[] = {"replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
                              "observedGeneration"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) copy_key(st, s, keys[i]);
        /* An HTTPRoute's parents (their Accepted condition) and an Ingress's
         * address: the component's Exposed condition. */
        copy_key(st, s, "parents");
        copy_key(st, s, "loadBalancer");
        json_object_object_add(out, "status", s);
    }
    char owned[17];
    if (byron_store_owned_fields(obj, owned))
        json_object_object_add(out, BYRON_STORE_OTHER_MANAGERS, json_object_new_boolean(1));
    if (owned[0]) json_object_object_add(out, BYRON_STORE_OWNED_FIELDS, json_object_new_string(owned));
    return out;
}
