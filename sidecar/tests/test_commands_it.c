/* test_commands_it.c — the api sidecar against real nats-server, FerretDB and
 * the reference apps: events in the stream, hooks, app failures, concurrency,
 * idempotency, a broker restart, cache reads, shutdown. */
#include "byron/json.h"
#include "envelope.h"
#include "harness.h"
#include "jpath.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "a.b.0.c": objects by key, arrays by index (jpath's walk, with dots). */
static json_object *jget(json_object *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf; *p; p++)
        if (*p == '.') *p = '|';
    return at(o, buf);
}
static const char *jstr(json_object *o, const char *path) { return json_object_get_string(jget(o, path)); }
static int64_t jint(json_object *o, const char *path) { return json_object_get_int64(jget(o, path)); }

static void subject_of(h_sidecar_t *sc, const char *model, const char *id, char *buf, size_t cap) {
    snprintf(buf, cap, "byron.it.%s.%u.%s.%s", sc->component, byron_partition(model, id, 8), model, id);
}

Test(commands_it, generated_commands_produce_well_formed_events, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "gen", NULL, NULL);
    h_sink_t k; /* a delete releases unique values: it reads the aggregate's state */
    h_sink_start(&k, sc.config, 0, NULL, NULL, NULL);
    h_resp_t r;
    cr_assert_eq(h_command(&sc, "createOrder",
                           "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann\",\"status\":\"OPEN\"}}", &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 1);
    uint64_t seq1 = (uint64_t)jint(r.json, "sequences.0");
    cr_assert_gt(seq1, 0);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"o-1\",\"input\":{\"status\":\"SHIPPED\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 2);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "deleteOrder", "{\"id\":\"o-1\"}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 3);
    h_resp_free(&r);
    /* Generated id for a create without one. */
    cr_assert_eq(h_command(&sc, "createOrder", "{\"input\":{\"customer\":\"bob\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(byron_id_is_valid(jstr(r.json, "id")));
    h_resp_free(&r);

    /* Failures, each with its code. */
    static const struct {
        const char *cmd, *body, *code;
        long status;
    } BAD[] = {
        {"updateOrder", "{\"id\":\"o-1\",\"input\":{\"status\":\"OPEN\"}}", "NOT_FOUND", 404}, /* deleted */
        {"updateOrder", "{\"id\":\"nope\",\"input\":{\"status\":\"OPEN\"}}", "NOT_FOUND", 404},
        {"deleteOrder", "{\"id\":\"nope\"}", "NOT_FOUND", 404},
        {"createOrder", "{\"id\":\"o-2\",\"input\":{\"status\":\"OPEN\"}}", "BAD_USER_INPUT",
         400}, /* customer required */
        {"createOrder", "{\"id\":\"a.b\",\"input\":{\"customer\":\"x\"}}", "BAD_USER_INPUT", 400},
        {"createOrder", "{\"id\":\"o-3\",\"input\":{\"customer\":\"x\",\"status\":\"LOST\"}}",
         "BAD_USER_INPUT", 400},
        {"createNothing", "{}", "BAD_USER_INPUT", 400},
        {"createOrder", "not json", "BAD_USER_INPUT", 400},
        {"shipOrder", "{\"id\":\"o-9\",\"input\":{\"carrier\":\"ups\"}}", "NOT_FOUND", 404},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        cr_assert_eq(h_command(&sc, BAD[i].cmd, BAD[i].body, &r), 0);
        cr_assert_eq(r.status, BAD[i].status, "case %zu: %s", i, r.body);
        cr_assert_str_eq(h_error_code(&r), BAD[i].code, "case %zu: %s", i, r.body);
        h_resp_free(&r);
    }
    /* Re-create after delete: allowed, the version continues. */
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 4);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert_str_eq(h_error_code(&r), "CONFLICT");
    h_resp_free(&r);

    char subject[256];
    subject_of(&sc, "Order", "o-1", subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 4, "%s", byron_json_compact(evs));
    static const char *const TYPES[] = {"OrderCreated", "OrderUpdated", "OrderDeleted", "OrderCreated"};
    for (size_t i = 0; i < 4; i++) {
        json_object *e = json_object_array_get_idx(evs, i);
        json_object *env = jget(e, "event");
        byron_err_t err = {0};
        cr_assert_eq(byron_event_validate(env, &err), BYRON_OK, "%s", err.msg);
        cr_assert_str_eq(jstr(env, "type"), TYPES[i]);
        cr_assert_str_eq(jstr(env, "subject"), "o-1");
        cr_assert_eq(jint(env, "byronversion"), (int64_t)i + 1);
        cr_assert_str_eq(jstr(env, "byronmodel"), "Order");
        char src[128];
        snprintf(src, sizeof src, "/byron/it/%s", sc.component);
        cr_assert_str_eq(jstr(env, "source"), src);
        cr_assert_not_null(jstr(e, "msgid"));
        cr_assert_null(jget(env, "byronsequence"), "the sequence is not part of the stored payload");
    }
    cr_assert_eq((uint64_t)jint(evs, "0.seq"), seq1);
    cr_assert_str_eq(jstr(evs, "0.event.data.customer"), "ann");
    cr_assert_str_eq(jstr(evs, "1.event.data.status"), "SHIPPED");
    cr_assert_null(jget(evs, "1.event.data.customer"), "an update carries the changed fields only");
    cr_assert_eq(json_object_object_length(jget(evs, "2.event.data")), 0);
    json_object_put(evs);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
}

static void app_protocol(const char *lang) {
    h_sidecar_t sc;
    const char *extra[] = {"--app-timeout-ms", "400", NULL};
    h_sidecar_start(&sc, lang, lang, extra);
    h_sink_t sink; /* hooks decide on the projected state */
    h_sink_start(&sink, sc.config, 0, NULL, NULL, NULL);
    h_resp_t r;
    /* Before hook rejects: message and app code reach the caller. */
    cr_assert_eq(h_command(&sc, "createOrder",
                           "{\"id\":\"r-1\",\"input\":{\"customer\":\"ann\",\"reject\":\"out of stock\"}}",
                           &r),
                 0);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert_str_eq(h_error_code(&r), "REJECTED");
    cr_assert_str_eq(jstr(r.json, "error.message"), "out of stock");
    cr_assert_str_eq(jstr(r.json, "error.appCode"), "REJECTED_BY_APP");
    h_resp_free(&r);
    /* Slow app: a timeout, cleanly. */
    cr_assert_eq(
        h_command(&sc, "createOrder", "{\"id\":\"r-1\",\"input\":{\"customer\":\"ann\",\"slow\":1.5}}", &r),
        0);
    cr_assert_eq(r.status, 504, "%s", r.body);
    cr_assert_str_eq(h_error_code(&r), "APP_TIMEOUT");
    h_resp_free(&r);
    /* Garbage answer: an app error naming the problem. */
    cr_assert_eq(h_command(&sc, "createOrder",
                           "{\"id\":\"r-1\",\"input\":{\"customer\":\"ann\",\"garbage\":true}}", &r),
                 0);
    cr_assert_eq(r.status, 502, "%s", r.body);
    cr_assert_str_eq(h_error_code(&r), "APP_ERROR");
    cr_assert_not_null(strstr(jstr(r.json, "error.message"), "invalid JSON"), "%s", r.body);
    h_resp_free(&r);
    /* Nothing of the above reached the stream. */
    char subject[256];
    subject_of(&sc, "Order", "r-1", subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 0);
    json_object_put(evs);
    /* Accepted create, then a custom command whose event the app returns. */
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"r-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "shipOrder", "{\"id\":\"r-1\",\"input\":{\"carrier\":\"ups\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 2);
    cr_assert_str_eq(jstr(r.json, "events.0.type"), "OrderShipped");
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "shipOrder",
                           "{\"id\":\"r-1\",\"input\":{\"carrier\":\"ups\",\"reject\":\"already shipped\"}}",
                           &r),
                 0);
    cr_assert_eq(r.status, 422, "%s", r.body);
    h_resp_free(&r);
    /* An undeclared event type after a good one: APP_ERROR, nothing written. */
    cr_assert_eq(
        h_command(&sc, "shipOrder", "{\"id\":\"r-1\",\"input\":{\"carrier\":\"x\",\"badEvent\":true}}", &r),
        0);
    cr_assert_eq(r.status, 502, "%s", r.body);
    cr_assert_not_null(strstr(jstr(r.json, "error.message"), "NotDeclared"), "%s", r.body);
    h_resp_free(&r);
    /* Three events from one command: consecutive versions and sequences. */
    cr_assert_eq(
        h_command(&sc, "shipOrder", "{\"id\":\"r-1\",\"input\":{\"carrier\":\"dhl\",\"repeat\":3}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "version"), 5);
    cr_assert_eq(json_object_array_length(jget(r.json, "sequences")), 3);
    cr_assert_eq(jint(r.json, "events.2.byronversion"), 5);
    h_resp_free(&r);
    evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 5);
    for (size_t k = 0; k < 5; k++)
        cr_assert_eq(jint(json_object_array_get_idx(evs, k), "event.byronversion"), (int64_t)k + 1);
    cr_assert_str_eq(jstr(evs, "1.event.type"), "OrderShipped");
    cr_assert_str_eq(jstr(evs, "1.event.data.carrier"), "ups");
    byron_err_t err = {0};
    cr_assert_eq(byron_event_validate(jget(evs, "1.event"), &err), BYRON_OK, "%s", err.msg);
    json_object_put(evs);
    /* The after hook ran for both accepted commands. */
    cr_assert_eq(h_http(sc.app_sock, 0, "GET", "/v1/stats", NULL, 2000, &r), 0);
    cr_assert_eq(jint(r.json, "after"), 3, "%s", r.body);
    cr_assert_eq(jint(r.json, "command"), 3, "%s", r.body);
    h_resp_free(&r);
    /* The app-call metric counted the timeout. */
    cr_assert_eq(h_http(NULL, sc.admin_port, "GET", "/metrics", NULL, 2000, &r), 0);
    cr_assert_not_null(strstr(r.body, "byron_sidecar_app_calls_total{hook=\"before\",outcome=\"timeout\"} 1"),
                       "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
    cr_assert_eq(h_sink_stop(&sink, SIGTERM), 0);
    /* The app read the sidecar's metadata during its own start-up. */
    FILE *f = fopen(sc.app_log, "r");
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_not_null(strstr(buf, "sidecar metadata"), "%s", buf);
}

Test(commands_it, app_protocol_python, .timeout = 60) { app_protocol("python"); }
Test(commands_it, app_protocol_node, .timeout = 60) { app_protocol("node"); }

/* A generated command whose before hook the app lacks (404) needs no state:
 * once learned, it runs with the sink away. A hook that appears is consulted
 * on the state at once (here: the sink is away, so the command waits for it). */
Test(commands_it, a_missing_before_hook_needs_no_state_until_it_appears, .timeout = 120) {
    h_sidecar_t sc;
    const char *extra[] = {"--state-wait-ms", "300", NULL};
    h_sidecar_start(&sc, "nohook", "python", extra);
    h_resp_t r;
    cr_assert_eq(h_http(sc.app_sock, 0, "POST", "/v1/control", "{\"noHooks\":true}", 2000, &r), 0);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"n-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    /* No sink runs: the first update cannot know the hook is absent, so it waits for state. */
    cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"n-1\",\"input\":{\"status\":\"OPEN\"}}", &r), 0);
    cr_assert_eq(r.status, 503, "%s", r.body);
    h_resp_free(&r);
    h_sink_t k;
    h_sink_start(&k, sc.config, 0, NULL, NULL, NULL);
    cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"n-1\",\"input\":{\"status\":\"OPEN\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body); /* ... and learns the 404 */
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    for (int i = 0; i < 3; i++) { /* the sink is away: updates run without state */
        cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"n-1\",\"input\":{\"status\":\"SHIPPED\"}}", &r),
                     0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        h_resp_free(&r);
    }
    /* The hook appears: the command waits for the state again (and the sink is away). */
    cr_assert_eq(h_http(sc.app_sock, 0, "POST", "/v1/control", "{\"noHooks\":false}", 2000, &r), 0);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"n-1\",\"input\":{\"status\":\"OPEN\"}}", &r), 0);
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_not_null(strstr(jstr(r.json, "error.message"), "has not projected"), "%s", r.body);
    h_resp_free(&r);
    /* With the sink back, the hook decides on the exact state. */
    h_sink_start(&k, sc.config, 0, NULL, NULL, NULL);
    cr_assert_eq(h_command(&sc, "updateOrder", "{\"id\":\"n-1\",\"input\":{\"status\":\"OPEN\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

/* The reference app's counters (/v1/stats; the app on app_sock): calls of
 * before and after hooks, every POST from the sidecar, reads of GET /v1/hooks. */
static void app_calls_are(const char *app_sock, int64_t before, int64_t after, int64_t posts, int64_t reads) {
    h_resp_t r;
    cr_assert_eq(h_http(app_sock, 0, "GET", "/v1/stats", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(jint(r.json, "before"), before, "%s", r.body);
    cr_assert_eq(jint(r.json, "after"), after, "%s", r.body);
    cr_assert_eq(jint(r.json, "posts"), posts, "%s", r.body);
    cr_assert_eq(jint(r.json, "hooksRead"), reads, "%s", r.body);
    h_resp_free(&r);
}

static void create_order(h_sidecar_t *sc, const char *id, const char *extra, long status) {
    char body[256];
    h_resp_t r;
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"customer\":\"ann\"%s}}", id, extra);
    cr_assert_eq(h_command(sc, "createOrder", body, &r), 0);
    cr_assert_eq(r.status, status, "%s", r.body);
    h_resp_free(&r);
}

/* Declared hooks (GET /v1/hooks): a hook the app leaves out is not called —
 * counted on both sides —, and an app that starts again (a new socket) is
 * asked again before the first call through it. No declaration, or one that
 * is not valid: every hook is called. The reference app serves every hook
 * whatever it declares, so its counters show what the sidecar called. A sink
 * beside an app that declares no event handler projects without a call. */
static void declared_hooks(const char *lang) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "declared", lang, NULL);
    char *after_only[] = {"REFAPP_HOOKS=[\"/v1/commands/createOrder/after\"]", NULL};
    h_sidecar_app_restart(&sc, lang, after_only);
    for (int i = 0; i < 3; i++) { /* the before hook would reject: it is not called */
        char id[16];
        snprintf(id, sizeof id, "d-%d", i);
        create_order(&sc, id, ",\"reject\":\"no\"", 200);
    }
    app_calls_are(sc.app_sock, 0, 3, 3, 1);
    cr_assert(h_metric_is(sc.admin_port,
                          "byron_sidecar_app_calls_total{hook=\"before\",outcome=\"undeclared\"} 3"));
    cr_assert(h_metric_is(sc.admin_port, "byron_sidecar_app_calls_total{hook=\"after\",outcome=\"ok\"} 3"));
    /* Started again, declaring its before hook: the first command is asked. */
    char *before_only[] = {"REFAPP_HOOKS=[\"/v1/commands/createOrder/before\"]", NULL};
    h_sidecar_app_restart(&sc, lang, before_only);
    create_order(&sc, "d-3", ",\"reject\":\"no\"", 422);
    create_order(&sc, "d-4", "", 200);
    app_calls_are(sc.app_sock, 2, 0, 2, 1);
    /* No declaration (404), then one that is not valid: every hook is called. */
    h_sidecar_app_restart(&sc, lang, NULL);
    create_order(&sc, "d-5", "", 200);
    app_calls_are(sc.app_sock, 1, 1, 2, 1);
    char *invalid[] = {"REFAPP_HOOKS={\"createOrder\":[\"before\"]}", NULL};
    h_sidecar_app_restart(&sc, lang, invalid);
    create_order(&sc, "d-6", ",\"reject\":\"no\"", 422);
    create_order(&sc, "d-7", "", 200);
    app_calls_are(sc.app_sock, 2, 1, 3, 1);
    cr_assert(h_file_contains(sc.log, "hook declaration ignored"));
    /* An answer over the 1 MiB limit declares nothing either: every hook is called. */
    char *too_large[] = {"REFAPP_HOOKS=too-large", NULL};
    h_sidecar_app_restart(&sc, lang, too_large);
    create_order(&sc, "d-8", ",\"reject\":\"no\"", 422);
    create_order(&sc, "d-9", "", 200);
    app_calls_are(sc.app_sock, 2, 1, 3, 1);
    /* The sink: seven OrderCreated events, the default projection, no call. */
    h_sink_t k;
    char *none[] = {"REFAPP_HOOKS=[]", NULL};
    h_sink_start(&k, sc.config, strcmp(lang, "node") == 0 ? 2 : 1, NULL, none, NULL);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "projected", 7, 30000), 7, "see %s", k.log);
    app_calls_are(k.app_sock, 0, 0, 0, 1);
    cr_assert(h_metric_is(k.admin, "byron_sidecar_app_calls_total{hook=\"event\",outcome=\"undeclared\"} 7"));
    h_assert_fold_equals_cache(sc.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

Test(commands_it, only_declared_hooks_are_called_python, .timeout = 120) { declared_hooks("python"); }
Test(commands_it, only_declared_hooks_are_called_node, .timeout = 120) { declared_hooks("node"); }

/* POSTs a GraphQL document; the body (caller frees). */
static char *graphql_post(h_sidecar_t *sc, const char *query) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "query", json_object_new_string(query));
    h_resp_t r;
    cr_assert_eq(h_http(NULL, sc->port, "POST", "/graphql", json_object_to_json_string(b), 5000, &r), 0);
    json_object_put(b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    char *body = strdup(r.body);
    h_resp_free(&r);
    return body;
}

