/* test_desired.c — the pure builders: names, owner references, security,
 * replicas ownership, config hash, external cache, spec errors. */
#include "byron/base64.h"
#include "byron/json.h"
#include "component.h" /* the sidecar's parser: it must accept what we write */
#include "desired.h"
#include "jpath.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *BC =
    "{\"apiVersion\":\"byron.io/v1alpha1\",\"kind\":\"ByronComponent\","
    "\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\",\"uid\":\"u-1\",\"generation\":3},"
    "\"spec\":{\"partitions\":8,"
    "\"enums\":[{\"name\":\"OrderStatus\",\"values\":[\"OPEN\",\"SHIPPED\"]}],"
    "\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\",\"required\":"
    "true}]}],"
    "\"commands\":[{\"name\":\"shipOrder\",\"model\":\"Order\",\"input\":[{\"name\":\"carrier\",\"type\":"
    "\"String\"}],\"emits\":[\"OrderShipped\"]}],"
    "\"subscriptions\":[{\"component\":\"customers\"},{\"component\":\"billing\",\"namespace\":\"fin\","
    "\"events\":[\"Paid\"]}],"
    "\"api\":{\"image\":\"acme/orders:1\",\"replicas\":2,\"env\":[{\"name\":\"X\",\"value\":\"1\"}]},"
    "\"sink\":{},"
    "\"cache\":{\"image\":\"mongo:7\",\"storage\":{\"size\":\"5Gi\",\"storageClassName\":\"fast\"}},"
    "\"broker\":{\"url\":\"nats://nats:4222\"}}}";

static const byron_desired_options_t OPTS = {.sidecar_image = "byron-sidecar:test",
                                             .default_cache_image = "mongo:7",
                                             .default_broker_url = "nats://default:4222"};

static json_object *parse(const char *s) {
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(s, strlen(s), 0, &o, &err), BYRON_OK, "%s", err.msg);
    return o;
}

static byron_desired_obj_t *find(byron_desired_t *d, const char *kind, const char *name) {
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->objs[i].kind->kind, kind) && !strcmp(d->objs[i].name, name)) return &d->objs[i];
    return NULL;
}

static void build(json_object *bc, byron_desired_t *d) {
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &OPTS, d, &err), BYRON_OK, "%s", err.msg);
}

