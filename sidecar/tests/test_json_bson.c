/* test_json_bson.c — byron_json_bson_new types every value exactly as
 * libbson's bson_new_from_json types the same text (json_bson.h): the cache's
 * filters must match what the sink stored. */
#include "byron/json.h"
#include "json_bson.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------------ BSON → json-c */

/* The reading byron_json_bson_to_json replaces (cache.c before): libbson's
 * relaxed Extended JSON text, parsed by byron_json_parse. */
static json_object *through_text(const bson_t *doc, int max_depth) {
    size_t len = 0;
    char *s = bson_as_relaxed_extended_json(doc, &len);
    json_object *o = NULL;
    byron_err_t e;
    if (!s || byron_json_parse(s, len, max_depth, &o, &e) != BYRON_OK) o = NULL;
    bson_free(s);
    return o;
}

/* Both readings of doc agree: both refuse it, or both give the same values,
 * types and text. Returns whether it was read. */
static int same_as_text(const bson_t *doc, int max_depth) {
    json_object *want = through_text(doc, max_depth), *got = byron_json_bson_to_json(doc, max_depth);
    char *canon = bson_as_canonical_extended_json(doc, NULL);
    cr_assert_eq(want == NULL, got == NULL, "%s: the text path %s it, the direct one %s it",
                 canon ? canon : "?", want ? "reads" : "refuses", got ? "reads" : "refuses");
    if (want) {
        const char *w = json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN);
        const char *g = json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN);
        cr_assert_str_eq(g, w, "%s", canon ? canon : "?");
        cr_assert(json_object_equal(want, got), "%s: same text, different types", w);
    }
    bson_free(canon);
    int read = want != NULL;
    json_object_put(want);
    json_object_put(got);
    return read;
}

static bson_t *from_json(const char *canonical) {
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)canonical, -1, &e);
    cr_assert_not_null(b, "%s: %s", canonical, e.message);
    return b;
}

static void same_text(const char *canonical) {
    bson_t *b = from_json(canonical);
    cr_assert(same_as_text(b, 0), "%s is refused by both", canonical);
    bson_destroy(b);
}

Test(bson_json, scalars_read_as_the_text_reads_them) {
    same_text("{\"_id\":\"o1\",\"version\":{\"$numberLong\":\"3\"},\"customer\":\"c7\",\"total\":7.5,"
              "\"status\":\"SHIPPED\",\"paid\":true,\"note\":null}");
    same_text(
        "{\"a\":{\"$numberInt\":\"2147483647\"},\"b\":{\"$numberInt\":\"-2147483648\"},\"c\":{\"$numberInt\":"
        "\"0\"},\"d\":{\"$numberLong\":\"9223372036854775807\"},\"e\":{\"$numberLong\":"
        "\"-9223372036854775808\"},\"f\":{\"$numberLong\":\"-1\"}}");
    same_text(
        "{\"a\":{\"$numberDouble\":\"0.1\"},\"b\":{\"$numberDouble\":\"1.0\"},\"c\":{\"$numberDouble\":\"-0."
        "0\"},"
        "\"d\":{\"$numberDouble\":\"1e300\"},\"e\":{\"$numberDouble\":\"5e-324\"},\"f\":{\"$numberDouble\":"
        "\"1e21\"},\"g\":{\"$numberDouble\":\"123456789012345678\"},\"h\":{\"$numberDouble\":\"-2.5e-7\"},"
        "\"i\":{\"$numberDouble\":\"1.7976931348623157e308\"},\"j\":{\"$numberDouble\":\"3\"}}");
    same_text(
        "{\"a\":{\"$numberDouble\":\"NaN\"},\"b\":{\"$numberDouble\":\"Infinity\"},\"c\":{\"$numberDouble\":"
        "\"-Infinity\"}}");
    same_text(
        "{\"a\":\"\",\"b\":\"\\u00e9\\u4e2d\\ud83d\\ude00\",\"c\":\"quote \\\" backslash \\\\ slash /\","
        "\"d\":\"\\u0001\\u001f\\n\\t\\r\\b\\f\",\"e\":\"a\\u0000b\",\"\\u00e9\\u4e2d\":1,\"\":2}");
}

