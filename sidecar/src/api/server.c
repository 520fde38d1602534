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

#include "auth.h"
#include "byron/httpd.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache_wait.h"
#include "command_relay.h"
#include "guard.h"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { JOB_COMMAND, JOB_CACHE_GET, JOB_CACHE_QUERY, JOB_MOUNT } job_kind_t;

#define MAX_MOUNTS 8
#define MAX_AUTHORIZATION (BYRON_TOKEN_MAX_BYTES + 32)

/* Which listener a request came in on decides what it may reach (server.h). */
typedef enum { L_PUBLIC, L_UNIX, L_ADMIN } listener_t;

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
    size_t held;                       /* bytes of the in-flight budget this job holds */
    listener_t listener;               /* L_UNIX: the app */
    char *authorization;               /* Authorization header (public listener), NULL: none */
    const byron_server_mount_t *mount; /* JOB_MOUNT */
    char method[8], path[300], query[2048], ctype[128], accept[256];
    /* The answer, filled by the worker. */
    int status;
    char *resp;
    size_t resp_len;
    char resp_ctype[128], allow[64], challenge[256];
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
    int over_budget; /* the in-flight budget was spent: the body is discarded, 503 */
    size_t held;     /* budget bytes reserved for this body */
    listener_t listener;
    char *authorization;
    char origin[256]; /* Origin header, "" if none */
    /* A refusal decided at the headers of a POST, answered once its body is
     * read (answering before leaves the body on the wire). 0: none. */
    int deny_status;
    const char *deny_code, *deny_msg;
    char cors_origin[256]; /* Access-Control-Allow-Origin for the answer, "" for none */
    job_t *job;
    /* The pending answer. */
    int status;
    char resp_ctype[128], allow[64], challenge[256];
    char *resp;
    size_t resp_len;
    int has_resp;
} session_t;

struct byron_server {
    byron_sidecar_t *sc;
    struct lws_context *ctx;
    struct lws_protocols protocols[3];
    struct lws_protocols admin_protocols[2]; /* lws keeps the pointer: must live as long as the server */
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
    struct lws_vhost *vh_public, *vh_unix, *vh_admin;
    int admin_port; /* -1: none */
    int rest_tcp;
    size_t max_inflight;
    atomic_size_t inflight_bytes; /* request bodies held (service thread reserves, anyone releases) */
    /* Connections per client address on the public port (service thread only):
     * an open-addressing table of address hashes; a connection's slot + 1 rides
     * on its wsi (opaque user data) from accept to destroy. */
    unsigned max_conns_per_client;
    struct peer_slot {
        uint64_t key; /* 0: free */
        unsigned count;
    } * peers;
    size_t npeers;
    int *fd_slot; /* accepted fd → slot + 1, until its wsi is created */
    size_t nfd;
    byron_metric_t *m_refused; /* {reason}: requests refused before any work */
};

static void budget_release(byron_server_t *srv, size_t *held) {
    if (*held) atomic_fetch_sub(&srv->inflight_bytes, *held);
    *held = 0;
}

/* Reserve n more bytes for a body; 0 when the budget cannot take them. */
static int budget_reserve(byron_server_t *srv, size_t *held, size_t n) {
    size_t before = atomic_fetch_add(&srv->inflight_bytes, n);
    if (before + n > srv->max_inflight) {
        atomic_fetch_sub(&srv->inflight_bytes, n);
        return 0;
    }
    *held += n;
    return 1;
}

static void count_refused(byron_server_t *srv, const char *reason);

/* ------------------------------------------------------------------ connections per client */

