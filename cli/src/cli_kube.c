/* cli_kube.c — the Kubernetes API as kubectl-byron needs it (cli_kube.h). */
#include "cli_kube.h"

#include "byron/json.h"
#include "byron/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COMPONENTS "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents"

byron_status_t byron_cli_kube_open(const byron_cli_args_t *a, byron_cli_kube_t *k, byron_err_t *err) {
    memset(k, 0, sizeof *k);
    byron_kube_config_t *cfg = NULL;
    byron_status_t st;
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
    char def[4096];
    snprintf(def, sizeof def, "%s/.kube/config", home ? home : "");
    struct stat sb;
    int have_file = (a->kubeconfig && *a->kubeconfig) || (env && *env) || stat(def, &sb) == 0;
    if (!have_file && getenv("KUBERNETES_SERVICE_HOST")) /* in a pod, as kubectl does: its service account */
        st = byron_kubeconfig_in_cluster(NULL, &cfg, err);
    else if (!have_file)
        return byron_err_set(err, BYRON_EINVAL,
                             "no kubeconfig: %s does not exist (set KUBECONFIG, or pass --kubeconfig)", def);
    else
        st = byron_kubeconfig_load(a->kubeconfig, a->context, &cfg, err);
    if (st != BYRON_OK) return st;
    snprintf(k->namespace_, sizeof k->namespace_, "%s",
             a->namespace_                       ? a->namespace_
             : cfg->namespace && *cfg->namespace ? cfg->namespace
                                                 : "default");
    if (!(k->client = byron_kube_client_new(cfg, err))) return err->code;
    byron_kube_client_set_user_agent(k->client, "kubectl-byron/" BYRON_VERSION);
    return BYRON_OK;
}

void byron_cli_kube_close(byron_cli_kube_t *k) {
    byron_kube_client_free(k->client);
    k->client = NULL;
}

/* kubectl's wording of an API error: "Error from server (Reason): message". */
static byron_status_t server_error(long code, const char *body, const char *method, const char *path,
                                   byron_err_t *err) {
    json_object *o = NULL;
    const char *reason = NULL, *msg = NULL;
    if (body && *body && byron_json_parse(body, strlen(body), 16, &o, NULL) == BYRON_OK &&
        json_object_is_type(o, json_type_object)) {
        byron_json_get_string(o, "", "reason", BYRON_JSON_OPTIONAL, &reason, NULL);
        byron_json_get_string(o, "", "message", BYRON_JSON_OPTIONAL, &msg, NULL);
    }
    byron_status_t st = code == 404                  ? BYRON_ENOTFOUND
                        : code == 401 || code == 403 ? BYRON_EREJECTED
                        : code == 409                ? BYRON_ECONFLICT
                        : code == 400 || code == 422 ? BYRON_EINVAL
                                                     : BYRON_EUNAVAILABLE;
    if (msg && *msg)
        byron_err_set(err, st, "Error from server (%s): %s", reason && *reason ? reason : "Unknown", msg);
    else
        byron_err_set(err, st, "Error from server: %s %s: HTTP %ld", method, path, code);
    json_object_put(o);
    return st;
}

byron_status_t byron_cli_kube_send(byron_cli_kube_t *k, const char *method, const char *path,
                                   const char *content_type, json_object *body, json_object **out,
                                   byron_err_t *err) {
    if (out) *out = NULL;
    byron_kube_response_t r;
    const char *b = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
    byron_status_t st = byron_kube_request(k->client, method, path, content_type, b, &r, err);
    if (st != BYRON_OK) {
        /* The message kubectl gives when the server does not answer. */
        byron_err_t e = *err;
        byron_err_set(err, st, "Unable to connect to the server: %s", e.msg);
        return st;
    }
    if (r.code < 200 || r.code > 299)
        st = server_error(r.code, r.body, method, path, err);
    else if (out)
        st = byron_json_parse(r.body, r.len, 128, out, err);
    byron_kube_response_cleanup(&r);
    return st;
}

byron_status_t byron_cli_kube_get(byron_cli_kube_t *k, const char *path, json_object **out,
                                  byron_err_t *err) {
    return byron_cli_kube_send(k, "GET", path, NULL, NULL, out, err);
}

/* A 404 on the collection itself: the resource type is unknown to the server. */
static byron_status_t crd_missing(byron_cli_kube_t *k, byron_err_t *err) {
    char path[512];
    snprintf(path, sizeof path, COMPONENTS "?limit=1", k->namespace_);
    json_object *o = NULL;
    byron_err_t e = {0};
    byron_status_t st = byron_cli_kube_get(k, path, &o, &e);
    json_object_put(o);
    if (st == BYRON_ENOTFOUND)
        return byron_err_set(
            err, BYRON_ENOTFOUND,
            "the server doesn't have a resource type \"byroncomponents\": is Byron installed (its "
            "chart or crds/byron.io_byroncomponents.yaml)?");
    return BYRON_OK;
}