Test(bson_json, extended_types_read_as_the_text_reads_them) {
    same_text("{\"o\":{\"$oid\":\"507f1f77bcf86cd799439011\"}}");
    same_text(
        "{\"a\":{\"$date\":{\"$numberLong\":\"1796140254600\"}},\"b\":{\"$date\":{\"$numberLong\":\"0\"}},"
        "\"c\":{\"$date\":{\"$numberLong\":\"-1\"}},\"d\":{\"$date\":{\"$numberLong\":\"253402300800000\"}}"
        "}");
    same_text("{\"a\":{\"$numberDecimal\":\"1.50\"},\"b\":{\"$numberDecimal\":\"-1E+400\"},\"c\":{\"$"
              "numberDecimal\":"
              "\"NaN\"},\"d\":{\"$numberDecimal\":\"Infinity\"}}");
    same_text(
        "{\"a\":{\"$binary\":{\"base64\":\"AQID\",\"subType\":\"00\"}},\"b\":{\"$binary\":{\"base64\":"
        "\"c//SZESzTGmQ6OfR38A11A==\",\"subType\":\"04\"}},\"c\":{\"$binary\":{\"base64\":\"\",\"subType\":"
        "\"80\"}}}");
    same_text(
        "{\"r\":{\"$regularExpression\":{\"pattern\":\"^a\\\\d\",\"options\":\"im\"}},\"t\":{\"$timestamp\":"
        "{\"t\":1,\"i\":2}},\"min\":{\"$minKey\":1},\"max\":{\"$maxKey\":1},\"u\":{\"$undefined\":true}}");
    same_text("{\"s\":{\"$symbol\":\"sym\"},\"c\":{\"$code\":\"f()\"},\"cs\":{\"$code\":\"g()\",\"$scope\":{"
              "\"x\":1}},"
              "\"p\":{\"$dbPointer\":{\"$ref\":\"c\",\"$id\":{\"$oid\":\"507f1f77bcf86cd799439011\"}}}}");
}

Test(bson_json, documents_and_arrays_read_as_the_text_reads_them) {
    same_text("{\"a\":[],\"b\":{},\"c\":[[1,[2,[3]]],{\"d\":[null,true,{\"$oid\":"
              "\"507f1f77bcf86cd799439011\"}]}]}");
    same_text(
        "{\"lines\":[{\"sku\":\"x\",\"qty\":2,\"price\":1.25},{\"sku\":\"y\",\"qty\":1,\"at\":{\"$date\":"
        "\"2026-12-01T00:00:00Z\"}}]}");
    /* a plain sub-document whose keys look like Extended JSON stays a plain object */
    bson_t *b = bson_new(), child;
    bson_append_document_begin(b, "a", 1, &child);
    BSON_APPEND_UTF8(&child, "$oid", "not-an-id");
    BSON_APPEND_UTF8(&child, "$numberLong", "x");
    bson_append_document_end(b, &child);
    cr_assert(same_as_text(b, 0));
    bson_destroy(b);
    b = bson_new(); /* duplicate keys: the last wins, where the first stood */
    BSON_APPEND_INT32(b, "k", 1);
    BSON_APPEND_UTF8(b, "other", "x");
    BSON_APPEND_INT32(b, "k", 2);
    cr_assert(same_as_text(b, 0));
    bson_destroy(b);
}

/* Nesting of n documents, the innermost holding `leaf`. */
static bson_t *nested(int n, const char *leaf) {
    size_t cap = (size_t)n * 8 + strlen(leaf) + 16;
    char *t = malloc(cap);
    size_t at = 0;
    for (int i = 0; i < n; i++) at += (size_t)snprintf(t + at, cap - at, "{\"a\":");
    at += (size_t)snprintf(t + at, cap - at, "%s", leaf);
    for (int i = 0; i < n; i++) t[at++] = '}';
    t[at] = 0;
    bson_t *b = from_json(t);
    free(t);
    return b;
}