static void documents_counted(h_sidecar_t *sc, int hits, int misses) {
    char hit[128], miss[128];
    snprintf(hit, sizeof hit, "byron_sidecar_graphql_documents_total{outcome=\"hit\"} %d", hits);
    snprintf(miss, sizeof miss, "byron_sidecar_graphql_documents_total{outcome=\"miss\"} %d", misses);
    cr_assert(h_metric_is(sc->admin_port, hit), "want %s", hit);
    cr_assert(h_metric_is(sc->admin_port, miss), "want %s", miss);
}

/* The api's document cache: the same text again is neither parsed nor
 * validated (counted), yet executed again (a mutation sent three times
 * appends three events); invalid documents are never kept. */
Test(commands_it, graphql_documents_sent_again_are_not_parsed_again, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "doccache", NULL, NULL);
    h_resp_t r;
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"dc-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    const char *m = "mutation { updateOrder(id: \"dc-1\", input: {status: OPEN}) { id version } }";
    for (int v = 2; v <= 4; v++) {
        char *body = graphql_post(&sc, m), want[64];
        snprintf(want, sizeof want, "\"version\":%d", v);
        cr_assert(strstr(body, want) != NULL, "want %s in %s", want, body);
        free(body);
    }
    documents_counted(&sc, 2, 1);
    char *other = graphql_post(&sc, "{ order(id: \"dc-1\") { id } }"); /* another text: parsed */
    cr_assert(strstr(other, "\"data\"") != NULL, "%s", other);
    free(other);
    documents_counted(&sc, 2, 2);
    for (int i = 0; i < 2; i++) {
        char *bad = graphql_post(&sc, "{ order(id: \"dc-1\") { nosuchfield } }");
        cr_assert(strstr(bad, "\"errors\"") != NULL, "%s", bad);
        free(bad);
    }
    documents_counted(&sc, 2, 4);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

/* --graphql-max-response-bytes: a response whose data would pass it is
 * 400 RESPONSE_TOO_LARGE without data; a small one still answers. */
Test(commands_it, graphql_response_past_its_bound_is_refused, .timeout = 60) {
    const char *extra[] = {"--graphql-max-response-bytes", "1024", NULL};
    h_sidecar_t sc;
    h_sidecar_start(&sc, "bigresp", NULL, extra);
    h_resp_t r;
    const char *big =
        "{\"query\":\"{ __schema { types { name description fields { name description } } } }\"}";
    cr_assert_eq(h_http(NULL, sc.port, "POST", "/graphql", big, 5000, &r), 0);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "errors.0.extensions.code"), "RESPONSE_TOO_LARGE", "%s", r.body);
    cr_assert_null(jget(r.json, "data"), "%s", r.body);
    /* The engine stopped it (the sidecar's check after the fact says "would be N bytes"). */
    cr_assert(strstr(jstr(r.json, "errors.0.message"), "larger than the 1024 bytes allowed") != NULL, "%s",
              r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(NULL, sc.port, "POST", "/graphql", "{\"query\":\"{ __typename }\"}", 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "data.__typename"), "Query", "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

Test(commands_it, app_down_is_a_clean_error, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "down", "python", NULL);
    kill(sc.app_pid, SIGKILL);
    cr_assert_eq(h_wait_exit(sc.app_pid, 5000), 128 + SIGKILL);
    sc.app_pid = 0;
    h_resp_t r;
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"d-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(h_error_code(&r), "UNAVAILABLE");
    cr_assert_not_null(strstr(jstr(r.json, "error.message"), "app is not reachable"), "%s", r.body);
    h_resp_free(&r);
    /* Readiness reports the app separately. */
    for (int i = 0; i < 40; i++) {
        cr_assert_eq(h_http(NULL, sc.admin_port, "GET", "/readyz", NULL, 2000, &r), 0);
        if (r.status == 503) break;
        h_resp_free(&r);
        usleep(100000);
    }
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_eq(json_object_get_boolean(jget(r.json, "checks.app.ok")), 0);
    cr_assert_eq(json_object_get_boolean(jget(r.json, "checks.nats.ok")), 1);
    cr_assert_eq(json_object_get_boolean(jget(r.json, "checks.mongodb.ok")), 1);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

#define WRITERS 50

typedef struct {
    h_sidecar_t *sc;
    h_sidecar_t *sc2; /* odd writers go to a second replica, when set */
    int i;
    char key[64];
    long status;
    uint64_t seq;
    int64_t version;
    int duplicate;
    char body[4096];
} writer_t;

static void *writer(void *arg) {
    writer_t *w = arg;
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"hot\",\"input\":{\"count\":%d},\"idempotencyKey\":\"%s\"}", w->i,
             w->key);
    h_resp_t r;
    h_sidecar_t *target = w->sc2 && (w->i % 2) ? w->sc2 : w->sc;
    if (h_command(target, "updateOrder", body, &r) == 0) {
        w->status = r.status;
        if (r.status == 200) {
            w->seq = (uint64_t)jint(r.json, "sequences.0");
            w->version = jint(r.json, "version");
            w->duplicate = json_object_get_boolean(jget(r.json, "duplicate"));
        }
        snprintf(w->body, sizeof w->body, "%s", r.body ? r.body : "");
    }
    h_resp_free(&r);
    return NULL;
}

static void run_writers(writer_t *ws) {
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) pthread_create(&t[i], NULL, writer, &ws[i]);
    for (int i = 0; i < WRITERS; i++) pthread_join(t[i], NULL);
}

