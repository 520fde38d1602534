/* status.c — status names and the error object. */
#include "byron/status.h"

#include <stdio.h>
#include <string.h>

const char *byron_status_name(byron_status_t st) {
    switch (st) {
    case BYRON_OK: return "ok";
    case BYRON_EINVAL: return "invalid";
    case BYRON_ENOMEM: return "out_of_memory";
    case BYRON_EIO: return "io";
    case BYRON_ETIMEDOUT: return "timeout";
    case BYRON_ENOTFOUND: return "not_found";
    case BYRON_ECONFLICT: return "conflict";
    case BYRON_EUNAVAILABLE: return "unavailable";
    case BYRON_EPROTO: return "protocol";
    case BYRON_EREJECTED: return "rejected";
    case BYRON_ELIMIT: return "limit";
    case BYRON_ESTATE: return "state";
    }
    return "unknown";
}

byron_status_t byron_err_vset(byron_err_t *err, byron_status_t code, const char *fmt, va_list ap) {
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

byron_status_t byron_err_set(byron_err_t *err, byron_status_t code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    byron_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

byron_status_t byron_err_prefix(byron_err_t *err, const char *fmt, ...) {
    if (!err) return BYRON_OK;
    char old[BYRON_ERR_MSG_MAX], pre[BYRON_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    /* A message too long for the buffer is cut, never overflowed. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old) >= (int)sizeof err->msg)
        err->msg[sizeof err->msg - 1] = '\0';
    return err->code;
}

void byron_err_clear(byron_err_t *err) {
    if (!err) return;
    err->code = BYRON_OK;
    err->msg[0] = '\0';
}