Test(desired, every_child_is_named_labelled_and_owned) {
    json_object *bc = parse(BC);
    byron_desired_t d;
    build(bc, &d);
    cr_assert_eq(d.n, 8);
    const char *want[][2] = {{"ConfigMap", "orders-config"},        {"Service", "orders-cache"},
                             {"StatefulSet", "orders-cache"},       {"Service", "orders-api"},
                             {"Deployment", "orders-api"},          {"Deployment", "orders-sink"},
                             {"PodDisruptionBudget", "orders-api"}, {"PodDisruptionBudget", "orders-sink"}};
    for (int i = 0; i < 8; i++) {
        byron_desired_obj_t *o = find(&d, want[i][0], want[i][1]);
        cr_assert_not_null(o, "%s %s", want[i][0], want[i][1]);
        cr_assert_str_eq(s_at(o->obj, "metadata|namespace"), "shop");
        cr_assert_str_eq(s_at(o->obj, "metadata|labels|app.kubernetes.io/managed-by"), "byron-operator");
        cr_assert_str_eq(s_at(o->obj, "metadata|ownerReferences|0|uid"), "u-1");
        cr_assert_str_eq(s_at(o->obj, "metadata|ownerReferences|0|kind"), "ByronComponent");
        cr_assert(json_object_get_boolean(at(o->obj, "metadata|ownerReferences|0|controller")));
        cr_assert(json_object_get_boolean(at(o->obj, "metadata|ownerReferences|0|blockOwnerDeletion")));
        cr_assert_str_eq(s_at(o->obj, "metadata|annotations|byron.io/applied-hash"), o->hash);
    }
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

static json_object *container(json_object *dep, const char *name) {
    json_object *cs = at(dep, "spec|template|spec|containers");
    for (size_t i = 0; cs && i < json_object_array_length(cs); i++)
        if (!strcmp(s_at(json_object_array_get_idx(cs, i), "name"), name))
            return json_object_array_get_idx(cs, i);
    return NULL;
}

static int has_env(json_object *c, const char *name, const char *value) {
    json_object *env = at(c, "env");
    for (size_t i = 0; env && i < json_object_array_length(env); i++) {
        json_object *e = json_object_array_get_idx(env, i);
        if (strcmp(s_at(e, "name"), name) != 0) continue;
        return !value || (s_at(e, "value") && !strcmp(s_at(e, "value"), value));
    }
    return 0;
}

Test(desired, api_deployment_runs_app_and_sidecar_hardened) {
    json_object *bc = parse(BC);
    byron_desired_t d;
    build(bc, &d);
    json_object *dep = find(&d, "Deployment", "orders-api")->obj;
    cr_assert_eq(json_object_get_int(at(dep, "spec|replicas")), 2);
    cr_assert_str_eq(s_at(dep, "spec|selector|matchLabels|byron.io/role"), "api");
    cr_assert_str_eq(s_at(dep, "spec|template|metadata|annotations|byron.io/config-hash"), d.config_hash);
    cr_assert_str_eq(s_at(dep, "spec|template|spec|securityContext|runAsUser"), "65532");
    cr_assert_str_eq(s_at(dep, "spec|template|spec|securityContext|seccompProfile|type"), "RuntimeDefault");
    json_object *app = container(dep, "app"), *sc = container(dep, "byron-sidecar");
    cr_assert_not_null(app);
    cr_assert_not_null(sc);
    cr_assert_str_eq(s_at(app, "image"), "acme/orders:1");
    cr_assert(has_env(app, "X", "1"), "user env passed through");
    cr_assert_str_eq(s_at(sc, "image"), "byron-sidecar:test");
    cr_assert_str_eq(s_at(sc, "args|0"), "--mode=api");
    cr_assert(has_env(sc, "BYRON_NATS_URL", "nats://nats:4222"));
    cr_assert(has_env(sc, "BYRON_APP_SOCKET", "/var/run/byron/app.sock"));
    cr_assert(has_env(sc, "BYRON_MONGO_URI", NULL));
    cr_assert(has_env(sc, "POD_NAME", NULL));
    cr_assert_str_eq(s_at(sc, "readinessProbe|httpGet|path"), "/readyz");
    cr_assert_str_eq(s_at(sc, "livenessProbe|httpGet|path"), "/healthz");
    cr_assert_str_eq(s_at(sc, "ports|0|containerPort"), "8080");
    /* Probes and metrics on the admin port, which the Service does not list. */
    cr_assert_str_eq(s_at(sc, "readinessProbe|httpGet|port"), "admin");
    cr_assert_str_eq(s_at(sc, "livenessProbe|httpGet|port"), "admin");
    cr_assert_str_eq(s_at(sc, "ports|1|name"), "admin");
    cr_assert_str_eq(s_at(sc, "ports|1|containerPort"), "9090");
    cr_assert(has_env(sc, "BYRON_ADMIN_PORT", "9090"));
    cr_assert_str_eq(s_at(sc, "volumeMounts|1|mountPath"), "/etc/byron");
    cr_assert_not_null(at(sc, "resources|requests|cpu"));
    /* Out of the Service before the SIGTERM; the app outlasts the sidecar's drain. */
    cr_assert_str_eq(s_at(sc, "lifecycle|preStop|sleep|seconds"), "5");
    cr_assert_str_eq(s_at(app, "lifecycle|preStop|sleep|seconds"), "20");
    cr_assert_str_eq(s_at(dep, "spec|template|spec|terminationGracePeriodSeconds"), "45");
    json_object *c2[] = {app, sc};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(json_object_get_boolean(at(c2[i], "securityContext|readOnlyRootFilesystem")), 1);
        cr_assert_eq(json_object_get_boolean(at(c2[i], "securityContext|allowPrivilegeEscalation")), 0);
        cr_assert_str_eq(s_at(c2[i], "securityContext|capabilities|drop|0"), "ALL");
        cr_assert_str_eq(s_at(c2[i], "volumeMounts|0|mountPath"), "/var/run/byron");
    }
    /* The sink had no image: sidecar only, no app socket, and no replicas
     * field, so HPA / kubectl scale own it. */
    json_object *sink = find(&d, "Deployment", "orders-sink")->obj;
    cr_assert_null(at(sink, "spec|replicas"));
    cr_assert_null(container(sink, "app"));
    cr_assert_str_eq(s_at(container(sink, "byron-sidecar"), "args|0"), "--mode=sink");
    cr_assert_null(at(container(sink, "byron-sidecar"), "lifecycle"), "no traffic is routed to a sink");
    cr_assert_not(has_env(container(sink, "byron-sidecar"), "BYRON_APP_SOCKET", NULL));
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

Test(desired, cache_statefulset_service_and_component_json) {
    json_object *bc = parse(BC);
    byron_desired_t d;
    build(bc, &d);
    json_object *ss = find(&d, "StatefulSet", "orders-cache")->obj;
    cr_assert_str_eq(s_at(ss, "spec|serviceName"), "orders-cache");
    cr_assert_str_eq(s_at(ss, "spec|template|spec|containers|0|image"), "mongo:7");
    cr_assert_str_eq(s_at(ss, "spec|template|spec|securityContext|runAsUser"), "999");
    cr_assert_str_eq(s_at(ss, "spec|template|spec|securityContext|fsGroup"), "999");
    cr_assert_str_eq(s_at(ss, "spec|volumeClaimTemplates|0|spec|resources|requests|storage"), "5Gi");
    cr_assert_str_eq(s_at(ss, "spec|volumeClaimTemplates|0|spec|storageClassName"), "fast");
    json_object *svc = find(&d, "Service", "orders-cache")->obj;
    cr_assert_str_eq(s_at(svc, "spec|clusterIP"), "None");
    json_object *api = find(&d, "Service", "orders-api")->obj;
    cr_assert_str_eq(s_at(api, "spec|ports|0|port"), "80");
    cr_assert_str_eq(s_at(api, "spec|ports|0|targetPort"), "http");
    json_object *cm = find(&d, "ConfigMap", "orders-config")->obj, *cj = NULL;
    const char *text = s_at(cm, "data|component.json");
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &cj, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(s_at(cj, "component"), "orders");
    cr_assert_str_eq(s_at(cj, "namespace"), "shop");
    cr_assert_str_eq(s_at(cj, "partitions"), "8");
    cr_assert_str_eq(s_at(cj, "models|0|name"), "Order");
    cr_assert_str_eq(s_at(cj, "subscriptions|0|namespace"), "shop", "own namespace resolved");
    cr_assert_str_eq(s_at(cj, "subscriptions|1|namespace"), "fin");
    cr_assert_null(at(cj, "api"), "only what the sidecar needs");
    json_object_put(cj);
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

Test(desired, api_replicas_change_touches_only_the_api_deployment) {
    json_object *a = parse(BC), *b = parse(BC);
    json_object_object_add(at(b, "spec|api"), "replicas", json_object_new_int(5));
    byron_desired_t da, db;
    build(a, &da);
    build(b, &db);
    cr_assert_str_eq(da.config_hash, db.config_hash, "replicas are not configuration: no pod roll");
    for (int i = 0; i < da.n; i++) {
        int api = !strcmp(da.objs[i].name, "orders-api") && !strcmp(da.objs[i].kind->kind, "Deployment");
        if (api)
            cr_assert_str_neq(da.objs[i].hash, db.objs[i].hash);
        else
            cr_assert_str_eq(da.objs[i].hash, db.objs[i].hash, "%s changed", da.objs[i].name);
    }
    byron_desired_cleanup(&da);
    byron_desired_cleanup(&db);
    /* A model change is configuration: every pod template rolls. */
    json_object_object_add(at(b, "spec|models|0|fields|0"), "indexed", json_object_new_boolean(1));
    build(b, &db);
    build(a, &da);
    cr_assert_str_neq(da.config_hash, db.config_hash);
    byron_desired_cleanup(&da);
    byron_desired_cleanup(&db);
    json_object_put(a);
    json_object_put(b);
}

Test(desired, external_cache_has_no_statefulset_and_uses_the_given_uri) {
    json_object *bc = parse(BC);
    json_object *cache = at(bc, "spec|cache");
    json_object_object_del(cache, "storage");
    json_object *ext = json_object_new_object(), *ref = json_object_new_object();
    json_object_object_add(ref, "name", json_object_new_string("mongo"));
    json_object_object_add(ref, "key", json_object_new_string("uri"));
    json_object_object_add(ext, "secretRef", ref);
    json_object_object_add(cache, "external", ext);
    byron_desired_t d;
    build(bc, &d);
    cr_assert(d.cache_external);
    cr_assert_eq(d.n, 6);
    cr_assert_null(find(&d, "StatefulSet", "orders-cache"));
    cr_assert_null(find(&d, "Service", "orders-cache"));
    json_object *sc = container(find(&d, "Deployment", "orders-api")->obj, "byron-sidecar");
    json_object *env = at(sc, "env");
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(env); i++) {
        json_object *e = json_object_array_get_idx(env, i);
        if (!strcmp(s_at(e, "name"), "BYRON_MONGO_URI")) {
            cr_assert_str_eq(s_at(e, "valueFrom|secretKeyRef|name"), "mongo");
            found = 1;
        }
    }
    cr_assert(found);
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

static void expect_invalid(const char *patch_path, const char *key, json_object *value, const char *needle) {
    json_object *bc = parse(BC);
    json_object *target = patch_path ? at(bc, patch_path) : bc;
    if (value)
        json_object_object_add(target, key, value);
    else
        json_object_object_del(target, key);
    byron_desired_t d;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &OPTS, &d, &err), BYRON_EINVAL, "accepted");
    cr_assert(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
    json_object_put(bc);
}

Test(desired, unusable_specs_name_the_field) {
    expect_invalid("spec", "partitions", json_object_new_int(0), "spec.partitions");
    expect_invalid("spec|api", "replicas", json_object_new_string("two"), "spec.api.replicas");
    expect_invalid("spec|cache", "external", json_object_new_object(), "spec.cache.external");
    expect_invalid("spec", "models", json_object_new_string("x"), "spec.models");
    expect_invalid(NULL, "spec", NULL, "spec");
    /* No broker in the spec and no operator default. */
    json_object *bc = parse(BC);
    json_object_object_del(at(bc, "spec"), "broker");
    byron_desired_options_t o = {.sidecar_image = "s", .default_cache_image = "mongo:7"};
    byron_desired_t d;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "spec.broker.url"), "%s", err.msg);
    o.default_broker_url = "nats://d:4222";
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    cr_assert(has_env(container(find(&d, "Deployment", "orders-sink")->obj, "byron-sidecar"),
                      "BYRON_NATS_URL", "nats://d:4222"));
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

