/* test_cluster_it.c — the sidecar on a replicated event log: scripts/testenv's
 * 3-server NATS JetStream cluster (nats-c1..3), streams with 3 replicas.
 *
 * The fault test: clients send a burst of commands, each with its own
 * idempotency key, at a steady pace; after KILL_AT, the server leading the
 * component's stream is SIGKILLed; after RESTART_AT it is restarted (the burst
 * goes on while it starts and catches up); AFTER_RETURN more are sent once it
 * is back. A command answered with an error (or no answer)
 * is sent again with the same key until it is accepted — what a client is told
 * to do. Then:
 *   - the outage overlapped the writes (commands were sent while the member
 *     was down, and after it was back);
 *   - every command is accepted, and the stream holds exactly one event per
 *     command — none lost, none doubled — at the sequence its answer gave;
 *   - the sink's cache equals the fold of the stream (the fold checker).
 * The figures go to stderr ("cluster-fault:" line) for docs/benchmarks.md.
 * The test restarts a shared server: RESOURCE_LOCK nats_cluster. */
#include "byron/jetstream.h"
#include "byron/json.h"
#include "child.h"
#include "harness.h"
#include "jpath.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Phases of the burst, in accepted commands: KILL_AT before the kill; the
 * member comes back once RESTART_AT are done (the restart takes seconds: the
 * burst goes on meanwhile); AFTER_RETURN more once it is back. MAX bounds the
 * arrays. */
enum { THREADS = 4, PACE_MS = 20, KILL_AT = 200, RESTART_AT = 400, AFTER_RETURN = 200, MAX = 4000 };

typedef struct outcome {
    int64_t first_sent_ms; /* when its first attempt left */
    int64_t accepted_ms;   /* when the accepting answer came */
    int attempts;          /* 1: accepted at once */
    int accepted;          /* finally */
    uint64_t sequence;     /* from the accepting answer */
    char last_error[96];
} outcome_t;

static struct {
    h_sidecar_t *api;
    outcome_t out[MAX];
    atomic_int next, done, limit, accepted_first, failed_attempts;
    atomic_llong down_from_ms, down_until_ms; /* the member's outage, 0 until known */
} run;

static void *client(void *arg) {
    (void)arg;
    int i;
    while ((i = atomic_fetch_add(&run.next, 1)) < atomic_load(&run.limit)) {
        outcome_t *o = &run.out[i];
        char body[256];
        snprintf(body, sizeof body,
                 "{\"id\":\"b-%d\",\"input\":{\"customer\":\"c-%d\",\"count\":%d},"
                 "\"idempotencyKey\":\"k-%d\"}",
                 i, i % 7, i, i);
        o->first_sent_ms = h_mono_ms();
        int64_t deadline = o->first_sent_ms + 90000;
        while (!o->accepted && h_mono_ms() < deadline) {
            o->attempts++;
            h_resp_t r;
            int rc = h_command(run.api, "createOrder", body, &r);
            if (rc == 0 && r.status == 200 && r.json) {
                json_object *seqs = json_object_object_get(r.json, "sequences");
                o->sequence = (uint64_t)json_object_get_int64(json_object_array_get_idx(seqs, 0));
                o->accepted = o->sequence > 0;
                if (o->accepted) o->accepted_ms = h_mono_ms();
            }
            if (!o->accepted) {
                atomic_fetch_add(&run.failed_attempts, 1);
                snprintf(o->last_error, sizeof o->last_error, "%ld %s", r.status,
                         rc ? "(no answer)" : h_error_code(&r));
                byron_test_sleep_ms(100); /* a client's retry pause */
            }
            h_resp_free(&r);
        }
        if (o->accepted && o->attempts == 1) atomic_fetch_add(&run.accepted_first, 1);
        atomic_fetch_add(&run.done, 1);
        byron_test_sleep_ms(
            PACE_MS); /* a steady load, so that the burst spans the member's outage and return */
    }
    return NULL;
}

/* A JetStream API answer from the cluster, parsed (caller puts). */
static json_object *js_api(natsConnection *nc, const char *subject, const char *body) {
    natsMsg *m = NULL;
    cr_assert_eq(natsConnection_RequestString(&m, nc, subject, body ? body : "", 5000), NATS_OK, "%s",
                 subject);
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &o, NULL),
                 BYRON_OK);
    natsMsg_Destroy(m);
    return o;
}

