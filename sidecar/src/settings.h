/* settings.h — every flag and environment variable of byron-sidecar, in one
 * table (settings.c): name, variable, type, bounds, default, help. The usage
 * text and tools/check_docs.py's flag list both come from that table.
 *
 * Parsed once at start, before any thread, into typed structs that main.c
 * hands to the modes and libraries: nothing else in the sidecar reads the
 * environment (the one exception: projection.c's test-only failpoint
 * BYRON_SINK_FAILPOINT, compiled into test builds only). A value that is not a
 * number, out of its bounds or not one of its words is refused naming the flag
 * or variable; a flag overrides its variable. */
#ifndef BYRON_SIDECAR_SETTINGS_H
#define BYRON_SIDECAR_SETTINGS_H

#include "admin.h"
#include "gqlapi_endpoint.h"
#include "nats_options.h"
#include "sink.h"
#include "verify.h"

#include <stdint.h>
#include <stdio.h>

typedef struct byron_settings {
    const char *mode; /* api or sink */
    const char *config, *nats_url, *mongo_uri;
    const char *app_socket;     /* NULL: no app */
    const char *sidecar_socket; /* NULL: none */
    const char *bind;           /* NULL: all interfaces */
    const char *jwks_file;      /* NULL: the issuer's keys */
    int http_port, admin_port, workers, queue, app_timeout_ms, max_attempts, state_wait_ms;
    int rest_tcp, max_inflight_mib, max_client_conns, max_open_files, jwks_min_refresh_ms, stream_replicas;
    int64_t stream_max_bytes;       /* -1: no limit */
    int log_level;                  /* byron_log_level_t */
    int print_schema;               /* --print-schema: needs only --config */
    byron_nats_settings_t nats;     /* BYRON_NATS_CREDS, BYRON_NATS_CA, BYRON_NATS_INBOX_PREFIX */
    byron_sink_options_t sink;      /* only its BYRON_SINK_* and BYRON_CACHE_* fields */
    byron_gqlapi_options_t graphql; /* --graphql-* / BYRON_GRAPHQL_* */
    byron_admin_settings_t admin;   /* --mode=admin: the common settings above, copied, and its own */
    byron_verify_settings_t verify; /* --mode=verify: likewise */
} byron_settings_t;

/* The mode asked for: the --mode flag, else BYRON_MODE; NULL when neither.
 * admin and verify are one-shot modes with flags of their own. */
const char *byron_settings_mode(int argc, char **argv);

/* Parse the environment, then the flags of `mode` ("api" or "sink" — the
 * server, "admin" or "verify"), then check what is required. 0: run; 1: done
 * (--help or --version printed on `out`); 2: bad usage, the message (naming
 * the flag or variable) on `errf`. Strings point into argv or the environment. */
int byron_settings_parse(byron_settings_t *s, const char *mode, int argc, char **argv, FILE *out, FILE *errf);

/* The usage text of a mode, from the table. */
void byron_settings_usage(const char *mode, FILE *f);

/* Row i of the table (for its test): 0 past the end. `mode` is one mode the
 * row belongs to ("api", "admin" or "verify"); min and max bound a number
 * (a switch's variable: 0..1). */
typedef enum {
    BYRON_SETTING_TEXT,
    BYRON_SETTING_NUMBER,
    BYRON_SETTING_SWITCH,
    BYRON_SETTING_LEVEL,
    BYRON_SETTING_ACTION, /* --mode, --help, --version */
} byron_setting_kind_t;
typedef struct {
    const char *flag, *env, *mode;
    byron_setting_kind_t kind;
    long long min, max;
} byron_setting_info_t;
int byron_settings_describe(size_t i, byron_setting_info_t *out);

#endif