static uint64_t addr_key(const struct sockaddr_storage *a) {
    const unsigned char *p = NULL;
    size_t n = 0;
    if (a->ss_family == AF_INET) {
        p = (const unsigned char *)&((const struct sockaddr_in *)a)->sin_addr;
        n = 4;
    } else if (a->ss_family == AF_INET6) {
        p = (const unsigned char *)&((const struct sockaddr_in6 *)a)->sin6_addr;
        n = 16;
    }
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* The slot of key (inserted when absent); -1 when the table is full. O(1) expected. */
static long peer_slot(byron_server_t *srv, uint64_t key) {
    size_t mask = srv->npeers - 1, i = key & mask;
    for (size_t probes = 0; probes < srv->npeers; probes++, i = (i + 1) & mask) {
        if (srv->peers[i].key == key) return (long)i;
        if (srv->peers[i].key == 0 || srv->peers[i].count == 0) {
            srv->peers[i].key = key;
            srv->peers[i].count = 0;
            return (long)i;
        }
    }
    return -1;
}

/* A new connection on a listener: 1 to refuse it. */
static int peer_accept(byron_server_t *srv, struct lws *wsi, const struct lws_filter_network_conn_args *a) {
    if (lws_get_vhost(wsi) != srv->vh_public || !srv->peers || !a) return 0;
    long slot = peer_slot(srv, addr_key(&a->cli_addr));
    if (slot < 0 || srv->peers[slot].count >= srv->max_conns_per_client) {
        count_refused(srv, "client_connections");
        return 1;
    }
    if (a->accept_fd < 0 || (size_t)a->accept_fd >= srv->nfd) return 0; /* not tracked: not counted */
    srv->peers[slot].count++;
    srv->fd_slot[a->accept_fd] = (int)slot + 1;
    return 0;
}

/* The connection's wsi exists: its slot moves from the fd table onto it. */
static void peer_bind(byron_server_t *srv, struct lws *wsi) {
    int fd = lws_get_socket_fd(wsi);
    if (fd < 0 || (size_t)fd >= srv->nfd || !srv->fd_slot[fd]) return;
    lws_set_opaque_user_data(wsi, (void *)(uintptr_t)srv->fd_slot[fd]);
    srv->fd_slot[fd] = 0;
}

static void peer_release(byron_server_t *srv, struct lws *wsi) {
    uintptr_t slot = (uintptr_t)lws_get_opaque_user_data(wsi);
    if (!slot || !srv->peers || slot > srv->npeers) return;
    if (srv->peers[slot - 1].count) srv->peers[slot - 1].count--;
    lws_set_opaque_user_data(wsi, NULL);
}

static void count_refused(byron_server_t *srv, const char *reason) {
    if (!srv->m_refused) return;
    const char *labels[] = {reason};
    byron_metric_add(srv->m_refused, labels, 1);
}

static void job_free(job_t *j) {
    if (!j) return;
    budget_release(j->srv, &j->held);
    free(j->body);
    free(j->resp);
    free(j->authorization);
    free(j);
}

static char *error_body(const char *code, const char *msg, const char *app_code) {
    json_object *o = byron_command_error_json(code, msg, app_code);
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

/* A policy refusal: 401 carries the bearer challenge. */
static void set_refusal(job_t *j, const byron_guard_refusal_t *r, const char *msg) {
    set_error(j, r->http, r->code, msg);
    if (r->http == 401) byron_auth_challenge(NULL, j->challenge, sizeof j->challenge);
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
static void run_command(job_t *j, byron_sidecar_t *sc, const byron_principal_t *who) {
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
    if (!sc->commands) { /* a sink: relayed to the api (command_relay.h) */
        if (!key) {
            set_error(
                j, 400, BYRON_CODE_BAD_USER_INPUT,
                "idempotencyKey: required from a sink's app — the causing event's id, so that a redelivered "
                "event does not run the command twice (docs/app-protocol.md)");
        } else {
            byron_command_relay_send(sc, j->arg1, body, j->traceparent, &j->status, &j->resp);
        }
        json_object_put(body);
        return;
    }
    byron_guard_refusal_t refusal;
    if (byron_guard_command(sc, who, j->arg1, id, input, &refusal, &err) != 0) {
        set_refusal(j, &refusal, err.msg);
        json_object_put(body);
        return;
    }
    char scoped[160];
    if (key && byron_guard_scope_key(who, key, scoped, sizeof scoped) != 0) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, "idempotencyKey: at most 110 characters");
        json_object_put(body);
        return;
    }
    byron_command_request_t req = {.command = j->arg1,
                                   .id = id,
                                   .input = input,
                                   .idempotency_key = key ? scoped : NULL,
                                   .traceparent = j->traceparent[0] ? j->traceparent : NULL,
                                   .principal = who};
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
static void run_query(job_t *j, byron_sidecar_t *sc, const byron_principal_t *who) {
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
    const byron_model_t *m = byron_component_model(sc->component, j->arg1);
    char op[200];
    byron_guard_op_name(j->arg1, "s", op, sizeof op);
    byron_guard_refusal_t refusal;
    byron_access_rows_t rows = {0};
    if (!m) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, "unknown model");
        json_object_put(body);
        return;
    }
    if (byron_guard_read(sc, who, op, &rows, &refusal, &err) != 0) {
        set_refusal(j, &refusal, err.msg);
        json_object_put(body);
        return;
    }
    if (byron_guard_filter(m, q.filter, &err) != BYRON_OK) {
        set_error(j, 400, BYRON_CODE_BAD_USER_INPUT, err.msg);
        byron_access_rows_cleanup(&rows);
        json_object_put(body);
        return;
    }
    byron_cache_page_t page;
    byron_status_t st = byron_cache_list(sc->cache, &q, &page, &err);
    if (st == BYRON_OK && !byron_access_rows_all(&rows)) {
        /* Row rules: the page keeps only the caller's rows (pages may come out
         * shorter than `first`; the cursor still moves past the whole page). */
        json_object *kept = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(page.items); i++) {
            json_object *o = json_object_array_get_idx(page.items, i);
            if (byron_access_rows_match(&rows, o)) json_object_array_add(kept, json_object_get(o));
        }
        json_object_put(page.items);
        page.items = kept;
    }
    byron_access_rows_cleanup(&rows);
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

