/* test_crd_it.c — the ByronComponent CRD on the real kube-apiserver of
 * scripts/testenv, against the real sidecar binary.
 *
 * - kubectl explain is a manual: every property of the OpenAPI v3 document the
 *   API server publishes for the CRD has a description.
 * - The CRD refuses what the sidecar refuses: for each case of
 *   operator/tests/data/crd_cases.yaml `refused`, `byron-sidecar --print-schema`
 *   exits 2 on the component.json the operator would write (so it is a real
 *   sidecar refusal), and the API server rejects the spec naming the field.
 * - Nothing the API server accepts is refused by the sidecar (`accepted`).
 * - docs/evolution.md: each refused change is rejected naming the field, each
 *   allowed change is accepted (`evolution`).
 * Creates and updates run with dryRun=All except the evolution base object. */
#include "byron/file.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/kubeconfig.h"
#include "byron/yaml.h"
#include "child.h"
#include "desired.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static byron_kube_client_t *kc;
static json_object *cases;
static char ns[64];

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *k) {
    json_object *v = get(o, k);
    return v ? json_object_get_string(v) : "";
}

static json_object *read_yaml(const char *rel) {
    char path[1024], *buf = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    snprintf(path, sizeof path, "%s/%s", getenv("BYRON_SOURCE_DIR"), rel);
    json_object *o = NULL;
    cr_assert_eq(byron_file_read(path, 4 << 20, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_yaml_parse(buf, len, 1, &o, &err), BYRON_OK, "%s: %s", rel, err.msg);
    free(buf);
    return o;
}

static void setup(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    byron_kube_config_t *cfg = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(byron_testenv("BYRON_KUBECONFIG"), NULL, &cfg, &err), BYRON_OK, "%s",
                 err.msg);
    cr_assert_not_null(kc = byron_kube_client_new(cfg, &err), "%s", err.msg);
    json_object *crd = read_yaml("crds/byron.io_byroncomponents.yaml");
    cr_assert_eq(byron_kube_apply(
                     kc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/byroncomponents.byron.io",
                     crd, NULL, &err),
                 BYRON_OK, "the API server refused the CRD: %s", err.msg);
    json_object_put(crd);
    long long deadline = byron_test_now_ms() + 30000;
    json_object *list = NULL;
    while (byron_kube_do(kc, "GET", "/apis/byron.io/v1alpha1/byroncomponents", NULL, NULL, &list, &err) !=
           BYRON_OK) {
        cr_assert_lt(byron_test_now_ms(), deadline, "CRD not served: %s", err.msg);
        byron_test_sleep_ms(100);
    }
    json_object_put(list);
    static int n;
    snprintf(ns, sizeof ns, "crd-%d-%d", (int)getpid(), n++);
    json_object *nso = json_tokener_parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{}}");
    json_object_object_add(get(nso, "metadata"), "name", json_object_new_string(ns));
    cr_assert_eq(byron_kube_do(kc, "POST", "/api/v1/namespaces", "application/json", nso, NULL, &err),
                 BYRON_OK, "%s", err.msg);
    json_object_put(nso);
    cases = read_yaml("operator/tests/data/crd_cases.yaml");
}

static void teardown(void) {
    json_object_put(cases);
    byron_kube_client_free(kc);
    kc = NULL;
    curl_global_cleanup();
}

TestSuite(crd, .init = setup, .fini = teardown, .timeout = 300);

/* A ByronComponent named `name` in our namespace with a copy of spec. */
static json_object *component(const char *name, json_object *spec) {
    json_object *bc =
                    json_tokener_parse("{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\"}"),
                *md;
    json_object_object_add(bc, "metadata", md = json_object_new_object());
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(md, "namespace", json_object_new_string(ns));
    json_object *copy = NULL;
    json_object_deep_copy(spec, &copy, NULL);
    json_object_object_add(bc, "spec", copy);
    return bc;
}

static char *bc_path(const char *name, const char *query) {
    static char path[512];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents%s%s%s", ns,
             name ? "/" : "", name ? name : "", query);
    return path;
}

/* The sidecar's start-up checks on the component.json the operator writes for
 * bc, with the environment `extra` ("NAME=value", NULL-terminated) added to
 * the test's: its exit status, and what it printed on stderr in *msg. */
