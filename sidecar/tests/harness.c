/* harness.c — see harness.h. */
#include "harness.h"

#include "byron/buf.h"
#include "byron/json.h"
#include "child.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *h_env(const char *key) { return byron_testenv(key); }

int h_free_port(void) { return byron_test_free_port(); }

static void sleep_ms(long ms) { byron_test_sleep_ms(ms); }

int h_log_sanitizer_report(const char *log) { return byron_test_sanitizer_report(log); }

static pid_t spawn(char *const argv[], const char *out, const char *log, char *const extra_env[]) {
    return byron_test_spawn(argv, out, log, extra_env);
}

pid_t h_spawn(char *const argv[], const char *log, char *const extra_env[]) {
    return byron_test_spawn(argv, NULL, log, extra_env);
}

int h_wait_exit(pid_t pid, int timeout_ms) { return byron_test_wait_exit(pid, timeout_ms); }

int64_t h_mono_ms(void) { return byron_test_now_ms(); }

void h_sleep_ms(long ms) { byron_test_sleep_ms(ms); }

int h_ready(int port) {
    h_resp_t r;
    int ok = h_http(NULL, port, "GET", "/readyz", NULL, 1000, &r) == 0 && r.status == 200;
    h_resp_free(&r);
    return ok;
}

/* The reference app beside a sink (1: Python, 2: Node), on the sink's sockets. */
/* An app process beside a sidecar: 1 the Python reference app, 2 the Node
 * one, 3 the orders example's app; on the given sockets, with extra "K=V"s. */
static pid_t app_spawn(int app, const char *app_sock, const char *sidecar_sock, const char *log,
                       char *const *app_env) {
    char script[600], e1[400], e2[400];
    snprintf(script, sizeof script, "%s/examples/%s", getenv("BYRON_SOURCE_DIR"),
             app == 2   ? "reference-app/node/app.js"
             : app == 3 ? "orders/app/main.py"
                        : "reference-app/python/app.py");
    snprintf(e1, sizeof e1, "BYRON_APP_SOCKET=%s", app_sock);
    snprintf(e2, sizeof e2, "BYRON_SIDECAR_SOCKET=%s", sidecar_sock);
    char *aargv[] = {app == 2 ? "node" : "python3", script, NULL};
    char *aenv[9] = {e1, e2, app == 3 ? "EXAMPLE_APP=orders" : NULL, NULL};
    int n = app == 3 ? 3 : 2;
    for (int i = 0; app_env && app_env[i] && n < 8; i++) aenv[n++] = app_env[i], aenv[n] = NULL;
    return h_spawn(aargv, log, aenv);
}

void h_app_start(h_sink_t *k, int app, char *const *app_env) {
    k->app_pid = app_spawn(app, k->app_sock, k->sock, k->app_log, app_env);
}

void h_sink_start(h_sink_t *k, const char *config, int app, char *const *env, char *const *app_env,
                  const char *extra_arg) {
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/byron-sink-XXXXXX");
    cr_assert_not_null(mkdtemp(k->dir));
    snprintf(k->sock, sizeof k->sock, "%s/sidecar.sock", k->dir);
    snprintf(k->app_sock, sizeof k->app_sock, "%s/app.sock", k->dir);
    snprintf(k->log, sizeof k->log, "%s/sidecar.log", k->dir);
    snprintf(k->app_log, sizeof k->app_log, "%s/app.log", k->dir);
    k->port = h_free_port();
    k->admin = h_free_port();
    char bin[600], port[16], admin[16], mongo[600], nats[600], cfg[400];
    snprintf(admin, sizeof admin, "%d", k->admin);
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(port, sizeof port, "%d", k->port);
    snprintf(mongo, sizeof mongo, "%s", h_env("BYRON_MONGO_URI"));
    snprintf(nats, sizeof nats, "%s", h_env("BYRON_NATS_URL"));
    snprintf(cfg, sizeof cfg, "%s", config);
    char *argv[28];
    int n = h_sidecar_argv(argv, bin, "--mode=sink", cfg, nats, mongo, port, admin, k->sock,
                           app ? k->app_sock : NULL);
    if (extra_arg) argv[n++] = (char *)extra_arg;
    argv[n] = NULL;
    k->pid = h_spawn(argv, k->log, env);
    if (app) h_app_start(k, app, app_env);
    int64_t deadline = h_mono_ms() + 20000;
    while (h_mono_ms() < deadline && !h_ready(k->admin)) sleep_ms(50);
    cr_assert(h_ready(k->admin), "sink not ready within 20 s; see %s", k->log);
}

