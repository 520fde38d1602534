/* nkeys.h — NATS nkeys: ed25519 key pairs in NATS's text encoding.
 *
 * An nkey is an ed25519 key whose public half is written as base32(prefix
 * byte ‖ 32-byte key ‖ crc16) — "O…" for an operator, "A…" for an account,
 * "U…" for a user — and whose seed (the 32-byte private key) as base32(two
 * prefix bytes ‖ seed ‖ crc16), "SO…", "SA…", "SU…". The encoding is NATS's
 * (github.com/nats-io/nkeys, strkey.go): base32 and a CRC are not crypto. The
 * crypto — key generation, signing — is OpenSSL's (EVP, ED25519). */
#ifndef BYRON_NKEYS_H
#define BYRON_NKEYS_H

#include "byron/status.h"

#include <stddef.h>

typedef enum byron_nkey_type {
    BYRON_NKEY_OPERATOR = 14 << 3, /* 'O' */
    BYRON_NKEY_ACCOUNT = 0,        /* 'A' */
    BYRON_NKEY_USER = 20 << 3,     /* 'U' */
} byron_nkey_type_t;

#define BYRON_NKEY_PUBLIC_LEN 56 /* characters */
#define BYRON_NKEY_SEED_LEN 58

typedef struct byron_nkey {
    byron_nkey_type_t type;
    unsigned char seed[32];
    char public_key[BYRON_NKEY_PUBLIC_LEN + 1];
    char seed_text[BYRON_NKEY_SEED_LEN + 1];
} byron_nkey_t;

/* A new key pair from the system's random source. */
byron_status_t byron_nkey_generate(byron_nkey_type_t type, byron_nkey_t *out, byron_err_t *err);
/* The key pair of a seed ("SA…"); EINVAL (naming what is wrong) for a bad one. */
byron_status_t byron_nkey_from_seed(const char *seed_text, byron_nkey_t *out, byron_err_t *err);
/* Whether text is a public key of this type (prefix, length, checksum). */
int byron_nkey_is_public(const char *text, byron_nkey_type_t type);
/* ed25519 signature of data (64 bytes into sig). */
byron_status_t byron_nkey_sign(const byron_nkey_t *k, const void *data, size_t len, unsigned char sig[64],
                               byron_err_t *err);
/* Wipe the private half. */
void byron_nkey_wipe(byron_nkey_t *k);

/* Base32 (RFC 4648 alphabet, no padding) of len bytes into out (cap >= len*8/5+2). */
void byron_base32_encode(const unsigned char *in, size_t len, char *out, size_t cap);

#endif
