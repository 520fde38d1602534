/* test_consistency_it.c — the consistency core (docs/consistency.md) under real
 * concurrency and real faults, against real nats-server and FerretDB, with
 * byron-sidecar processes (two api replicas, sinks) and real apps:
 *
 *   - a state machine enforced by the orders example's before hooks holds
 *     when conflicting commands race through two api replicas;
 *   - unique values are held by at most one live aggregate in the log at every
 *     moment, across replicas, and a freed value can be claimed again;
 *   - a sink killed (SIGKILL) inside an event's writes, or one of whose writes
 *     fails, applies every change once and runs the after hook;
 *   - a poison event too large to embed is dead-lettered by reference and the
 *     partition flows on.
 *
 * After every scenario the fold checker (byron-sidecar --mode=verify, an
 * independent fold of the stream) must find the cache equal to the log. No
 * guarantee here rests on FerretDB's compare-and-set: two sink replicas never
 * race on one event (docs/testing.md). */
#include "byron/json.h"
#include "envelope.h"
#include "harness.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_object *jget(json_object *o, const char *key) {
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static long command(h_sidecar_t *sc, const char *cmd, const char *body) {
    h_resp_t r;
    cr_assert_eq(h_command(sc, cmd, body, &r), 0, "%s: no answer", cmd);
    long status = r.status;
    int known = status == 200 || status == 409 || status == 422;
    char msg[600];
    snprintf(msg, sizeof msg, "%.500s", r.body ? r.body : "");
    h_resp_free(&r);
    cr_assert(known, "%s %s: HTTP %ld %s", cmd, body, status, msg);
    return status;
}

/* ---- 1. decisions on the exact state ---------------------------------- */

#define ORDERS 60
#define PAIRS 4

typedef struct {
    h_sidecar_t *replica;
    const char *command, *body_fmt;
    int first, count;
    long status[ORDERS];
} racer_t;

static void *racer(void *arg) {
    racer_t *r = arg;
    for (int i = r->first; i < r->first + r->count; i++) {
        char body[256];
        snprintf(body, sizeof body, r->body_fmt, i);
        h_resp_t resp;
        r->status[i] = h_command(r->replica, r->command, body, &resp) == 0 ? resp.status : -1;
        h_resp_free(&resp);
    }
    return NULL;
}

Test(consistency_it, state_machine_holds_across_two_replicas, .timeout = 600) {
    char src[600], same[80];
    snprintf(src, sizeof src, "%s/examples/orders/component.yaml", getenv("BYRON_SOURCE_DIR"));
    h_component_source = src;
    h_sidecar_t a, b;
    h_sidecar_start(&a, "sm", "orders", NULL);
    snprintf(same, sizeof same, "=%s", a.component);
    h_sidecar_start(&b, same, "orders", NULL);
    h_component_source = NULL;
    h_sink_t k;
    h_sink_start(&k, a.config, 3, NULL, NULL, NULL);
    for (int i = 0; i < ORDERS; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"id\":\"sm-%d\",\"input\":{\"customer\":\"c%d\",\"total\":10.5}}", i,
                 i);
        cr_assert_eq(command(i % 2 ? &b : &a, "createOrder", body), 200);
    }
    /* Each order gets a shipOrder through one replica and a cancelOrder through
     * the other at the same moment; the hooks allow exactly one of them. */
    racer_t ship[PAIRS], cancel[PAIRS];
    pthread_t t[2 * PAIRS];
    for (int p = 0; p < PAIRS; p++) {
        int n = ORDERS / PAIRS;
        ship[p] = (racer_t){.replica = &a,
                            .command = "shipOrder",
                            .first = p * n,
                            .count = n,
                            .body_fmt = "{\"id\":\"sm-%d\",\"input\":{\"carrier\":\"ups\"}}"};
        cancel[p] = (racer_t){.replica = &b,
                              .command = "cancelOrder",
                              .first = p * n,
                              .count = n,
                              .body_fmt = "{\"id\":\"sm-%d\",\"input\":{\"reason\":\"changed my mind\"}}"};
        pthread_create(&t[2 * p], NULL, racer, &ship[p]);
        pthread_create(&t[2 * p + 1], NULL, racer, &cancel[p]);
    }
    for (int i = 0; i < 2 * PAIRS; i++) pthread_join(t[i], NULL);
    int shipped = 0, cancelled = 0;
    for (int p = 0; p < PAIRS; p++)
        for (int i = ship[p].first; i < ship[p].first + ship[p].count; i++) {
            long s = ship[p].status[i], c = cancel[p].status[i];
            cr_assert((s == 200) != (c == 200),
                      "order sm-%d: shipOrder %ld, cancelOrder %ld: want exactly one", i, s, c);
            cr_assert((s == 200 || s == 422) && (c == 200 || c == 422), "order sm-%d: %ld %ld", i, s, c);
            shipped += s == 200;
            cancelled += c == 200;
        }
    cr_assert_eq(shipped + cancelled, ORDERS);
    /* The log never holds a transition the hooks forbid. */
    json_object *evs = h_stream_events(a.stream, NULL);
    int has_ship[ORDERS] = {0}, has_cancel[ORDERS] = {0};
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *ev = jget(json_object_array_get_idx(evs, i), "event");
        const char *type = json_object_get_string(jget(ev, "type")),
                   *id = json_object_get_string(jget(ev, "subject"));
        int n = id && strncmp(id, "sm-", 3) == 0 ? (int)strtol(id + 3, NULL, 10) : -1;
        if (n < 0 || n >= ORDERS || !type) continue;
        has_ship[n] += strcmp(type, "OrderShipped") == 0;
        has_cancel[n] += strcmp(type, "OrderCancelled") == 0;
    }
    json_object_put(evs);
    for (int i = 0; i < ORDERS; i++)
        cr_assert_eq(has_ship[i] + has_cancel[i], 1,
                     "order sm-%d: %d OrderShipped, %d OrderCancelled in the log", i, has_ship[i],
                     has_cancel[i]);
    h_assert_fold_equals_cache(a.config, k.app_sock);
    cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0);
    cr_assert_eq(h_sidecar_stop(&a), 0);
    cr_assert_eq(h_sidecar_stop(&b), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
}