/* What the CRD cannot see, or might miss, the operator refuses with the
 * sidecar's own checks: InvalidSpec, and no object is built. */
static void expect_sidecar_refusal(const char *spec_json, const char *want) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\",\"uid\":\"u\"},\"spec\":%s}",
             spec_json);
    json_object *bc = parse(text);
    byron_desired_t d = {0};
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &OPTS, &d, &err), BYRON_EINVAL, "accepted: %s", spec_json);
    cr_assert(strstr(err.msg, want), "'%s' does not say '%s'", err.msg, want);
    cr_assert_eq(d.n, 0, "objects were built for an invalid spec");
    json_object_put(bc);
}

Test(desired, specs_the_sidecar_would_refuse_are_invalid) {
    /* Our namespace written out on one subscription and left out on the other:
     * the same component twice, which no CEL rule can see. */
    expect_sidecar_refusal("{\"models\":[{\"name\":\"Order\"}],\"subscriptions\":[{\"component\":\"a\"},"
                           "{\"component\":\"a\",\"namespace\":\"shop\"}]}",
                           "spec.subscriptions[1]: duplicate subscription to shop/a");
    /* The sidecar's parser (exit 2 at start-up). */
    expect_sidecar_refusal("{\"models\":[{\"name\":\"Order\"}],\"commands\":[{\"name\":\"ship\","
                           "\"model\":\"Order\"}]}",
                           "spec.commands[0].emits");
    expect_sidecar_refusal("{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"tags\",\"type\":"
                           "\"String\",\"list\":true,\"indexed\":true}]}]}",
                           "spec.models[0].fields[0].indexed");
    /* The GraphQL schema generator (api mode would exit 1). */
    expect_sidecar_refusal("{\"models\":[]}", "spec.models: at least one model");
    expect_sidecar_refusal("{\"models\":[{\"name\":\"Order\"},{\"name\":\"OrderEdge\"}]}", "OrderEdge");
    expect_sidecar_refusal("{\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"not\",\"type\":"
                           "\"String\",\"indexed\":true}]}]}",
                           "OrderFilter.not");
}

Test(desired, secret_holds_base64_credentials_and_uri) {
    json_object *bc = parse(BC);
    byron_cache_passwords_t pw = {"pw", "pa", "ps"};
    json_object *s = byron_desired_secret(bc, &pw, 0, NULL);
    cr_assert_str_eq(s_at(s, "metadata|name"), "orders-cache-credentials");
    cr_assert_str_eq(s_at(s, "data|password"), "cHc=");
    cr_assert_str_eq(s_at(s, "data|username"), "Ynlyb24=");
    cr_assert_not_null(at(s, "data|uri"));
    json_object_put(s);
    /* --cache-uri-options: appended to the URI's options. */
    s = byron_desired_secret(bc, &pw, 0, "authMechanism=PLAIN");
    char want[512];
    snprintf(
        want, sizeof want,
        "mongodb://byron:pw@orders-cache-0.orders-cache.%s.svc:27017/?authSource=admin&authMechanism=PLAIN",
        s_at(bc, "metadata|namespace"));
    char *b64 = byron_base64_encode((const unsigned char *)want, strlen(want), 0);
    cr_assert_str_eq(s_at(s, "data|uri"), b64);
    free(b64);
    json_object_put(s);
    json_object_put(bc);
}

/* component.json's schemaGeneration, as the sidecar reads it; the config
 * hash beside it. */
static int64_t built_generation(json_object *bc, char config_hash[17], char schema_hash[17]) {
    byron_desired_t d;
    build(bc, &d);
    const char *text = s_at(find(&d, "ConfigMap", "orders-config")->obj, "data|component.json");
    json_object *cj = NULL;
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &cj, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_component_parse(cj, &c, &err), BYRON_OK, "the sidecar refuses component.json: %s",
                 err.msg);
    int64_t g = c->schema_generation;
    cr_assert_eq(json_object_get_int64(at(cj, "schemaGeneration")), g);
    cr_assert_eq(d.schema_generation, g);
    snprintf(config_hash, 17, "%s", d.config_hash);
    snprintf(schema_hash, 17, "%s", d.schema_hash);
    byron_component_free(c);
    json_object_put(cj);
    byron_desired_cleanup(&d);
    return g;
}

