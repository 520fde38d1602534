/* natsidentity.h — a Byron release's NATS trust chain, and users minted from it.
 *
 * Generated once per release (the operator does it at start-up when its
 * identity Secret is absent; `byron-operator nats-identity DIR` does it for a
 * NATS you run yourself):
 *
 *   operator key  signs the operator JWT and both account JWTs, then is
 *                 thrown away: nothing needs it afterwards
 *   SYS account   NATS's system account (no JetStream, no users)
 *   BYRON account every component's streams; JetStream on. Its identity key
 *                 is thrown away too; users are signed by its signing key,
 *                 which is what the operator keeps
 *
 * The server configuration fragment (auth.conf: operator JWT, system account,
 * memory resolver with both account JWTs preloaded) never changes afterwards:
 * users are verified by signature, so adding or removing a component never
 * touches, reloads or restarts NATS. */
#ifndef BYRON_NATSIDENTITY_H
#define BYRON_NATSIDENTITY_H

#include "byron/status.h"
#include "nkeys.h"

#include <json-c/json.h>
#include <stdint.h>

/* The Secret's keys. */
#define BYRON_NATSID_AUTH_CONF "auth.conf"
#define BYRON_NATSID_ACCOUNT "account.pub"
#define BYRON_NATSID_SIGNING_SEED "account-signing.seed"
#define BYRON_NATSID_ROUTE_PASSWORD "route-password"

typedef struct byron_natsidentity {
    char account[BYRON_NKEY_PUBLIC_LEN + 1]; /* the BYRON account's public key */
    byron_nkey_t signing;                    /* its signing key */
} byron_natsidentity_t;

/* A new trust chain: fills id and returns the Secret data (key → text, caller
 * puts): auth.conf, account.pub, account-signing.seed, route-password (for
 * the cluster routes of a 3-node NATS). */
json_object *byron_natsidentity_generate(byron_natsidentity_t *id, int64_t now, byron_err_t *err);

/* Read the identity back from that data (plain text values). */
byron_status_t byron_natsidentity_load(json_object *data, byron_natsidentity_t *id, byron_err_t *err);

/* Mint a user: its .creds file text (caller frees) valid until expires (Unix
 * seconds; 0: no expiry), with permissions (natsperm.h). */
char *byron_natsidentity_mint(const byron_natsidentity_t *id, const char *name, json_object *permissions,
                              int64_t now, int64_t expires, byron_err_t *err);

/* The same, as a user JWT and its key pair (the operator's own connection
 * signs the server's nonce itself). Caller frees the JWT. */
char *byron_natsidentity_mint_jwt(const byron_natsidentity_t *id, const char *name, json_object *permissions,
                                  int64_t now, int64_t expires, byron_nkey_t *user, byron_err_t *err);

#endif
