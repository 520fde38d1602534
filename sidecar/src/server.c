/* server.c — HTTP on libwebsockets: quick routes inline, blocking ones on the pool.
 *
 * Life of a POST /v1/commands/<name>:
 *   service thread: headers → body (bounded) → job → byron_workpool_submit
 *                   (queue full: 503 at once)
 *   worker:         parse, byron_commands_run, render the answer into the job,
 *                   append it to the done list, lws_cancel_service
 *   service thread: EVENT_WAIT_CANCELLED → move each done answer to its
 *                   session → WRITEABLE → write.
 * A job whose client went away is orphaned (job->wsi = NULL) and freed when it
 * comes back; only the service thread touches sessions and wsi pointers. */
#include "server.h"

#include "byron/httpd.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache_wait.h"

#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { JOB_COMMAND, JOB_CACHE_GET, JOB_CACHE_QUERY, JOB_MOUNT } job_kind_t;

#define MAX_MOUNTS 8

typedef struct job {
    byron_server_t *srv;
    struct lws *wsi; /* service thread only; NULL: orphaned */
    job_kind_t kind;
    char arg1[160], arg2[160]; /* command | model, id */
    char traceparent[64];
    char idem[160];
    char consistency[16]; /* Byron-Consistency header: "projected" waits for the sink */
    char *body;
    size_t len;
    const byron_server_mount_t *mount; /* JOB_MOUNT */
    char method[8], path[300], query[2048], ctype[128], accept[256];
    /* The answer, filled by the worker. */
    int status;
    char *resp;
    size_t resp_len;
    char resp_ctype[128], allow[64];
    struct job *next;
} job_t;

typedef struct {
    char method[8];
    char path[300];
    char query[2048];
    char ctype[128], accept[256];
    int query_too_long;
    char traceparent[64];
    char idem[160];
    char consistency[16];
    char *body;
    size_t len;
    int too_large;
    job_t *job;
    /* The pending answer. */
    int status;
    char resp_ctype[128], allow[64];
    char *resp;
    size_t resp_len;
    int has_resp;
} session_t;

struct byron_server {
    byron_sidecar_t *sc;
    struct lws_context *ctx;
    struct lws_protocols protocols[3];
    char *unix_path;
    int port;
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int inflight;
    pthread_mutex_t lock; /* guards done */
    job_t *done;
    byron_server_mount_t mounts[MAX_MOUNTS];
    size_t nmounts;
};

static void job_free(job_t *j) {
    if (!j) return;
    free(j->body);
    free(j->resp);
    free(j);
}

static char *error_body(const char *code, const char *msg, const char *app_code) {
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    if (app_code && *app_code) json_object_object_add(e, "appCode", json_object_new_string(app_code));
    json_object_object_add(o, "error", e);
    char *s = strdup(byron_json_compact(o));
    json_object_put(o);
    return s;
}

static void set_json(job_t *j, int status, json_object *o) {
    j->status = status;
    j->resp = strdup(byron_json_compact(o));
    json_object_put(o);
}

static void set_error(job_t *j, int status, const char *code, const char *msg) {
    j->status = status;
    j->resp = error_body(code, msg, NULL);
}

static const char *cache_code(byron_status_t st, int *http) {
    switch (st) {
    case BYRON_EINVAL: *http = 400; return BYRON_CODE_BAD_USER_INPUT;
    case BYRON_ENOTFOUND: *http = 404; return BYRON_CODE_NOT_FOUND;
    case BYRON_EUNAVAILABLE: *http = 503; return BYRON_CODE_UNAVAILABLE;
    default: *http = 500; return BYRON_CODE_INTERNAL;
    }
}

