/* test_server.c — the HTTP server on its own: mounted handlers on the worker
 * pool (how GraphQL plugs in), query strings, Allow headers, probes on the
 * admin listener, the Unix socket, a client that hangs up before its answer,
 * CORS, REST's content type and the in-flight body budget. No external servers. */
#include "access.h"
#include "byron/buf.h"
#include "byron/json.h"
#include "component.h"
#include "server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int gate; /* while set, "hold" requests wait in the handler (at most 5 s) */

static void echo(void *ud, const byron_server_request_t *req, byron_server_reply_t *rep) {
    (void)ud;
    for (int i = 0; i < 500 && req->body && strstr(req->body, "hold") && atomic_load(&gate); i++)
        usleep(10000);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        rep->status = 405;
        snprintf(rep->allow, sizeof rep->allow, "GET, POST");
        rep->body = strdup("{}");
        rep->len = 2;
        return;
    }
    if (req->body && strstr(req->body, "sleep")) usleep(400000);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string(req->method));
    json_object_object_add(o, "query", json_object_new_string(req->query));
    json_object_object_add(o, "ctype", json_object_new_string(req->content_type));
    json_object_object_add(o, "accept", json_object_new_string(req->accept));
    json_object_object_add(o, "body",
                           req->body && req->len < 1000 ? json_object_new_string(req->body) : NULL);
    json_object_object_add(o, "principal",
                           json_object_new_string(byron_principal_kind_name(req->principal->kind)));
    rep->status = 200;
    snprintf(rep->content_type, sizeof rep->content_type, "application/graphql-response+json");
    rep->body = strdup(byron_json_compact(o));
    rep->len = strlen(rep->body);
    json_object_put(o);
}

static long call(const char *sock, int port, const char *method, const char *path, const char *body,
                 long timeout_ms, char **out, char *ctype, size_t ctype_cap) {
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    byron_buf_t b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/graphql-response+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (sock) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ctype) snprintf(ctype, ctype_cap, "%s", ct ? ct : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = b.buf;
    else
        free(b.buf);
    return code;
}

