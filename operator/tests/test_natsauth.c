/* test_natsauth.c — nkeys, NATS JWTs, the release identity and the
 * permissions per role, without a server (operator_nats_auth_it proves them
 * against a real nats-server). */
#include "jpath.h"
#include "natsidentity.h"
#include "natsjwt.h"
#include "natsperm.h"
#include "nkeys.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Seed bytes 0..31, encoded by github.com/nats-io/nkeys v0.4.16 (EncodeSeed,
 * FromSeed, PublicKey, Sign("byron")). */
static const struct {
    byron_nkey_type_t type;
    const char *seed, *pub;
} GOLDEN[] = {
    {BYRON_NKEY_OPERATOR, "SOAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2AJA",
     "OAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QZVT"},
    {BYRON_NKEY_ACCOUNT, "SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI",
     "AAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV"},
    {BYRON_NKEY_USER, "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y",
     "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"},
};
static const char GOLDEN_SIG[] =
    "408572e3c5daab1debb0d4ef45218e79caa7e5400139b52392c2f72d3bae358a9caf0b658623ac94"
    "e4f9476854fd1e37d9f9372d59ce4570888c1324f681f409";

Test(nkeys, match_the_reference_encoding_and_signature) {
    for (size_t i = 0; i < 3; i++) {
        byron_nkey_t k;
        byron_err_t err = {0};
        cr_assert_eq(byron_nkey_from_seed(GOLDEN[i].seed, &k, &err), BYRON_OK, "%s", err.msg);
        cr_assert_eq(k.type, GOLDEN[i].type);
        for (int b = 0; b < 32; b++) cr_assert_eq(k.seed[b], b);
        cr_assert_str_eq(k.public_key, GOLDEN[i].pub);
        cr_assert_str_eq(k.seed_text, GOLDEN[i].seed);
        cr_assert(byron_nkey_is_public(k.public_key, GOLDEN[i].type));
        cr_assert_not(byron_nkey_is_public(k.public_key, GOLDEN[(i + 1) % 3].type), "prefix not checked");
        unsigned char sig[64];
        char hex[129];
        cr_assert_eq(byron_nkey_sign(&k, "byron", 5, sig, &err), BYRON_OK, "%s", err.msg);
        for (int b = 0; b < 64; b++) snprintf(hex + 2 * b, 3, "%02x", sig[b]);
        cr_assert_str_eq(hex, GOLDEN_SIG);
    }
}

Test(nkeys, reject_damaged_seeds_and_keys) {
    byron_nkey_t k;
    byron_err_t err = {0};
    char bad[64];
    snprintf(bad, sizeof bad, "%s", GOLDEN[1].seed);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    cr_assert_eq(byron_nkey_from_seed(bad, &k, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "checksum"), "%s", err.msg);
    cr_assert_eq(byron_nkey_from_seed("SA", &k, &err), BYRON_EINVAL);
    cr_assert_eq(byron_nkey_from_seed(GOLDEN[1].pub, &k, &err), BYRON_EINVAL); /* a public key is no seed */
    snprintf(bad, sizeof bad, "%s", GOLDEN[1].pub);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    cr_assert_not(byron_nkey_is_public(bad, BYRON_NKEY_ACCOUNT));
    cr_assert_not(
        byron_nkey_is_public("a lowercase letter is not base32 at all!!!!!!!!!!!!!!!!", BYRON_NKEY_ACCOUNT));
}

