/* ws_frame.c — WebSocket frames, the client's side (ws_frame.h). */
#include "byron/ws_frame.h"

#include "byron/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

size_t byron_ws_frame_encode(int opcode, const void *payload, size_t len, const uint8_t mask[4],
                             uint8_t *out) {
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++) out[h + i] = p[i] ^ mask[i & 3];
    return h + len;
}

long byron_ws_frame_parse(uint8_t *buf, size_t n, uint64_t max, byron_ws_frame_t *out) {
    if (n < 2) return 0;
    int fin = buf[0] >> 7, rsv = buf[0] & 0x70, opcode = buf[0] & 0x0f, masked = buf[1] >> 7;
    uint64_t len = buf[1] & 0x7f;
    size_t h = 2;
    if (rsv || (opcode > 2 && opcode < 8) || opcode > 10) return -1;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | buf[2 + i];
        if (len >> 63) return -1;
        h = 10;
    }
    if (opcode >= 8 && (len > 125 || !fin)) return -1;
    if (len > max) return -1;
    uint8_t key[4] = {0};
    if (masked) {
        if (n < h + 4) return 0;
        memcpy(key, buf + h, 4);
        h += 4;
    }
    if (n - h < len) return 0;
    if (masked)
        for (uint64_t i = 0; i < len; i++) buf[h + i] ^= key[i & 3];
    out->fin = fin;
    out->opcode = opcode;
    out->payload = buf + h;
    out->len = len;
    return (long)(h + len);
}

int byron_ws_accept(const char *key, char out[29]) {
    static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t kl = strlen(key);
    char *in = malloc(kl + sizeof GUID);
    if (!in) return -1;
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): the GUID's NUL follows at once
    memcpy(in, key, kl);
    memcpy(in + kl, GUID, sizeof GUID);
    int ok = EVP_Digest(in, kl + sizeof GUID - 1, md, &mdlen, EVP_sha1(), NULL);
    free(in);
    if (!ok || mdlen != 20) return -1;
    char *b = byron_base64_encode(md, mdlen, 0);
    if (!b || strlen(b) != 28) {
        free(b);
        return -1;
    }
    memcpy(out, b, 29);
    free(b);
    return 0;
}
