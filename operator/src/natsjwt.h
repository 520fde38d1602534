/* natsjwt.h — NATS JWTs (decentralized authentication), signed with nkeys.
 *
 * NATS's "operator mode": the server trusts one operator key; the operator
 * signs account JWTs; an account's signing key signs user JWTs, each carrying
 * the user's publish/subscribe permissions and an expiry. The server checks a
 * connecting client's user JWT against the chain and the nonce it signs with
 * its user seed — it holds no per-user configuration, which is why users
 * (one per component and role) are added and removed without touching it.
 *
 * The format is nats-io/jwt v2's: header {"typ":"JWT","alg":"ed25519-nkey"},
 * base64url (no padding) of header and claims, ed25519 signature of
 * "header.claims" by the issuer's nkey. */
#ifndef BYRON_NATSJWT_H
#define BYRON_NATSJWT_H

#include "byron/status.h"
#include "nkeys.h"

#include <json-c/json.h>
#include <stdint.h>

/* Complete claims (sub, name, exp, nats{...}) with iss (the issuer's public
 * key), iat (now, Unix seconds) and jti, then sign. Returns the JWT; the
 * caller frees. */
char *byron_natsjwt_sign(json_object *claims, const byron_nkey_t *issuer, int64_t now, byron_err_t *err);

/* Claims, to be signed by byron_natsjwt_sign (caller puts):
 * the operator (self-signed) naming its system account; */
json_object *byron_natsjwt_operator_claims(const byron_nkey_t *op, const char *name,
                                           const char *system_account);
/* an account (signed by the operator) with JetStream (unlimited: the server's
 * own jetstream limits bound it) or without, and the signing keys allowed to
 * issue its users; */
json_object *byron_natsjwt_account_claims(const char *account_pub, const char *name, int jetstream,
                                          const char *signing_key_pub);
/* a user (signed by an account signing key; issuer_account names the
 * account) with these permissions ({"pub":{"allow":[...]},"sub":{...}}, taken
 * over) valid until expires (Unix seconds, 0: never). */
json_object *byron_natsjwt_user_claims(const char *user_pub, const char *name, const char *issuer_account,
                                       json_object *permissions, int64_t expires);

/* A .creds file (the user JWT and its seed, as nsc writes it and cnats'
 * natsOptions_SetUserCredentialsFromFiles reads it). Caller frees. */
char *byron_natsjwt_creds(const char *jwt, const char *user_seed);

/* Decode a JWT's claims without verifying it (reading back what we issued:
 * its expiry). NULL when malformed. Caller puts. */
json_object *byron_natsjwt_peek(const char *jwt);

#endif
