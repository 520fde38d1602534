/* buf.h — a growing byte buffer, the one way Byron collects an HTTP body.
 *
 * libcurl hands a response over in pieces: byron_buf_curl_write is the
 * CURLOPT_WRITEFUNCTION for every client (the Kubernetes API, JWKS, the app's
 * socket, the tests), with CURLOPT_WRITEDATA a byron_buf_t. The bytes stay
 * NUL-terminated, so a text body can be read as a string. */
#ifndef BYRON_BUF_H
#define BYRON_BUF_H

#include <stddef.h>

typedef struct {
    char *buf;     /* the bytes and a NUL after them; NULL until the first byte; the owner frees */
    size_t len;    /* bytes held, without the NUL */
    size_t cap;    /* bytes allocated */
    size_t max;    /* the most bytes accepted (0: no limit) */
    int too_large; /* set when an append went past max (the append was refused) */
} byron_buf_t;

/* Append n bytes. 0 on success; -1 when the buffer would pass max (too_large
 * is set) or memory runs out — the bytes held so far stay. */
int byron_buf_append(byron_buf_t *b, const void *p, size_t n);

/* libcurl's write callback: appends size*n bytes to the byron_buf_t ud;
 * answers less than it was given (curl then aborts with CURLE_WRITE_ERROR)
 * when the body passes max or memory runs out. */
size_t byron_buf_curl_write(char *p, size_t size, size_t n, void *ud);

/* Free the bytes; the buffer is empty (max kept) and can be used again. */
void byron_buf_free(byron_buf_t *b);

#endif
