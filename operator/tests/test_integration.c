/* test_integration.c — byron-operator against the real kube-apiserver of
 * scripts/testenv. No controller-manager runs there: Deployments never get
 * ready by themselves, so the tests write workload status themselves, and
 * the garbage collector never deletes children (we check their owner
 * references instead). Each test gets its own namespace and its own
 * operator process (the real binary, scoped with --namespace). */
#include "byron/base64.h"
#include "byron/buf.h"
#include "byron/file.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/kubeconfig.h"
#include "byron/yaml.h"
#include "child.h"
#include "component.h" /* the sidecar's parser: it must accept the component.json we write */
#include "informer.h"
#include "jpath.h"
#include "natsidentity.h"
#include "natsjwt.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static byron_kube_client_t *kc;

static void setup_client(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    byron_kube_config_t *cfg = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(byron_testenv("BYRON_KUBECONFIG"), NULL, &cfg, &err), BYRON_OK, "%s",
                 err.msg);
    cr_assert_not_null(kc = byron_kube_client_new(cfg, &err), "%s", err.msg);
}

static void sleep_ms(long ms) { byron_test_sleep_ms(ms); }

/* GET; NULL on 404 (fails the test on other errors). */
static json_object *kget(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *kget(const char *fmt, ...) {
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    json_object *o = NULL;
    byron_err_t err = {0};
    byron_status_t st = byron_kube_do(kc, "GET", path, NULL, NULL, &o, &err);
    if (st == BYRON_ENOTFOUND) return NULL;
    cr_assert_eq(st, BYRON_OK, "%s", err.msg);
    return o;
}

static byron_status_t kdo(const char *method, const char *path, const char *ctype, const char *body,
                          byron_err_t *err) {
    json_object *b = NULL;
    if (body) cr_assert_eq(byron_json_parse(body, strlen(body), 0, &b, err), BYRON_OK, "%s", err->msg);
    byron_status_t st = byron_kube_do(kc, method, path, ctype, b, NULL, err);
    json_object_put(b);
    return st;
}

/* Apply the CRD in file (named name) and wait until served_path answers. */
static void install_crd_file(const char *file, const char *name, const char *served_path) {
    char path[1024], *buf = NULL;
    size_t len;
    byron_err_t err = {0};
    cr_assert_eq(byron_file_read(file, 1 << 20, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    json_object *crd = NULL;
    cr_assert_eq(byron_yaml_parse(buf, len, 1, &crd, &err), BYRON_OK, "%s", err.msg);
    free(buf);
    snprintf(path, sizeof path, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s", name);
    cr_assert_eq(byron_kube_apply(kc, path, crd, NULL, &err), BYRON_OK, "%s", err.msg);
    json_object_put(crd);
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        json_object *o = NULL;
        if (byron_kube_do(kc, "GET", served_path, NULL, NULL, &o, &err) == BYRON_OK) {
            json_object_put(o);
            break;
        }
        cr_assert_lt(byron_test_now_ms(), deadline, "CRD not served: %s", err.msg);
        sleep_ms(100);
    }
}

static void install_crd(void) {
    char file[1024];
    snprintf(file, sizeof file, "%s/crds/byron.io_byroncomponents.yaml", getenv("BYRON_SOURCE_DIR"));
    install_crd_file(file, "byroncomponents.byron.io", "/apis/byron.io/v1alpha1/byroncomponents");
}

static char ns[64];

static void make_namespace(void) {
    static int n;
    snprintf(ns, sizeof ns, "it-%d-%d", (int)getpid(), n++);
    char body[256];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("POST", "/api/v1/namespaces", "application/json", body, &err), BYRON_OK, "%s", err.msg);
}

static void setup(void) {
    setup_client();
    install_crd();
    make_namespace();
}

static void teardown(void) {
    byron_kube_client_free(kc);
    kc = NULL;
    curl_global_cleanup();
}

TestSuite(operator, .init = setup, .fini = teardown, .timeout = 180);

typedef struct op {
    pid_t pid;
    int port;
    char log[256];
} op_t;

/* Start the real binary; extra: NULL-terminated extra flags. */
static const char *op_kubeconfig; /* NULL: the testenv admin */
static op_t start_operator(const char *const *extra) {
    op_t op = {0};
    op.port = byron_test_free_port();
    snprintf(op.log, sizeof op.log, "/tmp/byron-operator-%s-%d.log", ns, op.port);
    char bin[1024], port[16];
    snprintf(bin, sizeof bin, "%s/operator/byron-operator", getenv("BYRON_BINARY_DIR"));
    snprintf(port, sizeof port, "%d", op.port);
    const char *argv[32] = {bin,
                            "--kubeconfig",
                            op_kubeconfig ? op_kubeconfig : byron_testenv("BYRON_KUBECONFIG"),
                            "--namespace",
                            ns,
                            "--sidecar-image",
                            "byron-sidecar:it",
                            "--default-broker-url",
                            byron_testenv("BYRON_NATS_URL"),
                            "--metrics-port",
                            port,
                            "--probe-port",
                            port,
                            "--log-level",
                            "debug"};
    int n = 15;
    for (int i = 0; extra && extra[i] && n < 31; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    unlink(op.log); /* the log appends: no report of an earlier run on the same port */
    op.pid = byron_test_spawn((char *const *)argv, NULL, op.log, NULL);
    return op;
}

/* SIGTERM and wait (30 s at most): the exit status. Anything but a clean exit
 * (0) fails the test here, and so does a sanitizer report in the log. */
static int stop_operator(op_t *op) {
    if (op->pid <= 0) return -1;
    kill(op->pid, SIGTERM);
    int rc = byron_test_wait_exit(op->pid, 30000);
    op->pid = 0;
    cr_expect_eq(rc, 0, "the operator exited with %d on SIGTERM; see %s", rc, op->log);
    return rc;
}

/* Plain HTTP (metrics, etcd's JSON gateway). Caller frees; NULL on failure. */
/* Why the last http() returned NULL (curl's words), for the assertion's message. */
static char http_error[CURL_ERROR_SIZE];

static char *http(const char *method, const char *url, const char *body) {
    CURL *c = curl_easy_init();
    http_error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, http_error);
    byron_buf_t b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.buf);
        return NULL;
    }
    return b.buf ? b.buf : strdup("");
}

/* Value of one metric series line ("name{labels}") or -1. */
static double metric(op_t *op, const char *series) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", op->port);
    char *text = http("GET", url, NULL);
    if (!text) return -1;
    double v = -1;
    char *p = strstr(text, series);
    if (p) v = strtod(p + strlen(series), NULL);
    free(text);
    return v;
}

/* The operator's write requests so far: rest_client_requests_total of POST,
 * PUT, PATCH and DELETE, every code. A server-side apply that changes nothing
 * keeps the object's resourceVersion, so "nothing written" is counted here. */
static double requests_with(op_t *op, const char *const *methods, size_t n_methods) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", op->port);
    char *text = http("GET", url, NULL);
    cr_assert_not_null(text, "no metrics from the operator; see %s", op->log);
    double n = 0;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "rest_client_requests_total{", 27) != 0) continue;
        char *end = strchr(line, '}'), *nl = strchr(line, '\n');
        for (size_t i = 0; end && i < n_methods; i++) {
            char *hit = strstr(line, methods[i]);
            if (hit && hit < end && (!nl || end < nl)) n += strtod(end + 1, NULL);
        }
    }
    free(text);
    return n;
}

static double writes(op_t *op) {
    static const char *const M[] = {"method=\"POST\"", "method=\"PUT\"", "method=\"PATCH\"",
                                    "method=\"DELETE\""};
    return requests_with(op, M, 4);
}

static double applies(op_t *op) {
    static const char *const M[] = {"method=\"PATCH\""};
    return requests_with(op, M, 1);
}

static double reconciles(op_t *op) {
    return metric(op, "controller_runtime_reconcile_total{controller=\"byroncomponent\",result=\"success\"}");
}

/* Wait until the operator answers on its metrics port; fails the test after timeout_ms. */
static void wait_serving(op_t *op, long timeout_ms) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", op->port);
    long long deadline = byron_test_now_ms() + timeout_ms;
    char *text;
    while (!(text = http("GET", url, NULL))) {
        cr_assert_lt(byron_test_now_ms(), deadline, "the operator does not serve /metrics (see %s)", op->log);
        sleep_ms(20);
    }
    free(text);
}

/* Wait until more reconciles than after have finished; fails the test after timeout_ms. */
static void wait_reconciles(op_t *op, double after, long timeout_ms, const char *what) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    while (reconciles(op) <= after) {
        cr_assert_lt(byron_test_now_ms(), deadline, "no reconcile %s (see %s)", what, op->log);
        sleep_ms(20);
    }
}

/* Wait until no key is queued or being reconciled: a status the test can
 * read may belong to a reconcile that has not yet counted its own write or
 * its end. (Keys waiting out a delay — a resync, a backoff — are not counted.) */
static void wait_idle(op_t *op, long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    for (;;) {
        if (metric(op, "byron_workqueue_unfinished_keys{name=\"byroncomponent\"}") == 0) return;
        cr_assert_lt(byron_test_now_ms(), deadline, "the operator did not go idle (see %s)", op->log);
        sleep_ms(20);
    }
}

static const char *BC_JSON =
    "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"%s\"},"
    "\"spec\":{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\"}]}],"
    "\"api\":{\"replicas\":2},\"sink\":{\"image\":\"acme/orders:1\"}}}";

static void create_bc(const char *name) {
    char body[2048], path[256];
    snprintf(body, sizeof body, BC_JSON, name);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("POST", path, "application/json", body, &err), BYRON_OK, "%s", err.msg);
}

static const char *CHILDREN[][2] = {
    {"/apis/apps/v1/namespaces/%s/deployments/%s-api", "Deployment"},
    {"/apis/apps/v1/namespaces/%s/deployments/%s-sink", "Deployment"},
    {"/apis/apps/v1/namespaces/%s/statefulsets/%s-cache", "StatefulSet"},
    {"/api/v1/namespaces/%s/services/%s-cache", "Service"},
    {"/api/v1/namespaces/%s/services/%s-api", "Service"},
    {"/api/v1/namespaces/%s/configmaps/%s-config", "ConfigMap"},
    {"/api/v1/namespaces/%s/secrets/%s-cache-credentials", "Secret"},
};
#define N_CHILDREN 7

static json_object *get_child(int i, const char *name) {
    char path[512];
    snprintf(path, sizeof path, CHILDREN[i][0], ns, name);
    return kget("%s", path);
}

static json_object *get_bc(const char *name) {
    return kget("/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/%s", ns, name);
}

static void wait_children(const char *name, long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o;
        while (!(o = get_child(i, name))) {
            cr_assert_lt(byron_test_now_ms(), deadline, "%s %s-... not created", CHILDREN[i][1], name);
            sleep_ms(50);
        }
        json_object_put(o);
    }
}

/* Wait until the component's status satisfies pred. Returns the object. */
static json_object *wait_bc(const char *name, int (*pred)(json_object *), long timeout_ms, const char *what) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    for (;;) {
        json_object *o = get_bc(name);
        if (o && pred(o)) return o;
        json_object_put(o);
        cr_assert_lt(byron_test_now_ms(), deadline, "timed out waiting for %s", what);
        sleep_ms(50);
    }
}

static int has_status(json_object *o) {
    return json_object_get_int64(at(o, "status|observedGeneration")) ==
           json_object_get_int64(at(o, "metadata|generation"));
}

static const char *condition(json_object *o, const char *type, const char *field) {
    json_object *conds = at(o, "status|conditions");
    for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
        json_object *cd = json_object_array_get_idx(conds, i);
        if (!strcmp(s_at(cd, "type"), type)) return s_at(cd, field);
    }
    return "";
}

