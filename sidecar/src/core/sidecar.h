/* sidecar.h — the parts of a running sidecar, wired together by main.c and
 * served by api/server.c. Core knows no mode: the api's commands and the
 * sink are opaque here, and the sink adds its own readiness through a hook. */
#ifndef BYRON_SIDECAR_SIDECAR_H
#define BYRON_SIDECAR_SIDECAR_H

#include "app.h"
#include "byron/metrics.h"
#include "cache.h"
#include "component.h"
#include "stream.h"
#include "workpool.h"

#include <pthread.h>
#include <stdatomic.h>

/* Readiness of each dependency, refreshed by main's health thread; read by /readyz. */
typedef struct byron_health {
    pthread_mutex_t lock;
    int nats_ok, mongo_ok, app_ok;
    char nats_err[256], mongo_err[256], app_err[256];
} byron_health_t;

struct byron_commands; /* api/commands.h */
struct byron_sink;     /* sink/sink.h */

/* Adds a mode's own checks to /readyz: may clear *ready. */
typedef void (*byron_sidecar_readiness_fn)(void *arg, json_object *checks, int *ready);

typedef struct byron_sidecar {
    const char *mode; /* "api" | "sink" */
    const byron_component_t *component;
    byron_metrics_t *metrics;
    byron_stream_t *stream;
    byron_cache_t *cache;
    byron_app_t *app;                          /* NULL: no app */
    struct byron_commands *commands;           /* api mode */
    struct byron_sink *sink;                   /* sink mode: the projection (sink/sink.h) */
    byron_sidecar_readiness_fn mode_readiness; /* NULL: none */
    void *mode_readiness_arg;
    byron_workpool_t *pool;
    struct byron_auth *auth; /* api mode: verifies bearer tokens (auth.h); NULL: every token refused */
    byron_health_t health;
    atomic_int draining; /* SIGTERM: no new work, finish what is in flight */
} byron_sidecar_t;

/* /readyz body; *ready set. Caller puts. */
json_object *byron_sidecar_readiness(byron_sidecar_t *sc, int *ready);

#endif
