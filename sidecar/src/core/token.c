/* token.c — JWK Sets and JWT verification (token.h).
 *
 * Order of checks for one token, cheapest and least trusting first: size and
 * alphabet, three segments, the header (alg from the allow-list, kid, no crit),
 * the key (by kid, compatible with alg), the signature (cjose or OpenSSL), and
 * only then the payload and its claims. Nothing from an unverified payload is
 * ever looked at. */
#include "token.h"

#include "byron/json.h"

#include <cjose/cjose.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KTY_RSA, KTY_EC, KTY_OKP } kty_t;

typedef struct {
    char kid[129]; /* "" when the key has none */
    kty_t kty;
    unsigned algs;     /* algorithms this key may verify */
    cjose_jwk_t *jwk;  /* RSA, EC */
    EVP_PKEY *ed25519; /* OKP */
} jwkey_t;

struct byron_keyset {
    jwkey_t keys[BYRON_KEYSET_MAX_KEYS];
    size_t n;
};

unsigned byron_token_alg_parse(const char *name) {
    if (strcmp(name, "RS256") == 0) return BYRON_ALG_RS256;
    if (strcmp(name, "ES256") == 0) return BYRON_ALG_ES256;
    if (strcmp(name, "EdDSA") == 0) return BYRON_ALG_EDDSA;
    return 0;
}

/* base64url (no padding) → bytes, at most max; malloc'd. */
static int b64url(const char *s, size_t len, size_t max, unsigned char **out, size_t *outlen) {
    cjose_err cerr;
    uint8_t *buf = NULL;
    size_t n = 0;
    *out = NULL;
    if (len == 0 || len > (max * 4) / 3 + 4) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return -1;
    }
    if (!cjose_base64url_decode(s, len, &buf, &n, &cerr)) return -1;
    if (n > max) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

/* ------------------------------------------------------------------ key sets */

static void key_cleanup(jwkey_t *k) {
    cjose_jwk_release(k->jwk);
    EVP_PKEY_free(k->ed25519);
    memset(k, 0, sizeof *k);
}

void byron_keyset_free(byron_keyset_t *ks) {
    if (!ks) return;
    for (size_t i = 0; i < ks->n; i++) key_cleanup(&ks->keys[i]);
    free(ks);
}

size_t byron_keyset_size(const byron_keyset_t *ks) { return ks ? ks->n : 0; }

static const char *str_member(json_object *o, const char *key) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
    return json_object_get_string(v);
}

/* A base64url member of 1..max decoded bytes (exactly max when exact). */
static int member_ok(json_object *jo, const char *name, size_t max, int exact) {
    const char *v = str_member(jo, name);
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!v || b64url(v, strlen(v), max, &raw, &n) != 0) return 0;
    free(raw);
    return n > 0 && (!exact || n == max);
}

