/* resource.h — the kinds the operator reads and writes, and their URLs. */
#ifndef BYRON_RESOURCE_H
#define BYRON_RESOURCE_H

#include <stddef.h>

typedef struct byron_kind {
    const char *kind;        /* "Deployment" */
    const char *api_version; /* "apps/v1" */
    const char *prefix;      /* "/apis/apps/v1" */
    const char *plural;      /* "deployments" */
} byron_kind_t;

extern const byron_kind_t BYRON_KIND_COMPONENT;
extern const byron_kind_t BYRON_KIND_DEPLOYMENT;
extern const byron_kind_t BYRON_KIND_STATEFULSET;
extern const byron_kind_t BYRON_KIND_SERVICE;
extern const byron_kind_t BYRON_KIND_CONFIGMAP;
extern const byron_kind_t BYRON_KIND_SECRET;
extern const byron_kind_t BYRON_KIND_LEASE;
extern const byron_kind_t BYRON_KIND_EVENT;
extern const byron_kind_t BYRON_KIND_NETWORKPOLICY;
extern const byron_kind_t BYRON_KIND_PDB;
extern const byron_kind_t BYRON_KIND_INGRESS;
extern const byron_kind_t BYRON_KIND_HTTPROUTE; /* Gateway API: watched only when the cluster serves it */

/* The kinds the operator creates and owns, in apply order. */
extern const byron_kind_t *const BYRON_OWNED_KINDS[];
#define BYRON_N_OWNED_KINDS 9

/* Collection URL (ns NULL: all namespaces) or, with name, the object's URL. */
void byron_kind_path(const byron_kind_t *k, const char *ns, const char *name, char *buf, size_t n);
/* The owned kind with this `kind` name, or NULL. */
const byron_kind_t *byron_kind_find(const char *kind);

/* Discovery path of the Gateway API version the operator writes HTTPRoutes of. */
#define BYRON_GATEWAY_API_PATH "/apis/gateway.networking.k8s.io/v1"

#define BYRON_GROUP "byron.io"
#define BYRON_API_VERSION "byron.io/v1alpha1"
#define BYRON_MANAGED_BY_SELECTOR "app.kubernetes.io/managed-by=byron-operator"

#endif
