/* main.c — byron-operator: flags, process-wide setup, lifecycle.
 *
 * Process-wide state lives here and only here: curl_global_init (libcurl
 * requires it before any thread starts), the log settings, and the signal
 * mask (SIGTERM/SIGINT blocked in every thread, taken by sigwait in one).
 *
 * Threads: one per informer (list+watch), --workers reconcilers, the lease
 * renewer, the probe/metrics server, the signal waiter, and main, which
 * sleeps until shutdown. */
#include "broker.h"
#include "byron/base64.h"
#include "byron/file.h"
#include "byron/httpd.h"
#include "byron/json.h"
#include "byron/kube_client.h"
#include "byron/kubeconfig.h"
#include "byron/log.h"
#include "byron/metrics.h"
#include "controller.h"
#include "expose.h"
#include "leader.h"
#include "recorder.h"
#include "release_secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <nats/nats.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NS 64

typedef struct flags {
    const char *kubeconfig, *context;
    const char *namespaces[MAX_NS];
    size_t nns;
    int workers;
    const char *sidecar_image, *cache_image, *broker_url, *cache_uri_options;
    const char *default_auth; /* --default-auth: spec.auth for components without one (JSON) */
    int leader_elect;
    const char *lease_namespace, *lease_name;
    int metrics_port, probe_port;
    const char *bind;
    int log_level;
    unsigned lease_ms, renew_ms, retry_ms;
    int resync_s;
    const char *nats_identity_secret; /* "ns/name" */
    int nats_identity_generate;
    int no_network_policies;
    const char *monitoring_namespace;
    const char *cache_key_secret;
    int cache_key_generate, no_cache_users;
    const char *nats_ca_file;
    int nats_creds_ttl_s;
    int stream_replicas;
    int64_t stream_max_bytes;
    int insights_period_s, lag_threshold, dead_letter_threshold;
} flags_t;

