/*
 * test_ws.c — the graphql-transport-ws state machine: handshake, ping/pong,
 * queries and mutations over subscribe, subscriptions fed by a fake event
 * source, completion from both sides, and every close code.
 */
#include "fixtures.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct fake_source {
    int subscribed, unsubscribed;
    char last_field[64];
    char last_args[256];
    int fail;
} fake_source_t;

static byron_status_t fake_subscribe(void *ctx, const char *id, const char *field, json_object *args,
                                     void **handle, byron_graphql_field_error_t *err) {
    fake_source_t *f = ctx;
    if (f->fail) {
        snprintf(err->message, sizeof(err->message), "broker down");
        snprintf(err->code, sizeof(err->code), "UNAVAILABLE");
        return BYRON_EUNAVAILABLE;
    }
    f->subscribed++;
    snprintf(f->last_field, sizeof(f->last_field), "%s", field);
    snprintf(f->last_args, sizeof(f->last_args), "%s",
             json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
    *handle = f;
    return BYRON_OK;
}

static void fake_unsubscribe(void *ctx, void *handle) {
    fake_source_t *f = ctx;
    cr_assert_eq(handle, f);
    f->unsubscribed++;
}

static byron_status_t deny(void *ctx, json_object *payload) {
    json_object *tok = NULL;
    return payload && json_object_object_get_ex(payload, "token", &tok) ? BYRON_OK : BYRON_EREJECTED;
}

static byron_graphql_schema_t *S;
static fake_source_t F;
static byron_graphql_event_source_t SRC = {fake_subscribe, fake_unsubscribe, &F};
static byron_graphql_ws_t *W;
static byron_graphql_ws_output_t O;

static void setup(void) {
    S = fx_schema();
    memset(&F, 0, sizeof(F));
    byron_graphql_ws_options_t o = {.source = &SRC, .resolve = fx_resolve};
    W = byron_graphql_ws_new(S, &o);
}

static void teardown(void) {
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_free(W);
    byron_graphql_schema_free(S);
}

TestSuite(ws, .init = setup, .fini = teardown);

static void in(const char *msg) {
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_receive(W, msg, strlen(msg), &O);
}

static void expect(size_t count, int close_code) {
    cr_assert_eq(O.count, count, "got %zu messages (first: %s), close %d", O.count,
                 O.count ? O.messages[0] : "-", O.close_code);
    cr_assert_eq(O.close_code, close_code, "close %d (%s)", O.close_code, O.close_reason);
}

static void init(void) {
    in("{\"type\":\"connection_init\"}");
    expect(1, 0);
    cr_assert_str_eq(O.messages[0], "{\"type\":\"connection_ack\"}");
}

Test(ws, handshake_ping_pong) {
    in("{\"type\":\"ping\"}");
    expect(1, 0);
    cr_assert_str_eq(O.messages[0], "{\"type\":\"pong\"}");
    in("{\"type\":\"pong\"}");
    expect(0, 0);
    cr_assert_eq(byron_graphql_ws_acknowledged(W), 0);
    init();
    cr_assert_eq(byron_graphql_ws_acknowledged(W), 1);
    in("{\"type\":\"connection_init\"}");
    expect(0, 4429);
}

Test(ws, query_and_mutation_over_subscribe) {
    init();
    in("{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ hello }\"}}");
    expect(2, 0);
    cr_assert_str_eq(O.messages[0],
                     "{\"id\":\"1\",\"type\":\"next\",\"payload\":{\"data\":{\"hello\":\"hello world\"}}}");
    cr_assert_str_eq(O.messages[1], "{\"id\":\"1\",\"type\":\"complete\"}");
    in("{\"id\":\"2\",\"type\":\"subscribe\",\"payload\":{\"query\":\"mutation($n: String!) { "
       "addDog(name: $n) { name } }\",\"variables\":{\"n\":\"Max\"}}}");
    expect(2, 0);
    cr_assert(strstr(O.messages[0], "\"Max\""));
    /* Validation failure → error message, connection stays open. */
    in("{\"id\":\"3\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ nope }\"}}");
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "\"type\":\"error\""));
    cr_assert(strstr(O.messages[0], "Cannot query field"));
    /* Bad variables → error message. */
    in("{\"id\":\"4\",\"type\":\"subscribe\",\"payload\":{\"query\":\"query($n: Int!) { "
       "required(n: $n) }\"}}");
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "\"type\":\"error\""));
    /* Ids of finished operations can be reused. */
    in("{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ hello }\"}}");
    expect(2, 0);
}