/* ---- 2. unique values in the log --------------------------------------- */

#define RACERS 8
#define ROUNDS 12

typedef struct {
    h_sidecar_t *replica;
    char cmd[32], body[256];
    long status;
} shot_t;

static void *fire(void *arg) {
    shot_t *s = arg;
    h_resp_t r;
    s->status = h_command(s->replica, s->cmd, s->body, &r) == 0 ? r.status : -1;
    h_resp_free(&r);
    return NULL;
}

/* RACERS commands at once, alternately through two replicas; the number that succeeded. */
static int volley(h_sidecar_t *a, h_sidecar_t *b, shot_t *shots, int n) {
    pthread_t t[RACERS];
    for (int i = 0; i < n; i++) {
        shots[i].replica = i % 2 ? b : a;
        pthread_create(&t[i], NULL, fire, &shots[i]);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        cr_assert(shots[i].status == 200 || shots[i].status == 409, "%s %s: HTTP %ld", shots[i].cmd,
                  shots[i].body, shots[i].status);
        ok += shots[i].status == 200;
    }
    return ok;
}

/* Folds the log in stream order and checks, after every event, that no two
 * live aggregates hold one value of Order.code. Returns the number of events. */
static size_t check_unique_in_log(const char *stream) {
    json_object *evs = h_stream_events(stream, NULL);
    json_object *holds = json_object_new_object(); /* id → code */
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *ev = jget(json_object_array_get_idx(evs, i), "event");
        const char *type = json_object_get_string(jget(ev, "type")),
                   *id = json_object_get_string(jget(ev, "subject"));
        if (!type || !id) continue; /* a unique claim, not an event */
        n++;
        json_object *data = jget(ev, "data"), *code = NULL;
        if (!strcmp(type, "OrderDeleted")) {
            json_object_object_del(holds, id);
        } else if (json_object_object_get_ex(data, "code", &code)) {
            if (code && !json_object_is_type(code, json_type_null))
                json_object_object_add(holds, id, json_object_new_string(json_object_get_string(code)));
            else
                json_object_object_del(holds, id);
        }
        json_object *seen = json_object_new_object();
        json_object_object_foreach(holds, holder, value) {
            json_object *other = NULL;
            cr_assert(!json_object_object_get_ex(seen, json_object_get_string(value), &other),
                      "after stream sequence %lld, code %s is held by %s and %s",
                      (long long)json_object_get_int64(jget(json_object_array_get_idx(evs, i), "seq")),
                      json_object_get_string(value), holder, json_object_get_string(other));
            json_object_object_add(seen, json_object_get_string(value), json_object_new_string(holder));
        }
        json_object_put(seen);
    }
    json_object_put(holds);
    json_object_put(evs);
    return n;
}