/* The principal of a job: the app on the Unix socket, else from the bearer
 * token. -1 when the credentials are refused (the answer is set). */
static int authenticate(job_t *j, byron_sidecar_t *sc, byron_principal_t *who) {
    byron_principal_init(who);
    if (j->listener == L_UNIX) {
        who->kind = BYRON_PRINCIPAL_APP;
        return 0;
    }
    if (!j->authorization) return 0;
    byron_err_t err = {0};
    byron_status_t st = sc->auth ? byron_auth_header(sc->auth, j->authorization, who, &err)
                                 : byron_err_set(&err, BYRON_EINVAL, "this API accepts no tokens");
    if (st == BYRON_OK) return 0;
    if (st == BYRON_EUNAVAILABLE) {
        set_error(j, 503, BYRON_CODE_UNAVAILABLE, err.msg);
    } else {
        set_error(j, 401, BYRON_CODE_UNAUTHENTICATED, err.msg);
        byron_auth_challenge(err.msg, j->challenge, sizeof j->challenge);
    }
    return -1;
}

static void run_job(void *arg) {
    job_t *j = arg;
    byron_server_t *srv = j->srv;
    byron_sidecar_t *sc = srv->sc;
    byron_principal_t who;
    if (authenticate(j, sc, &who) != 0) {
        /* answered */
    } else if (j->kind == JOB_COMMAND) {
        run_command(j, sc, &who);
    } else if (j->kind == JOB_CACHE_GET) {
        json_object *o = NULL;
        byron_err_t err = {0};
        char op[200];
        byron_guard_op_name(j->arg1, "", op, sizeof op);
        byron_access_rows_t rows = {0};
        byron_guard_refusal_t refusal;
        byron_status_t st = BYRON_OK;
        if (byron_component_model(sc->component, j->arg1) &&
            byron_guard_read(sc, &who, op, &rows, &refusal, &err) != 0) {
            set_refusal(j, &refusal, err.msg);
            st = BYRON_EREJECTED;
        } else {
            st = byron_cache_get(sc->cache, j->arg1, j->arg2, &o, &err);
            if (st == BYRON_OK && !byron_access_rows_match(&rows, o)) { /* not yours: as if absent */
                json_object_put(o);
                st = byron_err_set(&err, BYRON_ENOTFOUND, "%s %s not found", j->arg1, j->arg2);
            }
        }
        byron_access_rows_cleanup(&rows);
        if (st == BYRON_EREJECTED) {
            /* answered */
        } else if (st == BYRON_OK)
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
                                      .len = j->len,
                                      .principal = &who};
        byron_server_reply_t rep = {.status = 500};
        j->mount->fn(j->mount->ud, &req, &rep);
        j->status = rep.status;
        j->resp = rep.body;
        j->resp_len = rep.body ? rep.len : 0;
        snprintf(j->resp_ctype, sizeof j->resp_ctype, "%s",
                 rep.content_type[0] ? rep.content_type : "application/json");
        snprintf(j->allow, sizeof j->allow, "%s", rep.allow);
        snprintf(j->challenge, sizeof j->challenge, "%s", rep.challenge);
        if (!j->resp) j->resp = strdup("");
    } else {
        run_query(j, sc, &who);
    }
    byron_principal_cleanup(&who);
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
    budget_release(lws_context_user(lws_get_context(wsi)), &s->held); /* the body is no longer needed */
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
    if (kind == JOB_COMMAND && !sc->commands && (!sc->sink || s->listener != L_UNIX)) {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND,
                      "commands are served by the api sidecar (and relayed from "
                      "a sink's app on its socket)");
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
    j->held = s->held;
    j->listener = s->listener;
    j->authorization = s->authorization;
    s->body = s->authorization = NULL;
    s->len = s->held = 0;
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

