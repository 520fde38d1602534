/* verify.h — `byron-sidecar --mode=verify`: the fold checker as a command
 * (docs/consistency.md, "The fold checker").
 *
 *   byron-sidecar --mode=verify --config component.json --nats-url URL --mongo-uri URI
 *                 [--app-socket PATH] [--wait-ms N] [--app-timeout-ms N]
 *
 * Waits until the sink has settled every event up to now (its durables have
 * nothing pending or unacknowledged), folds the component's stream (and the
 * streams it subscribes to) with fold.c, reads the cache and prints one JSON
 * line per finding on stdout, then a summary line. The same binary is in
 * every pod, so it can run in the sink pod beside the app whose handlers it
 * calls (before hooks and handlers only: never after hooks).
 *
 * Exit status: 0 the cache equals the fold, 1 it differs, 2 bad usage or
 * config, 3 quiescence or a dependency (NATS, MongoDB, the app) not reached. */
#ifndef BYRON_SIDECAR_VERIFY_H
#define BYRON_SIDECAR_VERIFY_H

enum {
    BYRON_VERIFY_EQUAL = 0,
    BYRON_VERIFY_DIFFERS = 1,
    BYRON_VERIFY_USAGE = 2,
    BYRON_VERIFY_UNREACHED = 3,
};

#include "nats_options.h"

/* Its settings, parsed and checked by settings.c (flags, environment). */
typedef struct byron_verify_settings {
    const char *config, *nats_url, *mongo_uri;
    const char *app_socket; /* NULL: no app */
    int wait_ms, app_timeout_ms;
    const byron_nats_settings_t *nats;
} byron_verify_settings_t;

/* Run the check; returns the exit status above. The caller has done the
 * process-wide initialisation (curl, mongoc) and undoes it afterwards. */
int byron_verify_main(const byron_verify_settings_t *s);

#endif
