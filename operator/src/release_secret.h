/* release_secret.h — a Secret that belongs to the Byron release rather than
 * to a component: made once, by the first operator to start, then only read.
 *
 * Two of them: the NATS trust chain (--nats-identity-secret) and the key the
 * cache passwords derive from (--cache-key-secret). Both live in the
 * operator's namespace and are read by name (a Role with resourceNames).
 * Replicas racing to create one: the loser's POST answers 409 and it reads
 * the winner's. */
#ifndef BYRON_RELEASE_SECRET_H
#define BYRON_RELEASE_SECRET_H

#include "byron/kube_client.h"
#include "byron/status.h"

#include <json-c/json.h>

/* Makes the data of a new Secret (key → plain text; caller puts), or NULL with err. */
typedef json_object *(*byron_release_secret_make_fn)(void *ud, byron_err_t *err);

/* Read Secret ref ("namespace/name"); when it is absent and make is not NULL,
 * create it from make's data. *data: its data decoded (key → plain text;
 * caller puts). Absent and no make: EINVAL saying so. */
byron_status_t byron_release_secret_load(byron_kube_client_t *client, const char *ref,
                                         byron_release_secret_make_fn make, void *ud, json_object **data,
                                         byron_err_t *err);

#endif
