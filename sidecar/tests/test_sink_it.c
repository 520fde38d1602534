/* test_sink_it.c — the sink against real nats-server and FerretDB, with
 * byron-sidecar processes (api and sink modes) and the Python reference app:
 * the cache converges to the fold of the log (Q1), replicas share the work and
 * survive a kill, replays do not double-apply, poison events reach the DLQ,
 * subscriptions work across components and survive the other one being away
 * (Q2, Q3), read-your-writes. Every wait has a deadline. */
#include "byron/json.h"
#include "child.h"
#include "harness.h"
#include "sink.h"
#include "subject.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the fold ---------------------------------------------------------- */

/* {"Order/o-1": {"id":..,"version":..,fields}} from the stream, as the
 * generated events define it; custom events: the version, plus set (the
 * reference app's handler sets the data's model fields). */
static json_object *fold(const char *stream, int custom_sets) {
    json_object *evs = h_stream_events(stream, NULL), *state = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *ev = json_object_object_get(json_object_array_get_idx(evs, i), "event");
        const char *type = json_object_get_string(json_object_object_get(ev, "type"));
        const char *model = json_object_get_string(json_object_object_get(ev, "byronmodel"));
        const char *id = json_object_get_string(json_object_object_get(ev, "subject"));
        json_object *data = json_object_object_get(ev, "data");
        char key[300], created[140], updated[140], deleted[140];
        snprintf(key, sizeof key, "%s/%s", model, id);
        snprintf(created, sizeof created, "%sCreated", model);
        snprintf(updated, sizeof updated, "%sUpdated", model);
        snprintf(deleted, sizeof deleted, "%sDeleted", model);
        json_object *doc = NULL;
        json_object_object_get_ex(state, key, &doc);
        if (strcmp(type, deleted) == 0) {
            json_object_object_del(state, key);
            continue;
        }
        if (strcmp(type, created) == 0 || !doc) {
            doc = json_object_new_object();
            json_object_object_add(state, key, doc);
        }
        if (strcmp(type, created) == 0 || strcmp(type, updated) == 0 || custom_sets) {
            json_object_object_foreach(data, k, v) {
                if (strcmp(type, created) != 0 && strcmp(type, updated) != 0 && strcmp(k, "carrier") == 0)
                    continue;
                json_object_object_add(doc, k, json_object_get(v));
            }
        }
        json_object_object_add(doc, "id", json_object_new_string(id));
        json_object_object_add(doc, "version", json_object_get(json_object_object_get(ev, "byronversion")));
    }
    json_object_put(evs);
    return state;
}

/* Every cached object of the models, keyed as the fold, through the sink's cache API. */
static json_object *cache_dump(int port, const char *const *models) {
    json_object *all = json_object_new_object();
    for (const char *const *m = models; *m; m++) {
        char after[512] = "";
        for (;;) {
            char path[200], body[700];
            snprintf(path, sizeof path, "/v1/cache/%s/query", *m);
            if (after[0])
                snprintf(body, sizeof body, "{\"first\":1000,\"after\":\"%s\"}", after);
            else
                snprintf(body, sizeof body, "{\"first\":1000}");
            h_resp_t r;
            cr_assert_eq(h_http(NULL, port, "POST", path, body, 5000, &r), 0);
            cr_assert_eq(r.status, 200, "%s", r.body);
            json_object *items = json_object_object_get(r.json, "items");
            for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *o = json_object_array_get_idx(items, i);
                char key[300];
                snprintf(key, sizeof key, "%s/%s", *m,
                         json_object_get_string(json_object_object_get(o, "id")));
                json_object_object_add(all, key, json_object_get(o));
            }
            int more = json_object_get_boolean(json_object_object_get(r.json, "hasNextPage"));
            const char *end = json_object_get_string(json_object_object_get(r.json, "endCursor"));
            snprintf(after, sizeof after, "%s", end ? end : "");
            h_resp_free(&r);
            if (!more) break;
        }
    }
    return all;
}

/* "" when equal, else the first difference (static buffer). */
static const char *diff(json_object *want, json_object *got) {
    static char buf[2048];
    json_object_object_foreach(want, k, w) {
        json_object *g = NULL;
        if (!json_object_object_get_ex(got, k, &g)) {
            snprintf(buf, sizeof buf, "%s missing from the cache (want %s)", k,
                     json_object_to_json_string(w));
            return buf;
        }
        json_object_object_foreach(w, f, wv) {
            json_object *gv = NULL;
            json_object_object_get_ex(g, f, &gv);
            if (!json_object_equal(wv, gv)) {
                snprintf(buf, sizeof buf, "%s.%s: want %s, cached %s", k, f, json_object_to_json_string(wv),
                         json_object_to_json_string(gv));
                return buf;
            }
        }
        json_object_object_foreach(g, gf, gv2) {
            (void)gv2;
            json_object *x = NULL;
            if (!json_object_object_get_ex(w, gf, &x)) {
                snprintf(buf, sizeof buf, "%s.%s: cached but not in the log", k, gf);
                return buf;
            }
        }
    }
    json_object_object_foreach(got, gk, gvv) {
        (void)gvv;
        json_object *x = NULL;
        if (!json_object_object_get_ex(want, gk, &x)) {
            snprintf(buf, sizeof buf, "%s cached but not in the log", gk);
            return buf;
        }
    }
    return "";
}

