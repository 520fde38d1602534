/* nkeys.c — NATS nkey encoding around OpenSSL's ed25519. */
#include "nkeys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#define PREFIX_SEED (18 << 3) /* 'S' */

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void byron_base32_encode(const unsigned char *in, size_t len, char *out, size_t cap) {
    size_t o = 0;
    unsigned buf = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        buf = buf << 8 | in[i];
        bits += 8;
        while (bits >= 5 && o + 1 < cap) {
            out[o++] = B32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0 && o + 1 < cap) out[o++] = B32[(buf << (5 - bits)) & 31];
    out[o] = '\0';
}

/* Decodes at most cap bytes; returns the count, or -1 on a character outside
 * the alphabet. */
static int base32_decode(const char *in, unsigned char *out, size_t cap) {
    unsigned buf = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        const char *hit = strchr(B32, *p);
        if (!hit) return -1;
        buf = buf << 5 | (unsigned)(hit - B32);
        bits += 5;
        if (bits >= 8) {
            if (o == cap) return -1;
            out[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)o;
}

/* CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys' crc16.go. */
static uint16_t crc16(const unsigned char *p, size_t n) {
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static void encode_checked(const unsigned char *raw, size_t n, char *out, size_t cap) {
    unsigned char buf[40];
    memcpy(buf, raw, n);
    uint16_t c = crc16(raw, n);
    buf[n] = (unsigned char)(c & 0xff); /* little endian */
    buf[n + 1] = (unsigned char)(c >> 8);
    byron_base32_encode(buf, n + 2, out, cap);
}

static byron_status_t derive(byron_nkey_t *k, byron_err_t *err) {
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, sizeof k->seed);
    unsigned char pub[33];
    size_t plen = 32;
    if (!pk || EVP_PKEY_get_raw_public_key(pk, pub + 1, &plen) != 1 || plen != 32) {
        EVP_PKEY_free(pk);
        return byron_err_set(err, BYRON_EIO, "ed25519: cannot derive the public key (OpenSSL)");
    }
    EVP_PKEY_free(pk);
    pub[0] = (unsigned char)k->type;
    encode_checked(pub, 33, k->public_key, sizeof k->public_key);
    unsigned char s[34];
    s[0] = (unsigned char)(PREFIX_SEED | (k->type >> 5));
    s[1] = (unsigned char)((k->type & 31) << 3);
    memcpy(s + 2, k->seed, 32);
    encode_checked(s, 34, k->seed_text, sizeof k->seed_text);
    OPENSSL_cleanse(s, sizeof s);
    return BYRON_OK;
}

byron_status_t byron_nkey_generate(byron_nkey_type_t type, byron_nkey_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    out->type = type;
    if (RAND_bytes(out->seed, sizeof out->seed) != 1)
        return byron_err_set(err, BYRON_EIO, "no random bytes for a key (OpenSSL RAND_bytes)");
    return derive(out, err);
}

byron_status_t byron_nkey_from_seed(const char *text, byron_nkey_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    unsigned char raw[36];
    if (!text || strlen(text) != BYRON_NKEY_SEED_LEN || base32_decode(text, raw, sizeof raw) != 36)
        return byron_err_set(err, BYRON_EINVAL, "not an nkey seed (58 base32 characters)");
    uint16_t c = (uint16_t)(raw[34] | raw[35] << 8);
    if (crc16(raw, 34) != c) return byron_err_set(err, BYRON_EINVAL, "nkey seed: checksum mismatch");
    if ((raw[0] & 0xf8) != PREFIX_SEED) return byron_err_set(err, BYRON_EINVAL, "nkey seed: not a seed");
    unsigned t = (unsigned)((raw[0] & 7) << 5 | (raw[1] & 0xf8) >> 3);
    if (t != BYRON_NKEY_OPERATOR && t != BYRON_NKEY_ACCOUNT && t != BYRON_NKEY_USER)
        return byron_err_set(err, BYRON_EINVAL, "nkey seed: not an operator, account or user key");
    out->type = (byron_nkey_type_t)t;
    memcpy(out->seed, raw + 2, 32);
    OPENSSL_cleanse(raw, sizeof raw);
    return derive(out, err);
}

int byron_nkey_is_public(const char *text, byron_nkey_type_t type) {
    unsigned char raw[35];
    if (!text || strlen(text) != BYRON_NKEY_PUBLIC_LEN || base32_decode(text, raw, sizeof raw) != 35)
        return 0;
    return crc16(raw, 33) == (uint16_t)(raw[33] | raw[34] << 8) && raw[0] == (unsigned char)type;
}

byron_status_t byron_nkey_sign(const byron_nkey_t *k, const void *data, size_t len, unsigned char sig[64],
                               byron_err_t *err) {
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, sizeof k->seed);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t slen = 64;
    int ok = pk && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestSign(ctx, sig, &slen, data, len) == 1 && slen == 64;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok ? BYRON_OK : byron_err_set(err, BYRON_EIO, "ed25519: signing failed (OpenSSL)");
}

void byron_nkey_wipe(byron_nkey_t *k) {
    OPENSSL_cleanse(k->seed, sizeof k->seed);
    OPENSSL_cleanse(k->seed_text, sizeof k->seed_text);
}
