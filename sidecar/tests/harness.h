/* harness.h — integration-test helpers: the testenv servers, a real
 * byron-sidecar process (and a reference app) per test, HTTP calls, and
 * reading the stream back with cnats. No mocks. */
#ifndef BYRON_SIDECAR_TEST_HARNESS_H
#define BYRON_SIDECAR_TEST_HARNESS_H

#include <json-c/json.h>
#include <nats/nats.h>
#include <stdint.h>
#include <sys/types.h>

/* A value of the testenv env file (BYRON_TESTENV); aborts the test if absent. */
const char *h_env(const char *key);
int h_free_port(void);

typedef struct h_sidecar {
    pid_t pid, app_pid;
    int port, admin_port; /* public (GraphQL; REST is enabled for tests) and admin (probes, metrics) */
    char dir[256], config[300], sock[300], app_sock[300], log[300], app_log[300];
    char component[64], stream[128];
} h_sidecar_t;

/* Partitions of the components h_sidecar_start writes (0: orders.json's 8). */
extern int h_sidecar_partitions;
/* The component the next h_sidecar_start describes: a component.json, or a
 * ByronComponent YAML whose spec is used (NULL: sidecar/tests/data/orders.json). */
extern const char *h_component_source;

/* Apps: "python" and "node" are the reference apps; "orders" is the orders
 * example's app (examples/orders/app, EXAMPLE_APP=orders). h_sink_start's
 * app number: 1 Python, 2 Node, 3 the orders example. */

/* Start an api sidecar for a fresh component (name unique per call; "=name":
 * exactly that component, i.e. another replica of one already started) with the
 * test config; app: NULL (none), "python" or "node"; extra: NULL-terminated
 * extra arguments. Waits until /readyz answers 200. */
void h_sidecar_start(h_sidecar_t *sc, const char *name, const char *app, const char *const *extra);
/* The same against another NATS URL (NULL: the testenv's), optionally without waiting for readiness. */
void h_sidecar_start_ex(h_sidecar_t *sc, const char *name, const char *app, const char *const *extra,
                        const char *nats_url, int wait_ready);
/* The command line every test sidecar shares (api or sink mode, loopback,
 * testenv servers, REST on the public port too); app_sock: NULL for no app.
 * Fills argv (room for at least 20 entries) without the NULL terminator and
 * returns the count. */
int h_sidecar_argv(char **argv, const char *bin, const char *mode, const char *config, const char *nats,
                   const char *mongo, const char *port, const char *admin_port, const char *sock,
                   const char *app_sock);
/* Fork and exec argv with stdout/stderr appended to log and extra "K=V"
 * environment entries (NULL-terminated, or NULL); the child dies with the test. */
pid_t h_spawn(char *const argv[], const char *log, char *const extra_env[]);
/* Wait up to timeout_ms for pid: its exit status (128+signal), or -1 after SIGKILL.
 * A child of h_spawn whose log holds a sanitizer report fails the test. */
int h_wait_exit(pid_t pid, int timeout_ms);
/* Whether the log holds an ASan/LSan/UBSan/TSan report (its first lines go to stderr). */
int h_log_sanitizer_report(const char *log);

int64_t h_mono_ms(void);
/* A pause between polls of a condition with a deadline, or a client's pause before a retry. */
void h_sleep_ms(long ms);
/* /readyz on the port answers 200. */
int h_ready(int port);

/* A sink process for a component (its config: an api sidecar's), and
 * optionally the reference app beside it on the sink's sockets (app: 0 none,
 * 1 Python, 2 Node). env: NULL-terminated "K=V" for the sink (BYRON_SINK_*);
 * app_env for the app; extra_arg: one more flag or NULL. Waits (20 s) until
 * /readyz answers 200. */
typedef struct h_sink {
    pid_t pid, app_pid;
    int port, admin; /* public (REST, enabled for tests) and admin (probes, metrics) */
    char dir[256], sock[300], app_sock[300], log[300], app_log[300];
} h_sink_t;
void h_sink_start(h_sink_t *k, const char *config, int app, char *const *env, char *const *app_env,
                  const char *extra_arg);
/* Stop the api sidecar's app (it must exit 0) and start a reference app
 * ("python" or "node") again on the same sockets with app_env ("K=V",
 * NULL-terminated): a new socket file. Returns once the app answers
 * GET /v1/health (20 s). */
void h_sidecar_app_restart(h_sidecar_t *sc, const char *app, char *const *app_env);
/* (Re)start the reference app beside a sink (1: Python, 2: Node). */
void h_app_start(h_sink_t *k, int app, char *const *app_env);
/* Sum of byron_sink_events_total over event types for one outcome, from the
 * sidecar's /metrics on port (its admin port). */