Test(consistency_it, unique_values_held_once_across_two_replicas, .timeout = 600) {
    h_sidecar_t a, b;
    char same[80];
    h_sidecar_start(&a, "uniq", NULL, NULL);
    snprintf(same, sizeof same, "=%s", a.component);
    h_sidecar_start(&b, same, NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, a.config, 0, NULL, NULL, NULL);
    shot_t shots[RACERS];
    int winner[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) { /* RACERS creates of distinct orders claim one code */
        for (int i = 0; i < RACERS; i++) {
            snprintf(shots[i].cmd, sizeof shots[i].cmd, "createOrder");
            snprintf(shots[i].body, sizeof shots[i].body,
                     "{\"id\":\"u-%d-%d\",\"input\":{\"customer\":\"c\",\"code\":\"C-%d\"}}", r, i, r);
        }
        cr_assert_eq(volley(&a, &b, shots, RACERS), 1, "round %d: one create wins C-%d", r, r);
        for (int i = 0; i < RACERS; i++)
            if (shots[i].status == 200) winner[r] = i;
    }
    for (int r = 0; r < ROUNDS; r += 2) { /* two winners race updates to one new code */
        for (int i = 0; i < 2; i++) {
            snprintf(shots[i].cmd, sizeof shots[i].cmd, "updateOrder");
            snprintf(shots[i].body, sizeof shots[i].body,
                     "{\"id\":\"u-%d-%d\",\"input\":{\"code\":\"D-%d\"}}", r + i, winner[r + i], r);
        }
        cr_assert_eq(volley(&a, &b, shots, 2), 1, "pair %d: one update wins D-%d", r, r);
    }
    /* A value freed by a delete, or by an update moving off it, is free again. */
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"u-1-%d\"}", winner[1]);
    cr_assert_eq(command(&a, "deleteOrder", body), 200);
    cr_assert_eq(
        command(&b, "createOrder", "{\"id\":\"u-again-1\",\"input\":{\"customer\":\"c\",\"code\":\"C-1\"}}"),
        200, "C-1 freed by a delete");
    snprintf(body, sizeof body, "{\"id\":\"u-3-%d\",\"input\":{\"code\":null}}", winner[3]);
    cr_assert_eq(command(&b, "updateOrder", body), 200);
    cr_assert_eq(
        command(&a, "createOrder", "{\"id\":\"u-again-3\",\"input\":{\"customer\":\"c\",\"code\":\"C-3\"}}"),
        200, "C-3 freed by an update");
    cr_assert_eq(
        command(&a, "createOrder", "{\"id\":\"u-late\",\"input\":{\"customer\":\"c\",\"code\":\"D-4\"}}"),
        409, "D-4 is still held (by the winner of the third pair)");
    cr_assert_gt(check_unique_in_log(a.stream), ROUNDS);
    h_assert_fold_equals_cache(a.config, NULL);
    cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0,
                 "a command through the sidecar is never dead-lettered");
    cr_assert_eq(h_sidecar_stop(&a), 0);
    cr_assert_eq(h_sidecar_stop(&b), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
}

/* ---- 3. a sink never loses work ---------------------------------------- */

#define CHANGES_ENV                                                                                          \
    "REFAPP_EVENT_CHANGES={\"OrderShipped\":["                                                               \
    "{\"model\":\"OrderLine\",\"id\":\"{id}-a\",\"set\":{\"sku\":\"a\",\"qty\":1}},"                         \
    "{\"model\":\"OrderLine\",\"id\":\"{id}-b\",\"set\":{\"sku\":\"b\",\"qty\":2}},"                         \
    "{\"model\":\"OrderLine\",\"id\":\"{id}-c\",\"set\":{\"sku\":\"c\",\"qty\":3}}]}"

/* How often the app beside sink k ran the after hook of the event with id ev_id. */
static int after_hook_runs(h_sink_t *k, const char *ev_id) {
    h_resp_t r;
    cr_assert_eq(h_http(k->app_sock, 0, "GET", "/v1/stats", NULL, 2000, &r), 0);
    int n = json_object_get_int(jget(jget(r.json, "eventAfter"), ev_id));
    h_resp_free(&r);
    return n;
}

