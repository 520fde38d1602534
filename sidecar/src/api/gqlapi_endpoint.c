/* gqlapi_endpoint.c — /graphql over HTTP and the SDL, on the server's worker pool.
 *
 * The engine's HTTP handler (byron_graphql_http_handle) does the protocol:
 * methods, media types, status codes, limits. This file feeds it one request
 * at a time on a worker, with a per-request resolver context carrying the
 * Idempotency-Key and traceparent headers. Its settings come parsed
 * (settings.h); byron_gqlapi_options_init holds their defaults. */
#include "gqlapi_endpoint.h"

#include "auth.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "component_schema.h"
#include "gqlapi_resolvers.h"
#include "gqlapi_subscriptions.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_gqlapi {
    byron_sidecar_t *sc;
    byron_graphql_schema_t *schema;
    byron_gqlapi_options_t opts;
    char *sdl;
    size_t sdl_len;
    byron_gqlapi_subs_t *subs;
    byron_metric_t *requests, *duration;  /* NULL without metrics */
    byron_metric_t *documents;            /* document cache lookups, by outcome */
    byron_graphql_doc_cache_t *doc_cache; /* NULL: every document parsed and validated */
};

/* ------------------------------------------------------------------ options */

void byron_gqlapi_options_init(byron_gqlapi_options_t *o) {
    memset(o, 0, sizeof *o);
    byron_graphql_limits_init(&o->limits);
    o->max_body_bytes = 1u << 20;
    o->max_response_bytes = 8u << 20;
    o->document_cache_bytes = 2u << 20;
    o->max_subscriptions = 100;
    o->max_connections = 1000;
    o->ws_queue = 1024;
    o->ws_queue_bytes = 8u << 20;
    o->max_replica_subscriptions = 10000;
    o->ws_init_timeout_ms = 10000;
    o->ws_workers = 2;
}

/* ------------------------------------------------------------------ HTTP */

static void http_graphql(void *ud, const byron_server_request_t *req, byron_server_reply_t *rep) {
    byron_gqlapi_t *api = ud;
    double started = byron_clock_mono_s();
    byron_gqlapi_request_t rctx;
    byron_gqlapi_request_init(&rctx, api->sc, req->idempotency_key, req->traceparent);
    rctx.wait_projected = req->consistency && strcmp(req->consistency, "projected") == 0;
    if (req->principal) rctx.principal = req->principal;
    byron_graphql_http_options_t o = {.max_body_bytes = api->opts.max_body_bytes,
                                      .resolve = byron_gqlapi_resolve,
                                      .ctx = &rctx,
                                      .limits = &api->opts.limits,
                                      .authorize = byron_gqlapi_authorize,
                                      .doc_cache = api->doc_cache,
                                      .max_data_bytes = api->opts.max_response_bytes};
    byron_graphql_http_response_t r;
    byron_graphql_http_handle(api->schema, &o, req->method, req->content_type[0] ? req->content_type : NULL,
                              req->accept[0] ? req->accept : NULL, req->query, req->body ? req->body : "",
                              req->body ? req->len : 0, &r);
    byron_gqlapi_request_cleanup(&rctx);
    rep->status = r.status;
    snprintf(rep->content_type, sizeof rep->content_type, "%s", r.content_type);
    snprintf(rep->allow, sizeof rep->allow, "%s", r.allow);
    if (rep->status == 401) byron_auth_challenge(NULL, rep->challenge, sizeof rep->challenge);
    if (r.body_len > api->opts.max_response_bytes) {
        /* `data` stopped at the bound (RESPONSE_TOO_LARGE from the engine); what is still over it
         * is errors: built, never sent — the client asks for less. */
        char msg[256];
        snprintf(
            msg, sizeof msg,
            "{\"errors\":[{\"message\":\"The response would be %zu bytes, more than the %zu allowed; ask for "
            "fewer fields or a smaller page.\",\"extensions\":{\"code\":\"RESPONSE_TOO_LARGE\"}}]}",
            r.body_len, api->opts.max_response_bytes);
        free(r.body);
        r.body = strdup(msg);
        r.body_len = r.body ? strlen(r.body) : 0;
        rep->status = 400;
    }
    rep->body = r.body; /* handed over to the server */
    rep->len = r.body_len;
    r.body = NULL;
    byron_graphql_http_response_cleanup(&r);
    if (api->requests) {
        char status[8];
        snprintf(status, sizeof status, "%d", rep->status);
        const char *labels[] = {status};
        byron_metric_add(api->requests, labels, 1);
        byron_metric_observe(api->duration, NULL, byron_clock_mono_s() - started);
        if (r.doc_cache != BYRON_GRAPHQL_DOC_CACHE_UNUSED) {
            const char *outcome[] = {r.doc_cache == BYRON_GRAPHQL_DOC_CACHE_HIT ? "hit" : "miss"};
            byron_metric_add(api->documents, outcome, 1);
        }
    }
}

