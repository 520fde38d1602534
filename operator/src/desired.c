/* desired.c — desired objects of a ByronComponent, as json-c trees.
 *
 * Shapes follow what `kubectl get -o json` would show for objects written by
 * hand, restricted to the fields the operator means to own: with server-side
 * apply, a field left out here is a field someone else (HPA, kubectl scale,
 * an admission webhook) may own. */
#include "desired.h"

#include "byron/base64.h"
#include "byron/json.h"
#include "component.h"
#include "component_schema.h" /* the sidecar's parser and schema: one of each for the component */
#include "natsperm.h"
#include "strmap.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- json-c shorthands ------------------------------------------------------ */
static json_object *obj(void) { return json_object_new_object(); }
static json_object *arr(void) { return json_object_new_array(); }
static json_object *set(json_object *o, const char *k, json_object *v) {
    json_object_object_add(o, k, v);
    return v;
}
static void sets(json_object *o, const char *k, const char *v) {
    json_object_object_add(o, k, json_object_new_string(v));
}
static void seti(json_object *o, const char *k, int64_t v) {
    json_object_object_add(o, k, json_object_new_int64(v));
}
static void setb(json_object *o, const char *k, int v) {
    json_object_object_add(o, k, json_object_new_boolean(v));
}
static json_object *push(json_object *a, json_object *v) {
    json_object_array_add(a, v);
    return v;
}
static json_object *copy(json_object *o) {
    json_object *c = NULL;
    if (!o || json_object_deep_copy(o, &c, NULL) != 0) return NULL;
    return c;
}
/* The object's metadata.annotations, made when absent. */
static json_object *annotations(json_object *o) {
    json_object *md = json_object_object_get(o, "metadata"), *a;
    return json_object_object_get_ex(md, "annotations", &a) ? a : set(md, "annotations", obj());
}
static const char *str_at(json_object *o, const char *k1, const char *k2) {
    json_object *a, *b;
    if (!json_object_object_get_ex(o, k1, &a) || !json_object_object_get_ex(a, k2, &b)) return "";
    return json_object_get_string(b);
}

void byron_desired_name(json_object *bc, const char *suffix, char *buf, size_t n) {
    snprintf(buf, n, "%s%s", str_at(bc, "metadata", "name"), suffix);
}

static void hash_hex(const char *s, char out[17]) {
    snprintf(out, 17, "%016llx", byron_fnv1a64(s, strlen(s)));
}

/* labels for a part ("api", "sink", "cache", "config"). */
static json_object *labels(json_object *bc, const char *part) {
    json_object *l = obj();
    const char *c = str_at(bc, "metadata", "name");
    sets(l, "app.kubernetes.io/name", "byron");
    sets(l, "app.kubernetes.io/instance", c);
    sets(l, "app.kubernetes.io/component", part);
    sets(l, "app.kubernetes.io/part-of", "byron");
    sets(l, "app.kubernetes.io/managed-by", "byron-operator");
    sets(l, "byron.io/component", c);
    sets(l, "byron.io/role", part);
    return l;
}

static json_object *selector(json_object *bc, const char *part) {
    json_object *l = obj();
    sets(l, "byron.io/component", str_at(bc, "metadata", "name"));
    sets(l, "byron.io/role", part);
    return l;
}

/* apiVersion, kind, metadata{name, namespace, labels, ownerReferences}. */
static json_object *skeleton(json_object *bc, const byron_kind_t *k, const char *name, const char *part) {
    json_object *o = obj(), *md;
    sets(o, "apiVersion", k->api_version);
    sets(o, "kind", k->kind);
    md = set(o, "metadata", obj());
    sets(md, "name", name);
    sets(md, "namespace", str_at(bc, "metadata", "namespace"));
    set(md, "labels", labels(bc, part));
    json_object *ref = push(set(md, "ownerReferences", arr()), obj());
    sets(ref, "apiVersion", BYRON_API_VERSION);
    sets(ref, "kind", "ByronComponent");
    sets(ref, "name", str_at(bc, "metadata", "name"));
    sets(ref, "uid", str_at(bc, "metadata", "uid"));
    setb(ref, "controller", 1);
    setb(ref, "blockOwnerDeletion", 1);
    return o;
}

static json_object *container_security(void) {
    json_object *s = obj();
    setb(s, "allowPrivilegeEscalation", 0);
    setb(s, "readOnlyRootFilesystem", 1);
    setb(s, "runAsNonRoot", 1);
    push(set(set(s, "capabilities", obj()), "drop", arr()), json_object_new_string("ALL"));
    return s;
}

static json_object *pod_security(int uid) {
    json_object *s = obj();
    setb(s, "runAsNonRoot", 1);
    seti(s, "runAsUser", uid);
    seti(s, "runAsGroup", uid);
    seti(s, "fsGroup", uid);
    sets(set(s, "seccompProfile", obj()), "type", "RuntimeDefault");
    return s;
}

/* Stopping without refusing or losing a request. A terminating pod leaves its
 * Services' endpoints at once, but proxies and gateways learn it a moment
 * later: the api's sidecar sleeps in preStop through that moment, so its
 * SIGTERM (and its drain's 503s) comes only when nothing routes new requests
 * to it any more. The app's sleep outlasts the sidecar's drain (the command
 * deadline), since the work being drained calls the app; and the grace period
 * outlasts both. Sink pods take no routed traffic: only their app waits. */
#define BYRON_ROUTE_GRACE_S 5  /* endpoints to proxies and gateways */
#define BYRON_DRAIN_S 15       /* the sidecar's drain: the command deadline (docs/sidecar.md) */
#define BYRON_TERMINATION_S 45 /* preStop sleeps, drain, and the app's own stop */

static json_object *pre_stop_sleep(int seconds) {
    json_object *l = obj();
    seti(set(set(l, "preStop", obj()), "sleep", obj()), "seconds", seconds);
    return l;
}

static json_object *requests(const char *cpu, const char *mem, const char *mem_limit) {
    json_object *r = obj(), *q = set(r, "requests", obj());
    sets(q, "cpu", cpu);
    sets(q, "memory", mem);
    if (mem_limit) sets(set(r, "limits", obj()), "memory", mem_limit);
    return r;
}

static json_object *env_value(const char *name, const char *value) {
    json_object *e = obj();
    sets(e, "name", name);
    sets(e, "value", value);
    return e;
}

static json_object *env_secret(const char *name, const char *secret, const char *key) {
    json_object *e = obj();
    sets(e, "name", name);
    json_object *r = set(set(e, "valueFrom", obj()), "secretKeyRef", obj());
    sets(r, "name", secret);
    sets(r, "key", key);
    return e;
}

static json_object *env_field(const char *name, const char *path) {
    json_object *e = obj();
    sets(e, "name", name);
    sets(set(set(e, "valueFrom", obj()), "fieldRef", obj()), "fieldPath", path);
    return e;
}

static json_object *probe(const char *path, int period) {
    json_object *p = obj(), *g = set(p, "httpGet", obj());
    sets(g, "path", path);
    sets(g, "port", "admin");
    seti(p, "periodSeconds", period);
    seti(p, "timeoutSeconds", 2);
    seti(p, "failureThreshold", 3);
    return p;
}

static json_object *mount(const char *name, const char *path, int ro) {
    json_object *m = obj();
    sets(m, "name", name);
    sets(m, "mountPath", path);
    if (ro) setb(m, "readOnly", 1);
    return m;
}

