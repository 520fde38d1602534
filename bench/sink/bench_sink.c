/* bench_sink.c — sink projection throughput vs raw mongoc upserts of the same
 * documents, in one run.
 *
 *   bench_sink [--aggregates A] [--updates U] [--threads T] [--partitions P] [--replicas R]
 *              [--raw-threads W]
 *
 * Needs BYRON_NATS_URL and BYRON_MONGO_URI (or BYRON_TESTENV, the testenv env
 * file) and BYRON_SIDECAR (the binary; default: next to this one).
 *
 * 1. Publishes A × (1 + U) events (OrderCreated, then U OrderUpdated per
 *    aggregate) into a fresh component's stream, as the api sidecar would
 *    (envelopes, Byron-Version/Byron-Type headers, expected subject sequences).
 * 2. Baseline: W threads (default: P, the parallelism the partitions give the
 *    sink) write the same documents with raw mongoc — one
 *    update_one(upsert, $set fields + version) per event, in each aggregate's
 *    order, no read, no guard — into a scratch database; then again with the
 *    expected version in the filter (what the sink's conditional write costs).
 * 3. Sink: starts R byron-sidecar --mode=sink processes (BYRON_SINK_THREADS=T,
 *    no app) on the backlog of a P-partition stream and times them until every
 *    aggregate is cached at version 1+U.
 * Reports events/s for each, the sinks' RSS peak, and a last line of JSON. */
#include "byron/json.h"
#include "envelope.h"
#include "stream.h"
#include "subject.h"

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An env variable, else the same key in the testenv env file. */
static const char *setting(const char *key) {
    static char buf[16384], val[1024];
    const char *v = getenv(key), *path = getenv("BYRON_TESTENV");
    if (v && *v) return v;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return NULL;
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    size_t kl = strlen(key);
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            snprintf(val, sizeof val, "%.*s", (int)strcspn(l + kl + 1, "\n"), l + kl + 1);
            return val;
        }
    return NULL;
}

typedef struct {
    int aggregates, updates, threads, partitions, replicas, raw_threads;
    int conditional; /* baseline 2: the filter carries the expected version, as the sink's writes do */
    byron_component_t *comp;
    byron_stream_t *stream;
    mongoc_client_pool_t *pool;
    const char *db;
} bench_t;

typedef struct {
    bench_t *b;
    int index;
    int failed;
} job_t;

static json_object *event_data(int agg, int v) {
    json_object *d = json_object_new_object();
    char s[32];
    if (v == 1) {
        snprintf(s, sizeof s, "a-%d", agg);
        json_object_object_add(d, "id", json_object_new_string(s));
        snprintf(s, sizeof s, "customer-%d", agg % 97);
        json_object_object_add(d, "customer", json_object_new_string(s));
    }
    json_object_object_add(d, "status", json_object_new_string(v % 2 ? "OPEN" : "SHIPPED"));
    json_object_object_add(d, "count", json_object_new_int(v));
    return d;
}

/* Publishes the events of aggregates index, index+T, ... in order. */
static void *publish(void *arg) {
    job_t *j = arg;
    bench_t *b = j->b;
    for (int a = j->index; a < b->aggregates; a += b->threads) {
        char id[32], subject[BYRON_SUBJECT_MAX], msgid[80];
        snprintf(id, sizeof id, "a-%d", a);
        byron_subject_format(subject, sizeof subject, b->comp, "Order", id);
        uint64_t last = 0;
        for (int v = 1; v <= 1 + b->updates; v++) {
            json_object *data = event_data(a, v);
            byron_event_spec_t spec = {.source = b->comp->source,
                                       .type = v == 1 ? "OrderCreated" : "OrderUpdated",
                                       .subject = id,
                                       .model = "Order",
                                       .version = v,
                                       .command = v == 1 ? "createOrder" : "updateOrder",
                                       .data = data};
            json_object *ev = byron_event_build(&spec);
            const char *txt = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
            snprintf(msgid, sizeof msgid, "bench:%s:%d", id, v);
            byron_publish_t p = {.subject = subject,
                                 .data = txt,
                                 .len = strlen(txt),
                                 .msg_id = msgid,
                                 .expected_seq = last,
                                 .version = v,
                                 .type = spec.type};
            byron_err_t err = {0};
            if (byron_stream_publish(b->stream, &p, &last, NULL, &err) != BYRON_OK) {
                fprintf(stderr, "publish: %s\n", err.msg);
                j->failed = 1;
            }
            json_object_put(ev);
            json_object_put(data);
            if (j->failed) return NULL;
        }
    }
    return NULL;
}

