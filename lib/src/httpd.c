/* httpd.c — libwebsockets HTTP server on its own service thread. */
#include "byron/httpd.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 16
/* Connections at once (probes, scrapes), and lws's own fds (listener,
 * cancel pipe). Unset, lws sizes its fd tables by RLIMIT_NOFILE and zeroes
 * them: 16 bytes per fd the process may open — 320 KiB at 20,000, 16 MiB at
 * the 1,048,576 many container runtimes give. Bounded, lws looks fds up in
 * a table of this size instead of indexing by fd number (any number). */
#define MAX_FDS 64

typedef struct {
    char *path;
    byron_http_handler_fn fn;
    void *ud;
} route_t;

struct byron_httpd {
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    route_t routes[MAX_ROUTES];
    size_t nroutes;
    char *bind_addr;
    int port;
    pthread_t thread;
    int started;
    atomic_int stop;
};

/* Per-connection state: the pending response. */
typedef struct {
    byron_http_response_t resp;
    unsigned char *wire; /* LWS_PRE + body */
} session_t;

void byron_http_respond(byron_http_response_t *resp, int status, const char *content_type, const char *body) {
    resp->status = status;
    resp->content_type = content_type;
    free(resp->body);
    resp->body = strdup(body ? body : "");
    resp->len = resp->body ? strlen(resp->body) : 0;
}

void byron_http_metrics_handler(void *ud, const char *method, const char *path, byron_http_response_t *resp) {
    size_t len = 0;
    char *text = byron_metrics_render(ud, &len);
    if (!text) {
        byron_http_respond(resp, 500, "text/plain", "out of memory\n");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    free(resp->body);
    resp->body = text;
    resp->len = len;
}

static const char *request_method(struct lws *wsi) {
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) return "GET";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) return "POST";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI)) return "HEAD";
    return "OTHER";
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    session_t *s = user;
    byron_httpd_t *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        const char *path = in;
        memset(&s->resp, 0, sizeof s->resp);
        s->wire = NULL;
        const char *method = request_method(wsi);
        route_t *r = NULL;
        for (size_t i = 0; i < h->nroutes; i++)
            if (strcmp(h->routes[i].path, path) == 0) r = &h->routes[i];
        if (!r)
            byron_http_respond(&s->resp, 404, "text/plain", "not found\n");
        else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            byron_http_respond(&s->resp, 405, "text/plain", "method not allowed\n");
        else
            r->fn(r->ud, method, path, &s->resp);
        if (!s->resp.body) byron_http_respond(&s->resp, 500, "text/plain", "no response\n");
        if (!s->resp.body) return -1;
        if (strcmp(method, "HEAD") == 0) s->resp.len = 0;
        /* A request body must be drained before lws lets us answer. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) == 0) lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: return 0; /* no route takes a body: discard it */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: lws_callback_on_writable(wsi); return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!s->resp.body) return -1;
        unsigned char hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof hdr - 1];
        if (lws_add_http_common_headers(wsi, (unsigned)s->resp.status, s->resp.content_type, s->resp.len, &p,
                                        end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        s->wire = malloc(LWS_PRE + s->resp.len + 1);
        if (!s->wire) return -1;
        memcpy(s->wire + LWS_PRE, s->resp.body, s->resp.len);
        int n = lws_write(wsi, s->wire + LWS_PRE, s->resp.len, LWS_WRITE_HTTP_FINAL);
        free(s->wire);
        s->wire = NULL;
        free(s->resp.body);
        s->resp.body = NULL;
        if (n < (int)s->resp.len) return -1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s) {
            free(s->resp.body);
            s->resp.body = NULL;
            free(s->wire);
            s->wire = NULL;
        }
        break;
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

byron_httpd_t *byron_httpd_new(const byron_httpd_options_t *opts, byron_err_t *err) {
    byron_httpd_t *h = calloc(1, sizeof *h);
    if (!h) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    h->port = opts->port;
    if (opts->bind_addr && !(h->bind_addr = strdup(opts->bind_addr))) {
        free(h);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    return h;
}

byron_status_t byron_httpd_route(byron_httpd_t *h, const char *path, byron_http_handler_fn fn, void *ud) {
    if (h->nroutes == MAX_ROUTES || h->ctx) return BYRON_ESTATE;
    if (!(h->routes[h->nroutes].path = strdup(path))) return BYRON_ENOMEM;
    h->routes[h->nroutes].fn = fn;
    h->routes[h->nroutes].ud = ud;
    h->nroutes++;
    return BYRON_OK;
}

static void *service_thread(void *arg) {
    byron_httpd_t *h = arg;
    while (!atomic_load(&h->stop))
        if (lws_service(h->ctx, 0) < 0) break;
    return NULL;
}

byron_status_t byron_httpd_start(byron_httpd_t *h, byron_err_t *err) {
    lws_set_log_level(LLL_ERR, NULL);
    h->protocols[0] = (struct lws_protocols){
        .name = "http", .callback = callback, .per_session_data_size = sizeof(session_t)};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = h->port; /* 0: the kernel picks; read back below */
    info.iface = h->bind_addr;
    info.protocols = h->protocols;
    info.user = h;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.fd_limit_per_thread = MAX_FDS;
    h->ctx = lws_create_context(&info);
    struct lws_vhost *vh = h->ctx ? lws_create_vhost(h->ctx, &info) : NULL;
    if (!vh) {
        if (h->ctx) lws_context_destroy(h->ctx);
        h->ctx = NULL;
        return byron_err_set(err, BYRON_EIO, "cannot listen on %s:%d", h->bind_addr ? h->bind_addr : "*",
                             h->port);
    }
    h->port = lws_get_vhost_listen_port(vh);
    if (pthread_create(&h->thread, NULL, service_thread, h) != 0) {
        lws_context_destroy(h->ctx);
        h->ctx = NULL;
        return byron_err_set(err, BYRON_EIO, "cannot start the HTTP thread");
    }
    h->started = 1;
    return BYRON_OK;
}

int byron_httpd_port(const byron_httpd_t *h) { return h->port; }

void byron_httpd_free(byron_httpd_t *h) {
    if (!h) return;
    if (h->started) {
        atomic_store(&h->stop, 1);
        lws_cancel_service(h->ctx);
        pthread_join(h->thread, NULL);
    }
    if (h->ctx) lws_context_destroy(h->ctx);
    for (size_t i = 0; i < h->nroutes; i++) free(h->routes[i].path);
    free(h->bind_addr);
    free(h);
}