static const char *const ORDER_MODELS[] = {"Order", "OrderLine", NULL};

/* Wait (deadline) until the cache equals the fold of the stream. */
static void converge(const char *stream, int port, int custom_sets, int timeout_ms) {
    json_object *want = fold(stream, custom_sets);
    char last[2048] = "";
    for (int64_t deadline = byron_test_now_ms() + timeout_ms;;) {
        json_object *got = cache_dump(port, ORDER_MODELS);
        snprintf(last, sizeof last, "%s", diff(want, got));
        json_object_put(got);
        if (!last[0] || byron_test_now_ms() > deadline) break;
        byron_test_sleep_ms(100);
    }
    cr_assert_str_empty(last, "cache did not converge to the log: %s", last);
    json_object_put(want);
}

/* ---- load -------------------------------------------------------------- */

typedef struct {
    h_sidecar_t *api;
    int first, count, aggregates;
    unsigned seed;
    atomic_int sent;   /* commands answered so far (the test waits on it) */
    char failure[600]; /* the first refused command; asserted by the test's thread after the join */
} burst_t;

/* A deterministic mix on aggregates b-<first..first+aggregates): create,
 * updates of several fields, deletes and re-creates. Stops at the first
 * command not answered 200 and records it (criterion asserts only on the
 * test's thread). */
static void *burst(void *arg) {
    burst_t *b = arg;
    unsigned seed = b->seed;
    char *exists = calloc((size_t)b->aggregates, 1);
    for (int i = 0; i < b->count; i++) {
        int a = (int)(rand_r(&seed) % (unsigned)b->aggregates);
        char id[32], body[512];
        snprintf(id, sizeof id, "b-%d", b->first + a);
        const char *cmd;
        if (!exists[a]) {
            cmd = "createOrder";
            snprintf(body, sizeof body,
                     "{\"id\":\"%s\",\"input\":{\"customer\":\"c%d\",\"status\":\"OPEN\",\"count\":%d,"
                     "\"total\":%d.5,"
                     "\"notes\":{\"n\":[1,2]},\"placedAt\":\"2026-11-26T07:00:00Z\"}}",
                     id, i, i, i);
        } else if (rand_r(&seed) % 10 == 0) {
            cmd = "deleteOrder";
            snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
        } else {
            cmd = "updateOrder";
            static const char *const ST[] = {"OPEN", "SHIPPED", "CANCELLED"};
            snprintf(body, sizeof body,
                     "{\"id\":\"%s\",\"input\":{\"count\":%d,\"status\":\"%s\",\"customer\":\"u%u\"}}", id, i,
                     ST[i % 3], rand_r(&seed) % 7);
        }
        h_resp_t r;
        int rc = h_command(b->api, cmd, body, &r);
        if (rc != 0 || r.status != 200)
            snprintf(b->failure, sizeof b->failure, "%s %s: transport %d, status %ld: %s", cmd, body, rc,
                     r.status, r.body ? r.body : "");
        h_resp_free(&r);
        if (b->failure[0]) break;
        atomic_fetch_add(&b->sent, 1);
        exists[a] = strcmp(cmd, "deleteOrder") != 0;
    }
    free(exists);
    return NULL;
}

static void run_bursts(h_sidecar_t *api, int threads, int per_thread, int aggregates_per_thread,
                       unsigned seed) {
    pthread_t t[8];
    burst_t b[8];
    for (int i = 0; i < threads; i++) {
        b[i] = (burst_t){.api = api,
                         .first = i * 1000 + (int)(seed % 997) * 10000,
                         .count = per_thread,
                         .aggregates = aggregates_per_thread,
                         .seed = seed + (unsigned)i};
        cr_assert_eq(pthread_create(&t[i], NULL, burst, &b[i]), 0);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < threads; i++) cr_assert_eq(b[i].failure[0], '\0', "writer %d: %s", i, b[i].failure);
}

/* ",name,name!," — the collection's index names, sorted, "!" marking unique ones. */
static const char *index_names(const char *db, const char *coll_name) {
    static char out[2048];
    char names[16][64];
    int n = 0;
    mongoc_client_t *cl = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, coll_name);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *ix;
    while (n < 16 && mongoc_cursor_next(cur, &ix)) {
        bson_iter_t it;
        int unique = bson_iter_init_find(&it, ix, "unique") && bson_iter_as_bool(&it);
        if (bson_iter_init_find(&it, ix, "name") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(names[n++], sizeof names[0], "%s%s", bson_iter_utf8(&it, NULL), unique ? "!" : "");
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(cl);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    snprintf(out, sizeof out, ",");
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%.63s,", names[i]);
    }
    return out;
}

