/* nats_options.h — what every NATS connection of the sidecar shares: its
 * identity and transport security.
 *
 * The sidecar's one connection (stream.c; the one-shot modes' own, oneshot.c)
 * calls byron_nats_options_apply on its natsOptions before connecting. From the
 * environment the operator writes (docs/component-spec.md):
 *   BYRON_NATS_CREDS         the role's .creds file (user JWT + nkey seed), read
 *                            once at every (re)connect: a renewed file is picked
 *                            up without a restart, its JWT and seed together
 *   BYRON_NATS_CA            a PEM CA: TLS to NATS, server verified against it
 *   BYRON_NATS_INBOX_PREFIX  the only inbox the role's NATS user may subscribe to
 * All unset: no authentication, no TLS, the default _INBOX prefix. */
#ifndef BYRON_SIDECAR_NATS_OPTIONS_H
#define BYRON_SIDECAR_NATS_OPTIONS_H

#include "byron/status.h"

#include <nats/nats.h>

#define BYRON_NATS_SEED_MAX 128

/* The user JWT (*jwt, caller frees) and the nkey seed of a .creds file, from
 * one read of it. EINVAL naming the file when it is not one. */
byron_status_t byron_nats_creds_read(const char *path, char **jwt, char seed[BYRON_NATS_SEED_MAX],
                                     byron_err_t *err);

/* EINVAL naming the variable when a file is unreadable or not what it should be. */
byron_status_t byron_nats_options_apply(natsOptions *o, byron_err_t *err);

#endif
