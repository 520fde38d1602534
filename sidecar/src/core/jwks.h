/* jwks.h — where verification keys come from, and keeping them fresh.
 *
 * One of:
 *   - the issuer's JWK Set over HTTP(S): its URL given, or found in the
 *     issuer's OpenID discovery document (<issuer>/.well-known/openid-configuration,
 *     whose `issuer` must be the configured one);
 *   - a file holding a JWK Set (a mounted Secret; Kubernetes rewrites it in
 *     place, so a rotated Secret is picked up without a restart).
 * The keys are cached. They are fetched again when older than max_age, and
 * when a token names a kid the set lacks (a rotation at the issuer) — but at
 * most once per min_refresh, so tokens with made-up kids cannot make the
 * sidecar hammer the issuer. A failed refresh keeps the keys it had.
 *
 * Thread-safe. byron_jwks_get blocks while it fetches (HTTP, bounded by the
 * timeout): call it from a worker, never from an event loop. */
#ifndef BYRON_SIDECAR_JWKS_H
#define BYRON_SIDECAR_JWKS_H

#include "byron/metrics.h"
#include "byron/status.h"
#include "token.h"

typedef struct byron_jwks byron_jwks_t;

typedef struct byron_jwks_options {
    const char *issuer;       /* for discovery (and the discovery document's check) */
    const char *url;          /* the JWK Set URL; NULL: discovery */
    const char *file;         /* a file with the JWK Set instead of HTTP; NULL: HTTP */
    int min_refresh_ms;       /* 0: 10000 */
    int max_age_ms;           /* 0: 600000 */
    int timeout_ms;           /* per HTTP request; 0: 5000 */
    byron_metrics_t *metrics; /* NULL: none */
} byron_jwks_options_t;

/* A counted reference to one immutable key set. */
typedef struct byron_jwks_ref byron_jwks_ref_t;
const byron_keyset_t *byron_jwks_keys(const byron_jwks_ref_t *ref);
void byron_jwks_release(byron_jwks_ref_t *ref);

/* Fetches nothing yet: the first byron_jwks_get does. */
byron_jwks_t *byron_jwks_new(const byron_jwks_options_t *o, byron_err_t *err);
void byron_jwks_free(byron_jwks_t *j);

/* The current keys (*out: release it), fetched or refreshed as needed;
 * unknown_kid: the caller met a kid the keys lack. BYRON_EUNAVAILABLE when no
 * keys could ever be had (err says why). */
byron_status_t byron_jwks_get(byron_jwks_t *j, int unknown_kid, byron_jwks_ref_t **out, byron_err_t *err);

#endif
