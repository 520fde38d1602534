/* settings.c — see settings.h. One row per flag or variable; a row names the
 * modes it belongs to, so the same flag may have other bounds in another mode
 * (--wait-ms). Parsing is: every row's default, then its variable, then the
 * flags, then what each mode requires. */
#include "settings.h"

#include "byron/log.h"
#include "generation.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { M_SERVER = 1, M_ADMIN = 2, M_VERIFY = 4, M_ALL = 7 };

typedef enum {
    T_STR,   /* const char *; a variable set to "" is a value ("" sidecar socket: none) */
    T_INT,   /* int */
    T_INT64, /* int64_t */
    T_U64,   /* uint64_t */
    T_UINT,  /* unsigned; default: byron_gqlapi_options_init's */
    T_SIZE,  /* size_t; likewise */
    T_ON,    /* int: the flag takes no value and sets 1; the variable is 0 or 1 */
    T_LEVEL, /* int: debug, info, warn or error */
    T_MODE,  /* the flag is read by byron_settings_mode: accepted and skipped here */
    T_HELP,
    T_VERSION,
} type_t;

typedef struct {
    const char *flag; /* without "--"; NULL: a variable only */
    const char *env;  /* NULL: a flag only */
    type_t type;
    int modes;
    size_t off;
    long long min, max, dflt;
    const char *dflt_str; /* T_STR's default; for numbers, shown instead of dflt when set */
    const char *arg, *help;
} option_t;

#define OFF(f) offsetof(byron_settings_t, f)
#define OPT_STR(flag, env, modes, f, dflt, arg, help)                                                        \
    { flag, env, T_STR, modes, OFF(f), 0, 0, 0, dflt, arg, help }
#define OPT_INT(flag, env, modes, f, lo, hi, dflt, help)                                                     \
    { flag, env, T_INT, modes, OFF(f), lo, hi, dflt, NULL, "N", help }
#define OPT_INT64(flag, env, modes, f, lo, hi, dflt, help)                                                   \
    { flag, env, T_INT64, modes, OFF(f), lo, hi, dflt, NULL, "N", help }
#define OPT_U64(flag, env, modes, f, lo, hi, dflt, help)                                                     \
    { flag, env, T_U64, modes, OFF(f), lo, hi, dflt, NULL, "N", help }
#define OPT_ON(flag, env, modes, f, help)                                                                    \
    { flag, env, T_ON, modes, OFF(f), 0, 1, 0, NULL, NULL, help }
#define OPT_LEVEL(flag, env, modes, f, dflt, help)                                                           \
    { flag, env, T_LEVEL, modes, OFF(f), 0, 0, dflt, NULL, "L", help }
#define OPT_GQL(flag, env, type, f, lo, hi, help)                                                            \
    { flag, env, type, M_SERVER, OFF(graphql.f), lo, hi, 0, NULL, "N", help }
#define OPT_SINK(env, f, lo, hi, dflt, shown, help)                                                          \
    { NULL, env, T_INT, M_ALL, OFF(sink.f), lo, hi, dflt, shown, NULL, help }
#define OPT_DO(flag, type, modes, help)                                                                      \
    { flag, NULL, type, modes, 0, 0, 0, 0, NULL, NULL, help }