/* The baseline: the same documents, one raw upsert per event. */
static void *upsert(void *arg) {
    job_t *j = arg;
    bench_t *b = j->b;
    mongoc_client_t *cl = mongoc_client_pool_pop(b->pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, b->db, "Order");
    for (int a = j->index; a < b->aggregates; a += b->threads) {
        char id[32];
        snprintf(id, sizeof id, "a-%d", a);
        for (int v = 1; v <= 1 + b->updates && !j->failed; v++) {
            json_object *data = event_data(a, v), *u = json_object_new_object();
            json_object_object_del(data, "id");
            json_object_object_add(data, "version", json_object_new_int(v));
            json_object_object_add(u, "$set", data);
            bson_error_t be;
            bson_t *ub = bson_new_from_json((const uint8_t *)json_object_to_json_string(u), -1, &be);
            bson_t *filter = BCON_NEW("_id", BCON_UTF8(id)), *opts = BCON_NEW("upsert", BCON_BOOL(true));
            if (b->conditional && v > 1) BSON_APPEND_INT32(filter, "version", v - 1);
            if (!mongoc_collection_update_one(coll, filter, ub, opts, NULL, &be)) {
                fprintf(stderr, "upsert: %s\n", be.message);
                j->failed = 1;
            }
            bson_destroy(ub);
            bson_destroy(filter);
            bson_destroy(opts);
            json_object_put(u);
        }
    }
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(b->pool, cl);
    return NULL;
}

