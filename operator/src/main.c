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
#include <stddef.h>
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
        "  --resync-period SECONDS    reconcile every component again this often (default 600; 0: never)\n"
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

/* --- flags with their own syntax: 0, or 2 after a message on stderr ------------ */
static int set_namespaces(flags_t *f, const char *flag, char *arg) {
    for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
        if (f->nns == MAX_NS) {
            fprintf(stderr, "byron-operator: %s: at most %d namespaces\n", flag, MAX_NS);
            return 2;
        }
        if (*tok) f->namespaces[f->nns++] = tok;
    }
    return 0;
}

static int set_default_auth(flags_t *f, const char *flag, char *arg) {
    json_object *a = NULL;
    byron_err_t aerr;
    int ok = byron_json_parse(arg, strlen(arg), 32, &a, &aerr) == BYRON_OK &&
             json_object_is_type(a, json_type_object);
    json_object_put(a);
    if (!ok) {
        fprintf(stderr, "byron-operator: %s: not a JSON object (spec.auth)\n", flag);
        return 2;
    }
    f->default_auth = arg;
    return 0;
}

static int set_log_level(flags_t *f, const char *flag, char *arg) {
    if ((f->log_level = byron_log_level_parse(arg)) < 0) {
        fprintf(stderr, "byron-operator: %s: unknown level '%s'\n", flag, arg);
        return 2;
    }
    return 0;
}

/* NAMESPACE/NAME of a Secret, both parts non-empty. */
static int secret_ref(const char *flag, const char *arg) {
    const char *slash = strchr(arg, '/');
    if (!slash || arg[0] == '/' || !slash[1]) {
        fprintf(stderr, "byron-operator: %s: expected NAMESPACE/NAME, got '%s'\n", flag, arg);
        return 2;
    }
    return 0;
}

static int set_nats_identity_secret(flags_t *f, const char *flag, char *arg) {
    if (secret_ref(flag, arg)) return 2;
    f->nats_identity_secret = arg;
    return 0;
}

static int set_cache_key_secret(flags_t *f, const char *flag, char *arg) {
    if (secret_ref(flag, arg)) return 2;
    f->cache_key_secret = arg;
    return 0;
}

static int set_stream_replicas(flags_t *f, const char *flag, char *arg) {
    if (parse_int(flag, arg, 1, 3, &f->stream_replicas) || f->stream_replicas == 2) {
        fprintf(stderr, "byron-operator: %s: 1 or 3\n", flag);
        return 2;
    }
    return 0;
}

static int set_stream_max_bytes(flags_t *f, const char *flag, char *arg) {
    json_object *size = !strcmp(arg, "-1") ? json_object_new_int(-1) : json_object_new_string(arg);
    byron_err_t e = {0};
    byron_status_t st = byron_desired_bytes(size, flag, &f->stream_max_bytes, &e);
    json_object_put(size);
    if (st) {
        fprintf(stderr, "byron-operator: %s\n", e.msg);
        return 2;
    }
    return 0;
}

/* --- the table of flags ---------------------------------------------------------
 * One row per flag, in usage() order: its name, whether it takes an argument,
 * how its value is stored (a string, a switch, an integer within [lo, hi], or
 * a function for its own syntax) and where in flags_t. */
typedef enum { FLAG_STR, FLAG_SWITCH, FLAG_INT, FLAG_UINT, FLAG_FN, FLAG_VERSION, FLAG_HELP } flag_kind_t;

#define OFF(field) offsetof(flags_t, field)

typedef struct flag_def {
    const char *name;
    int has_arg;
    flag_kind_t kind;
    size_t off; /* offsetof(flags_t, ...) for STR, SWITCH, INT, UINT */
    int lo, hi;
    int (*set)(flags_t *f, const char *flag, char *arg); /* FLAG_FN */
} flag_def_t;