/* The stream's leader ("c1".."c3"), after checking that it has three replicas. */
static void stream_leader(natsConnection *nc, const char *stream, char *leader, size_t n) {
    char subj[300];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", stream);
    json_object *info = js_api(nc, subj, NULL);
    cr_assert_eq(
        json_object_get_int(json_object_object_get(json_object_object_get(info, "config"), "num_replicas")),
        3, "the stream is not replicated: %s", json_object_to_json_string(info));
    snprintf(leader, n, "%s", s_at(info, "cluster|leader"));
    json_object_put(info);
    cr_assert(leader[0] == 'c' && leader[1] >= '1' && leader[1] <= '3' && !leader[2], "leader \"%s\"",
              leader);
}

/* The stream holds exactly one event per command b-0..b-<ncmds-1>, each at
 * the sequence its answer gave. Returns the number of events. */
static int64_t assert_each_command_once(natsConnection *nc, const char *stream, int ncmds) {
    char subj[300];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", stream);
    json_object *info = js_api(nc, subj, NULL);
    int64_t msgs =
        json_object_get_int64(json_object_object_get(json_object_object_get(info, "state"), "messages"));
    uint64_t last = (uint64_t)json_object_get_int64(
        json_object_object_get(json_object_object_get(info, "state"), "last_seq"));
    json_object_put(info);
    static int seen[MAX];
    memset(seen, 0, sizeof seen);
    snprintf(subj, sizeof subj, "$JS.API.STREAM.MSG.GET.%s", stream);
    for (uint64_t seq = 1; seq <= last; seq++) {
        char req[64];
        snprintf(req, sizeof req, "{\"seq\":%llu}", (unsigned long long)seq);
        json_object *m = js_api(nc, subj, req);
        const char *s = s_at(m, "message|subject"), *dot = strrchr(s, '.');
        cr_assert(dot && !strncmp(dot + 1, "b-", 2), "event %llu on %s", (unsigned long long)seq, s);
        int i = (int)strtol(dot + 3, NULL, 10);
        cr_assert(i >= 0 && i < ncmds, "%s", s);
        seen[i]++;
        cr_assert_eq(run.out[i].sequence, seq, "b-%d: answered sequence %llu, stored at %llu", i,
                     (unsigned long long)run.out[i].sequence, (unsigned long long)seq);
        json_object_put(m);
    }
    for (int i = 0; i < ncmds; i++) cr_assert_eq(seen[i], 1, "b-%d is %d times in the stream", i, seen[i]);
    cr_assert_eq(msgs, ncmds, "%lld events for %d commands", (long long)msgs, ncmds);
    return msgs;
}

/* What the burst saw, by the member's outage [down_from, down_until). */
typedef struct {
    int sent_while_down, sent_after, failed, retried, max_attempts;
    int64_t worst[3]; /* slowest command (first attempt to accepting answer): before, during, after */
} tally_t;

static tally_t tally(int ncmds, long long down_from, long long down_until) {
    tally_t t = {0};
    for (int i = 0; i < ncmds; i++) {
        const outcome_t *o = &run.out[i];
        int phase = o->first_sent_ms < down_from ? 0 : o->first_sent_ms < down_until ? 1 : 2;
        t.sent_while_down += phase == 1;
        t.sent_after += phase == 2;
        t.failed += !o->accepted;
        t.retried += o->attempts > 1;
        if (o->attempts > t.max_attempts) t.max_attempts = o->attempts;
        if (o->accepted_ms - o->first_sent_ms > t.worst[phase])
            t.worst[phase] = o->accepted_ms - o->first_sent_ms;
    }
    return t;
}