static int sidecar_check_env(json_object *bc, char **extra, char *msg, size_t cap) {
    json_object *config = NULL;
    byron_err_t err = {0};
    if (byron_desired_component_config(bc, &config, &err) != BYRON_OK) {
        /* The operator refuses to convert it (partitions out of range): hand
         * the sidecar the spec as the conversion would have. */
        static const char *const KEYS[] = {"partitions", "enums", "models", "commands", "subscriptions"};
        config = json_tokener_parse("{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"x\"}");
        json_object_object_add(config, "namespace", json_object_new_string(ns));
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
            json_object *v = get(get(bc, "spec"), KEYS[i]), *copy = NULL;
            if (v && json_object_deep_copy(v, &copy, NULL) == 0)
                json_object_object_add(config, KEYS[i], copy);
        }
    }
    char file[] = "/tmp/byron-crd-it-XXXXXX";
    int fd = mkstemp(file);
    cr_assert_geq(fd, 0);
    const char *text = json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    json_object_put(config);
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    char *argv[] = {bin, "--print-schema", "--config", file, NULL};
    size_t ne = 0, nx = 0;
    while (environ[ne]) ne++;
    while (extra && extra[nx]) nx++;
    char **envp = calloc(ne + nx + 1, sizeof *envp);
    cr_assert_not_null(envp);
    memcpy(envp, environ, ne * sizeof *envp);
    if (nx) memcpy(envp + ne, extra, nx * sizeof *envp);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, envp), 0, "cannot run %s", bin);
    free(envp);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(pipefd[0], msg + n, cap - 1 - n)) > 0) n += (size_t)r;
    msg[n] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(file);
    cr_assert(WIFEXITED(status), "byron-sidecar died (signal %d): %s", WTERMSIG(status), msg);
    /* Its stderr is read here, not logged: a sanitizer report in it fails the test. */
    cr_assert(!strstr(msg, "Sanitizer") && !strstr(msg, "runtime error:"), "sanitizer report:\n%s", msg);
    return WEXITSTATUS(status);
}

static int sidecar_check(json_object *bc, char *msg, size_t cap) {
    return sidecar_check_env(bc, NULL, msg, cap);
}

/* POST (dryRun) a component; BYRON_OK and the stored object in *out, or the error. */
static byron_status_t try_create(json_object *bc, json_object **out, byron_err_t *err) {
    return byron_kube_do(kc, "POST", bc_path(NULL, "?dryRun=All"), "application/json", bc, out, err);
}

/* Failures are gathered so one run shows every case that broke. */
typedef struct {
    char text[16384];
    size_t len;
    int n;
} report_t;

static void failed(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failed(report_t *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (r->len + 2 < sizeof r->text) {
        int w = vsnprintf(r->text + r->len, sizeof r->text - r->len - 1, fmt, ap);
        r->len += w > 0 ? (size_t)w : 0;
        if (r->len > sizeof r->text - 2) r->len = sizeof r->text - 2;
        r->text[r->len++] = '\n';
        r->text[r->len] = '\0';
    }
    va_end(ap);
    r->n++;
}

/* Does msg contain every string of `says`? The first missing one, else NULL. */
static const char *missing_in(json_object *says, const char *msg) {
    for (size_t i = 0; says && i < json_object_array_length(says); i++) {
        const char *want = json_object_get_string(json_object_array_get_idx(says, i));
        if (!strstr(msg, want)) return want;
    }
    return NULL;
}

/* A refusal must be a 422 whose message says everything in `says`. */
static void expect_refused(report_t *r, const char *name, byron_status_t st, const byron_err_t *err,
                           json_object *says) {
    const char *miss;
    if (st == BYRON_OK)
        failed(r, "%s: the API server accepted it", name);
    else if (st != BYRON_EINVAL)
        failed(r, "%s: the API server answered %d, not 422: %s", name, st, err->msg);
    else if ((miss = missing_in(says, err->msg)))
        failed(r, "%s: the API server's message does not say \"%s\": %s", name, miss, err->msg);
}

static void replace_ns(const char *in, char *out, size_t cap) {
    const char *p = strstr(in, "NAMESPACE");
    if (p)
        snprintf(out, cap, "%.*s%s%s", (int)(p - in), in, ns, p + strlen("NAMESPACE"));
    else
        snprintf(out, cap, "%s", in);
}

Test(crd, refuses_what_the_sidecar_refuses) {
    json_object *list = get(cases, "refused");
    size_t n = json_object_array_length(list);
    cr_assert_geq(n, 40, "the corpus lost its cases");
    report_t r = {0};
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(list, i);
        const char *name = str(c, "case");
        json_object *bc = component("refused", get(c, "spec"));
        char out[4096], want[512];
        replace_ns(str(c, "sidecar"), want, sizeof want);
        int rc = sidecar_check(bc, out, sizeof out);
        if (rc != 2 || !strstr(out, want))
            failed(&r, "%s: the sidecar %s (exit %d, wanted \"%s\"): %s", name,
                   rc == 0 ? "accepts it: not a sidecar refusal" : "refuses it otherwise", rc, want, out);
        byron_err_t err = {0};
        json_object *created = NULL;
        byron_status_t st = try_create(bc, &created, &err);
        json_object_put(created);
        expect_refused(&r, name, st, &err, get(c, "says"));
        json_object_put(bc);
    }
    cr_assert_eq(r.n, 0, "%d of %zu cases:\n%s", r.n, n, r.text);
}