const byron_desired_setting_t byron_desired_settings[] = {
    {"logLevel", "BYRON_LOG_LEVEL", BYRON_DESIRED_API | BYRON_DESIRED_SINK},
    {"workers", "BYRON_WORKERS", BYRON_DESIRED_API | BYRON_DESIRED_SINK},
    {"queue", "BYRON_QUEUE", BYRON_DESIRED_API | BYRON_DESIRED_SINK},
    {"appTimeoutMs", "BYRON_APP_TIMEOUT_MS", BYRON_DESIRED_API | BYRON_DESIRED_SINK},
    {"maxAttempts", "BYRON_MAX_ATTEMPTS", BYRON_DESIRED_API},
    {"stateWaitMs", "BYRON_STATE_WAIT_MS", BYRON_DESIRED_API},
    {"maxInflightMiB", "BYRON_MAX_INFLIGHT_MIB", BYRON_DESIRED_API},
    {"maxClientConnections", "BYRON_MAX_CLIENT_CONNECTIONS", BYRON_DESIRED_API},
    {"graphql.maxBodyBytes", "BYRON_GRAPHQL_MAX_BODY_BYTES", BYRON_DESIRED_API},
    {"graphql.maxDocumentBytes", "BYRON_GRAPHQL_MAX_DOCUMENT_BYTES", BYRON_DESIRED_API},
    {"graphql.maxTokens", "BYRON_GRAPHQL_MAX_TOKENS", BYRON_DESIRED_API},
    {"graphql.maxDepth", "BYRON_GRAPHQL_MAX_DEPTH", BYRON_DESIRED_API},
    {"graphql.maxFields", "BYRON_GRAPHQL_MAX_FIELDS", BYRON_DESIRED_API},
    {"graphql.maxAliases", "BYRON_GRAPHQL_MAX_ALIASES", BYRON_DESIRED_API},
    {"graphql.deadlineMs", "BYRON_GRAPHQL_DEADLINE_MS", BYRON_DESIRED_API},
    {"graphql.maxCost", "BYRON_GRAPHQL_MAX_COST", BYRON_DESIRED_API},
    {"graphql.maxResponseBytes", "BYRON_GRAPHQL_MAX_RESPONSE_BYTES", BYRON_DESIRED_API},
    {"graphql.documentCacheBytes", "BYRON_GRAPHQL_DOCUMENT_CACHE_BYTES", BYRON_DESIRED_API},
    {"graphql.maxSubscriptions", "BYRON_GRAPHQL_MAX_SUBSCRIPTIONS", BYRON_DESIRED_API},
    {"graphql.maxReplicaSubscriptions", "BYRON_GRAPHQL_MAX_REPLICA_SUBSCRIPTIONS", BYRON_DESIRED_API},
    {"graphql.maxConnections", "BYRON_GRAPHQL_MAX_CONNECTIONS", BYRON_DESIRED_API},
    {"graphql.wsQueue", "BYRON_GRAPHQL_WS_QUEUE", BYRON_DESIRED_API},
    {"graphql.wsQueueBytes", "BYRON_GRAPHQL_WS_QUEUE_BYTES", BYRON_DESIRED_API},
    {"graphql.wsInitTimeoutMs", "BYRON_GRAPHQL_WS_INIT_TIMEOUT_MS", BYRON_DESIRED_API},
    {"graphql.wsWorkers", "BYRON_GRAPHQL_WS_WORKERS", BYRON_DESIRED_API},
    {"threads", "BYRON_SINK_THREADS", BYRON_DESIRED_SINK},
    {"maxDeliver", "BYRON_SINK_MAX_DELIVER", BYRON_DESIRED_SINK},
    {"retryMs", "BYRON_SINK_RETRY_MS", BYRON_DESIRED_SINK},
    {"ackWaitMs", "BYRON_SINK_ACK_WAIT_MS", BYRON_DESIRED_SINK},
    {"dlqAttempts", "BYRON_SINK_DLQ_ATTEMPTS", BYRON_DESIRED_SINK},
    {"deferMs", "BYRON_SINK_DEFER_MS", BYRON_DESIRED_SINK},
    {NULL, NULL, 0},
};

/* The value of a setting's field under spec.<part>.sidecar, or NULL. */
static json_object *setting_value(json_object *sidecar, const char *field) {
    const char *dot = strchr(field, '.');
    json_object *v = NULL;
    if (!sidecar) return NULL;
    if (!dot) return json_object_object_get_ex(sidecar, field, &v) ? v : NULL;
    char outer[32];
    snprintf(outer, sizeof outer, "%.*s", (int)(dot - field), field);
    json_object *in = NULL;
    return json_object_object_get_ex(sidecar, outer, &in) && json_object_object_get_ex(in, dot + 1, &v)
               ? v
               : NULL;
}

/* spec.<part>.sidecar: every setting the right type (the CRD holds the bounds). */
static byron_status_t check_settings(json_object *part, const char *path, unsigned bit, byron_err_t *err) {
    json_object *sc = NULL, *x;
    char p[64];
    snprintf(p, sizeof p, "%s.sidecar", path);
    byron_status_t st = BYRON_OK;
    if (!part || (st = byron_json_get_object(part, path, "sidecar", BYRON_JSON_OPTIONAL, &sc, err)) || !sc)
        return part ? st : BYRON_OK;
    if ((st = byron_json_get_object(sc, p, "resources", BYRON_JSON_OPTIONAL, &x, err)) ||
        (st = byron_json_get_object(sc, p, "graphql", BYRON_JSON_OPTIONAL, &x, err)))
        return st;
    for (const byron_desired_setting_t *s = byron_desired_settings; s->field; s++) {
        json_object *v = setting_value(sc, s->field);
        if (!v) continue;
        int want_string = !strcmp(s->field, "logLevel");
        if (!(s->parts & bit) || (want_string ? !json_object_is_type(v, json_type_string)
                                              : !json_object_is_type(v, json_type_int)))
            return byron_err_set(err, BYRON_EINVAL, "%s.%s: %s", p, s->field,
                                 !(s->parts & bit) ? "not a setting of this part"
                                 : want_string     ? "must be a string"
                                                   : "must be an integer");
    }
    return BYRON_OK;
}

/* The sidecar's settings as environment variables (docs/sidecar.md). */
static void settings_env(json_object *env, json_object *part, unsigned bit) {
    json_object *sc = NULL;
    if (!part || !json_object_object_get_ex(part, "sidecar", &sc)) return;
    for (const byron_desired_setting_t *s = byron_desired_settings; s->field; s++) {
        json_object *v = (s->parts & bit) ? setting_value(sc, s->field) : NULL;
        if (v) push(env, env_value(s->env, json_object_get_string(v)));
    }
}

/* The sidecar container's resources: spec.<part>.sidecar.resources, else the defaults. */
static json_object *sidecar_resources(json_object *part) {
    json_object *sc = NULL, *res = NULL;
    if (part && json_object_object_get_ex(part, "sidecar", &sc) &&
        json_object_object_get_ex(sc, "resources", &res) && json_object_object_length(res) > 0)
        return copy(res);
    return requests("50m", "64Mi", "256Mi");
}

/* What the spec says, read once with paths for errors. */
typedef struct spec {
    json_object *spec, *api, *sink, *cache, *storage, *external, *broker;
    json_object *keys_secret; /* spec.auth.keysSecretRef, or NULL */
    const char *cache_tls;    /* spec.cache.tls.secretRef.name, or NULL */
    const char *broker_url, *cache_image;
    int64_t partitions;
    int64_t stream_replicas, stream_max_bytes;
} spec_t;

static byron_status_t check_expose(json_object *api, byron_err_t *err);

/* spec.api and spec.sink: the fields each part may carry. */
static byron_status_t read_parts(spec_t *s, byron_err_t *err) {
    const char *parts[] = {"api", "sink"}, *x;
    json_object *pobj[] = {s->api, s->sink};
    byron_status_t st = BYRON_OK;
    for (int i = 0; i < 2 && !st; i++) {
        if (!pobj[i]) continue;
        char p[16];
        snprintf(p, sizeof(p), "spec.%s", parts[i]);
        int64_t r;
        json_object *x2;
        if ((st = byron_json_get_string(pobj[i], p, "image", BYRON_JSON_OPTIONAL, &x, err)) ||
            (st = byron_json_get_int(pobj[i], p, "replicas", BYRON_JSON_OPTIONAL, 0, 10000, &r, err)) ||
            (st = byron_json_get_object(pobj[i], p, "resources", BYRON_JSON_OPTIONAL, &x2, err)) ||
            (st = byron_json_get_array(pobj[i], p, "env", BYRON_JSON_OPTIONAL, &x2, err)))
            break;
        st = check_settings(pobj[i], p, i == 0 ? BYRON_DESIRED_API : BYRON_DESIRED_SINK, err);
    }
    if (!st && s->api) st = check_expose(s->api, err);
    return st;
}

/* spec.cache.external: exactly one of uri and secretRef. The CRD defaults
 * storage; an explicit external wins only if the user did not also write
 * storage — CEL rejects both at apply. */
static byron_status_t read_external_cache(json_object *external, byron_err_t *err) {
    const char *uri = NULL, *x;
    json_object *ref = NULL;
    byron_status_t st;
    if ((st =
             byron_json_get_string(external, "spec.cache.external", "uri", BYRON_JSON_OPTIONAL, &uri, err)) ||
        (st = byron_json_get_object(external, "spec.cache.external", "secretRef", BYRON_JSON_OPTIONAL, &ref,
                                    err)))
        return st;
    if (!uri == !ref)
        return byron_err_set(err, BYRON_EINVAL, "spec.cache.external: exactly one of uri and secretRef");
    if (ref && ((st = byron_json_get_string(ref, "spec.cache.external.secretRef", "name", BYRON_JSON_REQUIRED,
                                            &x, err)) ||
                (st = byron_json_get_string(ref, "spec.cache.external.secretRef", "key", BYRON_JSON_REQUIRED,
                                            &x, err))))
        return st;
    return BYRON_OK;
}

