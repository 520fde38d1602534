/*
 * error.c — GraphQL errors as JSON ({message, locations, extensions.code})
 * and the limits defaults.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

void byron_graphql_limits_init(byron_graphql_limits_t *l) {
    l->max_document_bytes = 65536;
    l->max_tokens = 20000;
    l->max_depth = 32;
    l->max_cost = 50000;
    l->max_fields = 2000;
    l->max_aliases = 200;
    l->deadline_ms = 10000;
}

byron_status_t byron_graphql_field_error_set(byron_graphql_field_error_t *err, byron_status_t st,
                                             const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    gql_strlcpy(err->code, code ? code : "", sizeof(err->code));
    return st != BYRON_OK ? st : BYRON_EINVAL;
}

void gql_error_add_ext(json_object *error, const byron_graphql_field_error_t *ferr) {
    json_object *ext = NULL;
    if (!ferr || !ferr->ext_key[0] || !json_object_object_get_ex(error, "extensions", &ext)) return;
    char key[sizeof(ferr->ext_key)], val[sizeof(ferr->ext_value)];
    memcpy(key, ferr->ext_key, sizeof(key)); /* the resolver may not have terminated them */
    memcpy(val, ferr->ext_value, sizeof(val));
    val[sizeof(val) - 1] = '\0';
    key[sizeof(key) - 1] = '\0';
    if (strcmp(key, "code") != 0) json_object_object_add(ext, key, json_object_new_string(val));
}

size_t gql_strlcpy(char *dst, const char *src, size_t n) {
    size_t len = strlen(src);
    if (n) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return len;
}

void gql_error_add_loc(json_object *error, const gql_loc_t *loc) {
    if (loc == NULL || loc->line == 0) return;
    json_object *locs = NULL;
    if (!json_object_object_get_ex(error, "locations", &locs)) {
        locs = json_object_new_array();
        json_object_object_add(error, "locations", locs);
    }
    json_object *l = json_object_new_object();
    json_object_object_add(l, "line", json_object_new_int((int32_t)loc->line));
    json_object_object_add(l, "column", json_object_new_int((int32_t)loc->column));
    json_object_array_add(locs, l);
}

static json_object *error_vnew(const gql_loc_t *loc, const char *code, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "message", json_object_new_string(msg));
    gql_error_add_loc(e, loc);
    if (code) {
        json_object *ext = json_object_new_object();
        json_object_object_add(ext, "code", json_object_new_string(code));
        json_object_object_add(e, "extensions", ext);
    }
    return e;
}

json_object *gql_error_new(const gql_loc_t *loc, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    json_object *e = error_vnew(loc, code, fmt, ap);
    va_end(ap);
    return e;
}

void gql_error_add(json_object *errors, const gql_loc_t *loc, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    json_object *e = error_vnew(loc, code, fmt, ap);
    va_end(ap);
    json_object_array_add(errors, e);
}