static const char *field(json_object *o, const char *k) {
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* The parts of a sidecar the server reads: api mode, metrics, health. */
static void sidecar_init(byron_sidecar_t *sc) {
    memset(sc, 0, sizeof *sc);
    pthread_mutex_init(&sc->health.lock, NULL);
    sc->mode = "api";
    sc->metrics = byron_metrics_new();
}

static void sidecar_cleanup(byron_sidecar_t *sc) {
    byron_metrics_free(sc->metrics);
    pthread_mutex_destroy(&sc->health.lock);
}

Test(server, mounts_probes_and_unix_socket, .timeout = 30) {
    byron_sidecar_t sc;
    sidecar_init(&sc);
    byron_err_t err = {0};
    sc.pool = byron_workpool_new(2, 4, sc.metrics, &err);
    cr_assert_not_null(sc.pool, "%s", err.msg);
    cr_assert_eq(byron_workpool_start(sc.pool, &err), BYRON_OK, "%s", err.msg);
    char sock[] = "/tmp/byron-srv-XXXXXX";
    cr_assert_not_null(mkdtemp(sock));
    char path[300];
    snprintf(path, sizeof path, "%s/sidecar.sock", sock);
    byron_server_mount_t m = {"/graphql", echo, NULL};
    byron_server_options_t o = {
        .bind_addr = "127.0.0.1", .port = 0, .unix_path = path, .mounts = &m, .nmounts = 1};
    byron_server_t *srv = byron_server_new(&sc, &o, &err);
    cr_assert_not_null(srv, "%s", err.msg);
    int port = byron_server_port(srv);
    cr_assert_gt(port, 0);

    int admin = byron_server_admin_port(srv);
    cr_assert_gt(admin, 0);
    cr_assert_neq(admin, port);
    char *body = NULL, ct[128];
    cr_assert_eq(call(NULL, admin, "GET", "/healthz", NULL, 2000, &body, ct, sizeof ct), 200);
    free(body);
    /* Probes and metrics are not on the public port (the Service's). */
    cr_assert_eq(call(NULL, port, "GET", "/healthz", NULL, 2000, NULL, NULL, 0), 404);
    cr_assert_eq(call(NULL, port, "GET", "/metrics", NULL, 2000, NULL, NULL, 0), 404);
    cr_assert_eq(call(NULL, port, "GET", "/readyz", NULL, 2000, NULL, NULL, 0), 404);
    cr_assert_eq(call(NULL, admin, "GET", "/graphql", NULL, 2000, NULL, NULL, 0), 404);
    cr_assert_eq(call(NULL, admin, "GET", "/metrics", NULL, 2000, NULL, NULL, 0), 200);
    /* Not ready: nothing is connected in this test; each dependency is reported. */
    cr_assert_eq(call(NULL, admin, "GET", "/readyz", NULL, 2000, &body, ct, sizeof ct), 503);
    cr_assert_not_null(strstr(body, "\"nats\":{\"ok\":false}"), "%s", body);
    free(body);
    cr_assert_eq(call(NULL, port, "GET", "/nope", NULL, 2000, NULL, NULL, 0), 404);
    cr_assert_eq(call(NULL, port, "POST", "/v1/commands/createOrder", "{}", 2000, NULL, NULL, 0), 404);

    /* A mounted GET: the query string arrives encoded as sent. */
    cr_assert_eq(
        call(NULL, port, "GET", "/graphql?query=%7B%20a%20%7D&x=a%26b%3Dc", NULL, 2000, &body, ct, sizeof ct),
        200);
    cr_assert_str_eq(ct, "application/graphql-response+json");
    json_object *j = NULL;
    cr_assert_eq(byron_json_parse(body, strlen(body), 0, &j, &err), BYRON_OK, "%s", body);
    cr_assert_str_eq(field(j, "method"), "GET");
    cr_assert_str_eq(field(j, "query"), "query=%7B%20a%20%7D&x=a%26b%3Dc");
    cr_assert_str_eq(field(j, "accept"), "application/graphql-response+json");
    cr_assert_str_eq(field(j, "principal"), "anonymous");
    json_object_put(j);
    free(body);
    /* A mounted POST over the Unix socket, with its body and content type. */
    cr_assert_eq(call(path, 0, "POST", "/graphql", "{\"query\":\"{ a }\"}", 2000, &body, ct, sizeof ct), 200);
    cr_assert_eq(byron_json_parse(body, strlen(body), 0, &j, &err), BYRON_OK, "%s", body);
    cr_assert_str_eq(field(j, "body"), "{\"query\":\"{ a }\"}");
    cr_assert_str_eq(field(j, "ctype"), "application/json");
    cr_assert_str_eq(field(j, "principal"), "app", "the Unix socket is the app's");
    json_object_put(j);
    free(body);
    /* A 405 from the handler keeps its status. */
    cr_assert_eq(call(NULL, port, "PUT", "/graphql", "{}", 2000, NULL, NULL, 0), 405);
    /* A client that gives up before the worker answers: the job is orphaned, not a crash. */
    cr_assert_eq(call(NULL, port, "POST", "/graphql", "{\"sleep\":1}", 100, NULL, NULL, 0), 0);
    for (int i = 0; i < 500 && byron_server_inflight(srv) != 0; i++) usleep(10000); /* the job ends (5 s) */
    cr_assert_eq(byron_server_inflight(srv), 0);
    cr_assert_eq(call(NULL, admin, "GET", "/healthz", NULL, 2000, NULL, NULL, 0), 200);

    byron_workpool_stop(sc.pool);
    byron_server_free(srv);
    byron_workpool_free(sc.pool);
    cr_assert_neq(access(path, F_OK), 0, "the socket file is removed");
    rmdir(sock);
    sidecar_cleanup(&sc);
}

/* ------------------------------------------------------------------ the public port's defences */

static long call_h(int port, const char *sock, const char *method, const char *path, const char *body,
                   const char *const *headers, char **hdrs_out) {
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
    byron_buf_t hb = {0}, b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (sock) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(b.buf);
    if (hdrs_out) {
        for (char *p = hb.buf; p && *p; p++) *p = (char)tolower((unsigned char)*p);
        *hdrs_out = hb.buf;
    } else {
        free(hb.buf);
    }
    return code;
}

static const char *COMPONENT =
    "{\"component\":\"orders\",\"namespace\":\"shop\",\"models\":[{\"name\":\"Order\",\"fields\":[]}],"
    "\"auth\":{\"allowedOrigins\":[\"https://"
    "shop.test\"],\"rules\":[{\"operations\":[\"*\"],\"anonymous\":true}]}}";

/* CORS: the allowed origin's preflight and request are answered with the CORS
 * headers; another origin's are refused (403), not merely unreadable. */
static void assert_cors(int port) {
    char *h = NULL;
    /* Preflight from the allowed origin: 204 with the CORS answer. */
    const char *const ok_pre[] = {"Origin: https://shop.test", "Access-Control-Request-Method: POST",
                                  "Access-Control-Request-Headers: authorization, content-type", NULL};
    cr_assert_eq(call_h(port, NULL, "OPTIONS", "/graphql", NULL, ok_pre, &h), 204);
    cr_assert(strstr(h, "access-control-allow-origin: https://shop.test"), "%s", h);
    cr_assert(strstr(h, "access-control-allow-headers: authorization, content-type"), "%s", h);
    cr_assert(strstr(h, "vary: origin"), "%s", h);
    free(h);
    /* ...and from another one: refused, no CORS header. */
    const char *const bad_pre[] = {"Origin: https://evil.test", "Access-Control-Request-Method: POST", NULL};
    cr_assert_eq(call_h(port, NULL, "OPTIONS", "/graphql", NULL, bad_pre, &h), 403);
    cr_assert_null(strstr(h, "access-control-allow-origin"), "%s", h);
    free(h);
    /* The actual request from a refused origin is refused, not merely unreadable. */
    const char *const bad_post[] = {"Origin: https://evil.test", "Content-Type: application/json", NULL};
    cr_assert_eq(call_h(port, NULL, "POST", "/graphql", "{}", bad_post, NULL), 403);
    static const char *const ok_post[] = {"Origin: https://shop.test", "Content-Type: application/json",
                                          NULL};
    cr_assert_eq(call_h(port, NULL, "POST", "/graphql", "{}", ok_post, &h), 200);
    cr_assert(strstr(h, "access-control-allow-origin: https://shop.test"), "%s", h);
    free(h);
}

/* REST: off on the public port by default; on the app's socket it needs JSON. */
static void assert_rest_content_types(int port, const char *path) {
    const char *const text[] = {"Content-Type: text/plain", NULL};
    cr_assert_eq(call_h(port, NULL, "POST", "/v1/commands/createOrder", "{}", text, NULL), 404);
    cr_assert_eq(call_h(port, NULL, "GET", "/v1/meta", NULL, NULL, NULL), 404);
    cr_assert_eq(call_h(0, path, "POST", "/v1/commands/createOrder", "{}", text, NULL), 415);
    const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    cr_assert_eq(call_h(0, path, "POST", "/v1/cache/Order/query", "a=b", form, NULL), 415);
}

/* The in-flight budget (256 KiB): three held bodies of 100 KiB — the third is
 * 503 at once; the budget is given back afterwards. */
static void assert_inflight_budget(int port) {
    atomic_store(&gate, 1);
    char *big = malloc(100 * 1024 + 1);
    memset(big, ' ', 100 * 1024);
    memcpy(big, "{\"hold\":1}", 10);
    big[100 * 1024] = '\0';
    CURLM *multi = curl_multi_init();
    CURL *e[3];
    struct curl_slist *jh = curl_slist_append(NULL, "Content-Type: application/json");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/graphql", port);
    for (int i = 0; i < 3; i++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, jh);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, big);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
        byron_buf_t *sink = calloc(1, sizeof *sink);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, sink);
        curl_easy_setopt(e[i], CURLOPT_PRIVATE, sink);
        curl_multi_add_handle(multi, e[i]);
    }
    int running = 1, refused = 0, ok = 0, done = 0;
    for (int spins = 0; spins < 2000 && done < 3; spins++) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            done++;
            if (code == 503) {
                refused++;
                atomic_store(&gate, 0); /* the refusal came while the others were held: let them go */
            } else if (code == 200) {
                ok++;
            }
        }
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    atomic_store(&gate, 0);
    for (int i = 0; i < 3; i++) {
        byron_buf_t *sink = NULL;
        curl_easy_getinfo(e[i], CURLINFO_PRIVATE, (char **)&sink);
        free(sink->buf);
        free(sink);
        curl_multi_remove_handle(multi, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(jh);
    free(big);
    cr_assert_eq(refused, 1, "refused %d, ok %d", refused, ok);
    cr_assert_eq(ok, 2, "refused %d, ok %d", refused, ok);
    /* The budget is given back: the same body passes now. */
    const char *const ok_post[] = {"Origin: https://shop.test", "Content-Type: application/json", NULL};
    cr_assert_eq(call_h(port, NULL, "POST", "/graphql", "{\"x\":1}", ok_post, NULL), 200);
}

Test(server, cors_rest_content_type_and_body_budget, .timeout = 60) {
    byron_sidecar_t sc;
    sidecar_init(&sc);
    byron_err_t err = {0};
    json_object *root = json_tokener_parse(COMPONENT);
    byron_component_t *comp = NULL;
    cr_assert_eq(byron_component_parse(root, &comp, &err), BYRON_OK, "%s", err.msg);
    json_object_put(root);
    sc.component = comp;
    sc.pool = byron_workpool_new(4, 16, sc.metrics, &err);
    cr_assert_eq(byron_workpool_start(sc.pool, &err), BYRON_OK, "%s", err.msg);
    char dir[] = "/tmp/byron-srv-XXXXXX", path[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sidecar.sock", dir);
    byron_server_mount_t m = {"/graphql", echo, NULL};
    byron_server_options_t o = {.bind_addr = "127.0.0.1",
                                .unix_path = path,
                                .mounts = &m,
                                .nmounts = 1,
                                .max_inflight_bytes = 256u << 10};
    byron_server_t *srv = byron_server_new(&sc, &o, &err);
    cr_assert_not_null(srv, "%s", err.msg);
    int port = byron_server_port(srv);
    assert_cors(port);
    assert_rest_content_types(port, path);
    assert_inflight_budget(port);

    byron_workpool_stop(sc.pool);
    byron_server_free(srv);
    byron_workpool_free(sc.pool);
    rmdir(dir);
    byron_component_free(comp);
    sidecar_cleanup(&sc);
}

/* ------------------------------------------------------------------ connections per client */

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends a request on fd and reads the answer: bytes read (0: the server closed it). */
static ssize_t ask_with(int fd, const char *req, size_t len) {
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (send(fd, req, len, MSG_NOSIGNAL) < 0) return 0;
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n < 0 ? 0 : n;
}

static ssize_t ask(int fd) {
    static const char REQ[] = "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    return ask_with(fd, REQ, sizeof REQ - 1);
}

/* The same, keeping the connection open (HTTP/1.1 keep-alive). */
static ssize_t ask_keep(int fd) {
    static const char REQ[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    return ask_with(fd, REQ, sizeof REQ - 1);
}

/* A fresh connection's answer, tried again while refused (closed connections
 * give their places back asynchronously), 5 s at most. */
static ssize_t ask_new(int port) {
    ssize_t n = 0;
    for (int i = 0; i < 50 && n == 0; i++) {
        int fd = tcp_connect(port);
        n = ask(fd);
        close(fd);
        if (n == 0) usleep(100000);
    }
    return n;
}

Test(server, connections_per_client_are_capped, .timeout = 30) {
    byron_sidecar_t sc;
    sidecar_init(&sc);
    byron_err_t err = {0};
    sc.pool = byron_workpool_new(2, 4, sc.metrics, &err);
    cr_assert_eq(byron_workpool_start(sc.pool, &err), BYRON_OK, "%s", err.msg);
    byron_server_options_t o = {.bind_addr = "127.0.0.1", .admin_port = -1, .max_conns_per_client = 3};
    byron_server_t *srv = byron_server_new(&sc, &o, &err);
    cr_assert_not_null(srv, "%s", err.msg);
    int port = byron_server_port(srv);
    int held[3];
    for (int i = 0; i < 3; i++) { /* answered, so accepted; kept open */
        held[i] = tcp_connect(port);
        cr_assert_gt(ask_keep(held[i]), 0, "connection %d", i);
    }
    int extra = tcp_connect(port); /* the kernel accepts; the server closes it */
    cr_assert_eq(ask(extra), 0, "a fourth connection from one address is refused");
    close(extra);
    cr_assert_gt(ask(held[0]), 0, "the first three are served");
    for (int i = 0; i < 3; i++) close(held[i]);
    /* Closed connections give their places back, and the count does not
     * leak: round after round, three at once are served again. */
    cr_assert_gt(ask_new(port), 0, "a new connection is served once the others closed");
    for (int round = 0; round < 3; round++) {
        int fds[3];
        for (int i = 0; i < 3; i++) {
            fds[i] = tcp_connect(port);
            ssize_t n = ask_keep(fds[i]);
            for (int k = 0; k < 50 && n == 0; k++) { /* a place not given back yet: again, 5 s at most */
                close(fds[i]);
                usleep(100000);
                fds[i] = tcp_connect(port);
                n = ask_keep(fds[i]);
            }
            cr_assert_gt(n, 0, "round %d connection %d", round, i);
        }
        for (int i = 0; i < 3; i++) close(fds[i]);
    }
    byron_workpool_stop(sc.pool);
    byron_server_free(srv);
    byron_workpool_free(sc.pool);
    sidecar_cleanup(&sc);
}