/* GET /graphql/schema.graphql: the SDL, for code generators. */
static void http_sdl(void *ud, const byron_server_request_t *req, byron_server_reply_t *rep) {
    byron_gqlapi_t *api = ud;
    if (strcmp(req->method, "GET") != 0) {
        rep->status = 405;
        snprintf(rep->allow, sizeof rep->allow, "GET");
        snprintf(rep->content_type, sizeof rep->content_type, "text/plain; charset=utf-8");
        rep->body = strdup("only GET\n");
        rep->len = rep->body ? strlen(rep->body) : 0;
        return;
    }
    rep->status = 200;
    snprintf(rep->content_type, sizeof rep->content_type, "application/graphql; charset=utf-8");
    rep->body = malloc(api->sdl_len + 1);
    if (rep->body) memcpy(rep->body, api->sdl, api->sdl_len + 1);
    rep->len = rep->body ? api->sdl_len : 0;
}

byron_gqlapi_t *byron_gqlapi_new(byron_sidecar_t *sc, const byron_gqlapi_options_t *o, byron_err_t *err) {
    byron_gqlapi_t *api = calloc(1, sizeof *api);
    if (!api) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    api->sc = sc;
    api->opts = *o;
    if (byron_component_schema(sc->component, &api->schema, err) != BYRON_OK) goto err;
    if (!(api->sdl = byron_graphql_schema_print(api->schema))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    api->sdl_len = strlen(api->sdl);
    if (sc->metrics) {
        static const char *const STATUS[] = {"status", NULL};
        api->requests = byron_metrics_register(
            sc->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_graphql_http_requests_total",
            "GraphQL requests over HTTP, by status code.", STATUS, NULL, 0);
        api->duration = byron_metrics_register(
            sc->metrics, BYRON_METRIC_HISTOGRAM, "byron_sidecar_graphql_http_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP (on a worker).", NULL, NULL, 0);
        static const char *const OUTCOME[] = {"outcome", NULL};
        api->documents = byron_metrics_register(
            sc->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_graphql_documents_total",
            "GraphQL documents of HTTP requests looked up in the document cache: found (hit), parsed (miss).",
            OUTCOME, NULL, 0);
    }
    if (o->document_cache_bytes > 0 && !(api->doc_cache = byron_graphql_doc_cache_new(
                                             BYRON_GQLAPI_DOC_CACHE_ENTRIES, o->document_cache_bytes))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    if (sc->stream && !(api->subs = byron_gqlapi_subs_new(sc, api->schema, &api->opts, err))) goto err;
    return api;
err:
    byron_gqlapi_free(api);
    return NULL;
}

void byron_gqlapi_drain(byron_gqlapi_t *api, int wait_ms) {
    if (api && api->subs) byron_gqlapi_subs_drain(api->subs, wait_ms);
}

byron_status_t byron_gqlapi_start(byron_gqlapi_t *api, byron_err_t *err) {
    return api->subs ? byron_gqlapi_subs_start(api->subs, err) : BYRON_OK;
}

void byron_gqlapi_request_stop(byron_gqlapi_t *api) {
    if (api && api->subs) byron_gqlapi_subs_request_stop(api->subs);
}

void byron_gqlapi_stop(byron_gqlapi_t *api) {
    if (api && api->subs) byron_gqlapi_subs_stop(api->subs);
}

void byron_gqlapi_free(byron_gqlapi_t *api) {
    if (!api) return;
    byron_gqlapi_subs_free(api->subs);
    byron_graphql_doc_cache_free(api->doc_cache);
    byron_graphql_schema_free(api->schema);
    free(api->sdl);
    free(api);
}

size_t byron_gqlapi_mounts(byron_gqlapi_t *api, byron_server_mount_t *mounts) {
    mounts[0] = (byron_server_mount_t){"/graphql", http_graphql, api};
    mounts[1] = (byron_server_mount_t){"/graphql/schema.graphql", http_sdl, api};
    return 2;
}

const struct lws_protocols *byron_gqlapi_ws_protocol(byron_gqlapi_t *api) {
    return api->subs ? byron_gqlapi_subs_protocol(api->subs) : NULL;
}
