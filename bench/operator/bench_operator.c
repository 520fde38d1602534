/* bench_operator.c — driver for bench/operator/run.sh.
 *
 *   bench_operator crd                       install crds/byron.io_byroncomponents.yaml
 *   bench_operator raw NS N THREADS          the baseline: this process writes what the operator
 *                                            would for N components (component POST, Secret POST,
 *                                            6 server-side applies, status PATCH) with THREADS threads
 *   bench_operator operator NS N THREADS     POST N components, then watch until every one has its
 *                                            status for its generation and every child exists
 *
 * Both print one line: "<mode> n=N threads=T seconds=S components_per_s=R writes_per_s=W".
 * Credentials:
 * $KUBECONFIG. Objects are built by the operator's own desired.c, so the
 * baseline writes byte-for-byte what the operator writes. */
#include "byron/file.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/kubeconfig.h"
#include "byron/yaml.h"
#include "desired.h"
#include "informer.h"
#include "strmap.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static byron_kube_client_t *kc;
static const char *ns;
static int n_total;
static atomic_int next_i;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_object *component(int i) {
    char buf[2048];
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"c%04d\","
        "\"namespace\":\"%s\"},\"spec\":{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\","
        "\"type\":\"String\",\"indexed\":true},{\"name\":\"total\",\"type\":\"Float\"}]}],"
        "\"commands\":[{\"name\":\"shipOrder\",\"model\":\"Order\",\"emits\":[\"OrderShipped\"]}],"
        "\"api\":{\"replicas\":1}}}",
        i, ns);
    json_object *o = NULL;
    byron_json_parse(buf, strlen(buf), 0, &o, NULL);
    return o;
}

static void die(const char *what, byron_err_t *err) {
    fprintf(stderr, "bench_operator: %s: %s\n", what, err->msg);
    exit(1);
}

static void create_component(int i, json_object **out) {
    json_object *bc = component(i);
    char path[256];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
    byron_err_t err = {0};
    if (byron_kube_do(kc, "POST", path, "application/json", bc, out, &err) != BYRON_OK)
        die("create component", &err);
    json_object_put(bc);
}

/* What one reconcile of a new component writes, done directly. */
static void *raw_worker(void *arg) {
    byron_desired_options_t o = {.sidecar_image = "byron-sidecar:bench",
                                 .default_cache_image = "mongo:7",
                                 .default_broker_url = "nats://nats:4222"};
    int i;
    while ((i = atomic_fetch_add(&next_i, 1)) < n_total) {
        json_object *bc = NULL;
        byron_err_t err = {0};
        char path[512];
        create_component(i, &bc);
        static const byron_cache_passwords_t pw = {"0123456789abcdef0123456789abcdef01234567",
                                                   "1123456789abcdef0123456789abcdef01234567",
                                                   "2123456789abcdef0123456789abcdef01234567"};
        json_object *sec = byron_desired_secret(bc, &pw, o.cache_users, NULL);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", ns);
        if (byron_kube_do(kc, "POST", path, "application/json", sec, NULL, &err) != BYRON_OK)
            die("secret", &err);
        json_object_put(sec);
        byron_desired_t d;
        if (byron_desired_build(bc, &o, &d, &err) != BYRON_OK) die("build", &err);
        for (int k = 0; k < d.n; k++) {
            byron_kind_path(d.objs[k].kind, ns, d.objs[k].name, path, sizeof path);
            if (byron_kube_apply(kc, path, d.objs[k].obj, NULL, &err) != BYRON_OK) die("apply", &err);
        }
        byron_desired_cleanup(&d);
        json_object *patch = NULL;
        const char *st =
            "{\"status\":{\"observedGeneration\":1,\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
            "\"reason\":\"ComponentsNotReady\",\"message\":\"waiting\",\"lastTransitionTime\":"
            "\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}";
        byron_json_parse(st, strlen(st), 0, &patch, NULL);
        snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/c%04d/status", ns,
                 i);
        if (byron_kube_do(kc, "PATCH", path, "application/merge-patch+json", patch, NULL, &err) != BYRON_OK)
            die("status", &err);
        json_object_put(patch);
        json_object_put(bc);
    }
    return NULL;
}

static void *create_worker(void *arg) {
    int i;
    while ((i = atomic_fetch_add(&next_i, 1)) < n_total) create_component(i, NULL);
    return NULL;
}

/* Count the items of a collection in ns (paginated, consistent lists). */
static int count(const char *prefix, const char *plural) {
    char path[4096], cont[2048] = ""; /* room for the longest continue token */
    int n = 0;
    do {
        snprintf(path, sizeof path, "%s/namespaces/%s/%s?limit=500%s%s", prefix, ns, plural,
                 cont[0] ? "&continue=" : "", cont);
        json_object *list = NULL, *items, *md, *c;
        byron_err_t err = {0};
        if (byron_kube_do(kc, "GET", path, NULL, NULL, &list, &err) != BYRON_OK) die("list", &err);
        if (json_object_object_get_ex(list, "items", &items)) n += (int)json_object_array_length(items);
        cont[0] = '\0';
        if (json_object_object_get_ex(list, "metadata", &md) && json_object_object_get_ex(md, "continue", &c))
            byron_kube_urlencode(json_object_get_string(c), cont, sizeof cont);
        json_object_put(list);
    } while (cont[0]);
    return n;
}