static atomic_int g_stop; /* SIGTERM/SIGINT or leadership lost */
static atomic_int g_lost;
static atomic_int g_ready; /* informers synced (or standby) */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static void wake_main(void) {
    pthread_mutex_lock(&g_mu);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void *signal_thread(void *arg) {
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    byron_log(BYRON_LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", (char *)NULL);
    atomic_store(&g_stop, 1);
    wake_main();
    return NULL;
}

static void on_lost(void *ud) {
    atomic_store(&g_lost, 1);
    atomic_store(&g_stop, 1);
    wake_main();
}

static void healthz(void *ud, const char *method, const char *path, byron_http_response_t *resp) {
    byron_http_respond(resp, 200, "text/plain", "ok\n");
}

static void readyz(void *ud, const char *method, const char *path, byron_http_response_t *resp) {
    if (atomic_load(&g_ready))
        byron_http_respond(resp, 200, "text/plain", "ok\n");
    else
        byron_http_respond(resp, 503, "text/plain", "informers not synced\n");
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: byron-operator [flags]\n"
        "  --kubeconfig PATH          kubeconfig (default: in-cluster, then $KUBECONFIG, ~/.kube/config)\n"
        "  --context NAME             kubeconfig context (default: current-context)\n"
        "  --namespace NS[,NS...]     watch only these namespaces (repeatable; default: all)\n"
        "  --workers N                concurrent reconciles (default 2)\n"
        "  --sidecar-image IMAGE      byron-sidecar image for API and Sink pods\n"
        "                             (default " BYRON_DEFAULT_SIDECAR_IMAGE ")\n"
        "  --default-cache-image IMG  cache image when spec.cache.image is unset (default mongo:7)\n"
        "  --cache-uri-options OPTS   appended to generated cache URIs (e.g. authMechanism=PLAIN)\n"
        "  --default-broker-url URL   broker when spec.broker.url is unset\n"
        "  --default-auth JSON        spec.auth for components that declare none (chart value\n"
        "                             componentDefaults.auth; docs/security.md)\n"
        "  --default-stream-replicas N  stream replicas when spec.broker.replicas is unset (1 or 3; 1)\n"
        "  --default-stream-max-bytes SIZE  stream size limit when spec.broker.maxBytes is unset\n"
        "                             (e.g. 10Gi; -1: none, the default)\n"
        "  --nats-identity-secret NS/NAME  NATS authentication: the release's trust chain; every\n"
        "                             component gets its own NATS users\n"
        "  --nats-identity-generate   create that Secret with a new trust chain when absent\n"
        "  --nats-credentials-ttl S   lifetime of a component's NATS user (default 86400; renewed at half)\n"
        "  --nats-ca-file PATH        CA (PEM) of the brokers' TLS certificates\n"
        "  --no-network-policies      no NetworkPolicy per component part (default: cache, api, sink)\n"
        "  --monitoring-namespace NS  the namespace whose pods may reach the sidecars' admin port\n"
        "  --cache-key-secret NS/NAME the key cache passwords derive from: a deleted credentials\n"
        "                             Secret comes back with the same passwords\n"
        "  --cache-key-generate       create that Secret with a new key when absent\n"
        "  --no-cache-users           the sidecars use the cache's root user (a cache image without\n"
        "                             mongosh, e.g. FerretDB); default: a read-only api user and a\n"
        "                             readWrite sink user per component\n"
        "  --leader-elect             elect a leader through a Lease before reconciling\n"
        "  --lease-namespace NS       Lease namespace (default: pod namespace, else byron-system)\n"
        "  --lease-name NAME          Lease name (default byron-operator)\n"
        "  --lease-duration-ms/--renew-deadline-ms/--retry-period-ms  (15000/10000/2000)\n"
        "  --resync-period SECONDS    re-apply every child this often, reverting drift (default 600; 0: "
        "never)\n"
        "  --insights-period SECONDS  read each component's stream, sink lag and dead letters this often\n"
        "                             (status, Lagging/DeadLetters conditions, gauges; default 30; 0: "
        "never)\n"
        "  --lag-threshold N          Lagging is True above N events left to project (default 1000)\n"
        "  --dead-letter-threshold N  DeadLetters is True from N open dead letters (default 1)\n"
        "  --metrics-port N           /metrics port (default 8080; 0 disables)\n"
        "  --probe-port N             /healthz, /readyz port (default 8081; same as metrics: one server)\n"
        "  --bind-address ADDR        listen address for both (default: all)\n"
        "  --log-level debug|info|warn|error\n"
        "  --version, --help\n"
        "\n"
        "byron-operator nats-identity DIR: write a new NATS trust chain into DIR (auth.conf for\n"
        "your nats-server, account.pub and account-signing.seed for the operator's Secret).\n");
}

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "byron-operator: %s: expected an integer in [%d, %d], got '%s'\n", flag, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_flags(int argc, char **argv, flags_t *f) {
    enum {
        F_KUBECONFIG = 256,
        F_CONTEXT,
        F_NS,
        F_WORKERS,
        F_SIDECAR,
        F_CACHE,
        F_CACHE_URI_OPTS,
        F_DEFAULT_AUTH,
        F_BROKER,
        F_LEADER,
        F_LEASE_NS,
        F_LEASE_NAME,
        F_METRICS,
        F_PROBE,
        F_BIND,
        F_LOG,
        F_LEASE_MS,
        F_RENEW_MS,
        F_RETRY_MS,
        F_RESYNC,
        F_NATS_ID,
        F_NATS_ID_GEN,
        F_NO_NETPOL,
        F_MONITORING_NS,
        F_CACHE_KEY,
        F_CACHE_KEY_GEN,
        F_NO_CACHE_USERS,
        F_NATS_CA,
        F_NATS_TTL,
        F_STREAM_REPLICAS,
        F_STREAM_MAX_BYTES,
        F_INSIGHTS,
        F_LAG,
        F_DEAD_LETTERS,
        F_VERSION,
        F_HELP
    };
    static const struct option opts[] = {
        {"kubeconfig", required_argument, NULL, F_KUBECONFIG},
        {"context", required_argument, NULL, F_CONTEXT},
        {"namespace", required_argument, NULL, F_NS},
        {"workers", required_argument, NULL, F_WORKERS},
        {"sidecar-image", required_argument, NULL, F_SIDECAR},
        {"default-cache-image", required_argument, NULL, F_CACHE},
        {"cache-uri-options", required_argument, NULL, F_CACHE_URI_OPTS},
        {"default-broker-url", required_argument, NULL, F_BROKER},
        {"default-auth", required_argument, NULL, F_DEFAULT_AUTH},
        {"leader-elect", no_argument, NULL, F_LEADER},
        {"lease-namespace", required_argument, NULL, F_LEASE_NS},
        {"lease-name", required_argument, NULL, F_LEASE_NAME},
        {"metrics-port", required_argument, NULL, F_METRICS},
        {"probe-port", required_argument, NULL, F_PROBE},
        {"bind-address", required_argument, NULL, F_BIND},
        {"log-level", required_argument, NULL, F_LOG},
        {"lease-duration-ms", required_argument, NULL, F_LEASE_MS},
        {"renew-deadline-ms", required_argument, NULL, F_RENEW_MS},
        {"retry-period-ms", required_argument, NULL, F_RETRY_MS},
        {"resync-period", required_argument, NULL, F_RESYNC},
        {"insights-period", required_argument, NULL, F_INSIGHTS},
        {"lag-threshold", required_argument, NULL, F_LAG},
        {"dead-letter-threshold", required_argument, NULL, F_DEAD_LETTERS},
        {"nats-identity-secret", required_argument, NULL, F_NATS_ID},
        {"nats-identity-generate", no_argument, NULL, F_NATS_ID_GEN},
        {"no-network-policies", no_argument, NULL, F_NO_NETPOL},
        {"monitoring-namespace", required_argument, NULL, F_MONITORING_NS},
        {"cache-key-secret", required_argument, NULL, F_CACHE_KEY},
        {"cache-key-generate", no_argument, NULL, F_CACHE_KEY_GEN},
        {"no-cache-users", no_argument, NULL, F_NO_CACHE_USERS},
        {"nats-ca-file", required_argument, NULL, F_NATS_CA},
        {"nats-credentials-ttl", required_argument, NULL, F_NATS_TTL},
        {"default-stream-replicas", required_argument, NULL, F_STREAM_REPLICAS},
        {"default-stream-max-bytes", required_argument, NULL, F_STREAM_MAX_BYTES},
        {"version", no_argument, NULL, F_VERSION},
        {"help", no_argument, NULL, F_HELP},
        {NULL, 0, NULL, 0}};
    int c, v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case F_KUBECONFIG: f->kubeconfig = optarg; break;
        case F_CONTEXT: f->context = optarg; break;
        case F_NS:
            for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
                if (f->nns == MAX_NS) {
                    fprintf(stderr, "byron-operator: --namespace: at most %d namespaces\n", MAX_NS);
                    return 2;
                }
                if (*tok) f->namespaces[f->nns++] = tok;
            }
            break;
        case F_WORKERS:
            if (parse_int("--workers", optarg, 1, 256, &f->workers)) return 2;
            break;
        case F_SIDECAR: f->sidecar_image = optarg; break;
        case F_CACHE: f->cache_image = optarg; break;
        case F_CACHE_URI_OPTS: f->cache_uri_options = optarg; break;
        case F_DEFAULT_AUTH: {
            json_object *a = NULL;
            byron_err_t aerr;
            if (byron_json_parse(optarg, strlen(optarg), 32, &a, &aerr) != BYRON_OK ||
                !json_object_is_type(a, json_type_object)) {
                json_object_put(a);
                fprintf(stderr, "byron-operator: --default-auth: not a JSON object (spec.auth)\n");
                return 2;
            }
            json_object_put(a);
            f->default_auth = optarg;
            break;
        }
        case F_BROKER: f->broker_url = optarg; break;
        case F_LEADER: f->leader_elect = 1; break;
        case F_LEASE_NS: f->lease_namespace = optarg; break;
        case F_LEASE_NAME: f->lease_name = optarg; break;
        case F_METRICS:
            if (parse_int("--metrics-port", optarg, 0, 65535, &f->metrics_port)) return 2;
            break;
        case F_PROBE:
            if (parse_int("--probe-port", optarg, 0, 65535, &f->probe_port)) return 2;
            break;
        case F_BIND: f->bind = optarg; break;
        case F_LOG:
            if ((f->log_level = byron_log_level_parse(optarg)) < 0) {
                fprintf(stderr, "byron-operator: --log-level: unknown level '%s'\n", optarg);
                return 2;
            }
            break;
        case F_LEASE_MS:
            if (parse_int("--lease-duration-ms", optarg, 1000, 600000, &v)) return 2;
            f->lease_ms = (unsigned)v;
            break;
        case F_RENEW_MS:
            if (parse_int("--renew-deadline-ms", optarg, 500, 600000, &v)) return 2;
            f->renew_ms = (unsigned)v;
            break;
        case F_RETRY_MS:
            if (parse_int("--retry-period-ms", optarg, 100, 600000, &v)) return 2;
            f->retry_ms = (unsigned)v;
            break;
        case F_RESYNC:
            if (parse_int("--resync-period", optarg, 0, 86400, &f->resync_s)) return 2;
            break;
        case F_INSIGHTS:
            if (parse_int("--insights-period", optarg, 0, 86400, &f->insights_period_s)) return 2;
            break;
        case F_LAG:
            if (parse_int("--lag-threshold", optarg, 0, 1000000000, &f->lag_threshold)) return 2;
            break;
        case F_DEAD_LETTERS:
            if (parse_int("--dead-letter-threshold", optarg, 1, 1000000000, &f->dead_letter_threshold))
                return 2;
            break;
        case F_NATS_ID:
            if (!strchr(optarg, '/') || optarg[0] == '/' || !strchr(optarg, '/')[1]) {
                fprintf(stderr, "byron-operator: --nats-identity-secret: expected NAMESPACE/NAME, got '%s'\n",
                        optarg);
                return 2;
            }
            f->nats_identity_secret = optarg;
            break;
        case F_NATS_ID_GEN: f->nats_identity_generate = 1; break;
        case F_NO_NETPOL: f->no_network_policies = 1; break;
        case F_MONITORING_NS: f->monitoring_namespace = optarg; break;
        case F_CACHE_KEY:
            if (!strchr(optarg, '/') || optarg[0] == '/' || !strchr(optarg, '/')[1]) {
                fprintf(stderr, "byron-operator: --cache-key-secret: expected NAMESPACE/NAME, got '%s'\n",
                        optarg);
                return 2;
            }
            f->cache_key_secret = optarg;
            break;
        case F_CACHE_KEY_GEN: f->cache_key_generate = 1; break;
        case F_NO_CACHE_USERS: f->no_cache_users = 1; break;
        case F_NATS_CA: f->nats_ca_file = optarg; break;
        case F_NATS_TTL:
            if (parse_int("--nats-credentials-ttl", optarg, 10, 31 * 86400, &f->nats_creds_ttl_s)) return 2;
            break;
        case F_STREAM_REPLICAS:
            if (parse_int("--default-stream-replicas", optarg, 1, 3, &f->stream_replicas) ||
                f->stream_replicas == 2) {
                fprintf(stderr, "byron-operator: --default-stream-replicas: 1 or 3\n");
                return 2;
            }
            break;
        case F_STREAM_MAX_BYTES: {
            json_object *size =
                !strcmp(optarg, "-1") ? json_object_new_int(-1) : json_object_new_string(optarg);
            byron_err_t e = {0};
            byron_status_t st =
                byron_desired_bytes(size, "--default-stream-max-bytes", &f->stream_max_bytes, &e);
            json_object_put(size);
            if (st) {
                fprintf(stderr, "byron-operator: %s\n", e.msg);
                return 2;
            }
            break;
        }
        case F_VERSION: printf("byron-operator %s\n", BYRON_VERSION); return 1;
        case F_HELP: usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "byron-operator: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* byron-operator nats-identity DIR: a trust chain for a NATS you run yourself. */
static int write_file(const char *dir, const char *name, const char *text, mode_t mode) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "byron-operator: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    if (!ok) fprintf(stderr, "byron-operator: %s: write failed\n", path);
    return ok ? 0 : -1;
}