static void concurrent_writers(int replicas) {
    h_sidecar_t sc, sc2;
    const char *extra[] = {"--workers", "8", "--max-attempts", "50", NULL};
    h_sidecar_start(&sc, "hot", NULL, extra);
    if (replicas == 2) {
        char same[80];
        snprintf(same, sizeof same, "=%s", sc.component);
        h_sidecar_start(&sc2, same, NULL, extra);
    }
    h_resp_t r;
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"hot\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    writer_t ws[WRITERS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < WRITERS; i++) {
        ws[i].sc = &sc;
        ws[i].sc2 = replicas == 2 ? &sc2 : NULL;
        ws[i].i = i;
        snprintf(ws[i].key, sizeof ws[i].key, "w-%d", i);
    }
    run_writers(ws);
    int accepted = 0;
    for (int i = 0; i < WRITERS; i++) {
        cr_assert(ws[i].status == 200 || ws[i].status == 409, "writer %d: HTTP %ld", i, ws[i].status);
        if (ws[i].status == 200) accepted++;
    }
    cr_assert_gt(accepted, WRITERS / 2, "only %d of %d accepted", accepted, WRITERS);
    char subject[256];
    subject_of(&sc, "Order", "hot", subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    size_t n = json_object_array_length(evs);
    cr_assert_eq(n, (size_t)accepted + 1, "%zu events for %d accepted updates + 1 create", n, accepted);
    /* Versions follow stream order exactly: 1, 2, 3, ... (never interleaved). */
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(jint(json_object_array_get_idx(evs, k), "event.byronversion"), (int64_t)k + 1);
    /* Every accepted command is exactly once in the stream, at the sequence and version it was told. */
    for (int i = 0; i < WRITERS; i++) {
        if (ws[i].status != 200) continue;
        int found = 0;
        for (size_t k = 0; k < n; k++) {
            json_object *e = json_object_array_get_idx(evs, k);
            if (json_object_get_int(jget(e, "event.data.count")) == i && jget(e, "event.data.count")) {
                found++;
                cr_assert_eq((uint64_t)jint(e, "seq"), ws[i].seq,
                             "writer %d (dup %d): stream seq %lld, told %llu; %s", i, ws[i].duplicate,
                             (long long)jint(e, "seq"), (unsigned long long)ws[i].seq, ws[i].body);
                cr_assert_eq(jint(e, "event.byronversion"), ws[i].version, "writer %d: %s", i, ws[i].body);
            }
        }
        cr_assert_eq(found, 1, "writer %d found %d times", i, found);
    }
    json_object_put(evs);
    /* Re-send the accepted ones with their keys: no new events, the original answers. */
    writer_t again[WRITERS];
    memcpy(again, ws, sizeof again);
    for (int i = 0; i < WRITERS; i++) again[i].status = 0;
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        if (ws[i].status == 200) pthread_create(&t[i], NULL, writer, &again[i]);
    for (int i = 0; i < WRITERS; i++)
        if (ws[i].status == 200) pthread_join(t[i], NULL);
    for (int i = 0; i < WRITERS; i++) {
        if (ws[i].status != 200) continue;
        cr_assert_eq(again[i].status, 200, "resend %d: %ld", i, again[i].status);
        cr_assert(again[i].duplicate, "resend %d not reported as duplicate", i);
        cr_assert_eq(again[i].seq, ws[i].seq, "resend %d: seq %llu vs %llu: %s", i,
                     (unsigned long long)again[i].seq, (unsigned long long)ws[i].seq, again[i].body);
    }
    evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), (size_t)accepted + 1);
    json_object_put(evs);
    cr_assert_eq(h_http(NULL, sc.admin_port, "GET", "/metrics", NULL, 2000, &r), 0);
    const char *cl = strstr(r.body, "byron_sidecar_command_conflicts_total{");
    cr_log_info("conflict retries: %.*s", cl ? (int)strcspn(cl, "\n") : 4, cl ? cl : "none");
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
    if (replicas == 2) cr_assert_eq(h_sidecar_stop(&sc2), 0);
}

