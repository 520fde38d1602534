/* main.c — byron-sidecar: flags and environment, wiring, health, shutdown.
 *
 * Threads (docs/sidecar.md): the HTTP service thread (libwebsockets, TCP port
 * + the sidecar's Unix socket), N workers (commands, cache reads, app calls),
 * the health thread (readiness, stream set-up), cnats' own threads, and this
 * one, which waits for SIGTERM/SIGINT and then drains.
 *
 * Process-wide initialisation lives here and only here: curl_global_init,
 * mongoc_init, nats (implicitly opened, closed at exit). */
#include "admin.h"
#include "auth.h"
#include "byron/log.h"
#include "command_relay.h"
#include "commands.h"
#include "component_schema.h"
#include "gqlapi_endpoint.h"
#include "server.h"
#include "sidecar.h"
#include "sink.h"
#include "verify.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct {
    const char *mode, *config, *nats_url, *mongo_uri, *app_socket, *sidecar_socket, *bind;
    int http_port, workers, queue, app_timeout_ms, max_attempts, state_wait_ms, stream_replicas;
    int64_t stream_max_bytes;
    int admin_port, rest_tcp, max_inflight_mib, jwks_min_refresh_ms, max_client_conns;
    const char *jwks_file; /* keys from a mounted Secret instead of the issuer's JWKS */
    int print_schema;
    byron_gqlapi_options_t graphql; /* --graphql-* / BYRON_GRAPHQL_* */
} settings_t;

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v ? v : dflt;
}

static int parse_int(const char *flag, const char *s, int min, int max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "byron-sidecar: %s: \"%s\" is not a number between %d and %d\n", flag, s, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: byron-sidecar --mode=api|sink [options]\n"
        "       byron-sidecar --mode=verify --help   the fold checker (docs/consistency.md)\n"
        "       byron-sidecar --mode=admin --help    status, events, dead letters (docs/cli.md)\n"
        "  --mode M              api or sink (env BYRON_MODE)\n"
        "  --config PATH         component.json (env BYRON_CONFIG, default /etc/byron/component.json)\n"
        "  --nats-url URL        broker (env BYRON_NATS_URL)\n"
        "  --mongo-uri URI       cache (env BYRON_MONGO_URI)\n"
        "  --app-socket PATH     the app's socket (env BYRON_APP_SOCKET; unset or empty: no app)\n"
        "  --sidecar-socket PATH this sidecar's socket for the app (env BYRON_SIDECAR_SOCKET,\n"
        "                        default /var/run/byron/sidecar.sock; empty: none)\n"
        "  --http-port N         the public port: GraphQL (env BYRON_HTTP_PORT, default 8080; 0: any)\n"
        "  --admin-port N        /healthz /readyz /metrics (env BYRON_ADMIN_PORT, default 9090; 0: any;\n"
        "                        -1: none) — keep it out of the Service\n"
        "  --rest-over-tcp       serve /v1/commands, /v1/cache, /v1/meta on the public port too, with the\n"
        "                        same authentication as GraphQL (env BYRON_REST_TCP=1; default: app socket "
        "only)\n"
        "  --max-inflight-mib N  request bodies held at once before 503 (env BYRON_MAX_INFLIGHT_MIB,\n"
        "                        default 64, 1..1024)\n"
        "  --max-client-connections N  public-port connections from one address (env\n"
        "                        BYRON_MAX_CLIENT_CONNECTIONS, default 256, 1..100000)\n"
        "  --auth-jwks-file PATH token keys from this JWK Set file (a mounted Secret) instead of the\n"
        "                        issuer's (env BYRON_AUTH_JWKS_FILE)\n"
        "  --bind ADDR           listen address (env BYRON_BIND, default all interfaces)\n"
        "  --workers N           worker threads (env BYRON_WORKERS, default 8)\n"
        "  --queue N             queued requests before 503 (env BYRON_QUEUE, default 256)\n"
        "  --app-timeout-ms N    per app call (env BYRON_APP_TIMEOUT_MS, default 5000)\n"
        "  --max-attempts N      optimistic-concurrency attempts (env BYRON_MAX_ATTEMPTS, default 10)\n"
        "  --state-wait-ms N     how long a command waits for the cache to reach the aggregate's\n"
        "                        version (env BYRON_STATE_WAIT_MS, default 5000)\n"
        "  --log-level L         debug|info|warn|error (env BYRON_LOG_LEVEL, default info)\n"
        "  --version, --help\n");
    byron_gqlapi_usage(f);
}