Test(bson_json, the_depth_bound_is_the_texts) {
    const char *leaves[] = {"1",
                            "{}",
                            "[]",
                            "[1]",
                            "{\"$date\":{\"$numberLong\":\"-1\"}}",
                            "{\"$binary\":{\"base64\":\"AQID\",\"subType\":\"00\"}}",
                            "{\"$numberDouble\":\"NaN\"}"};
    int depths[] = {0, 8, 64};
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        int max = depths[d] ? depths[d] : 64, read = 0, refused = 0;
        for (size_t l = 0; l < sizeof leaves / sizeof leaves[0]; l++) {
            for (int n = max - 4; n <= max + 2; n++) {
                bson_t *b = nested(n, leaves[l]);
                if (same_as_text(b, depths[d]))
                    read++;
                else
                    refused++;
                bson_destroy(b);
            }
        }
        cr_assert(read > 0 && refused > 0, "max_depth %d: the bound is crossed (%d read, %d refused)",
                  depths[d], read, refused);
    }
}

Test(bson_json, what_the_text_refuses_is_refused) {
    bson_t *b = bson_new();
    BSON_APPEND_UTF8(b, "ok", "x");
    bson_append_utf8(b, "bad", 3, "\xff\xfe", 2); /* not UTF-8 */
    same_as_text(b, 0);
    bson_destroy(b);
    b = bson_new();
    bson_append_int32(b, "k\xff", 2, 1); /* a key that is not UTF-8 */
    same_as_text(b, 0);
    bson_destroy(b);
    b = bson_new();
    bson_t child;
    bson_append_array_begin(b, "arr", 3, &child);
    bson_append_utf8(&child, "0", 1, "\xc3", 1); /* truncated sequence, in an array */
    bson_append_array_end(b, &child);
    same_as_text(b, 0);
    bson_destroy(b);
    /* a corrupt document: a length that runs past the end */
    uint8_t raw[] = {16, 0, 0, 0, 0x02, 'a', 0, 20, 0, 0, 0, 'x', 'y', 0, 0, 0};
    bson_t bad;
    cr_assert(bson_init_static(&bad, raw, sizeof raw));
    same_as_text(&bad, 0);
}

/* A seeded random corpus: every type, nested, against the text path. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

static void random_members(bson_t *b, int depth, int is_array) {
    int n = (int)rnd(6);
    for (int i = 0; i < n; i++) {
        char key[16];
        if (is_array)
            snprintf(key, sizeof key, "%d", i);
        else
            snprintf(key, sizeof key, "k%u", rnd(8));
        static const char *const STRINGS[] = {"s", "\xc3\xa9\"\\\n"};
        static const double DOUBLES[] = {0.1, -0.0, 1e21, 7.5, 3.0, 1.0 / 3, 2.5e-300, 9007199254740993.0};
        bson_oid_t oid;
        bson_decimal128_t dec;
        bson_t child;
        const char *str = STRINGS[rnd(2)]; /* BSON_APPEND_UTF8 reads its value twice */
        switch (rnd(depth < 6 ? 14 : 11)) {
        case 0: BSON_APPEND_UTF8(b, key, str); break;
        case 1: BSON_APPEND_INT32(b, key, (int32_t)rnd(UINT32_MAX)); break;
        case 2: BSON_APPEND_INT64(b, key, (int64_t)rnd_state); break;
        case 3: BSON_APPEND_DOUBLE(b, key, DOUBLES[rnd(8)] * (rnd(2) ? 1 : -1e5)); break;
        case 4: BSON_APPEND_BOOL(b, key, rnd(2)); break;
        case 5: BSON_APPEND_NULL(b, key); break;
        case 6:
            bson_oid_init_from_string(&oid, "507f1f77bcf86cd799439011"), BSON_APPEND_OID(b, key, &oid);
            break;
        case 7: BSON_APPEND_DATE_TIME(b, key, (int64_t)rnd_state % 400000000000000ll); break;
        case 8: bson_decimal128_from_string("12.3400", &dec), BSON_APPEND_DECIMAL128(b, key, &dec); break;
        case 9: BSON_APPEND_BINARY(b, key, BSON_SUBTYPE_BINARY, (const uint8_t *)"\x01\x02\x03", 3); break;
        case 10: BSON_APPEND_TIMESTAMP(b, key, rnd(1000), rnd(10)); break;
        case 11: BSON_APPEND_DOUBLE(b, key, rnd(2) ? NAN : -INFINITY); break;
        case 12:
            bson_append_document_begin(b, key, -1, &child);
            random_members(&child, depth + 1, 0);
            bson_append_document_end(b, &child);
            break;
        default:
            bson_append_array_begin(b, key, -1, &child);
            random_members(&child, depth + 1, 1);
            bson_append_array_end(b, &child);
        }
    }
}