static const option_t OPTIONS[] = {
    {"mode", "BYRON_MODE", T_MODE, M_ALL, OFF(mode), 0, 0, 0, NULL, "M",
     "api or sink; verify: the fold checker; admin: kubectl byron's operations"},
    OPT_STR("config", "BYRON_CONFIG", M_ALL, config, "/etc/byron/component.json", "PATH", "component.json"),
    OPT_STR("nats-url", "BYRON_NATS_URL", M_ALL, nats_url, NULL, "URL", "broker (required)"),
    OPT_STR("mongo-uri", "BYRON_MONGO_URI", M_ALL, mongo_uri, NULL, "URI", "cache (required)"),
    OPT_STR("app-socket", "BYRON_APP_SOCKET", M_ALL, app_socket, NULL, "PATH",
            "the app's socket (unset or empty: no app; verify and admin call its event handlers)"),
    OPT_STR("sidecar-socket", "BYRON_SIDECAR_SOCKET", M_SERVER, sidecar_socket, "/var/run/byron/sidecar.sock",
            "PATH", "this sidecar's socket for the app (empty: none)"),
    OPT_INT("http-port", "BYRON_HTTP_PORT", M_SERVER, http_port, 0, 65535, 8080,
            "the public port: GraphQL (0: any)"),
    OPT_INT("admin-port", "BYRON_ADMIN_PORT", M_SERVER, admin_port, -1, 65535, 9090,
            "/healthz /readyz /metrics (0: any; -1: none) — keep it out of the Service"),
    OPT_ON("rest-over-tcp", "BYRON_REST_TCP", M_SERVER, rest_tcp,
           "serve /v1/commands, /v1/cache, /v1/meta on the public port too, with GraphQL's authentication "
           "(default: the app's socket only)"),
    OPT_INT("max-inflight-mib", "BYRON_MAX_INFLIGHT_MIB", M_SERVER, max_inflight_mib, 1, 1024, 64,
            "request bodies held at once before 503"),
    OPT_INT("max-client-connections", "BYRON_MAX_CLIENT_CONNECTIONS", M_SERVER, max_client_conns, 1, 100000,
            256, "public-port connections from one address"),
    OPT_INT("max-open-files", "BYRON_MAX_OPEN_FILES", M_SERVER, max_open_files, 256, 1048576, 65536,
            "open files, connections included: the soft RLIMIT_NOFILE comes down to it (libwebsockets sizes "
            "its tables by that limit)"),
    OPT_STR("auth-jwks-file", "BYRON_AUTH_JWKS_FILE", M_SERVER, jwks_file, NULL, "PATH",
            "token keys from this JWK Set file (a mounted Secret) instead of the issuer's"),
    OPT_INT(NULL, "BYRON_AUTH_JWKS_MIN_REFRESH_MS", M_SERVER, jwks_min_refresh_ms, 100, 3600000, 10000,
            "at most one key refresh per this interval"),
    OPT_STR("bind", "BYRON_BIND", M_SERVER, bind, NULL, "ADDR", "listen address (default all interfaces)"),
    OPT_INT("workers", "BYRON_WORKERS", M_SERVER, workers, 1, 256, 8, "worker threads"),
    OPT_INT("queue", "BYRON_QUEUE", M_SERVER, queue, 1, 100000, 256, "queued requests before 503"),
    OPT_INT("app-timeout-ms", "BYRON_APP_TIMEOUT_MS", M_ALL, app_timeout_ms, 10, 600000, 5000,
            "per app call"),
    OPT_INT("max-attempts", "BYRON_MAX_ATTEMPTS", M_SERVER, max_attempts, 1, 1000, 10,
            "optimistic-concurrency attempts"),
    OPT_INT("state-wait-ms", "BYRON_STATE_WAIT_MS", M_SERVER, state_wait_ms, 10, 600000, 5000,
            "how long a command waits for the cache to reach the aggregate's version"),
    OPT_INT(NULL, "BYRON_STREAM_REPLICAS", M_SERVER, stream_replicas, 1, 5, 1, "the stream's replicas"),
    OPT_INT64(NULL, "BYRON_STREAM_MAX_BYTES", M_SERVER, stream_max_bytes, -1, INT64_MAX, -1,
              "the stream's size limit in bytes (-1: none)"),
    OPT_STR(NULL, "BYRON_NATS_CREDS", M_ALL, nats.creds, NULL, NULL,
            "the role's .creds file (unset: no NATS authentication)"),
    OPT_STR(NULL, "BYRON_NATS_CA", M_ALL, nats.ca, NULL, NULL, "PEM CA: TLS to NATS (unset: no TLS)"),
    OPT_STR(NULL, "BYRON_NATS_INBOX_PREFIX", M_ALL, nats.inbox_prefix, NULL, NULL,
            "the only inbox the role's NATS user may subscribe to (unset: _INBOX)"),
    OPT_SINK("BYRON_SINK_THREADS", threads, 1, 256, 0, "min(lanes, 8)", "sink lane threads"),
    OPT_SINK("BYRON_SINK_MAX_DELIVER", max_deliver, 1, 1000, 5, NULL, "deliveries before dead-lettering"),
    OPT_SINK("BYRON_SINK_RETRY_MS", retry_ms, 1, 600000, 500, NULL,
             "first redelivery delay, doubled each time"),
    OPT_SINK("BYRON_SINK_ACK_WAIT_MS", ack_wait_ms, 100, 3600000, 30000, NULL,
             "redelivery after a replica died"),
    OPT_SINK("BYRON_SINK_DLQ_ATTEMPTS", dlq_attempts, 1, 100000, 0, "max deliver + 10",
             "deliveries before an event whose dead letter cannot be stored is terminated"),
    OPT_SINK("BYRON_SINK_DEFER_MS", defer_ms, 1000, 86400000, 600000, NULL,
             "how long an event of a newer model waits for a sink that knows it"),
    OPT_SINK("BYRON_CACHE_GRACE_MS", grace_ms, 0, 86400000, 60000, NULL,
             "after a rebuild's switch, how long the old generation stays projected"),
    {NULL, "BYRON_CACHE_GENERATION", T_INT64, M_ALL, OFF(sink.generation), 0, BYRON_GENERATION_MAX, 0, NULL,
     NULL, "the cache generation wanted: above the live one, a rebuild"},
    OPT_INT("wait-ms", NULL, M_ADMIN, admin.wait_ms, 100, 3600000, 30000,
            "replay: how long to wait for the sink's lane"),
    OPT_INT("wait-ms", NULL, M_VERIFY, verify.wait_ms, 0, 3600000, 10000,
            "how long to wait for the sink to settle"),
    OPT_STR("model", NULL, M_ADMIN, admin.model, NULL, "M", "events: only this model's"),
    OPT_STR("id", NULL, M_ADMIN, admin.id, NULL, "ID", "events: only this aggregate's (with --model)"),
    OPT_U64("from", NULL, M_ADMIN, admin.from, 1, INT64_MAX, 0, "events: from this stream sequence"),
    OPT_INT64("limit", NULL, M_ADMIN, admin.limit, 0, 100000000, -1, "events: at most this many"),
    OPT_ON("follow", NULL, M_ADMIN, admin.follow, "events: keep reading new ones"),
    OPT_ON("all", NULL, M_ADMIN, admin.all, "dlq list: replayed and dropped too; dlq replay: every open one"),
    OPT_STR("note", NULL, M_ADMIN, admin.note, NULL, "TEXT", "dlq drop: why, kept with the dead letter"),
    OPT_LEVEL("log-level", "BYRON_LOG_LEVEL", M_SERVER, log_level, BYRON_LOG_INFO, "debug|info|warn|error"),
    OPT_LEVEL("log-level", NULL, M_ADMIN, log_level, BYRON_LOG_WARN, "debug|info|warn|error (stderr)"),
    OPT_LEVEL("log-level", NULL, M_VERIFY, log_level, BYRON_LOG_INFO, "debug|info|warn|error (stderr)"),
    OPT_ON("print-schema", NULL, M_SERVER, print_schema,
           "check --config and the settings, print the component's GraphQL SDL and exit"),
    /* Limits can be raised up to a hard maximum, never switched off (docs/security.md). */
    OPT_GQL("graphql-max-body-bytes", "BYRON_GRAPHQL_MAX_BODY_BYTES", T_SIZE, max_body_bytes, 1024, 1u << 20,
            "HTTP request body (413 beyond)"),
    OPT_GQL("graphql-max-document-bytes", "BYRON_GRAPHQL_MAX_DOCUMENT_BYTES", T_SIZE,
            limits.max_document_bytes, 1, BYRON_GRAPHQL_HARD_MAX_DOCUMENT_BYTES,
            "query text (DOCUMENT_TOO_LARGE)"),
    OPT_GQL("graphql-max-tokens", "BYRON_GRAPHQL_MAX_TOKENS", T_SIZE, limits.max_tokens, 1,
            BYRON_GRAPHQL_HARD_MAX_TOKENS, "lexical tokens (TOO_MANY_TOKENS)"),
    OPT_GQL("graphql-max-depth", "BYRON_GRAPHQL_MAX_DEPTH", T_UINT, limits.max_depth, 1,
            BYRON_GRAPHQL_HARD_MAX_DEPTH, "selection depth (DEPTH_LIMIT_EXCEEDED)"),
    OPT_GQL("graphql-max-fields", "BYRON_GRAPHQL_MAX_FIELDS", T_UINT, limits.max_fields, 1,
            BYRON_GRAPHQL_HARD_MAX_FIELDS, "fields after fragment expansion (QUERY_TOO_COMPLEX)"),
    OPT_GQL("graphql-max-aliases", "BYRON_GRAPHQL_MAX_ALIASES", T_UINT, limits.max_aliases, 1,
            BYRON_GRAPHQL_HARD_MAX_ALIASES, "aliased fields (QUERY_TOO_COMPLEX)"),
    OPT_GQL("graphql-deadline-ms", "BYRON_GRAPHQL_DEADLINE_MS", T_UINT, limits.deadline_ms, 1,
            BYRON_GRAPHQL_HARD_MAX_DEADLINE_MS,
            "execution time, checked between resolvers (DEADLINE_EXCEEDED)"),
    OPT_GQL("graphql-max-cost", "BYRON_GRAPHQL_MAX_COST", T_UINT, limits.max_cost, 1,
            BYRON_GRAPHQL_HARD_MAX_COST,
            "field resolutions an operation may ask for, first/last multiplying through nesting "
            "(QUERY_TOO_COMPLEX)"),
    OPT_GQL("graphql-max-response-bytes", "BYRON_GRAPHQL_MAX_RESPONSE_BYTES", T_SIZE, max_response_bytes,
            1024, 64u << 20, "response body (RESPONSE_TOO_LARGE)"),
    OPT_GQL("graphql-document-cache-bytes", "BYRON_GRAPHQL_DOCUMENT_CACHE_BYTES", T_SIZE,
            document_cache_bytes, 0, 1u << 30, "parsed and validated documents kept by their text (0: none)"),
    OPT_GQL("graphql-max-subscriptions", "BYRON_GRAPHQL_MAX_SUBSCRIPTIONS", T_UINT, max_subscriptions, 1,
            100000, "subscriptions per WebSocket connection"),
    OPT_GQL("graphql-max-replica-subscriptions", "BYRON_GRAPHQL_MAX_REPLICA_SUBSCRIPTIONS", T_UINT,
            max_replica_subscriptions, 1, 1000000,
            "subscriptions of all connections of this sidecar (TOO_MANY_SUBSCRIPTIONS)"),
    OPT_GQL("graphql-max-connections", "BYRON_GRAPHQL_MAX_CONNECTIONS", T_UINT, max_connections, 1, 1000000,
            "WebSocket connections (503 beyond)"),
    OPT_GQL("graphql-ws-queue", "BYRON_GRAPHQL_WS_QUEUE", T_UINT, ws_queue, 8, 1000000,
            "events + unsent messages per connection before closing it with 1013 (slow client)"),
    OPT_GQL("graphql-ws-queue-bytes", "BYRON_GRAPHQL_WS_QUEUE_BYTES", T_SIZE, ws_queue_bytes, 1024,
            256u << 20, "bytes of those per connection before closing it with 1013 (slow client)"),
    OPT_GQL("graphql-ws-init-timeout-ms", "BYRON_GRAPHQL_WS_INIT_TIMEOUT_MS", T_UINT, ws_init_timeout_ms, 100,
            600000, "connection_init must arrive within this (4408)"),
    OPT_GQL("graphql-ws-workers", "BYRON_GRAPHQL_WS_WORKERS", T_UINT, ws_workers, 1, 256,
            "threads running WebSocket operations"),
    OPT_DO("version", T_VERSION, M_SERVER, "print the version and exit"),
    OPT_DO("help", T_HELP, M_ALL, "print this and exit"),
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])
#define MAX_WORDS 1024 /* admin's command and its arguments */