/* Sum of byron_sink_events_total over types for one outcome. */
double h_sink_outcome(int port, const char *outcome) {
    h_resp_t r;
    double v = 0;
    char needle[64];
    snprintf(needle, sizeof needle, "outcome=\"%s\"} ", outcome);
    if (h_http(NULL, port, "GET", "/metrics", NULL, 2000, &r) == 0 && r.body) {
        for (char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
            char *e = strchr(p, '\n');
            if (strncmp(p, "byron_sink_events_total{", 24) != 0) continue;
            char *hit = strstr(p, needle);
            if (hit && (!e || hit < e)) v += strtod(hit + strlen(needle), NULL);
        }
    }
    h_resp_free(&r);
    return v;
}

double h_sink_outcome_wait(int port, const char *outcome, double at_least, long timeout_ms) {
    int64_t deadline = h_mono_ms() + timeout_ms;
    double v;
    while ((v = h_sink_outcome(port, outcome)) < at_least && h_mono_ms() < deadline) h_sleep_ms(50);
    return v;
}

double h_metric_value(int port, const char *name) {
    h_resp_t r;
    double v = -1;
    size_t n = strlen(name);
    if (h_http(NULL, port, "GET", "/metrics", NULL, 2000, &r) == 0 && r.body)
        for (char *p = r.body; p && *p && v < 0; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, name, n) == 0 && p[n] == ' ') v = strtod(p + n + 1, NULL);
    h_resp_free(&r);
    return v;
}