/* The public part of an RSA (n, e) or P-256 (x, y) JWK, checked, as JSON text. */
static int public_jwk(json_object *jo, int rsa, char *out, size_t cap) {
    int n;
    if (rsa) {
        if (!member_ok(jo, "n", 1024, 0) || !member_ok(jo, "e", 8, 0)) return -1;
        n = snprintf(out, cap, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", str_member(jo, "n"),
                     str_member(jo, "e"));
    } else {
        if (!member_ok(jo, "x", 32, 1) || !member_ok(jo, "y", 32, 1)) return -1;
        n = snprintf(out, cap, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
                     str_member(jo, "x"), str_member(jo, "y"));
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* One JWK → k; returns 0 when usable, -1 to skip it. */
static int key_load(json_object *jo, jwkey_t *k) {
    const char *kty = str_member(jo, "kty"), *use = str_member(jo, "use"), *alg = str_member(jo, "alg");
    const char *kid = str_member(jo, "kid"), *crv = str_member(jo, "crv");
    if (!kty || (use && strcmp(use, "sig") != 0)) return -1;
    if (kid && strlen(kid) >= sizeof k->kid) return -1;
    memset(k, 0, sizeof *k);
    snprintf(k->kid, sizeof k->kid, "%s", kid ? kid : "");
    unsigned alg_bit = alg ? byron_token_alg_parse(alg) : 0;
    if (alg && !alg_bit) return -1; /* a key pinned to an algorithm we do not accept */
    if (strcmp(kty, "OKP") == 0) {
        const char *x = str_member(jo, "x");
        unsigned char *raw = NULL;
        size_t n = 0;
        if (!crv || strcmp(crv, "Ed25519") != 0 || !x || b64url(x, strlen(x), 64, &raw, &n) != 0) return -1;
        if (n == 32) k->ed25519 = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n);
        free(raw);
        if (!k->ed25519) return -1;
        k->kty = KTY_OKP;
        k->algs = BYRON_ALG_EDDSA;
    } else if (strcmp(kty, "RSA") == 0 || strcmp(kty, "EC") == 0) {
        int rsa = kty[0] == 'R';
        if (!rsa && (!crv || strcmp(crv, "P-256") != 0)) return -1;
        /* cjose asserts (aborts) on some malformed keys — an RSA key without
         * "e" is one (found by fuzz/token_verify.c). So it only ever sees a
         * public key we rebuilt from members we checked ourselves. */
        char text[2048];
        if (public_jwk(jo, rsa, text, sizeof text) != 0) return -1;
        cjose_err cerr;
        if (!(k->jwk = cjose_jwk_import(text, strlen(text), &cerr))) return -1;
        cjose_jwk_kty_t want = rsa ? CJOSE_JWK_KTY_RSA : CJOSE_JWK_KTY_EC;
        if (cjose_jwk_get_kty(k->jwk, &cerr) != want ||
            (rsa && cjose_jwk_get_keysize(k->jwk, &cerr) < 2048)) {
            key_cleanup(k);
            return -1;
        }
        k->kty = rsa ? KTY_RSA : KTY_EC;
        k->algs = rsa ? BYRON_ALG_RS256 : BYRON_ALG_ES256;
    } else {
        return -1; /* "oct" (HMAC secrets) and anything else */
    }
    if (alg_bit && !(alg_bit & k->algs)) {
        key_cleanup(k);
        return -1;
    }
    return 0;
}

byron_status_t byron_keyset_parse(const char *json, size_t len, byron_keyset_t **out, byron_err_t *err) {
    *out = NULL;
    if (len > BYRON_KEYSET_MAX_BYTES)
        return byron_err_set(err, BYRON_ELIMIT, "JWK Set larger than %u bytes", BYRON_KEYSET_MAX_BYTES);
    json_object *root = NULL, *keys = NULL;
    byron_status_t st = byron_json_parse(json, len, 8, &root, err);
    if (st != BYRON_OK) return byron_err_prefix(err, "JWK Set");
    if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        json_object_put(root);
        return byron_err_set(err, BYRON_EINVAL, "JWK Set: must be an object with a \"keys\" array");
    }
    byron_keyset_t *ks = calloc(1, sizeof *ks);
    if (!ks) {
        json_object_put(root);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    size_t total = json_object_array_length(keys);
    for (size_t i = 0; i < total && ks->n < BYRON_KEYSET_MAX_KEYS; i++) {
        json_object *jo = json_object_array_get_idx(keys, i);
        if (json_object_is_type(jo, json_type_object) && key_load(jo, &ks->keys[ks->n]) == 0) ks->n++;
    }
    json_object_put(root);
    if (ks->n == 0) {
        byron_keyset_free(ks);
        return byron_err_set(err, BYRON_EINVAL,
                             "JWK Set: none of its %zu keys can verify RS256, ES256 or EdDSA signatures",
                             total);
    }
    *out = ks;
    return BYRON_OK;
}

/* ------------------------------------------------------------------ verification */

static int verify_eddsa(const jwkey_t *k, const char *input, size_t input_len, const unsigned char *sig,
                        size_t sig_len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && sig_len == 64 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->ed25519) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* The signature of token[0..len) against k; alg is already known to suit k. */
static int signature_ok(const jwkey_t *k, unsigned alg, const char *token, size_t len, size_t dot2) {
    if (alg == BYRON_ALG_EDDSA) {
        unsigned char *sig = NULL;
        size_t n = 0;
        if (b64url(token + dot2 + 1, len - dot2 - 1, 128, &sig, &n) != 0) return 0;
        int ok = verify_eddsa(k, token, dot2, sig, n);
        free(sig);
        return ok;
    }
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, len, &cerr);
    int ok = jws && cjose_jws_verify(jws, k->jwk, &cerr);
    cjose_jws_release(jws);
    return ok;
}

