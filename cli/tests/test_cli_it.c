/* test_cli_it.c — kubectl-byron, the real binary, against the real API server
 * of the testenv (its ByronComponents, ConfigMaps, RBAC) and real NATS and
 * FerretDB with a real api and sink sidecar and the Python reference app.
 *
 * The testenv has no kubelet, so the component's work runs here (--direct:
 * the same byron-sidecar --mode=admin the sink pod runs; the e2e tier runs it
 * in the pod through pods/exec). Each command's output is checked as a user
 * reads it, and errors as kubectl words them. */
#include "byron/clock.h"
#include "byron/file.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/kubeconfig.h"
#include "byron/yaml.h"
#include "harness.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static byron_kube_client_t *kc;
#define NS "it" /* the namespace the harness's components name */

static byron_status_t kdo(const char *method, const char *path, const char *ctype, json_object *body,
                          json_object **out, byron_err_t *err) {
    return byron_kube_do(kc, method, path, ctype, body, out, err);
}

static void setup(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    byron_kube_config_t *cfg = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(byron_testenv("BYRON_KUBECONFIG"), NULL, &cfg, &err), BYRON_OK, "%s",
                 err.msg);
    cr_assert_not_null(kc = byron_kube_client_new(cfg, &err), "%s", err.msg);
    /* The CRD, as the chart installs it. */
    char path[1024], *buf = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/crds/byron.io_byroncomponents.yaml", getenv("BYRON_SOURCE_DIR"));
    cr_assert_eq(byron_file_read(path, 1 << 20, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    json_object *crd = NULL;
    cr_assert_eq(byron_yaml_parse(buf, len, 1, &crd, &err), BYRON_OK, "%s", err.msg);
    free(buf);
    cr_assert_eq(byron_kube_apply(
                     kc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/byroncomponents.byron.io",
                     crd, NULL, &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(crd);
    long long deadline = byron_test_now_ms() + 30000;
    json_object *o = NULL;
    while (kdo("GET", "/apis/byron.io/v1alpha1/byroncomponents", NULL, NULL, &o, &err) != BYRON_OK) {
        cr_assert_lt(byron_test_now_ms(), deadline, "CRD not served: %s", err.msg);
        byron_clock_sleep_ms(100);
    }
    json_object_put(o);
    json_object *ns = json_tokener_parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" NS "\"}}");
    byron_status_t st = kdo("POST", "/api/v1/namespaces", "application/json", ns, NULL, &err);
    cr_assert(st == BYRON_OK || st == BYRON_ECONFLICT, "%s", err.msg);
    json_object_put(ns);
}

static void teardown(void) {
    byron_kube_client_free(kc);
    curl_global_cleanup();
}

TestSuite(cli_it, .init = setup, .fini = teardown, .timeout = 240);

/* What the operator would have made for a component the harness runs: its
 * ConfigMap (the config the sidecars run) and the resource, with a status. */
static void publish_component(const h_sidecar_t *api, const char *status_json) {
    char *text = NULL, path[512];
    size_t len = 0;
    byron_err_t err = {0};
    cr_assert_eq(byron_file_read(api->config, 1 << 20, &text, &len, &err), BYRON_OK, "%s", err.msg);
    json_object *cm = json_object_new_object(), *md = json_object_new_object(),
                *data = json_object_new_object();
    char name[128];
    snprintf(name, sizeof name, "%s-config", api->component);
    json_object_object_add(cm, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(cm, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(cm, "metadata", md);
    json_object_object_add(data, "component.json", json_object_new_string(text));
    json_object_object_add(cm, "data", data);
    free(text);
    cr_assert_eq(kdo("POST", "/api/v1/namespaces/" NS "/configmaps", "application/json", cm, NULL, &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(cm);
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\",\"metadata\":{\"name\":\"%s\"},"
        "\"spec\":{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\"}]}]"
        "}}",
        api->component);
    json_object *bc = json_tokener_parse(body);
    cr_assert_eq(kdo("POST", "/apis/byron.io/v1alpha1/namespaces/" NS "/byroncomponents", "application/json",
                     bc, NULL, &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(bc);
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/" NS "/byroncomponents/%s/status",
             api->component);
    json_object *patch = json_tokener_parse(status_json);
    cr_assert_not_null(patch, "%s", status_json);
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", patch, NULL, &err), BYRON_OK, "%s",
                 err.msg);
    json_object_put(patch);
}

static const char *STATUS = "{\"status\":{\"observedGeneration\":1,\"conditions\":[{\"type\":\"Ready\","
                            "\"status\":\"True\",\"reason\":"
                            "\"Ready\",\"message\":\"api 1/1, sink 1/1, cache "
                            "ready\",\"lastTransitionTime\":\"2026-12-01T07:00:00Z\"},"
                            "{\"type\":\"DeadLetters\",\"status\":\"False\",\"reason\":\"NoDeadLetters\","
                            "\"message\":\"0 open dead letters\","
                            "\"lastTransitionTime\":\"2026-12-01T07:00:00Z\"}],\"api\":{\"readyReplicas\":1,"
                            "\"replicas\":1,\"ready\":\"1/1\"},"
                            "\"sink\":{\"readyReplicas\":1,\"replicas\":1,\"ready\":\"1/"
                            "1\",\"lag\":0},\"cache\":{\"ready\":true,\"external\":"
                            "false,\"state\":\"Ready\"},\"stream\":{\"name\":\"BYRON_it_x\",\"messages\":3,"
                            "\"bytes\":1200,\"replicas\":1},"
                            "\"deadLetters\":0}}";

/* The binary, its stdout and stderr. env: NULL-terminated "K=V" added. */
static int cli(char **out, char **errout, char *const *env, const char *first, ...) {
    char bin[600], dir[] = "/tmp/byron-cli-XXXXXX", o[300], e[300];
    snprintf(bin, sizeof bin, "%s/cli/kubectl-byron", getenv("BYRON_BINARY_DIR"));
    cr_assert_not_null(mkdtemp(dir));
    snprintf(o, sizeof o, "%s/out", dir);
    snprintf(e, sizeof e, "%s/err", dir);
    const char *argv[64] = {bin};
    int n = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 62; a = va_arg(ap, const char *)) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644),
            fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("BYRON_NATS_URL", byron_testenv("BYRON_NATS_URL"), 1);
        setenv("BYRON_MONGO_URI", byron_testenv("BYRON_MONGO_URI"), 1);
        unsetenv("BYRON_APP_SOCKET");
        for (char *const *v = env; v && *v; v++) putenv(*v);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int rc = h_wait_exit(pid, 180000);
    char *files[2] = {o, e}, **dst[2] = {out, errout};
    for (int i = 0; i < 2; i++) {
        char *t = NULL;
        size_t len = 0;
        byron_file_read(files[i], 16 << 20, &t, &len, NULL);
        if (dst[i])
            *dst[i] = t ? t : strdup("");
        else
            free(t);
    }
    return rc;
}

#define KCFG "--kubeconfig", byron_testenv("BYRON_KUBECONFIG"), "-n", NS

static int lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

Test(cli_it, status_events_schema_and_verify) {
    h_sidecar_t api;
    h_sidecar_start(&api, "clistat", NULL, NULL);
    h_sink_t k;
    h_sink_start(&k, api.config, 0, NULL, NULL, NULL);
    h_resp_t r;
    const char *cmds[][2] = {{"createOrder", "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann\"}}"},
                             {"createOrder", "{\"id\":\"o-2\",\"input\":{\"customer\":\"bob\"}}"},
                             {"updateOrder", "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann-2\"}}"}};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(h_command(&api, cmds[i][0], cmds[i][1], &r), 0);
        cr_assert_eq(r.status, 200, "%s", r.body);
        h_resp_free(&r);
    }
    publish_component(&api, STATUS);
    char *out = NULL, *err = NULL;
    /* every component of the namespace: kubectl's table */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", NULL), 0, "%s", err);
    cr_assert(strstr(out, "NAME ") && strstr(out, "DEAD LETTERS") && strstr(out, api.component), "%s", out);
    char row[256];
    snprintf(row, sizeof row, "%s", strstr(out, api.component));
    *strchr(row, '\n') = '\0';
    cr_assert(strstr(row, "True") && strstr(row, "1/1") && strstr(row, "Ready") && strstr(row, " 3 "), "%s",
              row);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", "-o", "json", NULL), 0, "%s", err);
    json_object *doc = json_tokener_parse(out), *items = json_object_object_get(doc, "items");
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++)
        found |= !strcmp(
            json_object_get_string(json_object_object_get(json_object_array_get_idx(items, i), "name")),
            api.component);
    cr_assert(found, "%s", out);
    json_object_put(doc);
    free(out), free(err);
    /* one component in detail: the live part from byron-sidecar --mode=admin */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "--direct", "status", api.component, NULL), 0, "%s", err);
    cr_assert(strstr(out, "Ready:         True (Ready)"), "%s", out);
    cr_assert(strstr(out, "3 events"), "%s", out);
    cr_assert(strstr(out, "partition 0"), "%s", out);
    cr_assert(strstr(out, "Dead letters:  0 open"), "%s", out);
    cr_assert(strstr(out, "Order 2"), "%s", out);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", api.component, "--direct", "-o", "yaml", NULL), 0,
                 "%s", err);
    byron_err_t e = {0};
    json_object *y = NULL;
    cr_assert_eq(byron_yaml_parse(out, strlen(out), 1, &y, &e), BYRON_OK, "%s\n%s", e.msg, out);
    json_object *docs = json_object_object_get(json_object_object_get(y, "cacheContents"), "documents");
    cr_assert_eq(json_object_get_int(json_object_object_get(docs, "Order")), 2, "%s", out);
    cr_assert_eq(json_object_get_int(json_object_object_get(json_object_object_get(y, "stream"), "messages")),
                 3);
    cr_assert_eq(json_object_array_length(json_object_object_get(y, "lanes")), 8 + 1);
    json_object_put(y);
    free(out), free(err);
    /* the log of one aggregate: a table, then JSON documents */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "events", api.component, "--direct", "--model", "Order", "--id",
                     "o-1", NULL),
                 0, "%s", err);
    cr_assert_eq(lines(out), 3, "%s", out); /* the header and two events */
    cr_assert(strstr(out, "OrderCreated") && strstr(out, "OrderUpdated") && strstr(out, "Order/o-1"), "%s",
              out);
    cr_assert(strstr(out, "{\"customer\":\"ann-2\"}"), "%s", out);
    free(out), free(err);
    cr_assert_eq(
        cli(&out, &err, NULL, KCFG, "events", api.component, "--direct", "--limit", "1", "-o", "json", NULL),
        0, "%s", err);
    doc = json_tokener_parse(out);
    cr_assert_eq(json_object_get_int(json_object_object_get(doc, "sequence")), 1, "%s", out);
    cr_assert(strstr(err, "the first 1 events"), "%s", err);
    json_object_put(doc);
    free(out), free(err);
    /* the schema the API serves */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "schema", api.component, NULL), 0, "%s", err);
    cr_assert(strstr(out, "type Order") && strstr(out, "createOrder("), "%s", out);
    free(out), free(err);
    /* the fold checker */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "verify", api.component, "--direct", "--timeout", "60", NULL), 0,
                 "%s\n%s", out, err);
    cr_assert(strstr(out, "equal: 3 events folded"), "%s", out);
    free(out), free(err);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* The proof, here: a poison event shows in `dlq list`, cannot be
 * dropped while it stops its order, is replayed once the app is fixed, and
 * is gone from the list; the fold checker agrees. */