/* The usual opening: an operator, one component, its children and status. */
static op_t operator_with_component(const char *name, const char *const *extra) {
    op_t op = start_operator(extra);
    create_bc(name);
    wait_children(name, 20000);
    json_object_put(wait_bc(name, has_status, 20000, "status"));
    wait_idle(&op, 20000);
    return op;
}

/* Wait until child i of component name is gone. */
static void wait_gone(int i, const char *name, long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    json_object *o;
    while ((o = get_child(i, name))) {
        json_object_put(o);
        cr_assert_lt(byron_test_now_ms(), deadline, "%s of %s still there", CHILDREN[i][1], name);
        sleep_ms(50);
    }
}

Test(operator, create_makes_every_child_with_owner_references_and_status) {
    op_t op = start_operator(NULL);
    create_bc("orders");
    wait_children("orders", 20000);
    json_object *bc = wait_bc("orders", has_status, 20000, "status");
    const char *uid = s_at(bc, "metadata|uid");
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "orders");
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|uid"), uid, "%s", CHILDREN[i][1]);
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|controller"), "true");
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|blockOwnerDeletion"), "true");
        cr_assert_str_eq(s_at(o, "metadata|labels|app.kubernetes.io/managed-by"), "byron-operator");
        json_object_put(o);
    }
    json_object *api = get_child(0, "orders"), *sink = get_child(1, "orders");
    cr_assert_eq(json_object_get_int(at(api, "spec|replicas")), 2);
    cr_assert_str_eq(s_at(api, "spec|template|spec|containers|0|name"), "byron-sidecar",
                     "no api image: sidecar only");
    cr_assert_str_eq(s_at(api, "spec|template|spec|containers|0|image"), "byron-sidecar:it");
    cr_assert_str_eq(s_at(sink, "spec|template|spec|containers|0|image"), "acme/orders:1");
    cr_assert_str_eq(s_at(sink, "spec|template|spec|containers|1|args|0"), "--mode=sink");
    cr_assert_eq(json_object_get_int(at(sink, "spec|replicas")), 1, "unset: the API server's default");
    json_object *cm = get_child(5, "orders");
    cr_assert(strstr(s_at(cm, "data|component.json"), "\"component\":\"orders\""), "%s",
              s_at(cm, "data|component.json"));
    cr_assert_str_eq(condition(bc, "Ready", "status"), "False");
    cr_assert_str_eq(condition(bc, "Progressing", "status"), "True");
    cr_assert_str_eq(condition(bc, "Degraded", "status"), "False");
    cr_assert_str_eq(s_at(bc, "status|api|ready"), "0/2");
    cr_assert(strstr(s_at(bc, "status|graphqlEndpoint"), "orders-api."));
    /* The Secret is never re-applied: its password survives reconciles. */
    json_object *sec = get_child(6, "orders");
    char pw[256];
    snprintf(pw, sizeof pw, "%s", s_at(sec, "data|password"));
    cr_assert_gt(strlen(pw), 20);
    /* Idle: a reconcile with nothing to change writes nothing (status only
     * when changed). A label on a child (its applied hash unchanged) makes the
     * operator reconcile the component once more; its write requests are
     * counted (a server-side apply that changes nothing keeps resourceVersions). */
    wait_idle(&op, 20000);
    double w0 = writes(&op), r0 = reconciles(&op);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/orders-config", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json",
                     "{\"metadata\":{\"labels\":{\"touched\":\"1\"}}}", &err),
                 BYRON_OK, "%s", err.msg);
    wait_reconciles(&op, r0, 20000, "after the label");
    cr_assert_eq(writes(&op), w0, "%g write requests while nothing changed (see %s)", writes(&op) - w0,
                 op.log);
    json_object_put(sec);
    json_object_put(cm);
    json_object_put(api);
    json_object_put(sink);
    json_object_put(bc);
    cr_assert_eq(stop_operator(&op), 0, "clean exit on SIGTERM");
}

static int api_three(json_object *o) { return !strcmp(s_at(o, "status|api|ready"), "0/3"); }

Test(operator, api_replicas_change_touches_only_the_api_deployment) {
    op_t op = operator_with_component("orders", NULL);
    char before[N_CHILDREN][32];
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "orders");
        snprintf(before[i], 32, "%s", s_at(o, "metadata|resourceVersion"));
        json_object_put(o);
    }
    json_object *api0 = get_child(0, "orders");
    char hash0[64];
    snprintf(hash0, sizeof hash0, "%s",
             s_at(api0, "spec|template|metadata|annotations|byron.io/config-hash"));
    json_object_put(api0);
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/orders", ns);
    byron_err_t err = {0};
    double r0 = reconciles(&op);
    cr_assert_eq(
        kdo("PATCH", path, "application/merge-patch+json", "{\"spec\":{\"api\":{\"replicas\":3}}}", &err),
        BYRON_OK, "%s", err.msg);
    json_object_put(wait_bc("orders", api_three, 20000, "api 0/3"));
    wait_reconciles(&op, r0, 20000, "of the change"); /* the one that wrote 0/3 has finished */
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "orders");
        if (i == 0) {
            cr_assert_str_neq(s_at(o, "metadata|resourceVersion"), before[i], "API Deployment unchanged");
            cr_assert_eq(json_object_get_int(at(o, "spec|replicas")), 3);
            cr_assert_str_eq(s_at(o, "spec|template|metadata|annotations|byron.io/config-hash"), hash0,
                             "pods rolled");
        } else {
            cr_assert_str_eq(s_at(o, "metadata|resourceVersion"), before[i], "%s changed", CHILDREN[i][1]);
        }
        json_object_put(o);
    }
    stop_operator(&op);
}

/* component.json of <name>-config as the sidecar parses it: its
 * schemaGeneration (the test fails when the sidecar would refuse it). */
static int64_t config_schema_generation(const char *name, char *rv, size_t rvn) {
    json_object *cm = get_child(5, name), *cj = NULL;
    cr_assert_not_null(cm);
    const char *text = s_at(cm, "data|component.json");
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &cj, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_component_parse(cj, &c, &err), BYRON_OK, "the sidecar refuses component.json: %s",
                 err.msg);
    int64_t g = c->schema_generation;
    snprintf(rv, rvn, "%s", s_at(cm, "metadata|resourceVersion"));
    byron_component_free(c);
    json_object_put(cj);
    json_object_put(cm);
    return g;
}

static void pod_config_hashes(const char *name, char out[2][32]) {
    for (int i = 0; i < 2; i++) {
        json_object *dep = get_child(i, name);
        snprintf(out[i], 32, "%s", s_at(dep, "spec|template|metadata|annotations|byron.io/config-hash"));
        json_object_put(dep);
    }
}

static void patch_bc(const char *name, const char *ctype, const char *body) {
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/%s", ns, name);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, ctype, body, &err), BYRON_OK, "%s: %s", body, err.msg);
}

/* The status of the current generation, with status.schema. */
static int schema_observed(json_object *o) { return has_status(o) && at(o, "status|schema|hash"); }
static int invalid_observed(json_object *o) {
    return has_status(o) && !strcmp(condition(o, "Ready", "reason"), "InvalidSpec");
}

/* schemaGeneration (docs/evolution.md) on the real API server: the CRD keeps
 * status.schema; an added optional field raises component.json's
 * schemaGeneration to that generation and rolls the pods; scaling (before
 * and after) and an invalid spec in between change neither; the sidecar's
 * parser accepts every component.json written. Each check follows the status
 * of its generation, which the operator writes after applying the children. */
Test(operator, schema_generation_rises_with_the_schema_not_with_scaling) {
    op_t op = operator_with_component("orders", NULL);
    char rv0[32], rv[32], hash0[2][32], hash[2][32];
    json_object *bc = wait_bc("orders", schema_observed, 20000, "status.schema");
    cr_assert_eq(json_object_get_int64(at(bc, "status|schema|generation")), 1);
    json_object_put(bc);
    cr_assert_eq(config_schema_generation("orders", rv0, sizeof rv0), 1);
    pod_config_hashes("orders", hash0);

    /* Scaling: generation 2, schemaGeneration stays 1, no pod rolls. */
    patch_bc("orders", "application/merge-patch+json", "{\"spec\":{\"api\":{\"replicas\":3}}}");
    bc = wait_bc("orders", api_three, 20000, "api 0/3");
    cr_assert_eq(json_object_get_int64(at(bc, "metadata|generation")), 2);
    cr_assert_eq(json_object_get_int64(at(bc, "status|schema|generation")), 1);
    json_object_put(bc);
    cr_assert_eq(config_schema_generation("orders", rv, sizeof rv), 1);
    cr_assert_str_eq(rv, rv0, "scaling rewrote component.json");
    pod_config_hashes("orders", hash);
    cr_assert_str_eq(hash[0], hash0[0], "scaling rolled the API pods");
    cr_assert_str_eq(hash[1], hash0[1], "scaling rolled the Sink pods");

    /* An optional field: generation 3 is the new schemaGeneration; both roll. */
    patch_bc("orders", "application/json-patch+json",
             "[{\"op\":\"add\",\"path\":\"/spec/models/0/fields/-\","
             "\"value\":{\"name\":\"note\",\"type\":\"String\"}}]");
    bc = wait_bc("orders", schema_observed, 20000, "status of generation 3");
    cr_assert_eq(json_object_get_int64(at(bc, "metadata|generation")), 3);
    cr_assert_eq(json_object_get_int64(at(bc, "status|schema|generation")), 3);
    json_object_put(bc);
    cr_assert_eq(config_schema_generation("orders", rv0, sizeof rv0), 3);
    pod_config_hashes("orders", hash);
    cr_assert_str_neq(hash[0], hash0[0], "the API pods did not roll for a new field");
    cr_assert_str_neq(hash[1], hash0[1], "the Sink pods did not roll for a new field");
    memcpy(hash0, hash, sizeof hash);

    /* A spec only the operator refuses (generation 4) keeps the recorded
     * schema; once repaired (generation 5) nothing rolls. */
    char body[512];
    snprintf(body, sizeof body,
             "{\"spec\":{\"subscriptions\":[{\"component\":\"customers\"},"
             "{\"component\":\"customers\",\"namespace\":\"%s\"}]}}",
             ns);
    patch_bc("orders", "application/merge-patch+json", body);
    bc = wait_bc("orders", invalid_observed, 20000, "InvalidSpec at generation 4");
    cr_assert_eq(json_object_get_int64(at(bc, "status|schema|generation")), 3,
                 "an invalid spec lost status.schema");
    json_object_put(bc);
    patch_bc("orders", "application/merge-patch+json", "{\"spec\":{\"subscriptions\":null}}");
    bc = wait_bc("orders", schema_observed, 20000, "status of generation 5");
    cr_assert_eq(json_object_get_int64(at(bc, "metadata|generation")), 5);
    cr_assert_str_eq(condition(bc, "Degraded", "reason"), "Reconciled");
    cr_assert_eq(json_object_get_int64(at(bc, "status|schema|generation")), 3);
    json_object_put(bc);
    cr_assert_eq(config_schema_generation("orders", rv, sizeof rv), 3);
    cr_assert_str_eq(rv, rv0, "component.json rewritten after an invalid spec was repaired");
    pod_config_hashes("orders", hash);
    cr_assert_str_eq(hash[0], hash0[0]);
    cr_assert_str_eq(hash[1], hash0[1]);
    cr_assert_eq(stop_operator(&op), 0);
}