/* What the reconcile does after a build: status.schema = {hash, generation}. */
static void record_schema(json_object *bc, const char *hash, int64_t gen) {
    json_object *st = at(bc, "status"), *sch = json_object_new_object();
    if (!st) json_object_object_add(bc, "status", st = json_object_new_object());
    json_object_object_add(sch, "hash", json_object_new_string(hash));
    json_object_object_add(sch, "generation", json_object_new_int64(gen));
    json_object_object_add(st, "schema", sch);
}

static void set_generation(json_object *bc, int64_t g) {
    json_object_object_add(at(bc, "metadata"), "generation", json_object_new_int64(g));
}

/* schemaGeneration moves exactly when the schema (partitions, enums, models,
 * commands) changes, to the generation of that change; otherwise the recorded
 * one stays and component.json with it, so no pod rolls. */
Test(desired, schema_generation_moves_only_with_the_schema) {
    json_object *bc = parse(BC);
    char cfg0[17], sch0[17], cfg[17], sch[17];
    /* First sight: no status yet, the component's generation (3). */
    cr_assert_eq(built_generation(bc, cfg0, sch0), 3);
    record_schema(bc, sch0, 3);
    cr_assert_eq(built_generation(bc, cfg, sch), 3, "recorded: the same");
    cr_assert_str_eq(cfg, cfg0, "recording it changes nothing");

    /* How it runs (replicas, images, resources, env) is not the schema. */
    set_generation(bc, 4);
    json_object_object_add(at(bc, "spec|api"), "replicas", json_object_new_int(7));
    json_object_object_add(at(bc, "spec|sink"), "image", json_object_new_string("acme/orders:2"));
    json_object *res = json_object_new_object(), *req = json_object_new_object();
    json_object_object_add(req, "cpu", json_object_new_string("1"));
    json_object_object_add(res, "requests", req);
    json_object_object_add(at(bc, "spec|sink"), "resources", res);
    cr_assert_eq(built_generation(bc, cfg, sch), 3, "replicas, image, resources moved schemaGeneration");
    cr_assert_str_eq(cfg, cfg0, "component.json changed: every pod would roll");

    /* Nor are subscriptions (a subscribed event is never deferred). */
    set_generation(bc, 5);
    json_object_array_del_idx(at(bc, "spec|subscriptions"), 1, 1);
    cr_assert_eq(built_generation(bc, cfg, sch), 3);
    cr_assert_str_eq(sch, sch0);

    /* An optional field: generation 6's. */
    set_generation(bc, 6);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "name", json_object_new_string("note"));
    json_object_object_add(f, "type", json_object_new_string("String"));
    json_object_array_add(at(bc, "spec|models|0|fields"), f);
    cr_assert_eq(built_generation(bc, cfg, sch), 6);
    cr_assert_str_neq(sch, sch0);
    cr_assert_str_neq(cfg, cfg0);
    record_schema(bc, sch, 6);
    snprintf(sch0, sizeof sch0, "%s", sch);

    /* Then scaling again keeps 6. */
    set_generation(bc, 7);
    json_object_object_add(at(bc, "spec|api"), "replicas", json_object_new_int(1));
    cr_assert_eq(built_generation(bc, cfg, sch), 6);

    /* An enum value, a command: each a new schema. */
    set_generation(bc, 8);
    json_object_array_add(at(bc, "spec|enums|0|values"), json_object_new_string("ON_HOLD"));
    cr_assert_eq(built_generation(bc, cfg, sch), 8);
    cr_assert_str_neq(sch, sch0);
    record_schema(bc, sch, 8);
    snprintf(sch0, sizeof sch0, "%s", sch);
    set_generation(bc, 9);
    json_object_array_add(at(bc, "spec|commands|0|emits"), json_object_new_string("OrderHeld"));
    cr_assert_eq(built_generation(bc, cfg, sch), 9);
    cr_assert_str_neq(sch, sch0);

    /* Monotonic even against a status ahead of metadata.generation (a
     * restored or hand-edited status): never back to an old number. */
    record_schema(bc, sch0, 40);
    cr_assert_eq(built_generation(bc, cfg, sch), 41);
    json_object_put(bc);
}

Test(desired, deterministic_output) {
    json_object *bc = parse(BC);
    byron_desired_t a, b;
    build(bc, &a);
    build(bc, &b);
    for (int i = 0; i < a.n; i++)
        cr_assert_str_eq(json_object_to_json_string(a.objs[i].obj),
                         json_object_to_json_string(b.objs[i].obj));
    byron_desired_cleanup(&a);
    byron_desired_cleanup(&b);
    json_object_put(bc);
}

/* spec.auth reaches component.json (keys from a Secret become a mount, not
 * config); without one the operator's --default-auth applies. */
