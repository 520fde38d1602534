/* test_token.c — JWT verification against keys made here (cjose and OpenSSL
 * sign; the code under test only verifies), and the attacks a bearer-token
 * API must refuse: alg none, HS256 keyed with the public key, unknown kid,
 * tampering, wrong issuer or audience, expiry, crit, embedded keys. */
#include "byron/json.h"
#include "token.h"

#include <cjose/cjose.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000LL
#define ISS "https://issuer.test/"

static const char *const AUDS[] = {"orders-api"};
static const byron_token_options_t OPTS = {
    .issuer = ISS, .audiences = AUDS, .naudiences = 1, .algorithms = 0, .skew_s = 30};

static char *b64(const void *data, size_t len) {
    char *out = NULL;
    size_t n = 0;
    cjose_err err;
    cr_assert(cjose_base64url_encode(data, len, &out, &n, &err));
    return out;
}

/* header.payload, base64url'd. */
static char *signing_input(const char *header, const char *payload) {
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    char *s = malloc(strlen(h) + strlen(p) + 2);
    sprintf(s, "%s.%s", h, p);
    free(h);
    free(p);
    return s;
}

static char *join(const char *input, const char *sig_b64) {
    char *s = malloc(strlen(input) + strlen(sig_b64) + 2);
    sprintf(s, "%s.%s", input, sig_b64);
    return s;
}

static char *claims(int64_t exp, const char *iss, const char *aud) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"iss\":\"%s\",\"aud\":[\"other\",\"%s\"],\"sub\":\"alice\",\"exp\":%lld,"
             "\"iat\":%lld,\"scp\":[\"orders.read\"]}",
             iss, aud, (long long)exp, (long long)NOW - 10);
    return buf;
}