static int nats_identity_command(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: byron-operator nats-identity DIR\n");
        return 2;
    }
    byron_natsidentity_t id;
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&id, (int64_t)time(NULL), &err);
    if (!data) {
        fprintf(stderr, "byron-operator: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    json_object_object_foreach(data, k, v) {
        /* the seed and the route password are secrets; auth.conf holds only public JWTs */
        if (write_file(argv[2], k, json_object_get_string(v),
                       strcmp(k, BYRON_NATSID_AUTH_CONF) ? 0600 : 0644))
            rc = 1;
    }
    byron_nkey_wipe(&id.signing);
    json_object_put(data);
    if (!rc)
        printf("NATS identity written to %s: include auth.conf in nats-server's configuration; give the "
               "operator the rest as a Secret (--nats-identity-secret).\n",
               argv[2]);
    return rc;
}

static json_object *make_identity(void *ud, byron_err_t *err) {
    return byron_natsidentity_generate(ud, (int64_t)time(NULL), err);
}

/* The key the components' cache passwords derive from (32 random bytes, hex). */
static json_object *make_cache_key(void *ud, byron_err_t *err) {
    unsigned char k[32];
    char hex[65];
    if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
        byron_err_set(err, BYRON_EIO, "getrandom failed");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(k); i++) snprintf(hex + 2 * i, 3, "%02x", k[i]);
    json_object *d = json_object_new_object();
    json_object_object_add(d, BYRON_CACHE_KEY, json_object_new_string(hex));
    return d;
}