Test(commands_it, concurrent_writers_on_one_aggregate, .timeout = 120) { concurrent_writers(1); }
/* Two API replicas of one component: the stream serialises them as it does threads. */
Test(commands_it, concurrent_writers_across_two_replicas, .timeout = 120) { concurrent_writers(2); }

/* An api sidecar remembers the last event it appended per aggregate
 * (tail_cache.h) and may start a command from it; another replica's appends
 * make that hint stale. A stale hint may cost a retry, never a wrong answer:
 * a refusal (NOT_FOUND, CONFLICT "already exists") is only given on the
 * stream's latest event. Each step below would be refused on replica A's own
 * last append. */
Test(commands_it, a_replica_answers_on_the_stream_not_on_its_own_last_append, .timeout = 120) {
    h_sidecar_t a, b;
    h_sidecar_start(&a, "tail", NULL, NULL);
    char same[80];
    snprintf(same, sizeof same, "=%s", a.component);
    h_sidecar_start(&b, same, NULL, NULL);
    static const struct {
        h_sidecar_t *on;
        const char *command, *body;
        int64_t version; /* the aggregate's version after it */
    } STEPS[] = {
        {NULL, "createOrder", "{\"id\":\"t-1\",\"input\":{\"customer\":\"ann\"}}", 1},
        {NULL, "deleteOrder", "{\"id\":\"t-1\"}", 2},
        {(h_sidecar_t *)1, "createOrder", "{\"id\":\"t-1\",\"input\":{\"customer\":\"bob\"}}", 3},
        {NULL, "updateOrder", "{\"id\":\"t-1\",\"input\":{\"status\":\"OPEN\"}}", 4}, /* A: "was deleted" */
        {(h_sidecar_t *)1, "deleteOrder", "{\"id\":\"t-1\"}", 5},
        {NULL, "createOrder", "{\"id\":\"t-1\",\"input\":{\"customer\":\"cy\"}}", 6}, /* A: "exists" */
    };
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        h_sidecar_t *on = STEPS[i].on ? &b : &a;
        h_resp_t r;
        cr_assert_eq(h_command(on, STEPS[i].command, STEPS[i].body, &r), 0);
        cr_assert_eq(r.status, 200, "step %zu (%s on %s): HTTP %ld %s", i, STEPS[i].command,
                     on == &a ? "A" : "B", r.status, r.body);
        cr_assert_eq(jint(r.json, "version"), STEPS[i].version, "step %zu: %s", i, r.body);
        h_resp_free(&r);
    }
    /* And what A refuses, it refuses on the latest event: t-1 exists (version 6). */
    h_resp_t r;
    cr_assert_eq(h_command(&a, "createOrder", "{\"id\":\"t-1\",\"input\":{\"customer\":\"dee\"}}", &r), 0);
    cr_assert_eq(r.status, 409, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_command(&b, "deleteOrder", "{\"id\":\"t-1\"}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_command(&a, "updateOrder", "{\"id\":\"t-1\",\"input\":{\"status\":\"OPEN\"}}", &r), 0);
    cr_assert_eq(r.status, 404, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&a), 0);
    cr_assert_eq(h_sidecar_stop(&b), 0);
}

