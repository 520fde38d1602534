/* nats_options.c — credentials, TLS and inbox prefix of the sidecar's NATS connections. */
#include "nats_options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

byron_status_t byron_nats_options_apply(natsOptions *o, byron_err_t *err) {
    const char *creds = getenv("BYRON_NATS_CREDS"), *ca = getenv("BYRON_NATS_CA"),
               *inbox = getenv("BYRON_NATS_INBOX_PREFIX");
    natsStatus ns;
    if (creds && *creds) {
        /* Checked now for a clear message; cnats reads it only when connecting. */
        if (access(creds, R_OK) != 0)
            return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CREDS: %s: %s", creds, strerror(errno));
        if ((ns = natsOptions_SetUserCredentialsFromFiles(o, creds, NULL)) != NATS_OK)
            return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CREDS: %s: %s", creds,
                                 natsStatus_GetText(ns));
    }
    if (ca && *ca) {
        if ((ns = natsOptions_LoadCATrustedCertificates(o, ca)) != NATS_OK ||
            (ns = natsOptions_SetSecure(o, true)) != NATS_OK) {
            const char *last = nats_GetLastError(NULL);
            return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CA: %s: %s", ca,
                                 last ? last : natsStatus_GetText(ns));
        }
    }
    if (inbox && *inbox && (ns = natsOptions_SetCustomInboxPrefix(o, inbox)) != NATS_OK)
        return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_INBOX_PREFIX: \"%s\": %s", inbox,
                             natsStatus_GetText(ns));
    return BYRON_OK;
}