Test(desired, auth_from_the_spec_or_the_default) {
    char text[4096];
    snprintf(text, sizeof text,
             "%.*s,\"auth\":{\"issuer\":\"https://id.test/\",\"audiences\":[\"orders-api\"],"
             "\"keysSecretRef\":{\"name\":\"idp-keys\",\"key\":\"jwks\"},"
             "\"rules\":[{\"operations\":[\"orders\"],\"claims\":[{\"claim\":\"scp\",\"equals\":\"r\"}]}]}}}",
             (int)(strlen(BC) - 2), BC);
    json_object *bc = parse(text);
    byron_desired_t d;
    build(bc, &d);
    json_object *cm = find(&d, "ConfigMap", "orders-config")->obj, *cj = NULL;
    const char *cfg = s_at(cm, "data|component.json");
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(cfg, strlen(cfg), 0, &cj, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(s_at(cj, "auth|issuer"), "https://id.test/");
    cr_assert_str_eq(s_at(cj, "auth|rules|0|operations|0"), "orders");
    cr_assert_null(at(cj, "auth|keysSecretRef"), "where the keys live is not config");
    json_object_put(cj);
    json_object *sc = NULL, *dep = find(&d, "Deployment", "orders-api")->obj;
    json_object *cs = at(dep, "spec|template|spec|containers");
    for (size_t i = 0; i < json_object_array_length(cs); i++)
        if (!strcmp(s_at(json_object_array_get_idx(cs, i), "name"), "byron-sidecar"))
            sc = json_object_array_get_idx(cs, i);
    cr_assert_not_null(sc);
    int env_ok = 0;
    json_object *env = at(sc, "env");
    for (size_t i = 0; i < json_object_array_length(env); i++)
        env_ok |= !strcmp(s_at(json_object_array_get_idx(env, i), "name"), "BYRON_AUTH_JWKS_FILE") &&
                  !strcmp(s_at(json_object_array_get_idx(env, i), "value"), "/etc/byron-auth/jwks.json");
    cr_assert(env_ok, "the sidecar reads the keys from the mounted Secret");
    json_object *vols = at(dep, "spec|template|spec|volumes");
    cr_assert_str_eq(s_at(vols, "2|secret|secretName"), "idp-keys");
    cr_assert_str_eq(s_at(vols, "2|secret|items|0|key"), "jwks");
    byron_desired_cleanup(&d);
    json_object_put(bc);

    /* No spec.auth: the chart-wide default. */
    bc = parse(BC);
    byron_desired_options_t o = OPTS;
    o.default_auth = "{\"rules\":[{\"operations\":[\"*\"],\"anonymous\":true}]}";
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    cm = find(&d, "ConfigMap", "orders-config")->obj;
    cfg = s_at(cm, "data|component.json");
    cr_assert_eq(byron_json_parse(cfg, strlen(cfg), 0, &cj, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(s_at(cj, "auth|rules|0|operations|0"), "*");
    json_object_put(cj);
    byron_desired_cleanup(&d);
    /* A default the sidecar would refuse is the spec's problem, named. */
    o.default_auth = "{\"rules\":[{\"operations\":[\"nope\"],\"anonymous\":true}]}";
    cr_assert_neq(byron_desired_build(bc, &o, &d, &err), BYRON_OK);
    cr_assert(strstr(err.msg, "spec.auth.rules[0].operations[0]"), "%s", err.msg);
    json_object_put(bc);
}

static json_object *rule_port(json_object *np, int i) {
    return at(json_object_array_get_idx(at(np, "spec|ingress"), (size_t)i), "ports|0|port");
}

Test(desired, network_policies_let_each_part_be_reached_only_by_whom_it_serves) {
    json_object *bc = parse(BC);
    byron_desired_options_t o = OPTS;
    o.network_policies = 1;
    o.monitoring_namespace = "monitoring";
    byron_desired_t d;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(d.n, 11);
    /* the cache: only its own component's api and sink, on the MongoDB port */
    json_object *cache = find(&d, "NetworkPolicy", "orders-cache")->obj;
    cr_assert_str_eq(s_at(cache, "spec|podSelector|matchLabels|byron.io/role"), "cache");
    cr_assert_str_eq(s_at(cache, "spec|policyTypes|0"), "Ingress");
    cr_assert_eq(json_object_array_length(at(cache, "spec|ingress")), 1);
    cr_assert_str_eq(json_object_get_string(rule_port(cache, 0)), "mongo");
    const char *from = json_object_to_json_string(at(cache, "spec|ingress|0|from"));
    cr_assert(strstr(from, "\"orders\"") && strstr(from, "\"api\"") && strstr(from, "\"sink\"") &&
                  !strstr(from, "namespaceSelector"),
              "%s", from);
    /* the api: anyone on the public port, the monitoring namespace on the admin port */
    json_object *api = find(&d, "NetworkPolicy", "orders-api")->obj;
    cr_assert_eq(json_object_array_length(at(api, "spec|ingress")), 2);
    cr_assert_str_eq(json_object_get_string(rule_port(api, 0)), "http");
    cr_assert_null(at(api, "spec|ingress|0|from"));
    cr_assert_str_eq(json_object_get_string(rule_port(api, 1)), "admin");
    cr_assert_str_eq(
        s_at(api, "spec|ingress|1|from|0|namespaceSelector|matchLabels|kubernetes.io/metadata.name"),
        "monitoring");
    /* the sink: the admin port only */
    json_object *sink = find(&d, "NetworkPolicy", "orders-sink")->obj;
    cr_assert_eq(json_object_array_length(at(sink, "spec|ingress")), 1);
    cr_assert_str_eq(json_object_get_string(rule_port(sink, 0)), "admin");
    /* one pod at a time; replicas spread over nodes and zones */
    cr_assert_eq(
        json_object_get_int(at(find(&d, "PodDisruptionBudget", "orders-sink")->obj, "spec|maxUnavailable")),
        1);
    json_object *tsc =
        at(find(&d, "Deployment", "orders-api")->obj, "spec|template|spec|topologySpreadConstraints");
    cr_assert_str_eq(s_at(json_object_array_get_idx(tsc, 0), "topologyKey"), "kubernetes.io/hostname");
    cr_assert_str_eq(s_at(json_object_array_get_idx(tsc, 0), "whenUnsatisfiable"), "ScheduleAnyway");
    cr_assert_str_eq(s_at(json_object_array_get_idx(tsc, 0), "labelSelector|matchLabels|byron.io/role"),
                     "api");
    byron_desired_cleanup(&d);
    /* no monitoring namespace: the admin port is reachable by no pod (Ingress
     * with no rule; no empty list, which the server would drop on every apply) */
    o.monitoring_namespace = NULL;
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    json_object *none = find(&d, "NetworkPolicy", "orders-sink")->obj;
    cr_assert_str_eq(s_at(none, "spec|policyTypes|0"), "Ingress");
    cr_assert_null(at(none, "spec|ingress"));
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

static const char *b64dec(json_object *o, const char *path, char *buf, size_t n) {
    char *d = NULL;
    size_t len = 0;
    const char *v = s_at(o, path);
    buf[0] = '\0';
    if (byron_base64_decode(v, strlen(v), &d, &len) == 0) snprintf(buf, n, "%s", d);
    free(d);
    return buf;
}

Test(desired, cache_users_api_reads_and_sink_writes_with_passwords_from_the_release_key) {
    json_object *bc = parse(BC);
    const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    byron_cache_passwords_t pw;
    byron_desired_cache_password(key, 32, bc, "byron", pw.root);
    byron_desired_cache_password(key, 32, bc, "byron-api", pw.api);
    byron_desired_cache_password(key, 32, bc, "byron-sink", pw.sink);
    char again[49];
    byron_desired_cache_password(key, 32, bc, "byron-api", again);
    cr_assert_str_eq(again, pw.api, "not derived: a lost Secret would come back with another password");
    cr_assert_str_neq(pw.api, pw.sink);
    cr_assert_eq(strlen(pw.root), 48);
    json_object *s = byron_desired_secret(bc, &pw, 1, NULL);
    char buf[600], want[600];
    snprintf(want, sizeof want,
             "mongodb://byron-api:%s@orders-cache-0.orders-cache.shop.svc:27017/"
             "byron_orders?authSource=byron_orders",
             pw.api);
    cr_assert_str_eq(b64dec(s, "data|api-uri", buf, sizeof buf), want);
    cr_assert_str_eq(b64dec(s, "data|sink-username", buf, sizeof buf), "byron-sink");
    cr_assert_str_eq(s_at(s, "metadata|annotations|" BYRON_ANN_CACHE_USERS), "api,sink");
    json_object_put(s);
    /* each Deployment gets its role's URI; the cache makes the users at every start */
    byron_desired_options_t o = OPTS;
    o.cache_users = 1;
    byron_desired_t d;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    const char *roles[] = {"api", "sink"};
    for (int i = 0; i < 2; i++) {
        char name[32], k[32];
        snprintf(name, sizeof name, "orders-%s", roles[i]);
        snprintf(k, sizeof k, "%s-uri", roles[i]);
        json_object *env = at(container(find(&d, "Deployment", name)->obj, "byron-sidecar"), "env");
        int found = 0;
        for (size_t j = 0; j < json_object_array_length(env); j++) {
            json_object *e = json_object_array_get_idx(env, j);
            if (!strcmp(s_at(e, "name"), "BYRON_MONGO_URI")) {
                cr_assert_str_eq(s_at(e, "valueFrom|secretKeyRef|key"), k);
                found = 1;
            }
        }
        cr_assert(found, "%s: no BYRON_MONGO_URI", name);
    }
    json_object *mongo = json_object_array_get_idx(
        at(find(&d, "StatefulSet", "orders-cache")->obj, "spec|template|spec|containers"), 0);
    const char *hook = s_at(mongo, "lifecycle|postStart|exec|command|2");
    cr_assert(strstr(hook, "createUser") && strstr(hook, "\"read\"") && strstr(hook, "\"readWrite\""), "%s",
              hook);
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

static int has_string(json_object *arr, const char *s) {
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s)) return 1;
    return 0;
}

static json_object *volume(json_object *podspec, const char *name) {
    json_object *vols = at(podspec, "volumes");
    for (size_t i = 0; i < json_object_array_length(vols); i++)
        if (!strcmp(s_at(json_object_array_get_idx(vols, i), "name"), name))
            return json_object_array_get_idx(vols, i);
    return NULL;
}

Test(desired, cache_tls_the_cache_serves_only_tls_and_the_sidecars_get_only_the_ca) {
    json_object *bc = parse(BC), *tls = NULL;
    const char *t = "{\"secretRef\":{\"name\":\"orders-cache-tls\"}}";
    byron_json_parse(t, strlen(t), 0, &tls, NULL);
    json_object_object_add(at(bc, "spec|cache"), "tls", tls);
    cr_assert_str_eq(byron_desired_cache_tls(bc), "orders-cache-tls");
    byron_desired_options_t o = OPTS;
    o.cache_users = 1;
    byron_desired_t d;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_OK, "%s", err.msg);
    json_object *ps = at(find(&d, "StatefulSet", "orders-cache")->obj, "spec|template|spec");
    json_object *mongo = json_object_array_get_idx(at(ps, "containers"), 0), *args = at(mongo, "args");
    cr_assert(has_string(args, "requireTLS") && has_string(args, "/etc/byron-cache-tls/tls-combined.pem"),
              "%s", json_object_to_json_string(args));
    cr_assert(has_env(mongo, "BYRON_MONGOSH_TLS",
                      "--tls --tlsCAFile /etc/byron-cache-tls/ca.crt --tlsAllowInvalidHostnames"));
    json_object *v = volume(ps, "cache-tls");
    cr_assert_not_null(v);
    cr_assert_str_eq(s_at(v, "secret|secretName"), "orders-cache-tls");
    cr_assert_eq(json_object_array_length(at(v, "secret|items")), 2);
    const char *parts[] = {"orders-api", "orders-sink"};
    for (int i = 0; i < 2; i++) {
        json_object *pps = at(find(&d, "Deployment", parts[i])->obj, "spec|template|spec");
        v = volume(pps, "cache-ca");
        cr_assert_not_null(v, "%s mounts no CA", parts[i]);
        cr_assert_eq(json_object_array_length(at(v, "secret|items")), 1, "%s gets the cache's key", parts[i]);
        cr_assert_str_eq(s_at(v, "secret|items|0|key"), "ca.crt");
    }
    byron_desired_cleanup(&d);
    /* every URI asks for TLS with that CA; the Secret says so */
    byron_cache_passwords_t pw = {"pw", "pa", "ps"};
    json_object *s = byron_desired_secret(bc, &pw, 1, "authMechanism=PLAIN");
    char buf[600];
    const char *keys[] = {"data|uri", "data|api-uri", "data|sink-uri"};
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(b64dec(s, keys[i], buf, sizeof buf),
                         "tls=true&tlsCAFile=/etc/byron-cache-tls/ca.crt&authMechanism=PLAIN"),
                  "%s: %s", keys[i], buf);
    cr_assert_str_eq(s_at(s, "metadata|annotations|" BYRON_ANN_CACHE_TLS), "true");
    json_object_put(s);
    /* not with an external cache: its URI carries its own options */
    json_object *ext = NULL;
    const char *e = "{\"uri\":\"mongodb://db:27017/\"}";
    byron_json_parse(e, strlen(e), 0, &ext, NULL);
    json_object_object_del(at(bc, "spec|cache"), "storage");
    json_object_object_add(at(bc, "spec|cache"), "external", ext);
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "spec.cache.tls"), "%s", err.msg);
    cr_assert_null(byron_desired_cache_tls(bc));
    json_object_put(bc);
}