/* Probes and metrics: the admin listener (and the app's socket). */
static int handle_probe(struct lws *wsi, session_t *s, byron_server_t *srv) {
    byron_sidecar_t *sc = srv->sc;
    if (strcmp(s->path, "/healthz") == 0) {
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
    } else {
        return 0;
    }
    return 1;
}

/* REST (/v1/...) is the app's; on the public port only when enabled. */
static int rest_allowed(struct lws *wsi, session_t *s, byron_server_t *srv) {
    if (s->listener == L_UNIX || (s->listener == L_PUBLIC && srv->rest_tcp)) return 1;
    respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND,
                  "no such endpoint (REST is served on the app's Unix socket; see docs/security.md)");
    return 0;
}

static void handle_get(struct lws *wsi, session_t *s, byron_server_t *srv) {
    byron_sidecar_t *sc = srv->sc;
    char a[160], b[160];
    if (s->listener == L_ADMIN) {
        if (!handle_probe(wsi, s, srv)) respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "no such endpoint");
    } else if (is_mounted(srv, s->path)) {
        if (s->query_too_long)
            respond_error(wsi, s, 414, BYRON_CODE_BAD_USER_INPUT, "query string too long");
        else
            dispatch(wsi, s, srv, JOB_MOUNT, "", NULL);
    } else if (s->listener == L_UNIX && handle_probe(wsi, s, srv)) {
        /* answered */
    } else if (strcmp(s->path, "/v1/meta") == 0) {
        if (!rest_allowed(wsi, s, srv)) return;
        json_object *o = byron_component_to_json(sc->component);
        json_object_object_add(o, "mode", json_object_new_string(sc->mode));
        json_object_object_add(o, "version", json_object_new_string(BYRON_VERSION));
        json_object_object_add(o, "app", json_object_new_boolean(sc->app != NULL));
        respond(wsi, s, 200, "application/json", strdup(byron_json_compact(o)));
        json_object_put(o);
    } else if (segments(s->path, "/v1/cache/", a, sizeof a, b, sizeof b) == 2) {
        if (rest_allowed(wsi, s, srv)) dispatch(wsi, s, srv, JOB_CACHE_GET, a, b);
    } else {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "no such endpoint");
    }
}

/* application/json, with no parameter but an optional utf-8 charset. */
static int is_json_type(const char *ct) {
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0) return 0;
    const char *p = ct + n;
    while (*p == ' ') p++;
    if (!*p) return 1;
    if (*p++ != ';') return 0;
    while (*p == ' ') p++;
    return strncasecmp(p, "charset=utf-8", 13) == 0 && p[13] == '\0';
}