/* RS256 / ES256 via cjose. */
static char *sign_jwk(cjose_jwk_t *jwk, const char *alg, const char *kid, const char *payload) {
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cr_assert(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
    if (kid) cr_assert(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
    cjose_jws_t *jws = cjose_jws_sign(jwk, h, (const uint8_t *)payload, strlen(payload), &err);
    cr_assert_not_null(jws, "%s", err.message);
    const char *ser = NULL;
    cr_assert(cjose_jws_export(jws, &ser, &err));
    char *out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

static char *sign_ed(EVP_PKEY *k, const char *header, const char *payload) {
    char *input = signing_input(header, payload);
    unsigned char sig[64];
    size_t n = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
    cr_assert_eq(EVP_DigestSign(ctx, sig, &n, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    char *s = b64(sig, n), *t = join(input, s);
    free(s);
    free(input);
    return t;
}

/* A public JWK of jwk with a kid, as JSON text. */
static char *public_jwk(cjose_jwk_t *jwk, const char *kid) {
    cjose_err err;
    char *pub = cjose_jwk_to_json(jwk, false, &err);
    cr_assert_not_null(pub);
    char *s = malloc(strlen(pub) + 64);
    sprintf(s, "{\"kid\":\"%s\",\"use\":\"sig\",%s", kid, pub + 1);
    free(pub);
    return s;
}

static char *ed_jwk(EVP_PKEY *k, const char *kid) {
    unsigned char raw[32];
    size_t n = sizeof raw;
    cr_assert_eq(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
    char *x = b64(raw, n), *s = malloc(256);
    snprintf(s, 256, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\"}", kid, x);
    free(x);
    return s;
}

typedef struct {
    cjose_jwk_t *rsa, *ec;
    EVP_PKEY *ed;
    char *rsa_pub, *ec_pub, *ed_pub;
    byron_keyset_t *ks;
} keys_t;

static keys_t K;

static void setup(void) {
    cjose_err err;
    K.rsa = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    K.ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    K.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    cr_assert(K.rsa && K.ec && K.ed);
    K.rsa_pub = public_jwk(K.rsa, "r1");
    K.ec_pub = public_jwk(K.ec, "e1");
    K.ed_pub = ed_jwk(K.ed, "d1");
    char set[8192];
    snprintf(set, sizeof set, "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}]}",
             K.rsa_pub, K.ec_pub, K.ed_pub);
    byron_err_t e = {0};
    cr_assert_eq(byron_keyset_parse(set, strlen(set), &K.ks, &e), BYRON_OK, "%s", e.msg);
    cr_assert_eq(byron_keyset_size(K.ks), 3, "the HMAC secret is not a verification key");
}

static void teardown(void) {
    byron_keyset_free(K.ks);
    cjose_jwk_release(K.rsa);
    cjose_jwk_release(K.ec);
    EVP_PKEY_free(K.ed);
    free(K.rsa_pub);
    free(K.ec_pub);
    free(K.ed_pub);
    memset(&K, 0, sizeof K);
}

static byron_status_t verify(const char *token, byron_err_t *err) {
    byron_principal_t p;
    byron_status_t st = byron_token_verify(K.ks, &OPTS, token, strlen(token), NOW, &p, err);
    if (st == BYRON_OK) {
        cr_assert_eq(p.kind, BYRON_PRINCIPAL_USER);
        cr_assert_str_eq(p.sub, "alice");
        cr_assert_str_eq(p.iss, ISS);
        cr_assert_not_null(byron_principal_claim(&p, "scp"));
    }
    byron_principal_cleanup(&p);
    return st;
}

static void refused(const char *token, byron_status_t want, const char *msg_part) {
    byron_err_t err = {0};
    byron_status_t st = verify(token, &err);
    cr_assert_eq(st, want, "want %d, got %d (%s) for %.80s", want, st, err.msg, token);
    cr_assert(strstr(err.msg, msg_part), "message \"%s\" lacks \"%s\"", err.msg, msg_part);
}

TestSuite(token, .init = setup, .fini = teardown);

Test(token, accepts_rs256_es256_and_eddsa) {
    byron_err_t err = {0};
    char *t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW + 300, ISS, "orders-api"));
    cr_assert_eq(verify(t, &err), BYRON_OK, "%s", err.msg);
    free(t);
    t = sign_jwk(K.ec, "ES256", "e1", claims(NOW + 300, ISS, "orders-api"));
    cr_assert_eq(verify(t, &err), BYRON_OK, "%s", err.msg);
    free(t);
    t = sign_ed(K.ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims(NOW + 300, ISS, "orders-api"));
    cr_assert_eq(verify(t, &err), BYRON_OK, "%s", err.msg);
    free(t);
    /* No kid: every key of the algorithm's type is tried. */
    t = sign_jwk(K.rsa, "RS256", NULL, claims(NOW + 300, ISS, "orders-api"));
    cr_assert_eq(verify(t, &err), BYRON_OK, "%s", err.msg);
    free(t);
}

Test(token, refuses_expired_and_early_within_skew_only) {
    char *t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW - 31, ISS, "orders-api"));
    refused(t, BYRON_EINVAL, "expired");
    free(t);
    byron_err_t err = {0};
    t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW - 29, ISS, "orders-api")); /* inside the 30 s skew */
    cr_assert_eq(verify(t, &err), BYRON_OK, "%s", err.msg);
    free(t);
    char p[256];
    snprintf(p, sizeof p,
             "{\"iss\":\"%s\",\"aud\":\"orders-api\",\"sub\":\"alice\",\"exp\":%lld,\"nbf\":%lld,\"scp\":[]}",
             ISS, NOW + 600, NOW + 60);
    t = sign_jwk(K.rsa, "RS256", "r1", p);
    refused(t, BYRON_EINVAL, "not valid yet");
    free(t);
    snprintf(p, sizeof p, "{\"iss\":\"%s\",\"aud\":\"orders-api\",\"sub\":\"alice\"}", ISS);
    t = sign_jwk(K.rsa, "RS256", "r1", p);
    refused(t, BYRON_EINVAL, "exp is required");
    free(t);
}

Test(token, refuses_wrong_issuer_and_audience) {
    char *t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW + 300, "https://evil.test/", "orders-api"));
    refused(t, BYRON_EINVAL, "issuer");
    free(t);
    t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW + 300, ISS, "billing-api"));
    refused(t, BYRON_EINVAL, "audience");
    free(t);
}

Test(token, refuses_alg_none) {
    char *in = signing_input("{\"alg\":\"none\",\"kid\":\"r1\"}", claims(NOW + 300, ISS, "orders-api"));
    char *t = malloc(strlen(in) + 2);
    sprintf(t, "%s.", in); /* the unsecured form: empty signature */
    refused(t, BYRON_EINVAL, "not a signed JWT");
    free(t);
    t = join(in, "AAAA");
    refused(t, BYRON_EINVAL, "algorithm none is not accepted");
    free(t);
    free(in);
}

/* The classic confusion: HMAC with the RSA public key as the secret. */
Test(token, refuses_hs256_keyed_with_the_public_key) {
    char *in = signing_input("{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims(NOW + 300, ISS, "orders-api"));
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), K.rsa_pub, (int)strlen(K.rsa_pub), (unsigned char *)in, strlen(in), mac, &n);
    char *s = b64(mac, n), *t = join(in, s);
    refused(t, BYRON_EINVAL, "algorithm HS256 is not accepted");
    free(s);
    free(t);
    free(in);
}

Test(token, unknown_kid_asks_for_a_refresh) {
    char *t = sign_jwk(K.rsa, "RS256", "r9", claims(NOW + 300, ISS, "orders-api"));
    refused(t, BYRON_ENOTFOUND, "unknown key");
    free(t);
}