int h_metric_is(int port, const char *line) {
    h_resp_t r;
    int found = 0;
    size_t n = strlen(line);
    if (h_http(NULL, port, "GET", "/metrics", NULL, 2000, &r) == 0 && r.body)
        for (char *p = r.body; p && *p && !found; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            found = strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0');
    h_resp_free(&r);
    return found;
}

/* SIGTERM an app beside a sidecar: every app the tests run exits 0 on it. */
static void app_stop(pid_t *pid, const char *log) {
    if (*pid <= 0) return;
    kill(*pid, SIGTERM);
    int rc = h_wait_exit(*pid, 5000);
    cr_expect_eq(rc, 0, "the app exited with %d on SIGTERM; see %s", rc, log);
    *pid = 0;
}

int h_sink_stop(h_sink_t *k, int sig) {
    int rc = -1;
    if (k->pid > 0) {
        kill(k->pid, sig);
        rc = h_wait_exit(k->pid, 15000);
        k->pid = 0;
        /* SIGTERM must end a sink cleanly, whether or not the caller looks. */
        if (sig == SIGTERM) cr_expect_eq(rc, 0, "the sink exited with %d on SIGTERM; see %s", rc, k->log);
    }
    app_stop(&k->app_pid, k->app_log);
    return rc;
}

int h_verify(const char *config, const char *app_sock, char **report) {
    return h_verify_ex(config, app_sock, NULL, report);
}

int h_verify_ex(const char *config, const char *app_sock, const char *const *extra, char **report) {
    char dir[] = "/tmp/byron-verify-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[300], log[300], bin[600], nats[600], mongo[600], cfg[400], sock[400];
    snprintf(out, sizeof out, "%s/report.jsonl", dir);
    snprintf(log, sizeof log, "%s/verify.log", dir);
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(nats, sizeof nats, "%s", h_env("BYRON_NATS_URL"));
    snprintf(mongo, sizeof mongo, "%s", h_env("BYRON_MONGO_URI"));
    snprintf(cfg, sizeof cfg, "%s", config);
    char *argv[32] = {bin,  "--mode=verify", "--config", cfg,         "--nats-url",
                      nats, "--mongo-uri",   mongo,      "--wait-ms", "60000"};
    int n = 10;
    if (app_sock) {
        snprintf(sock, sizeof sock, "%s", app_sock);
        argv[n++] = "--app-socket";
        argv[n++] = sock;
    }
    for (const char *const *e = extra; e && *e && n < 30; e++) argv[n++] = (char *)*e;
    argv[n] = NULL;
    pid_t pid = spawn(argv, out, log, NULL);
    int rc = h_wait_exit(pid, 120000);
    if (report) {
        FILE *f = fopen(out, "r");
        cr_assert_not_null(f, "%s", out);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        *report = calloc(1, (size_t)len + 1);
        cr_assert_eq(fread(*report, 1, (size_t)len, f), (size_t)len);
        fclose(f);
    }
    return rc;
}

int h_admin(const char *config, const char *app_sock, const char *const *args, char **out, char **errout) {
    char dir[] = "/tmp/byron-admin-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char outp[300], log[300], bin[600], nats[600], mongo[600], cfg[400], sock[400];
    snprintf(outp, sizeof outp, "%s/out.json", dir);
    snprintf(log, sizeof log, "%s/admin.log", dir);
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(nats, sizeof nats, "%s", h_env("BYRON_NATS_URL"));
    snprintf(mongo, sizeof mongo, "%s", h_env("BYRON_MONGO_URI"));
    snprintf(cfg, sizeof cfg, "%s", config);
    char *argv[64] = {bin, "--mode=admin", "--config", cfg, "--nats-url", nats, "--mongo-uri", mongo};
    int n = 8;
    if (app_sock) {
        snprintf(sock, sizeof sock, "%s", app_sock);
        argv[n++] = "--app-socket";
        argv[n++] = sock;
    }
    for (const char *const *e = args; e && *e && n < 62; e++) argv[n++] = (char *)*e;
    argv[n] = NULL;
    pid_t pid = spawn(argv, outp, log, NULL);
    int rc = h_wait_exit(pid, 120000);
    char *files[2] = {outp, log};
    char **dst[2] = {out, errout};
    for (int i = 0; i < 2; i++) {
        if (!dst[i]) continue;
        FILE *f = fopen(files[i], "r");
        cr_assert_not_null(f, "%s", files[i]);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        *dst[i] = calloc(1, (size_t)len + 1);
        cr_assert_eq(fread(*dst[i], 1, (size_t)len, f), (size_t)len);
        fclose(f);
    }
    return rc;
}

void h_app_control(const char *app_sock, const char *body) {
    h_resp_t r;
    cr_assert_eq(h_http(app_sock, 0, "POST", "/v1/control", body, 2000, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
}

int h_sidecar_partitions;
const char *h_component_source;

/* A ByronComponent YAML's spec as component.json (what the operator writes,
 * without its defaults) into out; anonymous callers may do everything (as in
 * tests/data/orders.json: identity is tested in identity_it). */
static void yaml_to_config(const char *yaml, const char *out) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, json, yaml; s = yaml.safe_load(open(sys.argv[1]))[\"spec\"]; "
             "c = {k: v for k, v in s.items() if k not in (\"api\", \"sink\", \"cache\", \"broker\")}; "
             "c[\"auth\"] = {\"rules\": [{\"operations\": [\"*\"], \"anonymous\": True}]}; "
             "json.dump(c, open(sys.argv[2], \"w\"))' '%s' '%s'",
             yaml, out);
    cr_assert_eq(system(cmd), 0, "cannot read %s", yaml);
}

static void write_config(h_sidecar_t *sc) {
    char src[600];
    if (h_component_source && strstr(h_component_source, ".yaml")) {
        snprintf(src, sizeof src, "%s/source.json", sc->dir);
        yaml_to_config(h_component_source, src);
    } else if (h_component_source) {
        snprintf(src, sizeof src, "%s", h_component_source);
    } else {
        snprintf(src, sizeof src, "%s/sidecar/tests/data/orders.json", getenv("BYRON_SOURCE_DIR"));
    }
    json_object *root = NULL;
    byron_err_t err;
    cr_assert_eq(byron_json_parse_file(src, 1 << 20, &root, &err), BYRON_OK, "%s", err.msg);
    json_object_object_add(root, "component", json_object_new_string(sc->component));
    json_object_object_add(root, "namespace", json_object_new_string("it"));
    if (h_sidecar_partitions > 0)
        json_object_object_add(root, "partitions", json_object_new_int(h_sidecar_partitions));
    snprintf(sc->config, sizeof sc->config, "%s/component.json", sc->dir);
    cr_assert_eq(json_object_to_file(sc->config, root), 0);
    json_object_put(root);
}

int h_sidecar_argv(char **argv, const char *bin, const char *mode, const char *config, const char *nats,
                   const char *mongo, const char *port, const char *admin_port, const char *sock,
                   const char *app_sock) {
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = (char *)mode;
    argv[n++] = "--config";
    argv[n++] = (char *)config;
    argv[n++] = "--nats-url";
    argv[n++] = (char *)nats;
    argv[n++] = "--mongo-uri";
    argv[n++] = (char *)mongo;
    argv[n++] = "--http-port";
    argv[n++] = (char *)port;
    argv[n++] = "--admin-port";
    argv[n++] = (char *)admin_port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--rest-over-tcp";
    argv[n++] = "--sidecar-socket";
    argv[n++] = (char *)sock;
    if (app_sock) {
        argv[n++] = "--app-socket";
        argv[n++] = (char *)app_sock;
    }
    return n;
}

void h_sidecar_start(h_sidecar_t *sc, const char *name, const char *app, const char *const *extra) {
    h_sidecar_start_ex(sc, name, app, extra, NULL, 1);
}

void h_sidecar_start_ex(h_sidecar_t *sc, const char *name, const char *app, const char *const *extra,
                        const char *nats_url, int wait_ready) {
    static int seq;
    memset(sc, 0, sizeof *sc);
    /* "=name": exactly that component (a second replica of an earlier one). */
    if (name[0] == '=')
        snprintf(sc->component, sizeof sc->component, "%s", name + 1);
    else { /* random: streams outlive test runs in a developer's long-lived testenv */
        unsigned rnd = (unsigned)getpid();
        FILE *u = fopen("/dev/urandom", "rb");
        if (u) {
            if (fread(&rnd, sizeof rnd, 1, u) != 1) rnd = (unsigned)getpid();
            fclose(u);
        }
        snprintf(sc->component, sizeof sc->component, "%s-%08x-%d", name, rnd, seq++);
    }
    snprintf(sc->stream, sizeof sc->stream, "BYRON_it_%s", sc->component);
    for (char *p = sc->stream; *p; p++)
        if (*p == '-') *p = '_';
    snprintf(sc->dir, sizeof sc->dir, "/tmp/byron-it-XXXXXX");
    cr_assert_not_null(mkdtemp(sc->dir));
    write_config(sc);
    snprintf(sc->sock, sizeof sc->sock, "%s/sidecar.sock", sc->dir);
    snprintf(sc->app_sock, sizeof sc->app_sock, "%s/app.sock", sc->dir);
    snprintf(sc->log, sizeof sc->log, "%s/sidecar.log", sc->dir);
    snprintf(sc->app_log, sizeof sc->app_log, "%s/app.log", sc->dir);
    sc->port = h_free_port();
    sc->admin_port = h_free_port();
    char bin[600], port[16], admin[16], mongo[600];
    snprintf(admin, sizeof admin, "%d", sc->admin_port);
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(port, sizeof port, "%d", sc->port);
    const char *uri = h_env("BYRON_MONGO_URI");
    snprintf(mongo, sizeof mongo, "%s", uri);
    char nats[600];
    snprintf(nats, sizeof nats, "%s", nats_url ? nats_url : h_env("BYRON_NATS_URL"));
    char *argv[40];
    int n = h_sidecar_argv(argv, bin, "--mode=api", sc->config, nats, mongo, port, admin, sc->sock,
                           app ? sc->app_sock : NULL);
    for (const char *const *e = extra; e && *e && n < 38; e++) argv[n++] = (char *)*e;
    argv[n] = NULL;
    sc->pid = h_spawn(argv, sc->log, NULL);
    if (app)
        sc->app_pid = app_spawn(strcmp(app, "node") == 0     ? 2
                                : strcmp(app, "orders") == 0 ? 3
                                                             : 1,
                                sc->app_sock, sc->sock, sc->app_log, NULL);
    for (int i = 0; i < 300; i++) {
        h_resp_t r;
        if (h_http(NULL, sc->admin_port, "GET", wait_ready ? "/readyz" : "/healthz", NULL, 1000, &r) == 0 &&
            r.status == 200) {
            h_resp_free(&r);
            return;
        }
        h_resp_free(&r);
        sleep_ms(50);
    }
    cr_assert_fail("sidecar not ready within 15 s; see %s", sc->log);
}

void h_sidecar_app_restart(h_sidecar_t *sc, const char *app, char *const *app_env) {
    app_stop(&sc->app_pid, sc->app_log);
    sc->app_pid = app_spawn(strcmp(app, "node") == 0 ? 2 : 1, sc->app_sock, sc->sock, sc->app_log, app_env);
    int64_t deadline = h_mono_ms() + 20000;
    for (;;) {
        h_resp_t r;
        int up = h_http(sc->app_sock, 0, "GET", "/v1/health", NULL, 1000, &r) == 0 && r.status == 200;
        h_resp_free(&r);
        if (up) return;
        cr_assert_lt(h_mono_ms(), deadline, "the app did not answer /v1/health within 20 s; see %s",
                     sc->app_log);
        h_sleep_ms(50);
    }
}

int h_sidecar_stop(h_sidecar_t *sc) {
    int rc = -1;
    if (sc->pid > 0) {
        kill(sc->pid, SIGTERM);
        rc = h_wait_exit(sc->pid, 15000);
        sc->pid = 0;
        cr_expect_eq(rc, 0, "the api sidecar exited with %d on SIGTERM; see %s", rc, sc->log);
    }
    app_stop(&sc->app_pid, sc->app_log);
    return rc;
}

int h_http(const char *unix_path, int port, const char *method, const char *path, const char *body,
           long timeout_ms, h_resp_t *out) {
    return h_http_hdr(unix_path, port, method, path, body, timeout_ms, NULL, out);
}

int h_http_hdr(const char *unix_path, int port, const char *method, const char *path, const char *body,
               long timeout_ms, const char *header, h_resp_t *out) {
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", unix_path ? 80 : port, path);
    byron_buf_t b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (header) h = curl_slist_append(h, header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (unix_path) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    (void)method;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    out->body = b.buf;
    if (b.buf) {
        byron_err_t e;
        if (byron_json_parse(b.buf, b.len, 0, &out->json, &e) != BYRON_OK) out->json = NULL;
    }
    return rc == CURLE_OK ? 0 : -1;
}

void h_resp_free(h_resp_t *r) {
    free(r->body);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

int h_command(h_sidecar_t *sc, const char *cmd, const char *body, h_resp_t *out) {
    char path[256];
    snprintf(path, sizeof path, "/v1/commands/%s", cmd);
    return h_http(NULL, sc->port, "POST", path, body, 30000, out);
}

const char *h_error_code(h_resp_t *r) {
    json_object *e, *c;
    if (r->json && json_object_object_get_ex(r->json, "error", &e) &&
        json_object_object_get_ex(e, "code", &c))
        return json_object_get_string(c);
    return "";
}

json_object *h_stream_events(const char *stream, const char *prefix) {
    return h_stream_events_at(h_env("BYRON_NATS_URL"), stream, prefix);
}

json_object *h_stream_events_at(const char *nats_url, const char *stream, const char *prefix) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, nats_url), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(js_GetStreamInfo(&si, js, stream, NULL, &jerr), NATS_OK, "stream %s: %d", stream, jerr);
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    json_object *arr = json_object_new_array();
    for (uint64_t seq = first; seq && seq <= last; seq++) {
        natsMsg *m = NULL;
        if (js_GetMsg(&m, js, stream, seq, NULL, &jerr) != NATS_OK) continue;
        const char *subj = natsMsg_GetSubject(m);
        if (!prefix || strncmp(subj, prefix, strlen(prefix)) == 0) {
            json_object *o = json_object_new_object();
            const char *id = NULL;
            natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
            json_object_object_add(o, "seq", json_object_new_uint64(seq));
            json_object_object_add(o, "subject", json_object_new_string(subj));
            json_object_object_add(o, "msgid", byron_json_str(id));
            json_object *ev = NULL;
            byron_err_t e;
            if (byron_json_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &ev, &e) !=
                BYRON_OK)
                ev = NULL;
            json_object_object_add(o, "event", ev);
            json_object_array_add(arr, o);
        }
        natsMsg_Destroy(m);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return arr;
}

int h_file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    if (f) fclose(f);
    return found;
}

void h_assert_fold_equals_cache(const char *config, const char *app_sock) {
    char *report = NULL;
    int rc = h_verify(config, app_sock, &report);
    cr_assert_eq(rc, 0, "the cache is not the fold of the log:\n%s", report ? report : "");
    free(report);
}

static void nats_launch(h_nats_t *n) {
    char port[16], mon[16], store[96];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(mon, sizeof mon, "%d", n->monitor);
    snprintf(store, sizeof store, "%s/js", n->dir);
    char *argv[] = {(char *)h_env("BYRON_NATS_SERVER"),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    port,
                    "-m",
                    mon,
                    "-js",
                    "-sd",
                    store,
                    "--server_name",
                    "byron-private",
                    NULL};
    n->pid = h_spawn(argv, n->log, NULL);
    int64_t deadline = h_mono_ms() + 20000;
    for (;;) {
        h_resp_t r;
        int ok = h_http(NULL, n->monitor, "GET", "/healthz?js-enabled-only=true", NULL, 1000, &r) == 0 &&
                 r.status == 200;
        h_resp_free(&r);
        if (ok) return;
        cr_assert_lt(h_mono_ms(), deadline, "nats-server not ready within 20 s; see %s", n->log);
        sleep_ms(20);
    }
}

void h_nats_start(h_nats_t *n) {
    memset(n, 0, sizeof *n);
    snprintf(n->dir, sizeof n->dir, "/tmp/byron-nats-XXXXXX");
    cr_assert_not_null(mkdtemp(n->dir));
    snprintf(n->log, sizeof n->log, "%s/nats.log", n->dir);
    n->port = h_free_port();
    n->monitor = h_free_port();
    snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
    nats_launch(n);
}

int h_nats_stop(h_nats_t *n, int sig) {
    if (n->pid <= 0) return -1;
    kill(n->pid, sig);
    int rc = h_wait_exit(n->pid, 20000);
    n->pid = 0;
    return rc;
}

void h_nats_restart(h_nats_t *n) { nats_launch(n); }