static int mode_bit(const char *mode) {
    return !strcmp(mode, "admin") ? M_ADMIN : !strcmp(mode, "verify") ? M_VERIFY : M_SERVER;
}

static void *field(byron_settings_t *s, const option_t *o) { return (char *)s + o->off; }

/* ---- values --------------------------------------------------------------- */

/* A number within the row's bounds into its field; -1 naming `name` when not. */
static int set_number(byron_settings_t *s, const option_t *o, const char *name, const char *v, FILE *errf) {
    char *end = NULL;
    errno = 0;
    long long n = 0;
    unsigned long long u = 0;
    int digits = (v[0] >= '0' && v[0] <= '9') || (v[0] == '-' && o->min < 0); /* no blanks, no '+' */
    int ok = 0;
    if (digits && o->min >= 0) { /* strtoull would take "-1" as a huge number */
        u = strtoull(v, &end, 10);
        ok =
            !errno && end != v && !*end && u >= (unsigned long long)o->min && u <= (unsigned long long)o->max;
        n = (long long)u;
    } else if (digits) {
        n = strtoll(v, &end, 10);
        ok = !errno && end != v && !*end && n >= o->min && n <= o->max;
    }
    if (!ok) {
        fprintf(errf, "byron-sidecar: %s: \"%s\" is not a number between %lld and %lld\n", name, v, o->min,
                o->max);
        return -1;
    }
    void *f = field(s, o);
    switch (o->type) {
    case T_INT:
    case T_ON: *(int *)f = (int)n; break;
    case T_INT64: *(int64_t *)f = n; break;
    case T_U64: *(uint64_t *)f = u; break;
    case T_UINT: *(unsigned *)f = (unsigned)n; break;
    case T_SIZE: *(size_t *)f = (size_t)n; break;
    default: break;
    }
    return 0;
}