Test(token, refuses_a_key_of_the_wrong_type_for_the_algorithm) {
    /* Signed by the EC key but claiming the RSA key's kid. */
    char *t = sign_jwk(K.ec, "ES256", "r1", claims(NOW + 300, ISS, "orders-api"));
    refused(t, BYRON_EINVAL, "signature does not verify");
    free(t);
}

Test(token, refuses_tampering) {
    char *t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW + 300, ISS, "orders-api"));
    /* Swap the payload for one naming another subject, keep the signature. */
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *evil =
        b64("{\"iss\":\"" ISS "\",\"aud\":\"orders-api\",\"sub\":\"mallory\",\"exp\":1900000000}", 83);
    char *forged = malloc(strlen(t) + strlen(evil) + 4);
    sprintf(forged, "%.*s.%s%s", (int)(dot1 - t), t, evil, dot2);
    refused(forged, BYRON_EINVAL, "signature does not verify");
    /* One flipped bit in the signature. */
    t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
    refused(t, BYRON_EINVAL, "signature does not verify");
    free(forged);
    free(evil);
    free(t);
    char *e = sign_ed(K.ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims(NOW + 300, ISS, "orders-api"));
    e[strlen(e) - 3] = e[strlen(e) - 3] == 'A' ? 'B' : 'A';
    refused(e, BYRON_EINVAL, "signature does not verify");
    free(e);
}

/* A key embedded in the header (jwk) is the attacker's: never used. */
Test(token, ignores_embedded_keys_and_refuses_crit) {
    cjose_err err;
    cjose_jwk_t *mine = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    char *pub = cjose_jwk_to_json(mine, false, &err);
    cjose_header_t *h = cjose_header_new(&err);
    cjose_header_set(h, CJOSE_HDR_ALG, "RS256", &err);
    cjose_header_set(h, CJOSE_HDR_KID, "r1", &err);
    cjose_header_set_raw(h, "jwk", pub, &err);
    const char *p = claims(NOW + 300, ISS, "orders-api");
    cjose_jws_t *jws = cjose_jws_sign(mine, h, (const uint8_t *)p, strlen(p), &err);
    const char *ser = NULL;
    cjose_jws_export(jws, &ser, &err);
    refused(ser, BYRON_EINVAL, "signature does not verify");
    cjose_jws_release(jws);
    cjose_header_release(h);
    free(pub);
    cjose_jwk_release(mine);
    char *c = sign_ed(K.ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"crit\":[\"exp\"]}", p);
    refused(c, BYRON_EINVAL, "critical");
    free(c);
}

Test(token, refuses_garbage_shapes) {
    refused("", BYRON_EINVAL, "1 to");
    refused("abc", BYRON_EINVAL, "not a signed JWT");
    refused("a.b.c.d", BYRON_EINVAL, "not a signed JWT");
    refused("!!!.e30.AAAA", BYRON_EINVAL, "header is not base64url");
    refused("e30.e30.AAAA", BYRON_EINVAL, "algorithm (none)");
    char *big = malloc(BYRON_TOKEN_MAX_BYTES + 2);
    memset(big, 'A', BYRON_TOKEN_MAX_BYTES + 1);
    big[BYRON_TOKEN_MAX_BYTES + 1] = '\0';
    refused(big, BYRON_EINVAL, "1 to");
    free(big);
}

Test(token, algorithm_allow_list_is_the_callers) {
    byron_token_options_t o = OPTS;
    o.algorithms = BYRON_ALG_ES256;
    char *t = sign_jwk(K.rsa, "RS256", "r1", claims(NOW + 300, ISS, "orders-api"));
    byron_principal_t p;
    byron_err_t err = {0};
    cr_assert_eq(byron_token_verify(K.ks, &o, t, strlen(t), NOW, &p, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "RS256 is not accepted"), "%s", err.msg);
    free(t);
}

Test(keyset, skips_short_rsa_and_refuses_an_unusable_set) {
    cjose_err err;
    cjose_jwk_t *weak = cjose_jwk_create_RSA_random(1024, NULL, 0, &err);
    char *pub = public_jwk(weak, "w1"), set[4096];
    snprintf(set, sizeof set, "{\"keys\":[%s,{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}",
             pub);
    byron_keyset_t *ks = NULL;
    byron_err_t e = {0};
    cr_assert_eq(byron_keyset_parse(set, strlen(set), &ks, &e), BYRON_EINVAL);
    cr_assert(strstr(e.msg, "none of its 2 keys"), "%s", e.msg);
    cr_assert_eq(byron_keyset_parse("[]", 2, &ks, &e), BYRON_EINVAL);
    free(pub);
    cjose_jwk_release(weak);
}
