/* test_identity_it.c — the verified caller reaches the app and the log
 * (integration tier): a sidecar whose keys come from a JWK Set file (as a
 * mounted Secret), tokens signed here with cjose. A command run with a token
 * hands its principal to the app's hook (the Python reference app shows what
 * it got on /v1/stats) and records its subject as `byronprincipal` in the
 * event (read back from the stream with cnats); the app's own calls carry the
 * app principal and no byronprincipal; rewriting the key file (a rotated
 * Secret) is picked up without a restart. */
#include "byron/json.h"
#include "harness.h"

#include <cjose/cjose.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *sign(cjose_jwk_t *jwk, const char *kid, const char *sub) {
    char claims[512];
    snprintf(claims, sizeof claims,
             "{\"iss\":\"https://issuer.test/"
             "\",\"aud\":\"orders-api\",\"sub\":\"%s\",\"exp\":%lld,\"scp\":[\"w\"]}",
             sub, (long long)time(NULL) + 300);
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cjose_header_set(h, CJOSE_HDR_ALG, "RS256", &err);
    cjose_header_set(h, CJOSE_HDR_KID, kid, &err);
    cjose_jws_t *jws = cjose_jws_sign(jwk, h, (const uint8_t *)claims, strlen(claims), &err);
    cr_assert_not_null(jws, "%s", err.message);
    const char *ser = NULL;
    cjose_jws_export(jws, &ser, &err);
    char *out = malloc(strlen(ser) + 32);
    snprintf(out, strlen(ser) + 32, "Authorization: Bearer %s", ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

static void write_jwks(const char *path, cjose_jwk_t *jwk, const char *kid) {
    cjose_err err;
    char *pub = cjose_jwk_to_json(jwk, false, &err);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"keys\":[{\"kid\":\"%s\",\"use\":\"sig\",%s]}", kid, pub + 1);
    fclose(f);
    cr_assert_eq(rename(tmp, path), 0); /* atomically, as the kubelet swaps a Secret's files */
    free(pub);
}

static const char *jstr(json_object *o, const char *k) {
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* One api sidecar trusting https://issuer.test/ with keys from a file, and
 * the Python reference app beside it. */
typedef struct {
    char dir[32], jwks[300], cfg[300], sock[300], app_sock[300], log[300], app_log[300], comp[64];
    cjose_jwk_t *k1, *k2; /* the file holds k1 first, k2 after the rotation */
    int port, admin;
    pid_t sc, app;
} ident_t;

static void ident_start(ident_t *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/byron-id-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->jwks, sizeof f->jwks, "%s/jwks.json", f->dir);
    snprintf(f->cfg, sizeof f->cfg, "%s/component.json", f->dir);
    snprintf(f->sock, sizeof f->sock, "%s/sidecar.sock", f->dir);
    snprintf(f->app_sock, sizeof f->app_sock, "%s/app.sock", f->dir);
    snprintf(f->log, sizeof f->log, "%s/sidecar.log", f->dir);
    snprintf(f->app_log, sizeof f->app_log, "%s/app.log", f->dir);
    cjose_err cerr;
    f->k1 = cjose_jwk_create_RSA_random(2048, NULL, 0, &cerr);
    f->k2 = cjose_jwk_create_RSA_random(2048, NULL, 0, &cerr);
    write_jwks(f->jwks, f->k1, "k1");

    /* The test component, trusting https://issuer.test/ with keys from the file. */
    char src[600];
    snprintf(src, sizeof src, "%s/sidecar/tests/data/orders.json", getenv("BYRON_SOURCE_DIR"));
    json_object *root = NULL;
    byron_err_t err;
    cr_assert_eq(byron_json_parse_file(src, 1 << 20, &root, &err), BYRON_OK, "%s", err.msg);
    snprintf(f->comp, sizeof f->comp, "ident-%d-%ld", (int)getpid(), (long)time(NULL) % 100000);
    json_object_object_add(root, "component", json_object_new_string(f->comp));
    json_object_object_add(root, "namespace", json_object_new_string("it"));
    json_object_object_add(
        root, "auth",
        json_tokener_parse(
            "{\"issuer\":\"https://issuer.test/\",\"audiences\":[\"orders-api\"],"
            "\"rules\":[{\"operations\":[\"*\"],\"claims\":[{\"claim\":\"scp\",\"equals\":\"w\"}]}]}"));
    cr_assert_eq(json_object_to_file(f->cfg, root), 0);
    json_object_put(root);

    char bin[600], port[16], admin[16], mongo[600], nats[600], env_jwks[400],
        env_refresh[] = "BYRON_AUTH_JWKS_MIN_REFRESH_MS=100";
    f->port = h_free_port();
    f->admin = h_free_port();
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(port, sizeof port, "%d", f->port);
    snprintf(admin, sizeof admin, "%d", f->admin);
    snprintf(mongo, sizeof mongo, "%s", h_env("BYRON_MONGO_URI"));
    snprintf(nats, sizeof nats, "%s", h_env("BYRON_NATS_URL"));
    snprintf(env_jwks, sizeof env_jwks, "BYRON_AUTH_JWKS_FILE=%s", f->jwks);
    char *argv[32];
    int n = h_sidecar_argv(argv, bin, "--mode=api", f->cfg, nats, mongo, port, admin, f->sock, f->app_sock);
    argv[n] = NULL;
    char *env[] = {env_jwks, env_refresh, NULL};
    f->sc = h_spawn(argv, f->log, env);
    char script[600], e_app[400], e_sc[400];
    snprintf(script, sizeof script, "%s/examples/reference-app/python/app.py", getenv("BYRON_SOURCE_DIR"));
    snprintf(e_app, sizeof e_app, "BYRON_APP_SOCKET=%s", f->app_sock);
    snprintf(e_sc, sizeof e_sc, "BYRON_SIDECAR_SOCKET=%s", f->sock);
    char *aargv[] = {"python3", script, NULL}, *aenv[] = {e_app, e_sc, NULL};
    f->app = h_spawn(aargv, f->app_log, aenv);
    int64_t deadline = h_mono_ms() + 20000;
    while (!h_ready(f->admin) && h_mono_ms() < deadline) h_sleep_ms(50);
    cr_assert(h_ready(f->admin), "sidecar not ready; see %s", f->log);
}