Test(cli_it, a_dead_letter_is_listed_replayed_and_gone) {
    h_sidecar_t api;
    h_sidecar_start(&api, "clidlq", "python", NULL);
    char *env[] = {"BYRON_SINK_MAX_DELIVER=2", "BYRON_SINK_RETRY_MS=50", NULL};
    h_sink_t k;
    h_sink_start(&k, api.config, 1, env, NULL, NULL);
    h_resp_t r;
    cr_assert_eq(h_command(&api, "createOrder", "{\"id\":\"p-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    h_resp_free(&r);
    cr_assert_eq(h_command(&api, "shipOrder", "{\"id\":\"p-1\",\"input\":{\"carrier\":\"poison\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    publish_component(&api, STATUS);
    char *out = NULL, *err = NULL, appenv[400];
    snprintf(appenv, sizeof appenv, "BYRON_APP_SOCKET=%s", k.app_sock);
    char *with_app[] = {appenv, "BYRON_SINK_MAX_DELIVER=2", "BYRON_SINK_RETRY_MS=50", NULL};
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        cr_assert_eq(cli(&out, &err, NULL, KCFG, "dlq", "list", api.component, "--direct", NULL), 0, "%s",
                     err);
        /* The sink stores the dead letter, then stops its aggregate: listed, then blocking. */
        if ((strstr(out, "OrderShipped") && strstr(out, " yes ")) || byron_test_now_ms() > deadline) break;
        free(out), free(err);
        byron_clock_sleep_ms(200);
    }
    cr_assert(strstr(out, "SEQ") && strstr(out, "BLOCKING") && strstr(out, "OrderShipped") &&
                  strstr(out, "Order/p-1"),
              "%s", out);
    cr_assert(strstr(out, " yes "), "%s", out);
    cr_assert(strstr(out, "open"), "%s", out);
    char seq[16];
    snprintf(seq, sizeof seq, "%ld", strtol(strchr(out, '\n') + 1, NULL, 10));
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "dlq", "drop", api.component, seq, "--direct", NULL), 1, "%s",
                 out);
    cr_assert(strstr(out, "not dropped: Order p-1 is stopped by a dead letter: replay it"), "%s", out);
    free(out), free(err);
    h_app_control(k.app_sock, "{\"poison\":false}");
    cr_assert_eq(cli(&out, &err, with_app, KCFG, "dlq", "replay", api.component, seq, "--direct", NULL), 0,
                 "%s\n%s", out, err);
    cr_assert(strstr(out, "Order/p-1: 1 events: 1 projected"), "%s", out);
    cr_assert(strstr(out, "the aggregate runs again"), "%s", out);
    char want[64];
    snprintf(want, sizeof want, "dead letter %s replayed", seq);
    cr_assert(strstr(out, want), "%s", out);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "dlq", "list", api.component, "--direct", NULL), 0, "%s", err);
    cr_assert_str_empty(out);
    cr_assert(strstr(err, "No dead letters."), "%s", err);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "dlq", "show", api.component, seq, "--direct", NULL), 0, "%s",
                 err);
    cr_assert(strstr(out, "state: replayed") && strstr(out, "event:"), "%s", out);
    free(out), free(err);
    cr_assert_eq(
        cli(&out, &err, with_app, KCFG, "verify", api.component, "--direct", "--timeout", "60", NULL), 0,
        "%s\n%s", out, err);
    free(out), free(err);
    cr_assert_eq(h_sink_stop(&k, SIGTERM), 0);
    h_sidecar_stop(&api);
}