static byron_httpd_t *serve(const char *bind, int port, int probes, int metrics, byron_metrics_t *m,
                            byron_err_t *err) {
    byron_httpd_options_t ho = {.bind_addr = bind, .port = port};
    byron_httpd_t *h = byron_httpd_new(&ho, err);
    if (!h) return NULL;
    if (probes) {
        byron_httpd_route(h, "/healthz", healthz, NULL);
        byron_httpd_route(h, "/readyz", readyz, NULL);
    }
    if (metrics) byron_httpd_route(h, "/metrics", byron_http_metrics_handler, m);
    if (byron_httpd_start(h, err) != BYRON_OK) {
        byron_httpd_free(h);
        return NULL;
    }
    return h;
}

int main(int argc, char **argv) {
    flags_t f = {.workers = 2,
                 .resync_s = 600,
                 .insights_period_s = 30,
                 .lag_threshold = 1000,
                 .dead_letter_threshold = 1,
                 .metrics_port = 8080,
                 .probe_port = 8081,
                 .log_level = BYRON_LOG_INFO,
                 .lease_name = "byron-operator",
                 .cache_image = "mongo:7"};
    if (argc > 1 && !strcmp(argv[1], "nats-identity")) return nats_identity_command(argc, argv);
    int rc = parse_flags(argc, argv, &f);
    if (rc) return rc == 1 ? 0 : rc;
    byron_log_setup("operator", (byron_log_level_t)f.log_level, 2);
    /* glibc gives each thread its own malloc arena (up to 8 per core); our
     * threads spend their time waiting on the network, so two arenas cost no
     * measurable contention and keep RSS from growing with --workers. */
    mallopt(M_ARENA_MAX, 2);

    /* Block the shutdown signals before any thread exists, so all inherit it. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    byron_err_t err = {0};
    byron_kube_config_t *cfg = NULL;
    byron_kube_client_t *client = NULL;
    byron_metrics_t *metrics = byron_metrics_new();
    byron_httpd_t *h_probe = NULL, *h_metrics = NULL;
    byron_recorder_t *rec = NULL;
    byron_leader_t *leader = NULL;
    byron_controller_t *ctl = NULL;
    byron_broker_t *broker = NULL;
    byron_natsidentity_t nats_id;
    char *ca_pem = NULL;
    unsigned char cache_key[128];
    size_t cache_key_len = 0;
    pthread_t sigthr;
    int exit_code = 1;
    char identity[300];

    byron_status_t st;
    if (!f.kubeconfig && getenv("KUBERNETES_SERVICE_HOST"))
        st = byron_kubeconfig_in_cluster(NULL, &cfg, &err);
    else
        st = byron_kubeconfig_load(f.kubeconfig, f.context, &cfg, &err);
    if (st) {
        byron_log(BYRON_LOG_ERROR, "cannot load credentials", "error", err.msg, (char *)NULL);
        goto out;
    }
    if (!(client = byron_kube_client_new(cfg, &err))) goto fail;
    byron_kube_client_set_metrics(client, metrics);
    if (f.nats_identity_secret) {
        json_object *d = NULL;
        if (byron_release_secret_load(client, f.nats_identity_secret,
                                      f.nats_identity_generate ? make_identity : NULL, &nats_id, &d, &err) ||
            byron_natsidentity_load(d, &nats_id, &err)) {
            json_object_put(d);
            byron_err_prefix(&err, "--nats-identity-secret %s", f.nats_identity_secret);
            goto fail;
        }
        json_object_put(d);
    }
    if (f.cache_key_secret) {
        json_object *d = NULL, *v = NULL;
        if (byron_release_secret_load(client, f.cache_key_secret,
                                      f.cache_key_generate ? make_cache_key : NULL, NULL, &d, &err)) {
            byron_err_prefix(&err, "--cache-key-secret %s", f.cache_key_secret);
            goto fail;
        }
        const char *hex = json_object_object_get_ex(d, BYRON_CACHE_KEY, &v) ? json_object_get_string(v) : "";
        size_t n = strlen(hex);
        if (n < 32 || n > sizeof(cache_key)) {
            json_object_put(d);
            byron_err_set(&err, BYRON_EINVAL, "--cache-key-secret %s: key %s must be 32 to %zu characters",
                          f.cache_key_secret, BYRON_CACHE_KEY, sizeof(cache_key));
            goto fail;
        }
        cache_key_len = n;
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result): key bytes, length cache_key_len
        memcpy(cache_key, hex, n);
        json_object_put(d);
    }
    if (f.nats_ca_file) {
        size_t len = 0;
        if (byron_file_read(f.nats_ca_file, 64 * 1024, &ca_pem, &len, &err)) goto fail;
        if (!strstr(ca_pem, "-----BEGIN CERTIFICATE-----")) {
            byron_err_set(&err, BYRON_EINVAL, "--nats-ca-file %s: no PEM certificate in it", f.nats_ca_file);
            goto fail;
        }
    }
    byron_broker_options_t bo = {.identity = f.nats_identity_secret ? &nats_id : NULL,
                                 .ca_file = f.nats_ca_file,
                                 .metrics = metrics,
                                 .refresh_s = (unsigned)f.insights_period_s,
                                 .no_insights = f.insights_period_s == 0};
    byron_insights_thresholds_t thresholds = {.lag = f.lag_threshold,
                                              .dead_letters = f.dead_letter_threshold};
    if (!(broker = byron_broker_new(&bo, &err)) || byron_broker_start(broker, &err)) goto fail;

    char host[256] = "byron-operator";
    gethostname(host, sizeof(host));
    unsigned char rnd[4] = {0};
    if (getrandom(rnd, sizeof(rnd), 0) < 0) memset(rnd, 0, sizeof(rnd));
    snprintf(identity, sizeof(identity), "%s_%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3]);

    static const char *const lname[] = {"name", NULL};
    byron_metric_t *m_leader =
        byron_metrics_register(metrics, BYRON_METRIC_GAUGE, "leader_election_master_status",
                               "1 when this instance leads (or leader election is off).", lname, NULL, 0);
    const char *leader_label[] = {f.lease_name};
    byron_metric_set(m_leader, leader_label, 0);

    if (f.probe_port && f.probe_port == f.metrics_port) {
        if (!(h_probe = serve(f.bind, f.probe_port, 1, 1, metrics, &err))) goto fail;
    } else {
        if (f.probe_port && !(h_probe = serve(f.bind, f.probe_port, 1, 0, metrics, &err))) goto fail;
        if (f.metrics_port && !(h_metrics = serve(f.bind, f.metrics_port, 0, 1, metrics, &err))) goto fail;
    }
    if (pthread_create(&sigthr, NULL, signal_thread, &sigs) != 0) goto out;
    pthread_detach(sigthr);

    rec = byron_recorder_new(client, identity);
    if (f.leader_elect) {
        const char *lns = f.lease_namespace ? f.lease_namespace : getenv("POD_NAMESPACE");
        if (!lns || !*lns) lns = cfg->namespace && *cfg->namespace ? cfg->namespace : "byron-system";
        byron_leader_options_t lo = {.namespace = lns,
                                     .name = f.lease_name,
                                     .identity = identity,
                                     .lease_ms = f.lease_ms,
                                     .renew_deadline_ms = f.renew_ms,
                                     .retry_ms = f.retry_ms};
        if (!(leader = byron_leader_new(client, &lo, &err))) goto fail;
        atomic_store(&g_ready, 1); /* a standby is ready: it is doing its job */
        byron_log(BYRON_LOG_INFO, "leader election", "identity", identity, "lease", f.lease_name, "namespace",
                  lns, (char *)NULL);
        if (byron_leader_run(leader, &g_stop, on_lost, NULL, &err) != BYRON_OK) {
            exit_code = 0; /* stopped while standing by */
            goto out;
        }
        atomic_store(&g_ready, 0);
        byron_log(BYRON_LOG_INFO, "became leader", "identity", identity, (char *)NULL);
    }
    byron_metric_set(m_leader, leader_label, 1);

    /* spec.api.expose: HTTPRoutes where the cluster serves the Gateway API,
     * Ingresses otherwise. Read once: installing the Gateway API later takes
     * an operator restart (docs/operator.md, "One address"). */
    int gateway_api = 0;
    if (byron_expose_gateway_api_served(client, &gateway_api, &err) != BYRON_OK) goto fail;
    byron_log(BYRON_LOG_INFO, "gateway api", "served", gateway_api ? "true" : "false", (char *)NULL);

    byron_controller_options_t co = {
        .client = client,
        .broker = broker,
        .nats_identity = f.nats_identity_secret ? &nats_id : NULL,
        .nats_credentials_ttl_s = (unsigned)f.nats_creds_ttl_s,
        .desired = {.sidecar_image = f.sidecar_image,
                    .default_cache_image = f.cache_image,
                    .default_broker_url = f.broker_url,
                    .cache_uri_options = f.cache_uri_options,
                    .default_stream_replicas = f.stream_replicas,
                    .default_stream_max_bytes = f.stream_max_bytes,
                    .nats_auth = f.nats_identity_secret != NULL,
                    .network_policies = !f.no_network_policies,
                    .monitoring_namespace = f.monitoring_namespace,
                    .cache_users = !f.no_cache_users,
                    .cache_key = cache_key_len ? cache_key : NULL,
                    .cache_key_len = cache_key_len,
                    .nats_ca_pem = ca_pem,
                    .default_auth = f.default_auth,
                    .gateway_api = gateway_api},
        .namespaces = f.nns ? f.namespaces : NULL,
        .nnamespaces = f.nns,
        .workers = f.workers,
        .metrics = metrics,
        .recorder = rec,
        .resync_s = (unsigned)f.resync_s,
        .insights = f.insights_period_s ? &thresholds : NULL,
    };
    if (!(ctl = byron_controller_new(&co, &err))) goto fail;
    if (byron_controller_start(ctl, 120000, &err) != BYRON_OK) goto fail;
    atomic_store(&g_ready, 1);
    char nw[16];
    snprintf(nw, sizeof(nw), "%d", f.workers);
    byron_log(BYRON_LOG_INFO, "started", "version", BYRON_VERSION, "workers", nw, (char *)NULL);

    pthread_mutex_lock(&g_mu);
    while (!atomic_load(&g_stop)) pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    exit_code = atomic_load(&g_lost) ? 1 : 0;
    goto out;
fail:
    byron_log(BYRON_LOG_ERROR, "fatal", "error", err.msg, (char *)NULL);
out:
    /* Order: stop acting (informers, workers), then give up the Lease so a
     * standby starts from a quiet cluster, then the servers. */
    byron_controller_free(ctl);
    byron_broker_free(broker); /* after the workers that use it */
    free(ca_pem);
    if (f.nats_identity_secret) byron_nkey_wipe(&nats_id.signing);
    OPENSSL_cleanse(cache_key, sizeof(cache_key));
    byron_leader_free(leader);
    byron_recorder_free(rec);
    byron_httpd_free(h_probe);
    byron_httpd_free(h_metrics);
    byron_kube_client_free(client);
    byron_metrics_free(metrics);
    curl_global_cleanup();
    nats_CloseAndWait(2000); /* cnats' own threads, after the broker closed its connections */
    byron_log(BYRON_LOG_INFO, "stopped", (char *)NULL);
    return exit_code;
}
