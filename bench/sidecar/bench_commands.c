/* bench_commands.c — sidecar commands vs raw JetStream publishes, side by side.
 *
 *   bench_sidecar_commands [--concurrency N] [--seconds S] [--workers W]
 *
 * Needs BYRON_NATS_URL and BYRON_MONGO_URI (or BYRON_TESTENV, the testenv env
 * file) and BYRON_SIDECAR (the binary; default: next to this one).
 *
 * Both sides do the same durable work per operation: one event on the
 * operation's own aggregate subject of a file-stored stream, with a
 * Nats-Msg-Id and Nats-Expected-Last-Subject-Sequence, acknowledged by the
 * stream before the operation counts. Raw: N threads call byron_stream_publish
 * directly (each tracks its subject's last sequence itself). Sidecar: N
 * threads POST /v1/commands/updateOrder over keep-alive HTTP to a real
 * byron-sidecar (no app), which reads the aggregate's last event, validates,
 * builds the envelope and publishes. Reports ops/s, latency percentiles and
 * the sidecar's RSS. */
#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "stream.h"
#include "subject.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_SAMPLES 2000000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char env_file[16384];
static const char *setting(const char *key) {
    const char *v = getenv(key);
    if (v && *v) return v;
    const char *path = getenv("BYRON_TESTENV");
    if (!path) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(env_file, 1, sizeof env_file - 1, f);
    fclose(f);
    env_file[n] = '\0';
    char *save = NULL;
    static char val[1024];
    for (char *l = strtok_r(env_file, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strncmp(l, key, strlen(key)) == 0 && l[strlen(key)] == '=') {
            snprintf(val, sizeof val, "%s", l + strlen(key) + 1);
            return val;
        }
    return NULL;
}

typedef struct {
    double *lat;
    atomic_size_t n;
    atomic_int errors;
} samples_t;

static void record(samples_t *s, double v) {
    size_t i = atomic_fetch_add(&s->n, 1);
    if (i < MAX_SAMPLES) s->lat[i] = v;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *name;
    double ops, p50, p90, p99, max;
    int errors;
} result_t;

static result_t summarize(const char *name, samples_t *s, double secs) {
    size_t n = atomic_load(&s->n);
    if (n > MAX_SAMPLES) n = MAX_SAMPLES;
    qsort(s->lat, n, sizeof(double), cmp_d);
    result_t r = {.name = name, .ops = (double)n / secs, .errors = atomic_load(&s->errors)};
    if (n) {
        r.p50 = s->lat[n / 2] * 1e3;
        r.p90 = s->lat[n * 9 / 10] * 1e3;
        r.p99 = s->lat[n * 99 / 100] * 1e3;
        r.max = s->lat[n - 1] * 1e3;
    }
    return r;
}

/* ---- raw JetStream ---- */

typedef struct {
    byron_stream_t *st;
    const byron_component_t *comp;
    int t;
    double until;
    samples_t *s;
} raw_arg_t;

static void *raw_worker(void *arg) {
    raw_arg_t *a = arg;
    char id[32], subject[BYRON_SUBJECT_MAX], msgid[64];
    snprintf(id, sizeof id, "raw-%d", a->t);
    byron_subject_format(subject, sizeof subject, a->comp, "Order", id);
    uint64_t last = 0;
    int64_t version = 0;
    json_object *data = json_object_new_object();
    for (long i = 0; now_s() < a->until; i++) {
        json_object_object_add(data, "count", json_object_new_int((int)i));
        byron_event_spec_t spec = {.source = a->comp->source,
                                   .type = "OrderUpdated",
                                   .subject = id,
                                   .model = "Order",
                                   .version = version + 1,
                                   .command = "updateOrder",
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
                             .type = "OrderUpdated"};
        uint64_t seq;
        byron_err_t err;
        double t0 = now_s();
        if (byron_stream_publish(a->st, &p, &seq, NULL, &err) == BYRON_OK) {
            record(a->s, now_s() - t0);
            last = seq;
            version++;
        } else {
            atomic_fetch_add(&a->s->errors, 1);
        }
        json_object_put(ev);
    }
    json_object_put(data);
    return NULL;
}

/* ---- sidecar ---- */

typedef struct {
    int port, t;
    double until;
    samples_t *s;
} sc_arg_t;

static size_t sink(char *p, size_t s, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return s * n;
}

static long post(CURL *c, int port, const char *path, const char *body) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK) return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static void *sc_worker(void *arg) {
    sc_arg_t *a = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"sc-%d\",\"input\":{\"customer\":\"bench\"}}", a->t);
    if (post(c, a->port, "/v1/commands/createOrder", body) != 200) atomic_fetch_add(&a->s->errors, 1);
    for (long i = 0; now_s() < a->until; i++) {
        snprintf(body, sizeof body, "{\"id\":\"sc-%d\",\"input\":{\"count\":%ld}}", a->t, i);
        double t0 = now_s();
        long code = post(c, a->port, "/v1/commands/updateOrder", body);
        if (code == 200)
            record(a->s, now_s() - t0);
        else
            atomic_fetch_add(&a->s->errors, 1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static long rss_kb(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0) v = atol(line + strlen(field) + 1);
    fclose(f);
    return v;
}

static byron_component_t *component(const char *name) {
    char text[1024];
    snprintf(text, sizeof text,
             "{\"component\":\"%s\",\"namespace\":\"bench\",\"partitions\":8,\"models\":[{\"name\":\"Order\","
             "\"fields\":"
             "[{\"name\":\"customer\",\"type\":\"String\"},{\"name\":\"count\",\"type\":\"Int\"}]}]}",
             name);
    json_object *root;
    byron_err_t err;
    byron_component_t *c = NULL;
    if (byron_json_parse(text, strlen(text), 0, &root, &err) != BYRON_OK) return NULL;
    if (byron_component_parse(root, &c, &err) != BYRON_OK) fprintf(stderr, "%s\n", err.msg);
    json_object_put(root);
    return c;
}

static void print_row(const result_t *r, int conc) {
    printf("| %-22s | %4d | %9.0f | %7.2f | %7.2f | %7.2f | %8.2f | %6d |\n", r->name, conc, r->ops, r->p50,
           r->p90, r->p99, r->max, r->errors);
}

int main(int argc, char **argv) {
    int conc = 8, secs = 10, workers = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--concurrency") == 0)
            conc = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            secs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[i + 1]);
    }
    if (conc < 1 || conc > MAX_THREADS) conc = 8;
    char nats_url[512] = "", mongo_uri[512] = "";
    const char *v;
    if ((v = setting("BYRON_NATS_URL")))
        snprintf(nats_url, sizeof nats_url, "%s", v); /* setting() reuses its buffer */
    if ((v = setting("BYRON_MONGO_URI"))) snprintf(mongo_uri, sizeof mongo_uri, "%s", v);
    if (!nats_url[0] || !mongo_uri[0]) {
        fprintf(stderr, "need BYRON_NATS_URL and BYRON_MONGO_URI (or BYRON_TESTENV)\n");
        return 2;
    }
    byron_log_setup("bench", BYRON_LOG_WARN, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char tag[32];
    snprintf(tag, sizeof tag, "%d", (int)getpid());

    /* Raw JetStream baseline on its own stream with the same settings. */
    char name[64];
    snprintf(name, sizeof name, "raw-%s", tag);
    byron_component_t *raw = component(name);
    byron_stream_options_t so = {
        .url = nats_url, .client_name = "bench-raw", .replicas = 1, .request_timeout_ms = 5000};
    byron_err_t err;
    byron_stream_t *st = byron_stream_new(raw, &so, &err);
    if (!st || byron_stream_ensure(st, &err) != BYRON_OK) {
        fprintf(stderr, "raw stream: %s\n", err.msg);
        return 1;
    }
    samples_t rs = {.lat = malloc(sizeof(double) * MAX_SAMPLES)};
    pthread_t th[MAX_THREADS];
    raw_arg_t ra[MAX_THREADS];
    double t0 = now_s(), until = t0 + secs;
    for (int i = 0; i < conc; i++) {
        ra[i] = (raw_arg_t){st, raw, i, until, &rs};
        pthread_create(&th[i], NULL, raw_worker, &ra[i]);
    }
    for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
    result_t r_raw = summarize("raw JetStream publish", &rs, now_s() - t0);
    byron_stream_free(st);

    /* The sidecar, a real process. */
    snprintf(name, sizeof name, "sc-%s", tag);
    byron_component_t *scc = component(name);
    char dir[] = "/tmp/byron-bench-XXXXXX", cfg[300], port_s[16], workers_s[16], bin[1024];
    mkdtemp(dir);
    snprintf(cfg, sizeof cfg, "%s/component.json", dir);
    json_object *meta = byron_component_to_json(scc);
    /* component.json: what the operator writes (the derived names are ignored... so strip them). */
    json_object_object_del(meta, "stream");
    json_object_object_del(meta, "subjectPrefix");
    json_object_object_del(meta, "source");
    json_object_object_del(meta, "enums");
    json_object_object_del(meta, "commands");
    json_object_object_del(meta, "subscriptions");
    json_object_to_file(cfg, meta);
    json_object_put(meta);
    const char *b = getenv("BYRON_SIDECAR");
    if (b)
        snprintf(bin, sizeof bin, "%s", b);
    else {
        ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
        bin[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(bin, '/');
        if (slash) snprintf(slash, sizeof bin - (size_t)(slash - bin), "/byron-sidecar");
    }
    int port = 20000 + (int)(getpid() % 20000);
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(workers_s, sizeof workers_s, "%d", workers);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--mode=api", "--config", cfg, "--nats-url", nats_url, "--mongo-uri", mongo_uri,
              "--http-port", port_s, "--bind", "127.0.0.1", "--sidecar-socket", "", "--workers", workers_s,
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    CURL *probe = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", port);
    curl_easy_setopt(probe, CURLOPT_URL, url);
    curl_easy_setopt(probe, CURLOPT_WRITEFUNCTION, sink);
    long code = 0;
    for (int i = 0; i < 200 && code != 200; i++) {
        usleep(50000);
        if (curl_easy_perform(probe) == CURLE_OK) curl_easy_getinfo(probe, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_easy_cleanup(probe);
    if (code != 200) {
        fprintf(stderr, "sidecar %s not ready\n", bin);
        kill(pid, SIGKILL);
        return 1;
    }
    long rss_idle = rss_kb(pid, "VmRSS:");
    samples_t ss = {.lat = malloc(sizeof(double) * MAX_SAMPLES)};
    sc_arg_t sa[MAX_THREADS];
    t0 = now_s();
    until = t0 + secs;
    for (int i = 0; i < conc; i++) {
        sa[i] = (sc_arg_t){port, i, until, &ss};
        pthread_create(&th[i], NULL, sc_worker, &sa[i]);
    }
    for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
    result_t r_sc = summarize("sidecar command (HTTP)", &ss, now_s() - t0);
    long rss_load = rss_kb(pid, "VmRSS:"), rss_peak = rss_kb(pid, "VmHWM:");
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);

    printf("\n%d s per side, concurrency %d, sidecar workers %d, file-stored stream, 1 event per op "
           "(Nats-Msg-Id + expected last subject sequence), ack awaited\n\n",
           secs, conc, workers);
    printf("| %-22s | %4s | %9s | %7s | %7s | %7s | %8s | %6s |\n", "path", "conc", "ops/s", "p50 ms",
           "p90 ms", "p99 ms", "max ms", "errors");
    printf(
        "|------------------------|------|-----------|---------|---------|---------|----------|--------|\n");
    print_row(&r_raw, conc);
    print_row(&r_sc, conc);
    printf("\nsidecar RSS: idle %ld KiB, after load %ld KiB, peak %ld KiB; exit status %d\n", rss_idle,
           rss_load, rss_peak, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    free(rs.lat);
    free(ss.lat);
    byron_component_free(raw);
    byron_component_free(scc);
    curl_global_cleanup();
    return 0;
}
