/* test_rebuild_it.c — the zero-downtime rebuild (docs/sink.md, "Rebuild")
 * against real nats-server and FerretDB: a sink asked for a new cache
 * generation builds it beside the live one while an api keeps answering
 * commands (each waiting until the cache shows it: Byron-Consistency
 * projected) and reads; the api switches once the new generation has caught
 * up, the old one is dropped, and the fold checker finds cache == fold. Every
 * wait has a deadline; the threads count, the test's thread asserts. */
#include "generation.h"
#include "harness.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- load: commands and reads through the api --------------------------- */

typedef struct {
    h_sidecar_t *api;
    atomic_int stop;
    atomic_int created;  /* orders whose create was answered projected (the count a read must reach) */
    atomic_int commands; /* commands answered 200 and projected */
    atomic_int failed;   /* commands not answered so */
    atomic_int reads, partial, read_errors;
    char failure[600], partial_read[300]; /* the first of each, asserted by the test's thread */
} load_t;

static int command(load_t *l, const char *cmd, const char *body) {
    char path[128];
    snprintf(path, sizeof path, "/v1/commands/%s", cmd);
    h_resp_t r;
    int rc = h_http_hdr(NULL, l->api->port, "POST", path, body, 15000, "Byron-Consistency: projected", &r);
    int ok = rc == 0 && r.status == 200 && r.json &&
             json_object_get_boolean(json_object_object_get(r.json, "projected"));
    if (!ok && !l->failure[0]) { /* the projection's error, when the command happened */
        const char *why =
            r.json ? json_object_get_string(json_object_object_get(r.json, "projectionError")) : NULL;
        snprintf(l->failure, sizeof l->failure, "%s %s: transport %d, status %ld: %s", cmd, body, rc,
                 r.status,
                 why      ? why
                 : r.body ? r.body
                          : "");
    }
    h_resp_free(&r);
    atomic_fetch_add(ok ? &l->commands : &l->failed, 1);
    return ok;
}

/* Creates r-<n> and updates the one before, until told to stop. */
static void *writer(void *arg) {
    load_t *l = arg;
    for (int n = 0; !atomic_load(&l->stop); n++) {
        char body[300];
        snprintf(body, sizeof body,
                 "{\"id\":\"r-%d\",\"input\":{\"customer\":\"w%d\",\"status\":\"OPEN\",\"count\":%d}}", n, n,
                 n);
        if (command(l, "createOrder", body)) atomic_fetch_add(&l->created, 1);
        if (n > 0) {
            snprintf(body, sizeof body, "{\"id\":\"r-%d\",\"input\":{\"count\":%d,\"status\":\"SHIPPED\"}}",
                     n - 1, n * 10);
            command(l, "updateOrder", body);
        }
    }
    return NULL;
}

/* The number of orders the api serves (pages of 1000). */
static int count_orders(h_sidecar_t *api, int *ok) {
    char after[512] = "";
    int n = 0;
    *ok = 1;
    for (;;) {
        char body[700];
        if (after[0])
            snprintf(body, sizeof body, "{\"first\":1000,\"after\":\"%s\"}", after);
        else
            snprintf(body, sizeof body, "{\"first\":1000}");
        h_resp_t r;
        if (h_http(NULL, api->port, "POST", "/v1/cache/Order/query", body, 10000, &r) != 0 ||
            r.status != 200 || !r.json) {
            h_resp_free(&r);
            *ok = 0;
            return n;
        }
        n += (int)json_object_array_length(json_object_object_get(r.json, "items"));
        int more = json_object_get_boolean(json_object_object_get(r.json, "hasNextPage"));
        const char *end = json_object_get_string(json_object_object_get(r.json, "endCursor"));
        snprintf(after, sizeof after, "%s", end ? end : "");
        h_resp_free(&r);
        if (!more) return n;
    }
}

/* Reads the count of orders; a count below the orders already created and
 * projected before the read began is a partial cache. */
static void *reader(void *arg) {
    load_t *l = arg;
    while (!atomic_load(&l->stop)) {
        int want = atomic_load(&l->created) + 100; /* + the seed */
        int ok = 0, got = count_orders(l->api, &ok);
        atomic_fetch_add(&l->reads, 1);
        if (!ok) {
            atomic_fetch_add(&l->read_errors, 1);
        } else if (got < want) {
            if (!atomic_fetch_add(&l->partial, 1))
                snprintf(l->partial_read, sizeof l->partial_read, "read %d orders, %d were projected", got,
                         want);
        }
    }
    return NULL;
}

/* ---- the cache, read directly ------------------------------------------ */

static void database_of(const h_sidecar_t *api, char *db, size_t cap) {
    snprintf(db, cap, "byron_%s", api->component);
    for (char *p = db; *p; p++)
        if (*p == '-') *p = '_';
}

static byron_generation_pointer_t pointer(const char *db) {
    mongoc_client_t *cl = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    byron_generation_pointer_t p;
    byron_err_t e = {0};
    cr_assert_eq(byron_generation_read(cl, db, &p, &e), BYRON_OK, "%s", e.msg);
    mongoc_client_destroy(cl);
    return p;
}