/* One value from a variable or a flag's argument. */
static int set_value(byron_settings_t *s, const option_t *o, const char *name, const char *v, FILE *errf) {
    if (o->type == T_STR) {
        *(const char **)field(s, o) = v;
        return 0;
    }
    if (o->type == T_LEVEL) {
        int level = byron_log_level_parse(v);
        if (level < 0) {
            fprintf(errf, "byron-sidecar: %s: unknown level \"%s\" (debug, info, warn, error)\n", name, v);
            return -1;
        }
        *(int *)field(s, o) = level;
        return 0;
    }
    return set_number(s, o, name, v, errf);
}

static void set_defaults(byron_settings_t *s, int bit) {
    memset(s, 0, sizeof *s);
    byron_gqlapi_options_init(&s->graphql);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_t *o = &OPTIONS[i];
        if (!(o->modes & bit)) continue;
        void *f = field(s, o);
        switch (o->type) {
        case T_STR: *(const char **)f = o->dflt_str; break;
        case T_INT:
        case T_LEVEL: *(int *)f = (int)o->dflt; break;
        case T_INT64: *(int64_t *)f = o->dflt; break;
        case T_U64: *(uint64_t *)f = (uint64_t)o->dflt; break;
        default: break; /* T_ON: 0; T_UINT, T_SIZE: byron_gqlapi_options_init's */
        }
    }
}