Test(consistency_it, sink_killed_inside_an_event_applies_every_change_once, .timeout = 900) {
    h_sidecar_t api;
    h_sidecar_start(&api, "kill", "python", NULL);
    char *app_env[] = {CHANGES_ENV, NULL};
    char *fast[] = {"BYRON_SINK_ACK_WAIT_MS=1000", "BYRON_SINK_RETRY_MS=50", NULL};
    static const char *const POINTS[] = {"after-journal", "after-own-write", "after-change:2",
                                         "fail-change:2"};
    enum { NPOINTS = sizeof POINTS / sizeof POINTS[0] };
    h_sink_t k;
    h_sink_start(&k, api.config, 1, fast, app_env, NULL); /* the creates, projected plainly */
    for (int i = 0; i < NPOINTS; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"id\":\"k-%d\",\"input\":{\"customer\":\"c\"}}", i);
        cr_assert_eq(command(&api, "createOrder", body), 200);
    }
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    for (int i = 0; i < NPOINTS; i++) {
        char fp[80], body[160];
        snprintf(fp, sizeof fp, "BYRON_SINK_FAILPOINT=%s", POINTS[i]);
        char *env[] = {fast[0], fast[1], fp, NULL};
        h_sink_start(&k, api.config, 1, env, app_env, NULL);
        snprintf(body, sizeof body, "{\"id\":\"k-%d\",\"input\":{\"carrier\":\"ups\"}}", i);
        h_resp_t r;
        cr_assert_eq(h_command(&api, "shipOrder", body, &r), 0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        char ev_id[64];
        snprintf(ev_id, sizeof ev_id, "%s",
                 json_object_get_string(jget(json_object_array_get_idx(jget(r.json, "events"), 0), "id")));
        h_resp_free(&r);
        int killed = strncmp(POINTS[i], "fail-", 5) != 0;
        if (killed) { /* the sink dies inside the event's writes; a new one takes the redelivery */
            cr_assert_eq(h_wait_exit(k.pid, 60000), 128 + SIGKILL, "%s: the sink was not killed; see %s",
                         POINTS[i], k.log);
            k.pid = 0;
            char point[64];
            snprintf(point, sizeof point, "\"point\":\"%.*s\"", (int)strcspn(POINTS[i], ":"), POINTS[i]);
            cr_assert(h_file_contains(k.log, point), "%s: the failpoint was not reached; see %s", POINTS[i],
                      k.log);
            h_sink_stop(&k, SIGTERM); /* its app */
            h_sink_start(&k, api.config, 1, fast, app_env, NULL);
        }
        h_assert_fold_equals_cache(api.config, k.app_sock);
        for (int c = 0; c < 3; c++) { /* every change is in, with its values */
            char path[128];
            snprintf(path, sizeof path, "/v1/cache/OrderLine/k-%d-%c", i, 'a' + c);
            cr_assert_eq(h_http(api.sock, 0, "GET", path, NULL, 5000, &r), 0);
            cr_assert_eq(r.status, 200, "%s: change %c of k-%d lost: %s", POINTS[i], 'a' + c, i, r.body);
            cr_assert_eq(json_object_get_int(jget(r.json, "qty")), c + 1);
            h_resp_free(&r);
        }
        cr_assert(h_file_contains(k.log, "resumed from the lane's journal"), "%s: no resume; see %s",
                  POINTS[i], k.log);
        cr_assert_geq(after_hook_runs(&k, ev_id), 1, "%s: the after hook never ran for %s", POINTS[i], ev_id);
        cr_assert_eq(h_sink_outcome(k.admin, "dead_lettered"), 0);
        cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    }
    cr_assert_eq(h_sidecar_stop(&api), 0);
}

/* ---- 4. a partition never stalls --------------------------------------- */

/* Publishes data to subject with a Byron-Version header, straight to the stream. */
static uint64_t publish_raw(const char *stream, const char *subject, const char *version, const char *data,
                            size_t len) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsMsg *m = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, data, (int)len), NATS_OK);
    natsMsgHeader_Set(m, "Byron-Version", version);
    natsMsgHeader_Set(m, "Nats-Expected-Stream", stream);
    natsStatus ns = js_PublishMsg(&ack, js, m, NULL, &jerr);
    cr_assert_eq(ns, NATS_OK, "publish: %s (%d) %s", natsStatus_GetText(ns), (int)jerr,
                 nats_GetLastError(NULL));
    uint64_t seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return seq;
}