static int64_t documents(const char *db, const char *coll_name) {
    mongoc_client_t *cl = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, coll_name);
    bson_t filter = BSON_INITIALIZER;
    bson_error_t be;
    int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &be);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(cl);
    return n < 0 ? 0 : n;
}

/* Whether the database lists the collection. */
static int collection_exists(const char *db, const char *coll_name) {
    mongoc_client_t *cl = mongoc_client_new(h_env("BYRON_MONGO_URI"));
    mongoc_database_t *d = mongoc_client_get_database(cl, db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    int found = 0;
    for (char **n = names; n && *n; n++) found |= strcmp(*n, coll_name) == 0;
    bson_strfreev(names);
    mongoc_database_destroy(d);
    mongoc_client_destroy(cl);
    return found;
}

/* The pointer reaches generation gen with its old one dropped (deadline). */
static void wait_switched_and_dropped(const char *db, int64_t gen, int timeout_ms) {
    byron_generation_pointer_t p = {0};
    for (int64_t deadline = h_mono_ms() + timeout_ms; h_mono_ms() < deadline; h_sleep_ms(100)) {
        p = pointer(db);
        if (p.active == gen && p.building == 0 && p.retired < 0) return;
    }
    cr_assert_fail(
        "generation %lld not live with the old one dropped: active %lld building %lld retired %lld",
        (long long)gen, (long long)p.active, (long long)p.building, (long long)p.retired);
}

/* Messages of the component's dead-letter stream (0 while it does not exist). */
static int64_t dead_letters(const char *stream) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    char dlq[200];
    snprintf(dlq, sizeof dlq, "%s_DLQ", stream);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    int64_t n = js_GetStreamInfo(&si, js, dlq, NULL, &jerr) == NATS_OK ? (int64_t)si->State.Msgs : 0;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n;
}

static const char FORGED[] = "{\"not\":\"an event\"}";

/* A forged event (not an envelope) on partition 0 of the component's stream:
 * invalid, a dead letter at once. */
