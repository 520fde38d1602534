/* jwks.c — verification keys from the issuer (discovery + JWK Set) or a file,
 * cached and refreshed (jwks.h).
 *
 * Locks: `lock` guards the current reference and the timestamps, held only
 * for pointer swaps; `fetch_lock` serialises fetches (held across the HTTP
 * calls), so a rotation seen by many workers at once costs one fetch: the
 * others wait for it and find the new keys. Order: fetch_lock, then lock. */
#include "jwks.h"

#include "byron/buf.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct byron_jwks_ref {
    atomic_int refs;
    byron_keyset_t *ks;
};

struct byron_jwks {
    char *issuer, *url, *file;
    int min_refresh_ms, max_age_ms, timeout_ms;
    pthread_mutex_t lock, fetch_lock;
    byron_jwks_ref_t *cur; /* NULL until the first successful load */
    int64_t loaded_ms;     /* when cur was loaded */
    int64_t tried_ms;      /* last fetch attempt (rate limit); 0: never */
    struct timespec file_mtime;
    byron_metric_t *m_fetches; /* {outcome} */
};

const byron_keyset_t *byron_jwks_keys(const byron_jwks_ref_t *ref) { return ref->ks; }

void byron_jwks_release(byron_jwks_ref_t *ref) {
    if (!ref || atomic_fetch_sub(&ref->refs, 1) != 1) return;
    byron_keyset_free(ref->ks);
    free(ref);
}

byron_jwks_t *byron_jwks_new(const byron_jwks_options_t *o, byron_err_t *err) {
    if (!o->file && !o->url && !o->issuer) {
        byron_err_set(err, BYRON_EINVAL, "keys: need an issuer, a JWK Set URL or a file");
        return NULL;
    }
    byron_jwks_t *j = calloc(1, sizeof *j);
    if (!j) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    j->min_refresh_ms = o->min_refresh_ms > 0 ? o->min_refresh_ms : 10000;
    j->max_age_ms = o->max_age_ms > 0 ? o->max_age_ms : 600000;
    j->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->fetch_lock, NULL);
    if ((o->issuer && !(j->issuer = strdup(o->issuer))) || (o->url && !(j->url = strdup(o->url))) ||
        (o->file && !(j->file = strdup(o->file)))) {
        byron_jwks_free(j);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    if (o->metrics) {
        static const char *const L[] = {"outcome", NULL};
        j->m_fetches =
            byron_metrics_register(o->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_auth_key_fetches_total",
                                   "Loads of the token verification keys (JWK Set), by outcome.", L, NULL, 0);
    }
    return j;
}

void byron_jwks_free(byron_jwks_t *j) {
    if (!j) return;
    byron_jwks_release(j->cur);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->fetch_lock);
    free(j->issuer);
    free(j->url);
    free(j->file);
    free(j);
}

/* ------------------------------------------------------------------ loading */

/* GET url → JSON (an object). No redirects: a key source answers itself. */
static byron_status_t http_json(const byron_jwks_t *j, const char *url, json_object **out, byron_err_t *err) {
    *out = NULL;
    CURL *c = curl_easy_init();
    if (!c) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    byron_buf_t b = {.max = BYRON_KEYSET_MAX_BYTES}; /* too big: the transfer aborts */
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(j->timeout_ms < 2000 ? j->timeout_ms : 2000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "byron-sidecar");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    byron_status_t st = BYRON_OK;
    if (rc != CURLE_OK)
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "GET %.200s: %s", url,
                           cerr[0] ? cerr : curl_easy_strerror(rc));
    else if (status != 200)
        st = byron_err_set(err, BYRON_EUNAVAILABLE, "GET %.200s: HTTP %ld", url, status);
    else if ((st = byron_json_parse(b.buf ? b.buf : "", b.len, 16, out, err)) != BYRON_OK)
        byron_err_prefix(err, "GET %.200s", url);
    else if (!json_object_is_type(*out, json_type_object))
        st = byron_err_set(err, BYRON_EPROTO, "GET %.200s: not a JSON object", url);
    if (st != BYRON_OK) {
        json_object_put(*out);
        *out = NULL;
        if (st == BYRON_EINVAL) st = err->code = BYRON_EPROTO;
    }
    free(b.buf);
    return st;
}