/* kubectl's words for what goes wrong: a component that does not exist, an
 * RBAC denial, a kubeconfig without a current context, a context that does
 * not exist, no kubeconfig at all, no sink pod to run in. */
Test(cli_it, errors_are_worded_as_kubectl_words_them) {
    char *out = NULL, *err = NULL;
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", "nope", NULL), 1);
    cr_assert(
        strstr(
            err,
            "Error from server (NotFound): byroncomponents.byron.io \"nope\" not found in namespace \"it\""),
        "%s", err);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "dlq", "list", "nope", NULL), 1);
    cr_assert(strstr(err, "(NotFound)"), "%s", err);
    free(out), free(err);
    /* A ServiceAccount with no rights at all. */
    byron_err_t e = {0};
    json_object *sa =
        json_tokener_parse("{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
                           "\"nobody\"}}");
    byron_status_t st =
        kdo("POST", "/api/v1/namespaces/" NS "/serviceaccounts", "application/json", sa, NULL, &e);
    cr_assert(st == BYRON_OK || st == BYRON_ECONFLICT, "%s", e.msg);
    json_object_put(sa);
    json_object *tr = json_tokener_parse(
                    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
                    "\"spec\":{\"expirationSeconds\":3600}}"),
                *resp = NULL;
    cr_assert_eq(kdo("POST", "/api/v1/namespaces/" NS "/serviceaccounts/nobody/token", "application/json", tr,
                     &resp, &e),
                 BYRON_OK, "%s", e.msg);
    char kcfg[] = "/tmp/byron-cli-nobody-XXXXXX";
    int fd = mkstemp(kcfg);
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "apiVersion: v1\nkind: Config\ncurrent-context: nobody\n"
            "clusters: [{name: t, cluster: {server: '%s', certificate-authority: '%s/pki/ca.crt'}}]\n"
            "users: [{name: nobody, user: {token: '%s'}}]\n"
            "contexts: [{name: nobody, context: {cluster: t, user: nobody, namespace: " NS "}}]\n",
            byron_testenv("BYRON_KUBE_SERVER"), byron_testenv("BYRON_TESTENV_DIR"),
            json_object_get_string(json_object_object_get(json_object_object_get(resp, "status"), "token")));
    fclose(f);
    json_object_put(tr);
    json_object_put(resp);
    cr_assert_eq(cli(&out, &err, NULL, "--kubeconfig", kcfg, "status", NULL), 1);
    cr_assert(strstr(err, "Error from server (Forbidden): byroncomponents.byron.io is forbidden: User "
                          "\"system:serviceaccount:it:nobody\" cannot list resource \"byroncomponents\""),
              "%s", err);
    free(out), free(err);
    /* the context: none set, or one that is not there */
    char nocur[] = "/tmp/byron-cli-nocontext-XXXXXX";
    fd = mkstemp(nocur);
    f = fdopen(fd, "w");
    fprintf(f, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    fclose(f);
    cr_assert_eq(cli(&out, &err, NULL, "--kubeconfig", nocur, "status", NULL), 1);
    cr_assert(strstr(err, "error: ") &&
                  strstr(err, "current-context is not set: choose one with --context NAME"),
              "%s", err);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "--context", "elsewhere", "status", NULL), 1);
    cr_assert(strstr(err, "context \"elsewhere\" does not exist in the kubeconfig"), "%s", err);
    free(out), free(err);
    char *noconf[] = {"HOME=/nonexistent", "KUBECONFIG=", NULL};
    cr_assert_eq(cli(&out, &err, noconf, "status", NULL), 1);
    cr_assert(strstr(err, "error: no kubeconfig: /nonexistent/.kube/config does not exist"), "%s", err);
    free(out), free(err);
    unlink(kcfg);
    unlink(nocur);
}