static void handle_post(struct lws *wsi, session_t *s, byron_server_t *srv) {
    char a[160], b[160];
    if (s->deny_status) {
        respond_error(wsi, s, s->deny_status, s->deny_code, s->deny_msg);
    } else if (s->over_budget) {
        count_refused(srv, "inflight_bytes");
        respond_error(wsi, s, 503, BYRON_CODE_UNAVAILABLE, "too many request bytes in flight, retry later");
    } else if (s->too_large) {
        respond_error(wsi, s, 413, BYRON_CODE_BAD_USER_INPUT, "request body larger than 1 MiB");
    } else if (s->listener == L_ADMIN) {
        respond_error(wsi, s, 404, BYRON_CODE_NOT_FOUND, "no such endpoint");
    } else if (is_mounted(srv, s->path)) {
        dispatch(wsi, s, srv, JOB_MOUNT, "", NULL);
    } else if (strncmp(s->path, "/v1/", 4) == 0 && !rest_allowed(wsi, s, srv)) {
        /* answered */
    } else if (strncmp(s->path, "/v1/", 4) == 0 && !is_json_type(s->ctype)) {
        /* Not a form or text/plain: a browser cannot send this cross-site without a preflight. */
        respond_error(wsi, s, 415, BYRON_CODE_BAD_USER_INPUT, "Content-Type must be application/json");
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
            snprintf(s->challenge, sizeof s->challenge, "%s", j->challenge);
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

static void session_reset(byron_server_t *srv, session_t *s) {
    if (srv) budget_release(srv, &s->held);
    free(s->body);
    free(s->resp);
    free(s->authorization);
    s->body = s->resp = s->authorization = NULL;
    s->len = s->resp_len = 0;
    s->too_large = s->has_resp = s->over_budget = s->deny_status = 0;
    s->challenge[0] = s->cors_origin[0] = s->origin[0] = '\0';
    if (s->job) s->job->wsi = NULL; /* orphan: freed when it comes back */
    s->job = NULL;
}

/* CORS answer headers; on a preflight also what may be sent. */
static int add_cors_headers(struct lws *wsi, session_t *s, unsigned char **p, unsigned char *end) {
    static const struct {
        const char *name, *value;
        int preflight;
    } H[] = {{"vary:", "Origin", 0},
             {"access-control-expose-headers:", "WWW-Authenticate", 0},
             {"access-control-allow-methods:", "GET, POST", 1},
             {"access-control-allow-headers:",
              "authorization, content-type, idempotency-key, byron-consistency, traceparent", 1},
             {"access-control-max-age:", "600", 1}};
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
                                    (unsigned char *)s->cors_origin, (int)strlen(s->cors_origin), p, end))
        return -1;
    for (size_t i = 0; i < sizeof H / sizeof H[0]; i++)
        if ((!H[i].preflight || s->status == 204) &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)H[i].name, (unsigned char *)H[i].value,
                                        (int)strlen(H[i].value), p, end))
            return -1;
    return 0;
}

static listener_t listener_of(byron_server_t *srv, struct lws *wsi) {
    struct lws_vhost *vh = lws_get_vhost(wsi);
    return vh == srv->vh_unix ? L_UNIX : vh == srv->vh_admin ? L_ADMIN : L_PUBLIC;
}

static int header_copy(struct lws *wsi, const char *name, char *out, size_t cap) {
    int n = (int)strlen(name);
    out[0] = '\0';
    if (lws_hdr_custom_length(wsi, name, n) <= 0) return 0;
    if (lws_hdr_custom_copy(wsi, out, (int)cap, name, n) < 0) out[0] = '\0';
    return out[0] != '\0';
}

/* Refuse now, or after the body of a POST. */
static void deny(struct lws *wsi, session_t *s, int status, const char *code, const char *msg) {
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
        s->deny_status = status;
        s->deny_code = code;
        s->deny_msg = msg;
        return;
    }
    respond_error(wsi, s, status, code, msg);
}