static const flag_def_t FLAGS[] = {
    {"kubeconfig", required_argument, FLAG_STR, OFF(kubeconfig), 0, 0, NULL},
    {"context", required_argument, FLAG_STR, OFF(context), 0, 0, NULL},
    {"namespace", required_argument, FLAG_FN, 0, 0, 0, set_namespaces},
    {"workers", required_argument, FLAG_INT, OFF(workers), 1, 256, NULL},
    {"sidecar-image", required_argument, FLAG_STR, OFF(sidecar_image), 0, 0, NULL},
    {"default-cache-image", required_argument, FLAG_STR, OFF(cache_image), 0, 0, NULL},
    {"cache-uri-options", required_argument, FLAG_STR, OFF(cache_uri_options), 0, 0, NULL},
    {"default-broker-url", required_argument, FLAG_STR, OFF(broker_url), 0, 0, NULL},
    {"default-auth", required_argument, FLAG_FN, 0, 0, 0, set_default_auth},
    {"default-stream-replicas", required_argument, FLAG_FN, 0, 0, 0, set_stream_replicas},
    {"default-stream-max-bytes", required_argument, FLAG_FN, 0, 0, 0, set_stream_max_bytes},
    {"nats-identity-secret", required_argument, FLAG_FN, 0, 0, 0, set_nats_identity_secret},
    {"nats-identity-generate", no_argument, FLAG_SWITCH, OFF(nats_identity_generate), 0, 0, NULL},
    {"nats-credentials-ttl", required_argument, FLAG_INT, OFF(nats_creds_ttl_s), 10, 31 * 86400, NULL},
    {"nats-ca-file", required_argument, FLAG_STR, OFF(nats_ca_file), 0, 0, NULL},
    {"no-network-policies", no_argument, FLAG_SWITCH, OFF(no_network_policies), 0, 0, NULL},
    {"monitoring-namespace", required_argument, FLAG_STR, OFF(monitoring_namespace), 0, 0, NULL},
    {"cache-key-secret", required_argument, FLAG_FN, 0, 0, 0, set_cache_key_secret},
    {"cache-key-generate", no_argument, FLAG_SWITCH, OFF(cache_key_generate), 0, 0, NULL},
    {"no-cache-users", no_argument, FLAG_SWITCH, OFF(no_cache_users), 0, 0, NULL},
    {"leader-elect", no_argument, FLAG_SWITCH, OFF(leader_elect), 0, 0, NULL},
    {"lease-namespace", required_argument, FLAG_STR, OFF(lease_namespace), 0, 0, NULL},
    {"lease-name", required_argument, FLAG_STR, OFF(lease_name), 0, 0, NULL},
    {"lease-duration-ms", required_argument, FLAG_UINT, OFF(lease_ms), 1000, 600000, NULL},
    {"renew-deadline-ms", required_argument, FLAG_UINT, OFF(renew_ms), 500, 600000, NULL},
    {"retry-period-ms", required_argument, FLAG_UINT, OFF(retry_ms), 100, 600000, NULL},
    {"resync-period", required_argument, FLAG_INT, OFF(resync_s), 0, 86400, NULL},
    {"insights-period", required_argument, FLAG_INT, OFF(insights_period_s), 0, 86400, NULL},
    {"lag-threshold", required_argument, FLAG_INT, OFF(lag_threshold), 0, 1000000000, NULL},
    {"dead-letter-threshold", required_argument, FLAG_INT, OFF(dead_letter_threshold), 1, 1000000000, NULL},
    {"metrics-port", required_argument, FLAG_INT, OFF(metrics_port), 0, 65535, NULL},
    {"probe-port", required_argument, FLAG_INT, OFF(probe_port), 0, 65535, NULL},
    {"bind-address", required_argument, FLAG_STR, OFF(bind), 0, 0, NULL},
    {"log-level", required_argument, FLAG_FN, 0, 0, 0, set_log_level},
    {"version", no_argument, FLAG_VERSION, 0, 0, 0, NULL},
    {"help", no_argument, FLAG_HELP, 0, 0, 0, NULL},
};
#define N_FLAGS (sizeof(FLAGS) / sizeof(FLAGS[0]))

