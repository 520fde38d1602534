/* natsidentity.c — a release's NATS trust chain and the users minted from it. */
#include "natsidentity.h"

#include "natsjwt.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *signed_claims(json_object *claims, const byron_nkey_t *by, int64_t now, byron_err_t *err) {
    char *jwt = byron_natsjwt_sign(claims, by, now, err);
    json_object_put(claims);
    return jwt;
}

json_object *byron_natsidentity_generate(byron_natsidentity_t *id, int64_t now, byron_err_t *err) {
    byron_nkey_t op, sys, acc;
    char *op_jwt = NULL, *sys_jwt = NULL, *acc_jwt = NULL, *conf = NULL;
    json_object *data = NULL;
    memset(id, 0, sizeof *id);
    if (byron_nkey_generate(BYRON_NKEY_OPERATOR, &op, err) ||
        byron_nkey_generate(BYRON_NKEY_ACCOUNT, &sys, err) ||
        byron_nkey_generate(BYRON_NKEY_ACCOUNT, &acc, err) ||
        byron_nkey_generate(BYRON_NKEY_ACCOUNT, &id->signing, err))
        goto out;
    if (!(op_jwt =
              signed_claims(byron_natsjwt_operator_claims(&op, "byron", sys.public_key), &op, now, err)) ||
        !(sys_jwt =
              signed_claims(byron_natsjwt_account_claims(sys.public_key, "SYS", 0, NULL), &op, now, err)) ||
        !(acc_jwt =
              signed_claims(byron_natsjwt_account_claims(acc.public_key, "BYRON", 1, id->signing.public_key),
                            &op, now, err)))
        goto out;
    snprintf(id->account, sizeof id->account, "%s", acc.public_key);
    unsigned char rnd[24];
    char route_pw[49];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        byron_err_set(err, BYRON_EIO, "no random bytes (OpenSSL RAND_bytes)");
        goto out;
    }
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(route_pw + 2 * i, 3, "%02x", rnd[i]);
    static const char fmt[] = "# NATS decentralized authentication for a Byron release, written once by\n"
                              "# byron-operator (docs/security.md). Users are verified by signature: adding\n"
                              "# or removing a component never changes this file.\n"
                              "operator: %s\n"
                              "system_account: %s\n"
                              "resolver: MEMORY\n"
                              "resolver_preload: {\n"
                              "  %s: %s\n"
                              "  %s: %s\n"
                              "}\n";
    size_t n = sizeof fmt + strlen(op_jwt) + strlen(sys_jwt) + strlen(acc_jwt) + 4 * BYRON_NKEY_PUBLIC_LEN;
    if (!(conf = malloc(n))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(conf, n, fmt, op_jwt, sys.public_key, sys.public_key, sys_jwt, acc.public_key, acc_jwt);
    data = json_object_new_object();
    json_object_object_add(data, BYRON_NATSID_AUTH_CONF, json_object_new_string(conf));
    json_object_object_add(data, BYRON_NATSID_ACCOUNT, json_object_new_string(acc.public_key));
    json_object_object_add(data, BYRON_NATSID_SIGNING_SEED, json_object_new_string(id->signing.seed_text));
    json_object_object_add(data, BYRON_NATSID_ROUTE_PASSWORD, json_object_new_string(route_pw));
out:
    /* The operator and account identity keys are not kept: the chain never
     * changes, and the signing key is all that minting users needs. */
    byron_nkey_wipe(&op);
    byron_nkey_wipe(&sys);
    byron_nkey_wipe(&acc);
    free(op_jwt);
    free(sys_jwt);
    free(acc_jwt);
    free(conf);
    return data;
}

byron_status_t byron_natsidentity_load(json_object *data, byron_natsidentity_t *id, byron_err_t *err) {
    json_object *a = NULL, *s = NULL;
    memset(id, 0, sizeof *id);
    if (!json_object_object_get_ex(data, BYRON_NATSID_ACCOUNT, &a) ||
        !json_object_object_get_ex(data, BYRON_NATSID_SIGNING_SEED, &s))
        return byron_err_set(err, BYRON_EINVAL, "NATS identity: %s and %s are required", BYRON_NATSID_ACCOUNT,
                             BYRON_NATSID_SIGNING_SEED);
    char acc[BYRON_NKEY_PUBLIC_LEN + 8];
    snprintf(acc, sizeof acc, "%s", json_object_get_string(a));
    acc[strcspn(acc, " \r\n")] = '\0';
    if (!byron_nkey_is_public(acc, BYRON_NKEY_ACCOUNT))
        return byron_err_set(err, BYRON_EINVAL, "NATS identity: %s is not an account public key (A…)",
                             BYRON_NATSID_ACCOUNT);
    memcpy(id->account, acc, BYRON_NKEY_PUBLIC_LEN + 1); /* checked: exactly that long */
    char seed[BYRON_NKEY_SEED_LEN + 8];
    snprintf(seed, sizeof seed, "%s", json_object_get_string(s));
    seed[strcspn(seed, " \r\n")] = '\0';
    byron_status_t st = byron_nkey_from_seed(seed, &id->signing, err);
    memset(seed, 0, sizeof seed);
    if (st) return byron_err_prefix(err, "NATS identity: %s", BYRON_NATSID_SIGNING_SEED);
    if (id->signing.type != BYRON_NKEY_ACCOUNT)
        return byron_err_set(err, BYRON_EINVAL, "NATS identity: %s is not an account signing key (SA…)",
                             BYRON_NATSID_SIGNING_SEED);
    return BYRON_OK;
}

char *byron_natsidentity_mint_jwt(const byron_natsidentity_t *id, const char *name, json_object *permissions,
                                  int64_t now, int64_t expires, byron_nkey_t *user, byron_err_t *err) {
    if (byron_nkey_generate(BYRON_NKEY_USER, user, err)) return NULL;
    return signed_claims(byron_natsjwt_user_claims(user->public_key, name, id->account, permissions, expires),
                         &id->signing, now, err);
}

char *byron_natsidentity_mint(const byron_natsidentity_t *id, const char *name, json_object *permissions,
                              int64_t now, int64_t expires, byron_err_t *err) {
    byron_nkey_t user;
    char *jwt = byron_natsidentity_mint_jwt(id, name, permissions, now, expires, &user, err);
    char *creds = jwt ? byron_natsjwt_creds(jwt, user.seed_text) : NULL;
    if (jwt && !creds) byron_err_set(err, BYRON_ENOMEM, "out of memory");
    byron_nkey_wipe(&user);
    free(jwt);
    return creds;
}
