/* app.c — calls into the app over its Unix socket (libcurl easy, one per thread),
 * and the hooks the app declares (app_hooks.h), read once per socket. */
#include "app.h"

#include "app_hooks.h"
#include "byron/buf.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A thread's handle, linked into the app's list so _free can reach them all. */
typedef struct handle {
    CURL *curl;
    struct handle *next;
} handle_t;

/* Which socket file: an app that starts again binds a new one. */
typedef struct {
    dev_t dev;
    ino_t ino;
    struct timespec ctim;
} socket_id_t;

struct byron_app {
    char *socket_path;
    int timeout_ms;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards handles */
    handle_t *handles;
    byron_metric_t *calls, *duration;
    /* The declaration of the socket `declared_by` (docs/app-protocol.md,
     * GET /v1/hooks); hooks NULL: none, every hook is called. */
    pthread_mutex_t hooks_lock; /* guards the three below */
    int declared;
    socket_id_t declared_by;
    byron_app_hooks_t *hooks;
    pthread_mutex_t read_lock; /* one thread at a time reads a declaration */
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
    pthread_mutex_init(&a->hooks_lock, NULL);
    pthread_mutex_init(&a->read_lock, NULL);
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
    pthread_mutex_destroy(&a->hooks_lock);
    pthread_mutex_destroy(&a->read_lock);
    byron_app_hooks_free(a->hooks);
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

/* ------------------------------------------------------------ declared hooks */

static int socket_id(const char *path, socket_id_t *out) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    *out = (socket_id_t){.dev = st.st_dev, .ino = st.st_ino, .ctim = st.st_ctim};
    return 0;
}

static int same_socket(const socket_id_t *x, const socket_id_t *y) {
    return x->dev == y->dev && x->ino == y->ino && x->ctim.tv_sec == y->ctim.tv_sec &&
           x->ctim.tv_nsec == y->ctim.tv_nsec;
}

/* The declaration from GET /v1/hooks: *hooks (NULL: none). BYRON_OK when the
 * app answered — a 404, or an answer that is not a valid declaration (not
 * HTTP, too large, another status, a declaration that breaks a rule: logged),
 * declares nothing: every hook is called. Otherwise the app did not answer
 * (unavailable, timeout: err). */
static byron_status_t fetch_hooks(byron_app_t *a, int timeout_ms, byron_app_hooks_t **hooks,
                                  byron_err_t *err) {
    *hooks = NULL;
    byron_buf_t b = {.max = BYRON_APP_MAX_RESPONSE};
    long code = 0;
    byron_err_t why = {0};
    byron_status_t st = perform(a, "hooks", "/v1/hooks", NULL, NULL, timeout_ms, &b, &code, &why);
    if (st == BYRON_EUNAVAILABLE || st == BYRON_ETIMEDOUT) {
        *err = why;
    } else if (st != BYRON_OK || code != 404) {
        json_object *o = NULL;
        if (st == BYRON_OK && code != 200)
            byron_err_set(&why, BYRON_EPROTO, "GET /v1/hooks answered HTTP %ld", code);
        else if (st == BYRON_OK && byron_json_parse(b.buf ? b.buf : "", b.len, 8, &o, &why) == BYRON_OK)
            byron_app_hooks_parse(o, hooks, &why);
        json_object_put(o);
        if (!*hooks)
            byron_log(BYRON_LOG_WARN, "app's hook declaration ignored: every hook is called", "socket",
                      a->socket_path, "error", why.msg, (char *)NULL);
        st = BYRON_OK;
    }
    free(b.buf);
    return st;
}

/* Whether socket `id` has its declaration read: *skip then says whether it leaves path out. */
static int decided(byron_app_t *a, const socket_id_t *id, const char *path, int *skip) {
    pthread_mutex_lock(&a->hooks_lock);
    int known = a->declared && same_socket(&a->declared_by, id);
    if (known) *skip = a->hooks && !byron_app_hooks_declares(a->hooks, path);
    pthread_mutex_unlock(&a->hooks_lock);
    return known;
}

/* Read socket `id`'s declaration, one thread at a time (the others wait for it). */
static byron_status_t read_hooks(byron_app_t *a, const socket_id_t *id, int timeout_ms, byron_err_t *err) {
    byron_app_hooks_t *hooks = NULL;
    byron_status_t st = fetch_hooks(a, timeout_ms, &hooks, err);
    if (st != BYRON_OK) return st;
    char n[24];
    snprintf(n, sizeof n, "%zu", hooks ? byron_app_hooks_count(hooks) : 0);
    byron_log(BYRON_LOG_INFO,
              hooks ? "app declares its hooks" : "app declares no hooks: every hook is called", "socket",
              a->socket_path, "hooks", hooks ? n : "", (char *)NULL);
    pthread_mutex_lock(&a->hooks_lock);
    byron_app_hooks_free(a->hooks);
    a->hooks = hooks;
    a->declared = 1;
    a->declared_by = *id;
    pthread_mutex_unlock(&a->hooks_lock);
    return BYRON_OK;
}

/* *skip 1: the app's declaration leaves path out — no call. The socket file is
 * identified on every call; one not seen before (the app started again) has
 * its declaration read first, and an app that does not answer that read fails
 * the call as the call would have failed (unavailable, timeout). The socket is
 * identified before the read: an app that starts again during it is read again
 * on the next call. The read waits at most 1 s, or the call's timeout if shorter. */
static byron_status_t check_declared(byron_app_t *a, const char *path, int timeout_ms, int *skip,
                                     byron_err_t *err) {
    *skip = 0;
    socket_id_t now;
    if (socket_id(a->socket_path, &now) != 0 || decided(a, &now, path, skip))
        return BYRON_OK; /* no socket: the call says so */
    pthread_mutex_lock(&a->read_lock);
    byron_status_t st = BYRON_OK;
    int wait_ms = timeout_ms > 0 ? timeout_ms : a->timeout_ms;
    if (!decided(a, &now, path, skip) &&
        (st = read_hooks(a, &now, wait_ms < 1000 ? wait_ms : 1000, err)) == BYRON_OK)
        decided(a, &now, path, skip);
    pthread_mutex_unlock(&a->read_lock);
    return st;
}

byron_status_t byron_app_post(byron_app_t *a, const char *hook, const char *path, json_object *body,
                              const char *traceparent, int timeout_ms, json_object **resp, long *status,
                              byron_err_t *err) {
    *resp = NULL;
    if (status) *status = 0;
    int skip = 0;
    byron_status_t dst = check_declared(a, path, timeout_ms, &skip, err);
    if (dst != BYRON_OK) return dst;
    if (skip) { /* counted, not timed: no call */
        const char *labels[] = {hook, "undeclared"};
        if (a->calls) byron_metric_add(a->calls, labels, 1);
        return BYRON_ENOTFOUND;
    }
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
