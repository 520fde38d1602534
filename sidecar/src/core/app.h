/* app.h — the sidecar's client for the team's app (docs/app-protocol.md):
 * HTTP/1.1 + JSON over the app's Unix socket, with libcurl.
 *
 * Calls are blocking and belong on worker threads. Each calling thread gets
 * its own curl easy handle (kept alive: one connection per thread), created on
 * first use; all of them are freed by byron_app_free, after the threads that
 * used them have stopped. Every call has a timeout; every outcome is counted in
 * byron_sidecar_app_calls_total{hook,outcome}.
 *
 * An app may declare the hooks it serves (GET /v1/hooks, app_hooks.h): read
 * before the first call through a socket not seen before — the socket file's
 * identity, checked on every call, tells when the app has started again —
 * after which a call to a path the declaration leaves out is not made. A read
 * the app does not answer fails the call (unavailable, timeout). */
#ifndef BYRON_SIDECAR_APP_H
#define BYRON_SIDECAR_APP_H

#include "byron/metrics.h"
#include "byron/status.h"

#include <json-c/json.h>

#define BYRON_APP_MAX_RESPONSE (1u << 20)

typedef struct byron_app byron_app_t;

/* socket_path: the app's socket; timeout_ms: the default per-call timeout. */
byron_app_t *byron_app_new(const char *socket_path, int timeout_ms, byron_metrics_t *metrics,
                           byron_err_t *err);
void byron_app_free(byron_app_t *app);
const char *byron_app_socket(const byron_app_t *app);

/* POST body (JSON) to path ("/v1/commands/createOrder/before"); hook labels the
 * metric ("before", "after", "command"). timeout_ms 0: the default.
 *   BYRON_OK          2xx or 422 with a JSON object: *resp (caller puts), *status set
 *   BYRON_ENOTFOUND   404: the app does not implement this path (no hook); or
 *                     its declaration leaves the path out (no call made)
 *   BYRON_ETIMEDOUT   no complete answer within the timeout
 *   BYRON_EUNAVAILABLE the socket does not accept connections
 *   BYRON_EPROTO      anything else: other status, not JSON, too large */
byron_status_t byron_app_post(byron_app_t *app, const char *hook, const char *path, json_object *body,
                              const char *traceparent, int timeout_ms, json_object **resp, long *status,
                              byron_err_t *err);

/* GET /v1/health within timeout_ms: BYRON_OK when the app answers 2xx. */
byron_status_t byron_app_health(byron_app_t *app, int timeout_ms, byron_err_t *err);

#endif