Test(crd, accepts_nothing_the_sidecar_refuses) {
    json_object *list = get(cases, "accepted");
    size_t n = json_object_array_length(list);
    cr_assert_geq(n, 8, "the corpus lost its cases");
    report_t r = {0};
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(list, i);
        const char *name = str(c, "case");
        json_object *bc = component("accepted", get(c, "spec")), *stored = NULL;
        byron_err_t err = {0};
        if (try_create(bc, &stored, &err) != BYRON_OK) {
            failed(&r, "%s: the API server refused it: %s", name, err.msg);
        } else {
            /* What the operator reads: the stored object, defaults applied. */
            char out[4096];
            int rc = sidecar_check(stored, out, sizeof out);
            if (rc != 0) failed(&r, "%s: the API server accepts it, the sidecar exits %d: %s", name, rc, out);
            byron_desired_t d;
            byron_desired_options_t o = {.sidecar_image = "byron-sidecar:it",
                                         .default_cache_image = "mongo:7",
                                         .default_broker_url = "nats://nats:4222"};
            if (byron_desired_build(stored, &o, &d, &err) != BYRON_OK)
                failed(&r, "%s: the operator calls it invalid: %s", name, err.msg);
            else
                byron_desired_cleanup(&d);
        }
        json_object_put(stored);
        json_object_put(bc);
    }
    cr_assert_eq(r.n, 0, "%d of %zu cases:\n%s", r.n, n, r.text);
}

/* Create the evolution base (for real: transition rules need an old object). */
static json_object *create_base(const char *name) {
    json_object *ev = get(cases, "evolution"), *bc = component(name, get(ev, "base")), *stored = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kube_do(kc, "POST", bc_path(NULL, ""), "application/json", bc, &stored, &err),
                 BYRON_OK, "the base: %s", err.msg);
    json_object_put(bc);
    return stored;
}

/* The stored object with spec keys replaced by those of `set`, PUT with dryRun. */
static byron_status_t try_change(json_object *stored, const char *name, json_object *set, byron_err_t *err) {
    json_object *bc = NULL;
    json_object_deep_copy(stored, &bc, NULL);
    json_object *spec = get(bc, "spec");
    json_object_object_foreach(set, k, v) {
        json_object *copy = NULL;
        json_object_deep_copy(v, &copy, NULL);
        json_object_object_add(spec, k, copy);
    }
    byron_status_t st =
        byron_kube_do(kc, "PUT", bc_path(name, "?dryRun=All"), "application/json", bc, NULL, err);
    json_object_put(bc);
    return st;
}

Test(crd, refuses_the_changes_old_events_cannot_take) {
    json_object *stored = create_base("evolving"), *list = get(get(cases, "evolution"), "refused");
    size_t n = json_object_array_length(list);
    cr_assert_geq(n, 14, "the corpus lost its cases");
    report_t r = {0};
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(list, i);
        byron_err_t err = {0};
        byron_status_t st = try_change(stored, "evolving", get(c, "set"), &err);
        expect_refused(&r, str(c, "case"), st, &err, get(c, "says"));
    }
    json_object_put(stored);
    cr_assert_eq(r.n, 0, "%d of %zu changes:\n%s", r.n, n, r.text);
}

Test(crd, allows_the_changes_old_events_can_take) {
    json_object *stored = create_base("growing"), *list = get(get(cases, "evolution"), "allowed");
    size_t n = json_object_array_length(list);
    cr_assert_geq(n, 10, "the corpus lost its cases");
    report_t r = {0};
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(list, i);
        byron_err_t err = {0};
        if (try_change(stored, "growing", get(c, "set"), &err) != BYRON_OK)
            failed(&r, "%s: refused: %s", str(c, "case"), err.msg);
    }
    json_object_put(stored);
    cr_assert_eq(r.n, 0, "%d of %zu changes:\n%s", r.n, n, r.text);
}

/* --- kubectl explain: the published OpenAPI v3 schema -------------------- */
static void undescribed(json_object *s, const char *path, int depth, report_t *r, int *checked) {
    json_object *props = get(s, "properties");
    if (props) {
        json_object_object_foreach(props, name, sub) {
            char p[512];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", name);
            (*checked)++;
            const char *d = str(sub, "description");
            if (!*d) failed(r, "%s: no description", p);
            undescribed(sub, p, depth + 1, r, checked);
        }
    }
    json_object *items = get(s, "items");
    if (items) {
        char p[512];
        snprintf(p, sizeof p, "%s[]", path);
        undescribed(items, p, depth + 1, r, checked);
    }
}