/* spec.cache: image, storage, tls (own cache only) or external. */
static byron_status_t read_cache(spec_t *s, byron_err_t *err) {
    byron_status_t st;
    json_object *tls = NULL, *tref = NULL;
    if ((st = byron_json_get_string(s->cache, "spec.cache", "image", BYRON_JSON_OPTIONAL, &s->cache_image,
                                    err)) ||
        (st = byron_json_get_object(s->cache, "spec.cache", "storage", BYRON_JSON_OPTIONAL, &s->storage,
                                    err)) ||
        (st = byron_json_get_object(s->cache, "spec.cache", "external", BYRON_JSON_OPTIONAL, &s->external,
                                    err)))
        return st;
    if ((st = byron_json_get_object(s->cache, "spec.cache", "tls", BYRON_JSON_OPTIONAL, &tls, err)) ||
        (tls &&
         ((st = byron_json_get_object(tls, "spec.cache.tls", "secretRef", BYRON_JSON_REQUIRED, &tref, err)) ||
          (st = byron_json_get_string(tref, "spec.cache.tls.secretRef", "name", BYRON_JSON_REQUIRED,
                                      &s->cache_tls, err)))))
        return st;
    if (s->cache_tls && s->external)
        return byron_err_set(err, BYRON_EINVAL,
                             "spec.cache.tls: only for the operator's own cache (an external cache's URI "
                             "carries its own TLS options)");
    if (s->external && (st = read_external_cache(s->external, err))) return st;
    if (s->storage) {
        const char *sz;
        if ((st = byron_json_get_string(s->storage, "spec.cache.storage", "size", BYRON_JSON_OPTIONAL, &sz,
                                        err)) ||
            (st = byron_json_get_string(s->storage, "spec.cache.storage", "storageClassName",
                                        BYRON_JSON_OPTIONAL, &sz, err)))
            return st;
    }
    return BYRON_OK;
}

/* spec.auth.keysSecretRef: name and key when present. */
static byron_status_t read_auth(spec_t *s, byron_err_t *err) {
    json_object *auth = NULL;
    const char *x;
    byron_status_t st;
    if ((st = byron_json_get_object(s->spec, "spec", "auth", BYRON_JSON_OPTIONAL, &auth, err)) ||
        (auth && (st = byron_json_get_object(auth, "spec.auth", "keysSecretRef", BYRON_JSON_OPTIONAL,
                                             &s->keys_secret, err))))
        return st;
    if (s->keys_secret && ((st = byron_json_get_string(s->keys_secret, "spec.auth.keysSecretRef", "name",
                                                       BYRON_JSON_REQUIRED, &x, err)) ||
                           (st = byron_json_get_string(s->keys_secret, "spec.auth.keysSecretRef", "key",
                                                       BYRON_JSON_REQUIRED, &x, err))))
        return st;
    return BYRON_OK;
}

/* spec.broker over the operator's defaults: url (required somewhere),
 * replicas (1 or 3), maxBytes. */
static byron_status_t read_broker(spec_t *s, const byron_desired_options_t *o, byron_err_t *err) {
    byron_status_t st;
    s->broker_url = o->default_broker_url;
    s->stream_replicas = o->default_stream_replicas > 0 ? o->default_stream_replicas : 1;
    s->stream_max_bytes = o->default_stream_max_bytes > 0 ? o->default_stream_max_bytes : -1;
    if (s->broker) {
        json_object *mb;
        if ((st = byron_json_get_string(s->broker, "spec.broker", "url", BYRON_JSON_OPTIONAL, &s->broker_url,
                                        err)) ||
            (st = byron_json_get_int(s->broker, "spec.broker", "replicas", BYRON_JSON_OPTIONAL, 1, 5,
                                     &s->stream_replicas, err)))
            return st;
        if (s->stream_replicas != 1 && s->stream_replicas != 3)
            return byron_err_set(err, BYRON_EINVAL, "spec.broker.replicas: must be 1 or 3, not %lld",
                                 (long long)s->stream_replicas);
        if (json_object_object_get_ex(s->broker, "maxBytes", &mb) &&
            (st = byron_desired_bytes(mb, "spec.broker.maxBytes", &s->stream_max_bytes, err)))
            return st;
    }
    if (!s->broker_url || !*s->broker_url)
        return byron_err_set(err, BYRON_EINVAL,
                             "spec.broker.url: required (the operator has no --default-broker-url)");
    return BYRON_OK;
}

static byron_status_t read_spec(json_object *bc, const byron_desired_options_t *o, spec_t *s,
                                byron_err_t *err) {
    byron_status_t st;
    memset(s, 0, sizeof(*s));
    json_object *md = NULL;
    const char *x;
    if ((st = byron_json_get_object(bc, "", "metadata", BYRON_JSON_REQUIRED, &md, err)) ||
        (st = byron_json_get_string(md, "metadata", "name", BYRON_JSON_REQUIRED, &x, err)) ||
        (st = byron_json_get_string(md, "metadata", "namespace", BYRON_JSON_REQUIRED, &x, err)) ||
        (st = byron_json_get_object(bc, "", "spec", BYRON_JSON_REQUIRED, &s->spec, err)))
        return st;
    s->partitions = 8;
    if ((st = byron_json_get_int(s->spec, "spec", "partitions", BYRON_JSON_OPTIONAL, 1, 4096, &s->partitions,
                                 err)) ||
        (st = byron_json_get_object(s->spec, "spec", "api", BYRON_JSON_OPTIONAL, &s->api, err)) ||
        (st = byron_json_get_object(s->spec, "spec", "sink", BYRON_JSON_OPTIONAL, &s->sink, err)) ||
        (st = byron_json_get_object(s->spec, "spec", "cache", BYRON_JSON_OPTIONAL, &s->cache, err)) ||
        (st = byron_json_get_object(s->spec, "spec", "broker", BYRON_JSON_OPTIONAL, &s->broker, err)))
        return st;
    if ((st = read_parts(s, err))) return st;
    s->cache_image = o->default_cache_image ? o->default_cache_image : "mongo:7";
    if (s->cache && (st = read_cache(s, err))) return st;
    if ((st = read_auth(s, err))) return st;
    return read_broker(s, o, err);
}

/* A spec the CRD accepted must also start a sidecar: run exactly the checks a
 * sidecar runs on component.json at start-up — its parser (every mode; exit 2)
 * and the GraphQL schema generator (api mode) — and report their refusal as
 * the spec's. The CRD's rules catch nearly all of these at apply time; this
 * catches what CEL cannot see (e.g. a subscription that names our namespace
 * explicitly beside one that leaves it out) and any rule the CRD lacks. */
static byron_status_t check_like_the_sidecar(json_object *config, byron_err_t *err) {
    static const char *const SPEC_KEYS[] = {"enums",         "models",     "commands",
                                            "subscriptions", "partitions", "auth"};
    byron_component_t *c = NULL;
    byron_err_t e = {0};
    char msg[BYRON_ERR_MSG_MAX];
    byron_graphql_schema_t *schema = NULL;
    if (byron_component_parse(config, &c, &e) == BYRON_OK &&
        byron_component_schema(c, &schema, &e) == BYRON_OK) {
        byron_graphql_schema_free(schema);
        byron_component_free(c);
        return BYRON_OK;
    }
    byron_component_free(c);
    snprintf(msg, sizeof msg, "%s", e.msg);
    /* The sidecar's paths are relative to component.json, which mirrors spec. */
    for (size_t i = 0; i < sizeof SPEC_KEYS / sizeof SPEC_KEYS[0]; i++)
        if (!strncmp(msg, SPEC_KEYS[i], strlen(SPEC_KEYS[i])))
            return byron_err_set(err, BYRON_EINVAL, "spec.%s", msg);
    return byron_err_set(err, BYRON_EINVAL, "spec: %s", msg);
}

byron_status_t byron_desired_component_config(json_object *bc, json_object **out, byron_err_t *err) {
    *out = NULL;
    json_object *spec = NULL, *v;
    byron_status_t st = byron_json_get_object(bc, "", "spec", BYRON_JSON_REQUIRED, &spec, err);
    if (st) return st;
    int64_t partitions = 8;
    if ((st = byron_json_get_int(spec, "spec", "partitions", BYRON_JSON_OPTIONAL, 1, 4096, &partitions, err)))
        return st;
    const char *ns = str_at(bc, "metadata", "namespace");
    json_object *c = obj();
    sets(c, "apiVersion", BYRON_API_VERSION);
    sets(c, "component", str_at(bc, "metadata", "name"));
    sets(c, "namespace", ns);
    seti(c, "partitions", partitions);
    const char *lists[] = {"enums", "models", "commands", "subscriptions"};
    for (int i = 0; i < 4; i++) {
        json_object *a = NULL;
        char p[32];
        snprintf(p, sizeof(p), "spec");
        if ((st = byron_json_get_array(spec, p, lists[i], BYRON_JSON_OPTIONAL, &a, err))) {
            json_object_put(c);
            return st;
        }
        set(c, lists[i], a ? copy(a) : arr());
    }
    /* Names resolved: a subscription without a namespace means ours. */
    json_object *subs = json_object_object_get(c, "subscriptions");
    for (size_t i = 0; i < json_object_array_length(subs); i++) {
        json_object *s = json_object_array_get_idx(subs, i);
        if (!json_object_is_type(s, json_type_object)) {
            json_object_put(c);
            return byron_err_set(err, BYRON_EINVAL, "spec.subscriptions[%zu]: must be an object", i);
        }
        if (!json_object_object_get_ex(s, "namespace", &v)) sets(s, "namespace", ns);
        if (!json_object_object_get_ex(s, "events", &v)) set(s, "events", arr());
    }
    /* Who may call the API: spec.auth as is, except where the keys live (a mount, not config). */
    json_object *auth = NULL;
    if ((st = byron_json_get_object(spec, "spec", "auth", BYRON_JSON_OPTIONAL, &auth, err))) {
        json_object_put(c);
        return st;
    }
    if (auth) {
        json_object *a = copy(auth);
        json_object_object_del(a, "keysSecretRef");
        set(c, "auth", a);
    }
    *out = c;
    return BYRON_OK;
}