static int env_int(const char *name, int dflt, int min, int max, int *out) {
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    return parse_int(name, v, min, max, out);
}

static int env_int64(const char *name, int64_t dflt, int64_t min, int64_t max, int64_t *out) {
    const char *v = getenv(name);
    char *end;
    *out = dflt;
    if (!v || !*v) return 0;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        fprintf(stderr, "byron-sidecar: %s: \"%s\" is not a number between %lld and %lld\n", name, v,
                (long long)min, (long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_settings(int argc, char **argv, settings_t *s, int *level) {
    memset(s, 0, sizeof *s);
    s->mode = getenv("BYRON_MODE");
    s->config = env_or("BYRON_CONFIG", "/etc/byron/component.json");
    s->nats_url = getenv("BYRON_NATS_URL");
    s->mongo_uri = getenv("BYRON_MONGO_URI");
    s->app_socket = getenv("BYRON_APP_SOCKET");
    s->sidecar_socket = env_or("BYRON_SIDECAR_SOCKET", "/var/run/byron/sidecar.sock");
    s->bind = getenv("BYRON_BIND");
    if (env_int("BYRON_HTTP_PORT", 8080, 0, 65535, &s->http_port) ||
        env_int("BYRON_WORKERS", 8, 1, 256, &s->workers) ||
        env_int("BYRON_QUEUE", 256, 1, 100000, &s->queue) ||
        env_int("BYRON_APP_TIMEOUT_MS", 5000, 10, 600000, &s->app_timeout_ms) ||
        env_int("BYRON_MAX_ATTEMPTS", 10, 1, 1000, &s->max_attempts) ||
        env_int("BYRON_STATE_WAIT_MS", 5000, 10, 600000, &s->state_wait_ms) ||
        env_int("BYRON_STREAM_REPLICAS", 1, 1, 5, &s->stream_replicas) ||
        env_int64("BYRON_STREAM_MAX_BYTES", -1, -1, INT64_MAX, &s->stream_max_bytes) ||
        env_int("BYRON_ADMIN_PORT", 9090, -1, 65535, &s->admin_port) ||
        env_int("BYRON_REST_TCP", 0, 0, 1, &s->rest_tcp) ||
        env_int("BYRON_MAX_INFLIGHT_MIB", 64, 1, 1024, &s->max_inflight_mib) ||
        env_int("BYRON_MAX_CLIENT_CONNECTIONS", 256, 1, 100000, &s->max_client_conns) ||
        env_int("BYRON_AUTH_JWKS_MIN_REFRESH_MS", 10000, 100, 3600000, &s->jwks_min_refresh_ms))
        return 2;
    s->jwks_file = getenv("BYRON_AUTH_JWKS_FILE");
    byron_err_t gerr = {0};
    const char *lv = getenv("BYRON_LOG_LEVEL");
    if (lv && *lv && (*level = byron_log_level_parse(lv)) < 0) {
        fprintf(stderr, "byron-sidecar: BYRON_LOG_LEVEL: unknown level \"%s\" (debug, info, warn, error)\n",
                lv);
        return 2;
    }
    /* The sink's settings are checked here too, so that --print-schema checks
     * every setting the environment carries (sink.h). */
    byron_sink_options_t sink_env = {0};
    if (byron_sink_options_from_env(&sink_env, &gerr) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s\n", gerr.msg);
        return 2;
    }
    byron_gqlapi_options_init(&s->graphql);
    if (byron_gqlapi_options_from_env(&s->graphql, &gerr) != BYRON_OK) {
        fprintf(stderr, "byron-sidecar: %s\n", gerr.msg);
        return 2;
    }
    static const struct option base[] = {{"mode", required_argument, NULL, 'm'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"nats-url", required_argument, NULL, 'n'},
                                         {"mongo-uri", required_argument, NULL, 'o'},
                                         {"app-socket", required_argument, NULL, 'a'},
                                         {"sidecar-socket", required_argument, NULL, 's'},
                                         {"http-port", required_argument, NULL, 'p'},
                                         {"bind", required_argument, NULL, 'b'},
                                         {"workers", required_argument, NULL, 'w'},
                                         {"queue", required_argument, NULL, 'q'},
                                         {"app-timeout-ms", required_argument, NULL, 't'},
                                         {"max-attempts", required_argument, NULL, 'x'},
                                         {"state-wait-ms", required_argument, NULL, 'W'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"version", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"print-schema", no_argument, NULL, 'P'},
                                         {"admin-port", required_argument, NULL, 'A'},
                                         {"rest-over-tcp", no_argument, NULL, 'T'},
                                         {"max-inflight-mib", required_argument, NULL, 'I'},
                                         {"max-client-connections", required_argument, NULL, 'C'},
                                         {"auth-jwks-file", required_argument, NULL, 'J'}};
    /* The base options, then one per GraphQL setting (gqlapi_endpoint.c). */
    struct option opts[sizeof base / sizeof base[0] + 32];
    size_t nopts = sizeof base / sizeof base[0];
    memcpy(opts, base, sizeof base);
    for (size_t i = 0; byron_gqlapi_flag_names[i] && nopts + 1 < sizeof opts / sizeof opts[0]; i++)
        opts[nopts++] = (struct option){byron_gqlapi_flag_names[i], required_argument, NULL, 'G'};
    opts[nopts] = (struct option){NULL, 0, NULL, 0};
    int c, li = 0;
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (c) {
        case 'P': s->print_schema = 1; break;
        case 'T': s->rest_tcp = 1; break;
        case 'J': s->jwks_file = optarg; break;
        case 'A':
            if (parse_int("--admin-port", optarg, -1, 65535, &s->admin_port)) return 2;
            break;
        case 'I':
            if (parse_int("--max-inflight-mib", optarg, 1, 1024, &s->max_inflight_mib)) return 2;
            break;
        case 'C':
            if (parse_int("--max-client-connections", optarg, 1, 100000, &s->max_client_conns)) return 2;
            break;
        case 'G':
            if (byron_gqlapi_option_set(&s->graphql, opts[li].name + strlen("graphql-"), optarg, &gerr)) {
                fprintf(stderr, "byron-sidecar: %s\n", gerr.msg);
                return 2;
            }
            break;
        case 'm': s->mode = optarg; break;
        case 'c': s->config = optarg; break;
        case 'n': s->nats_url = optarg; break;
        case 'o': s->mongo_uri = optarg; break;
        case 'a': s->app_socket = optarg; break;
        case 's': s->sidecar_socket = optarg; break;
        case 'b': s->bind = optarg; break;
        case 'p':
            if (parse_int("--http-port", optarg, 0, 65535, &s->http_port)) return 2;
            break;
        case 'w':
            if (parse_int("--workers", optarg, 1, 256, &s->workers)) return 2;
            break;
        case 'q':
            if (parse_int("--queue", optarg, 1, 100000, &s->queue)) return 2;
            break;
        case 't':
            if (parse_int("--app-timeout-ms", optarg, 10, 600000, &s->app_timeout_ms)) return 2;
            break;
        case 'x':
            if (parse_int("--max-attempts", optarg, 1, 1000, &s->max_attempts)) return 2;
            break;
        case 'W':
            if (parse_int("--state-wait-ms", optarg, 10, 600000, &s->state_wait_ms)) return 2;
            break;
        case 'l':
            if ((*level = byron_log_level_parse(optarg)) < 0) {
                fprintf(stderr, "byron-sidecar: --log-level: unknown level \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'v': printf("byron-sidecar %s\n", BYRON_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (s->print_schema) return 0; /* needs only --config */
    const char *missing = !s->mode                          ? "--mode (or BYRON_MODE)"
                          : !s->nats_url || !*s->nats_url   ? "--nats-url (or BYRON_NATS_URL)"
                          : !s->mongo_uri || !*s->mongo_uri ? "--mongo-uri (or BYRON_MONGO_URI)"
                                                            : NULL;
    if (missing) {
        fprintf(stderr, "byron-sidecar: %s is required\n", missing);
        return 2;
    }
    if (strcmp(s->mode, "api") != 0 && strcmp(s->mode, "sink") != 0) {
        fprintf(stderr, "byron-sidecar: --mode: \"%s\" is not api or sink\n", s->mode);
        return 2;
    }
    if (s->app_socket && !*s->app_socket) s->app_socket = NULL;
    if (s->sidecar_socket && !*s->sidecar_socket) s->sidecar_socket = NULL;
    return 0;
}

typedef struct {
    byron_sidecar_t *sc;
    atomic_int stop;
} health_ctx_t;

static void set_check(byron_health_t *h, int *ok, char *buf, int now_ok, const char *msg, const char *what) {
    pthread_mutex_lock(&h->lock);
    int was = *ok;
    *ok = now_ok;
    if (snprintf(buf, 256, "%s", now_ok ? "" : msg) >= 256) buf[255] = '\0'; /* keep the start */
    pthread_mutex_unlock(&h->lock);
    if (was != now_ok)
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
        int ok = byron_stream_connected(sc->stream);
        if (!ok)
            byron_err_set(&err, BYRON_EUNAVAILABLE, "not connected");
        else if (!byron_stream_ready(sc->stream))
            ok = byron_stream_ensure(sc->stream, &err) == BYRON_OK;
        set_check(&sc->health, &sc->health.nats_ok, sc->health.nats_err, ok, err.msg, "nats");
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

int main(int argc, char **argv) {
    if (byron_admin_requested(argc, argv)) { /* one-shot operations (kubectl byron), not a server */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        mongoc_init();
        mongoc_log_set_handler(mongoc_log_to_json, NULL);
        int arc = byron_admin_main(argc, argv);
        mongoc_cleanup();
        curl_global_cleanup();
        nats_CloseAndWait(2000);
        return arc;
    }
    if (byron_verify_requested(argc, argv)) { /* a one-shot check, not a server */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        mongoc_init();
        mongoc_log_set_handler(mongoc_log_to_json, NULL);
        int vrc = byron_verify_main(argc, argv);
        mongoc_cleanup();
        curl_global_cleanup();
        nats_CloseAndWait(2000);
        return vrc;
    }
    settings_t s;
    int level = BYRON_LOG_INFO;
    int rc = parse_settings(argc, argv, &s, &level);
    if (rc) return rc == 1 ? 0 : 2;
    byron_log_setup("sidecar", (byron_log_level_t)level, 2);

    byron_err_t err = {0};
    if (s.print_schema) { /* exactly the start-up checks of both modes, then the SDL */
        byron_component_t *checked = NULL;
        byron_graphql_schema_t *schema = NULL;
        if (byron_component_load(s.config, &checked, &err) != BYRON_OK) { /* the message names the file */
            fprintf(stderr, "byron-sidecar: %s\n", err.msg);
            return 2;
        }
        if (byron_component_schema(checked, &schema, &err) != BYRON_OK) {
            fprintf(stderr, "byron-sidecar: %s: %s\n", s.config, err.msg);
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
    byron_component_t *comp = NULL;
    if (byron_component_load(s.config, &comp, &err) != BYRON_OK) {
        byron_log(BYRON_LOG_ERROR, "invalid component config", "error", err.msg, (char *)NULL);
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
        return 2;
    }

    /* Signals are handled by this thread only (sigwait below): block them
     * before any thread starts, so every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    mongoc_init();
    mongoc_log_set_handler(mongoc_log_to_json, NULL);

    byron_sidecar_t sc;
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.health.lock, NULL);
    sc.mode = s.mode;
    sc.component = comp;
    sc.metrics = byron_metrics_new();
    byron_server_t *srv = NULL;
    byron_gqlapi_t *gql = NULL;
    pthread_t health;
    health_ctx_t hc = {.sc = &sc};
    int health_started = 0;
    rc = 1;
    char client_name[160];
    snprintf(client_name, sizeof client_name, "byron-sidecar/%s/%s/%s", comp->namespace_, comp->component,
             s.mode);
    /* With NATS users (a credentials file) the operator owns the streams. */
    byron_stream_options_t so = {.url = s.nats_url,
                                 .client_name = client_name,
                                 .replicas = s.stream_replicas,
                                 .max_bytes = s.stream_max_bytes,
                                 .verify_only = getenv("BYRON_NATS_CREDS") && *getenv("BYRON_NATS_CREDS"),
                                 .request_timeout_ms = 5000};
    if (!(sc.stream = byron_stream_new(comp, &so, &err))) goto out;
    if (!(sc.cache = byron_cache_new(comp, s.mongo_uri, s.workers + 2, &err))) goto out;
    if (s.app_socket && !(sc.app = byron_app_new(s.app_socket, s.app_timeout_ms, sc.metrics, &err))) goto out;
    if (strcmp(s.mode, "api") == 0) {
        byron_commands_options_t co = {.component = comp,
                                       .stream = sc.stream,
                                       .cache = sc.cache,
                                       .app = sc.app,
                                       .metrics = sc.metrics,
                                       .max_attempts = s.max_attempts,
                                       .state_wait_ms = s.state_wait_ms,
                                       .app_timeout_ms = s.app_timeout_ms};
        if (!(sc.commands = byron_commands_new(&co, &err))) goto out;
        byron_auth_options_t ao = {.settings = byron_access_settings(comp->access),
                                   .keys_file = s.jwks_file,
                                   .min_refresh_ms = s.jwks_min_refresh_ms,
                                   .metrics = sc.metrics};
        if (!(sc.auth = byron_auth_new(&ao, &err))) goto out;
    }
    if (strcmp(s.mode, "sink") == 0) {
        byron_sink_options_t ko = {
            .component = comp, .stream = sc.stream, .cache = sc.cache, .app = sc.app, .metrics = sc.metrics};
        if (byron_sink_options_from_env(&ko, &err) != BYRON_OK || !(sc.sink = byron_sink_new(&ko, &err)))
            goto out;
        sc.mode_readiness = sink_readiness;
        sc.mode_readiness_arg = sc.sink;
    }
    if (!(sc.pool = byron_workpool_new(s.workers, s.queue, sc.metrics, &err))) goto out;
    /* api mode: run the commands a sink's app sends (command_relay.h) */
    if (sc.commands && byron_command_relay_serve(&sc, &err) != BYRON_OK) goto out;
    /* The sidecar's socket is served before the app is up: the app may call it while starting. */
    byron_server_options_t sopts = {.bind_addr = s.bind,
                                    .port = s.http_port,
                                    .unix_path = s.sidecar_socket,
                                    .admin_port = s.admin_port,
                                    .rest_tcp = s.rest_tcp,
                                    .max_inflight_bytes = (size_t)s.max_inflight_mib << 20,
                                    .max_conns_per_client = (unsigned)s.max_client_conns};
    byron_server_mount_t mounts[2];
    if (sc.commands) { /* api mode: the GraphQL API on /graphql (HTTP and WebSocket) */
        if (!(gql = byron_gqlapi_new(&sc, &s.graphql, &err))) goto out;
        sopts.nmounts = byron_gqlapi_mounts(gql, mounts);
        sopts.mounts = mounts;
        sopts.ws_protocol = byron_gqlapi_ws_protocol(gql);
    }
    if (!(srv = byron_server_new(&sc, &sopts, &err))) goto out;
    /* The sink's lanes start once what they report to (/readyz) is up. */
    if (sc.sink && byron_sink_start(sc.sink, &err) != BYRON_OK) goto out;
    if (pthread_create(&health, NULL, health_thread, &hc) != 0) {
        byron_err_set(&err, BYRON_EIO, "cannot start the health thread");
        goto out;
    }
    health_started = 1;
    char port[16];
    snprintf(port, sizeof port, "%d", byron_server_port(srv));
    char admin[16];
    snprintf(admin, sizeof admin, "%d", byron_server_admin_port(srv));
    byron_log(BYRON_LOG_INFO, "started", "version", BYRON_VERSION, "mode", s.mode, "component",
              comp->component, "namespace", comp->namespace_, "stream", comp->stream, "http_port", port,
              "admin_port", admin, "sidecar_socket", s.sidecar_socket ? s.sidecar_socket : "", "app_socket",
              s.app_socket ? s.app_socket : "", "cache_database", byron_cache_database(sc.cache),
              (char *)NULL);

    int sig = 0;
    sigwait(&sigs, &sig);
    byron_log(BYRON_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", (char *)NULL);
    /* Drain: refuse new work, let queued and running work finish and be answered. */
    atomic_store(&sc.draining, 1);
    byron_gqlapi_drain(gql, 1000); /* WebSocket clients: 1001, reconnect elsewhere */
    /* The server's thread may still be dispatching a request it read before
     * `draining`: the pool answers it "shutting down" and is freed after the server. */
    byron_workpool_drain(sc.pool);
    for (int i = 0; i < 100 && byron_server_inflight(srv) > 0; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    {
        struct timespec ts = {0, 100 * 1000000L}; /* let the last answers reach their sockets */
        nanosleep(&ts, NULL);
    }
    rc = 0;
out:
    if (rc) {
        byron_log(BYRON_LOG_ERROR, "cannot start", "error", err.msg, (char *)NULL);
        fprintf(stderr, "byron-sidecar: %s\n", err.msg);
    }
    atomic_store(&hc.stop, 1);
    if (health_started) pthread_join(health, NULL);
    byron_workpool_drain(sc.pool);
    byron_gqlapi_stop(gql); /* its ws workers stop waking the server's loop */
    byron_server_free(srv);
    byron_stream_unserve(sc.stream); /* relayed commands (command_relay.h) stop reaching the pool */
    byron_workpool_free(sc.pool);    /* nothing submits any more */
    byron_sink_stop(sc.sink);        /* after the server (readiness reads it); settles the events in hand */
    byron_sink_free(sc.sink);        /* before the stream and the cache it uses */
    byron_gqlapi_free(gql);          /* after the server: its last callbacks queue work for the ws workers */
    byron_commands_free(sc.commands);
    byron_auth_free(sc.auth);
    byron_app_free(sc.app);
    byron_cache_free(sc.cache);
    byron_stream_free(sc.stream);
    byron_metrics_free(sc.metrics);
    pthread_mutex_destroy(&sc.health.lock);
    byron_component_free(comp);
    mongoc_cleanup();
    curl_global_cleanup();
    nats_CloseAndWait(2000);
    if (!rc) byron_log(BYRON_LOG_INFO, "stopped", (char *)NULL);
    return rc;
}
