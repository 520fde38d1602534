/* httpd.h — a small HTTP server (libwebsockets) for health, readiness and
 * metrics endpoints.
 *
 * One thread runs the libwebsockets service loop; route handlers are called on
 * that thread and must be quick (read an atomic, render metrics): anything
 * that can block belongs elsewhere. Lifecycle: _new → _route … → _start →
 * _free (stops the thread). */
#ifndef BYRON_HTTPD_H
#define BYRON_HTTPD_H

#include "byron/metrics.h"
#include "byron/status.h"

#include <stddef.h>

typedef struct byron_httpd byron_httpd_t;

typedef struct byron_http_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd by the handler, freed by the server */
    size_t len;
} byron_http_response_t;

/* method: "GET", "POST", ...; path without query string. */
typedef void (*byron_http_handler_fn)(void *ud, const char *method, const char *path,
                                      byron_http_response_t *resp);

typedef struct byron_httpd_options {
    const char *bind_addr; /* NULL: all interfaces */
    int port;              /* 0: pick a free port (see byron_httpd_port) */
} byron_httpd_options_t;

byron_httpd_t *byron_httpd_new(const byron_httpd_options_t *opts, byron_err_t *err);
/* Exact-match route. Call before _start. */
byron_status_t byron_httpd_route(byron_httpd_t *h, const char *path, byron_http_handler_fn fn, void *ud);
byron_status_t byron_httpd_start(byron_httpd_t *h, byron_err_t *err);
int byron_httpd_port(const byron_httpd_t *h);
void byron_httpd_free(byron_httpd_t *h);

/* Handler helpers. */
void byron_http_respond(byron_http_response_t *resp, int status, const char *content_type, const char *body);
/* GET /metrics for a registry (ud = byron_metrics_t*). */
void byron_http_metrics_handler(void *ud, const char *method, const char *path, byron_http_response_t *resp);

#endif