static void publish_forged(const h_sidecar_t *api) {
    json_object *evs = h_stream_events(api->stream, NULL);
    cr_assert(json_object_array_length(evs) > 0);
    char subject[300];
    snprintf(subject, sizeof subject, "%s",
             json_object_get_string(json_object_object_get(json_object_array_get_idx(evs, 0), "subject")));
    json_object_put(evs);
    char *dot = subject; /* byron.<ns>.<c>.<p>.Model.id: keep byron.<ns>.<c> */
    for (int i = 0; i < 3 && dot; i++) dot = strchr(dot + 1, '.');
    cr_assert_not_null(dot);
    snprintf(dot, sizeof subject - (size_t)(dot - subject), ".0.Order.forged");
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsErrCode jerr = 0;
    cr_assert_eq(js_Publish(NULL, js, subject, FORGED, (int)strlen(FORGED), NULL, &jerr), NATS_OK, "%s: %d",
                 subject, (int)jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/* A sink stopped while its pull request is out may leave the event the server
 * sent it unacknowledged until AckWait, holding its lane (MaxAckPending 1):
 * the roll here stops sinks under load, so AckWait is short — commands wait
 * at most 5 s for the cache. */
static char *sink_env[] = {NULL, "BYRON_CACHE_GRACE_MS=3000", "BYRON_SINK_ACK_WAIT_MS=1500", NULL};
static char *old_sink_env[] = {"BYRON_SINK_ACK_WAIT_MS=1500", NULL};

/* ---- tests ------------------------------------------------------------- */

Test(rebuild_it, a_rebuild_under_load_switches_with_no_failed_command_and_no_partial_read, .timeout = 300) {
    h_sidecar_t api;
    h_sidecar_start(&api, "rebuild", NULL, NULL);
    char db[200];
    database_of(&api, db, sizeof db);
    h_sink_t k1, k2;
    h_sink_start(&k1, api.config, 0, old_sink_env, NULL, NULL);
    load_t l = {.api = &api};
    for (int n = 0; n < 100; n++) { /* the seed: 100 orders, 200 events */
        char body[300];
        snprintf(body, sizeof body, "{\"id\":\"s-%d\",\"input\":{\"customer\":\"s%d\",\"count\":%d}}", n, n,
                 n);
        command(&l, "createOrder", body);
        snprintf(body, sizeof body, "{\"id\":\"s-%d\",\"input\":{\"count\":%d}}", n, -n);
        command(&l, "updateOrder", body);
    }
    cr_assert_eq(atomic_load(&l.failed), 0, "seed: %s", l.failure);
    publish_forged(&api); /* a dead letter the rebuild meets again */
    for (int64_t until = h_mono_ms() + 30000; dead_letters(api.stream) < 1 && h_mono_ms() < until;)
        h_sleep_ms(50);
    cr_assert_eq(dead_letters(api.stream), 1, "the forged event was not dead-lettered: see %s", k1.log);
    cr_assert_eq(pointer(db).active, 0, "a cache from before rebuilds is generation 0");
    pthread_t w, r;
    cr_assert_eq(pthread_create(&w, NULL, writer, &l), 0);
    cr_assert_eq(pthread_create(&r, NULL, reader, &l), 0);
    while (atomic_load(&l.reads) < 5 && atomic_load(&l.commands) < 220 + 10) h_sleep_ms(20);

    /* The roll: a sink that wants generation 1 starts; the old one keeps projecting generation 0
     * beside it (a roll's overlap) and follows the switch. */
    int reads_before = atomic_load(&l.reads), commands_before = atomic_load(&l.commands);
    sink_env[0] = "BYRON_CACHE_GENERATION=1";
    h_sink_start(&k2, api.config, 0, sink_env, NULL, NULL);
    int64_t deadline = h_mono_ms() + 120000;
    byron_generation_pointer_t p = pointer(db);
    while (p.active != 1 && h_mono_ms() < deadline) {
        h_sleep_ms(50);
        p = pointer(db);
    }
    cr_assert_eq(p.active, 1, "the rebuild did not switch within 120 s: see %s", k2.log);
    int reads_during = atomic_load(&l.reads) - reads_before,
        commands_during = atomic_load(&l.commands) - commands_before;
    for (int64_t until = h_mono_ms() + 10000;
         !h_file_contains(k1.log, "following the cache's new generation") && h_mono_ms() < until;)
        h_sleep_ms(50);
    cr_assert(h_file_contains(k1.log, "following the cache's new generation"),
              "the old sink did not follow: %s", k1.log);
    cr_assert_eq(h_sink_stop(&k1, SIGTERM), 0);
    wait_switched_and_dropped(db, 1, 30000);
    atomic_store(&l.stop, 1);
    pthread_join(w, NULL);
    pthread_join(r, NULL);

    cr_assert_eq(atomic_load(&l.failed), 0, "%d commands failed; the first: %s", atomic_load(&l.failed),
                 l.failure);
    cr_assert_eq(atomic_load(&l.partial), 0, "%d reads saw a partial cache; the first: %s",
                 atomic_load(&l.partial), l.partial_read);
    cr_assert_eq(atomic_load(&l.read_errors), 0, "%d reads failed", atomic_load(&l.read_errors));
    cr_assert(reads_during > 0 && commands_during > 0, "load during the rebuild: %d reads, %d commands",
              reads_during, commands_during);
    /* The progress written at the switch: every event of the stream settled. */
    cr_assert(p.total >= 201 && p.projected == p.total, "progress at the switch: %lld/%lld",
              (long long)p.projected, (long long)p.total);
    cr_log_info("rebuild under load: %d reads and %d commands while it ran; %d commands, %d reads in all",
                reads_during, commands_during, atomic_load(&l.commands), atomic_load(&l.reads));
    /* The new generation holds every order; the old one is gone. */
    cr_assert_eq(documents(db, "_g1_Order"), 100 + atomic_load(&l.created));
    cr_assert(!collection_exists(db, "Order"), "generation 0's Order collection is still there");
    cr_assert(!collection_exists(db, "_byron_sink"), "generation 0's _byron_sink is still there");
    cr_assert(h_sink_outcome_wait(k2.admin, "projected", 200, 30000) >= 200,
              "the rebuild projected the seed's events again");
    /* The forged event failed again in the rebuild; its dead letter was not stored a second time. */
    cr_assert(h_file_contains(k2.log, "the event's dead letter is already stored"), "see %s", k2.log);
    cr_assert_eq(dead_letters(api.stream), 1);
    h_assert_fold_equals_cache(api.config, NULL);

    /* Again, back into the first name slot, without load: generation 2. */
    h_sink_t k3;
    sink_env[0] = "BYRON_CACHE_GENERATION=2";
    h_sink_start(&k3, api.config, 0, sink_env, NULL, NULL);
    cr_assert_eq(h_sink_stop(&k2, SIGTERM), 0);
    wait_switched_and_dropped(db, 2, 60000);
    cr_assert_eq(pointer(db).active_slot, 0);
    cr_assert_eq(documents(db, "_g2_Order"), 100 + atomic_load(&l.created));
    cr_assert(!collection_exists(db, "_g1_Order"), "generation 1 is still there");
    int ok = 0;
    cr_assert_eq(count_orders(&api, &ok), 100 + atomic_load(&l.created));
    cr_assert(ok);
    h_assert_fold_equals_cache(api.config, NULL);

    /* A sink still told generation 1 (an older roll) projects the live one, and drops nothing. */
    cr_assert_eq(h_sink_stop(&k3, SIGTERM), 0);
    sink_env[0] = "BYRON_CACHE_GENERATION=1";
    h_sink_start(&k3, api.config, 0, sink_env, NULL, NULL);
    command(&l, "createOrder", "{\"id\":\"late\",\"input\":{\"customer\":\"late\"}}");
    cr_assert_eq(atomic_load(&l.failed), 0, "%s", l.failure);
    cr_assert_eq(pointer(db).active, 2);
    cr_assert_eq(documents(db, "_g2_Order"), 101 + atomic_load(&l.created));
    cr_assert_eq(h_sink_stop(&k3, SIGTERM), 0);
    h_sidecar_stop(&api);
}