/* Browsers on other origins (public listener). 1: answered or refused (preflight or refusal). */
static int cors(struct lws *wsi, session_t *s, byron_server_t *srv, int is_options) {
    const byron_access_t *access = srv->sc->component ? srv->sc->component->access : NULL;
    if (s->listener != L_PUBLIC)
        return is_options ? (respond_error(wsi, s, 405, BYRON_CODE_BAD_USER_INPUT, "method not allowed"), 1)
                          : 0;
    if (lws_hdr_copy(wsi, s->origin, sizeof s->origin, WSI_TOKEN_ORIGIN) < 0) s->origin[0] = '\0';
    if (!s->origin[0]) {
        if (!is_options) return 0;
        respond_error(wsi, s, 405, BYRON_CODE_BAD_USER_INPUT, "method not allowed");
        return 1;
    }
    if (!access || !byron_access_origin_allowed(access, s->origin)) {
        /* Refused, not just unreadable: a simple cross-site request would still have run. */
        count_refused(srv, "origin");
        deny(wsi, s, 403, BYRON_CODE_FORBIDDEN, "origin not allowed");
        return 1;
    }
    int any = byron_access_settings(access)->norigins == 1 &&
              strcmp(byron_access_settings(access)->origins[0], "*") == 0;
    snprintf(s->cors_origin, sizeof s->cors_origin, "%s", any ? "*" : s->origin);
    if (!is_options) return 0;
    char method[16];
    header_copy(wsi, "access-control-request-method:", method, sizeof method);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
        s->cors_origin[0] = '\0';
        respond_error(wsi, s, 403, BYRON_CODE_FORBIDDEN, "method not allowed cross-origin");
        return 1;
    }
    s->status = 204; /* the preflight answer: headers only (WRITEABLE adds the CORS ones) */
    respond(wsi, s, 204, "text/plain", NULL);
    return 1;
}

/* A request's headers into its session. */
static void read_headers(struct lws *wsi, session_t *s) {
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
}

