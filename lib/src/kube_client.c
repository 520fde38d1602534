/* kube_client.c — libcurl transport for the Kubernetes API.
 *
 * One CURLSH shares the connection cache, TLS sessions and DNS between all
 * easy handles; easy handles themselves are pooled (a mutex-protected stack)
 * so a request costs no handle setup. The bearer token is re-read from its
 * file when the file's mtime changes, checked at most once a second. */
#include "byron/kube_client.h"

#include "byron/buf.h"
#include "byron/file.h"
#include "byron/json.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POOL_MAX 16
#define MAX_BODY (256u << 20) /* a list of 1000s of objects can be big */
#define MAX_LINE (32u << 20)

struct byron_kube_client {
    byron_kube_config_t *cfg;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    CURL *pool[POOL_MAX];
    int npool;
    pthread_mutex_t token_mu;
    char *token;
    struct timespec token_mtime;
    time_t token_checked;
    byron_metric_t *requests; /* rest_client_requests_total{code,method} */
    char user_agent[128];
};

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud) {
    byron_kube_client_t *c = ud;
    pthread_mutex_lock(&c->share_locks[d]);
}
static void share_unlock(CURL *h, curl_lock_data d, void *ud) {
    byron_kube_client_t *c = ud;
    pthread_mutex_unlock(&c->share_locks[d]);
}

