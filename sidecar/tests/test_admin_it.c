/* test_admin_it.c — `byron-sidecar --mode=admin` (what kubectl byron runs in
 * the sink pod) against real nats-server and FerretDB, a real api and sink
 * sidecar and the Python reference app: status, the event log, and dead
 * letters listed, refused, replayed once the app is fixed and dropped — each
 * scenario ending with the fold checker agreeing with the cache. */
#include "byron/clock.h"
#include "harness.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Run an admin command; its stdout parsed as one JSON document (NULL for
 * JSON lines or nothing). */
static int admin(const char *config, const char *app_sock, const char *const *args, json_object **json,
                 char **text) {
    char *out = NULL, *errout = NULL;
    int rc = h_admin(config, app_sock, args, &out, &errout);
    if (json) *json = json_tokener_parse(out);
    if (rc != 0 && rc != 1) fprintf(stderr, "admin %s: exit %d: %s\n", args[0], rc, errout);
    free(errout);
    if (text)
        *text = out;
    else
        free(out);
    return rc;
}

static const char *jstr(json_object *o, const char *k) {
    return json_object_get_string(json_object_object_get(o, k));
}
static int64_t jint(json_object *o, const char *k) {
    return json_object_get_int64(json_object_object_get(o, k));
}

static void command_ok(h_sidecar_t *api, const char *cmd, const char *body) {
    h_resp_t r;
    cr_assert_eq(h_command(api, cmd, body, &r), 0);
    cr_assert_eq(r.status, 200, "%s %s: %s", cmd, body, r.body);
    h_resp_free(&r);
}

/* The cached object (NULL while absent); caller puts. */
static json_object *cached(h_sink_t *k, const char *id) {
    char path[120];
    snprintf(path, sizeof path, "/v1/cache/Order/%s", id);
    h_resp_t r;
    cr_assert_eq(h_http(NULL, k->port, "GET", path, NULL, 2000, &r), 0);
    json_object *o = r.status == 200 ? json_object_get(r.json) : NULL;
    h_resp_free(&r);
    return o;
}

/* Wait until `dlq list` shows n open dead letters; returns the list. */
static json_object *open_dead_letters(const char *config, size_t n) {
    const char *args[] = {"dlq", "list", NULL};
    int64_t deadline = h_mono_ms() + 30000;
    for (;;) {
        json_object *l = NULL;
        cr_assert_eq(admin(config, NULL, args, &l, NULL), 0);
        if ((size_t)jint(l, "open") == n || h_mono_ms() > deadline) {
            cr_assert_eq(jint(l, "open"), (int64_t)n, "%s", json_object_to_json_string(l));
            return l;
        }
        json_object_put(l);
        byron_clock_sleep_ms(100);
    }
}

/* A valid event whose handler keeps failing stops its aggregate; a later
 * event of it (from a command that reads no state) is a dead letter too.
 * `dlq list` shows both as blocking; dropping is refused; a replay while the
 * app still fails changes nothing; once the app is fixed, a replay projects
 * both through the sink's path, records them as replayed, lifts the block —
 * and the fold checker agrees with the cache. */
