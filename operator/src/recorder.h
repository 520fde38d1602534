/* recorder.h — Kubernetes Events (core v1) about ByronComponents.
 *
 * `kubectl describe bc x` shows them. The same reason+message for the same
 * object is posted at most once per 10 minutes, so a component failing in a
 * retry loop does not flood etcd (client-go aggregates instead; dropping
 * repeats is the simpler rule with the same effect for a reader). Posting is
 * best effort: a failure is logged, never returned. */
#ifndef BYRON_EVENTS_H
#define BYRON_EVENTS_H

#include "byron/kube_client.h"

#include <json-c/json.h>

typedef struct byron_recorder byron_recorder_t;

byron_recorder_t *byron_recorder_new(byron_kube_client_t *c, const char *instance);
void byron_recorder_free(byron_recorder_t *r);

/* type: "Normal" or "Warning"; about: the object (apiVersion/kind/metadata). */
void byron_recorder_event(byron_recorder_t *r, json_object *about, const char *type, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
