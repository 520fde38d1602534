/* bench_load.h — what scripts/bench's C load generators share (header only):
 * the clock, pacing for an offered rate, settings from the testenv env file,
 * latency samples and the one-line JSON result.
 *
 * Open loop (a rate): operation i of thread t of N is due at
 * start + (i + t/N) · N/rate, and its latency counts from that moment, so a
 * server that falls behind shows it (no coordinated omission). */
#ifndef BYRON_BENCH_LOAD_H
#define BYRON_BENCH_LOAD_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_SAMPLES 4000000

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* KEY from the environment, else from the testenv env file BYRON_TESTENV. */
static inline int bench_setting(const char *key, char *out, size_t cap) {
    const char *v = getenv(key);
    if (v && *v) return snprintf(out, cap, "%.*s", (int)(cap - 1), v), 1;
    const char *path = getenv("BYRON_TESTENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%.*s", (int)(cap - 1), line + strlen(key) + 1);
            found = 1;
        }
    fclose(f);
    return found;
}

typedef struct {
    int conc, rate;
    double start, until;
    double *lat;
    atomic_size_t n;
    atomic_int errors;
    atomic_int by_status[600]; /* failed operations by HTTP status (0: no answer) */
} bench_load_t;

static inline int bench_load_init(bench_load_t *b, int conc, int rate, int secs) {
    memset(b, 0, sizeof *b);
    b->conc = conc;
    b->rate = rate;
    b->start = bench_now() + 0.01;
    b->until = b->start + secs;
    b->lat = malloc(sizeof(double) * BENCH_MAX_SAMPLES);
    return b->lat ? 0 : -1;
}

/* When operation i of thread t is due (waits for it in open loop); now in closed loop. */
static inline double bench_due(const bench_load_t *b, long i, int t) {
    if (b->rate <= 0) return bench_now();
    double at = b->start + (double)b->conc / b->rate * ((double)i + (double)t / b->conc),
           d = at - bench_now();
    if (d > 0) {
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return at;
}

static inline void bench_ok(bench_load_t *b, double t0) {
    size_t i = atomic_fetch_add(&b->n, 1);
    if (i < BENCH_MAX_SAMPLES) b->lat[i] = bench_now() - t0;
}

static inline void bench_fail(bench_load_t *b, long status) {
    atomic_fetch_add(&b->errors, 1);
    atomic_fetch_add(&b->by_status[status > 0 && status < 600 ? status : 0], 1);
}

/* An HTTP operation's outcome: 200 counts, anything else is a failure by status. */
static inline void bench_http_outcome(bench_load_t *b, double t0, long status) {
    if (status == 200)
        bench_ok(b, t0);
    else
        bench_fail(b, status);
}

static inline int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One JSON line: the run's figures (ms), with the caller's labels first. */
static inline void bench_report(bench_load_t *b, const char *labels_json) {
    double secs = bench_now() - b->start;
    size_t n = atomic_load(&b->n);
    if (n > BENCH_MAX_SAMPLES) n = BENCH_MAX_SAMPLES;
    qsort(b->lat, n, sizeof(double), bench_cmp);
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    if (n) {
        p50 = b->lat[n / 2] * 1e3;
        p90 = b->lat[n * 9 / 10] * 1e3;
        p99 = b->lat[n * 99 / 100] * 1e3;
        max = b->lat[n - 1] * 1e3;
    }
    printf("{%s,\"concurrency\":%d,\"rate\":%d,\"seconds\":%.3f,\"ops\":%.1f,\"n\":%zu,\"errors\":%d,"
           "\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"errors_by_status\":{",
           labels_json, b->conc, b->rate, secs, (double)n / secs, n, atomic_load(&b->errors), p50, p90, p99,
           max);
    const char *sep = "";
    for (int i = 0; i < 600; i++)
        if (atomic_load(&b->by_status[i])) {
            printf("%s\"%d\":%d", sep, i, atomic_load(&b->by_status[i]));
            sep = ",";
        }
    printf("}}\n");
    free(b->lat);
    b->lat = NULL;
}

/* ---- HTTP: one keep-alive client per thread, JSON bodies, answers discarded ---- */

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
} bench_http_t;

static inline size_t bench_http_discard(char *p, size_t s, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return s * n;
}

static inline void bench_http_init(bench_http_t *h) {
    h->curl = curl_easy_init();
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    h->headers = curl_slist_append(h->headers, "Expect:");
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, bench_http_discard);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 30000L);
}

/* POST body to url: the HTTP status, 0 when nothing answered. */
static inline long bench_http_post(bench_http_t *h, const char *url, const char *body) {
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    long code = 0;
    if (curl_easy_perform(h->curl) == CURLE_OK) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static inline void bench_http_cleanup(bench_http_t *h) {
    curl_slist_free_all(h->headers);
    curl_easy_cleanup(h->curl);
}

#endif
