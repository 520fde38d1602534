/* nats_options.c — credentials, TLS and inbox prefix of the sidecar's NATS connections. */
#include "nats_options.h"

#include "byron/file.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A .creds file holds a user JWT and the nkey seed that signs for it. cnats'
 * own reader (natsOptions_SetUserCredentialsFromFiles) opens the file twice per
 * connect, once for each: a Secret renewed between the two reads pairs the new
 * JWT with the old seed, and the server answers "Authorization Violation". Here
 * the JWT callback reads the file once and keeps its seed for the signature
 * callback, which cnats calls next on the same thread in the same connect: a
 * thread-local slot, wiped after use. */
#define CREDS_MAX_BYTES (64 * 1024)

static char creds_path[PATH_MAX];
static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char connect_seed[BYRON_NATS_SEED_MAX];

/* The first non-empty line after the line holding marker, trimmed, into out. */
static int creds_section(const char *text, const char *marker, char *out, size_t cap) {
    const char *p = strstr(text, marker);
    if (!p || !(p = strchr(p, '\n'))) return -1;
    for (p++; *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        while (n > 0 && (*p == ' ' || *p == '\t')) p++, n--;
        if (n > 0) {
            if (n >= cap || *p == '-') return -1;
            memcpy(out, p, n);
            out[n] = '\0';
            return 0;
        }
        if (!end) break;
        p = end + 1;
    }
    return -1;
}

/* Reads the JWT and the seed from one read of the file. */
byron_status_t byron_nats_creds_read(const char *path, char **jwt, char seed[BYRON_NATS_SEED_MAX],
                                     byron_err_t *err) {
    char *text = NULL;
    *jwt = NULL;
    byron_status_t rst = byron_file_read(path, CREDS_MAX_BYTES, &text, NULL, err);
    if (rst != BYRON_OK) return rst; /* unreadable, or over 64 KiB: ELIMIT */
    size_t cap = strlen(text) + 1;
    *jwt = malloc(cap);
    byron_status_t st = BYRON_OK;
    if (!*jwt)
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
    else if (creds_section(text, "BEGIN NATS USER JWT", *jwt, cap) != 0 ||
             creds_section(text, "BEGIN USER NKEY SEED", seed, BYRON_NATS_SEED_MAX) != 0)
        st = byron_err_set(err, BYRON_EINVAL, "%s: not a NATS .creds file (a user JWT and an nkey seed)",
                           path);
    explicit_bzero(text, cap - 1);
    free(text);
    if (st != BYRON_OK) {
        free(*jwt);
        *jwt = NULL;
        explicit_bzero(seed, BYRON_NATS_SEED_MAX);
    }
    return st;
}

static natsStatus creds_jwt(char **user_jwt, char **err_text, void *closure) {
    byron_err_t e;
    if (byron_nats_creds_read(closure, user_jwt, connect_seed, &e) != BYRON_OK) {
        *err_text = strdup(e.msg);
        return NATS_ERR;
    }
    return NATS_OK;
}

static natsStatus creds_sign(char **err_text, unsigned char **sig, int *sig_len, const char *nonce,
                             void *closure) {
    (void)closure;
    natsStatus ns = connect_seed[0] ? nats_Sign(connect_seed, nonce, sig, sig_len) : NATS_ILLEGAL_STATE;
    explicit_bzero(connect_seed, sizeof connect_seed);
    if (ns != NATS_OK) *err_text = strdup("signing the server's nonce with the .creds seed failed");
    return ns;
}

/* The callbacks' closure outlives every connection: one path per process. */
static byron_status_t set_creds(natsOptions *o, const char *path, byron_err_t *err) {
    if (strlen(path) >= sizeof creds_path)
        return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CREDS: path too long");
    pthread_mutex_lock(&creds_lock);
    int other = creds_path[0] && strcmp(creds_path, path) != 0;
    if (!creds_path[0]) snprintf(creds_path, sizeof creds_path, "%s", path);
    pthread_mutex_unlock(&creds_lock);
    if (other) return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CREDS: one .creds file per process");
    char *jwt = NULL, seed[BYRON_NATS_SEED_MAX];
    /* Read now for a clear message at start; read again at every (re)connect. */
    byron_status_t st = byron_nats_creds_read(path, &jwt, seed, err);
    free(jwt);
    explicit_bzero(seed, sizeof seed);
    if (st != BYRON_OK) return byron_err_prefix(err, "BYRON_NATS_CREDS: ");
    natsStatus ns = natsOptions_SetUserCredentialsCallbacks(o, creds_jwt, creds_path, creds_sign, NULL);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EINVAL, "BYRON_NATS_CREDS: %s: %s", path, natsStatus_GetText(ns));
    return BYRON_OK;
}

int byron_nats_settings_have_user(const byron_nats_settings_t *n) { return n && n->creds && *n->creds; }

byron_status_t byron_nats_options_apply(natsOptions *o, const byron_nats_settings_t *n, byron_err_t *err) {
    if (!n) return BYRON_OK;
    const char *creds = n->creds, *ca = n->ca, *inbox = n->inbox_prefix;
    natsStatus ns;
    if (creds && *creds) {
        if (set_creds(o, creds, err) != BYRON_OK) return BYRON_EINVAL;
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
