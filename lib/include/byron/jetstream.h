/* jetstream.h — a component's JetStream names and stream configurations.
 *
 * One source for what both binaries must agree on: the operator creates and
 * updates the streams (with NATS auth on, nobody else may), and the sidecar
 * checks that what it finds is what it expects. Pure functions over json-c:
 * the JSON is the JetStream API's ($JS.API.STREAM.CREATE/UPDATE bodies). */
#ifndef BYRON_JETSTREAM_H
#define BYRON_JETSTREAM_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define BYRON_JETSTREAM_NAME_MAX 256

typedef struct byron_jetstream_names {
    char stream[BYRON_JETSTREAM_NAME_MAX];     /* BYRON_<ns>_<c> ('-' → '_') */
    char subjects[BYRON_JETSTREAM_NAME_MAX];   /* byron.<ns>.<c>.> */
    char prefix[BYRON_JETSTREAM_NAME_MAX];     /* byron.<ns>.<c> */
    char dlq_stream[BYRON_JETSTREAM_NAME_MAX]; /* BYRON_<ns>_<c>_DLQ */
    char dlq_subjects[BYRON_JETSTREAM_NAME_MAX];
    char dlq_prefix[BYRON_JETSTREAM_NAME_MAX]; /* byrondlq.<ns>.<c> */
} byron_jetstream_names_t;

/* The names of component c in namespace ns (docs/component-spec.md). Returns
 * -1 when a name would not fit (ns and c are Kubernetes names: they do). */
int byron_jetstream_names(const char *ns, const char *c, byron_jetstream_names_t *out);

/* The event log (docs/events.md): file storage, limits retention, DenyDelete,
 * DenyPurge, AllowDirect, atomic batch publish, a 2 min duplicate window.
 * replicas: 1 or 3. max_bytes: -1 for no limit; with a limit, a full stream
 * refuses new events (discard "new") instead of dropping the oldest: the log
 * is the source of truth. Caller puts. */
json_object *byron_jetstream_stream_config(const byron_jetstream_names_t *n, int replicas, int64_t max_bytes);
/* The dead-letter stream of the same component. Caller puts. */
json_object *byron_jetstream_dlq_config(const byron_jetstream_names_t *n, int replicas);
/* NULL when have (a STREAM.INFO "config") has every setting want manages;
 * else the name of the first setting that differs. */
const char *byron_jetstream_config_differs(json_object *want, json_object *have);

#endif
