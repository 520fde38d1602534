/* test_server.c — the HTTP server on its own: mounted handlers on the worker
 * pool (how GraphQL plugs in), query strings, Allow headers, probes, the Unix
 * socket, a client that hangs up before its answer. No external servers. */
#include "byron/json.h"
#include "server.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void echo(void *ud, const byron_server_request_t *req, byron_server_reply_t *rep) {
    (void)ud;
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
    json_object_object_add(o, "body", req->body ? json_object_new_string(req->body) : NULL);
    rep->status = 200;
    snprintf(rep->content_type, sizeof rep->content_type, "application/graphql-response+json");
    rep->body = strdup(byron_json_compact(o));
    rep->len = strlen(rep->body);
    json_object_put(o);
}

typedef struct {
    char *buf;
    size_t len;
} buf_t;

static size_t collect(char *p, size_t s, size_t n, void *ud) {
    buf_t *b = ud;
    b->buf = realloc(b->buf, b->len + s * n + 1);
    memcpy(b->buf + b->len, p, s * n);
    b->len += s * n;
    b->buf[b->len] = '\0';
    return s * n;
}

static long call(const char *sock, int port, const char *method, const char *path, const char *body,
                 long timeout_ms, char **out, char *ctype, size_t ctype_cap) {
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    buf_t b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/graphql-response+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (sock) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
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

Test(server, mounts_probes_and_unix_socket, .timeout = 30) {
    byron_sidecar_t sc;
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.health.lock, NULL);
    sc.mode = "api";
    sc.metrics = byron_metrics_new();
    byron_err_t err = {0};
    sc.pool = byron_workpool_new(2, 4, sc.metrics, &err);
    cr_assert_not_null(sc.pool, "%s", err.msg);
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

    char *body = NULL, ct[128];
    cr_assert_eq(call(NULL, port, "GET", "/healthz", NULL, 2000, &body, ct, sizeof ct), 200);
    free(body);
    /* Not ready: nothing is connected in this test; each dependency is reported. */
    cr_assert_eq(call(NULL, port, "GET", "/readyz", NULL, 2000, &body, ct, sizeof ct), 503);
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
    json_object_put(j);
    free(body);
    /* A mounted POST over the Unix socket, with its body and content type. */
    cr_assert_eq(call(path, 0, "POST", "/graphql", "{\"query\":\"{ a }\"}", 2000, &body, ct, sizeof ct), 200);
    cr_assert_eq(byron_json_parse(body, strlen(body), 0, &j, &err), BYRON_OK, "%s", body);
    cr_assert_str_eq(field(j, "body"), "{\"query\":\"{ a }\"}");
    cr_assert_str_eq(field(j, "ctype"), "application/json");
    json_object_put(j);
    free(body);
    /* A 405 from the handler keeps its status. */
    cr_assert_eq(call(NULL, port, "PUT", "/graphql", "{}", 2000, NULL, NULL, 0), 405);
    /* A client that gives up before the worker answers: the job is orphaned, not a crash. */
    cr_assert_eq(call(NULL, port, "POST", "/graphql", "{\"sleep\":1}", 100, NULL, NULL, 0), 0);
    usleep(600000);
    cr_assert_eq(call(NULL, port, "GET", "/healthz", NULL, 2000, NULL, NULL, 0), 200);
    cr_assert_eq(byron_server_inflight(srv), 0);

    byron_workpool_drain(sc.pool);
    byron_server_free(srv);
    byron_workpool_free(sc.pool);
    cr_assert_neq(access(path, F_OK), 0, "the socket file is removed");
    rmdir(sock);
    byron_metrics_free(sc.metrics);
    pthread_mutex_destroy(&sc.health.lock);
}