/* One flag's value into f: 0, 1 (--version, --help: exit 0) or 2 (refused). */
static int set_flag(flags_t *f, const flag_def_t *d, char *arg) {
    char flag[64];
    snprintf(flag, sizeof(flag), "--%s", d->name);
    char *field = (char *)f + d->off;
    int v;
    switch (d->kind) {
    case FLAG_STR: *(const char **)(void *)field = arg; return 0;
    case FLAG_SWITCH: *(int *)(void *)field = 1; return 0;
    case FLAG_INT: return parse_int(flag, arg, d->lo, d->hi, (int *)(void *)field) ? 2 : 0;
    case FLAG_UINT:
        if (parse_int(flag, arg, d->lo, d->hi, &v)) return 2;
        *(unsigned *)(void *)field = (unsigned)v;
        return 0;
    case FLAG_FN: return d->set(f, flag, arg);
    case FLAG_VERSION: printf("byron-operator %s\n", BYRON_VERSION); return 1;
    case FLAG_HELP: usage(stdout); return 1;
    }
    return 2;
}

/* 0: run; 1: done (--version, --help); 2: refused (a message was printed). */
static int parse_flags(int argc, char **argv, flags_t *f) {
    struct option opts[N_FLAGS + 1];
    for (size_t i = 0; i < N_FLAGS; i++)
        opts[i] = (struct option){FLAGS[i].name, FLAGS[i].has_arg, NULL, 256 + (int)i};
    opts[N_FLAGS] = (struct option){NULL, 0, NULL, 0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c < 256 || c >= 256 + (int)N_FLAGS) {
            usage(stderr);
            return 2;
        }
        int rc = set_flag(f, &FLAGS[c - 256], optarg);
        if (rc) return rc;
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

/* Everything main starts, in the order it starts; stop_all() releases it in
 * the reverse order that matters. */
typedef struct operator_proc {
    flags_t f;
    byron_kube_config_t *cfg;
    byron_kube_client_t *client;
    byron_metrics_t *metrics;
    byron_httpd_t *h_probe, *h_metrics;
    byron_recorder_t *rec;
    byron_leader_t *leader;
    byron_controller_t *ctl;
    byron_broker_t *broker;
    byron_natsidentity_t nats_id;
    byron_insights_thresholds_t thresholds;
    char *ca_pem;
    unsigned char cache_key[128];
    size_t cache_key_len;
    byron_metric_t *m_leader;
    char identity[300];
} operator_proc_t;

/* The API server's address and credentials: in-cluster, else a kubeconfig. */
static byron_status_t connect_api(operator_proc_t *p, byron_err_t *err) {
    byron_status_t st;
    if (!p->f.kubeconfig && getenv("KUBERNETES_SERVICE_HOST"))
        st = byron_kubeconfig_in_cluster(NULL, &p->cfg, err);
    else
        st = byron_kubeconfig_load(p->f.kubeconfig, p->f.context, &p->cfg, err);
    if (st) return st;
    if (!(p->client = byron_kube_client_new(p->cfg, err))) return err->code;
    byron_kube_client_set_metrics(p->client, p->metrics);
    return BYRON_OK;
}

static byron_status_t load_nats_identity(operator_proc_t *p, byron_err_t *err) {
    json_object *d = NULL;
    byron_status_t st =
        byron_release_secret_load(p->client, p->f.nats_identity_secret,
                                  p->f.nats_identity_generate ? make_identity : NULL, &p->nats_id, &d, err);
    if (!st) st = byron_natsidentity_load(d, &p->nats_id, err);
    json_object_put(d);
    if (st) byron_err_prefix(err, "--nats-identity-secret %s", p->f.nats_identity_secret);
    return st;
}

static byron_status_t load_cache_key(operator_proc_t *p, byron_err_t *err) {
    json_object *d = NULL, *v = NULL;
    if (byron_release_secret_load(p->client, p->f.cache_key_secret,
                                  p->f.cache_key_generate ? make_cache_key : NULL, NULL, &d, err)) {
        byron_err_prefix(err, "--cache-key-secret %s", p->f.cache_key_secret);
        return err->code;
    }
    const char *hex = json_object_object_get_ex(d, BYRON_CACHE_KEY, &v) ? json_object_get_string(v) : "";
    size_t n = strlen(hex);
    if (n < 32 || n > sizeof(p->cache_key)) {
        json_object_put(d);
        return byron_err_set(err, BYRON_EINVAL, "--cache-key-secret %s: key %s must be 32 to %zu characters",
                             p->f.cache_key_secret, BYRON_CACHE_KEY, sizeof(p->cache_key));
    }
    p->cache_key_len = n;
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): key bytes, length cache_key_len
    memcpy(p->cache_key, hex, n);
    json_object_put(d);
    return BYRON_OK;
}

