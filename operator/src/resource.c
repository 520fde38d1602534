/* resource.c — kind descriptors and URL building. */
#include "resource.h"

#include <stdio.h>
#include <string.h>

const byron_kind_t BYRON_KIND_COMPONENT = {"ByronComponent", BYRON_API_VERSION, "/apis/byron.io/v1alpha1",
                                           "byroncomponents"};
const byron_kind_t BYRON_KIND_DEPLOYMENT = {"Deployment", "apps/v1", "/apis/apps/v1", "deployments"};
const byron_kind_t BYRON_KIND_STATEFULSET = {"StatefulSet", "apps/v1", "/apis/apps/v1", "statefulsets"};
const byron_kind_t BYRON_KIND_SERVICE = {"Service", "v1", "/api/v1", "services"};
const byron_kind_t BYRON_KIND_CONFIGMAP = {"ConfigMap", "v1", "/api/v1", "configmaps"};
const byron_kind_t BYRON_KIND_SECRET = {"Secret", "v1", "/api/v1", "secrets"};
const byron_kind_t BYRON_KIND_LEASE = {"Lease", "coordination.k8s.io/v1", "/apis/coordination.k8s.io/v1",
                                       "leases"};
const byron_kind_t BYRON_KIND_EVENT = {"Event", "v1", "/api/v1", "events"};
const byron_kind_t BYRON_KIND_NETWORKPOLICY = {"NetworkPolicy", "networking.k8s.io/v1",
                                               "/apis/networking.k8s.io/v1", "networkpolicies"};
const byron_kind_t BYRON_KIND_PDB = {"PodDisruptionBudget", "policy/v1", "/apis/policy/v1",
                                     "poddisruptionbudgets"};

const byron_kind_t BYRON_KIND_INGRESS = {"Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1",
                                         "ingresses"};
const byron_kind_t BYRON_KIND_HTTPROUTE = {"HTTPRoute", "gateway.networking.k8s.io/v1",
                                           BYRON_GATEWAY_API_PATH, "httproutes"};

const byron_kind_t *const BYRON_OWNED_KINDS[] = {
    &BYRON_KIND_SECRET,  &BYRON_KIND_CONFIGMAP,   &BYRON_KIND_NETWORKPOLICY,
    &BYRON_KIND_SERVICE, &BYRON_KIND_STATEFULSET, &BYRON_KIND_DEPLOYMENT,
    &BYRON_KIND_PDB,     &BYRON_KIND_INGRESS,     &BYRON_KIND_HTTPROUTE};

void byron_kind_path(const byron_kind_t *k, const char *ns, const char *name, char *buf, size_t n) {
    if (ns && name)
        snprintf(buf, n, "%s/namespaces/%s/%s/%s", k->prefix, ns, k->plural, name);
    else if (ns)
        snprintf(buf, n, "%s/namespaces/%s/%s", k->prefix, ns, k->plural);
    else
        snprintf(buf, n, "%s/%s", k->prefix, k->plural);
}

const byron_kind_t *byron_kind_find(const char *kind) {
    for (int i = 0; i < BYRON_N_OWNED_KINDS; i++)
        if (!strcmp(BYRON_OWNED_KINDS[i]->kind, kind)) return BYRON_OWNED_KINDS[i];
    return NULL;
}