/* POST /v1/commands/<name>  {"id"?, "input"?, "idempotencyKey"?} */
static void run_command(job_t *j, byron_sidecar_t *sc) {
    json_object *body = NULL;
    byron_err_t err = {0};
    if (byron_json_parse(j->body ? j->body : "{}", j->body ? j->len : 2, 64, &body, &err) != BYRON_OK) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, err.msg);
        return;
    }
    const char *id = NULL, *key = NULL, *consistency = j->consistency[0] ? j->consistency : NULL;
    json_object *input = NULL;
    static const char *const KEYS[] = {"id", "input", "idempotencyKey", "consistency"};
    if (!json_object_is_type(body, json_type_object)) {
        byron_err_set(&err, BYRON_EINVAL, "body: must be a JSON object");
    } else {
        json_object_object_foreach(body, k, v) {
            (void)v;
            int ok = 0;
            for (size_t i = 0; i < 4; i++) ok |= strcmp(KEYS[i], k) == 0;
            if (!ok && !err.msg[0]) byron_err_set(&err, BYRON_EINVAL, "body.%.64s: unknown field", k);
        }
        /* Each getter leaves its message in err on failure; checked below. */
        if (!err.msg[0] &&
            byron_json_get_string(body, "body", "id", BYRON_JSON_OPTIONAL, &id, &err) == BYRON_OK &&
            byron_json_get_object(body, "body", "input", BYRON_JSON_OPTIONAL, &input, &err) == BYRON_OK &&
            byron_json_get_string(body, "body", "idempotencyKey", BYRON_JSON_OPTIONAL, &key, &err) ==
                BYRON_OK)
            byron_json_get_string(body, "body", "consistency", BYRON_JSON_OPTIONAL, &consistency, &err);
        if (!err.msg[0] && consistency && strcmp(consistency, "durable") != 0 &&
            strcmp(consistency, "projected") != 0)
            byron_err_set(&err, BYRON_EINVAL, "consistency: \"%.32s\" is not durable or projected",
                          consistency);
    }
    if (err.msg[0]) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, err.msg);
        json_object_put(body);
        return;
    }
    byron_command_request_t req = {.command = j->arg1,
                                   .id = id,
                                   .input = input,
                                   .idempotency_key = key,
                                   .traceparent = j->traceparent[0] ? j->traceparent : NULL};
    byron_command_result_t res;
    if (byron_commands_run(sc->commands, &req, &res, &err) == BYRON_OK) {
        json_object *out = byron_command_result_to_json(&res);
        if (consistency && strcmp(consistency, "projected") == 0) /* read-your-writes (cache_wait.h) */
            byron_cache_wait_command(sc->cache, sc->component, j->arg1, &res, out);
        set_json(j, 200, out);
    } else {
        j->status = byron_command_http_status(res.code);
        j->resp = error_body(res.code, err.msg, res.app_code);
    }
    byron_command_result_cleanup(&res);
    json_object_put(body);
}

/* POST /v1/cache/<Model>/query  {"filter"?, "orderBy"?, "descending"?, "first"?, "after"?} */
static void run_query(job_t *j, byron_sidecar_t *sc) {
    json_object *body = NULL;
    byron_err_t err = {0};
    byron_cache_query_t q = {.model = j->arg1};
    int64_t first = 0;
    int desc = 0;
    if (byron_json_parse(j->body ? j->body : "{}", j->body ? j->len : 2, 64, &body, &err) != BYRON_OK ||
        byron_json_get_object(body, "body", "filter", BYRON_JSON_OPTIONAL, &q.filter, &err) ||
        byron_json_get_string(body, "body", "orderBy", BYRON_JSON_OPTIONAL, &q.order_by, &err) ||
        byron_json_get_bool(body, "body", "descending", BYRON_JSON_OPTIONAL, &desc, &err) ||
        byron_json_get_int(body, "body", "first", BYRON_JSON_OPTIONAL, 1, BYRON_CACHE_MAX_LIMIT, &first,
                           &err) ||
        byron_json_get_string(body, "body", "after", BYRON_JSON_OPTIONAL, &q.after, &err)) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, err.msg);
        json_object_put(body);
        return;
    }
    q.limit = (int)first;
    q.descending = desc;
    byron_cache_page_t page;
    byron_status_t st = byron_cache_list(sc->cache, &q, &page, &err);
    if (st == BYRON_OK) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "items", json_object_get(page.items));
        json_object_object_add(o, "endCursor", byron_json_str(page.end_cursor));
        json_object_object_add(o, "hasNextPage", json_object_new_boolean(page.has_next));
        set_json(j, 200, o);
        byron_cache_page_cleanup(&page);
    } else {
        int http;
        const char *code = cache_code(st, &http);
        set_error(j, http, code, err.msg);
    }
    json_object_put(body);
}

