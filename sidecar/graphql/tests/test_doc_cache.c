/*
 * test_doc_cache.c — the document cache behind the HTTP handler: a query
 * sent again is neither parsed nor validated (counted by the cache and the
 * response's flag) and answers the same bytes; invalid documents and other
 * schemas or limits never reach it; its bounds evict the least recently
 * used; a document evicted while a request holds it stays valid; threads
 * share it.
 */
#include "fixtures.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static byron_graphql_schema_t *S;

static void setup(void) {
    S = fx_schema();
    cr_assert_not_null(S);
}

static void teardown(void) { byron_graphql_schema_free(S); }

TestSuite(doc_cache, .init = setup, .fini = teardown);

/* POSTs query through the handler with cache c; the response's body (caller frees). */
static char *post(byron_graphql_doc_cache_t *c, const byron_graphql_limits_t *limits, const char *query,
                  bool *cached, int *status) {
    char body[2048];
    json_object *q = json_object_new_string(query);
    snprintf(body, sizeof(body), "{\"query\":%s}", json_object_to_json_string(q));
    json_object_put(q);
    byron_graphql_http_options_t o = {.resolve = fx_resolve, .doc_cache = c, .limits = limits};
    byron_graphql_http_response_t r;
    byron_graphql_http_handle(S, &o, "POST", "application/json", "application/json", NULL, body, strlen(body),
                              &r);
    cr_assert(c == NULL || r.doc_cache != BYRON_GRAPHQL_DOC_CACHE_UNUSED,
              "a query with a cache is looked up");
    *cached = r.doc_cache == BYRON_GRAPHQL_DOC_CACHE_HIT;
    if (status) *status = r.status;
    char *out = r.body;
    r.body = NULL;
    byron_graphql_http_response_cleanup(&r);
    return out;
}

static void counts(byron_graphql_doc_cache_t *c, uint64_t hits, uint64_t misses, size_t entries) {
    uint64_t h, m;
    size_t e;
    byron_graphql_doc_cache_stats(c, &h, &m, &e, NULL);
    cr_assert_eq(h, hits, "hits %llu, want %llu", (unsigned long long)h, (unsigned long long)hits);
    cr_assert_eq(m, misses, "misses %llu, want %llu", (unsigned long long)m, (unsigned long long)misses);
    cr_assert_eq(e, entries, "entries %zu, want %zu", e, entries);
}

Test(doc_cache, a_query_sent_again_is_not_parsed_again_and_answers_the_same) {
    byron_graphql_doc_cache_t *c = byron_graphql_doc_cache_new(8, 1 << 20);
    cr_assert_not_null(c);
    bool cached;
    char *first = post(c, NULL, "{ hello dogs { id name } }", &cached, NULL);
    cr_assert(!cached);
    counts(c, 0, 1, 1);
    for (int i = 0; i < 3; i++) {
        char *again = post(c, NULL, "{ hello dogs { id name } }", &cached, NULL);
        cr_assert(cached);
        cr_assert_str_eq(again, first);
        free(again);
    }
    counts(c, 3, 1, 1);
    char *other = post(c, NULL, "{ hello }", &cached, NULL); /* another text: parsed */
    cr_assert(!cached);
    counts(c, 3, 2, 2);
    free(other);
    free(first);
    byron_graphql_doc_cache_free(c);
}