static void set_ready(const char *kind_path, const char *name, int ready) {
    char path[512], body[256];
    snprintf(path, sizeof path, "%s/namespaces/%s/%s/status", kind_path, ns, name);
    snprintf(body, sizeof body,
             "{\"status\":{\"replicas\":%d,\"readyReplicas\":%d,\"availableReplicas\":%d}}", ready, ready,
             ready);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", body, &err), BYRON_OK, "%s", err.msg);
}

static int api_and_sink_ready(json_object *o) {
    return !strcmp(s_at(o, "status|api|ready"), "2/2") && !strcmp(s_at(o, "status|sink|ready"), "1/1");
}
static int is_ready(json_object *o) { return !strcmp(condition(o, "Ready", "status"), "True"); }
static int not_ready(json_object *o) { return !strcmp(condition(o, "Ready", "status"), "False"); }

Test(operator, status_follows_workload_status) {
    op_t op = operator_with_component("orders", NULL);
    set_ready("/apis/apps/v1", "deployments/orders-api", 2);
    set_ready("/apis/apps/v1", "deployments/orders-sink", 1);
    json_object *bc = wait_bc("orders", api_and_sink_ready, 20000, "api 2/2 and sink 1/1");
    cr_assert_str_eq(condition(bc, "Ready", "status"), "False", "cache not ready yet");
    json_object_put(bc);
    set_ready("/apis/apps/v1", "statefulsets/orders-cache", 1);
    bc = wait_bc("orders", is_ready, 20000, "Ready=True");
    cr_assert_str_eq(s_at(bc, "status|api|ready"), "2/2");
    cr_assert_str_eq(s_at(bc, "status|sink|ready"), "1/1");
    cr_assert_str_eq(s_at(bc, "status|cache|state"), "Ready");
    cr_assert_str_eq(condition(bc, "Progressing", "status"), "False");
    json_object_put(bc);
    set_ready("/apis/apps/v1", "deployments/orders-sink", 0);
    bc = wait_bc("orders", not_ready, 20000, "Ready=False after the sink lost its pod");
    cr_assert_str_eq(s_at(bc, "status|sink|ready"), "0/1");
    cr_assert_str_eq(condition(bc, "Ready", "reason"), "ComponentsNotReady");
    json_object_put(bc);
    stop_operator(&op);
}

static int external(json_object *o) { return !strcmp(s_at(o, "status|cache|state"), "External"); }

Test(operator, switching_to_an_external_cache_deletes_the_statefulset) {
    op_t op = operator_with_component("orders", NULL);
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/orders", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json",
                     "{\"spec\":{\"cache\":{\"external\":{\"uri\":\"mongodb://db.example:27017/\"}}}}", &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(wait_bc("orders", external, 20000, "cache External"));
    wait_gone(2, "orders", 10000); /* StatefulSet */
    wait_gone(3, "orders", 10000); /* and its headless Service */
    json_object *api = get_child(0, "orders");
    cr_assert(strstr(json_object_to_json_string_ext(api, JSON_C_TO_STRING_NOSLASHESCAPE),
                     "mongodb://db.example:27017/"),
              "sidecar uses the external URI");
    json_object_put(api);
    stop_operator(&op);
}

/* POST a component; expect 422 naming `field`. */
static void expect_rejected(const char *spec, const char *field) {
    char body[4096], path[256];
    snprintf(
        body, sizeof body,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"bad\"},"
        "\"spec\":%s}",
        spec);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("POST", path, "application/json", body, &err), BYRON_EINVAL, "accepted: %s", spec);
    cr_assert(strstr(err.msg, field), "'%s' does not name %s", err.msg, field);
}

Test(operator, invalid_components_are_rejected_naming_the_field) {
    expect_rejected("{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"x\",\"type\":\"Nope\"}]}]}",
                    "spec.models[].fields[].type");
    expect_rejected("{\"models\":[{\"name\":\"Order\"},{\"name\":\"Order\"}]}", "spec.models[1]");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"commands\":[{\"name\":\"ship\",\"model\":"
                    "\"Parcel\",\"emits\":[\"Shipped\"]}]}",
                    "spec.commands[].model");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"commands\":[{\"name\":\"createOrder\",\"model\":"
                    "\"Order\",\"emits\":[\"X\"]}]}",
                    "spec.commands[].name");
    expect_rejected("{\"models\":[{\"name\":\"order\"}]}", "spec.models[0].name");
    expect_rejected("{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"ID\"}]}]}",
                    "spec.models[0].fields[0]");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"cache\":{\"storage\":{\"size\":\"1Gi\"},"
                    "\"external\":{\"uri\":\"mongodb://x\"}}}",
                    "spec.cache");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"cache\":{\"external\":{}}}", "spec.cache.external");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"partitions\":0}", "spec.partitions");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"api\":{\"replicas\":-1}}", "spec.api.replicas");
    expect_rejected("{\"models\":[{\"name\":\"Order\"}],\"broker\":{\"url\":\"http://x\"}}",
                    "spec.broker.url");
    /* Names that could not name a Service (<name>-api) are refused up front. */
    char body[512], path0[256];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"byron.io/"
             "v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"9lives\"},"
             "\"spec\":{}}");
    snprintf(path0, sizeof path0, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err0 = {0};
    cr_assert_eq(kdo("POST", path0, "application/json", body, &err0), BYRON_EINVAL, "accepted 9lives");
    cr_assert(strstr(err0.msg, "metadata.name"), "%s", err0.msg);
    /* Immutable partitions, on update. */
    create_bc("fixed");
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/fixed", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", "{\"spec\":{\"partitions\":16}}", &err),
                 BYRON_EINVAL);
    cr_assert(strstr(err.msg, "spec.partitions") && strstr(err.msg, "immutable"), "%s", err.msg);
    /* Defaults were applied. */
    json_object *bc = get_bc("fixed");
    cr_assert_eq(json_object_get_int(at(bc, "spec|partitions")), 8);
    /* No cache image default: unset means the operator's --default-cache-image. */
    cr_assert_null(at(bc, "spec|cache|image"));
    cr_assert_not_null(at(bc, "spec|cache"));
    json_object_put(bc);
}

/* Compact etcd at its current revision: every older resourceVersion is gone. */
static void compact_etcd(void) {
    char url[256];
    snprintf(url, sizeof url, "%s/v3/kv/range", byron_testenv("BYRON_ETCD_URL"));
    char *r = http("POST", url, "{\"key\":\"AA==\",\"limit\":1}");
    cr_assert_not_null(r);
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(r, strlen(r), 0, &o, &err), BYRON_OK, "%s", err.msg);
    char body[128];
    snprintf(body, sizeof body, "{\"revision\":\"%s\",\"physical\":true}", s_at(o, "header|revision"));
    free(r);
    json_object_put(o);
    snprintf(url, sizeof url, "%s/v3/kv/compaction", byron_testenv("BYRON_ETCD_URL"));
    r = http("POST", url, body);
    cr_assert_not_null(r);
    free(r);
}

static void churn(int n) { /* writes the operator does not watch: revisions move on */
    char path[256], body[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof body, "{\"metadata\":{\"generateName\":\"churn-\"},\"data\":{\"i\":\"%d\"}}",
                 i);
        byron_err_t err = {0};
        cr_assert_eq(kdo("POST", path, "application/json", body, &err), BYRON_OK, "%s", err.msg);
    }
}

Test(operator, watches_survive_an_api_server_restart_and_410_gone) {
    op_t op = operator_with_component("before", NULL);
    const char *lists = "byron_informer_lists_total{kind=\"ByronComponent\"}";
    cr_assert_eq(metric(&op, lists), 1);
    churn(20);
    compact_etcd();
    cr_assert_eq(byron_testenv_ctl("restart", "kube-apiserver"), 0);
    /* After the restart the informers come back with resourceVersions older
     * than the compaction: 410 Gone, relist, carry on. */
    create_bc("after");
    wait_children("after", 60000);
    json_object_put(wait_bc("after", has_status, 20000, "status after restart"));
    long long deadline = byron_test_now_ms() + 10000;
    while (metric(&op, lists) < 2) {
        cr_assert_lt(byron_test_now_ms(), deadline, "no relist after 410 (lists=%g)", metric(&op, lists));
        sleep_ms(100);
    }
    cr_assert(metric(&op, "byron_informer_watch_errors_total{kind=\"ByronComponent\"}") >= 1,
              "restart was seen");
    stop_operator(&op);
}

static void on_ev(void *ud, byron_event_type_t t, json_object *o) { (*(int *)ud)++; }

Test(operator, informer_relists_when_forced_to_a_too_old_resource_version) {
    create_bc("one");
    churn(5);
    compact_etcd();
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    int events = 0;
    byron_informer_options_t o = {.kind = "ByronComponent",
                                  .path = path,
                                  .handler = on_ev,
                                  .ud = &events,
                                  .initial_resource_version = "2"};
    byron_err_t err = {0};
    byron_informer_t *inf = byron_informer_new(kc, &o, &err);
    cr_assert_not_null(inf, "%s", err.msg);
    cr_assert_eq(byron_informer_start(inf, &err), BYRON_OK);
    long long deadline = byron_test_now_ms() + 15000;
    while (!byron_informer_synced(inf)) {
        cr_assert_lt(byron_test_now_ms(), deadline, "never relisted");
        sleep_ms(50);
    }
    cr_assert_eq(byron_informer_lists(inf), 1);
    char key[128];
    snprintf(key, sizeof key, "%s/one", ns);
    cr_assert(byron_store_has(byron_informer_store(inf), key));
    cr_assert_geq(events, 1);
    /* And it watches on from the list. */
    create_bc("two");
    snprintf(key, sizeof key, "%s/two", ns);
    while (!byron_store_has(byron_informer_store(inf), key)) {
        cr_assert_lt(byron_test_now_ms(), deadline, "watch after relist saw nothing");
        sleep_ms(50);
    }
    byron_informer_free(inf);
}

