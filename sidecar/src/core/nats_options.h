/* nats_options.h — what every NATS connection of the sidecar shares: its
 * identity and transport security.
 *
 * The sidecar's one connection (stream.c) and the one-shot modes' (oneshot.c)
 * call byron_nats_options_apply on their natsOptions before connecting, with
 * the settings main.c read (settings.h) from the environment the operator
 * writes (docs/component-spec.md):
 *   creds         BYRON_NATS_CREDS: the role's .creds file (user JWT + nkey
 *                 seed), read once at every (re)connect: a renewed file is
 *                 picked up without a restart, its JWT and seed together
 *   ca            BYRON_NATS_CA: a PEM CA: TLS to NATS, server verified against it
 *   inbox_prefix  BYRON_NATS_INBOX_PREFIX: the only inbox the role's NATS user
 *                 may subscribe to
 * All NULL or empty (or no settings): no authentication, no TLS, the default
 * _INBOX prefix. */
#ifndef BYRON_SIDECAR_NATS_OPTIONS_H
#define BYRON_SIDECAR_NATS_OPTIONS_H

#include "byron/status.h"

#include <nats/nats.h>

#define BYRON_NATS_SEED_MAX 128

typedef struct byron_nats_settings {
    const char *creds, *ca, *inbox_prefix;
} byron_nats_settings_t;

/* With NATS users (a credentials file) the operator owns the streams. */
int byron_nats_settings_have_user(const byron_nats_settings_t *n);

/* The user JWT (*jwt, caller frees) and the nkey seed of a .creds file, from
 * one read of it. EINVAL naming the file when it is not one. */
byron_status_t byron_nats_creds_read(const char *path, char **jwt, char seed[BYRON_NATS_SEED_MAX],
                                     byron_err_t *err);

/* EINVAL naming the variable when a file is unreadable or not what it should be. */
byron_status_t byron_nats_options_apply(natsOptions *o, const byron_nats_settings_t *n, byron_err_t *err);

#endif
