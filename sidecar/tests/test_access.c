/* test_access.c — the access policy: parsing `auth` (errors name the path),
 * the decision matrix (anonymous / roles / array claims / the app) and
 * row-level matches as a predicate and as a MongoDB condition. */
#include "access.h"
#include "byron/json.h"
#include "component.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *BASE =
    "{\"component\":\"orders\",\"namespace\":\"shop\","
    "\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\",\"indexed\":true}"
    ","
    "{\"name\":\"tenant\",\"type\":\"String\"},{\"name\":\"notes\",\"type\":\"JSON\"}]},"
    "{\"name\":\"Note\",\"fields\":[{\"name\":\"text\",\"type\":\"String\"}]}],"
    "\"commands\":[{\"name\":\"shipOrder\",\"model\":\"Order\",\"emits\":[\"OrderShipped\"]}]";

static byron_status_t parse_auth(const char *auth, byron_component_t **c, byron_err_t *err) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s}", BASE, auth ? ",\"auth\":" : "", auth ? auth : "");
    json_object *root = NULL;
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &root, err), BYRON_OK, "%s", err->msg);
    byron_status_t st = byron_component_parse(root, c, err);
    json_object_put(root);
    return st;
}

static const char *POLICY =
    "{\"issuer\":\"https://id.test/\",\"audiences\":[\"orders-api\"],\"allowedOrigins\":[\"https://"
    "shop.test\"],"
    "\"rules\":["
    "{\"operations\":[\"orders\",\"order\"],\"anonymous\":true},"
    "{\"operations\":[\"createOrder\",\"shipOrder\"],\"claims\":[{\"claim\":\"roles\",\"anyOf\":[\"clerk\","
    "\"admin\"]}]},"
    "{\"operations\":[\"*\"],\"claims\":[{\"claim\":\"realm.roles\",\"equals\":\"admin\"}]},"
    "{\"operations\":[\"updateOrder\",\"orderEvents\"],\"match\":[{\"field\":\"customer\",\"claim\":\"sub\"}]"
    "},"
    "{\"operations\":[\"updateOrder\",\"orderEvents\"],\"claims\":[{\"claim\":\"roles\",\"equals\":"
    "\"support\"}],"
    "\"match\":[{\"field\":\"tenant\",\"claim\":\"tenants\"}]}"
    "]}";

static void user(byron_principal_t *p, const char *claims_json) {
    byron_principal_init(p);
    p->kind = BYRON_PRINCIPAL_USER;
    snprintf(p->sub, sizeof p->sub, "alice");
    byron_err_t err;
    cr_assert_eq(byron_json_parse(claims_json, strlen(claims_json), 0, &p->claims, &err), BYRON_OK);
}

static byron_component_t *C;
static void setup(void) {
    byron_err_t err = {0};
    cr_assert_eq(parse_auth(POLICY, &C, &err), BYRON_OK, "%s", err.msg);
}
static void teardown(void) { byron_component_free(C); }

TestSuite(access, .init = setup, .fini = teardown);

Test(access, anonymous_only_where_a_rule_says_so) {
    byron_principal_t anon;
    byron_principal_init(&anon);
    cr_assert_eq(byron_access_check(C->access, "orders", &anon, NULL), BYRON_ACCESS_ALLOW);
    cr_assert_eq(byron_access_check(C->access, "createOrder", &anon, NULL), BYRON_ACCESS_UNAUTHENTICATED);
    cr_assert_eq(byron_access_check(C->access, "noteEvents", &anon, NULL), BYRON_ACCESS_UNAUTHENTICATED);
    cr_assert_eq(byron_access_check(C->access, "noSuchThing", &anon, NULL), BYRON_ACCESS_UNAUTHENTICATED);
}

Test(access, roles_from_array_claims) {
    byron_principal_t clerk, nobody, admin;
    user(&clerk, "{\"sub\":\"alice\",\"roles\":[\"viewer\",\"clerk\"]}");
    user(&nobody, "{\"sub\":\"bob\",\"roles\":\"viewer\"}");
    user(&admin, "{\"sub\":\"carol\",\"realm\":{\"roles\":[\"admin\"]}}");
    cr_assert_eq(byron_access_check(C->access, "shipOrder", &clerk, NULL), BYRON_ACCESS_ALLOW);
    cr_assert_eq(byron_access_check(C->access, "deleteOrder", &clerk, NULL), BYRON_ACCESS_FORBIDDEN);
    cr_assert_eq(byron_access_check(C->access, "shipOrder", &nobody, NULL), BYRON_ACCESS_FORBIDDEN);
    cr_assert_eq(byron_access_check(C->access, "orders", &nobody, NULL), BYRON_ACCESS_ALLOW,
                 "anonymous rules grant users too");
    cr_assert_eq(byron_access_check(C->access, "deleteNote", &admin, NULL), BYRON_ACCESS_ALLOW);
    byron_principal_t app = {.kind = BYRON_PRINCIPAL_APP};
    cr_assert_eq(byron_access_check(C->access, "deleteNote", &app, NULL), BYRON_ACCESS_ALLOW);
    byron_principal_cleanup(&clerk);
    byron_principal_cleanup(&nobody);
    byron_principal_cleanup(&admin);
}