static json_object *lease(const char *name) {
    return kget("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns, name);
}

Test(operator, two_operators_elect_one_leader_and_hand_over_on_shutdown) {
    const char *extra[] = {"--leader-elect", "--lease-namespace", ns, "--lease-name", "byron-it", NULL};
    const char *leader = "leader_election_master_status{name=\"byron-it\"}";
    op_t a = start_operator(extra);
    long long deadline = byron_test_now_ms() + 20000;
    while (metric(&a, leader) != 1) { /* the first one leads */
        cr_assert_lt(byron_test_now_ms(), deadline, "the only operator did not lead (see %s)", a.log);
        sleep_ms(50);
    }
    op_t b = start_operator(extra);
    while (metric(&a, leader) + metric(&b, leader) != 1) {
        cr_assert_lt(byron_test_now_ms(), deadline, "no single leader (a=%g b=%g)", metric(&a, leader),
                     metric(&b, leader));
        sleep_ms(100);
    }
    /* Three renewals of the lease later there is still exactly one. */
    char renewed[64] = "";
    deadline = byron_test_now_ms() + 30000;
    for (int renewals = 0; renewals < 3;) {
        cr_assert_eq(metric(&a, leader) + metric(&b, leader), 1, "not exactly one leader");
        json_object *lr = lease("byron-it");
        const char *t = s_at(lr, "spec|renewTime");
        if (strcmp(t, renewed) != 0) {
            renewals += renewed[0] != '\0';
            snprintf(renewed, sizeof renewed, "%s", t);
        }
        json_object_put(lr);
        cr_assert_lt(byron_test_now_ms(), deadline, "the lease was renewed %d times in 30 s", renewals);
        sleep_ms(50);
    }
    op_t *lead = metric(&a, leader) == 1 ? &a : &b, *standby = lead == &a ? &b : &a;
    json_object *l = lease("byron-it");
    cr_assert_not_null(l);
    char holder[256];
    snprintf(holder, sizeof holder, "%s", s_at(l, "spec|holderIdentity"));
    cr_assert_gt(strlen(holder), 0);
    json_object_put(l);
    /* Only the leader reconciles. */
    create_bc("led");
    wait_children("led", 20000);
    cr_assert_eq(
        metric(standby,
               "controller_runtime_reconcile_total{controller=\"byroncomponent\",result=\"success\"}"),
        -1, "the standby reconciled");
    cr_assert_eq(stop_operator(lead), 0);
    l = lease("byron-it");
    cr_assert_str_eq(s_at(l, "spec|holderIdentity"), "", "lease released on shutdown");
    json_object_put(l);
    deadline = byron_test_now_ms() + 10000;
    while (metric(standby, leader) != 1) {
        cr_assert_lt(byron_test_now_ms(), deadline, "the standby did not take over");
        sleep_ms(100);
    }
    l = lease("byron-it");
    cr_assert_str_neq(s_at(l, "spec|holderIdentity"), holder);
    cr_assert_geq(json_object_get_int(at(l, "spec|leaseTransitions")), 1);
    json_object_put(l);
    stop_operator(standby);
}

Test(operator, deleted_component_leaves_children_to_the_garbage_collector) {
    op_t op = start_operator(NULL);
    create_bc("gone");
    wait_children("gone", 20000);
    json_object *bc = wait_bc("gone", has_status, 20000, "status");
    char uid[128], path[256];
    snprintf(uid, sizeof uid, "%s", s_at(bc, "metadata|uid"));
    json_object_put(bc);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/gone", ns);
    byron_err_t err = {0};
    wait_idle(&op, 20000); /* the reconcile that wrote the status has counted its writes */
    double w0 = writes(&op), r0 = reconciles(&op);
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    wait_reconciles(&op, r0, 20000, "of the deletion");
    wait_idle(&op, 20000);
    /* No garbage collector runs here: the children stay, each pointing at the
     * deleted owner so the real cluster's collector removes them; the operator
     * neither recreates nor touches them (it wrote nothing). */
    cr_assert_eq(writes(&op), w0, "%g write requests after the deletion", writes(&op) - w0);
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "gone");
        cr_assert_not_null(o);
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|uid"), uid);
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|blockOwnerDeletion"), "true");
        json_object_put(o);
    }
    stop_operator(&op);
}

Test(operator, deleted_child_is_recreated) {
    op_t op = start_operator(NULL);
    create_bc("heal");
    wait_children("heal", 20000);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/heal-config", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    wait_children("heal", 10000);
    stop_operator(&op);
}

/* Apply every document of operator/deploy/rbac.yaml with byron-system → ns.
 * namespaced: as the chart does with operator.watchNamespaces, the ClusterRole's
 * rules become a Role in ns bound by a RoleBinding: no cluster-wide right. */
static void apply_rbac(int namespaced) {
    char path[1024], *buf = NULL;
    size_t len;
    byron_err_t err = {0};
    snprintf(path, sizeof path, "%s/operator/deploy/rbac.yaml", getenv("BYRON_SOURCE_DIR"));
    cr_assert_eq(byron_file_read(path, 1 << 20, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    for (char *doc = buf, *next; doc; doc = next) {
        next = strstr(doc, "\n---\n");
        if (next) {
            *next = '\0';
            next += 5;
        }
        json_object *o = NULL;
        cr_assert_eq(byron_yaml_parse(doc, strlen(doc), 1, &o, &err), BYRON_OK, "%s", err.msg);
        /* Move the namespaced parts into the test namespace. */
        char *text = strdup(
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        char fixed[8192] = "";
        for (char *p = text, *hit; *p; p = hit + strlen("byron-system")) {
            hit = strstr(p, "byron-system");
            if (!hit) {
                strcat(fixed, p);
                break;
            }
            strncat(fixed, p, (size_t)(hit - p));
            strcat(fixed, ns);
        }
        free(text);
        cr_assert_eq(byron_json_parse(fixed, strlen(fixed), 0, &o, &err), BYRON_OK, "%s", err.msg);
        const char *kind = s_at(o, "kind"), *name = s_at(o, "metadata|name");
        char url[512];
        if (namespaced && !strncmp(kind, "Cluster", 7)) {
            const char *k = !strcmp(kind, "ClusterRole") ? "Role" : "RoleBinding";
            json_object_object_add(o, "kind", json_object_new_string(k));
            json_object_object_add(at(o, "metadata"), "namespace", json_object_new_string(ns));
            json_object *ref = at(o, "roleRef");
            if (ref) json_object_object_add(ref, "kind", json_object_new_string("Role"));
            snprintf(url, sizeof url, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/%ss/%s", ns,
                     !strcmp(k, "Role") ? "role" : "rolebinding", name);
        } else if (!strcmp(kind, "ClusterRoleBinding")) {
            char n2[128];
            snprintf(n2, sizeof n2, "byron-operator-%s", ns);
            json_object_object_add(at(o, "metadata"), "name", json_object_new_string(n2));
            snprintf(url, sizeof url, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/%s", n2);
        } else if (!strcmp(kind, "ClusterRole")) {
            snprintf(url, sizeof url, "/apis/rbac.authorization.k8s.io/v1/clusterroles/%s", name);
        } else if (!strcmp(kind, "ServiceAccount")) {
            snprintf(url, sizeof url, "/api/v1/namespaces/%s/serviceaccounts/%s", ns, name);
        } else {
            snprintf(url, sizeof url, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/%ss/%s", ns,
                     !strcmp(kind, "Role") ? "role" : "rolebinding", name);
        }
        cr_assert_eq(byron_kube_apply(kc, url, o, NULL, &err), BYRON_OK, "%s: %s", kind, err.msg);
        json_object_put(o);
    }
    free(buf);
}

/* The operator, with only the rights of operator/deploy/rbac.yaml, runs a
 * component through create, status and a switch to an external cache without
 * one forbidden call. */
static void run_with_least_privilege(int namespaced) {
    apply_rbac(namespaced);
    /* A token for the ServiceAccount, as the kubelet would project it. */
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts/byron-operator/token", ns);
    json_object *req = NULL, *resp = NULL;
    byron_err_t err = {0};
    const char *tr = "{\"apiVersion\":\"authentication.k8s.io/"
                     "v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":3600}}";
    byron_json_parse(tr, strlen(tr), 0, &req, NULL);
    cr_assert_eq(byron_kube_do(kc, "POST", path, "application/json", req, &resp, &err), BYRON_OK, "%s",
                 err.msg);
    char kcfg[256];
    snprintf(kcfg, sizeof kcfg, "/tmp/byron-it-%s.kubeconfig", ns);
    FILE *f = fopen(kcfg, "w");
    fprintf(f,
            "apiVersion: v1\nkind: Config\ncurrent-context: sa\n"
            "clusters: [{name: t, cluster: {server: '%s', certificate-authority: '%s/pki/ca.crt'}}]\n"
            "users: [{name: sa, user: {token: '%s'}}]\n"
            "contexts: [{name: sa, context: {cluster: t, user: sa}}]\n",
            byron_testenv("BYRON_KUBE_SERVER"), byron_testenv("BYRON_TESTENV_DIR"),
            s_at(resp, "status|token"));
    fclose(f);
    json_object_put(req);
    json_object_put(resp);
    op_kubeconfig = kcfg;
    char idref[128], keyref[128];
    snprintf(idref, sizeof idref, "%s/byron-nats-identity", ns);
    snprintf(keyref, sizeof keyref, "%s/byron-cache-key", ns);
    const char *extra[] = {
        "--leader-elect",           "--lease-namespace",  ns,     "--nats-identity-secret", idref,
        "--nats-identity-generate", "--cache-key-secret", keyref, "--cache-key-generate",   NULL};
    op_t op = start_operator(extra);
    create_bc("least");
    wait_children("least", 20000);
    json_object_put(wait_bc("least", has_status, 20000, "status written with the operator's own rights"));
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/least", ns);
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json",
                     "{\"spec\":{\"cache\":{\"external\":{\"uri\":\"mongodb://db:27017/\"}}}}", &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(wait_bc("least", external, 20000, "external cache"));
    wait_gone(2, "least", 10000);
    cr_assert_eq(metric(&op, "rest_client_requests_total{code=\"403\""), -1, "a call was forbidden (see %s)",
                 op.log);
    stop_operator(&op);
    unlink(kcfg);
    op_kubeconfig = NULL;
}

Test(operator, least_privilege_rbac_is_enough) { run_with_least_privilege(0); }

Test(operator, namespaced_mode_needs_only_roles) {
    run_with_least_privilege(1);
    /* and the ServiceAccount really has nothing outside the namespace */
    char body[512];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":{"
             "\"user\":\"system:serviceaccount:%s:byron-operator\",\"resourceAttributes\":{"
             "\"verb\":\"list\",\"resource\":\"secrets\"}}}",
             ns);
    json_object *req = NULL, *resp = NULL;
    byron_err_t err = {0};
    byron_json_parse(body, strlen(body), 0, &req, NULL);
    cr_assert_eq(byron_kube_do(kc, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                               "application/json", req, &resp, &err),
                 BYRON_OK, "%s", err.msg);
    cr_assert_str_neq(s_at(resp, "status|allowed"), "true", "list secrets in all namespaces is allowed");
    json_object_put(req);
    json_object_put(resp);
}

Test(operator, client_rereads_a_rotated_token_file) {
    char tok[256], kcfg[256], path[512];
    snprintf(tok, sizeof tok, "/tmp/byron-it-%s.token", ns);
    snprintf(kcfg, sizeof kcfg, "/tmp/byron-it-%s-rot.kubeconfig", ns);
    FILE *f = fopen(tok, "w");
    fputs("not-a-token\n", f);
    fclose(f);
    f = fopen(kcfg, "w");
    fprintf(f,
            "current-context: sa\n"
            "clusters: [{name: t, cluster: {server: '%s', certificate-authority: '%s/pki/ca.crt'}}]\n"
            "users: [{name: sa, user: {tokenFile: '%s'}}]\n"
            "contexts: [{name: sa, context: {cluster: t, user: sa}}]\n",
            byron_testenv("BYRON_KUBE_SERVER"), byron_testenv("BYRON_TESTENV_DIR"), tok);
    fclose(f);
    byron_kube_config_t *cfg = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(kcfg, NULL, &cfg, &err), BYRON_OK, "%s", err.msg);
    byron_kube_client_t *c = byron_kube_client_new(cfg, &err);
    json_object *o = NULL;
    cr_assert_eq(byron_kube_do(c, "GET", "/apis", NULL, NULL, &o, &err), BYRON_EREJECTED, "%s", err.msg);
    cr_assert(strstr(err.msg, "401"), "%s", err.msg);
    /* The kubelet rotates the projected token: write a real one. */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", ns);
    cr_assert_eq(kdo("POST", path, "application/json", "{\"metadata\":{\"name\":\"rotator\"}}", &err),
                 BYRON_OK, "%s", err.msg);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts/rotator/token", ns);
    json_object *req = NULL, *resp = NULL;
    const char *tr = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{}}";
    byron_json_parse(tr, strlen(tr), 0, &req, NULL);
    cr_assert_eq(byron_kube_do(kc, "POST", path, "application/json", req, &resp, &err), BYRON_OK, "%s",
                 err.msg);
    f = fopen(tok, "w");
    fprintf(f, "%s\n", s_at(resp, "status|token"));
    fclose(f);
    sleep_ms(1100); /* the file is checked at most once a second */
    cr_assert_eq(byron_kube_do(c, "GET", "/apis", NULL, NULL, &o, &err), BYRON_OK, "token not re-read: %s",
                 err.msg);
    json_object_put(o);
    json_object_put(req);
    json_object_put(resp);
    byron_kube_client_free(c);
    unlink(tok);
    unlink(kcfg);
}