Test(doc_cache, invalid_documents_are_never_kept) {
    byron_graphql_doc_cache_t *c = byron_graphql_doc_cache_new(8, 1 << 20);
    const char *bad[] = {"{ nosuchfield }", "{ hello", "query A { hello } query A { hello }"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        for (int k = 0; k < 2; k++) {
            bool cached;
            int status;
            char *b = post(c, NULL, bad[i], &cached, &status);
            cr_assert(!cached, "%s", bad[i]);
            cr_assert(strstr(b, "\"errors\"") != NULL, "%s: %s", bad[i], b);
            free(b);
        }
    counts(c, 0, 6, 0);
    byron_graphql_doc_cache_free(c);
}

Test(doc_cache, other_limits_neither_read_nor_fill_it) {
    byron_graphql_doc_cache_t *c = byron_graphql_doc_cache_new(8, 1 << 20);
    byron_graphql_limits_t strict;
    byron_graphql_limits_init(&strict);
    strict.max_depth = 2;
    bool cached;
    free(post(c, NULL, "{ dog(id: 1) { friends { id } } }", &cached, NULL)); /* binds the default limits */
    char *b = post(c, &strict, "{ dog(id: 1) { friends { id } } }", &cached, NULL);
    cr_assert(!cached);
    cr_assert(strstr(b, "\"errors\"") != NULL, "the strict limits refuse the depth: %s", b);
    free(b);
    counts(c, 0, 1, 1);
    byron_graphql_doc_cache_free(c);
}

Test(doc_cache, bounds_evict_the_least_recently_used) {
    byron_graphql_doc_cache_t *c = byron_graphql_doc_cache_new(2, 1 << 20);
    bool cached;
    free(post(c, NULL, "{ a: hello }", &cached, NULL));
    free(post(c, NULL, "{ b: hello }", &cached, NULL));
    free(post(c, NULL, "{ a: hello }", &cached, NULL)); /* a is now the most recent */
    cr_assert(cached);
    free(post(c, NULL, "{ c: hello }", &cached, NULL)); /* evicts b */
    counts(c, 1, 3, 2);
    free(post(c, NULL, "{ a: hello }", &cached, NULL));
    cr_assert(cached);
    free(post(c, NULL, "{ b: hello }", &cached, NULL));
    cr_assert(!cached);
    byron_graphql_doc_cache_free(c);
    /* A document larger than the byte bound is executed, not kept. */
    c = byron_graphql_doc_cache_new(8, 64);
    char *b = post(c, NULL, "{ hello }", &cached, NULL);
    cr_assert(strstr(b, "hello world") != NULL, "%s", b);
    free(b);
    counts(c, 0, 1, 0);
    byron_graphql_doc_cache_free(c);
}

Test(doc_cache, a_document_evicted_while_held_stays_valid) {
    byron_graphql_doc_cache_t *c = byron_graphql_doc_cache_new(1, 1 << 20);
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    const char *q = "{ hello }";
    cr_assert_eq(byron_graphql_parse(q, strlen(q), NULL, &doc, &errors), BYRON_OK);
    gql_cached_doc_t *held = gql_doc_cache_put(c, S, NULL, q, strlen(q), doc);
    cr_assert_not_null(held);
    bool cached;
    free(post(c, NULL, "{ other: hello }", &cached, NULL)); /* evicts "{ hello }" */
    counts(c, 0, 1, 1);
    byron_graphql_request_t req = {.document = gql_cached_doc(held), .resolve = fx_resolve};
    json_object *resp = NULL;
    cr_assert_eq(byron_graphql_execute(S, &req, &resp), BYRON_OK);
    cr_assert_str_eq(fx_data(resp), "{\"hello\":\"hello world\"}");
    json_object_put(resp);
    gql_doc_cache_release(c, held); /* the last reference: freed here (ASan: no leak, no use after free) */
    byron_graphql_doc_cache_free(c);
}

typedef struct {
    byron_graphql_doc_cache_t *c;
    int failures;
} hammer_t;

static void *hammer(void *ud) {
    hammer_t *h = ud;
    const char *qs[] = {"{ a: hello }", "{ b: hello }", "{ c: hello }", "{ d: hello }"};
    for (int i = 0; i < 400; i++) {
        byron_graphql_http_options_t o = {.resolve = fx_resolve, .doc_cache = h->c};
        byron_graphql_http_response_t r;
        char body[128];
        snprintf(body, sizeof(body), "{\"query\":\"%s\"}", qs[i % 4]);
        byron_graphql_http_handle(S, &o, "POST", "application/json", "application/json", NULL, body,
                                  strlen(body), &r);
        if (r.status != 200 || strstr(r.body, "hello world") == NULL) h->failures++;
        byron_graphql_http_response_cleanup(&r);
    }
    return NULL;
}

Test(doc_cache, threads_share_it) {
    byron_graphql_doc_cache_t *c =
        byron_graphql_doc_cache_new(3, 1 << 20); /* fewer than the texts: evictions */
    hammer_t h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer_t){c, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        failures += h[i].failures;
    }
    cr_assert_eq(failures, 0);
    uint64_t hits, misses;
    byron_graphql_doc_cache_stats(c, &hits, &misses, NULL, NULL);
    cr_assert_eq(hits + misses, 1600);
    byron_graphql_doc_cache_free(c);
}