/* ---- tests ------------------------------------------------------------- */

Test(sink_it, burst_converges_to_the_fold_of_the_log, .timeout = 180) {
    h_sidecar_t api;
    h_sidecar_start(&api, "q1", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    run_bursts(&api, 4, 100, 15, 1);
    converge(api.stream, k.port, 0, 30000);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "projected", 400, 30000), 400);
    cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0);
    /* Read-your-writes: the answer waits for the sink. */
    h_resp_t r;
    cr_assert_eq(
        h_command(&api, "createOrder",
                  "{\"id\":\"ryw-1\",\"consistency\":\"projected\",\"input\":{\"customer\":\"ann\"}}", &r),
        0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(json_object_get_boolean(json_object_object_get(r.json, "projected")), "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(NULL, api.port, "GET", "/v1/cache/Order/ryw-1", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 200, "read-your-writes: %s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http_hdr(NULL, api.port, "POST", "/v1/commands/deleteOrder", "{\"id\":\"ryw-1\"}", 10000,
                            "Byron-Consistency: projected", &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(json_object_get_boolean(json_object_object_get(r.json, "projected")), "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(NULL, api.port, "GET", "/v1/cache/Order/ryw-1", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 404, "%s", r.body);
    h_resp_free(&r);
    /* GraphQL mutations honour the same header: an immediate query sees the new version. */
    static const char *const GQL[][2] = {
        {"{\"query\":\"mutation { createOrder(input: {id: \\\"ryw-g\\\", customer: \\\"bob\\\"}) "
         "{ id version projected } }\"}",
         "createOrder"},
        {"{\"query\":\"mutation { updateOrder(id: \\\"ryw-g\\\", input: {customer: \\\"cy\\\"}) "
         "{ id version projected } }\"}",
         "updateOrder"},
        {"{\"query\":\"mutation { deleteOrder(id: \\\"ryw-g\\\") { id version projected } }\"}",
         "deleteOrder"},
    };
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h_http_hdr(NULL, api.port, "POST", "/graphql", GQL[i][0], 10000,
                                "Byron-Consistency: projected", &r),
                     0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        json_object *res = NULL;
        cr_assert(json_object_object_get_ex(json_object_object_get(r.json, "data"), GQL[i][1], &res), "%s",
                  r.body);
        cr_assert(json_object_get_boolean(json_object_object_get(res, "projected")), "%s", r.body);
        cr_assert_eq(json_object_get_int64(json_object_object_get(res, "version")), i + 1, "%s", r.body);
        h_resp_free(&r);
        cr_assert_eq(h_http(NULL, api.port, "POST", "/graphql",
                            "{\"query\":\"{ order(id: \\\"ryw-g\\\") { id version customer } }\"}", 5000, &r),
                     0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        json_object *o = json_object_object_get(json_object_object_get(r.json, "data"), "order");
        if (i < 2) {
            cr_assert_eq(json_object_get_int64(json_object_object_get(o, "version")), i + 1,
                         "read-your-writes: %s", r.body);
            cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "customer")), i ? "cy" : "bob",
                             "%s", r.body);
        } else {
            cr_assert_null(o, "deleted, still cached: %s", r.body);
        }
        h_resp_free(&r);
    }
    /* Without the header: no wait, projected is null. */
    cr_assert_eq(
        h_http(NULL, api.port, "POST", "/graphql",
               "{\"query\":\"mutation { createOrder(input: {customer: \\\"dee\\\"}) { projected } }\"}", 5000,
               &r),
        0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(
        json_object_is_type(
            json_object_object_get(
                json_object_object_get(json_object_object_get(r.json, "data"), "createOrder"), "projected"),
            json_type_null),
        "%s", r.body);
    h_resp_free(&r);
    /* A bad consistency value is the client's error. */
    cr_assert_eq(
        h_command(&api, "createOrder", "{\"consistency\":\"eventual\",\"input\":{\"customer\":\"x\"}}", &r),
        0);
    cr_assert_eq(r.status, 400, "%s", r.body);
    h_resp_free(&r);
    /* The indexes declared in the model exist, all plain: unique values are held
     * in the event log (unique.h), not by the cache. */
    char db[160];
    snprintf(db, sizeof db, "byron_%s", api.component);
    for (char *p = db; *p; p++)
        if (*p == '-') *p = '_';
    cr_assert_str_eq(index_names(db, "Order"), ",_id_,code_1,customer_1,");
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

Test(sink_it, two_replicas_share_the_work_and_survive_a_kill, .timeout = 240) {
    h_sidecar_t api;
    h_sidecar_start(&api, "repl", NULL, NULL);
    char *env[] = {"BYRON_SINK_ACK_WAIT_MS=1500", NULL};
    h_sink_t k1, k2;
    h_sink_start(&k1, api.config, 0, env, NULL, NULL);
    h_sink_start(&k2, api.config, 0, env, NULL, NULL);
    run_bursts(&api, 4, 60, 20, 2);
    /* Both replicas project (they share the partitions' consumers). */
    int64_t deadline = byron_test_now_ms() + 20000;
    while (byron_test_now_ms() < deadline &&
           (h_sink_outcome(k1.admin, "projected") < 1 || h_sink_outcome(k2.admin, "projected") < 1))
        byron_test_sleep_ms(50);
    double p1 = h_sink_outcome(k1.admin, "projected"), p2 = h_sink_outcome(k2.admin, "projected");
    cr_assert(p1 > 0 && p2 > 0, "work not shared: replica 1 projected %.0f, replica 2 %.0f", p1, p2);
    /* Kill one in the middle of the next burst: the other finishes. */
    pthread_t t;
    burst_t b = {.api = &api, .first = 500000, .count = 300, .aggregates = 40, .seed = 3};
    cr_assert_eq(pthread_create(&t, NULL, burst, &b), 0);
    deadline = byron_test_now_ms() + 30000;
    while (byron_test_now_ms() < deadline && atomic_load(&b.sent) < 50 && !b.failure[0])
        byron_test_sleep_ms(10);
    int sent_at_kill = atomic_load(&b.sent);
    cr_assert_eq(h_sink_stop(&k1, SIGKILL), 128 + SIGKILL);
    pthread_join(t, NULL);
    cr_assert_eq(b.failure[0], '\0', "%s", b.failure);
    cr_assert(sent_at_kill >= 50 && sent_at_kill < b.count, "the kill came mid-burst: %d of %d sent",
              sent_at_kill, b.count);
    converge(api.stream, k2.port, 0, 60000);
    /* Order: an event delivered before its predecessor was applied would have
     * met the guard's gap rule, which logs and retries it: neither replica did. */
    cr_assert_eq(h_sink_outcome(k2.admin, "dead_lettered"), 0);
    cr_assert(!h_file_contains(k1.log, "not the next one"), "replica 1 saw a gap; see %s", k1.log);
    cr_assert(!h_file_contains(k2.log, "not the next one"), "replica 2 saw a gap; see %s", k2.log);
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k2, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* Without an app an update is written first, conditional on the version
 * before it: no read. Counted: the sink's cache reads do not move while 20
 * updates project (the create and the delete read, as before). */
Test(sink_it, updates_without_an_app_project_without_a_read, .timeout = 120) {
    h_sidecar_t api;
    h_sidecar_start(&api, "wfirst", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    h_resp_t r;
    cr_assert_eq(h_command(&api, "createOrder",
                           "{\"id\":\"w-1\",\"consistency\":\"projected\",\"input\":{\"customer\":\"ann\"}}",
                           &r),
                 0);
    cr_assert(r.status == 200 && json_object_get_boolean(json_object_object_get(r.json, "projected")), "%s",
              r.body);
    h_resp_free(&r);
    double reads = h_metric_value(k.admin, "byron_sink_cache_reads_total");
    cr_assert_gt(reads, 0, "the create reads the document and the tombstone");
    for (int i = 0; i < 20; i++) {
        char body[200];
        snprintf(
            body, sizeof body,
            "{\"id\":\"w-1\",\"consistency\":\"projected\",\"input\":{\"count\":%d,\"customer\":\"c%d\"}}", i,
            i);
        cr_assert_eq(h_command(&api, "updateOrder", body, &r), 0);
        cr_assert(r.status == 200 && json_object_get_boolean(json_object_object_get(r.json, "projected")),
                  "%s", r.body);
        h_resp_free(&r);
    }
    cr_assert_eq(h_sink_outcome_wait(k.admin, "projected", 21, 30000), 21, "see %s", k.log);
    cr_assert_eq(h_metric_value(k.admin, "byron_sink_cache_reads_total"), reads,
                 "20 updates read the cache: see %s", k.log);
    cr_assert_eq(h_http(NULL, api.port, "GET", "/v1/cache/Order/w-1", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_object_get_int64(json_object_object_get(r.json, "version")), 21, "%s", r.body);
    cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "count")), 19, "%s", r.body);
    h_resp_free(&r);
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    /* Killed right after a written-first update: the redelivery finds it in
     * (the write missed, the read path skips it) and nothing is applied twice. */
    char *killed_env[] = {"BYRON_SINK_FAILPOINT=after-own-write", "BYRON_SINK_ACK_WAIT_MS=1000", NULL};
    h_sink_start(&k, api.config, 0, killed_env, NULL, NULL);
    cr_assert_eq(h_command(&api, "updateOrder", "{\"id\":\"w-1\",\"input\":{\"count\":100}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_wait_exit(k.pid, 60000), 128 + SIGKILL, "the sink was not killed; see %s", k.log);
    k.pid = 0;
    cr_assert(h_file_contains(k.log, "\"point\":\"after-own-write\""), "see %s", k.log);
    char *fast_env[] = {"BYRON_SINK_ACK_WAIT_MS=1000", NULL};
    h_sink_start(&k, api.config, 0, fast_env, NULL, NULL);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "skipped", 1, 30000), 1,
                 "the redelivery was not skipped; see %s", k.log);
    cr_assert_eq(h_sink_outcome(k.admin, "projected"), 0);
    cr_assert_eq(h_http(NULL, api.port, "GET", "/v1/cache/Order/w-1", NULL, 2000, &r), 0);
    cr_assert_eq(json_object_get_int64(json_object_object_get(r.json, "version")), 22, "%s", r.body);
    cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "count")), 100, "%s", r.body);
    h_resp_free(&r);
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