Test(cluster, a_member_killed_during_a_command_burst_loses_and_doubles_nothing, .timeout = 300) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* The sidecars get one member's URL, as a Service name gives them one
     * address: cnats learns the other members from the server and fails over
     * to them (the victim may be that very member). */
    char urlbuf[600], sinkflag[640], members[3][128];
    snprintf(urlbuf, sizeof urlbuf, "%s", h_env("BYRON_NATS_C1_URL"));
    snprintf(sinkflag, sizeof sinkflag, "--nats-url=%s", urlbuf);
    for (int m = 0; m < 3; m++) {
        char key[32];
        snprintf(key, sizeof key, "BYRON_NATS_C%d_URL", m + 1);
        snprintf(members[m], sizeof members[m], "%s", h_env(key));
    }
    const char *servers[] = {members[0], members[1], members[2]};
    /* The api sidecar creates the stream here (NATS without authentication):
     * three replicas, as the operator asks with spec.broker.replicas: 3. */
    setenv("BYRON_STREAM_REPLICAS", "3", 1);
    h_sidecar_t api;
    h_sidecar_start_ex(&api, "burst", NULL, NULL, urlbuf, 1);
    run.api = &api;

    natsConnection *nc = NULL;
    natsOptions *no = NULL;
    natsOptions_Create(&no);
    natsOptions_SetServers(no, servers, 3);
    natsOptions_SetMaxReconnect(no, -1);
    cr_assert_eq(natsConnection_Connect(&nc, no), NATS_OK);
    natsOptions_Destroy(no);
    /* the stream the test component subscribes to, so that its sink has every lane */
    byron_jetstream_names_t cn;
    byron_jetstream_names("it", "customers", &cn);
    json_object *ccfg = byron_jetstream_stream_config(&cn, 3, -1);
    char subj[300];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.CREATE.%s", cn.stream);
    json_object_put(js_api(nc, subj, byron_json_compact(ccfg)));
    json_object_put(ccfg);
    char *senv[] = {"BYRON_STREAM_REPLICAS=3", NULL};
    h_sink_t sink;
    h_sink_start(&sink, api.config, 0, senv, NULL, sinkflag);

    char leader[16], victim[24];
    stream_leader(nc, api.stream, leader, sizeof leader);
    snprintf(victim, sizeof victim, "nats-%s", leader);

    pthread_t th[THREADS];
    atomic_store(&run.limit, MAX);
    int64_t t0 = h_mono_ms();
    for (int i = 0; i < THREADS; i++) cr_assert_eq(pthread_create(&th[i], NULL, client, NULL), 0);
    while (atomic_load(&run.done) < KILL_AT) byron_test_sleep_ms(5);
    atomic_store(&run.down_from_ms, (long long)h_mono_ms());
    cr_assert_eq(byron_testenv_ctl("sigkill", victim), 0, "SIGKILL %s", victim);
    int at_kill = atomic_load(&run.done);
    while (atomic_load(&run.done) < RESTART_AT) byron_test_sleep_ms(5);
    cr_assert_eq(byron_testenv_ctl("restart", victim), 0, "restart %s",
                 victim); /* returns once it is current */
    atomic_store(&run.down_until_ms, (long long)h_mono_ms());
    int at_return = atomic_load(&run.next);
    cr_assert_lt(at_return + AFTER_RETURN, MAX, "the burst outran its arrays during the restart");
    atomic_store(&run.limit, at_return + AFTER_RETURN); /* the burst goes on with the member back */
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    int64_t burst_ms = h_mono_ms() - t0;
    const int ncmds = at_return + AFTER_RETURN;

    /* The outage overlapped the writes; the burst went on after it; every
     * command was accepted, once, at the sequence its answer gave. */
    long long down_from = atomic_load(&run.down_from_ms), down_until = atomic_load(&run.down_until_ms);
    tally_t t = tally(ncmds, down_from, down_until);
    cr_assert_gt(t.sent_while_down, 0, "no command was sent while %s was down", victim);
    cr_assert_geq(t.sent_after, AFTER_RETURN / 2, "the burst did not go on after %s came back", victim);
    for (int i = 0; i < ncmds; i++)
        cr_assert(run.out[i].accepted, "command b-%d never accepted in %d attempts (last: %s)", i,
                  run.out[i].attempts, run.out[i].last_error);
    int64_t msgs = assert_each_command_once(nc, api.stream, ncmds);

    /* The sink's cache is the fold of the stream. */
    char *report = NULL;
    const char *extra[] = {"--nats-url", urlbuf, "--wait-ms", "180000", NULL};
    int rc = h_verify_ex(api.config, NULL, extra, &report);
    cr_assert_eq(rc, 0, "the cache differs from the fold of the stream:\n%s", report ? report : "");
    free(report);

    fprintf(
        stderr,
        "cluster-fault: %d commands by %d clients in %lld ms; stream leader %s SIGKILLed after %d, back "
        "(restarted and current) %lld ms later; %d sent while it was down, %d after it was back; %d accepted "
        "at the first attempt, %d retried (%d failed attempts, at most %d for one); slowest command before / "
        "during / after the outage: %lld / %lld / %lld ms; %lld events in the stream, each command once; "
        "fold check: equal\n",
        ncmds, THREADS, (long long)burst_ms, leader, at_kill, down_until - down_from, t.sent_while_down,
        t.sent_after, atomic_load(&run.accepted_first), t.retried, atomic_load(&run.failed_attempts),
        t.max_attempts, (long long)t.worst[0], (long long)t.worst[1], (long long)t.worst[2], (long long)msgs);
    cr_assert_eq(t.failed, 0);
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
    cr_assert_eq(h_sink_stop(&sink, SIGTERM), 0, "sink exit status; see %s", sink.log);
    cr_assert_eq(h_sidecar_stop(&api), 0, "api exit status; see %s", api.log);
    curl_global_cleanup();
}
