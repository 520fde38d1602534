/* status.h — the status codes and error object every Byron function returns.
 *
 * A function that can fail returns byron_status_t and, when given a non-NULL
 * byron_err_t*, leaves a human message there. Library code never prints and
 * never exits: the caller decides whether a message is a log line, a GraphQL
 * error, an HTTP body or a condition on a custom resource. */
#ifndef BYRON_STATUS_H
#define BYRON_STATUS_H

#include <stdarg.h>

typedef enum {
    BYRON_OK = 0,
    BYRON_EINVAL, /* bad input from outside: config, JSON, request */
    BYRON_ENOMEM,
    BYRON_EIO, /* a dependency failed (network, file, server error) */
    BYRON_ETIMEDOUT,
    BYRON_ENOTFOUND,
    BYRON_ECONFLICT,    /* optimistic concurrency lost, already exists */
    BYRON_EUNAVAILABLE, /* dependency down or overloaded: retry later */
    BYRON_EPROTO,       /* a peer spoke garbage */
    BYRON_EREJECTED,    /* an app or policy refused the request on purpose */
    BYRON_ELIMIT,       /* a configured limit was exceeded */
    BYRON_ESTATE,       /* called at the wrong time (shutting down, not ready) */
} byron_status_t;

#define BYRON_ERR_MSG_MAX 512

typedef struct byron_err {
    byron_status_t code;
    char msg[BYRON_ERR_MSG_MAX];
} byron_err_t;

/* Short stable name of a status ("EINVAL" → "invalid"), for logs and metrics. */
const char *byron_status_name(byron_status_t st);

/* Set err (if non-NULL) and return code, so that `return byron_err_set(...)` reads well. */
byron_status_t byron_err_set(byron_err_t *err, byron_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
byron_status_t byron_err_vset(byron_err_t *err, byron_status_t code, const char *fmt, va_list ap);

/* Prefix err's message with context: "loading config: " + old message. */
byron_status_t byron_err_prefix(byron_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void byron_err_clear(byron_err_t *err);

#endif