static void delete_durables(const char *stream, int partitions) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    for (int p = 0; p < partitions; p++) {
        char name[64];
        snprintf(name, sizeof name, BYRON_SINK_DURABLE_FMT, p);
        jsErrCode jerr = 0;
        js_DeleteConsumer(js, stream, name, NULL, &jerr);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

Test(sink_it, redelivery_and_replay_do_not_double_apply, .timeout = 180) {
    h_sidecar_t api;
    h_sidecar_start(&api, "replay", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    run_bursts(&api, 2, 80, 10, 4);
    converge(api.stream, k.port, 0, 30000);
    json_object *before = cache_dump(k.port, ORDER_MODELS);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    json_object *evs = h_stream_events(api.stream, NULL);
    size_t nevents = json_object_array_length(evs);
    json_object_put(evs);
    /* Replay over the warm cache: the durables are gone, every event comes again, the guard skips them all.
     */
    delete_durables(api.stream, 8);
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "skipped", (double)nevents, 30000), (double)nevents);
    cr_assert_eq(h_sink_outcome(k.admin, "projected"), 0);
    json_object *after = cache_dump(k.port, ORDER_MODELS);
    cr_assert_str_empty(diff(before, after), "replay changed the cache: %s", diff(before, after));
    json_object_put(after);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    /* Rebuild: a new generation projected from the log beside the old one, then read: the same cache. */
    char *rebuild_env[] = {"BYRON_CACHE_GENERATION=1", "BYRON_CACHE_GRACE_MS=0", NULL};
    h_sink_start(&k, api.config, 0, rebuild_env, NULL, NULL);
    int64_t switch_deadline = byron_test_now_ms() + 60000;
    while (!h_metric_is(k.admin, "byron_cache_generation 1") && byron_test_now_ms() < switch_deadline)
        byron_test_sleep_ms(50);
    cr_assert(h_metric_is(k.admin, "byron_cache_generation 1"), "the rebuild did not switch: see %s", k.log);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "projected", (double)nevents, 30000), (double)nevents);
    converge(api.stream, k.port, 0, 30000);
    after = cache_dump(k.port, ORDER_MODELS);
    cr_assert_str_empty(diff(before, after), "rebuild differs: %s", diff(before, after));
    cr_assert_eq(h_sink_outcome(k.admin, "skipped"), 0);
    json_object_put(after);
    json_object_put(before);
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