/* The dead letters of a component: [{"headers": {...}, "body": {...}}]. */
static json_object *dead_letters(const char *stream) {
    char dlq[200];
    snprintf(dlq, sizeof dlq, "%s_DLQ", stream);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    json_object *out = json_object_new_array();
    for (uint64_t seq = 1;; seq++) {
        natsMsg *m = NULL;
        jsErrCode jerr = 0;
        if (js_GetMsg(&m, js, dlq, seq, NULL, &jerr) != NATS_OK) break;
        json_object *o = json_object_new_object(), *body = NULL;
        const char *v = NULL;
        natsMsgHeader_Get(m, "Byron-Dlq-Sequence", &v);
        json_object_object_add(o, "sequence", json_object_new_string(v ? v : ""));
        byron_err_t e;
        if (byron_json_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &body, &e) != BYRON_OK)
            body = NULL;
        json_object_object_add(o, "body", body);
        json_object_object_add(o, "size", json_object_new_int(natsMsg_GetDataLength(m)));
        json_object_array_add(out, o);
        natsMsg_Destroy(m);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return out;
}

Test(consistency_it, oversized_poison_is_dead_lettered_by_reference, .timeout = 300) {
    h_sidecar_t api;
    h_sidecar_start(&api, "big", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    /* An OrderCreated whose data does not fit the model (a field it lacks):
     * invalid. It fills one message to within 200 bytes of the server's
     * payload limit, so its dead letter (the event plus the metadata) does not fit. */
    natsConnection *nc = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    size_t max_payload = (size_t)natsConnection_GetMaxPayload(nc);
    natsConnection_Destroy(nc);
    char source[160], subject[BYRON_SUBJECT_MAX];
    snprintf(source, sizeof source, "/byron/it/%s", api.component);
    json_object *data = json_object_new_object();
    json_object_object_add(data, "id", json_object_new_string("big-1"));
    json_object_object_add(data, "customer", json_object_new_string("c"));
    json_object_object_add(data, "junk", json_object_new_string(""));
    byron_event_spec_t spec = {.source = source,
                               .type = "OrderCreated",
                               .subject = "big-1",
                               .model = "Order",
                               .version = 1,
                               .data = data};
    json_object *ev = byron_event_build(&spec);
    size_t base = strlen(byron_json_compact(ev)), pad = max_payload - 200 - base;
    cr_assert_lt(max_payload - 200, BYRON_EVENT_MAX_BYTES + 1,
                 "the server's payload limit is above the event limit");
    json_object_put(ev);
    char *junk = malloc(pad + 1);
    memset(junk, 'x', pad);
    junk[pad] = '\0';
    json_object_object_add(data, "junk", json_object_new_string(junk));
    free(junk);
    ev = byron_event_build(&spec);
    const char *payload = byron_json_compact(ev);
    /* Its partition, from the config the sidecars read. */
    byron_component_t *comp = NULL;
    byron_err_t err;
    cr_assert_eq(byron_component_load(api.config, &comp, &err), BYRON_OK, "%s", err.msg);
    byron_subject_format(subject, sizeof subject, comp, "Order", "big-1");
    uint64_t seq = publish_raw(api.stream, subject, "1", payload, strlen(payload));
    json_object_put(ev);
    json_object_put(data);
    /* Later events of the same partition are projected: an order on big-1's partition. */
    char id[32] = "";
    for (int i = 0; i < 10000 && !id[0]; i++) {
        char cand[32];
        snprintf(cand, sizeof cand, "after-%d", i);
        if (byron_partition("Order", cand, comp->partitions) ==
            byron_partition("Order", "big-1", comp->partitions))
            snprintf(id, sizeof id, "%s", cand);
    }
    byron_component_free(comp);
    char body[160];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"customer\":\"c\"}}", id);
    cr_assert_eq(command(&api, "createOrder", body), 200);
    h_assert_fold_equals_cache(api.config, NULL);
    h_resp_t r;
    char path[96];
    snprintf(path, sizeof path, "/v1/cache/Order/%s", id);
    cr_assert_eq(h_http(api.sock, 0, "GET", path, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "the partition stalled behind the poison: %s", r.body);
    h_resp_free(&r);
    /* One dead letter, by reference: the stream still holds the event. */
    json_object *dl = dead_letters(api.stream);
    cr_assert_eq(json_object_array_length(dl), 1, "%s", byron_json_compact(dl));
    json_object *d = json_object_array_get_idx(dl, 0), *b = jget(d, "body");
    char want[24];
    snprintf(want, sizeof want, "%llu", (unsigned long long)seq);
    cr_assert_str_eq(json_object_get_string(jget(d, "sequence")), want);
    cr_assert(json_object_get_boolean(jget(b, "reference")), "%s", byron_json_compact(b));
    cr_assert_null(jget(b, "event"), "a reference carries no event");
    cr_assert_eq(json_object_get_int64(jget(b, "sequence")), (int64_t)seq);
    cr_assert_not_null(strstr(json_object_get_string(jget(b, "error")), "junk"), "%s", byron_json_compact(b));
    json_object_put(dl);
    cr_assert_eq(h_sink_outcome_wait(k.admin, "dead_lettered", 1, 30000), 1);
    cr_assert_eq(h_sidecar_stop(&api), 0);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
}

/* ---- 5. a process manager: commands from a sink's app ------------------- */

/* The sink's app reacts to OrderShipped by updating a linked order through its
 * sidecar (relayed to the api: the sink may not append), keyed by the event's
 * id. The sink is killed right after the handler ran (the command went out):
 * the redelivered event runs the handler again, whose command is recognised by
 * its key — one update in the log, not two. */
Test(consistency_it, sink_app_commands_run_once_despite_redelivery, .timeout = 300) {
    h_sidecar_t api;
    h_sidecar_start(&api, "pm", "python", NULL);
    char *app_env[] = {
        "REFAPP_EVENT_COMMANDS={\"OrderShipped\":[{\"command\":\"updateOrder\",\"id\":\"{id}-next\","
        "\"input\":{\"status\":\"SHIPPED\"}}]}",
        NULL};
    char *crash[] = {"BYRON_SINK_ACK_WAIT_MS=1000", "BYRON_SINK_FAILPOINT=after-handler", NULL};
    char *fast[] = {"BYRON_SINK_ACK_WAIT_MS=1000", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, fast, app_env, NULL);
    cr_assert_eq(command(&api, "createOrder", "{\"id\":\"pm-1\",\"input\":{\"customer\":\"c\"}}"), 200);
    cr_assert_eq(command(&api, "createOrder", "{\"id\":\"pm-1-next\",\"input\":{\"customer\":\"c\"}}"), 200);
    h_assert_fold_equals_cache(api.config,
                               k.app_sock); /* projected: the next sink's first event is the ship */
    /* Without an idempotency key, a sink's command is refused: a redelivery would run it twice. */
    h_resp_t r;
    cr_assert_eq(
        h_http(k.sock, 0, "POST", "/v1/commands/createOrder", "{\"input\":{\"customer\":\"x\"}}", 5000, &r),
        0);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert_not_null(strstr(r.body, "idempotencyKey"), "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sink_start(&k, api.config, 1, crash, app_env, NULL);
    cr_assert_eq(command(&api, "shipOrder", "{\"id\":\"pm-1\",\"input\":{\"carrier\":\"ups\"}}"), 200);
    cr_assert_eq(h_wait_exit(k.pid, 60000), 128 + SIGKILL,
                 "the sink was not killed after the handler; see %s", k.log);
    k.pid = 0;
    h_sink_stop(&k, SIGTERM); /* its app */
    h_sink_start(&k, api.config, 1, fast, app_env, NULL);
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_http(k.app_sock, 0, "GET", "/v1/stats", NULL, 2000, &r), 0);
    cr_assert_geq(json_object_get_int(jget(r.json, "commandsSent")), 1, "the handler ran again: %s", r.body);
    h_resp_free(&r);
    json_object *evs = h_stream_events(api.stream, NULL);
    int updated = 0;
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *ev = jget(json_object_array_get_idx(evs, i), "event");
        const char *id = json_object_get_string(jget(ev, "subject")),
                   *type = json_object_get_string(jget(ev, "type"));
        updated += id && type && !strcmp(id, "pm-1-next") && !strcmp(type, "OrderUpdated");
    }
    json_object_put(evs);
    cr_assert_eq(updated, 1, "the linked order was updated %d times", updated);
    cr_assert_eq(h_http(api.sock, 0, "GET", "/v1/cache/Order/pm-1-next", NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_object_get_string(jget(r.json, "status")), "SHIPPED");
    h_resp_free(&r);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    cr_assert_eq(h_sidecar_stop(&api), 0);
}