/* Wait until the drift component's ConfigMap holds its component.json again. */
static void wait_config_reverted(long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    for (;;) {
        json_object *cm = get_child(5, "drift");
        int reverted = strstr(s_at(cm, "data|component.json"), "\"component\"") != NULL;
        json_object_put(cm);
        if (reverted) return;
        cr_assert_lt(byron_test_now_ms(), deadline, "drift not reverted");
        sleep_ms(100);
    }
}

Test(operator, resync_reverts_drift_in_a_child) {
    const char *extra[] = {"--resync-period", "2", NULL};
    op_t op = operator_with_component("drift", extra);
    /* The resync happens: with nothing changing, the component is reconciled
     * again every period (the queue brings it back). With nothing to revert
     * it writes nothing — no apply, create, delete or status — counted by
     * the operator's write requests, and every child keeps its
     * resourceVersion. */
    char rvs[N_CHILDREN][32];
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "drift");
        snprintf(rvs[i], sizeof rvs[i], "%s", s_at(o, "metadata|resourceVersion"));
        json_object_put(o);
    }
    double w0 = writes(&op), r0 = reconciles(&op);
    wait_reconciles(&op, r0 + 2, 20000, "from the resync"); /* three reconciles: two at least are resyncs */
    cr_assert_eq(writes(&op), w0, "%g write requests by resyncs with nothing to revert (see %s)",
                 writes(&op) - w0, op.log);
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "drift");
        cr_assert_str_eq(s_at(o, "metadata|resourceVersion"), rvs[i], "an idle resync changed the %s",
                         CHILDREN[i][1]);
        json_object_put(o);
    }
    /* A hand edit that keeps our annotation: the hash cannot see it, the
     * fields our apply owns can (the edit took one from us). Reverted by one
     * apply, without waiting for a resync; then left alone. */
    double p0 = applies(&op);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/drift-config", ns);
    byron_err_t err = {0};
    cr_assert_eq(
        kdo("PATCH", path, "application/merge-patch+json", "{\"data\":{\"component.json\":\"{}\"}}", &err),
        BYRON_OK, "%s", err.msg);
    wait_config_reverted(15000);
    /* Idle: the reverting reconcile, with its event and status, is done
     * writing and has counted its requests. */
    wait_idle(&op, 20000);
    cr_assert_geq(applies(&op), p0 + 1, "reverted without an apply?");
    json_object *cm = get_child(5, "drift");
    char rv[32];
    snprintf(rv, sizeof rv, "%s", s_at(cm, "metadata|resourceVersion"));
    json_object_put(cm);
    double w1 = writes(&op), r1 = reconciles(&op);
    wait_reconciles(&op, r1 + 2, 20000, "from the resync after the revert");
    cr_assert_eq(writes(&op), w1, "%g write requests after the revert (see %s)", writes(&op) - w1, op.log);
    cm = get_child(5, "drift");
    cr_assert_str_eq(s_at(cm, "metadata|resourceVersion"), rv, "the reverted ConfigMap was written again");
    json_object_put(cm);
    stop_operator(&op);
}

static int not_owned(json_object *o) { return !strcmp(condition(o, "Degraded", "reason"), "NotOwned"); }

Test(operator, an_object_with_a_childs_name_is_reported_not_adopted) {
    /* Someone's own Deployment and Secret, with the names the component's would have. */
    char path[256];
    byron_err_t err = {0};
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments", ns);
    cr_assert_eq(kdo("POST", path, "application/json",
                     "{\"metadata\":{\"name\":\"taken-api\"},\"spec\":{\"selector\":{\"matchLabels\":{"
                     "\"app\":\"mine\"}},"
                     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"mine\"}},"
                     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"mine:1\"}]}}}}",
                     &err),
                 BYRON_OK, "%s", err.msg);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", ns);
    cr_assert_eq(
        kdo("POST", path, "application/json",
            "{\"metadata\":{\"name\":\"taken-cache-credentials\"},\"stringData\":{\"password\":\"mine\"}}",
            &err),
        BYRON_OK, "%s", err.msg);
    json_object *dep0 = get_child(0, "taken"), *sec0 = get_child(6, "taken");
    op_t op = start_operator(NULL);
    create_bc("taken");
    json_object *bc = wait_bc("taken", not_owned, 20000, "Degraded NotOwned");
    const char *msg = condition(bc, "Degraded", "message");
    cr_assert(strstr(msg, "taken-api") || strstr(msg, "taken-cache-credentials"),
              "message names no object: %s", msg);
    cr_assert_str_eq(condition(bc, "Degraded", "status"), "True");
    json_object_put(bc);
    /* The component's other children exist; the foreign objects are untouched. */
    json_object *o = get_child(1, "taken");
    cr_assert_not_null(o, "the sink Deployment was not created");
    json_object_put(o);
    json_object *dep = get_child(0, "taken"), *sec = get_child(6, "taken");
    cr_assert_str_eq(s_at(dep, "metadata|resourceVersion"), s_at(dep0, "metadata|resourceVersion"),
                     "the foreign Deployment was written");
    cr_assert_null(at(dep, "metadata|ownerReferences"), "the foreign Deployment was adopted");
    cr_assert_str_eq(s_at(sec, "metadata|resourceVersion"), s_at(sec0, "metadata|resourceVersion"),
                     "the foreign Secret was written");
    cr_assert_null(at(sec, "metadata|ownerReferences"), "the foreign Secret was adopted");
    json_object_put(dep);
    json_object_put(sec);
    json_object_put(dep0);
    json_object_put(sec0);
    /* Their owner removes them: the component gets its own. */
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments/taken-api", ns);
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/taken-cache-credentials", ns);
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        dep = get_child(0, "taken");
        sec = get_child(6, "taken");
        bc = get_bc("taken");
        bc = bc ? bc : json_object_new_object();
        int done = dep && sec && at(dep, "metadata|ownerReferences") && at(sec, "metadata|ownerReferences") &&
                   !strcmp(condition(bc, "Degraded", "status"), "False");
        json_object_put(dep);
        json_object_put(sec);
        json_object_put(bc);
        if (done) break;
        cr_assert_lt(byron_test_now_ms(), deadline, "the component did not recover once the names were free");
        sleep_ms(100);
    }
    stop_operator(&op);
}

static int invalid_spec(json_object *o) { return !strcmp(condition(o, "Ready", "reason"), "InvalidSpec"); }

/* What no CEL rule can see (our namespace written out on one subscription,
 * left out on the other: one component twice) the operator refuses with the
 * sidecar's own checks: Ready and Degraded say InvalidSpec, naming the field,
 * and no child exists — not one sidecar to crash-loop. */
Test(operator, a_spec_the_sidecar_would_refuse_is_reported_and_nothing_is_written) {
    op_t op = start_operator(NULL);
    char body[1024], path[256], want[256];
    snprintf(
        body, sizeof body,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"twice\"},"
        "\"spec\":{\"models\":[{\"name\":\"Order\"}],\"subscriptions\":[{\"component\":\"customers\"},"
        "{\"component\":\"customers\",\"namespace\":\"%s\"}]}}",
        ns);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("POST", path, "application/json", body, &err), BYRON_OK, "the API server refused it: %s",
                 err.msg);
    json_object *bc = wait_bc("twice", invalid_spec, 20000, "Ready InvalidSpec");
    snprintf(want, sizeof want, "spec.subscriptions[1]: duplicate subscription to %s/customers", ns);
    cr_assert_str_eq(condition(bc, "Ready", "status"), "False");
    cr_assert(strstr(condition(bc, "Ready", "message"), want), "%s", condition(bc, "Ready", "message"));
    cr_assert_str_eq(condition(bc, "Degraded", "reason"), "InvalidSpec");
    json_object_put(bc);
    for (int i = 0; i < N_CHILDREN; i++) {
        json_object *o = get_child(i, "twice");
        cr_assert_null(o, "%s twice-... was created for an invalid spec", CHILDREN[i][1]);
    }
    cr_assert_eq(stop_operator(&op), 0);
}

/* Many components on many workers (the concurrency tier, issue 17): 24
 * components created at once for 8 workers, a resync every second re-applying
 * every child meanwhile, half of them scaled, children deleted and workloads
 * made ready under them, probes and metrics read all the while. Every
 * component ends with all its children and the status of its generation,
 * and the operator exits 0 without a sanitizer report. */
static int api_four(json_object *o) { return has_status(o) && !strcmp(s_at(o, "status|api|ready"), "0/4"); }
static int ready_all(json_object *o) {
    return has_status(o) && !strcmp(condition(o, "Ready", "status"), "True");
}

Test(operator, stress_many_components_on_many_workers, .timeout = 600) {
    enum { N = 24 };
    const char *extra[] = {"--workers", "8", "--resync-period", "1", NULL};
    op_t op = start_operator(extra);
    wait_serving(&op, 20000); /* the metrics asked below are the server's, not its start-up's */
    char name[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "s%02d", i);
        create_bc(name[i]);
    }
    byron_err_t err = {0};
    char path[512], url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", op.port);
    for (int i = 0; i < N; i++) {
        char *m = http("GET", url, NULL); /* the probe server's thread, while the workers reconcile */
        cr_assert_not_null(m, "metrics while reconciling: %s", http_error);
        free(m);
        if (i % 2 == 0) { /* scale the API */
            snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/%.31s", ns,
                     name[i]);
            cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json",
                             "{\"spec\":{\"api\":{\"replicas\":4}}}", &err),
                         BYRON_OK, "%s", err.msg);
        } else if (i % 4 == 1) { /* delete a child as soon as it exists */
            wait_children(name[i], 60000);
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%.31s-config", ns, name[i]);
            cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
        } else { /* make its workloads ready */
            wait_children(name[i], 60000);
            char w[96];
            snprintf(w, sizeof w, "deployments/%.31s-api", name[i]);
            set_ready("/apis/apps/v1", w, 2);
            snprintf(w, sizeof w, "deployments/%.31s-sink", name[i]);
            set_ready("/apis/apps/v1", w, 1);
            snprintf(w, sizeof w, "statefulsets/%.31s-cache", name[i]);
            set_ready("/apis/apps/v1", w, 1);
        }
    }
    for (int i = 0; i < N; i++) {
        wait_children(name[i], 60000);
        json_object_put(wait_bc(name[i],
                                i % 2 == 0   ? api_four
                                : i % 4 == 3 ? ready_all
                                             : has_status,
                                60000, name[i]));
    }
    cr_assert_gt(
        metric(&op, "controller_runtime_reconcile_total{controller=\"byroncomponent\",result=\"success\"}"),
        N);
    cr_assert_eq(stop_operator(&op), 0, "clean exit on SIGTERM");
}

static const char *b64_field(json_object *sec, const char *key, char *buf, size_t n) {
    char *dec = NULL;
    size_t len = 0;
    const char *v = s_at(sec, key);
    buf[0] = '\0';
    if (byron_base64_decode(v, strlen(v), &dec, &len) == 0) {
        snprintf(buf, n, "%s", dec);
        free(dec);
    }
    return buf;
}

static json_object *wait_secret(const char *name, long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    json_object *o;
    while (!(o = kget("/api/v1/namespaces/%s/secrets/%s", ns, name))) {
        cr_assert_lt(byron_test_now_ms(), deadline, "Secret %s not created", name);
        sleep_ms(50);
    }
    return o;
}

