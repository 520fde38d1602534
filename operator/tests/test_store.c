/* test_store.c — the informer store: copies, keys, slim and its owned-fields fingerprint. */
#include "byron/json.h"
#include "store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *parse(const char *s) {
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse(s, strlen(s), 0, &o, NULL), BYRON_OK);
    return o;
}

static const char *DEP = "{\"apiVersion\":\"apps/"
                         "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"c-api\",\"namespace\":\"ns\","
                         "\"resourceVersion\":\"%d\",\"uid\":\"u\",\"managedFields\":[{\"manager\":\"x\"}],"
                         "\"annotations\":{\"byron.io/applied-hash\":\"h\",\"kubectl.kubernetes.io/"
                         "last-applied-configuration\":\"{}\",\"o\":\"1\"},"
                         "\"ownerReferences\":[{\"uid\":\"owner\",\"controller\":true}]},"
                         "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[]}}},"
                         "\"status\":{\"replicas\":3,\"readyReplicas\":2,\"conditions\":[]}}";

static json_object *dep(int rv) {
    char buf[1024];
    snprintf(buf, sizeof buf, DEP, rv);
    return parse(buf);
}

Test(store, key_get_copies_and_trims) {
    byron_store_t *s = byron_store_new();
    json_object *d = dep(5);
    char key[64];
    cr_assert_eq(byron_store_key(d, key, sizeof key), 0);
    cr_assert_str_eq(key, "ns/c-api");
    byron_store_set(s, key, d);
    json_object_put(d);
    json_object *a = byron_store_get(s, key), *b = byron_store_get(s, key), *v;
    cr_assert(a != b, "each reader gets its own copy");
    json_object_object_add(a, "mutated", json_object_new_int(1));
    cr_assert_not(json_object_object_get_ex(b, "mutated", &v));
    json_object *md = json_object_object_get(b, "metadata");
    cr_assert_not(json_object_object_get_ex(md, "managedFields", &v));
    cr_assert_not(json_object_object_get_ex(json_object_object_get(md, "annotations"),
                                            "kubectl.kubernetes.io/last-applied-configuration", &v));
    json_object_put(a);
    json_object_put(b);
    cr_assert_null(byron_store_get(s, "ns/other"));
    byron_store_free(s);
}

Test(store, keys_and_delete) {
    byron_store_t *s = byron_store_new();
    json_object *d9 = dep(9), *d10 = dep(10);
    byron_store_set(s, "ns/c-api", d9);
    byron_store_set(s, "ns/c-api", d10); /* replaces: the informer is the one writer, in watch order */
    json_object *g = byron_store_get(s, "ns/c-api");
    cr_assert_str_eq(json_object_get_string(
                         json_object_object_get(json_object_object_get(g, "metadata"), "resourceVersion")),
                     "10");
    json_object_put(g);
    size_t n;
    char **keys = byron_store_keys(s, &n);
    cr_assert_eq(n, 1);
    free(keys[0]);
    free(keys);
    byron_store_delete(s, "ns/c-api");
    cr_assert_eq(byron_store_len(s), 0);
    json_object_put(d9);
    json_object_put(d10);
    byron_store_free(s);
}

/* A Deployment whose managedFields has our Apply entry with these fieldsV1,
 * plus another manager's and our status entry (both ignored). */
static json_object *managed(const char *our_fields) {
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"c-api\",\"namespace\":\"ns\",\"managedFields\":["
             "{\"manager\":\"kubectl-edit\",\"operation\":\"Update\",\"fieldsV1\":{\"f:data\":{}}},"
             "{\"manager\":\"byron-operator\",\"operation\":\"Apply\",\"subresource\":\"status\","
             "\"fieldsV1\":{\"f:status\":{}}},"
             "{\"manager\":\"byron-operator\",\"operation\":\"Apply\",\"fieldsV1\":%s}]}}",
             our_fields);
    return parse(buf);
}

Test(store, slim_fingerprints_the_fields_our_applies_own) {
    json_object *a = managed("{\"f:data\":{\".\":{},\"f:component.json\":{}}}"),
                *b = managed("{\"f:data\":{\".\":{}}}"), /* a field taken by another manager */
                    *none = dep(1);
    json_object *sa = byron_store_slim(a), *sa2 = byron_store_slim(a), *sb = byron_store_slim(b),
                *sn = byron_store_slim(none);
    const char *fa = json_object_get_string(json_object_object_get(sa, BYRON_STORE_OWNED_FIELDS)),
               *fb = json_object_get_string(json_object_object_get(sb, BYRON_STORE_OWNED_FIELDS));
    cr_assert_not_null(fa);
    cr_assert_eq(strlen(fa), 16);
    cr_assert_str_eq(fa, json_object_get_string(json_object_object_get(sa2, BYRON_STORE_OWNED_FIELDS)));
    cr_assert_not_null(fb);
    cr_assert_str_neq(fa, fb, "a field taken from our set changes the fingerprint");
    cr_assert_null(json_object_object_get(sn, BYRON_STORE_OWNED_FIELDS), "no entry of ours: no fingerprint");
    cr_assert(json_object_get_boolean(json_object_object_get(sa, BYRON_STORE_OTHER_MANAGERS)),
              "kubectl-edit owns fields of it");
    cr_assert(json_object_get_boolean(json_object_object_get(sn, BYRON_STORE_OTHER_MANAGERS)), "so does x");
    json_object *alone =
                    parse("{\"metadata\":{\"name\":\"n\",\"managedFields\":[{\"manager\":\"byron-operator\","
                          "\"operation\":\"Apply\",\"fieldsV1\":{}},{\"manager\":\"kcm\",\"operation\":"
                          "\"Update\",\"subresource\":\"status\",\"fieldsV1\":{}}]}}"),
                *sl = byron_store_slim(alone);
    cr_assert_null(json_object_object_get(sl, BYRON_STORE_OTHER_MANAGERS),
                   "a status writer is not another owner");
    json_object_put(sl);
    json_object_put(alone);
    char out[17];
    cr_assert_eq(byron_store_owned_fields(a, out), 1);
    cr_assert_str_eq(out, fa, "the reconciler's fingerprint of an apply's answer is the store's");
    json_object *objs[] = {a, b, none, sa, sa2, sb, sn};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) json_object_put(objs[i]);
}

Test(store, slim_keeps_what_the_reconciler_reads) {
    json_object *d = dep(3), *sl = byron_store_slim(d);
    cr_assert_str_eq(
        json_object_to_json_string_ext(sl, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"c-api\","
        "\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":\"3\",\"ownerReferences\":[{\"uid\":"
        "\"owner\",\"controller\":true}],\"annotations\":{\"byron.io/applied-hash\":\"h\"}},"
        "\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3,\"readyReplicas\":2},"
        "\"byronOtherManagers\":true}"); /* manager x owns fields of it */
    json_object_put(sl);
    json_object *sec =
        parse("{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"password\":\"c2VjcmV0\"}}");
    sl = byron_store_slim(sec);
    cr_assert_null(strstr(json_object_to_json_string(sl), "c2VjcmV0"), "secret data never stored");
    json_object_put(sl);
    json_object_put(sec);
    json_object_put(d);
}
