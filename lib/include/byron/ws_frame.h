/* ws_frame.h — WebSocket framing (RFC 6455), the client's side: what
 * kube_exec.c speaks to the API server's exec endpoint over a connection
 * libcurl opened (TLS and credentials are the kube client's).
 *
 * Pure functions over caller buffers: no I/O, no allocation; unit-tested.
 * Framing only — the handshake's Sec-WebSocket-Accept is a SHA-1 (OpenSSL). */
#ifndef BYRON_WS_FRAME_H
#define BYRON_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
    BYRON_WS_CONTINUATION = 0x0,
    BYRON_WS_TEXT = 0x1,
    BYRON_WS_BINARY = 0x2,
    BYRON_WS_CLOSE = 0x8,
    BYRON_WS_PING = 0x9,
    BYRON_WS_PONG = 0xA,
};

/* The largest frame header: 2 + 8 (length) + 4 (mask). */
#define BYRON_WS_HEADER_MAX 14

/* A client frame (FIN set, masked with mask[4]): header + masked payload into
 * out, which holds at least BYRON_WS_HEADER_MAX + len bytes. Returns its size. */
size_t byron_ws_frame_encode(int opcode, const void *payload, size_t len, const uint8_t mask[4],
                             uint8_t *out);

typedef struct byron_ws_frame {
    int fin, opcode;
    const uint8_t *payload; /* into the parsed buffer (unmasked in place when masked) */
    uint64_t len;
} byron_ws_frame_t;

/* Parse one frame at the start of buf[0..n). Returns the bytes it takes, 0
 * when buf holds only part of it, -1 for a frame no server may send (reserved
 * bits, an unknown opcode, a control frame over 125 bytes or fragmented, a
 * payload beyond max). A masked frame is unmasked in place. */
long byron_ws_frame_parse(uint8_t *buf, size_t n, uint64_t max, byron_ws_frame_t *out);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL into out[29]. -1 when SHA-1 is unavailable. */
int byron_ws_accept(const char *key, char out[29]);

#endif