byron_status_t byron_cli_component(byron_cli_kube_t *k, const char *name, json_object **out,
                                   byron_err_t *err) {
    char path[512];
    snprintf(path, sizeof path, COMPONENTS "/%s", k->namespace_, name);
    byron_status_t st = byron_cli_kube_get(k, path, out, err);
    if (st == BYRON_ENOTFOUND && crd_missing(k, err) == BYRON_OK) {
        byron_err_t e = *err;
        byron_err_set(err, BYRON_ENOTFOUND,
                      "%s in namespace \"%s\" (kubectl byron status -n %s lists the components)", e.msg,
                      k->namespace_, k->namespace_);
    }
    return st;
}

byron_status_t byron_cli_components(byron_cli_kube_t *k, json_object **items, byron_err_t *err) {
    char path[512];
    snprintf(path, sizeof path, COMPONENTS, k->namespace_);
    json_object *list = NULL;
    *items = NULL;
    byron_status_t st = byron_cli_kube_get(k, path, &list, err);
    if (st == BYRON_ENOTFOUND) crd_missing(k, err);
    if (st != BYRON_OK) return st;
    json_object *it = NULL;
    if (!json_object_object_get_ex(list, "items", &it) || !json_object_is_type(it, json_type_array)) {
        json_object_put(list);
        return byron_err_set(err, BYRON_EPROTO, "the list of byroncomponents has no items");
    }
    *items = json_object_get(it);
    json_object_put(list);
    return BYRON_OK;
}

static const char *str_at(json_object *o, const char *a, const char *b) {
    json_object *x = json_object_object_get(o, a);
    return b ? json_object_get_string(json_object_object_get(x, b)) : json_object_get_string(x);
}

/* Running, and its byron-sidecar container ready. */
static int usable(json_object *pod) {
    json_object *status = json_object_object_get(pod, "status"),
                *cs = json_object_object_get(status, "containerStatuses");
    const char *phase = str_at(pod, "status", "phase");
    if (!phase || strcmp(phase, "Running") != 0 ||
        json_object_object_get(json_object_object_get(pod, "metadata"), "deletionTimestamp"))
        return 0;
    for (size_t i = 0; json_object_is_type(cs, json_type_array) && i < json_object_array_length(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        const char *n = str_at(c, "name", NULL);
        if (n && !strcmp(n, "byron-sidecar"))
            return json_object_get_boolean(json_object_object_get(c, "ready"));
    }
    return 0;
}

byron_status_t byron_cli_sink_pod(byron_cli_kube_t *k, const char *component, char *pod, size_t cap,
                                  byron_err_t *err) {
    char path[768];
    snprintf(
        path, sizeof path,
        "/api/v1/namespaces/%s/pods?labelSelector=byron.io%%2Fcomponent%%3D%s%%2Cbyron.io%%2Frole%%3Dsink",
        k->namespace_, component);
    json_object *list = NULL;
    byron_status_t st = byron_cli_kube_get(k, path, &list, err);
    if (st != BYRON_OK) return st;
    json_object *items = json_object_object_get(list, "items");
    const char *best = NULL;
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(items, i);
        const char *name = str_at(p, "metadata", "name");
        if (name && usable(p) && (!best || strcmp(name, best) < 0)) best = name;
    }
    if (best)
        snprintf(pod, cap, "%s", best);
    else
        st = byron_err_set(
            err, BYRON_ESTATE,
            "%s has no running sink pod with a ready byron-sidecar (%zu sink pod%s: kubectl get pods "
            "-n %s -l byron.io/component=%s,byron.io/role=sink)",
            component, n, n == 1 ? "" : "s", k->namespace_, component);
    json_object_put(list);
    return st;
}

byron_status_t byron_cli_component_config(byron_cli_kube_t *k, const char *component, json_object **config,
                                          char **text, byron_err_t *err) {
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s-config", k->namespace_, component);
    json_object *cm = NULL;
    *config = NULL;
    if (text) *text = NULL;
    byron_status_t st = byron_cli_kube_get(k, path, &cm, err);
    if (st == BYRON_ENOTFOUND) {
        byron_err_t e = *err;
        byron_err_set(err, BYRON_ENOTFOUND, "%s: the operator has not written %s's configuration (yet)",
                      e.msg, component);
    }
    if (st != BYRON_OK) return st;
    const char *json = str_at(json_object_object_get(cm, "data"), "component.json", NULL);
    if (!json)
        st = byron_err_set(err, BYRON_EPROTO, "ConfigMap %s-config has no component.json", component);
    else if ((st = byron_json_parse(json, strlen(json), 64, config, err)) != BYRON_OK)
        byron_err_prefix(err, "ConfigMap %s-config: component.json", component);
    else if (text && !(*text = strdup(json)))
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
    json_object_put(cm);
    return st;
}