Test(crd, kubectl_explain_describes_every_field) {
    long long deadline = byron_test_now_ms() + 60000;
    json_object *schema = NULL, *doc = NULL;
    byron_err_t err = {0};
    for (;;) {
        json_object *index = NULL;
        const char *url = NULL;
        if (byron_kube_do(kc, "GET", "/openapi/v3", NULL, NULL, &index, &err) == BYRON_OK)
            url = str(get(get(index, "paths"), "apis/byron.io/v1alpha1"), "serverRelativeURL");
        if (url && *url && byron_kube_do(kc, "GET", url, NULL, NULL, &doc, &err) == BYRON_OK) {
            schema = get(get(get(doc, "components"), "schemas"), "io.byron.v1alpha1.ByronComponent");
            /* Published asynchronously: wait for this CRD's text. */
            json_object *models = get(get(get(get(schema, "properties"), "spec"), "properties"), "models");
            if (models && strstr(str(models, "description"), "aggregates")) {
                json_object_put(index);
                break;
            }
            json_object_put(doc);
            doc = NULL;
        }
        json_object_put(index);
        cr_assert_lt(byron_test_now_ms(), deadline, "the CRD's OpenAPI v3 schema was not published: %s",
                     err.msg);
        byron_test_sleep_ms(200);
    }
    report_t r = {0};
    int checked = 0;
    undescribed(schema, "", 0, &r, &checked);
    json_object_put(doc);
    cr_assert_geq(checked, 80, "only %d properties: not the whole CRD", checked);
    cr_assert_eq(r.n, 0, "%d of %d properties:\n%s", r.n, checked, r.text);
}

/* --- random specs ------------------------------------------------------------
 * The hand-written corpus covers the refusals we know of; random specs built
 * from names chosen to collide (As beside A, AFilter, an enum named like a
 * model's generated type, and/or/not, duplicates...) look for the ones we do
 * not. Property: every spec the API server accepts starts a sidecar. Seeded,
 * so a failure names the seed that reproduces it. */
static unsigned rnd(unsigned *s, unsigned n) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) % n;
}

/* A name from pool not yet in arr's `key` (one in eight times any name: a duplicate). */
static const char *fresh(unsigned *s, const char *const *pool, unsigned n, json_object *arr,
                         const char *key) {
    for (int tries = 0; tries < 8; tries++) {
        const char *c = pool[rnd(s, n)];
        int used = 0;
        for (size_t i = 0; arr && key && i < json_object_array_length(arr); i++)
            used |= !strcmp(str(json_object_array_get_idx(arr, i), key), c);
        if (!used || rnd(s, 8) == 0) return c;
    }
    return pool[rnd(s, n)];
}

#define FRESH(s, pool, arr, key) fresh(s, pool, sizeof(pool) / sizeof((pool)[0]), arr, key)

/* Mostly valid, with the rare mistake: what a generated corpus needs to reach deep rules. */
static void random_fields(unsigned *s, json_object *arr, int max, json_object *models, json_object *enums) {
    static const char *const NAMES[] = {"a", "b",   "c",   "d",    "e",  "f",
                                        "g", "and", "not", "tags", "x1", "version"};
    static const char *const SCALARS[] = {"String", "Int", "JSON", "ID", "DateTime", "Float", "Boolean"};
    int n = (int)rnd(s, (unsigned)max + 1);
    for (int i = 0; i < n; i++) {
        json_object *f = json_object_new_object();
        const char *name = FRESH(s, NAMES, arr, "name");
        if (!strcmp(name, "version") && rnd(s, 4)) name = "v";
        json_object_object_add(f, "name", json_object_new_string(name));
        const char *type = SCALARS[rnd(s, 7)];
        unsigned k = rnd(s, 20);
        json_object *decl = k < 3 ? models : k < 5 ? enums : NULL;
        if (decl && json_object_array_length(decl) > 0)
            type = str(json_object_array_get_idx(decl, rnd(s, (unsigned)json_object_array_length(decl))),
                       "name");
        else if (k == 19)
            type = "Nope";
        json_object_object_add(f, "type", json_object_new_string(type));
        static const char *const FLAGS[] = {"required", "list", "indexed", "unique"};
        for (int j = 0; j < 4; j++)
            if (rnd(s, 7) == 0) json_object_object_add(f, FLAGS[j], json_object_new_boolean(1));
        json_object_array_add(arr, f);
    }
}