/* A volume of the spec.cache.tls Secret: the CA, and with key the server's
 * certificate and key too. */
static json_object *tls_volume(const char *name, const char *secret, int key) {
    json_object *vol = obj(), *sv = set(vol, "secret", obj()), *items = set(sv, "items", arr()), *item;
    sets(vol, "name", name);
    sets(sv, "secretName", secret);
    seti(sv, "defaultMode", 0440);
    const char *keys[] = {BYRON_CACHE_TLS_CA, BYRON_CACHE_TLS_PEM};
    for (int i = 0; i < 1 + !!key; i++) {
        item = push(items, obj());
        sets(item, "key", keys[i]);
        sets(item, "path", keys[i]);
    }
    return vol;
}

static json_object *mongo_uri_env(json_object *bc, const spec_t *s, const byron_desired_options_t *o,
                                  const char *mode) {
    if (s->external) {
        json_object *ref;
        if (json_object_object_get_ex(s->external, "secretRef", &ref))
            return env_secret("BYRON_MONGO_URI", str_at(s->external, "secretRef", "name"),
                              str_at(s->external, "secretRef", "key"));
        json_object *u = json_object_object_get(s->external, "uri");
        return env_value("BYRON_MONGO_URI", json_object_get_string(u));
    }
    char sec[300], key[32];
    byron_desired_name(bc, "-cache-credentials", sec, sizeof(sec));
    /* Each role its own user: the api may only read the cache, the sink write it. */
    snprintf(key, sizeof(key), "%s%s", o->cache_users ? mode : "", o->cache_users ? "-uri" : "uri");
    return env_secret("BYRON_MONGO_URI", sec, key);
}

/* Replicas of a part spread over nodes, then zones, as evenly as the cluster
 * allows (ScheduleAnyway: a single-node cluster still runs them all). Per
 * revision (pod-template-hash), so a rollout spreads its new pods too. */
static json_object *spread(json_object *bc, const char *part) {
    json_object *list = arr();
    const char *keys[] = {"kubernetes.io/hostname", "topology.kubernetes.io/zone"};
    for (int i = 0; i < 2; i++) {
        json_object *c = push(list, obj());
        seti(c, "maxSkew", 1);
        sets(c, "topologyKey", keys[i]);
        sets(c, "whenUnsatisfiable", "ScheduleAnyway");
        set(set(c, "labelSelector", obj()), "matchLabels", selector(bc, part));
        push(set(c, "matchLabelKeys", arr()), json_object_new_string("pod-template-hash"));
    }
    return list;
}

/* A voluntary disruption (drain, upgrade) takes at most one pod of a part at
 * a time. maxUnavailable, not minAvailable: with one replica a drain still
 * proceeds instead of waiting forever. */
static json_object *pdb(json_object *bc, const char *part) {
    char name[300];
    byron_desired_name(bc, !strcmp(part, "api") ? "-api" : "-sink", name, sizeof(name));
    json_object *p = skeleton(bc, &BYRON_KIND_PDB, name, part), *spec = set(p, "spec", obj());
    seti(spec, "maxUnavailable", 1);
    set(set(spec, "selector", obj()), "matchLabels", selector(bc, part));
    return p;
}

/* An ingress rule: from these peers (NULL: anyone) to one named port. */
static json_object *ingress(json_object *from, const char *port) {
    json_object *r = obj();
    if (from) set(r, "from", from);
    sets(push(set(r, "ports", arr()), obj()), "port", port);
    return r;
}

/* Who may reach a part (ingress only: the sidecars' own connections to NATS,
 * the cache and the app's dependencies stay open):
 *   cache  its own component's api and sink pods, on the MongoDB port
 *   api    anyone on the public port (the component's API; narrow it with a
 *          policy of your own), the monitoring namespace on the admin port
 *   sink   the monitoring namespace on the admin port; nothing else
 * The kubelet's probes come from the node, which NetworkPolicy
 * implementations let through. */
static json_object *netpol(json_object *bc, const byron_desired_options_t *o, const char *part) {
    char name[300], suffix[16];
    snprintf(suffix, sizeof(suffix), "-%s", part);
    byron_desired_name(bc, suffix, name, sizeof(name));
    json_object *np = skeleton(bc, &BYRON_KIND_NETWORKPOLICY, name, part), *spec = set(np, "spec", obj());
    set(set(spec, "podSelector", obj()), "matchLabels", selector(bc, part));
    push(set(spec, "policyTypes", arr()), json_object_new_string("Ingress"));
    json_object *in = set(spec, "ingress", arr());
    if (!strcmp(part, "cache")) {
        json_object *from = arr(),
                    *sel = set(set(push(from, obj()), "podSelector", obj()), "matchExpressions", arr());
        json_object *e = push(sel, obj());
        sets(e, "key", "byron.io/component");
        sets(e, "operator", "In");
        push(set(e, "values", arr()), json_object_new_string(str_at(bc, "metadata", "name")));
        e = push(sel, obj());
        sets(e, "key", "byron.io/role");
        sets(e, "operator", "In");
        json_object *roles = set(e, "values", arr());
        push(roles, json_object_new_string("api"));
        push(roles, json_object_new_string("sink"));
        push(in, ingress(from, "mongo"));
        return np;
    }
    if (!strcmp(part, "api")) push(in, ingress(NULL, "http"));
    if (o->monitoring_namespace && *o->monitoring_namespace) {
        json_object *from = arr(), *ns = set(push(from, obj()), "namespaceSelector", obj());
        sets(set(ns, "matchLabels", obj()), "kubernetes.io/metadata.name", o->monitoring_namespace);
        push(in, ingress(from, "admin"));
    }
    /* No rule (a sink without a monitoring namespace): no "ingress" at all. An
     * applied empty list is dropped by the server, so every re-apply (each
     * resync) would change the object's managed fields and resourceVersion. */
    if (json_object_array_length(in) == 0) json_object_object_del(spec, "ingress");
    return np;
}

/* --- spec.api.expose ----------------------------------------------------------- */

/* RFC 1123 subdomain (lower case, labels of 1 to 63, at most 253), not an IP
 * address: what HTTPRoute hostnames and Ingress hosts accept. */
static int dns_subdomain(const char *h) {
    size_t n = strlen(h), label = 0;
    int digits_and_dots = 1;
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (ch == '.') {
            if (label == 0 || h[i - 1] == '-') return 0;
            label = 0;
            continue;
        }
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && label > 0)) return 0;
        if (ch < '0' || ch > '9') digits_and_dots = 0;
        if (++label > 63) return 0;
    }
    return label > 0 && h[n - 1] != '-' && !digits_and_dots;
}

/* A path prefix both kinds accept: '/' then URL path characters, no "//",
 * "/./", "/../", no trailing "/." or "/.." (the Gateway API's own rules), no
 * '%', '#', '?' or space, at most 1024. */
static int path_prefix_ok(const char *p) {
    size_t n = strlen(p);
    if (n == 0 || n > 1024 || p[0] != '/') return 0;
    if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../")) return 0;
    if ((n >= 2 && !strcmp(p + n - 2, "/.")) || (n >= 3 && !strcmp(p + n - 3, "/.."))) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("/._~!$&'()*+,;=:@-", ch)))
            return 0;
    }
    return 1;
}

/* The same refusals as the CRD's (the operator checks every input it uses). */
static byron_status_t check_expose(json_object *api, byron_err_t *err) {
    json_object *ex = NULL, *gw = NULL;
    const char *host = NULL, *path = NULL, *name = NULL, *gns = NULL, *cls = NULL;
    byron_status_t st;
    if ((st = byron_json_get_object(api, "spec.api", "expose", BYRON_JSON_OPTIONAL, &ex, err)) || !ex)
        return st;
    const char *p = "spec.api.expose";
    if ((st = byron_json_get_string(ex, p, "host", BYRON_JSON_OPTIONAL, &host, err)) ||
        (st = byron_json_get_string(ex, p, "path", BYRON_JSON_OPTIONAL, &path, err)) ||
        (st = byron_json_get_object(ex, p, "gateway", BYRON_JSON_OPTIONAL, &gw, err)) ||
        (st = byron_json_get_string(ex, p, "ingressClassName", BYRON_JSON_OPTIONAL, &cls, err)))
        return st;
    if (host && !dns_subdomain(host))
        return byron_err_set(err, BYRON_EINVAL, "%s.host: %.253s is not an RFC 1123 host name", p, host);
    if (path && !path_prefix_ok(path))
        return byron_err_set(err, BYRON_EINVAL, "%s.path: %.1024s is not a path prefix starting with '/'", p,
                             path);
    if (gw) {
        if ((st = byron_json_get_string(gw, "spec.api.expose.gateway", "name", 0, &name, err)) ||
            (st = byron_json_get_string(gw, "spec.api.expose.gateway", "namespace", BYRON_JSON_OPTIONAL, &gns,
                                        err)))
            return st;
        if (!dns_subdomain(name))
            return byron_err_set(err, BYRON_EINVAL, "%s.gateway.name: %.253s is not a valid name", p, name);
        if (gns && (!dns_subdomain(gns) || strlen(gns) > 63 || strchr(gns, '.')))
            return byron_err_set(err, BYRON_EINVAL, "%s.gateway.namespace: %.253s is not a namespace", p,
                                 gns);
    }
    if (cls && !dns_subdomain(cls))
        return byron_err_set(err, BYRON_EINVAL, "%s.ingressClassName: %.253s is not a valid name", p, cls);
    if (!gw && !cls)
        return byron_err_set(err, BYRON_EINVAL, "%s: names neither a gateway nor an ingressClassName", p);
    return BYRON_OK;
}

