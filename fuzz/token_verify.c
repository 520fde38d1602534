/* token_verify.c — fuzz the bearer-token path: JWK Set parsing, compact JWS
 * parsing and verification, and — by signing the input here with a fixed
 * Ed25519 key, so the fuzzer reaches code that only runs for authentic
 * tokens — the claims checks and the principal.
 *
 * Input: first byte selects the mode; the rest is a JWK Set (0), a token (1)
 * or a claims payload to sign (2). Must never crash or leak, and a token
 * accepted must yield a principal with a subject and an expiry in the future. */
#include "token.h"

#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000LL
/* RFC 8037, A.1/A.2: a published Ed25519 test key. */
static const unsigned char SEED[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                       0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                       0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const char JWKS[] = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k1\","
                           "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
static const char *const AUDS[] = {"api"};
static const byron_token_options_t OPTS = {
    .issuer = "https://iss/", .audiences = AUDS, .naudiences = 1, .algorithms = 0, .skew_s = 30};

static byron_keyset_t *KS;
static EVP_PKEY *PRIV;

static void init(void) {
    byron_err_t err;
    if (byron_keyset_parse(JWKS, strlen(JWKS), &KS, &err) != BYRON_OK) abort();
    if (!(PRIV = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, SEED, sizeof SEED))) abort();
}

static char *b64(const void *p, size_t n) {
    char *out = NULL;
    size_t len = 0;
    cjose_err err;
    return cjose_base64url_encode(p, n, &out, &len, &err) ? out : NULL;
}

static void check(const char *token, size_t len) {
    byron_principal_t p;
    byron_err_t err;
    if (byron_token_verify(KS, &OPTS, token, len, NOW, &p, &err) == BYRON_OK) {
        if (!p.sub[0] || p.exp + 30 <= NOW || p.kind != BYRON_PRINCIPAL_USER) abort();
        byron_principal_t copy;
        if (byron_principal_copy(&copy, &p) == BYRON_OK) byron_principal_cleanup(&copy);
    }
    byron_principal_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!KS) init();
    if (size < 1 || size > 16384) return 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        byron_keyset_t *ks = NULL;
        byron_err_t err;
        if (byron_keyset_parse(body, n, &ks, &err) == BYRON_OK && byron_keyset_size(ks) == 0) abort();
        byron_keyset_free(ks);
        break;
    }
    case 1: check(body, n); break;
    default: {
        static const char HDR[] = "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}";
        char *h = b64(HDR, sizeof HDR - 1), *pl = n ? b64(body, n) : NULL;
        if (h && pl) {
            size_t in_len = strlen(h) + 1 + strlen(pl);
            char *tok = malloc(in_len + 100);
            snprintf(tok, in_len + 1, "%s.%s", h, pl);
            unsigned char sig[64];
            size_t sl = sizeof sig;
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, PRIV) == 1 &&
                EVP_DigestSign(ctx, sig, &sl, (unsigned char *)tok, in_len) == 1) {
                char *s = b64(sig, sl);
                if (s) {
                    snprintf(tok + in_len, 100, ".%s", s);
                    check(tok, strlen(tok));
                }
                free(s);
            }
            EVP_MD_CTX_free(ctx);
            free(tok);
        }
        free(h);
        free(pl);
    }
    }
    return 0;
}