/* A NumericDate claim: *out set, 1 when present, 0 absent, -1 malformed. */
static int numeric_date(json_object *claims, const char *name, int64_t *out) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(claims, name, &v)) return 0;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d < -9.2e18 || d > 9.2e18) return -1;
        *out = (int64_t)d;
        return 1;
    }
    return -1;
}

static int audience_ok(json_object *claims, const byron_token_options_t *o) {
    json_object *aud = NULL;
    if (!json_object_object_get_ex(claims, "aud", &aud) || !aud) return 0;
    size_t n = json_object_is_type(aud, json_type_array) ? json_object_array_length(aud) : 1;
    for (size_t i = 0; i < n && i < 64; i++) {
        json_object *a = json_object_is_type(aud, json_type_array) ? json_object_array_get_idx(aud, i) : aud;
        if (!json_object_is_type(a, json_type_string)) continue;
        for (size_t k = 0; k < o->naudiences; k++)
            if (strcmp(json_object_get_string(a), o->audiences[k]) == 0) return 1;
    }
    return 0;
}

static byron_status_t check_claims(json_object *claims, const byron_token_options_t *o, int64_t now,
                                   byron_principal_t *out, byron_err_t *err) {
    const char *iss = str_member(claims, "iss"), *sub = str_member(claims, "sub");
    if (!iss || !o->issuer || strcmp(iss, o->issuer) != 0)
        return byron_err_set(err, BYRON_EINVAL, "token: issuer is not the one this API trusts");
    if (!audience_ok(claims, o))
        return byron_err_set(err, BYRON_EINVAL, "token: audience does not name this API");
    if (!sub || !*sub || strlen(sub) > BYRON_PRINCIPAL_SUB_MAX)
        return byron_err_set(err, BYRON_EINVAL, "token: sub must be a string of 1 to %d bytes",
                             BYRON_PRINCIPAL_SUB_MAX);
    int64_t exp = 0, nbf = 0, iat = 0;
    int has;
    if ((has = numeric_date(claims, "exp", &exp)) <= 0)
        return byron_err_set(err, BYRON_EINVAL, "token: exp %s", has ? "must be a number" : "is required");
    if (now >= exp + o->skew_s) return byron_err_set(err, BYRON_EINVAL, "token: expired");
    if ((has = numeric_date(claims, "nbf", &nbf)) < 0 || (has && now + o->skew_s < nbf))
        return byron_err_set(err, BYRON_EINVAL, "token: %s",
                             has < 0 ? "nbf must be a number" : "not valid yet");
    if ((has = numeric_date(claims, "iat", &iat)) < 0 || (has && now + o->skew_s < iat))
        return byron_err_set(err, BYRON_EINVAL, "token: %s",
                             has < 0 ? "iat must be a number" : "issued in the future");
    out->kind = BYRON_PRINCIPAL_USER;
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    snprintf(out->iss, sizeof out->iss, "%s", iss);
    out->exp = exp;
    return BYRON_OK;
}