static json_object *expose_of(json_object *bc) {
    json_object *spec, *api, *ex;
    if (!json_object_object_get_ex(bc, "spec", &spec) || !json_object_object_get_ex(spec, "api", &api) ||
        !json_object_object_get_ex(api, "expose", &ex) || !json_object_is_type(ex, json_type_object))
        return NULL;
    return ex;
}

const byron_kind_t *byron_desired_expose_kind(json_object *bc, int gateway_api) {
    json_object *ex = expose_of(bc);
    if (!ex) return NULL;
    return gateway_api && json_object_object_get_ex(ex, "gateway", NULL) ? &BYRON_KIND_HTTPROUTE
                                                                         : &BYRON_KIND_INGRESS;
}

static const char *expose_path(json_object *ex) {
    json_object *v;
    return json_object_object_get_ex(ex, "path", &v) ? json_object_get_string(v) : "/";
}

/* HTTPRoute c-api: host and path prefix to the api Service's port 80 via the
 * named Gateway; the prefix is replaced by "/" on the way (URLRewrite), so
 * <prefix>/graphql reaches the sidecar's /graphql. */
static json_object *httproute(json_object *bc, json_object *ex) {
    char name[300];
    byron_desired_name(bc, "-api", name, sizeof(name));
    json_object *r = skeleton(bc, &BYRON_KIND_HTTPROUTE, name, "api"), *spec = set(r, "spec", obj());
    json_object *gw = json_object_object_get(ex, "gateway"), *v;
    json_object *parent = push(set(spec, "parentRefs", arr()), obj());
    sets(parent, "group", "gateway.networking.k8s.io");
    sets(parent, "kind", "Gateway");
    sets(parent, "name", str_at(ex, "gateway", "name"));
    sets(parent, "namespace",
         json_object_object_get_ex(gw, "namespace", &v) ? json_object_get_string(v)
                                                        : str_at(bc, "metadata", "namespace"));
    if (json_object_object_get_ex(ex, "host", &v))
        push(set(spec, "hostnames", arr()), json_object_new_string(json_object_get_string(v)));
    json_object *rule = push(set(spec, "rules", arr()), obj());
    json_object *path = set(push(set(rule, "matches", arr()), obj()), "path", obj());
    sets(path, "type", "PathPrefix");
    sets(path, "value", expose_path(ex));
    if (strcmp(expose_path(ex), "/") != 0) {
        json_object *f = push(set(rule, "filters", arr()), obj());
        sets(f, "type", "URLRewrite");
        json_object *upath = set(set(f, "urlRewrite", obj()), "path", obj());
        sets(upath, "type", "ReplacePrefixMatch");
        sets(upath, "replacePrefixMatch", "/");
    }
    json_object *be = push(set(rule, "backendRefs", arr()), obj());
    sets(be, "group", "");
    sets(be, "kind", "Service");
    sets(be, "name", name);
    seti(be, "port", 80);
    return r;
}

/* Ingress c-api: host and path prefix to the api Service's port 80. An
 * Ingress has no portable prefix rewrite: the path reaches the sidecar as
 * sent (docs/operator.md, "One address"). */
static json_object *ingress_route(json_object *bc, json_object *ex) {
    char name[300];
    byron_desired_name(bc, "-api", name, sizeof(name));
    json_object *r = skeleton(bc, &BYRON_KIND_INGRESS, name, "api"), *spec = set(r, "spec", obj()), *v;
    if (json_object_object_get_ex(ex, "ingressClassName", &v))
        sets(spec, "ingressClassName", json_object_get_string(v));
    json_object *rule = push(set(spec, "rules", arr()), obj());
    if (json_object_object_get_ex(ex, "host", &v)) sets(rule, "host", json_object_get_string(v));
    json_object *p = push(set(set(rule, "http", obj()), "paths", arr()), obj());
    sets(p, "path", expose_path(ex));
    sets(p, "pathType", "Prefix");
    json_object *svc = set(set(p, "backend", obj()), "service", obj());
    sets(svc, "name", name);
    seti(set(svc, "port", obj()), "number", 80);
    return r;
}

/* The user's app container, beside the sidecar (spec.<part>.image). */
static json_object *app_container(json_object *part, const char *mode, const char *image) {
    json_object *app = obj();
    sets(app, "name", "app");
    sets(app, "image", image);
    json_object *env = set(app, "env", arr());
    push(env, env_value("BYRON_MODE", mode));
    push(env, env_value("BYRON_APP_SOCKET", "/var/run/byron/app.sock"));
    push(env, env_value("BYRON_SIDECAR_SOCKET", "/var/run/byron/sidecar.sock"));
    json_object *uenv, *res;
    if (json_object_object_get_ex(part, "env", &uenv))
        for (size_t i = 0; i < json_object_array_length(uenv); i++)
            push(env, copy(json_object_array_get_idx(uenv, i)));
    set(app, "resources",
        json_object_object_get_ex(part, "resources", &res) && json_object_object_length(res) > 0
            ? copy(res)
            : requests("50m", "64Mi", NULL));
    push(set(app, "volumeMounts", arr()), mount("byron-run", "/var/run/byron", 0));
    set(app, "securityContext", container_security());
    set(app, "lifecycle", pre_stop_sleep((!strcmp(mode, "api") ? BYRON_ROUTE_GRACE_S : 0) + BYRON_DRAIN_S));
    return app;
}

/* The sidecar's environment: its mode, broker, cache, sockets and ports,
 * then the part's settings (docs/sidecar.md). */
static json_object *sidecar_env(json_object *bc, const spec_t *s, const byron_desired_options_t *o,
                                const char *mode, json_object *part, int has_app) {
    int api = !strcmp(mode, "api");
    json_object *env = arr();
    push(env, env_value("BYRON_MODE", mode));
    push(env, env_value("BYRON_CONFIG", "/etc/byron/component.json"));
    push(env, env_value("BYRON_NATS_URL", s->broker_url));
    char num[32], inbox[400], admin[16];
    snprintf(num, sizeof(num), "%lld", (long long)s->stream_replicas);
    push(env, env_value("BYRON_STREAM_REPLICAS", num));
    snprintf(num, sizeof(num), "%lld", (long long)s->stream_max_bytes);
    push(env, env_value("BYRON_STREAM_MAX_BYTES", num));
    /* The only inbox its NATS user may subscribe to (natsperm.h). */
    byron_natsperm_inbox(str_at(bc, "metadata", "namespace"), str_at(bc, "metadata", "name"), mode, inbox,
                         sizeof(inbox));
    push(env, env_value("BYRON_NATS_INBOX_PREFIX", inbox));
    if (o->nats_auth) push(env, env_value("BYRON_NATS_CREDS", BYRON_NATS_CREDS_DIR "/nats.creds"));
    if (o->nats_ca_pem) push(env, env_value("BYRON_NATS_CA", "/etc/byron/" BYRON_NATS_CA_KEY));
    push(env, mongo_uri_env(bc, s, o, mode));
    if (has_app) push(env, env_value("BYRON_APP_SOCKET", "/var/run/byron/app.sock"));
    push(env, env_value("BYRON_SIDECAR_SOCKET", "/var/run/byron/sidecar.sock"));
    push(env, env_value("BYRON_HTTP_PORT", "8080"));
    snprintf(admin, sizeof admin, "%d", BYRON_SIDECAR_ADMIN_PORT);
    push(env, env_value("BYRON_ADMIN_PORT", admin));
    if (s->keys_secret) push(env, env_value("BYRON_AUTH_JWKS_FILE", "/etc/byron-auth/jwks.json"));
    push(env, env_field("POD_NAME", "metadata.name"));
    push(env, env_field("POD_NAMESPACE", "metadata.namespace"));
    settings_env(env, part, api ? BYRON_DESIRED_API : BYRON_DESIRED_SINK);
    int64_t cache_gen = api ? 0 : byron_desired_cache_generation(bc, NULL);
    if (cache_gen > 0) { /* a rebuild asked for: only the sink rolls (docs/sink.md, "Rebuild") */
        snprintf(num, sizeof(num), "%lld", (long long)cache_gen);
        push(env, env_value("BYRON_CACHE_GENERATION", num));
    }
    return env;
}

static json_object *container_port(const char *name, int port) {
    json_object *p = obj();
    sets(p, "name", name);
    seti(p, "containerPort", port);
    sets(p, "protocol", "TCP");
    return p;
}