static void run_job(void *arg) {
    job_t *j = arg;
    byron_server_t *srv = j->srv;
    byron_sidecar_t *sc = srv->sc;
    if (j->kind == JOB_COMMAND) {
        run_command(j, sc);
    } else if (j->kind == JOB_CACHE_GET) {
        json_object *o = NULL;
        byron_err_t err = {0};
        byron_status_t st = byron_cache_get(sc->cache, j->arg1, j->arg2, &o, &err);
        if (st == BYRON_OK)
            set_json(j, 200, o);
        else {
            int http;
            const char *code = cache_code(st, &http);
            set_error(j, http, code, err.msg);
        }
    } else if (j->kind == JOB_MOUNT) {
        byron_server_request_t req = {.method = j->method,
                                      .path = j->path,
                                      .query = j->query,
                                      .content_type = j->ctype,
                                      .accept = j->accept,
                                      .traceparent = j->traceparent,
                                      .idempotency_key = j->idem,
                                      .consistency = j->consistency,
                                      .body = j->body,
                                      .len = j->len};
        byron_server_reply_t rep = {.status = 500};
        j->mount->fn(j->mount->ud, &req, &rep);
        j->status = rep.status;
        j->resp = rep.body;
        j->resp_len = rep.body ? rep.len : 0;
        snprintf(j->resp_ctype, sizeof j->resp_ctype, "%s",
                 rep.content_type[0] ? rep.content_type : "application/json");
        snprintf(j->allow, sizeof j->allow, "%s", rep.allow);
        if (!j->resp) j->resp = strdup("");
    } else {
        run_query(j, sc);
    }
    if (!j->resp) set_error(j, 500, BYRON_CODE_INTERNAL, "out of memory");
    if (j->kind != JOB_MOUNT) {
        j->resp_len = strlen(j->resp);
        snprintf(j->resp_ctype, sizeof j->resp_ctype, "application/json");
    }
    pthread_mutex_lock(&srv->lock);
    j->next = srv->done;
    srv->done = j;
    pthread_mutex_unlock(&srv->lock);
    lws_cancel_service(srv->ctx);
}

static void respond_len(struct lws *wsi, session_t *s, int status, const char *ctype, char *body, size_t len,
                        const char *allow) {
    free(s->resp);
    s->status = status;
    snprintf(s->resp_ctype, sizeof s->resp_ctype, "%s", ctype);
    snprintf(s->allow, sizeof s->allow, "%s", allow ? allow : "");
    s->resp = body;
    s->resp_len = body ? len : 0;
    s->has_resp = 1;
    lws_callback_on_writable(wsi);
}

static void respond(struct lws *wsi, session_t *s, int status, const char *ctype, char *body) {
    respond_len(wsi, s, status, ctype, body, body ? strlen(body) : 0, NULL);
}

static void respond_error(struct lws *wsi, session_t *s, int status, const char *code, const char *msg) {
    respond(wsi, s, status, "application/json", error_body(code, msg, NULL));
}

/* Split "/v1/<a>/<b>/<c>" after prefix into up to two segments; returns how many. */
static int segments(const char *path, const char *prefix, char *a, size_t na, char *b, size_t nb) {
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0) return -1;
    const char *p = path + n, *slash = strchr(p, '/');
    size_t la = slash ? (size_t)(slash - p) : strlen(p);
    if (la == 0 || la >= na) return 0;
    memcpy(a, p, la);
    a[la] = '\0';
    if (!slash) return 1;
    size_t lb = strlen(slash + 1);
    if (lb == 0 || lb >= nb) return 1;
    memcpy(b, slash + 1, lb + 1);
    return strchr(b, '/') ? 3 : 2;
}

