/* base64.c — base64 encode/decode (standard and URL alphabets). */
#include "byron/base64.h"

#include <stdlib.h>

char *byron_base64_encode(const unsigned char *in, size_t len, int url) {
    const char *t = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((len + 2) / 3 * 4 + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        *p++ = t[v >> 18 & 63];
        *p++ = t[v >> 12 & 63];
        if (i + 1 < len)
            *p++ = t[v >> 6 & 63];
        else if (!url)
            *p++ = '=';
        if (i + 2 < len)
            *p++ = t[v & 63];
        else if (!url)
            *p++ = '=';
    }
    *p = '\0';
    return o;
}

static int value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

int byron_base64_decode(const char *in, size_t n, char **out, size_t *outlen) {
    char *o = malloc(n / 4 * 3 + 4);
    if (!o) return -1;
    unsigned acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        int v = value(c);
        if (v < 0) {
            free(o);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    o[k] = '\0';
    *out = o;
    *outlen = k;
    return 0;
}