Test(access, rows_from_claim_matches) {
    byron_principal_t alice, support;
    user(&alice, "{\"sub\":\"alice\"}");
    user(&support, "{\"sub\":\"sam\",\"roles\":[\"support\"],\"tenants\":[\"t1\",\"t2\"]}");
    byron_access_rows_t rows;
    cr_assert_eq(byron_access_check(C->access, "updateOrder", &alice, &rows), BYRON_ACCESS_ALLOW);
    cr_assert_not(byron_access_rows_all(&rows));
    json_object *mine = json_tokener_parse("{\"id\":\"o1\",\"customer\":\"alice\"}");
    json_object *theirs = json_tokener_parse("{\"id\":\"o2\",\"customer\":\"bob\",\"tenant\":\"t2\"}");
    cr_assert(byron_access_rows_match(&rows, mine));
    cr_assert_not(byron_access_rows_match(&rows, theirs));
    json_object *f = byron_access_rows_filter(&rows);
    cr_assert_str_eq(byron_json_compact(f), "{\"$or\":[{\"$and\":[{\"customer\":{\"$in\":[\"alice\"]}}]}]}");
    json_object_put(f);
    /* Writes: a create must name its owner, an update may not give the row away. */
    json_object *give = json_tokener_parse("{\"customer\":\"bob\"}"), *none = json_tokener_parse("{}");
    cr_assert_not(byron_access_rows_input_ok(&rows, give, 0));
    cr_assert(byron_access_rows_input_ok(&rows, none, 0));
    cr_assert_not(byron_access_rows_input_ok(&rows, none, 1));
    byron_access_rows_cleanup(&rows);
    /* Two granting rules for support: their own rows or their tenants'. */
    cr_assert_eq(byron_access_check(C->access, "updateOrder", &support, &rows), BYRON_ACCESS_ALLOW);
    cr_assert(byron_access_rows_match(&rows, theirs), "tenant t2 is one of sam's tenants");
    cr_assert_not(byron_access_rows_match(&rows, mine));
    byron_access_rows_cleanup(&rows);
    /* A missing claim grants no rows at all. */
    byron_principal_t anon_claims;
    user(&anon_claims, "{\"roles\":[\"support\"]}");
    cr_assert_eq(byron_access_check(C->access, "orderEvents", &anon_claims, &rows), BYRON_ACCESS_ALLOW);
    cr_assert_not(byron_access_rows_match(&rows, mine));
    cr_assert_not(byron_access_rows_match(&rows, theirs));
    byron_access_rows_cleanup(&rows);
    json_object_put(mine);
    json_object_put(theirs);
    json_object_put(give);
    json_object_put(none);
    byron_principal_cleanup(&alice);
    byron_principal_cleanup(&support);
    byron_principal_cleanup(&anon_claims);
}

Test(access, origins) {
    cr_assert(byron_access_origin_allowed(C->access, "https://shop.test"));
    cr_assert_not(byron_access_origin_allowed(C->access, "https://shop.test.evil"));
    cr_assert_not(byron_access_origin_allowed(C->access, "null"));
    cr_assert_not(byron_access_origin_allowed(C->access, NULL));
}

static void bad(const char *auth, const char *msg) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_neq(parse_auth(auth, &c, &err), BYRON_OK, "accepted %s", auth);
    cr_assert(strstr(err.msg, msg), "\"%s\" lacks \"%s\"", err.msg, msg);
    cr_assert_null(c);
}

Test(access_parse, errors_name_the_field) {
    bad("{\"rules\":[{\"operations\":[\"shipOrders\"],\"anonymous\":true}]}",
        "auth.rules[0].operations[0]: \"shipOrders\" is not an operation");
    bad("{\"rules\":[{\"operations\":[\"orders\"]}]}", "auth.issuer is not set");
    bad("{\"issuer\":\"x\"}", "auth.audiences: required");
    bad("{\"issuer\":\"x\",\"audiences\":[\"a\"],\"rules\":[{\"operations\":[\"orders\"],\"match\":[{"
        "\"field\":\"owner\","
        "\"claim\":\"sub\"}]}]}",
        "auth.rules[0].match[0].field: Order has no field \"owner\"");
    bad("{\"issuer\":\"x\",\"audiences\":[\"a\"],\"rules\":[{\"operations\":[\"orders\"],\"match\":[{"
        "\"field\":\"notes\","
        "\"claim\":\"sub\"}]}]}",
        "JSON fields cannot be matched");
    bad("{\"issuer\":\"x\",\"audiences\":[\"a\"],\"rules\":[{\"operations\":[\"*\"],\"match\":[{\"field\":"
        "\"customer\","
        "\"claim\":\"sub\"}]}]}",
        "Note has no field \"customer\"");
    bad("{\"rules\":[{\"operations\":[\"orders\"],\"anonymous\":true,\"claims\":[{\"claim\":\"a\",\"equals\":"
        "1}]}]}",
        "an anonymous rule cannot test claims");
    bad("{\"issuer\":\"x\",\"audiences\":[\"a\"],\"algorithms\":[\"HS256\"]}", "auth.algorithms[0]");
    bad("{\"issuer\":\"x\",\"audiences\":[\"a\"],\"clockSkewSeconds\":3600}", "auth.clockSkewSeconds");
    bad("{\"allowedOrigins\":[\"https://a.test/path\"]}", "auth.allowedOrigins[0]");
    bad("{\"allowedOrigins\":[\"*\",\"https://a.test\"]}", "must be the only entry");
    bad("{\"rules\":[],\"rulez\":1}", "auth.rulez: unknown field");
}

Test(access_parse, no_auth_grants_nothing) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(parse_auth(NULL, &c, &err), BYRON_OK, "%s", err.msg);
    byron_principal_t anon;
    byron_principal_init(&anon);
    cr_assert_eq(byron_access_check(c->access, "orders", &anon, NULL), BYRON_ACCESS_UNAUTHENTICATED);
    cr_assert_null(byron_access_settings(c->access)->issuer);
    byron_component_free(c);
}
