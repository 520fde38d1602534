/* base64.h — base64 (RFC 4648) for Secret data, kubeconfig *-data fields and
 * NATS JWTs (the URL alphabet, no padding). An encoding, not crypto. */
#ifndef BYRON_BASE64_H
#define BYRON_BASE64_H

#include <stddef.h>

/* Standard base64 (padded), or with url set the URL alphabet without padding,
 * of len bytes. Caller frees; NULL when out of memory. */
char *byron_base64_encode(const unsigned char *in, size_t len, int url);
/* Decode standard or URL base64 of the first n bytes of in (padding and
 * whitespace ignored) into a NUL-terminated buffer. Caller frees; -1 on a
 * character outside both alphabets (or out of memory). */
int byron_base64_decode(const char *in, size_t n, char **out, size_t *outlen);

#endif
