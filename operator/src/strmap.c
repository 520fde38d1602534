/* strmap.c — chained hash map with string keys; grows at load factor 1. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    unsigned long long hash;
    void *value;
    char key[];
} entry_t;

struct byron_strmap {
    entry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t len;
    byron_strmap_free_fn value_free;
};

unsigned long long byron_fnv1a64(const void *data, size_t len) {
    const unsigned char *p = data;
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

byron_strmap_t *byron_strmap_new(byron_strmap_free_fn value_free) {
    byron_strmap_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    m->value_free = value_free;
    return m;
}

void byron_strmap_free(byron_strmap_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry_t *e = m->buckets[i];
        while (e) {
            entry_t *n = e->next;
            if (m->value_free) m->value_free(e->value);
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    free(m);
}

static entry_t **find(const byron_strmap_t *m, const char *key, unsigned long long h) {
    entry_t **pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0)) pp = &(*pp)->next;
    return pp;
}

/* Rehash into twice the buckets: O(len), amortised O(1) per insert. */
static void grow(byron_strmap_t *m) {
    size_t nb = m->nbuckets * 2;
    entry_t **b = calloc(nb, sizeof(*b));
    if (!b) return; /* keep working with longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry_t *e = m->buckets[i];
        while (e) {
            entry_t *n = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int byron_strmap_set(byron_strmap_t *m, const char *key, void *value) {
    unsigned long long h = byron_fnv1a64(key, strlen(key));
    entry_t **pp = find(m, key, h);
    if (*pp) {
        if (m->value_free && (*pp)->value != value) m->value_free((*pp)->value);
        (*pp)->value = value;
        return 0;
    }
    size_t kl = strlen(key);
    entry_t *e = malloc(sizeof(*e) + kl + 1);
    if (!e) return -1;
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *pp = e;
    if (++m->len > m->nbuckets) grow(m);
    return 0;
}

void *byron_strmap_get(const byron_strmap_t *m, const char *key) {
    entry_t **pp = find(m, key, byron_fnv1a64(key, strlen(key)));
    return *pp ? (*pp)->value : NULL;
}

int byron_strmap_has(const byron_strmap_t *m, const char *key) {
    return *find(m, key, byron_fnv1a64(key, strlen(key))) != NULL;
}

void *byron_strmap_take(byron_strmap_t *m, const char *key) {
    entry_t **pp = find(m, key, byron_fnv1a64(key, strlen(key)));
    if (!*pp) return NULL;
    entry_t *e = *pp;
    void *v = e->value;
    *pp = e->next;
    free(e);
    m->len--;
    return v;
}

int byron_strmap_del(byron_strmap_t *m, const char *key) {
    entry_t **pp = find(m, key, byron_fnv1a64(key, strlen(key)));
    if (!*pp) return 0;
    entry_t *e = *pp;
    *pp = e->next;
    if (m->value_free) m->value_free(e->value);
    free(e);
    m->len--;
    return 1;
}

size_t byron_strmap_len(const byron_strmap_t *m) { return m->len; }

void byron_strmap_foreach(const byron_strmap_t *m, byron_strmap_visit_fn fn, void *ud) {
    for (size_t i = 0; i < m->nbuckets; i++)
        for (entry_t *e = m->buckets[i]; e; e = e->next) fn(ud, e->key, e->value);
}
