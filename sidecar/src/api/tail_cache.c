/* tail_cache.c — see tail_cache.h. */
#include "tail_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *subject; /* NULL: empty slot */
    uint64_t seq;
    int64_t version;
    char type[129];
    char msg_id[160];
    char *unique; /* NULL: the event had no Byron-Unique header */
} slot_t;

struct byron_tail_cache {
    pthread_mutex_t lock;
    size_t nslots;
    slot_t *slots;
};

byron_tail_cache_t *byron_tail_cache_new(size_t slots) {
    byron_tail_cache_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (slots && !(c->slots = calloc(slots, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    c->nslots = slots;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void slot_clear(slot_t *s) {
    free(s->subject);
    free(s->unique);
    memset(s, 0, sizeof *s);
}

void byron_tail_cache_free(byron_tail_cache_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nslots; i++) slot_clear(&c->slots[i]);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static slot_t *slot_of(byron_tail_cache_t *c, const char *subject) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return &c->slots[h % c->nslots];
}

int byron_tail_cache_get(byron_tail_cache_t *c, const char *subject, byron_stream_last_t *out) {
    if (!c || !c->nslots) return 0;
    int hit = 0;
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, subject);
    if (s->subject && strcmp(s->subject, subject) == 0) {
        memset(out, 0, offsetof(byron_stream_last_t, unique));
        out->seq = s->seq;
        out->version = s->version;
        snprintf(out->type, sizeof out->type, "%s", s->type);
        snprintf(out->msg_id, sizeof out->msg_id, "%s", s->msg_id);
        out->has_unique = s->unique != NULL;
        snprintf(out->unique, sizeof out->unique, "%s", s->unique ? s->unique : "");
        hit = 1;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void byron_tail_cache_put(byron_tail_cache_t *c, const char *subject, const byron_stream_last_t *last) {
    if (!c || !c->nslots) return;
    char *subj = strdup(subject), *uniq = last->has_unique ? strdup(last->unique) : NULL;
    if (!subj || (last->has_unique && !uniq)) { /* no memory: remember nothing, lose nothing */
        free(subj);
        free(uniq);
        return;
    }
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, subject);
    if (s->subject && strcmp(s->subject, subject) == 0 && s->seq >= last->seq) {
        pthread_mutex_unlock(&c->lock);
        free(subj);
        free(uniq);
        return;
    }
    slot_clear(s);
    s->subject = subj;
    s->unique = uniq;
    s->seq = last->seq;
    s->version = last->version;
    snprintf(s->type, sizeof s->type, "%s", last->type);
    snprintf(s->msg_id, sizeof s->msg_id, "%s", last->msg_id);
    pthread_mutex_unlock(&c->lock);
}

void byron_tail_cache_drop(byron_tail_cache_t *c, const char *subject, uint64_t seq) {
    if (!c || !c->nslots) return;
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, subject);
    if (s->subject && strcmp(s->subject, subject) == 0 && s->seq == seq) slot_clear(s);
    pthread_mutex_unlock(&c->lock);
}