byron_kube_client_t *byron_kube_client_new(byron_kube_config_t *cfg, byron_err_t *err) {
    byron_kube_client_t *c = calloc(1, sizeof(*c));
    if (!c) {
        byron_kubeconfig_free(cfg);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    snprintf(c->user_agent, sizeof c->user_agent, "byron-operator/%s", BYRON_VERSION);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&c->share_locks[i], NULL);
    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_mutex_init(&c->token_mu, NULL);
    c->token = cfg->token ? strdup(cfg->token) : NULL;
    if (cfg->token_file) {
        struct stat sb;
        if (stat(cfg->token_file, &sb) == 0) c->token_mtime = sb.st_mtim;
    }
    c->share = curl_share_init();
    if (!c->share) {
        byron_err_set(err, BYRON_ENOMEM, "curl_share_init failed");
        byron_kube_client_free(c);
        return NULL;
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return c;
}

void byron_kube_client_free(byron_kube_client_t *c) {
    if (!c) return;
    for (int i = 0; i < c->npool; i++) curl_easy_cleanup(c->pool[i]);
    if (c->share) curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_mutex_destroy(&c->token_mu);
    free(c->token);
    byron_kubeconfig_free(c->cfg);
    free(c);
}

const byron_kube_config_t *byron_kube_client_config(const byron_kube_client_t *c) { return c->cfg; }

void byron_kube_client_set_user_agent(byron_kube_client_t *c, const char *user_agent) {
    snprintf(c->user_agent, sizeof c->user_agent, "%s", user_agent);
}

void byron_kube_client_set_metrics(byron_kube_client_t *c, byron_metrics_t *m) {
    static const char *const labels[] = {"code", "method", NULL};
    c->requests =
        byron_metrics_register(m, BYRON_METRIC_COUNTER, "rest_client_requests_total",
                               "Requests to the Kubernetes API by status code and method.", labels, NULL, 0);
}

void byron_kube_response_cleanup(byron_kube_response_t *r) {
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* The Authorization header, after re-reading a rotated token file. */
static void auth_header(byron_kube_client_t *c, char *buf, size_t n) {
    buf[0] = '\0';
    pthread_mutex_lock(&c->token_mu);
    if (c->cfg->token_file) {
        time_t now = time(NULL);
        struct stat sb;
        if (now != c->token_checked && stat(c->cfg->token_file, &sb) == 0 &&
            (sb.st_mtim.tv_sec != c->token_mtime.tv_sec || sb.st_mtim.tv_nsec != c->token_mtime.tv_nsec)) {
            char *t = NULL;
            if (byron_file_read(c->cfg->token_file, 1 << 16, &t, NULL, NULL) == BYRON_OK) {
                size_t l = strlen(t);
                while (l && (t[l - 1] == '\n' || t[l - 1] == '\r' || t[l - 1] == ' ')) t[--l] = '\0';
                free(c->token);
                c->token = t;
                c->token_mtime = sb.st_mtim;
            }
        }
        c->token_checked = now;
    }
    if (c->token) snprintf(buf, n, "Authorization: Bearer %s", c->token);
    pthread_mutex_unlock(&c->token_mu);
}

static CURL *handle_get(byron_kube_client_t *c) {
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool_mu);
    if (c->npool) h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->pool_mu);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void handle_put(byron_kube_client_t *c, CURL *h) {
    pthread_mutex_lock(&c->pool_mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (h) curl_easy_cleanup(h);
}

/* shared: take part in the shared connection cache (requests). Watches
 * don't: each holds its connection for minutes, and in a shared cache those
 * busy connections would count against the idle ones kept for reuse. */
static void setup_common(byron_kube_client_t *c, CURL *h, const char *url, int shared) {
    const byron_kube_config_t *cfg = c->cfg;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (shared) {
        curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        /* The cache closes the oldest connection beyond this many (default
         * 5): it must exceed the number of concurrent requests, or a busy
         * operator reconnects (TCP + TLS handshake) for every request. */
        curl_easy_setopt(h, CURLOPT_MAXCONNECTS, (long)POOL_MAX * 2);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    /* HTTP/1.1: one request per connection at a time keeps watches and
     * calls independent; the pool bounds the connection count. */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    if (cfg->ca_pem) {
        struct curl_blob b = {cfg->ca_pem, cfg->ca_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (cfg->cert_pem) {
        struct curl_blob cb = {cfg->cert_pem, cfg->cert_len, CURL_BLOB_NOCOPY};
        struct curl_blob kb = {cfg->key_pem, cfg->key_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* URL, TLS, credentials and headers for one request on h. Returns the
 * header list, to free after the transfer (curl copies the URL). */
static struct curl_slist *prepare(byron_kube_client_t *c, CURL *h, const char *path, const char *content_type,
                                  int shared) {
    size_t ul = strlen(c->cfg->server) + strlen(path) + 1;
    char *url = malloc(ul);
    if (url) snprintf(url, ul, "%s%s", c->cfg->server, path);
    setup_common(c, h, url ? url : "", shared);
    free(url);
    struct curl_slist *hdrs = NULL;
    char auth[8192], ct[128];
    auth_header(c, auth, sizeof(auth));
    if (auth[0]) hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
        /* No "Expect: 100-continue" round trip before a body: the API server
         * reads every body anyway. */
        hdrs = curl_slist_append(hdrs, "Expect:");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

static void count(byron_kube_client_t *c, const char *method, long code) {
    if (!c->requests) return;
    char cs[16];
    snprintf(cs, sizeof(cs), "%ld", code);
    const char *v[] = {code ? cs : "<error>", method};
    byron_metric_add(c->requests, v, 1);
}

byron_status_t byron_kube_request(byron_kube_client_t *c, const char *method, const char *path,
                                  const char *content_type, const char *body, byron_kube_response_t *resp,
                                  byron_err_t *err) {
    memset(resp, 0, sizeof(*resp));
    CURL *h = handle_get(c);
    if (!h) return byron_err_set(err, BYRON_ENOMEM, "curl_easy_init failed");
    struct curl_slist *hdrs = prepare(c, h, path, content_type, 1);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    byron_buf_t b = {.max = MAX_BODY};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->code);
    curl_slist_free_all(hdrs);
    handle_put(c, h);
    count(c, method, rc == CURLE_OK ? resp->code : 0);
    if (rc != CURLE_OK) {
        free(b.buf);
        return byron_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? BYRON_ETIMEDOUT : BYRON_EUNAVAILABLE,
                             "%s %s: %s", method, path, curl_easy_strerror(rc));
    }
    resp->body = b.buf ? b.buf : strdup("");
    resp->len = b.len;
    return BYRON_OK;
}

struct Curl_easy *byron_kube_client_connect(byron_kube_client_t *c, const char *path, char *headers,
                                            size_t cap, byron_err_t *err) {
    CURL *h = curl_easy_init();
    if (!h) {
        byron_err_set(err, BYRON_ENOMEM, "curl_easy_init failed");
        return NULL;
    }
    size_t ul = strlen(c->cfg->server) + strlen(path) + 1;
    char *url = malloc(ul);
    if (!url) {
        curl_easy_cleanup(h);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(url, ul, "%s%s", c->cfg->server, path);
    setup_common(c, h, url, 0);
    free(url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    CURLcode rc = curl_easy_perform(h);
    count(c, "CONNECT", rc == CURLE_OK ? 101 : 0);
    if (rc != CURLE_OK) {
        curl_easy_cleanup(h);
        byron_err_set(err, BYRON_EUNAVAILABLE, "%s: %s", c->cfg->server, curl_easy_strerror(rc));
        return NULL;
    }
    /* Host as curl would send it: the server URL's authority. */
    const char *auth = strstr(c->cfg->server, "://");
    auth = auth ? auth + 3 : c->cfg->server;
    size_t al = strcspn(auth, "/");
    char bearer[8192];
    auth_header(c, bearer, sizeof bearer);
    snprintf(headers, cap, "Host: %.*s\r\nUser-Agent: %s\r\n%s%s", (int)al, auth, c->user_agent, bearer,
             bearer[0] ? "\r\n" : "");
    return h;
}

byron_status_t byron_kube_status_error(long code, const char *method, const char *path, const char *body,
                                       byron_err_t *err) {
    byron_status_t st;
    if (code == 400 || code == 422)
        st = BYRON_EINVAL;
    else if (code == 401 || code == 403)
        st = BYRON_EREJECTED;
    else if (code == 404)
        st = BYRON_ENOTFOUND;
    else if (code == 409)
        st = BYRON_ECONFLICT;
    else if (code == 410)
        st = BYRON_ESTATE;
    else if (code == 429 || code >= 500)
        st = BYRON_EUNAVAILABLE;
    else
        st = BYRON_EPROTO;
    json_object *o = NULL;
    const char *reason = "", *msg = "";
    if (body && *body && byron_json_parse(body, strlen(body), 0, &o, NULL) == BYRON_OK &&
        json_object_is_type(o, json_type_object)) {
        byron_json_get_string(o, "", "reason", BYRON_JSON_OPTIONAL, &reason, NULL);
        byron_json_get_string(o, "", "message", BYRON_JSON_OPTIONAL, &msg, NULL);
    }
    /* Drop the query string: fieldManager & co. are noise in a condition. */
    const char *q = strchr(path, '?');
    int pl = q ? (int)(q - path) : (int)strlen(path);
    byron_err_set(err, st, "%s %.*s: %ld %s%s%s", method, pl, path, code, reason, *msg ? ": " : "", msg);
    json_object_put(o);
    return st;
}

byron_status_t byron_kube_do(byron_kube_client_t *c, const char *method, const char *path,
                             const char *content_type, json_object *body, json_object **out,
                             byron_err_t *err) {
    if (out) *out = NULL;
    byron_kube_response_t r;
    const char *b =
        body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
             : NULL;
    byron_status_t st = byron_kube_request(c, method, path, content_type, b, &r, err);
    if (st) return st;
    if (r.code < 200 || r.code > 299) {
        st = byron_kube_status_error(r.code, method, path, r.body, err);
    } else if (out && r.len) {
        st = byron_json_parse(r.body, r.len, 128, out, err);
        if (st) byron_err_prefix(err, "%s %s: response", method, path);
    }
    byron_kube_response_cleanup(&r);
    return st;
}

byron_status_t byron_kube_apply(byron_kube_client_t *c, const char *path, json_object *obj, json_object **out,
                                byron_err_t *err) {
    char full[1024];
    snprintf(full, sizeof(full), "%s?fieldManager=" BYRON_KUBE_FIELD_MANAGER "&force=true", path);
    return byron_kube_do(c, "PATCH", full, "application/apply-patch+yaml", obj, out, err);
}

/* --- streaming ------------------------------------------------------------ */
typedef struct {
    byron_buf_t b;
    byron_kube_line_fn fn;
    void *ud;
    const atomic_int *stop;
    int aborted;
    CURL *h;
    long code;
} stream_t;

static size_t on_stream(char *p, size_t sz, size_t n, void *ud) {
    stream_t *s = ud;
    size_t add = sz * n;
    if (!s->code) curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->code);
    if (byron_buf_curl_write(p, sz, n, &s->b) != add) return 0;
    if (s->code < 200 || s->code > 299) return add; /* error body: kept whole */
    size_t start = 0;
    for (size_t i = s->b.len - add; i < s->b.len; i++) {
        if (s->b.buf[i] != '\n') continue;
        s->b.buf[i] = '\0';
        if (i > start && s->fn(s->ud, s->b.buf + start, i - start)) {
            s->aborted = 1;
            return 0;
        }
        start = i + 1;
    }
    if (start) {
        memmove(s->b.buf, s->b.buf + start, s->b.len - start);
        s->b.len -= start;
        s->b.buf[s->b.len] = '\0';
    }
    return add;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    stream_t *s = ud;
    return s->stop && atomic_load(s->stop) ? 1 : 0;
}

byron_status_t byron_kube_stream(byron_kube_client_t *c, const char *path, long timeout_s,
                                 byron_kube_line_fn line_fn, void *ud, const atomic_int *stop,
                                 long *http_code, byron_err_t *err) {
    *http_code = 0;
    /* Own handle, not pooled: a watch holds its connection for minutes. */
    CURL *h = curl_easy_init();
    if (!h) return byron_err_set(err, BYRON_ENOMEM, "curl_easy_init failed");
    struct curl_slist *hdrs = prepare(c, h, path, NULL, 0);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    stream_t s = {.b = {.max = MAX_LINE}, .fn = line_fn, .ud = ud, .stop = stop, .h = h};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http_code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    count(c, "WATCH", rc == CURLE_OK || s.aborted ? *http_code : 0);
    byron_status_t st = BYRON_OK;
    if (stop && atomic_load(stop))
        st = byron_err_set(err, BYRON_ESTATE, "stopped");
    else if (s.aborted)
        st = byron_err_set(err, BYRON_EPROTO, "watch %s: aborted by handler", path);
    else if (*http_code && (*http_code < 200 || *http_code > 299))
        st = byron_kube_status_error(*http_code, "GET", path, s.b.buf, err);
    else if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT)
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "watch %s: %s", path, curl_easy_strerror(rc));
    free(s.b.buf);
    return st;
}

void byron_kube_urlencode(const char *s, char *buf, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s && k + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~') {
            buf[k++] = (char)ch;
        } else {
            buf[k++] = '%';
            buf[k++] = hex[ch >> 4];
            buf[k++] = hex[ch & 15];
        }
    }
    buf[k] = '\0';
}

void byron_kube_time_now(char *buf, size_t n, int micro) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(buf, n, "%s.%06ldZ", base, ts.tv_nsec / 1000);
    else
        snprintf(buf, n, "%sZ", base);
}