static json_object *sidecar_container(json_object *bc, const spec_t *s, const byron_desired_options_t *o,
                                      const char *mode, json_object *part, int has_app) {
    json_object *sc = obj();
    sets(sc, "name", "byron-sidecar");
    sets(sc, "image", o->sidecar_image ? o->sidecar_image : BYRON_DEFAULT_SIDECAR_IMAGE);
    char arg[32];
    snprintf(arg, sizeof(arg), "--mode=%s", mode);
    push(set(sc, "args", arr()), json_object_new_string(arg));
    set(sc, "env", sidecar_env(bc, s, o, mode, part, has_app));
    json_object *ports = set(sc, "ports", arr());
    push(ports, container_port("http", 8080));
    /* Probes and metrics on their own port, which the Service does not list (docs/security.md). */
    push(ports, container_port("admin", BYRON_SIDECAR_ADMIN_PORT));
    set(sc, "readinessProbe", probe("/readyz", 5));
    set(sc, "livenessProbe", probe("/healthz", 10));
    set(sc, "resources", sidecar_resources(part));
    if (!strcmp(mode, "api")) set(sc, "lifecycle", pre_stop_sleep(BYRON_ROUTE_GRACE_S));
    json_object *mounts = set(sc, "volumeMounts", arr());
    push(mounts, mount("byron-run", "/var/run/byron", 0));
    push(mounts, mount("config", "/etc/byron", 1));
    if (o->nats_auth) push(mounts, mount("nats-credentials", BYRON_NATS_CREDS_DIR, 1));
    if (s->keys_secret) push(mounts, mount("auth-keys", "/etc/byron-auth", 1));
    if (s->cache_tls) push(mounts, mount("cache-ca", BYRON_CACHE_TLS_DIR, 1));
    set(sc, "securityContext", container_security());
    return sc;
}

/* The pod's volumes: the sockets' emptyDir, the config, and the Secrets the
 * sidecar mounts. */
static json_object *pod_volumes(json_object *bc, const spec_t *s, const byron_desired_options_t *o,
                                const char *mode) {
    char cm[300];
    byron_desired_name(bc, "-config", cm, sizeof(cm));
    json_object *vols = arr(), *vol;
    vol = push(vols, obj());
    sets(vol, "name", "byron-run");
    set(vol, "emptyDir", obj());
    vol = push(vols, obj());
    sets(vol, "name", "config");
    sets(set(vol, "configMap", obj()), "name", cm);
    if (o->nats_auth) {
        /* Only this role's credentials reach the pod. A Secret volume (not an
         * env var) so that renewed credentials reach running pods; cnats reads
         * the file at every (re)connect. */
        char sec[300], key[32];
        byron_desired_name(bc, "-nats-credentials", sec, sizeof(sec));
        snprintf(key, sizeof(key), "%s.creds", mode);
        vol = push(vols, obj());
        sets(vol, "name", "nats-credentials");
        json_object *sv = set(vol, "secret", obj());
        sets(sv, "secretName", sec);
        seti(sv, "defaultMode", 0440);
        json_object *item = push(set(sv, "items", arr()), obj());
        sets(item, "key", key);
        sets(item, "path", "nats.creds");
    }
    if (s->keys_secret) { /* the token verification keys, from the component's Secret */
        vol = push(vols, obj());
        sets(vol, "name", "auth-keys");
        json_object *ksec = set(vol, "secret", obj()), *kitem = push(set(ksec, "items", arr()), obj());
        sets(ksec, "secretName", json_object_get_string(json_object_object_get(s->keys_secret, "name")));
        sets(kitem, "key", json_object_get_string(json_object_object_get(s->keys_secret, "key")));
        sets(kitem, "path", "jwks.json");
    }
    /* the CA that signed the cache's certificate; the cache's key stays there */
    if (s->cache_tls) push(vols, tls_volume("cache-ca", s->cache_tls, 0));
    return vols;
}

static json_object *deployment(json_object *bc, const spec_t *s, const byron_desired_options_t *o,
                               const char *mode, json_object *part, const char *config_hash) {
    char name[300];
    byron_desired_name(bc, strcmp(mode, "api") ? "-sink" : "-api", name, sizeof(name));
    json_object *d = skeleton(bc, &BYRON_KIND_DEPLOYMENT, name, mode);
    json_object *spec = set(d, "spec", obj()), *v;
    /* replicas only when the user wrote it: otherwise HPA / kubectl scale own it. */
    if (part && json_object_object_get_ex(part, "replicas", &v))
        seti(spec, "replicas", json_object_get_int64(v));
    seti(spec, "revisionHistoryLimit", 3);
    set(set(spec, "selector", obj()), "matchLabels", selector(bc, mode));
    json_object *tpl = set(spec, "template", obj()), *tmd = set(tpl, "metadata", obj());
    set(tmd, "labels", labels(bc, mode));
    json_object *ann = set(tmd, "annotations", obj());
    sets(ann, BYRON_ANN_CONFIG_HASH, config_hash);
    json_object *ps = set(tpl, "spec", obj());
    setb(ps, "automountServiceAccountToken", 0);
    set(ps, "securityContext", pod_security(65532));
    set(ps, "topologySpreadConstraints", spread(bc, mode));
    seti(ps, "terminationGracePeriodSeconds", BYRON_TERMINATION_S);
    json_object *cs = set(ps, "containers", arr());
    const char *image = NULL;
    if (part && json_object_object_get_ex(part, "image", &v)) image = json_object_get_string(v);
    sets(ann, "kubectl.kubernetes.io/default-container", image ? "app" : "byron-sidecar");
    if (image) push(cs, app_container(part, mode, image));
    push(cs, sidecar_container(bc, s, o, mode, part, image != NULL));
    set(ps, "volumes", pod_volumes(bc, s, o, mode));
    return d;
}

static json_object *service(json_object *bc, const char *suffix, const char *part, int headless, int port,
                            const char *target) {
    char name[300];
    byron_desired_name(bc, suffix, name, sizeof(name));
    json_object *svc = skeleton(bc, &BYRON_KIND_SERVICE, name, part), *spec = set(svc, "spec", obj());
    if (headless) {
        sets(spec, "clusterIP", "None");
        setb(spec, "publishNotReadyAddresses", 1);
    }
    set(spec, "selector", selector(bc, part));
    json_object *p = push(set(spec, "ports", arr()), obj());
    sets(p, "name", headless ? "mongo" : "http");
    seti(p, "port", port);
    sets(p, "targetPort", target);
    sets(p, "protocol", "TCP");
    return svc;
}

/* The component's MongoDB users, made or brought up to date by the cache
 * container at every start (a postStart hook: mongosh, in the mongo image):
 * the Secret is the truth, so a password the operator sets reaches the cache,
 * and a cache whose volume predates the users gets them. */
static const char USERS_SCRIPT[] =
    "set -u\n"
    "js='const d = db.getSiblingDB(process.env.BYRON_CACHE_DB);\n"
    "for (const [u, p, r] of [[process.env.BYRON_API_USER, process.env.BYRON_API_PASSWORD, \"read\"],\n"
    "                         [process.env.BYRON_SINK_USER, process.env.BYRON_SINK_PASSWORD, "
    "\"readWrite\"]]) {\n"
    "  const roles = [{role: r, db: process.env.BYRON_CACHE_DB}];\n"
    "  if (d.getUser(u)) d.updateUser(u, {pwd: p, roles: roles}); else d.createUser({user: u, pwd: p, roles: "
    "roles});\n"
    "}'\n"
    "for i in $(seq 300); do\n"
    "  mongosh --quiet ${BYRON_MONGOSH_TLS:-} --host 127.0.0.1 --authenticationDatabase admin -u "
    "\"$MONGO_INITDB_ROOT_USERNAME\" "
    "\\\n"
    "    -p \"$MONGO_INITDB_ROOT_PASSWORD\" --eval \"$js\" >/tmp/byron-users.log 2>&1 && exit 0\n"
    "  sleep 1\n"
    "done\n"
    "cat /tmp/byron-users.log >&2; exit 1\n";