/* ---- NATS outages: a restart and a crash mid-burst ---------------------- */

/* What a client is told to do: an answer 200 is final; no answer, or a 5xx, is
 * ambiguous, so the same command goes again with the same idempotency key
 * until it is answered 200. Each writer counts what the test asserts (on its
 * own thread, after the join). */
#define OUTAGE_WRITERS 4
#define OUTAGE_MAX_COMMANDS 2000
#define OUTAGE_COMMAND_DEADLINE_MS 90000

typedef struct {
    atomic_int stop;
    _Atomic int64_t down_ms, up_ms; /* the outage: server stopped at, ready again at (0: not yet) */
    atomic_int accepted;            /* commands answered 200, all writers */
    atomic_int started_during;      /* attempts that started while the server was down */
    atomic_int failed_during;       /* attempts that ended without an answer 200 while it was down */
    atomic_int started_after;       /* commands first sent once it was back */
    _Atomic int64_t last_start_ms;  /* when the latest attempt started */
} outage_t;

typedef struct {
    h_sidecar_t *sc;
    outage_t *o;
    int t;
    int n, accepted, retried, failed_attempts, max_attempts;
    int overlapping;   /* attempts whose time span overlaps the outage */
    char failure[400]; /* a command refused for good or never accepted: the test fails on it */
    char ids[OUTAGE_MAX_COMMANDS][24];
    uint64_t seqs[OUTAGE_MAX_COMMANDS];
} outage_writer_t;

static int64_t outage_now(void) { return h_mono_ms(); }

static void *outage_writer(void *arg) {
    outage_writer_t *w = arg;
    outage_t *o = w->o;
    while (!atomic_load(&o->stop) && w->n < OUTAGE_MAX_COMMANDS && !w->failure[0]) {
        char body[256], *id = w->ids[w->n];
        snprintf(id, sizeof w->ids[0], "t%d-%d", w->t, w->n);
        snprintf(body, sizeof body,
                 "{\"id\":\"%s\",\"input\":{\"customer\":\"c\"},\"idempotencyKey\":\"k-%s\"}", id, id);
        if (atomic_load(&o->up_ms)) atomic_fetch_add(&o->started_after, 1);
        int64_t deadline = outage_now() + OUTAGE_COMMAND_DEADLINE_MS;
        for (int attempt = 1;; attempt++) {
            int64_t start = outage_now();
            int64_t down = atomic_load(&o->down_ms), up = atomic_load(&o->up_ms);
            if (down && !up) atomic_fetch_add(&o->started_during, 1);
            atomic_store(&o->last_start_ms, start);
            h_resp_t r;
            int rc = h_command(w->sc, "createOrder", body, &r);
            int64_t end = outage_now();
            down = atomic_load(&o->down_ms), up = atomic_load(&o->up_ms);
            w->overlapping += down && end >= down && (!up || start <= up);
            if (rc == 0 && r.status == 200) {
                w->seqs[w->n] = (uint64_t)jint(r.json, "sequences.0");
                w->accepted++;
                atomic_fetch_add(&o->accepted, 1);
                w->retried += attempt > 1;
                if (attempt > w->max_attempts) w->max_attempts = attempt;
                h_resp_free(&r);
                break;
            }
            w->failed_attempts++;
            if (down && !up) atomic_fetch_add(&o->failed_during, 1);
            if (rc == 0 && r.status >= 400 &&
                r.status < 500) /* a refusal is final: not what an outage gives */
                snprintf(w->failure, sizeof w->failure, "%s: HTTP %ld %s", id, r.status,
                         r.body ? r.body : "");
            else if (end > deadline)
                snprintf(w->failure, sizeof w->failure, "%s: not accepted within %d s (%d attempts)", id,
                         OUTAGE_COMMAND_DEADLINE_MS / 1000, attempt);
            h_resp_free(&r);
            if (w->failure[0]) break;
            h_sleep_ms(50); /* a client's pause before it sends again */
        }
        w->n += !w->failure[0];
    }
    return NULL;
}

/* Wait (deadline) until the counter reaches want; 0 if it did not. */
static int outage_wait(atomic_int *counter, int want, int timeout_ms) {
    int64_t deadline = outage_now() + timeout_ms;
    while (atomic_load(counter) < want && outage_now() < deadline) h_sleep_ms(10);
    return atomic_load(counter) >= want;
}