/* Without --direct the work goes to a sink pod through pods/exec: the
 * testenv has none (no kubelet), and the CLI says which pods it looked for. */
Test(cli_it, without_a_sink_pod_the_cli_says_where_it_looked) {
    h_sidecar_t api;
    h_sidecar_start(&api, "clinopod", NULL, NULL);
    publish_component(&api, STATUS);
    char *out = NULL, *err = NULL;
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "events", api.component, NULL), 1);
    char want[300];
    snprintf(want, sizeof want,
             "error: %s has no running sink pod with a ready byron-sidecar (0 sink pods: kubectl get pods -n "
             "it -l byron.io/component=%s,byron.io/role=sink)",
             api.component, api.component);
    cr_assert(strstr(err, want), "%s", err);
    free(out), free(err);
    /* status still shows the resource, and says why the live part is missing */
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", api.component, NULL), 0, "%s", err);
    cr_assert(strstr(out, "Live detail:   unavailable: ") && strstr(out, "no running sink pod"), "%s", out);
    cr_assert(strstr(err, "warning: live detail unavailable"), "%s", err);
    free(out), free(err);
    h_sidecar_stop(&api);
}

/* rebuild asks through spec.cache.rebuild (a merge patch of that one field),
 * then follows status.rebuild — which the operator writes; there is none
 * here, so the command waits for it, and says so when its time is up. status
 * shows the report (the operator's side: operator_integration_tests
 * operator::a_rebuild_token_rolls_the_sink_and_reports_progress). */