static json_object *statefulset(json_object *bc, const spec_t *s, const byron_desired_options_t *o) {
    char name[300], sec[300];
    byron_desired_name(bc, "-cache", name, sizeof(name));
    byron_desired_name(bc, "-cache-credentials", sec, sizeof(sec));
    json_object *ss = skeleton(bc, &BYRON_KIND_STATEFULSET, name, "cache"), *spec = set(ss, "spec", obj());
    seti(spec, "replicas", 1);
    sets(spec, "serviceName", name);
    set(set(spec, "selector", obj()), "matchLabels", selector(bc, "cache"));
    json_object *tpl = set(spec, "template", obj());
    set(set(tpl, "metadata", obj()), "labels", labels(bc, "cache"));
    json_object *ps = set(tpl, "spec", obj());
    setb(ps, "automountServiceAccountToken", 0);
    /* The mongo image runs as mongodb (999) when not started as root; fsGroup
     * makes the volume writable for it. */
    set(ps, "securityContext", pod_security(999));
    json_object *c = push(set(ps, "containers", arr()), obj());
    sets(c, "name", "mongo");
    sets(c, "image", s->cache_image);
    json_object *args = set(c, "args", arr());
    push(args, json_object_new_string("--bind_ip_all"));
    if (s->cache_tls) {
        /* TLS only; clients need no certificate of their own (they have a password) */
        const char *tls[] = {"--tlsMode",
                             "requireTLS",
                             "--tlsCertificateKeyFile",
                             BYRON_CACHE_TLS_DIR "/" BYRON_CACHE_TLS_PEM,
                             "--tlsCAFile",
                             BYRON_CACHE_TLS_DIR "/" BYRON_CACHE_TLS_CA,
                             "--tlsAllowConnectionsWithoutCertificates"};
        for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) push(args, json_object_new_string(tls[i]));
    }
    json_object *env = set(c, "env", arr());
    push(env, env_secret("MONGO_INITDB_ROOT_USERNAME", sec, "username"));
    push(env, env_secret("MONGO_INITDB_ROOT_PASSWORD", sec, "password"));
    if (o->cache_users) {
        char db[300];
        byron_desired_cache_database(bc, db, sizeof(db));
        push(env, env_value("BYRON_CACHE_DB", db));
        push(env, env_secret("BYRON_API_USER", sec, "api-username"));
        push(env, env_secret("BYRON_API_PASSWORD", sec, "api-password"));
        push(env, env_secret("BYRON_SINK_USER", sec, "sink-username"));
        push(env, env_secret("BYRON_SINK_PASSWORD", sec, "sink-password"));
        /* over 127.0.0.1, which the certificate does not name */
        if (s->cache_tls)
            push(env, env_value("BYRON_MONGOSH_TLS", "--tls --tlsCAFile " BYRON_CACHE_TLS_DIR
                                                     "/" BYRON_CACHE_TLS_CA " --tlsAllowInvalidHostnames"));
        json_object *cmd =
            set(set(set(set(c, "lifecycle", obj()), "postStart", obj()), "exec", obj()), "command", arr());
        push(cmd, json_object_new_string("/bin/bash"));
        push(cmd, json_object_new_string("-c"));
        push(cmd, json_object_new_string(USERS_SCRIPT));
    }
    json_object *port = push(set(c, "ports", arr()), obj());
    sets(port, "name", "mongo");
    seti(port, "containerPort", 27017);
    sets(port, "protocol", "TCP");
    json_object *rp = set(c, "readinessProbe", obj());
    sets(set(rp, "tcpSocket", obj()), "port", "mongo");
    seti(rp, "periodSeconds", 5);
    json_object *lp = set(c, "livenessProbe", obj());
    sets(set(lp, "tcpSocket", obj()), "port", "mongo");
    seti(lp, "periodSeconds", 10);
    seti(lp, "initialDelaySeconds", 30);
    set(c, "resources", requests("100m", "256Mi", NULL));
    json_object *mounts = set(c, "volumeMounts", arr());
    push(mounts, mount("data", "/data/db", 0));
    push(mounts, mount("configdb", "/data/configdb", 0));
    push(mounts, mount("tmp", "/tmp", 0));
    if (s->cache_tls) push(mounts, mount("cache-tls", BYRON_CACHE_TLS_DIR, 1));
    set(c, "securityContext", container_security());
    json_object *vols = set(ps, "volumes", arr()), *vol;
    if (s->cache_tls) push(vols, tls_volume("cache-tls", s->cache_tls, 1));
    vol = push(vols, obj());
    sets(vol, "name", "configdb");
    set(vol, "emptyDir", obj());
    vol = push(vols, obj());
    sets(vol, "name", "tmp");
    set(vol, "emptyDir", obj());
    json_object *pvc = push(set(spec, "volumeClaimTemplates", arr()), obj());
    json_object *pmd = set(pvc, "metadata", obj());
    sets(pmd, "name", "data");
    set(pmd, "labels", labels(bc, "cache"));
    json_object *pspec = set(pvc, "spec", obj());
    push(set(pspec, "accessModes", arr()), json_object_new_string("ReadWriteOnce"));
    const char *size = "1Gi", *cls = NULL;
    json_object *v;
    if (s->storage && json_object_object_get_ex(s->storage, "size", &v)) size = json_object_get_string(v);
    if (s->storage && json_object_object_get_ex(s->storage, "storageClassName", &v))
        cls = json_object_get_string(v);
    if (cls) sets(pspec, "storageClassName", cls);
    sets(set(set(pspec, "resources", obj()), "requests", obj()), "storage", size);
    return ss;
}

static void add(byron_desired_t *d, const byron_kind_t *k, json_object *o) {
    byron_desired_obj_t *e = &d->objs[d->n++];
    e->kind = k;
    e->obj = o;
    snprintf(e->name, sizeof(e->name), "%s", str_at(o, "metadata", "name"));
    hash_hex(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), e->hash);
    json_object *md = json_object_object_get(o, "metadata");
    sets(set(md, "annotations", obj()), BYRON_ANN_APPLIED_HASH, e->hash);
}

/* The schema: what decides whether a sink understands an own event — the
 * subjects (partitions), enums, models and custom commands (their emits).
 * Not subscriptions (a subscribed event is never deferred), auth or how the
 * component runs. FNV-1a of its compact JSON, like every hash here. */
static void schema_hash(json_object *config, char out[17]) {
    static const char *const KEYS[] = {"partitions", "enums", "models", "commands"};
    json_object *s = obj(), *v;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (json_object_object_get_ex(config, KEYS[i], &v)) set(s, KEYS[i], json_object_get(v));
    hash_hex(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN), out);
    json_object_put(s);
}

/* schemaGeneration: the generation recorded in status.schema while the schema
 * keeps that hash, else the component's metadata.generation (above any
 * recorded one): monotonic, and moved only by a schema change — a replicas,
 * resources or image change keeps component.json, so no pod rolls. */
static int64_t schema_generation(json_object *bc, const char *hash) {
    json_object *st = NULL, *sch = NULL, *v;
    int64_t recorded = 0, gen = 1;
    const char *rhash = "";
    if (json_object_object_get_ex(bc, "status", &st) && json_object_object_get_ex(st, "schema", &sch)) {
        if (json_object_object_get_ex(sch, "generation", &v)) recorded = json_object_get_int64(v);
        if (json_object_object_get_ex(sch, "hash", &v)) rhash = json_object_get_string(v);
    }
    if (recorded > 0 && !strcmp(rhash, hash)) return recorded;
    json_object *md;
    if (json_object_object_get_ex(bc, "metadata", &md) && json_object_object_get_ex(md, "generation", &v))
        gen = json_object_get_int64(v);
    if (gen < 1) gen = 1;
    return gen > recorded ? gen : recorded + 1;
}

int64_t byron_desired_cache_generation(json_object *bc, const char **token) {
    json_object *spec = NULL, *cache = NULL, *st = NULL, *rb = NULL, *v = NULL;
    const char *want = NULL, *seen = NULL;
    if (json_object_object_get_ex(bc, "spec", &spec) && json_object_object_get_ex(spec, "cache", &cache) &&
        json_object_object_get_ex(cache, "rebuild", &v) && json_object_is_type(v, json_type_string) &&
        *json_object_get_string(v))
        want = json_object_get_string(v);
    int64_t gen = 0;
    if (json_object_object_get_ex(bc, "status", &st) && json_object_object_get_ex(st, "rebuild", &rb)) {
        if (json_object_object_get_ex(rb, "generation", &v)) gen = json_object_get_int64(v);
        if (json_object_object_get_ex(rb, "requested", &v) && json_object_is_type(v, json_type_string))
            seen = json_object_get_string(v);
    }
    if (gen < 0 || gen >= 1000000000LL) gen = 0; /* not ours: the sink refuses it anyway */
    if (token) *token = want;
    return want && (!seen || strcmp(seen, want) != 0) ? gen + 1 : gen;
}