/* The claims of the user JWT inside a .creds file. */
static json_object *creds_claims(const char *creds) {
    const char *b = strstr(creds, "-----BEGIN NATS USER JWT-----\n");
    cr_assert_not_null(b, "not a creds file: %s", creds);
    b += strlen("-----BEGIN NATS USER JWT-----\n");
    char jwt[4096];
    snprintf(jwt, sizeof jwt, "%.*s", (int)strcspn(b, "\n"), b);
    json_object *c = byron_natsjwt_peek(jwt);
    cr_assert_not_null(c, "unreadable JWT");
    return c;
}

Test(operator, nats_users_are_minted_per_component_mounted_per_role_and_renewed) {
    char ref[128];
    snprintf(ref, sizeof ref, "%s/byron-nats-identity", ns);
    const char *extra[] = {"--nats-identity-secret", ref,  "--nats-identity-generate",
                           "--nats-credentials-ttl", "10", NULL};
    op_t op = operator_with_component("creds", extra);
    json_object *id = wait_secret("byron-nats-identity", 10000);
    char account[128], buf[8192];
    b64_field(at(id, "data"), BYRON_NATSID_ACCOUNT, account, sizeof account);
    cr_assert_eq(account[0], 'A', "account.pub: %s", account);
    cr_assert(strstr(b64_field(at(id, "data"), BYRON_NATSID_AUTH_CONF, buf, sizeof buf), "resolver: MEMORY"));
    json_object_put(id);

    json_object *sec = wait_secret("creds-nats-credentials", 20000);
    json_object *bc = get_bc("creds");
    cr_assert_str_eq(s_at(sec, "metadata|ownerReferences|0|uid"), s_at(bc, "metadata|uid"));
    json_object_put(bc);
    char want[256];
    const char *roles[] = {"api", "sink"};
    for (int i = 0; i < 2; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s.creds", roles[i]);
        b64_field(at(sec, "data"), key, buf, sizeof buf);
        json_object *c = creds_claims(buf);
        cr_assert_str_eq(s_at(c, "nats|issuer_account"), account);
        cr_assert_eq(json_object_get_int64(at(c, "exp")) - json_object_get_int64(at(c, "iat")), 10);
        snprintf(want, sizeof want, "byron.%s.creds.>", ns);
        const char *pub = json_object_to_json_string(at(c, "nats|pub|allow"));
        cr_assert_eq(strstr(pub, want) != NULL, i == 0, "%s may%s publish events: %s", roles[i],
                     i ? "" : " not", pub);
        json_object_put(c);
        /* its Deployment mounts its own file, and only that one */
        json_object *d = kget("/apis/apps/v1/namespaces/%s/deployments/creds-%s", ns, roles[i]);
        const char *vols = json_object_to_json_string(at(d, "spec|template|spec|volumes"));
        cr_assert(strstr(vols, key) && !strstr(vols, i ? "api.creds" : "sink.creds"), "%s volumes: %s",
                  roles[i], vols);
        json_object *cs = at(d, "spec|template|spec|containers"), *sc = NULL;
        for (size_t k = 0; k < json_object_array_length(cs); k++)
            if (!strcmp(s_at(json_object_array_get_idx(cs, k), "name"), "byron-sidecar"))
                sc = json_object_array_get_idx(cs, k);
        const char *env = json_object_to_json_string(at(sc, "env"));
        cr_assert(strstr(env, "BYRON_NATS_CREDS") && strstr(env, "BYRON_NATS_INBOX_PREFIX"), "%s env: %s",
                  roles[i], env);
        json_object_put(d);
    }
    /* renewed at half its lifetime: new users, same account */
    char first[8192];
    b64_field(at(sec, "data"), "api.creds", first, sizeof first);
    json_object_put(sec);
    long long deadline = byron_test_now_ms() + 20000;
    for (;;) {
        sec = kget("/api/v1/namespaces/%s/secrets/creds-nats-credentials", ns);
        b64_field(at(sec, "data"), "api.creds", buf, sizeof buf);
        json_object_put(sec);
        if (strcmp(buf, first) != 0) break;
        cr_assert_lt(byron_test_now_ms(), deadline, "credentials not renewed");
        sleep_ms(200);
    }
    /* a restarted operator keeps the release's identity */
    cr_assert_eq(stop_operator(&op), 0);
    op = start_operator(extra);
    deadline = byron_test_now_ms() + 20000;
    while (
        metric(&op, "controller_runtime_reconcile_total{controller=\"byroncomponent\",result=\"success\"}") <
        1) {
        cr_assert_lt(byron_test_now_ms(), deadline, "the restarted operator did not reconcile (see %s)",
                     op.log);
        sleep_ms(100);
    }
    id = wait_secret("byron-nats-identity", 1000);
    cr_assert_str_eq(b64_field(at(id, "data"), BYRON_NATSID_ACCOUNT, buf, sizeof buf), account);
    json_object_put(id);
    cr_assert_eq(stop_operator(&op), 0);
}

/* The operator creates the component's streams with the limit it was given,
 * exports the stream's size against that limit (what to alert on), and drops
 * the gauges with the component. */
Test(operator, streams_are_created_with_their_limit_and_their_gauges_follow_the_component) {
    const char *extra[] = {"--default-stream-max-bytes", "16Mi", NULL};
    op_t op = operator_with_component("gauged", extra);
    char series[512];
    snprintf(series, sizeof series,
             "byron_stream_max_bytes{namespace=\"%s\",component=\"gauged\",stream=\"BYRON_%s_gauged\"}", ns,
             ns);
    for (char *p = strstr(series, "BYRON_"); *p; p++)
        if (*p == '-') *p = '_';
    long long deadline = byron_test_now_ms() + 20000;
    while (metric(&op, series) != 16777216) {
        cr_assert_lt(byron_test_now_ms(), deadline, "%s not 16Mi (see %s)", series, op.log);
        sleep_ms(100);
    }
    char bytes[512];
    snprintf(bytes, sizeof bytes, "byron_stream_bytes%s", strchr(series, '{'));
    cr_assert_geq(metric(&op, bytes), 0, "no %s", bytes);
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/gauged", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    deadline = byron_test_now_ms() + 20000;
    while (metric(&op, series) != -1) {
        cr_assert_lt(byron_test_now_ms(), deadline, "%s still exported after the component was deleted",
                     series);
        sleep_ms(100);
    }
    cr_assert_eq(stop_operator(&op), 0);
}

/* A NetworkPolicy per part and a PodDisruptionBudget per workload, owned like
 * every child; turned off, the policies go. */
Test(operator, network_policies_and_disruption_budgets_are_children_and_go_when_turned_off) {
    op_t op = operator_with_component("fenced", NULL);
    const char *want[][2] = {{"/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/fenced-%s", "cache"},
                             {"/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/fenced-%s", "api"},
                             {"/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/fenced-%s", "sink"},
                             {"/apis/policy/v1/namespaces/%s/poddisruptionbudgets/fenced-%s", "api"},
                             {"/apis/policy/v1/namespaces/%s/poddisruptionbudgets/fenced-%s", "sink"}};
    json_object *bc = get_bc("fenced");
    for (int i = 0; i < 5; i++) {
        char path[512];
        snprintf(path, sizeof path, want[i][0], ns, want[i][1]);
        long long deadline = byron_test_now_ms() + 20000;
        json_object *o;
        while (!(o = kget("%s", path))) {
            cr_assert_lt(byron_test_now_ms(), deadline, "%s not created", path);
            sleep_ms(50);
        }
        cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|uid"), s_at(bc, "metadata|uid"), "%s", path);
        json_object_put(o);
    }
    json_object_put(bc);
    cr_assert_eq(stop_operator(&op), 0);
    const char *off[] = {"--no-network-policies", NULL};
    op = start_operator(off);
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, want[i][0], ns, want[i][1]);
        long long deadline = byron_test_now_ms() + 20000;
        json_object *o;
        while ((o = kget("%s", path))) {
            json_object_put(o);
            cr_assert_lt(byron_test_now_ms(), deadline, "%s still there with --no-network-policies", path);
            sleep_ms(50);
        }
    }
    cr_assert_eq(stop_operator(&op), 0);
}

/* The cache's users, each with its own password and URI, in the Secret. */
static void expect_cache_users(json_object *sec) {
    char buf[1024], want[128];
    const char *roles[] = {"api", "sink"};
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "data|%s-password", roles[i]);
        cr_assert_eq(strlen(b64_field(sec, key, buf, sizeof buf)), 48, "%s", key);
        snprintf(key, sizeof key, "data|%s-uri", roles[i]);
        snprintf(want, sizeof want, "mongodb://byron-%s:", roles[i]);
        cr_assert(!strncmp(b64_field(sec, key, buf, sizeof buf), want, strlen(want)), "%s: %s", key, buf);
        cr_assert(strstr(buf, "authSource=byron_"), "%s: %s", key, buf);
    }
}

Test(operator, a_deleted_cache_secret_comes_back_with_the_same_passwords) {
    char ref[128], path[512];
    snprintf(ref, sizeof ref, "%s/byron-cache-key", ns);
    const char *extra[] = {"--cache-key-secret", ref, "--cache-key-generate", NULL};
    op_t op = operator_with_component("kept", extra);
    json_object *key = wait_secret("byron-cache-key", 10000);
    cr_assert_null(at(key, "metadata|ownerReferences"), "the release's key belongs to no component");
    json_object_put(key);
    json_object *sec = wait_secret("kept-cache-credentials", 20000);
    expect_cache_users(sec);
    char before[2048];
    snprintf(before, sizeof before, "%s", json_object_to_json_string(at(sec, "data")));
    byron_err_t err = {0};
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/kept-cache-credentials", ns);
    for (int round = 0; round < 2; round++) {
        /* deleted, with the operator running; then again across an operator
         * restart: the new one derives the same passwords from the same key */
        if (round) {
            cr_assert_eq(stop_operator(&op), 0);
            op = start_operator(extra);
        }
        char uid[64];
        snprintf(uid, sizeof uid, "%s", s_at(sec, "metadata|uid"));
        json_object_put(sec);
        cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
        long long deadline = byron_test_now_ms() + 20000;
        while (!(sec = kget("%s", path)) || !strcmp(s_at(sec, "metadata|uid"), uid)) {
            json_object_put(sec);
            cr_assert_lt(byron_test_now_ms(), deadline, "the Secret was not made again");
            sleep_ms(50);
        }
        cr_assert_str_eq(json_object_to_json_string(at(sec, "data")), before,
                         "the Secret came back with other passwords");
    }
    json_object_put(sec);
    cr_assert_eq(stop_operator(&op), 0);
}

static int credentials_lost(json_object *o) {
    return !strcmp(condition(o, "Ready", "reason"), "CredentialsLost");
}

