/* expose.h — spec.api.expose beyond the desired object: whether the cluster
 * serves the Gateway API, and the Exposed condition read from the route's status.
 *
 * The rule (docs/operator.md, "One address"): an HTTPRoute when the cluster
 * serves gateway.networking.k8s.io/v1 (discovery, once at start) and expose
 * names a gateway; an Ingress otherwise. desired.c builds either. */
#ifndef BYRON_EXPOSE_H
#define BYRON_EXPOSE_H

#include "byron/kube_client.h"
#include "byron/status.h"
#include "resource.h"

#include <json-c/json.h>

#define BYRON_REASON_ROUTE_ACCEPTED "Accepted" /* HTTPRoute: its Gateway's controller accepted it */
#define BYRON_REASON_ADDRESS "AddressAssigned" /* Ingress: a controller published its address */
#define BYRON_REASON_ROUTE_PENDING "Pending"   /* no controller has reported on the route yet */

/* Whether the API server serves HTTPRoutes in gateway.networking.k8s.io/v1:
 * *served 1 or 0 (404: not installed). Other failures: an error. */
byron_status_t byron_expose_gateway_api_served(byron_kube_client_t *client, int *served, byron_err_t *err);

typedef struct byron_expose_condition {
    int status; /* 1 True, 0 False, -1 Unknown */
    char reason[64];
    char message[1024];
} byron_expose_condition_t;

/* The Exposed condition of a component whose route (kind k, name "<c>-api"
 * in namespace ns) is route as stored (NULL: not there yet). For an HTTPRoute
 * the status.parents entry of expose's gateway decides: Accepted (and
 * ResolvedRefs) True → True; either False → False with the route's reason;
 * none yet → Unknown, Pending. For an Ingress: an address in
 * status.loadBalancer → True, else Unknown, Pending. Pure. */
void byron_expose_condition(const byron_kind_t *k, json_object *bc, json_object *route,
                            byron_expose_condition_t *out);

#endif