/* A burst of keyed creates against an api sidecar on a nats-server of the
 * test's own, which is stopped (SIGTERM: a restart; SIGKILL: a crash) once
 * 40 commands were accepted and started again on the same port and data once
 * the outage was felt; the burst goes on until 40 commands were sent after it.
 * Every command must end accepted, exactly once in the stream at the sequence
 * its answer gave, and the outage must have overlapped the writes. */
static void nats_outage(int sig) {
    h_nats_t nats;
    h_nats_start(&nats);
    h_sidecar_t sc;
    h_sidecar_start_ex(&sc, sig == SIGKILL ? "crash" : "restart", NULL, NULL, nats.url, 1);
    static outage_t o;
    static outage_writer_t ws[OUTAGE_WRITERS];
    memset(&o, 0, sizeof o);
    pthread_t t[OUTAGE_WRITERS];
    for (int i = 0; i < OUTAGE_WRITERS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].sc = &sc;
        ws[i].o = &o;
        ws[i].t = i;
        cr_assert_eq(pthread_create(&t[i], NULL, outage_writer, &ws[i]), 0);
    }
    int before = outage_wait(&o.accepted, 40, 60000);
    int64_t t0 = outage_now();
    atomic_store(&o.down_ms, t0);
    int stopped = h_nats_stop(&nats, sig);
    /* The outage is felt before the server comes back: every writer has sent
     * a command while it was down (each blocks in it or is refused), and an
     * attempt has failed or has been waiting for a second. */
    int64_t deadline = outage_now() + 60000;
    while (outage_now() < deadline &&
           (atomic_load(&o.started_during) < OUTAGE_WRITERS ||
            (!atomic_load(&o.failed_during) && outage_now() - atomic_load(&o.last_start_ms) < 1000)))
        h_sleep_ms(10);
    int64_t down_for = outage_now() - t0;
    h_nats_restart(&nats);
    atomic_store(&o.up_ms, outage_now());
    int after = outage_wait(&o.started_after, 40, 120000);
    atomic_store(&o.stop, 1);
    int n = 0, accepted = 0, retried = 0, failed = 0, most = 0, overlapping = 0;
    for (int i = 0; i < OUTAGE_WRITERS; i++) {
        pthread_join(t[i], NULL);
        n += ws[i].n;
        accepted += ws[i].accepted;
        retried += ws[i].retried;
        failed += ws[i].failed_attempts;
        overlapping += ws[i].overlapping;
        if (ws[i].max_attempts > most) most = ws[i].max_attempts;
    }
    cr_log_info("nats %s: %d commands by %d clients; server down %lld ms after %d accepted; %d attempts "
                "overlapped the outage (%d started and %d failed while it was down); %d commands retried "
                "(%d failed attempts, at most %d for one); %d sent after it was back",
                sig == SIGKILL ? "SIGKILL" : "restart", n, OUTAGE_WRITERS, (long long)down_for,
                before ? 40 : -1, overlapping, atomic_load(&o.started_during), atomic_load(&o.failed_during),
                retried, failed, most, atomic_load(&o.started_after));
    cr_assert(before, "40 commands not accepted before the outage");
    cr_assert_eq(stopped, sig == SIGKILL ? 128 + SIGKILL : 0, "nats-server's exit status; see %s", nats.log);
    for (int i = 0; i < OUTAGE_WRITERS; i++)
        cr_assert_eq(ws[i].failure[0], '\0', "writer %d: %s", i, ws[i].failure);
    cr_assert(overlapping > 0 && (atomic_load(&o.failed_during) > 0 || atomic_load(&o.started_during) > 0),
              "the outage overlapped no write");
    cr_assert(after, "40 commands not sent after the server was back");
    cr_assert_eq(accepted, n, "every command sent ends accepted");
    /* Exactly one event per command, at the sequence its answer gave. */
    json_object *evs = h_stream_events_at(nats.url, sc.stream, NULL);
    size_t nevs = json_object_array_length(evs);
    int total = 0;
    for (int i = 0; i < OUTAGE_WRITERS; i++)
        for (int k = 0; k < ws[i].n; k++) {
            int found = 0;
            for (size_t j = 0; j < nevs; j++) {
                json_object *e = json_object_array_get_idx(evs, j);
                if (strcmp(jstr(e, "event.subject"), ws[i].ids[k]) != 0) continue;
                found++;
                cr_assert_eq((uint64_t)jint(e, "seq"), ws[i].seqs[k], "%s: answered %llu, stored at %lld",
                             ws[i].ids[k], (unsigned long long)ws[i].seqs[k], (long long)jint(e, "seq"));
            }
            cr_assert_eq(found, 1, "accepted %s found %d times in the stream", ws[i].ids[k], found);
            total++;
        }
    cr_assert_eq(nevs, (size_t)total, "%zu events in the stream for %d commands", nevs, total);
    json_object_put(evs);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
    cr_assert_eq(h_nats_stop(&nats, SIGTERM), 0, "nats-server after the outage; see %s", nats.log);
}

Test(commands_it, nats_restart_loses_no_accepted_command, .timeout = 300) { nats_outage(SIGTERM); }

/* kill -9 of nats-server mid-burst, then a start on the same port and data. */
Test(commands_it, nats_sigkill_loses_no_accepted_command, .timeout = 300) { nats_outage(SIGKILL); }

