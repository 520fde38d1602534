/* main.c — byron-sidecar: settings, wiring, health, the order things start and stop.
 *
 * Threads (docs/sidecar.md): the HTTP service thread (libwebsockets, TCP port
 * + the sidecar's Unix socket), N workers (commands, cache reads, app calls),
 * the health thread (readiness, stream set-up), cnats' own threads, and this
 * one, which waits for SIGTERM/SIGINT and then drains.
 *
 * Process-wide initialisation lives here and only here: curl_global_init,
 * mongoc_init (Debian's libmongoc already ran it from a constructor before
 * main; calling it again is a no-op, and keeps a build without that
 * constructor correct), nats (implicitly opened, closed at exit). Every flag
 * and variable is read by settings.c. */
#include "admin.h"
#include "auth.h"
#include "byron/log.h"
#include "command_relay.h"
#include "commands.h"
#include "component_schema.h"
#include "gqlapi_endpoint.h"
#include "server.h"
#include "settings.h"
#include "sidecar.h"
#include "sink.h"
#include "verify.h"

#include <curl/curl.h>
#include <errno.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* libmongoc logs through here, as JSON lines; info and below are dropped. */
static void mongoc_log_to_json(mongoc_log_level_t level, const char *domain, const char *message, void *ud) {
    (void)ud;
    if (level > MONGOC_LOG_LEVEL_WARNING) return;
    if (strstr(message, "endSessions")) return; /* FerretDB has no sessions: harmless at shutdown */
    byron_log(level <= MONGOC_LOG_LEVEL_CRITICAL ? BYRON_LOG_ERROR : BYRON_LOG_WARN, "mongoc", "domain",
              domain, "detail", message, (char *)NULL);
}

/* cnats' mutexes block at once instead of spinning on trylock first (its
 * default, 2000 tries): with eight workers and cnats' reader thread on two
 * cores, a spinning waiter burns the core the holder needs. Measured with
 * bench_sidecar_commands at c=64: -24 % CPU per command, +24 % commands/s
 * (docs/benchmarks.md, "Commands"). The spin count decides only how a waiter
 * waits, never which locks cnats takes or in which order. */