/* A job for the pool, or an immediate error answer. */
static void dispatch(struct lws *wsi, session_t *s, byron_server_t *srv, job_kind_t kind, const char *a1,
                     const char *a2) {
    byron_sidecar_t *sc = srv->sc;
    if (atomic_load(&sc->draining)) {
        respond_error(wsi, s, 503, BYRON_CODE_UNAVAILABLE, "shutting down");
        return;
    }
    if (kind == JOB_COMMAND && !sc->commands) {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "commands are served by the api sidecar");
        return;
    }
    if ((kind == JOB_CACHE_GET || kind == JOB_CACHE_QUERY) && !sc->cache) {
        respond_error(wsi, s, 503, BYRON_CODE_UNAVAILABLE, "no cache configured");
        return;
    }
    job_t *j = calloc(1, sizeof *j);
    if (!j) {
        respond_error(wsi, s, 500, BYRON_CODE_INTERNAL, "out of memory");
        return;
    }
    j->srv = srv;
    j->wsi = wsi;
    j->kind = kind;
    snprintf(j->arg1, sizeof j->arg1, "%s", a1);
    snprintf(j->arg2, sizeof j->arg2, "%s", a2 ? a2 : "");
    snprintf(j->traceparent, sizeof j->traceparent, "%s", s->traceparent);
    snprintf(j->idem, sizeof j->idem, "%s", s->idem);
    snprintf(j->consistency, sizeof j->consistency, "%s", s->consistency);
    if (kind == JOB_MOUNT) {
        for (size_t i = 0; i < srv->nmounts; i++)
            if (strcmp(srv->mounts[i].path, s->path) == 0) j->mount = &srv->mounts[i];
        snprintf(j->method, sizeof j->method, "%s", s->method);
        snprintf(j->path, sizeof j->path, "%s", s->path);
        snprintf(j->query, sizeof j->query, "%s", s->query);
        snprintf(j->ctype, sizeof j->ctype, "%s", s->ctype);
        snprintf(j->accept, sizeof j->accept, "%s", s->accept);
    }
    j->body = s->body;
    j->len = s->len;
    s->body = NULL;
    s->len = 0;
    byron_status_t st = byron_workpool_submit(sc->pool, run_job, j);
    if (st != BYRON_OK) {
        job_free(j);
        respond_error(wsi, s, 503, BYRON_CODE_UNAVAILABLE,
                      st == BYRON_ELIMIT ? "too many requests in flight, retry later" : "shutting down");
        return;
    }
    s->job = j;
    atomic_fetch_add(&srv->inflight, 1);
}

static int is_mounted(byron_server_t *srv, const char *path) {
    for (size_t i = 0; i < srv->nmounts; i++)
        if (strcmp(srv->mounts[i].path, path) == 0) return 1;
    return 0;
}

static void handle_get(struct lws *wsi, session_t *s, byron_server_t *srv) {
    byron_sidecar_t *sc = srv->sc;
    char a[160], b[160];
    if (is_mounted(srv, s->path)) {
        if (s->query_too_long)
            respond_error(wsi, s, 414, BYRON_CODE_BAD_USER_INPUT, "query string too long");
        else
            dispatch(wsi, s, srv, JOB_MOUNT, "", NULL);
    } else if (strcmp(s->path, "/healthz") == 0) {
        respond(wsi, s, 200, "application/json", strdup("{\"status\":\"ok\"}"));
    } else if (strcmp(s->path, "/readyz") == 0 || strcmp(s->path, "/v1/health") == 0) {
        int ready = 0;
        json_object *o = byron_sidecar_readiness(sc, &ready);
        respond(wsi, s, ready ? 200 : 503, "application/json", strdup(byron_json_compact(o)));
        json_object_put(o);
    } else if (strcmp(s->path, "/metrics") == 0) {
        size_t len = 0;
        respond(wsi, s, 200, "text/plain; version=0.0.4; charset=utf-8",
                byron_metrics_render(sc->metrics, &len));
    } else if (strcmp(s->path, "/v1/meta") == 0) {
        json_object *o = byron_component_to_json(sc->component);
        json_object_object_add(o, "mode", json_object_new_string(sc->mode));
        json_object_object_add(o, "version", json_object_new_string(BYRON_VERSION));
        json_object_object_add(o, "app", json_object_new_boolean(sc->app != NULL));
        respond(wsi, s, 200, "application/json", strdup(byron_json_compact(o)));
        json_object_put(o);
    } else if (segments(s->path, "/v1/cache/", a, sizeof a, b, sizeof b) == 2) {
        dispatch(wsi, s, srv, JOB_CACHE_GET, a, b);
    } else {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "no such endpoint");
    }
}

static void handle_post(struct lws *wsi, session_t *s, byron_server_t *srv) {
    char a[160], b[160];
    if (s->too_large) {
        respond_error(wsi, s, 413, BYRON_CODE_BAD_USER_INPUT, "request body larger than 1 MiB");
    } else if (is_mounted(srv, s->path)) {
        dispatch(wsi, s, srv, JOB_MOUNT, "", NULL);
    } else if (segments(s->path, "/v1/commands/", a, sizeof a, b, sizeof b) == 1) {
        dispatch(wsi, s, srv, JOB_COMMAND, a, NULL);
    } else if (segments(s->path, "/v1/cache/", a, sizeof a, b, sizeof b) == 2 && strcmp(b, "query") == 0) {
        dispatch(wsi, s, srv, JOB_CACHE_QUERY, a, NULL);
    } else {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "no such endpoint");
    }
}

