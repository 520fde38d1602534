/* expose.c — Gateway API discovery and the Exposed condition (expose.h). */
#include "expose.h"

#include <stdio.h>
#include <string.h>

byron_status_t byron_expose_gateway_api_served(byron_kube_client_t *client, int *served, byron_err_t *err) {
    json_object *list = NULL, *res;
    *served = 0;
    byron_status_t st = byron_kube_do(client, "GET", BYRON_GATEWAY_API_PATH, NULL, NULL, &list, err);
    if (st == BYRON_ENOTFOUND) return BYRON_OK;
    if (st) return st;
    if (json_object_object_get_ex(list, "resources", &res) && json_object_is_type(res, json_type_array))
        for (size_t i = 0; i < json_object_array_length(res) && !*served; i++) {
            json_object *name;
            if (json_object_object_get_ex(json_object_array_get_idx(res, i), "name", &name) &&
                !strcmp(json_object_get_string(name), BYRON_KIND_HTTPROUTE.plural))
                *served = 1;
        }
    json_object_put(list);
    return BYRON_OK;
}

static const char *str_in(json_object *o, const char *k) {
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static json_object *path2(json_object *o, const char *a, const char *b) {
    json_object *x = NULL, *y = NULL;
    if (!o || !json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y)) return NULL;
    return y;
}

static json_object *find_type(json_object *conds, const char *type) {
    for (size_t i = 0; json_object_is_type(conds, json_type_array) && i < json_object_array_length(conds);
         i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = str_in(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

/* The status.parents entry for expose's gateway (name, and namespace: the
 * component's when expose gives none). */
static json_object *parent_of(json_object *bc, json_object *route, char *gw, size_t n) {
    json_object *ex = path2(path2(bc, "spec", "api"), "expose", "gateway");
    const char *name = str_in(ex, "name"), *ns = str_in(ex, "namespace");
    if (!ns) ns = str_in(json_object_object_get(bc, "metadata"), "namespace");
    snprintf(gw, n, "%s/%s", ns ? ns : "", name ? name : "");
    json_object *parents = path2(route, "status", "parents");
    for (size_t i = 0; json_object_is_type(parents, json_type_array) && i < json_object_array_length(parents);
         i++) {
        json_object *p = json_object_array_get_idx(parents, i), *ref = json_object_object_get(p, "parentRef");
        const char *rn = str_in(ref, "name"), *rns = str_in(ref, "namespace");
        if (rn && name && !strcmp(rn, name) && (!rns || (ns && !strcmp(rns, ns)))) return p;
    }
    return NULL;
}

static void set_cond(byron_expose_condition_t *out, int status, const char *reason) {
    out->status = status;
    snprintf(out->reason, sizeof(out->reason), "%s", reason && *reason ? reason : "Unknown");
}

static const char *or_empty(const char *s) { return s ? s : ""; }

static void route_condition(json_object *bc, json_object *route, const char *name,
                            byron_expose_condition_t *out) {
    char gw[600];
    json_object *p = parent_of(bc, route, gw, sizeof(gw)), *conds = json_object_object_get(p, "conditions");
    json_object *acc = find_type(conds, "Accepted"), *refs = find_type(conds, "ResolvedRefs");
    const char *as = str_in(acc, "status"), *rs = str_in(refs, "status");
    size_t n = sizeof(out->message);
    if (!as || !strcmp(as, "Unknown")) {
        set_cond(out, -1, BYRON_REASON_ROUTE_PENDING);
        snprintf(out->message, n, "HTTPRoute %.120s: Gateway %.320s has not accepted it yet", name, gw);
    } else if (strcmp(as, "True") != 0) {
        set_cond(out, 0, str_in(acc, "reason"));
        snprintf(out->message, n, "HTTPRoute %.120s not accepted by Gateway %.320s: %.400s", name, gw,
                 or_empty(str_in(acc, "message")));
    } else if (rs && !strcmp(rs, "False")) {
        set_cond(out, 0, str_in(refs, "reason"));
        snprintf(out->message, n, "HTTPRoute %.120s accepted by Gateway %.320s, but: %.400s", name, gw,
                 or_empty(str_in(refs, "message")));
    } else {
        set_cond(out, 1, BYRON_REASON_ROUTE_ACCEPTED);
        snprintf(out->message, n, "HTTPRoute %.120s accepted by Gateway %.320s", name, gw);
    }
}

static void ingress_condition(json_object *route, const char *name, byron_expose_condition_t *out) {
    json_object *ing = json_object_object_get(path2(route, "status", "loadBalancer"), "ingress");
    json_object *first = json_object_is_type(ing, json_type_array) && json_object_array_length(ing) > 0
                             ? json_object_array_get_idx(ing, 0)
                             : NULL;
    const char *addr = str_in(first, "ip");
    if (!addr) addr = str_in(first, "hostname");
    if (addr) {
        set_cond(out, 1, BYRON_REASON_ADDRESS);
        snprintf(out->message, sizeof(out->message), "Ingress %.120s served at %.253s", name, addr);
    } else {
        set_cond(out, -1, BYRON_REASON_ROUTE_PENDING);
        snprintf(out->message, sizeof(out->message),
                 "Ingress %.120s applied; no controller has published an address for it yet", name);
    }
}

void byron_expose_condition(const byron_kind_t *k, json_object *bc, json_object *route,
                            byron_expose_condition_t *out) {
    json_object *md = json_object_object_get(bc, "metadata");
    char name[600];
    snprintf(name, sizeof(name), "%s/%s-api", or_empty(str_in(md, "namespace")),
             or_empty(str_in(md, "name")));
    if (!route) {
        set_cond(out, -1, BYRON_REASON_ROUTE_PENDING);
        snprintf(out->message, sizeof(out->message), "%s %.120s not created yet", k->kind, name);
        return;
    }
    if (k == &BYRON_KIND_HTTPROUTE)
        route_condition(bc, route, name, out);
    else
        ingress_condition(route, name, out);
}
