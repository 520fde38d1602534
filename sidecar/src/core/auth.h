/* auth.h — authentication: a request's credentials → a principal.
 *
 * The authenticator holds the component's token settings (access.h: issuer,
 * audiences, algorithms, skew) and its key source (jwks.h). No credentials
 * means an anonymous principal — whether that may do anything is the access
 * policy's call; bad credentials are an error, never a silent downgrade to
 * anonymous. Thread-safe; blocks while keys are fetched (workers only). */
#ifndef BYRON_SIDECAR_AUTH_H
#define BYRON_SIDECAR_AUTH_H

#include "access.h"
#include "byron/metrics.h"
#include "jwks.h"
#include "principal.h"

typedef struct byron_auth byron_auth_t;

typedef struct byron_auth_options {
    const byron_access_settings_t *settings; /* required; must outlive the authenticator */
    const char *keys_file;          /* a JWK Set file instead of the issuer's (BYRON_AUTH_JWKS_FILE) */
    int min_refresh_ms, max_age_ms; /* jwks.h; 0: defaults */
    byron_metrics_t *metrics;
} byron_auth_options_t;

/* NULL settings->issuer and no keys file: an authenticator that refuses every
 * token (only anonymous rules can grant anything). */
byron_auth_t *byron_auth_new(const byron_auth_options_t *o, byron_err_t *err);
void byron_auth_free(byron_auth_t *a);

/* From an Authorization header value (NULL or "": anonymous). BYRON_EINVAL:
 * the credentials are bad (401 invalid_token, err says why); BYRON_EUNAVAILABLE:
 * the keys cannot be had right now (503). */
byron_status_t byron_auth_header(byron_auth_t *a, const char *authorization, byron_principal_t *out,
                                 byron_err_t *err);
/* The same for a bare token (a WebSocket connection_init payload). */
byron_status_t byron_auth_token(byron_auth_t *a, const char *token, byron_principal_t *out, byron_err_t *err);

/* The WWW-Authenticate value for a 401: `Bearer realm="byron"` plus, after
 * bad credentials (reason non-NULL), error="invalid_token" and its description. */
void byron_auth_challenge(const char *reason, char *out, size_t cap);

#endif