/* Answers that came back from the pool. */
static void collect_done(byron_server_t *srv) {
    pthread_mutex_lock(&srv->lock);
    job_t *j = srv->done;
    srv->done = NULL;
    pthread_mutex_unlock(&srv->lock);
    while (j) {
        job_t *next = j->next;
        if (j->wsi) {
            session_t *s = lws_wsi_user(j->wsi);
            s->job = NULL;
            respond_len(j->wsi, s, j->status, j->resp_ctype, j->resp, j->resp_len, j->allow);
            j->resp = NULL;
        }
        atomic_fetch_sub(&srv->inflight, 1);
        job_free(j);
        j = next;
    }
}

/* lws splits and URL-decodes the query into fragments ("name=value"); encode
 * them again so a handler sees the query string as the client sent it (a
 * decoded '&' or '=' inside a value would otherwise change its meaning). */
static int query_string(struct lws *wsi, char *out, size_t cap) {
    static const char HEX[] = "0123456789ABCDEF";
    size_t n = 0;
    char frag[2048];
    out[0] = '\0';
    for (int i = 0;; i++) {
        int len = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (len < 0) break;
        if (i > 0) {
            if (n + 1 >= cap) return -1;
            out[n++] = '&';
        }
        int seen_eq = 0;
        for (int k = 0; k < len; k++) {
            unsigned char ch = (unsigned char)frag[k];
            int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '-' || ch == '_' || ch == '.' || ch == '~';
            if (ch == '=' && !seen_eq) {
                seen_eq = 1;
                plain = 1;
            }
            if (n + (plain ? 1 : 3) >= cap) return -1;
            if (plain)
                out[n++] = (char)ch;
            else {
                out[n++] = '%';
                out[n++] = HEX[ch >> 4];
                out[n++] = HEX[ch & 15];
            }
        }
        out[n] = '\0';
    }
    return 0;
}

static void session_reset(session_t *s) {
    free(s->body);
    free(s->resp);
    s->body = s->resp = NULL;
    s->len = s->resp_len = 0;
    s->too_large = s->has_resp = 0;
    if (s->job) s->job->wsi = NULL; /* orphan: freed when it comes back */
    s->job = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    session_t *s = user;
    struct lws_context *ctx = lws_get_context(wsi);
    byron_server_t *srv = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv) collect_done(srv);
        return 0;
    case LWS_CALLBACK_HTTP: {
        session_reset(s);
        snprintf(s->path, sizeof s->path, "%s", (const char *)in);
        s->traceparent[0] = s->ctype[0] = s->accept[0] = s->idem[0] = s->consistency[0] = '\0';
        if (lws_hdr_custom_length(wsi, "byron-consistency:", 18) > 0 &&
            lws_hdr_custom_copy(wsi, s->consistency, sizeof s->consistency, "byron-consistency:", 18) < 0)
            s->consistency[0] = '\0';
        if (lws_hdr_custom_length(wsi, "traceparent:", 12) > 0)
            lws_hdr_custom_copy(wsi, s->traceparent, sizeof s->traceparent, "traceparent:", 12);
        if (lws_hdr_custom_length(wsi, "idempotency-key:", 16) > 0 &&
            lws_hdr_custom_copy(wsi, s->idem, sizeof s->idem, "idempotency-key:", 16) < 0)
            s->idem[0] = '\0';
        if (lws_hdr_copy(wsi, s->ctype, sizeof s->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) < 0) s->ctype[0] = '\0';
        if (lws_hdr_copy(wsi, s->accept, sizeof s->accept, WSI_TOKEN_HTTP_ACCEPT) < 0) s->accept[0] = '\0';
        s->query_too_long = query_string(wsi, s->query, sizeof s->query) < 0;
        if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
            snprintf(s->method, sizeof s->method, "POST");
            char cl[32] = "";
            if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                if (strtoull(cl, NULL, 10) > BYRON_SERVER_MAX_BODY) s->too_large = 1;
                return 0; /* wait for the body */
            }
            handle_post(wsi, s, srv);
            return 0;
        }
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) {
            snprintf(s->method, sizeof s->method, "GET");
            handle_get(wsi, s, srv);
            return 0;
        }
        respond_error(wsi, s, 405, BYRON_CODE_BAD_USER_INPUT, "method not allowed");
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (s->too_large || s->len + len > BYRON_SERVER_MAX_BODY) {
            s->too_large = 1;
            return 0;
        }
        {
            char *nb = realloc(s->body, s->len + len + 1);
            if (!nb) return -1;
            if (len) memcpy(nb + s->len, in, len); /* an empty body arrives as (NULL, 0) */
            s->body = nb;
            s->len += len;
            s->body[s->len] = '\0';
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: handle_post(wsi, s, srv); return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!s->has_resp) return 0; /* still waiting for the pool */
        unsigned char hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof hdr - 1];
        if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->resp_ctype, s->resp_len, &p, end))
            return -1;
        if (s->allow[0] && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (unsigned char *)s->allow,
                                                        (int)strlen(s->allow), &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
        unsigned char *wire = malloc(LWS_PRE + s->resp_len + 1);
        if (!wire) return -1;
        memcpy(wire + LWS_PRE, s->resp ? s->resp : "", s->resp_len);
        int n = lws_write(wsi, wire + LWS_PRE, s->resp_len, LWS_WRITE_HTTP_FINAL);
        free(wire);
        size_t want = s->resp_len;
        session_reset(s);
        if (n < (int)want) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    /* A WebSocket upgrade that offered no subprotocol lands on this (the
     * default) protocol: close it the way graphql-transport-ws servers do. */
    case LWS_CALLBACK_ESTABLISHED: lws_callback_on_writable(wsi); return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        static const char why[] = "Subprotocol not acceptable";
        lws_close_reason(wsi, 4406, (unsigned char *)why, sizeof why - 1);
        return -1;
    }
    case LWS_CALLBACK_RECEIVE: return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s) session_reset(s);
        break;
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void *service_thread(void *arg) {
    byron_server_t *srv = arg;
    while (!atomic_load(&srv->stop))
        if (lws_service(srv->ctx, 0) < 0) break;
    return NULL;
}

