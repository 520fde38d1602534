/* json_bson.c — see json_bson.h. */
#include "json_bson.h"

#include <stdint.h>
#include <string.h>

/* Keys that make a document Extended JSON for libbson's reader (its types). */
static int is_extended_key(const char *k) {
    static const char *const KEYS[] = {
        "$oid",           "$date",      "$numberLong", "$numberInt", "$numberDouble",
        "$numberDecimal", "$binary",    "$regex",      "$options",   "$regularExpression",
        "$timestamp",     "$symbol",    "$code",       "$scope",     "$minKey",
        "$maxKey",        "$undefined", "$dbPointer",  "$uuid",      "$type",
        "$ref",           "$id",        "$db"};
    if (k[0] != '$') return 0;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (strcmp(k, KEYS[i]) == 0) return 1;
    return 0;
}

/* 1: converted; 0: needs libbson's own reader (Extended JSON, an out-of-range
 * number); -1: failed. */
static int append_value(bson_t *b, const char *key, size_t klen, json_object *v, int depth);

static int append_members(bson_t *b, json_object *o, int depth) {
    json_object_object_foreach(o, k, v) {
        if (is_extended_key(k)) return 0;
        int r = append_value(b, k, strlen(k), v, depth);
        if (r <= 0) return r;
    }
    return 1;
}

static int append_value(bson_t *b, const char *key, size_t klen, json_object *v, int depth) {
    if (depth > 100) return 0; /* libbson's reader has a depth limit of its own: let it decide */
    int ok = 1;
    switch (json_object_get_type(v)) {
    case json_type_null: ok = bson_append_null(b, key, (int)klen); break;
    case json_type_boolean: ok = bson_append_bool(b, key, (int)klen, json_object_get_boolean(v)); break;
    case json_type_double: ok = bson_append_double(b, key, (int)klen, json_object_get_double(v)); break;
    case json_type_int: {
        int64_t n = json_object_get_int64(v);
        if (n == INT64_MAX || n == INT64_MIN) return 0; /* maybe clamped by json-c: the text decides */
        ok = n >= INT32_MIN && n <= INT32_MAX ? bson_append_int32(b, key, (int)klen, (int32_t)n)
                                              : bson_append_int64(b, key, (int)klen, n);
        break;
    }
    case json_type_string:
        ok = bson_append_utf8(b, key, (int)klen, json_object_get_string(v), json_object_get_string_len(v));
        break;
    case json_type_array: {
        bson_t child;
        if (!bson_append_array_begin(b, key, (int)klen, &child)) return -1;
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            char idx[16];
            const char *ik;
            size_t il = bson_uint32_to_string((uint32_t)i, &ik, idx, sizeof idx);
            int r = append_value(&child, ik, il, json_object_array_get_idx(v, i), depth + 1);
            if (r <= 0) {
                bson_append_array_end(b, &child);
                return r;
            }
        }
        ok = bson_append_array_end(b, &child);
        break;
    }
    case json_type_object: {
        bson_t child;
        if (!bson_append_document_begin(b, key, (int)klen, &child)) return -1;
        int r = append_members(&child, v, depth + 1);
        bson_append_document_end(b, &child);
        if (r <= 0) return r;
        break;
    }
    }
    return ok ? 1 : -1;
}

bson_t *byron_json_bson_new(json_object *o, bson_error_t *err) {
    if (!json_object_is_type(o, json_type_object)) {
        bson_set_error(err, BSON_ERROR_JSON, BSON_JSON_ERROR_READ_INVALID_PARAM, "not a JSON object");
        return NULL;
    }
    bson_t *b = bson_new();
    int r = append_members(b, o, 0);
    if (r == 1) return b;
    bson_destroy(b);
    if (r == 0) /* Extended JSON or an edge of the number range: libbson's reader, on the text */
        return bson_new_from_json((const uint8_t *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                                  -1, err);
    bson_set_error(err, BSON_ERROR_JSON, BSON_JSON_ERROR_READ_INVALID_PARAM, "document too large");
    return NULL;
}

bson_t *byron_json_bson_from_text(const char *text, bson_error_t *err) {
    json_object *o = json_tokener_parse(text);
    if (!o) return bson_new_from_json((const uint8_t *)text, -1, err); /* its message says what is wrong */
    bson_t *b = byron_json_bson_new(o, err);
    json_object_put(o);
    return b;
}
