/* oneshot.h — what the sidecar's one-shot modes share (verify.c, the fold
 * checker; admin.c, kubectl byron's operations): reaching the component's
 * broker with the pod's NATS identity, and its cache database. Blocking. */
#ifndef BYRON_SIDECAR_ONESHOT_H
#define BYRON_SIDECAR_ONESHOT_H

#include "byron/status.h"
#include "component.h"
#include "nats_options.h"

#include <mongoc/mongoc.h>
#include <nats/nats.h>
#include <stddef.h>

/* Connect to url as the sidecar does (with `nats`: nats_options.h), named "byron-<who>/<ns>/<c>", and
 * a JetStream context. EINVAL: the options; EUNAVAILABLE: not reached. The
 * caller destroys *js and *nc. */
byron_status_t byron_oneshot_nats(const byron_component_t *c, const char *url,
                                  const byron_nats_settings_t *nats, const char *who, natsConnection **nc,
                                  jsCtx **js, byron_err_t *err);

/* A client for uri (app name "byron-<who>") that answered a ping, and the
 * cache database: the URI's, else byron_<component> as cache.h names it. The
 * caller destroys *client. */
byron_status_t byron_oneshot_mongo(const byron_component_t *c, const char *uri, const char *who,
                                   mongoc_client_t **client, char *db, size_t dbcap, byron_err_t *err);

#endif