Test(commands_it, cache_reads_over_the_app_socket, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "cache", NULL, NULL);
    /* Play the sink: write documents the way docs/sidecar.md lays them out. */
    mongoc_init();
    mongoc_client_t *cl = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    char db[128];
    snprintf(db, sizeof db, "byron_%s", sc.component);
    for (char *p = db; *p; p++)
        if (*p == '-') *p = '_';
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, "Order");
    for (int i = 0; i < 7; i++) {
        char id[16], cust[16];
        snprintf(id, sizeof id, "c-%d", i);
        snprintf(cust, sizeof cust, "%s", i % 2 ? "bob" : "ann");
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "version", BCON_INT64(1), "customer", BCON_UTF8(cust),
                               "count", BCON_INT32(10 - i));
        bson_error_t be;
        cr_assert(mongoc_collection_insert_one(coll, doc, NULL, NULL, &be), "%s", be.message);
        bson_destroy(doc);
    }
    {
        bson_t *doc = BCON_NEW("_id", BCON_UTF8("u-1"), "version", BCON_INT64(1), "customer",
                               BCON_UTF8("zed"), "code", BCON_UTF8("X-1"));
        bson_error_t be;
        cr_assert(mongoc_collection_insert_one(coll, doc, NULL, NULL, &be), "%s", be.message);
        bson_destroy(doc);
    }
    h_resp_t r;
    /* Unique values are held in the event log, not the cache: a cached
     * document that no event claimed X-1 for does not block it (the unique
     * tests in test_unique_it.c hold the rules). */
    cr_assert_eq(
        h_command(&sc, "createOrder", "{\"id\":\"u-2\",\"input\":{\"customer\":\"a\",\"code\":\"X-1\"}}", &r),
        0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/cache/Order/c-3", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "id"), "c-3");
    cr_assert_str_eq(jstr(r.json, "customer"), "bob");
    cr_assert_eq(jint(r.json, "version"), 1);
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/cache/Order/zzz", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 404, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/cache/Nope/zzz", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 400, "%s", r.body);
    h_resp_free(&r);
    /* Pages of 2 over customer == "ann", by id: c-0 c-2 | c-4 c-6. */
    cr_assert_eq(h_http(sc.sock, 0, "POST", "/v1/cache/Order/query",
                        "{\"filter\":{\"customer\":\"ann\"},\"first\":2}", 5000, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_object_array_length(jget(r.json, "items")), 2);
    cr_assert_str_eq(jstr(r.json, "items.0.id"), "c-0");
    cr_assert_str_eq(jstr(r.json, "items.1.id"), "c-2");
    cr_assert(json_object_get_boolean(jget(r.json, "hasNextPage")));
    char body[512];
    snprintf(body, sizeof body, "{\"filter\":{\"customer\":\"ann\"},\"first\":2,\"after\":\"%s\"}",
             jstr(r.json, "endCursor"));
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "POST", "/v1/cache/Order/query", body, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "items.0.id"), "c-4");
    cr_assert_str_eq(jstr(r.json, "items.1.id"), "c-6");
    cr_assert_not(json_object_get_boolean(jget(r.json, "hasNextPage")));
    h_resp_free(&r);
    /* Ordered by an indexed field, descending, with a range filter. */
    cr_assert_eq(h_http(sc.sock, 0, "POST", "/v1/cache/Order/query",
                        "{\"filter\":{\"id\":{\"gte\":\"c-2\",\"lt\":\"d\"}},\"orderBy\":\"customer\","
                        "\"descending\":true,\"first\":3}",
                        5000, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "items.0.id"), "c-5");
    cr_assert_str_eq(jstr(r.json, "items.1.id"), "c-3");
    cr_assert_str_eq(jstr(r.json, "items.2.id"), "c-6");
    snprintf(body, sizeof body,
             "{\"filter\":{\"id\":{\"gte\":\"c-2\",\"lt\":\"d\"}},\"orderBy\":\"customer\",\"descending\":"
             "true,\"first\":3,\"after\":\"%s\"}",
             jstr(r.json, "endCursor"));
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "POST", "/v1/cache/Order/query", body, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_object_array_length(jget(r.json, "items")), 2, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "items.0.id"), "c-4");
    cr_assert_str_eq(jstr(r.json, "items.1.id"), "c-2");
    h_resp_free(&r);
    /* Not indexed: refused. */
    cr_assert_eq(h_http(sc.sock, 0, "POST", "/v1/cache/Order/query", "{\"filter\":{\"count\":3}}", 5000, &r),
                 0);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "error.message"), "filter.count: not an indexed field of Order");
    h_resp_free(&r);
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/meta", NULL, 5000, &r), 0);
    cr_assert_str_eq(jstr(r.json, "component"), sc.component);
    cr_assert_str_eq(jstr(r.json, "mode"), "api");
    h_resp_free(&r);
    /* A document that does not read back (nested deeper than a JSON reader
     * takes) is an error for every reader, by id and in a page — a page
     * that skipped it would answer fewer items, and a wrong cursor, as if
     * it did not exist. */
    {
        char deep[1024] = "{\"_id\":\"c-9\",\"version\":1,\"customer\":\"ann\",\"n\":";
        for (int i = 0; i < 70; i++) strcat(deep, "{\"a\":");
        strcat(deep, "1");
        for (int i = 0; i < 70; i++) strcat(deep, "}");
        strcat(deep, "}");
        bson_error_t be;
        bson_t *doc = bson_new_from_json((const uint8_t *)deep, -1, &be);
        cr_assert_not_null(doc, "%s", be.message);
        cr_assert(mongoc_collection_insert_one(coll, doc, NULL, NULL, &be), "%s", be.message);
        bson_destroy(doc);
    }
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/cache/Order/c-9", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 500, "%s", r.body);
    cr_assert(strstr(r.body, "cache: unreadable document Order/c-9"), "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(
        h_http(sc.sock, 0, "POST", "/v1/cache/Order/query", "{\"filter\":{\"customer\":\"ann\"}}", 5000, &r),
        0);
    cr_assert_eq(r.status, 500, "%s", r.body);
    cr_assert(strstr(r.body, "cache: unreadable document Order/c-9"), "%s", r.body);
    h_resp_free(&r);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(cl);
    mongoc_cleanup();
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

Test(commands_it, bad_config_names_the_field, .timeout = 30) {
    char dir[] = "/tmp/byron-it-XXXXXX", path[300], cmd[1200], out[2048] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/component.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"component\":\"x\",\"namespace\":\"y\",\"models\":[{\"name\":\"A\"},{\"name\":\"B\",\"fields\":"
          "[{\"name\":\"f\",\"type\":\"Strin\"}]}]}",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "%s/sidecar/byron-sidecar --mode=api --config %s --nats-url nats://127.0.0.1:1 --mongo-uri "
             "mongodb://127.0.0.1:1 2>&1; echo rc=$?",
             getenv("BYRON_BINARY_DIR"), path);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    cr_assert(!strstr(out, "Sanitizer") && !strstr(out, "runtime error:"), "sanitizer report:\n%s", out);
    cr_assert_not_null(strstr(out, "models[1].fields[0].type: unknown type \\\"Strin\\\""), "%s", out);
    cr_assert_not_null(strstr(out, "rc=2"), "%s", out);
}

/* libwebsockets sizes its fd tables by the open-files limit: the sidecar
 * brings the soft limit down to --max-open-files (never up), and serves. */
