/* test_verify_it.c — the fold checker (byron-sidecar --mode=verify) against
 * real nats-server and FerretDB, an api sidecar, a sink and the Python
 * reference app: it finds the cache equal to the fold after the sink did its
 * work, then names exactly each corruption made behind the sink's back; it
 * expects events published around the api as dead letters; it refuses to
 * answer while the sink has not settled. */
#include "byron/json.h"
#include "envelope.h"
#include "harness.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void command_ok(h_sidecar_t *api, const char *cmd, const char *body) {
    h_resp_t r;
    cr_assert_eq(h_command(api, cmd, body, &r), 0);
    cr_assert_eq(r.status, 200, "%s %s: %ld %s", cmd, body, r.status, r.body);
    h_resp_free(&r);
}

/* The report's lines as JSON: the findings (without the summary) and the summary. */
static json_object *findings_of(const char *report, json_object **summary) {
    json_object *arr = json_object_new_array();
    *summary = NULL;
    for (const char *p = report; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        json_object *o = NULL;
        byron_err_t err;
        cr_assert_eq(byron_json_parse(p, len, 0, &o, &err), BYRON_OK, "report line %.*s: %s", (int)len, p,
                     err.msg);
        if (strcmp(json_object_get_string(json_object_object_get(o, "kind")), "summary") == 0) {
            cr_assert_null(*summary, "two summaries:\n%s", report);
            *summary = o;
        } else {
            cr_assert_null(*summary, "a finding after the summary:\n%s", report);
            json_object_array_add(arr, o);
        }
        p = e ? e + 1 : NULL;
    }
    cr_assert_not_null(*summary, "no summary:\n%s", report);
    return arr;
}

static int64_t summary_int(json_object *summary, const char *key) {
    return json_object_get_int64(json_object_object_get(summary, key));
}

/* The one finding of kind for id, or NULL. */
static json_object *finding(json_object *arr, const char *kind, const char *id) {
    json_object *hit = NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        if (strcmp(json_object_get_string(json_object_object_get(o, "kind")), kind) == 0 &&
            strcmp(json_object_get_string(json_object_object_get(o, "id")), id) == 0) {
            cr_assert_null(hit, "two %s findings for %s", kind, id);
            hit = o;
        }
    }
    return hit;
}

static const char *str(json_object *o, const char *key) {
    return json_object_get_string(json_object_object_get(o, key));
}

/* ---- the cache, behind the sink's back ----------------------------------- */

typedef struct cache {
    mongoc_client_t *client;
    char db[160];
} cache_t;

static void cache_open(cache_t *c, const char *component) {
    bson_error_t be;
    c->client = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    cr_assert_not_null(c->client);
    mongoc_client_set_error_api(c->client, MONGOC_ERROR_API_VERSION_2);
    snprintf(c->db, sizeof c->db, "byron_%s", component);
    for (char *p = c->db; *p; p++)
        if (*p == '-') *p = '_';
    (void)be;
}

static void cache_close(cache_t *c) { mongoc_client_destroy(c->client); }

static void cache_update(cache_t *c, const char *coll_name, const char *id, const char *update_json) {
    mongoc_collection_t *coll = mongoc_client_get_collection(c->client, c->db, coll_name);
    bson_error_t be;
    bson_t *u = bson_new_from_json((const uint8_t *)update_json, -1, &be);
    cr_assert_not_null(u, "%s: %s", update_json, be.message);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id)), reply;
    cr_assert(mongoc_collection_update_one(coll, filter, u, NULL, &reply, &be), "%s", be.message);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1,
              "%s/%s: no such document", coll_name, id);
    bson_destroy(&reply);
    bson_destroy(filter);
    bson_destroy(u);
    mongoc_collection_destroy(coll);
}

static void cache_delete(cache_t *c, const char *coll_name, const char *id) {
    mongoc_collection_t *coll = mongoc_client_get_collection(c->client, c->db, coll_name);
    bson_error_t be;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id)), reply;
    cr_assert(mongoc_collection_delete_one(coll, filter, NULL, &reply, &be), "%s", be.message);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
}