Test(bson_json, a_random_corpus_reads_as_the_text_reads_it) {
    int read = 0;
    for (int i = 0; i < 3000; i++) {
        bson_t *b = bson_new();
        BSON_APPEND_UTF8(b, "_id", "x");
        random_members(b, 0, 0);
        read += same_as_text(b, 0);
        same_as_text(b, 3); /* a tight bound: read or refused alike */
        bson_destroy(b);
    }
    cr_assert_eq(read, 3000, "only %d of 3000 documents read", read);
}

/* ------------------------------------------------------------------ objects as their text */

/* byron_cache_find converts the resolvers' json-c filters directly; before,
 * it converted their compact text: the same BSON, or the same refusal. */
static void object_as_its_text(json_object *o) {
    bson_error_t e1, e2;
    char *text = strdup(byron_json_compact(o));
    bson_t *want = byron_json_bson_from_text(text, &e1), *got = byron_json_bson_new(o, &e2);
    cr_assert_eq(want == NULL, got == NULL, "%s: text %s, object %s", text, want ? "converts" : e1.message,
                 got ? "converts" : e2.message);
    if (want) {
        char *w = bson_as_canonical_extended_json(want, NULL),
             *g = bson_as_canonical_extended_json(got, NULL);
        cr_assert(bson_equal(want, got), "%s\n  text:   %s\n  object: %s", text, w, g);
        bson_free(w);
        bson_free(g);
    }
    bson_destroy(want);
    bson_destroy(got);
    free(text);
}

Test(json_bson, an_object_converts_as_its_compact_text) {
    const char *texts[] = {
        "{\"$and\":[{\"customer\":{\"$eq\":\"c7\"}},{\"$or\":[{\"total\":{\"$gt\":1.5}},{\"_id\":{\"$in\":["
        "\"a\",3]}}]}]}",
        "{\"sort\":{\"customer\":-1,\"_id\":-1},\"limit\":21,\"maxTimeMS\":1500}",
        "{\"a\":2147483648,\"b\":-2147483649,\"c\":9223372036854775807,\"d\":-9223372036854775808,\"e\":0.1,"
        "\"f\":3.0,\"g\":-0.0,\"h\":1e300,\"i\":5e-324,\"j\":\"a/"
        "b\\u00e9\\u0000c\",\"k\":null,\"l\":[true,false]}",
        "{\"t\":{\"$date\":\"2026-12-01T00:00:00Z\"},\"n\":{\"$numberLong\":\"5\"}}",
        "{\"x\":{\"$in\":[{\"$oid\":\"507f1f77bcf86cd799439011\"}]}}"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_object *o = json_tokener_parse(texts[i]);
        cr_assert_not_null(o, "%s", texts[i]);
        object_as_its_text(o);
        json_object_put(o);
    }
    json_object *inf = json_object_new_object(); /* a GraphQL literal like 1e999 */
    json_object_object_add(inf, "a", json_object_new_double(INFINITY));
    json_object_object_add(inf, "b", json_object_new_double(-INFINITY));
    object_as_its_text(inf);
    json_object_put(inf);
    for (int n = 28; n <= 104; n += 4) { /* past json-c's default depth (32) and the object path's (100) */
        json_object *o = json_object_new_int(1);
        for (int i = 0; i < n; i++) {
            json_object *w = json_object_new_object();
            json_object_object_add(w, i % 2 ? "$and" : "a", i % 2 ? json_object_new_array() : o);
            if (i % 2) {
                json_object *arr = NULL;
                json_object_object_get_ex(w, "$and", &arr);
                json_object_array_add(arr, o);
            }
            o = w;
        }
        object_as_its_text(o);
        json_object_put(o);
    }
}

Test(json_bson, a_random_corpus_converts_as_its_text) {
    for (int i = 0; i < 1000; i++) {
        bson_t *b = bson_new();
        random_members(b, 0, 0);
        json_object *o = through_text(b, 0); /* JSON with Extended JSON members */
        cr_assert_not_null(o);
        object_as_its_text(o);
        json_object_put(o);
        bson_destroy(b);
    }
}
