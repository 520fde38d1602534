/* token.h — JWT bearer tokens: the verification keys (a JWK Set) and the
 * verification of one compact JWS with its claims.
 *
 * Signatures are checked by libraries, never by code of ours: cjose (JWK
 * import, RS256 and ES256) and OpenSSL's EVP interface (EdDSA over Ed25519,
 * which the cjose Debian 12 ships does not know). What we add is the policy a
 * library leaves to its caller:
 *   - the algorithm comes from our allow-list (RS256, ES256, EdDSA), never from
 *     the token alone: `none` and every HMAC algorithm are refused, so a public
 *     key can never be used as an HMAC secret;
 *   - the key comes from our key set, chosen by `kid` and compatible with the
 *     algorithm (RSA ≥ 2048 bits, EC P-256, OKP Ed25519); header keys that
 *     point elsewhere (`jwk`, `jku`, `x5u`, `x5c`) are ignored, `crit` refused;
 *   - issuer, audience, expiry and not-before are checked with a small skew.
 * Everything here is pure (no I/O, no clock): the caller passes `now`, and the
 * parsing path is fuzzed (fuzz/token_verify.c). */
#ifndef BYRON_SIDECAR_TOKEN_H
#define BYRON_SIDECAR_TOKEN_H

#include "byron/status.h"
#include "principal.h"

#include <stddef.h>
#include <stdint.h>

#define BYRON_TOKEN_MAX_BYTES 8192 /* a whole compact token */
#define BYRON_KEYSET_MAX_KEYS 32   /* usable keys kept from one JWK Set */
#define BYRON_KEYSET_MAX_BYTES (256u << 10)

/* Accepted algorithms, as a mask. */
#define BYRON_ALG_RS256 1u
#define BYRON_ALG_ES256 2u
#define BYRON_ALG_EDDSA 4u
#define BYRON_ALG_ALL (BYRON_ALG_RS256 | BYRON_ALG_ES256 | BYRON_ALG_EDDSA)

/* "RS256" → BYRON_ALG_RS256; 0 for anything else. */
unsigned byron_token_alg_parse(const char *name);

/* A set of verification keys; immutable once parsed, so it may be shared by
 * threads (key objects are only read). */
typedef struct byron_keyset byron_keyset_t;

/* Parses a JWK Set ({"keys": [...]}). Keys that cannot verify one of our
 * algorithms (encryption keys, HMAC secrets, other curves, short RSA keys) are
 * skipped; none left is an error. */
byron_status_t byron_keyset_parse(const char *json, size_t len, byron_keyset_t **out, byron_err_t *err);
void byron_keyset_free(byron_keyset_t *ks);
size_t byron_keyset_size(const byron_keyset_t *ks);

typedef struct byron_token_options {
    const char *issuer;           /* required: `iss` must equal it */
    const char *const *audiences; /* `aud` (string or array) must hold one of them */
    size_t naudiences;
    unsigned algorithms; /* BYRON_ALG_* mask; 0: all */
    int skew_s;          /* tolerance on exp / nbf / iat */
} byron_token_options_t;

/* Verifies a compact JWS and its claims at time `now` (Unix seconds). On
 * success *out is a user principal (caller cleans it up). BYRON_ENOTFOUND: no
 * key has the token's `kid` (the caller may refresh the key set and retry);
 * BYRON_EINVAL for everything else, with the reason in err (safe to show:
 * it names the check, never a key). */
byron_status_t byron_token_verify(const byron_keyset_t *ks, const byron_token_options_t *o, const char *token,
                                  size_t len, int64_t now, byron_principal_t *out, byron_err_t *err);

#endif