Test(operator, a_lost_cache_secret_is_reported_and_never_made_again_while_the_volume_exists) {
    op_t op = operator_with_component("lost", NULL);
    json_object *sec = wait_secret("lost-cache-credentials", 20000);
    expect_cache_users(sec);
    json_object_put(sec);
    /* The volume the StatefulSet controller would have made for the cache. */
    char path[512], sp[512];
    byron_err_t err = {0};
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims", ns);
    cr_assert_eq(
        kdo("POST", path, "application/json",
            "{\"metadata\":{\"name\":\"data-lost-cache-0\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
            "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
            &err),
        BYRON_OK, "%s", err.msg);
    snprintf(sp, sizeof sp, "/api/v1/namespaces/%s/secrets/lost-cache-credentials", ns);
    cr_assert_eq(kdo("DELETE", sp, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    json_object *bc = wait_bc("lost", credentials_lost, 20000, "Ready False CredentialsLost");
    const char *msg = condition(bc, "Ready", "message");
    cr_assert(strstr(msg, "data-lost-cache-0") && strstr(msg, "lost-cache-credentials"), "%s", msg);
    cr_assert_str_eq(condition(bc, "Ready", "status"), "False");
    json_object_put(bc);
    /* Counted, not slept: the operator retries (backoff) and still makes no Secret. */
    const char *errors = "controller_runtime_reconcile_errors_total{controller=\"byroncomponent\"}";
    double before = metric(&op, errors);
    long long deadline = byron_test_now_ms() + 30000;
    while (metric(&op, errors) < before + 2) {
        cr_assert_lt(byron_test_now_ms(), deadline, "no retry seen");
        sleep_ms(100);
    }
    cr_assert_null(kget("%s", sp), "a new password was made while the volume exists");
    /* The volume deleted (start the cache empty): the component goes on. */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims/data-lost-cache-0", ns);
    cr_assert_eq(kdo("DELETE", path, NULL, NULL, &err), BYRON_OK, "%s", err.msg);
    /* no controller-manager here to lift the pvc-protection finalizer */
    kdo("PATCH", path, "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}", &err);
    sec = wait_secret("lost-cache-credentials", 30000);
    json_object_put(sec);
    cr_assert_eq(stop_operator(&op), 0);
}

static int uris_tls(json_object *sec, int want) {
    char buf[1024];
    const char *keys[] = {"data|uri", "data|api-uri", "data|sink-uri"};
    for (int i = 0; i < 3; i++)
        if (!!strstr(b64_field(sec, keys[i], buf, sizeof buf), "tls=true") != want) return 0;
    return 1;
}

Test(operator, cache_tls_turned_on_and_off_rewrites_the_uris_and_keeps_the_passwords) {
    op_t op = operator_with_component("tls", NULL);
    json_object *sec = wait_secret("tls-cache-credentials", 20000);
    cr_assert(uris_tls(sec, 0));
    char pws[3][64];
    const char *keys[] = {"data|password", "data|api-password", "data|sink-password"};
    for (int i = 0; i < 3; i++) b64_field(sec, keys[i], pws[i], sizeof pws[i]);
    json_object_put(sec);
    char path[256];
    byron_err_t err = {0};
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/tls", ns);
    const char *patches[] = {"{\"spec\":{\"cache\":{\"tls\":{\"secretRef\":{\"name\":\"tls-cert\"}}}}}",
                             "{\"spec\":{\"cache\":{\"tls\":null}}}"};
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", patches[round], &err), BYRON_OK, "%s",
                     err.msg);
        long long deadline = byron_test_now_ms() + 20000;
        while (!uris_tls(sec = wait_secret("tls-cache-credentials", 5000), !round)) {
            json_object_put(sec);
            cr_assert_lt(byron_test_now_ms(), deadline, "the URIs do not ask for TLS %s",
                         round ? "off" : "on");
            sleep_ms(50);
        }
        for (int i = 0; i < 3; i++) {
            char now[64];
            cr_assert_str_eq(b64_field(sec, keys[i], now, sizeof now), pws[i], "%s changed", keys[i]);
        }
        json_object_put(sec);
        /* the cache and the sidecars follow: the StatefulSet requires TLS, the sidecars hold the CA */
        for (int done = 0; !done;) {
            json_object *sts = get_child(2, "tls"), *dep = get_child(0, "tls");
            const char *args = json_object_to_json_string(at(sts, "spec|template|spec|containers|0|args"));
            const char *vols = json_object_to_json_string(at(dep, "spec|template|spec|volumes"));
            done = (strstr(args, "requireTLS") != NULL) == !round &&
                   (strstr(vols, "tls-cert") != NULL) == !round;
            json_object_put(sts);
            json_object_put(dep);
            cr_assert(done || byron_test_now_ms() < deadline, "the cache or the sidecars did not follow");
            if (!done) sleep_ms(50);
        }
    }
    cr_assert_eq(stop_operator(&op), 0);
}

/* Insights (issue 14 item 5): what the operator reads on the broker reaches
 * the status, the conditions and the gauges — the sink's lag from its lanes'
 * durables, dead letters minus their resolutions — and follows them back. */
static json_object *wait_insight(const char *name, const char *lagging, const char *dead, long long lag,
                                 long long dead_letters, const char *log) {
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        json_object *o = get_bc(name);
        int ok = o && !strcmp(condition(o, "Lagging", "status"), lagging) &&
                 !strcmp(condition(o, "DeadLetters", "status"), dead) &&
                 json_object_get_int64(at(o, "status|sink|lag")) == lag &&
                 json_object_get_int64(at(o, "status|deadLetters")) == dead_letters &&
                 at(o, "status|stream|messages");
        if (ok) return o;
        cr_assert_lt(byron_test_now_ms(), deadline,
                     "status not Lagging=%s DeadLetters=%s lag %lld dead letters %lld: %s (%s)", lagging,
                     dead, lag, dead_letters, o ? json_object_to_json_string(at(o, "status")) : "(none)",
                     log);
        json_object_put(o);
        sleep_ms(100);
    }
}

static void publish(jsCtx *js, const char *subject, const char *const *headers) {
    natsMsg *m = NULL;
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, "{}", 2), NATS_OK);
    for (const char *const *h = headers; h && *h; h += 2) natsMsgHeader_Set(m, h[0], h[1]);
    jsErrCode jerr = 0;
    cr_assert_eq(js_PublishMsg(NULL, js, m, NULL, &jerr), NATS_OK, "publish to %s: %d", subject, (int)jerr);
    natsMsg_Destroy(m);
}

Test(operator, insights_reach_status_conditions_and_gauges) {
    const char *extra[] = {"--insights-period", "1", "--lag-threshold", "2", NULL};
    op_t op = operator_with_component("insight", extra);
    /* Before the first reading: Unknown, NotMeasured — or already a reading. */
    char stream[160], prefix[160], dlq[170], dlqp[170], subj[256], durable[] = "byron-sink-p0";
    snprintf(stream, sizeof stream, "BYRON_%s_insight", ns);
    for (char *p = stream; *p; p++)
        if (*p == '-') *p = '_';
    snprintf(prefix, sizeof prefix, "byron.%s.insight", ns);
    snprintf(dlq, sizeof dlq, "%s_DLQ", stream);
    snprintf(dlqp, sizeof dlqp, "byrondlq.%s.insight", ns);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, byron_testenv("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    /* A sink's lane with three events it has not been handed: lag 3 > 2. */
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.AckPolicy = js_AckExplicit;
    snprintf(subj, sizeof subj, "%s.0.>", prefix);
    cc.FilterSubject = subj;
    jsErrCode jerr = 0;
    long long deadline = byron_test_now_ms() + 20000;
    while (js_AddConsumer(NULL, js, stream, &cc, NULL, &jerr) !=
           NATS_OK) { /* the operator makes the stream */
        cr_assert_lt(byron_test_now_ms(), deadline, "no stream %s (%d)", stream, (int)jerr);
        sleep_ms(100);
    }
    char evsubj[256];
    snprintf(evsubj, sizeof evsubj, "%s.0.Order.o-1", prefix);
    for (int i = 0; i < 3; i++) publish(js, evsubj, NULL);
    /* A dead letter: its own record, then none once decided. */
    char own[200], resolved[200];
    snprintf(own, sizeof own, "%s.own", dlqp);
    snprintf(resolved, sizeof resolved, "%s.resolved", dlqp);
    const char *dl[] = {"Byron-Dlq-Stream", stream, "Byron-Dlq-Sequence", "1", NULL};
    publish(js, own, dl);
    json_object *o = wait_insight("insight", "True", "True", 3, 1, op.log);
    cr_assert_str_eq(condition(o, "Lagging", "reason"), "SinkBehind");
    cr_assert_str_eq(condition(o, "DeadLetters", "reason"), "DeadLettersOpen");
    cr_assert(strstr(condition(o, "DeadLetters", "message"), "kubectl byron dlq list insight"));
    cr_assert_eq(json_object_get_int64(at(o, "status|stream|messages")), 3);
    cr_assert_str_eq(s_at(o, "status|stream|name"), stream);
    json_object_put(o);
    char series[400];
    snprintf(series, sizeof series, "byron_sink_lag{namespace=\"%s\",component=\"insight\"}", ns);
    cr_assert_eq(metric(&op, series), 3, "%s", series);
    snprintf(series, sizeof series, "byron_dead_letters{namespace=\"%s\",component=\"insight\"}", ns);
    cr_assert_eq(metric(&op, series), 1, "%s", series);
    /* The lane catches up; the dead letter is decided: both conditions clear. */
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = durable;
    cr_assert_eq(js_PullSubscribe(&sub, js, subj, durable, NULL, &so, &jerr), NATS_OK);
    natsMsgList list = {0};
    cr_assert_eq(natsSubscription_Fetch(&list, sub, 3, 5000, &jerr), NATS_OK);
    for (int i = 0; i < list.Count; i++) natsMsg_AckSync(list.Msgs[i], NULL, &jerr);
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    const char *res[] = {"Byron-Dlq-Stream", stream, "Byron-Dlq-Sequence", "1", "Byron-Dlq-Resolution",
                         "dropped",          NULL};
    publish(js, resolved, res);
    o = wait_insight("insight", "False", "False", 0, 0, op.log);
    cr_assert_str_eq(condition(o, "Lagging", "reason"), "SinkCaughtUp");
    cr_assert_str_eq(condition(o, "DeadLetters", "reason"), "NoDeadLetters");
    json_object_put(o);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    cr_assert_eq(stop_operator(&op), 0);
}

/* A rebuild (issue 14 item 2, docs/sink.md "Rebuild"): a new spec.cache.rebuild
 * token asks the sink — and only the sink — for the next cache generation, and
 * status.rebuild follows the sink's lanes on the broker: Pending until a lane
 * of that generation exists, Building (projected of total) while the old
 * generation's lanes are there too, Complete once only the new ones are left.
 * The lanes here are durables made by the test, described as the sink's are. */
static const char *sink_env(const char *name, const char *var) {
    static char out[64];
    json_object *dep = get_child(1, name);
    json_object *env = at(dep, "spec|template|spec|containers|1|env");
    out[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(env); i++) {
        json_object *e = json_object_array_get_idx(env, i);
        if (!strcmp(json_object_get_string(json_object_object_get(e, "name")), var))
            snprintf(out, sizeof out, "%s", json_object_get_string(json_object_object_get(e, "value")));
    }
    json_object_put(dep);
    return out;
}

static void wait_rebuild(const char *name, const char *token, long long gen, const char *phase,
                         long long projected, long long total, const char *log) {
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        json_object *o = get_bc(name);
        int ok = o && !strcmp(s_at(o, "status|rebuild|requested"), token) &&
                 json_object_get_int64(at(o, "status|rebuild|generation")) == gen &&
                 !strcmp(s_at(o, "status|rebuild|phase"), phase) &&
                 json_object_get_int64(at(o, "status|rebuild|projected")) == projected &&
                 json_object_get_int64(at(o, "status|rebuild|total")) == total;
        char want[32];
        snprintf(want, sizeof want, "%lld", gen);
        ok = ok && !strcmp(sink_env(name, "BYRON_CACHE_GENERATION"), want);
        if (ok) {
            json_object_put(o);
            return;
        }
        cr_assert_lt(byron_test_now_ms(), deadline, "status.rebuild not %s gen %lld %s %lld/%lld: %s (%s)",
                     token, gen, phase, projected, total,
                     o ? json_object_to_json_string(at(o, "status|rebuild")) : "", log);
        json_object_put(o);
        sleep_ms(100);
    }
}