static void ident_stop(ident_t *f) {
    kill(f->sc, SIGTERM);
    cr_assert_eq(h_wait_exit(f->sc, 15000), 0, "the sidecar must stop cleanly; see %s", f->log);
    kill(f->app, SIGTERM);
    cr_assert_eq(h_wait_exit(f->app, 5000), 0, "the app must stop cleanly; see %s", f->app_log);
    cjose_jwk_release(f->k1);
    cjose_jwk_release(f->k2);
}

/* No token: 401. Alice's: the before hook sees her, her event records her;
 * the app's own command (its socket) is the app's, with no byronprincipal. */
static void principal_in_hook_and_event(ident_t *f) {
    h_resp_t r;
    /* No token: refused. */
    cr_assert_eq(h_http(NULL, f->port, "POST", "/v1/commands/createOrder",
                        "{\"id\":\"p-0\",\"input\":{\"customer\":\"x\"}}", 10000, &r),
                 0);
    cr_assert_eq(r.status, 401, "%s", r.body);
    h_resp_free(&r);

    /* With alice's token: the hook sees her, the event records her. */
    char *auth = sign(f->k1, "k1", "alice");
    cr_assert_eq(h_http_hdr(NULL, f->port, "POST", "/v1/commands/createOrder",
                            "{\"id\":\"p-1\",\"input\":{\"customer\":\"alice\"}}", 10000, auth, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    free(auth);
    cr_assert_eq(h_http(f->app_sock, 0, "GET", "/v1/stats", NULL, 5000, &r), 0);
    json_object *who = json_object_object_get(r.json, "lastPrincipal");
    cr_assert_str_eq(jstr(who, "kind"), "user", "%s", r.body);
    cr_assert_str_eq(jstr(who, "sub"), "alice", "%s", r.body);
    cr_assert_str_eq(jstr(who, "iss"), "https://issuer.test/", "%s", r.body);
    cr_assert(strstr(r.body, "\"scp\""), "the claims come along: %s", r.body);
    h_resp_free(&r);

    /* The app's own command (its socket): the app principal, no byronprincipal. */
    cr_assert_eq(h_http(f->sock, 0, "POST", "/v1/commands/createOrder",
                        "{\"id\":\"p-2\",\"input\":{\"customer\":\"app\"}}", 10000, &r),
                 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    h_resp_free(&r);
    cr_assert_eq(h_http(f->app_sock, 0, "GET", "/v1/stats", NULL, 5000, &r), 0);
    cr_assert_str_eq(jstr(json_object_object_get(r.json, "lastPrincipal"), "kind"), "app", "%s", r.body);
    h_resp_free(&r);

    char stream[128];
    snprintf(stream, sizeof stream, "BYRON_it_%s", f->comp);
    for (char *q = stream; *q; q++)
        if (*q == '-') *q = '_';
    json_object *evs = h_stream_events(stream, NULL);
    cr_assert_eq(json_object_array_length(evs), 2);
    json_object *e1 = json_object_object_get(json_object_array_get_idx(evs, 0), "event");
    json_object *e2 = json_object_object_get(json_object_array_get_idx(evs, 1), "event");
    cr_assert_str_eq(jstr(e1, "byronprincipal"), "alice", "%s", json_object_to_json_string(e1));
    cr_assert_null(jstr(e2, "byronprincipal"), "%s", json_object_to_json_string(e2));
    json_object_put(evs);
}

static void keys_bound_to_their_request(ident_t *f) {
    h_resp_t r;
    /* Idempotency keys are bound to their request: the same key with another body is a 422. */
    char *auth = sign(f->k1, "k1", "alice");
    static const char *const KEYED[] = {
        "{\"input\":{\"customer\":\"alice\"},\"idempotencyKey\":\"k-1\"}",
        "{\"input\":{\"customer\":\"alice\"},\"idempotencyKey\":\"k-1\"}",
        "{\"input\":{\"customer\":\"alice\",\"total\":9},\"idempotencyKey\":\"k-1\"}"};
    long want[] = {200, 200, 422};
    char first_id[160] = "";
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h_http_hdr(NULL, f->port, "POST", "/v1/commands/createOrder", KEYED[i], 10000, auth, &r),
                     0);
        cr_assert_eq(r.status, want[i], "keyed request %d: %s", i, r.body);
        if (i == 0) snprintf(first_id, sizeof first_id, "%s", jstr(r.json, "id"));
        if (i == 1) {
            cr_assert_str_eq(jstr(r.json, "id"), first_id, "the same request: the original result");
            cr_assert(json_object_get_boolean(json_object_object_get(r.json, "duplicate")));
        }
        if (i == 2) cr_assert_str_eq(h_error_code(&r), "IDEMPOTENCY_KEY_REUSED", "%s", r.body);
        h_resp_free(&r);
    }
    free(auth);
}

static void rotated_keys_without_a_restart(ident_t *f) {
    h_resp_t r;
    /* The Secret rotates: a token of the new key is accepted without a restart, the old key's is not. */
    write_jwks(f->jwks, f->k2, "k2");
    char *auth2 = sign(f->k2, "k2", "bob"), *auth1 = sign(f->k1, "k1", "alice");
    int accepted = 0;
    for (int i = 0; i < 100 && !accepted; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"id\":\"r-%d\",\"input\":{\"customer\":\"bob\"}}", i);
        cr_assert_eq(h_http_hdr(NULL, f->port, "POST", "/v1/commands/createOrder", body, 10000, auth2, &r),
                     0);
        accepted = r.status == 200;
        h_resp_free(&r);
        if (!accepted) usleep(100000);
    }
    cr_assert(accepted, "the rotated key was not picked up");
    cr_assert_eq(h_http_hdr(NULL, f->port, "POST", "/v1/commands/createOrder",
                            "{\"id\":\"r-old\",\"input\":{\"customer\":\"a\"}}", 10000, auth1, &r),
                 0);
    cr_assert_eq(r.status, 401, "the removed key still verifies: %s", r.body);
    h_resp_free(&r);
    free(auth1);
    free(auth2);
}

Test(identity_it, principal_reaches_the_hook_and_the_event, .timeout = 120) {
    ident_t f;
    ident_start(&f);
    principal_in_hook_and_event(&f);
    keys_bound_to_their_request(&f);
    rotated_keys_without_a_restart(&f);
    ident_stop(&f);
}
