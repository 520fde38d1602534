/* natsjwt.c — NATS JWT claims and signing (nats-io/jwt v2 format). */
#include "natsjwt.h"

#include "byron/base64.h"
#include "byron/json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *byron_natsjwt_sign(json_object *claims, const byron_nkey_t *issuer, int64_t now, byron_err_t *err) {
    json_object_object_add(claims, "iss", json_object_new_string(issuer->public_key));
    json_object_object_add(claims, "iat", json_object_new_int64(now));
    json_object_object_del(claims, "jti");
    /* jti: base32 of SHA-512/256 of the claims without it (nats-io/jwt's
     * recipe): a unique id the server logs; it does not verify it. */
    const char *body =
        json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    unsigned char h[64];
    unsigned hl = 0;
    if (EVP_Digest(body, strlen(body), h, &hl, EVP_sha512_256(), NULL) != 1 || hl != 32) {
        byron_err_set(err, BYRON_EIO, "SHA-512/256 failed (OpenSSL)");
        return NULL;
    }
    char jti[64];
    byron_base32_encode(h, 32, jti, sizeof jti);
    json_object_object_add(claims, "jti", json_object_new_string(jti));
    body = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
    char *eh = byron_base64_encode((const unsigned char *)header, strlen(header), 1);
    char *ec = byron_base64_encode((const unsigned char *)body, strlen(body), 1);
    char *out = NULL, *es = NULL;
    size_t sl = (eh ? strlen(eh) : 0) + (ec ? strlen(ec) : 0) + 2;
    char *signing = eh && ec ? malloc(sl) : NULL;
    unsigned char sig[64];
    if (!signing) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(signing, sl, "%s.%s", eh, ec);
    if (byron_nkey_sign(issuer, signing, strlen(signing), sig, err) != BYRON_OK) goto out;
    if (!(es = byron_base64_encode(sig, sizeof sig, 1)) ||
        !(out = malloc(strlen(signing) + strlen(es) + 2))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto out;
    }
    sprintf(out, "%s.%s", signing, es);
out:
    free(eh);
    free(ec);
    free(es);
    free(signing);
    return out;
}

static json_object *nats_section(json_object *claims, const char *type) {
    json_object *n = json_object_new_object();
    json_object_object_add(n, "type", json_object_new_string(type));
    json_object_object_add(n, "version", json_object_new_int(2));
    json_object_object_add(claims, "nats", n);
    return n;
}

json_object *byron_natsjwt_operator_claims(const byron_nkey_t *op, const char *name,
                                           const char *system_account) {
    json_object *c = json_object_new_object();
    json_object_object_add(c, "sub", json_object_new_string(op->public_key));
    json_object_object_add(c, "name", json_object_new_string(name));
    json_object *n = nats_section(c, "operator");
    if (system_account) json_object_object_add(n, "system_account", json_object_new_string(system_account));
    return c;
}

json_object *byron_natsjwt_account_claims(const char *account_pub, const char *name, int jetstream,
                                          const char *signing_key_pub) {
    json_object *c = json_object_new_object();
    json_object_object_add(c, "sub", json_object_new_string(account_pub));
    json_object_object_add(c, "name", json_object_new_string(name));
    json_object *n = nats_section(c, "account"), *l = json_object_new_object();
    static const char *const unlimited[] = {"subs", "data", "payload", "imports", "exports", "conn", "leaf"};
    for (size_t i = 0; i < sizeof unlimited / sizeof unlimited[0]; i++)
        json_object_object_add(l, unlimited[i], json_object_new_int(-1));
    json_object_object_add(l, "wildcards", json_object_new_boolean(1));
    if (jetstream) {
        /* -1: no account-level cap; the server's max_file_store/max_memory_store
         * (chart nats.jetstream.*) and each stream's max_bytes bound it. */
        static const char *const js[] = {"mem_storage", "disk_storage", "streams", "consumer"};
        for (size_t i = 0; i < sizeof js / sizeof js[0]; i++)
            json_object_object_add(l, js[i], json_object_new_int(-1));
    }
    json_object_object_add(n, "limits", l);
    if (signing_key_pub) {
        json_object *sk = json_object_new_array();
        json_object_array_add(sk, json_object_new_string(signing_key_pub));
        json_object_object_add(n, "signing_keys", sk);
    }
    return c;
}

json_object *byron_natsjwt_user_claims(const char *user_pub, const char *name, const char *issuer_account,
                                       json_object *permissions, int64_t expires) {
    json_object *c = json_object_new_object(), *v;
    json_object_object_add(c, "sub", json_object_new_string(user_pub));
    json_object_object_add(c, "name", json_object_new_string(name));
    if (expires > 0) json_object_object_add(c, "exp", json_object_new_int64(expires));
    json_object *n = nats_section(c, "user");
    if (json_object_object_get_ex(permissions, "pub", &v))
        json_object_object_add(n, "pub", json_object_get(v));
    if (json_object_object_get_ex(permissions, "sub", &v))
        json_object_object_add(n, "sub", json_object_get(v));
    json_object_object_add(n, "subs", json_object_new_int(-1));
    json_object_object_add(n, "data", json_object_new_int(-1));
    json_object_object_add(n, "payload", json_object_new_int(-1));
    json_object_object_add(n, "issuer_account", json_object_new_string(issuer_account));
    return c;
}

char *byron_natsjwt_creds(const char *jwt, const char *user_seed) {
    static const char fmt[] = "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                              "************************* IMPORTANT *************************\n"
                              "NKEY Seed printed below can be used to sign and prove identity.\n"
                              "NKEYs are sensitive and should be treated as secrets.\n\n"
                              "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
                              "*************************************************************\n";
    size_t n = sizeof fmt + strlen(jwt) + strlen(user_seed);
    char *out = malloc(n);
    if (out) snprintf(out, n, fmt, jwt, user_seed);
    return out;
}

json_object *byron_natsjwt_peek(const char *jwt) {
    const char *a = jwt ? strchr(jwt, '.') : NULL, *b = a ? strchr(a + 1, '.') : NULL;
    if (!b) return NULL;
    size_t len = 0;
    char *text = NULL;
    json_object *o = NULL;
    if (byron_base64_decode(a + 1, (size_t)(b - a - 1), &text, &len) == 0 &&
        byron_json_parse(text, len, 16, &o, NULL) != BYRON_OK)
        o = NULL;
    free(text);
    return o;
}
