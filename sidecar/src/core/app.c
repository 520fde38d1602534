/* app.c — calls into the app over its Unix socket (libcurl easy, one per thread). */
#include "app.h"

#include "byron/buf.h"
#include "byron/clock.h"
#include "byron/json.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A thread's handle, linked into the app's list so _free can reach them all. */
typedef struct handle {
    CURL *curl;
    struct handle *next;
} handle_t;

struct byron_app {
    char *socket_path;
    int timeout_ms;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards handles */
    handle_t *handles;
    byron_metric_t *calls, *duration;
};

byron_app_t *byron_app_new(const char *socket_path, int timeout_ms, byron_metrics_t *metrics,
                           byron_err_t *err) {
    byron_app_t *a = calloc(1, sizeof *a);
    if (!a || !(a->socket_path = strdup(socket_path))) {
        free(a);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    a->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    pthread_key_create(&a->key, NULL);
    pthread_mutex_init(&a->lock, NULL);
    static const char *const LABELS[] = {"hook", "outcome", NULL};
    static const char *const HOOK[] = {"hook", NULL};
    if (metrics) {
        a->calls = byron_metrics_register(metrics, BYRON_METRIC_COUNTER, "byron_sidecar_app_calls_total",
                                          "Calls from the sidecar into the app, by hook and outcome.", LABELS,
                                          NULL, 0);
        a->duration =
            byron_metrics_register(metrics, BYRON_METRIC_HISTOGRAM, "byron_sidecar_app_call_duration_seconds",
                                   "Duration of calls into the app.", HOOK, NULL, 0);
    }
    return a;
}

void byron_app_free(byron_app_t *a) {
    if (!a) return;
    for (handle_t *h = a->handles, *next; h; h = next) {
        next = h->next;
        curl_easy_cleanup(h->curl);
        free(h);
    }
    pthread_key_delete(a->key);
    pthread_mutex_destroy(&a->lock);
    free(a->socket_path);
    free(a);
}

const char *byron_app_socket(const byron_app_t *a) { return a->socket_path; }

static CURL *thread_handle(byron_app_t *a) {
    handle_t *h = pthread_getspecific(a->key);
    if (h) return h->curl;
    if (!(h = calloc(1, sizeof *h)) || !(h->curl = curl_easy_init())) {
        free(h);
        return NULL;
    }
    pthread_setspecific(a->key, h);
    pthread_mutex_lock(&a->lock);
    h->next = a->handles;
    a->handles = h;
    pthread_mutex_unlock(&a->lock);
    return h->curl;
}

static void count(byron_app_t *a, const char *hook, const char *outcome, double started) {
    const char *labels[] = {hook, outcome};
    const char *hl[] = {hook};
    if (a->calls) byron_metric_add(a->calls, labels, 1);
    if (a->duration) byron_metric_observe(a->duration, hl, byron_clock_mono_s() - started);
}

/* One request. body NULL: GET. */
static byron_status_t perform(byron_app_t *a, const char *hook, const char *path, const char *body,
                              const char *traceparent, int timeout_ms, byron_buf_t *out, long *status,
                              byron_err_t *err) {
    double started = byron_clock_mono_s();
    CURL *c = thread_handle(a);
    if (!c) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    curl_easy_reset(c);
    char url[512];
    snprintf(url, sizeof url, "http://app%s", path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    char tp[96];
    if (traceparent) {
        snprintf(tp, sizeof tp, "traceparent: %s", traceparent);
        hdrs = curl_slist_append(hdrs, tp);
    }
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, a->socket_path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : a->timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM-based timeouts */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    byron_status_t st = BYRON_OK;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        count(a, hook, "timeout", started);
        st = byron_err_set(err, BYRON_ETIMEDOUT, "app did not answer %s within %d ms", path,
                           timeout_ms > 0 ? timeout_ms : a->timeout_ms);
    } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        count(a, hook, "unavailable", started);
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "app is not reachable on %s: %s", a->socket_path,
                           curl_easy_strerror(rc));
    } else if (rc != CURLE_OK) {
        count(a, hook, "error", started);
        st = byron_err_set(err, BYRON_EPROTO, "app call %s failed: %s", path,
                           out->too_large ? "response larger than 1 MiB" : curl_easy_strerror(rc));
    }
    if (st == BYRON_OK)
        count(a, hook, *status >= 200 && *status < 300 ? "ok" : *status == 404 ? "absent" : "error", started);
    return st;
}

byron_status_t byron_app_post(byron_app_t *a, const char *hook, const char *path, json_object *body,
                              const char *traceparent, int timeout_ms, json_object **resp, long *status,
                              byron_err_t *err) {
    *resp = NULL;
    byron_buf_t b = {.max = BYRON_APP_MAX_RESPONSE};
    long code = 0;
    byron_status_t st = perform(a, hook, path, body ? byron_json_compact(body) : "{}", traceparent,
                                timeout_ms, &b, &code, err);
    if (status) *status = code;
    if (st != BYRON_OK) goto out;
    if (code == 404) {
        st = BYRON_ENOTFOUND;
        goto out;
    }
    byron_err_t perr = {0};
    json_object *obj = NULL;
    if (byron_json_parse(b.buf ? b.buf : "", b.len, 64, &obj, &perr) != BYRON_OK ||
        !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        st = byron_err_set(err, BYRON_EPROTO, "app answered %s with HTTP %ld and %s", path, code,
                           perr.msg[0] ? perr.msg : "a JSON value that is not an object");
        goto out;
    }
    if (!((code >= 200 && code < 300) || code == 422)) {
        const char *msg = NULL;
        json_object *e;
        if (json_object_object_get_ex(obj, "error", &e) && json_object_is_type(e, json_type_string))
            msg = json_object_get_string(e);
        st = byron_err_set(err, BYRON_EPROTO, "app answered %s with HTTP %ld%s%.200s", path, code,
                           msg ? ": " : "", msg ? msg : "");
        json_object_put(obj);
        goto out;
    }
    *resp = obj;
out:
    free(b.buf);
    return st;
}

byron_status_t byron_app_health(byron_app_t *a, int timeout_ms, byron_err_t *err) {
    byron_buf_t b = {.max = BYRON_APP_MAX_RESPONSE};
    long code = 0;
    byron_status_t st = perform(a, "health", "/v1/health", NULL, NULL, timeout_ms, &b, &code, err);
    free(b.buf);
    if (st == BYRON_OK && (code < 200 || code >= 300))
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "app health check answered HTTP %ld", code);
    return st;
}