double h_sink_outcome(int port, const char *outcome);
/* h_sink_outcome once it reaches at_least, or at the deadline (timeout_ms),
 * whatever it is then. A sink counts an event after its ack, so after what
 * the event wrote is visible: read a count only through this. */
double h_sink_outcome_wait(int port, const char *outcome, double at_least, long timeout_ms);
/* Whether the sidecar's /metrics on port (its admin port) has exactly this line
 * ("name value" or "name{labels} value"). */
int h_metric_is(int port, const char *line);
/* The value of an unlabelled metric ("name value") on the sidecar's /metrics
 * on port (its admin port); -1 when it is not there. */
double h_metric_value(int port, const char *name);
/* Signal the sink (SIGTERM, or SIGKILL for a crash), wait; the sink's exit status (or -1).
 * With SIGTERM a status other than 0 fails the test here; the app beside it
 * (if any) is stopped with SIGTERM and must exit 0. */
int h_sink_stop(h_sink_t *k, int sig);

/* The fold checker (docs/consistency.md): byron-sidecar --mode=verify on the
 * component of config, with the app on app_sock (NULL: none; pass the sink's
 * app socket to fold custom events as the sink did). Waits up to 60 s for the
 * sink to settle. Returns its exit status (0: the cache equals the fold, 1: it
 * differs, 3: not settled) and, if report is not NULL, its stdout (one JSON
 * line per finding, then the summary; caller frees). A sanitizer report fails
 * the test. Call it after a scenario: cr_assert_eq(h_verify(cfg, sock, NULL), 0). */
int h_verify(const char *config, const char *app_sock, char **report);
/* The same with more flags (NULL-terminated, or NULL), e.g. {"--wait-ms", "500", NULL}. */
int h_verify_ex(const char *config, const char *app_sock, const char *const *extra, char **report);
/* After a scenario: the fold checker must find the cache equal to the fold
 * of the log (exit 0); its report is the failure message otherwise. */
void h_assert_fold_equals_cache(const char *config, const char *app_sock);
/* Whether a line of the file (a child's log) contains needle. */
int h_file_contains(const char *path, const char *needle);

/* byron-sidecar --mode=admin (kubectl byron's work in the sink pod) on the
 * component of config with the testenv's servers, the app on app_sock (NULL:
 * none) and args (NULL-terminated: the command and its flags). Returns its exit
 * status; *out gets its stdout and *errout its stderr (either may be NULL;
 * caller frees). A sanitizer report fails the test. */
int h_admin(const char *config, const char *app_sock, const char *const *args, char **out, char **errout);

/* POST /v1/control on the reference app's socket ({"noHooks": bool},
 * {"poison": bool}: examples/reference-app/python/app.py); the test fails
 * unless it answers 200. */
void h_app_control(const char *app_sock, const char *body);

/* SIGTERM, wait; returns the exit status (or -1). A status other than 0 fails
 * the test here (so does the app's, stopped the same way). */
int h_sidecar_stop(h_sidecar_t *sc);

typedef struct h_resp {
    long status;
    char *body;
    json_object *json; /* NULL if the body is not JSON */
} h_resp_t;

/* HTTP over TCP (unix_path NULL) or a Unix socket; body NULL: GET. 0 on transport success. */
int h_http(const char *unix_path, int port, const char *method, const char *path, const char *body,
           long timeout_ms, h_resp_t *out);
/* The same with one extra request header ("traceparent: ..."), or NULL. */
int h_http_hdr(const char *unix_path, int port, const char *method, const char *path, const char *body,
               long timeout_ms, const char *header, h_resp_t *out);
void h_resp_free(h_resp_t *r);
/* POST /v1/commands/<cmd> on the sidecar's TCP port. */
int h_command(h_sidecar_t *sc, const char *cmd, const char *body, h_resp_t *out);
/* "error.code" of a response, or "" */
const char *h_error_code(h_resp_t *r);

/* A nats-server (JetStream) of the test's own, for tests that stop, crash and
 * restart it: the testenv's server is shared by every test running at once. */
typedef struct {
    pid_t pid;
    int port, monitor;
    char dir[64], log[128], url[64];
} h_nats_t;
/* Start it on free ports with its store in a fresh directory; waits (20 s) until JetStream is ready. */
void h_nats_start(h_nats_t *n);
/* Signal it (SIGTERM: graceful; SIGKILL: a crash) and wait; its exit status. */
int h_nats_stop(h_nats_t *n, int sig);
/* Start it again on the same ports and the same data; waits until ready. */
void h_nats_restart(h_nats_t *n);
/* The same as h_stream_events on another server. */
json_object *h_stream_events_at(const char *nats_url, const char *stream, const char *prefix);

/* Every event of the stream whose subject starts with prefix (NULL: all), in
 * stream order: [{"seq":..,"subject":..,"msgid":..,"event":{envelope}}]. Caller puts. */
json_object *h_stream_events(const char *stream, const char *prefix);

#endif
