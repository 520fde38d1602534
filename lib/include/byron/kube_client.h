/* kube_client.h — a Kubernetes REST client on libcurl + json-c.
 *
 * Thread-safe: any thread may call any function. Connections, TLS sessions
 * and DNS are shared through one curl share object, and easy handles are
 * pooled, so a steady stream of requests reuses a few kept-alive
 * connections. Non-2xx answers become a byron_err_t carrying the API
 * server's own Status message ("PATCH /apis/...: 422 Invalid: spec.x: ...").
 *
 * Status mapping: 400/422 → EINVAL, 401/403 → EREJECTED, 404 → ENOTFOUND,
 * 409 → ECONFLICT, 410 Gone → ESTATE, 429/5xx and transport errors →
 * EUNAVAILABLE. */
#ifndef BYRON_KUBE_CLIENT_H
#define BYRON_KUBE_CLIENT_H

#include "byron/kubeconfig.h"
#include "byron/metrics.h"
#include "byron/status.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct byron_kube_client byron_kube_client_t;

/* Takes ownership of cfg (freed by _free, also on failure). */
byron_kube_client_t *byron_kube_client_new(byron_kube_config_t *cfg, byron_err_t *err);
void byron_kube_client_free(byron_kube_client_t *c);
const byron_kube_config_t *byron_kube_client_config(const byron_kube_client_t *c);
/* The User-Agent of every request (default "byron-operator/<version>"):
 * the API server's audit log names the program. Call before any request. */
void byron_kube_client_set_user_agent(byron_kube_client_t *c, const char *user_agent);
/* Count requests in rest_client_requests_total{code,method} (optional). */
void byron_kube_client_set_metrics(byron_kube_client_t *c, byron_metrics_t *m);

typedef struct byron_kube_response {
    long code;  /* HTTP status */
    char *body; /* NUL-terminated; caller frees via _cleanup */
    size_t len;
} byron_kube_response_t;
void byron_kube_response_cleanup(byron_kube_response_t *r);

/* One request. Returns non-OK only for transport failures; HTTP errors are
 * in resp->code. path starts with "/" and may carry a query string. */
byron_status_t byron_kube_request(byron_kube_client_t *c, const char *method, const char *path,
                                  const char *content_type, const char *body, byron_kube_response_t *resp,
                                  byron_err_t *err);

/* A request whose 2xx answer is parsed into *out (caller puts; out may be
 * NULL to discard). Non-2xx becomes an error as mapped above. */
byron_status_t byron_kube_do(byron_kube_client_t *c, const char *method, const char *path,
                             const char *content_type, json_object *body, json_object **out,
                             byron_err_t *err);

/* Server-side apply of obj (fieldManager=BYRON_KUBE_FIELD_MANAGER, force=true)
 * at path (the object's own URL). *out gets the object as stored (may be NULL). */
#define BYRON_KUBE_FIELD_MANAGER "byron-operator"
byron_status_t byron_kube_apply(byron_kube_client_t *c, const char *path, json_object *obj, json_object **out,
                                byron_err_t *err);

/* Streaming GET (watch): line_fn gets each newline-terminated line; a
 * non-zero return aborts. Returns when the server ends the stream, on error,
 * or soon after *stop becomes non-zero (ESTATE). timeout_s bounds the whole
 * transfer. *http_code gets the status; a non-2xx body goes to err. */
typedef int (*byron_kube_line_fn)(void *ud, char *line, size_t len);
byron_status_t byron_kube_stream(byron_kube_client_t *c, const char *path, long timeout_s,
                                 byron_kube_line_fn line_fn, void *ud, const atomic_int *stop,
                                 long *http_code, byron_err_t *err);

/* For a protocol this client does not speak itself (kube_exec.c's WebSocket):
 * a curl handle connected (TCP and TLS with the client's credentials:
 * CURLOPT_CONNECT_ONLY) to the API server for path, and the request header
 * lines the client would send ("Host: ...\r\nAuthorization: ...\r\n") into
 * headers. The caller speaks over curl_easy_send/curl_easy_recv and cleans
 * the handle up. EUNAVAILABLE when the server cannot be reached. */
struct Curl_easy *byron_kube_client_connect(byron_kube_client_t *c, const char *path, char *headers,
                                            size_t cap, byron_err_t *err);

/* The human message of an API Status body ("" if none) into err, mapped. */
byron_status_t byron_kube_status_error(long code, const char *method, const char *path, const char *body,
                                       byron_err_t *err);

/* Percent-encode s for a query string into buf. */
void byron_kube_urlencode(const char *s, char *buf, size_t n);

/* RFC 3339 UTC time, seconds ("2026-11-26T06:44:17Z") or micro ("...17.123456Z"). */
void byron_kube_time_now(char *buf, size_t n, int micro);

#endif