static int run_jobs(bench_t *b, int threads, void *(*fn)(void *)) {
    pthread_t t[64];
    job_t j[64];
    int saved = b->threads;
    b->threads = threads; /* the jobs stride over the aggregates by it */
    for (int i = 0; i < threads; i++) {
        j[i] = (job_t){.b = b, .index = i};
        pthread_create(&t[i], NULL, fn, &j[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed |= j[i].failed;
    }
    b->threads = saved;
    return failed;
}

static int64_t count_at(mongoc_client_pool_t *pool, const char *db, int version) {
    mongoc_client_t *cl = mongoc_client_pool_pop(pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, db, "Order");
    bson_t *filter = BCON_NEW("version", BCON_INT32(version));
    bson_error_t be;
    int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &be);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(pool, cl);
    return n;
}

static long rss_peak_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* Flags into b; 0, or 2 after printing the usage. */
static int parse_args(bench_t *b, int argc, char **argv) {
    static const struct {
        const char *flag;
        size_t offset;
    } FLAGS[] = {
        {"--aggregates", offsetof(bench_t, aggregates)}, {"--updates", offsetof(bench_t, updates)},
        {"--threads", offsetof(bench_t, threads)},       {"--partitions", offsetof(bench_t, partitions)},
        {"--replicas", offsetof(bench_t, replicas)},     {"--raw-threads", offsetof(bench_t, raw_threads)}};
    for (int i = 1; i + 1 < argc; i += 2)
        for (size_t k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++)
            if (strcmp(argv[i], FLAGS[k].flag) == 0)
                *(int *)((char *)b + FLAGS[k].offset) = atoi(argv[i + 1]);
    if (!b->raw_threads) b->raw_threads = b->partitions < 64 ? b->partitions : 64;
    if (b->threads < 1 || b->threads > 64 || b->aggregates < 1 || b->updates < 0 || b->partitions < 1 ||
        b->partitions > 256 || b->replicas < 1 || b->replicas > 8 || b->raw_threads < 1 ||
        b->raw_threads > 64) {
        fprintf(stderr,
                "usage: bench_sink [--aggregates A] [--updates U] [--threads 1..64] [--partitions 1..256] "
                "[--replicas 1..8] [--raw-threads 1..64]\n");
        return 2;
    }
    return 0;
}

/* A fresh component (its name, its config file cfg) with an ensured stream in b. */
static int make_component(bench_t *b, const char *nats_url, char name[64], char cfg[128]) {
    char dir[] = "/tmp/bench-sink-XXXXXX", conf[1024];
    snprintf(name, 64, "bench-sink-%d", (int)getpid());
    if (!mkdtemp(dir)) return 1;
    snprintf(cfg, 128, "%s/component.json", dir);
    snprintf(
        conf, sizeof conf,
        "{\"apiVersion\":\"byron.io/"
        "v1alpha1\",\"component\":\"%s\",\"namespace\":\"bench\",\"partitions\":%d,"
        "\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\",\"indexed\":"
        "true},{\"name\":\"status\",\"type\":\"String\"},{\"name\":\"count\",\"type\":\"Int\"}]}]}",
        name, b->partitions);
    FILE *f = fopen(cfg, "w");
    if (!f) return 1;
    fputs(conf, f);
    fclose(f);
    byron_err_t err = {0};
    if (byron_component_load(cfg, &b->comp, &err) != BYRON_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    byron_stream_options_t so = {
        .url = nats_url, .client_name = "bench_sink", .replicas = 1, .request_timeout_ms = 5000};
    b->stream = byron_stream_new(b->comp, &so, &err);
    for (int i = 0; b->stream && i < 100 && byron_stream_ensure(b->stream, &err) != BYRON_OK; i++)
        usleep(50000);
    if (!b->stream || !byron_stream_ready(b->stream)) {
        fprintf(stderr, "stream: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* The baselines: raw upserts, then conditional ones, into scratch databases. Seconds each. */
static int run_raw(bench_t *b, double *raw_s, double *rawc_s) {
    long total = (long)b->aggregates * (1 + b->updates);
    char scratch[96], scratch2[96];
    snprintf(scratch, sizeof scratch, "bench_raw_%d", (int)getpid());
    b->db = scratch;
    double t0 = now_s();
    if (run_jobs(b, b->raw_threads, upsert)) return 1;
    *raw_s = now_s() - t0;
    if (count_at(b->pool, scratch, 1 + b->updates) != b->aggregates)
        fprintf(stderr, "baseline: wrong final state\n");
    printf("raw mongoc upserts:  %.2f s  %8.0f events/s  (filter {_id})\n", *raw_s, (double)total / *raw_s);
    snprintf(scratch2, sizeof scratch2, "bench_rawc_%d", (int)getpid());
    b->db = scratch2;
    b->conditional = 1;
    t0 = now_s();
    if (run_jobs(b, b->raw_threads, upsert)) return 1;
    *rawc_s = now_s() - t0;
    printf("raw conditional:     %.2f s  %8.0f events/s  (filter {_id, version: v-1}, as the sink's guard)\n",
           *rawc_s, (double)total / *rawc_s);
    b->db = NULL;
    return 0;
}

/* BYRON_SIDECAR, else byron-sidecar next to this binary. */
static void sidecar_path(char *bin, size_t cap) {
    const char *sb = getenv("BYRON_SIDECAR");
    if (sb) {
        snprintf(bin, cap, "%s", sb);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", bin, cap - 1);
    bin[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(bin, '/');
    if (slash) snprintf(slash, cap - (size_t)(slash - bin), "/byron-sidecar");
}

typedef struct {
    double seconds;
    long rss_peak_kib;
    int bad_exit;
} sink_run_t;

/* R sink processes on the backlog, timed until every aggregate is cached at its last version. */
static int run_sinks(bench_t *b, const char *name, const char *cfg, const char *nats_url,
                     const char *mongo_uri, sink_run_t *out) {
    char bin[1024], threads_env[64], sink_db[96];
    sidecar_path(bin, sizeof bin);
    snprintf(threads_env, sizeof threads_env, "BYRON_SINK_THREADS=%d", b->threads);
    snprintf(sink_db, sizeof sink_db, "byron_%s", name);
    for (char *p = sink_db; *p; p++)
        if (*p == '-') *p = '_';
    double t0 = now_s();
    pid_t pids[8];
    for (int r = 0; r < b->replicas; r++)
        if ((pids[r] = fork()) == 0) {
            putenv(threads_env);
            execl(bin, bin, "--mode=sink", "--config", cfg, "--nats-url", nats_url, "--mongo-uri", mongo_uri,
                  "--http-port", "0", "--admin-port", "0", "--bind", "127.0.0.1", "--sidecar-socket", "",
                  "--log-level", "warn", (char *)NULL);
            _exit(127);
        }
    int64_t done = 0;
    while (now_s() - t0 < 600 && (done = count_at(b->pool, sink_db, 1 + b->updates)) < b->aggregates)
        usleep(20000);
    out->seconds = now_s() - t0;
    for (int r = 0; r < b->replicas; r++) {
        long kb = rss_peak_kb(pids[r]);
        if (kb > out->rss_peak_kib) out->rss_peak_kib = kb;
        kill(pids[r], SIGTERM);
        int status = 0;
        waitpid(pids[r], &status, 0);
        out->bad_exit |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    if (done < b->aggregates) {
        fprintf(stderr, "sink: only %lld of %d aggregates converged in 600 s\n", (long long)done,
                b->aggregates);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_t b = {.aggregates = 2000, .updates = 9, .threads = 8, .partitions = 8, .replicas = 1};
    if (parse_args(&b, argc, argv)) return 2;
    char nats_url[1024], mongo_uri[1024], name[64], cfg[128];
    const char *v1 = setting("BYRON_NATS_URL");
    snprintf(nats_url, sizeof nats_url, "%s", v1 ? v1 : "");
    const char *v2 = setting("BYRON_MONGO_URI");
    snprintf(mongo_uri, sizeof mongo_uri, "%s", v2 ? v2 : "");
    if (!nats_url[0] || !mongo_uri[0]) {
        fprintf(stderr, "need BYRON_NATS_URL and BYRON_MONGO_URI (or BYRON_TESTENV)\n");
        return 2;
    }
    mongoc_init();
    if (make_component(&b, nats_url, name, cfg)) return 1;
    long total = (long)b.aggregates * (1 + b.updates);
    printf("events: %ld (%d aggregates x %d), sink threads: %d, partitions: %d, sink replicas: %d, raw "
           "threads: %d\n",
           total, b.aggregates, 1 + b.updates, b.threads, b.partitions, b.replicas, b.raw_threads);
    double t0 = now_s();
    if (run_jobs(&b, b.threads, publish)) return 1;
    double pub_s = now_s() - t0, raw_s = 0, rawc_s = 0;
    printf("published in %.2f s (%.0f events/s)\n", pub_s, (double)total / pub_s);

    mongoc_uri_t *uri = mongoc_uri_new(mongo_uri);
    b.pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_max_size(b.pool,
                                (uint32_t)(b.threads > b.raw_threads ? b.threads : b.raw_threads) + 2);
    sink_run_t sink = {0};
    if (run_raw(&b, &raw_s, &rawc_s) || run_sinks(&b, name, cfg, nats_url, mongo_uri, &sink)) return 1;
    printf("sink projection:     %.2f s  %8.0f events/s  (%.0f%% of raw conditional; from process start; RSS "
           "peak %ld KiB)\n",
           sink.seconds, (double)total / sink.seconds, 100.0 * rawc_s / sink.seconds, sink.rss_peak_kib);
    printf("{\"events\":%ld,\"partitions\":%d,\"replicas\":%d,\"sink_threads\":%d,\"raw_threads\":%d,"
           "\"publish_eps\":%.1f,\"raw_eps\":%.1f,\"raw_conditional_eps\":%.1f,\"sink_eps\":%.1f,"
           "\"sink_rss_peak_kib\":%ld,\"sink_exit_ok\":%s}\n",
           total, b.partitions, b.replicas, b.threads, b.raw_threads, (double)total / pub_s,
           (double)total / raw_s, (double)total / rawc_s, (double)total / sink.seconds, sink.rss_peak_kib,
           sink.bad_exit ? "false" : "true");
    mongoc_client_pool_destroy(b.pool);
    mongoc_uri_destroy(uri);
    byron_stream_free(b.stream);
    byron_component_free(b.comp);
    mongoc_cleanup();
    return 0;
}
