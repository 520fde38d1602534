/* bench_commands.c — the command path's load generator: commands through a
 * running api sidecar, or the same durable work published straight to
 * JetStream (the reference), closed-loop or at an offered rate.
 *
 *   bench_sidecar_commands --target raw  [options]
 *   bench_sidecar_commands --target http --url http://127.0.0.1:PORT [--workload W] [options]
 *
 *   --concurrency N   client threads, each on its own aggregate (8)
 *   --seconds S       measured time (5)
 *   --rate R          open loop: R operations/s offered in all (each thread
 *                     paces itself at R/N); latency counts from the moment an
 *                     operation was due, so a server that falls behind shows
 *                     it (no coordinated omission). 0: closed loop (default)
 *   --workload W      http only (the orders example's component, docs/benchmarks.md):
 *                       update       createOrder once, then updateOrder on it (default)
 *                       create       createOrder on a new aggregate each time
 *                       create-ship  createOrder then shipOrder on it; the ship is
 *                                    measured (its hooks decide on the exact state)
 *   --tag T           prefix of the aggregate ids (default: the process id)
 *   --component C     raw: publish to component C's stream (namespace bench;
 *   --partitions P      its partitions, default 4) instead of a fresh one —
 *                       a sink's feed for the projection lag
 *
 * raw needs BYRON_NATS_URL (or BYRON_TESTENV, the testenv env file): N threads
 * publish the orders example's envelopes (OrderCreated, then OrderUpdated) to
 * their own aggregate subject of a stream with the component's settings, through byron_stream_publish (one
 * shared cnats connection): Nats-Msg-Id, Nats-Expected-Last-Subject-Sequence (each thread tracks its
 * subject's last sequence), the stream's ack awaited. http: N threads POST /v1/commands/<command> over
 * keep-alive HTTP (libcurl); an operation counts when the sidecar answered 200 (its events durable).
 *
 * Prints one JSON object: {"target", "workload", "concurrency", "rate",
 * "seconds", "ops", "n", "errors", "p50", "p90", "p99", "max"} (ms). */
#include "../bench_load.h"
#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "stream.h"
#include "subject.h"

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

#define MAX_THREADS 512

typedef struct {
    const char *target, *workload, *url, *tag, *component;
    int partitions;
    bench_load_t s;
} bench_t;

/* ---- raw JetStream ---- */

typedef struct {
    bench_t *b;
    byron_stream_t *st;
    const byron_component_t *comp;
    int t;
} raw_arg_t;

static void *raw_worker(void *arg) {
    raw_arg_t *a = arg;
    bench_t *b = a->b;
    char id[64], subject[BYRON_SUBJECT_MAX], msgid[96];
    snprintf(id, sizeof id, "%s-raw-%d", b->tag, a->t);
    byron_subject_format(subject, sizeof subject, a->comp, "Order", id);
    uint64_t last = 0;
    int64_t version = 0;
    json_object *data = json_object_new_object();
    for (long i = 0;; i++) {
        double t0 = bench_due(&b->s, i, a->t);
        if (t0 >= b->s.until) break;
        /* The orders example's events: a create with the required fields, then updates. */
        int create = version == 0;
        json_object_object_add(data, "total", json_object_new_double((double)i + 1));
        if (create) {
            json_object_object_add(data, "id", json_object_new_string(id));
            json_object_object_add(data, "customer", json_object_new_string("bench"));
        } else {
            json_object_object_del(data, "id");
            json_object_object_del(data, "customer");
        }
        const char *type = create ? "OrderCreated" : "OrderUpdated";
        byron_event_spec_t spec = {.source = a->comp->source,
                                   .type = type,
                                   .subject = id,
                                   .model = "Order",
                                   .version = version + 1,
                                   .command = create ? "createOrder" : "updateOrder",
                                   .data = data};
        json_object *ev = byron_event_build(&spec);
        const char *payload = byron_json_compact(ev);
        snprintf(msgid, sizeof msgid, "%s:%ld", id, i);
        byron_publish_t p = {.subject = subject,
                             .data = payload,
                             .len = strlen(payload),
                             .msg_id = msgid,
                             .expected_seq = last,
                             .version = version + 1,
                             .type = type};
        uint64_t seq;
        byron_err_t err;
        if (byron_stream_publish(a->st, &p, &seq, NULL, &err) == BYRON_OK) {
            bench_ok(&b->s, t0);
            last = seq;
            version++;
        } else {
            bench_fail(&b->s, 0);
        }
        json_object_put(ev);
    }
    json_object_put(data);
    return NULL;
}

/* The raw side's stream: a fresh component (raw-<tag>), or --component's (namespace
 * bench, as scripts/bench's configurations), with the orders example's model. */
static byron_component_t *raw_component(const bench_t *b) {
    char text[768], name[200];
    if (b->component)
        snprintf(name, sizeof name, "%.150s", b->component);
    else
        snprintf(name, sizeof name, "raw-%.150s", b->tag);
    snprintf(text, sizeof text,
             "{\"component\":\"%s\",\"namespace\":\"bench\",\"partitions\":%d,\"models\":[{\"name\":"
             "\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\"},{\"name\":\"total\","
             "\"type\":\"Float\"}]}]}",
             name, b->partitions);
    json_object *root;
    byron_err_t err;
    byron_component_t *c = NULL;
    if (byron_json_parse(text, strlen(text), 0, &root, &err) != BYRON_OK) return NULL;
    if (byron_component_parse(root, &c, &err) != BYRON_OK) fprintf(stderr, "%s\n", err.msg);
    json_object_put(root);
    return c;
}

