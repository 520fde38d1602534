/* buf.c — see buf.h. */
#include "byron/buf.h"

#include <stdlib.h>
#include <string.h>

int byron_buf_append(byron_buf_t *b, const void *p, size_t n) {
    if (b->max && (n > b->max || b->len > b->max - n)) {
        b->too_large = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2; /* doubling: appends cost O(1) amortised */
        char *nb = realloc(b->buf, cap);
        if (!nb) return -1;
        b->buf = nb;
        b->cap = cap;
    }
    if (n) memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

size_t byron_buf_curl_write(char *p, size_t size, size_t n, void *ud) {
    return byron_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

void byron_buf_free(byron_buf_t *b) {
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
    b->too_large = 0;
}