Test(admin_it, a_blocked_aggregate_is_replayed_once_the_app_is_fixed, .timeout = 240) {
    h_sidecar_t api;
    h_sidecar_start(&api, "admrep", "python", NULL);
    char *env[] = {"BYRON_SINK_MAX_DELIVER=2", "BYRON_SINK_RETRY_MS=50", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, env, NULL, NULL);
    command_ok(&api, "createOrder", "{\"id\":\"p-1\",\"input\":{\"customer\":\"ann\",\"status\":\"OPEN\"}}");
    command_ok(&api, "createOrder", "{\"id\":\"q-1\",\"input\":{\"customer\":\"bob\"}}");
    command_ok(&api, "shipOrder", "{\"id\":\"p-1\",\"input\":{\"carrier\":\"poison\"}}");
    json_object *l = open_dead_letters(api.config, 1);
    json_object_put(l);
    /* Without hooks the api reads no state: this update reaches the log while
     * p-1 is stopped, and the sink dead-letters it as blocked. */
    h_app_control(api.app_sock, "{\"noHooks\":true}");
    command_ok(&api, "updateOrder",
               "{\"id\":\"q-1\",\"input\":{\"customer\":\"bob-2\"}}"); /* learns: no hook */
    command_ok(&api, "updateOrder", "{\"id\":\"p-1\",\"input\":{\"customer\":\"ann-2\"}}");
    h_app_control(api.app_sock, "{\"noHooks\":false}");
    l = open_dead_letters(api.config, 2);
    json_object *items = json_object_object_get(l, "items");
    cr_assert_eq(json_object_array_length(items), 2);
    json_object *first = json_object_array_get_idx(items, 0), *second = json_object_array_get_idx(items, 1);
    cr_assert_str_eq(jstr(first, "type"), "OrderShipped");
    cr_assert_str_eq(jstr(second, "type"), "OrderUpdated");
    cr_assert(strstr(jstr(first, "error"), "500"), "%s", jstr(first, "error"));
    cr_assert(strstr(jstr(second, "error"), "stopped"), "%s", jstr(second, "error"));
    cr_assert(json_object_get_boolean(json_object_object_get(first, "blocking")));
    char seq1[24], seq2[24];
    snprintf(seq1, sizeof seq1, "%lld", (long long)jint(first, "deadLetter"));
    snprintf(seq2, sizeof seq2, "%lld", (long long)jint(second, "deadLetter"));
    json_object_put(l);

    /* status: the stream, the lanes, the dead letters and the stopped aggregate. */
    json_object *st = NULL;
    const char *status_args[] = {"status", NULL};
    cr_assert_eq(admin(api.config, NULL, status_args, &st, NULL), 0);
    cr_assert_geq(jint(json_object_object_get(st, "stream"), "messages"), 5, "%s",
                  json_object_to_json_string(st));
    cr_assert_eq(json_object_array_length(json_object_object_get(st, "lanes")),
                 8 + 1); /* partitions, the subscription */
    cr_assert_eq(jint(json_object_object_get(st, "deadLetters"), "open"), 2);
    json_object *cache = json_object_object_get(st, "cache");
    cr_assert_eq(jint(cache, "blockedAggregates"), 1);
    cr_assert_eq(jint(json_object_object_get(cache, "documents"), "Order"), 2);
    json_object_put(st);

    /* Dropping a dead letter of a stopped aggregate is refused. */
    const char *drop_args[] = {"dlq", "drop", seq1, NULL};
    cr_assert_eq(admin(api.config, NULL, drop_args, &l, NULL), 1);
    cr_assert(
        strstr(jstr(json_object_array_get_idx(json_object_object_get(l, "items"), 0), "refused"), "replay"));
    json_object_put(l);

    /* Replayed while the app still fails: the aggregate stays where it was. */
    const char *replay_all[] = {"dlq", "replay", "--all", NULL};
    cr_assert_eq(admin(api.config, k.app_sock, replay_all, &l, NULL), 1);
    json_object *rep = json_object_array_get_idx(json_object_object_get(l, "replays"), 0);
    cr_assert_str_eq(jstr(rep, "result"), "failed", "%s", json_object_to_json_string(l));
    cr_assert_eq(jint(rep, "projected"), 0);
    json_object_put(l);
    json_object *o = cached(&k, "p-1");
    cr_assert_eq(jint(o, "version"), 1);
    json_object_put(o);
    l = open_dead_letters(api.config, 2);
    json_object_put(l);

    /* The app is fixed: the replay projects both events, in order. */
    h_app_control(k.app_sock, "{\"poison\":false}");
    const char *replay_one[] = {"dlq", "replay", seq1, NULL};
    cr_assert_eq(admin(api.config, k.app_sock, replay_one, &l, NULL), 0);
    rep = json_object_array_get_idx(json_object_object_get(l, "replays"), 0);
    cr_assert_str_eq(jstr(rep, "result"), "replayed", "%s", json_object_to_json_string(l));
    cr_assert_eq(jint(rep, "projected") + jint(rep, "unhandled"), 2, "%s", json_object_to_json_string(rep));
    cr_assert_eq(json_object_array_length(json_object_object_get(rep, "resolved")), 2);
    cr_assert(json_object_get_boolean(json_object_object_get(rep, "unblocked")));
    json_object_put(l);
    o = cached(&k, "p-1");
    cr_assert_eq(jint(o, "version"), 3, "%s", json_object_to_json_string(o));
    cr_assert_str_eq(jstr(o, "customer"), "ann-2");
    json_object_put(o);
    l = open_dead_letters(api.config, 0);
    json_object_put(l);
    const char *list_all[] = {"dlq", "list", "--all", NULL};
    cr_assert_eq(admin(api.config, NULL, list_all, &l, NULL), 0);
    items = json_object_object_get(l, "items");
    cr_assert_eq(json_object_array_length(items), 2);
    for (size_t i = 0; i < 2; i++)
        cr_assert_str_eq(jstr(json_object_array_get_idx(items, i), "state"), "replayed");
    json_object_put(l);
    /* A second replay of the same dead letter has nothing left to do. */
    const char *replay_two[] = {"dlq", "replay", seq2, NULL};
    cr_assert_eq(admin(api.config, k.app_sock, replay_two, &l, NULL), 0);
    cr_assert_eq(json_object_array_length(json_object_object_get(l, "replays")), 0);
    json_object_put(l);

    h_assert_fold_equals_cache(api.config, k.app_sock);
    /* Commands on p-1 run again, with the hooks deciding on its state. */
    command_ok(&api, "updateOrder", "{\"id\":\"p-1\",\"input\":{\"customer\":\"ann-3\"}}");
    int64_t deadline = h_mono_ms() + 20000;
    for (;;) {
        o = cached(&k, "p-1");
        int64_t v = jint(o, "version");
        json_object_put(o);
        if (v == 4 || h_mono_ms() > deadline) {
            cr_assert_eq(v, 4);
            break;
        }
        byron_clock_sleep_ms(50);
    }
    cr_assert_eq(admin(api.config, NULL, status_args, &st, NULL), 0);
    cr_assert_eq(jint(json_object_object_get(st, "deadLetters"), "open"), 0);
    cr_assert_eq(jint(json_object_object_get(st, "deadLetters"), "replayed"), 2);
    cr_assert_eq(jint(json_object_object_get(st, "cache"), "blockedAggregates"), 0);
    json_object_put(st);
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* An event published around the api with a lying Byron-Version header.
 * Invalid: a replay runs it through the same checks and it stays a dead
 * letter; dropping it takes it off the list, and the fold (for which it is
 * still a dead letter) agrees. */
Test(admin_it, an_invalid_dead_letter_stays_and_can_be_dropped, .timeout = 180) {
    h_sidecar_t api;
    h_sidecar_start(&api, "admdrop", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    command_ok(&api, "createOrder", "{\"id\":\"f-1\",\"input\":{\"customer\":\"ann\"}}");
    /* The forgery: the next version in its body, another in its header. */
    json_object *evs = h_stream_events(api.stream, NULL);
    json_object *ev = json_object_get(json_object_object_get(json_object_array_get_idx(evs, 0), "event"));
    const char *subject = jstr(json_object_array_get_idx(evs, 0), "subject");
    char subj[300];
    snprintf(subj, sizeof subj, "%s", subject);
    json_object_put(evs);
    json_object_object_add(ev, "byronversion", json_object_new_int(2));
    json_object_object_add(ev, "type", json_object_new_string("OrderUpdated"));
    json_object_object_add(ev, "id", json_object_new_string("6f1d2c9e-0000-4000-8000-000000000001"));
    json_object *data = json_object_new_object();
    json_object_object_add(data, "customer", json_object_new_string("mallory"));
    json_object_object_add(ev, "data", data);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, h_env("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    natsMsg *m = NULL;
    const char *txt = json_object_to_json_string(ev);
    cr_assert_eq(natsMsg_Create(&m, subj, NULL, txt, (int)strlen(txt)), NATS_OK);
    natsMsgHeader_Set(m, "Byron-Version", "7");
    cr_assert_eq(js_PublishMsg(NULL, js, m, NULL, NULL), NATS_OK);
    natsMsg_Destroy(m);
    json_object_put(ev);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    json_object *l = open_dead_letters(api.config, 1);
    char seq[24];
    json_object *item = json_object_array_get_idx(json_object_object_get(l, "items"), 0);
    snprintf(seq, sizeof seq, "%lld", (long long)jint(item, "deadLetter"));
    cr_assert(strstr(jstr(item, "error"), "Byron-Version"), "%s", jstr(item, "error"));
    cr_assert(!json_object_get_boolean(json_object_object_get(item, "blocking")));
    json_object_put(l);

    const char *replay[] = {"dlq", "replay", seq, NULL};
    cr_assert_eq(admin(api.config, NULL, replay, &l, NULL), 1);
    json_object *rep = json_object_array_get_idx(json_object_object_get(l, "replays"), 0);
    cr_assert_str_eq(jstr(rep, "result"), "replayed", "%s", json_object_to_json_string(l));
    cr_assert_eq(json_object_array_length(json_object_object_get(rep, "invalid")), 1);
    cr_assert_str_eq(jstr(json_object_array_get_idx(json_object_object_get(l, "items"), 0), "state"), "open");
    json_object_put(l);
    json_object *o = cached(&k, "f-1");
    cr_assert_str_eq(jstr(o, "customer"), "ann");
    json_object_put(o);

    const char *drop[] = {"dlq", "drop", seq, "--note", "forged in a test", NULL};
    cr_assert_eq(admin(api.config, NULL, drop, &l, NULL), 0);
    cr_assert_str_eq(jstr(json_object_array_get_idx(json_object_object_get(l, "items"), 0), "state"),
                     "dropped");
    json_object_put(l);
    l = open_dead_letters(api.config, 0);
    json_object_put(l);
    const char *show[] = {"dlq", "show", seq, NULL};
    cr_assert_eq(admin(api.config, NULL, show, &l, NULL), 0);
    cr_assert_str_eq(jstr(l, "state"), "dropped");
    cr_assert_str_eq(jstr(json_object_object_get(l, "event"), "type"), "OrderUpdated");
    json_object_put(l);
    const char *unknown[] = {"dlq", "show", "999", NULL};
    cr_assert_eq(admin(api.config, NULL, unknown, NULL, NULL), 1);
    h_assert_fold_equals_cache(api.config, NULL);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* The log, filtered by model and id, from a sequence, limited; bad usage is 2. */
Test(admin_it, events_reads_the_log_by_aggregate, .timeout = 120) {
    h_sidecar_t api;
    h_sidecar_start(&api, "admevents", NULL, NULL);
    command_ok(&api, "createOrder", "{\"id\":\"e-1\",\"input\":{\"customer\":\"ann\"}}");
    command_ok(&api, "createOrder", "{\"id\":\"e-2\",\"input\":{\"customer\":\"bob\"}}");
    command_ok(&api, "updateOrder", "{\"id\":\"e-1\",\"input\":{\"customer\":\"ann-2\"}}");
    command_ok(&api, "createOrderLine", "{\"id\":\"l-1\",\"input\":{\"sku\":\"x\"}}");
    char *text = NULL;
    const char *by_id[] = {"events", "--model", "Order", "--id", "e-1", NULL};
    cr_assert_eq(admin(api.config, NULL, by_id, NULL, &text), 0);
    /* JSON lines: e-1's two events, in order */
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    int n = 0;
    int64_t last = 0;
    for (; line; line = strtok_r(NULL, "\n", &save), n++) {
        json_object *o = json_tokener_parse(line);
        cr_assert_not_null(o, "%s", line);
        json_object *ev = json_object_object_get(o, "event");
        cr_assert_str_eq(jstr(ev, "subject"), "e-1");
        cr_assert_eq(jint(ev, "byronversion"), n + 1);
        cr_assert_gt(jint(o, "sequence"), last);
        last = jint(o, "sequence");
        cr_assert(jstr(o, "time") && strlen(jstr(o, "time")) >= 20);
        json_object_put(o);
    }
    cr_assert_eq(n, 2);
    free(text);
    const char *models[] = {"events", "--model", "Order", NULL};
    cr_assert_eq(admin(api.config, NULL, models, NULL, &text), 0);
    n = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++) n++;
    cr_assert_eq(n, 3, "%s", text);
    free(text);
    char from[24];
    snprintf(from, sizeof from, "%lld", (long long)last);
    const char *since[] = {"events", "--from", from, "--limit", "1", NULL};
    cr_assert_eq(admin(api.config, NULL, since, NULL, &text), 0);
    json_object *o = json_tokener_parse(text);
    cr_assert_eq(jint(o, "sequence"), last, "%s", text);
    json_object_put(o);
    free(text);
    const char *none[] = {"events", "--from", "100000", NULL};
    cr_assert_eq(admin(api.config, NULL, none, NULL, &text), 0);
    cr_assert_str_empty(text);
    free(text);
    const char *bad_model[] = {"events", "--model", "Nope", NULL};
    cr_assert_eq(admin(api.config, NULL, bad_model, NULL, NULL), 2);
    const char *bad_id[] = {"events", "--id", "e-1", NULL};
    cr_assert_eq(admin(api.config, NULL, bad_id, NULL, NULL), 2);
    const char *bad_cmd[] = {"explode", NULL};
    cr_assert_eq(admin(api.config, NULL, bad_cmd, NULL, NULL), 2);
    h_sidecar_stop(&api);
}

/* Commands keep appending to the aggregate (they read no state) while it is
 * stopped and while the replay runs: the lane dead-letters those behind the
 * block, projects those after the replay caught up, and the replay's rounds
 * take the ones in between. Afterwards no dead letter is open and the fold
 * checker agrees with the cache. */
typedef struct writer {
    h_sidecar_t *api;
    atomic_int stop, sent, failed;
} writer_t;

static void *write_updates(void *arg) {
    writer_t *w = arg;
    while (!atomic_load(&w->stop)) {
        char body[160];
        snprintf(body, sizeof body, "{\"id\":\"r-1\",\"input\":{\"customer\":\"c-%d\"}}",
                 atomic_load(&w->sent));
        h_resp_t r;
        if (h_command(w->api, "updateOrder", body, &r) == 0 && r.status == 200)
            atomic_fetch_add(&w->sent, 1);
        else
            atomic_fetch_add(&w->failed, 1);
        h_resp_free(&r);
        byron_clock_sleep_ms(
            100); /* slower than the replay projects (docs/sink.md: a replay converges then) */
    }
    return NULL;
}

Test(admin_it, a_replay_races_commands_on_the_same_aggregate, .timeout = 300) {
    h_sidecar_t api;
    h_sidecar_start(&api, "admrace", "python", NULL);
    char *env[] = {"BYRON_SINK_MAX_DELIVER=2", "BYRON_SINK_RETRY_MS=50", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, env, NULL, NULL);
    command_ok(&api, "createOrder", "{\"id\":\"r-1\",\"input\":{\"customer\":\"ann\"}}");
    command_ok(&api, "shipOrder", "{\"id\":\"r-1\",\"input\":{\"carrier\":\"poison\"}}");
    json_object_put(open_dead_letters(api.config, 1));
    command_ok(&api, "createOrder", "{\"id\":\"s-1\",\"input\":{\"customer\":\"bob\"}}");
    h_app_control(api.app_sock, "{\"noHooks\":true}");
    command_ok(&api, "updateOrder",
               "{\"id\":\"s-1\",\"input\":{\"customer\":\"bob-2\"}}"); /* learns: no hook */
    writer_t w = {.api = &api};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_updates, &w), 0);
    int64_t deadline = h_mono_ms() + 60000;
    while (atomic_load(&w.sent) < 20 && h_mono_ms() < deadline)
        byron_clock_sleep_ms(10); /* behind the block: dead letters */
    cr_assert_geq(atomic_load(&w.sent), 20, "%d sent, %d failed", atomic_load(&w.sent),
                  atomic_load(&w.failed));
    h_app_control(k.app_sock, "{\"poison\":false}");
    const char *replay_all[] = {"dlq", "replay", "--all", NULL};
    json_object *l = NULL;
    int rc = admin(api.config, k.app_sock, replay_all, &l, NULL);
    int at_replay_end = atomic_load(&w.sent);
    deadline = h_mono_ms() + 60000;
    while (atomic_load(&w.sent) < at_replay_end + 10 && h_mono_ms() < deadline)
        byron_clock_sleep_ms(10); /* after it: projected by the lane */
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    cr_assert_eq(rc, 0, "%s", json_object_to_json_string(l));
    json_object *rep = json_object_array_get_idx(json_object_object_get(l, "replays"), 0);
    cr_assert_str_eq(jstr(rep, "result"), "replayed");
    printf("replay race: %lld events in %lld rounds, %d commands sent (%d after the replay)\n",
           (long long)jint(rep, "events"), (long long)jint(rep, "rounds"), atomic_load(&w.sent),
           atomic_load(&w.sent) - at_replay_end);
    json_object_put(l);
    cr_assert_eq(atomic_load(&w.failed), 0);
    /* Every event of r-1 is in the cache, none is an open dead letter. */
    int64_t want = 2 + atomic_load(&w.sent);
    deadline = h_mono_ms() + 30000;
    for (;;) {
        json_object *o = cached(&k, "r-1");
        int64_t v = jint(o, "version");
        json_object_put(o);
        if (v == want || h_mono_ms() > deadline) {
            cr_assert_eq(v, want);
            break;
        }
        byron_clock_sleep_ms(50);
    }
    json_object_put(open_dead_letters(api.config, 0));
    h_assert_fold_equals_cache(api.config, k.app_sock);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}