Test(sink_it, poison_event_is_dead_lettered_and_later_events_projected, .timeout = 180) {
    h_sidecar_t api;
    h_sidecar_start(&api, "poison", "python", NULL);
    char *env[] = {"BYRON_SINK_MAX_DELIVER=3", "BYRON_SINK_RETRY_MS=50", NULL};
    char *app_env[] = {"REFAPP_EVENT_SET={\"OrderShipped\":{\"status\":\"SHIPPED\"}}", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, env, app_env, NULL);
    h_resp_t r;
    /* p-2 and p-3 share p-1's partition: the lane the poison blocks while it is retried. */
    char id2[32] = "", id3[32] = "";
    uint32_t part = byron_partition("Order", "p-1", 8);
    for (int n = 0; !id3[0]; n++) {
        char id[32];
        snprintf(id, sizeof id, "q-%d", n);
        if (byron_partition("Order", id, 8) != part) continue;
        snprintf(id2[0] ? id3 : id2, sizeof id2, "%s", id);
    }
    char cmds[5][2][160];
    snprintf(cmds[0][0], 160, "createOrder");
    snprintf(cmds[0][1], 160, "{\"id\":\"p-1\",\"input\":{\"customer\":\"ann\",\"status\":\"OPEN\"}}");
    snprintf(cmds[1][0], 160, "createOrder");
    snprintf(cmds[1][1], 160, "{\"id\":\"%s\",\"input\":{\"customer\":\"bob\",\"status\":\"OPEN\"}}", id2);
    snprintf(cmds[2][0], 160, "shipOrder");
    snprintf(cmds[2][1], 160, "{\"id\":\"p-1\",\"input\":{\"carrier\":\"poison\"}}");
    snprintf(cmds[3][0], 160, "shipOrder");
    snprintf(cmds[3][1], 160, "{\"id\":\"%s\",\"input\":{\"carrier\":\"ups\"}}", id2);
    snprintf(cmds[4][0], 160, "createOrder");
    snprintf(cmds[4][1], 160, "{\"id\":\"%s\",\"input\":{\"customer\":\"cy\"}}", id3);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(h_command(&api, cmds[i][0], cmds[i][1], &r), 0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        h_resp_free(&r);
    }
    /* The poison event lands in the DLQ with its error, after 3 deliveries. */
    char dlq[256];
    snprintf(dlq, sizeof dlq, "%s_DLQ", api.stream);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "dead_lettered", 1, 30000), 1);
    json_object *d = h_stream_events(dlq, NULL);
    cr_assert_eq(json_object_array_length(d), 1);
    json_object *m = json_object_object_get(json_object_array_get_idx(d, 0), "event");
    const char *why = json_object_get_string(json_object_object_get(m, "error"));
    cr_assert(why && strstr(why, "500"), "error: %s", why ? why : "(none)");
    cr_assert_eq(json_object_get_int(json_object_object_get(m, "deliveries")), 3);
    cr_assert_str_eq(
        json_object_get_string(json_object_object_get(json_object_object_get(m, "event"), "subject")), "p-1");
    json_object_put(d);
    /* Later events are projected: the custom one through the app's handler. */
    int64_t deadline = byron_test_now_ms() + 20000;
    for (;;) {
        json_object *o = NULL;
        char path[80];
        snprintf(path, sizeof path, "/v1/cache/Order/%s", id3);
        cr_assert_eq(h_http(NULL, k.port, "GET", path, NULL, 2000, &r), 0);
        int ok3 = r.status == 200;
        h_resp_free(&r);
        snprintf(path, sizeof path, "/v1/cache/Order/%s", id2);
        cr_assert_eq(h_http(NULL, k.port, "GET", path, NULL, 2000, &r), 0);
        o = r.json;
        int ok2 = o && json_object_get_int(json_object_object_get(o, "version")) == 2 &&
                  strcmp(json_object_get_string(json_object_object_get(o, "status")), "SHIPPED") == 0;
        if ((ok2 && ok3) || byron_test_now_ms() > deadline) {
            cr_assert(ok2 && ok3, "%s: %s; %s projected: %d", id2, r.body, id3, ok3);
            h_resp_free(&r);
            break;
        }
        h_resp_free(&r);
        byron_test_sleep_ms(50);
    }
    /* The poisoned aggregate stays at the version before the poison. */
    cr_assert_eq(h_http(NULL, k.port, "GET", "/v1/cache/Order/p-1", NULL, 2000, &r), 0);
    cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "version")), 1, "%s", r.body);
    h_resp_free(&r);
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* Component B subscribes to A's OrderCreated events (and to a component that
 * does not exist); A has no sink at all. */