Test(nkeys, generated_keys_round_trip) {
    byron_nkey_t a, b;
    byron_err_t err = {0};
    cr_assert_eq(byron_nkey_generate(BYRON_NKEY_USER, &a, &err), BYRON_OK);
    cr_assert_eq(a.public_key[0], 'U');
    cr_assert_eq(strncmp(a.seed_text, "SU", 2), 0);
    cr_assert_eq(byron_nkey_from_seed(a.seed_text, &b, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(a.public_key, b.public_key);
}

static int verify(const char *jwt, const char *issuer_pub) {
    /* the issuer's raw key from its nkey: base32 decode through the seedless route */
    const char *dot = strrchr(jwt, '.');
    byron_nkey_t k;
    (void)k;
    /* decode base64url signature */
    size_t n = strlen(dot + 1);
    unsigned char sig[80];
    unsigned buf = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        buf = buf << 6 | (unsigned)(strchr(t, dot[1 + i]) - t);
        bits += 6;
        if (bits >= 8) {
            sig[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    if (o != 64) return 0;
    /* public key bytes: base32 decode of the nkey, bytes 1..32 */
    unsigned char raw[40];
    buf = 0, bits = 0, o = 0;
    for (const char *p = issuer_pub; *p; p++) {
        const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        buf = buf << 5 | (unsigned)(strchr(t, *p) - t);
        bits += 5;
        if (bits >= 8) {
            raw[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)jwt, (size_t)(dot - jwt)) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

Test(natsjwt, a_user_jwt_is_signed_by_its_issuer_and_carries_its_claims) {
    byron_natsidentity_t id;
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&id, 1700000000, &err);
    cr_assert_not_null(data, "%s", err.msg);
    json_object *perm = byron_natsperm_api("shop", "orders");
    byron_nkey_t user;
    char *jwt =
        byron_natsidentity_mint_jwt(&id, "shop/orders/api", perm, 1700000000, 1700086400, &user, &err);
    cr_assert_not_null(jwt, "%s", err.msg);
    cr_assert(verify(jwt, id.signing.public_key), "signature does not verify with the signing key");
    jwt[10] ^= 1; /* tampered header */
    cr_assert_not(verify(jwt, id.signing.public_key), "a tampered JWT verifies");
    jwt[10] ^= 1;
    json_object *c = byron_natsjwt_peek(jwt);
    cr_assert_str_eq(s_at(c, "iss"), id.signing.public_key);
    cr_assert_str_eq(s_at(c, "sub"), user.public_key);
    cr_assert_str_eq(s_at(c, "exp"), "1700086400");
    cr_assert_str_eq(s_at(c, "iat"), "1700000000");
    cr_assert_str_eq(s_at(c, "nats|type"), "user");
    cr_assert_str_eq(s_at(c, "nats|issuer_account"), id.account);
    cr_assert_eq(strlen(s_at(c, "jti")), 52);
    json_object_put(c);
    char *creds = byron_natsjwt_creds(jwt, user.seed_text);
    cr_assert(strstr(creds, "-----BEGIN NATS USER JWT-----\n") && strstr(creds, jwt) &&
              strstr(creds, "-----BEGIN USER NKEY SEED-----\n") && strstr(creds, user.seed_text));
    free(creds);
    free(jwt);
    json_object_put(perm);
    json_object_put(data);
}

Test(natsidentity, generated_identity_loads_back_and_configures_the_server) {
    byron_natsidentity_t id, back;
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&id, 1700000000, &err);
    cr_assert_not_null(data, "%s", err.msg);
    cr_assert_eq(byron_natsidentity_load(data, &back, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(back.account, id.account);
    cr_assert_str_eq(back.signing.public_key, id.signing.public_key);
    const char *conf = s_at(data, BYRON_NATSID_AUTH_CONF);
    cr_assert(strstr(conf, "operator: ey") && strstr(conf, "resolver: MEMORY") && strstr(conf, id.account),
              "%s", conf);
    cr_assert_null(strstr(conf, id.signing.seed_text), "the signing seed in the server's configuration");
    cr_assert_eq(strlen(s_at(data, BYRON_NATSID_ROUTE_PASSWORD)), 48);
    /* damaged data is refused, naming the key */
    json_object_object_add(data, BYRON_NATSID_SIGNING_SEED, json_object_new_string("SAXX"));
    cr_assert_eq(byron_natsidentity_load(data, &back, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, BYRON_NATSID_SIGNING_SEED), "%s", err.msg);
    json_object_object_del(data, BYRON_NATSID_ACCOUNT);
    cr_assert_eq(byron_natsidentity_load(data, &back, &err), BYRON_EINVAL);
    json_object_put(data);
}

static int allows(json_object *p, const char *dir, const char *subject) {
    json_object *d, *a;
    if (!json_object_object_get_ex(p, dir, &d) || !json_object_object_get_ex(d, "allow", &a)) return 0;
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), subject)) return 1;
    return 0;
}

static int allows_prefix(json_object *p, const char *prefix) {
    json_object *d, *a;
    json_object_object_get_ex(p, "pub", &d);
    json_object_object_get_ex(d, "allow", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (!strncmp(json_object_get_string(json_object_array_get_idx(a, i)), prefix, strlen(prefix)))
            return 1;
    return 0;
}

Test(natsperm, each_role_gets_its_own_subjects_and_no_stream_administration) {
    byron_natsperm_ref_t subs[] = {{"shop", "customers"}};
    json_object *api = byron_natsperm_api("shop", "orders"),
                *sink = byron_natsperm_sink("shop", "orders", subs, 1), *op = byron_natsperm_operator();
    cr_assert(allows(api, "pub", "byron.shop.orders.>"));
    cr_assert(allows(api, "sub", "_INBOX.byron.shop.orders.api.>"));
    cr_assert_not(allows(api, "sub", "_INBOX.>"));
    cr_assert_not(allows(sink, "pub", "byron.shop.orders.>"), "the sink may publish events");
    cr_assert(allows(sink, "pub", "byrondlq.shop.orders.>"));
    cr_assert(allows(sink, "pub", "$JS.API.CONSUMER.MSG.NEXT.BYRON_shop_customers.byron-sub-shop-orders"));
    cr_assert(allows(sink, "pub", "$JS.ACK.BYRON_shop_customers.byron-sub-shop-orders.>"));
    /* a rebuild's name slot (docs/sink.md, "Rebuild"), and no other name */
    cr_assert(allows(sink, "pub", "$JS.API.CONSUMER.DELETE.BYRON_shop_customers.byron-sub-shop-orders_b"));
    cr_assert(allows(sink, "pub", "$JS.API.CONSUMER.MSG.NEXT.BYRON_shop_customers.byron-sub-shop-orders_b"));
    cr_assert_not(allows(sink, "pub", "$JS.API.CONSUMER.DELETE.BYRON_shop_customers.byron-sub-shop-billing"));
    cr_assert_not(allows(sink, "pub", "$JS.API.CONSUMER.CREATE.BYRON_shop_customers.>"),
                  "any consumer on a subscribed stream");
    /* read by sequence (the fold checker): subscribed streams and its own dead letters */
    cr_assert(allows(sink, "pub", "$JS.API.DIRECT.GET.BYRON_shop_customers"));
    cr_assert(allows(sink, "pub", "$JS.API.STREAM.MSG.GET.BYRON_shop_orders_DLQ"));
    cr_assert_not(allows_prefix(sink, "$JS.API.STREAM.MSG.GET.BYRON_shop_billing"));
    for (json_object *p = api; p; p = p == api ? sink : NULL) {
        cr_assert_not(allows_prefix(p, "$JS.API.STREAM.CREATE"));
        cr_assert_not(allows_prefix(p, "$JS.API.STREAM.UPDATE"));
        cr_assert_not(allows_prefix(p, "$JS.API.STREAM.PURGE"));
        cr_assert_not(allows_prefix(p, "$JS.API.STREAM.DELETE"));
        cr_assert_not(allows_prefix(p, "$JS.API.STREAM.MSG.DELETE"));
        cr_assert_not(allows_prefix(p, "byron.shop.customers"));
    }
    cr_assert(allows(op, "pub", "$JS.API.STREAM.CREATE.*"));
    cr_assert_not(allows_prefix(op, "$JS.API.STREAM.PURGE"));
    cr_assert_not(allows_prefix(op, "$JS.API.STREAM.DELETE"));
    json_object_put(api);
    json_object_put(sink);
    json_object_put(op);
}

/* The CONNECT line that carries a user's JWT must fit the servers'
 * max_control_line (the chart sets BYRON_NATS_MAX_CONTROL_LINE: nats-server's
 * default, 4 KiB, is too small for a sink's permissions). The largest sink the
 * CRD allows: 63-character names, 64 subscriptions of 63-character names.
 * And why: the demo's shipping sink in an e2e test's namespace already needs
 * more than nats-server's default of 4 KiB. */
Test(natsjwt, the_largest_sink_jwt_fits_the_servers_control_line) {
    byron_natsidentity_t id;
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&id, 1700000000, &err);
    cr_assert_not_null(data, "%s", err.msg);
    char name[64], comps[64][64];
    memset(name, 'n', 63);
    name[63] = '\0';
    byron_natsperm_ref_t subs[64];
    for (int i = 0; i < 64; i++) {
        snprintf(comps[i], sizeof comps[i], "%02d%061d", i, 0);
        subs[i] = (byron_natsperm_ref_t){name, comps[i]};
    }
    json_object *perm = byron_natsperm_sink(name, name, subs, 64);
    cr_assert_not_null(perm);
    byron_nkey_t user;
    char *jwt = byron_natsidentity_mint_jwt(&id, "n/n/sink", perm, 1700000000, 1700086400, &user, &err);
    cr_assert_not_null(jwt, "%s", err.msg);
    /* CONNECT {"jwt":"…","sig":"<86>","nkey":"<56>", name, version, flags…}: 1 KiB more is generous */
    size_t line = strlen(jwt) + 1024;
    cr_assert_lt(line, (size_t)BYRON_NATS_MAX_CONTROL_LINE, "a CONNECT of %zu bytes: raise max_control_line",
                 line);
    free(jwt);
    json_object_put(perm);
    byron_natsperm_ref_t orders = {"e2e-demo-1796121174-16995", "orders"};
    perm = byron_natsperm_sink(orders.namespace_, "shipping", &orders, 1);
    jwt = byron_natsidentity_mint_jwt(&id, "e2e/shipping/sink", perm, 1700000000, 1700086400, &user, &err);
    cr_assert_not_null(jwt, "%s", err.msg);
    cr_assert_gt(strlen(jwt) + 200, (size_t)4096, "the default control line would do: %zu", strlen(jwt));
    free(jwt);
    json_object_put(perm);
    json_object_put(data);
}
