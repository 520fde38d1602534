/* auth.c — bearer tokens → principals (auth.h): the key source, one refresh
 * when a token names an unknown kid, and a counter per outcome. */
#include "auth.h"

#include "token.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct byron_auth {
    const byron_access_settings_t *settings;
    byron_token_options_t topts;
    byron_jwks_t *jwks;     /* NULL: no tokens accepted */
    byron_metric_t *m_auth; /* {outcome} */
};

byron_auth_t *byron_auth_new(const byron_auth_options_t *o, byron_err_t *err) {
    byron_auth_t *a = calloc(1, sizeof *a);
    if (!a) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    const byron_access_settings_t *s = o->settings;
    a->settings = s;
    a->topts = (byron_token_options_t){.issuer = s->issuer,
                                       .audiences = (const char *const *)s->audiences,
                                       .naudiences = s->naudiences,
                                       .algorithms = s->algorithms,
                                       .skew_s = s->skew_s};
    if (s->issuer) {
        byron_jwks_options_t jo = {.issuer = s->issuer,
                                   .url = s->jwks_url,
                                   .file = o->keys_file && *o->keys_file ? o->keys_file : NULL,
                                   .min_refresh_ms = o->min_refresh_ms,
                                   .max_age_ms = o->max_age_ms,
                                   .metrics = o->metrics};
        if (!(a->jwks = byron_jwks_new(&jo, err))) {
            free(a);
            return NULL;
        }
    }
    if (o->metrics) {
        static const char *const L[] = {"outcome", NULL};
        a->m_auth = byron_metrics_register(
            o->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_auth_total",
            "Requests by authentication outcome (anonymous, ok, invalid, unavailable).", L, NULL, 0);
    }
    return a;
}

void byron_auth_free(byron_auth_t *a) {
    if (!a) return;
    byron_jwks_free(a->jwks);
    free(a);
}

static void count(byron_auth_t *a, const char *outcome) {
    if (!a->m_auth) return;
    const char *labels[] = {outcome};
    byron_metric_add(a->m_auth, labels, 1);
}

byron_status_t byron_auth_token(byron_auth_t *a, const char *token, byron_principal_t *out,
                                byron_err_t *err) {
    byron_principal_init(out);
    if (!a->jwks) {
        count(a, "invalid");
        return byron_err_set(err, BYRON_EINVAL, "this API accepts no tokens (no issuer is configured)");
    }
    byron_status_t st = BYRON_ENOTFOUND;
    /* Twice at most: the second time after a refresh for an unknown kid. */
    for (int attempt = 0; attempt < 2 && st == BYRON_ENOTFOUND; attempt++) {
        byron_jwks_ref_t *ref = NULL;
        byron_err_t kerr = {0};
        if (byron_jwks_get(a->jwks, attempt > 0, &ref, &kerr) != BYRON_OK) {
            count(a, "unavailable");
            return byron_err_set(err, BYRON_EUNAVAILABLE, "cannot verify tokens now: %s", kerr.msg);
        }
        st = byron_token_verify(byron_jwks_keys(ref), &a->topts, token, strlen(token), (int64_t)time(NULL),
                                out, err);
        byron_jwks_release(ref);
    }
    if (st != BYRON_OK) {
        count(a, "invalid");
        err->code = BYRON_EINVAL;
        return BYRON_EINVAL;
    }
    count(a, "ok");
    return BYRON_OK;
}

byron_status_t byron_auth_header(byron_auth_t *a, const char *authorization, byron_principal_t *out,
                                 byron_err_t *err) {
    byron_principal_init(out);
    if (!authorization || !*authorization) {
        count(a, "anonymous");
        return BYRON_OK;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        count(a, "invalid");
        return byron_err_set(err, BYRON_EINVAL, "Authorization: only Bearer tokens are accepted");
    }
    const char *t = authorization + 7;
    while (*t == ' ') t++;
    return byron_auth_token(a, t, out, err);
}

void byron_auth_challenge(const char *reason, char *out, size_t cap) {
    if (!reason) {
        snprintf(out, cap, "Bearer realm=\"byron\"");
        return;
    }
    /* error_description is a quoted-string of %x20-21 / %x23-5B / %x5D-7E (RFC 6750). */
    char desc[160];
    size_t j = 0;
    for (size_t i = 0; reason[i] && j + 1 < sizeof desc; i++) {
        unsigned char c = (unsigned char)reason[i];
        desc[j++] = (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') ? (char)c : ' ';
    }
    desc[j] = '\0';
    snprintf(out, cap, "Bearer realm=\"byron\", error=\"invalid_token\", error_description=\"%s\"", desc);
}