/* The header's alg and kid. */
static byron_status_t read_header(const char *token, size_t dot1, unsigned accepted, unsigned *alg, char *kid,
                                  size_t kid_cap, byron_err_t *err) {
    unsigned char *raw = NULL;
    size_t n = 0;
    json_object *h = NULL;
    if (b64url(token, dot1, 2048, &raw, &n) != 0)
        return byron_err_set(err, BYRON_EINVAL, "token: header is not base64url");
    byron_err_t perr;
    byron_status_t st = byron_json_parse((const char *)raw, n, 4, &h, &perr);
    free(raw);
    if (st != BYRON_OK || !json_object_is_type(h, json_type_object)) {
        json_object_put(h);
        return byron_err_set(err, BYRON_EINVAL, "token: header is not a JSON object");
    }
    const char *a = str_member(h, "alg"), *k = str_member(h, "kid");
    json_object *kv = NULL;
    st = BYRON_OK;
    if (json_object_object_get_ex(h, "crit", NULL))
        st = byron_err_set(err, BYRON_EINVAL, "token: critical header extensions are not supported");
    else if (!a || !(*alg = byron_token_alg_parse(a) & accepted))
        st = byron_err_set(err, BYRON_EINVAL, "token: algorithm %.16s is not accepted", a ? a : "(none)");
    else if (json_object_object_get_ex(h, "kid", &kv) && (!k || strlen(k) >= kid_cap))
        st =
            byron_err_set(err, BYRON_EINVAL, "token: kid must be a string of at most %zu bytes", kid_cap - 1);
    else
        snprintf(kid, kid_cap, "%s", k ? k : "");
    json_object_put(h);
    return st;
}

byron_status_t byron_token_verify(const byron_keyset_t *ks, const byron_token_options_t *o, const char *token,
                                  size_t len, int64_t now, byron_principal_t *out, byron_err_t *err) {
    byron_principal_init(out);
    if (len == 0 || len > BYRON_TOKEN_MAX_BYTES)
        return byron_err_set(err, BYRON_EINVAL, "token: must be 1 to %d bytes", BYRON_TOKEN_MAX_BYTES);
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) || d1 == token || d2 == d1 + 1 ||
        d2 + 1 == token + len)
        return byron_err_set(err, BYRON_EINVAL, "token: not a signed JWT (header.payload.signature)");
    size_t dot1 = (size_t)(d1 - token), dot2 = (size_t)(d2 - token);
    unsigned alg = 0;
    char kid[129];
    byron_status_t st =
        read_header(token, dot1, o->algorithms ? o->algorithms : BYRON_ALG_ALL, &alg, kid, sizeof kid, err);
    if (st != BYRON_OK) return st;
    /* Candidate keys: the kid's, or every key of the algorithm's type. */
    int verified = 0, kid_known = 0;
    for (size_t i = 0; ks && i < ks->n && !verified; i++) {
        const jwkey_t *k = &ks->keys[i];
        if (kid[0] && strcmp(k->kid, kid) != 0) continue;
        kid_known = 1;
        if (!(k->algs & alg)) continue;
        verified = signature_ok(k, alg, token, len, dot2);
    }
    if (!verified) {
        if (kid[0] && !kid_known)
            return byron_err_set(err, BYRON_ENOTFOUND, "token: signed with an unknown key (kid %.64s)", kid);
        return byron_err_set(err, BYRON_EINVAL, "token: signature does not verify");
    }
    unsigned char *payload = NULL;
    size_t n = 0;
    json_object *claims = NULL;
    if (b64url(d1 + 1, dot2 - dot1 - 1, BYRON_TOKEN_MAX_BYTES, &payload, &n) != 0)
        return byron_err_set(err, BYRON_EINVAL, "token: payload is not base64url");
    byron_err_t perr;
    st = byron_json_parse((const char *)payload, n, 16, &claims, &perr);
    free(payload);
    if (st != BYRON_OK || !json_object_is_type(claims, json_type_object)) {
        json_object_put(claims);
        return byron_err_set(err, BYRON_EINVAL, "token: payload is not a JSON object");
    }
    if ((st = check_claims(claims, o, now, out, err)) != BYRON_OK) {
        json_object_put(claims);
        byron_principal_cleanup(out);
        return st;
    }
    out->claims = claims;
    return BYRON_OK;
}
