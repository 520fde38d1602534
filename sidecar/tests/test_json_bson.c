/* test_json_bson.c — byron_json_bson_new types every value exactly as
 * libbson's bson_new_from_json types the same text (json_bson.h): the cache's
 * filters must match what the sink stored. */
#include "json_bson.h"

#include <criterion/criterion.h>

/* Both conversions of text, compared byte for byte. */
static void same_as_libbson(const char *text) {
    bson_error_t e1, e2;
    bson_t *want = bson_new_from_json((const uint8_t *)text, -1, &e1);
    cr_assert_not_null(want, "libbson refuses %s: %s", text, e1.message);
    bson_t *got = byron_json_bson_from_text(text, &e2);
    cr_assert_not_null(got, "%s: %s", text, e2.message);
    char *w = bson_as_canonical_extended_json(want, NULL), *g = bson_as_canonical_extended_json(got, NULL);
    cr_assert(bson_equal(want, got), "%s\n  libbson: %s\n  ours:    %s", text, w, g);
    bson_free(w);
    bson_free(g);
    bson_destroy(want);
    bson_destroy(got);
}

Test(json_bson, scalars_get_libbsons_types) {
    same_as_libbson("{\"a\":1,\"b\":-1,\"c\":0,\"d\":2147483647,\"e\":-2147483648}");
    same_as_libbson("{\"a\":2147483648,\"b\":-2147483649,\"c\":9007199254740993}");
    same_as_libbson("{\"a\":1.5,\"b\":3.0,\"c\":-0.25,\"d\":1e3,\"e\":1.7976931348623157e308}");
    same_as_libbson(
        "{\"a\":true,\"b\":false,\"c\":null,\"d\":\"x\",\"e\":\"\",\"f\":\"\\u00e9\\u4e2d\\ud83d\\ude00\"}");
}

Test(json_bson, nesting_and_query_operators) {
    same_as_libbson("{\"$and\":[{\"customer\":{\"$eq\":\"c7\"}},{\"$or\":[{\"total\":{\"$gt\":1.5}},{\"_id\":"
                    "{\"$in\":[\"a\",\"b\",3]}}]}]}");
    same_as_libbson("{\"a\":[],\"b\":{},\"c\":[[1,[2,[3]]],{\"d\":[null,true]}]}");
    same_as_libbson("{\"sort\":{\"customer\":-1,\"_id\":-1},\"limit\":21,\"maxTimeMS\":1500}");
}

Test(json_bson, extended_json_stays_libbsons) {
    same_as_libbson("{\"t\":{\"$date\":\"2026-12-01T00:00:00Z\"}}");
    same_as_libbson("{\"n\":{\"$numberLong\":\"5\"},\"x\":[{\"$oid\":\"507f1f77bcf86cd799439011\"}]}");
    same_as_libbson("{\"a\":{\"b\":{\"$numberDouble\":\"2\"}}}");
}

Test(json_bson, what_is_not_an_object_is_refused) {
    bson_error_t e;
    json_object *a = json_tokener_parse("[1,2]");
    cr_assert_null(byron_json_bson_new(a, &e));
    json_object_put(a);
    cr_assert_null(byron_json_bson_from_text("{\"a\":", &e));
}