Test(sink_it, subscriptions_cross_components_and_survive_the_other_being_away, .timeout = 180) {
    h_sidecar_t a;
    h_sidecar_start(&a, "suba", NULL, NULL);
    char bdir[] = "/tmp/byron-subb-XXXXXX", bcfg[300], bname[100];
    cr_assert_not_null(mkdtemp(bdir));
    snprintf(bcfg, sizeof bcfg, "%s/component.json", bdir);
    snprintf(bname, sizeof bname, "%s-b", a.component);
    FILE *f = fopen(bcfg, "w");
    fprintf(
        f,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"%s\",\"namespace\":\"it\",\"partitions\":2,"
        "\"models\":[{\"name\":\"OrderMirror\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\","
        "\"indexed\":true},"
        "{\"name\":\"status\",\"type\":\"String\"}]}],"
        "\"subscriptions\":[{\"component\":\"%s\",\"events\":[\"OrderCreated\"]},{\"component\":\"ghost-%s\"}"
        "],\"auth\":{\"rules\":[{\"operations\":[\"*\"],\"anonymous\":true}]}}",
        bname, a.component, a.component);
    fclose(f);
    h_sink_t b;
    h_sink_start(&b, bcfg, 2, NULL, NULL,
                 NULL); /* the Node reference app (the Python one serves the DLQ test) */
    /* B is ready although one of its subscriptions has no stream: reported, not blocking. */
    h_resp_t r;
    int64_t deadline = byron_test_now_ms() + 10000;
    for (;;) {
        cr_assert_eq(h_http(NULL, b.admin, "GET", "/readyz", NULL, 2000, &r), 0);
        json_object *subs = json_object_object_get(json_object_object_get(r.json, "checks"), "subscriptions");
        const char *e = json_object_get_string(json_object_object_get(subs, "error"));
        if ((e && strstr(e, "stream not found")) || byron_test_now_ms() > deadline) {
            cr_assert_eq(r.status, 200, "%s", r.body);
            cr_assert(e && strstr(e, "stream not found"), "%s", r.body);
            h_resp_free(&r);
            break;
        }
        h_resp_free(&r);
        byron_test_sleep_ms(50);
    }
    for (int i = 0; i < 20; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"id\":\"m-%d\",\"input\":{\"customer\":\"c%d\",\"status\":\"OPEN\"}}",
                 i, i);
        cr_assert_eq(h_command(&a, "createOrder", body, &r), 0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        h_resp_free(&r);
    }
    cr_assert_eq(h_command(&a, "updateOrder", "{\"id\":\"m-0\",\"input\":{\"status\":\"SHIPPED\"}}", &r), 0);
    h_resp_free(&r);
    /* B's cache mirrors A's creates (not the update: B listens to OrderCreated only). */
    deadline = byron_test_now_ms() + 20000;
    for (;;) {
        static const char *const M[] = {"OrderMirror", NULL};
        json_object *got = cache_dump(b.port, M);
        int n = json_object_object_length(got);
        json_object *m0 = json_object_object_get(got, "OrderMirror/m-0");
        int ok = n == 20 && m0 &&
                 strcmp(json_object_get_string(json_object_object_get(m0, "status")), "OPEN") == 0 &&
                 strcmp(json_object_get_string(json_object_object_get(m0, "customer")), "c0") == 0;
        if (ok || byron_test_now_ms() > deadline) {
            cr_assert(ok, "B's cache: %s", json_object_to_json_string(got));
            json_object_put(got);
            break;
        }
        json_object_put(got);
        byron_test_sleep_ms(100);
    }
    /* The update is not listed: consumed and counted, not handed to the app. */
    cr_assert_geq(h_sink_outcome_wait(b.admin, "filtered", 1, 10000), 1);
    /* A goes away entirely (NATS keeps its stream): B keeps serving and stays ready. */
    h_sidecar_stop(&a);
    cr_assert(h_ready(b.admin));
    /* A restarted (same component) with new events: B catches up. */
    h_sidecar_t a2;
    char same[80];
    snprintf(same, sizeof same, "=%s", a.component);
    h_sidecar_start(&a2, same, NULL, NULL);
    cr_assert_eq(h_command(&a2, "createOrder", "{\"id\":\"m-late\",\"input\":{\"customer\":\"late\"}}", &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    deadline = byron_test_now_ms() + 20000;
    while (byron_test_now_ms() < deadline) {
        cr_assert_eq(h_http(NULL, b.port, "GET", "/v1/cache/OrderMirror/m-late", NULL, 2000, &r), 0);
        long st = r.status;
        h_resp_free(&r);
        if (st == 200) break;
        byron_test_sleep_ms(50);
    }
    cr_assert_eq(h_http(NULL, b.port, "GET", "/v1/cache/OrderMirror/m-late", NULL, 2000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&b, SIGTERM), 0);
    h_sidecar_stop(&a2);
}

/* The app being away is not the event's fault: its events are retried past
 * MaxDeliver, never dead-lettered, and projected once it is back. */
Test(sink_it, app_down_is_retried_not_dead_lettered, .timeout = 120) {
    h_sidecar_t api;
    h_sidecar_start(&api, "appdown", "python", NULL);
    char *env[] = {"BYRON_SINK_MAX_DELIVER=2", "BYRON_SINK_RETRY_MS=50", NULL};
    char *app_env[] = {"REFAPP_EVENT_SET={\"OrderShipped\":{\"status\":\"SHIPPED\"}}", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, env, app_env, NULL);
    h_resp_t r;
    cr_assert_eq(h_command(&api, "createOrder", "{\"id\":\"d-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    h_resp_free(&r);
    cr_assert_geq(h_sink_outcome_wait(k.admin, "projected", 1, 20000), 1, "the sink projected nothing");
    kill(k.app_pid, SIGKILL);
    h_wait_exit(k.app_pid, 5000);
    k.app_pid = 0;
    unlink(k.app_sock);
    cr_assert_eq(h_command(&api, "shipOrder", "{\"id\":\"d-1\",\"input\":{\"carrier\":\"ups\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_geq(h_sink_outcome_wait(k.admin, "failed", 4, 20000), 4,
                  "the event was not retried while the app was away");
    cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0);
    h_app_start(&k, 1, app_env);
    int64_t deadline = byron_test_now_ms() + 20000;
    for (;;) {
        cr_assert_eq(h_http(NULL, k.port, "GET", "/v1/cache/Order/d-1", NULL, 2000, &r), 0);
        int ok = r.json && json_object_get_int(json_object_object_get(r.json, "version")) == 2 &&
                 strcmp(json_object_get_string(json_object_object_get(r.json, "status")), "SHIPPED") == 0;
        if (ok || byron_test_now_ms() > deadline) {
            cr_assert(ok, "not projected after the app came back: %s", r.body);
            h_resp_free(&r);
            break;
        }
        h_resp_free(&r);
        byron_test_sleep_ms(50);
    }
    cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0);
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* The NATS connections named for the component (namespace "it"), from the
 * testenv server's /connz; their names, space-separated, into names. */
static int component_connections(const char *component, char *names, size_t cap) {
    const char *url = h_env("BYRON_NATS_MONITOR_URL"), *colon = strrchr(url, ':');
    cr_assert_not_null(colon, "%s", url);
    h_resp_t r;
    cr_assert_eq(h_http(NULL, (int)strtol(colon + 1, NULL, 10), "GET", "/connz?limit=100000", NULL, 5000, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_object *conns = json_object_object_get(r.json, "connections");
    char mid[200], end[200];
    snprintf(mid, sizeof mid, "/it/%s/", component);
    snprintf(end, sizeof end, "/it/%s", component);
    int n = 0;
    names[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(conns); i++) {
        const char *name =
            json_object_get_string(json_object_object_get(json_object_array_get_idx(conns, i), "name"));
        size_t len = name ? strlen(name) : 0, elen = strlen(end);
        if (name && (strstr(name, mid) || (len >= elen && strcmp(name + len - elen, end) == 0))) {
            n++;
            size_t used = strlen(names);
            snprintf(names + used, cap - used, "%s ", name);
        }
    }
    h_resp_free(&r);
    return n;
}

/* One broker layer (issue 15): in each sidecar process the stream calls, the
 * GraphQL subscriptions (api), the lanes and dead letters (sink) share one
 * NATS connection. */
Test(sink_it, each_sidecar_process_has_one_nats_connection, .timeout = 120) {
    h_sidecar_t api;
    h_sidecar_start(&api, "oneconn", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL); /* ready: its lanes are bound */
    h_resp_t r;
    cr_assert_eq(h_command(&api, "createOrder", "{\"id\":\"c-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    h_resp_free(&r);
    cr_assert_geq(h_sink_outcome_wait(k.admin, "projected", 1, 20000), 1, "the sink projected nothing");
    char names[1024];
    int n = component_connections(api.component, names, sizeof names);
    cr_assert_eq(n, 2, "%d NATS connections for an api and a sink process, not 2: %s", n, names);
    cr_assert(strstr(names, "/api ") && strstr(names, "/sink "), "not one each: %s", names);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* ---- stress (the concurrency tier, issue 17) ---------------------------- */

typedef struct {
    int port, admin; /* REST reads on the public port; probes and metrics on the admin port */
    atomic_int stop;
    int reads, failures; /* read by the test's thread after the join */
} reader_t;

/* Reads the sink serves while it projects: cache queries (its worker pool),
 * readiness (every lane's state) and metrics. Counts; the test asserts. */
static void *reader(void *arg) {
    reader_t *r = arg;
    static const char *const PATHS[] = {"/v1/cache/Order/query", "/readyz", "/metrics"};
    for (int i = 0; !atomic_load(&r->stop); i++) {
        h_resp_t resp;
        const char *path = PATHS[i % 3];
        int post = i % 3 == 0;
        int ok = h_http(NULL, post ? r->port : r->admin, post ? "POST" : "GET", path,
                        post ? "{\"first\":50}" : NULL, 10000, &resp) == 0 &&
                 (resp.status == 200 || (i % 3 == 1 && resp.status == 503));
        h_resp_free(&resp);
        r->reads++;
        r->failures += !ok;
    }
    return NULL;
}

/* Many partitions and lanes: 32 partitions over 5 lane threads in each of two
 * replicas (one calling the app's handlers from its lanes), 8 writers, and
 * reads of the sinks' own endpoints all the while. The cache must end up the
 * fold of the log and both sinks must exit 0 (no sanitizer report). */
Test(sink_it, stress_many_partitions_lanes_and_readers, .timeout = 900) {
    h_sidecar_partitions = 32;
    h_sidecar_t api;
    h_sidecar_start(&api, "kstress", NULL, NULL);
    h_sidecar_partitions = 0;
    char *env[] = {"BYRON_SINK_THREADS=5", NULL};
    h_sink_t k1, k2;
    h_sink_start(&k1, api.config, 1, env, NULL, NULL);
    h_sink_start(&k2, api.config, 0, env, NULL, NULL);
    reader_t r1 = {.port = k1.port, .admin = k1.admin}, r2 = {.port = k2.port, .admin = k2.admin};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, reader, &r1);
    pthread_create(&t2, NULL, reader, &r2);
    run_bursts(&api, 8, 50, 25, 17);
    converge(api.stream, k1.port, 0, 120000);
    atomic_store(&r1.stop, 1);
    atomic_store(&r2.stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert(r1.reads > 0 && r2.reads > 0);
    cr_assert_eq(r1.failures + r2.failures, 0, "%d of %d reads failed", r1.failures + r2.failures,
                 r1.reads + r2.reads);
    cr_assert(h_sink_outcome(k1.admin, "projected") > 0 && h_sink_outcome(k2.admin, "projected") > 0,
              "both replicas project");
    h_assert_fold_equals_cache(api.config, k1.app_sock);
    cr_assert_eq(h_sink_stop(&k2, SIGTERM), 0);
    cr_assert_eq(h_sink_stop(&k1, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&api), 0);
}