/* Numbers, levels and switches: an empty variable is an unset one. */
static int from_env(byron_settings_t *s, int bit, FILE *errf) {
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_t *o = &OPTIONS[i];
        if (!(o->modes & bit) || !o->env || o->type == T_MODE) continue;
        const char *v = getenv(o->env);
        if (!v || (!*v && o->type != T_STR)) continue;
        if (set_value(s, o, o->env, v, errf)) return -1;
    }
    return 0;
}

/* ---- flags ---------------------------------------------------------------- */

/* 0: parsed; 1: done (help, version); 2: bad usage. */
static int from_flags(byron_settings_t *s, const char *mode, int argc, char **argv, FILE *out, FILE *errf) {
    int bit = mode_bit(mode);
    struct option longopts[NOPTIONS + 1];
    const option_t *rows[NOPTIONS];
    size_t n = 0;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_t *o = &OPTIONS[i];
        if (!o->flag || !(o->modes & bit)) continue;
        int has_arg =
            o->type == T_ON || o->type == T_HELP || o->type == T_VERSION ? no_argument : required_argument;
        rows[n] = o;
        longopts[n] = (struct option){o->flag, has_arg, NULL, (int)n + 1};
        n++;
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c < 1 || c > (int)n) {
            fprintf(errf, "byron-sidecar: unknown or incomplete option \"%s\"\n", argv[optind - 1]);
            byron_settings_usage(mode, errf);
            return 2;
        }
        const option_t *o = rows[c - 1];
        char name[80];
        snprintf(name, sizeof name, "--%s", o->flag);
        if (o->type == T_HELP) {
            byron_settings_usage(mode, out);
            return 1;
        }
        if (o->type == T_VERSION) {
            fprintf(out, "byron-sidecar %s\n", BYRON_VERSION);
            return 1;
        }
        if (o->type == T_ON)
            *(int *)field(s, o) = 1;
        else if (o->type != T_MODE && set_value(s, o, name, optarg, errf))
            return 2;
    }
    return 0;
}

/* ---- what each mode needs ------------------------------------------------- */