/* ---- http ---- */

typedef struct {
    bench_t *b;
    int t;
} http_arg_t;

static long post(bench_http_t *h, const char *base, const char *command, const char *body) {
    char url[512];
    snprintf(url, sizeof url, "%s/v1/commands/%s", base, command);
    return bench_http_post(h, url, body);
}

static void *http_worker(void *arg) {
    http_arg_t *a = arg;
    bench_t *b = a->b;
    bench_http_t c;
    bench_http_init(&c);
    char body[512], id[96];
    int update = strcmp(b->workload, "update") == 0, ship = strcmp(b->workload, "create-ship") == 0;
    if (update) {
        snprintf(id, sizeof id, "%s-u-%d", b->tag, a->t);
        snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"customer\":\"bench\",\"total\":1}}", id);
        long code = 0;
        for (int k = 0; k < 5 && code != 200; k++) code = post(&c, b->url, "createOrder", body);
        if (code != 200) bench_fail(&b->s, code); /* every update of this thread will say 404 */
    }
    for (long i = 0;; i++) {
        double t0 = bench_due(&b->s, i, a->t);
        if (t0 >= b->s.until) break;
        long code;
        if (update) {
            snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"total\":%ld}}", id, i + 2);
            code = post(&c, b->url, "updateOrder", body);
        } else {
            snprintf(id, sizeof id, "%s-c-%d-%ld", b->tag, a->t, i);
            snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"customer\":\"bench\",\"total\":1}}", id);
            code = post(&c, b->url, "createOrder", body);
            if (ship && code == 200) {
                t0 = bench_now(); /* the ship alone: it reads the state the create made */
                snprintf(body, sizeof body, "{\"id\":\"%s\",\"input\":{\"carrier\":\"bench\"}}", id);
                code = post(&c, b->url, "shipOrder", body);
            }
        }
        bench_http_outcome(&b->s, t0, code);
    }
    bench_http_cleanup(&c);
    return NULL;
}

/* ---- main ---- */

static int usage(void) {
    fprintf(stderr, "usage: bench_sidecar_commands --target raw|http [--url URL] [--workload update|create|"
                    "create-ship] [--concurrency N] [--seconds S] [--rate R] [--tag T]\n");
    return 2;
}

int main(int argc, char **argv) {
    bench_t b = {.target = "", .workload = "update", .partitions = 4};
    int conc = 8, secs = 5, rate = 0;
    char tag[32];
    snprintf(tag, sizeof tag, "b%d", (int)getpid());
    b.tag = tag;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--concurrency") == 0)
            conc = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            secs = atoi(v);
        else if (strcmp(k, "--rate") == 0)
            rate = atoi(v);
        else if (strcmp(k, "--target") == 0)
            b.target = v;
        else if (strcmp(k, "--workload") == 0)
            b.workload = v;
        else if (strcmp(k, "--url") == 0)
            b.url = v;
        else if (strcmp(k, "--tag") == 0)
            b.tag = v;
        else if (strcmp(k, "--component") == 0)
            b.component = v;
        else if (strcmp(k, "--partitions") == 0)
            b.partitions = atoi(v);
        else
            return usage();
    }
    int raw = strcmp(b.target, "raw") == 0;
    if (conc < 1 || conc > MAX_THREADS || secs < 1 || b.partitions < 1 ||
        (!raw && strcmp(b.target, "http") != 0) || (!raw && !b.url) ||
        (strcmp(b.workload, "update") && strcmp(b.workload, "create") && strcmp(b.workload, "create-ship")))
        return usage();
    byron_log_setup("bench", BYRON_LOG_WARN, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t th[MAX_THREADS];
    byron_stream_t *st = NULL;
    byron_component_t *comp = NULL;
    raw_arg_t ra[MAX_THREADS];
    http_arg_t ha[MAX_THREADS];
    if (raw) {
        char nats_url[1024];
        if (!bench_setting("BYRON_NATS_URL", nats_url, sizeof nats_url)) {
            fprintf(stderr, "need BYRON_NATS_URL (or BYRON_TESTENV)\n");
            return 2;
        }
        comp = raw_component(&b);
        byron_stream_options_t so = {
            .url = nats_url, .client_name = "bench-raw", .replicas = 1, .request_timeout_ms = 5000};
        byron_err_t err;
        if (!comp || !(st = byron_stream_new(comp, &so, &err)) || byron_stream_ensure(st, &err) != BYRON_OK) {
            fprintf(stderr, "raw stream: %s\n", err.msg);
            return 1;
        }
    }
    if (bench_load_init(&b.s, conc, rate, secs) != 0) return 1;
    for (int i = 0; i < conc; i++) {
        if (raw) {
            ra[i] = (raw_arg_t){&b, st, comp, i};
            pthread_create(&th[i], NULL, raw_worker, &ra[i]);
        } else {
            ha[i] = (http_arg_t){&b, i};
            pthread_create(&th[i], NULL, http_worker, &ha[i]);
        }
    }
    for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
    char labels[128];
    snprintf(labels, sizeof labels, "\"target\":\"%s\",\"workload\":\"%s\"", b.target,
             raw ? "update" : b.workload);
    bench_report(&b.s, labels);
    byron_stream_free(st);
    byron_component_free(comp);
    curl_global_cleanup();
    return 0;
}
