/* cli_kube.h — kubectl-byron's side of the Kubernetes API: the current
 * context (lib's kubeconfig and kube client, as the operator uses them), the
 * ByronComponents, their sink pods and their configuration — with errors
 * worded as kubectl words them ("Error from server (Forbidden): ...", "error:
 * current-context is not set ...").
 *
 * Every call is one or two blocking requests. */
#ifndef BYRON_CLI_KUBE_H
#define BYRON_CLI_KUBE_H

#include "byron/kube_client.h"
#include "byron/status.h"
#include "cli_args.h"

#include <json-c/json.h>

typedef struct byron_cli_kube {
    byron_kube_client_t *client;
    char namespace_[256];
} byron_cli_kube_t;

/* The kubeconfig (--kubeconfig, $KUBECONFIG (a list is merged), ~/.kube/config;
 * in a pod without one: its service account), the context (--context, else
 * current-context) and the namespace (-n, else the context's, else "default"). */
byron_status_t byron_cli_kube_open(const byron_cli_args_t *a, byron_cli_kube_t *k, byron_err_t *err);
void byron_cli_kube_close(byron_cli_kube_t *k);

/* GET path into *out (caller puts). what: the object as kubectl names it in
 * messages (`byroncomponents.byron.io "orders"`). A non-2xx answer becomes
 * err "Error from server (<Reason>): <message>" with the API's own words;
 * ENOTFOUND for 404, EREJECTED for 401/403. */
byron_status_t byron_cli_kube_get(byron_cli_kube_t *k, const char *path, json_object **out, byron_err_t *err);
/* The same with a body (merge patch and the like). */
byron_status_t byron_cli_kube_send(byron_cli_kube_t *k, const char *method, const char *path,
                                   const char *content_type, json_object *body, json_object **out,
                                   byron_err_t *err);

/* The ByronComponent `name` in the namespace. Not found: the API's message
 * and how to list the components; the CRD not installed: says so. */
byron_status_t byron_cli_component(byron_cli_kube_t *k, const char *name, json_object **out,
                                   byron_err_t *err);
/* Every ByronComponent of the namespace (the list's items; caller puts). */
byron_status_t byron_cli_components(byron_cli_kube_t *k, json_object **items, byron_err_t *err);

/* A running, ready pod of the component's sink (the first by name): its name
 * into pod. ESTATE when there is none, with what kubectl shows about them. */
byron_status_t byron_cli_sink_pod(byron_cli_kube_t *k, const char *component, char *pod, size_t cap,
                                  byron_err_t *err);

/* The component.json its pods run (ConfigMap <component>-config); caller puts. */
byron_status_t byron_cli_component_config(byron_cli_kube_t *k, const char *component, json_object **config,
                                          char **text, byron_err_t *err);

#endif
