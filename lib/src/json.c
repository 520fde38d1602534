/* json.c — strict, path-reporting JSON access on top of json-c. */
#include "byron/json.h"

#include "byron/file.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* json-c accepts NaN, Infinity and overflowing exponents even in strict mode;
 * JSON has no such numbers, and they would reach events, the cache and
 * arithmetic in apps. Depth is bounded by the parser's. */
static int all_finite(json_object *o) {
    switch (json_object_get_type(o)) {
    case json_type_double: return isfinite(json_object_get_double(o));
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (!all_finite(json_object_array_get_idx(o, i))) return 0;
        return 1;
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (!all_finite(v)) return 0;
        }
        return 1;
    }
    default: return 1;
    }
}

byron_status_t byron_json_parse(const char *buf, size_t len, int max_depth, json_object **out,
                                byron_err_t *err) {
    *out = NULL;
    if (len > (size_t)INT32_MAX) return byron_err_set(err, BYRON_ELIMIT, "JSON document too large");
    json_tokener *tok = json_tokener_new_ex(max_depth > 0 ? max_depth : 64);
    if (!tok) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    int at_eof = 0;
    if (jerr == json_tokener_continue) {
        at_eof = 1;
        /* A complete top-level number ("42") is only known to be finished at EOF. */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue) {
            json_tokener_free(tok);
            return byron_err_set(err, BYRON_EINVAL, "invalid JSON: unexpected end of input");
        }
    }
    if (jerr != json_tokener_success) {
        byron_status_t st = byron_err_set(err, BYRON_EINVAL, "invalid JSON at byte %zu: %s",
                                          json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
        json_tokener_free(tok);
        json_object_put(obj);
        return st;
    }
    size_t end = at_eof ? len : json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    for (size_t i = end; i < len; i++) {
        if (!isspace((unsigned char)buf[i]) && buf[i] != '\0') {
            json_object_put(obj);
            return byron_err_set(err, BYRON_EINVAL, "invalid JSON: trailing data at byte %zu", i);
        }
    }
    if (!all_finite(obj)) {
        json_object_put(obj);
        return byron_err_set(err, BYRON_EINVAL,
                             "invalid JSON: numbers must be finite (no NaN, Infinity or 1e999)");
    }
    *out = obj;
    return BYRON_OK;
}

byron_status_t byron_json_parse_file(const char *path, size_t max_bytes, json_object **out,
                                     byron_err_t *err) {
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    byron_status_t st = byron_file_read(path, max_bytes, &buf, &n, err);
    if (st) return st;
    st = byron_json_parse(buf, n, 0, out, err);
    if (st != BYRON_OK) byron_err_prefix(err, "%s", path);
    free(buf);
    return st;
}

static const char *type_word(json_type t) {
    switch (t) {
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    case json_type_int: return "an integer";
    case json_type_double: return "a number";
    case json_type_boolean: return "a boolean";
    default: return "null";
    }
}

/* Shared lookup: BYRON_ENOTFOUND (not an error) when optional and missing. */
static byron_status_t lookup(json_object *obj, const char *path, const char *key, int flags, json_type want,
                             json_object **val, byron_err_t *err) {
    const char *p = path ? path : "";
    const char *dot = *p ? "." : "";
    if (!obj || !json_object_is_type(obj, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", *p ? p : "document");
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (flags & BYRON_JSON_OPTIONAL) return BYRON_ENOTFOUND;
        return byron_err_set(err, BYRON_EINVAL, "%s%s%s: required", p, dot, key);
    }
    json_type t = json_object_get_type(v);
    if (t != want && !(want == json_type_double && t == json_type_int))
        return byron_err_set(err, BYRON_EINVAL, "%s%s%s: must be %s, not %s", p, dot, key, type_word(want),
                             type_word(t));
    *val = v;
    return BYRON_OK;
}

#define LOOKUP_OR_RETURN(type)                                                                               \
    json_object *v = NULL;                                                                                   \
    byron_status_t st = lookup(obj, path, key, flags, type, &v, err);                                        \
    if (st == BYRON_ENOTFOUND) return BYRON_OK;                                                              \
    if (st != BYRON_OK) return st

byron_status_t byron_json_get_object(json_object *obj, const char *path, const char *key, int flags,
                                     json_object **out, byron_err_t *err) {
    LOOKUP_OR_RETURN(json_type_object);
    *out = v;
    return BYRON_OK;
}

byron_status_t byron_json_get_array(json_object *obj, const char *path, const char *key, int flags,
                                    json_object **out, byron_err_t *err) {
    LOOKUP_OR_RETURN(json_type_array);
    *out = v;
    return BYRON_OK;
}

byron_status_t byron_json_get_string(json_object *obj, const char *path, const char *key, int flags,
                                     const char **out, byron_err_t *err) {
    LOOKUP_OR_RETURN(json_type_string);
    *out = json_object_get_string(v);
    return BYRON_OK;
}

byron_status_t byron_json_get_int(json_object *obj, const char *path, const char *key, int flags, int64_t min,
                                  int64_t max, int64_t *out, byron_err_t *err) {
    LOOKUP_OR_RETURN(json_type_int);
    errno = 0;
    int64_t i = json_object_get_int64(v);
    const char *p = path && *path ? path : "";
    const char *dot = *p ? "." : "";
    if (errno == ERANGE || i < min || i > max)
        return byron_err_set(err, BYRON_EINVAL, "%s%s%s: must be between %lld and %lld", p, dot, key,
                             (long long)min, (long long)max);
    *out = i;
    return BYRON_OK;
}

byron_status_t byron_json_get_bool(json_object *obj, const char *path, const char *key, int flags, int *out,
                                   byron_err_t *err) {
    LOOKUP_OR_RETURN(json_type_boolean);
    *out = json_object_get_boolean(v);
    return BYRON_OK;
}

const char *byron_json_compact(json_object *obj) {
    return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *byron_json_str(const char *s) { return s ? json_object_new_string(s) : NULL; }

byron_status_t byron_json_check_keys(json_object *obj, const char *path, const char *const *allowed,
                                     byron_err_t *err) {
    json_object_object_foreach(obj, key, val) {
        (void)val;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, key) == 0;
        if (!ok)
            return byron_err_set(err, BYRON_EINVAL, "%s%s%.64s: unknown field", path, *path ? "." : "", key);
    }
    return BYRON_OK;
}

void byron_json_strings_free(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

const char *byron_json_string_or_null(json_object *obj, const char *key) {
    json_object *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}