static json_object *random_spec(unsigned seed) {
    static const char *const FIRST[] = {"A", "B", "C"};
    static const char *const MODELS[] = {
        "A",        "B",   "C",      "As", "AFilter", "AEdge", "BOrderBy", "ShipInput", "AUpdateInput",
        "PageInfo", "Int", "Status", "D",  "E",       "F",     "G",        "H",         "J"};
    static const char *const ENUMS[] = {"Status",      "S",    "SFilter", "AFilter", "Query", "Color",
                                        "AConnection", "Kind", "Size",    "Mood",    "Tone",  "Shade"};
    static const char *const VALUES[] = {"A", "B", "A_1", "OPEN"};
    static const char *const COMMANDS[] = {"ship",    "createA", "aCreate", "aUpdate", "go",    "shipA",
                                           "deleteB", "stop",    "start",   "pay",     "close", "open"};
    static const char *const EVENTS[] = {"Shipped", "Lost", "ACreated", "Stopped"};
    static const char *const COMPONENTS[] = {"c", "d", "e"};
    unsigned s = seed;
    json_object *spec = json_object_new_object(), *enums = json_object_new_array(),
                *models = json_object_new_array(), *arr;
    static const int PARTS[] = {1, 8, 4096, 2};
    if (rnd(&s, 2)) json_object_object_add(spec, "partitions", json_object_new_int(PARTS[rnd(&s, 4)]));
    int ne = (int)rnd(&s, 3);
    for (int i = 0; i < ne; i++) {
        json_object *e = json_object_new_object(), *v = json_object_new_array();
        json_object_object_add(e, "name", json_object_new_string(FRESH(&s, ENUMS, enums, "name")));
        int nv = 1 + (int)rnd(&s, 3);
        for (int k = 0; k < nv; k++) {
            const char *val = VALUES[rnd(&s, 4)];
            int dup = 0;
            for (size_t j = 0; j < json_object_array_length(v); j++)
                dup |= !strcmp(json_object_get_string(json_object_array_get_idx(v, j)), val);
            if (!dup || rnd(&s, 10) == 0) json_object_array_add(v, json_object_new_string(val));
        }
        json_object_object_add(e, "values", v);
        json_object_array_add(enums, e);
    }
    int nm = 1 + (int)rnd(&s, 3);
    for (int i = 0; i < nm; i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(
            m, "name",
            json_object_new_string(i == 0 ? FIRST[rnd(&s, 3)] : FRESH(&s, MODELS, models, "name")));
        json_object_array_add(models, m);
    }
    for (size_t i = 0; i < json_object_array_length(models); i++) {
        json_object *f = json_object_new_array();
        random_fields(&s, f, 4, models, enums);
        json_object_object_add(json_object_array_get_idx(models, i), "fields", f);
    }
    if (json_object_array_length(enums))
        json_object_object_add(spec, "enums", enums);
    else
        json_object_put(enums);
    if (rnd(&s, 20))
        json_object_object_add(spec, "models", models);
    else
        json_object_put(models), models = NULL;
    int nc = (int)rnd(&s, 3);
    if (nc && models) {
        json_object_object_add(spec, "commands", arr = json_object_new_array());
        for (int i = 0; i < nc; i++) {
            json_object *c = json_object_new_object(), *in = json_object_new_array(),
                        *em = json_object_new_array();
            json_object_object_add(c, "name", json_object_new_string(FRESH(&s, COMMANDS, arr, "name")));
            json_object *m =
                json_object_array_get_idx(models, rnd(&s, (unsigned)json_object_array_length(models)));
            json_object_object_add(c, "model", json_object_new_string(rnd(&s, 20) ? str(m, "name") : "Nope"));
            int nev = rnd(&s, 20) ? 1 + (int)rnd(&s, 2) : 0;
            for (int k = 0; k < nev; k++)
                json_object_array_add(em, json_object_new_string(EVENTS[(k + rnd(&s, 4)) % 4]));
            json_object_object_add(c, "emits", em);
            random_fields(&s, in, 2, models, json_object_object_get(spec, "enums"));
            json_object_object_add(c, "input", in);
            json_object_array_add(arr, c);
        }
    }
    int nsub = (int)rnd(&s, 3);
    if (nsub) {
        json_object_object_add(spec, "subscriptions", arr = json_object_new_array());
        for (int i = 0; i < nsub; i++) {
            json_object *sub = json_object_new_object();
            json_object_object_add(sub, "component", json_object_new_string(COMPONENTS[rnd(&s, 3)]));
            unsigned where = rnd(&s, 4);
            if (where == 1) json_object_object_add(sub, "namespace", json_object_new_string("other"));
            if (where == 2) json_object_object_add(sub, "namespace", json_object_new_string(ns));
            json_object_array_add(arr, sub);
        }
    }
    return spec;
}

/* Property: a spec the API server accepts either starts a sidecar, or the
 * operator refuses it as InvalidSpec (writing nothing) with the sidecar's
 * own message: in neither case can a pod crash-loop on its spec. */