static byron_status_t load_nats_ca(operator_proc_t *p, byron_err_t *err) {
    size_t len = 0;
    if (byron_file_read(p->f.nats_ca_file, 64 * 1024, &p->ca_pem, &len, err)) return err->code;
    if (!strstr(p->ca_pem, "-----BEGIN CERTIFICATE-----"))
        return byron_err_set(err, BYRON_EINVAL, "--nats-ca-file %s: no PEM certificate in it",
                             p->f.nats_ca_file);
    return BYRON_OK;
}

/* The release's Secrets and files the flags name, then the broker client. */
static byron_status_t load_release(operator_proc_t *p, byron_err_t *err) {
    byron_status_t st = BYRON_OK;
    if (p->f.nats_identity_secret && (st = load_nats_identity(p, err))) return st;
    if (p->f.cache_key_secret && (st = load_cache_key(p, err))) return st;
    if (p->f.nats_ca_file && (st = load_nats_ca(p, err))) return st;
    byron_broker_options_t bo = {.identity = p->f.nats_identity_secret ? &p->nats_id : NULL,
                                 .ca_file = p->f.nats_ca_file,
                                 .metrics = p->metrics,
                                 .refresh_s = (unsigned)p->f.insights_period_s,
                                 .no_insights = p->f.insights_period_s == 0};
    p->thresholds =
        (byron_insights_thresholds_t){.lag = p->f.lag_threshold, .dead_letters = p->f.dead_letter_threshold};
    if (!(p->broker = byron_broker_new(&bo, err))) return err->code;
    return byron_broker_start(p->broker, err);
}