Test(cli_it, rebuild_sets_the_token_and_waits_for_the_operators_report) {
    h_sidecar_t api;
    h_sidecar_start(&api, "clirebuild", NULL, NULL);
    publish_component(&api, STATUS);
    char *out = NULL, *err = NULL;
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "rebuild", api.component, "--wait=false", NULL), 0, "%s", err);
    cr_assert(strstr(out, "rebuild requested (spec.cache.rebuild: kubectl-byron-"), "%s", out);
    free(out), free(err);
    char path[512];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/" NS "/byroncomponents/%s",
             api.component);
    byron_err_t e = {0};
    json_object *bc = NULL;
    cr_assert_eq(kdo("GET", path, NULL, NULL, &bc, &e), BYRON_OK, "%s", e.msg);
    const char *token = json_object_get_string(json_object_object_get(
        json_object_object_get(json_object_object_get(bc, "spec"), "cache"), "rebuild"));
    cr_assert(token && !strncmp(token, "kubectl-byron-", 14), "the token kept: %s", token ? token : "(none)");
    json_object_put(bc);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "rebuild", api.component, "--timeout", "3s", NULL), 1, "%s",
                 out);
    cr_assert(strstr(out, "waiting for the operator to start it"), "%s", out);
    cr_assert(strstr(err, "timed out after 3 s waiting for the rebuild"), "%s", err);
    free(out), free(err);
    /* the operator's report, in status */
    json_object *patch = json_tokener_parse("{\"status\":{\"rebuild\":{\"requested\":\"t1\",\"generation\":1,"
                                            "\"phase\":\"Building\",\"projected\":2,\"total\":3}}}");
    strcat(path, "/status");
    cr_assert_eq(kdo("PATCH", path, "application/merge-patch+json", patch, NULL, &e), BYRON_OK, "%s", e.msg);
    json_object_put(patch);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", api.component, NULL), 0, "%s", err);
    cr_assert(strstr(out, "Rebuild:       Building  2/3 events  generation 1  token t1"), "%s", out);
    free(out), free(err);
    cr_assert_eq(cli(&out, &err, NULL, KCFG, "status", NULL), 0, "%s", err);
    cr_assert(strstr(out, "Ready (rebuild 2/3)"), "the table's CACHE column: %s", out);
    free(out), free(err);
    h_sidecar_stop(&api);
}