Test(crd, random_specs_the_api_server_accepts_never_crash_loop) {
    const int N = 400;
    int accepted = 0, by_operator = 0, stricter = 0;
    report_t r = {0};
    for (int i = 0; i < N; i++) {
        unsigned seed = 1000u + (unsigned)i;
        json_object *spec = random_spec(seed), *bc = component("random", spec), *stored = NULL;
        json_object_put(spec);
        byron_err_t err = {0};
        char out[4096];
        if (try_create(bc, &stored, &err) == BYRON_OK) {
            accepted++;
            int rc = sidecar_check(stored, out, sizeof out);
            byron_desired_t d;
            byron_desired_options_t o = {.sidecar_image = "byron-sidecar:it",
                                         .default_cache_image = "mongo:7",
                                         .default_broker_url = "nats://nats:4222"};
            byron_status_t st = byron_desired_build(stored, &o, &d, &err);
            if (st == BYRON_OK) byron_desired_cleanup(&d);
            /* the sidecar's message without its "byron-sidecar: <file>: " prefix */
            const char *why = strstr(out, ": ") ? strstr(strstr(out, ": ") + 2, ": ") : NULL;
            char sidecar_msg[512] = "";
            if (why) snprintf(sidecar_msg, sizeof sidecar_msg, "%.*s", (int)strcspn(why + 2, "\n"), why + 2);
            /* Only what CEL cannot see may get that far: our namespace written out on
             * one subscription and left out on another. Anything else is a rule the
             * CRD lacks. */
            if (rc != 0 && st == BYRON_EINVAL && *sidecar_msg && strstr(err.msg, sidecar_msg) &&
                strstr(sidecar_msg, "duplicate subscription"))
                by_operator++;
            else if (rc != 0 && st == BYRON_EINVAL && *sidecar_msg && strstr(err.msg, sidecar_msg))
                failed(&r, "seed %u: the CRD lacks a rule (the operator catches it as InvalidSpec): %s", seed,
                       sidecar_msg);
            else if (rc != 0)
                failed(
                    &r,
                    "seed %u: the API server accepts %s; the sidecar exits %d (%s) and the operator says %s",
                    seed, json_object_to_json_string_ext(get(stored, "spec"), JSON_C_TO_STRING_PLAIN), rc,
                    out, st == BYRON_OK ? "nothing" : err.msg);
        } else if (i % 4 == 0 && sidecar_check(bc, out, sizeof out) == 0) {
            stricter++; /* refused at apply though a sidecar would run it: allowed, counted (1 in 4 checked)
                         */
        }
        json_object_put(stored);
        json_object_put(bc);
    }
    cr_log_info(
        "random specs: %d of %d accepted by the API server: %d start a sidecar, %d are InvalidSpec for the "
        "operator (what CEL cannot see); %d refused at apply that a sidecar would run",
        accepted, N, accepted - by_operator - r.n, by_operator, stricter);
    cr_assert_geq(accepted, N / 8, "only %d of %d random specs were accepted: the generator tests nothing",
                  accepted, N);
    cr_assert_eq(r.n, 0, "%d of %d accepted specs would crash-loop or pass the CRD:\n%s", r.n, accepted,
                 r.text);
}

/* ---- spec.api.sidecar / spec.sink.sidecar: the CRD's bounds are the sidecar's */

static json_object *at_path(json_object *o, const char *const *keys) {
    for (; o && *keys; keys++) o = get(o, *keys);
    return o;
}

/* The schema of spec.<part>.sidecar in the CRD file. */
static json_object *sidecar_schema(json_object *crd, const char *part) {
    json_object *v = json_object_array_get_idx(get(get(crd, "spec"), "versions"), 0);
    const char *const path[] = {"schema", "openAPIV3Schema", "properties", "spec", "properties",
                                part,     "properties",      "sidecar",    NULL};
    return at_path(v, path);
}

/* The property of a setting ("workers", "graphql.maxDepth") in that schema. */
static json_object *setting_schema(json_object *sc, const char *field) {
    char outer[32];
    const char *dot = strchr(field, '.');
    if (!dot) return get(get(sc, "properties"), field);
    snprintf(outer, sizeof outer, "%.*s", (int)(dot - field), field);
    return get(get(get(get(sc, "properties"), outer), "properties"), dot + 1);
}

/* spec.<part>.sidecar.<field> = value (a JSON text), in a copy of the smallest spec. */
static json_object *with_setting(const char *part, const char *field, const char *value) {
    json_object *spec = json_tokener_parse("{\"models\":[{\"name\":\"Order\"}]}"),
                *sc = json_object_new_object();
    json_object *p = json_object_new_object();
    json_object_object_add(spec, part, p);
    json_object_object_add(p, "sidecar", sc);
    /* Neighbours that keep the cross-field rules out of the way of the bound tried. */
    if (!strcmp(part, "sink")) {
        if (strcmp(field, "appTimeoutMs") != 0)
            json_object_object_add(sc, "appTimeoutMs", json_object_new_int(10));
        if (strcmp(field, "ackWaitMs") != 0)
            json_object_object_add(sc, "ackWaitMs", json_object_new_int(3600000));
    }
    json_object *target = sc;
    const char *dot = strchr(field, '.');
    if (dot) {
        target = json_object_new_object();
        json_object_object_add(sc, "graphql", target);
        if (strcmp(field, "graphql.maxDocumentBytes") != 0)
            json_object_object_add(target, "maxDocumentBytes", json_object_new_int(1));
        if (strcmp(field, "graphql.maxBodyBytes") != 0)
            json_object_object_add(target, "maxBodyBytes", json_object_new_int(1048576));
        field = dot + 1;
    }
    json_object_object_add(target, field, json_tokener_parse(value));
    return spec;
}

