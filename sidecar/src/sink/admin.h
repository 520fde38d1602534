/* admin.h — `byron-sidecar --mode=admin`: one-shot operations on a component's
 * log, dead letters and cache, run in its sink pod with the pod's own
 * identity (docs/cli.md; `kubectl byron` execs it there).
 *
 *   byron-sidecar --mode=admin [--config P] [--nats-url U] [--mongo-uri U]
 *                 [--app-socket S] COMMAND ...
 *     status                                  the stream, the sink's lanes, dead letters, the cache
 *     events [--model M [--id ID]] [--from SEQ] [--limit N] [--follow]
 *     dlq list [--all]                        open dead letters (--all: decided ones too)
 *     dlq show SEQ                            one dead letter, its event included
 *     dlq replay SEQ... | --all               project the aggregates' events again (replay.h)
 *     dlq drop SEQ... [--note TEXT]           acknowledge without applying (dlq.h)
 *
 * Output is JSON on stdout: one document, or JSON lines for `events`; errors
 * are one line on stderr. Exit status: 0 done, 1 the operation did not
 * succeed (a replay that failed again, a refused drop, an unknown dead
 * letter), 2 bad usage or config, 3 NATS, MongoDB or the app not reached. */
#ifndef BYRON_SIDECAR_ADMIN_H
#define BYRON_SIDECAR_ADMIN_H

enum {
    BYRON_ADMIN_OK = 0,
    BYRON_ADMIN_FAILED = 1,
    BYRON_ADMIN_USAGE = 2,
    BYRON_ADMIN_UNREACHED = 3,
};

#include "nats_options.h"
#include "sink.h"

#include <stdint.h>

/* Its settings, parsed and checked by settings.c (flags, environment). */
typedef struct byron_admin_settings {
    const char *config, *nats_url, *mongo_uri;
    const char *app_socket; /* NULL: no app (a replay projects by default) */
    int app_timeout_ms;
    int wait_ms; /* replay: how long to wait for the sink's lane */
    const char *model, *id, *note;
    uint64_t from; /* 0: the start */
    int64_t limit; /* -1: no limit */
    int follow, all;
    char **words; /* the command and its arguments: "dlq", "replay", "7" */
    int nwords;
    const byron_nats_settings_t *nats;
    const byron_sink_options_t *sink; /* a replay retries as the sink does: max_deliver, retry_ms, defer_ms */
} byron_admin_settings_t;

/* Run one command; returns the exit status above. The caller has done the
 * process-wide initialisation (curl, mongoc) and undoes it afterwards. */
int byron_admin_main(const byron_admin_settings_t *s);

#endif
