/* test_store.c — the informer store: copies, newer-wins write-through, slim. */
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

Test(store, set_if_newer_never_goes_back) {
    byron_store_t *s = byron_store_new();
    json_object *d9 = dep(9), *d7 = dep(7), *d10 = dep(10);
    byron_store_set_if_newer(s, "ns/c-api", d9);
    byron_store_set_if_newer(s, "ns/c-api", d7); /* an older watch event after a write-through */
    json_object *g = byron_store_get(s, "ns/c-api");
    cr_assert_str_eq(json_object_get_string(
                         json_object_object_get(json_object_object_get(g, "metadata"), "resourceVersion")),
                     "9");
    json_object_put(g);
    byron_store_set_if_newer(s, "ns/c-api", d10);
    g = byron_store_get(s, "ns/c-api");
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
    json_object_put(d7);
    json_object_put(d10);
    byron_store_free(s);
}

Test(store, slim_keeps_what_the_reconciler_reads) {
    json_object *d = dep(3), *sl = byron_store_slim(d);
    cr_assert_str_eq(
        json_object_to_json_string_ext(sl, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"c-api\","
        "\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":\"3\",\"ownerReferences\":[{\"uid\":"
        "\"owner\",\"controller\":true}],\"annotations\":{\"byron.io/applied-hash\":\"h\"}},"
        "\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3,\"readyReplicas\":2}}");
    json_object_put(sl);
    json_object *sec =
        parse("{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"password\":\"c2VjcmV0\"}}");
    sl = byron_store_slim(sec);
    cr_assert_null(strstr(json_object_to_json_string(sl), "c2VjcmV0"), "secret data never stored");
    json_object_put(sl);
    json_object_put(sec);
    json_object_put(d);
}