/* spec.<part>.sidecar: each setting reaches only its part's sidecar as its
 * variable; the sidecar's resources are the spec's or the defaults, and the
 * app's stay its own. */
Test(desired, sidecar_settings_and_resources_come_from_the_spec) {
    json_object *bc = parse(BC), *spec = at(bc, "spec");
    json_object_object_add(at(spec, "api"), "sidecar",
                           parse("{\"workers\":16,\"logLevel\":\"debug\",\"stateWaitMs\":2500,"
                                 "\"graphql\":{\"maxDepth\":20,\"wsWorkers\":4},"
                                 "\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"},"
                                 "\"limits\":{\"memory\":\"1Gi\"}}}"));
    json_object_object_add(spec, "sink",
                           parse("{\"sidecar\":{\"threads\":4,\"maxDeliver\":9,\"queue\":32}}"));
    byron_desired_t d;
    build(bc, &d);
    json_object *api = container(find(&d, "Deployment", "orders-api")->obj, "byron-sidecar");
    json_object *sink = container(find(&d, "Deployment", "orders-sink")->obj, "byron-sidecar");
    json_object *app = container(find(&d, "Deployment", "orders-api")->obj, "app");
    cr_assert(has_env(api, "BYRON_WORKERS", "16"));
    cr_assert(has_env(api, "BYRON_LOG_LEVEL", "debug"));
    cr_assert(has_env(api, "BYRON_STATE_WAIT_MS", "2500"));
    cr_assert(has_env(api, "BYRON_GRAPHQL_MAX_DEPTH", "20"));
    cr_assert(has_env(api, "BYRON_GRAPHQL_WS_WORKERS", "4"));
    cr_assert_not(has_env(api, "BYRON_SINK_THREADS", NULL), "a sink setting reached the api");
    cr_assert_not(has_env(api, "BYRON_QUEUE", NULL), "the sink's queue reached the api");
    cr_assert_str_eq(s_at(api, "resources|requests|cpu"), "200m");
    cr_assert_str_eq(s_at(api, "resources|limits|memory"), "1Gi");
    cr_assert_str_eq(s_at(app, "resources|requests|memory"), "64Mi", "the app keeps its own resources");
    cr_assert(has_env(sink, "BYRON_SINK_THREADS", "4"));
    cr_assert(has_env(sink, "BYRON_SINK_MAX_DELIVER", "9"));
    cr_assert(has_env(sink, "BYRON_QUEUE", "32"));
    cr_assert_not(has_env(sink, "BYRON_WORKERS", NULL), "an api setting reached the sink");
    cr_assert_not(has_env(sink, "BYRON_LOG_LEVEL", NULL));
    cr_assert_str_eq(s_at(sink, "resources|requests|memory"), "64Mi", "default requests");
    cr_assert_str_eq(s_at(sink, "resources|limits|memory"), "256Mi", "default limit");
    byron_desired_cleanup(&d);
    /* A setting of the wrong type is the spec's error, named. */
    json_object_object_add(at(spec, "sink"), "sidecar", parse("{\"threads\":\"4\"}"));
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &OPTS, &d, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "spec.sink.sidecar.threads"), "%s", err.msg);
    json_object_put(bc);
}