/* "NAME=value" for each variable with a value of part's byron-sidecar, as the operator writes it. */
static char **operator_env(json_object *bc, const char *part) {
    byron_desired_t d;
    byron_desired_options_t o = {.sidecar_image = "byron-sidecar:it",
                                 .default_broker_url = "nats://nats:4222"};
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    char name[128];
    snprintf(name, sizeof name, "%s-%s", str(get(bc, "metadata"), "name"), part);
    char **out = calloc(256, sizeof *out);
    size_t n = 0;
    for (int i = 0; i < d.n; i++) {
        if (strcmp(d.objs[i].kind->kind, "Deployment") != 0 || strcmp(d.objs[i].name, name) != 0) continue;
        const char *const path[] = {"spec", "template", "spec", "containers", NULL};
        json_object *cs = at_path(d.objs[i].obj, path);
        for (size_t k = 0; k < json_object_array_length(cs); k++) {
            json_object *c = json_object_array_get_idx(cs, k), *env = get(c, "env");
            if (strcmp(str(c, "name"), "byron-sidecar") != 0) continue;
            for (size_t e = 0; e < json_object_array_length(env) && n < 255; e++) {
                json_object *ev = json_object_array_get_idx(env, e);
                if (!get(ev, "value") || strncmp(str(ev, "name"), "BYRON_", 6) != 0) continue;
                size_t len = strlen(str(ev, "name")) + strlen(str(ev, "value")) + 2;
                out[n] = malloc(len);
                snprintf(out[n++], len, "%s=%s", str(ev, "name"), str(ev, "value"));
            }
        }
    }
    byron_desired_cleanup(&d);
    return out;
}

static void free_env(char **env) {
    for (size_t i = 0; env && env[i]; i++) free(env[i]);
    free(env);
}

/* One value of a setting: does the API server take it, and the sidecar (with
 * the operator's variables)? Records a failure when either differs from `ok`. */
static void try_setting(report_t *r, const char *part, const byron_desired_setting_t *s, const char *value,
                        int ok) {
    json_object *spec = with_setting(part, s->field, value), *bc = component("settings", spec),
                *stored = NULL;
    byron_err_t err = {0};
    byron_status_t st = try_create(bc, &stored, &err);
    char path[128];
    snprintf(path, sizeof path, "spec.%s.sidecar.%s", part, s->field);
    if (ok && st != BYRON_OK) failed(r, "%s = %s: the API server refuses it: %s", path, value, err.msg);
    if (!ok) {
        json_object *says = json_object_new_array();
        json_object_array_add(says, json_object_new_string(path));
        expect_refused(r, path, st, &err, says);
        json_object_put(says);
    }
    char **env = operator_env(bc, part), out[4096];
    int rc = sidecar_check_env(bc, env, out, sizeof out);
    if (ok && rc != 0) failed(r, "%s = %s: the sidecar exits %d: %s", path, value, rc, out);
    if (!ok && (rc != 2 || !strstr(out, s->env)))
        failed(r, "%s = %s: the sidecar does not refuse %s (exit %d): %s", path, value, s->env, rc, out);
    free_env(env);
    json_object_put(stored);
    json_object_put(bc);
    json_object_put(spec);
}

/* Every setting of spec.<part>.sidecar is a variable the operator sets; at
 * the CRD's minimum and maximum the API server and the sidecar both accept
 * it, one beyond both refuse it (the API server naming the field, the sidecar
 * the variable); logLevel's values likewise. */