static int require(const byron_settings_t *s, FILE *errf) {
    const char *missing = !s->nats_url || !*s->nats_url     ? "--nats-url (or BYRON_NATS_URL)"
                          : !s->mongo_uri || !*s->mongo_uri ? "--mongo-uri (or BYRON_MONGO_URI)"
                                                            : NULL;
    if (missing) fprintf(errf, "byron-sidecar: %s is required\n", missing);
    return missing ? 2 : 0;
}

static int finish_server(byron_settings_t *s, FILE *errf) {
    if (s->print_schema) return 0; /* needs only --config */
    if (!s->mode) {
        fprintf(errf, "byron-sidecar: --mode (or BYRON_MODE) is required\n");
        return 2;
    }
    if (require(s, errf)) return 2;
    if (strcmp(s->mode, "api") != 0 && strcmp(s->mode, "sink") != 0) {
        fprintf(errf, "byron-sidecar: --mode: \"%s\" is not api or sink\n", s->mode);
        return 2;
    }
    if (s->sidecar_socket && !*s->sidecar_socket) s->sidecar_socket = NULL;
    return 0;
}

static int finish_admin(byron_settings_t *s, int argc, char **argv, FILE *errf) {
    byron_admin_settings_t *a = &s->admin;
    a->words = argv + optind;
    a->nwords = argc - optind;
    if (a->nwords > MAX_WORDS) {
        fprintf(errf, "byron-sidecar: more than %d arguments\n", MAX_WORDS);
        return 2;
    }
    if (!a->nwords) {
        byron_settings_usage("admin", errf);
        return 2;
    }
    if (require(s, errf)) return 2;
    if (a->id && !a->model) {
        fprintf(errf, "byron-sidecar: --id needs --model\n");
        return 2;
    }
    a->config = s->config;
    a->nats_url = s->nats_url;
    a->mongo_uri = s->mongo_uri;
    a->app_socket = s->app_socket;
    a->app_timeout_ms = s->app_timeout_ms;
    a->nats = &s->nats;
    a->sink = &s->sink;
    return 0;
}

static int finish_verify(byron_settings_t *s, int argc, char **argv, FILE *errf) {
    if (optind < argc) {
        fprintf(errf, "byron-sidecar: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (require(s, errf)) return 2;
    byron_verify_settings_t *v = &s->verify;
    v->config = s->config;
    v->nats_url = s->nats_url;
    v->mongo_uri = s->mongo_uri;
    v->app_socket = s->app_socket;
    v->app_timeout_ms = s->app_timeout_ms;
    v->nats = &s->nats;
    return 0;
}

const char *byron_settings_mode(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strncmp(argv[i], "--mode=", 7)) return argv[i] + 7;
        if (!strcmp(argv[i], "--mode")) return i + 1 < argc ? argv[i + 1] : NULL;
    }
    return getenv("BYRON_MODE");
}

int byron_settings_parse(byron_settings_t *s, const char *mode, int argc, char **argv, FILE *out,
                         FILE *errf) {
    if (!mode) mode = "";
    int bit = mode_bit(mode);
    set_defaults(s, bit);
    s->mode = *mode ? mode : NULL;
    if (from_env(s, bit, errf)) return 2;
    int rc = from_flags(s, mode, argc, argv, out, errf);
    if (rc) return rc;
    if (s->app_socket && !*s->app_socket) s->app_socket = NULL;
    if (bit == M_ADMIN) return finish_admin(s, argc, argv, errf);
    if (bit == M_VERIFY) return finish_verify(s, argc, argv, errf);
    return finish_server(s, errf);
}

/* ---- usage ---------------------------------------------------------------- */

static const char USAGE_SERVER[] =
    "usage: byron-sidecar --mode=api|sink [options]\n"
    "       byron-sidecar --mode=verify --help   the fold checker (docs/consistency.md)\n"
    "       byron-sidecar --mode=admin --help    status, events, dead letters (docs/cli.md)\n";
static const char USAGE_VERIFY[] =
    "usage: byron-sidecar --mode=verify [options]\n"
    "  Folds the component's event log independently of the sink and compares it with the\n"
    "  cache: one JSON line per difference on stdout, then a summary line\n"
    "  (docs/consistency.md). Exit 0: equal, 1: differs, 2: bad usage, 3: not quiescent or\n"
    "  a dependency unreachable.\n";
