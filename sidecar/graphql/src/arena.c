/*
 * arena.c — bump allocator for the AST and the schema. Allocation is O(1);
 * memory is returned all at once by gql_arena_cleanup(). We deliberately do
 * not support freeing single nodes: nothing in a document or schema dies
 * before its owner.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_MIN_CHUNK 4096

void *gql_arena_alloc(gql_arena_t *a, size_t n) {
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    gql_arena_chunk_t *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : ARENA_MIN_CHUNK;
        if (cap > 1u << 20) cap = 1u << 20;
        if (cap < n) cap = n;
        gql_arena_chunk_t *nc = malloc(sizeof(*nc) + cap);
        if (nc == NULL) return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        a->head = nc;
        c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *gql_arena_strndup(gql_arena_t *a, const char *s, size_t n) {
    char *p = gql_arena_alloc(a, n + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *gql_arena_strdup(gql_arena_t *a, const char *s) {
    return s ? gql_arena_strndup(a, s, strlen(s)) : NULL;
}

void gql_arena_cleanup(gql_arena_t *a) {
    gql_arena_chunk_t *c = a->head;
    while (c) {
        gql_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