Test(crd, sidecar_settings_have_the_sidecars_bounds) {
    json_object *crd = read_yaml("crds/byron.io_byroncomponents.yaml");
    report_t r = {0};
    int tried = 0;
    const char *parts[] = {"api", "sink"};
    for (int pi = 0; pi < 2; pi++) {
        unsigned bit = pi == 0 ? BYRON_DESIRED_API : BYRON_DESIRED_SINK;
        json_object *sc = sidecar_schema(crd, parts[pi]);
        cr_assert_not_null(sc, "spec.%s.sidecar is not in the CRD", parts[pi]);
        /* Every integer property of the schema is a setting of this part. */
        json_object *lists[2] = {get(sc, "properties"),
                                 get(get(get(sc, "properties"), "graphql"), "properties")};
        for (int li = 0; li < 2; li++) {
            if (!lists[li]) continue;
            json_object_object_foreach(lists[li], k, v) {
                if (strcmp(str(v, "type"), "integer") != 0) continue;
                char field[64];
                snprintf(field, sizeof field, "%s%s", li ? "graphql." : "", k);
                const byron_desired_setting_t *s = byron_desired_settings;
                while (s->field && (strcmp(s->field, field) != 0 || !(s->parts & bit))) s++;
                if (!s->field)
                    failed(&r, "spec.%s.sidecar.%s: the operator does not pass it on", parts[pi], field);
            }
        }
        for (const byron_desired_setting_t *s = byron_desired_settings; s->field; s++) {
            if (!(s->parts & bit)) continue;
            json_object *ps = setting_schema(sc, s->field);
            if (!ps) {
                failed(&r, "spec.%s.sidecar.%s: not in the CRD", parts[pi], s->field);
                continue;
            }
            char v[64];
            if (get(ps, "enum")) {
                json_object *e = get(ps, "enum");
                for (size_t i = 0; i < json_object_array_length(e); i++) {
                    snprintf(v, sizeof v, "\"%s\"", json_object_get_string(json_object_array_get_idx(e, i)));
                    try_setting(&r, parts[pi], s, v, 1);
                }
                try_setting(&r, parts[pi], s, "\"verbose\"", 0);
                tried++;
                continue;
            }
            int64_t lo = json_object_get_int64(get(ps, "minimum")),
                    hi = json_object_get_int64(get(ps, "maximum"));
            if (!get(ps, "minimum") || !get(ps, "maximum")) {
                failed(&r, "spec.%s.sidecar.%s: no minimum or maximum", parts[pi], s->field);
                continue;
            }
            int64_t vals[] = {lo, hi, lo - 1, hi + 1};
            for (int i = 0; i < 4; i++) {
                snprintf(v, sizeof v, "%lld", (long long)vals[i]);
                try_setting(&r, parts[pi], s, v, i < 2);
            }
            tried++;
        }
    }
    json_object_put(crd);
    cr_assert_geq(tried, 30, "settings tried: %d", tried);
    cr_assert_eq(r.n, 0, "%d failures:\n%s", r.n, r.text);
}

/* The rules across settings, each refused naming its values. */
Test(crd, sidecar_settings_across_fields) {
    static const char *const CASES[][3] = {
        {"refused",
         "{\"api\":{\"sidecar\":{\"resources\":{\"requests\":{\"cpu\":\"100m\"},\"limits\":{\"cpu\":\"50m\"}}"
         "}}}",
         "spec.api.sidecar.resources: the cpu limit is below its request"},
        {"refused",
         "{\"sink\":{\"sidecar\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"},\"limits\":{\"memory\":"
         "\"512Mi\"}}}}}",
         "spec.sink.sidecar.resources: the memory limit is below its request"},
        {"refused", "{\"sink\":{\"sidecar\":{\"ackWaitMs\":10000}}}",
         "spec.sink.sidecar.ackWaitMs: is below 3 x appTimeoutMs (the default 5000)"},
        {"refused", "{\"sink\":{\"sidecar\":{\"appTimeoutMs\":20000}}}",
         "spec.sink.sidecar.ackWaitMs: the default 30000 is below 3 x appTimeoutMs"},
        {"refused", "{\"api\":{\"sidecar\":{\"graphql\":{\"maxBodyBytes\":2048,\"maxDocumentBytes\":4096}}}}",
         "spec.api.sidecar.graphql.maxDocumentBytes: exceeds maxBodyBytes"},
        {"refused", "{\"api\":{\"sidecar\":{\"resources\":{\"limits\":{\"memory\":\"lots\"}}}}}",
         "must be a Kubernetes quantity"},
        {"refused", "{\"api\":{\"sidecar\":{\"resources\":{\"limits\":{\"cpu\":1}}}}}",
         "spec.api.sidecar.resources.limits.cpu"},
        {"accepted",
         "{\"api\":{\"sidecar\":{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"1Gi\"},"
         "\"limits\":{\"cpu\":\"0.1\",\"memory\":\"1073741824\"}}}}}",
         ""},
        {"accepted", "{\"sink\":{\"sidecar\":{\"ackWaitMs\":15000,\"appTimeoutMs\":5000}}}", ""},
    };
    report_t r = {0};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        json_object *spec = json_tokener_parse(CASES[i][1]), *bc, *stored = NULL;
        json_object_object_add(spec, "models", json_tokener_parse("[{\"name\":\"Order\"}]"));
        bc = component("across", spec);
        byron_err_t err = {0};
        byron_status_t st = try_create(bc, &stored, &err);
        if (!strcmp(CASES[i][0], "accepted")) {
            if (st != BYRON_OK) failed(&r, "%s: refused: %s", CASES[i][1], err.msg);
        } else {
            json_object *says = json_object_new_array();
            json_object_array_add(says, json_object_new_string(CASES[i][2]));
            expect_refused(&r, CASES[i][1], st, &err, says);
            json_object_put(says);
        }
        json_object_put(stored);
        json_object_put(bc);
        json_object_put(spec);
    }
    cr_assert_eq(r.n, 0, "%d failures:\n%s", r.n, r.text);
}
