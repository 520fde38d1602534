/* kubeconfig.h — where the API server is and who we are to it.
 *
 * Two sources, as client-go has them: a kubeconfig file (clusters, users,
 * contexts, current-context; file paths resolved against the file's
 * directory; *-data fields base64) and the in-cluster service account
 * (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount).
 * Credentials end up in memory as PEM bytes, so the client hands them to curl
 * as blobs whatever their origin. A bearer token read from a file keeps the
 * path: the client re-reads it when the file changes (projected service
 * account tokens rotate). */
#ifndef BYRON_KUBECONFIG_H
#define BYRON_KUBECONFIG_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>

typedef struct byron_kube_config {
    char *server; /* "https://host:port", no trailing slash */
    char *ca_pem; /* NULL: system trust store */
    size_t ca_len;
    char *cert_pem; /* client certificate, NULL when none */
    size_t cert_len;
    char *key_pem;
    size_t key_len;
    char *token;      /* static bearer token, or the token file's content */
    char *token_file; /* re-read on change; NULL for a static token */
    int insecure;     /* insecure-skip-tls-verify */
    char *namespace;  /* the context's namespace, NULL when none */
} byron_kube_config_t;

/* Parse a kubeconfig document. context: NULL for current-context. base_dir:
 * directory relative file paths are resolved against. Caller frees *out. */
byron_status_t byron_kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context,
                                      byron_kube_config_t **out, byron_err_t *err);
/* Load a kubeconfig file (path NULL: $KUBECONFIG, then ~/.kube/config). A
 * KUBECONFIG holding a list (a:b) is merged as kubectl merges it: the first
 * file to set current-context wins it, entries are taken by name, the first
 * file's winning; missing files are skipped. */
byron_status_t byron_kubeconfig_load(const char *path, const char *context, byron_kube_config_t **out,
                                     byron_err_t *err);
/* Service-account credentials of the pod we run in. root: NULL for
 * /var/run/secrets/kubernetes.io/serviceaccount (tests pass a directory). */
byron_status_t byron_kubeconfig_in_cluster(const char *root, byron_kube_config_t **out, byron_err_t *err);
void byron_kubeconfig_free(byron_kube_config_t *c);

#endif