Test(ws, subscription_lifecycle) {
    init();
    in("{\"id\":\"s1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription S($e: Int) "
       "{ t: tick(every: $e) }\",\"operationName\":\"S\",\"variables\":{\"e\":5}}}");
    expect(0, 0);
    cr_assert_eq(F.subscribed, 1);
    cr_assert_str_eq(F.last_field, "tick");
    cr_assert_str_eq(F.last_args, "{\"every\":5}");
    json_object *ev = json_object_new_int(7);
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_push_event(W, "s1", ev, &O);
    json_object_put(ev);
    expect(1, 0);
    cr_assert_str_eq(O.messages[0], "{\"id\":\"s1\",\"type\":\"next\",\"payload\":{\"data\":{\"t\":7}}}");

    in("{\"id\":\"s2\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { dogAdded { "
       "name __typename } }\"}}");
    ev = json_tokener_parse("{\"id\":\"5\",\"name\":\"Rex\"}");
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_push_event(W, "s2", ev, &O);
    json_object_put(ev);
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "{\"dogAdded\":{\"name\":\"Rex\",\"__typename\":\"Dog\"}}"));
    /* An event violating non-null: data null with an error. */
    ev = json_tokener_parse("{\"id\":\"5\"}");
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_push_event(W, "s2", ev, &O);
    json_object_put(ev);
    cr_assert(strstr(O.messages[0], "\"data\":null"));

    /* Duplicate id while running → 4409. Use a fresh machine after. */
    in("{\"id\":\"s1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    expect(0, 4409);
    cr_assert_eq(F.unsubscribed, 2); /* closing released both */
}

Test(ws, completion_both_ways) {
    init();
    in("{\"id\":\"a\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    in("{\"id\":\"b\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    cr_assert_eq(F.subscribed, 2);
    in("{\"id\":\"a\",\"type\":\"complete\"}");
    expect(0, 0);
    cr_assert_eq(F.unsubscribed, 1);
    in("{\"id\":\"unknown\",\"type\":\"complete\"}");
    expect(0, 0);
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_source_end(W, "b", NULL, &O);
    expect(1, 0);
    cr_assert_str_eq(O.messages[0], "{\"id\":\"b\",\"type\":\"complete\"}");
    cr_assert_eq(F.unsubscribed, 1);
    in("{\"id\":\"c\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    byron_graphql_field_error_t e = {.message = "stream deleted", .code = "STREAM_GONE"};
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_source_end(W, "c", &e, &O);
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "\"type\":\"error\""));
    cr_assert(strstr(O.messages[0], "STREAM_GONE"));
    /* Events for finished subscriptions are dropped. */
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_push_event(W, "c", NULL, &O);
    expect(0, 0);
    /* Source failure → error message. */
    F.fail = 1;
    in("{\"id\":\"d\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "broker down"));
}

Test(ws, close_codes) {
    in("{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ hello }\"}}");
    expect(0, 4401);
    /* A closed machine ignores input. */
    in("{\"type\":\"ping\"}");
    expect(0, 0);
}

Test(ws, invalid_messages) {
    const char *bad[] = {
        "not json",
        "[]",
        "{\"type\": 3}",
        "{\"type\":\"unknown\"}",
        "{\"type\":\"subscribe\",\"payload\":{\"query\":\"{ hello }\"}}",
        "{\"id\":\"1\",\"type\":\"subscribe\"}",
        "{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":3}}",
        "{\"type\":\"complete\"}",
        "{\"type\":\"connection_init\",\"payload\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        byron_graphql_ws_free(W);
        byron_graphql_ws_options_t o = {.source = &SRC};
        W = byron_graphql_ws_new(S, &o);
        if (i >= 4 && i != 8) init();
        in(bad[i]);
        cr_assert_eq(O.close_code, 4400, "case %zu: close %d", i, O.close_code);
    }
}

Test(ws, init_rejected_and_timeout) {
    byron_graphql_ws_free(W);
    byron_graphql_ws_options_t o = {.source = &SRC, .authorize = deny};
    W = byron_graphql_ws_new(S, &o);
    in("{\"type\":\"connection_init\",\"payload\":{}}");
    expect(0, 4403);
    byron_graphql_ws_free(W);
    W = byron_graphql_ws_new(S, &o);
    in("{\"type\":\"connection_init\",\"payload\":{\"token\":\"t\"}}");
    expect(1, 0);
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_timeout(W, &O);
    expect(0, 0);
    byron_graphql_ws_free(W);
    W = byron_graphql_ws_new(S, &o);
    byron_graphql_ws_output_cleanup(&O);
    byron_graphql_ws_timeout(W, &O);
    expect(0, 4408);
}

Test(ws, subscription_limit) {
    byron_graphql_ws_free(W);
    byron_graphql_ws_options_t o = {.source = &SRC, .max_subscriptions = 1};
    W = byron_graphql_ws_new(S, &o);
    init();
    in("{\"id\":\"a\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    expect(0, 0);
    in("{\"id\":\"b\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { tick }\"}}");
    expect(1, 0);
    cr_assert(strstr(O.messages[0], "TOO_MANY_SUBSCRIPTIONS"));
}