static void cache_insert(cache_t *c, const char *coll_name, const char *doc_json) {
    mongoc_collection_t *coll = mongoc_client_get_collection(c->client, c->db, coll_name);
    bson_error_t be;
    bson_t *d = bson_new_from_json((const uint8_t *)doc_json, -1, &be);
    cr_assert_not_null(d, "%s: %s", doc_json, be.message);
    cr_assert(mongoc_collection_insert_one(coll, d, NULL, NULL, &be), "%s", be.message);
    bson_destroy(d);
    mongoc_collection_destroy(coll);
}

/* ---- tests ---------------------------------------------------------------- */

Test(verify_it, equal_after_the_sink_then_each_corruption_is_named, .timeout = 240) {
    h_sidecar_t api;
    h_sink_t k;
    h_sidecar_start(&api, "verify", "python", NULL);
    /* The app's handler for OrderShipped sets status: the checker gets it by
     * calling the same app's handler as the sink. */
    char *app_env[] = {"REFAPP_EVENT_SET={\"OrderShipped\": {\"status\": \"SHIPPED\"}}", NULL};
    h_sink_start(&k, api.config, 1, NULL, app_env, NULL);
    for (int i = 1; i <= 5; i++) {
        char body[200];
        snprintf(body, sizeof body,
                 "{\"input\":{\"id\":\"o-%d\",\"customer\":\"c%d\",\"status\":\"OPEN\",\"total\":%d.5}}", i,
                 i, i);
        command_ok(&api, "createOrder", body);
    }
    command_ok(&api, "updateOrder", "{\"id\":\"o-1\",\"input\":{\"count\":3,\"notes\":{\"gift\":true}}}");
    command_ok(&api, "shipOrder", "{\"id\":\"o-2\",\"input\":{\"carrier\":\"ups\"}}");
    command_ok(&api, "deleteOrder", "{\"id\":\"o-3\"}");
    command_ok(&api, "deleteOrder", "{\"id\":\"o-5\"}");
    command_ok(&api, "createOrder", "{\"input\":{\"id\":\"o-5\",\"customer\":\"again\"}}");

    /* The sink's work, checked as it is (verify waits for the sink to settle). */
    char *report = NULL;
    int rc = h_verify(api.config, k.app_sock, &report);
    json_object *summary, *found = findings_of(report, &summary);
    cr_assert_eq(rc, 0, "verify: %d\n%s\nsink log: %s", rc, report, k.log);
    cr_assert_eq(json_object_array_length(found), 0, "%s", report);
    cr_assert_str_eq(str(summary, "result"), "equal");
    cr_assert_eq(summary_int(summary, "applied"), 10, "%s", report);
    cr_assert_eq(summary_int(summary, "documents"), 4, "%s", report); /* o-1, o-2, o-4, o-5 */
    cr_assert_eq(summary_int(summary, "aggregates"), 5, "%s", report);
    json_object_put(found);
    json_object_put(summary);
    free(report);

    /* Behind the sink's back: a field, a missing and an extra document, a wrong tombstone. */
    cache_t c;
    cache_open(&c, api.component);
    cache_update(&c, "Order", "o-1", "{\"$set\":{\"status\":\"CANCELLED\"}}");
    cache_update(&c, "Order", "o-2", "{\"$set\":{\"version\":7}}");
    cache_delete(&c, "Order", "o-4");
    cache_insert(&c, "Order", "{\"_id\":\"o-99\",\"customer\":\"ghost\",\"version\":1}");
    cache_update(&c, "_byron_sink", "tomb:Order/o-3", "{\"$set\":{\"version\":9}}");
    cache_close(&c);
    rc = h_verify(api.config, k.app_sock, &report);
    found = findings_of(report, &summary);
    cr_assert_eq(rc, 1, "verify: %d\n%s", rc, report);
    cr_assert_eq(json_object_array_length(found), 5, "%s", report);
    cr_assert_eq(summary_int(summary, "differences"), 5);
    cr_assert_str_eq(str(summary, "result"), "differs");
    json_object *f = finding(found, "field", "o-1");
    cr_assert_not_null(f, "%s", report);
    cr_assert_str_eq(str(f, "field"), "status");
    cr_assert_str_eq(str(f, "fold"), "OPEN");
    cr_assert_str_eq(str(f, "cache"), "CANCELLED");
    cr_assert_not_null(f = finding(found, "field", "o-2"), "%s", report);
    cr_assert_str_eq(str(f, "field"), "version");
    cr_assert_eq(json_object_get_int(json_object_object_get(f, "fold")), 2);
    cr_assert_eq(json_object_get_int(json_object_object_get(f, "cache")), 7);
    cr_assert_not_null(f = finding(found, "missing-document", "o-4"), "%s", report);
    cr_assert_str_eq(
        json_object_to_json_string_ext(json_object_object_get(f, "fold"), JSON_C_TO_STRING_PLAIN),
        "{\"customer\":\"c4\",\"status\":\"OPEN\",\"total\":4.5,\"version\":1}");
    cr_assert_not_null(f = finding(found, "extra-document", "o-99"), "%s", report);
    cr_assert_str_eq(str(json_object_object_get(f, "cache"), "customer"), "ghost");
    cr_assert_not_null(f = finding(found, "wrong-tombstone", "o-3"), "%s", report);
    cr_assert_eq(json_object_get_int(json_object_object_get(f, "fold")), 2);
    cr_assert_eq(json_object_get_int(json_object_object_get(f, "cache")), 9);
    json_object_put(found);
    json_object_put(summary);
    free(report);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&api), 0);
}