byron_status_t byron_desired_build(json_object *bc, const byron_desired_options_t *o, byron_desired_t *out,
                                   byron_err_t *err) {
    memset(out, 0, sizeof(*out));
    spec_t s;
    json_object *config = NULL;
    byron_status_t st = read_spec(bc, o, &s, err);
    if (st) return st;
    if ((st = byron_desired_component_config(bc, &config, err))) return st;
    if (!json_object_object_get_ex(config, "auth", NULL) && o->default_auth) {
        /* The chart-wide default (--default-auth), for components that declare none. */
        json_object *d = NULL;
        byron_err_t perr;
        if (byron_json_parse(o->default_auth, strlen(o->default_auth), 32, &d, &perr) != BYRON_OK ||
            !json_object_is_type(d, json_type_object)) {
            json_object_put(d);
            json_object_put(config);
            return byron_err_set(err, BYRON_EINVAL, "--default-auth: not a JSON object");
        }
        json_object_object_del(d, "keysSecretRef");
        set(config, "auth", d);
    }
    if ((st = check_like_the_sidecar(config, err))) {
        json_object_put(config);
        return st;
    }
    schema_hash(config, out->schema_hash);
    out->schema_generation = schema_generation(bc, out->schema_hash);
    seti(config, "schemaGeneration", out->schema_generation);
    /* Pretty-printed with sorted-by-insertion keys: deterministic for one spec. */
    const char *cj =
        json_object_to_json_string_ext(config, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    hash_hex(cj, out->config_hash);
    char name[300];
    byron_desired_name(bc, "-config", name, sizeof(name));
    json_object *cm = skeleton(bc, &BYRON_KIND_CONFIGMAP, name, "config"), *cmd = set(cm, "data", obj());
    sets(cmd, "component.json", cj);
    if (o->nats_ca_pem) sets(cmd, BYRON_NATS_CA_KEY, o->nats_ca_pem); /* a CA is public: no Secret needed */
    json_object_put(config);
    add(out, &BYRON_KIND_CONFIGMAP, cm);
    out->cache_external = s.external != NULL;
    if (!out->cache_external) {
        add(out, &BYRON_KIND_SERVICE, service(bc, "-cache", "cache", 1, 27017, "mongo"));
        add(out, &BYRON_KIND_STATEFULSET, statefulset(bc, &s, o));
    }
    add(out, &BYRON_KIND_SERVICE, service(bc, "-api", "api", 0, 80, "http"));
    add(out, &BYRON_KIND_DEPLOYMENT, deployment(bc, &s, o, "api", s.api, out->config_hash));
    add(out, &BYRON_KIND_DEPLOYMENT, deployment(bc, &s, o, "sink", s.sink, out->config_hash));
    add(out, &BYRON_KIND_PDB, pdb(bc, "api"));
    add(out, &BYRON_KIND_PDB, pdb(bc, "sink"));
    if (o->network_policies) {
        if (!out->cache_external) add(out, &BYRON_KIND_NETWORKPOLICY, netpol(bc, o, "cache"));
        add(out, &BYRON_KIND_NETWORKPOLICY, netpol(bc, o, "api"));
        add(out, &BYRON_KIND_NETWORKPOLICY, netpol(bc, o, "sink"));
    }
    out->expose_kind = byron_desired_expose_kind(bc, o->gateway_api);
    if (out->expose_kind == &BYRON_KIND_HTTPROUTE)
        add(out, &BYRON_KIND_HTTPROUTE, httproute(bc, expose_of(bc)));
    else if (out->expose_kind)
        add(out, &BYRON_KIND_INGRESS, ingress_route(bc, expose_of(bc)));
    out->streams.broker_url = s.broker_url;
    out->streams.replicas = (int)s.stream_replicas;
    out->streams.max_bytes = s.stream_max_bytes;
    return BYRON_OK;
}

json_object *byron_desired_nats_secret(json_object *bc, const char *api_creds, const char *sink_creds,
                                       const char *permissions_hash, int64_t renew_at) {
    char name[300], ts[32];
    byron_desired_name(bc, "-nats-credentials", name, sizeof(name));
    json_object *sec = skeleton(bc, &BYRON_KIND_SECRET, name, "broker");
    sets(sec, "type", "Opaque");
    json_object *ann = set(json_object_object_get(sec, "metadata"), "annotations", obj());
    sets(ann, BYRON_ANN_NATS_PERMISSIONS, permissions_hash);
    snprintf(ts, sizeof(ts), "%lld", (long long)renew_at);
    sets(ann, BYRON_ANN_NATS_RENEW_AT, ts);
    json_object *data = set(sec, "data", obj());
    const char *keys[] = {"api.creds", "sink.creds"}, *vals[] = {api_creds, sink_creds};
    for (int i = 0; i < 2; i++) {
        char *b = byron_base64_encode((const unsigned char *)vals[i], strlen(vals[i]), 0);
        sets(data, keys[i], b);
        free(b);
    }
    return sec;
}

byron_status_t byron_desired_bytes(json_object *v, const char *path, int64_t *out, byron_err_t *err) {
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n < -1) return byron_err_set(err, BYRON_EINVAL, "%s: must be -1 (no limit) or a size", path);
        *out = n == 0 ? -1 : n;
        return BYRON_OK;
    }
    if (!json_object_is_type(v, json_type_string))
        return byron_err_set(err, BYRON_EINVAL, "%s: must be a size such as 10Gi", path);
    const char *t = json_object_get_string(v);
    char *end;
    unsigned long long n = strtoull(t, &end, 10);
    static const struct {
        const char *suffix;
        int64_t mult;
    } U[] = {{"", 1},
             {"k", 1000},
             {"M", 1000000},
             {"G", 1000000000},
             {"T", 1000000000000},
             {"Ki", 1024},
             {"Mi", 1024 * 1024},
             {"Gi", 1024LL * 1024 * 1024},
             {"Ti", 1024LL * 1024 * 1024 * 1024}};
    if (end == t || *t == '-' || *t == '+')
        return byron_err_set(err, BYRON_EINVAL, "%s: \"%.32s\" is not a size such as 10Gi", path, t);
    for (size_t i = 0; i < sizeof(U) / sizeof(U[0]); i++)
        if (!strcmp(end, U[i].suffix)) {
            if (n > (unsigned long long)(INT64_MAX / U[i].mult))
                return byron_err_set(err, BYRON_EINVAL, "%s: %.32s is too large", path, t);
            *out = n ? (int64_t)n * U[i].mult : -1;
            return BYRON_OK;
        }
    return byron_err_set(err, BYRON_EINVAL, "%s: \"%.32s\": unknown unit (Ki, Mi, Gi, Ti, k, M, G, T)", path,
                         t);
}

void byron_desired_cleanup(byron_desired_t *d) {
    for (int i = 0; i < d->n; i++) json_object_put(d->objs[i].obj);
    d->n = 0;
}

void byron_desired_cache_database(json_object *bc, char *buf, size_t n) {
    snprintf(buf, n, "byron_%s", str_at(bc, "metadata", "name"));
    for (char *p = buf; *p; p++)
        if (*p == '-') *p = '_';
}

void byron_desired_cache_password(const unsigned char *key, size_t len, json_object *bc, const char *user,
                                  char out[49]) {
    char msg[600];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    snprintf(msg, sizeof(msg), "byron-cache-password/%s/%s/%s", str_at(bc, "metadata", "namespace"),
             str_at(bc, "metadata", "name"), user);
    HMAC(EVP_sha256(), key, (int)len, (const unsigned char *)msg, strlen(msg), mac, &maclen);
    for (int i = 0; i < 24; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void secret_entry(json_object *data, const char *key, const char *value) {
    char *b = byron_base64_encode((const unsigned char *)value, strlen(value), 0);
    sets(data, key, b);
    free(b);
}

const char *byron_desired_cache_tls(json_object *bc) {
    json_object *c = NULL, *t = NULL;
    if (!json_object_object_get_ex(json_object_object_get(bc, "spec"), "cache", &c) ||
        json_object_object_get(c, "external") || !json_object_object_get_ex(c, "tls", &t))
        return NULL;
    const char *n = str_at(t, "secretRef", "name");
    return *n ? n : NULL;
}

json_object *byron_desired_secret(json_object *bc, const byron_cache_passwords_t *pw, int users,
                                  const char *uri_options) {
    char name[300], uri[2048], db[300], opts[600];
    byron_desired_name(bc, "-cache-credentials", name, sizeof(name));
    byron_desired_cache_database(bc, db, sizeof(db));
    json_object *sec = skeleton(bc, &BYRON_KIND_SECRET, name, "cache");
    sets(sec, "type", "Opaque");
    json_object *data = set(sec, "data", obj());
    const char *c = str_at(bc, "metadata", "name"), *ns = str_at(bc, "metadata", "namespace");
    int tls = byron_desired_cache_tls(bc) != NULL;
    snprintf(opts, sizeof(opts), "%s%s%s",
             tls ? "tls=true&tlsCAFile=" BYRON_CACHE_TLS_DIR "/" BYRON_CACHE_TLS_CA : "",
             tls && uri_options && *uri_options ? "&" : "", uri_options ? uri_options : "");
    const char *opt = opts, *amp = *opt ? "&" : "";
    /* authSource=admin: the root user lives in the admin database. */
    snprintf(uri, sizeof(uri), "mongodb://byron:%s@%s-cache-0.%s-cache.%s.svc:27017/?authSource=admin%s%s",
             pw->root, c, c, ns, amp, opt);
    secret_entry(data, "username", "byron");
    secret_entry(data, "password", pw->root);
    secret_entry(data, "uri", uri);
    if (users) {
        /* The component's users live in its database; the URI names it. */
        const char *who[] = {"api", "sink"}, *pws[] = {pw->api, pw->sink};
        for (int i = 0; i < 2; i++) {
            char k[32], user[32];
            snprintf(user, sizeof(user), "byron-%s", who[i]);
            snprintf(uri, sizeof(uri),
                     "mongodb://%s:%s@%s-cache-0.%s-cache.%s.svc:27017/%s?authSource=%s%s%s", user, pws[i], c,
                     c, ns, db, db, amp, opt);
            snprintf(k, sizeof(k), "%s-username", who[i]);
            secret_entry(data, k, user);
            snprintf(k, sizeof(k), "%s-password", who[i]);
            secret_entry(data, k, pws[i]);
            snprintf(k, sizeof(k), "%s-uri", who[i]);
            secret_entry(data, k, uri);
        }
        sets(annotations(sec), BYRON_ANN_CACHE_USERS, "api,sink");
    }
    if (tls) sets(annotations(sec), BYRON_ANN_CACHE_TLS, "true");
    return sec;
}