static const char USAGE_ADMIN[] =
    "usage: byron-sidecar --mode=admin [options] COMMAND ...\n"
    "  One-shot operations on the component, as kubectl byron runs them in its sink pod\n"
    "  (docs/cli.md). JSON on stdout; exit 0 done, 1 not done, 2 bad usage, 3 unreachable.\n"
    "commands:\n"
    "  status                                the stream, the sink's lanes, dead letters, the cache\n"
    "  events [--model M [--id ID]] [--from SEQ] [--limit N] [--follow]\n"
    "                                        the event log, one JSON line per event\n"
    "  dlq list [--all]                      open dead letters (--all: replayed and dropped too)\n"
    "  dlq show SEQ                          one dead letter with its event\n"
    "  dlq replay SEQ... | --all             project the dead letters' aggregates again\n"
    "  dlq drop SEQ... [--note TEXT]         acknowledge without applying\n";

static const char *const LEVELS[] = {"debug", "info", "warn", "error"}; /* byron_log_level_t */

static void usage_row(const option_t *o, FILE *f) {
    char left[64], dflt[64] = "";
    if (o->flag)
        snprintf(left, sizeof left, "--%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
    else
        snprintf(left, sizeof left, "%s", o->env);
    if (o->dflt_str)
        snprintf(dflt, sizeof dflt, ", default %s", o->dflt_str);
    else if (o->type == T_INT || o->type == T_INT64)
        snprintf(dflt, sizeof dflt, ", default %lld", o->dflt);
    else if (o->type == T_LEVEL)
        snprintf(dflt, sizeof dflt, ", default %s", LEVELS[o->dflt]);
    if (o->type == T_UINT || o->type == T_SIZE) {
        byron_settings_t d;
        set_defaults(&d, M_SERVER);
        unsigned long long v = o->type == T_UINT ? *(unsigned *)field(&d, o) : *(size_t *)field(&d, o);
        snprintf(dflt, sizeof dflt, ", default %llu", v);
    }
    if (o->min != o->max && o->type != T_ON)
        snprintf(dflt + strlen(dflt), sizeof dflt - strlen(dflt), ", %lld..%lld", o->min, o->max);
    fprintf(f, "  %-28s %s\n", left, o->help);
    if (o->flag && o->env)
        fprintf(f, "  %-28s (env %s%s)\n", "", o->env, dflt);
    else if (*dflt)
        fprintf(f, "  %-28s (%s)\n", "", dflt + 2);
}

void byron_settings_usage(const char *mode, FILE *f) {
    int bit = mode_bit(mode ? mode : "");
    fputs(bit == M_ADMIN ? USAGE_ADMIN : bit == M_VERIFY ? USAGE_VERIFY : USAGE_SERVER, f);
    fputs("options:\n", f);
    for (size_t i = 0; i < NOPTIONS; i++)
        if ((OPTIONS[i].modes & bit) && OPTIONS[i].flag) usage_row(&OPTIONS[i], f);
    fputs("environment only:\n", f);
    for (size_t i = 0; i < NOPTIONS; i++)
        if ((OPTIONS[i].modes & bit) && !OPTIONS[i].flag) usage_row(&OPTIONS[i], f);
}

int byron_settings_describe(size_t i, byron_setting_info_t *out) {
    if (i >= NOPTIONS) return 0;
    const option_t *o = &OPTIONS[i];
    static const byron_setting_kind_t KIND[] = {
        [T_STR] = BYRON_SETTING_TEXT,    [T_INT] = BYRON_SETTING_NUMBER,    [T_INT64] = BYRON_SETTING_NUMBER,
        [T_U64] = BYRON_SETTING_NUMBER,  [T_UINT] = BYRON_SETTING_NUMBER,   [T_SIZE] = BYRON_SETTING_NUMBER,
        [T_ON] = BYRON_SETTING_SWITCH,   [T_LEVEL] = BYRON_SETTING_LEVEL,   [T_MODE] = BYRON_SETTING_ACTION,
        [T_HELP] = BYRON_SETTING_ACTION, [T_VERSION] = BYRON_SETTING_ACTION};
    *out = (byron_setting_info_t){.flag = o->flag,
                                  .env = o->env,
                                  .mode = o->modes & M_SERVER  ? "api"
                                          : o->modes & M_ADMIN ? "admin"
                                                               : "verify",
                                  .kind = KIND[o->type],
                                  .min = o->min,
                                  .max = o->max};
    return 1;
}
