/* json_bson.c — see json_bson.h. */
#include "json_bson.h"

#include "byron/json.h"

#include <stdint.h>
#include <stdio.h>
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

/* ------------------------------------------------------------------ BSON → json-c */

#define JSON_DEFAULT_DEPTH 64 /* byron_json_parse's default (max_depth 0) */

/* json-c's reader counts every value's depth, the top document's 0, and
 * refuses a value deeper than max_depth - 1: the same bound here. */
static int from_bson(const bson_iter_t *it, int depth, int max_depth, json_object **out);

/* A value of a type converted by libbson's own text: {"v": value} as
 * relaxed Extended JSON, read with what remains of the depth (the wrapper
 * stands at the value's parent's depth). */
static int through_text(const bson_iter_t *it, int depth, int max_depth, json_object **out) {
    bson_t one = BSON_INITIALIZER;
    int ok = 0;
    if (bson_append_iter(&one, "v", 1, it)) {
        size_t len = 0;
        char *s = bson_as_relaxed_extended_json(&one, &len);
        json_object *o = NULL, *v = NULL;
        byron_err_t e;
        if (s && byron_json_parse(s, len, max_depth - (depth - 1), &o, &e) == BYRON_OK &&
            json_object_object_get_ex(o, "v", &v)) {
            *out = json_object_get(v);
            ok = 1;
        }
        json_object_put(o);
        bson_free(s);
    }
    bson_destroy(&one);
    return ok;
}

/* libbson's relaxed text of a finite double ("%.20g", ".0" when it reads as
 * an integer), kept as json-c keeps the text it parsed. */
static json_object *double_json(double d) {
    char buf[64];
    int n = snprintf(buf, sizeof buf - 2, "%.20g", d);
    if (n > 0 && (size_t)n < sizeof buf - 2 && strspn(buf, "0123456789-") == (size_t)n)
        memcpy(buf + n, ".0", 3);
    return json_object_new_double_s(d, buf);
}

/* The members of a document or array (the iterator is inside it). */
static int container_json(bson_iter_t *child, int is_array, int depth, int max_depth, json_object **out) {
    json_object *c = is_array ? json_object_new_array() : json_object_new_object();
    if (!c) return 0;
    while (bson_iter_next(child)) {
        const char *k = bson_iter_key(child);
        json_object *v = NULL;
        if ((!is_array && !bson_utf8_validate(k, bson_iter_key_len(child), false)) ||
            !from_bson(child, depth + 1, max_depth, &v)) {
            json_object_put(c);
            return 0;
        }
        if (is_array ? json_object_array_add(c, v) : json_object_object_add(c, k, v)) {
            json_object_put(v);
            json_object_put(c);
            return 0;
        }
    }
    if (child->err_off) { /* corrupt */
        json_object_put(c);
        return 0;
    }
    *out = c;
    return 1;
}

static int from_bson(const bson_iter_t *it, int depth, int max_depth, json_object **out) {
    *out = NULL;
    if (depth > max_depth - 1) return 0;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        if (!bson_utf8_validate(s, len, true)) return 0;
        return (*out = json_object_new_string_len(s, (int)len)) != NULL;
    }
    case BSON_TYPE_INT32: return (*out = json_object_new_int(bson_iter_int32(it))) != NULL;
    case BSON_TYPE_INT64: return (*out = json_object_new_int64(bson_iter_int64(it))) != NULL;
    case BSON_TYPE_BOOL: return (*out = json_object_new_boolean(bson_iter_bool(it))) != NULL;
    case BSON_TYPE_NULL: return 1; /* json-c's null is NULL */
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (d != d || d * 0 != 0) return through_text(it, depth, max_depth, out); /* NaN, ±Infinity */
        return (*out = double_json(d)) != NULL;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        bson_iter_t child;
        if (!bson_iter_recurse(it, &child)) return 0;
        return container_json(&child, bson_iter_type(it) == BSON_TYPE_ARRAY, depth, max_depth, out);
    }
    default: return through_text(it, depth, max_depth, out);
    }
}

json_object *byron_json_bson_to_json(const bson_t *doc, int max_depth) {
    bson_iter_t it;
    json_object *o = NULL;
    if (!bson_iter_init(&it, doc)) return NULL;
    return container_json(&it, 0, 0, max_depth > 0 ? max_depth : JSON_DEFAULT_DEPTH, &o) ? o : NULL;
}