/* This instance's name for the Lease and events: host_<8 random hex>. */
static void make_identity_name(operator_proc_t *p) {
    char host[256] = "byron-operator";
    gethostname(host, sizeof(host));
    unsigned char rnd[4] = {0};
    if (getrandom(rnd, sizeof(rnd), 0) < 0) memset(rnd, 0, sizeof(rnd));
    snprintf(p->identity, sizeof(p->identity), "%s_%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3]);
}

/* The probe and metrics endpoints: one server when they share a port. */
static byron_status_t start_servers(operator_proc_t *p, byron_err_t *err) {
    const flags_t *f = &p->f;
    if (f->probe_port && f->probe_port == f->metrics_port)
        return (p->h_probe = serve(f->bind, f->probe_port, 1, 1, p->metrics, err)) ? BYRON_OK : err->code;
    if (f->probe_port && !(p->h_probe = serve(f->bind, f->probe_port, 1, 0, p->metrics, err)))
        return err->code;
    if (f->metrics_port && !(p->h_metrics = serve(f->bind, f->metrics_port, 0, 1, p->metrics, err)))
        return err->code;
    return BYRON_OK;
}

/* With --leader-elect, stand by until this instance holds the Lease. Returns
 * 1 when the operator was stopped while standing by, 0 to go on, -1 (err
 * set) when the election could not start. */
static int become_leader(operator_proc_t *p, byron_err_t *err) {
    const char *leader_label[] = {p->f.lease_name};
    if (p->f.leader_elect) {
        const char *lns = p->f.lease_namespace ? p->f.lease_namespace : getenv("POD_NAMESPACE");
        if (!lns || !*lns) lns = p->cfg->namespace && *p->cfg->namespace ? p->cfg->namespace : "byron-system";
        byron_leader_options_t lo = {.namespace = lns,
                                     .name = p->f.lease_name,
                                     .identity = p->identity,
                                     .lease_ms = p->f.lease_ms,
                                     .renew_deadline_ms = p->f.renew_ms,
                                     .retry_ms = p->f.retry_ms};
        if (!(p->leader = byron_leader_new(p->client, &lo, err))) return -1;
        atomic_store(&g_ready, 1); /* a standby is ready: it is doing its job */
        byron_log(BYRON_LOG_INFO, "leader election", "identity", p->identity, "lease", p->f.lease_name,
                  "namespace", lns, (char *)NULL);
        if (byron_leader_run(p->leader, &g_stop, on_lost, NULL, err) != BYRON_OK) return 1;
        atomic_store(&g_ready, 0);
        byron_log(BYRON_LOG_INFO, "became leader", "identity", p->identity, (char *)NULL);
    }
    byron_metric_set(p->m_leader, leader_label, 1);
    return 0;
}

/* Start the controller and sleep until shutdown. */
static byron_status_t run_controller(operator_proc_t *p, byron_err_t *err) {
    const flags_t *f = &p->f;
    /* spec.api.expose: HTTPRoutes where the cluster serves the Gateway API,
     * Ingresses otherwise. Read once: installing the Gateway API later takes
     * an operator restart (docs/operator.md, "One address"). */
    int gateway_api = 0;
    byron_status_t st = byron_expose_gateway_api_served(p->client, &gateway_api, err);
    if (st) return st;
    byron_log(BYRON_LOG_INFO, "gateway api", "served", gateway_api ? "true" : "false", (char *)NULL);
    byron_controller_options_t co = {
        .client = p->client,
        .broker = p->broker,
        .nats_identity = f->nats_identity_secret ? &p->nats_id : NULL,
        .nats_credentials_ttl_s = (unsigned)f->nats_creds_ttl_s,
        .desired = {.sidecar_image = f->sidecar_image,
                    .default_cache_image = f->cache_image,
                    .default_broker_url = f->broker_url,
                    .cache_uri_options = f->cache_uri_options,
                    .default_stream_replicas = f->stream_replicas,
                    .default_stream_max_bytes = f->stream_max_bytes,
                    .nats_auth = f->nats_identity_secret != NULL,
                    .network_policies = !f->no_network_policies,
                    .monitoring_namespace = f->monitoring_namespace,
                    .cache_users = !f->no_cache_users,
                    .cache_key = p->cache_key_len ? p->cache_key : NULL,
                    .cache_key_len = p->cache_key_len,
                    .nats_ca_pem = p->ca_pem,
                    .default_auth = f->default_auth,
                    .gateway_api = gateway_api},
        .namespaces = f->nns ? f->namespaces : NULL,
        .nnamespaces = f->nns,
        .workers = f->workers,
        .metrics = p->metrics,
        .recorder = p->rec,
        .resync_s = (unsigned)f->resync_s,
        .insights = f->insights_period_s ? &p->thresholds : NULL,
    };
    if (!(p->ctl = byron_controller_new(&co, err))) return err->code;
    if ((st = byron_controller_start(p->ctl, 120000, err))) return st;
    atomic_store(&g_ready, 1);
    char nw[16];
    snprintf(nw, sizeof(nw), "%d", f->workers);
    byron_log(BYRON_LOG_INFO, "started", "version", BYRON_VERSION, "workers", nw, (char *)NULL);
    pthread_mutex_lock(&g_mu);
    while (!atomic_load(&g_stop)) pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    return BYRON_OK;
}

/* Order: stop acting (informers, workers), then give up the Lease so a
 * standby starts from a quiet cluster, then the servers. */
static void stop_all(operator_proc_t *p) {
    byron_controller_free(p->ctl);
    byron_broker_free(p->broker); /* after the workers that use it */
    free(p->ca_pem);
    if (p->f.nats_identity_secret) byron_nkey_wipe(&p->nats_id.signing);
    OPENSSL_cleanse(p->cache_key, sizeof(p->cache_key));
    byron_leader_free(p->leader);
    byron_recorder_free(p->rec);
    byron_httpd_free(p->h_probe);
    byron_httpd_free(p->h_metrics);
    byron_kube_client_free(p->client);
    byron_metrics_free(p->metrics);
}

/* Process-wide setup, before any thread exists: logs, malloc arenas, the
 * signal mask every thread inherits, libcurl. */
static void setup_process(const flags_t *f, sigset_t *sigs) {
    byron_log_setup("operator", (byron_log_level_t)f->log_level, 2);
    /* glibc gives each thread its own malloc arena (up to 8 per core); our
     * threads spend their time waiting on the network, so two arenas cost no
     * measurable contention and keep RSS from growing with --workers. */
    mallopt(M_ARENA_MAX, 2);
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Start everything up to leadership; 0 to run, 1 to exit 0 (stopped while
 * standing by), -1 (err set) on failure. */
static int start_all(operator_proc_t *p, sigset_t *sigs, byron_err_t *err) {
    if (connect_api(p, err) || load_release(p, err)) return -1;
    make_identity_name(p);
    static const char *const lname[] = {"name", NULL};
    p->m_leader =
        byron_metrics_register(p->metrics, BYRON_METRIC_GAUGE, "leader_election_master_status",
                               "1 when this instance leads (or leader election is off).", lname, NULL, 0);
    const char *leader_label[] = {p->f.lease_name};
    byron_metric_set(p->m_leader, leader_label, 0);
    if (start_servers(p, err)) return -1;
    pthread_t sigthr;
    if (pthread_create(&sigthr, NULL, signal_thread, sigs) != 0) {
        byron_err_set(err, BYRON_ENOMEM, "cannot start the signal thread");
        return -1;
    }
    pthread_detach(sigthr);
    p->rec = byron_recorder_new(p->client, p->identity);
    return become_leader(p, err);
}

int main(int argc, char **argv) {
    operator_proc_t p = {.f = {.workers = 2,
                               .resync_s = 600,
                               .insights_period_s = 30,
                               .lag_threshold = 1000,
                               .dead_letter_threshold = 1,
                               .metrics_port = 8080,
                               .probe_port = 8081,
                               .log_level = BYRON_LOG_INFO,
                               .lease_name = "byron-operator",
                               .cache_image = "mongo:7"}};
    if (argc > 1 && !strcmp(argv[1], "nats-identity")) return nats_identity_command(argc, argv);
    int rc = parse_flags(argc, argv, &p.f);
    if (rc) return rc == 1 ? 0 : rc;
    sigset_t sigs; /* read by the signal thread, which main outlives */
    setup_process(&p.f, &sigs);
    p.metrics = byron_metrics_new();
    byron_err_t err = {0};
    int exit_code = 1;
    rc = start_all(&p, &sigs, &err);
    if (rc == 0 && run_controller(&p, &err) == BYRON_OK)
        exit_code = atomic_load(&g_lost) ? 1 : 0;
    else if (rc > 0)
        exit_code = 0; /* stopped while standing by */
    else if (!p.cfg)
        byron_log(BYRON_LOG_ERROR, "cannot load credentials", "error", err.msg, (char *)NULL);
    else
        byron_log(BYRON_LOG_ERROR, "fatal", "error", err.msg, (char *)NULL);
    stop_all(&p);
    curl_global_cleanup();
    nats_CloseAndWait(2000); /* cnats' own threads, after the broker closed its connections */
    byron_log(BYRON_LOG_INFO, "stopped", (char *)NULL);
    return exit_code;
}