/* --- spec.api.expose ------------------------------------------------------------ */

/* BC with spec.api.expose set to expose_json. */
static json_object *exposed(const char *expose_json) {
    json_object *bc = parse(BC);
    json_object_object_add(at(bc, "spec|api"), "expose", parse(expose_json));
    return bc;
}

static void build_with(json_object *bc, int gateway_api, byron_desired_t *d) {
    byron_desired_options_t o = OPTS;
    o.gateway_api = gateway_api;
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, d, &err), BYRON_OK, "%s", err.msg);
}

Test(desired, expose_on_a_gateway_is_an_httproute_to_the_api_service_with_the_prefix_replaced) {
    json_object *bc = exposed("{\"host\":\"shop.example.com\",\"path\":\"/orders\","
                              "\"gateway\":{\"name\":\"byron\",\"namespace\":\"gw\"}}");
    byron_desired_t d;
    build_with(bc, 1, &d);
    cr_assert_eq(d.expose_kind, &BYRON_KIND_HTTPROUTE);
    cr_assert_eq(d.n, 9);
    cr_assert_null(find(&d, "Ingress", "orders-api"));
    byron_desired_obj_t *r = find(&d, "HTTPRoute", "orders-api");
    cr_assert_not_null(r);
    json_object *o = r->obj;
    cr_assert_str_eq(s_at(o, "apiVersion"), "gateway.networking.k8s.io/v1");
    cr_assert_str_eq(s_at(o, "metadata|namespace"), "shop");
    cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|uid"), "u-1");
    cr_assert_str_eq(s_at(o, "metadata|labels|byron.io/role"), "api");
    cr_assert_str_eq(s_at(o, "metadata|annotations|byron.io/applied-hash"), r->hash);
    cr_assert_str_eq(s_at(o, "spec|parentRefs|0|kind"), "Gateway");
    cr_assert_str_eq(s_at(o, "spec|parentRefs|0|name"), "byron");
    cr_assert_str_eq(s_at(o, "spec|parentRefs|0|namespace"), "gw");
    cr_assert_str_eq(s_at(o, "spec|hostnames|0"), "shop.example.com");
    cr_assert_str_eq(s_at(o, "spec|rules|0|matches|0|path|type"), "PathPrefix");
    cr_assert_str_eq(s_at(o, "spec|rules|0|matches|0|path|value"), "/orders");
    cr_assert_str_eq(s_at(o, "spec|rules|0|filters|0|type"), "URLRewrite");
    cr_assert_str_eq(s_at(o, "spec|rules|0|filters|0|urlRewrite|path|type"), "ReplacePrefixMatch");
    cr_assert_str_eq(s_at(o, "spec|rules|0|filters|0|urlRewrite|path|replacePrefixMatch"), "/");
    cr_assert_str_eq(s_at(o, "spec|rules|0|backendRefs|0|kind"), "Service");
    cr_assert_str_eq(s_at(o, "spec|rules|0|backendRefs|0|name"), "orders-api");
    cr_assert_eq(json_object_get_int(at(o, "spec|rules|0|backendRefs|0|port")), 80);
    /* The backend is the api Service this build makes, on its port. */
    byron_desired_obj_t *svc = find(&d, "Service", "orders-api");
    cr_assert_eq(json_object_get_int(at(svc->obj, "spec|ports|0|port")), 80);
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

Test(desired, expose_at_the_root_without_host_has_no_rewrite_and_the_gateway_in_our_namespace) {
    json_object *bc = exposed("{\"path\":\"/\",\"gateway\":{\"name\":\"byron\"}}");
    byron_desired_t d;
    build_with(bc, 1, &d);
    json_object *o = find(&d, "HTTPRoute", "orders-api")->obj;
    cr_assert_str_eq(s_at(o, "spec|parentRefs|0|namespace"), "shop");
    cr_assert_null(at(o, "spec|hostnames"));
    cr_assert_null(at(o, "spec|rules|0|filters"));
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

Test(desired, expose_without_gateway_api_or_with_only_a_class_is_an_ingress) {
    /* A gateway, but the cluster serves no Gateway API: an Ingress (default class). */
    json_object *bc =
        exposed("{\"host\":\"shop.example.com\",\"path\":\"/orders\",\"gateway\":{\"name\":\"g\"}}");
    byron_desired_t d;
    build_with(bc, 0, &d);
    cr_assert_eq(d.expose_kind, &BYRON_KIND_INGRESS);
    cr_assert_null(find(&d, "HTTPRoute", "orders-api"));
    json_object *o = find(&d, "Ingress", "orders-api")->obj;
    cr_assert_str_eq(s_at(o, "apiVersion"), "networking.k8s.io/v1");
    cr_assert_null(at(o, "spec|ingressClassName"));
    cr_assert_str_eq(s_at(o, "spec|rules|0|host"), "shop.example.com");
    cr_assert_str_eq(s_at(o, "spec|rules|0|http|paths|0|path"), "/orders");
    cr_assert_str_eq(s_at(o, "spec|rules|0|http|paths|0|pathType"), "Prefix");
    cr_assert_str_eq(s_at(o, "spec|rules|0|http|paths|0|backend|service|name"), "orders-api");
    cr_assert_eq(json_object_get_int(at(o, "spec|rules|0|http|paths|0|backend|service|port|number")), 80);
    cr_assert_str_eq(s_at(o, "metadata|ownerReferences|0|uid"), "u-1");
    byron_desired_cleanup(&d);
    json_object_put(bc);
    /* Only an ingressClassName: an Ingress even where the Gateway API is served. */
    bc = exposed("{\"ingressClassName\":\"traefik\"}");
    build_with(bc, 1, &d);
    cr_assert_eq(d.expose_kind, &BYRON_KIND_INGRESS);
    o = find(&d, "Ingress", "orders-api")->obj;
    cr_assert_str_eq(s_at(o, "spec|ingressClassName"), "traefik");
    cr_assert_null(at(o, "spec|rules|0|host"));
    cr_assert_str_eq(s_at(o, "spec|rules|0|http|paths|0|path"), "/");
    byron_desired_cleanup(&d);
    json_object_put(bc);
    /* Not exposed: neither kind. */
    bc = parse(BC);
    build_with(bc, 1, &d);
    cr_assert_null(d.expose_kind);
    cr_assert_null(find(&d, "Ingress", "orders-api"));
    cr_assert_null(find(&d, "HTTPRoute", "orders-api"));
    byron_desired_cleanup(&d);
    json_object_put(bc);
}

Test(desired, expose_changes_only_the_route_and_never_the_pods) {
    json_object *a = exposed("{\"path\":\"/a\",\"gateway\":{\"name\":\"g\"}}"),
                *b = exposed("{\"path\":\"/b\",\"gateway\":{\"name\":\"g\"}}");
    byron_desired_t da, db;
    build_with(a, 1, &da);
    build_with(b, 1, &db);
    cr_assert_str_eq(da.config_hash, db.config_hash);
    for (int i = 0; i < da.n; i++) {
        int route = da.objs[i].kind == &BYRON_KIND_HTTPROUTE;
        cr_assert_eq(strcmp(da.objs[i].hash, db.objs[i].hash) != 0, route, "%s %s", da.objs[i].kind->kind,
                     da.objs[i].name);
    }
    byron_desired_cleanup(&da);
    byron_desired_cleanup(&db);
    json_object_put(a);
    json_object_put(b);
}

static void expect_bad_expose(const char *expose_json, const char *want) {
    json_object *bc = exposed(expose_json);
    byron_desired_options_t o = OPTS;
    o.gateway_api = 1;
    byron_desired_t d = {0};
    byron_err_t err = {0};
    cr_assert_eq(byron_desired_build(bc, &o, &d, &err), BYRON_EINVAL, "accepted: %s", expose_json);
    cr_assert(strstr(err.msg, want), "'%s' does not say '%s'", err.msg, want);
    cr_assert_eq(d.n, 0);
    json_object_put(bc);
}

Test(desired, expose_refusals_name_the_field_and_value) {
    const char *gw = "\"gateway\":{\"name\":\"g\"}";
    char s[256];
    const char *hosts[] = {
        "Shop.example.com", "shop_1.example.com", "-a.example.com", "a..b", "10.0.0.1", ""};
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
        snprintf(s, sizeof s, "{\"host\":\"%s\",%s}", hosts[i], gw);
        expect_bad_expose(s, "spec.api.expose.host");
    }
    const char *paths[] = {"orders", "",     "/a//b",  "/a/../b", "/a/.",
                           "/a/..",  "/a b", "/a%2fb", "/a#b",    "/a?b"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        snprintf(s, sizeof s, "{\"path\":\"%s\",%s}", paths[i], gw);
        expect_bad_expose(s, "spec.api.expose.path");
    }
    expect_bad_expose("{\"host\":\"a.example.com\"}", "names neither a gateway nor an ingressClassName");
    expect_bad_expose("{\"gateway\":{}}", "spec.api.expose.gateway.name");
    expect_bad_expose("{\"gateway\":{\"name\":\"G\"}}", "spec.api.expose.gateway.name");
    expect_bad_expose("{\"gateway\":{\"name\":\"g\",\"namespace\":\"a.b\"}}",
                      "spec.api.expose.gateway.namespace");
    expect_bad_expose("{\"ingressClassName\":\"Traefik\"}", "spec.api.expose.ingressClassName");
    expect_bad_expose("{\"gateway\":\"g\"}", "spec.api.expose.gateway");
}
