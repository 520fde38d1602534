#include "byron/httpd.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
    char buf[8192];
    size_t len;
} body_t;

static size_t collect(char *p, size_t sz, size_t n, void *ud) {
    body_t *b = ud;
    size_t k = sz * n;
    if (k > sizeof b->buf - 1 - b->len) k = sizeof b->buf - 1 - b->len;
    memcpy(b->buf + b->len, p, k);
    b->len += k;
    return sz * n;
}

static long get(int port, const char *path, const char *method, body_t *b) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    memset(b, 0, sizeof *b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (method) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x");
    }
    long code = 0;
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void ready(void *ud, const char *method, const char *path, byron_http_response_t *resp) {
    int *ok = ud;
    byron_http_respond(resp, *ok ? 200 : 503, "application/json",
                       *ok ? "{\"ready\":true}" : "{\"ready\":false}");
}

Test(httpd, serves_routes_metrics_and_errors) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    byron_err_t err = {0};
    byron_httpd_options_t opts = {.bind_addr = "127.0.0.1", .port = 0};
    byron_httpd_t *h = byron_httpd_new(&opts, &err);
    byron_metrics_t *m = byron_metrics_new();
    byron_metric_t *c = byron_metrics_register(m, BYRON_METRIC_COUNTER, "hits_total", "Hits.", NULL, NULL, 0);
    byron_metric_add(c, NULL, 2);
    int ok = 0;
    cr_assert_eq(byron_httpd_route(h, "/readyz", ready, &ok), BYRON_OK);
    cr_assert_eq(byron_httpd_route(h, "/metrics", byron_http_metrics_handler, m), BYRON_OK);
    cr_assert_eq(byron_httpd_start(h, &err), BYRON_OK, "%s", err.msg);
    int port = byron_httpd_port(h);
    cr_assert_gt(port, 0);
    body_t b;
    cr_assert_eq(get(port, "/readyz", NULL, &b), 503);
    cr_assert_str_eq(b.buf, "{\"ready\":false}");
    ok = 1;
    cr_assert_eq(get(port, "/readyz", NULL, &b), 200);
    cr_assert_eq(get(port, "/metrics", NULL, &b), 200);
    cr_assert(strstr(b.buf, "hits_total 2\n"), "%s", b.buf);
    cr_assert_eq(get(port, "/nope", NULL, &b), 404);
    cr_assert_eq(get(port, "/readyz", "POST", &b), 405);
    byron_httpd_free(h);
    byron_metrics_free(m);
    curl_global_cleanup();
}

/* The server's fd tables are bounded (64), not sized by RLIMIT_NOFILE; a
 * process with many fds open still gets its connections served: the accepted
 * sockets' numbers are far beyond the bound. */
Test(httpd, serves_connections_with_high_fd_numbers) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    enum { HOLD = 400 };
    cr_assert_gt(rl.rlim_cur, HOLD + 64, "RLIMIT_NOFILE %ld", (long)rl.rlim_cur);
    byron_err_t err = {0};
    byron_httpd_options_t opts = {.bind_addr = "127.0.0.1", .port = 0};
    byron_httpd_t *h = byron_httpd_new(&opts, &err);
    int ok = 1;
    cr_assert_eq(byron_httpd_route(h, "/readyz", ready, &ok), BYRON_OK);
    cr_assert_eq(byron_httpd_start(h, &err), BYRON_OK, "%s", err.msg);
    int held[HOLD];
    for (int i = 0; i < HOLD; i++) cr_assert_geq(held[i] = open("/dev/null", O_RDONLY), 0);
    cr_assert_gt(held[HOLD - 1], HOLD, "fd %d", held[HOLD - 1]);
    body_t b;
    for (int i = 0; i < 3; i++) cr_assert_eq(get(byron_httpd_port(h), "/readyz", NULL, &b), 200);
    for (int i = 0; i < HOLD; i++) close(held[i]);
    byron_httpd_free(h);
    curl_global_cleanup();
}