/* The JWK Set URL: configured, or from the issuer's discovery document. */
static byron_status_t discover(const byron_jwks_t *j, char **url, byron_err_t *err) {
    if (j->url) return (*url = strdup(j->url)) ? BYRON_OK : byron_err_set(err, BYRON_ENOMEM, "out of memory");
    char doc[1024];
    size_t n = strlen(j->issuer);
    snprintf(doc, sizeof doc, "%.*s/.well-known/openid-configuration",
             (int)(n && j->issuer[n - 1] == '/' ? n - 1 : n), j->issuer);
    json_object *d = NULL;
    byron_status_t st = http_json(j, doc, &d, err);
    if (st != BYRON_OK) return st;
    const char *iss = NULL, *u = NULL;
    byron_err_t e2;
    if (byron_json_get_string(d, "discovery", "issuer", 0, &iss, &e2) != BYRON_OK ||
        strcmp(iss, j->issuer) != 0)
        st = byron_err_set(err, BYRON_EPROTO, "%s: issuer is not %.200s", doc, j->issuer);
    else if (byron_json_get_string(d, "discovery", "jwks_uri", 0, &u, &e2) != BYRON_OK ||
             (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        st = byron_err_set(err, BYRON_EPROTO, "%s: no http(s) jwks_uri", doc);
    else if (!(*url = strdup(u)))
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
    json_object_put(d);
    return st;
}

static byron_status_t load_keys(byron_jwks_t *j, byron_keyset_t **ks, byron_err_t *err) {
    if (j->file) {
        json_object *o = NULL;
        byron_status_t st = byron_json_parse_file(j->file, BYRON_KEYSET_MAX_BYTES, &o, err);
        if (st != BYRON_OK) return st;
        const char *text = byron_json_compact(o);
        st = byron_keyset_parse(text, strlen(text), ks, err);
        json_object_put(o);
        if (st != BYRON_OK) byron_err_prefix(err, "%s", j->file);
        return st;
    }
    char *url = NULL;
    json_object *set = NULL;
    byron_status_t st = discover(j, &url, err);
    if (st == BYRON_OK && (st = http_json(j, url, &set, err)) == BYRON_OK) {
        const char *text = byron_json_compact(set);
        if ((st = byron_keyset_parse(text, strlen(text), ks, err)) != BYRON_OK)
            byron_err_prefix(err, "%.200s", url);
    }
    json_object_put(set);
    free(url);
    return st;
}

static int file_changed(byron_jwks_t *j) {
    struct stat sb;
    if (!j->file || stat(j->file, &sb) != 0) return 0;
    return sb.st_mtim.tv_sec != j->file_mtime.tv_sec || sb.st_mtim.tv_nsec != j->file_mtime.tv_nsec;
}

/* With fetch_lock held: load and install new keys (keeps the old on failure). */
static byron_status_t refresh(byron_jwks_t *j, byron_err_t *err) {
    struct stat sb;
    int have_mtime = j->file && stat(j->file, &sb) == 0;
    byron_keyset_t *ks = NULL;
    pthread_mutex_lock(&j->lock);
    j->tried_ms = byron_clock_mono_ms();
    pthread_mutex_unlock(&j->lock);
    byron_status_t st = load_keys(j, &ks, err);
    if (j->m_fetches) {
        const char *labels[] = {st == BYRON_OK ? "ok" : "error"};
        byron_metric_add(j->m_fetches, labels, 1);
    }
    if (st != BYRON_OK) {
        byron_log(BYRON_LOG_WARN, "cannot load token verification keys", "error", err->msg, (char *)NULL);
        return st;
    }
    byron_jwks_ref_t *ref = calloc(1, sizeof *ref);
    if (!ref) {
        byron_keyset_free(ks);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    atomic_init(&ref->refs, 1);
    ref->ks = ks;
    pthread_mutex_lock(&j->lock);
    byron_jwks_ref_t *old = j->cur;
    j->cur = ref;
    j->loaded_ms = byron_clock_mono_ms();
    if (have_mtime) j->file_mtime = sb.st_mtim;
    pthread_mutex_unlock(&j->lock);
    byron_jwks_release(old);
    char n[16];
    snprintf(n, sizeof n, "%zu", byron_keyset_size(ks));
    byron_log(BYRON_LOG_INFO, "token verification keys loaded", "keys", n, "source",
              j->file  ? j->file
              : j->url ? j->url
                       : j->issuer,
              (char *)NULL);
    return BYRON_OK;
}

/* Whether the keys should be loaded again now. Lock held. */
static int due(const byron_jwks_t *j, int unknown_kid, int64_t now) {
    if (!j->cur) return j->tried_ms == 0 || now - j->tried_ms >= j->min_refresh_ms / 10;
    if (now - j->tried_ms < j->min_refresh_ms) return 0; /* rate limit, whatever the reason */
    return unknown_kid || now - j->loaded_ms >= j->max_age_ms;
}

byron_status_t byron_jwks_get(byron_jwks_t *j, int unknown_kid, byron_jwks_ref_t **out, byron_err_t *err) {
    *out = NULL;
    pthread_mutex_lock(&j->lock);
    int need = due(j, unknown_kid, byron_clock_mono_ms());
    pthread_mutex_unlock(&j->lock);
    if (!need && j->file && !unknown_kid) {
        pthread_mutex_lock(&j->fetch_lock); /* file mtime: cheap, checked under the fetch lock */
        need = file_changed(j);
        if (need) refresh(j, err);
        pthread_mutex_unlock(&j->fetch_lock);
        need = 0;
    }
    if (need) {
        pthread_mutex_lock(&j->fetch_lock);
        pthread_mutex_lock(&j->lock);
        need = due(j, unknown_kid, byron_clock_mono_ms()); /* another thread may just have done it */
        pthread_mutex_unlock(&j->lock);
        if (need) refresh(j, err);
        pthread_mutex_unlock(&j->fetch_lock);
    }
    pthread_mutex_lock(&j->lock);
    if (j->cur) {
        atomic_fetch_add(&j->cur->refs, 1);
        *out = j->cur;
    }
    pthread_mutex_unlock(&j->lock);
    if (!*out) {
        if (!err->msg[0])
            byron_err_set(err, BYRON_EUNAVAILABLE, "token verification keys are not loaded yet");
        err->code = BYRON_EUNAVAILABLE;
        return BYRON_EUNAVAILABLE;
    }
    return BYRON_OK;
}