Test(commands_it, open_files_limit_comes_down_to_the_setting, .timeout = 60) {
    struct rlimit mine;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
    long want = mine.rlim_cur < 1000 ? (long)mine.rlim_cur : 1000;
    const char *extra[] = {"--max-open-files", "1000", NULL};
    h_sidecar_t sc;
    h_sidecar_start(&sc, "nofile", NULL, extra);
    struct rlimit its;
    cr_assert_eq(prlimit(sc.pid, RLIMIT_NOFILE, NULL, &its), 0);
    cr_assert_eq((long)its.rlim_cur, want);
    h_resp_t r;
    cr_assert_eq(h_command(&sc, "createOrder", "{\"id\":\"nf-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

typedef struct {
    h_sidecar_t *sc;
    h_resp_t r;
} slow_call_t;

static void *slow_call(void *arg) {
    slow_call_t *s = arg;
    h_command(s->sc, "createOrder", "{\"id\":\"s-1\",\"input\":{\"customer\":\"ann\",\"slow\":1}}", &s->r);
    return NULL;
}

Test(commands_it, sigterm_finishes_in_flight_commands, .timeout = 60) {
    h_sidecar_t sc;
    const char *extra[] = {"--app-timeout-ms", "5000", NULL};
    h_sidecar_start(&sc, "term", "python", extra);
    /* A command the app holds for 1 s; SIGTERM arrives while it runs. */
    slow_call_t s = {&sc, {0}};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, slow_call, &s), 0);
    int64_t deadline = h_mono_ms() + 10000; /* in flight: the app holds its before hook */
    while (!h_file_contains(sc.app_log, "holding the before hook") && h_mono_ms() < deadline) h_sleep_ms(10);
    cr_assert(h_file_contains(sc.app_log, "holding the before hook"), "the command never reached the app");
    kill(sc.pid, SIGTERM);
    pthread_join(t, NULL);
    cr_assert_eq(s.r.status, 200, "in-flight command: %ld %s", s.r.status, s.r.body ? s.r.body : "");
    h_resp_free(&s.r);
    cr_assert_eq(h_sidecar_stop(&sc), 0, "exit status");
    char subject[256];
    subject_of(&sc, "Order", "s-1", subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 1);
    json_object_put(evs);
}

static void *slow_create(void *arg) {
    slow_call_t *s = arg;
    char body[128];
    /* 2 s in the app: wide enough that on a loaded machine the other requests
     * still arrive while the first runs and the second waits in the queue. */
    snprintf(body, sizeof body, "{\"input\":{\"customer\":\"ann\",\"slow\":2.0}}");
    h_command(s->sc, "createOrder", body, &s->r);
    return NULL;
}

Test(commands_it, full_queue_answers_503, .timeout = 60) {
    h_sidecar_t sc;
    const char *extra[] = {"--workers", "1", "--queue", "1", NULL};
    h_sidecar_start(&sc, "queue", "python", extra);
    /* One running, one queued, the rest refused at once. */
    slow_call_t calls[5];
    pthread_t t[5];
    for (int i = 0; i < 5; i++) {
        calls[i] = (slow_call_t){&sc, {0}};
        pthread_create(&t[i], NULL, slow_create, &calls[i]);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < 5; i++) {
        pthread_join(t[i], NULL);
        if (calls[i].r.status == 200) ok++;
        if (calls[i].r.status == 503) {
            refused++;
            cr_assert_str_eq(h_error_code(&calls[i].r), "UNAVAILABLE");
        }
        h_resp_free(&calls[i].r);
    }
    /* At least the running one succeeds (the queued one too, unless the
     * others arrived before the worker took the first off the queue). */
    cr_assert_geq(ok, 1, "ok %d refused %d", ok, refused);
    cr_assert_geq(refused, 1, "ok %d refused %d", ok, refused);
    cr_assert_eq(ok + refused, 5);
    h_resp_t r;
    cr_assert_eq(h_http(NULL, sc.admin_port, "GET", "/metrics", NULL, 2000, &r), 0);
    cr_assert_not_null(strstr(r.body, "byron_sidecar_queue_rejected_total"), "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

Test(commands_it, traceparent_flows_into_the_event, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "trace", NULL, NULL);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char hdr[128];
    snprintf(hdr, sizeof hdr, "traceparent: %s", tp);
    h_resp_t r;
    cr_assert_eq(h_http_hdr(NULL, sc.port, "POST", "/v1/commands/createOrder",
                            "{\"id\":\"tp-1\",\"input\":{\"customer\":\"ann\"},\"idempotencyKey\":\"once\"}",
                            10000, hdr, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "events.0.traceparent"), tp);
    uint64_t seq = (uint64_t)jint(r.json, "sequences.0");
    h_resp_free(&r);
    /* A re-sent create with the same key: the original answer, not CONFLICT. */
    cr_assert_eq(h_command(&sc, "createOrder",
                           "{\"id\":\"tp-1\",\"input\":{\"customer\":\"ann\"},\"idempotencyKey\":\"once\"}",
                           &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(json_object_get_boolean(jget(r.json, "duplicate")));
    cr_assert_eq((uint64_t)jint(r.json, "sequences.0"), seq);
    h_resp_free(&r);
    char subject[256];
    subject_of(&sc, "Order", "tp-1", subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 1);
    cr_assert_str_eq(jstr(evs, "0.event.traceparent"), tp);
    json_object_put(evs);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

/* A create without an id under a key: the id is derived from the key (as on
 * GraphQL), so a re-sent create lands on the same object, once. */
Test(commands_it, keyed_create_without_id_gets_the_same_id, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start(&sc, "keyid", NULL, NULL);
    h_resp_t r;
    const char *body = "{\"input\":{\"customer\":\"ann\"},\"idempotencyKey\":\"mk-1\"}";
    cr_assert_eq(h_command(&sc, "createOrder", body, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    cr_assert(id[0] == 'k' && strlen(id) == 17, "%s", r.body);
    cr_assert_not(json_object_get_boolean(jget(r.json, "duplicate")), "%s", r.body);
    uint64_t seq = (uint64_t)jint(r.json, "sequences.0");
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "createOrder", body, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "id"), id, "%s", r.body);
    cr_assert(json_object_get_boolean(jget(r.json, "duplicate")), "%s", r.body);
    cr_assert_eq((uint64_t)jint(r.json, "sequences.0"), seq);
    h_resp_free(&r);
    char subject[256];
    subject_of(&sc, "Order", id, subject, sizeof subject);
    json_object *evs = h_stream_events(sc.stream, subject);
    cr_assert_eq(json_object_array_length(evs), 1);
    json_object_put(evs);
    /* Another key: another object; no key: a UUID. */
    cr_assert_eq(
        h_command(&sc, "createOrder", "{\"input\":{\"customer\":\"ann\"},\"idempotencyKey\":\"mk-2\"}", &r),
        0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_neq(jstr(r.json, "id"), id, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_command(&sc, "createOrder", "{\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(strlen(jstr(r.json, "id")), 36, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
}

Test(commands_it, broker_down_at_start_is_a_readiness_state, .timeout = 60) {
    h_sidecar_t sc;
    h_sidecar_start_ex(&sc, "nonats", NULL, NULL, "nats://127.0.0.1:1", 0);
    h_resp_t r;
    for (int i = 0; i < 40; i++) { /* the first health round: NATS checked, then MongoDB */
        cr_assert_eq(h_http(NULL, sc.admin_port, "GET", "/readyz", NULL, 2000, &r), 0);
        if (jget(r.json, "checks.nats.error") && json_object_get_boolean(jget(r.json, "checks.mongodb.ok")))
            break;
        h_resp_free(&r);
        usleep(100000);
    }
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_eq(json_object_get_boolean(jget(r.json, "checks.nats.ok")), 0, "%s", r.body);
    cr_assert_eq(json_object_get_boolean(jget(r.json, "checks.mongodb.ok")), 1, "%s", r.body);
    h_resp_free(&r);
    /* Still serves what does not need the broker, and stops promptly. */
    cr_assert_eq(h_http(sc.sock, 0, "GET", "/v1/meta", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 200);
    h_resp_free(&r);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(h_sidecar_stop(&sc), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 5);
}