byron_server_t *byron_server_new(byron_sidecar_t *sc, const byron_server_options_t *o, byron_err_t *err) {
    byron_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    srv->sc = sc;
    pthread_mutex_init(&srv->lock, NULL);
    for (size_t i = 0; i < o->nmounts && i < MAX_MOUNTS; i++) srv->mounts[srv->nmounts++] = o->mounts[i];
    lws_set_log_level(LLL_ERR, NULL);
    srv->protocols[0] = (struct lws_protocols){
        .name = "http", .callback = callback, .per_session_data_size = sizeof(session_t)};
    if (o->ws_protocol) srv->protocols[1] = *o->ws_protocol;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = srv->protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (!(srv->ctx = lws_create_context(&info))) {
        byron_err_set(err, BYRON_EIO, "cannot create the HTTP context");
        goto err;
    }
    info.port = o->port;
    info.iface = o->bind_addr;
    info.vhost_name = "tcp";
    struct lws_vhost *vh = lws_create_vhost(srv->ctx, &info);
    if (!vh) {
        byron_err_set(err, BYRON_EIO, "cannot listen on %s:%d", o->bind_addr ? o->bind_addr : "*", o->port);
        goto err;
    }
    srv->port = lws_get_vhost_listen_port(vh);
    if (o->unix_path) {
        unlink(o->unix_path); /* a stale socket from a previous run */
        if (!(srv->unix_path = strdup(o->unix_path))) goto err;
        info.port = 0;
        info.iface = o->unix_path;
        info.vhost_name = "unix";
        info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
        if (!lws_create_vhost(srv->ctx, &info)) {
            byron_err_set(err, BYRON_EIO, "cannot listen on the Unix socket %s", o->unix_path);
            goto err;
        }
    }
    if (pthread_create(&srv->thread, NULL, service_thread, srv) != 0) {
        byron_err_set(err, BYRON_EIO, "cannot start the HTTP thread");
        goto err;
    }
    srv->started = 1;
    return srv;
err:
    byron_server_free(srv);
    return NULL;
}

int byron_server_port(const byron_server_t *s) { return s->port; }
int byron_server_inflight(byron_server_t *s) { return atomic_load(&s->inflight); }

void byron_server_free(byron_server_t *srv) {
    if (!srv) return;
    if (srv->started) {
        atomic_store(&srv->stop, 1);
        lws_cancel_service(srv->ctx);
        pthread_join(srv->thread, NULL);
    }
    if (srv->ctx) lws_context_destroy(srv->ctx);
    /* Jobs that finished after the loop stopped. */
    for (job_t *j = srv->done, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    if (srv->unix_path) unlink(srv->unix_path);
    free(srv->unix_path);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