Test(verify_it, no_answer_until_the_sink_has_settled, .timeout = 120) {
    h_sidecar_t api;
    h_sink_t k;
    h_sidecar_start(&api, "verify-quiet", NULL, NULL);
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    command_ok(&api, "createOrder", "{\"input\":{\"id\":\"o-1\",\"customer\":\"ann\"}}");
    cr_assert_eq(h_verify(api.config, NULL, NULL), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    /* An event the sink has not seen: no verdict, and the report says why. */
    command_ok(&api, "updateOrder", "{\"id\":\"o-1\",\"input\":{\"count\":1}}");
    const char *const quick[] = {"--wait-ms", "300", NULL};
    char *report = NULL;
    cr_assert_eq(h_verify_ex(api.config, NULL, quick, &report), 3, "%s", report);
    json_object *summary, *found = findings_of(report, &summary);
    cr_assert_str_eq(str(summary, "result"), "unknown");
    cr_assert(strstr(str(summary, "error"), "did not settle") && strstr(str(summary, "error"), "1 pending"),
              "%s", report);
    json_object_put(found);
    json_object_put(summary);
    free(report);
    /* The sink back: settled, equal. */
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    cr_assert_eq(h_verify(api.config, NULL, NULL), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    /* Bad usage: exit 2 before touching anything. */
    const char *const bad[] = {"--wait-ms", "soon", NULL};
    cr_assert_eq(h_verify_ex(api.config, NULL, bad, NULL), 2);
    cr_assert_eq(h_verify("/nonexistent/component.json", NULL, NULL), 2);
    cr_assert_eq(h_sidecar_stop(&api), 0);
}

/* ---- forged events --------------------------------------------------------- */

/* Publish straight to the stream, around the api: payload as is (NULL: an
 * envelope of model/id/type/version/data), the Byron-Version header given. */
static void forge(const char *stream, const char *subject, const char *type, const char *id, int64_t version,
                  const char *data, const char *payload, const char *header_version) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    json_object *ev = NULL;
    if (!payload) {
        json_object *d = NULL;
        byron_err_t err;
        cr_assert_eq(byron_json_parse(data, strlen(data), 0, &d, &err), BYRON_OK);
        byron_event_spec_t spec = {.source = "/byron/it/forged",
                                   .type = type,
                                   .subject = id,
                                   .model = "Order",
                                   .version = version,
                                   .data = d};
        ev = byron_event_build(&spec);
        json_object_put(d);
        payload = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
    }
    natsMsg *m = NULL;
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, payload, (int)strlen(payload)), NATS_OK);
    if (header_version) natsMsgHeader_Set(m, "Byron-Version", header_version);
    natsMsgHeader_Set(m, "Byron-Type", type);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectStream = stream;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(js_PublishMsg(&ack, js, m, &po, &jerr), NATS_OK, "forge on %s: %d", subject, (int)jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    json_object_put(ev);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

Test(verify_it, forged_events_are_dead_letters_and_the_aggregate_stays_correct, .timeout = 180) {
    h_sidecar_t api;
    h_sink_t k;
    h_sidecar_start(&api, "verify-forged", NULL, NULL);
    char *env[] = {"BYRON_SINK_RETRY_MS=50", NULL};
    h_sink_start(&k, api.config, 0, env, NULL, NULL);
    command_ok(&api, "createOrder", "{\"input\":{\"id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\"}}");
    command_ok(&api, "updateOrder", "{\"id\":\"o-1\",\"input\":{\"total\":2.5}}");
    for (int i = 3; i <= 12; i++) { /* a stream long enough that no forged version is beyond its sequence */
        char body[120];
        snprintf(body, sizeof body, "{\"input\":{\"id\":\"o-%d\",\"customer\":\"c\"}}", i);
        command_ok(&api, "createOrder", body);
    }
    char s1[300], s2[300], claim[300];
    snprintf(s1, sizeof s1, "byron.it.%s.%u.Order.o-1", api.component, byron_partition("Order", "o-1", 8));
    snprintf(s2, sizeof s2, "byron.it.%s.%u.Order.o-2", api.component, byron_partition("Order", "o-2", 8));
    snprintf(claim, sizeof claim, "byron.it.%s.unique.Order.code.00ff", api.component);
    /* A version jump; garbage; o-1's event on o-2's subject; a header that lies; not an event at all. */
    forge(api.stream, s1, "OrderUpdated", "o-1", 5, "{\"status\":\"CANCELLED\"}", NULL, "5");
    forge(api.stream, s1, "OrderUpdated", "o-1", 0, NULL, "{\"not\":\"an event\"}", "6");
    forge(api.stream, s2, "OrderUpdated", "o-1", 7, "{\"status\":\"CANCELLED\"}", NULL, "7");
    forge(api.stream, s1, "OrderUpdated", "o-1", 7, "{\"status\":\"CANCELLED\"}", NULL, "8");
    forge(api.stream, claim, "OrderUpdated", "o-1", 1, "{}", "{\"owner\":\"o-9\"}", NULL);
    /* Not frozen: the api counts from the subject's last message (8), the sink moved past each bad one. */
    command_ok(&api, "updateOrder", "{\"id\":\"o-1\",\"input\":{\"count\":9}}");
    char *report = NULL;
    int rc = h_verify(api.config, NULL, &report);
    json_object *summary, *found = findings_of(report, &summary);
    cr_assert_eq(rc, 0, "verify: %d\n%s\nsink log: %s", rc, report, k.log);
    cr_assert_eq(summary_int(summary, "invalid"), 4, "%s", report); /* each one found in the DLQ */
    cr_assert_eq(summary_int(summary, "applied"), 13, "%s", report);
    cr_assert_eq(summary_int(summary, "ignored"), 1, "%s", report);
    json_object_put(found);
    json_object_put(summary);
    free(report);
    /* And seen directly, not through the checker's rules: o-1 holds only what the api wrote. */
    h_resp_t r;
    cr_assert_eq(h_http(NULL, api.port, "GET", "/v1/cache/Order/o-1", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(str(r.json, "status"), "OPEN");
    cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "count")), 9);
    cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "version")), 9);
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&api), 0);
}