static void process_init(void) {
    nats_Open(0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mongoc_init();
    mongoc_log_set_handler(mongoc_log_to_json, NULL);
}

/* cnats' close, out of line: a frame of its own, so that a TSan report shows
 * the call site in process_cleanup (TSan's stacks name the callers of
 * instrumented functions; cnats is not instrumented). */
__attribute__((noinline)) static void nats_library_close(void) { nats_CloseAndWait(2000); }

/* At exit, alone: every connection is destroyed and every other thread joined.
 * cmake/tsan.supp names this function: cnats' close takes two of its locks in
 * the order opposite to a subscription's creation, and the two never overlap. */
__attribute__((noinline)) static void process_cleanup(void) {
    nats_library_close();
    mongoc_cleanup();
    curl_global_cleanup();
}

typedef struct {
    byron_sidecar_t *sc;
    atomic_int stop;
    atomic_int lost; /* the NATS connection closed for good: serve exits 1 */
} health_ctx_t;

static void set_check(byron_health_t *h, int *ok, char *buf, int now_ok, const char *msg, const char *what) {
    pthread_mutex_lock(&h->lock);
    int was = *ok, first_reason = !now_ok && !buf[0];
    *ok = now_ok;
    if (snprintf(buf, 256, "%s", now_ok ? "" : msg) >= 256) buf[255] = '\0'; /* keep the start */
    pthread_mutex_unlock(&h->lock);
    /* A change, and why a dependency is not ready from the start (the
     * reason may change while it stays down: /readyz has the latest). */
    if (was != now_ok || first_reason)
        byron_log(now_ok ? BYRON_LOG_INFO : BYRON_LOG_WARN,
                  now_ok ? "dependency ready" : "dependency not ready", "dependency", what, "error",
                  now_ok ? "" : msg, (char *)NULL);
}

/* Readiness of NATS (and the stream), MongoDB and the app, every second. */
static void *health_thread(void *arg) {
    health_ctx_t *hc = arg;
    byron_sidecar_t *sc = hc->sc;
    while (!atomic_load(&hc->stop)) {
        byron_err_t err = {0};
        int ok = byron_stream_connection(sc->stream, &err) == BYRON_OK;
        if (ok && !byron_stream_ready(sc->stream)) ok = byron_stream_ensure(sc->stream, &err) == BYRON_OK;
        set_check(&sc->health, &sc->health.nats_ok, sc->health.nats_err, ok, err.msg, "nats");
        if (byron_stream_lost(sc->stream) && !atomic_exchange(&hc->lost, 1)) {
            byron_log(BYRON_LOG_ERROR,
                      "NATS closed the connection for good; exiting so that the pod restarts", "error",
                      err.msg, (char *)NULL);
            kill(getpid(), SIGTERM); /* serve's sigwait: drain, stop, exit 1 */
        }
        byron_err_clear(&err);
        ok = byron_cache_ping(sc->cache, &err) == BYRON_OK;
        set_check(&sc->health, &sc->health.mongo_ok, sc->health.mongo_err, ok, err.msg, "mongodb");
        if (sc->app) {
            byron_err_clear(&err);
            ok = byron_app_health(sc->app, 1000, &err) == BYRON_OK;
            set_check(&sc->health, &sc->health.app_ok, sc->health.app_err, ok, err.msg, "app");
        }
        for (int i = 0; i < 10 && !atomic_load(&hc->stop); i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* The sink's checks on /readyz (core/sidecar.h knows no mode). */
static void sink_readiness(void *sink, json_object *checks, int *ready) {
    byron_sink_readiness(sink, checks, ready);
}

/* ---- the running sidecar: what starts, in order, and stops in reverse ---- */

typedef struct run {
    const byron_settings_t *s;
    byron_sidecar_t sc;
    byron_server_t *srv;
    byron_gqlapi_t *gql;
    health_ctx_t hc;
    pthread_t health;
    int health_running;
} run_t;

static int api_mode(const run_t *r) { return strcmp(r->s->mode, "api") == 0; }

static byron_status_t start_stream(run_t *r, byron_err_t *err) {
    const byron_component_t *comp = r->sc.component;
    char client_name[160];
    snprintf(client_name, sizeof client_name, "byron-sidecar/%s/%s/%s", comp->namespace_, comp->component,
             r->s->mode);
    /* With NATS users (a credentials file) the operator owns the streams. */
    byron_stream_options_t so = {.url = r->s->nats_url,
                                 .client_name = client_name,
                                 .replicas = r->s->stream_replicas,
                                 .max_bytes = r->s->stream_max_bytes,
                                 .verify_only = byron_nats_settings_have_user(&r->s->nats),
                                 .request_timeout_ms = 5000,
                                 .nats = &r->s->nats};
    return (r->sc.stream = byron_stream_new(comp, &so, err)) ? BYRON_OK : err->code;
}
static void stop_stream(run_t *r) { byron_stream_free(r->sc.stream); }

static byron_status_t start_cache(run_t *r, byron_err_t *err) {
    r->sc.cache = byron_cache_new(r->sc.component, r->s->mongo_uri, r->s->workers + 2, err);
    return r->sc.cache ? BYRON_OK : err->code;
}
static void stop_cache(run_t *r) { byron_cache_free(r->sc.cache); }

static byron_status_t start_app(run_t *r, byron_err_t *err) {
    if (!r->s->app_socket) return BYRON_OK;
    r->sc.app = byron_app_new(r->s->app_socket, r->s->app_timeout_ms, r->sc.metrics, err);
    return r->sc.app ? BYRON_OK : err->code;
}
static void stop_app(run_t *r) { byron_app_free(r->sc.app); }

/* api mode: commands and the callers' identity. */
static byron_status_t start_commands(run_t *r, byron_err_t *err) {
    if (!api_mode(r)) return BYRON_OK;
    byron_commands_options_t co = {.component = r->sc.component,
                                   .stream = r->sc.stream,
                                   .cache = r->sc.cache,
                                   .app = r->sc.app,
                                   .metrics = r->sc.metrics,
                                   .max_attempts = r->s->max_attempts,
                                   .state_wait_ms = r->s->state_wait_ms,
                                   .app_timeout_ms = r->s->app_timeout_ms};
    if (!(r->sc.commands = byron_commands_new(&co, err))) return err->code;
    byron_auth_options_t ao = {.settings = byron_access_settings(r->sc.component->access),
                               .keys_file = r->s->jwks_file,
                               .min_refresh_ms = r->s->jwks_min_refresh_ms,
                               .metrics = r->sc.metrics};
    return (r->sc.auth = byron_auth_new(&ao, err)) ? BYRON_OK : err->code;
}
static void stop_commands(run_t *r) {
    byron_auth_free(r->sc.auth);
    byron_commands_free(r->sc.commands);
}

/* sink mode: the lanes, made (no thread yet); freed after the server (its
 * readiness reads them), before the stream and the cache they use. */
static byron_status_t start_sink(run_t *r, byron_err_t *err) {
    if (api_mode(r)) return BYRON_OK;
    byron_sink_options_t ko = r->s->sink;
    ko.component = r->sc.component;
    ko.stream = r->sc.stream;
    ko.cache = r->sc.cache;
    ko.app = r->sc.app;
    ko.metrics = r->sc.metrics;
    if (!(r->sc.sink = byron_sink_new(&ko, err))) return err->code;
    r->sc.mode_readiness = sink_readiness;
    r->sc.mode_readiness_arg = r->sc.sink;
    return BYRON_OK;
}
static void stop_sink(run_t *r) { byron_sink_free(r->sc.sink); }

/* sink mode: the lanes run once what they report to (/readyz) is up; they
 * stop (settling the events in hand) while it still answers: a stopped sink
 * is still read, only freed later. */
static byron_status_t start_lanes(run_t *r, byron_err_t *err) {
    return r->sc.sink ? byron_sink_start(r->sc.sink, err) : BYRON_OK;
}
static void stop_lanes(run_t *r) { byron_sink_stop(r->sc.sink); }

/* Freed after the server: a request its thread read just before `draining`
 * is answered "shutting down" by the stopped pool, not by a freed one. */
static byron_status_t start_pool(run_t *r, byron_err_t *err) {
    if (!(r->sc.pool = byron_workpool_new(r->s->workers, r->s->queue, r->sc.metrics, err))) return err->code;
    return byron_workpool_start(r->sc.pool, err);
}
static void stop_pool(run_t *r) { byron_workpool_free(r->sc.pool); }

/* api mode: run the commands a sink's app sends (command_relay.h); stopped
 * before the pool, so that relayed commands stop reaching it. */
static byron_status_t start_relay(run_t *r, byron_err_t *err) {
    return r->sc.commands ? byron_command_relay_serve(&r->sc, err) : BYRON_OK;
}
static void stop_relay(run_t *r) { byron_stream_unserve(r->sc.stream); }

/* api mode: the GraphQL API on /graphql (HTTP and WebSocket). Stopped after
 * the server: its last callbacks queue work for the ws workers. */
static byron_status_t start_graphql(run_t *r, byron_err_t *err) {
    if (!r->sc.commands) return BYRON_OK;
    if (!(r->gql = byron_gqlapi_new(&r->sc, &r->s->graphql, err))) return err->code;
    return byron_gqlapi_start(r->gql, err);
}
static void stop_graphql(run_t *r) {
    byron_gqlapi_stop(r->gql);
    byron_gqlapi_free(r->gql);
}

/* libwebsockets sizes its fd tables by the open-files limit and zeroes them,
 * 16 bytes per fd: 16 MiB of RSS at the 1,048,576 many container runtimes
 * give. The soft limit comes down to --max-open-files (never up). */
static byron_status_t bound_open_files(rlim_t max, byron_err_t *err) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return byron_err_set(err, BYRON_EIO, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_cur <= max) return BYRON_OK;
    rl.rlim_cur = max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return byron_err_set(err, BYRON_EIO, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)max,
                             strerror(errno));
    return BYRON_OK;
}

/* The sidecar's socket is served before the app is up: the app may call it while starting. */
static byron_status_t start_server(run_t *r, byron_err_t *err) {
    const byron_settings_t *s = r->s;
    if (bound_open_files((rlim_t)s->max_open_files, err) != BYRON_OK) return err->code;
    byron_server_options_t so = {.bind_addr = s->bind,
                                 .port = s->http_port,
                                 .unix_path = s->sidecar_socket,
                                 .admin_port = s->admin_port,
                                 .rest_tcp = s->rest_tcp,
                                 .max_inflight_bytes = (size_t)s->max_inflight_mib << 20,
                                 .max_conns_per_client = (unsigned)s->max_client_conns,
                                 .max_fds = (size_t)s->max_open_files};
    byron_server_mount_t mounts[2];
    if (r->gql) {
        so.nmounts = byron_gqlapi_mounts(r->gql, mounts);
        so.mounts = mounts;
        so.ws_protocol = byron_gqlapi_ws_protocol(r->gql);
    }
    return (r->srv = byron_server_new(&r->sc, &so, err)) ? BYRON_OK : err->code;
}
static void stop_server(run_t *r) { byron_server_free(r->srv); }

/* Nothing to start; stopped while the server still runs: the pool finishes
 * what it holds and joins, the ws workers stop waking the server's loop. */
static byron_status_t start_quiesce(run_t *r, byron_err_t *err) {
    (void)r;
    (void)err;
    return BYRON_OK;
}
static void stop_quiesce(run_t *r) {
    byron_workpool_stop(r->sc.pool);
    byron_gqlapi_request_stop(r->gql);
}

static byron_status_t start_health(run_t *r, byron_err_t *err) {
    r->hc.sc = &r->sc;
    if (pthread_create(&r->health, NULL, health_thread, &r->hc) != 0)
        return byron_err_set(err, BYRON_EIO, "cannot start the health thread");
    r->health_running = 1;
    return BYRON_OK;
}
static void stop_health(run_t *r) {
    atomic_store(&r->hc.stop, 1);
    if (r->health_running) pthread_join(r->health, NULL);
}

typedef struct {
    byron_status_t (*start)(run_t *, byron_err_t *);
    void (*stop)(run_t *);
} step_t;

static const step_t STEPS[] = {
    {start_stream, stop_stream},     {start_cache, stop_cache},     {start_app, stop_app},
    {start_commands, stop_commands}, {start_sink, stop_sink},       {start_pool, stop_pool},
    {start_relay, stop_relay},       {start_graphql, stop_graphql}, {start_server, stop_server},
    {start_lanes, stop_lanes},       {start_quiesce, stop_quiesce}, {start_health, stop_health},
};
#define NSTEPS (sizeof STEPS / sizeof STEPS[0])

/* Starts the steps in order until one refuses; returns how many stop_all
 * must stop: the refused one too (its stop undoes what it did start: every
 * stop takes a part that is absent or half-made). *ok: all started. */
static size_t start_all(run_t *r, int *ok, byron_err_t *err) {
    size_t n = 0;
    while (n < NSTEPS && STEPS[n].start(r, err) == BYRON_OK) n++;
    *ok = n == NSTEPS;
    if (*ok) return n;
    byron_err_t why = {0};
    if (r->sc.stream && byron_stream_lost(r->sc.stream) &&
        byron_stream_connection(r->sc.stream, &why) != BYRON_OK)
        byron_err_prefix(err, "%s; then",
                         why.msg); /* NATS closed it for good: the cause, say what it knows */
    byron_log(BYRON_LOG_ERROR, "cannot start", "error", err->msg, (char *)NULL);
    fprintf(stderr, "byron-sidecar: %s\n", err->msg);
    return n + 1;
}

static void stop_all(run_t *r, size_t started) {
    while (started > 0) STEPS[--started].stop(r);
}

static void log_started(const run_t *r) {
    const byron_component_t *comp = r->sc.component;
    const byron_settings_t *s = r->s;
    char port[16], admin[16];
    snprintf(port, sizeof port, "%d", byron_server_port(r->srv));
    snprintf(admin, sizeof admin, "%d", byron_server_admin_port(r->srv));
    byron_log(BYRON_LOG_INFO, "started", "version", BYRON_VERSION, "mode", s->mode, "component",
              comp->component, "namespace", comp->namespace_, "stream", comp->stream, "http_port", port,
              "admin_port", admin, "sidecar_socket", s->sidecar_socket ? s->sidecar_socket : "", "app_socket",
              s->app_socket ? s->app_socket : "", "cache_database", byron_cache_database(r->sc.cache),
              (char *)NULL);
}

/* SIGTERM: refuse new work, let queued and running work finish and be answered. */
static void drain(run_t *r) {
    atomic_store(&r->sc.draining, 1);
    byron_gqlapi_drain(r->gql, 1000); /* WebSocket clients: 1001, reconnect elsewhere */
    byron_workpool_stop(r->sc.pool);
    for (int i = 0; i < 100 && byron_server_inflight(r->srv) > 0; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 100 * 1000000L}; /* let the last answers reach their sockets */
    nanosleep(&ts, NULL);
}

/* api or sink mode until SIGTERM or SIGINT. */
static int serve(const byron_settings_t *s, byron_component_t *comp) {
    /* Signals are handled by this thread only (sigwait below): block them
     * before any thread starts, so every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    process_init();
    run_t r = {.s = s};
    pthread_mutex_init(&r.sc.health.lock, NULL);
    r.sc.mode = s->mode;
    r.sc.component = comp;
    r.sc.metrics = byron_metrics_new();
    byron_err_t err = {0};
    int ok = 0;
    size_t started = start_all(&r, &ok, &err);
    int rc = ok ? 0 : 1;
    if (!rc) {
        log_started(&r);
        int sig = 0;
        sigwait(&sigs, &sig);
        if (atomic_load(&r.hc.lost)) rc = 1; /* not a signal from outside: the pod restarts */
        byron_log(BYRON_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                  (char *)NULL);
        drain(&r);
    }
    stop_all(&r, started);
    byron_metrics_free(r.sc.metrics);
    pthread_mutex_destroy(&r.sc.health.lock);
    process_cleanup();
    if (ok) byron_log(BYRON_LOG_INFO, "stopped", (char *)NULL);
    return rc;
}

/* --print-schema: exactly the start-up checks of both modes, then the SDL. */
static int print_schema(const char *config) {
    byron_err_t err = {0};
    byron_component_t *checked = NULL;
    byron_graphql_schema_t *schema = NULL;
    if (byron_component_load(config, &checked, &err) != BYRON_OK) { /* the message names the file */
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        return 2;
    }
    if (byron_component_schema(checked, &schema, &err) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s: %s\n", config, err.msg);
        byron_component_free(checked);
        return 2;
    }
    char *sdl = byron_graphql_schema_print(schema);
    fputs(sdl ? sdl : "", stdout);
    free(sdl);
    byron_graphql_schema_free(schema);
    byron_component_free(checked);
    return sdl ? 0 : 1;
}

/* admin and verify: one-shot operations (kubectl byron, the fold checker), not a server. */
static int run_oneshot(byron_settings_t *s, const char *mode) {
    int admin = strcmp(mode, "admin") == 0;
    byron_log_setup(mode, (byron_log_level_t)s->log_level, 2);
    process_init();
    int rc = admin ? byron_admin_main(&s->admin) : byron_verify_main(&s->verify);
    process_cleanup();
    return rc;
}

int main(int argc, char **argv) {
    const char *mode = byron_settings_mode(argc, argv);
    int oneshot = mode && (!strcmp(mode, "admin") || !strcmp(mode, "verify"));
    byron_settings_t s;
    int rc = byron_settings_parse(&s, mode, argc, argv, stdout, stderr);
    if (rc) return rc == 1 ? 0 : 2; /* admin and verify: 2 is their bad usage too */
    if (oneshot) return run_oneshot(&s, mode);
    byron_log_setup("sidecar", (byron_log_level_t)s.log_level, 2);
    if (s.print_schema) return print_schema(s.config);
    byron_component_t *comp = NULL;
    byron_err_t err = {0};
    if (byron_component_load(s.config, &comp, &err) != BYRON_OK) {
        byron_log(BYRON_LOG_ERROR, "invalid component config", "error", err.msg, (char *)NULL);
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        return 2;
    }
    rc = serve(&s, comp);
    byron_component_free(comp);
    return rc;
}