static void lane(jsCtx *js, const char *stream, const char *durable, const char *filter, int gen) {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    char description[64];
    snprintf(description, sizeof description, "Byron sink, cache generation %d", gen);
    cc.Durable = durable;
    cc.Description = description;
    cc.AckPolicy = js_AckExplicit;
    cc.FilterSubject = filter;
    jsErrCode jerr = 0;
    long long deadline = byron_test_now_ms() + 20000;
    while (js_AddConsumer(NULL, js, stream, &cc, NULL, &jerr) !=
           NATS_OK) { /* the operator makes the stream */
        cr_assert_lt(byron_test_now_ms(), deadline, "no stream %s (%d)", stream, (int)jerr);
        sleep_ms(100);
    }
}

Test(operator, a_rebuild_token_rolls_the_sink_and_reports_progress) {
    const char *extra[] = {"--insights-period", "1", NULL};
    op_t op = operator_with_component("rebuilt", extra);
    char stream[160], filter[256], evsubj[256];
    snprintf(stream, sizeof stream, "BYRON_%s_rebuilt", ns);
    for (char *p = stream; *p; p++)
        if (*p == '-') *p = '_';
    snprintf(filter, sizeof filter, "byron.%s.rebuilt.0.>", ns);
    snprintf(evsubj, sizeof evsubj, "byron.%s.rebuilt.0.Order.o-1", ns);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, byron_testenv("BYRON_NATS_URL")), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    lane(js, stream, "byron-sink-p0", filter, 0); /* the live generation, caught up */
    for (int i = 0; i < 3; i++) publish(js, evsubj, NULL);
    cr_assert_str_eq(sink_env("rebuilt", "BYRON_CACHE_GENERATION"), "", "no rebuild asked: no generation");
    json_object *bc = get_bc("rebuilt");
    cr_assert_null(at(bc, "status|rebuild"), "no rebuild asked: no report");
    json_object_put(bc);
    json_object *api = get_child(0, "rebuilt");
    char api_hash[64];
    snprintf(api_hash, sizeof api_hash, "%s",
             s_at(api, "spec|template|metadata|annotations|byron.io/config-hash"));
    json_object_put(api);

    patch_bc("rebuilt", "application/merge-patch+json", "{\"spec\":{\"cache\":{\"rebuild\":\"t1\"}}}");
    wait_rebuild("rebuilt", "t1", 1, "Pending", 0, 3, op.log);
    char rebuilding[96];
    snprintf(rebuilding, sizeof rebuilding, "%s", "byron-sink-p0_b");
    lane(js, stream, rebuilding, filter, 1); /* the sink started generation 1 in the other slot */
    wait_rebuild("rebuilt", "t1", 1, "Building", 0, 3, op.log);
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = rebuilding;
    jsErrCode jerr = 0;
    cr_assert_eq(js_PullSubscribe(&sub, js, filter, rebuilding, NULL, &so, &jerr), NATS_OK);
    natsMsgList list = {0};
    cr_assert_eq(natsSubscription_Fetch(&list, sub, 2, 5000, &jerr), NATS_OK);
    for (int i = 0; i < list.Count; i++) natsMsg_AckSync(list.Msgs[i], NULL, &jerr);
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    wait_rebuild("rebuilt", "t1", 1, "Building", 2, 3, op.log);
    cr_assert_eq(js_DeleteConsumer(js, stream, "byron-sink-p0", NULL, &jerr),
                 NATS_OK); /* switched, dropped */
    wait_rebuild("rebuilt", "t1", 1, "Complete", 3, 3, op.log);
    /* the api never rolled: its pod template is what it was */
    api = get_child(0, "rebuilt");
    cr_assert_str_eq(s_at(api, "spec|template|metadata|annotations|byron.io/config-hash"), api_hash);
    cr_assert_null(strstr(json_object_to_json_string(at(api, "spec|template")), "BYRON_CACHE_GENERATION"));
    json_object_put(api);

    /* the same token again changes nothing; a new one asks for the next generation */
    patch_bc("rebuilt", "application/merge-patch+json",
             "{\"metadata\":{\"labels\":{\"touched\":\"yes\"}},\"spec\":{\"cache\":{\"rebuild\":\"t1\"}}}");
    wait_rebuild("rebuilt", "t1", 1, "Complete", 3, 3, op.log);
    patch_bc("rebuilt", "application/merge-patch+json", "{\"spec\":{\"cache\":{\"rebuild\":\"t2\"}}}");
    wait_rebuild("rebuilt", "t2", 2, "Pending", 0, 3, op.log);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    cr_assert_eq(stop_operator(&op), 0);
}

/* --- spec.api.expose (docs/operator.md, "One address") ---------------------------- */

static void install_httproute_crd(void) {
    const char *dir = byron_testenv("BYRON_GATEWAY_API_CRDS");
    cr_assert(dir && *dir, "BYRON_GATEWAY_API_CRDS unset: run scripts/bootstrap test");
    char file[1024];
    snprintf(file, sizeof file, "%s/gateway.networking.k8s.io_httproutes.yaml", dir);
    install_crd_file(file, "httproutes.gateway.networking.k8s.io",
                     "/apis/gateway.networking.k8s.io/v1/httproutes");
}

static json_object *route(const char *kind, const char *name) {
    if (!strcmp(kind, "HTTPRoute"))
        return kget("/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes/%s-api", ns, name);
    return kget("/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s-api", ns, name);
}

/* Wait until the route of kind exists (want 1) or is gone (want 0). */
static json_object *wait_route(const char *kind, const char *name, int want, long timeout_ms) {
    long long deadline = byron_test_now_ms() + timeout_ms;
    for (;;) {
        json_object *o = route(kind, name);
        if ((o != NULL) == want) return o;
        json_object_put(o);
        cr_assert_lt(byron_test_now_ms(), deadline, "%s %s-api: %s", kind, name,
                     want ? "never made" : "still there");
        sleep_ms(50);
    }
}

static const char *want_exposed; /* "True", "Unknown", or "" (no condition) for exposed_is */
static int exposed_is(json_object *o) {
    return has_status(o) && !strcmp(condition(o, "Exposed", "status"), want_exposed);
}

static void create_exposed(const char *name, const char *expose_json) {
    char body[2048], path[256];
    snprintf(
        body, sizeof body,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"%s\"},"
        "\"spec\":{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\"}]}]"
        ","
        "\"api\":{\"expose\":%s}}}",
        name, expose_json);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("POST", path, "application/json", body, &err), BYRON_OK, "%s", err.msg);
}

Test(operator, expose_makes_an_httproute_or_an_ingress_reports_acceptance_and_removes_it) {
    install_httproute_crd(); /* before the operator: it reads discovery at start */
    op_t op = start_operator(NULL);
    create_exposed("gw", "{\"host\":\"shop.example.com\",\"path\":\"/gw\",\"gateway\":{\"name\":\"byron\"}}");
    create_exposed("ing", "{\"path\":\"/ing\",\"ingressClassName\":\"traefik\"}");

    /* An HTTPRoute on the gateway, owned by its component, to the api Service. */
    json_object *bc = wait_bc("gw", has_status, 20000, "status of gw");
    json_object *r = wait_route("HTTPRoute", "gw", 1, 20000);
    cr_assert_str_eq(s_at(r, "metadata|ownerReferences|0|uid"), s_at(bc, "metadata|uid"));
    cr_assert_str_eq(s_at(r, "spec|parentRefs|0|name"), "byron");
    cr_assert_str_eq(s_at(r, "spec|parentRefs|0|namespace"), ns);
    cr_assert_str_eq(s_at(r, "spec|rules|0|backendRefs|0|name"), "gw-api");
    cr_assert_str_eq(s_at(r, "spec|rules|0|filters|0|urlRewrite|path|replacePrefixMatch"), "/");
    json_object_put(r);
    json_object_put(bc);
    want_exposed = "Unknown";
    bc = wait_bc("gw", exposed_is, 20000, "Exposed Unknown (no controller yet)");
    cr_assert_str_eq(condition(bc, "Exposed", "reason"), "Pending");
    json_object_put(bc);

    /* The gateway's controller accepts it (the test plays the controller). */
    char path[512], body[1024];
    snprintf(path, sizeof path, "/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes/gw-api/status",
             ns);
    snprintf(body, sizeof body,
             "{\"status\":{\"parents\":[{\"parentRef\":{\"name\":\"byron\",\"namespace\":\"%s\"},"
             "\"controllerName\":\"example.com/"
             "gateway\",\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\","
             "\"reason\":\"Accepted\",\"message\":\"ok\",\"observedGeneration\":1,"
             "\"lastTransitionTime\":\"2026-12-01T00:00:00Z\"}]}]}}",
             ns);
    byron_err_t err = {0};
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", body, &err), BYRON_OK, "%s", err.msg);
    want_exposed = "True";
    bc = wait_bc("gw", exposed_is, 20000, "Exposed True once accepted");
    cr_assert_str_eq(condition(bc, "Exposed", "reason"), "Accepted");
    json_object_put(bc);

    /* Only an ingressClassName: an Ingress, even with the Gateway API served. */
    r = wait_route("Ingress", "ing", 1, 20000);
    cr_assert_str_eq(s_at(r, "spec|ingressClassName"), "traefik");
    cr_assert_str_eq(s_at(r, "spec|rules|0|http|paths|0|path"), "/ing");
    cr_assert_str_eq(s_at(r, "spec|rules|0|http|paths|0|backend|service|name"), "ing-api");
    json_object_put(r);
    json_object *none = route("HTTPRoute", "ing");
    cr_assert_null(none, "an HTTPRoute for an ingressClassName-only expose");

    /* Moved to a gateway: the Ingress goes, an HTTPRoute comes. */
    patch_bc(
        "ing", "application/merge-patch+json",
        "{\"spec\":{\"api\":{\"expose\":{\"ingressClassName\":null,\"gateway\":{\"name\":\"byron\"}}}}}");
    json_object_put(wait_route("HTTPRoute", "ing", 1, 20000));
    wait_route("Ingress", "ing", 0, 20000);

    /* Expose removed: the route goes, and so does the condition. */
    patch_bc("gw", "application/merge-patch+json", "{\"spec\":{\"api\":{\"expose\":null}}}");
    wait_route("HTTPRoute", "gw", 0, 20000);
    want_exposed = "";
    json_object_put(wait_bc("gw", exposed_is, 20000, "no Exposed condition"));
    cr_assert_eq(stop_operator(&op), 0);
}

Test(operator, expose_refusals_are_rejected_by_the_api_server_naming_the_value) {
    char path[256], body[1024];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    const char *bad[][2] = {
        {"{\"host\":\"Bad_Host\",\"gateway\":{\"name\":\"g\"}}", "Bad_Host is not an RFC 1123"},
        {"{\"host\":\"10.1.2.3\",\"gateway\":{\"name\":\"g\"}}", "10.1.2.3 is not an RFC 1123"},
        {"{\"path\":\"orders\",\"gateway\":{\"name\":\"g\"}}", "orders is not a path prefix"},
        {"{\"path\":\"/a//b\",\"gateway\":{\"name\":\"g\"}}", "/a//b is not a path prefix"},
        {"{\"host\":\"a.example.com\"}", "names neither gateway nor ingressClassName"},
        {"{\"gateway\":{\"name\":\"G\"}}", "G is not an RFC"},
        {"{\"ingressClassName\":\"x_y\"}", "x_y is not an RFC"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(
            body, sizeof body,
            "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"x\"},"
            "\"spec\":{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"c\",\"type\":\"String\"}]}],"
            "\"api\":{\"expose\":%s}}}",
            bad[i][0]);
        byron_err_t err = {0};
        cr_assert_neq(kdo("POST", path, "application/json", body, &err), BYRON_OK, "accepted: %s", bad[i][0]);
        cr_assert(strstr(err.msg, bad[i][1]), "%s: '%s' does not say '%s'", bad[i][0], err.msg, bad[i][1]);
    }
}