/* Completion is observed with a watch (an informer of the operator's own
 * kind), not by polling: a poll lists every component each time, O(N) load
 * per poll on the API server the operator is being measured against. */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static byron_strmap_t *done_set;

static void on_component(void *ud, byron_event_type_t t, json_object *o) {
    json_object *st, *og, *md, *gen;
    char key[256];
    if (t == BYRON_EVENT_DELETED || byron_store_key(o, key, sizeof key) != 0) return;
    if (!json_object_object_get_ex(o, "status", &st) ||
        !json_object_object_get_ex(st, "observedGeneration", &og) ||
        !json_object_object_get_ex(o, "metadata", &md) ||
        !json_object_object_get_ex(md, "generation", &gen) ||
        json_object_get_int64(og) != json_object_get_int64(gen))
        return;
    pthread_mutex_lock(&done_mu);
    byron_strmap_set(done_set, key, (void *)1);
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static void ensure_namespace(void) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    json_object *o = NULL;
    byron_json_parse(body, strlen(body), 0, &o, NULL);
    byron_err_t err = {0};
    byron_status_t st = byron_kube_do(kc, "POST", "/api/v1/namespaces", "application/json", o, NULL, &err);
    if (st && st != BYRON_ECONFLICT) die("namespace", &err);
    json_object_put(o);
}

static void run_threads(void *(*fn)(void *), int threads) {
    pthread_t t[256];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    byron_kube_config_t *cfg = NULL;
    byron_err_t err = {0};
    if (byron_kubeconfig_load(NULL, NULL, &cfg, &err) != BYRON_OK) die("kubeconfig", &err);
    if (!(kc = byron_kube_client_new(cfg, &err))) die("client", &err);
    if (argc >= 2 && !strcmp(argv[1], "crd")) {
        char path[1024], *buf = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/crds/byron.io_byroncomponents.yaml", argc > 2 ? argv[2] : ".");
        json_object *crd = NULL;
        if (byron_file_read(path, 1 << 20, &buf, &len, &err) || byron_yaml_parse(buf, len, 1, &crd, &err) ||
            byron_kube_apply(
                kc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/byroncomponents.byron.io", crd,
                NULL, &err))
            die("crd", &err);
        for (int i = 0; i < 300; i++) {
            json_object *o = NULL;
            if (byron_kube_do(kc, "GET", "/apis/byron.io/v1alpha1/byroncomponents?limit=1", NULL, NULL, &o,
                              NULL) == BYRON_OK) {
                json_object_put(o);
                break;
            }
            usleep(100000);
        }
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: bench_operator crd [SRC] | raw|operator NS N THREADS\n");
        return 2;
    }
    ns = argv[2];
    n_total = atoi(argv[3]);
    int threads = atoi(argv[4]);
    if (threads < 1 || threads > 256) threads = 8;
    ensure_namespace();
    double t0 = now_s();
    if (!strcmp(argv[1], "raw")) {
        run_threads(raw_worker, threads);
    } else {
        char path[256];
        snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents", ns);
        done_set = byron_strmap_new(NULL);
        byron_informer_options_t io = {.kind = "ByronComponent", .path = path, .handler = on_component};
        byron_informer_t *inf = byron_informer_new(kc, &io, &err);
        if (!inf || byron_informer_start(inf, &err) != BYRON_OK) die("informer", &err);
        while (!byron_informer_synced(inf)) usleep(10000);
        t0 = now_s();
        run_threads(create_worker, threads);
        fprintf(stderr, "created %d components in %.2fs\n", n_total, now_s() - t0);
        pthread_mutex_lock(&done_mu);
        while ((int)byron_strmap_len(done_set) < n_total) pthread_cond_wait(&done_cv, &done_mu);
        pthread_mutex_unlock(&done_mu);
        byron_informer_free(inf);
        byron_strmap_free(done_set);
        /* Status is written after a reconcile's applies: every component with
         * status for its generation implies its children exist. Verify. */
        double td = now_s();
        int dep = count("/apis/apps/v1", "deployments"), sts = count("/apis/apps/v1", "statefulsets");
        int svc = count("/api/v1", "services"), cm = count("/api/v1", "configmaps"),
            sec = count("/api/v1", "secrets");
        if (dep != 2 * n_total || sts != n_total || svc != 2 * n_total || cm != n_total || sec != n_total) {
            fprintf(stderr,
                    "bench_operator: children missing: deployments %d statefulsets %d services %d "
                    "configmaps %d secrets %d\n",
                    dep, sts, svc, cm, sec);
            return 1;
        }
        t0 += now_s() - td; /* the verification is not the operator's time */
    }
    double dt = now_s() - t0;
    /* 9 writes per component: component, secret, 6 applies, status. */
    printf("%s n=%d threads=%d seconds=%.2f components_per_s=%.1f writes_per_s=%.0f\n", argv[1], n_total,
           threads, dt, n_total / dt, 9.0 * n_total / dt);
    byron_kube_client_free(kc);
    curl_global_cleanup();
    return 0;
}
