/*
 * graphql_transport.c — libFuzzer target for the two transports. The input
 * is split into lines: the first byte of the input picks the mode.
 *   'h': line 1 method, 2 content type, 3 accept, 4 query string, rest body
 *        → byron_graphql_http_handle(), without and twice with a document
 *        cache kept across inputs (small: it evicts): the three answers must
 *        be the same bytes, a parsed and a cached document alike
 *   otherwise: every line is a graphql-transport-ws message to one machine;
 *        a line "!<id>" pushes an event to subscription <id>, "~<id>" ends it.
 */
#include "byron/graphql.h"
#include "component_schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static byron_component_t *C; /* the schema's ops point into it: kept for the process's life */
static byron_graphql_schema_t *S;
static byron_graphql_doc_cache_t *CACHE; /* kept for the process's life too */

static byron_status_t sub(void *ctx, const char *id, const char *field, json_object *args, void **handle,
                          byron_graphql_field_error_t *err) {
    *handle = ctx;
    return id[0] == 'x' ? byron_graphql_field_error_set(err, BYRON_EREJECTED, "NOPE", "refused %s", field)
                        : BYRON_OK;
}

static void unsub(void *ctx, void *handle) {
    if (handle != ctx) abort();
}

static int dummy;
static const byron_graphql_event_source_t SOURCE = {sub, unsub, &dummy};

static void init(void) {
    json_object *c = json_tokener_parse(
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"fuzz\",\"namespace\":\"fuzz\","
        "\"enums\":[{\"name\":\"S\",\"values\":[\"A\",\"B\"]}],\"models\":[{\"name\":\"Item\","
        "\"fields\":[{\"name\":\"n\",\"type\":\"Int\",\"indexed\":true},{\"name\":\"s\",\"type\":"
        "\"S\"},{\"name\":\"next\",\"type\":\"Item\"}]}],\"commands\":[{\"name\":\"poke\",\"model\":"
        "\"Item\",\"input\":[{\"name\":\"by\",\"type\":\"Int\",\"required\":true}],\"emits\":[\"Poked\"]}]}");
    byron_err_t err = {0};
    if (byron_component_parse(c, &C, &err) != BYRON_OK || byron_component_schema(C, &S, &err) != BYRON_OK) {
        fprintf(stderr, "graphql_transport: the fuzz component is refused: %s\n", err.msg);
        abort();
    }
    json_object_put(c);
    CACHE = byron_graphql_doc_cache_new(4, 64 << 10);
}

/* The answer to one HTTP request, with the cache or without. */
static void http(byron_graphql_doc_cache_t *cache, const char *method, const char *ct, const char *accept,
                 const char *qs, const char *body, size_t len, byron_graphql_http_response_t *r) {
    byron_graphql_http_options_t o = {.doc_cache = cache, .max_data_bytes = 2048}; /* some answers pass it */
    byron_graphql_http_handle(S, &o, method, ct[0] ? ct : NULL, accept[0] ? accept : NULL, qs, body, len, r);
}

static void same_answer(const byron_graphql_http_response_t *a, const byron_graphql_http_response_t *b) {
    if (a->status != b->status || a->body_len != b->body_len ||
        strcmp(a->content_type, b->content_type) != 0 ||
        (a->body_len && memcmp(a->body, b->body, a->body_len) != 0)) {
        fprintf(stderr, "graphql_transport: the cache changed the answer: %d %.*s / %d %.*s\n", a->status,
                (int)a->body_len, a->body, b->status, (int)b->body_len, b->body);
        abort();
    }
}

static char *line(const char **p, const char *end) {
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = strndup(*p, n);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (S == NULL) init();
    const char *p = (const char *)data, *end = p + size;
    if (size > 0 && data[0] == 'h') {
        p++;
        char *method = line(&p, end), *ct = line(&p, end), *accept = line(&p, end), *qs = line(&p, end);
        byron_graphql_http_response_t r[3];
        http(NULL, method, ct, accept, qs, p, (size_t)(end - p), &r[0]);
        for (int i = 1; i < 3; i++) { /* the first may parse and keep it, the second finds it */
            http(CACHE, method, ct, accept, qs, p, (size_t)(end - p), &r[i]);
            same_answer(&r[0], &r[i]);
        }
        for (int i = 0; i < 3; i++) byron_graphql_http_response_cleanup(&r[i]);
        free(method);
        free(ct);
        free(accept);
        free(qs);
        return 0;
    }
    byron_graphql_ws_options_t o = {.source = &SOURCE, .max_subscriptions = 4};
    byron_graphql_ws_t *ws = byron_graphql_ws_new(S, &o);
    json_object *event = json_tokener_parse(
        "{\"sequence\":\"1\",\"type\":\"ItemCreated\",\"model\":\"Item\",\"id\":\"i\",\"version\":1,"
        "\"data\":{\"n\":1}}");
    while (p < end) {
        char *msg = line(&p, end);
        byron_graphql_ws_output_t out;
        if (msg[0] == '!')
            byron_graphql_ws_push_event(ws, msg + 1, event, &out);
        else if (msg[0] == '~')
            byron_graphql_ws_source_end(ws, msg + 1, NULL, &out);
        else
            byron_graphql_ws_receive(ws, msg, strlen(msg), &out);
        byron_graphql_ws_output_cleanup(&out);
        free(msg);
    }
    json_object_put(event);
    byron_graphql_ws_free(ws);
    return 0;
}
