/*
 * doc_cache.c — parsed and validated documents kept by their text, so that a
 * query a client sends again is neither parsed nor validated again.
 *
 * A cache serves one schema and one set of limits: the first it is used with
 * (a call with others neither reads nor fills it). Only documents that parsed
 * and validated are kept; a document is immutable, so the threads that hold
 * it execute it at the same time. Entries are counted references: one for
 * the table, one per caller between get/put and release; an entry evicted
 * while executing is freed by its last release. Bounded by entries and bytes
 * (the document's arena and its text); the least recently used goes first.
 * One mutex: held for a hash comparison and a few pointer moves.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct gql_cached_doc {
    struct gql_cached_doc *prev, *next; /* recency list: head is the most recent */
    uint64_t hash;
    char *text;
    size_t len, bytes;
    byron_graphql_document_t *doc;
    int refs;
    bool in_table;
} entry_t;

struct byron_graphql_doc_cache {
    pthread_mutex_t mu;
    size_t max_entries, max_bytes, entries, bytes;
    entry_t *head, *tail;
    const byron_graphql_schema_t *schema; /* the first it is used with */
    byron_graphql_limits_t limits;
    bool bound;
    uint64_t hits, misses;
};

byron_graphql_doc_cache_t *byron_graphql_doc_cache_new(size_t max_entries, size_t max_bytes) {
    if (max_entries == 0 || max_bytes == 0) return NULL;
    byron_graphql_doc_cache_t *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    return c;
}

static void entry_free(entry_t *e) {
    byron_graphql_document_free(e->doc);
    free(e->text);
    free(e);
}

static void unlink_entry(byron_graphql_doc_cache_t *c, entry_t *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(byron_graphql_doc_cache_t *c, entry_t *e) {
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (c->tail == NULL) c->tail = e;
}

/* Takes e out of the table; freed now or by its last holder. Under mu. */
static void evict(byron_graphql_doc_cache_t *c, entry_t *e) {
    unlink_entry(c, e);
    e->in_table = false;
    c->entries--;
    c->bytes -= e->bytes;
    if (--e->refs == 0) entry_free(e);
}

void byron_graphql_doc_cache_free(byron_graphql_doc_cache_t *c) {
    if (c == NULL) return;
    while (c->head) evict(c, c->head); /* every holder has released: the caller's contract */
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void byron_graphql_doc_cache_stats(byron_graphql_doc_cache_t *c, uint64_t *hits, uint64_t *misses,
                                   size_t *entries, size_t *bytes) {
    pthread_mutex_lock(&c->mu);
    if (hits) *hits = c->hits;
    if (misses) *misses = c->misses;
    if (entries) *entries = c->entries;
    if (bytes) *bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Whether (schema, limits) are the cache's; the first call binds them. Under mu. */
static bool serves(byron_graphql_doc_cache_t *c, const byron_graphql_schema_t *s,
                   const byron_graphql_limits_t *limits) {
    byron_graphql_limits_t l;
    if (limits == NULL) {
        byron_graphql_limits_init(&l);
        limits = &l;
    }
    if (!c->bound) {
        c->schema = s;
        c->limits = *limits;
        c->bound = true;
    }
    /* What parsing and validation read (execution reads its own limits every time). */
    const byron_graphql_limits_t *b = &c->limits;
    return c->schema == s && b->max_document_bytes == limits->max_document_bytes &&
           b->max_tokens == limits->max_tokens && b->max_depth == limits->max_depth &&
           b->max_fields == limits->max_fields && b->max_aliases == limits->max_aliases;
}

gql_cached_doc_t *gql_doc_cache_get(byron_graphql_doc_cache_t *c, const byron_graphql_schema_t *s,
                                    const byron_graphql_limits_t *limits, const char *text, size_t len) {
    uint64_t h = fnv1a(text, len);
    entry_t *found = NULL;
    pthread_mutex_lock(&c->mu);
    if (serves(c, s, limits)) {
        for (entry_t *e = c->head; e; e = e->next)
            if (e->hash == h && e->len == len && memcmp(e->text, text, len) == 0) {
                found = e;
                break;
            }
        if (found) {
            found->refs++;
            unlink_entry(c, found);
            push_front(c, found);
            c->hits++;
        } else {
            c->misses++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* The arena's chunks: what the document holds in memory. */
static size_t doc_bytes(const byron_graphql_document_t *doc) {
    size_t n = sizeof(*doc);
    for (const gql_arena_chunk_t *k = doc->arena.head; k; k = k->next) n += sizeof(*k) + k->cap;
    return n;
}

gql_cached_doc_t *gql_doc_cache_put(byron_graphql_doc_cache_t *c, const byron_graphql_schema_t *s,
                                    const byron_graphql_limits_t *limits, const char *text, size_t len,
                                    byron_graphql_document_t *doc) {
    entry_t *e = calloc(1, sizeof(*e));
    char *copy = e ? malloc(len + 1) : NULL;
    if (copy == NULL) {
        free(e);
        return NULL; /* the caller keeps doc */
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    *e = (entry_t){.hash = fnv1a(text, len), .text = copy, .len = len, .doc = doc, .refs = 1};
    e->bytes = sizeof(*e) + len + 1 + doc_bytes(doc);
    pthread_mutex_lock(&c->mu);
    bool known = false; /* another thread put the same text meanwhile */
    for (entry_t *o = c->head; o && !known; o = o->next)
        known = o->hash == e->hash && o->len == len && memcmp(o->text, text, len) == 0;
    if (!known && serves(c, s, limits) && e->bytes <= c->max_bytes) {
        while (c->entries > 0 && (c->entries + 1 > c->max_entries || c->bytes + e->bytes > c->max_bytes))
            evict(c, c->tail);
        push_front(c, e);
        e->in_table = true;
        e->refs++;
        c->entries++;
        c->bytes += e->bytes;
    }
    pthread_mutex_unlock(&c->mu);
    return e; /* in the table or not: the caller's reference, released as any other */
}

const byron_graphql_document_t *gql_cached_doc(const gql_cached_doc_t *e) { return e->doc; }

void gql_doc_cache_release(byron_graphql_doc_cache_t *c, gql_cached_doc_t *e) {
    if (e == NULL) return;
    pthread_mutex_lock(&c->mu);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) entry_free(e);
}