/* LWS_CALLBACK_HTTP: a request's line and headers. */
static int on_http(struct lws *wsi, session_t *s, byron_server_t *srv, const char *path) {
    session_reset(srv, s);
    s->listener = listener_of(srv, wsi);
    snprintf(s->path, sizeof s->path, "%s", path);
    read_headers(wsi, s);
    int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (alen > 0 && s->listener == L_PUBLIC) {
        if (alen >= MAX_AUTHORIZATION || !(s->authorization = malloc((size_t)alen + 1)) ||
            lws_hdr_copy(wsi, s->authorization, alen + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
            deny(wsi, s, 431, BYRON_CODE_BAD_USER_INPUT, "Authorization header too large");
            if (!s->deny_status) return 0; /* answered */
        }
    }
    if (!s->deny_status && cors(wsi, s, srv, lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0) &&
        !s->deny_status)
        return 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
        snprintf(s->method, sizeof s->method, "POST");
        char cl[32] = "";
        if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            unsigned long long n = strtoull(cl, NULL, 10);
            /* Reserved before a byte is buffered: beyond the budget the body is read and dropped. */
            if (n > BYRON_SERVER_MAX_BODY)
                s->too_large = 1;
            else if (!budget_reserve(srv, &s->held, (size_t)n))
                s->over_budget = 1;
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

static void drop_body(session_t *s, byron_server_t *srv) {
    free(s->body);
    s->body = NULL;
    s->len = 0;
    budget_release(srv, &s->held);
}

/* LWS_CALLBACK_HTTP_BODY: a piece of the body, within the limits. */
static int on_http_body(session_t *s, byron_server_t *srv, const void *in, size_t len) {
    if (s->deny_status || s->too_large || s->over_budget || s->len + len > BYRON_SERVER_MAX_BODY) {
        if (!s->over_budget && !s->deny_status) s->too_large = 1;
        drop_body(s, srv);
        return 0;
    }
    /* A body without Content-Length reserves as it arrives. */
    if (s->len + len > s->held && !budget_reserve(srv, &s->held, s->len + len - s->held)) {
        s->over_budget = 1;
        drop_body(s, srv);
        return 0;
    }
    char *nb = realloc(s->body, s->len + len + 1);
    if (!nb) return -1;
    if (len) memcpy(nb + s->len, in, len); /* an empty body arrives as (NULL, 0) */
    s->body = nb;
    s->len += len;
    s->body[s->len] = '\0';
    return 0;
}

/* LWS_CALLBACK_HTTP_WRITEABLE: the answer, once the pool has made it. */
static int on_http_writeable(struct lws *wsi, session_t *s, byron_server_t *srv) {
    if (!s->has_resp) return 0; /* still waiting for the pool */
    unsigned char hdr[LWS_PRE + 2048], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof hdr - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->resp_ctype, s->resp_len, &p, end)) return -1;
    if (s->allow[0] && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (unsigned char *)s->allow,
                                                    (int)strlen(s->allow), &p, end))
        return -1;
    if (s->challenge[0] && lws_add_http_header_by_name(
                               wsi, (const unsigned char *)"www-authenticate:", (unsigned char *)s->challenge,
                               (int)strlen(s->challenge), &p, end))
        return -1;
    if (s->cors_origin[0] && add_cors_headers(wsi, s, &p, end)) return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    unsigned char *wire = malloc(LWS_PRE + s->resp_len + 1);
    if (!wire) return -1;
    memcpy(wire + LWS_PRE, s->resp ? s->resp : "", s->resp_len);
    int n = lws_write(wsi, wire + LWS_PRE, s->resp_len, LWS_WRITE_HTTP_FINAL);
    free(wire);
    size_t want = s->resp_len;
    session_reset(srv, s);
    if (n < (int)want) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    session_t *s = user;
    struct lws_context *ctx = lws_get_context(wsi);
    byron_server_t *srv = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv) collect_done(srv);
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: return srv ? peer_accept(srv, wsi, user) : 0;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: /* the first callback with the new wsi's fd */
        if (srv) peer_bind(srv, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (srv) peer_release(srv, wsi);
        return 0;
    case LWS_CALLBACK_HTTP: return on_http(wsi, s, srv, (const char *)in);
    case LWS_CALLBACK_HTTP_BODY: return on_http_body(s, srv, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: handle_post(wsi, s, srv); return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return on_http_writeable(wsi, s, srv);
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
        if (s) session_reset(srv, s);
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
    srv->rest_tcp = o->rest_tcp;
    srv->admin_port = -1;
    srv->max_inflight = o->max_inflight_bytes ? o->max_inflight_bytes : BYRON_SERVER_DEFAULT_INFLIGHT_BYTES;
    srv->max_conns_per_client =
        o->max_conns_per_client ? o->max_conns_per_client : BYRON_SERVER_DEFAULT_CONNS_PER_CLIENT;
    atomic_init(&srv->inflight_bytes, 0);
    if (sc->metrics) {
        static const char *const L[] = {"reason", NULL};
        srv->m_refused = byron_metrics_register(
            sc->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_http_refused_total",
            "Requests refused before any work, by reason (inflight_bytes, origin).", L, NULL, 0);
    }
    pthread_mutex_init(&srv->lock, NULL);
    srv->npeers = 4096; /* distinct client addresses with open connections; a power of two */
    srv->nfd = o->max_fds ? o->max_fds : 65536;
    if (!(srv->peers = calloc(srv->npeers, sizeof *srv->peers)) ||
        !(srv->fd_slot = calloc(srv->nfd, sizeof(int)))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
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
    /* Idle connections: HTTP keep-alive ends after lws' 5 s; a WebSocket is
     * pinged after 30 s of silence and dropped after 60 s without a valid pong. */
    static const lws_retry_bo_t IDLE = {.secs_since_valid_ping = 30, .secs_since_valid_hangup = 60};
    info.retry_and_idle_policy = &IDLE;

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
    srv->vh_public = vh;
    srv->port = lws_get_vhost_listen_port(vh);
    if (o->admin_port >= 0) {
        info.port = o->admin_port;
        info.iface = o->admin_bind;
        info.vhost_name = "admin";
        srv->admin_protocols[0] = srv->protocols[0]; /* no WebSocket on the admin port */
        info.protocols = srv->admin_protocols;
        if (!(srv->vh_admin = lws_create_vhost(srv->ctx, &info))) {
            byron_err_set(err, BYRON_EIO, "cannot listen on admin %s:%d", o->admin_bind ? o->admin_bind : "*",
                          o->admin_port);
            goto err;
        }
        info.protocols = srv->protocols;
        srv->admin_port = lws_get_vhost_listen_port(srv->vh_admin);
    }
    if (o->unix_path) {
        unlink(o->unix_path); /* a stale socket from a previous run */
        if (!(srv->unix_path = strdup(o->unix_path))) goto err;
        info.port = 0;
        info.iface = o->unix_path;
        info.vhost_name = "unix";
        info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
        if (!(srv->vh_unix = lws_create_vhost(srv->ctx, &info))) {
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
int byron_server_admin_port(const byron_server_t *s) { return s->admin_port; }

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
    free(srv->peers);
    free(srv->fd_slot);
    free(srv);
}
